/*
 * test_config.c - config_load(): every variable, defaults, bad values
 * naming the variable and the value, secrets never echoed, cross checks.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

#define KEY1 "0123456789abcdef0123456789abcdef"
#define KEY2 "ZYXWVUTSRQPONMLKJIHGFEDCBA987654321"

struct kv {
    const char *k;
    const char *v;
};

static const char *fake_get(const char *name, void *ctx)
{
    const struct kv *e = ctx;

    for (; e->k; e++)
        if (strcmp(e->k, name) == 0)
            return e->v;
    return NULL;
}

static char errmem[1024];

static int load(struct config *c, const struct kv *env)
{
    struct bbuf err;

    BBUF_INIT_ARRAY(&err, errmem);
    return config_load(c, fake_get, (void *)env, &err);
}

/* Load env with one variable set to value; expect failure whose message
 * contains every string of want (NULL-terminated). */
static void expect_bad(const char *name, const char *value, const char *want1,
                       const char *want2)
{
    struct kv env[] = {{"APP_API__SECRET_KEY", KEY1}, {name, value}, {0}};
    struct config c;

    if (strcmp(name, "APP_API__SECRET_KEY") == 0)
        env[0].k = "UNUSED";
    assert_int_equal(load(&c, env), -EINVAL);
    if (!strstr(errmem, want1))
        fail_msg("'%s' not in '%s'", want1, errmem);
    if (want2 && !strstr(errmem, want2))
        fail_msg("'%s' not in '%s'", want2, errmem);
}

static void test_defaults(void **state)
{
    struct kv env[] = {{"APP_API__SECRET_KEY", KEY1}, {0}};
    char cwd[1024], want[1200];
    struct config c;

    (void)state;
    assert_int_equal(load(&c, env), 0);
    assert_int_equal(c.max_file_mb, 500);
    assert_true(c.max_file_bytes == 500ull * 1024 * 1024);
    assert_int_equal(c.nkeys, 1);
    assert_true(c.has_secret);
    assert_int_equal(c.keys[0].len, 32);
    assert_memory_equal(c.keys[0].bytes, KEY1, 32);
    assert_true(c.auth_enabled);
    assert_int_equal(c.default_backend, ASR_WHISPER);
    assert_int_equal(c.chunk_kb, 64);
    assert_int_equal(c.chunk_bytes, 65536);
    assert_int_equal(c.max_queue_depth, 50);
    assert_int_equal(c.retry_after_s, 30);
    assert_int_equal(c.log_level, FU_LOG_INFO);
    assert_int_equal(c.threads, 8);
    assert_int_equal(c.grace_s, 30);
    assert_int_equal(c.sweep_age_s, 3600);
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    snprintf(want, sizeof(want), "%s/var/audio", cwd);
    assert_string_equal(c.audio_dir, want);
    snprintf(want, sizeof(want), "%s/var/queue", cwd);
    assert_string_equal(c.queue_dir, want);
    assert_true(c.queue_dir_derived);
    /* the default types and their extensions */
    assert_int_equal(c.nmimes, 7);
    assert_string_equal(config_find_mime(&c, "audio/x-wav")->ext, "wav");
    assert_string_equal(config_find_mime(&c, "audio/mpeg")->ext, "mp3");
    assert_string_equal(config_find_mime(&c, "audio/x-m4a")->ext, "m4a");
    assert_string_equal(config_find_mime(&c, "audio/mp4")->ext, "m4a");
    assert_string_equal(config_find_mime(&c, "video/mp4")->ext, "mp4");
    assert_string_equal(config_find_mime(&c, "audio/flac")->ext, "flac");
    assert_string_equal(config_find_mime(&c, "audio/ogg")->ext, "ogg");
    assert_null(config_find_mime(&c, "image/png"));
    assert_null(config_find_mime(&c, "text/plain"));
}

