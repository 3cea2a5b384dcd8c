/*
 * rq_pickle.c - RQ job data (pickle protocol 2 + zlib) and description.
 *
 * The writer counts every byte it would write, and copies a piece only when
 * it fits, so one pass both measures and writes; a short buffer is reported
 * once at the end. The opcode choices follow CPython's C pickler
 * (Modules/_pickle.c: save_long, save_float, save_unicode, save_tuple,
 * batch_list_exact, batch_dict_exact) so that the bytes are the ones
 * pickle.dumps(obj, 2) gives once its memo opcodes are optimized away.
 */
#include "rq_pickle.h"

#include <assert.h>
#include <errno.h>
#include <string.h>
#include <zlib.h>

#include "utf8.h"

/* pickle opcodes (Lib/pickle.py names) */
#define OP_PROTO      0x80
#define OP_STOP       '.'
#define OP_MARK       '('
#define OP_NONE       'N'
#define OP_NEWTRUE    0x88
#define OP_NEWFALSE   0x89
#define OP_BININT1    'K'
#define OP_BININT2    'M'
#define OP_BININT     'J'
#define OP_LONG1      0x8a
#define OP_BINFLOAT   'G'
#define OP_BINUNICODE 'X'
#define OP_EMPTY_LIST ']'
#define OP_APPEND     'a'
#define OP_APPENDS    'e'
#define OP_EMPTY_DICT '}'
#define OP_SETITEMS   'u'
#define OP_TUPLE1     0x85
#define OP_TUPLE      't'

/* CPython's BATCHSIZE: list items / dict entries per MARK ... APPENDS. */
#define PK_BATCH 1000

struct pk {
    unsigned char *out; /* may be NULL when cap == 0 (measuring) */
    size_t cap;
    size_t len;  /* bytes produced so far, also past cap */
    int bad;     /* first -EINVAL / -EILSEQ, sticky */
    bool nobufs; /* some byte did not fit */
};

static void pk_put(struct pk *w, const void *p, size_t n)
{
    if (n > SIZE_MAX - w->len) {
        if (!w->bad)
            w->bad = -EINVAL;
        return;
    }
    if (!w->nobufs && w->len <= w->cap && n <= w->cap - w->len)
        memcpy(w->out + w->len, p, n);
    else
        w->nobufs = true;
    w->len += n;
}

static void pk_op(struct pk *w, unsigned char op)
{
    pk_put(w, &op, 1);
}

static void pk_le(struct pk *w, uint64_t v, size_t n)
{
    unsigned char b[8];
    size_t i;

    for (i = 0; i < n; i++)
        b[i] = (unsigned char)(v >> (8 * i));
    pk_put(w, b, n);
}

static void pk_fail(struct pk *w, int err)
{
    if (!w->bad)
        w->bad = err;
}

static void pk_str(struct pk *w, const char *s)
{
    size_t n;

    if (!s) {
        pk_fail(w, -EINVAL);
        return;
    }
    n = strlen(s);
    if (n > UINT32_MAX) {
        pk_fail(w, -EINVAL);
        return;
    }
    if (!utf8_valid(s, n)) {
        pk_fail(w, -EILSEQ);
        return;
    }
    pk_op(w, OP_BINUNICODE);
    pk_le(w, n, 4);
    pk_put(w, s, n);
}

static void pk_str_or_none(struct pk *w, const char *s)
{
    if (s)
        pk_str(w, s);
    else
        pk_op(w, OP_NONE);
}

static void pk_bool(struct pk *w, bool v)
{
    pk_op(w, v ? OP_NEWTRUE : OP_NEWFALSE);
}

/* BININT1/BININT2 for small non-negative values, BININT for the rest of
 * int32, LONG1 (minimal two's complement, little-endian) beyond. */
