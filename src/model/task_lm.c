/*
 * task_lm.c -- the language-model task: truncated backpropagation through
 * time over B parallel streams of a token sequence (char-rnn).
 *
 * The training ids are cut into B contiguous streams of S = (n-1)/B tokens
 * (+1 for the last target). Step k of an epoch trains on inputs
 * x[t][b] = stream_b[k*T + t] and targets stream_b[k*T + t + 1]; an epoch
 * has S/T steps (the remainder is dropped). The recurrent state starts at
 * zero at every epoch and is carried, detached, from step to step.
 * Validation uses its own streams and state, so it never disturbs training:
 * a run that is saved, stopped and resumed continues bitwise identically.
 */
#include "model/trainer.h"

#include "layers/layers.h"

#include <math.h>
#include <string.h>

typedef struct lm_data {
    const int32_t *train, *val;
    size_t ntrain, nval, S;
    int T, B, V;
    float *h, *c, *hn, *cn; /* [D*L][B][H] carried state and its update */
    float *vh, *vc;         /* validation state */
    int32_t *x, *y;         /* [T][B] */
    float *logits;          /* [T*B][V] */
    double *row_loss;       /* [T*B] */
} lm_data;

static void lm_free(void *p)
{
    lm_data *d = p;
    if (!d)
        return;
    rnn__free_floats(d->h);
    rnn__free_floats(d->c);
    rnn__free_floats(d->hn);
    rnn__free_floats(d->cn);
    rnn__free_floats(d->vh);
    rnn__free_floats(d->vc);
    rnn__free(d->x);
    rnn__free(d->y);
    rnn__free_floats(d->logits);
    rnn__free(d->row_loss);
    rnn__free(d);
}

static void lm_epoch_start(rnn_trainer *t)
{
    lm_data *d = t->data;
    size_t ns = rnn_model_state_size(t->m, d->B);
    memset(d->h, 0, ns * sizeof *d->h);
    memset(d->c, 0, ns * sizeof *d->c);
}

static rnn_status lm_forward_backward(rnn_trainer *t, double *loss)
{
    lm_data *d = t->data;
    rnn_model *m = t->m;
    const int T = d->T, B = d->B, lstm = m->cfg.cell == RNN_CELL_LSTM;
    for (int b = 0; b < B; b++) {
        const int32_t *s = d->train + (size_t)b * d->S + (size_t)t->batch * T;
        for (int k = 0; k < T; k++) {
            d->x[k * B + b] = s[k];
            d->y[k * B + b] = s[k + 1];
        }
    }
    rnn_status st = rnn_model_forward(m, d->logits, d->hn, lstm ? d->cn : NULL, d->x, NULL, d->h,
                                      lstm ? d->c : NULL, NULL, T, B, 1);
    if (st)
        return rnn__fail(&t->err, st, "%s", m->err.msg);
    const int N = T * B;
    *loss = rnn__softmax_xent(d->logits, d->logits, d->y, N, d->V, 1.0f / (float)N, NULL,
                              d->row_loss, m->stack.threads) / N;
    st = rnn_model_backward(m, NULL, d->logits, NULL, NULL);
    return st ? rnn__fail(&t->err, st, "%s", m->err.msg) : RNN_OK;
}

static void lm_after_step(rnn_trainer *t)
{
    lm_data *d = t->data; /* carry the state: swap instead of copying */
    float *tmp = d->h;
    d->h = d->hn;
    d->hn = tmp;
    tmp = d->c;
    d->c = d->cn;
    d->cn = tmp;
}

/* Mean cross-entropy of ids[n] read as Bs streams of S predictions, in
 * chunks of up to T steps, state carried. Shared by validation and eval. */
