/*
 * cmd_forecast.c -- `rnn forecast train|predict`: time-series forecasting
 * (seed 002), judged against the naive baselines.
 *
 * train: a CSV column (plus optional feature columns) is split by time into
 * training | validation | test rows, normalised with the training rows'
 * statistics, cut into windows of --lookback steps, and a many-to-one
 * network (optional causal Conv1D, recurrent stack, last state, dense head)
 * learns the next value (recursive strategy) or the next --horizon values
 * (direct). The shared training loop (train_common.h) does the rest:
 * best/last checkpoints, log.csv, loss.svg, Ctrl-C, --resume. Then the best
 * model forecasts the test rows two ways -- one multi-step forecast from
 * the end of the validation rows, and one step ahead from the true history
 * -- beside the naive, seasonal-naive, mean and drift forecasts: a table on
 * stdout, DIR/metrics.json, DIR/test_forecasts.csv and DIR/forecast.svg.
 *
 * predict (forecast_predict.c): a checkpoint forecasts past the end of a
 * series.
 */
#include "cli/forecast_common.h"
#include "cli/plot.h"
#include "cli/train_common.h"

#include "io/io.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_overview[] =
    "usage: rnn forecast train DATA.csv --target COL [options] --out DIR\n"
    "       rnn forecast predict CKPT DATA.csv [--horizon H] [--output forecast.csv]\n"
    "\n"
    "Time-series forecasting with a recurrent network, judged against the naive,\n"
    "seasonal-naive, mean and drift forecasts.\n"
    "\n"
    "  train     learn to forecast a CSV column; report test errors beside the baselines\n"
    "  predict   forecast H steps past the end of a series with a trained checkpoint\n"
    "\n"
    "rnn forecast train --help and rnn forecast predict --help list the options.\n"
    "Exit status: 0 success, 1 internal error or diverged training, 2 bad input.\n";

int cmd_forecast(int argc, char **argv)
{
    if (argc < 1)
        return cli_error("forecast", CLI_EXIT_INPUT,
                         "missing subcommand: train or predict (see 'rnn forecast --help')");
    if (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) {
        fputs(usage_overview, stdout);
        return 0;
    }
    if (strcmp(argv[0], "train") == 0)
        return cmd_forecast_train(argc - 1, argv + 1);
    if (strcmp(argv[0], "predict") == 0)
        return cmd_forecast_predict(argc - 1, argv + 1);
    return cli_error("forecast", CLI_EXIT_INPUT,
                     "unknown subcommand '%s': expected train or predict (see 'rnn forecast --help')",
                     argv[0]);
}

/* ---- train --------------------------------------------------------------- */

static const char usage_head[] =
    "usage: rnn forecast train DATA.csv --target COL [options] --out DIR\n"
    "\n"
    "Trains a recurrent network to forecast column COL of DATA.csv (CSV with a header\n"
    "row) from windows of its last --lookback values (and of the --features columns),\n"
    "then forecasts the last --test-size rows and compares the model with the naive,\n"
    "seasonal-naive, mean and drift forecasts (MAE, RMSE, MAPE, sMAPE, MASE).\n"
    "Rows are split by time, never shuffled: training | validation | test. Every input\n"
    "column is normalised (z-score) with the training rows' mean and standard deviation\n"
    "only; the statistics are stored in the checkpoint.\n"
    "\n"
    "data:\n"
    "  --target COL          the column to forecast: a header name or a 1-based position\n"
    "  --features A,B        more input columns (multivariate); where a multi-step test\n"
    "                        forecast needs their future values, the data's are used\n"
    "  --time COL            a column of time labels, carried to the outputs\n"
    "  --fill METHOD         missing values (empty, NA, N/A, NaN, null): none (an error\n"
    "                        naming the line; default), linear or previous\n"
    "  --test-size N         the last N rows are the test part (default: --horizon)\n"
    "  --val-size N          the N rows before them validate (default: --horizon; 0: none)\n"
    "forecasting:\n"
    "  --lookback L          input window of L steps (default 24)\n"
    "  --horizon H           steps ahead to forecast (default 12): the direct model's outputs,\n"
    "                        the default --test-size and --val-size, predict's default\n"
    "  --strategy S          recursive (default): a one-step model fed its own predictions;\n"
    "                        direct: one model with H outputs\n"
    "  --season M            season length: seasonal-naive baseline and MASE scale (default 1)\n"
    "  --loss NAME           mse (default), mae or huber (on normalised values)\n"
    "  --log                 model the logarithm of the target (values > 0; for growth and\n"
    "                        seasonal swings proportional to the level); errors stay in data units\n"
    "  --relative            windows relative to their last target value: the model sees and\n"
    "                        predicts changes from the current level (for trends, where later\n"
    "                        levels were never seen in training)\n"
    "  --conv F:K[:D]        a causal Conv1D (F filters, kernel K, dilation D, ReLU) in front\n"
    "                        of the recurrent stack; PyTorch's nn.Conv1d layout\n"
    "  --bidirectional       a bidirectional recurrent encoder (it reads the whole window)\n"
    "\n";
