/*
 * recurrent.c -- vanilla RNN (tanh, relu), LSTM and GRU layers, one
 * direction over a whole sequence. The code is in recurrent_impl.h, written
 * once and compiled here for float (the engine) and double (gradient checks).
 */
#include "layers/kernels.h"
#include "layers/layers.h"
#include "layers/share.h"

#include <math.h>
#include <string.h>

const char *rnn_cell_name(rnn_cell cell)
{
    switch (cell) {
    case RNN_CELL_RNN_TANH: return "rnn_tanh";
    case RNN_CELL_RNN_RELU: return "rnn_relu";
    case RNN_CELL_LSTM: return "lstm";
    case RNN_CELL_GRU: return "gru";
    }
    return "unknown";
}

int rnn_cell_gates(rnn_cell cell)
{
    switch (cell) {
    case RNN_CELL_RNN_TANH:
    case RNN_CELL_RNN_RELU: return 1;
    case RNN_CELL_LSTM: return 4;
    case RNN_CELL_GRU: return 3;
    }
    return 0;
}

size_t rnn__rec_param_count(rnn_cell cell, int I, int H)
{
    size_t gh, per_row, n;
    if (I <= 0 || H <= 0 || !rnn__mul(&gh, (size_t)rnn_cell_gates(cell), (size_t)H) ||
        !rnn__add(&per_row, (size_t)I, (size_t)H) || !rnn__add(&per_row, per_row, 2) ||
        !rnn__mul(&n, gh, per_row))
        return 0;
    return n;
}

size_t rnn__rec_cache_count(rnn_cell cell, int T, int B, int H)
{
    size_t gates, states, n;
    int G = rnn_cell_gates(cell);
    int nstate = cell == RNN_CELL_LSTM || cell == RNN_CELL_GRU ? 2 : 1;
    if (T <= 0 || B <= 0 || H <= 0 ||
        !rnn__mul4(&gates, (size_t)T, (size_t)B, (size_t)G, (size_t)H) ||
        !rnn__mul4(&states, (size_t)T + 1, (size_t)B, (size_t)H, (size_t)nstate) ||
        !rnn__add(&n, gates, states))
        return 0;
    return n;
}

size_t rnn__rec_lookup_count(rnn_cell cell, int V, int H)
{
    size_t n;
    if (V <= 0 || H <= 0 || !rnn__mul(&n, (size_t)V, (size_t)rnn_cell_gates(cell) * (size_t)H))
        return 0;
    return n;
}

int rnn__rec_row_blocks(int B)
{
    return B >= 2 ? 2 : 1;
}

size_t rnn__rec_partial_count(rnn_cell cell, int B, int W, int H)
{
    size_t gh, per_row, n;
    if (rnn__rec_row_blocks(B) < 2 || W < 1 || H < 1 ||
        !rnn__mul(&gh, (size_t)rnn_cell_gates(cell), (size_t)H) ||
        !rnn__add(&per_row, (size_t)W, (size_t)H) || !rnn__add(&per_row, per_row, 2) ||
        !rnn__mul(&n, gh, per_row))
        return 0;
    return n;
}

int rnn__rec_lookup_pays(int V, size_t rows)
{
    return V > 0 && 2 * (size_t)V <= rows;
}

size_t rnn__rec_states_offset(rnn_cell cell, int T, int B, int H)
{
    return (size_t)T * B * rnn_cell_gates(cell) * H;
}

size_t rnn__rec_pack_count(rnn_cell cell, int H)
{
    int GH = rnn_cell_gates(cell) * H;
    size_t a = rnn__sgemm_pack_size(H, GH), b = rnn__sgemm_pack_size(GH, H);
    return a > b ? a : b;
}

/* W_hh^T's panels, then (at a 16-float boundary) W_ih^T's */
static size_t wpack_ih_offset(rnn_cell cell, int H)
{
    return (rnn__sgemm_pack_size(H, rnn_cell_gates(cell) * H) + 15) & ~(size_t)15;
}

size_t rnn__rec_wpack_count(rnn_cell cell, int I, int H)
{
    return wpack_ih_offset(cell, H) + rnn__sgemm_pack_size(I, rnn_cell_gates(cell) * H);
}

void rnn__rec_wpack(rnn_cell cell, int I, int H, const float *w, float *wpk)
{
    const int GH = rnn_cell_gates(cell) * H;
    const float *w_ih = w, *w_hh = w + (size_t)GH * I;
    rnn__sgemm_pack_b(wpk, 1, H, GH, w_hh, H);
    rnn__sgemm_pack_b(wpk + wpack_ih_offset(cell, H), 1, I, GH, w_ih, I);
}

size_t rnn__rec_scratch_count(rnn_cell cell, int B, int H)
{
    int G = rnn_cell_gates(cell);
    size_t n;
    /* per-step rows, then the forward's summed biases (G*H) */
    if (B <= 0 || H <= 0 ||
        !rnn__mul4(&n, (size_t)B + 1, (size_t)H, (size_t)(G > 2 ? G : 2), 1))
        return 0;
    return n;
}

