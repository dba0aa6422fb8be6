/*
 * task_seq.c -- supervised sequences: a dataset of n sequences (tokens or
 * features, variable lengths, an optional condition each) with class or
 * value targets per sequence (pooled readouts) or per step (STEPS readout).
 *
 * Every epoch visits the sequences in a fresh random order that depends only
 * on the seed and the epoch number, so no shuffling state has to be saved:
 * a resumed run draws the same order. Batches are as long as their longest
 * sequence; the model's packed-sequence semantics ignore the padding.
 *
 * Losses are means, as PyTorch's defaults: over the sequences (pooled
 * cross-entropy), the valid targets (per-step cross-entropy), or the target
 * elements (regression).
 */
#include "model/trainer.h"

#include "layers/layers.h"

#include <math.h>
#include <string.h>

typedef struct seq_data {
    rnn_dataset train, val;
    int has_val;
    rnn_loss loss;
    int B, O, I, steps; /* steps: targets per step (RNN_READOUT_STEPS) */
    int32_t *perm;       /* [n] the order of epoch perm_epoch */
    int64_t perm_epoch;  /* -1: not drawn yet (also after a restore) */
    /* one batch, time-major */
    int32_t *tokens, *lengths, *cond, *labels; /* [T][B], [B], [B], [T][B] or [B] */
    float *x, *y;                              /* [T][B][I], [T][B][O] or [B][O] */
    float *out;                                /* [T][B][O] or [B][O] */
    uint8_t *mask;                             /* [T][B] valid steps */
    double *row_loss;
} seq_data;

static int max_len(const rnn_dataset *d) { return d->T; }

static void seq_free(void *p)
{
    seq_data *d = p;
    if (!d)
        return;
    rnn__free(d->perm);
    rnn__free(d->tokens);
    rnn__free(d->lengths);
    rnn__free(d->cond);
    rnn__free(d->labels);
    rnn__free_floats(d->x);
    rnn__free_floats(d->y);
    rnn__free_floats(d->out);
    rnn__free(d->mask);
    rnn__free(d->row_loss);
    rnn__free(d);
}

static int length_of(const rnn_dataset *d, int i) { return d->lengths ? d->lengths[i] : d->T; }

int rnn__seq_gather(const rnn__seq_batch *s, const rnn_dataset *ds, const int32_t *idx, int B)
{
    int T = 1;
    for (int b = 0; b < B; b++) {
        int len = length_of(ds, idx[b]);
        T = len > T ? len : T;
    }
    const int O = s->O, I = s->I, Td = ds->T;
    for (int b = 0; b < B; b++) {
        const int i = idx[b], len = length_of(ds, i);
        s->lengths[b] = len;
        if (s->cond)
            s->cond[b] = ds->cond ? ds->cond[i] : 0;
        for (int t = 0; t < T; t++) {
            const size_t r = (size_t)t * B + b, src = (size_t)i * Td + (size_t)(t < Td ? t : 0);
            const int valid = t < len;
            s->mask[r] = (uint8_t)valid;
            if (s->tokens)
                s->tokens[r] = valid ? ds->tokens[src] : 0;
            else if (valid)
                memcpy(s->x + r * I, ds->x + src * I, sizeof(float) * (size_t)I);
            else
                memset(s->x + r * I, 0, sizeof(float) * (size_t)I);
            if (!s->steps)
                continue;
            if (s->loss == RNN_LOSS_XENT)
                s->labels[r] = valid ? ds->labels[src] : -1;
            else if (valid)
                memcpy(s->y + r * O, ds->y + src * O, sizeof(float) * (size_t)O);
            else
                memset(s->y + r * O, 0, sizeof(float) * (size_t)O);
        }
        if (!s->steps) {
            if (s->loss == RNN_LOSS_XENT)
                s->labels[b] = ds->labels[i];
            else
                memcpy(s->y + (size_t)b * O, ds->y + (size_t)i * O, sizeof(float) * (size_t)O);
        }
    }
    return T;
}

