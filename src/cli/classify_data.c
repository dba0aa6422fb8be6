/*
 * classify_data.c -- examples, checkpoint metadata and metrics for
 * `rnn classify` (see classify_data.h).
 */
#include "cli/classify_data.h"

#include "io/io.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *cls_input_name(cls_input in)
{
    return in == CLS_CHAR ? "char" : in == CLS_WORD ? "word" : "features";
}

void cls_meta_free(cls_meta *m)
{
    rnn__vocab_free(&m->chars);
    rnn__strtab_free(&m->words);
    rnn__strtab_free(&m->labels);
}

void cls_set_free(cls_set *s)
{
    free(s->tokens);
    free(s->lengths);
    free(s->labels);
    free(s->x);
    free(s->rows);
    free(s->index);
    memset(s, 0, sizeof *s);
}

/* "a, b, c" (the first few) for messages about unknown labels. */
static void label_list(const rnn__strtab *t, char *out, size_t n)
{
    size_t len = 0;
    out[0] = '\0';
    for (int i = 0; i < t->n && len + 8 < n; i++) {
        int w = snprintf(out + len, n - len, "%s%s", i ? ", " : "", t->s[i]);
        if (w < 0 || (size_t)w >= n - len || (i >= 9 && i + 1 < t->n)) {
            snprintf(out + len, n - len, ", ... (%d in all)", t->n);
            return;
        }
        len += (size_t)w;
    }
}

int cls_encode_rows(const char *verb, const char *path, const cls_meta *m,
                    const rnn__tsv_row *const *rows, int n, int with_labels, cls_set *out)
{
    memset(out, 0, sizeof *out);
    int T = 1;
    for (int i = 0; i < n; i++) {
        if (rows[i]->ntok > (size_t)m->max_len)
            return cli_error(verb, CLI_EXIT_INPUT, "%s: line %zu: %zu %s, more than the model's limit of %d",
                             path, rows[i]->line, rows[i]->ntok,
                             m->input == CLS_WORD ? "words" : "characters", m->max_len);
        if ((int)rows[i]->ntok > T)
            T = (int)rows[i]->ntok;
    }
    const size_t nT = (size_t)n * (size_t)T;
    out->tokens = calloc(nT, sizeof *out->tokens);
    out->lengths = malloc((size_t)n * sizeof *out->lengths);
    out->rows = malloc((size_t)n * sizeof *out->rows);
    if (with_labels)
        out->labels = malloc((m->per_step ? nT : (size_t)n) * sizeof *out->labels);
    if (!out->tokens || !out->lengths || !out->rows || (with_labels && !out->labels)) {
        cls_set_free(out);
        return cli_error(verb, CLI_EXIT_INTERNAL, "out of memory");
    }
    const int unk = m->input == CLS_WORD ? rnn__strtab_index(&m->words, CLS_UNK) : -1;
    char known[512];
    for (int i = 0; i < n; i++) {
        const rnn__tsv_row *r = rows[i];
        out->rows[i] = r;
        out->lengths[i] = (int32_t)r->ntok;
        int32_t *tok = out->tokens + (size_t)i * T;
        for (size_t t = 0; t < r->ntok; t++) {
            int id;
            if (m->input == CLS_CHAR) {
                id = rnn__vocab_index(&m->chars, r->cps[t]);
                if (id < 0) {
                    char d[48];
                    rnn__describe_char(r->cps[t], d, sizeof d);
                    cls_set_free(out);
                    return cli_error(verb, CLI_EXIT_INPUT,
                                     "%s: line %zu: character %s is not in the model's vocabulary",
                                     path, r->line, d);
                }
            } else {
                id = rnn__strtab_index(&m->words, r->words[t]);
                if (id < 0)
                    id = unk;
            }
            tok[t] = id;
        }
        if (!with_labels)
            continue;
        if (!m->per_step) {
            int l = rnn__strtab_index(&m->labels, r->label);
            if (l < 0) {
                label_list(&m->labels, known, sizeof known);
                int rc = cli_error(verb, CLI_EXIT_INPUT,
                                   "%s: line %zu: label '%s' was not seen in training (the model's "
                                   "labels: %s)", path, r->line, r->label, known);
                cls_set_free(out);
                return rc;
            }
            out->labels[i] = l;
            continue;
        }
        int32_t *lab = out->labels + (size_t)i * T;
        for (int t = 0; t < T; t++) {
            int l = -1;
            if ((size_t)t < r->ntok && (l = rnn__strtab_index(&m->labels, r->step_labels[t])) < 0) {
                label_list(&m->labels, known, sizeof known);
                int rc = cli_error(verb, CLI_EXIT_INPUT,
                                   "%s: line %zu: label '%s' (step %d) was not seen in training (the "
                                   "model's labels: %s)", path, r->line, r->step_labels[t], t + 1,
                                   known);
                cls_set_free(out);
                return rc;
            }
            lab[t] = l;
        }
    }
    out->d = (rnn_dataset){n, T, out->lengths, out->tokens, NULL, NULL, out->labels, NULL};
    return 0;
}

