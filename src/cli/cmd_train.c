/*
 * cmd_train.c -- `rnn train TEXT`: a character-level language model, the
 * seeds' central example ("how can it predict the next character?").
 * Reads UTF-8 text, builds the vocabulary of code points, trains with
 * truncated BPTT over parallel streams and writes checkpoints that
 * `rnn sample` and `rnn eval` read.
 *
 * With --conditioned (one-to-many generation) the input is label<TAB>text
 * lines instead: each line is one sequence, read from a line-start marker
 * ('\n') with the label's embedding concatenated to every step's input, and
 * `rnn sample --condition LABEL` generates lines for a label.
 */
#include "cli/train_common.h"

#include "io/io.h"
#include "io/text.h"
#include "io/tsv.h"
#include "model/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_head[] =
    "usage: rnn train TEXT [options]\n"
    "\n"
    "Trains a character-level language model on the UTF-8 file TEXT (char-rnn's task:\n"
    "predict the next character). The vocabulary is the text's Unicode code points.\n"
    "Training is truncated backpropagation through time over --batch parallel streams\n"
    "of the text, the recurrent state carried from one window to the next.\n"
    "Progress goes to stderr; Ctrl-C saves DIR/last.safetensors and stops cleanly.\n"
    "\n";
static const char usage_tail[] =
    "one-to-many (a label-conditioned character model):\n"
    "  --conditioned         TEXT holds label<TAB>text lines: each line is one sequence,\n"
    "                        generated from its label (the label's embedding joins every\n"
    "                        step's input); lines of at most 10000 characters, --val-frac\n"
    "                        of the lines (drawn at random) validate, evaluation every epoch\n"
    "                        unless --eval-every; then rnn sample CKPT --condition LABEL\n"
    "  --cond-size N         width of the label embedding (default 16)\n"
    "\n"
    "Then: rnn sample DIR/best.safetensors, rnn eval DIR/best.safetensors TEXT.\n"
    "Exit status: 0 success, 1 internal error or diverged training, 2 bad input.\n";

/* Decodes a UTF-8 file into code points (errors printed). */
static int read_text(const char *verb, const char *path, uint32_t **cps, size_t *n)
{
    unsigned char *data;
    size_t size;
    rnn_error e;
    rnn_status st = rnn__read_file(path, &data, &size, &e);
    if (st)
        return cli_fail_status(verb, st, e.msg);
    if (size == 0) {
        rnn__free(data);
        return cli_error(verb, CLI_EXIT_INPUT, "%s: file is empty", path);
    }
    st = rnn__utf8_decode(cps, n, data, size, path, &e);
    rnn__free(data);
    return st ? cli_fail_status(verb, st, e.msg) : 0;
}

/* ---- rnn train --conditioned: label<TAB>text lines -------------------------- */

#define COND_MAX_LINE 10000

typedef struct cond_set {
    rnn_dataset d;
    int32_t *tokens, *labels, *lengths, *cond; /* [n][T], [n][T], [n], [n] */
} cond_set;

static void cond_set_free(cond_set *s)
{
    free(s->tokens);
    free(s->labels);
    free(s->lengths);
    free(s->cond);
}

/* Line i reads '\n' c1 ... cn and predicts c1 ... cn '\n' under its label. */
static int cond_encode(const rnn__tsv_row *const *rows, int n, const rnn__vocab *v,
                       const rnn__strtab *labels, cond_set *s)
{
    int T = 1;
    for (int i = 0; i < n; i++)
        T = (int)rows[i]->ntok + 1 > T ? (int)rows[i]->ntok + 1 : T;
    const size_t nT = (size_t)n * (size_t)T;
    s->tokens = calloc(nT, sizeof *s->tokens);
    s->labels = malloc(nT * sizeof *s->labels);
    s->lengths = malloc((size_t)n * sizeof *s->lengths);
    s->cond = malloc((size_t)n * sizeof *s->cond);
    if (!s->tokens || !s->labels || !s->lengths || !s->cond)
        return cli_error("train", CLI_EXIT_INTERNAL, "out of memory");
    const int nl = rnn__vocab_index(v, '\n');
    for (int i = 0; i < n; i++) {
        const rnn__tsv_row *r = rows[i];
        int32_t *tok = s->tokens + (size_t)i * T, *lab = s->labels + (size_t)i * T;
        tok[0] = nl;
        for (size_t t = 0; t < r->ntok; t++)
            tok[t + 1] = lab[t] = rnn__vocab_index(v, r->cps[t]);
        lab[r->ntok] = nl;
        for (int t = (int)r->ntok + 1; t < T; t++)
            lab[t] = -1;
        s->lengths[i] = (int32_t)r->ntok + 1;
        s->cond[i] = rnn__strtab_index(labels, r->label);
    }
    s->d = (rnn_dataset){n, T, s->lengths, s->tokens, NULL, s->cond, s->labels, NULL};
    return 0;
}

