/*
 * api_errors.h - every error the HTTP API answers with, from one table.
 *
 * Each row: the name (also the error_code string sent to clients, so the two
 * cannot drift apart), the HTTP status, and the default detail used when the
 * handler has nothing more specific to say. Every error body is
 * {"detail":"...","error_code":"..."}.
 */
#ifndef FU_API_ERRORS_H
#define FU_API_ERRORS_H

#define API_ERROR_MAP(XX)                                                      \
    XX(UNAUTHORIZED, 401, "Invalid or missing API key")                        \
    XX(INVALID_MULTIPART, 400, "Malformed multipart/form-data request")        \
    XX(MISSING_FILE, 422, "No file part named 'file' in the request")          \
    XX(MULTIPLE_FILES, 422, "Only one file part named 'file' is allowed")      \
    XX(EMPTY_FILE, 422, "The uploaded file is empty")                          \
    XX(VALIDATION_ERROR, 422, "Invalid form field")                            \
    XX(INVALID_FILE_FORMAT, 415, "Unsupported audio format")                   \
    XX(FILE_TOO_LARGE, 413, "File exceeds the maximum size")                   \
    XX(QUEUE_FULL, 429, "Task queue is full, retry later")                     \
    XX(INSUFFICIENT_STORAGE, 507, "Insufficient storage")                      \
    XX(INTERNAL_ERROR, 500, "Internal server error")                           \
    XX(NOT_FOUND, 404, "Not Found")                                            \
    XX(METHOD_NOT_ALLOWED, 405, "Method Not Allowed")                          \
    XX(SERVICE_UNAVAILABLE, 503, "Service temporarily unavailable")

enum api_error {
    API_OK = 0, /* no error: not a row, has no code or status */
#define API_ERROR_ENUM(name, status, detail) API_E_##name,
    API_ERROR_MAP(API_ERROR_ENUM)
#undef API_ERROR_ENUM
        API_E__COUNT
};

/* HTTP status of e; 500 for API_OK or a value outside the table. */
int api_error_status(enum api_error e);
/* "FILE_TOO_LARGE"; "INTERNAL_ERROR" outside the table. Static string. */
const char *api_error_code(enum api_error e);
/* The default detail; static string. */
const char *api_error_detail(enum api_error e);
/* The reason phrase for an HTTP status we send ("Payload Too Large");
 * "Unknown" otherwise. Static string. */
const char *http_reason(int status);

#endif