/* ---- .npy ----------------------------------------------------------------- */

void cls_npy_free(cls_npy *a)
{
    free(a->x);
    free(a->labels);
    free(a->lengths);
    memset(a, 0, sizeof *a);
}

static const char *dtype_desc(rnn__dtype t)
{
    switch (t) {
    case RNN__F32: return "float32";
    case RNN__F64: return "float64";
    case RNN__I32: return "int32";
    case RNN__I64: return "int64";
    default: return rnn__dtype_name(t);
    }
}

static void shape_str(const rnn__npy *a, char *out, size_t n)
{
    size_t len = (size_t)snprintf(out, n, "(");
    for (int i = 0; i < a->ndim && len < n; i++)
        len += (size_t)snprintf(out + len, n - len, "%s%lld", i ? ", " : "", (long long)a->shape[i]);
    if (len < n)
        snprintf(out + len, n - len, "%s)", a->ndim == 1 ? "," : "");
}

/* Integer array as int64 (floats are refused: class ids are integers). */
static int read_ints(const char *verb, const char *path, rnn__npy *a, int64_t **v)
{
    *v = malloc((a->numel ? a->numel : 1) * sizeof **v);
    if (!*v)
        return cli_error(verb, CLI_EXIT_INTERNAL, "out of memory");
    if (rnn__convert_i64(*v, a->data, a->dtype, a->numel) != RNN_OK) {
        free(*v);
        *v = NULL;
        return cli_error(verb, CLI_EXIT_INPUT, "%s: expected integers (int32 or int64), got %s", path,
                         dtype_desc(a->dtype));
    }
    return 0;
}

