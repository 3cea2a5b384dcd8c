/*
 * rq_submit - drive fcgi_upload/rq_store from a script: the test driver of
 * tests/integration/test_rq.sh, and a way to poke a Redis by hand.
 *
 *     rq_submit --url URL [--results-db N] [--queue NAME] [--func NAME]
 *               [--job-timeout S] [--result-ttl S] [--connect-ms MS]
 *               [--command-ms MS]  < commands
 *
 * One struct rq_store lives for the whole run, so a script can stop and
 * restart Redis between two commands and see the same connection state the
 * handler's worker thread would. Each stdin line is one JSON command; each
 * answer is one JSON line on stdout, flushed at once:
 *
 *   {"cmd":"submit","task_id":..,"file_path":..,"features":[..],
 *    "template_id":..|null,"asr_backend":..,"enable_diarization":bool,
 *    "enable_vad":bool,"vad_threshold":num,"correlation_id":..|null,
 *    "size_bytes":n,"sha256":..,"mime_type":..,"submitted_at":..}
 *                                  -> {"rc":"OK"}
 *   {"cmd":"depth"}                -> {"rc":"OK","depth":n}
 *   {"cmd":"status","task_id":..}  -> {"rc":"OK","fields":{..}}
 *   {"cmd":"health"}               -> {"rc":"OK","connected":b,
 *                                      "queue_depth":n,"workers":n}
 *
 * On failure "rc" is the error name (UNAVAILABLE, NOT_FOUND, ...) and
 * "error" rq_store_last_error(). A line that is not such a command answers
 * {"rc":"USAGE",...}. Exit 0 at the end of input; 2 for bad options.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "rq_store.h"

#define LINE_MAX_BYTES (1 << 20)
#define FEATURES_MAX   64

static int usage(void)
{
    fputs("usage: rq_submit --url URL [--results-db N] [--queue NAME] "
          "[--func NAME] [--job-timeout S] [--result-ttl S] "
          "[--connect-ms MS] [--command-ms MS] < json-lines\n",
          stderr);
    return 2;
}

static bool parse_long(const char *s, long *out)
{
    char *end;

    errno = 0;
    *out = strtol(s, &end, 10);
    return errno == 0 && end != s && *end == '\0';
}

static void answer(json_t *o, int rc, const struct rq_store *s)
{
    char *line;

    json_object_set_new(o, "rc", json_string(rq_store_errname(rc)));
    if (rc)
        json_object_set_new(o, "error", json_string(rq_store_last_error(s)));
    line = json_dumps(o, JSON_COMPACT);
    if (line) {
        printf("%s\n", line);
        free(line);
    }
    fflush(stdout);
    json_decref(o);
}

static const char *opt_str(const json_t *cmd, const char *key)
{
    const json_t *v = json_object_get(cmd, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static int do_submit(struct rq_store *s, const json_t *cmd, json_t *out)
{
    const char *feats[FEATURES_MAX];
    const json_t *fa = json_object_get(cmd, "features"), *v;
    struct rq_submit t = {
        .task_id = opt_str(cmd, "task_id"),
        .file_path = opt_str(cmd, "file_path"),
        .template_id = opt_str(cmd, "template_id"),
        .asr_backend = opt_str(cmd, "asr_backend"),
        .enable_diarization =
            json_is_true(json_object_get(cmd, "enable_diarization")),
        .enable_vad = json_is_true(json_object_get(cmd, "enable_vad")),
        .vad_threshold =
            json_number_value(json_object_get(cmd, "vad_threshold")),
        .correlation_id = opt_str(cmd, "correlation_id"),
        .size_bytes =
            (uint64_t)json_integer_value(json_object_get(cmd, "size_bytes")),
        .sha256 = opt_str(cmd, "sha256"),
        .mime_type = opt_str(cmd, "mime_type"),
        .submitted_at = opt_str(cmd, "submitted_at"),
    };
    size_t i;

    (void)out;
    if (json_is_array(fa)) {
        if (json_array_size(fa) > FEATURES_MAX)
            return RQ_STORE_E_TOO_LARGE;
        json_array_foreach(fa, i, v) feats[i] =
            json_is_string(v) ? json_string_value(v) : NULL;
        t.features = feats;
        t.n_features = json_array_size(fa);
    }
    return rq_store_submit(s, &t);
}

static int add_field(void *data, const char *name, size_t name_len,
                     const char *value, size_t value_len)
{
    json_t *fields = data, *v;
    char key[256];

    if (name_len >= sizeof key)
        return 1;
    memcpy(key, name, name_len);
    key[name_len] = '\0';
    /* a value that is not UTF-8 shows as null */
    v = json_stringn(value, value_len);
    return json_object_set_new(fields, key, v ? v : json_null());
}

