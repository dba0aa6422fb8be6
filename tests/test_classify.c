/*
 * test_classify.c -- the sequence shapes of `rnn classify` and
 * `rnn train --conditioned`: the TSV reader and name tables of the library,
 * then every shape end to end through the binary ($RNN_BIN) on small
 * generated data, each with a quality threshold:
 *   many-to-one   sentiment (words) and a variable-length .npy task with
 *                 every pooling readout
 *   many-to-many  per-character tagging, and per-step .npy labels
 *   one-to-one    xor of two features, one step
 *   one-to-many   a label-conditioned character model whose samples must
 *                 use the label's alphabet; greedy sampling checked
 *                 against the library
 */
#include "test.h"

#include "io/io.h"
#include "io/tsv.h"
#include "model/model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

/* ---- the TSV reader ---------------------------------------------------------- */

static rnn_status parse(rnn__tsv *t, const char *text, rnn__tok_kind tok, rnn__tsv_labels lab,
                        int per_step, size_t max_tokens, rnn_error *e)
{
    rnn__tsv_options o = {tok, lab, per_step, max_tokens};
    return rnn__tsv_parse(t, text, strlen(text), "data.tsv", &o, e);
}

static void test_tsv_rows(void)
{
    rnn__tsv t;
    rnn_error e;
    /* BOM, CRLF, a blank line, a multi-byte character, a tab-free text */
    const char *text = "\xef\xbb\xbfpos\tgood film\r\n\nneg\tcaf\xc3\xa9 bad\n\r\nneu\tx";
    CHECK_OK(parse(&t, text, RNN__TOK_CHAR, RNN__TSV_LABELLED, 0, 0, &e));
    CHECK(t.count == 3 && t.labelled);
    if (t.count == 3) {
        CHECK(t.rows[0].line == 1 && strcmp(t.rows[0].label, "pos") == 0);
        CHECK(strcmp(t.rows[0].text, "good film") == 0 && t.rows[0].ntok == 9);
        CHECK(t.rows[1].line == 3 && strcmp(t.rows[1].label, "neg") == 0 && t.rows[1].ntok == 8);
        CHECK(t.rows[1].cps[3] == 0xe9 && t.rows[1].cps[4] == ' ');
        CHECK(t.rows[2].line == 5 && t.rows[2].ntok == 1 && t.rows[2].cps[0] == 'x');
        CHECK(t.rows[0].words == NULL && t.rows[0].step_labels == NULL);
    }
    rnn__tsv_free(&t);

    CHECK_OK(parse(&t, "pos\t  the  cat sat \nneg\tno\n", RNN__TOK_WORD, RNN__TSV_LABELLED, 0, 0, &e));
    CHECK(t.count == 2);
    if (t.count == 2) {
        CHECK(t.rows[0].ntok == 3 && strcmp(t.rows[0].words[0], "the") == 0 &&
              strcmp(t.rows[0].words[2], "sat") == 0);
        CHECK(strcmp(t.rows[0].text, "  the  cat sat ") == 0); /* the text is kept as it was */
        CHECK(t.rows[1].ntok == 1 && strcmp(t.rows[1].words[0], "no") == 0);
    }
    rnn__tsv_free(&t);

    /* text-only lines, decided by the first line */
    CHECK_OK(parse(&t, "some text\nmore text\n", RNN__TOK_CHAR, RNN__TSV_EITHER, 0, 0, &e));
    CHECK(t.count == 2 && !t.labelled && t.rows[0].label == NULL && t.rows[1].ntok == 9);
    rnn__tsv_free(&t);
    CHECK_OK(parse(&t, "a\tsome text\n", RNN__TOK_CHAR, RNN__TSV_EITHER, 0, 0, &e));
    CHECK(t.count == 1 && t.labelled && strcmp(t.rows[0].label, "a") == 0);
    rnn__tsv_free(&t);
}

