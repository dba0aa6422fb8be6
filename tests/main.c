/* main.c -- runs every unit-test suite, or those named on the command line,
 * and ends with "N passed, N failed". */
#include "test.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <unistd.h>

#define SUITES(X) \
    X(core)       \
    X(gemm)       \
    X(json)       \
    X(safetensors) \
    X(npy)        \
    X(layers)     \
    X(kernels)    \
    X(gradcheck)  \
    X(stack)      \
    X(fixtures)   \
    X(train)      \
    X(stream)     \
    X(models)     \
    X(cli)        \
    X(optim)      \
    X(statal)     \
    X(seq2seq)    \
    X(memory)     \
    X(faults)     \
    X(classify)   \
    X(csv)        \
    X(forecast)

#define DECLARE(name) void suite_##name(void);
SUITES(DECLARE)

static int passed, failed, current_failed;
static const char *current;

void t_fail_at(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "  FAIL %s (%s:%d): ", current ? current : "?", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    current_failed++;
}

void t_run(const char *name, void (*fn)(void))
{
    current = name;
    current_failed = 0;
    fn();
    if (current_failed) {
        failed++;
        printf("FAIL %s\n", name);
    } else {
        passed++;
        if (getenv("RNN_TEST_VERBOSE"))
            printf("ok   %s\n", name);
    }
    fflush(stdout);
    current = NULL;
}

const char *t_fixture_dir(void)
{
    const char *d = getenv("RNN_FIXTURES");
    return d && *d ? d : "tests/fixtures";
}

const char *t_fixture(const char *name)
{
    static char buf[4096];
    snprintf(buf, sizeof buf, "%s/%s", t_fixture_dir(), name);
    return buf;
}

static char tmpdir[256];

static void remove_tmpdir(void)
{
    if (tmpdir[0]) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0)
            fprintf(stderr, "warning: could not remove %s\n", tmpdir);
    }
}

const char *t_tmpdir(void)
{
    if (!tmpdir[0]) {
        snprintf(tmpdir, sizeof tmpdir, "/tmp/rnn-test-XXXXXX");
        if (!mkdtemp(tmpdir)) {
            perror("mkdtemp");
            exit(1);
        }
        atexit(remove_tmpdir);
    }
    return tmpdir;
}

#define ALLCLOSE(NAME, REAL)                                                    \
    int NAME(const char *what, const REAL *a, const REAL *b, size_t n,          \
             double atol, double rtol)                                          \
    {                                                                           \
        size_t worst = 0, bad = 0;                                              \
        double worst_ratio = -1;                                                \
        for (size_t i = 0; i < n; i++) {                                        \
            double d = fabs((double)a[i] - (double)b[i]);                       \
            double lim = atol + rtol * fabs((double)b[i]);                      \
            double ratio = d <= lim ? (lim > 0 ? d / lim : 0) : INFINITY;    \
            if (d > lim && lim > 0)                                             \
                ratio = d / lim;                                                \
            if (!(d <= lim))                                                    \
                bad++;                                                          \
            if (ratio > worst_ratio) {                                          \
                worst_ratio = ratio;                                            \
                worst = i;                                                      \
            }                                                                   \
        }                                                                       \
        if (bad) {                                                              \
            t_fail_at(__FILE__, __LINE__,                                       \
                      "%s: %zu of %zu elements differ; worst [%zu]: got %.9g, " \
                      "expected %.9g (atol %g, rtol %g)",                       \
                      what, bad, n, worst, (double)a[worst], (double)b[worst],  \
                      atol, rtol);                                              \
            return 0;                                                           \
        }                                                                       \
        return 1;                                                               \
    }

ALLCLOSE(t_allclose, float)
ALLCLOSE(t_allclose_d, double)

int main(int argc, char **argv)
{
    struct { const char *name; void (*fn)(void); } suites[] = {
#define ENTRY(name) {#name, suite_##name},
        SUITES(ENTRY)
    };
    size_t ns = sizeof suites / sizeof suites[0];
    for (size_t i = 0; i < ns; i++) {
        int want = argc < 2;
        for (int a = 1; a < argc; a++)
            if (strcmp(argv[a], suites[i].name) == 0)
                want = 1;
        if (want) {
            printf("-- %s\n", suites[i].name);
            fflush(stdout);
            suites[i].fn();
        }
    }
    printf("unit: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
