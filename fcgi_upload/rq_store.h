/*
 * rq_store.h - task records in Redis and jobs for stock RQ workers.
 *
 * When APP_REDIS__URL is set, every upload is handed to Python RQ workers
 * (Debian's python3-rq 1.13, default serializer) exactly as the service we
 * replace did: a task hash in the results database and an RQ job in the
 * queue database, written by one MULTI/EXEC so that no worker and no status
 * reader ever sees one without the other.
 *
 * Ownership and threads: the caller owns a struct rq_store (one per worker
 * thread: it holds one hiredis connection and its buffers; no globals, no
 * locks). rq_store_init() copies what it needs from the config, so the
 * config may go away afterwards; rq_store_release() closes the connection.
 * Pointers passed to the other calls are read during the call only.
 *
 * Connection: made lazily by the first call that needs Redis, with the
 * connect timeout, then AUTH (when the URL has a password) and SELECT of the
 * queue database; every command has the command timeout. Before each call a
 * kept connection is checked without blocking (poll): one the server has
 * closed (restart, idle timeout) is dropped and a new one made, before
 * anything is sent. Any I/O error or timeout drops the connection and the
 * call answers RQ_STORE_E_UNAVAILABLE; the next call reconnects.
 *
 * The process must ignore SIGPIPE (hiredis writes with write(2)); the
 * FastCGI handler does.
 *
 * Needs Redis >= 4.0 (HSET with several fields, as RQ itself uses).
 */
#ifndef FU_RQ_STORE_H
#define FU_RQ_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>

#include "rq_pickle.h"

/* Limits of the values this layer keeps in fixed arrays. */
#define RQ_STORE_HOST_MAX   255 /* host name or IP literal */
#define RQ_STORE_SOCKET_MAX 107 /* unix socket path (sun_path less NUL) */
#define RQ_STORE_SECRET_MAX 255 /* user name, password */
#define RQ_STORE_NAME_MAX   200 /* queue name, worker function name */
#define RQ_STORE_ID_MAX     64  /* task id (a UUID is 36) */
/* the pickled job: a 1 KiB path, a 256-byte template id and 16 features
 * take under 2 KiB */
#define RQ_STORE_PICKLE_MAX   16384
#define RQ_STORE_FEATURES_MAX 4096 /* features as a JSON array string */

/* Every error: the name, its value, and a message for logs. */
#define RQ_STORE_ERRNO_MAP(XX)                                                 \
    XX(UNAVAILABLE, -1,                                                        \
       "Redis cannot be reached or is not serving (connect, I/O, timeout, "    \
       "LOADING, BUSY, OOM, READONLY, MISCONF)")                               \
    XX(AUTH, -2, "Redis refused the credentials (or wants some)")              \
    XX(REPLY, -3, "Redis answered with an error or an unexpected reply")       \
    XX(NOT_FOUND, -4, "no such task")                                          \
    XX(INVALID, -5, "invalid argument (missing, bad UTF-8, bad id)")           \
    XX(TOO_LARGE, -6, "a value does not fit the bounded buffers")              \
    XX(NOMEM, -7, "out of memory")                                             \
    XX(CALLBACK, -8, "the caller's callback stopped the call")

/* Calls return RQ_STORE_OK (0) or one of these negative values. The handler
 * answers RQ_STORE_E_UNAVAILABLE (and E_AUTH) with 503 SERVICE_UNAVAILABLE. */
enum rq_store_err {
    RQ_STORE_OK = 0,
#define RQ_STORE_ERR_ENUM(name, value, msg) RQ_STORE_E_##name = value,
    RQ_STORE_ERRNO_MAP(RQ_STORE_ERR_ENUM)
#undef RQ_STORE_ERR_ENUM
};

/* "UNAVAILABLE" for RQ_STORE_E_UNAVAILABLE, "OK" for 0, "UNKNOWN" outside
 * the table; the message likewise. Static strings. */
const char *rq_store_errname(int err);
const char *rq_store_strerror(int err);

