/*
 * test_forecast.c -- time-series forecasting (src/model/forecast.c): the
 * accuracy measures and baselines against values computed by hand,
 * normalisation statistics from the training part only (a test that fails
 * if later rows leak in), missing-value filling, windows, multi-step
 * forecasts, time labels, the causal Conv1D layer and a Conv1D + GRU model
 * against PyTorch fixtures (tools/gen_conv_fixtures.py), and a model that
 * must beat the seasonal naive forecast on a noisy seasonal series by a
 * stated margin, with both strategies.
 */
#include "test.h"

#include "io/io.h"
#include "layers/layers.h"
#include "model/forecast.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- accuracy and baselines, by hand ------------------------------------ */

static void test_accuracy_by_hand(void)
{
    /* y = 1 2 3 4, f = 2 2 2 2: e = -1 0 1 2 */
    const double y[] = {1, 2, 3, 4}, f[] = {2, 2, 2, 2};
    /* MASE scale over the training series 1 3 2 5 4: m = 1: (2+1+3+1)/4 = 1.75;
     * m = 2: (|2-1| + |5-3| + |4-2|)/3 = 5/3 */
    const double train[] = {1, 3, 2, 5, 4};
    CHECK_NEAR(rnn__fc_mase_scale(train, 5, 1), 1.75, 1e-15);
    CHECK_NEAR(rnn__fc_mase_scale(train, 5, 2), 5.0 / 3.0, 1e-15);
    CHECK(isnan(rnn__fc_mase_scale(train, 5, 5)) && isnan(rnn__fc_mase_scale(train, 2, 2)));
    rnn__fc_metrics m;
    rnn__fc_accuracy(&m, y, f, 4, 1.75);
    CHECK_NEAR(m.mae, 1.0, 1e-15);
    CHECK_NEAR(m.rmse, sqrt(6.0 / 4.0), 1e-15);                         /* (1+0+1+4)/4 */
    CHECK_NEAR(m.mape, 100.0 * (1.0 + 0.0 + 1.0 / 3 + 2.0 / 4) / 4, 1e-12); /* 45.8333 */
    CHECK_NEAR(m.smape, 100.0 * (2.0 / 3 + 0.0 + 2.0 / 5 + 4.0 / 6) / 4, 1e-12); /* 43.3333 */
    CHECK_NEAR(m.mase, 1.0 / 1.75, 1e-15);
    rnn__fc_accuracy(&m, y, f, 4, 5.0 / 3.0);
    CHECK_NEAR(m.mase, 0.6, 1e-15);

    /* a zero actual: MAPE undefined; sMAPE counts y = f = 0 as a perfect 0 */
    const double y0[] = {0, 2}, f0[] = {0, 1};
    rnn__fc_accuracy(&m, y0, f0, 2, 0.0);
    CHECK(isnan(m.mape) && isnan(m.mase));
    CHECK_NEAR(m.smape, 100.0 * (0 + 2.0 / 3) / 2, 1e-12);
    CHECK_NEAR(m.mae, 0.5, 1e-15);
}

