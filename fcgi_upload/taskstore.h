/*
 * taskstore.h - where tasks go once their file is stored: a small interface
 * (queue depth, submit, status) so the embedded filesystem store can be
 * swapped for Redis later without touching the request flow.
 *
 * Implementations must be safe to call from several worker threads at once
 * through one struct taskstore (no per-call shared mutable state).
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

#endif
