/*
 * gemm_avx2.c -- SGEMM micro-kernels for AVX2 + FMA, compiled with
 * -mavx2 -mfma (Makefile rule for this file only). Only called by gemm.c
 * after __builtin_cpu_supports.
 *
 * Register tile: 6 rows x 16 columns of C (one packed-B panel) = 12 ymm
 * accumulators, 2 ymm for the row of B, 1 for the broadcast of A: 15 of 16
 * registers. Per k step: 2 loads + 6 broadcasts for 12 FMAs (6 cycles on two
 * FMA pipes); 12 independent accumulators cover the FMA latency. Tiles of
 * 2 rows are 32 columns wide (8 accumulators), 1-row tiles 64 (8). Every
 * tile sums each element over k in the same order.
 *
 * Column edges (n < tile width): a separate instance with masked loads of B
 * (vmaskmovps never faults on masked-off lanes, so B can be read in place)
 * and masked stores of C; the full-width instance has plain loads.
 */
#include "core/gemm_internal.h"
#include "core/unroll.h"

#if defined(RNN__GEMM_X86) && !(defined(__AVX2__) && defined(__FMA__))
/* gemm.c calls this file's functions on x86-64: it must be compiled with
 * its ISA flags (the Makefile's per-file rule) */
#error "compile gemm_avx2.c with -mavx2 -mfma"
#endif

#if defined(RNN__GEMM_X86) && defined(__AVX2__) && defined(__FMA__)

#include <immintrin.h>

#define GEMM_FN(x) rnn__sgemm_avx2##x
#define GEMM_MR 6
#define GEMM_NR 16
#define GEMM_WIDE_M 2
#define GEMM_NR_WIDE 32
#define GEMM_NR_ONE 64
/* KC: the 16-column B micro-panel (KC x 64 bytes = 32 KB) stays in L1
 * across the tiles of a block; MC: the packed A block (MC x KC = 480 KB) in
 * L2; NC: the packed B block in L3. */
#define GEMM_KC 512
#define GEMM_MC 240
#define GEMM_NC 4096
#define GEMM_SMALL_M 64
#define GEMM_INPLACE_A 0

#define AI static inline __attribute__((always_inline))

static inline __m256i col_mask(int n, int v)
{
    /* lane l of vector v is on iff 8v + l < n */
    __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n - 8 * v), lane);
}

AI __m256 load_b(const int masked, const float *p, __m256i m)
{
    return masked ? _mm256_maskload_ps(p, m) : _mm256_loadu_ps(p);
}

/* Where vector v (8 floats) of a B row is: half v%2 of panel v/2; when it
 * is entirely past n, the start of the row instead (all its lanes are
 * masked off, but vmaskmovps still takes a microcode assist if the address
 * is on an unmapped page, as the memory past a B buffer can be). */
static inline ptrdiff_t b_off(int masked, int n, int v, ptrdiff_t psb)
{
    if (masked && 8 * v >= n)
        return 0;
    return (v / 2) * psb + 8 * (v % 2);
}

/* MRc rows x NVc 8-float vectors (NVc even: whole 16-column panels). */
AI void tile(const int MRc, const int NVc, const int arow, const int masked,
             int k, const float *a, ptrdiff_t sa, const float *b,
             ptrdiff_t rsb, ptrdiff_t psb, float alpha, float beta, float *c,
             ptrdiff_t ldc, int n)
{
    __m256 acc[GEMM_MR][4];
    __m256i mk[4];
    ptrdiff_t off[4];
RNN__UNROLL
    for (int v = 0; v < NVc; v++) {
        mk[v] = masked ? col_mask(n, v) : _mm256_set1_epi32(-1);
        off[v] = b_off(masked, n, v, psb);
    }
RNN__UNROLL
    for (int i = 0; i < MRc; i++)
RNN__UNROLL
        for (int v = 0; v < NVc; v++)
            acc[i][v] = _mm256_setzero_ps();
    for (int kk = 0; kk < k; kk++) {
        __m256 bv[4];
RNN__UNROLL
        for (int v = 0; v < NVc; v++)
            bv[v] = load_b(masked, b + off[v], mk[v]);
RNN__UNROLL
        for (int i = 0; i < MRc; i++) {
            __m256 ai = _mm256_broadcast_ss(arow ? a + i * sa : a + i);
RNN__UNROLL
            for (int v = 0; v < NVc; v++)
                acc[i][v] = _mm256_fmadd_ps(ai, bv[v], acc[i][v]);
        }
        b += rsb;
        a += arow ? 1 : sa;
    }
    __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
RNN__UNROLL
    for (int i = 0; i < MRc; i++)
RNN__UNROLL
        for (int v = 0; v < NVc; v++) {
            float *cp = c + i * ldc + 8 * v;
            __m256 r = _mm256_mul_ps(va, acc[i][v]);
            if (masked) {
                if (beta != 0)
                    r = _mm256_fmadd_ps(vb, _mm256_maskload_ps(cp, mk[v]), r);
                _mm256_maskstore_ps(cp, mk[v], r);
            } else {
                if (beta != 0)
                    r = _mm256_fmadd_ps(vb, _mm256_loadu_ps(cp), r);
                _mm256_storeu_ps(cp, r);
            }
        }
}

