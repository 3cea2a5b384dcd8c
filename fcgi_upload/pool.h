/*
 * pool.h - the worker threads of one FastCGI process, and how it stops.
 *
 * pool_run() starts APP_WORKER__THREADS threads. Each owns a struct worker
 * (body buffer, digest context, request state), a task store from the hook
 * below, an FCGX_Request and a struct fcgi_slot, and accepts on the
 * listening socket all of them share (fcgi_adapter.h); the process's
 * libmagic handle is shared under a lock (fu_magic.h). The calling thread
 * serves no request: it waits for a stop signal and runs the stop.
 *
 * Signals: SIGTERM, SIGINT, SIGHUP and SIGUSR1 (the one libfcgi uses) are
 * blocked in every thread and taken by the calling thread with
 * sigtimedwait(), so none ever interrupts a worker's read or write.
 *
 * The stop, on the first of those signals:
 *  1. accepting stops at once (fcgi_listener_stop): no new request starts
 *     in this process, idle threads end;
 *  2. requests in progress go on for up to APP_WORKER__GRACE_S seconds, and
 *     those that finish are answered as usual (a 202 is only sent once the
 *     task is durable, so no accepted upload is lost);
 *  3. when the grace period is over (or at a second signal) the requests
 *     still reading their body are cut short (fcgi_slot_abort): each answers
 *     an error and removes its partial file and task directory on its own
 *     error path; requests that have their whole body finish;
 *  4. the threads are joined, everything is released, pool_run returns 0.
 * Should threads still be busy POOL_ABORT_WAIT_S seconds after step 3 (a
 * disk that does not return from fsync), the process logs it and ends with
 * _exit(1) at once, as they still use its state; the start-up sweep of the
 * next process removes what they leave (sweep.h).
 */
#ifndef FU_POOL_H
#define FU_POOL_H

#include <signal.h>

struct config;
struct taskstore;

#define POOL_ABORT_WAIT_S 10

/*
 * How a worker thread gets its task store: open() once when the thread
 * starts and close() when it ends, both on that thread. A store that is safe
 * to share between threads (the filesystem store) hands every thread the
 * same instance and closes nothing; one that holds a connection (Redis)
 * opens one per thread. open returns 0 or a negative errno value.
 */
struct pool_store_hook {
    int (*open)(void *ctx, struct taskstore *out);
    void (*close)(void *ctx, struct taskstore *ts);
    void *ctx;
};

/* Block the stop signals in the calling thread, the previous mask to
 * *old. Called first thing by a process that will call pool_run(), so that
 * a stop signal arriving while it starts waits for pool_run() instead of
 * reaching the handler libfcgi installs. */
void pool_block_signals(sigset_t *old);

/*
 * Serve FastCGI requests on the listening socket (fd 0) with cfg->threads
 * threads until a stop signal, then stop as described above. spool_fd
 * (AUDIO_DIR) is borrowed. Returns 0 after a clean stop, or a negative
 * errno value when the pool could not start, or a thread could no longer
 * accept (the others are then stopped the same way). Logged.
 */
int pool_run(const struct config *cfg, int spool_fd,
             const struct pool_store_hook *hook);

#endif
