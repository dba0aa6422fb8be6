/*
 * gemm_driver.h -- the BLIS-style blocking and packing around a register
 * micro-kernel, included once by each per-ISA file (gemm_avx512.c,
 * gemm_avx2.c, gemm_generic.c) so that the packing loops are compiled (and
 * vectorized) for that ISA too. Not a public header.
 *
 * The including file defines:
 *   GEMM_FN(x)      the exported names: GEMM_FN() is rnn__sgemm_<isa>,
 *                   GEMM_FN(_packed), GEMM_FN(_pack) (see gemm_internal.h)
 *   GEMM_MR         rows of the register tile (C rows per micro-kernel call)
 *   GEMM_NR         its columns, a multiple of 16 (one packed-B panel)
 *   GEMM_WIDE_M, GEMM_NR_WIDE, GEMM_NR_ONE
 *                   tiles of at most GEMM_WIDE_M rows are GEMM_NR_WIDE wide
 *                   instead, and 1-row tiles GEMM_NR_ONE (a 1-row tile of 32
 *                   columns would have too few independent accumulators to
 *                   hide the FMA latency)
 *   GEMM_STEP_MR    optional: row blocks of GEMM_WIDE_M+1 .. GEMM_SMALL_M
 *                   rows of a product with a pre-packed B (the per-step
 *                   products) take tiles of at most this many rows,
 *                   GEMM_NR_WIDE columns wide
 *   GEMM_KC, GEMM_MC, GEMM_NC   cache blocking, see below
 *   GEMM_SMALL_M    products with M <= this do not pack A
 *   GEMM_INPLACE_A  1: larger products do not pack A either (read in place)
 *   GEMM_KSEG       defined: gemm_kernel_ks() replaces gemm_kernel(), with a
 *                   gemm_kseg * (NULL, or a transposed A's grouped K rows
 *                   read in place: the pointer jumps between groups)
 *   GEMM_HAS_BIAS   defined: gemm_kernel_ks() takes a last argument, NULL
 *                   or a row added to the tile as it is stored (the bias of
 *                   GEMM_FN(_grouped) and GEMM_FN(_packed)); otherwise the
 *                   driver adds it to the stored tile while it is in L1
 *   gemm_kernel()   the micro-kernel:
 *
 *     static void gemm_kernel(int m, int n, int k, int arow,
 *                             const float *a, ptrdiff_t sa,
 *                             const float *b, ptrdiff_t rsb, ptrdiff_t psb,
 *                             float alpha, float beta, float *c,
 *                             ptrdiff_t ldc);
 *
 *   C[i][j] = alpha * sum_kk A(i,kk) B(kk,j) + beta * C[i][j] (beta == 0:
 *   C not read) for i < m <= tile height, j < n <= tile width, kk < k.
 *   A(i,kk) is a[i*sa + kk] when arow, else a[i + kk*sa] (packed A: sa = MR;
 *   a transposed A read in place: sa = lda). B(kk,j) is
 *   b[kk*rsb + (j/16)*psb + j%16]: packed panels have rsb = 16, psb = panel
 *   size; a row-major B read in place has rsb = ldb, psb = 16. The kernel
 *   must not read B columns >= n (they may be past the end of B).
 *
 * Blocking (Goto/BLIS): loop jc over NC-column blocks of C; loop pc over
 * KC-deep slices of K, packing op(B)[pc.., jc..] (KC x NC, a few MB, meant
 * for L3) into 16-column panels; loop ic over MC-row blocks (of nearly equal
 * height), packing op(A) (MC x KC, meant for L2) into MR-row micro-panels;
 * loop jr over NR-column micro-panels of B (KC x NR, in L1 or L2, reused by
 * every tile of the row block), loop ir over the MR-row tiles, each a
 * micro-kernel call streaming its A micro-panel from L2. Later K slices
 * accumulate onto C (beta = 1). A bias row is added once, by the tiles of
 * the last K slice: C = (alpha A op(B) + beta C) + bias, element by element
 * the same as the product followed by a pass adding the bias.
 *
 * Grouped rows (rnn__sgemm_mrows, rnn__sgemm_krows: the rows of one block
 * of batch rows of [T][B] data) are addressed through rnn__gemm_grow(): row
 * blocks end at group ends (M), and the packing and the in-place A reads
 * of a K slice follow the groups (K).
 *
 * Skinny products (M <= GEMM_SMALL_M, the per-step products of a recurrent
 * layer) read A in place (packing it would cost as much as using it) and
 * only pack B when it is transposed (see gemm_skinny). Products
 * with a pre-packed B (rnn__sgemm_packed) never pack anything.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <immintrin.h>
#endif

#ifndef GEMM_STACK_FLOATS
/* Packing buffers of at most this many floats (48 KB) live on the stack;
 * larger ones (blocked products, and skinny ones with a transposed B whose
 * K slice of min(N, 128) columns does not fit) are malloc'ed per call. */
