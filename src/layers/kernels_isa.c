/*
 * kernels_isa.c -- the float pointwise kernels. The Makefile compiles this
 * file once per instruction set with RNN_ISA set to portable, avx2 or
 * avx512 and the matching -m flags, plus -O3 -fno-trapping-math
 * -fno-math-errno (which let the compiler if-convert the branch-free
 * activations and vectorize the loops, sqrtf included; results are the same
 * IEEE arithmetic). kernels.c picks one.
 */
#include "core/unroll.h"
#include "layers/kernels.h"

#include <math.h>
#include <string.h>

#ifndef RNN_ISA
#define RNN_ISA portable
#endif
#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define STR_(a) #a
#define STR(a) STR_(a)

#define REAL float
#define KFN(name) CAT(name##_, RNN_ISA)
#if defined(__AVX512F__) && defined(__FMA__)
#include <immintrin.h>
/* AVX-512: the LSTM step written with intrinsics, the same polynomials as
 * act_inline.h (operation for operation) but the divisions of the sigmoid
 * and tanh done as a 14-bit reciprocal refined by one Newton step (error
 * ~2^-24 relative), which the compiler cannot do for us without giving up
 * NaN propagation (-ffast-math). */
#define GATES_OWN_LSTM_FWD
/* exp, 1/d (d >= 1 or NaN: rcp14 and one Newton step), sigmoid and tanh of
 * NV vectors in place, operation by operation interleaved (`FOR_V` unrolls
 * each statement across the vectors): one vector's activation is a chain of
 * some 40 dependent operations, and written one vector after another the
 * chains queued behind each other instead of overlapping (a 64-unit LSTM
 * row took 240 ns alone, 150 ns so). */
