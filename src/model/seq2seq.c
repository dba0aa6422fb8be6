/*
 * seq2seq.c -- the encoder-decoder with global attention (see seq2seq.h for
 * the architecture and parameter names): configuration, the flat parameter
 * buffer, the teacher-forced forward and backward over whole sequences,
 * checkpoints, greedy and beam-search decoding, and the training task.
 *
 * Everything reuses the whole-sequence layers: two recurrent stacks
 * (model/stack.c), embeddings and dense layers (layers/), the attention
 * core (layers/attention.c), softmax cross-entropy.
 */
#include "model/seq2seq.h"

#include "layers/attention.h"
#include "layers/kernels.h"
#include "layers/layers.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define S2S_VERSION "1"

static const char *const attn_names[] = {"none", "dot", "general", "additive"};

const char *rnn__attn_name(rnn__attn_kind k)
{
    return k >= RNN__ATTN_NONE && k <= RNN__ATTN_ADDITIVE ? attn_names[k] : "unknown";
}

int rnn__attn_from_name(const char *name)
{
    for (int k = 0; name && k < 4; k++)
        if (strcmp(name, attn_names[k]) == 0)
            return k;
    return -1;
}

static rnn_status ret(rnn__s2s *m, rnn_status st)
{
    if (st == RNN_OK)
        rnn__error_clear(&m->err);
    return st;
}

rnn_status rnn__s2s_check_config(const rnn__s2s_config *c, rnn_error *err)
{
    if (c->cell < RNN_CELL_RNN_TANH || c->cell > RNN_CELL_GRU)
        return rnn__fail(err, RNN_EINVAL, "unknown cell type %d", (int)c->cell);
    if (c->src_vocab < 1 || c->src_vocab > (1 << 24))
        return rnn__fail(err, RNN_EINVAL, "source vocabulary of %d tokens (1..16777216)",
                         c->src_vocab);
    if (c->tgt_vocab < 2 || c->tgt_vocab > (1 << 24))
        return rnn__fail(err, RNN_EINVAL,
                         "target vocabulary of %d tokens with </s> (2..16777216)", c->tgt_vocab);
    if (c->embed < 1 || c->embed > (1 << 16))
        return rnn__fail(err, RNN_EINVAL, "embedding size must be in 1..65536, not %d", c->embed);
    if (c->hidden < 1 || c->hidden > (1 << 16))
        return rnn__fail(err, RNN_EINVAL, "hidden size must be in 1..65536, not %d", c->hidden);
    if (c->layers < 1 || c->layers > 64)
        return rnn__fail(err, RNN_EINVAL, "layers must be in 1..64, not %d", c->layers);
    if (c->bidirectional != 0 && c->bidirectional != 1)
        return rnn__fail(err, RNN_EINVAL, "bidirectional must be 0 or 1");
    if (c->bidirectional && c->hidden % 2)
        return rnn__fail(err, RNN_EINVAL,
                         "a bidirectional encoder needs an even hidden size (H/2 per direction, "
                         "concatenated for the decoder); got %d", c->hidden);
    if (!(c->dropout >= 0.0f && c->dropout < 1.0f))
        return rnn__fail(err, RNN_EINVAL, "dropout must be in [0, 1), not %g", (double)c->dropout);
    if (c->attention < RNN__ATTN_NONE || c->attention > RNN__ATTN_ADDITIVE)
        return rnn__fail(err, RNN_EINVAL, "unknown attention %d", (int)c->attention);
    if (c->max_len < 1 || c->max_len > (1 << 16))
        return rnn__fail(err, RNN_EINVAL, "max_len must be in 1..65536, not %d", c->max_len);
    return RNN_OK;
}

static void add_tensor(rnn__s2s *m, const char *prefix, const char *name, int ndim, int64_t d0,
                       int64_t d1, size_t offset)
{
    rnn__tensor_info *t = &m->tensors[m->ntensors++];
    snprintf(t->name, sizeof t->name, "%s%s", prefix, name);
    t->ndim = ndim;
    t->shape[0] = d0;
    t->shape[1] = ndim > 1 ? d1 : 0;
    t->shape[2] = t->shape[3] = 0;
    t->offset = offset;
    t->numel = (size_t)d0 * (size_t)(ndim > 1 ? d1 : 1);
}

static void uniform(float *w, size_t n, double bound, rnn__rng *rng)
{
    for (size_t i = 0; i < n; i++)
        w[i] = (float)((2.0 * rnn__rng_double(rng) - 1.0) * bound);
}

rnn_status rnn__s2s_new(rnn__s2s **out, const rnn__s2s_config *c, uint64_t seed, rnn_error *err)
{
    *out = NULL;
    rnn_status st = rnn__s2s_check_config(c, err);
    if (st)
        return st;
    rnn__s2s *m = rnn__calloc(1, sizeof *m);
    if (!m)
        return rnn__fail(err, RNN_ENOMEM, "out of memory");
    m->cfg = *c;
    m->H = c->hidden;
    m->D = c->bidirectional ? 2 : 1;
    m->He = c->hidden / m->D;
    m->threads = 1;
    rnn_stack_config ec = {c->cell, c->embed, m->He, c->layers, c->bidirectional, c->dropout};
    rnn_stack_config dc = {c->cell, c->embed, m->H, c->layers, 0, c->dropout};
    if ((st = rnn__stack_init(&m->enc, &ec, err)) || (st = rnn__stack_init(&m->dec, &dc, err))) {
        rnn__s2s_free(m);
        return st;
    }
    const size_t H = (size_t)m->H, E = (size_t)c->embed, Vs = (size_t)c->src_vocab,
                 Vt = (size_t)c->tgt_vocab;
    const int attn = c->attention != RNN__ATTN_NONE, add = c->attention == RNN__ATTN_ADDITIVE;
    const int keyed = c->attention == RNN__ATTN_GENERAL || add;
    /* sizes are bounded by the config checks (2^24 * 2^16 fits size_t) */
    size_t sizes[11] = {Vs * E,          m->enc.nparams,  Vt * E,      m->dec.nparams,
                        keyed ? H * H : 0, add ? H * H : 0, add ? H : 0, add ? H : 0,
                        attn ? H * 2 * H : 0, Vt * H,     Vt};
    size_t *offs[11] = {&m->off_enc_embed, &m->off_enc_rnn, &m->off_dec_embed, &m->off_dec_rnn,
                        &m->off_key_w,     &m->off_query_w, &m->off_query_b,   &m->off_v,
                        &m->off_combine_w, &m->off_head_w,  &m->off_head_b};
    size_t off = 0;
    for (int i = 0; i < 11; i++) {
        *offs[i] = off;
        if (!rnn__add(&off, off, sizes[i])) {
            rnn__s2s_free(m);
            return rnn__fail(err, RNN_EOVERFLOW, "model too large");
        }
    }
    m->nparams = off;
    m->tensors = rnn__calloc(m->enc.ntensors + m->dec.ntensors + 10, sizeof *m->tensors);
    m->params = rnn__alloc_floats(m->nparams);
    m->grads = rnn__alloc_floats(m->nparams);
    if (!m->tensors || !m->params || !m->grads) {
        rnn__s2s_free(m);
        return rnn__fail(err, RNN_ENOMEM, "out of memory for %zu parameters", off);
    }
    add_tensor(m, "enc.", "embed.weight", 2, c->src_vocab, c->embed, m->off_enc_embed);
    for (size_t i = 0; i < m->enc.ntensors; i++) {
        const rnn__tensor_info *t = &m->enc.tensors[i];
        add_tensor(m, "enc.rnn.", t->name, t->ndim, t->shape[0], t->shape[1],
                   m->off_enc_rnn + t->offset);
    }
    add_tensor(m, "dec.", "embed.weight", 2, c->tgt_vocab, c->embed, m->off_dec_embed);
    for (size_t i = 0; i < m->dec.ntensors; i++) {
        const rnn__tensor_info *t = &m->dec.tensors[i];
        add_tensor(m, "dec.rnn.", t->name, t->ndim, t->shape[0], t->shape[1],
                   m->off_dec_rnn + t->offset);
    }
    if (keyed)
        add_tensor(m, "attn.", "key.weight", 2, m->H, m->H, m->off_key_w);
    if (add) {
        add_tensor(m, "attn.", "query.weight", 2, m->H, m->H, m->off_query_w);
        add_tensor(m, "attn.", "query.bias", 1, m->H, 0, m->off_query_b);
        add_tensor(m, "attn.", "v", 1, m->H, 0, m->off_v);
    }
    if (attn)
        add_tensor(m, "attn.", "combine.weight", 2, m->H, 2 * (int64_t)m->H, m->off_combine_w);
    add_tensor(m, "", "head.weight", 2, c->tgt_vocab, m->H, m->off_head_w);
    add_tensor(m, "", "head.bias", 1, c->tgt_vocab, 0, m->off_head_b);
    rnn__stack_bind(&m->enc, m->params + m->off_enc_rnn, m->grads + m->off_enc_rnn);
    rnn__stack_bind(&m->dec, m->params + m->off_dec_rnn, m->grads + m->off_dec_rnn);

    /* PyTorch's defaults, in parameter order */
    rnn__rng rng;
    rnn__rng_seed(&rng, seed);
    float *p = m->params;
    for (size_t i = 0; i < sizes[0]; i++)
        p[m->off_enc_embed + i] = (float)rnn__rng_normal(&rng);
    rnn__stack_init_params(&m->enc, NULL, &rng, NULL);
    for (size_t i = 0; i < sizes[2]; i++)
        p[m->off_dec_embed + i] = (float)rnn__rng_normal(&rng);
    rnn__stack_init_params(&m->dec, NULL, &rng, NULL);
    const double kh = 1.0 / sqrt((double)m->H);
    uniform(p + m->off_key_w, m->off_combine_w - m->off_key_w, kh, &rng);
    uniform(p + m->off_combine_w, sizes[8], 1.0 / sqrt(2.0 * (double)m->H), &rng);
    uniform(p + m->off_head_w, sizes[9] + sizes[10], kh, &rng);
    rnn__rng_seed(&m->rng, seed ^ 0x5e9u);
    *out = m;
    return RNN_OK;
}

