/*
 * cmd_seq2seq.c -- `rnn seq2seq`: many-to-many of unequal length, an
 * encoder-decoder with attention (model/seq2seq.h) on source<TAB>target
 * pairs, at the character or the word level.
 *
 *   rnn seq2seq train PAIRS.tsv [--attention ...] [--bidirectional] [training flags]
 *   rnn seq2seq translate CKPT [FILE] [--beam K]        (FILE or standard input)
 *   rnn seq2seq eval CKPT PAIRS.tsv [--beam K]
 *
 * Training runs the shared loop (train_common.h: checkpoints, log.csv,
 * loss.svg, Ctrl-C, --resume), then decodes the held-out pairs with the
 * best checkpoint: exact-match accuracy and character error rate go to
 * DIR/metrics.json and standard output, the attention weights of the first
 * held-out pair to DIR/attention.svg.
 */
#include "cli/heatmap.h"
#include "cli/train_common.h"

#include "io/io.h"
#include "io/text.h"
#include "model/seq2seq.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- tokens and vocabularies ----------------------------------------------- */

typedef struct span {
    const char *p; /* UTF-8 bytes of one token, not NUL-terminated */
    int n;
} span;

static int span_cmp(const void *a, const void *b)
{
    const span *x = a, *y = b;
    int c = memcmp(x->p, y->p, (size_t)(x->n < y->n ? x->n : y->n));
    return c ? c : (x->n > y->n) - (x->n < y->n);
}

/* The distinct tokens, sorted by their bytes (for characters: by code point). */
typedef struct vocab {
    span *tok;
    int n;
} vocab;

static void vocab_free(vocab *v)
{
    free(v->tok);
    v->tok = NULL;
    v->n = 0;
}

static int vocab_find(const vocab *v, span s)
{
    const span *f = bsearch(&s, v->tok, (size_t)v->n, sizeof *v->tok, span_cmp);
    return f ? (int)(f - v->tok) : -1;
}

static int vocab_build(vocab *v, const span *all, size_t n)
{
    v->tok = malloc((n ? n : 1) * sizeof *v->tok);
    if (!v->tok)
        return 0;
    memcpy(v->tok, all, n * sizeof *all);
    qsort(v->tok, n, sizeof *v->tok, span_cmp);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (k == 0 || span_cmp(&v->tok[k - 1], &v->tok[i]) != 0)
            v->tok[k++] = v->tok[i];
    v->n = (int)k;
    return 1;
}

/* The longest token a vocabulary holds (read_pairs refuses longer words,
 * and a checkpoint's vocabulary is checked against the same limit). */
enum { MAX_TOKEN_BYTES = 1000 };

static char *vocab_json(const vocab *v)
{
    rnn__buf b = {0};
    char tmp[MAX_TOKEN_BYTES + 1];
    rnn__buf_puts(&b, "[");
    for (int i = 0; i < v->n; i++) {
        int n = v->tok[i].n < (int)sizeof tmp - 1 ? v->tok[i].n : (int)sizeof tmp - 1;
        memcpy(tmp, v->tok[i].p, (size_t)n);
        tmp[n] = '\0';
        rnn__buf_puts(&b, i ? ", " : "");
        rnn__buf_json_string(&b, tmp);
    }
    rnn__buf_puts(&b, "]");
    if (b.oom) {
        rnn__buf_free(&b);
        return NULL;
    }
    return b.data;
}

/* A vocabulary from a checkpoint's JSON array of strings; the spans point
 * into the parsed JSON, which must outlive v. 0 if malformed. */
static int vocab_from_json(vocab *v, const rnn__json *a)
{
    v->tok = NULL;
    v->n = 0;
    if (!a || a->kind != RNN__JSON_ARRAY || a->count < 1 || a->count > (1u << 24))
        return 0;
    v->tok = malloc(a->count * sizeof *v->tok);
    if (!v->tok)
        return 0;
    for (size_t i = 0; i < a->count; i++) {
        const rnn__json *s = &a->items[i];
        if (s->kind != RNN__JSON_STRING || s->len < 1 || s->len > MAX_TOKEN_BYTES ||
            (i > 0 && span_cmp(&v->tok[i - 1], &(span){s->str, (int)s->len}) >= 0)) {
            vocab_free(v);
            return 0;
        }
        v->tok[i] = (span){s->str, (int)s->len};
    }
    v->n = (int)a->count;
    return 1;
}

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\v' || c == '\f'; }

/* Splits s[0..n) into tokens: code points (words = 0) or runs of
 * non-space characters. out has room for n spans. Returns the count, or -1
 * with *bad = the offset of invalid UTF-8. */
static int tokenize(const char *s, size_t n, int words, span *out, size_t *bad)
{
    int k = 0;
    size_t i = 0;
    while (i < n) {
        size_t l = rnn__utf8_len((const unsigned char *)s + i, n - i);
        if (l == 0) {
            *bad = i;
            return -1;
        }
        if (!words) {
            out[k++] = (span){s + i, (int)l};
        } else if (!is_space(s[i])) {
            if (i == 0 || is_space(s[i - 1]))
                out[k++] = (span){s + i, 0};
            out[k - 1].n += (int)l;
        }
        i += l;
    }
    return k;
}

/* Tokens joined back into text: characters as they are, words with one space. */
static void join(rnn__buf *b, const span *t, int n, int words)
{
    for (int i = 0; i < n; i++) {
        if (words && i)
            rnn__buf_puts(b, " ");
        rnn__buf_append(b, t[i].p, (size_t)t[i].n);
    }
}

static char *join_str(const span *t, int n, int words)
{
    rnn__buf b = {0};
    join(&b, t, n, words);
    rnn__buf_append(&b, "", 1);
    if (b.oom) {
        rnn__buf_free(&b);
        return NULL;
    }
    return b.data;
}

/* A token for messages: 'x' or U+00E9 'é' for a character, 'word' for a word. */
static void describe(char *out, size_t n, span s, int words)
{
    if (!words) {
        size_t l = rnn__utf8_len((const unsigned char *)s.p, (size_t)s.n);
        rnn__describe_char(l ? rnn__utf8_decode1((const unsigned char *)s.p, l) : 0xFFFD, out, n);
    } else {
        snprintf(out, n, "'%.*s'", s.n > 60 ? 60 : s.n, s.p);
    }
}

/* ---- reading lines ------------------------------------------------------------ */

/* The lines of a text buffer (a UTF-8 byte-order mark skipped, \r\n
 * accepted): calls fn(line, start, len) for each; stops at a non-zero
 * return. A NUL byte is refused as a binary file. */
typedef int (*line_fn)(void *ctx, size_t line, const char *s, size_t n);

static int each_line(const char *verb, const char *name, const unsigned char *data, size_t size,
                     line_fn fn, void *ctx)
{
    size_t i = size >= 3 && data[0] == 0xef && data[1] == 0xbb && data[2] == 0xbf ? 3 : 0;
    const void *nul = memchr(data, 0, size);
    if (nul) {
        size_t off = (size_t)((const unsigned char *)nul - data), line = 1;
        for (size_t k = 0; k < off; k++)
            line += data[k] == '\n';
        return cli_error(verb, CLI_EXIT_INPUT, "%s: line %zu: NUL byte at offset %zu: this looks "
                         "like a binary file, not text", name, line, off);
    }
    size_t line = 0;
    while (i < size) {
        const unsigned char *e = memchr(data + i, '\n', size - i);
        size_t end = e ? (size_t)(e - data) : size, n = end - i;
        if (n && data[i + n - 1] == '\r')
            n--;
        int rc = fn(ctx, ++line, (const char *)data + i, n);
        if (rc)
            return rc;
        i = end + 1;
    }
    return 0;
}

