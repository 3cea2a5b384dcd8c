/*
 * test_request.c - the request flow end to end, in process: a fake
 * transport (parameters, a body served in reads of any size, a broken
 * connection on demand) in front of the real parser, libmagic, file sink and
 * filesystem task store in a temporary directory.
 *
 * Checked for every error row: the status and error_code, that nothing is
 * left in the spool or the queue, and for the checks made before the body
 * that not one body byte was read.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "fsutil.h"
#include "fu_log.h"
#include "request.h"
#include "taskstore.h"
#include "transport.h"

#define KEY      "0123456789abcdef0123456789abcdef"
#define BOUNDARY "----testboundary7MA4YWxk"
static const char CT[] = "multipart/form-data; boundary=" BOUNDARY;

struct fake {
    const char *params[32]; /* name, value, ..., NULL */
    const char *body;
    size_t body_len;
    size_t pos;
    size_t max_read; /* bytes per read at most */
    size_t break_at; /* report a broken connection here (0: never) */
    unsigned reads;
    char out[FU_STATUS_JSON_MAX + 4096];
    size_t out_len;
};

static ssize_t fake_read(void *impl, char *buf, size_t cap)
{
    struct fake *f = impl;
    size_t n = f->body_len - f->pos;

    f->reads++;
    if (f->break_at && f->pos >= f->break_at)
        return -EPROTO;
    if (n > cap)
        n = cap;
    if (n > f->max_read)
        n = f->max_read;
    if (f->break_at && f->pos + n > f->break_at)
        n = f->break_at - f->pos;
    memcpy(buf, f->body + f->pos, n);
    f->pos += n;
    return (ssize_t)n;
}

static const char *fake_param(void *impl, const char *name)
{
    struct fake *f = impl;
    size_t i;

    for (i = 0; f->params[i]; i += 2)
        if (strcmp(f->params[i], name) == 0)
            return f->params[i + 1];
    return NULL;
}

static int fake_write(void *impl, const char *buf, size_t len)
{
    struct fake *f = impl;

    assert_true(f->out_len + len < sizeof(f->out));
    memcpy(f->out + f->out_len, buf, len);
    f->out_len += len;
    f->out[f->out_len] = '\0';
    return 0;
}

struct env {
    char dir[128];
    char audio[160];
    char queue[160];
    struct config cfg;
    struct taskstore store;
    struct worker w;
    int spool_fd;
};

static struct env E;

static const char *env_get(const char *name, void *ctx)
{
    (void)ctx;
    if (strcmp(name, "APP_API__SECRET_KEY") == 0)
        return KEY;
    if (strcmp(name, "APP_PATHS__AUDIO_DIR") == 0)
        return E.audio;
    if (strcmp(name, "APP_PATHS__QUEUE_DIR") == 0)
        return E.queue;
    if (strcmp(name, "APP_API__MAX_FILE_SIZE_MB") == 0)
        return "1";
    if (strcmp(name, "APP_API__CHUNK_SIZE_KB") == 0)
        return "4";
    if (strcmp(name, "APP_REDIS__MAX_QUEUE_DEPTH") == 0)
        return "3";
    return NULL;
}

static int setup(void **state)
{
    const char *tmp;
    char errmem[512];
    struct bbuf err;

    (void)state;
    fu_log_init(FU_LOG_ERROR);
    tmp = getenv("TMPDIR");
    snprintf(E.dir, sizeof(E.dir), "%s/fu_test_request.XXXXXX",
             tmp && tmp[0] ? tmp : "/tmp");
    assert_non_null(mkdtemp(E.dir));
    snprintf(E.audio, sizeof(E.audio), "%s/audio", E.dir);
    snprintf(E.queue, sizeof(E.queue), "%s/queue", E.dir);
    BBUF_INIT_ARRAY(&err, errmem);
    if (config_load(&E.cfg, env_get, NULL, &err))
        fail_msg("config: %s", errmem);
    assert_int_equal(
        fsu_open_dir(AT_FDCWD, E.cfg.audio_dir, true, true, &E.spool_fd), 0);
    assert_int_equal(taskstore_fs_open(&E.store, &E.cfg, E.spool_fd), 0);
    assert_int_equal(worker_init(&E.w, &E.cfg, &E.store, E.spool_fd), 0);
    return 0;
}

