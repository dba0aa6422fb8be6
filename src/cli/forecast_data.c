/*
 * forecast_data.c -- the series of `rnn forecast`: columns picked out of a
 * CSV file by name or position, numbers checked cell by cell (the error
 * names the line and the column), missing values refused or filled, and
 * the forecasting settings that travel in checkpoints as JSON.
 */
#include "cli/forecast_common.h"

#include "io/io.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int fc_parse_fill(const char *verb, const char *s, rnn__fc_fill *out)
{
    if (strcmp(s, "none") == 0)
        *out = RNN__FC_FILL_NONE;
    else if (strcmp(s, "linear") == 0)
        *out = RNN__FC_FILL_LINEAR;
    else if (strcmp(s, "previous") == 0)
        *out = RNN__FC_FILL_PREVIOUS;
    else
        return cli_error(verb, CLI_EXIT_INPUT, "--fill: expected none, linear or previous, got '%s'", s);
    return 0;
}

const char *fc_fill_name(rnn__fc_fill f)
{
    return f == RNN__FC_FILL_LINEAR ? "linear" : f == RNN__FC_FILL_PREVIOUS ? "previous" : "none";
}

int fc_split_features(const char *verb, const char *list, fc_columns *c, char **storage)
{
    c->nfeatures = 0;
    *storage = NULL;
    if (!list)
        return 0;
    char *s = malloc(strlen(list) + 1);
    if (!s)
        return cli_error(verb, CLI_EXIT_INTERNAL, "out of memory");
    strcpy(s, list);
    *storage = s;
    for (char *p = s;;) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        if (*p == '\0')
            return cli_error(verb, CLI_EXIT_INPUT,
                             "--features: empty column name in '%s' (expected A,B,...)", list);
        if (c->nfeatures == FC_MAX_FEATURES)
            return cli_error(verb, CLI_EXIT_INPUT, "--features: more than %d columns", FC_MAX_FEATURES);
        c->features[c->nfeatures++] = p;
        if (!comma)
            break;
        p = comma + 1;
    }
    return 0;
}

void fc_series_free(fc_series *s)
{
    rnn__csv_free(&s->csv);
    free(s->v);
    free(s->time);
    memset(s, 0, sizeof *s);
}

static int find(const char *verb, const rnn__csv *csv, const char *spec, const char *what,
                size_t *col)
{
    rnn_error e;
    rnn_status st = rnn__csv_column(csv, spec, what, col, &e);
    return st ? cli_error(verb, CLI_EXIT_INPUT, "%s", e.msg) : 0;
}

