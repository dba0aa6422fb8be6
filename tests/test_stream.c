/*
 * test_stream.c -- the streaming API step by step equals the model's
 * whole-sequence forward, for every cell, stacked layers, token and feature
 * models, several streams; reset and state access; the weights are its own
 * copy (the model can be freed).
 */
#include "test.h"

#include "core/core.h"
#include "io/io.h"
#include "layers/kernels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The small models of these tests: 2 layers of 20 units, token (V = 7,
 * embedding 6) or feature (I = 5, O = 4) models, and T steps of S streams'
 * inputs x [T][S][I] and tokens [T][S] drawn from `seed`. */
enum { SMAX = 3, I = 5, H = 20, L = 2, V = 7, O = 4 };

static rnn_model *small_model(rnn_cell cell, int tokens, int T, int S, int seed, float *x, int32_t *tok)
{
    rnn_model_config c = {.vocab_size = tokens ? V : 0, .embed_size = tokens ? 6 : 0, .input_size = tokens ? 0 : I,
                           .cell = cell, .hidden_size = H, .num_layers = L, .bidirectional = 0, .dropout = 0.0f,
                           .output_size = tokens ? V : O};
    rnn_model *m = NULL;
    rnn_error e;
    CHECK_OK(rnn_model_new(&m, &c, (uint64_t)seed + 9, &e));
    rnn__rng r;
    rnn__rng_seed(&r, (uint64_t)seed);
    for (int i = 0; i < T * S * I; i++)
        x[i] = (float)rnn__rng_normal(&r);
    for (int i = 0; i < T * S; i++)
        tok[i] = (int32_t)rnn__rng_below(&r, V);
    return m;
}

static void check_cell(rnn_cell cell, int tokens, int S)
{
    enum { T = 6 };
    const int Oc = tokens ? V : O;
    float x[T * SMAX * I];
    int32_t tok[T * SMAX];
    rnn_model *m = small_model(cell, tokens, T, S, 2, x, tok);
    rnn_error e;
    float ref[T * SMAX * V];
    CHECK_OK(rnn_model_forward(m, ref, NULL, NULL, tokens ? tok : NULL, tokens ? NULL : x, NULL,
                               NULL, NULL, T, S, 0));
    rnn_stream *st;
    CHECK_OK(rnn_stream_new(&st, m, S, &e));
    rnn_model_free(m); /* the stream must not need it any more */
    float out[SMAX * V];
    char what[64];
    for (int t = 0; t < T; t++) {
        CHECK_OK(rnn_stream_step(st, out, tokens ? tok + t * S : NULL, tokens ? NULL : x + t * S * I));
        snprintf(what, sizeof what, "%s %s S=%d step %d", rnn_cell_name(cell),
                 tokens ? "tokens" : "features", S, t);
        t_allclose(what, out, ref + t * S * Oc, (size_t)S * Oc, 1e-5, 1e-4);
    }
    /* resetting stream k makes it start again, the others go on */
    const int k = S > 1 ? 1 : 0;
    float *h1 = rnn_stream_state(st, k, L - 1, 0);
    CHECK(h1 != NULL && rnn_stream_state(st, S, 0, 0) == NULL);
    rnn_stream_reset(st, k);
    CHECK(h1[0] == 0.0f && rnn_stream_state(st, k, 0, 0)[H - 1] == 0.0f);
    CHECK_OK(rnn_stream_step(st, out, tokens ? tok : NULL, tokens ? NULL : x));
    snprintf(what, sizeof what, "%s S=%d after reset", rnn_cell_name(cell), S);
    t_allclose(what, out + k * Oc, ref + k * Oc, (size_t)Oc, 1e-5, 1e-4); /* stream k = step 0 again */
    rnn_stream_free(st);
}

static void test_stream_equals_forward(void)
{
    for (int cell = 0; cell < 4; cell++) {
        check_cell((rnn_cell)cell, 0, 3);
        check_cell((rnn_cell)cell, 1, 3);
    }
}

/* fn(first) under each kernel set this CPU runs (RNN_KERNELS set for it,
 * restored after); first: the first set (the portable one). */
static void each_kernel_set(void (*fn)(int first))
{
    static const char *const sets[] = {"portable", "avx2", "avx512"};
    const char *was = getenv("RNN_KERNELS");
    char saved[64] = "";
    if (was)
        snprintf(saved, sizeof saved, "%s", was);
    for (int i = 0; i < 3; i++) {
        if (!rnn__kernels_by_name(sets[i]))
            continue;
        setenv("RNN_KERNELS", sets[i], 1);
        CHECK(strcmp(rnn__kernels_get()->name, sets[i]) == 0);
        fn(i == 0);
    }
    if (was)
        setenv("RNN_KERNELS", saved, 1);
    else
        unsetenv("RNN_KERNELS");
}