#define FOR_V _Pragma("GCC unroll 4") for (int q = 0; q < NV; q++)
static inline __attribute__((always_inline)) void vn_expf(__m512 *x, const int NV)
{
    __m512 t[4], n[4], r[4], r2[4], p[4];
    const __m512 shifter = _mm512_set1_ps(12582912.0f);
    const __m512 hi = _mm512_set1_ps(88.0f), lo = _mm512_set1_ps(-87.3365478515625f);
    /* min/max return their second operand when one is NaN: x stays NaN */
    FOR_V x[q] = _mm512_max_ps(lo, _mm512_min_ps(hi, x[q]));
    FOR_V t[q] = _mm512_fmadd_ps(x[q], _mm512_set1_ps(1.44269504088896341f), shifter);
    FOR_V n[q] = _mm512_sub_ps(t[q], shifter);
    FOR_V r[q] = _mm512_fmadd_ps(n[q], _mm512_set1_ps(-0.693359375f), x[q]);
    FOR_V r[q] = _mm512_fmadd_ps(n[q], _mm512_set1_ps(2.12194440e-4f), r[q]);
    FOR_V r2[q] = _mm512_mul_ps(r[q], r[q]);
    FOR_V p[q] = _mm512_fmadd_ps(_mm512_set1_ps(1.9875691500e-4f), r[q], _mm512_set1_ps(1.3981999507e-3f));
    FOR_V p[q] = _mm512_fmadd_ps(p[q], r[q], _mm512_set1_ps(8.3334519073e-3f));
    FOR_V p[q] = _mm512_fmadd_ps(p[q], r[q], _mm512_set1_ps(4.1665795894e-2f));
    FOR_V p[q] = _mm512_fmadd_ps(p[q], r[q], _mm512_set1_ps(1.6666665459e-1f));
    FOR_V p[q] = _mm512_fmadd_ps(p[q], r[q], _mm512_set1_ps(5.0000001201e-1f));
    FOR_V p[q] = _mm512_fmadd_ps(p[q], r2[q], _mm512_add_ps(r[q], _mm512_set1_ps(1.0f)));
    FOR_V x[q] = _mm512_mul_ps(
        p[q], _mm512_castsi512_ps(_mm512_slli_epi32(
                  _mm512_add_epi32(_mm512_sub_epi32(_mm512_castps_si512(t[q]), _mm512_set1_epi32(0x4B400000)),
                                   _mm512_set1_epi32(127)),
                  23)));
}
static inline __attribute__((always_inline)) void vn_recip(__m512 *d, const int NV)
{
    __m512 r[4];
    FOR_V r[q] = _mm512_rcp14_ps(d[q]);
    FOR_V d[q] = _mm512_mul_ps(r[q], _mm512_fnmadd_ps(d[q], r[q], _mm512_set1_ps(2.0f)));
}
static inline __attribute__((always_inline)) void vn_sigmoid(__m512 *x, const int NV)
{
    FOR_V x[q] = _mm512_sub_ps(_mm512_setzero_ps(), x[q]);
    vn_expf(x, NV);
    FOR_V x[q] = _mm512_add_ps(_mm512_set1_ps(1.0f), x[q]);
    vn_recip(x, NV);
}
static inline __attribute__((always_inline)) void vn_tanh(__m512 *x, const int NV)
{
    const __m512 sign = _mm512_set1_ps(-0.0f);
    __m512 ax[4], e[4], z[4], sm[4];
    FOR_V ax[q] = _mm512_andnot_ps(sign, x[q]);
    FOR_V e[q] = _mm512_mul_ps(_mm512_set1_ps(2.0f), _mm512_min_ps(_mm512_set1_ps(44.0f), ax[q]));
    vn_expf(e, NV);
    FOR_V e[q] = _mm512_add_ps(e[q], _mm512_set1_ps(1.0f));
    vn_recip(e, NV);
    FOR_V e[q] = _mm512_or_ps(_mm512_fnmadd_ps(_mm512_set1_ps(2.0f), e[q], _mm512_set1_ps(1.0f)),
                              _mm512_and_ps(sign, x[q])); /* >= 0 before: the sign of x */
    FOR_V z[q] = _mm512_mul_ps(x[q], x[q]);
    FOR_V sm[q] = _mm512_fmadd_ps(_mm512_set1_ps(-5.70498872745e-3f), z[q],
                                  _mm512_set1_ps(2.06390887954e-2f));
    FOR_V sm[q] = _mm512_fmadd_ps(sm[q], z[q], _mm512_set1_ps(-5.37397155531e-2f));
    FOR_V sm[q] = _mm512_fmadd_ps(sm[q], z[q], _mm512_set1_ps(1.33314422036e-1f));
    FOR_V sm[q] = _mm512_fmadd_ps(sm[q], z[q], _mm512_set1_ps(-3.33332819422e-1f));
    FOR_V sm[q] = _mm512_fmadd_ps(_mm512_mul_ps(x[q], z[q]), sm[q], x[q]);
    FOR_V x[q] = _mm512_mask_mov_ps(e[q], _mm512_cmp_ps_mask(ax[q], _mm512_set1_ps(0.625f), _CMP_LT_OQ),
                                    sm[q]);
}
/* Loads and stores of vector q of units j..: masked (the last, partial
 * vectors of a row), or plain when FULL. Plain ones measured 2% faster on a
 * whole LSTM forward (Zen 5, 2x256, pinned A/B): masked stores do not
 * forward to the loads that follow them (the next step's product reads h,
 * the backward the gates). */
#define VLD(p) (FULL ? _mm512_loadu_ps((p) + j + 16 * q) : _mm512_maskz_loadu_ps(k[q], (p) + j + 16 * q))
#define VST(p, v)                                                              \
    do {                                                                       \
        if (FULL)                                                              \
            _mm512_storeu_ps((p) + j + 16 * q, (v));                           \
        else                                                                   \
            _mm512_mask_storeu_ps((p) + j + 16 * q, k[q], (v));                \
    } while (0)