static void test_baselines_by_hand(void)
{
    const double y[] = {10, 12, 14, 11, 13, 15, 12}; /* n = 7, origin 6 */
    double f[5];
    rnn__fc_baseline_forecast(f, RNN__FC_NAIVE, y, 7, 5, 3);
    for (int j = 0; j < 5; j++)
        CHECK(f[j] == 12);
    /* m = 3: y[6+h-3(k+1)], k = floor((h-1)/3): h=1..5 -> y[4] y[5] y[6] y[4] y[5] */
    rnn__fc_baseline_forecast(f, RNN__FC_SNAIVE, y, 7, 5, 3);
    const double sn[] = {13, 15, 12, 13, 15};
    CHECK(t_allclose_d("seasonal naive", f, sn, 5, 0, 0));
    rnn__fc_baseline_forecast(f, RNN__FC_MEAN, y, 7, 5, 3);
    for (int j = 0; j < 5; j++)
        CHECK_NEAR(f[j], 87.0 / 7, 1e-12);
    /* drift: 12 + h (12 - 10)/6 */
    rnn__fc_baseline_forecast(f, RNN__FC_DRIFT, y, 7, 5, 3);
    for (int j = 0; j < 5; j++)
        CHECK_NEAR(f[j], 12 + (j + 1) / 3.0, 1e-12);
    /* one step ahead, rolling origin, forecasting y[4], y[5], y[6] */
    double g[3];
    rnn__fc_baseline_one_step(g, RNN__FC_NAIVE, y, 4, 3, 3);
    const double nv[] = {11, 13, 15};
    CHECK(t_allclose_d("naive one-step", g, nv, 3, 0, 0));
    rnn__fc_baseline_one_step(g, RNN__FC_SNAIVE, y, 4, 3, 3);
    const double sv[] = {12, 14, 11};
    CHECK(t_allclose_d("seasonal naive one-step", g, sv, 3, 0, 0));
    rnn__fc_baseline_one_step(g, RNN__FC_MEAN, y, 4, 3, 3);
    const double mv[] = {47.0 / 4, 60.0 / 5, 75.0 / 6};
    CHECK(t_allclose_d("mean one-step", g, mv, 3, 1e-12, 0));
    rnn__fc_baseline_one_step(g, RNN__FC_DRIFT, y, 4, 3, 3);
    const double dv[] = {11 + 1.0 / 3, 13 + 3.0 / 4, 15 + 5.0 / 5};
    CHECK(t_allclose_d("drift one-step", g, dv, 3, 1e-12, 0));
    CHECK(strcmp(rnn__fc_baseline_name(RNN__FC_SNAIVE), "seasonal_naive") == 0);
}

/* ---- normalisation from the training part only -------------------------- */

static void test_normalisation_uses_training_rows_only(void)
{
    /* rows 0..3 train; rows 4..5 (validation, test) are wildly different:
     * any leak moves the statistics far from the training part's */
    const double x[] = {1, 10, 2, 10, 3, 20, 4, 20, /* train */
                        1e6, -5e5, 2e6, 7e5};       /* later */
    double mean[2], sd[2];
    CHECK(rnn__fc_fit_norm(mean, sd, x, 2, 4) == -1);
    CHECK_NEAR(mean[0], 2.5, 1e-15);
    CHECK_NEAR(sd[0], sqrt(1.25), 1e-15); /* population: mean of (1.5^2, .5^2, .5^2, 1.5^2) */
    CHECK_NEAR(mean[1], 15, 1e-15);
    CHECK_NEAR(sd[1], 5, 1e-15);
    /* the same rows with all six used would give very different numbers */
    double mall[2], sall[2];
    rnn__fc_fit_norm(mall, sall, x, 2, 6);
    CHECK(fabs(mall[0] - mean[0]) > 1e5 && fabs(sall[1] - sd[1]) > 1e5);
    /* constant over the training rows = zero scale, even if later rows vary;
     * 0.1 three times has a rounding-residue std that must not count */
    const double c[] = {5, 0.1, 6, 0.1, 7, 0.1, 8, 42};
    CHECK(rnn__fc_fit_norm(mean, sd, c, 2, 3) == 1);
    CHECK(rnn__fc_fit_norm(mean, sd, c, 2, 4) == -1);
}

