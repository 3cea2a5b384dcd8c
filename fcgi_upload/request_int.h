/*
 * request_int.h - per-request state, shared by request.c (routing, checks,
 * answers, GET routes) and upload.c (POST /v1/process). Not for other files.
 *
 * Everything is fixed-size: one struct request per worker, reset at the
 * start of each request, bounds the memory a request can use.
 */
#ifndef FU_REQUEST_INT_H
#define FU_REQUEST_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "api_errors.h"
#include "bbuf.h"
#include "config.h"
#include "multipart.h"
#include "request.h"
#include "sink.h"
#include "taskstore.h"

enum part_kind { PART_IGNORE, PART_FILE, PART_FIELD };

#define FORM_FIELD_MAP(XX)                                                     \
    XX(FEATURES, "features")                                                   \
    XX(TEMPLATE_ID, "template_id")                                             \
    XX(ASR_BACKEND, "asr_backend")                                             \
    XX(ENABLE_DIARIZATION, "enable_diarization")                               \
    XX(ENABLE_VAD, "enable_vad")                                               \
    XX(VAD_THRESHOLD, "vad_threshold")

enum form_field {
#define FORM_FIELD_ENUM(name, str) FIELD_##name,
    FORM_FIELD_MAP(FORM_FIELD_ENUM)
#undef FORM_FIELD_ENUM
        FIELD__COUNT
};

/* State of POST /v1/process. */
struct upload {
    struct mp_parser parser;
    struct sink sink;
    uint64_t body_limit; /* max file bytes + FU_BODY_OVERHEAD_BYTES */

    /* the current part */
    enum part_kind kind;
    enum form_field field_id;
    bool disposition_seen; /* any Content-Disposition header */
    bool has_disposition;  /* a form-data one */
    bool has_filename;
    bool name_too_long; /* longer than FU_FIELD_NAME_MAX: unknown */
    char name[FU_FIELD_NAME_MAX + 1];
    size_t name_len;
    char filename[FU_FILENAME_MAX + 1];
    char declared_type[FU_DECLARED_TYPE_MAX + 1];
    char disposition[MP_HEADER_BYTES_CAP]; /* mp_disposition_parse() out */
    char field_mem[FU_FIELD_VALUE_MAX + 1];
    struct bbuf field;

    /* the file part */
    bool file_seen;
    bool file_done;
    bool type_known;
    char magic_buf[FU_MAGIC_BYTES];
    size_t magic_len;
    const struct config_mime *mime;
    uint64_t file_bytes;

    /* the form, as it will be recorded */
    bool seen[FIELD__COUNT];
    bool backend_given;
    struct task_record rec;
};

struct request {
    struct worker *w;
    const struct transport *t;
    struct timespec start;

    /* parameters, copied */
    char method[FU_METHOD_MAX + 1];
    char path[FU_URI_MAX + 1];
    size_t path_len;
    bool path_too_long;
    char request_id[FU_REQUEST_ID_MAX + 1];
    char task_id[TASK_ID_LEN + 1]; /* "" until a POST passed its checks */

    uint64_t bytes_read; /* body bytes read */
    bool disconnected;   /* the body broke off */

    /* the answer */
    int status;
    enum api_error err; /* API_OK for a success */
    const char *allow;  /* Allow header of a 405 */
    uint64_t retry_after;
    char detail_mem[512];
    struct bbuf detail;
    char body_mem[FU_STATUS_JSON_MAX + 1];
    struct bbuf body;

    struct upload up;
};

/* Record an error answer: e with the printf-style detail, or e's default
 * detail when fmt is NULL. The first error of a request sticks. Returns -1
 * so callbacks can `return request_fail(...)`. */
int request_fail(struct request *rq, enum api_error e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The X-API-Key check; true when auth is off or the key matches. */
bool request_auth_ok(struct request *rq);

/* POST /v1/process (upload.c). */
void upload_handle(struct request *rq);

#endif
