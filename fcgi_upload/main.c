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
 * Exit status: 0 after a clean shutdown or a CGI request answered, 1 for a
 * bad configuration or a failed start, 2 for a bad command line.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "fcgi_adapter.h"
#include "fsutil.h"
#include "fu_log.h"
#include "request.h"
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

static int serve(const struct config *cfg)
{
    struct taskstore store;
    struct worker w;
    int spool_fd, rc;

    /* a client that goes away must not kill the worker */
    signal(SIGPIPE, SIG_IGN);
    rc = fsu_open_dir(AT_FDCWD, cfg->audio_dir, true, true, &spool_fd);
    if (rc)
        return 1;
    /* the filesystem queue, or Redis when APP_REDIS__URL is set; with
     * worker threads, each thread opens its own (see taskstore.h) */
    rc = taskstore_open(&store, cfg, spool_fd);
    if (rc) {
        fu_log(FU_LOG_ERROR, NULL, "cannot open the task store (%s)",
               cfg->redis_url[0] ? "Redis" : cfg->queue_dir);
        goto out_close_spool;
    }
    rc = worker_init(&w, cfg, &store, spool_fd);
    if (rc)
        goto out_close_store;
    if (cfg->threads > 1)
        fu_log(FU_LOG_WARNING, NULL,
               "APP_WORKER__THREADS=%llu: threads are not implemented yet, "
               "serving with 1",
               (unsigned long long)cfg->threads);

    if (fcgi_adapter_is_cgi()) {
        rc = cgi_serve_once(&w);
    } else {
        fu_log(FU_LOG_INFO, NULL,
               "fcgi_upload %s ready: audio dir %s, queue dir %s, max file "
               "%lluMB, chunk %lluKB, auth %s",
               FU_VERSION, cfg->audio_dir, cfg->queue_dir,
               (unsigned long long)cfg->max_file_mb,
               (unsigned long long)cfg->chunk_kb,
               cfg->auth_enabled ? "on" : "OFF");
        rc = fcgi_adapter_init();
        if (rc == 0)
            rc = fcgi_adapter_serve(&w);
        else
            fu_log(FU_LOG_ERROR, NULL, "FCGX_Init failed");
    }
    worker_release(&w);
out_close_store:
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
