/*
 * test_multipart.c - unit tests of the multipart parser API (common/).
 *
 * Covers mp_boundary_parse(), mp_disposition_parse(), every limit, every
 * error name (a table of inputs that must reach each one: an error added to
 * MP_ERRNO_MAP without a case here fails test_every_error_has_a_case),
 * mp_errno_name()/mp_errno_message(), sticky errors, error offsets, callbacks
 * that stop the parser, and callback transcripts of small bodies (the
 * recorder is support/transcript.c, shared with test_splits.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "multipart.h"
#include "support/transcript.h"

#define CT  "multipart/form-data; boundary=XyZ"
#define CD  "Content-Disposition: form-data; name=\"a\"\r\n"
#define CDF "Content-Disposition: form-data; name=\"f\"; filename=\"f.txt\"\r\n"
#define SP8 "        "
#define B70                                                                    \
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_+.0123"

/*
 * Parse body with ct and limits (NULL: defaults), fed in pieces of chunk
 * bytes (0: whole), then finish. Returns the error; *r holds the transcript
 * (the caller frees r->s).
 */
static enum mp_errno parse(const char *ct, const char *body, size_t len,
                           const struct mp_limits *limits, size_t chunk,
                           struct transcript_rec *r, struct mp_parser *p)
{
    size_t off = 0;
    enum mp_errno e = mp_parser_init(p, ct, strlen(ct), limits);

    p->data = r;
    if (e != MP_OK) {
        transcript_result(r, p);
        return e;
    }
    while (off < len) {
        size_t n = chunk == 0 || chunk > len - off ? len - off : chunk;
        if (mp_parser_execute(p, &transcript_cbs, body + off, n) != n)
            break;
        off += n;
    }
    mp_parser_finish(p, &transcript_cbs);
    transcript_result(r, p);
    return mp_parser_errno(p);
}

/* parse() whole and bytewise; both transcripts must equal want. */
static void check_transcript(const char *ct, const char *body, size_t len,
                             const struct mp_limits *limits, const char *want)
{
    size_t chunks[] = {0, 1, 2, 3, 7};
    for (size_t k = 0; k < sizeof(chunks) / sizeof(chunks[0]); k++) {
        struct transcript_rec r = {0};
        struct mp_parser p;
        parse(ct, body, len, limits, chunks[k], &r, &p);
        if (strcmp(r.s, want) != 0)
            fail_msg("chunk %zu: transcript\n%s\nwanted\n%s", chunks[k], r.s,
                     want);
        free(r.s);
    }
}

#define BODY(s) (s), sizeof(s) - 1

/* ---- mp_boundary_parse --------------------------------------------------- */

static void boundary_ok(const char *ct, const char *want)
{
    char out[MP_BOUNDARY_MAX];
    size_t n = 0;
    enum mp_errno e = mp_boundary_parse(ct, strlen(ct), out, &n);
    struct mp_parser p;

    if (e != MP_OK)
        fail_msg("'%s': %s, wanted boundary '%s'", ct, mp_errno_name(e), want);
    if (n != strlen(want) || memcmp(out, want, n) != 0)
        fail_msg("'%s': boundary '%.*s' (%zu), wanted '%s'", ct, (int)n, out, n,
                 want);
    assert_int_equal(mp_parser_init(&p, ct, strlen(ct), NULL), MP_OK);
}

static void boundary_err(const char *ct, size_t len, enum mp_errno want)
{
    char out[MP_BOUNDARY_MAX];
    size_t n = 0;
    enum mp_errno e = mp_boundary_parse(ct, len, out, &n);
    struct mp_parser p;

    if (e != want)
        fail_msg("'%.*s': %s, wanted %s", (int)len, ct, mp_errno_name(e),
                 mp_errno_name(want));
    /* init reports the same error, sticky, and feeds nothing */
    assert_int_equal(mp_parser_init(&p, ct, len, NULL), want);
    assert_int_equal(mp_parser_errno(&p), want);
    assert_int_equal(mp_parser_execute(&p, &transcript_cbs, "--x\r\n", 5), 0);
    assert_int_equal(mp_parser_finish(&p, &transcript_cbs), want);
}

#define BOUNDARY_ERR(ct, e) boundary_err((ct), strlen(ct), (e))

static void test_boundary_token_and_quoted(void **state)
{
    (void)state;
    boundary_ok("multipart/form-data; boundary=abc", "abc");
    boundary_ok("multipart/form-data;boundary=abc", "abc");
    boundary_ok(" multipart/form-data ;  boundary=abc  ", "abc");
    boundary_ok("multipart/form-data; boundary=abc;", "abc");
    boundary_ok("multipart/form-data; boundary=\"abc\"", "abc");
    /* bchars that are not token characters need the quotes */
    boundary_ok("multipart/form-data; boundary=\"a b'()+_,-./:=?z\"",
                "a b'()+_,-./:=?z");
    boundary_ok("multipart/form-data; boundary=----WebKitFormBoundaryTkr3k",
                "----WebKitFormBoundaryTkr3k");
    boundary_ok("multipart/form-data; boundary=u2KxIV5yF1y+xUspOQ",
                "u2KxIV5yF1y+xUspOQ");
}

static void test_boundary_case_insensitive(void **state)
{
    (void)state;
    boundary_ok("MULTIPART/FORM-DATA; boundary=abc", "abc");
    boundary_ok("Multipart/Form-Data; BOUNDARY=abc", "abc");
    boundary_ok("multipart/form-data; Boundary=AbC", "AbC"); /* value kept */
}

static void test_boundary_other_params(void **state)
{
    (void)state;
    boundary_ok("multipart/form-data; charset=utf-8; boundary=abc", "abc");
    boundary_ok("multipart/form-data; a=\"x;y\"; boundary=abc", "abc");
    boundary_ok("multipart/form-data; boundary=abc; charset=utf-8", "abc");
    boundary_ok("multipart/form-data; boundary=abcdef; foo=\"bar\"", "abcdef");
    boundary_ok("multipart/form-data; boundary=ab; charset=utf-8", "ab");
    boundary_ok("multipart/form-data; boundary=\"a b\"; x=y; z=\"w\"", "a b");
}

static void test_boundary_length(void **state)
{
    (void)state;
    boundary_ok("multipart/form-data; boundary=" B70, B70);
    boundary_ok("multipart/form-data; boundary=\"" B70 "\"", B70);
    boundary_ok("multipart/form-data; boundary=x", "x");
    BOUNDARY_ERR("multipart/form-data; boundary=" B70 "4",
                 MP_E_BOUNDARY_LENGTH);
    BOUNDARY_ERR("multipart/form-data; boundary=\"" B70 "4\"",
                 MP_E_BOUNDARY_LENGTH);
    BOUNDARY_ERR("multipart/form-data; boundary=\"\"", MP_E_BOUNDARY_LENGTH);
    /* an empty token is no value at all */
    BOUNDARY_ERR("multipart/form-data; boundary=", MP_E_CT_SYNTAX);
    BOUNDARY_ERR("multipart/form-data; boundary=; x=y", MP_E_CT_SYNTAX);
}

static void test_boundary_chars(void **state)
{
    (void)state;
    BOUNDARY_ERR("multipart/form-data; boundary=a!b", MP_E_BOUNDARY_CHAR);
    BOUNDARY_ERR("multipart/form-data; boundary=\"a@b\"", MP_E_BOUNDARY_CHAR);
    BOUNDARY_ERR("multipart/form-data; boundary=\"a\\\"b\"",
                 MP_E_BOUNDARY_CHAR);
    BOUNDARY_ERR("multipart/form-data; boundary=\"a\tb\"", MP_E_BOUNDARY_CHAR);
    BOUNDARY_ERR("multipart/form-data; boundary=\"abc \"", MP_E_BOUNDARY_CHAR);
    BOUNDARY_ERR("multipart/form-data; boundary=\" \"", MP_E_BOUNDARY_CHAR);
    BOUNDARY_ERR("multipart/form-data; boundary=\"a\xc3\xa4\"",
                 MP_E_BOUNDARY_CHAR);
}

