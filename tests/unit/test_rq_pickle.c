/*
 * test_rq_pickle.c - the RQ job payload, checked against the real Python.
 *
 * test_python_agrees writes a few hundred jobs (pickle, zlib data,
 * description, and the inputs as JSON) into a temporary directory and runs
 * Debian's /usr/bin/python3 (RQ_TEST_PYTHON overrides; it must have
 * python3-rq) on them. For every job Python must find:
 *  - zlib.decompress(data) == our pickle, and data == zlib.compress(pickle)
 *    (what RQ's Job.to_dict() stores);
 *  - pickle.loads(pickle) equal, type for type and in key order, to
 *    (func_name, None, (args,), {});
 *  - our pickle byte for byte equal to CPython's protocol-2 pickle of that
 *    object made without memo (Pickler.fast);
 *  - our description equal to rq.utils.get_call_string(func_name, (args,),
 *    {}, max_length=75), which is what Job.create() stores.
 * The other tests need no Python: every short buffer, bad input, bounds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <zlib.h>

#include "rq_pickle.h"

#define FUNC       "src.worker.pipeline.process_audio_task"
#define PICKLE_CAP (1 << 20)
#define DESC_CAP   1024

static const char *const default_features[] = {"clean_transcript"};

static struct rq_task_args base_args(void)
{
    struct rq_task_args a = {
        .task_id = "0b6f3c5e-8a7d-4f2b-9c1e-2d3a4b5c6d7e",
        .audio_path = "/srv/audio/0b6f3c5e-8a7d-4f2b-9c1e-2d3a4b5c6d7e/raw.wav",
        .features = default_features,
        .n_features = 1,
        .template_id = NULL,
        .asr_backend = "whisper",
        .enable_diarization = false,
        .enable_vad = true,
        .vad_threshold = 0.5,
        .redis_host = "localhost",
        .redis_port = 6379,
        .redis_db = 1,
        .correlation_id = NULL,
    };
    return a;
}

/* ---- writing the cases for Python -------------------------------------- */

struct casedir {
    char dir[256];
    FILE *list; /* cases.jsonl: one JSON object per case */
    unsigned n;
    unsigned char *pk, *data;
    char desc[DESC_CAP];
};

