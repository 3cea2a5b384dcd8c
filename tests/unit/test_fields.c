/*
 * test_fields.c - form field validation: features, booleans, vad_threshold,
 * asr_backend, template_id, and the strict integer parser.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "fields.h"
#include "mp_limits.h"

#define S(lit) (lit), (sizeof(lit) - 1)

static char whymem[256];

static int add(struct feature_set *fs, const char *v)
{
    struct bbuf why;

    BBUF_INIT_ARRAY(&why, whymem);
    return feature_set_add(fs, v, strlen(v), &why);
}

static void test_features_forms(void **state)
{
    struct feature_set fs;

    (void)state;
    feature_set_init(&fs);
    assert_int_equal(add(&fs, "summary"), 0);
    assert_int_equal(fs.n, 1);
    assert_true(feature_set_has(&fs, FEATURE_SUMMARY));

    /* comma list, spaces, duplicates counted once, order kept */
    feature_set_init(&fs);
    assert_int_equal(add(&fs, " raw_transcript , summary,raw_transcript"), 0);
    assert_int_equal(fs.n, 2);
    assert_int_equal(fs.order[0], FEATURE_RAW_TRANSCRIPT);
    assert_int_equal(fs.order[1], FEATURE_SUMMARY);

    /* JSON array */
    feature_set_init(&fs);
    assert_int_equal(
        add(&fs, "[\"enhancement_metrics\", \"clean_transcript\"]"), 0);
    assert_int_equal(fs.n, 2);
    assert_int_equal(fs.order[0], FEATURE_ENHANCEMENT_METRICS);
    assert_int_equal(fs.order[1], FEATURE_CLEAN_TRANSCRIPT);

    /* repeated fields accumulate */
    assert_int_equal(add(&fs, "summary"), 0);
    assert_int_equal(fs.n, 3);

    /* empty value: unset, nothing added */
    assert_int_equal(add(&fs, "  "), 0);
    assert_int_equal(fs.n, 3);
    assert_string_equal(feature_name(FEATURE_SUMMARY), "summary");
    assert_null(feature_name(FEATURE__COUNT));
}

static void test_features_errors(void **state)
{
    struct feature_set fs, before;
    char many[512];
    struct bbuf b;
    int i;

    (void)state;
    feature_set_init(&fs);
    assert_int_equal(add(&fs, "raw_transcript"), 0);
    before = fs;

    assert_int_equal(add(&fs, "summary,bogus"), -EINVAL);
    assert_non_null(strstr(whymem, "unknown feature 'bogus'"));
    assert_memory_equal(&fs, &before, sizeof(fs));  /* unchanged on error */
    assert_int_equal(add(&fs, "Summary"), -EINVAL); /* names are exact */
    assert_int_equal(add(&fs, "summary,"), -EINVAL);
    assert_non_null(strstr(whymem, "empty"));
    assert_int_equal(add(&fs, "[]"), -EINVAL);
    assert_int_equal(add(&fs, "[\"summary\", 3]"), -EINVAL);
    assert_non_null(strstr(whymem, "strings"));
    assert_int_equal(add(&fs, "[\"summary\""), -EINVAL);
    assert_int_equal(add(&fs, "[\"summary\"] x"), -EINVAL);
    assert_int_equal(add(&fs, "{\"a\":1}"), -EINVAL);
    assert_int_equal(add(&fs, "[\"nope\"]"), -EINVAL);
    assert_memory_equal(&fs, &before, sizeof(fs));

    /* more than FU_FEATURES_MAX entries in all */
    BBUF_INIT_ARRAY(&b, many);
    for (i = 0; i < FU_FEATURES_MAX; i++)
        assert_int_equal(bbuf_append_str(&b, i ? ",summary" : "summary"), 0);
    feature_set_init(&fs);
    assert_int_equal(add(&fs, many), 0);
    assert_int_equal(add(&fs, "summary"), -EINVAL);
    assert_non_null(strstr(whymem, "too many"));

    /* no why buffer is fine */
    assert_int_equal(feature_set_add(&fs, S("x"), NULL), -EINVAL);
}

