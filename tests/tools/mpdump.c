/*
 * mpdump - run a multipart/form-data body through the parser and print, as
 * one JSON object, the parts it delivered. A debugging tool for users and
 * the parser's test driver (tests/conformance.sh, tests/splits.sh).
 *
 *     mpdump [--chunk N | --bytewise | --chunks A,B,...] CONTENT_TYPE < body
 *
 * The whole body is read into memory first, then fed to mp_parser_execute()
 * in pieces: N bytes at a time (--chunk N, default 65536), one byte at a
 * time (--bytewise), or the listed piece sizes in order followed by the rest
 * in one piece (--chunks; a size may be 0, sizes past the end are cut).
 *
 * Output, one line on stdout:
 *     {"parts":[{"name":..,"filename":..,"content_type":..,"size":N,
 *                "sha256":"hex"}, ...]}                          exit 0
 *     {"error":"NAME","offset":N,"parts":[parts completed before]} exit 1
 * NAME is mp_errno_name() of the parser's error and offset its
 * error_offset; a bad Content-Type gives the error with offset 0. Bad usage
 * or an unreadable stdin: a message on stderr, exit 2.
 *
 * Part policy:
 *  - A part without a Content-Disposition header, or whose
 *    Content-Disposition value is empty, is skipped: parsed, not listed
 *    (busboy does the same; conformance cases 048 and 057).
 *  - name and filename come from mp_disposition_parse() on that header's
 *    value (filename* decoded, and preferred over filename); filename is
 *    null when the part has neither.
 *  - content_type is the part's first Content-Type header value as the
 *    parser hands it over (outer spaces removed, folded lines joined), ""
 *    when the header is present but empty, null when absent.
 *  - size and sha256 cover the part data exactly as sent: no
 *    Content-Transfer-Encoding is decoded (RFC 7578 4.7 deprecates it).
 *  - A part is listed once it has ended (its closing delimiter line was
 *    seen), so a part cut off by an error is not listed.
 *  - If the parser accepts a Content-Disposition that mp_disposition_parse()
 *    then rejects when decoding (the two disagree), the data callback stops
 *    the parser: error "CALLBACK", plus "detail" naming the helper's error.
 *  - A string that is not valid UTF-8 (a raw filename in some legacy
 *    charset) is printed with U+FFFD for each bad byte, and the exact bytes
 *    are added in hex under "<key>_hex".
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "multipart.h"

#define DEFAULT_CHUNK 65536
#define MAX_CHUNKS    4096

/* A copy of one header value, owned by struct part. */
struct hval {
    char *s;
    size_t len;
    bool present;
};

/* The part being parsed. */
struct part {
    struct hval cd; /* first Content-Disposition */
    struct hval ct; /* first Content-Type */
    bool listed;    /* it has a non-empty Content-Disposition */
    json_t *obj;    /* name/filename/content_type, built at headers end */
    EVP_MD_CTX *md;
    uint64_t size;
};

struct dump {
    json_t *parts; /* completed, listed parts */
    struct part cur;
    const char *detail; /* why a callback stopped the parser */
    char detail_buf[128];
};

static void hval_clear(struct hval *h)
{
    free(h->s);
    h->s = NULL;
    h->len = 0;
    h->present = false;
}

static bool hval_set(struct hval *h, const char *v, size_t len)
{
    h->s = malloc(len ? len : 1);
    if (!h->s)
        return false;
    memcpy(h->s, v, len);
    h->len = len;
    h->present = true;
    return true;
}

static void part_clear(struct part *pt)
{
    hval_clear(&pt->cd);
    hval_clear(&pt->ct);
    json_decref(pt->obj);
    pt->obj = NULL;
    EVP_MD_CTX_free(pt->md);
    pt->md = NULL;
    pt->listed = false;
    pt->size = 0;
}