static void test_tsv_per_step(void)
{
    rnn__tsv t;
    rnn_error e;
    /* one label per character, or space-separated, multi-byte labels */
    const char *text = "NVN\tabc\nB I O\txyz\n\xce\xb1\xce\xb2\tab\n";
    CHECK_OK(parse(&t, text, RNN__TOK_CHAR, RNN__TSV_LABELLED, 1, 0, &e));
    CHECK(t.count == 3);
    if (t.count == 3) {
        CHECK(strcmp(t.rows[0].step_labels[0], "N") == 0 && strcmp(t.rows[0].step_labels[1], "V") == 0 &&
              strcmp(t.rows[0].step_labels[2], "N") == 0);
        CHECK(strcmp(t.rows[1].step_labels[0], "B") == 0 && strcmp(t.rows[1].step_labels[2], "O") == 0);
        CHECK(strcmp(t.rows[2].step_labels[0], "\xce\xb1") == 0 &&
              strcmp(t.rows[2].step_labels[1], "\xce\xb2") == 0);
    }
    rnn__tsv_free(&t);
    /* words: labels separated by spaces, or one label for one word */
    CHECK_OK(parse(&t, "DET NOUN VERB\tthe cat runs\nNOUN\tcats\n", RNN__TOK_WORD, RNN__TSV_LABELLED, 1, 0, &e));
    CHECK(t.count == 2);
    if (t.count == 2) {
        CHECK(t.rows[0].ntok == 3 && strcmp(t.rows[0].step_labels[2], "VERB") == 0);
        CHECK(t.rows[1].ntok == 1 && strcmp(t.rows[1].step_labels[0], "NOUN") == 0);
    }
    rnn__tsv_free(&t);
}

/* Each bad file gives exactly this message (after "data.tsv: "). */
static void expect_error(const char *text, rnn__tok_kind tok, rnn__tsv_labels lab, int per_step,
                         size_t max_tokens, const char *msg)
{
    rnn__tsv t;
    rnn_error e;
    rnn_status st = parse(&t, text, tok, lab, per_step, max_tokens, &e);
    CHECK_MSG(st == RNN_EFORMAT, "expected RNN_EFORMAT for '%s', got %d", msg, (int)st);
    if (st == RNN_OK) {
        rnn__tsv_free(&t);
        return;
    }
    CHECK_MSG(strcmp(e.msg, msg) == 0, "message '%s', expected '%s'", e.msg, msg);
    CHECK(t.rows == NULL && t.count == 0);
}

static void test_tsv_errors(void)
{
    const rnn__tok_kind C = RNN__TOK_CHAR, W = RNN__TOK_WORD;
    const rnn__tsv_labels L = RNN__TSV_LABELLED;
    expect_error("pos\tok\nno tab here\n", C, L, 0, 0, "data.tsv: line 2: expected label<TAB>text (no tab)");
    expect_error("a\tb\tc\n", C, L, 0, 0, "data.tsv: line 1: expected label<TAB>text, found 3 tab-separated fields");
    expect_error("pos\tfine\n\nneg\t\n", C, L, 0, 0,
                 "data.tsv: line 3: empty text (a sequence needs at least one character)");
    expect_error("pos\t   \n", W, L, 0, 0, "data.tsv: line 1: empty text (a sequence needs at least one word)");
    expect_error("\tabc\n", C, L, 0, 0, "data.tsv: line 1: empty label");
    expect_error("NV\tabc\n", C, L, 1, 0, "data.tsv: line 1: 2 labels for 3 characters");
    expect_error("N V N N V\tabcdef\n", C, L, 1, 0, "data.tsv: line 1: 5 labels for 6 characters");
    expect_error("D N\tthe big cat\n", W, L, 1, 0, "data.tsv: line 1: 2 labels for 3 words");
    expect_error("abc\tabc\nab\tab\nx\ttoo long\n", C, L, 1, 4, "data.tsv: line 3: 8 characters, more than the limit of 4");
    expect_error("pos\tca\xc3\x28t\n", C, L, 0, 0, "data.tsv: invalid UTF-8 at byte offset 6 (line 1): byte 0xc3");
    expect_error("\n\r\n\n", C, L, 0, 0, "data.tsv: no examples (the file has no non-empty line)");
    expect_error("", C, L, 0, 0, "data.tsv: no examples (the file has no non-empty line)");
    expect_error("text\nlabel\ttext\n", C, RNN__TSV_EITHER, 0, 0, "data.tsv: line 2: a tab, but line 1 is text only (no label)");
    expect_error("\na\ttext\nplain\n", C, RNN__TSV_EITHER, 0, 0, "data.tsv: line 3: no tab, but line 2 has label<TAB>text");
    expect_error("fine\nwith\ttab\n", C, RNN__TSV_TEXT_ONLY, 0, 0, "data.tsv: line 2: expected text only, found a tab");
}

