/*
 * config.h - the handler's settings, read once from the environment.
 *
 * config_load() fills a struct config from one table of variables (name,
 * default, parser, help text); main() then only hands out const pointers, so
 * the configuration is the one piece of state every worker thread shares,
 * read-only. An empty value means "unset" (the default applies). A value that
 * does not parse stops the start: the message names the variable and the
 * value (secrets are never echoed), and main() exits with status 1.
 */
#ifndef FU_CONFIG_H
#define FU_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "bbuf.h"
#include "ctcmp.h"
#include "fields.h"
#include "fu_log.h"
#include "mp_limits.h"

#define FU_VERSION "0.1.0"

/* An allowed type as libmagic names it, and the extension of the stored
 * file (raw.<ext>). */
struct config_mime {
    char type[FU_MIME_NAME_MAX + 1];
    char ext[FU_EXT_MAX + 1];
};

struct config {
    uint64_t max_file_mb;    /* APP_API__MAX_FILE_SIZE_MB */
    uint64_t max_file_bytes; /* the same in bytes (MiB) */
    /* APP_API__SECRET_KEY first, then APP_API__FALLBACK_KEYS */
    struct api_key keys[FU_KEYS_MAX];
    size_t nkeys;
    bool has_secret;
    bool auth_enabled; /* APP_API__AUTH_ENABLED */
    enum asr_backend default_backend;
    char audio_dir[FU_PATH_MAX + 1]; /* absolute, no trailing slash */
    char queue_dir[FU_PATH_MAX + 1]; /* absolute, no trailing slash */
    bool queue_dir_derived;          /* unset: <parent of audio_dir>/queue */
    uint64_t max_queue_depth;        /* APP_REDIS__MAX_QUEUE_DEPTH */
    uint64_t retry_after_s;          /* Retry-After of a 429 */
    uint64_t chunk_kb;               /* APP_API__CHUNK_SIZE_KB */
    size_t chunk_bytes;
    struct config_mime mimes[FU_MIME_TYPES_MAX];
    size_t nmimes;
    enum fu_log_level log_level;
    uint64_t threads;     /* APP_WORKER__THREADS */
    uint64_t grace_s;     /* APP_WORKER__GRACE_S */
    uint64_t sweep_age_s; /* APP_WORKER__SWEEP_AGE_S */
    /* The Redis/RQ hand-off; redis_url "" means the filesystem queue. */
    char redis_url[FU_REDIS_URL_MAX + 1];    /* APP_REDIS__URL, checked */
    int redis_results_db;                    /* APP_REDIS__RESULTS_DB */
    char redis_queue[FU_REDIS_NAME_MAX + 1]; /* APP_REDIS__QUEUE_NAME */
    char job_func[FU_REDIS_NAME_MAX + 1];    /* APP_WORKER__JOB_FUNC */
    long job_timeout_s;                      /* -1: none */
    long result_ttl_s;                       /* -1: kept for ever */
    long redis_connect_ms;
    long redis_command_ms;
};

/* Where values come from: getenv() in main, a table in the unit tests.
 * Returns NULL for an unset variable. */
typedef const char *(*config_getenv_fn)(const char *name, void *ctx);

/* Fill *c (fully overwritten). Relative paths are made absolute against the
 * current directory; nothing on disk is touched. Returns 0, or -EINVAL with
 * one line in err naming the variable and the problem. */
int config_load(struct config *c, config_getenv_fn get, void *ctx,
                struct bbuf *err);

/* Every variable with its default and meaning (for --help). */
void config_print_help(FILE *out);
/* The effective configuration as NAME=value lines, secrets masked (for
 * --check-config). */
void config_print(const struct config *c, FILE *out);

/* APP_REDIS__URL with its password replaced by ****, for logs and
 * --check-config; "" when unset. Cut to fit cap (NUL included). */
void config_redis_url_masked(const struct config *c, char *out, size_t cap);

/* The allowed entry for a libmagic type, or NULL if it is not allowed. */
const struct config_mime *config_find_mime(const struct config *c,
                                           const char *type);
/* The built-in extension of a type ("audio/x-wav" -> "wav"), or NULL. */
const char *mime_default_ext(const char *type);

#endif
