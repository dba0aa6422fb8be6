/*
 * gemm_bench.c -- single-thread SGEMM speed of every path rnn__sgemm has on
 * this machine (avx512, avx2, portable), of OpenBLAS (cblas_sgemm called
 * directly) and, when built with their headers present, of libxsmm and
 * oneDNN (dnnl_sgemm), on the shapes of a recurrent network. `make
 * bench-gemm`, then build/bench/gemm_bench [--quick] [--only avx512,...]
 * [--shapes SUBSTRING].
 *
 * Each cell is GFLOP/s as "median/best" over several repetitions (each
 * repetition a run of calls lasting >= ~20 ms; the shared, noisy machine
 * makes the median the honest figure). The last column is our best path's
 * median over OpenBLAS's. The process re-executes itself with
 * OPENBLAS_NUM_THREADS=1 and OMP_NUM_THREADS=1 when they are unset: the
 * comparison is single-threaded, and idle OpenBLAS worker threads spinning
 * in sched_yield would otherwise steal one of the two cores.
 */
#include "core/core.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef RNN_HAVE_CBLAS
#include <cblas.h>
#endif
#ifdef HAVE_LIBXSMM
#include <libxsmm.h>
#endif
#ifdef HAVE_DNNL
#include <dnnl.h>
#endif

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* ---- the machine's single-thread FMA peak --------------------------------- */

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
/* 24 independent chains of 512-bit FMAs: 4-cycle latency x 2 pipes needs 8;
 * more is harmless. */
__attribute__((target("avx512f,fma"))) static double peak_avx512(void)
{
    __m512 acc[24];
    for (int i = 0; i < 24; i++)
        acc[i] = _mm512_set1_ps(1e-3f * (float)i);
    __m512 x = _mm512_set1_ps(0.999f), y = _mm512_set1_ps(1e-4f);
    long n = 20000000;
    double t = now();
    for (long it = 0; it < n; it++) {
#pragma GCC unroll 24
        for (int i = 0; i < 24; i++)
            acc[i] = _mm512_fmadd_ps(acc[i], x, y);
        __asm__ volatile("" : "+v"(x));
    }
    t = now() - t;
    float s = 0;
    for (int i = 0; i < 24; i++)
        s += _mm512_reduce_add_ps(acc[i]);
    __asm__ volatile("" ::"x"(s));
    return (double)n * 24 * 32 / t * 1e-9;
}
#endif

/* ---- backends ------------------------------------------------------------- */

enum { B_AVX512, B_AVX2, B_PORTABLE, B_OPENBLAS, B_XSMM, B_DNNL, NB };
static const char *const bnames[NB] = {"avx512", "avx2", "portable",
                                       "openblas", "libxsmm", "onednn"};
static int have[NB];

typedef struct {
    const char *name;
    int ta, tb, M, N, K;
    int packed; /* our paths: rnn__sgemm_packed; others: the NT product */
} shape;

typedef struct {
    const shape *s;
    float *A, *B, *C, *P;
    int lda, ldb, ldc;
#ifdef HAVE_LIBXSMM
    libxsmm_smmfunction xk;
#endif
} problem;

/* One call of backend b; returns 0 if b cannot do this shape. */
static int call(int b, problem *p)
{
    const shape *s = p->s;
    switch (b) {
    case B_AVX512:
    case B_AVX2:
    case B_PORTABLE:
        if (s->packed)
            rnn__sgemm_packed(s->M, s->N, s->K, 1, p->A, p->lda, p->P, 0, p->C, p->ldc);
        else
            rnn__sgemm(s->ta, s->tb, s->M, s->N, s->K, 1, p->A, p->lda, p->B,
                       p->ldb, 0, p->C, p->ldc);
        return 1;
#ifdef RNN_HAVE_CBLAS
    case B_OPENBLAS:
        cblas_sgemm(CblasRowMajor, s->ta ? CblasTrans : CblasNoTrans,
                    s->tb ? CblasTrans : CblasNoTrans, s->M, s->N, s->K, 1, p->A,
                    p->lda, p->B, p->ldb, 0, p->C, p->ldc);
        return 1;
#endif
#ifdef HAVE_LIBXSMM
    case B_XSMM:
        /* JIT kernels only (libxsmm hands larger products to a BLAS):
         * column-major, so C^T = op(B)^T op(A)^T, no transposes */
        if (!p->xk)
            return 0;
        p->xk(p->B, p->A, p->C);
        return 1;
#endif
#ifdef HAVE_DNNL
    case B_DNNL:
        return dnnl_sgemm(s->ta ? 'T' : 'N', s->tb ? 'T' : 'N', s->M, s->N, s->K,
                          1, p->A, p->lda, p->B, p->ldb, 0, p->C, p->ldc) ==
               dnnl_success;
#endif
    default:
        return 0;
    }
}

typedef struct {
    double median, best; /* GFLOP/s */
} result;

