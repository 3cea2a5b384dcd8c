/*
 * fuzz_multipart.c - libFuzzer target for the multipart parser (common/).
 *
 * Input layout:
 *   byte 0      mode:
 *                 bits 0-5  chunk size: 0 = the whole body in one execute(),
 *                           1..47 = that many bytes, 48..63 = (v - 47) * 64
 *                 bit 6     the body starts with a Content-Type line: the
 *                           bytes up to the first '\n' (not included) are the
 *                           Content-Type value, the rest is the body; without
 *                           it the Content-Type is FIXED_CT (boundary "XyZ")
 *                 bit 7     small limits (SMALL_LIMITS), so every limit error
 *                           is in reach of short inputs
 *   bytes 1..   the body (after the Content-Type line when bit 6 is set)
 *
 * Each input is parsed twice: in the chosen pieces and whole. The callbacks
 * check the parser's contract as they go (see struct fz) and fold every
 * event into a digest; both runs must end with the same digest, error and
 * error offset (split invariance). The data of a part enters the digest when
 * the part ends, so how much of a part cut off by an error was handed over
 * is not compared here (test_multipart.c checks that case on its own:
 * test_limit_field_bytes_split). Every header value also goes through
 * mp_disposition_parse(), and the Content-Type through mp_boundary_parse().
 * A broken invariant prints a line and abort()s, which libFuzzer reports as
 * a crash.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "multipart.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FIXED_CT "multipart/form-data; boundary=XyZ"

static const struct mp_limits SMALL_LIMITS = {
    .header_bytes = 96,
    .headers = 3,
    .parts = 3,
    .field_bytes = 24,
};

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "fuzz_multipart: invariant failed: %s (%s:%d)\n",  \
                    #cond, __FILE__, __LINE__);                                \
            abort();                                                           \
        }                                                                      \
    } while (0)

/* What one parse has seen so far. */
struct fz {
    const struct mp_limits *limits;
    size_t blen;     /* boundary length */
    const char *buf; /* the piece being fed */
    size_t buf_len;
    char delim[4 + MP_BOUNDARY_MAX]; /* "\r\n--" boundary */
    bool in_part;                    /* between part begin and part end */
    bool in_headers; /* between part begin and headers complete */
    bool body_ended; /* on_body_end seen */
    bool stopped;    /* an error is set: no callback may follow */
    unsigned parts_begun;
    unsigned flags;       /* part_flags at headers complete */
    uint64_t part_data;   /* data bytes of the current part */
    uint64_t data_total;  /* data bytes of every part */
    uint64_t overhead;    /* input bytes that cannot have been data */
    uint64_t part_hdr;    /* header bytes of the current part, a bound */
    uint64_t digest;      /* FNV-1a over every event */
    uint64_t part_digest; /* FNV-1a of the current part's data */
};

static void fnv(uint64_t *h, const void *p, size_t n)
{
    const unsigned char *u = p;
    for (size_t i = 0; i < n; i++) {
        *h ^= u[i];
        *h *= 0x100000001b3ull;
    }
}

static void mix(struct fz *f, const void *p, size_t n)
{
    fnv(&f->digest, p, n);
}

static void mix_tag(struct fz *f, char tag)
{
    mix(f, &tag, 1);
}

