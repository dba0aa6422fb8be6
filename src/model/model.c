/*
 * model.c -- input (token embedding or features) -> optional causal Conv1D
 * -> optional condition embedding concatenated to every step -> recurrent
 * stack -> readout (every step, last state, mean, max or attention) ->
 * dense head, over one flat parameter buffer laid out as
 *     embed.weight | cond.weight | conv.weight | conv.bias | rnn.* |
 *     attn.weight | attn.bias | attn.v | head.weight | head.bias
 * (absent parts take no room), so that zeroing gradients, the optimizer,
 * clipping and checkpoints are each one loop over one buffer.
 */
#include "model/model.h"

#include "layers/layers.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

rnn_status rnn__model_check_config(const rnn_model_config *c, rnn_error *err)
{
    if (c->vocab_size < 0 || c->vocab_size > (1 << 24))
        return rnn__fail(err, RNN_EINVAL, "vocab_size must be in 0..16777216, not %d", c->vocab_size);
    if (c->vocab_size > 0 && (c->embed_size < 1 || c->embed_size > (1 << 20)))
        return rnn__fail(err, RNN_EINVAL, "embed_size must be in 1..1048576, not %d", c->embed_size);
    if (c->vocab_size == 0 && (c->input_size < 1 || c->input_size > (1 << 24)))
        return rnn__fail(err, RNN_EINVAL, "input_size must be positive, not %d", c->input_size);
    if (c->output_size < 1 || c->output_size > (1 << 24))
        return rnn__fail(err, RNN_EINVAL, "output_size must be positive, not %d", c->output_size);
    if (c->hidden_size < 1 || c->hidden_size > (1 << 20))
        return rnn__fail(err, RNN_EINVAL, "hidden_size must be in 1..1048576, not %d", c->hidden_size);
    if (c->num_layers < 1 || c->num_layers > 1000)
        return rnn__fail(err, RNN_EINVAL, "num_layers must be in 1..1000, not %d", c->num_layers);
    if (c->readout < RNN_READOUT_STEPS || c->readout > RNN_READOUT_ATTENTION)
        return rnn__fail(err, RNN_EINVAL, "unknown readout %d", (int)c->readout);
    if (c->conv_filters < 0 || c->conv_filters > (1 << 16) ||
        (c->conv_filters > 0 && (c->conv_kernel < 1 || c->conv_kernel > 1024 ||
                                 c->conv_dilation < 1 || c->conv_dilation > 65536)))
        return rnn__fail(err, RNN_EINVAL,
                         "convolution: filters %d, kernel %d, dilation %d (kernel 1..1024, "
                         "dilation 1..65536)", c->conv_filters, c->conv_kernel, c->conv_dilation);
    if (c->cond_classes < 0 || c->cond_classes > (1 << 24) ||
        (c->cond_classes > 0 && (c->cond_size < 1 || c->cond_size > (1 << 16))))
        return rnn__fail(err, RNN_EINVAL, "condition: classes %d, size %d", c->cond_classes,
                         c->cond_size);
    return RNN_OK;
}

static void add_tensor3(rnn_model *m, const char *name, int ndim, int64_t d0, int64_t d1,
                        int64_t d2, size_t offset)
{
    rnn__tensor_info *t = &m->tensors[m->ntensors++];
    size_t len = strlen(name); /* names are short and fixed; cut defensively */
    if (len >= sizeof t->name)
        len = sizeof t->name - 1;
    memcpy(t->name, name, len);
    t->name[len] = '\0';
    t->ndim = ndim;
    t->shape[0] = d0;
    t->shape[1] = ndim > 1 ? d1 : 0;
    t->shape[2] = ndim > 2 ? d2 : 0;
    t->shape[3] = 0;
    t->offset = offset;
    t->numel = (size_t)d0 * (size_t)(ndim > 1 ? d1 : 1) * (size_t)(ndim > 2 ? d2 : 1);
}

static void add_tensor(rnn_model *m, const char *name, int ndim, int64_t d0, int64_t d1,
                       size_t offset)
{
    add_tensor3(m, name, ndim, d0, d1, 0, offset);
}

static void uniform(float *w, size_t n, double bound, rnn__rng *rng)
{
    for (size_t i = 0; i < n; i++)
        w[i] = (float)((2.0 * rnn__rng_double(rng) - 1.0) * bound);
}

