/*
 * test_stack.c -- stacks through the public API: packed-sequence semantics
 * (a padded batch equals each sequence run alone), dropout, init schemes,
 * parameter names and layout, save/load, and call-order errors.
 */
#include "test.h"

#include "core/core.h"
#include "model/stack.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static rnn_stack *make(rnn_cell cell, int I, int H, int L, int bi, float p, uint64_t seed)
{
    rnn_stack_config c = {cell, I, H, L, bi, p};
    rnn_stack *s = NULL;
    rnn_error e;
    if (rnn_stack_new(&s, &c, seed, &e) != RNN_OK) {
        t_fail_at(__FILE__, __LINE__, "rnn_stack_new: %s", e.msg);
        return NULL;
    }
    return s;
}

static void randv(float *a, size_t n, rnn__rng *r)
{
    for (size_t i = 0; i < n; i++)
        a[i] = (float)rnn__rng_normal(r) * 0.7f;
}

/* Batch with lengths == every sequence alone with its own length, for
 * outputs, final states, input/state gradients and parameter gradients. */
static void test_lengths_equal_separate_runs(void)
{
    enum { T = 6, B = 3, I = 4, H = 5, L = 2, D = 2 };
    const int32_t lens[B] = {4, 6, 1};
    for (int cell = 0; cell < 4; cell++) {
        rnn_stack *s = make((rnn_cell)cell, I, H, L, 1, 0, 11);
        if (!s)
            return;
        rnn__rng r;
        rnn__rng_seed(&r, 5);
        static float x[T * B * I], h0[D * L * B * H], c0[D * L * B * H], dy[T * B * D * H],
            dhn[D * L * B * H], dcn[D * L * B * H];
        randv(x, T * B * I, &r);
        randv(h0, D * L * B * H, &r);
        randv(c0, D * L * B * H, &r);
        randv(dy, T * B * D * H, &r);
        randv(dhn, D * L * B * H, &r);
        randv(dcn, D * L * B * H, &r);
        static float y[T * B * D * H], hn[D * L * B * H], cn[D * L * B * H], dx[T * B * I],
            dh0[D * L * B * H], dc0[D * L * B * H];
        size_t np;
        float *g = rnn_stack_grads(s, &np);
        rnn_stack_zero_grad(s);
        CHECK_OK(rnn_stack_forward(s, y, hn, cn, x, h0, c0, lens, T, B, 1));
        CHECK_OK(rnn_stack_backward(s, dx, dh0, dc0, dy, dhn, dcn));
        float *gbatch = malloc(np * sizeof *gbatch);
        memcpy(gbatch, g, np * sizeof *g);
        rnn_stack_zero_grad(s);

        for (int b = 0; b < B; b++) {
            int Tb = lens[b];
            float xs[T * I], h0s[D * L * H], c0s[D * L * H], dys[T * D * H], dhns[D * L * H],
                dcns[D * L * H], ys[T * D * H], hns[D * L * H], cns[D * L * H], dxs[T * I],
                dh0s[D * L * H], dc0s[D * L * H];
            for (int t = 0; t < Tb; t++) {
                memcpy(xs + t * I, x + (t * B + b) * I, I * sizeof *x);
                memcpy(dys + t * D * H, dy + (t * B + b) * D * H, D * H * sizeof *dy);
            }
            for (int k = 0; k < D * L; k++) {
                memcpy(h0s + k * H, h0 + (k * B + b) * H, H * sizeof *x);
                memcpy(c0s + k * H, c0 + (k * B + b) * H, H * sizeof *x);
                memcpy(dhns + k * H, dhn + (k * B + b) * H, H * sizeof *x);
                memcpy(dcns + k * H, dcn + (k * B + b) * H, H * sizeof *x);
            }
            CHECK_OK(rnn_stack_forward(s, ys, hns, cns, xs, h0s, c0s, NULL, Tb, 1, 1));
            CHECK_OK(rnn_stack_backward(s, dxs, dh0s, dc0s, dys, dhns, dcns));
            char what[64];
            for (int t = 0; t < T; t++) {
                float zero[D * H] = {0};
                snprintf(what, sizeof what, "%s y[t=%d][b=%d]", rnn_cell_name((rnn_cell)cell), t, b);
                t_allclose(what, y + (t * B + b) * D * H, t < Tb ? ys + t * D * H : zero,
                           D * H, 1e-6, 1e-5);
                if (t < Tb) {
                    snprintf(what, sizeof what, "%s dx[t=%d][b=%d]", rnn_cell_name((rnn_cell)cell), t, b);
                    t_allclose(what, dx + (t * B + b) * I, dxs + t * I, I, 1e-6, 1e-5);
                } else {
                    for (int i = 0; i < I; i++)
                        CHECK(dx[(t * B + b) * I + i] == 0);
                }
            }
            for (int k = 0; k < D * L; k++) {
                snprintf(what, sizeof what, "%s hn[%d][b=%d]", rnn_cell_name((rnn_cell)cell), k, b);
                t_allclose(what, hn + (k * B + b) * H, hns + k * H, H, 1e-6, 1e-5);
                t_allclose("dh0", dh0 + (k * B + b) * H, dh0s + k * H, H, 1e-6, 1e-5);
                if (cell == RNN_CELL_LSTM) {
                    t_allclose("cn", cn + (k * B + b) * H, cns + k * H, H, 1e-6, 1e-5);
                    t_allclose("dc0", dc0 + (k * B + b) * H, dc0s + k * H, H, 1e-6, 1e-5);
                }
            }
        }
        /* parameter gradients of the separate runs accumulated == batch */
        t_allclose("parameter gradients", g, gbatch, np, 1e-5, 1e-4);
        free(gbatch);
        rnn_stack_free(s);
    }
}

