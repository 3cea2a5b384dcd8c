/*
 * ctcmp.h - constant-time comparison of secrets.
 *
 * The time taken depends only on sizes fixed at compile time (FU_KEY_MAX,
 * the number of configured keys), never on where or whether the bytes
 * differ, nor on the configured keys' lengths.
 */
#ifndef FU_CTCMP_H
#define FU_CTCMP_H

#include <stdbool.h>
#include <stddef.h>

#include "mp_limits.h"

/* A configured API key, zero-padded to FU_KEY_MAX bytes. */
struct api_key {
    unsigned char bytes[FU_KEY_MAX];
    size_t len; /* FU_KEY_MIN..FU_KEY_MAX */
};

/* True when a and b, n bytes each, are equal; time depends only on n. */
bool ct_memeq(const void *a, const void *b, size_t n);

/* True when given[0..len) equals one of keys[0..nkeys). Every key is
 * compared in full whatever the outcome. A given key longer than FU_KEY_MAX
 * never matches. */
bool ct_key_match(const char *given, size_t len, const struct api_key *keys,
                  size_t nkeys);

#endif
