/*
 * utf8.c - strict UTF-8 decoding.
 */
#include "utf8.h"

size_t utf8_decode(const unsigned char *s, size_t avail, uint32_t *cp)
{
    uint32_t c = s[0], min;
    size_t n, i;

    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        c &= 0x1f;
        min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        c &= 0x0f;
        min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        c &= 0x07;
        min = 0x10000;
    } else {
        return 0; /* continuation byte, C0/C1 overlong lead, or > F4 */
    }
    if (avail < n)
        return 0;
    for (i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return 0;
    *cp = c;
    return n;
}

bool utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, n;
    uint32_t cp;

    while (i < len) {
        n = utf8_decode(p + i, len - i, &cp);
        if (n == 0)
            return false;
        i += n;
    }
    return true;
}
