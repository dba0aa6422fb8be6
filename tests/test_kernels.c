/*
 * test_kernels.c -- every set of pointwise kernels this CPU can run
 * (portable, AVX2, AVX-512) against the portable one on the same inputs,
 * for every cell, forward and backward, including sizes that are not a
 * multiple of the vector width and extreme pre-activations.
 */
#include "test.h"

#include "io/io.h"
#include "layers/kernels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void fill(float *a, int n, rnn__rng *r, float scale)
{
    for (int i = 0; i < n; i++)
        a[i] = (float)rnn__rng_normal(r) * scale;
}

static void compare(const rnn__kernels *k, const rnn__kernels *p, int H)
{
    rnn__rng r;
    rnn__rng_seed(&r, (uint64_t)H);
    enum { MAXH = 300 };
    float g0[4 * MAXH], g1[4 * MAXH], h0[MAXH], h1[MAXH], c0[MAXH], c1[MAXH], cp[MAXH];
    float dh0[MAXH], dh1[MAXH], dc0[MAXH], dc1[MAXH], hnp0[MAXH], hnp1[MAXH], hh[3 * MAXH];
    float bn[MAXH], hp[MAXH];
    char what[96];
    /* scale 4: pre-activations well into the saturated range too */
    fill(g0, 4 * H, &r, 4.0f);
    g0[0] = 60.0f; /* extremes */
    g0[1] = -60.0f;
    fill(cp, H, &r, 1.0f);
    fill(hh, 3 * H, &r, 1.0f);
    fill(bn, H, &r, 0.5f);
    fill(hp, H, &r, 0.8f);

    memcpy(g1, g0, sizeof g0);
    p->lstm_fwd_row(H, g0, h0, c0, cp);
    k->lstm_fwd_row(H, g1, h1, c1, cp);
    snprintf(what, sizeof what, "%s lstm fwd H=%d h", k->name, H);
    t_allclose(what, h1, h0, (size_t)H, 1e-6, 1e-5);
    t_allclose(what, c1, c0, (size_t)H, 1e-6, 1e-5);
    t_allclose(what, g1, g0, (size_t)4 * H, 1e-6, 1e-5);
    fill(dh0, H, &r, 1.0f);
    fill(dc0, H, &r, 1.0f);
    memcpy(dh1, dh0, sizeof dh0);
    memcpy(dc1, dc0, sizeof dc0);
    p->lstm_bwd_row(H, g0, dh0, dc0, c0, cp);
    k->lstm_bwd_row(H, g1, dh1, dc1, c1, cp);
    snprintf(what, sizeof what, "%s lstm bwd H=%d", k->name, H);
    t_allclose(what, g1, g0, (size_t)4 * H, 1e-6, 1e-5);
    t_allclose(what, dc1, dc0, (size_t)H, 1e-6, 1e-5);

    fill(g0, 3 * H, &r, 3.0f);
    memcpy(g1, g0, sizeof g0);
    p->gru_fwd_row(H, g0, hnp0, h0, hh, bn, hp);
    k->gru_fwd_row(H, g1, hnp1, h1, hh, bn, hp);
    snprintf(what, sizeof what, "%s gru fwd H=%d", k->name, H);
    t_allclose(what, h1, h0, (size_t)H, 1e-6, 1e-5);
    fill(dh0, H, &r, 1.0f);
    memcpy(dh1, dh0, sizeof dh0);
    p->gru_bwd_row(H, g0, hnp0, dh0, hp);
    k->gru_bwd_row(H, g1, hnp1, dh1, hp);
    snprintf(what, sizeof what, "%s gru bwd H=%d", k->name, H);
    t_allclose(what, g1, g0, (size_t)3 * H, 1e-6, 1e-5);
    t_allclose(what, hnp1, hnp0, (size_t)H, 1e-6, 1e-5);
    t_allclose(what, dh1, dh0, (size_t)H, 1e-6, 1e-5);

    for (int relu = 0; relu < 2; relu++) {
        fill(g0, H, &r, 2.0f);
        memcpy(g1, g0, sizeof g0);
        p->rnn_fwd_row(H, relu, g0, h0);
        k->rnn_fwd_row(H, relu, g1, h1);
        snprintf(what, sizeof what, "%s rnn relu=%d fwd H=%d", k->name, relu, H);
        t_allclose(what, h1, h0, (size_t)H, 1e-6, 1e-5);
        fill(dh0, H, &r, 1.0f);
        memcpy(dh1, dh0, sizeof dh0);
        p->rnn_bwd_row(H, relu, g0, dh0, h0);
        k->rnn_bwd_row(H, relu, g1, dh1, h1);
        t_allclose(what, g1, g0, (size_t)H, 1e-6, 1e-5);
    }

    fill(g0, H, &r, 5.0f);
    memcpy(g1, g0, sizeof g0);
    double l0 = p->xent_row(g0, g0, H, H / 2, 0.25f), l1 = k->xent_row(g1, g1, H, H / 2, 0.25f);
    CHECK_NEAR(l1, l0, 1e-5 * (1 + fabs(l0)));
    snprintf(what, sizeof what, "%s xent H=%d", k->name, H);
    t_allclose(what, g1, g0, (size_t)H, 1e-7, 1e-5);
}

