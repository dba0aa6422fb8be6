/*
 * test_statal.c -- the Statal cell (seed 003) and its model:
 *   - forward and backward of every mode against the PyTorch reference
 *     (tests/fixtures/statal_*.safetensors, tools/gen_statal_fixtures.py),
 *     in double and in float, with the straight-through surrogate and,
 *     for copy and binary, without it;
 *   - central finite differences in double on every parameter, the input
 *     and the initial state (the exact derivative: surrogate off), with and
 *     without variable lengths;
 *   - the meaning of each mode's state on hand-made sequences;
 *   - the model (stacked layers, last/step readouts, head) against finite
 *     differences, its checkpoints, and its trainer: learning a "was this
 *     symbol seen?" task beyond the chance baseline, and resuming bitwise.
 */
#include "test.h"

#include "io/io.h"
#include "layers/statal.h"
#include "model/statal_model.h"
#include "model/trainer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const MODES[] = {"copy", "binary", "prob", "multi"};

/* ---- against PyTorch --------------------------------------------------------- */

static double *get_d(const rnn__st *f, const char *file, const char *name, size_t want)
{
    const rnn__st_tensor *t = rnn__st_find(f, name);
    if (!t || t->numel != want || t->dtype != RNN__F64) {
        t_fail_at(__FILE__, __LINE__, "%s: tensor '%s' missing or not %zu float64 values", file,
                  name, want);
        return NULL;
    }
    double *v = malloc(want * sizeof *v);
    memcpy(v, t->data, want * sizeof *v);
    return v;
}

static float *to_f(const double *d, size_t n)
{
    float *f = malloc((n ? n : 1) * sizeof *f);
    for (size_t i = 0; i < n; i++)
        f[i] = (float)d[i];
    return f;
}

