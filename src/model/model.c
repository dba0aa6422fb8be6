/*
 * model.c -- input (token embedding or features) -> recurrent stack ->
 * dense head at every step, over one flat parameter buffer laid out as
 *     embed.weight | rnn.* (state_dict order) | head.weight | head.bias
 * so that zeroing gradients, the optimizer, clipping and checkpoints are
 * each one loop over one buffer.
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
    return RNN_OK;
}

static void add_tensor(rnn_model *m, const char *name, int ndim, int64_t d0,
                             int64_t d1, size_t offset)
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
    t->offset = offset;
    t->numel = (size_t)d0 * (size_t)(ndim > 1 ? d1 : 1);
}

static void init_params(rnn_model *m, rnn__rng *rng)
{
    const rnn_model_config *c = &m->cfg;
    if (c->vocab_size > 0) {
        float *e = m->params + m->off_embed;
        size_t n = (size_t)c->vocab_size * c->embed_size;
        for (size_t i = 0; i < n; i++)
            e[i] = (float)rnn__rng_normal(rng);
    }
    rnn__stack_init_params(&m->stack, NULL, rng, NULL);
    /* nn.Linear: kaiming_uniform(a=sqrt(5)) = U(-1/sqrt(fan_in), +) */
    double k = 1.0 / sqrt((double)m->DH);
    float *w = m->params + m->off_head_w;
    for (size_t i = m->off_head_w; i < m->nparams; i++, w++)
        *w = (float)((2.0 * rnn__rng_double(rng) - 1.0) * k);
}

rnn_status rnn_model_new(rnn_model **out, const rnn_model_config *config,
                         uint64_t seed, rnn_error *err)
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
    m->cfg = *config;
    m->in = config->vocab_size > 0 ? config->embed_size : config->input_size;
    rnn_stack_config sc = {config->cell, m->in, config->hidden_size, config->num_layers,
                           config->bidirectional, config->dropout};
    st = rnn__stack_init(&m->stack, &sc, err);
    if (st) {
        rnn__free(m);
        return st;
    }
    m->D = m->stack.D;
    m->H = m->stack.H;
    m->DH = m->D * m->H;

    size_t n_embed = 0, n_head, total;
    if (config->vocab_size > 0 &&
        !rnn__mul(&n_embed, (size_t)config->vocab_size, (size_t)config->embed_size))
        goto overflow;
    if (!rnn__mul(&n_head, (size_t)config->output_size, (size_t)m->DH + 1))
        goto overflow;
    m->off_embed = 0;
    m->off_stack = n_embed;
    if (!rnn__add(&total, n_embed, m->stack.nparams))
        goto overflow;
    m->off_head_w = total;
    m->off_head_b = total + (size_t)config->output_size * m->DH;
    if (!rnn__add(&m->nparams, total, n_head))
        goto overflow;

    m->tensors = rnn__calloc(m->stack.ntensors + 3, sizeof *m->tensors);
    m->params = rnn__alloc_floats(m->nparams);
    m->grads = rnn__alloc_floats(m->nparams);
    if (!m->tensors || !m->params || !m->grads) {
        rnn_model_free(m);
        return rnn__fail(err, RNN_ENOMEM, "out of memory for %zu parameters", m->nparams);
    }
    if (config->vocab_size > 0)
        add_tensor(m, "embed.weight", 2, config->vocab_size, config->embed_size, m->off_embed);
    for (size_t i = 0; i < m->stack.ntensors; i++) {
        char name[RNN__NAME_MAX + 8];
        const rnn__tensor_info *t = &m->stack.tensors[i];
        snprintf(name, sizeof name, "rnn.%s", t->name);
        add_tensor(m, name, t->ndim, t->shape[0], t->shape[1], m->off_stack + t->offset);
    }
    add_tensor(m, "head.weight", 2, config->output_size, m->DH, m->off_head_w);
    add_tensor(m, "head.bias", 1, config->output_size, 0, m->off_head_b);
    rnn__stack_bind(&m->stack, m->params + m->off_stack, m->grads + m->off_stack);

    rnn__rng rng;
    rnn__rng_seed(&rng, seed);
    init_params(m, &rng);
    rnn__rng_seed(&m->stack.rng, seed ^ 0xd509u);
    *out = m;
    return RNN_OK;
