/*
 * test_splits.c - split invariance of the multipart parser.
 *
 * For every fixture tests/fixtures/multipart/NAME.{body,ct} and every
 * conformance vector ($CONFORMANCE_DIR, default tests/fixtures/conformance),
 * the callback transcript of the body fed whole must equal the transcript when
 * it is fed one byte at a time, cut once at every position, and cut twice at
 * every pair of positions (bodies up to TWO_CUT_ALL bytes; above that a
 * fixed pseudo-random sample of pairs plus the pairs around each delimiter).
 * Bodies above ONE_CUT_ALL bytes get every cut near a CR and near each end,
 * plus a sample, instead of every cut.
 *
 * A fixture's whole-body transcript must also equal NAME.expected, so that a
 * change of behaviour shows up as a diff. SPLITS_UPDATE=1 rewrites the
 * .expected files instead (review the diff before committing).
 *
 * Paths are relative to the repository root, where `make unit` runs the
 * tests. A missing fixture or conformance directory is a failure, not a skip.
 *
 * The transcript recorder is support/transcript.c (shared with
 * test_multipart.c).
 */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "multipart.h"
#include "support/transcript.h"

#define FIXTURE_DIR         "tests/fixtures/multipart"
#define CONFORMANCE_DEFAULT "tests/fixtures/conformance"
#define ONE_CUT_ALL         ((size_t)16 * 1024) /* every single cut up to this size */
#define ONE_CUT_SAMPLE      1500 /* random single cuts above it */
#define TWO_CUT_ALL         2048 /* every pair of cuts up to this size */
#define TWO_CUT_SAMPLE      6000 /* random pairs above it */

/* ---- feeding ---------------------------------------------------------------
 */

struct input {
    char name[256];
    char *ct;
    char *body;
    size_t len;
};

/*
 * The transcript of body fed in the pieces that cuts[0..ncuts) (ascending
 * offsets, each in 0..len) make; with step > 0, in pieces of step bytes.
 * Returns a malloc'd string.
 */
static char *transcript(const struct input *in, const size_t *cuts,
                        size_t ncuts, size_t step)
{
    struct transcript_rec r = {0};
    struct mp_parser p;
    size_t off = 0, k = 0;

    if (mp_parser_init(&p, in->ct, strlen(in->ct), NULL) == MP_OK) {
        p.data = &r;
        while (off < in->len) {
            size_t end;
            if (step)
                end = in->len - off > step ? off + step : in->len;
            else
                end = k < ncuts ? cuts[k++] : in->len;
            if (mp_parser_execute(&p, &transcript_cbs, in->body + off,
                                  end - off) != end - off)
                break;
            off = end;
        }
        mp_parser_finish(&p, &transcript_cbs);
    }
    transcript_result(&r, &p);
    return r.s;
}

/* The first line where a and b differ, for the failure message. */
static void first_diff(const char *a, const char *b, char *out, size_t cap)
{
    size_t line = 1;
    const char *la = a, *lb = b;
    while (*a && *a == *b) {
        if (*a == '\n') {
            line++;
            la = a + 1;
            lb = b + 1;
        }
        a++;
        b++;
    }
    snprintf(out, cap, "line %zu: '%.*s' vs '%.*s'", line,
             (int)strcspn(la, "\n"), la, (int)strcspn(lb, "\n"), lb);
}

/* Compare one feeding with the whole one; returns false on a difference
 * (reported on stdout, at most a few per input). */
static bool same(const struct input *in, const char *whole, const char *got,
                 const char *how, unsigned *reported)
{
    char diff[600];
    if (strcmp(whole, got) == 0)
        return true;
    if ((*reported)++ < 3) {
        first_diff(whole, got, diff, sizeof(diff));
        print_message("SPLIT VARIANCE %s: %s differs from whole at %s\n",
                      in->name, how, diff);
    }
    return false;
}

/* Deterministic xorshift64. */
static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Offsets worth cutting at in a big body: around every CR (delimiters and
 * header lines start there) and near both ends. */
static bool interesting(const struct input *in, size_t at)
{
    if (at < 256 || in->len - at < 256)
        return true;
    for (size_t k = at > 8 ? at - 8 : 0; k < at + 2 && k < in->len; k++)
        if (in->body[k] == '\r')
            return true;
    return false;
}

