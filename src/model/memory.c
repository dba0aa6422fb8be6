/*
 * memory.c -- how much memory training a model takes, computed from its
 * configuration alone, so that a model too large for the machine (or for
 * --max-memory) is refused before a byte of it is allocated, with the
 * number in the message, rather than found out by the kernel's OOM killer
 * an hour into the run.
 *
 * The counts follow the allocations they predict: the flat parameter and
 * gradient buffers (model.c), the optimizer's state slots (optim.c), the
 * stack's workspace (stack.c: cached gates and states per layer and
 * direction, inner layers' outputs and dropout masks, per-step scratch, the
 * packed recurrent weights), the model's (rnn_model_reserve: embedding,
 * convolution, condition, outputs, pooling, attention) and one batch of the
 * trainer's buffers (inputs, targets, outputs, per-row losses, carried
 * states). tests/test_faults.c holds the estimate against the bytes the
 * library really allocates. Every sum and product is overflow-checked: an
 * absurd configuration gets RNN_EOVERFLOW, never a wrapped small number.
 */
#include "model/model.h"

#include "layers/layers.h"

#include <limits.h>
#include <string.h>

/* Accumulates in floats-or-bytes; any overflow sticks. */
typedef struct acc {
    size_t n;
    int ok;
} acc;

static void add(acc *a, size_t x)
{
    a->ok = a->ok && rnn__add(&a->n, a->n, x);
}

static void add_prod(acc *a, size_t x, size_t y, size_t z)
{
    size_t p;
    a->ok = a->ok && rnn__mul4(&p, x, y, z, 1) && rnn__add(&a->n, a->n, p);
}

/* The model's parameter count (model.c's layout), 0 on overflow. */
static size_t param_count(const rnn_model_config *c, size_t in0, size_t in, size_t DH, size_t A)
{
    acc a = {0, 1};
    if (c->vocab_size > 0)
        add_prod(&a, (size_t)c->vocab_size, (size_t)c->embed_size, 1);
    if (c->cond_classes > 0)
        add_prod(&a, (size_t)c->cond_classes, (size_t)c->cond_size, 1);
    if (c->conv_filters > 0) {
        add_prod(&a, (size_t)c->conv_filters, in0, (size_t)c->conv_kernel);
        add(&a, (size_t)c->conv_filters);
    }
    const size_t D = c->bidirectional ? 2 : 1;
    for (int l = 0; l < c->num_layers && a.ok; l++) {
        size_t per = rnn__rec_param_count(c->cell, l == 0 ? (int)in : (int)DH, c->hidden_size);
        a.ok = per != 0;
        add_prod(&a, per, D, 1);
    }
    add_prod(&a, A, DH, 1);
    add_prod(&a, A, 2, 1);
    add_prod(&a, (size_t)c->output_size, DH + 1, 1);
    return a.ok ? a.n : 0;
}

