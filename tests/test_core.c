/* test_core.c -- GEMM backends, activation accuracy, RNG, size checks. */
#include "test.h"

#include "core/core.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void fill(float *a, size_t n, rnn__rng *r)
{
    for (size_t i = 0; i < n; i++)
        a[i] = rnn__rng_float(r) * 2 - 1;
}

/* Naive triple loop in double as the reference for every transpose case. */
static void ref_gemm(int ta, int tb, int M, int N, int K, double alpha,
                     const float *A, int lda, const float *B, int ldb,
                     double beta, double *C, int ldc)
{
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double s = 0;
            for (int k = 0; k < K; k++)
                s += (double)(ta ? A[k * lda + i] : A[i * lda + k]) *
                     (double)(tb ? B[j * ldb + k] : B[k * ldb + j]);
            C[i * ldc + j] = alpha * s + beta * C[i * ldc + j];
        }
}

static void test_gemm_all_cases(void)
{
    rnn__rng r;
    rnn__rng_seed(&r, 1);
    int M = 7, N = 13, K = 5;
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++)
            for (int which = 0; which < 2; which++) {
                /* leading dimensions larger than needed, to test strides */
                int lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 2, ldc = N + 1;
                float A[(7 + 3) * 13 + 64], B[(13 + 2) * 7 + 64], C[7 * 14 + 64];
                double Cref[7 * 14 + 64];
                fill(A, sizeof A / sizeof *A, &r);
                fill(B, sizeof B / sizeof *B, &r);
                fill(C, sizeof C / sizeof *C, &r);
                for (size_t i = 0; i < sizeof C / sizeof *C; i++)
                    Cref[i] = C[i];
                ref_gemm(ta, tb, M, N, K, 0.5, A, lda, B, ldb, 0.25, Cref, ldc);
                if (which)
                    rnn__sgemm(ta, tb, M, N, K, 0.5f, A, lda, B, ldb, 0.25f, C, ldc);
                else
                    rnn__sgemm_portable(ta, tb, M, N, K, 0.5f, A, lda, B, ldb, 0.25f, C, ldc);
                float Cf[7 * 14 + 64];
                for (size_t i = 0; i < sizeof C / sizeof *C; i++)
                    Cf[i] = (float)Cref[i];
                char what[64];
                snprintf(what, sizeof what, "%s gemm ta=%d tb=%d",
                         which ? rnn__gemm_backend() : "portable", ta, tb);
                t_allclose(what, C, Cf, sizeof C / sizeof *C, 1e-6, 1e-5);
            }
}

static void test_gemm_beta_zero_ignores_nan(void)
{
    float A[4] = {1, 2, 3, 4}, B[4] = {1, 0, 0, 1}, C[4] = {NAN, NAN, NAN, NAN};
    rnn__sgemm(0, 0, 2, 2, 2, 1, A, 2, B, 2, 0, C, 2);
    for (int i = 0; i < 4; i++)
        CHECK(C[i] == A[i]);
    double Ad[4] = {1, 2, 3, 4}, Bd[4] = {1, 0, 0, 1}, Cd[4] = {NAN, NAN, NAN, NAN};
    rnn__dgemm_portable(0, 0, 2, 2, 2, 1, Ad, 2, Bd, 2, 0, Cd, 2);
    for (int i = 0; i < 4; i++)
        CHECK(Cd[i] == Ad[i]);
}

