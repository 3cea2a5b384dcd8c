/*
 * replay_main.c - run files through LLVMFuzzerTestOneInput without libFuzzer,
 * so the corpus (and any crash file) replays in a gcc + ASan/UBSan build:
 *
 *     build/san/fuzz_replay tests/fuzz/corpus/FILE...   (make fuzz-replay)
 *
 * Each argument is a file, or a directory whose regular files are run in
 * name order. Exits 0 when every input ran (a failed invariant aborts), 1
 * when a file cannot be read, 2 without arguments.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Run one file. Returns 0, or -1 (message printed) when it cannot be read. */
static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    int rc = -1;

    if (!f) {
        fprintf(stderr, "fuzz_replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    for (;;) {
        size_t r;
        if (len == cap) {
            size_t ncap = cap ? cap * 2 : 4096;
            uint8_t *nb = realloc(buf, ncap);
            if (!nb) {
                fprintf(stderr, "fuzz_replay: %s: out of memory\n", path);
                goto out_close;
            }
            buf = nb;
            cap = ncap;
        }
        r = fread(buf + len, 1, cap - len, f);
        len += r;
        if (r == 0)
            break;
    }
    if (ferror(f)) {
        fprintf(stderr, "fuzz_replay: %s: read error\n", path);
        goto out_close;
    }
    LLVMFuzzerTestOneInput(buf, len);
    rc = 0;
out_close:
    fclose(f);
    free(buf);
    return rc;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Run the regular files of a directory in name order. Returns the number of
 * files that could not be read, or -1 when the directory cannot. */
static int run_dir(const char *dir, unsigned *count)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char **names = NULL;
    size_t n = 0, cap = 0;
    int bad = 0;

    if (!d) {
        fprintf(stderr, "fuzz_replay: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            char **nn = realloc(names, ncap * sizeof(*nn));
            if (!nn)
                break;
            names = nn;
            cap = ncap;
        }
        names[n] = strdup(de->d_name);
        if (names[n])
            n++;
    }
    closedir(d);
    if (n > 0)
        qsort(names, n, sizeof(*names), cmp_names);
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        struct stat st;
        if (snprintf(path, sizeof(path), "%s/%s", dir, names[i]) <
                (int)sizeof(path) &&
            stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            if (run_file(path) != 0)
                bad++;
            else
                (*count)++;
        }
        free(names[i]);
    }
    free(names);
    return bad;
}

int main(int argc, char **argv)
{
    unsigned count = 0;
    int bad = 0;

    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE_OR_DIR...\n", argv[0]);
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            int r = run_dir(argv[i], &count);
            bad += r < 0 ? 1 : r;
        } else if (run_file(argv[i]) != 0) {
            bad++;
        } else {
            count++;
        }
    }
    printf("fuzz_replay: %u input(s) ran, %d unreadable\n", count, bad);
    return bad ? 1 : 0;
}
