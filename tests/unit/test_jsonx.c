/*
 * test_jsonx.c - JSON output: escaping of any bytes into valid JSON,
 * all-or-nothing objects, jansson dumps into a bounded buffer.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "jsonx.h"

static char mem[256];

static const char *esc(const char *s, size_t len)
{
    struct bbuf b;

    BBUF_INIT_ARRAY(&b, mem);
    assert_int_equal(json_append_string(&b, s, len), 0);
    return mem;
}
#define ESC(lit) esc((lit), sizeof(lit) - 1)

/* Whatever we write, jansson must parse back. */
static void assert_parses(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, JSON_DECODE_ANY, &e);

    if (!j)
        fail_msg("not JSON: %s (%s)", text, e.text);
    json_decref(j);
}

static void test_escape(void **state)
{
    (void)state;
    assert_string_equal(ESC("plain"), "\"plain\"");
    assert_string_equal(ESC("q\"b\\"), "\"q\\\"b\\\\\"");
    assert_string_equal(ESC("a\nb\r\t"), "\"a\\nb\\r\\t\"");
    assert_string_equal(ESC("\x01\x1f"), "\"\\u0001\\u001f\"");
    assert_string_equal(ESC("nul\0x"), "\"nul\\u0000x\"");
    assert_string_equal(ESC("\xc3\xa9"), "\"\xc3\xa9\"");
    assert_string_equal(ESC("\xff\xc3"), "\"\\u00ff\\u00c3\"");
    assert_parses(ESC("\xff\xfe\x80/..\"\\\x01\xe2\x82"));
}

static void test_object(void **state)
{
    struct json_obj o;
    struct bbuf b;

    (void)state;
    BBUF_INIT_ARRAY(&b, mem);
    json_obj_begin(&o, &b);
    json_obj_str(&o, "s", "v");
    json_obj_str(&o, "n", NULL);
    json_obj_u64(&o, "u", 9007199254740993ull);
    json_obj_int(&o, "i", -5);
    json_obj_bool(&o, "t", true);
    json_obj_strn(&o, "p", "ab", 1);
    assert_int_equal(json_obj_end(&o), 0);
    assert_string_equal(mem, "{\"s\":\"v\",\"n\":null,\"u\":9007199254740993,"
                             "\"i\":-5,\"t\":true,\"p\":\"a\"}");
    assert_parses(mem);
}

static void test_object_overflow_rolls_back(void **state)
{
    char small[24];
    struct json_obj o;
    struct bbuf b;

    (void)state;
    BBUF_INIT_ARRAY(&b, small);
    assert_int_equal(bbuf_append_str(&b, "pre"), 0);
    json_obj_begin(&o, &b);
    json_obj_str(&o, "a", "1");
    json_obj_str(&o, "b", "a value that is far too long");
    /* a failed member leaves no trace; the error sticks */
    assert_string_equal(small, "pre{\"a\":\"1\"");
    json_obj_str(&o, "c", "2");
    assert_string_equal(small, "pre{\"a\":\"1\"");
    assert_int_equal(json_obj_end(&o), -ENOBUFS);
    assert_string_equal(small, "pre");
}

static void test_dump(void **state)
{
    char small[8];
    json_t *j = json_pack("{s:s, s:f}", "k", "v", "x", 0.3);
    struct bbuf b;

    (void)state;
    BBUF_INIT_ARRAY(&b, mem);
    assert_int_equal(json_dump_bbuf(j, &b), 0);
    assert_string_equal(mem, "{\"k\":\"v\",\"x\":0.3}");
    BBUF_INIT_ARRAY(&b, small);
    assert_int_equal(json_dump_bbuf(j, &b), -ENOBUFS);
    assert_int_equal(b.len, 0);
    assert_string_equal(small, "");
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape),
        cmocka_unit_test(test_object),
        cmocka_unit_test(test_object_overflow_rolls_back),
        cmocka_unit_test(test_dump),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
