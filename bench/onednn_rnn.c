/*
 * onednn_rnn.c -- oneDNN's own RNN primitives on the shapes of `rnn bench`,
 * the peer that issue 4's reference figures came from (oneDNN 2.6, Debian's
 * libdnnl-dev), measured in the same run as ours by bench/run.py.
 *
 *   onednn_rnn forward --cell C --layers L --hidden H [--input I] --seq-len T
 *                      --batch B [--iters N] [--threads N]
 *   onednn_rnn train   (the same options; --steps N)
 *
 * forward: one forward_inference primitive for the whole stack (L layers,
 * one direction), weights reordered once from plain ldigo into the layout
 * the primitive chose, before the timing (what an inference user does). train: a
 * forward_training and a backward primitive per step, the stack alone (no
 * embedding, head, loss or optimizer: the figure the issue quotes as
 * "fwd+bwd only"); the weights are reordered into the primitives' layouts
 * beforehand, so no per-step reorder is counted either (a training loop that updates
 * the weights would need one; this is oneDNN's best case). Cells: lstm,
 * gru (oneDNN's linear-before-reset GRU, PyTorch's), rnn (tanh). A stack of
 * L > 1 layers in one primitive needs the input size equal to the hidden
 * size (oneDNN's weights are one [L][D][I][G][H] tensor).
 *
 * Prints one JSON line: the median over the timed repetitions after 3
 * warm-up calls, tokens per second = T * B / median. Threads: oneDNN's
 * OpenMP runtime, set with omp_set_num_threads. Exit status 2 on bad
 * arguments, 1 on a oneDNN error.
 */
#include <dnnl.h>
#include <dnnl_debug.h>
#include <omp.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHECK(call)                                                            \
    do {                                                                       \
        dnnl_status_t s_ = (call);                                             \
        if (s_ != dnnl_success) {                                              \
            fprintf(stderr, "onednn_rnn: %s: %s (line %d)\n", #call,            \
                    dnnl_status2str(s_), __LINE__);                            \
            exit(1);                                                           \
        }                                                                      \
    } while (0)

typedef struct {
    int cell; /* 0 lstm, 1 gru, 2 rnn */
    int train, L, H, I, T, B, iters, threads;
} opts;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static dnnl_memory_desc_t md(int nd, const dnnl_dim_t *dims, dnnl_format_tag_t tag)
{
    dnnl_memory_desc_t m;
    CHECK(dnnl_memory_desc_init_by_tag(&m, nd, dims, dnnl_f32, tag));
    return m;
}

static dnnl_memory_t mem(const dnnl_memory_desc_t *m, dnnl_engine_t eng, float fill)
{
    dnnl_memory_t x;
    CHECK(dnnl_memory_create(&x, m, eng, DNNL_MEMORY_ALLOCATE));
    void *p;
    CHECK(dnnl_memory_get_data_handle(x, &p));
    size_t n = dnnl_memory_desc_get_size(m) / sizeof(float);
    float *f = p;
    for (size_t i = 0; i < n; i++) /* small values that keep the gates unsaturated */
        f[i] = fill * (float)((int)(i * 2654435761u % 2001) - 1000) / 1000.0f;
    return x;
}

/* Weights of the primitive's chosen layout `want`, given plain [L][D][I][G][H]
 * values (filled like mem()) and reordered into it, as a user would (not
 * timed): writing into an opaque layout directly would break it (oneDNN
 * keeps bookkeeping inside its packed RNN formats, which it picks on CPUs
 * without AVX-512). */
static dnnl_memory_t weights(const dnnl_memory_desc_t *want, int nd, const dnnl_dim_t *dims,
                             dnnl_engine_t eng, dnnl_stream_t stream)
{
    dnnl_memory_desc_t plain = md(nd, dims, dnnl_ldigo);
    dnnl_memory_t src = mem(&plain, eng, 0.05f);
    if (dnnl_memory_desc_equal(&plain, want))
        return src;
    dnnl_memory_t dst;
    CHECK(dnnl_memory_create(&dst, want, eng, DNNL_MEMORY_ALLOCATE));
    dnnl_primitive_desc_t rpd;
    CHECK(dnnl_reorder_primitive_desc_create(&rpd, &plain, eng, want, eng, NULL));
    dnnl_primitive_t r;
    CHECK(dnnl_primitive_create(&r, rpd));
    dnnl_exec_arg_t a[] = {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, dst}};
    CHECK(dnnl_primitive_execute(r, stream, 2, a));
    CHECK(dnnl_stream_wait(stream));
    CHECK(dnnl_primitive_destroy(r));
    CHECK(dnnl_primitive_desc_destroy(rpd));
    CHECK(dnnl_memory_destroy(src));
    return dst;
}

