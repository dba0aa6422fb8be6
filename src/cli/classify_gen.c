/*
 * classify_gen.c -- `rnn classify generate KIND`: small built-in data sets
 * for the sequence shapes, generated from word lists and a seed, so that
 * the tests and the documentation need no download.
 *
 *   sentiment  label<TAB>sentence, pos or neg. The label depends on word
 *              order, not only on which words occur: "not" flips an
 *              adjective, and after "but" the second clause decides.
 *   tagging    tags<TAB>sentence, one tag per character: the word class of
 *              the word the character belongs to (D determiner, A adjective,
 *              N noun, V verb, R adverb, _ space). Some words are
 *              ambiguous ("light" is A or N, "fish" N or V...), so a tag can
 *              depend on the words that follow.
 *   xor        x [N, 1, 2] uniform in [-1, 1]^2 and y [N]: 1 when both
 *              coordinates have the same sign (one-to-one: a single step).
 */
#include "cli/classify_data.h"

#include "io/io.h"

#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: rnn classify generate sentiment|tagging [--count N] [--seed S] [--output FILE]\n"
    "       rnn classify generate xor [--count N] [--seed S] --x X.npy --y Y.npy\n"
    "\n"
    "Writes a small generated data set (no download) for 'rnn classify train' and\n"
    "'rnn train --conditioned':\n"
    "\n"
    "  sentiment  label<TAB>sentence lines, label pos or neg. Sentences are built from\n"
    "             word lists; 'not' flips an adjective and after 'but' the second\n"
    "             clause decides, so word order matters (many-to-one)\n"
    "  tagging    tags<TAB>sentence lines, one tag per character: the class of the\n"
    "             word it belongs to (D, A, N, V, R; _ for spaces); some words are\n"
    "             ambiguous ('light' is A or N) (many-to-many, --per-step)\n"
    "  xor        X.npy [N, 1, 2] uniform in [-1, 1]^2 and Y.npy [N]: 1 when both\n"
    "             coordinates have the same sign (one-to-one: one step)\n"
    "\n"
    "  --count N     examples (default 2000)\n"
    "  --seed S      random seed (default 1); the same seed gives the same data\n"
    "  --output FILE write there (atomically) instead of to stdout\n"
    "  --x, --y      output files of xor\n"
    "\n"
    "Exit status: 0 success, 1 internal error, 2 bad input.\n";

#define N_(a) (sizeof(a) / sizeof((a)[0]))

static const char *pick(rnn__rng *r, const char *const *list, size_t n)
{
    return list[rnn__rng_below(r, n)];
}

static const char *const subjects[] = {"the film", "the movie", "the plot", "the acting",
                                       "the music", "the ending", "the book", "the service",
                                       "the food", "the story", "the cast", "the show"};
static const char *const verbs[] = {"was", "is", "seemed", "felt"};
static const char *const intensifiers[] = {"", "very ", "really ", "quite ", "so "};
static const char *const good[] = {"good", "great", "wonderful", "excellent", "fun",
                                   "brilliant", "lovely", "superb", "charming", "delightful"};
static const char *const bad[] = {"bad", "awful", "boring", "terrible", "dull",
                                  "poor", "weak", "horrible", "clumsy", "tedious"};

/* A clause of polarity pol (+1 / -1): "the plot was not very dull". */
static void clause(rnn__buf *b, rnn__rng *r, int pol)
{
    int negate = rnn__rng_double(r) < 0.3;
    int adj = negate ? -pol : pol;
    rnn__buf_printf(b, "%s %s %s%s%s", pick(r, subjects, N_(subjects)), pick(r, verbs, N_(verbs)),
                    negate ? "not " : "", pick(r, intensifiers, N_(intensifiers)),
                    adj > 0 ? pick(r, good, N_(good)) : pick(r, bad, N_(bad)));
}

static void gen_sentiment(rnn__buf *b, rnn__rng *r, int count)
{
    for (int i = 0; i < count; i++) {
        int pol = rnn__rng_below(r, 2) ? 1 : -1;
        double u = rnn__rng_double(r);
        rnn__buf_printf(b, "%s\t", pol > 0 ? "pos" : "neg");
        if (u < 0.5) {
            clause(b, r, pol);
        } else if (u < 0.75) {
            clause(b, r, pol);
            rnn__buf_puts(b, ", and ");
            clause(b, r, pol);
        } else {
            clause(b, r, -pol); /* "X, but Y": Y decides */
            rnn__buf_puts(b, ", but ");
            clause(b, r, pol);
        }
        rnn__buf_puts(b, "\n");
    }
}

typedef struct word {
    const char *w;
    char tag;
} word;

static const word dets[] = {{"the", 'D'}, {"a", 'D'}, {"every", 'D'}, {"some", 'D'}, {"my", 'D'},
                            {"this", 'D'}};
static const word adjs[] = {{"red", 'A'},   {"small", 'A'}, {"old", 'A'},   {"light", 'A'},
                            {"fast", 'A'},  {"quiet", 'A'}, {"green", 'A'}, {"happy", 'A'}};
static const word nouns[] = {{"cat", 'N'},  {"dog", 'N'},  {"light", 'N'}, {"watch", 'N'},
                             {"book", 'N'}, {"fish", 'N'}, {"bird", 'N'},  {"run", 'N'},
                             {"tree", 'N'}};
static const word verbs_t[] = {{"sees", 'V'},  {"likes", 'V'}, {"watches", 'V'}, {"books", 'V'},
                               {"fish", 'V'},  {"finds", 'V'}, {"lights", 'V'},  {"runs", 'V'}};