static void test_every_variable(void **state)
{
    struct kv env[] = {
        {"APP_API__SECRET_KEY", "  " KEY1 " "},
        {"APP_API__FALLBACK_KEYS", KEY2 ", ," KEY1 "x,"},
        {"APP_API__AUTH_ENABLED", "yes"},
        {"APP_API__MAX_FILE_SIZE_MB", "100"},
        {"APP_API__DEFAULT_ASR_BACKEND", "ChunkFormer"},
        {"APP_API__CHUNK_SIZE_KB", "256"},
        {"APP_API__ALLOWED_MIME_TYPES", " Audio/X-WAV , audio/x-foo=foo,"},
        {"APP_API__RETRY_AFTER_S", "7"},
        {"APP_PATHS__AUDIO_DIR", "/srv//audio/./"},
        {"APP_PATHS__QUEUE_DIR", "/srv/q"},
        {"APP_REDIS__MAX_QUEUE_DEPTH", "3"},
        {"APP_LOG__LEVEL", "WARN"},
        {"APP_WORKER__THREADS", "16"},
        {"APP_WORKER__GRACE_S", "0"},
        {"APP_WORKER__SWEEP_AGE_S", "60"},
        {0},
    };
    struct config c;

    (void)state;
    assert_int_equal(load(&c, env), 0);
    assert_int_equal(c.nkeys, 3);
    assert_int_equal(c.keys[0].len, 32);
    assert_int_equal(c.keys[1].len, strlen(KEY2));
    assert_memory_equal(c.keys[1].bytes, KEY2, strlen(KEY2));
    assert_int_equal(c.keys[2].len, 33);
    assert_true(c.auth_enabled);
    assert_true(c.max_file_bytes == 100ull * 1024 * 1024);
    assert_int_equal(c.default_backend, ASR_CHUNKFORMER);
    assert_int_equal(c.chunk_bytes, 256 * 1024);
    assert_int_equal(c.nmimes, 2);
    assert_string_equal(c.mimes[0].type, "audio/x-wav");
    assert_string_equal(c.mimes[0].ext, "wav");
    assert_string_equal(c.mimes[1].type, "audio/x-foo");
    assert_string_equal(c.mimes[1].ext, "foo");
    assert_int_equal(c.retry_after_s, 7);
    assert_string_equal(c.audio_dir, "/srv/audio");
    assert_string_equal(c.queue_dir, "/srv/q");
    assert_false(c.queue_dir_derived);
    assert_int_equal(c.max_queue_depth, 3);
    assert_int_equal(c.log_level, FU_LOG_WARNING);
    assert_int_equal(c.threads, 16);
    assert_int_equal(c.grace_s, 0);
    assert_int_equal(c.sweep_age_s, 60);
}

static void test_empty_is_unset(void **state)
{
    struct kv env[] = {
        {"APP_API__SECRET_KEY", KEY1},
        {"APP_API__MAX_FILE_SIZE_MB", ""},
        {"APP_API__CHUNK_SIZE_KB", ""},
        {"APP_PATHS__QUEUE_DIR", ""},
        {"APP_LOG__LEVEL", ""},
        {"APP_API__AUTH_ENABLED", ""},
        {0},
    };
    struct config c;

    (void)state;
    assert_int_equal(load(&c, env), 0);
    assert_int_equal(c.max_file_mb, 500);
    assert_int_equal(c.chunk_kb, 64);
    assert_true(c.queue_dir_derived);
    assert_true(c.auth_enabled);
}