/* The descriptors of the primitive: every tensor's memory descriptor; the
 * weights (and their gradients) in the layout the primitive picks. */
typedef struct {
    dnnl_memory_desc_t src, dst, wl, wi, bias, dsrc, ddst, dwl, dwi, dbias;
} mds;

static void rnn_desc(const opts *o, int backward, dnnl_prop_kind_t prop, const mds *m,
                     dnnl_rnn_desc_t *d)
{
    const dnnl_rnn_direction_t dir = dnnl_unidirectional_left2right;
    /* no initial / final states: zeros in, nothing out (as `rnn bench`) */
    if (o->cell == 0 && !backward)
        CHECK(dnnl_lstm_forward_desc_init(d, prop, dir, &m->src, NULL, NULL, &m->wl, &m->wi,
                                          &m->bias, &m->dst, NULL, NULL, 0));
    else if (o->cell == 0)
        CHECK(dnnl_lstm_backward_desc_init(d, prop, dir, &m->src, NULL, NULL, &m->wl, &m->wi,
                                           &m->bias, &m->dst, NULL, NULL, &m->dsrc, NULL, NULL,
                                           &m->dwl, &m->dwi, &m->dbias, &m->ddst, NULL, NULL, 0));
    else if (o->cell == 1 && !backward)
        CHECK(dnnl_lbr_gru_forward_desc_init(d, prop, dir, &m->src, NULL, &m->wl, &m->wi, &m->bias,
                                             &m->dst, NULL, 0));
    else if (o->cell == 1)
        CHECK(dnnl_lbr_gru_backward_desc_init(d, prop, dir, &m->src, NULL, &m->wl, &m->wi,
                                              &m->bias, &m->dst, NULL, &m->dsrc, NULL, &m->dwl,
                                              &m->dwi, &m->dbias, &m->ddst, NULL, 0));
    else if (!backward)
        CHECK(dnnl_vanilla_rnn_forward_desc_init(d, prop, dnnl_eltwise_tanh, dir, &m->src, NULL,
                                                 &m->wl, &m->wi, &m->bias, &m->dst, NULL, 0, 0.0f,
                                                 0.0f));
    else
        CHECK(dnnl_vanilla_rnn_backward_desc_init(d, prop, dnnl_eltwise_tanh, dir, &m->src, NULL,
                                                  &m->wl, &m->wi, &m->bias, &m->dst, NULL,
                                                  &m->dsrc, NULL, &m->dwl, &m->dwi, &m->dbias,
                                                  &m->ddst, NULL, 0, 0.0f, 0.0f));
}

#define USAGE                                                                  \
    "usage: onednn_rnn forward|train --cell lstm|gru|rnn --layers L --hidden H " \
    "[--input I] --seq-len T --batch B [--iters N | --steps N] [--threads N]\n"

static void usage_exit(const char *msg)
{
    fprintf(stderr, "onednn_rnn: %s\n" USAGE, msg);
    exit(2);
}

static int pos_int(const char *name, const char *v)
{
    char *end;
    long x = strtol(v, &end, 10);
    if (*v == '\0' || *end != '\0' || x < 1 || x > 1000000) {
        fprintf(stderr, "onednn_rnn: %s: expected a positive integer, got '%s'\n", name, v);
        exit(2);
    }
    return (int)x;
}

