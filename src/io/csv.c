/*
 * csv.c -- the RFC 4180 reader of csv.h: one pass over the bytes with a
 * small state machine (unquoted field, quoted field, after a closing
 * quote), copying each field once into a buffer sized up front from the
 * input (content bytes + one NUL per field <= 2 * size + 2), then a check
 * that every record has the header's number of fields.
 *
 * Line numbers are counted while scanning, including line breaks inside
 * quoted fields, so messages point at the line an editor shows.
 */
#include "io/csv.h"

#include "io/io.h"
#include "io/text.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rnn__csv_free(rnn__csv *c)
{
    if (!c)
        return;
    rnn__free(c->name);
    rnn__free(c->header);
    rnn__free(c->cell);
    rnn__free(c->line);
    rnn__free(c->text);
    memset(c, 0, sizeof *c);
}

void rnn__csv_quote(char *out, size_t n, const char *s, size_t max)
{
    if (n == 0)
        return;
    size_t k = 0, len = strlen(s);
    int cut = len > max;
    if (cut) { /* back up to the start of a UTF-8 character */
        len = max;
        while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
            len--;
    }
    for (size_t i = 0; i < len && k + 1 < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        out[k++] = ch < 0x20 || ch == 0x7F ? '?' : (char)ch;
    }
    for (int i = 0; cut && i < 3 && k + 1 < n; i++)
        out[k++] = '.';
    out[k] = '\0';
}

/* ---- numbers ----------------------------------------------------------- */

static int is_space(char ch) { return ch == ' ' || ch == '\t'; }

/* Case-insensitive comparison of s[0..n) with the lower-case word w. */
static int word_is(const char *s, size_t n, const char *w)
{
    size_t m = strlen(w);
    if (n != m)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (ch >= 'A' && ch <= 'Z')
            ch = (char)(ch - 'A' + 'a');
        if (ch != w[i])
            return 0;
    }
    return 1;
}

rnn__csv_num rnn__csv_number(const char *s, double *value)
{
    size_t a = 0, b = strlen(s);
    while (a < b && is_space(s[a]))
        a++;
    while (b > a && is_space(s[b - 1]))
        b--;
    const char *p = s + a;
    const size_t n = b - a;
    if (n == 0 || word_is(p, n, "na") || word_is(p, n, "n/a") || word_is(p, n, "nan") ||
        word_is(p, n, "null"))
        return RNN__CSV_MISSING;
    size_t i = 0;
    if (p[i] == '+' || p[i] == '-')
        i++;
    if (word_is(p + i, n - i, "inf") || word_is(p + i, n - i, "infinity"))
        return RNN__CSV_NOT_FINITE;
    size_t digits = 0;
    while (i < n && p[i] >= '0' && p[i] <= '9')
        i++, digits++;
    if (i < n && p[i] == '.') {
        i++;
        while (i < n && p[i] >= '0' && p[i] <= '9')
            i++, digits++;
    }
    if (digits == 0)
        return RNN__CSV_NOT_NUMBER;
    if (i < n && (p[i] == 'e' || p[i] == 'E')) {
        i++;
        if (i < n && (p[i] == '+' || p[i] == '-'))
            i++;
        size_t ed = 0;
        while (i < n && p[i] >= '0' && p[i] <= '9')
            i++, ed++;
        if (ed == 0)
            return RNN__CSV_NOT_NUMBER;
    }
    if (i != n)
        return RNN__CSV_NOT_NUMBER;
    /* the syntax is checked; strtod needs a NUL-terminated copy of the
     * trimmed text (numbers longer than the buffer are read from s itself,
     * whose trailing spaces strtod stops at) */
    char buf[128];
    const char *src = p;
    if (n < sizeof buf) {
        memcpy(buf, p, n);
        buf[n] = '\0';
        src = buf;
    }
    errno = 0;
    double v = strtod(src, NULL);
    if (!isfinite(v))
        return RNN__CSV_NOT_FINITE;
    *value = v;
    return RNN__CSV_NUMBER;
}

/* ---- parsing ----------------------------------------------------------- */

