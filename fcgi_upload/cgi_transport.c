/*
 * cgi_transport.c - plain CGI (RFC 3875): the same binary run once per
 * request, e.g. by Apache mod_cgi. The body is on stdin, parameters in the
 * environment, the answer goes to stdout.
 *
 * When CONTENT_LENGTH is given the body is exactly that long (RFC 3875 4.2:
 * the server need not send EOF after it): reads stop there, and an EOF
 * before it means the client went away (-EPIPE). Without CONTENT_LENGTH
 * (a chunked request passed on by the server) EOF ends the body.
 *
 * After the answer, whatever is left of the body is read and thrown away
 * before the process exits (cgi_drain). Apache's mod_cgi and mod_cgid write
 * the whole body to the program before they read its answer; mod_cgid does
 * both over one unix socket, and a process that exits with body bytes still
 * unread in that socket makes the kernel reset it (ECONNRESET for Apache),
 * so an early answer (401, 413, 415, 429, 400) was lost and the client got
 * an empty reply. Draining costs reading the rest of the upload, which the
 * web server would otherwise read and discard itself.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fields.h"
#include "mp_limits.h"
#include "request.h"
#include "transport.h"

struct cgi_conn {
    bool have_length;
    uint64_t remaining;
};

static ssize_t cgi_read(void *impl, char *buf, size_t cap)
{
    struct cgi_conn *c = impl;
    ssize_t n;

    if (c->have_length) {
        if (c->remaining == 0)
            return 0;
        if (cap > c->remaining)
            cap = (size_t)c->remaining;
    }
    do {
        n = read(STDIN_FILENO, buf, cap);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    if (n == 0)
        return c->have_length ? -EPIPE : 0;
    if (c->have_length)
        c->remaining -= (uint64_t)n;
    return n;
}

static const char *cgi_param(void *impl, const char *name)
{
    (void)impl;
    return getenv(name);
}

static int cgi_write(void *impl, const char *buf, size_t len)
{
    (void)impl;
    while (len) {
        ssize_t n = write(STDOUT_FILENO, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Read and discard the rest of the body: up to CONTENT_LENGTH, or to EOF
 * without one. Stops at the first error (the client or the server went
 * away: nothing is left to protect). The web server's timeouts bound how
 * long a stalled client can keep this process. */
static void cgi_drain(struct cgi_conn *c)
{
    char buf[16384];
    ssize_t n;

    do {
        n = cgi_read(c, buf, sizeof(buf));
    } while (n > 0);
}

int cgi_serve_once(struct worker *w)
{
    struct cgi_conn c = {0};
    struct transport t = {&c, cgi_read, cgi_param, cgi_write};
    const char *cl = getenv("CONTENT_LENGTH");
    uint64_t n;
    int rc;

    /* A bad CONTENT_LENGTH is the request flow's to refuse (400); here it
     * only decides how far stdin may be read. */
    if (cl && cl[0] && parse_u64(cl, strlen(cl), UINT64_MAX, &n) == 0) {
        c.have_length = true;
        c.remaining = n;
    }
    rc = request_serve(w, &t);
    cgi_drain(&c);
    return rc < 0 ? -EIO : 0;
}