static const char usage_tail[] =
    "\n"
    "Defaults for forecasting: --cell gru --hidden 64 --layers 1 --batch 32 --threads 1,\n"
    "--epochs 300 when no other limit is given, and an evaluation every epoch (at least\n"
    "every 10 steps). --embed, --seq-len, --val-frac and --val-file do not apply.\n"
    "Writes to DIR: best.safetensors, last.safetensors, log.csv, loss.svg, metrics.json,\n"
    "test_forecasts.csv, forecast.svg. Then: rnn forecast predict DIR/best.safetensors DATA.csv\n"
    "Exit status: 0 success, 1 internal error or diverged training, 2 bad input.\n";

typedef struct fc_flags {
    const char *target, *features, *time, *strategy, *conv, *loss, *fill;
    int lookback, horizon, test_size, val_size, season, bidirectional, log, relative;
} fc_flags;

/* "F:K" or "F:K:D", each a positive integer. */
static int parse_conv(const char *s, int *F, int *K, int *D)
{
    long v[3] = {0, 0, 1};
    int n = 0;
    const char *p = s;
    while (n < 3) {
        char *end;
        if (*p < '0' || *p > '9')
            return 0;
        v[n++] = strtol(p, &end, 10);
        p = end;
        if (*p != ':')
            break;
        p++;
    }
    if (*p != '\0' || n < 2 || v[0] < 1 || v[0] > 65536 || v[1] < 1 || v[1] > 1024 || v[2] < 1 ||
        v[2] > 65536)
        return 0;
    *F = (int)v[0];
    *K = (int)v[1];
    *D = (int)v[2];
    return 1;
}

/* The label of row i: its time, or its 0-based position. */
static const char *row_label(const fc_series *s, size_t i, char *buf, size_t n)
{
    if (s->time)
        return s->time[i];
    snprintf(buf, n, "%zu", i);
    return buf;
}

/* A CSV field, quoted when it needs to be (RFC 4180). */
static void csv_field(rnn__buf *b, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        rnn__buf_puts(b, s);
        return;
    }
    rnn__buf_puts(b, "\"");
    for (; *s; s++)
        rnn__buf_append(b, *s == '"' ? "\"\"" : s, *s == '"' ? 2 : 1);
    rnn__buf_puts(b, "\"");
}

static void json_number(rnn__buf *b, double v)
{
    if (isfinite(v))
        rnn__buf_printf(b, "%.10g", v);
    else
        rnn__buf_puts(b, "null");
}

/* The forecasts of the test rows and their accuracy: index 0 is the model,
 * 1 + k the baseline k. */
#define NFC (1 + RNN__FC_NBASELINES)
typedef struct evaluation {
    size_t origin, ntest; /* test rows are origin+1 .. origin+ntest */
    double scale;         /* MASE */
    double *multi[NFC], *one[NFC];
    rnn__fc_metrics mm[NFC], m1[NFC];
} evaluation;

static const char *const fc_names[NFC] = {"model", "naive", "seasonal_naive", "mean", "drift"};

static void evaluation_free(evaluation *ev)
{
    for (int k = 0; k < NFC; k++) {
        free(ev->multi[k]);
        free(ev->one[k]);
    }
}