static int train_conditioned(const char *text_path, train_flags *f, cli_opt *opts, int nopt,
                             int cond_size, const char *ckpt, const rnn__st *resume)
{
    rnn__tsv data = {0}, valf = {0};
    rnn__tsv_options to = {RNN__TOK_CHAR, RNN__TSV_LABELLED, 0, COND_MAX_LINE};
    rnn_error e;
    rnn_status st;
    int rc = 0;
    const rnn__tsv_row **tr = NULL, **va = NULL;
    int ntr = 0, nva = 0;
    int32_t *perm = NULL;
    uint32_t *cps = NULL;
    const char **labs = NULL;
    rnn__vocab vocab = {0};
    rnn__strtab labels = {0};
    cond_set train = {0}, val = {0};
    rnn_model *m = NULL;
    rnn_trainer *t = NULL;
    char *vocab_json = NULL, *labels_json = NULL, *flags_json = NULL;
    train_run run = {0};

    if ((st = rnn__tsv_read(&data, text_path, &to, &e)) ||
        (f->val_file && (st = rnn__tsv_read(&valf, f->val_file, &to, &e)))) {
        rc = cli_fail_status("train", st, e.msg);
        goto out;
    }
    if (data.count > (1u << 30)) {
        rc = cli_error("train", CLI_EXIT_INPUT, "%s: too many lines", text_path);
        goto out;
    }
    const int N = (int)data.count, nval = f->val_file ? 0 : (int)floor(N * f->val_frac + 0.5);
    if (N - nval < 1) {
        rc = cli_error("train", CLI_EXIT_INPUT, "%s: %d lines: none left to train on after %d for validation",
                       text_path, N, nval);
        goto out;
    }
    /* validation lines drawn at random (fixed by --seed): files are often sorted by label */
    perm = malloc((size_t)N * sizeof *perm);
    tr = malloc((size_t)N * sizeof *tr);
    va = malloc((valf.count + (size_t)nval + 1) * sizeof *va);
    if (!perm || !tr || !va) {
        rc = cli_error("train", CLI_EXIT_INTERNAL, "out of memory");
        goto out;
    }
    rnn__rng rng;
    rnn__rng_seed(&rng, f->seed ^ 0xc04du);
    rnn__rng_permutation(&rng, perm, N);
    for (int i = 0; i < N; i++) {
        if (i < nval)
            va[nva++] = &data.rows[perm[i]];
        else
            tr[ntr++] = &data.rows[perm[i]];
    }
    for (size_t i = 0; i < valf.count; i++)
        va[nva++] = &valf.rows[i];

    /* the vocabulary: every character of the lines, plus the line end */
    size_t total = 1;
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < (k ? nva : ntr); i++)
            total += (k ? va : tr)[i]->ntok;
    cps = malloc(total * sizeof *cps);
    labs = malloc(((size_t)ntr + (size_t)nva) * sizeof *labs);
    if (!cps || !labs) {
        rc = cli_error("train", CLI_EXIT_INTERNAL, "out of memory");
        goto out;
    }
    size_t nc = 0, nl = 0;
    cps[nc++] = '\n';
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < (k ? nva : ntr); i++) {
            const rnn__tsv_row *r = (k ? va : tr)[i];
            memcpy(cps + nc, r->cps, r->ntok * sizeof *cps);
            nc += r->ntok;
            labs[nl++] = r->label;
        }
    if ((st = rnn__vocab_build(&vocab, cps, nc, NULL, 0, &e)) ||
        (st = rnn__strtab_build(&labels, labs, nl, &e))) {
        rc = cli_fail_status("train", st, e.msg);
        goto out;
    }
    if ((rc = cond_encode(tr, ntr, &vocab, &labels, &train)) ||
        (nva && (rc = cond_encode(va, nva, &vocab, &labels, &val))))
        goto out;

    rnn_train_options o;
    rnn_cell cell;
    int64_t bpe = (ntr + f->batch - 1) / f->batch, total_steps = INT64_MAX;
    if (!cli_find(opts, "eval-every")->seen && !resume)
        f->eval_every = (int)(bpe < (1 << 30) ? bpe : 1 << 30);
    if (f->max_steps)
        total_steps = (int64_t)f->max_steps;
    if (f->epochs && (int64_t)f->epochs * bpe < total_steps)
        total_steps = (int64_t)f->epochs * bpe;
    if ((rc = train_flags_to_options("train", f, total_steps, &o, &cell)))
        goto out;
    cli_set_threads(f->threads);
    rnn_model_config mc = {.vocab_size = vocab.size, .embed_size = f->embed, .cell = cell,
                           .hidden_size = f->hidden, .num_layers = f->layers,
                           .dropout = (float)f->dropout, .output_size = vocab.size,
                           .readout = RNN_READOUT_STEPS, .cond_classes = labels.n,
                           .cond_size = cond_size};
    if ((rc = train_check_memory("train", f, &mc, &o, train.d.T)))
        goto out;
    if ((st = rnn_model_new(&m, &mc, f->seed, &e))) {
        rc = cli_fail_status("train", st, e.msg);
        goto out;
    }
    rnn_model_set_threads(m, f->threads);
    if ((st = rnn_seq_trainer_new(&t, m, &o, RNN_LOSS_XENT, &train.d, nva ? &val.d : NULL, &e))) {
        rc = cli_error("train", cli_exit_code(st), "%s: %s", text_path, e.msg);
        goto out;
    }
    if (resume && (st = rnn_trainer_restore(t, ckpt))) {
        rc = cli_error("train", cli_exit_code(st), "--resume: %s", rnn_trainer_errmsg(t));
        goto out;
    }
    vocab_json = rnn__vocab_to_json(&vocab);
    labels_json = rnn__strtab_to_json(&labels);
    flags_json = train_flags_json(opts, nopt);
    if (!vocab_json || !labels_json || !flags_json) {
        rc = cli_error("train", CLI_EXIT_INTERNAL, "out of memory");
        goto out;
    }
    /* tokens per step for the progress line: the mean line (seq_len is not used) */
    f->seq_len = (int)((double)(nc - 1 + (size_t)ntr + (size_t)nva) / (ntr + nva) + 0.5);
    static const char *const keys[] = {"rnn.task", "rnn.vocab", "rnn.labels"};
    const char *values[] = {"charlm-cond", vocab_json, labels_json};
    run.verb = "train";
    run.flags = f;
    run.trainer = t;
    run.has_val = nva > 0;
    run.meta_keys = keys;
    run.meta_values = values;
    run.meta_count = 3;
    run.flags_json = flags_json;
    run.best_val = INFINITY;
    if (resume && (rc = train_resume_state(&run, ckpt, rnn__st_meta(resume, "rnn.loop"))))
        goto out;
    if (!f->quiet) {
        size_t np_;
        rnn_model_params(m, &np_);
        fprintf(stderr, "%s: %d lines, %d labels, vocabulary %d (with the line end); training on %d "
                "lines, validating on %d%s\n", text_path, N, labels.n, vocab.size, ntr, nva,
                f->val_file ? " (--val-file)" : "");
        fprintf(stderr, "model: %s %d x %d, embedding %d, condition %d x %d, %zu parameters; %lld "
                "steps per epoch of %d lines\n", rnn_cell_name(cell), f->layers, f->hidden, f->embed,
                labels.n, cond_size, np_, (long long)bpe, f->batch);
        if (resume) {
            rnn_train_stats ts;
            rnn_trainer_stats(t, &ts);
            fprintf(stderr, "resuming from %s at step %lld\n", ckpt, (long long)ts.step);
        }
    }
    rc = train_loop(&run);