static void test_bad_values_name_variable_and_value(void **state)
{
    (void)state;
    expect_bad("APP_API__MAX_FILE_SIZE_MB", "lots", "APP_API__MAX_FILE_SIZE_MB",
               "'lots'");
    expect_bad("APP_API__MAX_FILE_SIZE_MB", "0", "APP_API__MAX_FILE_SIZE_MB",
               "'0'");
    expect_bad("APP_API__MAX_FILE_SIZE_MB", "-5", "APP_API__MAX_FILE_SIZE_MB",
               "'-5'");
    expect_bad("APP_API__MAX_FILE_SIZE_MB", "1048577",
               "APP_API__MAX_FILE_SIZE_MB", "'1048577'");
    expect_bad("APP_API__MAX_FILE_SIZE_MB", "99999999999999999999999",
               "APP_API__MAX_FILE_SIZE_MB", NULL);
    expect_bad("APP_API__CHUNK_SIZE_KB", "3", "APP_API__CHUNK_SIZE_KB", "'3'");
    expect_bad("APP_API__CHUNK_SIZE_KB", "1025", "APP_API__CHUNK_SIZE_KB",
               "'1025'");
    expect_bad("APP_API__CHUNK_SIZE_KB", "64k", "APP_API__CHUNK_SIZE_KB",
               "'64k'");
    expect_bad("APP_API__DEFAULT_ASR_BACKEND", "kaldi",
               "APP_API__DEFAULT_ASR_BACKEND", "'kaldi'");
    expect_bad("APP_API__AUTH_ENABLED", "nope", "APP_API__AUTH_ENABLED",
               "'nope'");
    expect_bad("APP_REDIS__MAX_QUEUE_DEPTH", "0", "APP_REDIS__MAX_QUEUE_DEPTH",
               "'0'");
    expect_bad("APP_REDIS__MAX_QUEUE_DEPTH", "5 0",
               "APP_REDIS__MAX_QUEUE_DEPTH", "'5 0'");
    expect_bad("APP_API__RETRY_AFTER_S", "3601", "APP_API__RETRY_AFTER_S",
               "'3601'");
    expect_bad("APP_LOG__LEVEL", "loud", "APP_LOG__LEVEL", "'loud'");
    expect_bad("APP_WORKER__THREADS", "0", "APP_WORKER__THREADS", "'0'");
    expect_bad("APP_WORKER__THREADS", "129", "APP_WORKER__THREADS", "'129'");
    expect_bad("APP_WORKER__GRACE_S", "3601", "APP_WORKER__GRACE_S", "'3601'");
    expect_bad("APP_WORKER__SWEEP_AGE_S", "0", "APP_WORKER__SWEEP_AGE_S",
               "'0'");
    expect_bad("APP_API__ALLOWED_MIME_TYPES", "audio/x-unknown",
               "APP_API__ALLOWED_MIME_TYPES", "audio/x-unknown=<ext>");
    expect_bad("APP_API__ALLOWED_MIME_TYPES", "audio",
               "APP_API__ALLOWED_MIME_"
               "TYPES",
               "'audio'");
    expect_bad("APP_API__ALLOWED_MIME_TYPES", "audio/x wav=wav",
               "APP_API__ALLOWED_MIME_TYPES", NULL);
    expect_bad("APP_API__ALLOWED_MIME_TYPES", "audio/x-a=../x",
               "APP_API__ALLOWED_MIME_TYPES", "extension");
    expect_bad("APP_API__ALLOWED_MIME_TYPES", " , ",
               "APP_API__ALLOWED_MIME_TYPES", "no media type");
    expect_bad("APP_PATHS__AUDIO_DIR", "/", "APP_PATHS__AUDIO_DIR", "root");
}

static void test_secret_rules(void **state)
{
    struct config c;
    struct kv short_key[] = {{"APP_API__SECRET_KEY", "tooshort-secret"}, {0}};
    struct kv no_key[] = {{0}};
    struct kv no_auth[] = {{"APP_API__AUTH_ENABLED", "false"}, {0}};
    struct kv spaces[] = {{"APP_API__SECRET_KEY", KEY1 " with space"}, {0}};
    struct kv short_fb[] = {{"APP_API__SECRET_KEY", KEY1},
                            {"APP_API__FALLBACK_KEYS", KEY2 ",shortone"},
                            {0}};
    struct kv fb_only[] = {{"APP_API__FALLBACK_KEYS", KEY2}, {0}};

    (void)state;
    /* under 32 characters refuses to start; the key is never echoed */
    assert_int_equal(load(&c, short_key), -EINVAL);
    assert_non_null(strstr(errmem, "APP_API__SECRET_KEY"));
    assert_non_null(strstr(errmem, "15 characters"));
    assert_null(strstr(errmem, "tooshort"));
    /* no key with auth on refuses to start */
    assert_int_equal(load(&c, no_key), -EINVAL);
    assert_non_null(strstr(errmem, "APP_API__SECRET_KEY is not set"));
    /* auth off explicitly: no key needed */
    assert_int_equal(load(&c, no_auth), 0);
    assert_false(c.auth_enabled);
    assert_int_equal(c.nkeys, 0);
    assert_int_equal(load(&c, spaces), -EINVAL);
    assert_null(strstr(errmem, KEY1));
    assert_int_equal(load(&c, short_fb), -EINVAL);
    assert_non_null(strstr(errmem, "APP_API__FALLBACK_KEYS"));
    assert_non_null(strstr(errmem, "entry 2"));
    assert_null(strstr(errmem, "shortone"));
    assert_int_equal(load(&c, fb_only), -EINVAL);
}

