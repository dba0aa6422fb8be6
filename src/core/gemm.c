/*
 * gemm.c -- the one GEMM entry point of the library, and its dispatcher.
 *
 * Row-major C = alpha op(A) op(B) + beta C. The single-precision product
 * runs on our own kernels (gemm_avx512.c, gemm_avx2.c, gemm_generic.c: a
 * BLIS-style blocked driver around a register micro-kernel per ISA), chosen
 * at each call from the CPU's features, best first:
 *
 *   avx512    AVX-512 F/BW/VL/DQ + FMA (Skylake-X, Zen 4, Zen 5, ...)
 *   avx2      AVX2 + FMA (Haswell, Zen 1-3, ...)
 *   portable  plain C, any CPU
 *   openblas  cblas_sgemm: the default when built with `make GEMM=blas`,
 *             else only on request (below)
 *
 * The environment variable RNN_GEMM=avx512|avx2|portable|blas forces a path
 * (for benchmarks and tests); a request the machine cannot honour (avx512 on
 * an AVX2 CPU, blas in a build without it) falls back to the best available.
 * It is read with getenv at every rnn__sgemm call (tens of nanoseconds, next
 * to products of microseconds or more) -- nothing is cached, there is no
 * global state -- and by rnn__sgemm_pack_b, which records its choice in the
 * packed buffer, so that rnn__sgemm_packed (the per-time-step product) never
 * looks at the environment.
 *
 * Double precision (gradient checks only) uses cblas_dgemm when built with a
 * BLAS, else the simple loops below.
 */
#include "core/core.h"
#include "core/gemm_internal.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#ifdef RNN_HAVE_CBLAS
#include <cblas.h>
#endif

enum { K_PORTABLE, K_AVX2, K_AVX512, K_BLAS };
static const char *const kind_names[] = {"portable", "avx2", "avx512",
                                         "openblas"};

/* The best of our kernels this CPU runs. */
static int cpu_kind(void)
{
#ifdef RNN__GEMM_X86
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("fma"))
        return K_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return K_AVX2;
#endif
    return K_PORTABLE;
}

static int gemm_kind(void)
{
    int best = cpu_kind();
    const char *e = getenv("RNN_GEMM");
    if (e && *e) {
        if (strcmp(e, "portable") == 0)
            return K_PORTABLE;
        if (strcmp(e, "avx2") == 0)
            return best < K_AVX2 ? best : K_AVX2;
        if (strcmp(e, "avx512") == 0)
            return best;
        if (strcmp(e, "blas") == 0 || strcmp(e, "openblas") == 0) {
#ifdef RNN_HAVE_CBLAS
            return K_BLAS;
#else
            return best;
#endif
        }
    }
#if defined(RNN_HAVE_CBLAS) && defined(RNN_GEMM_BLAS)
    return K_BLAS;
#else
    return best;
#endif
}

const char *rnn__gemm_backend(void)
{
    return kind_names[gemm_kind()];
}

/* C = beta C (beta == 0: C = 0 without reading it): K == 0 or alpha == 0. */
static void scale_c(int M, int N, float beta, float *C, int ldc)
{
    for (int i = 0; i < M; i++) {
        float *c = C + (size_t)i * ldc;
        if (beta == 0)
            memset(c, 0, sizeof(float) * (size_t)N);
        else if (beta != 1)
            for (int j = 0; j < N; j++)
                c[j] *= beta;
    }
}

