/*
 * statal.c -- the Statal cell (seed 003), forward and backward over a whole
 * sequence; the equations and the parameter layout are in statal.h, the
 * derivations in docs/statal.md.
 *
 * Shape of the computation, as for the other recurrent layers:
 *   forward : Z[T*B][H] = X W_x^T + b                (one GEMM for all steps)
 *             per step t: Z[t] += S_{t-1} W_s^T      (one GEMM over the batch)
 *                         pointwise: a_t, s_t
 *   backward: per step, reverse order: pointwise dZ[t] (stored over Z) and
 *             the direct part of dS_{t-1}; then dS_{t-1} += dZ[t] W_s
 *             after the loop: dW_x += dZ^T X, dW_s += dZ^T S_prev,
 *             db += colsum(dZ), dX = dZ W_x as single big GEMMs.
 *
 * Cache: z [T][B][H] pre-activations, then the states sbuf [T+1][B][S]
 * (slot 0 = s0, slot t+1 = state after step t), so that the T previous
 * states S_prev are slots 0..T-1, contiguous.
 *
 * The body is written once over REAL: this file includes itself twice
 * (RNN__STATAL_BODY defined), for float and for double (_f64), the second
 * for the finite-difference checks.
 */
#ifndef RNN__STATAL_BODY

#include "layers/statal.h"

#include <math.h>
#include <string.h>

const double rnn__statal_decay[RNN__STATAL_K] = {1.0, 0.99, 0.9, 0.5};

const char *rnn__statal_mode_name(rnn__statal_mode mode)
{
    switch (mode) {
    case RNN__STATAL_COPY: return "copy";
    case RNN__STATAL_BINARY: return "binary";
    case RNN__STATAL_PROB: return "prob";
    case RNN__STATAL_MULTI: return "multi";
    }
    return "unknown";
}

int rnn__statal_mode_from_name(const char *name)
{
    if (!name)
        return -1;
    for (int m = RNN__STATAL_COPY; m <= RNN__STATAL_MULTI; m++)
        if (strcmp(name, rnn__statal_mode_name((rnn__statal_mode)m)) == 0)
            return m;
    return -1;
}

int rnn__statal_state_width(rnn__statal_mode mode, int H)
{
    return mode == RNN__STATAL_MULTI ? RNN__STATAL_K * H : H;
}

int rnn__statal_out_width(rnn__statal_mode mode, int H)
{
    return H + rnn__statal_state_width(mode, H);
}

size_t rnn__statal_param_count(rnn__statal_mode mode, int I, int H)
{
    size_t per_row, n;
    if (I <= 0 || H <= 0 || H > (1 << 24) ||
        !rnn__add(&per_row, (size_t)I, (size_t)rnn__statal_state_width(mode, H) + 1) ||
        !rnn__mul(&n, (size_t)H, per_row))
        return 0;
    return n;
}

size_t rnn__statal_cache_count(rnn__statal_mode mode, int T, int B, int H)
{
    size_t z, s, n;
    if (T <= 0 || B <= 0 || H <= 0 || H > (1 << 24) ||
        !rnn__mul4(&z, (size_t)T, (size_t)B, (size_t)H, 1) ||
        !rnn__mul4(&s, (size_t)T + 1, (size_t)B, (size_t)rnn__statal_state_width(mode, H), 1) ||
        !rnn__add(&n, z, s))
        return 0;
    return n;
}

size_t rnn__statal_scratch_count(rnn__statal_mode mode, int B, int H)
{
    size_t n;
    if (B <= 0 || H <= 0 || H > (1 << 24) ||
        !rnn__mul(&n, (size_t)B, (size_t)rnn__statal_state_width(mode, H)))
        return 0;
    return n;
}

#define RNN__STATAL_BODY

#define REAL float
#define SFX(name) name
#define GEMM rnn__sgemm
#define EXP expf
#include "layers/statal.c"
#undef REAL
#undef SFX
#undef GEMM
#undef EXP

#define REAL double
#define SFX(name) name##_f64
#define GEMM rnn__dgemm
#define EXP exp
#include "layers/statal.c"
#undef REAL
#undef SFX
#undef GEMM
#undef EXP