int rnn__threads_for(int requested, double work)
{
#ifdef _OPENMP
    /* below ~2 million multiply-adds a call is too short for a second thread */
    if (requested <= 1 || work < 2e6)
        return 1;
    return requested;
#else
    (void)requested;
    (void)work;
    return 1;
#endif
}

void rnn__split(int n, int parts, int k, int align, int *lo, int *hi)
{
    long long a = align > 0 ? align : 1;
    long long chunks = (n + a - 1) / a;
    long long c0 = chunks * k / parts, c1 = chunks * (k + 1) / parts;
    long long l = c0 * a, h = c1 * a;
    *lo = (int)(l < n ? l : n);
    *hi = (int)(h < n ? h : n);
}

void rnn__split_size(size_t n, int parts, int k, size_t *lo, size_t *hi)
{
    /* n * k / parts without overflow for any n */
    *lo = n / (size_t)parts * (size_t)k + n % (size_t)parts * (size_t)k / (size_t)parts;
    *hi = n / (size_t)parts * (size_t)(k + 1) + n % (size_t)parts * (size_t)(k + 1) / (size_t)parts;
}

void rnn__rows_like(rnn__rows *r, const rnn__rows *like, int slots, int first)
{
    *r = *like;
    for (int k = 0; k < r->n; k++)
        r->base[k] = (size_t)slots * (size_t)r->lo[k] + (size_t)first * (size_t)(r->lo[k + 1] - r->lo[k]);
}

void rnn__rows_make(rnn__rows *r, int n, int B, int slots, int first)
{
    rnn__rows s;
    memset(&s, 0, sizeof s);
    s.n = n < 1 ? 1 : n > RNN__ROWS_MAX ? RNN__ROWS_MAX : n;
    for (int k = 0; k < s.n; k++)
        rnn__split(B, s.n, k, 1, &s.lo[k], &s.lo[k + 1]);
    rnn__rows_like(r, &s, slots, first);
}

void rnn__rows_copy(float *dst, const rnn__rows *dl, const float *src, const rnn__rows *sl, int T,
                    int B, int w)
{
    for (int t = 0; t < T; t++)
        for (int b = 0; b < B; b++)
            memcpy(dst + rnn__row(dl, t, b) * w, src + rnn__row(sl, t, b) * w,
                   sizeof(float) * (size_t)w);
}

/* float: the pointwise math comes from the kernels chosen for this CPU */
#define REAL float
#define SFX(name) name
#define GEMM rnn__sgemm
#define GEMM_MROWS rnn__sgemm_mrows
#define GEMM_KROWS rnn__sgemm_krows
#define RECUR_PACK_PART(pack, tb, K, N, B, ldb, part, parts) \
    rnn__sgemm_pack_b_part(pack, tb, K, N, B, ldb, part, parts)
#define RECUR_GEMM(M, N, K, A, lda, B, ldb, tb, pack, beta, C, ldc) \
    rnn__sgemm_packed(M, N, K, 1.0f, A, lda, pack, beta, C, ldc)
/* the input product adding the biases as it stores (our kernels) */
#define RECUR_FOLD_IN rnn__sgemm_fuses_bias()
#define RECUR_GEMM_BIAS(M, N, K, A, lda, pack, C, ldc, bias) \
    rnn__sgemm_packed_bias(M, N, K, A, lda, pack, C, ldc, bias)
#define GEMM_MROWS_BIAS rnn__sgemm_mrows_bias
#define KERNELS_DECL const rnn__kernels *kern = rnn__kernels_get();
#define KCALL(name) kern->name
#include "layers/recurrent_impl.h"
#undef REAL
#undef SFX
#undef GEMM
#undef GEMM_MROWS
#undef GEMM_KROWS
#undef RECUR_PACK_PART
#undef RECUR_GEMM
#undef RECUR_FOLD_IN
#undef RECUR_GEMM_BIAS
#undef GEMM_MROWS_BIAS
#undef KERNELS_DECL
#undef KCALL

/* double: the same code with libm, for finite-difference checks */
#define REAL double
#define SFX(name) name##_f64
#define GEMM rnn__dgemm
#define GEMM_MROWS rnn__dgemm_mrows
#define GEMM_KROWS rnn__dgemm_krows
#define RECUR_PACK_PART(pack, tb, K, N, B, ldb, part, parts)
#define RECUR_GEMM(M, N, K, A, lda, B, ldb, tb, pack, beta, C, ldc) \
    GEMM(0, tb, M, N, K, 1, A, lda, B, ldb, beta, C, ldc)
/* double: the biases always per step (RECUR_FOLD_IN 0: never called) */
#define RECUR_FOLD_IN 0
#define RECUR_GEMM_BIAS(M, N, K, A, lda, pack, C, ldc, bias) ((void)0)
#define GEMM_MROWS_BIAS(g, gs, tb, M, N, K, A, lda, B, ldb, C, ldc, bias) ((void)0)
#define KFN(name) name##_f64
#define SIGM(x) (1.0 / (1.0 + exp(-(x))))
#define TANH(x) tanh(x)
#include "layers/gates_impl.h"
#define KERNELS_DECL
#define KCALL(name) name##_f64
#include "layers/recurrent_impl.h"
