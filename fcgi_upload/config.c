/*
 * config.c - the configuration table and its parsers; see config.h.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "rq_store.h"
#include "utf8.h"

/* What libmagic 5.44 reports (MAGIC_MIME_TYPE) for the formats the service
 * takes: WAV, MP3 (with or without ID3), M4A ("M4A " brand), MP4 audio
 * ("M4B " brand -> audio/mp4, "isom"/"mp42" brands -> video/mp4, as many
 * recorders and ffmpeg's .mp4 write), FLAC, and Ogg (Vorbis and Opus). */
#define DEFAULT_MIME_TYPES                                                     \
    "audio/x-wav,audio/mpeg,audio/x-m4a,audio/mp4,video/mp4,audio/flac,"       \
    "audio/ogg"

/* Extensions for types given without "=ext" in APP_API__ALLOWED_MIME_TYPES;
 * includes names other libmagic versions use for the same formats. */
static const struct {
    const char *type;
    const char *ext;
} mime_exts[] = {
    {"audio/x-wav", "wav"},     {"audio/wav", "wav"},
    {"audio/wave", "wav"},      {"audio/vnd.wave", "wav"},
    {"audio/mpeg", "mp3"},      {"audio/mp3", "mp3"},
    {"audio/x-m4a", "m4a"},     {"audio/mp4", "m4a"},
    {"video/mp4", "mp4"},       {"audio/flac", "flac"},
    {"audio/x-flac", "flac"},   {"audio/ogg", "ogg"},
    {"application/ogg", "ogg"}, {"audio/opus", "opus"},
    {"audio/webm", "webm"},     {"audio/x-aiff", "aiff"},
    {"audio/aac", "aac"},
};

const char *mime_default_ext(const char *type)
{
    size_t i;

    for (i = 0; i < sizeof(mime_exts) / sizeof(mime_exts[0]); i++)
        if (strcmp(mime_exts[i].type, type) == 0)
            return mime_exts[i].ext;
    return NULL;
}

const struct config_mime *config_find_mime(const struct config *c,
                                           const char *type)
{
    size_t i;

    for (i = 0; i < c->nmimes; i++)
        if (strcmp(c->mimes[i].type, type) == 0)
            return &c->mimes[i];
    return NULL;
}

/*
 * Parsers: v is the non-empty value, not NUL-terminated. On error they
 * append the reason to why (without the variable name) and return -EINVAL.
 */
typedef int (*config_parse_fn)(struct config *c, const char *v, size_t len,
                               struct bbuf *why);

static int range_u64(const char *v, size_t len, uint64_t lo, uint64_t hi,
                     uint64_t *out, struct bbuf *why)
{
    uint64_t n;

    if (parse_u64(v, len, UINT64_MAX, &n) || n < lo || n > hi) {
        bbuf_printf(why, "expected a whole number from %llu to %llu",
                    (unsigned long long)lo, (unsigned long long)hi);
        return -EINVAL;
    }
    *out = n;
    return 0;
}

static int parse_max_file(struct config *c, const char *v, size_t len,
                          struct bbuf *why)
{
    int rc = range_u64(v, len, 1, FU_MAX_FILE_MB_MAX, &c->max_file_mb, why);

    c->max_file_bytes = c->max_file_mb * 1024 * 1024;
    return rc;
}

static bool key_char_ok(char ch)
{
    return ch > 0x20 && ch < 0x7f; /* visible ASCII: fits an HTTP header */
}

/* Validate one key and add it to c->keys. what names it in messages. */
static int add_key(struct config *c, const char *v, size_t len,
                   const char *what, struct bbuf *why)
{
    struct api_key *k;
    size_t i;

    if (len < FU_KEY_MIN || len > FU_KEY_MAX) {
        bbuf_printf(why, "%s is %zu characters; %d to %d are required", what,
                    len, FU_KEY_MIN, FU_KEY_MAX);
        return -EINVAL;
    }
    for (i = 0; i < len; i++) {
        if (!key_char_ok(v[i]) || v[i] == ',') {
            bbuf_printf(why,
                        "%s has a character outside visible ASCII or a comma",
                        what);
            return -EINVAL;
        }
    }
    if (c->nkeys >= FU_KEYS_MAX) {
        bbuf_printf(why, "more than %d keys in all", FU_KEYS_MAX);
        return -EINVAL;
    }
    k = &c->keys[c->nkeys++];
    memset(k->bytes, 0, sizeof(k->bytes));
    memcpy(k->bytes, v, len);
    k->len = len;
    return 0;
}

