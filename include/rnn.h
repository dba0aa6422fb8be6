/*
 * rnn.h -- public API of librnn: recurrent neural networks in C.
 *
 * Conventions
 *   - Every function that can fail returns an rnn_status. RNN_OK is 0.
 *   - Handles are opaque and owned by the caller: every *_new / *_load is
 *     paired with a *_free. Functions that create a handle take an optional
 *     rnn_error * (may be NULL) that receives the message when they fail;
 *     afterwards the handle keeps the message of its own last error
 *     (rnn_stack_errmsg).
 *   - Tensors are row-major float32. Sequences are time-major: [T][B][F]
 *     (T time steps, B batch, F features). States are [D*L][B][H]
 *     (D directions, L layers, H hidden size), PyTorch's layout.
 *   - Parameters carry PyTorch's names and shapes (weight_ih_l0,
 *     weight_hh_l1_reverse, ...): a PyTorch nn.RNN / nn.LSTM / nn.GRU
 *     state_dict loads with no reordering, and ours loads into PyTorch.
 *   - The library never prints, never exits and keeps no global mutable state.
 */
#ifndef RNN_H
#define RNN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The library is built with -fvisibility=hidden: only what is declared here
 * is exported. */
#if defined(__GNUC__)
#pragma GCC visibility push(default)
#endif

#define RNN_VERSION_MAJOR 0
#define RNN_VERSION_MINOR 1
#define RNN_VERSION_PATCH 0
#define RNN_VERSION_STRING "0.1.0"

/* Status codes: one line each, name, value, message. */
#define RNN_STATUS_LIST(X)                                             \
    X(RNN_OK, 0, "success")                                            \
    X(RNN_ENOMEM, 1, "out of memory")                                  \
    X(RNN_EINVAL, 2, "invalid argument")                               \
    X(RNN_EIO, 3, "input/output error")                                \
    X(RNN_EFORMAT, 4, "malformed file")                                \
    X(RNN_ESHAPE, 5, "shape mismatch")                                 \
    X(RNN_ENOTFOUND, 6, "not found")                                   \
    X(RNN_EOVERFLOW, 7, "size too large")                              \
    X(RNN_EUNSUPPORTED, 8, "unsupported")                              \
    X(RNN_ESTATE, 9, "call out of order")                              \
    X(RNN_EINTERNAL, 10, "internal error")

typedef enum rnn_status {
#define RNN_X_(name, value, msg) name = value,
    RNN_STATUS_LIST(RNN_X_)
#undef RNN_X_
} rnn_status;

/* Static message for a status ("out of memory"). Never NULL. */
const char *rnn_strerror(rnn_status status);
/* Name of a status ("RNN_ENOMEM"). Never NULL. */
const char *rnn_status_name(rnn_status status);

/* Error report for calls that have no handle yet. */
typedef struct rnn_error {
    rnn_status status;
    char msg[512]; /* one line, no trailing newline */
} rnn_error;

/* ------------------------------------------------------------------ */
/* Recurrent stacks: PyTorch's nn.RNN / nn.LSTM / nn.GRU.              */
/* ------------------------------------------------------------------ */

typedef enum rnn_cell {
    RNN_CELL_RNN_TANH = 0, /* h' = tanh(W_ih x + b_ih + W_hh h + b_hh) */
    RNN_CELL_RNN_RELU = 1, /* same with relu                           */
    RNN_CELL_LSTM = 2,     /* gates i|f|g|o                            */
    RNN_CELL_GRU = 3       /* gates r|z|n, reset after the product     */
} rnn_cell;

/* Name used in configs and messages: "rnn_tanh", "rnn_relu", "lstm", "gru". */
const char *rnn_cell_name(rnn_cell cell);
/* Gate blocks per cell: 1, 1, 4, 3. */
int rnn_cell_gates(rnn_cell cell);

typedef struct rnn_stack_config {
    rnn_cell cell;
    int input_size;    /* I */
    int hidden_size;   /* H */
    int num_layers;    /* L >= 1 */
    int bidirectional; /* 0 or 1 (D = 2) */
    float dropout;     /* on every layer's output but the last, training only */
} rnn_stack_config;

