/*
 * min_responder.c - the ceiling for `make bench`: the least a libfcgi
 * responder can do with an upload. Reads stdin in 64 KB chunks with
 * FCGX_GetStr into one buffer and either discards it (`discard`) or writes
 * it to one file per request in DIR (`write DIR`, with fsync), then answers
 * 200 with the byte count. No parsing, no hashing, no checks.
 */
#include <errno.h>
#include <fcgiapp.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHUNK (64 * 1024)

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

int main(int argc, char **argv)
{
    static char buf[CHUNK];
    const char *dir = argc > 2 && strcmp(argv[1], "write") == 0 ? argv[2] : NULL;
    FCGX_Request req;
    unsigned long n = 0;

    if (argc < 2 || (strcmp(argv[1], "discard") != 0 && !dir)) {
        (void)fprintf(stderr, "usage: min_responder discard | write DIR\n");
        return 2;
    }
    if (FCGX_Init() != 0 || FCGX_InitRequest(&req, 0, 0) != 0)
        return 1;
    while (FCGX_Accept_r(&req) >= 0) {
        unsigned long long total = 0;
        int fd = -1, got;
        char path[4096];
        if (dir) {
            (void)snprintf(path, sizeof(path), "%s/upload.%lu", dir, n++);
            fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        }
        while ((got = FCGX_GetStr(buf, CHUNK, req.in)) > 0) {
            total += (unsigned long long)got;
            if (fd >= 0 && write_all(fd, buf, (size_t)got) != 0)
                break;
        }
        if (fd >= 0) {
            (void)fsync(fd);
            (void)close(fd);
            (void)unlink(path);
        }
        FCGX_FPrintF(req.out,
                     "Status: 200 OK\r\nContent-Type: application/json\r\n\r\n"
                     "{\"bytes\":%llu}\n",
                     total);
        FCGX_Finish_r(&req);
    }
    return 0;
}
