/*
 * fields.c - form field parsing; see fields.h.
 */
#include "fields.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mp_limits.h"
#include "utf8.h"

static const char *const feature_names[FEATURE__COUNT] = {
#define FEATURE_STR(name, str) [FEATURE_##name] = (str),
    FEATURE_MAP(FEATURE_STR)
#undef FEATURE_STR
};

static const char *const backend_names[ASR__COUNT] = {
#define ASR_BACKEND_STR(name, str) [ASR_##name] = (str),
    ASR_BACKEND_MAP(ASR_BACKEND_STR)
#undef ASR_BACKEND_STR
};

void field_trim(const char **v, size_t *len)
{
    const char *p = *v;
    size_t n = *len;

    while (n && (p[0] == ' ' || p[0] == '\t')) {
        p++;
        n--;
    }
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    *v = p;
    *len = n;
}

/* Case-insensitive equality of <v, len> and the string word. */
static bool word_eq(const char *v, size_t len, const char *word)
{
    return strlen(word) == len && strncasecmp(v, word, len) == 0;
}

const char *feature_name(enum feature f)
{
    return (unsigned)f < FEATURE__COUNT ? feature_names[f] : NULL;
}

void feature_set_init(struct feature_set *fs)
{
    memset(fs, 0, sizeof(*fs));
}

bool feature_set_has(const struct feature_set *fs, enum feature f)
{
    return (unsigned)f < FEATURE__COUNT && (fs->mask & (1u << f));
}

static void why_add(struct bbuf *why, const char *what, const char *v,
                    size_t len)
{
    if (!why)
        return;
    if (v) {
        /* the caller escapes the detail into JSON; cut long client text */
        int n = len > 64 ? 64 : (int)len;
        if (bbuf_printf(why, "%s '%.*s'%s", what, n, v, len > 64 ? "..." : ""))
            bbuf_append_str(why, what);
    } else {
        bbuf_append_str(why, what);
    }
}

/* Add one trimmed name to a scratch set. */
static int add_name(struct feature_set *fs, const char *v, size_t len,
                    struct bbuf *why)
{
    unsigned f;

    field_trim(&v, &len);
    if (len == 0) {
        why_add(why, "empty feature name", NULL, 0);
        return -EINVAL;
    }
    if (++fs->entries > FU_FEATURES_MAX) {
        why_add(why, "too many features", NULL, 0);
        return -EINVAL;
    }
    for (f = 0; f < FEATURE__COUNT; f++) {
        if (strlen(feature_names[f]) == len &&
            memcmp(feature_names[f], v, len) == 0) {
            if (!(fs->mask & (1u << f))) {
                fs->mask |= 1u << f;
                fs->order[fs->n++] = (unsigned char)f;
            }
            return 0;
        }
    }
    why_add(why, "unknown feature", v, len);
    return -EINVAL;
}

static int add_json_array(struct feature_set *fs, const char *v, size_t len,
                          struct bbuf *why)
{
    json_error_t jerr;
    json_t *arr, *el;
    size_t i;
    int rc = 0;

    arr = json_loadb(v, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!arr) {
        if (json_error_code(&jerr) == json_error_out_of_memory)
            return -ENOMEM;
        why_add(why, "not a valid JSON array", NULL, 0);
        return -EINVAL;
    }
    if (!json_is_array(arr)) {
        why_add(why, "not a valid JSON array", NULL, 0);
        rc = -EINVAL;
        goto out_decref;
    }
    if (json_array_size(arr) == 0) {
        why_add(why, "empty list", NULL, 0);
        rc = -EINVAL;
        goto out_decref;
    }
    json_array_foreach(arr, i, el)
    {
        if (!json_is_string(el)) {
            why_add(why, "list entries must be strings", NULL, 0);
            rc = -EINVAL;
            goto out_decref;
        }
        rc = add_name(fs, json_string_value(el), json_string_length(el), why);
        if (rc)
            goto out_decref;
    }
out_decref:
    json_decref(arr);
    return rc;
}

int feature_set_add(struct feature_set *fs, const char *v, size_t len,
                    struct bbuf *why)
{
    struct feature_set tmp = *fs;
    const char *comma;
    int rc = 0;