static int evaluate(const char *verb, rnn_model *m, const fc_series *s, const float *z,
                    const fc_meta *mt, size_t ntrain, evaluation *ev)
{
    memset(ev, 0, sizeof *ev);
    const size_t origin = mt->train + mt->val - 1, ntest = mt->test;
    const int L = mt->lookback, season = mt->season;
    ev->origin = origin;
    ev->ntest = ntest;
    const size_t F = (size_t)s->F;
    double *y = malloc(s->n * sizeof *y);
    float *zf = malloc(ntest * sizeof *zf);
    int ok = y && zf;
    for (int k = 0; k < NFC && ok; k++) {
        ev->multi[k] = malloc(ntest * sizeof *ev->multi[k]);
        ev->one[k] = malloc(ntest * sizeof *ev->one[k]);
        ok = ev->multi[k] && ev->one[k];
    }
    if (!ok) {
        free(y);
        free(zf);
        return cli_error(verb, CLI_EXIT_INTERNAL, "out of memory");
    }
    for (size_t i = 0; i < s->n; i++)
        y[i] = s->v[i * F];
    rnn_error e;
    rnn_status st = rnn__fc_forecast(m, zf, z, s->n, L, origin, ntest, mt->relative, &e);
    for (size_t j = 0; !st && j < ntest; j++)
        ev->multi[0][j] = fc_denormalise(zf[j], mt->mean[0], mt->std[0], mt->log);
    if (!st)
        st = rnn__fc_one_step(m, zf, z, L, origin, ntest, mt->relative, &e);
    for (size_t j = 0; !st && j < ntest; j++)
        ev->one[0][j] = fc_denormalise(zf[j], mt->mean[0], mt->std[0], mt->log);
    free(zf);
    if (st) {
        free(y);
        return cli_fail_status(verb, st, e.msg);
    }
    for (int k = 0; k < RNN__FC_NBASELINES; k++) {
        rnn__fc_baseline_forecast(ev->multi[1 + k], (rnn__fc_baseline)k, y, origin + 1, ntest, season);
        rnn__fc_baseline_one_step(ev->one[1 + k], (rnn__fc_baseline)k, y, origin + 1, ntest, season);
    }
    ev->scale = rnn__fc_mase_scale(y, ntrain, season);
    for (int k = 0; k < NFC; k++) {
        rnn__fc_accuracy(&ev->mm[k], y + origin + 1, ev->multi[k], ntest, ev->scale);
        rnn__fc_accuracy(&ev->m1[k], y + origin + 1, ev->one[k], ntest, ev->scale);
    }
    free(y);
    return 0;
}

static void print_number(double v, int width, int prec)
{
    if (isfinite(v))
        printf("  %*.*f", width, prec, v);
    else
        printf("  %*s", width, "n/a");
}

static void print_table(const rnn__fc_metrics *mt, const char *model_name, int season)
{
    printf("  %-24s  %10s  %10s  %8s  %8s  %8s\n", "", "MAE", "RMSE", "MAPE%", "sMAPE%", "MASE");
    for (int k = 0; k < NFC; k++) {
        char name[64];
        if (k == 0)
            snprintf(name, sizeof name, "%s", model_name);
        else if (k == 1 + RNN__FC_SNAIVE)
            snprintf(name, sizeof name, "seasonal naive (m=%d)", season);
        else
            snprintf(name, sizeof name, "%s", fc_names[k]);
        printf("  %-24s", name);
        print_number(mt[k].mae, 10, 4);
        print_number(mt[k].rmse, 10, 4);
        print_number(mt[k].mape, 8, 3);
        print_number(mt[k].smape, 8, 3);
        print_number(mt[k].mase, 8, 4);
        printf("\n");
    }
}

static int write_metrics(const char *verb, const char *dir, const evaluation *ev)
{
    rnn__buf b = {0};
    rnn__buf_puts(&b, "{\n");
    for (int part = 0; part < 2; part++) {
        const rnn__fc_metrics *mt = part == 0 ? ev->mm : ev->m1;
        rnn__buf_printf(&b, "  \"%s\": {\n", part == 0 ? "multi_step" : "one_step");
        for (int k = 0; k < NFC; k++) {
            rnn__buf_printf(&b, "    \"%s\": {\"mae\": ", fc_names[k]);
            json_number(&b, mt[k].mae);
            rnn__buf_puts(&b, ", \"rmse\": ");
            json_number(&b, mt[k].rmse);
            rnn__buf_puts(&b, ", \"mape\": ");
            json_number(&b, mt[k].mape);
            rnn__buf_puts(&b, ", \"smape\": ");
            json_number(&b, mt[k].smape);
            rnn__buf_puts(&b, ", \"mase\": ");
            json_number(&b, mt[k].mase);
            rnn__buf_printf(&b, "}%s\n", k + 1 < NFC ? "," : "");
        }
        rnn__buf_printf(&b, "  }%s\n", part == 0 ? "," : "");
    }
    rnn__buf_puts(&b, "}\n");
    char path[4096];
    snprintf(path, sizeof path, "%s/metrics.json", dir);
    rnn_error e;
    rnn_status st = b.oom ? RNN_ENOMEM : rnn__write_file_atomic(path, b.data, b.len, &e);
    rnn__buf_free(&b);
    if (st)
        return cli_fail_status(verb, st, st == RNN_ENOMEM ? "out of memory" : e.msg);
    return 0;
}

