/*
 * task_memory.c -- `rnn task adding` and `rnn task copy`: the long-memory
 * benchmarks (REFERENCE.md "Long-memory tasks"). Generates the data, trains
 * an RNN, LSTM, GRU (rnn_model + the sequence trainer) or Statal model
 * (statal_model.c) with the shared training flags and loop, reports the
 * test loss beside the memoryless baseline (stdout and DIR/metrics.json)
 * and, with --gradflow, draws |dL/dh_t| against t (DIR/gradflow.svg, a
 * log scale): the vanishing gradient of the seeds, made visible.
 */
#include "cli/cli.h"
#include "cli/train_common.h"

#include "io/io.h"
#include "model/memtask.h"
#include "model/model.h"
#include "model/statal_model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static const char usage_adding[] =
    "usage: rnn task adding --length T [options] --out DIR\n"
    "\n"
    "The adding problem: two input streams of T steps, values U[0,1) and a marker\n"
    "stream with two ones (one in each half); the target is the sum of the two marked\n"
    "values, read after the last step (MSE). Always predicting 1 gives MSE 0.167.\n";
static const char usage_copy[] =
    "usage: rnn task copy --length T [options] --out DIR\n"
    "\n"
    "Copy memory: 10 symbols of 8, T-1 blanks, a delimiter, 10 blanks (T+20 steps, one-hot);\n"
    "the model must output blanks, then the 10 symbols after the delimiter. Cross-entropy\n"
    "per step over all T+20 steps; a memoryless model gets 10 ln 8 / (T+20). The recall\n"
    "steps alone (baseline ln 8) and the share of symbols recalled are reported too.\n";
static const char usage_task[] =
    "\n"
    "Generates the data (deterministic in --seed: training, validation and test sets),\n"
    "trains, evaluates DIR/best.safetensors on the test set and reports the test loss\n"
    "beside the baseline on stdout and in DIR/metrics.json.\n"
    "\n"
    "task:\n"
    "  --length T            sequence length (adding: 2..100000) / delay (copy: 1..100000)\n"
    "  --train-size N        training sequences (default 10000)\n"
    "  --test-size N         test sequences (default 1000); validation: another N/2\n"
    "  --cell lstm|gru|rnn|statal   (default lstm)\n"
    "  --statal MODE         the Statal cell's state: copy, binary, prob (default) or multi\n"
    "                        (seed 003; docs/statal.md); with --cell statal\n"
    "  --init pytorch|irnn   irnn: identity recurrent weights, relu, zero biases (Le et al.\n"
    "                        2015); with --cell rnn\n"
    "  --forget-bias X       LSTM: forget-gate bias b_if = X, b_hf = 0 (default: PyTorch's\n"
    "                        uniform init; 1 is the common choice for long memory)\n"
    "  --gradflow            DIR/gradflow.svg and gradflow.csv: the norm of dL/dh_t against t\n"
    "                        for the initial and the trained model (100 test sequences)\n"
    "  --gradflow-cells LIST also the initial models of these cells on the same plot, e.g.\n"
    "                        rnn,lstm,gru,statal (irnn and statal:MODE accepted)\n"
    "Defaults that differ here from the training flags below: --hidden 64, --layers 1,\n"
    "--lr 1e-2, --clip 1, --eval-every 100, --epochs 10 (2000 steps with the default\n"
    "--train-size and --batch 50); --embed, --seq-len, --val-frac and --val-file do not apply.\n"
    "\n";
static const char usage_tail[] =
    "\n"
    "Exit status: 0 success, 1 internal error or diverged training, 2 bad input.\n";

typedef struct task_flags {
    int length, train_size, test_size, gradflow;
    const char *statal, *init, *gradflow_cells;
    const char *forget_bias_arg; /* a string, so that "not given" survives --resume */
    double forget_bias;          /* NAN: PyTorch's init */
} task_flags;

typedef enum { TASK_ADDING, TASK_COPY } task_kind;

/* One data set of the task. */
typedef struct task_data {
    int n, T;
    float *x, *y;    /* [n][T][F], adding: [n] */
    int32_t *labels; /* copy: [n][T] */
} task_data;

static void data_free(task_data *d)
{
    free(d->x);
    free(d->y);
    free(d->labels);
    memset(d, 0, sizeof *d);
}

static int data_make(const char *verb, task_kind kind, int n, int length, uint64_t seed,
                     task_data *d)
{
    memset(d, 0, sizeof *d);
    d->n = n;
    d->T = kind == TASK_ADDING ? length : length + 2 * RNN__COPY_SYMBOLS;
    const int F = kind == TASK_ADDING ? 2 : RNN__COPY_INPUTS;
    const double floats = (double)n * d->T * F;
    if (floats > 5e8)
        return cli_error(verb, CLI_EXIT_INPUT,
                         "--train-size/--test-size x --length: %d sequences of %d steps need %.1f GB; "
                         "the limit is 2 GB", n, d->T, floats * 4 / 1e9);
    d->x = malloc((size_t)floats * sizeof *d->x);
    if (kind == TASK_ADDING)
        d->y = malloc((size_t)n * sizeof *d->y);
    else
        d->labels = malloc((size_t)n * d->T * sizeof *d->labels);
    if (!d->x || (!d->y && !d->labels)) {
        data_free(d);
        return cli_error(verb, CLI_EXIT_INTERNAL, "out of memory for the data");
    }
    if (kind == TASK_ADDING)
        rnn__adding_data(d->x, d->y, n, length, seed);
    else
        rnn__copy_data(d->x, d->labels, n, length, seed);
    return 0;
}