/* PyTorch's defaults: embeddings N(0,1); nn.Linear and nn.Conv1d
 * kaiming_uniform(a=sqrt(5)) = U(+-1/sqrt(fan_in)) for weight and bias. */
static void init_params(rnn_model *m, rnn__rng *rng)
{
    const rnn_model_config *c = &m->cfg;
    float *p = m->params;
    for (size_t i = m->off_embed; i < m->off_conv_w; i++)
        p[i] = (float)rnn__rng_normal(rng); /* embed and cond */
    if (c->conv_filters > 0) {
        double fan_in = (double)m->in0 * c->conv_kernel;
        uniform(p + m->off_conv_w, m->off_stack - m->off_conv_w, 1.0 / sqrt(fan_in), rng);
    }
    rnn__stack_init_params(&m->stack, NULL, rng, NULL);
    uniform(p + m->off_attn_w, m->off_attn_v - m->off_attn_w, 1.0 / sqrt((double)m->DH), rng);
    uniform(p + m->off_attn_v, m->off_head_w - m->off_attn_v, 1.0 / sqrt((double)m->A), rng);
    uniform(p + m->off_head_w, m->nparams - m->off_head_w, 1.0 / sqrt((double)m->DH), rng);
}

int rnn__model_feeds_tokens(const rnn_model_config *c)
{
    return c->vocab_size > 0 && c->conv_filters <= 0 && c->cond_classes <= 0;
}

