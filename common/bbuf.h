/*
 * bbuf.h - one bounded byte buffer over caller-owned memory.
 *
 * Contract:
 *  - Ownership: the bytes belong to the caller. bbuf never allocates, frees
 *    or resizes; a struct bbuf is valid exactly as long as the array handed
 *    to bbuf_init(), and nothing needs releasing.
 *  - Capacity: an array of size bytes holds at most cap = size - 1 bytes of
 *    content plus a NUL that is always kept after the content, so ptr can be
 *    given to C string APIs (the content itself may contain NULs).
 *  - Appending is all-or-nothing: an append that would take len past cap
 *    returns -ENOBUFS and leaves ptr, len and the terminating NUL exactly as
 *    they were. Nothing is ever written past ptr[cap].
 *  - Actions return 0 or a negative errno value; nothing is sticky.
 */
#ifndef FU_BBUF_H
#define FU_BBUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

struct bbuf {
    char *ptr;  /* the caller's array */
    size_t len; /* content bytes, ptr[len] == '\0' */
    size_t cap; /* size of the array minus one */
};

/* Use mem[0..size) as the buffer, emptied. size must be at least 1. */
void bbuf_init(struct bbuf *b, char *mem, size_t size);
/* bbuf_init() over a char array whose size the compiler knows. */
#define BBUF_INIT_ARRAY(b, array) bbuf_init((b), (array), sizeof(array))

/* Empty the buffer. */
void bbuf_reset(struct bbuf *b);
/* Cut the content back to len bytes (no-op if len >= b->len). */
void bbuf_truncate(struct bbuf *b, size_t len);
/* Bytes that can still be appended. */
size_t bbuf_avail(const struct bbuf *b);

/* Append len bytes of p. 0, or -ENOBUFS (buffer unchanged). */
int bbuf_append(struct bbuf *b, const void *p, size_t len);
/* Append the NUL-terminated string s. */
int bbuf_append_str(struct bbuf *b, const char *s);
/* Append one byte. */
int bbuf_append_char(struct bbuf *b, char c);
/* Append the decimal form of v. */
int bbuf_append_u64(struct bbuf *b, uint64_t v);
/* Append formatted text (vsnprintf rules). 0, -ENOBUFS if the whole text
 * does not fit (buffer unchanged), -EINVAL on an encoding error. */
int bbuf_printf(struct bbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int bbuf_vprintf(struct bbuf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

#endif