static void pk_int(struct pk *w, int64_t v)
{
    unsigned char b[9];
    uint64_t u, mag;
    size_t nbytes, bits = 0, i;

    if (v >= 0 && v <= 0xff) {
        pk_op(w, OP_BININT1);
        pk_le(w, (uint64_t)v, 1);
        return;
    }
    if (v >= 0 && v <= 0xffff) {
        pk_op(w, OP_BININT2);
        pk_le(w, (uint64_t)v, 2);
        return;
    }
    if (v >= INT32_MIN && v <= INT32_MAX) {
        pk_op(w, OP_BININT);
        pk_le(w, (uint64_t)v, 4);
        return;
    }
    /* Python: nbytes = bit_length(|v|) // 8 + 1, then one trailing 0xff is
     * dropped from a negative number when the byte before it has its sign
     * bit set. */
    mag = v < 0 ? (uint64_t)(-(v + 1)) + 1 : (uint64_t)v;
    while (bits < 64 && (mag >> bits))
        bits++;
    nbytes = bits / 8 + 1;
    u = (uint64_t)v;
    for (i = 0; i < 9; i++)
        b[i] = i < 8 ? (unsigned char)(u >> (8 * i)) : (v < 0 ? 0xff : 0);
    if (v < 0 && nbytes > 1 && b[nbytes - 1] == 0xff && (b[nbytes - 2] & 0x80))
        nbytes--;
    pk_op(w, OP_LONG1);
    pk_le(w, nbytes, 1);
    pk_put(w, b, nbytes);
}

static void pk_float(struct pk *w, double d)
{
    unsigned char b[8];
    uint64_t u;
    size_t i;

    memcpy(&u, &d, sizeof u);
    for (i = 0; i < 8; i++)
        b[i] = (unsigned char)(u >> (56 - 8 * i));
    pk_op(w, OP_BINFLOAT);
    pk_put(w, b, 8);
}

static void pk_str_list(struct pk *w, const char *const *v, size_t n)
{
    size_t i;

    if (n && !v) {
        pk_fail(w, -EINVAL);
        return;
    }
    pk_op(w, OP_EMPTY_LIST);
    if (n == 1) {
        pk_str(w, v[0]);
        pk_op(w, OP_APPEND);
        return;
    }
    for (i = 0; i < n; i++) {
        if (i % PK_BATCH == 0)
            pk_op(w, OP_MARK);
        pk_str(w, v[i]);
        if (i % PK_BATCH == PK_BATCH - 1 || i == n - 1)
            pk_op(w, OP_APPENDS);
    }
}

int rq_pickle_job(const char *func_name, const struct rq_task_args *a,
                  unsigned char *out, size_t cap, size_t *len)
{
    struct pk w = {.out = out, .cap = out ? cap : 0};

    *len = 0;
    if (!a)
        return -EINVAL;
    pk_op(&w, OP_PROTO);
    pk_op(&w, 2);
    pk_op(&w, OP_MARK); /* the 4-tuple: more than 3 items needs MARK */
    pk_str(&w, func_name);
    pk_op(&w, OP_NONE); /* instance */
    /* args: (dict,) ; the dict has 12 entries: one MARK ... SETITEMS */
    pk_op(&w, OP_EMPTY_DICT);
    pk_op(&w, OP_MARK);
    pk_str(&w, "task_id");
    pk_str(&w, a->task_id);
    pk_str(&w, "audio_path");
    pk_str(&w, a->audio_path);
    pk_str(&w, "features");
    pk_str_list(&w, a->features, a->n_features);
    pk_str(&w, "template_id");
    pk_str_or_none(&w, a->template_id);
    pk_str(&w, "asr_backend");
    pk_str(&w, a->asr_backend);
    pk_str(&w, "enable_diarization");
    pk_bool(&w, a->enable_diarization);
    pk_str(&w, "enable_vad");
    pk_bool(&w, a->enable_vad);
    pk_str(&w, "vad_threshold");
    pk_float(&w, a->vad_threshold);
    pk_str(&w, "redis_host");
    pk_str(&w, a->redis_host);
    pk_str(&w, "redis_port");
    pk_int(&w, a->redis_port);
    pk_str(&w, "redis_db");
    pk_int(&w, a->redis_db);
    pk_str(&w, "correlation_id");
    pk_str_or_none(&w, a->correlation_id);
    pk_op(&w, OP_SETITEMS);
    pk_op(&w, OP_TUPLE1);
    pk_op(&w, OP_EMPTY_DICT); /* kwargs */
    pk_op(&w, OP_TUPLE);
    pk_op(&w, OP_STOP);

    if (w.bad)
        return w.bad;
    *len = w.len;
    return w.nobufs ? -ENOBUFS : 0;
}