double rnn__seq_loss(const rnn__seq_batch *s, float *dout, int T, int B, size_t *count,
                     int threads)
{
    const int O = s->O, rows = s->steps ? T * B : B;
    size_t n = 0;
    if (s->loss == RNN_LOSS_XENT) {
        for (int r = 0; r < rows; r++)
            n += s->labels[r] >= 0 && s->labels[r] < O;
        *count = n;
        return rnn__softmax_xent(dout, s->out, s->labels, rows, O, n ? 1.0f / (float)n : 0.0f,
                                 NULL, s->row_loss, threads);
    }
    for (int r = 0; r < rows; r++)
        n += s->steps ? s->mask[r] : 1;
    n *= (size_t)O;
    *count = n;
    return rnn__regression_loss(dout, s->out, s->y, s->steps ? s->mask : NULL, rows, O,
                                (int)s->loss, n ? 1.0f / (float)n : 0.0f, NULL);
}

/* This task's batch buffers as an rnn__seq_batch. */
static rnn__seq_batch batch_of(const seq_data *s, const rnn_model *m)
{
    return (rnn__seq_batch){.loss = s->loss, .O = s->O, .I = s->I, .steps = s->steps,
                            .tokens = m->cfg.vocab_size > 0 ? s->tokens : NULL, .cond = s->cond,
                            .lengths = s->lengths, .labels = s->labels, .x = s->x, .y = s->y,
                            .out = s->out, .mask = s->mask, .row_loss = s->row_loss};
}

/* The order of epoch t->epoch: a function of the seed and the epoch only. */
static void draw_order(rnn_trainer *t)
{
    seq_data *s = t->data;
    const int n = s->train.n;
    s->perm_epoch = t->epoch;
    rnn__rng r;
    rnn__rng_seed(&r, t->o.seed * 0x9E3779B97F4A7C15ull ^ (uint64_t)t->epoch ^ 0x5e9u);
    rnn__rng_permutation(&r, s->perm, n);
}

static void seq_epoch_start(rnn_trainer *t) { draw_order(t); }

static rnn_status seq_forward_backward(rnn_trainer *t, double *loss)
{
    seq_data *s = t->data;
    rnn_model *m = t->m;
    if (s->perm_epoch != t->epoch) /* a restored trainer starts mid-epoch */
        draw_order(t);
    const int lo = (int)(t->batch * s->B);
    const int B = s->train.n - lo < s->B ? s->train.n - lo : s->B;
    const rnn__seq_batch sb = batch_of(s, m);
    const int T = rnn__seq_gather(&sb, &s->train, s->perm + lo, B);
    rnn_batch bt = {T, B, m->cfg.vocab_size > 0 ? s->tokens : NULL,
                    m->cfg.vocab_size > 0 ? NULL : s->x, s->lengths, s->cond, NULL, NULL};
    rnn_status st = rnn_model_forward_batch(m, s->out, NULL, NULL, &bt, 1);
    if (st)
        return rnn__fail(&t->err, st, "%s", m->err.msg);
    size_t count;
    double sum = rnn__seq_loss(&sb, s->out, T, B, &count, m->stack.threads); /* the gradient over out */
    *loss = count ? sum / (double)count : 0.0;
    st = rnn_model_backward(m, NULL, s->out, NULL, NULL);
    return st ? rnn__fail(&t->err, st, "%s", m->err.msg) : RNN_OK;
}

static rnn_status seq_evaluate(rnn_trainer *t, double *loss)
{
    seq_data *s = t->data;
    rnn_model *m = t->m;
    *loss = NAN;
    if (!s->has_val)
        return rnn__fail(&t->err, RNN_EINVAL, "no validation data");
    const rnn__seq_batch sb = batch_of(s, m);
    double sum = 0;
    size_t total = 0;
    int32_t idx[4096];
    for (int lo = 0; lo < s->val.n; lo += s->B) {
        const int B = s->val.n - lo < s->B ? s->val.n - lo : s->B;
        for (int b = 0; b < B; b++)
            idx[b] = lo + b;
        const int T = rnn__seq_gather(&sb, &s->val, idx, B);
        rnn_batch bt = {T, B, m->cfg.vocab_size > 0 ? s->tokens : NULL,
                        m->cfg.vocab_size > 0 ? NULL : s->x, s->lengths, s->cond, NULL, NULL};
        rnn_status st = rnn_model_forward_batch(m, s->out, NULL, NULL, &bt, 0);
        if (st)
            return rnn__fail(&t->err, st, "%s", m->err.msg);
        size_t count;
        sum += rnn__seq_loss(&sb, NULL, T, B, &count, m->stack.threads);
        total += count;
    }
    *loss = total ? sum / (double)total : NAN;
    return RNN_OK;
}