static int parse_secret(struct config *c, const char *v, size_t len,
                        struct bbuf *why)
{
    int rc;

    field_trim(&v, &len);
    /* the secret is keys[0]: it is parsed before the fallback keys */
    rc = add_key(c, v, len, "the key", why);
    if (rc == 0)
        c->has_secret = true;
    return rc;
}

static int parse_fallback(struct config *c, const char *v, size_t len,
                          struct bbuf *why)
{
    size_t n, entry = 0;
    const char *comma;
    char what[32];

    while (len) {
        const char *e = v;
        comma = memchr(v, ',', len);
        n = comma ? (size_t)(comma - v) : len;
        v += comma ? n + 1 : n;
        len -= comma ? n + 1 : n;
        entry++;
        field_trim(&e, &n);
        if (n == 0)
            continue; /* "a,,b" and a trailing comma are harmless */
        snprintf(what, sizeof(what), "entry %zu", entry);
        if (add_key(c, e, n, what, why))
            return -EINVAL;
    }
    return 0;
}

static int parse_backend(struct config *c, const char *v, size_t len,
                         struct bbuf *why)
{
    if (parse_asr_backend(v, len, &c->default_backend)) {
        bbuf_append_str(why, "expected whisper or chunkformer");
        return -EINVAL;
    }
    return 0;
}

/* Make path absolute and tidy: repeated slashes, "." components and a
 * trailing slash go. ".." is kept as written (paths are the operator's). */
static int normalize_path(const char *v, size_t len, char *out, size_t cap,
                          struct bbuf *why)
{
    char raw[FU_PATH_MAX + 1];
    struct bbuf b, o;
    size_t i = 0;

    bbuf_init(&b, raw, sizeof(raw));
    if (len == 0 || memchr(v, '\0', len)) {
        bbuf_append_str(why, "expected a directory path");
        return -EINVAL;
    }
    if (v[0] != '/') {
        char cwd[FU_PATH_MAX + 1];
        if (!getcwd(cwd, sizeof(cwd))) {
            bbuf_printf(why, "cannot make it absolute: getcwd: %s",
                        strerror(errno));
            return -EINVAL;
        }
        if (bbuf_append_str(&b, cwd) || bbuf_append_char(&b, '/'))
            goto too_long;
    }
    if (bbuf_append(&b, v, len))
        goto too_long;

    /* rewrite raw into out component by component */
    bbuf_init(&o, out, cap);
    while (i < b.len) {
        size_t j;
        while (i < b.len && raw[i] == '/')
            i++;
        j = i;
        while (j < b.len && raw[j] != '/')
            j++;
        if (j == i)
            break;
        if (!(j - i == 1 && raw[i] == '.')) {
            if (bbuf_append_char(&o, '/') || bbuf_append(&o, raw + i, j - i))
                goto too_long;
        }
        i = j;
    }
    if (o.len == 0) {
        bbuf_append_str(why, "must not be the root directory");
        return -EINVAL;
    }
    if (!utf8_valid(o.ptr, o.len)) {
        /* it is written into every task record, which is JSON */
        bbuf_append_str(why, "must be valid UTF-8");
        return -EINVAL;
    }
    return 0;
too_long:
    bbuf_printf(why, "longer than %d bytes once made absolute", FU_PATH_MAX);
    return -EINVAL;
}

static int parse_audio_dir(struct config *c, const char *v, size_t len,
                           struct bbuf *why)
{
    return normalize_path(v, len, c->audio_dir, sizeof(c->audio_dir), why);
}

