/*
 * gemm.c -- the one GEMM entry point of the library.
 *
 * Row-major C = alpha op(A) op(B) + beta C. Built with RNN_HAVE_CBLAS it
 * calls cblas_sgemm/cblas_dgemm (OpenBLAS); the portable kernels are always
 * compiled, used when there is no BLAS and compared against it in tests.
 */
#include "core/core.h"

#include <string.h>

#ifdef RNN_HAVE_CBLAS
#include <cblas.h>
#endif

/* The portable kernel is written once over a type, instantiated twice. */
#define GEMM_PORTABLE(NAME, REAL)                                              \
    void NAME(int ta, int tb, int M, int N, int K, REAL alpha, const REAL *A,  \
              int lda, const REAL *B, int ldb, REAL beta, REAL *C, int ldc)    \
    {                                                                          \
        for (int i = 0; i < M; i++) {                                          \
            REAL *c = C + (size_t)i * ldc;                                     \
            if (beta == 0)                                                     \
                memset(c, 0, sizeof(REAL) * (size_t)N);                        \
            else if (beta != 1)                                                \
                for (int j = 0; j < N; j++)                                    \
                    c[j] *= beta;                                              \
        }                                                                      \
        if (M == 0 || N == 0 || K == 0 || alpha == 0)                          \
            return;                                                            \
        if (!tb) {                                                             \
            /* i-k-j order: the inner loop streams rows of B and C */          \
            for (int i = 0; i < M; i++) {                                      \
                REAL *restrict c = C + (size_t)i * ldc;                        \
                for (int k = 0; k < K; k++) {                                  \
                    REAL a = alpha * (ta ? A[(size_t)k * lda + i]              \
                                         : A[(size_t)i * lda + k]);            \
                    const REAL *restrict b = B + (size_t)k * ldb;              \
                    for (int j = 0; j < N; j++)                                \
                        c[j] += a * b[j];                                      \
                }                                                              \
            }                                                                  \
        } else if (!ta) {                                                      \
            /* C[i][j] = dot(A row i, B row j): contiguous dot products */     \
            for (int i = 0; i < M; i++) {                                      \
                const REAL *restrict a = A + (size_t)i * lda;                  \
                for (int j = 0; j < N; j++) {                                  \
                    const REAL *restrict b = B + (size_t)j * ldb;              \
                    REAL s = 0;                                                \
                    for (int k = 0; k < K; k++)                                \
                        s += a[k] * b[k];                                      \
                    C[(size_t)i * ldc + j] += alpha * s;                       \
                }                                                              \
            }                                                                  \
        } else {                                                               \
            for (int i = 0; i < M; i++)                                        \
                for (int j = 0; j < N; j++) {                                  \
                    REAL s = 0;                                                \
                    for (int k = 0; k < K; k++)                                \
                        s += A[(size_t)k * lda + i] * B[(size_t)j * ldb + k];  \
                    C[(size_t)i * ldc + j] += alpha * s;                       \
                }                                                              \
        }                                                                      \
    }

GEMM_PORTABLE(rnn__sgemm_portable, float)
GEMM_PORTABLE(rnn__dgemm_portable, double)

void rnn__sgemm(int ta, int tb, int M, int N, int K, float alpha,
                const float *A, int lda, const float *B, int ldb, float beta,
                float *C, int ldc)
{
    if (M <= 0 || N <= 0)
        return;
#ifdef RNN_HAVE_CBLAS
    if (K > 0) {
        cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans,
                    tb ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda, B,
                    ldb, beta, C, ldc);
        return;
    }
#endif
    rnn__sgemm_portable(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
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

const char *rnn__gemm_backend(void)
{
#ifdef RNN_HAVE_CBLAS
    return "openblas";
#else
    return "portable";
#endif
}