/* Where Redis is, from APP_REDIS__URL. */
struct rq_redis_addr {
    bool unix_socket;
    char host[RQ_STORE_HOST_MAX + 1];   /* TCP: name or IP, no brackets */
    int port;                           /* TCP: 1-65535, default 6379 */
    char path[RQ_STORE_SOCKET_MAX + 1]; /* unix: socket path */
    char user[RQ_STORE_SECRET_MAX + 1]; /* "" or an ACL user (Redis 6) */
    char password[RQ_STORE_SECRET_MAX + 1];
    bool has_password; /* send AUTH [user] password (not for "") */
    int db;            /* the queue database, default 0 */
};

/*
 * Parse a Redis URL in redis-py's forms:
 *     redis://[[user]:password@]host[:port][/db][?db=N]
 *     unix://[[user]:password@]/path/to/socket[?db=N]
 * host may be an IPv6 literal in brackets; user, password and path are
 * percent-decoded; ?db= wins over /db as in redis-py. rediss:// (TLS), other
 * query parameters and fragments are refused. Returns 0, or
 * RQ_STORE_E_INVALID with *why (when why is not NULL) set to a static
 * message naming the problem (never the password).
 */
int rq_store_parse_url(const char *url, struct rq_redis_addr *addr,
                       const char **why);

struct rq_store_config {
    const char *url;         /* APP_REDIS__URL, required */
    int results_db;          /* APP_REDIS__RESULTS_DB: the task hashes */
    const char *queue_name;  /* APP_REDIS__QUEUE_NAME */
    const char *func_name;   /* the worker function RQ imports */
    long job_timeout;        /* APP_WORKER__JOB_TIMEOUT, s; > 0 or -1 */
    long result_ttl;         /* APP_WORKER__RESULT_TTL, s: the job's
                                result_ttl and the task hash's EXPIRE */
    long connect_timeout_ms; /* > 0 */
    long command_timeout_ms; /* > 0 */
};

#define RQ_STORE_CONFIG_DEFAULT                                                \
    {                                                                          \
        .url = NULL, .results_db = 1, .queue_name = "default",                 \
        .func_name = "src.worker.pipeline.process_audio_task",                 \
        .job_timeout = 600, .result_ttl = 86400, .connect_timeout_ms = 2000,   \
        .command_timeout_ms = 5000                                             \
    }

struct redisContext;

struct rq_store {
    /* PRIVATE: set by rq_store_init(), used by the calls below */
    struct rq_redis_addr addr;
    int results_db;
    char queue_name[RQ_STORE_NAME_MAX + 1];
    char queue_key[RQ_STORE_NAME_MAX + 16]; /* rq:queue:<name> */
    char func_name[RQ_STORE_NAME_MAX + 1];
    long job_timeout, result_ttl;
    struct timeval connect_tv, command_tv;
    struct redisContext *ctx; /* NULL while disconnected */
    int cur_db;               /* what the connection has selected, -1 */
    char errbuf[160];         /* the last failure, for logs */
    unsigned char pickle[RQ_STORE_PICKLE_MAX];
    unsigned char data[RQ_ZLIB_BOUND(RQ_STORE_PICKLE_MAX)];
};

/*
 * Check the config and parse the URL; connects nothing. Returns 0, or
 * RQ_STORE_E_INVALID with *why set to a static message (for "APP_...:
 * <why>" at start-up). After a failure s needs no release.
 */
int rq_store_init(struct rq_store *s, const struct rq_store_config *cfg,
                  const char **why);
/* Close the connection. s may be initialised again afterwards. */
void rq_store_release(struct rq_store *s);

/* Text of the last failure ("connect: Connection refused", "EXEC:
 * WRONGTYPE ..."), for a log line; never holds the password. Valid until
 * the next call on s. */
const char *rq_store_last_error(const struct rq_store *s);

/* LLEN rq:queue:<name>: jobs waiting. 0 or an error. */
int rq_store_queue_depth(struct rq_store *s, long long *depth);