static rnn_status stream_loss(rnn_model *m, const int32_t *ids, size_t n, int T, int Bmax,
                              float *logits, int32_t *x, int32_t *y, float *h, float *c,
                              float *hn, float *cn, double *row_loss, double *out, rnn_error *err)
{
    *out = NAN;
    if (n < 2)
        return rnn__fail(err, RNN_EINVAL, "need at least 2 tokens to evaluate, got %zu", n);
    size_t bs = (n - 1) / (size_t)T;
    int Bs = (int)(bs < 1 ? 1 : bs > (size_t)Bmax ? (size_t)Bmax : bs);
    size_t S = (n - 1) / (size_t)Bs;
    const int lstm = m->cfg.cell == RNN_CELL_LSTM;
    size_t ns = rnn_model_state_size(m, Bs);
    memset(h, 0, ns * sizeof *h);
    memset(c, 0, ns * sizeof *c);
    double total = 0;
    size_t count = 0;
    for (size_t p = 0; p < S; p += (size_t)T) {
        int Tc = (int)(S - p < (size_t)T ? S - p : (size_t)T);
        for (int b = 0; b < Bs; b++)
            for (int k = 0; k < Tc; k++) {
                x[k * Bs + b] = ids[(size_t)b * S + p + k];
                y[k * Bs + b] = ids[(size_t)b * S + p + k + 1];
            }
        rnn_status st = rnn_model_forward(m, logits, hn, lstm ? cn : NULL, x, NULL, h,
                                          lstm ? c : NULL, NULL, Tc, Bs, 0);
        if (st)
            return rnn__fail(err, st, "%s", m->err.msg);
        size_t used;
        total += rnn__softmax_xent(NULL, logits, y, Tc * Bs, m->cfg.vocab_size, 1.0f, &used,
                                   row_loss, m->stack.threads);
        count += used;
        memcpy(h, hn, ns * sizeof *h);
        if (lstm)
            memcpy(c, cn, ns * sizeof *c);
    }
    *out = total / (double)count;
    return RNN_OK;
}

static rnn_status lm_evaluate(rnn_trainer *t, double *loss)
{
    lm_data *d = t->data;
    return stream_loss(t->m, d->val, d->nval, d->T, d->B, d->logits, d->x, d->y, d->vh, d->vc,
                       d->hn, d->cn, d->row_loss, loss, &t->err);
}

static size_t lm_save_extra(rnn_trainer *t, rnn__st_entry *out)
{
    lm_data *d = t->data;
    rnn_model *m = t->m;
    const int64_t DL = (int64_t)m->D * m->cfg.num_layers;
    size_t n = 0;
    out[n++] = (rnn__st_entry){"train.h", RNN__F32, 3, {DL, d->B, m->H}, d->h};
    if (m->cfg.cell == RNN_CELL_LSTM)
        out[n++] = (rnn__st_entry){"train.c", RNN__F32, 3, {DL, d->B, m->H}, d->c};
    return n;
}

static rnn_status lm_restore_extra(rnn_trainer *t, const rnn__st *f, const char *path)
{
    lm_data *d = t->data;
    size_t ns = rnn_model_state_size(t->m, d->B);
    rnn_status st = rnn__copy_state(f, path, "train.h", d->h, ns, &t->err);
    if (!st && t->m->cfg.cell == RNN_CELL_LSTM)
        st = rnn__copy_state(f, path, "train.c", d->c, ns, &t->err);
    return st;
}

static uint64_t lm_data_hash(const rnn_trainer *t)
{
    const lm_data *d = t->data;
    uint64_t h = rnn__fnv1a(0xcbf29ce484222325ull, d->train, d->ntrain * sizeof *d->train);
    return rnn__fnv1a(h ^ d->nval, d->val, d->nval * sizeof *d->val);
}

static const rnn__task lm_task = {
    "lm", lm_epoch_start, lm_forward_backward, lm_after_step, lm_evaluate,
    lm_save_extra, lm_restore_extra, lm_data_hash, lm_free,
};

