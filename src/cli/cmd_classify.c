/*
 * cmd_classify.c -- `rnn classify train|predict|generate`: recurrent
 * classifiers for three of the seeds' shapes. Many-to-one: one label per
 * sequence, read from the stack's outputs by a pooling readout. Many-to-many
 * of equal length (--per-step): one label per step, sequence labelling.
 * One-to-one: the same with sequences of one step. Input is text
 * (label<TAB>text, characters or words) or .npy features [N, T, F].
 *
 * Training runs the shared outer loop (train_common.h): best/last
 * checkpoints, log.csv, loss.svg, --resume, Ctrl-C. Afterwards the held-out
 * test part is scored with the best checkpoint into DIR/metrics.json.
 */
#include "cli/classify_data.h"
#include "cli/train_common.h"

#include "io/io.h"
#include "model/model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char usage_main[] =
    "usage: rnn classify train|predict|generate ...   (rnn classify SUBCOMMAND --help)\n"
    "\n"
    "Recurrent sequence classifiers:\n"
    "  train      train on label<TAB>text lines or .npy features; writes checkpoints and\n"
    "             metrics.json (accuracy, macro-F1, confusion matrix of a held-out part)\n"
    "  predict    label new sequences with a trained checkpoint\n"
    "  generate   write a small built-in data set (sentiment, tagging, xor)\n"
    "\n"
    "Many-to-one (one label per sequence), many-to-many of equal length (--per-step: one\n"
    "label per step) and one-to-one (sequences of one step). See docs/classify.md.\n"
    "\n"
    "Exit status: 0 success, 1 internal error, 2 bad input.\n";

static const char usage_train_head[] =
    "usage: rnn classify train DATA.tsv [options] --out DIR\n"
    "       rnn classify train --x X.npy --y Y.npy [--lengths L.npy] [options] --out DIR\n"
    "\n"
    "Trains a recurrent classifier. Many-to-one: one label per sequence, read from the\n"
    "recurrent stack's outputs by --pool. Many-to-many of equal length (--per-step): one\n"
    "label per step (sequence labelling). One-to-one: sequences of one step.\n"
    "A held-out test part is scored at the end with the best checkpoint: accuracy,\n"
    "macro-F1 and the confusion matrix, printed and written to DIR/metrics.json.\n"
    "\n"
    "data:\n"
    "  DATA.tsv              label<TAB>text lines (UTF-8). With --per-step labels<TAB>text:\n"
    "                        one label per token, separated by spaces, or one character\n"
    "                        per label when the field has no space\n"
    "  --tokens char|word    read the text as characters (default) or as words\n"
    "  --min-count N         words seen fewer than N times in training become <unk>\n"
    "                        (default 2; --tokens word)\n"
    "  --x X.npy             features [N, T, F] (float32 or float64) instead of a TSV\n"
    "  --y Y.npy             class ids [N] (integers), or [N, T] with --per-step (-1 = none)\n"
    "  --lengths L.npy       the steps of each sequence [N] (default: all T)\n"
    "  --test-frac F         hold out this fraction of the examples for the test (default\n"
    "                        0.2; the split is random, fixed by --seed)\n"
    "  --test-file FILE      test on this TSV file instead\n"
    "  --max-len N           the longest sequence accepted, now and by predict (default 1000)\n"
    "classifier:\n"
    "  --pool last|mean|max|attention\n"
    "                        how a sequence becomes one vector (default last): the final\n"
    "                        state (of both directions with --bidirectional), the mean or\n"
    "                        elementwise maximum of the outputs over the valid steps, or an\n"
    "                        attention-weighted sum of them\n"
    "  --bidirectional       read every sequence in both directions\n"
    "  --per-step            one label per step (sequence labelling)\n"
    "\n"
    "Defaults here: --hidden 64 --layers 1 --embed 32 --batch 32 --val-frac 0.1 (of\n"
    "what remains after the test part) and an evaluation every epoch (--eval-every).\n"
    "--seq-len is not used: a sequence is a whole line.\n"
    "\n";
static const char usage_train_tail[] =
    "\n"
    "Then: rnn classify predict DIR/best.safetensors FILE.\n"
    "Exit status: 0 success, 1 internal error or diverged training, 2 bad input.\n";