int fc_load(const char *verb, const char *path, const fc_columns *c, rnn__fc_fill fill,
            fc_series *s)
{
    memset(s, 0, sizeof *s);
    rnn_error e;
    rnn_status st = rnn__csv_read(&s->csv, path, &e);
    if (st)
        return cli_fail_status(verb, st, e.msg);
    const rnn__csv *csv = &s->csv;
    size_t cols[FC_MAX_FEATURES + 1], tcol = 0;
    int rc = find(verb, csv, c->target, "--target", &cols[0]);
    for (int i = 0; !rc && i < c->nfeatures; i++)
        rc = find(verb, csv, c->features[i], "--features", &cols[1 + i]);
    if (!rc && c->time)
        rc = find(verb, csv, c->time, "--time", &tcol);
    if (rc) {
        fc_series_free(s);
        return rc;
    }
    s->F = 1 + c->nfeatures;
    for (int i = 0; i < s->F; i++) {
        char q[80];
        rnn__csv_quote(q, sizeof q, csv->header[cols[i]], 64);
        for (int j = 0; j < i; j++)
            if (cols[j] == cols[i]) {
                fc_series_free(s);
                return cli_error(verb, CLI_EXIT_INPUT, "%s: column '%s' is given twice (%s)", path, q,
                                 j == 0 ? "as --target and in --features" : "in --features");
            }
        if (c->time && tcol == cols[i]) {
            fc_series_free(s);
            return cli_error(verb, CLI_EXIT_INPUT, "%s: column '%s' cannot be both --time and %s",
                             path, q, i == 0 ? "--target" : "a feature");
        }
        double v;
        if (rnn__csv_number(csv->header[cols[i]], &v) == RNN__CSV_NUMBER) {
            /* a value where a name should be: the usual sign of a file
             * without a header, whose first row would be lost */
            rc = cli_error(verb, CLI_EXIT_INPUT,
                           "%s: line %zu: the header names column %zu '%s', which is a number: the "
                           "first row must name the columns (is the header missing?)", path,
                           csv->header_line, cols[i] + 1, q);
            fc_series_free(s);
            return rc;
        }
        s->names[i] = csv->header[cols[i]];
    }
    s->n = csv->rows;
    if (s->n == 0) {
        fc_series_free(s);
        return cli_error(verb, CLI_EXIT_INPUT, "%s: no data rows after the header", path);
    }
    const size_t F = (size_t)s->F;
    double *col = malloc(s->n * sizeof *col);
    s->v = malloc(s->n * F * sizeof *s->v);
    if (c->time)
        s->time = malloc(s->n * sizeof *s->time);
    if (!col || !s->v || (c->time && !s->time)) {
        free(col);
        fc_series_free(s);
        return cli_error(verb, CLI_EXIT_INTERNAL, "out of memory");
    }
    for (size_t k = 0; k < F; k++) {
        size_t missing = 0;
        st = rnn__csv_numbers(csv, cols[k], col, &missing, &e);
        if (st) {
            free(col);
            fc_series_free(s);
            return cli_fail_status(verb, st, e.msg);
        }
        char q[80];
        rnn__csv_quote(q, sizeof q, csv->header[cols[k]], 64);
        if (missing && fill == RNN__FC_FILL_NONE) {
            size_t i = 0;
            while (!isnan(col[i]))
                i++;
            char v[64];
            rnn__csv_quote(v, sizeof v, csv->cell[i * csv->cols + cols[k]], 32);
            char more[48] = "";
            if (missing > 1)
                snprintf(more, sizeof more, " (and %zu more in the column)", missing - 1);
            rc = cli_error(verb, CLI_EXIT_INPUT,
                           "%s: line %zu, column '%s': missing value ('%s')%s; give --fill linear or "
                           "--fill previous to fill the gaps", path, csv->line[i], q, v, more);
            free(col);
            fc_series_free(s);
            return rc;
        }
        if (missing && !rnn__fc_fill_missing(col, s->n, 1, fill)) {
            free(col);
            fc_series_free(s);
            return cli_error(verb, CLI_EXIT_INPUT, "%s: column '%s' has no values at all", path, q);
        }
        s->filled += missing;
        for (size_t i = 0; i < s->n; i++)
            s->v[i * F + k] = col[i];
    }
    free(col);
    if (c->time) {
        for (size_t i = 0; i < s->n; i++)
            s->time[i] = csv->cell[i * csv->cols + tcol];
        s->time_name = csv->header[tcol];
    }
    return 0;
}

int fc_transform(const char *verb, const char *path, const fc_series *s, int use_log, double **out)
{
    const size_t F = (size_t)s->F;
    double *v = malloc(s->n * F * sizeof *v);
    *out = v;
    if (!v)
        return cli_error(verb, CLI_EXIT_INTERNAL, "out of memory");
    memcpy(v, s->v, s->n * F * sizeof *v);
    for (size_t i = 0; use_log && i < s->n; i++) {
        if (!(v[i * F] > 0)) {
            char q[80];
            rnn__csv_quote(q, sizeof q, s->names[0], 64);
            return cli_error(verb, CLI_EXIT_INPUT,
                             "%s: line %zu, column '%s': %g has no logarithm (--log needs values > 0)",
                             path, s->csv.line[i], q, v[i * F]);
        }
        v[i * F] = log(v[i * F]);
    }
    return 0;
}