static void test_fill_missing(void)
{
    const double nan = NAN;
    double a[] = {nan, 1, nan, nan, 4, nan}, b[6];
    memcpy(b, a, sizeof a);
    CHECK(rnn__fc_fill_missing(a, 6, 1, RNN__FC_FILL_LINEAR) == 1);
    const double lin[] = {1, 1, 2, 3, 4, 4};
    CHECK(t_allclose_d("linear fill", a, lin, 6, 1e-15, 0));
    CHECK(rnn__fc_fill_missing(b, 6, 1, RNN__FC_FILL_PREVIOUS) == 1);
    const double prev[] = {1, 1, 1, 1, 4, 4};
    CHECK(t_allclose_d("previous fill", b, prev, 6, 0, 0));
    /* a strided column (every other element) is filled without touching the rest */
    double s[] = {0, 7, nan, 7, 2, 7};
    CHECK(rnn__fc_fill_missing(s, 3, 2, RNN__FC_FILL_LINEAR) == 1);
    CHECK(s[2] == 1 && s[1] == 7 && s[3] == 7);
    double none[] = {nan, nan};
    CHECK(rnn__fc_fill_missing(none, 2, 1, RNN__FC_FILL_LINEAR) == 0 && isnan(none[0]));
}

static void test_windows(void)
{
    /* z[6][2]: target t, feature 100+t */
    float z[12], x[2 * 3 * 2], y[2 * 2];
    for (int t = 0; t < 6; t++) {
        z[2 * t] = (float)t;
        z[2 * t + 1] = (float)(100 + t);
    }
    rnn__fc_windows(x, y, z, 2, 3, 2, 2, 2, 0); /* origins 2, 3; L 3, O 2 */
    const float wx[] = {0, 100, 1, 101, 2, 102, 1, 101, 2, 102, 3, 103}, wy[] = {3, 4, 4, 5};
    CHECK(t_allclose("windows x", x, wx, 12, 0, 0));
    CHECK(t_allclose("windows y", y, wy, 4, 0, 0));
    rnn__fc_windows(x, y, z, 2, 3, 2, 2, 2, 1); /* relative to the origin's target */
    const float rx[] = {-2, 100, -1, 101, 0, 102, -2, 101, -1, 102, 0, 103}, ry[] = {1, 2, 1, 2};
    CHECK(t_allclose("relative windows x", x, rx, 12, 0, 0));
    CHECK(t_allclose("relative windows y", y, ry, 4, 0, 0));
}

static void test_time_labels(void)
{
    static const struct { const char *prev, *last; long k; const char *want; int ok; } c[] = {
        {"1960-11", "1960-12", 1, "1961-01", 1},
        {"1960-11", "1960-12", 13, "1962-01", 1},
        {"1960-01", "1960-04", 1, "1960-07", 1}, /* quarterly */
        {"1949-1-1", "1949-2-1", 2, "1949-4-1", 1},
        {"2021-01-31", "2021-02-28", 1, "2021-03-28", 1}, /* not the same day: a 28-day step */
        {"2020-12-31", "2021-01-31", 1, "2021-02-28", 1}, /* same day of month, clamped */
        {"2021-03-01", "2021-03-02", 30, "2021-04-01", 1},
        {"2021-03-01 23:00", "2021-03-02 00:00", 1, "2021-03-02 01:00", 1},
        {"2021-03-01T00:00:00", "2021-03-01T00:00:30", 3, "2021-03-01T00:02:00", 1},
        {"1969-12-31 21:00", "1969-12-31 22:00", 1, "1969-12-31 23:00", 1}, /* before 1970 */
        {"1950-06-01 06:00", "1950-06-01 12:00", 3, "1950-06-02 06:00", 1},
        {"1999", "2000", 1, "2001", 1},
        {"0.5", "1.0", 2, "2.0", 1},
        {"b", "c", 2, "+2", 0},
        {"2000", "1999", 1, "+1", 0}, /* not increasing */
        {NULL, "2000", 1, "+1", 0},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        char out[64];
        int ok = rnn__fc_time_after(out, sizeof out, c[i].prev, c[i].last, c[i].k);
        CHECK_MSG(ok == c[i].ok && strcmp(out, c[i].want) == 0, "%s, %s + %ld: '%s' (%d), expected '%s'",
                  c[i].prev ? c[i].prev : "NULL", c[i].last, c[i].k, out, ok, c[i].want);
    }
}

/* ---- multi-step forecasts ------------------------------------------------ */

