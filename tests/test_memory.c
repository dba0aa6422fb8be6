/*
 * test_memory.c -- the long-memory tasks behind `rnn task adding|copy`:
 *   - the data generators (markers, targets, one-hot copy sequences) and the
 *     memoryless baselines holding on generated data;
 *   - an LSTM beating the adding baseline by a stated margin in a short run;
 *   - the gradient flow: finite, and vanishing for an untrained tanh RNN
 *     (|dL/dh_0| orders of magnitude below |dL/dh_{T-1}|), and for an
 *     untrained LSTM too; the Statal model's flow finite.
 */
#include "test.h"

#include "model/memtask.h"
#include "model/model.h"
#include "model/statal_model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void test_adding_data(void)
{
    enum { N = 20000, T = 30 };
    float *x = malloc(sizeof(float) * N * T * 2), *y = malloc(sizeof(float) * N);
    rnn__adding_data(x, y, N, T, 5);
    double se1 = 0, mean = 0;
    int first_half_ok = 1, second_half_ok = 1, sum_ok = 1, values_ok = 1;
    for (int i = 0; i < N; i++) {
        const float *xi = x + (size_t)i * T * 2;
        int n0 = 0, n1 = 0;
        double sum = 0;
        for (int t = 0; t < T; t++) {
            values_ok &= xi[2 * t] >= 0 && xi[2 * t] < 1;
            if (xi[2 * t + 1] == 1.0f) {
                sum += xi[2 * t];
                if (t < T / 2)
                    n0++;
                else
                    n1++;
            } else {
                values_ok &= xi[2 * t + 1] == 0.0f;
            }
        }
        first_half_ok &= n0 == 1;
        second_half_ok &= n1 == 1;
        sum_ok &= fabs(sum - y[i]) < 1e-6;
        se1 += (1.0 - y[i]) * (1.0 - y[i]);
        mean += y[i];
    }
    CHECK(values_ok);
    CHECK_MSG(first_half_ok && second_half_ok, "one marker in each half");
    CHECK_MSG(sum_ok, "the target is the sum of the marked values");
    /* predicting 1 always: MSE = Var(u1 + u2) = 1/6 (standard error ~0.0015 here) */
    CHECK_NEAR(se1 / N, rnn__adding_baseline(), 0.006);
    CHECK_NEAR(rnn__adding_baseline(), 0.1667, 5e-5);
    CHECK_NEAR(mean / N, 1.0, 0.01);
    /* deterministic in the seed, different across seeds */
    float *x2 = malloc(sizeof(float) * N * T * 2), *y2 = malloc(sizeof(float) * N);
    rnn__adding_data(x2, y2, N, T, 5);
    CHECK(memcmp(x, x2, sizeof(float) * N * T * 2) == 0);
    rnn__adding_data(x2, y2, N, T, 6);
    CHECK(memcmp(x, x2, sizeof(float) * N * T * 2) != 0);
    /* T = 2: one marker on each step */
    rnn__adding_data(x2, y2, 10, 2, 1);
    for (int i = 0; i < 10; i++)
        CHECK(x2[i * 4 + 1] == 1.0f && x2[i * 4 + 3] == 1.0f);
    free(x); free(y); free(x2); free(y2);
}