/* NUL inside the text: expect_error's strlen would cut it, so pass a size */
static void test_tsv_nul(void)
{
    rnn__tsv t;
    rnn_error e;
    rnn__tsv_options o = {RNN__TOK_CHAR, RNN__TSV_LABELLED, 0, 0};
    const char text[] = "pos\tab\0c\n";
    CHECK(rnn__tsv_parse(&t, text, sizeof text - 1, "x.tsv", &o, &e) == RNN_EFORMAT);
    CHECK_MSG(strstr(e.msg, "x.tsv: NUL byte at offset 6 (line 1)") != NULL, "%s", e.msg);
}

static void test_strtab(void)
{
    rnn__strtab t, u;
    rnn_error e;
    const char *items[] = {"pos", "neg", "pos", "neutral", "neg"};
    CHECK_OK(rnn__strtab_build(&t, items, 5, &e));
    CHECK(t.n == 3 && strcmp(t.s[0], "neg") == 0 && strcmp(t.s[1], "neutral") == 0 &&
          strcmp(t.s[2], "pos") == 0);
    CHECK(rnn__strtab_index(&t, "pos") == 2 && rnn__strtab_index(&t, "neg") == 0 &&
          rnn__strtab_index(&t, "po") == -1);
    char *j = rnn__strtab_to_json(&t);
    CHECK(j && strcmp(j, "[\"neg\", \"neutral\", \"pos\"]") == 0);
    CHECK_OK(rnn__strtab_from_json(&u, j, "rnn.labels", &e));
    CHECK(u.n == 3 && rnn__strtab_index(&u, "neutral") == 1);
    rnn__strtab_free(&u);
    rnn__free(j);
    rnn__strtab_free(&t);

    /* a given order is kept (class ids of .npy labels), look-ups still work */
    const char *order[] = {"0", "1", "10", "2"};
    CHECK_OK(rnn__strtab_from_list(&t, order, 4, &e));
    CHECK(rnn__strtab_index(&t, "10") == 2 && rnn__strtab_index(&t, "2") == 3);
    rnn__strtab_free(&t);
    /* quotes and non-ASCII survive the JSON round trip */
    const char *odd[] = {"say \"hi\"", "\xc3\xa9t\xc3\xa9", "back\\slash"};
    CHECK_OK(rnn__strtab_from_list(&t, odd, 3, &e));
    j = rnn__strtab_to_json(&t);
    CHECK_OK(rnn__strtab_from_json(&u, j, "x", &e));
    CHECK(u.n == 3 && strcmp(u.s[0], odd[0]) == 0 && strcmp(u.s[1], odd[1]) == 0 &&
          strcmp(u.s[2], odd[2]) == 0);
    rnn__strtab_free(&u);
    rnn__free(j);
    rnn__strtab_free(&t);

    const char *dup[] = {"a", "b", "a"};
    CHECK(rnn__strtab_from_list(&t, dup, 3, &e) == RNN_EFORMAT && strstr(e.msg, "'a' appears twice"));
    CHECK(rnn__strtab_from_json(&t, "[\"a\", \"a\"]", "rnn.labels", &e) == RNN_EFORMAT &&
          strstr(e.msg, "rnn.labels: name 'a' appears twice"));
    CHECK(rnn__strtab_from_json(&t, "[\"a\", 3]", "rnn.labels", &e) == RNN_EFORMAT &&
          strstr(e.msg, "rnn.labels: item 1 is not a non-empty string"));
    CHECK(rnn__strtab_from_json(&t, "[]", "rnn.labels", &e) == RNN_EFORMAT);
    CHECK(rnn__strtab_from_json(&t, "{\"a\": 1}", "rnn.labels", &e) == RNN_EFORMAT);
    CHECK(rnn__strtab_from_json(&t, "[\"a\"", "rnn.labels", &e) != RNN_OK);
}

/* ---- end to end through the binary --------------------------------------------- */

static const char *rnn_bin(void)
{
    const char *b = getenv("RNN_BIN");
    return b && *b ? b : "build/rnn";
}