static void run_fixture(int mode)
{
    char name[64];
    snprintf(name, sizeof name, "statal_%s.safetensors", MODES[mode]);
    rnn__st f;
    rnn_error e;
    if (rnn__st_read(&f, t_fixture(name), &e) != RNN_OK) {
        t_fail_at(__FILE__, __LINE__, "cannot read fixture: %s (run `make fixtures`)", e.msg);
        return;
    }
    const char *meta = rnn__st_meta(&f, "mode");
    CHECK_MSG(meta && strcmp(meta, MODES[mode]) == 0, "%s: metadata mode", name);
    const rnn__st_tensor *xt = rnn__st_find(&f, "x"), *wt = rnn__st_find(&f, "weight_x");
    const rnn__st_tensor *lt = rnn__st_find(&f, "lengths");
    if (!xt || xt->ndim != 3 || !wt || wt->ndim != 2 || !lt || lt->dtype != RNN__I64) {
        t_fail_at(__FILE__, __LINE__, "%s: x, weight_x or lengths missing", name);
        rnn__st_free(&f);
        return;
    }
    const int T = (int)xt->shape[0], B = (int)xt->shape[1], I = (int)xt->shape[2];
    const int H = (int)wt->shape[0], S = rnn__statal_state_width((rnn__statal_mode)mode, H);
    const int W = H + S;
    CHECK((int)lt->numel == B);
    int32_t lens[16];
    for (int b = 0; b < B && b < 16; b++)
        lens[b] = (int32_t)((const int64_t *)lt->data)[b];
    const size_t nw = rnn__statal_param_count((rnn__statal_mode)mode, I, H);
    const size_t nx = (size_t)T * B * I, ny = (size_t)T * B * W, ns = (size_t)B * S;
    double *w = calloc(nw, sizeof *w);
    double *wx = get_d(&f, name, "weight_x", (size_t)H * I), *ws = get_d(&f, name, "weight_s", (size_t)H * S);
    double *bias = get_d(&f, name, "bias", (size_t)H), *x = get_d(&f, name, "x", nx);
    double *s0 = get_d(&f, name, "s0", ns), *y_ref = get_d(&f, name, "y", ny);
    double *sn_ref = get_d(&f, name, "sn", ns), *dy = get_d(&f, name, "dy", ny);
    double *dsn = get_d(&f, name, "dsn", ns);
    if (!wx || !ws || !bias || !x || !s0 || !y_ref || !sn_ref || !dy || !dsn)
        goto done;
    memcpy(w, wx, sizeof(double) * H * I);
    memcpy(w + (size_t)H * I, ws, sizeof(double) * H * S);
    memcpy(w + (size_t)H * (I + S), bias, sizeof(double) * H);

    for (int surrogate = 1; surrogate >= 0; surrogate--) {
        if (!surrogate && mode >= RNN__STATAL_PROB)
            break; /* prob and multi have no surrogate */
        const char *pre = surrogate ? "grad" : "exact";
        char key[64], what[128];
        const char *parts[] = {"x", "s0", "weight_x", "weight_s", "bias"};
        double *ref[5];
        const size_t sizes[] = {nx, ns, (size_t)H * I, (size_t)H * S, (size_t)H};
        int have = 1;
        for (int k = 0; k < 5; k++) {
            snprintf(key, sizeof key, "%s.%s", pre, parts[k]);
            ref[k] = get_d(&f, name, key, sizes[k]);
            have &= ref[k] != NULL;
        }
        double *refw = calloc(nw, sizeof *refw);
        if (have) {
            memcpy(refw, ref[2], sizeof(double) * H * I);
            memcpy(refw + (size_t)H * I, ref[3], sizeof(double) * H * S);
            memcpy(refw + (size_t)H * (I + S), ref[4], sizeof(double) * H);
        }

        /* double */
        size_t nc = rnn__statal_cache_count((rnn__statal_mode)mode, T, B, H);
        double *cache = calloc(nc, sizeof *cache), *scr = calloc(ns, sizeof *scr);
        double *y = calloc(ny, sizeof *y), *sn = calloc(ns, sizeof *sn);
        double *gx = calloc(nx, sizeof *gx), *gs0 = calloc(ns, sizeof *gs0);
        double *gw = calloc(nw, sizeof *gw);
        rnn__statal_forward_f64((rnn__statal_mode)mode, T, B, I, H, lens, y, W, sn, cache, x, s0, w);
        snprintf(what, sizeof what, "%s double y", name);
        t_allclose_d(what, y, y_ref, ny, 1e-12, 1e-10);
        snprintf(what, sizeof what, "%s double sn", name);
        t_allclose_d(what, sn, sn_ref, ns, 1e-12, 1e-10);
        rnn__statal_backward_f64((rnn__statal_mode)mode, T, B, I, H, lens, gx, 0, gs0, gw, cache,
                                 scr, x, w, dy, W, dsn, surrogate, NULL);
        if (have) {
            snprintf(what, sizeof what, "%s double %s.x", name, pre);
            t_allclose_d(what, gx, ref[0], nx, 1e-11, 1e-9);
            snprintf(what, sizeof what, "%s double %s.s0", name, pre);
            t_allclose_d(what, gs0, ref[1], ns, 1e-11, 1e-9);
            snprintf(what, sizeof what, "%s double %s.params", name, pre);
            t_allclose_d(what, gw, refw, nw, 1e-11, 1e-9);
        }

        /* float: the engine */
        float *fw = to_f(w, nw), *fx = to_f(x, nx), *fs0 = to_f(s0, ns), *fdy = to_f(dy, ny);
        float *fdsn = to_f(dsn, ns);
        float *fcache = calloc(nc, sizeof *fcache), *fscr = calloc(ns, sizeof *fscr);
        float *fy = calloc(ny, sizeof *fy), *fsn = calloc(ns, sizeof *fsn);
        float *fgx = calloc(nx, sizeof *fgx), *fgs0 = calloc(ns, sizeof *fgs0);
        float *fgw = calloc(nw, sizeof *fgw);
        float *yr = to_f(y_ref, ny), *snr = to_f(sn_ref, ns);
        rnn__statal_forward((rnn__statal_mode)mode, T, B, I, H, lens, fy, W, fsn, fcache, fx, fs0, fw);
        snprintf(what, sizeof what, "%s float y", name);
        t_allclose(what, fy, yr, ny, 1e-5, 1e-4);
        snprintf(what, sizeof what, "%s float sn", name);
        t_allclose(what, fsn, snr, ns, 1e-5, 1e-4);
        rnn__statal_backward((rnn__statal_mode)mode, T, B, I, H, lens, fgx, 0, fgs0, fgw, fcache,
                             fscr, fx, fw, fdy, W, fdsn, surrogate, NULL);
        if (have) {
            float *r0 = to_f(ref[0], nx), *r1 = to_f(ref[1], ns), *rw = to_f(refw, nw);
            snprintf(what, sizeof what, "%s float %s.x", name, pre);
            t_allclose(what, fgx, r0, nx, 1e-5, 1e-4);
            snprintf(what, sizeof what, "%s float %s.s0", name, pre);
            t_allclose(what, fgs0, r1, ns, 1e-5, 1e-4);
            snprintf(what, sizeof what, "%s float %s.params", name, pre);
            t_allclose(what, fgw, rw, nw, 1e-5, 1e-4);
            free(r0);
            free(r1);
            free(rw);
        }
        free(fw); free(fx); free(fs0); free(fdy); free(fdsn); free(fcache); free(fscr);
        free(fy); free(fsn); free(fgx); free(fgs0); free(fgw); free(yr); free(snr);
        free(cache); free(scr); free(y); free(sn); free(gx); free(gs0); free(gw);
        for (int k = 0; k < 5; k++)
            free(ref[k]);
        free(refw);
    }
done:
    free(w); free(wx); free(ws); free(bias); free(x); free(s0); free(y_ref); free(sn_ref);
    free(dy); free(dsn);
    rnn__st_free(&f);
}