static result measure(int b, problem *p, int reps, double min_time)
{
    result r = {0, 0};
    const shape *s = p->s;
    double flops = 2.0 * s->M * s->N * s->K;
    if (b <= B_PORTABLE) {
        setenv("RNN_GEMM", bnames[b], 1);
        if (s->packed) /* the buffer records the path that packed it */
            rnn__sgemm_pack_b(p->P, 1, s->K, s->N, p->B, p->ldb);
    }
    if (!call(b, p)) /* warm-up; and can it? */
        return r;
    double t0 = now();
    call(b, p);
    double one = now() - t0;
    long inner = one > 0 ? (long)(min_time / one) + 1 : 1000;
    double t[64];
    if (reps > 64)
        reps = 64;
    for (int i = 0; i < reps; i++) {
        t0 = now();
        for (long j = 0; j < inner; j++)
            call(b, p);
        t[i] = (now() - t0) / (double)inner;
    }
    qsort(t, (size_t)reps, sizeof t[0], cmp_double);
    r.median = flops / t[reps / 2] * 1e-9;
    r.best = flops / t[0] * 1e-9;
    return r;
}

static float *rand_floats(size_t n)
{
    float *p = rnn__alloc_floats(n ? n : 1);
    uint64_t x = 88172645463325252ull;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        p[i] = (float)((double)(x >> 40) / (double)(1ull << 24) - 0.5);
    }
    return p;
}

int main(int argc, char **argv)
{
    if (!getenv("OPENBLAS_NUM_THREADS") || !getenv("OMP_NUM_THREADS")) {
        setenv("OPENBLAS_NUM_THREADS", "1", 0);
        setenv("OMP_NUM_THREADS", "1", 0);
        execv("/proc/self/exe", argv);
        /* could not re-execute: go on, noisier */
    }
    int quick = 0;
    const char *only = NULL, *filter = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            quick = 1;
        else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
            only = argv[++i];
        else if (strcmp(argv[i], "--shapes") == 0 && i + 1 < argc)
            filter = argv[++i];
        else {
            fprintf(stderr, "usage: %s [--quick] [--only avx512,avx2,portable,openblas,libxsmm,onednn]\n"
                    "       [--shapes SUBSTRING]\n",
                    argv[0]);
            return 2;
        }
    }
    /* which backends exist here */
    for (int b = B_AVX512; b <= B_PORTABLE; b++) {
        setenv("RNN_GEMM", bnames[b], 1);
        have[b] = strcmp(rnn__gemm_backend(), bnames[b]) == 0;
    }
    unsetenv("RNN_GEMM");
#ifdef RNN_HAVE_CBLAS
    have[B_OPENBLAS] = 1;
#endif
#ifdef HAVE_LIBXSMM
    libxsmm_init();
    have[B_XSMM] = 1;
#endif
#ifdef HAVE_DNNL
    have[B_DNNL] = 1;
#endif
    if (only)
        for (int b = 0; b < NB; b++)
            if (!strstr(only, bnames[b]))
                have[b] = 0;

    printf("rnn SGEMM benchmark, single thread\n");
    printf("default path: %s", rnn__gemm_backend());
    const char *ct = getenv("OPENBLAS_CORETYPE");
    printf("; OPENBLAS_CORETYPE=%s", ct ? ct : "(unset)");
#ifdef RNN_HAVE_CBLAS
    printf(" (OpenBLAS core: %s)", openblas_get_corename());
#endif
    printf("\n");
    double peak = 0;
#if defined(__x86_64__) && defined(__GNUC__)
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma")) {
        for (int i = 0; i < 5; i++) {
            double p = peak_avx512();
            if (p > peak)
                peak = p;
        }
        printf("peak (512-bit FMA loop, best of 5): %.1f GFLOP/s\n", peak);
    }
#endif
    printf("cells: GFLOP/s median/best of %d runs; ratio: %s median / openblas median\n\n",
           quick ? 3 : 7, have[B_AVX512] ? "avx512" : have[B_AVX2] ? "avx2" : "portable");

    static shape shapes[64];
    int ns = 0;
    static char names[64][48];