static void test_boundary_duplicate_missing(void **state)
{
    (void)state;
    BOUNDARY_ERR("multipart/form-data; boundary=a; boundary=b",
                 MP_E_BOUNDARY_DUPLICATE);
    BOUNDARY_ERR("multipart/form-data; boundary=a; BOUNDARY=a",
                 MP_E_BOUNDARY_DUPLICATE);
    BOUNDARY_ERR("multipart/form-data", MP_E_BOUNDARY_MISSING);
    BOUNDARY_ERR("multipart/form-data;", MP_E_BOUNDARY_MISSING);
    BOUNDARY_ERR("multipart/form-data; charset=utf-8", MP_E_BOUNDARY_MISSING);
    BOUNDARY_ERR("multipart/form-data; boundaryx=a", MP_E_BOUNDARY_MISSING);
}

static void test_boundary_not_multipart(void **state)
{
    (void)state;
    BOUNDARY_ERR("", MP_E_CT_NOT_MULTIPART);
    BOUNDARY_ERR("text/plain; boundary=abc", MP_E_CT_NOT_MULTIPART);
    BOUNDARY_ERR("multipart/mixed; boundary=abc", MP_E_CT_NOT_MULTIPART);
    BOUNDARY_ERR("multipart/form-datax; boundary=abc", MP_E_CT_NOT_MULTIPART);
    BOUNDARY_ERR("multipart; boundary=abc", MP_E_CT_NOT_MULTIPART);
    BOUNDARY_ERR("multipart/", MP_E_CT_NOT_MULTIPART);
    BOUNDARY_ERR("form-data; boundary=abc", MP_E_CT_NOT_MULTIPART);
    /* the length given is what counts, not a NUL */
    boundary_err("multipart/form-data; boundary=abc", 9, MP_E_CT_NOT_MULTIPART);
}

static void test_boundary_syntax(void **state)
{
    (void)state;
    BOUNDARY_ERR("multipart/form-data boundary=abc", MP_E_CT_SYNTAX);
    BOUNDARY_ERR("multipart/form-data; boundary", MP_E_CT_SYNTAX);
    BOUNDARY_ERR("multipart/form-data; boundary = abc", MP_E_CT_SYNTAX);
    BOUNDARY_ERR("multipart/form-data; boundary=\"abc", MP_E_CT_SYNTAX);
    BOUNDARY_ERR("multipart/form-data; boundary=abc def", MP_E_CT_SYNTAX);
    BOUNDARY_ERR("multipart/form-data; =abc", MP_E_CT_SYNTAX);
    BOUNDARY_ERR("multipart/form-data/x; boundary=abc", MP_E_CT_SYNTAX);
}

/*
 * A long parameter after a 70-character boundary. Kept as its own test: a
 * parser that takes the boundary length from the last parameter reads past
 * its 70-byte buffer here, which AddressSanitizer turns into a crash.
 */
static void test_boundary_long_param_after(void **state)
{
    (void)state;
    boundary_ok("multipart/form-data; boundary=" B70 "; x=" B70 B70, B70);
}

/* ---- mp_disposition_parse ------------------------------------------------ */

struct disp_want {
    const char *value;
    enum mp_errno err;
    bool form_data;
    const char *name;     /* NULL: no name */
    const char *filename; /* NULL: no filename */
};

static void disp_check(const struct disp_want *w)
{
    size_t len = strlen(w->value);
    char *out = malloc(len ? len : 1);
    struct mp_disposition d, dn;
    enum mp_errno e, en;

    assert_non_null(out);
    e = mp_disposition_parse(w->value, len, out, len, &d);
    if (e != w->err)
        fail_msg("'%s': %s, wanted %s", w->value, mp_errno_name(e),
                 mp_errno_name(w->err));
    if (e == MP_OK) {
        if (d.form_data != w->form_data)
            fail_msg("'%s': form_data %d", w->value, d.form_data);
        if (d.has_name != (w->name != NULL) ||
            (w->name && (d.name_len != strlen(w->name) ||
                         memcmp(d.name, w->name, d.name_len) != 0)))
            fail_msg("'%s': name '%.*s', wanted '%s'", w->value,
                     (int)d.name_len, d.name ? d.name : "",
                     w->name ? w->name : "(none)");
        if (d.has_filename != (w->filename != NULL) ||
            (w->filename &&
             (d.filename_len != strlen(w->filename) ||
              memcmp(d.filename, w->filename, d.filename_len) != 0)))
            fail_msg("'%s': filename '%.*s', wanted '%s'", w->value,
                     (int)d.filename_len, d.filename ? d.filename : "",
                     w->filename ? w->filename : "(none)");
    }
    /* out == NULL: the same verdict and flags, no strings (the UTF-8 check
     * has its own test, test_disposition_null_out_checks_utf8) */
    en = mp_disposition_parse(w->value, len, NULL, 0, &dn);
    if (en != e && e != MP_E_DISPOSITION_UTF8)
        fail_msg("'%s': %s with out, %s without: out == NULL must validate "
                 "the same way",
                 w->value, mp_errno_name(e), mp_errno_name(en));
    if (en == MP_OK && e == MP_OK) {
        assert_int_equal(dn.form_data, d.form_data);
        assert_int_equal(dn.has_name, d.has_name);
        assert_int_equal(dn.has_filename, d.has_filename);
        assert_null(dn.name);
        assert_null(dn.filename);
    }
    free(out);
}

static void disp_table(const struct disp_want *t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        disp_check(&t[i]);
}

#define DISP_TABLE(t) disp_table((t), sizeof(t) / sizeof((t)[0]))

static void test_disposition_basic(void **state)
{
    static const struct disp_want t[] = {
        {"form-data; name=\"a\"", MP_OK, true, "a", NULL},
        {"form-data; name=a", MP_OK, true, "a", NULL},
        {"Form-Data; name=a", MP_OK, true, "a", NULL},
        {"FORM-DATA; NAME=a", MP_OK, true, "a", NULL},
        {"  form-data ;name=a ; ", MP_OK, true, "a", NULL},
        {"form-data; name = \"a\"", MP_OK, true, "a", NULL},
        {"form-data; name=\"\"", MP_OK, true, "", NULL},
        {"form-data; name=field_1.x-y", MP_OK, true, "field_1.x-y", NULL},
        {"form-data; name=\"a b;c=d\"", MP_OK, true, "a b;c=d", NULL},
        {"form-data; name=a; filename=\"f.txt\"", MP_OK, true, "a", "f.txt"},
        {"form-data; filename=\"f.txt\"; name=a", MP_OK, true, "a", "f.txt"},
        {"form-data; name=a; filename=\"\"", MP_OK, true, "a", ""},
        {"form-data; name=a; size=3; creation-date=\"x\"", MP_OK, true, "a",
         NULL},
        /* raw UTF-8 inside the quotes is kept as is (browsers send it) */
        {"form-data; name=a; filename=\"\xe3\x83\x86.dat\"", MP_OK, true, "a",
         "\xe3\x83\x86.dat"},
        /* the type is the parser's business: any token is fine here */
        {"attachment; filename=a", MP_OK, false, NULL, "a"},
        {"inline", MP_OK, false, NULL, NULL},
    };
    (void)state;
    DISP_TABLE(t);
}

