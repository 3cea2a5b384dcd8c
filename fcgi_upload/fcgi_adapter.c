/*
 * fcgi_adapter.c - libfcgi behind struct transport, and the accept loop of
 * the worker threads.
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
 *
 * Accepting with several threads, and stopping. What libfcgi 2.4.2 does
 * (Debian 12's build, read from its code): OS_Accept() is a plain blocking
 * accept(2) with no lock around it (the fcntl lock of older releases is not
 * compiled in on Linux, where accept on a shared socket is thread-safe and
 * wakes one waiter), so the mutex its examples/threaded.c puts around
 * FCGX_Accept_r() is not needed for correctness here. The trouble is
 * stopping: a thread blocked in accept(2) only leaves it for a connection
 * or a signal, and libfcgi's way (its SIGTERM/SIGUSR1 handler sets a
 * shutdown flag, or FCGX_ShutdownPending()) only works with signals that
 * interrupt system calls, which would also break the reads of uploads in
 * progress (libfcgi treats EINTR from read as a failed stream), and a
 * signal landing just after accept(2) loses that connection (libfcgi closes
 * it when its poll for the first record is interrupted).
 *
 * So no signal ever reaches the worker threads (pool.c blocks them), and
 * no thread blocks in accept(2): the listening socket is made non-blocking,
 * one thread at a time (the holder of accept_mu) polls it together with an
 * eventfd, and calls FCGX_Accept_r() only when poll says a connection is
 * waiting; if another process of the pool took it first, accept fails with
 * EAGAIN and the thread polls again. fcgi_listener_stop() makes the eventfd
 * readable. The connections FCGX_Accept_r() returns are blocking (accept(2)
 * on Linux does not pass O_NONBLOCK on). O_NONBLOCK is a property of the
 * socket shared by every process of the pool: all of them run this code.
 */
#include "fcgi_adapter.h"

#include <errno.h>
#include <fcgiapp.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fu_log.h"
#include "request.h"
#include "transport.h"

/* Pause after an accept that failed for lack of resources (EMFILE...):
 * the connection stays queued, so polling again at once would spin. */
#define ACCEPT_RETRY_MS 100

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

bool fcgi_adapter_is_cgi(void)
{
    return FCGX_IsCGI() != 0;
}

int fcgi_listener_init(struct fcgi_listener *l)
{
    int flags, err;

    l->listen_fd = 0; /* FCGI_LISTENSOCK_FILENO */
    l->wake_fd = -1;
    atomic_init(&l->stopping, false);
    if (FCGX_Init() != 0) {
        fu_log(FU_LOG_ERROR, NULL, "FCGX_Init failed");
        return -EIO;
    }
    /* FCGX_Init() puts a no-op handler on SIGPIPE; ignoring it is simpler
     * (a write to a closed connection then just fails with EPIPE). */
    signal(SIGPIPE, SIG_IGN);
    flags = fcntl(l->listen_fd, F_GETFL);
    if (flags < 0 || fcntl(l->listen_fd, F_SETFL, flags | O_NONBLOCK) < 0) {
        err = errno;
        fu_log_errno(FU_LOG_ERROR, NULL, "fcntl O_NONBLOCK", err,
                     "cannot make the listening socket non-blocking");
        return -err;
    }
    l->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (l->wake_fd < 0) {
        err = errno;
        fu_log_errno(FU_LOG_ERROR, NULL, "eventfd", err,
                     "cannot create the stop event");
        return -err;
    }
    err = pthread_mutex_init(&l->accept_mu, NULL);
    if (err) {
        close(l->wake_fd);
        l->wake_fd = -1;
        fu_log_errno(FU_LOG_ERROR, NULL, "pthread_mutex_init", err,
                     "cannot create the accept lock");
        return -err;
    }
    return 0;
}

void fcgi_listener_release(struct fcgi_listener *l)
{
    if (l->wake_fd < 0)
        return;
    close(l->wake_fd);
    l->wake_fd = -1;
    pthread_mutex_destroy(&l->accept_mu);
}

void fcgi_listener_stop(struct fcgi_listener *l, int timeout_ms)
{
    uint64_t one = 1;
    struct timespec until;
    int err, devnull;

    atomic_store(&l->stopping, true);
    /* an eventfd counter only overflows after 2^64 - 2 writes */
    if (write(l->wake_fd, &one, sizeof(one)) < 0)
        fu_log_errno(FU_LOG_ERROR, NULL, "write eventfd", errno,
                     "cannot wake the accepting thread");

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    err = pthread_mutex_timedlock(&l->accept_mu, &until);
    if (err) {
        fu_log_errno(FU_LOG_WARNING, NULL, "pthread_mutex_timedlock", err,
                     "a thread is still accepting: the listening socket "
                     "stays open until exit");
        return;
    }
    /* Every thread that takes the lock from now on sees `stopping` first and
     * never touches listen_fd again. */
    devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (devnull < 0 || dup2(devnull, l->listen_fd) < 0)
        fu_log_errno(FU_LOG_WARNING, NULL, "dup2", errno,
                     "cannot close the listening socket early");
    if (devnull >= 0)
        close(devnull);
    pthread_mutex_unlock(&l->accept_mu);
}

