/*
 * train.c -- training a token model as a language model with truncated
 * backpropagation through time over B parallel streams (char-rnn).
 *
 * The training ids are cut into B contiguous streams of S = (n-1)/B tokens
 * (+1 for the last target). Step k of an epoch trains on inputs
 * x[t][b] = stream_b[k*T + t] and targets stream_b[k*T + t + 1]; an epoch
 * has S/T steps (the remainder is dropped). The recurrent state starts at
 * zero at every epoch and is carried, detached, from step to step.
 * Validation uses its own streams and state, so it never disturbs training:
 * a run that is saved, stopped and resumed continues bitwise identically.
 */
#include "model/model.h"

#include "layers/layers.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rnn_trainer {
    rnn_model *m;
    rnn_train_options o;
    rnn_optim *opt;
    const int32_t *train, *val;
    size_t ntrain, nval;
    int T, B, V;
    size_t S;                 /* stream length (inputs) */
    int64_t batches_per_epoch;
    int64_t step, epoch, batch;
    double last_loss, last_norm, last_lr;
    float *h, *c, *hn, *cn;   /* [D*L][B][H] carried state and its update */
    int32_t *x, *y;           /* [T][B] */
    float *logits;            /* [T*B][V] */
    rnn_error err;
};

static rnn_status tret(rnn_trainer *t, rnn_status st)
{
    if (st == RNN_OK)
        rnn__error_clear(&t->err);
    return st;
}

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
    if (o->seq_len < 1 || o->batch < 1 || o->seq_len > (1 << 20) || o->batch > (1 << 20))
        return rnn__fail(err, RNN_EINVAL, "seq_len and batch must be in 1..1048576 (got %d, %d)",
                         o->seq_len, o->batch);
    if (!(o->lr > 0) || !isfinite(o->lr))
        return rnn__fail(err, RNN_EINVAL, "learning rate must be positive, not %g", o->lr);
    if (!(o->clip_norm >= 0) || !(o->clip_value >= 0))
        return rnn__fail(err, RNN_EINVAL, "clipping thresholds must be >= 0");
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

    rnn_trainer *t = rnn__calloc(1, sizeof *t);
    if (!t)
        return rnn__fail(err, RNN_ENOMEM, "out of memory");
    t->m = m;
    t->o = *o;
    t->train = train;
    t->val = val;
    t->ntrain = ntrain;
    t->nval = nval;
    t->T = o->seq_len;
    t->B = o->batch;
    t->V = c->vocab_size;
    t->S = S;
    t->batches_per_epoch = (int64_t)(S / (size_t)o->seq_len);
    size_t ns = rnn_model_state_size(m, t->B), tb = (size_t)t->T * t->B;
    rnn_status st = rnn_optim_new(&t->opt, &o->optim, m->nparams, err);
    if (st) {
        rnn__free(t);
        return st;
    }
    t->h = rnn__alloc_floats(ns);
    t->c = rnn__alloc_floats(ns);
    t->hn = rnn__alloc_floats(ns);
    t->cn = rnn__alloc_floats(ns);
    t->x = rnn__malloc(tb * sizeof *t->x);
    t->y = rnn__malloc(tb * sizeof *t->y);
    size_t nl;
    t->logits = rnn__mul(&nl, tb, (size_t)t->V) ? rnn__alloc_floats(nl) : NULL;
    if (!t->h || !t->c || !t->hn || !t->cn || !t->x || !t->y || !t->logits) {
        rnn_trainer_free(t);
        return rnn__fail(err, RNN_ENOMEM, "out of memory for the training buffers");
    }
    st = rnn_model_reserve(m, t->T, t->B);
    if (st) {
        rnn__fail(err, st, "%s", m->err.msg);
        rnn_trainer_free(t);
        return st;
    }
    rnn_model_seed(m, o->seed);
    *out = t;
    return RNN_OK;
}

void rnn_trainer_free(rnn_trainer *t)
{
    if (!t)
        return;
    rnn_optim_free(t->opt);
    rnn__free_floats(t->h);
    rnn__free_floats(t->c);
    rnn__free_floats(t->hn);
    rnn__free_floats(t->cn);
    rnn__free(t->x);
    rnn__free(t->y);
    rnn__free_floats(t->logits);
    rnn__free(t);
}

const char *rnn_trainer_errmsg(const rnn_trainer *t) { return t ? t->err.msg : ""; }

void rnn_trainer_stats(const rnn_trainer *t, rnn_train_stats *s)
{
    s->step = t->step;
    s->epoch = t->epoch;
    s->batches_per_epoch = t->batches_per_epoch;
    s->batch_in_epoch = t->batch;
    s->loss = t->last_loss;
    s->grad_norm = t->last_norm;
    s->lr = t->last_lr;
    s->tokens = t->step * (int64_t)t->T * t->B;
}