/* The recurrent layer's element loops: the same additions in the same order
 * on every instruction set, so bitwise equal to a plain loop. */
static void compare_sums(const rnn__kernels *k, int n)
{
    rnn__rng r;
    rnn__rng_seed(&r, 100 + (uint64_t)n);
    enum { MAXN = 300, ROWS = 5, LD = MAXN + 3 };
    float a[ROWS * LD], y[MAXN], x[MAXN], b1[MAXN], b2[MAXN], g[ROWS * LD], ref[ROWS * LD];
    float o1[MAXN], o2[MAXN], r1[MAXN], r2[MAXN];
    fill(a, ROWS * LD, &r, 1.0f);
    fill(y, n, &r, 1.0f);
    fill(x, n, &r, 1.0f);
    fill(b1, n, &r, 1.0f);
    fill(b2, n, &r, 1.0f);
    memcpy(ref, y, sizeof(float) * (size_t)n);
    for (int j = 0; j < n; j++)
        ref[j] += x[j];
    k->add_row(n, y, x);
    CHECK(memcmp(y, ref, sizeof(float) * (size_t)n) == 0);

    const int nb = n / 3 * 2; /* GRU: the n block gets b1 only */
    memcpy(g, a, sizeof g);
    memcpy(ref, a, sizeof ref);
    for (int i = 0; i < ROWS; i++)
        for (int j = 0; j < n; j++)
            ref[i * LD + j] += j < nb ? b1[j] + b2[j] : b1[j];
    k->bias_rows(ROWS, LD, n, nb, g, b1, b2);
    CHECK(memcmp(g, ref, sizeof g) == 0); /* the columns past n untouched too */

    fill(o1, n, &r, 1.0f);
    fill(o2, n, &r, 1.0f);
    memcpy(r1, o1, sizeof(float) * (size_t)n);
    memcpy(r2, o2, sizeof(float) * (size_t)n);
    for (int i = 0; i < ROWS; i++)
        for (int j = 0; j < n; j++) {
            r1[j] += a[i * LD + j];
            r2[j] += a[i * LD + j];
        }
    k->colsum_rows(ROWS, n, LD, a, o1, o2);
    CHECK(memcmp(o1, r1, sizeof(float) * (size_t)n) == 0);
    CHECK(memcmp(o2, r2, sizeof(float) * (size_t)n) == 0);
    memcpy(o2, r2, sizeof(float) * (size_t)n);
    k->colsum_rows(ROWS, n, LD, a, o1, NULL);
    for (int i = 0; i < ROWS; i++)
        for (int j = 0; j < n; j++)
            r1[j] += a[i * LD + j];
    CHECK(memcmp(o1, r1, sizeof(float) * (size_t)n) == 0);

    /* tanh_n: within 1e-6 relative of tanh in double, from 0 and near it
     * (the polynomial) to past +-6 (saturating), and NaN stays NaN */
    for (int j = 0; j < n; j++)
        y[j] = j % 11 == 0 ? 1e-4f * (float)(j + 1) : 12.0f * (x[j] - 0.5f);
    y[0] = n > 2 ? 0.0f : y[0];
    if (n > 5)
        y[5] = NAN;
    memcpy(ref, y, sizeof(float) * (size_t)n);
    k->tanh_n((size_t)n, y);
    for (int j = 0; j < n; j++) {
        if (isnan(ref[j])) {
            CHECK_MSG(isnan(y[j]), "%s tanh_n: NaN at %d did not propagate", k->name, j);
            continue;
        }
        double t = tanh((double)ref[j]);
        CHECK_MSG(fabs(y[j] - t) <= 1e-6 * fabs(t) + 1e-30,
                  "%s tanh_n(%g) = %.9g, expected %.9g", k->name, ref[j], y[j], t);
    }
}