static void test_dropout(void)
{
    enum { T = 20, B = 8, I = 3, H = 16 };
    rnn_stack *s = make(RNN_CELL_GRU, I, H, 3, 1, 0.3f, 1);
    rnn_stack *s0 = make(RNN_CELL_GRU, I, H, 3, 1, 0.0f, 1);
    if (!s || !s0)
        return;
    size_t np;
    float *p = rnn_stack_params(s, &np), *p0 = rnn_stack_params(s0, NULL);
    memcpy(p0, p, np * sizeof *p); /* same weights */
    static float x[T * B * I], y1[T * B * 2 * H], y2[T * B * 2 * H], y0[T * B * 2 * H];
    rnn__rng r;
    rnn__rng_seed(&r, 3);
    randv(x, T * B * I, &r);

    /* evaluation mode: no dropout at all */
    CHECK_OK(rnn_stack_forward(s, y1, NULL, NULL, x, NULL, NULL, NULL, T, B, 0));
    CHECK_OK(rnn_stack_forward(s0, y0, NULL, NULL, x, NULL, NULL, NULL, T, B, 1));
    CHECK(memcmp(y1, y0, sizeof y0) == 0);

    /* training: masks differ between calls, repeat after reseeding */
    rnn_stack_seed(s, 9);
    CHECK_OK(rnn_stack_forward(s, y1, NULL, NULL, x, NULL, NULL, NULL, T, B, 1));
    CHECK_OK(rnn_stack_forward(s, y2, NULL, NULL, x, NULL, NULL, NULL, T, B, 1));
    CHECK(memcmp(y1, y2, sizeof y1) != 0);
    CHECK(memcmp(y1, y0, sizeof y0) != 0);
    rnn_stack_seed(s, 9);
    CHECK_OK(rnn_stack_forward(s, y2, NULL, NULL, x, NULL, NULL, NULL, T, B, 1));
    CHECK(memcmp(y1, y2, sizeof y1) == 0);

    /* masks: the drop rate is p and kept values are scaled by 1/(1-p) */
    const rnn__stack *st = (const rnn__stack *)s; /* rnn_stack starts with its rnn__stack */
    size_t n = (size_t)T * B * 2 * H, zeros = 0;
    for (int l = 0; l < 2; l++)
        for (size_t i = 0; i < n; i++) {
            float m = st->mask[l][i];
            CHECK(m == 0.0f || fabsf(m - 1.0f / 0.7f) < 1e-6f);
            zeros += m == 0.0f;
        }
    CHECK_NEAR((double)zeros / (2.0 * n), 0.3, 0.03);
    rnn_stack_free(s);
    rnn_stack_free(s0);
}

