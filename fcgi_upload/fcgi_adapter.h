/*
 * fcgi_adapter.h - the FastCGI side, over libfcgi. fcgi_adapter.c is the
 * only file that includes fcgiapp.h; everything else sees struct transport.
 *
 * Threads: libfcgi's documented multi-threaded use is FCGX_Init() once per
 * process, then one FCGX_Request per thread (FCGX_InitRequest) and
 * FCGX_Accept_r() on the shared listening socket. Here every worker thread
 * calls fcgi_adapter_serve() with its own struct fcgi_slot; the threads of a
 * process share one struct fcgi_listener, which lets them leave their
 * accept loop on request (see fcgi_adapter.c for how, and why libfcgi's own
 * shutdown flag cannot be used for that).
 */
#ifndef FU_FCGI_ADAPTER_H
#define FU_FCGI_ADAPTER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

struct worker;

/* The listening socket as the worker threads of one process share it. */
struct fcgi_listener {
    int listen_fd; /* fd 0, from the process manager */
    int wake_fd;   /* eventfd, readable once fcgi_listener_stop() ran */
    /* Held by the one thread that waits for the next connection (poll, then
     * FCGX_Accept_r); the others wait here. */
    pthread_mutex_t accept_mu;
    atomic_bool stopping;
};

/* One worker thread's connection, so that another thread can cut the
 * request short (fcgi_slot_abort). */
struct fcgi_slot {
    pthread_mutex_t mu; /* guards conn_fd against its close and reuse */
    int conn_fd;        /* the connection of the request being served, or -1 */
};

/* True when started as a plain CGI program (fd 0 is not a listening
 * socket), per FCGX_IsCGI(). */
bool fcgi_adapter_is_cgi(void);

/* FCGX_Init() and the shared listener on fd 0: made non-blocking, with its
 * wake-up eventfd. Once per process, before any thread serves. 0, or a
 * negative errno value (logged). */
int fcgi_listener_init(struct fcgi_listener *l);
/* Stop accepting: threads waiting for a connection return from
 * fcgi_adapter_serve(), the others after their current request. Then, if
 * the accept lock can be had within timeout_ms, the listening socket is
 * replaced by /dev/null in this process, so that new connections go to the
 * pool's other processes or are refused at once (when this was the last
 * one) instead of waiting in the backlog until this process exits. Call
 * from one thread, once. */
void fcgi_listener_stop(struct fcgi_listener *l, int timeout_ms);
/* After every fcgi_adapter_serve() has returned. */
void fcgi_listener_release(struct fcgi_listener *l);

void fcgi_slot_init(struct fcgi_slot *s);
void fcgi_slot_release(struct fcgi_slot *s);
/* True while the slot's thread is serving a request. */
bool fcgi_slot_busy(struct fcgi_slot *s);
/*
 * Cut the slot's request short: shutdown(SHUT_RD) of its connection. A
 * request still reading its body sees the body end before its time (as if
 * the web server had gone away: -EPROTO from transport.read), so it answers
 * an error and removes its partial file through its ordinary cleanup path;
 * a request that has read its whole body is not disturbed and answers as
 * usual. Callable from any thread; idempotent. True if there was a request.
 */
bool fcgi_slot_abort(struct fcgi_slot *s);

/*
 * Accept and serve requests, one at a time, on the calling thread, with
 * its own FCGX_Request, until fcgi_listener_stop(). Returns 0 after a stop,
 * or a negative errno value when accepting failed for good (logged).
 */
int fcgi_adapter_serve(struct fcgi_listener *l, struct fcgi_slot *slot,
                       struct worker *w);

#endif