/* A NaN pre-activation must come out as NaN (--on-nan relies on it), not be
 * clamped into a finite value by min/max. */
static void nan_propagates(const rnn__kernels *k)
{
    enum { H = 20 };
    float g[4 * H], h[H], c[H], cp[H];
    for (int j = 0; j < 4 * H; j++)
        g[j] = 0.1f * (float)(j % 7) - 0.3f;
    for (int j = 0; j < H; j++)
        cp[j] = 0.5f;
    g[3] = NAN;          /* input gate, unit 3 */
    g[2 * H + 17] = NAN; /* cell candidate, unit 17 (the masked tail on AVX-512) */
    cp[9] = NAN;         /* previous cell state, unit 9 */
    k->lstm_fwd_row(H, g, h, c, cp);
    CHECK_MSG(isnan(h[3]) && isnan(c[3]) && isnan(h[17]) && isnan(c[17]) && isnan(h[9]),
              "%s lstm_fwd_row: a NaN did not propagate", k->name);
    CHECK(!isnan(h[0]) && !isnan(h[10]) && !isnan(c[19]));
}

static void test_fast_kernels_match_portable(void)
{
    const rnn__kernels *p = rnn__kernels_by_name("portable");
    const char *names[] = {"portable", "avx2", "avx512"};
    int ran = 0;
    CHECK(p != NULL);
    for (int i = 0; i < 3; i++) {
        const rnn__kernels *k = rnn__kernels_by_name(names[i]);
        if (!k)
            continue; /* this CPU cannot run it: nothing to compare */
        ran++;
        nan_propagates(k);
        int sizes[] = {1, 3, 7, 8, 15, 16, 17, 31, 33, 64, 100, 257, 300};
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
        {
            compare(k, p, sizes[s]);
            compare_sums(k, sizes[s]);
        }
    }
    CHECK(ran >= 1);
    printf("  kernels compared on this CPU: %d (best: %s)\n", ran, rnn__kernels_get()->name);
}

/* The batch-1 product of every instruction set, on panels of 2, 4 and 8
 * vectors, K a multiple of the phases or not: equal to a double-precision
 * product, and taking the panels in reverse gives the same bits; with
 * half-precision weights, the bits of the product of the widened weights. */
