/*
 * json.c -- a strict RFC 8259 JSON parser into a small DOM, and the growable
 * output buffer every writer uses.
 *
 * Strict because the inputs are file headers written by other programs: a
 * header we half-understand is worse than a clear refusal. So: no comments,
 * no trailing commas, no leading zeros, no NaN/Infinity, no raw control
 * characters or invalid UTF-8 in strings, no lone surrogates, nothing but
 * whitespace after the value, and at most 64 nested containers (the parser
 * recurses, and nothing we read nests deeper than 3).
 */
#include "io/io.h"
#include "io/text.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 64

typedef struct parser {
    const unsigned char *s;
    size_t len, pos;
    rnn_error *err;
} parser;

/* ---- UTF-8 ------------------------------------------------------------ */

int rnn__utf8_valid(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        size_t k = rnn__utf8_len(u + i, n - i);
        if (!k)
            return 0;
        i += k;
    }
    return 1;
}

/* ---- output buffer ---------------------------------------------------- */

/* Room for n more bytes plus the NUL kept after the data. */
static int buf_reserve(rnn__buf *b, size_t n)
{
    size_t need, cap;
    if (b->oom)
        return 0;
    if (!rnn__add(&need, b->len, n) || !rnn__add(&need, need, 1)) {
        b->oom = 1;
        return 0;
    }
    if (need <= b->cap)
        return 1;
    cap = b->cap < 64 ? 64 : b->cap;
    while (cap < need)
        if (!rnn__mul(&cap, cap, 2)) {
            cap = need;
            break;
        }
    char *d = rnn__realloc(b->data, cap);
    if (!d) {
        b->oom = 1;
        return 0;
    }
    b->data = d;
    b->cap = cap;
    return 1;
}

void rnn__buf_free(rnn__buf *b)
{
    rnn__free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->oom = 0;
}

void rnn__buf_append(rnn__buf *b, const void *data, size_t n)
{
    if (!buf_reserve(b, n))
        return;
    if (n)
        memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void rnn__buf_puts(rnn__buf *b, const char *s) { rnn__buf_append(b, s, strlen(s)); }

void rnn__buf_printf(rnn__buf *b, const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->oom = 1;
    } else if (buf_reserve(b, (size_t)n)) {
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap2);
        b->len += (size_t)n;
    }
    va_end(ap2);
}

void rnn__buf_json_string(rnn__buf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    const char *run = s;

    rnn__buf_append(b, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        const char *esc = NULL;
        char u[7];
        if (c == '"')
            esc = "\\\"";
        else if (c == '\\')
            esc = "\\\\";
        else if (c == '\n')
            esc = "\\n";
        else if (c == '\t')
            esc = "\\t";
        else if (c == '\r')
            esc = "\\r";
        else if (c == '\b')
            esc = "\\b";
        else if (c == '\f')
            esc = "\\f";
        else if (c < 0x20) {
            memcpy(u, "\\u00", 4);
            u[4] = hex[c >> 4];
            u[5] = hex[c & 15];
            u[6] = '\0';
            esc = u;
        }
        if (esc) {
            rnn__buf_append(b, run, (size_t)(s - run));
            rnn__buf_puts(b, esc);
            run = s + 1;
        }
    }
    rnn__buf_append(b, run, (size_t)(s - run));
    rnn__buf_append(b, "\"", 1);
}

/* ---- parser ----------------------------------------------------------- */

static rnn_status perr(parser *ps, size_t at, rnn_status st, const char *fmt, ...)
    RNN__PRINTF(4, 5);
static rnn_status perr(parser *ps, size_t at, rnn_status st, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return rnn__fail(ps->err, st, "byte %zu: %s", at, msg);
}