static void test_disposition_escapes(void **state)
{
    static const struct disp_want t[] = {
        {"form-data; name=\"a\\\"b\"", MP_OK, true, "a\"b", NULL},
        {"form-data; name=\"a\\\\b\"", MP_OK, true, "a\\b", NULL},
        {"form-data; name=a; filename=\"\\\"q\\\".txt\"", MP_OK, true, "a",
         "\"q\".txt"},
        /* a backslash before another character stays: Windows paths as
         * browsers and curl send them (conformance case 046) */
        {"form-data; name=a; filename=\"C:\\files\\a.txt\"", MP_OK, true, "a",
         "C:\\files\\a.txt"},
        {"form-data; name=\"a\tb\"", MP_OK, true, "a\tb", NULL},
        {"form-data; name=\"a\x01\"", MP_E_DISPOSITION_SYNTAX, false, NULL,
         NULL},
        {"form-data; name=\"a\x7f\"", MP_E_DISPOSITION_SYNTAX, false, NULL,
         NULL},
    };
    (void)state;
    DISP_TABLE(t);
}

static void test_disposition_filename_star(void **state)
{
    static const struct disp_want t[] = {
        {"form-data; name=a; filename*=UTF-8''%C3%A4", MP_OK, true, "a",
         "\xc3\xa4"},
        {"form-data; name=a; filename*=utf-8''n%c3%a4me.txt", MP_OK, true, "a",
         "n\xc3\xa4me.txt"},
        {"form-data; name=a; filename*=UTF-8'en-us'a%20b", MP_OK, true, "a",
         "a b"},
        /* filename* wins over filename, whichever comes first */
        {"form-data; name=a; filename=\"x.txt\"; filename*=UTF-8''%C3%A4",
         MP_OK, true, "a", "\xc3\xa4"},
        {"form-data; name=a; filename*=UTF-8''%C3%A4; filename=\"x.txt\"",
         MP_OK, true, "a", "\xc3\xa4"},
        {"form-data; filename*=UTF-8''y; name=a; filename=x", MP_OK, true, "a",
         "y"},
        /* ISO-8859-1 is converted to UTF-8 */
        {"form-data; name=a; filename*=iso-8859-1'en'%E4.txt", MP_OK, true, "a",
         "\xc3\xa4.txt"},
        {"form-data; name=a; filename*=ISO-8859-1''%FF%41", MP_OK, true, "a",
         "\xc3\xbf"
         "A"},
    };
    (void)state;
    DISP_TABLE(t);
}

static void test_disposition_filename_star_errors(void **state)
{
    static const struct disp_want t[] = {
        {"form-data; name=a; filename*=UTF-8''%FF", MP_E_DISPOSITION_UTF8,
         false, NULL, NULL},
        {"form-data; name=a; filename*=UTF-8''%C3", MP_E_DISPOSITION_UTF8,
         false, NULL, NULL},
        {"form-data; name=a; filename*=UTF-8''%C0%AF", MP_E_DISPOSITION_UTF8,
         false, NULL, NULL}, /* overlong "/" */
        {"form-data; name=a; filename*=UTF-8''%ED%A0%80", MP_E_DISPOSITION_UTF8,
         false, NULL, NULL}, /* surrogate */
        {"form-data; name=a; filename*=UTF-8''%F4%90%80%80",
         MP_E_DISPOSITION_UTF8, false, NULL, NULL}, /* > U+10FFFF */
        {"form-data; name=a; filename*=koi8-r''abc", MP_E_DISPOSITION_CHARSET,
         false, NULL, NULL},
        {"form-data; name=a; filename*=utf8''abc", MP_E_DISPOSITION_CHARSET,
         false, NULL, NULL},
        {"form-data; name=a; filename*=UTF-8'x", MP_E_DISPOSITION_SYNTAX, false,
         NULL, NULL},
        {"form-data; name=a; filename*=UTF-8''", MP_E_DISPOSITION_SYNTAX, false,
         NULL, NULL},
        {"form-data; name=a; filename*=UTF-8''%4", MP_E_DISPOSITION_SYNTAX,
         false, NULL, NULL},
        {"form-data; name=a; filename*=UTF-8''%G0", MP_E_DISPOSITION_SYNTAX,
         false, NULL, NULL},
        {"form-data; name=a; filename*=\"UTF-8''abc\"", MP_E_DISPOSITION_SYNTAX,
         false, NULL, NULL},
        {"form-data; name=a; filename*=''abc", MP_E_DISPOSITION_SYNTAX, false,
         NULL, NULL},
    };
    (void)state;
    DISP_TABLE(t);
}

/*
 * "out may be NULL to only validate": validation must not depend on out.
 * The parser calls mp_disposition_parse() with out == NULL, so a filename*
 * that is not UTF-8 must be caught without an out buffer too, or the parser
 * accepts a part that the handler's own call then rejects.
 */
static void test_disposition_null_out_checks_utf8(void **state)
{
    static const char *const bad[] = {
        "form-data; name=a; filename*=UTF-8''%FF",
        "form-data; name=a; filename*=UTF-8''%C0%AF",
        "form-data; name=a; filename*=UTF-8''%ED%A0%80",
    };
    struct mp_disposition d;
    struct transcript_rec r = {0};
    struct mp_parser p;
    char body[256];
    int n;
    (void)state;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        enum mp_errno e =
            mp_disposition_parse(bad[i], strlen(bad[i]), NULL, 0, &d);
        if (e != MP_E_DISPOSITION_UTF8)
            fail_msg("'%s' with out == NULL: %s, wanted DISPOSITION_UTF8",
                     bad[i], mp_errno_name(e));
    }
    /* and so the parser rejects such a part */
    n = snprintf(body, sizeof(body),
                 "--XyZ\r\nContent-Disposition: %s\r\n\r\nx\r\n--XyZ--",
                 bad[0]);
    assert_true(n > 0 && (size_t)n < sizeof(body));
    assert_int_equal(parse(CT, body, (size_t)n, NULL, 0, &r, &p),
                     MP_E_DISPOSITION_UTF8);
    free(r.s);
}

static void test_disposition_syntax_errors(void **state)
{
    static const struct disp_want t[] = {
        {"", MP_E_DISPOSITION_SYNTAX, false, NULL, NULL},
        {"; name=a", MP_E_DISPOSITION_SYNTAX, false, NULL, NULL},
        {"form-data name=a", MP_E_DISPOSITION_SYNTAX, false, NULL, NULL},
        {"form-data; name", MP_E_DISPOSITION_SYNTAX, false, NULL, NULL},
        {"form-data; name=", MP_E_DISPOSITION_SYNTAX, false, NULL, NULL},
        {"form-data; =a", MP_E_DISPOSITION_SYNTAX, false, NULL, NULL},
        {"form-data; name=\"a", MP_E_DISPOSITION_SYNTAX, false, NULL, NULL},
        {"form-data; name=a b", MP_E_DISPOSITION_SYNTAX, false, NULL, NULL},
        {"form-data; name=a; name=b", MP_E_DISPOSITION_SYNTAX, false, NULL,
         NULL},
        {"form-data; name=a; filename=x; filename=y", MP_E_DISPOSITION_SYNTAX,
         false, NULL, NULL},
        {"form-data; name=a,b", MP_E_DISPOSITION_SYNTAX, false, NULL, NULL},
    };
    (void)state;
    DISP_TABLE(t);
}

static void test_disposition_no_name(void **state)
{
    static const struct disp_want t[] = {
        {"form-data", MP_E_DISPOSITION_NO_NAME, false, NULL, NULL},
        {"form-data;", MP_E_DISPOSITION_NO_NAME, false, NULL, NULL},
        {"form-data; filename=\"a.txt\"", MP_E_DISPOSITION_NO_NAME, false, NULL,
         NULL},
        {"form-data; Name2=a", MP_E_DISPOSITION_NO_NAME, false, NULL, NULL},
    };
    (void)state;
    DISP_TABLE(t);
}

