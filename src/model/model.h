/*
 * model.h -- the model handle (input -> stack -> head) and its checkpoint
 * files. Internal: the trainer and the CLI use the struct directly.
 */
#ifndef RNN_MODEL_H
#define RNN_MODEL_H

#include "io/io.h"
#include "model/stack.h"

struct rnn_model {
    rnn_model_config cfg;
    int in0;  /* input width: embedding or features                    */
    int in1;  /* after the convolution (conv_filters, or in0)           */
    int in;   /* the stack's input: in1 + cond_size                     */
    int D, H, DH, A; /* directions, hidden, D*H, attention width (= DH) */
    int pooled;      /* the readout gives one vector per sequence        */
    size_t off_embed, off_cond, off_conv_w, off_conv_b, off_stack, off_attn_w, off_attn_b,
        off_attn_v, off_head_w, off_head_b, nparams;
    float *params, *grads;
    rnn__stack stack;
    rnn__tensor_info *tensors; /* every parameter, prefixed names */
    size_t ntensors;

    /* workspace for up to cap_T x cap_B */
    float *ws;
    int cap_T, cap_B;
    float *x0;      /* [T*B][in0] embedding output (token models)          */
    float *xc;      /* [T*B][in1] convolution output                        */
    float *cols, *dcols; /* [T*B][C*K] im2col of the convolution            */
    float *xs;      /* [T*B][in] the stack's input when a condition is added */
    float *dxs;     /* [T*B][in] its gradient                               */
    float *dx1;     /* [T*B][in1] gradient of the convolution output        */
    float *dx0;     /* [T*B][in0] gradient of the embedding output          */
    float *y;       /* [T*B][D*H] stack output                              */
    const float *ys; /* where the last forward left it: y, or the stack's own
                        state buffer (rnn__stack_forward) */
    float *dy;      /* [T*B][D*H] its gradient                              */
    float *hn, *dhn; /* [D*L][B][H] final states kept for the LAST readout   */
    float *pool, *dpool; /* [B][D*H]                                        */
    float *u, *alpha, *ascratch; /* attention: [T*B][A], [T*B], [T*B][A]    */
    int32_t *argmax; /* [B][D*H] (MAX readout)                              */
    int32_t *tokens; /* [T*B] the last forward's tokens                     */
    int32_t *lengths, *cond; /* [B] copies from the last forward            */
    float *state_scratch; /* [D*L][B][H] */

    int T, B, have_cache, has_lengths, has_cond;
    int lookup; /* the last forward gave the stack token ids (no x0) */
    const float *x; /* the last forward's features (feature models) */
    rnn_error err;
};

/* Checks a config; fills the derived sizes of m (no allocation). */
rnn_status rnn__model_check_config(const rnn_model_config *c, rnn_error *err);

/* 1 if the model hands the stack its token ids and embedding table (a
 * token model with neither convolution nor condition in between); the
 * stack then takes that path per call when rnn__rec_lookup_pays. */
int rnn__model_feeds_tokens(const rnn_model_config *c);

/* Config <-> the JSON object stored as "rnn.config" in checkpoints. */
char *rnn__model_config_json(const rnn_model_config *c);
rnn_status rnn__model_config_parse(rnn_model_config *c, const char *json,
                                   rnn_error *err);

/* Writes the parameters (under their names), `extra` tensors and metadata
 * (rnn.version, rnn.config, then the given pairs) atomically. */
rnn_status rnn__model_save(rnn_model *m, const char *path,
                           const rnn__st_entry *extra, size_t nextra,
                           const char *const *keys, const char *const *values,
                           size_t nmeta, rnn_error *err);
/* Loading parameters from a checkpoint, shared by every model kind:
 * RNN_EFORMAT unless f holds at least nparams values (called before a
 * model of that size is allocated: a tiny file cannot make us allocate a
 * huge model), and copying the named tensors into params with their
 * shapes, float dtypes and finite values checked. Messages start with path. */
rnn_status rnn__st_check_holds(const rnn__st *f, const char *path, size_t nparams,
                               const char *what, rnn_error *err);
rnn_status rnn__st_read_params(const rnn__st *f, const char *path,
                               const rnn__tensor_info *tensors, size_t ntensors, float *params,
                               rnn_error *err);
/* Saving, shared likewise: the named tensors of params, then `extra`, with
 * the metadata pairs head[0], head[1], ... (nhead pairs: the model kind's
 * own keys) followed by keys/values[0..nmeta), written atomically. */
rnn_status rnn__st_save_params(const char *path, const rnn__tensor_info *tensors, size_t ntensors,
                               const float *params, const rnn__st_entry *extra, size_t nextra,
                               const char *const *head, size_t nhead, const char *const *keys,
                               const char *const *values, size_t nmeta, rnn_error *err);
/* Creates a model from an open checkpoint (config from its metadata). */
rnn_status rnn__model_from_st(rnn_model **out, const rnn__st *f,
                              const char *path, rnn_error *err);

#endif
