/*
 * transport.h - what the request flow needs from the web server, and
 * nothing more: body bytes, request parameters, a place for the answer.
 *
 * Two implementations: FastCGI over libfcgi (fcgi_adapter.c, the only file
 * that includes fcgiapp.h) and plain CGI over stdin/environ/stdout
 * (cgi_transport.c). The request flow (request.c, upload.c) sees only this
 * struct, so it can be driven by either, or by a test.
 */
#ifndef FU_TRANSPORT_H
#define FU_TRANSPORT_H

#include <stddef.h>
#include <sys/types.h>

struct transport {
    void *impl;
    /* Read up to cap body bytes into buf (may block until cap bytes or the
     * end). Returns the count (> 0); 0 at the clean end of the body; or a
     * negative errno value when the body cannot be complete: the client or
     * web server went away (-EPROTO, -ECONNRESET, -EPIPE, ...). */
    ssize_t (*read)(void *impl, char *buf, size_t cap);
    /* A request parameter (CGI meta-variable such as "REQUEST_URI" or
     * "HTTP_X_API_KEY"), or NULL. Valid until the request ends; the request
     * flow copies what it keeps. */
    const char *(*param)(void *impl, const char *name);
    /* Write len bytes of the answer: a CGI header block ("Status: ...",
     * blank line), then the body. 0, or a negative errno value. */
    int (*write)(void *impl, const char *buf, size_t len);
};

struct worker;

/* Serve exactly one request as a CGI program (stdin, environ, stdout). 0, or
 * a negative errno value if the answer could not be written. */
int cgi_serve_once(struct worker *w);

#endif
