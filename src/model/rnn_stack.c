/*
 * rnn_stack.c -- the public rnn_stack handle: owns the flat parameter and
 * gradient buffers of an internal rnn__stack, keeps its last error message,
 * and loads/saves PyTorch state_dicts in safetensors.
 */
#include "model/stack.h"

#include "io/io.h"

#include <stdio.h>
#include <string.h>

struct rnn_stack {
    rnn__stack st;
    float *params; /* [nparams] */
    float *grads;  /* [nparams] */
    rnn_error err;
};

static rnn_status set_err(rnn_stack *s, rnn_status status)
{
    if (status == RNN_OK)
        rnn__error_clear(&s->err);
    return status;
}

static rnn_status stack_alloc(rnn_stack **out, const rnn_stack_config *cfg,
                              rnn_error *err)
{
    *out = NULL;
    rnn_stack *s = rnn__calloc(1, sizeof *s);
    if (!s)
        return rnn__fail(err, RNN_ENOMEM, "out of memory");
    rnn_status st = rnn__stack_init(&s->st, cfg, err);
    if (st) {
        rnn__free(s);
        return st;
    }
    s->params = rnn__alloc_floats(s->st.nparams);
    s->grads = rnn__alloc_floats(s->st.nparams);
    if (!s->params || !s->grads) {
        const size_t np = s->st.nparams; /* s is gone after the free */
        rnn_stack_free(s);
        return rnn__fail(err, RNN_ENOMEM, "out of memory for %zu parameters", np);
    }
    rnn__stack_bind(&s->st, s->params, s->grads);
    *out = s;
    return RNN_OK;
}

rnn_status rnn_stack_new(rnn_stack **out, const rnn_stack_config *config,
                             uint64_t seed, rnn_error *err)
{
    if (!out || !config)
        return rnn__fail(err, RNN_EINVAL, "NULL argument");
    rnn_status st = stack_alloc(out, config, err);
    if (st)
        return st;
    rnn__rng rng;
    rnn__rng_seed(&rng, seed);
    st = rnn__stack_init_params(&(*out)->st, NULL, &rng, err);
    if (st) {
        rnn_stack_free(*out);
        *out = NULL;
        return st;
    }
    rnn__rng_seed(&(*out)->st.rng, seed ^ 0xd509u);
    return RNN_OK;
}

void rnn_stack_free(rnn_stack *s)
{
    if (!s)
        return;
    rnn__stack_release(&s->st);
    rnn__free_floats(s->params);
    rnn__free_floats(s->grads);
    rnn__free(s);
}

const rnn_stack_config *rnn_stack_get_config(const rnn_stack *s)
{
    return &s->st.cfg;
}

const char *rnn_stack_errmsg(const rnn_stack *s)
{
    return s ? s->err.msg : "";
}

rnn_status rnn_stack_init(rnn_stack *s, const rnn_init_options *opts,
                              uint64_t seed)
{
    rnn__rng rng;
    rnn__rng_seed(&rng, seed);
    return set_err(s, rnn__stack_init_params(&s->st, opts, &rng, &s->err));
}

rnn_status rnn_stack_reserve(rnn_stack *s, int T, int B)
{
    return set_err(s, rnn__stack_reserve(&s->st, T, B, &s->err));
}

rnn_status rnn_stack_forward(rnn_stack *s, float *y, float *hn, float *cn,
                                 const float *x, const float *h0,
                                 const float *c0, const int32_t *lengths,
                                 int T, int B, int training)
{
    return set_err(s, rnn__stack_forward(&s->st, y, NULL, hn, cn, x, NULL, h0, c0, lengths,
                                         T, B, training, &s->err));
}

rnn_status rnn_stack_backward(rnn_stack *s, float *dx, float *dh0,
                                  float *dc0, const float *dy,
                                  const float *dhn, const float *dcn)
{
    return set_err(s, rnn__stack_backward(&s->st, dx, dh0, dc0, dy, dhn, dcn,
                                          &s->err));
}