out:
    train_run_free(&run);
    rnn_trainer_free(t);
    rnn_model_free(m);
    rnn__free(vocab_json);
    rnn__free(labels_json);
    rnn__free(flags_json);
    cond_set_free(&train);
    cond_set_free(&val);
    rnn__vocab_free(&vocab);
    rnn__strtab_free(&labels);
    free(cps);
    free(labs);
    free(perm);
    free(tr);
    free(va);
    rnn__tsv_free(&data);
    rnn__tsv_free(&valf);
    return rc;
}

int cmd_train(int argc, char **argv)
{
    train_flags f;
    train_flags_defaults(&f);
    cli_opt opts[TRAIN_FLAG_COUNT + 4];
    int nopt = train_flags_add(&f, opts, 0);
    int conditioned = 0, cond_size = 16;
    opts[nopt++] = (cli_opt){"conditioned", CLI_FLAG, &conditioned, 0, 0, 0};
    opts[nopt++] = (cli_opt){"cond-size", CLI_INT, &cond_size, 1, 1 << 16, 0};
    opts[nopt] = (cli_opt){0, 0, 0, 0, 0, 0};
    char usage[8192];
    snprintf(usage, sizeof usage, "%s%s%s", usage_head, train_flags_usage, usage_tail);
    const char *pos[1];
    int np;
    int rc = cli_parse("train", argc, argv, opts, pos, 1, 1, &np, usage);
    if (rc)
        return rc < 0 ? 0 : rc;
    const char *text_path = pos[0];
    char ckpt[4096];
    snprintf(ckpt, sizeof ckpt, "%s/last.safetensors", f.out);

    rnn__st resume = {0};
    rnn__json *saved = NULL; /* the saved flags; their strings are used for the run */
    int have_resume = 0;
    rnn_error e;
    if (f.resume) {
        static const char *const tasks[] = {"charlm", "charlm-cond", NULL};
        if ((rc = train_resume_read("train", ckpt, tasks, "rnn train", opts, nopt, &resume,
                                    &have_resume, &saved)))
            goto out_resume;
        const int ckpt_cond = strcmp(rnn__st_meta(&resume, "rnn.task"), "charlm-cond") == 0;
        if (conditioned && !ckpt_cond) {
            rc = cli_error("train", CLI_EXIT_INPUT, "--resume: %s holds an unconditioned model; drop "
                           "--conditioned", ckpt);
            goto out_resume;
        }
        conditioned = ckpt_cond; /* resuming continues the same kind of model */
    }
    if (!f.epochs && !f.max_steps && !(f.max_time > 0))
        f.epochs = 10;
    if (cli_find(opts, "cond-size")->seen && !conditioned) {
        rc = cli_error("train", CLI_EXIT_INPUT, "--cond-size applies to --conditioned");
        goto out_resume;
    }
    if ((rc = train_prepare_out("train", f.out)))
        goto out_resume;
    if (conditioned) {
        rc = train_conditioned(text_path, &f, opts, nopt, cond_size, ckpt, have_resume ? &resume : NULL);
        goto out_resume;
    }

    uint32_t *text = NULL, *vtext = NULL;
    size_t n = 0, nv = 0;
    int32_t *ids = NULL, *vids = NULL;
    rnn_model *m = NULL;
    rnn_trainer *t = NULL;
    char *vocab_json = NULL, *flags_json = NULL;
    rnn__vocab vocab = {0};
    train_run run = {0};

    if ((rc = read_text("train", text_path, &text, &n)))
        goto out;
    size_t ntrain = n;
    const uint32_t *vsrc = NULL;
    if (f.val_file) {
        if ((rc = read_text("train", f.val_file, &vtext, &nv)))
            goto out;
        vsrc = vtext;
    } else {
        nv = (size_t)((double)n * f.val_frac);
        ntrain = n - nv;
        vsrc = text + ntrain;
    }
    if (nv == 1)
        nv = 0; /* one character predicts nothing */
    rnn_status st = rnn__vocab_build(&vocab, text, n, vtext, vtext ? nv : 0, &e);
    if (st) {
        rc = cli_fail_status("train", st, e.msg);
        goto out;
    }
    ids = malloc((n ? n : 1) * sizeof *ids);
    vids = malloc((nv ? nv : 1) * sizeof *vids);
    if (!ids || !vids) {
        rc = cli_error("train", CLI_EXIT_INTERNAL, "out of memory");
        goto out;
    }
    rnn__vocab_encode(&vocab, ids, text, ntrain, NULL);
    rnn__vocab_encode(&vocab, vids, vsrc, nv, NULL);
    if (ntrain < 2) {
        rc = cli_error("train", CLI_EXIT_INPUT, "%s: only %zu characters to train on", text_path, ntrain);
        goto out;
    }

    rnn_train_options o;
    rnn_cell cell;
    size_t S = (ntrain - 1) / (size_t)f.batch;
    int64_t bpe = (int64_t)(S / (size_t)f.seq_len), total = INT64_MAX;
    if (f.max_steps)
        total = (int64_t)f.max_steps;
    if (f.epochs && (int64_t)f.epochs * bpe < total)
        total = (int64_t)f.epochs * bpe;
    if ((rc = train_flags_to_options("train", &f, total, &o, &cell)))
        goto out;
    cli_set_threads(f.threads);

    rnn_model_config mc = {.vocab_size = vocab.size, .embed_size = f.embed, .input_size = 0, .cell = cell,
                           .hidden_size = f.hidden, .num_layers = f.layers, .bidirectional = 0,
                           .dropout = (float)f.dropout, .output_size = vocab.size};
    if ((rc = train_check_memory("train", &f, &mc, &o, f.seq_len)))
        goto out;
    if ((st = rnn_model_new(&m, &mc, f.seed, &e))) {
        rc = cli_fail_status("train", st, e.msg);
        goto out;
    }
    rnn_model_set_threads(m, f.threads);
    if ((st = rnn_lm_trainer_new(&t, m, &o, ids, ntrain, vids, nv, &e))) {
        rc = cli_error("train", cli_exit_code(st), "%s: %s", text_path, e.msg);
        goto out;
    }
    if (have_resume) {
        if ((st = rnn_trainer_restore(t, ckpt))) {
            rc = cli_error("train", cli_exit_code(st), "--resume: %s", rnn_trainer_errmsg(t));
            goto out;
        }
    }
    vocab_json = rnn__vocab_to_json(&vocab);
    flags_json = train_flags_json(opts, nopt);
    if (!vocab_json || !flags_json) {
        rc = cli_error("train", CLI_EXIT_INTERNAL, "out of memory");
        goto out;
    }
    static const char *const keys[] = {"rnn.task", "rnn.vocab"};
    const char *values[] = {"charlm", vocab_json};
    run.verb = "train";
    run.flags = &f;
    run.trainer = t;
    run.has_val = nv >= 2;
    run.meta_keys = keys;
    run.meta_values = values;
    run.meta_count = 2;
    run.flags_json = flags_json;
    run.best_val = 1.0 / 0.0;
    if (have_resume && (rc = train_resume_state(&run, ckpt, rnn__st_meta(&resume, "rnn.loop"))))
        goto out;
    if (!f.quiet) {
        rnn_train_stats ts;
        rnn_trainer_stats(t, &ts);
        size_t np_;
        rnn_model_params(m, &np_);
        fprintf(stderr, "%s: %zu characters, vocabulary %d; training on %zu, validating on %zu%s\n",
                text_path, n, vocab.size, ntrain, nv, f.val_file ? " (--val-file)" : "");
        fprintf(stderr, "model: %s %d x %d, embedding %d, %zu parameters; %lld steps per epoch of %d x %d%s\n",
                rnn_cell_name(cell), f.layers, f.hidden, f.embed, np_, (long long)bpe, f.batch,
                f.seq_len, have_resume ? "" : "");
        if (have_resume)
            fprintf(stderr, "resuming from %s at step %lld\n", ckpt, (long long)ts.step);
    }
    rc = train_loop(&run);
out:
    train_run_free(&run);
    rnn_trainer_free(t);
    rnn_model_free(m);
    rnn__vocab_free(&vocab);
    free(vocab_json);
    free(flags_json);
    free(ids);
    free(vids);
    rnn__free(text);
    rnn__free(vtext);
out_resume:
    if (have_resume)
        rnn__st_free(&resume);
    rnn__json_free(saved);
    return rc;
}