int cls_npy_load(const char *verb, const char *xpath, const char *ypath, const char *lpath,
                 cls_npy *out)
{
    memset(out, 0, sizeof *out);
    rnn__npy x = {0}, y = {0}, l = {0};
    int64_t *yv = NULL, *lv = NULL;
    rnn_error e;
    char shp[128];
    int rc = 0;
    rnn_status st = rnn__npy_read(&x, xpath, &e);
    if (st)
        return cli_fail_status(verb, st, e.msg);
    shape_str(&x, shp, sizeof shp);
    if (x.ndim != 3 || (x.dtype != RNN__F32 && x.dtype != RNN__F64)) {
        rc = cli_error(verb, CLI_EXIT_INPUT, "%s: expected a float array [N, T, F], got %s %s", xpath,
                       dtype_desc(x.dtype), shp);
        goto out;
    }
    if (x.shape[0] < 1 || x.shape[1] < 1 || x.shape[2] < 1 || x.shape[0] > (1 << 30) ||
        x.shape[1] > (1 << 20) || x.shape[2] > (1 << 20)) {
        rc = cli_error(verb, CLI_EXIT_INPUT, "%s: shape %s: N, T and F must each be at least 1", xpath,
                       shp);
        goto out;
    }
    out->n = (int)x.shape[0];
    out->T = (int)x.shape[1];
    out->F = (int)x.shape[2];
    out->x = malloc(x.numel * sizeof *out->x);
    out->lengths = malloc((size_t)out->n * sizeof *out->lengths);
    if (!out->x || !out->lengths) {
        rc = cli_error(verb, CLI_EXIT_INTERNAL, "out of memory");
        goto out;
    }
    rnn__convert_f32(out->x, x.data, x.dtype, x.numel);
    for (size_t i = 0; i < x.numel; i++)
        if (!isfinite(out->x[i])) {
            rc = cli_error(verb, CLI_EXIT_INPUT, "%s: element %zu is %s; inputs must be finite", xpath, i,
                           isnan(out->x[i]) ? "nan" : "inf");
            goto out;
        }
    for (int i = 0; i < out->n; i++)
        out->lengths[i] = out->T;
    if (lpath) {
        if ((st = rnn__npy_read(&l, lpath, &e))) {
            rc = cli_fail_status(verb, st, e.msg);
            goto out;
        }
        shape_str(&l, shp, sizeof shp);
        if (l.ndim != 1 || l.shape[0] != out->n) {
            rc = cli_error(verb, CLI_EXIT_INPUT, "%s: expected shape (%d,) (one length per sequence of %s), got %s",
                           lpath, out->n, xpath, shp);
            goto out;
        }
        if ((rc = read_ints(verb, lpath, &l, &lv)))
            goto out;
        for (int i = 0; i < out->n; i++) {
            if (lv[i] < 1 || lv[i] > out->T) {
                rc = cli_error(verb, CLI_EXIT_INPUT, "%s: element %d is %lld, outside 1..%d (the steps of %s)",
                               lpath, i, (long long)lv[i], out->T, xpath);
                goto out;
            }
            out->lengths[i] = (int32_t)lv[i];
        }
    }
    if (ypath) {
        if ((st = rnn__npy_read(&y, ypath, &e))) {
            rc = cli_fail_status(verb, st, e.msg);
            goto out;
        }
        shape_str(&y, shp, sizeof shp);
        if (y.ndim == 1 && y.shape[0] == out->n) {
            out->per_step = 0;
        } else if (y.ndim == 2 && y.shape[0] == out->n && y.shape[1] == out->T) {
            out->per_step = 1;
        } else {
            rc = cli_error(verb, CLI_EXIT_INPUT,
                           "%s: expected labels of shape (%d,) or (%d, %d) to match %s, got %s", ypath,
                           out->n, out->n, out->T, xpath, shp);
            goto out;
        }
        if ((rc = read_ints(verb, ypath, &y, &yv)))
            goto out;
        out->labels = malloc(y.numel * sizeof *out->labels);
        if (!out->labels) {
            rc = cli_error(verb, CLI_EXIT_INTERNAL, "out of memory");
            goto out;
        }
        for (size_t i = 0; i < y.numel; i++) {
            int lo = out->per_step ? -1 : 0;
            if (yv[i] < lo || yv[i] >= (1 << 20)) {
                rc = cli_error(verb, CLI_EXIT_INPUT, "%s: element %zu is %lld; class ids are 0..%d%s", ypath,
                               i, (long long)yv[i], (1 << 20) - 1,
                               out->per_step ? " (-1 = no label at that step)" : "");
                goto out;
            }
            out->labels[i] = (int32_t)yv[i];
        }
    }
out:
    rnn__npy_free(&x);
    rnn__npy_free(&y);
    rnn__npy_free(&l);
    free(yv);
    free(lv);
    if (rc)
        cls_npy_free(out);
    return rc;
}

int cls_npy_select(const char *verb, const cls_npy *a, const int32_t *idx, int n, cls_set *out)
{
    memset(out, 0, sizeof *out);
    const size_t TF = (size_t)a->T * (size_t)a->F;
    out->x = malloc((size_t)n * TF * sizeof *out->x);
    out->lengths = malloc((size_t)n * sizeof *out->lengths);
    out->index = malloc((size_t)n * sizeof *out->index);
    const size_t per = a->per_step ? (size_t)a->T : 1;
    if (a->labels)
        out->labels = malloc((size_t)n * per * sizeof *out->labels);
    if (!out->x || !out->lengths || !out->index || (a->labels && !out->labels)) {
        cls_set_free(out);
        return cli_error(verb, CLI_EXIT_INTERNAL, "out of memory");
    }
    for (int i = 0; i < n; i++) {
        const int r = idx[i];
        memcpy(out->x + (size_t)i * TF, a->x + (size_t)r * TF, TF * sizeof *out->x);
        out->lengths[i] = a->lengths[r];
        out->index[i] = r;
        if (a->labels)
            memcpy(out->labels + (size_t)i * per, a->labels + (size_t)r * per, per * sizeof *out->labels);
    }
    out->d = (rnn_dataset){n, a->T, out->lengths, NULL, out->x, NULL, out->labels, NULL};
    return 0;
}

