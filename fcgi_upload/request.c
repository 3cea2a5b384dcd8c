/*
 * request.c - one request: parameters, routing, checks common to every
 * route, GET /health and GET /v1/status/{id}, the answer and the log line.
 * POST /v1/process is in upload.c.
 */
#include "request.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <uuid/uuid.h>

#include "ctcmp.h"
#include "fu_log.h"
#include "jsonx.h"
#include "request_int.h"
#include "route.h"
#include "sanitize.h"

int worker_init(struct worker *w, const struct config *cfg,
                const struct taskstore *store, int spool_fd)
{
    int rc;

    memset(w, 0, sizeof(*w));
    w->cfg = cfg;
    w->store = store;
    w->spool_fd = spool_fd;
    rc = fu_magic_open(&w->magic);
    if (rc)
        return rc;
    w->md = EVP_MD_CTX_new();
    w->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    w->chunk_cap = cfg->chunk_bytes;
    w->chunk = malloc(w->chunk_cap);
    w->rq = malloc(sizeof(*w->rq));
    if (!w->md || !w->sha256 || !w->chunk || !w->rq) {
        fu_log(FU_LOG_ERROR, NULL, "worker_init: out of memory");
        worker_release(w);
        return -ENOMEM;
    }
    return 0;
}

void worker_release(struct worker *w)
{
    fu_magic_close(&w->magic);
    EVP_MD_CTX_free(w->md);
    EVP_MD_free(w->sha256);
    free(w->chunk);
    free(w->rq);
    w->md = NULL;
    w->sha256 = NULL;
    w->chunk = NULL;
    w->rq = NULL;
}

int request_fail(struct request *rq, enum api_error e, const char *fmt, ...)
{
    va_list ap;

    if (rq->err != API_OK)
        return -1;
    rq->err = e;
    rq->status = api_error_status(e);
    bbuf_reset(&rq->detail);
    if (fmt) {
        va_start(ap, fmt);
        if (bbuf_vprintf(&rq->detail, fmt, ap))
            bbuf_reset(&rq->detail); /* too long: the default detail */
        va_end(ap);
    }
    return -1;
}

/* Copy parameter name into out (cap bytes); false when longer. An absent
 * parameter is the empty string. */
static bool copy_param(struct request *rq, const char *name, char *out,
                       size_t cap, size_t *len_out)
{
    const char *v = rq->t->param(rq->t->impl, name);
    size_t len = v ? strlen(v) : 0;

    if (len >= cap) {
        out[0] = '\0';
        if (len_out)
            *len_out = 0;
        return false;
    }
    memcpy(out, v ? v : "", len);
    out[len] = '\0';
    if (len_out)
        *len_out = len;
    return true;
}

/* The request path: REQUEST_URI up to '?', else SCRIPT_NAME + PATH_INFO
 * (see route.h). */
static void copy_path(struct request *rq)
{
    const char *uri = rq->t->param(rq->t->impl, "REQUEST_URI");
    struct bbuf b;
    size_t len;

    bbuf_init(&b, rq->path, sizeof(rq->path));
    if (uri && uri[0]) {
        const char *q = strchr(uri, '?');
        len = q ? (size_t)(q - uri) : strlen(uri);
        rq->path_too_long = bbuf_append(&b, uri, len) != 0;
    } else {
        const char *sn = rq->t->param(rq->t->impl, "SCRIPT_NAME");
        const char *pi = rq->t->param(rq->t->impl, "PATH_INFO");
        rq->path_too_long = bbuf_append_str(&b, sn ? sn : "") ||
                            bbuf_append_str(&b, pi ? pi : "");
    }
    if (rq->path_too_long)
        bbuf_reset(&b);
    rq->path_len = b.len;
}

static void new_uuid(char out[TASK_ID_LEN + 1])
{
    uuid_t u;

    uuid_generate_random(u);
    uuid_unparse_lower(u, out);
}

