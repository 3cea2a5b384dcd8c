/*
 * multipart.c - the streaming multipart/form-data state machine.
 *
 * Delimiter search. A delimiter is CRLF "--" boundary (RFC 2046 5.1.1); the
 * very first one may come without the CRLF, so the parser starts as if it
 * had just matched a CRLF. Part data is scanned with memmem() for the whole
 * delimiter, which runs at memory speed; only the last delim_len-1 bytes of
 * a buffer are checked for a partial delimiter, which is then held back
 * (match > 0) and completed byte by byte in the next execute() call.
 *
 * Why giving held bytes back is sound: when a held partial delimiter fails
 * to match, the held bytes are "\r\n--" plus a prefix of the boundary. A
 * delimiter can only start at a CR, and the held bytes have their only CR at
 * position 0, so no delimiter can start inside them: they are all data, and
 * only the byte that failed to match needs to be scanned again. The same
 * holds after a full delimiter that turns out not to end its line ("--bx",
 * padding then garbage, or CR without LF): the boundary has no CR, padding
 * has none, and a trailing CR is followed by a byte that is not LF.
 *
 * A full delimiter followed by anything but "--", or transport padding and
 * CRLF, is not a delimiter line: in part data it is data (as python-multipart
 * and busboy treat it), in the preamble it is preamble.
 */
#include <assert.h>
#include <string.h>

#include "multipart.h"

enum state {
    s_preamble = 1, /* before the first delimiter: bytes are discarded */
    s_data,         /* part data */
    s_delim_after,  /* a full delimiter was matched; what ends its line? */
    s_delim_dash,   /* delimiter and "-": close delimiter if one more "-" */
    s_delim_pad,    /* delimiter and transport padding */
    s_delim_lf,     /* delimiter (and padding) and CR: expect LF */
    s_hdr_line,     /* start of a part header line */
    s_hdr_name,
    s_hdr_ows, /* after ":" or a folded line break: skip spaces, tabs */
    s_hdr_value,
    s_hdr_lf,     /* CR at the end of a header line: expect LF */
    s_hdr_end_lf, /* CR of the blank line ending the headers: expect LF */
    s_epilogue    /* after the close delimiter: bytes are discarded */
};

static const char *const errno_names[] = {
#define MP_ERRNO_NAME(name, msg) #name,
    MP_ERRNO_MAP(MP_ERRNO_NAME)
#undef MP_ERRNO_NAME
};

static const char *const errno_messages[] = {
#define MP_ERRNO_MSG(name, msg) msg,
    MP_ERRNO_MAP(MP_ERRNO_MSG)
#undef MP_ERRNO_MSG
};

const char *mp_errno_name(enum mp_errno e)
{
    return (unsigned)e < MP_E__COUNT ? errno_names[e] : "UNKNOWN";
}

const char *mp_errno_message(enum mp_errno e)
{
    return (unsigned)e < MP_E__COUNT ? errno_messages[e] : "unknown error";
}

struct mp_limits mp_limits_default(void)
{
    struct mp_limits l = {
        .header_bytes = MP_DEFAULT_HEADER_BYTES,
        .headers = MP_DEFAULT_HEADERS,
        .parts = MP_DEFAULT_PARTS,
        .field_bytes = MP_DEFAULT_FIELD_BYTES,
    };
    return l;
}

