/*
 * test_train.c -- the training machinery: the model's gradient (finite
 * differences through embedding, stack, head and cross-entropy), learning a
 * repetitive text, bitwise resume, evaluation independent of chunking,
 * checkpoint round trips and sampling.
 */
#include "test.h"

#include "core/core.h"
#include "model/model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static rnn_model *lm(rnn_cell cell, int V, int E, int H, int L, float dropout, uint64_t seed)
{
    rnn_model_config c = {.vocab_size = V, .embed_size = E, .input_size = 0, .cell = cell, .hidden_size = H,
                           .num_layers = L, .bidirectional = 0, .dropout = dropout, .output_size = V};
    rnn_model *m = NULL;
    rnn_error e;
    if (rnn_model_new(&m, &c, seed, &e) != RNN_OK)
        t_fail_at(__FILE__, __LINE__, "rnn_model_new: %s", e.msg);
    return m;
}

/* mean cross-entropy of a [T][B] token batch predicting y from x */
static double batch_loss(rnn_model *m, const int32_t *x, const int32_t *y, int T, int B, int V,
                         float *logits, int train)
{
    rnn_model_forward(m, logits, NULL, NULL, x, NULL, NULL, NULL, NULL, T, B, train);
    return rnn_cross_entropy(NULL, logits, y, T * B, V, 1.0f, NULL) / (T * B);
}

/* The whole model's gradient against central differences (float, so a
 * loose tolerance): checks that embedding, stack, head and the loss are
 * wired together correctly. The relu RNN is left out: float differences
 * with a step of 1e-2 cross its kink; its gradient is checked in double,
 * layer by layer, in test_gradcheck.c. */
static void test_model_gradient(void)
{
    enum { T = 4, B = 2, V = 6, E = 3, H = 5 };
    const rnn_cell cells[] = {RNN_CELL_RNN_TANH, RNN_CELL_LSTM, RNN_CELL_GRU};
    for (int k = 0; k < 3; k++) {
        rnn_cell cell = cells[k];
        rnn_model *m = lm(cell, V, E, H, 2, 0, 3);
        if (!m)
            return;
        int32_t x[T * B] = {0, 1, 2, 3, 4, 5, 1, 2}, y[T * B] = {1, 2, 3, 4, 5, 0, 2, 3};
        float logits[T * B * V];
        size_t n;
        float *p = rnn_model_params(m, &n), *g = rnn_model_grads(m, NULL);
        rnn_model_zero_grad(m);
        rnn_model_forward(m, logits, NULL, NULL, x, NULL, NULL, NULL, NULL, T, B, 1);
        rnn_cross_entropy(logits, logits, y, T * B, V, 1.0f / (T * B), NULL);
        CHECK_OK(rnn_model_backward(m, NULL, logits, NULL, NULL));
        double worst = 0;
        size_t worst_i = 0;
        for (size_t i = 0; i < n; i++) {
            float keep = p[i];
            const float eps = 1e-2f;
            p[i] = keep + eps;
            double lp = batch_loss(m, x, y, T, B, V, logits, 0);
            p[i] = keep - eps;
            double lm_ = batch_loss(m, x, y, T, B, V, logits, 0);
            p[i] = keep;
            double num = (lp - lm_) / (2 * eps);
            double err = fabs(num - g[i]) / (1e-3 + fabs(num) + fabs(g[i]));
            if (err > worst) {
                worst = err;
                worst_i = i;
            }
        }
        CHECK_MSG(worst < 2e-2, "%s: worst relative gradient error %g at parameter %zu",
                  rnn_cell_name(cell), worst, worst_i);
        rnn_model_free(m);
    }
}

static int32_t *repeat_text(const char *unit, int times, size_t *n, int *V, char *alphabet)
{
    size_t u = strlen(unit);
    /* vocabulary: the sorted distinct characters of the unit */
    int seen[256] = {0};
    for (size_t i = 0; i < u; i++)
        seen[(unsigned char)unit[i]] = 1;
    int map[256], v = 0;
    for (int c = 0; c < 256; c++)
        if (seen[c]) {
            alphabet[v] = (char)c;
            map[c] = v++;
        }
    *V = v;
    *n = u * (size_t)times;
    int32_t *ids = malloc(*n * sizeof *ids);
    for (size_t i = 0; i < *n; i++)
        ids[i] = map[(unsigned char)unit[i % u]];
    return ids;
}