void rnn_stack_zero_grad(rnn_stack *s)
{
    memset(s->grads, 0, s->st.nparams * sizeof *s->grads);
}

void rnn_stack_seed(rnn_stack *s, uint64_t seed)
{
    rnn__rng_seed(&s->st.rng, seed);
}

void rnn_stack_set_threads(rnn_stack *s, int n)
{
    s->st.threads = n > 0 ? n : 1;
}

size_t rnn_stack_num_tensors(const rnn_stack *s) { return s->st.ntensors; }

rnn_status rnn_stack_tensor(rnn_stack *s, size_t i, rnn_tensor *out)
{
    if (i >= s->st.ntensors)
        return set_err(s, rnn__fail(&s->err, RNN_ENOTFOUND,
                                    "tensor index %zu out of range (%zu tensors)",
                                    i, s->st.ntensors));
    const rnn__tensor_info *t = &s->st.tensors[i];
    out->name = t->name;
    out->ndim = t->ndim;
    memcpy(out->shape, t->shape, sizeof out->shape);
    out->numel = t->numel;
    out->data = s->params + t->offset;
    out->grad = s->grads + t->offset;
    return set_err(s, RNN_OK);
}

rnn_status rnn_stack_find(rnn_stack *s, const char *name, rnn_tensor *out)
{
    long i = rnn__stack_find(&s->st, name);
    if (i < 0)
        return set_err(s, rnn__fail(&s->err, RNN_ENOTFOUND, "no tensor '%s'", name));
    return rnn_stack_tensor(s, (size_t)i, out);
}

float *rnn_stack_params(rnn_stack *s, size_t *count)
{
    if (count)
        *count = s->st.nparams;
    return s->params;
}

float *rnn_stack_grads(rnn_stack *s, size_t *count)
{
    if (count)
        *count = s->st.nparams;
    return s->grads;
}

/* ---- safetensors ------------------------------------------------------- */

/* "weight_ih_l12_reverse" -> 1 if the name (after the prefix) is one of the
 * recurrent-layer parameter names, whatever the layer index. */
static int looks_like_rnn_param(const char *name)
{
    static const char *const stems[] = {"weight_ih_l", "weight_hh_l", "bias_ih_l",
                                        "bias_hh_l", "weight_hr_l"};
    for (size_t i = 0; i < sizeof stems / sizeof stems[0]; i++) {
        size_t n = strlen(stems[i]);
        if (strncmp(name, stems[i], n) == 0) {
            const char *p = name + n;
            if (*p < '0' || *p > '9')
                return 0;
            while (*p >= '0' && *p <= '9')
                p++;
            return *p == '\0' || strcmp(p, "_reverse") == 0;
        }
    }
    return 0;
}

static const rnn__st_tensor *find_prefixed(const rnn__st *f, const char *prefix,
                                           const char *name)
{
    char full[512];
    snprintf(full, sizeof full, "%s%s", prefix, name);
    return rnn__st_find(f, full);
}

/* A hint for the common mistake of a missing or wrong --prefix. */
static void prefix_hint(const rnn__st *f, char *hint, size_t n)
{
    hint[0] = '\0';
    const char *stem = "weight_hh_l0";
    for (size_t i = 0; i < f->count; i++) {
        const char *name = f->tensors[i].name;
        size_t len = strlen(name), sl = strlen(stem);
        if (len > sl && strcmp(name + len - sl, stem) == 0) {
            snprintf(hint, n, " (found '%s': use the prefix '%.*s')", name,
                     (int)(len - sl), name);
            return;
        }
    }
}

