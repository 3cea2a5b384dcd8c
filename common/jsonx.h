/*
 * jsonx.h - JSON output for fcgi_upload.
 *
 * Two kinds of helpers, for two reasons:
 *  - A writer that never allocates (json_obj_*): error bodies and log lines
 *    must still be produced when malloc fails, and they carry client bytes
 *    (paths, header values) that need not be UTF-8. Any input gives valid
 *    JSON: valid UTF-8 is kept, control characters, '"' and '\\' are
 *    escaped, and a byte that is not part of valid UTF-8 is written as
 *    \u00XX (its Latin-1 reading).
 *  - json_dump_bbuf() over jansson, for records built with json_pack()
 *    (task records, the 202 answer, /health).
 *
 * All output goes into a caller-owned struct bbuf (see bbuf.h) and is
 * all-or-nothing: on -ENOBUFS the buffer is as it was before the call (for
 * json_obj_*, as it was before json_obj_begin()).
 */
#ifndef FU_JSONX_H
#define FU_JSONX_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bbuf.h"

/* Append s[0..len) as a quoted JSON string. 0 or -ENOBUFS. */
int json_append_string(struct bbuf *b, const char *s, size_t len);

/* A flat JSON object written straight into a bbuf. A member that does not
 * fit leaves no trace and its error sticks (later members are skipped), so
 * the buffer always holds a valid prefix of members; json_obj_end() reports
 * the error and rolls the buffer back to where json_obj_begin() found it
 * (fu_log_end() instead clears the error and keeps the members that fit). */
struct json_obj {
    struct bbuf *b;
    size_t start; /* b->len at json_obj_begin() */
    int err;
    bool first;
};

void json_obj_begin(struct json_obj *o, struct bbuf *b);
/* "key":"val", or "key":null when val is NULL. key must be plain ASCII. */
void json_obj_str(struct json_obj *o, const char *key, const char *val);
void json_obj_strn(struct json_obj *o, const char *key, const char *val,
                   size_t len);
void json_obj_u64(struct json_obj *o, const char *key, uint64_t v);
void json_obj_int(struct json_obj *o, const char *key, long long v);
void json_obj_bool(struct json_obj *o, const char *key, bool v);
/* 0, or the first error (-ENOBUFS) with b back at its length at begin. */
int json_obj_end(struct json_obj *o);

/* {"detail":detail,"error_code":code}, appended to b. */
int json_error_body(struct bbuf *b, const char *detail, const char *code);

/* Append the compact serialisation of j (reals with at most 10 significant
 * digits, so 0.3 stays 0.3). 0, -ENOBUFS if it does not fit, -ENOMEM if
 * jansson could not serialise (allocation failure). */
int json_dump_bbuf(const json_t *j, struct bbuf *b);

#endif