static void test_dirs_separate(void **state)
{
    struct config c;
    struct kv inside[] = {{"APP_API__SECRET_KEY", KEY1},
                          {"APP_PATHS__AUDIO_DIR", "/srv/audio"},
                          {"APP_PATHS__QUEUE_DIR", "/srv/audio/queue"},
                          {0}};
    struct kv same[] = {{"APP_API__SECRET_KEY", KEY1},
                        {"APP_PATHS__AUDIO_DIR", "/srv/a"},
                        {"APP_PATHS__QUEUE_DIR", "/srv/a/"},
                        {0}};
    struct kv around[] = {{"APP_API__SECRET_KEY", KEY1},
                          {"APP_PATHS__AUDIO_DIR", "/srv/q/audio"},
                          {"APP_PATHS__QUEUE_DIR", "/srv/q"},
                          {0}};
    struct kv named_queue[] = {{"APP_API__SECRET_KEY", KEY1},
                               {"APP_PATHS__AUDIO_DIR", "/srv/queue"},
                               {0}};
    struct kv siblings[] = {{"APP_API__SECRET_KEY", KEY1},
                            {"APP_PATHS__AUDIO_DIR", "/srv/audio"},
                            {"APP_PATHS__QUEUE_DIR", "/srv/audio2"},
                            {0}};

    (void)state;
    assert_int_equal(load(&c, inside), -EINVAL);
    assert_non_null(strstr(errmem, "APP_PATHS__QUEUE_DIR"));
    assert_int_equal(load(&c, same), -EINVAL);
    assert_int_equal(load(&c, around), -EINVAL);
    assert_int_equal(load(&c, named_queue), -EINVAL); /* derived == audio */
    assert_int_equal(load(&c, siblings), 0);
}

static void test_help_and_print(void **state)
{
    struct kv env[] = {
        {"APP_API__SECRET_KEY", KEY1}, {"APP_API__FALLBACK_KEYS", KEY2}, {0}};
    static const char *const names[] = {
        "APP_API__MAX_FILE_SIZE_MB",
        "APP_API__SECRET_KEY",
        "APP_API__FALLBACK_KEYS",
        "APP_API__DEFAULT_ASR_BACKEND",
        "APP_PATHS__AUDIO_DIR",
        "APP_PATHS__QUEUE_DIR",
        "APP_REDIS__MAX_QUEUE_DEPTH",
        "APP_API__CHUNK_SIZE_KB",
        "APP_API__ALLOWED_MIME_TYPES",
        "APP_API__AUTH_ENABLED",
        "APP_LOG__LEVEL",
        "APP_WORKER__THREADS",
        "APP_WORKER__GRACE_S",
        "APP_WORKER__SWEEP_AGE_S",
        "APP_API__RETRY_AFTER_S",
    };
    char *buf = NULL;
    size_t len = 0, i;
    struct config c;
    FILE *f;

    (void)state;
    f = open_memstream(&buf, &len);
    assert_non_null(f);
    config_print_help(f);
    fclose(f);
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        assert_non_null(strstr(buf, names[i]));
    assert_non_null(strstr(buf, "default: 500"));
    free(buf);

    assert_int_equal(load(&c, env), 0);
    f = open_memstream(&buf, &len);
    config_print(&c, f);
    fclose(f);
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        assert_non_null(strstr(buf, names[i]));
    assert_null(strstr(buf, KEY1)); /* masked */
    assert_null(strstr(buf, KEY2));
    assert_null(strstr(buf, "0123456789"));
    free(buf);
}