static void sgemm_kind(int kind, int ta, int tb, int M, int N, int K,
                       float alpha, const float *A, int lda, const float *B,
                       int ldb, float beta, float *C, int ldc)
{
    if (M <= 0 || N <= 0)
        return;
    if (K <= 0 || alpha == 0) {
        scale_c(M, N, beta, C, ldc);
        return;
    }
    switch (kind) {
#ifdef RNN_HAVE_CBLAS
    case K_BLAS:
        cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans,
                    tb ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda, B,
                    ldb, beta, C, ldc);
        return;
#endif
#ifdef RNN__GEMM_X86
    case K_AVX512:
        rnn__sgemm_avx512(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    case K_AVX2:
        rnn__sgemm_avx2(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
#endif
    default:
        rnn__sgemm_generic(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
}

void rnn__sgemm(int ta, int tb, int M, int N, int K, float alpha,
                const float *A, int lda, const float *B, int ldb, float beta,
                float *C, int ldc)
{
    sgemm_kind(gemm_kind(), ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C,
               ldc);
}

void rnn__sgemm_portable(int ta, int tb, int M, int N, int K, float alpha,
                         const float *A, int lda, const float *B, int ldb,
                         float beta, float *C, int ldc)
{
    sgemm_kind(K_PORTABLE, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C,
               ldc);
}

/* ---- products with a pre-packed B ------------------------------------- */

/* The packed buffer: a 16-float (64-byte) header, then op(B). The header
 * records who packed it: our kernels share one layout (16-column panels,
 * gemm_internal.h), so any of them can use a buffer packed by another, and
 * the product takes the kernel named there, or the best this CPU runs if
 * that is less; "openblas" packs op(B) as a plain row-major K x N matrix for
 * cblas_sgemm. K and N are recorded to catch a mismatched call. */
#define PACK_HDR 16
#define PACK_MAGIC 0x504e4e52u /* "RNNP" */

typedef struct {
    uint32_t magic, kind, K, N;
} pack_header;

size_t rnn__sgemm_pack_size(int K, int N)
{
    if (K <= 0 || N <= 0)
        return PACK_HDR;
    /* panels of 16 columns, the last zero-padded; >= K*N for "openblas" */
    return PACK_HDR + (size_t)K * (((size_t)N + 15) / 16 * 16);
}

void rnn__sgemm_pack_b(float *packed, int tb, int K, int N, const float *B,
                       int ldb)
{
    pack_header h = {PACK_MAGIC, (uint32_t)gemm_kind(), (uint32_t)(K > 0 ? K : 0),
                     (uint32_t)(N > 0 ? N : 0)};
    memcpy(packed, &h, sizeof h);
    if (K <= 0 || N <= 0)
        return;
    float *p = packed + PACK_HDR;
    switch (h.kind) {
    case K_BLAS:
        for (int k = 0; k < K; k++)
            for (int j = 0; j < N; j++)
                p[(size_t)k * N + j] =
                    tb ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j];
        return;
#ifdef RNN__GEMM_X86
    case K_AVX512:
        rnn__sgemm_avx512_pack(p, tb, K, N, B, ldb);
        return;
    case K_AVX2:
        rnn__sgemm_avx2_pack(p, tb, K, N, B, ldb);
        return;
#endif
    default:
        rnn__sgemm_generic_pack(p, tb, K, N, B, ldb);
        return;
    }
}

void rnn__sgemm_packed(int M, int N, int K, float alpha, const float *A,
                       int lda, const float *packed, float beta, float *C,
                       int ldc)
{
    pack_header h;
    memcpy(&h, packed, sizeof h);
    /* a buffer packed for another shape (or not packed) is a caller bug */
    assert(h.magic == PACK_MAGIC && h.K == (uint32_t)(K > 0 ? K : 0) &&
           h.N == (uint32_t)(N > 0 ? N : 0));
    if (M <= 0 || N <= 0)
        return;
    if (K <= 0 || alpha == 0) {
        scale_c(M, N, beta, C, ldc);
        return;
    }
    const float *p = packed + PACK_HDR;
    int kind = (int)h.kind;
    if (kind != K_BLAS && kind > cpu_kind())
        kind = cpu_kind();
    switch (kind) {
#ifdef RNN_HAVE_CBLAS
    case K_BLAS:
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, alpha,
                    A, lda, p, N, beta, C, ldc);
        return;
#endif
#ifdef RNN__GEMM_X86
    case K_AVX512:
        rnn__sgemm_avx512_packed(M, N, K, alpha, A, lda, p, beta, C, ldc);
        return;
    case K_AVX2:
        rnn__sgemm_avx2_packed(M, N, K, alpha, A, lda, p, beta, C, ldc);
        return;
#endif
    default:
        rnn__sgemm_generic_packed(M, N, K, alpha, A, lda, p, beta, C, ldc);
        return;
    }
}

/* ---- double precision -------------------------------------------------- */

void rnn__dgemm_portable(int ta, int tb, int M, int N, int K, double alpha,
                         const double *A, int lda, const double *B, int ldb,
                         double beta, double *C, int ldc)
{
    for (int i = 0; i < M; i++) {
        double *c = C + (size_t)i * ldc;
        if (beta == 0)
            memset(c, 0, sizeof(double) * (size_t)N);
        else if (beta != 1)
            for (int j = 0; j < N; j++)
                c[j] *= beta;
    }
    if (M <= 0 || N <= 0 || K <= 0 || alpha == 0)
        return;
    if (!tb) {
        /* i-k-j order: the inner loop streams rows of B and C */
        for (int i = 0; i < M; i++) {
            double *restrict c = C + (size_t)i * ldc;
            for (int k = 0; k < K; k++) {
                double a = alpha * (ta ? A[(size_t)k * lda + i]
                                       : A[(size_t)i * lda + k]);
                const double *restrict b = B + (size_t)k * ldb;
                for (int j = 0; j < N; j++)
                    c[j] += a * b[j];
            }
        }
    } else {
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) {
                double s = 0;
                for (int k = 0; k < K; k++)
                    s += (ta ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k]) *
                         B[(size_t)j * ldb + k];
                C[(size_t)i * ldc + j] += alpha * s;
            }
    }
}

void rnn__dgemm(int ta, int tb, int M, int N, int K, double alpha,
                const double *A, int lda, const double *B, int ldb,
                double beta, double *C, int ldc)
{
    if (M <= 0 || N <= 0)
        return;
#ifdef RNN_HAVE_CBLAS
    if (K > 0) {
        cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans,
                    tb ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda, B,
                    ldb, beta, C, ldc);
        return;
    }
#endif
    rnn__dgemm_portable(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