/* With fixed masks (same seed before every forward) dropout is a fixed
 * linear map: finite differences in float agree with backward. */
static void test_dropout_gradient(void)
{
    enum { T = 4, B = 2, I = 3, H = 4 };
    rnn_stack *s = make(RNN_CELL_LSTM, I, H, 2, 0, 0.5f, 2);
    if (!s)
        return;
    float x[T * B * I], dy[T * B * H], y[T * B * H], dx[T * B * I];
    rnn__rng r;
    rnn__rng_seed(&r, 4);
    randv(x, T * B * I, &r);
    randv(dy, T * B * H, &r);
    size_t np;
    float *p = rnn_stack_params(s, &np), *g = rnn_stack_grads(s, NULL);
    rnn_stack_zero_grad(s);
    rnn_stack_seed(s, 77);
    CHECK_OK(rnn_stack_forward(s, y, NULL, NULL, x, NULL, NULL, NULL, T, B, 1));
    CHECK_OK(rnn_stack_backward(s, dx, NULL, NULL, dy, NULL, NULL));
    double worst = 0;
    for (size_t i = 0; i < np; i += 7) {
        float keep = p[i];
        double l[2];
        for (int k = 0; k < 2; k++) {
            p[i] = keep + (k ? -1e-2f : 1e-2f);
            rnn_stack_seed(s, 77);
            rnn_stack_forward(s, y, NULL, NULL, x, NULL, NULL, NULL, T, B, 1);
            l[k] = 0;
            for (int j = 0; j < T * B * H; j++)
                l[k] += (double)y[j] * dy[j];
        }
        p[i] = keep;
        double num = (l[0] - l[1]) / 2e-2;
        double e = fabs(num - g[i]) / (1e-2 + fabs(num));
        if (e > worst)
            worst = e;
    }
    CHECK_MSG(worst < 2e-2, "dropout: finite differences vs backward, worst rel error %g", worst);
    rnn_stack_free(s);
}

static void test_names_and_layout(void)
{
    rnn_stack *s = make(RNN_CELL_GRU, 7, 5, 2, 1, 0, 1);
    if (!s)
        return;
    static const char *names[] = {
        "weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
        "weight_ih_l0_reverse", "weight_hh_l0_reverse", "bias_ih_l0_reverse", "bias_hh_l0_reverse",
        "weight_ih_l1", "weight_hh_l1", "bias_ih_l1", "bias_hh_l1",
        "weight_ih_l1_reverse", "weight_hh_l1_reverse", "bias_ih_l1_reverse", "bias_hh_l1_reverse"};
    CHECK(rnn_stack_num_tensors(s) == 16);
    size_t np, off = 0;
    float *base = rnn_stack_params(s, &np);
    for (size_t i = 0; i < 16; i++) {
        rnn_tensor t;
        CHECK_OK(rnn_stack_tensor(s, i, &t));
        CHECK_MSG(strcmp(t.name, names[i]) == 0, "tensor %zu is %s, expected %s", i, t.name, names[i]);
        CHECK(t.data == base + off); /* contiguous, in state_dict order */
        off += t.numel;
        int64_t in = i < 8 ? 7 : 10;
        if (i % 4 == 0)
            CHECK(t.ndim == 2 && t.shape[0] == 15 && t.shape[1] == in);
        else if (i % 4 == 1)
            CHECK(t.ndim == 2 && t.shape[0] == 15 && t.shape[1] == 5);
        else
            CHECK(t.ndim == 1 && t.shape[0] == 15);
    }
    CHECK(off == np);
    rnn_tensor t;
    CHECK_OK(rnn_stack_find(s, "bias_hh_l1_reverse", &t));
    CHECK(t.numel == 15);
    CHECK(rnn_stack_find(s, "bias_hh_l2", &t) == RNN_ENOTFOUND);
    CHECK(strstr(rnn_stack_errmsg(s), "bias_hh_l2") != NULL);
    rnn_stack_free(s);
}