typedef struct rnn_stack rnn_stack;

/* Creates a stack initialised like PyTorch (every parameter U(-1/sqrt(H),
 * 1/sqrt(H))) from the given seed. */
rnn_status rnn_stack_new(rnn_stack **out, const rnn_stack_config *config,
                         uint64_t seed, rnn_error *err);
void rnn_stack_free(rnn_stack *s);
const rnn_stack_config *rnn_stack_get_config(const rnn_stack *s);
/* Message of the handle's last error ("" if none). */
const char *rnn_stack_errmsg(const rnn_stack *s);

typedef enum rnn_init {
    RNN_INIT_PYTORCH = 0,    /* U(-1/sqrt(H), 1/sqrt(H))                       */
    RNN_INIT_XAVIER = 1,     /* U(-a, a), a = sqrt(6 / (fan_in + fan_out))    */
    RNN_INIT_ORTHOGONAL = 2, /* orthogonal (per gate block for weight_hh)     */
    RNN_INIT_IDENTITY = 3    /* identity per gate block (weight_hh; with relu
                                and zero biases: IRNN, Le et al. 2015)         */
} rnn_init;

typedef struct rnn_init_options {
    rnn_init input_weights;     /* weight_ih_*                                */
    rnn_init recurrent_weights; /* weight_hh_*                                */
    int zero_biases;            /* biases 0 instead of PyTorch's uniform      */
    int set_forget_bias;        /* LSTM: forget-gate bias b_if = forget_bias, */
    float forget_bias;          /*       b_hf = 0 (Keras unit_forget_bias: 1) */
} rnn_init_options;

/* Re-initialises every parameter. opts NULL = PyTorch's default. */
rnn_status rnn_stack_init(rnn_stack *s, const rnn_init_options *opts,
                          uint64_t seed);

/* Loads a stack from a safetensors file holding a PyTorch nn.RNN / nn.LSTM /
 * nn.GRU state_dict, optionally under a prefix ("rnn."). The cell type
 * follows from the shapes (weight_hh rows / columns = 1, 3 or 4); for G = 1
 * `nonlinearity` chooses RNN_CELL_RNN_TANH or RNN_CELL_RNN_RELU. */
rnn_status rnn_stack_load(rnn_stack **out, const char *path,
                          const char *prefix, rnn_cell nonlinearity,
                          rnn_error *err);
/* Writes the parameters as float32 safetensors under PyTorch's names (each
 * preceded by prefix, which may be NULL). Atomic: the previous file is
 * replaced only once the new one is complete on disk. */
rnn_status rnn_stack_save(rnn_stack *s, const char *path, const char *prefix);

/* Reserves the workspace for sequences of up to T steps and B sequences, so
 * that forward/backward of that size allocate nothing. Optional: forward
 * grows the workspace on demand. */
rnn_status rnn_stack_reserve(rnn_stack *s, int T, int B);

/* Forward over a whole sequence.
 *   y       [T][B][D*H]  outputs (zero past a sequence's length); may be NULL
 *   hn, cn  [D*L][B][H]  final states (cn: LSTM only); may be NULL
 *   x       [T][B][I]    must stay unchanged until rnn_stack_backward
 *   h0, c0  [D*L][B][H]  initial states; NULL = zeros
 *   lengths [B]          each in 1..T; NULL = all T (PyTorch packed semantics)
 *   training             1: dropout active and activations kept for backward
 */
rnn_status rnn_stack_forward(rnn_stack *s, float *y, float *hn, float *cn,
                             const float *x, const float *h0, const float *c0,
                             const int32_t *lengths, int T, int B,
                             int training);

/* Backward (BPTT) through the last training forward. Upstream gradients of
 * the outputs and of the final states (NULL = zeros); produces d(input),
 * d(h0), d(c0) (each may be NULL when not wanted) and ACCUMULATES every
 * parameter gradient. Consumes the forward's activations: call forward again
 * before the next backward. */
