/*
 * cgi_transport.c - plain CGI (RFC 3875): the same binary run once per
 * request, e.g. by Apache mod_cgi. The body is on stdin, parameters in the
 * environment, the answer goes to stdout.
 *
 * When CONTENT_LENGTH is given the body is exactly that long (RFC 3875 4.2:
 * the server need not send EOF after it): reads stop there, and an EOF
 * before it means the client went away (-EPIPE). Without CONTENT_LENGTH
 * (a chunked request passed on by the server) EOF ends the body.
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

int cgi_serve_once(struct worker *w)
{
    struct cgi_conn c = {0};
    struct transport t = {&c, cgi_read, cgi_param, cgi_write};
    const char *cl = getenv("CONTENT_LENGTH");
    uint64_t n;

    /* A bad CONTENT_LENGTH is the request flow's to refuse (400); here it
     * only decides how far stdin may be read. */
    if (cl && cl[0] && parse_u64(cl, strlen(cl), UINT64_MAX, &n) == 0) {
        c.have_length = true;
        c.remaining = n;
    }
    return request_serve(w, &t) < 0 ? -EIO : 0;
}