#else /* RNN__STATAL_BODY: the layer over REAL */

#define STATAL_ACTIVE(lengths, t, b) (!(lengths) || (t) < (lengths)[b])

static REAL SFX(statal_sigm)(REAL z) { return (REAL)1 / ((REAL)1 + EXP(-z)); }

void SFX(rnn__statal_forward)(rnn__statal_mode mode, int T, int B, int I, int H,
                              const int32_t *lengths, REAL *y, int ldy, REAL *sn, REAL *cache,
                              const REAL *x, const REAL *s0, const REAL *w)
{
    const int S = rnn__statal_state_width(mode, H);
    const size_t TB = (size_t)T * B, BS = (size_t)B * S;
    const REAL *wx = w, *ws = w + (size_t)H * I, *bias = ws + (size_t)H * S;
    REAL *z = cache;         /* [T][B][H] */
    REAL *sbuf = z + TB * H; /* [T+1][B][S] */

    GEMM(0, 1, (int)TB, H, I, 1, x, I, wx, I, 0, z, H);
    for (size_t r = 0; r < TB; r++)
        for (int j = 0; j < H; j++)
            z[r * H + j] += bias[j];
    if (s0)
        memcpy(sbuf, s0, sizeof(REAL) * BS);
    else
        memset(sbuf, 0, sizeof(REAL) * BS);

    for (int t = 0; t < T; t++) {
        const REAL *sp = sbuf + (size_t)t * BS;
        REAL *sc = sbuf + (size_t)(t + 1) * BS;
        REAL *zt = z + (size_t)t * B * H;
        GEMM(0, 1, B, H, S, 1, sp, S, ws, S, 1, zt, H);
        for (int b = 0; b < B; b++) {
            const REAL *spb = sp + (size_t)b * S;
            REAL *scb = sc + (size_t)b * S;
            const REAL *zb = zt + (size_t)b * H;
            REAL *yb = y ? y + ((size_t)t * B + b) * ldy : NULL;
            if (!STATAL_ACTIVE(lengths, t, b)) {
                memcpy(scb, spb, sizeof(REAL) * S);
                if (yb)
                    memset(yb, 0, sizeof(REAL) * (size_t)(H + S));
                continue;
            }
            for (int j = 0; j < H; j++) {
                const REAL zj = zb[j];
                REAL a;
                switch (mode) {
                case RNN__STATAL_COPY:
                    a = zj > 0 ? zj : 0;
                    scb[j] = zj > 0 ? a : spb[j];
                    break;
                case RNN__STATAL_BINARY:
                    a = zj > 0 ? zj : 0;
                    scb[j] = zj > 0 ? (REAL)1 : spb[j];
                    break;
                case RNN__STATAL_PROB:
                    a = SFX(statal_sigm)(zj);
                    scb[j] = 1 - (1 - spb[j]) * (1 - a);
                    break;
                default: /* MULTI */
                    a = SFX(statal_sigm)(zj);
                    for (int k = 0; k < RNN__STATAL_K; k++) {
                        const size_t i = (size_t)k * H + j;
                        scb[i] = (1 - a) * (REAL)rnn__statal_decay[k] * spb[i] + a;
                    }
                    break;
                }
                if (yb)
                    yb[j] = a;
            }
            if (yb)
                memcpy(yb + H, scb, sizeof(REAL) * S);
        }
    }
    if (sn)
        memcpy(sn, sbuf + (size_t)T * BS, sizeof(REAL) * BS);
}

