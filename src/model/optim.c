/*
 * optim.c -- torch.optim's SGD, Adam, AdamW and RMSprop on flat float
 * buffers, torch.nn.utils' gradient clipping, and closed-form learning-rate
 * schedules.
 *
 * The updates reproduce PyTorch 1.13's single-tensor (foreach=False) CPU
 * code paths operation by operation, so that float32 results agree bit for
 * bit with torch on an AVX2 machine:
 *   - Python-level scalars (lr, betas, bias corrections) are doubles, as
 *     Python floats are; torch casts each to float when it meets a float32
 *     tensor, so we cast at the same point.
 *   - torch's vectorized add(x, alpha=a) and addcmul are fused
 *     multiply-adds on AVX2 builds (vec::fmadd, and GCC contracting the
 *     mul+add intrinsics), so those steps use fmaf(); addcdiv, mul and
 *     plain adds are separately rounded float operations.
 * On a machine where torch is built without FMA the two differ by at most an
 * ulp per operation.
 */
#include "core/core.h"
#include "layers/kernels.h"
#include "layers/layers.h"

#include <limits.h>
#include <math.h>
#include <string.h>

/* The unfused steps must stay unfused: GCC does not contract under
 * -std=c11, but clang contracts a*b + c by default when FMA is enabled. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

struct rnn_optim {
    rnn_optim_config cfg;
    size_t n;
    int slots;    /* state vectors of n floats (see rnn_optim_state) */
    int64_t steps;
    float *state; /* slots * n floats; NULL when slots == 0 */
    int threads;  /* slices of the update done in parallel (default 1) */
};

void rnn_optim_defaults(rnn_optim_config *c, rnn_optimizer kind)
{
    if (!c)
        return;
    /* Every field gets torch's default, not only those `kind` uses, so a
     * config whose kind is changed afterwards is still sensible. */
    memset(c, 0, sizeof *c);
    c->kind = kind;
    c->momentum = 0.0;
    c->nesterov = 0;
    c->beta1 = 0.9;
    c->beta2 = 0.999;
    c->alpha = 0.99;
    c->eps = 1e-8;
    c->weight_decay = kind == RNN_OPT_ADAMW ? 0.01 : 0.0;
}

const char *rnn_optimizer_name(rnn_optimizer kind)
{
    switch (kind) {
    case RNN_OPT_SGD: return "sgd";
    case RNN_OPT_ADAM: return "adam";
    case RNN_OPT_ADAMW: return "adamw";
    case RNN_OPT_RMSPROP: return "rmsprop";
    }
    return "unknown";
}

int rnn_optimizer_from_name(const char *name)
{
    static const rnn_optimizer kinds[] = {RNN_OPT_SGD, RNN_OPT_ADAM,
                                          RNN_OPT_ADAMW, RNN_OPT_RMSPROP};
    if (!name)
        return -1;
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(name, rnn_optimizer_name(kinds[i])) == 0)
            return (int)kinds[i];
    return -1;
}

/* A coefficient that must lie in [0, 1); NaN fails too. */
static int unit_interval(double x)
{
    return x >= 0.0 && x < 1.0;
}

