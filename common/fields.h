/*
 * fields.h - parsing and validation of the POST /v1/process form fields and
 * of the small value types the configuration shares with them. Pure: no
 * I/O; only the JSON-array form of `features` allocates (jansson).
 *
 * Values are <ptr, len>, not NUL-terminated; spaces and tabs around a value
 * are ignored. Parsers return 0 or -EINVAL (and write nothing on error).
 */
#ifndef FU_FIELDS_H
#define FU_FIELDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bbuf.h"

#define FEATURE_MAP(XX)                                                        \
    XX(RAW_TRANSCRIPT, "raw_transcript")                                       \
    XX(CLEAN_TRANSCRIPT, "clean_transcript")                                   \
    XX(SUMMARY, "summary")                                                     \
    XX(ENHANCEMENT_METRICS, "enhancement_metrics")

enum feature {
#define FEATURE_ENUM(name, str) FEATURE_##name,
    FEATURE_MAP(FEATURE_ENUM)
#undef FEATURE_ENUM
        FEATURE__COUNT
};

/* "summary"; NULL outside the table. */
const char *feature_name(enum feature f);

/* The features asked for, from any number of `features` fields. */
struct feature_set {
    unsigned char order[FEATURE__COUNT]; /* distinct, first-seen order */
    size_t n;                            /* entries in order */
    unsigned mask;                       /* 1u << feature */
    size_t entries;                      /* entries seen, duplicates too */
};

void feature_set_init(struct feature_set *fs);
/* True when f was asked for. */
bool feature_set_has(const struct feature_set *fs, enum feature f);
/*
 * Add the entries of one `features` value: a JSON array of strings
 * ('["summary","raw_transcript"]') or a comma list ("summary, raw_transcript");
 * one name alone is a comma list of one. Names are exact (lower case).
 * Duplicates count once. An empty value adds nothing (the field is unset).
 * Returns 0; -EINVAL with the reason appended to why (may be NULL) for an
 * unknown name, an empty entry or list, a non-string array element, bad JSON
 * or more than FU_FEATURES_MAX entries in all; -ENOMEM if jansson could not
 * allocate. fs is unchanged on error.
 */
int feature_set_add(struct feature_set *fs, const char *v, size_t len,
                    struct bbuf *why);

#define ASR_BACKEND_MAP(XX)                                                    \
    XX(WHISPER, "whisper")                                                     \
    XX(CHUNKFORMER, "chunkformer")

enum asr_backend {
#define ASR_BACKEND_ENUM(name, str) ASR_##name,
    ASR_BACKEND_MAP(ASR_BACKEND_ENUM)
#undef ASR_BACKEND_ENUM
        ASR__COUNT
};

/* "whisper"; NULL outside the table. */
const char *asr_backend_name(enum asr_backend b);
/* whisper or chunkformer, any case. */
int parse_asr_backend(const char *v, size_t len, enum asr_backend *out);

/* true/false, 1/0, yes/no, on/off, any case. */
int parse_bool(const char *v, size_t len, bool *out);

/* A decimal number (digits, optional fraction and exponent; no hex, inf or
 * nan) between 0 and 1 inclusive. */
int parse_unit_interval(const char *v, size_t len, double *out);

/* Decimal digits only (no sign, no spaces inside), value <= max. */
int parse_u64(const char *v, size_t len, uint64_t max, uint64_t *out);

/* True for a usable template_id: 1..FU_TEMPLATE_ID_MAX bytes of valid
 * UTF-8 without control characters (after trimming). */
bool template_id_valid(const char *v, size_t len);

/* Trim spaces and tabs around <*v, *len>. */
void field_trim(const char **v, size_t *len);

#endif