static void test_disposition_out_buffer(void **state)
{
    const char *v = "form-data; name=\"abc\"; filename*=UTF-8''%C3%A4";
    size_t len = strlen(v);
    char out[128];
    struct mp_disposition d;
    (void)state;

    memset(out, 'X', sizeof(out));
    assert_int_equal(mp_disposition_parse(v, len, out, len, &d), MP_OK);
    /* strings point into out and stay inside its first len bytes */
    assert_true(d.name >= out && d.name + d.name_len <= out + len);
    assert_true(d.filename >= out && d.filename + d.filename_len <= out + len);
    assert_memory_equal(d.name, "abc", 3);
    /* an out buffer shorter than the value is refused */
    assert_int_equal(mp_disposition_parse(v, len, out, len - 1, &d),
                     MP_E_DISPOSITION_SYNTAX);
}

/* ---- limits ----------------------------------------------------------------
 */

static enum mp_errno run_limits(const char *body, size_t len,
                                const struct mp_limits *l, uint64_t *at)
{
    struct transcript_rec r = {0};
    struct mp_parser p;
    enum mp_errno e = parse(CT, body, len, l, 0, &r, &p);
    struct transcript_rec r1 = {0};
    struct mp_parser p1;

    /* the same verdict bytewise */
    assert_int_equal(parse(CT, body, len, l, 1, &r1, &p1), e);
    assert_int_equal(p1.error_offset, p.error_offset);
    *at = p.error_offset;
    free(r.s);
    free(r1.s);
    return e;
}

static void test_limits_defaults(void **state)
{
    struct mp_limits d = mp_limits_default();
    struct mp_parser p;
    (void)state;

    assert_int_equal(d.header_bytes, MP_DEFAULT_HEADER_BYTES);
    assert_int_equal(d.headers, MP_DEFAULT_HEADERS);
    assert_int_equal(d.parts, MP_DEFAULT_PARTS);
    assert_int_equal(d.field_bytes, MP_DEFAULT_FIELD_BYTES);
    assert_true(d.header_bytes <= MP_HEADER_BYTES_CAP);
    assert_int_equal(mp_parser_init(&p, CT, strlen(CT), &d), MP_OK);
    assert_int_equal(mp_parser_init(&p, CT, strlen(CT), NULL), MP_OK);
}

static void test_limits_invalid(void **state)
{
    struct mp_limits l;
    struct mp_parser p;
    (void)state;

    l = mp_limits_default();
    l.header_bytes = 0;
    assert_int_equal(mp_parser_init(&p, CT, strlen(CT), &l),
                     MP_E_LIMIT_INVALID);
    assert_int_equal(mp_parser_errno(&p), MP_E_LIMIT_INVALID);
    assert_int_equal(mp_parser_execute(&p, &transcript_cbs, "--XyZ--", 7), 0);
    assert_int_equal(mp_parser_finish(&p, &transcript_cbs), MP_E_LIMIT_INVALID);
    l = mp_limits_default();
    l.header_bytes = MP_HEADER_BYTES_CAP + 1;
    assert_int_equal(mp_parser_init(&p, CT, strlen(CT), &l),
                     MP_E_LIMIT_INVALID);
    l.header_bytes = MP_HEADER_BYTES_CAP;
    assert_int_equal(mp_parser_init(&p, CT, strlen(CT), &l), MP_OK);
    l = mp_limits_default();
    l.headers = 0;
    assert_int_equal(mp_parser_init(&p, CT, strlen(CT), &l),
                     MP_E_LIMIT_INVALID);
    l = mp_limits_default();
    l.parts = 0;
    assert_int_equal(mp_parser_init(&p, CT, strlen(CT), &l),
                     MP_E_LIMIT_INVALID);
    l = mp_limits_default();
    l.field_bytes = 0;
    assert_int_equal(mp_parser_init(&p, CT, strlen(CT), &l),
                     MP_E_LIMIT_INVALID);
    /* limits are checked before the Content-Type */
    assert_int_equal(mp_parser_init(&p, "text/plain", 10, &l),
                     MP_E_LIMIT_INVALID);
    /* 1 is the smallest valid value of each */
    l.header_bytes = l.headers = l.parts = 1;
    l.field_bytes = 1;
    assert_int_equal(mp_parser_init(&p, CT, strlen(CT), &l), MP_OK);
}

/* The header block of this part is 42 bytes: 38 + CRLF + CRLF. */
#define HDR42 "--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\nv\r\n"

static void test_limit_header_bytes(void **state)
{
    struct mp_limits l = mp_limits_default();
    uint64_t at;
    (void)state;

    l.header_bytes = 42;
    assert_int_equal(run_limits(BODY(HDR42 HDR42 "--XyZ--"), &l, &at), MP_OK);
    l.header_bytes = 41;
    assert_int_equal(run_limits(BODY(HDR42 "--XyZ--"), &l, &at),
                     MP_E_HEADERS_TOO_LARGE);
    assert_int_equal(at, 7 + 41); /* the 42nd header byte, the final LF */
    /* the count starts afresh with each part */
    l.header_bytes = 42;
    assert_int_equal(
        run_limits(BODY(HDR42 HDR42 HDR42 HDR42 "--XyZ--"), &l, &at), MP_OK);
    /* folded lines count in full (this block is 30 bytes) */
    l.header_bytes = 29;
    assert_int_equal(
        run_limits(BODY("--XyZ\r\nX: 1234567890\r\n 1234567890\r\n\r\n"), &l,
                   &at),
        MP_E_HEADERS_TOO_LARGE);
    assert_int_equal(at, 7 + 29);
}

static void test_limit_headers(void **state)
{
    struct mp_limits l = mp_limits_default();
    uint64_t at;
    static const char body[] = "--XyZ\r\n" CD "X-A: 1\r\n"
                               "X-B: 2\r\n\r\nv\r\n--XyZ--";
    (void)state;

    l.headers = 3;
    assert_int_equal(run_limits(BODY(body), &l, &at), MP_OK);
    l.headers = 2;
    assert_int_equal(run_limits(BODY(body), &l, &at), MP_E_TOO_MANY_HEADERS);
    assert_int_equal(at, 7 + strlen(CD) + 8); /* the "X" of "X-B" */
    /* folded lines are one header */
    l.headers = 1;
    assert_int_equal(
        run_limits(BODY("--XyZ\r\nContent-Disposition: form-data;\r\n "
                        "name=a\r\n\r\nv\r\n--XyZ--"),
                   &l, &at),
        MP_OK);
}

static void test_limit_parts(void **state)
{
    struct mp_limits l = mp_limits_default();
    uint64_t at;
    static const char part[] = "--XyZ\r\n" CD "\r\nv\r\n";
    static const char body[] = "--XyZ\r\n" CD "\r\nv\r\n"
                               "--XyZ\r\n" CD "\r\nv\r\n"
                               "--XyZ\r\n" CD "\r\nv\r\n--XyZ--";
    (void)state;

    l.parts = 3;
    assert_int_equal(run_limits(BODY(body), &l, &at), MP_OK);
    l.parts = 2;
    assert_int_equal(run_limits(BODY(body), &l, &at), MP_E_TOO_MANY_PARTS);
    /* right after the CRLF of the third delimiter line */
    assert_int_equal(at, 2 * (sizeof(part) - 1) + 7);
    /* the second part still ended before the error */
    {
        struct transcript_rec r = {0};
        struct mp_parser p;
        parse(CT, BODY(body), &l, 0, &r, &p);
        assert_non_null(strstr(r.s, "begin 2\n"));
        assert_null(strstr(r.s, "begin 3\n"));
        assert_non_null(strstr(r.s, "end 1\nresult TOO_MANY_PARTS@"));
        assert_int_equal(p.parts, 2);
        free(r.s);
    }
}