static int parse_queue_dir(struct config *c, const char *v, size_t len,
                           struct bbuf *why)
{
    c->queue_dir_derived = false;
    return normalize_path(v, len, c->queue_dir, sizeof(c->queue_dir), why);
}

static int parse_queue_depth(struct config *c, const char *v, size_t len,
                             struct bbuf *why)
{
    return range_u64(v, len, 1, FU_QUEUE_DEPTH_MAX, &c->max_queue_depth, why);
}

static int parse_retry_after(struct config *c, const char *v, size_t len,
                             struct bbuf *why)
{
    return range_u64(v, len, 1, FU_RETRY_AFTER_MAX, &c->retry_after_s, why);
}

static int parse_chunk(struct config *c, const char *v, size_t len,
                       struct bbuf *why)
{
    int rc =
        range_u64(v, len, FU_CHUNK_KB_MIN, FU_CHUNK_KB_MAX, &c->chunk_kb, why);

    c->chunk_bytes = (size_t)c->chunk_kb * 1024;
    return rc;
}

static bool mime_char_ok(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
           strchr("!#$&^_.+-", ch) != NULL;
}

/* One "type" or "type=ext" entry, already trimmed and non-empty. */
static int add_mime(struct config *c, const char *v, size_t len,
                    struct bbuf *why)
{
    const char *eq = memchr(v, '=', len);
    size_t tlen = eq ? (size_t)(eq - v) : len, i, slashes = 0;
    struct config_mime m;
    const char *ext;

    memset(&m, 0, sizeof(m));
    if (tlen == 0 || tlen > FU_MIME_NAME_MAX)
        goto bad_type;
    for (i = 0; i < tlen; i++) {
        char ch = (char)(v[i] >= 'A' && v[i] <= 'Z' ? v[i] + 32 : v[i]);
        if (ch == '/')
            slashes++;
        else if (!mime_char_ok(ch))
            goto bad_type;
        m.type[i] = ch;
    }
    if (slashes != 1 || m.type[0] == '/' || m.type[tlen - 1] == '/')
        goto bad_type;
    if (eq) {
        size_t elen = len - tlen - 1;
        if (elen == 0 || elen > FU_EXT_MAX)
            goto bad_ext;
        for (i = 0; i < elen; i++) {
            char ch = eq[1 + i];
            if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')))
                goto bad_ext;
            m.ext[i] = ch;
        }
    } else {
        ext = mime_default_ext(m.type);
        if (!ext) {
            bbuf_printf(why,
                        "no file extension known for '%s'; write it as "
                        "%s=<ext>",
                        m.type, m.type);
            return -EINVAL;
        }
        memcpy(m.ext, ext, strlen(ext));
    }
    if (config_find_mime(c, m.type))
        return 0; /* listed twice: harmless */
    if (c->nmimes >= FU_MIME_TYPES_MAX) {
        bbuf_printf(why, "more than %d types", FU_MIME_TYPES_MAX);
        return -EINVAL;
    }
    c->mimes[c->nmimes++] = m;
    return 0;
bad_type:
    bbuf_printf(why, "'%.*s' is not a media type like audio/x-wav",
                (int)(tlen > 64 ? 64 : tlen), v);
    return -EINVAL;
bad_ext:
    bbuf_printf(why, "extension in '%.*s' must be 1 to %d of [a-z0-9]",
                (int)(len > 80 ? 80 : len), v, FU_EXT_MAX);
    return -EINVAL;
}

static int parse_mimes(struct config *c, const char *v, size_t len,
                       struct bbuf *why)
{
    c->nmimes = 0;
    while (len) {
        const char *comma = memchr(v, ',', len);
        const char *e = v;
        size_t n = comma ? (size_t)(comma - v) : len;
        v += comma ? n + 1 : n;
        len -= comma ? n + 1 : n;
        field_trim(&e, &n);
        if (n && add_mime(c, e, n, why))
            return -EINVAL;
    }
    if (c->nmimes == 0) {
        bbuf_append_str(why, "no media type listed");
        return -EINVAL;
    }
    return 0;
}

