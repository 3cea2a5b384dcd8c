/*
 * hexdigit.h - the value of one hexadecimal digit (percent-decoding in
 * mp_params.c and rq_store.c). Pure, header only.
 */
#ifndef FU_HEXDIGIT_H
#define FU_HEXDIGIT_H

/* 0-15 for 0-9, a-f, A-F; -1 for any other byte. */
static inline int hex_digit_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

#endif
