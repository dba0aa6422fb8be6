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
/* p[0..n) = a permutation of 0..n-1 drawn from r (Fisher-Yates, from the end) */
void rnn__rng_permutation(rnn__rng *r, int32_t *p, int n);
double rnn__rng_normal(rnn__rng *r);

/* ---- GEMM ------------------------------------------------------------ */

/* Row-major C[M][N] = alpha * op(A) op(B) + beta * C, op(X) = X or X^T.
 * op(A) is M x K, op(B) is K x N; M, N, K >= 0 (K == 0: C = beta C), any
 * leading dimensions. With beta == 0, C is not read (NaN in C does not
 * propagate), as in BLAS; with alpha == 0, A and B are not read.
 *
 * Runs on our own kernels (core/gemm.c explains the choice): AVX-512 or
 * AVX2+FMA micro-kernels picked at run time from the CPU's features, a
 * portable C kernel elsewhere; OpenBLAS, oneDNN or libxsmm when built with
 * `make GEMM=blas|onednn|libxsmm`.
 * RNN_GEMM=avx512|avx2|portable|blas|onednn|libxsmm in the environment forces a path
 * (read at each call). Thread-safe and reentrant (no global state; callers
 * may run it concurrently on disjoint C). Single-threaded per call.
 * Memory: skinny products (M <= 64 with AVX-512/AVX2, M <= 16 portable)
 * use a 48 KB stack buffer at most and never allocate; larger ones malloc
 * their packing buffers per call when those exceed 48 KB (at most ~8.5 MB:
 * a 512 x 4096 block of B and a 240 x 512 block of A), and still compute
 * correctly (slower) if malloc fails. */
void rnn__sgemm(int trans_a, int trans_b, int M, int N, int K, float alpha,
                const float *A, int lda, const float *B, int ldb, float beta,
                float *C, int ldc);
void rnn__dgemm(int trans_a, int trans_b, int M, int N, int K, double alpha,
                const double *A, int lda, const double *B, int ldb,
                double beta, double *C, int ldc);
/* Products over the rows of [T][B]-ordered data that belong to one block of
 * batch rows: g consecutive rows out of every gs (row r of the operand is
 * row r / g * gs + r % g of the memory given). The recurrent layers use them
 * so that a thread touches only the batch rows it runs through time.
 * rnn__sgemm_mrows: C = alpha A op(B) + beta C, the M rows of A (not
 *   transposed) and of C grouped; M a multiple of g. Every element is
 *   bitwise the one rnn__sgemm computes for all the rows at once.
 * rnn__sgemm_krows: C = alpha A^T B + beta C, the K rows of A and of B
 *   grouped; K a multiple of g. Bitwise the product of the gathered rows by
 *   rnn__sgemm (but if memory runs out). The libraries' paths gather the rows
 *   into temporary copies. */
void rnn__sgemm_mrows(int g, int gs, int trans_b, int M, int N, int K, float alpha,
                      const float *A, int lda, const float *B, int ldb, float beta, float *C,
                      int ldc);
void rnn__sgemm_krows(int g, int gs, int M, int N, int K, float alpha, const float *A, int lda,
                      const float *B, int ldb, float beta, float *C, int ldc);
/* C = A op(B) + bias (bias: a row of N floats added to every row of C), the
 * rows grouped as rnn__sgemm_mrows. Every element is bitwise the product
 * rnn__sgemm_mrows computes (alpha 1, beta 0) plus its bias: our kernels
 * add the bias as they store a tile, the libraries' paths in a pass after
 * the product. rnn__sgemm_fuses_bias() says which (1: our kernels). */
void rnn__sgemm_mrows_bias(int g, int gs, int trans_b, int M, int N, int K, const float *A,
                           int lda, const float *B, int ldb, float *C, int ldc,
                           const float *bias);
int rnn__sgemm_fuses_bias(void);
void rnn__dgemm_mrows(int g, int gs, int trans_b, int M, int N, int K, double alpha,
                      const double *A, int lda, const double *B, int ldb, double beta,
                      double *C, int ldc);
