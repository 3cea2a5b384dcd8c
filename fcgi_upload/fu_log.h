/*
 * fu_log.h - JSON lines on stderr.
 *
 * Every line is one JSON object, written with a single write(2) of at most
 * FU_LOG_LINE_MAX bytes so lines from several workers (processes or threads)
 * sharing stderr do not interleave. Nothing here allocates: logging works
 * when malloc does not. Messages that do not fit are cut, never dropped.
 *
 * Common members: "ts" (UTC, ISO 8601), "level", "event"; then the caller's.
 */
#ifndef FU_LOG_H
#define FU_LOG_H

#include <stdbool.h>
#include <stddef.h>

#include "bbuf.h"
#include "jsonx.h"
#include "mp_limits.h"

enum fu_log_level { FU_LOG_DEBUG, FU_LOG_INFO, FU_LOG_WARNING, FU_LOG_ERROR };

/* Set the minimum level. Called once at start, before any worker thread
 * exists; this is the only write to logging state. Default: info. */
void fu_log_init(enum fu_log_level min);
bool fu_log_enabled(enum fu_log_level lvl);
/* "warning"; static string. */
const char *fu_log_level_name(enum fu_log_level lvl);
/* debug, info, warning (or warn), error; any case. 0 or -EINVAL. */
int fu_log_level_parse(const char *v, size_t len, enum fu_log_level *out);

/* A free-form line: {"ts","level","event":"log","msg",["request_id"]}. */
void fu_log(enum fu_log_level lvl, const char *request_id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* An error line that says which step failed and why: adds "step" and
 * "error" (the text of err, a positive errno value). errno is preserved. */
void fu_log_errno(enum fu_log_level lvl, const char *request_id,
                  const char *step, int err, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Build a structured line: fu_log_begin() writes the common members into
 * buf (an array of FU_LOG_LINE_MAX bytes owned by the caller), the caller
 * adds members with json_obj_*, fu_log_end() closes and writes it. */
struct fu_log_line {
    char buf[FU_LOG_LINE_MAX];
    struct bbuf b;
    struct json_obj o;
    bool on; /* the level is enabled */
};
void fu_log_begin(struct fu_log_line *l, enum fu_log_level lvl,
                  const char *event);
void fu_log_end(struct fu_log_line *l);

/* Current UTC time as "2025-01-31T12:34:56.123456Z" into out (>= 32 bytes). */
void fu_utc_timestamp(char *out, size_t cap);

#endif