    field_trim(&v, &len);
    if (len == 0)
        return 0;
    if (v[0] == '[') {
        rc = add_json_array(&tmp, v, len, why);
    } else {
        while (rc == 0) {
            comma = memchr(v, ',', len);
            size_t n = comma ? (size_t)(comma - v) : len;
            rc = add_name(&tmp, v, n, why);
            if (!comma)
                break;
            v = comma + 1;
            len -= n + 1;
        }
    }
    if (rc == 0)
        *fs = tmp;
    return rc;
}

const char *asr_backend_name(enum asr_backend b)
{
    return (unsigned)b < ASR__COUNT ? backend_names[b] : NULL;
}

int parse_asr_backend(const char *v, size_t len, enum asr_backend *out)
{
    unsigned b;

    field_trim(&v, &len);
    for (b = 0; b < ASR__COUNT; b++) {
        if (word_eq(v, len, backend_names[b])) {
            *out = (enum asr_backend)b;
            return 0;
        }
    }
    return -EINVAL;
}

int parse_bool(const char *v, size_t len, bool *out)
{
    static const char *const yes[] = {"true", "1", "yes", "on"};
    static const char *const no[] = {"false", "0", "no", "off"};
    size_t i;

    field_trim(&v, &len);
    for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (word_eq(v, len, yes[i])) {
            *out = true;
            return 0;
        }
        if (word_eq(v, len, no[i])) {
            *out = false;
            return 0;
        }
    }
    return -EINVAL;
}

/* [+-]?digits[.digits]([eE][+-]?digits)? with at least one mantissa digit. */
static bool decimal_syntax(const char *v, size_t len)
{
    size_t i = 0, digits = 0;

    if (i < len && (v[i] == '+' || v[i] == '-'))
        i++;
    while (i < len && v[i] >= '0' && v[i] <= '9') {
        i++;
        digits++;
    }
    if (i < len && v[i] == '.') {
        i++;
        while (i < len && v[i] >= '0' && v[i] <= '9') {
            i++;
            digits++;
        }
    }
    if (digits == 0)
        return false;
    if (i < len && (v[i] == 'e' || v[i] == 'E')) {
        size_t exp_digits = 0;
        i++;
        if (i < len && (v[i] == '+' || v[i] == '-'))
            i++;
        while (i < len && v[i] >= '0' && v[i] <= '9') {
            i++;
            exp_digits++;
        }
        if (exp_digits == 0)
            return false;
    }
    return i == len;
}

int parse_unit_interval(const char *v, size_t len, double *out)
{
    char tmp[64];
    char *end;
    double d;

    field_trim(&v, &len);
    if (len == 0 || len >= sizeof(tmp) || !decimal_syntax(v, len))
        return -EINVAL;
    memcpy(tmp, v, len);
    tmp[len] = '\0';
    errno = 0;
    d = strtod(tmp, &end);
    if (end != tmp + len || !isfinite(d) || d < 0.0 || d > 1.0)
        return -EINVAL;
    *out = d == 0.0 ? 0.0 : d; /* no -0 */
    return 0;
}

int parse_u64(const char *v, size_t len, uint64_t max, uint64_t *out)
{
    uint64_t n = 0;
    size_t i;

    field_trim(&v, &len);
    if (len == 0 || len > 20)
        return -EINVAL;
    for (i = 0; i < len; i++) {
        unsigned d;
        if (v[i] < '0' || v[i] > '9')
            return -EINVAL;
        d = (unsigned)(v[i] - '0');
        if (n > (UINT64_MAX - d) / 10)
            return -EINVAL;
        n = n * 10 + d;
    }
    if (n > max)
        return -EINVAL;
    *out = n;
    return 0;
}

bool template_id_valid(const char *v, size_t len)
{
    const unsigned char *p;
    size_t i, n;
    uint32_t cp;

    field_trim(&v, &len);
    if (len == 0 || len > FU_TEMPLATE_ID_MAX)
        return false;
    p = (const unsigned char *)v;
    for (i = 0; i < len; i += n) {
        n = utf8_decode(p + i, len - i, &cp);
        if (n == 0 || cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
            return false;
    }
    return true;
}
