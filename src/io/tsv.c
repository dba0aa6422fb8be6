/*
 * tsv.c -- labelled text files (label<TAB>text lines, one label per token
 * for sequence labelling, or text only) and tables of names. See tsv.h for
 * the format.
 *
 * The parser copies the file once and cuts fields in place; words and
 * one-character labels get their own NUL-terminated copies in an arena
 * sized from the file (at most 3 bytes per input byte), so nothing grows
 * but the row and string-pointer arrays.
 */
#include "io/tsv.h"

#include "io/io.h"
#include "io/text.h"

#include <stdlib.h>
#include <string.h>

/* Rows are built with offsets while the arrays may still move. */
typedef struct row_off {
    size_t line, label, text; /* byte offsets into buf; label SIZE_MAX = none */
    size_t ntok, cps, strs, labs; /* first code point / word / step label index */
} row_off;

typedef struct parser {
    const char *name;
    const rnn__tsv_options *o;
    char *buf;
    size_t size;
    char *arena;
    size_t arena_len;
    uint32_t *cps;
    size_t ncps;
    size_t *strs; /* offsets into arena */
    size_t nstrs, capstrs;
    row_off *rows;
    size_t nrows, caprows;
    rnn_error *err;
} parser;

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r';
}

static int push_str(parser *p, size_t off)
{
    if (p->nstrs == p->capstrs) {
        size_t cap = p->capstrs ? p->capstrs * 2 : 1024;
        size_t *n = rnn__realloc(p->strs, cap * sizeof *n);
        if (!n)
            return 0;
        p->strs = n;
        p->capstrs = cap;
    }
    p->strs[p->nstrs++] = off;
    return 1;
}

/* Copies s[0..n) into the arena as one NUL-terminated string. */
static size_t arena_put(parser *p, const char *s, size_t n)
{
    size_t off = p->arena_len;
    memcpy(p->arena + off, s, n);
    p->arena[off + n] = '\0';
    p->arena_len += n + 1;
    return off;
}

static const char *unit_name(const parser *p, size_t n)
{
    if (p->o->tokens == RNN__TOK_WORD)
        return n == 1 ? "word" : "words";
    return n == 1 ? "character" : "characters";
}

/* Tokens of the text field text[0..n): code points or words. */
static rnn_status tokenize(parser *p, row_off *r, const char *text, size_t n)
{
    r->cps = p->ncps;
    r->strs = p->nstrs;
    r->ntok = 0;
    if (p->o->tokens == RNN__TOK_CHAR) {
        const unsigned char *s = (const unsigned char *)text;
        for (size_t i = 0; i < n;) {
            size_t len = rnn__utf8_len(s + i, n - i); /* validated before */
            p->cps[p->ncps++] = rnn__utf8_decode1(s + i, len);
            i += len;
            r->ntok++;
        }
        return RNN_OK;
    }
    for (size_t i = 0; i < n;) {
        while (i < n && is_space(text[i]))
            i++;
        size_t j = i;
        while (j < n && !is_space(text[j]))
            j++;
        if (j > i) {
            if (!push_str(p, arena_put(p, text + i, j - i)))
                return rnn__fail(p->err, RNN_ENOMEM, "%s: out of memory", p->name);
            r->ntok++;
        }
        i = j;
    }
    return RNN_OK;
}

/* One label per token: separated by spaces when the field has a space;
 * otherwise one per character (character tokens) or the whole field (one
 * word). */
static rnn_status split_labels(parser *p, row_off *r, const char *field)
{
    size_t n = strlen(field), count = 0;
    r->labs = p->nstrs;
    if (strchr(field, ' ')) {
        for (size_t i = 0; i < n;) {
            while (i < n && field[i] == ' ')
                i++;
            size_t j = i;
            while (j < n && field[j] != ' ')
                j++;
            if (j > i) {
                if (!push_str(p, arena_put(p, field + i, j - i)))
                    return rnn__fail(p->err, RNN_ENOMEM, "%s: out of memory", p->name);
                count++;
            }
            i = j;
        }
    } else if (p->o->tokens == RNN__TOK_CHAR) {
        const unsigned char *s = (const unsigned char *)field;
        for (size_t i = 0; i < n; count++) {
            size_t len = rnn__utf8_len(s + i, n - i);
            if (!push_str(p, arena_put(p, field + i, len)))
                return rnn__fail(p->err, RNN_ENOMEM, "%s: out of memory", p->name);
            i += len;
        }
    } else {
        if (!push_str(p, arena_put(p, field, n)))
            return rnn__fail(p->err, RNN_ENOMEM, "%s: out of memory", p->name);
        count = 1;
    }
    if (count != r->ntok)
        return rnn__fail(p->err, RNN_EFORMAT, "%s: line %zu: %zu label%s for %zu %s", p->name,
                         r->line, count, count == 1 ? "" : "s", r->ntok, unit_name(p, r->ntok));
    return RNN_OK;
}

