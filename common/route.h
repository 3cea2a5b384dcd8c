/*
 * route.h - the handler's routes. Pure.
 *
 * The path is taken from REQUEST_URI without its query (what nginx's
 * fastcgi_params, Apache and lighttpd all pass: the path as the client
 * sent it), and when that is missing or empty from SCRIPT_NAME followed by
 * PATH_INFO (the CGI/1.1 variables). It is matched exactly: no decoding, no
 * trailing-slash or case folding; anything else is 404.
 */
#ifndef FU_ROUTE_H
#define FU_ROUTE_H

#include <stddef.h>

enum route {
    ROUTE_NONE,    /* 404 Not Found */
    ROUTE_PROCESS, /* /v1/process */
    ROUTE_STATUS,  /* /v1/status/<uuid> */
    ROUTE_HEALTH,  /* /health */
};

/* Match path[0..len) (query already removed). For ROUTE_STATUS, *arg and
 * *arg_len give the task id: a textual UUID (uuid_text_valid()); a status
 * path with anything else is ROUTE_NONE. */
enum route route_match(const char *path, size_t len, const char **arg,
                       size_t *arg_len);

/* The methods a route answers, for 405's Allow header. */
const char *route_allow(enum route r);

#endif
