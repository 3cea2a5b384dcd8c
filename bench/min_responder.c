/*
 * min_responder.c - the ceilings for `make bench`: the least a FastCGI
 * responder can do with an upload. No parsing, no hashing, no checks; every
 * request (any path) is answered 200 with {"bytes":N}, N the body bytes.
 *
 *   min_responder discard        libfcgi: FCGX_GetStr into one 64 KiB
 *                                buffer, bytes dropped
 *   min_responder write DIR      libfcgi, the same reads written to one file
 *                                per request in DIR, fsync before the answer
 *   min_responder raw-discard    no libfcgi: the FastCGI records are read
 *                                from the socket RAW_BUF bytes at a time
 *                                and de-framed in place, bytes dropped
 *
 * `raw-discard` is what lifting libfcgi's limit would give: libfcgi reads
 * the socket through a fixed 8 KiB stream buffer (NewReader(.., 8192, ..)
 * in fcgiapp.c), so a body costs one read(2) per 8 KiB plus a copy into the
 * caller's buffer, whatever size the caller asks for. The raw mode serves
 * one request per connection (nginx's fastcgi_keep_conn off), ignores
 * FCGI_PARAMS, and is only as careful as a benchmark needs to be.
 *
 * The listening socket is fd 0, as spawn-fcgi passes it. Write mode files
 * are named DIR/upload.PID.N and removed after the answer is sent.
 */
#include <errno.h>
#include <fcgiapp.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define CHUNK   ((size_t)64 * 1024)
#define RAW_BUF ((size_t)1024 * 1024)

/* FastCGI record types and header size (FastCGI specification, 1996) */
#define FCGI_HEADER_LEN  8
#define FCGI_END_REQUEST 3
#define FCGI_STDIN       5
#define FCGI_STDOUT      6

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* ---- libfcgi modes --------------------------------------------------------
 */

static int serve_libfcgi(const char *dir)
{
    static char buf[CHUNK];
    FCGX_Request req;
    unsigned long n = 0;

    if (FCGX_Init() != 0 || FCGX_InitRequest(&req, 0, 0) != 0)
        return 1;
    while (FCGX_Accept_r(&req) >= 0) {
        unsigned long long total = 0;
        int fd = -1, got, failed = 0;
        char path[4096];
        if (dir) {
            (void)snprintf(path, sizeof(path), "%s/upload.%ld.%lu", dir,
                           (long)getpid(), n++);
            fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
            failed = fd < 0;
        }
        while ((got = FCGX_GetStr(buf, (int)CHUNK, req.in)) > 0) {
            total += (unsigned long long)got;
            if (fd >= 0 && !failed && write_all(fd, buf, (size_t)got) != 0)
                failed = 1;
        }
        if (fd >= 0 && fsync(fd) != 0)
            failed = 1;
        if (fd >= 0)
            (void)close(fd);
        if (failed)
            FCGX_FPrintF(req.out, "Status: 500 Internal Server Error\r\n"
                                  "Content-Type: text/plain\r\n\r\nfailed\n");
        else
            FCGX_FPrintF(req.out,
                         "Status: 200 OK\r\nContent-Type: application/json\r\n"
                         "\r\n{\"bytes\":%llu}\n",
                         total);
        FCGX_Finish_r(&req);
        if (fd >= 0) /* after the answer: not part of the timed request */
            (void)unlink(path);
    }
    return 0;
}

/* ---- raw mode: FastCGI records without libfcgi -------------------------- */

/* Append one record header for request id `id` to out. */
static size_t put_header(unsigned char *out, int type, unsigned id,
                         unsigned len)
{
    out[0] = 1; /* FCGI_VERSION_1 */
    out[1] = (unsigned char)type;
    out[2] = (unsigned char)(id >> 8);
    out[3] = (unsigned char)id;
    out[4] = (unsigned char)(len >> 8);
    out[5] = (unsigned char)len;
    out[6] = 0; /* padding */
    out[7] = 0;
    return FCGI_HEADER_LEN;
}

/* Answer request `id` on fd: one STDOUT record, its end, END_REQUEST. */
static int raw_answer(int fd, unsigned id, unsigned long long total)
{
    unsigned char out[512];
    char body[256];
    size_t n = 0;
    int len;

    len = snprintf(body, sizeof(body),
                   "Status: 200 OK\r\nContent-Type: application/json\r\n\r\n"
                   "{\"bytes\":%llu}\n",
                   total);
    if (len < 0 || (size_t)len >= sizeof(body))
        return -1;
    n += put_header(out + n, FCGI_STDOUT, id, (unsigned)len);
    memcpy(out + n, body, (size_t)len);
    n += (size_t)len;
    n += put_header(out + n, FCGI_STDOUT, id, 0);
    n += put_header(out + n, FCGI_END_REQUEST, id, 8);
    memset(out + n, 0, 8); /* appStatus 0, FCGI_REQUEST_COMPLETE */
    n += 8;
    return write_all(fd, (const char *)out, n);
}

/*
 * Serve one connection: read RAW_BUF bytes at a time and walk the records in
 * place. A record's content may span reads: `left` counts what is still to
 * come of the current record (content and padding), so no byte is copied.
 * Returns 0 after answering, -1 on a read error or a short connection.
 */
static int raw_conn(int fd, char *buf)
{
    unsigned char hdr[FCGI_HEADER_LEN];
    size_t hdr_have = 0, left = 0, pad = 0;
    int type = 0;
    unsigned id = 1;
    unsigned long long total = 0;

    for (;;) {
        ssize_t got = read(fd, buf, RAW_BUF);
        size_t pos = 0;
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return -1;
        while (pos < (size_t)got) {
            size_t avail = (size_t)got - pos, take;
            if (left == 0 && pad == 0) { /* in a header */
                take = FCGI_HEADER_LEN - hdr_have;
                take = take < avail ? take : avail;
                memcpy(hdr + hdr_have, buf + pos, take);
                hdr_have += take;
                pos += take;
                if (hdr_have < FCGI_HEADER_LEN)
                    continue;
                hdr_have = 0;
                type = hdr[1];
                id = (unsigned)hdr[2] << 8 | hdr[3];
                left = (size_t)hdr[4] << 8 | hdr[5];
                pad = hdr[6];
                if (type == FCGI_STDIN && left == 0)
                    return raw_answer(fd, id, total);
                continue;
            }
            if (left > 0) { /* content: counted if it is stdin */
                take = left < avail ? left : avail;
                if (type == FCGI_STDIN)
                    total += take;
                left -= take;
            } else { /* padding */
                take = pad < avail ? pad : avail;
                pad -= take;
            }
            pos += take;
        }
    }
}

static int serve_raw(void)
{
    char *buf = malloc(RAW_BUF);

    if (!buf)
        return 1;
    for (;;) {
        int fd = accept4(0, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0 && errno == EINTR)
            continue;
        if (fd < 0)
            break;
        (void)raw_conn(fd, buf);
        (void)close(fd);
    }
    free(buf);
    return 1;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";

    if (argc == 2 && strcmp(mode, "discard") == 0)
        return serve_libfcgi(NULL);
    if (argc == 3 && strcmp(mode, "write") == 0)
        return serve_libfcgi(argv[2]);
    if (argc == 2 && strcmp(mode, "raw-discard") == 0)
        return serve_raw();
    (void)fprintf(stderr,
                  "usage: min_responder discard | write DIR | raw-discard\n");
    return 2;
}
