/*
 * test_route.c - routes are matched exactly; status ids must be UUIDs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "route.h"

static enum route m(const char *path)
{
    const char *arg = NULL;
    size_t len = 0;

    return route_match(path, strlen(path), &arg, &len);
}

static void test_routes(void **state)
{
    const char *arg = NULL;
    size_t len = 0;
    const char *p = "/v1/status/0f8fad5b-d9cb-469f-a165-70867728950e";

    (void)state;
    assert_int_equal(m("/v1/process"), ROUTE_PROCESS);
    assert_int_equal(m("/health"), ROUTE_HEALTH);
    assert_int_equal(route_match(p, strlen(p), &arg, &len), ROUTE_STATUS);
    assert_int_equal(len, 36);
    assert_memory_equal(arg, p + 11, 36);
    assert_int_equal(m("/v1/process/"), ROUTE_NONE);
    assert_int_equal(m("/V1/process"), ROUTE_NONE);
    assert_int_equal(m("/v1/processx"), ROUTE_NONE);
    assert_int_equal(m("/v1/status/"), ROUTE_NONE);
    assert_int_equal(m("/v1/status/abc"), ROUTE_NONE);
    assert_int_equal(m("/v1/status/../../etc/passwd"), ROUTE_NONE);
    assert_int_equal(m("/v1/status/0f8fad5b-d9cb-469f-a165-70867728950e/x"),
                     ROUTE_NONE);
    assert_int_equal(m(""), ROUTE_NONE);
    assert_int_equal(m("/"), ROUTE_NONE);
    assert_string_equal(route_allow(ROUTE_PROCESS), "POST");
    assert_string_equal(route_allow(ROUTE_HEALTH), "GET");
    assert_string_equal(route_allow(ROUTE_STATUS), "GET");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