float *fc_normalise(const double *v, size_t n, int F, const double *mean, const double *std)
{
    float *z = malloc((n ? n : 1) * (size_t)F * sizeof *z);
    if (!z)
        return NULL;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < (size_t)F; k++)
            z[i * (size_t)F + k] = (float)((v[i * (size_t)F + k] - mean[k]) / std[k]);
    return z;
}

double fc_denormalise(float z, double mean, double std, int use_log)
{
    const double v = (double)z * std + mean;
    return use_log ? exp(v) : v;
}

/* ---- settings in checkpoints -------------------------------------------- */

char *fc_meta_json(const fc_meta *m)
{
    rnn__buf b = {0};
    rnn__buf_puts(&b, "{\"target\": ");
    rnn__buf_json_string(&b, m->target);
    rnn__buf_puts(&b, ", \"features\": [");
    for (int i = 0; i < m->nfeatures; i++) {
        if (i)
            rnn__buf_puts(&b, ", ");
        rnn__buf_json_string(&b, m->features[i]);
    }
    rnn__buf_puts(&b, "], \"time\": ");
    if (m->time)
        rnn__buf_json_string(&b, m->time);
    else
        rnn__buf_puts(&b, "null");
    rnn__buf_printf(&b,
                    ", \"lookback\": %d, \"horizon\": %d, \"strategy\": \"%s\", \"season\": %d, "
                    "\"fill\": \"%s\", \"log\": %s, \"relative\": %s, \"mean\": [", m->lookback,
                    m->horizon, m->direct ? "direct" : "recursive", m->season, fc_fill_name(m->fill),
                    m->log ? "true" : "false", m->relative ? "true" : "false");
    for (int i = 0; i <= m->nfeatures; i++)
        rnn__buf_printf(&b, "%s%.17g", i ? ", " : "", m->mean[i]);
    rnn__buf_puts(&b, "], \"std\": [");
    for (int i = 0; i <= m->nfeatures; i++)
        rnn__buf_printf(&b, "%s%.17g", i ? ", " : "", m->std[i]);
    rnn__buf_printf(&b, "], \"rows\": %zu, \"train\": %zu, \"val\": %zu, \"test\": %zu}", m->rows,
                    m->train, m->val, m->test);
    if (b.oom) {
        rnn__buf_free(&b);
        return NULL;
    }
    return b.data;
}

void fc_meta_free(fc_meta *m)
{
    free(m->target);
    free(m->time);
    for (int i = 0; i < m->nfeatures; i++)
        free(m->features[i]);
    memset(m, 0, sizeof *m);
}

static char *dup(const char *s)
{
    char *d = malloc(strlen(s) + 1);
    if (d)
        strcpy(d, s);
    return d;
}

static int get_int(const rnn__json *o, const char *key, int lo, int *out)
{
    const rnn__json *v = rnn__json_get(o, key);
    if (!v || v->kind != RNN__JSON_NUMBER || !v->is_uint || v->uint > (1u << 30) ||
        (int)v->uint < lo)
        return 0;
    *out = (int)v->uint;
    return 1;
}

static int get_size(const rnn__json *o, const char *key, size_t *out)
{
    const rnn__json *v = rnn__json_get(o, key);
    if (!v || v->kind != RNN__JSON_NUMBER || !v->is_uint || v->uint > SIZE_MAX / 2)
        return 0;
    *out = (size_t)v->uint;
    return 1;
}

static int get_numbers(const rnn__json *o, const char *key, size_t n, double *out, int positive)
{
    const rnn__json *v = rnn__json_get(o, key);
    if (!v || v->kind != RNN__JSON_ARRAY || v->count != n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        const rnn__json *x = &v->items[i];
        if (x->kind != RNN__JSON_NUMBER || !isfinite(x->number) || (positive && !(x->number > 0)))
            return 0;
        out[i] = x->number;
    }
    return 1;
}

