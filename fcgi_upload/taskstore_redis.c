/*
 * taskstore_redis.c - the task store over Redis, for stock RQ workers.
 *
 * Used when APP_REDIS__URL is set. Every call goes through one struct
 * rq_store (rq_store.h: the task hash and the RQ job in one MULTI/EXEC,
 * lazy connection, reconnect after any failure, timeouts from the config).
 *
 * Threads: one store per worker thread. taskstore_open() (or
 * taskstore_redis_open()) is called by each thread for itself, so each
 * has its own connection and buffers and no thread waits for another's
 * round trip. Each store also holds a mutex taken around every call: a
 * store that ends up shared by threads stays correct (calls are then
 * serialised on its one connection), it is just not the intended use.
 *
 * Errors from rq_store, as errno values for the request flow:
 *   RQ_STORE_E_UNAVAILABLE, RQ_STORE_E_AUTH  -EAGAIN  (503)
 *   RQ_STORE_E_NOT_FOUND                     -ENOENT  (404 on status)
 *   RQ_STORE_E_NOMEM                         -ENOMEM  (500)
 *   RQ_STORE_E_TOO_LARGE                     -EFBIG   (500)
 *   RQ_STORE_E_INVALID                       -EINVAL  (500)
 *   RQ_STORE_E_REPLY (an error reply)        -EPROTO  (500)
 * Each failure is logged once here, with rq_store's text of it (never the
 * password).
 *
 * Submitting, so that no 202 names a task no worker will see and no file
 * stays without a task:
 *  1. LLEN first (a round trip over the connection submit will use): when
 *     Redis is unreachable now, nothing has been sent, -EAGAIN, and the
 *     request flow removes the stored file.
 *  2. rq_store_submit(): MULTI ... EXEC. 0: done.
 *  3. It failed with the connection (reply lost or timed out after EXEC
 *     was sent): the outcome is unknown, so the task hash is looked up over
 *     a new connection. Found: EXEC ran, the job is queued, 0 (the 202
 *     stands). Not found: the transaction did not run, -EAGAIN. Redis
 *     still unreachable: -EAGAIN, logged as an unknown outcome; should
 *     EXEC have run after all, its worker finds no file and fails the job
 *     (its task hash says so), while the client, told 503, sends again.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fu_log.h"
#include "jsonx.h"
#include "rq_store.h"
#include "taskstore.h"

_Static_assert(FU_REDIS_NAME_MAX <= RQ_STORE_NAME_MAX,
               "config names must fit rq_store's arrays");
_Static_assert(TASK_ID_LEN <= RQ_STORE_ID_MAX, "a task id must fit");

struct redis_store {
    pthread_mutex_t lock; /* around every call on rq */
    struct rq_store rq;
};

static int map_err(int rc)
{
    switch (rc) {
    case RQ_STORE_OK:
        return 0;
    case RQ_STORE_E_UNAVAILABLE:
    case RQ_STORE_E_AUTH:
        return -EAGAIN;
    case RQ_STORE_E_NOT_FOUND:
        return -ENOENT;
    case RQ_STORE_E_NOMEM:
        return -ENOMEM;
    case RQ_STORE_E_TOO_LARGE:
        return -EFBIG;
    case RQ_STORE_E_INVALID:
        return -EINVAL;
    default:
        return -EPROTO;
    }
}

/* Log a failed call (with st->lock held: the text lives in st->rq). */
static void log_fail(struct redis_store *st, const char *request_id,
                     const char *what, int rc)
{
    const char *detail = rq_store_last_error(&st->rq);

    fu_log(rc == RQ_STORE_E_NOT_FOUND ? FU_LOG_DEBUG : FU_LOG_ERROR, request_id,
           "redis %s failed: %s (%s)", what, rq_store_errname(rc),
           detail[0] ? detail : rq_store_strerror(rc));
}

static int redis_queue_depth(void *impl, uint64_t *depth)
{
    struct redis_store *st = impl;
    long long n = 0;
    int rc;

    pthread_mutex_lock(&st->lock);
    rc = rq_store_queue_depth(&st->rq, &n);
    if (rc)
        log_fail(st, NULL, "queue depth (LLEN)", rc);
    pthread_mutex_unlock(&st->lock);
    if (rc)
        return map_err(rc);
    *depth = n > 0 ? (uint64_t)n : 0;
    return 0;
}

