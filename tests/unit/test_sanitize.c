/*
 * test_sanitize.c - filename sanitising, X-Request-ID and UUID checks.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "mp_limits.h"
#include "sanitize.h"
#include "utf8.h"

static char out[FU_FILENAME_MAX + 1];

static const char *san(const char *in, size_t len)
{
    size_t n = filename_sanitize(in, len, out, sizeof(out));

    assert_int_equal(n, strlen(out));
    assert_true(utf8_valid(out, n));
    return out;
}
#define SAN(lit) san((lit), sizeof(lit) - 1)

static void test_directories_stripped(void **state)
{
    (void)state;
    assert_string_equal(SAN("a.wav"), "a.wav");
    assert_string_equal(SAN("/etc/passwd"), "passwd");
    assert_string_equal(SAN("../../x.wav"), "x.wav");
    assert_string_equal(SAN("C:\\Users\\me\\talk.mp3"), "talk.mp3");
    assert_string_equal(SAN("dir/"), "");
    assert_string_equal(SAN(".."), "");
    assert_string_equal(SAN("."), "");
    assert_string_equal(SAN("a/.."), "");
    assert_string_equal(SAN("...wav"), "...wav");
    assert_string_equal(SAN(""), "");
}

static void test_control_and_utf8(void **state)
{
    (void)state;
    assert_string_equal(SAN("a\r\nb\tc\x7f.wav"), "abc.wav");
    assert_string_equal(SAN("nul\0byte.wav"), "nulbyte.wav");
    /* C1 control U+0085 and bidi override U+202E are dropped */
    assert_string_equal(SAN("a\xc2\x85"
                            "b\xe2\x80\xae"
                            "c"),
                        "abc");
    /* valid UTF-8 kept, invalid bytes replaced */
    assert_string_equal(SAN("m\xc3\xa9t\xc3\xa9o.wav"),
                        "m\xc3\xa9t\xc3\xa9o.wav");
    assert_string_equal(SAN("bad\xff\xfe.wav"), "bad__.wav");
    assert_string_equal(SAN("\xc0\xaf.wav"), "__.wav"); /* overlong '/' */
    assert_string_equal(SAN("\xed\xa0\x80"), "___");    /* surrogate */
    assert_string_equal(SAN("  spaced name.wav  "), "spaced name.wav");
}

static void test_length_cap(void **state)
{
    char in[600], small[8];
    size_t i, n;

    (void)state;
    memset(in, 'a', sizeof(in));
    n = filename_sanitize(in, sizeof(in), out, sizeof(out));
    assert_int_equal(n, FU_FILENAME_MAX);
    /* multi-byte characters are never split at the cap */
    for (i = 0; i + 2 <= sizeof(in); i += 2) {
        in[i] = '\xc3';
        in[i + 1] = '\xa9';
    }
    n = filename_sanitize(in, sizeof(in), out, sizeof(out));
    assert_int_equal(n, FU_FILENAME_MAX - 1); /* 254: 127 two-byte chars */
    assert_true(utf8_valid(out, n));
    n = filename_sanitize("\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac", 9, small,
                          sizeof(small));
    assert_int_equal(n, 6);
    assert_int_equal(filename_sanitize("abc", 3, small, 1), 0);
    assert_string_equal(small, "");
}

static void test_request_id(void **state)
{
    char long_id[FU_REQUEST_ID_MAX + 1];

    (void)state;
    assert_true(request_id_valid("abc-123_x.y:z", 13));
    assert_true(request_id_valid("b64+/=", 6));
    assert_false(request_id_valid("", 0));
    assert_false(request_id_valid("a b", 3));
    assert_false(request_id_valid("a\r\nX-Evil: 1", 13));
    assert_false(request_id_valid("a\"b", 3));
    assert_false(request_id_valid("\xc3\xa9", 2));
    memset(long_id, 'a', sizeof(long_id));
    assert_true(request_id_valid(long_id, FU_REQUEST_ID_MAX));
    assert_false(request_id_valid(long_id, FU_REQUEST_ID_MAX + 1));
}

static void test_uuid(void **state)
{
    (void)state;
    assert_true(uuid_text_valid("0f8fad5b-d9cb-469f-a165-70867728950e", 36));
    assert_true(uuid_text_valid("0F8FAD5B-D9CB-469F-A165-70867728950E", 36));
    assert_false(uuid_text_valid("0f8fad5b-d9cb-469f-a165-70867728950", 35));
    assert_false(uuid_text_valid("0f8fad5b-d9cb-469f-a165-70867728950ee", 37));
    assert_false(uuid_text_valid("0f8fad5bxd9cb-469f-a165-70867728950e", 36));
    assert_false(uuid_text_valid("0f8fad5b-d9cb-469f-a165-70867728950g", 36));
    assert_false(uuid_text_valid("../../../../etc/passwd/../../../../x", 36));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_directories_stripped),
        cmocka_unit_test(test_control_and_utf8),
        cmocka_unit_test(test_length_cap),
        cmocka_unit_test(test_request_id),
        cmocka_unit_test(test_uuid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