rnn_status rnn_model_new(rnn_model **out, const rnn_model_config *config, uint64_t seed,
                         rnn_error *err)
{
    if (!out || !config)
        return rnn__fail(err, RNN_EINVAL, "NULL argument");
    *out = NULL;
    rnn_status st = rnn__model_check_config(config, err);
    if (st)
        return st;
    rnn_model *m = rnn__calloc(1, sizeof *m);
    if (!m)
        return rnn__fail(err, RNN_ENOMEM, "out of memory");
    const rnn_model_config *c = config;
    m->cfg = *c;
    m->in0 = c->vocab_size > 0 ? c->embed_size : c->input_size;
    m->in1 = c->conv_filters > 0 ? c->conv_filters : m->in0;
    m->in = m->in1 + (c->cond_classes > 0 ? c->cond_size : 0);
    m->pooled = c->readout != RNN_READOUT_STEPS;
    rnn_stack_config sc = {c->cell, m->in, c->hidden_size, c->num_layers, c->bidirectional,
                           c->dropout};
    st = rnn__stack_init(&m->stack, &sc, err);
    if (st) {
        rnn__free(m);
        return st;
    }
    /* tokens straight into the stack: its first layer projects each
     * embedding row once (rnn__stack_lookup_pays decides per call) */
    if (rnn__model_feeds_tokens(c))
        rnn__stack_set_lookup(&m->stack, c->vocab_size);
    m->D = m->stack.D;
    m->H = m->stack.H;
    m->DH = m->D * m->H;
    m->A = c->readout == RNN_READOUT_ATTENTION ? m->DH : 0;

    /* the layout, each part's size overflow-checked */
    size_t sizes[9], off = 0;
    int ok = 1;
    ok &= c->vocab_size > 0 ? rnn__mul(&sizes[0], (size_t)c->vocab_size, (size_t)c->embed_size)
                            : (sizes[0] = 0, 1);
    ok &= c->cond_classes > 0 ? rnn__mul(&sizes[1], (size_t)c->cond_classes, (size_t)c->cond_size)
                              : (sizes[1] = 0, 1);
    ok &= c->conv_filters > 0 ? rnn__mul4(&sizes[2], (size_t)c->conv_filters, (size_t)m->in0,
                                          (size_t)c->conv_kernel, 1)
                              : (sizes[2] = 0, 1);
    sizes[3] = (size_t)c->conv_filters;
    sizes[4] = m->stack.nparams;
    ok &= rnn__mul(&sizes[5], (size_t)m->A, (size_t)m->DH);
    sizes[6] = (size_t)m->A;
    sizes[7] = (size_t)m->A;
    ok &= rnn__mul(&sizes[8], (size_t)c->output_size, (size_t)m->DH + 1);
    size_t *offs[9] = {&m->off_embed, &m->off_cond, &m->off_conv_w, &m->off_conv_b, &m->off_stack,
                       &m->off_attn_w, &m->off_attn_b, &m->off_attn_v, &m->off_head_w};
    for (int i = 0; i < 9 && ok; i++) {
        *offs[i] = off;
        ok &= rnn__add(&off, off, sizes[i]);
    }
    if (!ok) {
        rnn__stack_release(&m->stack);
        rnn__free(m);
        return rnn__fail(err, RNN_EOVERFLOW, "model too large");
    }
    m->nparams = off;
    m->off_head_b = m->off_head_w + (size_t)c->output_size * m->DH;

    m->tensors = rnn__calloc(m->stack.ntensors + 10, sizeof *m->tensors);
    m->params = rnn__alloc_floats(m->nparams);
    m->grads = rnn__alloc_floats(m->nparams);
    if (!m->tensors || !m->params || !m->grads) {
        const size_t np = m->nparams; /* m is gone after the free */
        rnn_model_free(m);
        return rnn__fail(err, RNN_ENOMEM, "out of memory for %zu parameters", np);
    }
    if (c->vocab_size > 0)
        add_tensor(m, "embed.weight", 2, c->vocab_size, c->embed_size, m->off_embed);
    if (c->cond_classes > 0)
        add_tensor(m, "cond.weight", 2, c->cond_classes, c->cond_size, m->off_cond);
    if (c->conv_filters > 0) {
        add_tensor3(m, "conv.weight", 3, c->conv_filters, m->in0, c->conv_kernel, m->off_conv_w);
        add_tensor(m, "conv.bias", 1, c->conv_filters, 0, m->off_conv_b);
    }
    for (size_t i = 0; i < m->stack.ntensors; i++) {
        char name[RNN__NAME_MAX + 8];
        const rnn__tensor_info *t = &m->stack.tensors[i];
        snprintf(name, sizeof name, "rnn.%s", t->name);
        add_tensor(m, name, t->ndim, t->shape[0], t->shape[1], m->off_stack + t->offset);
    }
    if (m->A) {
        add_tensor(m, "attn.weight", 2, m->A, m->DH, m->off_attn_w);
        add_tensor(m, "attn.bias", 1, m->A, 0, m->off_attn_b);
        add_tensor(m, "attn.v", 1, m->A, 0, m->off_attn_v);
    }
    add_tensor(m, "head.weight", 2, c->output_size, m->DH, m->off_head_w);
    add_tensor(m, "head.bias", 1, c->output_size, 0, m->off_head_b);
    rnn__stack_bind(&m->stack, m->params + m->off_stack, m->grads + m->off_stack);

    rnn__rng rng;
    rnn__rng_seed(&rng, seed);
    init_params(m, &rng);
    rnn__rng_seed(&m->stack.rng, seed ^ 0xd509u);
    *out = m;
    return RNN_OK;
}

void rnn_model_free(rnn_model *m)
{
    if (!m)
        return;
    rnn__stack_release(&m->stack);
    rnn__free(m->tensors);
    rnn__free_floats(m->params);
    rnn__free_floats(m->grads);
    rnn__free_floats(m->ws);
    rnn__free(m->tokens);
    rnn__free(m->lengths);
    rnn__free(m->cond);
    rnn__free(m->argmax);
    rnn__free(m);
}

const rnn_model_config *rnn_model_get_config(const rnn_model *m) { return &m->cfg; }

const char *rnn_model_errmsg(const rnn_model *m) { return m ? m->err.msg : ""; }

size_t rnn_model_state_size(const rnn_model *m, int B)
{
    return (size_t)m->D * m->cfg.num_layers * (size_t)B * m->H;
}

static rnn_status ret(rnn_model *m, rnn_status st)
{
    if (st == RNN_OK)
        rnn__error_clear(&m->err);
    return st;
}