static rnn_dataset as_dataset(const task_data *d)
{
    rnn_dataset s = {d->n, d->T, NULL, NULL, d->x, NULL, d->labels, d->y};
    return s;
}

/* ---- models: an rnn_model or a Statal model behind one interface ---------------- */

typedef struct any_model {
    rnn_model *rm;
    rnn__statal_model *sm;
} any_model;

static void any_free(any_model *a)
{
    rnn_model_free(a->rm);
    rnn__statal_model_free(a->sm);
    a->rm = NULL;
    a->sm = NULL;
}

/* A cell as named on the command line / in --gradflow-cells. */
typedef struct cell_spec {
    int statal; /* 1: Statal with `mode` */
    rnn__statal_mode mode;
    rnn_cell cell;
    int irnn;
    char label[32];
} cell_spec;

static int parse_cell(const char *verb, const char *name, const char *statal_default,
                      cell_spec *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->label, sizeof c->label, "%s", name);
    if (strcmp(name, "lstm") == 0)
        c->cell = RNN_CELL_LSTM;
    else if (strcmp(name, "gru") == 0)
        c->cell = RNN_CELL_GRU;
    else if (strcmp(name, "rnn") == 0)
        c->cell = RNN_CELL_RNN_TANH;
    else if (strcmp(name, "irnn") == 0) {
        c->cell = RNN_CELL_RNN_RELU;
        c->irnn = 1;
    } else if (strcmp(name, "statal") == 0 || strncmp(name, "statal:", 7) == 0) {
        const char *mode = name[6] == ':' ? name + 7 : statal_default;
        int m = rnn__statal_mode_from_name(mode);
        if (m < 0)
            return cli_error(verb, CLI_EXIT_INPUT,
                             "--gradflow-cells: unknown Statal mode '%s' (expected copy, binary, "
                             "prob or multi)", mode);
        c->statal = 1;
        c->mode = (rnn__statal_mode)m;
        snprintf(c->label, sizeof c->label, "statal %s", mode);
    } else
        return cli_error(verb, CLI_EXIT_INPUT,
                         "--gradflow-cells: unknown cell '%s' (expected rnn, irnn, lstm, gru, statal "
                         "or statal:MODE)", name);
    return 0;
}

/* The configurations of the task's model: the Statal one or the other. */
static rnn__statal_config statal_config(const cell_spec *c, task_kind kind, const train_flags *f)
{
    const int F = kind == TASK_ADDING ? 2 : RNN__COPY_INPUTS;
    const int O = kind == TASK_ADDING ? 1 : RNN__COPY_CLASSES;
    return (rnn__statal_config){c->mode, F, f->hidden, f->layers, O, kind == TASK_COPY};
}

static rnn_model_config model_config(const cell_spec *c, task_kind kind, const train_flags *f)
{
    rnn_model_config mc = {0};
    mc.input_size = kind == TASK_ADDING ? 2 : RNN__COPY_INPUTS;
    mc.cell = c->cell;
    mc.hidden_size = f->hidden;
    mc.num_layers = f->layers;
    mc.dropout = (float)f->dropout;
    mc.output_size = kind == TASK_ADDING ? 1 : RNN__COPY_CLASSES;
    mc.readout = kind == TASK_ADDING ? RNN_READOUT_LAST : RNN_READOUT_STEPS;
    return mc;
}

/* --max-memory (or what the machine has): refused before anything is
 * allocated, with the estimate. */
static int check_memory(const char *verb, const cell_spec *c, task_kind kind, const train_flags *f,
                        const rnn_train_options *o, int T)
{
    if (!c->statal) {
        const rnn_model_config mc = model_config(c, kind, f);
        return train_check_memory(verb, f, &mc, o, T);
    }
    const rnn__statal_config sc = statal_config(c, kind, f);
    rnn_memory_estimate est;
    rnn_error e;
    rnn_status st = rnn__statal_memory(&sc, &o->optim, T, o->batch, &est, &e);
    if (st)
        return cli_error(verb, cli_exit_code(st), "%s", e.msg);
    char what[64];
    snprintf(what, sizeof what, "batches of %d x %d", o->batch, T);
    return train_check_estimate(verb, f, &est, what);
}

static int model_new(const char *verb, const cell_spec *c, task_kind kind, const train_flags *f,
                     const task_flags *tf, any_model *out)
{
    memset(out, 0, sizeof *out);
    rnn_error e;
    rnn_status st;
    if (c->statal) {
        const rnn__statal_config sc = statal_config(c, kind, f);
        st = rnn__statal_model_new(&out->sm, &sc, f->seed, &e);
        if (!st)
            out->sm->threads = f->threads;
    } else {
        const rnn_model_config mc = model_config(c, kind, f);
        st = rnn_model_new(&out->rm, &mc, f->seed, &e);
        if (!st && (c->irnn || (c->cell == RNN_CELL_LSTM && !isnan(tf->forget_bias)))) {
            /* IRNN: W_hh = I, biases 0, relu; the input weights keep PyTorch's
             * init. LSTM: the forget gate's bias set, the rest PyTorch's. */
            rnn_init_options io = {RNN_INIT_PYTORCH, RNN_INIT_PYTORCH, 0, 0, 0.0f};
            if (c->irnn) {
                io.recurrent_weights = RNN_INIT_IDENTITY;
                io.zero_biases = 1;
            } else {
                io.set_forget_bias = 1;
                io.forget_bias = (float)tf->forget_bias;
            }
            rnn__rng rng;
            rnn__rng_seed(&rng, f->seed ^ 0x1a2au);
            st = rnn__stack_init_params(&out->rm->stack, &io, &rng, &e);
        }
        if (!st)
            rnn_model_set_threads(out->rm, f->threads);
    }
    if (st) {
        any_free(out);
        return cli_fail_status(verb, st, e.msg);
    }
    return 0;
}