rnn_status rnn_stack_backward(rnn_stack *s, float *dx, float *dh0, float *dc0,
                              const float *dy, const float *dhn,
                              const float *dcn);

/* Sets every parameter gradient to zero. */
void rnn_stack_zero_grad(rnn_stack *s);

/* Seeds the generator used for dropout masks. */
void rnn_stack_seed(rnn_stack *s, uint64_t seed);
/* Lets forward/backward use up to n threads (default 1). Results are
 * bitwise the same for every n. */
void rnn_stack_set_threads(rnn_stack *s, int n);

/* A named parameter: a view into the stack's flat buffers. */
typedef struct rnn_tensor {
    const char *name; /* PyTorch name, e.g. "weight_hh_l0_reverse" */
    int ndim;         /* 1 to 4 */
    int64_t shape[4]; /* unused dimensions are 0 */
    size_t numel;
    float *data; /* parameter values */
    float *grad; /* accumulated gradient, same shape */
} rnn_tensor;

size_t rnn_stack_num_tensors(const rnn_stack *s);
/* i-th parameter in PyTorch's state_dict order. */
rnn_status rnn_stack_tensor(rnn_stack *s, size_t i, rnn_tensor *out);
rnn_status rnn_stack_find(rnn_stack *s, const char *name, rnn_tensor *out);
/* The flat buffers: every parameter (and its gradient) back to back. */
float *rnn_stack_params(rnn_stack *s, size_t *count);
float *rnn_stack_grads(rnn_stack *s, size_t *count);

/* ------------------------------------------------------------------ */
/* Models: input -> recurrent stack -> dense head, one flat buffer.    */
/* ------------------------------------------------------------------ */

/* How the head reads the recurrent stack's outputs. */
typedef enum rnn_readout {
    RNN_READOUT_STEPS = 0,    /* at every step: out [T][B][O] (many-to-many)      */
    RNN_READOUT_LAST = 1,     /* h_n of the top layer, both directions: out [B][O] */
    RNN_READOUT_MEAN = 2,     /* mean of the top outputs over the valid steps      */
    RNN_READOUT_MAX = 3,      /* their elementwise maximum                         */
    RNN_READOUT_ATTENTION = 4 /* an attention-weighted sum of them (additive
                                 attention: score_t = v . tanh(W y_t + b))         */
} rnn_readout;

/* PyTorch equivalent (parameter names in brackets):
 *   tokens: nn.Embedding(vocab_size, embed_size)            [embed.weight]
 *   condition: nn.Embedding(cond_classes, cond_size), concatenated to every
 *           step's input (one-to-many generation)           [cond.weight]
 *   conv:   nn.Conv1d(in, conv_filters, conv_kernel, dilation=conv_dilation,
 *           padding=(k-1)*d), first T outputs (causal), then ReLU
 *                                                           [conv.weight, conv.bias]
 *   rnn:    nn.RNN/LSTM/GRU(.., hidden_size, num_layers, bidirectional, dropout)
 *                                                           [rnn.weight_ih_l0, ...]
 *   attention (readout ATTENTION): nn.Linear(D*hidden, D*hidden) + a vector
 *                                                           [attn.weight, attn.bias, attn.v]
 *   head:   nn.Linear(D * hidden_size, output_size)         [head.weight, head.bias]
 * Fields added after output_size default to 0 (no condition, no conv, STEPS). */
typedef struct rnn_model_config {
    int vocab_size;  /* > 0: the input is token ids through an embedding */
    int embed_size;  /*      embedding width (vocab_size > 0)            */
    int input_size;  /* vocab_size == 0: float features per step         */
    rnn_cell cell;
    int hidden_size;
    int num_layers;
    int bidirectional;
    float dropout;
    int output_size; /* head outputs (per step, or per sequence)         */
    rnn_readout readout;
    int conv_filters, conv_kernel, conv_dilation; /* 0: no convolution   */
    int cond_classes, cond_size;                  /* 0: no condition     */
} rnn_model_config;

