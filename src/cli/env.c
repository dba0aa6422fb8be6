/*
 * env.c -- the environment variables the library reads (RNN_GEMM,
 * RNN_KERNELS), checked once when the command starts. The library cannot
 * complain about them (it never prints) and falls back to the best kernels
 * for an unknown value; the command can, so that a typo such as
 * RNN_GEMM=avx215 is one clear line instead of a silently different run.
 */
#include "cli/cli.h"

#include <stdlib.h>
#include <string.h>

static int one_of(const char *v, const char *const *names)
{
    for (; *names; names++)
        if (strcmp(v, *names) == 0)
            return 1;
    return 0;
}

int cli_check_env(void)
{
    static const char *const gemm[] = {"avx512", "avx2", "portable", "blas", "openblas", "onednn", "dnnl", "libxsmm", "xsmm", NULL};
    static const char *const kernels[] = {"avx512", "avx2", "portable", NULL};
    const char *g = getenv("RNN_GEMM"), *k = getenv("RNN_KERNELS");
    if (g && *g && !one_of(g, gemm))
        return cli_error(NULL, CLI_EXIT_INPUT,
                         "environment: RNN_GEMM=%.40s: expected avx512, avx2, portable, blas, onednn or libxsmm", g);
    if (k && *k && !one_of(k, kernels))
        return cli_error(NULL, CLI_EXIT_INPUT,
                         "environment: RNN_KERNELS=%.40s: expected avx512, avx2 or portable", k);
    return 0;
}