/* rq_store_get_status() callback that stops at the first field. */
static int stop_at_first(void *data, const char *name, size_t name_len,
                         const char *value, size_t value_len)
{
    (void)name;
    (void)name_len;
    (void)value;
    (void)value_len;
    *(bool *)data = true;
    return 1;
}

/* After a connection failure in submit: did the transaction run? The
 * task hash is written by the same EXEC as the job. Lock held. */
static int submit_outcome(struct redis_store *st, const struct task_record *r)
{
    bool found = false;
    int rc;

    rc = rq_store_get_status(&st->rq, r->task_id, stop_at_first, &found);
    if (rc == RQ_STORE_E_CALLBACK && found) {
        fu_log(FU_LOG_WARNING, r->correlation_id,
               "redis submit: the reply to EXEC was lost, but task %s is in "
               "Redis: it was queued",
               r->task_id);
        return 0;
    }
    if (rc == RQ_STORE_E_NOT_FOUND) {
        fu_log(FU_LOG_WARNING, r->correlation_id,
               "redis submit: task %s was not queued (the transaction did "
               "not run)",
               r->task_id);
        return -EAGAIN;
    }
    log_fail(st, r->correlation_id, "submit check", rc);
    fu_log(FU_LOG_ERROR, r->correlation_id,
           "redis submit: outcome of task %s unknown (Redis unreachable "
           "after EXEC was sent); answering 503 and removing its file",
           r->task_id);
    return -EAGAIN;
}

static int redis_submit(void *impl, const struct task_record *r)
{
    struct redis_store *st = impl;
    const char *features[FEATURE__COUNT];
    struct rq_submit t;
    long long depth;
    size_t i;
    int rc, err;

    for (i = 0; i < r->features.n && i < FEATURE__COUNT; i++)
        features[i] = feature_name((enum feature)r->features.order[i]);
    t = (struct rq_submit){
        .task_id = r->task_id,
        .file_path = r->file_path,
        .features = features,
        .n_features = i,
        .template_id = r->has_template ? r->template_id : NULL,
        .asr_backend = asr_backend_name(r->asr_backend),
        .enable_diarization = r->enable_diarization,
        .enable_vad = r->enable_vad,
        .vad_threshold = r->vad_threshold,
        .correlation_id = r->correlation_id[0] ? r->correlation_id : NULL,
        .size_bytes = r->size_bytes,
        .sha256 = r->sha256,
        .mime_type = r->mime_type,
        .submitted_at = r->submitted_at[0] ? r->submitted_at : NULL,
    };

    pthread_mutex_lock(&st->lock);
    rc = rq_store_queue_depth(&st->rq, &depth);
    if (rc) {
        log_fail(st, r->correlation_id, "submit (LLEN before MULTI)", rc);
        err = map_err(rc);
        goto out_unlock;
    }
    rc = rq_store_submit(&st->rq, &t);
    if (rc == RQ_STORE_OK) {
        err = 0;
        goto out_unlock;
    }
    log_fail(st, r->correlation_id, "submit (MULTI/EXEC)", rc);
    err = rc == RQ_STORE_E_UNAVAILABLE ? submit_outcome(st, r) : map_err(rc);
out_unlock:
    pthread_mutex_unlock(&st->lock);
    return err;
}

struct status_walk {
    json_t *obj;
    int err;
};

static int add_field(void *data, const char *name, size_t name_len,
                     const char *value, size_t value_len)
{
    struct status_walk *w = data;

    w->err = task_hash_field_json(w->obj, name, name_len, value, value_len);
    return w->err;
}

static int redis_get_status(void *impl, const char *task_id, struct bbuf *out)
{
    struct redis_store *st = impl;
    struct status_walk w = {json_object(), 0};
    int rc, err;

    if (!w.obj)
        return -ENOMEM;
    pthread_mutex_lock(&st->lock);
    rc = rq_store_get_status(&st->rq, task_id, add_field, &w);
    if (rc && rc != RQ_STORE_E_CALLBACK)
        log_fail(st, NULL, "status (HGETALL)", rc);
    pthread_mutex_unlock(&st->lock);
    if (rc == RQ_STORE_E_CALLBACK)
        err = w.err;
    else
        err = map_err(rc);
    if (err == 0) {
        err = json_dump_bbuf(w.obj, out);
        if (err == -ENOBUFS)
            err = -EFBIG;
    }
    json_decref(w.obj);
    return err;
}