static const char usage_predict[] =
    "usage: rnn classify predict CKPT FILE.tsv [--output PREDS.tsv] [--metrics M.json]\n"
    "       rnn classify predict CKPT X.npy [--lengths L.npy] [--y Y.npy] [--output PREDS.tsv]\n"
    "\n"
    "Labels sequences with a checkpoint from 'rnn classify train'. FILE.tsv holds text\n"
    "lines, or label<TAB>text lines like the training data (then the predictions are\n"
    "also scored). X.npy holds features [N, T, F] (with --y, scored as well).\n"
    "\n"
    "Output (--output, or stdout): a header line, then one line per sequence:\n"
    "  text (or the row number of X.npy) <TAB> predicted label <TAB> its probability\n"
    "With --per-step the labels of every step (joined with spaces unless every label is\n"
    "one character) and the mean probability of the predicted labels.\n"
    "\n"
    "  --output FILE     write the predictions there (atomically) instead of stdout\n"
    "  --metrics FILE    write the scores as JSON (labelled input only)\n"
    "  --y Y.npy         labels for X.npy\n"
    "  --lengths L.npy   the steps of each sequence of X.npy [N] (default: all T)\n"
    "  --batch N         sequences per forward pass (default 64)\n"
    "  --threads N       threads (default: all cores)\n"
    "\n"
    "A character outside the model's vocabulary, a label not seen in training, or a\n"
    "sequence longer than the model's limit (--max-len) is an error naming the line.\n"
    "Unknown words (--tokens word) are read as <unk>.\n"
    "Exit status: 0 success, 1 internal error, 2 bad input.\n";

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* A permutation of 0..n-1 fixed by the seed (Fisher-Yates). */
static int32_t *shuffled(int n, uint64_t seed)
{
    int32_t *p = malloc((size_t)(n ? n : 1) * sizeof *p);
    if (!p)
        return NULL;
    rnn__rng r;
    rnn__rng_seed(&r, seed ^ 0xc1a55u);
    rnn__rng_permutation(&r, p, n);
    return p;
}

/* ---- building the vocabulary and labels from TSV rows -------------------- */

typedef struct row_list {
    const rnn__tsv_row **r;
    int n;
} row_list;

static int build_meta_tsv(const char *verb, const char *path, cls_meta *m, const row_list *train,
                          const row_list *const *all, int nall, int min_count)
{
    rnn_error e;
    rnn_status st;
    size_t total_tok = 0, total_lab = 0;
    for (int k = 0; k < nall; k++)
        for (int i = 0; i < all[k]->n; i++) {
            total_tok += all[k]->r[i]->ntok;
            total_lab += m->per_step ? all[k]->r[i]->ntok : 1;
        }
    const char **labs = malloc((total_lab ? total_lab : 1) * sizeof *labs);
    if (!labs)
        return cli_error(verb, CLI_EXIT_INTERNAL, "out of memory");
    size_t nl = 0;
    for (int k = 0; k < nall; k++)
        for (int i = 0; i < all[k]->n; i++) {
            const rnn__tsv_row *r = all[k]->r[i];
            if (m->per_step)
                for (size_t t = 0; t < r->ntok; t++)
                    labs[nl++] = r->step_labels[t];
            else
                labs[nl++] = r->label;
        }
    st = rnn__strtab_build(&m->labels, labs, nl, &e);
    free(labs);
    if (st)
        return cli_fail_status(verb, st, e.msg);
    if (m->labels.n < 2)
        return cli_error(verb, CLI_EXIT_INPUT, "%s: every example has the label '%s'; a classifier needs "
                         "at least 2 labels", path, m->labels.s[0]);

    if (m->input == CLS_CHAR) {
        /* every file's characters: a test character never seen in training
         * gets an (untrained) embedding rather than an error */
        uint32_t *cps = malloc((total_tok ? total_tok : 1) * sizeof *cps);
        if (!cps)
            return cli_error(verb, CLI_EXIT_INTERNAL, "out of memory");
        size_t n = 0;
        for (int k = 0; k < nall; k++)
            for (int i = 0; i < all[k]->n; i++) {
                memcpy(cps + n, all[k]->r[i]->cps, all[k]->r[i]->ntok * sizeof *cps);
                n += all[k]->r[i]->ntok;
            }
        st = rnn__vocab_build(&m->chars, cps, n, NULL, 0, &e);
        free(cps);
        return st ? cli_fail_status(verb, st, e.msg) : 0;
    }
    /* words: those seen at least min_count times in the training part */
    size_t nw = 0;
    for (int i = 0; i < train->n; i++)
        nw += train->r[i]->ntok;
    const char **w = malloc((nw + 1) * sizeof *w);
    if (!w)
        return cli_error(verb, CLI_EXIT_INTERNAL, "out of memory");
    nw = 0;
    for (int i = 0; i < train->n; i++)
        for (size_t t = 0; t < train->r[i]->ntok; t++)
            w[nw++] = train->r[i]->words[t];
    rnn__strtab distinct;
    if ((st = rnn__strtab_build(&distinct, w, nw, &e))) {
        free(w);
        return cli_fail_status(verb, st, e.msg);
    }
    int *count = calloc((size_t)distinct.n + 1, sizeof *count);
    const char **keep = malloc(((size_t)distinct.n + 1) * sizeof *keep);
    if (!count || !keep) {
        free(w);
        free(count);
        free(keep);
        rnn__strtab_free(&distinct);
        return cli_error(verb, CLI_EXIT_INTERNAL, "out of memory");
    }
    for (size_t i = 0; i < nw; i++)
        count[rnn__strtab_index(&distinct, w[i])]++;
    size_t nk = 0;
    for (int i = 0; i < distinct.n; i++)
        if (count[i] >= min_count)
            keep[nk++] = distinct.s[i];
    keep[nk++] = CLS_UNK;
    st = rnn__strtab_build(&m->words, keep, nk, &e);
    free(w);
    free(count);
    free(keep);
    rnn__strtab_free(&distinct);
    return st ? cli_fail_status(verb, st, e.msg) : 0;
}

