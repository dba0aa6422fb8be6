/*
 * test_models.c -- the model's optional parts (readouts last/mean/max/
 * attention, causal Conv1D, a condition embedding) and the supervised
 * sequence trainer: gradients by finite differences, the convolution
 * against a direct sum, tasks learned to a stated quality, bitwise resume,
 * streaming a conditioned model.
 */
#include "test.h"

#include "layers/layers.h"
#include "model/model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static rnn_model *make(rnn_model_config c, uint64_t seed)
{
    rnn_model *m = NULL;
    rnn_error e;
    if (rnn_model_new(&m, &c, seed, &e) != RNN_OK)
        t_fail_at(__FILE__, __LINE__, "rnn_model_new: %s", e.msg);
    return m;
}

/* Loss = sum(out * w) for a fixed random w: its gradient w.r.t. out is w. */
static double weighted(rnn_model *m, const rnn_batch *b, const float *w, size_t nout, int train)
{
    float out[4096];
    rnn_model_forward_batch(m, out, NULL, NULL, b, train);
    double s = 0;
    for (size_t i = 0; i < nout; i++)
        s += (double)out[i] * w[i];
    return s;
}

static void gradcheck(rnn_model_config c, const char *what)
{
    enum { T = 5, B = 3 };
    rnn_model *m = make(c, 4);
    if (!m)
        return;
    rnn__rng r;
    rnn__rng_seed(&r, 9);
    float x[T * B * 8], w[4096];
    int32_t tok[T * B], lens[B] = {5, 2, 4}, cond[B] = {1, 0, 2};
    for (int i = 0; i < T * B * 8; i++)
        x[i] = (float)rnn__rng_normal(&r);
    for (int i = 0; i < T * B; i++)
        tok[i] = (int32_t)rnn__rng_below(&r, 6);
    const int O = c.output_size;
    const size_t nout = c.readout == RNN_READOUT_STEPS ? (size_t)T * B * O : (size_t)B * O;
    for (size_t i = 0; i < nout; i++)
        w[i] = (float)rnn__rng_normal(&r);
    rnn_batch bt = {T, B, c.vocab_size ? tok : NULL, c.vocab_size ? NULL : x, lens,
                    c.cond_classes ? cond : NULL, NULL, NULL};
    size_t n;
    float *p = rnn_model_params(m, &n), *g = rnn_model_grads(m, NULL);
    rnn_model_zero_grad(m);
    weighted(m, &bt, w, nout, 1);
    CHECK_OK(rnn_model_backward(m, NULL, w, NULL, NULL));
    double worst = 0;
    size_t wi = 0;
    for (size_t i = 0; i < n; i++) {
        float keep = p[i];
        /* max pooling and relu have kinks (where the argmax changes, at 0):
         * a smaller step */
        const float eps =
            c.readout == RNN_READOUT_MAX || c.cell == RNN_CELL_RNN_RELU ? 1e-3f : 1e-2f;
        p[i] = keep + eps;
        double lp = weighted(m, &bt, w, nout, 0);
        p[i] = keep - eps;
        double lm = weighted(m, &bt, w, nout, 0);
        p[i] = keep;
        double num = (lp - lm) / (2 * eps);
        double e = fabs(num - g[i]) / (1e-2 + fabs(num) + fabs(g[i]));
        if (e > worst) {
            worst = e;
            wi = i;
        }
    }
    CHECK_MSG(worst < 2e-2, "%s: worst relative gradient error %g at parameter %zu of %zu", what, worst,
              wi, n);
    rnn_model_free(m);
}