/* Whole == bytewise == every 1-cut == every (or sampled) 2-cut. Returns the
 * number of differing feedings. */
static unsigned check_input(const struct input *in, const char *whole)
{
    unsigned bad = 0, reported = 0;
    uint64_t seed = 0x9e3779b97f4a7c15ull ^ in->len;
    char how[96], *t;

    t = transcript(in, NULL, 0, 1);
    bad += !same(in, whole, t, "bytewise", &reported);
    free(t);
    t = transcript(in, NULL, 0, 7);
    bad += !same(in, whole, t, "7-byte pieces", &reported);
    free(t);

    for (size_t c = 1; c < in->len; c++) {
        if (in->len > ONE_CUT_ALL && !interesting(in, c) &&
            rng_next(&seed) % (in->len / ONE_CUT_SAMPLE + 1) != 0)
            continue;
        t = transcript(in, &c, 1, 0);
        snprintf(how, sizeof(how), "cut at %zu", c);
        bad += !same(in, whole, t, how, &reported);
        free(t);
    }

    if (in->len <= TWO_CUT_ALL) {
        for (size_t a = 1; a < in->len; a++)
            for (size_t b = a + 1; b < in->len; b++) {
                size_t cuts[2] = {a, b};
                t = transcript(in, cuts, 2, 0);
                snprintf(how, sizeof(how), "cuts at %zu,%zu", a, b);
                bad += !same(in, whole, t, how, &reported);
                free(t);
            }
    } else if (in->len > 2) {
        for (unsigned k = 0; k < TWO_CUT_SAMPLE; k++) {
            size_t a = 1 + rng_next(&seed) % (in->len - 1);
            size_t b = 1 + rng_next(&seed) % (in->len - 1);
            size_t cuts[2];
            if (k % 2 == 0) { /* a pair close together */
                b = a + 1 + rng_next(&seed) % 80;
                if (b >= in->len)
                    continue;
            }
            if (a == b)
                continue;
            cuts[0] = a < b ? a : b;
            cuts[1] = a < b ? b : a;
            t = transcript(in, cuts, 2, 0);
            snprintf(how, sizeof(how), "cuts at %zu,%zu", cuts[0], cuts[1]);
            bad += !same(in, whole, t, how, &reported);
            free(t);
        }
    }
    return bad;
}

/* ---- files --------------------------------------------------------------- */

/* Read a whole file; NULL (errno set) on failure. Adds a NUL after it. */
static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t n = 0, cap = 0;

    if (!f)
        return NULL;
    for (;;) {
        size_t r;
        if (cap - n < 2) {
            char *nb = realloc(buf, cap ? cap * 2 : 4096);
            if (!nb) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
            cap = cap ? cap * 2 : 4096;
        }
        r = fread(buf + n, 1, cap - n - 1, f);
        n += r;
        if (r == 0)
            break;
    }
    if (ferror(f)) {
        free(buf);
        fclose(f);
        errno = EIO;
        return NULL;
    }
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* A Content-Type file holds one line; the trailing newline is not part of
 * the value. */
static char *read_ct(const char *path)
{
    size_t len;
    char *s = read_file(path, &len);
    if (s) {
        while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r'))
            s[--len] = '\0';
    }
    return s;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted entries of dir whose names end with suffix (suffix removed),
 * or start with three digits and a dash when suffix is NULL. */
static char **list_dir(const char *dir, const char *suffix, size_t *n)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char **v = NULL;
    size_t cap = 0;

    *n = 0;
    if (!d) {
        fail_msg("cannot open %s: %s (run from the repository root; for "
                 "the vectors set CONFORMANCE_DIR)",
                 dir, strerror(errno));
        return NULL;
    }
    while ((de = readdir(d)) != NULL) {
        const char *nm = de->d_name;
        size_t l = strlen(nm), keep;
        if (suffix) {
            size_t sl = strlen(suffix);
            if (l <= sl || strcmp(nm + l - sl, suffix) != 0)
                continue;
            keep = l - sl;
        } else {
            if (l < 4 || nm[0] < '0' || nm[0] > '9' || nm[1] < '0' ||
                nm[1] > '9' || nm[2] < '0' || nm[2] > '9' || nm[3] != '-')
                continue;
            keep = l;
        }
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            v = realloc(v, cap * sizeof(*v));
            assert_non_null(v);
        }
        v[*n] = strndup(nm, keep);
        assert_non_null(v[*n]);
        (*n)++;
    }
    closedir(d);
    if (*n)
        qsort(v, *n, sizeof(*v), cmp_str);
    return v;
}

