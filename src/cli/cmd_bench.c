/*
 * cmd_bench.c -- `rnn bench`: measure without touching the disk and print
 * one JSON line per case. `make bench` runs a matrix of cases beside the
 * same cases in PyTorch (bench/torch_bench.py) and prints the ratios.
 */
#define _GNU_SOURCE /* sched_setaffinity, CPU_SET: bench cores pins its threads */
#include "cli/cli.h"
#include "cli/train_common.h"

#include "core/core.h"
#include "layers/layers.h"

#include <math.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static const char usage[] =
    "usage: rnn bench train   --cell C --layers L --hidden H --seq-len T --batch B\n"
    "                         [--vocab 65] [--embed E] [--steps N] [--threads N]\n"
    "       rnn bench forward --cell C --layers L --hidden H --seq-len T --batch B\n"
    "                         [--input I] [--iters N] [--threads N]\n"
    "       rnn bench stream  --cell C --input I --hidden H [--layers L] [--streams S]\n"
    "                         [--steps N] [--weights f32|f16|bf16]\n"
    "       rnn bench gemm    [--size N] [--iters N]\n"
    "       rnn bench cores   [--iters N]\n"
    "\n"
    "Measures speed on synthetic data (nothing is read or written) and prints one JSON\n"
    "line: the median over the timed repetitions after a warm-up, and the process's\n"
    "peak resident memory.\n"
    "\n"
    "  train    full training steps of a character model: embedding (vocab x embed, embed\n"
    "           defaults to the hidden size), the stack, the dense head, softmax\n"
    "           cross-entropy, backward, clipping (norm 5) and Adam; tokens/s = T*B/step\n"
    "  forward  inference of the stack alone on [T, B, I] (I defaults to H); tokens/s\n"
    "  stream   one time step of S independent streams (default 1) through the streaming\n"
    "           API: microseconds per step; --weights: how the stream keeps its weights\n"
    "           (f32, the default; f16 or bf16: half precision, rounded once, half the\n"
    "           bytes per step, results of the rounded weights; see docs/api.md)\n"
    "  gemm     single-thread sgemm of N x N x N (default 2048): GFLOP/s, the median\n"
    "           and the best repetition (the peak the other cases are compared with)\n"
    "  cores    the host as two threads see it, each pinned to its own core (0 and 1):\n"
    "           the round trip of a cache line between them (ns) and a small in-cache\n"
    "           sgemm's GFLOP/s on each core alone and on both at once\n"
    "\n"
    "Cells: lstm, gru, rnn (tanh), rnn_relu. Threads default to all cores.\n";

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Peak resident memory of this process image: VmHWM from /proc (reset at
 * exec). getrusage's ru_maxrss is not: on Linux it carries the peak of the
 * process that forked us over the exec, so a benchmark started by a Python
 * script holding PyTorch would report Python's memory as ours. */
static double peak_rss_mb(void)
{
    FILE *fp = fopen("/proc/self/status", "r");
    char line[256];
    double kb = -1;
    while (fp && fgets(line, sizeof line, fp))
        if (strncmp(line, "VmHWM:", 6) == 0) {
            kb = strtod(line + 6, NULL);
            break;
        }
    if (fp)
        fclose(fp);
    if (kb < 0) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        kb = (double)ru.ru_maxrss; /* Linux: kilobytes */
    }
    return kb / 1024.0;
}

static int parse_cell(const char *name, rnn_cell *cell)
{
    if (strcmp(name, "lstm") == 0)
        *cell = RNN_CELL_LSTM;
    else if (strcmp(name, "gru") == 0)
        *cell = RNN_CELL_GRU;
    else if (strcmp(name, "rnn") == 0 || strcmp(name, "rnn_tanh") == 0)
        *cell = RNN_CELL_RNN_TANH;
    else if (strcmp(name, "rnn_relu") == 0)
        *cell = RNN_CELL_RNN_RELU;
    else
        return cli_error("bench", CLI_EXIT_INPUT, "--cell: expected lstm, gru, rnn or rnn_relu, got '%s'",
                         name);
    return 0;
}

/* multiply-adds of one token through a layer stack's forward pass */
static double stack_macs(rnn_cell cell, int I, int H, int L)
{
    double G = rnn_cell_gates(cell), macs = 0;
    for (int l = 0; l < L; l++)
        macs += G * H * ((l ? H : I) + H);
    return macs;
}