static rnn_model *make_model(int F, int O, int conv, uint64_t seed)
{
    rnn_model_config c = {.input_size = F, .cell = RNN_CELL_GRU, .hidden_size = 6, .num_layers = 1,
                          .output_size = O, .readout = RNN_READOUT_LAST};
    if (conv) {
        c.conv_filters = 4;
        c.conv_kernel = 3;
        c.conv_dilation = 1;
    }
    rnn_model *m = NULL;
    rnn_error e;
    if (rnn_model_new(&m, &c, seed, &e) != RNN_OK)
        t_fail_at(__FILE__, __LINE__, "rnn_model_new: %s", e.msg);
    return m;
}

/* The recursive forecast is the model fed its own predictions, and the
 * direct one chains blocks of O outputs the same way. */
static void test_forecast_feeds_back(void)
{
    enum { N = 20, L = 5 };
    float z[N];
    for (int i = 0; i < N; i++)
        z[i] = (float)sin(0.7 * i);
    rnn_error e;
    for (int O = 1; O <= 3; O += 2) {
        rnn_model *m = make_model(1, O, O == 3, 7);
        if (!m)
            return;
        float out[7], win[L + 7], o[3];
        const size_t origin = 11;
        CHECK_OK(rnn__fc_forecast(m, out, z, N, L, origin, 7, 0, &e));
        /* by hand: slide over the history with the predictions appended */
        memcpy(win, z + origin + 1 - L, L * sizeof *win);
        for (int s = 0; s < 7; s += O) {
            CHECK_OK(rnn_model_forward(m, o, NULL, NULL, NULL, win + s, NULL, NULL, NULL, L, 1, 0));
            for (int j = 0; j < O && s + j < 7; j++)
                win[L + s + j] = o[j];
        }
        /* bitwise on our kernels; a library's GEMM rounds the forecast's
         * frozen (packed once) products apart from the calls' */
        const double tol = rnn__gemm_bitwise() ? 0 : 1e-6;
        CHECK(t_allclose(O == 1 ? "recursive forecast" : "direct forecast, chained", out, win + L, 7,
                         tol, tol));
        /* its first step is the one-step forecast of the same origin */
        float one[3];
        CHECK_OK(rnn__fc_one_step(m, one, z, L, origin, 3, 0, &e));
        CHECK_NEAR(one[0], out[0], 1e-6); /* a batch of 3 vs 1: GEMM sums may round apart */
        /* relative windows make the forecast level-invariant: shifting the
         * whole series by c shifts the forecast by c */
        float zs[N], a[7], b[7];
        for (int i = 0; i < N; i++)
            zs[i] = z[i] + 3.0f;
        CHECK_OK(rnn__fc_forecast(m, a, z, N, L, origin, 7, 1, &e));
        CHECK_OK(rnn__fc_forecast(m, b, zs, N, L, origin, 7, 1, &e));
        for (int j = 0; j < 7; j++)
            b[j] -= 3.0f;
        CHECK(t_allclose("relative forecast, shifted", b, a, 7, 1e-5, 1e-5));
        CHECK_OK(rnn__fc_one_step(m, one, zs, L, origin, 3, 1, &e));
        CHECK_NEAR(one[0] - 3.0, a[0], 1e-5);
        rnn_model_free(m);
    }
    /* with input features, a forecast past the data's end is refused */
    rnn_model *m = make_model(2, 1, 0, 3);
    float z2[2 * N], out[4];
    for (int i = 0; i < 2 * N; i++)
        z2[i] = (float)cos(0.3 * i);
    CHECK_OK(rnn__fc_forecast(m, out, z2, N, L, N - 5, 4, 0, &e)); /* features known */
    CHECK(rnn__fc_forecast(m, out, z2, N, L, N - 1, 2, 0, &e) == RNN_EINVAL);
    CHECK_MSG(strstr(e.msg, "unknown") != NULL, "%s", e.msg);
    CHECK_OK(rnn__fc_forecast(m, out, z2, N, L, N - 1, 1, 0, &e)); /* one step needs none */
    rnn_model_free(m);
}

