/*
 * taskstore_fs.c - the embedded task store: plain files, no server.
 *
 * Layout (AUDIO_DIR and QUEUE_DIR are separate directories; QUEUE_DIR is
 * one filesystem, AUDIO_DIR may be another):
 *
 *   AUDIO_DIR/<task_id>/raw.<ext>        the upload (written by sink.c)
 *   AUDIO_DIR/<task_id>/task.json        the task record, with its status
 *   QUEUE_DIR/tmp/<task_id>.json         a queue entry being written
 *   QUEUE_DIR/pending/<task_id>.json     waiting for a worker
 *   QUEUE_DIR/claimed/<task_id>.json     taken by a worker
 *
 * Submitting: task.json is written atomically (temp name, fsync, renameat,
 * fsync of the task directory); only then is the queue entry (a copy of
 * the record as submitted) written to tmp/ and renamed into pending/, and
 * pending/ fsynced. A worker never sees an entry whose task.json is not
 * durable, and never a half-written entry. If the entry cannot be made,
 * task.json is removed again.
 *
 * Queue depth (the 429 check) = the entries in pending/ (names starting
 * with '.' are ignored). It is read per request, so the limit is a soft one:
 * concurrent uploads can overshoot it by the number of workers.
 *
 * The worker's side (documented here; the worker is not part of this code):
 *  1. Claim: rename(2) QUEUE_DIR/pending/<id>.json to
 *     QUEUE_DIR/claimed/<id>.json. Success means the task is this worker's;
 *     ENOENT means another worker was first: take the next entry. rename is
 *     atomic within one filesystem, also on a shared one (NFSv3+), so
 *     exactly one worker wins.
 *  2. Process AUDIO_DIR/<id>/raw.<ext> (file_path in the record).
 *  3. Status: write the new record to AUDIO_DIR/<id>/.task.json.<worker>.tmp,
 *     fsync, rename over task.json, fsync the directory; status goes
 *     PENDING -> PROCESSING -> COMPLETE or FAILED (the names the original
 *     service's workers use, also in Redis mode), other members kept.
 *     GET /v1/status/<id> serves task.json as it is (at most
 *     FU_STATUS_JSON_MAX bytes: keep large results in other files).
 *  4. Done: unlink QUEUE_DIR/claimed/<id>.json. A claimed entry older than
 *     the longest task is a crashed worker's: renaming it back to pending/
 *     queues the task again.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "fsutil.h"
#include "fu_log.h"
#include "jsonx.h"
#include "taskstore.h"

struct fs_store {
    int spool_fd; /* AUDIO_DIR, borrowed */
    int queue_fd;
    int tmp_fd;
    int pending_fd;
    int claimed_fd;
};

static int fs_queue_depth(void *impl, uint64_t *depth)
{
    struct fs_store *st = impl;
    struct dirent *de;
    uint64_t n = 0;
    DIR *d;

    d = fsu_opendir_at(st->pending_fd);
    if (!d) {
        int err = errno;
        fu_log_errno(FU_LOG_ERROR, NULL, "opendir pending", err,
                     "cannot read the queue");
        return -err;
    }
    errno = 0;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] != '.')
            n++;
        errno = 0;
    }
    if (errno) {
        int err = errno;
        closedir(d);
        fu_log_errno(FU_LOG_ERROR, NULL, "readdir pending", err,
                     "cannot read the queue");
        return -err;
    }
    closedir(d);
    *depth = n;
    return 0;
}