/* ---- scoring a set with a checkpoint ---------------------------------------- */

static int score(const char *verb, const char *ckpt, const cls_meta *meta, const cls_set *s,
                 int batch, int threads, cls_metrics *mt)
{
    rnn_model *m;
    rnn_error e;
    rnn_status st = rnn_model_load(&m, ckpt, &e);
    if (st)
        return cli_fail_status(verb, st, e.msg);
    rnn_model_set_threads(m, threads);
    const int K = meta->labels.n;
    const size_t rows = (size_t)s->d.n * (meta->per_step ? (size_t)s->d.T : 1);
    float *out = malloc(rows * (size_t)K * sizeof *out);
    int rc = 0;
    if (!out)
        rc = cli_error(verb, CLI_EXIT_INTERNAL, "out of memory");
    else if ((st = rnn_model_predict(m, out, &s->d, batch, &e)))
        rc = cli_fail_status(verb, st, e.msg);
    else
        rc = cls_metrics_compute(mt, meta, s, out, rnn_dataset_loss(m, RNN_LOSS_XENT, out, &s->d));
    free(out);
    rnn_model_free(m);
    return rc;
}

/* ---- rnn classify train ---------------------------------------------------- */

typedef struct train_cfg {
    const char *x, *y, *lengths, *test_file, *tokens, *pool;
    int per_step, bidirectional, max_len, min_count;
    double test_frac;
} train_cfg;

static int parse_readout(const char *verb, const train_cfg *c, rnn_readout *r)
{
    if (c->per_step) {
        *r = RNN_READOUT_STEPS;
        return 0;
    }
    const char *p = c->pool ? c->pool : "last";
    if (strcmp(p, "last") == 0)
        *r = RNN_READOUT_LAST;
    else if (strcmp(p, "mean") == 0)
        *r = RNN_READOUT_MEAN;
    else if (strcmp(p, "max") == 0)
        *r = RNN_READOUT_MAX;
    else if (strcmp(p, "attention") == 0)
        *r = RNN_READOUT_ATTENTION;
    else
        return cli_error(verb, CLI_EXIT_INPUT, "--pool: expected last, mean, max or attention, got '%s'", p);
    return 0;
}

static const char *readout_name(rnn_readout r)
{
    switch (r) {
    case RNN_READOUT_STEPS: return "every step";
    case RNN_READOUT_LAST: return "last";
    case RNN_READOUT_MEAN: return "mean";
    case RNN_READOUT_MAX: return "max";
    default: return "attention";
    }
}