static int rm_entry(const char *path, const struct stat *sb, int flag,
                    struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int teardown(void **state)
{
    (void)state;
    worker_release(&E.w);
    E.store.ops->close(E.store.impl);
    close(E.spool_fd);
    nftw(E.dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

/* Entries in dir (relative to the test directory), "." and ".." aside. */
static int count(const char *sub)
{
    char path[512];
    struct dirent *de;
    int n = 0;
    DIR *d;

    snprintf(path, sizeof(path), "%s/%s", E.dir, sub);
    d = opendir(path);
    assert_non_null(d);
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

static void assert_spool_empty(void)
{
    assert_int_equal(count("audio"), 0);
    assert_int_equal(count("queue/pending"), 0);
    assert_int_equal(count("queue/tmp"), 0);
}

/* Remove every task (after a success), so the queue depth stays low. */
static void clear_spool(void)
{
    char path[512];

    snprintf(path, sizeof(path), "%s/audio", E.dir);
    nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    mkdir(path, 0750);
    snprintf(path, sizeof(path), "%s/queue/pending", E.dir);
    nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    mkdir(path, 0750);
    /* the worker holds descriptors of the old directories: reopen */
    teardown(NULL);
    setup(NULL);
}

/* A body under construction. */
struct body {
    char mem[3 * 1024 * 1024];
    struct bbuf b;
};

static struct body B;

static void body_start(void)
{
    BBUF_INIT_ARRAY(&B.b, B.mem);
}

static void body_field(const char *name, const char *value)
{
    assert_int_equal(bbuf_printf(&B.b,
                                 "--" BOUNDARY "\r\nContent-Disposition: "
                                 "form-data; name=\"%s\"\r\n\r\n%s\r\n",
                                 name, value),
                     0);
}

static void body_file(const char *name, const char *filename, const void *data,
                      size_t len)
{
    assert_int_equal(bbuf_printf(&B.b,
                                 "--" BOUNDARY "\r\nContent-Disposition: "
                                 "form-data; name=\"%s\"; filename=\"%s\"\r\n"
                                 "Content-Type: audio/wav\r\n\r\n",
                                 name, filename),
                     0);
    assert_int_equal(bbuf_append(&B.b, data, len), 0);
    assert_int_equal(bbuf_append_str(&B.b, "\r\n"), 0);
}

static void body_end(void)
{
    assert_int_equal(bbuf_append_str(&B.b, "--" BOUNDARY "--\r\n"), 0);
}

/* A WAV file of len bytes (len >= 44): a RIFF header and silence. */
static char wav[1024 * 1024 + 16];

static const char *make_wav(size_t len)
{
    static const unsigned char hdr[44] = {
        'R', 'I', 'F',  'F',  0,   0,   0,   0,    'W', 'A', 'V',
        'E', 'f', 'm',  't',  ' ', 16,  0,   0,    0,   1,   0,
        1,   0,   0x80, 0x3e, 0,   0,   0,   0x7d, 0,   0,   2,
        0,   16,  0,    'd',  'a', 't', 'a', 0,    0,   0,   0};

    assert_true(len <= sizeof(wav) && len >= sizeof(hdr));
    memset(wav, 0, len);
    memcpy(wav, hdr, sizeof(hdr));
    return wav;
}

static struct fake F;

/* POST the body in B with the given extra params; returns the status. */
static int run(const char *method, const char *uri, const char *key,
               const char *ct, const char *cl, size_t max_read)
{
    size_t i = 0;
    int status = 0;

    memset(&F, 0, sizeof(F));
    F.params[i++] = "REQUEST_METHOD";
    F.params[i++] = method;
    F.params[i++] = "REQUEST_URI";
    F.params[i++] = uri;
    if (key) {
        F.params[i++] = "HTTP_X_API_KEY";
        F.params[i++] = key;
    }
    if (ct) {
        F.params[i++] = "CONTENT_TYPE";
        F.params[i++] = ct;
    }
    if (cl) {
        F.params[i++] = "CONTENT_LENGTH";
        F.params[i++] = cl;
    }
    F.params[i++] = "HTTP_X_REQUEST_ID";
    F.params[i++] = "test-req-1";
    F.body = B.b.ptr;
    F.body_len = B.b.len;
    F.max_read = max_read ? max_read : SIZE_MAX;
    {
        struct transport t = {&F, fake_read, fake_param, fake_write};
        assert_int_equal(request_serve(&E.w, &t), 0);
    }
    assert_memory_equal(F.out, "Status: ", 8);
    status = (int)strtol(F.out + 8, NULL, 10);
    assert_non_null(strstr(F.out, "X-Request-ID: test-req-1\r\n"));
    assert_non_null(strstr(F.out, "Content-Type: application/json\r\n"));
    return status;
}

static int post(size_t max_read)
{
    return run("POST", "/v1/process", KEY, CT, NULL, max_read);
}

static void assert_error(const char *code)
{
    char want[64];

    snprintf(want, sizeof(want), "\"error_code\":\"%s\"", code);
    if (!strstr(F.out, want))
        fail_msg("%s not in %s", want, F.out);
    assert_non_null(strstr(F.out, "{\"detail\":\""));
}

static void test_accepted_any_read_size(void **state)
{
    static const size_t sizes[] = {1, 7, 4096, 0};
    char path[512], task[40];
    const char *p;
    size_t i;
    struct stat sb;

    (void)state;
    for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        body_start();
        body_field("features", "summary, raw_transcript");
        body_file("file", "../../evil/talk.wav", make_wav(300000), 300000);
        body_field("template_id", "tpl-7");
        body_field("asr_backend", "ChunkFormer");
        body_field("enable_diarization", "on");
        body_field("unknown_field", "ignored");
        body_end();
        assert_int_equal(post(sizes[i]), 202);
        assert_non_null(strstr(F.out, "\"status\":\"PENDING\""));
        assert_non_null(strstr(F.out, "\"size_bytes\":300000"));
        assert_non_null(strstr(F.out, "\"mime_type\":\"audio/x-wav\""));
        p = strstr(F.out, "\"task_id\":\"");
        assert_non_null(p);
        memcpy(task, p + 11, 36);
        task[36] = '\0';
        snprintf(path, sizeof(path), "%s/audio/%s/raw.wav", E.dir, task);
        assert_int_equal(stat(path, &sb), 0);
        assert_int_equal(sb.st_size, 300000);
        assert_int_equal(sb.st_mode & 0777, 0640);
        snprintf(path, sizeof(path), "%s/queue/pending/%s.json", E.dir, task);
        assert_int_equal(stat(path, &sb), 0);
        assert_int_equal(count("audio"), 1);
        clear_spool();
    }
}

static void test_task_record(void **state)
{
    char path[512], task[40], rec[4096];
    const char *p;
    json_error_t jerr;
    json_t *j;
    FILE *f;
    size_t n;

    (void)state;
    body_start();
    body_field("features", "[\"summary\"]");
    body_field("template_id", "tpl-7");
    body_field("vad_threshold", "0.25");
    body_field("enable_vad", "yes");
    body_file("file", "C:/x/../m\xc3\xa9t\xc3\xa9o.wav", make_wav(5000), 5000);
    body_end();
    assert_int_equal(post(0), 202);
    p = strstr(F.out, "\"task_id\":\"");
    memcpy(task, p + 11, 36);
    task[36] = '\0';
    snprintf(path, sizeof(path), "%s/audio/%s/task.json", E.dir, task);
    f = fopen(path, "r");
    assert_non_null(f);
    n = fread(rec, 1, sizeof(rec) - 1, f);
    rec[n] = '\0';
    fclose(f);
    j = json_loads(rec, 0, &jerr);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "task_id")), task);
    assert_string_equal(json_string_value(json_object_get(j, "status")),
                        "PENDING");
    assert_string_equal(
        json_string_value(json_object_get(j, "original_filename")),
        "m\xc3\xa9t\xc3\xa9o.wav");
    assert_string_equal(json_string_value(json_object_get(j, "template_id")),
                        "tpl-7");
    assert_string_equal(json_string_value(json_object_get(j, "asr_backend")),
                        "whisper");
    assert_string_equal(json_string_value(json_object_get(j, "correlation_id")),
                        "test-req-1");
    assert_true(json_real_value(json_object_get(j, "vad_threshold")) == 0.25);
    assert_true(json_is_true(json_object_get(j, "enable_vad")));
    assert_true(json_is_false(json_object_get(j, "enable_diarization")));
    assert_int_equal(json_integer_value(json_object_get(j, "size_bytes")),
                     5000);
    assert_int_equal(strlen(json_string_value(json_object_get(j, "sha256"))),
                     64);
    assert_non_null(json_object_get(j, "submitted_at"));
    assert_non_null(
        strstr(json_string_value(json_object_get(j, "file_path")), "/raw.wav"));
    json_decref(j);

    /* GET /v1/status serves it; unknown and malformed ids are 404 */
    body_start();
    snprintf(path, sizeof(path), "/v1/status/%s", task);
    assert_int_equal(run("GET", path, KEY, NULL, NULL, 0), 200);
    assert_non_null(strstr(F.out, rec));
    assert_int_equal(run("GET", path, NULL, NULL, NULL, 0), 401);
    assert_int_equal(run("POST", path, KEY, NULL, NULL, 0), 405);
    assert_non_null(strstr(F.out, "Allow: GET\r\n"));
    assert_int_equal(run("GET",
                         "/v1/status/00000000-0000-4000-8000-000000000000", KEY,
                         NULL, NULL, 0),
                     404);
    assert_non_null(
        strstr(F.out, "Task 00000000-0000-4000-8000-000000000000 not found"));
    assert_int_equal(run("GET", "/v1/status/nope", KEY, NULL, NULL, 0), 404);
    assert_non_null(strstr(F.out, "\"detail\":\"Not Found\""));
    assert_int_equal(run("GET", "/health?x=1", NULL, NULL, NULL, 0), 200);
    assert_non_null(strstr(F.out, "\"queue_depth\":1"));
    assert_non_null(strstr(F.out, "\"spool_free_bytes\":"));
    clear_spool();
}

