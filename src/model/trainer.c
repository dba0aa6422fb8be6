/*
 * trainer.c -- what every training task shares: the update (zero the
 * gradients, the task's forward and backward, a non-finite check, global
 * norm and value clipping, the learning-rate schedule, the optimizer),
 * step and epoch counting, and checkpoints that resume bitwise (optimizer
 * state, counters, dropout generator, the task's extra state, a hash of the
 * data).
 */
#include "model/trainer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static rnn_status tret(rnn_trainer *t, rnn_status st)
{
    if (st == RNN_OK)
        rnn__error_clear(&t->err);
    return st;
}

/* What is trained: the rnn_model's buffers, or a custom trainee's. */
static float *t_params(const rnn_trainer *t) { return t->m ? t->m->params : t->custom.params; }
static float *t_grads(const rnn_trainer *t) { return t->m ? t->m->grads : t->custom.grads; }
static size_t t_count(const rnn_trainer *t) { return t->m ? t->m->nparams : t->custom.n; }
static int t_threads(const rnn_trainer *t) { return t->m ? t->m->stack.threads : t->custom.threads; }
static uint64_t *t_rng(rnn_trainer *t) { return t->m ? t->m->stack.rng.s : t->custom.rng; }

uint64_t rnn__fnv1a(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

rnn_status rnn__check_options(const rnn_train_options *o, rnn_error *err)
{
    if (o->seq_len < 1 || o->batch < 1 || o->seq_len > (1 << 20) || o->batch > (1 << 20))
        return rnn__fail(err, RNN_EINVAL, "seq_len and batch must be in 1..1048576 (got %d, %d)",
                         o->seq_len, o->batch);
    if (!(o->lr > 0) || !isfinite(o->lr))
        return rnn__fail(err, RNN_EINVAL, "learning rate must be positive, not %g", o->lr);
    if (!(o->clip_norm >= 0) || !(o->clip_value >= 0))
        return rnn__fail(err, RNN_EINVAL, "clipping thresholds must be >= 0");
    return RNN_OK;
}

rnn_status rnn__check_seq_options(const rnn_train_options *o, rnn_loss loss, rnn_train_options *oo,
                                  rnn_error *err)
{
    *oo = *o;
    if (oo->seq_len < 1)
        oo->seq_len = 1; /* unused by these tasks */
    if (loss < RNN_LOSS_XENT || loss > RNN_LOSS_HUBER)
        return rnn__fail(err, RNN_EINVAL, "unknown loss %d", (int)loss);
    if (o->batch < 1 || o->batch > 4096)
        return rnn__fail(err, RNN_EINVAL, "batch must be in 1..4096, not %d", o->batch);
    return rnn__check_options(oo, err);
}

rnn_status rnn__trainer_new(rnn_trainer **out, rnn_model *m, const rnn_train_options *o,
                            const rnn__task *task, void *data, int64_t batches_per_epoch,
                            int64_t tokens_per_step, rnn_error *err)
{
    *out = NULL;
    rnn_trainer *t = rnn__calloc(1, sizeof *t);
    if (!t) {
        task->free(data);
        return rnn__fail(err, RNN_ENOMEM, "out of memory");
    }
    t->m = m;
    t->o = *o;
    t->task = task;
    t->data = data;
    t->batches_per_epoch = batches_per_epoch;
    t->tokens_per_step = tokens_per_step;
    rnn_status st = rnn_optim_new(&t->opt, &o->optim, m->nparams, err);
    if (st) {
        rnn_trainer_free(t);
        return st;
    }
    rnn_model_seed(m, o->seed);
    *out = t;
    return RNN_OK;
}

rnn_status rnn__trainer_new_custom(rnn_trainer **out, const rnn__trainee *p,
                                   const rnn_train_options *o, const rnn__task *task, void *data,
                                   int64_t batches_per_epoch, int64_t tokens_per_step,
                                   rnn_error *err)
{
    *out = NULL;
    rnn_trainer *t = rnn__calloc(1, sizeof *t);
    if (!t) {
        task->free(data);
        return rnn__fail(err, RNN_ENOMEM, "out of memory");
    }
    t->custom = *p;
    t->o = *o;
    t->task = task;
    t->data = data;
    t->batches_per_epoch = batches_per_epoch;
    t->tokens_per_step = tokens_per_step;
    rnn_status st = rnn_optim_new(&t->opt, &o->optim, p->n, err);
    if (st) {
        rnn_trainer_free(t);
        return st;
    }
    *out = t;
    return RNN_OK;
}

void rnn_trainer_free(rnn_trainer *t)
{
    if (!t)
        return;
    rnn_optim_free(t->opt);
    if (t->task && t->data)
        t->task->free(t->data);
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
    s->tokens = t->step * t->tokens_per_step;
}

static int all_finite(const float *a, size_t n)
{
    float acc = 0;
    for (size_t i = 0; i < n; i++)
        acc += a[i] * 0.0f; /* NaN or Inf turns the sum into NaN */
    return acc == 0.0f;
}

/* Names the first non-finite element of a params-shaped buffer for the
 * user: "gradient of rnn.weight_hh_l0 is inf (element 17)"; the flat
 * index for a custom trainee that names no tensors. */
static void name_nonfinite(const rnn_trainer *t, const float *a, const char *prefix, char *out,
                           size_t n)
{
    const size_t count = t_count(t);
    size_t i = 0;
    while (i < count && isfinite(a[i]))
        i++;
    const char *kind = i < count && isnan(a[i]) ? "nan" : "inf";
    if (i == count) {
        /* every element finite, their sum of squares not: the norm overflowed */
        snprintf(out, n, "%snorm is inf (the elements are finite but huge)",
                 prefix[0] ? "gradient " : "parameter ");
        return;
    }
    const rnn__tensor_info *tensors = t->m ? t->m->tensors : t->custom.tensors;
    const size_t ntensors = t->m ? t->m->ntensors : t->custom.ntensors;
    if (tensors)
        for (size_t k = 0; k < ntensors; k++) {
            const rnn__tensor_info *ti = &tensors[k];
            if (i >= ti->offset && i - ti->offset < ti->numel) {
                snprintf(out, n, "%s%s is %s (element %zu)", prefix, ti->name, kind,
                         i - ti->offset);
                return;
            }
        }
    snprintf(out, n, "%sparameter %zu is %s", prefix, i, kind);
}

rnn_status rnn__trainer_skip(rnn_trainer *t)
{
    if (!all_finite(t_params(t), t_count(t))) {
        char what[160];
        name_nonfinite(t, t_params(t), "", what, sizeof what);
        return tret(t, rnn__fail(&t->err, RNN_EINVAL,
                                 "step %lld: cannot skip: the parameters are not finite (%s)",
                                 (long long)t->step + 1, what));
    }
    /* the bookkeeping of a step, without its update or carried state */
    if (t->batch >= t->batches_per_epoch) {
        t->epoch++;
        t->batch = 0;
    }
    if (t->batch == 0)
        t->task->epoch_start(t);
    t->step++;
    t->batch++;
    t->last_lr = rnn_schedule_lr(&t->o.schedule, t->o.lr, t->step - 1);
    return tret(t, RNN_OK);
}

rnn_status rnn_trainer_step(rnn_trainer *t, rnn_train_stats *stats)
{
    if (t->batch >= t->batches_per_epoch) {
        t->epoch++;
        t->batch = 0;
    }
    if (t->batch == 0)
        t->task->epoch_start(t);
    if (t->m)
        rnn_model_zero_grad(t->m);
    else
        memset(t->custom.grads, 0, t->custom.n * sizeof *t->custom.grads);
    double loss;
    rnn_status st = t->task->forward_backward(t, &loss);
    if (st)
        return tret(t, st);
    double norm = rnn__clip_grad_norm(t_grads(t), t_count(t),
                                      t->o.clip_norm > 0 ? t->o.clip_norm : INFINITY, t_threads(t));
    if (!isfinite(loss) || !isfinite(norm)) {
        t->last_loss = loss;
        t->last_norm = norm;
        char what[160];
        if (!isfinite(loss))
            snprintf(what, sizeof what, "loss is %s", isnan(loss) ? "nan" : "inf");
        else
            name_nonfinite(t, t_grads(t), "gradient of ", what, sizeof what);
        return tret(t, rnn__fail(&t->err, RNN_EINVAL, "step %lld: %s; the update was not applied",
                                 (long long)t->step + 1, what));
    }
    if (t->o.clip_value > 0)
        rnn_clip_grad_value(t_grads(t), t_count(t), t->o.clip_value);
    double lr = rnn_schedule_lr(&t->o.schedule, t->o.lr, t->step);
    rnn__optim_set_threads(t->opt, t_threads(t));
    rnn_optim_step(t->opt, t_params(t), t_grads(t), lr);
    if (t->task->after_step)
        t->task->after_step(t);
    t->step++;
    t->batch++;
    t->last_loss = loss;
    t->last_norm = norm;
    t->last_lr = lr;
    if (stats)
        rnn_trainer_stats(t, stats);
    return tret(t, RNN_OK);
}

rnn_status rnn_trainer_evaluate(rnn_trainer *t, double *loss)
{
    return tret(t, t->task->evaluate(t, loss));
}

/* ---- checkpoints with the training state -------------------------------- */

rnn_status rnn_trainer_save(rnn_trainer *t, const char *path, const char *const *keys,
                            const char *const *values, size_t count)
{
    rnn_model *m = t->m;
    if (!all_finite(t_params(t), t_count(t)))
        return tret(t, rnn__fail(&t->err, RNN_EINVAL,
                                 "%s: not written: the parameters hold NaN or Inf", path));
    int slots;
    size_t n;
    float *state = rnn_optim_state(t->opt, &slots, &n);
    rnn__st_entry extra[8];
    size_t ne = 0;
    static const char *const slot_names[] = {"optim.state0", "optim.state1", "optim.state2"};
    for (int k = 0; k < slots && k < 3; k++)
        extra[ne++] = (rnn__st_entry){slot_names[k], RNN__F32, 1, {(int64_t)n}, state + (size_t)k * n};
    ne += t->task->save_extra(t, extra + ne);

    static const uint64_t no_rng[4];
    const uint64_t *r = t_rng(t) ? t_rng(t) : no_rng;
    char info[1024];
    snprintf(info, sizeof info,
             "{\"task\": \"%s\", \"step\": %lld, \"epoch\": %lld, \"batch\": %lld, "
             "\"optim_steps\": %lld, \"optimizer\": \"%s\", \"seq_len\": %d, \"batch_size\": %d, "
             "\"lr\": %.17g, \"data_hash\": \"%016llx\", \"rng\": [\"%016llx\", \"%016llx\", "
             "\"%016llx\", \"%016llx\"]}",
             t->task->name, (long long)t->step, (long long)t->epoch, (long long)t->batch,
             (long long)rnn_optim_steps(t->opt), rnn_optimizer_name(t->o.optim.kind), t->o.seq_len,
             t->o.batch, t->o.lr, (unsigned long long)t->task->data_hash(t),
             (unsigned long long)r[0], (unsigned long long)r[1], (unsigned long long)r[2],
             (unsigned long long)r[3]);
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
    rnn_status st = m ? rnn__model_save(m, path, extra, ne, k, v, count + 1, &t->err)
                      : t->custom.save(t->custom.model, path, extra, ne, k, v, count + 1, &t->err);
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

rnn_status rnn__copy_state(const rnn__st *f, const char *path, const char *name, float *dst,
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
    float *custom_params = NULL; /* a custom trainee's saved parameters */
    if (!m) {
        custom_params = rnn__alloc_floats(t->custom.n);
        st = custom_params ? t->custom.load(t->custom.model, &f, path, custom_params, err)
                           : rnn__fail(err, RNN_ENOMEM, "out of memory");
        if (st)
            goto out;
    } else {
        st = rnn__model_from_st(&saved, &f, path, err);
        if (st)
            goto out;
        char *a = rnn__model_config_json(&m->cfg), *b = rnn__model_config_json(&saved->cfg);
        if (!a || !b)
            st = rnn__fail(err, RNN_ENOMEM, "%s: out of memory", path);
        else if (strcmp(a, b) != 0)
            st = rnn__fail(err, RNN_EINVAL, "%s: the checkpoint's model %s differs from this one %s",
                           path, b, a);
        rnn__free(a);
        rnn__free(b);
        if (st)
            goto out;
    }
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
    const rnn__json *oj = rnn__json_get(info, "optimizer"), *tj = rnn__json_get(info, "task");
    int ok = json_i64(info, "step", &step) && json_i64(info, "epoch", &epoch) &&
             json_i64(info, "batch", &batch) && json_i64(info, "optim_steps", &osteps) &&
             json_i64(info, "seq_len", &seq_len) && json_i64(info, "batch_size", &bsz) &&
             json_hex(hj, &hash) && oj && oj->kind == RNN__JSON_STRING && rj &&
             rj->kind == RNN__JSON_ARRAY && rj->count == 4 && tj && tj->kind == RNN__JSON_STRING;
    for (int i = 0; ok && i < 4; i++)
        ok = json_hex(&rj->items[i], &rng[i]);
    if (!ok) {
        st = rnn__fail(err, RNN_EFORMAT, "%s: rnn.train is incomplete", path);
        goto out;
    }
    if (strcmp(tj->str, t->task->name) != 0) {
        st = rnn__fail(err, RNN_EINVAL, "%s: saved by a '%s' trainer, not '%s'", path, tj->str,
                       t->task->name);
        goto out;
    }
    if (seq_len != t->o.seq_len || bsz != t->o.batch) {
        st = rnn__fail(err, RNN_EINVAL,
                       "%s: saved with --seq-len %lld --batch %lld; resuming needs the same "
                       "(given %d and %d)", path, (long long)seq_len, (long long)bsz, t->o.seq_len,
                       t->o.batch);
        goto out;
    }
    if (strcmp(oj->str, rnn_optimizer_name(t->o.optim.kind)) != 0) {
        st = rnn__fail(err, RNN_EINVAL, "%s: saved with --optimizer %s; resuming needs the same "
                       "(given %s)", path, oj->str, rnn_optimizer_name(t->o.optim.kind));
        goto out;
    }
    if (hash != t->task->data_hash(t)) {
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
        st = rnn__copy_state(&f, path, slot_names[k], state + (size_t)k * n, n, err);
    if (!st)
        st = t->task->restore_extra(t, &f, path);
    if (st)
        goto out;
    memcpy(t_params(t), m ? saved->params : custom_params, t_count(t) * sizeof(float));
    rnn_optim_set_steps(t->opt, osteps);
    t->step = step;
    t->epoch = epoch;
    t->batch = batch;
    if (t_rng(t))
        memcpy(t_rng(t), rng, sizeof rng);
out:
    rnn__json_free(info);
    rnn_model_free(saved);
    rnn__free_floats(custom_params);
    rnn__st_free(&f);
    return tret(t, st);
}
