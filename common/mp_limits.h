/*
 * mp_limits.h - every size and count limit of fcgi_upload, in one place.
 *
 * Each limit exists because an attacker controls the input it bounds. The
 * MP_* limits are the multipart parser's defaults; a caller may lower or
 * raise them (up to the compile-time caps below) through struct mp_limits.
 * The FU_* limits belong to the upload handler. The HTTP status a violation
 * maps to is given next to each one.
 */
#ifndef FU_MP_LIMITS_H
#define FU_MP_LIMITS_H

/* RFC 2046 5.1.1: a boundary is 1 to 70 characters. Fixed so the delimiter
 * and its look-behind live inside the parser struct. (400) */
#define MP_BOUNDARY_MAX 70

/* Hard cap on the header bytes of one part. The parser keeps one header line
 * in a fixed array of this size, so the configurable limit cannot exceed it.
 * busboy uses 16 KiB; browsers send a few hundred bytes. */
#define MP_HEADER_BYTES_CAP 16384

/* Defaults of struct mp_limits. */
#define MP_DEFAULT_HEADER_BYTES 16384 /* bytes of headers per part (400) */
#define MP_DEFAULT_HEADERS      16    /* header lines per part (400) */
#define MP_DEFAULT_PARTS        64    /* parts per body (400) */
#define MP_DEFAULT_FIELD_BYTES  65536 /* bytes of one non-file part (413) */

/* Transport padding (spaces and tabs) allowed after a delimiter. Bounded so a
 * near-miss delimiter in data can be handed back as data from a fixed array. */
#define MP_PADDING_MAX 32

/* Handler limits. */
#define FU_CHUNK_KB_MIN    4 /* APP_API__CHUNK_SIZE_KB range */
#define FU_CHUNK_KB_MAX    1024
#define FU_MAX_FILE_MB_MAX 1048576 /* APP_API__MAX_FILE_SIZE_MB upper bound */
#define FU_FILENAME_MAX                                                        \
    255 /* bytes of the sanitised original filename kept                       \
         */
#define FU_FIELD_VALUE_MAX                                                     \
    4096                     /* bytes of a form field the handler keeps (422) */
#define FU_FEATURES_MAX   16 /* feature entries accepted (422) */
#define FU_REQUEST_ID_MAX 64 /* bytes of X-Request-ID echoed back */
#define FU_KEYS_MAX       8  /* secret key + fallback keys */
#define FU_KEY_MIN        32 /* minimum API key length */
#define FU_KEY_MAX        256  /* maximum API key length */
#define FU_MIME_TYPES_MAX 32   /* entries of APP_API__ALLOWED_MIME_TYPES */
#define FU_MAGIC_BYTES    4096 /* file bytes buffered for libmagic (415) */

/* Request parameters copied from the web server; longer values are refused
 * with the status given (X-Request-ID is replaced by a fresh UUID instead). */
#define FU_URI_MAX            2048 /* request path used for routing (404) */
#define FU_METHOD_MAX         15   /* REQUEST_METHOD (405) */
#define FU_CONTENT_TYPE_MAX   1024 /* request Content-Type (400) */
#define FU_CONTENT_LENGTH_MAX 20   /* digits of CONTENT_LENGTH (400) */

/* Bytes a body may carry above APP_API__MAX_FILE_SIZE_MB: multipart framing,
 * part headers and form fields. Checked against CONTENT_LENGTH before any
 * body byte is read, and against the bytes read while streaming (413). */
#define FU_BODY_OVERHEAD_BYTES 1048576 /* 1 MiB */

/* Parts as the handler sees them. */
#define FU_FIELD_NAME_MAX    64  /* part name kept; longer names are unknown */
#define FU_TEMPLATE_ID_MAX   256 /* bytes of template_id (422) */
#define FU_DECLARED_TYPE_MAX 127 /* part Content-Type recorded, truncated */

/* Configuration (a value outside its range stops the start, exit 1). */
#define FU_PATH_MAX        1024    /* APP_PATHS__* once made absolute */
#define FU_MIME_NAME_MAX   127     /* one APP_API__ALLOWED_MIME_TYPES entry */
#define FU_EXT_MAX         8       /* stored file extension */
#define FU_THREADS_MAX     128     /* APP_WORKER__THREADS (fds: pool.c) */
#define FU_GRACE_S_MAX     3600    /* APP_WORKER__GRACE_S */
#define FU_SWEEP_AGE_S_MAX 2592000 /* APP_WORKER__SWEEP_AGE_S: 30 days */
#define FU_QUEUE_DEPTH_MAX 1000000 /* APP_REDIS__MAX_QUEUE_DEPTH */
#define FU_RETRY_AFTER_MAX 3600    /* APP_API__RETRY_AFTER_S */
#define FU_ENV_VALUE_MAX   4096    /* bytes of any one configuration value */

/* The Redis/RQ hand-off (fcgi_upload/rq_store.h keeps the same bounds). */
#define FU_REDIS_URL_MAX        1024     /* APP_REDIS__URL */
#define FU_REDIS_NAME_MAX       200      /* queue name, job function name */
#define FU_REDIS_DB_MAX         1000000  /* APP_REDIS__RESULTS_DB */
#define FU_REDIS_TIMEOUT_MS_MAX 600000   /* connect and command timeouts */
#define FU_JOB_SECONDS_MAX      31536000 /* job timeout, result TTL: 1 year */

/* Output. */
#define FU_STATUS_JSON_MAX   65536 /* record served by /v1/status (500) */
#define FU_RESPONSE_HEAD_MAX 1024  /* CGI header block of one response */
#define FU_LOG_LINE_MAX      4096  /* one JSON log line; the message is cut */

#endif