/* Length of the valid UTF-8 sequence at s[0..n), 0 if there is none. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    size_t need;
    uint32_t cp;

    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        need = 1;
        cp = s[0] & 0x1fu;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        need = 2;
        cp = s[0] & 0x0fu;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        need = 3;
        cp = s[0] & 0x07u;
    } else {
        return 0;
    }
    if (n - 1 < need)
        return 0;
    for (size_t k = 1; k <= need; k++) {
        if ((s[k] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[k] & 0x3fu);
    }
    if ((need == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (need == 3 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return need + 1;
}

/*
 * Set obj[key] to the string s[0..len): as is when it is valid UTF-8,
 * otherwise with U+FFFD for each bad byte, plus obj[key_hex] holding the
 * exact bytes. Returns false when out of memory.
 */
static bool set_string(json_t *obj, const char *key, const char *s, size_t len)
{
    static const char hexd[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;
    json_t *j = json_stringn(s, len);
    char *fixed, *hex, hkey[64];
    size_t n = 0;
    bool ok;

    if (j)
        return json_object_set_new(obj, key, j) == 0;
    fixed = malloc(len * 3 + 1);
    hex = malloc(len * 2 + 1);
    if (!fixed || !hex) {
        free(fixed);
        free(hex);
        return false;
    }
    for (size_t i = 0; i < len;) {
        size_t k = utf8_seq(u + i, len - i);
        if (k == 0) {
            memcpy(fixed + n, "\xef\xbf\xbd", 3);
            n += 3;
            i++;
        } else {
            memcpy(fixed + n, s + i, k);
            n += k;
            i += k;
        }
    }
    for (size_t i = 0; i < len; i++) {
        hex[2 * i] = hexd[u[i] >> 4];
        hex[2 * i + 1] = hexd[u[i] & 0xf];
    }
    snprintf(hkey, sizeof(hkey), "%s_hex", key);
    ok = json_object_set_new(obj, key, json_stringn(fixed, n)) == 0 &&
         json_object_set_new(obj, hkey, json_stringn(hex, 2 * len)) == 0;
    free(fixed);
    free(hex);
    return ok;
}

static int stop(struct dump *d, const char *why)
{
    d->detail = why;
    return 1;
}

static int on_part_begin(struct mp_parser *p)
{
    struct dump *d = p->data;
    part_clear(&d->cur);
    return 0;
}

static int on_header(struct mp_parser *p, const char *name, size_t name_len,
                     const char *value, size_t value_len)
{
    struct dump *d = p->data;
    struct hval *h = NULL;

    if (name_len == 19 && strncasecmp(name, "Content-Disposition", 19) == 0)
        h = &d->cur.cd;
    else if (name_len == 12 && strncasecmp(name, "Content-Type", 12) == 0)
        h = &d->cur.ct;
    if (h && !h->present && !hval_set(h, value, value_len))
        return stop(d, "mpdump: out of memory");
    return 0;
}

static int on_headers_complete(struct mp_parser *p)
{
    struct dump *d = p->data;
    struct part *pt = &d->cur;
    struct mp_disposition disp;
    enum mp_errno e;
    char *out;
    int rc = 0;

    if (!pt->cd.present || pt->cd.len == 0)
        return 0; /* skipped, see the part policy */
    out = malloc(pt->cd.len);
    pt->obj = json_object();
    pt->md = EVP_MD_CTX_new();
    if (!out || !pt->obj || !pt->md ||
        EVP_DigestInit_ex(pt->md, EVP_sha256(), NULL) != 1) {
        free(out);
        return stop(d, "mpdump: out of memory");
    }
    e = mp_disposition_parse(pt->cd.s, pt->cd.len, out, pt->cd.len, &disp);
    if (e != MP_OK) {
        snprintf(d->detail_buf, sizeof(d->detail_buf),
                 "mp_disposition_parse: %s", mp_errno_name(e));
        free(out);
        return stop(d, d->detail_buf);
    }
    if (disp.name) {
        if (!set_string(pt->obj, "name", disp.name, disp.name_len))
            rc = 1;
    } else if (json_object_set_new(pt->obj, "name", json_null())) {
        rc = 1;
    }
    if (disp.filename) {
        if (!set_string(pt->obj, "filename", disp.filename, disp.filename_len))
            rc = 1;
    } else if (json_object_set_new(pt->obj, "filename", json_null())) {
        rc = 1;
    }
    if (pt->ct.present) {
        if (!set_string(pt->obj, "content_type", pt->ct.s, pt->ct.len))
            rc = 1;
    } else if (json_object_set_new(pt->obj, "content_type", json_null())) {
        rc = 1;
    }
    free(out);
    if (rc)
        return stop(d, "mpdump: out of memory");
    pt->listed = true;
    return 0;
}

static int on_data(struct mp_parser *p, const char *at, size_t len)
{
    struct dump *d = p->data;

    if (!d->cur.listed)
        return 0;
    if (EVP_DigestUpdate(d->cur.md, at, len) != 1)
        return stop(d, "mpdump: EVP_DigestUpdate failed");
    d->cur.size += len;
    return 0;
}

static int on_part_end(struct mp_parser *p)
{
    static const char hexd[] = "0123456789abcdef";
    struct dump *d = p->data;
    struct part *pt = &d->cur;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char hex[2 * EVP_MAX_MD_SIZE + 1];

    if (!pt->listed)
        goto out;
    if (EVP_DigestFinal_ex(pt->md, md, &mdlen) != 1)
        return stop(d, "mpdump: EVP_DigestFinal_ex failed");
    for (size_t i = 0; i < mdlen; i++) {
        hex[2 * i] = hexd[md[i] >> 4];
        hex[2 * i + 1] = hexd[md[i] & 0xf];
    }
    hex[2 * (size_t)mdlen] = '\0';
    if (json_object_set_new(pt->obj, "size",
                            json_integer((json_int_t)pt->size)) ||
        json_object_set_new(pt->obj, "sha256", json_string(hex)) ||
        json_array_append(d->parts, pt->obj))
        return stop(d, "mpdump: out of memory");
out:
    part_clear(pt);
    return 0;
}

static const struct mp_callbacks dump_callbacks = {
    .on_part_begin = on_part_begin,
    .on_header = on_header,
    .on_headers_complete = on_headers_complete,
    .on_data = on_data,
    .on_part_end = on_part_end,
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: mpdump [--chunk N | --bytewise | --chunks A,B,...] "
            "CONTENT_TYPE < body\n"
            "Parses a multipart/form-data body from stdin and prints its "
            "parts as JSON.\n"
            "  --chunk N      feed the parser N bytes per call (default "
            "%d)\n"
            "  --bytewise     feed one byte per call (--chunk 1)\n"
            "  --chunks A,..  feed pieces of these sizes, then the rest\n"
            "Exit 0: complete body; 1: parse error (JSON has \"error\"); "
            "2: usage.\n",
            DEFAULT_CHUNK);
}