void rnn__s2s_free(rnn__s2s *m)
{
    if (!m)
        return;
    rnn__stack_release(&m->enc);
    rnn__stack_release(&m->dec);
    rnn__free(m->tensors);
    rnn__free_floats(m->params);
    rnn__free_floats(m->grads);
    rnn__free_floats(m->ws);
    rnn__free(m->src);
    rnn__free(m->tgt);
    rnn__free(m->src_len);
    rnn__free(m->tgt_len);
    rnn__free(m);
}

void rnn__s2s_zero_grad(rnn__s2s *m) { memset(m->grads, 0, m->nparams * sizeof *m->grads); }

long rnn__s2s_find(const rnn__s2s *m, const char *name)
{
    for (size_t i = 0; i < m->ntensors; i++)
        if (strcmp(m->tensors[i].name, name) == 0)
            return (long)i;
    return -1;
}

rnn_status rnn__s2s_memory(const rnn__s2s_config *c, const rnn_optim_config *optim, int S, int T,
                           int B, rnn_memory_estimate *out, rnn_error *err)
{
    memset(out, 0, sizeof *out);
    rnn_status st = rnn__s2s_check_config(c, err);
    if (st)
        return st;
    const int D = c->bidirectional ? 2 : 1;
    rnn_model_config ec = {.vocab_size = c->src_vocab, .embed_size = c->embed, .cell = c->cell,
                           .hidden_size = c->hidden / D, .num_layers = c->layers,
                           .bidirectional = c->bidirectional, .dropout = c->dropout,
                           .output_size = c->hidden};
    rnn_model_config dc = {.vocab_size = c->tgt_vocab, .embed_size = c->embed, .cell = c->cell,
                           .hidden_size = c->hidden, .num_layers = c->layers,
                           .dropout = c->dropout, .output_size = c->tgt_vocab};
    rnn_memory_estimate e, d;
    if ((st = rnn_model_memory(&ec, optim, S, B, &e, err)) ||
        (st = rnn_model_memory(&dc, optim, T, B, &d, err)))
        return st;
    /* in floats: the attention's own parameters, and its buffers */
    const double H = c->hidden, sb = (double)S * B, tb = (double)T * B;
    /* as rnn__s2s_new lays them out: key (general, additive), query and its
     * bias and v (additive), the combination layer (any attention) */
    const int attn = c->attention != RNN__ATTN_NONE, add = c->attention == RNN__ATTN_ADDITIVE;
    const int keyed = c->attention == RNN__ATTN_GENERAL || add;
    const double ap = (keyed ? H * H : 0) + (add ? H * H + 2 * H : 0) + (attn ? 2 * H * H : 0);
    /* the encoder estimate above counts a head (output_size H) the encoder
     * does not have */
    const size_t enc_head = (size_t)c->hidden * (size_t)c->hidden + (size_t)c->hidden;
    const double aw = c->attention == RNN__ATTN_NONE ? 0 : tb * S + 10 * tb * H + 2 * sb * H;
    size_t slots = 0;
    if (optim)
        slots = optim->kind == RNN_OPT_ADAM || optim->kind == RNN_OPT_ADAMW ? 2
                : optim->kind == RNN_OPT_SGD ? (optim->momentum > 0)
                : 1 + (optim->momentum > 0);
    const double extra_w = aw + 2 * tb * c->tgt_vocab; /* + the task's logits */
    const double total = (double)e.total + (double)d.total + 4 * ap * (2 + (double)slots) +
                         4 * extra_w;
    if (total > (double)SIZE_MAX / 2)
        return rnn__fail(err, RNN_EOVERFLOW, "model too large: its memory overflows");
    out->num_params = e.num_params - enc_head + d.num_params + (size_t)ap;
    out->params = e.params - 4 * enc_head + d.params + (size_t)(4 * ap);
    out->grads = e.grads - 4 * enc_head + d.grads + (size_t)(4 * ap);
    out->optimizer = e.optimizer - 4 * enc_head * slots + d.optimizer + (size_t)(4 * ap * (double)slots);
    out->workspace = e.workspace + d.workspace + (size_t)(4 * extra_w);
    out->total = out->params + out->grads + out->optimizer + out->workspace;
    return RNN_OK;
}

/* ---- workspace -------------------------------------------------------- */