static void test_copy_data(void)
{
    enum { N = 500, T = 15, L = T + 20, F = RNN__COPY_INPUTS };
    float *x = malloc(sizeof(float) * N * L * F);
    int32_t *lab = malloc(sizeof(int32_t) * N * L);
    rnn__copy_data(x, lab, N, T, 9);
    int onehot = 1, layout = 1, labels_ok = 1, hist[9] = {0};
    for (int i = 0; i < N; i++)
        for (int t = 0; t < L; t++) {
            const float *v = x + ((size_t)i * L + t) * F;
            int hot = -1, count = 0;
            for (int k = 0; k < F; k++) {
                count += v[k] != 0.0f;
                if (v[k] == 1.0f)
                    hot = k;
            }
            onehot &= count == 1 && hot >= 0;
            const int32_t l = lab[(size_t)i * L + t];
            if (t < 10) {
                layout &= hot >= 1 && hot <= 8;
                hist[hot >= 0 && hot <= 8 ? hot : 0]++;
            } else {
                layout &= hot == (t == T + 9 ? 9 : 0);
            }
            if (t < T + 10) {
                labels_ok &= l == 0;
            } else {
                const float *src = x + ((size_t)i * L + (t - T - 10)) * F;
                labels_ok &= l >= 1 && l <= 8 && src[l] == 1.0f;
            }
        }
    CHECK_MSG(onehot, "every step is one-hot");
    CHECK_MSG(layout, "10 symbols, blanks, the delimiter at T+9, blanks");
    CHECK_MSG(labels_ok, "blank labels, then the 10 symbols in order");
    for (int k = 1; k <= 8; k++) /* symbols uniform: 625 expected each */
        CHECK_MSG(hist[k] > 500 && hist[k] < 750, "symbol %d drawn %d times", k, hist[k]);

    /* the memoryless predictor (certain blank, then uniform over the 8
     * symbols) scores exactly the baseline on this data */
    float *logits = malloc(sizeof(float) * N * L * RNN__COPY_CLASSES);
    for (int i = 0; i < N; i++)
        for (int t = 0; t < L; t++) {
            float *lg = logits + ((size_t)i * L + t) * RNN__COPY_CLASSES;
            for (int k = 0; k < RNN__COPY_CLASSES; k++)
                lg[k] = t < T + 10 ? (k == 0 ? 60.0f : -60.0f) : (k == 0 ? -60.0f : 0.0f);
        }
    double ce = rnn_cross_entropy(NULL, logits, lab, N * L, RNN__COPY_CLASSES, 1.0f, NULL);
    CHECK_NEAR(ce / (N * L), rnn__copy_baseline(T), 1e-6);
    CHECK_NEAR(rnn__copy_baseline(50), 10 * log(8.0) / 70, 1e-12);
    free(x); free(lab); free(logits);
}

/* An LSTM learns the adding problem at T = 20 in a short run: test MSE at
 * least 10 times below the memoryless 0.167. */
static void test_lstm_solves_adding(void)
{
    enum { N = 4000, NT = 500, T = 20 };
    float *x = malloc(sizeof(float) * N * T * 2), *y = malloc(sizeof(float) * N);
    float *tx = malloc(sizeof(float) * NT * T * 2), *ty = malloc(sizeof(float) * NT);
    rnn__adding_data(x, y, N, T, 1);
    rnn__adding_data(tx, ty, NT, T, 2);
    rnn_dataset train = {N, T, NULL, NULL, x, NULL, NULL, y};
    rnn_dataset test = {NT, T, NULL, NULL, tx, NULL, NULL, ty};
    rnn_model_config c = {0};
    c.input_size = 2;
    c.cell = RNN_CELL_LSTM;
    c.hidden_size = 32;
    c.num_layers = 1;
    c.output_size = 1;
    c.readout = RNN_READOUT_LAST;
    rnn_model *m;
    CHECK_OK(rnn_model_new(&m, &c, 1, NULL));
    rnn_train_options o = {0};
    o.batch = 32;
    o.lr = 1e-2;
    o.clip_norm = 1;
    o.seed = 1;
    rnn_optim_defaults(&o.optim, RNN_OPT_ADAM);
    rnn_trainer *t;
    rnn_error e;
    CHECK_OK(rnn_seq_trainer_new(&t, m, &o, RNN_LOSS_MSE, &train, NULL, &e));
    for (int s = 0; s < 600 && t; s++)
        CHECK_OK(rnn_trainer_step(t, NULL));
    float *out = malloc(sizeof(float) * NT);
    CHECK_OK(rnn_model_predict(m, out, &test, 100, NULL));
    double se = 0;
    for (int i = 0; i < NT; i++)
        se += ((double)out[i] - ty[i]) * ((double)out[i] - ty[i]);
    CHECK_MSG(se / NT < rnn__adding_baseline() / 10,
              "LSTM test MSE %.4f after 600 steps; want < %.4f (baseline / 10)", se / NT,
              rnn__adding_baseline() / 10);
    rnn_trainer_free(t);
    rnn_model_free(m);
    free(x); free(y); free(tx); free(ty); free(out);
}

