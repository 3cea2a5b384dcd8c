/*
 * mp_params.c - Content-Type boundary and Content-Disposition parameters.
 *
 * Both headers share one grammar (RFC 7231 3.1.1.1, RFC 6266 4.1):
 *     value = type *( OWS ";" OWS name "=" ( token / quoted-string ) )
 * A trailing ";" is tolerated (browsers and curl never send one, but
 * python-multipart's tests do). Whitespace around "=" is tolerated in
 * Content-Disposition only, where old clients put it.
 */
#include <string.h>

#include "hexdigit.h"
#include "multipart.h"
#include "utf8.h"

/* RFC 7230 tchar. */
static bool is_tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
        (c >= 'A' && c <= 'Z'))
        return true;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* RFC 2046 bchars. */
static bool is_bchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
        (c >= 'A' && c <= 'Z'))
        return true;
    return c != 0 && strchr("'()+_,-./:=? ", c) != NULL;
}

static bool is_ows(unsigned char c)
{
    return c == ' ' || c == '\t';
}

static bool ieq(const char *a, size_t alen, const char *lit)
{
    size_t n = strlen(lit);
    if (alen != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char x = (unsigned char)a[i], y = (unsigned char)lit[i];
        if (x >= 'A' && x <= 'Z')
            x = (unsigned char)(x - 'A' + 'a');
        if (x != y)
            return false;
    }
    return true;
}

static size_t skip_ows(const char *s, size_t len, size_t i)
{
    while (i < len && is_ows((unsigned char)s[i]))
        i++;
    return i;
}

static size_t scan_token(const char *s, size_t len, size_t i)
{
    while (i < len && is_tchar((unsigned char)s[i]))
        i++;
    return i;
}

/*
 * One parameter value at s[*pos]: a token, or a quoted-string whose content
 * (escapes resolved) is written to out[0..cap) when out is not NULL. Sets
 * *vlen to the decoded length. Returns false on a syntax error or when the
 * decoded value would not fit in cap (only checked when out is given).
 */
static bool scan_value(const char *s, size_t len, size_t *pos, char *out,
                       size_t cap, size_t *vlen, bool *quoted)
{
    size_t i = *pos, n = 0;

    *quoted = i < len && s[i] == '"';
    if (!*quoted) {
        size_t end = scan_token(s, len, i);
        if (end == i)
            return false;
        n = end - i;
        if (out) {
            if (n > cap)
                return false;
            memcpy(out, s + i, n);
        }
        *pos = end;
        *vlen = n;
        return true;
    }
    for (i++; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"') {
            *pos = i + 1;
            *vlen = n;
            return true;
        }
        if (c == '\\' && i + 1 < len && (s[i + 1] == '"' || s[i + 1] == '\\'))
            c = (unsigned char)s[++i];
        else if ((c < 0x20 && c != '\t') || c == 0x7f)
            return false;
        if (out) {
            if (n >= cap)
                return false;
            out[n] = (char)c;
        }
        n++;
    }
    return false; /* unterminated quoted-string */
}

