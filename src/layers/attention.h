/*
 * attention.h -- the core of Luong-style global attention, as used by the
 * encoder-decoder (model/seq2seq.c): scores of every decoder step against
 * every valid encoder step, a softmax over the valid ones, and the context
 * vector. The linear maps around it (the "general" key projection, the
 * additive query/key projections, Luong's combination tanh(W_c [c; h]) and
 * the output layer) are dense layers the model calls itself. Internal.
 *
 * For query q_t (decoder step t) and keys k_s, values e_s (encoder step s):
 *   dot / general: score(t, s) = q_t . k_s
 *   additive:      score(t, s) = v . tanh(q_t + k_s)   (Bahdanau; q and k
 *                  already carry W1 h + b1 and W2 e)
 *   alpha(t, .) = softmax over s < src_len[b]   (0 for s >= src_len[b])
 *   ctx_t = sum_s alpha(t, s) e_s
 * Sequences are time-major: q [T][B][H], k and e [S][B][H], alpha
 * [T][B][S], ctx [T][B][H]. Steps t >= tgt_len[b] (tgt_len may be NULL)
 * are skipped: their alpha and ctx rows are zero and they send no gradient.
 *
 * Written once over a scalar type and compiled for float (the engine) and,
 * with the suffix _f64, for double (the finite-difference check). Plain
 * loops: at the sizes where seq2seq is used, the recurrent stacks and the
 * dense layers (GEMMs) cost far more than this.
 */
#ifndef RNN_ATTENTION_H
#define RNN_ATTENTION_H

#include "core/core.h"

#define RNN__ATTN_DECLARE(REAL, SFX)                                              \
    /* additive: 0 = dot product scores, 1 = v . tanh(q + k) (v [H]).          \
     * alpha, ctx: written. scratch: H elements (additive; else unused). */   \
    void rnn__attn_forward##SFX(int additive, int T, int S, int B, int H,       \
                                REAL *alpha, REAL *ctx, const REAL *q,          \
                                const REAL *k, const REAL *e, const REAL *v,    \
                                const int32_t *src_len,                         \
                                const int32_t *tgt_len, REAL *scratch);         \
    /* Given dctx [T][B][H]: ACCUMULATES dq [T][B][H], dk and de [S][B][H]     \
     * (dk may alias de: dot attention uses e as its keys) and dv [H]          \
     * (additive). scratch: S + H elements. */                                  \
    void rnn__attn_backward##SFX(int additive, int T, int S, int B, int H,      \
                                 REAL *dq, REAL *dk, REAL *de, REAL *dv,        \
                                 const REAL *dctx, const REAL *alpha,           \
                                 const REAL *q, const REAL *k, const REAL *e,   \
                                 const REAL *v, const int32_t *src_len,         \
                                 const int32_t *tgt_len, REAL *scratch);

RNN__ATTN_DECLARE(float, )
RNN__ATTN_DECLARE(double, _f64)

#endif /* RNN_ATTENTION_H */
