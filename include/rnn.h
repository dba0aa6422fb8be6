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
    RNN_INIT_ORTHOGONAL = 2  /* orthogonal (per gate block for weight_hh)     */
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

/* A named parameter: a view into the stack's flat buffers. */
typedef struct rnn_tensor {
    const char *name; /* PyTorch name, e.g. "weight_hh_l0_reverse" */
    int ndim;         /* 1 or 2 */
    int64_t shape[2];
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

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif
#endif /* RNN_H */