/* Parse a decimal size; false unless the whole string is one. */
static bool parse_size(const char *s, size_t *out)
{
    char *end;
    unsigned long long v;

    if (*s < '0' || *s > '9')
        return false;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v > SIZE_MAX)
        return false;
    *out = (size_t)v;
    return true;
}

/* "A,B,C" into sizes[]; false on a malformed list. */
static bool parse_chunks(const char *s, size_t *sizes, size_t *n)
{
    char tmp[32];

    *n = 0;
    while (*s) {
        const char *comma = strchr(s, ',');
        size_t len = comma ? (size_t)(comma - s) : strlen(s);
        if (len == 0 || len >= sizeof(tmp) || *n == MAX_CHUNKS)
            return false;
        memcpy(tmp, s, len);
        tmp[len] = '\0';
        if (!parse_size(tmp, &sizes[*n]))
            return false;
        (*n)++;
        if (!comma)
            return true;
        s = comma + 1;
        if (*s == '\0')
            return false;
    }
    return *n > 0;
}

/* Read all of stdin. Returns false (errno kept) on a read error. */
static bool read_all(char **buf, size_t *len)
{
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap);

    if (!b)
        return false;
    for (;;) {
        size_t r;
        if (n == cap) {
            char *nb = cap > SIZE_MAX / 2 ? NULL : realloc(b, cap * 2);
            if (!nb) {
                free(b);
                errno = ENOMEM;
                return false;
            }
            b = nb;
            cap *= 2;
        }
        r = fread(b + n, 1, cap - n, stdin);
        n += r;
        if (r == 0) {
            if (ferror(stdin)) {
                free(b);
                return false;
            }
            break;
        }
    }
    *buf = b;
    *len = n;
    return true;
}

