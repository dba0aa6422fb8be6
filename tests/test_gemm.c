/*
 * test_gemm.c -- every SGEMM path this machine and build have (avx512, avx2,
 * portable, and openblas, onednn or libxsmm when linked; forced one after
 * the other with RNN_GEMM) against a
 * double-precision reference: all transpose cases, every size 1..67 in each
 * dimension, large blocked sizes, padded leading dimensions, alpha/beta
 * combinations (beta = 0 over NaN), the packed-B API for the recurrent
 * shapes, and concurrent calls from two threads.
 *
 * Tolerance: a float dot product of K terms computed in any order (blocked,
 * FMA or not) is within gamma_K * sum_k |a_ik b_kj| of the exact one, gamma_K
 * = K u / (1 - K u) ~ K u, u = 2^-24 (Higham, Accuracy and Stability of
 * Numerical Algorithms, 3.1); scaling by alpha and adding beta C add a few u
 * more. So each element is checked against
 *   |c - c_ref| <= 2 (K + 4) u (|alpha| sum_k |a_ik b_kj| + |beta c0_ij|)
 * (a factor 2 of slack) -- a bound that holds whatever the kernel's summation
 * order, yet catches any wrong or missing term (one term of a random
 * product is typically ~1/K of the sum of magnitudes, far above K u of it).
 */
#include "test.h"

#include "core/core.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define U 5.9604644775390625e-08 /* 2^-24 */

typedef struct {
    const char *env;  /* RNN_GEMM value */
    const char *name; /* rnn__gemm_backend() when it is honoured */
    int bitwise;      /* our kernels: the same sums whatever the call's shape */
} path;

static const path paths[] = {
    {"avx512", "avx512", 1},
    {"avx2", "avx2", 1},
    {"portable", "portable", 1},
    {"blas", "openblas", 0},
    {"onednn", "onednn", 0},
    {"libxsmm", "libxsmm", 0},
};
#define NPATHS (int)(sizeof paths / sizeof paths[0])

/* Forces a path; returns 0 (and restores the default) if this machine or
 * build does not have it. */
static int use_path(int p)
{
    setenv("RNN_GEMM", paths[p].env, 1);
    if (strcmp(rnn__gemm_backend(), paths[p].name) != 0) {
        unsetenv("RNN_GEMM");
        return 0;
    }
    return 1;
}

static void fill(float *a, size_t n, rnn__rng *r)
{
    for (size_t i = 0; i < n; i++)
        a[i] = rnn__rng_float(r) * 2 - 1;
}

static float *alloc_rand(size_t n, rnn__rng *r)
{
    float *p = malloc(sizeof(float) * (n ? n : 1));
    fill(p, n, r);
    return p;
}

/* Checks C (M x N, row stride ldc) against the double reference of
 * alpha op(A) op(B) + beta C0, with the bound above; also that the padding
 * columns between N and ldc are untouched (C0 there). Returns 1 if good. */
static int check_gemm(const char *what, int ta, int tb, int M, int N, int K,
                      float alpha, const float *A, int lda, const float *B,
                      int ldb, float beta, const float *C0, const float *C,
                      int ldc)
{
    for (int i = 0; i < M; i++) {
        for (int j = 0; j < ldc; j++) {
            size_t ij = (size_t)i * ldc + j;
            if (j >= N) {
                if (memcmp(&C[ij], &C0[ij], sizeof(float)) != 0) {
                    t_fail_at(__FILE__, __LINE__,
                              "%s ta=%d tb=%d %dx%dx%d: wrote C[%d][%d] past N",
                              what, ta, tb, M, N, K, i, j);
                    return 0;
                }
                continue;
            }
            double s = 0, mag = 0;
            for (int k = 0; k < K; k++) {
                double p = (double)(ta ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k]) *
                           (double)(tb ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j]);
                s += p;
                mag += fabs(p);
            }
            double ref = alpha * s, tol = fabs(alpha) * mag;
            if (beta != 0) {
                ref += (double)beta * C0[ij];
                tol += fabs((double)beta * C0[ij]);
            }
            tol = 2 * (K + 4) * U * tol + 1e-30;
            double got = C[ij];
            if (!(fabs(got - ref) <= tol)) {
                t_fail_at(__FILE__, __LINE__,
                          "%s ta=%d tb=%d %dx%dx%d lda=%d ldb=%d ldc=%d alpha=%g "
                          "beta=%g: C[%d][%d] = %.9g, expected %.9g (tol %.3g)",
                          what, ta, tb, M, N, K, lda, ldb, ldc, alpha, beta, i,
                          j, got, ref, tol);
                return 0;
            }
        }
    }
    return 1;
}

