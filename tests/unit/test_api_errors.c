/*
 * test_api_errors.c - the error table: every row's status, code and
 * detail, and the statuses the issue prescribes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "api_errors.h"
#include "bbuf.h"
#include "jsonx.h"

static void test_issue_table(void **state)
{
    static const struct {
        enum api_error e;
        int status;
        const char *code;
    } rows[] = {
        {API_E_UNAUTHORIZED, 401, "UNAUTHORIZED"},
        {API_E_INVALID_MULTIPART, 400, "INVALID_MULTIPART"},
        {API_E_MISSING_FILE, 422, "MISSING_FILE"},
        {API_E_MULTIPLE_FILES, 422, "MULTIPLE_FILES"},
        {API_E_EMPTY_FILE, 422, "EMPTY_FILE"},
        {API_E_VALIDATION_ERROR, 422, "VALIDATION_ERROR"},
        {API_E_INVALID_FILE_FORMAT, 415, "INVALID_FILE_FORMAT"},
        {API_E_FILE_TOO_LARGE, 413, "FILE_TOO_LARGE"},
        {API_E_QUEUE_FULL, 429, "QUEUE_FULL"},
        {API_E_INSUFFICIENT_STORAGE, 507, "INSUFFICIENT_STORAGE"},
        {API_E_INTERNAL_ERROR, 500, "INTERNAL_ERROR"},
        {API_E_NOT_FOUND, 404, "NOT_FOUND"},
        {API_E_METHOD_NOT_ALLOWED, 405, "METHOD_NOT_ALLOWED"},
        {API_E_SERVICE_UNAVAILABLE, 503, "SERVICE_UNAVAILABLE"},
    };
    size_t i;

    (void)state;
    assert_int_equal(sizeof(rows) / sizeof(rows[0]), API_E__COUNT - 1);
    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        assert_int_equal(api_error_status(rows[i].e), rows[i].status);
        assert_string_equal(api_error_code(rows[i].e), rows[i].code);
        assert_true(strlen(api_error_detail(rows[i].e)) > 0);
        assert_string_not_equal(http_reason(rows[i].status), "Unknown");
    }
    assert_string_equal(api_error_detail(API_E_NOT_FOUND), "Not Found");
}

static void test_outside_table(void **state)
{
    (void)state;
    assert_int_equal(api_error_status(API_OK), 500);
    assert_string_equal(api_error_code(API_OK), "INTERNAL_ERROR");
    assert_int_equal(api_error_status(API_E__COUNT), 500);
    assert_int_equal(api_error_status((enum api_error) - 1), 500);
    assert_string_equal(api_error_code((enum api_error)999), "INTERNAL_ERROR");
    assert_string_equal(http_reason(202), "Accepted");
    assert_string_equal(http_reason(200), "OK");
    assert_string_equal(http_reason(418), "Unknown");
}

static void test_error_body(void **state)
{
    char mem[256];
    struct bbuf b;

    (void)state;
    BBUF_INIT_ARRAY(&b, mem);
    assert_int_equal(json_error_body(&b, "File exceeds maximum size of 500MB",
                                     api_error_code(API_E_FILE_TOO_LARGE)),
                     0);
    assert_string_equal(mem, "{\"detail\":\"File exceeds maximum size of "
                             "500MB\",\"error_code\":\"FILE_TOO_LARGE\"}");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_issue_table),
        cmocka_unit_test(test_outside_table),
        cmocka_unit_test(test_error_body),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