static void test_mime_ext(void **state)
{
    (void)state;
    assert_string_equal(mime_default_ext("audio/x-wav"), "wav");
    assert_string_equal(mime_default_ext("audio/mpeg"), "mp3");
    assert_string_equal(mime_default_ext("audio/flac"), "flac");
    assert_null(mime_default_ext("image/png"));
}

/* The Redis/RQ settings: defaults, every variable, bad values, and the
 * password never shown (--check-config, --help, error messages). */
static void test_redis_settings(void **state)
{
    struct kv defaults[] = {{"APP_API__SECRET_KEY", KEY1}, {0}};
    struct kv all[] = {
        {"APP_API__SECRET_KEY", KEY1},
        {"APP_REDIS__URL", " redis://app:s3cr%40t@redis.example:6380/2 "},
        {"APP_REDIS__RESULTS_DB", "5"},
        {"APP_REDIS__QUEUE_NAME", "audio:high"},
        {"APP_REDIS__CONNECT_TIMEOUT_MS", "150"},
        {"APP_REDIS__COMMAND_TIMEOUT_MS", "900"},
        {"APP_WORKER__JOB_FUNC", "my_app.jobs.run"},
        {"APP_WORKER__JOB_TIMEOUT", "-1"},
        {"APP_WORKER__RESULT_TTL", "0"},
        {0},
    };
    static const char *const names[] = {
        "APP_REDIS__URL",
        "APP_REDIS__RESULTS_DB",
        "APP_REDIS__QUEUE_NAME",
        "APP_REDIS__CONNECT_TIMEOUT_MS",
        "APP_REDIS__COMMAND_TIMEOUT_MS",
        "APP_WORKER__JOB_FUNC",
        "APP_WORKER__JOB_TIMEOUT",
        "APP_WORKER__RESULT_TTL",
    };
    char *buf = NULL, masked[64];
    size_t len = 0, i;
    struct config c;
    FILE *f;

    (void)state;
    assert_int_equal(load(&c, defaults), 0);
    assert_string_equal(c.redis_url, "");
    assert_int_equal(c.redis_results_db, 1);
    assert_string_equal(c.redis_queue, "default");
    assert_string_equal(c.job_func, "src.worker.pipeline.process_audio_task");
    assert_int_equal(c.job_timeout_s, 600);
    assert_int_equal(c.result_ttl_s, 86400);
    assert_int_equal(c.redis_connect_ms, 2000);
    assert_int_equal(c.redis_command_ms, 5000);
    config_redis_url_masked(&c, masked, sizeof(masked));
    assert_string_equal(masked, "");

    assert_int_equal(load(&c, all), 0);
    assert_string_equal(c.redis_url,
                        "redis://app:s3cr%40t@redis.example:6380/2");
    assert_int_equal(c.redis_results_db, 5);
    assert_string_equal(c.redis_queue, "audio:high");
    assert_string_equal(c.job_func, "my_app.jobs.run");
    assert_int_equal(c.job_timeout_s, -1);
    assert_int_equal(c.result_ttl_s, 0);
    assert_int_equal(c.redis_connect_ms, 150);
    assert_int_equal(c.redis_command_ms, 900);

    f = open_memstream(&buf, &len);
    assert_non_null(f);
    config_print(&c, f);
    fclose(f);
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        assert_non_null(strstr(buf, names[i]));
    assert_non_null(
        strstr(buf, "APP_REDIS__URL=redis://app:****@redis.example:6380/2\n"));
    assert_null(strstr(buf, "s3cr"));
    free(buf);
    f = open_memstream(&buf, &len);
    config_print_help(f);
    fclose(f);
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        assert_non_null(strstr(buf, names[i]));
    assert_non_null(
        strstr(buf, "default: src.worker.pipeline.process_audio_task"));
    free(buf);

    /* masking: every place a password can be, cut or not */
    {
        static const char *const cases[][2] = {
            {"redis://:pw@h:1/0", "redis://:****@h:1/0"},
            {"redis://u:pw@h", "redis://u:****@h"},
            {"redis://secret@h", "redis://****@h"},
            {"unix://:pw@/run/redis.sock?db=3",
             "unix://:****@/run/redis.sock?db=3"},
            {"redis://h:6379/1", "redis://h:6379/1"},
            {"unix:///run/redis.sock", "unix:///run/redis.sock"},
            {"redis://u:@h", "redis://u:@h"},
            {"redis://:p/w@q?@h", "redis://:****@h"},
        };
        for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            snprintf(c.redis_url, sizeof(c.redis_url), "%s", cases[i][0]);
            config_redis_url_masked(&c, masked, sizeof(masked));
            assert_string_equal(masked, cases[i][1]);
            /* too small: cut, and still no password byte */
            config_redis_url_masked(&c, masked, 12);
            assert_true(strlen(masked) <= 11);
            assert_null(strstr(masked, "pw"));
        }
    }

    /* bad values name the variable; the URL is shown masked only */
    expect_bad("APP_REDIS__URL", "http://h", "APP_REDIS__URL", "redis://");
    expect_bad("APP_REDIS__URL", "redis://:hunter2@h:99999", "APP_REDIS__URL",
               "redis://:****@h:99999");
    assert_null(strstr(errmem, "hunter2"));
    expect_bad("APP_REDIS__URL", "rediss://:hunter2@h", "APP_REDIS__URL",
               "TLS");
    assert_null(strstr(errmem, "hunter2"));
    expect_bad("APP_REDIS__URL", "redis://:hunt er2@h", "APP_REDIS__URL",
               "space");
    assert_null(strstr(errmem, "hunt"));
    expect_bad("APP_REDIS__RESULTS_DB", "-1", "APP_REDIS__RESULTS_DB", "'-1'");
    expect_bad("APP_REDIS__QUEUE_NAME", "a b", "APP_REDIS__QUEUE_NAME",
               "'a b'");
    expect_bad("APP_WORKER__JOB_FUNC", "process_audio_task",
               "APP_WORKER__JOB_FUNC", "dotted");
    expect_bad("APP_WORKER__JOB_FUNC", "src..f", "APP_WORKER__JOB_FUNC", NULL);
    expect_bad("APP_WORKER__JOB_FUNC", "src.f.", "APP_WORKER__JOB_FUNC", NULL);
    expect_bad("APP_WORKER__JOB_FUNC", "src.1f", "APP_WORKER__JOB_FUNC", NULL);
    expect_bad("APP_WORKER__JOB_TIMEOUT", "0", "APP_WORKER__JOB_TIMEOUT",
               "'0'");
    expect_bad("APP_WORKER__JOB_TIMEOUT", "-2", "APP_WORKER__JOB_TIMEOUT",
               "'-2'");
    expect_bad("APP_WORKER__RESULT_TTL", "31536001", "APP_WORKER__RESULT_TTL",
               NULL);
    expect_bad("APP_REDIS__CONNECT_TIMEOUT_MS", "0",
               "APP_REDIS__CONNECT_TIMEOUT_MS", "'0'");
    expect_bad("APP_REDIS__COMMAND_TIMEOUT_MS", "600001",
               "APP_REDIS__COMMAND_TIMEOUT_MS", NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_every_variable),
        cmocka_unit_test(test_empty_is_unset),
        cmocka_unit_test(test_bad_values_name_variable_and_value),
        cmocka_unit_test(test_secret_rules),
        cmocka_unit_test(test_dirs_separate),
        cmocka_unit_test(test_help_and_print),
        cmocka_unit_test(test_mime_ext),
        cmocka_unit_test(test_redis_settings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