/* One product through rnn__sgemm with random operands, leading dimensions
 * padded by pad_{a,b,c} and C pre-filled (NaN when beta == 0). */
static int run_case(rnn__rng *r, int ta, int tb, int M, int N, int K,
                    int pad_a, int pad_b, int pad_c, float alpha, float beta)
{
    int lda = (ta ? M : K) + pad_a, ldb = (tb ? K : N) + pad_b, ldc = N + pad_c;
    size_t na = (size_t)(ta ? K : M) * lda, nb = (size_t)(tb ? N : K) * ldb;
    size_t nc = (size_t)M * ldc;
    float *A = alloc_rand(na, r), *B = alloc_rand(nb, r);
    float *C0 = alloc_rand(nc, r), *C = malloc(sizeof(float) * (nc ? nc : 1));
    if (beta == 0)
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++)
                C0[(size_t)i * ldc + j] = NAN;
    memcpy(C, C0, sizeof(float) * nc);
    rnn__sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    int ok = check_gemm(rnn__gemm_backend(), ta, tb, M, N, K, alpha, A, lda, B,
                        ldb, beta, C0, C, ldc);
    free(A);
    free(B);
    free(C0);
    free(C);
    return ok;
}

static const float alphas[] = {1.0f, -0.75f, 2.0f};
static const float betas[] = {0.0f, 1.0f, 0.5f, -1.5f};

/* Every size 1..67 in each dimension (the other two random in 1..67), every
 * transpose case, random paddings and alpha/beta. 67 > 64 crosses the
 * skinny/packed-A threshold, and covers all tile remainders. */
static void test_gemm_small_sizes(void)
{
    for (int p = 0; p < NPATHS; p++) {
        if (!use_path(p))
            continue;
        rnn__rng r;
        rnn__rng_seed(&r, 100 + (uint64_t)p);
        int bad = 0;
        for (int t = 0; t < 4 && bad < 3; t++)
            for (int dim = 0; dim < 3 && bad < 3; dim++)
                for (int s = 1; s <= 67 && bad < 3; s++) {
                    int d[3];
                    for (int q = 0; q < 3; q++)
                        d[q] = 1 + (int)rnn__rng_below(&r, 67);
                    d[dim] = s;
                    int pads[3];
                    for (int q = 0; q < 3; q++)
                        pads[q] = rnn__rng_below(&r, 3) ? 0 : (int)rnn__rng_below(&r, 9);
                    float alpha = alphas[rnn__rng_below(&r, 3)];
                    float beta = betas[rnn__rng_below(&r, 4)];
                    bad += !run_case(&r, t >> 1, t & 1, d[0], d[1], d[2], pads[0],
                                     pads[1], pads[2], alpha, beta);
                }
    }
    unsetenv("RNN_GEMM");
}

/* Sizes that cross every cache block: K > KC (512) slices, M > MC (240)
 * row blocks, N > NC (4096) column blocks, and skinny products whose
 * transposed B is packed a stack buffer at a time. */
static void test_gemm_large_sizes(void)
{
    static const int shapes[][3] = {
        {300, 500, 700}, /* M, N, K */
        {65, 4100, 3},
        {33, 300, 600},
        {1, 1000, 1100},
        {3, 129, 513},
        {250, 31, 1030},
    };
    for (int p = 0; p < NPATHS; p++) {
        if (!use_path(p))
            continue;
        rnn__rng r;
        rnn__rng_seed(&r, 200 + (uint64_t)p);
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
            for (int t = 0; t < 4; t++)
                run_case(&r, t >> 1, t & 1, shapes[s][0], shapes[s][1],
                         shapes[s][2], (int)s % 2 * 5, (int)s % 3, (int)s % 2 * 3,
                         alphas[s % 3], betas[(s + (size_t)t) % 4]);
    }
    unsetenv("RNN_GEMM");
}

/* K == 0: C = beta C; alpha == 0: A and B not read (NaN there); M or N == 0:
 * nothing touched. */
