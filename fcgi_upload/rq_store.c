/*
 * rq_store.c - task records and RQ jobs in Redis, over hiredis.
 *
 * Every call pipelines its commands (one write, one round trip) and reads
 * exactly as many replies as it sent. A connection error, a timeout, or a
 * failed append leaves the connection in an unknown state: it is freed at
 * once and the next call connects again.
 *
 * The database the connection has selected is tracked in cur_db, so a call
 * sends SELECT only when it needs another database; -1 means unknown (after
 * a failure) and forces a SELECT.
 */
#include "rq_store.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "bbuf.h"
#include "hexdigit.h"
#include "utf8.h"

/* RQ 1.13's key names (rq/queue.py, rq/job.py, rq/worker_registration.py) */
#define RQ_QUEUES_KEY     "rq:queues"
#define RQ_QUEUE_PREFIX   "rq:queue:"
#define RQ_JOB_PREFIX     "rq:job:"
#define RQ_WORKERS_PREFIX "rq:workers:"
#define TASK_PREFIX       "task:"

#define KEY_MAX     (RQ_STORE_NAME_MAX + 32)
#define BATCH_MAX   16  /* replies one call reads */
#define WORKERS_MAX 256 /* registered workers checked by health */
#define TS_MAX      64  /* room for 2024-05-01T12:00:00.123456Z */

static const struct {
    int value;
    const char *name, *msg;
} err_table[] = {{RQ_STORE_OK, "OK", "success"},
#define RQ_STORE_ERR_ROW(name, value, msg) {value, #name, msg},
                 RQ_STORE_ERRNO_MAP(RQ_STORE_ERR_ROW)
#undef RQ_STORE_ERR_ROW
};

const char *rq_store_errname(int err)
{
    size_t i;

    for (i = 0; i < sizeof err_table / sizeof err_table[0]; i++)
        if (err_table[i].value == err)
            return err_table[i].name;
    return "UNKNOWN";
}

const char *rq_store_strerror(int err)
{
    size_t i;

    for (i = 0; i < sizeof err_table / sizeof err_table[0]; i++)
        if (err_table[i].value == err)
            return err_table[i].msg;
    return "unknown error";
}

/* ---- URL ---------------------------------------------------------------- */