static void reset(struct request *rq, struct worker *w,
                  const struct transport *t)
{
    char rid[FU_REQUEST_ID_MAX + 2];
    size_t rid_len = 0;

    /* the large arrays need no clearing: each is written before read */
    rq->w = w;
    rq->t = t;
    clock_gettime(CLOCK_MONOTONIC, &rq->start);
    rq->task_id[0] = '\0';
    rq->bytes_read = 0;
    rq->disconnected = false;
    rq->status = 500;
    rq->err = API_OK;
    rq->allow = NULL;
    rq->retry_after = 0;
    BBUF_INIT_ARRAY(&rq->detail, rq->detail_mem);
    BBUF_INIT_ARRAY(&rq->body, rq->body_mem);
    rq->up.file_bytes = 0;

    if (!copy_param(rq, "REQUEST_METHOD", rq->method, sizeof(rq->method), NULL))
        rq->method[0] = '\0';
    copy_path(rq);
    if (copy_param(rq, "HTTP_X_REQUEST_ID", rid, sizeof(rid), &rid_len) &&
        request_id_valid(rid, rid_len))
        memcpy(rq->request_id, rid, rid_len + 1);
    else
        new_uuid(rq->request_id);
}

bool request_auth_ok(struct request *rq)
{
    const struct config *cfg = rq->w->cfg;
    const char *key;

    if (!cfg->auth_enabled)
        return true;
    key = rq->t->param(rq->t->impl, "HTTP_X_API_KEY");
    if (!key || !key[0])
        return false;
    return ct_key_match(key, strnlen(key, FU_KEY_MAX + 1), cfg->keys,
                        cfg->nkeys);
}

static bool method_is(const struct request *rq, const char *m)
{
    return strcmp(rq->method, m) == 0;
}

/* 200 with the store's members when it can take tasks; 503 with the same
 * members, "status":"unavailable" and the detail/error_code pair of every
 * error body when it cannot (a load balancer takes the node out). */
static void handle_health(struct request *rq)
{
    struct worker *w = rq->w;
    struct statvfs sv;
    uint64_t free_bytes = 0;
    json_t *obj;
    int rc;

    obj = json_pack("{s:s, s:s}", "status", "ok", "version", FU_VERSION);
    if (!obj)
        goto out_oom;
    rc = w->store->ops->health(w->store->impl, obj);
    if (rc == -ENOMEM)
        goto out_oom;
    if (fstatvfs(w->spool_fd, &sv) == 0)
        free_bytes = (uint64_t)sv.f_bavail * sv.f_frsize;
    else
        fu_log_errno(FU_LOG_ERROR, rq->request_id, "fstatvfs", errno,
                     "cannot read free space of the audio dir");
    if (json_object_set_new(obj, "spool_free_bytes",
                            json_integer((json_int_t)free_bytes)))
        goto out_oom;
    if (rc && (json_object_set_new(obj, "status", json_string("unavailable")) ||
               json_object_set_new(obj, "detail",
                                   json_string("Task queue unavailable")) ||
               json_object_set_new(
                   obj, "error_code",
                   json_string(api_error_code(API_E_SERVICE_UNAVAILABLE)))))
        goto out_oom;
    if (json_dump_bbuf(obj, &rq->body))
        goto out_oom;
    json_decref(obj);
    rq->status = rc ? 503 : 200;
    return;

out_oom:
    json_decref(obj);
    bbuf_reset(&rq->body);
    request_fail(rq, API_E_INTERNAL_ERROR, NULL);
}

static void handle_status(struct request *rq, const char *arg, size_t len)
{
    struct worker *w = rq->w;
    char id[TASK_ID_LEN + 1];
    size_t i;
    int rc;

    if (!method_is(rq, "GET")) {
        rq->allow = route_allow(ROUTE_STATUS);
        request_fail(rq, API_E_METHOD_NOT_ALLOWED, NULL);
        return;
    }
    if (!request_auth_ok(rq)) {
        request_fail(rq, API_E_UNAUTHORIZED, NULL);
        return;
    }
    for (i = 0; i < len && i < TASK_ID_LEN; i++)
        id[i] = (char)(arg[i] >= 'A' && arg[i] <= 'F' ? arg[i] + 32 : arg[i]);
    id[i] = '\0';
    rc = w->store->ops->get_status(w->store->impl, id, &rq->body);
    if (rc == -ENOENT) {
        request_fail(rq, API_E_NOT_FOUND, "Task %s not found", id);
        return;
    }
    if (rc == -EAGAIN) {
        bbuf_reset(&rq->body);
        request_fail(rq, API_E_SERVICE_UNAVAILABLE, "Task store unavailable");
        return;
    }
    if (rc) {
        bbuf_reset(&rq->body);
        fu_log_errno(FU_LOG_ERROR, rq->request_id, "get_status", -rc,
                     "cannot read task %s", id);
        request_fail(rq, API_E_INTERNAL_ERROR, NULL);
        return;
    }
    rq->status = 200;
}

