/*
 * fsutil.h - small filesystem steps shared by the spool and the queue.
 * Failures are logged with the step and errno; errno is returned negated,
 * with ENOSPC and EDQUOT both as -ENOSPC (the caller answers 507).
 */
#ifndef FU_FSUTIL_H
#define FU_FSUTIL_H

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>

/* Open the directory path (relative to atfd, or absolute) as an O_DIRECTORY
 * descriptor, creating it with mode 0750 first when create is set and it
 * does not exist (its parent must). Symbolic links are followed only when
 * follow is set (operator-configured roots); never for names we create.
 * 0 or negative errno. */
int fsu_open_dir(int atfd, const char *path, bool create, bool follow,
                 int *out_fd);

/* A new directory stream over directory dirfd, on a descriptor of its own
 * (dirfd stays open and untouched; closedir() releases the stream). A DIR
 * must not be shared by threads, and a fresh one needs no rewinding. NULL
 * with errno set on failure; nothing is logged. */
DIR *fsu_opendir_at(int dirfd);

/*
 * "In use" marks for the start-up sweep (sweep.h). fsu_hold() takes
 * flock(LOCK_EX | LOCK_NB) on the file open as fd; it lasts until every
 * descriptor of that open is closed, and the kernel drops it when the
 * process dies, however it dies. Failure (a filesystem without flock) is
 * not an error: the sweep's age limit alone protects the file then.
 * fsu_held_elsewhere() tries the same lock: true when another open (a live
 * worker) holds it; on false the caller now holds it until fd is closed.
 */
void fsu_hold(int fd);
bool fsu_held_elsewhere(int fd);

/*
 * Write buf to tmp_name in tmp_dirfd (O_CREAT|O_EXCL|O_NOFOLLOW, mode
 * 0640), fsync it, rename it to dst_name in dst_dirfd (same filesystem) and
 * fsync the destination directory (and the temp directory if different).
 * The temp file is held (fsu_hold) while it exists. Readers see either no
 * file or the whole file, never part of it. On
 * failure neither the temp file nor dst_name is left. 0 or negative errno.
 */
int fsu_write_atomic(int tmp_dirfd, const char *tmp_name, int dst_dirfd,
                     const char *dst_name, const char *buf, size_t len,
                     const char *request_id);

#endif