rnn_status rnn_model_reserve(rnn_model *m, int T, int B)
{
    if (T < 1 || B < 1)
        return ret(m, rnn__fail(&m->err, RNN_EINVAL, "T and B must be positive (T %d, B %d)", T, B));
    if (m->ws && T <= m->cap_T && B <= m->cap_B)
        return ret(m, RNN_OK);
    if (T < m->cap_T)
        T = m->cap_T;
    if (B < m->cap_B)
        B = m->cap_B;
    const rnn_model_config *c = &m->cfg;
    size_t tb;
    if (!rnn__mul(&tb, (size_t)T, (size_t)B) || tb > INT_MAX)
        return ret(m, rnn__fail(&m->err, RNN_EOVERFLOW, "T*B = %d*%d is too large", T, B));
    /* every buffer as [rows][width], rounded to 16 floats to stay aligned */
    const int conv = c->conv_filters > 0, cond = c->cond_classes > 0;
    const size_t ncols = conv ? rnn__conv1d_cols(T, B, m->in0, c->conv_kernel) : 0;
    struct { float **p; size_t rows, width; } part[] = {
        {&m->x0, c->vocab_size > 0 ? tb : 0, (size_t)m->in0},
        {&m->dx0, (c->vocab_size > 0 || conv) ? tb : 0, (size_t)m->in0},
        {&m->xc, conv ? tb : 0, (size_t)m->in1},
        {&m->dx1, (conv || cond) ? tb : 0, (size_t)m->in1},
        {&m->cols, conv ? ncols : 0, 1},
        {&m->dcols, conv ? ncols : 0, 1},
        {&m->xs, cond ? tb : 0, (size_t)m->in},
        {&m->dxs, cond ? tb : 0, (size_t)m->in},
        {&m->y, tb, (size_t)m->DH},
        {&m->dy, tb, (size_t)m->DH},
        {&m->hn, rnn_model_state_size(m, B), 1},
        {&m->dhn, rnn_model_state_size(m, B), 1},
        {&m->state_scratch, rnn_model_state_size(m, B), 1},
        {&m->pool, (size_t)B, (size_t)m->DH},
        {&m->dpool, (size_t)B, (size_t)m->DH},
        {&m->u, m->A ? tb : 0, (size_t)m->A},
        {&m->ascratch, m->A ? tb : 0, (size_t)m->A},
        {&m->alpha, m->A ? tb : 0, 1},
    };
    const size_t nparts = sizeof part / sizeof part[0];
    size_t total = 0, sz[sizeof part / sizeof part[0]];
    for (size_t i = 0; i < nparts; i++) {
        if (!rnn__mul(&sz[i], part[i].rows, part[i].width) || !rnn__add(&sz[i], sz[i], 15) ||
            !rnn__add(&total, total, sz[i] & ~(size_t)15))
            return ret(m, rnn__fail(&m->err, RNN_EOVERFLOW, "workspace too large"));
        sz[i] &= ~(size_t)15;
    }
    rnn_status st = rnn__stack_reserve(&m->stack, T, B, &m->err);
    if (st)
        return ret(m, st);
    float *ws = rnn__alloc_floats(total);
    int32_t *tok = c->vocab_size > 0 ? rnn__malloc(tb * sizeof *tok) : NULL;
    int32_t *lens = rnn__malloc((size_t)B * sizeof *lens), *cnd = rnn__malloc((size_t)B * sizeof *cnd);
    int32_t *am = c->readout == RNN_READOUT_MAX ? rnn__malloc((size_t)B * m->DH * sizeof *am) : NULL;
    if (!ws || (c->vocab_size > 0 && !tok) || !lens || !cnd ||
        (c->readout == RNN_READOUT_MAX && !am)) {
        rnn__free_floats(ws);
        rnn__free(tok);
        rnn__free(lens);
        rnn__free(cnd);
        rnn__free(am);
        return ret(m, rnn__fail(&m->err, RNN_ENOMEM, "out of memory for the workspace (%.1f MB)",
                                (double)total * 4 / 1e6));
    }
    rnn__free_floats(m->ws);
    rnn__free(m->tokens);
    rnn__free(m->lengths);
    rnn__free(m->cond);
    rnn__free(m->argmax);
    m->ws = ws;
    m->tokens = tok;
    m->lengths = lens;
    m->cond = cnd;
    m->argmax = am;
    float *p = ws;
    for (size_t i = 0; i < nparts; i++) {
        *part[i].p = sz[i] ? p : NULL;
        p += sz[i];
    }
    m->cap_T = T;
    m->cap_B = B;
    m->have_cache = 0;
    return ret(m, RNN_OK);
}