static void test_fixture_copy(void) { run_fixture(RNN__STATAL_COPY); }
static void test_fixture_binary(void) { run_fixture(RNN__STATAL_BINARY); }
static void test_fixture_prob(void) { run_fixture(RNN__STATAL_PROB); }
static void test_fixture_multi(void) { run_fixture(RNN__STATAL_MULTI); }

/* ---- finite differences ------------------------------------------------------ */

enum { GT = 5, GB = 3, GI = 4, GH = 3 };

typedef struct problem {
    rnn__statal_mode mode;
    const int32_t *lengths;
    double *w, *x, *s0, *dy, *dsn, *cache;
    int S;
} problem;

static double loss(problem *p)
{
    const int W = GH + p->S;
    double y[GT * GB * (GH + RNN__STATAL_K * GH)], sn[GB * RNN__STATAL_K * GH];
    rnn__statal_forward_f64(p->mode, GT, GB, GI, GH, p->lengths, y, W, sn, p->cache, p->x, p->s0,
                            p->w);
    double L = 0;
    for (int i = 0; i < GT * GB * W; i++)
        L += y[i] * p->dy[i];
    for (int i = 0; i < GB * p->S; i++)
        L += sn[i] * p->dsn[i];
    return L;
}

static void check_fd(problem *p, const char *what, double *v, const double *ana, size_t n)
{
    const double eps = 1e-6;
    double *num = malloc(n * sizeof *num);
    for (size_t i = 0; i < n; i++) {
        double keep = v[i];
        v[i] = keep + eps;
        double lp = loss(p);
        v[i] = keep - eps;
        double lm = loss(p);
        v[i] = keep;
        num[i] = (lp - lm) / (2 * eps);
    }
    t_allclose_d(what, ana, num, n, 1e-7, 1e-6);
    free(num);
}

