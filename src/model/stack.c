/*
 * stack.c -- stacked and bidirectional recurrent layers with dropout and
 * variable lengths, matching torch.nn.RNN / LSTM / GRU.
 *
 * Layer l, direction d reads the previous layer's output [T][B][D*H] (or the
 * input [T][B][I]) and writes columns d*H .. d*H+H-1 of its own output, so
 * that each step's output is concat(forward, reverse) as in PyTorch. States
 * are [D*L][B][H] with index l*D + d. Dropout (training only) scales every
 * layer's output but the last by a Bernoulli(1-p) mask / (1-p).
 */
#include "model/stack.h"

#include "layers/layers.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *const kinds[4] = {"weight_ih", "weight_hh", "bias_ih", "bias_hh"};

rnn_status rnn__stack_init(rnn__stack *st, const rnn_stack_config *cfg,
                           rnn_error *err)
{
    memset(st, 0, sizeof *st);
    if (cfg->cell < RNN_CELL_RNN_TANH || cfg->cell > RNN_CELL_GRU)
        return rnn__fail(err, RNN_EINVAL, "unknown cell type %d", (int)cfg->cell);
    if (cfg->input_size < 1 || cfg->hidden_size < 1 || cfg->num_layers < 1)
        return rnn__fail(err, RNN_EINVAL,
                         "sizes must be positive (input %d, hidden %d, layers %d)",
                         cfg->input_size, cfg->hidden_size, cfg->num_layers);
    if (cfg->bidirectional != 0 && cfg->bidirectional != 1)
        return rnn__fail(err, RNN_EINVAL, "bidirectional must be 0 or 1, not %d",
                         cfg->bidirectional);
    if (!(cfg->dropout >= 0.0f && cfg->dropout < 1.0f))
        return rnn__fail(err, RNN_EINVAL, "dropout must be in [0, 1), not %g",
                         (double)cfg->dropout);

    st->cfg = *cfg;
    st->G = rnn_cell_gates(cfg->cell);
    st->D = cfg->bidirectional ? 2 : 1;
    st->L = cfg->num_layers;
    st->H = cfg->hidden_size;
    st->I = cfg->input_size;

    /* every dimension handed to the GEMM must fit an int */
    size_t gh, dh;
    if (!rnn__mul(&gh, (size_t)st->G, (size_t)st->H) || gh > INT_MAX ||
        !rnn__mul(&dh, (size_t)st->D, (size_t)st->H) || dh > INT_MAX ||
        st->L > 100000)
        return rnn__fail(err, RNN_EOVERFLOW,
                         "model too large (hidden %d, layers %d)", st->H, st->L);

    size_t ndir = (size_t)st->L * st->D;
    st->dir_off = rnn__calloc(ndir, sizeof *st->dir_off);
    st->tensors = rnn__calloc(ndir * 4, sizeof *st->tensors);
    if (!st->dir_off || !st->tensors) {
        rnn__stack_release(st);
        return rnn__fail(err, RNN_ENOMEM, "out of memory");
    }
    size_t off = 0;
    for (int l = 0; l < st->L; l++) {
        int in = l == 0 ? st->I : st->D * st->H;
        for (int d = 0; d < st->D; d++) {
            size_t count = rnn__rec_param_count(cfg->cell, in, st->H);
            if (count == 0 || !rnn__add(&st->nparams, off, count)) {
                rnn__stack_release(st);
                return rnn__fail(err, RNN_EOVERFLOW,
                                 "model too large (input %d, hidden %d)", in, st->H);
            }
            st->dir_off[l * st->D + d] = off;
            size_t o = off;
            for (int k = 0; k < 4; k++) {
                rnn__tensor_info *t = &st->tensors[st->ntensors++];
                snprintf(t->name, sizeof t->name, "%s_l%d%s", kinds[k], l,
                         d ? "_reverse" : "");
                t->offset = o;
                if (k < 2) {
                    t->ndim = 2;
                    t->shape[0] = (int64_t)gh;
                    t->shape[1] = k == 0 ? in : st->H;
                    t->numel = gh * (size_t)t->shape[1];
                } else {
                    t->ndim = 1;
                    t->shape[0] = (int64_t)gh;
                    t->numel = gh;
                }
                o += t->numel;
            }
            off = st->nparams;
        }
    }
    rnn__rng_seed(&st->rng, 0x5eed);
    st->threads = 1;
    return RNN_OK;
}