typedef struct rnn_model rnn_model;

/* Initialised like PyTorch: embedding N(0,1), recurrent U(+-1/sqrt(H)),
 * head U(+-1/sqrt(fan_in)). */
rnn_status rnn_model_new(rnn_model **out, const rnn_model_config *config,
                         uint64_t seed, rnn_error *err);
void rnn_model_free(rnn_model *m);
const rnn_model_config *rnn_model_get_config(const rnn_model *m);
const char *rnn_model_errmsg(const rnn_model *m);

/* Floats of one recurrent state (h or c): D*L*B*H. */
size_t rnn_model_state_size(const rnn_model *m, int B);

/* One batch of sequences for rnn_model_forward_batch. */
typedef struct rnn_batch {
    int T, B;
    const int32_t *tokens;  /* [T][B] ids (token models)                    */
    const float *x;         /* [T][B][input_size] (feature models)           */
    const int32_t *lengths; /* [B] in 1..T, or NULL = all T                  */
    const int32_t *cond;    /* [B] condition ids (cond_classes > 0)          */
    const float *h0, *c0;   /* [D*L][B][H] or NULL = zeros                   */
} rnn_batch;

/* Forward: out is [T][B][output_size] for RNN_READOUT_STEPS, else
 * [B][output_size]. hn/cn [D*L][B][H] may be NULL. The inputs must stay
 * unchanged until backward. */
rnn_status rnn_model_forward_batch(rnn_model *m, float *out, float *hn,
                                   float *cn, const rnn_batch *batch,
                                   int training);
/* The same for a model without a condition. */
rnn_status rnn_model_forward(rnn_model *m, float *out, float *hn, float *cn,
                             const int32_t *tokens, const float *x,
                             const float *h0, const float *c0,
                             const int32_t *lengths, int T, int B,
                             int training);
/* Backward through the last training forward: dout shaped like out (NULL =
 * zeros), dhn/dcn (NULL = zeros); accumulates every gradient. dx (feature
 * models, [T][B][input_size]) may be NULL. */
rnn_status rnn_model_backward(rnn_model *m, float *dx, const float *dout,
                              const float *dhn, const float *dcn);
void rnn_model_zero_grad(rnn_model *m);
void rnn_model_seed(rnn_model *m, uint64_t seed); /* dropout masks */
/* Up to n threads per call (default 1); results are the same for every n. */
void rnn_model_set_threads(rnn_model *m, int n);
rnn_status rnn_model_reserve(rnn_model *m, int T, int B);

float *rnn_model_params(rnn_model *m, size_t *count);
float *rnn_model_grads(rnn_model *m, size_t *count);
size_t rnn_model_num_tensors(const rnn_model *m);
rnn_status rnn_model_tensor(rnn_model *m, size_t i, rnn_tensor *out);
rnn_status rnn_model_find(rnn_model *m, const char *name, rnn_tensor *out);

/* Softmax cross-entropy of rows logits[N][V] against targets[N] (a target
 * < 0 skips its row). Returns the summed loss; dlogits (may be NULL, may
 * alias logits) gets scale * (softmax - onehot). */
double rnn_cross_entropy(float *dlogits, const float *logits,
                         const int32_t *targets, int N, int V, float scale,
                         size_t *counted);

/* Checkpoints: parameters under their PyTorch names, the configuration in
 * the metadata ("rnn.config"), plus the caller's metadata pairs. */
rnn_status rnn_model_save(rnn_model *m, const char *path,
                          const char *const *keys, const char *const *values,
                          size_t count);
rnn_status rnn_model_load(rnn_model **out, const char *path, rnn_error *err);

/* ------------------------------------------------------------------ */
/* Optimizers, gradient clipping, learning-rate schedules.             */
/* They work on flat float buffers (rnn_stack_params / _grads, or a    */
/* model's), with torch.optim's exact update rules.                    */
/* ------------------------------------------------------------------ */