static void test_activation_accuracy(void)
{
    /* dense sweep plus the extremes: |error| < 1e-6 absolute */
    double worst_s = 0, worst_t = 0, worst_e = 0;
    for (int i = -2000000; i <= 2000000; i++) {
        float x = (float)i * 1e-5f;
        double s = 1.0 / (1.0 + exp(-(double)x)), t = tanh((double)x);
        double es = fabs(rnn__sigmoidf(x) - s), et = fabs(rnn__tanhf(x) - t);
        if (es > worst_s) worst_s = es;
        if (et > worst_t) worst_t = et;
        if (x > -80 && x < 80) {
            double e = fabs(rnn__expf(x) - exp((double)x)) / exp((double)x);
            if (e > worst_e) worst_e = e;
        }
    }
    CHECK_MSG(worst_s < 1e-6, "sigmoid max abs error %g", worst_s);
    CHECK_MSG(worst_t < 1e-6, "tanh max abs error %g", worst_t);
    CHECK_MSG(worst_e < 5e-7, "exp max rel error %g", worst_e);
    /* small arguments keep relative accuracy (tanh x ~ x) */
    CHECK(fabs(rnn__tanhf(1e-5f) - 1e-5f) < 1e-11);
    float big[] = {-1e30f, -100, -88, 88, 100, 1e30f, INFINITY, -INFINITY};
    for (size_t i = 0; i < sizeof big / sizeof *big; i++) {
        float x = big[i];
        float s = rnn__sigmoidf(x), t = rnn__tanhf(x);
        CHECK_MSG(s >= 0 && s <= 1, "sigmoid(%g) = %g", x, s);
        CHECK_MSG(fabs(t - tanh(x)) < 1e-6, "tanh(%g) = %g", x, t);
    }
    CHECK(isnan(rnn__sigmoidf(NAN)));
    CHECK(isnan(rnn__tanhf(NAN)));
    float xs[5] = {-3, -0.5f, 0, 0.5f, 3}, ys[5];
    rnn__vtanh(ys, xs, 5);
    for (int i = 0; i < 5; i++)
        CHECK_NEAR(ys[i], tanh(xs[i]), 1e-6);
    rnn__vsigmoid(ys, xs, 5);
    for (int i = 0; i < 5; i++)
        CHECK_NEAR(ys[i], 1 / (1 + exp(-xs[i])), 1e-6);
}

static void test_rng(void)
{
    rnn__rng a, b;
    rnn__rng_seed(&a, 42);
    rnn__rng_seed(&b, 42);
    for (int i = 0; i < 100; i++)
        CHECK(rnn__rng_u64(&a) == rnn__rng_u64(&b));
    rnn__rng_seed(&b, 43);
    CHECK(rnn__rng_u64(&a) != rnn__rng_u64(&b));
    double sum = 0, sum2 = 0;
    int n = 200000, below[10] = {0};
    for (int i = 0; i < n; i++) {
        float u = rnn__rng_float(&a);
        CHECK(u >= 0 && u < 1);
        double z = rnn__rng_normal(&a);
        sum += z;
        sum2 += z * z;
        below[rnn__rng_below(&a, 10)]++;
    }
    CHECK_NEAR(sum / n, 0, 0.01);
    CHECK_NEAR(sum2 / n, 1, 0.02);
    for (int k = 0; k < 10; k++)
        CHECK_NEAR(below[k] / (double)n, 0.1, 0.005);
}

static void test_sizes(void)
{
    size_t out;
    CHECK(rnn__mul(&out, 3, 4) && out == 12);
    CHECK(!rnn__mul(&out, SIZE_MAX / 2, 3));
    CHECK(rnn__add(&out, 1, 2) && out == 3);
    CHECK(!rnn__add(&out, SIZE_MAX, 1));
    CHECK(!rnn__mul4(&out, 1u << 20, 1u << 20, 1u << 20, 1u << 20));
    CHECK(rnn__alloc_floats(SIZE_MAX / 2) == NULL);
    float *p = rnn__alloc_floats(3);
    CHECK(p && ((uintptr_t)p & 63) == 0 && p[0] == 0 && p[2] == 0);
    rnn__free_floats(p);
}

static void test_status_strings(void)
{
    CHECK(strcmp(rnn_strerror(RNN_OK), "success") == 0);
    CHECK(strcmp(rnn_status_name(RNN_ENOMEM), "RNN_ENOMEM") == 0);
    CHECK(strcmp(rnn_strerror((rnn_status)999), "unknown status") == 0);
    rnn_error e;
    rnn__fail(&e, RNN_EFORMAT, "line %d\nmore", 3);
    CHECK(e.status == RNN_EFORMAT && strcmp(e.msg, "line 3 more") == 0);
    rnn__error_prefix(&e, "file.txt");
    CHECK(strcmp(e.msg, "file.txt: line 3 more") == 0);
}

void suite_core(void);
void suite_core(void)
{
    RUN(test_gemm_all_cases);
    RUN(test_gemm_beta_zero_ignores_nan);
    RUN(test_activation_accuracy);
    RUN(test_rng);
    RUN(test_sizes);
    RUN(test_status_strings);
}
