/*
 * multipart.h - a streaming multipart/form-data parser (RFC 2046, RFC 7578).
 *
 * A pure library: no I/O, no allocation, no global state. The caller owns a
 * struct mp_parser (on the stack, or inside its per-request struct), one
 * const struct mp_callbacks table can be shared by every request, and the
 * body is fed in pieces of any size:
 *
 *     struct mp_parser p;
 *     if (mp_parser_init(&p, content_type, ct_len, NULL) != MP_OK) ...
 *     p.data = my_request;
 *     while ((n = read(...)) > 0)
 *         if (mp_parser_execute(&p, &cbs, buf, n) != n) break;
 *     mp_parser_finish(&p, &cbs);
 *     if (mp_parser_errno(&p) != MP_OK) ... mp_errno_name(), p.error_offset
 *
 * Callbacks return 0 to go on; any other value stops the parser with
 * MP_E_CALLBACK (the caller keeps its own reason). Pointers handed to a
 * callback are valid only during that call. Data pointers point into the
 * caller's buffer, except for bytes the parser held back across an execute()
 * call because they might have begun a delimiter: those are handed back from
 * the parser's own copy of the delimiter, once it is clear they are data.
 *
 * Errors stick: once set, execute() and finish() return at once. A body that
 * ends before its close delimiter is an error (MP_E_TRUNCATED or
 * MP_E_NO_DELIMITER), never a complete upload.
 */
#ifndef FU_MULTIPART_H
#define FU_MULTIPART_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mp_limits.h"

/* One table of every error: enum name, and message. */
#define MP_ERRNO_MAP(XX)                                                       \
    XX(OK, "success")                                                          \
    XX(CT_NOT_MULTIPART, "Content-Type is not multipart/form-data")            \
    XX(CT_SYNTAX, "malformed Content-Type parameters")                         \
    XX(BOUNDARY_MISSING, "Content-Type has no boundary parameter")             \
    XX(BOUNDARY_DUPLICATE, "Content-Type has more than one boundary")          \
    XX(BOUNDARY_LENGTH, "boundary is empty or longer than 70 characters")      \
    XX(BOUNDARY_CHAR, "boundary has a character outside RFC 2046's set")       \
    XX(LIMIT_INVALID, "a parser limit is zero or above its compile-time cap")  \
    XX(NO_DELIMITER, "body ended before its first delimiter")                  \
    XX(PREAMBLE_ONLY, "body has a preamble and no part (another boundary?)")   \
    XX(BAD_DELIMITER, "delimiter padding too long or not ended by CRLF")       \
    XX(HEADER_NAME_EMPTY, "part header line with an empty name")               \
    XX(HEADER_NAME_CHAR, "invalid character in part header name")              \
    XX(HEADER_NO_COLON, "part header line without a colon")                    \
    XX(HEADER_VALUE_CHAR, "invalid character in part header value")            \
    XX(HEADER_BARE_CR, "CR not followed by LF in part headers")                \
    XX(HEADER_BARE_LF, "LF without CR in part headers")                        \
    XX(HEADER_FOLD, "continuation line without a header to continue")          \
    XX(HEADERS_TOO_LARGE, "part headers exceed the byte limit")                \
    XX(TOO_MANY_HEADERS, "part has more headers than the limit")               \
    XX(TOO_MANY_PARTS, "body has more parts than the limit")                   \
    XX(FIELD_TOO_LARGE, "form field value exceeds the size limit")             \
    XX(DISPOSITION_SYNTAX, "malformed Content-Disposition header")             \
    XX(DISPOSITION_TYPE, "Content-Disposition type is not form-data")          \
    XX(DISPOSITION_NO_NAME, "Content-Disposition without a name parameter")    \
    XX(DISPOSITION_DUPLICATE, "part has two Content-Disposition headers")      \
    XX(DISPOSITION_CHARSET, "filename* charset is not UTF-8 or ISO-8859-1")    \
    XX(DISPOSITION_UTF8, "filename* does not decode to valid UTF-8")           \
    XX(TRUNCATED, "body ended before the close delimiter")                     \
    XX(CALLBACK, "a callback stopped the parser")

enum mp_errno {
#define MP_ERRNO_ENUM(name, msg) MP_E_##name,
    MP_ERRNO_MAP(MP_ERRNO_ENUM)
#undef MP_ERRNO_ENUM
        MP_E__COUNT
};
#define MP_OK MP_E_OK

/* "TRUNCATED"; "UNKNOWN" for a value outside the table. Static strings. */
const char *mp_errno_name(enum mp_errno e);
/* The table's message; static string. */
const char *mp_errno_message(enum mp_errno e);

/* Limits a caller may set; 0 is not a valid value. See mp_limits.h. */
struct mp_limits {
    size_t header_bytes;  /* header bytes per part, <= MP_HEADER_BYTES_CAP */
    size_t headers;       /* header lines per part */
    size_t parts;         /* parts per body */
    uint64_t field_bytes; /* data bytes of a part without a filename */
};
/* The defaults from mp_limits.h. */
struct mp_limits mp_limits_default(void);

struct mp_parser;