typedef enum rnn_optimizer {
    RNN_OPT_SGD = 0,     /* torch.optim.SGD (momentum, dampening 0, nesterov) */
    RNN_OPT_ADAM = 1,    /* torch.optim.Adam (L2 weight decay added to g)     */
    RNN_OPT_ADAMW = 2,   /* torch.optim.AdamW (decoupled weight decay)        */
    RNN_OPT_RMSPROP = 3  /* torch.optim.RMSprop (not centered)                */
} rnn_optimizer;

typedef struct rnn_optim_config {
    rnn_optimizer kind;
    double momentum;     /* SGD, RMSprop; in [0, 1); default 0               */
    int nesterov;        /* SGD; needs momentum > 0                          */
    double beta1, beta2; /* Adam, AdamW; in [0, 1); defaults 0.9, 0.999      */
    double alpha;        /* RMSprop smoothing constant, in [0, 1); 0.99      */
    double eps;          /* Adam, AdamW, RMSprop; finite, >= 0; 1e-8         */
    double weight_decay; /* finite, >= 0; default 0 (AdamW: 0.01)            */
} rnn_optim_config;

/* Fills *c with PyTorch's defaults for `kind` (every field, including those
 * `kind` does not use). */
void rnn_optim_defaults(rnn_optim_config *c, rnn_optimizer kind);
/* "sgd", "adam", "adamw", "rmsprop" ("unknown" otherwise); and back, exact
 * lower-case spelling (-1 if unknown or NULL). */
const char *rnn_optimizer_name(rnn_optimizer kind);
int rnn_optimizer_from_name(const char *name);

typedef struct rnn_optim rnn_optim;

/* An optimizer for n >= 1 parameters; its state (momentum, moments) is zero
 * and its step count 0. Checks the fields `kind` uses (ranges above) and
 * ignores the others; RNN_EINVAL with a one-line message otherwise
 * (RNN_EOVERFLOW / RNN_ENOMEM when the state does not fit). */
rnn_status rnn_optim_new(rnn_optim **out, const rnn_optim_config *config,
                         size_t n, rnn_error *err);
void rnn_optim_free(rnn_optim *o);
/* One update of params[n] from grads[n] with learning rate lr (a per-call
 * argument, so that any schedule can drive it). Float32 arithmetic in
 * torch's order (scalars in double, as Python floats): bit-identical to
 * torch 1.13's single-tensor path for float32 on an AVX2 (FMA) CPU, within
 * an ulp per operation elsewhere. */
void rnn_optim_step(rnn_optim *o, float *params, const float *grads, double lr);
/* Number of updates made so far (Adam's bias correction uses it; SGD with
 * momentum starts its buffer as a copy of the first gradient when it is 0). */
int64_t rnn_optim_steps(const rnn_optim *o);
/* The optimizer's state for checkpoints: `count` floats per slot (count =
 * n) and `slots` of them:
 *   SGD      0, or 1 with momentum: the momentum buffer
 *   Adam(W)  2: exp_avg, exp_avg_sq
 *   RMSprop  1: square_avg; 2 with momentum: square_avg, momentum buffer
 * Slot k starts at state + k*n (NULL when slots = 0); the buffer may be
 * written to restore a checkpoint. rnn_optim_set_steps restores the update
 * count (negative values become 0). */
float *rnn_optim_state(rnn_optim *o, int *slots, size_t *count);
void rnn_optim_set_steps(rnn_optim *o, int64_t steps);

/* torch.nn.utils.clip_grad_norm_: if the global L2 norm of g exceeds
 * max_norm, scales g by max_norm / (norm + 1e-6) (never scales up).
 * Returns the norm before clipping, computed in double. If it is NaN or
 * Inf, g is left untouched (torch would fill it with NaN or 0). */
double rnn_clip_grad_norm(float *g, size_t n, double max_norm);
/* torch.nn.utils.clip_grad_value_: clamps every element to [-c, c]; NaN
 * stays NaN. */
void rnn_clip_grad_value(float *g, size_t n, double c);