enum mp_errno mp_boundary_parse(const char *ct, size_t len, char *out,
                                size_t *out_len)
{
    size_t i = skip_ows(ct, len, 0), t, vlen = 0, blen = 0;
    bool have = false, quoted;
    char tmp[MP_BOUNDARY_MAX];

    t = scan_token(ct, len, i);
    if (!ieq(ct + i, t - i, "multipart") || t >= len || ct[t] != '/')
        return MP_E_CT_NOT_MULTIPART;
    i = t + 1;
    t = scan_token(ct, len, i);
    if (!ieq(ct + i, t - i, "form-data"))
        return MP_E_CT_NOT_MULTIPART;
    i = t;

    for (;;) {
        size_t name, name_end;
        i = skip_ows(ct, len, i);
        if (i == len)
            break;
        if (ct[i] != ';')
            return MP_E_CT_SYNTAX;
        i = skip_ows(ct, len, i + 1);
        if (i == len)
            break;
        name = i;
        name_end = scan_token(ct, len, i);
        if (name_end == name || name_end >= len || ct[name_end] != '=')
            return MP_E_CT_SYNTAX;
        i = name_end + 1;
        if (ieq(ct + name, name_end - name, "boundary")) {
            size_t save = i;
            if (have)
                return MP_E_BOUNDARY_DUPLICATE;
            if (!scan_value(ct, len, &i, NULL, 0, &vlen, &quoted))
                return MP_E_CT_SYNTAX;
            if (vlen == 0 || vlen > MP_BOUNDARY_MAX)
                return MP_E_BOUNDARY_LENGTH;
            i = save;
            if (!scan_value(ct, len, &i, tmp, sizeof(tmp), &blen, &quoted))
                return MP_E_CT_SYNTAX;
            have = true;
        } else if (!scan_value(ct, len, &i, NULL, 0, &vlen, &quoted)) {
            return MP_E_CT_SYNTAX;
        }
    }
    if (!have)
        return MP_E_BOUNDARY_MISSING;
    for (size_t k = 0; k < blen; k++)
        if (!is_bchar((unsigned char)tmp[k]))
            return MP_E_BOUNDARY_CHAR;
    if (tmp[blen - 1] == ' ')
        return MP_E_BOUNDARY_CHAR;
    memcpy(out, tmp, blen);
    *out_len = blen;
    return MP_OK;
}

/* RFC 5987 attr-char. */
static bool is_attr_char(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
        (c >= 'A' && c <= 'Z'))
        return true;
    return c != 0 && strchr("!#$&+-.^_`|~", c) != NULL;
}

/*
 * Strict UTF-8 check over bytes that arrive one at a time (the decoded
 * filename* value, which may not be stored anywhere): at most one sequence
 * is held, and utf8_decode() judges it once its lead byte's length is in.
 */
struct utf8_window {
    unsigned char b[4];
    size_t n;
};

static bool utf8_window_push(struct utf8_window *w, unsigned char c)
{
    uint32_t cp;
    size_t need;

    w->b[w->n++] = c;
    need = w->b[0] < 0x80 ? 1 : w->b[0] >= 0xf0 ? 4 : w->b[0] >= 0xe0 ? 3 : 2;
    if (w->n < need)
        return true;
    need = w->n;
    w->n = 0;
    return utf8_decode(w->b, need, &cp) == need;
}

/*
 * ext-value = charset "'" [ language ] "'" value-chars (RFC 5987 3.2.1).
 * Decodes into out (when given; the output is never longer than the input:
 * "%E4" becomes two UTF-8 bytes). Sets *olen. A UTF-8 value must decode
 * to valid UTF-8, checked whether or not out is given.
 */
static enum mp_errno ext_value(const char *s, size_t len, size_t *pos,
                               char *out, size_t *olen)
{
    size_t i = *pos, cs = i, n = 0;
    bool latin1;

    while (i < len && s[i] != '\'' && is_tchar((unsigned char)s[i]))
        i++;
    if (i == cs || i >= len || s[i] != '\'')
        return MP_E_DISPOSITION_SYNTAX;
    if (ieq(s + cs, i - cs, "utf-8"))
        latin1 = false;
    else if (ieq(s + cs, i - cs, "iso-8859-1"))
        latin1 = true;
    else
        return MP_E_DISPOSITION_CHARSET;
    for (i++; i < len && s[i] != '\''; i++)
        if (!is_tchar((unsigned char)s[i]))
            return MP_E_DISPOSITION_SYNTAX;
    if (i >= len)
        return MP_E_DISPOSITION_SYNTAX;
    i++;
    unsigned char *o = (unsigned char *)out;
    size_t start = i;
    struct utf8_window w = {{0}, 0};
    while (i < len) {
        unsigned char c = (unsigned char)s[i];
        int v;
        if (c == '%') {
            int hi, lo;
            if (len - i < 3)
                return MP_E_DISPOSITION_SYNTAX;
            hi = hex_digit_value((unsigned char)s[i + 1]);
            lo = hex_digit_value((unsigned char)s[i + 2]);
            if (hi < 0 || lo < 0)
                return MP_E_DISPOSITION_SYNTAX;
            v = hi * 16 + lo;
            i += 3;
        } else if (is_attr_char(c)) {
            v = c;
            i++;
        } else {
            break;
        }
        if (latin1 && v >= 0x80) {
            if (o) {
                o[n] = (unsigned char)(0xc0 | (v >> 6));
                o[n + 1] = (unsigned char)(0x80 | (v & 0x3f));
            }
            n += 2;
        } else {
            if (!latin1 && !utf8_window_push(&w, (unsigned char)v))
                return MP_E_DISPOSITION_UTF8;
            if (o)
                o[n] = (unsigned char)v;
            n++;
        }
    }
    if (i == start)
        return MP_E_DISPOSITION_SYNTAX;
    if (w.n != 0)
        return MP_E_DISPOSITION_UTF8; /* value ends inside a sequence */
    *pos = i;
    *olen = n;
    return MP_OK;
}

