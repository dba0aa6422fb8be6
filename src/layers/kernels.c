/* kernels.c -- picks the pointwise kernels for this CPU (see kernels.h). */
#include "layers/kernels.h"

#include <stdlib.h>
#include <string.h>

extern const rnn__kernels rnn__kernels_portable;
#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
extern const rnn__kernels rnn__kernels_avx2, rnn__kernels_avx512;
#endif

int rnn__cpu_has_f16c(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    /* cpuid: clang 14's __builtin_cpu_supports does not know "f16c" */
    unsigned a, b, c, d;
    return __get_cpuid(1, &a, &b, &c, &d) && (c & bit_F16C);
#else
    return 0;
#endif
}

const rnn__kernels *rnn__kernels_by_name(const char *name)
{
    if (strcmp(name, "portable") == 0)
        return &rnn__kernels_portable;
#if defined(__x86_64__) && defined(__GNUC__)
    if (strcmp(name, "avx2") == 0 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return &rnn__kernels_avx2;
    if (strcmp(name, "avx512") == 0 && __builtin_cpu_supports("avx512f") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512bw"))
        return &rnn__kernels_avx512;
#endif
    return NULL;
}

const rnn__kernels *rnn__kernels_get(void)
{
    /* called once per layer call, not per step: the getenv is cheap enough */
    const char *force = getenv("RNN_KERNELS");
    const rnn__kernels *k = force && *force ? rnn__kernels_by_name(force) : NULL;
    if (k)
        return k;
    if ((k = rnn__kernels_by_name("avx512")))
        return k;
    if ((k = rnn__kernels_by_name("avx2")))
        return k;
    return &rnn__kernels_portable;
}
