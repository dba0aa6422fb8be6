/*
 * forecast.c -- the pieces of forecast.h: accuracy measures, baselines,
 * normalisation statistics from the training part, missing-value filling,
 * windows, multi-step forecasts by a model, and time labels past the end.
 *
 * Accumulations are in double (series are short; the measures are what
 * people compare, so they should not depend on summation luck).
 */
#include "model/forecast.h"

#include "io/csv.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- accuracy ----------------------------------------------------------- */

double rnn__fc_mase_scale(const double *y, size_t n, int m)
{
    if (m < 1 || n <= (size_t)m)
        return NAN;
    double s = 0;
    for (size_t t = (size_t)m; t < n; t++)
        s += fabs(y[t] - y[t - (size_t)m]);
    return s / (double)(n - (size_t)m);
}

void rnn__fc_accuracy(rnn__fc_metrics *out, const double *y, const double *f, size_t n,
                      double scale)
{
    double ae = 0, se = 0, ape = 0, sape = 0;
    int zero_actual = 0;
    for (size_t i = 0; i < n; i++) {
        const double e = y[i] - f[i], a = fabs(e), d = fabs(y[i]) + fabs(f[i]);
        ae += a;
        se += e * e;
        if (y[i] == 0)
            zero_actual = 1;
        else
            ape += a / fabs(y[i]);
        if (d > 0)
            sape += 2 * a / d; /* y = f = 0 is a perfect forecast: the term is 0 */
    }
    const double dn = n ? (double)n : NAN;
    out->mae = ae / dn;
    out->rmse = sqrt(se / dn);
    out->mape = zero_actual ? NAN : 100 * ape / dn;
    out->smape = 100 * sape / dn;
    out->mase = scale > 0 && isfinite(scale) ? out->mae / scale : NAN;
}

/* ---- baselines ---------------------------------------------------------- */

const char *rnn__fc_baseline_name(rnn__fc_baseline kind)
{
    static const char *const names[] = {"naive", "seasonal_naive", "mean", "drift"};
    return kind >= 0 && kind < RNN__FC_NBASELINES ? names[kind] : "?";
}

void rnn__fc_baseline_forecast(double *f, rnn__fc_baseline kind, const double *y, size_t n,
                               size_t h, int m)
{
    const size_t o = n - 1;
    double mean = 0;
    if (kind == RNN__FC_MEAN) {
        for (size_t i = 0; i < n; i++)
            mean += y[i];
        mean /= (double)n;
    }
    const double slope = o > 0 ? (y[o] - y[0]) / (double)o : 0;
    if (m < 1)
        m = 1;
    for (size_t j = 0; j < h; j++) {
        const size_t hh = j + 1; /* steps ahead */
        switch (kind) {
        case RNN__FC_NAIVE: f[j] = y[o]; break;
        case RNN__FC_SNAIVE: {
            /* y[o+hh-m(k+1)], k = floor((hh-1)/m): the same season of the
             * last full cycle the history holds */
            const size_t back = (size_t)m * ((hh - 1) / (size_t)m + 1);
            const size_t idx = o + hh >= back ? o + hh - back : 0;
            f[j] = y[idx];
            break;
        }
        case RNN__FC_MEAN: f[j] = mean; break;
        case RNN__FC_DRIFT: f[j] = y[o] + (double)hh * slope; break;
        default: f[j] = NAN; break;
        }
    }
}

void rnn__fc_baseline_one_step(double *f, rnn__fc_baseline kind, const double *y, size_t first,
                               size_t count, int m)
{
    double sum = 0;
    for (size_t i = 0; i < first; i++)
        sum += y[i];
    if (m < 1)
        m = 1;
    for (size_t k = 0; k < count; k++) {
        const size_t t = first + k, o = t - 1; /* forecast y[t] at origin t-1 */
        switch (kind) {
        case RNN__FC_NAIVE: f[k] = y[o]; break;
        case RNN__FC_SNAIVE: f[k] = y[t >= (size_t)m ? t - (size_t)m : 0]; break;
        case RNN__FC_MEAN: f[k] = sum / (double)t; break;
        case RNN__FC_DRIFT: f[k] = y[o] + (o > 0 ? (y[o] - y[0]) / (double)o : 0); break;
        default: f[k] = NAN; break;
        }
        sum += y[t];
    }
}

/* ---- data preparation ---------------------------------------------------- */

