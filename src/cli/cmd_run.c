/*
 * cmd_run.c -- `rnn run`: run a PyTorch-named recurrent stack on .npy data
 * and, optionally, compute every gradient. This is how a user checks our
 * engine against their framework, so the interface mirrors nn.RNN/LSTM/GRU.
 */
#include "cli/cli.h"

#include "io/io.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: rnn run --weights W.safetensors --input X.npy [--h0 H0.npy] [--c0 C0.npy]\n"
    "               [--lengths LEN.npy] [--nonlinearity tanh|relu] [--batch-first]\n"
    "               [--prefix NAME.] --output Y.npy [--hn HN.npy] [--cn CN.npy]\n"
    "               [--grad-output DY.npy [--grad-hn DHN.npy] [--grad-cn DCN.npy]\n"
    "                --grads G.safetensors]\n"
    "\n"
    "Runs a PyTorch nn.RNN / nn.LSTM / nn.GRU, given as its state_dict in safetensors,\n"
    "on the input and writes the outputs and final states; with --grad-output it also\n"
    "runs backpropagation through time and writes every gradient.\n"
    "\n"
    "The cell type follows from the shapes (rows/columns of weight_hh_l0: 1 RNN, 3 GRU,\n"
    "4 LSTM), the number of layers from weight_ih_l{k}, bidirectional from _reverse.\n"
    "\n"
    "  --weights W       safetensors with the state_dict (F32, F64, F16 or BF16)\n"
    "  --prefix NAME.    the state_dict lives under this prefix (e.g. 'rnn.');\n"
    "                    other tensors in the file are ignored\n"
    "  --nonlinearity    tanh (default) or relu, for a plain RNN\n"
    "  --input X         float32/float64 [T, B, I] ([B, T, I] with --batch-first)\n"
    "  --h0, --c0        float [D*L, B, H] initial states (default zeros)\n"
    "  --lengths LEN     int64/int32 [B], each in 1..T: PyTorch packed-sequence\n"
    "                    semantics (state stops at the sequence's end, padded\n"
    "                    outputs are zero)\n"
    "  --batch-first     X, Y and DY are batch-major (states never are)\n"
    "  --output Y        float32 [T, B, D*H]\n"
    "  --hn, --cn        float32 [D*L, B, H] final states (--cn: LSTM only)\n"
    "  --grad-output DY  upstream gradient of Y, same shape as Y\n"
    "  --grad-hn, --grad-cn  upstream gradients of the final states (default zeros)\n"
    "  --grads G         safetensors (F32) with 'input' (dX, laid out like X), 'h0',\n"
    "                    'c0' (LSTM) and each parameter's gradient under its name\n"
    "                    in the weights file (prefix included)\n"
    "\n"
    "Exit status: 0 success, 1 internal error, 2 bad input.\n";

typedef struct run_args {
    const char *weights, *input, *h0, *c0, *lengths, *nonlin, *prefix;
    const char *output, *hn, *cn, *dy, *dhn, *dcn, *grads;
    int batch_first;
} run_args;

/* Reads a float .npy and checks its shape; returns a float array (malloc). */
static int read_floats(const char *flag, const char *path, int ndim,
                       const int64_t *want, const char *shape_desc, float **out,
                       int64_t *shape)
{
    rnn__npy a;
    rnn_error e;
    *out = NULL;
    rnn_status st = rnn__npy_read(&a, path, &e);
    if (st)
        return cli_fail_status("run", st, e.msg);
    int rc = 0;
    if (a.dtype != RNN__F32 && a.dtype != RNN__F64) {
        rc = cli_error("run", CLI_EXIT_INPUT, "%s: %s: dtype %s; expected float32 or float64",
                       path, flag, a.dtype == RNN__I64 ? "int64" : a.dtype == RNN__I32 ? "int32" : "?");
        goto done;
    }
    int ok = a.ndim == ndim;
    for (int d = 0; ok && d < ndim; d++)
        ok = want[d] < 0 || a.shape[d] == want[d];
    if (!ok) {
        char got[160] = "(";
        for (int d = 0; d < a.ndim; d++) {
            size_t len = strlen(got);
            snprintf(got + len, sizeof got - len, "%s%lld", d ? ", " : "", (long long)a.shape[d]);
        }
        strncat(got, ")", sizeof got - strlen(got) - 1);
        rc = cli_error("run", CLI_EXIT_INPUT, "%s: %s: shape %s; expected %s", path, flag, got,
                       shape_desc);
        goto done;
    }
    *out = malloc((a.numel ? a.numel : 1) * sizeof **out);
    if (!*out) {
        rc = cli_error("run", CLI_EXIT_INTERNAL, "out of memory reading %s", path);
        goto done;
    }
    rnn__convert_f32(*out, a.data, a.dtype, a.numel);
    if (shape)
        memcpy(shape, a.shape, sizeof(int64_t) * (size_t)ndim);
done:
    rnn__npy_free(&a);
    return rc;
}