static void test_gemm_degenerate(void)
{
    for (int p = 0; p < NPATHS; p++) {
        if (!use_path(p))
            continue;
        float A[6] = {NAN, NAN, NAN, NAN, NAN, NAN}, B[6] = {NAN, NAN, NAN, NAN, NAN, NAN};
        float C[6] = {1, 2, 3, 4, 5, 6};
        rnn__sgemm(0, 0, 2, 3, 0, 1, A, 1, B, 3, 2, C, 3);
        for (int i = 0; i < 6; i++)
            CHECK(C[i] == 2.0f * (float)(i + 1));
        rnn__sgemm(1, 1, 2, 3, 2, 0, A, 2, B, 2, 0.5f, C, 3);
        for (int i = 0; i < 6; i++)
            CHECK(C[i] == (float)(i + 1));
        float Cn[6] = {NAN, NAN, NAN, NAN, NAN, NAN};
        rnn__sgemm(0, 1, 2, 3, 0, 1, A, 1, B, 1, 0, Cn, 3);
        for (int i = 0; i < 6; i++)
            CHECK(Cn[i] == 0.0f);
        rnn__sgemm(0, 0, 0, 3, 2, 1, A, 2, B, 3, 0, Cn, 3);
        rnn__sgemm(0, 0, 2, 0, 2, 1, A, 2, B, 3, 0, Cn, 3);
        for (int i = 0; i < 6; i++)
            CHECK(Cn[i] == 0.0f);
    }
    unsetenv("RNN_GEMM");
}

/* The packed API on the recurrent shapes: M = batch (1 = streaming), N =
 * H, 3H, 4H (gates), K = H, both layouts of W, plus odd sizes. The buffer is
 * allocated with exactly rnn__sgemm_pack_size floats (ASan would catch an
 * overrun). */
static int packed_case(rnn__rng *r, int M, int N, int K, int tb, float alpha,
                       float beta)
{
    int lda = K + (M % 3), ldc = N + (M % 2) * 4, ldb = (tb ? K : N) + 1;
    float *A = alloc_rand((size_t)M * lda, r);
    float *B = alloc_rand((size_t)(tb ? N : K) * ldb, r);
    float *C0 = alloc_rand((size_t)M * ldc, r), *C = malloc(sizeof(float) * (size_t)M * ldc);
    size_t np = rnn__sgemm_pack_size(K, N);
    CHECK(np >= (size_t)K * N);
    float *P = malloc(sizeof(float) * np);
    rnn__sgemm_pack_b(P, tb, K, N, B, ldb);
    if (beta == 0)
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++)
                C0[(size_t)i * ldc + j] = NAN;
    memcpy(C, C0, sizeof(float) * (size_t)M * ldc);
    rnn__sgemm_packed(M, N, K, alpha, A, lda, P, beta, C, ldc);
    char what[64];
    snprintf(what, sizeof what, "packed %s", rnn__gemm_backend());
    int ok = check_gemm(what, 0, tb, M, N, K, alpha, A, lda, B, ldb, beta, C0, C, ldc);
    free(A);
    free(B);
    free(C0);
    free(C);
    free(P);
    return ok;
}

static void test_gemm_packed(void)
{
    static const int Ms[] = {1, 2, 3, 4, 5, 8, 13, 32, 64, 65};
    static const int Hs[] = {32, 64, 100, 128};
    for (int p = 0; p < NPATHS; p++) {
        if (!use_path(p))
            continue;
        rnn__rng r;
        rnn__rng_seed(&r, 300 + (uint64_t)p);
        int bad = 0;
        for (size_t h = 0; h < sizeof Hs / sizeof Hs[0]; h++)
            for (int g = 1; g <= 4; g++) {
                if (g == 2)
                    continue;
                for (size_t m = 0; m < sizeof Ms / sizeof Ms[0] && bad < 3; m++)
                    bad += !packed_case(&r, Ms[m], g * Hs[h], Hs[h], (int)(m + h) % 2,
                                        alphas[m % 3], betas[(m + h) % 4]);
            }
        /* odd shapes, K past a cache block, and the streaming LSTM 64 -> 64 */
        packed_case(&r, 1, 256, 64, 1, 1, 1);
        packed_case(&r, 1, 256, 64, 0, 1, 0);
        packed_case(&r, 7, 17, 3, 1, 1, 0.5f);
        packed_case(&r, 1, 1, 1, 0, 1, 0);
        packed_case(&r, 40, 1100, 530, 1, -1, 1);
        packed_case(&r, 3, 70, 1030, 0, 1, 0);
    }
    unsetenv("RNN_GEMM");
}

/* A buffer packed under one path is used by that path even if RNN_GEMM
 * changes before the product (the buffer records it). */