rnn_status rnn_model_forward_batch(rnn_model *m, float *out, float *hn, float *cn,
                                   const rnn_batch *bt, int training)
{
    const rnn_model_config *c = &m->cfg;
    const int T = bt->T, B = bt->B;
    rnn_status st = rnn_model_reserve(m, T, B);
    if (st)
        return st;
    const size_t tb = (size_t)T * B;
    m->have_cache = 0;
    if (bt->lengths) {
        for (int b = 0; b < B; b++)
            if (bt->lengths[b] < 1 || bt->lengths[b] > T)
                return ret(m, rnn__fail(&m->err, RNN_EINVAL,
                                        "lengths[%d] = %d is outside 1..T (T = %d)", b,
                                        bt->lengths[b], T));
        memcpy(m->lengths, bt->lengths, (size_t)B * sizeof *m->lengths);
    }
    const int32_t *lens = bt->lengths ? m->lengths : NULL;

    /* 1. input */
    const float *x0;
    if (c->vocab_size > 0) {
        if (!bt->tokens)
            return ret(m, rnn__fail(&m->err, RNN_EINVAL, "token model needs tokens"));
        for (size_t i = 0; i < tb; i++)
            if (bt->tokens[i] < 0 || bt->tokens[i] >= c->vocab_size)
                return ret(m, rnn__fail(&m->err, RNN_EINVAL,
                                        "token %d at t=%zu, b=%zu is outside 0..%d", bt->tokens[i],
                                        i / (size_t)B, i % (size_t)B, c->vocab_size - 1));
        memcpy(m->tokens, bt->tokens, tb * sizeof *bt->tokens);
        m->lookup = rnn__stack_lookup_pays(&m->stack, T, B);
        if (m->lookup) {
            x0 = m->params + m->off_embed; /* the stack reads the table by m->tokens */
        } else {
            rnn__embedding_forward(m->x0, bt->tokens, tb, m->params + m->off_embed, c->embed_size);
            x0 = m->x0;
        }
    } else {
        if (!bt->x)
            return ret(m, rnn__fail(&m->err, RNN_EINVAL, "feature model needs x"));
        x0 = bt->x;
        m->lookup = 0;
    }
    /* 2. causal convolution */
    const float *x1 = x0;
    if (c->conv_filters > 0) {
        rnn__conv1d_forward(m->xc, m->cols, x0, m->params + m->off_conv_w, m->params + m->off_conv_b,
                            T, B, m->in0, c->conv_filters, c->conv_kernel, c->conv_dilation);
        x1 = m->xc;
    }
    /* 3. the condition, concatenated to every step */
    const float *xs = x1;
    if (c->cond_classes > 0) {
        if (!bt->cond)
            return ret(m, rnn__fail(&m->err, RNN_EINVAL, "conditioned model needs cond"));
        for (int b = 0; b < B; b++)
            if (bt->cond[b] < 0 || bt->cond[b] >= c->cond_classes)
                return ret(m, rnn__fail(&m->err, RNN_EINVAL, "cond[%d] = %d is outside 0..%d", b,
                                        bt->cond[b], c->cond_classes - 1));
        memcpy(m->cond, bt->cond, (size_t)B * sizeof *m->cond);
        for (size_t r = 0; r < tb; r++) {
            float *row = m->xs + r * m->in;
            memcpy(row, x1 + r * m->in1, sizeof(float) * (size_t)m->in1);
            memcpy(row + m->in1, m->params + m->off_cond + (size_t)bt->cond[r % (size_t)B] * c->cond_size,
                   sizeof(float) * (size_t)c->cond_size);
        }
        xs = m->xs;
    }
    /* 4. the stack (its final states are needed by the LAST readout) */
    float *hn_use = hn ? hn : (c->readout == RNN_READOUT_LAST ? m->hn : NULL);
    st = rnn__stack_forward(&m->stack, m->y, &m->ys, hn_use, cn, xs, m->lookup ? m->tokens : NULL, bt->h0,
                            bt->c0, lens, T, B, training, &m->err);
    if (st)
        return ret(m, st);
    /* 5. readout and head */
    const float *hw = m->params + m->off_head_w, *hb = m->params + m->off_head_b;
    const int O = c->output_size, th = m->stack.threads;
    switch (c->readout) {
    case RNN_READOUT_STEPS:
        if (out)
            rnn__dense_forward(out, m->ys, hw, hb, (int)tb, m->DH, O, th);
        break;
    case RNN_READOUT_LAST: {
        const int top = (c->num_layers - 1) * m->D;
        for (int b = 0; b < B; b++)
            for (int d = 0; d < m->D; d++)
                memcpy(m->pool + (size_t)b * m->DH + (size_t)d * m->H,
                       hn_use + ((size_t)(top + d) * B + b) * m->H, sizeof(float) * (size_t)m->H);
        break;
    }
    case RNN_READOUT_MEAN:
        rnn__pool_mean(m->pool, m->ys, lens, T, B, m->DH);
        break;
    case RNN_READOUT_MAX:
        rnn__pool_max(m->pool, m->argmax, m->ys, lens, T, B, m->DH);
        break;
    case RNN_READOUT_ATTENTION:
        rnn__attn_pool_forward(m->pool, m->u, m->alpha, m->ys, lens, m->params + m->off_attn_w,
                               m->params + m->off_attn_b, m->params + m->off_attn_v, T, B, m->DH,
                               m->A);
        break;
    }
    if (m->pooled && out)
        rnn__dense_forward(out, m->pool, hw, hb, B, m->DH, O, th);
    m->T = T;
    m->B = B;
    m->x = bt->x;
    m->has_lengths = bt->lengths != NULL;
    m->has_cond = bt->cond != NULL;
    m->have_cache = training != 0;
    return ret(m, RNN_OK);
}