static void write_file(const struct casedir *cd, unsigned i, const char *ext,
                       const void *p, size_t n)
{
    char path[320];
    FILE *f;

    snprintf(path, sizeof path, "%s/%u.%s", cd->dir, i, ext);
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* Pickle, compress and describe a, and record the inputs for Python. */
static void add_case(struct casedir *cd, const struct rq_task_args *a)
{
    size_t plen, dlen, desclen, i;
    char hex[64];
    json_t *o, *args, *feats;
    char *line;

    assert_int_equal(rq_pickle_job(FUNC, a, cd->pk, PICKLE_CAP, &plen), 0);
    assert_true(rq_zlib_bound(plen) <= PICKLE_CAP);
    assert_int_equal(
        rq_zlib_compress(cd->pk, plen, cd->data, PICKLE_CAP, &dlen), 0);
    assert_int_equal(
        rq_job_description(FUNC, a, cd->desc, sizeof cd->desc, &desclen), 0);
    assert_int_equal(strlen(cd->desc), desclen);

    write_file(cd, cd->n, "pickle", cd->pk, plen);
    write_file(cd, cd->n, "data", cd->data, dlen);
    write_file(cd, cd->n, "desc", cd->desc, desclen);

    feats = json_array();
    for (i = 0; i < a->n_features; i++)
        json_array_append_new(feats, json_string(a->features[i]));
    /* %a is exact; Python reads it with float.fromhex() */
    snprintf(hex, sizeof hex, "%a", a->vad_threshold);
    args = json_object();
    json_object_set_new(args, "task_id", json_string(a->task_id));
    json_object_set_new(args, "audio_path", json_string(a->audio_path));
    json_object_set_new(args, "features", feats);
    json_object_set_new(args, "template_id", str_or_null(a->template_id));
    json_object_set_new(args, "asr_backend", json_string(a->asr_backend));
    json_object_set_new(args, "enable_diarization",
                        json_boolean(a->enable_diarization));
    json_object_set_new(args, "enable_vad", json_boolean(a->enable_vad));
    json_object_set_new(args, "vad_threshold", json_string(hex));
    json_object_set_new(args, "redis_host", json_string(a->redis_host));
    json_object_set_new(args, "redis_port", json_integer(a->redis_port));
    json_object_set_new(args, "redis_db", json_integer(a->redis_db));
    json_object_set_new(args, "correlation_id", str_or_null(a->correlation_id));
    o = json_object();
    json_object_set_new(o, "case", json_integer(cd->n));
    json_object_set_new(o, "func", json_string(FUNC));
    json_object_set_new(o, "args", args);
    line = json_dumps(o, JSON_COMPACT);
    assert_non_null(line);
    fprintf(cd->list, "%s\n", line);
    free(line);
    json_decref(o);
    cd->n++;
}

/* Checks every case in the directory given as argv[1]; prints one line per
 * failure and "python: N jobs agree" at the end; exit 1 on any failure. */
static const char py_checker[] =
    "import io, json, pickle, struct, sys, zlib\n"
    "from rq.utils import get_call_string\n"
    "from rq.serializers import DefaultSerializer\n"
    "def same(a, b):\n"
    "    if type(a) is not type(b):\n"
    "        return False\n"
    "    if isinstance(a, dict):\n"
    "        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)\n"
    "    if isinstance(a, (list, tuple)):\n"
    "        return len(a) == len(b) and all(map(same, a, b))\n"
    "    if isinstance(a, float):\n"
    "        return struct.pack('>d', a) == struct.pack('>d', b)\n"
    "    return a == b\n"
    "d = sys.argv[1]\n"
    "bad = n = 0\n"
    "for line in open(d + '/cases.jsonl', encoding='utf-8'):\n"
    "    c = json.loads(line)\n"
    "    i, args = c['case'], c['args']\n"
    "    args['vad_threshold'] = float.fromhex(args['vad_threshold'])\n"
    "    obj = (c['func'], None, (args,), {})\n"
    "    rd = lambda e: open('%s/%d.%s' % (d, i, e), 'rb').read()\n"
    "    pk, data, desc = rd('pickle'), rd('data'), rd('desc').decode()\n"
    "    f = io.BytesIO(); p = pickle.Pickler(f, 2); p.fast = True\n"
    "    p.dump(obj)\n"
    "    why = []\n"
    "    if zlib.decompress(data) != pk: why.append('zlib round trip')\n"
    "    if data != zlib.compress(pk): why.append('zlib bytes')\n"
    "    if not same(DefaultSerializer.loads(pk), obj): why.append('loads')\n"
    "    if pk != f.getvalue(): why.append('pickle bytes')\n"
    "    want = get_call_string(c['func'], (args,), {}, max_length=75)\n"
    "    if desc != want:\n"
    "        why.append('description %r != %r' % (desc, want))\n"
    "    if why:\n"
    "        bad += 1; print('case %d: %s' % (i, '; '.join(why)))\n"
    "    n += 1\n"
    "print('python: %d jobs agree, %d differ' % (n - bad, bad))\n"
    "sys.exit(1 if bad or n == 0 else 0)\n";

static int run_python(const char *dir)
{
    const char *py = getenv("RQ_TEST_PYTHON");
    char cmd[512];
    FILE *p;
    int st;

    if (!py || !*py)
        py = "/usr/bin/python3"; /* Debian's, with python3-rq */
    snprintf(cmd, sizeof cmd, "'%s' - '%s'", py, dir);
    p = popen(cmd, "w");
    if (!p)
        return -1;
    fputs(py_checker, p);
    st = pclose(p);
    return st;
}

static void remove_cases(struct casedir *cd)
{
    char path[320];
    static const char *const exts[] = {"pickle", "data", "desc"};
    unsigned i, k;

    for (i = 0; i < cd->n; i++)
        for (k = 0; k < 3; k++) {
            snprintf(path, sizeof path, "%s/%u.%s", cd->dir, i, exts[k]);
            unlink(path);
        }
    snprintf(path, sizeof path, "%s/cases.jsonl", cd->dir);
    unlink(path);
    rmdir(cd->dir);
}

static void add_int_cases(struct casedir *cd)
{
    static const int64_t ints[] = {0,
                                   1,
                                   255,
                                   256,
                                   6379,
                                   65535,
                                   65536,
                                   -1,
                                   -128,
                                   -129,
                                   -255,
                                   -256,
                                   -32768,
                                   -65536,
                                   INT32_MAX,
                                   INT32_MIN,
                                   (int64_t)INT32_MAX + 1,
                                   (int64_t)INT32_MIN - 1,
                                   (int64_t)1 << 39,
                                   -((int64_t)1 << 39),
                                   ((int64_t)1 << 39) - 1,
                                   -((int64_t)1 << 39) - 1,
                                   (int64_t)0x7fffffffffff,
                                   INT64_MAX,
                                   INT64_MIN,
                                   INT64_MIN + 1};
    struct rq_task_args a = base_args();
    size_t i, n = sizeof ints / sizeof ints[0];

    for (i = 0; i < n; i++) {
        a.redis_port = ints[i];
        a.redis_db = ints[n - 1 - i];
        add_case(cd, &a);
    }
}

static void add_float_cases(struct casedir *cd)
{
    static const double fl[] = {0.0,
                                -0.0,
                                0.5,
                                1.0,
                                0.1,
                                1.0 / 3,
                                0.0001,
                                0.00001,
                                1.5e-7,
                                123.0,
                                1e15,
                                1e16,
                                1.5e16,
                                9007199254740993.0,
                                1234567890123456.7,
                                1e300,
                                -2.5e-300,
                                5e-324,
                                1.7976931348623157e308,
                                INFINITY,
                                -INFINITY,
                                NAN};
    struct rq_task_args a = base_args();
    size_t i;

    /* short strings, so the float falls inside the 75 described chars */
    a.task_id = "t";
    a.audio_path = "";
    a.features = NULL;
    a.n_features = 0;
    a.template_id = NULL;
    for (i = 0; i < sizeof fl / sizeof fl[0]; i++) {
        a.vad_threshold = fl[i];
        add_case(cd, &a);
    }
}

/* The 75-character cut, swept across ASCII, escapes and multi-byte text. */
static void add_cut_cases(struct casedir *cd)
{
    static const char *const units[] = {
        "a",    "\xc3\xa9",         "\n",       "\\",          "'",
        "\x01", "\xf0\x9f\x8e\xa4", "\xc2\xa0", "\xe2\x80\xa8"};
    struct rq_task_args a = base_args();
    char id[8 * 80 + 1];
    size_t u, k, len;

    for (u = 0; u < sizeof units / sizeof units[0]; u++)
        for (k = 0; k <= 70; k += (u == 0 ? 1 : 7)) {
            size_t ul = strlen(units[u]), j;
            len = 0;
            for (j = 0; j < k; j++) {
                memcpy(id + len, units[u], ul);
                len += ul;
            }
            id[len] = '\0';
            a.task_id = id;
            a.audio_path = "";
            add_case(cd, &a);
        }
}

static void add_string_cases(struct casedir *cd)
{
    static const char *const feats3[] = {"raw_transcript", "summary",
                                         "enhancement_metrics"};
    static const char *const feats_dup[] = {"x", "x", "", ""};
    static const char *const odd[] = {
        "it's",
        "say \"hi\"",
        "both ' and \"",
        "back\\slash",
        "tab\there\r\nnl",
        "del\x7f ctl\x1f",
        "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x8e\xa4",
        "nbsp\xc2\xa0shy\xc2\xad ls\xe2\x80\xa8 bom\xef\xbb\xbf",
        "c1\xc2\x85 pua\xee\x80\x80 nonchar\xef\xbf\xbe",
        "",
    };
    struct rq_task_args a = base_args();
    static char big[70001];
    static char mid[301];
    size_t i;

    add_case(cd, &a); /* the usual job */

    a.features = feats3;
    a.n_features = 3;
    a.template_id = "meeting-notes-v2";
    a.correlation_id = "req-7f1c2a";
    a.enable_diarization = true;
    a.enable_vad = false;
    a.asr_backend = "chunkformer";
    add_case(cd, &a);

    a.features = NULL;
    a.n_features = 0;
    add_case(cd, &a);

    a.features = feats_dup; /* shared objects on Python's side */
    a.n_features = 4;
    add_case(cd, &a);

    for (i = 0; i < sizeof odd / sizeof odd[0]; i++) {
        a = base_args();
        a.task_id = odd[i];
        a.template_id = odd[i];
        a.correlation_id = odd[i];
        add_case(cd, &a);
        a.task_id = "t";
        a.audio_path = odd[i];
        add_case(cd, &a);
    }

    /* BINUNICODE lengths past one byte and past 64 KiB */
    memset(mid, 'm', sizeof mid - 1);
    memset(big, 'b', sizeof big - 1);
    a = base_args();
    a.template_id = mid;
    a.audio_path = big;
    add_case(cd, &a);
}

/* More features than CPython's batch of 1000 per APPENDS. */
static void add_batch_cases(struct casedir *cd)
{
    static const size_t counts[] = {2, 999, 1000, 1001, 2000, 2001};
    static char names[2001][8];
    static const char *ptrs[2001];
    struct rq_task_args a = base_args();
    size_t i;

    for (i = 0; i < 2001; i++) {
        snprintf(names[i], sizeof names[i], "f%04zu", i);
        ptrs[i] = names[i];
    }
    a.features = ptrs;
    for (i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        a.n_features = counts[i];
        add_case(cd, &a);
    }
}

static void test_python_agrees(void **state)
{
    struct casedir cd = {.n = 0};
    const char *tmp = getenv("TMPDIR");
    char path[320];
    int st;

    (void)state;
    snprintf(cd.dir, sizeof cd.dir, "%s/rq_pickle.XXXXXX",
             tmp && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(cd.dir));
    snprintf(path, sizeof path, "%s/cases.jsonl", cd.dir);
    cd.list = fopen(path, "w");
    assert_non_null(cd.list);
    cd.pk = malloc(PICKLE_CAP);
    cd.data = malloc(PICKLE_CAP);
    assert_non_null(cd.pk);
    assert_non_null(cd.data);

    add_string_cases(&cd);
    add_int_cases(&cd);
    add_float_cases(&cd);
    add_cut_cases(&cd);
    add_batch_cases(&cd);
    assert_int_equal(fclose(cd.list), 0);

    st = run_python(cd.dir);
    remove_cases(&cd);
    free(cd.pk);
    free(cd.data);
    assert_int_equal(st, 0);
}

/* ---- no Python needed ---------------------------------------------------- */

/* Every cap below the size: -ENOBUFS, the size reported, nothing written
 * past the cap; the exact cap: the same bytes as a roomy buffer. */
static void test_pickle_every_short_cap(void **state)
{
    static const char *const feats[] = {"raw_transcript", "summary"};
    struct rq_task_args a = base_args();
    unsigned char full[4096], buf[4096 + 16];
    size_t need, len, cap, i;

    (void)state;
    a.features = feats;
    a.n_features = 2;
    a.correlation_id = "req-1";
    a.redis_db = INT64_MIN;
    assert_int_equal(rq_pickle_job(FUNC, &a, NULL, 0, &need), -ENOBUFS);
    assert_true(need > 100 && need < sizeof full);
    assert_int_equal(rq_pickle_job(FUNC, &a, full, sizeof full, &len), 0);
    assert_int_equal(len, need);
    assert_int_equal(full[0], 0x80);
    assert_int_equal(full[need - 1], '.');

    for (cap = 0; cap <= need; cap++) {
        memset(buf, 0xa5, sizeof buf);
        int rc = rq_pickle_job(FUNC, &a, buf, cap, &len);
        assert_int_equal(len, need);
        if (cap < need) {
            assert_int_equal(rc, -ENOBUFS);
        } else {
            assert_int_equal(rc, 0);
            assert_memory_equal(buf, full, need);
        }
        for (i = cap; i < sizeof buf; i++)
            assert_int_equal(buf[i], 0xa5);
    }
}

static void test_pickle_bad_input(void **state)
{
    static const char *const bad_feat[] = {"ok", NULL};
    static const char *const bad_utf8[] = {"\xc3("};
    struct rq_task_args a;
    unsigned char buf[2048];
    char desc[DESC_CAP];
    size_t len = 99;

    (void)state;
    a = base_args();
    assert_int_equal(rq_pickle_job(NULL, &a, buf, sizeof buf, &len), -EINVAL);
    assert_int_equal(len, 0);
    assert_int_equal(rq_pickle_job(FUNC, NULL, buf, sizeof buf, &len), -EINVAL);
    a.task_id = NULL;
    assert_int_equal(rq_pickle_job(FUNC, &a, buf, sizeof buf, &len), -EINVAL);
    assert_int_equal(rq_job_description(FUNC, &a, desc, sizeof desc, &len),
                     -EINVAL);
    a = base_args();
    a.redis_host = NULL;
    assert_int_equal(rq_pickle_job(FUNC, &a, buf, sizeof buf, &len), -EINVAL);
    a = base_args();
    a.features = bad_feat;
    a.n_features = 2;
    assert_int_equal(rq_pickle_job(FUNC, &a, buf, sizeof buf, &len), -EINVAL);
    assert_int_equal(rq_job_description(FUNC, &a, desc, sizeof desc, &len),
                     -EINVAL);
    a.features = NULL;
    assert_int_equal(rq_pickle_job(FUNC, &a, buf, sizeof buf, &len), -EINVAL);

    /* invalid UTF-8: Python could not unpickle it; reported even when
     * measuring */
    a = base_args();
    a.audio_path = "/srv/\xff.wav";
    assert_int_equal(rq_pickle_job(FUNC, &a, NULL, 0, &len), -EILSEQ);
    assert_int_equal(rq_job_description(FUNC, &a, desc, sizeof desc, &len),
                     -EILSEQ);
    assert_string_equal(desc, "");
    a = base_args();
    a.features = bad_utf8;
    assert_int_equal(rq_pickle_job(FUNC, &a, buf, sizeof buf, &len), -EILSEQ);
    a = base_args();
    a.correlation_id = "\xed\xa0\x80"; /* a surrogate */
    assert_int_equal(rq_pickle_job(FUNC, &a, buf, sizeof buf, &len), -EILSEQ);
    a = base_args();
    assert_int_equal(rq_pickle_job("f\xc0\xaf", &a, buf, sizeof buf, &len),
                     -EILSEQ);
}

static void test_description(void **state)
{
    static const char want[] =
        FUNC "({'task_id': '0b6f3c5e-8a7d-4f2b-9c1e-2d3a4b5c6d7e', "
             "'audio_path': '/srv/aud...)";
    struct rq_task_args a = base_args();
    char desc[DESC_CAP], small[sizeof want];
    size_t len, cap;

    (void)state;
    assert_int_equal(rq_job_description(FUNC, &a, desc, sizeof desc, &len), 0);
    assert_string_equal(desc, want);
    assert_int_equal(len, sizeof want - 1);
    for (cap = 0; cap < sizeof want; cap++) {
        memset(small, 'x', sizeof small);
        assert_int_equal(rq_job_description(FUNC, &a, small, cap, &len),
                         -ENOBUFS);
        assert_int_equal(len, 0);
        if (cap)
            assert_int_equal(small[0], '\0');
    }
    assert_int_equal(rq_job_description(FUNC, &a, small, sizeof small, &len),
                     0);
    assert_string_equal(small, want);
}

/* The bound in the header holds for 75 four-byte characters. */
static void test_description_bound(void **state)
{
    struct rq_task_args a = base_args();
    char id[4 * 100 + 1],
        desc[sizeof FUNC - 1 + 2 + 4 * (size_t)RQ_DESCRIPTION_ARG_MAX + 4];
    size_t i, len;

    (void)state;
    for (i = 0; i < 100; i++)
        memcpy(id + 4 * i, "\xf0\x9f\x8e\xa4", 4);
    id[400] = '\0';
    a.task_id = id;
    assert_int_equal(rq_job_description(FUNC, &a, desc, sizeof desc, &len), 0);
    /* "{'task_id': '" is 13 characters, then 62 emoji */
    assert_int_equal(len, strlen(FUNC) + 1 + 13 + (size_t)62 * 4 + 3 + 1);
}

static void test_zlib(void **state)
{
    struct rq_task_args a = base_args();
    unsigned char pk[2048], z[2048], back[2048];
    size_t plen, zlen, zlen2, cap;
    uLongf blen = sizeof back;

    (void)state;
    assert_int_equal(rq_pickle_job(FUNC, &a, pk, sizeof pk, &plen), 0);
    assert_true(rq_zlib_bound(plen) >= compressBound(plen));
    assert_int_equal(rq_zlib_bound(plen), compressBound(plen));
    assert_int_equal(rq_zlib_compress(pk, plen, z, sizeof z, &zlen), 0);
    assert_int_equal(z[0], 0x78); /* zlib header, deflate 32K window */
    assert_int_equal(uncompress(back, &blen, z, zlen), Z_OK);
    assert_int_equal(blen, plen);
    assert_memory_equal(back, pk, plen);
    for (cap = 0; cap < zlen; cap += 7)
        assert_int_equal(rq_zlib_compress(pk, plen, z, cap, &zlen2), -ENOBUFS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pickle_every_short_cap),
        cmocka_unit_test(test_pickle_bad_input),
        cmocka_unit_test(test_description),
        cmocka_unit_test(test_description_bound),
        cmocka_unit_test(test_zlib),
        cmocka_unit_test(test_python_agrees),
    };
    return cmocka_run_group_tests_name("rq_pickle", tests, NULL, NULL);
}
