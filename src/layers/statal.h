/*
 * statal.h -- the Statal cell of seed 003 ("Mi arquitectura: Statal cell"):
 * every neuron keeps a state, 0 until the feature it detects is seen; when
 * the neuron is active its activation is written into the state, otherwise
 * the state is kept; the layer outputs both, [a_t, s_t]. One layer, one
 * direction, over a whole sequence, forward and backward. Internal.
 *
 *   z_t = W_x x_t + W_s s_{t-1} + b         a_t = phi(z_t)
 *
 * and, per mode (docs/statal.md has the derivation of each backward):
 *
 *   copy   phi = relu; m_t = [z_t > 0];  s_t = m_t a_t + (1 - m_t) s_{t-1}
 *   binary phi = relu; h_t = [z_t > 0];  s_t = 1 - (1 - s_{t-1})(1 - h_t)
 *   prob   phi = sigmoid;                s_t = 1 - (1 - s_{t-1})(1 - a_t)
 *   multi  phi = sigmoid; K states per neuron with decays lambda_k:
 *          s^k_t = (1 - a_t) lambda_k s^k_{t-1} + a_t
 *          (a firing neuron sets every s^k to ~1; while it is silent s^k
 *          decays by lambda_k per step, so s^k = lambda_k^(steps since the
 *          feature was seen): the vector says WHEN; lambda = 1 is prob)
 *
 * The switches [z > 0] of copy and binary have no useful derivative (0
 * almost everywhere, a jump at 0). With `surrogate` set, backward gives
 * them the derivative sigma'(z) (a straight-through estimator); with it
 * clear, backward is the exact derivative almost everywhere (what finite
 * differences see). prob and multi are exact either way.
 *
 * Parameters of one layer, contiguous, PyTorch-style [out][in] rows:
 *     weight_x [H][I] | weight_s [H][S] | bias [H]
 * with S = H (copy, binary, prob) or K*H (multi: W_s reads all K states of
 * every neuron; state index k*H + j is s^k of neuron j).
 *
 * Sequences are time-major [T][B][F]; lengths (NULL = all T) give packed
 * semantics as in layers.h: past a sequence's end the state is carried and
 * the output is zero. Compiled for float and, suffix _f64, for double.
 */
#ifndef RNN_STATAL_H
#define RNN_STATAL_H

#include "core/core.h"

typedef enum rnn__statal_mode {
    RNN__STATAL_COPY = 0,
    RNN__STATAL_BINARY = 1,
    RNN__STATAL_PROB = 2,
    RNN__STATAL_MULTI = 3
} rnn__statal_mode;

/* multi: states per neuron and their decay per step */
#define RNN__STATAL_K 4
extern const double rnn__statal_decay[RNN__STATAL_K]; /* 1, 0.99, 0.9, 0.5 */

/* "copy", "binary", "prob", "multi"; and back (-1 if unknown or NULL). */
const char *rnn__statal_mode_name(rnn__statal_mode mode);
int rnn__statal_mode_from_name(const char *name);

/* S: state floats per sequence, H or K*H. */
int rnn__statal_state_width(rnn__statal_mode mode, int H);
/* Output width of the layer, H + S. */
int rnn__statal_out_width(rnn__statal_mode mode, int H);
/* Floats of one layer's parameters H*(I + S + 1); 0 on overflow. */
size_t rnn__statal_param_count(rnn__statal_mode mode, int I, int H);
/* Floats the forward keeps for backward: z [T][B][H] and the states
 * [T+1][B][S]; 0 on overflow. */
size_t rnn__statal_cache_count(rnn__statal_mode mode, int T, int B, int H);
/* Floats of backward's scratch: [B][S]. */
size_t rnn__statal_scratch_count(rnn__statal_mode mode, int B, int H);

#define RNN__STATAL_DECLARE(REAL, SFX)                                        \
    /* y: [T][B][ldy], columns 0..H-1 = a_t, H..H+S-1 = s_t (zero where     \
     * inactive); may be NULL. sn: [B][S] final states or NULL; s0: [B][S]   \
     * or NULL = zeros ("never seen"). */                                    \
    void rnn__statal_forward##SFX(rnn__statal_mode mode, int T, int B, int I, \
                                  int H, const int32_t *lengths, REAL *y,    \
                                  int ldy, REAL *sn, REAL *cache,            \
                                  const REAL *x, const REAL *s0,             \
                                  const REAL *w);                            \
    /* Consumes the cache of the matching forward. dy: [T][B][ldy] (columns  \
     * 0..H+S-1) or NULL = zeros; dsn: [B][S] or NULL. dx [T][B][I]:         \
     * overwritten (accumulate_dx 0) or added to; may be NULL. ds0 [B][S] or \
     * NULL. dw: ACCUMULATED. scratch: rnn__statal_scratch_count. surrogate: \
     * see above. gradflow: NULL or [T]: per step, the L2 norm over the      \
     * batch of dL/ds_t, the whole gradient reaching the state at t. */     \
    void rnn__statal_backward##SFX(                                          \
        rnn__statal_mode mode, int T, int B, int I, int H,                   \
        const int32_t *lengths, REAL *dx, int accumulate_dx, REAL *ds0,      \
        REAL *dw, REAL *cache, REAL *scratch, const REAL *x, const REAL *w,  \
        const REAL *dy, int ldy, const REAL *dsn, int surrogate,             \
        double *gradflow);

RNN__STATAL_DECLARE(float, )
RNN__STATAL_DECLARE(double, _f64)

#endif /* RNN_STATAL_H */