static void gradcheck(rnn__statal_mode mode, int var)
{
    static const int32_t lens[GB] = {3, 5, 1};
    rnn__rng r;
    rnn__rng_seed(&r, 500 + (uint64_t)mode * 2 + (uint64_t)var);
    problem p = {mode, var ? lens : NULL, 0, 0, 0, 0, 0, 0, rnn__statal_state_width(mode, GH)};
    const int S = p.S, W = GH + S;
    const size_t nw = rnn__statal_param_count(mode, GI, GH);
    const size_t nc = rnn__statal_cache_count(mode, GT, GB, GH);
    p.w = calloc(nw, sizeof(double));
    p.x = calloc(GT * GB * GI, sizeof(double));
    p.s0 = calloc((size_t)GB * S, sizeof(double));
    p.dy = calloc((size_t)GT * GB * W, sizeof(double));
    p.dsn = calloc((size_t)GB * S, sizeof(double));
    p.cache = calloc(nc, sizeof(double));
    for (size_t i = 0; i < nw; i++)
        p.w[i] = rnn__rng_normal(&r) * 0.6;
    for (int i = 0; i < GT * GB * GI; i++)
        p.x[i] = rnn__rng_normal(&r);
    for (int i = 0; i < GB * S; i++) {
        /* states as each mode makes them: >= 0 (copy), 0/1 (binary), [0,1] */
        double u = rnn__rng_double(&r);
        p.s0[i] = mode == RNN__STATAL_BINARY ? (u < 0.5 ? 0.0 : 1.0) : mode == RNN__STATAL_COPY ? 2 * u : u;
        p.dsn[i] = rnn__rng_normal(&r);
    }
    for (int i = 0; i < GT * GB * W; i++)
        p.dy[i] = rnn__rng_normal(&r); /* nonzero on padding too: must be ignored */

    loss(&p);
    /* copy and binary jump where z = 0: finite differences are valid only if
     * no active pre-activation is within a few eps of it */
    double zmin = INFINITY;
    for (int t = 0; t < GT; t++)
        for (int b = 0; b < GB; b++)
            for (int j = 0; j < GH; j++)
                if (!var || t < lens[b])
                    zmin = fmin(zmin, fabs(p.cache[((size_t)t * GB + b) * GH + j]));
    CHECK_MSG(zmin > 1e-3, "a pre-activation is %g from the switch: pick another seed", zmin);

    double *dw = calloc(nw, sizeof(double)), dx[GT * GB * GI], ds0[GB * RNN__STATAL_K * GH];
    double scratch[GB * RNN__STATAL_K * GH];
    for (size_t i = 0; i < nw; i++)
        dw[i] = 0.5; /* backward accumulates */
    double flow[GT];
    rnn__statal_backward_f64(mode, GT, GB, GI, GH, p.lengths, dx, 0, ds0, dw, p.cache, scratch,
                             p.x, p.w, p.dy, W, p.dsn, 0, flow);
    for (size_t i = 0; i < nw; i++)
        dw[i] -= 0.5;
    char what[96];
    const char *m = rnn__statal_mode_name(mode), *v = var ? "var" : "eq";
    snprintf(what, sizeof what, "%s %s: parameters", m, v);
    check_fd(&p, what, p.w, dw, nw);
    snprintf(what, sizeof what, "%s %s: input", m, v);
    check_fd(&p, what, p.x, dx, GT * GB * GI);
    snprintf(what, sizeof what, "%s %s: s0", m, v);
    check_fd(&p, what, p.s0, ds0, (size_t)GB * S);
    for (int t = 0; t < GT; t++)
        CHECK(isfinite(flow[t]) && flow[t] > 0);

    /* accumulate_dx adds to dx */
    double dx2[GT * GB * GI], dwtmp[512];
    CHECK(nw <= 512);
    for (int i = 0; i < GT * GB * GI; i++)
        dx2[i] = 1.0;
    loss(&p);
    rnn__statal_backward_f64(mode, GT, GB, GI, GH, p.lengths, dx2, 1, NULL, dwtmp, p.cache,
                             scratch, p.x, p.w, p.dy, W, p.dsn, 0, NULL);
    for (int i = 0; i < GT * GB * GI; i++)
        CHECK_NEAR(dx2[i], dx[i] + 1.0, 1e-12);

    if (var) { /* padded outputs are zero */
        double y[GT * GB * (GH + RNN__STATAL_K * GH)];
        rnn__statal_forward_f64(mode, GT, GB, GI, GH, p.lengths, y, W, NULL, p.cache, p.x, p.s0, p.w);
        for (int t = 0; t < GT; t++)
            for (int b = 0; b < GB; b++)
                for (int j = 0; j < W && t >= lens[b]; j++)
                    CHECK(y[((size_t)t * GB + b) * W + j] == 0.0);
    }
    free(p.w); free(p.x); free(p.s0); free(p.dy); free(p.dsn); free(p.cache); free(dw);
}