static inline __attribute__((always_inline)) void vec_masks(__mmask16 *k, int H, int j, const int NV)
{
    FOR_V {
        const int jq = j + 16 * q;
        k[q] = H - jq >= 16 ? (__mmask16)0xFFFF : H - jq <= 0 ? 0 : (__mmask16)((1u << (H - jq)) - 1);
    }
}
/* Calls vecs(j, NV, FULL) over units 0..H-1: whole blocks of 64 plain, the
 * rest masked (4 vectors, or 1 for at most 16 units) */
#define ROW_BLOCKS(H, vecs)                                                    \
    do {                                                                       \
        int j_ = 0;                                                            \
        for (; j_ + 64 <= (H); j_ += 64)                                       \
            vecs(j_, 4, 1);                                                    \
        if ((H) - j_ > 16)                                                     \
            vecs(j_, 4, 0);                                                    \
        else if (j_ < (H))                                                     \
            vecs(j_, 1, 0);                                                    \
    } while (0)

/* units j .. j + 16 NV - 1 (masked past H unless FULL), NV <= 4 */
static inline __attribute__((always_inline)) void lstm_fwd_vecs(int H, int j, float *restrict g,
                                                                float *restrict h, float *restrict c,
                                                                const float *restrict cp, const int NV,
                                                                const int FULL)
{
    __mmask16 k[4];
    __m512 i[4], f[4], n[4], o[4], cn[4];
    vec_masks(k, H, j, NV);
    /* one gate at a time, each stored as soon as it is known, so that few
     * vectors are live at once (all four gates' NV vectors and their
     * activations' temporaries did not fit the 32 registers: 75 spills);
     * the out-of-order core overlaps the independent gates */
    FOR_V i[q] = VLD(g);
    vn_sigmoid(i, NV);
    FOR_V VST(g, i[q]);
    FOR_V n[q] = VLD(g + 2 * H);
    vn_tanh(n, NV);
    FOR_V VST(g + 2 * H, n[q]);
    FOR_V i[q] = _mm512_mul_ps(i[q], n[q]);
    FOR_V f[q] = VLD(g + H);
    vn_sigmoid(f, NV);
    FOR_V VST(g + H, f[q]);
    /* f*cp + i*n with two roundings, as the portable C (no contraction) */
    FOR_V cn[q] = _mm512_add_ps(_mm512_mul_ps(f[q], VLD(cp)), i[q]);
    FOR_V VST(c, cn[q]);
    FOR_V o[q] = VLD(g + 3 * H);
    vn_sigmoid(o, NV);
    FOR_V VST(g + 3 * H, o[q]);
    FOR_V f[q] = cn[q];
    vn_tanh(f, NV);
    FOR_V VST(h, _mm512_mul_ps(o[q], f[q]));
}
static void KFN(lstm_fwd_row)(int H, float *restrict g, float *restrict h, float *restrict c,
                              const float *restrict cp)
{
#define LSTM_VECS(j, NV, FULL) lstm_fwd_vecs(H, j, g, h, c, cp, NV, FULL)
    ROW_BLOCKS(H, LSTM_VECS);
#undef LSTM_VECS
}
/* The GRU step the same way: gates_impl.h's arithmetic operation for
 * operation, but the divisions (GCC's vectorization of that loop took 513
 * ns per 256-unit row, this 315, in L1) */
