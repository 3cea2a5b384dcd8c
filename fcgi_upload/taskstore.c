/*
 * taskstore.c - the task record, shared by every store.
 */
#include "taskstore.h"

#include <errno.h>
#include <string.h>

#include "config.h"
#include "utf8.h"

static json_t *str_or_null(const char *s)
{
    return s[0] ? json_string(s) : json_null();
}

json_t *task_record_json(const struct task_record *r)
{
    json_t *features, *obj;
    size_t i;

    features = json_array();
    if (!features)
        return NULL;
    for (i = 0; i < r->features.n; i++) {
        const char *name = feature_name((enum feature)r->features.order[i]);
        if (json_array_append_new(features, json_string(name))) {
            json_decref(features);
            return NULL;
        }
    }
    /* "o" steals the reference to features, also when json_pack fails */
    obj = json_pack("{s:s, s:s, s:s, s:o, s:o, s:s, s:s, s:b, s:b, s:f, "
                    "s:s, s:I, s:s, s:s, s:o, s:o}",
                    "task_id", r->task_id, "status", "PENDING", "submitted_at",
                    r->submitted_at, "features", features, "template_id",
                    r->has_template ? json_string(r->template_id) : json_null(),
                    "file_path", r->file_path, "asr_backend",
                    asr_backend_name(r->asr_backend), "enable_diarization",
                    (int)r->enable_diarization, "enable_vad",
                    (int)r->enable_vad, "vad_threshold", r->vad_threshold,
                    "correlation_id", r->correlation_id, "size_bytes",
                    (json_int_t)r->size_bytes, "sha256", r->sha256, "mime_type",
                    r->mime_type, "original_filename",
                    str_or_null(r->original_filename), "declared_content_type",
                    str_or_null(r->declared_content_type));
    return obj;
}

int taskstore_open(struct taskstore *ts, const struct config *c, int spool_fd)
{
    if (c->redis_url[0])
        return taskstore_redis_open(ts, c, spool_fd);
    return taskstore_fs_open(ts, c, spool_fd);
}

static bool is_name(const char *name, size_t len, const char *lit)
{
    return strlen(lit) == len && memcmp(name, lit, len) == 0;
}

/* The JSON value of a field, by its name (see taskstore.h); NULL when out
 * of memory. */
static json_t *field_value(const char *name, size_t name_len, const char *value,
                           size_t value_len)
{
    if (!utf8_valid(value, value_len))
        return json_null();
    if (is_name(name, name_len, "features")) {
        json_t *a = json_loadb(value, value_len, JSON_DECODE_ANY, NULL);
        if (json_is_array(a))
            return a;
        json_decref(a);
    } else if (is_name(name, name_len, "size_bytes")) {
        uint64_t n;
        if (parse_u64(value, value_len, INT64_MAX, &n) == 0)
            return json_integer((json_int_t)n);
    } else if (value_len == 0 && (is_name(name, name_len, "template_id") ||
                                  is_name(name, name_len, "correlation_id"))) {
        return json_null();
    }
    return json_stringn(value, value_len);
}

int task_hash_field_json(json_t *obj, const char *name, size_t name_len,
                         const char *value, size_t value_len)
{
    char key[256];
    json_t *v;

    /* jansson keys are NUL-terminated: a name with a NUL, or longer than
     * any field we or a worker write, is skipped like a non-UTF-8 one */
    if (name_len >= sizeof(key) || memchr(name, '\0', name_len) ||
        !utf8_valid(name, name_len))
        return 0;
    memcpy(key, name, name_len);
    key[name_len] = '\0';
    v = field_value(name, name_len, value, value_len);
    if (!v || json_object_set_new(obj, key, v))
        return -ENOMEM;
    return 0;
}