void SFX(rnn__statal_backward)(rnn__statal_mode mode, int T, int B, int I, int H,
                               const int32_t *lengths, REAL *dx, int accumulate_dx, REAL *ds0,
                               REAL *dw, REAL *cache, REAL *scratch, const REAL *x,
                               const REAL *w, const REAL *dy, int ldy, const REAL *dsn,
                               int surrogate, double *gradflow)
{
    const int S = rnn__statal_state_width(mode, H);
    const size_t TB = (size_t)T * B, BS = (size_t)B * S;
    const REAL *wx = w, *ws = w + (size_t)H * I;
    REAL *dwx = dw, *dws = dw + (size_t)H * I, *db = dws + (size_t)H * S;
    REAL *dz = cache; /* z becomes dZ, step by step */
    const REAL *sbuf = cache + TB * H;
    REAL *ds = scratch; /* [B][S]: dL/ds_t for the step being processed */

    if (dsn)
        memcpy(ds, dsn, sizeof(REAL) * BS);
    else
        memset(ds, 0, sizeof(REAL) * BS);

    for (int t = T - 1; t >= 0; t--) {
        REAL *dzt = dz + (size_t)t * B * H;
        double flow = 0;
        for (int b = 0; b < B; b++) {
            REAL *dzb = dzt + (size_t)b * H;
            REAL *dsb = ds + (size_t)b * S;
            if (!STATAL_ACTIVE(lengths, t, b)) {
                /* the state was carried: its gradient passes unchanged */
                memset(dzb, 0, sizeof(REAL) * H);
                continue;
            }
            const REAL *spb = sbuf + ((size_t)t * B + b) * S;
            const REAL *dyb = dy ? dy + ((size_t)t * B + b) * ldy : NULL;
            if (dyb)
                for (int i = 0; i < S; i++)
                    dsb[i] += dyb[H + i];
            if (gradflow)
                for (int i = 0; i < S; i++)
                    flow += (double)dsb[i] * (double)dsb[i];
            for (int j = 0; j < H; j++) {
                const REAL zj = dzb[j], da = dyb ? dyb[j] : 0;
                REAL g;
                switch (mode) {
                case RNN__STATAL_COPY: {
                    const REAL m = zj > 0 ? 1 : 0, a = zj > 0 ? zj : 0;
                    g = m * (da + dsb[j]);
                    if (surrogate) { /* d s_t / d m_t = a_t - s_{t-1}, m' ~ sigma' */
                        const REAL sg = SFX(statal_sigm)(zj);
                        g += dsb[j] * (a - spb[j]) * sg * (1 - sg);
                    }
                    dsb[j] *= 1 - m;
                    break;
                }
                case RNN__STATAL_BINARY: {
                    const REAL h = zj > 0 ? 1 : 0;
                    g = h * da;
                    if (surrogate) { /* d s_t / d h_t = 1 - s_{t-1}, h' ~ sigma' */
                        const REAL sg = SFX(statal_sigm)(zj);
                        g += dsb[j] * (1 - spb[j]) * sg * (1 - sg);
                    }
                    dsb[j] *= 1 - h;
                    break;
                }
                case RNN__STATAL_PROB: {
                    const REAL a = SFX(statal_sigm)(zj);
                    g = (da + dsb[j] * (1 - spb[j])) * a * (1 - a);
                    dsb[j] *= 1 - a;
                    break;
                }
                default: { /* MULTI */
                    const REAL a = SFX(statal_sigm)(zj);
                    REAL dA = da;
                    for (int k = 0; k < RNN__STATAL_K; k++) {
                        const size_t i = (size_t)k * H + j;
                        const REAL lam = (REAL)rnn__statal_decay[k];
                        dA += dsb[i] * (1 - lam * spb[i]);
                        dsb[i] *= (1 - a) * lam;
                    }
                    g = dA * a * (1 - a);
                    break;
                }
                }
                dzb[j] = g;
            }
        }
        if (gradflow)
            gradflow[t] = sqrt(flow);
        /* the path through the recurrent weights; inactive rows of dZ are 0 */
        GEMM(0, 0, B, S, H, 1, dzt, H, ws, S, 1, ds, S);
    }
    if (ds0)
        memcpy(ds0, ds, sizeof(REAL) * BS);

    GEMM(1, 0, H, I, (int)TB, 1, dz, H, x, I, 1, dwx, I);
    GEMM(1, 0, H, S, (int)TB, 1, dz, H, sbuf, S, 1, dws, S);
    for (size_t r = 0; r < TB; r++)
        for (int j = 0; j < H; j++)
            db[j] += dz[r * H + j];
    if (dx)
        GEMM(0, 0, (int)TB, I, H, 1, dz, H, wx, I, accumulate_dx ? 1 : 0, dx, I);
}

#undef STATAL_ACTIVE

#endif /* RNN__STATAL_BODY */