static void test_limit_field_bytes(void **state)
{
    struct mp_limits l = mp_limits_default();
    uint64_t at;
    static const char field[] = "--XyZ\r\n" CD "\r\n12345\r\n--XyZ--";
    static const char file[] = "--XyZ\r\n" CDF "\r\n1234567890\r\n--XyZ--";
    static const char nodisp[] = "--XyZ\r\nX: y\r\n\r\n123456\r\n--XyZ--";
    (void)state;

    l.field_bytes = 5;
    assert_int_equal(run_limits(BODY(field), &l, &at), MP_OK);
    l.field_bytes = 4;
    assert_int_equal(run_limits(BODY(field), &l, &at), MP_E_FIELD_TOO_LARGE);
    assert_int_equal(at, 7 + strlen(CD) + 2 + 4); /* the 5th data byte */
    /* a part with a filename is a file: no field limit */
    l.field_bytes = 1;
    assert_int_equal(run_limits(BODY(file), &l, &at), MP_OK);
    /* a part without Content-Disposition is limited like a field */
    l.field_bytes = 5;
    assert_int_equal(run_limits(BODY(nodisp), &l, &at), MP_E_FIELD_TOO_LARGE);
    assert_int_equal(at, 7 + 6 + 2 + 5);
}

/*
 * Split invariance on an error path: the data handed over before
 * FIELD_TOO_LARGE must not depend on how the body was cut. (Fed whole, a
 * parser that refuses a piece crossing the limit hands over none of it; fed
 * bytewise, it hands over every byte up to the limit.)
 */
static void test_limit_field_bytes_split(void **state)
{
    struct mp_limits l = mp_limits_default();
    static const char body[] = "--XyZ\r\n" CD "\r\n12345678\r\n--XyZ--";
    struct transcript_rec r = {0};
    struct mp_parser p;
    char want[512];
    (void)state;

    l.field_bytes = 4;
    parse(CT, BODY(body), &l, 0, &r, &p);
    snprintf(want, sizeof(want), "%s", r.s);
    free(r.s);
    check_transcript(CT, BODY(body), &l, want);
}

/* ---- every error name ------------------------------------------------------
 */

struct err_case {
    enum mp_errno err;
    const char *what;
    const char *ct;   /* NULL: CT */
    const char *body; /* NULL: the case is a helper call (disp) */
    size_t body_len;  /* 0: strlen(body) */
    const char *disp; /* mp_disposition_parse input when body is NULL */
    enum transcript_stop stop; /* a callback that stops the parser */
    int small_limits; /* 1: header_bytes 48, headers 2, parts 1, field 3 */
    uint64_t offset;  /* the expected error_offset */
};

static const struct err_case err_cases[] = {
    {MP_OK, "a plain body", NULL, "--XyZ\r\n" CD "\r\nv\r\n--XyZ--", 0, NULL,
     TRANSCRIPT_STOP_NONE, 0, 0},
    {MP_E_CT_NOT_MULTIPART, "text/plain", "text/plain", "", 0, NULL,
     TRANSCRIPT_STOP_NONE, 0, 0},
    {MP_E_CT_SYNTAX, "parameter without value", "multipart/form-data; x", "", 0,
     NULL, TRANSCRIPT_STOP_NONE, 0, 0},
    {MP_E_BOUNDARY_MISSING, "no boundary", "multipart/form-data", "", 0, NULL,
     TRANSCRIPT_STOP_NONE, 0, 0},
    {MP_E_BOUNDARY_DUPLICATE, "two boundaries",
     "multipart/form-data; boundary=a; boundary=a", "", 0, NULL,
     TRANSCRIPT_STOP_NONE, 0, 0},
    {MP_E_BOUNDARY_LENGTH, "empty boundary",
     "multipart/form-data; boundary=\"\"", "", 0, NULL, TRANSCRIPT_STOP_NONE, 0,
     0},
    {MP_E_BOUNDARY_CHAR, "'!' in boundary", "multipart/form-data; boundary=a!",
     "", 0, NULL, TRANSCRIPT_STOP_NONE, 0, 0},
    {MP_E_LIMIT_INVALID, "zero limit", NULL, "", 0, NULL, TRANSCRIPT_STOP_NONE,
     -1, 0},
    {MP_E_NO_DELIMITER, "no delimiter at all", NULL, "hello\r\n", 0, NULL,
     TRANSCRIPT_STOP_NONE, 0, 7},
    {MP_E_PREAMBLE_ONLY, "preamble then close delimiter", NULL,
     "preamble\r\n--XyZ--", 0, NULL, TRANSCRIPT_STOP_NONE, 0, 16},
    {MP_E_BAD_DELIMITER, "33 bytes of padding", NULL,
     "--XyZ" SP8 SP8 SP8 SP8 " \r\n", 0, NULL, TRANSCRIPT_STOP_NONE, 0,
     5 + MP_PADDING_MAX},
    {MP_E_HEADER_NAME_EMPTY, "line starting with ':'", NULL,
     "--XyZ\r\n: v\r\n\r\n", 0, NULL, TRANSCRIPT_STOP_NONE, 0, 7},
    {MP_E_HEADER_NAME_CHAR, "space in a header name", NULL,
     "--XyZ\r\nBad Name: v\r\n\r\n", 0, NULL, TRANSCRIPT_STOP_NONE, 0, 10},
    {MP_E_HEADER_NO_COLON, "line without a colon", NULL,
     "--XyZ\r\nNoColon\r\n\r\n", 0, NULL, TRANSCRIPT_STOP_NONE, 0, 14},
    {MP_E_HEADER_VALUE_CHAR, "control byte in a value", NULL,
     "--XyZ\r\nX: a\x01"
     "b\r\n\r\n",
     0, NULL, TRANSCRIPT_STOP_NONE, 0, 11},
    {MP_E_HEADER_BARE_CR, "CR without LF in a value", NULL,
     "--XyZ\r\nX: a\rb\r\n\r\n", 0, NULL, TRANSCRIPT_STOP_NONE, 0, 12},
    {MP_E_HEADER_BARE_LF, "LF without CR in a value", NULL,
     "--XyZ\r\nX: a\nb\r\n\r\n", 0, NULL, TRANSCRIPT_STOP_NONE, 0, 11},
    {MP_E_HEADER_FOLD, "continuation as the first line", NULL,
     "--XyZ\r\n x\r\n\r\n", 0, NULL, TRANSCRIPT_STOP_NONE, 0, 7},
    {MP_E_HEADERS_TOO_LARGE, "header block over 48 bytes", NULL,
     "--XyZ\r\nX: 123456789012345678901234567890123456789012345\r\n\r\n", 0,
     NULL, TRANSCRIPT_STOP_NONE, 1, 55},
    {MP_E_TOO_MANY_HEADERS, "third header line", NULL,
     "--XyZ\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", 0, NULL, TRANSCRIPT_STOP_NONE, 1,
     19},
    {MP_E_TOO_MANY_PARTS, "second part", NULL,
     "--XyZ\r\n\r\n\r\n--XyZ\r\n\r\n\r\n--XyZ--", 0, NULL, TRANSCRIPT_STOP_NONE,
     1, 18},
    {MP_E_FIELD_TOO_LARGE, "4 bytes in a field", NULL,
     "--XyZ\r\n" CD "\r\n1234\r\n--XyZ--", 0, NULL, TRANSCRIPT_STOP_NONE, 1,
     7 + sizeof(CD) - 1 + 2 + 3},
    {MP_E_DISPOSITION_SYNTAX, "parameter without value", NULL,
     "--XyZ\r\nContent-Disposition: form-data; name\r\n\r\n", 0, NULL,
     TRANSCRIPT_STOP_NONE, 0, 45},
    {MP_E_DISPOSITION_TYPE, "attachment", NULL,
     "--XyZ\r\nContent-Disposition: attachment; name=a\r\n\r\n", 0, NULL,
     TRANSCRIPT_STOP_NONE, 0, 48},
    {MP_E_DISPOSITION_NO_NAME, "form-data without name", NULL,
     "--XyZ\r\nContent-Disposition: form-data\r\n\r\n", 0, NULL,
     TRANSCRIPT_STOP_NONE, 0, 39},
    {MP_E_DISPOSITION_DUPLICATE, "two Content-Disposition headers", NULL,
     "--XyZ\r\n" CD CD "\r\n", 0, NULL, TRANSCRIPT_STOP_NONE, 0,
     7 + 2 * (sizeof(CD) - 1)},
    {MP_E_DISPOSITION_CHARSET, "filename* in KOI8-R", NULL,
     "--XyZ\r\nContent-Disposition: form-data; name=a; "
     "filename*=koi8-r''x\r\n\r\n",
     0, NULL, TRANSCRIPT_STOP_NONE, 0, 68},
    {MP_E_DISPOSITION_UTF8, "filename* not UTF-8 (helper)", NULL, NULL, 0,
     "form-data; name=a; filename*=UTF-8''%FF", TRANSCRIPT_STOP_NONE, 0, 0},
    {MP_E_TRUNCATED, "body ends in part data", NULL, "--XyZ\r\n" CD "\r\nabc",
     0, NULL, TRANSCRIPT_STOP_NONE, 0, 7 + sizeof(CD) - 1 + 2 + 3},
    {MP_E_CALLBACK, "on_part_begin returns 1", NULL,
     "--XyZ\r\n" CD "\r\nv\r\n--XyZ--", 0, NULL, TRANSCRIPT_STOP_BEGIN, 0, 7},
};