/* ---- Conv1D against PyTorch ---------------------------------------------- */

static float *tensor(const rnn__st *f, const char *name, size_t want)
{
    const rnn__st_tensor *t = rnn__st_find(f, name);
    if (!t || t->numel != want) {
        t_fail_at(__FILE__, __LINE__, "fixture tensor '%s' missing or not %zu elements", name, want);
        return NULL;
    }
    float *v = calloc(want ? want : 1, sizeof *v);
    if (!v || rnn__convert_f32(v, t->data, t->dtype, want) != RNN_OK) {
        t_fail_at(__FILE__, __LINE__, "fixture tensor '%s' cannot be read", name);
        free(v);
        return NULL;
    }
    return v;
}

static int json_int(const rnn__json *o, const char *key)
{
    const rnn__json *v = rnn__json_get(o, key);
    return v && v->kind == RNN__JSON_NUMBER ? (int)v->number
                                            : v && v->kind == RNN__JSON_BOOL ? v->boolean : -1;
}

/* Opens a fixture and its "cases" list; fails the test if either is missing. */
static int open_fixture(const char *file, rnn__st *f, rnn__json **cases)
{
    rnn_error e;
    if (rnn__st_read(f, t_fixture(file), &e) != RNN_OK) {
        t_fail_at(__FILE__, __LINE__, "cannot read fixture: %s (make fixtures)", e.msg);
        return 0;
    }
    const char *cj = rnn__st_meta(f, "cases");
    if (!cj || rnn__json_parse(cases, cj, strlen(cj), &e) != RNN_OK ||
        (*cases)->kind != RNN__JSON_ARRAY || (*cases)->count == 0) {
        t_fail_at(__FILE__, __LINE__, "%s: no 'cases' list in the metadata", file);
        rnn__st_free(f);
        return 0;
    }
    return 1;
}

static void test_conv1d_layer_vs_pytorch(void)
{
    rnn__st f;
    rnn__json *cases;
    if (!open_fixture("conv1d.safetensors", &f, &cases))
        return;
    for (size_t i = 0; i < cases->count; i++) {
        const rnn__json *c = &cases->items[i];
        const rnn__json *nm = rnn__json_get(c, "name");
        const int T = json_int(c, "T"), B = json_int(c, "B"), C = json_int(c, "C"),
                  F = json_int(c, "F"), K = json_int(c, "K"), d = json_int(c, "dilation");
        if (!nm || nm->kind != RNN__JSON_STRING || T < 1 || B < 1 || C < 1 || F < 1 || K < 1 || d < 1) {
            t_fail_at(__FILE__, __LINE__, "conv1d.safetensors: case %zu is malformed", i);
            continue;
        }
        char key[64];
#define GET(var, what, n) (snprintf(key, sizeof key, "%s.%s", nm->str, what), var = tensor(&f, key, n))
        const size_t nx = (size_t)T * B * C, ny = (size_t)T * B * F, nw = (size_t)F * C * K;
        float *x, *w, *b, *y, *dy, *gx, *gw, *gb;
        GET(x, "x", nx); GET(w, "weight", nw); GET(b, "bias", (size_t)F); GET(y, "y", ny);
        GET(dy, "dy", ny); GET(gx, "grad.x", nx); GET(gw, "grad.weight", nw); GET(gb, "grad.bias", (size_t)F);
#undef GET
        const size_t ncols = rnn__conv1d_cols(T, B, C, K);
        float *got = calloc(ny, sizeof *got), *cols = calloc(ncols, sizeof *cols);
        float *dcols = calloc(ncols, sizeof *dcols), *dx = calloc(nx, sizeof *dx);
        float *dw = calloc(nw, sizeof *dw), *db = calloc((size_t)F, sizeof *db);
        if (x && w && b && y && dy && gx && gw && gb && got && cols && dcols && dx && dw && db) {
            char what[96];
            rnn__conv1d_forward(got, cols, x, w, b, T, B, C, F, K, d);
            snprintf(what, sizeof what, "conv1d %s (K %d, dilation %d) forward", nm->str, K, d);
            t_allclose(what, got, y, ny, 1e-5, 1e-4);
            rnn__conv1d_backward(dx, dw, db, dy, got, cols, dcols, w, T, B, C, F, K, d);
            snprintf(what, sizeof what, "conv1d %s d(input)", nm->str);
            t_allclose(what, dx, gx, nx, 1e-5, 1e-4);
            snprintf(what, sizeof what, "conv1d %s d(weight)", nm->str);
            t_allclose(what, dw, gw, nw, 1e-5, 1e-4);
            snprintf(what, sizeof what, "conv1d %s d(bias)", nm->str);
            t_allclose(what, db, gb, (size_t)F, 1e-5, 1e-4);
        }
        free(x); free(w); free(b); free(y); free(dy); free(gx); free(gw); free(gb);
        free(got); free(cols); free(dcols); free(dx); free(dw); free(db);
    }
    rnn__json_free(cases);
    rnn__st_free(&f);
}