static void test_bool(void **state)
{
    static const char *const yes[] = {"true", "TRUE", "1", "yes", "On", " on"};
    static const char *const no[] = {"false", "False", "0", "no", "OFF"};
    static const char *const bad[] = {"",     "2",  "y",    "truth",
                                      "nope", "-1", "true1"};
    size_t i;
    bool b;

    (void)state;
    for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        b = false;
        assert_int_equal(parse_bool(yes[i], strlen(yes[i]), &b), 0);
        assert_true(b);
    }
    for (i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
        b = true;
        assert_int_equal(parse_bool(no[i], strlen(no[i]), &b), 0);
        assert_false(b);
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(parse_bool(bad[i], strlen(bad[i]), &b), -EINVAL);
}

static void test_vad_threshold(void **state)
{
    static const char *const good[] = {"0",    "1",      "0.5",   ".25", "1.0",
                                       "5e-1", "0.0000", " 0.3 ", "+0.7"};
    static const double val[] = {0, 1, 0.5, 0.25, 1, 0.5, 0, 0.3, 0.7};
    static const char *const bad[] = {"",    "-0.1", "1.01", "2",    "nan",
                                      "inf", "0x1",  "abc",  "0.5.", "1e",
                                      ".",   "e5",   "0,5",  "1 0"};
    size_t i;
    double d;

    (void)state;
    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        assert_int_equal(parse_unit_interval(good[i], strlen(good[i]), &d), 0);
        assert_true(d == val[i]);
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(parse_unit_interval(bad[i], strlen(bad[i]), &d),
                         -EINVAL);
}

static void test_backend(void **state)
{
    enum asr_backend b;

    (void)state;
    assert_int_equal(parse_asr_backend(S("whisper"), &b), 0);
    assert_int_equal(b, ASR_WHISPER);
    assert_int_equal(parse_asr_backend(S("CHUNKFORMER"), &b), 0);
    assert_int_equal(b, ASR_CHUNKFORMER);
    assert_int_equal(parse_asr_backend(S("Whisper "), &b), 0);
    assert_int_equal(parse_asr_backend(S("kaldi"), &b), -EINVAL);
    assert_int_equal(parse_asr_backend(S("whisperx"), &b), -EINVAL);
    assert_int_equal(parse_asr_backend(S(""), &b), -EINVAL);
    assert_string_equal(asr_backend_name(ASR_CHUNKFORMER), "chunkformer");
}

static void test_u64(void **state)
{
    uint64_t n;

    (void)state;
    assert_int_equal(parse_u64(S("0"), 10, &n), 0);
    assert_true(n == 0);
    assert_int_equal(parse_u64(S("18446744073709551615"), UINT64_MAX, &n), 0);
    assert_true(n == UINT64_MAX);
    assert_int_equal(parse_u64(S("18446744073709551616"), UINT64_MAX, &n),
                     -EINVAL);
    assert_int_equal(parse_u64(S("11"), 10, &n), -EINVAL);
    assert_int_equal(parse_u64(S("-1"), 10, &n), -EINVAL);
    assert_int_equal(parse_u64(S("+1"), 10, &n), -EINVAL);
    assert_int_equal(parse_u64(S("1 2"), 100, &n), -EINVAL);
    assert_int_equal(parse_u64(S(""), 10, &n), -EINVAL);
    assert_int_equal(parse_u64(S("0x10"), 100, &n), -EINVAL);
}

static void test_template_id(void **state)
{
    char long_id[FU_TEMPLATE_ID_MAX + 2];

    (void)state;
    assert_true(template_id_valid(S("tpl-1")));
    assert_true(template_id_valid(S("m\xc3\xa9t\xc3\xa9o summary")));
    assert_false(template_id_valid(S("")));
    assert_false(template_id_valid(S("   ")));
    assert_false(template_id_valid(S("a\nb")));
    assert_false(template_id_valid(S("a\x7f")));
    assert_false(template_id_valid(S("\xff")));
    memset(long_id, 'a', sizeof(long_id));
    assert_true(template_id_valid(long_id, FU_TEMPLATE_ID_MAX));
    assert_false(template_id_valid(long_id, FU_TEMPLATE_ID_MAX + 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_features_forms),
        cmocka_unit_test(test_features_errors),
        cmocka_unit_test(test_bool),
        cmocka_unit_test(test_vad_threshold),
        cmocka_unit_test(test_backend),
        cmocka_unit_test(test_u64),
        cmocka_unit_test(test_template_id),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