/* Checks before the body: the status, and not one read. */
static void test_refused_before_body(void **state)
{
    (void)state;
    body_start();
    body_file("file", "a.wav", make_wav(1000), 1000);
    body_end();

    assert_int_equal(run("GET", "/v1/process", KEY, CT, NULL, 0), 405);
    assert_non_null(strstr(F.out, "Allow: POST\r\n"));
    assert_int_equal(F.reads, 0);
    assert_int_equal(run("POST", "/v1/process", NULL, CT, NULL, 0), 401);
    assert_error("UNAUTHORIZED");
    assert_int_equal(F.reads, 0);
    assert_int_equal(run("POST", "/v1/process", "short", CT, NULL, 0), 401);
    assert_int_equal(run("POST", "/v1/process", KEY "x", CT, NULL, 0), 401);
    assert_int_equal(run("POST", "/v1/process", KEY, "text/plain", NULL, 0),
                     400);
    assert_error("INVALID_MULTIPART");
    assert_int_equal(F.reads, 0);
    assert_int_equal(
        run("POST", "/v1/process", KEY, "multipart/form-data", NULL, 0), 400);
    assert_int_equal(run("POST", "/v1/process", KEY, CT, "3000000", 0), 413);
    assert_error("FILE_TOO_LARGE");
    assert_non_null(strstr(F.out, "File exceeds maximum size of 1MB"));
    assert_int_equal(F.reads, 0);
    assert_int_equal(run("POST", "/v1/process", KEY, CT, "12x", 0), 400);
    assert_int_equal(F.reads, 0);
    assert_int_equal(run("POST", "/nope", KEY, CT, NULL, 0), 404);
    assert_int_equal(F.reads, 0);
    assert_int_equal(run("DELETE", "/health", NULL, NULL, NULL, 0), 405);
    assert_spool_empty();
}

