/*
 * upload.c - POST /v1/process: checks before the body, then the body
 * streamed through the multipart parser, the file part to disk, the form
 * fields validated, the task submitted.
 *
 * Order of the checks before any body byte is read (a refused request reads
 * nothing more): method (405), API key (401), Content-Type and boundary
 * (400), CONTENT_LENGTH against the size limit (413), queue depth (429;
 * 503 when the queue, e.g. Redis, cannot be read).
 *
 * While streaming, the first error ends the request at once: the parser is
 * stopped by its callback, nothing more is read, the answer is sent and the
 * task directory with its partial file is removed.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <uuid/uuid.h>

#include "fields.h"
#include "fu_log.h"
#include "jsonx.h"
#include "request_int.h"
#include "sanitize.h"

static const char *const form_field_names[FIELD__COUNT] = {
#define FORM_FIELD_STR(name, str) [FIELD_##name] = (str),
    FORM_FIELD_MAP(FORM_FIELD_STR)
#undef FORM_FIELD_STR
};

static bool name_eq(const char *name, size_t len, const char *lit)
{
    return strlen(lit) == len && strncasecmp(name, lit, len) == 0;
}

/* Part names are compared exactly, as the old service did. */
static bool part_name_is(const struct upload *up, const char *lit)
{
    return strlen(lit) == up->name_len &&
           memcmp(up->name, lit, up->name_len) == 0;
}

/* The answer for a failed sink step. */
static int storage_fail(struct request *rq, int rc)
{
    if (rc == -ENOSPC)
        return request_fail(rq, API_E_INSUFFICIENT_STORAGE,
                            "Insufficient storage to save the file");
    return request_fail(rq, API_E_INTERNAL_ERROR, NULL);
}

static int too_large(struct request *rq)
{
    return request_fail(rq, API_E_FILE_TOO_LARGE,
                        "File exceeds maximum size of %lluMB",
                        (unsigned long long)rq->w->cfg->max_file_mb);
}

/*
 * Parser callbacks. p->data is the struct request. A non-zero return stops
 * the parser; the reason is already recorded with request_fail().
 */

static int on_part_begin(struct mp_parser *p)
{
    struct request *rq = p->data;
    struct upload *up = &rq->up;

    up->kind = PART_IGNORE;
    up->disposition_seen = false;
    up->has_disposition = false;
    up->has_filename = false;
    up->name_too_long = false;
    up->name_len = 0;
    up->name[0] = '\0';
    up->filename[0] = '\0';
    up->declared_type[0] = '\0';
    return 0;
}

static int on_disposition(struct request *rq, const char *value, size_t len)
{
    struct upload *up = &rq->up;
    struct mp_disposition d;
    enum mp_errno e;

    if (up->disposition_seen)
        return request_fail(rq, API_E_INVALID_MULTIPART,
                            "Part with more than one Content-Disposition");
    up->disposition_seen = true;
    e = mp_disposition_parse(value, len, up->disposition,
                             sizeof(up->disposition), &d);
    if (e != MP_OK)
        return request_fail(rq, API_E_INVALID_MULTIPART,
                            "Malformed multipart body: %s",
                            mp_errno_message(e));
    if (!d.form_data)
        return 0; /* not form-data: the part is ignored like one without */
    up->has_disposition = true;
    if (d.has_name && d.name) {
        if (d.name_len > FU_FIELD_NAME_MAX) {
            up->name_too_long = true;
        } else {
            memcpy(up->name, d.name, d.name_len);
            up->name[d.name_len] = '\0';
            up->name_len = d.name_len;
        }
    }
    if (d.has_filename) {
        up->has_filename = true;
        if (d.filename)
            filename_sanitize(d.filename, d.filename_len, up->filename,
                              sizeof(up->filename));
    }
    return 0;
}

/* Keep the declared Content-Type for the record: printable ASCII only,
 * cut to FU_DECLARED_TYPE_MAX. It is never used to decide anything. */
static void keep_declared_type(struct upload *up, const char *v, size_t len)
{
    size_t i, o = 0;

    for (i = 0; i < len && o < FU_DECLARED_TYPE_MAX; i++)
        if (v[i] >= 0x20 && v[i] < 0x7f)
            up->declared_type[o++] = v[i];
    up->declared_type[o] = '\0';
}