static void test_gemm_packed_switch(void)
{
    rnn__rng r;
    rnn__rng_seed(&r, 7);
    int M = 5, N = 96, K = 40;
    float *A = alloc_rand((size_t)M * K, &r), *B = alloc_rand((size_t)K * N, &r);
    float *C = malloc(sizeof(float) * (size_t)M * N), *C0 = calloc((size_t)M * N, sizeof(float));
    float *P = malloc(sizeof(float) * rnn__sgemm_pack_size(K, N));
    for (int p = 0; p < NPATHS; p++) {
        if (!use_path(p))
            continue;
        rnn__sgemm_pack_b(P, 0, K, N, B, N);
        for (int q = 0; q < NPATHS; q++) {
            setenv("RNN_GEMM", paths[q].env, 1);
            memset(C, 0, sizeof(float) * (size_t)M * N);
            rnn__sgemm_packed(M, N, K, 1, A, K, P, 0, C, N);
            check_gemm("packed/switch", 0, 0, M, N, K, 1, A, K, B, N, 0, C0, C, N);
        }
    }
    unsetenv("RNN_GEMM");
    free(A);
    free(B);
    free(C);
    free(C0);
    free(P);
}

/* rnn__sgemm_pack_b_part: the parts, packed in any order into one buffer,
 * make the buffer rnn__sgemm_pack_b makes, byte for byte, on every path;
 * a part packs only its own panels (a guard value elsewhere survives). */
static void test_gemm_pack_parts(void)
{
    static const int shapes[][2] = {{64, 256}, {256, 64}, {3, 17}, {40, 1}, {33, 100}, {7, 48}};
    rnn__rng r;
    rnn__rng_seed(&r, 11);
    for (int p = 0; p < NPATHS; p++) {
        if (!use_path(p))
            continue;
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
            for (int tb = 0; tb < 2; tb++)
                for (int parts = 1; parts <= 5; parts++) {
                    const int K = shapes[s][0], N = shapes[s][1], ldb = (tb ? K : N) + 3;
                    float *B = alloc_rand((size_t)(tb ? N : K) * ldb, &r);
                    size_t np = rnn__sgemm_pack_size(K, N);
                    float *whole = malloc(sizeof(float) * np), *inparts = malloc(sizeof(float) * np);
                    for (size_t i = 0; i < np; i++)
                        whole[i] = inparts[i] = -7.5f; /* what neither writes stays equal */
                    rnn__sgemm_pack_b(whole, tb, K, N, B, ldb);
                    /* the last part first: the order must not matter */
                    for (int q = parts - 1; q >= 0; q--)
                        rnn__sgemm_pack_b_part(inparts, tb, K, N, B, ldb, q, parts);
                    CHECK_MSG(memcmp(whole, inparts, sizeof(float) * np) == 0,
                              "%s: K %d N %d tb %d in %d parts differs from one pack", paths[p].name,
                              K, N, tb, parts);
                    /* one part alone leaves the other parts' panels alone */
                    if (parts >= 2 && (N + 15) / 16 >= parts) { /* each part has a panel */
                        for (size_t i = 0; i < np; i++)
                            inparts[i] = -7.5f;
                        rnn__sgemm_pack_b_part(inparts, tb, K, N, B, ldb, 1, parts);
                        size_t untouched = 0;
                        for (size_t i = 0; i < np; i++)
                            untouched += inparts[i] == -7.5f;
                        CHECK_MSG(untouched > 0 && untouched < np,
                                  "%s: part 1 of %d (K %d N %d) wrote %zu of %zu floats",
                                  paths[p].name, parts, K, N, np - untouched, np);
                    }
                    free(B);
                    free(whole);
                    free(inparts);
                }
    }
    unsetenv("RNN_GEMM");
}

/* ---- two threads on disjoint blocks of C ------------------------------- */

typedef struct {
    int M, N, K;
    const float *A, *B, *P;
    float *C;
    int rows0, rows1; /* this thread's rows of C */
    int packed;
} job;

static void *run_job(void *arg)
{
    const job *j = arg;
    for (int rep = 0; rep < 3; rep++) {
        /* a large product (malloc'ed packing buffers), a skinny one (stack
         * buffer), and the packed product, each on this thread's rows */
        int m = j->rows1 - j->rows0;
        const float *a = j->A + (size_t)j->rows0 * j->K;
        float *c = j->C + (size_t)j->rows0 * j->N;
        if (j->packed)
            rnn__sgemm_packed(m, j->N, j->K, 1, a, j->K, j->P, 0, c, j->N);
        else
            rnn__sgemm(0, 1, m, j->N, j->K, 1, a, j->K, j->B, j->K, 0, c, j->N);
    }
    return NULL;
}

