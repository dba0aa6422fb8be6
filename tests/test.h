/*
 * test.h -- the unit-test harness. Each tests/test_*.c defines one or more
 * suites `void suite_NAME(void)` (listed in tests/main.c) that call
 * RUN(test_fn). A test fails if any CHECK in it fails.
 */
#ifndef RNN_TEST_H
#define RNN_TEST_H

#include <stddef.h>
#include <stdio.h>

void t_run(const char *name, void (*fn)(void));
void t_fail_at(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Directory of the committed fixtures (tests/fixtures, or $RNN_FIXTURES). */
const char *t_fixture_dir(void);
/* Path of a fixture file; the returned buffer is valid until the next call. */
const char *t_fixture(const char *name);
/* A fresh temporary directory for this test run (removed at exit). */
const char *t_tmpdir(void);

#define RUN(fn) t_run(#fn, fn)
#define CHECK(cond)                                                    \
    do {                                                               \
        if (!(cond))                                                   \
            t_fail_at(__FILE__, __LINE__, "CHECK failed: %s", #cond);  \
    } while (0)
#define CHECK_MSG(cond, ...)                                           \
    do {                                                               \
        if (!(cond))                                                   \
            t_fail_at(__FILE__, __LINE__, __VA_ARGS__);                \
    } while (0)
/* Asserts a call returned RNN_OK; prints the status otherwise. */
#define CHECK_OK(expr)                                                         \
    do {                                                                       \
        int st_ = (int)(expr);                                                 \
        if (st_ != 0)                                                          \
            t_fail_at(__FILE__, __LINE__, "%s returned status %d", #expr, st_); \
    } while (0)
#define CHECK_NEAR(a, b, tol)                                                  \
    do {                                                                       \
        double a_ = (a), b_ = (b);                                             \
        if (!(a_ - b_ <= (tol) && b_ - a_ <= (tol)))                           \
            t_fail_at(__FILE__, __LINE__, "%s = %.9g, expected %.9g (tol %g)", \
                      #a, a_, b_, (double)(tol));                              \
    } while (0)

/* |a-b| <= atol + rtol*|b| elementwise; on failure prints the worst element
 * (index, both values) under `what` and returns 0. */
int t_allclose(const char *what, const float *a, const float *b, size_t n,
               double atol, double rtol);
int t_allclose_d(const char *what, const double *a, const double *b, size_t n,
                 double atol, double rtol);

#endif