/* Percent-decode s[0..n) into out (cap bytes, NUL included). */
static bool pct_decode(const char *s, size_t n, char *out, size_t cap)
{
    size_t i, o = 0;
    int hi, lo;
    char c;

    for (i = 0; i < n; i++) {
        c = s[i];
        if (c == '%') {
            if (n - i < 3)
                return false;
            hi = hex_digit_value((unsigned char)s[i + 1]);
            lo = hex_digit_value((unsigned char)s[i + 2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                return false;
            c = (char)(hi << 4 | lo);
            i += 2;
        }
        if (o + 1 >= cap)
            return false;
        out[o++] = c;
    }
    out[o] = '\0';
    return true;
}

/* 1-10 decimal digits, value <= max. */
static bool parse_num(const char *s, size_t n, long max, long *out)
{
    long v = 0;
    size_t i;

    if (n == 0 || n > 10)
        return false;
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    if (v > max)
        return false;
    *out = v;
    return true;
}

static bool has_prefix_ci(const char *s, const char *prefix)
{
    return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

/* "[[user]:password@]" of an authority, s[0..n) without the '@'. */
static int parse_userinfo(const char *s, size_t n, struct rq_redis_addr *a,
                          const char **why)
{
    const char *colon = memchr(s, ':', n);

    if (!colon) {
        *why = "user name without a password (write :password@ or "
               "user:password@)";
        return RQ_STORE_E_INVALID;
    }
    if (!pct_decode(s, (size_t)(colon - s), a->user, sizeof a->user) ||
        !pct_decode(colon + 1, n - (size_t)(colon - s) - 1, a->password,
                    sizeof a->password)) {
        *why = "bad percent-encoding or too long user name or password";
        return RQ_STORE_E_INVALID;
    }
    a->has_password = a->password[0] != '\0'; /* redis-py: "" is none */
    return 0;
}

static int parse_hostport(const char *s, size_t n, struct rq_redis_addr *a,
                          const char **why)
{
    const char *host = s, *port = NULL, *end = s + n, *p;
    size_t hlen;
    long v;

    if (n && s[0] == '[') {
        p = memchr(s, ']', n);
        if (!p) {
            *why = "unclosed [ in the host";
            return RQ_STORE_E_INVALID;
        }
        host = s + 1;
        hlen = (size_t)(p - host);
        if (p + 1 < end) {
            if (p[1] != ':') {
                *why = "junk after the ] of the host";
                return RQ_STORE_E_INVALID;
            }
            port = p + 2;
        }
    } else {
        p = memchr(s, ':', n);
        if (p && memchr(p + 1, ':', (size_t)(end - p - 1))) {
            *why = "an IPv6 host must be written in brackets";
            return RQ_STORE_E_INVALID;
        }
        hlen = p ? (size_t)(p - s) : n;
        if (p)
            port = p + 1;
    }
    if (hlen == 0 || hlen > RQ_STORE_HOST_MAX) {
        *why = "the host is empty or too long";
        return RQ_STORE_E_INVALID;
    }
    for (p = host; p < host + hlen; p++)
        if ((unsigned char)*p <= ' ' || *p == '%' || *p == '@' ||
            (unsigned char)*p >= 0x7f) {
            *why = "bad character in the host";
            return RQ_STORE_E_INVALID;
        }
    memcpy(a->host, host, hlen);
    a->host[hlen] = '\0';
    if (port) {
        if (!parse_num(port, (size_t)(end - port), 65535, &v) || v == 0) {
            *why = "the port must be a number from 1 to 65535";
            return RQ_STORE_E_INVALID;
        }
        a->port = (int)v;
    }
    return 0;
}

static int parse_query(const char *q, struct rq_redis_addr *a, const char **why)
{
    const char *amp;
    size_t n;
    long v;

    while (*q) {
        amp = strchr(q, '&');
        n = amp ? (size_t)(amp - q) : strlen(q);
        if (n > 3 && memcmp(q, "db=", 3) == 0 &&
            parse_num(q + 3, n - 3, 0x7fffffff, &v)) {
            a->db = (int)v;
        } else if (n) {
            *why = "the only URL parameter understood is db=<number>";
            return RQ_STORE_E_INVALID;
        }
        q += n + (amp ? 1 : 0);
    }
    return 0;
}

int rq_store_parse_url(const char *url, struct rq_redis_addr *a,
                       const char **why)
{
    const char *dummy, *rest, *q, *slash, *at, *end;
    size_t mlen;
    long v;
    int rc;

    if (!why)
        why = &dummy;
    memset(a, 0, sizeof *a);
    a->port = 6379;
    if (!url || !*url) {
        *why = "the URL is empty";
        return RQ_STORE_E_INVALID;
    }
    if (has_prefix_ci(url, "redis://")) {
        rest = url + 8;
    } else if (has_prefix_ci(url, "unix://")) {
        rest = url + 7;
        a->unix_socket = true;
    } else if (has_prefix_ci(url, "rediss://")) {
        *why = "rediss:// (TLS) is not supported";
        return RQ_STORE_E_INVALID;
    } else {
        *why = "the URL must start with redis:// or unix://";
        return RQ_STORE_E_INVALID;
    }
    if (strchr(rest, '#')) {
        *why = "a URL fragment (#) is not supported";
        return RQ_STORE_E_INVALID;
    }
    q = strchr(rest, '?');
    mlen = q ? (size_t)(q - rest) : strlen(rest);
    end = rest + mlen;
    slash = memchr(rest, '/', mlen);
    if (!slash)
        slash = end;
    /* authority: rest..slash; the userinfo ends at its last '@' */
    at = NULL;
    for (const char *p = rest; p < slash; p++)
        if (*p == '@')
            at = p;
    if (at) {
        rc = parse_userinfo(rest, (size_t)(at - rest), a, why);
        if (rc)
            return rc;
    }
    if (a->unix_socket) {
        if ((at ? at + 1 : rest) != slash) {
            *why = "a unix:// URL takes no host (unix:///path/to/socket)";
            return RQ_STORE_E_INVALID;
        }
        if (slash == end || !pct_decode(slash, (size_t)(end - slash), a->path,
                                        sizeof a->path)) {
            *why = "the socket path is missing, too long or badly encoded";
            return RQ_STORE_E_INVALID;
        }
    } else {
        rc = parse_hostport(at ? at + 1 : rest,
                            (size_t)(slash - (at ? at + 1 : rest)), a, why);
        if (rc)
            return rc;
        if (slash < end && end - slash > 1) {
            if (!parse_num(slash + 1, (size_t)(end - slash - 1), 0x7fffffff,
                           &v)) {
                *why = "the database (/db) must be a number";
                return RQ_STORE_E_INVALID;
            }
            a->db = (int)v;
        }
    }
    return q ? parse_query(q + 1, a, why) : 0;
}

/* ---- set-up ------------------------------------------------------------- */

static struct timeval ms_tv(long ms)
{
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    return tv;
}

int rq_store_init(struct rq_store *s, const struct rq_store_config *cfg,
                  const char **why)
{
    const char *dummy;
    size_t qlen, flen;
    int rc;

    if (!why)
        why = &dummy;
    memset(s, 0, sizeof *s);
    s->ctx = NULL;
    s->cur_db = -1;
    if (!cfg) {
        *why = "no configuration";
        return RQ_STORE_E_INVALID;
    }
    rc = rq_store_parse_url(cfg->url, &s->addr, why);
    if (rc)
        return rc;
    qlen = cfg->queue_name ? strlen(cfg->queue_name) : 0;
    flen = cfg->func_name ? strlen(cfg->func_name) : 0;
    if (qlen == 0 || qlen > RQ_STORE_NAME_MAX) {
        *why = "the queue name is empty or too long";
        return RQ_STORE_E_INVALID;
    }
    if (flen == 0 || flen > RQ_STORE_NAME_MAX ||
        !utf8_valid(cfg->func_name, flen)) {
        *why = "the worker function name is empty, too long or not UTF-8";
        return RQ_STORE_E_INVALID;
    }
    if (cfg->results_db < 0) {
        *why = "the results database must be 0 or more";
        return RQ_STORE_E_INVALID;
    }
    if (cfg->job_timeout == 0 || cfg->job_timeout < -1) {
        *why = "the job timeout must be positive, or -1 for none";
        return RQ_STORE_E_INVALID;
    }
    if (cfg->result_ttl < -1) {
        *why = "the result TTL must be 0 or more, or -1 for no expiry";
        return RQ_STORE_E_INVALID;
    }
    if (cfg->connect_timeout_ms <= 0 || cfg->command_timeout_ms <= 0) {
        *why = "the Redis timeouts must be positive";
        return RQ_STORE_E_INVALID;
    }
    memcpy(s->queue_name, cfg->queue_name, qlen + 1);
    snprintf(s->queue_key, sizeof s->queue_key, RQ_QUEUE_PREFIX "%s",
             s->queue_name);
    memcpy(s->func_name, cfg->func_name, flen + 1);
    s->results_db = cfg->results_db;
    s->job_timeout = cfg->job_timeout;
    s->result_ttl = cfg->result_ttl;
    s->connect_tv = ms_tv(cfg->connect_timeout_ms);
    s->command_tv = ms_tv(cfg->command_timeout_ms);
    return 0;
}

static void conn_drop(struct rq_store *s)
{
    if (s->ctx)
        redisFree(s->ctx);
    s->ctx = NULL;
    s->cur_db = -1;
}

void rq_store_release(struct rq_store *s)
{
    conn_drop(s);
}

const char *rq_store_last_error(const struct rq_store *s)
{
    return s->errbuf;
}

/* ---- replies ------------------------------------------------------------ */

/* Server conditions that say "not now" rather than "wrong": the server is
 * loading, busy with a script, out of memory, read-only (a replica), or
 * cannot persist. READONLY and MASTERDOWN drop the connection, since the
 * name may point to a new primary by the next call. */
static const struct {
    const char *prefix;
    int err;
    bool drop;
} err_prefixes[] = {
    {"LOADING", RQ_STORE_E_UNAVAILABLE, false},
    {"BUSY", RQ_STORE_E_UNAVAILABLE, false},
    {"OOM", RQ_STORE_E_UNAVAILABLE, false},
    {"MISCONF", RQ_STORE_E_UNAVAILABLE, false},
    {"TRYAGAIN", RQ_STORE_E_UNAVAILABLE, false},
    {"CLUSTERDOWN", RQ_STORE_E_UNAVAILABLE, true},
    {"MASTERDOWN", RQ_STORE_E_UNAVAILABLE, true},
    {"READONLY", RQ_STORE_E_UNAVAILABLE, true},
    {"NOAUTH", RQ_STORE_E_AUTH, false},
    {"WRONGPASS", RQ_STORE_E_AUTH, false},
    {"NOPERM", RQ_STORE_E_AUTH, false},
    {"ERR invalid password", RQ_STORE_E_AUTH, false},
    {"ERR AUTH", RQ_STORE_E_AUTH, false},
    {"ERR Client sent AUTH,", RQ_STORE_E_AUTH, false},
};

/* Map an error reply to our error, note it for the log. */
static int reply_error(struct rq_store *s, const char *step,
                       const redisReply *r)
{
    size_t i, n;

    snprintf(s->errbuf, sizeof s->errbuf, "%s: %.*s", step,
             (int)(r->len < 120 ? r->len : 120), r->str);
    for (i = 0; i < sizeof err_prefixes / sizeof err_prefixes[0]; i++) {
        n = strlen(err_prefixes[i].prefix);
        if ((size_t)r->len >= n &&
            memcmp(r->str, err_prefixes[i].prefix, n) == 0 &&
            ((size_t)r->len == n || r->str[n] == ' ')) {
            if (err_prefixes[i].drop)
                conn_drop(s);
            return err_prefixes[i].err;
        }
    }
    return RQ_STORE_E_REPLY;
}

static int unexpected(struct rq_store *s, const char *step)
{
    snprintf(s->errbuf, sizeof s->errbuf, "%s: unexpected reply", step);
    conn_drop(s); /* the reply stream may be out of step */
    return RQ_STORE_E_REPLY;
}

static int io_error(struct rq_store *s, const char *step)
{
    snprintf(s->errbuf, sizeof s->errbuf, "%s: %s", step,
             s->ctx && s->ctx->errstr[0] ? s->ctx->errstr : "I/O error");
    conn_drop(s);
    return RQ_STORE_E_UNAVAILABLE;
}

static bool is_status(const redisReply *r, const char *want)
{
    return r->type == REDIS_REPLY_STATUS && strcmp(r->str, want) == 0;
}

/* Replies of one pipelined call. */
struct batch {
    int n;
    redisReply *r[BATCH_MAX];
};

static void batch_free(struct batch *b)
{
    int i;

    for (i = 0; i < b->n; i++)
        freeReplyObject(b->r[i]);
    b->n = 0;
}

/* Queue one command in hiredis's output buffer. A failure leaves a partial
 * command there, so the connection is dropped. */
static int cmd(struct rq_store *s, int *sent, int argc, const char **argv,
               const size_t *lens)
{
    if (*sent >= BATCH_MAX ||
        redisAppendCommandArgv(s->ctx, argc, argv, lens) != REDIS_OK) {
        snprintf(s->errbuf, sizeof s->errbuf, "append: out of memory");
        conn_drop(s);
        return RQ_STORE_E_NOMEM;
    }
    (*sent)++;
    return 0;
}

/* Send what is queued and read n replies into b. */
static int batch_read(struct rq_store *s, int n, struct batch *b,
                      const char *step)
{
    void *r;

    b->n = 0;
    while (b->n < n) {
        if (redisGetReply(s->ctx, &r) != REDIS_OK || !r) {
            batch_free(b);
            return io_error(s, step);
        }
        b->r[b->n++] = r;
    }
    return 0;
}

static int select_cmd(struct rq_store *s, int *sent, int db)
{
    char num[16];
    const char *argv[2] = {"SELECT", num};
    size_t lens[2] = {6, 0};

    lens[1] = (size_t)snprintf(num, sizeof num, "%d", db);
    return cmd(s, sent, 2, argv, lens);
}

/* ---- connection --------------------------------------------------------- */

/* A kept connection with anything to read while no reply is due was
 * closed by the server (restart, idle timeout) or is out of step. */
static bool conn_usable(const struct rq_store *s)
{
    struct pollfd p = {.fd = s->ctx->fd, .events = POLLIN | POLLRDHUP};
    int n;

    if (s->ctx->err)
        return false;
    do
        n = poll(&p, 1, 0);
    while (n < 0 && errno == EINTR);
    return n == 0;
}

static int conn_open(struct rq_store *s)
{
    const struct rq_redis_addr *a = &s->addr;
    const char *argv[3];
    size_t lens[3];
    struct batch b;
    int sent = 0, rc, i;

    if (a->unix_socket)
        s->ctx = redisConnectUnixWithTimeout(a->path, s->connect_tv);
    else
        s->ctx = redisConnectWithTimeout(a->host, a->port, s->connect_tv);
    if (!s->ctx) {
        snprintf(s->errbuf, sizeof s->errbuf, "connect: out of memory");
        return RQ_STORE_E_NOMEM;
    }
    if (s->ctx->err) {
        snprintf(s->errbuf, sizeof s->errbuf, "connect %s: %s",
                 a->unix_socket ? "unix socket" : "tcp", s->ctx->errstr);
        conn_drop(s);
        return RQ_STORE_E_UNAVAILABLE;
    }
    if (redisSetTimeout(s->ctx, s->command_tv) != REDIS_OK)
        return io_error(s, "set timeout");
    if (a->has_password) {
        i = 0;
        argv[i] = "AUTH";
        lens[i++] = 4;
        if (a->user[0]) {
            argv[i] = a->user;
            lens[i] = strlen(a->user);
            i++;
        }
        argv[i] = a->password;
        lens[i] = strlen(a->password);
        i++;
        rc = cmd(s, &sent, i, argv, lens);
        if (rc)
            return rc;
    }
    if (a->db != 0 && (rc = select_cmd(s, &sent, a->db)) != 0)
        return rc;
    s->cur_db = 0; /* a new connection starts in database 0 */
    if (sent == 0)
        return 0;
    rc = batch_read(s, sent, &b, "AUTH/SELECT");
    if (rc)
        return rc;
    for (i = 0; i < b.n && !rc; i++) {
        if (b.r[i]->type == REDIS_REPLY_ERROR)
            rc = reply_error(s, a->has_password && i == 0 ? "AUTH" : "SELECT",
                             b.r[i]);
        else if (!is_status(b.r[i], "OK"))
            rc = unexpected(s, "AUTH/SELECT");
    }
    batch_free(&b);
    if (rc) {
        conn_drop(s);
        return rc;
    }
    s->cur_db = a->db;
    return 0;
}

/* A connection that is up and idle, made now if needed. */
static int conn_ready(struct rq_store *s)
{
    s->errbuf[0] = '\0';
    if (s->ctx && !conn_usable(s))
        conn_drop(s);
    return s->ctx ? 0 : conn_open(s);
}

/* SELECT db first when the connection is elsewhere; call it before any
 * other command of the batch, so that its reply is the batch's first. */
static int want_db(struct rq_store *s, int *sent, int db, bool *added)
{
    int rc;

    *added = false;
    if (s->cur_db == db)
        return 0;
    rc = select_cmd(s, sent, db);
    if (rc)
        return rc;
    *added = true;
    s->cur_db = db;
    return 0;
}

/* Check the SELECT reply at b->r[0] when want_db() added one. */
static int check_select(struct rq_store *s, const struct batch *b, bool added)
{
    if (!added)
        return 0;
    if (b->r[0]->type == REDIS_REPLY_ERROR) {
        s->cur_db = -1;
        return reply_error(s, "SELECT", b->r[0]);
    }
    return is_status(b->r[0], "OK") ? 0 : unexpected(s, "SELECT");
}

/* ---- queue depth, status, health ---------------------------------------- */

int rq_store_queue_depth(struct rq_store *s, long long *depth)
{
    const char *argv[2] = {"LLEN", s->queue_key};
    size_t lens[2] = {4, strlen(s->queue_key)};
    struct batch b;
    bool sel;
    int sent = 0, rc;

    *depth = -1;
    if ((rc = conn_ready(s)) != 0 ||
        (rc = want_db(s, &sent, s->addr.db, &sel)) != 0 ||
        (rc = cmd(s, &sent, 2, argv, lens)) != 0 ||
        (rc = batch_read(s, sent, &b, "LLEN")) != 0)
        return rc;
    rc = check_select(s, &b, sel);
    if (!rc) {
        const redisReply *r = b.r[sent - 1];
        if (r->type == REDIS_REPLY_INTEGER)
            *depth = r->integer;
        else if (r->type == REDIS_REPLY_ERROR)
            rc = reply_error(s, "LLEN", r);
        else
            rc = unexpected(s, "LLEN");
    }
    batch_free(&b);
    return rc;
}

/* 1-64 characters of [A-Za-z0-9._-]: safe in a key and in a log line. */
static bool id_ok(const char *id)
{
    size_t n = id ? strlen(id) : 0, i;

    if (n == 0 || n > RQ_STORE_ID_MAX)
        return false;
    for (i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
            return false;
    }
    return true;
}

int rq_store_get_status(struct rq_store *s, const char *task_id,
                        rq_store_field_cb cb, void *data)
{
    char key[KEY_MAX];
    const char *argv[2] = {"HGETALL", key};
    size_t lens[2] = {7, 0};
    const redisReply *r;
    struct batch b;
    bool sel;
    int sent = 0, rc;
    size_t i;

    if (!id_ok(task_id) || !cb)
        return RQ_STORE_E_INVALID;
    lens[1] = (size_t)snprintf(key, sizeof key, TASK_PREFIX "%s", task_id);
    if ((rc = conn_ready(s)) != 0 ||
        (rc = want_db(s, &sent, s->results_db, &sel)) != 0 ||
        (rc = cmd(s, &sent, 2, argv, lens)) != 0 ||
        (rc = batch_read(s, sent, &b, "HGETALL")) != 0)
        return rc;
    rc = check_select(s, &b, sel);
    if (rc)
        goto out_free;
    r = b.r[sent - 1];
    if (r->type == REDIS_REPLY_ERROR) {
        rc = reply_error(s, "HGETALL", r);
        goto out_free;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements % 2) {
        rc = unexpected(s, "HGETALL");
        goto out_free;
    }
    if (r->elements == 0) {
        rc = RQ_STORE_E_NOT_FOUND;
        goto out_free;
    }
    for (i = 0; i < r->elements; i += 2) {
        const redisReply *k = r->element[i], *v = r->element[i + 1];
        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING) {
            rc = unexpected(s, "HGETALL");
            goto out_free;
        }
        if (cb(data, k->str, (size_t)k->len, v->str, (size_t)v->len)) {
            rc = RQ_STORE_E_CALLBACK;
            goto out_free;
        }
    }
out_free:
    batch_free(&b);
    return rc;
}

/* EXISTS over the registered worker keys: how many are alive. */
static int count_live(struct rq_store *s, const redisReply *members,
                      long long *live)
{
    const char *argv[1 + WORKERS_MAX];
    size_t lens[1 + WORKERS_MAX], n = 0, i;
    struct batch b;
    int sent = 0, rc;

    argv[0] = "EXISTS";
    lens[0] = 6;
    for (i = 0; i < members->elements && n < WORKERS_MAX; i++) {
        const redisReply *m = members->element[i];
        if (m->type != REDIS_REPLY_STRING)
            return unexpected(s, "SMEMBERS");
        argv[1 + n] = m->str;
        lens[1 + n] = (size_t)m->len;
        n++;
    }
    *live = 0;
    if (n == 0)
        return 0;
    if ((rc = cmd(s, &sent, (int)(1 + n), argv, lens)) != 0 ||
        (rc = batch_read(s, sent, &b, "EXISTS")) != 0)
        return rc;
    if (b.r[0]->type == REDIS_REPLY_INTEGER)
        *live = b.r[0]->integer;
    else if (b.r[0]->type == REDIS_REPLY_ERROR)
        rc = reply_error(s, "EXISTS", b.r[0]);
    else
        rc = unexpected(s, "EXISTS");
    batch_free(&b);
    return rc;
}

int rq_store_health(struct rq_store *s, struct rq_store_health *h)
{
    char wkey[KEY_MAX];
    const char *llen[2] = {"LLEN", s->queue_key};
    size_t llen_lens[2] = {4, strlen(s->queue_key)};
    const char *smem[2] = {"SMEMBERS", wkey};
    size_t smem_lens[2] = {8, 0};
    const redisReply *r;
    struct batch b;
    bool sel;
    int sent = 0, rc;

    h->connected = false;
    h->queue_depth = -1;
    h->workers = -1;
    smem_lens[1] = (size_t)snprintf(wkey, sizeof wkey, RQ_WORKERS_PREFIX "%s",
                                    s->queue_name);
    if ((rc = conn_ready(s)) != 0 ||
        (rc = want_db(s, &sent, s->addr.db, &sel)) != 0 ||
        (rc = cmd(s, &sent, 2, llen, llen_lens)) != 0 ||
        (rc = cmd(s, &sent, 2, smem, smem_lens)) != 0 ||
        (rc = batch_read(s, sent, &b, "LLEN/SMEMBERS")) != 0)
        return rc;
    rc = check_select(s, &b, sel);
    if (rc)
        goto out_free;
    r = b.r[sent - 2];
    if (r->type != REDIS_REPLY_INTEGER) {
        rc = r->type == REDIS_REPLY_ERROR ? reply_error(s, "LLEN", r)
                                          : unexpected(s, "LLEN");
        goto out_free;
    }
    h->queue_depth = r->integer;
    r = b.r[sent - 1];
    if (r->type != REDIS_REPLY_ARRAY) {
        rc = r->type == REDIS_REPLY_ERROR ? reply_error(s, "SMEMBERS", r)
                                          : unexpected(s, "SMEMBERS");
        goto out_free;
    }
    rc = count_live(s, r, &h->workers);
    if (rc)
        h->workers = -1;
out_free:
    batch_free(&b);
    /* an error reply still came over a working connection */
    h->connected = rc == 0 || rc == RQ_STORE_E_REPLY;
    return rc;
}

/* ---- submit ------------------------------------------------------------- */

/* RQ's utcformat(): %Y-%m-%dT%H:%M:%S.%fZ in UTC (27 characters). */
static void iso_now(char out[TS_MAX])
{
    struct timespec ts;
    struct tm tm;
    size_t n;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = strftime(out, TS_MAX, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, TS_MAX - n, ".%06ldZ", (long)(ts.tv_nsec / 1000));
}

/* json.dumps(list_of_str) of Python: ", " between items, ensure_ascii. */
static int json_str_array(struct bbuf *b, const char *const *v, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p;
    size_t i, len, k, m;
    uint32_t c, u;
    char esc[13];
    int rc = bbuf_append_char(b, '[');

    for (i = 0; i < n && !rc; i++) {
        if (!v[i])
            return -EINVAL;
        if (i)
            rc = bbuf_append(b, ", ", 2);
        rc = rc ? rc : bbuf_append_char(b, '"');
        p = (const unsigned char *)v[i];
        len = strlen(v[i]);
        for (k = 0; k < len && !rc; k += m) {
            m = utf8_decode(p + k, len - k, &c);
            if (m == 0)
                return -EILSEQ;
            if (c == '"' || c == '\\') {
                esc[0] = '\\';
                esc[1] = (char)c;
                rc = bbuf_append(b, esc, 2);
            } else if (c >= 0x20 && c < 0x7f) {
                rc = bbuf_append_char(b, (char)c);
            } else if (c == '\n' || c == '\r' || c == '\t' || c == '\b' ||
                       c == '\f') {
                esc[0] = '\\';
                esc[1] = c == '\n'   ? 'n'
                         : c == '\r' ? 'r'
                         : c == '\t' ? 't'
                         : c == '\b' ? 'b'
                                     : 'f';
                rc = bbuf_append(b, esc, 2);
            } else {
                /* \uXXXX, a surrogate pair above U+FFFF */
                size_t o = 0;
                int half;
                for (half = c > 0xffff ? 2 : 1; half > 0 && o < 12; half--) {
                    u = c <= 0xffff ? c
                        : half == 2 ? 0xd800 + ((c - 0x10000) >> 10)
                                    : 0xdc00 + ((c - 0x10000) & 0x3ff);
                    esc[o++] = '\\';
                    esc[o++] = 'u';
                    esc[o++] = hex[(u >> 12) & 0xf];
                    esc[o++] = hex[(u >> 8) & 0xf];
                    esc[o++] = hex[(u >> 4) & 0xf];
                    esc[o++] = hex[u & 0xf];
                }
                rc = bbuf_append(b, esc, o);
            }
        }
        rc = rc ? rc : bbuf_append_char(b, '"');
    }
    rc = rc ? rc : bbuf_append_char(b, ']');
    return rc;
}

static int map_pickle_err(int rc)
{
    return rc == -ENOBUFS  ? RQ_STORE_E_TOO_LARGE
           : rc == -ENOMEM ? RQ_STORE_E_NOMEM
                           : RQ_STORE_E_INVALID;
}

/* The argv of one HSET: key, then name/value pairs. */
struct hset {
    int argc;
    const char *argv[2 + 2 * 16];
    size_t lens[2 + 2 * 16];
};

static void hset_begin(struct hset *h, const char *key)
{
    h->argc = 0;
    h->argv[h->argc] = "HSET";
    h->lens[h->argc++] = 4;
    h->argv[h->argc] = key;
    h->lens[h->argc++] = strlen(key);
}

static void hset_add(struct hset *h, const char *name, const void *v,
                     size_t len)
{
    h->argv[h->argc] = name;
    h->lens[h->argc++] = strlen(name);
    h->argv[h->argc] = v;
    h->lens[h->argc++] = len;
}

static void hset_str(struct hset *h, const char *name, const char *v)
{
    hset_add(h, name, v ? v : "", v ? strlen(v) : 0);
}

/* Best effort after a failed EXEC: take both records away again. */
static void submit_undo(struct rq_store *s, const char *task_key,
                        const char *job_key, const char *task_id)
{
    const char *del_t[2] = {"DEL", task_key}, *del_j[2] = {"DEL", job_key};
    const char *lrem[4] = {"LREM", s->queue_key, "0", task_id};
    size_t lt[2] = {3, strlen(task_key)}, lj[2] = {3, strlen(job_key)};
    size_t ll[4] = {4, strlen(s->queue_key), 1, strlen(task_id)};
    struct batch b;
    int sent = 0;

    if (!s->ctx || select_cmd(s, &sent, s->results_db) ||
        cmd(s, &sent, 2, del_t, lt) || select_cmd(s, &sent, s->addr.db) ||
        cmd(s, &sent, 2, del_j, lj) || cmd(s, &sent, 4, lrem, ll))
        return;
    s->cur_db = -1;
    if (batch_read(s, sent, &b, "undo") == 0)
        batch_free(&b);
}

/*
 * Check the replies of MULTI ... EXEC. 0 when every command ran and
 * succeeded. Otherwise the error, with *ran telling whether EXEC executed
 * the transaction (then some of its commands may have taken effect; an
 * error while queueing makes EXEC abort, and nothing runs).
 */
static int check_exec(struct rq_store *s, const struct batch *b, bool *ran)
{
    const redisReply *x = b->r[b->n - 1], *first_err = NULL;
    size_t k;
    int i;

    *ran = false;
    if (b->r[0]->type == REDIS_REPLY_ERROR)
        return reply_error(s, "MULTI", b->r[0]);
    if (!is_status(b->r[0], "OK"))
        return unexpected(s, "MULTI");
    for (i = 1; i < b->n - 1; i++) {
        if (b->r[i]->type == REDIS_REPLY_ERROR) {
            if (!first_err)
                first_err = b->r[i];
        } else if (!is_status(b->r[i], "QUEUED")) {
            return unexpected(s, "MULTI");
        }
    }
    if (x->type == REDIS_REPLY_ERROR) /* EXECABORT */
        return reply_error(s, "EXEC", first_err ? first_err : x);
    if (x->type != REDIS_REPLY_ARRAY)
        return unexpected(s, "EXEC");
    *ran = true;
    if ((int)x->elements != b->n - 2)
        return unexpected(s, "EXEC");
    for (k = 0; k < x->elements; k++)
        if (x->element[k]->type == REDIS_REPLY_ERROR)
            return reply_error(s, "EXEC", x->element[k]);
    return 0;
}

int rq_store_submit(struct rq_store *s, const struct rq_submit *t)
{
    char task_key[KEY_MAX], job_key[KEY_MAX];
    char now[TS_MAX], size[24], timeout[24], ttl[24];
    char desc[RQ_STORE_NAME_MAX + 2 + 4 * RQ_DESCRIPTION_ARG_MAX + 4];
    char feats_mem[RQ_STORE_FEATURES_MAX];
    const char *multi[1] = {"MULTI"}, *exec[1] = {"EXEC"};
    size_t multi_l[1] = {5}, exec_l[1] = {4};
    const char *sadd[3] = {"SADD", RQ_QUEUES_KEY, s->queue_key};
    size_t sadd_l[3] = {4, sizeof RQ_QUEUES_KEY - 1, strlen(s->queue_key)};
    const char *rpush[3] = {"RPUSH", s->queue_key, NULL};
    size_t rpush_l[3] = {5, strlen(s->queue_key), 0};
    const char *expire[3] = {"EXPIRE", task_key, ttl};
    size_t expire_l[3] = {6, 0, 0};
    struct rq_task_args args;
    struct bbuf feats;
    struct hset h;
    struct batch b;
    size_t plen, dlen, desclen;
    bool ran;
    int sent = 0, rc;

    if (!t || !id_ok(t->task_id) || !t->file_path || !t->asr_backend ||
        !t->sha256 || !t->mime_type || (t->n_features && !t->features))
        return RQ_STORE_E_INVALID;
    args = (struct rq_task_args){
        .task_id = t->task_id,
        .audio_path = t->file_path,
        .features = t->features,
        .n_features = t->n_features,
        .template_id = t->template_id,
        .asr_backend = t->asr_backend,
        .enable_diarization = t->enable_diarization,
        .enable_vad = t->enable_vad,
        .vad_threshold = t->vad_threshold,
        .redis_host = s->addr.unix_socket ? s->addr.path : s->addr.host,
        .redis_port = s->addr.unix_socket ? 0 : s->addr.port,
        .redis_db = s->results_db,
        .correlation_id = t->correlation_id,
    };
    rc = rq_pickle_job(s->func_name, &args, s->pickle, sizeof s->pickle, &plen);
    if (rc)
        return map_pickle_err(rc);
    rc = rq_zlib_compress(s->pickle, plen, s->data, sizeof s->data, &dlen);
    if (rc)
        return map_pickle_err(rc);
    rc = rq_job_description(s->func_name, &args, desc, sizeof desc, &desclen);
    if (rc)
        return map_pickle_err(rc);
    BBUF_INIT_ARRAY(&feats, feats_mem);
    rc = json_str_array(&feats, t->features, t->n_features);
    if (rc)
        return map_pickle_err(rc);

    iso_now(now);
    snprintf(task_key, sizeof task_key, TASK_PREFIX "%s", t->task_id);
    snprintf(job_key, sizeof job_key, RQ_JOB_PREFIX "%s", t->task_id);
    snprintf(size, sizeof size, "%llu", (unsigned long long)t->size_bytes);
    snprintf(timeout, sizeof timeout, "%ld", s->job_timeout);
    rpush[2] = t->task_id;
    rpush_l[2] = strlen(t->task_id);
    expire_l[1] = strlen(task_key);

    rc = conn_ready(s);
    if (rc)
        return rc;
    if ((rc = cmd(s, &sent, 1, multi, multi_l)) != 0)
        return rc;
    if (s->cur_db != s->results_db &&
        (rc = select_cmd(s, &sent, s->results_db)) != 0)
        return rc;

    /* the task record, as the original service wrote it */
    hset_begin(&h, task_key);
    hset_str(&h, "task_id", t->task_id);
    hset_str(&h, "status", "PENDING");
    hset_str(&h, "submitted_at", t->submitted_at ? t->submitted_at : now);
    hset_add(&h, "features", feats.ptr, feats.len);
    hset_str(&h, "template_id", t->template_id);
    hset_str(&h, "file_path", t->file_path);
    hset_str(&h, "asr_backend", t->asr_backend);
    hset_str(&h, "correlation_id", t->correlation_id);
    hset_str(&h, "size_bytes", size);
    hset_str(&h, "sha256", t->sha256);
    hset_str(&h, "mime_type", t->mime_type);
    if ((rc = cmd(s, &sent, h.argc, h.argv, h.lens)) != 0)
        return rc;
    if (s->result_ttl > 0) {
        expire_l[2] = (size_t)snprintf(ttl, sizeof ttl, "%ld", s->result_ttl);
        if ((rc = cmd(s, &sent, 3, expire, expire_l)) != 0)
            return rc;
    }
    if (s->results_db != s->addr.db &&
        (rc = select_cmd(s, &sent, s->addr.db)) != 0)
        return rc;

    /* the job, as RQ 1.13's Queue.enqueue_job() writes it (see header) */
    if ((rc = cmd(s, &sent, 3, sadd, sadd_l)) != 0)
        return rc;
    hset_begin(&h, job_key);
    hset_str(&h, "status", "queued");
    if ((rc = cmd(s, &sent, h.argc, h.argv, h.lens)) != 0)
        return rc;
    snprintf(ttl, sizeof ttl, "%ld", s->result_ttl);
    hset_begin(&h, job_key);
    hset_str(&h, "created_at", now);
    hset_add(&h, "data", s->data, dlen);
    hset_str(&h, "success_callback_name", "");
    hset_str(&h, "failure_callback_name", "");
    hset_str(&h, "started_at", "");
    hset_str(&h, "ended_at", "");
    hset_str(&h, "last_heartbeat", "");
    hset_str(&h, "worker_name", "");
    hset_str(&h, "origin", s->queue_name);
    hset_add(&h, "description", desc, desclen);
    hset_str(&h, "enqueued_at", now);
    hset_str(&h, "timeout", timeout);
    hset_str(&h, "result_ttl", ttl);
    hset_str(&h, "status", "queued");
    if ((rc = cmd(s, &sent, h.argc, h.argv, h.lens)) != 0 ||
        (rc = cmd(s, &sent, 3, rpush, rpush_l)) != 0 ||
        (rc = cmd(s, &sent, 1, exec, exec_l)) != 0)
        return rc;

    rc = batch_read(s, sent, &b, "EXEC");
    if (rc)
        return rc; /* in doubt if EXEC had reached the server; see header */
    rc = check_exec(s, &b, &ran);
    batch_free(&b);
    if (rc == 0) {
        s->cur_db = s->addr.db; /* the transaction's last SELECT */
        return 0;
    }
    s->cur_db = -1;
    if (ran)
        submit_undo(s, task_key, job_key, t->task_id);
    return rc;
}