static void test_gemm_threads(void)
{
    static const int shapes[][3] = {{400, 300, 600}, {40, 512, 128}};
    for (int p = 0; p < NPATHS; p++) {
        if (!use_path(p))
            continue;
        rnn__rng r;
        rnn__rng_seed(&r, 400 + (uint64_t)p);
        for (int s = 0; s < 2; s++)
            for (int packed = 0; packed < 2; packed++) {
                int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
                float *A = alloc_rand((size_t)M * K, &r), *B = alloc_rand((size_t)N * K, &r);
                float *P = malloc(sizeof(float) * rnn__sgemm_pack_size(K, N));
                rnn__sgemm_pack_b(P, 1, K, N, B, K);
                float *Cs = malloc(sizeof(float) * (size_t)M * N);
                float *Ct = malloc(sizeof(float) * (size_t)M * N);
                job halves[2] = {{M, N, K, A, B, P, Ct, 0, M / 2 + 3, packed},
                                 {M, N, K, A, B, P, Ct, M / 2 + 3, M, packed}};
                pthread_t th[2];
                for (int t = 0; t < 2; t++)
                    CHECK(pthread_create(&th[t], NULL, run_job, &halves[t]) == 0);
                for (int t = 0; t < 2; t++)
                    pthread_join(th[t], NULL);
                /* same blocking per row block, so the same bits: compare the
                 * threaded result with the serial one computed row block by
                 * row block too */
                job ser2[2] = {halves[0], halves[1]};
                ser2[0].C = ser2[1].C = Cs;
                run_job(&ser2[0]);
                run_job(&ser2[1]);
                CHECK_MSG(memcmp(Cs, Ct, sizeof(float) * (size_t)M * N) == 0,
                          "%s %s %dx%dx%d: threaded result differs from serial",
                          rnn__gemm_backend(), packed ? "packed" : "sgemm", M, N, K);
                free(A);
                free(B);
                free(P);
                free(Cs);
                free(Ct);
            }
    }
    unsetenv("RNN_GEMM");
}

/* Our own paths compute every element of C by the same sums in the same
 * order whatever the shape of the call: a product split into row blocks of
 * any height (1-row tiles, the skinny configuration of M <= 64, the blocked
 * one, the packed-B one) gives bitwise the rows of the whole product. The
 * recurrent layers' claim of identical results for every thread count
 * rests on this. (OpenBLAS makes no such promise and is not held to it.) */
static void test_gemm_row_split(void)
{
    static const int cuts[] = {1, 2, 3, 13, 64, 65, 1, 40}; /* then the rest */
    static const int shapes[][3] = {{240, 200, 600}, {240, 37, 300}, {240, 130, 64}};
    for (int p = 0; p < NPATHS; p++) {
        if (!paths[p].bitwise || !use_path(p))
            continue;
        rnn__rng r;
        rnn__rng_seed(&r, 500 + (uint64_t)p);
        for (int s = 0; s < 3; s++)
            for (int mode = 0; mode < 4; mode++) { /* NN, NT, TN, packed */
                const int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
                const int ta = mode == 2, tb = mode == 1;
                float *A = alloc_rand((size_t)M * K, &r), *B = alloc_rand((size_t)N * K, &r);
                float *C0 = alloc_rand((size_t)M * N, &r);
                float *Cw = malloc(sizeof(float) * (size_t)M * N);
                float *Cs = malloc(sizeof(float) * (size_t)M * N);
                float *P = malloc(sizeof(float) * rnn__sgemm_pack_size(K, N));
                rnn__sgemm_pack_b(P, 0, K, N, B, N);
                const int lda = ta ? M : K, ldb = tb ? K : N;
                memcpy(Cw, C0, sizeof(float) * (size_t)M * N);
                memcpy(Cs, C0, sizeof(float) * (size_t)M * N);
                if (mode == 3)
                    rnn__sgemm_packed(M, N, K, 1, A, lda, P, 1, Cw, N);
                else
                    rnn__sgemm(ta, tb, M, N, K, 1, A, lda, B, ldb, 1, Cw, N);
                int i0 = 0;
                for (size_t c = 0; i0 < M; c++) {
                    int m = c < sizeof cuts / sizeof cuts[0] ? cuts[c] : M - i0;
                    m = m < M - i0 ? m : M - i0;
                    const float *a = ta ? A + i0 : A + (size_t)i0 * K;
                    float *cc = Cs + (size_t)i0 * N;
                    if (mode == 3)
                        rnn__sgemm_packed(m, N, K, 1, a, lda, P, 1, cc, N);
                    else
                        rnn__sgemm(ta, tb, m, N, K, 1, a, lda, B, ldb, 1, cc, N);
                    i0 += m;
                }
                CHECK_MSG(memcmp(Cw, Cs, sizeof(float) * (size_t)M * N) == 0,
                          "%s mode %d %dx%dx%d: rows computed in blocks differ from the whole",
                          rnn__gemm_backend(), mode, M, N, K);
                free(A);
                free(B);
                free(C0);
                free(Cw);
                free(Cs);
                free(P);
            }
    }
    unsetenv("RNN_GEMM");
}