/* [A][B][F] <-> [B][A][F] */
static void swap01(float *dst, const float *src, int A, int B, size_t F)
{
    for (int a = 0; a < A; a++)
        for (int b = 0; b < B; b++)
            memcpy(dst + ((size_t)b * A + a) * F, src + ((size_t)a * B + b) * F, F * sizeof *dst);
}

static int write_npy(const char *path, const float *data, int ndim, const int64_t *shape)
{
    rnn_error e;
    rnn_status st = rnn__npy_write(path, RNN__F32, ndim, shape, data, &e);
    return st ? cli_fail_status("run", st, e.msg) : 0;
}

int cmd_run(int argc, char **argv)
{
    run_args a = {0};
    cli_opt opts[] = {
        {"weights", CLI_STR, &a.weights, 0, 0, 0},
        {"input", CLI_STR, &a.input, 0, 0, 0},
        {"h0", CLI_STR, &a.h0, 0, 0, 0},
        {"c0", CLI_STR, &a.c0, 0, 0, 0},
        {"lengths", CLI_STR, &a.lengths, 0, 0, 0},
        {"nonlinearity", CLI_STR, &a.nonlin, 0, 0, 0},
        {"batch-first", CLI_FLAG, &a.batch_first, 0, 0, 0},
        {"prefix", CLI_STR, &a.prefix, 0, 0, 0},
        {"output", CLI_STR, &a.output, 0, 0, 0},
        {"hn", CLI_STR, &a.hn, 0, 0, 0},
        {"cn", CLI_STR, &a.cn, 0, 0, 0},
        {"grad-output", CLI_STR, &a.dy, 0, 0, 0},
        {"grad-hn", CLI_STR, &a.dhn, 0, 0, 0},
        {"grad-cn", CLI_STR, &a.dcn, 0, 0, 0},
        {"grads", CLI_STR, &a.grads, 0, 0, 0},
        {0, 0, 0, 0, 0, 0},
    };
    int rc = cli_parse("run", argc, argv, opts, NULL, 0, 0, NULL, usage);
    if (rc)
        return rc < 0 ? 0 : rc;
    if (!a.weights)
        return cli_error("run", CLI_EXIT_INPUT, "--weights is required (see 'rnn run --help')");
    if (!a.input)
        return cli_error("run", CLI_EXIT_INPUT, "--input is required (see 'rnn run --help')");
    if (!a.output)
        return cli_error("run", CLI_EXIT_INPUT, "--output is required (see 'rnn run --help')");
    rnn_cell nonlin = RNN_CELL_RNN_TANH;
    if (a.nonlin && strcmp(a.nonlin, "relu") == 0)
        nonlin = RNN_CELL_RNN_RELU;
    else if (a.nonlin && strcmp(a.nonlin, "tanh") != 0)
        return cli_error("run", CLI_EXIT_INPUT, "--nonlinearity: expected tanh or relu, got '%s'",
                         a.nonlin);
    if ((a.dhn || a.dcn) && !a.dy)
        return cli_error("run", CLI_EXIT_INPUT, "--grad-hn/--grad-cn need --grad-output");
    if (a.dy && !a.grads)
        return cli_error("run", CLI_EXIT_INPUT, "--grad-output needs --grads G.safetensors");
    if (a.grads && !a.dy)
        return cli_error("run", CLI_EXIT_INPUT, "--grads needs --grad-output DY.npy");

    rnn_error e;
    rnn_stack *s = NULL;
    rnn_status st = rnn_stack_load(&s, a.weights, a.prefix ? a.prefix : "", nonlin, &e);
    if (st)
        return cli_fail_status("run", st, e.msg);
    const rnn_stack_config *c = rnn_stack_get_config(s);
    const int lstm = c->cell == RNN_CELL_LSTM;
    const int D = c->bidirectional ? 2 : 1, L = c->num_layers, H = c->hidden_size, I = c->input_size;
    if (a.nonlin && rnn_cell_gates(c->cell) != 1) {
        rc = cli_error("run", CLI_EXIT_INPUT, "--nonlinearity applies to plain RNNs, but %s holds a model with %s cells",
                       a.weights, rnn_cell_name(c->cell));
        goto out_stack;
    }
    if (!lstm && (a.c0 || a.cn || a.dcn)) {
        rc = cli_error("run", CLI_EXIT_INPUT, "%s: the model is a %s, which has no cell state "
                       "(--c0/--cn/--grad-cn are for LSTM)", a.weights, rnn_cell_name(c->cell));
        goto out_stack;
    }

    float *x = NULL, *h0 = NULL, *c0 = NULL, *dy = NULL, *dhn = NULL, *dcn = NULL;
    float *xt = NULL, *y = NULL, *yt = NULL, *hn = NULL, *cn = NULL, *dx = NULL, *dxt = NULL;
    float *dh0 = NULL, *dc0 = NULL, *dyt = NULL;
    int32_t *lens = NULL;
    int64_t any3[3] = {-1, -1, I}, xs[3] = {0, 0, 0};
    char desc[200];
    snprintf(desc, sizeof desc, "3 dimensions %s with I = %d (the model's input size)",
             a.batch_first ? "[B, T, I]" : "[T, B, I]", I);
    if ((rc = read_floats("--input", a.input, 3, any3, desc, &x, xs)))
        goto out;
    {
        int64_t d0 = xs[0], d1 = xs[1];
        int64_t T64 = a.batch_first ? d1 : d0, B64 = a.batch_first ? d0 : d1;
        if (T64 < 1 || B64 < 1 || T64 > 1 << 30 || B64 > 1 << 30) {
            rc = cli_error("run", CLI_EXIT_INPUT, "%s: --input: T = %lld and B = %lld must be at least 1",
                           a.input, (long long)T64, (long long)B64);
            goto out;
        }
        const int T = (int)T64, B = (int)B64;
        const size_t nx = (size_t)T * B * I, ny = (size_t)T * B * D * H, ns = (size_t)D * L * B * H;
        int64_t sshape[3] = {D * L, B, H};
        snprintf(desc, sizeof desc, "[D*L, B, H] = [%d, %d, %d]", D * L, B, H);
        if (a.h0 && (rc = read_floats("--h0", a.h0, 3, sshape, desc, &h0, NULL)))
            goto out;
        if (a.c0 && (rc = read_floats("--c0", a.c0, 3, sshape, desc, &c0, NULL)))
            goto out;
        if (a.lengths) {
            rnn__npy ln;
            if ((st = rnn__npy_read(&ln, a.lengths, &e))) {
                rc = cli_fail_status("run", st, e.msg);
                goto out;
            }
            int64_t *l64 = malloc((ln.numel ? ln.numel : 1) * sizeof *l64);
            if (ln.dtype != RNN__I64 && ln.dtype != RNN__I32)
                rc = cli_error("run", CLI_EXIT_INPUT, "%s: --lengths: dtype must be int64 or int32",
                               a.lengths);
            else if (ln.ndim != 1 || ln.shape[0] != B)
                rc = cli_error("run", CLI_EXIT_INPUT, "%s: --lengths: expected shape (%d,) (one length "
                               "per sequence of the batch)", a.lengths, B);
            else if (!l64 || !(lens = malloc((size_t)B * sizeof *lens)))
                rc = cli_error("run", CLI_EXIT_INTERNAL, "out of memory");
            else {
                rnn__convert_i64(l64, ln.data, ln.dtype, ln.numel);
                for (int b = 0; b < B && !rc; b++) {
                    if (l64[b] < 1 || l64[b] > T)
                        rc = cli_error("run", CLI_EXIT_INPUT, "%s: lengths[%d] = %lld; each length must "
                                       "be in 1..T (T = %d)", a.lengths, b, (long long)l64[b], T);
                    else
                        lens[b] = (int32_t)l64[b];
                }
            }
            free(l64);
            rnn__npy_free(&ln);
            if (rc)
                goto out;
        }
        if (a.dy) {
            int64_t yshape[3] = {a.batch_first ? B : T, a.batch_first ? T : B, D * H};
            snprintf(desc, sizeof desc, "the output's shape [%lld, %lld, %d]", (long long)yshape[0],
                     (long long)yshape[1], D * H);
            if ((rc = read_floats("--grad-output", a.dy, 3, yshape, desc, &dy, NULL)))
                goto out;
            snprintf(desc, sizeof desc, "[D*L, B, H] = [%d, %d, %d]", D * L, B, H);
            if (a.dhn && (rc = read_floats("--grad-hn", a.dhn, 3, sshape, desc, &dhn, NULL)))
                goto out;
            if (a.dcn && (rc = read_floats("--grad-cn", a.dcn, 3, sshape, desc, &dcn, NULL)))
                goto out;
        }

        y = malloc(ny * sizeof *y);
        hn = malloc(ns * sizeof *hn);
        cn = malloc(ns * sizeof *cn);
        if (!y || !hn || !cn) {
            rc = cli_error("run", CLI_EXIT_INTERNAL, "out of memory");
            goto out;
        }
        const float *xin = x;
        if (a.batch_first) {
            if (!(xt = malloc(nx * sizeof *xt))) {
                rc = cli_error("run", CLI_EXIT_INTERNAL, "out of memory");
                goto out;
            }
            swap01(xt, x, B, T, (size_t)I);
            xin = xt;
        }
        if ((st = rnn_stack_forward(s, y, hn, cn, xin, h0, c0, lens, T, B, a.dy != NULL))) {
            rc = cli_fail_status("run", st, rnn_stack_errmsg(s));
            goto out;
        }
        const float *yout = y;
        int64_t yshape[3] = {T, B, D * H};
        if (a.batch_first) {
            if (!(yt = malloc(ny * sizeof *yt))) {
                rc = cli_error("run", CLI_EXIT_INTERNAL, "out of memory");
                goto out;
            }
            swap01(yt, y, T, B, (size_t)D * H);
            yout = yt;
            yshape[0] = B;
            yshape[1] = T;
        }
        if ((rc = write_npy(a.output, yout, 3, yshape)))
            goto out;
        if (a.hn && (rc = write_npy(a.hn, hn, 3, sshape)))
            goto out;
        if (a.cn && (rc = write_npy(a.cn, cn, 3, sshape)))
            goto out;

        if (a.dy) {
            const float *dyin = dy;
            if (a.batch_first) {
                if (!(dyt = malloc(ny * sizeof *dyt))) {
                    rc = cli_error("run", CLI_EXIT_INTERNAL, "out of memory");
                    goto out;
                }
                swap01(dyt, dy, B, T, (size_t)D * H);
                dyin = dyt;
            }
            dx = malloc(nx * sizeof *dx);
            dh0 = malloc(ns * sizeof *dh0);
            dc0 = malloc(ns * sizeof *dc0);
            if (!dx || !dh0 || !dc0) {
                rc = cli_error("run", CLI_EXIT_INTERNAL, "out of memory");
                goto out;
            }
            rnn_stack_zero_grad(s);
            if ((st = rnn_stack_backward(s, dx, dh0, dc0, dyin, dhn, dcn))) {
                rc = cli_fail_status("run", st, rnn_stack_errmsg(s));
                goto out;
            }
            const float *dxout = dx;
            int64_t xshape[3] = {T, B, I};
            if (a.batch_first) {
                if (!(dxt = malloc(nx * sizeof *dxt))) {
                    rc = cli_error("run", CLI_EXIT_INTERNAL, "out of memory");
                    goto out;
                }
                swap01(dxt, dx, T, B, (size_t)I);
                dxout = dxt;
                xshape[0] = B;
                xshape[1] = T;
            }
            size_t nt = rnn_stack_num_tensors(s), ne = 0;
            rnn__st_entry *ent = calloc(nt + 3, sizeof *ent);
            char (*names)[300] = calloc(nt, sizeof *names);
            if (!ent || !names) {
                free(ent);
                free(names);
                rc = cli_error("run", CLI_EXIT_INTERNAL, "out of memory");
                goto out;
            }
            ent[ne++] = (rnn__st_entry){"input", RNN__F32, 3, {xshape[0], xshape[1], xshape[2]}, dxout};
            ent[ne++] = (rnn__st_entry){"h0", RNN__F32, 3, {D * L, B, H}, dh0};
            if (lstm)
                ent[ne++] = (rnn__st_entry){"c0", RNN__F32, 3, {D * L, B, H}, dc0};
            for (size_t i = 0; i < nt; i++) {
                rnn_tensor t;
                rnn_stack_tensor(s, i, &t);
                snprintf(names[i], sizeof names[i], "%s%s", a.prefix ? a.prefix : "", t.name);
                ent[ne++] = (rnn__st_entry){names[i], RNN__F32, t.ndim, {t.shape[0], t.shape[1], t.shape[2], t.shape[3]}, t.grad};
            }
            const char *mk[] = {"format"}, *mv[] = {"pt"};
            st = rnn__st_write(a.grads, ent, ne, mk, mv, 1, &e);
            free(ent);
            free(names);
            if (st) {
                rc = cli_fail_status("run", st, e.msg);
                goto out;
            }
        }
    }
out:
    free(x); free(h0); free(c0); free(dy); free(dhn); free(dcn); free(xt); free(y);
    free(yt); free(hn); free(cn); free(dx); free(dxt); free(dh0); free(dc0); free(dyt);
    free(lens);
out_stack:
    rnn_stack_free(s);
    return rc;
}