static int on_header(struct mp_parser *p, const char *name, size_t name_len,
                     const char *value, size_t value_len)
{
    struct request *rq = p->data;

    if (name_eq(name, name_len, "Content-Disposition"))
        return on_disposition(rq, value, value_len);
    if (name_eq(name, name_len, "Content-Type"))
        keep_declared_type(&rq->up, value, value_len);
    return 0; /* other part headers carry nothing we use */
}

static int on_headers_complete(struct mp_parser *p)
{
    struct request *rq = p->data;
    struct upload *up = &rq->up;
    unsigned f;

    /* Parts without a form-data Content-Disposition have no name: ignored.
     * So are parts whose name is not one of ours (the old service ignored
     * unknown form fields too); their size is bounded by the parser's
     * field limit, or with a filename by the body limit. */
    if (!up->has_disposition || up->name_too_long)
        return 0;
    if (part_name_is(up, "file")) {
        if (up->file_seen)
            return request_fail(rq, API_E_MULTIPLE_FILES, NULL);
        if (!up->has_filename)
            return request_fail(rq, API_E_MISSING_FILE,
                                "Part 'file' must be a file upload (its "
                                "Content-Disposition has no filename)");
        up->file_seen = true;
        up->kind = PART_FILE;
        memcpy(up->rec.original_filename, up->filename,
               sizeof(up->rec.original_filename));
        memcpy(up->rec.declared_content_type, up->declared_type,
               sizeof(up->rec.declared_content_type));
        return 0;
    }
    for (f = 0; f < FIELD__COUNT; f++) {
        if (!part_name_is(up, form_field_names[f]))
            continue;
        if (up->seen[f] && f != FIELD_FEATURES)
            return request_fail(rq, API_E_VALIDATION_ERROR,
                                "Field '%s' given more than once",
                                form_field_names[f]);
        up->seen[f] = true;
        up->kind = PART_FIELD;
        up->field_id = (enum form_field)f;
        BBUF_INIT_ARRAY(&up->field, up->field_mem);
        return 0;
    }
    return 0;
}

/* Decide the type from the buffered first bytes; on success the file is
 * opened and those bytes written. */
static int decide_type(struct request *rq)
{
    struct worker *w = rq->w;
    struct upload *up = &rq->up;
    char type[FU_MIME_NAME_MAX + 1];
    int rc;

    if (fu_magic_detect(&w->magic, up->magic_buf, up->magic_len, type,
                        sizeof(type)))
        return request_fail(rq, API_E_INTERNAL_ERROR, NULL);
    up->mime = config_find_mime(w->cfg, type);
    if (!up->mime)
        return request_fail(rq, API_E_INVALID_FILE_FORMAT,
                            "Unsupported file format '%s': the content is "
                            "not an allowed audio type",
                            type);
    snprintf(up->rec.mime_type, sizeof(up->rec.mime_type), "%s", type);
    up->type_known = true;
    rc = sink_open(&up->sink, rq->task_id);
    if (rc)
        return storage_fail(rq, rc);
    rc = sink_write(&up->sink, up->magic_buf, up->magic_len);
    if (rc)
        return storage_fail(rq, rc);
    return 0;
}

static int file_data(struct request *rq, const char *at, size_t len)
{
    struct upload *up = &rq->up;
    int rc;

    if (len > rq->w->cfg->max_file_bytes - up->file_bytes)
        return too_large(rq);
    up->file_bytes += len;
    if (!up->type_known) {
        size_t take = sizeof(up->magic_buf) - up->magic_len;
        if (take > len)
            take = len;
        memcpy(up->magic_buf + up->magic_len, at, take);
        up->magic_len += take;
        at += take;
        len -= take;
        if (up->magic_len < sizeof(up->magic_buf))
            return 0;
        rc = decide_type(rq);
        if (rc)
            return rc;
    }
    if (len) {
        rc = sink_write(&up->sink, at, len);
        if (rc)
            return storage_fail(rq, rc);
    }
    return 0;
}

static int on_data(struct mp_parser *p, const char *at, size_t len)
{
    struct request *rq = p->data;
    struct upload *up = &rq->up;

    switch (up->kind) {
    case PART_FILE:
        return file_data(rq, at, len);
    case PART_FIELD:
        if (bbuf_append(&up->field, at, len))
            return request_fail(
                rq, API_E_VALIDATION_ERROR, "Field '%s' exceeds %d bytes",
                form_field_names[up->field_id], FU_FIELD_VALUE_MAX);
        return 0;
    case PART_IGNORE:
        return 0;
    }
    return 0;
}

