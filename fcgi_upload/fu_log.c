/*
 * fu_log.c - JSON lines on stderr; see fu_log.h.
 */
#include "fu_log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static enum fu_log_level log_min = FU_LOG_INFO;

static const char *const level_names[] = {
    [FU_LOG_DEBUG] = "debug",
    [FU_LOG_INFO] = "info",
    [FU_LOG_WARNING] = "warning",
    [FU_LOG_ERROR] = "error",
};

void fu_log_init(enum fu_log_level min)
{
    log_min = min;
}

bool fu_log_enabled(enum fu_log_level lvl)
{
    return lvl >= log_min;
}

const char *fu_log_level_name(enum fu_log_level lvl)
{
    if ((unsigned)lvl > FU_LOG_ERROR)
        return "error";
    return level_names[lvl];
}

int fu_log_level_parse(const char *v, size_t len, enum fu_log_level *out)
{
    unsigned i;

    for (i = 0; i <= FU_LOG_ERROR; i++) {
        if (strlen(level_names[i]) == len &&
            strncasecmp(v, level_names[i], len) == 0) {
            *out = (enum fu_log_level)i;
            return 0;
        }
    }
    if (len == 4 && strncasecmp(v, "warn", 4) == 0) {
        *out = FU_LOG_WARNING;
        return 0;
    }
    return -EINVAL;
}

void fu_utc_timestamp(char *out, size_t cap)
{
    struct timespec ts;
    struct tm tm;
    char sec[24];

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    if (strftime(sec, sizeof(sec), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
        sec[0] = '\0';
    snprintf(out, cap, "%s.%06ldZ", sec, ts.tv_nsec / 1000);
}

void fu_log_begin(struct fu_log_line *l, enum fu_log_level lvl,
                  const char *event)
{
    char ts[40];

    l->on = fu_log_enabled(lvl);
    if (!l->on) {
        /* members added to a disabled line are skipped: the error sticks */
        l->o.b = NULL;
        l->o.err = -ECANCELED;
        return;
    }
    /* keep room for the closing brace and the newline */
    bbuf_init(&l->b, l->buf, sizeof(l->buf) - 2);
    fu_utc_timestamp(ts, sizeof(ts));
    json_obj_begin(&l->o, &l->b);
    json_obj_str(&l->o, "ts", ts);
    json_obj_str(&l->o, "level", fu_log_level_name(lvl));
    json_obj_str(&l->o, "event", event);
}

static void write_all_stderr(const char *p, size_t len)
{
    while (len) {
        ssize_t n = write(STDERR_FILENO, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return; /* nowhere left to report it */
        p += n;
        len -= (size_t)n;
    }
}

void fu_log_end(struct fu_log_line *l)
{
    int saved = errno;

    if (!l->on)
        return;
    if (l->o.err) {
        /* a member did not fit: drop the members added after it */
        l->o.err = 0;
    }
    /* the two reserved bytes make room for '}' and '\n' in any case */
    l->b.cap += 2;
    if (json_obj_end(&l->o) == 0 && bbuf_append_char(&l->b, '\n') == 0)
        write_all_stderr(l->b.ptr, l->b.len);
    errno = saved;
}

static void log_msg(enum fu_log_level lvl, const char *request_id,
                    const char *step, int err, const char *msg)
{
    struct fu_log_line l;
    char errbuf[128];

    fu_log_begin(&l, lvl, "log");
    json_obj_str(&l.o, "msg", msg);
    if (request_id)
        json_obj_str(&l.o, "request_id", request_id);
    if (step) {
        json_obj_str(&l.o, "step", step);
        json_obj_str(&l.o, "error", strerror_r(err, errbuf, sizeof(errbuf)));
    }
    fu_log_end(&l);
}

/* The message formatted into a bounded buffer (cut if too long), then one
 * line; errno is kept for the caller. */
static void log_v(enum fu_log_level lvl, const char *request_id,
                  const char *step, int err, const char *fmt, va_list ap)
{
    char msg[FU_LOG_LINE_MAX / 2];

    vsnprintf(msg, sizeof(msg), fmt, ap);
    log_msg(lvl, request_id, step, err, msg);
}

void fu_log(enum fu_log_level lvl, const char *request_id, const char *fmt, ...)
{
    int saved = errno;
    va_list ap;

    if (!fu_log_enabled(lvl))
        return;
    va_start(ap, fmt);
    log_v(lvl, request_id, NULL, 0, fmt, ap);
    va_end(ap);
    errno = saved;
}

void fu_log_errno(enum fu_log_level lvl, const char *request_id,
                  const char *step, int err, const char *fmt, ...)
{
    int saved = errno;
    va_list ap;

    if (!fu_log_enabled(lvl))
        return;
    va_start(ap, fmt);
    log_v(lvl, request_id, step, err, fmt, ap);
    va_end(ap);
    errno = saved;
}