static void test_init_schemes(void)
{
    rnn_stack *s = make(RNN_CELL_LSTM, 6, 8, 1, 0, 0, 1);
    if (!s)
        return;
    rnn_tensor ih, hh, bi, bh;
    rnn_stack_find(s, "weight_ih_l0", &ih);
    rnn_stack_find(s, "weight_hh_l0", &hh);
    rnn_stack_find(s, "bias_ih_l0", &bi);
    rnn_stack_find(s, "bias_hh_l0", &bh);
    /* PyTorch default: U(-1/sqrt(H), 1/sqrt(H)), and actually spread */
    float k = 1.0f / sqrtf(8.0f), mx = 0;
    for (size_t i = 0; i < hh.numel; i++) {
        CHECK(fabsf(hh.data[i]) <= k);
        if (fabsf(hh.data[i]) > mx)
            mx = fabsf(hh.data[i]);
    }
    CHECK(mx > 0.8f * k);

    rnn_init_options o = {RNN_INIT_XAVIER, RNN_INIT_ORTHOGONAL, 1, 1, 1.0f};
    CHECK_OK(rnn_stack_init(s, &o, 5));
    float a = sqrtf(6.0f / (32 + 6));
    for (size_t i = 0; i < ih.numel; i++)
        CHECK(fabsf(ih.data[i]) <= a);
    /* each 8x8 gate block of weight_hh is orthogonal: W W^T = I */
    double worst = 0;
    for (int g = 0; g < 4; g++) {
        const float *w = hh.data + g * 64;
        for (int i = 0; i < 8; i++)
            for (int j = 0; j < 8; j++) {
                double dot = 0;
                for (int c = 0; c < 8; c++)
                    dot += (double)w[i * 8 + c] * w[j * 8 + c];
                double e = fabs(dot - (i == j));
                if (e > worst)
                    worst = e;
            }
    }
    CHECK_MSG(worst < 1e-5, "orthogonality error %g", worst);
    for (int j = 0; j < 32; j++) {
        float want = (j >= 8 && j < 16) ? 1.0f : 0.0f; /* forget block of b_ih */
        CHECK(bi.data[j] == want);
        CHECK(bh.data[j] == 0.0f);
    }
    /* orthogonal input weights: 8x6 blocks with orthonormal columns */
    o.input_weights = RNN_INIT_ORTHOGONAL;
    CHECK_OK(rnn_stack_init(s, &o, 6));
    for (int c1 = 0; c1 < 6; c1++)
        for (int c2 = 0; c2 < 6; c2++) {
            double dot = 0;
            for (int r = 0; r < 8; r++)
                dot += (double)ih.data[r * 6 + c1] * ih.data[r * 6 + c2];
            CHECK_NEAR(dot, c1 == c2, 1e-5);
        }
    rnn_stack_free(s);
}