int fc_meta_parse(const char *verb, const char *json, const char *path, fc_meta *m)
{
    memset(m, 0, sizeof *m);
    rnn__json *j = NULL;
    rnn_error e;
    const char *bad = NULL;
    if (rnn__json_parse(&j, json, strlen(json), &e) || j->kind != RNN__JSON_OBJECT) {
        rnn__json_free(j);
        return cli_error(verb, CLI_EXIT_INPUT, "%s: rnn.forecast is not a JSON object", path);
    }
    const rnn__json *t = rnn__json_get(j, "target"), *f = rnn__json_get(j, "features");
    const rnn__json *tm = rnn__json_get(j, "time"), *sg = rnn__json_get(j, "strategy");
    const rnn__json *fl = rnn__json_get(j, "fill"), *lg = rnn__json_get(j, "log");
    const rnn__json *rl = rnn__json_get(j, "relative");
    if (!t || t->kind != RNN__JSON_STRING)
        bad = "'target' must be a string";
    else if (!f || f->kind != RNN__JSON_ARRAY || f->count > FC_MAX_FEATURES)
        bad = "'features' must be an array of names";
    else if (!tm || (tm->kind != RNN__JSON_STRING && tm->kind != RNN__JSON_NULL))
        bad = "'time' must be a string or null";
    else if (!sg || sg->kind != RNN__JSON_STRING ||
             (strcmp(sg->str, "direct") != 0 && strcmp(sg->str, "recursive") != 0))
        bad = "'strategy' must be direct or recursive";
    else if (!fl || fl->kind != RNN__JSON_STRING ||
             (strcmp(fl->str, "none") && strcmp(fl->str, "linear") && strcmp(fl->str, "previous")))
        bad = "'fill' must be none, linear or previous";
    else if (!lg || lg->kind != RNN__JSON_BOOL || !rl || rl->kind != RNN__JSON_BOOL)
        bad = "'log' and 'relative' must be true or false";
    else if (!get_int(j, "lookback", 1, &m->lookback) || !get_int(j, "horizon", 1, &m->horizon) ||
             !get_int(j, "season", 1, &m->season))
        bad = "'lookback', 'horizon' and 'season' must be positive integers";
    else if (!get_size(j, "rows", &m->rows) || !get_size(j, "train", &m->train) ||
             !get_size(j, "val", &m->val) || !get_size(j, "test", &m->test))
        bad = "'rows', 'train', 'val' and 'test' must be non-negative integers";
    for (size_t i = 0; !bad && i < f->count; i++)
        if (f->items[i].kind != RNN__JSON_STRING)
            bad = "'features' must be an array of names";
    if (!bad && (!get_numbers(j, "mean", f->count + 1, m->mean, 0) ||
                 !get_numbers(j, "std", f->count + 1, m->std, 1)))
        bad = "'mean' and 'std' must hold one finite number per input column (std > 0)";
    if (bad) {
        rnn__json_free(j);
        return cli_error(verb, CLI_EXIT_INPUT, "%s: rnn.forecast: %s", path, bad);
    }
    fc_parse_fill(verb, fl->str, &m->fill);
    m->direct = strcmp(sg->str, "direct") == 0;
    m->log = lg->boolean;
    m->relative = rl->boolean;
    int oom = !(m->target = dup(t->str));
    if (tm->kind == RNN__JSON_STRING)
        oom |= !(m->time = dup(tm->str));
    for (size_t i = 0; i < f->count; i++) {
        m->features[m->nfeatures] = dup(f->items[i].str);
        oom |= !m->features[m->nfeatures++];
    }
    rnn__json_free(j);
    if (oom) {
        fc_meta_free(m);
        return cli_error(verb, CLI_EXIT_INTERNAL, "out of memory");
    }
    return 0;
}