static void test_gradients_of_every_part(void)
{
    const rnn_readout ro[] = {RNN_READOUT_LAST, RNN_READOUT_MEAN, RNN_READOUT_MAX,
                              RNN_READOUT_ATTENTION, RNN_READOUT_STEPS};
    const char *names[] = {"last", "mean", "max", "attention", "steps"};
    char what[96];
    for (int k = 0; k < 5; k++)
        for (int bi = 0; bi < 2; bi++) {
            rnn_model_config c = {.input_size = 8, .cell = RNN_CELL_GRU, .hidden_size = 6,
                                  .num_layers = 2, .bidirectional = bi, .output_size = 3,
                                  .readout = ro[k]};
            snprintf(what, sizeof what, "features, %s readout, bidirectional %d", names[k], bi);
            gradcheck(c, what);
        }
    rnn_model_config conv = {.input_size = 8, .cell = RNN_CELL_LSTM, .hidden_size = 5, .num_layers = 1,
                             .output_size = 2, .readout = RNN_READOUT_LAST, .conv_filters = 4,
                             .conv_kernel = 3, .conv_dilation = 2};
    gradcheck(conv, "conv1d + lstm, last readout");
    rnn_model_config cond = {.vocab_size = 6, .embed_size = 4, .cell = RNN_CELL_LSTM, .hidden_size = 5,
                             .num_layers = 2, .output_size = 6, .cond_classes = 3, .cond_size = 2};
    gradcheck(cond, "tokens + condition, per-step readout");
    rnn_model_config all = {.vocab_size = 6, .embed_size = 4, .cell = RNN_CELL_RNN_TANH,
                            .hidden_size = 5, .num_layers = 1, .output_size = 3,
                            .readout = RNN_READOUT_ATTENTION, .conv_filters = 3, .conv_kernel = 2,
                            .conv_dilation = 1, .cond_classes = 3, .cond_size = 2};
    gradcheck(all, "tokens + conv + condition, attention readout");
    /* plain tokens: the first layer projects each embedding row once (T*B
     * = 15 >= 2 x vocab 6) */
    for (int cell = 0; cell < 4; cell++)
        for (int bi = 0; bi < 2; bi++) {
            rnn_model_config tc = {.vocab_size = 6, .embed_size = 4, .cell = (rnn_cell)cell,
                                   .hidden_size = 5, .num_layers = 2, .bidirectional = bi,
                                   .output_size = 6};
            snprintf(what, sizeof what, "tokens by lookup, %s, bidirectional %d",
                     rnn_cell_name((rnn_cell)cell), bi);
            gradcheck(tc, what);
        }
}

/* A token model gives the stack token ids when the table is small against
 * T*B (the first layer projects each embedding row once), else the gathered
 * embeddings: the same outputs bit for bit, the same gradients to rounding
 * (embedding and first-layer W_ih regrouped, held to 1e-4; the rest
 * bitwise). */
static void test_token_lookup_matches_gather(void)
{
    enum { T = 12, B = 6, V = 9, O = 9 };
    for (int cell = 0; cell < 4; cell++) {
        rnn_model_config c = {.vocab_size = V, .embed_size = 7, .cell = (rnn_cell)cell,
                              .hidden_size = 8, .num_layers = 2, .bidirectional = 1,
                              .output_size = O};
        rnn_model *m = make(c, 11);
        rnn__rng r;
        rnn__rng_seed(&r, 5);
        int32_t tok[T * B], lens[B] = {12, 3, 7, 12, 1, 9};
        float w[T * B * O], out[2][T * B * O];
        for (int i = 0; i < T * B; i++)
            tok[i] = (int32_t)rnn__rng_below(&r, V);
        for (int i = 0; i < T * B * O; i++)
            w[i] = (float)rnn__rng_normal(&r);
        rnn_batch bt = {T, B, tok, NULL, lens, NULL, NULL, NULL};
        size_t n;
        rnn_model_grads(m, &n);
        float *g[2] = {malloc(n * sizeof(float)), malloc(n * sizeof(float))};
        for (int pass = 0; pass < 2; pass++) {
            if (pass == 1)
                rnn__stack_set_lookup(&m->stack, 0); /* the gathered path */
            rnn_model_zero_grad(m);
            CHECK_OK(rnn_model_forward_batch(m, out[pass], NULL, NULL, &bt, 1));
            CHECK(m->lookup == !pass);
            CHECK_OK(rnn_model_backward(m, NULL, w, NULL, NULL));
            memcpy(g[pass], rnn_model_grads(m, NULL), n * sizeof(float));
        }
        char what[64];
        snprintf(what, sizeof what, "%s: lookup vs gather", rnn_cell_name((rnn_cell)cell));
        t_allclose(what, g[0], g[1], n, 1e-4, 1e-4);
        /* our GEMM: the outputs bitwise, and the recurrent weights' gradients
         * (only the embedding and the first layer's W_ih are regrouped);
         * the libraries promise no bitwise equality across shapes */
        if (rnn__gemm_bitwise()) {
            const size_t hh = m->off_stack + m->stack.tensors[1].offset;
            CHECK_MSG(memcmp(out[0], out[1], sizeof out[0]) == 0, "%s: outputs differ", what);
            CHECK(memcmp(g[0] + hh, g[1] + hh, m->stack.tensors[1].numel * sizeof(float)) == 0);
        } else {
            t_allclose(what, out[0], out[1], T * B * O, 1e-5, 1e-5);
        }
        free(g[0]);
        free(g[1]);
        rnn_model_free(m);
    }
}