/* The whole model of `rnn forecast --conv`: conv + GRU + last state + head,
 * its parameters loaded by their PyTorch names, one batch forward and
 * backward: outputs, d(input) and every parameter's gradient. */
static void test_conv_gru_model_vs_pytorch(void)
{
    rnn__st f;
    rnn__json *cases;
    if (!open_fixture("conv1d_model.safetensors", &f, &cases))
        return;
    for (size_t i = 0; i < cases->count; i++) {
        const rnn__json *c = &cases->items[i];
        const rnn__json *nm = rnn__json_get(c, "name");
        const int T = json_int(c, "T"), B = json_int(c, "B"), I = json_int(c, "I");
        const int O = json_int(c, "O");
        rnn_model_config mc = {.input_size = I, .cell = RNN_CELL_GRU, .hidden_size = json_int(c, "H"),
                               .num_layers = json_int(c, "L"),
                               .bidirectional = json_int(c, "bidirectional"), .output_size = O,
                               .readout = RNN_READOUT_LAST, .conv_filters = json_int(c, "F"),
                               .conv_kernel = json_int(c, "K"),
                               .conv_dilation = json_int(c, "dilation")};
        rnn_model *m = NULL;
        rnn_error e;
        if (!nm || nm->kind != RNN__JSON_STRING || T < 1 || B < 1 ||
            rnn_model_new(&m, &mc, 1, &e) != RNN_OK) {
            t_fail_at(__FILE__, __LINE__, "conv1d_model.safetensors: case %zu is malformed", i);
            continue;
        }
        char key[128];
        size_t nt = rnn_model_num_tensors(m);
        CHECK(nt == 2 + 4 * (size_t)mc.num_layers * (mc.bidirectional ? 2 : 1) + 2);
        for (size_t k = 0; k < nt; k++) { /* every parameter, by its PyTorch name */
            rnn_tensor t;
            CHECK_OK(rnn_model_tensor(m, k, &t));
            snprintf(key, sizeof key, "%s.%s", nm->str, t.name);
            float *v = tensor(&f, key, t.numel);
            if (v)
                memcpy(t.data, v, t.numel * sizeof *v);
            free(v);
        }
        const size_t nx = (size_t)T * B * I, no = (size_t)B * O;
        snprintf(key, sizeof key, "%s.x", nm->str);
        float *x = tensor(&f, key, nx);
        snprintf(key, sizeof key, "%s.out", nm->str);
        float *want = tensor(&f, key, no);
        snprintf(key, sizeof key, "%s.dout", nm->str);
        float *dout = tensor(&f, key, no);
        snprintf(key, sizeof key, "%s.grad.x", nm->str);
        float *gx = tensor(&f, key, nx);
        float *out = calloc(no, sizeof *out), *dx = calloc(nx, sizeof *dx);
        if (x && want && dout && gx && out && dx) {
            char what[160];
            rnn_model_zero_grad(m);
            CHECK_OK(rnn_model_forward(m, out, NULL, NULL, NULL, x, NULL, NULL, NULL, T, B, 1));
            snprintf(what, sizeof what, "model %s output", nm->str);
            t_allclose(what, out, want, no, 1e-5, 1e-4);
            CHECK_OK(rnn_model_backward(m, dx, dout, NULL, NULL));
            snprintf(what, sizeof what, "model %s d(input)", nm->str);
            t_allclose(what, dx, gx, nx, 1e-5, 1e-4);
            for (size_t k = 0; k < nt; k++) {
                rnn_tensor t;
                rnn_model_tensor(m, k, &t);
                snprintf(key, sizeof key, "%s.grad.%s", nm->str, t.name);
                float *g = tensor(&f, key, t.numel);
                snprintf(what, sizeof what, "model %s d(%s)", nm->str, t.name);
                if (g)
                    t_allclose(what, t.grad, g, t.numel, 1e-5, 1e-4);
                free(g);
            }
        }
        free(x); free(want); free(dout); free(gx); free(out); free(dx);
        rnn_model_free(m);
    }
    rnn__json_free(cases);
    rnn__st_free(&f);
}