static void test_call_order_and_bad_arguments(void)
{
    rnn_stack_config bad[] = {
        {RNN_CELL_LSTM, 0, 4, 1, 0, 0}, {RNN_CELL_LSTM, 3, -1, 1, 0, 0},
        {RNN_CELL_LSTM, 3, 4, 0, 0, 0}, {RNN_CELL_LSTM, 3, 4, 1, 2, 0},
        {RNN_CELL_LSTM, 3, 4, 1, 0, 1.0f}, {RNN_CELL_LSTM, 3, 4, 1, 0, NAN},
        {(rnn_cell)9, 3, 4, 1, 0, 0}, {RNN_CELL_GRU, 3, 1 << 30, 1, 0, 0},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rnn_stack *s = (rnn_stack *)1;
        rnn_error e = {RNN_OK, ""};
        rnn_status st = rnn_stack_new(&s, &bad[i], 1, &e);
        CHECK_MSG(st != RNN_OK && e.status == st && e.msg[0] && s == NULL,
                  "bad config %zu accepted (status %d, msg '%s')", i, st, e.msg);
    }
    rnn_stack *s = make(RNN_CELL_RNN_TANH, 2, 3, 1, 0, 0, 1);
    if (!s)
        return;
    float x[8] = {0}, y[12];
    CHECK(rnn_stack_backward(s, NULL, NULL, NULL, NULL, NULL, NULL) == RNN_ESTATE);
    CHECK(strstr(rnn_stack_errmsg(s), "forward") != NULL);
    CHECK_OK(rnn_stack_forward(s, y, NULL, NULL, x, NULL, NULL, NULL, 4, 1, 0));
    CHECK(rnn_stack_errmsg(s)[0] == '\0');
    CHECK(rnn_stack_backward(s, NULL, NULL, NULL, y, NULL, NULL) == RNN_ESTATE);
    CHECK_OK(rnn_stack_forward(s, y, NULL, NULL, x, NULL, NULL, NULL, 4, 1, 1));
    CHECK_OK(rnn_stack_backward(s, NULL, NULL, NULL, y, NULL, NULL));
    CHECK(rnn_stack_backward(s, NULL, NULL, NULL, y, NULL, NULL) == RNN_ESTATE);
    int32_t zero[1] = {0}, big[1] = {5};
    CHECK(rnn_stack_forward(s, y, NULL, NULL, x, NULL, NULL, zero, 4, 1, 1) == RNN_EINVAL);
    CHECK(strstr(rnn_stack_errmsg(s), "lengths[0] = 0") != NULL);
    CHECK(rnn_stack_forward(s, y, NULL, NULL, x, NULL, NULL, big, 4, 1, 1) == RNN_EINVAL);
    CHECK(rnn_stack_forward(s, y, NULL, NULL, x, NULL, NULL, NULL, 0, 1, 1) == RNN_EINVAL);
    CHECK(rnn_stack_forward(s, y, NULL, NULL, NULL, NULL, NULL, NULL, 4, 1, 1) == RNN_EINVAL);
    CHECK(rnn_stack_reserve(s, 1 << 30, 1 << 30) == RNN_EOVERFLOW);
    rnn_stack_free(s);
}

/* Growing the workspace between calls keeps results identical. */
static void test_reserve_and_regrow(void)
{
    rnn_stack *s = make(RNN_CELL_LSTM, 3, 4, 2, 1, 0, 1);
    if (!s)
        return;
    float x[10 * 2 * 3], y1[10 * 2 * 8], y2[10 * 2 * 8];
    rnn__rng r;
    rnn__rng_seed(&r, 1);
    randv(x, sizeof x / sizeof *x, &r);
    CHECK_OK(rnn_stack_forward(s, y1, NULL, NULL, x, NULL, NULL, NULL, 10, 2, 0));
    CHECK_OK(rnn_stack_reserve(s, 3, 1)); /* smaller: keeps the big one */
    CHECK_OK(rnn_stack_forward(s, y2, NULL, NULL, x, NULL, NULL, NULL, 10, 2, 0));
    CHECK(memcmp(y1, y2, sizeof y1) == 0);
    CHECK_OK(rnn_stack_forward(s, y2, NULL, NULL, x, NULL, NULL, NULL, 2, 1, 0));
    CHECK_OK(rnn_stack_reserve(s, 50, 4));
    CHECK_OK(rnn_stack_forward(s, y2, NULL, NULL, x, NULL, NULL, NULL, 10, 2, 0));
    CHECK(memcmp(y1, y2, sizeof y1) == 0);
    rnn_stack_free(s);
}