static void test_queue_full(void **state)
{
    int i;

    (void)state;
    for (i = 0; i < 3; i++) {
        body_start();
        body_file("file", "a.wav", make_wav(1000), 1000);
        body_end();
        assert_int_equal(post(0), 202);
    }
    assert_int_equal(post(0), 429);
    assert_error("QUEUE_FULL");
    assert_non_null(strstr(F.out, "Retry-After: 30\r\n"));
    assert_int_equal(F.reads, 0);
    assert_int_equal(count("audio"), 3);
    clear_spool();
}

struct bad_case {
    const char *what;
    int status;
    const char *code;
};

/* Build, post, check status/code and that nothing is left. */
static void expect_refused(const struct bad_case *c, size_t max_read)
{
    int st = post(max_read);

    if (st != c->status)
        fail_msg("%s: status %d, want %d: %s", c->what, st, c->status, F.out);
    assert_error(c->code);
    assert_spool_empty();
}

static void test_errors_leave_nothing(void **state)
{
    static const size_t sizes[] = {0, 1, 100};
    static const char png[] = "\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
    struct bad_case c;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        size_t r = sizes[i];

        c = (struct bad_case){"no file", 422, "MISSING_FILE"};
        body_start();
        body_field("features", "summary");
        body_end();
        expect_refused(&c, r);

        c = (struct bad_case){"two files", 422, "MULTIPLE_FILES"};
        body_start();
        body_file("file", "a.wav", make_wav(9000), 9000);
        body_file("file", "b.wav", make_wav(9000), 9000);
        body_end();
        expect_refused(&c, r);

        c = (struct bad_case){"empty", 422, "EMPTY_FILE"};
        body_start();
        body_file("file", "a.wav", "", 0);
        body_end();
        expect_refused(&c, r);

        c = (struct bad_case){"file without filename", 422, "MISSING_FILE"};
        body_start();
        body_field("file", "RIFF....WAVE");
        body_end();
        expect_refused(&c, r);

        c = (struct bad_case){"png", 415, "INVALID_FILE_FORMAT"};
        body_start();
        memcpy(wav, png, sizeof(png));
        body_file("file", "a.wav", wav, 20000);
        body_end();
        expect_refused(&c, r);

        c = (struct bad_case){"small text", 415, "INVALID_FILE_FORMAT"};
        body_start();
        body_file("file", "a.wav", "hello world\n", 12);
        body_end();
        expect_refused(&c, r);

        c = (struct bad_case){"too large", 413, "FILE_TOO_LARGE"};
        body_start();
        body_file("file", "a.wav", make_wav(1024 * 1024 + 1), 1024 * 1024 + 1);
        body_end();
        expect_refused(&c, r);

        c = (struct bad_case){"bad field after file", 422, "VALIDATION_ERROR"};
        body_start();
        body_file("file", "a.wav", make_wav(9000), 9000);
        body_field("vad_threshold", "1.5");
        body_end();
        expect_refused(&c, r);
        assert_non_null(strstr(F.out, "vad_threshold"));

        c = (struct bad_case){"summary, no template", 422, "VALIDATION_ERROR"};
        body_start();
        body_file("file", "a.wav", make_wav(9000), 9000);
        body_field("features", "summary");
        body_end();
        expect_refused(&c, r);
        assert_non_null(strstr(F.out, "template_id"));

        c = (struct bad_case){"repeated scalar", 422, "VALIDATION_ERROR"};
        body_start();
        body_field("enable_vad", "true");
        body_field("enable_vad", "false");
        body_file("file", "a.wav", make_wav(9000), 9000);
        body_end();
        expect_refused(&c, r);

        c = (struct bad_case){"field too long", 422, "VALIDATION_ERROR"};
        body_start();
        body_file("file", "a.wav", make_wav(9000), 9000);
        memset(wav, 'a', 5000);
        wav[5000] = '\0';
        body_field("template_id", wav);
        body_end();
        expect_refused(&c, r);

        c = (struct bad_case){"unknown field too long", 422,
                              "VALIDATION_ERROR"};
        body_start();
        body_field("whatever", wav);
        body_file("file", "a.wav", make_wav(9000), 9000);
        body_end();
        expect_refused(&c, r);

        c = (struct bad_case){"truncated", 400, "INVALID_MULTIPART"};
        body_start();
        body_file("file", "a.wav", make_wav(9000), 9000);
        expect_refused(&c, r);

        c = (struct bad_case){"garbage", 400, "INVALID_MULTIPART"};
        body_start();
        bbuf_append_str(&B.b, "this is not multipart at all");
        expect_refused(&c, r);
    }
}

