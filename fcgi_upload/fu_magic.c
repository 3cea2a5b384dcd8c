/*
 * fu_magic.c - libmagic behind a small interface; see fu_magic.h.
 */
#include "fu_magic.h"

#include <errno.h>
#include <magic.h>
#include <pthread.h>
#include <string.h>

#include "fu_log.h"

/* The process's one handle, its reference count, and the lock that guards
 * both and every use of the handle. */
static pthread_mutex_t magic_mu = PTHREAD_MUTEX_INITIALIZER;
static magic_t magic_cookie;
static unsigned magic_refs;

static int load_locked(void)
{
    magic_t cookie;

    /* MAGIC_MIME_TYPE: the bare type, no "; charset=". MAGIC_ERROR: report
     * errors instead of printing them. Decompression stays off (the
     * default), so libmagic never forks a decompressor on client data. */
    cookie = magic_open(MAGIC_MIME_TYPE | MAGIC_ERROR);
    if (!cookie) {
        fu_log_errno(FU_LOG_ERROR, NULL, "magic_open", errno,
                     "cannot initialise libmagic");
        return -EIO;
    }
    if (magic_load(cookie, NULL) != 0) {
        fu_log(FU_LOG_ERROR, NULL, "magic_load: %s", magic_error(cookie));
        magic_close(cookie);
        return -EIO;
    }
    magic_cookie = cookie;
    return 0;
}

int fu_magic_open(struct fu_magic *m)
{
    int rc = 0;

    m->cookie = NULL;
    pthread_mutex_lock(&magic_mu);
    if (magic_refs == 0)
        rc = load_locked();
    if (rc == 0) {
        magic_refs++;
        m->cookie = magic_cookie;
    }
    pthread_mutex_unlock(&magic_mu);
    return rc;
}

int fu_magic_detect(struct fu_magic *m, const void *buf, size_t len, char *out,
                    size_t cap)
{
    const char *type;
    size_t n;
    int rc = 0;

    pthread_mutex_lock(&magic_mu);
    /* the result string lives in the handle: copy it before unlocking */
    type = magic_buffer(m->cookie, buf, len);
    if (!type) {
        const char *why = magic_error(m->cookie);
        fu_log(FU_LOG_ERROR, NULL, "magic_buffer: %s", why ? why : "failed");
        rc = -EIO;
    } else {
        n = strlen(type);
        if (n >= cap)
            n = cap - 1;
        memcpy(out, type, n);
        out[n] = '\0';
    }
    pthread_mutex_unlock(&magic_mu);
    return rc;
}

void fu_magic_close(struct fu_magic *m)
{
    if (!m->cookie)
        return;
    m->cookie = NULL;
    pthread_mutex_lock(&magic_mu);
    if (magic_refs > 0 && --magic_refs == 0) {
        magic_close(magic_cookie);
        magic_cookie = NULL;
    }
    pthread_mutex_unlock(&magic_mu);
}