static void test_save_load_roundtrip(void)
{
    rnn_stack *s = make(RNN_CELL_GRU, 3, 4, 2, 1, 0, 8);
    if (!s)
        return;
    char path[512];
    snprintf(path, sizeof path, "%s/stack.safetensors", t_tmpdir());
    CHECK_OK(rnn_stack_save(s, path, "enc.rnn."));
    rnn_stack *l = NULL;
    rnn_error e;
    CHECK_OK(rnn_stack_load(&l, path, "enc.rnn.", RNN_CELL_RNN_TANH, &e));
    if (l) {
        const rnn_stack_config *c = rnn_stack_get_config(l);
        CHECK(c->cell == RNN_CELL_GRU && c->input_size == 3 && c->hidden_size == 4 &&
              c->num_layers == 2 && c->bidirectional == 1);
        size_t n1, n2;
        float *a = rnn_stack_params(s, &n1), *b = rnn_stack_params(l, &n2);
        CHECK(n1 == n2 && memcmp(a, b, n1 * sizeof *a) == 0);
        rnn_stack_free(l);
    }
    /* wrong prefix: a helpful message naming the prefix that would work */
    CHECK(rnn_stack_load(&l, path, "", RNN_CELL_RNN_TANH, &e) == RNN_ENOTFOUND);
    CHECK_MSG(strstr(e.msg, "enc.rnn.") != NULL, "message: %s", e.msg);
    rnn_stack_free(s);
}

/* Forward and backward give bitwise the same results for any thread count
 * (the work is split by batch rows and output columns, never along a sum;
 * with 2 or more threads the stack keeps its rows blocked, layers.h), 1
 * against 2 and 3 threads. Bidirectional with lengths; one direction (each
 * inner layer's output read in place from its states); one direction with
 * dropout.
 * On our own GEMM only: OpenBLAS (make GEMM=blas) picks its kernels by the
 * shape of each call, so splitting a product changes its last bits; there
 * the results must agree closely (docs/reliability.md, "Determinism"). */