static int read_input(const char *verb, const char *path, unsigned char **data, size_t *size)
{
    rnn_error e;
    if (path) {
        rnn_status st = rnn__read_file(path, data, size, &e);
        return st ? cli_fail_status(verb, st, e.msg) : 0;
    }
    size_t cap = 1 << 16, n = 0;
    unsigned char *b = malloc(cap + 1);
    while (b) {
        size_t got = fread(b + n, 1, cap - n, stdin);
        n += got;
        if (got == 0)
            break;
        if (n == cap) {
            unsigned char *nb = cap > ((size_t)1 << 40) ? NULL : realloc(b, 2 * cap + 1);
            if (!nb) {
                free(b);
                b = NULL;
                break;
            }
            b = nb;
            cap *= 2;
        }
    }
    if (!b)
        return cli_error(verb, CLI_EXIT_INTERNAL, "out of memory reading standard input");
    if (ferror(stdin)) {
        free(b);
        return cli_error(verb, CLI_EXIT_INPUT, "standard input: read error");
    }
    b[n] = '\0';
    *data = b;
    *size = n;
    return 0;
}

/* ---- pairs files -------------------------------------------------------------- */

typedef struct pairs {
    int n;
    unsigned char *buf;   /* the file (owned; the spans point into it) */
    span *src, *tgt;      /* every token, pair after pair */
    size_t nsrc, ntgt, cap;
    int64_t *src_off, *tgt_off; /* [n+1] */
    size_t *line;         /* [n] line numbers */
    int cap_pairs;
    /* reading */
    const char *verb, *name;
    int words, max_len;
} pairs;

static void pairs_free(pairs *p)
{
    free(p->buf);
    free(p->src);
    free(p->tgt);
    free(p->src_off);
    free(p->tgt_off);
    free(p->line);
    memset(p, 0, sizeof *p);
}

static int grow(pairs *p, size_t need)
{
    if (p->nsrc + need <= p->cap && p->ntgt + need <= p->cap)
        return 1;
    size_t cap = p->cap ? p->cap : 4096;
    while (p->nsrc + need > cap || p->ntgt + need > cap)
        cap *= 2;
    span *a = realloc(p->src, cap * sizeof *a);
    if (a)
        p->src = a;
    span *b = a ? realloc(p->tgt, cap * sizeof *b) : NULL;
    if (b)
        p->tgt = b;
    if (!a || !b)
        return 0;
    p->cap = cap;
    return 1;
}

static const char *unit(int words, int n)
{
    return words ? (n == 1 ? "word" : "words") : (n == 1 ? "character" : "characters");
}

static int pair_line(void *ctx, size_t line, const char *s, size_t n)
{
    pairs *p = ctx;
    if (n == 0)
        return 0; /* blank lines separate nothing; skipped */
    const char *tab = memchr(s, '\t', n);
    if (!tab)
        return cli_error(p->verb, CLI_EXIT_INPUT,
                         "%s: line %zu: expected source<TAB>target (no tab)", p->name, line);
    const char *tab2 = memchr(tab + 1, '\t', n - (size_t)(tab + 1 - s));
    if (tab2) {
        int fields = 1;
        for (size_t i = 0; i < n; i++)
            fields += s[i] == '\t';
        return cli_error(p->verb, CLI_EXIT_INPUT,
                         "%s: line %zu: expected source<TAB>target (found %d fields)", p->name,
                         line, fields);
    }
    if (p->n == p->cap_pairs) {
        int cap = p->cap_pairs ? 2 * p->cap_pairs : 1024;
        int64_t *so = realloc(p->src_off, ((size_t)cap + 1) * sizeof *so);
        if (so)
            p->src_off = so;
        int64_t *to = so ? realloc(p->tgt_off, ((size_t)cap + 1) * sizeof *to) : NULL;
        if (to)
            p->tgt_off = to;
        size_t *ln = to ? realloc(p->line, (size_t)cap * sizeof *ln) : NULL;
        if (ln)
            p->line = ln;
        if (!ln || cap > (1 << 28))
            return cli_error(p->verb, CLI_EXIT_INTERNAL, "out of memory reading %s", p->name);
        p->cap_pairs = cap;
        if (p->n == 0)
            p->src_off[0] = p->tgt_off[0] = 0;
    }
    if (!grow(p, n))
        return cli_error(p->verb, CLI_EXIT_INTERNAL, "out of memory reading %s", p->name);
    const char *field[2] = {s, tab + 1};
    size_t flen[2] = {(size_t)(tab - s), n - (size_t)(tab + 1 - s)};
    static const char *const what[2] = {"source", "target"};
    int count[2];
    for (int f = 0; f < 2; f++) {
        size_t bad;
        span *out = f == 0 ? p->src + p->nsrc : p->tgt + p->ntgt;
        int k = tokenize(field[f], flen[f], p->words, out, &bad);
        if (k < 0)
            return cli_error(p->verb, CLI_EXIT_INPUT, "%s: line %zu: invalid UTF-8 at byte offset "
                             "%zu", p->name, line,
                             (size_t)(field[f] + bad - (const char *)p->buf));
        if (k == 0)
            return cli_error(p->verb, CLI_EXIT_INPUT, "%s: line %zu: empty %s (expected "
                             "source<TAB>target, both non-empty)", p->name, line, what[f]);
        if (k > p->max_len)
            return cli_error(p->verb, CLI_EXIT_INPUT, "%s: line %zu: %s of %d %s is longer than the "
                             "limit of %d (--max-len)", p->name, line, what[f], k,
                             unit(p->words, k), p->max_len);
        for (int i = 0; i < k; i++)
            if (out[i].n > MAX_TOKEN_BYTES)
                return cli_error(p->verb, CLI_EXIT_INPUT, "%s: line %zu: a %s word of %d bytes; "
                                 "words of at most %d bytes are expected", p->name, line, what[f],
                                 out[i].n, MAX_TOKEN_BYTES);
        count[f] = k;
    }
    p->nsrc += (size_t)count[0];
    p->ntgt += (size_t)count[1];
    p->line[p->n] = line;
    p->n++;
    p->src_off[p->n] = (int64_t)p->nsrc;
    p->tgt_off[p->n] = (int64_t)p->ntgt;
    return 0;
}

/* Reads PAIRS: one source<TAB>target per line (blank lines skipped). */
static int read_pairs(const char *verb, const char *path, int words, int max_len, pairs *p)
{
    memset(p, 0, sizeof *p);
    size_t size;
    rnn_error e;
    rnn_status st = rnn__read_file(path, &p->buf, &size, &e);
    if (st)
        return cli_fail_status(verb, st, e.msg);
    p->verb = verb;
    p->name = path;
    p->words = words;
    p->max_len = max_len;
    int rc = each_line(verb, path, p->buf, size, pair_line, p);
    if (!rc && p->n == 0)
        rc = cli_error(verb, CLI_EXIT_INPUT, "%s: no source<TAB>target pairs%s", path,
                       size ? "" : " (the file is empty)");
    if (rc)
        pairs_free(p);
    return rc;
}

/* ---- checkpoints ------------------------------------------------------------- */

typedef struct loaded {
    rnn__s2s *m;
    vocab src, tgt; /* tgt: ids 1..n; 0 is </s> */
    int words;
    rnn__json *jsrc, *jtgt; /* the vocabularies' storage */
} loaded;

static void loaded_free(loaded *l)
{
    rnn__s2s_free(l->m);
    vocab_free(&l->src);
    vocab_free(&l->tgt);
    rnn__json_free(l->jsrc);
    rnn__json_free(l->jtgt);
    memset(l, 0, sizeof *l);
}