static rnn_status load_from(rnn_stack **out, const rnn__st *f, const char *path,
                            const char *prefix, rnn_cell nonlinearity,
                            rnn_error *err)
{
    const rnn__st_tensor *hh = find_prefixed(f, prefix, "weight_hh_l0");
    if (!hh) {
        char hint[300];
        prefix_hint(f, hint, sizeof hint);
        return rnn__fail(err, RNN_ENOTFOUND,
                         "%s: no tensor '%sweight_hh_l0': not a PyTorch nn.RNN/LSTM/GRU "
                         "state_dict%s%s%s",
                         path, prefix, *prefix ? " under that prefix" : "", hint,
                         hint[0] || *prefix ? "" : " (is it under a prefix? see --prefix)");
    }
    if (find_prefixed(f, prefix, "weight_hr_l0"))
        return rnn__fail(err, RNN_EUNSUPPORTED,
                         "%s: '%sweight_hr_l0' found: LSTM projections (proj_size > 0) "
                         "are not supported", path, prefix);
    if (hh->ndim != 2 || hh->shape[1] < 1 || hh->shape[0] % hh->shape[1] != 0)
        return rnn__fail(err, RNN_ESHAPE,
                         "%s: cannot infer the cell type: '%sweight_hh_l0' must be "
                         "[G*H, H] with G = 1 (RNN), 3 (GRU) or 4 (LSTM)%s",
                         path, prefix, hh->ndim != 2 ? ", but it is not 2-D" : "");
    int64_t H = hh->shape[1], G = hh->shape[0] / hh->shape[1];
    rnn_cell cell;
    if (G == 1)
        cell = nonlinearity == RNN_CELL_RNN_RELU ? RNN_CELL_RNN_RELU : RNN_CELL_RNN_TANH;
    else if (G == 3)
        cell = RNN_CELL_GRU;
    else if (G == 4)
        cell = RNN_CELL_LSTM;
    else
        return rnn__fail(err, RNN_ESHAPE,
                         "%s: cannot infer the cell type: '%sweight_hh_l0' has shape "
                         "[%lld, %lld], rows/columns = %lld; expected 1 (RNN), 3 (GRU) "
                         "or 4 (LSTM)", path, prefix, (long long)hh->shape[0],
                         (long long)H, (long long)G);
    const rnn__st_tensor *ih = find_prefixed(f, prefix, "weight_ih_l0");
    if (!ih)
        return rnn__fail(err, RNN_ENOTFOUND, "%s: missing tensor '%sweight_ih_l0'",
                         path, prefix);
    if (ih->ndim != 2 || ih->shape[1] < 1)
        return rnn__fail(err, RNN_ESHAPE,
                         "%s: '%sweight_ih_l0' must be 2-D [G*H, input_size]", path,
                         prefix);
    if (H > 1 << 24 || ih->shape[1] > 1 << 24)
        return rnn__fail(err, RNN_EOVERFLOW, "%s: sizes too large (hidden %lld)",
                         path, (long long)H);

    int L = 0;
    char name[64];
    for (;;) {
        snprintf(name, sizeof name, "weight_ih_l%d", L);
        if (!find_prefixed(f, prefix, name))
            break;
        L++;
    }
    int D = find_prefixed(f, prefix, "weight_ih_l0_reverse") ? 2 : 1;
    rnn_stack_config cfg = {cell, (int)ih->shape[1], (int)H, L, D == 2, 0.0f};
    rnn_stack *s;
    rnn_status st = stack_alloc(&s, &cfg, err);
    if (st)
        return st;

    /* every expected tensor, with its exact shape */
    for (size_t i = 0; i < s->st.ntensors; i++) {
        const rnn__tensor_info *t = &s->st.tensors[i];
        const rnn__st_tensor *ft = find_prefixed(f, prefix, t->name);
        if (!ft) {
            const char *why = strncmp(t->name, "bias", 4) == 0
                                  ? " (models built with bias=False are not supported)"
                                  : "";
            st = rnn__fail(err, RNN_ENOTFOUND, "%s: missing tensor '%s%s' for a %d-layer%s %s%s",
                           path, prefix, t->name, L, D == 2 ? " bidirectional" : "",
                           rnn_cell_name(cell), why);
            goto fail;
        }
        int ok = ft->ndim == t->ndim && ft->shape[0] == t->shape[0] &&
                 (t->ndim == 1 || ft->shape[1] == t->shape[1]);
        if (!ok) {
            char got[128] = "[", want[64];
            for (int d = 0; d < ft->ndim; d++) {
                size_t len = strlen(got);
                snprintf(got + len, sizeof got - len, "%s%lld", d ? ", " : "",
                         (long long)ft->shape[d]);
            }
            strncat(got, "]", sizeof got - strlen(got) - 1);
            if (t->ndim == 2)
                snprintf(want, sizeof want, "[%lld, %lld]", (long long)t->shape[0],
                         (long long)t->shape[1]);
            else
                snprintf(want, sizeof want, "[%lld]", (long long)t->shape[0]);
            st = rnn__fail(err, RNN_ESHAPE, "%s: tensor '%s%s' has shape %s, expected %s",
                           path, prefix, t->name, got, want);
            goto fail;
        }
        if ((ft->dtype != RNN__F32 && ft->dtype != RNN__F64 && ft->dtype != RNN__F16 &&
             ft->dtype != RNN__BF16) ||
            rnn__convert_f32(s->params + t->offset, ft->data, ft->dtype, t->numel)) {
            st = rnn__fail(err, RNN_EFORMAT,
                           "%s: tensor '%s%s' has dtype %s; expected F32, F64, F16 or BF16",
                           path, prefix, t->name, rnn__dtype_name(ft->dtype));
            goto fail;
        }
    }
    /* parameter-like names that do not fit the inferred model */
    size_t plen = strlen(prefix);
    for (size_t i = 0; i < f->count; i++) {
        const char *n = f->tensors[i].name;
        if (strncmp(n, prefix, plen) != 0 || !looks_like_rnn_param(n + plen))
            continue;
        if (rnn__stack_find(&s->st, n + plen) < 0) {
            st = rnn__fail(err, RNN_EFORMAT,
                           "%s: unexpected tensor '%s' for a %d-layer%s %s (layers "
                           "must be numbered from l0 without gaps, and every layer "
                           "needs the same directions)",
                           path, n, L, D == 2 ? " bidirectional" : "", rnn_cell_name(cell));
            goto fail;
        }
    }
    *out = s;
    return RNN_OK;
fail:
    rnn_stack_free(s);
    return st;
}