static int file_end(struct request *rq)
{
    struct upload *up = &rq->up;
    unsigned char digest[SINK_DIGEST_LEN];
    static const char hex[] = "0123456789abcdef";
    size_t i;
    int rc;

    if (!up->type_known) {
        if (up->magic_len == 0)
            return request_fail(rq, API_E_EMPTY_FILE, NULL);
        rc = decide_type(rq); /* a file smaller than FU_MAGIC_BYTES */
        if (rc)
            return rc;
    }
    rc = sink_commit(&up->sink, up->mime->ext, digest);
    if (rc)
        return storage_fail(rq, rc);
    for (i = 0; i < SINK_DIGEST_LEN; i++) {
        up->rec.sha256[2 * i] = hex[digest[i] >> 4];
        up->rec.sha256[2 * i + 1] = hex[digest[i] & 0xf];
    }
    up->rec.sha256[sizeof(up->rec.sha256) - 1] = '\0';
    up->rec.size_bytes = up->file_bytes;
    up->file_done = true;
    return 0;
}

static int invalid(struct request *rq, const char *expected)
{
    return request_fail(rq, API_E_VALIDATION_ERROR,
                        "Invalid value for field '%s': %s",
                        form_field_names[rq->up.field_id], expected);
}

/* Validate a complete field value into the record. Empty means unset. */
static int field_end(struct request *rq)
{
    struct upload *up = &rq->up;
    struct task_record *rec = &up->rec;
    const char *v = up->field.ptr;
    size_t len = up->field.len;
    char why_mem[160];
    struct bbuf why;
    int rc;

    field_trim(&v, &len);
    if (len == 0)
        return 0;
    switch (up->field_id) {
    case FIELD_FEATURES:
        BBUF_INIT_ARRAY(&why, why_mem);
        rc = feature_set_add(&rec->features, v, len, &why);
        if (rc == -ENOMEM)
            return request_fail(rq, API_E_INTERNAL_ERROR, NULL);
        if (rc)
            return request_fail(rq, API_E_VALIDATION_ERROR,
                                "Invalid value for field 'features': %s "
                                "(allowed: raw_transcript, clean_transcript, "
                                "summary, enhancement_metrics)",
                                why.ptr);
        return 0;
    case FIELD_TEMPLATE_ID:
        if (!template_id_valid(v, len))
            return invalid(rq, "expected 1 to 256 characters without "
                               "control characters");
        memcpy(rec->template_id, v, len);
        rec->template_id[len] = '\0';
        rec->has_template = true;
        return 0;
    case FIELD_ASR_BACKEND:
        if (parse_asr_backend(v, len, &rec->asr_backend))
            return invalid(rq, "expected 'whisper' or 'chunkformer'");
        up->backend_given = true;
        return 0;
    case FIELD_ENABLE_DIARIZATION:
        if (parse_bool(v, len, &rec->enable_diarization))
            return invalid(rq, "expected a boolean (true/false, 1/0, "
                               "yes/no, on/off)");
        return 0;
    case FIELD_ENABLE_VAD:
        if (parse_bool(v, len, &rec->enable_vad))
            return invalid(rq, "expected a boolean (true/false, 1/0, "
                               "yes/no, on/off)");
        return 0;
    case FIELD_VAD_THRESHOLD:
        if (parse_unit_interval(v, len, &rec->vad_threshold))
            return invalid(rq, "expected a number between 0 and 1");
        return 0;
    case FIELD__COUNT:
        break;
    }
    return 0;
}

static int on_part_end(struct mp_parser *p)
{
    struct request *rq = p->data;
    struct upload *up = &rq->up;
    enum part_kind kind = up->kind;

    up->kind = PART_IGNORE;
    if (kind == PART_FILE)
        return file_end(rq);
    if (kind == PART_FIELD)
        return field_end(rq);
    return 0;
}

static const struct mp_callbacks callbacks = {
    .on_part_begin = on_part_begin,
    .on_header = on_header,
    .on_headers_complete = on_headers_complete,
    .on_data = on_data,
    .on_part_end = on_part_end,
    .on_body_end = NULL,
};