void rnn__stack_release(rnn__stack *st)
{
    rnn__free_floats(st->wpk);
    rnn__free(st->wpk_off);
    rnn__free(st->dir_off);
    rnn__free(st->tensors);
    rnn__free_floats(st->ws);
    rnn__free(st->cache);
    rnn__free(st->out);
    rnn__free(st->yv);
    rnn__free(st->mask);
    rnn__free(st->yvl);
    rnn__free(st->lengths);
    memset(st, 0, sizeof *st);
}

void rnn__stack_bind(rnn__stack *st, float *params, float *grads)
{
    st->params = params;
    st->grads = grads;
}

void rnn__stack_record_gradflow(rnn__stack *st, double *out)
{
    st->gradflow = out;
}

long rnn__stack_find(const rnn__stack *st, const char *name)
{
    for (size_t i = 0; i < st->ntensors; i++)
        if (strcmp(st->tensors[i].name, name) == 0)
            return (long)i;
    return -1;
}

rnn_status rnn__stack_freeze(rnn__stack *st, int on, rnn_error *err)
{
    st->frozen = 0;
    if (!on) {
        rnn__free_floats(st->wpk);
        rnn__free(st->wpk_off);
        st->wpk = NULL;
        st->wpk_off = NULL;
        return RNN_OK;
    }
    const int L = st->L, D = st->D, H = st->H;
    const rnn_cell cell = st->cfg.cell;
    if (!st->wpk) {
        size_t *off = rnn__calloc((size_t)L * D + 1, sizeof *off);
        if (!off)
            return rnn__fail(err, RNN_ENOMEM, "out of memory packing the weights");
        for (int l = 0; l < L; l++)
            for (int d = 0; d < D; d++) {
                const size_t n = rnn__rec_wpack_count(cell, l ? D * H : st->I, H);
                off[l * D + d + 1] = off[l * D + d] + ((n + 15) & ~(size_t)15);
            }
        st->wpk = rnn__alloc_floats(off[(size_t)L * D]);
        if (!st->wpk) {
            rnn__free(off);
            return rnn__fail(err, RNN_ENOMEM, "out of memory packing the weights (%zu floats)",
                             off[(size_t)L * D]);
        }
        st->wpk_off = off;
    }
    for (int l = 0; l < L; l++)
        for (int d = 0; d < D; d++)
            rnn__rec_wpack(cell, l ? D * H : st->I, H, st->params + st->dir_off[l * D + d],
                           st->wpk + st->wpk_off[l * D + d]);
    st->frozen = 1;
    return RNN_OK;
}

/* ---- workspace -------------------------------------------------------- */

void rnn__stack_set_lookup(rnn__stack *st, int V)
{
    st->lookup_V = V > 0 ? V : 0;
}

int rnn__stack_lookup_pays(const rnn__stack *st, int T, int B)
{
    return rnn__rec_lookup_pays(st->lookup_V, (size_t)T * (size_t)B);
}