rnn_status rnn_lm_trainer_new(rnn_trainer **out, rnn_model *m, const rnn_train_options *o,
                              const int32_t *train, size_t ntrain, const int32_t *val,
                              size_t nval, rnn_error *err)
{
    *out = NULL;
    const rnn_model_config *c = &m->cfg;
    if (c->vocab_size < 1 || c->output_size != c->vocab_size)
        return rnn__fail(err, RNN_EINVAL,
                         "a language model needs token input and output_size = vocab_size");
    if (c->bidirectional)
        return rnn__fail(err, RNN_EINVAL,
                         "a language model cannot be bidirectional (it would see the future)");
    rnn_status st = rnn__check_options(o, err);
    if (st)
        return st;
    size_t S = ntrain > 1 ? (ntrain - 1) / (size_t)o->batch : 0;
    if (S < (size_t)o->seq_len)
        return rnn__fail(err, RNN_EINVAL,
                         "training text too short: %zu tokens in %d streams of %zu, fewer than "
                         "one sequence of %d (use a smaller --batch or --seq-len)",
                         ntrain, o->batch, S, o->seq_len);
    for (size_t i = 0; i < ntrain; i++)
        if (train[i] < 0 || train[i] >= c->vocab_size)
            return rnn__fail(err, RNN_EINVAL, "training token %zu = %d is outside the vocabulary",
                             i, train[i]);
    for (size_t i = 0; i < nval; i++)
        if (val[i] < 0 || val[i] >= c->vocab_size)
            return rnn__fail(err, RNN_EINVAL, "validation token %zu = %d is outside the vocabulary",
                             i, val[i]);
    lm_data *d = rnn__calloc(1, sizeof *d);
    if (!d)
        return rnn__fail(err, RNN_ENOMEM, "out of memory");
    d->train = train;
    d->val = val;
    d->ntrain = ntrain;
    d->nval = nval;
    d->S = S;
    d->T = o->seq_len;
    d->B = o->batch;
    d->V = c->vocab_size;
    size_t ns = rnn_model_state_size(m, d->B), tb = (size_t)d->T * d->B, nl;
    d->h = rnn__alloc_floats(ns);
    d->c = rnn__alloc_floats(ns);
    d->hn = rnn__alloc_floats(ns);
    d->cn = rnn__alloc_floats(ns);
    d->vh = rnn__alloc_floats(ns);
    d->vc = rnn__alloc_floats(ns);
    d->x = rnn__malloc(tb * sizeof *d->x);
    d->y = rnn__malloc(tb * sizeof *d->y);
    d->logits = rnn__mul(&nl, tb, (size_t)d->V) ? rnn__alloc_floats(nl) : NULL;
    d->row_loss = rnn__malloc(tb * sizeof *d->row_loss);
    if (!d->h || !d->c || !d->hn || !d->cn || !d->vh || !d->vc || !d->x || !d->y || !d->logits ||
        !d->row_loss) {
        lm_free(d);
        return rnn__fail(err, RNN_ENOMEM, "out of memory for the training buffers");
    }
    st = rnn_model_reserve(m, d->T, d->B);
    if (st) {
        rnn__fail(err, st, "%s", m->err.msg);
        lm_free(d);
        return st;
    }
    return rnn__trainer_new(out, m, o, &lm_task, d, (int64_t)(S / (size_t)o->seq_len),
                            (int64_t)o->seq_len * o->batch, err);
}

rnn_status rnn_lm_evaluate(rnn_model *m, const int32_t *ids, size_t n, int chunk,
                           int max_streams, double *loss, size_t *predicted, rnn_error *err)
{
    if (m->cfg.vocab_size < 1 || m->cfg.output_size != m->cfg.vocab_size)
        return rnn__fail(err, RNN_EINVAL, "not a language model");
    if (chunk < 1 || max_streams < 1)
        return rnn__fail(err, RNN_EINVAL, "chunk and max_streams must be positive");
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= m->cfg.vocab_size)
            return rnn__fail(err, RNN_EINVAL, "token %zu = %d is outside the vocabulary", i, ids[i]);
    size_t bs = n > 1 ? (n - 1) / (size_t)chunk : 1;
    int B = (int)(bs < 1 ? 1 : bs > (size_t)max_streams ? (size_t)max_streams : bs);
    size_t tb = (size_t)chunk * B, ns = rnn_model_state_size(m, B), nl;
    if (!rnn__mul(&nl, tb, (size_t)m->cfg.vocab_size))
        return rnn__fail(err, RNN_EOVERFLOW, "chunk too large");
    float *logits = rnn__alloc_floats(nl), *h = rnn__alloc_floats(ns), *c = rnn__alloc_floats(ns);
    float *hn = rnn__alloc_floats(ns), *cn = rnn__alloc_floats(ns);
    int32_t *x = rnn__malloc(tb * sizeof *x), *y = rnn__malloc(tb * sizeof *y);
    double *rl = rnn__malloc(tb * sizeof *rl);
    rnn_status st;
    if (!logits || !h || !c || !hn || !cn || !x || !y || !rl)
        st = rnn__fail(err, RNN_ENOMEM, "out of memory");
    else
        st = stream_loss(m, ids, n, chunk, B, logits, x, y, h, c, hn, cn, rl, loss, err);
    if (predicted)
        *predicted = st ? 0 : (n - 1) / (size_t)B * (size_t)B;
    rnn__free_floats(logits);
    rnn__free_floats(h);
    rnn__free_floats(c);
    rnn__free_floats(hn);
    rnn__free_floats(cn);
    rnn__free(x);
    rnn__free(y);
    rnn__free(rl);
    return st;
}
