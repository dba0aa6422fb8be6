/*
 * checkpoint.c -- models in safetensors files: every parameter under its
 * PyTorch name (embed.weight, rnn.weight_ih_l0, ..., head.weight,
 * head.bias), the configuration as JSON in __metadata__["rnn.config"], and
 * whatever else the caller adds (vocabulary, optimizer state, counters).
 * Written atomically: the previous file survives any failure.
 */
#include "model/model.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define CHECKPOINT_VERSION "1"

char *rnn__model_config_json(const rnn_model_config *c)
{
    rnn__buf b = {0};
    static const char *const readouts[] = {"steps", "last", "mean", "max", "attention"};
    rnn__buf_printf(&b,
                    "{\"cell\": \"%s\", \"vocab_size\": %d, \"embed_size\": %d, "
                    "\"input_size\": %d, \"hidden_size\": %d, \"num_layers\": %d, "
                    "\"bidirectional\": %s, \"dropout\": %.9g, \"output_size\": %d, "
                    "\"readout\": \"%s\", \"conv_filters\": %d, \"conv_kernel\": %d, "
                    "\"conv_dilation\": %d, \"cond_classes\": %d, \"cond_size\": %d}",
                    rnn_cell_name(c->cell), c->vocab_size, c->vocab_size ? c->embed_size : 0,
                    c->vocab_size ? 0 : c->input_size, c->hidden_size, c->num_layers,
                    c->bidirectional ? "true" : "false", (double)c->dropout, c->output_size,
                    readouts[c->readout >= 0 && c->readout <= 4 ? c->readout : 0],
                    c->conv_filters, c->conv_filters ? c->conv_kernel : 0,
                    c->conv_filters ? c->conv_dilation : 0, c->cond_classes,
                    c->cond_classes ? c->cond_size : 0);
    if (b.oom) {
        rnn__buf_free(&b);
        return NULL;
    }
    return b.data;
}

rnn_status rnn__model_config_parse(rnn_model_config *c, const char *json, rnn_error *err)
{
    memset(c, 0, sizeof *c);
    rnn__json *j;
    rnn_status st = rnn__json_parse(&j, json, strlen(json), err);
    if (st) {
        rnn__error_prefix(err, "rnn.config");
        return st;
    }
    const char *bad = NULL;
    if (j->kind != RNN__JSON_OBJECT)
        bad = "not a JSON object";
    const rnn__json *cell = bad ? NULL : rnn__json_get(j, "cell");
    if (!bad && (!cell || cell->kind != RNN__JSON_STRING))
        bad = "'cell' must be a string";
    if (!bad) {
        int found = 0;
        for (int k = RNN_CELL_RNN_TANH; k <= RNN_CELL_GRU; k++)
            if (strcmp(cell->str, rnn_cell_name((rnn_cell)k)) == 0) {
                c->cell = (rnn_cell)k;
                found = 1;
            }
        if (!found)
            bad = "'cell' must be lstm, gru, rnn_tanh or rnn_relu";
    }
    if (!bad && !rnn__json_get_int(j, "vocab_size", &c->vocab_size, 0))
        bad = "'vocab_size' must be a non-negative integer";
    if (!bad && !rnn__json_get_int(j, "embed_size", &c->embed_size, c->vocab_size > 0))
        bad = "'embed_size' must be a positive integer";
    if (!bad && !rnn__json_get_int(j, "input_size", &c->input_size, c->vocab_size == 0))
        bad = "'input_size' must be a positive integer";
    if (!bad && !rnn__json_get_int(j, "hidden_size", &c->hidden_size, 1))
        bad = "'hidden_size' must be a positive integer";
    if (!bad && !rnn__json_get_int(j, "num_layers", &c->num_layers, 1))
        bad = "'num_layers' must be a positive integer";
    if (!bad && !rnn__json_get_int(j, "output_size", &c->output_size, 0))
        bad = "'output_size' must be a positive integer";
    if (!bad && c->output_size == 0)
        c->output_size = c->vocab_size; /* a language model predicts its vocabulary */
    const rnn__json *bi = bad ? NULL : rnn__json_get(j, "bidirectional");
    if (!bad && bi && bi->kind != RNN__JSON_BOOL)
        bad = "'bidirectional' must be true or false";
    if (!bad && bi)
        c->bidirectional = bi->boolean;
    const rnn__json *ro = bad ? NULL : rnn__json_get(j, "readout");
    if (!bad && ro) {
        static const char *const names[] = {"steps", "last", "mean", "max", "attention"};
        int found = -1;
        for (int k = 0; ro->kind == RNN__JSON_STRING && k < 5; k++)
            if (strcmp(ro->str, names[k]) == 0)
                found = k;
        if (found < 0)
            bad = "'readout' must be steps, last, mean, max or attention";
        else
            c->readout = (rnn_readout)found;
    }
    if (!bad && (!rnn__json_get_int(j, "conv_filters", &c->conv_filters, 0) ||
                 !rnn__json_get_int(j, "conv_kernel", &c->conv_kernel, 0) ||
                 !rnn__json_get_int(j, "conv_dilation", &c->conv_dilation, 0)))
        bad = "'conv_filters', 'conv_kernel', 'conv_dilation' must be non-negative integers";
    if (!bad && (!rnn__json_get_int(j, "cond_classes", &c->cond_classes, 0) ||
                 !rnn__json_get_int(j, "cond_size", &c->cond_size, 0)))
        bad = "'cond_classes', 'cond_size' must be non-negative integers";
    const rnn__json *dr = bad ? NULL : rnn__json_get(j, "dropout");
    if (!bad && dr && (dr->kind != RNN__JSON_NUMBER || !(dr->number >= 0 && dr->number < 1)))
        bad = "'dropout' must be a number in [0, 1)";
    if (!bad && dr)
        c->dropout = (float)dr->number;
    rnn__json_free(j);
    if (bad)
        return rnn__fail(err, RNN_EFORMAT, "rnn.config: %s", bad);
    st = rnn__model_check_config(c, err);
    if (st)
        rnn__error_prefix(err, "rnn.config");
    return st;
}