/* The parser stopped: a callback's reason, or the parser's own. */
static int parse_failed(struct request *rq)
{
    struct upload *up = &rq->up;
    enum mp_errno e = mp_parser_errno(&up->parser);

    if (rq->err != API_OK)
        return -1;
    if (e == MP_E_FIELD_TOO_LARGE)
        return request_fail(rq, API_E_VALIDATION_ERROR,
                            "Field '%s' exceeds %d bytes",
                            up->name_len ? up->name : "?", FU_FIELD_VALUE_MAX);
    return request_fail(rq, API_E_INVALID_MULTIPART,
                        "Malformed multipart body: %s (at byte %llu)",
                        mp_errno_message(e),
                        (unsigned long long)up->parser.error_offset);
}

/* Checks before any body byte is read. */
static int pre_body_checks(struct request *rq)
{
    struct worker *w = rq->w;
    const struct config *cfg = w->cfg;
    struct upload *up = &rq->up;
    struct mp_limits limits = mp_limits_default();
    const char *ct, *cl;
    uint64_t depth, len;
    enum mp_errno e;
    int rc;

    if (strcmp(rq->method, "POST") != 0) {
        rq->allow = "POST";
        return request_fail(rq, API_E_METHOD_NOT_ALLOWED, NULL);
    }
    if (!request_auth_ok(rq))
        return request_fail(rq, API_E_UNAUTHORIZED, NULL);

    ct = rq->t->param(rq->t->impl, "CONTENT_TYPE");
    if (!ct || !ct[0])
        return request_fail(rq, API_E_INVALID_MULTIPART,
                            "Content-Type must be multipart/form-data");
    if (strlen(ct) > FU_CONTENT_TYPE_MAX)
        return request_fail(rq, API_E_INVALID_MULTIPART,
                            "Content-Type longer than %d bytes",
                            FU_CONTENT_TYPE_MAX);
    /* form fields are small; unknown ones are bounded the same way */
    limits.field_bytes = FU_FIELD_VALUE_MAX;
    e = mp_parser_init(&up->parser, ct, strlen(ct), &limits);
    if (e != MP_OK)
        return request_fail(rq, API_E_INVALID_MULTIPART, "%s",
                            mp_errno_message(e));
    up->parser.data = rq;

    up->body_limit = cfg->max_file_bytes + FU_BODY_OVERHEAD_BYTES;
    cl = rq->t->param(rq->t->impl, "CONTENT_LENGTH");
    if (cl && cl[0]) {
        if (parse_u64(cl, strlen(cl), UINT64_MAX, &len))
            return request_fail(rq, API_E_INVALID_MULTIPART,
                                "Invalid Content-Length");
        if (len > up->body_limit)
            return too_large(rq);
    }

    /* with Redis, this is also the check that it can be reached */
    rc = w->store->ops->queue_depth(w->store->impl, &depth);
    if (rc) {
        rq->retry_after = cfg->retry_after_s;
        return request_fail(rq, API_E_SERVICE_UNAVAILABLE,
                            "Task queue unavailable, retry later");
    }
    if (depth >= cfg->max_queue_depth) {
        rq->retry_after = cfg->retry_after_s;
        return request_fail(rq, API_E_QUEUE_FULL,
                            "Task queue is full (%llu waiting), retry later",
                            (unsigned long long)depth);
    }
    return 0;
}

static void upload_reset(struct request *rq)
{
    struct worker *w = rq->w;
    struct upload *up = &rq->up;
    uuid_t u;

    up->kind = PART_IGNORE;
    up->file_seen = false;
    up->file_done = false;
    up->type_known = false;
    up->magic_len = 0;
    up->mime = NULL;
    up->file_bytes = 0;
    up->backend_given = false;
    memset(up->seen, 0, sizeof(up->seen));
    memset(&up->rec, 0, sizeof(up->rec));
    feature_set_init(&up->rec.features);
    up->rec.vad_threshold = 0.5;
    BBUF_INIT_ARRAY(&up->field, up->field_mem);

    uuid_generate_random(u);
    uuid_unparse_lower(u, rq->task_id);
    sink_init(&up->sink, w->spool_fd, w->md, w->sha256, rq->request_id);
}

