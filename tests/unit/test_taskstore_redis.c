/*
 * test_taskstore_redis.c - the Redis task store without a server: the
 * typed JSON of a task hash (GET /v1/status), the choice of store from the
 * configuration, and what every call answers when Redis cannot be reached
 * (-EAGAIN, the handler's 503, fast, and the health members saying so).
 * Against a real redis-server and rq worker: tests/integration/test_redis.sh.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "fu_log.h"
#include "jsonx.h"
#include "taskstore.h"

#define KEY "0123456789abcdef0123456789abcdef"

static const char *url_value;

static const char *env_get(const char *name, void *ctx)
{
    (void)ctx;
    if (strcmp(name, "APP_API__SECRET_KEY") == 0)
        return KEY;
    if (strcmp(name, "APP_REDIS__URL") == 0)
        return url_value;
    if (strcmp(name, "APP_PATHS__AUDIO_DIR") == 0)
        return "/nonexistent-fu-test/audio";
    return NULL;
}

static void load(struct config *c, const char *url)
{
    char errmem[512];
    struct bbuf err;

    url_value = url;
    BBUF_INIT_ARRAY(&err, errmem);
    if (config_load(c, env_get, NULL, &err))
        fail_msg("config: %s", errmem);
}

/* Add name=value to a fresh object, return its compact JSON text. */
static const char *field(const char *name, const char *value, size_t len)
{
    static char out[512];
    struct bbuf b;
    json_t *obj = json_object();

    assert_non_null(obj);
    assert_int_equal(task_hash_field_json(obj, name, strlen(name), value, len),
                     0);
    BBUF_INIT_ARRAY(&b, out);
    assert_int_equal(json_dump_bbuf(obj, &b), 0);
    json_decref(obj);
    return out;
}

#define FIELD(n, v) field((n), (v), sizeof(v) - 1)

static void test_hash_fields_typed(void **state)
{
    (void)state;
    assert_string_equal(
        FIELD("features", "[\"clean_transcript\", \"summary\"]"),
        "{\"features\":[\"clean_transcript\",\"summary\"]}");
    /* not a JSON array: kept as the text it is */
    assert_string_equal(FIELD("features", "summary"),
                        "{\"features\":\"summary\"}");
    assert_string_equal(FIELD("features", "{\"a\":1}"),
                        "{\"features\":\"{\\\"a\\\":1}\"}");
    assert_string_equal(FIELD("size_bytes", "300000"),
                        "{\"size_bytes\":300000}");
    assert_string_equal(FIELD("size_bytes", "12x"), "{\"size_bytes\":\"12x\"}");
    assert_string_equal(FIELD("size_bytes", "99999999999999999999"),
                        "{\"size_bytes\":\"99999999999999999999\"}");
    assert_string_equal(FIELD("template_id", ""), "{\"template_id\":null}");
    assert_string_equal(FIELD("template_id", "tpl"),
                        "{\"template_id\":\"tpl\"}");
    assert_string_equal(FIELD("correlation_id", ""),
                        "{\"correlation_id\":null}");
    /* everything else, also what a worker adds, is a string */
    assert_string_equal(FIELD("status", "COMPLETE"),
                        "{\"status\":\"COMPLETE\"}");
    assert_string_equal(FIELD("result", "{\"text\":\"hi\"}"),
                        "{\"result\":\"{\\\"text\\\":\\\"hi\\\"}\"}");
    assert_string_equal(FIELD("error", ""), "{\"error\":\"\"}");
    assert_string_equal(FIELD("note", "caf\xc3\xa9"),
                        "{\"note\":\"caf\xc3\xa9\"}");
    /* bytes that are not UTF-8: null, never invalid JSON */
    assert_string_equal(FIELD("blob", "\xff\xfe"), "{\"blob\":null}");
    assert_string_equal(FIELD("nul", "a\0b"), "{\"nul\":\"a\\u0000b\"}");
}