/* What is at pos, for "expected X, found Y" messages. */
static const char *found(const parser *ps, size_t pos, char *tmp, size_t n)
{
    if (pos >= ps->len)
        return "end of input";
    unsigned char c = ps->s[pos];
    if (c > 0x20 && c < 0x7f)
        snprintf(tmp, n, "'%c'", c);
    else
        snprintf(tmp, n, "byte 0x%02x", c);
    return tmp;
}

static rnn_status expected(parser *ps, const char *what)
{
    char tmp[16];
    return perr(ps, ps->pos, RNN_EFORMAT, "expected %s, found %s", what,
                found(ps, ps->pos, tmp, sizeof tmp));
}

static rnn_status oom(parser *ps) { return perr(ps, ps->pos, RNN_ENOMEM, "out of memory"); }

static void skip_ws(parser *ps)
{
    while (ps->pos < ps->len) {
        unsigned char c = ps->s[ps->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        ps->pos++;
    }
}

static int hex4(const unsigned char *s, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return 0;
    }
    *out = v;
    return 1;
}

static void put_utf8(rnn__buf *b, unsigned cp)
{
    char u[4];
    rnn__buf_append(b, u, rnn__utf8_encode(cp, u));
}

/* At a backslash; appends the decoded character and advances past it. */
static rnn_status parse_escape(parser *ps, rnn__buf *b)
{
    const unsigned char *s = ps->s;
    size_t at = ps->pos;
    char c;
    unsigned cp, lo;

    if (at + 1 >= ps->len)
        return perr(ps, at, RNN_EFORMAT, "unterminated escape sequence");
    switch (s[at + 1]) {
    case '"': c = '"'; break;
    case '\\': c = '\\'; break;
    case '/': c = '/'; break;
    case 'b': c = '\b'; break;
    case 'f': c = '\f'; break;
    case 'n': c = '\n'; break;
    case 'r': c = '\r'; break;
    case 't': c = '\t'; break;
    case 'u':
        if (ps->len - at < 6 || !hex4(s + at + 2, &cp))
            return perr(ps, at, RNN_EFORMAT, "expected 4 hex digits after \\u");
        ps->pos = at + 6;
        if (cp >= 0xdc00 && cp <= 0xdfff)
            return perr(ps, at, RNN_EFORMAT,
                        "lone low surrogate \\u%04X (must follow a high surrogate)", cp);
        if (cp >= 0xd800 && cp <= 0xdbff) {
            if (ps->len - ps->pos < 6 || s[ps->pos] != '\\' || s[ps->pos + 1] != 'u' ||
                !hex4(s + ps->pos + 2, &lo) || lo < 0xdc00 || lo > 0xdfff)
                return perr(ps, at, RNN_EFORMAT,
                            "lone high surrogate \\u%04X (expected a low surrogate "
                            "\\uDC00-\\uDFFF right after it)", cp);
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            ps->pos += 6;
        }
        put_utf8(b, cp);
        return RNN_OK;
    default: {
        char tmp[16];
        return perr(ps, at, RNN_EFORMAT, "invalid escape \\%s in string",
                    found(ps, at + 1, tmp, sizeof tmp));
    }
    }
    rnn__buf_append(b, &c, 1);
    ps->pos = at + 2;
    return RNN_OK;
}