static void parse(int argc, char **argv, opts *o)
{
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf(USAGE "\noneDNN's own RNN primitives on the shapes of `rnn bench` (one JSON line):\n"
               "  forward  forward_inference of the stack; tokens/s = T*B / median call\n"
               "  train    forward_training + backward of the stack alone\n"
               "Defaults: --cell lstm --layers 2 --hidden 256 --input H --seq-len 64 --batch 32\n"
               "--iters 15 --threads 1. See docs/bench.md.\n");
        exit(0);
    }
    if (argc < 2 || (strcmp(argv[1], "forward") && strcmp(argv[1], "train")))
        usage_exit("expected the case, forward or train");
    *o = (opts){0, !strcmp(argv[1], "train"), 2, 256, 0, 64, 32, 15, 1};
    for (int i = 2; i < argc; i += 2) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            usage_exit("an option without its value");
        if (!strcmp(k, "--cell")) {
            o->cell = !strcmp(v, "lstm") ? 0 : !strcmp(v, "gru") ? 1 : !strcmp(v, "rnn") ? 2 : -1;
            if (o->cell < 0)
                usage_exit("--cell: expected lstm, gru or rnn");
        } else if (!strcmp(k, "--layers"))
            o->L = pos_int(k, v);
        else if (!strcmp(k, "--hidden"))
            o->H = pos_int(k, v);
        else if (!strcmp(k, "--input") || !strcmp(k, "--embed"))
            o->I = pos_int(k, v);
        else if (!strcmp(k, "--seq-len"))
            o->T = pos_int(k, v);
        else if (!strcmp(k, "--batch"))
            o->B = pos_int(k, v);
        else if (!strcmp(k, "--iters") || !strcmp(k, "--steps"))
            o->iters = pos_int(k, v);
        else if (!strcmp(k, "--threads"))
            o->threads = pos_int(k, v);
        else
            usage_exit("unknown option");
    }
    if (o->I == 0)
        o->I = o->H;
    if (o->L > 1 && o->I != o->H)
        usage_exit("oneDNN stacks L > 1 layers in one primitive only with --input equal to --hidden");
}