static rnn_status reserve(rnn__s2s *m, int S, int T, int B)
{
    if (m->ws && S <= m->cap_S && T <= m->cap_T && B <= m->cap_B)
        return RNN_OK;
    S = S > m->cap_S ? S : m->cap_S;
    T = T > m->cap_T ? T : m->cap_T;
    B = B > m->cap_B ? B : m->cap_B;
    if ((double)S * B > INT_MAX / 4 || (double)T * B > INT_MAX / 4 ||
        (double)T * B * S > (double)INT_MAX)
        return rnn__fail(&m->err, RNN_EOVERFLOW, "batch too large (S %d, T %d, B %d)", S, T, B);
    const size_t sb = (size_t)S * B, tb = (size_t)T * B, H = (size_t)m->H,
                 E = (size_t)m->cfg.embed, st = (size_t)m->cfg.layers * B * H;
    const int attn = m->cfg.attention != RNN__ATTN_NONE;
    const int keyed = m->cfg.attention >= RNN__ATTN_GENERAL;
    const int add = m->cfg.attention == RNN__ATTN_ADDITIVE;
    struct { float **p; size_t n; } part[] = {
        {&m->xe, sb * E},  {&m->dxe, sb * E},   {&m->e, sb * H},     {&m->de, sb * H},
        {&m->k, keyed ? sb * H : 0},            {&m->dk, keyed ? sb * H : 0},
        {&m->hn, st},      {&m->cn, st},        {&m->dhn, st},       {&m->dcn, st},
        {&m->h0, st},      {&m->c0, st},        {&m->dh0, st},       {&m->dc0, st},
        {&m->xd, tb * E},  {&m->dxd, tb * E},   {&m->hd, tb * H},    {&m->dhd, tb * H},
        {&m->q, add ? tb * H : 0},              {&m->dq, add ? tb * H : 0},
        {&m->alpha, attn ? tb * S : 0},         {&m->ctx, attn ? tb * H : 0},
        {&m->dctx, attn ? tb * H : 0},          {&m->z, attn ? tb * 2 * H : 0},
        {&m->dz, attn ? tb * 2 * H : 0},        {&m->att, attn ? tb * H : 0},
        {&m->datt, attn ? tb * H : 0},          {&m->scratch, (size_t)S + H},
    };
    const size_t np = sizeof part / sizeof part[0];
    size_t total = 0;
    for (size_t i = 0; i < np; i++)
        total += (part[i].n + 15) & ~(size_t)15; /* keeps every buffer 64-byte aligned */
    rnn_status s;
    if ((s = rnn__stack_reserve(&m->enc, S, B, &m->err)) ||
        (s = rnn__stack_reserve(&m->dec, T, B, &m->err)))
        return s;
    float *ws = rnn__alloc_floats(total);
    int32_t *src = rnn__malloc(sb * sizeof *src), *tgt = rnn__malloc(tb * sizeof *tgt);
    int32_t *sl = rnn__malloc((size_t)B * sizeof *sl), *tl = rnn__malloc((size_t)B * sizeof *tl);
    if (!ws || !src || !tgt || !sl || !tl) {
        rnn__free_floats(ws);
        rnn__free(src);
        rnn__free(tgt);
        rnn__free(sl);
        rnn__free(tl);
        return rnn__fail(&m->err, RNN_ENOMEM, "out of memory for the workspace (%.1f MB)",
                         (double)total * 4 / 1e6);
    }
    rnn__free_floats(m->ws);
    rnn__free(m->src);
    rnn__free(m->tgt);
    rnn__free(m->src_len);
    rnn__free(m->tgt_len);
    m->ws = ws;
    m->src = src;
    m->tgt = tgt;
    m->src_len = sl;
    m->tgt_len = tl;
    float *p = ws;
    for (size_t i = 0; i < np; i++) {
        *part[i].p = part[i].n ? p : NULL;
        p += (part[i].n + 15) & ~(size_t)15;
    }
    m->cap_S = S;
    m->cap_T = T;
    m->cap_B = B;
    m->have_cache = 0;
    return RNN_OK;
}

/* ---- forward and backward ---------------------------------------------- */

static rnn_status check_ids(rnn__s2s *m, const int32_t *ids, const int32_t *len, int T, int B,
                            int V, const char *what)
{
    for (int b = 0; b < B; b++) {
        if (len[b] < 1 || len[b] > T)
            return rnn__fail(&m->err, RNN_EINVAL, "%s length %d of sequence %d is outside 1..%d",
                             what, len[b], b, T);
        for (int t = 0; t < len[b]; t++) {
            int32_t v = ids[(size_t)t * B + b];
            if (v < 0 || v >= V)
                return rnn__fail(&m->err, RNN_EINVAL, "%s token %d at t=%d, b=%d is outside 0..%d",
                                 what, v, t, b, V - 1);
        }
    }
    return RNN_OK;
}

/* The decoder's initial states from the encoder's final ones: layer l gets
 * [forward; reverse] of encoder layer l. */
static void bridge(float *h0, const float *hn, int L, int D, int B, int He)
{
    for (int l = 0; l < L; l++)
        for (int b = 0; b < B; b++)
            for (int d = 0; d < D; d++)
                memcpy(h0 + ((size_t)l * B + b) * (size_t)(D * He) + (size_t)d * He,
                       hn + (((size_t)l * D + d) * B + b) * He, sizeof(float) * (size_t)He);
}

static void bridge_backward(float *dhn, const float *dh0, int L, int D, int B, int He)
{
    for (int l = 0; l < L; l++)
        for (int b = 0; b < B; b++)
            for (int d = 0; d < D; d++)
                memcpy(dhn + (((size_t)l * D + d) * B + b) * He,
                       dh0 + ((size_t)l * B + b) * (size_t)(D * He) + (size_t)d * He,
                       sizeof(float) * (size_t)He);
}

/* Attention, combination and head over rows [N] of decoder outputs hd
 * against memory e / keys k [S][B'][H] (B' = N / T). */
static void attend(rnn__s2s *m, float *logits, float *alpha, float *ctx, float *z, float *att,
                   float *q, const float *hd, const float *e, const float *k,
                   const int32_t *src_len, const int32_t *tgt_len, int T, int S, int B)
{
    const int H = m->H, Vt = m->cfg.tgt_vocab, N = T * B, th = m->threads;
    const float *P = m->params;
    if (m->cfg.attention == RNN__ATTN_NONE) {
        rnn__dense_forward(logits, hd, P + m->off_head_w, P + m->off_head_b, N, H, Vt, th);
        return;
    }
    const int add = m->cfg.attention == RNN__ATTN_ADDITIVE;
    const float *qp = hd;
    if (add) {
        rnn__dense_forward(q, hd, P + m->off_query_w, P + m->off_query_b, N, H, H, th);
        qp = q;
    }
    rnn__attn_forward(add, T, S, B, H, alpha, ctx, qp, k, e, add ? P + m->off_v : NULL, src_len,
                      tgt_len, m->scratch);
    for (int r = 0; r < N; r++) {
        memcpy(z + (size_t)r * 2 * H, ctx + (size_t)r * H, sizeof(float) * (size_t)H);
        memcpy(z + (size_t)r * 2 * H + H, hd + (size_t)r * H, sizeof(float) * (size_t)H);
    }
    rnn__dense_forward(att, z, P + m->off_combine_w, NULL, N, 2 * H, H, th);
    /* tanh vectorized (libm's tanhf, one element at a time, took ~10% of
     * beam-search decoding) */
    rnn__kernels_get()->tanh_n((size_t)N * H, att);
    rnn__dense_forward(logits, att, P + m->off_head_w, P + m->off_head_b, N, H, Vt, th);
}

/* Keys of the memory e [rows][H]: e itself (dot) or W_k e. */
static const float *keys_of(rnn__s2s *m, float *k, const float *e, int rows)
{
    if (m->cfg.attention < RNN__ATTN_GENERAL)
        return e;
    rnn__dense_forward(k, e, m->params + m->off_key_w, NULL, rows, m->H, m->H, m->threads);
    return k;
}

rnn_status rnn__s2s_forward(rnn__s2s *m, float *logits, const rnn__s2s_batch *bt, int training)
{
    const int S = bt->S, T = bt->T, B = bt->B;
    m->have_cache = 0;
    if (S < 1 || T < 1 || B < 1)
        return ret(m, rnn__fail(&m->err, RNN_EINVAL, "empty batch (S %d, T %d, B %d)", S, T, B));
    rnn_status st = reserve(m, S, T, B);
    if (st)
        return ret(m, st);
    if ((st = check_ids(m, bt->src, bt->src_len, S, B, m->cfg.src_vocab, "source")) ||
        (st = check_ids(m, bt->tgt_in, bt->tgt_len, T, B, m->cfg.tgt_vocab, "target")))
        return ret(m, st);
    const size_t sb = (size_t)S * B, tb = (size_t)T * B;
    for (size_t i = 0; i < sb; i++) /* padding ids are arbitrary: make them valid */
        m->src[i] = (int)(i / (size_t)B) < bt->src_len[i % (size_t)B] ? bt->src[i] : 0;
    for (size_t i = 0; i < tb; i++)
        m->tgt[i] = (int)(i / (size_t)B) < bt->tgt_len[i % (size_t)B] ? bt->tgt_in[i] : 0;
    memcpy(m->src_len, bt->src_len, (size_t)B * sizeof *m->src_len);
    memcpy(m->tgt_len, bt->tgt_len, (size_t)B * sizeof *m->tgt_len);
    const int E = m->cfg.embed, lstm = m->cfg.cell == RNN_CELL_LSTM;
    if (training) { /* fresh dropout masks from the model's one generator */
        rnn__rng_seed(&m->enc.rng, rnn__rng_u64(&m->rng));
        rnn__rng_seed(&m->dec.rng, rnn__rng_u64(&m->rng));
    }
    m->enc.threads = m->dec.threads = m->threads;
    rnn__embedding_forward(m->xe, m->src, sb, m->params + m->off_enc_embed, E);
    st = rnn__stack_forward(&m->enc, m->e, NULL, m->hn, lstm ? m->cn : NULL, m->xe, NULL, NULL, NULL,
                            m->src_len, S, B, training, &m->err);
    if (st)
        return ret(m, st);
    bridge(m->h0, m->hn, m->cfg.layers, m->D, B, m->He);
    if (lstm)
        bridge(m->c0, m->cn, m->cfg.layers, m->D, B, m->He);
    rnn__embedding_forward(m->xd, m->tgt, tb, m->params + m->off_dec_embed, E);
    st = rnn__stack_forward(&m->dec, m->hd, NULL, NULL, NULL, m->xd, NULL, m->h0, lstm ? m->c0 : NULL,
                            m->tgt_len, T, B, training, &m->err);
    if (st)
        return ret(m, st);
    const float *k = m->cfg.attention != RNN__ATTN_NONE ? keys_of(m, m->k, m->e, (int)sb) : NULL;
    attend(m, logits, m->alpha, m->ctx, m->z, m->att, m->q, m->hd, m->e, k, m->src_len,
           m->tgt_len, T, S, B);
    m->S = S;
    m->T = T;
    m->B = B;
    m->have_cache = training != 0;
    return ret(m, RNN_OK);
}