/* At the opening quote. On success *out is malloc'ed and NUL-terminated. */
static rnn_status parse_string(parser *ps, char **out, size_t *outlen)
{
    const unsigned char *s = ps->s;
    size_t start = ps->pos;
    rnn__buf b = {0};
    rnn_status st;

    ps->pos++;
    for (;;) {
        size_t run = ps->pos;
        /* copy plain ASCII in runs */
        while (ps->pos < ps->len && s[ps->pos] >= 0x20 && s[ps->pos] < 0x80 &&
               s[ps->pos] != '"' && s[ps->pos] != '\\')
            ps->pos++;
        rnn__buf_append(&b, s + run, ps->pos - run);
        if (ps->pos >= ps->len) {
            st = perr(ps, start, RNN_EFORMAT, "unterminated string");
            goto fail;
        }
        unsigned char c = s[ps->pos];
        if (c == '"')
            break;
        if (c == '\\') {
            if ((st = parse_escape(ps, &b)) != RNN_OK)
                goto fail;
        } else if (c < 0x20) {
            st = perr(ps, ps->pos, RNN_EFORMAT,
                      "control character 0x%02x in string (must be escaped)", c);
            goto fail;
        } else {
            size_t k = rnn__utf8_len(s + ps->pos, ps->len - ps->pos);
            if (!k) {
                st = perr(ps, ps->pos, RNN_EFORMAT, "invalid UTF-8 in string");
                goto fail;
            }
            rnn__buf_append(&b, s + ps->pos, k);
            ps->pos += k;
        }
    }
    ps->pos++; /* closing quote */
    rnn__buf_append(&b, "", 0); /* an empty string still gets its NUL */
    if (b.oom) {
        st = oom(ps);
        goto fail;
    }
    *out = b.data;
    *outlen = b.len;
    return RNN_OK;
fail:
    rnn__buf_free(&b);
    return st;
}

static rnn_status parse_number(parser *ps, rnn__json *v)
{
    const unsigned char *s = ps->s;
    size_t start = ps->pos, p = ps->pos;
    int plain = 1; /* no sign, fraction or exponent */

    if (p < ps->len && s[p] == '-') {
        plain = 0;
        p++;
    }
    if (p >= ps->len || s[p] < '0' || s[p] > '9') {
        ps->pos = p;
        return expected(ps, "a digit");
    }
    if (s[p] == '0') {
        p++;
        if (p < ps->len && s[p] >= '0' && s[p] <= '9')
            return perr(ps, start, RNN_EFORMAT, "leading zeros are not allowed in numbers");
    } else {
        while (p < ps->len && s[p] >= '0' && s[p] <= '9')
            p++;
    }
    if (p < ps->len && s[p] == '.') {
        plain = 0;
        p++;
        if (p >= ps->len || s[p] < '0' || s[p] > '9') {
            ps->pos = p;
            return expected(ps, "a digit after the decimal point");
        }
        while (p < ps->len && s[p] >= '0' && s[p] <= '9')
            p++;
    }
    if (p < ps->len && (s[p] == 'e' || s[p] == 'E')) {
        plain = 0;
        p++;
        if (p < ps->len && (s[p] == '+' || s[p] == '-'))
            p++;
        if (p >= ps->len || s[p] < '0' || s[p] > '9') {
            ps->pos = p;
            return expected(ps, "a digit in the exponent");
        }
        while (p < ps->len && s[p] >= '0' && s[p] <= '9')
            p++;
    }
    ps->pos = p;
    v->kind = RNN__JSON_NUMBER;

    if (plain) {
        uint64_t u = 0;
        int fits = 1;
        for (size_t i = start; i < p && fits; i++) {
            unsigned d = s[i] - '0';
            if (u > (UINT64_MAX - d) / 10)
                fits = 0;
            else
                u = u * 10 + d;
        }
        v->is_uint = fits;
        v->uint = fits ? u : 0;
    }

    /* strtod follows LC_NUMERIC, which the host program may have changed:
     * spell the decimal point the way the current locale wants it. */
    const char *dp = localeconv()->decimal_point;
    size_t dplen = dp && *dp ? strlen(dp) : 1, n = p - start, cap;
    char small[128], *tmp = small;
    if (!rnn__add(&cap, n, dplen) || !rnn__add(&cap, cap, 1))
        return oom(ps);
    if (cap > sizeof small && !(tmp = rnn__malloc(cap)))
        return oom(ps);
    size_t k = 0;
    for (size_t i = start; i < p; i++) {
        if (s[i] == '.' && dp && *dp) {
            memcpy(tmp + k, dp, dplen);
            k += dplen;
        } else {
            tmp[k++] = (char)s[i];
        }
    }
    tmp[k] = '\0';
    v->number = strtod(tmp, NULL);
    if (tmp != small)
        rnn__free(tmp);
    if (isinf(v->number))
        return perr(ps, start, RNN_EFORMAT, "number out of the range of a double");
    return RNN_OK;
}

