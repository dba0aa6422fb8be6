/*
 * omp_regions.c -- an LD_PRELOAD shim that times every OpenMP parallel
 * region of a process by the function GCC outlined it into, for
 * bench/regions.py (`make bench-regions`). Not part of the library.
 *
 * GCC compiles `#pragma omp parallel` (with or without a static `for`)
 * into a call of libgomp's GOMP_parallel(fn, data, nthreads, flags), also
 * when an `if` clause makes the team one thread. This wraps it and keeps
 * the wall time of every call; at exit it writes them, in call order, to
 * the file named by RNN_REGIONS_OUT (stderr when unset), one line per
 * outlined function:
 *
 *     <offset of fn in its object, hex> <object path> <seconds of each call...>
 *
 * The offset is symbolized afterwards (addr2line), as the outlined
 * functions are local symbols dladdr cannot name. Regions are started by
 * one thread at a time in rnn (none is nested in another).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define MAX_REGIONS 256
#define MAX_CALLS (1 << 20) /* per region: 8 MB of times at most */

typedef void (*gomp_parallel_fn)(void (*)(void *), void *, unsigned, unsigned);

static struct {
    void *fn;
    long calls;
    double *seconds; /* each call's */
} regions[MAX_REGIONS];
static int nregions, overflow;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void GOMP_parallel(void (*fn)(void *), void *data, unsigned nthreads, unsigned flags);
void GOMP_parallel(void (*fn)(void *), void *data, unsigned nthreads, unsigned flags)
{
    static gomp_parallel_fn real;
    if (!real) {
        *(void **)&real = dlsym(RTLD_NEXT, "GOMP_parallel");
        if (!real) {
            fprintf(stderr, "omp_regions: GOMP_parallel not found (is the program OpenMP?)\n");
            abort();
        }
    }
    double t0 = now();
    real(fn, data, nthreads, flags);
    double dt = now() - t0;
    int i = 0;
    while (i < nregions && regions[i].fn != (void *)fn)
        i++;
    if (i == nregions) {
        double *sec = nregions < MAX_REGIONS ? malloc(MAX_CALLS * sizeof *sec) : NULL;
        if (!sec) {
            overflow = 1;
            return;
        }
        regions[nregions].fn = (void *)fn;
        regions[nregions++].seconds = sec;
    }
    if (regions[i].calls == MAX_CALLS) {
        overflow = 1;
        return;
    }
    regions[i].seconds[regions[i].calls++] = dt;
}

__attribute__((destructor)) static void omp_regions_report(void)
{
    const char *path = getenv("RNN_REGIONS_OUT");
    FILE *f = path ? fopen(path, "w") : stderr;
    if (!f) {
        fprintf(stderr, "omp_regions: cannot write %s\n", path);
        return;
    }
    for (int i = 0; i < nregions; i++) {
        Dl_info info;
        if (!dladdr(regions[i].fn, &info) || !info.dli_fname)
            continue;
        fprintf(f, "%lx %s", (unsigned long)((uintptr_t)regions[i].fn - (uintptr_t)info.dli_fbase),
                info.dli_fname);
        for (long c = 0; c < regions[i].calls; c++)
            fprintf(f, " %.9f", regions[i].seconds[c]);
        fputc('\n', f);
    }
    if (overflow)
        fprintf(f, "# more than %d regions or %d calls of one: the rest were not timed\n",
                MAX_REGIONS, MAX_CALLS);
    if (f != stderr)
        fclose(f);
}
