/*
 * statal_model.c -- features -> L Statal layers -> dense head, over one
 * flat parameter buffer
 *     statal.*_l0 | statal.*_l1 | ... | head.weight | head.bias
 * with its checkpoints and a trainer task, so that the common training
 * loop (best/last checkpoints, --resume, log.csv) drives it like an
 * rnn_model. The trainer reaches it through an rnn__trainee (trainer.h).
 */
#include "model/statal_model.h"

#include "layers/layers.h"
#include "model/trainer.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define STATAL_CHECKPOINT_VERSION "1"

static rnn_status ret(rnn__statal_model *m, rnn_status st)
{
    if (st == RNN_OK)
        rnn__error_clear(&m->err);
    return st;
}

rnn_status rnn__statal_check_config(const rnn__statal_config *c, rnn_error *err)
{
    if (c->mode < RNN__STATAL_COPY || c->mode > RNN__STATAL_MULTI)
        return rnn__fail(err, RNN_EINVAL, "unknown Statal mode %d", (int)c->mode);
    if (c->input_size < 1 || c->input_size > (1 << 24))
        return rnn__fail(err, RNN_EINVAL, "input_size must be in 1..16777216, not %d", c->input_size);
    if (c->hidden_size < 1 || c->hidden_size > (1 << 16))
        return rnn__fail(err, RNN_EINVAL, "hidden_size must be in 1..65536, not %d", c->hidden_size);
    if (c->num_layers < 1 || c->num_layers > 1000)
        return rnn__fail(err, RNN_EINVAL, "num_layers must be in 1..1000, not %d", c->num_layers);
    if (c->output_size < 1 || c->output_size > (1 << 24))
        return rnn__fail(err, RNN_EINVAL, "output_size must be in 1..16777216, not %d",
                         c->output_size);
    if (c->per_step != 0 && c->per_step != 1)
        return rnn__fail(err, RNN_EINVAL, "per_step must be 0 or 1");
    return RNN_OK;
}