rnn_status rnn__s2s_backward(rnn__s2s *m, const float *dlogits)
{
    if (!m->have_cache)
        return ret(m, rnn__fail(&m->err, RNN_ESTATE,
                                "backward needs a training forward first (and one per backward)"));
    m->have_cache = 0;
    const int S = m->S, T = m->T, B = m->B, H = m->H, Vt = m->cfg.tgt_vocab, th = m->threads;
    const int N = T * B, SB = S * B, lstm = m->cfg.cell == RNN_CELL_LSTM;
    const float *P = m->params;
    float *G = m->grads;
    const rnn__attn_kind kind = m->cfg.attention;
    float *de = NULL;
    if (kind == RNN__ATTN_NONE) {
        rnn__dense_backward(m->dhd, 0, G + m->off_head_w, G + m->off_head_b, dlogits, m->hd,
                            P + m->off_head_w, N, H, Vt, th);
    } else {
        const int add = kind == RNN__ATTN_ADDITIVE, keyed = kind >= RNN__ATTN_GENERAL;
        rnn__dense_backward(m->datt, 0, G + m->off_head_w, G + m->off_head_b, dlogits, m->att,
                            P + m->off_head_w, N, H, Vt, th);
        for (size_t i = 0; i < (size_t)N * H; i++)
            m->datt[i] *= 1.0f - m->att[i] * m->att[i];
        rnn__dense_backward(m->dz, 0, G + m->off_combine_w, NULL, m->datt, m->z,
                            P + m->off_combine_w, N, 2 * H, H, th);
        for (int r = 0; r < N; r++) {
            memcpy(m->dctx + (size_t)r * H, m->dz + (size_t)r * 2 * H, sizeof(float) * (size_t)H);
            memcpy(m->dhd + (size_t)r * H, m->dz + (size_t)r * 2 * H + H, sizeof(float) * (size_t)H);
        }
        de = m->de;
        memset(de, 0, (size_t)SB * H * sizeof *de);
        if (keyed)
            memset(m->dk, 0, (size_t)SB * H * sizeof *m->dk);
        if (add)
            memset(m->dq, 0, (size_t)N * H * sizeof *m->dq);
        rnn__attn_backward(add, T, S, B, H, add ? m->dq : m->dhd, keyed ? m->dk : de, de,
                           add ? G + m->off_v : NULL, m->dctx, m->alpha, add ? m->q : m->hd,
                           keyed ? m->k : m->e, m->e, add ? P + m->off_v : NULL, m->src_len,
                           m->tgt_len, m->scratch);
        if (keyed)
            rnn__dense_backward(de, 1, G + m->off_key_w, NULL, m->dk, m->e, P + m->off_key_w, SB,
                                H, H, th);
        if (add)
            rnn__dense_backward(m->dhd, 1, G + m->off_query_w, G + m->off_query_b, m->dq, m->hd,
                                P + m->off_query_w, N, H, H, th);
    }
    rnn_status st = rnn__stack_backward(&m->dec, m->dxd, m->dh0, lstm ? m->dc0 : NULL, m->dhd,
                                        NULL, NULL, &m->err);
    if (st)
        return ret(m, st);
    rnn__embedding_backward(G + m->off_dec_embed, m->tgt, (size_t)N, m->dxd, m->cfg.embed);
    bridge_backward(m->dhn, m->dh0, m->cfg.layers, m->D, B, m->He);
    if (lstm)
        bridge_backward(m->dcn, m->dc0, m->cfg.layers, m->D, B, m->He);
    st = rnn__stack_backward(&m->enc, m->dxe, NULL, NULL, de, m->dhn, lstm ? m->dcn : NULL,
                             &m->err);
    if (st)
        return ret(m, st);
    rnn__embedding_backward(G + m->off_enc_embed, m->src, (size_t)SB, m->dxe, m->cfg.embed);
    return ret(m, RNN_OK);
}

/* ---- decoding ------------------------------------------------------------ */

int rnn__s2s_output_limit(const rnn__s2s *m, int len)
{
    long lim = 2L * (len > 0 ? len : 0) + 10;
    return (int)(lim < m->cfg.max_len ? lim : m->cfg.max_len);
}

/* One source's search state (see rnn__s2s_translate). */
typedef struct beam_src {
    int limit, done, nfinished;
    int32_t *hist, *next_hist; /* [K][limit] tokens of the live hypotheses */
    double *score, *next_score; /* [K] log-probability sums; -inf = no hypothesis */
    int best_len, best_finished;
    double best_logprob, best_score;
    int32_t *best; /* [limit] */
} beam_src;

typedef struct cand {
    double s;
    int beam, tok;
} cand;

/*
 * Beam search, fairseq's rules with one change: hypotheses are ranked by
 * their log-probability divided by their length (tokens + 1 for </s>).
 * At every step each live hypothesis j of a source proposes every token v
 * with score(j) + log p(v); the 2K best proposals are taken in order: a
 * </s> among the first K ends a hypothesis (it joins the finished ones),
 * any other token extends one, until K live hypotheses are chosen. A
 * source is done when K hypotheses have finished or its output reached the
 * limit (2 x source length + 10, at most max_len; the live ones then count
 * as they are, without </s>). The result is the best length-normalised
 * hypothesis. K = 1 is greedy decoding: the most likely token every step.
 */
