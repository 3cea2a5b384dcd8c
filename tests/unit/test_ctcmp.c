/*
 * test_ctcmp.c - key comparison results. That the time does not depend on
 * the bytes is by construction (ctcmp.c: no early exit, fixed sizes), which
 * a unit test cannot measure reliably.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "ctcmp.h"

#define KEY1 "0123456789abcdef0123456789abcdef"
#define KEY2 "ZYXWVUTSRQPONMLKJIHGFEDCBA987654321"

static void set_key(struct api_key *k, const char *s)
{
    memset(k->bytes, 0, sizeof(k->bytes));
    memcpy(k->bytes, s, strlen(s));
    k->len = strlen(s);
}

static void test_memeq(void **state)
{
    (void)state;
    assert_true(ct_memeq("abc", "abc", 3));
    assert_false(ct_memeq("abc", "abd", 3));
    assert_false(ct_memeq("xbc", "abc", 3));
    assert_true(ct_memeq("", "", 0));
}

static void test_key_match(void **state)
{
    struct api_key keys[2];
    char longer[FU_KEY_MAX + 10];

    (void)state;
    set_key(&keys[0], KEY1);
    set_key(&keys[1], KEY2);
    assert_true(ct_key_match(KEY1, strlen(KEY1), keys, 2));
    assert_true(ct_key_match(KEY2, strlen(KEY2), keys, 2)); /* fallback */
    assert_false(ct_key_match(KEY2, strlen(KEY2), keys, 1));
    /* prefixes and extensions do not match, nor do padded zeros */
    assert_false(ct_key_match(KEY1, strlen(KEY1) - 1, keys, 2));
    assert_false(ct_key_match(KEY1 "0", strlen(KEY1) + 1, keys, 2));
    assert_false(ct_key_match(KEY1 "\0", strlen(KEY1) + 1, keys, 2));
    assert_false(ct_key_match("", 0, keys, 2));
    assert_false(ct_key_match("1123456789abcdef0123456789abcdef", 32, keys, 2));
    assert_false(ct_key_match("0123456789abcdef0123456789abcdeF", 32, keys, 2));
    memset(longer, 'a', sizeof(longer));
    assert_false(ct_key_match(longer, sizeof(longer), keys, 2));
    assert_false(ct_key_match(KEY1, strlen(KEY1), keys, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_memeq),
        cmocka_unit_test(test_key_match),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
