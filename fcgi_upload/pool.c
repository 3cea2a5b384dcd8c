/*
 * pool.c - worker threads and the graceful stop; see pool.h.
 */
#include "pool.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "fcgi_adapter.h"
#include "fu_log.h"
#include "request.h"
#include "taskstore.h"

/* How often the waiting main thread looks at the threads. */
#define POOL_TICK_MS 100

struct pool;

struct pool_thread {
    struct pool *pool;
    pthread_t tid;
    struct fcgi_slot slot;
    bool created;
};

struct pool {
    const struct config *cfg;
    const struct pool_store_hook *hook;
    int spool_fd;
    struct fcgi_listener listener;
    pthread_mutex_t mu; /* guards running and failed */
    unsigned running;   /* threads created and not yet ended */
    unsigned failed;    /* threads that ended with an error */
    struct pool_thread *threads;
    size_t n;
};

static void *thread_main(void *arg)
{
    struct pool_thread *pt = arg;
    struct pool *p = pt->pool;
    struct taskstore store;
    struct worker w;
    int rc;

    rc = p->hook->open(p->hook->ctx, &store);
    if (rc) {
        fu_log_errno(FU_LOG_ERROR, NULL, "taskstore open", -rc,
                     "a worker thread cannot open its task store");
        goto out;
    }
    rc = worker_init(&w, p->cfg, &store, p->spool_fd);
    if (rc == 0) {
        rc = fcgi_adapter_serve(&p->listener, &pt->slot, &w);
        worker_release(&w);
    }
    p->hook->close(p->hook->ctx, &store);
out:
    pthread_mutex_lock(&p->mu);
    p->running--;
    if (rc)
        p->failed++;
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static void counts(struct pool *p, unsigned *running, unsigned *failed)
{
    pthread_mutex_lock(&p->mu);
    *running = p->running;
    *failed = p->failed;
    pthread_mutex_unlock(&p->mu);
}

static unsigned busy_count(struct pool *p)
{
    unsigned n = 0;
    size_t i;

    for (i = 0; i < p->n; i++)
        if (p->threads[i].created && fcgi_slot_busy(&p->threads[i].slot))
            n++;
    return n;
}

static const char *signal_name(int sig)
{
    switch (sig) {
    case SIGTERM:
        return "SIGTERM";
    case SIGINT:
        return "SIGINT";
    case SIGHUP:
        return "SIGHUP";
    case SIGUSR1:
        return "SIGUSR1";
    default:
        return "signal";
    }
}

/* Wait up to ms for one of the signals in set; the signal, or 0. */
static int wait_signal(const sigset_t *set, long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    int sig = sigtimedwait(set, NULL, &ts);

    return sig > 0 ? sig : 0;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * libfcgi releases that drain a closing connection with select(2) write
 * past their fd_set for a descriptor >= FD_SETSIZE (Debian 12's 2.4.2 uses
 * poll(2) there, but the library may be another build). With the soft
 * limit at FD_SETSIZE, open() fails with EMFILE instead (that request
 * answers 500); FU_THREADS_MAX is chosen so that every thread's descriptors
 * (at most 7 at once: connection, task directory, file, record, queue,
 * Redis) fit.
 */
static void cap_open_files(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur <= FD_SETSIZE)
        return;
    rl.rlim_cur = FD_SETSIZE;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
        fu_log_errno(FU_LOG_WARNING, NULL, "setrlimit", errno,
                     "cannot lower RLIMIT_NOFILE to %d", FD_SETSIZE);
}

static int start_threads(struct pool *p)
{
    size_t i;
    int err;

    for (i = 0; i < p->n; i++) {
        struct pool_thread *pt = &p->threads[i];
        pt->pool = p;
        fcgi_slot_init(&pt->slot);
        pthread_mutex_lock(&p->mu);
        p->running++;
        pthread_mutex_unlock(&p->mu);
        err = pthread_create(&pt->tid, NULL, thread_main, pt);
        if (err) {
            pthread_mutex_lock(&p->mu);
            p->running--;
            pthread_mutex_unlock(&p->mu);
            fcgi_slot_release(&pt->slot);
            fu_log_errno(FU_LOG_ERROR, NULL, "pthread_create", err,
                         "cannot start worker thread %zu of %zu", i + 1, p->n);
            return -err;
        }
        pt->created = true;
    }
    return 0;
}

/* Steps 2 and 3 of the stop (pool.h); false if threads are left. */
static bool drain(struct pool *p, const sigset_t *set)
{
    double deadline = now_s() + (double)p->cfg->grace_s;
    unsigned running, failed;
    size_t i;

    counts(p, &running, &failed);
    while (running > 0 && now_s() < deadline) {
        if (wait_signal(set, POOL_TICK_MS)) {
            fu_log(FU_LOG_WARNING, NULL,
                   "second stop signal: ending the grace period now");
            break;
        }
        counts(p, &running, &failed);
    }
    if (running == 0)
        return true;

    /* Cut again on every tick: a thread may have been between accepting and
     * publishing its connection in its slot. */
    deadline = now_s() + POOL_ABORT_WAIT_S;
    fu_log(FU_LOG_WARNING, NULL,
           "grace period over: cutting short %u request(s) in progress",
           busy_count(p));
    while (running > 0 && now_s() < deadline) {
        for (i = 0; i < p->n; i++)
            if (p->threads[i].created)
                fcgi_slot_abort(&p->threads[i].slot);
        wait_signal(set, POOL_TICK_MS);
        counts(p, &running, &failed);
    }
    return running == 0;
}

static void stop_set(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGHUP);
    sigaddset(set, SIGUSR1);
}