static bool is_tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
           (c >= 'A' && c <= 'Z') ||
           (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Bytes the parser may hand back from its own copy: delimiter, padding, a
 * "-" or CR that turned out not to end a delimiter line. */
static bool held_byte(const struct fz *f, unsigned char c)
{
    return c == ' ' || c == '\t' || c == '-' || c == '\r' || c == '\n' ||
           memchr(f->delim, c, f->blen + 4) != NULL;
}

static int on_part_begin(struct mp_parser *p)
{
    struct fz *f = p->data;
    CHECK(!f->stopped);
    CHECK(!f->in_part && !f->body_ended);
    f->parts_begun++;
    CHECK(p->parts == f->parts_begun);
    CHECK(p->parts <= f->limits->parts);
    f->in_part = true;
    f->in_headers = true;
    f->part_data = 0;
    f->part_hdr = 0;
    /* "--" boundary CRLF at least (the first delimiter has no CRLF before
     * it, later ones do, but only count the lower bound). */
    f->overhead += f->blen + 4;
    mix_tag(f, 'B');
    return 0;
}

static int on_header(struct mp_parser *p, const char *name, size_t name_len,
                     const char *value, size_t value_len)
{
    struct fz *f = p->data;
    struct mp_disposition d, d2;
    enum mp_errno e, e2;
    char *out;

    CHECK(!f->stopped);
    CHECK(f->in_part && f->in_headers);
    CHECK(name_len > 0);
    for (size_t i = 0; i < name_len; i++)
        CHECK(is_tchar((unsigned char)name[i]));
    for (size_t i = 0; i < value_len; i++) {
        unsigned char c = (unsigned char)value[i];
        CHECK(c != '\r' && c != '\n' && c != 0 && c != 0x7f);
    }
    if (value_len > 0) {
        CHECK(value[0] != ' ' && value[0] != '\t');
        CHECK(value[value_len - 1] != ' ' && value[value_len - 1] != '\t');
    }
    /* name ":" value CRLF: at least name + value + 3 input bytes */
    f->part_hdr += name_len + value_len + 3;
    f->overhead += name_len + value_len + 3;
    CHECK(f->part_hdr <= f->limits->header_bytes);

    /* The helper on every value, with and without an out buffer. */
    out = malloc(value_len ? value_len : 1);
    CHECK(out != NULL);
    e = mp_disposition_parse(value, value_len, out, value_len, &d);
    e2 = mp_disposition_parse(value, value_len, NULL, 0, &d2);
    if (e == MP_OK) {
        CHECK(e2 == MP_OK);
        CHECK(d.form_data == d2.form_data && d.has_name == d2.has_name &&
              d.has_filename == d2.has_filename);
        CHECK(!d.name == !d.has_name);
        CHECK(!d.filename == !d.has_filename);
        CHECK(d.name_len + d.filename_len <= value_len);
        if (d.name)
            CHECK(d.name >= out && d.name + d.name_len <= out + value_len);
        if (d.filename)
            CHECK(d.filename >= out &&
                  d.filename + d.filename_len <= out + value_len);
        CHECK(!d.form_data || d.has_name);
    } else {
        CHECK(e >= MP_E_DISPOSITION_SYNTAX && e <= MP_E_DISPOSITION_UTF8);
    }
    free(out);

    mix_tag(f, 'H');
    mix(f, &name_len, sizeof(name_len));
    mix(f, name, name_len);
    mix(f, &value_len, sizeof(value_len));
    mix(f, value, value_len);
    return 0;
}

static int on_headers_complete(struct mp_parser *p)
{
    struct fz *f = p->data;
    CHECK(!f->stopped);
    CHECK(f->in_part && f->in_headers);
    CHECK(p->part_bytes == 0);
    CHECK(!(p->part_flags & MP_PART_FILENAME) ||
          (p->part_flags & MP_PART_DISPOSITION));
    f->in_headers = false;
    f->flags = p->part_flags;
    f->part_digest = 0xcbf29ce484222325ull;
    f->overhead += 2; /* the blank line */
    mix_tag(f, 'C');
    mix(f, &p->part_flags, sizeof(p->part_flags));
    return 0;
}

static int on_data(struct mp_parser *p, const char *at, size_t len)
{
    struct fz *f = p->data;
    CHECK(!f->stopped);
    CHECK(f->in_part && !f->in_headers);
    CHECK(at != NULL || len == 0);
    uintptr_t a = (uintptr_t)at, b = (uintptr_t)f->buf;
    if (len > 0 &&
        !(a >= b && a - b <= f->buf_len && len <= f->buf_len - (a - b))) {
        /* Not in the caller's buffer: must be held-back delimiter bytes. */
        CHECK(len <= f->blen + 4 + MP_PADDING_MAX + 1);
        for (size_t i = 0; i < len; i++)
            CHECK(held_byte(f, (unsigned char)at[i]));
    }
    f->part_data += len;
    f->data_total += len;
    CHECK(p->part_bytes == f->part_data);
    if (!(f->flags & MP_PART_FILENAME))
        CHECK(f->part_data <= f->limits->field_bytes);
    /* the bytes only, the pieces differ between runs; folded into the
     * digest when the part ends (see the comment at the top) */
    fnv(&f->part_digest, at, len);
    return 0;
}

static int on_part_end(struct mp_parser *p)
{
    struct fz *f = p->data;
    CHECK(!f->stopped);
    CHECK(f->in_part && !f->in_headers);
    CHECK(p->part_bytes == f->part_data);
    f->in_part = false;
    mix_tag(f, 'E');
    mix(f, &f->part_data, sizeof(f->part_data));
    mix(f, &f->part_digest, sizeof(f->part_digest));
    return 0;
}

static int on_body_end(struct mp_parser *p)
{
    struct fz *f = p->data;
    CHECK(!f->stopped);
    CHECK(!f->in_part && !f->body_ended);
    f->body_ended = true;
    f->overhead += f->blen + 4; /* "--" boundary "--" */
    mix_tag(f, 'Z');
    return 0;
}

static const struct mp_callbacks fz_callbacks = {
    .on_part_begin = on_part_begin,
    .on_header = on_header,
    .on_headers_complete = on_headers_complete,
    .on_data = on_data,
    .on_part_end = on_part_end,
    .on_body_end = on_body_end,
};

struct result {
    enum mp_errno err;
    uint64_t error_offset;
    uint64_t digest;
};

/* Parse body[0..len) in pieces of chunk bytes (0: whole). */
static struct result run(const char *ct, size_t ct_len, const char *body,
                         size_t len, size_t chunk,
                         const struct mp_limits *limits)
{
    struct mp_parser p;
    struct fz f = {0};
    struct result r = {0};
    char bnd[MP_BOUNDARY_MAX];
    size_t off = 0, blen = 0;
    enum mp_errno e, eb;

    f.limits = limits;
    f.digest = 0xcbf29ce484222325ull;
    eb = mp_boundary_parse(ct, ct_len, bnd, &blen);
    e = mp_parser_init(&p, ct, ct_len, limits);
    CHECK(mp_parser_errno(&p) == e);
    if (e != MP_OK) {
        CHECK(e == eb || e == MP_E_LIMIT_INVALID);
        CHECK(mp_parser_execute(&p, &fz_callbacks, body, len) == 0);
        CHECK(mp_parser_finish(&p, &fz_callbacks) == e);
        r.err = e;
        return r;
    }
    CHECK(eb == MP_OK && blen >= 1 && blen <= MP_BOUNDARY_MAX);
    f.blen = blen;
    memcpy(f.delim, "\r\n--", 4);
    memcpy(f.delim + 4, bnd, blen);
    p.data = &f;

    while (off < len) {
        size_t n = chunk == 0 || chunk > len - off ? len - off : chunk;
        size_t got;
        f.buf = body + off;
        f.buf_len = n;
        got = mp_parser_execute(&p, &fz_callbacks, body + off, n);
        CHECK(got <= n);
        if (mp_parser_errno(&p) != MP_OK) {
            CHECK(got < n || n == 0);
            CHECK(p.error_offset <= off + n);
            break;
        }
        CHECK(got == n);
        off += n;
    }
    if (mp_parser_errno(&p) != MP_OK) {
        enum mp_errno was = mp_parser_errno(&p);
        uint64_t at = p.error_offset;
        f.stopped = true; /* sticky: no callback, no progress */
        CHECK(mp_parser_execute(&p, &fz_callbacks, body, len) == 0);
        CHECK(mp_parser_finish(&p, &fz_callbacks) == was);
        CHECK(mp_parser_errno(&p) == was && p.error_offset == at);
        CHECK(!mp_parser_body_done(&p));
        CHECK(was != MP_E_CALLBACK && was != MP_E_TRUNCATED &&
              was != MP_E_NO_DELIMITER);
    } else {
        e = mp_parser_finish(&p, &fz_callbacks);
        f.stopped = true;
        CHECK(e == mp_parser_errno(&p));
        if (f.body_ended) {
            CHECK(e == MP_OK && mp_parser_body_done(&p));
        } else {
            CHECK(e == MP_E_TRUNCATED || e == MP_E_NO_DELIMITER);
            CHECK((e == MP_E_TRUNCATED) == (f.parts_begun > 0));
            CHECK(p.error_offset == len);
        }
        /* finish is idempotent */
        CHECK(mp_parser_finish(&p, &fz_callbacks) == e);
    }
    CHECK(f.data_total + f.overhead <= len);
    r.err = mp_parser_errno(&p);
    r.error_offset = r.err == MP_OK ? 0 : p.error_offset;
    r.digest = f.digest;
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *ct = FIXED_CT, *body;
    size_t ct_len = strlen(FIXED_CT), len, chunk;
    const struct mp_limits *limits = &SMALL_LIMITS;
    struct mp_limits def = mp_limits_default();
    struct result a, b;
    unsigned mode;

    if (size == 0)
        return 0;
    mode = data[0];
    body = (const char *)data + 1;
    len = size - 1;
    chunk = mode & 0x3f;
    if (chunk >= 48)
        chunk = (chunk - 47) * 64;
    if (mode & 0x40) {
        const char *nl = memchr(body, '\n', len);
        ct = body;
        ct_len = nl ? (size_t)(nl - body) : len;
        body += nl ? ct_len + 1 : len;
        len -= nl ? ct_len + 1 : len;
    }
    if (!(mode & 0x80))
        limits = &def;

    a = run(ct, ct_len, body, len, chunk, limits);
    b = run(ct, ct_len, body, len, 0, limits);
    if (a.err != b.err || a.error_offset != b.error_offset ||
        a.digest != b.digest) {
        fprintf(stderr,
                "fuzz_multipart: split variance: chunk %zu: %s@%llu %016llx, "
                "whole: %s@%llu %016llx\n",
                chunk, mp_errno_name(a.err), (unsigned long long)a.error_offset,
                (unsigned long long)a.digest, mp_errno_name(b.err),
                (unsigned long long)b.error_offset,
                (unsigned long long)b.digest);
        abort();
    }
    return 0;
}