int main(int argc, char **argv)
{
    opts o;
    parse(argc, argv, &o);
    omp_set_num_threads(o.threads);
    const dnnl_dim_t L = o.L, H = o.H, I = o.I, T = o.T, N = o.B;
    const dnnl_dim_t G = o.cell == 0 ? 4 : o.cell == 1 ? 3 : 1;
    const dnnl_dim_t GB = o.cell == 1 ? 4 : G; /* LBR GRU: a fourth bias, b_hn */

    dnnl_engine_t eng;
    dnnl_stream_t stream;
    CHECK(dnnl_engine_create(&eng, dnnl_cpu, 0));
    CHECK(dnnl_stream_create(&stream, eng, dnnl_stream_default_flags));

    const dnnl_dim_t d_src[] = {T, N, I}, d_dst[] = {T, N, H};
    const dnnl_dim_t d_wl[] = {L, 1, I, G, H}, d_wi[] = {L, 1, H, G, H}, d_b[] = {L, 1, GB, H};
    mds m;
    m.src = md(3, d_src, dnnl_tnc);
    m.dst = md(3, d_dst, dnnl_tnc);
    m.wl = md(5, d_wl, dnnl_format_tag_any);
    m.wi = md(5, d_wi, dnnl_format_tag_any);
    m.bias = md(4, d_b, dnnl_ldgo);
    m.dsrc = m.src;
    m.ddst = m.dst;
    m.dwl = m.wl;
    m.dwi = m.wi;
    m.dbias = m.bias;

    dnnl_rnn_desc_t fd;
    rnn_desc(&o, 0, o.train ? dnnl_forward_training : dnnl_forward_inference, &m, &fd);
    dnnl_primitive_desc_t fpd;
    CHECK(dnnl_primitive_desc_create(&fpd, &fd, NULL, eng, NULL));
    dnnl_primitive_t fwd;
    CHECK(dnnl_primitive_create(&fwd, fpd));

    /* the weights reordered into the layout the primitive chose (not timed) */
    dnnl_memory_t src = mem(&m.src, eng, 1.0f), dst = mem(&m.dst, eng, 0.0f);
    dnnl_memory_t wl = weights(dnnl_primitive_desc_query_md(fpd, dnnl_query_weights_md, 0), 5,
                               d_wl, eng, stream);
    dnnl_memory_t wi = weights(dnnl_primitive_desc_query_md(fpd, dnnl_query_weights_md, 1), 5,
                               d_wi, eng, stream);
    dnnl_memory_t bias = mem(&m.bias, eng, 0.1f);
    dnnl_memory_t ws = NULL;
    if (o.train)
        ws = mem(dnnl_primitive_desc_query_md(fpd, dnnl_query_workspace_md, 0), eng, 0.0f);
    dnnl_exec_arg_t fargs[] = {{DNNL_ARG_SRC_LAYER, src},     {DNNL_ARG_WEIGHTS_LAYER, wl},
                               {DNNL_ARG_WEIGHTS_ITER, wi},   {DNNL_ARG_BIAS, bias},
                               {DNNL_ARG_DST_LAYER, dst},     {DNNL_ARG_WORKSPACE, ws}};
    const int nfargs = o.train ? 6 : 5;

    dnnl_primitive_t bwd = NULL;
    dnnl_exec_arg_t bargs[12];
    int nbargs = 0;
    dnnl_memory_t bwl = NULL, bwi = NULL;
    if (o.train) {
        dnnl_rnn_desc_t bd;
        rnn_desc(&o, 1, dnnl_backward, &m, &bd);
        dnnl_primitive_desc_t bpd;
        CHECK(dnnl_primitive_desc_create(&bpd, &bd, NULL, eng, fpd));
        CHECK(dnnl_primitive_create(&bwd, bpd));
        /* the backward pass may want the weights in another layout: its own
         * copies, reordered alike (a training loop would reorder every step) */
        bwl = weights(dnnl_primitive_desc_query_md(bpd, dnnl_query_weights_md, 0), 5, d_wl, eng,
                      stream);
        bwi = weights(dnnl_primitive_desc_query_md(bpd, dnnl_query_weights_md, 1), 5, d_wi, eng,
                      stream);
        dnnl_memory_t dsrc = mem(&m.dsrc, eng, 0.0f), ddst = mem(&m.ddst, eng, 0.01f);
        dnnl_memory_t dwl = mem(dnnl_primitive_desc_query_md(bpd, dnnl_query_diff_weights_md, 0),
                                eng, 0.0f);
        dnnl_memory_t dwi = mem(dnnl_primitive_desc_query_md(bpd, dnnl_query_diff_weights_md, 1),
                                eng, 0.0f);
        dnnl_memory_t dbias = mem(dnnl_primitive_desc_query_md(bpd, dnnl_query_diff_weights_md, 2),
                                  eng, 0.0f);
        dnnl_exec_arg_t a[] = {
            {DNNL_ARG_SRC_LAYER, src},          {DNNL_ARG_WEIGHTS_LAYER, bwl},
            {DNNL_ARG_WEIGHTS_ITER, bwi},       {DNNL_ARG_BIAS, bias},
            {DNNL_ARG_DST_LAYER, dst},          {DNNL_ARG_WORKSPACE, ws},
            {DNNL_ARG_DIFF_SRC_LAYER, dsrc},    {DNNL_ARG_DIFF_WEIGHTS_LAYER, dwl},
            {DNNL_ARG_DIFF_WEIGHTS_ITER, dwi},  {DNNL_ARG_DIFF_BIAS, dbias},
            {DNNL_ARG_DIFF_DST_LAYER, ddst}};
        nbargs = (int)(sizeof a / sizeof a[0]);
        memcpy(bargs, a, sizeof a);
    }

    double *times = malloc(sizeof(double) * (size_t)o.iters);
    if (!times) {
        fprintf(stderr, "onednn_rnn: out of memory\n");
        return 1;
    }
    for (int i = 0; i < 3 + o.iters; i++) {
        double t0 = now_s();
        CHECK(dnnl_primitive_execute(fwd, stream, nfargs, fargs));
        if (bwd)
            CHECK(dnnl_primitive_execute(bwd, stream, nbargs, bargs));
        CHECK(dnnl_stream_wait(stream));
        if (i >= 3)
            times[i - 3] = now_s() - t0;
    }
    qsort(times, (size_t)o.iters, sizeof *times, cmp_double);
    double med = o.iters % 2 ? times[o.iters / 2]
                             : 0.5 * (times[o.iters / 2 - 1] + times[o.iters / 2]);
    const dnnl_version_t *v = dnnl_version();
    static const char *cells[] = {"lstm", "gru", "rnn"};
    printf("{\"case\": \"%s\", \"impl\": \"oneDNN %d.%d.%d\", \"cell\": \"%s\", \"layers\": %d, "
           "\"hidden\": %d, \"input\": %d, \"seq_len\": %d, \"batch\": %d, \"threads\": %d, "
           "\"iters\": %d, \"%s\": %.3f, \"tokens_per_s\": %.1f}\n",
           o.train ? "train" : "forward", v->major, v->minor, v->patch, cells[o.cell], o.L, o.H,
           o.I, o.T, o.B, o.threads, o.iters, o.train ? "step_ms" : "call_ms", med * 1e3,
           (double)o.T * o.B / med);
    free(times);
    return 0;
}
