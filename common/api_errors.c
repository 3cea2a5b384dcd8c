/*
 * api_errors.c - lookups over API_ERROR_MAP.
 */
#include "api_errors.h"

#include <stddef.h>

struct api_error_row {
    int status;
    const char *code;
    const char *detail;
};

static const struct api_error_row rows[API_E__COUNT] = {
    [API_OK] = {500, "INTERNAL_ERROR", "Internal server error"},
#define API_ERROR_ROW(name, st, det) [API_E_##name] = {st, #name, det},
    API_ERROR_MAP(API_ERROR_ROW)
#undef API_ERROR_ROW
};

static const struct api_error_row *row(enum api_error e)
{
    if ((unsigned)e >= API_E__COUNT || e == API_OK)
        return &rows[API_E_INTERNAL_ERROR];
    return &rows[e];
}

int api_error_status(enum api_error e)
{
    return row(e)->status;
}

const char *api_error_code(enum api_error e)
{
    return row(e)->code;
}

const char *api_error_detail(enum api_error e)
{
    return row(e)->detail;
}

const char *http_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 202:
        return "Accepted";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 413:
        return "Payload Too Large";
    case 415:
        return "Unsupported Media Type";
    case 422:
        return "Unprocessable Entity";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    case 507:
        return "Insufficient Storage";
    default:
        return "Unknown";
    }
}