static rnn_status check_config(const rnn_optim_config *c, rnn_error *err)
{
    const char *name = rnn_optimizer_name(c->kind);
    /* Only the fields the chosen optimizer reads are checked: a caller that
     * fills one config for every optimizer (a command line, say) need not
     * clear the others. */
    switch (c->kind) {
    case RNN_OPT_SGD:
        if (!unit_interval(c->momentum))
            return rnn__fail(err, RNN_EINVAL, "sgd: momentum %g is not in [0, 1)",
                             c->momentum);
        if (c->nesterov && !(c->momentum > 0))
            return rnn__fail(err, RNN_EINVAL, "sgd: nesterov needs momentum > 0");
        break;
    case RNN_OPT_ADAM:
    case RNN_OPT_ADAMW:
        if (!unit_interval(c->beta1))
            return rnn__fail(err, RNN_EINVAL, "%s: beta1 %g is not in [0, 1)",
                             name, c->beta1);
        if (!unit_interval(c->beta2))
            return rnn__fail(err, RNN_EINVAL, "%s: beta2 %g is not in [0, 1)",
                             name, c->beta2);
        break;
    case RNN_OPT_RMSPROP:
        if (!unit_interval(c->alpha))
            return rnn__fail(err, RNN_EINVAL, "rmsprop: alpha %g is not in [0, 1)",
                             c->alpha);
        if (!unit_interval(c->momentum))
            return rnn__fail(err, RNN_EINVAL,
                             "rmsprop: momentum %g is not in [0, 1)", c->momentum);
        break;
    default:
        return rnn__fail(err, RNN_EINVAL, "unknown optimizer kind %d", (int)c->kind);
    }
    if (c->kind != RNN_OPT_SGD && !(c->eps >= 0.0 && isfinite(c->eps)))
        return rnn__fail(err, RNN_EINVAL, "%s: eps %g must be finite and >= 0",
                         name, c->eps);
    if (!(c->weight_decay >= 0.0 && isfinite(c->weight_decay)))
        return rnn__fail(err, RNN_EINVAL,
                         "%s: weight_decay %g must be finite and >= 0", name,
                         c->weight_decay);
    return RNN_OK;
}

static int state_slots(const rnn_optim_config *c)
{
    switch (c->kind) {
    case RNN_OPT_SGD: return c->momentum > 0 ? 1 : 0;
    case RNN_OPT_ADAM:
    case RNN_OPT_ADAMW: return 2;
    case RNN_OPT_RMSPROP: return c->momentum > 0 ? 2 : 1;
    }
    return 0;
}

rnn_status rnn_optim_new(rnn_optim **out, const rnn_optim_config *config,
                         size_t n, rnn_error *err)
{
    if (!out || !config)
        return rnn__fail(err, RNN_EINVAL, "NULL argument");
    *out = NULL;
    rnn_status st = check_config(config, err);
    if (st)
        return st;
    if (n < 1)
        return rnn__fail(err, RNN_EINVAL, "%s: no parameters to optimize (n = 0)",
                         rnn_optimizer_name(config->kind));
    int slots = state_slots(config);
    size_t total;
    /* The float count times sizeof(float) is checked by rnn__alloc_floats. */
    if (!rnn__mul(&total, (size_t)slots, n))
        return rnn__fail(err, RNN_EOVERFLOW, "%s: state for %zu parameters is too large",
                         rnn_optimizer_name(config->kind), n);
    rnn_optim *o = rnn__calloc(1, sizeof *o);
    if (!o)
        return rnn__fail(err, RNN_ENOMEM, "out of memory");
    o->cfg = *config;
    o->n = n;
    o->slots = slots;
    o->steps = 0;
    o->threads = 1;
    if (slots > 0) {
        o->state = rnn__alloc_floats(total);
        if (!o->state) {
            rnn__free(o);
            return rnn__fail(err, RNN_ENOMEM,
                             "%s: out of memory for %zu state floats",
                             rnn_optimizer_name(config->kind), total);
        }
    }
    *out = o;
    return RNN_OK;
}

void rnn_optim_free(rnn_optim *o)
{
    if (!o)
        return;
    rnn__free_floats(o->state);
    rnn__free(o);
}

int64_t rnn_optim_steps(const rnn_optim *o)
{
    return o ? o->steps : 0;
}

float *rnn_optim_state(rnn_optim *o, int *slots, size_t *count)
{
    if (slots)
        *slots = o ? o->slots : 0;
    if (count)
        *count = o ? o->n : 0;
    return o ? o->state : NULL;
}

void rnn_optim_set_steps(rnn_optim *o, int64_t steps)
{
    if (o)
        o->steps = steps > 0 ? steps : 0;
}

