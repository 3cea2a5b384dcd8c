/*
 * sink.c - streaming a file part to disk; see sink.h.
 */
#include "sink.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "fu_log.h"

static int storage_errno(int err)
{
    return (err == ENOSPC || err == EDQUOT) ? -ENOSPC : -err;
}

/* Log the failed step with errno; return the mapped negative value. */
static int fail(struct sink *s, const char *step, int err)
{
    fu_log_errno(FU_LOG_ERROR, s->request_id, step, err, "file sink: task %s",
                 s->task_id);
    return storage_errno(err);
}

void sink_init(struct sink *s, int spool_fd, EVP_MD_CTX *md,
               const EVP_MD *sha256, const char *request_id)
{
    memset(s, 0, sizeof(*s));
    s->spool_fd = spool_fd;
    s->dir_fd = -1;
    s->fd = -1;
    s->md = md;
    s->sha256 = sha256;
    s->request_id = request_id;
}

bool sink_active(const struct sink *s)
{
    return s->dir_created;
}

int sink_open(struct sink *s, const char *task_id)
{
    int err;

    snprintf(s->task_id, sizeof(s->task_id), "%s", task_id);
    snprintf(s->tmp_name, sizeof(s->tmp_name), ".raw.%ld.part", (long)getpid());
    if (EVP_DigestInit_ex(s->md, s->sha256, NULL) != 1)
        return fail(s, "EVP_DigestInit_ex", ENOMEM);
    if (mkdirat(s->spool_fd, s->task_id, 0750) < 0)
        return fail(s, "mkdirat task dir", errno);
    s->dir_created = true;
    s->dir_fd = openat(s->spool_fd, s->task_id,
                       O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (s->dir_fd < 0) {
        err = fail(s, "openat task dir", errno);
        goto out_discard;
    }
    /* held until sink_discard() or sink_release(): the start-up sweep of
     * another process leaves the directory alone meanwhile */
    fsu_hold(s->dir_fd);
    s->fd = openat(s->dir_fd, s->tmp_name,
                   O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
    if (s->fd < 0) {
        err = fail(s, "openat temp file", errno);
        goto out_discard;
    }
    s->tmp_exists = true;
    return 0;

out_discard:
    sink_discard(s);
    return err;
}

int sink_write(struct sink *s, const void *buf, size_t len)
{
    const char *p = buf;

    if (EVP_DigestUpdate(s->md, buf, len) != 1)
        return fail(s, "EVP_DigestUpdate", EIO);
    while (len) {
        ssize_t n = write(s->fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return fail(s, "write", errno);
        }
        if (n == 0)
            return fail(s, "write", EIO);
        p += n;
        len -= (size_t)n;
        s->bytes += (uint64_t)n;
    }
    return 0;
}

int sink_commit(struct sink *s, const char *ext,
                unsigned char digest[SINK_DIGEST_LEN])
{
    unsigned int dlen = 0;
    int fd = s->fd;

    snprintf(s->final_name, sizeof(s->final_name), "raw.%s", ext);
    if (EVP_DigestFinal_ex(s->md, digest, &dlen) != 1 ||
        dlen != SINK_DIGEST_LEN)
        return fail(s, "EVP_DigestFinal_ex", EIO);
    if (fsync(fd) < 0)
        return fail(s, "fsync file", errno);
    s->fd = -1;
    if (close(fd) < 0)
        return fail(s, "close file", errno);
    if (renameat(s->dir_fd, s->tmp_name, s->dir_fd, s->final_name) < 0)
        return fail(s, "renameat", errno);
    s->tmp_exists = false;
    s->committed = true;
    if (fsync(s->dir_fd) < 0)
        return fail(s, "fsync task dir", errno);
    /* the task directory itself is a new entry of AUDIO_DIR */
    if (fsync(s->spool_fd) < 0)
        return fail(s, "fsync audio dir", errno);
    return 0;
}

static void unlink_logged(struct sink *s, int dirfd, const char *name,
                          int flags)
{
    if (unlinkat(dirfd, name, flags) < 0 && errno != ENOENT)
        fu_log_errno(FU_LOG_ERROR, s->request_id, "unlinkat", errno,
                     "cannot remove %s of task %s", name, s->task_id);
}

void sink_discard(struct sink *s)
{
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    if (s->dir_fd >= 0) {
        if (s->tmp_exists)
            unlink_logged(s, s->dir_fd, s->tmp_name, 0);
        if (s->committed)
            unlink_logged(s, s->dir_fd, s->final_name, 0);
        close(s->dir_fd);
    }
    s->dir_fd = -1;
    s->tmp_exists = false;
    s->committed = false;
    if (s->dir_created)
        unlink_logged(s, s->spool_fd, s->task_id, AT_REMOVEDIR);
    s->dir_created = false;
}

void sink_release(struct sink *s)
{
    if (s->fd >= 0)
        close(s->fd);
    if (s->dir_fd >= 0)
        close(s->dir_fd);
    s->fd = -1;
    s->dir_fd = -1;
    s->dir_created = false;
    s->tmp_exists = false;
    s->committed = false;
}