static rnn_train_options default_options(int T, int B, double lr)
{
    rnn_train_options o;
    memset(&o, 0, sizeof o);
    o.seq_len = T;
    o.batch = B;
    rnn_optim_defaults(&o.optim, RNN_OPT_ADAM);
    o.lr = lr;
    o.clip_norm = 5;
    o.seed = 1;
    return o;
}

/* A small repetitive text must be learned almost perfectly within a few
 * hundred steps: the validation loss falls below 0.05 nats per character
 * (a uniform guess over the 29 characters would be ln 29 = 3.37). */
static void test_learns_repetitive_text(void)
{
    char alphabet[64];
    size_t n;
    int V;
    int32_t *ids = repeat_text("the quick brown fox jumps over the lazy dog\n", 120, &n, &V, alphabet);
    rnn_model *m = lm(RNN_CELL_LSTM, V, 16, 64, 1, 0, 7);
    if (!m)
        return;
    rnn_train_options o = default_options(32, 16, 1e-2);
    size_t nval = 400;
    rnn_trainer *t;
    rnn_error e;
    CHECK_OK(rnn_lm_trainer_new(&t, m, &o, ids, n - nval, ids + n - nval, nval, &e));
    rnn_train_stats s;
    double first = NAN;
    for (int i = 0; i < 300; i++) {
        CHECK_OK(rnn_trainer_step(t, &s));
        if (i == 0)
            first = s.loss;
    }
    double val;
    CHECK_OK(rnn_trainer_evaluate(t, &val));
    CHECK_MSG(first > 3.0, "initial loss %g should be near ln(%d)", first, V);
    CHECK_MSG(val < 0.05, "validation loss after 300 steps is %g, expected < 0.05", val);
    CHECK(s.step == 300);
    rnn_trainer_free(t);
    rnn_model_free(m);
    free(ids);
}

/* Save after k steps, restore into fresh objects, continue: the parameters
 * at the end are bitwise those of an uninterrupted run (with dropout, so
 * the generator state matters too, and across an epoch boundary). */
static void test_resume_is_bitwise(void)
{
    char alphabet[64];
    size_t n;
    int V;
    int32_t *ids = repeat_text("sphinx of black quartz, judge my vow. ", 30, &n, &V, alphabet);
    rnn_train_options o = default_options(8, 4, 3e-3);
    char path[512];
    snprintf(path, sizeof path, "%s/resume.safetensors", t_tmpdir());
    rnn_error e;

    rnn_model *a = lm(RNN_CELL_LSTM, V, 8, 16, 2, 0.3f, 5);
    rnn_trainer *ta;
    CHECK_OK(rnn_lm_trainer_new(&ta, a, &o, ids, n - 100, ids + n - 100, 100, &e));
    rnn_train_stats s;
    for (int i = 0; i < 50; i++)
        CHECK_OK(rnn_trainer_step(ta, &s));
    CHECK_MSG(s.epoch >= 1, "the run should cross an epoch boundary (epoch %lld)", (long long)s.epoch);

    rnn_model *b = lm(RNN_CELL_LSTM, V, 8, 16, 2, 0.3f, 5);
    rnn_trainer *tb;
    CHECK_OK(rnn_lm_trainer_new(&tb, b, &o, ids, n - 100, ids + n - 100, 100, &e));
    for (int i = 0; i < 23; i++)
        CHECK_OK(rnn_trainer_step(tb, &s));
    double v1;
    CHECK_OK(rnn_trainer_evaluate(tb, &v1)); /* evaluation must not disturb training */
    CHECK_OK(rnn_trainer_save(tb, path, NULL, NULL, 0));
    rnn_trainer_free(tb);
    rnn_model_free(b);

    rnn_model *c = lm(RNN_CELL_LSTM, V, 8, 16, 2, 0.3f, 99); /* different init: restored anyway */
    rnn_trainer *tc;
    CHECK_OK(rnn_lm_trainer_new(&tc, c, &o, ids, n - 100, ids + n - 100, 100, &e));
    CHECK_OK(rnn_trainer_restore(tc, path));
    rnn_trainer_stats(tc, &s);
    CHECK(s.step == 23);
    for (int i = 23; i < 50; i++)
        CHECK_OK(rnn_trainer_step(tc, &s));
    size_t np;
    float *pa = rnn_model_params(a, &np), *pc = rnn_model_params(c, NULL);
    CHECK_MSG(memcmp(pa, pc, np * sizeof *pa) == 0, "resumed run differs from the uninterrupted one");

    /* restoring into a trainer on other data is refused */
    rnn_trainer *td;
    CHECK_OK(rnn_lm_trainer_new(&td, c, &o, ids, n - 101, ids + n - 101, 101, &e));
    CHECK(rnn_trainer_restore(td, path) == RNN_EINVAL);
    CHECK_MSG(strstr(rnn_trainer_errmsg(td), "different data") != NULL, "%s", rnn_trainer_errmsg(td));
    rnn_trainer_free(td);

    rnn_trainer_free(ta);
    rnn_trainer_free(tc);
    rnn_model_free(a);
    rnn_model_free(c);
    free(ids);
}