#define GEMM_STACK_FLOATS 12288
#endif

#define GEMM_MIN(a, b) ((a) < (b) ? (a) : (b))

#ifndef GEMM_L2B
/* floats of a packed B block that products of short row blocks keep in L2 */
#define GEMM_L2B 65536
#endif

/* ---- packing --------------------------------------------------------- */

#ifdef __AVX2__
/* 8x8 transpose: dst row r (8 floats at dst + r*lds) = column r of the
 * 8x8 block at src (row stride lds_src). */
static inline void gemm_transpose8(float *dst, ptrdiff_t ldd, const float *src,
                                   ptrdiff_t lds)
{
    __m256 r0 = _mm256_loadu_ps(src + 0 * lds), r1 = _mm256_loadu_ps(src + 1 * lds);
    __m256 r2 = _mm256_loadu_ps(src + 2 * lds), r3 = _mm256_loadu_ps(src + 3 * lds);
    __m256 r4 = _mm256_loadu_ps(src + 4 * lds), r5 = _mm256_loadu_ps(src + 5 * lds);
    __m256 r6 = _mm256_loadu_ps(src + 6 * lds), r7 = _mm256_loadu_ps(src + 7 * lds);
    __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
    __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
    __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
    __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
    __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    _mm256_storeu_ps(dst + 0 * ldd, _mm256_permute2f128_ps(u0, u4, 0x20));
    _mm256_storeu_ps(dst + 1 * ldd, _mm256_permute2f128_ps(u1, u5, 0x20));
    _mm256_storeu_ps(dst + 2 * ldd, _mm256_permute2f128_ps(u2, u6, 0x20));
    _mm256_storeu_ps(dst + 3 * ldd, _mm256_permute2f128_ps(u3, u7, 0x20));
    _mm256_storeu_ps(dst + 4 * ldd, _mm256_permute2f128_ps(u0, u4, 0x31));
    _mm256_storeu_ps(dst + 5 * ldd, _mm256_permute2f128_ps(u1, u5, 0x31));
    _mm256_storeu_ps(dst + 6 * ldd, _mm256_permute2f128_ps(u2, u6, 0x31));
    _mm256_storeu_ps(dst + 7 * ldd, _mm256_permute2f128_ps(u3, u7, 0x31));
}
#endif

/* Transposing copy: dst[kk*ldd + i] = src[i*lds + kk] for i < w, kk < kc.
 * Packs A (rows of A become the MR-wide k-rows of a micro-panel) and a
 * transposed B (rows of B become panel columns), with 8x8 (AVX) and 4x4
 * (SSE) register transposes: a scalar loop costs ~1 ns per element here,
 * several percent of a large product. */
