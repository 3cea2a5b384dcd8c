/*
 * main.c - fcgi_upload: a FastCGI (or CGI) responder taking audio uploads.
 *
 *   fcgi_upload                 serve: FastCGI on the socket passed as fd 0
 *                               (spawn-fcgi), or one CGI request when fd 0
 *                               is not a socket
 *   fcgi_upload --help          the environment variables and defaults
 *   fcgi_upload --check-config  validate and print the effective settings
 *   fcgi_upload --version
 *
 * Exit status: 0 after a clean shutdown (SIGTERM, SIGINT, SIGHUP or SIGUSR1:
 * see pool.h) or a CGI request answered, 1 for a bad configuration, a
 * failed start or a failure while serving, 2 for a bad command line.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "fcgi_adapter.h"
#include "fsutil.h"
#include "fu_log.h"
#include "pool.h"
#include "request.h"
#include "sweep.h"
#include "taskstore.h"
#include "transport.h"

static const char *env_get(const char *name, void *ctx)
{
    (void)ctx;
    return getenv(name);
}

static void usage(FILE *out)
{
    fprintf(out, "usage: fcgi_upload [--help | --check-config | --version]\n"
                 "\n"
                 "A FastCGI responder for POST /v1/process (audio uploads),\n"
                 "GET /v1/status/{task_id} and GET /health. Run it under a\n"
                 "process manager that passes the listening socket as fd 0\n"
                 "(spawn-fcgi -n -s SOCKET -- fcgi_upload), or as a CGI\n"
                 "program. Settings come from the environment:\n\n");
}

/*
 * Where each worker thread's task store comes from (pool.h). The filesystem
 * store keeps no per-call state: every thread gets the one serve() opened.
 * The Redis store holds a connection and its buffers: each thread opens its
 * own (taskstore.h) and closes it when it ends.
 */
struct thread_stores {
    const struct config *cfg;
    int spool_fd;
    const struct taskstore *shared; /* NULL: one store per thread */
};

static int thread_store_open(void *ctx, struct taskstore *out)
{
    const struct thread_stores *ts = ctx;

    if (ts->shared) {
        *out = *ts->shared;
        return 0;
    }
    return taskstore_open(out, ts->cfg, ts->spool_fd);
}

static void thread_store_close(void *ctx, struct taskstore *store)
{
    const struct thread_stores *ts = ctx;

    if (!ts->shared)
        store->ops->close(store->impl);
}

/* One request as a CGI program, on this thread. */
static int serve_cgi(const struct config *cfg, int spool_fd,
                     struct taskstore *store)
{
    struct worker w;
    int rc;

    rc = worker_init(&w, cfg, store, spool_fd);
    if (rc == 0) {
        rc = cgi_serve_once(&w);
        worker_release(&w);
    }
    return rc;
}

static int serve(const struct config *cfg)
{
    bool redis = cfg->redis_url[0] != '\0';
    struct taskstore store;
    struct thread_stores stores;
    struct pool_store_hook hook = {thread_store_open, thread_store_close,
                                   &stores};
    sigset_t old;
    int spool_fd, rc;

    /* a client that goes away must not kill the worker */
    signal(SIGPIPE, SIG_IGN);
    /* a stop signal that comes while we start is kept for pool_run() */
    pool_block_signals(&old);
    rc = fsu_open_dir(AT_FDCWD, cfg->audio_dir, true, true, &spool_fd);
    if (rc)
        return 1;
    /* the filesystem queue, or Redis when APP_REDIS__URL is set */
    rc = taskstore_open(&store, cfg, spool_fd);
    if (rc) {
        fu_log(FU_LOG_ERROR, NULL, "cannot open the task store (%s)",
               redis ? "Redis" : cfg->queue_dir);
        goto out_close_spool;
    }
    stores.cfg = cfg;
    stores.spool_fd = spool_fd;
    stores.shared = redis ? NULL : &store;

    if (fcgi_adapter_is_cgi()) {
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        rc = serve_cgi(cfg, spool_fd, &store);
    } else {
        /* before accepting: what killed workers left (sweep.h); with
         * Redis the record is not in the task directory, and there is no
         * queue directory */
        sweep_run(cfg, spool_fd, !redis, redis ? NULL : cfg->queue_dir);
        fu_log(
            FU_LOG_INFO, NULL,
            "fcgi_upload %s ready: audio dir %s, queue %s, max file "
            "%lluMB, chunk %lluKB, %llu threads, grace %llus, auth %s",
            FU_VERSION, cfg->audio_dir, redis ? "Redis" : cfg->queue_dir,
            (unsigned long long)cfg->max_file_mb,
            (unsigned long long)cfg->chunk_kb, (unsigned long long)cfg->threads,
            (unsigned long long)cfg->grace_s, cfg->auth_enabled ? "on" : "OFF");
        rc = pool_run(cfg, spool_fd, &hook);
    }
    store.ops->close(store.impl);
out_close_spool:
    close(spool_fd);
    return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
    static struct config cfg; /* written once here, then only read */
    char errmem[1024];
    struct bbuf err;
    bool check = false;

    if (argc > 2) {
        usage(stderr);
        return 2;
    }
    if (argc == 2) {
        if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
            usage(stdout);
            config_print_help(stdout);
            return 0;
        }
        if (strcmp(argv[1], "--version") == 0) {
            printf("fcgi_upload %s\n", FU_VERSION);
            return 0;
        }
        if (strcmp(argv[1], "--check-config") != 0) {
            fprintf(stderr, "fcgi_upload: unknown argument '%s'\n", argv[1]);
            usage(stderr);
            return 2;
        }
        check = true;
    }
    BBUF_INIT_ARRAY(&err, errmem);
    if (config_load(&cfg, env_get, NULL, &err)) {
        fprintf(stderr, "fcgi_upload: configuration error: %s\n", err.ptr);
        return 1;
    }
    if (check) {
        config_print(&cfg, stdout);
        return 0;
    }
    fu_log_init(cfg.log_level);
    return serve(&cfg);
}