/* Write the CGI header block and the body. */
static int send_answer(struct request *rq)
{
    char head_mem[FU_RESPONSE_HEAD_MAX];
    struct bbuf head;
    int rc;

    if (rq->err != API_OK) {
        bbuf_reset(&rq->body);
        if (json_error_body(&rq->body,
                            rq->detail.len ? rq->detail.ptr
                                           : api_error_detail(rq->err),
                            api_error_code(rq->err)))
            json_error_body(&rq->body, api_error_detail(rq->err),
                            api_error_code(rq->err));
    }
    BBUF_INIT_ARRAY(&head, head_mem);
    rc = bbuf_printf(&head,
                     "Status: %d %s\r\n"
                     "Content-Type: application/json\r\n"
                     "Cache-Control: no-store\r\n"
                     "X-Request-ID: %s\r\n",
                     rq->status, http_reason(rq->status), rq->request_id);
    if (!rc && rq->allow)
        rc = bbuf_printf(&head, "Allow: %s\r\n", rq->allow);
    if (!rc && rq->retry_after)
        rc = bbuf_printf(&head, "Retry-After: %llu\r\n",
                         (unsigned long long)rq->retry_after);
    if (!rc)
        rc = bbuf_printf(&head, "Content-Length: %zu\r\n\r\n", rq->body.len);
    if (rc)
        return rc; /* cannot happen: every piece is bounded */
    rc = rq->t->write(rq->t->impl, head.ptr, head.len);
    if (!rc)
        rc = rq->t->write(rq->t->impl, rq->body.ptr, rq->body.len);
    return rc;
}

static void log_request(struct request *rq, int write_rc)
{
    struct fu_log_line l;
    struct timespec now;
    long long ms;

    clock_gettime(CLOCK_MONOTONIC, &now);
    ms = (long long)(now.tv_sec - rq->start.tv_sec) * 1000 +
         (now.tv_nsec - rq->start.tv_nsec) / 1000000;
    fu_log_begin(&l, rq->status >= 500 ? FU_LOG_ERROR : FU_LOG_INFO, "request");
    json_obj_str(&l.o, "request_id", rq->request_id);
    json_obj_str(&l.o, "method", rq->method);
    json_obj_strn(&l.o, "path", rq->path,
                  rq->path_len > 256 ? 256 : rq->path_len);
    json_obj_int(&l.o, "status", rq->status);
    json_obj_str(&l.o, "error_code",
                 rq->err != API_OK ? api_error_code(rq->err) : NULL);
    json_obj_u64(&l.o, "bytes_read", rq->bytes_read);
    json_obj_u64(&l.o, "file_bytes", rq->up.file_bytes);
    json_obj_int(&l.o, "duration_ms", ms);
    json_obj_str(&l.o, "task_id", rq->task_id[0] ? rq->task_id : NULL);
    if (rq->err != API_OK && rq->detail.len)
        json_obj_str(&l.o, "detail", rq->detail.ptr);
    if (rq->disconnected)
        json_obj_bool(&l.o, "client_disconnected", true);
    if (write_rc)
        json_obj_bool(&l.o, "answer_lost", true);
    fu_log_end(&l);
}

int request_serve(struct worker *w, const struct transport *t)
{
    struct request *rq = w->rq;
    const char *arg = NULL;
    size_t arg_len = 0;
    enum route r;
    int rc;

    reset(rq, w, t);
    r = rq->path_too_long ? ROUTE_NONE
                          : route_match(rq->path, rq->path_len, &arg, &arg_len);
    switch (r) {
    case ROUTE_PROCESS:
        upload_handle(rq);
        break;
    case ROUTE_STATUS:
        handle_status(rq, arg, arg_len);
        break;
    case ROUTE_HEALTH:
        if (method_is(rq, "GET")) {
            handle_health(rq);
        } else {
            rq->allow = route_allow(r);
            request_fail(rq, API_E_METHOD_NOT_ALLOWED, NULL);
        }
        break;
    case ROUTE_NONE:
        request_fail(rq, API_E_NOT_FOUND, NULL);
        break;
    }
    rc = send_answer(rq);
    log_request(rq, rc);
    return rc;
}