static int parse_auth(struct config *c, const char *v, size_t len,
                      struct bbuf *why)
{
    if (parse_bool(v, len, &c->auth_enabled)) {
        bbuf_append_str(why, "expected true or false");
        return -EINVAL;
    }
    return 0;
}

static int parse_level(struct config *c, const char *v, size_t len,
                       struct bbuf *why)
{
    field_trim(&v, &len);
    if (fu_log_level_parse(v, len, &c->log_level)) {
        bbuf_append_str(why, "expected debug, info, warning or error");
        return -EINVAL;
    }
    return 0;
}

static int parse_threads(struct config *c, const char *v, size_t len,
                         struct bbuf *why)
{
    return range_u64(v, len, 1, FU_THREADS_MAX, &c->threads, why);
}

/* ---- the Redis/RQ hand-off -------------------------------------------- */

/* Mask everything between "://" and the last '@' except a user name before
 * the first ':' there: the password, or a lone "secret@" that redis-py
 * would take for a user name. Errs towards masking too much: the last '@'
 * of the whole text is used, so a password with an unencoded '/', '?' or
 * '@' is still hidden even though the URL is refused. */
static void mask_url(const char *url, char *out, size_t cap)
{
    const char *rest = strstr(url, "://"), *at, *colon;
    struct bbuf b;

    bbuf_init(&b, out, cap);
    at = strrchr(url, '@');
    if (!rest || !at || at < rest + 3) {
        bbuf_printf(&b, "%.*s", (int)(cap > 1 ? cap - 1 : 0), url);
        return;
    }
    rest += 3;
    colon = memchr(rest, ':', (size_t)(at - rest));
    if (colon && colon + 1 == at) { /* "user:@": no password */
        bbuf_printf(&b, "%.*s", (int)(cap > 1 ? cap - 1 : 0), url);
        return;
    }
    if (!colon)
        colon = rest - 1; /* mask from just after "://" */
    /* all-or-nothing appends: a cut keeps what fit, never a password */
    if (bbuf_append(&b, url, (size_t)(colon + 1 - url)) == 0 &&
        bbuf_append_str(&b, "****") == 0)
        bbuf_printf(&b, "%.*s", (int)bbuf_avail(&b), at);
}

void config_redis_url_masked(const struct config *c, char *out, size_t cap)
{
    if (cap == 0)
        return;
    mask_url(c->redis_url, out, cap);
}

/* The value names the password, so the variable is marked secret and the
 * message shows the URL masked. */
static int parse_redis_url(struct config *c, const char *v, size_t len,
                           struct bbuf *why)
{
    char masked[FU_REDIS_URL_MAX + 1];
    struct rq_redis_addr addr;
    const char *reason = "invalid";
    size_t i;

    field_trim(&v, &len);
    if (len == 0)
        return 0;
    if (len > FU_REDIS_URL_MAX) {
        bbuf_printf(why, "longer than %d bytes", FU_REDIS_URL_MAX);
        return -EINVAL;
    }
    for (i = 0; i < len; i++) {
        if ((unsigned char)v[i] <= 0x20 || (unsigned char)v[i] >= 0x7f) {
            bbuf_append_str(why, "has a space, control or non-ASCII "
                                 "character (percent-encode it)");
            return -EINVAL;
        }
    }
    memcpy(c->redis_url, v, len);
    c->redis_url[len] = '\0';
    if (rq_store_parse_url(c->redis_url, &addr, &reason) == 0)
        return 0;
    mask_url(c->redis_url, masked, sizeof(masked));
    bbuf_printf(why,
                "'%.200s': %s (expected redis://[[user]:password@]host"
                "[:port][/db] or unix://[[user]:password@]/path/to/socket"
                "[?db=N])",
                masked, reason);
    c->redis_url[0] = '\0';
    return -EINVAL;
}

static int parse_results_db(struct config *c, const char *v, size_t len,
                            struct bbuf *why)
{
    uint64_t n = 0;
    int rc = range_u64(v, len, 0, FU_REDIS_DB_MAX, &n, why);