#define N_ERR_CASES (sizeof(err_cases) / sizeof(err_cases[0]))

static void test_every_error_has_a_case(void **state)
{
    (void)state;
    for (int e = 0; e < MP_E__COUNT; e++) {
        bool found = false;
        for (size_t i = 0; i < N_ERR_CASES; i++)
            found = found || err_cases[i].err == (enum mp_errno)e;
        if (!found)
            fail_msg("error %s has no case in err_cases[]",
                     mp_errno_name((enum mp_errno)e));
    }
}

static void test_every_error_is_reached(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_ERR_CASES; i++) {
        const struct err_case *c = &err_cases[i];
        struct mp_limits l = mp_limits_default();
        struct transcript_rec r = {0};
        struct mp_parser p;
        enum mp_errno e;

        if (!c->body) {
            struct mp_disposition d;
            char out[256];
            e = mp_disposition_parse(c->disp, strlen(c->disp), out, sizeof(out),
                                     &d);
            if (e != c->err)
                fail_msg("%s: %s, wanted %s", c->what, mp_errno_name(e),
                         mp_errno_name(c->err));
            continue;
        }
        if (c->small_limits == 1) {
            l.header_bytes = 48;
            l.headers = 2;
            l.parts = 1;
            l.field_bytes = 3;
        } else if (c->small_limits == -1) {
            l.parts = 0;
        }
        r.stop_at = c->stop;
        e = parse(c->ct ? c->ct : CT, c->body,
                  c->body_len ? c->body_len : strlen(c->body), &l, 0, &r, &p);
        if (e != c->err || (e != MP_OK && p.error_offset != c->offset))
            fail_msg("%s: %s@%llu, wanted %s@%llu\n%s", c->what,
                     mp_errno_name(e), (unsigned long long)p.error_offset,
                     mp_errno_name(c->err), (unsigned long long)c->offset, r.s);
        free(r.s);
    }
}

/* ---- names and messages
 * ------------------------------------------------------ */

static void test_errno_names_and_messages(void **state)
{
    static const char *const names[] = {
#define NAME(n, m) #n,
        MP_ERRNO_MAP(NAME)
#undef NAME
    };
    static const char *const msgs[] = {
#define MSG(n, m) m,
        MP_ERRNO_MAP(MSG)
#undef MSG
    };
    (void)state;

    assert_int_equal(sizeof(names) / sizeof(names[0]), MP_E__COUNT);
    for (int e = 0; e < MP_E__COUNT; e++) {
        const char *n = mp_errno_name((enum mp_errno)e);
        const char *m = mp_errno_message((enum mp_errno)e);
        assert_non_null(n);
        assert_non_null(m);
        assert_string_equal(n, names[e]);
        assert_string_equal(m, msgs[e]);
        assert_true(strlen(m) > 0);
        for (int k = 0; k < e; k++) {
            assert_string_not_equal(n, mp_errno_name((enum mp_errno)k));
            assert_string_not_equal(m, mp_errno_message((enum mp_errno)k));
        }
    }
    assert_string_equal(mp_errno_name(MP_OK), "OK");
    assert_string_equal(mp_errno_name(MP_E_TRUNCATED), "TRUNCATED");
    assert_string_equal(mp_errno_name(MP_E__COUNT), "UNKNOWN");
    assert_string_equal(mp_errno_name((enum mp_errno) - 1), "UNKNOWN");
    assert_string_equal(mp_errno_name((enum mp_errno)1000), "UNKNOWN");
    assert_non_null(mp_errno_message(MP_E__COUNT));
    assert_non_null(mp_errno_message((enum mp_errno) - 1));
}

/* ---- sticky errors, offsets, return values --------------------------------
 */

static void test_sticky_errors(void **state)
{
    static const char body[] = "--XyZ\r\nBad Name: v\r\n\r\n";
    struct transcript_rec r = {0};
    struct mp_parser p;
    unsigned calls;
    (void)state;

    assert_int_equal(mp_parser_init(&p, CT, strlen(CT), NULL), MP_OK);
    p.data = &r;
    /* execute returns the bytes consumed before the error */
    assert_int_equal(mp_parser_execute(&p, &transcript_cbs, BODY(body)), 10);
    assert_int_equal(mp_parser_errno(&p), MP_E_HEADER_NAME_CHAR);
    assert_int_equal(p.error_offset, 10);
    calls = r.calls;
    /* from now on: nothing consumed, no callback, same error and offset */
    assert_int_equal(mp_parser_execute(&p, &transcript_cbs, BODY("--XyZ--")),
                     0);
    assert_int_equal(mp_parser_execute(&p, &transcript_cbs, "", 0), 0);
    assert_int_equal(mp_parser_finish(&p, &transcript_cbs),
                     MP_E_HEADER_NAME_CHAR);
    assert_int_equal(mp_parser_finish(&p, &transcript_cbs),
                     MP_E_HEADER_NAME_CHAR);
    assert_int_equal(mp_parser_errno(&p), MP_E_HEADER_NAME_CHAR);
    assert_int_equal(p.error_offset, 10);
    assert_int_equal(r.calls, calls);
    assert_false(mp_parser_body_done(&p));
    free(r.s);

    /* an error at finish sticks too */
    memset(&r, 0, sizeof(r));
    assert_int_equal(mp_parser_init(&p, CT, strlen(CT), NULL), MP_OK);
    p.data = &r;
    assert_int_equal(mp_parser_execute(&p, &transcript_cbs, BODY("--XyZ\r\n")),
                     7);
    assert_int_equal(mp_parser_finish(&p, &transcript_cbs), MP_E_TRUNCATED);
    assert_int_equal(p.error_offset, 7);
    assert_int_equal(
        mp_parser_execute(&p, &transcript_cbs, BODY("\r\n--XyZ--")), 0);
    assert_int_equal(mp_parser_finish(&p, &transcript_cbs), MP_E_TRUNCATED);
    free(r.s);
}

