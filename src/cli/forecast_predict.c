/*
 * forecast_predict.c -- `rnn forecast predict CKPT DATA.csv`: a checkpoint
 * of `rnn forecast train` forecasts H steps past the end of a series. The
 * checkpoint says which columns to read (by name), how to normalise them
 * (the training rows' statistics) and how the model forecasts (recursive or
 * direct); the output is CSV: time,value.
 */
#include "cli/forecast_common.h"
#include "cli/train_common.h"

#include "io/io.h"
#include "model/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: rnn forecast predict CKPT DATA.csv [options]\n"
    "\n"
    "Forecasts the next H values of the series in DATA.csv with a checkpoint written by\n"
    "'rnn forecast train' (best.safetensors or last.safetensors). The checkpoint names\n"
    "the columns to read (target, features, time), the window length and the\n"
    "normalisation statistics of its training rows. The forecast starts after the last\n"
    "row: the model reads the last --lookback rows and, for more steps than it outputs\n"
    "at once, is fed its own predictions.\n"
    "\n"
    "options:\n"
    "  --horizon H       steps to forecast (default: the checkpoint's --horizon)\n"
    "  --output FILE     write the CSV to FILE (atomically) instead of stdout\n"
    "  --fill METHOD     missing values: none, linear or previous (default: as trained)\n"
    "  --threads N       threads (default 1)\n"
    "\n"
    "Output: CSV with a header, time,value: one row per step. time continues the time\n"
    "column (numbers, YYYY-MM, YYYY-MM-DD and date-times with a regular step; '+k' for\n"
    "k steps after the last row otherwise), or is the 0-based row position without one.\n"
    "A model with input features needs their future values, which the data does not\n"
    "have: it can forecast only as many steps as it outputs at once.\n"
    "Exit status: 0 success, 1 internal error, 2 bad input.\n";

