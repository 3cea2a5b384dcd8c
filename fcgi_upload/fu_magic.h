/*
 * fu_magic.h - content type detection with libmagic.
 *
 * The database is loaded once per process and shared by every struct
 * fu_magic; a magic_t is not safe for concurrent use, so detections are
 * serialised by one mutex. Why not one handle per thread: measured with
 * libmagic 5.44 (Debian 12), a loaded handle costs ~0.15 MB of heap, but
 * its first magic_buffer() call faults in ~4 MB of its private mapping of
 * magic.mgc, which counts in the RSS of the process once per handle: 64
 * used handles put a process at 255 MB RSS, one at 6 MB. A detection takes
 * 0.1 to 0.8 ms and happens once per upload (on its first 4 KB), so the
 * lock is held for a negligible share of an upload's time.
 */
#ifndef FU_MAGIC_H
#define FU_MAGIC_H

#include <stddef.h>

struct fu_magic {
    void *cookie; /* the process's magic_t while this reference is open */
};

/* Take a reference to the process's libmagic handle (MAGIC_MIME_TYPE, the
 * default database), loading it on the first call. Thread-safe. 0, or -EIO
 * (logged with libmagic's reason). */
int fu_magic_open(struct fu_magic *m);
/* The MIME type of buf[0..len) (len > 0), e.g. "audio/x-wav", copied into
 * out (NUL-terminated, cut to cap - 1). Thread-safe. 0, or -EIO (logged). */
int fu_magic_detect(struct fu_magic *m, const void *buf, size_t len, char *out,
                    size_t cap);
/* Drop the reference; the last one unloads the database. Safe on a struct
 * whose open failed or that was closed already. */
void fu_magic_close(struct fu_magic *m);

#endif