static void test_error_offsets_across_calls(void **state)
{
    static const char body[] = "--XyZ\r\n" CD "Bad Name: v\r\n\r\n";
    const size_t bad = 7 + sizeof(CD) - 1 + 3; /* the space */
    struct transcript_rec r = {0};
    struct mp_parser p;
    size_t first = 20;
    (void)state;

    /* error in the second call: offset counts the whole body, the return
     * value only this call's bytes */
    assert_int_equal(mp_parser_init(&p, CT, strlen(CT), NULL), MP_OK);
    p.data = &r;
    assert_int_equal(mp_parser_execute(&p, &transcript_cbs, body, first),
                     first);
    assert_int_equal(mp_parser_execute(&p, &transcript_cbs, body + first,
                                       sizeof(body) - 1 - first),
                     bad - first);
    assert_int_equal(p.error_offset, bad);
    free(r.s);

    /* empty execute calls change nothing */
    memset(&r, 0, sizeof(r));
    assert_int_equal(mp_parser_init(&p, CT, strlen(CT), NULL), MP_OK);
    p.data = &r;
    assert_int_equal(mp_parser_execute(&p, &transcript_cbs, "", 0), 0);
    assert_int_equal(mp_parser_execute(&p, &transcript_cbs,
                                       BODY("--XyZ\r\n" CD "\r\nv\r\n")),
                     sizeof("--XyZ\r\n" CD "\r\nv\r\n") - 1);
    assert_int_equal(mp_parser_execute(&p, &transcript_cbs, "", 0), 0);
    assert_int_equal(
        mp_parser_execute(&p, &transcript_cbs, BODY("--XyZ--\r\n")), 9);
    assert_true(mp_parser_body_done(&p));
    /* the epilogue is consumed and ignored */
    assert_int_equal(
        mp_parser_execute(&p, &transcript_cbs, BODY("junk\r\n--XyZ\r\n")), 13);
    assert_int_equal(mp_parser_finish(&p, &transcript_cbs), MP_OK);
    assert_int_equal(mp_parser_finish(&p, &transcript_cbs), MP_OK);
    assert_int_equal(p.parts, 1);
    free(r.s);
}

static void test_finish_errors(void **state)
{
    struct transcript_rec r = {0};
    struct mp_parser p;
    (void)state;

    /* nothing at all, a preamble, half a first delimiter: NO_DELIMITER */
    assert_int_equal(parse(CT, BODY(""), NULL, 0, &r, &p), MP_E_NO_DELIMITER);
    assert_int_equal(p.error_offset, 0);
    free(r.s);
    memset(&r, 0, sizeof(r));
    assert_int_equal(parse(CT, BODY("--Xy"), NULL, 0, &r, &p),
                     MP_E_NO_DELIMITER);
    assert_int_equal(p.error_offset, 4);
    free(r.s);
    memset(&r, 0, sizeof(r));
    assert_int_equal(parse(CT, BODY("--XyZ"), NULL, 0, &r, &p),
                     MP_E_NO_DELIMITER);
    free(r.s);
    /* after the first delimiter line: TRUNCATED, wherever it stops */
    static const char *const cut[] = {
        "--XyZ\r\n",
        "--XyZ\r\nX",
        "--XyZ\r\nX: y\r",
        "--XyZ\r\nX: y\r\n",
        "--XyZ\r\nX: y\r\n\r",
        "--XyZ\r\n\r\n",
        "--XyZ\r\n\r\nab\r",
        "--XyZ\r\n\r\nab\r\n--XyZ",
        "--XyZ\r\n\r\nab\r\n--XyZ-",
    };
    for (size_t i = 0; i < sizeof(cut) / sizeof(cut[0]); i++) {
        memset(&r, 0, sizeof(r));
        if (parse(CT, cut[i], strlen(cut[i]), NULL, 0, &r, &p) !=
            MP_E_TRUNCATED)
            fail_msg("'%s': %s", cut[i], mp_errno_name(mp_parser_errno(&p)));
        assert_int_equal(p.error_offset, strlen(cut[i]));
        assert_false(mp_parser_body_done(&p));
        free(r.s);
    }
}

/* ---- callbacks that stop the parser ----------------------------------------
 */

static void test_callback_stops(void **state)
{
    static const char body[] = "--XyZ\r\n" CD "\r\nvalue\r\n--XyZ--";
    static const struct {
        enum transcript_stop at;
        uint64_t offset; /* 0: see test_callback_stop_offsets */
    } t[] = {
        {TRANSCRIPT_STOP_BEGIN, 7},
        /* a header is complete once the next line starts */
        {TRANSCRIPT_STOP_HEADER, 7 + sizeof(CD) - 1},
        {TRANSCRIPT_STOP_HEADERS_COMPLETE, 7 + sizeof(CD) - 1 + 2},
        {TRANSCRIPT_STOP_DATA, 0},
        {TRANSCRIPT_STOP_PART_END, 0},
        {TRANSCRIPT_STOP_BODY_END, 0},
    };
    (void)state;

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        size_t chunks[] = {0, 1};
        for (size_t k = 0; k < 2; k++) {
            struct transcript_rec r = {0};
            struct mp_parser p;
            unsigned calls;
            r.stop_at = t[i].at;
            assert_int_equal(parse(CT, BODY(body), NULL, chunks[k], &r, &p),
                             MP_E_CALLBACK);
            /* stopped right there: "(stop)" is the transcript's last event */
            if (!strstr(r.s, "(stop)\nresult CALLBACK@"))
                fail_msg("stop %d, chunk %zu:\n%s", (int)t[i].at, chunks[k],
                         r.s);
            if (t[i].offset)
                assert_int_equal(p.error_offset, t[i].offset);
            calls = r.calls;
            assert_int_equal(mp_parser_execute(&p, &transcript_cbs, BODY(body)),
                             0);
            assert_int_equal(r.calls, calls);
            free(r.s);
        }
    }
}

static void test_callback_stop_offsets(void **state)
{
    static const char body[] = "--XyZ\r\n" CD "\r\nvalue\r\n--XyZ--";
    const uint64_t data_at = 7 + sizeof(CD) - 1 + 2;
    struct transcript_rec r = {0};
    struct mp_parser p;
    (void)state;

    /* on_data: after the delivered bytes */
    r.stop_at = TRANSCRIPT_STOP_DATA;
    parse(CT, BODY(body), NULL, 0, &r, &p);
    assert_int_equal(p.error_offset, data_at + 5);
    free(r.s);
    /* on_part_end: at the close delimiter's second "-" */
    memset(&r, 0, sizeof(r));
    r.stop_at = TRANSCRIPT_STOP_PART_END;
    parse(CT, BODY(body), NULL, 0, &r, &p);
    assert_int_equal(p.error_offset, sizeof(body) - 2);
    free(r.s);
    memset(&r, 0, sizeof(r));
    r.stop_at = TRANSCRIPT_STOP_BODY_END;
    parse(CT, BODY(body), NULL, 0, &r, &p);
    assert_int_equal(p.error_offset, sizeof(body) - 2);
    free(r.s);
}

/* ---- transcripts
 * ------------------------------------------------------------- */

