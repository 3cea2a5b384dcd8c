/*
 * taskstore.c - the task record, shared by every store.
 */
#include "taskstore.h"

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