static void gemm_pack_t(float *dst, ptrdiff_t ldd, const float *src,
                        ptrdiff_t lds, int w, int kc)
{
    int i = 0;
#ifdef __AVX2__
    for (; i + 8 <= w; i += 8) {
        int kk = 0;
        for (; kk + 8 <= kc; kk += 8)
            gemm_transpose8(dst + kk * ldd + i, ldd, src + i * lds + kk, lds);
        for (; kk < kc; kk++)
            for (int r = 0; r < 8; r++)
                dst[kk * ldd + i + r] = src[(i + r) * lds + kk];
    }
#endif
#ifdef __SSE2__
    for (; i + 4 <= w; i += 4) {
        const float *s = src + i * lds;
        int kk = 0;
        for (; kk + 4 <= kc; kk += 4) {
            __m128 r0 = _mm_loadu_ps(s + kk), r1 = _mm_loadu_ps(s + lds + kk);
            __m128 r2 = _mm_loadu_ps(s + 2 * lds + kk);
            __m128 r3 = _mm_loadu_ps(s + 3 * lds + kk);
            _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
            _mm_storeu_ps(dst + kk * ldd + i, r0);
            _mm_storeu_ps(dst + (kk + 1) * ldd + i, r1);
            _mm_storeu_ps(dst + (kk + 2) * ldd + i, r2);
            _mm_storeu_ps(dst + (kk + 3) * ldd + i, r3);
        }
        for (; kk < kc; kk++)
            for (int r = 0; r < 4; r++)
                dst[kk * ldd + i + r] = s[r * lds + kk];
    }
#endif
    /* remaining rows: walk each source row contiguously */
    for (; i < w; i++) {
        const float *s = src + i * lds;
        for (int kk = 0; kk < kc; kk++)
            dst[kk * ldd + i] = s[kk];
    }
}

/* Rows of the t-th of nt tiles splitting mc rows evenly: heights differ by
 * at most one, so a remainder never makes a tile of 1-3 rows (too few
 * accumulators to keep the FMA units busy) when mc > MR. */
static inline int gemm_tile_start(int t, int nt, int mc)
{
    return (int)((long)t * mc / nt);
}

/* Packs the kc x nc block of op(B) whose element (kk, j) is
 * src[kk*rs + j*cs] (one of rs, cs is 1) into ceil(nc/16) panels of kc x 16
 * at dst + p * ps, zero-filling panel columns past nc. roff (tb = 0 only):
 * NULL, or row kk of B is at B + roff[kk] * ldb (rows gathered). */
static void gemm_pack_b(float *dst, ptrdiff_t ps, int tb, int kc, int nc,
                        const float *B, ptrdiff_t ldb, const ptrdiff_t *roff)
{
    if (!tb) {
        /* row by row of B (contiguous reads the prefetcher follows), each
         * row scattered over the panels */
        int full = nc / 16, w = nc % 16;
        for (int kk = 0; kk < kc; kk++) {
            const float *s = B + (roff ? roff[kk] : kk) * ldb;
            float *d = dst + kk * 16;
            for (int p = 0; p < full; p++) /* constant size: vector moves */
                memcpy(d + p * ps, s + p * 16, sizeof(float) * 16);
            if (w) {
                memcpy(d + full * ps, s + full * 16, sizeof(float) * (size_t)w);
                memset(d + full * ps + w, 0, sizeof(float) * (size_t)(16 - w));
            }
        }
        return;
    }
    for (int j0 = 0; j0 < nc; j0 += 16, dst += ps) {
        int w = GEMM_MIN(16, nc - j0);
        gemm_pack_t(dst, 16, B + j0 * ldb, ldb, w, kc);
        if (w < 16)
            for (int kk = 0; kk < kc; kk++)
                memset(dst + kk * 16 + w, 0, sizeof(float) * (size_t)(16 - w));
    }
}

/* Packs the mc x kc block of a transposed A (element (i, kk) at
 * A[r(kk)*lda + i], r(kk) = roff ? roff[kk] : kk) into the nt tiles'
 * micro-panels, tile by tile. */