static rnn_status parse_literal(parser *ps, const char *word)
{
    size_t n = strlen(word);
    if (ps->len - ps->pos < n || memcmp(ps->s + ps->pos, word, n) != 0)
        return expected(ps, "a JSON value");
    ps->pos += n;
    return RNN_OK;
}

static void free_contents(rnn__json *v)
{
    rnn__free(v->str);
    for (size_t i = 0; i < v->count; i++) {
        free_contents(&v->items[i]);
        if (v->keys)
            rnn__free(v->keys[i]);
    }
    rnn__free(v->items);
    rnn__free(v->keys);
}

/* Makes room for one more item (and key). */
static int grow(rnn__json *v, size_t *cap, int with_keys)
{
    if (v->count < *cap)
        return 1;
    size_t ncap, bytes;
    if (!rnn__mul(&ncap, *cap ? *cap : 4, 2) || !rnn__mul(&bytes, ncap, sizeof *v->items))
        return 0;
    rnn__json *items = rnn__realloc(v->items, bytes);
    if (!items)
        return 0;
    v->items = items;
    if (with_keys) {
        if (!rnn__mul(&bytes, ncap, sizeof *v->keys))
            return 0;
        char **keys = rnn__realloc(v->keys, bytes);
        if (!keys)
            return 0;
        v->keys = keys;
    }
    *cap = ncap;
    return 1;
}

static rnn_status parse_value(parser *ps, rnn__json *v, int depth);

static rnn_status parse_array(parser *ps, rnn__json *v, int depth)
{
    size_t cap = 0;
    rnn_status st;

    v->kind = RNN__JSON_ARRAY;
    ps->pos++;
    skip_ws(ps);
    if (ps->pos < ps->len && ps->s[ps->pos] == ']') {
        ps->pos++;
        return RNN_OK;
    }
    for (;;) {
        if (!grow(v, &cap, 0))
            return oom(ps);
        rnn__json *item = &v->items[v->count];
        memset(item, 0, sizeof *item);
        st = parse_value(ps, item, depth + 1);
        v->count++; /* counted even on failure so that it is freed */
        if (st != RNN_OK)
            return st;
        skip_ws(ps);
        if (ps->pos < ps->len && ps->s[ps->pos] == ',') {
            ps->pos++;
            continue;
        }
        if (ps->pos < ps->len && ps->s[ps->pos] == ']') {
            ps->pos++;
            return RNN_OK;
        }
        return expected(ps, "',' or ']' in array");
    }
}

static rnn_status parse_object(parser *ps, rnn__json *v, int depth)
{
    size_t cap = 0;
    rnn_status st;

    v->kind = RNN__JSON_OBJECT;
    ps->pos++;
    skip_ws(ps);
    if (ps->pos < ps->len && ps->s[ps->pos] == '}') {
        ps->pos++;
        return RNN_OK;
    }
    for (;;) {
        char *key;
        size_t keylen, keypos;

        skip_ws(ps);
        if (ps->pos >= ps->len || ps->s[ps->pos] != '"')
            return expected(ps, "a string as object key");
        keypos = ps->pos;
        if ((st = parse_string(ps, &key, &keylen)) != RNN_OK)
            return st;
        /* keys are handed out as C strings: an embedded NUL would silently
         * cut them short (and make "a\u0000b" a duplicate of "a") */
        if (strlen(key) != keylen) {
            rnn__free(key);
            return perr(ps, keypos, RNN_EFORMAT,
                        "object key contains \\u0000, which is not supported");
        }
        if (!grow(v, &cap, 1)) {
            rnn__free(key);
            return oom(ps);
        }
        v->keys[v->count] = key;
        rnn__json *item = &v->items[v->count];
        memset(item, 0, sizeof *item);
        v->count++; /* from here on the key and value are freed with v */
        skip_ws(ps);
        if (ps->pos >= ps->len || ps->s[ps->pos] != ':')
            return expected(ps, "':' after object key");
        ps->pos++;
        if ((st = parse_value(ps, item, depth + 1)) != RNN_OK)
            return st;
        skip_ws(ps);
        if (ps->pos < ps->len && ps->s[ps->pos] == ',') {
            ps->pos++;
            continue;
        }
        if (ps->pos < ps->len && ps->s[ps->pos] == '}') {
            ps->pos++;
            return RNN_OK;
        }
        return expected(ps, "',' or '}' in object");
    }
}

