/*
 * sanitize.c - see sanitize.h.
 */
#include "sanitize.h"

#include <stdint.h>
#include <string.h>

#include "mp_limits.h"
#include "utf8.h"

static bool drop_code_point(uint32_t cp)
{
    return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) ||
           (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

size_t filename_sanitize(const char *in, size_t len, char *out, size_t cap)
{
    const unsigned char *p = (const unsigned char *)in;
    size_t i, start = 0, n, o = 0;
    uint32_t cp;

    if (cap == 0)
        return 0;
    for (i = 0; i < len; i++)
        if (p[i] == '/' || p[i] == '\\')
            start = i + 1;
    for (i = start; i < len; i += n) {
        n = utf8_decode(p + i, len - i, &cp);
        if (n == 0) {
            n = 1;
            if (o + 1 > cap - 1)
                break;
            out[o++] = '_';
            continue;
        }
        if (drop_code_point(cp))
            continue;
        if (o + n > cap - 1)
            break;
        memcpy(out + o, p + i, n);
        o += n;
    }
    /* trim spaces at both ends */
    while (o > 0 && out[o - 1] == ' ')
        o--;
    for (i = 0; i < o && out[i] == ' '; i++)
        ;
    if (i)
        memmove(out, out + i, o - i);
    o -= i;
    if ((o == 1 && out[0] == '.') || (o == 2 && out[0] == '.' && out[1] == '.'))
        o = 0;
    out[o] = '\0';
    return o;
}

bool request_id_valid(const char *s, size_t len)
{
    size_t i;

    if (len == 0 || len > FU_REQUEST_ID_MAX)
        return false;
    for (i = 0; i < len; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  (c >= '0' && c <= '9') || c == '.' || c == '_' || c == ':' ||
                  c == '+' || c == '/' || c == '=' || c == '-';
        if (!ok)
            return false;
    }
    return true;
}

static bool is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
           (c >= 'A' && c <= 'F');
}

bool uuid_text_valid(const char *s, size_t len)
{
    size_t i;

    if (len != 36)
        return false;
    for (i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return false;
        } else if (!is_hex(s[i])) {
            return false;
        }
    }
    return true;
}