rnn_status rnn__stack_reserve(rnn__stack *st, int T, int B, rnn_error *err)
{
    if (T < 1 || B < 1)
        return rnn__fail(err, RNN_EINVAL, "sequence length and batch must be "
                         "positive (T %d, B %d)", T, B);
    if (st->ws && T <= st->cap_T && B <= st->cap_B)
        return RNN_OK;
    if (st->cap_T > T)
        T = st->cap_T;
    if (st->cap_B > B)
        B = st->cap_B;

    size_t tb;
    if (!rnn__mul(&tb, (size_t)T, (size_t)B) || tb > INT_MAX)
        return rnn__fail(err, RNN_EOVERFLOW, "T*B = %d*%d is too large", T, B);
    const int L = st->L, D = st->D, H = st->H;
    const rnn_cell cell = st->cfg.cell;
    size_t cache = rnn__rec_cache_count(cell, T, B, H);
    size_t scratch = rnn__rec_scratch_count(cell, B, H);
    size_t seq; /* one [T][B][D*H] buffer */
    if (!cache || !scratch || !rnn__mul4(&seq, tb, (size_t)D, (size_t)H, 1))
        return rnn__fail(err, RNN_EOVERFLOW, "workspace size overflows");
    int W = st->I > D * H ? st->I : D * H; /* the widest layer input */
    if (rnn__stack_lookup_pays(st, T, B)) {
        size_t lut = rnn__rec_lookup_count(cell, st->lookup_V, H);
        if (!lut || !rnn__add(&scratch, scratch, lut))
            return rnn__fail(err, RNN_EOVERFLOW, "workspace size overflows");
        W = W > st->lookup_V ? W : st->lookup_V;
    }
    /* the backward's partial sums of its second row block */
    if (rnn__rec_row_blocks(B) > 1) {
        size_t part = rnn__rec_partial_count(cell, B, W, H);
        if (!part || !rnn__add(&scratch, scratch, part))
            return rnn__fail(err, RNN_EOVERFLOW, "workspace size overflows");
    }
    int with_mask = st->cfg.dropout > 0 && L > 1;
    size_t nseq = (size_t)(L - 1) * (with_mask ? 2 : 1) + (L > 1 ? 2 : 0);
    /* the blocked row order: the first layer's dense input and its
     * gradient, copied from and to the caller's [T][B] order (not when
     * the input comes as token ids; a dense call then keeps the plain
     * order) */
    size_t xio = 0;
    if (rnn__rec_row_blocks(B) > 1 && !rnn__stack_lookup_pays(st, T, B) &&
        !rnn__mul4(&xio, tb, (size_t)st->I, 2, 1))
        return rnn__fail(err, RNN_EOVERFLOW, "workspace size overflows");
    size_t pack = rnn__rec_pack_count(cell, H);
    pack = (pack + 15) & ~(size_t)15; /* keeps what follows 64-byte aligned */
    size_t total, part;
    if (!rnn__mul(&total, cache, (size_t)L * D) || !rnn__mul(&part, seq, nseq) ||
        !rnn__add(&total, total, part) || !rnn__add(&total, total, scratch) ||
        !rnn__add(&total, total, pack) || !rnn__add(&total, total, xio))
        return rnn__fail(err, RNN_EOVERFLOW, "workspace size overflows");
    if (total > SIZE_MAX / sizeof(float))
        return rnn__fail(err, RNN_EOVERFLOW, "workspace size overflows");

    float *ws = rnn__alloc_floats(total);
    float **cachep = rnn__calloc((size_t)L * D, sizeof *cachep);
    float **outp = rnn__calloc((size_t)L, sizeof *outp);
    const float **yvp = rnn__calloc((size_t)L, sizeof *yvp);
    float **maskp = rnn__calloc((size_t)L, sizeof *maskp);
    rnn__rows *yvlp = rnn__calloc((size_t)L, sizeof *yvlp);
    int32_t *lens = rnn__calloc((size_t)B, sizeof *lens);
    if (!ws || !cachep || !outp || !yvp || !maskp || !yvlp || !lens) {
        rnn__free_floats(ws);
        rnn__free(cachep);
        rnn__free(outp);
        rnn__free(yvp);
        rnn__free(maskp);
        rnn__free(yvlp);
        rnn__free(lens);
        return rnn__fail(err, RNN_ENOMEM,
                         "out of memory for the workspace (%.1f MB for T %d, B %d)",
                         (double)total * sizeof(float) / 1e6, T, B);
    }
    rnn__free_floats(st->ws);
    rnn__free(st->cache);
    rnn__free(st->out);
    rnn__free(st->yv);
    rnn__free(st->mask);
    rnn__free(st->yvl);
    rnn__free(st->lengths);
    st->ws = ws;
    st->ws_count = total;
    st->cache = cachep;
    st->out = outp;
    st->yv = yvp;
    st->mask = maskp;
    st->yvl = yvlp;
    st->lengths = lens;
    st->cap_T = T;
    st->cap_B = B;
    st->have_cache = 0;

    float *p = ws;
    st->pack = p; /* first: the packed weights need 64-byte alignment */
    p += pack;
    for (int i = 0; i < L * D; i++, p += cache)
        st->cache[i] = p;
    for (int l = 0; l + 1 < L; l++) {
        st->out[l] = p;
        p += seq;
        if (with_mask) {
            st->mask[l] = p;
            p += seq;
        }
    }
    st->dbuf[0] = st->dbuf[1] = NULL;
    if (L > 1) {
        st->dbuf[0] = p;
        st->dbuf[1] = p + seq;
        p += 2 * seq;
    }
    st->xb = st->dxb = NULL;
    if (xio) {
        st->xb = p;
        st->dxb = p + xio / 2;
        p += xio;
    }
    st->scratch = p;
    return RNN_OK;
}