static size_t seq_save_extra(rnn_trainer *t, rnn__st_entry *out)
{
    (void)t; /* the order is recomputed from the seed and the epoch */
    (void)out;
    return 0;
}

static rnn_status seq_restore_extra(rnn_trainer *t, const rnn__st *f, const char *path)
{
    (void)t;
    (void)f;
    (void)path;
    return RNN_OK;
}

static uint64_t hash_dataset(uint64_t h, const rnn_dataset *d, const rnn_model *m, int O,
                             int steps, rnn_loss loss)
{
    const size_t n = (size_t)d->n, T = (size_t)d->T, per = steps ? n * T : n;
    h = rnn__fnv1a(h, &d->n, sizeof d->n);
    h = rnn__fnv1a(h, &d->T, sizeof d->T);
    if (d->lengths)
        h = rnn__fnv1a(h, d->lengths, n * sizeof *d->lengths);
    if (m->cfg.vocab_size > 0)
        h = rnn__fnv1a(h, d->tokens, n * T * sizeof *d->tokens);
    else
        h = rnn__fnv1a(h, d->x, n * T * (size_t)m->cfg.input_size * sizeof *d->x);
    if (d->cond)
        h = rnn__fnv1a(h, d->cond, n * sizeof *d->cond);
    if (loss == RNN_LOSS_XENT)
        return rnn__fnv1a(h, d->labels, per * sizeof *d->labels);
    return rnn__fnv1a(h, d->y, per * (size_t)O * sizeof *d->y);
}

static uint64_t seq_data_hash(const rnn_trainer *t)
{
    const seq_data *s = t->data;
    uint64_t h = hash_dataset(0xcbf29ce484222325ull, &s->train, t->m, s->O, s->steps, s->loss);
    return s->has_val ? hash_dataset(h, &s->val, t->m, s->O, s->steps, s->loss) : h;
}

static const rnn__task seq_task = {
    "seq", seq_epoch_start, seq_forward_backward, NULL, seq_evaluate,
    seq_save_extra, seq_restore_extra, seq_data_hash, seq_free,
};

/* Checks a dataset against a model and loss; messages name `what`. */
static rnn_status check_dataset(const rnn_dataset *d, const rnn_model *m, rnn_loss loss,
                                const char *what, rnn_error *err)
{
    const rnn_model_config *c = &m->cfg;
    const int steps = c->readout == RNN_READOUT_STEPS;
    if (d->n < 1 || d->T < 1)
        return rnn__fail(err, RNN_EINVAL, "%s: no sequences (n %d, T %d)", what, d->n, d->T);
    if ((c->vocab_size > 0 && !d->tokens) || (c->vocab_size == 0 && !d->x))
        return rnn__fail(err, RNN_EINVAL, "%s: the model reads %s", what,
                         c->vocab_size > 0 ? "tokens" : "features");
    if (c->cond_classes > 0 && !d->cond)
        return rnn__fail(err, RNN_EINVAL, "%s: the model needs a condition per sequence", what);
    if ((loss == RNN_LOSS_XENT && !d->labels) || (loss != RNN_LOSS_XENT && !d->y))
        return rnn__fail(err, RNN_EINVAL, "%s: targets missing for this loss", what);
    for (int i = 0; i < d->n; i++) {
        int len = length_of(d, i);
        if (len < 1 || len > d->T)
            return rnn__fail(err, RNN_EINVAL, "%s: sequence %d has length %d, outside 1..%d", what,
                             i, len, d->T);
        if (d->cond && (d->cond[i] < 0 || d->cond[i] >= c->cond_classes))
            return rnn__fail(err, RNN_EINVAL, "%s: sequence %d: condition %d outside 0..%d", what, i,
                             d->cond[i], c->cond_classes - 1);
        for (int t = 0; t < len && c->vocab_size > 0; t++) {
            int32_t v = d->tokens[(size_t)i * d->T + t];
            if (v < 0 || v >= c->vocab_size)
                return rnn__fail(err, RNN_EINVAL, "%s: sequence %d step %d: token %d outside 0..%d",
                                 what, i, t, v, c->vocab_size - 1);
        }
        if (loss == RNN_LOSS_XENT)
            for (int t = 0; t < (steps ? len : 1); t++) {
                int32_t l = d->labels[(size_t)i * (steps ? d->T : 1) + t];
                if (l >= c->output_size || (l < 0 && !steps))
                    return rnn__fail(err, RNN_EINVAL, "%s: sequence %d: label %d outside 0..%d",
                                     what, i, l, c->output_size - 1);
            }
    }
    return RNN_OK;
}