static const word advs[] = {{"quickly", 'R'}, {"slowly", 'R'}, {"today", 'R'}, {"again", 'R'}};

/* Appends a word to the sentence and its tag once per character. */
static void put_word(rnn__buf *text, rnn__buf *tags, const word *w, int first)
{
    if (!first) {
        rnn__buf_puts(text, " ");
        rnn__buf_puts(tags, "_");
    }
    rnn__buf_puts(text, w->w);
    for (const char *c = w->w; *c; c++)
        rnn__buf_append(tags, &w->tag, 1);
}

static void noun_phrase(rnn__buf *text, rnn__buf *tags, rnn__rng *r, int first)
{
    put_word(text, tags, &dets[rnn__rng_below(r, N_(dets))], first);
    if (rnn__rng_double(r) < 0.5)
        put_word(text, tags, &adjs[rnn__rng_below(r, N_(adjs))], 0);
    put_word(text, tags, &nouns[rnn__rng_below(r, N_(nouns))], 0);
}

static void gen_tagging(rnn__buf *b, rnn__rng *r, int count)
{
    rnn__buf text = {0}, tags = {0};
    for (int i = 0; i < count && !text.oom && !tags.oom; i++) {
        text.len = tags.len = 0;
        noun_phrase(&text, &tags, r, 1);
        put_word(&text, &tags, &verbs_t[rnn__rng_below(r, N_(verbs_t))], 0);
        noun_phrase(&text, &tags, r, 0);
        if (rnn__rng_double(r) < 0.3)
            put_word(&text, &tags, &advs[rnn__rng_below(r, N_(advs))], 0);
        rnn__buf_append(b, tags.data, tags.len);
        rnn__buf_puts(b, "\t");
        rnn__buf_append(b, text.data, text.len);
        rnn__buf_puts(b, "\n");
    }
    if (text.oom || tags.oom)
        b->oom = 1;
    rnn__buf_free(&text);
    rnn__buf_free(&tags);
}

static int gen_xor(const char *xpath, const char *ypath, rnn__rng *r, int count)
{
    float *x = malloc((size_t)count * 2 * sizeof *x);
    int64_t *y = malloc((size_t)count * sizeof *y);
    if (!x || !y) {
        free(x);
        free(y);
        return cli_error("classify generate", CLI_EXIT_INTERNAL, "out of memory");
    }
    for (int i = 0; i < count; i++) {
        x[2 * i] = (float)(2 * rnn__rng_double(r) - 1);
        x[2 * i + 1] = (float)(2 * rnn__rng_double(r) - 1);
        y[i] = (x[2 * i] > 0) == (x[2 * i + 1] > 0);
    }
    int64_t xs[3] = {count, 1, 2}, ys[1] = {count};
    rnn_error e;
    rnn_status st = rnn__npy_write(xpath, RNN__F32, 3, xs, x, &e);
    if (!st)
        st = rnn__npy_write(ypath, RNN__I64, 1, ys, y, &e);
    free(x);
    free(y);
    return st ? cli_fail_status("classify generate", st, e.msg) : 0;
}

int classify_generate(int argc, char **argv)
{
    const char *verb = "classify generate", *output = NULL, *xpath = NULL, *ypath = NULL;
    int count = 2000;
    uint64_t seed = 1;
    cli_opt opts[] = {
        {"count", CLI_INT, &count, 1, 10000000, 0},
        {"seed", CLI_U64, &seed, 0, 0, 0},
        {"output", CLI_STR, &output, 0, 0, 0},
        {"x", CLI_STR, &xpath, 0, 0, 0},
        {"y", CLI_STR, &ypath, 0, 0, 0},
        {0, 0, 0, 0, 0, 0},
    };
    const char *pos[1];
    int np;
    int rc = cli_parse(verb, argc, argv, opts, pos, 1, 1, &np, usage);
    if (rc)
        return rc < 0 ? 0 : rc;
    rnn__rng r;
    rnn__rng_seed(&r, seed);
    const char *kind = pos[0];
    if (strcmp(kind, "xor") == 0) {
        if (!xpath || !ypath)
            return cli_error(verb, CLI_EXIT_INPUT, "xor writes .npy files: give --x X.npy and --y Y.npy");
        if (output)
            return cli_error(verb, CLI_EXIT_INPUT, "xor writes --x and --y, not --output");
        return gen_xor(xpath, ypath, &r, count);
    }
    if (xpath || ypath)
        return cli_error(verb, CLI_EXIT_INPUT, "--x and --y apply to xor; %s writes text (--output)", kind);
    rnn__buf b = {0};
    if (strcmp(kind, "sentiment") == 0)
        gen_sentiment(&b, &r, count);
    else if (strcmp(kind, "tagging") == 0)
        gen_tagging(&b, &r, count);
    else
        return cli_error(verb, CLI_EXIT_INPUT, "unknown data set '%s' (sentiment, tagging or xor)", kind);
    if (b.oom) {
        rnn__buf_free(&b);
        return cli_error(verb, CLI_EXIT_INTERNAL, "out of memory");
    }
    if (output) {
        rnn_error e;
        rnn_status st = rnn__write_file_atomic(output, b.data, b.len, &e);
        rnn__buf_free(&b);
        return st ? cli_fail_status(verb, st, e.msg) : 0;
    }
    const size_t len = b.len, w = fwrite(b.data, 1, len, stdout);
    rnn__buf_free(&b);
    if (w != len || fflush(stdout) != 0)
        return cli_error(verb, CLI_EXIT_INPUT, "writing to stdout failed");
    return 0;
}
