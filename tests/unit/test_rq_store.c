/*
 * test_rq_store.c - the parts of fcgi_upload/rq_store that need no Redis:
 * URL parsing, configuration checks, input checks made before anything is
 * sent, and the error table. The Redis side is tests/integration/test_rq.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rq_store.h"

struct url_ok {
    const char *url;
    const char *host_or_path;
    const char *user, *password;
    int port;
    int db;
    bool unix_socket;
    bool has_password;
};

static void test_parse_url_ok(void **state)
{
    static const struct url_ok cases[] = {
        {"redis://localhost:6379/0", "localhost", "", "", 6379, 0, false,
         false},
        {"redis://localhost", "localhost", "", "", 6379, 0, false, false},
        {"redis://localhost/", "localhost", "", "", 6379, 0, false, false},
        {"REDIS://Cache.example:6380/15", "Cache.example", "", "", 6380, 15,
         false, false},
        {"redis://:pw@127.0.0.1:6380/2", "127.0.0.1", "", "pw", 6380, 2, false,
         true},
        {"redis://user:p%40ss%3A@host/3", "host", "user", "p@ss:", 6379, 3,
         false, true},
        {"redis://a@b:c@host", "host", "a@b", "c", 6379, 0, false, true},
        {"redis://:@host", "host", "", "", 6379, 0, false, false},
        {"redis://[::1]:7000/1", "::1", "", "", 7000, 1, false, false},
        {"redis://[::1]", "::1", "", "", 6379, 0, false, false},
        {"redis://host?db=4", "host", "", "", 6379, 4, false, false},
        {"redis://host/1?db=5", "host", "", "", 6379, 5, false, false},
        {"redis://host/2?", "host", "", "", 6379, 2, false, false},
        {"unix:///run/redis/redis.sock", "/run/redis/redis.sock", "", "", 6379,
         0, true, false},
        {"unix:///tmp/r%20s.sock?db=3", "/tmp/r s.sock", "", "", 6379, 3, true,
         false},
        {"unix://:secret@/tmp/r.sock", "/tmp/r.sock", "", "secret", 6379, 0,
         true, true},
        {"unix://app:pw@/tmp/r.sock?db=1", "/tmp/r.sock", "app", "pw", 6379, 1,
         true, true},
    };
    struct rq_redis_addr a;
    const char *why = NULL;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct url_ok *c = &cases[i];
        int rc = rq_store_parse_url(c->url, &a, &why);
        if (rc != 0)
            fail_msg("%s: %s", c->url, why);
        assert_int_equal(a.unix_socket, c->unix_socket);
        assert_string_equal(c->unix_socket ? a.path : a.host, c->host_or_path);
        if (!c->unix_socket)
            assert_int_equal(a.port, c->port);
        assert_string_equal(a.user, c->user);
        assert_string_equal(a.password, c->password);
        assert_int_equal(a.has_password, c->has_password);
        assert_int_equal(a.db, c->db);
    }
}

static void test_parse_url_bad(void **state)
{
    static const char *const bad[] = {
        "",
        "localhost:6379",
        "http://localhost",
        "rediss://localhost:6380",
        "redis://",
        "redis:///0",
        "redis://:6379",
        "redis://host:0",
        "redis://host:65536",
        "redis://host:",
        "redis://host:12a",
        "redis://host:99999999999",
        "redis://::1:6379",
        "redis://[::1",
        "redis://[::1]x",
        "redis://[]:6379",
        "redis://host/abc",
        "redis://host/1/2",
        "redis://host/-1",
        "redis://host/99999999999",
        "redis://host?foo=1",
        "redis://host?db=",
        "redis://host?db=x",
        "redis://host#frag",
        "redis://user@host",
        "redis://:p%zz@host",
        "redis://:p%0@host",
        "redis://:p%00@host",
        "redis://ho st",
        "redis://ho%20st",
        "unix://",
        "unix://host/tmp/s.sock",
        "unix://:pw@host/tmp/s.sock",
        "unix:///tmp/s.sock?socket_timeout=5",
        "unix://relative.sock",
    };
    struct rq_redis_addr a;
    const char *why;
    char long_path[300];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        why = NULL;
        if (rq_store_parse_url(bad[i], &a, &why) != RQ_STORE_E_INVALID)
            fail_msg("accepted: \"%s\"", bad[i]);
        assert_non_null(why);
        assert_null(strstr(why, "%")); /* a static message, not the URL */
    }
    assert_int_equal(rq_store_parse_url(NULL, &a, NULL), RQ_STORE_E_INVALID);

    /* sun_path holds 107 bytes and a NUL */
    memset(long_path, 'p', sizeof long_path);
    memcpy(long_path, "unix:///", 8);
    long_path[7 + RQ_STORE_SOCKET_MAX + 1] = '\0';
    assert_int_equal(rq_store_parse_url(long_path, &a, &why),
                     RQ_STORE_E_INVALID);
    long_path[7 + RQ_STORE_SOCKET_MAX] = '\0';
    assert_int_equal(rq_store_parse_url(long_path, &a, &why), 0);
    assert_int_equal(strlen(a.path), RQ_STORE_SOCKET_MAX);
}