/* ---- forward / backward ------------------------------------------------ */

static const float *state_at(const float *s, int l, int d, const rnn__stack *st,
                             int B)
{
    return s ? s + ((size_t)l * st->D + d) * B * st->H : NULL;
}

static float *state_out(float *s, int l, int d, const rnn__stack *st, int B)
{
    return s ? s + ((size_t)l * st->D + d) * B * st->H : NULL;
}

rnn_status rnn__stack_forward(rnn__stack *st, float *y, const float **yout, float *hn, float *cn,
                              const float *x, const int32_t *ids, const float *h0,
                              const float *c0, const int32_t *lengths, int T, int B,
                              int training, rnn_error *err)
{
    if (!x)
        return rnn__fail(err, RNN_EINVAL, "input is NULL");
    if (ids && !rnn__stack_lookup_pays(st, T, B))
        return rnn__fail(err, RNN_EINVAL, "token input of %d rows for T*B = %d*%d", st->lookup_V,
                         T, B);
    rnn_status s = rnn__stack_reserve(st, T, B, err);
    if (s)
        return s;
    if (lengths) {
        for (int b = 0; b < B; b++)
            if (lengths[b] < 1 || lengths[b] > T)
                return rnn__fail(err, RNN_EINVAL,
                                 "lengths[%d] = %ld is outside 1..T (T = %d)", b,
                                 (long)lengths[b], T);
        memcpy(st->lengths, lengths, sizeof *lengths * (size_t)B);
    }
    const int32_t *lens = lengths ? st->lengths : NULL;
    const int L = st->L, D = st->D, H = st->H, DH = D * H;
    const int lstm = st->cfg.cell == RNN_CELL_LSTM;
    int dropout = training && st->cfg.dropout > 0 && L > 1;

    /* Inside the stack the rows of every sequence buffer (the layers'
     * caches, inner outputs, masks, gradients) are blocked by batch rows
     * (layers.h: rnn__rows) when the layers run on two or more threads;
     * the caller's x, y and dy stay plain [T][B]. One thread (also when
     * the layers are too small for a second, rnn__threads_for) keeps the
     * plain order: one per-step product over the batch rather than one
     * per block, 3% faster for 2xRNN-256. So do a call that wants the top
     * layer's states as its output (yout without y) and a dense input to a
     * stack that reserved for token input (no room to block it). The
     * results are the same either way. */
    const int in_max = L > 1 && DH > st->I ? DH : st->I; /* the widest layer input */
    const int split = rnn__threads_for(st->threads, (double)T * B * st->G * H * (in_max + H)) > 1;
    const int nblk = split && (y || !yout) && (ids || st->xb) ? rnn__rec_row_blocks(B) : 1;
    rnn__rows pl, vl;
    rnn__rows_make(&pl, 1, B, T, 0);
    rnn__rows_make(&st->rl, nblk, B, T, 0);
    rnn__rows_like(&vl, &st->rl, T + 1, 1); /* a layer's states as its output */
    const rnn__rows *rl = &st->rl;

    const float *in = x;
    const rnn__rows *inl = &pl;
    if (nblk > 1) {
        inl = rl; /* token input: x is the table, only the structure counts */
        if (!ids) {
            rnn__rows_copy(st->xb, rl, x, &pl, T, B, st->I);
            in = st->xb;
        }
    }
    st->x = in;
    int I = st->I;
    for (int l = 0; l < L; l++) {
        /* one direction over all steps, no dropout mask to apply: the
         * layer's states (slots 1..T) are its output; the next layer (or
         * the caller) reads them there instead of a copy (2 MB per layer
         * at T*B = 2048, H = 256, written into lines the other threads
         * read) */
        const int top = l + 1 == L;
        const int view = D == 1 && !lens && (top ? yout != NULL && nblk == 1 : !dropout);
        float *out = view ? NULL : top ? y : st->out[l];
        const rnn__rows *outl = top ? &pl : rl;
        for (int d = 0; d < D; d++) {
            rnn__rec_forward_rows(st->cfg.cell, T, B, I, H, d, lens,
                                  out ? out + (size_t)d * H : NULL, DH, outl,
                                  state_out(hn, l, d, st, B),
                                  lstm ? state_out(cn, l, d, st, B) : NULL, st->cache[l * D + d],
                                  st->scratch, in, inl, l ? NULL : ids, st->lookup_V,
                                  state_at(h0, l, d, st, B),
                                  lstm ? state_at(c0, l, d, st, B) : NULL,
                                  st->params + st->dir_off[l * D + d],
                                  st->frozen ? st->wpk + st->wpk_off[l * D + d] : NULL, st->pack,
                                  st->threads);
        }
        if (dropout && !top) {
            /* the mask drawn in [T][B] order whatever the row order */
            const float p = st->cfg.dropout, scale = 1.0f / (1.0f - p);
            float *m = st->mask[l];
            for (int t = 0; t < T; t++)
                for (int b = 0; b < B; b++) {
                    const size_t o = rnn__row(rl, t, b) * DH;
                    for (int j = 0; j < DH; j++) {
                        m[o + j] = rnn__rng_float(&st->rng) < p ? 0.0f : scale;
                        out[o + j] *= m[o + j];
                    }
                }
        }
        float *states = st->cache[l * D] + rnn__rec_states_offset(st->cfg.cell, T, B, H);
        if (view && top) { /* plain order: slot 1 on */
            st->yv[l] = states + (size_t)B * H;
            st->yvl[l] = pl;
        } else if (view) {
            st->yv[l] = states;
            st->yvl[l] = vl;
        } else {
            st->yv[l] = out;
            st->yvl[l] = *outl;
        }
        in = st->yv[l];
        inl = &st->yvl[l];
        I = DH;
    }
    if (yout)
        *yout = st->yv[L - 1];
    st->T = T;
    st->B = B;
    st->has_lengths = lengths != NULL;
    st->ids = ids;
    st->used_dropout = dropout;
    st->have_cache = training != 0;
    return RNN_OK;
}