static void test_disconnect_mid_file(void **state)
{
    static const size_t at[] = {10, 200, 5000, 50000, 150000};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
        body_start();
        body_file("file", "a.wav", make_wav(200000), 200000);
        body_end();
        memset(&F, 0, sizeof(F));
        {
            const char *params[] = {"REQUEST_METHOD",
                                    "POST",
                                    "REQUEST_URI",
                                    "/v1/process",
                                    "HTTP_X_API_KEY",
                                    KEY,
                                    "CONTENT_TYPE",
                                    CT,
                                    NULL};
            struct transport t = {&F, fake_read, fake_param, fake_write};
            memcpy(F.params, params, sizeof(params));
            F.body = B.b.ptr;
            F.body_len = B.b.len;
            F.max_read = 3000;
            F.break_at = at[i];
            assert_int_equal(request_serve(&E.w, &t), 0);
        }
        assert_non_null(strstr(F.out, "Status: 400"));
        assert_spool_empty();
    }
}

static void test_routing_params(void **state)
{
    (void)state;
    body_start();
    /* SCRIPT_NAME + PATH_INFO when there is no REQUEST_URI (CGI) */
    memset(&F, 0, sizeof(F));
    {
        const char *params[] = {"REQUEST_METHOD", "GET",     "SCRIPT_NAME", "",
                                "PATH_INFO",      "/health", NULL};
        struct transport t = {&F, fake_read, fake_param, fake_write};
        memcpy(F.params, params, sizeof(params));
        assert_int_equal(request_serve(&E.w, &t), 0);
    }
    assert_non_null(strstr(F.out, "Status: 200"));
    /* a request id that is not sane is replaced by a UUID */
    memset(&F, 0, sizeof(F));
    {
        const char *params[] = {"REQUEST_METHOD",
                                "GET",
                                "REQUEST_URI",
                                "/health",
                                "HTTP_X_REQUEST_ID",
                                "bad id\r\nX-Evil: 1",
                                NULL};
        struct transport t = {&F, fake_read, fake_param, fake_write};
        memcpy(F.params, params, sizeof(params));
        assert_int_equal(request_serve(&E.w, &t), 0);
    }
    assert_null(strstr(F.out, "Evil"));
    assert_non_null(strstr(F.out, "X-Request-ID: "));
}