static void gemm_pack_at(float *dst, int kc, int mc, int nt, const float *A,
                         ptrdiff_t lda, const ptrdiff_t *roff)
{
    for (int t = 0; t < nt; t++) {
        int i0 = gemm_tile_start(t, nt, mc), m = gemm_tile_start(t + 1, nt, mc) - i0;
        float *d = dst + (size_t)t * GEMM_MR * kc;
        const float *s = A + i0;
        for (int kk = 0; kk < kc; kk++) {
            const float *sk = s + (roff ? roff[kk] : kk) * lda;
            if (m == GEMM_MR) /* constant size: vector moves */
                memcpy(d + kk * GEMM_MR, sk, sizeof(float) * GEMM_MR);
            else
                for (int i = 0; i < m; i++)
                    d[kk * GEMM_MR + i] = sk[i];
        }
    }
}

/* ---- the blocked product ---------------------------------------------- */

typedef struct {
    int M, N, K;
    float alpha, beta;
    int ta;          /* op(A) = A^T */
    const float *A;
    ptrdiff_t lda;
    int bmode;       /* 0: row-major op(B) read in place; 1: pack it (tb=0),
                        2: pack it transposed (tb=1); 3: pre-packed panels */
    const float *B;
    ptrdiff_t ldb;   /* bmode 3: panel size (K*16) */
    float *C;
    ptrdiff_t ldc;
    int pack_a;
    int kc_blk, mc_blk, nc_blk;
    int mg, kg;      /* rows of A and C (mg) or of A^T and B (kg) grouped,  */
    ptrdiff_t mgs, kgs; /* rnn__gemm_grow(); 0: contiguous                 */
    ptrdiff_t *roff; /* kg: GEMM_KC entries, the rows of the current slice */
    float *abuf;     /* pack_a: MC*KC floats */
    float *bbuf;     /* bmode 1,2: kc_blk*round_up(nc_blk,16) floats */
    const float *bias; /* NULL, or N floats added to every row of C */
} gemm_args;

#ifndef GEMM_HAS_BIAS
/* c[i][j] += bias[j], i < m, j < n: a tile just stored, still in L1 */
static void gemm_add_bias(int m, int n, float *c, ptrdiff_t ldc, const float *bias)
{
    for (int i = 0; i < m; i++, c += ldc)
        for (int j = 0; j < n; j++)
            c[j] += bias[j];
}
#endif