static int predict(const char *verb, any_model *a, float *out, const rnn_dataset *d)
{
    rnn_error e;
    rnn_status st = a->sm ? rnn__statal_predict(a->sm, out, d, 100, &e)
                          : rnn_model_predict(a->rm, out, d, 100, &e);
    return st ? cli_fail_status(verb, st, e.msg) : 0;
}

static int gradflow(const char *verb, any_model *a, task_kind kind, const rnn_dataset *d, int n,
                    double *flow)
{
    rnn_error e;
    rnn_loss loss = kind == TASK_ADDING ? RNN_LOSS_MSE : RNN_LOSS_XENT;
    /* copy: the recall steps' loss, the part that needs memory */
    const int from = kind == TASK_ADDING ? 0 : d->T - RNN__COPY_SYMBOLS;
    rnn_status st = a->sm ? rnn__statal_gradflow(a->sm, loss, d, n, from, flow, &e)
                          : rnn__model_gradflow(a->rm, loss, d, n, from, flow, &e);
    return st ? cli_fail_status(verb, st, e.msg) : 0;
}

/* ---- the gradient-flow chart: SVG, log-scale y ---------------------------------- */

typedef struct flow_series {
    char name[64];
    double *y; /* [T] */
    const char *color;
    int dashed;
} flow_series;

static double nice_step(double span, int target)
{
    double raw = span / target, mag = pow(10, floor(log10(raw))), f = raw / mag;
    return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * mag;
}

static void svg_text(rnn__buf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '<')
            rnn__buf_puts(b, "&lt;");
        else if (*s == '>')
            rnn__buf_puts(b, "&gt;");
        else if (*s == '&')
            rnn__buf_puts(b, "&amp;");
        else
            rnn__buf_append(b, s, 1);
    }
}

/* plot.h draws linear axes only; gradients span many decades, so this is
 * plot_lines's chart with a log10 y axis (zero or non-finite values are
 * gaps). */
static rnn_status plot_log(const char *path, const char *title, const flow_series *s, int count,
                           int T, rnn_error *err)
{
    const int W = 860, Hh = 500;
    const double ml = 72, mr = 24, mt = 44, mb = 56, pw = W - ml - mr, ph = Hh - mt - mb;
    double lo = INFINITY, hi = -INFINITY;
    for (int k = 0; k < count; k++)
        for (int t = 0; t < T; t++)
            if (isfinite(s[k].y[t]) && s[k].y[t] > 0) {
                lo = fmin(lo, log10(s[k].y[t]));
                hi = fmax(hi, log10(s[k].y[t]));
            }
    if (!(lo <= hi)) {
        lo = -1;
        hi = 0;
    }
    double y0 = floor(lo), y1 = ceil(hi);
    if (y1 - y0 < 1)
        y1 = y0 + 1;
    const double x0 = 0, x1 = T > 1 ? T - 1 : 1, xs = nice_step(x1 - x0, 8);
    const int ystep = (int)ceil((y1 - y0) / 12); /* at most ~12 labelled decades */
    rnn__buf b = {0};
    rnn__buf_printf(&b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                        "viewBox=\"0 0 %d %d\" font-family=\"Helvetica, Arial, sans-serif\" "
                        "font-size=\"12\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
                    W, Hh, W, Hh);
    rnn__buf_printf(&b, "<text x=\"%g\" y=\"26\" font-size=\"16\" font-weight=\"bold\">", ml);
    svg_text(&b, title);
    rnn__buf_puts(&b, "</text>\n");
#define PX(x) (ml + ((x) - x0) / (x1 - x0) * pw)
#define PY(v) (mt + (1 - ((v) - y0) / (y1 - y0)) * ph)
    for (double v = y0; v <= y1 + 1e-9; v += 1) {
        const int labelled = ((int)(v - y0)) % ystep == 0;
        rnn__buf_printf(&b, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>\n",
                        ml, ml + pw, PY(v), PY(v), labelled ? "#dddddd" : "#f2f2f2");
        if (labelled)
            rnn__buf_printf(&b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" fill=\"#444\">"
                                "1e%d</text>\n", ml - 6, PY(v) + 4, (int)v);
    }
    for (double v = ceil(x0 / xs) * xs; v <= x1 + xs * 1e-9; v += xs) {
        rnn__buf_printf(&b, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#e5e5e5\"/>\n",
                        PX(v), PX(v), mt, mt + ph);
        rnn__buf_printf(&b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"#444\">%g</text>\n",
                        PX(v), mt + ph + 18, v);
    }
    rnn__buf_printf(&b, "<rect x=\"%g\" y=\"%g\" width=\"%g\" height=\"%g\" fill=\"none\" stroke=\"#888\"/>\n",
                    ml, mt, pw, ph);
    rnn__buf_printf(&b, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">time step t (the loss is "
                        "read at the end)</text>\n", ml + pw / 2, Hh - 14);
    rnn__buf_printf(&b, "<text transform=\"translate(18,%.1f) rotate(-90)\" text-anchor=\"middle\">"
                        "|dL/dh_t| (log scale)</text>\n", mt + ph / 2);
    for (int k = 0; k < count; k++) {
        int open = 0;
        for (int t = 0; t < T; t++) {
            const double v = s[k].y[t];
            if (!(isfinite(v) && v > 0)) {
                if (open)
                    rnn__buf_puts(&b, "\"/>\n");
                open = 0;
                continue;
            }
            if (!open)
                rnn__buf_printf(&b, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.8\"%s "
                                    "points=\"", s[k].color,
                                s[k].dashed ? " stroke-dasharray=\"6,4\"" : "");
            open = 1;
            rnn__buf_printf(&b, "%.1f,%.1f ", PX((double)t), PY(log10(v)));
        }
        if (open)
            rnn__buf_puts(&b, "\"/>\n");
    }
    /* the legend last, bottom right (the curves rise towards the loss at
     * the end, so that corner is usually empty), on a backdrop */
    const double top = mt + ph - 4 - (18 * count + 6), left = ml + pw - 266;
    if (count > 0)
        rnn__buf_printf(&b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"260\" height=\"%d\" fill=\"white\" "
                            "fill-opacity=\"0.85\" stroke=\"#ccc\"/>\n", left, top, 18 * count + 6);
    for (int k = 0; k < count; k++) {
        const double ly = top + 16 + 18 * k, lx = left + 6;
        rnn__buf_printf(&b, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                            "stroke-width=\"2.5\"%s/>\n<text x=\"%.1f\" y=\"%.1f\">",
                        lx, lx + 26, ly - 4, ly - 4, s[k].color,
                        s[k].dashed ? " stroke-dasharray=\"6,4\"" : "", lx + 32, ly);
        svg_text(&b, s[k].name);
        rnn__buf_puts(&b, "</text>\n");
    }
#undef PX
#undef PY
    rnn__buf_puts(&b, "</svg>\n");
    if (b.oom) {
        rnn__buf_free(&b);
        return rnn__fail(err, RNN_ENOMEM, "out of memory drawing %s", path);
    }
    rnn_status st = rnn__write_file_atomic(path, b.data, b.len, err);
    rnn__buf_free(&b);
    return st;
}