#define GC(mode, var) \
    static void test_gradcheck_##mode##_##var(void) { gradcheck(RNN__STATAL_##mode, var); }
GC(COPY, 0) GC(COPY, 1) GC(BINARY, 0) GC(BINARY, 1)
GC(PROB, 0) GC(PROB, 1) GC(MULTI, 0) GC(MULTI, 1)

/* ---- what the state means ----------------------------------------------------- */

/* One neuron reading one input: z_t = x_t (W_x = 1, W_s = 0, b = 0). */
static void one_neuron(rnn__statal_mode mode, const double *x, int T, double *a, double *s)
{
    const int S = rnn__statal_state_width(mode, 1), W = 1 + S;
    double w[1 + RNN__STATAL_K + 1] = {0}, y[64 * (1 + RNN__STATAL_K)], cache[64 * 8];
    w[0] = 1;
    rnn__statal_forward_f64(mode, T, 1, 1, 1, NULL, y, W, NULL, cache, x, NULL, w);
    for (int t = 0; t < T; t++) {
        a[t] = y[t * W];
        for (int k = 0; k < S; k++)
            s[t * S + k] = y[t * W + 1 + k];
    }
}

static void test_meaning_copy(void)
{
    const double x[] = {-1, 0.5, -1, -2, 0.7, -0.1};
    const double want[] = {0, 0.5, 0.5, 0.5, 0.7, 0.7}; /* the last activation while active */
    double a[6], s[6];
    one_neuron(RNN__STATAL_COPY, x, 6, a, s);
    for (int t = 0; t < 6; t++) {
        CHECK_NEAR(s[t], want[t], 0);
        CHECK_NEAR(a[t], x[t] > 0 ? x[t] : 0, 0);
    }
}

static void test_meaning_binary(void)
{
    const double x[] = {-1, -0.5, 0.3, -1, -2};
    const double want[] = {0, 0, 1, 1, 1}; /* fired once: 1 forever */
    double a[5], s[5];
    one_neuron(RNN__STATAL_BINARY, x, 5, a, s);
    for (int t = 0; t < 5; t++)
        CHECK_NEAR(s[t], want[t], 0);
}

static void test_meaning_prob(void)
{
    const double x[] = {-2, 0.5, -1, 1.5};
    double a[4], s[4], none = 1;
    one_neuron(RNN__STATAL_PROB, x, 4, a, s);
    for (int t = 0; t < 4; t++) { /* P(seen by t) = 1 - prod (1 - a) */
        none *= 1 - 1 / (1 + exp(-x[t]));
        CHECK_NEAR(a[t], 1 / (1 + exp(-x[t])), 1e-15);
        CHECK_NEAR(s[t], 1 - none, 1e-15);
    }
}

static void test_meaning_multi(void)
{
    /* seen once, strongly, at t = 2; silent before and after: s^k_t =
     * lambda_k^(t-2) afterwards, 0 before; s^0 is prob's state */
    enum { N = 12 };
    double x[N], a[N], s[N * RNN__STATAL_K], ap[N], sp[N];
    for (int t = 0; t < N; t++)
        x[t] = t == 2 ? 40 : -40;
    one_neuron(RNN__STATAL_MULTI, x, N, a, s);
    one_neuron(RNN__STATAL_PROB, x, N, ap, sp);
    for (int t = 0; t < N; t++)
        for (int k = 0; k < RNN__STATAL_K; k++) {
            double want = t < 2 ? 0 : pow(rnn__statal_decay[k], t - 2);
            CHECK_NEAR(s[t * RNN__STATAL_K + k], want, 1e-12);
        }
    for (int t = 0; t < N; t++)
        CHECK_NEAR(s[t * RNN__STATAL_K], sp[t], 1e-15);
    /* the time since the event can be read back from two states */
    const double since = log(s[(N - 1) * RNN__STATAL_K + 2]) / log(rnn__statal_decay[2]);
    CHECK_NEAR(since, N - 1 - 2, 1e-6);
}