#define GATES_OWN_GRU_FWD
static inline __attribute__((always_inline)) void
gru_fwd_vecs(int H, int j, float *restrict g, float *restrict hnp, float *restrict h,
             const float *restrict hh, const float *restrict bn, const float *restrict hp,
             const int NV, const int FULL)
{
    __mmask16 k[4];
    __m512 r[4], z[4], n[4];
    vec_masks(k, H, j, NV);
    FOR_V r[q] = _mm512_add_ps(VLD(g), VLD(hh));
    vn_sigmoid(r, NV);
    FOR_V VST(g, r[q]);
    FOR_V z[q] = _mm512_add_ps(VLD(hh + 2 * H), VLD(bn)); /* W_hn h + b_hn */
    FOR_V VST(hnp, z[q]);
    FOR_V n[q] = _mm512_add_ps(VLD(g + 2 * H), _mm512_mul_ps(r[q], z[q]));
    vn_tanh(n, NV);
    FOR_V VST(g + 2 * H, n[q]);
    FOR_V z[q] = _mm512_add_ps(VLD(g + H), VLD(hh + H));
    vn_sigmoid(z, NV);
    FOR_V VST(g + H, z[q]);
    /* (1 - z) * n + z * hp with three roundings, as the portable C */
    FOR_V VST(h, _mm512_add_ps(_mm512_mul_ps(_mm512_sub_ps(_mm512_set1_ps(1.0f), z[q]), n[q]),
                               _mm512_mul_ps(z[q], VLD(hp))));
}
static void KFN(gru_fwd_row)(int H, float *restrict g, float *restrict hnp, float *restrict h,
                             const float *restrict hh, const float *restrict bn,
                             const float *restrict hp)
{
#define GRU_VECS(j, NV, FULL) gru_fwd_vecs(H, j, g, hnp, h, hh, bn, hp, NV, FULL)
    ROW_BLOCKS(H, GRU_VECS);
#undef GRU_VECS
}
/* and the plain RNN's tanh step (its ReLU stays the C loop) */
#define GATES_OWN_RNN_FWD
static inline __attribute__((always_inline)) void rnn_fwd_vecs(int H, int j, const float *restrict g,
                                                               float *restrict h, const int NV,
                                                               const int FULL)
{
    __mmask16 k[4];
    __m512 x[4];
    vec_masks(k, H, j, NV);
    FOR_V x[q] = VLD(g);
    vn_tanh(x, NV);
    FOR_V VST(h, x[q]);
}
static void KFN(rnn_fwd_row)(int H, int relu, const float *restrict g, float *restrict h)
{
    if (relu) {
        for (int j = 0; j < H; j++)
            h[j] = g[j] > 0 ? g[j] : 0;
        return;
    }
#define RNN_VECS(j, NV, FULL) rnn_fwd_vecs(H, j, g, h, NV, FULL)
    ROW_BLOCKS(H, RNN_VECS);
#undef RNN_VECS
}
#undef VLD
#undef VST
#undef ROW_BLOCKS
#endif
#define SIGM(x) rnn__sigmoidf(x)
#define TANH(x) rnn__tanhf(x)
#include "layers/gates_impl.h"

static void KFN(tanh_n)(size_t n, float *restrict x)
{
    for (size_t i = 0; i < n; i++)
        x[i] = TANH(x[i]);
}

static double KFN(xent_row)(float *d, const float *z, int V, int t, float scale)
{
    float mx = z[0];
    for (int v = 1; v < V; v++)
        mx = z[v] > mx ? z[v] : mx;
    const float zt = z[t];
    float sum = 0; /* float partial sums vectorize; V is at most a few 10^4 */
    if (d) {
        for (int v = 0; v < V; v++) {
            d[v] = rnn__expf(z[v] - mx); /* z[v] is read before d[v] is written */
            sum += d[v];
        }
        const float k = scale / sum;
        for (int v = 0; v < V; v++)
            d[v] *= k;
        d[t] -= scale;
    } else {
        for (int v = 0; v < V; v++)
            sum += rnn__expf(z[v] - mx);
    }
    return log((double)sum) + mx - zt;
}

/* ---- optimizer updates: torch.optim's float32 arithmetic, operation by
 * operation (see optim.c); fmaf where torch fuses, separate roundings
 * elsewhere. -std=c11 keeps GCC from contracting anything else. */