rnn_status rnn__s2s_translate(rnn__s2s *m, const int32_t *const *src, const int32_t *src_len,
                              int n, int beam, rnn__s2s_result *res, float *attn, rnn_error *err)
{
    if (beam < 1 || beam > 1024)
        return rnn__fail(err, RNN_EINVAL, "beam must be in 1..1024, not %d", beam);
    int Smax = 1;
    for (int i = 0; i < n; i++) {
        if (src_len[i] < 1 || src_len[i] > m->cfg.max_len)
            return rnn__fail(err, RNN_EINVAL, "source %d has %d tokens, outside 1..%d", i,
                             src_len[i], m->cfg.max_len);
        if (res[i].cap < rnn__s2s_output_limit(m, src_len[i]))
            return rnn__fail(err, RNN_EINVAL, "output buffer %d holds %d tokens, fewer than %d", i,
                             res[i].cap, rnn__s2s_output_limit(m, src_len[i]));
        for (int t = 0; t < src_len[i]; t++)
            if (src[i][t] < 0 || src[i][t] >= m->cfg.src_vocab)
                return rnn__fail(err, RNN_EINVAL, "source %d: token %d outside 0..%d", i,
                                 src[i][t], m->cfg.src_vocab - 1);
        Smax = src_len[i] > Smax ? src_len[i] : Smax;
    }
    if (n < 1)
        return RNN_OK;
    const int K = beam, nb_max = K >= 64 ? 1 : 64 / K, H = m->H, E = m->cfg.embed,
              Vt = m->cfg.tgt_vocab, L = m->cfg.layers, lstm = m->cfg.cell == RNN_CELL_LSTM;
    const int C = nb_max * K, limit_max = rnn__s2s_output_limit(m, Smax);
    const size_t sc = (size_t)Smax * C, st_n = (size_t)L * C * H;
    const int attn_on = m->cfg.attention != RNN__ATTN_NONE;
    /* every buffer of the search, allocated once */
    float *er = rnn__alloc_floats(sc * H), *kr = rnn__alloc_floats(sc * H);
    float *h = rnn__alloc_floats(st_n), *c = rnn__alloc_floats(st_n);
    float *h2 = rnn__alloc_floats(st_n), *c2 = rnn__alloc_floats(st_n);
    float *x = rnn__alloc_floats((size_t)C * E), *hd = rnn__alloc_floats((size_t)C * H);
    float *q = rnn__alloc_floats((size_t)C * H), *al = rnn__alloc_floats(sc);
    float *ctx = rnn__alloc_floats((size_t)C * H), *z = rnn__alloc_floats((size_t)C * 2 * H);
    float *att = rnn__alloc_floats((size_t)C * H), *lg = rnn__alloc_floats((size_t)C * Vt);
    int32_t *tok = rnn__malloc((size_t)C * sizeof *tok), *sl = rnn__malloc((size_t)C * sizeof *sl);
    int32_t *bsrc = rnn__malloc((size_t)Smax * nb_max * sizeof *bsrc);
    int32_t *bl = rnn__malloc((size_t)nb_max * sizeof *bl), *parent = rnn__malloc((size_t)C * sizeof *parent);
    cand *cs = rnn__malloc((size_t)2 * K * sizeof *cs);
    beam_src *bs = rnn__calloc((size_t)nb_max, sizeof *bs);
    int32_t *hist = rnn__malloc((size_t)nb_max * 2 * K * limit_max * sizeof *hist);
    int32_t *best = rnn__malloc((size_t)nb_max * limit_max * sizeof *best);
    double *scores = rnn__malloc((size_t)nb_max * 2 * K * sizeof *scores);
    rnn_status st = RNN_OK;
    if (!er || !kr || !h || !c || !h2 || !c2 || !x || !hd || !q || !al || !ctx || !z || !att ||
        !lg || !tok || !sl || !bsrc || !bl || !parent || !cs || !bs || !hist || !best || !scores) {
        st = rnn__fail(err, RNN_ENOMEM, "out of memory for decoding");
        goto out;
    }
    m->enc.threads = m->dec.threads = m->threads;
    /* the decoder steps one token at a time with weights that do not change
     * here: packed once instead of at every step (~10% of beam decoding) */
    if ((st = rnn__stack_freeze(&m->dec, 1, &m->err)))
        goto fail_m;
    for (int lo = 0; lo < n; lo += nb_max) {
        const int nb = n - lo < nb_max ? n - lo : nb_max, Cn = nb * K;
        int S = 1, lim_chunk = 1;
        for (int b = 0; b < nb; b++) {
            S = src_len[lo + b] > S ? src_len[lo + b] : S;
            bl[b] = src_len[lo + b];
        }
        for (int t = 0; t < S; t++)
            for (int b = 0; b < nb; b++)
                bsrc[(size_t)t * nb + b] = t < bl[b] ? src[lo + b][t] : 0;
        /* encode the chunk's sources once; replicate for the K hypotheses */
        if ((st = reserve(m, S, 1, nb)))
            goto fail_m;
        rnn__embedding_forward(m->xe, bsrc, (size_t)S * nb, m->params + m->off_enc_embed, E);
        if ((st = rnn__stack_forward(&m->enc, m->e, NULL, m->hn, lstm ? m->cn : NULL, m->xe, NULL, NULL, NULL,
                                     bl, S, nb, 0, &m->err)))
            goto fail_m;
        bridge(m->h0, m->hn, L, m->D, nb, m->He);
        if (lstm)
            bridge(m->c0, m->cn, L, m->D, nb, m->He);
        for (int b = 0; b < nb; b++)
            for (int j = 0; j < K; j++) {
                const int col = b * K + j;
                sl[col] = bl[b];
                for (int t = 0; t < S; t++)
                    memcpy(er + ((size_t)t * Cn + col) * H, m->e + ((size_t)t * nb + b) * H,
                           sizeof(float) * (size_t)H);
                for (int l = 0; l < L; l++) {
                    memcpy(h + ((size_t)l * Cn + col) * H, m->h0 + ((size_t)l * nb + b) * H,
                           sizeof(float) * (size_t)H);
                    if (lstm)
                        memcpy(c + ((size_t)l * Cn + col) * H, m->c0 + ((size_t)l * nb + b) * H,
                               sizeof(float) * (size_t)H);
                }
            }
        const float *kp = attn_on ? keys_of(m, kr, er, S * Cn) : NULL;
        for (int b = 0; b < nb; b++) {
            beam_src *s = &bs[b];
            s->limit = rnn__s2s_output_limit(m, bl[b]);
            lim_chunk = s->limit > lim_chunk ? s->limit : lim_chunk;
            s->done = 0;
            s->nfinished = 0;
            s->hist = hist + (size_t)b * 2 * K * limit_max;
            s->next_hist = s->hist + (size_t)K * limit_max;
            s->score = scores + (size_t)b * 2 * K;
            s->next_score = s->score + K;
            s->best = best + (size_t)b * limit_max;
            s->best_len = 0;
            s->best_finished = 0;
            s->best_logprob = s->best_score = -INFINITY;
            for (int j = 0; j < K; j++)
                s->score[j] = j == 0 ? 0.0 : -INFINITY; /* one hypothesis to start */
        }
        for (int col = 0; col < Cn; col++)
            tok[col] = 0;
        for (int step = 0; step < lim_chunk; step++) {
            /* one decoder step for every hypothesis of the chunk */
            rnn__embedding_forward(x, tok, (size_t)Cn, m->params + m->off_dec_embed, E);
            if ((st = rnn__stack_forward(&m->dec, hd, NULL, h2, lstm ? c2 : NULL, x, NULL, h, lstm ? c : NULL,
                                         NULL, 1, Cn, 0, &m->err)))
                goto fail_m;
            attend(m, lg, al, ctx, z, att, q, hd, er, kp, sl, NULL, 1, S, Cn);
            if (attn && lo == 0 && K == 1 && !bs[0].done && step < res[0].cap)
                memcpy(attn + (size_t)step * bl[0], al, sizeof(float) * (size_t)bl[0]);
            int all_done = 1;
            for (int b = 0; b < nb; b++) {
                beam_src *s = &bs[b];
                if (s->done) {
                    for (int j = 0; j < K; j++)
                        parent[b * K + j] = b * K;
                    continue;
                }
                /* the 2K best proposals, best first (ties: lower beam, lower token) */
                int nc = 0;
                for (int j = 0; j < K; j++) {
                    if (!isfinite(s->score[j]))
                        continue;
                    const float *row = lg + (size_t)(b * K + j) * Vt;
                    double mx = row[0], sum = 0;
                    for (int v = 1; v < Vt; v++)
                        mx = row[v] > mx ? row[v] : mx;
                    for (int v = 0; v < Vt; v++)
                        sum += exp((double)row[v] - mx);
                    const double lse = mx + log(sum);
                    for (int v = 0; v < Vt; v++) {
                        const double sv = s->score[j] + ((double)row[v] - lse);
                        if (nc == 2 * K && !(sv > cs[nc - 1].s))
                            continue;
                        int pos = nc < 2 * K ? nc++ : nc - 1;
                        while (pos > 0 && sv > cs[pos - 1].s) {
                            cs[pos] = cs[pos - 1];
                            pos--;
                        }
                        cs[pos] = (cand){sv, j, v};
                    }
                }
                int live = 0;
                for (int i = 0; i < nc && live < K; i++) {
                    const cand *cd = &cs[i];
                    if (cd->tok == 0) {
                        if (i >= K)
                            continue;
                        s->nfinished++;
                        const double norm = cd->s / (double)(step + 1);
                        if (norm > s->best_score) {
                            s->best_score = norm;
                            s->best_logprob = cd->s;
                            s->best_len = step;
                            s->best_finished = 1;
                            memcpy(s->best, s->hist + (size_t)cd->beam * limit_max,
                                   sizeof(int32_t) * (size_t)step);
                        }
                        continue;
                    }
                    int32_t *dst = s->next_hist + (size_t)live * limit_max;
                    memcpy(dst, s->hist + (size_t)cd->beam * limit_max, sizeof(int32_t) * (size_t)step);
                    dst[step] = cd->tok;
                    s->next_score[live] = cd->s;
                    parent[b * K + live] = b * K + cd->beam;
                    tok[b * K + live] = cd->tok;
                    live++;
                }
                for (int j = live; j < K; j++) {
                    s->next_score[j] = -INFINITY;
                    parent[b * K + j] = b * K;
                    tok[b * K + j] = 0;
                }
                int32_t *th = s->hist;
                s->hist = s->next_hist;
                s->next_hist = th;
                double *ts = s->score;
                s->score = s->next_score;
                s->next_score = ts;
                if (s->nfinished >= K || live == 0) {
                    s->done = 1;
                } else if (step + 1 >= s->limit) {
                    /* out of room: the live hypotheses end here, without </s> */
                    for (int j = 0; j < live; j++) {
                        const double norm = s->score[j] / (double)(step + 1);
                        if (norm > s->best_score) {
                            s->best_score = norm;
                            s->best_logprob = s->score[j];
                            s->best_len = step + 1;
                            s->best_finished = 0;
                            memcpy(s->best, s->hist + (size_t)j * limit_max,
                                   sizeof(int32_t) * (size_t)(step + 1));
                        }
                    }
                    s->done = 1;
                }
                all_done &= s->done;
            }
            if (all_done)
                break;
            /* the chosen hypotheses' states */
            for (int l = 0; l < L; l++)
                for (int col = 0; col < Cn; col++) {
                    const size_t dst = ((size_t)l * Cn + col) * H, srcc = ((size_t)l * Cn + parent[col]) * H;
                    memcpy(h + dst, h2 + srcc, sizeof(float) * (size_t)H);
                    if (lstm)
                        memcpy(c + dst, c2 + srcc, sizeof(float) * (size_t)H);
                }
        }
        for (int b = 0; b < nb; b++) {
            const beam_src *s = &bs[b];
            rnn__s2s_result *r = &res[lo + b];
            r->len = s->best_len;
            r->finished = s->best_finished;
            r->logprob = s->best_logprob;
            r->score = s->best_score;
            memcpy(r->tokens, s->best, sizeof(int32_t) * (size_t)s->best_len);
        }
    }
    goto out;
fail_m:
    rnn__fail(err, st, "%s", m->err.msg);
out:
    rnn__stack_freeze(&m->dec, 0, NULL);
    rnn__free_floats(er);
    rnn__free_floats(kr);
    rnn__free_floats(h);
    rnn__free_floats(c);
    rnn__free_floats(h2);
    rnn__free_floats(c2);
    rnn__free_floats(x);
    rnn__free_floats(hd);
    rnn__free_floats(q);
    rnn__free_floats(al);
    rnn__free_floats(ctx);
    rnn__free_floats(z);
    rnn__free_floats(att);
    rnn__free_floats(lg);
    rnn__free(tok);
    rnn__free(sl);
    rnn__free(bsrc);
    rnn__free(bl);
    rnn__free(parent);
    rnn__free(cs);
    rnn__free(bs);
    rnn__free(hist);
    rnn__free(best);
    rnn__free(scores);
    m->have_cache = 0;
    return st;
}

