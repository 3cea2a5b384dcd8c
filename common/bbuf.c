/*
 * bbuf.c - bounded byte buffer; see bbuf.h for the contract.
 */
#include "bbuf.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

void bbuf_init(struct bbuf *b, char *mem, size_t size)
{
    b->ptr = mem;
    b->cap = size ? size - 1 : 0;
    b->len = 0;
    if (size)
        mem[0] = '\0';
}

void bbuf_reset(struct bbuf *b)
{
    b->len = 0;
    b->ptr[0] = '\0';
}

void bbuf_truncate(struct bbuf *b, size_t len)
{
    if (len < b->len) {
        b->len = len;
        b->ptr[len] = '\0';
    }
}

size_t bbuf_avail(const struct bbuf *b)
{
    return b->cap - b->len;
}

int bbuf_append(struct bbuf *b, const void *p, size_t len)
{
    if (len > bbuf_avail(b))
        return -ENOBUFS;
    if (len)
        memmove(b->ptr + b->len, p, len);
    b->len += len;
    b->ptr[b->len] = '\0';
    return 0;
}

int bbuf_append_str(struct bbuf *b, const char *s)
{
    return bbuf_append(b, s, strlen(s));
}

int bbuf_append_char(struct bbuf *b, char c)
{
    return bbuf_append(b, &c, 1);
}

int bbuf_append_u64(struct bbuf *b, uint64_t v)
{
    char tmp[20]; /* UINT64_MAX has 20 digits */
    size_t n = 0;

    do {
        tmp[sizeof(tmp) - 1 - n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return bbuf_append(b, tmp + sizeof(tmp) - n, n);
}

int bbuf_vprintf(struct bbuf *b, const char *fmt, va_list ap)
{
    size_t room = bbuf_avail(b) + 1; /* the NUL slot is ours to use */
    int n = vsnprintf(b->ptr + b->len, room, fmt, ap);

    if (n < 0) {
        b->ptr[b->len] = '\0';
        return -EINVAL;
    }
    if ((size_t)n >= room) {
        b->ptr[b->len] = '\0'; /* vsnprintf wrote a cut copy: undo it */
        return -ENOBUFS;
    }
    b->len += (size_t)n;
    return 0;
}

int bbuf_printf(struct bbuf *b, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = bbuf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}
