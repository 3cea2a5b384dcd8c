/*
 * sink.h - the file part's way to disk, in the manner of redis rdbSave():
 *
 *   mkdirat(AUDIO_DIR, <task_id>, 0750), flock of the directory (held until
 *   the request ends, for the start-up sweep: sweep.h)
 *   openat(<task dir>, ".raw.<pid>.part",
 *          O_WRONLY|O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC, 0640)
 *   write() in a loop (short writes, EINTR), SHA-256 of every byte
 *   fsync(file); close; renameat(".raw.<pid>.part" -> "raw.<ext>")
 *   fsync(task dir); fsync(AUDIO_DIR)
 *
 * Names come from the task id (a UUID we generated) and the extension from
 * the configuration, never from the client. On any failure the step is
 * logged with its errno, errno is kept in the return value, and
 * sink_discard() removes whatever was created. ENOSPC and EDQUOT are
 * reported as -ENOSPC (507); other errors as their own -errno (500).
 *
 * A struct sink lives in the per-request state; the digest context belongs
 * to the worker and is only borrowed, so nothing is allocated per request.
 */
#ifndef FU_SINK_H
#define FU_SINK_H

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mp_limits.h"

#define SINK_DIGEST_LEN 32 /* SHA-256 */

struct sink {
    int spool_fd; /* AUDIO_DIR, borrowed */
    int dir_fd;   /* the task directory, or -1 */
    int fd;       /* the temp file while open, or -1 */
    bool dir_created;
    bool tmp_exists;
    bool committed; /* the temp file is now final_name */
    uint64_t bytes; /* written so far */
    EVP_MD_CTX *md; /* borrowed from the worker */
    const EVP_MD *sha256;
    const char *request_id; /* for log lines, borrowed */
    char task_id[40];
    char tmp_name[48];
    char final_name[8 + FU_EXT_MAX];
};

/* Prepare s; nothing is created yet. */
void sink_init(struct sink *s, int spool_fd, EVP_MD_CTX *md,
               const EVP_MD *sha256, const char *request_id);
/* Create the task directory and the temp file. 0 or negative errno. */
int sink_open(struct sink *s, const char *task_id);
/* Append len bytes to the file and the digest. 0, -ENOSPC, or -errno. */
int sink_write(struct sink *s, const void *buf, size_t len);
/* fsync, rename to "raw.<ext>", fsync the directories; the digest goes to
 * digest. 0, -ENOSPC, or -errno (the temp file is still there for
 * sink_discard()). */
int sink_commit(struct sink *s, const char *ext,
                unsigned char digest[SINK_DIGEST_LEN]);
/* Remove everything sink_open()/sink_commit() created (temp or final file,
 * task directory) and close the descriptors. Safe on any state, also after
 * sink_init() alone. Failures are logged. */
void sink_discard(struct sink *s);
/* Keep the stored file: close the descriptors, forget it. */
void sink_release(struct sink *s);
/* True when sink_open() succeeded and neither discard nor release ran. */
bool sink_active(const struct sink *s);

#endif
