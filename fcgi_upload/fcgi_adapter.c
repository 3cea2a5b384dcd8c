/*
 * fcgi_adapter.c - libfcgi behind struct transport.
 *
 * Reading the body: FCGX_GetStr() fills the caller's one buffer; a short
 * count means the stdin stream is closed, either at the FCGI_STDIN
 * end-of-stream record (clean end) or because the connection failed. The two
 * are told apart with FCGX_GetError(): non-zero (FCGX_PROTOCOL_ERROR when the
 * web server closed the socket mid-body, or an errno from read) is a broken
 * request, never a complete one. FCGX_HasSeenEOF() alone cannot tell, as
 * libfcgi marks the stream closed in both cases.
 *
 * A request refused before its body is read is simply finished:
 * FCGX_Finish_r() shuts our side down and drains what the web server still
 * sends until it closes, so the early answer is delivered, not reset.
 */
#include "fcgi_adapter.h"

#include <errno.h>
#include <fcgiapp.h>
#include <limits.h>

#include "fu_log.h"
#include "request.h"
#include "transport.h"

struct fcgi_conn {
    FCGX_Request *req;
};

static ssize_t fcgi_read(void *impl, char *buf, size_t cap)
{
    struct fcgi_conn *c = impl;
    int n, err;

    if (cap > INT_MAX)
        cap = INT_MAX;
    n = FCGX_GetStr(buf, (int)cap, c->req->in);
    if (n > 0)
        return n;
    err = FCGX_GetError(c->req->in);
    if (err > 0)
        return -err; /* an errno value from the socket */
    if (err < 0)
        return -EPROTO; /* FCGX_PROTOCOL_ERROR and friends */
    if (FCGX_HasSeenEOF(c->req->in))
        return 0;
    return -EIO; /* neither data, nor EOF, nor error: should not happen */
}

static const char *fcgi_param(void *impl, const char *name)
{
    struct fcgi_conn *c = impl;

    return FCGX_GetParam(name, c->req->envp);
}

static int fcgi_write(void *impl, const char *buf, size_t len)
{
    struct fcgi_conn *c = impl;
    int err;

    while (len) {
        int n = len > INT_MAX ? INT_MAX : (int)len;
        if (FCGX_PutStr(buf, n, c->req->out) != n)
            goto out_err;
        buf += n;
        len -= (size_t)n;
    }
    if (FCGX_FFlush(c->req->out) == 0)
        return 0;
out_err:
    err = FCGX_GetError(c->req->out);
    return err > 0 ? -err : -EPIPE;
}

int fcgi_adapter_init(void)
{
    return FCGX_Init() == 0 ? 0 : -EIO;
}

bool fcgi_adapter_is_cgi(void)
{
    return FCGX_IsCGI() != 0;
}

int fcgi_adapter_serve(struct worker *w)
{
    FCGX_Request req;
    struct fcgi_conn c = {&req};
    struct transport t = {&c, fcgi_read, fcgi_param, fcgi_write};
    int rc;

    /* fd 0: the listening socket spawn-fcgi hands over */
    if (FCGX_InitRequest(&req, 0, 0) != 0) {
        fu_log(FU_LOG_ERROR, NULL, "FCGX_InitRequest failed");
        return -EIO;
    }
    for (;;) {
        rc = FCGX_Accept_r(&req);
        if (rc < 0)
            break;
        request_serve(w, &t);
        FCGX_Finish_r(&req);
    }
    FCGX_Free(&req, 1);
    /* libfcgi returns -1 both on shutdown and on an accept error */
    fu_log(FU_LOG_INFO, NULL, "accept loop ended (FCGX_Accept_r %d)", rc);
    return 0;
}