static int all_finite(const float *a, size_t n)
{
    float acc = 0;
    for (size_t i = 0; i < n; i++)
        acc += a[i] * 0.0f; /* NaN or Inf turns the sum into NaN */
    return acc == 0.0f;
}

rnn_status rnn_trainer_step(rnn_trainer *t, rnn_train_stats *stats)
{
    rnn_model *m = t->m;
    const int T = t->T, B = t->B;
    const size_t ns = rnn_model_state_size(m, B);
    const int lstm = m->cfg.cell == RNN_CELL_LSTM;
    if (t->batch >= t->batches_per_epoch) {
        t->epoch++;
        t->batch = 0;
    }
    if (t->batch == 0) {
        memset(t->h, 0, ns * sizeof *t->h);
        memset(t->c, 0, ns * sizeof *t->c);
    }
    for (int b = 0; b < B; b++) {
        const int32_t *s = t->train + (size_t)b * t->S + (size_t)t->batch * T;
        for (int k = 0; k < T; k++) {
            t->x[k * B + b] = s[k];
            t->y[k * B + b] = s[k + 1];
        }
    }
    rnn_model_zero_grad(m);
    rnn_status st = rnn_model_forward(m, t->logits, t->hn, lstm ? t->cn : NULL, t->x, NULL, t->h,
                                      lstm ? t->c : NULL, NULL, T, B, 1);
    if (st)
        return tret(t, rnn__fail(&t->err, st, "%s", m->err.msg));
    const int N = T * B;
    double loss = rnn__softmax_xent(t->logits, t->logits, t->y, N, t->V, 1.0f / (float)N, NULL) / N;
    st = rnn_model_backward(m, NULL, t->logits, NULL, NULL);
    if (st)
        return tret(t, rnn__fail(&t->err, st, "%s", m->err.msg));
    double norm = t->o.clip_norm > 0 ? rnn_clip_grad_norm(m->grads, m->nparams, t->o.clip_norm)
                                     : rnn_clip_grad_norm(m->grads, m->nparams, INFINITY);
    if (!isfinite(loss) || !isfinite(norm)) {
        t->last_loss = loss;
        t->last_norm = norm;
        return tret(t, rnn__fail(&t->err, RNN_EINVAL,
                                 "step %lld: %s is %s; the update was not applied",
                                 (long long)t->step + 1, isfinite(loss) ? "gradient norm" : "loss",
                                 isfinite(loss) ? (isnan(norm) ? "nan" : "inf")
                                                : (isnan(loss) ? "nan" : "inf")));
    }
    if (t->o.clip_value > 0)
        rnn_clip_grad_value(m->grads, m->nparams, t->o.clip_value);
    double lr = rnn_schedule_lr(&t->o.schedule, t->o.lr, t->step);
    rnn_optim_step(t->opt, m->params, m->grads, lr);
    float *tmp = t->h; /* carry the state: swap instead of copying */
    t->h = t->hn;
    t->hn = tmp;
    tmp = t->c;
    t->c = t->cn;
    t->cn = tmp;
    t->step++;
    t->batch++;
    t->last_loss = loss;
    t->last_norm = norm;
    t->last_lr = lr;
    if (stats)
        rnn_trainer_stats(t, stats);
    return tret(t, RNN_OK);
}

/* Mean cross-entropy of ids[n] read as Bs streams of S predictions, in
 * chunks of up to T steps, state carried. Shared by validation and eval. */
static rnn_status stream_loss(rnn_model *m, const int32_t *ids, size_t n, int T, int Bmax,
                              float *logits, int32_t *x, int32_t *y, float *h, float *c,
                              float *hn, float *cn, double *out, rnn_error *err)
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
        total += rnn__softmax_xent(NULL, logits, y, Tc * Bs, m->cfg.vocab_size, 1.0f, &used);
        count += used;
        memcpy(h, hn, ns * sizeof *h);
        if (lstm)
            memcpy(c, cn, ns * sizeof *c);
    }
    *out = total / (double)count;
    return RNN_OK;
}

rnn_status rnn_trainer_evaluate(rnn_trainer *t, double *loss)
{
    /* its own state buffers: hn/cn are free between steps, the carried
     * training state h/c must survive */
    size_t ns = rnn_model_state_size(t->m, t->B);
    float *vh = rnn__alloc_floats(ns), *vc = rnn__alloc_floats(ns);
    if (!vh || !vc) {
        rnn__free_floats(vh);
        rnn__free_floats(vc);
        return tret(t, rnn__fail(&t->err, RNN_ENOMEM, "out of memory"));
    }
    rnn_status st = stream_loss(t->m, t->val, t->nval, t->T, t->B, t->logits, t->x, t->y, vh, vc,
                                t->hn, t->cn, loss, &t->err);
    rnn__free_floats(vh);
    rnn__free_floats(vc);
    return tret(t, st);
}