/* ---- checkpoint metadata --------------------------------------------------- */

int cls_meta_pairs(const cls_meta *m, const char **keys, char **values, size_t *count)
{
    size_t n = 0;
    char num[32];
    keys[n] = "rnn.task";
    values[n++] = rnn__strdup(m->per_step ? "label" : "classify");
    keys[n] = "rnn.input";
    values[n++] = rnn__strdup(cls_input_name(m->input));
    keys[n] = "rnn.labels";
    values[n++] = rnn__strtab_to_json(&m->labels);
    keys[n] = "rnn.max_len";
    snprintf(num, sizeof num, "%d", m->max_len);
    values[n++] = rnn__strdup(num);
    if (m->input == CLS_CHAR) {
        keys[n] = "rnn.vocab";
        values[n++] = rnn__vocab_to_json(&m->chars);
    } else if (m->input == CLS_WORD) {
        keys[n] = "rnn.words";
        values[n++] = rnn__strtab_to_json(&m->words);
    }
    *count = n;
    for (size_t i = 0; i < n; i++)
        if (!values[i])
            return cli_error(NULL, CLI_EXIT_INTERNAL, "out of memory");
    return 0;
}

int cls_meta_read(const char *verb, const char *path, const void *st_file, cls_meta *m)
{
    const rnn__st *f = st_file;
    memset(m, 0, sizeof *m);
    const char *task = rnn__st_meta(f, "rnn.task"), *input = rnn__st_meta(f, "rnn.input");
    const char *labels = rnn__st_meta(f, "rnn.labels"), *ml = rnn__st_meta(f, "rnn.max_len");
    if (!task || (strcmp(task, "classify") != 0 && strcmp(task, "label") != 0))
        return cli_error(verb, CLI_EXIT_INPUT,
                         "%s: a model for '%s'; 'rnn %s' needs a checkpoint from 'rnn classify train'",
                         path, task ? task : "unknown", verb);
    m->per_step = strcmp(task, "label") == 0;
    if (!input || !labels || !ml)
        return cli_error(verb, CLI_EXIT_INPUT, "%s: metadata rnn.%s is missing", path,
                         !input ? "input" : !labels ? "labels" : "max_len");
    char *end;
    long v = strtol(ml, &end, 10);
    if (*ml == '\0' || *end || v < 1 || v > (1 << 24))
        return cli_error(verb, CLI_EXIT_INPUT, "%s: metadata rnn.max_len: '%s' is not a length", path, ml);
    m->max_len = (int)v;
    rnn_error e;
    rnn_status st;
    if ((st = rnn__strtab_from_json(&m->labels, labels, "rnn.labels", &e)))
        return cli_error(verb, CLI_EXIT_INPUT, "%s: %s", path, e.msg);
    int rc = 0;
    if (strcmp(input, "char") == 0) {
        m->input = CLS_CHAR;
        const char *vj = rnn__st_meta(f, "rnn.vocab");
        if (!vj || (st = rnn__vocab_from_json(&m->chars, vj, &e)))
            rc = cli_error(verb, CLI_EXIT_INPUT, "%s: rnn.vocab: %s", path, vj ? e.msg : "missing");
    } else if (strcmp(input, "word") == 0) {
        m->input = CLS_WORD;
        const char *wj = rnn__st_meta(f, "rnn.words");
        if (!wj)
            rc = cli_error(verb, CLI_EXIT_INPUT, "%s: rnn.words: missing", path);
        else if ((st = rnn__strtab_from_json(&m->words, wj, "rnn.words", &e)))
            rc = cli_error(verb, CLI_EXIT_INPUT, "%s: %s", path, e.msg);
        else if (rnn__strtab_index(&m->words, CLS_UNK) < 0)
            rc = cli_error(verb, CLI_EXIT_INPUT, "%s: rnn.words has no %s", path, CLS_UNK);
    } else if (strcmp(input, "features") == 0) {
        m->input = CLS_FEATURES;
    } else {
        rc = cli_error(verb, CLI_EXIT_INPUT, "%s: metadata rnn.input: unknown input '%s'", path, input);
    }
    if (rc)
        cls_meta_free(m);
    return rc;
}