/* ---- learning: beat the seasonal naive forecast --------------------------- */

/* A noisy seasonal series: two harmonics of period 12 around a level of 10,
 * plus white noise of sd 0.3. The seasonal naive forecast y[t-12] carries
 * the noise of two time steps (error sd 0.3 * sqrt 2, MAE ~ 0.34); a model
 * that has learnt the pattern carries only one (MAE ~ 0.24 at best). */
static void seasonal_series(double *y, int n, uint64_t seed)
{
    rnn__rng r;
    rnn__rng_seed(&r, seed);
    for (int t = 0; t < n; t++) {
        y[t] = 10 + 2 * sin(2 * M_PI * t / 12) + 0.8 * cos(4 * M_PI * t / 12) +
               0.3 * rnn__rng_normal(&r);
    }
}

/* A GRU-24 trained on the windows of rows [0, ntrain) for `steps` updates
 * (no validation: the test judges the result on later rows). */
static rnn_model *train_forecaster(const float *z, int ntrain, int L, int O, int steps)
{
    const int ntw = ntrain - L - O + 1;
    float *x = malloc((size_t)ntw * L * sizeof *x), *y = malloc((size_t)ntw * O * sizeof *y);
    rnn_model_config c = {.input_size = 1, .cell = RNN_CELL_GRU, .hidden_size = 24, .num_layers = 1,
                          .output_size = O, .readout = RNN_READOUT_LAST};
    rnn_model *m = NULL;
    rnn_trainer *t = NULL;
    rnn_error e;
    rnn__fc_windows(x, y, z, 1, L, O, (size_t)L - 1, (size_t)ntw, 0);
    rnn_dataset d = {.n = ntw, .T = L, .x = x, .y = y};
    rnn_train_options o = {.seq_len = L, .batch = 16, .lr = 5e-3, .clip_norm = 5, .seed = 3};
    rnn_optim_defaults(&o.optim, RNN_OPT_ADAM);
    if (rnn_model_new(&m, &c, 11, &e) || rnn_seq_trainer_new(&t, m, &o, RNN_LOSS_MSE, &d, NULL, &e)) {
        t_fail_at(__FILE__, __LINE__, "setup: %s", e.msg);
        rnn_model_free(m);
        m = NULL;
    }
    for (int s = 0; m && s < steps; s++)
        if (rnn_trainer_step(t, NULL) != RNN_OK) {
            t_fail_at(__FILE__, __LINE__, "step %d: %s", s, rnn_trainer_errmsg(t));
            break;
        }
    rnn_trainer_free(t);
    free(x);
    free(y);
    return m;
}

