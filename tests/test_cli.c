/*
 * test_cli.c -- `rnn run` end to end on the committed command-line cases
 * (tests/fixtures/run_*): runs the binary named by $RNN_BIN and compares
 * every output file with the PyTorch reference.
 */
#include "test.h"

#include "io/io.h"

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static const char *rnn_bin(void)
{
    const char *b = getenv("RNN_BIN");
    return b && *b ? b : "build/rnn";
}

static int sh(const char *cmd)
{
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

static void cmp_npy(const char *got_path, const char *want_path, const char *what)
{
    rnn__npy g, w;
    rnn_error e;
    if (rnn__npy_read(&g, got_path, &e)) {
        t_fail_at(__FILE__, __LINE__, "%s: %s", what, e.msg);
        return;
    }
    if (rnn__npy_read(&w, want_path, &e)) {
        t_fail_at(__FILE__, __LINE__, "%s: %s", what, e.msg);
        rnn__npy_free(&g);
        return;
    }
    CHECK_MSG(g.dtype == RNN__F32, "%s: output dtype is not float32", what);
    CHECK_MSG(g.ndim == w.ndim && memcmp(g.shape, w.shape, sizeof(int64_t) * (size_t)w.ndim) == 0,
              "%s: shape differs", what);
    if (g.numel == w.numel) {
        float *a = malloc(g.numel * sizeof *a), *b = malloc(w.numel * sizeof *b);
        rnn__convert_f32(a, g.data, g.dtype, g.numel);
        rnn__convert_f32(b, w.data, w.dtype, w.numel);
        t_allclose(what, a, b, g.numel, 1e-5, 1e-4);
        free(a);
        free(b);
    }
    rnn__npy_free(&g);
    rnn__npy_free(&w);
}

static void cmp_grads(const char *got_path, const char *want_path)
{
    rnn__st g, w;
    rnn_error e;
    if (rnn__st_read(&g, got_path, &e)) {
        t_fail_at(__FILE__, __LINE__, "%s", e.msg);
        return;
    }
    if (rnn__st_read(&w, want_path, &e)) {
        t_fail_at(__FILE__, __LINE__, "%s", e.msg);
        rnn__st_free(&g);
        return;
    }
    CHECK_MSG(g.count == w.count, "gradients file has %zu tensors, expected %zu", g.count, w.count);
    for (size_t i = 0; i < w.count; i++) {
        const rnn__st_tensor *wt = &w.tensors[i], *gt = rnn__st_find(&g, wt->name);
        if (!gt) {
            t_fail_at(__FILE__, __LINE__, "gradient '%s' missing from %s", wt->name, got_path);
            continue;
        }
        CHECK_MSG(gt->dtype == RNN__F32 && gt->ndim == wt->ndim &&
                      memcmp(gt->shape, wt->shape, sizeof(int64_t) * (size_t)wt->ndim) == 0,
                  "gradient '%s': dtype or shape differs", wt->name);
        if (gt->numel != wt->numel)
            continue;
        float *a = malloc((gt->numel + 1) * sizeof *a), *b = malloc((wt->numel + 1) * sizeof *b);
        rnn__convert_f32(a, gt->data, gt->dtype, gt->numel);
        rnn__convert_f32(b, wt->data, wt->dtype, wt->numel);
        char what[128];
        snprintf(what, sizeof what, "grads '%s'", wt->name);
        t_allclose(what, a, b, gt->numel, 1e-5, 1e-4);
        free(a);
        free(b);
    }
    rnn__st_free(&g);
    rnn__st_free(&w);
}

/* 2-layer bidirectional LSTM, batch-first, prefix "rnn.", variable lengths,
 * no --grad-cn, an unrelated tensor in the weights file. */
static void test_run_lstm_bi_var(void)
{
    char d[1024], cmd[32768], p1[4200], p2[4200];
    snprintf(d, sizeof d, "%s/run_lstm_bi_var", t_fixture_dir());
    const char *o = t_tmpdir();
    snprintf(cmd, sizeof cmd,
             "'%s' run --weights %s/w.safetensors --prefix rnn. --batch-first --input %s/x.npy "
             "--h0 %s/h0.npy --c0 %s/c0.npy --lengths %s/len.npy --output %s/y.npy --hn %s/hn.npy "
             "--cn %s/cn.npy --grad-output %s/dy.npy --grad-hn %s/dhn.npy --grads %s/g.safetensors",
             rnn_bin(), d, d, d, d, d, o, o, o, d, d, o);
    int rc = sh(cmd);
    CHECK_MSG(rc == 0, "rnn run exited with %d: %s", rc, cmd);
    if (rc)
        return;
#define P(buf, dir, f) (snprintf(buf, sizeof buf, "%s/%s", dir, f), buf)
    cmp_npy(P(p1, o, "y.npy"), P(p2, d, "expect_y.npy"), "y");
    cmp_npy(P(p1, o, "hn.npy"), P(p2, d, "expect_hn.npy"), "hn");
    cmp_npy(P(p1, o, "cn.npy"), P(p2, d, "expect_cn.npy"), "cn");
    cmp_grads(P(p1, o, "g.safetensors"), P(p2, d, "expect_grads.safetensors"));
}

/* plain RNN with relu, time-major, float64 input, no states given */
static void test_run_rnn_relu(void)
{
    char d[1024], cmd[32768], p1[4200], p2[4200];
    snprintf(d, sizeof d, "%s/run_rnn_relu", t_fixture_dir());
    const char *o = t_tmpdir();
    snprintf(cmd, sizeof cmd,
             "'%s' run --weights %s/w.safetensors --nonlinearity relu --input %s/x.npy "
             "--h0 %s/h0.npy --output %s/ry.npy --hn %s/rhn.npy --grad-output %s/dy.npy "
             "--grads %s/rg.safetensors",
             rnn_bin(), d, d, d, o, o, d, o);
    int rc = sh(cmd);
    CHECK_MSG(rc == 0, "rnn run exited with %d: %s", rc, cmd);
    if (rc)
        return;
    cmp_npy(P(p1, o, "ry.npy"), P(p2, d, "expect_y.npy"), "y");
    cmp_npy(P(p1, o, "rhn.npy"), P(p2, d, "expect_hn.npy"), "hn");
    cmp_grads(P(p1, o, "rg.safetensors"), P(p2, d, "expect_grads.safetensors"));

    /* the default nonlinearity is tanh: the same files must give other outputs */
    snprintf(cmd, sizeof cmd,
             "'%s' run --weights %s/w.safetensors --input %s/x.npy --h0 %s/h0.npy "
             "--output %s/ty.npy", rnn_bin(), d, d, d, o);
    CHECK(sh(cmd) == 0);
    rnn__npy g, w;
    rnn_error e;
    if (rnn__npy_read(&g, P(p1, o, "ty.npy"), &e) == RNN_OK) {
        if (rnn__npy_read(&w, P(p2, d, "expect_y.npy"), &e) == RNN_OK) {
            float a[256], b[256];
            size_t n = g.numel < 256 ? g.numel : 256, differ = 0;
            rnn__convert_f32(a, g.data, g.dtype, n);
            rnn__convert_f32(b, w.data, w.dtype, n);
            for (size_t i = 0; i < n; i++)
                differ += a[i] < b[i] - 1e-3f || a[i] > b[i] + 1e-3f;
            CHECK_MSG(differ > n / 4, "tanh outputs equal relu's in %zu of %zu", n - differ, n);
            rnn__npy_free(&w);
        }
        rnn__npy_free(&g);
    } else {
        t_fail_at(__FILE__, __LINE__, "%s", e.msg);
    }
}

void suite_cli(void);
void suite_cli(void)
{
    RUN(test_run_lstm_bi_var);
    RUN(test_run_rnn_relu);
}