/* Schedules. Steps are 0-based (negative = 0). The first `warmup` steps
 * ramp up linearly: lr * (step+1)/warmup, reaching lr at step warmup-1.
 * The schedule proper then runs on t = step - warmup, i.e. its clock starts
 * at the end of the warm-up, like torch's SequentialLR([LinearLR(
 * start_factor=1/warmup, total_iters=warmup-1), main], [warmup]). The
 * formulas are the closed forms of torch's StepLR and CosineAnnealingLR. */
typedef enum rnn_schedule_kind {
    RNN_SCHED_CONSTANT = 0, /* lr                                           */
    RNN_SCHED_STEP = 1,     /* lr * gamma^floor(t / step_size)              */
    RNN_SCHED_COSINE = 2    /* min_lr + (lr-min_lr)(1+cos(pi*min(t,total)/
                               total))/2: held at min_lr after `total` steps
                               (torch's would rise again)                   */
} rnn_schedule_kind;

typedef struct rnn_schedule {
    rnn_schedule_kind kind;
    int64_t warmup;    /* warm-up steps; <= 0 = none                        */
    int64_t step_size; /* STEP: decay every step_size steps (< 1: constant) */
    double gamma;      /* STEP: factor per decay                             */
    int64_t total;     /* COSINE: steps to reach min_lr (< 1: constant)      */
    double min_lr;     /* COSINE: floor                                      */
} rnn_schedule;

/* Learning rate at 0-based `step` for base rate lr (lr if s is NULL). */
double rnn_schedule_lr(const rnn_schedule *s, double lr, int64_t step);

/* ------------------------------------------------------------------ */
/* Training a language model: truncated BPTT over parallel streams.    */
/* ------------------------------------------------------------------ */

typedef struct rnn_train_options {
    int seq_len;              /* T: steps per truncated-BPTT window         */
    int batch;                /* B: parallel streams of the corpus          */
    rnn_optim_config optim;
    double lr;                /* base learning rate                         */
    rnn_schedule schedule;
    double clip_norm;         /* global-norm clipping; 0 = off              */
    double clip_value;        /* element clipping; 0 = off                  */
    uint64_t seed;            /* dropout masks                              */
} rnn_train_options;

typedef struct rnn_trainer rnn_trainer;

/* A trainer for a token model (vocab_size > 0, output_size = vocab_size)
 * on train[ntrain] (and val[nval], may be empty): the corpus is cut into
 * `batch` contiguous streams of S = (ntrain-1)/batch tokens; each step
 * trains on the next seq_len tokens of every stream, with the recurrent
 * state carried from step to step and reset at each epoch (char-rnn). The
 * arrays must outlive the trainer. */
rnn_status rnn_lm_trainer_new(rnn_trainer **out, rnn_model *m,
                              const rnn_train_options *options,
                              const int32_t *train, size_t ntrain,
                              const int32_t *val, size_t nval, rnn_error *err);
void rnn_trainer_free(rnn_trainer *t);
const char *rnn_trainer_errmsg(const rnn_trainer *t);

typedef struct rnn_train_stats {
    int64_t step;          /* updates made so far                      */
    int64_t epoch;         /* 0-based epoch of the next step           */
    int64_t batches_per_epoch;
    int64_t batch_in_epoch; /* batches of the current epoch done       */
    double loss;           /* mean loss of the last step (nats/token)  */
    double grad_norm;      /* global gradient norm before clipping     */
    double lr;             /* learning rate of the last step           */
    int64_t tokens;        /* tokens trained on so far                 */
} rnn_train_stats;

/* One update. A non-finite loss or gradient is not applied: the step
 * returns RNN_EINVAL with the reason in the message and leaves the
 * parameters and optimizer untouched. */
rnn_status rnn_trainer_step(rnn_trainer *t, rnn_train_stats *stats);
/* Mean loss over the validation tokens (eval mode, state carried). */
rnn_status rnn_trainer_evaluate(rnn_trainer *t, double *loss);
/* Checkpoint with everything needed to resume bitwise: parameters,
 * optimizer state, counters, carried state, dropout generator, plus the
 * caller's metadata pairs. Atomic. Refuses to write non-finite parameters. */