static void KFN(sgd)(float *p, const float *g, float *buf, size_t n, const rnn__opt_args *a)
{
    for (size_t i = 0; i < n; i++) {
        float d = g[i];
        if (a->decay)
            d = fmaf(p[i], a->wd, d); /* d_p.add(param, alpha=wd) */
        if (a->momentum) {
            float b = a->first ? d : buf[i] * a->mu + d; /* mul_(mu).add_(d_p) */
            buf[i] = b;
            d = a->nesterov ? fmaf(b, a->mu, d) : b;
        }
        p[i] = fmaf(d, a->neg_lr, p[i]); /* param.add_(d_p, alpha=-lr) */
    }
}

static void KFN(adam)(float *p, const float *g, float *m, float *v, size_t n,
                      const rnn__opt_args *a)
{
    const float one_b1 = a->one_b1, b1 = a->b1, one_b2 = a->one_b2, b2 = a->b2;
    const float bc2_sqrt = a->bc2_sqrt, eps = a->eps, neg_step = a->neg_step;
    for (size_t i = 0; i < n; i++) {
        float gi = g[i];
        float pi = p[i];
        if (a->adamw)
            pi *= a->shrink; /* param.mul_(1 - lr*wd), even when wd = 0 */
        else if (a->decay)
            gi = fmaf(pi, a->wd, gi); /* grad.add(param, alpha=wd) */
        float mi = fmaf(gi, one_b1, m[i] * b1);      /* mul_(b1).add_(g, alpha=1-b1) */
        float vi = fmaf(one_b2 * gi, gi, v[i] * b2); /* mul_(b2).addcmul_(g, g, 1-b2) */
        m[i] = mi;
        v[i] = vi;
        float denom = sqrtf(vi) / bc2_sqrt + eps; /* (sqrt(v)/bc2_sqrt).add_(eps) */
        p[i] = pi + (neg_step * mi) / denom;      /* addcdiv_(m, denom, -step_size) */
    }
}

static void KFN(rmsprop)(float *p, const float *g, float *sq, float *buf, size_t n,
                         const rnn__opt_args *a)
{
    for (size_t i = 0; i < n; i++) {
        float gi = g[i];
        if (a->decay)
            gi = fmaf(p[i], a->wd, gi);
        float s = fmaf(a->one_alpha * gi, gi, sq[i] * a->alpha); /* mul_.addcmul_ */
        sq[i] = s;
        float avg = sqrtf(s) + a->eps;
        if (a->momentum) {
            buf[i] = buf[i] * a->mu + gi / avg;      /* mul_(mu).addcdiv_(g, avg) */
            p[i] = fmaf(buf[i], a->neg_lr, p[i]);    /* add_(buf, alpha=-lr) */
        } else {
            p[i] = p[i] + (a->neg_lr * gi) / avg;    /* addcdiv_(g, avg, -lr) */
        }
    }
}

static double KFN(sumsq)(const float *g, size_t n)
{
    double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++)
            acc[j] += (double)g[i + j] * (double)g[i + j];
    for (int j = 0; i < n; i++, j++)
        acc[j] += (double)g[i] * (double)g[i];
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

/* ---- batch-1 matrix-vector product --------------------------------------
 * The weights are panels of V vectors of columns, each [K][V * GV_W]
 * contiguous, and a panel is read front to back with eight independent FMA
 * chains: its V vectors times 8 / V phases of k (k mod 8 / V), added at the
 * end in a fixed order, so every call sums alike whichever order the panels
 * take (the caller gives weights that fit L1 the widest panels: the fewest
 * reductions). Taking the panels last to first on every other call
 * (`reverse`) is what makes this faster than one pass over all the
 * columns: the weights of a 64->64 LSTM (128 KB) do not fit the 48 KB L1,
 * and a cyclic pass over them misses in L1 everywhere (each line is
 * evicted just before it is needed again),
 * while after a reversed pass the last panels read are the first needed:
 * about a quarter of the weights then come from L1 (0.83 -> 0.70 us per
 * product in a micro-benchmark with 2-vector panels, AVX-512). */
