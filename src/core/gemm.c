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
 *
 * A build may link one other library and make it the default
 * (docs/performance.md compares them all):
 *
 *   openblas  `make GEMM=blas`: cblas_sgemm
 *   onednn    `make GEMM=onednn`: oneDNN's dnnl_sgemm (its own JIT kernels)
 *   libxsmm   `make GEMM=libxsmm`: libxsmm's JIT kernels for every product
 *             it has one for (no transposed B, alpha 1, beta 0 or 1, within
 *             its size limits); our kernels for the rest
 *
 * Only our kernels compute each element of a product by the same sums
 * whatever the shape of the call (rnn__gemm_bitwise), the basis of results
 * that do not depend on the thread count.
 *
 * The environment variable RNN_GEMM=avx512|avx2|portable|blas|onednn|libxsmm
 * forces a path (for benchmarks and tests); a request the machine cannot
 * honour (avx512 on an AVX2 CPU, a library the build does not link) falls
 * back to the best of our kernels.
 * It is read with getenv at every rnn__sgemm call (tens of nanoseconds, next
 * to products of microseconds or more) -- nothing is cached, there is no
 * global state -- and by rnn__sgemm_pack_b, which records its choice in the
 * packed buffer, so that rnn__sgemm_packed (the per-time-step product) never
 * looks at the environment.
 *
 * The libraries run single-threaded in every call: the library's threads
 * split the products themselves (OpenBLAS: the command sets its thread
 * count to 1; oneDNN, built on OpenMP, is called inside a one-thread
 * region whose thread count is set to 1, unless it is already inside an
 * active parallel region, where it runs sequentially anyway).
 *
 * Double precision (gradient checks only) uses cblas_dgemm when built with
 * OpenBLAS, else the simple loops below.
 */
#include "core/core.h"
#include "core/gemm_internal.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#ifdef RNN_HAVE_CBLAS
#include <cblas.h>
#endif
#ifdef RNN_HAVE_DNNL
#include <dnnl.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#endif
#ifdef RNN_HAVE_XSMM
#include <libxsmm.h>
#endif

/* our kernels first, in order of preference; then the libraries */
enum { K_PORTABLE, K_AVX2, K_AVX512, K_BLAS, K_DNNL, K_XSMM };
static const char *const kind_names[] = {"portable", "avx2", "avx512",
                                         "openblas", "onednn", "libxsmm"};

/* the kinds this build links */
static int have_kind(int kind)
{
    switch (kind) {
#ifdef RNN_HAVE_CBLAS
    case K_BLAS:
        return 1;
#endif
#ifdef RNN_HAVE_DNNL
    case K_DNNL:
        return 1;
#endif
#ifdef RNN_HAVE_XSMM
    case K_XSMM:
        return 1;
#endif
    default:
        return kind <= K_AVX512;
    }
}

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
        int lib = -1;
        if (strcmp(e, "blas") == 0 || strcmp(e, "openblas") == 0)
            lib = K_BLAS;
        else if (strcmp(e, "onednn") == 0 || strcmp(e, "dnnl") == 0)
            lib = K_DNNL;
        else if (strcmp(e, "libxsmm") == 0 || strcmp(e, "xsmm") == 0)
            lib = K_XSMM;
        if (lib >= 0)
            return have_kind(lib) ? lib : best;
    }
#if defined(RNN_HAVE_CBLAS) && defined(RNN_GEMM_BLAS)
    return K_BLAS;
#elif defined(RNN_HAVE_DNNL) && defined(RNN_GEMM_DNNL)
    return K_DNNL;
#elif defined(RNN_HAVE_XSMM) && defined(RNN_GEMM_XSMM)
    return K_XSMM;
#else
    return best;
#endif
}

int rnn__gemm_bitwise(void)
{
    return gemm_kind() <= K_AVX512;
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

#ifdef RNN_HAVE_DNNL
/* dnnl_sgemm on this thread alone: oneDNN (OpenMP runtime) would start
 * omp_get_max_threads() threads when called outside an active parallel
 * region. The thread count set inside the one-thread region is that
 * region's own (no state outside it changes). Returns 0 on success. */
static int dnnl_one_thread(int ta, int tb, int M, int N, int K, float alpha,
                           const float *A, int lda, const float *B, int ldb,
                           float beta, float *C, int ldc)
{
    int ok = 0;
#ifdef _OPENMP
    if (!omp_in_parallel()) {
#pragma omp parallel num_threads(1)
        {
            omp_set_num_threads(1);
            ok = dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', M, N, K, alpha, A,
                            lda, B, ldb, beta, C, ldc) == dnnl_success;
        }
        return !ok;
    }
#endif
    ok = dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', M, N, K, alpha, A, lda, B,
                    ldb, beta, C, ldc) == dnnl_success;
    return !ok;
}
#endif

