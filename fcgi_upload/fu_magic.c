/*
 * fu_magic.c - libmagic behind a small interface; see fu_magic.h.
 */
#include "fu_magic.h"

#include <errno.h>
#include <magic.h>
#include <string.h>

#include "fu_log.h"

int fu_magic_open(struct fu_magic *m)
{
    magic_t cookie;

    /* MAGIC_MIME_TYPE: the bare type, no "; charset=". MAGIC_ERROR: report
     * errors instead of printing them. Decompression stays off (the
     * default), so libmagic never forks a decompressor on client data. */
    cookie = magic_open(MAGIC_MIME_TYPE | MAGIC_ERROR);
    if (!cookie) {
        fu_log_errno(FU_LOG_ERROR, NULL, "magic_open", errno,
                     "cannot initialise libmagic");
        return -EIO;
    }
    if (magic_load(cookie, NULL) != 0) {
        fu_log(FU_LOG_ERROR, NULL, "magic_load: %s", magic_error(cookie));
        magic_close(cookie);
        return -EIO;
    }
    m->cookie = cookie;
    return 0;
}

int fu_magic_detect(struct fu_magic *m, const void *buf, size_t len, char *out,
                    size_t cap)
{
    const char *type = magic_buffer(m->cookie, buf, len);
    size_t n;

    if (!type) {
        const char *why = magic_error(m->cookie);
        fu_log(FU_LOG_ERROR, NULL, "magic_buffer: %s", why ? why : "failed");
        return -EIO;
    }
    n = strlen(type);
    if (n >= cap)
        n = cap - 1;
    memcpy(out, type, n);
    out[n] = '\0';
    return 0;
}

void fu_magic_close(struct fu_magic *m)
{
    if (m->cookie)
        magic_close(m->cookie);
    m->cookie = NULL;
}
