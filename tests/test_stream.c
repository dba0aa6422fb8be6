/*
 * test_stream.c -- the streaming API step by step equals the model's
 * whole-sequence forward, for every cell, stacked layers, token and feature
 * models, several streams; reset and state access; the weights are its own
 * copy (the model can be freed).
 */
#include "test.h"

#include "core/core.h"
#include "layers/kernels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void check_cell(rnn_cell cell, int tokens, int S)
{
    enum { T = 6, SMAX = 3, I = 5, H = 20, L = 2, V = 7, O = 4 };
    rnn_model_config c = {.vocab_size = tokens ? V : 0, .embed_size = tokens ? 6 : 0, .input_size = tokens ? 0 : I,
                           .cell = cell, .hidden_size = H, .num_layers = L, .bidirectional = 0, .dropout = 0.0f,
                           .output_size = tokens ? V : O};
    const int Oc = tokens ? V : O, In = tokens ? 6 : I;
    (void)In;
    rnn_model *m;
    rnn_error e;
    CHECK_OK(rnn_model_new(&m, &c, 11, &e));
    rnn__rng r;
    rnn__rng_seed(&r, 2);
    float x[T * SMAX * I];
    int32_t tok[T * SMAX];
    for (int i = 0; i < T * S * I; i++)
        x[i] = (float)rnn__rng_normal(&r);
    for (int i = 0; i < T * S; i++)
        tok[i] = (int32_t)rnn__rng_below(&r, V);
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

/* One stream takes the batch-1 product (rnn__kernels.gemv: column panels
 * whose width is the kernel set's vector width; H = 20 leaves padding in
 * every set), so it is checked under each kernel set this CPU runs. */
static void test_stream_one_each_kernels(void)
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
        for (int cell = 0; cell < 4; cell++) {
            check_cell((rnn_cell)cell, 0, 1);
            check_cell((rnn_cell)cell, 1, 1);
        }
    }
    if (was)
        setenv("RNN_KERNELS", saved, 1);
    else
        unsetenv("RNN_KERNELS");
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
    rnn_model_free(m);
}

void suite_stream(void);
void suite_stream(void)
{
    RUN(test_stream_equals_forward);
    RUN(test_stream_one_each_kernels);
    RUN(test_stream_refuses);
}