/* ---- the model ------------------------------------------------------------------ */

static double model_loss(rnn__statal_model *m, const float *x, const int32_t *lens, int T, int B,
                         const float *r, size_t nout)
{
    float out[512];
    CHECK_OK(rnn__statal_model_forward(m, out, x, lens, T, B, 0));
    double L = 0;
    for (size_t i = 0; i < nout; i++)
        L += (double)out[i] * r[i];
    return L;
}

/* The model's backward (two stacked layers, a readout, the head) against
 * float finite differences on every parameter. prob: smooth everywhere. */
static void model_fd(int per_step)
{
    enum { T = 6, B = 3, I = 3, O = 2 };
    const int32_t lens[B] = {6, 2, 4};
    rnn__statal_config c = {RNN__STATAL_PROB, I, 4, 2, O, per_step};
    rnn__statal_model *m;
    CHECK_OK(rnn__statal_model_new(&m, &c, 7, NULL));
    rnn__rng r;
    rnn__rng_seed(&r, 11);
    float x[T * B * I], rr[T * B * O], dout[T * B * O];
    for (int i = 0; i < T * B * I; i++)
        x[i] = (float)rnn__rng_normal(&r);
    const size_t nout = per_step ? (size_t)T * B * O : (size_t)B * O;
    for (size_t i = 0; i < nout; i++)
        rr[i] = dout[i] = (float)rnn__rng_normal(&r);
    if (per_step) /* padding outputs are not outputs: no gradient from them */
        for (int t = 0; t < T; t++)
            for (int b = 0; b < B; b++)
                for (int o = 0; o < O && t >= lens[b]; o++)
                    rr[(t * B + b) * O + o] = dout[(t * B + b) * O + o] = 0;
    float out[512];
    memset(m->grads, 0, m->nparams * sizeof(float));
    CHECK_OK(rnn__statal_model_forward(m, out, x, lens, T, B, 1));
    CHECK_OK(rnn__statal_model_backward(m, dout));
    size_t bad = 0, worst = 0;
    double worst_err = 0;
    for (size_t i = 0; i < m->nparams; i++) {
        const float keep = m->params[i], eps = 1e-2f;
        m->params[i] = keep + eps;
        double lp = model_loss(m, x, lens, T, B, rr, nout);
        m->params[i] = keep - eps;
        double lm = model_loss(m, x, lens, T, B, rr, nout);
        m->params[i] = keep;
        double num = (lp - lm) / (2.0 * eps), err = fabs(num - m->grads[i]);
        if (err > 2e-3 + 2e-2 * fabs(num))
            bad++;
        if (err > worst_err) {
            worst_err = err;
            worst = i;
        }
    }
    CHECK_MSG(bad == 0, "%zu of %zu gradients differ from finite differences; worst [%zu] off by %g",
              bad, m->nparams, worst, worst_err);
    rnn__statal_model_free(m);
}

static void test_model_fd_last(void) { model_fd(0); }
static void test_model_fd_steps(void) { model_fd(1); }

