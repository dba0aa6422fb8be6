/*
 * seq2seq.h -- an encoder-decoder with global attention (many-to-many of
 * unequal length): Luong et al. 2015, no input feeding. Internal: the CLI
 * (rnn seq2seq) and the tests use it.
 *
 *   encoder: enc.embed (nn.Embedding(Vs, E)) -> enc.rnn (L layers, hidden
 *            H, or H/2 per direction when bidirectional) over the source,
 *            variable lengths with PyTorch's packed semantics
 *   bridge:  the decoder's initial state of layer l is the encoder's final
 *            state of layer l; bidirectional: [forward; reverse] concatenated
 *            (H/2 + H/2 = H, OpenNMT's "brnn"; c as well for LSTM)
 *   decoder: dec.embed (nn.Embedding(Vt, E)) -> dec.rnn (L layers, hidden H)
 *            over the target shifted right: </s>, y_1, ..., y_n (teacher
 *            forcing), predicting y_1, ..., y_n, </s>
 *   attention (see layers/attention.h), at every decoder step t over the
 *            valid encoder outputs e_s:
 *              dot:      score = h_t . e_s
 *              general:  score = h_t . (W_k e_s)               [attn.key.weight]
 *              additive: score = v . tanh(W_q h_t + b_q + W_k e_s)
 *                                  [attn.query.weight, attn.query.bias, attn.key.weight, attn.v]
 *            alpha = softmax over s < source length, c_t = sum alpha e_s,
 *            a_t = tanh(W_c [c_t; h_t])                         [attn.combine.weight]
 *   head:    logits = W a_t + b (attention none: W h_t + b)    [head.weight, head.bias]
 *
 * Token id 0 of the target vocabulary is </s>: it starts every decoder
 * input and ends every target. One flat buffer holds every parameter, in
 * the order above, under these PyTorch-style names.
 */
#ifndef RNN_SEQ2SEQ_H
#define RNN_SEQ2SEQ_H

#include "io/io.h"
#include "model/stack.h"
#include "model/trainer.h"

typedef enum rnn__attn_kind {
    RNN__ATTN_NONE = 0,
    RNN__ATTN_DOT = 1,
    RNN__ATTN_GENERAL = 2,
    RNN__ATTN_ADDITIVE = 3
} rnn__attn_kind;

/* "none", "dot", "general", "additive"; and back (-1 if unknown). */
const char *rnn__attn_name(rnn__attn_kind k);
int rnn__attn_from_name(const char *name);

typedef struct rnn__s2s_config {
    rnn_cell cell;
    int src_vocab;     /* Vs                                                  */
    int tgt_vocab;     /* Vt, counting id 0 = </s>                            */
    int embed;         /* E, both embeddings                                  */
    int hidden;        /* H: decoder state = encoder output width             */
    int layers;        /* L, encoder and decoder                              */
    int bidirectional; /* encoder only; H/2 per direction (H must be even)    */
    float dropout;     /* between stacked layers while training               */
    rnn__attn_kind attention;
    int max_len;       /* longest source or target accepted, in tokens        */
} rnn__s2s_config;

typedef struct rnn__s2s {
    rnn__s2s_config cfg;
    int H, He, D; /* decoder hidden, encoder hidden per direction, directions */
    size_t off_enc_embed, off_enc_rnn, off_dec_embed, off_dec_rnn, off_key_w, off_query_w,
        off_query_b, off_v, off_combine_w, off_head_w, off_head_b, nparams;
    float *params, *grads;
    rnn__stack enc, dec;
    rnn__tensor_info *tensors; /* every parameter, full names */
    size_t ntensors;
    rnn__rng rng; /* seeds the stacks' dropout masks at every training forward */
    int threads;

    /* workspace for batches up to cap_S x cap_T x cap_B */
    float *ws;
    int cap_S, cap_T, cap_B;
    float *xe, *dxe;       /* [S*B][E] source embeddings and their gradient   */
    float *e, *de;         /* [S*B][H] encoder outputs                          */
    float *k, *dk;         /* [S*B][H] attention keys (general, additive)      */
    float *hn, *cn, *dhn, *dcn; /* [D*L][B][He] encoder final states            */
    float *h0, *c0, *dh0, *dc0; /* [L][B][H] decoder initial states (bridge)    */
    float *xd, *dxd;       /* [T*B][E] decoder input embeddings                */
    float *hd, *dhd;       /* [T*B][H] decoder outputs                          */
    float *q, *dq;         /* [T*B][H] additive queries W_q h + b_q             */
    float *alpha;          /* [T*B][S]                                          */
    float *ctx, *dctx;     /* [T*B][H] context vectors                          */
    float *z, *dz;         /* [T*B][2H] [c; h]                                  */
    float *att, *datt;     /* [T*B][H] tanh(W_c [c; h])                         */
    float *scratch;        /* [S + H] attention scratch                         */
    int32_t *src, *tgt, *src_len, *tgt_len; /* copies of the last forward's    */
    int S, T, B, have_cache;
    rnn_error err;
} rnn__s2s;

/* Validates a configuration. */
rnn_status rnn__s2s_check_config(const rnn__s2s_config *c, rnn_error *err);
/* A model initialised like PyTorch: embeddings N(0, 1), recurrent weights
 * U(+-1/sqrt(hidden)), linear layers and v U(+-1/sqrt(fan_in)). */