rnn_status rnn_model_forward(rnn_model *m, float *out, float *hn, float *cn,
                             const int32_t *tokens, const float *x, const float *h0,
                             const float *c0, const int32_t *lengths, int T, int B, int training)
{
    rnn_batch b = {T, B, tokens, x, lengths, NULL, h0, c0};
    return rnn_model_forward_batch(m, out, hn, cn, &b, training);
}

rnn_status rnn_model_backward(rnn_model *m, float *dx, const float *dout, const float *dhn,
                              const float *dcn)
{
    if (!m->have_cache)
        return ret(m, rnn__fail(&m->err, RNN_ESTATE,
                                "backward needs a training forward first (and one per backward)"));
    m->have_cache = 0;
    const rnn_model_config *c = &m->cfg;
    const int T = m->T, B = m->B, tb = T * B, O = c->output_size, th = m->stack.threads;
    const int32_t *lens = m->has_lengths ? m->lengths : NULL;
    float *gw = m->grads + m->off_head_w, *gb = m->grads + m->off_head_b;
    const float *hw = m->params + m->off_head_w;

    /* head and readout: the gradient of the stack's outputs (and states) */
    const float *dhn_use = dhn;
    if (!m->pooled) {
        if (dout)
            rnn__dense_backward(m->dy, 0, gw, gb, dout, m->ys, hw, tb, m->DH, O, th);
        else
            memset(m->dy, 0, (size_t)tb * m->DH * sizeof *m->dy);
    } else {
        memset(m->dy, 0, (size_t)tb * m->DH * sizeof *m->dy);
        if (dout)
            rnn__dense_backward(m->dpool, 0, gw, gb, dout, m->pool, hw, B, m->DH, O, th);
        else
            memset(m->dpool, 0, (size_t)B * m->DH * sizeof *m->dpool);
        switch (c->readout) {
        case RNN_READOUT_LAST: {
            size_t ns = rnn_model_state_size(m, B);
            if (dhn)
                memcpy(m->dhn, dhn, ns * sizeof *m->dhn);
            else
                memset(m->dhn, 0, ns * sizeof *m->dhn);
            const int top = (c->num_layers - 1) * m->D;
            for (int b = 0; b < B; b++)
                for (int d = 0; d < m->D; d++) {
                    float *dst = m->dhn + ((size_t)(top + d) * B + b) * m->H;
                    const float *src = m->dpool + (size_t)b * m->DH + (size_t)d * m->H;
                    for (int j = 0; j < m->H; j++)
                        dst[j] += src[j];
                }
            dhn_use = m->dhn;
            break;
        }
        case RNN_READOUT_MEAN:
            rnn__pool_mean_backward(m->dy, m->dpool, lens, T, B, m->DH);
            break;
        case RNN_READOUT_MAX:
            rnn__pool_max_backward(m->dy, m->dpool, m->argmax, B, m->DH);
            break;
        case RNN_READOUT_ATTENTION:
            rnn__attn_pool_backward(m->dy, m->grads + m->off_attn_w, m->grads + m->off_attn_b,
                                    m->grads + m->off_attn_v, m->dpool, m->ys, m->u, m->alpha, lens,
                                    m->params + m->off_attn_w, m->params + m->off_attn_v,
                                    m->ascratch, T, B, m->DH, m->A);
            break;
        default:
            break;
        }
    }

    /* the stack; then back through the condition, the convolution, the input */
    const int tokens = c->vocab_size > 0, conv = c->conv_filters > 0, cond = c->cond_classes > 0;
    float *dxs = cond ? m->dxs : conv ? m->dx1 : tokens ? m->dx0 : dx;
    if (m->lookup) /* the stack adds the embedding's gradient itself */
        dxs = m->grads + m->off_embed;
    rnn_status st = rnn__stack_backward(&m->stack, dxs, NULL, NULL, m->dy, dhn_use, dcn, &m->err);
    if (st)
        return ret(m, st);
    if (cond) {
        float *gc = m->grads + m->off_cond;
        for (int r = 0; r < tb; r++) {
            const float *row = m->dxs + (size_t)r * m->in;
            float *d = gc + (size_t)m->cond[r % B] * c->cond_size;
            for (int j = 0; j < c->cond_size; j++)
                d[j] += row[m->in1 + j];
        }
        float *dst = conv ? m->dx1 : tokens ? m->dx0 : dx;
        if (dst)
            for (int r = 0; r < tb; r++)
                memcpy(dst + (size_t)r * m->in1, m->dxs + (size_t)r * m->in,
                       sizeof(float) * (size_t)m->in1);
    }
    if (conv) {
        float *dst = tokens ? m->dx0 : dx;
        rnn__conv1d_backward(dst, m->grads + m->off_conv_w, m->grads + m->off_conv_b, m->dx1, m->xc,
                             m->cols, m->dcols, m->params + m->off_conv_w, T, B, m->in0,
                             c->conv_filters, c->conv_kernel, c->conv_dilation);
    }
    if (tokens && !m->lookup)
        rnn__embedding_backward(m->grads + m->off_embed, m->tokens, (size_t)tb, m->dx0,
                                c->embed_size);
    return ret(m, RNN_OK);
}

