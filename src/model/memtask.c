/*
 * memtask.c -- data and baselines of the adding and copy-memory tasks, and
 * the gradient-flow measurement behind `rnn task ... --gradflow`.
 */
#include "model/memtask.h"

#include "layers/layers.h"

#include <math.h>
#include <string.h>

void rnn__adding_data(float *x, float *y, int n, int T, uint64_t seed)
{
    rnn__rng r;
    rnn__rng_seed(&r, seed ^ 0xadd1u);
    const int half = T / 2;
    for (int i = 0; i < n; i++) {
        float *xi = x + (size_t)i * T * 2;
        for (int t = 0; t < T; t++) {
            xi[2 * t] = rnn__rng_float(&r);
            xi[2 * t + 1] = 0.0f;
        }
        const int a = (int)rnn__rng_below(&r, (uint64_t)half);
        const int b = half + (int)rnn__rng_below(&r, (uint64_t)(T - half));
        xi[2 * a + 1] = 1.0f;
        xi[2 * b + 1] = 1.0f;
        y[i] = xi[2 * a] + xi[2 * b];
    }
}

double rnn__adding_baseline(void) { return 1.0 / 6.0; }

void rnn__copy_data(float *x, int32_t *labels, int n, int T, uint64_t seed)
{
    rnn__rng r;
    rnn__rng_seed(&r, seed ^ 0xc0d1u);
    const int len = T + 2 * RNN__COPY_SYMBOLS;
    memset(x, 0, sizeof(float) * (size_t)n * len * RNN__COPY_INPUTS);
    for (int i = 0; i < n; i++) {
        float *xi = x + (size_t)i * len * RNN__COPY_INPUTS;
        int32_t *li = labels + (size_t)i * len;
        int sym[RNN__COPY_SYMBOLS];
        for (int k = 0; k < RNN__COPY_SYMBOLS; k++)
            sym[k] = 1 + (int)rnn__rng_below(&r, 8);
        for (int t = 0; t < len; t++) {
            int in = 0; /* blank */
            if (t < RNN__COPY_SYMBOLS)
                in = sym[t];
            else if (t == T + RNN__COPY_SYMBOLS - 1)
                in = 9; /* the delimiter: recall now */
            xi[(size_t)t * RNN__COPY_INPUTS + in] = 1.0f;
            li[t] = t < T + RNN__COPY_SYMBOLS ? 0 : sym[t - T - RNN__COPY_SYMBOLS];
        }
    }
}

double rnn__copy_baseline(int T) { return 10.0 * log(8.0) / (T + 20.0); }

/* ---- gradient flow ----------------------------------------------------------- */

typedef struct flow_batch {
    float *x, *out;
    int32_t *labels; /* [T][n] (per step) or [n] */
    float *y;        /* [n][O] */
} flow_batch;

static void flow_free(flow_batch *f)
{
    rnn__free_floats(f->x);
    rnn__free_floats(f->out);
    rnn__free(f->labels);
    rnn__free_floats(f->y);
}

/* The first n sequences of d, time-major. */
static rnn_status flow_gather(flow_batch *f, const rnn_dataset *d, int n, int I, int O, int steps,
                              int from, rnn_loss loss, rnn_error *err)
{
    memset(f, 0, sizeof *f);
    const int T = d->T;
    if (n < 1 || n > d->n || !d->x || (loss == RNN_LOSS_XENT && !d->labels) ||
        (loss != RNN_LOSS_XENT && !d->y))
        return rnn__fail(err, RNN_EINVAL, "gradient flow: %d sequences of a dataset of %d", n, d->n);
    for (int i = 0; i < n; i++)
        if (d->lengths && d->lengths[i] != T)
            return rnn__fail(err, RNN_EINVAL, "gradient flow: sequences must all have T steps");
    const size_t tn = (size_t)T * n, rows = steps ? tn : (size_t)n;
    f->x = rnn__alloc_floats(tn * (size_t)I);
    f->out = rnn__alloc_floats(rows * (size_t)O);
    f->labels = loss == RNN_LOSS_XENT ? rnn__malloc(rows * sizeof *f->labels) : NULL;
    f->y = loss != RNN_LOSS_XENT ? rnn__alloc_floats(rows * (size_t)O) : NULL;
    if (!f->x || !f->out || (loss == RNN_LOSS_XENT && !f->labels) || (loss != RNN_LOSS_XENT && !f->y)) {
        flow_free(f);
        return rnn__fail(err, RNN_ENOMEM, "out of memory");
    }
    for (int i = 0; i < n; i++)
        for (int t = 0; t < T; t++) {
            const size_t r = (size_t)t * n + i, src = (size_t)i * T + t;
            memcpy(f->x + r * I, d->x + src * I, sizeof(float) * (size_t)I);
            if (steps && f->labels)
                f->labels[r] = t < from ? -1 : d->labels[src];
            else if (steps && t < from)
                memset(f->y + r * O, 0, sizeof(float) * (size_t)O);
            else if (steps)
                memcpy(f->y + r * O, d->y + src * O, sizeof(float) * (size_t)O);
        }
    if (!steps)
        for (int i = 0; i < n; i++) {
            if (f->labels)
                f->labels[i] = d->labels[i];
            else
                memcpy(f->y + (size_t)i * O, d->y + (size_t)i * O, sizeof(float) * (size_t)O);
        }
    return RNN_OK;
}