static void one_stream_each_cell(int first)
{
    (void)first;
    for (int cell = 0; cell < 4; cell++) {
        check_cell((rnn_cell)cell, 0, 1);
        check_cell((rnn_cell)cell, 1, 1);
    }
}

/* One stream takes the batch-1 product (rnn__kernels.gemv: column panels
 * whose width is the kernel set's vector width; H = 20 leaves padding in
 * every set), so it is checked under each kernel set this CPU runs. */
static void test_stream_one_each_kernels(void)
{
    each_kernel_set(one_stream_each_cell);
}

/* Half-precision weights: with weights the format holds exactly, the
 * stream gives the bits of the float stream (the same product over the
 * widened weights: small weights take the same panels in either format);
 * with any weights, the results of the model with rounded weights, which
 * are not the float model's. Under every kernel set, one stream and three. */
static void check_half(rnn_cell cell, int tokens, int S, rnn_stream_weights wt)
{
    enum { T = 5 };
    const int Oc = tokens ? V : O;
    float x[T * SMAX * I];
    int32_t tok[T * SMAX];
    rnn_model *m = small_model(cell, tokens, T, S, 3, x, tok);
    rnn_error e;
    char what[96];
    const char *wn = wt == RNN_STREAM_F16 ? "f16" : "bf16";
    for (int rounded = 0; rounded < 2; rounded++) {
        if (rounded) { /* the model's weights made exact in the format */
            size_t n;
            float *p = rnn_model_params(m, &n);
            for (size_t i = 0; i < n; i++)
                p[i] = wt == RNN_STREAM_F16 ? rnn__half_to_float(rnn__float_to_half(p[i]))
                                            : rnn__bf16_to_float(rnn__float_to_bf16(p[i]));
        }
        float ref[T * SMAX * V];
        CHECK_OK(rnn_model_forward(m, ref, NULL, NULL, tokens ? tok : NULL, tokens ? NULL : x, NULL, NULL, NULL,
                                   T, S, 0));
        rnn_stream *sf, *sh;
        CHECK_OK(rnn_stream_new(&sf, m, S, &e));
        CHECK_OK(rnn_stream_new_ex(&sh, m, S, wt, &e));
        double maxdiff = 0;
        int as_float = 1; /* every step the float stream's bits */
        for (int t = 0; t < T; t++) {
            float of[SMAX * V], oh[SMAX * V];
            const int32_t *tk = tokens ? tok + t * S : NULL;
            const float *xt = tokens ? NULL : x + t * S * I;
            CHECK_OK(rnn_stream_step(sf, of, tk, xt));
            CHECK_OK(rnn_stream_step(sh, oh, tk, xt));
            for (int i = 0; i < S * Oc; i++)
                maxdiff = fmax(maxdiff, fabs((double)oh[i] - ref[t * S * Oc + i]));
            as_float &= memcmp(of, oh, sizeof(float) * (size_t)(S * Oc)) == 0;
            snprintf(what, sizeof what, "%s %s %s S=%d step %d", wn, rnn_cell_name(cell),
                     tokens ? "tokens" : "features", S, t);
            if (rounded) {
                CHECK_MSG(memcmp(of, oh, sizeof(float) * (size_t)(S * Oc)) == 0,
                          "%s: not the float stream's bits", what);
                t_allclose(what, oh, ref + t * S * Oc, (size_t)S * Oc, 1e-5, 1e-4);
            }
        }
        if (!rounded) { /* rounding the weights changes the results, by a little */
            CHECK_MSG(!as_float, "%s %s S=%d unrounded weights: the float stream's results", wn,
                      rnn_cell_name(cell), S);
            CHECK_MSG(maxdiff < (wt == RNN_STREAM_F16 ? 5e-3 : 5e-2),
                      "%s %s S=%d unrounded weights: max difference %g", wn, rnn_cell_name(cell), S, maxdiff);
        }
        rnn_stream_free(sf);
        rnn_stream_free(sh);
    }
    rnn_model_free(m);
}

static void half_each_cell(int first)
{
    for (int cell = 0; cell < 4; cell++)
        for (int wt = RNN_STREAM_F16; wt <= RNN_STREAM_BF16; wt++) {
            check_half((rnn_cell)cell, cell & 1, 1, (rnn_stream_weights)wt);
            if (first) /* several streams: the GEMM kernels, the same on every set */
                check_half((rnn_cell)cell, !(cell & 1), 3, (rnn_stream_weights)wt);
        }
}

static void test_stream_half_weights(void)
{
    each_kernel_set(half_each_cell);
}

/* A 64->64 LSTM's weights (128 KB as floats) do not fit L1: halves take
 * wider panels than floats there, so the sums differ in order only; under
 * each kernel set */