static int redis_health(void *impl, json_t *obj)
{
    struct redis_store *st = impl;
    struct rq_store_health h;
    int rc;

    pthread_mutex_lock(&st->lock);
    rc = rq_store_health(&st->rq, &h);
    if (rc)
        log_fail(st, NULL, "health", rc);
    pthread_mutex_unlock(&st->lock);
    if (json_object_set_new(obj, "queue_depth",
                            h.queue_depth >= 0 ? json_integer(h.queue_depth)
                                               : json_null()) ||
        json_object_set_new(obj, "redis_connected",
                            json_boolean(h.connected)) ||
        json_object_set_new(obj, "worker_active",
                            json_boolean(h.workers > 0)) ||
        json_object_set_new(obj, "workers",
                            h.workers >= 0 ? json_integer(h.workers)
                                           : json_null()))
        return -ENOMEM;
    /* uploads need the queue: without its depth, refuse them (503) */
    return h.connected && h.queue_depth >= 0 ? 0 : -EAGAIN;
}

static void redis_close(void *impl)
{
    struct redis_store *st = impl;

    rq_store_release(&st->rq);
    pthread_mutex_destroy(&st->lock);
    free(st);
}

static const struct taskstore_ops redis_ops = {
    redis_queue_depth, redis_submit, redis_get_status,
    redis_health,      redis_close,
};

/* hiredis writes with write(2): a Redis that goes away would raise
 * SIGPIPE. main() ignores it before any store is opened; make sure. */
static void ensure_sigpipe_ignored(void)
{
    struct sigaction sa;

    if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL) {
        fu_log(FU_LOG_WARNING, NULL,
               "SIGPIPE was not ignored: ignoring it now (Redis connection)");
        signal(SIGPIPE, SIG_IGN);
    }
}

int taskstore_redis_open(struct taskstore *ts, const struct config *c,
                         int spool_fd)
{
    struct rq_store_config rc_cfg = RQ_STORE_CONFIG_DEFAULT;
    char url[FU_REDIS_URL_MAX + 1];
    struct redis_store *st;
    const char *why = "";
    long long depth;
    int rc;

    (void)spool_fd;
    ensure_sigpipe_ignored();
    st = malloc(sizeof(*st));
    if (!st) {
        fu_log(FU_LOG_ERROR, NULL, "redis store: out of memory");
        return -ENOMEM;
    }
    rc_cfg.url = c->redis_url;
    rc_cfg.results_db = c->redis_results_db;
    rc_cfg.queue_name = c->redis_queue;
    rc_cfg.func_name = c->job_func;
    rc_cfg.job_timeout = c->job_timeout_s;
    rc_cfg.result_ttl = c->result_ttl_s;
    rc_cfg.connect_timeout_ms = c->redis_connect_ms;
    rc_cfg.command_timeout_ms = c->redis_command_ms;
    rc = rq_store_init(&st->rq, &rc_cfg, &why);
    if (rc) {
        /* config_load() checked every value: a bug if it happens */
        fu_log(FU_LOG_ERROR, NULL, "redis store: %s", why);
        free(st);
        return -EINVAL;
    }
    rc = pthread_mutex_init(&st->lock, NULL);
    if (rc) {
        fu_log_errno(FU_LOG_ERROR, NULL, "pthread_mutex_init", rc,
                     "redis store");
        rq_store_release(&st->rq);
        free(st);
        return -rc;
    }
    config_redis_url_masked(c, url, sizeof(url));
    /* connect now to say early whether Redis is there; not fatal */
    rc = rq_store_queue_depth(&st->rq, &depth);
    if (rc)
        fu_log(FU_LOG_WARNING, NULL,
               "task store: Redis at %s, queue %s: not reachable yet (%s: "
               "%s); uploads get 503 until it is",
               url, c->redis_queue, rq_store_errname(rc),
               rq_store_last_error(&st->rq));
    else
        fu_log(FU_LOG_INFO, NULL,
               "task store: Redis at %s, queue %s (%lld waiting), task "
               "hashes in db %d, jobs run %s",
               url, c->redis_queue, depth, c->redis_results_db, c->job_func);
    ts->ops = &redis_ops;
    ts->impl = st;
    return 0;
}
