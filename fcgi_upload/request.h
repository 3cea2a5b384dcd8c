/*
 * request.h - serving one request, independent of the transport.
 *
 * A worker is what one thread (or process) needs to serve requests one at a
 * time: its digest context, its one body buffer of APP_API__CHUNK_SIZE_KB
 * and its per-request state, all allocated once at start and reused, so
 * memory does not grow with requests or files. The configuration is shared
 * read-only, and so is the libmagic database (fu_magic.h, behind a lock);
 * the task store is the thread's own (taskstore_open() per thread: a Redis
 * store is one connection), or the filesystem store, which the threads of
 * a process share (main.c, pool.h).
 */
#ifndef FU_REQUEST_H
#define FU_REQUEST_H

#include <openssl/evp.h>
#include <stddef.h>

#include "fu_magic.h"
#include "transport.h"

struct config;
struct taskstore;
struct request;

struct worker {
    const struct config *cfg;      /* shared, read-only */
    const struct taskstore *store; /* this thread's, or thread-safe */
    int spool_fd;                  /* AUDIO_DIR, shared */
    struct fu_magic magic;         /* a reference to the process's */
    EVP_MD_CTX *md;
    EVP_MD *sha256;
    char *chunk; /* the one body buffer */
    size_t chunk_cap;
    struct request *rq; /* per-request state, reused */
};

/* Allocate and load what a worker owns. 0, or negative errno (logged). */
int worker_init(struct worker *w, const struct config *cfg,
                const struct taskstore *store, int spool_fd);
void worker_release(struct worker *w);

/*
 * Serve one request over t: route, check, stream, answer, log one line.
 * Never fails the process: every problem becomes an HTTP answer (and
 * whatever it created on disk is removed). Returns 0 when the answer was
 * written, or the negative errno of the failed write (client gone).
 */
int request_serve(struct worker *w, const struct transport *t);

#endif
