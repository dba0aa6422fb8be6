/*
 * act_inline.h -- scalar, branch-free exp/sigmoid/tanh for float, written so
 * that loops calling them vectorize. Included by core.h.
 *
 * exp: Cephes expf. x = n*ln2 + r, |r| <= ln2/2; exp(r) by a degree-6
 * polynomial; 2^n assembled in the exponent bits. Relative error ~1 ulp.
 * tanh: Cephes tanhf. |x| < 0.625: odd polynomial (relative ~1 ulp);
 * otherwise 1 - 2/(exp(2|x|)+1) with the sign restored.
 */
#ifndef RNN_ACT_INLINE_H
#define RNN_ACT_INLINE_H

#include <stdint.h>
#include <string.h>

/* a*b + c, fused where the instruction set has FMA (the AVX2/AVX-512
 * kernel builds): one rounding instead of two, and half the instructions
 * of the polynomials below. Elsewhere the plain expression (C11 does not
 * contract it). The two differ by an ulp or so, far inside 1e-6. */
#if defined(__FMA__)
#define RNN__MADD(a, b, c) __builtin_fmaf((a), (b), (c))
#else
#define RNN__MADD(a, b, c) ((a) * (b) + (c))
#endif

static inline float rnn__bits_to_float(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static inline uint32_t rnn__float_to_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* exp(x); saturates below -87.3 (at ~1.2e-38) and above 88 (at ~1.7e38).
 * No float-to-int conversion (undefined for NaN): n is read from the bits. */
static inline float rnn__expf(float x)
{
    const float hi = 88.0f, lo = -87.3365478515625f;
    float xc = x > hi ? hi : x;
    xc = xc < lo ? lo : xc;
    xc = x != x ? x : xc; /* keep NaN */
    /* n = round(x / ln2) with the 1.5*2^23 trick (no call to rintf). */
    const float shifter = 12582912.0f;
    float t = RNN__MADD(xc, 1.44269504088896341f, shifter);
    float n = t - shifter;
    float r = RNN__MADD(n, -0.693359375f, xc);
    r = RNN__MADD(n, 2.12194440e-4f, r);
    float r2 = r * r;
    float p = 1.9875691500e-4f;
    p = RNN__MADD(p, r, 1.3981999507e-3f);
    p = RNN__MADD(p, r, 8.3334519073e-3f);
    p = RNN__MADD(p, r, 4.1665795894e-2f);
    p = RNN__MADD(p, r, 1.6666665459e-1f);
    p = RNN__MADD(p, r, 5.0000001201e-1f);
    p = RNN__MADD(p, r2, r + 1.0f);
    /* t's low mantissa bits hold n: bits(t) = 0x4B400000 + n, |n| <= 127 */
    uint32_t e = (rnn__float_to_bits(t) - 0x4B400000u + 127u) << 23;
    return p * rnn__bits_to_float(e);
}

static inline float rnn__sigmoidf(float x)
{
    return 1.0f / (1.0f + rnn__expf(-x));
}

static inline float rnn__tanhf(float x)
{
    float ax = x < 0.0f ? -x : x;
    /* large |x|: 1 - 2/(e^{2|x|}+1); e^{2|x|} saturates at e^88 -> 1 */
    float e = rnn__expf(2.0f * (ax > 44.0f ? 44.0f : ax));
    float big = 1.0f - 2.0f / (e + 1.0f);
    big = x < 0.0f ? -big : big;
    float z = x * x;
    float s = -5.70498872745e-3f;
    s = RNN__MADD(s, z, 2.06390887954e-2f);
    s = RNN__MADD(s, z, -5.37397155531e-2f);
    s = RNN__MADD(s, z, 1.33314422036e-1f);
    s = RNN__MADD(s, z, -3.33332819422e-1f);
    float small = RNN__MADD(x * z, s, x);
    return ax < 0.625f ? small : big;
}

#endif /* RNN_ACT_INLINE_H */