rnn_status rnn_trainer_save(rnn_trainer *t, const char *path,
                            const char *const *keys, const char *const *values,
                            size_t count);
/* Restores a checkpoint written by rnn_trainer_save for the same model
 * configuration, options and data. */
rnn_status rnn_trainer_restore(rnn_trainer *t, const char *path);
void rnn_trainer_stats(const rnn_trainer *t, rnn_train_stats *stats);

/* Mean cross-entropy (nats/token) of a token model predicting ids[i+1]
 * from ids[0..i]: the ids are read as min(max_streams, (n-1)/chunk) (at
 * least 1) contiguous streams, in chunks of `chunk` steps, state carried.
 * max_streams = 1 predicts every token from all the previous ones. */
rnn_status rnn_lm_evaluate(rnn_model *m, const int32_t *ids, size_t n,
                           int chunk, int max_streams, double *loss,
                           size_t *predicted, rnn_error *err);

/* Draws a token from logits[V] at the given temperature (0 = argmax),
 * keeping only the top_k most likely (0 = all) and the smallest set whose
 * probability reaches top_p (1 = all). rng_state is any 64-bit seed,
 * advanced by the call. Returns the token id. */
int rnn_sample_token(const float *logits, int V, double temperature,
                     int top_k, double top_p, uint64_t *rng_state);

/* ------------------------------------------------------------------ */
/* Supervised sequences: classification, labelling, regression.        */
/* ------------------------------------------------------------------ */

typedef enum rnn_loss {
    RNN_LOSS_XENT = 0,  /* softmax cross-entropy against class ids        */
    RNN_LOSS_MSE = 1,   /* mean squared error against float targets       */
    RNN_LOSS_MAE = 2,   /* mean absolute error                            */
    RNN_LOSS_HUBER = 3  /* Huber (smooth L1, delta 1), as torch's HuberLoss */
} rnn_loss;

/* n sequences padded to T steps, row-major by sequence. Targets follow the
 * model's readout: per sequence ([n] class ids or [n][O] values) for the
 * pooled readouts, per step ([n][T] class ids, -1 = no target, or
 * [n][T][O] values) for RNN_READOUT_STEPS. */
typedef struct rnn_dataset {
    int n, T;
    const int32_t *lengths; /* [n] in 1..T, or NULL = all T                */
    const int32_t *tokens;  /* [n][T] (token models)                        */
    const float *x;         /* [n][T][input_size] (feature models)          */
    const int32_t *cond;    /* [n] condition ids, or NULL                   */
    const int32_t *labels;  /* class targets (RNN_LOSS_XENT)                */
    const float *y;         /* value targets (regression losses)            */
} rnn_dataset;

/* A trainer that, every epoch, shuffles the training sequences (the order
 * depends only on the seed and the epoch, so runs resume bitwise) and steps
 * through them `batch` at a time (the last batch may be smaller), each batch
 * as long as its longest sequence. The datasets must outlive the trainer;
 * val may be NULL. seq_len in the options is not used. */
rnn_status rnn_seq_trainer_new(rnn_trainer **out, rnn_model *m,
                               const rnn_train_options *options, rnn_loss loss,
                               const rnn_dataset *train, const rnn_dataset *val,
                               rnn_error *err);

/* The model's outputs for every sequence of d (inference, in batches of
 * `batch`): out is [n][O] for pooled readouts, [n][T][O] for STEPS (zero
 * past each sequence's end). */
rnn_status rnn_model_predict(rnn_model *m, float *out, const rnn_dataset *d,
                             int batch, rnn_error *err);

/* The mean loss of predictions out (shaped as for rnn_model_predict)
 * against d's targets. */
double rnn_dataset_loss(const rnn_model *m, rnn_loss loss, const float *out,
                        const rnn_dataset *d);

/* ------------------------------------------------------------------ */
/* Streaming inference: one step at a time, S independent streams.     */
/* ------------------------------------------------------------------ */