/* ---- checkpoints ---------------------------------------------------------- */

char *rnn__s2s_config_json(const rnn__s2s_config *c)
{
    rnn__buf b = {0};
    rnn__buf_printf(&b,
                    "{\"cell\": \"%s\", \"src_vocab\": %d, \"tgt_vocab\": %d, \"embed\": %d, "
                    "\"hidden\": %d, \"layers\": %d, \"bidirectional\": %s, \"dropout\": %.9g, "
                    "\"attention\": \"%s\", \"max_len\": %d}",
                    rnn_cell_name(c->cell), c->src_vocab, c->tgt_vocab, c->embed, c->hidden,
                    c->layers, c->bidirectional ? "true" : "false", (double)c->dropout,
                    rnn__attn_name(c->attention), c->max_len);
    if (b.oom) {
        rnn__buf_free(&b);
        return NULL;
    }
    return b.data;
}

rnn_status rnn__s2s_config_parse(rnn__s2s_config *c, const char *json, rnn_error *err)
{
    memset(c, 0, sizeof *c);
    rnn__json *j;
    rnn_status st = rnn__json_parse(&j, json, strlen(json), err);
    if (st) {
        rnn__error_prefix(err, "seq2seq.config");
        return st;
    }
    const char *bad = NULL;
    const rnn__json *cell = j->kind == RNN__JSON_OBJECT ? rnn__json_get(j, "cell") : NULL;
    const rnn__json *at = j->kind == RNN__JSON_OBJECT ? rnn__json_get(j, "attention") : NULL;
    const rnn__json *bi = j->kind == RNN__JSON_OBJECT ? rnn__json_get(j, "bidirectional") : NULL;
    const rnn__json *dr = j->kind == RNN__JSON_OBJECT ? rnn__json_get(j, "dropout") : NULL;
    int cell_ok = 0;
    for (int k = RNN_CELL_RNN_TANH; cell && cell->kind == RNN__JSON_STRING && k <= RNN_CELL_GRU; k++)
        if (strcmp(cell->str, rnn_cell_name((rnn_cell)k)) == 0) {
            c->cell = (rnn_cell)k;
            cell_ok = 1;
        }
    int a = at && at->kind == RNN__JSON_STRING ? rnn__attn_from_name(at->str) : -1;
    if (j->kind != RNN__JSON_OBJECT)
        bad = "not a JSON object";
    else if (!cell_ok)
        bad = "'cell' must be lstm, gru, rnn_tanh or rnn_relu";
    else if (a < 0)
        bad = "'attention' must be none, dot, general or additive";
    else if (!bi || bi->kind != RNN__JSON_BOOL)
        bad = "'bidirectional' must be true or false";
    else if (!dr || dr->kind != RNN__JSON_NUMBER || !(dr->number >= 0 && dr->number < 1))
        bad = "'dropout' must be a number in [0, 1)";
    else if (!rnn__json_get_int(j, "src_vocab", &c->src_vocab, 1) ||
             !rnn__json_get_int(j, "tgt_vocab", &c->tgt_vocab, 1) ||
             !rnn__json_get_int(j, "embed", &c->embed, 1) || !rnn__json_get_int(j, "hidden", &c->hidden, 1) ||
             !rnn__json_get_int(j, "layers", &c->layers, 1) ||
             !rnn__json_get_int(j, "max_len", &c->max_len, 1))
        bad = "'src_vocab', 'tgt_vocab', 'embed', 'hidden', 'layers' and 'max_len' must be "
              "non-negative integers";
    if (!bad) {
        c->attention = (rnn__attn_kind)a;
        c->bidirectional = bi->boolean;
        c->dropout = (float)dr->number;
    }
    rnn__json_free(j);
    if (bad)
        return rnn__fail(err, RNN_EFORMAT, "seq2seq.config: %s", bad);
    st = rnn__s2s_check_config(c, err);
    if (st)
        rnn__error_prefix(err, "seq2seq.config");
    return st;
}

