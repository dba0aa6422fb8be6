/*
 * dtype.c -- the element types of safetensors/.npy files and their
 * conversion to float and int64. Half and bfloat16 are decoded (and, for
 * the streams' half-precision weights, rounded) bit by bit so that
 * subnormals, infinities and NaN payloads come out exactly, with no
 * dependence on compiler support for _Float16 or on the floating-point
 * environment.
 */
#include "io/io.h"

#include <string.h>

static const struct {
    const char *name;
    size_t size;
} dtype_table[RNN__DTYPE_COUNT] = {
    [RNN__F32] = {"F32", 4},         [RNN__F64] = {"F64", 8},
    [RNN__F16] = {"F16", 2},         [RNN__BF16] = {"BF16", 2},
    [RNN__I64] = {"I64", 8},         [RNN__I32] = {"I32", 4},
    [RNN__I16] = {"I16", 2},         [RNN__I8] = {"I8", 1},
    [RNN__U64] = {"U64", 8},         [RNN__U32] = {"U32", 4},
    [RNN__U16] = {"U16", 2},         [RNN__U8] = {"U8", 1},
    [RNN__BOOL] = {"BOOL", 1},       [RNN__F8_E4M3] = {"F8_E4M3", 1},
    [RNN__F8_E5M2] = {"F8_E5M2", 1},
};

size_t rnn__dtype_size(rnn__dtype t)
{
    return (unsigned)t < RNN__DTYPE_COUNT ? dtype_table[t].size : 0;
}

const char *rnn__dtype_name(rnn__dtype t)
{
    return (unsigned)t < RNN__DTYPE_COUNT ? dtype_table[t].name : "?";
}

int rnn__dtype_from_name(const char *name)
{
    for (int i = 0; i < RNN__DTYPE_COUNT; i++)
        if (strcmp(name, dtype_table[i].name) == 0)
            return i;
    return -1;
}

float rnn__half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t mant = h & 0x3ffu;
    uint32_t bits;

    if (exp == 0x1f) {
        /* inf or NaN; shifting keeps the quiet bit and the payload */
        bits = sign | 0x7f800000u | (mant << 13);
    } else if (exp != 0) {
        bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
    } else if (mant == 0) {
        bits = sign;
    } else {
        /* subnormal half = mant * 2^-24: every one is a normal float, so
         * shift the leading 1 into the implicit position */
        int e = -14;
        while (!(mant & 0x400u)) {
            mant <<= 1;
            e--;
        }
        mant &= 0x3ffu;
        bits = sign | ((uint32_t)(e + 127) << 23) | (mant << 13);
    }
    return rnn__bits_to_float(bits);
}

float rnn__bf16_to_float(uint16_t h)
{
    /* bfloat16 is the upper half of a float32 */
    return rnn__bits_to_float((uint32_t)h << 16);
}

uint16_t rnn__float_to_half(float f)
{
    uint32_t x = rnn__float_to_bits(f);
    uint32_t sign = (x >> 16) & 0x8000u, ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u) /* NaN: quiet, the payload's top bits kept */
        return (uint16_t)(sign | 0x7e00u | ((ax >> 13) & 0x3ffu));
    if (ax >= 0x477ff000u) /* >= 65520 (the midpoint past 65504) or inf */
        return (uint16_t)(sign | 0x7c00u);
    if (ax < 0x38800000u) {
        /* below half's smallest normal (2^-14): a subnormal, mant * 2^-24,
         * rounded to nearest even; below 2^-25 (and at it: the tie goes
         * to the even 0) a signed zero */
        if (ax < 0x33000000u)
            return (uint16_t)sign;
        uint32_t m = (ax & 0x7fffffu) | 0x800000u; /* 24 significant bits */
        int shift = 126 - (int)(ax >> 23);       /* 14..24: to units of 2^-24 */
        uint32_t q = m >> shift, rest = m & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rest > half || (rest == half && (q & 1)))
            q++;
        return (uint16_t)(sign | q);
    }
    /* normal: rebias the exponent, round 13 bits off to nearest even (a
     * carry into the exponent is the right result, up to inf) */
    uint32_t h = ((ax >> 13) - ((127u - 15u) << 10));
    uint32_t rest = ax & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (h & 1)))
        h++;
    return (uint16_t)(sign | h);
}