/* Line `line` is buf[a..b) (no newline, no trailing \r, not empty). */
static rnn_status parse_line(parser *p, size_t line, size_t a, size_t b, int *labelled,
                             size_t *first_line)
{
    char *s = p->buf + a;
    const size_t n = b - a;
    size_t tabs = 0;
    for (size_t i = 0; i < n; i++)
        tabs += s[i] == '\t';
    if (*labelled < 0) { /* RNN__TSV_EITHER: the first line decides */
        *labelled = tabs > 0;
        *first_line = line;
    }
    row_off r = {line, SIZE_MAX, a, 0, 0, 0, 0};
    if (*labelled) {
        if (tabs == 0) {
            if (p->o->labels == RNN__TSV_EITHER)
                return rnn__fail(p->err, RNN_EFORMAT,
                                 "%s: line %zu: no tab, but line %zu has label<TAB>text", p->name,
                                 line, *first_line);
            return rnn__fail(p->err, RNN_EFORMAT, "%s: line %zu: expected %s<TAB>text (no tab)",
                             p->name, line, p->o->per_step ? "labels" : "label");
        }
        if (tabs > 1)
            return rnn__fail(p->err, RNN_EFORMAT,
                             "%s: line %zu: expected %s<TAB>text, found %zu tab-separated fields",
                             p->name, line, p->o->per_step ? "labels" : "label", tabs + 1);
        char *tab = memchr(s, '\t', n);
        *tab = '\0';
        if (tab == s)
            return rnn__fail(p->err, RNN_EFORMAT, "%s: line %zu: empty label", p->name, line);
        r.label = a;
        r.text = a + (size_t)(tab - s) + 1;
    } else if (tabs > 0) {
        if (p->o->labels == RNN__TSV_EITHER)
            return rnn__fail(p->err, RNN_EFORMAT,
                             "%s: line %zu: a tab, but line %zu is text only (no label)", p->name,
                             line, *first_line);
        return rnn__fail(p->err, RNN_EFORMAT, "%s: line %zu: expected text only, found a tab",
                         p->name, line);
    }
    p->buf[b] = '\0';
    rnn_status st = tokenize(p, &r, p->buf + r.text, b - r.text);
    if (st)
        return st;
    if (r.ntok == 0)
        return rnn__fail(p->err, RNN_EFORMAT,
                         "%s: line %zu: empty text (a sequence needs at least one %s)", p->name,
                         line, p->o->tokens == RNN__TOK_WORD ? "word" : "character");
    if (p->o->max_tokens && r.ntok > p->o->max_tokens)
        return rnn__fail(p->err, RNN_EFORMAT, "%s: line %zu: %zu %s, more than the limit of %zu",
                         p->name, line, r.ntok, unit_name(p, r.ntok), p->o->max_tokens);
    if (p->o->per_step && r.label != SIZE_MAX && (st = split_labels(p, &r, p->buf + r.label)))
        return st;
    if (p->nrows == p->caprows) {
        size_t cap = p->caprows ? p->caprows * 2 : 256;
        row_off *nr = rnn__realloc(p->rows, cap * sizeof *nr);
        if (!nr)
            return rnn__fail(p->err, RNN_ENOMEM, "%s: out of memory", p->name);
        p->rows = nr;
        p->caprows = cap;
    }
    p->rows[p->nrows++] = r;
    return RNN_OK;
}

void rnn__tsv_free(rnn__tsv *t)
{
    rnn__free(t->rows);
    rnn__free(t->buf);
    rnn__free(t->chars);
    rnn__free(t->cps);
    rnn__free((void *)t->strs);
    memset(t, 0, sizeof *t);
}