rnn_status rnn_stack_load(rnn_stack **out, const char *path,
                              const char *prefix, rnn_cell nonlinearity,
                              rnn_error *err)
{
    if (!out || !path)
        return rnn__fail(err, RNN_EINVAL, "NULL argument");
    *out = NULL;
    rnn__st f;
    rnn_status st = rnn__st_read(&f, path, err);
    if (st)
        return st;
    st = load_from(out, &f, path, prefix ? prefix : "", nonlinearity, err);
    rnn__st_free(&f);
    return st;
}

rnn_status rnn_stack_save(rnn_stack *s, const char *path, const char *prefix)
{
    if (!prefix)
        prefix = "";
    size_t n = s->st.ntensors;
    rnn__st_entry *e = rnn__calloc(n, sizeof *e);
    char *names = rnn__calloc(n, 512);
    if (!e || !names) {
        rnn__free(e);
        rnn__free(names);
        return set_err(s, rnn__fail(&s->err, RNN_ENOMEM, "out of memory"));
    }
    for (size_t i = 0; i < n; i++) {
        const rnn__tensor_info *t = &s->st.tensors[i];
        snprintf(names + i * 512, 512, "%s%s", prefix, t->name);
        e[i].name = names + i * 512;
        e[i].dtype = RNN__F32;
        e[i].ndim = t->ndim;
        memcpy(e[i].shape, t->shape, sizeof t->shape);
        e[i].data = s->params + t->offset;
    }
    const char *keys[] = {"format"}, *values[] = {"pt"};
    rnn_status st = rnn__st_write(path, e, n, keys, values, 1, &s->err);
    rnn__free(e);
    rnn__free(names);
    return set_err(s, st);
}