/* RFC 7230 tchar, as a table for the header-name loop. */
static const unsigned char tchar[256] = {
    ['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1,
    ['*'] = 1, ['+'] = 1, ['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1,
    ['`'] = 1, ['|'] = 1, ['~'] = 1, ['0'] = 1, ['1'] = 1, ['2'] = 1,
    ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1,
    ['9'] = 1, ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1,
    ['F'] = 1, ['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1,
    ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1,
    ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1,
    ['X'] = 1, ['Y'] = 1, ['Z'] = 1, ['a'] = 1, ['b'] = 1, ['c'] = 1,
    ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1,
    ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1,
    ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1,
    ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1,
};

enum mp_errno mp_parser_init(struct mp_parser *p, const char *content_type,
                             size_t ct_len, const struct mp_limits *limits)
{
    size_t blen = 0;
    enum mp_errno e;

    memset(p, 0, offsetof(struct mp_parser, hdr));
    p->limits = limits ? *limits : mp_limits_default();
    p->state = s_preamble;
    if (p->limits.header_bytes == 0 ||
        p->limits.header_bytes > MP_HEADER_BYTES_CAP ||
        p->limits.headers == 0 || p->limits.parts == 0 ||
        p->limits.field_bytes == 0) {
        p->err = MP_E_LIMIT_INVALID;
        return p->err;
    }
    e = mp_boundary_parse(content_type, ct_len, p->delim + 4, &blen);
    if (e != MP_OK) {
        p->err = e;
        return e;
    }
    memcpy(p->delim, "\r\n--", 4);
    p->delim_len = 4 + blen;
    /* The body may begin with the delimiter itself: pretend a CRLF came. */
    p->match = 2;
    return MP_OK;
}

enum mp_errno mp_parser_errno(const struct mp_parser *p)
{
    return p->err;
}

bool mp_parser_body_done(const struct mp_parser *p)
{
    return p->err == MP_OK && p->state == s_epilogue;
}

static void fail(struct mp_parser *p, enum mp_errno e, uint64_t at)
{
    if (p->err == MP_OK) {
        p->err = e;
        p->error_offset = at;
    }
}

static bool call(struct mp_parser *p, mp_cb cb, uint64_t at)
{
    if (cb && cb(p) != 0) {
        fail(p, MP_E_CALLBACK, at);
        return false;
    }
    return true;
}

/*
 * Hand part data at body offset `at` to the data callback, enforcing the
 * field limit on parts without a filename. Returns false on error.
 */
static bool emit(struct mp_parser *p, const struct mp_callbacks *cbs,
                 const char *at, size_t n, uint64_t off)
{
    if (n == 0)
        return true;
    if (!(p->part_flags & MP_PART_FILENAME) &&
        n > p->limits.field_bytes - p->part_bytes) {
        /* Hand over what still fits, so the transcript does not depend on
         * how the body was split, then stop at the first byte too many. */
        size_t fit = (size_t)(p->limits.field_bytes - p->part_bytes);
        if (fit > 0 && !emit(p, cbs, at, fit, off))
            return false;
        fail(p, MP_E_FIELD_TOO_LARGE, off + fit);
        return false;
    }
    p->part_bytes += n;
    if (cbs->on_data && cbs->on_data(p, at, n) != 0) {
        fail(p, MP_E_CALLBACK, off + n);
        return false;
    }
    return true;
}

/*
 * A held delimiter (match bytes, or the whole delimiter plus `extra` bytes
 * after it) turned out not to be one. In part data the bytes are data; in
 * the preamble they are dropped. The caller rescans the current byte.
 */
static bool give_back(struct mp_parser *p, const struct mp_callbacks *cbs,
                      size_t held, const char *extra, size_t extra_len)
{
    bool ok = true;
    if (p->in_part) {
        ok = emit(p, cbs, p->delim, held, p->match_start) &&
             emit(p, cbs, extra, extra_len, p->match_start + held);
    }
    p->match = 0;
    p->pad = 0;
    p->state = p->in_part ? s_data : s_preamble;
    return ok;
}

static bool ieq_lit(const char *a, size_t alen, const char *lit, size_t n)
{
    if (alen != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)a[i];
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c - 'A' + 'a');
        if (c != (unsigned char)lit[i])
            return false;
    }
    return true;
}

/* Emit the completed header line held in hdr. `at` is the offset of the
 * byte that showed the line was complete. */
static bool header_done(struct mp_parser *p, const struct mp_callbacks *cbs,
                        uint64_t at)
{
    const char *name = p->hdr, *value = p->hdr + p->name_len;
    size_t vlen = p->hdr_len - p->name_len;

    while (vlen > 0 && (value[vlen - 1] == ' ' || value[vlen - 1] == '\t'))
        vlen--;
    p->have_header = false;
    p->hdr_len = 0;

    if (vlen > 0 && ieq_lit(name, p->name_len, "content-disposition", 19)) {
        struct mp_disposition d;
        enum mp_errno e;
        if (p->part_flags & MP_PART_DISPOSITION) {
            fail(p, MP_E_DISPOSITION_DUPLICATE, at);
            return false;
        }
        e = mp_disposition_parse(value, vlen, NULL, 0, &d);
        if (e == MP_OK && !d.form_data)
            e = MP_E_DISPOSITION_TYPE;
        if (e != MP_OK) {
            fail(p, e, at);
            return false;
        }
        p->part_flags |= MP_PART_DISPOSITION;
        if (d.has_filename)
            p->part_flags |= MP_PART_FILENAME;
    }
    if (cbs->on_header &&
        cbs->on_header(p, name, p->name_len, value, vlen) != 0) {
        fail(p, MP_E_CALLBACK, at);
        return false;
    }
    return true;
}

/* Count one header byte against the per-part limit. */
static bool header_byte(struct mp_parser *p, uint64_t at)
{
    if (p->header_bytes >= p->limits.header_bytes) {
        fail(p, MP_E_HEADERS_TOO_LARGE, at);
        return false;
    }
    p->header_bytes++;
    return true;
}

/* A delimiter line ended with CRLF: end the current part, begin the next. */
static bool part_begin(struct mp_parser *p, const struct mp_callbacks *cbs,
                       uint64_t at)
{
    if (p->in_part && !call(p, cbs->on_part_end, at))
        return false;
    if (p->parts >= p->limits.parts) {
        fail(p, MP_E_TOO_MANY_PARTS, at);
        return false;
    }
    p->parts++;
    p->in_part = true;
    p->part_bytes = 0;
    p->part_flags = 0;
    p->headers = 0;
    p->header_bytes = 0;
    p->hdr_len = 0;
    p->have_header = false;
    p->match = 0;
    p->pad = 0;
    p->state = s_hdr_line;
    return call(p, cbs->on_part_begin, at);
}

/*
 * Data and preamble: find the delimiter in buf[i..len). Returns the new
 * position; the state changes to s_delim_after when a delimiter is found.
 */
static size_t scan_data(struct mp_parser *p, const struct mp_callbacks *cbs,
                        const char *buf, size_t i, size_t len)
{
    const size_t dlen = p->delim_len;
    const char *hit, *cr;
    size_t from, tail;

    if (p->match > 0) {
        while (i < len && p->match < dlen && buf[i] == p->delim[p->match]) {
            p->match++;
            i++;
        }
        if (p->match == dlen) {
            p->match = 0;
            p->state = s_delim_after;
            return i;
        }
        if (i == len)
            return i;
        if (!give_back(p, cbs, p->match, NULL, 0))
            return i;
    }

    hit = memmem(buf + i, len - i, p->delim, dlen);
    if (hit) {
        size_t at = (size_t)(hit - buf);
        if (p->in_part && !emit(p, cbs, buf + i, at - i, p->offset + i))
            return at;
        p->match_start = p->offset + at;
        p->state = s_delim_after;
        return at + dlen;
    }

    /* No whole delimiter: hold back a partial one at the very end. */
    tail = len - i < dlen - 1 ? len - i : dlen - 1;
    from = len - tail;
    while ((cr = memchr(buf + from, '\r', len - from)) != NULL) {
        size_t at = (size_t)(cr - buf);
        if (memcmp(cr, p->delim, len - at) == 0) {
            if (p->in_part && !emit(p, cbs, buf + i, at - i, p->offset + i))
                return at;
            p->match = len - at;
            p->match_start = p->offset + at;
            return len;
        }
        from = at + 1;
    }
    if (p->in_part)
        emit(p, cbs, buf + i, len - i, p->offset + i);
    return len;
}

size_t mp_parser_execute(struct mp_parser *p, const struct mp_callbacks *cbs,
                         const char *buf, size_t len)
{
    size_t i = 0;

    if (p->err != MP_OK)
        return 0;

    while (i < len && p->err == MP_OK) {
        const unsigned char c = (unsigned char)buf[i];
        const uint64_t at = p->offset + i;

        switch ((enum state)p->state) {
        case s_preamble:
        case s_data:
            i = scan_data(p, cbs, buf, i, len);
            continue;

        case s_delim_after:
            if (c == '-') {
                p->state = s_delim_dash;
            } else if (c == ' ' || c == '\t') {
                p->padding[p->pad++] = (char)c;
                p->state = s_delim_pad;
            } else if (c == '\r') {
                p->state = s_delim_lf;
            } else {
                give_back(p, cbs, p->delim_len, NULL, 0);
                continue; /* rescan c */
            }
            break;

        case s_delim_dash:
            if (c != '-') {
                give_back(p, cbs, p->delim_len, "-", 1);
                continue;
            }
            if (p->in_part && !call(p, cbs->on_part_end, at))
                break;
            /* A close delimiter right after a preamble: an empty form is
             * only accepted as browsers send it, the close delimiter alone.
             * Otherwise the client most likely used another boundary. */
            if (p->parts == 0 && p->match_start > 0) {
                fail(p, MP_E_PREAMBLE_ONLY, at);
                break;
            }
            p->in_part = false;
            p->state = s_epilogue;
            call(p, cbs->on_body_end, at);
            break;

        case s_delim_pad:
            if (c == ' ' || c == '\t') {
                if (p->pad == MP_PADDING_MAX) {
                    fail(p, MP_E_BAD_DELIMITER, at);
                    break;
                }
                p->padding[p->pad++] = (char)c;
            } else if (c == '\r') {
                p->state = s_delim_lf;
            } else {
                give_back(p, cbs, p->delim_len, p->padding, p->pad);
                continue;
            }
            break;

        case s_delim_lf:
            if (c != '\n') {
                /* The CR ends the held bytes: padding then "\r". */
                char held[MP_PADDING_MAX + 1];
                memcpy(held, p->padding, p->pad);
                held[p->pad] = '\r';
                give_back(p, cbs, p->delim_len, held, p->pad + 1);
                continue;
            }
            part_begin(p, cbs, at + 1);
            break;

        case s_hdr_line:
            if (!header_byte(p, at))
                break;
            if (c == ' ' || c == '\t') {
                /* obs-fold (RFC 7230 3.2.4): joined with one space. */
                if (!p->have_header) {
                    fail(p, MP_E_HEADER_FOLD, at);
                    break;
                }
                p->have_header = false;
                while (p->hdr_len > p->name_len &&
                       (p->hdr[p->hdr_len - 1] == ' ' ||
                        p->hdr[p->hdr_len - 1] == '\t'))
                    p->hdr_len--;
                if (p->hdr_len > p->name_len)
                    p->hdr[p->hdr_len++] = ' ';
                p->state = s_hdr_ows;
                break;
            }
            if (p->have_header && !header_done(p, cbs, at))
                break;
            if (c == '\r') {
                p->state = s_hdr_end_lf;
            } else if (c == '\n') {
                fail(p, MP_E_HEADER_BARE_LF, at);
            } else if (c == ':') {
                fail(p, MP_E_HEADER_NAME_EMPTY, at);
            } else if (!tchar[c]) {
                fail(p, MP_E_HEADER_NAME_CHAR, at);
            } else if (p->headers >= p->limits.headers) {
                fail(p, MP_E_TOO_MANY_HEADERS, at);
            } else {
                p->headers++;
                p->hdr[p->hdr_len++] = (char)c;
                p->state = s_hdr_name;
            }
            break;

        case s_hdr_name:
            if (!header_byte(p, at))
                break;
            if (tchar[c]) {
                p->hdr[p->hdr_len++] = (char)c;
            } else if (c == ':') {
                p->name_len = p->hdr_len;
                p->state = s_hdr_ows;
            } else if (c == '\r' || c == '\n') {
                fail(p, MP_E_HEADER_NO_COLON, at);
            } else {
                fail(p, MP_E_HEADER_NAME_CHAR, at);
            }
            break;

        case s_hdr_ows:
            if (c != ' ' && c != '\t') {
                p->state = s_hdr_value;
                continue;
            }
            if (!header_byte(p, at))
                break;
            break;

        case s_hdr_value:
            if (!header_byte(p, at))
                break;
            if (c == '\r') {
                p->state = s_hdr_lf;
            } else if (c == '\n') {
                fail(p, MP_E_HEADER_BARE_LF, at);
            } else if ((c < 0x20 && c != '\t') || c == 0x7f) {
                fail(p, MP_E_HEADER_VALUE_CHAR, at);
            } else {
                p->hdr[p->hdr_len++] = (char)c;
            }
            break;

        case s_hdr_lf:
            if (!header_byte(p, at))
                break;
            if (c != '\n') {
                fail(p, MP_E_HEADER_BARE_CR, at);
                break;
            }
            p->have_header = true;
            p->state = s_hdr_line;
            break;

        case s_hdr_end_lf:
            if (!header_byte(p, at))
                break;
            if (c != '\n') {
                fail(p, MP_E_HEADER_BARE_CR, at);
                break;
            }
            p->state = s_data;
            p->part_bytes = 0;
            call(p, cbs->on_headers_complete, at + 1);
            break;

        case s_epilogue:
            i = len;
            continue;

        default:
            assert(!"multipart: unknown state");
            fail(p, MP_E_CALLBACK, at);
            break;
        }
        i++;
    }
    if (p->err != MP_OK) {
        if (p->error_offset < p->offset)
            return 0;
        if (p->error_offset - p->offset >= len)
            return len - 1;
        return (size_t)(p->error_offset - p->offset);
    }
    p->offset += len;
    return len;
}

enum mp_errno mp_parser_finish(struct mp_parser *p,
                               const struct mp_callbacks *cbs)
{
    (void)cbs;
    if (p->err != MP_OK)
        return p->err;
    if (p->state == s_epilogue)
        return MP_OK;
    fail(p, p->in_part ? MP_E_TRUNCATED : MP_E_NO_DELIMITER, p->offset);
    return p->err;
}