static void half_large(int first)
{
    (void)first;
    rnn_model_config c = {.vocab_size = 0, .embed_size = 0, .input_size = 64, .cell = RNN_CELL_LSTM,
                           .hidden_size = 64, .num_layers = 1, .bidirectional = 0, .dropout = 0.0f, .output_size = 64};
    rnn_model *m;
    rnn_error e;
    CHECK_OK(rnn_model_new(&m, &c, 9, &e));
    size_t n;
    float *p = rnn_model_params(m, &n);
    for (size_t i = 0; i < n; i++)
        p[i] = rnn__half_to_float(rnn__float_to_half(p[i]));
    enum { T = 4 };
    float x[T * 64], ref[T * 64], out[64];
    for (int i = 0; i < T * 64; i++)
        x[i] = (float)sin(i * 0.3);
    CHECK_OK(rnn_model_forward(m, ref, NULL, NULL, NULL, x, NULL, NULL, NULL, T, 1, 0));
    for (int wt = RNN_STREAM_F16; wt <= RNN_STREAM_BF16; wt += RNN_STREAM_BF16 - RNN_STREAM_F16) {
        rnn_stream *s;
        CHECK_OK(rnn_stream_new_ex(&s, m, 1, (rnn_stream_weights)wt, &e));
        for (int t = 0; t < T; t++) {
            CHECK_OK(rnn_stream_step(s, out, NULL, x + t * 64));
            if (wt == RNN_STREAM_F16) /* binary16 holds the rounded weights exactly */
                t_allclose("f16 64->64", out, ref + t * 64, 64, 1e-5, 1e-4);
            else /* bfloat16 rounds them further */
                t_allclose("bf16 64->64", out, ref + t * 64, 64, 2e-2, 0);
        }
        rnn_stream_free(s);
    }
    rnn_model_free(m);
}

static void test_stream_half_large(void)
{
    each_kernel_set(half_large);
}

static void test_stream_refuses(void)
{
    rnn_model_config c = {.vocab_size = 0, .embed_size = 0, .input_size = 3, .cell = RNN_CELL_GRU,
                           .hidden_size = 4, .num_layers = 1, .bidirectional = 1, .dropout = 0.0f, .output_size = 2};
    rnn_model *m;
    rnn_stream *s = NULL;
    rnn_error e;
    CHECK_OK(rnn_model_new(&m, &c, 1, &e));
    CHECK(rnn_stream_new(&s, m, 1, &e) == RNN_EINVAL);
    CHECK(strstr(e.msg, "bidirectional") != NULL);
    rnn_model_free(m);
    c.bidirectional = 0;
    CHECK_OK(rnn_model_new(&m, &c, 1, &e));
    CHECK(rnn_stream_new(&s, m, 0, &e) == RNN_EINVAL);
    CHECK_OK(rnn_stream_new(&s, m, 2, &e));
    CHECK(rnn_stream_step(s, NULL, NULL, NULL) == RNN_EINVAL); /* a feature model needs x */
    rnn_stream_free(s);
    CHECK(rnn_stream_new_ex(&s, m, 1, (rnn_stream_weights)7, &e) == RNN_EINVAL && s == NULL);
    /* binary16 holds +-65504 at most; bfloat16 has float's range */
    size_t n;
    rnn_model_params(m, &n)[1] = 1e5f;
    CHECK(rnn_stream_new_ex(&s, m, 1, RNN_STREAM_F16, &e) == RNN_EINVAL && s == NULL);
    CHECK(strstr(e.msg, "layer 0") && strstr(e.msg, "100000") && strstr(e.msg, "half precision"));
    CHECK_OK(rnn_stream_new_ex(&s, m, 1, RNN_STREAM_BF16, &e));
    rnn_stream_free(s);
    rnn_model_params(m, &n)[1] = 65519.0f; /* rounds to 65504 */
    CHECK_OK(rnn_stream_new_ex(&s, m, 1, RNN_STREAM_F16, &e));
    rnn_stream_free(s);
    /* the output layer's weights too (the parameters end with its [O][H]
     * weight and [O] bias) */
    float *p = rnn_model_params(m, &n);
    p[n - 3] = -7e4f;
    CHECK(rnn_stream_new_ex(&s, m, 2, RNN_STREAM_F16, &e) == RNN_EINVAL && s == NULL);
    CHECK(strstr(e.msg, "output layer") && strstr(e.msg, "-70000"));
    p[n - 3] = 0.5f;
    p[n - 1] = 1e6f; /* a bias stays float */
    CHECK_OK(rnn_stream_new_ex(&s, m, 2, RNN_STREAM_F16, &e));
    rnn_stream_free(s);
    rnn_model_free(m);
}

void suite_stream(void);
void suite_stream(void)
{
    RUN(test_stream_equals_forward);
    RUN(test_stream_one_each_kernels);
    RUN(test_stream_half_weights);
    RUN(test_stream_half_large);
    RUN(test_stream_refuses);
}