static void test_transcript_simple(void **state)
{
    (void)state;
    check_transcript(CT, BODY("--XyZ\r\n" CD "\r\nhello\r\n--XyZ--\r\n"), NULL,
                     "begin 1\n"
                     "header \"Content-Disposition\" \"form-data; "
                     "name=\\\"a\\\"\"\n"
                     "headers flags=1\n"
                     "data 5 \"hello\"\n"
                     "end 5\n"
                     "body_end\n"
                     "result OK\n");
}

static void test_transcript_two_parts_and_flags(void **state)
{
    (void)state;
    check_transcript(CT,
                     BODY("--XyZ\r\n" CDF "Content-Type: text/plain\r\n\r\n"
                          "ab\r\n--XyZ\r\nX-Other: 1\r\n\r\n\r\n--XyZ--"),
                     NULL,
                     "begin 1\n"
                     "header \"Content-Disposition\" \"form-data; "
                     "name=\\\"f\\\"; filename=\\\"f.txt\\\"\"\n"
                     "header \"Content-Type\" \"text/plain\"\n"
                     "headers flags=3\n"
                     "data 2 \"ab\"\n"
                     "end 2\n"
                     "begin 2\n"
                     "header \"X-Other\" \"1\"\n"
                     "headers flags=0\n"
                     "data 0 \"\"\n"
                     "end 0\n"
                     "body_end\n"
                     "result OK\n");
}

static void test_transcript_header_folding_and_trim(void **state)
{
    (void)state;
    check_transcript(CT,
                     BODY("--XyZ\r\nContent-Disposition:form-data;\r\n"
                          " name=a \r\nContent-Type:  text/plain;\r\n\t"
                          "charset=utf-8 \t \r\nX-Empty:\r\nx-CASE: Kept\r\n"
                          "\r\nv\r\n--XyZ--"),
                     NULL,
                     "begin 1\n"
                     "header \"Content-Disposition\" \"form-data; name=a\"\n"
                     "header \"Content-Type\" \"text/plain; charset=utf-8\"\n"
                     "header \"X-Empty\" \"\"\n"
                     "header \"x-CASE\" \"Kept\"\n"
                     "headers flags=1\n"
                     "data 1 \"v\"\n"
                     "end 1\n"
                     "body_end\n"
                     "result OK\n");
}

static void test_transcript_near_miss_and_padding(void **state)
{
    (void)state;
    /* near-miss delimiters are data; padding after a delimiter is not */
    check_transcript(CT,
                     BODY("pre\r\n--XyZ \t\r\n" CD "\r\n\r\n--Xy\r\n--XyQ\r"
                          "\r\n--XyZ-x\r\n--XyZ\t\r\n" CD "\r\nB\r\n--XyZ-- "
                          "\r\nepilogue"),
                     NULL,
                     "begin 1\n"
                     "header \"Content-Disposition\" \"form-data; "
                     "name=\\\"a\\\"\"\n"
                     "headers flags=1\n"
                     "data 23 \"\\r\\n--Xy\\r\\n--XyQ\\r\\r\\n--XyZ-x\"\n"
                     "end 23\n"
                     "begin 2\n"
                     "header \"Content-Disposition\" \"form-data; "
                     "name=\\\"a\\\"\"\n"
                     "headers flags=1\n"
                     "data 1 \"B\"\n"
                     "end 1\n"
                     "body_end\n"
                     "result OK\n");
}

static void test_transcript_empty_disposition(void **state)
{
    (void)state;
    /* an empty Content-Disposition value is no disposition (flags 0) */
    check_transcript(CT,
                     BODY("--XyZ\r\nContent-Disposition: \r\n\r\nx\r\n"
                          "--XyZ--"),
                     NULL,
                     "begin 1\n"
                     "header \"Content-Disposition\" \"\"\n"
                     "headers flags=0\n"
                     "data 1 \"x\"\n"
                     "end 1\n"
                     "body_end\n"
                     "result OK\n");
}

static void test_transcript_empty_form_and_truncation(void **state)
{
    (void)state;
    check_transcript(CT, BODY("--XyZ--"), NULL, "body_end\nresult OK\n");
    check_transcript(CT, BODY("--XyZ--\r\n"), NULL, "body_end\nresult OK\n");
    check_transcript(CT, BODY("\r\n--XyZ--"), NULL, "body_end\nresult OK\n");
    check_transcript(CT, BODY("--XyZ\r\n" CD "\r\nabc\r\n--Xy"), NULL,
                     "begin 1\n"
                     "header \"Content-Disposition\" \"form-data; "
                     "name=\\\"a\\\"\"\n"
                     "headers flags=1\n"
                     "data 3 \"abc\"\n"
                     "result TRUNCATED@60\n");
}

/*
 * Bytes held back across execute() calls may be handed over from the
 * parser's copy, but must be the bytes of the body.
 */
static void test_held_back_bytes_are_body_bytes(void **state)
{
    static const char body[] = "--XyZ\r\n" CD "\r\nab\r\n--Xy\r\n--XyZ \tQ"
                               "\r\n--XyZ\r\n--XyZ--";
    (void)state;
    check_transcript(CT, BODY(body), NULL,
                     "begin 1\n"
                     "header \"Content-Disposition\" \"form-data; "
                     "name=\\\"a\\\"\"\n"
                     "headers flags=1\n"
                     "data 18 \"ab\\r\\n--Xy\\r\\n--XyZ \\tQ\"\n"
                     "end 18\n"
                     "begin 2\n"
                     "result TRUNCATED@85\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_boundary_token_and_quoted),
        cmocka_unit_test(test_boundary_case_insensitive),
        cmocka_unit_test(test_boundary_length),
        cmocka_unit_test(test_boundary_chars),
        cmocka_unit_test(test_boundary_duplicate_missing),
        cmocka_unit_test(test_boundary_not_multipart),
        cmocka_unit_test(test_boundary_syntax),
        cmocka_unit_test(test_boundary_other_params),
        cmocka_unit_test(test_disposition_basic),
        cmocka_unit_test(test_disposition_escapes),
        cmocka_unit_test(test_disposition_filename_star),
        cmocka_unit_test(test_disposition_filename_star_errors),
        cmocka_unit_test(test_disposition_syntax_errors),
        cmocka_unit_test(test_disposition_no_name),
        cmocka_unit_test(test_disposition_out_buffer),
        cmocka_unit_test(test_disposition_null_out_checks_utf8),
        cmocka_unit_test(test_limits_defaults),
        cmocka_unit_test(test_limits_invalid),
        cmocka_unit_test(test_limit_header_bytes),
        cmocka_unit_test(test_limit_headers),
        cmocka_unit_test(test_limit_parts),
        cmocka_unit_test(test_limit_field_bytes),
        cmocka_unit_test(test_limit_field_bytes_split),
        cmocka_unit_test(test_every_error_has_a_case),
        cmocka_unit_test(test_every_error_is_reached),
        cmocka_unit_test(test_errno_names_and_messages),
        cmocka_unit_test(test_sticky_errors),
        cmocka_unit_test(test_error_offsets_across_calls),
        cmocka_unit_test(test_finish_errors),
        cmocka_unit_test(test_callback_stops),
        cmocka_unit_test(test_callback_stop_offsets),
        cmocka_unit_test(test_transcript_simple),
        cmocka_unit_test(test_transcript_two_parts_and_flags),
        cmocka_unit_test(test_transcript_header_folding_and_trim),
        cmocka_unit_test(test_transcript_near_miss_and_padding),
        cmocka_unit_test(test_transcript_empty_disposition),
        cmocka_unit_test(test_transcript_empty_form_and_truncation),
        cmocka_unit_test(test_held_back_bytes_are_body_bytes),
        /* last: crashes under ASan while the boundary bug is there */
        cmocka_unit_test(test_boundary_long_param_after),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
