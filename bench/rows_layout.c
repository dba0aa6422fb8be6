/*
 * rows_layout.c -- what the memory layout of a recurrent layer's per-step
 * buffers costs two threads (`make bench-layout`, then
 * build/bench/rows_layout [--hidden H] [--gates G] [--batch B] [--steps T]).
 *
 * The time loop of a layer, stripped to its memory traffic: every step each
 * thread multiplies its batch rows of the previous state by W_hh (packed
 * once, rnn__sgemm_packed, accumulating onto the step's gate rows) and
 * copies the first H columns of each gate row into the next state. The two
 * threads split the batch as the layers do. Only where the rows live
 * changes:
 *   interleaved  [T][B][.] in one buffer, as the layers keep them: each
 *                step's rows of the two threads side by side
 *   gap          the same with 64 KB between the two threads' rows of a step
 *   blocked      [thread][T][B/2][.] in one buffer: each thread's rows of
 *                every step contiguous
 *   separate     the same, one allocation per thread
 * and, for scale, one thread alone running half the batch in the
 * interleaved layout. Prints microseconds per step, the median of 101
 * repetitions of the whole loop. Wall times on a shared machine: noisy.
 */
#include "core/core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct {
    int T, H, GH, rows; /* rows per thread */
    const float *pack;
    float *g[2], *h[2];  /* thread k's rows of step 0 */
    size_t gstep, hstep; /* floats from one step's rows to the next's */
} loop;

static void step_rows(const loop *L, int k)
{
    for (int t = 0; t < L->T; t++) {
        float *g = L->g[k] + (size_t)t * L->gstep;
        const float *hp = L->h[k] + (size_t)t * L->hstep;
        float *ho = L->h[k] + (size_t)(t + 1) * L->hstep;
        rnn__sgemm_packed(L->rows, L->GH, L->H, 1.0f, hp, L->H, L->pack, 1.0f, g, L->GH);
        for (int r = 0; r < L->rows; r++)
            memcpy(ho + (size_t)r * L->H, g + (size_t)r * L->GH, sizeof(float) * (size_t)L->H);
    }
}

static double run(const loop *L, int nthreads)
{
    double t0 = now();
    (void)nthreads;
#pragma omp parallel num_threads(nthreads) if (nthreads > 1)
    {
#ifdef _OPENMP
        step_rows(L, omp_get_thread_num());
#else
        step_rows(L, 0);
#endif
    }
    return (now() - t0) / L->T * 1e6;
}

static void fill(float *p, size_t n, float v)
{
    for (size_t i = 0; i < n; i++)
        p[i] = v;
}

int main(int argc, char **argv)
{
    int H = 256, G = 1, B = 32, T = 64;
    for (int i = 1; i < argc; i += 2) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: rows_layout [--hidden H] [--gates G] [--batch B] [--steps T]\n"
                   "A recurrent layer's per-step loop at 2 threads with the threads' rows in\n"
                   "each memory layout; microseconds per step (see the top of rows_layout.c).\n"
                   "Defaults: --hidden 256 --gates 1 --batch 32 --steps 64.\n");
            return 0;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "rows_layout: option '%s' needs a value\n", argv[i]);
            return 2;
        }
        int v = atoi(argv[i + 1]);
        if (!strcmp(argv[i], "--hidden"))
            H = v;
        else if (!strcmp(argv[i], "--gates"))
            G = v;
        else if (!strcmp(argv[i], "--batch"))
            B = v;
        else if (!strcmp(argv[i], "--steps"))
            T = v;
        else {
            fprintf(stderr, "rows_layout: unknown option '%s'\n", argv[i]);
            return 2;
        }
    }
    if (H < 1 || H > 4096 || G < 1 || G > 4 || B < 2 || B > 1024 || B % 2 || T < 1 || T > 4096) {
        fprintf(stderr, "rows_layout: need 1 <= hidden <= 4096, 1 <= gates <= 4, "
                        "an even batch in 2..1024, 1 <= steps <= 4096\n");
        return 2;
    }
    const int GH = G * H, rows = B / 2;
    const size_t gap = 16384; /* floats: 64 KB */
    const size_t gblk = (size_t)rows * GH, hblk = (size_t)rows * H;
    float *w = rnn__alloc_floats((size_t)GH * H);
    float *pack = rnn__alloc_floats(rnn__sgemm_pack_size(H, GH));
    /* room for the largest layout: two blocks and a gap per step, T + 1 steps */
    const size_t gn = (size_t)(T + 1) * (2 * gblk + gap), hn = (size_t)(T + 2) * (2 * hblk + gap);
    float *gbuf = rnn__alloc_floats(gn), *hbuf = rnn__alloc_floats(hn);
    float *gsep[2] = {rnn__alloc_floats((T + 1) * gblk), rnn__alloc_floats((T + 1) * gblk)};
    float *hsep[2] = {rnn__alloc_floats((T + 2) * hblk), rnn__alloc_floats((T + 2) * hblk)};
    if (!w || !pack || !gbuf || !hbuf || !gsep[0] || !gsep[1] || !hsep[0] || !hsep[1]) {
        fprintf(stderr, "rows_layout: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < (size_t)GH * H; i++)
        w[i] = (float)((int)(i * 37 % 101) - 50) * 1e-3f;
    rnn__sgemm_pack_b(pack, 1, H, GH, w, H);
    fill(gbuf, gn, 0.01f);
    fill(hbuf, hn, 0.1f);
    for (int k = 0; k < 2; k++) {
        fill(gsep[k], (T + 1) * gblk, 0.01f);
        fill(hsep[k], (T + 2) * hblk, 0.1f);
    }
    enum { NL = 5, R = 101 };
    const char *name[NL] = {"interleaved [T][B]", "gap of 64 KB", "blocked [thread][T]",
                            "separate buffers", "1 thread, B/2 rows"};
    loop L[NL];
    for (int l = 0; l < NL; l++) {
        loop *p = &L[l];
        p->T = T, p->H = H, p->GH = GH, p->rows = rows, p->pack = pack;
        const size_t sep = l == 1 ? gap : 0;
        if (l <= 1 || l == 4) { /* [T][B] with sep between the halves */
            p->gstep = 2 * gblk + sep;
            p->hstep = 2 * hblk + sep;
            p->g[0] = gbuf, p->g[1] = gbuf + gblk + sep;
            p->h[0] = hbuf, p->h[1] = hbuf + hblk + sep;
        } else if (l == 2) {
            p->gstep = gblk, p->hstep = hblk;
            p->g[0] = gbuf, p->g[1] = gbuf + (size_t)(T + 1) * gblk;
            p->h[0] = hbuf, p->h[1] = hbuf + (size_t)(T + 2) * hblk;
        } else {
            p->gstep = gblk, p->hstep = hblk;
            p->g[0] = gsep[0], p->g[1] = gsep[1];
            p->h[0] = hsep[0], p->h[1] = hsep[1];
        }
    }
    double t[NL][R];
    for (int r = 0; r < R; r++) /* the layouts in turn, so that drift hits all alike */
        for (int l = 0; l < NL; l++)
            t[l][r] = run(&L[l], l == 4 ? 1 : 2);
    printf("per-step loop, H %d x %d gate columns, batch %d (%d rows a thread), %d steps; "
           "us per step, median of %d:\n", H, GH, B, rows, T, R);
    for (int l = 0; l < NL; l++) {
        qsort(t[l], R, sizeof t[l][0], cmp);
        printf("  %-22s %8.2f\n", name[l], t[l][R / 2]);
    }
    return 0;
}