uint16_t rnn__float_to_bf16(float f)
{
    uint32_t x = rnn__float_to_bits(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) /* NaN: quiet, the payload's top bits kept */
        return (uint16_t)((x >> 16) | 0x40u);
    /* round to nearest even (a carry into the exponent is the right result) */
    return (uint16_t)((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

/* Loads through memcpy: tensors inside a file buffer are not aligned. */
#define DEFINE_LOAD(fn, type)                              \
    static type fn(const unsigned char *p, size_t i)       \
    {                                                      \
        type v;                                            \
        memcpy(&v, p + i * sizeof v, sizeof v);            \
        return v;                                          \
    }
DEFINE_LOAD(ld_f64, double)
DEFINE_LOAD(ld_i64, int64_t)
DEFINE_LOAD(ld_i32, int32_t)
DEFINE_LOAD(ld_i16, int16_t)
DEFINE_LOAD(ld_u32, uint32_t)
DEFINE_LOAD(ld_u16, uint16_t)

/* Two's complement by arithmetic: converting 0x80..0xff to int8_t directly
 * is implementation-defined. */
static int ld_i8(const unsigned char *p, size_t i)
{
    return (int)p[i] - (p[i] & 0x80 ? 256 : 0);
}

rnn_status rnn__convert_f32(float *dst, const void *src, rnn__dtype t, size_t n)
{
    const unsigned char *s = src;

    switch (t) {
    case RNN__F32:
        if (n)
            memcpy(dst, s, n * sizeof(float));
        return RNN_OK;
    case RNN__F64:
        /* IEEE conversion: rounds to nearest, overflows to +-inf */
        for (size_t i = 0; i < n; i++)
            dst[i] = (float)ld_f64(s, i);
        return RNN_OK;
    case RNN__F16:
        for (size_t i = 0; i < n; i++)
            dst[i] = rnn__half_to_float(ld_u16(s, i));
        return RNN_OK;
    case RNN__BF16:
        for (size_t i = 0; i < n; i++)
            dst[i] = rnn__bf16_to_float(ld_u16(s, i));
        return RNN_OK;
    case RNN__I64:
        for (size_t i = 0; i < n; i++)
            dst[i] = (float)ld_i64(s, i);
        return RNN_OK;
    case RNN__I32:
        for (size_t i = 0; i < n; i++)
            dst[i] = (float)ld_i32(s, i);
        return RNN_OK;
    case RNN__I16:
        for (size_t i = 0; i < n; i++)
            dst[i] = (float)ld_i16(s, i);
        return RNN_OK;
    case RNN__I8:
        for (size_t i = 0; i < n; i++)
            dst[i] = (float)ld_i8(s, i);
        return RNN_OK;
    case RNN__U32:
        for (size_t i = 0; i < n; i++)
            dst[i] = (float)ld_u32(s, i);
        return RNN_OK;
    case RNN__U16:
        for (size_t i = 0; i < n; i++)
            dst[i] = (float)ld_u16(s, i);
        return RNN_OK;
    case RNN__U8:
        for (size_t i = 0; i < n; i++)
            dst[i] = (float)s[i];
        return RNN_OK;
    case RNN__BOOL:
        for (size_t i = 0; i < n; i++)
            dst[i] = s[i] ? 1.0f : 0.0f;
        return RNN_OK;
    default:
        return RNN_EUNSUPPORTED;
    }
}

rnn_status rnn__convert_i64(int64_t *dst, const void *src, rnn__dtype t, size_t n)
{
    const unsigned char *s = src;

    switch (t) {
    case RNN__I64:
        if (n)
            memcpy(dst, s, n * sizeof(int64_t));
        return RNN_OK;
    case RNN__I32:
        for (size_t i = 0; i < n; i++)
            dst[i] = ld_i32(s, i);
        return RNN_OK;
    case RNN__I16:
        for (size_t i = 0; i < n; i++)
            dst[i] = ld_i16(s, i);
        return RNN_OK;
    case RNN__I8:
        for (size_t i = 0; i < n; i++)
            dst[i] = ld_i8(s, i);
        return RNN_OK;
    case RNN__U32:
        for (size_t i = 0; i < n; i++)
            dst[i] = ld_u32(s, i);
        return RNN_OK;
    case RNN__U16:
        for (size_t i = 0; i < n; i++)
            dst[i] = ld_u16(s, i);
        return RNN_OK;
    case RNN__U8:
        for (size_t i = 0; i < n; i++)
            dst[i] = s[i];
        return RNN_OK;
    case RNN__BOOL:
        for (size_t i = 0; i < n; i++)
            dst[i] = s[i] != 0;
        return RNN_OK;
    default:
        /* floats would need rounding rules, U64 may not fit */
        return RNN_EUNSUPPORTED;
    }
}
