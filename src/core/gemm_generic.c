/*
 * gemm_generic.c -- the portable SGEMM: the same blocking and packing as the
 * SIMD kernels (gemm_driver.h) around a plain C micro-kernel, compiled with
 * the library's baseline flags, so it runs on any CPU (the compiler
 * vectorizes the 16-wide inner loops for whatever the baseline has, SSE2 on
 * x86-64).
 *
 * Register tile: 4 rows x 16 columns (one packed-B panel), computed as two
 * halves of 8 columns: 8 four-float accumulators, which with the row of B
 * and the broadcast fit the 16 registers of SSE (or NEON's 32); tiles of 1
 * row are 32 wide.
 */
#include "core/gemm_internal.h"

#include <string.h>

#define GEMM_FN(x) rnn__sgemm_generic##x
#define GEMM_MR 4
#define GEMM_NR 16
#define GEMM_WIDE_M 1
#define GEMM_NR_WIDE 32
#define GEMM_NR_ONE 32
#define GEMM_KC 256
#define GEMM_MC 128
#define GEMM_NC 2048
#define GEMM_SMALL_M 16
#define GEMM_INPLACE_A 0

#if defined(__GNUC__)
/* GCC/Clang vector extensions: 4-float vectors become SSE registers on
 * x86-64, NEON on ARM, pairs of scalars elsewhere. Accumulators in named
 * vectors (not an array in memory, which the compiler would keep there). */
typedef float v4 __attribute__((vector_size(16)));

static inline v4 ld4(const float *p)
{
    v4 v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void st4(float *p, v4 v)
{
    memcpy(p, &v, sizeof v);
}

/* rows x 8 columns (half a panel), rows <= 4 a compile-time constant after
 * inlining: 8 accumulators + 2 of B + 1 broadcast fit the 16 SSE
 * registers. */
static inline __attribute__((always_inline)) void
tile8(const int rows, int k, int arow, const float *a, ptrdiff_t sa,
      const float *b, ptrdiff_t rsb, float alpha, float beta, float *c,
      ptrdiff_t ldc)
{
    v4 z = {0, 0, 0, 0};
    v4 c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z;
    ptrdiff_t ri = arow ? sa : 1, sk = arow ? 1 : sa;
    for (int kk = 0; kk < k; kk++, a += sk, b += rsb) {
        v4 b0 = ld4(b), b1 = ld4(b + 4), ai;
        ai = (v4){a[0], a[0], a[0], a[0]};
        c00 += ai * b0, c01 += ai * b1;
        if (rows > 1) {
            ai = (v4){a[ri], a[ri], a[ri], a[ri]};
            c10 += ai * b0, c11 += ai * b1;
        }
        if (rows > 2) {
            ai = (v4){a[2 * ri], a[2 * ri], a[2 * ri], a[2 * ri]};
            c20 += ai * b0, c21 += ai * b1;
        }
        if (rows > 3) {
            ai = (v4){a[3 * ri], a[3 * ri], a[3 * ri], a[3 * ri]};
            c30 += ai * b0, c31 += ai * b1;
        }
    }
    v4 acc[4][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}};
    for (int i = 0; i < rows; i++)
        for (int h = 0; h < 2; h++) {
            float *cp = c + i * ldc + 4 * h;
            v4 r = alpha * acc[i][h];
            st4(cp, beta == 0 ? r : r + beta * ld4(cp));
        }
}

static void tile_full(int m, int k, int arow, const float *a, ptrdiff_t sa,
                      const float *b, ptrdiff_t rsb, float alpha, float beta,
                      float *c, ptrdiff_t ldc)
{
    for (int h = 0; h < 16; h += 8)
        switch (m) {
        case 1: tile8(1, k, arow, a, sa, b + h, rsb, alpha, beta, c + h, ldc); break;
        case 2: tile8(2, k, arow, a, sa, b + h, rsb, alpha, beta, c + h, ldc); break;
        case 3: tile8(3, k, arow, a, sa, b + h, rsb, alpha, beta, c + h, ldc); break;
        default: tile8(4, k, arow, a, sa, b + h, rsb, alpha, beta, c + h, ldc); break;
        }
}
#else
/* Full tile: constant trip counts, so the j loops may vectorize. */
static void tile_full(int m, int k, int arow, const float *a, ptrdiff_t sa,
                      const float *b, ptrdiff_t rsb, float alpha, float beta,
                      float *c, ptrdiff_t ldc)
{
    float acc[GEMM_MR][16] = {{0}};
    for (int kk = 0; kk < k; kk++) {
        const float *bk = b + kk * rsb;
        for (int i = 0; i < m; i++) {
            float ai = arow ? a[i * sa + kk] : a[i + kk * sa];
            for (int j = 0; j < 16; j++)
                acc[i][j] += ai * bk[j];
        }
    }
    for (int i = 0; i < m; i++) {
        float *cp = c + i * ldc;
        for (int j = 0; j < 16; j++)
            cp[j] = beta == 0 ? alpha * acc[i][j] : alpha * acc[i][j] + beta * cp[j];
    }
}
#endif

/* Any m x n (n <= 16) tile: reads only columns < n of B. */
static void tile_edge(int m, int n, int k, int arow, const float *a,
                      ptrdiff_t sa, const float *b, ptrdiff_t rsb, float alpha,
                      float beta, float *c, ptrdiff_t ldc)
{
    for (int i = 0; i < m; i++) {
        float acc[16] = {0};
        for (int kk = 0; kk < k; kk++) {
            float ai = arow ? a[i * sa + kk] : a[i + kk * sa];
            const float *bk = b + kk * rsb;
            for (int j = 0; j < n; j++)
                acc[j] += ai * bk[j];
        }
        float *cp = c + i * ldc;
        for (int j = 0; j < n; j++)
            cp[j] = beta == 0 ? alpha * acc[j] : alpha * acc[j] + beta * cp[j];
    }
}

static void gemm_kernel(int m, int n, int k, int arow, const float *a,
                        ptrdiff_t sa, const float *b, ptrdiff_t rsb,
                        ptrdiff_t psb, float alpha, float beta, float *c,
                        ptrdiff_t ldc)
{
    /* a wide (1-row) tile is two panels side by side */
    for (int j0 = 0; j0 < n; j0 += 16, b += psb, c += 16) {
        int w = n - j0 < 16 ? n - j0 : 16;
        if (w == 16)
            tile_full(m, k, arow, a, sa, b, rsb, alpha, beta, c, ldc);
        else
            tile_edge(m, w, k, arow, a, sa, b, rsb, alpha, beta, c, ldc);
    }
}

#include "core/gemm_driver.h"