    if (rc == 0)
        c->redis_results_db = (int)n;
    return rc;
}

static bool queue_char_ok(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-' ||
           ch == ':';
}

static int parse_queue_name(struct config *c, const char *v, size_t len,
                            struct bbuf *why)
{
    size_t i;

    field_trim(&v, &len);
    for (i = 0; i < len && queue_char_ok(v[i]); i++)
        ;
    if (len == 0 || len > FU_REDIS_NAME_MAX || i < len) {
        bbuf_printf(why, "expected 1 to %d of [A-Za-z0-9._:-]",
                    FU_REDIS_NAME_MAX);
        return -EINVAL;
    }
    memcpy(c->redis_queue, v, len);
    c->redis_queue[len] = '\0';
    return 0;
}

static bool ident_char_ok(char ch, bool first)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' ||
           (!first && ch >= '0' && ch <= '9');
}

/* module.path.function: what RQ imports (rq.utils.import_attribute). */
static int parse_job_func(struct config *c, const char *v, size_t len,
                          struct bbuf *why)
{
    size_t i, dots = 0;
    bool first = true;

    field_trim(&v, &len);
    if (len == 0 || len > FU_REDIS_NAME_MAX)
        goto bad;
    for (i = 0; i < len; i++) {
        if (v[i] == '.' && !first && i + 1 < len) {
            dots++;
            first = true;
            continue;
        }
        if (!ident_char_ok(v[i], first))
            goto bad;
        first = false;
    }
    if (dots == 0)
        goto bad;
    memcpy(c->job_func, v, len);
    c->job_func[len] = '\0';
    return 0;
bad:
    bbuf_printf(why,
                "expected a dotted Python name like "
                "package.module.function (at most %d characters)",
                FU_REDIS_NAME_MAX);
    return -EINVAL;
}

/* Seconds from lo to FU_JOB_SECONDS_MAX, or -1 for "none". */
static int seconds_or_none(const char *v, size_t len, uint64_t lo, long *out,
                           struct bbuf *why)
{
    uint64_t n;

    field_trim(&v, &len);
    if (len == 2 && v[0] == '-' && v[1] == '1') {
        *out = -1;
        return 0;
    }
    if (parse_u64(v, len, UINT64_MAX, &n) || n < lo || n > FU_JOB_SECONDS_MAX) {
        bbuf_printf(why, "expected seconds from %llu to %d, or -1",
                    (unsigned long long)lo, FU_JOB_SECONDS_MAX);
        return -EINVAL;
    }
    *out = (long)n;
    return 0;
}

static int parse_job_timeout(struct config *c, const char *v, size_t len,
                             struct bbuf *why)
{
    return seconds_or_none(v, len, 1, &c->job_timeout_s, why);
}

static int parse_result_ttl(struct config *c, const char *v, size_t len,
                            struct bbuf *why)
{
    return seconds_or_none(v, len, 0, &c->result_ttl_s, why);
}

static int parse_timeout_ms(const char *v, size_t len, long *out,
                            struct bbuf *why)
{
    uint64_t n = 0;
    int rc = range_u64(v, len, 1, FU_REDIS_TIMEOUT_MS_MAX, &n, why);

    if (rc == 0)
        *out = (long)n;
    return rc;
}

static int parse_connect_ms(struct config *c, const char *v, size_t len,
                            struct bbuf *why)
{
    return parse_timeout_ms(v, len, &c->redis_connect_ms, why);
}

static int parse_command_ms(struct config *c, const char *v, size_t len,
                            struct bbuf *why)
{
    return parse_timeout_ms(v, len, &c->redis_command_ms, why);
}

static int parse_grace(struct config *c, const char *v, size_t len,
                       struct bbuf *why)
{
    return range_u64(v, len, 0, FU_GRACE_S_MAX, &c->grace_s, why);
}

static int parse_sweep_age(struct config *c, const char *v, size_t len,
                           struct bbuf *why)
{
    return range_u64(v, len, 1, FU_SWEEP_AGE_S_MAX, &c->sweep_age_s, why);
}