static void test_init_checks(void **state)
{
    static struct rq_store s; /* large: keep it off the stack */
    struct rq_store_config base = RQ_STORE_CONFIG_DEFAULT, c;
    const char *why;
    char longname[RQ_STORE_NAME_MAX + 2];

    (void)state;
    base.url = "redis://127.0.0.1:1/0";
    assert_int_equal(rq_store_init(&s, &base, &why), 0);
    assert_null(s.ctx); /* nothing connected yet */
    assert_string_equal(rq_store_last_error(&s), "");
    rq_store_release(&s);
    rq_store_release(&s); /* twice is harmless */

    memset(longname, 'q', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';

#define BAD(field, value)                                                      \
    do {                                                                       \
        c = base;                                                              \
        c.field = value;                                                       \
        why = NULL;                                                            \
        assert_int_equal(rq_store_init(&s, &c, &why), RQ_STORE_E_INVALID);     \
        assert_non_null(why);                                                  \
    } while (0)
    BAD(url, NULL);
    BAD(url, "redis://");
    BAD(queue_name, NULL);
    BAD(queue_name, "");
    BAD(queue_name, longname);
    BAD(func_name, "");
    BAD(func_name, "f\xff");
    BAD(func_name, longname);
    BAD(results_db, -1);
    BAD(job_timeout, 0);
    BAD(job_timeout, -2);
    BAD(result_ttl, -2);
    BAD(connect_timeout_ms, 0);
    BAD(command_timeout_ms, -5);
#undef BAD
    assert_int_equal(rq_store_init(&s, NULL, NULL), RQ_STORE_E_INVALID);

    c = base;
    c.job_timeout = -1; /* RQ: no timeout */
    c.result_ttl = -1;  /* RQ: keep forever */
    assert_int_equal(rq_store_init(&s, &c, &why), 0);
    rq_store_release(&s);
}

/* Bad input is refused before any connection is tried: the URL points at a
 * socket that does not exist, so an attempt would say UNAVAILABLE. */
static void test_submit_checks_first(void **state)
{
    static struct rq_store s;
    static char huge[RQ_STORE_PICKLE_MAX + 100];
    static const char *const feats[] = {"summary", NULL};
    struct rq_store_config cfg = RQ_STORE_CONFIG_DEFAULT;
    struct rq_submit ok = {
        .task_id = "0b6f3c5e-8a7d-4f2b-9c1e-2d3a4b5c6d7e",
        .file_path = "/srv/audio/x/raw.wav",
        .asr_backend = "whisper",
        .vad_threshold = 0.5,
        .sha256 = "00",
        .mime_type = "audio/x-wav",
    };
    struct rq_submit t;
    long long depth = 7;

    (void)state;
    cfg.url = "unix:///nonexistent/rq_store_test.sock";
    assert_int_equal(rq_store_init(&s, &cfg, NULL), 0);

#define REFUSED(want, field, value)                                            \
    do {                                                                       \
        t = ok;                                                                \
        t.field = value;                                                       \
        assert_int_equal(rq_store_submit(&s, &t), want);                       \
        assert_null(s.ctx);                                                    \
    } while (0)
    REFUSED(RQ_STORE_E_INVALID, task_id, NULL);
    REFUSED(RQ_STORE_E_INVALID, task_id, "");
    REFUSED(RQ_STORE_E_INVALID, task_id, "../../etc");
    REFUSED(RQ_STORE_E_INVALID, task_id, "a b");
    REFUSED(
        RQ_STORE_E_INVALID, task_id,
        "01234567890123456789012345678901234567890123456789012345678901234");
    REFUSED(RQ_STORE_E_INVALID, file_path, NULL);
    REFUSED(RQ_STORE_E_INVALID, file_path, "/srv/\xc3(.wav");
    REFUSED(RQ_STORE_E_INVALID, asr_backend, NULL);
    REFUSED(RQ_STORE_E_INVALID, sha256, NULL);
    REFUSED(RQ_STORE_E_INVALID, mime_type, NULL);
    REFUSED(RQ_STORE_E_INVALID, correlation_id, "\xed\xa0\x80");
    REFUSED(RQ_STORE_E_INVALID, n_features, 2); /* features == NULL */
    t = ok;
    t.features = feats;
    t.n_features = 2; /* the second is NULL */
    assert_int_equal(rq_store_submit(&s, &t), RQ_STORE_E_INVALID);
    memset(huge, 'h', sizeof huge - 1);
    REFUSED(RQ_STORE_E_TOO_LARGE, file_path, huge);
#undef REFUSED
    assert_int_equal(rq_store_submit(&s, NULL), RQ_STORE_E_INVALID);
    assert_int_equal(rq_store_get_status(&s, "x/y", NULL, NULL),
                     RQ_STORE_E_INVALID);

    /* and a valid one does try, and says why it failed */
    assert_int_equal(rq_store_submit(&s, &ok), RQ_STORE_E_UNAVAILABLE);
    assert_non_null(strstr(rq_store_last_error(&s), "connect"));
    assert_int_equal(rq_store_queue_depth(&s, &depth), RQ_STORE_E_UNAVAILABLE);
    assert_int_equal(depth, -1);
    rq_store_release(&s);
}

static void test_health_unavailable(void **state)
{
    static struct rq_store s;
    struct rq_store_config cfg = RQ_STORE_CONFIG_DEFAULT;
    struct rq_store_health h = {.connected = true, 5, 5};

    (void)state;
    cfg.url = "unix:///nonexistent/rq_store_test.sock";
    assert_int_equal(rq_store_init(&s, &cfg, NULL), 0);
    assert_int_equal(rq_store_health(&s, &h), RQ_STORE_E_UNAVAILABLE);
    assert_false(h.connected);
    assert_int_equal(h.queue_depth, -1);
    assert_int_equal(h.workers, -1);
    rq_store_release(&s);
}

static void test_error_table(void **state)
{
    (void)state;
    assert_int_equal(RQ_STORE_OK, 0);
    assert_int_equal(RQ_STORE_E_UNAVAILABLE, -1);
    assert_string_equal(rq_store_errname(0), "OK");
    assert_string_equal(rq_store_errname(RQ_STORE_E_UNAVAILABLE),
                        "UNAVAILABLE");
    assert_string_equal(rq_store_errname(RQ_STORE_E_CALLBACK), "CALLBACK");
    assert_string_equal(rq_store_errname(-100), "UNKNOWN");
    assert_string_equal(rq_store_errname(3), "UNKNOWN");
    assert_string_equal(rq_store_strerror(RQ_STORE_E_NOT_FOUND),
                        "no such task");
    assert_string_equal(rq_store_strerror(-100), "unknown error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_url_ok),
        cmocka_unit_test(test_parse_url_bad),
        cmocka_unit_test(test_init_checks),
        cmocka_unit_test(test_submit_checks_first),
        cmocka_unit_test(test_health_unavailable),
        cmocka_unit_test(test_error_table),
    };
    return cmocka_run_group_tests_name("rq_store", tests, NULL, NULL);
}