/* ---- checkpoints with the training state -------------------------------- */

static uint64_t fnv1a(uint64_t h, const int32_t *a, size_t n)
{
    const unsigned char *p = (const unsigned char *)a;
    for (size_t i = 0; i < n * sizeof *a; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

static uint64_t data_hash(const rnn_trainer *t)
{
    uint64_t h = fnv1a(0xcbf29ce484222325ull, t->train, t->ntrain);
    return fnv1a(h ^ t->nval, t->val, t->nval);
}

rnn_status rnn_trainer_save(rnn_trainer *t, const char *path, const char *const *keys,
                            const char *const *values, size_t count)
{
    rnn_model *m = t->m;
    if (!all_finite(m->params, m->nparams))
        return tret(t, rnn__fail(&t->err, RNN_EINVAL,
                                 "%s: not written: the parameters hold NaN or Inf", path));
    int slots;
    size_t n;
    float *state = rnn_optim_state(t->opt, &slots, &n);
    rnn__st_entry extra[6];
    size_t ne = 0;
    static const char *const slot_names[] = {"optim.state0", "optim.state1", "optim.state2"};
    for (int k = 0; k < slots && k < 3; k++)
        extra[ne++] = (rnn__st_entry){slot_names[k], RNN__F32, 1, {(int64_t)n}, state + (size_t)k * n};
    const int64_t DL = (int64_t)m->D * m->cfg.num_layers;
    extra[ne++] = (rnn__st_entry){"train.h", RNN__F32, 3, {DL, t->B, m->H}, t->h};
    if (m->cfg.cell == RNN_CELL_LSTM)
        extra[ne++] = (rnn__st_entry){"train.c", RNN__F32, 3, {DL, t->B, m->H}, t->c};

    const uint64_t *r = m->stack.rng.s;
    char info[1024];
    snprintf(info, sizeof info,
             "{\"step\": %lld, \"epoch\": %lld, \"batch\": %lld, \"optim_steps\": %lld, "
             "\"optimizer\": \"%s\", \"seq_len\": %d, \"batch_size\": %d, \"lr\": %.17g, "
             "\"data_hash\": \"%016llx\", \"rng\": [\"%016llx\", \"%016llx\", \"%016llx\", "
             "\"%016llx\"]}",
             (long long)t->step, (long long)t->epoch, (long long)t->batch,
             (long long)rnn_optim_steps(t->opt), rnn_optimizer_name(t->o.optim.kind), t->T, t->B,
             t->o.lr, (unsigned long long)data_hash(t), (unsigned long long)r[0],
             (unsigned long long)r[1], (unsigned long long)r[2], (unsigned long long)r[3]);
    const char **k = rnn__calloc(count + 1, sizeof *k), **v = rnn__calloc(count + 1, sizeof *v);
    if (!k || !v) {
        rnn__free(k);
        rnn__free(v);
        return tret(t, rnn__fail(&t->err, RNN_ENOMEM, "out of memory"));
    }
    k[0] = "rnn.train";
    v[0] = info;
    for (size_t i = 0; i < count; i++) {
        k[1 + i] = keys[i];
        v[1 + i] = values[i];
    }
    rnn_status st = rnn__model_save(m, path, extra, ne, k, v, count + 1, &t->err);
    rnn__free(k);
    rnn__free(v);
    return tret(t, st);
}

static int json_i64(const rnn__json *o, const char *key, int64_t *out)
{
    const rnn__json *v = rnn__json_get(o, key);
    if (!v || v->kind != RNN__JSON_NUMBER || !v->is_uint || v->uint > (uint64_t)INT64_MAX)
        return 0;
    *out = (int64_t)v->uint;
    return 1;
}

static int json_hex(const rnn__json *v, uint64_t *out)
{
    if (!v || v->kind != RNN__JSON_STRING || v->len != 16)
        return 0;
    char *end;
    *out = strtoull(v->str, &end, 16);
    return *end == '\0';
}

static rnn_status copy_tensor(const rnn__st *f, const char *path, const char *name, float *dst,
                              size_t n, rnn_error *err)
{
    const rnn__st_tensor *ft = rnn__st_find(f, name);
    if (!ft || ft->numel != n || ft->dtype != RNN__F32)
        return rnn__fail(err, RNN_EFORMAT, "%s: training state '%s' missing or of the wrong size",
                         path, name);
    memcpy(dst, ft->data, n * sizeof *dst);
    return RNN_OK;
}

rnn_status rnn_trainer_restore(rnn_trainer *t, const char *path)
{
    rnn_model *m = t->m;
    rnn__st f;
    rnn_error *err = &t->err;
    rnn_status st = rnn__st_read(&f, path, err);
    if (st)
        return tret(t, st);
    rnn_model *saved = NULL;
    rnn__json *info = NULL;
    st = rnn__model_from_st(&saved, &f, path, err);
    if (st)
        goto out;
    char *a = rnn__model_config_json(&m->cfg), *b = rnn__model_config_json(&saved->cfg);
    int same = a && b && strcmp(a, b) == 0;
    if (!same)
        st = rnn__fail(err, RNN_EINVAL, "%s: the checkpoint's model %s differs from this one %s",
                       path, b ? b : "?", a ? a : "?");
    rnn__free(a);
    rnn__free(b);
    if (st)
        goto out;
    const char *text = rnn__st_meta(&f, "rnn.train");
    if (!text) {
        st = rnn__fail(err, RNN_EFORMAT, "%s: no training state (rnn.train) to resume from", path);
        goto out;
    }
    st = rnn__json_parse(&info, text, strlen(text), err);
    if (st) {
        rnn__error_prefix(err, "%s: rnn.train", path);
        goto out;
    }
    int64_t step, epoch, batch, osteps, seq_len, bsz;
    uint64_t hash, rng[4];
    const rnn__json *rj = rnn__json_get(info, "rng"), *hj = rnn__json_get(info, "data_hash");
    const rnn__json *oj = rnn__json_get(info, "optimizer");
    int ok = json_i64(info, "step", &step) && json_i64(info, "epoch", &epoch) &&
             json_i64(info, "batch", &batch) && json_i64(info, "optim_steps", &osteps) &&
             json_i64(info, "seq_len", &seq_len) && json_i64(info, "batch_size", &bsz) &&
             json_hex(hj, &hash) && oj && oj->kind == RNN__JSON_STRING && rj &&
             rj->kind == RNN__JSON_ARRAY && rj->count == 4;
    for (int i = 0; ok && i < 4; i++)
        ok = json_hex(&rj->items[i], &rng[i]);
    if (!ok) {
        st = rnn__fail(err, RNN_EFORMAT, "%s: rnn.train is incomplete", path);
        goto out;
    }
    if (seq_len != t->T || bsz != t->B) {
        st = rnn__fail(err, RNN_EINVAL,
                       "%s: saved with --seq-len %lld --batch %lld; resuming needs the same "
                       "(given %d and %d)", path, (long long)seq_len, (long long)bsz, t->T, t->B);
        goto out;
    }
    if (strcmp(oj->str, rnn_optimizer_name(t->o.optim.kind)) != 0) {
        st = rnn__fail(err, RNN_EINVAL, "%s: saved with --optimizer %s; resuming needs the same "
                       "(given %s)", path, oj->str, rnn_optimizer_name(t->o.optim.kind));
        goto out;
    }
    if (hash != data_hash(t)) {
        st = rnn__fail(err, RNN_EINVAL, "%s: the checkpoint was trained on different data "
                       "(text, vocabulary or split differ)", path);
        goto out;
    }
    if (batch > t->batches_per_epoch) {
        st = rnn__fail(err, RNN_EFORMAT, "%s: rnn.train batch %lld is past the epoch's end",
                       path, (long long)batch);
        goto out;
    }
    int slots;
    size_t n;
    float *state = rnn_optim_state(t->opt, &slots, &n);
    static const char *const slot_names[] = {"optim.state0", "optim.state1", "optim.state2"};
    for (int k = 0; k < slots && k < 3 && !st; k++)
        st = copy_tensor(&f, path, slot_names[k], state + (size_t)k * n, n, err);
    size_t ns = rnn_model_state_size(m, t->B);
    if (!st)
        st = copy_tensor(&f, path, "train.h", t->h, ns, err);
    if (!st && m->cfg.cell == RNN_CELL_LSTM)
        st = copy_tensor(&f, path, "train.c", t->c, ns, err);
    if (st)
        goto out;
    memcpy(m->params, saved->params, m->nparams * sizeof *m->params);
    rnn_optim_set_steps(t->opt, osteps);
    t->step = step;
    t->epoch = epoch;
    t->batch = batch;
    memcpy(m->stack.rng.s, rng, sizeof rng);
out:
    rnn__json_free(info);
    rnn_model_free(saved);
    rnn__st_free(&f);
    return tret(t, st);
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
    rnn_status st;
    if (!logits || !h || !c || !hn || !cn || !x || !y)
        st = rnn__fail(err, RNN_ENOMEM, "out of memory");
    else
        st = stream_loss(m, ids, n, chunk, B, logits, x, y, h, c, hn, cn, loss, err);
    if (predicted)
        *predicted = st ? 0 : (n - 1) / (size_t)B * (size_t)B;
    rnn__free_floats(logits);
    rnn__free_floats(h);
    rnn__free_floats(c);
    rnn__free_floats(hn);
    rnn__free_floats(cn);
    rnn__free(x);
    rnn__free(y);
    return st;
}
