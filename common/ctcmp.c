/*
 * ctcmp.c - constant-time comparison; see ctcmp.h.
 */
#include "ctcmp.h"

#include <string.h>

/* OR of the XOR of every byte pair: zero iff equal, no early exit. */
static unsigned ct_diff(const unsigned char *a, const unsigned char *b,
                        size_t n)
{
    volatile unsigned acc = 0;
    size_t i;

    for (i = 0; i < n; i++)
        acc |= (unsigned)(a[i] ^ b[i]);
    return acc;
}

bool ct_memeq(const void *a, const void *b, size_t n)
{
    return ct_diff(a, b, n) == 0;
}

bool ct_key_match(const char *given, size_t len, const struct api_key *keys,
                  size_t nkeys)
{
    unsigned char padded[FU_KEY_MAX];
    volatile unsigned matched = 0;
    size_t i;

    if (len > FU_KEY_MAX)
        return false; /* the attacker knows their own length */
    memset(padded, 0, sizeof(padded));
    memcpy(padded, given, len);
    for (i = 0; i < nkeys; i++) {
        unsigned diff = ct_diff(padded, keys[i].bytes, FU_KEY_MAX);
        /* the length is folded in, not tested first: a comparison gives a
         * flag (setne), not a branch */
        diff |= (unsigned)(len != keys[i].len);
        matched |= (unsigned)(diff == 0);
    }
    return matched != 0;
}
