/*
 * test_fixtures.c -- forward and backward against PyTorch. The fixtures in
 * tests/fixtures/ were computed in float64 by tools/gen_fixtures.py for each
 * cell x {1, 2 layers} x {uni, bidirectional} x {equal, variable lengths}:
 * weights, inputs, initial states, outputs, final states, upstream
 * gradients and every resulting gradient. A missing fixture is a failure.
 */
#include "test.h"

#include "io/io.h"

#include <stdlib.h>
#include <string.h>

static const double RTOL = 1e-4, ATOL = 1e-5;

/* Loads tensor `name` as float; fails the test if absent or of the wrong
 * size. Returns a malloc'ed array. */
static float *get(const rnn__st *f, const char *file, const char *name, size_t want)
{
    const rnn__st_tensor *t = rnn__st_find(f, name);
    if (!t) {
        t_fail_at(__FILE__, __LINE__, "%s: fixture tensor '%s' missing", file, name);
        return NULL;
    }
    if (t->numel != want) {
        t_fail_at(__FILE__, __LINE__, "%s: '%s' has %zu elements, expected %zu", file,
                  name, t->numel, want);
        return NULL;
    }
    float *v = malloc((want ? want : 1) * sizeof *v);
    if (rnn__convert_f32(v, t->data, t->dtype, want) != RNN_OK) {
        t_fail_at(__FILE__, __LINE__, "%s: '%s' cannot be converted", file, name);
        free(v);
        return NULL;
    }
    return v;
}