/* The causal convolution against the direct definition. */
static void test_conv1d_definition(void)
{
    enum { T = 7, B = 2, C = 3, F = 4, K = 3, DIL = 2 };
    float x[T * B * C], w[F * C * K], b[F], y[T * B * F], cols[T * B * C * K];
    rnn__rng r;
    rnn__rng_seed(&r, 1);
    for (int i = 0; i < T * B * C; i++)
        x[i] = (float)rnn__rng_normal(&r);
    for (int i = 0; i < F * C * K; i++)
        w[i] = (float)rnn__rng_normal(&r) * 0.5f;
    for (int i = 0; i < F; i++)
        b[i] = (float)rnn__rng_normal(&r) * 0.1f;
    rnn__conv1d_forward(y, cols, x, w, b, T, B, C, F, K, DIL);
    for (int t = 0; t < T; t++)
        for (int bb = 0; bb < B; bb++)
            for (int f = 0; f < F; f++) {
                double s = b[f];
                for (int c = 0; c < C; c++)
                    for (int k = 0; k < K; k++) {
                        int src = t + (k - (K - 1)) * DIL; /* PyTorch: left padding (K-1)*d */
                        if (src >= 0)
                            s += (double)w[(f * C + c) * K + k] * x[(src * B + bb) * C + c];
                    }
                double want = s > 0 ? s : 0;
                CHECK_NEAR(y[(t * B + bb) * F + f], want, 1e-5);
            }
}

/* sequences of +-1 values: the class is whether their sum is positive */
static void make_sign_data(int n, int T, float *x, int32_t *lens, int32_t *labels, float *y,
                           rnn__rng *r)
{
    for (int i = 0; i < n; i++) {
        lens[i] = 3 + (int)rnn__rng_below(r, (uint64_t)T - 2);
        double s = 0;
        for (int t = 0; t < T; t++) {
            float v = t < lens[i] ? (rnn__rng_float(r) < 0.5f ? -1.0f : 1.0f) * (0.5f + rnn__rng_float(r)) : 0;
            x[(size_t)i * T + t] = v;
            s += v;
        }
        labels[i] = s > 0;
        y[i] = (float)(s / lens[i]);
    }
}

static rnn_train_options opts(int batch, double lr)
{
    rnn_train_options o;
    memset(&o, 0, sizeof o);
    o.batch = batch;
    rnn_optim_defaults(&o.optim, RNN_OPT_ADAM);
    o.lr = lr;
    o.clip_norm = 5;
    o.seed = 3;
    return o;
}

/* Many-to-one classification and regression learn a simple rule. */
static void test_seq_trainer_learns(void)
{
    enum { N = 400, NV = 100, T = 12 };
    static float x[(N + NV) * T], y[N + NV];
    static int32_t lens[N + NV], labels[N + NV];
    rnn__rng r;
    rnn__rng_seed(&r, 5);
    make_sign_data(N + NV, T, x, lens, labels, y, &r);
    rnn_dataset tr = {N, T, lens, NULL, x, NULL, labels, y};
    rnn_dataset va = {NV, T, lens + N, NULL, x + N * T, NULL, labels + N, y + N};
    const rnn_readout ro[] = {RNN_READOUT_LAST, RNN_READOUT_MEAN, RNN_READOUT_ATTENTION};
    for (int k = 0; k < 3; k++) {
        rnn_model_config c = {.input_size = 1, .cell = RNN_CELL_GRU, .hidden_size = 16, .num_layers = 1,
                              .bidirectional = k == 1, .output_size = 2, .readout = ro[k]};
        rnn_model *m = make(c, 1);
        rnn_trainer *t;
        rnn_error e;
        rnn_train_options o = opts(32, 1e-2);
        CHECK_OK(rnn_seq_trainer_new(&t, m, &o, RNN_LOSS_XENT, &tr, &va, &e));
        for (int i = 0; i < 150; i++)
            CHECK_OK(rnn_trainer_step(t, NULL));
        float out[NV * 2];
        CHECK_OK(rnn_model_predict(m, out, &va, 64, &e));
        int right = 0;
        for (int i = 0; i < NV; i++)
            right += (out[2 * i + 1] > out[2 * i]) == labels[N + i];
        CHECK_MSG(right >= 90, "readout %d: validation accuracy %d%%, expected >= 90%%", (int)ro[k], right);
        double vl;
        CHECK_OK(rnn_trainer_evaluate(t, &vl));
        CHECK_NEAR(vl, rnn_dataset_loss(m, RNN_LOSS_XENT, out, &va), 1e-5);
        rnn_trainer_free(t);
        rnn_model_free(m);
    }
    /* regression: the mean of the sequence, MSE, last readout */
    rnn_model_config c = {.input_size = 1, .cell = RNN_CELL_LSTM, .hidden_size = 16, .num_layers = 1,
                          .output_size = 1, .readout = RNN_READOUT_LAST};
    rnn_model *m = make(c, 2);
    rnn_trainer *t;
    rnn_error e;
    rnn_train_options o = opts(32, 1e-2);
    CHECK_OK(rnn_seq_trainer_new(&t, m, &o, RNN_LOSS_MSE, &tr, &va, &e));
    double first = NAN, vl;
    CHECK_OK(rnn_trainer_evaluate(t, &first));
    for (int i = 0; i < 200; i++)
        CHECK_OK(rnn_trainer_step(t, NULL));
    CHECK_OK(rnn_trainer_evaluate(t, &vl));
    CHECK_MSG(vl < 0.2 * first && vl < 0.02, "regression: validation MSE %g (initially %g)", vl, first);
    rnn_trainer_free(t);
    rnn_model_free(m);
}

