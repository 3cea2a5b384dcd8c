/*
 * utf8.h - strict UTF-8 decoding (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF). Pure, no allocation.
 */
#ifndef FU_UTF8_H
#define FU_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Decode the sequence at s (avail >= 1 bytes). Returns its length 1-4 and
 * stores the code point in *cp, or returns 0 if s does not begin a valid,
 * complete sequence. */
size_t utf8_decode(const unsigned char *s, size_t avail, uint32_t *cp);

/* True when all len bytes of s are valid UTF-8. */
bool utf8_valid(const char *s, size_t len);

#endif