/* Products over the rows of one block of batch rows of [T][B] data
 * (rnn__sgemm_mrows, rnn__sgemm_krows), on every path. mrows: the block's
 * rows of C are bitwise those of the product over all rows (our kernels),
 * and C's other rows untouched. krows: bitwise the product of the gathered
 * rows (our kernels; the micro-kernel reads the transposed A in place,
 * jumping between groups, also where a K slice starts inside a group).
 * The libraries (gathered copies) within the bound of check_gemm. Shapes:
 * skinny and blocked, groups taller than a row block (M), groups that do
 * not divide the K slice, one-row groups. */
static void test_gemm_grouped_rows(void)
{
    /* T steps, B rows per step, the block b0 .. b0+g-1, N, K (krows: M) */
    static const int cases[][5] = {
        {7, 5, 2, 37, 19},    /* skinny (M = 14) */
        {40, 32, 16, 256, 96}, /* recurrent shape, blocked */
        {100, 11, 7, 33, 70},  /* krows: K = 700, slices of 512 start mid-group */
        {3, 600, 250, 20, 9},  /* groups taller than a row block */
        {90, 4, 1, 65, 12},    /* one-row groups */
        {300, 3, 2, 150, 1},   /* krows: one-row tiles of C, K = 600 */
    };
    for (int p = 0; p < NPATHS; p++) {
        if (!use_path(p))
            continue;
        rnn__rng r;
        rnn__rng_seed(&r, 700 + (uint64_t)p);
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
            for (int b0 = 0; b0 < 2; b0++) {
                const int T = cases[c][0], B = cases[c][1], N = cases[c][3], K = cases[c][4];
                const int g = cases[c][2], lo = b0 ? B - g : 0, rows = T * B, Mg = T * g;
                char what[96];
                /* mrows: C[rows][N] = X[rows][K] op(W) + C, block rows only */
                for (int tb = 0; tb < 2; tb++) {
                    float *X = alloc_rand((size_t)rows * K, &r), *W = alloc_rand((size_t)K * N, &r);
                    float *C0 = alloc_rand((size_t)rows * N, &r);
                    float *Cw = malloc(sizeof(float) * (size_t)rows * N);
                    float *Cg = malloc(sizeof(float) * (size_t)rows * N);
                    memcpy(Cw, C0, sizeof(float) * (size_t)rows * N);
                    memcpy(Cg, C0, sizeof(float) * (size_t)rows * N);
                    const int ldw = tb ? K : N;
                    rnn__sgemm(0, tb, rows, N, K, 0.5f, X, K, W, ldw, 1, Cw, N);
                    rnn__sgemm_mrows(g, B, tb, Mg, N, K, 0.5f, X + (size_t)lo * K, K, W, ldw, 1,
                                     Cg + (size_t)lo * N, N);
                    int same = 1, untouched = 1;
                    for (int t = 0; t < T; t++)
                        for (int b = 0; b < B; b++) {
                            const size_t o = ((size_t)t * B + b) * N;
                            const int in = b >= lo && b < lo + g;
                            const float *want = in ? Cw + o : C0 + o;
                            if (memcmp(Cg + o, want, sizeof(float) * (size_t)N) != 0) {
                                if (in)
                                    same = 0;
                                else
                                    untouched = 0;
                            }
                        }
                    snprintf(what, sizeof what, "%s mrows T %d B %d g %d at %d tb %d",
                             rnn__gemm_backend(), T, B, g, lo, tb);
                    CHECK_MSG(untouched, "%s: rows outside the block changed", what);
                    if (paths[p].bitwise)
                        CHECK_MSG(same, "%s: differs from the product over all rows", what);
                    else
                        for (int t = 0; t < T; t++)
                            CHECK(check_gemm(what, 0, tb, g, N, K, 0.5f,
                                             X + ((size_t)t * B + lo) * K, K, W, ldw, 1,
                                             C0 + ((size_t)t * B + lo) * N,
                                             Cg + ((size_t)t * B + lo) * N, N));
                    free(X);
                    free(W);
                    free(C0);
                    free(Cw);
                    free(Cg);
                }
                /* krows: C[M = K][N] += A^T B over the block's rows */
                const int M = K;
                float *A = alloc_rand((size_t)rows * M, &r), *Bm = alloc_rand((size_t)rows * N, &r);
                float *Ag = malloc(sizeof(float) * (size_t)Mg * M);
                float *Bg = malloc(sizeof(float) * (size_t)Mg * N);
                float *C0 = alloc_rand((size_t)M * N, &r);
                float *Cw = malloc(sizeof(float) * (size_t)M * N);
                float *Cg = malloc(sizeof(float) * (size_t)M * N);
                for (int t = 0; t < T; t++)
                    for (int j = 0; j < g; j++) {
                        const size_t src = (size_t)t * B + lo + j, dst = (size_t)t * g + j;
                        memcpy(Ag + dst * M, A + src * M, sizeof(float) * (size_t)M);
                        memcpy(Bg + dst * N, Bm + src * N, sizeof(float) * (size_t)N);
                    }
                memcpy(Cw, C0, sizeof(float) * (size_t)M * N);
                memcpy(Cg, C0, sizeof(float) * (size_t)M * N);
                rnn__sgemm(1, 0, M, N, Mg, 1, Ag, M, Bg, N, 1, Cw, N);
                rnn__sgemm_krows(g, B, M, N, Mg, 1, A + (size_t)lo * M, M, Bm + (size_t)lo * N, N, 1,
                                 Cg, N);
                snprintf(what, sizeof what, "%s krows T %d B %d g %d at %d", rnn__gemm_backend(),
                         T, B, g, lo);
                if (paths[p].bitwise)
                    CHECK_MSG(memcmp(Cw, Cg, sizeof(float) * (size_t)M * N) == 0,
                              "%s: differs from the product of the gathered rows", what);
                else
                    CHECK(check_gemm(what, 1, 0, M, N, Mg, 1, Ag, M, Bg, N, 1, C0, Cg, N));
                free(A);
                free(Bm);
                free(Ag);
                free(Bg);
                free(C0);
                free(Cw);
                free(Cg);
            }
    }
    unsetenv("RNN_GEMM");
}