rnn_status rnn_model_memory(const rnn_model_config *c, const rnn_optim_config *optim, int T,
                            int B, rnn_memory_estimate *out, rnn_error *err)
{
    if (!c || !out)
        return rnn__fail(err, RNN_EINVAL, "NULL argument");
    memset(out, 0, sizeof *out);
    rnn_status st = rnn__model_check_config(c, err);
    if (st)
        return st;
    if (T < 1 || B < 1)
        return rnn__fail(err, RNN_EINVAL, "T and B must be positive (T %d, B %d)", T, B);
    if (c->cell < RNN_CELL_RNN_TANH || c->cell > RNN_CELL_GRU)
        return rnn__fail(err, RNN_EINVAL, "unknown cell type %d", (int)c->cell);

    const size_t H = (size_t)c->hidden_size, D = c->bidirectional ? 2 : 1, L = (size_t)c->num_layers;
    const size_t DH = D * H, G = (size_t)rnn_cell_gates(c->cell);
    const size_t in0 = (size_t)(c->vocab_size > 0 ? c->embed_size : c->input_size);
    const size_t in1 = c->conv_filters > 0 ? (size_t)c->conv_filters : in0;
    const size_t in = in1 + (c->cond_classes > 0 ? (size_t)c->cond_size : 0);
    const size_t A = c->readout == RNN_READOUT_ATTENTION ? DH : 0, O = (size_t)c->output_size;
    /* the sizes the GEMMs and the stack accept (stack.c refuses beyond) */
    if (G * H > INT_MAX || DH > INT_MAX || in > INT_MAX)
        return rnn__fail(err, RNN_EOVERFLOW, "model too large: hidden %d x %zu gates",
                         c->hidden_size, G);
    size_t tb;
    if (!rnn__mul(&tb, (size_t)T, (size_t)B) || tb > INT_MAX)
        return rnn__fail(err, RNN_EOVERFLOW, "T*B = %d*%d is too large", T, B);

    size_t np = param_count(c, in0, in, DH, A);
    if (np == 0)
        return rnn__fail(err, RNN_EOVERFLOW, "model too large: its parameter count overflows");

    /* optimizer slots, as rnn_optim_new allocates them */
    size_t slots = 0;
    if (optim) {
        switch (optim->kind) {
        case RNN_OPT_SGD: slots = optim->momentum > 0 ? 1 : 0; break;
        case RNN_OPT_ADAM:
        case RNN_OPT_ADAMW: slots = 2; break;
        case RNN_OPT_RMSPROP: slots = optim->momentum > 0 ? 2 : 1; break;
        default: return rnn__fail(err, RNN_EINVAL, "unknown optimizer %d", (int)optim->kind);
        }
    }

    /* workspace, in floats: the stack's (stack.c, rnn__stack_reserve) */
    acc w = {0, 1};
    size_t cache = rnn__rec_cache_count(c->cell, T, B, c->hidden_size);
    size_t scratch = rnn__rec_scratch_count(c->cell, B, c->hidden_size);
    if (!cache || !scratch)
        return rnn__fail(err, RNN_EOVERFLOW, "workspace too large for T %d, B %d", T, B);
    /* token input straight into the stack (rnn__stack_lookup_pays) */
    size_t W = in > DH ? in : DH; /* the widest layer input */
    const int lookup = rnn__model_feeds_tokens(c) && rnn__rec_lookup_pays(c->vocab_size, tb);
    if (lookup) {
        scratch += rnn__rec_lookup_count(c->cell, c->vocab_size, c->hidden_size);
        W = W > (size_t)c->vocab_size ? W : (size_t)c->vocab_size;
    }
    scratch += rnn__rec_partial_count(c->cell, B, (int)W, c->hidden_size);
    const int with_mask = c->dropout > 0 && L > 1;
    const size_t nseq = (L - 1) * (with_mask ? 2 : 1) + (L > 1 ? 2 : 0);
    add_prod(&w, cache, L, D);
    add_prod(&w, tb, DH, nseq);
    if (rnn__rec_row_blocks(B) > 1 && !lookup) /* the first layer's input, blocked, and its gradient */
        add_prod(&w, tb, in, 2);
    add(&w, scratch);
    add(&w, (rnn__rec_pack_count(c->cell, c->hidden_size) + 15) & ~(size_t)15);
    /* the model's (model.c, rnn_model_reserve) */
    const int conv = c->conv_filters > 0, cond = c->cond_classes > 0, tok = c->vocab_size > 0;
    const size_t ns = D * L * (size_t)B * H;
    if (tok)
        add_prod(&w, tb, in0, 1);
    if (tok || conv)
        add_prod(&w, tb, in0, 1);
    if (conv) {
        add_prod(&w, tb, in1, 1);
        add_prod(&w, tb, in0 * (size_t)c->conv_kernel, 2);
    }
    if (conv || cond)
        add_prod(&w, tb, in1, 1);
    if (cond)
        add_prod(&w, tb, in, 2);
    add_prod(&w, tb, DH, 2);
    add_prod(&w, ns, 3, 1);
    add_prod(&w, B, DH, 2);
    if (A)
        add_prod(&w, tb, 2 * A + 1, 1);
    /* one batch of the trainer's: outputs (logits), their targets and
     * per-row losses, the inputs of feature models, carried states */
    const size_t rows = c->readout == RNN_READOUT_STEPS ? tb : (size_t)B;
    add_prod(&w, rows, O, 1);
    if (!tok)
        add_prod(&w, tb, in0, 1);
    add_prod(&w, ns, 6, 1);
    /* integers and doubles, as floats: token ids and targets (int32),
     * losses (double), lengths and conditions */
    add_prod(&w, tb, 2, 1);
    add_prod(&w, rows, 2, 1);
    add_prod(&w, B, 4, 1);
    if (c->readout == RNN_READOUT_MAX)
        add_prod(&w, B, DH, 1);

    acc total = {0, 1};
    size_t pbytes, obytes, wbytes;
    if (!w.ok || !rnn__mul(&pbytes, np, sizeof(float)) ||
        !rnn__mul4(&obytes, np, slots, sizeof(float), 1) ||
        !rnn__mul(&wbytes, w.n, sizeof(float)))
        return rnn__fail(err, RNN_EOVERFLOW, "model too large: its memory does not fit in %zu bytes",
                         (size_t)SIZE_MAX);
    add(&total, pbytes);
    add(&total, pbytes);
    add(&total, obytes);
    add(&total, wbytes);
    if (!total.ok)
        return rnn__fail(err, RNN_EOVERFLOW, "model too large: its memory does not fit in %zu bytes",
                         (size_t)SIZE_MAX);
    out->params = pbytes;
    out->grads = pbytes;
    out->optimizer = obytes;
    out->workspace = wbytes;
    out->total = total.n;
    out->num_params = np;
    return RNN_OK;
}