rnn_status rnn_seq_trainer_new(rnn_trainer **out, rnn_model *m, const rnn_train_options *o,
                               rnn_loss loss, const rnn_dataset *train, const rnn_dataset *val,
                               rnn_error *err)
{
    *out = NULL;
    rnn_train_options oo;
    rnn_status st = rnn__check_seq_options(o, loss, &oo, err);
    if (!st)
        st = check_dataset(train, m, loss, "training data", err);
    if (!st && val)
        st = check_dataset(val, m, loss, "validation data", err);
    if (st)
        return st;
    seq_data *s = rnn__calloc(1, sizeof *s);
    if (!s)
        return rnn__fail(err, RNN_ENOMEM, "out of memory");
    s->train = *train;
    s->has_val = val != NULL;
    if (val)
        s->val = *val;
    s->loss = loss;
    s->perm_epoch = -1;
    s->B = o->batch;
    s->O = m->cfg.output_size;
    s->I = m->cfg.vocab_size > 0 ? 0 : m->cfg.input_size;
    s->steps = m->cfg.readout == RNN_READOUT_STEPS;
    int T = max_len(train);
    if (val && max_len(val) > T)
        T = max_len(val);
    const size_t B = (size_t)s->B, tb = (size_t)T * B, rows = s->steps ? tb : B;
    s->perm = rnn__malloc((size_t)train->n * sizeof *s->perm);
    s->lengths = rnn__malloc(B * sizeof *s->lengths);
    s->cond = m->cfg.cond_classes > 0 ? rnn__malloc(B * sizeof *s->cond) : NULL;
    s->mask = rnn__malloc(tb);
    s->tokens = m->cfg.vocab_size > 0 ? rnn__malloc(tb * sizeof *s->tokens) : NULL;
    s->x = s->I ? rnn__alloc_floats(tb * (size_t)s->I) : NULL;
    s->labels = loss == RNN_LOSS_XENT ? rnn__malloc(rows * sizeof *s->labels) : NULL;
    s->y = loss != RNN_LOSS_XENT ? rnn__alloc_floats(rows * (size_t)s->O) : NULL;
    s->out = rnn__alloc_floats(rows * (size_t)s->O);
    s->row_loss = rnn__malloc(rows * sizeof *s->row_loss);
    if (!s->perm || !s->lengths || (m->cfg.cond_classes > 0 && !s->cond) || !s->mask ||
        (m->cfg.vocab_size > 0 && !s->tokens) || (s->I && !s->x) ||
        (loss == RNN_LOSS_XENT && !s->labels) || (loss != RNN_LOSS_XENT && !s->y) || !s->out ||
        !s->row_loss) {
        seq_free(s);
        return rnn__fail(err, RNN_ENOMEM, "out of memory for the batch buffers");
    }
    st = rnn_model_reserve(m, T, s->B);
    if (st) {
        rnn__fail(err, st, "%s", m->err.msg);
        seq_free(s);
        return st;
    }
    int64_t bpe = (train->n + s->B - 1) / s->B;
    return rnn__trainer_new(out, m, &oo, &seq_task, s, bpe, (int64_t)s->B * T, err);
}