long rnn__fc_fit_norm(double *mean, double *std, const double *x, size_t cols, size_t ntrain)
{
    long constant = -1;
    for (size_t c = 0; c < cols; c++) {
        double s = 0, lo = INFINITY, hi = -INFINITY;
        for (size_t i = 0; i < ntrain; i++) {
            const double v = x[i * cols + c];
            s += v;
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
        }
        const double mu = ntrain ? s / (double)ntrain : 0;
        double ss = 0; /* two passes: no cancellation */
        for (size_t i = 0; i < ntrain; i++) {
            const double d = x[i * cols + c] - mu;
            ss += d * d;
        }
        mean[c] = mu;
        std[c] = ntrain ? sqrt(ss / (double)ntrain) : 0;
        /* constant means exactly equal values (their computed std may be a
         * rounding residue such as 1e-17, which must not count as a scale) */
        if (constant < 0 && !(hi > lo))
            constant = (long)c;
    }
    return constant;
}

int rnn__fc_fill_missing(double *x, size_t n, size_t stride, rnn__fc_fill method)
{
    size_t first = n;
    for (size_t i = 0; i < n && first == n; i++)
        if (!isnan(x[i * stride]))
            first = i;
    if (first == n)
        return 0;
    for (size_t i = 0; i < first; i++)
        x[i * stride] = x[first * stride];
    size_t prev = first; /* the last present value */
    for (size_t i = first + 1; i < n; i++) {
        if (!isnan(x[i * stride])) {
            prev = i;
            continue;
        }
        size_t next = i;
        while (next < n && isnan(x[next * stride]))
            next++;
        for (size_t j = i; j < next; j++) {
            const double a = x[prev * stride];
            if (method == RNN__FC_FILL_LINEAR && next < n) {
                const double b = x[next * stride];
                x[j * stride] = a + (b - a) * (double)(j - prev) / (double)(next - prev);
            } else {
                x[j * stride] = a;
            }
        }
        i = next; /* x[next] is present (or the end) */
        prev = next < n ? next : prev;
    }
    return 1;
}

void rnn__fc_windows(float *x, float *y, const float *z, int F, int L, int O, size_t first,
                     size_t count, int relative)
{
    const size_t w = (size_t)L * (size_t)F;
    for (size_t k = 0; k < count; k++) {
        const size_t o = first + k;
        const float base = relative ? z[o * (size_t)F] : 0.0f;
        float *xk = x + k * w;
        memcpy(xk, z + (o + 1 - (size_t)L) * (size_t)F, w * sizeof *x);
        for (int t = 0; relative && t < L; t++)
            xk[(size_t)t * (size_t)F] -= base;
        for (int j = 0; y && j < O; j++)
            y[k * (size_t)O + (size_t)j] = z[(o + 1 + (size_t)j) * (size_t)F] - base;
    }
}

/* ---- forecasting with a model ------------------------------------------ */

rnn_status rnn__fc_forecast(rnn_model *m, float *out, const float *z, size_t avail, int L,
                            size_t origin, size_t steps, int relative, rnn_error *err)
{
    const rnn_model_config *c = &m->cfg;
    const int F = c->input_size, O = c->output_size;
    if (c->vocab_size > 0 || c->readout == RNN_READOUT_STEPS || L < 1 || origin + 1 < (size_t)L ||
        origin >= avail)
        return rnn__fail(err, RNN_EINVAL,
                         "forecast: needs a many-to-one feature model and origin %zu in %d..%zu",
                         origin, L - 1, avail ? avail - 1 : 0);
    size_t rows, nw;
    if (!rnn__add(&rows, (size_t)L, steps) || !rnn__mul(&nw, rows, (size_t)F))
        return rnn__fail(err, RNN_EOVERFLOW, "forecast: %zu steps are too many", steps);
    float *w = rnn__alloc_floats(nw), *o = rnn__alloc_floats((size_t)O);
    float *win = relative ? rnn__alloc_floats((size_t)L * (size_t)F) : NULL;
    rnn_status st = RNN_OK;
    if (!w || !o || (relative && !win)) {
        st = rnn__fail(err, RNN_ENOMEM, "forecast: out of memory");
        goto out;
    }
    /* one call per forecast step, the weights unchanged: packed once */
    if ((st = rnn__stack_freeze(&m->stack, 1, err)))
        goto out;
    /* w: the history window, then one row per forecast step (row L+j is
     * series position origin+1+j): the target is the prediction, the other
     * columns are observed values when the data has them */
    memcpy(w, z + (origin + 1 - (size_t)L) * (size_t)F, (size_t)L * (size_t)F * sizeof *w);
    for (size_t s = 0; s < steps; s += (size_t)O) {
        if (F > 1 && s > 0 && origin + s >= avail) {
            st = rnn__fail(err, RNN_EINVAL,
                           "forecast: step %zu needs the input features of %zu step%s past the end "
                           "of the data, which are unknown", s + 1, origin + s + 1 - avail,
                           origin + s + 1 - avail == 1 ? "" : "s");
            goto out;
        }
        const float *x = w + s * (size_t)F;
        float base = 0;
        if (relative) { /* the window as changes from its last target value */
            base = x[((size_t)L - 1) * (size_t)F];
            memcpy(win, x, (size_t)L * (size_t)F * sizeof *win);
            for (int t = 0; t < L; t++)
                win[(size_t)t * (size_t)F] -= base;
            x = win;
        }
        st = rnn_model_forward(m, o, NULL, NULL, NULL, x, NULL, NULL, NULL, L, 1, 0);
        if (st) {
            rnn__fail(err, st, "forecast: %s", m->err.msg);
            goto out;
        }
        for (size_t j = 0; j < (size_t)O && s + j < steps; j++) {
            const size_t row = (size_t)L + s + j, pos = origin + 1 + s + j;
            out[s + j] = o[j] + base;
            w[row * (size_t)F] = o[j] + base;
            for (int f = 1; f < F; f++)
                w[row * (size_t)F + (size_t)f] = pos < avail ? z[pos * (size_t)F + (size_t)f] : NAN;
        }
    }
out:
    rnn__stack_freeze(&m->stack, 0, NULL);
    rnn__free_floats(w);
    rnn__free_floats(o);
    rnn__free_floats(win);
    return st;
}