/* One row, 8 vectors (64 columns, 8 independent FMA chains). Every element
 * is summed over k in order, as in the taller tiles: a row of C comes out
 * bitwise the same whatever tile computes it, so splitting the rows of a
 * product differently (other thread counts) changes nothing. */
AI void tile1(const int arow, const int masked, int k, const float *a,
              ptrdiff_t sa, const float *b, ptrdiff_t rsb, ptrdiff_t psb,
              float alpha, float beta, float *c, int n)
{
    __m256 acc[8];
    __m256i mk[8];
    ptrdiff_t off[8], sk = arow ? 1 : sa;
RNN__UNROLL
    for (int v = 0; v < 8; v++) {
        mk[v] = masked ? col_mask(n, v) : _mm256_set1_epi32(-1);
        off[v] = b_off(masked, n, v, psb);
        acc[v] = _mm256_setzero_ps();
    }
    for (int kk = 0; kk < k; kk++) {
        __m256 a0 = _mm256_broadcast_ss(a);
RNN__UNROLL
        for (int v = 0; v < 8; v++)
            acc[v] = _mm256_fmadd_ps(a0, load_b(masked, b + off[v], mk[v]), acc[v]);
        b += rsb;
        a += sk;
    }
    __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
RNN__UNROLL
    for (int v = 0; v < 8; v++) {
        float *cp = c + 8 * v;
        __m256 r = _mm256_mul_ps(va, acc[v]);
        if (masked) {
            if (beta != 0)
                r = _mm256_fmadd_ps(vb, _mm256_maskload_ps(cp, mk[v]), r);
            _mm256_maskstore_ps(cp, mk[v], r);
        } else {
            if (beta != 0)
                r = _mm256_fmadd_ps(vb, _mm256_loadu_ps(cp), r);
            _mm256_storeu_ps(cp, r);
        }
    }
}

#define KARGS                                                                  \
    int k, const float *a, ptrdiff_t sa, const float *b, ptrdiff_t rsb,        \
        ptrdiff_t psb, float alpha, float beta, float *c, ptrdiff_t ldc, int n
typedef void kern_fn(KARGS);

#define TILE(MRc, NVc, AR, MS)                                                 \
    static void tile_##AR##MS##_##MRc##x##NVc(KARGS)                           \
    {                                                                          \
        tile(MRc, NVc, AR, MS, k, a, sa, b, rsb, psb, alpha, beta, c, ldc, n); \
    }
#define TILE1(AR, MS)                                                          \
    static void tile_##AR##MS##_1x8(KARGS)                                     \
    {                                                                          \
        (void)ldc;                                                             \
        tile1(AR, MS, k, a, sa, b, rsb, psb, alpha, beta, c, n);               \
    }
#define TILES(AR, MS)                                                          \
    TILE(1, 2, AR, MS) TILE(2, 2, AR, MS) TILE(3, 2, AR, MS)                   \
    TILE(4, 2, AR, MS) TILE(5, 2, AR, MS) TILE(6, 2, AR, MS)                   \
    TILE(1, 4, AR, MS) TILE1(AR, MS) TILE(2, 4, AR, MS)
TILES(0, 0)
TILES(0, 1)
TILES(1, 0)
TILES(1, 1)

#define ROWS16(AR, MS)                                                         \
    {0, tile_##AR##MS##_1x2, tile_##AR##MS##_2x2, tile_##AR##MS##_3x2,         \
     tile_##AR##MS##_4x2, tile_##AR##MS##_5x2, tile_##AR##MS##_6x2}
#define ROWS32(AR, MS) {0, tile_##AR##MS##_1x4, tile_##AR##MS##_2x4}
/* [arow][masked][m] */
static kern_fn *const tiles16[2][2][GEMM_MR + 1] = {
    {ROWS16(0, 0), ROWS16(0, 1)}, {ROWS16(1, 0), ROWS16(1, 1)}};
static kern_fn *const tiles32[2][2][GEMM_WIDE_M + 1] = {
    {ROWS32(0, 0), ROWS32(0, 1)}, {ROWS32(1, 0), ROWS32(1, 1)}};

static void gemm_kernel(int m, int n, int k, int arow, const float *a,
                        ptrdiff_t sa, const float *b, ptrdiff_t rsb,
                        ptrdiff_t psb, float alpha, float beta, float *c,
                        ptrdiff_t ldc)
{
    kern_fn *f;
    if (m == 1 && n > 32)
        f = arow ? (n < 64 ? tile_11_1x8 : tile_10_1x8) : (n < 64 ? tile_01_1x8 : tile_00_1x8);
    else if (n > 16)
        f = tiles32[arow][n < 32][m];
    else
        f = tiles16[arow][n < 16][m];
    f(k, a, sa, b, rsb, psb, alpha, beta, c, ldc, n);
}

#include "core/gemm_driver.h"

#endif
