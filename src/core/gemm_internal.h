/*
 * gemm_internal.h -- what gemm.c (the dispatcher, compiled for baseline
 * x86-64) needs from the per-ISA kernel files gemm_avx512.c, gemm_avx2.c and
 * gemm_generic.c. Each of those includes gemm_driver.h, which defines the
 * three functions below for its ISA from a micro-kernel of its own.
 *
 * Calling a function of gemm_avx512.c / gemm_avx2.c on a CPU without the
 * instructions is an illegal instruction: only gemm.c calls them, after
 * __builtin_cpu_supports says yes.
 */
#ifndef RNN_GEMM_INTERNAL_H
#define RNN_GEMM_INTERNAL_H

#include <stddef.h>

/* The packed-B layout shared by every kernel (so that a buffer packed by one
 * is usable by any other): op(B) (K x N) is cut into panels of
 * RNN__GEMM_PANEL = 16 consecutive columns; panel p holds K rows of 16 floats
 * (row k = op(B)[k][16p .. 16p+15]) contiguously, K*16 floats, columns past N
 * zero. There are round_up(N, RNN__GEMM_NPAD) / 16 panels, so that the widest
 * register tile (64 columns) may read whole panels past N. */
#define RNN__GEMM_PANEL 16
#define RNN__GEMM_NPAD 64

/* Row r of an operand whose rows come in groups: g rows, then the next
 * group gs rows further on (g == 0: contiguous rows). rnn__sgemm_mrows and
 * rnn__sgemm_krows take a block of batch rows of [T][B] data: g of every B. */
static inline ptrdiff_t rnn__gemm_grow(int g, ptrdiff_t gs, ptrdiff_t r)
{
    return g ? r / g * gs + r % g : r;
}

/* Grouped K rows of a transposed A read in place by a micro-kernel
 * (rnn__sgemm_krows): after `first` k steps, then after every `g` more, A
 * advances by `jump` floats beyond its stride. */
typedef struct {
    int first, g;
    ptrdiff_t jump;
} gemm_kseg;

/* Preconditions for all three: M, N, K >= 1 and alpha != 0 (gemm.c handles
 * the degenerate cases); arguments as for rnn__sgemm. */
#define RNN__GEMM_DECLARE(isa)                                                 \
    void rnn__sgemm_##isa(int trans_a, int trans_b, int M, int N, int K,       \
                          float alpha, const float *A, int lda,                \
                          const float *B, int ldb, float beta, float *C,       \
                          int ldc);                                            \
    /* C = alpha A panels + beta C (+ bias, a row: NULL for none); panels   \
     * in the layout above. */                                                 \
    void rnn__sgemm_##isa##_packed(int M, int N, int K, float alpha,           \
                                   const float *A, int lda,                    \
                                   const float *panels, float beta, float *C,  \
                                   int ldc, const float *bias);                \
    void rnn__sgemm_##isa##_pack(float *panels, int trans_b, int K, int N,     \
                                 const float *B, int ldb);                     \
    /* rows of A and C (mg) or of A^T and B (kg) in groups of mg (kg) rows,    \
     * gs rows apart (mg = kg = 0: none); see rnn__sgemm_mrows and             \
     * rnn__sgemm_krows; bias as for _packed */                                \
    void rnn__sgemm_##isa##_grouped(int mg, int kg, int gs, int trans_a,       \
                                    int trans_b, int M, int N, int K,          \
                                    float alpha, const float *A, int lda,      \
                                    const float *B, int ldb, float beta,       \
                                    float *C, int ldc, const float *bias);

RNN__GEMM_DECLARE(generic)
#if defined(__x86_64__) && defined(__GNUC__)
#define RNN__GEMM_X86 1
RNN__GEMM_DECLARE(avx2)
RNN__GEMM_DECLARE(avx512)
#endif

#endif /* RNN_GEMM_INTERNAL_H */