void pool_block_signals(sigset_t *old)
{
    sigset_t set;

    stop_set(&set);
    pthread_sigmask(SIG_BLOCK, &set, old);
}

int pool_run(const struct config *cfg, int spool_fd,
             const struct pool_store_hook *hook)
{
    struct pool p;
    sigset_t set, old;
    unsigned running, failed;
    int rc, sig = 0;
    size_t i;

    memset(&p, 0, sizeof(p));
    p.cfg = cfg;
    p.hook = hook;
    p.spool_fd = spool_fd;
    p.n = (size_t)cfg->threads;
    pthread_mutex_init(&p.mu, NULL);
    stop_set(&set);
    /* before any thread exists: every thread inherits the mask */
    pthread_sigmask(SIG_BLOCK, &set, &old);
    cap_open_files();

    rc = fcgi_listener_init(&p.listener);
    if (rc)
        goto out_mask;
    p.threads = calloc(p.n, sizeof(*p.threads));
    if (!p.threads) {
        rc = -ENOMEM;
        fu_log(FU_LOG_ERROR, NULL, "cannot allocate %zu worker threads", p.n);
        goto out_listener;
    }
    rc = start_threads(&p);
    if (rc == 0)
        fu_log(FU_LOG_INFO, NULL, "serving with %zu worker thread(s)", p.n);

    /* step 0: serve until a signal, or until a thread fails */
    while (rc == 0) {
        sig = wait_signal(&set, 1000);
        if (sig)
            break;
        counts(&p, &running, &failed);
        if (failed) {
            fu_log(FU_LOG_ERROR, NULL,
                   "%u worker thread(s) failed: stopping the process", failed);
            rc = -EIO;
        }
    }
    if (sig)
        fu_log(FU_LOG_INFO, NULL,
               "%s: no new requests; %u in progress get up to %llus",
               signal_name(sig), busy_count(&p),
               (unsigned long long)cfg->grace_s);

    fcgi_listener_stop(&p.listener, 1000); /* step 1 */
    if (!drain(&p, &set)) {
        counts(&p, &running, &failed);
        fu_log(FU_LOG_ERROR, NULL,
               "%u worker thread(s) still busy %ds after being cut short: "
               "exiting without them",
               running, POOL_ABORT_WAIT_S);
        _exit(1);
    }
    for (i = 0; i < p.n; i++) {
        if (!p.threads[i].created)
            continue;
        pthread_join(p.threads[i].tid, NULL);
        fcgi_slot_release(&p.threads[i].slot);
    }
    counts(&p, &running, &failed);
    if (rc == 0 && failed)
        rc = -EIO;
    fu_log(rc ? FU_LOG_ERROR : FU_LOG_INFO, NULL, "stopped%s",
           rc ? " after a failure" : "");
    free(p.threads);
out_listener:
    fcgi_listener_release(&p.listener);
out_mask:
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_mutex_destroy(&p.mu);
    return rc;
}
