/*
 * jsonx.c - JSON output helpers; see jsonx.h.
 */
#include "jsonx.h"

#include <errno.h>
#include <string.h>

#include "utf8.h"

static const char hexdig[] = "0123456789abcdef";

static int append_u_escape(struct bbuf *b, unsigned char c)
{
    char esc[6] = {'\\', 'u', '0', '0', hexdig[c >> 4], hexdig[c & 0xf]};

    return bbuf_append(b, esc, sizeof(esc));
}

static int append_escaped(struct bbuf *b, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, run, n;
    uint32_t cp;
    int rc;

    while (i < len) {
        /* copy the longest run of bytes that need no escaping at once */
        run = i;
        while (run < len && p[run] >= 0x20 && p[run] < 0x80 && p[run] != '"' &&
               p[run] != '\\')
            run++;
        if (run > i) {
            rc = bbuf_append(b, s + i, run - i);
            if (rc)
                return rc;
            i = run;
            continue;
        }
        if (p[i] >= 0x80) {
            n = utf8_decode(p + i, len - i, &cp);
            if (n) {
                rc = bbuf_append(b, s + i, n);
                i += n;
            } else {
                rc = append_u_escape(b, p[i++]);
            }
        } else if (p[i] == '"' || p[i] == '\\') {
            char esc[2] = {'\\', (char)p[i++]};
            rc = bbuf_append(b, esc, 2);
        } else if (p[i] == '\n') {
            rc = bbuf_append(b, "\\n", 2);
            i++;
        } else if (p[i] == '\r') {
            rc = bbuf_append(b, "\\r", 2);
            i++;
        } else if (p[i] == '\t') {
            rc = bbuf_append(b, "\\t", 2);
            i++;
        } else {
            rc = append_u_escape(b, p[i++]);
        }
        if (rc)
            return rc;
    }
    return 0;
}

int json_append_string(struct bbuf *b, const char *s, size_t len)
{
    size_t start = b->len;
    int rc;

    rc = bbuf_append_char(b, '"');
    if (!rc)
        rc = append_escaped(b, s, len);
    if (!rc)
        rc = bbuf_append_char(b, '"');
    if (rc)
        bbuf_truncate(b, start);
    return rc;
}

void json_obj_begin(struct json_obj *o, struct bbuf *b)
{
    o->b = b;
    o->start = b->len;
    o->first = true;
    o->err = bbuf_append_char(b, '{');
}

/* Write the separator and "key": of the next member; *mark gets the length
 * to roll back to if the value does not fit, so a failed member leaves no
 * trace and the members before it stay usable (see fu_log_end()). */
static bool obj_key(struct json_obj *o, const char *key, size_t *mark)
{
    if (o->err)
        return false;
    *mark = o->b->len;
    if (!o->first)
        o->err = bbuf_append_char(o->b, ',');
    if (!o->err)
        o->err = json_append_string(o->b, key, strlen(key));
    if (!o->err)
        o->err = bbuf_append_char(o->b, ':');
    if (o->err) {
        bbuf_truncate(o->b, *mark);
        return false;
    }
    return true;
}

static void obj_value_done(struct json_obj *o, int rc, size_t mark)
{
    if (rc) {
        o->err = rc;
        bbuf_truncate(o->b, mark);
    } else {
        o->first = false;
    }
}

void json_obj_strn(struct json_obj *o, const char *key, const char *val,
                   size_t len)
{
    size_t mark;

    if (!obj_key(o, key, &mark))
        return;
    obj_value_done(o,
                   val ? json_append_string(o->b, val, len)
                       : bbuf_append_str(o->b, "null"),
                   mark);
}

void json_obj_str(struct json_obj *o, const char *key, const char *val)
{
    json_obj_strn(o, key, val, val ? strlen(val) : 0);
}

void json_obj_u64(struct json_obj *o, const char *key, uint64_t v)
{
    size_t mark;

    if (obj_key(o, key, &mark))
        obj_value_done(o, bbuf_append_u64(o->b, v), mark);
}

void json_obj_int(struct json_obj *o, const char *key, long long v)
{
    size_t mark;

    if (obj_key(o, key, &mark))
        obj_value_done(o, bbuf_printf(o->b, "%lld", v), mark);
}

void json_obj_bool(struct json_obj *o, const char *key, bool v)
{
    size_t mark;

    if (obj_key(o, key, &mark))
        obj_value_done(o, bbuf_append_str(o->b, v ? "true" : "false"), mark);
}

int json_obj_end(struct json_obj *o)
{
    if (!o->err)
        o->err = bbuf_append_char(o->b, '}');
    if (o->err)
        bbuf_truncate(o->b, o->start);
    return o->err;
}

int json_error_body(struct bbuf *b, const char *detail, const char *code)
{
    struct json_obj o;

    json_obj_begin(&o, b);
    json_obj_str(&o, "detail", detail);
    json_obj_str(&o, "error_code", code);
    return json_obj_end(&o);
}

int json_dump_bbuf(const json_t *j, struct bbuf *b)
{
    size_t flags = JSON_COMPACT | JSON_REAL_PRECISION(10);
    size_t avail = bbuf_avail(b);
    size_t need;

    need = json_dumpb(j, b->ptr + b->len, avail, flags);
    if (need == 0)
        return -ENOMEM;
    if (need > avail) {
        b->ptr[b->len] = '\0';
        return -ENOBUFS;
    }
    b->len += need;
    b->ptr[b->len] = '\0';
    return 0;
}