/* f->out becomes the gradient of the mean loss (rows before row `skip`
 * are not targets). */
static void flow_loss_grad(flow_batch *f, rnn_loss loss, int rows, int skip, int O)
{
    if (loss == RNN_LOSS_XENT) {
        size_t k = 0;
        for (int r = 0; r < rows; r++)
            k += f->labels[r] >= 0 && f->labels[r] < O;
        rnn__softmax_xent(f->out, f->out, f->labels, rows, O, k ? 1.0f / (float)k : 0.0f, NULL,
                          NULL, 1);
    } else {
        memset(f->out, 0, sizeof(float) * (size_t)skip * O);
        rnn__regression_loss(f->out + (size_t)skip * O, f->out + (size_t)skip * O,
                             f->y + (size_t)skip * O, NULL, rows - skip, O, (int)loss,
                             1.0f / (float)((size_t)(rows - skip) * O), NULL);
    }
}

rnn_status rnn__model_gradflow(rnn_model *m, rnn_loss loss, const rnn_dataset *d, int n, int from,
                               double *flow, rnn_error *err)
{
    const rnn_model_config *c = &m->cfg;
    const int T = d->T, O = c->output_size, steps = c->readout == RNN_READOUT_STEPS;
    if (c->vocab_size > 0)
        return rnn__fail(err, RNN_EINVAL, "gradient flow: feature models only");
    flow_batch f;
    if (from < 0 || from >= T)
        return rnn__fail(err, RNN_EINVAL, "gradient flow: first target step %d outside 0..%d", from,
                         T - 1);
    rnn_status st = flow_gather(&f, d, n, c->input_size, O, steps, steps ? from : 0, loss, err);
    if (st)
        return st;
    const int LD = c->num_layers * m->D;
    double *all = rnn__calloc((size_t)LD * T, sizeof *all);
    if (!all) {
        flow_free(&f);
        return rnn__fail(err, RNN_ENOMEM, "out of memory");
    }
    rnn_model_zero_grad(m);
    st = rnn_model_forward(m, f.out, NULL, NULL, NULL, f.x, NULL, NULL, NULL, T, n, 1);
    if (!st) {
        flow_loss_grad(&f, loss, steps ? T * n : n, steps ? from * n : 0, O);
        rnn__stack_record_gradflow(&m->stack, all);
        st = rnn_model_backward(m, NULL, f.out, NULL, NULL);
        rnn__stack_record_gradflow(&m->stack, NULL);
    }
    if (st)
        rnn__fail(err, st, "%s", m->err.msg);
    else
        memcpy(flow, all + (size_t)(c->num_layers - 1) * m->D * T, sizeof(double) * (size_t)T);
    rnn_model_zero_grad(m);
    rnn__free(all);
    flow_free(&f);
    return st;
}

rnn_status rnn__statal_gradflow(rnn__statal_model *m, rnn_loss loss, const rnn_dataset *d, int n,
                                int from, double *flow, rnn_error *err)
{
    const rnn__statal_config *c = &m->cfg;
    const int T = d->T, O = c->output_size;
    flow_batch f;
    if (from < 0 || from >= T)
        return rnn__fail(err, RNN_EINVAL, "gradient flow: first target step %d outside 0..%d", from,
                         T - 1);
    rnn_status st = flow_gather(&f, d, n, c->input_size, O, c->per_step, c->per_step ? from : 0,
                                loss, err);
    if (st)
        return st;
    double *all = rnn__calloc((size_t)c->num_layers * T, sizeof *all);
    if (!all) {
        flow_free(&f);
        return rnn__fail(err, RNN_ENOMEM, "out of memory");
    }
    memset(m->grads, 0, m->nparams * sizeof *m->grads);
    st = rnn__statal_model_forward(m, f.out, f.x, NULL, T, n, 1);
    if (!st) {
        flow_loss_grad(&f, loss, c->per_step ? T * n : n, c->per_step ? from * n : 0, O);
        rnn__statal_model_record_gradflow(m, all);
        st = rnn__statal_model_backward(m, f.out);
        rnn__statal_model_record_gradflow(m, NULL);
    }
    if (st)
        rnn__fail(err, st, "%s", m->err.msg);
    else
        memcpy(flow, all + (size_t)(c->num_layers - 1) * T, sizeof(double) * (size_t)T);
    memset(m->grads, 0, m->nparams * sizeof *m->grads);
    rnn__free(all);
    flow_free(&f);
    return st;
}