size_t rq_zlib_bound(size_t in_len)
{
    return RQ_ZLIB_BOUND(in_len);
}

int rq_zlib_compress(const unsigned char *in, size_t in_len, unsigned char *out,
                     size_t cap, size_t *out_len)
{
    uLongf dlen = (uLongf)cap;
    int rc;

    *out_len = 0;
    if ((uLong)in_len != in_len || dlen != cap)
        return -EINVAL;
    rc = compress2(out, &dlen, in, (uLong)in_len, Z_DEFAULT_COMPRESSION);
    if (rc == Z_BUF_ERROR)
        return -ENOBUFS;
    if (rc == Z_MEM_ERROR)
        return -ENOMEM;
    if (rc != Z_OK)
        return -EINVAL;
    *out_len = dlen;
    return 0;
}

/* ---- description: Python's repr(), cut after RQ_DESCRIPTION_ARG_MAX ---- */

struct rp {
    char *out;
    size_t cap;   /* bytes of out, NUL included */
    size_t len;   /* bytes written, out[len] == '\0' while !nobufs */
    size_t chars; /* code points of the repr emitted */
    bool cut;     /* the repr had more than RQ_DESCRIPTION_ARG_MAX */
    bool nobufs;
    int bad;
};

/* Bytes that are not part of the counted repr (func name, parentheses). */
static void rp_raw(struct rp *r, const char *s, size_t n)
{
    if (r->nobufs || n >= r->cap - r->len) {
        r->nobufs = true;
        return;
    }
    memcpy(r->out + r->len, s, n);
    r->len += n;
    r->out[r->len] = '\0';
}

/* One code point of the repr, given as its UTF-8 bytes. */
static void rp_cp(struct rp *r, const char *s, size_t n)
{
    if (r->cut)
        return;
    if (r->chars == RQ_DESCRIPTION_ARG_MAX) {
        r->cut = true;
        return;
    }
    r->chars++;
    rp_raw(r, s, n);
}

static void rp_ascii(struct rp *r, const char *s)
{
    for (; *s; s++)
        rp_cp(r, s, 1);
}

/* Py_UNICODE_ISPRINTABLE for non-ASCII, approximated (see the header). */
static bool py_printable(uint32_t c)
{
    static const uint32_t ranges[][2] = {
        {0x80, 0xa0},       {0xad, 0xad},        {0x600, 0x605},
        {0x61c, 0x61c},     {0x6dd, 0x6dd},      {0x70f, 0x70f},
        {0x890, 0x891},     {0x8e2, 0x8e2},      {0x1680, 0x1680},
        {0x180e, 0x180e},   {0x2000, 0x200f},    {0x2028, 0x202f},
        {0x205f, 0x2064},   {0x2066, 0x206f},    {0x3000, 0x3000},
        {0xd800, 0xf8ff},   {0xfdd0, 0xfdef},    {0xfeff, 0xfeff},
        {0xfff9, 0xfffb},   {0x110bd, 0x110bd},  {0x110cd, 0x110cd},
        {0x13430, 0x1343f}, {0x1bca0, 0x1bca3},  {0x1d173, 0x1d17a},
        {0xe0000, 0xe0fff}, {0xf0000, 0x10ffff},
    };
    size_t i;

    if ((c & 0xfffe) == 0xfffe) /* U+xxFFFE, U+xxFFFF: noncharacters */
        return false;
    for (i = 0; i < sizeof ranges / sizeof ranges[0]; i++)
        if (c >= ranges[i][0] && c <= ranges[i][1])
            return false;
    return true;
}