static void gemm_block(const gemm_args *g)
{
    const int M = g->M, N = g->N, K = g->K;
    /* grouped K rows: where the rows of the current slice are */
    ptrdiff_t *const roff = g->kg ? g->roff : NULL;
    for (int jc = 0; jc < N; jc += g->nc_blk) {
        int nc = GEMM_MIN(g->nc_blk, N - jc);
        for (int pc = 0; pc < K; pc += g->kc_blk) {
            int kc = GEMM_MIN(g->kc_blk, K - pc);
            /* later K slices accumulate onto the first; the last adds
             * the bias */
            float beta = pc == 0 ? g->beta : 1.0f;
            const float *bias = g->bias && pc + kc >= K ? g->bias + jc : NULL;
            const float *bp;
            ptrdiff_t rsb, psb;
            gemm_kseg ks = {0, 0, 0};
            if (roff) {
                for (int kk = 0; kk < kc; kk++)
                    roff[kk] = rnn__gemm_grow(g->kg, g->kgs, pc + kk);
                /* in place: the slice starts pc % kg rows into a group */
                ks.first = g->kg - pc % g->kg;
                ks.g = g->kg;
                ks.jump = (g->kgs - g->kg) * g->lda;
            }
#ifndef GEMM_KSEG
            (void)ks;
#endif
            switch (g->bmode) {
            case 0:
                bp = g->B + pc * g->ldb + jc;
                rsb = g->ldb;
                psb = 16;
                break;
            case 1:
                gemm_pack_b(g->bbuf, (ptrdiff_t)kc * 16, 0, kc, nc,
                            g->B + (roff ? 0 : pc * g->ldb) + jc, g->ldb, roff);
                bp = g->bbuf;
                rsb = 16;
                psb = (ptrdiff_t)kc * 16;
                break;
            case 2:
                gemm_pack_b(g->bbuf, (ptrdiff_t)kc * 16, 1, kc, nc,
                            g->B + jc * g->ldb + pc, g->ldb, NULL);
                bp = g->bbuf;
                rsb = 16;
                psb = (ptrdiff_t)kc * 16;
                break;
            default: /* pre-packed: panel jc/16 (jc is a multiple of 16) */
                bp = g->B + (jc / 16) * g->ldb + pc * 16;
                rsb = 16;
                psb = g->ldb;
                break;
            }
            for (int ic = 0, mc; ic < M; ic += mc) {
                mc = GEMM_MIN(g->mc_blk, M - ic);
                /* ra: the row of A and C where the block starts (grouped
                 * rows: a block never crosses the end of a group) */
                ptrdiff_t ra = ic;
                if (g->mg) {
                    mc = GEMM_MIN(mc, g->mg - ic % g->mg);
                    ra = rnn__gemm_grow(g->mg, g->mgs, ic);
                }
                int nt = (mc + GEMM_MR - 1) / GEMM_MR;
#ifdef GEMM_STEP_MR
                const int stepw = g->bmode == 3 && mc > GEMM_WIDE_M && mc <= GEMM_SMALL_M;
                if (stepw)
                    nt = (mc + GEMM_STEP_MR - 1) / GEMM_STEP_MR;
#else
                const int stepw = 0;
#endif
                if (g->pack_a && g->ta)
                    gemm_pack_at(g->abuf, kc, mc, nt, g->A + (roff ? 0 : pc * g->lda) + ic,
                                 g->lda, roff);
                else if (g->pack_a)
                    for (int t = 0; t < nt; t++) {
                        ptrdiff_t r0 = ra + gemm_tile_start(t, nt, mc);
                        int m = gemm_tile_start(t + 1, nt, mc) - gemm_tile_start(t, nt, mc);
                        gemm_pack_t(g->abuf + (size_t)t * GEMM_MR * kc, GEMM_MR,
                                    g->A + r0 * g->lda + pc, g->lda, m, kc);
                    }
                int nr = mc == 1 ? GEMM_NR_ONE : mc <= GEMM_WIDE_M || stepw ? GEMM_NR_WIDE : GEMM_NR;
                for (int jr = 0; jr < nc; jr += nr) {
                    int n = GEMM_MIN(nr, nc - jr);
                    const float *b = bp + (jr / 16) * psb;
                    float *c = g->C + ra * g->ldc + jc + jr;
                    for (int t = 0; t < nt; t++) {
                        int i0 = gemm_tile_start(t, nt, mc);
                        int m = gemm_tile_start(t + 1, nt, mc) - i0;
                        const float *a;
                        ptrdiff_t sa;
                        int arow = 0;
                        if (g->pack_a) {
                            a = g->abuf + (size_t)t * GEMM_MR * kc;
                            sa = GEMM_MR;
                        } else if (g->ta) {
                            a = g->A + (roff ? roff[0] : pc) * g->lda + ic + i0;
                            sa = g->lda;
                        } else {
                            a = g->A + (ra + i0) * g->lda + pc;
                            sa = g->lda;
                            arow = 1;
                        }
#if defined(GEMM_KSEG) && defined(GEMM_HAS_BIAS)
                        gemm_kernel_ks(m, n, kc, arow, a, sa, roff && !g->pack_a ? &ks : NULL,
                                       b, rsb, psb, g->alpha, beta, c + i0 * g->ldc, g->ldc,
                                       bias ? bias + jr : NULL);
#elif defined(GEMM_KSEG)
                        gemm_kernel_ks(m, n, kc, arow, a, sa, roff && !g->pack_a ? &ks : NULL,
                                       b, rsb, psb, g->alpha, beta, c + i0 * g->ldc, g->ldc);
#else
                        gemm_kernel(m, n, kc, arow, a, sa, b, rsb, psb,
                                    g->alpha, beta, c + i0 * g->ldc, g->ldc);
#endif
#ifndef GEMM_HAS_BIAS
                        if (bias)
                            gemm_add_bias(m, n, c + i0 * g->ldc, g->ldc, bias + jr);
#endif
                    }
                }
            }
        }
    }
}