rnn_status rnn__s2s_save(rnn__s2s *m, const char *path, const rnn__st_entry *extra, size_t nextra,
                         const char *const *keys, const char *const *values, size_t nmeta,
                         rnn_error *err)
{
    char *config = rnn__s2s_config_json(&m->cfg);
    if (!config)
        return rnn__fail(err, RNN_ENOMEM, "out of memory");
    const char *head[] = {"format",          "pt",        "rnn.task",       "seq2seq",
                          "seq2seq.version", S2S_VERSION, "seq2seq.config", config};
    rnn_status st = rnn__st_save_params(path, m->tensors, m->ntensors, m->params, extra, nextra, head,
                                        4, keys, values, nmeta, err);
    rnn__free(config);
    return st;
}

rnn_status rnn__s2s_from_st(rnn__s2s **out, const rnn__st *f, const char *path, rnn_error *err)
{
    *out = NULL;
    const char *task = rnn__st_meta(f, "rnn.task"), *version = rnn__st_meta(f, "seq2seq.version");
    const char *config = rnn__st_meta(f, "seq2seq.config");
    if (!task || strcmp(task, "seq2seq") != 0 || !version || !config)
        return rnn__fail(err, RNN_EFORMAT,
                         "%s: not a seq2seq checkpoint (rnn.task is %s%s%s; train one with "
                         "'rnn seq2seq train')", path, task ? "'" : "", task ? task : "missing",
                         task ? "'" : "");
    if (strcmp(version, S2S_VERSION) != 0)
        return rnn__fail(err, RNN_EUNSUPPORTED, "%s: seq2seq checkpoint version %s; this build "
                         "reads version %s", path, version, S2S_VERSION);
    rnn__s2s_config c;
    rnn_status st = rnn__s2s_config_parse(&c, config, err);
    if (st) {
        rnn__error_prefix(err, "%s", path);
        return st;
    }
    /* refused before allocating when the file cannot hold such a model */
    rnn_memory_estimate est;
    if ((st = rnn__s2s_memory(&c, NULL, 1, 2, 1, &est, err))) {
        rnn__error_prefix(err, "%s: seq2seq.config", path);
        return st;
    }
    if ((st = rnn__st_check_holds(f, path, est.num_params, "seq2seq.config", err)))
        return st;
    rnn__s2s *m;
    if ((st = rnn__s2s_new(&m, &c, 0, err))) {
        rnn__error_prefix(err, "%s", path);
        return st;
    }
    if ((st = rnn__st_read_params(f, path, m->tensors, m->ntensors, m->params, err))) {
        rnn__s2s_free(m);
        return st;
    }
    *out = m;
    return RNN_OK;
}

/* ---- the training task ------------------------------------------------------ */

typedef struct s2s_task {
    rnn__s2s *m;
    rnn__s2s_pairs train, val;
    int has_val, B, maxS, maxT;
    int32_t *perm;      /* [n] the order of epoch perm_epoch */
    int64_t perm_epoch; /* -1: not drawn yet (also after a restore) */
    int32_t *src, *src_len, *tgt_in, *tgt_out, *tgt_len, *idx;
    float *logits;      /* [maxT*B][Vt] */
    double *row_loss;   /* [maxT*B] */
} s2s_task;

static void task_free(void *p)
{
    s2s_task *s = p;
    if (!s)
        return;
    rnn__free(s->perm);
    rnn__free(s->src);
    rnn__free(s->src_len);
    rnn__free(s->tgt_in);
    rnn__free(s->tgt_out);
    rnn__free(s->tgt_len);
    rnn__free(s->idx);
    rnn__free_floats(s->logits);
    rnn__free(s->row_loss);
    rnn__free(s);
}

static int pair_len(const int64_t *off, int i) { return (int)(off[i + 1] - off[i]); }

/* Gathers pairs idx[0..B) into the time-major batch buffers. */
static void gather(s2s_task *s, const rnn__s2s_pairs *p, const int32_t *idx, int B,
                   rnn__s2s_batch *bt)
{
    int S = 1, T = 1;
    for (int b = 0; b < B; b++) {
        int ls = pair_len(p->src_off, idx[b]), lt = pair_len(p->tgt_off, idx[b]) + 1;
        S = ls > S ? ls : S;
        T = lt > T ? lt : T;
        s->src_len[b] = ls;
        s->tgt_len[b] = lt;
    }
    for (int b = 0; b < B; b++) {
        const int32_t *sp = p->src + p->src_off[idx[b]], *tp = p->tgt + p->tgt_off[idx[b]];
        const int ls = s->src_len[b], n = s->tgt_len[b] - 1;
        for (int t = 0; t < S; t++)
            s->src[(size_t)t * B + b] = t < ls ? sp[t] : 0;
        for (int t = 0; t < T; t++) {
            s->tgt_in[(size_t)t * B + b] = t == 0 || t > n ? 0 : tp[t - 1];
            s->tgt_out[(size_t)t * B + b] = t < n ? tp[t] : t == n ? 0 : -1;
        }
    }
    *bt = (rnn__s2s_batch){S, T, B, s->src, s->src_len, s->tgt_in, s->tgt_len};
}

static void draw_order(rnn_trainer *t)
{
    s2s_task *s = t->data;
    const int n = s->train.n;
    s->perm_epoch = t->epoch;
    rnn__rng r;
    rnn__rng_seed(&r, t->o.seed * 0x9E3779B97F4A7C15ull ^ (uint64_t)t->epoch ^ 0x525u);
    rnn__rng_permutation(&r, s->perm, n);
}

static void task_epoch_start(rnn_trainer *t) { draw_order(t); }

static rnn_status task_forward_backward(rnn_trainer *t, double *loss)
{
    s2s_task *s = t->data;
    rnn__s2s *m = s->m;
    if (s->perm_epoch != t->epoch)
        draw_order(t);
    const int lo = (int)(t->batch * s->B);
    const int B = s->train.n - lo < s->B ? s->train.n - lo : s->B;
    rnn__s2s_batch bt;
    gather(s, &s->train, s->perm + lo, B, &bt);
    rnn_status st = rnn__s2s_forward(m, s->logits, &bt, 1);
    if (st)
        return rnn__fail(&t->err, st, "%s", m->err.msg);
    const int N = bt.T * B;
    size_t count;
    int valid = 0;
    for (int b = 0; b < B; b++)
        valid += s->tgt_len[b];
    double sum = rnn__softmax_xent(s->logits, s->logits, s->tgt_out, N, m->cfg.tgt_vocab,
                                   1.0f / (float)valid, &count, s->row_loss, m->threads);
    *loss = count ? sum / (double)count : 0.0;
    st = rnn__s2s_backward(m, s->logits);
    return st ? rnn__fail(&t->err, st, "%s", m->err.msg) : RNN_OK;
}

static rnn_status pairs_loss(s2s_task *s, const rnn__s2s_pairs *p, double *loss, rnn_error *err)
{
    rnn__s2s *m = s->m;
    double sum = 0;
    size_t total = 0;
    for (int lo = 0; lo < p->n; lo += s->B) {
        const int B = p->n - lo < s->B ? p->n - lo : s->B;
        for (int b = 0; b < B; b++)
            s->idx[b] = lo + b;
        rnn__s2s_batch bt;
        gather(s, p, s->idx, B, &bt);
        rnn_status st = rnn__s2s_forward(m, s->logits, &bt, 0);
        if (st)
            return rnn__fail(err, st, "%s", m->err.msg);
        size_t count;
        sum += rnn__softmax_xent(NULL, s->logits, s->tgt_out, bt.T * B, m->cfg.tgt_vocab, 1.0f,
                                 &count, s->row_loss, m->threads);
        total += count;
    }
    *loss = total ? sum / (double)total : NAN;
    return RNN_OK;
}

static rnn_status task_evaluate(rnn_trainer *t, double *loss)
{
    s2s_task *s = t->data;
    *loss = NAN;
    if (!s->has_val)
        return rnn__fail(&t->err, RNN_EINVAL, "no validation data");
    return pairs_loss(s, &s->val, loss, &t->err);
}

static size_t task_save_extra(rnn_trainer *t, rnn__st_entry *out)
{
    (void)t; /* the order is recomputed from the seed and the epoch */
    (void)out;
    return 0;
}

static rnn_status task_restore_extra(rnn_trainer *t, const rnn__st *f, const char *path)
{
    (void)t;
    (void)f;
    (void)path;
    return RNN_OK;
}