struct config_var {
    const char *name;
    const char *def; /* default text; "" for none */
    config_parse_fn parse;
    bool secret; /* never echoed */
    const char *help;
};

/* The one list of settings. Order matters only for the secret key, which
 * must come before the fallback keys (it is keys[0]). */
static const struct config_var vars[] = {
    {"APP_API__SECRET_KEY", "", parse_secret, true,
     "API key clients send in X-API-Key; 32 to 256 visible ASCII "
     "characters. Required unless APP_API__AUTH_ENABLED=false."},
    {"APP_API__FALLBACK_KEYS", "", parse_fallback, true,
     "Further accepted keys, comma-separated (for key rotation); same rules "
     "as the secret key, at most 7."},
    {"APP_API__AUTH_ENABLED", "true", parse_auth, false,
     "Set to false to serve without any API key check."},
    {"APP_API__MAX_FILE_SIZE_MB", "500", parse_max_file, false,
     "Largest accepted file, in MiB (1 to 1048576); larger uploads get 413."},
    {"APP_API__DEFAULT_ASR_BACKEND", "whisper", parse_backend, false,
     "asr_backend of a task that does not name one: whisper or chunkformer."},
    {"APP_API__CHUNK_SIZE_KB", "64", parse_chunk, false,
     "Size of the one body read buffer, in KiB (4 to 1024)."},
    {"APP_API__ALLOWED_MIME_TYPES", DEFAULT_MIME_TYPES, parse_mimes, false,
     "Comma list of content types (as libmagic reports them) accepted as "
     "audio; an entry may be type=ext to choose the stored extension."},
    {"APP_API__RETRY_AFTER_S", "30", parse_retry_after, false,
     "Retry-After seconds sent with 429 QUEUE_FULL (1 to 3600)."},
    {"APP_PATHS__AUDIO_DIR", "var/audio", parse_audio_dir, false,
     "Spool: one directory per task holding raw.<ext> and task.json. "
     "Relative paths are taken from the working directory; created if "
     "missing (its parent must exist)."},
    {"APP_PATHS__QUEUE_DIR", "", parse_queue_dir, false,
     "Queue: pending/, claimed/ and tmp/ entries for the workers. Default: "
     "a directory named queue next to APP_PATHS__AUDIO_DIR. Must not be "
     "inside the spool, nor the spool inside it; must be one filesystem."},
    {"APP_REDIS__MAX_QUEUE_DEPTH", "50", parse_queue_depth, false,
     "Unclaimed tasks at which uploads are refused with 429 (1 to 1000000)."},
    {"APP_REDIS__URL", "", parse_redis_url, true,
     "Hand tasks to RQ workers through Redis: redis://[[user]:password@]host"
     "[:port][/db] or unix://[[user]:password@]/path/to/socket[?db=N]; the "
     "database is RQ's queue database (default 0). Unset: the filesystem "
     "queue (APP_PATHS__QUEUE_DIR). With Redis, the queue depth for 429 is "
     "LLEN rq:queue:<name>."},
    {"APP_REDIS__RESULTS_DB", "1", parse_results_db, false,
     "Redis database of the task hashes task:<id> (0 to 1000000)."},
    {"APP_REDIS__QUEUE_NAME", "default", parse_queue_name, false,
     "RQ queue the jobs go to (1 to 200 of [A-Za-z0-9._:-])."},
    {"APP_REDIS__CONNECT_TIMEOUT_MS", "2000", parse_connect_ms, false,
     "Milliseconds to connect to Redis (1 to 600000)."},
    {"APP_REDIS__COMMAND_TIMEOUT_MS", "5000", parse_command_ms, false,
     "Milliseconds Redis may take to answer a command (1 to 600000); "
     "slower means unavailable (503)."},
    {"APP_WORKER__JOB_FUNC", "src.worker.pipeline.process_audio_task",
     parse_job_func, false,
     "Function the RQ worker runs with the task dict (a dotted Python "
     "name)."},
    {"APP_WORKER__JOB_TIMEOUT", "600", parse_job_timeout, false,
     "RQ job_timeout in seconds (1 to 31536000, or -1 for none)."},
    {"APP_WORKER__RESULT_TTL", "86400", parse_result_ttl, false,
     "RQ result_ttl in seconds, also the expiry of the task hash (0 to "
     "31536000; 0: no expiry of the hash; -1: neither expires)."},
    {"APP_LOG__LEVEL", "info", parse_level, false,
     "debug, info, warning or error."},
    {"APP_WORKER__THREADS", "8", parse_threads, false,
     "Worker threads per process (1 to 128): the uploads one process "
     "serves at once (more wait in the socket's backlog)."},
    {"APP_WORKER__GRACE_S", "30", parse_grace, false,
     "On SIGTERM, seconds (0 to 3600) uploads in progress get to finish "
     "before they are cut short and their partial files removed."},
    {"APP_WORKER__SWEEP_AGE_S", "3600", parse_sweep_age, false,
     "At start, temp files and incomplete task directories older than "
     "this (seconds, 1 to 2592000) and held by no live worker are removed."},
};