static int sh(const char *cmd)
{
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

static char *slurp(const char *path)
{
    unsigned char *d;
    size_t n;
    rnn_error e;
    if (rnn__read_file(path, &d, &n, &e) != RNN_OK) {
        t_fail_at(__FILE__, __LINE__, "%s", e.msg);
        return NULL;
    }
    return (char *)d;
}

/* DIR/metrics.json: checks it is consistent (the confusion matrix adds up
 * to the count, its diagonal to the accuracy) and returns the scores. */
static int read_metrics(const char *path, double *accuracy, double *macro_f1, int *K)
{
    char *s = slurp(path);
    if (!s)
        return 0;
    rnn__json *j;
    rnn_error e;
    int ok = rnn__json_parse(&j, s, strlen(s), &e) == RNN_OK;
    rnn__free(s);
    if (!ok) {
        t_fail_at(__FILE__, __LINE__, "%s: %s", path, e.msg);
        return 0;
    }
    const rnn__json *a = rnn__json_get(j, "accuracy"), *f = rnn__json_get(j, "macro_f1");
    const rnn__json *c = rnn__json_get(j, "confusion"), *n = rnn__json_get(j, "count");
    const rnn__json *l = rnn__json_get(j, "labels");
    ok = a && f && c && n && l && c->kind == RNN__JSON_ARRAY && l->kind == RNN__JSON_ARRAY &&
         c->count == l->count;
    CHECK_MSG(ok, "%s: accuracy, macro_f1, count, labels or confusion missing", path);
    if (ok) {
        double total = 0, diag = 0;
        for (size_t r = 0; r < c->count; r++)
            for (size_t k = 0; k < c->items[r].count; k++) {
                total += c->items[r].items[k].number;
                diag += r == k ? c->items[r].items[k].number : 0;
            }
        CHECK_MSG(total == n->number, "%s: confusion adds up to %g, count is %g", path, total, n->number);
        CHECK_NEAR(diag / total, a->number, 1e-6);
        *accuracy = a->number;
        *macro_f1 = f->number;
        *K = (int)l->count;
    }
    rnn__json_free(j);
    return ok;
}

/* Fraction of prediction lines (after the header) whose second column
 * equals the label of the same line of data.tsv; *n gets the line count. */
static double agreement(const char *preds, const char *data, int *n)
{
    char *p = slurp(preds), *d = slurp(data);
    double r = -1;
    *n = 0;
    if (p && d) {
        int same = 0;
        char *pl = strchr(p, '\n'), *dl = d;
        while (pl && *++pl && *dl) {
            char *tab1 = strchr(pl, '\t'), *tab2 = tab1 ? strchr(tab1 + 1, '\t') : NULL;
            char *dtab = strchr(dl, '\t');
            if (!tab1 || !tab2 || !dtab)
                break;
            same += (size_t)(tab2 - tab1 - 1) == (size_t)(dtab - dl) &&
                    strncmp(tab1 + 1, dl, (size_t)(dtab - dl)) == 0;
            (*n)++;
            pl = strchr(pl, '\n');
            dl = strchr(dl, '\n');
            dl = dl ? dl + 1 : NULL;
            if (!dl)
                break;
        }
        r = *n ? (double)same / *n : -1;
    }
    rnn__free(p);
    rnn__free(d);
    return r;
}

/* Many-to-one on words: generated sentiment sentences (negation and "but"
 * make word order matter). Then predict on the whole file. */
static void test_many_to_one_words(void)
{
    const char *o = t_tmpdir();
    char cmd[4096], path[600], data[600], preds[600];
    snprintf(data, sizeof data, "%s/sent.tsv", o);
    snprintf(cmd, sizeof cmd, "'%s' classify generate sentiment --count 1200 --seed 3 --output %s && "
             "'%s' classify train %s --tokens word --hidden 32 --epochs 8 --threads 1 --out %s/c1 --quiet > %s/c1.out",
             rnn_bin(), data, rnn_bin(), data, o, o);
    int rc = sh(cmd);
    CHECK_MSG(rc == 0, "exit %d: %s", rc, cmd);
    double acc = 0, f1 = 0;
    int K = 0;
    snprintf(path, sizeof path, "%s/c1/metrics.json", o);
    if (rc || !read_metrics(path, &acc, &f1, &K))
        return;
    CHECK(K == 2);
    CHECK_MSG(acc >= 0.95 && f1 >= 0.95, "sentiment test accuracy %.4f, macro-F1 %.4f (want >= 0.95)", acc, f1);
    /* the same scores are printed as a table */
    snprintf(path, sizeof path, "%s/c1.out", o);
    char *out = slurp(path);
    CHECK_MSG(out && strstr(out, "test (best.safetensors): 240 sequences: accuracy ") &&
                  strstr(out, "confusion matrix"), "printed: %s", out ? out : "");
    rnn__free(out);

    snprintf(preds, sizeof preds, "%s/c1.preds", o);
    snprintf(cmd, sizeof cmd, "'%s' classify predict %s/c1/best.safetensors %s --output %s --metrics %s/c1.m.json "
             "> /dev/null", rnn_bin(), o, data, preds, o);
    CHECK((rc = sh(cmd)) == 0);
    int n;
    double agree = agreement(preds, data, &n);
    CHECK_MSG(n == 1200, "%d prediction lines, expected 1200", n);
    CHECK_MSG(agree >= 0.95, "predictions agree with %.4f of the labels", agree);
    snprintf(path, sizeof path, "%s/c1.m.json", o);
    double acc2, f12;
    if (read_metrics(path, &acc2, &f12, &K))
        CHECK_NEAR(acc2, agree, 1e-6); /* predict's own scoring says the same */
}

/* Variable-length .npy sequences: at every step one of two channels is on
 * (about 1, the other about 0); the label is the channel on at most of the
 * valid steps (odd lengths 3..15 of T = 16, so no ties). The padding past
 * each length looks exactly like valid steps, so a model that ignored the
 * lengths could not tell where a sequence ends: trained that way it scores
 * about 0.88 on this test set, against 0.99-1.0 with the lengths. */
static void write_channels(const char *dir, int n, int T, uint64_t seed)
{
    float *x = calloc((size_t)n * T * 2, sizeof *x);
    int64_t *y = calloc((size_t)n, sizeof *y), *len = calloc((size_t)n, sizeof *len);
    rnn__rng r;
    rnn__rng_seed(&r, seed);
    for (int i = 0; i < n; i++) {
        len[i] = 3 + 2 * (int64_t)rnn__rng_below(&r, 7);
        int on1 = 0;
        for (int t = 0; t < T; t++) {
            int c = (int)rnn__rng_below(&r, 2);
            for (int k = 0; k < 2; k++)
                x[((size_t)i * T + t) * 2 + k] = (float)((k == c) + 0.2 * (rnn__rng_double(&r) - 0.5));
            on1 += t < len[i] && c == 1;
        }
        y[i] = 2 * on1 > len[i];
    }
    char p[600];
    rnn_error e;
    int64_t xs[3] = {n, T, 2}, ys[1] = {n};
    snprintf(p, sizeof p, "%s/ch_x.npy", dir);
    CHECK_OK(rnn__npy_write(p, RNN__F32, 3, xs, x, &e));
    snprintf(p, sizeof p, "%s/ch_y.npy", dir);
    CHECK_OK(rnn__npy_write(p, RNN__I64, 1, ys, y, &e));
    snprintf(p, sizeof p, "%s/ch_len.npy", dir);
    CHECK_OK(rnn__npy_write(p, RNN__I64, 1, ys, len, &e));
    free(x);
    free(y);
    free(len);
}

static void test_many_to_one_pools(void)
{
    const char *o = t_tmpdir();
    write_channels(o, 900, 16, 11);
    const char *pools[] = {"last", "mean", "max", "attention", "last --bidirectional"};
    for (int k = 0; k < 5; k++) {
        char cmd[4096], path[600];
        snprintf(cmd, sizeof cmd, "'%s' classify train --x %s/ch_x.npy --y %s/ch_y.npy --lengths %s/ch_len.npy "
                 "--pool %s --cell gru --hidden 24 --epochs 25 --lr 5e-3 --threads 1 --out %s/p%d --quiet > /dev/null",
                 rnn_bin(), o, o, o, pools[k], o, k);
        int rc = sh(cmd);
        CHECK_MSG(rc == 0, "exit %d: %s", rc, cmd);
        double acc, f1;
        int K;
        snprintf(path, sizeof path, "%s/p%d/metrics.json", o, k);
        if (rc || !read_metrics(path, &acc, &f1, &K))
            continue;
        CHECK(K == 2);
        CHECK_MSG(acc >= 0.96, "--pool %s: test accuracy %.4f (want >= 0.96; without the lengths ~0.88)",
                  pools[k], acc);
    }
}

/* Many-to-many of equal length: a tag per character (word classes with
 * ambiguous words), bidirectional. */
static void test_many_to_many_tagging(void)
{
    const char *o = t_tmpdir();
    char cmd[4096], path[600], data[600];
    snprintf(data, sizeof data, "%s/tag.tsv", o);
    snprintf(cmd, sizeof cmd, "'%s' classify generate tagging --count 800 --seed 4 --output %s && "
             "'%s' classify train %s --per-step --bidirectional --hidden 32 --epochs 8 --threads 1 "
             "--out %s/t1 --quiet > /dev/null && "
             "'%s' classify predict %s/t1/best.safetensors %s --output %s/t1.preds > /dev/null",
             rnn_bin(), data, rnn_bin(), data, o, rnn_bin(), o, data, o);
    int rc = sh(cmd);
    CHECK_MSG(rc == 0, "exit %d: %s", rc, cmd);
    double acc, f1;
    int K;
    snprintf(path, sizeof path, "%s/t1/metrics.json", o);
    if (rc || !read_metrics(path, &acc, &f1, &K))
        return;
    CHECK(K == 6); /* A D N R V _ */
    CHECK_MSG(acc >= 0.97 && f1 >= 0.95, "tagging per-step accuracy %.4f, macro-F1 %.4f", acc, f1);
    /* every predicted tag string is as long as its text */
    snprintf(path, sizeof path, "%s/t1.preds", o);
    char *p = slurp(path);
    int lines = 0, good = 0;
    for (char *l = p ? strchr(p, '\n') : NULL; l && *++l; l = strchr(l, '\n')) {
        char *t1 = strchr(l, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
        if (!t2)
            break;
        lines++;
        good += t1 - l == t2 - t1 - 1;
    }
    CHECK_MSG(lines == 800 && good == 800, "%d lines, %d with one tag per character", lines, good);
    rnn__free(p);
}

/* Per-step .npy labels: the sign of the running sum of the input so far
 * (it needs memory), -1 past each sequence's length. */
static void test_many_to_many_npy(void)
{
    const char *o = t_tmpdir();
    const int n = 600, T = 12;
    float *x = calloc((size_t)n * T, sizeof *x);
    int64_t *y = malloc((size_t)n * T * sizeof *y), *len = malloc((size_t)n * sizeof *len);
    rnn__rng r;
    rnn__rng_seed(&r, 5);
    for (int i = 0; i < n; i++) {
        len[i] = 3 + (int64_t)rnn__rng_below(&r, (uint64_t)T - 2);
        double s = 0;
        for (int t = 0; t < T; t++) {
            if (t < len[i]) {
                x[i * T + t] = (float)(2 * rnn__rng_double(&r) - 1);
                s += x[i * T + t];
                y[i * T + t] = s > 0;
            } else {
                y[i * T + t] = -1;
            }
        }
    }
    char p[600], cmd[4096];
    rnn_error e;
    int64_t xs[3] = {n, T, 1}, ys[2] = {n, T}, ls[1] = {n};
    snprintf(p, sizeof p, "%s/ps_x.npy", o);
    CHECK_OK(rnn__npy_write(p, RNN__F32, 3, xs, x, &e));
    snprintf(p, sizeof p, "%s/ps_y.npy", o);
    CHECK_OK(rnn__npy_write(p, RNN__I64, 2, ys, y, &e));
    snprintf(p, sizeof p, "%s/ps_len.npy", o);
    CHECK_OK(rnn__npy_write(p, RNN__I64, 1, ls, len, &e));
    free(x);
    free(y);
    free(len);
    snprintf(cmd, sizeof cmd, "'%s' classify train --x %s/ps_x.npy --y %s/ps_y.npy --lengths %s/ps_len.npy "
             "--per-step --cell gru --hidden 24 --epochs 30 --lr 5e-3 --threads 1 --out %s/ps --quiet > /dev/null",
             rnn_bin(), o, o, o, o);
    int rc = sh(cmd);
    CHECK_MSG(rc == 0, "exit %d: %s", rc, cmd);
    double acc, f1;
    int K;
    snprintf(p, sizeof p, "%s/ps/metrics.json", o);
    if (rc || !read_metrics(p, &acc, &f1, &K))
        return;
    CHECK(K == 2);
    CHECK_MSG(acc >= 0.93, "running-sign per-step accuracy %.4f (want >= 0.93)", acc);
}

/* One-to-one: a single step of two features, xor of their signs. */
static void test_one_to_one(void)
{
    const char *o = t_tmpdir();
    char cmd[4096], path[600];
    snprintf(cmd, sizeof cmd, "'%s' classify generate xor --count 1000 --seed 2 --x %s/xor_x.npy --y %s/xor_y.npy && "
             "'%s' classify train --x %s/xor_x.npy --y %s/xor_y.npy --hidden 16 --epochs 30 --threads 1 "
             "--out %s/x1 --quiet > /dev/null",
             rnn_bin(), o, o, rnn_bin(), o, o, o);
    int rc = sh(cmd);
    CHECK_MSG(rc == 0, "exit %d: %s", rc, cmd);
    double acc, f1;
    int K;
    snprintf(path, sizeof path, "%s/x1/metrics.json", o);
    if (rc || !read_metrics(path, &acc, &f1, &K))
        return;
    CHECK(K == 2);
    CHECK_MSG(acc >= 0.93, "xor test accuracy %.4f (want >= 0.93; a linear model gets ~0.5)", acc);
    /* the checkpoint is a one-step model over 2 features */
    rnn_model *m;
    rnn_error e;
    snprintf(path, sizeof path, "%s/x1/best.safetensors", o);
    if (rnn_model_load(&m, path, &e) != RNN_OK) {
        t_fail_at(__FILE__, __LINE__, "%s", e.msg);
        return;
    }
    CHECK(m->cfg.input_size == 2 && m->cfg.output_size == 2 && m->cfg.readout == RNN_READOUT_LAST);
    rnn_model_free(m);
}

/* One-to-many: three labels with disjoint alphabets; a conditioned model
 * must write each label's alphabet. */
static void test_one_to_many(void)
{
    const char *o = t_tmpdir();
    const char *names[3] = {"lower", "upper", "digit"}, *alpha[3] = {"abcdefghij", "KLMNOPQRST", "0123456789"};
    char path[600], cmd[4096];
    snprintf(path, sizeof path, "%s/alpha.tsv", o);
    FILE *f = fopen(path, "w");
    rnn__rng r;
    rnn__rng_seed(&r, 9);
    for (int i = 0; f && i < 300; i++) {
        int l = (int)rnn__rng_below(&r, 3), words = 2 + (int)rnn__rng_below(&r, 3);
        fprintf(f, "%s\t", names[l]);
        for (int w = 0; w < words; w++) {
            int len = 2 + (int)rnn__rng_below(&r, 4);
            for (int k = 0; k < len; k++)
                fputc(alpha[l][rnn__rng_below(&r, 10)], f);
            fputc(w + 1 < words ? ' ' : '\n', f);
        }
    }
    if (f)
        fclose(f);
    snprintf(cmd, sizeof cmd, "'%s' train %s --conditioned --hidden 32 --layers 1 --embed 16 --batch 16 "
             "--epochs 20 --threads 1 --out %s/cg --quiet", rnn_bin(), path, o);
    int rc = sh(cmd);
    CHECK_MSG(rc == 0, "exit %d: %s", rc, cmd);
    if (rc)
        return;
    for (int l = 0; l < 3; l++) {
        snprintf(cmd, sizeof cmd, "'%s' sample %s/cg/best.safetensors --condition %s --lines 20 --seed 3 "
                 "--temperature 0.7 > %s/cg_%s.txt", rnn_bin(), o, names[l], o, names[l]);
        CHECK((rc = sh(cmd)) == 0);
        snprintf(path, sizeof path, "%s/cg_%s.txt", o, names[l]);
        char *s = slurp(path);
        int total = 0, inside = 0, lines = 0;
        for (char *c = s; c && *c; c++) {
            lines += *c == '\n';
            if (*c == ' ' || *c == '\n')
                continue;
            total++;
            inside += strchr(alpha[l], *c) != NULL;
        }
        CHECK_MSG(lines == 20, "--lines 20 gave %d lines", lines);
        CHECK_MSG(total >= 40 && inside >= 0.95 * total, "--condition %s: %d of %d characters from its "
                  "alphabet (want >= 95%%)", names[l], inside, total);
        rnn__free(s);
    }

    /* greedy sampling = argmax through the library, each line from a
     * fresh state: so the second greedy line repeats the first */
    snprintf(cmd, sizeof cmd, "'%s' sample %s/cg/best.safetensors --condition upper --lines 2 "
             "--temperature 0 > %s/cg_greedy.txt", rnn_bin(), o, o);
    CHECK(sh(cmd) == 0);
    snprintf(path, sizeof path, "%s/cg_greedy.txt", o);
    char *got = slurp(path);
    rnn__st st;
    rnn_error e;
    rnn_model *m = NULL;
    snprintf(path, sizeof path, "%s/cg/best.safetensors", o);
    if (!got || rnn__st_read(&st, path, &e) || rnn__model_from_st(&m, &st, path, &e)) {
        t_fail_at(__FILE__, __LINE__, "%s", got ? e.msg : "no output");
        rnn__free(got);
        return;
    }
    rnn__json *vj;
    const char *vs = rnn__st_meta(&st, "rnn.vocab");
    CHECK_OK(rnn__json_parse(&vj, vs, strlen(vs), &e));
    const int V = (int)vj->count;
    char vocab[128];
    for (int i = 0; i < V && i < 128; i++)
        vocab[i] = (char)vj->items[i].uint; /* ASCII here */
    int32_t ids[128], cond = 2; /* the labels sorted: digit, lower, upper */
    CHECK(strcmp(rnn__st_meta(&st, "rnn.labels"), "[\"digit\", \"lower\", \"upper\"]") == 0);
    char expect[300];
    size_t len = 0;
    float *logits = malloc(128 * (size_t)V * sizeof *logits);
    int n = 1;
    ids[0] = (int32_t)(strchr(vocab, '\n') - vocab);
    while (n < 100) {
        rnn_batch b = {n, 1, ids, NULL, NULL, &cond, NULL, NULL};
        CHECK_OK(rnn_model_forward_batch(m, logits, NULL, NULL, &b, 0));
        const float *z = logits + (size_t)(n - 1) * V;
        int best = 0;
        for (int v = 1; v < V; v++)
            if (z[v] > z[best])
                best = v;
        expect[len++] = vocab[best];
        if (vocab[best] == '\n')
            break;
        ids[n++] = best;
    }
    memcpy(expect + len, expect, len); /* the second line repeats the first */
    expect[2 * len] = '\0';
    CHECK_MSG(strcmp(got, expect) == 0, "greedy conditioned sample '%s' != library argmax '%s'", got, expect);
    free(logits);
    rnn__json_free(vj);
    rnn_model_free(m);
    rnn__st_free(&st);
    rnn__free(got);
}

/* --resume continues a classifier bitwise: 12 + 18 steps == 30 steps. */
static void test_resume_bitwise(void)
{
    const char *o = t_tmpdir();
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "'%s' classify generate sentiment --count 300 --seed 5 --output %s/r.tsv && "
             "'%s' classify train %s/r.tsv --pool attention --bidirectional --dropout 0.1 --layers 2 "
             "--hidden 16 --max-steps 30 --threads 1 --out %s/ra --quiet > /dev/null && "
             "'%s' classify train %s/r.tsv --pool attention --bidirectional --dropout 0.1 --layers 2 "
             "--hidden 16 --max-steps 12 --threads 1 --out %s/rb --quiet > /dev/null && "
             "'%s' classify train %s/r.tsv --max-steps 30 --resume --threads 1 --out %s/rb --quiet > /dev/null",
             rnn_bin(), o, rnn_bin(), o, o, rnn_bin(), o, o, rnn_bin(), o, o);
    int rc = sh(cmd);
    CHECK_MSG(rc == 0, "exit %d: %s", rc, cmd);
    if (rc)
        return;
    char pa[700], pb[700];
    snprintf(pa, sizeof pa, "%s/ra/last.safetensors", o);
    snprintf(pb, sizeof pb, "%s/rb/last.safetensors", o);
    rnn__st a, b;
    rnn_error e;
    if (rnn__st_read(&a, pa, &e) || rnn__st_read(&b, pb, &e)) {
        t_fail_at(__FILE__, __LINE__, "%s", e.msg);
        return;
    }
    CHECK(a.count == b.count && a.count > 10 && rnn__st_find(&a, "attn.v"));
    for (size_t i = 0; i < a.count; i++) {
        const rnn__st_tensor *ta = &a.tensors[i], *tb = rnn__st_find(&b, ta->name);
        CHECK_MSG(tb && tb->nbytes == ta->nbytes && memcmp(ta->data, tb->data, ta->nbytes) == 0,
                  "tensor '%s' differs after resume", ta->name);
    }
    CHECK(strcmp(rnn__st_meta(&a, "rnn.labels"), "[\"neg\", \"pos\"]") == 0);
    CHECK(strcmp(rnn__st_meta(&a, "rnn.task"), "classify") == 0);
    rnn__st_free(&a);
    rnn__st_free(&b);
}

void suite_classify(void);
void suite_classify(void)
{
    RUN(test_tsv_rows);
    RUN(test_tsv_per_step);
    RUN(test_tsv_errors);
    RUN(test_tsv_nul);
    RUN(test_strtab);
    RUN(test_many_to_one_words);
    RUN(test_many_to_one_pools);
    RUN(test_many_to_many_tagging);
    RUN(test_many_to_many_npy);
    RUN(test_one_to_one);
    RUN(test_one_to_many);
    RUN(test_resume_bitwise);
}