/* The filesystem store, failing on demand the way the Redis store does
 * when Redis cannot be reached (-EAGAIN). */
static const struct taskstore_ops *real_ops;
static struct {
    bool depth, submit, status, health;
} unreachable;

static int flaky_depth(void *impl, uint64_t *depth)
{
    return unreachable.depth ? -EAGAIN : real_ops->queue_depth(impl, depth);
}

static int flaky_submit(void *impl, const struct task_record *r)
{
    return unreachable.submit ? -EAGAIN : real_ops->submit(impl, r);
}

static int flaky_status(void *impl, const char *id, struct bbuf *out)
{
    return unreachable.status ? -EAGAIN : real_ops->get_status(impl, id, out);
}

static int flaky_health(void *impl, json_t *obj)
{
    int rc = real_ops->health(impl, obj);

    if (rc == 0 && unreachable.health &&
        json_object_set_new(obj, "redis_connected", json_false()))
        return -ENOMEM;
    return rc ? rc : unreachable.health ? -EAGAIN : 0;
}

static void flaky_close(void *impl)
{
    real_ops->close(impl);
}

static const struct taskstore_ops flaky_ops = {
    flaky_depth, flaky_submit, flaky_status, flaky_health, flaky_close,
};

/* 503 SERVICE_UNAVAILABLE whenever the store cannot be reached: before the
 * body (not one byte read), after the file was stored (the file and its
 * directory removed: no file without a task), on status and health. */
