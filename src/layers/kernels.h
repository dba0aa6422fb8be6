/*
 * kernels.h -- the float pointwise kernels, compiled once per instruction
 * set (portable x86-64 / other, AVX2+FMA, AVX-512) from kernels_isa.c and
 * chosen at run time by what the CPU supports. Internal.
 */
#ifndef RNN_KERNELS_H
#define RNN_KERNELS_H

#include "core/core.h"

/* Everything an optimizer update needs besides the arrays (see optim.c for
 * how each value is derived from torch.optim's hyper-parameters). */
typedef struct rnn__opt_args {
    float wd, mu, neg_lr;        /* SGD, RMSprop */
    int decay, momentum, nesterov, first;
    int adamw;                   /* Adam */
    float shrink, b1, one_b1, b2, one_b2, eps, bc2_sqrt, neg_step;
    float alpha, one_alpha;      /* RMSprop */
} rnn__opt_args;

/* Weight formats of the batch-1 product. */
enum { RNN__GEMV_F32, RNN__GEMV_F16, RNN__GEMV_BF16 };

/* Where column c (0 <= c < V * W, W = gemv_width) of a panel row sits
 * among its halves: in place for binary16; for bfloat16 the vectors are
 * stored in pairs, vector 2u in the low halves of the 32-bit words of
 * group u and vector 2u + 1 in their high halves (a shift or a mask then
 * widens each, no conversion instruction needed; which half of a word
 * comes first in memory depends on the byte order). */
static inline int rnn__gemv_half_col(int fmt, int W, int c)
{
    if (fmt != RNN__GEMV_BF16)
        return c;
    int u = c / (2 * W), s = (c / W) & 1, j = c % W;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    s ^= 1; /* the low half of a 32-bit word is then its second */
#endif
    return 2 * u * W + 2 * j + s;
}

typedef struct rnn__kernels {
    const char *name; /* "portable", "avx2", "avx512" */
    /* one batch row of one time step; see gates_impl.h */
    void (*lstm_fwd_row)(int H, float *g, float *h, float *c, const float *cp);
    void (*lstm_bwd_row)(int H, float *g, float *dh, float *dc, const float *c, const float *cp);
    void (*gru_fwd_row)(int H, float *g, float *hnp, float *h, const float *hh, const float *bn,
                        const float *hp);
    void (*gru_bwd_row)(int H, float *g, float *hnp, float *dh, const float *hp);
    void (*rnn_fwd_row)(int H, int relu, const float *g, float *h);
    void (*rnn_bwd_row)(int H, int relu, float *g, float *dh, const float *h);
    /* softmax cross-entropy of one row: returns logsumexp(z) - z[t]; when d
     * is not NULL writes scale*(softmax(z) - onehot(t)) (d may alias z) */
    double (*xent_row)(float *d, const float *z, int V, int t, float scale);
    /* optimizer updates of n elements (one slice of the parameters) */
    void (*sgd)(float *p, const float *g, float *buf, size_t n, const rnn__opt_args *a);
    void (*adam)(float *p, const float *g, float *m, float *v, size_t n, const rnn__opt_args *a);
    void (*rmsprop)(float *p, const float *g, float *sq, float *buf, size_t n,
                    const rnn__opt_args *a);
    /* sum of squares in double, in a fixed order (8 interleaved partial sums
     * combined pairwise), the same on every instruction set */
    double (*sumsq)(const float *g, size_t n);
    /* y[N] += x[K] . W[K][N] for one row x (batch-1 inference), or, given
     * b[N], y = b + x . W (one addition either way: the bits of y = b
     * followed by y += x . W, without the copy). W is in
     * panels of P = V * gemv_width columns (V = 2, 4 or 8 vectors), panel q
     * (columns q*P..q*P+P-1) stored [K][P] at w + q*K*P, 64-byte aligned;
     * N a multiple of P. `reverse` takes the panels last to first: the same
     * sums, the same bits (each column is summed alike); alternating it
     * between calls keeps the last panels read in L1 for the next call
     * (kernels_isa.c). */
    void (*gemv)(float *y, const float *x, const float *w, int K, int N, int V, int reverse,
                 const float *b);
    /* the same with half-precision weights (fmt RNN__GEMV_F16 or _BF16),
     * each panel row laid out as rnn__gemv_half_col says: the same sums in
     * the same order as gemv over the widened weights, so the same bits */
    void (*gemv_half)(float *y, const float *x, const uint16_t *w, int K, int N, int V, int reverse,
                      int fmt, const float *b);
    int gemv_width; /* floats per vector */
    /* gemv_half's binary16 widening needs F16C (the AVX2 set: every CPU
     * with AVX2 and FMA has it, but a virtual machine may hide it) */
    int gemv_half_f16c;
    /* the recurrent layer's element loops, see gates_impl.h */
    void (*add_row)(int n, float *y, const float *x);
    void (*bias_rows)(int rows, int ld, int n, int nb, float *g, const float *b1,
                      const float *b2);
    void (*colsum_rows)(size_t rows, int cols, int ld, const float *a, float *o1, float *o2);
    /* x = tanh(x) for n elements, the recurrent kernels' tanh (the
     * attention's combine layer) */
    void (*tanh_n)(size_t n, float *x);
} rnn__kernels;

/* The best kernels for this CPU, or those named by $RNN_KERNELS
 * (portable, avx2, avx512) when the CPU supports them. */
const rnn__kernels *rnn__kernels_get(void);
/* The kernels of that name if this CPU can run them, else NULL. */
const rnn__kernels *rnn__kernels_by_name(const char *name);
/* Whether the CPU has F16C (cpuid: ask once, not per call). */
int rnn__cpu_has_f16c(void);

#endif
