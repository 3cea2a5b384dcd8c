/*
 * route.c - see route.h.
 */
#include "route.h"

#include <string.h>

#include "sanitize.h"

static int path_is(const char *path, size_t len, const char *lit)
{
    return strlen(lit) == len && memcmp(path, lit, len) == 0;
}

enum route route_match(const char *path, size_t len, const char **arg,
                       size_t *arg_len)
{
    static const char status[] = "/v1/status/";
    const size_t slen = sizeof(status) - 1;

    if (path_is(path, len, "/v1/process"))
        return ROUTE_PROCESS;
    if (path_is(path, len, "/health"))
        return ROUTE_HEALTH;
    if (len > slen && memcmp(path, status, slen) == 0 &&
        uuid_text_valid(path + slen, len - slen)) {
        *arg = path + slen;
        *arg_len = len - slen;
        return ROUTE_STATUS;
    }
    return ROUTE_NONE;
}

const char *route_allow(enum route r)
{
    switch (r) {
    case ROUTE_PROCESS:
        return "POST";
    case ROUTE_STATUS:
    case ROUTE_HEALTH:
        return "GET";
    case ROUTE_NONE:
        break;
    }
    return "";
}