rnn_status rnn__stack_backward(rnn__stack *st, float *dx, float *dh0,
                               float *dc0, const float *dy, const float *dhn,
                               const float *dcn, rnn_error *err)
{
    if (!st->have_cache)
        return rnn__fail(err, RNN_ESTATE,
                         "backward needs a training forward first (and one per backward)");
    st->have_cache = 0;
    const int L = st->L, D = st->D, H = st->H, DH = D * H;
    const int T = st->T, B = st->B;
    const int lstm = st->cfg.cell == RNN_CELL_LSTM;
    const int32_t *lens = st->has_lengths ? st->lengths : NULL;
    const size_t seq = (size_t)T * B * DH;

    rnn__rows pl;
    rnn__rows_make(&pl, 1, B, T, 0);
    const rnn__rows *rl = &st->rl;
    /* the first layer's dense input gradient: blocked, then copied out */
    const int dx_copy = dx && !st->ids && rl->n > 1;

    const float *up = dy; /* gradient of this layer's output */
    const rnn__rows *upl = &pl;
    for (int l = L - 1; l >= 0; l--) {
        float *down = l ? st->dbuf[l & 1] : dx_copy ? st->dxb : dx;
        const rnn__rows *downl = l || dx_copy ? rl : &pl;
        const float *in = l == 0 ? st->x : st->yv[l - 1];
        const rnn__rows *inl = l == 0 ? (st->ids ? rl : st->x == st->xb ? rl : &pl)
                                      : &st->yvl[l - 1];
        int I = l == 0 ? st->I : DH;
        for (int d = 0; d < D; d++) {
            const int32_t *ids = l ? NULL : st->ids;
            rnn__rec_backward_rows(st->cfg.cell, T, B, I, H, d, lens, down, downl, d > 0 || ids,
                                   state_out(dh0, l, d, st, B),
                                   lstm ? state_out(dc0, l, d, st, B) : NULL,
                                   st->grads + st->dir_off[l * D + d], st->cache[l * D + d],
                                   st->scratch, in, inl, ids, st->lookup_V,
                                   st->params + st->dir_off[l * D + d],
                                   up ? up + (size_t)d * H : NULL, DH, upl,
                                   state_at(dhn, l, d, st, B),
                                   lstm ? state_at(dcn, l, d, st, B) : NULL, st->pack,
                                   st->gradflow ? st->gradflow + (size_t)(l * D + d) * T : NULL,
                                   st->threads);
        }
        if (l > 0 && st->used_dropout) {
            const float *m = st->mask[l - 1];
            for (size_t i = 0; i < seq; i++)
                down[i] *= m[i];
        }
        up = down;
        upl = downl;
    }
    if (dx_copy)
        rnn__rows_copy(dx, &pl, st->dxb, rl, T, B, st->I);
    return RNN_OK;
}