/* Read the body to its end, feeding the parser. */
static int stream_body(struct request *rq)
{
    struct worker *w = rq->w;
    struct upload *up = &rq->up;

    for (;;) {
        ssize_t n = rq->t->read(rq->t->impl, w->chunk, w->chunk_cap);
        if (n < 0) {
            rq->disconnected = true;
            fu_log_errno(FU_LOG_WARNING, rq->request_id, "read body", (int)-n,
                         "client disconnected after %llu body bytes",
                         (unsigned long long)rq->bytes_read);
            return request_fail(rq, API_E_INVALID_MULTIPART,
                                "Request body ended prematurely");
        }
        if (n == 0)
            break;
        rq->bytes_read += (uint64_t)n;
        if (rq->bytes_read > up->body_limit)
            return too_large(rq);
        if (mp_parser_execute(&up->parser, &callbacks, w->chunk, (size_t)n) !=
                (size_t)n ||
            mp_parser_errno(&up->parser) != MP_OK)
            return parse_failed(rq);
    }
    if (mp_parser_finish(&up->parser, &callbacks) != MP_OK)
        return parse_failed(rq);
    return 0;
}

/* Checks that need the whole form. */
static int form_complete(struct request *rq)
{
    struct upload *up = &rq->up;
    struct task_record *rec = &up->rec;

    if (!up->file_seen)
        return request_fail(rq, API_E_MISSING_FILE, NULL);
    if (!up->file_done) /* cannot happen after a clean finish */
        return request_fail(rq, API_E_INVALID_MULTIPART, NULL);
    if (rec->features.n == 0) {
        rec->features.order[0] = FEATURE_CLEAN_TRANSCRIPT;
        rec->features.mask = 1u << FEATURE_CLEAN_TRANSCRIPT;
        rec->features.n = 1;
    }
    if (feature_set_has(&rec->features, FEATURE_SUMMARY) && !rec->has_template)
        return request_fail(rq, API_E_VALIDATION_ERROR,
                            "Field 'template_id' is required when features "
                            "include 'summary'");
    return 0;
}

static int submit(struct request *rq)
{
    struct worker *w = rq->w;
    struct upload *up = &rq->up;
    struct task_record *rec = &up->rec;
    struct bbuf path;
    json_t *answer;
    int rc;

    memcpy(rec->task_id, rq->task_id, sizeof(rec->task_id));
    fu_utc_timestamp(rec->submitted_at, sizeof(rec->submitted_at));
    if (!up->backend_given)
        rec->asr_backend = w->cfg->default_backend;
    snprintf(rec->correlation_id, sizeof(rec->correlation_id), "%s",
             rq->request_id);
    BBUF_INIT_ARRAY(&path, rec->file_path);
    if (bbuf_printf(&path, "%s/%s/raw.%s", w->cfg->audio_dir, rq->task_id,
                    up->mime->ext))
        return request_fail(rq, API_E_INTERNAL_ERROR, NULL);

    /* the answer first: once submitted, the task must not be undone */
    answer =
        json_pack("{s:s, s:s, s:I, s:s, s:s}", "task_id", rq->task_id, "status",
                  "PENDING", "size_bytes", (json_int_t)rec->size_bytes,
                  "sha256", rec->sha256, "mime_type", rec->mime_type);
    if (!answer || json_dump_bbuf(answer, &rq->body)) {
        json_decref(answer);
        bbuf_reset(&rq->body);
        return request_fail(rq, API_E_INTERNAL_ERROR, NULL);
    }
    json_decref(answer);

    rc = w->store->ops->submit(w->store->impl, rec);
    if (rc) {
        bbuf_reset(&rq->body);
        if (rc == -ENOSPC)
            return request_fail(rq, API_E_INSUFFICIENT_STORAGE,
                                "Insufficient storage to record the task");
        if (rc == -EAGAIN) { /* logged by the store; the file goes */
            rq->retry_after = w->cfg->retry_after_s;
            return request_fail(rq, API_E_SERVICE_UNAVAILABLE,
                                "Task queue unavailable, retry later");
        }
        fu_log_errno(FU_LOG_ERROR, rq->request_id, "submit", -rc,
                     "cannot submit task %s", rq->task_id);
        return request_fail(rq, API_E_INTERNAL_ERROR, NULL);
    }
    sink_release(&up->sink);
    rq->status = 202;
    return 0;
}

void upload_handle(struct request *rq)
{
    struct upload *up = &rq->up;

    if (pre_body_checks(rq))
        return;
    upload_reset(rq);
    if (stream_body(rq) || form_complete(rq) || submit(rq))
        sink_discard(&up->sink); /* nothing of a failed upload stays */
}