#ifdef RNN_HAVE_XSMM
/* libxsmm's JIT kernel for this product, if it has one; returns 0 when it
 * ran. libxsmm is column-major: C^T = op(B)^T op(A)^T, so our B is its A.
 * It keeps its kernels in its own registry (thread-safe). */
static int xsmm_try(int ta, int tb, int M, int N, int K, float alpha,
                    const float *A, int lda, const float *B, int ldb,
                    float beta, float *C, int ldc)
{
    if (alpha != 1.0f || (beta != 0.0f && beta != 1.0f))
        return 1;
    const int flags = (tb ? LIBXSMM_GEMM_FLAG_TRANS_A : 0) |
                      (ta ? LIBXSMM_GEMM_FLAG_TRANS_B : 0);
    const libxsmm_blasint la = ldb, lb = lda, lc = ldc;
    libxsmm_smmfunction k = libxsmm_smmdispatch(N, M, K, &la, &lb, &lc, &alpha,
                                                &beta, &flags, NULL);
    if (!k)
        return 1;
    k(B, A, C);
    return 0;
}
#endif

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
#ifdef RNN_HAVE_DNNL
    case K_DNNL:
        if (dnnl_one_thread(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc) == 0)
            return;
        /* oneDNN failed (out of memory): our kernels, correct and never failing */
        sgemm_kind(cpu_kind(), ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
#endif
#ifdef RNN_HAVE_XSMM
    case K_XSMM:
        if (xsmm_try(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc) != 0)
            sgemm_kind(cpu_kind(), ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
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

/* ---- products over grouped rows (a block of batch rows) --------------- */

/* The libraries' path: the grouped rows gathered into contiguous copies,
 * one library call; group by group if the copies cannot be allocated. */
static void grouped_lib(int kind, int mg, int kg, int gs, int tb, int M, int N, int K,
                        float alpha, const float *A, int lda, const float *B, int ldb,
                        float beta, float *C, int ldc)
{
    if (mg) {
        float *a = malloc(sizeof(float) * ((size_t)M * K + (size_t)M * N));
        if (!a) {
            for (int r = 0; r < M; r += mg)
                sgemm_kind(kind, 0, tb, mg, N, K, alpha, A + rnn__gemm_grow(mg, gs, r) * lda, lda, B,
                           ldb, beta, C + rnn__gemm_grow(mg, gs, r) * ldc, ldc);
            return;
        }
        float *c = a + (size_t)M * K;
        for (int r = 0; r < M; r++) {
            memcpy(a + (size_t)r * K, A + rnn__gemm_grow(mg, gs, r) * lda, sizeof(float) * (size_t)K);
            if (beta != 0)
                memcpy(c + (size_t)r * N, C + rnn__gemm_grow(mg, gs, r) * ldc, sizeof(float) * (size_t)N);
        }
        sgemm_kind(kind, 0, tb, M, N, K, alpha, a, K, B, ldb, beta, c, N);
        for (int r = 0; r < M; r++)
            memcpy(C + rnn__gemm_grow(mg, gs, r) * ldc, c + (size_t)r * N, sizeof(float) * (size_t)N);
        free(a);
        return;
    }
    float *a = malloc(sizeof(float) * ((size_t)K * M + (size_t)K * N));
    if (!a) {
        for (int r = 0; r < K; r += kg)
            sgemm_kind(kind, 1, 0, M, N, kg, alpha, A + rnn__gemm_grow(kg, gs, r) * lda, lda,
                       B + rnn__gemm_grow(kg, gs, r) * ldb, ldb, r ? 1.0f : beta, C, ldc);
        return;
    }
    float *b = a + (size_t)K * M;
    for (int r = 0; r < K; r++) {
        memcpy(a + (size_t)r * M, A + rnn__gemm_grow(kg, gs, r) * lda, sizeof(float) * (size_t)M);
        memcpy(b + (size_t)r * N, B + rnn__gemm_grow(kg, gs, r) * ldb, sizeof(float) * (size_t)N);
    }
    sgemm_kind(kind, 1, 0, M, N, K, alpha, a, M, b, N, beta, C, ldc);
    free(a);
}

/* C[r][j] += bias[j] for the M rows of C, in groups of g rows gs apart
 * (g = 0: contiguous) */
static void add_bias_rows(int g, int gs, int M, int N, float *C, int ldc, const float *bias)
{
    for (int r = 0; r < M; r++) {
        float *c = C + rnn__gemm_grow(g, gs, r) * ldc;
        for (int j = 0; j < N; j++)
            c[j] += bias[j];
    }
}

/* bias: NULL, or a row added to every row of C (mg rows only, see
 * rnn__sgemm_mrows_bias) */
static void sgemm_grouped(int mg, int kg, int gs, int tb, int M, int N, int K, float alpha,
                          const float *A, int lda, const float *B, int ldb, float beta,
                          float *C, int ldc, const float *bias)
{
    const int kind = gemm_kind(), ta = kg > 0;
    if (M <= 0 || N <= 0)
        return;
    if (K <= 0 || alpha == 0) {
        if (mg)
            for (int r = 0; r < M; r += mg)
                scale_c(mg, N, beta, C + rnn__gemm_grow(mg, gs, r) * ldc, ldc);
        else
            scale_c(M, N, beta, C, ldc);
        if (bias)
            add_bias_rows(mg, gs, M, N, C, ldc, bias);
        return;
    }
    switch (kind) {
#ifdef RNN__GEMM_X86
    case K_AVX512:
        rnn__sgemm_avx512_grouped(mg, kg, gs, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C,
                                  ldc, bias);
        return;
    case K_AVX2:
        rnn__sgemm_avx2_grouped(mg, kg, gs, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C,
                                ldc, bias);
        return;
#endif
    case K_PORTABLE:
        rnn__sgemm_generic_grouped(mg, kg, gs, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C,
                                   ldc, bias);
        return;
    default:
        if (mg || kg)
            grouped_lib(kind, mg, kg, gs, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        else /* contiguous (rnn__sgemm_mrows_bias) */
            sgemm_kind(kind, 0, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        if (bias)
            add_bias_rows(mg, gs, M, N, C, ldc, bias);
        return;
    }
}

void rnn__sgemm_mrows(int g, int gs, int tb, int M, int N, int K, float alpha, const float *A,
                      int lda, const float *B, int ldb, float beta, float *C, int ldc)
{
    assert(g > 0 && M % g == 0);
    if (g == gs) /* contiguous */
        rnn__sgemm(0, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    else
        sgemm_grouped(g, 0, gs, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, NULL);
}

int rnn__sgemm_fuses_bias(void)
{
    return gemm_kind() <= K_AVX512;
}

void rnn__sgemm_mrows_bias(int g, int gs, int tb, int M, int N, int K, const float *A, int lda,
                           const float *B, int ldb, float *C, int ldc, const float *bias)
{
    assert(g > 0 && M % g == 0);
    /* mg 0 when contiguous: the path rnn__sgemm_mrows (rnn__sgemm) takes */
    sgemm_grouped(g == gs ? 0 : g, 0, gs, tb, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, C, ldc, bias);
}

void rnn__sgemm_krows(int g, int gs, int M, int N, int K, float alpha, const float *A, int lda,
                      const float *B, int ldb, float beta, float *C, int ldc)
{
    assert(g > 0 && K % g == 0);
    if (g == gs)
        rnn__sgemm(1, 0, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    else
        sgemm_grouped(0, g, gs, 0, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, NULL);
}

/* ---- products with a pre-packed B ------------------------------------- */

/* The packed buffer: a 16-float (64-byte) header, then op(B). The header
 * records who packed it: our kernels share one layout (16-column panels,
 * gemm_internal.h), so any of them can use a buffer packed by another, and
 * the product takes the kernel named there, or the best this CPU runs if
 * that is less; the libraries ("openblas", "onednn", "libxsmm") take op(B)
 * as a plain row-major K x N matrix. K and N are recorded to catch a mismatched call. */
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

void rnn__sgemm_pack_b_part(float *packed, int tb, int K, int N, const float *B, int ldb,
                            int part, int parts)
{
    const int kind = gemm_kind();
    if (part == 0) {
        pack_header h = {PACK_MAGIC, (uint32_t)kind, (uint32_t)(K > 0 ? K : 0),
                         (uint32_t)(N > 0 ? N : 0)};
        memcpy(packed, &h, sizeof h);
    }
    if (K <= 0 || N <= 0 || parts < 1 || part < 0 || part >= parts)
        return;
    /* this part's 16-column panels p0..p1-1, i.e. columns j0..j1-1 */
    const long long np = ((long long)N + 15) / 16;
    const int p0 = (int)(np * part / parts), p1 = (int)(np * (part + 1) / parts);
    const int j0 = 16 * p0, j1 = 16 * p1 < N ? 16 * p1 : N;
    if (j1 <= j0)
        return;
    float *p = packed + PACK_HDR;
    /* our kernels: panel q at q * K * 16, whatever N is */
    float *dst = p + (size_t)p0 * K * 16;
    const float *src = tb ? B + (size_t)j0 * ldb : B + j0;
    switch (kind) {
    case K_BLAS:
    case K_DNNL:
    case K_XSMM: /* the libraries: a plain row-major K x N matrix */
        for (int k = 0; k < K; k++)
            for (int j = j0; j < j1; j++)
                p[(size_t)k * N + j] =
                    tb ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j];
        return;
#ifdef RNN__GEMM_X86
    case K_AVX512:
        rnn__sgemm_avx512_pack(dst, tb, K, j1 - j0, src, ldb);
        return;
    case K_AVX2:
        rnn__sgemm_avx2_pack(dst, tb, K, j1 - j0, src, ldb);
        return;
#endif
    default:
        rnn__sgemm_generic_pack(dst, tb, K, j1 - j0, src, ldb);
        return;
    }
}

void rnn__sgemm_pack_b(float *packed, int tb, int K, int N, const float *B,
                       int ldb)
{
    rnn__sgemm_pack_b_part(packed, tb, K, N, B, ldb, 0, 1);
}

static void sgemm_packed(int M, int N, int K, float alpha, const float *A, int lda,
                         const float *packed, float beta, float *C, int ldc, const float *bias)
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
        if (bias)
            add_bias_rows(0, 0, M, N, C, ldc, bias);
        return;
    }
    const float *p = packed + PACK_HDR;
    int kind = (int)h.kind;
    if (kind <= K_AVX512 && kind > cpu_kind())
        kind = cpu_kind();
    switch (kind) {
#ifdef RNN_HAVE_CBLAS
    case K_BLAS:
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, alpha,
                    A, lda, p, N, beta, C, ldc);
        if (bias)
            add_bias_rows(0, 0, M, N, C, ldc, bias);
        return;
#endif
#if defined(RNN_HAVE_DNNL) || defined(RNN_HAVE_XSMM)
    case K_DNNL:
    case K_XSMM:
        /* a plain row-major B: the library's own path (which falls back
         * to our unpacked kernels) */
        sgemm_kind(kind, 0, 0, M, N, K, alpha, A, lda, p, N, beta, C, ldc);
        if (bias)
            add_bias_rows(0, 0, M, N, C, ldc, bias);
        return;
#endif
#ifdef RNN__GEMM_X86
    case K_AVX512:
        rnn__sgemm_avx512_packed(M, N, K, alpha, A, lda, p, beta, C, ldc, bias);
        return;
    case K_AVX2:
        rnn__sgemm_avx2_packed(M, N, K, alpha, A, lda, p, beta, C, ldc, bias);
        return;
#endif
    default:
        rnn__sgemm_generic_packed(M, N, K, alpha, A, lda, p, beta, C, ldc, bias);
        return;
    }
}

void rnn__sgemm_packed(int M, int N, int K, float alpha, const float *A, int lda,
                       const float *packed, float beta, float *C, int ldc)
{
    sgemm_packed(M, N, K, alpha, A, lda, packed, beta, C, ldc, NULL);
}

void rnn__sgemm_packed_bias(int M, int N, int K, const float *A, int lda, const float *packed,
                            float *C, int ldc, const float *bias)
{
    sgemm_packed(M, N, K, 1.0f, A, lda, packed, 0.0f, C, ldc, bias);
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

void rnn__dgemm_mrows(int g, int gs, int tb, int M, int N, int K, double alpha,
                      const double *A, int lda, const double *B, int ldb, double beta,
                      double *C, int ldc)
{
    assert(g > 0 && M % g == 0);
    for (int r = 0; r < M; r += g)
        rnn__dgemm(0, tb, g, N, K, alpha, A + rnn__gemm_grow(g, gs, r) * lda, lda, B, ldb, beta,
                   C + rnn__gemm_grow(g, gs, r) * ldc, ldc);
}

void rnn__dgemm_krows(int g, int gs, int M, int N, int K, double alpha, const double *A,
                      int lda, const double *B, int ldb, double beta, double *C, int ldc)
{
    assert(g > 0 && K % g == 0);
    if (K == 0) /* C = beta C */
        rnn__dgemm(1, 0, M, N, 0, alpha, A, lda, B, ldb, beta, C, ldc);
    for (int r = 0; r < K; r += g)
        rnn__dgemm(1, 0, M, N, g, alpha, A + rnn__gemm_grow(g, gs, r) * lda, lda,
                   B + rnn__gemm_grow(g, gs, r) * ldb, ldb, r ? 1.0 : beta, C, ldc);
}