static void run_line(struct rq_store *s, const char *line)
{
    json_error_t jerr;
    json_t *cmd = json_loads(line, 0, &jerr), *out = json_object(), *fields;
    const char *name = cmd ? opt_str(cmd, "cmd") : NULL;
    struct rq_store_health h;
    long long depth;
    int rc;

    if (!name) {
        printf("{\"rc\":\"USAGE\",\"error\":\"not a JSON command\"}\n");
        fflush(stdout);
        json_decref(out);
        json_decref(cmd);
        return;
    }
    if (strcmp(name, "submit") == 0) {
        rc = do_submit(s, cmd, out);
    } else if (strcmp(name, "depth") == 0) {
        rc = rq_store_queue_depth(s, &depth);
        if (!rc)
            json_object_set_new(out, "depth", json_integer(depth));
    } else if (strcmp(name, "status") == 0) {
        fields = json_object();
        rc = rq_store_get_status(s, opt_str(cmd, "task_id"), add_field, fields);
        if (!rc)
            json_object_set_new(out, "fields", fields);
        else
            json_decref(fields);
    } else if (strcmp(name, "health") == 0) {
        rc = rq_store_health(s, &h);
        json_object_set_new(out, "connected", json_boolean(h.connected));
        json_object_set_new(out, "queue_depth", json_integer(h.queue_depth));
        json_object_set_new(out, "workers", json_integer(h.workers));
    } else {
        rc = RQ_STORE_E_INVALID;
    }
    answer(out, rc, s);
    json_decref(cmd);
}

int main(int argc, char **argv)
{
    struct rq_store_config cfg = RQ_STORE_CONFIG_DEFAULT;
    static struct rq_store store; /* 33 KiB of buffers: not on the stack */
    static char line[LINE_MAX_BYTES];
    const char *why = NULL;
    long v;
    int i;

    signal(SIGPIPE, SIG_IGN); /* rq_store.h: the caller ignores SIGPIPE */
    for (i = 1; i + 1 < argc; i += 2) {
        const char *o = argv[i], *val = argv[i + 1];
        bool num = parse_long(val, &v);
        if (strcmp(o, "--url") == 0)
            cfg.url = val;
        else if (strcmp(o, "--queue") == 0)
            cfg.queue_name = val;
        else if (strcmp(o, "--func") == 0)
            cfg.func_name = val;
        else if (num && strcmp(o, "--results-db") == 0)
            cfg.results_db = (int)v;
        else if (num && strcmp(o, "--job-timeout") == 0)
            cfg.job_timeout = v;
        else if (num && strcmp(o, "--result-ttl") == 0)
            cfg.result_ttl = v;
        else if (num && strcmp(o, "--connect-ms") == 0)
            cfg.connect_timeout_ms = v;
        else if (num && strcmp(o, "--command-ms") == 0)
            cfg.command_timeout_ms = v;
        else
            return usage();
    }
    if (i != argc)
        return usage();
    if (rq_store_init(&store, &cfg, &why)) {
        fprintf(stderr, "rq_submit: bad configuration: %s\n", why);
        return 2;
    }
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\n")] = '\0';
        if (line[0])
            run_line(&store, line);
    }
    rq_store_release(&store);
    return 0;
}