/* A non-finite loss is reported and not applied; a non-finite model is
 * never written. */
static void test_divergence_is_refused(void)
{
    char alphabet[64];
    size_t n;
    int V;
    int32_t *ids = repeat_text("abcabd", 100, &n, &V, alphabet);
    rnn_model *m = lm(RNN_CELL_GRU, V, 4, 8, 1, 0, 1);
    rnn_train_options o = default_options(5, 2, 1e-3);
    rnn_trainer *t;
    rnn_error e;
    CHECK_OK(rnn_lm_trainer_new(&t, m, &o, ids, n, NULL, 0, &e));
    size_t np;
    float *p = rnn_model_params(m, &np);
    rnn_tensor hw;
    CHECK_OK(rnn_model_find(m, "head.weight", &hw));
    hw.data[0] = INFINITY;
    float *before = malloc(np * sizeof *before);
    memcpy(before, p, np * sizeof *p);
    rnn_train_stats s;
    CHECK(rnn_trainer_step(t, &s) == RNN_EINVAL);
    CHECK_MSG(strstr(rnn_trainer_errmsg(t), "not applied") != NULL, "%s", rnn_trainer_errmsg(t));
    CHECK(memcmp(before, p, np * sizeof *p) == 0);
    char path[512];
    snprintf(path, sizeof path, "%s/nan.safetensors", t_tmpdir());
    CHECK(rnn_trainer_save(t, path, NULL, NULL, 0) == RNN_EINVAL);
    FILE *fp = fopen(path, "rb");
    CHECK(fp == NULL);
    if (fp)
        fclose(fp);
    free(before);
    rnn_trainer_free(t);
    rnn_model_free(m);
    free(ids);
}

/* The loss of a stream does not depend on how it is chunked, and equals
 * one forward over the whole sequence. */
static void test_eval_chunking(void)
{
    enum { N = 97, V = 7 };
    rnn_model *m = lm(RNN_CELL_GRU, V, 5, 12, 2, 0, 4);
    int32_t ids[N];
    for (int i = 0; i < N; i++)
        ids[i] = (i * 5 + i / 7) % V;
    double l1, l2, l3;
    size_t c1, c2;
    rnn_error e;
    CHECK_OK(rnn_lm_evaluate(m, ids, N, 7, 1, &l1, &c1, &e));
    CHECK_OK(rnn_lm_evaluate(m, ids, N, 256, 1, &l2, &c2, &e));
    CHECK(c1 == N - 1 && c2 == N - 1);
    CHECK_NEAR(l1, l2, 1e-6);
    static float logits[N * V];
    l3 = batch_loss(m, ids, ids + 1, N - 1, 1, V, logits, 0);
    CHECK_NEAR(l1, l3, 1e-6);
    rnn_model_free(m);
}

static void test_checkpoint_roundtrip(void)
{
    rnn_model_config c = {.vocab_size = 0, .embed_size = 0, .input_size = 3, .cell = RNN_CELL_GRU,
                           .hidden_size = 6, .num_layers = 2, .bidirectional = 1, .dropout = 0.25f,
                           .output_size = 4}; /* features, bidirectional */
    rnn_model *m;
    rnn_error e;
    CHECK_OK(rnn_model_new(&m, &c, 2, &e));
    char path[512];
    snprintf(path, sizeof path, "%s/model.safetensors", t_tmpdir());
    const char *k[] = {"note"}, *v[] = {"hello"};
    CHECK_OK(rnn_model_save(m, path, k, v, 1));
    rnn_model *l;
    CHECK_OK(rnn_model_load(&l, path, &e));
    if (l) {
        CHECK(memcmp(rnn_model_get_config(l), &c, sizeof c) == 0);
        size_t n1, n2;
        float *a = rnn_model_params(m, &n1), *b = rnn_model_params(l, &n2);
        CHECK(n1 == n2 && memcmp(a, b, n1 * sizeof *a) == 0);
        rnn_tensor t;
        CHECK_OK(rnn_model_find(l, "rnn.weight_hh_l1_reverse", &t));
        CHECK(t.shape[0] == 18 && t.shape[1] == 6);
        CHECK_OK(rnn_model_find(l, "head.weight", &t));
        CHECK(t.shape[0] == 4 && t.shape[1] == 12);
        rnn_model_free(l);
    }
    /* a bare state_dict is not a checkpoint */
    CHECK(rnn_model_load(&l, t_fixture("lstm_L1_uni_eq.safetensors"), &e) == RNN_EFORMAT);
    CHECK_MSG(strstr(e.msg, "not an rnn checkpoint") != NULL, "%s", e.msg);
    rnn_model_free(m);
}