static void test_model_checkpoint(void)
{
    rnn__statal_config c = {RNN__STATAL_MULTI, 3, 5, 2, 4, 0};
    rnn__statal_model *m, *back;
    CHECK_OK(rnn__statal_model_new(&m, &c, 3, NULL));
    CHECK(m->ntensors == 8);
    CHECK(strcmp(m->tensors[1].name, "statal.weight_s_l0") == 0);
    CHECK(m->tensors[1].shape[0] == 5 && m->tensors[1].shape[1] == 5 * RNN__STATAL_K);
    CHECK(m->tensors[3].shape[1] == 5 + 5 * RNN__STATAL_K); /* layer 1 reads [a, s] */
    char path[512];
    snprintf(path, sizeof path, "%s/statal_ckpt.safetensors", t_tmpdir());
    const char *k[] = {"note"}, *v[] = {"hello"};
    CHECK_OK(rnn__statal_model_save(m, path, NULL, 0, k, v, 1, NULL));
    rnn_error e;
    CHECK_OK(rnn__statal_model_load(&back, path, &e));
    if (back) {
        CHECK(memcmp(&back->cfg, &m->cfg, sizeof c) == 0);
        CHECK(back->nparams == m->nparams);
        CHECK(memcmp(back->params, m->params, m->nparams * sizeof(float)) == 0);
        rnn__statal_model_free(back);
    }
    /* an rnn_model checkpoint is not a Statal one */
    rnn_model_config mc = {0, 0, 3, RNN_CELL_GRU, 4, 1, 0, 0, 2, RNN_READOUT_LAST, 0, 0, 0, 0, 0};
    rnn_model *rm;
    CHECK_OK(rnn_model_new(&rm, &mc, 1, NULL));
    CHECK_OK(rnn_model_save(rm, path, NULL, NULL, 0));
    rnn_model_free(rm);
    CHECK(rnn__statal_model_load(&back, path, &e) == RNN_EFORMAT);
    CHECK_MSG(strstr(e.msg, "not a Statal checkpoint") != NULL, "message: %s", e.msg);
    rnn__statal_model_free(m);
}

/* "Was symbol 0 seen?": half of the sequences hold it once, anywhere; the
 * others hold only symbols 1..3. A memoryless guess costs ln 2. */
enum { SEEN_N = 512, SEEN_T = 24, SEEN_V = 4 };

static void seen_data(float *x, int32_t *labels, int n, uint64_t seed)
{
    rnn__rng r;
    rnn__rng_seed(&r, seed);
    memset(x, 0, sizeof(float) * (size_t)n * SEEN_T * SEEN_V);
    for (int i = 0; i < n; i++) {
        labels[i] = (int32_t)rnn__rng_below(&r, 2);
        const int at = (int)rnn__rng_below(&r, SEEN_T);
        for (int t = 0; t < SEEN_T; t++) {
            int v = labels[i] && t == at ? 0 : 1 + (int)rnn__rng_below(&r, SEEN_V - 1);
            x[((size_t)i * SEEN_T + t) * SEEN_V + v] = 1;
        }
    }
}