static void flow_of(rnn_cell cell, int T, double *flow)
{
    enum { N = 64 };
    float *x = malloc(sizeof(float) * N * T * 2), *y = malloc(sizeof(float) * N);
    rnn__adding_data(x, y, N, T, 3);
    rnn_dataset d = {N, T, NULL, NULL, x, NULL, NULL, y};
    rnn_model_config c = {0};
    c.input_size = 2;
    c.cell = cell;
    c.hidden_size = 64;
    c.num_layers = 1;
    c.output_size = 1;
    c.readout = RNN_READOUT_LAST;
    rnn_model *m;
    CHECK_OK(rnn_model_new(&m, &c, 1, NULL));
    rnn_error e;
    CHECK_OK(rnn__model_gradflow(m, RNN_LOSS_MSE, &d, N, 0, flow, &e));
    size_t n;
    const float *g = rnn_model_grads(m, &n);
    int zero = 1;
    for (size_t i = 0; i < n; i++)
        zero &= g[i] == 0.0f;
    CHECK_MSG(zero, "the gradients are zeroed after the measurement");
    rnn_model_free(m);
    free(x);
    free(y);
}

static void test_gradflow_vanishes_for_rnn(void)
{
    enum { T = 50 };
    double rnn[T], lstm[T];
    flow_of(RNN_CELL_RNN_TANH, T, rnn);
    flow_of(RNN_CELL_LSTM, T, lstm);
    for (int t = 0; t < T; t++) {
        CHECK(isfinite(rnn[t]) && rnn[t] >= 0);
        CHECK(isfinite(lstm[t]) && lstm[t] >= 0);
    }
    CHECK(rnn[T - 1] > 0 && lstm[T - 1] > 0);
    /* the picture of the seeds: the gradient reaching h_0 of an untrained
     * tanh RNN is orders of magnitude below the one reaching h_{T-1} */
    CHECK_MSG(rnn[0] < 1e-4 * rnn[T - 1], "tanh RNN: |dL/dh_0| = %.3g, |dL/dh_T-1| = %.3g", rnn[0],
              rnn[T - 1]);
    /* and it decays along the way, not only at the ends */
    CHECK(rnn[T / 2] < rnn[T - 1] && rnn[0] < rnn[T / 2]);
    /* an untrained LSTM vanishes too (its forget gates start near 0.5: the
     * cell keeps about half per step); training is what opens them */
    CHECK_MSG(lstm[0] < 1e-4 * lstm[T - 1], "LSTM: |dL/dh_0| = %.3g, |dL/dh_T-1| = %.3g", lstm[0],
              lstm[T - 1]);
}

static void test_gradflow_statal(void)
{
    enum { N = 32, T = 40 };
    float *x = malloc(sizeof(float) * N * (T + 20) * RNN__COPY_INPUTS);
    int32_t *lab = malloc(sizeof(int32_t) * N * (T + 20));
    rnn__copy_data(x, lab, N, T, 4);
    rnn_dataset d = {N, T + 20, NULL, NULL, x, NULL, lab, NULL};
    for (int mode = RNN__STATAL_COPY; mode <= RNN__STATAL_MULTI; mode++) {
        rnn__statal_config c = {(rnn__statal_mode)mode, RNN__COPY_INPUTS, 16, 1,
                                RNN__COPY_CLASSES, 1};
        rnn__statal_model *m;
        CHECK_OK(rnn__statal_model_new(&m, &c, 2, NULL));
        double flow[T + 20];
        rnn_error e;
        CHECK_OK(rnn__statal_gradflow(m, RNN_LOSS_XENT, &d, N, T + 10, flow, &e));
        int finite = 1;
        for (int t = 0; t < T + 20; t++)
            finite &= isfinite(flow[t]) && flow[t] >= 0;
        CHECK_MSG(finite, "statal %s: gradient flow not finite", rnn__statal_mode_name(c.mode));
        CHECK(flow[T + 19] > 0);
        rnn__statal_model_free(m);
    }
    free(x);
    free(lab);
}

void suite_memory(void);
void suite_memory(void)
{
    RUN(test_adding_data);
    RUN(test_copy_data);
    RUN(test_gradflow_vanishes_for_rnn);
    RUN(test_gradflow_statal);
    RUN(test_lstm_solves_adding);
}