rnn_status rnn_model_predict(rnn_model *m, float *out, const rnn_dataset *d, int batch,
                             rnn_error *err)
{
    const rnn_model_config *c = &m->cfg;
    if (batch < 1 || batch > 4096)
        return rnn__fail(err, RNN_EINVAL, "batch must be in 1..4096, not %d", batch);
    if (d->n < 1 || d->T < 1 || (c->vocab_size > 0 && !d->tokens) || (c->vocab_size == 0 && !d->x) ||
        (c->cond_classes > 0 && !d->cond))
        return rnn__fail(err, RNN_EINVAL, "dataset does not fit the model");
    const int O = c->output_size, steps = c->readout == RNN_READOUT_STEPS, T = d->T;
    const int I = c->vocab_size > 0 ? 0 : c->input_size;
    const size_t B = (size_t)batch, tb = (size_t)T * B;
    int32_t *tok = c->vocab_size > 0 ? rnn__malloc(tb * sizeof *tok) : NULL;
    float *x = I ? rnn__alloc_floats(tb * (size_t)I) : NULL;
    float *o = rnn__alloc_floats((steps ? tb : B) * (size_t)O);
    int32_t *lens = rnn__malloc(B * sizeof *lens), *cond = rnn__malloc(B * sizeof *cond);
    rnn_status st = RNN_OK;
    if ((c->vocab_size > 0 && !tok) || (I && !x) || !o || !lens || !cond) {
        st = rnn__fail(err, RNN_ENOMEM, "out of memory");
        goto out;
    }
    for (int lo = 0; lo < d->n && !st; lo += batch) {
        const int Bk = d->n - lo < batch ? d->n - lo : batch;
        int Tk = 1;
        for (int b = 0; b < Bk; b++) {
            lens[b] = length_of(d, lo + b);
            if (lens[b] < 1 || lens[b] > T) {
                st = rnn__fail(err, RNN_EINVAL, "sequence %d has length %d, outside 1..%d", lo + b,
                               lens[b], T);
                goto out;
            }
            Tk = lens[b] > Tk ? lens[b] : Tk;
            cond[b] = d->cond ? d->cond[lo + b] : 0;
        }
        for (int t = 0; t < Tk; t++)
            for (int b = 0; b < Bk; b++) {
                const size_t r = (size_t)t * Bk + b, src = (size_t)(lo + b) * T + t;
                if (tok)
                    tok[r] = t < lens[b] ? d->tokens[src] : 0;
                if (x) {
                    if (t < lens[b])
                        memcpy(x + r * I, d->x + src * I, sizeof(float) * (size_t)I);
                    else
                        memset(x + r * I, 0, sizeof(float) * (size_t)I);
                }
            }
        rnn_batch bt = {Tk, Bk, tok, x, lens, d->cond ? cond : NULL, NULL, NULL};
        st = rnn_model_forward_batch(m, o, NULL, NULL, &bt, 0);
        if (st) {
            rnn__fail(err, st, "%s", m->err.msg);
            goto out;
        }
        if (!steps) {
            memcpy(out + (size_t)lo * O, o, sizeof(float) * (size_t)Bk * O);
            continue;
        }
        for (int b = 0; b < Bk; b++) /* time-major batch -> [n][T][O] */
            for (int t = 0; t < T; t++) {
                float *dst = out + (((size_t)(lo + b)) * T + t) * O;
                if (t < lens[b])
                    memcpy(dst, o + ((size_t)t * Bk + b) * O, sizeof(float) * (size_t)O);
                else
                    memset(dst, 0, sizeof(float) * (size_t)O);
            }
    }
out:
    rnn__free(tok);
    rnn__free_floats(x);
    rnn__free_floats(o);
    rnn__free(lens);
    rnn__free(cond);
    return st;
}

double rnn_dataset_loss(const rnn_model *m, rnn_loss loss, const float *out, const rnn_dataset *d)
{
    const int O = m->cfg.output_size, steps = m->cfg.readout == RNN_READOUT_STEPS, T = d->T;
    double sum = 0;
    size_t count = 0;
    for (int i = 0; i < d->n; i++) {
        const int len = length_of(d, i), rows = steps ? len : 1;
        for (int t = 0; t < rows; t++) {
            const size_t r = steps ? (size_t)i * T + t : (size_t)i;
            const float *o = out + r * O;
            if (loss == RNN_LOSS_XENT) {
                int32_t l = d->labels[r];
                size_t used;
                sum += rnn__softmax_xent(NULL, o, &l, 1, O, 1.0f, &used, NULL, 1);
                count += used;
            } else {
                size_t used;
                sum += rnn__regression_loss(NULL, o, d->y + r * O, NULL, 1, O, (int)loss, 1.0f, &used);
                count += used;
            }
        }
    }
    return count ? sum / (double)count : NAN;
}