static rnn_status parse_value(parser *ps, rnn__json *v, int depth)
{
    skip_ws(ps);
    v->offset = ps->pos;
    if (ps->pos >= ps->len)
        return expected(ps, "a JSON value");
    switch (ps->s[ps->pos]) {
    case '{':
    case '[':
        if (depth >= MAX_DEPTH)
            return perr(ps, ps->pos, RNN_EFORMAT,
                        "nesting deeper than %d levels", MAX_DEPTH);
        return ps->s[ps->pos] == '{' ? parse_object(ps, v, depth)
                                     : parse_array(ps, v, depth);
    case '"':
        v->kind = RNN__JSON_STRING;
        return parse_string(ps, &v->str, &v->len);
    case 't':
        v->kind = RNN__JSON_BOOL;
        v->boolean = 1;
        return parse_literal(ps, "true");
    case 'f':
        v->kind = RNN__JSON_BOOL;
        return parse_literal(ps, "false");
    case 'n':
        v->kind = RNN__JSON_NULL;
        return parse_literal(ps, "null");
    default:
        if (ps->s[ps->pos] == '-' || (ps->s[ps->pos] >= '0' && ps->s[ps->pos] <= '9'))
            return parse_number(ps, v);
        return expected(ps, "a JSON value");
    }
}

rnn_status rnn__json_parse(rnn__json **out, const char *text, size_t len,
                           rnn_error *err)
{
    parser ps = {(const unsigned char *)text, len, 0, err};
    rnn__json *v;
    rnn_status st;

    *out = NULL;
    if (!(v = rnn__calloc(1, sizeof *v)))
        return rnn__fail(err, RNN_ENOMEM, "byte 0: out of memory");
    st = parse_value(&ps, v, 0);
    if (st == RNN_OK) {
        skip_ws(&ps);
        if (ps.pos < ps.len) {
            char tmp[16];
            st = perr(&ps, ps.pos, RNN_EFORMAT, "unexpected %s after the JSON value",
                      found(&ps, ps.pos, tmp, sizeof tmp));
        }
    }
    if (st != RNN_OK) {
        rnn__json_free(v);
        return st;
    }
    *out = v;
    return RNN_OK;
}

void rnn__json_free(rnn__json *v)
{
    if (v) {
        free_contents(v);
        rnn__free(v);
    }
}

/* With duplicate keys the last one wins, as in Python's json and JSON.parse. */
const rnn__json *rnn__json_get(const rnn__json *obj, const char *key)
{
    if (!obj || obj->kind != RNN__JSON_OBJECT)
        return NULL;
    for (size_t i = obj->count; i-- > 0;)
        if (strcmp(obj->keys[i], key) == 0)
            return &obj->items[i];
    return NULL;
}

int rnn__json_get_int(const rnn__json *obj, const char *key, int *out, int required)
{
    const rnn__json *v = rnn__json_get(obj, key);
    if (!v)
        return !required;
    if (v->kind != RNN__JSON_NUMBER || !v->is_uint || v->uint > (1u << 30))
        return 0;
    *out = (int)v->uint;
    return 1;
}