void rnn__dgemm_krows(int g, int gs, int M, int N, int K, double alpha, const double *A,
                      int lda, const double *B, int ldb, double beta, double *C, int ldc);
/* The portable kernels, always compiled (tests compare them to the others):
 * the float one is the blocked C kernel of the "portable" path. */
void rnn__sgemm_portable(int trans_a, int trans_b, int M, int N, int K,
                         float alpha, const float *A, int lda, const float *B,
                         int ldb, float beta, float *C, int ldc);
void rnn__dgemm_portable(int trans_a, int trans_b, int M, int N, int K,
                         double alpha, const double *A, int lda,
                         const double *B, int ldb, double beta, double *C,
                         int ldc);
/* The path rnn__sgemm takes now: "avx512", "avx2", "portable", "openblas",
 * "onednn" or "libxsmm" (depends on RNN_GEMM, see above). */
const char *rnn__gemm_backend(void);
/* 1 when that path is one of our kernels, which compute every element of a
 * product by the same sums whatever the shape of the call (so results do
 * not depend on how the threads split the products); 0 for the libraries. */
int rnn__gemm_bitwise(void);

/* Products with a pre-packed B, for the recurrent weights: pack once per
 * sequence, multiply at every time step. No allocation, thread-safe, any
 * number of concurrent products may share one packed buffer.
 *
 * Floats needed to hold op(B) (K x N) packed: 16 (header) + K *
 * round_up(N, 16). The layout (a header naming the kernel that packed it,
 * then 16-column panels, K x 16 floats each) is private; it is valid for
 * this process (any of its kernels: the buffer records which path packed
 * it, and RNN_GEMM is read only by rnn__sgemm_pack_b). A 64-byte aligned
 * buffer (rnn__alloc_floats) keeps the panels aligned. */
size_t rnn__sgemm_pack_size(int K, int N);
/* Packs op(B), op = transpose if trans_b, into `packed`
 * (rnn__sgemm_pack_size(K, N) floats). */
void rnn__sgemm_pack_b(float *packed, int trans_b, int K, int N,
                       const float *B, int ldb);
/* The same, shared out: packs part `part` of `parts` (its share of the
 * 16-column panels; part 0 also writes the header), so that the threads of
 * a team pack one buffer together, each calling it with its own part, and
 * use it after a barrier. The buffer is the same as rnn__sgemm_pack_b's. */
void rnn__sgemm_pack_b_part(float *packed, int trans_b, int K, int N,
                            const float *B, int ldb, int part, int parts);
/* C[M][N] = alpha * A[M][K] (not transposed, row stride lda) * packedB +
 * beta * C; K and N must be those given to rnn__sgemm_pack_b. A is read in
 * place (never packed): M = 1 is a streaming matrix-vector product. */
void rnn__sgemm_packed(int M, int N, int K, float alpha, const float *A,
                       int lda, const float *packed, float beta, float *C,
                       int ldc);
/* C = A packedB + bias, bitwise rnn__sgemm_packed (alpha 1, beta 0) plus
 * the bias, as rnn__sgemm_mrows_bias. */
void rnn__sgemm_packed_bias(int M, int N, int K, const float *A, int lda, const float *packed,
                            float *C, int ldc, const float *bias);

/* ---- activations ------------------------------------------------------ */

/* Float versions are branch-free polynomial approximations that compilers
 * vectorize (libm's expf/tanhf are not vectorized without -ffast-math).
 * Accuracy: |error| < 1e-6 absolute over all finite inputs; NaN propagates. */
void rnn__vsigmoid(float *y, const float *x, size_t n);
void rnn__vtanh(float *y, const float *x, size_t n);

/* ---- training internals shared by model/ ------------------------------ */

/* Threads for rnn_optim_step (results do not depend on it). */
void rnn__optim_set_threads(rnn_optim *o, int n);
/* Sum of squares in a fixed order whatever the thread count, and the
 * global-norm clipping built on it. */
double rnn__sumsq(const float *g, size_t n, int nthreads);
double rnn__clip_grad_norm(float *g, size_t n, double max_norm, int nthreads);

#include "core/act_inline.h"

#endif /* RNN_CORE_H */