static int bench_train(const char *cellname, int L, int H, int T, int B, int V, int E, int steps,
                       int threads)
{
    rnn_cell cell;
    int rc = parse_cell(cellname, &cell);
    if (rc)
        return rc;
    if (E <= 0)
        E = H;
    rnn_model_config mc = {.vocab_size = V, .embed_size = E, .input_size = 0, .cell = cell, .hidden_size = H,
                           .num_layers = L, .bidirectional = 0, .dropout = 0.0f, .output_size = V};
    rnn_model *m;
    rnn_error e;
    rnn_status st = rnn_model_new(&m, &mc, 1, &e);
    if (st)
        return cli_fail_status("bench", st, e.msg);
    rnn_model_set_threads(m, threads);
    /* enough random tokens for warm-up + steps without wrapping the epoch */
    size_t n = (size_t)(steps + 4) * T * B + B + 1;
    int32_t *ids = malloc(n * sizeof *ids);
    if (!ids) {
        rnn_model_free(m);
        return cli_error("bench", CLI_EXIT_INTERNAL, "out of memory");
    }
    uint64_t r = 12345;
    for (size_t i = 0; i < n; i++) {
        r = r * 6364136223846793005ull + 1442695040888963407ull;
        ids[i] = (int32_t)((r >> 33) % (uint64_t)V);
    }
    rnn_train_options o;
    memset(&o, 0, sizeof o);
    o.seq_len = T;
    o.batch = B;
    rnn_optim_defaults(&o.optim, RNN_OPT_ADAM);
    o.lr = 2e-3;
    o.clip_norm = 5;
    rnn_trainer *t;
    if ((st = rnn_lm_trainer_new(&t, m, &o, ids, n, NULL, 0, &e))) {
        free(ids);
        rnn_model_free(m);
        return cli_fail_status("bench", st, e.msg);
    }
    double *times = malloc((size_t)steps * sizeof *times);
    if (!times)
        rc = cli_error("bench", CLI_EXIT_INTERNAL, "out of memory");
    for (int i = 0; i < 3 + steps && !rc; i++) {
        double t0 = now_s();
        if ((st = rnn_trainer_step(t, NULL)))
            rc = cli_fail_status("bench", st, rnn_trainer_errmsg(t));
        if (i >= 3)
            times[i - 3] = now_s() - t0;
    }
    if (!rc) {
        double med = median(times, steps);
        /* the multiply-adds done: per token, the stack and the head; the
         * first layer's input side (projections, dW_ih, embedding gradient)
         * once per vocabulary row instead of per token when the model takes
         * that path (V <= T*B/2, rnn__stack_lookup_pays) */
        double rows = (double)T * B, macs = (stack_macs(cell, E, H, L) + (double)H * V) * rows;
        if (rnn__rec_lookup_pays(V, (size_t)T * B))
            macs -= (double)rnn_cell_gates(cell) * H * E * (rows - V);
        double gflops = 3.0 * 2.0 * macs / med / 1e9; /* backward ~ 2x forward */
        printf("{\"case\": \"train\", \"cell\": \"%s\", \"layers\": %d, \"hidden\": %d, \"seq_len\": %d, "
               "\"batch\": %d, \"vocab\": %d, \"embed\": %d, \"threads\": %d, \"steps\": %d, "
               "\"step_ms\": %.3f, \"tokens_per_s\": %.1f, \"gflops\": %.2f, \"peak_rss_mb\": %.1f, "
               "\"kernels\": \"%s\"}\n",
               rnn_cell_name(cell), L, H, T, B, V, E, threads, steps, med * 1e3, T * B / med, gflops,
               peak_rss_mb(), rnn__gemm_backend());
    }
    free(times);
    rnn_trainer_free(t);
    free(ids);
    rnn_model_free(m);
    return rc;
}

