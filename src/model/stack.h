/*
 * stack.h -- a recurrent stack (L layers x D directions) over parameter and
 * gradient buffers owned by someone else (the public rnn_stack, or a model
 * that keeps embedding + stack + head in one flat buffer). Internal.
 */
#ifndef RNN_STACK_H
#define RNN_STACK_H

#include "core/core.h"
#include "layers/layers.h"

#define RNN__NAME_MAX 48

typedef struct rnn__tensor_info {
    char name[RNN__NAME_MAX]; /* PyTorch name, no prefix */
    int ndim;
    int64_t shape[4]; /* unused dimensions are 0 */
    size_t offset; /* into the stack's parameter block */
    size_t numel;
} rnn__tensor_info;

typedef struct rnn__stack {
    rnn_stack_config cfg;
    int G, D, L, H, I;
    size_t nparams;           /* floats in the parameter block */
    size_t *dir_off;          /* [L*D] offset of each direction's parameters */
    rnn__tensor_info *tensors; /* [4*L*D] in state_dict order */
    size_t ntensors;
    float *params, *grads; /* bound views, not owned */

    /* workspace, sized for up to cap_T x cap_B */
    float *ws;
    size_t ws_count;
    int cap_T, cap_B;
    float **cache;  /* [L*D] */
    float **out;    /* [L-1] outputs of inner layers (after dropout) */
    const float **yv; /* [L] where the last forward left each layer's output:
                         out[l] (or the caller's y), or the layer's own state
                         buffer when that is the output unchanged */
    float **mask;   /* [L-1] dropout scales, or NULL */
    float *scratch;
    float *pack;    /* recurrent weights packed for the per-step products */
    float *dbuf[2]; /* [T][B][D*H] upstream gradient ping-pong */
    rnn__rows *yvl; /* [L] the rows of yv[l] (layers.h) */
    float *xb, *dxb; /* [T][B][I]: the first layer's dense input and its
                        gradient in the blocked row order */
    int32_t *lengths; /* [cap_B] copy of the last forward's lengths */

    /* the last forward */
    int T, B, has_lengths, have_cache, used_dropout;
    rnn__rows rl;   /* the row order of the inner buffers (out, mask, dbuf) */
    const float *x; /* the first layer's input: the caller's, or xb */
    const int32_t *ids; /* token input: x is the embedding table (see lookup_V) */

    int lookup_V; /* > 0: the first layer's input may be given as token ids
                     into a table of lookup_V rows (rnn__stack_set_lookup) */

    rnn__rng rng; /* dropout masks */
    int threads;  /* at most this many threads per call (default 1) */
    float *wpk;     /* NULL, or frozen weights: each direction's packed
                       (rnn__stack_freeze), at wpk_off[l*D+d] */
    size_t *wpk_off;
    int frozen;
    double *gradflow; /* NULL, or [L*D][cap_T]: after backward, the L2 norm
                         over the batch of dL/dh_t, the whole gradient
                         reaching each step's state (the vanishing-gradient
                         picture); set with rnn__stack_record_gradflow */
} rnn__stack;

/* Validates the config and computes the parameter layout; no workspace. */
rnn_status rnn__stack_init(rnn__stack *st, const rnn_stack_config *cfg,
                           rnn_error *err);
void rnn__stack_release(rnn__stack *st);
void rnn__stack_bind(rnn__stack *st, float *params, float *grads);
rnn_status rnn__stack_reserve(rnn__stack *st, int T, int B, rnn_error *err);
/* See rnn_stack_forward / rnn_stack_backward in rnn.h. yout: NULL, or
 * receives where the output is: y, or, when a copy would change nothing
 * (one direction, no lengths) and the stack keeps its rows in the plain
 * order (one thread, or y NULL), the top layer's state buffer, valid until
 * the next forward (y is then not written: read the output at *yout). With ids (only when
 * rnn__stack_lookup_pays), x is an embedding table [lookup_V][I] and the
 * input of row r (t*B + b) is x[ids[r]]: the first layer projects each
 * table row once instead of every step (its input-side products shrink from
 * T*B rows to V); ids must stay valid until the backward, which then
 * ACCUMULATES the table's gradient into dx ([V][I]). */
rnn_status rnn__stack_forward(rnn__stack *st, float *y, const float **yout, float *hn, float *cn,
                              const float *x, const int32_t *ids, const float *h0,
                              const float *c0, const int32_t *lengths, int T, int B,
                              int training, rnn_error *err);
rnn_status rnn__stack_backward(rnn__stack *st, float *dx, float *dh0,
                               float *dc0, const float *dy, const float *dhn,
                               const float *dcn, rnn_error *err);
/* on = 1: packs every layer's weights now and lets the forwards that follow
 * use them instead of packing per call (rnn__rec_wpack), the same results
 * (bitwise on our kernels, to rounding on a library's GEMM); for loops of
 * many short calls whose weights do not change, such as a decoder's steps.
 * The caller must call it again with on = 0 before the parameters change
 * (an optimizer step, a load). The packed copy takes about as much memory
 * as the parameters; on = 0 frees it. */
rnn_status rnn__stack_freeze(rnn__stack *st, int on, rnn_error *err);
/* Token input into a table of V rows (0: none); call before reserving. */
void rnn__stack_set_lookup(rnn__stack *st, int V);
/* 1 if a T x B call with token input takes the lookup path: a table of at
 * most half as many rows as the call has steps x batch (else the caller
 * gathers the input itself). */
int rnn__stack_lookup_pays(const rnn__stack *st, int T, int B);
/* Initialises the bound parameters (opts NULL = PyTorch default). */
rnn_status rnn__stack_init_params(rnn__stack *st, const rnn_init_options *opts,
                                  rnn__rng *rng, rnn_error *err);
/* Keeps per-step gradient norms during backward into out [L*D][T] (T of
 * the forward; out must hold L*D*T doubles), or stops (out = NULL). */
void rnn__stack_record_gradflow(rnn__stack *st, double *out);
/* Index of a tensor by name (no prefix), or -1. */
long rnn__stack_find(const rnn__stack *st, const char *name);

#endif /* RNN_STACK_H */