rnn_status rnn__tsv_parse(rnn__tsv *t, const void *data, size_t size, const char *name,
                          const rnn__tsv_options *o, rnn_error *err)
{
    memset(t, 0, sizeof *t);
    /* validate the whole file first (the messages of rnn__utf8_decode, without
     * its copy): encoding errors name the byte and line */
    const unsigned char *u = data;
    rnn_status st;
    for (size_t i = (size >= 3 && u[0] == 0xef && u[1] == 0xbb && u[2] == 0xbf) ? 3 : 0, line = 1;
         i < size;) {
        if (u[i] == 0)
            return rnn__fail(err, RNN_EFORMAT,
                             "%s: NUL byte at offset %zu (line %zu): this looks like a binary "
                             "file, not text", name, i, line);
        size_t len = rnn__utf8_len(u + i, size - i);
        if (!len)
            return rnn__fail(err, RNN_EFORMAT,
                             "%s: invalid UTF-8 at byte offset %zu (line %zu): byte 0x%02x", name,
                             i, line, u[i]);
        line += u[i] == '\n';
        i += len;
    }

    parser p = {0};
    p.name = name;
    p.o = o;
    p.err = err;
    p.size = size;
    size_t arena_cap = 0;
    if (size > SIZE_MAX / 4 - 16 || !rnn__mul(&arena_cap, size, 3))
        return rnn__fail(err, RNN_EOVERFLOW, "%s: file too large", name);
    p.buf = rnn__malloc(size + 1);
    p.arena = rnn__malloc(arena_cap + 16);
    p.cps = o->tokens == RNN__TOK_CHAR ? rnn__malloc((size + 1) * sizeof *p.cps) : NULL;
    if (!p.buf || !p.arena || (o->tokens == RNN__TOK_CHAR && !p.cps)) {
        st = rnn__fail(err, RNN_ENOMEM, "%s: out of memory reading %zu bytes", name, size);
        goto fail;
    }
    if (size)
        memcpy(p.buf, data, size);
    p.buf[size] = '\0';

    int labelled = o->labels == RNN__TSV_LABELLED ? 1 : o->labels == RNN__TSV_TEXT_ONLY ? 0 : -1;
    size_t first_line = 0, line = 0;
    size_t i = (size >= 3 && (unsigned char)p.buf[0] == 0xef && (unsigned char)p.buf[1] == 0xbb &&
                (unsigned char)p.buf[2] == 0xbf) ? 3 : 0;
    while (i < size) {
        size_t e = i;
        while (e < size && p.buf[e] != '\n')
            e++;
        line++;
        size_t b = e;
        if (b > i && p.buf[b - 1] == '\r')
            b--;
        if (b > i && (st = parse_line(&p, line, i, b, &labelled, &first_line)))
            goto fail;
        i = e + 1;
    }
    if (p.nrows == 0) {
        st = rnn__fail(err, RNN_EFORMAT, "%s: no examples (the file has no non-empty line)", name);
        goto fail;
    }

    t->rows = rnn__malloc(p.nrows * sizeof *t->rows);
    t->strs = rnn__malloc((p.nstrs ? p.nstrs : 1) * sizeof *t->strs);
    if (!t->rows || !t->strs) {
        rnn__free(t->rows);
        rnn__free((void *)t->strs);
        t->rows = NULL;
        t->strs = NULL;
        st = rnn__fail(err, RNN_ENOMEM, "%s: out of memory", name);
        goto fail;
    }
    for (size_t k = 0; k < p.nstrs; k++)
        t->strs[k] = p.arena + p.strs[k];
    for (size_t k = 0; k < p.nrows; k++) {
        const row_off *r = &p.rows[k];
        rnn__tsv_row *w = &t->rows[k];
        w->line = r->line;
        w->label = r->label == SIZE_MAX ? NULL : p.buf + r->label;
        w->text = p.buf + r->text;
        w->ntok = r->ntok;
        w->cps = p.cps ? p.cps + r->cps : NULL;
        w->words = o->tokens == RNN__TOK_WORD ? t->strs + r->strs : NULL;
        w->step_labels = o->per_step && w->label ? t->strs + r->labs : NULL;
    }
    t->count = p.nrows;
    t->labelled = labelled == 1;
    t->buf = p.buf;
    t->chars = p.arena;
    t->cps = p.cps;
    rnn__free(p.strs);
    rnn__free(p.rows);
    return RNN_OK;
fail:
    rnn__free(p.buf);
    rnn__free(p.arena);
    rnn__free(p.cps);
    rnn__free(p.strs);
    rnn__free(p.rows);
    return st;
}

rnn_status rnn__tsv_read(rnn__tsv *t, const char *path, const rnn__tsv_options *o,
                         rnn_error *err)
{
    memset(t, 0, sizeof *t);
    unsigned char *data;
    size_t size;
    rnn_status st = rnn__read_file(path, &data, &size, err);
    if (st)
        return st;
    st = rnn__tsv_parse(t, data, size, path, o, err);
    rnn__free(data);
    return st;
}

/* ---- tables of names ----------------------------------------------------- */

static int cmp_str_ptr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* qsort has no context argument: sort (string, id) pairs instead */
typedef struct sid {
    const char *s;
    int32_t id;
} sid;

static int cmp_sid(const void *a, const void *b)
{
    return strcmp(((const sid *)a)->s, ((const sid *)b)->s);
}

