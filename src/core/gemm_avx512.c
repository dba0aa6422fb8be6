/*
 * gemm_avx512.c -- SGEMM micro-kernels for AVX-512 (F, with FMA), compiled
 * with -mavx512f -mavx512bw -mavx512vl -mavx512dq -mfma (Makefile rule for
 * this file only). Only called by gemm.c after __builtin_cpu_supports.
 *
 * Register tile: 12 rows x 32 columns of C = 24 zmm accumulators, 2 zmm for
 * the current row of B (two 16-column panels), 1 for the broadcast of A: 27
 * of 32 registers (14 rows, 28 accumulators, left too few and measured 15%
 * slower). Per k step: 2 vector loads + 12 broadcast loads for 24 FMAs (12
 * cycles on two 512-bit FMA pipes), so loads are never the bottleneck, and
 * 24 independent accumulators cover the FMA latency (4 cycles x 2 pipes = 8
 * needed). 12 rows divide the recurrent batch sizes poorly (32 = 11+11+10
 * after balancing), but any tile of >= 4 rows still has >= 8 accumulators,
 * so the balanced tiles lose nothing. Tiles of 2-3 rows are 64 columns wide
 * instead, and 1-row tiles 128 (8 independent chains). The per-step
 * products of a recurrent layer (pre-packed B, 4-64 rows) take tiles of at
 * most 6 rows x 64 columns (GEMM_STEP_MR): per k step 4 vector loads + 6
 * broadcasts for 24 FMAs, and a batch of 32 rows is 6 tiles of 5-6 rows; a
 * 2x256 LSTM forward measured 1-2% faster at 1 thread and 3% at 2 than with
 * the 12x32 tiles (pinned A/B runs, 2026-11-24), the products alone the same
 * within noise. Every tile sums each
 * element over k in the same order, so a row of C is bitwise the same
 * whatever tile height computes it.
 *
 * In isolation (operands in L1/L2) the 12x32 kernel runs at 98% of the FMA
 * peak; the C tile is prefetched at its start, since C is only touched after
 * the k loop.
 *
 * Column edges use mask registers: B loads and C loads/stores past n are
 * masked off (masked loads never fault), so B can be read in place.
 */
#include "core/gemm_internal.h"
#include "core/unroll.h"

#if defined(RNN__GEMM_X86) && !(defined(__AVX512F__) && defined(__FMA__))
/* gemm.c calls this file's functions on x86-64: it must be compiled with
 * its ISA flags (the Makefile's per-file rule) */
#error "compile gemm_avx512.c with -mavx512f -mavx512bw -mavx512vl -mavx512dq -mfma"
#endif

#if defined(RNN__GEMM_X86) && defined(__AVX512F__) && defined(__FMA__)

#include <immintrin.h>

#define GEMM_FN(x) rnn__sgemm_avx512##x
#define GEMM_MR 12
#define GEMM_NR 32
#define GEMM_WIDE_M 3
#define GEMM_STEP_MR 6 /* per-step products: tiles of <= 6 rows, 64 columns */
#define GEMM_NR_WIDE 64
#define GEMM_NR_ONE 128
/* Measured on Zen 5 (48 KB L1D, 1 MB L2), 2048^3: KC = 256 / 384 / 512 / 768
 * gave 180 / 185 / 194 / 174 GFLOP/s. With KC = 512 the B micro-panel
 * (512 x 32 floats = 64 KB) streams from L2 rather than sitting in L1, which
 * costs nothing here (2 lines per 12 cycles), while the C tile is read and
 * written half as often. MC: the A block (MC x KC = 480 KB) stays in L2. NC:
 * the packed B block (KC x NC = 8 MB) in L3. */
#define GEMM_KC 512
#define GEMM_MC 240
#define GEMM_NC 4096
#define GEMM_SMALL_M 64
#define GEMM_INPLACE_A 1
/* the kernel reads grouped K rows of a transposed A in place */
#define GEMM_KSEG 1
/* ...and adds a row vector (a bias) to the tile it stores (gemm_driver.h) */
#define GEMM_HAS_BIAS 1

#define AI static inline __attribute__((always_inline))

static inline __mmask16 col_mask(int n, int v)
{
    int r = n - 16 * v;
    return r >= 16 ? (__mmask16)0xFFFF : r <= 0 ? 0 : (__mmask16)((1u << r) - 1);
}

/* Where vector v of a B row is: panel v, or, when it is entirely past n,
 * panel 0 again. Its lanes are all masked off then, but a masked load still
 * costs a microcode assist (hundreds of cycles) when the address is on a
 * page that is not mapped, as the memory just past a B buffer can be:
 * measured 40% slower products on Zen 5 without this. */