static void test_store_unavailable(void **state)
{
    char path[128];

    (void)state;
    real_ops = E.store.ops;
    E.store.ops = &flaky_ops;

    body_start();
    body_file("file", "a.wav", make_wav(200000), 200000);
    body_end();
    memset(&unreachable, 0, sizeof(unreachable));
    unreachable.depth = true;
    assert_int_equal(post(0), 503);
    assert_error("SERVICE_UNAVAILABLE");
    assert_non_null(strstr(F.out, "Retry-After: 30\r\n"));
    assert_int_equal(F.reads, 0);
    assert_spool_empty();

    unreachable.depth = false;
    unreachable.submit = true;
    assert_int_equal(post(1000), 503);
    assert_error("SERVICE_UNAVAILABLE");
    assert_true(F.reads > 100); /* the whole body was read and stored */
    assert_spool_empty();

    unreachable.submit = false;
    unreachable.status = true;
    snprintf(path, sizeof(path), "/v1/status/%s",
             "00000000-0000-4000-8000-000000000000");
    assert_int_equal(run("GET", path, KEY, NULL, NULL, 0), 503);
    assert_error("SERVICE_UNAVAILABLE");

    unreachable.status = false;
    unreachable.health = true;
    assert_int_equal(run("GET", "/health", NULL, NULL, NULL, 0), 503);
    assert_non_null(strstr(F.out, "\"status\":\"unavailable\""));
    assert_non_null(strstr(F.out, "\"redis_connected\":false"));
    assert_non_null(strstr(F.out, "\"queue_depth\":0"));
    assert_non_null(strstr(F.out, "\"spool_free_bytes\":"));
    assert_non_null(strstr(F.out, "\"detail\":\""));
    assert_non_null(strstr(F.out, "\"error_code\":\"SERVICE_UNAVAILABLE\""));

    /* and back: the next upload goes through */
    memset(&unreachable, 0, sizeof(unreachable));
    assert_int_equal(post(0), 202);
    assert_int_equal(count("audio"), 1);
    E.store.ops = real_ops;
    clear_spool();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepted_any_read_size),
        cmocka_unit_test(test_task_record),
        cmocka_unit_test(test_refused_before_body),
        cmocka_unit_test(test_queue_full),
        cmocka_unit_test(test_errors_leave_nothing),
        cmocka_unit_test(test_disconnect_mid_file),
        cmocka_unit_test(test_routing_params),
        cmocka_unit_test(test_store_unavailable),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