/* ---- metrics --------------------------------------------------------------- */

int cls_argmax(const float *v, int n, double *prob)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[best])
            best = i;
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += exp((double)v[i] - (double)v[best]);
    if (prob)
        *prob = 1.0 / sum;
    return best;
}

void cls_metrics_free(cls_metrics *mt)
{
    free(mt->confusion);
    mt->confusion = NULL;
}

int cls_metrics_compute(cls_metrics *mt, const cls_meta *m, const cls_set *s, const float *out,
                        double loss)
{
    memset(mt, 0, sizeof *mt);
    const int K = m->labels.n, T = s->d.T;
    mt->K = K;
    mt->loss = loss;
    mt->confusion = calloc((size_t)K * K, sizeof *mt->confusion);
    if (!mt->confusion)
        return cli_error(NULL, CLI_EXIT_INTERNAL, "out of memory");
    for (int i = 0; i < s->d.n; i++) {
        const int steps = m->per_step ? s->lengths[i] : 1;
        int all = 1;
        for (int t = 0; t < steps; t++) {
            const size_t r = m->per_step ? (size_t)i * T + t : (size_t)i;
            const int truth = s->labels[r];
            if (truth < 0 || truth >= K)
                continue;
            const int pred = cls_argmax(out + r * K, K, NULL);
            mt->confusion[(size_t)truth * K + pred]++;
            mt->count++;
            mt->correct += pred == truth;
            all &= pred == truth;
        }
        mt->sequences++;
        mt->sequences_correct += all;
    }
    mt->accuracy = mt->count ? (double)mt->correct / (double)mt->count : 0;
    /* macro-F1 over the labels that occur as truth or as prediction
     * (scikit-learn's f1_score(average='macro')) */
    double f1sum = 0;
    int used = 0;
    for (int c = 0; c < K; c++) {
        int64_t tp = mt->confusion[(size_t)c * K + c], support = 0, predicted = 0;
        for (int j = 0; j < K; j++) {
            support += mt->confusion[(size_t)c * K + j];
            predicted += mt->confusion[(size_t)j * K + c];
        }
        if (!support && !predicted)
            continue;
        double p = predicted ? (double)tp / (double)predicted : 0, r = support ? (double)tp / (double)support : 0;
        f1sum += p + r > 0 ? 2 * p * r / (p + r) : 0;
        used++;
    }
    mt->macro_f1 = used ? f1sum / used : 0;
    return 0;
}

static void per_label(const cls_metrics *mt, int c, double *p, double *r, double *f1, int64_t *support)
{
    const int K = mt->K;
    int64_t tp = mt->confusion[(size_t)c * K + c], predicted = 0;
    *support = 0;
    for (int j = 0; j < K; j++) {
        *support += mt->confusion[(size_t)c * K + j];
        predicted += mt->confusion[(size_t)j * K + c];
    }
    *p = predicted ? (double)tp / (double)predicted : 0;
    *r = *support ? (double)tp / (double)*support : 0;
    *f1 = *p + *r > 0 ? 2 * *p * *r / (*p + *r) : 0;
}

