/*
 * kernels_isa.c -- the float pointwise kernels. The Makefile compiles this
 * file once per instruction set with RNN_ISA set to portable, avx2 or
 * avx512 and the matching -m flags, plus -O3 -fno-trapping-math
 * -fno-math-errno (which let the compiler if-convert the branch-free
 * activations and vectorize the loops, sqrtf included; results are the same
 * IEEE arithmetic). kernels.c picks one.
 */
#include "layers/kernels.h"

#include <math.h>
#include <string.h>

#ifndef RNN_ISA
#define RNN_ISA portable
#endif
#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define STR_(a) #a
#define STR(a) STR_(a)

#define REAL float
#define KFN(name) CAT(name##_, RNN_ISA)
#define SIGM(x) rnn__sigmoidf(x)
#define TANH(x) rnn__tanhf(x)
#include "layers/gates_impl.h"

static double KFN(xent_row)(float *d, const float *z, int V, int t, float scale)
{
    float mx = z[0];
    for (int v = 1; v < V; v++)
        mx = z[v] > mx ? z[v] : mx;
    const float zt = z[t];
    float sum = 0; /* float partial sums vectorize; V is at most a few 10^4 */
    if (d) {
        for (int v = 0; v < V; v++) {
            d[v] = rnn__expf(z[v] - mx); /* z[v] is read before d[v] is written */
            sum += d[v];
        }
        const float k = scale / sum;
        for (int v = 0; v < V; v++)
            d[v] *= k;
        d[t] -= scale;
    } else {
        for (int v = 0; v < V; v++)
            sum += rnn__expf(z[v] - mx);
    }
    return log((double)sum) + mx - zt;
}

/* ---- optimizer updates: torch.optim's float32 arithmetic, operation by
 * operation (see optim.c); fmaf where torch fuses, separate roundings
 * elsewhere. -std=c11 keeps GCC from contracting anything else. */

static void KFN(sgd)(float *p, const float *g, float *buf, size_t n, const rnn__opt_args *a)
{
    for (size_t i = 0; i < n; i++) {
        float d = g[i];
        if (a->decay)
            d = fmaf(p[i], a->wd, d); /* d_p.add(param, alpha=wd) */
        if (a->momentum) {
            float b = a->first ? d : buf[i] * a->mu + d; /* mul_(mu).add_(d_p) */
            buf[i] = b;
            d = a->nesterov ? fmaf(b, a->mu, d) : b;
        }
        p[i] = fmaf(d, a->neg_lr, p[i]); /* param.add_(d_p, alpha=-lr) */
    }
}

static void KFN(adam)(float *p, const float *g, float *m, float *v, size_t n,
                      const rnn__opt_args *a)
{
    const float one_b1 = a->one_b1, b1 = a->b1, one_b2 = a->one_b2, b2 = a->b2;
    const float bc2_sqrt = a->bc2_sqrt, eps = a->eps, neg_step = a->neg_step;
    for (size_t i = 0; i < n; i++) {
        float gi = g[i];
        float pi = p[i];
        if (a->adamw)
            pi *= a->shrink; /* param.mul_(1 - lr*wd), even when wd = 0 */
        else if (a->decay)
            gi = fmaf(pi, a->wd, gi); /* grad.add(param, alpha=wd) */
        float mi = fmaf(gi, one_b1, m[i] * b1);      /* mul_(b1).add_(g, alpha=1-b1) */
        float vi = fmaf(one_b2 * gi, gi, v[i] * b2); /* mul_(b2).addcmul_(g, g, 1-b2) */
        m[i] = mi;
        v[i] = vi;
        float denom = sqrtf(vi) / bc2_sqrt + eps; /* (sqrt(v)/bc2_sqrt).add_(eps) */
        p[i] = pi + (neg_step * mi) / denom;      /* addcdiv_(m, denom, -step_size) */
    }
}