/* Feed body to the parser in the chosen pieces, then finish. */
static void feed(struct mp_parser *p, const char *body, size_t len,
                 size_t chunk, const size_t *sizes, size_t nsizes)
{
    size_t off = 0, k = 0;

    while (mp_parser_errno(p) == MP_OK) {
        size_t n;
        if (k < nsizes)
            n = sizes[k++];
        else if (nsizes > 0)
            n = len - off; /* the rest after the listed pieces */
        else
            n = chunk;
        if (n > len - off)
            n = len - off;
        if (n == 0 && off == len)
            break;
        if (mp_parser_execute(p, &dump_callbacks, body + off, n) != n)
            break;
        off += n;
    }
    mp_parser_finish(p, &dump_callbacks);
}

int main(int argc, char **argv)
{
    static size_t sizes[MAX_CHUNKS];
    size_t chunk = DEFAULT_CHUNK, nsizes = 0, len = 0;
    const char *ct = NULL;
    struct dump d = {0};
    struct mp_parser p;
    enum mp_errno e;
    json_t *root;
    char *body = NULL;
    int modes = 0, rc;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--bytewise") == 0) {
            chunk = 1;
            modes++;
        } else if (strcmp(a, "--chunk") == 0 && i + 1 < argc) {
            if (!parse_size(argv[++i], &chunk) || chunk == 0) {
                fprintf(stderr,
                        "mpdump: --chunk wants a size >= 1, not "
                        "'%s'\n",
                        argv[i]);
                return 2;
            }
            modes++;
        } else if (strcmp(a, "--chunks") == 0 && i + 1 < argc) {
            if (!parse_chunks(argv[++i], sizes, &nsizes)) {
                fprintf(stderr,
                        "mpdump: --chunks wants sizes like "
                        "100,1,20, not '%s'\n",
                        argv[i]);
                return 2;
            }
            modes++;
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "mpdump: unknown or incomplete option '%s'\n", a);
            usage(stderr);
            return 2;
        } else if (ct) {
            fprintf(stderr, "mpdump: one CONTENT_TYPE argument only\n");
            usage(stderr);
            return 2;
        } else {
            ct = a;
        }
    }
    if (!ct || modes > 1) {
        fprintf(stderr, ct ? "mpdump: --chunk, --bytewise and --chunks "
                             "exclude each other\n"
                           : "mpdump: CONTENT_TYPE missing\n");
        usage(stderr);
        return 2;
    }
    if (!read_all(&body, &len)) {
        fprintf(stderr, "mpdump: reading stdin: %s\n", strerror(errno));
        return 2;
    }

    d.parts = json_array();
    root = json_object();
    if (!d.parts || !root) {
        fprintf(stderr, "mpdump: out of memory\n");
        return 2;
    }
    e = mp_parser_init(&p, ct, strlen(ct), NULL);
    if (e == MP_OK) {
        p.data = &d;
        feed(&p, body, len, chunk, sizes, nsizes);
        e = mp_parser_errno(&p);
    } else {
        p.error_offset = 0;
    }
    part_clear(&d.cur);
    if (e != MP_OK) {
        json_object_set_new(root, "error", json_string(mp_errno_name(e)));
        json_object_set_new(root, "offset",
                            json_integer((json_int_t)p.error_offset));
        if (e == MP_E_CALLBACK && d.detail)
            json_object_set_new(root, "detail", json_string(d.detail));
    }
    json_object_set(root, "parts", d.parts);
    rc = json_dumpf(root, stdout, JSON_COMPACT) == 0 && putchar('\n') != EOF &&
                 fflush(stdout) == 0
             ? (e == MP_OK ? 0 : 1)
             : 2;
    if (rc == 2)
        fprintf(stderr, "mpdump: writing stdout failed\n");
    json_decref(root);
    json_decref(d.parts);
    free(body);
    return rc;
}
