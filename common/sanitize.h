/*
 * sanitize.h - checks and clean-ups of client-supplied strings. Pure.
 */
#ifndef FU_SANITIZE_H
#define FU_SANITIZE_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Reduce a client's filename to something safe to store in a JSON record
 * and show to a person. It never becomes a path: files are named by task id.
 *  - directories are stripped: only what follows the last '/' or '\\' stays;
 *  - control characters (C0, DEL, C1) and bidirectional-override code points
 *    (U+202A-U+202E, U+2066-U+2069) are dropped;
 *  - bytes that are not valid UTF-8 become '_';
 *  - leading and trailing spaces are removed; "." and ".." become "";
 *  - the result is cut to at most cap - 1 bytes (cap <= FU_FILENAME_MAX + 1
 *    in practice) without splitting a UTF-8 sequence.
 * out (cap >= 1 bytes) receives valid UTF-8, NUL-terminated. Returns its
 * length; 0 means nothing usable was left.
 */
size_t filename_sanitize(const char *in, size_t len, char *out, size_t cap);

/* True for an X-Request-ID we echo: 1..FU_REQUEST_ID_MAX bytes of
 * [A-Za-z0-9._:+/=-]. Anything else is replaced by a generated UUID. */
bool request_id_valid(const char *s, size_t len);

/* True when s is exactly a textual UUID (36 bytes, 8-4-4-4-12 hex digits,
 * either case). Task ids are only ever looked up after this check. */
bool uuid_text_valid(const char *s, size_t len);

#endif
