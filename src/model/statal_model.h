/*
 * statal_model.h -- a model built on the Statal cell (seed 003): float
 * features -> L Statal layers -> dense head, read at the last valid step
 * (one output per sequence) or at every step; one flat parameter buffer;
 * checkpoints; and a trainer (rnn__task over rnn_dataset, as
 * rnn_seq_trainer_new) so that the common training loop drives it. Internal.
 *
 * Parameter names (PyTorch style; tools/gen_statal_fixtures.py's
 * StatalLayer holds one layer's weight_x, weight_s, bias):
 *   statal.weight_x_l{k} [H][I_k]   I_0 = input_size, I_k = H + S after
 *   statal.weight_s_l{k} [H][S]     S = H, or K*H for multi
 *   statal.bias_l{k}     [H]
 *   head.weight [O][H+S], head.bias [O]
 */
#ifndef RNN_STATAL_MODEL_H
#define RNN_STATAL_MODEL_H

#include "io/io.h"
#include "layers/statal.h"
#include "model/stack.h"

typedef struct rnn__statal_config {
    rnn__statal_mode mode;
    int input_size, hidden_size, num_layers, output_size;
    int per_step; /* 1: the head at every step, out [T][B][O]; 0: at each
                     sequence's last step, out [B][O] */
} rnn__statal_config;

typedef struct rnn__statal_model {
    rnn__statal_config cfg;
    int S, W; /* state width, layer output width H + S */
    size_t nparams, *layer_off, off_head_w, off_head_b;
    float *params, *grads;
    rnn__tensor_info *tensors;
    size_t ntensors;

    /* workspace for up to cap_T x cap_B */
    float *ws;
    int cap_T, cap_B;
    float **cache;  /* [L] layer caches */
    float **y;      /* [L] layer outputs [T][B][W] */
    float *dy[2];   /* [T][B][W] gradient ping-pong between layers */
    float *scratch; /* [B][S] */
    float *last, *dlast; /* [B][W] the last-step readout */
    int32_t *lengths;    /* [cap_B] copy of the last forward's */

    int T, B, has_lengths, have_cache;
    const float *x;
    int surrogate;    /* straight-through estimator in backward (default 1) */
    double *gradflow; /* NULL or [L][T]: dL/ds_t norms after backward */
    int threads;
    rnn_error err;
} rnn__statal_model;

rnn_status rnn__statal_check_config(const rnn__statal_config *c, rnn_error *err);
/* Parameters U(-1/sqrt(H), 1/sqrt(H)) (layers) and U(-1/sqrt(H+S), ..)
 * (head), as PyTorch's nn.RNN and nn.Linear, from `seed`. */
rnn_status rnn__statal_model_new(rnn__statal_model **out, const rnn__statal_config *c,
                                 uint64_t seed, rnn_error *err);
void rnn__statal_model_free(rnn__statal_model *m);
/* What creating a model of config c and training it with optim on batches
 * of B sequences of T steps allocates (rnn_model_memory's rule), from the
 * configuration alone. */
rnn_status rnn__statal_memory(const rnn__statal_config *c, const rnn_optim_config *optim, int T,
                              int B, rnn_memory_estimate *out, rnn_error *err);
rnn_status rnn__statal_model_reserve(rnn__statal_model *m, int T, int B);
/* x [T][B][input_size] (kept until backward), lengths [B] in 1..T or NULL;
 * out [T][B][O] (per_step) or [B][O]. */
rnn_status rnn__statal_model_forward(rnn__statal_model *m, float *out, const float *x,
                                     const int32_t *lengths, int T, int B, int training);
/* dout shaped like out; accumulates every parameter gradient. */
rnn_status rnn__statal_model_backward(rnn__statal_model *m, const float *dout);
/* During backward, keep per layer and step the norm over the batch of
 * dL/ds_t into out [L][T] (T of the forward), or stop (NULL). */
void rnn__statal_model_record_gradflow(rnn__statal_model *m, double *out);

/* The configuration as JSON (metadata "rnn.statal") and back. */
char *rnn__statal_config_json(const rnn__statal_config *c);
rnn_status rnn__statal_config_parse(rnn__statal_config *c, const char *json, rnn_error *err);
/* Parameters, `extra` tensors, metadata (rnn.version, rnn.statal, then the
 * given pairs), atomically. */
rnn_status rnn__statal_model_save(rnn__statal_model *m, const char *path,
                                  const rnn__st_entry *extra, size_t nextra,
                                  const char *const *keys, const char *const *values,
                                  size_t nmeta, rnn_error *err);
rnn_status rnn__statal_model_from_st(rnn__statal_model **out, const rnn__st *f,
                                     const char *path, rnn_error *err);
rnn_status rnn__statal_model_load(rnn__statal_model **out, const char *path, rnn_error *err);

/* A trainer like rnn_seq_trainer_new's (shuffled each epoch from the seed,
 * batches as long as their longest sequence, mean losses) for feature
 * datasets; targets per sequence or, for per_step models, per step. */
rnn_status rnn__statal_trainer_new(rnn_trainer **out, rnn__statal_model *m,
                                   const rnn_train_options *o, rnn_loss loss,
                                   const rnn_dataset *train, const rnn_dataset *val,
                                   rnn_error *err);
/* Outputs for every sequence of d, as rnn_model_predict ([n][O] or
 * [n][T][O], zero past each sequence's end). */
rnn_status rnn__statal_predict(rnn__statal_model *m, float *out, const rnn_dataset *d,
                               int batch, rnn_error *err);

#endif /* RNN_STATAL_MODEL_H */
