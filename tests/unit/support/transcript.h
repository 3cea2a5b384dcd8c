/*
 * transcript.h - a callback transcript of the multipart parser, for the unit
 * tests (test_multipart.c, test_splits.c); linked into every unit test.
 *
 * Set up a struct transcript_rec zeroed ({0}), point the parser's data at it
 * (p->data = &r), feed the parser with &transcript_cbs, then call
 * transcript_result(). r.s is then the transcript, NUL-terminated; the
 * caller frees it (free(r.s)). One line per event:
 *
 *   begin N                    on_part_begin, N = p->parts
 *   header "NAME" "VALUE"      on_header, bytes escaped (see below)
 *   headers flags=N            on_headers_complete, N = p->part_flags
 *   data N "BYTES"             the data of a part up to the next event, when
 *                              N <= TRANSCRIPT_PEND_MAX; else
 *   data N fnv=HHHHHHHHHHHHHHHH  its FNV-1a 64 in hex
 *   data outside a part!       on_data with no part open (a parser bug)
 *   end N                      on_part_end, N = p->part_bytes
 *   body_end                   on_body_end
 *   (stop)                     the callback of stop_at returned non-zero
 *   result OK | result NAME@OFFSET   the last line, from transcript_result()
 *
 * Escaping: printable ASCII as is, \r \n \t, \" and \\, else \xHH (lower
 * case). The format is fixed: tests/fixtures/multipart/NAME.expected are
 * transcripts. Failures (out of memory, a line over 255 bytes) are cmocka
 * failures.
 */
#ifndef TESTS_UNIT_SUPPORT_TRANSCRIPT_H
#define TESTS_UNIT_SUPPORT_TRANSCRIPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "multipart.h"

/* Which callback returns non-zero (to test MP_E_CALLBACK). */
enum transcript_stop {
    TRANSCRIPT_STOP_NONE,
    TRANSCRIPT_STOP_BEGIN,
    TRANSCRIPT_STOP_HEADER,
    TRANSCRIPT_STOP_HEADERS_COMPLETE,
    TRANSCRIPT_STOP_DATA,
    TRANSCRIPT_STOP_PART_END,
    TRANSCRIPT_STOP_BODY_END
};

/* Data lines show the bytes up to this many, a hash above. */
#define TRANSCRIPT_PEND_MAX 256

struct transcript_rec {
    char *s; /* the transcript, NUL-terminated; the caller frees it */
    size_t len, cap;
    unsigned char pend[TRANSCRIPT_PEND_MAX]; /* first data bytes of the part */
    uint64_t data_len;                       /* data bytes of the open part */
    uint64_t fnv;                            /* FNV-1a of them */
    bool data_open;
    enum transcript_stop stop_at; /* set before parsing; 0: never stop */
    unsigned calls;               /* callbacks seen */
};

/* The recording callbacks; each expects p->data to be a transcript_rec. */
extern const struct mp_callbacks transcript_cbs;

/* Append the final line: "result OK" or "result NAME@offset". */
void transcript_result(struct transcript_rec *r, const struct mp_parser *p);

#endif