/* The products that add a bias row (rnn__sgemm_mrows_bias, _packed_bias):
 * on every path bitwise the product (alpha 1, beta 0) followed by a pass
 * adding the bias, which is what the recurrent layers did before the
 * kernels learned to add it as they store a tile. Shapes: tile remainders
 * in M and N (1-row and 2-3-row tiles, masked columns), K past one 512-deep
 * slice (the bias added once, after the last), K = 0, grouped rows, padded
 * C (the padding untouched), rows outside the group untouched. */
static void test_gemm_bias(void)
{
    /* T, B (rows per step), g (the group), N, K */
    static const int cases[][5] = {
        {1, 1, 1, 17, 7},   {1, 2, 2, 64, 33},   {1, 3, 3, 130, 5},  {5, 13, 13, 31, 64},
        {70, 1, 1, 33, 9},  {9, 32, 32, 1024, 256}, {4, 24, 11, 65, 600}, {30, 10, 4, 48, 1},
        {2, 5, 5, 20, 0},   {100, 3, 3, 96, 40}, {3, 7, 7, 40, 700}, /* packed, 2 K slices */
    };
    for (int p = 0; p < NPATHS; p++) {
        if (!use_path(p))
            continue;
        CHECK_MSG(rnn__sgemm_fuses_bias() == paths[p].bitwise, "%s: rnn__sgemm_fuses_bias() = %d",
                  paths[p].name, rnn__sgemm_fuses_bias());
        rnn__rng r;
        rnn__rng_seed(&r, 900 + (uint64_t)p);
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
            for (int tb = 0; tb < 2; tb++) {
                const int T = cases[c][0], B = cases[c][1], g = cases[c][2], N = cases[c][3];
                const int K = cases[c][4], rows = T * B, Mg = T * g, lo = B - g, ldc = N + 3;
                const int ldw = tb ? (K ? K : 1) : N;
                float *X = alloc_rand((size_t)rows * (K ? K : 1), &r);
                float *W = alloc_rand((size_t)(tb ? N : (K ? K : 1)) * ldw, &r);
                float *bias = alloc_rand((size_t)N, &r), *C0 = alloc_rand((size_t)rows * ldc, &r);
                float *want = malloc(sizeof(float) * (size_t)rows * ldc);
                float *got = malloc(sizeof(float) * (size_t)rows * ldc);
                char what[96];
                snprintf(what, sizeof what, "%s bias T %d B %d g %d N %d K %d tb %d",
                         paths[p].name, T, B, g, N, K, tb);
                /* the reference: the product over the group's rows, then the bias */
                memcpy(want, C0, sizeof(float) * (size_t)rows * ldc);
                rnn__sgemm_mrows(g, B, tb, Mg, N, K, 1, X + (size_t)lo * (K ? K : 1), K ? K : 1, W,
                                 ldw, 0, want + (size_t)lo * ldc, ldc);
                for (int t = 0; t < T; t++)
                    for (int b = lo; b < B; b++)
                        for (int j = 0; j < N; j++)
                            want[((size_t)t * B + b) * ldc + j] += bias[j];
                memcpy(got, C0, sizeof(float) * (size_t)rows * ldc);
                rnn__sgemm_mrows_bias(g, B, tb, Mg, N, K, X + (size_t)lo * (K ? K : 1), K ? K : 1, W,
                                      ldw, got + (size_t)lo * ldc, ldc, bias);
                CHECK_MSG(memcmp(got, want, sizeof(float) * (size_t)rows * ldc) == 0,
                          "%s: mrows_bias differs from the product plus the bias", what);
                /* packed B, contiguous rows (the frozen weights' input product) */
                if (g == B && K > 0) {
                    float *P = rnn__alloc_floats(rnn__sgemm_pack_size(K, N));
                    rnn__sgemm_pack_b(P, tb, K, N, W, ldw);
                    memcpy(want, C0, sizeof(float) * (size_t)rows * ldc);
                    rnn__sgemm_packed(rows, N, K, 1, X, K, P, 0, want, ldc);
                    for (int i = 0; i < rows; i++)
                        for (int j = 0; j < N; j++)
                            want[(size_t)i * ldc + j] += bias[j];
                    memcpy(got, C0, sizeof(float) * (size_t)rows * ldc);
                    rnn__sgemm_packed_bias(rows, N, K, X, K, P, got, ldc, bias);
                    CHECK_MSG(memcmp(got, want, sizeof(float) * (size_t)rows * ldc) == 0,
                              "%s: packed_bias differs from the product plus the bias", what);
                    rnn__free_floats(P);
                }
                free(X);
                free(W);
                free(bias);
                free(C0);
                free(want);
                free(got);
            }
    }
    unsetenv("RNN_GEMM");
}