/* Skinny configuration: A read in place; a transposed B packed one block
 * of columns at a time (a block of op(B) is used by all M rows at once, so
 * there is no reuse across blocks to lose). The K slices are GEMM_KC deep
 * as in the blocked configuration, whatever M: each element of C is then
 * the same sums in the same order whichever configuration computes it, so
 * a product split by rows (threads) gives bitwise the rows of the whole.
 * The packing buffer is on the stack when a slice of min(N, 128) columns
 * fits there, else on the heap (*heap, freed by the caller); only if that
 * allocation fails are the slices made shallower (slower, and the last bits
 * may then differ from a call that did not run out of memory). */
static void gemm_skinny(gemm_args *g, int tb, float *stackbuf, void **heap)
{
    g->pack_a = 0;
    g->mc_blk = GEMM_MIN(g->M, GEMM_MC);
    g->kc_blk = GEMM_MIN(g->K, GEMM_KC);
    if (!tb) {
        g->bmode = 0;
        g->nc_blk = g->N;
        return;
    }
    g->bmode = 2;
    const int want = GEMM_MIN((g->N + 15) / 16 * 16, 128); /* >= one 1-row tile */
    if ((size_t)g->kc_blk * want <= GEMM_STACK_FLOATS) {
        g->bbuf = stackbuf;
        g->nc_blk = GEMM_STACK_FLOATS / g->kc_blk / 16 * 16;
        return;
    }
    if (!*heap)
        *heap = malloc(sizeof(float) * ((size_t)g->kc_blk * want + 16));
    if (*heap) {
        g->bbuf = (float *)(((uintptr_t)*heap + 63) & ~(uintptr_t)63);
        g->nc_blk = want;
        return;
    }
    /* out of memory: shallower slices, so that 64 columns fit the stack */
    g->bbuf = stackbuf;
    g->kc_blk = GEMM_STACK_FLOATS / 64;
    g->nc_blk = 64;
}

/* The product, its rows grouped (gemm_args.mg, kg) or not. Grouped K rows
 * (ta = 1, tb = 0) take the blocked configuration whatever M (B is packed
 * from its gathered rows); A is read in place by a kernel that can jump
 * between groups (GEMM_KSEG), else packed from its gathered rows. Grouped M
 * rows make row blocks that never cross a group. */