static int fs_submit(void *impl, const struct task_record *r)
{
    struct fs_store *st = impl;
    char entry[TASK_ID_LEN + 8];
    json_t *obj;
    char *text;
    size_t len;
    int dir_fd, rc;

    obj = task_record_json(r);
    if (!obj)
        return -ENOMEM;
    text = json_dumps(obj, JSON_COMPACT | JSON_REAL_PRECISION(10));
    json_decref(obj);
    if (!text)
        return -ENOMEM;
    len = strlen(text);
    snprintf(entry, sizeof(entry), "%s.json", r->task_id);

    rc = fsu_open_dir(st->spool_fd, r->task_id, false, false, &dir_fd);
    if (rc)
        goto out_free;
    rc = fsu_write_atomic(dir_fd, ".task.json.part", dir_fd, "task.json", text,
                          len, r->correlation_id);
    if (rc)
        goto out_close_dir;
    rc = fsu_write_atomic(st->tmp_fd, entry, st->pending_fd, entry, text, len,
                          r->correlation_id);
    if (rc)
        goto out_unlink_task;
    close(dir_fd);
    free(text);
    return 0;

out_unlink_task:
    if (unlinkat(dir_fd, "task.json", 0) < 0)
        fu_log_errno(FU_LOG_ERROR, r->correlation_id, "unlinkat", errno,
                     "cannot remove task.json of %s", r->task_id);
out_close_dir:
    close(dir_fd);
out_free:
    free(text);
    return rc;
}

static int fs_get_status(void *impl, const char *task_id, struct bbuf *out)
{
    struct fs_store *st = impl;
    int dir_fd, fd, rc = 0;
    struct stat sb;

    dir_fd = openat(st->spool_fd, task_id,
                    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dir_fd < 0)
        return errno == ENOENT ? -ENOENT : -errno;
    fd = openat(dir_fd, "task.json", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        /* a directory without task.json is an upload still in progress */
        rc = errno == ENOENT ? -ENOENT : -errno;
        goto out_close_dir;
    }
    if (fstat(fd, &sb) < 0) {
        rc = -errno;
        goto out_close;
    }
    if (!S_ISREG(sb.st_mode)) {
        rc = -EINVAL;
        goto out_close;
    }
    if ((uint64_t)sb.st_size > bbuf_avail(out)) {
        rc = -EFBIG;
        goto out_close;
    }
    while (bbuf_avail(out)) {
        ssize_t n = read(fd, out->ptr + out->len, bbuf_avail(out));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = -errno;
            goto out_close;
        }
        if (n == 0)
            break;
        out->len += (size_t)n;
    }
    out->ptr[out->len] = '\0';
    if (out->len > 0 && bbuf_avail(out) == 0) {
        char extra;
        if (read(fd, &extra, 1) > 0)
            rc = -EFBIG; /* grew while we read */
    }
out_close:
    close(fd);
out_close_dir:
    close(dir_fd);
    return rc;
}

static int fs_health(void *impl, json_t *obj)
{
    uint64_t depth = 0;
    int rc = fs_queue_depth(impl, &depth);

    if (json_object_set_new(obj, "queue_depth",
                            rc ? json_null() : json_integer((json_int_t)depth)))
        return -ENOMEM;
    return rc ? -EAGAIN : 0; /* an unreadable queue takes no task */
}

static void fs_close(void *impl)
{
    struct fs_store *st = impl;

    close(st->claimed_fd);
    close(st->pending_fd);
    close(st->tmp_fd);
    close(st->queue_fd);
    free(st);
}

static const struct taskstore_ops fs_ops = {
    fs_queue_depth, fs_submit, fs_get_status, fs_health, fs_close,
};

int taskstore_fs_open(struct taskstore *ts, const struct config *c,
                      int spool_fd)
{
    struct fs_store *st = malloc(sizeof(*st));
    int rc;

    if (!st)
        return -ENOMEM;
    st->spool_fd = spool_fd;
    rc = fsu_open_dir(AT_FDCWD, c->queue_dir, true, true, &st->queue_fd);
    if (rc)
        goto out_free;
    rc = fsu_open_dir(st->queue_fd, "tmp", true, false, &st->tmp_fd);
    if (rc)
        goto out_close_queue;
    rc = fsu_open_dir(st->queue_fd, "pending", true, false, &st->pending_fd);
    if (rc)
        goto out_close_tmp;
    rc = fsu_open_dir(st->queue_fd, "claimed", true, false, &st->claimed_fd);
    if (rc)
        goto out_close_pending;
    ts->ops = &fs_ops;
    ts->impl = st;
    return 0;

out_close_pending:
    close(st->pending_fd);
out_close_tmp:
    close(st->tmp_fd);
out_close_queue:
    close(st->queue_fd);
out_free:
    free(st);
    return rc;
}