#define ADD(TA, TB, MM, NN, KK, PK, ...)                                        \
    do {                                                                       \
        snprintf(names[ns], sizeof names[ns], __VA_ARGS__);                    \
        shapes[ns] = (shape){names[ns], TA, TB, MM, NN, KK, PK};               \
        ns++;                                                                  \
    } while (0)
    static const int sq[] = {256, 512, 1024, 2048};
    for (int i = 0; i < 4; i++)
        ADD(0, 0, sq[i], sq[i], sq[i], 0, "square %d NN", sq[i]);
    static const int Hs[] = {128, 256, 512};
    const int TB = 2048;
    for (int i = 0; i < 3; i++) {
        int H = Hs[i];
        ADD(1, 0, 4 * H, H, TB, 0, "dW   H=%d 4Hx H x TB TN", H);
        ADD(0, 0, TB, H, 4 * H, 0, "dX   H=%d TBx I x4H NN", H);
        ADD(0, 1, TB, 4 * H, H, 0, "fwd  H=%d TBx4H x I NT", H);
    }
    for (int i = 0; i < 3; i++)
        ADD(0, 1, 32, 4 * Hs[i], Hs[i], 1, "step H=%d 32x4H x H pk", Hs[i]);
    /* one thread's half of a batch of 32 (2 threads): vanilla RNN and LSTM */
    ADD(0, 1, 16, 256, 256, 1, "step RNN H=256 16x256x256 pk");
    ADD(0, 1, 16, 1024, 256, 1, "step H=256 16x1024x256 pk");
    ADD(0, 1, 32, 256, 256, 1, "step RNN H=256 32x256x256 pk");
    ADD(0, 1, 1, 256, 64, 1, "step 1x256x64 pk (LSTM 64)");
    ADD(0, 1, 32, 512, 128, 0, "step 32x512x128 NT unpacked");

    printf("%-30s", "shape (M x N x K, op)");
    for (int b = 0; b < NB; b++)
        if (have[b])
            printf(" %13s", bnames[b]);
    printf("  ratio\n");
    for (int i = 0; i < ns; i++) {
        const shape *s = &shapes[i];
        if (filter && !strstr(s->name, filter))
            continue;
        problem p = {.s = s};
        p.lda = s->ta ? s->M : s->K;
        p.ldb = s->tb ? s->K : s->N;
        p.ldc = s->N;
        p.A = rand_floats((size_t)s->M * s->K);
        p.B = rand_floats((size_t)s->K * s->N);
        p.C = rand_floats((size_t)s->M * s->N);
        p.P = rnn__alloc_floats(rnn__sgemm_pack_size(s->K, s->N));
#ifdef HAVE_LIBXSMM
        {
            /* column-major view: m = N, n = M, k = K; NN only */
            float alpha = 1, beta = 0;
            p.xk = NULL;
            if (!s->ta && !s->tb)
                p.xk = libxsmm_smmdispatch(s->N, s->M, s->K, NULL, NULL, NULL,
                                           &alpha, &beta, NULL, NULL);
            else if (s->packed || (!s->ta && s->tb)) {
                /* the per-step product with W stored K x N (pre-transposed,
                 * as libxsmm users do): a plain NN call */
                p.xk = libxsmm_smmdispatch(s->N, s->M, s->K, NULL, NULL, NULL,
                                           &alpha, &beta, NULL, NULL);
            }
        }
#endif
        double big = 2.0 * s->M * s->N * s->K;
        printf("%-30s", s->name);
        fflush(stdout);
        result ours = {0, 0}, ob = {0, 0};
        for (int b = 0; b < NB; b++) {
            if (!have[b])
                continue;
            int reps = quick ? 3 : (b == B_PORTABLE && big > 4e9 ? 3 : 7);
            double min_time = quick ? 0.005 : 0.02;
            result r = measure(b, &p, reps, min_time);
            if (r.median == 0)
                printf(" %13s", "-");
            else
                printf(" %6.1f/%6.1f", r.median, r.best);
            fflush(stdout);
            if (b == B_OPENBLAS)
                ob = r;
            if (b <= B_PORTABLE && ours.median == 0)
                ours = r;
        }
        unsetenv("RNN_GEMM");
        if (ob.median > 0 && ours.median > 0)
            printf("  %5.2fx", ours.median / ob.median);
        if (peak > 0 && have[B_AVX512] && ours.median > 0)
            printf("  (%.0f%% of peak)", 100 * ours.median / peak);
        printf("\n");
        rnn__free_floats(p.A);
        rnn__free_floats(p.B);
        rnn__free_floats(p.C);
        rnn__free_floats(p.P);
    }
    /* the per-step latency in microseconds, the number that matters there */
    printf("\nper-step latency, M=1 N=256 K=64 (LSTM 64->64, batch 1):\n");
    for (int b = 0; b < NB; b++) {
        if (!have[b])
            continue;
        const shape *s = &shapes[ns - 2];
        problem p = {.s = s, .lda = s->K, .ldb = s->K, .ldc = s->N};
        p.A = rand_floats((size_t)s->M * s->K);
        p.B = rand_floats((size_t)s->K * s->N);
        p.C = rand_floats((size_t)s->M * s->N);
        p.P = rnn__alloc_floats(rnn__sgemm_pack_size(s->K, s->N));
#ifdef HAVE_LIBXSMM
        float alpha = 1, beta = 0;
        p.xk = libxsmm_smmdispatch(s->N, s->M, s->K, NULL, NULL, NULL, &alpha,
                                   &beta, NULL, NULL);
#endif
        result r = measure(b, &p, 7, 0.02);
        if (r.median > 0)
            printf("  %-9s %.3f us median, %.3f us best\n", bnames[b],
                   2.0 * s->M * s->N * s->K / r.median * 1e-3,
                   2.0 * s->M * s->N * s->K / r.best * 1e-3);
        rnn__free_floats(p.A);
        rnn__free_floats(p.B);
        rnn__free_floats(p.C);
        rnn__free_floats(p.P);
    }
    unsetenv("RNN_GEMM");
    return 0;
}