rnn_status rnn__s2s_new(rnn__s2s **out, const rnn__s2s_config *c, uint64_t seed,
                        rnn_error *err);
void rnn__s2s_free(rnn__s2s *m);
void rnn__s2s_zero_grad(rnn__s2s *m);
long rnn__s2s_find(const rnn__s2s *m, const char *name); /* tensor index or -1 */

/* What creating a model of config c and training it with optimizer optim
 * (NULL: none) on batches of B pairs of up to S source and T decoder steps
 * allocates, from the configuration alone (nothing is allocated): the two
 * halves as rnn_model_memory counts them (encoder with the key projection
 * standing for its head, decoder with the output head), plus the attention
 * parameters and buffers and the batch's logits. */
rnn_status rnn__s2s_memory(const rnn__s2s_config *c, const rnn_optim_config *optim, int S, int T,
                           int B, rnn_memory_estimate *out, rnn_error *err);

/* One batch, time-major, padded. */
typedef struct rnn__s2s_batch {
    int S, T, B;
    const int32_t *src;     /* [S][B] source ids                                */
    const int32_t *src_len; /* [B] in 1..S                                      */
    const int32_t *tgt_in;  /* [T][B] decoder inputs: 0 (</s>), y_1, ..., y_n   */
    const int32_t *tgt_len; /* [B] in 1..T: n + 1                               */
} rnn__s2s_batch;

/* Teacher-forced forward: logits [T*B][Vt] (rows of steps t >= tgt_len[b]
 * are the head's bias alone and carry no meaning). training = 1 keeps what
 * backward needs and applies dropout. */
rnn_status rnn__s2s_forward(rnn__s2s *m, float *logits, const rnn__s2s_batch *bt, int training);
/* Backward through the last training forward from dlogits [T*B][Vt];
 * ACCUMULATES every parameter gradient. */
rnn_status rnn__s2s_backward(rnn__s2s *m, const float *dlogits);

/* The longest output decoding produces for a source of `len` tokens (not
 * counting </s>): min(2 len + 10, max_len). */
int rnn__s2s_output_limit(const rnn__s2s *m, int len);

typedef struct rnn__s2s_result {
    int32_t *tokens; /* [cap] target ids (no </s>); the caller's buffer        */
    int cap;         /* >= rnn__s2s_output_limit(m, source length)             */
    int len;         /* written: tokens produced                               */
    int finished;    /* written: 1 if </s> was produced, 0 if the limit stopped it */
    double logprob;  /* written: sum of log-probabilities, </s> included       */
    double score;    /* written: logprob / (len + finished), the beam's ranking */
} rnn__s2s_result;

/* Decodes n sources (src[i] of src_len[i] tokens, 1..max_len each) with a
 * beam of `beam` hypotheses (1 = greedy); see seq2seq.c for the search.
 * attn (may be NULL): the attention weights of source 0's output, [cap][S0]
 * (row t = output step t, </s> step included when it fits), greedy only. */
rnn_status rnn__s2s_translate(rnn__s2s *m, const int32_t *const *src, const int32_t *src_len,
                              int n, int beam, rnn__s2s_result *res, float *attn,
                              rnn_error *err);

/* Checkpoints: every parameter under its name, "rnn.task" = "seq2seq",
 * "seq2seq.version", "seq2seq.config" (JSON) and the caller's pairs in the
 * metadata, plus `extra` tensors (training state). Atomic. */
rnn_status rnn__s2s_save(rnn__s2s *m, const char *path, const rnn__st_entry *extra, size_t nextra,
                         const char *const *keys, const char *const *values, size_t nmeta,
                         rnn_error *err);
/* A model from an open checkpoint; errors name `path`. */
rnn_status rnn__s2s_from_st(rnn__s2s **out, const rnn__st *f, const char *path, rnn_error *err);
char *rnn__s2s_config_json(const rnn__s2s_config *c);
rnn_status rnn__s2s_config_parse(rnn__s2s_config *c, const char *json, rnn_error *err);

/* Pairs of token sequences, back to back. */
typedef struct rnn__s2s_pairs {
    int n;
    const int32_t *src, *tgt;          /* source ids; target ids in 1..Vt-1  */
    const int64_t *src_off, *tgt_off; /* [n+1]: pair i is [off[i], off[i+1]) */
} rnn__s2s_pairs;

/* A trainer (rnn_trainer_step, _evaluate, _save, _restore all apply) that
 * visits the training pairs in a fresh order every epoch (a function of the
 * seed and the epoch), `batch` at a time, teacher-forced, with the mean
 * cross-entropy per target token (</s> included) as the loss; evaluation is
 * the same loss over val (may be NULL). The pairs must outlive the trainer. */
rnn_status rnn__s2s_trainer_new(rnn_trainer **out, rnn__s2s *m, const rnn_train_options *o,
                                const rnn__s2s_pairs *train, const rnn__s2s_pairs *val,
                                rnn_error *err);
/* The mean teacher-forced cross-entropy per target token over pairs. */
rnn_status rnn__s2s_loss(rnn__s2s *m, const rnn__s2s_pairs *p, int batch, double *loss,
                         rnn_error *err);

#endif /* RNN_SEQ2SEQ_H */