#define NVARS (sizeof(vars) / sizeof(vars[0]))

/* <parent of audio_dir>/queue */
static int derive_queue_dir(struct config *c, struct bbuf *err)
{
    const char *slash = strrchr(c->audio_dir, '/');
    size_t plen = (size_t)(slash - c->audio_dir);
    struct bbuf b;

    bbuf_init(&b, c->queue_dir, sizeof(c->queue_dir));
    if (bbuf_append(&b, c->audio_dir, plen) || bbuf_append_str(&b, "/queue")) {
        bbuf_printf(err, "APP_PATHS__QUEUE_DIR: default path too long");
        return -EINVAL;
    }
    c->queue_dir_derived = true;
    return 0;
}

/* True when dir is inside (or equal to) top, comparing path text. */
static bool path_within(const char *dir, const char *top)
{
    size_t n = strlen(top);

    return strncmp(dir, top, n) == 0 && (dir[n] == '\0' || dir[n] == '/');
}

static int check_cross(struct config *c, struct bbuf *err)
{
    if (!c->has_secret && c->nkeys > 0) {
        bbuf_append_str(err, "APP_API__FALLBACK_KEYS is set but "
                             "APP_API__SECRET_KEY is not");
        return -EINVAL;
    }
    if (c->auth_enabled && c->nkeys == 0) {
        bbuf_append_str(err, "APP_API__SECRET_KEY is not set: set a key of at "
                             "least 32 characters, or APP_API__AUTH_ENABLED="
                             "false to run without authentication");
        return -EINVAL;
    }
    if (c->queue_dir[0] == '\0' && derive_queue_dir(c, err))
        return -EINVAL;
    if (path_within(c->queue_dir, c->audio_dir) ||
        path_within(c->audio_dir, c->queue_dir)) {
        bbuf_printf(err,
                    "APP_PATHS__QUEUE_DIR: '%s' and APP_PATHS__AUDIO_DIR "
                    "'%s' must be separate directories, neither inside the "
                    "other",
                    c->queue_dir, c->audio_dir);
        return -EINVAL;
    }
    return 0;
}

int config_load(struct config *c, config_getenv_fn get, void *ctx,
                struct bbuf *err)
{
    char whybuf[512];
    struct bbuf why;
    size_t i;

    memset(c, 0, sizeof(*c));
    c->auth_enabled = true;
    c->log_level = FU_LOG_INFO;
    bbuf_init(&why, whybuf, sizeof(whybuf));
    for (i = 0; i < NVARS; i++) {
        const struct config_var *var = &vars[i];
        const char *v = get(var->name, ctx);
        bool from_env = v && v[0];
        size_t len;

        if (!from_env)
            v = var->def;
        len = strlen(v);
        if (len == 0)
            continue;
        if (len > FU_ENV_VALUE_MAX) {
            bbuf_printf(err, "%s: value longer than %d bytes", var->name,
                        FU_ENV_VALUE_MAX);
            return -EINVAL;
        }
        bbuf_reset(&why);
        if (var->parse(c, v, len, &why) == 0)
            continue;
        if (var->secret)
            bbuf_printf(err, "%s: invalid value: %s", var->name, why.ptr);
        else
            bbuf_printf(err, "%s: invalid value '%.*s': %s", var->name,
                        (int)(len > 200 ? 200 : len), v, why.ptr);
        return -EINVAL;
    }
    return check_cross(c, err);
}