overflow:
    rnn__stack_release(&m->stack);
    rnn__free(m);
    return rnn__fail(err, RNN_EOVERFLOW, "model too large");
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
    size_t tb, ny, ne = 0, total;
    if (!rnn__mul(&tb, (size_t)T, (size_t)B) || tb > INT_MAX ||
        !rnn__mul(&ny, tb, (size_t)m->DH) ||
        (m->cfg.vocab_size > 0 && !rnn__mul(&ne, tb, (size_t)m->cfg.embed_size)) ||
        !rnn__mul(&total, ny, 2) || !rnn__add(&total, total, ne) ||
        !rnn__add(&total, total, ne))
        return ret(m, rnn__fail(&m->err, RNN_EOVERFLOW, "T*B = %d*%d is too large", T, B));
    rnn_status st = rnn__stack_reserve(&m->stack, T, B, &m->err);
    if (st)
        return ret(m, st);
    float *ws = rnn__alloc_floats(total);
    int32_t *tok = m->cfg.vocab_size > 0 ? rnn__malloc(tb * sizeof *tok) : NULL;
    if (!ws || (m->cfg.vocab_size > 0 && !tok)) {
        rnn__free_floats(ws);
        rnn__free(tok);
        return ret(m, rnn__fail(&m->err, RNN_ENOMEM, "out of memory for the workspace (%.1f MB)",
                                (double)total * 4 / 1e6));
    }
    rnn__free_floats(m->ws);
    rnn__free(m->tokens);
    m->ws = ws;
    m->tokens = tok;
    m->y = ws;
    m->dy = ws + ny;
    m->x_embed = ne ? ws + 2 * ny : NULL;
    m->dx_embed = ne ? ws + 2 * ny + ne : NULL;
    m->cap_T = T;
    m->cap_B = B;
    m->have_cache = 0;
    return ret(m, RNN_OK);
}

rnn_status rnn_model_forward(rnn_model *m, float *out, float *hn, float *cn,
                             const int32_t *tokens, const float *x,
                             const float *h0, const float *c0,
                             const int32_t *lengths, int T, int B, int training)
{
    rnn_status st = rnn_model_reserve(m, T, B);
    if (st)
        return st;
    const size_t tb = (size_t)T * B;
    const float *in;
    if (m->cfg.vocab_size > 0) {
        if (!tokens)
            return ret(m, rnn__fail(&m->err, RNN_EINVAL, "token model needs tokens"));
        for (size_t i = 0; i < tb; i++)
            if (tokens[i] < 0 || tokens[i] >= m->cfg.vocab_size)
                return ret(m, rnn__fail(&m->err, RNN_EINVAL,
                                        "token %d at t=%zu, b=%zu is outside 0..%d", tokens[i],
                                        i / (size_t)B, i % (size_t)B, m->cfg.vocab_size - 1));
        memcpy(m->tokens, tokens, tb * sizeof *tokens);
        rnn__embedding_forward(m->x_embed, tokens, tb, m->params + m->off_embed, m->cfg.embed_size);
        in = m->x_embed;
    } else {
        if (!x)
            return ret(m, rnn__fail(&m->err, RNN_EINVAL, "feature model needs x"));
        in = x;
    }
    m->have_cache = 0;
    st = rnn__stack_forward(&m->stack, m->y, hn, cn, in, h0, c0, lengths, T, B, training, &m->err);
    if (st)
        return ret(m, st);
    if (out)
        rnn__dense_forward(out, m->y, m->params + m->off_head_w, m->params + m->off_head_b,
                           (int)tb, m->DH, m->cfg.output_size, m->stack.threads);
    m->T = T;
    m->B = B;
    m->x = x;
    m->have_cache = training != 0;
    return ret(m, RNN_OK);
}

rnn_status rnn_model_backward(rnn_model *m, float *dx, const float *dout,
                              const float *dhn, const float *dcn)
{
    if (!m->have_cache)
        return ret(m, rnn__fail(&m->err, RNN_ESTATE,
                                "backward needs a training forward first (and one per backward)"));
    m->have_cache = 0;
    const int tb = m->T * m->B;
    if (dout)
        rnn__dense_backward(m->dy, 0, m->grads + m->off_head_w, m->grads + m->off_head_b, dout,
                            m->y, m->params + m->off_head_w, tb, m->DH, m->cfg.output_size,
                            m->stack.threads);
    else
        memset(m->dy, 0, (size_t)tb * m->DH * sizeof *m->dy);
    int tokens = m->cfg.vocab_size > 0;
    rnn_status st = rnn__stack_backward(&m->stack, tokens ? m->dx_embed : dx, NULL, NULL,
                                        m->dy, dhn, dcn, &m->err);
    if (st)
        return ret(m, st);
    if (tokens)
        rnn__embedding_backward(m->grads + m->off_embed, m->tokens, (size_t)tb, m->dx_embed,
                                m->cfg.embed_size);
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
    out->shape[0] = t->shape[0];
    out->shape[1] = t->shape[1];
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

double rnn_cross_entropy(float *dlogits, const float *logits, const int32_t *targets,
                         int N, int V, float scale, size_t *counted)
{
    return rnn__softmax_xent(dlogits, logits, targets, N, V, scale, counted, NULL, 1);
}
