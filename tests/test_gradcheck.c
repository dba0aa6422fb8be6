/*
 * test_gradcheck.c -- central finite differences in double precision on
 * every parameter, the input and the initial states of every cell type,
 * both directions, with and without variable lengths. Independent of
 * PyTorch: checks the backward against the forward of the same code.
 *
 * Loss: L = sum(y * dy) + sum(hn * dhn) + sum(cn * dcn) with random dy,
 * dhn, dcn, so that backward(dy, dhn, dcn) must return dL/d(everything).
 */
#include "test.h"

#include "layers/layers.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { T = 5, B = 3, I = 4, H = 3 };

typedef struct problem {
    rnn_cell cell;
    int reverse;
    const int32_t *lengths;
    double *w, *x, *h0, *c0, *dy, *dhn, *dcn;
    double *cache, *scratch;
    size_t nw;
} problem;

static double randn(rnn__rng *r) { return rnn__rng_normal(r) * 0.6; }

static double loss(problem *p)
{
    double y[T * B * H], hn[B * H], cn[B * H];
    rnn__rec_forward_f64(p->cell, T, B, I, H, p->reverse, p->lengths, y, H, hn, cn,
                         p->cache, p->scratch, p->x, NULL, 0, p->h0, p->c0, p->w, NULL, 1);
    double L = 0;
    for (int i = 0; i < T * B * H; i++)
        L += y[i] * p->dy[i];
    for (int i = 0; i < B * H; i++)
        L += hn[i] * p->dhn[i] + (p->cell == RNN_CELL_LSTM ? cn[i] * p->dcn[i] : 0);
    return L;
}

/* Compares the analytic gradient with (L(v+e) - L(v-e)) / 2e for every
 * element of v. */
static int check(problem *p, const char *what, double *v, const double *ana,
                 size_t n)
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
    int ok = t_allclose_d(what, ana, num, n, 1e-7, 1e-6);
    free(num);
    return ok;
}

static void run_case(rnn_cell cell, int reverse, int var)
{
    static const int32_t lens[B] = {3, 5, 1};
    rnn__rng r;
    rnn__rng_seed(&r, 100 + cell * 4 + reverse * 2 + var);
    problem p = {cell, reverse, var ? lens : NULL, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    p.nw = rnn__rec_param_count(cell, I, H);
    size_t nc = rnn__rec_cache_count(cell, T, B, H),
           ns = rnn__rec_scratch_count(cell, B, H) + rnn__rec_partial_count(cell, B, I, H);
    p.w = calloc(p.nw, sizeof(double));
    p.x = calloc(T * B * I, sizeof(double));
    p.h0 = calloc(B * H, sizeof(double));
    p.c0 = calloc(B * H, sizeof(double));
    p.dy = calloc(T * B * H, sizeof(double));
    p.dhn = calloc(B * H, sizeof(double));
    p.dcn = calloc(B * H, sizeof(double));
    p.cache = calloc(nc, sizeof(double));
    p.scratch = calloc(ns, sizeof(double));
    for (size_t i = 0; i < p.nw; i++)
        p.w[i] = randn(&r);
    for (int i = 0; i < T * B * I; i++)
        p.x[i] = randn(&r);
    for (int i = 0; i < B * H; i++) {
        p.h0[i] = randn(&r);
        p.c0[i] = randn(&r);
        p.dhn[i] = randn(&r);
        p.dcn[i] = randn(&r);
    }
    for (int i = 0; i < T * B * H; i++)
        p.dy[i] = randn(&r); /* nonzero on padded steps too: must be ignored */

    double *dw = calloc(p.nw, sizeof(double)), dx[T * B * I], dh0[B * H], dc0[B * H];
    double *dw_before = calloc(p.nw, sizeof(double));
    /* backward accumulates: start from a known nonzero gradient */
    for (size_t i = 0; i < p.nw; i++)
        dw[i] = dw_before[i] = 0.5;
    loss(&p);
    rnn__rec_backward_f64(cell, T, B, I, H, reverse, p.lengths, dx, 0, dh0, dc0, dw,
                          p.cache, p.scratch, p.x, NULL, 0, p.w, p.dy, H, p.dhn, p.dcn, NULL, NULL, 1);
    for (size_t i = 0; i < p.nw; i++)
        dw[i] -= dw_before[i];

    char what[96];
    const char *name = rnn_cell_name(cell);
    const char *dir = reverse ? "reverse" : "forward", *len = var ? "var" : "eq";
    snprintf(what, sizeof what, "%s %s %s: parameters", name, dir, len);
    check(&p, what, p.w, dw, p.nw);
    snprintf(what, sizeof what, "%s %s %s: input", name, dir, len);
    check(&p, what, p.x, dx, T * B * I);
    snprintf(what, sizeof what, "%s %s %s: h0", name, dir, len);
    check(&p, what, p.h0, dh0, B * H);
    if (cell == RNN_CELL_LSTM) {
        snprintf(what, sizeof what, "%s %s %s: c0", name, dir, len);
        check(&p, what, p.c0, dc0, B * H);
    }

    /* with lengths: padded outputs are exactly zero */
    if (var) {
        double y[T * B * H], hn[B * H];
        rnn__rec_forward_f64(cell, T, B, I, H, reverse, p.lengths, y, H, hn, NULL,
                             p.cache, p.scratch, p.x, NULL, 0, p.h0, p.c0, p.w, NULL, 1);
        for (int t = 0; t < T; t++)
            for (int b = 0; b < B; b++)
                if (t >= lens[b])
                    for (int j = 0; j < H; j++)
                        CHECK(y[(t * B + b) * H + j] == 0.0);
    }
    free(p.w); free(p.x); free(p.h0); free(p.c0); free(p.dy); free(p.dhn);
    free(p.dcn); free(p.cache); free(p.scratch); free(dw); free(dw_before);
}

#define CASE(cell, rev, var)                                    \
    static void test_grad_##cell##_##rev##_##var(void)          \
    {                                                           \
        run_case(cell, rev, var);                               \
    }
#define CASES(cell) CASE(cell, 0, 0) CASE(cell, 1, 0) CASE(cell, 0, 1) CASE(cell, 1, 1)
CASES(RNN_CELL_RNN_TANH)
CASES(RNN_CELL_RNN_RELU)
CASES(RNN_CELL_LSTM)
CASES(RNN_CELL_GRU)

void suite_gradcheck(void);
void suite_gradcheck(void)
{
#define RUNS(cell)                     \
    RUN(test_grad_##cell##_0_0);       \
    RUN(test_grad_##cell##_1_0);       \
    RUN(test_grad_##cell##_0_1);       \
    RUN(test_grad_##cell##_1_1);
    RUNS(RNN_CELL_RNN_TANH)
    RUNS(RNN_CELL_RNN_RELU)
    RUNS(RNN_CELL_LSTM)
    RUNS(RNN_CELL_GRU)
}