static void add_tensor(rnn__statal_model *m, const char *name, int ndim, int64_t d0, int64_t d1,
                       size_t offset)
{
    rnn__tensor_info *t = &m->tensors[m->ntensors++];
    snprintf(t->name, sizeof t->name, "%s", name);
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

/* Parameters of a model of config c (0 on overflow). */
static size_t param_total(const rnn__statal_config *c)
{
    const int H = c->hidden_size, W = H + rnn__statal_state_width(c->mode, H);
    size_t off = 0, head;
    for (int l = 0; l < c->num_layers; l++) {
        size_t n = rnn__statal_param_count(c->mode, l ? W : c->input_size, H);
        if (!n || !rnn__add(&off, off, n))
            return 0;
    }
    if (!rnn__mul(&head, (size_t)c->output_size, (size_t)W + 1) || !rnn__add(&off, off, head) ||
        off >= ((size_t)1 << 40))
        return 0;
    return off;
}

rnn_status rnn__statal_memory(const rnn__statal_config *c, const rnn_optim_config *optim, int T,
                              int B, rnn_memory_estimate *out, rnn_error *err)
{
    memset(out, 0, sizeof *out);
    rnn_status st = rnn__statal_check_config(c, err);
    if (st)
        return st;
    if (T < 1 || B < 1)
        return rnn__fail(err, RNN_EINVAL, "T and B must be positive (T %d, B %d)", T, B);
    const size_t np = param_total(c);
    const int H = c->hidden_size, L = c->num_layers;
    const size_t W = (size_t)H + rnn__statal_state_width(c->mode, H);
    int slots = 0; /* as rnn_optim_new allocates them */
    if (optim)
        slots = optim->kind == RNN_OPT_ADAM || optim->kind == RNN_OPT_ADAMW ? 2
                : optim->kind == RNN_OPT_SGD ? (optim->momentum > 0)
                : 1 + (optim->momentum > 0);
    /* the workspace as rnn__statal_model_reserve lays it out */
    size_t cache = rnn__statal_cache_count(c->mode, T, B, H);
    size_t scratch = rnn__statal_scratch_count(c->mode, B, H);
    size_t tb, tbw, per, ws = 0;
    int ok = np && cache && scratch && rnn__mul(&tb, (size_t)T, (size_t)B) &&
             rnn__mul(&tbw, tb, W) && rnn__add(&per, cache, tbw) && rnn__add(&per, per, 32) &&
             rnn__mul(&ws, per, (size_t)L) && rnn__add(&ws, ws, 2 * (tbw + 16)) &&
             rnn__add(&ws, ws, scratch + 16) && rnn__add(&ws, ws, 2 * ((size_t)B * W + 16)) &&
             ws < ((size_t)1 << 60) / sizeof(float);
    if (!ok)
        return rnn__fail(err, RNN_EOVERFLOW, "a Statal model of %d x %d on batches of %d x %d "
                         "does not fit in memory sizes", L, H, B, T);
    out->num_params = np;
    out->params = out->grads = np * sizeof(float);
    out->optimizer = (size_t)slots * np * sizeof(float);
    out->workspace = ws * sizeof(float);
    out->total = out->params + out->grads + out->optimizer + out->workspace;
    return RNN_OK;
}

rnn_status rnn__statal_model_new(rnn__statal_model **out, const rnn__statal_config *c,
                                 uint64_t seed, rnn_error *err)
{
    *out = NULL;
    rnn_status st = rnn__statal_check_config(c, err);
    if (st)
        return st;
    rnn__statal_model *m = rnn__calloc(1, sizeof *m);
    if (!m)
        return rnn__fail(err, RNN_ENOMEM, "out of memory");
    m->cfg = *c;
    m->surrogate = 1;
    m->threads = 1;
    const int L = c->num_layers, H = c->hidden_size;
    m->S = rnn__statal_state_width(c->mode, H);
    m->W = H + m->S;
    m->layer_off = rnn__calloc((size_t)L, sizeof *m->layer_off);
    m->tensors = rnn__calloc((size_t)L * 3 + 2, sizeof *m->tensors);
    m->cache = rnn__calloc((size_t)L, sizeof *m->cache);
    m->y = rnn__calloc((size_t)L, sizeof *m->y);
    if (!m->layer_off || !m->tensors || !m->cache || !m->y) {
        rnn__statal_model_free(m);
        return rnn__fail(err, RNN_ENOMEM, "out of memory");
    }
    size_t off = 0, head;
    int ok = 1;
    for (int l = 0; l < L && ok; l++) {
        const int in = l ? m->W : c->input_size;
        size_t n = rnn__statal_param_count(c->mode, in, H);
        m->layer_off[l] = off;
        ok = n && rnn__add(&off, off, n);
    }
    ok = ok && rnn__mul(&head, (size_t)c->output_size, (size_t)m->W + 1);
    if (ok) {
        m->off_head_w = off;
        m->off_head_b = off + (size_t)c->output_size * m->W;
        ok = rnn__add(&off, off, head) && off < ((size_t)1 << 40);
    }
    if (!ok) {
        rnn__statal_model_free(m);
        return rnn__fail(err, RNN_EOVERFLOW, "model too large");
    }
    m->nparams = off;
    m->params = rnn__alloc_floats(off);
    m->grads = rnn__alloc_floats(off);
    if (!m->params || !m->grads) {
        rnn__statal_model_free(m);
        return rnn__fail(err, RNN_ENOMEM, "out of memory for %zu parameters", off);
    }
    for (int l = 0; l < L; l++) {
        const int in = l ? m->W : c->input_size;
        char name[RNN__NAME_MAX];
        size_t o = m->layer_off[l];
        snprintf(name, sizeof name, "statal.weight_x_l%d", l);
        add_tensor(m, name, 2, H, in, o);
        snprintf(name, sizeof name, "statal.weight_s_l%d", l);
        add_tensor(m, name, 2, H, m->S, o + (size_t)H * in);
        snprintf(name, sizeof name, "statal.bias_l%d", l);
        add_tensor(m, name, 1, H, 0, o + (size_t)H * (in + m->S));
    }
    add_tensor(m, "head.weight", 2, c->output_size, m->W, m->off_head_w);
    add_tensor(m, "head.bias", 1, c->output_size, 0, m->off_head_b);

    rnn__rng rng;
    rnn__rng_seed(&rng, seed);
    uniform(m->params, m->off_head_w, 1.0 / sqrt((double)H), &rng);
    uniform(m->params + m->off_head_w, m->nparams - m->off_head_w, 1.0 / sqrt((double)m->W), &rng);
    *out = m;
    return RNN_OK;
}

void rnn__statal_model_free(rnn__statal_model *m)
{
    if (!m)
        return;
    rnn__free(m->layer_off);
    rnn__free(m->tensors);
    rnn__free(m->cache);
    rnn__free(m->y);
    rnn__free_floats(m->params);
    rnn__free_floats(m->grads);
    rnn__free_floats(m->ws);
    rnn__free(m->lengths);
    rnn__free(m);
}

rnn_status rnn__statal_model_reserve(rnn__statal_model *m, int T, int B)
{
    if (T < 1 || B < 1)
        return ret(m, rnn__fail(&m->err, RNN_EINVAL, "T and B must be positive (T %d, B %d)", T, B));
    if (m->ws && T <= m->cap_T && B <= m->cap_B)
        return ret(m, RNN_OK);
    if (T < m->cap_T)
        T = m->cap_T;
    if (B < m->cap_B)
        B = m->cap_B;
    const int L = m->cfg.num_layers;
    size_t tb, tbw, cache = rnn__statal_cache_count(m->cfg.mode, T, B, m->cfg.hidden_size);
    size_t scratch = rnn__statal_scratch_count(m->cfg.mode, B, m->cfg.hidden_size);
    size_t total = 0, per;
    /* each part rounded up to 16 floats to keep them aligned */
    int ok = cache && scratch && rnn__mul(&tb, (size_t)T, (size_t)B) && tb <= INT_MAX &&
             rnn__mul(&tbw, tb, (size_t)m->W) && rnn__add(&per, cache, tbw) &&
             rnn__add(&per, per, 32) && rnn__mul(&total, per, (size_t)L) &&
             rnn__add(&total, total, 2 * (tbw + 16)) && rnn__add(&total, total, scratch + 16) &&
             rnn__add(&total, total, 2 * ((size_t)B * m->W + 16));
    if (!ok)
        return ret(m, rnn__fail(&m->err, RNN_EOVERFLOW, "workspace too large (T %d, B %d)", T, B));
    float *ws = rnn__alloc_floats(total);
    int32_t *lens = rnn__malloc((size_t)B * sizeof *lens);
    if (!ws || !lens) {
        rnn__free_floats(ws);
        rnn__free(lens);
        return ret(m, rnn__fail(&m->err, RNN_ENOMEM, "out of memory for the workspace (%.1f MB)",
                                (double)total * 4 / 1e6));
    }
    rnn__free_floats(m->ws);
    rnn__free(m->lengths);
    m->ws = ws;
    m->lengths = lens;
#define TAKE(n) (p += ((n) + 15) & ~(size_t)15, p - (((n) + 15) & ~(size_t)15))
    float *p = ws;
    for (int l = 0; l < L; l++) {
        m->cache[l] = TAKE(cache);
        m->y[l] = TAKE(tbw);
    }
    m->dy[0] = TAKE(tbw);
    m->dy[1] = TAKE(tbw);
    m->scratch = TAKE(scratch);
    m->last = TAKE((size_t)B * m->W);
    m->dlast = TAKE((size_t)B * m->W);
#undef TAKE
    m->cap_T = T;
    m->cap_B = B;
    m->have_cache = 0;
    return ret(m, RNN_OK);
}

rnn_status rnn__statal_model_forward(rnn__statal_model *m, float *out, const float *x,
                                     const int32_t *lengths, int T, int B, int training)
{
    rnn_status st = rnn__statal_model_reserve(m, T, B);
    if (st)
        return st;
    m->have_cache = 0;
    if (lengths) {
        for (int b = 0; b < B; b++)
            if (lengths[b] < 1 || lengths[b] > T)
                return ret(m, rnn__fail(&m->err, RNN_EINVAL,
                                        "lengths[%d] = %d is outside 1..T (T = %d)", b,
                                        lengths[b], T));
        memcpy(m->lengths, lengths, (size_t)B * sizeof *lengths);
    }
    const int32_t *lens = lengths ? m->lengths : NULL;
    const rnn__statal_config *c = &m->cfg;
    const int H = c->hidden_size, W = m->W, O = c->output_size;
    const float *in = x;
    for (int l = 0; l < c->num_layers; l++) {
        const int I = l ? W : c->input_size;
        rnn__statal_forward(c->mode, T, B, I, H, lens, m->y[l], W, NULL, m->cache[l], in, NULL,
                            m->params + m->layer_off[l]);
        in = m->y[l];
    }
    const float *hw = m->params + m->off_head_w, *hb = m->params + m->off_head_b;
    if (c->per_step) {
        rnn__dense_forward(out, in, hw, hb, T * B, W, O, m->threads);
    } else {
        for (int b = 0; b < B; b++) {
            const int t = lens ? lens[b] - 1 : T - 1;
            memcpy(m->last + (size_t)b * W, in + ((size_t)t * B + b) * W, sizeof(float) * W);
        }
        rnn__dense_forward(out, m->last, hw, hb, B, W, O, m->threads);
    }
    m->T = T;
    m->B = B;
    m->x = x;
    m->has_lengths = lengths != NULL;
    m->have_cache = training != 0;
    return ret(m, RNN_OK);
}

rnn_status rnn__statal_model_backward(rnn__statal_model *m, const float *dout)
{
    if (!m->have_cache)
        return ret(m, rnn__fail(&m->err, RNN_ESTATE, "backward needs a training forward first"));
    m->have_cache = 0;
    const rnn__statal_config *c = &m->cfg;
    const int T = m->T, B = m->B, H = c->hidden_size, W = m->W, O = c->output_size;
    const int L = c->num_layers;
    const int32_t *lens = m->has_lengths ? m->lengths : NULL;
    const size_t tbw = (size_t)T * B * W;
    float *hw = m->params + m->off_head_w;
    float *dhw = m->grads + m->off_head_w, *dhb = m->grads + m->off_head_b;
    const float *top = m->y[L - 1];
    float *dtop = m->dy[0];
    if (c->per_step) {
        rnn__dense_backward(dtop, 0, dhw, dhb, dout, top, hw, T * B, W, O, m->threads);
    } else {
        rnn__dense_backward(m->dlast, 0, dhw, dhb, dout, m->last, hw, B, W, O, m->threads);
        memset(dtop, 0, sizeof(float) * tbw);
        for (int b = 0; b < B; b++) {
            const int t = lens ? lens[b] - 1 : T - 1;
            memcpy(dtop + ((size_t)t * B + b) * W, m->dlast + (size_t)b * W, sizeof(float) * W);
        }
    }
    for (int l = L - 1; l >= 0; l--) {
        const int I = l ? W : c->input_size;
        float *dbelow = l ? m->dy[(L - l) & 1] : NULL;
        const float *below = l ? m->y[l - 1] : m->x;
        rnn__statal_backward(c->mode, T, B, I, H, lens, dbelow, 0, NULL,
                             m->grads + m->layer_off[l], m->cache[l], m->scratch, below,
                             m->params + m->layer_off[l], m->dy[(L - 1 - l) & 1], W, NULL,
                             m->surrogate, m->gradflow ? m->gradflow + (size_t)l * T : NULL);
    }
    return ret(m, RNN_OK);
}

void rnn__statal_model_record_gradflow(rnn__statal_model *m, double *out) { m->gradflow = out; }

/* ---- checkpoints ---------------------------------------------------------- */

char *rnn__statal_config_json(const rnn__statal_config *c)
{
    rnn__buf b = {0};
    rnn__buf_printf(&b,
                    "{\"cell\": \"statal\", \"mode\": \"%s\", \"input_size\": %d, "
                    "\"hidden_size\": %d, \"num_layers\": %d, \"output_size\": %d, "
                    "\"readout\": \"%s\", \"states_per_neuron\": %d}",
                    rnn__statal_mode_name(c->mode), c->input_size, c->hidden_size, c->num_layers,
                    c->output_size, c->per_step ? "steps" : "last",
                    c->mode == RNN__STATAL_MULTI ? RNN__STATAL_K : 1);
    if (b.oom) {
        rnn__buf_free(&b);
        return NULL;
    }
    return b.data;
}

rnn_status rnn__statal_config_parse(rnn__statal_config *c, const char *json, rnn_error *err)
{
    memset(c, 0, sizeof *c);
    rnn__json *j;
    rnn_status st = rnn__json_parse(&j, json, strlen(json), err);
    if (st) {
        rnn__error_prefix(err, "rnn.statal");
        return st;
    }
    const char *bad = NULL;
    const rnn__json *mode = j->kind == RNN__JSON_OBJECT ? rnn__json_get(j, "mode") : NULL;
    const rnn__json *ro = j->kind == RNN__JSON_OBJECT ? rnn__json_get(j, "readout") : NULL;
    int k = 0;
    if (j->kind != RNN__JSON_OBJECT)
        bad = "not a JSON object";
    else if (!mode || mode->kind != RNN__JSON_STRING || rnn__statal_mode_from_name(mode->str) < 0)
        bad = "'mode' must be copy, binary, prob or multi";
    else if (!rnn__json_get_int(j, "input_size", &c->input_size, 1) ||
             !rnn__json_get_int(j, "hidden_size", &c->hidden_size, 1) ||
             !rnn__json_get_int(j, "num_layers", &c->num_layers, 1) ||
             !rnn__json_get_int(j, "output_size", &c->output_size, 1))
        bad = "'input_size', 'hidden_size', 'num_layers', 'output_size' must be integers";
    else if (!ro || ro->kind != RNN__JSON_STRING ||
             (strcmp(ro->str, "steps") != 0 && strcmp(ro->str, "last") != 0))
        bad = "'readout' must be steps or last";
    if (!bad) {
        c->mode = (rnn__statal_mode)rnn__statal_mode_from_name(mode->str);
        c->per_step = strcmp(ro->str, "steps") == 0;
        if (!rnn__json_get_int(j, "states_per_neuron", &k, 1) ||
            k != (c->mode == RNN__STATAL_MULTI ? RNN__STATAL_K : 1))
            bad = "'states_per_neuron' does not match this build's Statal cell";
    }
    rnn__json_free(j);
    if (bad)
        return rnn__fail(err, RNN_EFORMAT, "rnn.statal: %s", bad);
    st = rnn__statal_check_config(c, err);
    if (st)
        rnn__error_prefix(err, "rnn.statal");
    return st;
}

rnn_status rnn__statal_model_save(rnn__statal_model *m, const char *path,
                                  const rnn__st_entry *extra, size_t nextra,
                                  const char *const *keys, const char *const *values,
                                  size_t nmeta, rnn_error *err)
{
    char *config = rnn__statal_config_json(&m->cfg);
    if (!config)
        return rnn__fail(err, RNN_ENOMEM, "out of memory");
    const char *head[] = {"format", "pt", "rnn.version", STATAL_CHECKPOINT_VERSION, "rnn.statal", config};
    rnn_status st = rnn__st_save_params(path, m->tensors, m->ntensors, m->params, extra, nextra, head,
                                        3, keys, values, nmeta, err);
    rnn__free(config);
    return st;
}

/* Copies the parameters of f into params (the layout of m), checking names,
 * shapes, dtypes and finiteness. */
static rnn_status read_params(const rnn__statal_model *m, const rnn__st *f, const char *path,
                              float *params, rnn_error *err)
{
    return rnn__st_read_params(f, path, m->tensors, m->ntensors, params, err);
}

static rnn_status config_of(rnn__statal_config *c, const rnn__st *f, const char *path,
                            rnn_error *err)
{
    const char *version = rnn__st_meta(f, "rnn.version"), *config = rnn__st_meta(f, "rnn.statal");
    if (!version || !config)
        return rnn__fail(err, RNN_EFORMAT, "%s: not a Statal checkpoint (no rnn.version / "
                         "rnn.statal in the metadata)", path);
    if (strcmp(version, STATAL_CHECKPOINT_VERSION) != 0)
        return rnn__fail(err, RNN_EUNSUPPORTED, "%s: checkpoint version %s; this build reads "
                         "version %s", path, version, STATAL_CHECKPOINT_VERSION);
    rnn_status st = rnn__statal_config_parse(c, config, err);
    if (st)
        rnn__error_prefix(err, "%s", path);
    return st;
}

rnn_status rnn__statal_model_from_st(rnn__statal_model **out, const rnn__st *f,
                                     const char *path, rnn_error *err)
{
    *out = NULL;
    rnn__statal_config c;
    rnn_status st = config_of(&c, f, path, err);
    if (st)
        return st;
    /* refused before allocating when the file cannot hold such a model */
    const size_t np = param_total(&c);
    if (!np)
        return rnn__fail(err, RNN_EOVERFLOW, "%s: rnn.statal describes a model too large", path);
    if ((st = rnn__st_check_holds(f, path, np, "rnn.statal", err)))
        return st;
    rnn__statal_model *m;
    st = rnn__statal_model_new(&m, &c, 0, err);
    if (st) {
        rnn__error_prefix(err, "%s", path);
        return st;
    }
    st = read_params(m, f, path, m->params, err);
    if (st) {
        rnn__statal_model_free(m);
        return st;
    }
    *out = m;
    return RNN_OK;
}

rnn_status rnn__statal_model_load(rnn__statal_model **out, const char *path, rnn_error *err)
{
    *out = NULL;
    rnn__st f;
    rnn_status st = rnn__st_read(&f, path, err);
    if (st)
        return st;
    st = rnn__statal_model_from_st(out, &f, path, err);
    rnn__st_free(&f);
    return st;
}

/* ---- the trainer's view of the model ---------------------------------------- */

static rnn_status trainee_save(void *model, const char *path, const rnn__st_entry *extra,
                               size_t nextra, const char *const *keys, const char *const *values,
                               size_t nmeta, rnn_error *err)
{
    return rnn__statal_model_save(model, path, extra, nextra, keys, values, nmeta, err);
}

static rnn_status trainee_load(void *model, const rnn__st *f, const char *path, float *params,
                               rnn_error *err)
{
    const rnn__statal_model *m = model;
    rnn__statal_config c;
    rnn_status st = config_of(&c, f, path, err);
    if (st)
        return st;
    const rnn__statal_config *mc = &m->cfg;
    if (c.mode != mc->mode || c.input_size != mc->input_size || c.hidden_size != mc->hidden_size ||
        c.num_layers != mc->num_layers || c.output_size != mc->output_size ||
        c.per_step != mc->per_step) {
        char *a = rnn__statal_config_json(&m->cfg), *b = rnn__statal_config_json(&c);
        st = rnn__fail(err, RNN_EINVAL, "%s: the checkpoint's model %s differs from this one %s",
                       path, b ? b : "?", a ? a : "?");
        rnn__free(a);
        rnn__free(b);
        return st;
    }
    return read_params(m, f, path, params, err);
}

/* ---- the training task: a dataset of feature sequences ---------------------- */

typedef struct statal_data {
    rnn__statal_model *m;
    rnn_dataset train, val;
    int has_val;
    rnn_loss loss;
    int B, O, I, steps;
    int32_t *perm;      /* [n] the order of epoch perm_epoch */
    int64_t perm_epoch; /* -1: not drawn yet */
    int32_t *lengths, *labels; /* [B], [T][B] or [B] */
    float *x, *y, *out;        /* [T][B][I], targets, outputs */
    uint8_t *mask;             /* [T][B] valid steps */
} statal_data;

static void sd_free(void *p)
{
    statal_data *d = p;
    if (!d)
        return;
    rnn__free(d->perm);
    rnn__free(d->lengths);
    rnn__free(d->labels);
    rnn__free_floats(d->x);
    rnn__free_floats(d->y);
    rnn__free_floats(d->out);
    rnn__free(d->mask);
    rnn__free(d);
}

static int len_of(const rnn_dataset *d, int i) { return d->lengths ? d->lengths[i] : d->T; }

/* This task's batch buffers as an rnn__seq_batch (features only). */
static rnn__seq_batch batch_of(const statal_data *s)
{
    return (rnn__seq_batch){.loss = s->loss, .O = s->O, .I = s->I, .steps = s->steps,
                            .lengths = s->lengths, .labels = s->labels, .x = s->x, .y = s->y,
                            .out = s->out, .mask = s->mask};
}

static void draw_order(rnn_trainer *t)
{
    statal_data *s = t->data;
    const int n = s->train.n;
    s->perm_epoch = t->epoch;
    rnn__rng r;
    rnn__rng_seed(&r, t->o.seed * 0x9E3779B97F4A7C15ull ^ (uint64_t)t->epoch ^ 0x57a7u);
    rnn__rng_permutation(&r, s->perm, n);
}

static void sd_epoch_start(rnn_trainer *t) { draw_order(t); }

static rnn_status sd_forward_backward(rnn_trainer *t, double *loss)
{
    statal_data *s = t->data;
    rnn__statal_model *m = s->m;
    if (s->perm_epoch != t->epoch)
        draw_order(t);
    const int lo = (int)(t->batch * s->B);
    const int B = s->train.n - lo < s->B ? s->train.n - lo : s->B;
    const rnn__seq_batch sb = batch_of(s);
    const int T = rnn__seq_gather(&sb, &s->train, s->perm + lo, B);
    rnn_status st = rnn__statal_model_forward(m, s->out, s->x, s->lengths, T, B, 1);
    if (st)
        return rnn__fail(&t->err, st, "%s", m->err.msg);
    size_t count;
    double sum = rnn__seq_loss(&sb, s->out, T, B, &count, 1);
    *loss = count ? sum / (double)count : 0.0;
    st = rnn__statal_model_backward(m, s->out);
    return st ? rnn__fail(&t->err, st, "%s", m->err.msg) : RNN_OK;
}

static rnn_status sd_evaluate(rnn_trainer *t, double *loss)
{
    statal_data *s = t->data;
    rnn__statal_model *m = s->m;
    *loss = NAN;
    if (!s->has_val)
        return rnn__fail(&t->err, RNN_EINVAL, "no validation data");
    const rnn__seq_batch sb = batch_of(s);
    double sum = 0;
    size_t total = 0;
    int32_t idx[4096];
    for (int lo = 0; lo < s->val.n; lo += s->B) {
        const int B = s->val.n - lo < s->B ? s->val.n - lo : s->B;
        for (int b = 0; b < B; b++)
            idx[b] = lo + b;
        const int T = rnn__seq_gather(&sb, &s->val, idx, B);
        rnn_status st = rnn__statal_model_forward(m, s->out, s->x, s->lengths, T, B, 0);
        if (st)
            return rnn__fail(&t->err, st, "%s", m->err.msg);
        size_t count;
        sum += rnn__seq_loss(&sb, NULL, T, B, &count, 1);
        total += count;
    }
    *loss = total ? sum / (double)total : NAN;
    return RNN_OK;
}

static size_t sd_save_extra(rnn_trainer *t, rnn__st_entry *out)
{
    (void)t; /* the order is recomputed from the seed and the epoch */
    (void)out;
    return 0;
}

static rnn_status sd_restore_extra(rnn_trainer *t, const rnn__st *f, const char *path)
{
    (void)t;
    (void)f;
    (void)path;
    return RNN_OK;
}

static uint64_t hash_dataset(uint64_t h, const rnn_dataset *d, int I, int O, int steps,
                             rnn_loss loss)
{
    const size_t n = (size_t)d->n, T = (size_t)d->T, per = steps ? n * T : n;
    h = rnn__fnv1a(h, &d->n, sizeof d->n);
    h = rnn__fnv1a(h, &d->T, sizeof d->T);
    if (d->lengths)
        h = rnn__fnv1a(h, d->lengths, n * sizeof *d->lengths);
    h = rnn__fnv1a(h, d->x, n * T * (size_t)I * sizeof *d->x);
    if (loss == RNN_LOSS_XENT)
        return rnn__fnv1a(h, d->labels, per * sizeof *d->labels);
    return rnn__fnv1a(h, d->y, per * (size_t)O * sizeof *d->y);
}

static uint64_t sd_data_hash(const rnn_trainer *t)
{
    const statal_data *s = t->data;
    uint64_t h = hash_dataset(0xcbf29ce484222325ull, &s->train, s->I, s->O, s->steps, s->loss);
    return s->has_val ? hash_dataset(h, &s->val, s->I, s->O, s->steps, s->loss) : h;
}

static const rnn__task statal_task = {
    "statal", sd_epoch_start, sd_forward_backward, NULL, sd_evaluate,
    sd_save_extra, sd_restore_extra, sd_data_hash, sd_free,
};

static rnn_status check_dataset(const rnn_dataset *d, const rnn__statal_model *m, rnn_loss loss,
                                const char *what, rnn_error *err)
{
    const int steps = m->cfg.per_step, O = m->cfg.output_size;
    if (d->n < 1 || d->T < 1)
        return rnn__fail(err, RNN_EINVAL, "%s: no sequences (n %d, T %d)", what, d->n, d->T);
    if (!d->x)
        return rnn__fail(err, RNN_EINVAL, "%s: the Statal model reads features", what);
    if ((loss == RNN_LOSS_XENT && !d->labels) || (loss != RNN_LOSS_XENT && !d->y))
        return rnn__fail(err, RNN_EINVAL, "%s: targets missing for this loss", what);
    for (int i = 0; i < d->n; i++) {
        const int len = len_of(d, i);
        if (len < 1 || len > d->T)
            return rnn__fail(err, RNN_EINVAL, "%s: sequence %d has length %d, outside 1..%d", what,
                             i, len, d->T);
        if (loss == RNN_LOSS_XENT)
            for (int t = 0; t < (steps ? len : 1); t++) {
                int32_t l = d->labels[(size_t)i * (steps ? d->T : 1) + t];
                if (l >= O || (l < 0 && !steps))
                    return rnn__fail(err, RNN_EINVAL, "%s: sequence %d: label %d outside 0..%d",
                                     what, i, l, O - 1);
            }
    }
    return RNN_OK;
}

rnn_status rnn__statal_trainer_new(rnn_trainer **out, rnn__statal_model *m,
                                   const rnn_train_options *o, rnn_loss loss,
                                   const rnn_dataset *train, const rnn_dataset *val,
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
    statal_data *s = rnn__calloc(1, sizeof *s);
    if (!s)
        return rnn__fail(err, RNN_ENOMEM, "out of memory");
    s->m = m;
    s->train = *train;
    s->has_val = val != NULL;
    if (val)
        s->val = *val;
    s->loss = loss;
    s->perm_epoch = -1;
    s->B = o->batch;
    s->O = m->cfg.output_size;
    s->I = m->cfg.input_size;
    s->steps = m->cfg.per_step;
    const int T = val && val->T > train->T ? val->T : train->T;
    const size_t B = (size_t)s->B, tb = (size_t)T * B, rows = s->steps ? tb : B;
    s->perm = rnn__malloc((size_t)train->n * sizeof *s->perm);
    s->lengths = rnn__malloc(B * sizeof *s->lengths);
    s->mask = rnn__malloc(tb);
    s->x = rnn__alloc_floats(tb * (size_t)s->I);
    s->labels = loss == RNN_LOSS_XENT ? rnn__malloc(rows * sizeof *s->labels) : NULL;
    s->y = loss != RNN_LOSS_XENT ? rnn__alloc_floats(rows * (size_t)s->O) : NULL;
    s->out = rnn__alloc_floats(rows * (size_t)s->O);
    if (!s->perm || !s->lengths || !s->mask || !s->x || (loss == RNN_LOSS_XENT && !s->labels) ||
        (loss != RNN_LOSS_XENT && !s->y) || !s->out) {
        sd_free(s);
        return rnn__fail(err, RNN_ENOMEM, "out of memory for the batch buffers");
    }
    st = rnn__statal_model_reserve(m, T, s->B);
    if (st) {
        rnn__fail(err, st, "%s", m->err.msg);
        sd_free(s);
        return st;
    }
    rnn__trainee p = {m, m->params, m->grads, m->nparams, m->threads, NULL,
                      trainee_save, trainee_load, m->tensors, m->ntensors};
    int64_t bpe = (train->n + s->B - 1) / s->B;
    return rnn__trainer_new_custom(out, &p, &oo, &statal_task, s, bpe, (int64_t)s->B * T, err);
}

rnn_status rnn__statal_predict(rnn__statal_model *m, float *out, const rnn_dataset *d, int batch,
                               rnn_error *err)
{
    const rnn__statal_config *c = &m->cfg;
    if (batch < 1 || batch > 4096)
        return rnn__fail(err, RNN_EINVAL, "batch must be in 1..4096, not %d", batch);
    if (d->n < 1 || d->T < 1 || !d->x)
        return rnn__fail(err, RNN_EINVAL, "dataset does not fit the model");
    const int O = c->output_size, I = c->input_size, T = d->T, steps = c->per_step;
    const size_t B = (size_t)batch, tb = (size_t)T * B;
    float *x = rnn__alloc_floats(tb * (size_t)I);
    float *o = rnn__alloc_floats((steps ? tb : B) * (size_t)O);
    int32_t *lens = rnn__malloc(B * sizeof *lens);
    rnn_status st = RNN_OK;
    if (!x || !o || !lens) {
        st = rnn__fail(err, RNN_ENOMEM, "out of memory");
        goto out;
    }
    for (int lo = 0; lo < d->n; lo += batch) {
        const int Bk = d->n - lo < batch ? d->n - lo : batch;
        int Tk = 1;
        for (int b = 0; b < Bk; b++) {
            lens[b] = len_of(d, lo + b);
            if (lens[b] < 1 || lens[b] > T) {
                st = rnn__fail(err, RNN_EINVAL, "sequence %d has length %d, outside 1..%d", lo + b,
                               lens[b], T);
                goto out;
            }
            Tk = lens[b] > Tk ? lens[b] : Tk;
        }
        for (int t = 0; t < Tk; t++)
            for (int b = 0; b < Bk; b++) {
                const size_t r = (size_t)t * Bk + b, src = (size_t)(lo + b) * T + t;
                if (t < lens[b])
                    memcpy(x + r * I, d->x + src * I, sizeof(float) * (size_t)I);
                else
                    memset(x + r * I, 0, sizeof(float) * (size_t)I);
            }
        st = rnn__statal_model_forward(m, o, x, lens, Tk, Bk, 0);
        if (st) {
            rnn__fail(err, st, "%s", m->err.msg);
            goto out;
        }
        if (!steps) {
            memcpy(out + (size_t)lo * O, o, sizeof(float) * (size_t)Bk * O);
            continue;
        }
        for (int b = 0; b < Bk; b++)
            for (int t = 0; t < T; t++) {
                float *dst = out + ((size_t)(lo + b) * T + t) * O;
                if (t < lens[b])
                    memcpy(dst, o + ((size_t)t * Bk + b) * O, sizeof(float) * (size_t)O);
                else
                    memset(dst, 0, sizeof(float) * (size_t)O);
            }
    }
out:
    rnn__free_floats(x);
    rnn__free_floats(o);
    rnn__free(lens);
    return st;
}