/* Many-to-many labelling: each step's label is whether its input exceeds the
 * previous one (needs one step of memory). */
static void test_per_step_labels(void)
{
    enum { N = 300, T = 10 };
    static float x[N * T];
    static int32_t lens[N], labels[N * T];
    rnn__rng r;
    rnn__rng_seed(&r, 8);
    for (int i = 0; i < N; i++) {
        lens[i] = 4 + (int)rnn__rng_below(&r, T - 3);
        for (int t = 0; t < T; t++) {
            x[i * T + t] = t < lens[i] ? rnn__rng_float(&r) : 0;
            labels[i * T + t] = t == 0 || t >= lens[i] ? -1 : x[i * T + t] > x[i * T + t - 1];
        }
    }
    rnn_dataset tr = {N - 50, T, lens, NULL, x, NULL, labels, NULL};
    rnn_dataset va = {50, T, lens + N - 50, NULL, x + (N - 50) * T, NULL, labels + (N - 50) * T, NULL};
    rnn_model_config c = {.input_size = 1, .cell = RNN_CELL_LSTM, .hidden_size = 16, .num_layers = 1,
                          .output_size = 2};
    rnn_model *m = make(c, 3);
    rnn_trainer *t;
    rnn_error e;
    rnn_train_options o = opts(25, 1e-2);
    CHECK_OK(rnn_seq_trainer_new(&t, m, &o, RNN_LOSS_XENT, &tr, &va, &e));
    for (int i = 0; i < 250; i++)
        CHECK_OK(rnn_trainer_step(t, NULL));
    static float out[50 * T * 2];
    CHECK_OK(rnn_model_predict(m, out, &va, 16, &e));
    int right = 0, total = 0;
    for (int i = 0; i < 50; i++)
        for (int s = 1; s < va.lengths[i]; s++) {
            const float *o2 = out + ((size_t)i * T + s) * 2;
            right += (o2[1] > o2[0]) == va.labels[i * T + s];
            total++;
        }
    CHECK_MSG(right >= 0.9 * total, "per-step accuracy %d/%d", right, total);
    rnn_trainer_free(t);
    rnn_model_free(m);
}

/* Save mid-epoch, restore into fresh objects: the same parameters at the end. */
static void test_seq_resume_bitwise(void)
{
    enum { N = 90, T = 8 };
    static float x[N * T], y[N];
    static int32_t lens[N], labels[N];
    rnn__rng r;
    rnn__rng_seed(&r, 6);
    make_sign_data(N, T, x, lens, labels, y, &r);
    rnn_dataset tr = {N, T, lens, NULL, x, NULL, labels, y};
    rnn_model_config c = {.input_size = 1, .cell = RNN_CELL_LSTM, .hidden_size = 8, .num_layers = 2,
                          .dropout = 0.25f, .output_size = 2, .readout = RNN_READOUT_MAX};
    rnn_train_options o = opts(16, 3e-3);
    char path[512];
    snprintf(path, sizeof path, "%s/seq.safetensors", t_tmpdir());
    rnn_error e;
    rnn_model *a = make(c, 1), *b = make(c, 1), *d = make(c, 7);
    rnn_trainer *ta, *tb, *td;
    CHECK_OK(rnn_seq_trainer_new(&ta, a, &o, RNN_LOSS_XENT, &tr, NULL, &e));
    CHECK_OK(rnn_seq_trainer_new(&tb, b, &o, RNN_LOSS_XENT, &tr, NULL, &e));
    for (int i = 0; i < 20; i++) /* 6 batches per epoch: crosses epochs */
        CHECK_OK(rnn_trainer_step(ta, NULL));
    for (int i = 0; i < 9; i++)
        CHECK_OK(rnn_trainer_step(tb, NULL));
    CHECK_OK(rnn_trainer_save(tb, path, NULL, NULL, 0));
    CHECK_OK(rnn_seq_trainer_new(&td, d, &o, RNN_LOSS_XENT, &tr, NULL, &e));
    CHECK_OK(rnn_trainer_restore(td, path));
    for (int i = 9; i < 20; i++)
        CHECK_OK(rnn_trainer_step(td, NULL));
    size_t n;
    float *pa = rnn_model_params(a, &n), *pd = rnn_model_params(d, NULL);
    CHECK_MSG(memcmp(pa, pd, n * sizeof *pa) == 0, "resumed sequence training differs");
    /* an LM checkpoint cannot be restored into a sequence trainer */
    rnn_trainer_free(ta);
    rnn_trainer_free(tb);
    rnn_trainer_free(td);
    rnn_model_free(a);
    rnn_model_free(b);
    rnn_model_free(d);
}