void cls_metrics_print(FILE *f, const cls_metrics *mt, const cls_meta *m, const char *what)
{
    const int K = mt->K;
    if (m->per_step)
        fprintf(f, "%s: %lld sequences, %lld labelled steps: accuracy %.4f  macro-F1 %.4f  loss %.4f  "
                   "sequences entirely right %.4f\n",
                what, (long long)mt->sequences, (long long)mt->count, mt->accuracy, mt->macro_f1,
                mt->loss, mt->sequences ? (double)mt->sequences_correct / (double)mt->sequences : 0.0);
    else
        fprintf(f, "%s: %lld sequences: accuracy %.4f  macro-F1 %.4f  loss %.4f\n", what,
                (long long)mt->count, mt->accuracy, mt->macro_f1, mt->loss);
    if (K > 24) {
        fprintf(f, "(%d labels: the confusion matrix is in metrics.json)\n", K);
        return;
    }
    int w = 6, lw = 9; /* cell width; first column: labels and "precision" */
    for (int c = 0; c < K; c++) {
        int l = (int)strlen(m->labels.s[c]);
        w = l > w ? l : w;
        lw = l > lw ? l : lw;
    }
    for (int c = 0; c < K; c++)
        for (int j = 0; j < K; j++) {
            char num[32];
            int l = snprintf(num, sizeof num, "%lld", (long long)mt->confusion[(size_t)c * K + j]);
            w = l > w ? l : w;
        }
    w = w > 16 ? 16 : w;
    lw = lw > 24 ? 24 : lw;
    fprintf(f, "confusion matrix (rows: true label, columns: predicted)\n");
    fprintf(f, "  %*s", lw, "");
    for (int j = 0; j < K; j++)
        fprintf(f, " %*.*s", w, w, m->labels.s[j]);
    fprintf(f, "  recall     f1\n");
    for (int c = 0; c < K; c++) {
        double p, r, f1;
        int64_t support;
        per_label(mt, c, &p, &r, &f1, &support);
        fprintf(f, "  %*.*s", lw, lw, m->labels.s[c]);
        for (int j = 0; j < K; j++)
            fprintf(f, " %*lld", w, (long long)mt->confusion[(size_t)c * K + j]);
        fprintf(f, "  %6.4f %6.4f\n", r, f1);
    }
    fprintf(f, "  %*s", lw, "precision");
    for (int c = 0; c < K; c++) {
        double p, r, f1;
        int64_t support;
        per_label(mt, c, &p, &r, &f1, &support);
        fprintf(f, " %*.4f", w, p);
    }
    fprintf(f, "\n");
}

int cls_metrics_write(const char *verb, const char *path, const cls_metrics *mt, const cls_meta *m,
                      const char *split, const char *checkpoint)
{
    const int K = mt->K;
    rnn__buf b = {0};
    rnn__buf_printf(&b, "{\n  \"task\": \"%s\",\n  \"split\": ", m->per_step ? "label" : "classify");
    rnn__buf_json_string(&b, split);
    rnn__buf_puts(&b, ",\n  \"checkpoint\": ");
    rnn__buf_json_string(&b, checkpoint);
    rnn__buf_printf(&b, ",\n  \"sequences\": %lld,\n  \"count\": %lld,\n  \"accuracy\": %.6f,\n"
                        "  \"macro_f1\": %.6f,\n  \"loss\": %.6f,\n",
                    (long long)mt->sequences, (long long)mt->count, mt->accuracy, mt->macro_f1,
                    isfinite(mt->loss) ? mt->loss : -1.0);
    if (m->per_step)
        rnn__buf_printf(&b, "  \"sequence_accuracy\": %.6f,\n",
                        mt->sequences ? (double)mt->sequences_correct / (double)mt->sequences : 0.0);
    rnn__buf_puts(&b, "  \"labels\": ");
    char *lj = rnn__strtab_to_json(&m->labels);
    rnn__buf_puts(&b, lj ? lj : "[]");
    rnn__free(lj);
    rnn__buf_puts(&b, ",\n  \"confusion\": [");
    for (int c = 0; c < K; c++) {
        rnn__buf_puts(&b, c ? ",\n    [" : "\n    [");
        for (int j = 0; j < K; j++)
            rnn__buf_printf(&b, "%s%lld", j ? ", " : "", (long long)mt->confusion[(size_t)c * K + j]);
        rnn__buf_puts(&b, "]");
    }
    rnn__buf_puts(&b, "\n  ],\n  \"per_label\": [");
    for (int c = 0; c < K; c++) {
        double p, r, f1;
        int64_t support;
        per_label(mt, c, &p, &r, &f1, &support);
        rnn__buf_puts(&b, c ? ",\n    {\"label\": " : "\n    {\"label\": ");
        rnn__buf_json_string(&b, m->labels.s[c]);
        rnn__buf_printf(&b, ", \"precision\": %.6f, \"recall\": %.6f, \"f1\": %.6f, \"support\": %lld}", p,
                        r, f1, (long long)support);
    }
    rnn__buf_puts(&b, "\n  ]\n}\n");
    if (b.oom) {
        rnn__buf_free(&b);
        return cli_error(verb, CLI_EXIT_INTERNAL, "out of memory");
    }
    rnn_error e;
    rnn_status st = rnn__write_file_atomic(path, b.data, b.len, &e);
    rnn__buf_free(&b);
    return st ? cli_fail_status(verb, st, e.msg) : 0;
}