typedef struct rec {
    size_t first; /* index of its first field in the field list */
    size_t nf;    /* fields */
    size_t line;
    int blank;    /* an empty line */
} rec;

typedef struct parser {
    char **f;
    size_t nf, capf;
    rec *r;
    size_t nr, capr;
} parser;

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 1;
    size_t c = *cap ? *cap : 64, bytes;
    while (c < need)
        if (!rnn__mul(&c, c, 2))
            return 0;
    if (!rnn__mul(&bytes, c, elem))
        return 0;
    void *q = rnn__realloc(*p, bytes);
    if (!q)
        return 0;
    *p = q;
    *cap = c;
    return 1;
}

static int add_field(parser *ps, char *f)
{
    if (!grow((void **)&ps->f, &ps->capf, ps->nf + 1, sizeof *ps->f))
        return 0;
    ps->f[ps->nf++] = f;
    return 1;
}

/* Where the first invalid UTF-8 sequence starts, or n if there is none. */
static size_t utf8_bad_at(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        size_t len = rnn__utf8_len(s + i, n - i);
        if (len == 0)
            return i;
        i += len;
    }
    return n;
}

static size_t line_at(const char *data, size_t off)
{
    size_t line = 1;
    for (size_t i = 0; i < off; i++)
        if (data[i] == '\n' || (data[i] == '\r' && (i + 1 >= off || data[i + 1] != '\n')))
            line++;
    return line;
}

static int all_numbers(char *const *fields, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        double v;
        if (rnn__csv_number(fields[i], &v) != RNN__CSV_NUMBER)
            return 0;
    }
    return 1;
}