static void gemm_run(gemm_args *g, int tb)
{
    _Alignas(64) float stackbuf[GEMM_STACK_FLOATS];
    void *heap = NULL;
    const int M = g->M, N = g->N, K = g->K;
    if (M <= GEMM_SMALL_M && !g->kg) {
        gemm_skinny(g, tb, stackbuf, &heap);
    } else {
        /* GEMM_INPLACE_A: A is read in place, a transposed A's micro-panel
         * rows (MR consecutive floats per k) being as good as packed ones,
         * and the MR row streams of a plain A as good too: a separate
         * packing pass, not overlapped with the FMAs, costs 5-15% of a
         * product with N <= 512 (AVX-512 on Zen 5; the AVX2 and portable
         * kernels, with 4-6 rows, do better packed) */
#ifdef GEMM_KSEG
        g->pack_a = !GEMM_INPLACE_A;
#else
        g->pack_a = !GEMM_INPLACE_A || g->kg;
#endif
        g->bmode = tb ? 2 : 1;
        g->kc_blk = GEMM_MIN(K, GEMM_KC);
        /* row blocks of nearly equal height (M = 256: 2 x 128, not
         * 240 + 16; grouped rows: of a group), whole tiles each */
        const int rows = g->mg ? g->mg : M;
        int nblk = (rows + GEMM_MC - 1) / GEMM_MC;
        g->mc_blk = ((rows + nblk - 1) / nblk + GEMM_MR - 1) / GEMM_MR * GEMM_MR;
        g->nc_blk = GEMM_MIN(N, GEMM_NC);
        if (g->mg && g->mg < GEMM_MC) {
            /* short row blocks (a group each) stream the packed B block
             * once per group: keep it in L2 (GEMM_L2B floats) */
            int nc = GEMM_L2B / g->kc_blk / 64 * 64;
            g->nc_blk = GEMM_MIN(g->nc_blk, nc > 64 ? nc : 64);
        }
        size_t nt = (size_t)(g->mc_blk + GEMM_MR - 1) / GEMM_MR;
        size_t na = g->pack_a ? nt * GEMM_MR * (size_t)g->kc_blk : 0;
        size_t nb = (size_t)g->kc_blk * (size_t)((g->nc_blk + 15) / 16 * 16);
        float *buf = stackbuf;
        if (na + nb + 16 > GEMM_STACK_FLOATS)
            buf = heap = malloc(sizeof(float) * (na + nb + 16));
        if (buf) {
            /* B panels start on a cache line (malloc aligns to 16) */
            float *p = (float *)(((uintptr_t)buf + 63) & ~(uintptr_t)63);
            g->bbuf = p;
            g->abuf = p + nb;
        } else if (!g->kg) {
            gemm_skinny(g, tb, stackbuf, &heap); /* out of memory: slower, correct */
        } else {
            /* out of memory, grouped K: shallow slices whose A and B blocks
             * fit the stack (slower; the last bits may differ) */
            g->kc_blk = 64;
            g->mc_blk = GEMM_MR * 4;
            g->nc_blk = (GEMM_STACK_FLOATS - 16 - 4 * GEMM_MR * 64) / 64 / 16 * 16;
            float *p = (float *)(((uintptr_t)stackbuf + 63) & ~(uintptr_t)63);
            g->bbuf = p;
            g->abuf = p + (size_t)64 * g->nc_blk;
        }
    }
    gemm_block(g);
    free(heap);
}

void GEMM_FN()(int ta, int tb, int M, int N, int K, float alpha,
               const float *A, int lda, const float *B, int ldb, float beta,
               float *C, int ldc)
{
    gemm_args g = {
        .M = M, .N = N, .K = K, .alpha = alpha, .beta = beta, .ta = ta,
        .A = A, .lda = lda, .B = B, .ldb = ldb, .C = C, .ldc = ldc,
    };
    gemm_run(&g, tb);
}

void GEMM_FN(_grouped)(int mg, int kg, int gs, int ta, int tb, int M, int N, int K,
                       float alpha, const float *A, int lda, const float *B, int ldb,
                       float beta, float *C, int ldc, const float *bias)
{
    ptrdiff_t roff[GEMM_KC];
    gemm_args g = {
        .M = M, .N = N, .K = K, .alpha = alpha, .beta = beta, .ta = ta,
        .A = A, .lda = lda, .B = B, .ldb = ldb, .C = C, .ldc = ldc,
        .mg = mg, .mgs = mg ? gs : 0, .kg = kg, .kgs = kg ? gs : 0, .roff = roff,
        .bias = bias,
    };
    gemm_run(&g, tb);
}

void GEMM_FN(_packed)(int M, int N, int K, float alpha, const float *A,
                      int lda, const float *panels, float beta, float *C,
                      int ldc, const float *bias)
{
    /* No allocation: A is read in place (row blocks of MC rows keep the
     * part of A that a panel sweep touches in L2). */
    gemm_args g = {
        .M = M, .N = N, .K = K, .alpha = alpha, .beta = beta, .ta = 0,
        .A = A, .lda = lda, .bmode = 3, .B = panels,
        .ldb = (ptrdiff_t)K * 16, .C = C, .ldc = ldc, .pack_a = 0,
        .kc_blk = GEMM_MIN(K, GEMM_KC), .mc_blk = GEMM_MIN(M, GEMM_MC),
        .nc_blk = N, .bias = bias,
    };
    gemm_block(&g);
}

void GEMM_FN(_pack)(float *panels, int tb, int K, int N, const float *B,
                    int ldb)
{
    gemm_pack_b(panels, (ptrdiff_t)K * 16, tb, K, N, B, ldb, NULL);
}
