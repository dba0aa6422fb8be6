/* text.c -- UTF-8 decoding with precise error positions, and vocabularies
 * of code points. */
#include "io/text.h"

#include "io/io.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t rnn__utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    unsigned char lo = 0x80, hi = 0xbf;
    size_t len;

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        if (c == 0xe0)
            lo = 0xa0; /* overlong */
        else if (c == 0xed)
            hi = 0x9f; /* surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        if (c == 0xf0)
            lo = 0x90; /* overlong */
        else if (c == 0xf4)
            hi = 0x8f; /* above U+10FFFF */
    } else
        return 0;
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return len;
}

uint32_t rnn__utf8_decode1(const unsigned char *s, size_t len)
{
    static const unsigned char lead_mask[5] = {0, 0x7f, 0x1f, 0x0f, 0x07};
    uint32_t cp = s[0] & lead_mask[len];
    for (size_t i = 1; i < len; i++)
        cp = (cp << 6) | (s[i] & 0x3fu);
    return cp;
}

size_t rnn__utf8_encode(uint32_t cp, char out[4])
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

rnn_status rnn__utf8_decode(uint32_t **cps, size_t *count,
                            const unsigned char *s, size_t n,
                            const char *name, rnn_error *err)
{
    *cps = NULL;
    *count = 0;
    uint32_t *out = rnn__malloc((n ? n : 1) * sizeof *out);
    if (!out)
        return rnn__fail(err, RNN_ENOMEM, "%s: out of memory decoding %zu bytes", name, n);
    size_t i = 0, k = 0, line = 1;
    /* a UTF-8 byte-order mark is not text */
    if (n >= 3 && s[0] == 0xef && s[1] == 0xbb && s[2] == 0xbf)
        i = 3;
    while (i < n) {
        if (s[i] == 0) {
            rnn__free(out);
            return rnn__fail(err, RNN_EFORMAT,
                             "%s: NUL byte at offset %zu (line %zu): this looks like a binary "
                             "file, not text", name, i, line);
        }
        size_t len = rnn__utf8_len(s + i, n - i);
        if (!len) {
            rnn__free(out);
            return rnn__fail(err, RNN_EFORMAT,
                             "%s: invalid UTF-8 at byte offset %zu (line %zu): byte 0x%02x",
                             name, i, line, s[i]);
        }
        uint32_t cp = rnn__utf8_decode1(s + i, len);
        line += cp == '\n';
        out[k++] = cp;
        i += len;
    }
    *cps = out;
    *count = k;
    return RNN_OK;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

rnn_status rnn__vocab_build(rnn__vocab *v, const uint32_t *a, size_t na,
                            const uint32_t *b, size_t nb, rnn_error *err)
{
    v->chars = NULL;
    v->size = 0;
    /* a bitmap over the BMP plus a list for the rest keeps this O(n) */
    unsigned char *seen = rnn__calloc(0x110000 / 8, 1);
    if (!seen)
        return rnn__fail(err, RNN_ENOMEM, "out of memory");
    size_t distinct = 0;
    for (int pass = 0; pass < 2; pass++) {
        const uint32_t *p = pass ? b : a;
        size_t n = pass ? nb : na;
        for (size_t i = 0; p && i < n; i++) {
            uint32_t c = p[i];
            if (c < 0x110000 && !(seen[c >> 3] & (1u << (c & 7)))) {
                seen[c >> 3] |= (unsigned char)(1u << (c & 7));
                distinct++;
            }
        }
    }
    if (distinct > 1u << 20) { /* cannot happen for code points; keeps int safe */
        rnn__free(seen);
        return rnn__fail(err, RNN_EOVERFLOW, "vocabulary too large");
    }
    v->chars = rnn__malloc((distinct ? distinct : 1) * sizeof *v->chars);
    if (!v->chars) {
        rnn__free(seen);
        return rnn__fail(err, RNN_ENOMEM, "out of memory");
    }
    for (uint32_t c = 0; c < 0x110000; c++)
        if (seen[c >> 3] & (1u << (c & 7)))
            v->chars[v->size++] = c;
    rnn__free(seen);
    return RNN_OK;
}

void rnn__vocab_free(rnn__vocab *v)
{
    rnn__free(v->chars);
    v->chars = NULL;
    v->size = 0;
}

int rnn__vocab_index(const rnn__vocab *v, uint32_t cp)
{
    const uint32_t *p = bsearch(&cp, v->chars, (size_t)v->size, sizeof cp, cmp_u32);
    return p ? (int)(p - v->chars) : -1;
}

rnn_status rnn__vocab_encode(const rnn__vocab *v, int32_t *ids,
                             const uint32_t *cps, size_t n, size_t *bad_at)
{
    for (size_t i = 0; i < n; i++) {
        int id = rnn__vocab_index(v, cps[i]);
        if (id < 0) {
            if (bad_at)
                *bad_at = i;
            return RNN_ENOTFOUND;
        }
        ids[i] = id;
    }
    return RNN_OK;
}

char *rnn__vocab_to_json(const rnn__vocab *v)
{
    rnn__buf b = {0};
    rnn__buf_puts(&b, "[");
    for (int i = 0; i < v->size; i++)
        rnn__buf_printf(&b, "%s%lu", i ? "," : "", (unsigned long)v->chars[i]);
    rnn__buf_puts(&b, "]");
    if (b.oom) {
        rnn__buf_free(&b);
        return NULL;
    }
    return b.data;
}

rnn_status rnn__vocab_from_json(rnn__vocab *v, const char *json, rnn_error *err)
{
    v->chars = NULL;
    v->size = 0;
    rnn__json *j;
    rnn_status st = rnn__json_parse(&j, json, strlen(json), err);
    if (st)
        return st;
    if (j->kind != RNN__JSON_ARRAY || j->count == 0 || j->count > 0x110000) {
        rnn__json_free(j);
        return rnn__fail(err, RNN_EFORMAT, "vocabulary must be a non-empty array of code points");
    }
    v->chars = rnn__malloc(j->count * sizeof *v->chars);
    if (!v->chars) {
        rnn__json_free(j);
        return rnn__fail(err, RNN_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < j->count; i++) {
        const rnn__json *e = &j->items[i];
        if (e->kind != RNN__JSON_NUMBER || !e->is_uint || e->uint > 0x10FFFF ||
            (i > 0 && e->uint <= v->chars[i - 1])) {
            rnn__json_free(j);
            rnn__vocab_free(v);
            return rnn__fail(err, RNN_EFORMAT,
                             "vocabulary entry %zu must be a code point greater than the previous one", i);
        }
        v->chars[i] = (uint32_t)e->uint;
    }
    v->size = (int)j->count;
    rnn__json_free(j);
    return RNN_OK;
}

void rnn__describe_char(uint32_t cp, char *out, size_t n)
{
    static const char *const named[] = {[0x09] = "'\\t'", [0x0a] = "'\\n'", [0x0d] = "'\\r'"};
    if (cp < sizeof named / sizeof named[0] && named[cp])
        snprintf(out, n, "%s", named[cp]);
    else if (cp < 0x20 || cp == 0x7f)
        snprintf(out, n, "U+%04X", (unsigned)cp);
    else if (cp < 0x80)
        snprintf(out, n, "'%c'", (char)cp);
    else {
        char u[5] = {0};
        rnn__utf8_encode(cp, u);
        snprintf(out, n, "U+%04X '%s'", (unsigned)cp, u);
    }
}