static int write_test_csv(const char *verb, const char *dir, const fc_series *s,
                          const evaluation *ev)
{
    rnn__buf b = {0};
    csv_field(&b, s->time_name ? s->time_name : "row");
    rnn__buf_puts(&b, ",actual");
    for (int k = 0; k < NFC; k++)
        rnn__buf_printf(&b, ",%s", fc_names[k]);
    for (int k = 0; k < NFC; k++)
        rnn__buf_printf(&b, ",%s_one_step", fc_names[k]);
    rnn__buf_puts(&b, "\n");
    for (size_t j = 0; j < ev->ntest; j++) {
        const size_t i = ev->origin + 1 + j;
        char lb[32];
        csv_field(&b, row_label(s, i, lb, sizeof lb));
        rnn__buf_printf(&b, ",%.10g", s->v[i * (size_t)s->F]);
        for (int k = 0; k < NFC; k++)
            rnn__buf_printf(&b, ",%.8g", ev->multi[k][j]);
        for (int k = 0; k < NFC; k++)
            rnn__buf_printf(&b, ",%.8g", ev->one[k][j]);
        rnn__buf_puts(&b, "\n");
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/test_forecasts.csv", dir);
    rnn_error e;
    rnn_status st = b.oom ? RNN_ENOMEM : rnn__write_file_atomic(path, b.data, b.len, &e);
    rnn__buf_free(&b);
    if (st)
        return cli_fail_status(verb, st, st == RNN_ENOMEM ? "out of memory" : e.msg);
    return 0;
}

/* forecast.svg: training and validation history, the test rows' actual
 * values, and the model's and the seasonal naive's multi-step forecasts
 * (each drawn from the origin's actual value so the lines connect). */
static int write_plot(const char *verb, const char *dir, const fc_series *s, size_t ntrain,
                      const evaluation *ev, const char *target, int season)
{
    const size_t n = s->n, o = ev->origin, h = ev->ntest, F = (size_t)s->F;
    double *x = malloc(n * sizeof *x), *yv = malloc(n * sizeof *yv);
    double *fm = malloc((h + 1) * sizeof *fm), *fs = malloc((h + 1) * sizeof *fs);
    if (!x || !yv || !fm || !fs) {
        free(x); free(yv); free(fm); free(fs);
        return cli_error(verb, CLI_EXIT_INTERNAL, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        x[i] = (double)i;
        yv[i] = s->v[i * F];
    }
    fm[0] = fs[0] = yv[o];
    for (size_t j = 0; j < h; j++) {
        fm[1 + j] = ev->multi[0][j];
        fs[1 + j] = ev->multi[1 + RNN__FC_SNAIVE][j];
    }
    char sname[64];
    snprintf(sname, sizeof sname, "seasonal naive (m=%d)", season);
    plot_series ps[5] = {
        {"training", x, yv, ntrain, "#1f77b4", 0, 0},
        {"validation", x + ntrain - 1, yv + ntrain - 1, o + 2 - ntrain, "#17becf", 0, 0},
        {"test (actual)", x + o, yv + o, h + 1, "#222222", 0, 1},
        {"model forecast", x + o, fm, h + 1, "#d62728", 0, 1},
        {sname, x + o, fs, h + 1, "#7f7f7f", 1, 0},
    };
    int first = 0, count = 5;
    if (o + 1 == ntrain) { /* no validation rows */
        ps[1] = ps[0];
        first = 1;
        count = 4;
    }
    char title[256], q[80], path[4096];
    rnn__csv_quote(q, sizeof q, target, 60);
    snprintf(title, sizeof title, "%s: %zu-step forecast of the test rows from row %zu", q, h, o);
    plot_spec spec = {title, s->time_name ? "row (0-based; see the time column)" : "row (0-based)",
                      q, 0, 0};
    snprintf(path, sizeof path, "%s/forecast.svg", dir);
    rnn_error e;
    rnn_status st = plot_lines(path, &spec, ps + first, count, &e);
    free(x); free(yv); free(fm); free(fs);
    return st ? cli_fail_status(verb, st, e.msg) : 0;
}

int cmd_forecast_train(int argc, char **argv)
{
    const char *verb = "forecast train";
    fc_flags ff = {.strategy = "recursive", .loss = "mse", .fill = "none", .lookback = 24,
                   .horizon = 12, .test_size = -1, .val_size = -1, .season = 1};
    train_flags f;
    train_flags_defaults(&f);
    f.cell = "gru";
    f.hidden = 64;
    f.layers = 1;
    f.batch = 32;
    f.threads = 1; /* small models: more threads cost more than they save */
    cli_opt opts[16 + TRAIN_FLAG_COUNT + 2];
    int nopt = 0;
    const cli_opt own[] = {
        {"target", CLI_STR, &ff.target, 0, 0, 0},
        {"features", CLI_STR, &ff.features, 0, 0, 0},
        {"time", CLI_STR, &ff.time, 0, 0, 0},
        {"fill", CLI_STR, &ff.fill, 0, 0, 0},
        {"test-size", CLI_INT, &ff.test_size, 1, 1 << 30, 0},
        {"val-size", CLI_INT, &ff.val_size, 0, 1 << 30, 0},
        {"lookback", CLI_INT, &ff.lookback, 1, 1 << 20, 0},
        {"horizon", CLI_INT, &ff.horizon, 1, 1 << 20, 0},
        {"strategy", CLI_STR, &ff.strategy, 0, 0, 0},
        {"season", CLI_INT, &ff.season, 1, 1 << 20, 0},
        {"loss", CLI_STR, &ff.loss, 0, 0, 0},
        {"conv", CLI_STR, &ff.conv, 0, 0, 0},
        {"bidirectional", CLI_FLAG, &ff.bidirectional, 0, 0, 0},
        {"log", CLI_FLAG, &ff.log, 0, 0, 0},
        {"relative", CLI_FLAG, &ff.relative, 0, 0, 0},
    };
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++)
        opts[nopt++] = own[i];
    nopt = train_flags_add(&f, opts, nopt);
    char usage[12288];
    snprintf(usage, sizeof usage, "%s%s%s", usage_head, train_flags_usage, usage_tail);
    const char *pos[1];
    int np;
    int rc = cli_parse(verb, argc, argv, opts, pos, 1, 1, &np, usage);
    if (rc)
        return rc < 0 ? 0 : rc;
    static const char *const not_here[] = {"embed", "seq-len", "val-frac", "val-file"};
    for (size_t i = 0; i < sizeof not_here / sizeof not_here[0]; i++)
        if (cli_find(opts, not_here[i])->seen)
            return cli_error(verb, CLI_EXIT_INPUT,
                             "--%s does not apply to forecasting (the window is --lookback, the "
                             "validation rows --val-size)", not_here[i]);
    const char *data_path = pos[0];
    char ckpt[4096];
    snprintf(ckpt, sizeof ckpt, "%s/last.safetensors", f.out);

    rnn__st resume = {0};
    rnn__json *saved = NULL;
    int have_resume = 0;
    rnn_error e;
    if (f.resume) {
        static const char *const tasks[] = {"forecast", NULL};
        if ((rc = train_resume_read(verb, ckpt, tasks, "rnn forecast train", opts, nopt, &resume,
                                    &have_resume, &saved)))
            goto out_resume;
    }
    if (!ff.target) {
        rc = cli_error(verb, CLI_EXIT_INPUT, "--target COL is required (the column to forecast)");
        goto out_resume;
    }
    int direct;
    if (strcmp(ff.strategy, "direct") == 0)
        direct = 1;
    else if (strcmp(ff.strategy, "recursive") == 0)
        direct = 0;
    else {
        rc = cli_error(verb, CLI_EXIT_INPUT, "--strategy: expected recursive or direct, got '%s'",
                       ff.strategy);
        goto out_resume;
    }
    rnn_loss loss;
    if (strcmp(ff.loss, "mse") == 0)
        loss = RNN_LOSS_MSE;
    else if (strcmp(ff.loss, "mae") == 0)
        loss = RNN_LOSS_MAE;
    else if (strcmp(ff.loss, "huber") == 0)
        loss = RNN_LOSS_HUBER;
    else {
        rc = cli_error(verb, CLI_EXIT_INPUT, "--loss: expected mse, mae or huber, got '%s'", ff.loss);
        goto out_resume;
    }
    int cf = 0, ck = 0, cd = 0;
    if (ff.conv && !parse_conv(ff.conv, &cf, &ck, &cd)) {
        rc = cli_error(verb, CLI_EXIT_INPUT,
                       "--conv: expected FILTERS:KERNEL[:DILATION] with FILTERS 1..65536, KERNEL "
                       "1..1024, DILATION 1..65536 (e.g. 16:3 or 16:3:2), got '%s'", ff.conv);
        goto out_resume;
    }
    rnn__fc_fill fill;
    if ((rc = fc_parse_fill(verb, ff.fill, &fill)))
        goto out_resume;

    fc_columns cols = {.target = ff.target, .time = ff.time};
    char *feature_storage = NULL;
    fc_series s = {0};
    float *z = NULL, *xtr = NULL, *ytr = NULL, *xva = NULL, *yva = NULL;
    double *tv = NULL;
    rnn_model *m = NULL, *best = NULL;
    rnn_trainer *t = NULL;
    char *meta_json = NULL, *flags_json = NULL;
    train_run run = {0};
    evaluation ev = {0};
    if ((rc = fc_split_features(verb, ff.features, &cols, &feature_storage)) ||
        (rc = fc_load(verb, data_path, &cols, fill, &s)))
        goto out;

    const int L = ff.lookback, H = ff.horizon, O = direct ? H : 1, F = s.F;
    const size_t ntest = ff.test_size >= 0 ? (size_t)ff.test_size : (size_t)H;
    const size_t nval = ff.val_size >= 0 ? (size_t)ff.val_size : (size_t)H;
    const size_t need = (size_t)L + (size_t)O + nval + ntest;
    if (s.n < need) {
        rc = cli_error(verb, CLI_EXIT_INPUT,
                       "%s: %zu rows are too few: --lookback %d + %d target%s of one training window "
                       "+ --val-size %zu + --test-size %zu need at least %zu", data_path, s.n, L, O,
                       O == 1 ? "" : "s", nval, ntest, need);
        goto out;
    }
    if (nval > 0 && nval < (size_t)O) {
        rc = cli_error(verb, CLI_EXIT_INPUT,
                       "--val-size %zu is shorter than --horizon %d: a direct model's validation "
                       "window needs %d rows (or --val-size 0 for none)", nval, H, O);
        goto out;
    }
    const size_t ntrain = s.n - nval - ntest, origin = ntrain + nval - 1;
    if ((size_t)ff.season >= ntrain) {
        rc = cli_error(verb, CLI_EXIT_INPUT,
                       "--season %d needs more than %d training rows (there are %zu) for the MASE "
                       "scale", ff.season, ff.season, ntrain);
        goto out;
    }
    if ((rc = fc_transform(verb, data_path, &s, ff.log, &tv)))
        goto out;
    double mean[FC_MAX_FEATURES + 1], sd[FC_MAX_FEATURES + 1];
    long constant = rnn__fc_fit_norm(mean, sd, tv, (size_t)F, ntrain);
    if (constant >= 0) {
        char q[80];
        rnn__csv_quote(q, sizeof q, s.names[constant], 64);
        rc = cli_error(verb, CLI_EXIT_INPUT,
                       "%s: column '%s' is constant over the %zu training rows (lines %zu..%zu): zero "
                       "scale, nothing to normalise by or learn from", data_path, q, ntrain,
                       s.csv.line[0], s.csv.line[ntrain - 1]);
        goto out;
    }
    if (!(z = fc_normalise(tv, s.n, F, mean, sd))) {
        rc = cli_error(verb, CLI_EXIT_INTERNAL, "out of memory");
        goto out;
    }

    /* windows: training targets inside the training rows, validation
     * targets inside the validation rows (their inputs may reach back) */
    const size_t ntw = ntrain - (size_t)L - (size_t)O + 1;
    const size_t nvw = nval > 0 ? nval - (size_t)O + 1 : 0;
    size_t wsz;
    if (!rnn__mul4(&wsz, ntw + nvw, (size_t)L, (size_t)F, sizeof(float)) || ntw + nvw > (1u << 30)) {
        rc = cli_error(verb, CLI_EXIT_INPUT, "%s: too many windows", data_path);
        goto out;
    }
    xtr = malloc(ntw * (size_t)L * (size_t)F * sizeof *xtr);
    ytr = malloc(ntw * (size_t)O * sizeof *ytr);
    xva = malloc((nvw ? nvw : 1) * (size_t)L * (size_t)F * sizeof *xva);
    yva = malloc((nvw ? nvw : 1) * (size_t)O * sizeof *yva);
    if (!xtr || !ytr || !xva || !yva) {
        rc = cli_error(verb, CLI_EXIT_INTERNAL, "out of memory");
        goto out;
    }
    rnn__fc_windows(xtr, ytr, z, F, L, O, (size_t)L - 1, ntw, ff.relative);
    if (nvw)
        rnn__fc_windows(xva, yva, z, F, L, O, ntrain - 1, nvw, ff.relative);
    rnn_dataset dtr = {.n = (int)ntw, .T = L, .x = xtr, .y = ytr};
    rnn_dataset dva = {.n = (int)nvw, .T = L, .x = xva, .y = yva};

    f.seq_len = L; /* the window; also what tok/s counts */
    const int64_t bpe = ((int64_t)ntw + f.batch - 1) / f.batch;
    if (!f.epochs && !f.max_steps && !(f.max_time > 0))
        f.epochs = 300;
    if (!cli_find(opts, "eval-every")->seen && !have_resume)
        f.eval_every = (int)(bpe >= 10 ? bpe : bpe * ((10 + bpe - 1) / bpe));
    int64_t total = INT64_MAX;
    if (f.max_steps)
        total = (int64_t)f.max_steps;
    if (f.epochs && (int64_t)f.epochs * bpe < total)
        total = (int64_t)f.epochs * bpe;
    rnn_train_options o;
    rnn_cell cell;
    if ((rc = train_flags_to_options(verb, &f, total, &o, &cell)))
        goto out;
    cli_set_threads(f.threads);
    rnn_model_config mc = {.input_size = F, .cell = cell, .hidden_size = f.hidden,
                           .num_layers = f.layers, .bidirectional = ff.bidirectional,
                           .dropout = (float)f.dropout, .output_size = O,
                           .readout = RNN_READOUT_LAST, .conv_filters = cf, .conv_kernel = ck,
                           .conv_dilation = cd};
    if ((rc = train_check_memory(verb, &f, &mc, &o, dtr.T))) /* --max-memory */
        goto out;
    rnn_status st = rnn_model_new(&m, &mc, f.seed, &e);
    if (st) {
        rc = cli_fail_status(verb, st, e.msg);
        goto out;
    }
    rnn_model_set_threads(m, f.threads);
    if ((st = rnn_seq_trainer_new(&t, m, &o, loss, &dtr, nvw ? &dva : NULL, &e))) {
        rc = cli_error(verb, cli_exit_code(st), "%s: %s", data_path, e.msg);
        goto out;
    }
    if (have_resume && (st = rnn_trainer_restore(t, ckpt))) {
        rc = cli_error(verb, cli_exit_code(st), "--resume: %s", rnn_trainer_errmsg(t));
        goto out;
    }
    fc_meta meta = {.target = (char *)s.names[0], .time = (char *)s.time_name,
                    .nfeatures = F - 1, .lookback = L, .horizon = H, .direct = direct,
                    .season = ff.season, .log = ff.log, .relative = ff.relative, .fill = fill,
                    .rows = s.n, .train = ntrain,
                    .val = nval, .test = ntest};
    for (int i = 0; i < F; i++) {
        if (i > 0)
            meta.features[i - 1] = (char *)s.names[i];
        meta.mean[i] = mean[i];
        meta.std[i] = sd[i];
    }
    meta_json = fc_meta_json(&meta);
    flags_json = train_flags_json(opts, nopt);
    if (!meta_json || !flags_json) {
        rc = cli_error(verb, CLI_EXIT_INTERNAL, "out of memory");
        goto out;
    }
    if ((rc = train_prepare_out(verb, f.out)))
        goto out;
    static const char *const keys[] = {"rnn.task", "rnn.forecast"};
    const char *values[] = {"forecast", meta_json};
    run.verb = verb;
    run.flags = &f;
    run.trainer = t;
    run.has_val = nvw > 0;
    run.meta_keys = keys;
    run.meta_values = values;
    run.meta_count = 2;
    run.flags_json = flags_json;
    run.loss_name = loss == RNN_LOSS_MSE ? "MSE, normalised" : loss == RNN_LOSS_MAE ? "MAE, normalised"
                                                                              : "Huber, normalised";
    run.best_val = INFINITY;
    if (have_resume && (rc = train_resume_state(&run, ckpt, rnn__st_meta(&resume, "rnn.loop"))))
        goto out;
    char model_name[96];
    snprintf(model_name, sizeof model_name, "model (%s, %s)", rnn_cell_name(cell),
             direct ? "direct" : "recursive");
    if (!f.quiet) {
        size_t npar;
        rnn_model_params(m, &npar);
        char a[32], b[32];
        fprintf(stderr,
                "%s: %zu rows, target '%s'%s; rows 0..%zu train, %zu..%zu validate, %zu..%zu test%s\n",
                data_path, s.n, s.names[0], F > 1 ? " with features" : "", ntrain - 1, ntrain,
                origin, origin + 1, s.n - 1, nval ? "" : " (no validation rows)");
        if (s.time)
            fprintf(stderr, "time: %s .. %s, forecast origin %s\n", row_label(&s, 0, a, sizeof a),
                    row_label(&s, s.n - 1, b, sizeof b), s.time[origin]);
        fprintf(stderr,
                "model: %s%s %d x %d%s, %d input%s, %d output%s (%s), lookback %d; %zu "
                "parameters; %zu training and %zu validation windows, %lld steps per epoch of %d\n",
                cf ? "conv + " : "", rnn_cell_name(cell), f.layers, f.hidden,
                ff.bidirectional ? " bidirectional" : "", F, F == 1 ? "" : "s", O, O == 1 ? "" : "s",
                direct ? "direct" : "recursive", L, npar, ntw, nvw, (long long)bpe, f.batch);
        if (s.filled)
            fprintf(stderr, "filled %zu missing value%s (--fill %s)\n", s.filled,
                    s.filled == 1 ? "" : "s", fc_fill_name(fill));
        if (have_resume) {
            rnn_train_stats ts;
            rnn_trainer_stats(t, &ts);
            fprintf(stderr, "resuming from %s at step %lld\n", ckpt, (long long)ts.step);
        }
    }
    if ((rc = train_loop(&run)))
        goto out;

    /* judge the best model (by validation loss), else the last */
    rnn_model *judge = m;
    if (run.has_val && isfinite(run.best_val)) {
        char bp[4096];
        snprintf(bp, sizeof bp, "%s/best.safetensors", f.out);
        if ((st = rnn_model_load(&best, bp, &e))) {
            rc = cli_fail_status(verb, st, e.msg);
            goto out;
        }
        rnn_model_set_threads(best, f.threads);
        judge = best;
    }
    if ((rc = evaluate(verb, judge, &s, z, &meta, ntrain, &ev)))
        goto out;
    {
        char a[32], b[32], c[32];
        printf("test rows %zu..%zu (%s .. %s), forecast origin row %zu (%s); MASE scale %.6g "
               "(%s, from the %zu training rows)\n", origin + 1, s.n - 1,
               row_label(&s, origin + 1, a, sizeof a), row_label(&s, s.n - 1, b, sizeof b), origin,
               row_label(&s, origin, c, sizeof c), ev.scale,
               ff.season > 1 ? "seasonal naive's" : "naive's", ntrain);
        printf("multi-step: one forecast of the %zu test rows%s\n", ntest,
               direct && ntest > (size_t)H ? " (direct blocks chained)" : "");
        print_table(ev.mm, model_name, ff.season);
        printf("one step ahead: %zu forecasts, each from the true history before it\n", ntest);
        print_table(ev.m1, model_name, ff.season);
        fflush(stdout);
    }
    if ((rc = write_metrics(verb, f.out, &ev)) || (rc = write_test_csv(verb, f.out, &s, &ev)) ||
        (rc = write_plot(verb, f.out, &s, ntrain, &ev, s.names[0], ff.season)))
        goto out;
    if (!f.quiet)
        fprintf(stderr, "wrote %s/metrics.json, test_forecasts.csv, forecast.svg\n", f.out);
out:
    evaluation_free(&ev);
    train_run_free(&run);
    rnn_trainer_free(t);
    rnn_model_free(m);
    rnn_model_free(best);
    free(meta_json);
    free(flags_json);
    free(xtr);
    free(ytr);
    free(xva);
    free(yva);
    free(z);
    free(tv);
    fc_series_free(&s);
    free(feature_storage);
out_resume:
    if (have_resume)
        rnn__st_free(&resume);
    rnn__json_free(saved);
    return rc;
}
