/*
 * transcript.c - the multipart parser's callback transcript for the unit
 * tests; the format and the contract are in transcript.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "transcript.h"

static void rec_putn(struct transcript_rec *r, const char *s, size_t n)
{
    if (r->len + n + 1 > r->cap) {
        size_t cap = r->cap ? r->cap : 256;
        while (r->len + n + 1 > cap)
            cap *= 2;
        r->s = realloc(r->s, cap);
        assert_non_null(r->s);
        r->cap = cap;
    }
    memcpy(r->s + r->len, s, n);
    r->len += n;
    r->s[r->len] = '\0';
}

static void rec_printf(struct transcript_rec *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void rec_printf(struct transcript_rec *r, const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    int n;

    va_start(ap, fmt);
    /* clang-tidy 14 reports ap as uninitialized when it analyses several
     * files in one run (a false positive: va_start is right above) */
    /* NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized) */
    n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    assert_true(n >= 0 && (size_t)n < sizeof(buf));
    rec_putn(r, buf, (size_t)n);
}

/* Bytes as a C-like string: printable ASCII as is, \r \n \t, else \xHH. */
static void rec_escaped(struct transcript_rec *r, const void *p, size_t n)
{
    const unsigned char *u = p;
    rec_putn(r, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = u[i];
        if (c == '\r')
            rec_putn(r, "\\r", 2);
        else if (c == '\n')
            rec_putn(r, "\\n", 2);
        else if (c == '\t')
            rec_putn(r, "\\t", 2);
        else if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            rec_putn(r, e, 2);
        } else if (c < 0x20 || c >= 0x7f) {
            char e[4] = {'\\', 'x', "0123456789abcdef"[c >> 4],
                         "0123456789abcdef"[c & 0xf]};
            rec_putn(r, e, 4);
        } else
            rec_putn(r, (const char *)&c, 1);
    }
    rec_putn(r, "\"", 1);
}

/* Write the data collected since the last event as one line. */
static void rec_flush_data(struct transcript_rec *r)
{
    if (!r->data_open)
        return;
    if (r->data_len <= TRANSCRIPT_PEND_MAX) {
        rec_printf(r, "data %llu ", (unsigned long long)r->data_len);
        rec_escaped(r, r->pend, (size_t)r->data_len);
        rec_putn(r, "\n", 1);
    } else {
        rec_printf(r, "data %llu fnv=%016llx\n",
                   (unsigned long long)r->data_len, (unsigned long long)r->fnv);
    }
    r->data_open = false;
}

static int rec_stop(struct transcript_rec *r, enum transcript_stop here)
{
    r->calls++;
    if (r->stop_at == here) {
        if (here == TRANSCRIPT_STOP_DATA)
            rec_flush_data(r);
        else if (here == TRANSCRIPT_STOP_HEADERS_COMPLETE)
            r->data_open = false; /* no data will come */
        rec_printf(r, "(stop)\n");
        return 1;
    }
    return 0;
}

static int rec_begin(struct mp_parser *p)
{
    struct transcript_rec *r = p->data;
    rec_flush_data(r);
    rec_printf(r, "begin %u\n", p->parts);
    return rec_stop(r, TRANSCRIPT_STOP_BEGIN);
}

static int rec_header(struct mp_parser *p, const char *name, size_t name_len,
                      const char *value, size_t value_len)
{
    struct transcript_rec *r = p->data;
    rec_putn(r, "header ", 7);
    rec_escaped(r, name, name_len);
    rec_putn(r, " ", 1);
    rec_escaped(r, value, value_len);
    rec_putn(r, "\n", 1);
    return rec_stop(r, TRANSCRIPT_STOP_HEADER);
}

static int rec_headers_complete(struct mp_parser *p)
{
    struct transcript_rec *r = p->data;
    rec_printf(r, "headers flags=%u\n", p->part_flags);
    r->data_open = true;
    r->data_len = 0;
    r->fnv = 0xcbf29ce484222325ull;
    return rec_stop(r, TRANSCRIPT_STOP_HEADERS_COMPLETE);
}

static int rec_data(struct mp_parser *p, const char *at, size_t len)
{
    struct transcript_rec *r = p->data;
    const unsigned char *u = (const unsigned char *)at;
    if (!r->data_open) {
        rec_printf(r, "data outside a part!\n");
        r->data_open = true;
    }
    for (size_t i = 0; i < len; i++) {
        if (r->data_len + i < TRANSCRIPT_PEND_MAX)
            r->pend[r->data_len + i] = u[i];
        r->fnv = (r->fnv ^ u[i]) * 0x100000001b3ull;
    }
    r->data_len += len;
    return rec_stop(r, TRANSCRIPT_STOP_DATA);
}

static int rec_part_end(struct mp_parser *p)
{
    struct transcript_rec *r = p->data;
    rec_flush_data(r);
    rec_printf(r, "end %llu\n", (unsigned long long)p->part_bytes);
    return rec_stop(r, TRANSCRIPT_STOP_PART_END);
}

static int rec_body_end(struct mp_parser *p)
{
    struct transcript_rec *r = p->data;
    rec_flush_data(r);
    rec_printf(r, "body_end\n");
    return rec_stop(r, TRANSCRIPT_STOP_BODY_END);
}

const struct mp_callbacks transcript_cbs = {
    .on_part_begin = rec_begin,
    .on_header = rec_header,
    .on_headers_complete = rec_headers_complete,
    .on_data = rec_data,
    .on_part_end = rec_part_end,
    .on_body_end = rec_body_end,
};

void transcript_result(struct transcript_rec *r, const struct mp_parser *p)
{
    enum mp_errno e = mp_parser_errno(p);
    rec_flush_data(r);
    if (e == MP_OK)
        rec_printf(r, "result OK\n");
    else
        rec_printf(r, "result %s@%llu\n", mp_errno_name(e),
                   (unsigned long long)p->error_offset);
}