static int classify_train(int argc, char **argv)
{
    const char *verb = "classify train";
    train_flags f;
    train_flags_defaults(&f);
    f.hidden = 64;
    f.layers = 1;
    f.embed = 32;
    f.batch = 32;
    f.val_frac = 0.1;
    train_cfg c = {0};
    c.max_len = 1000;
    c.min_count = 2;
    c.test_frac = 0.2;
    cli_opt opts[TRAIN_FLAG_COUNT + 16];
    int nopt = train_flags_add(&f, opts, 0);
    const cli_opt mine[] = {
        {"x", CLI_STR, &c.x, 0, 0, 0},
        {"y", CLI_STR, &c.y, 0, 0, 0},
        {"lengths", CLI_STR, &c.lengths, 0, 0, 0},
        {"test-file", CLI_STR, &c.test_file, 0, 0, 0},
        {"test-frac", CLI_FLOAT, &c.test_frac, 0, 0.9, 0},
        {"tokens", CLI_STR, &c.tokens, 0, 0, 0},
        {"min-count", CLI_INT, &c.min_count, 1, 1 << 30, 0},
        {"pool", CLI_STR, &c.pool, 0, 0, 0},
        {"bidirectional", CLI_FLAG, &c.bidirectional, 0, 0, 0},
        {"per-step", CLI_FLAG, &c.per_step, 0, 0, 0},
        {"max-len", CLI_INT, &c.max_len, 1, 1 << 20, 0},
    };
    for (size_t i = 0; i < sizeof mine / sizeof mine[0]; i++)
        opts[nopt++] = mine[i];
    opts[nopt] = (cli_opt){0, 0, 0, 0, 0, 0};
    static char usage[12288];
    snprintf(usage, sizeof usage, "%s%s%s", usage_train_head, train_flags_usage, usage_train_tail);
    const char *pos[1] = {NULL};
    int np;
    int rc = cli_parse(verb, argc, argv, opts, pos, 0, 1, &np, usage);
    if (rc)
        return rc < 0 ? 0 : rc;

    char ckpt[4096];
    snprintf(ckpt, sizeof ckpt, "%s/last.safetensors", f.out);
    rnn__st resume = {0};
    rnn__json *saved = NULL;
    int have_resume = 0;
    rnn_error e;
    rnn_status st;
    if (f.resume) {
        static const char *const tasks[] = {"classify", "label", NULL};
        if ((rc = train_resume_read(verb, ckpt, tasks, "rnn classify train", opts, nopt, &resume,
                                    &have_resume, &saved)))
            goto out_resume;
    }
    if (!f.epochs && !f.max_steps && !(f.max_time > 0))
        f.epochs = 10;

    /* what the data is */
    const int npy = c.x != NULL;
    if (npy == (pos[0] != NULL)) {
        rc = cli_error(verb, CLI_EXIT_INPUT, npy ? "give either DATA.tsv or --x/--y, not both"
                                                 : "missing data: DATA.tsv, or --x X.npy --y Y.npy");
        goto out_resume;
    }
    if (npy && !c.y) {
        rc = cli_error(verb, CLI_EXIT_INPUT, "--x needs --y Y.npy (the labels)");
        goto out_resume;
    }
    if (!npy && (c.y || c.lengths)) {
        rc = cli_error(verb, CLI_EXIT_INPUT, "--%s applies to .npy data (--x)", c.y ? "y" : "lengths");
        goto out_resume;
    }
    if (npy && (c.test_file || c.tokens || f.val_file)) {
        rc = cli_error(verb, CLI_EXIT_INPUT, "--%s applies to TSV data; with .npy use --test-frac and --val-frac",
                       c.test_file ? "test-file" : c.tokens ? "tokens" : "val-file");
        goto out_resume;
    }
    if (c.tokens && strcmp(c.tokens, "char") != 0 && strcmp(c.tokens, "word") != 0) {
        rc = cli_error(verb, CLI_EXIT_INPUT, "--tokens: expected char or word, got '%s'", c.tokens);
        goto out_resume;
    }
    if (c.per_step && c.pool) {
        rc = cli_error(verb, CLI_EXIT_INPUT, "--pool reads one label per sequence; --per-step has a label per step");
        goto out_resume;
    }
    rnn_readout readout = RNN_READOUT_LAST;
    if ((rc = parse_readout(verb, &c, &readout)))
        goto out_resume;
    if ((rc = train_prepare_out(verb, f.out)))
        goto out_resume;

    cls_meta meta = {0};
    meta.per_step = c.per_step;
    meta.max_len = c.max_len;
    meta.input = npy ? CLS_FEATURES : (c.tokens && strcmp(c.tokens, "word") == 0) ? CLS_WORD : CLS_CHAR;
    rnn__tsv data = {0}, testf = {0}, valf = {0};
    cls_npy arr = {0};
    cls_set train = {0}, val = {0}, test = {0};
    int32_t *perm = NULL;
    rnn_model *m = NULL;
    rnn_trainer *t = NULL;
    char *flags_json = NULL;
    const char *keys[8];
    char *values[8] = {0};
    size_t nmeta = 0;
    train_run run = {0};
    row_list tr = {0}, va = {0}, te = {0};
    const char *data_path = npy ? c.x : pos[0];
    int N, ntest, nval, ntrain;

    if (!npy) {
        rnn__tsv_options to = {meta.input == CLS_WORD ? RNN__TOK_WORD : RNN__TOK_CHAR, RNN__TSV_LABELLED,
                               c.per_step, (size_t)c.max_len};
        if ((st = rnn__tsv_read(&data, data_path, &to, &e)) ||
            (c.test_file && (st = rnn__tsv_read(&testf, c.test_file, &to, &e))) ||
            (f.val_file && (st = rnn__tsv_read(&valf, f.val_file, &to, &e)))) {
            rc = cli_fail_status(verb, st, e.msg);
            goto out;
        }
        N = (int)data.count;
        if (data.count > (1u << 30)) {
            rc = cli_error(verb, CLI_EXIT_INPUT, "%s: too many lines", data_path);
            goto out;
        }
    } else {
        if ((rc = cls_npy_load(verb, c.x, c.y, c.lengths, &arr)))
            goto out;
        if (arr.per_step != c.per_step) {
            rc = cli_error(verb, CLI_EXIT_INPUT,
                           c.per_step ? "%s: --per-step needs labels of shape (N, T), one per step"
                                      : "%s: labels of shape (N, T) are one per step: add --per-step",
                           c.y);
            goto out;
        }
        N = arr.n;
        for (int i = 0; i < N; i++)
            if (arr.lengths[i] > c.max_len) {
                rc = cli_error(verb, CLI_EXIT_INPUT, "%s: sequence %d has %d steps, more than --max-len %d",
                               c.x, i, arr.lengths[i], c.max_len);
                goto out;
            }
    }
    /* test part first (held out from everything), then validation */
    ntest = c.test_file ? 0 : (int)floor(N * c.test_frac + 0.5);
    nval = f.val_file ? 0 : (int)floor((N - ntest) * f.val_frac + 0.5);
    ntrain = N - ntest - nval;
    if (ntrain < 1) {
        rc = cli_error(verb, CLI_EXIT_INPUT, "%s: %d examples: none left to train on after the test "
                       "(%d) and validation (%d) parts", data_path, N, ntest, nval);
        goto out;
    }
    if (!(perm = shuffled(N, f.seed))) {
        rc = cli_error(verb, CLI_EXIT_INTERNAL, "out of memory");
        goto out;
    }
    if (!npy) {
        tr.r = malloc((size_t)ntrain * sizeof *tr.r);
        va.r = malloc((size_t)(valf.count ? valf.count : (size_t)nval + 1) * sizeof *va.r);
        te.r = malloc((size_t)(testf.count ? testf.count : (size_t)ntest + 1) * sizeof *te.r);
        if (!tr.r || !va.r || !te.r) {
            rc = cli_error(verb, CLI_EXIT_INTERNAL, "out of memory");
            goto out;
        }
        for (int i = 0; i < ntest; i++)
            te.r[te.n++] = &data.rows[perm[i]];
        for (size_t i = 0; i < testf.count; i++)
            te.r[te.n++] = &testf.rows[i];
        for (int i = 0; i < nval; i++)
            va.r[va.n++] = &data.rows[perm[ntest + i]];
        for (size_t i = 0; i < valf.count; i++)
            va.r[va.n++] = &valf.rows[i];
        for (int i = 0; i < ntrain; i++)
            tr.r[tr.n++] = &data.rows[perm[ntest + nval + i]];
        const row_list *all[3] = {&tr, &va, &te};
        if ((rc = build_meta_tsv(verb, data_path, &meta, &tr, all, 3, c.min_count)) ||
            (rc = cls_encode_rows(verb, data_path, &meta, tr.r, tr.n, 1, &train)) ||
            (va.n && (rc = cls_encode_rows(verb, data_path, &meta, va.r, va.n, 1, &val))) ||
            (te.n && (rc = cls_encode_rows(verb, data_path, &meta, te.r, te.n, 1, &test))))
            goto out;
    } else {
        int K = 0;
        const size_t nl = (size_t)N * (arr.per_step ? (size_t)arr.T : 1);
        for (size_t i = 0; i < nl; i++)
            K = arr.labels[i] + 1 > K ? arr.labels[i] + 1 : K;
        if (K < 2) {
            rc = cli_error(verb, CLI_EXIT_INPUT, "%s: the largest class id is %d; a classifier needs at "
                           "least 2 classes (ids 0..K-1)", c.y, K - 1);
            goto out;
        }
        char **names = calloc((size_t)K, sizeof *names);
        int ok = names != NULL;
        for (int k = 0; ok && k < K; k++) {
            char num[16];
            snprintf(num, sizeof num, "%d", k);
            ok = (names[k] = rnn__strdup(num)) != NULL;
        }
        st = ok ? rnn__strtab_from_list(&meta.labels, (const char *const *)names, (size_t)K, &e) : RNN_ENOMEM;
        for (int k = 0; names && k < K; k++)
            rnn__free(names[k]);
        free(names);
        if (st) {
            rc = cli_fail_status(verb, st, ok ? e.msg : "out of memory");
            goto out;
        }
        meta.features = arr.F;
        if ((rc = cls_npy_select(verb, &arr, perm + ntest + nval, ntrain, &train)) ||
            (nval && (rc = cls_npy_select(verb, &arr, perm + ntest, nval, &val))) ||
            (ntest && (rc = cls_npy_select(verb, &arr, perm, ntest, &test))))
            goto out;
    }
    const int has_val = val.d.n > 0;

    /* the model and its trainer */
    rnn_train_options o;
    rnn_cell cell;
    int64_t bpe = (ntrain + f.batch - 1) / f.batch, total = INT64_MAX;
    if (!cli_find(opts, "eval-every")->seen && !have_resume)
        f.eval_every = (int)(bpe < (1 << 30) ? bpe : 1 << 30);
    if (f.max_steps)
        total = (int64_t)f.max_steps;
    if (f.epochs && (int64_t)f.epochs * bpe < total)
        total = (int64_t)f.epochs * bpe;
    if ((rc = train_flags_to_options(verb, &f, total, &o, &cell)))
        goto out;
    cli_set_threads(f.threads);
    const int K = meta.labels.n;
    const int V = meta.input == CLS_CHAR ? meta.chars.size : meta.input == CLS_WORD ? meta.words.n : 0;
    rnn_model_config mc = {.vocab_size = V, .embed_size = V ? f.embed : 0, .input_size = V ? 0 : meta.features,
                           .cell = cell, .hidden_size = f.hidden, .num_layers = f.layers,
                           .bidirectional = c.bidirectional, .dropout = (float)f.dropout,
                           .output_size = K, .readout = readout};
    if ((rc = train_check_memory(verb, &f, &mc, &o, train.d.T))) /* --max-memory */
        goto out;
    if ((st = rnn_model_new(&m, &mc, f.seed, &e))) {
        rc = cli_fail_status(verb, st, e.msg);
        goto out;
    }
    rnn_model_set_threads(m, f.threads);
    if ((st = rnn_seq_trainer_new(&t, m, &o, RNN_LOSS_XENT, &train.d, has_val ? &val.d : NULL, &e))) {
        rc = cli_error(verb, cli_exit_code(st), "%s: %s", data_path, e.msg);
        goto out;
    }
    if (have_resume && (st = rnn_trainer_restore(t, ckpt))) {
        rc = cli_error(verb, cli_exit_code(st), "--resume: %s", rnn_trainer_errmsg(t));
        goto out;
    }
    if ((rc = cls_meta_pairs(&meta, keys, values, &nmeta)))
        goto out;
    if (!(flags_json = train_flags_json(opts, nopt))) {
        rc = cli_error(verb, CLI_EXIT_INTERNAL, "out of memory");
        goto out;
    }
    {
        /* the progress line counts tokens as seq_len x batch per step:
         * make seq_len the mean sequence length (it is not used otherwise) */
        double steps = 0;
        for (int i = 0; i < train.d.n; i++)
            steps += train.d.lengths ? train.d.lengths[i] : train.d.T;
        f.seq_len = (int)(steps / train.d.n + 0.5);
        if (f.seq_len < 1)
            f.seq_len = 1;
    }
    run.verb = verb;
    run.flags = &f;
    run.trainer = t;
    run.has_val = has_val;
    run.meta_keys = keys;
    run.meta_values = (const char *const *)values;
    run.meta_count = nmeta;
    run.flags_json = flags_json;
    run.best_val = INFINITY;
    if (have_resume && (rc = train_resume_state(&run, ckpt, rnn__st_meta(&resume, "rnn.loop"))))
        goto out;
    if (!f.quiet) {
        size_t npar;
        rnn_model_params(m, &npar);
        fprintf(stderr, "%s: %d %s, %d labels", data_path, N,
                meta.per_step ? "sequences" : "examples", K);
        if (meta.input == CLS_CHAR)
            fprintf(stderr, ", %d characters", meta.chars.size);
        else if (meta.input == CLS_WORD)
            fprintf(stderr, ", %d words (with %s)", meta.words.n, CLS_UNK);
        else
            fprintf(stderr, ", %d step%s x %d feature%s", arr.T, arr.T == 1 ? "" : "s", arr.F,
                    arr.F == 1 ? "" : "s");
        fprintf(stderr, "; training on %d, validating on %d, testing on %d%s\n", train.d.n, val.d.n,
                test.d.n, c.test_file ? " (--test-file)" : "");
        fprintf(stderr, "model: %s%s %d x %d, ", c.bidirectional ? "bidirectional " : "",
                rnn_cell_name(cell), f.layers, f.hidden);
        if (V)
            fprintf(stderr, "embedding %d, ", f.embed);
        fprintf(stderr, "readout %s, %zu parameters; %lld steps per epoch of %d sequences\n",
                readout_name(readout), npar, (long long)bpe, f.batch);
        if (have_resume) {
            rnn_train_stats ts;
            rnn_trainer_stats(t, &ts);
            fprintf(stderr, "resuming from %s at step %lld\n", ckpt, (long long)ts.step);
        }
    }
    if ((rc = train_loop(&run)))
        goto out;

    {
        /* score the held-out part with the checkpoint a user would take */
        const cls_set *s = test.d.n ? &test : has_val ? &val : &train;
        const char *split = test.d.n ? "test" : has_val ? "validation" : "train";
        char path[4096], mpath[4096];
        struct stat sb;
        snprintf(path, sizeof path, "%s/best.safetensors", f.out);
        if (!has_val || stat(path, &sb) != 0)
            snprintf(path, sizeof path, "%s/last.safetensors", f.out);
        if (stat(path, &sb) != 0) { /* stopped (Ctrl-C) before the first step */
            if (!f.quiet)
                fprintf(stderr, "no checkpoint to score: no training step was made\n");
            goto out;
        }
        cls_metrics mt;
        if ((rc = score(verb, path, &meta, s, f.batch <= 4096 ? f.batch : 4096, f.threads, &mt)))
            goto out;
        const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
        char what[4200];
        snprintf(what, sizeof what, "%s (%s)", split, base);
        cls_metrics_print(stdout, &mt, &meta, what);
        snprintf(mpath, sizeof mpath, "%s/metrics.json", f.out);
        rc = cls_metrics_write(verb, mpath, &mt, &meta, split, base);
        cls_metrics_free(&mt);
        if (!rc && !f.quiet)
            fprintf(stderr, "saved %s\n", mpath);
    }
out:
    train_run_free(&run);
    rnn_trainer_free(t);
    rnn_model_free(m);
    for (size_t i = 0; i < nmeta; i++)
        rnn__free(values[i]);
    rnn__free(flags_json);
    free(perm);
    free(tr.r);
    free(va.r);
    free(te.r);
    cls_set_free(&train);
    cls_set_free(&val);
    cls_set_free(&test);
    cls_npy_free(&arr);
    rnn__tsv_free(&data);
    rnn__tsv_free(&testf);
    rnn__tsv_free(&valf);
    cls_meta_free(&meta);
out_resume:
    if (have_resume)
        rnn__st_free(&resume);
    rnn__json_free(saved);
    return rc;
}