static void test_trainer_learns_and_resumes(void)
{
    static float x[SEEN_N * SEEN_T * SEEN_V], vx[128 * SEEN_T * SEEN_V];
    static int32_t lab[SEEN_N], vlab[128];
    seen_data(x, lab, SEEN_N, 1);
    seen_data(vx, vlab, 128, 2);
    rnn_dataset train = {SEEN_N, SEEN_T, NULL, NULL, x, NULL, lab, NULL};
    rnn_dataset val = {128, SEEN_T, NULL, NULL, vx, NULL, vlab, NULL};
    rnn_train_options o = {0};
    o.batch = 32;
    o.lr = 2e-2;
    o.clip_norm = 5;
    o.seed = 4;
    rnn_optim_defaults(&o.optim, RNN_OPT_ADAM);
    rnn__statal_config c = {RNN__STATAL_PROB, SEEN_V, 8, 1, 2, 0};
    rnn__statal_model *m;
    CHECK_OK(rnn__statal_model_new(&m, &c, 5, NULL));
    rnn_trainer *t;
    rnn_error e;
    CHECK_OK(rnn__statal_trainer_new(&t, m, &o, RNN_LOSS_XENT, &train, &val, &e));
    if (!t) {
        rnn__statal_model_free(m);
        return;
    }
    double before;
    CHECK_OK(rnn_trainer_evaluate(t, &before));
    for (int s = 0; s < 300; s++)
        CHECK_OK(rnn_trainer_step(t, NULL));
    double after;
    CHECK_OK(rnn_trainer_evaluate(t, &after));
    CHECK_MSG(after < 0.1 * log(2.0), "validation loss %.4f after 300 steps (from %.4f); chance "
              "is %.4f", after, before, log(2.0));
    float out[128 * 2];
    CHECK_OK(rnn__statal_predict(m, out, &val, 50, NULL));
    int right = 0;
    for (int i = 0; i < 128; i++)
        right += (out[2 * i + 1] > out[2 * i]) == (vlab[i] == 1);
    CHECK_MSG(right >= 124, "validation accuracy %d/128", right);

    /* save, run 7 more steps; restore into a fresh trainer and run the same
     * 7: bitwise the same parameters */
    char path[512];
    snprintf(path, sizeof path, "%s/statal_train.safetensors", t_tmpdir());
    CHECK_OK(rnn_trainer_save(t, path, NULL, NULL, 0));
    for (int s = 0; s < 7; s++)
        CHECK_OK(rnn_trainer_step(t, NULL));
    float *p1 = malloc(m->nparams * sizeof *p1);
    memcpy(p1, m->params, m->nparams * sizeof *p1);
    rnn__statal_model *m2;
    CHECK_OK(rnn__statal_model_new(&m2, &c, 99, NULL));
    rnn_trainer *t2;
    CHECK_OK(rnn__statal_trainer_new(&t2, m2, &o, RNN_LOSS_XENT, &train, &val, &e));
    CHECK_OK(rnn_trainer_restore(t2, path));
    for (int s = 0; s < 7; s++)
        CHECK_OK(rnn_trainer_step(t2, NULL));
    CHECK(memcmp(p1, m2->params, m->nparams * sizeof *p1) == 0);
    rnn_train_stats a, b;
    rnn_trainer_stats(t, &a);
    rnn_trainer_stats(t2, &b);
    CHECK(a.step == b.step && a.step == 307);

    /* another configuration refuses the checkpoint */
    rnn__statal_config c3 = c;
    c3.mode = RNN__STATAL_MULTI;
    rnn__statal_model *m3;
    rnn_trainer *t3;
    CHECK_OK(rnn__statal_model_new(&m3, &c3, 1, NULL));
    CHECK_OK(rnn__statal_trainer_new(&t3, m3, &o, RNN_LOSS_XENT, &train, &val, &e));
    CHECK(rnn_trainer_restore(t3, path) == RNN_EINVAL);
    CHECK_MSG(strstr(rnn_trainer_errmsg(t3), "differs") != NULL, "%s", rnn_trainer_errmsg(t3));
    rnn_trainer_free(t3);
    rnn__statal_model_free(m3);
    free(p1);
    rnn_trainer_free(t2);
    rnn__statal_model_free(m2);
    rnn_trainer_free(t);
    rnn__statal_model_free(m);
}

static void test_mode_names(void)
{
    for (int k = 0; k < 4; k++)
        CHECK(rnn__statal_mode_from_name(MODES[k]) == k);
    CHECK(rnn__statal_mode_from_name("ternary") == -1);
    CHECK(rnn__statal_mode_from_name(NULL) == -1);
    CHECK(rnn__statal_state_width(RNN__STATAL_MULTI, 7) == 7 * RNN__STATAL_K);
    CHECK(rnn__statal_out_width(RNN__STATAL_COPY, 7) == 14);
    CHECK(rnn__statal_param_count(RNN__STATAL_PROB, 3, 4) == 4 * (3 + 4 + 1));
    CHECK(rnn__statal_param_count(RNN__STATAL_PROB, 3, 1 << 30) == 0); /* too large */
}

void suite_statal(void);
void suite_statal(void)
{
    RUN(test_mode_names);
    RUN(test_fixture_copy);
    RUN(test_fixture_binary);
    RUN(test_fixture_prob);
    RUN(test_fixture_multi);
    RUN(test_gradcheck_COPY_0);
    RUN(test_gradcheck_COPY_1);
    RUN(test_gradcheck_BINARY_0);
    RUN(test_gradcheck_BINARY_1);
    RUN(test_gradcheck_PROB_0);
    RUN(test_gradcheck_PROB_1);
    RUN(test_gradcheck_MULTI_0);
    RUN(test_gradcheck_MULTI_1);
    RUN(test_meaning_copy);
    RUN(test_meaning_binary);
    RUN(test_meaning_prob);
    RUN(test_meaning_multi);
    RUN(test_model_fd_last);
    RUN(test_model_fd_steps);
    RUN(test_model_checkpoint);
    RUN(test_trainer_learns_and_resumes);
}