static void test_gemv_panels(void)
{
    const char *names[] = {"portable", "avx2", "avx512"};
    static const int Ks[] = {1, 3, 4, 7, 64, 130};
    int ran = 0;
    for (int i = 0; i < 3; i++) {
        const rnn__kernels *k = rnn__kernels_by_name(names[i]);
        if (!k)
            continue;
        ran++;
        for (int V = 2; V <= 8; V *= 2)
            for (size_t ki = 0; ki < sizeof Ks / sizeof Ks[0]; ki++) {
                const int K = Ks[ki], P = V * k->gemv_width, N = 3 * P;
                float *w = rnn__alloc_floats((size_t)K * N), *x = rnn__alloc_floats((size_t)K);
                float *y1 = rnn__alloc_floats((size_t)N), *y2 = rnn__alloc_floats((size_t)N);
                CHECK(w && x && y1 && y2);
                for (int q = 0; q < K; q++)
                    x[q] = (float)((q * 37 % 11) - 5) * 0.25f;
                /* column n, row q at panel n / P, [q][n % P] */
                for (int n = 0; n < N; n++)
                    for (int q = 0; q < K; q++)
                        w[(size_t)(n / P) * K * P + (size_t)q * P + n % P] =
                            (float)(((n * 7 + q * 13) % 17) - 8) * 0.125f;
                for (int n = 0; n < N; n++)
                    y1[n] = y2[n] = (float)n; /* the product is added */
                k->gemv(y1, x, w, K, N, V, 0, NULL);
                k->gemv(y2, x, w, K, N, V, 1, NULL);
                CHECK_MSG(memcmp(y1, y2, sizeof(float) * (size_t)N) == 0,
                          "%s gemv V=%d K=%d: reversed panels differ", k->name, V, K);
                /* given b, y = b + x.W whatever y held: the bits of y = b, y += x.W */
                float *b = rnn__alloc_floats((size_t)N);
                CHECK(b != NULL);
                for (int n = 0; n < N; n++) {
                    b[n] = (float)n;
                    y2[n] = NAN;
                }
                k->gemv(y2, x, w, K, N, V, 1, b);
                CHECK_MSG(memcmp(y1, y2, sizeof(float) * (size_t)N) == 0,
                          "%s gemv V=%d K=%d: with a bias row, not the bits of bias + product", k->name, V, K);
                for (int n = 0; n < N; n++) {
                    double ref = n;
                    for (int q = 0; q < K; q++)
                        ref += (double)x[q] * w[(size_t)(n / P) * K * P + (size_t)q * P + n % P];
                    CHECK_MSG(fabs(y1[n] - ref) <= 1e-5 * (1 + fabs(ref)),
                              "%s gemv V=%d K=%d column %d: %g, expected %g", k->name, V, K, n,
                              (double)y1[n], ref);
                }
                /* half-precision weights (normals, subnormals, both signs):
                 * the same bits as the float product of the widened weights */
                uint16_t *h = (uint16_t *)rnn__alloc_floats(((size_t)K * N + 1) / 2);
                CHECK(h != NULL);
                for (int fmt = RNN__GEMV_F16; fmt <= RNN__GEMV_BF16; fmt++) {
                    for (int n = 0; n < N; n++)
                        for (int q = 0; q < K; q++) {
                            const size_t at = (size_t)(n / P) * K * P + (size_t)q * P;
                            float v = (float)sin(n * 0.37 + q * 1.91) * ((n + q) % 5 == 0 ? 1e-6f : 1.5f);
                            uint16_t hv = fmt == RNN__GEMV_F16 ? rnn__float_to_half(v) : rnn__float_to_bf16(v);
                            h[at + rnn__gemv_half_col(fmt, k->gemv_width, n % P)] = hv;
                            w[at + n % P] = fmt == RNN__GEMV_F16 ? rnn__half_to_float(hv) : rnn__bf16_to_float(hv);
                        }
                    for (int n = 0; n < N; n++) {
                        y1[n] = (float)n;
                        y2[n] = NAN;
                    }
                    k->gemv(y1, x, w, K, N, V, 0, NULL);
                    k->gemv_half(y2, x, h, K, N, V, fmt == RNN__GEMV_F16, fmt, b); /* b[n] = n */
                    CHECK_MSG(memcmp(y1, y2, sizeof(float) * (size_t)N) == 0,
                              "%s gemv_half %s V=%d K=%d: not the product of the widened weights", k->name,
                              fmt == RNN__GEMV_F16 ? "f16" : "bf16", V, K);
                }
                rnn__free_floats((float *)h);
                rnn__free_floats(b);
                rnn__free_floats(w);
                rnn__free_floats(x);
                rnn__free_floats(y1);
                rnn__free_floats(y2);
            }
    }
    CHECK(ran >= 1);
}

void suite_kernels(void);
void suite_kernels(void)
{
    RUN(test_fast_kernels_match_portable);
    RUN(test_gemv_panels);
}