/* ---- initialisation ---------------------------------------------------- */

/* Fills a rows x cols block (leading dimension ld) with an orthogonal
 * matrix: orthonormal columns if rows >= cols, else orthonormal rows.
 * Modified Gram-Schmidt on a Gaussian matrix, in double. */
static rnn_status orthogonal(float *w, int rows, int cols, int ld,
                             rnn__rng *rng)
{
    int tall = rows >= cols;
    int n = tall ? rows : cols, k = tall ? cols : rows; /* k vectors of length n */
    double *q = rnn__calloc((size_t)n * k, sizeof *q);
    if (!q)
        return RNN_ENOMEM;
    for (int v = 0; v < k; v++) {
        double *qv = q + (size_t)v * n;
        double norm;
        do {
            for (int i = 0; i < n; i++)
                qv[i] = rnn__rng_normal(rng);
            for (int u = 0; u < v; u++) {
                const double *qu = q + (size_t)u * n;
                double dot = 0;
                for (int i = 0; i < n; i++)
                    dot += qu[i] * qv[i];
                for (int i = 0; i < n; i++)
                    qv[i] -= dot * qu[i];
            }
            norm = 0;
            for (int i = 0; i < n; i++)
                norm += qv[i] * qv[i];
            norm = sqrt(norm);
        } while (norm < 1e-6);
        for (int i = 0; i < n; i++)
            qv[i] /= norm;
    }
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++)
            w[(size_t)r * ld + c] =
                (float)(tall ? q[(size_t)c * n + r] : q[(size_t)r * n + c]);
    rnn__free(q);
    return RNN_OK;
}

static void uniform(float *w, size_t n, double bound, rnn__rng *rng)
{
    for (size_t i = 0; i < n; i++)
        w[i] = (float)((2.0 * rnn__rng_double(rng) - 1.0) * bound);
}

rnn_status rnn__stack_init_params(rnn__stack *st, const rnn_init_options *opts,
                                  rnn__rng *rng, rnn_error *err)
{
    rnn_init_options def = {RNN_INIT_PYTORCH, RNN_INIT_PYTORCH, 0, 0, 0.0f};
    if (!opts)
        opts = &def;
    const double k = 1.0 / sqrt((double)st->H);
    for (size_t i = 0; i < st->ntensors; i++) {
        const rnn__tensor_info *t = &st->tensors[i];
        float *w = st->params + t->offset;
        int kind = (int)(i % 4); /* weight_ih, weight_hh, bias_ih, bias_hh */
        if (kind >= 2) {
            if (opts->zero_biases)
                memset(w, 0, t->numel * sizeof *w);
            else
                uniform(w, t->numel, k, rng);
            if (opts->set_forget_bias && st->cfg.cell == RNN_CELL_LSTM) {
                for (int j = 0; j < st->H; j++)
                    w[st->H + j] = kind == 2 ? opts->forget_bias : 0.0f;
            }
            continue;
        }
        rnn_init scheme = kind == 0 ? opts->input_weights : opts->recurrent_weights;
        int rows = (int)t->shape[0], cols = (int)t->shape[1];
        switch (scheme) {
        case RNN_INIT_PYTORCH:
            uniform(w, t->numel, k, rng);
            break;
        case RNN_INIT_XAVIER:
            uniform(w, t->numel, sqrt(6.0 / (rows + cols)), rng);
            break;
        case RNN_INIT_ORTHOGONAL:
            /* one orthogonal matrix per gate block */
            for (int g = 0; g < st->G; g++)
                if (orthogonal(w + (size_t)g * st->H * cols, st->H, cols, cols, rng))
                    return rnn__fail(err, RNN_ENOMEM, "out of memory");
            break;
        case RNN_INIT_IDENTITY:
            /* each gate block square: the identity (a [G*H][I] input
             * matrix gets ones on each block's diagonal) */
            memset(w, 0, t->numel * sizeof *w);
            for (int g = 0; g < st->G; g++)
                for (int j = 0; j < st->H && j < cols; j++)
                    w[((size_t)g * st->H + j) * cols + j] = 1.0f;
            break;
        default:
            return rnn__fail(err, RNN_EINVAL, "unknown init scheme %d", (int)scheme);
        }
    }
    return RNN_OK;
}