static int load_model(const char *verb, const char *path, loaded *l)
{
    memset(l, 0, sizeof *l);
    rnn__st f;
    rnn_error e;
    rnn_status st = rnn__st_read(&f, path, &e);
    if (st)
        return cli_fail_status(verb, st, e.msg);
    int rc = 0;
    const char *task = rnn__st_meta(&f, "rnn.task");
    if (task && strcmp(task, "seq2seq") != 0) {
        rc = cli_error(verb, CLI_EXIT_INPUT, "%s: a model for '%s'; 'rnn %s' needs a model from "
                       "'rnn seq2seq train'", path, task, verb);
        goto out;
    }
    if ((st = rnn__s2s_from_st(&l->m, &f, path, &e))) {
        rc = cli_fail_status(verb, st, e.msg);
        goto out;
    }
    const char *tk = rnn__st_meta(&f, "seq2seq.tokens"), *vs = rnn__st_meta(&f, "seq2seq.src_vocab");
    const char *vt = rnn__st_meta(&f, "seq2seq.tgt_vocab");
    if (!tk || (strcmp(tk, "char") != 0 && strcmp(tk, "word") != 0)) {
        rc = cli_error(verb, CLI_EXIT_INPUT, "%s: seq2seq.tokens must be \"char\" or \"word\"", path);
        goto out;
    }
    l->words = strcmp(tk, "word") == 0;
    if (!vs || !vt || rnn__json_parse(&l->jsrc, vs, strlen(vs), &e) ||
        rnn__json_parse(&l->jtgt, vt, strlen(vt), &e) || !vocab_from_json(&l->src, l->jsrc) ||
        !vocab_from_json(&l->tgt, l->jtgt)) {
        rc = cli_error(verb, CLI_EXIT_INPUT, "%s: seq2seq.src_vocab / seq2seq.tgt_vocab must be "
                       "sorted arrays of distinct non-empty strings", path);
        goto out;
    }
    if (l->src.n != l->m->cfg.src_vocab || l->tgt.n + 1 != l->m->cfg.tgt_vocab)
        rc = cli_error(verb, CLI_EXIT_INPUT, "%s: vocabularies of %d and %d tokens, but the model "
                       "has %d and %d (with </s>)", path, l->src.n, l->tgt.n, l->m->cfg.src_vocab,
                       l->m->cfg.tgt_vocab);
out:
    rnn__st_free(&f);
    if (rc)
        loaded_free(l);
    return rc;
}

/* ---- decoding and metrics ------------------------------------------------------- */

