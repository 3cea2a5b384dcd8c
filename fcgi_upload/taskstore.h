/*
 * taskstore.h - where tasks go once their file is stored: a small interface
 * (queue depth, submit, status) so the embedded filesystem store can be
 * swapped for Redis later without touching the request flow.
 *
 * Threads: open one store per worker thread with taskstore_open() (same
 * arguments in every thread). The filesystem store keeps no per-call state
 * and could be shared; the Redis store holds one connection and its
 * buffers, so each thread should have its own (one connection per thread,
 * no lock contention). A Redis store also takes a mutex around every call,
 * so one shared by several threads is still correct, only serialised.
 *
 * Errors: 0 or a negative errno value. -EAGAIN always means the store
 * cannot be reached or is not serving now (Redis down, timed out, refusing
 * our credentials): the handler answers 503 SERVICE_UNAVAILABLE.
 */
#ifndef FU_TASKSTORE_H
#define FU_TASKSTORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "bbuf.h"
#include "fields.h"
#include "mp_limits.h"

struct config;

#define TASK_ID_LEN 36 /* textual UUID */

/* One task as submitted: the original service's field names plus ours. */
struct task_record {
    char task_id[TASK_ID_LEN + 1];
    char submitted_at[40]; /* ISO 8601 UTC */
    struct feature_set features;
    bool has_template;
    char template_id[FU_TEMPLATE_ID_MAX + 1];
    char file_path[FU_PATH_MAX + TASK_ID_LEN + FU_EXT_MAX + 8];
    enum asr_backend asr_backend;
    bool enable_diarization;
    bool enable_vad;
    double vad_threshold;
    char correlation_id[FU_REQUEST_ID_MAX + 1]; /* the X-Request-ID */
    uint64_t size_bytes;
    char sha256[65]; /* lower-case hex */
    char mime_type[FU_MIME_NAME_MAX + 1];
    char original_filename[FU_FILENAME_MAX + 1]; /* sanitised; may be "" */
    char declared_content_type[FU_DECLARED_TYPE_MAX + 1]; /* may be "" */
};

/* The record as a JSON object (status "PENDING"): task_id, status,
 * submitted_at, features, template_id (or null), file_path, asr_backend,
 * enable_diarization, enable_vad, vad_threshold, correlation_id,
 * size_bytes, sha256, mime_type, original_filename (or null),
 * declared_content_type (or null). A new reference, or NULL when out of
 * memory. */
json_t *task_record_json(const struct task_record *r);

struct taskstore_ops {
    /* Tasks submitted and not yet claimed by a worker. 0 or -errno. */
    int (*queue_depth)(void *impl, uint64_t *depth);
    /* Record the task durably and hand it to the workers. On error nothing
     * of the record is left behind (the stored audio is the caller's).
     * 0, -ENOSPC (507), -ENOMEM or another -errno (500). */
    int (*submit)(void *impl, const struct task_record *r);
    /* The current task record as JSON text, appended to out. -ENOENT for an
     * unknown task, -EFBIG if larger than out, else 0 or -errno. task_id
     * has been checked with uuid_text_valid() and is lower case. */
    int (*get_status)(void *impl, const char *task_id, struct bbuf *out);
    /* Add the store's members to the GET /health object: "queue_depth"
     * (null when unknown) and, for Redis, "redis_connected",
     * "worker_active" (an RQ worker of our queue is alive) and "workers".
     * 0 when the store can take tasks; -EAGAIN when it cannot (the members
     * are added all the same); -ENOMEM. */
    int (*health)(void *impl, json_t *obj);
    /* Release the store. */
    void (*close)(void *impl);
};

struct taskstore {
    const struct taskstore_ops *ops;
    void *impl;
};

/* The embedded store over the filesystem; see taskstore_fs.c for the queue
 * layout and the worker's claim protocol. spool_fd (AUDIO_DIR) is borrowed.
 * Creates the queue directories if missing. 0 or negative errno (logged). */
int taskstore_fs_open(struct taskstore *ts, const struct config *c,
                      int spool_fd);

/* Task records in Redis and jobs for stock RQ workers (rq_store.h), used
 * when APP_REDIS__URL is set; see taskstore_redis.c. Connects lazily: a
 * Redis that is down at start only makes requests answer 503 until it is
 * back. spool_fd is not used. 0 or -ENOMEM / -EINVAL (logged). */
int taskstore_redis_open(struct taskstore *ts, const struct config *c,
                         int spool_fd);

/* The store the configuration asks for: Redis when APP_REDIS__URL is set,
 * else the filesystem. Call it once per worker thread (see the top). */
int taskstore_open(struct taskstore *ts, const struct config *c, int spool_fd);

/*
 * One field of a Redis task hash, added to obj with the type the
 * filesystem record gives it: "features" (a JSON array text) as the array,
 * "size_bytes" as a number, "template_id" and "correlation_id" "" as null;
 * every other field (status, and whatever a worker adds) as a string. A
 * value that is not valid UTF-8 becomes null; a name that is not is
 * skipped. 0 or -ENOMEM.
 */
int task_hash_field_json(json_t *obj, const char *name, size_t name_len,
                         const char *value, size_t value_len);

#endif