void rnn_model_zero_grad(rnn_model *m) { memset(m->grads, 0, m->nparams * sizeof *m->grads); }

void rnn_model_seed(rnn_model *m, uint64_t seed) { rnn__rng_seed(&m->stack.rng, seed); }

void rnn_model_set_threads(rnn_model *m, int n) { m->stack.threads = n > 0 ? n : 1; }

float *rnn_model_params(rnn_model *m, size_t *count)
{
    if (count)
        *count = m->nparams;
    return m->params;
}

float *rnn_model_grads(rnn_model *m, size_t *count)
{
    if (count)
        *count = m->nparams;
    return m->grads;
}

size_t rnn_model_num_tensors(const rnn_model *m) { return m->ntensors; }

rnn_status rnn_model_tensor(rnn_model *m, size_t i, rnn_tensor *out)
{
    if (i >= m->ntensors)
        return ret(m, rnn__fail(&m->err, RNN_ENOTFOUND, "tensor index %zu out of range", i));
    const rnn__tensor_info *t = &m->tensors[i];
    out->name = t->name;
    out->ndim = t->ndim;
    memcpy(out->shape, t->shape, sizeof out->shape);
    out->numel = t->numel;
    out->data = m->params + t->offset;
    out->grad = m->grads + t->offset;
    return ret(m, RNN_OK);
}

rnn_status rnn_model_find(rnn_model *m, const char *name, rnn_tensor *out)
{
    for (size_t i = 0; i < m->ntensors; i++)
        if (strcmp(m->tensors[i].name, name) == 0)
            return rnn_model_tensor(m, i, out);
    return ret(m, rnn__fail(&m->err, RNN_ENOTFOUND, "no tensor '%s'", name));
}

double rnn_cross_entropy(float *dlogits, const float *logits, const int32_t *targets, int N,
                         int V, float scale, size_t *counted)
{
    return rnn__softmax_xent(dlogits, logits, targets, N, V, scale, counted, NULL, 1);
}