static inline ptrdiff_t panel_off(int n, int v, ptrdiff_t psb)
{
    return 16 * v < n ? v * psb : 0;
}

/* The tile, for compile-time MRc rows, NVc 16-column vectors; the loops
 * over them unroll completely and acc[][] lives in registers. It stores
 * alpha acc (+ beta C) (+ the bias row, when not NULL: its first n floats,
 * for the tile's columns). */
AI void tile(const int MRc, const int NVc, const int arow, int k,
             const float *a, ptrdiff_t sa, const gemm_kseg *ks, const float *b,
             ptrdiff_t rsb, ptrdiff_t psb, float alpha, float beta, float *c,
             ptrdiff_t ldc, int n, const float *bias)
{
    __m512 acc[GEMM_MR][4];
    __mmask16 mk[4];
    ptrdiff_t off[4];
RNN__UNROLL
    for (int v = 0; v < NVc; v++) {
        mk[v] = col_mask(n, v);
        off[v] = panel_off(n, v, psb);
    }
RNN__UNROLL
    for (int i = 0; i < MRc; i++)
RNN__UNROLL
        for (int v = 0; v < NVc; v++)
            acc[i][v] = _mm512_setzero_ps();
    /* C is read (and written) only after the k loop: start fetching it
     * now so that the misses (rows ldc apart) overlap the FMAs. */
RNN__UNROLL
    for (int i = 0; i < MRc; i++)
RNN__UNROLL
        for (int v = 0; v < NVc; v++)
            _mm_prefetch((const char *)(c + i * ldc + 16 * v), _MM_HINT_T0);
    /* ...but do not keep the 12 row addresses alive through the loop (the
     * compiler would, and spill a B vector for lack of registers) */
    __asm__("" : "+r"(c));
    /* k steps in segments: one, or the groups of grouped K rows */
    for (int kk = 0, seg = ks ? ks->first : k; kk < k; seg = ks ? ks->g : k) {
        seg = seg < k - kk ? seg : k - kk;
        for (int s = 0; s < seg; s++) {
            __m512 bv[4];
RNN__UNROLL
            for (int v = 0; v < NVc; v++)
                bv[v] = _mm512_maskz_loadu_ps(mk[v], b + off[v]);
RNN__UNROLL
            for (int i = 0; i < MRc; i++) {
                __m512 ai = _mm512_set1_ps(arow ? a[i * sa] : a[i]);
RNN__UNROLL
                for (int v = 0; v < NVc; v++)
                    acc[i][v] = _mm512_fmadd_ps(ai, bv[v], acc[i][v]);
            }
            b += rsb;
            a += arow ? 1 : sa;
        }
        kk += seg;
        if (kk < k)
            a += ks->jump;
    }
    __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta), bb[4];
RNN__UNROLL
    for (int v = 0; v < NVc; v++) /* as panel_off: no masked load past the row */
        bb[v] = bias ? _mm512_maskz_loadu_ps(mk[v], bias + (16 * v < n ? 16 * v : 0))
                     : _mm512_setzero_ps();
RNN__UNROLL
    for (int i = 0; i < MRc; i++)
RNN__UNROLL
        for (int v = 0; v < NVc; v++) {
            float *cp = c + i * ldc + 16 * v;
            __m512 r = _mm512_mul_ps(va, acc[i][v]);
            if (beta != 0)
                r = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(mk[v], cp), r);
            if (bias)
                r = _mm512_add_ps(r, bb[v]);
            _mm512_mask_storeu_ps(cp, mk[v], r);
        }
}

/* One row, NVc vectors (up to 8: 128 columns, 8 independent FMA chains).
 * Every element is summed over k in order, as in the taller tiles: a row
 * of C comes out bitwise the same whatever tile computes it, so splitting
 * the rows of a product differently (other thread counts) changes nothing. */