static void test_hash_field_bad_names(void **state)
{
    char longname[300];
    json_t *obj = json_object();

    (void)state;
    assert_non_null(obj);
    assert_int_equal(task_hash_field_json(obj, "\xff", 1, "v", 1), 0);
    assert_int_equal(task_hash_field_json(obj, "a\0b", 3, "v", 1), 0);
    memset(longname, 'n', sizeof(longname));
    assert_int_equal(
        task_hash_field_json(obj, longname, sizeof(longname), "v", 1), 0);
    assert_int_equal(json_object_size(obj), 0);
    json_decref(obj);
}

static void test_open_picks_store(void **state)
{
    struct config c;
    struct taskstore ts;
    json_t *obj;

    (void)state;
    /* Redis: opening connects nothing that must succeed */
    load(&c, "unix:///nonexistent-fu-test/redis.sock");
    assert_int_equal(taskstore_open(&ts, &c, -1), 0);
    obj = json_object();
    assert_int_equal(ts.ops->health(ts.impl, obj), -EAGAIN);
    assert_non_null(json_object_get(obj, "redis_connected"));
    ts.ops->close(ts.impl);
    json_decref(obj);
    /* no URL: the filesystem store, which needs its queue directory */
    load(&c, "");
    assert_int_not_equal(taskstore_open(&ts, &c, -1), 0);
}

static long long ms_since(const struct timespec *t0)
{
    struct timespec t1;

    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (long long)(t1.tv_sec - t0->tv_sec) * 1000 +
           (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

static void test_unreachable_is_eagain(void **state)
{
    char mem[256];
    struct config c;
    struct taskstore ts;
    struct task_record r;
    struct timespec t0;
    struct bbuf out;
    uint64_t depth = 7;
    json_t *obj;

    (void)state;
    load(&c, "unix:///nonexistent-fu-test/redis.sock");
    assert_int_equal(taskstore_redis_open(&ts, &c, -1), 0);
    clock_gettime(CLOCK_MONOTONIC, &t0);

    assert_int_equal(ts.ops->queue_depth(ts.impl, &depth), -EAGAIN);
    assert_int_equal(depth, 7); /* untouched */

    memset(&r, 0, sizeof(r));
    snprintf(r.task_id, sizeof(r.task_id), "%s",
             "00000000-0000-4000-8000-000000000000");
    feature_set_init(&r.features);
    snprintf(r.file_path, sizeof(r.file_path), "/x/raw.wav");
    snprintf(r.sha256, sizeof(r.sha256), "%064d", 0);
    snprintf(r.mime_type, sizeof(r.mime_type), "audio/x-wav");
    snprintf(r.correlation_id, sizeof(r.correlation_id), "req-1");
    assert_int_equal(ts.ops->submit(ts.impl, &r), -EAGAIN);

    BBUF_INIT_ARRAY(&out, mem);
    assert_int_equal(ts.ops->get_status(ts.impl, r.task_id, &out), -EAGAIN);
    assert_int_equal(out.len, 0);

    obj = json_object();
    assert_int_equal(ts.ops->health(ts.impl, obj), -EAGAIN);
    assert_true(json_is_null(json_object_get(obj, "queue_depth")));
    assert_true(json_is_false(json_object_get(obj, "redis_connected")));
    assert_true(json_is_false(json_object_get(obj, "worker_active")));
    assert_true(json_is_null(json_object_get(obj, "workers")));
    json_decref(obj);

    /* a refused connection is not a timeout: all of it at once */
    assert_true(ms_since(&t0) < 1000);
    ts.ops->close(ts.impl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hash_fields_typed),
        cmocka_unit_test(test_hash_field_bad_names),
        cmocka_unit_test(test_open_picks_store),
        cmocka_unit_test(test_unreachable_is_eagain),
    };

    fu_log_init(FU_LOG_ERROR);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