/* A conditioned token model streams like its forward; checkpoints keep
 * every new part. */
static void test_condition_stream_and_checkpoint(void)
{
    enum { T = 5, S = 2, V = 6 };
    rnn_model_config c = {.vocab_size = V, .embed_size = 4, .cell = RNN_CELL_LSTM, .hidden_size = 7,
                          .num_layers = 2, .output_size = V, .cond_classes = 3, .cond_size = 3};
    rnn_model *m = make(c, 5);
    int32_t tok[T * S] = {1, 2, 3, 4, 5, 0, 1, 1, 2, 2}, cond[S] = {2, 1};
    float ref[T * S * V], out[S * V];
    rnn_batch bt = {T, S, tok, NULL, NULL, cond, NULL, NULL};
    CHECK_OK(rnn_model_forward_batch(m, ref, NULL, NULL, &bt, 0));
    rnn_stream *st;
    rnn_error e;
    CHECK_OK(rnn_stream_new(&st, m, S, &e));
    CHECK_OK(rnn_stream_set_condition(st, 0, 2));
    CHECK_OK(rnn_stream_set_condition(st, 1, 1));
    CHECK(rnn_stream_set_condition(st, 1, 3) == RNN_EINVAL);
    for (int t = 0; t < T; t++) {
        CHECK_OK(rnn_stream_step(st, out, tok + t * S, NULL));
        t_allclose("conditioned stream", out, ref + t * S * V, S * V, 1e-5, 1e-4);
    }
    rnn_stream_free(st);

    char path[512];
    snprintf(path, sizeof path, "%s/cond.safetensors", t_tmpdir());
    CHECK_OK(rnn_model_save(m, path, NULL, NULL, 0));
    rnn_model *l;
    CHECK_OK(rnn_model_load(&l, path, &e));
    if (l) {
        CHECK(memcmp(rnn_model_get_config(l), &c, sizeof c) == 0);
        float again[T * S * V];
        CHECK_OK(rnn_model_forward_batch(l, again, NULL, NULL, &bt, 0));
        CHECK(memcmp(again, ref, sizeof ref) == 0);
        rnn_model_free(l);
    }
    rnn_model_free(m);

    /* a convolution model: the 3-D PyTorch shape of conv.weight survives */
    rnn_model_config cc = {.input_size = 2, .cell = RNN_CELL_GRU, .hidden_size = 4, .num_layers = 1,
                           .output_size = 1, .readout = RNN_READOUT_LAST, .conv_filters = 5,
                           .conv_kernel = 3, .conv_dilation = 2};
    m = make(cc, 1);
    rnn_tensor tw;
    CHECK_OK(rnn_model_find(m, "conv.weight", &tw));
    CHECK(tw.ndim == 3 && tw.shape[0] == 5 && tw.shape[1] == 2 && tw.shape[2] == 3);
    CHECK_OK(rnn_model_save(m, path, NULL, NULL, 0));
    CHECK_OK(rnn_model_load(&l, path, &e));
    if (l) {
        CHECK(memcmp(rnn_model_get_config(l), &cc, sizeof cc) == 0);
        rnn_model_free(l);
    }
    CHECK(rnn_stream_new(&st, m, 1, &e) == RNN_EUNSUPPORTED);
    rnn_model_free(m);
}

void suite_models(void);
void suite_models(void)
{
    RUN(test_gradients_of_every_part);
    RUN(test_token_lookup_matches_gather);
    RUN(test_conv1d_definition);
    RUN(test_seq_trainer_learns);
    RUN(test_per_step_labels);
    RUN(test_seq_resume_bitwise);
    RUN(test_condition_stream_and_checkpoint);
}
