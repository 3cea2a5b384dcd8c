/*
 * test_bbuf.c - the bounded buffer contract: appending past the cap fails
 * cleanly and leaves the buffer as it was; nothing is written past it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "bbuf.h"

static void test_append_to_cap(void **state)
{
    char mem[8 + 1 + 4]; /* 8 usable, NUL, then a guard zone */
    struct bbuf b;

    (void)state;
    memset(mem, 'G', sizeof(mem));
    bbuf_init(&b, mem, 9);
    assert_int_equal(b.cap, 8);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.ptr, "");
    assert_int_equal(bbuf_append_str(&b, "abcde"), 0);
    assert_int_equal(bbuf_avail(&b), 3);
    assert_int_equal(bbuf_append_str(&b, "fghi"), -ENOBUFS);
    assert_int_equal(b.len, 5);
    assert_string_equal(b.ptr, "abcde");
    assert_int_equal(bbuf_append_str(&b, "fgh"), 0);
    assert_string_equal(b.ptr, "abcdefgh");
    assert_int_equal(bbuf_append_char(&b, 'x'), -ENOBUFS);
    assert_int_equal(bbuf_append(&b, "", 0), 0);
    assert_string_equal(b.ptr, "abcdefgh");
    assert_memory_equal(mem + 9, "GGGG", 4); /* nothing past the array */
}

static void test_printf(void **state)
{
    char mem[16];
    struct bbuf b;

    (void)state;
    BBUF_INIT_ARRAY(&b, mem);
    assert_int_equal(bbuf_printf(&b, "%d-%s", 42, "ab"), 0);
    assert_string_equal(b.ptr, "42-ab");
    assert_int_equal(bbuf_printf(&b, "%s", "0123456789"), 0);
    assert_int_equal(b.len, 15);
    assert_int_equal(bbuf_printf(&b, "%s", "z"), -ENOBUFS);
    assert_int_equal(b.len, 15);
    assert_string_equal(b.ptr, "42-ab0123456789");
    bbuf_reset(&b);
    assert_int_equal(bbuf_printf(&b, "%s", "0123456789abcdefXYZ"), -ENOBUFS);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.ptr, "");
}

static void test_u64_truncate(void **state)
{
    char mem[32];
    struct bbuf b;

    (void)state;
    BBUF_INIT_ARRAY(&b, mem);
    assert_int_equal(bbuf_append_u64(&b, 0), 0);
    assert_int_equal(bbuf_append_char(&b, ' '), 0);
    assert_int_equal(bbuf_append_u64(&b, UINT64_MAX), 0);
    assert_string_equal(b.ptr, "0 18446744073709551615");
    bbuf_truncate(&b, 1);
    assert_string_equal(b.ptr, "0");
    bbuf_truncate(&b, 5); /* longer than the content: no-op */
    assert_string_equal(b.ptr, "0");
    /* a number that does not fit is not written in part */
    bbuf_init(&b, mem, 4);
    assert_int_equal(bbuf_append_u64(&b, 12345), -ENOBUFS);
    assert_string_equal(b.ptr, "");
}

static void test_embedded_nul(void **state)
{
    char mem[8];
    struct bbuf b;

    (void)state;
    BBUF_INIT_ARRAY(&b, mem);
    assert_int_equal(bbuf_append(&b, "a\0b", 3), 0);
    assert_int_equal(b.len, 3);
    assert_memory_equal(b.ptr, "a\0b\0", 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_to_cap),
        cmocka_unit_test(test_printf),
        cmocka_unit_test(test_u64_truncate),
        cmocka_unit_test(test_embedded_nul),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