static void test_threads_bitwise(void)
{
    enum { NT = 90, NB = 37, I = 24, H = 80, L = 2 };
    /* batches of 2 and 3 (one row block of one row) with T long enough for
     * the layers to run two threads; 3 threads make rows straddle blocks */
    const struct {
        int bi, lens, T, B;
        float p;
    } cfg[5] = {{1, 1, 9, NB, 0.0f}, {0, 0, 9, NB, 0.0f}, {0, 0, 9, NB, 0.3f},
                {1, 1, NT, 3, 0.0f}, {0, 0, NT, 2, 0.3f}};
    enum { ROWS = 9 * NB }; /* the most T*B rows of any case: 9 x 37 (90 x 3 is 270) */
    static float x[ROWS * I], dy[ROWS * 2 * H];
    const int32_t lens[NB] = {9, 3, 9, 1, 5, 9, 9, 2, 8, 9, 9, 9, 4, 9, 9, 9, 9, 7, 9,
                              9, 6, 9, 9, 9, 9, 9, 9, 1, 9, 9, 9, 9, 3, 9, 9, 9, 9};
    for (int c = 0; c < 5; c++)
        for (int cell = 0; cell < 4; cell++) {
            const int D = cfg[c].bi ? 2 : 1, T = cfg[c].T, B = cfg[c].B;
            float *out[3][4];
            size_t np = 0;
            for (int nt = 1; nt <= 3; nt++) {
                rnn_stack *s = make((rnn_cell)cell, I, H, L, cfg[c].bi, cfg[c].p, 3);
                if (!s)
                    return;
                rnn_stack_set_threads(s, nt);
                rnn__rng r;
                rnn__rng_seed(&r, 4);
                randv(x, (size_t)T * B * I, &r);
                randv(dy, (size_t)T * B * 2 * H, &r);
                rnn_stack_params(s, &np);
                float *y = malloc(sizeof(float) * T * B * D * H);
                float *dx = malloc(sizeof(float) * T * B * I);
                float *g = malloc(sizeof(float) * np), *hn = malloc(sizeof(float) * D * L * B * H);
                rnn_stack_zero_grad(s);
                CHECK_OK(rnn_stack_forward(s, y, hn, NULL, x, NULL, NULL, cfg[c].lens ? lens : NULL,
                                           T, B, 1));
                CHECK_OK(rnn_stack_backward(s, dx, NULL, NULL, dy, NULL, NULL));
                memcpy(g, rnn_stack_grads(s, NULL), sizeof(float) * np);
                out[nt - 1][0] = y;
                out[nt - 1][1] = hn;
                out[nt - 1][2] = dx;
                out[nt - 1][3] = g;
                rnn_stack_free(s);
            }
            const size_t n[4] = {(size_t)T * B * D * H, (size_t)D * L * B * H, (size_t)T * B * I,
                                 np};
            const char *what[4] = {"y", "hn", "dx", "parameter gradients"};
            const int blas = !rnn__gemm_bitwise(); /* a library's GEMM */
            for (int k = 0; k < 4; k++) {
                for (int nt = 2; nt <= 3; nt++) {
                    if (blas)
                        CHECK_MSG(t_allclose(what[k], out[0][k], out[nt - 1][k], n[k], 1e-5, 1e-4),
                                  "%s config %d: %s, 1 and %d threads on %s",
                                  rnn_cell_name((rnn_cell)cell), c, what[k], nt,
                                  rnn__gemm_backend());
                    else
                        CHECK_MSG(memcmp(out[0][k], out[nt - 1][k], n[k] * sizeof(float)) == 0,
                                  "%s config %d: %s differs between 1 and %d threads",
                                  rnn_cell_name((rnn_cell)cell), c, what[k], nt);
                }
                for (int nt = 0; nt < 3; nt++)
                    free(out[nt][k]);
            }
        }
}

void suite_stack(void);
/* Weights packed once (rnn__stack_freeze, a decoder's steps) give the bits
 * of packing them at every call (our kernels; a library's GEMM: equal to
 * rounding): every cell, one and two directions, an
 * input size other than the hidden size, T = 1 (a decoding step) and
 * longer, 1 and 2 threads (at 2, the hoisted products of a thread's whole
 * block of rows run on the packed W_ih). After unfreezing, a change of the
 * parameters shows again. */