void rnn__strtab_free(rnn__strtab *t)
{
    for (int i = 0; t->s && i < t->n; i++)
        rnn__free(t->s[i]);
    rnn__free(t->s);
    rnn__free(t->by);
    t->s = NULL;
    t->by = NULL;
    t->n = 0;
}

rnn_status rnn__strtab_from_list(rnn__strtab *t, const char *const *items, size_t n,
                                 rnn_error *err)
{
    t->s = NULL;
    t->by = NULL;
    t->n = 0;
    if (n > (1u << 24))
        return rnn__fail(err, RNN_EOVERFLOW, "%zu names, more than %d", n, 1 << 24);
    sid *tmp = rnn__malloc((n ? n : 1) * sizeof *tmp);
    t->s = rnn__calloc(n ? n : 1, sizeof *t->s);
    t->by = rnn__malloc((n ? n : 1) * sizeof *t->by);
    if (!tmp || !t->s || !t->by) {
        rnn__free(tmp);
        rnn__strtab_free(t);
        return rnn__fail(err, RNN_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        t->s[i] = rnn__strdup(items[i]);
        t->n = (int)i + 1;
        if (!t->s[i]) {
            rnn__free(tmp);
            rnn__strtab_free(t);
            return rnn__fail(err, RNN_ENOMEM, "out of memory");
        }
        tmp[i].s = t->s[i];
        tmp[i].id = (int32_t)i;
    }
    qsort(tmp, n, sizeof *tmp, cmp_sid);
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && strcmp(tmp[i - 1].s, tmp[i].s) == 0) {
            rnn_status st = rnn__fail(err, RNN_EFORMAT, "name '%s' appears twice", tmp[i].s);
            rnn__free(tmp);
            rnn__strtab_free(t);
            return st;
        }
        t->by[i] = tmp[i].id;
    }
    rnn__free(tmp);
    return RNN_OK;
}

rnn_status rnn__strtab_build(rnn__strtab *t, const char *const *items, size_t n, rnn_error *err)
{
    const char **v = rnn__malloc((n ? n : 1) * sizeof *v);
    if (!v) {
        t->s = NULL;
        t->by = NULL;
        t->n = 0;
        return rnn__fail(err, RNN_ENOMEM, "out of memory");
    }
    memcpy(v, items, n * sizeof *v);
    qsort(v, n, sizeof *v, cmp_str_ptr);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (k == 0 || strcmp(v[k - 1], v[i]) != 0)
            v[k++] = v[i];
    rnn_status st = rnn__strtab_from_list(t, v, k, err);
    rnn__free(v);
    return st;
}

int rnn__strtab_index(const rnn__strtab *t, const char *s)
{
    int lo = 0, hi = t->n - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2, c = strcmp(t->s[t->by[mid]], s);
        if (c == 0)
            return t->by[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

char *rnn__strtab_to_json(const rnn__strtab *t)
{
    rnn__buf b = {0};
    rnn__buf_puts(&b, "[");
    for (int i = 0; i < t->n; i++) {
        if (i)
            rnn__buf_puts(&b, ", ");
        rnn__buf_json_string(&b, t->s[i]);
    }
    rnn__buf_puts(&b, "]");
    if (b.oom) {
        rnn__buf_free(&b);
        return NULL;
    }
    return b.data;
}

rnn_status rnn__strtab_from_json(rnn__strtab *t, const char *json, const char *what,
                                 rnn_error *err)
{
    t->s = NULL;
    t->by = NULL;
    t->n = 0;
    rnn__json *j;
    rnn_status st = rnn__json_parse(&j, json, strlen(json), err);
    if (st) {
        rnn__error_prefix(err, "%s", what);
        return st;
    }
    if (j->kind != RNN__JSON_ARRAY || j->count == 0) {
        rnn__json_free(j);
        return rnn__fail(err, RNN_EFORMAT, "%s: expected a non-empty array of strings", what);
    }
    const char **v = rnn__malloc(j->count * sizeof *v);
    if (!v) {
        rnn__json_free(j);
        return rnn__fail(err, RNN_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < j->count; i++) {
        const rnn__json *e = &j->items[i];
        if (e->kind != RNN__JSON_STRING || e->len != strlen(e->str) || e->len == 0) {
            rnn__free(v);
            rnn__json_free(j);
            return rnn__fail(err, RNN_EFORMAT, "%s: item %zu is not a non-empty string", what, i);
        }
        v[i] = e->str;
    }
    st = rnn__strtab_from_list(t, v, j->count, err);
    if (st)
        rnn__error_prefix(err, "%s", what);
    rnn__free(v);
    rnn__json_free(j);
    return st;
}
