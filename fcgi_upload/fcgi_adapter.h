/*
 * fcgi_adapter.h - the FastCGI side, over libfcgi. fcgi_adapter.c is the
 * only file that includes fcgiapp.h; everything else sees struct transport.
 */
#ifndef FU_FCGI_ADAPTER_H
#define FU_FCGI_ADAPTER_H

#include <stdbool.h>

struct worker;

/* FCGX_Init(). 0 or -EIO. Call once per process, before any other call. */
int fcgi_adapter_init(void);

/* True when started as a plain CGI program (fd 0 is not a listening
 * socket), per FCGX_IsCGI(). */
bool fcgi_adapter_is_cgi(void);

/*
 * Accept and serve requests on the listening socket the process manager
 * passed as fd 0 (spawn-fcgi), one at a time, until shutdown (SIGTERM or
 * SIGUSR1 through libfcgi's handler, or an accept error). Each call owns its
 * own FCGX_Request, so one thread per call can share the socket (libfcgi
 * wants FCGX_Accept_r serialised on some systems: a mutex will go around it
 * when threads arrive). Returns 0 on shutdown, or a negative errno value.
 */
int fcgi_adapter_serve(struct worker *w);

#endif