void fcgi_slot_init(struct fcgi_slot *s)
{
    pthread_mutex_init(&s->mu, NULL);
    s->conn_fd = -1;
}

void fcgi_slot_release(struct fcgi_slot *s)
{
    pthread_mutex_destroy(&s->mu);
}

static void slot_set(struct fcgi_slot *s, int fd)
{
    pthread_mutex_lock(&s->mu);
    s->conn_fd = fd;
    pthread_mutex_unlock(&s->mu);
}

bool fcgi_slot_busy(struct fcgi_slot *s)
{
    bool busy;

    pthread_mutex_lock(&s->mu);
    busy = s->conn_fd >= 0;
    pthread_mutex_unlock(&s->mu);
    return busy;
}

bool fcgi_slot_abort(struct fcgi_slot *s)
{
    bool busy;

    /* Under the lock the descriptor is still the request's: the serving
     * thread clears conn_fd under the same lock before libfcgi closes it. */
    pthread_mutex_lock(&s->mu);
    busy = s->conn_fd >= 0;
    if (busy && shutdown(s->conn_fd, SHUT_RD) < 0 && errno != ENOTCONN)
        fu_log_errno(FU_LOG_WARNING, NULL, "shutdown", errno,
                     "cannot cut a request short");
    pthread_mutex_unlock(&s->mu);
    return busy;
}

/* Wait until a connection is waiting (1), stop was asked (0), or poll
 * failed (negative errno). timeout_ms < 0: no timeout; on timeout, 1. */
static int wait_for_connection(struct fcgi_listener *l, int timeout_ms,
                               bool want_listen)
{
    struct pollfd fds[2] = {
        {.fd = l->wake_fd, .events = POLLIN},
        {.fd = l->listen_fd, .events = POLLIN},
    };
    int n;

    for (;;) {
        if (atomic_load(&l->stopping))
            return 0;
        n = poll(fds, want_listen ? 2 : 1, timeout_ms);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (fds[0].revents)
            return 0;
        return 1; /* a connection (or an error to learn from accept), or
                     the timeout */
    }
}

static bool accept_errno_transient(int err)
{
    switch (err) {
    case EAGAIN:       /* another thread or process took the connection */
    case EINTR:        /* cannot happen: signals are blocked */
    case ECONNABORTED: /* the web server gave up before we accepted */
    case EPROTO:
        return true;
    default:
        return false;
    }
}

static bool accept_errno_resource(int err)
{
    return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
}

/* Accept the next request into req: 1 with a request, 0 on stop, or a
 * negative errno value when accepting cannot work any more. */
static int accept_one(struct fcgi_listener *l, FCGX_Request *req)
{
    int rc;

    pthread_mutex_lock(&l->accept_mu);
    for (;;) {
        rc = wait_for_connection(l, -1, true);
        if (rc <= 0) {
            if (rc < 0)
                fu_log_errno(FU_LOG_ERROR, NULL, "poll", -rc,
                             "cannot wait for connections");
            break;
        }
        rc = FCGX_Accept_r(req);
        if (rc == 0) {
            rc = 1;
            break;
        }
        if (rc == -EWOULDBLOCK || accept_errno_transient(-rc))
            continue;
        if (accept_errno_resource(-rc)) {
            fu_log_errno(FU_LOG_ERROR, NULL, "accept", -rc,
                         "cannot accept a connection; retrying in %d ms",
                         ACCEPT_RETRY_MS);
            rc = wait_for_connection(l, ACCEPT_RETRY_MS, false);
            if (rc <= 0)
                break;
            continue;
        }
        /* libfcgi returns -errno of accept(2), or -9999 without one */
        if (rc > -4096) {
            fu_log_errno(FU_LOG_ERROR, NULL, "FCGX_Accept_r", -rc,
                         "cannot accept connections");
        } else {
            fu_log(FU_LOG_ERROR, NULL, "FCGX_Accept_r failed (%d)", rc);
            rc = -EIO;
        }
        break;
    }
    pthread_mutex_unlock(&l->accept_mu);
    return rc;
}

int fcgi_adapter_serve(struct fcgi_listener *l, struct fcgi_slot *slot,
                       struct worker *w)
{
    FCGX_Request req;
    struct fcgi_conn c = {&req};
    struct transport t = {&c, fcgi_read, fcgi_param, fcgi_write};
    int rc;

    if (FCGX_InitRequest(&req, l->listen_fd, 0) != 0) {
        fu_log(FU_LOG_ERROR, NULL, "FCGX_InitRequest failed");
        return -EIO;
    }
    for (;;) {
        rc = accept_one(l, &req);
        if (rc <= 0)
            break;
        slot_set(slot, req.ipcFd);
        request_serve(w, &t);
        slot_set(slot, -1);
        FCGX_Finish_r(&req);
    }
    FCGX_Free(&req, 1);
    return rc;
}