static uint64_t hash_pairs(uint64_t h, const rnn__s2s_pairs *p)
{
    h = rnn__fnv1a(h, &p->n, sizeof p->n);
    h = rnn__fnv1a(h, p->src_off, ((size_t)p->n + 1) * sizeof *p->src_off);
    h = rnn__fnv1a(h, p->tgt_off, ((size_t)p->n + 1) * sizeof *p->tgt_off);
    h = rnn__fnv1a(h, p->src, (size_t)p->src_off[p->n] * sizeof *p->src);
    return rnn__fnv1a(h, p->tgt, (size_t)p->tgt_off[p->n] * sizeof *p->tgt);
}

static uint64_t task_data_hash(const rnn_trainer *t)
{
    const s2s_task *s = t->data;
    uint64_t h = hash_pairs(0xcbf29ce484222325ull, &s->train);
    return s->has_val ? hash_pairs(h, &s->val) : h;
}

static const rnn__task s2s_task_def = {
    "seq2seq", task_epoch_start, task_forward_backward, NULL, task_evaluate,
    task_save_extra, task_restore_extra, task_data_hash, task_free,
};

static rnn_status check_pairs(const rnn__s2s *m, const rnn__s2s_pairs *p, const char *what,
                              int *maxS, int *maxT, rnn_error *err)
{
    if (p->n < 1 || !p->src || !p->tgt || !p->src_off || !p->tgt_off)
        return rnn__fail(err, RNN_EINVAL, "%s: no pairs", what);
    if (p->src_off[0] != 0 || p->tgt_off[0] != 0)
        return rnn__fail(err, RNN_EINVAL, "%s: offsets must start at 0", what);
    for (int i = 0; i < p->n; i++) {
        const int ls = pair_len(p->src_off, i), lt = pair_len(p->tgt_off, i);
        if (ls < 1 || lt < 1 || ls > m->cfg.max_len || lt > m->cfg.max_len)
            return rnn__fail(err, RNN_EINVAL,
                             "%s: pair %d has a source of %d and a target of %d tokens "
                             "(each must be 1..%d)", what, i, ls, lt, m->cfg.max_len);
        for (int t = 0; t < ls; t++) {
            const int32_t v = p->src[p->src_off[i] + t];
            if (v < 0 || v >= m->cfg.src_vocab)
                return rnn__fail(err, RNN_EINVAL, "%s: pair %d: source token %d outside 0..%d",
                                 what, i, v, m->cfg.src_vocab - 1);
        }
        for (int t = 0; t < lt; t++) {
            const int32_t v = p->tgt[p->tgt_off[i] + t];
            if (v < 1 || v >= m->cfg.tgt_vocab)
                return rnn__fail(err, RNN_EINVAL, "%s: pair %d: target token %d outside 1..%d",
                                 what, i, v, m->cfg.tgt_vocab - 1);
        }
        *maxS = ls > *maxS ? ls : *maxS;
        *maxT = lt + 1 > *maxT ? lt + 1 : *maxT;
    }
    return RNN_OK;
}

static rnn_status task_new(s2s_task **out, rnn__s2s *m, int batch, const rnn__s2s_pairs *train,
                           const rnn__s2s_pairs *val, rnn_error *err)
{
    *out = NULL;
    if (batch < 1 || batch > 4096)
        return rnn__fail(err, RNN_EINVAL, "batch must be in 1..4096, not %d", batch);
    int maxS = 1, maxT = 1;
    rnn_status st = check_pairs(m, train, "training pairs", &maxS, &maxT, err);
    if (!st && val)
        st = check_pairs(m, val, "validation pairs", &maxS, &maxT, err);
    if (st)
        return st;
    s2s_task *s = rnn__calloc(1, sizeof *s);
    if (!s)
        return rnn__fail(err, RNN_ENOMEM, "out of memory");
    s->m = m;
    s->train = *train;
    s->has_val = val != NULL;
    if (val)
        s->val = *val;
    s->B = batch;
    s->maxS = maxS;
    s->maxT = maxT;
    s->perm_epoch = -1;
    const size_t B = (size_t)batch, sb = (size_t)maxS * B, tb = (size_t)maxT * B;
    s->perm = rnn__malloc((size_t)train->n * sizeof *s->perm);
    s->src = rnn__malloc(sb * sizeof *s->src);
    s->src_len = rnn__malloc(B * sizeof *s->src_len);
    s->tgt_in = rnn__malloc(tb * sizeof *s->tgt_in);
    s->tgt_out = rnn__malloc(tb * sizeof *s->tgt_out);
    s->tgt_len = rnn__malloc(B * sizeof *s->tgt_len);
    s->idx = rnn__malloc(B * sizeof *s->idx);
    s->logits = rnn__alloc_floats(tb * (size_t)m->cfg.tgt_vocab);
    s->row_loss = rnn__malloc(tb * sizeof *s->row_loss);
    if (!s->perm || !s->src || !s->src_len || !s->tgt_in || !s->tgt_out || !s->tgt_len ||
        !s->idx || !s->logits || !s->row_loss) {
        task_free(s);
        return rnn__fail(err, RNN_ENOMEM, "out of memory for the batch buffers");
    }
    if ((st = reserve(m, maxS, maxT, batch))) {
        rnn__fail(err, st, "%s", m->err.msg);
        task_free(s);
        return st;
    }
    *out = s;
    return RNN_OK;
}

static rnn_status trainee_save(void *model, const char *path, const rnn__st_entry *extra,
                               size_t nextra, const char *const *keys, const char *const *values,
                               size_t nmeta, rnn_error *err)
{
    return rnn__s2s_save(model, path, extra, nextra, keys, values, nmeta, err);
}

static rnn_status trainee_load(void *model, const rnn__st *f, const char *path, float *params_out,
                               rnn_error *err)
{
    rnn__s2s *m = model, *saved;
    rnn_status st = rnn__s2s_from_st(&saved, f, path, err);
    if (st)
        return st;
    char *a = rnn__s2s_config_json(&m->cfg), *b = rnn__s2s_config_json(&saved->cfg);
    if (!a || !b)
        st = rnn__fail(err, RNN_ENOMEM, "out of memory");
    else if (strcmp(a, b) != 0)
        st = rnn__fail(err, RNN_EINVAL, "%s: the checkpoint's model %s differs from this one %s",
                       path, b, a);
    else
        memcpy(params_out, saved->params, m->nparams * sizeof *params_out);
    rnn__free(a);
    rnn__free(b);
    rnn__s2s_free(saved);
    return st;
}

rnn_status rnn__s2s_trainer_new(rnn_trainer **out, rnn__s2s *m, const rnn_train_options *o,
                                const rnn__s2s_pairs *train, const rnn__s2s_pairs *val,
                                rnn_error *err)
{
    *out = NULL;
    rnn_train_options oo = *o;
    if (oo.seq_len < 1)
        oo.seq_len = 1; /* not used by this task */
    rnn_status st = rnn__check_options(&oo, err);
    if (st)
        return st;
    s2s_task *s;
    if ((st = task_new(&s, m, o->batch, train, val, err)))
        return st;
    rnn__rng_seed(&m->rng, o->seed);
    rnn__trainee p = {m, m->params, m->grads, m->nparams, m->threads, m->rng.s, trainee_save,
                      trainee_load, m->tensors, m->ntensors};
    const int64_t bpe = (train->n + s->B - 1) / s->B;
    int64_t tokens = 0; /* target tokens per step, on average, for the statistics */
    tokens = (train->tgt_off[train->n] + train->n) / (train->n ? train->n : 1) * (int64_t)s->B;
    return rnn__trainer_new_custom(out, &p, &oo, &s2s_task_def, s, bpe, tokens, err);
}

rnn_status rnn__s2s_loss(rnn__s2s *m, const rnn__s2s_pairs *p, int batch, double *loss,
                         rnn_error *err)
{
    s2s_task *s;
    rnn_status st = task_new(&s, m, batch, p, NULL, err);
    if (st)
        return st;
    st = pairs_loss(s, p, loss, err);
    task_free(s);
    return st;
}