/* One upload, for rq_store_submit(). Strings are NUL-terminated UTF-8. */
struct rq_submit {
    const char *task_id;         /* also the RQ job id */
    const char *file_path;       /* stored file: file_path / audio_path */
    const char *const *features; /* n_features names */
    size_t n_features;
    const char *template_id; /* NULL: None for the worker, "" in the hash */
    const char *asr_backend;
    bool enable_diarization;
    bool enable_vad;
    double vad_threshold;
    const char *correlation_id; /* NULL: as template_id */
    uint64_t size_bytes;
    const char *sha256; /* hex */
    const char *mime_type;
    const char *submitted_at; /* NULL: now, as 2024-05-01T12:00:00.123456Z */
};

/*
 * Write the task and its job in one MULTI/EXEC on the one connection:
 *
 *   MULTI
 *   SELECT <results_db>                       (when it is not the queue db)
 *   HSET task:<id> task_id .. status PENDING submitted_at .. features ..
 *        template_id .. file_path .. asr_backend .. correlation_id ..
 *        size_bytes .. sha256 .. mime_type ..
 *   EXPIRE task:<id> <result_ttl>             (when result_ttl > 0)
 *   SELECT <queue_db>                         (when it is not the results db)
 *   SADD rq:queues rq:queue:<name>            \
 *   HSET rq:job:<id> status queued             | what RQ 1.13's
 *   HSET rq:job:<id> created_at .. data ..     | Queue.enqueue_job() sends
 *   RPUSH rq:queue:<name> <id>                /
 *   EXEC
 *
 * SELECT inside MULTI is queued like any command and switches the database
 * for the commands queued after it; EXEC runs them all as one unit, so a
 * reader of either database sees both records or neither (checked against
 * redis-server by tests/integration/test_rq.sh).
 *
 * The job is the one Queue.enqueue(func_name, args, job_id=task_id,
 * job_timeout=job_timeout, result_ttl=result_ttl) would make, where args
 * is the dict of struct rq_task_args (rq_pickle.h) with audio_path =
 * file_path, redis_host/redis_port from the URL (a unix socket gives its
 * path and port 0) and redis_db = results_db, the database of the task hash
 * the worker updates.
 *
 * Returns 0 when EXEC succeeded. RQ_STORE_E_UNAVAILABLE when Redis cannot be
 * reached or fails mid-way (the call is not retried, so a job is never
 * queued twice; if the connection broke after EXEC was sent, the outcome is
 * unknown to us). RQ_STORE_E_REPLY when EXEC ran but a command in it failed
 * (a key of the wrong type): the task and job keys are then deleted again,
 * best effort. RQ_STORE_E_INVALID / E_TOO_LARGE for bad or oversized input,
 * before anything is sent; RQ_STORE_E_AUTH as for every call.
 */
int rq_store_submit(struct rq_store *s, const struct rq_submit *t);

/* Called once per field of the task hash; name and value are valid only
 * during the call and are not NUL-terminated. Non-zero stops the walk. */
typedef int (*rq_store_field_cb)(void *data, const char *name, size_t name_len,
                                 const char *value, size_t value_len);

/*
 * HGETALL task:<task_id> in the results database, field by field to cb.
 * Returns 0, RQ_STORE_E_NOT_FOUND (no such hash, or it expired),
 * RQ_STORE_E_CALLBACK when cb stopped the walk (the caller keeps its own
 * reason), or a connection error.
 */
int rq_store_get_status(struct rq_store *s, const char *task_id,
                        rq_store_field_cb cb, void *data);

struct rq_store_health {
    bool connected;        /* the calls below got their replies */
    long long queue_depth; /* LLEN rq:queue:<name>, -1 when unknown */
    long long workers;     /* live workers of the queue, -1 when unknown */
};

/*
 * Fill h: connected, queue depth, and the workers of RQ's registry that
 * listen on our queue (members of rq:workers:<name>) whose rq:worker:<name>
 * key still exists (a worker that died without unregistering has no key
 * once its heartbeat TTL ran out); the handler's worker_active is
 * workers > 0. Returns 0 or the error; counts not obtained are -1, and
 * connected is false unless the call got its replies (0 or E_REPLY).
 */
int rq_store_health(struct rq_store *s, struct rq_store_health *h);

#endif