#if defined(__AVX512F__)
#define GV_W 16
#elif defined(__AVX2__)
#define GV_W 8
#else
#define GV_W 4
#endif
typedef float gv_vec __attribute__((vector_size(GV_W * sizeof(float))));
/* unaligned, aliasing access to a vector's worth of floats. Not memcpy: GCC's
 * generic tuning copies 32 bytes as two 16-byte halves through the stack,
 * and the AVX2 gemv then ran 25x slower than this on store-forwarding stalls */
typedef float gv_vec_u __attribute__((vector_size(GV_W * sizeof(float)), aligned(4), may_alias));
#define GV_LD(p) (*(const gv_vec_u *)(p))

/* gcc contracts a*b + c into an FMA under -std=c11 only when asked;
 * clang does within an expression by default and has no optimize attribute */
#if defined(__clang__)
#define GV_CONTRACT
#else
#define GV_CONTRACT __attribute__((optimize("fp-contract=fast")))
#endif

#if GV_W == 8 && defined(__F16C__) && !defined(__AVX512F__)
#include <immintrin.h>
#endif
typedef uint32_t gv_ivec_u __attribute__((vector_size(GV_W * sizeof(uint32_t)), aligned(2), may_alias));

/* Vector v of a panel row r (P columns) as floats: f32 weights as they are;
 * half-precision ones widened, exactly (kernels.h, rnn__gemv_half_col, for
 * the layouts): binary16 by the CPU's conversion where it has one, else by
 * integer operations; bfloat16 stored in pairs of vectors, vector 2u in the
 * low halves of the 32-bit words of group u and vector 2u+1 in the high
 * halves, so a shift or a mask widens each. */
static inline __attribute__((always_inline)) gv_vec gv_load(const void *r, int v, const int fmt)
{
    if (fmt == RNN__GEMV_F32)
        return GV_LD((const float *)r + v * GV_W);
    if (fmt == RNN__GEMV_BF16) {
        gv_ivec_u u = *(const gv_ivec_u *)((const uint16_t *)r + (v >> 1) * 2 * GV_W);
        return (v & 1) ? (gv_vec)(u & 0xffff0000u) : (gv_vec)(u << 16);
    }
    const uint16_t *h = (const uint16_t *)r + v * GV_W;
#if GV_W == 16
    return (gv_vec)_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)h));
#elif GV_W == 8 && defined(__F16C__)
    return (gv_vec)_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)h));
#else
    /* the magnitude's bits moved into a float's place and scaled by 2^112
     * (the exponent biases' difference), which makes normals and
     * subnormals alike exact (a subnormal half lands on a float subnormal,
     * the product is normal; with subnormals treated as zero, DAZ, as
     * -ffast-math programs set, those weights would read as 0);
     * infinities and NaN by their bits */
    typedef uint32_t gv_uvec __attribute__((vector_size(GV_W * sizeof(uint32_t))));
    typedef uint16_t gv_hvec_u __attribute__((vector_size(GV_W * sizeof(uint16_t)), aligned(2), may_alias));
    const gv_uvec u = __builtin_convertvector(*(const gv_hvec_u *)h, gv_uvec);
    const gv_uvec a = (u & 0x7fffu) << 13, special = (gv_uvec)((u & 0x7c00u) == 0x7c00u);
    const gv_uvec m = (gv_uvec)((gv_vec)a * 0x1p112f);
    return (gv_vec)(((special & (a | 0x7f800000u)) | (~special & m)) | (u & 0x8000u) << 16);
#endif
}

/* One panel of V vectors (V = 2, 4 or 8: a compile-time constant, the loops
 * unroll and the accumulators stay in registers) with 8 / V phases of k.
 * Contraction into FMAs is allowed here only: a product-sum has no
 * reference rounding to keep. ES: bytes per weight. */