static void test_beats_seasonal_naive(void)
{
    /* 1080 training rows; the last 120 test: one step ahead from the true
     * history at each, and 12-step forecasts from 10 origins 12 rows apart
     * (1500 updates, about half a second; the recursive model needs them) */
    enum { N = 1200, NTEST = 120, L = 24, M = 12, H = 12, NORIG = NTEST / H };
    const int ntrain = N - NTEST;
    double y[N], mean, sd;
    seasonal_series(y, N, 5);
    CHECK(rnn__fc_fit_norm(&mean, &sd, y, 1, ntrain) == -1);
    float z[N];
    for (int i = 0; i < N; i++)
        z[i] = (float)((y[i] - mean) / sd);
    const double scale = rnn__fc_mase_scale(y, ntrain, M);
    double sn1[NTEST], snm[NTEST], f1[NTEST], fm[NTEST];
    rnn__fc_baseline_one_step(sn1, RNN__FC_SNAIVE, y, ntrain, NTEST, M);
    for (int k = 0; k < NORIG; k++)
        rnn__fc_baseline_forecast(snm + k * H, RNN__FC_SNAIVE, y, (size_t)(ntrain + k * H), H, M);
    rnn__fc_metrics base1, basem, mod1, modm;
    rnn__fc_accuracy(&base1, y + ntrain, sn1, NTEST, scale);
    rnn__fc_accuracy(&basem, y + ntrain, snm, NTEST, scale);
    rnn_error e;
    for (int direct = 0; direct < 2; direct++) {
        const int O = direct ? M : 1;
        rnn_model *m = train_forecaster(z, ntrain, L, O, 1500);
        if (!m)
            return;
        float o1[NTEST], om[NTEST];
        CHECK_OK(rnn__fc_one_step(m, o1, z, L, (size_t)ntrain - 1, NTEST, 0, &e));
        for (int k = 0; k < NORIG; k++)
            CHECK_OK(rnn__fc_forecast(m, om + k * H, z, N, L, (size_t)(ntrain - 1 + k * H), H, 0, &e));
        for (int j = 0; j < NTEST; j++) {
            f1[j] = o1[j] * sd + mean;
            fm[j] = om[j] * sd + mean;
        }
        rnn__fc_accuracy(&mod1, y + ntrain, f1, NTEST, scale);
        rnn__fc_accuracy(&modm, y + ntrain, fm, NTEST, scale);
        if (getenv("RNN_TEST_VERBOSE"))
            printf("     %s: one-step MAE %.4f (seasonal naive %.4f), %d-step %.4f (%.4f)\n",
                   direct ? "direct" : "recursive", mod1.mae, base1.mae, H, modm.mae, basem.mae);
        /* the stated margins: the MAE at least 15% below the seasonal naive
         * forecast's one step ahead, and 12% below it 12 steps ahead (seen:
         * 21-26% and 19-24% over model seeds 11..14) */
        CHECK_MSG(mod1.mae < 0.85 * base1.mae, "%s: one-step MAE %.4f, seasonal naive %.4f",
                  direct ? "direct" : "recursive", mod1.mae, base1.mae);
        CHECK_MSG(modm.mae < 0.88 * basem.mae, "%s: %d-step MAE %.4f, seasonal naive %.4f",
                  direct ? "direct" : "recursive", H, modm.mae, basem.mae);
        rnn_model_free(m);
    }
}

void suite_forecast(void);
void suite_forecast(void)
{
    RUN(test_accuracy_by_hand);
    RUN(test_baselines_by_hand);
    RUN(test_normalisation_uses_training_rows_only);
    RUN(test_fill_missing);
    RUN(test_windows);
    RUN(test_time_labels);
    RUN(test_forecast_feeds_back);
    RUN(test_conv1d_layer_vs_pytorch);
    RUN(test_conv_gru_model_vs_pytorch);
    RUN(test_beats_seasonal_naive);
}
