/*
 * fu_magic.h - content type detection with libmagic.
 *
 * A magic_t is not safe to share between threads: each worker owns one,
 * loaded once at start (loading the database takes milliseconds and
 * megabytes; doing it per request would cost both).
 */
#ifndef FU_MAGIC_H
#define FU_MAGIC_H

#include <stddef.h>

struct fu_magic {
    void *cookie; /* magic_t */
};

/* Open libmagic with MAGIC_MIME_TYPE and load the default database. 0, or
 * -EIO (logged with libmagic's reason). */
int fu_magic_open(struct fu_magic *m);
/* The MIME type of buf[0..len) (len > 0), e.g. "audio/x-wav", copied into
 * out (NUL-terminated, cut to cap - 1). 0, or -EIO (logged). */
int fu_magic_detect(struct fu_magic *m, const void *buf, size_t len, char *out,
                    size_t cap);
void fu_magic_close(struct fu_magic *m);

#endif