enum mp_errno mp_disposition_parse(const char *v, size_t len, char *out,
                                   size_t out_cap, struct mp_disposition *d)
{
    size_t i = skip_ows(v, len, 0), t, used = 0;
    bool have_plain = false, have_star = false;
    memset(d, 0, sizeof(*d));
    if (out && out_cap < len)
        return MP_E_DISPOSITION_SYNTAX;
    t = scan_token(v, len, i);
    if (t == i)
        return MP_E_DISPOSITION_SYNTAX;
    d->form_data = ieq(v + i, t - i, "form-data");
    i = t;

    for (;;) {
        size_t name, name_end, vlen = 0;
        bool quoted;
        char *dst = out ? out + used : NULL;
        enum { P_OTHER, P_NAME, P_FILENAME, P_FILENAME_STAR } kind;

        i = skip_ows(v, len, i);
        if (i == len)
            break;
        if (v[i] != ';')
            return MP_E_DISPOSITION_SYNTAX;
        i = skip_ows(v, len, i + 1);
        if (i == len)
            break;
        name = i;
        name_end = scan_token(v, len, i);
        if (name_end == name)
            return MP_E_DISPOSITION_SYNTAX;
        i = skip_ows(v, len, name_end);
        if (i >= len || v[i] != '=')
            return MP_E_DISPOSITION_SYNTAX;
        i = skip_ows(v, len, i + 1);

        if (ieq(v + name, name_end - name, "name"))
            kind = P_NAME;
        else if (ieq(v + name, name_end - name, "filename"))
            kind = P_FILENAME;
        else if (ieq(v + name, name_end - name, "filename*"))
            kind = P_FILENAME_STAR;
        else
            kind = P_OTHER;

        if ((kind == P_NAME && d->has_name) ||
            (kind == P_FILENAME && have_plain) ||
            (kind == P_FILENAME_STAR && have_star))
            return MP_E_DISPOSITION_SYNTAX;

        if (kind == P_FILENAME_STAR) {
            enum mp_errno e = ext_value(v, len, &i, dst, &vlen);
            if (e != MP_OK)
                return e;
        } else if (!scan_value(v, len, &i, kind == P_OTHER ? NULL : dst,
                               out ? out_cap - used : 0, &vlen, &quoted)) {
            return MP_E_DISPOSITION_SYNTAX;
        }

        switch (kind) {
        case P_NAME:
            d->has_name = true;
            d->name = dst;
            d->name_len = vlen;
            used += vlen;
            break;
        case P_FILENAME:
            have_plain = true;
            if (!have_star) {
                d->filename = dst;
                d->filename_len = vlen;
            }
            used += vlen;
            break;
        case P_FILENAME_STAR:
            have_star = true;
            d->filename = dst;
            d->filename_len = vlen;
            used += vlen;
            break;
        case P_OTHER:
            break;
        }
    }
    d->has_filename = have_plain || have_star;
    if (d->form_data && !d->has_name)
        return MP_E_DISPOSITION_NO_NAME;
    return MP_OK;
}