/* ---- the verb ------------------------------------------------------------------ */

/* How a test loss compares with the memoryless baseline. "solved": at most a
 * tenth of it; "partial": clearly below it (under 90%); "failed": no better
 * than a model without memory. */
static const char *verdict(double loss, double baseline)
{
    if (!(loss <= baseline * 0.9))
        return "failed";
    return loss <= baseline * 0.1 ? "solved" : "partial";
}

static const char *verdict_text(const char *v)
{
    if (strcmp(v, "solved") == 0)
        return "solved (test loss at most 0.1 x the memoryless baseline)";
    if (strcmp(v, "partial") == 0)
        return "partly learned (below 0.9 x the baseline, above 0.1 x)";
    return "FAILED (not below 0.9 x the memoryless baseline)";
}

static int run_task(task_kind kind, int argc, char **argv)
{
    const char *verb = kind == TASK_ADDING ? "task adding" : "task copy";
    const char *task_name = kind == TASK_ADDING ? "adding" : "copy";
    train_flags f;
    train_flags_defaults(&f);
    /* what trains every cell on these tasks in a few thousand steps (the
     * plateau at the baseline is long at 1e-3; docs/long-memory.md) */
    f.layers = 1;
    f.hidden = 64;
    f.batch = 50;
    f.lr = 1e-2;
    f.clip = 1;
    f.eval_every = 100;
    task_flags tf = {0, 10000, 1000, 0, NULL, "pytorch", NULL, NULL, NAN};
    cli_opt opts[TRAIN_FLAG_COUNT + 16];
    const cli_opt mine[] = {
        {"length", CLI_INT, &tf.length, 1, 100000, 0},
        {"train-size", CLI_INT, &tf.train_size, 1, 10000000, 0},
        {"test-size", CLI_INT, &tf.test_size, 2, 10000000, 0},
        {"statal", CLI_STR, &tf.statal, 0, 0, 0},
        {"init", CLI_STR, &tf.init, 0, 0, 0},
        {"gradflow", CLI_FLAG, &tf.gradflow, 0, 0, 0},
        {"gradflow-cells", CLI_STR, &tf.gradflow_cells, 0, 0, 0},
        {"forget-bias", CLI_STR, &tf.forget_bias_arg, 0, 0, 0},
    };
    const int nmine = (int)(sizeof mine / sizeof mine[0]);
    memcpy(opts, mine, sizeof mine);
    const int nopt = train_flags_add(&f, opts, nmine);
    char usage[12288];
    snprintf(usage, sizeof usage, "%s%s%s%s", kind == TASK_ADDING ? usage_adding : usage_copy,
             usage_task, train_flags_usage, usage_tail);
    int np;
    int rc = cli_parse(verb, argc, argv, opts, NULL, 0, 0, &np, usage);
    if (rc)
        return rc < 0 ? 0 : rc;

    char ckpt[4096];
    snprintf(ckpt, sizeof ckpt, "%s/last.safetensors", f.out);
    rnn__st resume = {0};
    rnn__json *saved = NULL;
    int have_resume = 0;
    rnn_error e;
    if (f.resume) {
        const char *const tasks[] = {task_name, NULL};
        char writer[64];
        snprintf(writer, sizeof writer, "rnn task %s", task_name);
        if ((rc = train_resume_read(verb, ckpt, tasks, writer, opts, nopt, &resume, &have_resume,
                                    &saved)))
            goto out_resume;
    }

    /* ---- flags that need each other ---- */
    if (!cli_find(opts, "length")->seen && !have_resume) {
        rc = cli_error(verb, CLI_EXIT_INPUT, "--length T is required (e.g. --length 100)");
        goto out_resume;
    }
    if (kind == TASK_ADDING && tf.length < 2) {
        rc = cli_error(verb, CLI_EXIT_INPUT, "--length: the adding problem needs T >= 2 (one marker "
                       "in each half), got %d", tf.length);
        goto out_resume;
    }
    static const char *const not_here[] = {"embed", "seq-len", "val-frac", "val-file"};
    for (size_t i = 0; i < sizeof not_here / sizeof not_here[0]; i++)
        if (cli_find(opts, not_here[i])->seen) {
            rc = cli_error(verb, CLI_EXIT_INPUT, "--%s does not apply to 'rnn task %s'", not_here[i],
                           task_name);
            goto out_resume;
        }
    static const char *const cells[] = {"lstm", "gru", "rnn", "rnn_tanh", "rnn_relu", "statal"};
    int known = 0;
    for (size_t i = 0; i < sizeof cells / sizeof cells[0]; i++)
        known |= strcmp(f.cell, cells[i]) == 0;
    if (!known) {
        rc = cli_error(verb, CLI_EXIT_INPUT, "--cell: expected lstm, gru, rnn or statal, got '%s'",
                       f.cell);
        goto out_resume;
    }
    if (f.batch > 4096) {
        rc = cli_error(verb, CLI_EXIT_INPUT, "--batch: at most 4096 sequences per batch, got %d",
                       f.batch);
        goto out_resume;
    }
    const int is_statal = strcmp(f.cell, "statal") == 0;
    if (tf.statal && !is_statal) {
        rc = cli_error(verb, CLI_EXIT_INPUT, "--statal applies to --cell statal (the cell is %s)",
                       f.cell);
        goto out_resume;
    }
    const char *statal_mode = tf.statal ? tf.statal : "prob";
    if (is_statal && rnn__statal_mode_from_name(statal_mode) < 0) {
        rc = cli_error(verb, CLI_EXIT_INPUT, "--statal: expected copy, binary, prob or multi, got '%s'",
                       statal_mode);
        goto out_resume;
    }
    if (is_statal && (f.nonlinearity || f.dropout > 0)) {
        rc = cli_error(verb, CLI_EXIT_INPUT, "--%s does not apply to --cell statal",
                       f.nonlinearity ? "nonlinearity" : "dropout");
        goto out_resume;
    }
    const int irnn = strcmp(tf.init, "irnn") == 0;
    if (!irnn && strcmp(tf.init, "pytorch") != 0) {
        rc = cli_error(verb, CLI_EXIT_INPUT, "--init: expected pytorch or irnn, got '%s'", tf.init);
        goto out_resume;
    }
    if (irnn && (strcmp(f.cell, "rnn") != 0 || (f.nonlinearity && strcmp(f.nonlinearity, "relu") != 0))) {
        rc = cli_error(verb, CLI_EXIT_INPUT, "--init irnn applies to --cell rnn with relu (IRNN: identity "
                       "recurrent weights, relu, zero biases)");
        goto out_resume;
    }
    if (tf.forget_bias_arg) {
        char *end;
        tf.forget_bias = strtod(tf.forget_bias_arg, &end);
        if (!*tf.forget_bias_arg || *end || !(fabs(tf.forget_bias) <= 100)) {
            rc = cli_error(verb, CLI_EXIT_INPUT, "--forget-bias: expected a number in [-100, 100], "
                           "got '%s'", tf.forget_bias_arg);
            goto out_resume;
        }
    }
    if (!isnan(tf.forget_bias) && strcmp(f.cell, "lstm") != 0) {
        rc = cli_error(verb, CLI_EXIT_INPUT, "--forget-bias applies to --cell lstm");
        goto out_resume;
    }
    if (tf.gradflow_cells && !tf.gradflow) {
        rc = cli_error(verb, CLI_EXIT_INPUT, "--gradflow-cells needs --gradflow");
        goto out_resume;
    }
    /* the cells of the gradient-flow chart, checked before any training */
    enum { MAXS = 12 };
    cell_spec specs[MAXS];
    int nspec = 1; /* specs[0]: the trained cell, filled in below */
    if (tf.gradflow_cells) {
        char list[512];
        snprintf(list, sizeof list, "%s", tf.gradflow_cells);
        for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
            if ((rc = parse_cell(verb, tok, statal_mode, &specs[nspec])))
                goto out_resume;
            if (nspec == MAXS - 2) {
                rc = cli_error(verb, CLI_EXIT_INPUT, "--gradflow-cells: at most %d cells", MAXS - 3);
                goto out_resume;
            }
            nspec++;
        }
    }
    if (!f.epochs && !f.max_steps && !(f.max_time > 0))
        f.epochs = 10;
    const int seq_T = kind == TASK_ADDING ? tf.length : tf.length + 2 * RNN__COPY_SYMBOLS;
    f.seq_len = seq_T; /* progress counts steps x sequences as tokens */

    rnn_train_options o;
    rnn_cell cell = RNN_CELL_LSTM;
    const int64_t bpe = (tf.train_size + f.batch - 1) / f.batch;
    int64_t total = INT64_MAX;
    if (f.max_steps)
        total = (int64_t)f.max_steps;
    if (f.epochs && (int64_t)f.epochs * bpe < total)
        total = (int64_t)f.epochs * bpe;
    {
        /* the training flags know lstm, gru and rnn; the Statal cell is ours */
        train_flags g = f;
        if (is_statal)
            g.cell = "lstm";
        if (irnn)
            g.nonlinearity = "relu";
        if ((rc = train_flags_to_options(verb, &g, total, &o, &cell)))
            goto out_resume;
    }
    if ((rc = train_prepare_out(verb, f.out)))
        goto out_resume;
    cli_set_threads(f.threads);

    task_data train = {0}, val = {0}, test = {0};
    any_model model = {0}, best = {0};
    rnn_trainer *t = NULL;
    char *flags_json = NULL;
    train_run run = {0};
    double *flows = NULL;
    float *pred = NULL;
    cell_spec spec;
    if (is_statal) {
        char name[40];
        snprintf(name, sizeof name, "statal:%s", statal_mode);
        parse_cell(verb, name, statal_mode, &spec);
    } else {
        memset(&spec, 0, sizeof spec);
        spec.cell = cell;
        spec.irnn = irnn;
        snprintf(spec.label, sizeof spec.label, "%s",
                 irnn ? "irnn" : cell == RNN_CELL_RNN_TANH ? "rnn" : cell == RNN_CELL_RNN_RELU ? "rnn relu"
                                                                                     : f.cell);
    }

    if ((rc = check_memory(verb, &spec, kind, &f, &o, seq_T)))
        goto out;
    if ((rc = data_make(verb, kind, tf.train_size, tf.length, f.seed * 3 + 1, &train)) ||
        (rc = data_make(verb, kind, tf.test_size / 2, tf.length, f.seed * 3 + 2, &val)) ||
        (rc = data_make(verb, kind, tf.test_size, tf.length, f.seed * 3 + 3, &test)))
        goto out;
    if ((rc = model_new(verb, &spec, kind, &f, &tf, &model)))
        goto out;
    const rnn_dataset dtrain = as_dataset(&train), dval = as_dataset(&val), dtest = as_dataset(&test);
    const rnn_loss loss = kind == TASK_ADDING ? RNN_LOSS_MSE : RNN_LOSS_XENT;
    rnn_status st = model.sm ? rnn__statal_trainer_new(&t, model.sm, &o, loss, &dtrain, &dval, &e)
                             : rnn_seq_trainer_new(&t, model.rm, &o, loss, &dtrain, &dval, &e);
    if (st) {
        rc = cli_fail_status(verb, st, e.msg);
        goto out;
    }
    if (have_resume && (st = rnn_trainer_restore(t, ckpt))) {
        rc = cli_error(verb, cli_exit_code(st), "--resume: %s", rnn_trainer_errmsg(t));
        goto out;
    }
    flags_json = train_flags_json(opts, nopt);
    if (!flags_json) {
        rc = cli_error(verb, CLI_EXIT_INTERNAL, "out of memory");
        goto out;
    }
    static const char *const keys[] = {"rnn.task"};
    const char *values[] = {task_name};
    run.verb = verb;
    run.flags = &f;
    run.trainer = t;
    run.has_val = 1;
    run.meta_keys = keys;
    run.meta_values = values;
    run.meta_count = 1;
    run.flags_json = flags_json;
    run.best_val = INFINITY;
    if (have_resume && (rc = train_resume_state(&run, ckpt, rnn__st_meta(&resume, "rnn.loop"))))
        goto out;
    size_t nparams = model.sm ? model.sm->nparams : model.rm->nparams;
    if (!f.quiet) {
        fprintf(stderr, "%s, T = %d: %d training, %d validation, %d test sequences of %d steps\n",
                task_name, tf.length, train.n, val.n, test.n, seq_T);
        fprintf(stderr, "model: %s %d x %d, %zu parameters; %lld steps per epoch of %d sequences\n",
                spec.label, f.layers, f.hidden, nparams, (long long)bpe, f.batch);
        if (have_resume) {
            rnn_train_stats rs;
            rnn_trainer_stats(t, &rs);
            fprintf(stderr, "resuming from %s at step %lld\n", ckpt, (long long)rs.step);
        }
    }
    /* A run that stopped on an error (a diverged step: the message is
     * printed) still has its best checkpoint: it is evaluated and reported,
     * and the exit status stays the error's. */
    const int train_rc = train_loop(&run);
    if (train_rc && run.best_step <= 0) {
        rc = train_rc;
        goto out;
    }
    char stop_msg[600] = "";
    if (train_rc)
        snprintf(stop_msg, sizeof stop_msg, "%s", rnn_trainer_errmsg(t));
    rnn_train_stats ts;
    rnn_trainer_stats(t, &ts);
    const double train_seconds = run.nrows ? run.rows[run.nrows - 1].elapsed : 0;

    /* ---- the test set, on the best checkpoint; the model as it is (= last)
     * when none was written: no step made (a tiny --max-time), or
     * interrupted before the first validation ---- */
    any_model *eval = &model;
    if (ts.step > 0 && run.best_step > 0) {
        char best_path[4096];
        snprintf(best_path, sizeof best_path, "%s/best.safetensors", f.out);
        st = model.sm ? rnn__statal_model_load(&best.sm, best_path, &e)
                      : rnn_model_load(&best.rm, best_path, &e);
        if (st) {
            rc = cli_fail_status(verb, st, e.msg);
            goto out;
        }
        if (best.sm)
            best.sm->threads = f.threads;
        else
            rnn_model_set_threads(best.rm, f.threads);
        eval = &best;
    }
    const int O = kind == TASK_ADDING ? 1 : RNN__COPY_CLASSES;
    pred = malloc((size_t)test.n * (kind == TASK_ADDING ? 1 : (size_t)seq_T) * O * sizeof *pred);
    if (!pred) {
        rc = cli_error(verb, CLI_EXIT_INTERNAL, "out of memory");
        goto out;
    }
    if ((rc = predict(verb, eval, pred, &dtest)))
        goto out;

    rnn__buf mj = {0};
    char model_desc[96];
    snprintf(model_desc, sizeof model_desc, "%s %d x %d", spec.label, f.layers, f.hidden);
    rnn__buf_printf(&mj, "{\n  \"task\": \"%s\",\n  \"length\": %d,\n  \"cell\": \"%s\",\n", task_name,
                    tf.length, is_statal ? "statal" : irnn ? "irnn" : f.cell);
    if (is_statal)
        rnn__buf_printf(&mj, "  \"statal\": \"%s\",\n", statal_mode);
    rnn__buf_printf(&mj, "  \"hidden\": %d,\n  \"layers\": %d,\n  \"parameters\": %zu,\n"
                         "  \"steps\": %lld,\n  \"train_seconds\": %.1f,\n  \"best_step\": %lld,\n"
                         "  \"test_sequences\": %d,\n",
                    f.hidden, f.layers, nparams, (long long)ts.step, train_seconds,
                    (long long)run.best_step, test.n);
    if (train_rc) {
        rnn__buf_puts(&mj, "  \"training_stopped\": ");
        rnn__buf_json_string(&mj, stop_msg);
        rnn__buf_puts(&mj, ",\n");
        printf("training stopped at step %lld (%s); the best checkpoint, from step %lld:\n",
               (long long)ts.step, stop_msg, (long long)run.best_step);
    }
    if (kind == TASK_ADDING) {
        double se = 0, se1 = 0;
        for (int i = 0; i < test.n; i++) {
            se += ((double)pred[i] - test.y[i]) * ((double)pred[i] - test.y[i]);
            se1 += (1.0 - test.y[i]) * (1.0 - test.y[i]);
        }
        const double mse = se / test.n, base = rnn__adding_baseline();
        const char *v = verdict(mse, base);
        rnn__buf_printf(&mj, "  \"test_mse\": %.6g,\n  \"baseline\": %.6g,\n  \"baseline_on_test\": %.6g,\n"
                             "  \"verdict\": \"%s\"\n}\n", mse, base, se1 / test.n, v);
        printf("adding, T = %d, %s: test MSE %.4g on %d sequences; memoryless baseline %.4f "
               "(%.4f on this test set)\n", tf.length, model_desc, mse, test.n, base, se1 / test.n);
        printf("%s: %.3g x the baseline, after %lld steps (best at step %lld), %.0f s of training\n",
               verdict_text(v), mse / base, (long long)ts.step, (long long)run.best_step,
               train_seconds);
    } else {
        double ce = 0, ce_recall = 0;
        size_t right = 0;
        const int recall0 = tf.length + RNN__COPY_SYMBOLS;
        for (int i = 0; i < test.n; i++)
            for (int s = 0; s < seq_T; s++) {
                const float *lg = pred + ((size_t)i * seq_T + s) * O;
                int32_t lab = test.labels[(size_t)i * seq_T + s];
                double l = rnn_cross_entropy(NULL, lg, &lab, 1, O, 1.0f, NULL);
                ce += l;
                if (s >= recall0) {
                    ce_recall += l;
                    int am = 0;
                    for (int k = 1; k < O; k++)
                        am = lg[k] > lg[am] ? k : am;
                    right += am == lab;
                }
            }
        const double n_all = (double)test.n * seq_T, n_rec = (double)test.n * RNN__COPY_SYMBOLS;
        const double base = rnn__copy_baseline(tf.length);
        const char *v = verdict(ce / n_all, base);
        rnn__buf_printf(&mj, "  \"test_ce\": %.6g,\n  \"baseline\": %.6g,\n  \"test_ce_recall\": %.6g,\n"
                             "  \"baseline_recall\": %.6g,\n  \"recall_accuracy\": %.6g,\n"
                             "  \"verdict\": \"%s\"\n}\n",
                        ce / n_all, base, ce_recall / n_rec, log(8.0), right / n_rec, v);
        printf("copy, T = %d, %s: test cross-entropy %.4g nats per step (all %d steps, %d "
               "sequences); memoryless baseline %.4f\n", tf.length, model_desc, ce / n_all, seq_T,
               test.n, base);
        printf("recall steps: %.4g nats (memoryless: ln 8 = %.4f); %.1f%% of the symbols recalled "
               "(chance 12.5%%)\n", ce_recall / n_rec, log(8.0), 100.0 * right / n_rec);
        printf("%s: %.3g x the baseline, after %lld steps (best at step %lld), %.0f s of training\n",
               verdict_text(v), ce / n_all / base, (long long)ts.step, (long long)run.best_step,
               train_seconds);
    }
    char mpath[4096];
    snprintf(mpath, sizeof mpath, "%s/metrics.json", f.out);
    st = mj.oom ? RNN_ENOMEM : rnn__write_file_atomic(mpath, mj.data, mj.len, &e);
    rnn__buf_free(&mj);
    if (st) {
        rc = cli_fail_status(verb, st, st == RNN_ENOMEM ? "out of memory" : e.msg);
        goto out;
    }

    /* ---- gradient flow ---- */
    if (tf.gradflow) {
        static const char *const colors[] = {"#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd",
                                             "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
                                             "#000000", "#aec7e8"};
        flow_series ser[MAXS];
        int ns = 0;
        const int nflow = test.n < 100 ? test.n : 100;
        flows = calloc((size_t)MAXS * seq_T, sizeof *flows);
        if (!flows) {
            rc = cli_error(verb, CLI_EXIT_INTERNAL, "out of memory");
            goto out;
        }
        /* the trained cell's initial model first; a cell listed twice once */
        specs[0] = spec;
        int kept = 1;
        for (int k = 1; k < nspec; k++) {
            int dup = 0;
            for (int j = 0; j < kept; j++)
                dup |= strcmp(specs[j].label, specs[k].label) == 0;
            if (!dup)
                specs[kept++] = specs[k];
        }
        nspec = kept;
        /* the trained model first, then every initial one */
        snprintf(ser[ns].name, sizeof ser[ns].name, "%s trained (step %lld)", spec.label,
                 (long long)run.best_step);
        ser[ns].y = flows;
        ser[ns].color = colors[0];
        ser[ns].dashed = 0;
        if ((rc = gradflow(verb, eval, kind, &dtest, nflow, ser[ns].y)))
            goto out;
        ns++;
        for (int k = 0; k < nspec; k++) {
            any_model init;
            if ((rc = model_new(verb, &specs[k], kind, &f, &tf, &init)))
                goto out;
            snprintf(ser[ns].name, sizeof ser[ns].name, "%s initial", specs[k].label);
            ser[ns].y = flows + (size_t)ns * seq_T;
            ser[ns].color = colors[k == 0 ? 0 : k % MAXS];
            ser[ns].dashed = 1;
            rc = gradflow(verb, &init, kind, &dtest, nflow, ser[ns].y);
            any_free(&init);
            if (rc)
                goto out;
            ns++;
        }
        char title[160], path[4096];
        snprintf(title, sizeof title, "%s, T = %d: gradient reaching the state at each step",
                 task_name, tf.length);
        snprintf(path, sizeof path, "%s/gradflow.svg", f.out);
        if ((st = plot_log(path, title, ser, ns, seq_T, &e))) {
            rc = cli_fail_status(verb, st, e.msg);
            goto out;
        }
        rnn__buf cb = {0};
        rnn__buf_puts(&cb, "t");
        for (int k = 0; k < ns; k++) {
            rnn__buf_puts(&cb, ",");
            rnn__buf_puts(&cb, ser[k].name);
        }
        rnn__buf_puts(&cb, "\n");
        for (int s = 0; s < seq_T; s++) {
            rnn__buf_printf(&cb, "%d", s);
            for (int k = 0; k < ns; k++)
                rnn__buf_printf(&cb, ",%.6e", ser[k].y[s]);
            rnn__buf_puts(&cb, "\n");
        }
        snprintf(path, sizeof path, "%s/gradflow.csv", f.out);
        st = cb.oom ? RNN_ENOMEM : rnn__write_file_atomic(path, cb.data, cb.len, &e);
        rnn__buf_free(&cb);
        if (st) {
            rc = cli_fail_status(verb, st, st == RNN_ENOMEM ? "out of memory" : e.msg);
            goto out;
        }
        printf("gradient flow |dL/dh_t| at t = 0 and t = %d (%d test sequences):\n", seq_T - 1, nflow);
        for (int k = 0; k < ns; k++)
            printf("  %-34s %10.3e %10.3e   ratio %.2e\n", ser[k].name, ser[k].y[0],
                   ser[k].y[seq_T - 1], ser[k].y[seq_T - 1] > 0 ? ser[k].y[0] / ser[k].y[seq_T - 1] : NAN);
        printf("wrote %s/metrics.json, gradflow.svg, gradflow.csv\n", f.out);
    } else {
        printf("wrote %s/metrics.json\n", f.out);
    }

    if (train_rc)
        rc = train_rc;
out:
    free(pred);
    free(flows);
    any_free(&best);
    train_run_free(&run);
    rnn_trainer_free(t);
    any_free(&model);
    free(flags_json);
    data_free(&train);
    data_free(&val);
    data_free(&test);
out_resume:
    if (have_resume)
        rnn__st_free(&resume);
    rnn__json_free(saved);
    return rc;
}

int cmd_task_adding(int argc, char **argv) { return run_task(TASK_ADDING, argc, argv); }
int cmd_task_copy(int argc, char **argv) { return run_task(TASK_COPY, argc, argv); }