void config_print_help(FILE *out)
{
    size_t i;

    fprintf(out, "Environment (an empty value counts as unset):\n\n");
    for (i = 0; i < NVARS; i++) {
        fprintf(out, "  %s\n      default: %s\n      %s\n\n", vars[i].name,
                vars[i].def[0] ? vars[i].def : "(none)", vars[i].help);
    }
}

void config_print(const struct config *c, FILE *out)
{
    size_t i;

    fprintf(out, "APP_API__SECRET_KEY=%s\n",
            c->has_secret ? "<set, masked>" : "<unset>");
    fprintf(out, "APP_API__FALLBACK_KEYS=<%zu key(s), masked>\n",
            c->nkeys - (c->has_secret ? 1 : 0));
    fprintf(out, "APP_API__AUTH_ENABLED=%s\n",
            c->auth_enabled ? "true" : "false");
    fprintf(out, "APP_API__MAX_FILE_SIZE_MB=%llu\n",
            (unsigned long long)c->max_file_mb);
    fprintf(out, "APP_API__DEFAULT_ASR_BACKEND=%s\n",
            asr_backend_name(c->default_backend));
    fprintf(out, "APP_API__CHUNK_SIZE_KB=%llu\n",
            (unsigned long long)c->chunk_kb);
    fprintf(out, "APP_API__ALLOWED_MIME_TYPES=");
    for (i = 0; i < c->nmimes; i++)
        fprintf(out, "%s%s=%s", i ? "," : "", c->mimes[i].type,
                c->mimes[i].ext);
    fprintf(out, "\nAPP_API__RETRY_AFTER_S=%llu\n",
            (unsigned long long)c->retry_after_s);
    fprintf(out, "APP_PATHS__AUDIO_DIR=%s\n", c->audio_dir);
    fprintf(out, "APP_PATHS__QUEUE_DIR=%s%s\n", c->queue_dir,
            c->queue_dir_derived ? " (default: next to the audio dir)" : "");
    fprintf(out, "APP_REDIS__MAX_QUEUE_DEPTH=%llu\n",
            (unsigned long long)c->max_queue_depth);
    {
        char url[FU_REDIS_URL_MAX + 1];

        config_redis_url_masked(c, url, sizeof(url));
        fprintf(out, "APP_REDIS__URL=%s\n",
                url[0] ? url : "(unset: the filesystem queue)");
        fprintf(out, "APP_REDIS__RESULTS_DB=%d\n", c->redis_results_db);
        fprintf(out, "APP_REDIS__QUEUE_NAME=%s\n", c->redis_queue);
        fprintf(out, "APP_REDIS__CONNECT_TIMEOUT_MS=%ld\n",
                c->redis_connect_ms);
        fprintf(out, "APP_REDIS__COMMAND_TIMEOUT_MS=%ld\n",
                c->redis_command_ms);
        fprintf(out, "APP_WORKER__JOB_FUNC=%s\n", c->job_func);
        fprintf(out, "APP_WORKER__JOB_TIMEOUT=%ld\n", c->job_timeout_s);
        fprintf(out, "APP_WORKER__RESULT_TTL=%ld\n", c->result_ttl_s);
    }
    fprintf(out, "APP_LOG__LEVEL=%s\n", fu_log_level_name(c->log_level));
    fprintf(out, "APP_WORKER__THREADS=%llu\n", (unsigned long long)c->threads);
    fprintf(out, "APP_WORKER__GRACE_S=%llu\n", (unsigned long long)c->grace_s);
    fprintf(out, "APP_WORKER__SWEEP_AGE_S=%llu\n",
            (unsigned long long)c->sweep_age_s);
}