rnn_status rnn__st_save_params(const char *path, const rnn__tensor_info *tensors, size_t ntensors,
                               const float *params, const rnn__st_entry *extra, size_t nextra,
                               const char *const *head, size_t nhead, const char *const *keys,
                               const char *const *values, size_t nmeta, rnn_error *err)
{
    const size_t n = ntensors + nextra, nm = nhead + nmeta;
    rnn__st_entry *e = rnn__calloc(n, sizeof *e);
    const char **k = rnn__calloc(nm, sizeof *k), **v = rnn__calloc(nm, sizeof *v);
    rnn_status st;
    if (!e || !k || !v) {
        st = rnn__fail(err, RNN_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < ntensors; i++) {
        const rnn__tensor_info *t = &tensors[i];
        e[i].name = t->name;
        e[i].dtype = RNN__F32;
        e[i].ndim = t->ndim;
        memcpy(e[i].shape, t->shape, sizeof t->shape);
        e[i].data = params + t->offset;
    }
    for (size_t i = 0; i < nextra; i++)
        e[ntensors + i] = extra[i];
    for (size_t i = 0; i < nhead; i++) {
        k[i] = head[2 * i];
        v[i] = head[2 * i + 1];
    }
    for (size_t i = 0; i < nmeta; i++) {
        k[nhead + i] = keys[i];
        v[nhead + i] = values[i];
    }
    st = rnn__st_write(path, e, n, k, v, nm, err);
out:
    rnn__free(e);
    rnn__free(k);
    rnn__free(v);
    return st;
}

rnn_status rnn__model_save(rnn_model *m, const char *path, const rnn__st_entry *extra,
                           size_t nextra, const char *const *keys,
                           const char *const *values, size_t nmeta, rnn_error *err)
{
    char *config = rnn__model_config_json(&m->cfg);
    if (!config)
        return rnn__fail(err, RNN_ENOMEM, "out of memory");
    const char *head[] = {"format", "pt", "rnn.version", CHECKPOINT_VERSION, "rnn.config", config};
    rnn_status st = rnn__st_save_params(path, m->tensors, m->ntensors, m->params, extra, nextra, head,
                                        3, keys, values, nmeta, err);
    rnn__free(config);
    return st;
}

rnn_status rnn__st_check_holds(const rnn__st *f, const char *path, size_t nparams,
                               const char *what, rnn_error *err)
{
    size_t held = 0;
    for (size_t i = 0; i < f->count; i++)
        if (!rnn__add(&held, held, f->tensors[i].numel))
            held = SIZE_MAX;
    if (nparams > held)
        return rnn__fail(err, RNN_EFORMAT,
                         "%s: %s describes a model of %zu parameters, but the file holds "
                         "only %zu values", path, what, nparams, held);
    return RNN_OK;
}

rnn_status rnn__st_read_params(const rnn__st *f, const char *path,
                               const rnn__tensor_info *tensors, size_t ntensors, float *params,
                               rnn_error *err)
{
    for (size_t i = 0; i < ntensors; i++) {
        const rnn__tensor_info *t = &tensors[i];
        const rnn__st_tensor *ft = rnn__st_find(f, t->name);
        if (!ft)
            return rnn__fail(err, RNN_EFORMAT, "%s: missing tensor '%s'", path, t->name);
        int shape_ok = ft->ndim == t->ndim && ft->numel == t->numel;
        for (int d = 0; shape_ok && d < t->ndim; d++)
            shape_ok = ft->shape[d] == t->shape[d];
        if (!shape_ok) {
            char want[96] = "";
            for (int d = 0; d < t->ndim; d++) {
                size_t len = strlen(want);
                snprintf(want + len, sizeof want - len, "%s%lld", d ? ", " : "", (long long)t->shape[d]);
            }
            return rnn__fail(err, RNN_ESHAPE, "%s: tensor '%s' does not have the shape its "
                             "config implies ([%s])", path, t->name, want);
        }
        if ((ft->dtype != RNN__F32 && ft->dtype != RNN__F64 && ft->dtype != RNN__F16 &&
             ft->dtype != RNN__BF16) ||
            rnn__convert_f32(params + t->offset, ft->data, ft->dtype, t->numel))
            return rnn__fail(err, RNN_EFORMAT, "%s: tensor '%s' has dtype %s; expected a float type",
                             path, t->name, rnn__dtype_name(ft->dtype));
        /* our trainers never write NaN or Inf weights; a file that has them
         * was damaged or diverged elsewhere, and would only produce NaN */
        const float *w = params + t->offset;
        for (size_t k = 0; k < t->numel; k++)
            if (!isfinite(w[k]))
                return rnn__fail(err, RNN_EFORMAT, "%s: tensor '%s' element %zu is %s; the "
                                 "weights must be finite", path, t->name, k,
                                 isnan(w[k]) ? "NaN" : "Inf");
    }
    return RNN_OK;
}

rnn_status rnn__model_from_st(rnn_model **out, const rnn__st *f, const char *path,
                              rnn_error *err)
{
    *out = NULL;
    const char *version = rnn__st_meta(f, "rnn.version");
    const char *config = rnn__st_meta(f, "rnn.config");
    if (!version || !config) {
        /* another verb's checkpoint (seq2seq, a Statal task model): say
         * whose it is and what reads it */
        const char *task = rnn__st_meta(f, "rnn.task");
        static const char *const readers[][2] = {
            {"seq2seq", "rnn seq2seq translate / rnn seq2seq eval"},
            {"adding", "rnn task adding, which evaluates it"},
            {"copy", "rnn task copy, which evaluates it"},
        };
        for (size_t i = 0; task && i < sizeof readers / sizeof readers[0]; i++)
            if (strcmp(task, readers[i][0]) == 0)
                return rnn__fail(err, RNN_EFORMAT,
                                 "%s: a model for '%s'%s, which this command cannot read; use %s",
                                 path, task, rnn__st_meta(f, "rnn.statal") ? " of Statal cells" : "",
                                 readers[i][1]);
        return rnn__fail(err, RNN_EFORMAT,
                         "%s: not an rnn checkpoint (no rnn.version / rnn.config in the "
                         "metadata; for a bare PyTorch state_dict use 'rnn run')", path);
    }
    if (strcmp(version, CHECKPOINT_VERSION) != 0)
        return rnn__fail(err, RNN_EUNSUPPORTED,
                         "%s: checkpoint version %s; this build reads version %s", path,
                         version, CHECKPOINT_VERSION);
    rnn_model_config c;
    rnn_status st = rnn__model_config_parse(&c, config, err);
    if (st) {
        rnn__error_prefix(err, "%s", path);
        return st;
    }
    /* the file must hold the parameters its config describes: a config
     * asking for a huge model is refused here, before it is allocated,
     * rather than after (or by the OOM killer) */
    rnn_memory_estimate est;
    st = rnn_model_memory(&c, NULL, 1, 1, &est, err);
    if (st) {
        rnn__error_prefix(err, "%s: rnn.config", path);
        return st;
    }
    if ((st = rnn__st_check_holds(f, path, est.num_params, "rnn.config", err)))
        return st;
    rnn_model *m;
    st = rnn_model_new(&m, &c, 0, err);
    if (st) {
        rnn__error_prefix(err, "%s", path);
        return st;
    }
    if ((st = rnn__st_read_params(f, path, m->tensors, m->ntensors, m->params, err))) {
        rnn_model_free(m);
        return st;
    }
    *out = m;
    return RNN_OK;
}

rnn_status rnn_model_save(rnn_model *m, const char *path, const char *const *keys,
                          const char *const *values, size_t count)
{
    rnn_status st = rnn__model_save(m, path, NULL, 0, keys, values, count, &m->err);
    if (st == RNN_OK)
        rnn__error_clear(&m->err);
    return st;
}

rnn_status rnn_model_load(rnn_model **out, const char *path, rnn_error *err)
{
    if (!out || !path)
        return rnn__fail(err, RNN_EINVAL, "NULL argument");
    *out = NULL;
    rnn__st f;
    rnn_status st = rnn__st_read(&f, path, err);
    if (st)
        return st;
    st = rnn__model_from_st(out, &f, path, err);
    rnn__st_free(&f);
    return st;
}