/* The element loops are kernels (layers/kernels_isa.c: vectorized, with
 * hardware FMA where the CPU has it); here the scalars are derived exactly
 * as torch derives them, and the vector is cut into slices for threads.
 * Every element is updated by the same arithmetic whatever the slicing. */
static void update(rnn_optim *o, float *p, const float *g, double lr)
{
    const rnn_optim_config *c = &o->cfg;
    const rnn__kernels *k = rnn__kernels_get();
    rnn__opt_args a;
    memset(&a, 0, sizeof a);
    a.wd = (float)c->weight_decay;
    a.mu = (float)c->momentum;
    a.neg_lr = (float)-lr;
    a.decay = c->weight_decay != 0;
    a.nesterov = c->nesterov;
    if (c->kind == RNN_OPT_SGD) {
        a.momentum = c->momentum != 0;
        /* torch creates the buffer as a copy of d_p on the first step (not
         * mu*0 + d_p, which would turn -0 into +0). */
        a.first = o->steps == 0;
    } else if (c->kind == RNN_OPT_RMSPROP) {
        a.momentum = c->momentum > 0;
        a.alpha = (float)c->alpha;
        a.one_alpha = (float)(1.0 - c->alpha);
        a.eps = (float)c->eps;
    } else {
        /* Bias corrections are Python floats in torch: double precision. */
        const double t = (double)o->steps; /* already incremented */
        const double bc1 = 1.0 - pow(c->beta1, t), bc2 = 1.0 - pow(c->beta2, t);
        a.adamw = c->kind == RNN_OPT_ADAMW;
        a.neg_step = (float)-(lr / bc1);
        a.bc2_sqrt = (float)sqrt(bc2);
        a.b1 = (float)c->beta1;
        a.one_b1 = (float)(1.0 - c->beta1);
        a.b2 = (float)c->beta2;
        a.one_b2 = (float)(1.0 - c->beta2);
        a.eps = (float)c->eps;
        a.shrink = (float)(1.0 - lr * c->weight_decay);
    }
    const size_t n = o->n;
    float *s0 = o->state, *s1 = o->state && o->slots > 1 ? o->state + n : NULL;
    const int nt = rnn__threads_for(o->threads, (double)n * 8);
    (void)nt;
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        int lo, hi;
        rnn__split((int)(n < INT_MAX ? n : INT_MAX), RNN__NTH(), RNN__TID(), 64, &lo, &hi);
        if (n >= INT_MAX) { /* too large to slice with ints: one thread does it all */
            lo = 0;
            hi = RNN__TID() == 0 ? -1 : 0;
        }
        size_t a0 = (size_t)lo, len = hi < 0 ? n : (size_t)(hi - lo);
        if (len > 0) {
            if (c->kind == RNN_OPT_SGD)
                k->sgd(p + a0, g + a0, s0 ? s0 + a0 : NULL, len, &a);
            else if (c->kind == RNN_OPT_RMSPROP)
                k->rmsprop(p + a0, g + a0, s0 + a0, s1 ? s1 + a0 : NULL, len, &a);
            else
                k->adam(p + a0, g + a0, s0 + a0, s1 + a0, len, &a);
        }
    }
}

void rnn_optim_step(rnn_optim *o, float *params, const float *grads, double lr)
{
    if (!o || !params || !grads)
        return;
    if (o->cfg.kind == RNN_OPT_ADAM || o->cfg.kind == RNN_OPT_ADAMW)
        o->steps++; /* torch increments before the bias corrections */
    update(o, params, grads, lr);
    if (o->cfg.kind != RNN_OPT_ADAM && o->cfg.kind != RNN_OPT_ADAMW)
        o->steps++;
}

void rnn__optim_set_threads(rnn_optim *o, int n)
{
    o->threads = n > 0 ? n : 1;
}