rnn_status rnn__fc_one_step(rnn_model *m, float *out, const float *z, int L, size_t first,
                            size_t count, int relative, rnn_error *err)
{
    const rnn_model_config *c = &m->cfg;
    const int F = c->input_size, O = c->output_size;
    if (count == 0)
        return RNN_OK;
    if (first + 1 < (size_t)L || count > (size_t)INT32_MAX)
        return rnn__fail(err, RNN_EINVAL, "one-step forecasts: origin %zu before the first window",
                         first);
    size_t nx, no;
    if (!rnn__mul4(&nx, count, (size_t)L, (size_t)F, 1) || !rnn__mul(&no, count, (size_t)O))
        return rnn__fail(err, RNN_EOVERFLOW, "one-step forecasts: too many windows");
    float *x = rnn__alloc_floats(nx), *o = rnn__alloc_floats(no);
    rnn_status st = RNN_OK;
    if (!x || !o) {
        st = rnn__fail(err, RNN_ENOMEM, "one-step forecasts: out of memory");
        goto out;
    }
    rnn__fc_windows(x, NULL, z, F, L, O, first, count, relative);
    rnn_dataset d = {.n = (int)count, .T = L, .x = x};
    st = rnn_model_predict(m, o, &d, count < 256 ? (int)count : 256, err);
    if (st)
        goto out;
    for (size_t k = 0; k < count; k++)
        out[k] = o[k * (size_t)O] + (relative ? z[(first + k) * (size_t)F] : 0.0f);
out:
    rnn__free_floats(x);
    rnn__free_floats(o);
    return st;
}

/* ---- time labels ------------------------------------------------------- */

typedef struct stamp {
    long long y, mo, d, hh, mi, ss;
    int parts;  /* 2: Y-M, 3: Y-M-D, 5: with H:M, 6: with H:M:S */
    int padded; /* month and day written with two digits */
    char sep;   /* ' ' or 'T' before the time */
} stamp;

/* Reads up to `max` digits; returns how many (0: none). */
static int digits(const char **p, int max, long long *v)
{
    int n = 0;
    *v = 0;
    while (n < max && **p >= '0' && **p <= '9') {
        *v = *v * 10 + (**p - '0');
        (*p)++;
        n++;
    }
    return n;
}

static int parse_stamp(const char *s, stamp *t)
{
    memset(t, 0, sizeof *t);
    const char *p = s;
    int nm, nd = 0;
    if (digits(&p, 4, &t->y) != 4 || *p++ != '-' || (nm = digits(&p, 2, &t->mo)) == 0)
        return 0;
    t->parts = 2;
    t->padded = nm == 2;
    if (*p == '-') {
        p++;
        if ((nd = digits(&p, 2, &t->d)) == 0)
            return 0;
        t->parts = 3;
        t->padded = nm == 2 && nd == 2;
        if (*p == ' ' || *p == 'T') {
            t->sep = *p++;
            if (digits(&p, 2, &t->hh) != 2 || *p++ != ':' || digits(&p, 2, &t->mi) != 2)
                return 0;
            t->parts = 5;
            if (*p == ':') {
                p++;
                if (digits(&p, 2, &t->ss) != 2)
                    return 0;
                t->parts = 6;
            }
        }
    }
    if (*p != '\0' || t->mo < 1 || t->mo > 12 || (t->parts >= 3 && (t->d < 1 || t->d > 31)) ||
        t->hh > 23 || t->mi > 59 || t->ss > 60)
        return 0;
    return 1;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil), and back. */