static void KFN(rmsprop)(float *p, const float *g, float *sq, float *buf, size_t n,
                         const rnn__opt_args *a)
{
    for (size_t i = 0; i < n; i++) {
        float gi = g[i];
        if (a->decay)
            gi = fmaf(p[i], a->wd, gi);
        float s = fmaf(a->one_alpha * gi, gi, sq[i] * a->alpha); /* mul_.addcmul_ */
        sq[i] = s;
        float avg = sqrtf(s) + a->eps;
        if (a->momentum) {
            buf[i] = buf[i] * a->mu + gi / avg;      /* mul_(mu).addcdiv_(g, avg) */
            p[i] = fmaf(buf[i], a->neg_lr, p[i]);    /* add_(buf, alpha=-lr) */
        } else {
            p[i] = p[i] + (a->neg_lr * gi) / avg;    /* addcdiv_(g, avg, -lr) */
        }
    }
}

static double KFN(sumsq)(const float *g, size_t n)
{
    double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++)
            acc[j] += (double)g[i + j] * (double)g[i + j];
    for (int j = 0; i < n; i++, j++)
        acc[j] += (double)g[i] * (double)g[i];
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

/* ---- batch-1 matrix-vector product --------------------------------------
 * One pass over the weights, front to back, a whole block of columns held in
 * registers: a single sequential stream is what the hardware prefetchers
 * serve best when the weights live in L2 (a 64->64 LSTM's are 128 KB). The
 * block is as wide as the register file allows: 16 vectors of 16 floats on
 * AVX-512 (256 columns), 12 of 8 on AVX2, 8 of 4 elsewhere. */
#if defined(__AVX512F__)
#define GV_W 16
#define GV_ACC 16
#elif defined(__AVX2__)
#define GV_W 8
#define GV_ACC 12
#else
#define GV_W 4
#define GV_ACC 8
#endif
typedef float gv_vec __attribute__((vector_size(GV_W * sizeof(float)), aligned(4)));

/* A block of NACC vectors (a compile-time constant: the loops unroll and
 * the accumulators stay in registers). Contraction into FMAs is allowed
 * here only: a product-sum has no reference rounding to keep. */
static inline __attribute__((always_inline, optimize("fp-contract=fast"))) void
gv_block(float *y, const float *x, const float *w, int K, int ldw, const int NACC)
{
    gv_vec acc[GV_ACC];
#pragma GCC unroll 16
    for (int v = 0; v < NACC; v++)
        acc[v] = (gv_vec){0};
    for (int k = 0; k < K; k++) {
        const float *row = w + (size_t)k * ldw;
        const float xk = x[k];
#pragma GCC unroll 16
        for (int v = 0; v < NACC; v++) {
            gv_vec wv;
            memcpy(&wv, row + v * GV_W, sizeof wv);
            acc[v] += xk * wv;
        }
    }
#pragma GCC unroll 16
    for (int v = 0; v < NACC; v++) {
        gv_vec out;
        memcpy(&out, y + v * GV_W, sizeof out);
        out += acc[v];
        memcpy(y + v * GV_W, &out, sizeof out);
    }
}

__attribute__((optimize("fp-contract=fast"))) static void KFN(gemv)(float *y, const float *x, const float *w,
                                                                    int K, int N, int ldw)
{
    /* full blocks, then halving widths: a narrow tail still gets several
     * independent FMA chains */
    int j = 0;
    for (; j + GV_W * GV_ACC <= N; j += GV_W * GV_ACC)
        gv_block(y + j, x, w + j, K, ldw, GV_ACC);
    if (j + GV_W * 8 <= N) {
        gv_block(y + j, x, w + j, K, ldw, 8);
        j += GV_W * 8;
    }
    if (j + GV_W * 4 <= N) {
        gv_block(y + j, x, w + j, K, ldw, 4);
        j += GV_W * 4;
    }
    if (j + GV_W * 2 <= N) {
        gv_block(y + j, x, w + j, K, ldw, 2);
        j += GV_W * 2;
    }
    for (; j + GV_W <= N; j += GV_W)
        gv_block(y + j, x, w + j, K, ldw, 1);
}

const rnn__kernels CAT(rnn__kernels_, RNN_ISA) = {
    STR(RNN_ISA),
    KFN(lstm_fwd_row),
    KFN(lstm_bwd_row),
    KFN(gru_fwd_row),
    KFN(gru_bwd_row),
    KFN(rnn_fwd_row),
    KFN(rnn_bwd_row),
    KFN(xent_row),
    KFN(sgd),
    KFN(adam),
    KFN(rmsprop),
    KFN(sumsq),
    KFN(gemv),
    KFN(add_row),
    KFN(bias_rows),
    KFN(colsum_rows),
};