/* The sum of squares in blocks of fixed size, each summed by the kernel in
 * its fixed order and the blocks added in index order: the same result for
 * any number of threads. */
#define NORM_BLOCK 65536
#define NORM_MAX_BLOCKS 4096

double rnn__sumsq(const float *g, size_t n, int nthreads)
{
    const rnn__kernels *k = rnn__kernels_get();
    size_t nb = (n + NORM_BLOCK - 1) / NORM_BLOCK;
    if (nb > NORM_MAX_BLOCKS) { /* beyond 268M parameters: one pass */
        double s = 0;
        for (size_t b = 0; b < nb; b++) {
            size_t lo = b * NORM_BLOCK, len = n - lo < NORM_BLOCK ? n - lo : NORM_BLOCK;
            s += k->sumsq(g + lo, len);
        }
        return s;
    }
    double part[NORM_MAX_BLOCKS];
    const int nt = rnn__threads_for(nthreads, (double)n * 4);
    (void)nt;
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
    for (long b = 0; b < (long)nb; b++) {
        size_t lo = (size_t)b * NORM_BLOCK, len = n - lo < NORM_BLOCK ? n - lo : NORM_BLOCK;
        part[b] = k->sumsq(g + lo, len);
    }
    double s = 0;
    for (size_t b = 0; b < nb; b++)
        s += part[b];
    return s;
}

double rnn__clip_grad_norm(float *g, size_t n, double max_norm, int nthreads)
{
    double norm = sqrt(rnn__sumsq(g, n, nthreads));
    /* torch 1.13 would multiply by a NaN or 0 coefficient here, turning
     * every gradient into NaN or 0; leaving them untouched lets the caller
     * see the non-finite norm and skip the step. */
    if (!isfinite(norm))
        return norm;
    double scale = max_norm / (norm + 1e-6);
    /* torch clamps the coefficient to 1: gradients are never scaled up. A
     * NaN max_norm fails the test and leaves g alone. */
    if (scale < 1.0) {
        const float s = (float)scale; /* torch's coefficient is a float32 tensor */
        for (size_t i = 0; i < n; i++)
            g[i] *= s;
    }
    return norm;
}

double rnn_clip_grad_norm(float *g, size_t n, double max_norm)
{
    return rnn__clip_grad_norm(g, n, max_norm, 1);
}

void rnn_clip_grad_value(float *g, size_t n, double c)
{
    const float hi = (float)c, lo = (float)-c;
    /* clamp(min=-c, max=c) in torch's order: max first, then min, so a
     * negative c sets everything to c as torch does; NaN stays NaN. */
    for (size_t i = 0; i < n; i++) {
        float x = g[i];
        if (x < lo)
            x = lo;
        if (x > hi)
            x = hi;
        g[i] = x;
    }
}

double rnn_schedule_lr(const rnn_schedule *s, double lr, int64_t step)
{
    if (!s)
        return lr;
    if (step < 0)
        step = 0;
    int64_t warmup = s->warmup > 0 ? s->warmup : 0;
    if (step < warmup)
        return lr * (double)(step + 1) / (double)warmup;
    /* The main schedule's clock starts when the warm-up ends, as with
     * torch's SequentialLR([LinearLR, main], milestones=[warmup]). */
    int64_t t = step - warmup;
    switch (s->kind) {
    case RNN_SCHED_STEP:
        if (s->step_size >= 1)
            return lr * pow(s->gamma, (double)(t / s->step_size));
        break;
    case RNN_SCHED_COSINE:
        if (s->total >= 1) {
            /* Held at min_lr after `total` steps; torch's cosine would
             * climb back up (it is periodic, 2*total). */
            int64_t e = t < s->total ? t : s->total;
            return s->min_lr + (lr - s->min_lr) *
                                   (1.0 + cos(M_PI * (double)e / (double)s->total)) / 2.0;
        }
        break;
    case RNN_SCHED_CONSTANT:
        break;
    }
    return lr;
}
