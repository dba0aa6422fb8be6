/*
 * core.h -- the numeric floor every other part of the library stands on:
 * error reporting, overflow-checked sizes, the explicit-state RNG, the GEMM
 * entry points and vectorizable activations. Internal (not installed).
 */
#ifndef RNN_CORE_H
#define RNN_CORE_H

#include "rnn.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define RNN__PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define RNN__PRINTF(f, a)
#endif

/* ---- errors ---------------------------------------------------------- */

/* Formats a one-line message into err (if not NULL), sets err->status and
 * returns status, so that callers can write `return rnn__fail(err, ...)`. */
rnn_status rnn__fail(rnn_error *err, rnn_status status, const char *fmt, ...)
    RNN__PRINTF(3, 4);
rnn_status rnn__vfail(rnn_error *err, rnn_status status, const char *fmt,
                      va_list ap);
/* Prefixes an existing message: "<prefix>: <old message>". */
void rnn__error_prefix(rnn_error *err, const char *fmt, ...) RNN__PRINTF(2, 3);
void rnn__error_clear(rnn_error *err);

/* ---- sizes: every product and sum that feeds an allocation goes here -- */

/* *out = a * b; returns 0 on overflow (and leaves *out = SIZE_MAX). */
int rnn__mul(size_t *out, size_t a, size_t b);
int rnn__add(size_t *out, size_t a, size_t b);
/* a*b*c*d with overflow check. */
int rnn__mul4(size_t *out, size_t a, size_t b, size_t c, size_t d);

/* ---- memory ---------------------------------------------------------- */

/* All library allocations go through these (64-byte aligned for floats). */
void *rnn__malloc(size_t bytes);
void *rnn__calloc(size_t count, size_t size);
void *rnn__realloc(void *p, size_t bytes);
void rnn__free(void *p);
float *rnn__alloc_floats(size_t count); /* aligned, zeroed, overflow-checked */
void rnn__free_floats(float *p);
char *rnn__strdup(const char *s);

/* ---- random numbers: explicit state, no globals ----------------------- */

typedef struct rnn__rng {
    uint64_t s[4]; /* xoshiro256** state */
} rnn__rng;

void rnn__rng_seed(rnn__rng *r, uint64_t seed);
uint64_t rnn__rng_u64(rnn__rng *r);
/* Uniform in [0, 1) with 24 (float) / 53 (double) random bits. */
float rnn__rng_float(rnn__rng *r);
double rnn__rng_double(rnn__rng *r);
/* Uniform in [0, n). */
uint64_t rnn__rng_below(rnn__rng *r, uint64_t n);
double rnn__rng_normal(rnn__rng *r);

/* ---- GEMM ------------------------------------------------------------ */

/* Row-major C[M][N] = alpha * op(A) op(B) + beta * C, op(X) = X or X^T.
 * op(A) is M x K, op(B) is K x N. With beta == 0, C is not read (NaN in C
 * does not propagate), as in BLAS. Backed by CBLAS when built with a BLAS,
 * else by the portable kernels below. */
void rnn__sgemm(int trans_a, int trans_b, int M, int N, int K, float alpha,
                const float *A, int lda, const float *B, int ldb, float beta,
                float *C, int ldc);
void rnn__dgemm(int trans_a, int trans_b, int M, int N, int K, double alpha,
                const double *A, int lda, const double *B, int ldb,
                double beta, double *C, int ldc);
/* The portable kernels, always compiled (tests compare them to the BLAS). */
void rnn__sgemm_portable(int trans_a, int trans_b, int M, int N, int K,
                         float alpha, const float *A, int lda, const float *B,
                         int ldb, float beta, float *C, int ldc);
void rnn__dgemm_portable(int trans_a, int trans_b, int M, int N, int K,
                         double alpha, const double *A, int lda,
                         const double *B, int ldb, double beta, double *C,
                         int ldc);
/* "openblas" or "portable". */
const char *rnn__gemm_backend(void);

/* ---- activations ------------------------------------------------------ */

/* Float versions are branch-free polynomial approximations that compilers
 * vectorize (libm's expf/tanhf are not vectorized without -ffast-math).
 * Accuracy: |error| < 1e-6 absolute over all finite inputs; NaN propagates. */
void rnn__vsigmoid(float *y, const float *x, size_t n);
void rnn__vtanh(float *y, const float *x, size_t n);

#include "core/act_inline.h"

#endif /* RNN_CORE_H */