static void test_sample_token(void)
{
    float logits[5] = {0.1f, 2.0f, -1.0f, 1.9f, 0.0f};
    uint64_t s = 1;
    CHECK(rnn_sample_token(logits, 5, 0.0, 0, 1.0, &s) == 1); /* temperature 0: argmax */
    CHECK(rnn_sample_token(logits, 5, 1.0, 1, 1.0, &s) == 1); /* top-k 1: argmax */
    int counts[5] = {0};
    uint64_t a = 42, b = 42;
    for (int i = 0; i < 20000; i++) {
        int x = rnn_sample_token(logits, 5, 1.0, 0, 1.0, &a);
        CHECK(x == rnn_sample_token(logits, 5, 1.0, 0, 1.0, &b)); /* same seed, same draws */
        counts[x]++;
    }
    double z = 0;
    for (int v = 0; v < 5; v++)
        z += exp(logits[v]);
    for (int v = 0; v < 5; v++)
        CHECK_NEAR(counts[v] / 20000.0, exp(logits[v]) / z, 0.015);
    /* top-k 2 and top-p 0.5 keep only tokens 1 and 3 */
    for (int i = 0; i < 2000; i++) {
        int x = rnn_sample_token(logits, 5, 1.0, 2, 1.0, &a), y = rnn_sample_token(logits, 5, 1.0, 0, 0.5, &a);
        CHECK(x == 1 || x == 3);
        CHECK(y == 1 || y == 3);
    }
    /* a tiny temperature is nearly greedy */
    int greedy = 0;
    for (int i = 0; i < 1000; i++)
        greedy += rnn_sample_token(logits, 5, 0.01, 0, 1.0, &a) == 1;
    CHECK(greedy == 1000);
}

/* Training with 1 and with 2 threads gives bitwise the same parameters
 * and optimizer state: threads split batch rows, output columns and
 * parameter slices, never a sum. */
static void test_threads_do_not_change_results(void)
{
    char alphabet[64];
    size_t n;
    int V;
    int32_t *ids = repeat_text("pack my box with five dozen liquor jugs. ", 80, &n, &V, alphabet);
    rnn_train_options o = default_options(24, 16, 3e-3);
    float *params[2];
    size_t np = 0;
    for (int nt = 1; nt <= 2; nt++) {
        rnn_model *m = lm(RNN_CELL_LSTM, V, 32, 96, 2, 0.2f, 5);
        rnn_model_set_threads(m, nt);
        rnn_trainer *t;
        rnn_error e;
        CHECK_OK(rnn_lm_trainer_new(&t, m, &o, ids, n, NULL, 0, &e));
        for (int i = 0; i < 12; i++)
            CHECK_OK(rnn_trainer_step(t, NULL));
        float *p = rnn_model_params(m, &np);
        params[nt - 1] = malloc(np * sizeof *p);
        memcpy(params[nt - 1], p, np * sizeof *p);
        rnn_trainer_free(t);
        rnn_model_free(m);
    }
    if (!rnn__gemm_bitwise()) /* a library's GEMM: see test_stack.c */
        CHECK(t_allclose("parameters after 12 steps, 1 and 2 threads on a library GEMM", params[0],
                         params[1], np, 1e-5, 1e-4));
    else
        CHECK_MSG(memcmp(params[0], params[1], np * sizeof(float)) == 0,
                  "parameters after 12 steps differ between 1 and 2 threads");
    free(params[0]);
    free(params[1]);
    free(ids);
}

void suite_train(void);
void suite_train(void)
{
    RUN(test_model_gradient);
    RUN(test_learns_repetitive_text);
    RUN(test_resume_is_bitwise);
    RUN(test_divergence_is_refused);
    RUN(test_eval_chunking);
    RUN(test_checkpoint_roundtrip);
    RUN(test_sample_token);
    RUN(test_threads_do_not_change_results);
}