static inline __attribute__((always_inline)) GV_CONTRACT void
gv_panel(float *y, const float *x, const void *pv, int K, const int V, const int fmt, const float *b)
{
    const int PH = 8 / V, P = V * GV_W, ES = fmt == RNN__GEMV_F32 ? 4 : 2;
    const char *p = (const char *)pv;
    gv_vec acc[8];
RNN__UNROLL
    for (int a = 0; a < 8; a++)
        acc[a] = (gv_vec){0};
    int k = 0;
    for (; k + PH <= K; k += PH) {
        const char *r = p + (size_t)k * P * ES;
RNN__UNROLL
        for (int ph = 0; ph < PH; ph++) {
            const float xk = x[k + ph];
RNN__UNROLL
            for (int v = 0; v < V; v++)
                acc[ph * V + v] += xk * gv_load(r + ph * P * ES, v, fmt);
        }
    }
    for (; k < K; k++) {
        const char *r = p + (size_t)k * P * ES;
RNN__UNROLL
        for (int v = 0; v < V; v++)
            acc[v] += x[k] * gv_load(r, v, fmt);
    }
RNN__UNROLL
    for (int v = 0; v < V; v++) {
        gv_vec t = acc[v];
        if (PH == 2)
            t = acc[v] + acc[V + v];
        else if (PH == 4)
            t = (acc[v] + acc[V + v]) + (acc[2 * V + v] + acc[3 * V + v]);
        /* b + t or y + t: one addition either way */
        *(gv_vec_u *)(y + v * GV_W) = (b ? GV_LD(b + v * GV_W) : GV_LD(y + v * GV_W)) + t;
    }
}

static inline __attribute__((always_inline)) GV_CONTRACT void
gv_all(float *y, const float *x, const void *w, int K, int N, int V, int reverse, const int fmt,
       const float *b)
{
    const int P = V * GV_W, np = N / P, ES = fmt == RNN__GEMV_F32 ? 4 : 2;
    for (int i = 0; i < np; i++) {
        const int q = reverse ? np - 1 - i : i;
        float *yq = y + (size_t)q * P;
        const float *bq = b ? b + (size_t)q * P : NULL;
        const char *wq = (const char *)w + (size_t)q * K * P * ES;
        if (V == 8)
            gv_panel(yq, x, wq, K, 8, fmt, bq);
        else if (V == 4)
            gv_panel(yq, x, wq, K, 4, fmt, bq);
        else
            gv_panel(yq, x, wq, K, 2, fmt, bq);
    }
}

GV_CONTRACT static void KFN(gemv)(float *y, const float *x, const float *w, int K, int N,
                                  int V, int reverse, const float *b)
{
    gv_all(y, x, w, K, N, V, reverse, RNN__GEMV_F32, b);
}

GV_CONTRACT static void KFN(gemv_half)(float *y, const float *x, const uint16_t *w, int K, int N,
                                       int V, int reverse, int fmt, const float *b)
{
    if (fmt == RNN__GEMV_BF16)
        gv_all(y, x, w, K, N, V, reverse, RNN__GEMV_BF16, b);
    else
        gv_all(y, x, w, K, N, V, reverse, RNN__GEMV_F16, b);
}

const rnn__kernels CAT(rnn__kernels_, RNN_ISA) = {
    STR(RNN_ISA),
    KFN(lstm_fwd_row),
    KFN(lstm_bwd_row),
    KFN(gru_fwd_row),
    KFN(gru_bwd_row),
    KFN(rnn_fwd_row),
    KFN(rnn_bwd_row),
    KFN(xent_row),
    KFN(sgd),
    KFN(adam),
    KFN(rmsprop),
    KFN(sumsq),
    KFN(gemv),
    KFN(gemv_half),
    GV_W,
#if GV_W == 8 && defined(__F16C__) && !defined(__AVX512F__)
    1,
#else
    0,
#endif
    KFN(add_row),
    KFN(bias_rows),
    KFN(colsum_rows),
    KFN(tanh_n),
};