static int bench_forward(const char *cellname, int L, int H, int I, int T, int B, int iters,
                         int threads)
{
    rnn_cell cell;
    int rc = parse_cell(cellname, &cell);
    if (rc)
        return rc;
    if (I <= 0)
        I = H;
    rnn_stack_config c = {cell, I, H, L, 0, 0.0f};
    rnn_stack *s;
    rnn_error e;
    rnn_status st = rnn_stack_new(&s, &c, 1, &e);
    if (st)
        return cli_fail_status("bench", st, e.msg);
    rnn_stack_set_threads(s, threads);
    size_t nx = (size_t)T * B * I, ny = (size_t)T * B * H;
    float *x = malloc(nx * sizeof *x), *y = malloc(ny * sizeof *y);
    double *times = malloc((size_t)iters * sizeof *times);
    if (!x || !y || !times) {
        rc = cli_error("bench", CLI_EXIT_INTERNAL, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < nx; i++)
        x[i] = (float)sin((double)i * 0.37);
    rnn_stack_reserve(s, T, B);
    for (int i = 0; i < 3 + iters && !rc; i++) {
        double t0 = now_s();
        if ((st = rnn_stack_forward(s, y, NULL, NULL, x, NULL, NULL, NULL, T, B, 0)))
            rc = cli_fail_status("bench", st, rnn_stack_errmsg(s));
        if (i >= 3)
            times[i - 3] = now_s() - t0;
    }
    if (!rc) {
        double med = median(times, iters);
        double gflops = 2.0 * stack_macs(cell, I, H, L) * T * B / med / 1e9;
        printf("{\"case\": \"forward\", \"cell\": \"%s\", \"layers\": %d, \"hidden\": %d, \"input\": %d, "
               "\"seq_len\": %d, \"batch\": %d, \"threads\": %d, \"iters\": %d, \"call_ms\": %.3f, "
               "\"tokens_per_s\": %.1f, \"gflops\": %.2f, \"peak_rss_mb\": %.1f, \"kernels\": \"%s\"}\n",
               rnn_cell_name(cell), L, H, I, T, B, threads, iters, med * 1e3, T * B / med, gflops,
               peak_rss_mb(), rnn__gemm_backend());
    }
out:
    free(x);
    free(y);
    free(times);
    rnn_stack_free(s);
    return rc;
}

static int bench_gemm(int N, int iters)
{
    size_t n = (size_t)N * N;
    float *a = rnn__alloc_floats(n), *b = rnn__alloc_floats(n), *c = rnn__alloc_floats(n);
    double *times = malloc((size_t)iters * sizeof *times);
    if (!a || !b || !c || !times) {
        rnn__free_floats(a);
        rnn__free_floats(b);
        rnn__free_floats(c);
        free(times);
        return cli_error("bench", CLI_EXIT_INTERNAL, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        a[i] = (float)((i * 7) % 13) * 0.01f;
        b[i] = (float)((i * 5) % 11) * 0.01f;
    }
    for (int i = 0; i < 2 + iters; i++) {
        double t0 = now_s();
        rnn__sgemm(0, 0, N, N, N, 1.0f, a, N, b, N, 0.0f, c, N);
        if (i >= 2)
            times[i - 2] = now_s() - t0;
    }
    double med = median(times, iters), best = times[0];
    for (int i = 1; i < iters; i++)
        best = times[i] < best ? times[i] : best;
    const double flop = 2.0 * N * (double)N * N;
    /* gflops: the median; gflops_best: the fastest repetition, the peak the
     * machine reached (noise only ever slows a run down) */
    printf("{\"case\": \"gemm\", \"size\": %d, \"iters\": %d, \"ms\": %.3f, \"gflops\": %.2f, "
           "\"gflops_best\": %.2f, \"kernels\": \"%s\"}\n",
           N, iters, med * 1e3, flop / med / 1e9, flop / best / 1e9, rnn__gemm_backend());
    rnn__free_floats(a);
    rnn__free_floats(b);
    rnn__free_floats(c);
    free(times);
    return 0;
}



#ifdef _OPENMP
/* Pins the calling thread to CPU `cpu`; 0 on success. */
static int pin_to(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof set, &set);
}

/* GFLOP/s of repeated 64x64x64 products on buffers of this thread's own
 * (in L1/L2: the cores' arithmetic, not memory), for about `sec` seconds. */
static double core_rate(float *buf, double sec)
{
    const int n = 64;
    float *a = buf, *b = buf + n * n, *c = buf + 2 * n * n;
    long reps = 0;
    double t0 = now_s(), t;
    do {
        for (int k = 0; k < 50; k++)
            rnn__sgemm(0, 0, n, n, n, 1.0f, a, n, b, n, 1.0f, c, n);
        reps += 50;
        t = now_s() - t0;
    } while (t < sec);
    return 2.0 * n * n * n * (double)reps / t / 1e9;
}
#endif

static int bench_cores(int iters)
{
#ifndef _OPENMP
    (void)iters;
    return cli_error("bench", CLI_EXIT_INPUT, "bench cores needs a build with OpenMP");
#else
    cpu_set_t saved;
    if (sched_getaffinity(0, sizeof saved, &saved) != 0 || !CPU_ISSET(0, &saved) || !CPU_ISSET(1, &saved))
        return cli_error("bench", CLI_EXIT_INPUT, "bench cores needs two cores, CPUs 0 and 1, to run on");
    const int n = 64, per = 3 * n * n;
    float *buf = rnn__alloc_floats((size_t)2 * per);
    double *rt = malloc((size_t)iters * sizeof *rt);
    if (!buf || !rt) {
        rnn__free_floats(buf);
        free(rt);
        return cli_error("bench", CLI_EXIT_INTERNAL, "out of memory");
    }
    for (int i = 0; i < 2 * per; i++)
        buf[i] = (float)((i * 7) % 13) * 0.01f;
    /* the two flags on cache lines of their own (shared by the threads) */
    struct {
        _Alignas(64) atomic_int ping;
        _Alignas(64) atomic_int pong;
    } fl;
    double alone[2] = {0, 0}, together[2] = {0, 0};
    int pinned = 1, team = 2;
    const int trips = 20000;
    atomic_init(&fl.ping, 0);
    atomic_init(&fl.pong, 0);
#pragma omp parallel num_threads(2)
    {
        const int tid = omp_get_thread_num();
        /* fewer threads (OMP_THREAD_LIMIT, say) would leave thread 0
         * waiting for an answer forever: then nothing is measured */
        if (omp_get_num_threads() != 2) {
            team = omp_get_num_threads();
        } else {
            if (pin_to(tid) != 0) {
#pragma omp atomic write
                pinned = 0;
            }
#pragma omp barrier
            /* round trip: thread 0 writes ping = i, thread 1 answers pong = i */
            for (int r = 0; r < iters; r++) {
                double t0 = now_s();
                for (int i = 1; i <= trips; i++) {
                    const int v = (r % 50000) * trips + i; /* < 2^31, and never the last round's */
                    if (tid == 0) {
                        atomic_store_explicit(&fl.ping, v, memory_order_release);
                        while (atomic_load_explicit(&fl.pong, memory_order_acquire) != v)
                            ;
                    } else {
                        while (atomic_load_explicit(&fl.ping, memory_order_acquire) != v)
                            ;
                        atomic_store_explicit(&fl.pong, v, memory_order_release);
                    }
                }
                if (tid == 0)
                    rt[r] = (now_s() - t0) / trips;
            }
            /* each core alone (the other waits at the barrier), then both */
            float *mine = buf + (size_t)tid * per;
            for (int k = 0; k < 2; k++) {
#pragma omp barrier
                if (tid == k)
                    alone[k] = core_rate(mine, 0.2);
            }
#pragma omp barrier
            together[tid] = core_rate(mine, 0.2);
        }
    }
    sched_setaffinity(0, sizeof saved, &saved);
    int rc = 0;
    if (team != 2)
        rc = cli_error("bench", CLI_EXIT_INPUT, "bench cores needs 2 OpenMP threads; it got %d", team);
    else if (!pinned)
        rc = cli_error("bench", CLI_EXIT_INTERNAL, "could not pin the threads to CPUs 0 and 1");
    else
        printf("{\"case\": \"cores\", \"iters\": %d, \"roundtrip_ns\": %.1f, \"gflops_alone\": [%.2f, %.2f], "
               "\"gflops_together\": [%.2f, %.2f], \"kernels\": \"%s\"}\n",
               iters, median(rt, iters) * 1e9, alone[0], alone[1], together[0], together[1],
               rnn__gemm_backend());
    rnn__free_floats(buf);
    free(rt);
    return rc;
#endif
}

static int bench_stream(const char *cellname, int I, int H, int L, int S, int steps, const char *wname)
{
    rnn_cell cell;
    int rc = parse_cell(cellname, &cell);
    if (rc)
        return rc;
    rnn_stream_weights wt;
    if (strcmp(wname, "f32") == 0)
        wt = RNN_STREAM_F32;
    else if (strcmp(wname, "f16") == 0)
        wt = RNN_STREAM_F16;
    else if (strcmp(wname, "bf16") == 0)
        wt = RNN_STREAM_BF16;
    else
        return cli_error("bench", CLI_EXIT_INPUT, "--weights: expected f32, f16 or bf16, not '%s'", wname);
    /* a feature model whose head is as wide as the hidden state: the step
     * the benchmark times is the recurrent cell (the head is cheap) */
    rnn_model_config mc = {.vocab_size = 0, .embed_size = 0, .input_size = I, .cell = cell, .hidden_size = H,
                           .num_layers = L, .bidirectional = 0, .dropout = 0.0f, .output_size = H};
    rnn_model *m;
    rnn_stream *s;
    rnn_error e;
    rnn_status st = rnn_model_new(&m, &mc, 1, &e);
    if (st)
        return cli_fail_status("bench", st, e.msg);
    st = rnn_stream_new_ex(&s, m, S, wt, &e);
    rnn_model_free(m); /* the stream holds its own packed weights */
    if (st)
        return cli_fail_status("bench", st, e.msg);
    float *x = malloc((size_t)S * I * sizeof *x), *y = malloc((size_t)S * H * sizeof *y);
    double *times = malloc((size_t)steps * sizeof *times);
    if (!x || !y || !times) {
        free(x);
        free(y);
        free(times);
        rnn_stream_free(s);
        return cli_error("bench", CLI_EXIT_INTERNAL, "out of memory");
    }
    for (int i = 0; i < S * I; i++)
        x[i] = (float)sin(i * 0.7);
    /* each repetition times a batch of steps: one step is too short to time */
    const int reps = 2000;
    for (int r = 0; r < 3 + steps; r++) {
        double t0 = now_s();
        for (int k = 0; k < reps; k++)
            rnn_stream_step(s, NULL, NULL, x); /* the cell alone, like nn.LSTMCell */
        if (r >= 3)
            times[r - 3] = (now_s() - t0) / reps;
    }
    double med = median(times, steps);
    printf("{\"case\": \"stream\", \"cell\": \"%s\", \"layers\": %d, \"input\": %d, \"hidden\": %d, "
           "\"streams\": %d, \"weights\": \"%s\", \"steps\": %d, \"us_per_step\": %.4f, \"peak_rss_mb\": %.1f}\n",
           rnn_cell_name(cell), L, I, H, S, wname, steps, med * 1e6, peak_rss_mb());
    free(x);
    free(y);
    free(times);
    rnn_stream_free(s);
    return 0;
}

int cmd_bench(int argc, char **argv)
{
    const char *cell = "lstm", *weights = "f32";
    int L = 1, H = 128, T = 64, B = 32, V = 65, E = 0, I = 0, steps = 20, iters = 20, S = 1,
        size = 2048, threads = cli_default_threads();
    cli_opt opts[] = {
        {"cell", CLI_STR, &cell, 0, 0, 0},
        {"layers", CLI_INT, &L, 1, 1000, 0},
        {"hidden", CLI_INT, &H, 1, 1 << 16, 0},
        {"seq-len", CLI_INT, &T, 1, 1 << 20, 0},
        {"batch", CLI_INT, &B, 1, 1 << 20, 0},
        {"vocab", CLI_INT, &V, 2, 1 << 20, 0},
        {"embed", CLI_INT, &E, 1, 1 << 16, 0},
        {"input", CLI_INT, &I, 1, 1 << 16, 0},
        {"steps", CLI_INT, &steps, 1, 1 << 30, 0},
        {"iters", CLI_INT, &iters, 1, 1 << 30, 0},
        {"streams", CLI_INT, &S, 1, 1 << 20, 0},
        {"size", CLI_INT, &size, 1, 1 << 14, 0},
        {"threads", CLI_INT, &threads, 1, 1024, 0},
        {"weights", CLI_STR, &weights, 0, 0, 0},
        {0, 0, 0, 0, 0, 0},
    };
    const char *pos[1];
    int np;
    int rc = cli_parse("bench", argc, argv, opts, pos, 1, 1, &np, usage);
    if (rc)
        return rc < 0 ? 0 : rc;
    cli_set_threads(threads);
    if (strcmp(pos[0], "train") == 0)
        return bench_train(cell, L, H, T, B, V, E, steps, threads);
    if (strcmp(pos[0], "forward") == 0)
        return bench_forward(cell, L, H, I, T, B, iters, threads);
    if (strcmp(pos[0], "stream") == 0)
        return bench_stream(cell, I > 0 ? I : H, H, L, S, steps, weights);
    if (strcmp(pos[0], "gemm") == 0)
        return bench_gemm(size, iters);
    if (strcmp(pos[0], "cores") == 0)
        return bench_cores(iters);
    return cli_error("bench", CLI_EXIT_INPUT,
                     "unknown case '%s'; expected train, forward, stream, gemm or cores",
                     pos[0]);
}