/* The backend names and the fallback for an unknown request. */
static void test_gemm_backend_names(void)
{
    unsetenv("RNN_GEMM");
    const char *def = rnn__gemm_backend();
    int known = 0;
    for (int p = 0; p < NPATHS; p++)
        known |= strcmp(def, paths[p].name) == 0;
    CHECK(known);
    setenv("RNN_GEMM", "no-such-kernel", 1);
    CHECK(strcmp(rnn__gemm_backend(), def) == 0);
    setenv("RNN_GEMM", "portable", 1);
    CHECK(strcmp(rnn__gemm_backend(), "portable") == 0);
    unsetenv("RNN_GEMM");
    int n = 0;
    for (int p = 0; p < NPATHS; p++)
        if (use_path(p)) {
            printf("  gemm path available: %s\n", paths[p].name);
            /* rnn__gemm_bitwise names our kernels, not the libraries */
            CHECK_MSG(rnn__gemm_bitwise() == paths[p].bitwise, "%s: rnn__gemm_bitwise() = %d",
                      paths[p].name, rnn__gemm_bitwise());
            n++;
        }
    unsetenv("RNN_GEMM");
    CHECK(n >= 1);
}

void suite_gemm(void);
void suite_gemm(void)
{
    RUN(test_gemm_backend_names);
    RUN(test_gemm_degenerate);
    RUN(test_gemm_small_sizes);
    RUN(test_gemm_large_sizes);
    RUN(test_gemm_packed);
    RUN(test_gemm_packed_switch);
    RUN(test_gemm_pack_parts);
    RUN(test_gemm_threads);
    RUN(test_gemm_row_split);
    RUN(test_gemm_grouped_rows);
    RUN(test_gemm_bias);
}