static void test_frozen_weights_bitwise(void)
{
    enum { I = 24, H = 40, L = 2, MAXR = 40 * 37 };
    static float x[MAXR * I], y0[MAXR * 2 * H], y1[MAXR * 2 * H];
    static float hn0[2 * L * 37 * H], hn1[2 * L * 37 * H], cn0[2 * L * 37 * H], cn1[2 * L * 37 * H];
    const int shapes[3][2] = {{1, 5}, {7, 3}, {40, 37}};
    const int blas = !rnn__gemm_bitwise();
    for (int cell = 0; cell < 4; cell++)
        for (int bi = 0; bi < 2; bi++)
            for (int sh = 0; sh < 3; sh++)
                for (int nt = 1; nt <= 2; nt++) {
                    const int T = shapes[sh][0], B = shapes[sh][1], D = bi ? 2 : 1;
                    const int lstm = cell == RNN_CELL_LSTM;
                    rnn_stack_config c = {(rnn_cell)cell, I, H, L, bi, 0.0f};
                    rnn__stack st;
                    rnn_error e;
                    CHECK_OK(rnn__stack_init(&st, &c, &e));
                    float *p = malloc(sizeof(float) * st.nparams);
                    rnn__rng r;
                    rnn__rng_seed(&r, 11 + (uint64_t)cell);
                    randv(p, st.nparams, &r);
                    /* small weights, contracting dynamics: with a library's
                     * GEMM (rounded differently when frozen) 40 steps of a
                     * chaotic RNN would turn the last bits into anything */
                    for (size_t i = 0; i < st.nparams; i++)
                        p[i] *= 0.15f;
                    randv(x, (size_t)T * B * I, &r);
                    rnn__stack_bind(&st, p, NULL);
                    st.threads = nt;
                    CHECK_OK(rnn__stack_reserve(&st, T, B, &e));
                    const size_t ny = (size_t)T * B * D * H, ns = (size_t)D * L * B * H;
                    CHECK_OK(rnn__stack_forward(&st, y0, NULL, hn0, lstm ? cn0 : NULL, x, NULL, NULL,
                                                NULL, NULL, T, B, 0, &e));
                    CHECK_OK(rnn__stack_freeze(&st, 1, &e));
                    CHECK_OK(rnn__stack_forward(&st, y1, NULL, hn1, lstm ? cn1 : NULL, x, NULL, NULL,
                                                NULL, NULL, T, B, 0, &e));
                    const int same = blas ? t_allclose("frozen y", y0, y1, ny, 1e-5, 1e-4) &&
                                                t_allclose("frozen hn", hn0, hn1, ns, 1e-5, 1e-4)
                                          : memcmp(y0, y1, ny * sizeof(float)) == 0 &&
                                                memcmp(hn0, hn1, ns * sizeof(float)) == 0 &&
                                                (!lstm || memcmp(cn0, cn1, ns * sizeof(float)) == 0);
                    CHECK_MSG(same, "%s bi %d T %d B %d threads %d: frozen weights change the result",
                              rnn_cell_name((rnn_cell)cell), bi, T, B, nt);
                    /* frozen, the packed copies are what the products use:
                     * zeroing the weight matrices (not the biases) in place
                     * changes nothing until unfrozen */
                    const int GH = st.G * H;
                    float *saved = malloc(sizeof(float) * st.nparams);
                    memcpy(saved, p, sizeof(float) * st.nparams);
                    for (int l = 0; l < L; l++)
                        for (int d = 0; d < D; d++)
                            memset(p + st.dir_off[l * D + d], 0,
                                   sizeof(float) * (size_t)GH * ((l ? D * H : I) + H));
                    CHECK_OK(rnn__stack_forward(&st, y1, NULL, hn1, lstm ? cn1 : NULL, x, NULL, NULL,
                                                NULL, NULL, T, B, 0, &e));
                    CHECK_MSG(memcmp(y0, y1, ny * sizeof(float)) == 0 || blas,
                              "%s: frozen, the zeroed weights were read", rnn_cell_name((rnn_cell)cell));
                    memcpy(p, saved, sizeof(float) * st.nparams);
                    free(saved);
                    /* unfrozen, the parameters are read again */
                    CHECK_OK(rnn__stack_freeze(&st, 0, &e));
                    for (size_t i = 0; i < st.nparams; i++)
                        p[i] *= 0.5f;
                    CHECK_OK(rnn__stack_forward(&st, y1, NULL, hn1, lstm ? cn1 : NULL, x, NULL, NULL,
                                                NULL, NULL, T, B, 0, &e));
                    CHECK_MSG(memcmp(y0, y1, ny * sizeof(float)) != 0,
                              "%s: unfrozen, halved weights gave the old output",
                              rnn_cell_name((rnn_cell)cell));
                    rnn__stack_release(&st);
                    free(p);
                }
}

void suite_stack(void)
{
    RUN(test_lengths_equal_separate_runs);
    RUN(test_dropout);
    RUN(test_dropout_gradient);
    RUN(test_names_and_layout);
    RUN(test_init_schemes);
    RUN(test_call_order_and_bad_arguments);
    RUN(test_reserve_and_regrow);
    RUN(test_save_load_roundtrip);
    RUN(test_threads_bitwise);
    RUN(test_frozen_weights_bitwise);
}