static long long days_from_civil(long long y, long long m, long long d)
{
    y -= m <= 2;
    const long long era = (y >= 0 ? y : y - 399) / 400;
    const long long yoe = y - era * 400;
    const long long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(long long z, long long *y, long long *m, long long *d)
{
    z += 719468;
    const long long era = (z >= 0 ? z : z - 146096) / 146097;
    const long long doe = z - era * 146097;
    const long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const long long mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp + (mp < 10 ? 3 : -9);
    *y = yoe + era * 400 + (*m <= 2);
}

static long long month_days(long long y, long long m)
{
    static const int len[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return len[m - 1] + (m == 2 && leap);
}

static int time_after_stamp(char *out, size_t n, const stamp *a, const stamp *b, long k)
{
    if (a->parts != b->parts || a->sep != b->sep)
        return 0;
    const char *fmt2 = b->padded ? "%04lld-%02lld" : "%lld-%lld";
    const char *fmt3 = b->padded ? "%04lld-%02lld-%02lld" : "%lld-%lld-%lld";
    const long long ma = a->y * 12 + a->mo - 1, mb = b->y * 12 + b->mo - 1;
    if (b->parts == 2 || (b->parts == 3 && a->d == b->d && mb > ma)) {
        const long long step = mb - ma;
        if (step <= 0 || step > 1200000)
            return 0;
        const long long mm = mb + step * k, y = mm / 12, mo = mm % 12 + 1;
        if (b->parts == 2)
            snprintf(out, n, fmt2, y, mo);
        else {
            const long long md = month_days(y, mo);
            snprintf(out, n, fmt3, y, mo, b->d < md ? b->d : md);
        }
        return 1;
    }
    const long long da = days_from_civil(a->y, a->mo, a->d), db = days_from_civil(b->y, b->mo, b->d);
    if (b->parts == 3) {
        const long long step = db - da;
        if (step <= 0 || step > 100000000)
            return 0;
        long long y, mo, d;
        civil_from_days(db + step * k, &y, &mo, &d);
        snprintf(out, n, fmt3, y, mo, d);
        return 1;
    }
    const long long sa = da * 86400 + a->hh * 3600 + a->mi * 60 + a->ss;
    const long long sb = db * 86400 + b->hh * 3600 + b->mi * 60 + b->ss;
    const long long step = sb - sa;
    if (step <= 0 || step > 10000000000LL)
        return 0;
    /* floor division: days before 1970 are negative, the time of day never is */
    long long t = sb + step * k, sec = (t % 86400 + 86400) % 86400, days = (t - sec) / 86400, y, mo, d;
    civil_from_days(days, &y, &mo, &d);
    int w = snprintf(out, n, fmt3, y, mo, d);
    if (w < 0 || (size_t)w >= n)
        return 0;
    if (b->parts == 6)
        snprintf(out + w, n - (size_t)w, "%c%02lld:%02lld:%02lld", b->sep, sec / 3600, sec / 60 % 60,
                 sec % 60);
    else
        snprintf(out + w, n - (size_t)w, "%c%02lld:%02lld", b->sep, sec / 3600, sec / 60 % 60);
    return 1;
}

/* Decimal places of a number as written (-1: not a plain decimal). */
static int decimals(const char *s)
{
    const char *dot = strchr(s, '.');
    if (strpbrk(s, "eE"))
        return -1;
    return dot ? (int)strlen(dot + 1) : 0;
}

int rnn__fc_time_after(char *out, size_t n, const char *prev, const char *last, long k)
{
    if (n == 0)
        return 0;
    stamp a, b;
    double va, vb;
    if (prev && parse_stamp(prev, &a) && parse_stamp(last, &b)) {
        if (time_after_stamp(out, n, &a, &b, k))
            return 1;
    } else if (prev && rnn__csv_number(prev, &va) == RNN__CSV_NUMBER &&
               rnn__csv_number(last, &vb) == RNN__CSV_NUMBER && vb > va) {
        int da = decimals(prev), db = decimals(last);
        if (da >= 0 && db >= 0 && da <= 9 && db <= 9) {
            const int dec = da > db ? da : db;
            if (dec == 0 && fabs(vb) < 1e15 && fabs(vb - va) * (double)k < 1e15)
                snprintf(out, n, "%lld", (long long)vb + ((long long)vb - (long long)va) * k);
            else
                snprintf(out, n, "%.*f", dec, vb + (vb - va) * (double)k);
            return 1;
        }
    }
    snprintf(out, n, "+%ld", k);
    return 0;
}