/* A stream object holds the recurrent state of S independent sequences
 * and its own packed copy of the weights, so that stepping reads the model
 * only at creation: the model can be freed afterwards, and several stream
 * objects (one per thread) can be made from one model. A step allocates
 * nothing. Unidirectional models only (a bidirectional one needs the
 * future). Dropout is off (inference). */
typedef struct rnn_stream rnn_stream;

rnn_status rnn_stream_new(rnn_stream **out, const rnn_model *m, int streams,
                          rnn_error *err);

/* How a stream object keeps the weights of its products (the recurrent
 * layers' and the output layer's; biases, embeddings and all arithmetic
 * stay float). F32: the model's own, results as rnn_model_forward's.
 * F16 (IEEE binary16) and BF16 (bfloat16): rounded to nearest once, at
 * creation, and widened exactly as they are read. A single stream
 * (streams = 1) keeps them in half the memory and reads half the bytes per
 * step: on x86-64 (AVX2, AVX-512) it steps faster wherever its weights do
 * not fit the L1 cache; the portable kernels widen binary16 slowly
 * (docs/api.md). Several streams read the rounded weights as floats. The
 * results are those of the model with rounded weights: binary16 keeps 11
 * significant bits (relative error <= 2^-11 per weight, absolute <= 2^-25
 * below 2^-14; range +-65504, creation fails with RNN_EINVAL for a weight
 * that rounds beyond it), bfloat16 8 (<= 2^-8, float's range). */
typedef enum rnn_stream_weights {
    RNN_STREAM_F32 = 0,
    RNN_STREAM_F16 = 1,
    RNN_STREAM_BF16 = 2
} rnn_stream_weights;

rnn_status rnn_stream_new_ex(rnn_stream **out, const rnn_model *m, int streams,
                             rnn_stream_weights weights, rnn_error *err);
void rnn_stream_free(rnn_stream *s);
/* Zeroes the state of stream k (k < 0: of every stream). */
void rnn_stream_reset(rnn_stream *s, int k);
/* One time step of every stream: tokens [S] (token models) or x [S][I]
 * (feature models) in, out [S][output_size] (the head's outputs) out. */
rnn_status rnn_stream_step(rnn_stream *s, float *out, const int32_t *tokens,
                           const float *x);
/* The state of stream k: h (which = 0) or c (which = 1, LSTM) of `layer`,
 * H floats; writable, e.g. to start from a given state. */
float *rnn_stream_state(rnn_stream *s, int k, int layer, int which);
/* Models with a condition: the condition id of stream k (default 0). */
rnn_status rnn_stream_set_condition(rnn_stream *s, int k, int cond);

/* ------------------------------------------------------------------ */
/* Memory: what training a model needs, known before allocating it.    */
/* ------------------------------------------------------------------ */

typedef struct rnn_memory_estimate {
    size_t params;     /* bytes of parameter values                       */
    size_t grads;      /* bytes of their gradients                        */
    size_t optimizer;  /* bytes of optimizer state (momentum, moments)    */
    size_t workspace;  /* bytes of activations kept for backward, scratch,
                          packed weights and one batch's inputs, outputs,
                          targets, losses and carried states              */
    size_t total;      /* the sum                                         */
    size_t num_params; /* parameters (floats)                             */
} rnn_memory_estimate;

/* What creating a model of config c and training it with optimizer optim
 * (NULL: no optimizer state, e.g. inference) on batches of B sequences of
 * T steps allocates, from the configuration alone: nothing is allocated.
 * Not included: the data set itself and the GEMM's transient packing
 * buffers (at most ~8.5 MB per thread). RNN_EINVAL for an invalid config,
 * RNN_EOVERFLOW (with the reason) when a size does not fit in size_t or
 * the library's int dimensions. */
rnn_status rnn_model_memory(const rnn_model_config *c, const rnn_optim_config *optim,
                            int T, int B, rnn_memory_estimate *out, rnn_error *err);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif
#endif /* RNN_H */