rnn_status rnn__csv_parse(rnn__csv *c, const char *data, size_t size, const char *name,
                          rnn_error *err)
{
    memset(c, 0, sizeof *c);
    parser ps = {0};
    rnn_status st = RNN_OK;
    c->name = rnn__strdup(name ? name : "csv");
    if (!c->name)
        return rnn__fail(err, RNN_ENOMEM, "out of memory");
    name = c->name;
    if (size == 0) {
        st = rnn__fail(err, RNN_EFORMAT, "%s: the file is empty (expected a header row and data)",
                       name);
        goto fail;
    }
    const char *nul = memchr(data, '\0', size);
    if (nul) {
        size_t off = (size_t)(nul - data);
        st = rnn__fail(err, RNN_EFORMAT, "%s: NUL byte at offset %zu (line %zu): a binary file, not CSV",
                       name, off, line_at(data, off));
        goto fail;
    }
    size_t bad = utf8_bad_at((const unsigned char *)data, size);
    if (bad < size) {
        st = rnn__fail(err, RNN_EFORMAT, "%s: invalid UTF-8 at byte offset %zu (line %zu): byte 0x%02x",
                       name, bad, line_at(data, bad), (unsigned char)data[bad]);
        goto fail;
    }
    size_t cap;
    if (!rnn__mul(&cap, size, 2) || !rnn__add(&cap, cap, 2)) {
        st = rnn__fail(err, RNN_EOVERFLOW, "%s: file too large", name);
        goto fail;
    }
    c->text = rnn__malloc(cap);
    if (!c->text) {
        st = rnn__fail(err, RNN_ENOMEM, "%s: out of memory for %zu bytes", name, cap);
        goto fail;
    }

    const char *p = data, *end = data + size;
    if (size >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
        p += 3; /* byte-order mark */
    char *out = c->text;
    size_t line = 1;
    while (p < end) {
        if (!grow((void **)&ps.r, &ps.capr, ps.nr + 1, sizeof *ps.r))
            goto oom;
        rec *r = &ps.r[ps.nr++];
        r->first = ps.nf;
        r->line = line;
        r->blank = *p == '\n' || *p == '\r';
        for (;;) { /* one field per iteration */
            char *f = out;
            if (p < end && *p == '"') {
                const size_t qline = line;
                p++;
                for (;;) {
                    if (p >= end) {
                        st = rnn__fail(err, RNN_EFORMAT,
                                       "%s: line %zu: a quoted field is never closed (missing '\"')",
                                       name, qline);
                        goto fail;
                    }
                    if (*p == '"') {
                        if (p + 1 < end && p[1] == '"') {
                            *out++ = '"';
                            p += 2;
                            continue;
                        }
                        p++;
                        break;
                    }
                    if (*p == '\n' || (*p == '\r' && (p + 1 >= end || p[1] != '\n')))
                        line++;
                    *out++ = *p++;
                }
                if (p < end && *p != ',' && *p != '\n' && *p != '\r') {
                    char ch[8] = {0};
                    size_t cl = rnn__utf8_len((const unsigned char *)p, (size_t)(end - p));
                    memcpy(ch, p, cl >= 1 && cl <= 4 ? cl : 1);
                    if ((unsigned char)ch[0] < 0x20 || ch[0] == 0x7F)
                        ch[0] = '?';
                    st = rnn__fail(err, RNN_EFORMAT,
                                   "%s: line %zu, field %zu: '%s' after the closing quote (a quote "
                                   "inside a quoted field is written \"\")",
                                   name, line, ps.nf - r->first + 1, ch);
                    goto fail;
                }
            } else {
                while (p < end && *p != ',' && *p != '\n' && *p != '\r')
                    *out++ = *p++;
            }
            *out++ = '\0';
            if (!add_field(&ps, f))
                goto oom;
            if (p < end && *p == ',') {
                p++; /* at the very end, the next round adds the empty last field */
                continue;
            }
            break;
        }
        if (p < end && *p == '\r')
            p++;
        if (p < end && *p == '\n')
            p++;
        line++;
        r->nf = ps.nf - r->first;
    }

    /* trailing blank lines are not records */
    while (ps.nr > 0 && ps.r[ps.nr - 1].blank)
        ps.nr--;
    size_t h = 0;
    while (h < ps.nr && ps.r[h].blank)
        h++;
    if (h == ps.nr) {
        st = rnn__fail(err, RNN_EFORMAT, "%s: no header row (the file holds only blank lines)", name);
        goto fail;
    }
    const rec *hr = &ps.r[h];
    c->cols = hr->nf;
    c->header_line = hr->line;
    if (all_numbers(ps.f + hr->first, hr->nf)) {
        char v[48];
        rnn__csv_quote(v, sizeof v, ps.f[hr->first], 24);
        st = rnn__fail(err, RNN_EFORMAT,
                       "%s: line %zu: no header row: the first row holds numbers ('%s'%s); the first "
                       "row must name the columns", name, hr->line, v, hr->nf > 1 ? ", ..." : "");
        goto fail;
    }
    size_t rows = 0;
    for (size_t i = h + 1; i < ps.nr; i++) {
        const rec *r = &ps.r[i];
        if (r->blank && c->cols > 1)
            continue;
        if (r->nf != c->cols) {
            st = rnn__fail(err, RNN_EFORMAT, "%s: line %zu: %zu field%s, but the header has %zu",
                           name, r->line, r->nf, r->nf == 1 ? "" : "s", c->cols);
            goto fail;
        }
        rows++;
    }
    size_t ncell;
    if (!rnn__mul(&ncell, rows, c->cols) || !rnn__mul(&ncell, ncell ? ncell : 1, sizeof(char *))) {
        st = rnn__fail(err, RNN_EOVERFLOW, "%s: too many fields", name);
        goto fail;
    }
    c->header = rnn__malloc(c->cols * sizeof *c->header);
    c->cell = rnn__malloc(ncell);
    c->line = rnn__malloc((rows ? rows : 1) * sizeof *c->line);
    if (!c->header || !c->cell || !c->line)
        goto oom;
    memcpy(c->header, ps.f + hr->first, c->cols * sizeof *c->header);
    size_t k = 0;
    for (size_t i = h + 1; i < ps.nr; i++) {
        const rec *r = &ps.r[i];
        if (r->blank && c->cols > 1)
            continue;
        memcpy(c->cell + k * c->cols, ps.f + r->first, c->cols * sizeof *c->cell);
        c->line[k++] = r->line;
    }
    c->rows = rows;
    rnn__free(ps.f);
    rnn__free(ps.r);
    return RNN_OK;
oom:
    st = rnn__fail(err, RNN_ENOMEM, "%s: out of memory", name);
fail:
    rnn__free(ps.f);
    rnn__free(ps.r);
    rnn__csv_free(c);
    return st;
}

rnn_status rnn__csv_read(rnn__csv *c, const char *path, rnn_error *err)
{
    memset(c, 0, sizeof *c);
    unsigned char *data;
    size_t size;
    rnn_status st = rnn__read_file(path, &data, &size, err);
    if (st)
        return st;
    st = rnn__csv_parse(c, (const char *)data, size, path, err);
    rnn__free(data);
    return st;
}

/* ---- columns ----------------------------------------------------------- */

static void list_columns(char *out, size_t n, const rnn__csv *c)
{
    size_t k = 0;
    out[0] = '\0';
    for (size_t i = 0; i < c->cols && k + 1 < n; i++) {
        char q[48];
        rnn__csv_quote(q, sizeof q, c->header[i], 32);
        int w = snprintf(out + k, n - k, "%s'%s'", i ? ", " : "", q);
        if (w < 0 || (size_t)w >= n - k || (i >= 11 && i + 1 < c->cols)) {
            if (w >= 0 && (size_t)w < n - k)
                k += (size_t)w;
            snprintf(out + (k < n - 8 ? k : n - 8), 8, ", ...");
            return;
        }
        k += (size_t)w;
    }
}

rnn_status rnn__csv_column(const rnn__csv *c, const char *spec, const char *what, size_t *col,
                           rnn_error *err)
{
    size_t found = 0, at = 0;
    for (size_t i = 0; i < c->cols; i++)
        if (strcmp(c->header[i], spec) == 0) {
            if (!found)
                at = i;
            found++;
        }
    char q[80], cols[400];
    rnn__csv_quote(q, sizeof q, spec, 64);
    if (found == 1) {
        *col = at;
        return RNN_OK;
    }
    if (found > 1)
        return rnn__fail(err, RNN_EINVAL,
                         "%s: %s: the header names %zu columns '%s'; give the column's position "
                         "(1..%zu) instead", what, c->name, found, q, c->cols);
    size_t len = strlen(spec), i = 0;
    while (i < len && spec[i] >= '0' && spec[i] <= '9')
        i++;
    if (len > 0 && i == len && len < 10) {
        long k = strtol(spec, NULL, 10);
        if (k >= 1 && (size_t)k <= c->cols) {
            *col = (size_t)k - 1;
            return RNN_OK;
        }
        return rnn__fail(err, RNN_ENOTFOUND, "%s: %s has %zu column%s; there is no column %s", what,
                         c->name, c->cols, c->cols == 1 ? "" : "s", q);
    }
    list_columns(cols, sizeof cols, c);
    return rnn__fail(err, RNN_ENOTFOUND, "%s: no column '%s' in %s (columns: %s)", what, q, c->name,
                     cols);
}

rnn_status rnn__csv_numbers(const rnn__csv *c, size_t col, double *out, size_t *missing,
                            rnn_error *err)
{
    size_t nm = 0;
    for (size_t i = 0; i < c->rows; i++) {
        const char *s = c->cell[i * c->cols + col];
        double v = 0;
        rnn__csv_num k = rnn__csv_number(s, &v);
        if (k == RNN__CSV_NUMBER) {
            out[i] = v;
            continue;
        }
        if (k == RNN__CSV_MISSING) {
            out[i] = NAN;
            nm++;
            continue;
        }
        char q[64], name[64];
        rnn__csv_quote(q, sizeof q, s, 40);
        rnn__csv_quote(name, sizeof name, c->header[col], 40);
        return rnn__fail(err, RNN_EFORMAT, "%s: line %zu, column '%s': '%s' is not a %snumber",
                         c->name, c->line[i], name, q, k == RNN__CSV_NOT_FINITE ? "finite " : "");
    }
    if (missing)
        *missing = nm;
    return RNN_OK;
}