/* ---- rnn classify predict -------------------------------------------------- */

static int one_char_labels(const rnn__strtab *labels)
{
    for (int i = 0; i < labels->n; i++) {
        const unsigned char *s = (const unsigned char *)labels->s[i];
        size_t n = strlen(labels->s[i]);
        if (n == 0 || rnn__utf8_len(s, n) != n)
            return 0;
    }
    return 1;
}

static int classify_predict(int argc, char **argv)
{
    const char *verb = "classify predict", *output = NULL, *metrics = NULL, *ypath = NULL, *lpath = NULL;
    int batch = 64, threads = cli_default_threads();
    cli_opt opts[] = {
        {"output", CLI_STR, &output, 0, 0, 0},
        {"metrics", CLI_STR, &metrics, 0, 0, 0},
        {"y", CLI_STR, &ypath, 0, 0, 0},
        {"lengths", CLI_STR, &lpath, 0, 0, 0},
        {"batch", CLI_INT, &batch, 1, 4096, 0},
        {"threads", CLI_INT, &threads, 1, 1024, 0},
        {0, 0, 0, 0, 0, 0},
    };
    const char *pos[2];
    int np;
    int rc = cli_parse(verb, argc, argv, opts, pos, 2, 2, &np, usage_predict);
    if (rc)
        return rc < 0 ? 0 : rc;
    const char *ckpt = pos[0], *input = pos[1];
    rnn__st f;
    rnn_error e;
    rnn_status st = rnn__st_read(&f, ckpt, &e);
    if (st)
        return cli_fail_status(verb, st, e.msg);
    rnn_model *m = NULL;
    cls_meta meta = {0};
    rnn__tsv tsv = {0};
    cls_npy arr = {0};
    cls_set set = {0};
    int32_t *idx = NULL;
    float *out = NULL;
    rnn__buf b = {0};
    int labelled = 0;
    if ((st = rnn__model_from_st(&m, &f, ckpt, &e))) {
        rc = cli_fail_status(verb, st, e.msg);
        goto out;
    }
    if ((rc = cls_meta_read(verb, ckpt, &f, &meta)))
        goto out;
    const rnn_model_config *mc = rnn_model_get_config(m);
    if (mc->output_size != meta.labels.n || (meta.input == CLS_FEATURES) != (mc->vocab_size == 0) ||
        (meta.input == CLS_CHAR && mc->vocab_size != meta.chars.size) ||
        (meta.input == CLS_WORD && mc->vocab_size != meta.words.n) ||
        (mc->readout == RNN_READOUT_STEPS) != meta.per_step) {
        rc = cli_error(verb, CLI_EXIT_INPUT, "%s: the metadata (labels, vocabulary) does not match the model",
                       ckpt);
        goto out;
    }
    rnn_model_set_threads(m, threads);
    const int is_npy = ends_with(input, ".npy");
    if (meta.input == CLS_FEATURES && !is_npy) {
        rc = cli_error(verb, CLI_EXIT_INPUT, "%s: the model reads .npy features [N, T, %d], not text",
                       input, mc->input_size);
        goto out;
    }
    if (meta.input != CLS_FEATURES && is_npy) {
        rc = cli_error(verb, CLI_EXIT_INPUT, "%s: the model reads text (a TSV of %s), not .npy features",
                       input, meta.per_step ? "labels<TAB>text or text lines" : "label<TAB>text or text lines");
        goto out;
    }
    if (!is_npy && (ypath || lpath)) {
        rc = cli_error(verb, CLI_EXIT_INPUT, "--%s applies to .npy input", ypath ? "y" : "lengths");
        goto out;
    }
    if (!is_npy) {
        rnn__tsv_options to = {meta.input == CLS_WORD ? RNN__TOK_WORD : RNN__TOK_CHAR, RNN__TSV_EITHER,
                               meta.per_step, (size_t)meta.max_len};
        if ((st = rnn__tsv_read(&tsv, input, &to, &e))) {
            rc = cli_fail_status(verb, st, e.msg);
            goto out;
        }
        if (tsv.count > (1u << 30)) {
            rc = cli_error(verb, CLI_EXIT_INPUT, "%s: too many lines", input);
            goto out;
        }
        labelled = tsv.labelled;
        const rnn__tsv_row **rows = malloc(tsv.count * sizeof *rows);
        if (!rows) {
            rc = cli_error(verb, CLI_EXIT_INTERNAL, "out of memory");
            goto out;
        }
        for (size_t i = 0; i < tsv.count; i++)
            rows[i] = &tsv.rows[i];
        rc = cls_encode_rows(verb, input, &meta, rows, (int)tsv.count, labelled, &set);
        free(rows);
        if (rc)
            goto out;
    } else {
        if ((rc = cls_npy_load(verb, input, ypath, lpath, &arr)))
            goto out;
        if (arr.F != mc->input_size) {
            rc = cli_error(verb, CLI_EXIT_INPUT, "%s: %d features per step, but the model reads %d", input,
                           arr.F, mc->input_size);
            goto out;
        }
        if (ypath && arr.per_step != meta.per_step) {
            rc = cli_error(verb, CLI_EXIT_INPUT, "%s: the model predicts one label per %s: expected shape %s",
                           ypath, meta.per_step ? "step" : "sequence", meta.per_step ? "(N, T)" : "(N,)");
            goto out;
        }
        for (int i = 0; i < arr.n; i++)
            if (arr.lengths[i] > meta.max_len) {
                rc = cli_error(verb, CLI_EXIT_INPUT, "%s: sequence %d has %d steps, more than the model's "
                               "limit of %d", input, i, arr.lengths[i], meta.max_len);
                goto out;
            }
        if (ypath) {
            const size_t nl = (size_t)arr.n * (arr.per_step ? (size_t)arr.T : 1);
            for (size_t i = 0; i < nl; i++)
                if (arr.labels[i] >= meta.labels.n) {
                    rc = cli_error(verb, CLI_EXIT_INPUT, "%s: element %zu is class %d, but the model knows "
                                   "classes 0..%d", ypath, i, arr.labels[i], meta.labels.n - 1);
                    goto out;
                }
        }
        labelled = ypath != NULL;
        if (!(idx = malloc((size_t)arr.n * sizeof *idx))) {
            rc = cli_error(verb, CLI_EXIT_INTERNAL, "out of memory");
            goto out;
        }
        for (int i = 0; i < arr.n; i++)
            idx[i] = i;
        if ((rc = cls_npy_select(verb, &arr, idx, arr.n, &set)))
            goto out;
    }
    if (metrics && !labelled) {
        rc = cli_error(verb, CLI_EXIT_INPUT, "--metrics needs labelled input (%s)",
                       is_npy ? "--y Y.npy" : "label<TAB>text lines");
        goto out;
    }

    const int K = meta.labels.n, T = set.d.T;
    const size_t rows = (size_t)set.d.n * (meta.per_step ? (size_t)T : 1);
    if (!(out = malloc(rows * (size_t)K * sizeof *out))) {
        rc = cli_error(verb, CLI_EXIT_INTERNAL, "out of memory");
        goto out;
    }
    if ((st = rnn_model_predict(m, out, &set.d, batch, &e))) {
        rc = cli_fail_status(verb, st, e.msg);
        goto out;
    }
    const char *sep = one_char_labels(&meta.labels) ? "" : " ";
    rnn__buf_printf(&b, "%s\tpredicted\tprobability\n", is_npy ? "index" : "text");
    for (int i = 0; i < set.d.n; i++) {
        if (is_npy)
            rnn__buf_printf(&b, "%d\t", i);
        else
            rnn__buf_printf(&b, "%s\t", set.rows[i]->text);
        if (!meta.per_step) {
            double p;
            int c = cls_argmax(out + (size_t)i * K, K, &p);
            rnn__buf_printf(&b, "%s\t%.4f\n", meta.labels.s[c], p);
            continue;
        }
        double psum = 0;
        for (int t = 0; t < set.lengths[i]; t++) {
            double p;
            int c = cls_argmax(out + ((size_t)i * T + t) * K, K, &p);
            rnn__buf_printf(&b, "%s%s", t ? sep : "", meta.labels.s[c]);
            psum += p;
        }
        rnn__buf_printf(&b, "\t%.4f\n", psum / set.lengths[i]);
    }
    if (b.oom) {
        rc = cli_error(verb, CLI_EXIT_INTERNAL, "out of memory");
        goto out;
    }
    if (output) {
        if ((st = rnn__write_file_atomic(output, b.data, b.len, &e))) {
            rc = cli_fail_status(verb, st, e.msg);
            goto out;
        }
    } else if (fwrite(b.data, 1, b.len, stdout) != b.len || fflush(stdout) != 0) {
        rc = cli_error(verb, CLI_EXIT_INPUT, "writing the predictions to stdout failed");
        goto out;
    }
    if (labelled) {
        cls_metrics mt;
        if ((rc = cls_metrics_compute(&mt, &meta, &set, out, rnn_dataset_loss(m, RNN_LOSS_XENT, out, &set.d))))
            goto out;
        /* the scores go where the predictions do not */
        cls_metrics_print(output ? stdout : stderr, &mt, &meta, input);
        if (metrics) {
            const char *base = strrchr(ckpt, '/') ? strrchr(ckpt, '/') + 1 : ckpt;
            rc = cls_metrics_write(verb, metrics, &mt, &meta, input, base);
        }
        cls_metrics_free(&mt);
    }
out:
    rnn__buf_free(&b);
    free(out);
    free(idx);
    cls_set_free(&set);
    cls_npy_free(&arr);
    rnn__tsv_free(&tsv);
    cls_meta_free(&meta);
    rnn_model_free(m);
    rnn__st_free(&f);
    return rc;
}

int cmd_classify(int argc, char **argv)
{
    if (argc < 1)
        return cli_error("classify", CLI_EXIT_INPUT,
                         "missing subcommand: train, predict or generate (see 'rnn classify --help')");
    const char *s = argv[0];
    if (strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0 || strcmp(s, "help") == 0) {
        fputs(usage_main, stdout);
        return 0;
    }
    if (strcmp(s, "train") == 0)
        return classify_train(argc - 1, argv + 1);
    if (strcmp(s, "predict") == 0)
        return classify_predict(argc - 1, argv + 1);
    if (strcmp(s, "generate") == 0)
        return classify_generate(argc - 1, argv + 1);
    return cli_error("classify", CLI_EXIT_INPUT,
                     "unknown subcommand '%s': expected train, predict or generate", s);
}
