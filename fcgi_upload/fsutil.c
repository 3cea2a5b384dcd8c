/*
 * fsutil.c - see fsutil.h.
 */
#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fu_log.h"

static int mapped(int err)
{
    return (err == ENOSPC || err == EDQUOT) ? -ENOSPC : -err;
}

int fsu_open_dir(int atfd, const char *path, bool create, bool follow,
                 int *out_fd)
{
    int flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW);
    int fd;

    if (create && mkdirat(atfd, path, 0750) < 0 && errno != EEXIST) {
        fu_log_errno(FU_LOG_ERROR, NULL, "mkdirat", errno,
                     "cannot create directory %s", path);
        return mapped(errno);
    }
    fd = openat(atfd, path, flags);
    if (fd < 0) {
        fu_log_errno(FU_LOG_ERROR, NULL, "openat", errno,
                     "cannot open directory %s", path);
        return -errno;
    }
    *out_fd = fd;
    return 0;
}

void fsu_hold(int fd)
{
    if (flock(fd, LOCK_EX | LOCK_NB) < 0)
        fu_log_errno(FU_LOG_DEBUG, NULL, "flock", errno,
                     "cannot mark a file in use for the start-up sweep");
}

bool fsu_held_elsewhere(int fd)
{
    return flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK;
}

static int write_all(int fd, const char *p, size_t len)
{
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return -EIO;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int fsu_write_atomic(int tmp_dirfd, const char *tmp_name, int dst_dirfd,
                     const char *dst_name, const char *buf, size_t len,
                     const char *request_id)
{
    const char *step;
    int fd, rc, err;

    fd = openat(tmp_dirfd, tmp_name,
                O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
    if (fd < 0) {
        err = errno;
        fu_log_errno(FU_LOG_ERROR, request_id, "openat", err,
                     "cannot create %s", tmp_name);
        return mapped(err);
    }
    fsu_hold(fd);
    rc = write_all(fd, buf, len);
    if (rc) {
        step = "write";
        err = -rc;
        goto out_close;
    }
    if (fsync(fd) < 0) {
        step = "fsync";
        err = errno;
        goto out_close;
    }
    if (close(fd) < 0) {
        step = "close";
        err = errno;
        goto out_unlink;
    }
    if (renameat(tmp_dirfd, tmp_name, dst_dirfd, dst_name) < 0) {
        step = "renameat";
        err = errno;
        goto out_unlink;
    }
    if (fsync(dst_dirfd) < 0 ||
        (tmp_dirfd != dst_dirfd && fsync(tmp_dirfd) < 0)) {
        err = errno;
        fu_log_errno(FU_LOG_ERROR, request_id, "fsync directory", err,
                     "%s written but not durable; removing it", dst_name);
        if (unlinkat(dst_dirfd, dst_name, 0) < 0 && errno != ENOENT)
            fu_log_errno(FU_LOG_ERROR, request_id, "unlinkat", errno,
                         "cannot remove %s", dst_name);
        return mapped(err);
    }
    return 0;

out_close:
    close(fd);
out_unlink:
    fu_log_errno(FU_LOG_ERROR, request_id, step, err, "cannot write %s",
                 tmp_name);
    if (unlinkat(tmp_dirfd, tmp_name, 0) < 0 && errno != ENOENT)
        fu_log_errno(FU_LOG_ERROR, request_id, "unlinkat", errno,
                     "cannot remove %s", tmp_name);
    return mapped(err);
}

DIR *fsu_opendir_at(int dirfd)
{
    int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d;

    if (fd < 0)
        return NULL;
    d = fdopendir(fd);
    if (!d) {
        int err = errno;
        close(fd);
        errno = err;
    }
    return d;
}