AI void tile1(const int NVc, const int arow, int k, const float *a,
              ptrdiff_t sa, const gemm_kseg *ks, const float *b, ptrdiff_t rsb,
              ptrdiff_t psb, float alpha, float beta, float *c, int n,
              const float *bias)
{
    __m512 acc[8];
    __mmask16 mk[8];
    ptrdiff_t off[8], sk = arow ? 1 : sa;
RNN__UNROLL
    for (int v = 0; v < NVc; v++) {
        mk[v] = col_mask(n, v);
        off[v] = panel_off(n, v, psb);
        acc[v] = _mm512_setzero_ps();
    }
    for (int kk = 0, seg = ks ? ks->first : k; kk < k; seg = ks ? ks->g : k) {
        seg = seg < k - kk ? seg : k - kk;
        for (int s = 0; s < seg; s++) {
            __m512 a0 = _mm512_set1_ps(a[0]);
RNN__UNROLL
            for (int v = 0; v < NVc; v++)
                acc[v] = _mm512_fmadd_ps(a0, _mm512_maskz_loadu_ps(mk[v], b + off[v]), acc[v]);
            b += rsb;
            a += sk;
        }
        kk += seg;
        if (kk < k)
            a += ks->jump;
    }
    __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
RNN__UNROLL
    for (int v = 0; v < NVc; v++) {
        float *cp = c + 16 * v;
        __m512 r = _mm512_mul_ps(va, acc[v]);
        if (beta != 0)
            r = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(mk[v], cp), r);
        if (bias)
            r = _mm512_add_ps(r, _mm512_maskz_loadu_ps(mk[v], bias + (16 * v < n ? 16 * v : 0)));
        _mm512_mask_storeu_ps(cp, mk[v], r);
    }
}

#define KARGS                                                                  \
    int k, const float *a, ptrdiff_t sa, const gemm_kseg *ks, const float *b,  \
        ptrdiff_t rsb, ptrdiff_t psb, float alpha, float beta, float *c,       \
        ptrdiff_t ldc, int n, const float *bias
typedef void kern_fn(KARGS);

#define TILE(MRc, NVc, AR)                                                     \
    static void tile_##AR##_##MRc##x##NVc(KARGS)                               \
    {                                                                          \
        tile(MRc, NVc, AR, k, a, sa, ks, b, rsb, psb, alpha, beta, c, ldc, n,  \
             bias);                                                            \
    }
#define TILE1(NVc, AR)                                                         \
    static void tile_##AR##_1x##NVc(KARGS)                                     \
    {                                                                          \
        (void)ldc;                                                             \
        tile1(NVc, AR, k, a, sa, ks, b, rsb, psb, alpha, beta, c, n, bias);    \
    }
#define TILES(AR)                                                              \
    TILE1(2, AR) TILE(2, 2, AR) TILE(3, 2, AR) TILE(4, 2, AR) TILE(5, 2, AR)   \
    TILE(6, 2, AR) TILE(7, 2, AR) TILE(8, 2, AR) TILE(9, 2, AR)                \
    TILE(10, 2, AR) TILE(11, 2, AR) TILE(12, 2, AR) TILE1(4, AR)               \
    TILE1(8, AR) TILE(2, 4, AR) TILE(3, 4, AR) TILE(4, 4, AR) TILE(5, 4, AR)   \
    TILE(6, 4, AR)
TILES(0)
TILES(1)

/* [arow][m] for tiles up to 32 columns; [arow][m] for 1-6 rows up to 64 */
#define ROWS32(AR)                                                             \
    {0, tile_##AR##_1x2, tile_##AR##_2x2, tile_##AR##_3x2, tile_##AR##_4x2,   \
     tile_##AR##_5x2, tile_##AR##_6x2, tile_##AR##_7x2, tile_##AR##_8x2,       \
     tile_##AR##_9x2, tile_##AR##_10x2, tile_##AR##_11x2, tile_##AR##_12x2}
static kern_fn *const tiles32[2][GEMM_MR + 1] = {ROWS32(0), ROWS32(1)};
static kern_fn *const tiles64[2][GEMM_STEP_MR + 1] = {
    {0, tile_0_1x4, tile_0_2x4, tile_0_3x4, tile_0_4x4, tile_0_5x4, tile_0_6x4},
    {0, tile_1_1x4, tile_1_2x4, tile_1_3x4, tile_1_4x4, tile_1_5x4, tile_1_6x4},
};

/* ks: NULL, or the groups of a transposed A's grouped K rows, read in
 * place (gemm_driver.h, GEMM_KSEG); bias: NULL, or the row added to the
 * tile (GEMM_HAS_BIAS) */
static void gemm_kernel_ks(int m, int n, int k, int arow, const float *a,
                           ptrdiff_t sa, const gemm_kseg *ks, const float *b,
                           ptrdiff_t rsb, ptrdiff_t psb, float alpha,
                           float beta, float *c, ptrdiff_t ldc,
                           const float *bias)
{
    kern_fn *f = m == 1 && n > 64 ? (arow ? tile_1_1x8 : tile_0_1x8)
                 : n > 32         ? tiles64[arow][m]
                                  : tiles32[arow][m];
    f(k, a, sa, ks, b, rsb, psb, alpha, beta, c, ldc, n, bias);
}

#include "core/gemm_driver.h"

#endif