static void free_list(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* ---- tests -----------------------------------------------------------------
 */

static void test_fixtures(void **state)
{
    const char *update = getenv("SPLITS_UPDATE");
    size_t n, bad = 0;
    char **names = list_dir(FIXTURE_DIR, ".body", &n);
    (void)state;

    if (n < 10)
        fail_msg("only %zu fixtures in %s", n, FIXTURE_DIR);
    for (size_t i = 0; i < n; i++) {
        struct input in = {0};
        char path[512], *whole, *want;
        size_t wlen;
        unsigned diffs;

        snprintf(in.name, sizeof(in.name), "%s", names[i]);
        snprintf(path, sizeof(path), "%s/%s.body", FIXTURE_DIR, names[i]);
        in.body = read_file(path, &in.len);
        snprintf(path, sizeof(path), "%s/%s.ct", FIXTURE_DIR, names[i]);
        in.ct = read_ct(path);
        if (!in.body || !in.ct)
            fail_msg("%s: cannot read %s: %s", names[i], path, strerror(errno));
        whole = transcript(&in, NULL, 0, 0);

        snprintf(path, sizeof(path), "%s/%s.expected", FIXTURE_DIR, names[i]);
        if (update && strcmp(update, "1") == 0) {
            FILE *f = fopen(path, "w");
            assert_non_null(f);
            fputs(whole, f);
            assert_int_equal(fclose(f), 0);
            print_message("wrote %s\n", path);
        }
        want = read_file(path, &wlen);
        if (!want) {
            print_message("MISSING %s (SPLITS_UPDATE=1 writes it)\n", path);
            bad++;
        } else if (strcmp(want, whole) != 0) {
            char diff[600];
            first_diff(want, whole, diff, sizeof(diff));
            print_message("CHANGED %s: %s\n--- now:\n%s", path, diff, whole);
            bad++;
        }
        diffs = check_input(&in, whole);
        print_message("%-28s %5zu bytes: %s%s", names[i], in.len,
                      diffs ? "SPLIT VARIANCE, " : "",
                      strstr(whole, "result ") ? strstr(whole, "result ")
                                               : "?\n");
        bad += diffs;
        free(want);
        free(whole);
        free(in.body);
        free(in.ct);
    }
    free_list(names, n);
    if (bad)
        fail_msg("%zu fixture check(s) failed", bad);
}

static void test_conformance_vectors(void **state)
{
    const char *dir = getenv("CONFORMANCE_DIR");
    size_t n, bad = 0;
    char **names;
    (void)state;

    if (!dir || !*dir)
        dir = CONFORMANCE_DEFAULT;
    names = list_dir(dir, NULL, &n);
    if (n == 0)
        fail_msg("no vectors in %s", dir);
    for (size_t i = 0; i < n; i++) {
        struct input in = {0};
        char path[1024], *whole;
        unsigned diffs;

        snprintf(in.name, sizeof(in.name), "%s", names[i]);
        snprintf(path, sizeof(path), "%s/%s/body.bin", dir, names[i]);
        in.body = read_file(path, &in.len);
        snprintf(path, sizeof(path), "%s/%s/content_type.txt", dir, names[i]);
        in.ct = read_ct(path);
        if (!in.body || !in.ct)
            fail_msg("%s: cannot read %s: %s", names[i], path, strerror(errno));
        whole = transcript(&in, NULL, 0, 0);
        diffs = check_input(&in, whole);
        print_message("%-28.28s %6zu bytes: %s%s", names[i], in.len,
                      diffs ? "SPLIT VARIANCE, " : "",
                      strstr(whole, "result ") ? strstr(whole, "result ")
                                               : "?\n");
        bad += diffs;
        free(whole);
        free(in.body);
        free(in.ct);
    }
    free_list(names, n);
    if (bad)
        fail_msg("%zu vector feeding(s) differ from the whole feed", bad);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixtures),
        cmocka_unit_test(test_conformance_vectors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