int cmd_forecast_predict(int argc, char **argv)
{
    const char *verb = "forecast predict";
    int horizon = 0, threads = 1; /* small models: one thread is fastest */
    const char *output = NULL, *fill_s = NULL;
    cli_opt opts[] = {
        {"horizon", CLI_INT, &horizon, 1, 1 << 20, 0},
        {"output", CLI_STR, &output, 0, 0, 0},
        {"fill", CLI_STR, &fill_s, 0, 0, 0},
        {"threads", CLI_INT, &threads, 1, 1024, 0},
        {0, 0, 0, 0, 0, 0},
    };
    const char *pos[2];
    int np;
    int rc = cli_parse(verb, argc, argv, opts, pos, 2, 2, &np, usage);
    if (rc)
        return rc < 0 ? 0 : rc;
    const char *ckpt = pos[0], *data_path = pos[1];

    rnn__st f = {0};
    rnn_error e;
    rnn_status st = rnn__st_read(&f, ckpt, &e);
    if (st)
        return cli_fail_status(verb, st, e.msg);
    rnn_model *m = NULL;
    fc_meta meta = {0};
    fc_series s = {0};
    float *z = NULL, *out = NULL;
    double *tv = NULL;
    rnn__buf b = {0};
    if ((st = rnn__model_from_st(&m, &f, ckpt, &e))) {
        rc = cli_fail_status(verb, st, e.msg);
        goto done;
    }
    const char *task = rnn__st_meta(&f, "rnn.task"), *mj = rnn__st_meta(&f, "rnn.forecast");
    if (!task || strcmp(task, "forecast") != 0 || !mj) {
        rc = cli_error(verb, CLI_EXIT_INPUT,
                       "%s: not a forecasting checkpoint (rnn.task is %s%s%s; write one with 'rnn "
                       "forecast train')", ckpt, task ? "'" : "", task ? task : "missing",
                       task ? "'" : "");
        goto done;
    }
    if ((rc = fc_meta_parse(verb, mj, ckpt, &meta)))
        goto done;
    const rnn_model_config *c = rnn_model_get_config(m);
    const int F = 1 + meta.nfeatures, O = c->output_size, L = meta.lookback;
    if (c->vocab_size != 0 || c->input_size != F || c->readout != RNN_READOUT_LAST ||
        O != (meta.direct ? meta.horizon : 1)) {
        rc = cli_error(verb, CLI_EXIT_INPUT,
                       "%s: the model (%d inputs, %d outputs) does not match rnn.forecast (%d input "
                       "columns, %s horizon %d)", ckpt, c->input_size, O, F,
                       meta.direct ? "direct" : "recursive", meta.horizon);
        goto done;
    }
    rnn__fc_fill fill = meta.fill;
    if (fill_s && (rc = fc_parse_fill(verb, fill_s, &fill)))
        goto done;
    const size_t h = horizon ? (size_t)horizon : (size_t)meta.horizon;
    if (F > 1 && h > (size_t)O) {
        rc = cli_error(verb, CLI_EXIT_INPUT,
                       "--horizon %zu: this model reads %d feature column%s whose future values are "
                       "unknown; it forecasts at most %d step%s past the data", h, F - 1,
                       F == 2 ? "" : "s", O, O == 1 ? "" : "s");
        goto done;
    }
    fc_columns cols = {.target = meta.target, .nfeatures = meta.nfeatures, .time = meta.time};
    for (int i = 0; i < meta.nfeatures; i++)
        cols.features[i] = meta.features[i];
    if ((rc = fc_load(verb, data_path, &cols, fill, &s)))
        goto done;
    if (s.n < (size_t)L) {
        rc = cli_error(verb, CLI_EXIT_INPUT,
                       "%s: %zu rows, but the model reads windows of %d rows (its --lookback)",
                       data_path, s.n, L);
        goto done;
    }
    if ((rc = fc_transform(verb, data_path, &s, meta.log, &tv)))
        goto done;
    z = fc_normalise(tv, s.n, F, meta.mean, meta.std);
    out = malloc(h * sizeof *out);
    if (!z || !out) {
        rc = cli_error(verb, CLI_EXIT_INTERNAL, "out of memory");
        goto done;
    }
    cli_set_threads(threads);
    rnn_model_set_threads(m, threads);
    if ((st = rnn__fc_forecast(m, out, z, s.n, L, s.n - 1, h, meta.relative, &e))) {
        rc = cli_fail_status(verb, st, e.msg);
        goto done;
    }
    rnn__buf_puts(&b, "time,value\n");
    for (size_t k = 1; k <= h; k++) {
        char label[96];
        if (s.time)
            rnn__fc_time_after(label, sizeof label, s.n >= 2 ? s.time[s.n - 2] : NULL,
                               s.time[s.n - 1], (long)k);
        else
            snprintf(label, sizeof label, "%zu", s.n - 1 + k);
        if (strpbrk(label, ",\"\r\n")) { /* a label made of the data's text: quote it */
            rnn__buf_puts(&b, "\"");
            for (const char *p = label; *p; p++)
                rnn__buf_append(&b, *p == '"' ? "\"\"" : p, *p == '"' ? 2 : 1);
            rnn__buf_puts(&b, "\"");
        } else {
            rnn__buf_puts(&b, label);
        }
        rnn__buf_printf(&b, ",%.7g\n", fc_denormalise(out[k - 1], meta.mean[0], meta.std[0], meta.log));
    }
    if (b.oom) {
        rc = cli_error(verb, CLI_EXIT_INTERNAL, "out of memory");
        goto done;
    }
    if (output) {
        if ((st = rnn__write_file_atomic(output, b.data, b.len, &e)))
            rc = cli_fail_status(verb, st, e.msg);
    } else if (fwrite(b.data, 1, b.len, stdout) != b.len || fflush(stdout) != 0) {
        rc = cli_error(verb, CLI_EXIT_INPUT, "cannot write the forecast to stdout");
    }
done:
    rnn__buf_free(&b);
    free(z);
    free(tv);
    free(out);
    fc_series_free(&s);
    fc_meta_free(&meta);
    rnn_model_free(m);
    rnn__st_free(&f);
    return rc;
}