/* CPython unicode_repr(): quote choice, escapes, lowercase hex. */
static void rp_str(struct rp *r, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s), i = 0, k, m;
    char quote = '\'', esc[10];
    uint32_t c;

    if (!utf8_valid(s, n)) {
        if (!r->bad)
            r->bad = -EILSEQ;
        return;
    }
    if (memchr(s, '\'', n) && !memchr(s, '"', n))
        quote = '"';
    rp_cp(r, &quote, 1);
    while (i < n && !r->cut) {
        m = utf8_decode(p + i, n - i, &c);
        if (c == (uint32_t)quote || c == '\\') {
            rp_cp(r, "\\", 1);
            rp_cp(r, (const char *)p + i, 1);
        } else if (c == '\t') {
            rp_ascii(r, "\\t");
        } else if (c == '\n') {
            rp_ascii(r, "\\n");
        } else if (c == '\r') {
            rp_ascii(r, "\\r");
        } else if (c < 0x20 || c == 0x7f || (c >= 0x80 && !py_printable(c))) {
            size_t digits = c <= 0xff ? 2 : c <= 0xffff ? 4 : 8;
            esc[0] = '\\';
            esc[1] = c <= 0xff ? 'x' : c <= 0xffff ? 'u' : 'U';
            for (k = 0; k < digits; k++)
                esc[2 + k] = hex[(c >> (4 * (digits - 1 - k))) & 0xf];
            for (k = 0; k < digits + 2; k++)
                rp_cp(r, esc + k, 1);
        } else {
            rp_cp(r, (const char *)p + i, m);
        }
        i += m;
    }
    rp_cp(r, &quote, 1);
}

static void rp_key(struct rp *r, const char *key, bool first)
{
    if (!first)
        rp_ascii(r, ", ");
    rp_str(r, key);
    rp_ascii(r, ": ");
}

static void rp_str_or_none(struct rp *r, const char *s)
{
    if (s)
        rp_str(r, s);
    else
        rp_ascii(r, "None");
}

static void rp_req(struct rp *r, const char *s)
{
    if (s)
        rp_str(r, s);
    else if (!r->bad)
        r->bad = -EINVAL;
}

int rq_job_description(const char *func_name, const struct rq_task_args *a,
                       char *out, size_t cap, size_t *len)
{
    struct rp r = {.out = out, .cap = cap};
    size_t i;

    *len = 0;
    if (!cap)
        return -ENOBUFS;
    out[0] = '\0';
    if (!func_name || !a || (a->n_features && !a->features))
        return -EINVAL;
    if (!utf8_valid(func_name, strlen(func_name)))
        return -EILSEQ;
    rp_raw(&r, func_name, strlen(func_name));
    rp_raw(&r, "(", 1);
    rp_ascii(&r, "{");
    rp_key(&r, "task_id", true);
    rp_req(&r, a->task_id);
    rp_key(&r, "audio_path", false);
    rp_req(&r, a->audio_path);
    rp_key(&r, "features", false);
    rp_ascii(&r, "[");
    for (i = 0; i < a->n_features; i++) {
        if (i)
            rp_ascii(&r, ", ");
        rp_req(&r, a->features[i]);
    }
    rp_ascii(&r, "]");
    rp_key(&r, "template_id", false);
    rp_str_or_none(&r, a->template_id);
    rp_key(&r, "asr_backend", false);
    /*
     * The cut has happened by now: with every string empty the repr so far,
     * "{'task_id': '', 'audio_path': '', 'features': [], 'template_id':
     * None, 'asr_backend': ", is 86 characters. The later fields (booleans,
     * the float, the ints) never reach a description, so they are not
     * rendered; their values are still checked for the pickle.
     */
    assert(r.cut || r.bad || r.nobufs);
    rp_req(&r, a->asr_backend);
    rp_req(&r, a->redis_host);
    rp_str_or_none(&r, a->correlation_id);
    if (r.cut)
        rp_raw(&r, "...", 3);
    rp_raw(&r, ")", 1);

    if (r.bad || r.nobufs) {
        out[0] = '\0';
        return r.bad ? r.bad : -ENOBUFS;
    }
    *len = r.len;
    return 0;
}