static void run_fixture(const char *cellname, int layers, int bi, int var)
{
    char name[128];
    snprintf(name, sizeof name, "%s_L%d_%s_%s.safetensors", cellname, layers,
             bi ? "bi" : "uni", var ? "var" : "eq");
    const char *path = t_fixture(name);
    char file[4096];
    snprintf(file, sizeof file, "%s", path);

    rnn__st f;
    rnn_error e;
    if (rnn__st_read(&f, file, &e) != RNN_OK) {
        t_fail_at(__FILE__, __LINE__, "cannot read fixture: %s (run `make fixtures`)", e.msg);
        return;
    }
    const char *meta_cell = rnn__st_meta(&f, "cell");
    CHECK_MSG(meta_cell && strcmp(meta_cell, cellname) == 0, "%s: metadata cell", name);
    rnn_cell nonlin = strcmp(cellname, "rnn_relu") == 0 ? RNN_CELL_RNN_RELU : RNN_CELL_RNN_TANH;
    rnn_stack *s = NULL;
    if (rnn_stack_load(&s, file, "", nonlin, &e) != RNN_OK) {
        t_fail_at(__FILE__, __LINE__, "%s", e.msg);
        rnn__st_free(&f);
        return;
    }
    const rnn_stack_config *c = rnn_stack_get_config(s);
    CHECK(strcmp(rnn_cell_name(c->cell), cellname) == 0);
    CHECK(c->num_layers == layers && c->bidirectional == bi);

    const rnn__st_tensor *xt = rnn__st_find(&f, "x");
    if (!xt || xt->ndim != 3) {
        t_fail_at(__FILE__, __LINE__, "%s: no 3-D tensor 'x'", name);
        goto done;
    }
    int T = (int)xt->shape[0], B = (int)xt->shape[1], I = (int)xt->shape[2];
    int H = c->hidden_size, D = bi ? 2 : 1, L = layers;
    int lstm = c->cell == RNN_CELL_LSTM;
    size_t nx = (size_t)T * B * I, ny = (size_t)T * B * D * H, ns = (size_t)D * L * B * H;
    CHECK(I == c->input_size);

    float *x = get(&f, name, "x", nx), *h0 = get(&f, name, "h0", ns);
    float *c0 = lstm ? get(&f, name, "c0", ns) : NULL;
    float *y_ref = get(&f, name, "y", ny), *hn_ref = get(&f, name, "hn", ns);
    float *cn_ref = lstm ? get(&f, name, "cn", ns) : NULL;
    float *dy = get(&f, name, "dy", ny), *dhn = get(&f, name, "dhn", ns);
    float *dcn = lstm ? get(&f, name, "dcn", ns) : NULL;
    float *dx_ref = get(&f, name, "grad.input", nx), *dh0_ref = get(&f, name, "grad.h0", ns);
    float *dc0_ref = lstm ? get(&f, name, "grad.c0", ns) : NULL;
    int32_t *lens = NULL;
    if (var) {
        const rnn__st_tensor *lt = rnn__st_find(&f, "lengths");
        int64_t l64[64];
        if (!lt || lt->numel != (size_t)B || B > 64 ||
            rnn__convert_i64(l64, lt->data, lt->dtype, (size_t)B) != RNN_OK) {
            t_fail_at(__FILE__, __LINE__, "%s: bad or missing 'lengths'", name);
            goto free_all;
        }
        lens = malloc(B * sizeof *lens);
        for (int b = 0; b < B; b++)
            lens[b] = (int32_t)l64[b];
    }
    if (!x || !h0 || (lstm && (!c0 || !cn_ref || !dcn || !dc0_ref)) || !y_ref || !hn_ref ||
        !dy || !dhn || !dx_ref || !dh0_ref)
        goto free_all;

    float *y = calloc(ny, sizeof *y), *hn = calloc(ns, sizeof *hn), *cn = calloc(ns, sizeof *cn);
    float *dx = calloc(nx, sizeof *dx), *dh0 = calloc(ns, sizeof *dh0), *dc0 = calloc(ns, sizeof *dc0);
    char what[512];
    rnn_stack_zero_grad(s);
    if (rnn_stack_forward(s, y, hn, cn, x, h0, c0, lens, T, B, 1) != RNN_OK ||
        rnn_stack_backward(s, dx, dh0, dc0, dy, dhn, dcn) != RNN_OK) {
        t_fail_at(__FILE__, __LINE__, "%s: %s", name, rnn_stack_errmsg(s));
    } else {
#define CMP(label, a, b, n)                                  \
    snprintf(what, sizeof what, "%s: %s", name, label);      \
    t_allclose(what, a, b, n, ATOL, RTOL);
        CMP("y", y, y_ref, ny)
        CMP("hn", hn, hn_ref, ns)
        CMP("grad.input", dx, dx_ref, nx)
        CMP("grad.h0", dh0, dh0_ref, ns)
        if (lstm) {
            CMP("cn", cn, cn_ref, ns)
            CMP("grad.c0", dc0, dc0_ref, ns)
        }
        for (size_t i = 0; i < rnn_stack_num_tensors(s); i++) {
            rnn_tensor t;
            rnn_stack_tensor(s, i, &t);
            char gname[96];
            snprintf(gname, sizeof gname, "grad.%s", t.name);
            float *g = get(&f, name, gname, t.numel);
            if (g) {
                CMP(gname, t.grad, g, t.numel)
                free(g);
            }
        }
    }
    free(y); free(hn); free(cn); free(dx); free(dh0); free(dc0);
free_all:
    free(x); free(h0); free(c0); free(y_ref); free(hn_ref); free(cn_ref); free(dy);
    free(dhn); free(dcn); free(dx_ref); free(dh0_ref); free(dc0_ref); free(lens);
done:
    rnn_stack_free(s);
    rnn__st_free(&f);
}

#define FIX(cell, L, bi, var)                                      \
    static void test_##cell##_L##L##_##bi##_##var(void)            \
    {                                                              \
        run_fixture(#cell, L, bi, var);                            \
    }
#define FIXES(cell) FIX(cell, 1, 0, 0) FIX(cell, 1, 0, 1) FIX(cell, 1, 1, 0) FIX(cell, 1, 1, 1) \
                    FIX(cell, 2, 0, 0) FIX(cell, 2, 0, 1) FIX(cell, 2, 1, 0) FIX(cell, 2, 1, 1)
FIXES(rnn_tanh)
FIXES(rnn_relu)
FIXES(lstm)
FIXES(gru)

void suite_fixtures(void);
void suite_fixtures(void)
{
#define RUNF(cell)                                                             \
    RUN(test_##cell##_L1_0_0); RUN(test_##cell##_L1_0_1); RUN(test_##cell##_L1_1_0); \
    RUN(test_##cell##_L1_1_1); RUN(test_##cell##_L2_0_0); RUN(test_##cell##_L2_0_1); \
    RUN(test_##cell##_L2_1_0); RUN(test_##cell##_L2_1_1);
    RUNF(rnn_tanh)
    RUNF(rnn_relu)
    RUNF(lstm)
    RUNF(gru)
}