/* Levenshtein distance between two UTF-8 strings, over code points. */
static size_t cp_count(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

static int edit_distance(const char *a, const char *b, size_t *dist)
{
    size_t na = cp_count(a), nb = cp_count(b);
    uint32_t *x = malloc((na + 1) * sizeof *x), *y = malloc((nb + 1) * sizeof *y);
    size_t *row = malloc((nb + 1) * sizeof *row);
    if (!x || !y || !row) {
        free(x);
        free(y);
        free(row);
        return 0;
    }
    for (size_t i = 0, k = 0; a[k]; i++) {
        size_t l = rnn__utf8_len((const unsigned char *)a + k, 4);
        x[i] = rnn__utf8_decode1((const unsigned char *)a + k, l ? l : 1);
        k += l ? l : 1;
    }
    for (size_t i = 0, k = 0; b[k]; i++) {
        size_t l = rnn__utf8_len((const unsigned char *)b + k, 4);
        y[i] = rnn__utf8_decode1((const unsigned char *)b + k, l ? l : 1);
        k += l ? l : 1;
    }
    for (size_t j = 0; j <= nb; j++)
        row[j] = j;
    for (size_t i = 1; i <= na; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= nb; j++) {
            size_t up = row[j], best = diag + (x[i - 1] != y[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    *dist = row[nb];
    free(x);
    free(y);
    free(row);
    return 1;
}

/* Output ids -> text. */
static char *detok(const loaded *l, const int32_t *ids, int n)
{
    rnn__buf b = {0};
    for (int i = 0; i < n; i++) {
        if (l->words && i)
            rnn__buf_puts(&b, " ");
        const span *s = &l->tgt.tok[ids[i] - 1];
        rnn__buf_append(&b, s->p, (size_t)s->n);
    }
    rnn__buf_append(&b, "", 1);
    if (b.oom) {
        rnn__buf_free(&b);
        return NULL;
    }
    return b.data;
}

/* Translates n sources (ids) in chunks; out[i] gets the text (malloc'ed),
 * score[i] and finished[i] (each may be NULL) the search's score and
 * whether </s> ended the output. */
static int translate_all(const char *verb, const loaded *l, int32_t *const *src,
                         const int32_t *len, int n, int beam, char **out, double *score,
                         int *finished)
{
    enum { CHUNK = 256 };
    rnn__s2s_result res[CHUNK];
    int32_t *buf = malloc((size_t)CHUNK * (size_t)l->m->cfg.max_len * sizeof *buf);
    if (!buf)
        return cli_error(verb, CLI_EXIT_INTERNAL, "out of memory");
    int rc = 0;
    for (int lo = 0; lo < n && !rc; lo += CHUNK) {
        const int k = n - lo < CHUNK ? n - lo : CHUNK;
        for (int i = 0; i < k; i++)
            res[i] = (rnn__s2s_result){buf + (size_t)i * l->m->cfg.max_len, l->m->cfg.max_len,
                                       0, 0, 0, 0};
        rnn_error e;
        rnn_status st = rnn__s2s_translate(l->m, (const int32_t *const *)src + lo, len + lo, k,
                                           beam, res, NULL, &e);
        if (st) {
            rc = cli_fail_status(verb, st, e.msg);
            break;
        }
        for (int i = 0; i < k && !rc; i++) {
            out[lo + i] = detok(l, res[i].tokens, res[i].len);
            if (!out[lo + i])
                rc = cli_error(verb, CLI_EXIT_INTERNAL, "out of memory");
            if (score)
                score[lo + i] = res[i].score;
            if (finished)
                finished[lo + i] = res[i].finished;
        }
    }
    free(buf);
    return rc;
}

typedef struct metrics {
    int n, exact;
    size_t edits, ref_chars;
    double exact_match, cer;
} metrics;

/* Decodes the pairs idx[0..n) of p (source ids ids/off) and scores them
 * against the reference targets; outputs[n] receives the texts. */
static int score_pairs(const char *verb, const loaded *l, const pairs *p, const int *idx, int n,
                       int beam, metrics *mt, char **outputs, char **refs)
{
    int32_t **src = calloc((size_t)n, sizeof *src), *len = calloc((size_t)n, sizeof *len);
    int rc = 0;
    if (!src || !len) {
        rc = cli_error(verb, CLI_EXIT_INTERNAL, "out of memory");
        goto out;
    }
    for (int i = 0; i < n && !rc; i++) {
        const int j = idx[i], ls = (int)(p->src_off[j + 1] - p->src_off[j]);
        const span *sp = p->src + p->src_off[j];
        src[i] = malloc((size_t)ls * sizeof **src);
        len[i] = ls;
        refs[i] = join_str(p->tgt + p->tgt_off[j], (int)(p->tgt_off[j + 1] - p->tgt_off[j]),
                           p->words);
        if (!src[i] || !refs[i]) {
            rc = cli_error(verb, CLI_EXIT_INTERNAL, "out of memory");
            break;
        }
        for (int t = 0; t < ls; t++) {
            int id = vocab_find(&l->src, sp[t]);
            if (id < 0) {
                char d[64];
                describe(d, sizeof d, sp[t], l->words);
                rc = cli_error(verb, CLI_EXIT_INPUT, "%s: line %zu: %s %s is not in the model's "
                               "source vocabulary", p->name, p->line[j], l->words ? "word" : "character", d);
                break;
            }
            src[i][t] = id;
        }
    }
    if (!rc)
        rc = translate_all(verb, l, src, len, n, beam, outputs, NULL, NULL);
    memset(mt, 0, sizeof *mt);
    mt->n = n;
    for (int i = 0; i < n && !rc; i++) {
        size_t d;
        if (!edit_distance(outputs[i], refs[i], &d)) {
            rc = cli_error(verb, CLI_EXIT_INTERNAL, "out of memory");
            break;
        }
        mt->exact += strcmp(outputs[i], refs[i]) == 0;
        mt->edits += d;
        mt->ref_chars += cp_count(refs[i]);
    }
    mt->exact_match = n ? (double)mt->exact / n : 0;
    mt->cer = mt->ref_chars ? (double)mt->edits / (double)mt->ref_chars : 0;
out:
    for (int i = 0; src && i < n; i++)
        free(src[i]);
    free(src);
    free(len);
    return rc;
}

static void print_metrics(FILE *fp, const char *what, const metrics *mt, int beam,
                          const char *ckpt)
{
    fprintf(fp, "%-18s %d (%s decoding, %s)\n", what, mt->n, beam > 1 ? "beam" : "greedy", ckpt);
    if (beam > 1)
        fprintf(fp, "%-18s %d\n", "beam width", beam);
    fprintf(fp, "%-18s %.4f  (%d of %d)\n", "exact match", mt->exact_match, mt->exact, mt->n);
    fprintf(fp, "%-18s %.4f  (%zu edits in %zu characters)\n", "character errors", mt->cer,
            mt->edits, mt->ref_chars);
}

static char *metrics_json(const char *split, const metrics *mt, int beam, const char *ckpt,
                          double val_loss, const pairs *p, const int *idx, char **outputs,
                          char **refs)
{
    rnn__buf b = {0};
    rnn__buf_printf(&b, "{\n  \"split\": \"%s\",\n  \"pairs\": %d,\n  \"decoding\": \"%s\",\n"
                        "  \"beam\": %d,\n  \"checkpoint\": ", split, mt->n,
                    beam > 1 ? "beam" : "greedy", beam);
    rnn__buf_json_string(&b, ckpt);
    rnn__buf_printf(&b, ",\n  \"exact_match\": %.6f,\n  \"cer\": %.6f,\n  \"exact\": %d,\n"
                        "  \"edits\": %zu,\n  \"reference_chars\": %zu,\n  \"val_loss\": ",
                    mt->exact_match, mt->cer, mt->exact, mt->edits, mt->ref_chars);
    if (val_loss == val_loss && val_loss < 1e300)
        rnn__buf_printf(&b, "%.6f", val_loss);
    else
        rnn__buf_puts(&b, "null");
    rnn__buf_puts(&b, ",\n  \"examples\": [");
    for (int i = 0; i < mt->n && i < 5; i++) {
        const int j = idx[i];
        char *srcs = join_str(p->src + p->src_off[j], (int)(p->src_off[j + 1] - p->src_off[j]),
                              p->words);
        rnn__buf_printf(&b, "%s\n    {\"source\": ", i ? "," : "");
        rnn__buf_json_string(&b, srcs ? srcs : "");
        rnn__buf_puts(&b, ", \"target\": ");
        rnn__buf_json_string(&b, refs[i]);
        rnn__buf_puts(&b, ", \"output\": ");
        rnn__buf_json_string(&b, outputs[i]);
        rnn__buf_puts(&b, "}");
        free(srcs);
    }
    rnn__buf_puts(&b, "\n  ]\n}\n");
    if (b.oom) {
        rnn__buf_free(&b);
        return NULL;
    }
    return b.data;
}

/* The attention weights of the greedy decoding of source sp[ls] (tokens
 * of the model's vocabulary) as a heat map. */
static int attention_svg(const char *verb, const loaded *l, const span *sp, int ls,
                         const char *path)
{
    if (l->m->cfg.attention == RNN__ATTN_NONE)
        return cli_error(verb, CLI_EXIT_INPUT, "%s: this model has no attention (--attention none)",
                         path);
    const int cap = l->m->cfg.max_len + 1;
    int32_t *src = malloc((size_t)ls * sizeof *src), *out = malloc((size_t)cap * sizeof *out);
    float *attn = calloc((size_t)cap * ls, sizeof *attn);
    const char **cl = calloc((size_t)ls, sizeof *cl), **rl = calloc((size_t)cap, sizeof *rl);
    char *labels = malloc((size_t)(ls + cap) * 64);
    int rc = 0;
    if (!src || !out || !attn || !cl || !rl || !labels) {
        rc = cli_error(verb, CLI_EXIT_INTERNAL, "out of memory");
        goto out;
    }
    for (int t = 0; t < ls; t++) {
        src[t] = vocab_find(&l->src, sp[t]);
        char *lab = labels + (size_t)t * 64;
        snprintf(lab, 64, "%.*s", sp[t].n > 40 ? 40 : sp[t].n, sp[t].p);
        cl[t] = lab;
    }
    rnn__s2s_result res = {out, cap, 0, 0, 0, 0};
    rnn_error e;
    const int32_t *sps[1] = {src};
    rnn_status st = rnn__s2s_translate(l->m, sps, &ls, 1, 1, &res, attn, &e);
    if (st) {
        rc = cli_fail_status(verb, st, e.msg);
        goto out;
    }
    const int rows = res.len + res.finished;
    for (int t = 0; t < rows; t++) {
        char *lab = labels + (size_t)(ls + t) * 64;
        if (t < res.len) {
            const span *s = &l->tgt.tok[out[t] - 1];
            snprintf(lab, 64, "%.*s", s->n > 40 ? 40 : s->n, s->p);
        } else {
            snprintf(lab, 64, "</s>");
        }
        rl[t] = lab;
    }
    char *stext = join_str(sp, ls, l->words), *otext = detok(l, out, res.len);
    rnn__buf title = {0};
    rnn__buf_printf(&title, "attention (%s): %s \xe2\x86\x92 %s", rnn__attn_name(l->m->cfg.attention),
                    stext ? stext : "", otext ? otext : "");
    rnn__buf_append(&title, "", 1);
    heatmap_spec spec = {title.oom ? "attention" : title.data, "source", "output"};
    if (rows > 0 && (st = heatmap_write(path, &spec, attn, rows, ls, rl, cl, &e)))
        rc = cli_fail_status(verb, st, e.msg);
    free(stext);
    free(otext);
    rnn__buf_free(&title);
out:
    free(src);
    free(out);
    free(attn);
    free(cl);
    free(rl);
    free(labels);
    return rc;
}

/* ---- --max-memory ---------------------------------------------------------------- */

/* train_check_memory's rule (train_common.c) for this model, which is not an
 * rnn_model: refuse before allocating when the estimate exceeds --max-memory
 * or what the machine (or its container) has. */
static int check_memory(const char *verb, const train_flags *f, const rnn__s2s_config *mc,
                        const rnn_train_options *o, int S, int T)
{
    rnn_memory_estimate est;
    rnn_error e;
    rnn_status st = rnn__s2s_memory(mc, &o->optim, S, T, o->batch, &est, &e);
    if (st)
        return cli_error(verb, cli_exit_code(st), "%s", e.msg);
    char what[96];
    snprintf(what, sizeof what, "batches of %d pairs of up to %d and %d tokens", o->batch, S, T - 1);
    return train_check_estimate(verb, f, &est, what);
}

/* ---- rnn seq2seq train --------------------------------------------------------- */

static const char train_head[] =
    "usage: rnn seq2seq train PAIRS.tsv [options]\n"
    "\n"
    "Trains an encoder-decoder with attention on PAIRS.tsv, one source<TAB>target pair\n"
    "per line (UTF-8; blank lines skipped), e.g. from 'rnn task dates'. The encoder reads\n"
    "the source, the decoder writes the target one token at a time (teacher forcing while\n"
    "training), attending to the encoder's outputs at every step (Luong et al. 2015).\n"
    "Then decodes the held-out pairs with the best checkpoint: exact-match accuracy and\n"
    "character error rate in DIR/metrics.json and on standard output, the attention\n"
    "weights of the first held-out pair in DIR/attention.svg.\n"
    "\n"
    "seq2seq:\n"
    "  --attention KIND      none, dot, general (default) or additive (Bahdanau)\n"
    "  --bidirectional       bidirectional encoder (--hidden/2 per direction, concatenated)\n"
    "  --tokens char|word    characters (default) or whitespace-separated words\n"
    "  --max-len N           longest source or target accepted, in tokens (default 256)\n"
    "  --beam K              beam width for the held-out metrics (default 1: greedy)\n"
    "  (--layers, --hidden, --embed apply to the encoder and the decoder alike;\n"
    "   --batch counts pairs; --val-frac holds out a random part of the pairs, fixed by\n"
    "   --seed; --seq-len is not used; --threads defaults to 1 here, not to every core:\n"
    "   these models' products are small)\n"
    "\n";
static const char train_tail[] =
    "\n"
    "Then: rnn seq2seq translate DIR/best.safetensors < sources.txt\n"
    "Exit status: 0 success, 1 internal error or diverged training, 2 bad input.\n";

typedef struct split {
    pairs file, vfile;      /* the pairs (and --val-file) as read */
    int ntrain, nval;
    int *train_idx, *val_idx; /* into file, or val_idx into vfile */
    const pairs *vp;        /* where the held-out pairs are */
    int32_t *tr_src, *tr_tgt, *va_src, *va_tgt;
    int64_t *tr_so, *tr_to, *va_so, *va_to;
} split;

static void split_free(split *s)
{
    pairs_free(&s->file);
    pairs_free(&s->vfile);
    free(s->train_idx);
    free(s->val_idx);
    free(s->tr_src);
    free(s->tr_tgt);
    free(s->va_src);
    free(s->va_tgt);
    free(s->tr_so);
    free(s->tr_to);
    free(s->va_so);
    free(s->va_to);
}

/* Pairs idx[0..n) of p as ids. */
static int encode_pairs(const pairs *p, const int *idx, int n, const vocab *vs, const vocab *vt,
                        int32_t **src, int32_t **tgt, int64_t **so, int64_t **to)
{
    size_t ns = 0, nt = 0;
    for (int i = 0; i < n; i++) {
        ns += (size_t)(p->src_off[idx[i] + 1] - p->src_off[idx[i]]);
        nt += (size_t)(p->tgt_off[idx[i] + 1] - p->tgt_off[idx[i]]);
    }
    *src = malloc((ns ? ns : 1) * sizeof **src);
    *tgt = malloc((nt ? nt : 1) * sizeof **tgt);
    *so = malloc(((size_t)n + 1) * sizeof **so);
    *to = malloc(((size_t)n + 1) * sizeof **to);
    if (!*src || !*tgt || !*so || !*to)
        return 0;
    (*so)[0] = (*to)[0] = 0;
    for (int i = 0; i < n; i++) {
        const int j = idx[i];
        int64_t a = (*so)[i], b = (*to)[i];
        for (int64_t k = p->src_off[j]; k < p->src_off[j + 1]; k++)
            (*src)[a++] = vocab_find(vs, p->src[k]);
        for (int64_t k = p->tgt_off[j]; k < p->tgt_off[j + 1]; k++)
            (*tgt)[b++] = vocab_find(vt, p->tgt[k]) + 1; /* 0 is </s> */
        (*so)[i + 1] = a;
        (*to)[i + 1] = b;
    }
    return 1;
}

static int cmd_train_s2s(int argc, char **argv)
{
    const char *verb = "seq2seq train";
    train_flags f;
    train_flags_defaults(&f);
    /* One thread by default: the per-step products of these models are small,
     * and on a shared machine a second OpenMP thread mostly waits (3x slower
     * measured on the dates task, 2.5x at --hidden 256 --layers 2). */
    f.threads = 1;
    const char *attention = "general", *tokens = "char";
    int bidirectional = 0, max_len = 256, beam = 1;
    cli_opt opts[TRAIN_FLAG_COUNT + 8];
    int nopt = train_flags_add(&f, opts, 0);
    const cli_opt extra[] = {
        {"attention", CLI_STR, &attention, 0, 0, 0},
        {"bidirectional", CLI_FLAG, &bidirectional, 0, 0, 0},
        {"tokens", CLI_STR, &tokens, 0, 0, 0},
        {"max-len", CLI_INT, &max_len, 1, 65536, 0},
        {"beam", CLI_INT, &beam, 1, 100, 0},
    };
    for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++)
        opts[nopt++] = extra[i];
    opts[nopt] = (cli_opt){0, 0, 0, 0, 0, 0};
    static char usage[12288];
    snprintf(usage, sizeof usage, "%s%s%s", train_head, train_flags_usage, train_tail);
    const char *pos[1];
    int np;
    int rc = cli_parse(verb, argc, argv, opts, pos, 1, 1, &np, usage);
    if (rc)
        return rc < 0 ? 0 : rc;
    const char *path = pos[0];
    char ckpt[4096];
    snprintf(ckpt, sizeof ckpt, "%s/last.safetensors", f.out);

    rnn__st resume = {0};
    rnn__json *saved = NULL;
    int have_resume = 0;
    rnn_error e;
    if (f.resume) {
        static const char *const tasks[] = {"seq2seq", NULL};
        if ((rc = train_resume_read(verb, ckpt, tasks, "rnn seq2seq train", opts, nopt, &resume,
                                    &have_resume, &saved)))
            goto out_resume;
    }
    if (!f.epochs && !f.max_steps && !(f.max_time > 0))
        f.epochs = 10;
    const int akind = rnn__attn_from_name(attention);
    if (akind < 0) {
        rc = cli_error(verb, CLI_EXIT_INPUT, "--attention: expected none, dot, general or "
                       "additive, got '%s'", attention);
        goto out_resume;
    }
    if (strcmp(tokens, "char") != 0 && strcmp(tokens, "word") != 0) {
        rc = cli_error(verb, CLI_EXIT_INPUT, "--tokens: expected char or word, got '%s'", tokens);
        goto out_resume;
    }
    if (bidirectional && f.hidden % 2) {
        rc = cli_error(verb, CLI_EXIT_INPUT, "--bidirectional needs an even --hidden (half per "
                       "direction), got %d", f.hidden);
        goto out_resume;
    }
    const int words = strcmp(tokens, "word") == 0;
    /* the output directory only once every flag is known good */
    if ((rc = train_prepare_out(verb, f.out)))
        goto out_resume;

    split sp;
    memset(&sp, 0, sizeof sp);
    vocab vs = {0}, vt = {0};
    rnn__s2s *m = NULL;
    rnn_trainer *t = NULL;
    char *vs_json = NULL, *vt_json = NULL, *flags_json = NULL;
    train_run run = {0};
    loaded best = {0};

    if ((rc = read_pairs(verb, path, words, max_len, &sp.file)))
        goto out;
    if (f.val_file && (rc = read_pairs(verb, f.val_file, words, max_len, &sp.vfile)))
        goto out;
    /* the split: --val-file, or a random --val-frac of the pairs (fixed by --seed) */
    const int n = sp.file.n;
    sp.train_idx = malloc((size_t)n * sizeof *sp.train_idx);
    sp.val_idx = malloc(((size_t)(f.val_file ? sp.vfile.n : n) + 1) * sizeof *sp.val_idx);
    if (!sp.train_idx || !sp.val_idx) {
        rc = cli_error(verb, CLI_EXIT_INTERNAL, "out of memory");
        goto out;
    }
    if (f.val_file) {
        sp.ntrain = n;
        for (int i = 0; i < n; i++)
            sp.train_idx[i] = i;
        sp.nval = sp.vfile.n;
        for (int i = 0; i < sp.nval; i++)
            sp.val_idx[i] = i;
        sp.vp = &sp.vfile;
    } else {
        sp.nval = (int)((double)n * f.val_frac);
        sp.ntrain = n - sp.nval;
        unsigned char *held = calloc((size_t)n, 1);
        int32_t *perm = malloc((size_t)n * sizeof *perm);
        if (!held || !perm) {
            free(held);
            free(perm);
            rc = cli_error(verb, CLI_EXIT_INTERNAL, "out of memory");
            goto out;
        }
        rnn__rng r;
        rnn__rng_seed(&r, f.seed ^ 0x5e9a1u);
        rnn__rng_permutation(&r, perm, n);
        for (int i = 0; i < sp.nval; i++)
            held[perm[i]] = 1;
        int a = 0, b = 0;
        for (int i = 0; i < n; i++) { /* both parts in file order */
            if (held[i])
                sp.val_idx[b++] = i;
            else
                sp.train_idx[a++] = i;
        }
        free(held);
        free(perm);
        sp.vp = &sp.file;
    }
    if (sp.ntrain < 1) {
        rc = cli_error(verb, CLI_EXIT_INPUT, "%s: %d pairs leave none to train on after holding "
                       "out %d (--val-frac)", path, n, sp.nval);
        goto out;
    }
    /* vocabularies of everything read */
    {
        size_t ns = sp.file.nsrc + sp.vfile.nsrc, nt = sp.file.ntgt + sp.vfile.ntgt;
        span *all = malloc(((ns > nt ? ns : nt) + 1) * sizeof *all);
        int ok = all != NULL;
        if (ok) {
            memcpy(all, sp.file.src, sp.file.nsrc * sizeof *all);
            if (sp.vfile.nsrc)
                memcpy(all + sp.file.nsrc, sp.vfile.src, sp.vfile.nsrc * sizeof *all);
            ok = vocab_build(&vs, all, ns);
        }
        if (ok) {
            memcpy(all, sp.file.tgt, sp.file.ntgt * sizeof *all);
            if (sp.vfile.ntgt)
                memcpy(all + sp.file.ntgt, sp.vfile.tgt, sp.vfile.ntgt * sizeof *all);
            ok = vocab_build(&vt, all, nt);
        }
        free(all);
        if (!ok || !encode_pairs(&sp.file, sp.train_idx, sp.ntrain, &vs, &vt, &sp.tr_src,
                                 &sp.tr_tgt, &sp.tr_so, &sp.tr_to) ||
            !encode_pairs(sp.vp, sp.val_idx, sp.nval, &vs, &vt, &sp.va_src, &sp.va_tgt, &sp.va_so,
                          &sp.va_to)) {
            rc = cli_error(verb, CLI_EXIT_INTERNAL, "out of memory");
            goto out;
        }
    }
    /* "tokens per second" counts target tokens: --seq-len stands for their mean */
    if (!cli_find(opts, "seq-len")->seen) {
        double mean = (double)(sp.tr_to[sp.ntrain] + sp.ntrain) / sp.ntrain;
        f.seq_len = (int)(mean + 0.5) > 0 ? (int)(mean + 0.5) : 1;
    }
    rnn_train_options o;
    rnn_cell cell;
    const int64_t bpe = (sp.ntrain + f.batch - 1) / f.batch;
    int64_t total = INT64_MAX;
    if (f.max_steps)
        total = (int64_t)f.max_steps;
    if (f.epochs && (int64_t)f.epochs * bpe < total)
        total = (int64_t)f.epochs * bpe;
    if ((rc = train_flags_to_options(verb, &f, total, &o, &cell)))
        goto out;
    if (f.batch > 4096) {
        rc = cli_error(verb, CLI_EXIT_INPUT, "--batch: at most 4096 pairs per step, got %d", f.batch);
        goto out;
    }
    cli_set_threads(f.threads);
    rnn__s2s_config mc = {cell, vs.n, vt.n + 1, f.embed, f.hidden, f.layers, bidirectional,
                          (float)f.dropout, (rnn__attn_kind)akind, max_len};
    {
        int S = 1, T = 1; /* the longest batch */
        for (int i = 0; i < sp.ntrain; i++) {
            S = (int)(sp.tr_so[i + 1] - sp.tr_so[i]) > S ? (int)(sp.tr_so[i + 1] - sp.tr_so[i]) : S;
            T = (int)(sp.tr_to[i + 1] - sp.tr_to[i]) + 1 > T ? (int)(sp.tr_to[i + 1] - sp.tr_to[i]) + 1 : T;
        }
        for (int i = 0; i < sp.nval; i++) {
            S = (int)(sp.va_so[i + 1] - sp.va_so[i]) > S ? (int)(sp.va_so[i + 1] - sp.va_so[i]) : S;
            T = (int)(sp.va_to[i + 1] - sp.va_to[i]) + 1 > T ? (int)(sp.va_to[i + 1] - sp.va_to[i]) + 1 : T;
        }
        if ((rc = check_memory(verb, &f, &mc, &o, S, T)))
            goto out;
    }
    rnn_status st;
    if ((st = rnn__s2s_new(&m, &mc, f.seed, &e))) {
        rc = cli_fail_status(verb, st, e.msg);
        goto out;
    }
    m->threads = f.threads;
    rnn__s2s_pairs trp = {sp.ntrain, sp.tr_src, sp.tr_tgt, sp.tr_so, sp.tr_to};
    rnn__s2s_pairs vap = {sp.nval, sp.va_src, sp.va_tgt, sp.va_so, sp.va_to};
    if ((st = rnn__s2s_trainer_new(&t, m, &o, &trp, sp.nval ? &vap : NULL, &e))) {
        rc = cli_error(verb, cli_exit_code(st), "%s: %s", path, e.msg);
        goto out;
    }
    if (have_resume && (st = rnn_trainer_restore(t, ckpt))) {
        rc = cli_error(verb, cli_exit_code(st), "--resume: %s", rnn_trainer_errmsg(t));
        goto out;
    }
    vs_json = vocab_json(&vs);
    vt_json = vocab_json(&vt);
    flags_json = train_flags_json(opts, nopt);
    if (!vs_json || !vt_json || !flags_json) {
        rc = cli_error(verb, CLI_EXIT_INTERNAL, "out of memory");
        goto out;
    }
    static const char *const keys[] = {"seq2seq.tokens", "seq2seq.src_vocab", "seq2seq.tgt_vocab"};
    const char *values[] = {tokens, vs_json, vt_json};
    run.verb = verb;
    run.flags = &f;
    run.trainer = t;
    run.has_val = sp.nval > 0;
    run.meta_keys = keys;
    run.meta_values = values;
    run.meta_count = 3;
    run.flags_json = flags_json;
    run.best_val = 1.0 / 0.0;
    if (have_resume && (rc = train_resume_state(&run, ckpt, rnn__st_meta(&resume, "rnn.loop"))))
        goto out;
    if (!f.quiet) {
        rnn_train_stats ts;
        rnn_trainer_stats(t, &ts);
        fprintf(stderr, "%s: %d pairs (%s tokens), source vocabulary %d, target vocabulary %d + "
                "</s>; training on %d, holding out %d%s\n", path, n + sp.vfile.n, tokens, vs.n,
                vt.n, sp.ntrain, sp.nval, f.val_file ? " (--val-file)" : "");
        fprintf(stderr, "model: %s%s %d x %d, embedding %d, %s attention, %zu parameters; %lld "
                "steps per epoch of %d pairs\n", bidirectional ? "bidirectional " : "",
                rnn_cell_name(cell), f.layers, f.hidden, f.embed,
                mc.attention == RNN__ATTN_NONE ? "no" : rnn__attn_name(mc.attention),
                m->nparams, (long long)bpe, f.batch);
        if (have_resume)
            fprintf(stderr, "resuming from %s at step %lld\n", ckpt, (long long)ts.step);
    }
    if ((rc = train_loop(&run)))
        goto out;

    /* the held-out metrics, with the best checkpoint */
    {
        char bpath[4096], mpath[4096], apath[4096];
        /* best only when this run validated: an earlier run's best in the
         * same --out must not be scored in its place */
        const int have_best = run.has_val && isfinite(run.best_val);
        const char *which = have_best ? "best.safetensors" : "last.safetensors";
        snprintf(bpath, sizeof bpath, "%s/%s", f.out, which);
        if ((rc = load_model(verb, bpath, &best)))
            goto out;
        best.m->threads = f.threads;
        const pairs *mp = sp.nval ? sp.vp : &sp.file;
        const int *midx = sp.nval ? sp.val_idx : sp.train_idx;
        const int mn = sp.nval ? sp.nval : (sp.ntrain < 1000 ? sp.ntrain : 1000);
        char **outs = calloc((size_t)mn, sizeof *outs), **refs = calloc((size_t)mn, sizeof *refs);
        metrics mt;
        if (!outs || !refs)
            rc = cli_error(verb, CLI_EXIT_INTERNAL, "out of memory");
        else
            rc = score_pairs(verb, &best, mp, midx, mn, beam, &mt, outs, refs);
        if (!rc) {
            char *js = metrics_json(sp.nval ? "held-out" : "training", &mt, beam, which,
                                    run.best_val, mp, midx, outs, refs);
            snprintf(mpath, sizeof mpath, "%s/metrics.json", f.out);
            if (!js)
                rc = cli_error(verb, CLI_EXIT_INTERNAL, "out of memory");
            else if ((st = rnn__write_file_atomic(mpath, js, strlen(js), &e)))
                rc = cli_fail_status(verb, st, e.msg);
            free(js);
        }
        if (!rc) {
            print_metrics(stdout, sp.nval ? "held-out pairs" : "training pairs", &mt, beam, which);
            snprintf(apath, sizeof apath, "%s/attention.svg", f.out);
            if (best.m->cfg.attention != RNN__ATTN_NONE) /* the first held-out pair */
                rc = attention_svg(verb, &best, mp->src + mp->src_off[midx[0]],
                                   (int)(mp->src_off[midx[0] + 1] - mp->src_off[midx[0]]), apath);
            if (!rc && !f.quiet)
                fprintf(stderr, "wrote %s/metrics.json%s\n", f.out,
                        best.m->cfg.attention != RNN__ATTN_NONE ? ", attention.svg" : "");
        }
        for (int i = 0; outs && i < mn; i++)
            free(outs[i]);
        for (int i = 0; refs && i < mn; i++)
            free(refs[i]);
        free(outs);
        free(refs);
    }
out:
    loaded_free(&best);
    train_run_free(&run);
    rnn_trainer_free(t);
    rnn__s2s_free(m);
    vocab_free(&vs);
    vocab_free(&vt);
    free(vs_json);
    free(vt_json);
    free(flags_json);
    split_free(&sp);
out_resume:
    if (have_resume)
        rnn__st_free(&resume);
    rnn__json_free(saved);
    return rc;
}

/* ---- rnn seq2seq translate ----------------------------------------------------- */

static const char translate_usage[] =
    "usage: rnn seq2seq translate CKPT [FILE] [--beam K] [--score] [--attention-svg OUT.svg]\n"
    "\n"
    "Reads sources one per line from FILE or standard input and prints one output line\n"
    "for each (tokens as the model was trained: characters, or words joined by a space).\n"
    "Every line must be non-empty, use only the model's source vocabulary and be at most\n"
    "its --max-len tokens long; any bad line stops the run before anything is printed.\n"
    "Decoding stops at </s> or after 2 x (source length) + 10 tokens (at most --max-len).\n"
    "\n"
    "  --beam K       beam search with K hypotheses (default 1: greedy); hypotheses are\n"
    "                 ranked by log-probability / (tokens + 1)\n"
    "  --score        append a tab and that score (mean log-probability per token)\n"
    "  --attention-svg OUT.svg\n"
    "                 also draw the attention weights of the greedy decoding of the\n"
    "                 first line as a heat map (source across, output down)\n"
    "  --threads N    threads (default 1)\n"
    "\n"
    "Exit status: 0 success, 1 internal error, 2 bad input.\n";

typedef struct src_lines {
    const char *verb, *name;
    const loaded *l;
    int n, cap;
    int32_t **src;
    int32_t *len;
    span *scratch;
} src_lines;

static int src_line(void *ctx, size_t line, const char *s, size_t n)
{
    src_lines *sl = ctx;
    if (n == 0)
        return cli_error(sl->verb, CLI_EXIT_INPUT, "%s: line %zu: empty line (nothing to "
                         "translate)", sl->name, line);
    span *tk = malloc(n * sizeof *tk);
    if (!tk)
        return cli_error(sl->verb, CLI_EXIT_INTERNAL, "out of memory");
    size_t bad;
    const int words = sl->l->words;
    int k = tokenize(s, n, words, tk, &bad), rc = 0;
    if (k < 0)
        rc = cli_error(sl->verb, CLI_EXIT_INPUT, "%s: line %zu: invalid UTF-8 at byte %zu of the "
                       "line", sl->name, line, bad + 1);
    else if (k == 0)
        rc = cli_error(sl->verb, CLI_EXIT_INPUT, "%s: line %zu: no words (nothing to translate)",
                       sl->name, line);
    else if (k > sl->l->m->cfg.max_len)
        rc = cli_error(sl->verb, CLI_EXIT_INPUT, "%s: line %zu: %d %s, longer than the model's "
                       "limit of %d (--max-len when it was trained)", sl->name, line, k,
                       unit(words, k), sl->l->m->cfg.max_len);
    if (rc) {
        free(tk);
        return rc;
    }
    if (sl->n == sl->cap) {
        int cap = sl->cap ? 2 * sl->cap : 256;
        int32_t **a = realloc(sl->src, (size_t)cap * sizeof *a);
        if (a)
            sl->src = a;
        int32_t *b = a ? realloc(sl->len, (size_t)cap * sizeof *b) : NULL;
        if (b)
            sl->len = b;
        if (!b || cap > (1 << 28)) {
            free(tk);
            return cli_error(sl->verb, CLI_EXIT_INTERNAL, "out of memory");
        }
        sl->cap = cap;
    }
    int32_t *ids = malloc((size_t)k * sizeof *ids);
    if (!ids) {
        free(tk);
        return cli_error(sl->verb, CLI_EXIT_INTERNAL, "out of memory");
    }
    for (int t = 0; t < k; t++) {
        ids[t] = vocab_find(&sl->l->src, tk[t]);
        if (ids[t] < 0) {
            char d[64];
            describe(d, sizeof d, tk[t], words);
            rc = cli_error(sl->verb, CLI_EXIT_INPUT, "%s: line %zu: %s %d, %s, is not in the "
                           "model's source vocabulary", sl->name, line, words ? "word" : "character",
                           t + 1, d);
            free(ids);
            free(tk);
            return rc;
        }
    }
    free(tk);
    sl->src[sl->n] = ids;
    sl->len[sl->n] = k;
    sl->n++;
    return 0;
}

static int cmd_translate(int argc, char **argv)
{
    const char *verb = "seq2seq translate";
    int beam = 1, show_score = 0, threads = 1;
    const char *svg = NULL;
    cli_opt opts[] = {
        {"beam", CLI_INT, &beam, 1, 100, 0},
        {"score", CLI_FLAG, &show_score, 0, 0, 0},
        {"attention-svg", CLI_STR, &svg, 0, 0, 0},
        {"threads", CLI_INT, &threads, 1, 1024, 0},
        {NULL, 0, NULL, 0, 0, 0},
    };
    const char *pos[2];
    int np;
    int rc = cli_parse(verb, argc, argv, opts, pos, 1, 2, &np, translate_usage);
    if (rc)
        return rc < 0 ? 0 : rc;
    loaded l;
    if ((rc = load_model(verb, pos[0], &l)))
        return rc;
    l.m->threads = threads;
    cli_set_threads(threads);
    unsigned char *data = NULL;
    size_t size = 0;
    src_lines sl = {verb, np > 1 ? pos[1] : "standard input", &l, 0, 0, NULL, NULL, NULL};
    char **outs = NULL;
    double *scores = NULL;
    if ((rc = read_input(verb, np > 1 ? pos[1] : NULL, &data, &size)))
        goto out;
    if ((rc = each_line(verb, sl.name, data, size, src_line, &sl)))
        goto out;
    outs = calloc((size_t)sl.n + 1, sizeof *outs);
    scores = calloc((size_t)sl.n + 1, sizeof *scores);
    if (!outs || !scores) {
        rc = cli_error(verb, CLI_EXIT_INTERNAL, "out of memory");
        goto out;
    }
    if ((rc = translate_all(verb, &l, sl.src, sl.len, sl.n, beam, outs, scores, NULL)))
        goto out;
    if (svg && sl.n > 0) {
        span *sp = malloc((size_t)sl.len[0] * sizeof *sp);
        if (!sp) {
            rc = cli_error(verb, CLI_EXIT_INTERNAL, "out of memory");
            goto out;
        }
        for (int t = 0; t < sl.len[0]; t++)
            sp[t] = l.src.tok[sl.src[0][t]];
        rc = attention_svg(verb, &l, sp, sl.len[0], svg);
        free(sp);
        if (rc)
            goto out;
    }
    for (int i = 0; i < sl.n; i++) {
        if (show_score)
            printf("%s\t%.4f\n", outs[i], scores[i]);
        else
            printf("%s\n", outs[i]);
    }
    if (fflush(stdout) != 0)
        rc = cli_error(verb, CLI_EXIT_INPUT, "standard output: write failed");
out:
    for (int i = 0; outs && i < sl.n; i++)
        free(outs[i]);
    free(outs);
    free(scores);
    for (int i = 0; i < sl.n; i++)
        free(sl.src[i]);
    free(sl.src);
    free(sl.len);
    free(data);
    loaded_free(&l);
    return rc;
}

/* ---- rnn seq2seq eval -------------------------------------------------------------- */

static const char eval_usage[] =
    "usage: rnn seq2seq eval CKPT PAIRS.tsv [--beam K] [--output metrics.json] [--threads N]\n"
    "\n"
    "Decodes every source of PAIRS.tsv (source<TAB>target lines) and prints the\n"
    "exact-match accuracy and the character error rate (edit distance over code points /\n"
    "reference length, summed over the pairs) against the targets.\n"
    "\n"
    "  --beam K         beam width (default 1: greedy)\n"
    "  --output FILE    also write the metrics as JSON (atomically)\n"
    "  --threads N      threads (default 1)\n"
    "\n"
    "Exit status: 0 success, 1 internal error, 2 bad input.\n";

static int cmd_eval_s2s(int argc, char **argv)
{
    const char *verb = "seq2seq eval", *output = NULL;
    int beam = 1, threads = 1;
    cli_opt opts[] = {
        {"beam", CLI_INT, &beam, 1, 100, 0},
        {"output", CLI_STR, &output, 0, 0, 0},
        {"threads", CLI_INT, &threads, 1, 1024, 0},
        {NULL, 0, NULL, 0, 0, 0},
    };
    const char *pos[2];
    int np;
    int rc = cli_parse(verb, argc, argv, opts, pos, 2, 2, &np, eval_usage);
    if (rc)
        return rc < 0 ? 0 : rc;
    loaded l;
    if ((rc = load_model(verb, pos[0], &l)))
        return rc;
    l.m->threads = threads;
    cli_set_threads(threads);
    pairs p;
    int *idx = NULL;
    char **outs = NULL, **refs = NULL;
    if ((rc = read_pairs(verb, pos[1], l.words, l.m->cfg.max_len, &p)))
        goto out_model;
    idx = malloc((size_t)p.n * sizeof *idx);
    outs = calloc((size_t)p.n, sizeof *outs);
    refs = calloc((size_t)p.n, sizeof *refs);
    metrics mt;
    if (!idx || !outs || !refs) {
        rc = cli_error(verb, CLI_EXIT_INTERNAL, "out of memory");
        goto out;
    }
    for (int i = 0; i < p.n; i++)
        idx[i] = i;
    if ((rc = score_pairs(verb, &l, &p, idx, p.n, beam, &mt, outs, refs)))
        goto out;
    print_metrics(stdout, "pairs", &mt, beam, pos[0]);
    if (output) {
        char *js = metrics_json("file", &mt, beam, pos[0], 1.0 / 0.0, &p, idx, outs, refs);
        rnn_error e;
        rnn_status st;
        if (!js)
            rc = cli_error(verb, CLI_EXIT_INTERNAL, "out of memory");
        else if ((st = rnn__write_file_atomic(output, js, strlen(js), &e)))
            rc = cli_fail_status(verb, st, e.msg);
        free(js);
    }
out:
    for (int i = 0; outs && i < p.n; i++)
        free(outs[i]);
    for (int i = 0; refs && i < p.n; i++)
        free(refs[i]);
    free(outs);
    free(refs);
    free(idx);
    pairs_free(&p);
out_model:
    loaded_free(&l);
    return rc;
}

/* ---- dispatch ------------------------------------------------------------------- */

static const char usage[] =
    "usage: rnn seq2seq train|translate|eval ...   (rnn seq2seq SUBCOMMAND --help for details)\n"
    "\n"
    "Many-to-many of unequal length: an encoder-decoder with attention on\n"
    "source<TAB>target pairs (characters or words).\n"
    "\n"
    "  train PAIRS.tsv [options]     train; held-out exact match and character error rate,\n"
    "                                DIR/metrics.json, DIR/attention.svg\n"
    "  translate CKPT [FILE]         one output line per input line (--beam K)\n"
    "  eval CKPT PAIRS.tsv           exact match and character error rate on pairs\n"
    "\n"
    "Pairs to start with: rnn task dates --count 20000 > dates.tsv\n";

int cmd_seq2seq(int argc, char **argv)
{
    if (argc < 1)
        return cli_error("seq2seq", CLI_EXIT_INPUT, "missing subcommand: train, translate or eval "
                         "(see 'rnn seq2seq --help')");
    if (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) {
        fputs(usage, stdout);
        return 0;
    }
    if (strcmp(argv[0], "train") == 0)
        return cmd_train_s2s(argc - 1, argv + 1);
    if (strcmp(argv[0], "translate") == 0)
        return cmd_translate(argc - 1, argv + 1);
    if (strcmp(argv[0], "eval") == 0)
        return cmd_eval_s2s(argc - 1, argv + 1);
    return cli_error("seq2seq", CLI_EXIT_INPUT, "unknown subcommand '%s': expected train, "
                     "translate or eval", argv[0]);
}