/* Every callback may be NULL. Return 0 to go on, non-zero to stop. */
typedef int (*mp_cb)(struct mp_parser *p);
typedef int (*mp_data_cb)(struct mp_parser *p, const char *at, size_t len);
typedef int (*mp_header_cb)(struct mp_parser *p, const char *name,
                            size_t name_len, const char *value,
                            size_t value_len);

struct mp_callbacks {
    mp_cb on_part_begin;
    /* One call per header line, folded lines joined by a space, the value
     * without leading or trailing spaces and tabs. */
    mp_header_cb on_header;
    mp_cb on_headers_complete;
    /* Part data, in order; may be called with pieces of any size. */
    mp_data_cb on_data;
    mp_cb on_part_end;
    /* The close delimiter was seen. */
    mp_cb on_body_end;
};

/* Flags of the current part, valid from on_headers_complete to on_part_end. */
#define MP_PART_DISPOSITION 0x1u /* has a form-data Content-Disposition */
#define MP_PART_FILENAME    0x2u /* ... with filename or filename* */

struct mp_parser {
    /* PUBLIC */
    void *data;            /* the caller's, untouched by the parser */
    uint64_t error_offset; /* body offset where the error was detected */
    uint64_t part_bytes;   /* data bytes of the current part so far */
    unsigned part_flags;   /* MP_PART_* of the current part */
    unsigned parts;        /* parts begun so far */

    /* PRIVATE */
    struct mp_limits limits;
    uint64_t offset; /* bytes consumed before the current execute() */
    enum mp_errno err;
    unsigned state;
    unsigned headers;     /* header lines of this part */
    size_t header_bytes;  /* header bytes of this part */
    size_t match;         /* delimiter bytes matched so far */
    uint64_t match_start; /* body offset of the first matched byte */
    size_t pad;           /* transport padding bytes after a delimiter */
    size_t name_len;      /* header name length within hdr */
    size_t hdr_len;       /* bytes in hdr: name then value */
    bool in_part;         /* a part has begun and not ended */
    bool have_header;     /* hdr holds a complete line, maybe to be folded */
    size_t delim_len;     /* strlen("\r\n--") + boundary length */
    char delim[4 + MP_BOUNDARY_MAX];
    char padding[MP_PADDING_MAX];
    char hdr[MP_HEADER_BYTES_CAP];
};

/* Prepare p for one body. content_type is the request's Content-Type value
 * (not NUL-terminated). limits may be NULL for the defaults. Returns MP_OK
 * or the MP_E_CT_*, MP_E_BOUNDARY_* or MP_E_LIMIT_INVALID error, also kept
 * in p. */
enum mp_errno mp_parser_init(struct mp_parser *p, const char *content_type,
                             size_t ct_len, const struct mp_limits *limits);

/* Feed len bytes. Returns len when all were consumed. On error it returns
 * the position in buf where the error was found (always < len), and
 * mp_parser_errno() says which error, p->error_offset where in the body. */
size_t mp_parser_execute(struct mp_parser *p, const struct mp_callbacks *cbs,
                         const char *buf, size_t len);

/* End of input. Returns MP_OK only if the close delimiter was seen. */
enum mp_errno mp_parser_finish(struct mp_parser *p,
                               const struct mp_callbacks *cbs);

/* The sticky error, MP_OK if none. */
enum mp_errno mp_parser_errno(const struct mp_parser *p);

/* True once the close delimiter has been seen. */
bool mp_parser_body_done(const struct mp_parser *p);

/*
 * Helpers, usable on their own.
 */

/* Extract the boundary from a Content-Type value. "multipart/form-data" is
 * matched case-insensitively; other parameters are allowed; the boundary may
 * be a token or a quoted-string and must be 1-70 characters of RFC 2046's
 * bchars, not ending in a space. On MP_OK, out (at least MP_BOUNDARY_MAX
 * bytes) holds *out_len bytes, not NUL-terminated. */
enum mp_errno mp_boundary_parse(const char *ct, size_t len, char *out,
                                size_t *out_len);

/* A parsed Content-Disposition value. name and filename point into the out
 * buffer given to mp_disposition_parse(), not NUL-terminated, or are NULL
 * when absent (or when out was NULL). */
struct mp_disposition {
    bool form_data; /* the type is form-data (case-insensitive) */
    bool has_name;
    bool has_filename; /* filename or filename* */
    const char *name;
    size_t name_len;
    const char *filename; /* filename* wins over filename */
    size_t filename_len;
};

/* Parse a Content-Disposition value: a type, then parameters whose values are
 * tokens or quoted-strings (backslash escapes removed); filename* per RFC 5987
 * (UTF-8 or ISO-8859-1, percent-decoded, returned as UTF-8) takes precedence
 * over filename. In a quoted-string a backslash escapes only '"' and '\\';
 * before any other character it is kept, because browsers send Windows paths
 * unescaped (filename="C:\\dir\\a.wav" arrives as C:\dir\a.wav). Decoded values
 * are written to out, which needs out_cap >= len; out may be NULL to only
 * validate the syntax and fill the flags (the UTF-8 check of a decoded
 * filename* then does not run). Returns MP_OK or an MP_E_DISPOSITION_* error. A
 * form-data disposition without a name is MP_E_DISPOSITION_NO_NAME. */
enum mp_errno mp_disposition_parse(const char *value, size_t len, char *out,
                                   size_t out_cap, struct mp_disposition *d);

#endif
