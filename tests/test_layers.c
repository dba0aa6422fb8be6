/*
 * test_layers.c -- the float layer (fast activations, float GEMM) agrees
 * with the double instantiation of the same code, forward and backward,
 * for every cell, both directions, with and without lengths, at sizes where
 * the GEMM takes its blocked paths.
 */
#include "test.h"

#include "layers/layers.h"
#include "layers/share.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void run(rnn_cell cell, int reverse, int var)
{
    const int T = 7, B = 5, I = 19, H = 33;
    int32_t lens[5] = {7, 3, 1, 6, 7};
    const int32_t *L = var ? lens : NULL;
    rnn__rng r;
    rnn__rng_seed(&r, 7 + cell + 10 * reverse + 100 * var);
    size_t nw = rnn__rec_param_count(cell, I, H);
    size_t nc = rnn__rec_cache_count(cell, T, B, H),
           ns = rnn__rec_scratch_count(cell, B, H) + rnn__rec_partial_count(cell, B, I, H);
    size_t nx = (size_t)T * B * I, ny = (size_t)T * B * H, nh = (size_t)B * H;
    size_t total = nw * 2 + nc + ns + nx * 2 + ny * 2 + nh * 9;
    float *f = calloc(total, sizeof *f);
    double *d = calloc(total, sizeof *d);
    /* same layout in both: w dw cache scratch x dx y dy h0 c0 hn cn dhn dcn dh0 dc0 */
    size_t o_w = 0, o_dw = nw, o_c = 2 * nw, o_s = o_c + nc, o_x = o_s + ns, o_dx = o_x + nx;
    size_t o_y = o_dx + nx, o_dy = o_y + ny, o_h = o_dy + ny;
    for (size_t i = 0; i < nw; i++)
        d[o_w + i] = (rnn__rng_double(&r) * 2 - 1) / sqrt((double)H);
    for (size_t i = 0; i < nx; i++)
        d[o_x + i] = rnn__rng_normal(&r);
    for (size_t i = 0; i < ny; i++)
        d[o_dy + i] = rnn__rng_normal(&r);
    for (size_t i = 0; i < 9 * nh; i++)
        d[o_h + i] = rnn__rng_normal(&r) * 0.5;
    for (size_t i = 0; i < total; i++)
        f[i] = (float)d[i];
    /* round the double inputs to float so both see identical inputs */
    for (size_t i = 0; i < total; i++)
        d[i] = f[i];
    size_t h0 = o_h, c0 = o_h + nh, hn = o_h + 2 * nh, cn = o_h + 3 * nh, dhn = o_h + 4 * nh,
           dcn = o_h + 5 * nh, dh0 = o_h + 6 * nh, dc0 = o_h + 7 * nh;

    float *pack = rnn__alloc_floats(rnn__rec_pack_count(cell, H));
    rnn__rec_forward(cell, T, B, I, H, reverse, L, f + o_y, H, f + hn, f + cn, f + o_c,
                     f + o_s, f + o_x, NULL, 0, f + h0, f + c0, f + o_w, pack, 1);
    rnn__rec_forward_f64(cell, T, B, I, H, reverse, L, d + o_y, H, d + hn, d + cn, d + o_c,
                         d + o_s, d + o_x, NULL, 0, d + h0, d + c0, d + o_w, NULL, 1);
    memset(f + o_dw, 0, nw * sizeof *f);
    memset(d + o_dw, 0, nw * sizeof *d);
    rnn__rec_backward(cell, T, B, I, H, reverse, L, f + o_dx, 0, f + dh0, f + dc0, f + o_dw,
                      f + o_c, f + o_s, f + o_x, NULL, 0, f + o_w, f + o_dy, H, f + dhn, f + dcn, pack, NULL, 1);
    rnn__free_floats(pack);
    rnn__rec_backward_f64(cell, T, B, I, H, reverse, L, d + o_dx, 0, d + dh0, d + dc0,
                          d + o_dw, d + o_c, d + o_s, d + o_x, NULL, 0, d + o_w, d + o_dy, H,
                          d + dhn, d + dcn, NULL, NULL, 1);

    float *ref = malloc(total * sizeof *ref);
    for (size_t i = 0; i < total; i++)
        ref[i] = (float)d[i];
    char what[80];
    const char *cn_ = rnn_cell_name(cell);
#define CMP(name, off, n, atol)                                                 \
    snprintf(what, sizeof what, "%s rev=%d var=%d %s", cn_, reverse, var, name); \
    t_allclose(what, f + (off), ref + (off), (n), (atol), 1e-4);
    CMP("y", o_y, ny, 1e-5)
    CMP("hn", hn, nh, 1e-5)
    CMP("dx", o_dx, nx, 1e-4)
    CMP("dw", o_dw, nw, 1e-4)
    CMP("dh0", dh0, nh, 1e-4)
    if (cell == RNN_CELL_LSTM) {
        CMP("cn", cn, nh, 1e-5)
        CMP("dc0", dc0, nh, 1e-4)
    }
    free(ref);
    free(f);
    free(d);
}

static void test_float_matches_double(void)
{
    for (int cell = 0; cell < 4; cell++)
        for (int rev = 0; rev < 2; rev++)
            for (int var = 0; var < 2; var++)
                run((rnn_cell)cell, rev, var);
}

/* A length-1 sequence and T = 1: the smallest shapes still work. */
static void test_single_step(void)
{
    for (int cell = 0; cell < 4; cell++) {
        size_t nw = rnn__rec_param_count((rnn_cell)cell, 2, 3);
        double w[200] = {0}, x[2] = {0.5, -1}, y[3], hn[3], cache[200], scratch[64];
        double dw[200] = {0}, dx[2], dh0[3], dy[3] = {1, 1, 1};
        CHECK(nw <= 200);
        CHECK(rnn__rec_cache_count((rnn_cell)cell, 1, 1, 3) <= 200);
        for (size_t i = 0; i < nw; i++)
            w[i] = 0.1 * (double)(i % 7) - 0.3;
        rnn__rec_forward_f64((rnn_cell)cell, 1, 1, 2, 3, 0, NULL, y, 3, hn, NULL, cache,
                             scratch, x, NULL, 0, NULL, NULL, w, NULL, 1);
        for (int j = 0; j < 3; j++)
            CHECK(y[j] == hn[j]);
        rnn__rec_backward_f64((rnn_cell)cell, 1, 1, 2, 3, 0, NULL, dx, 0, dh0, NULL, dw,
                              cache, scratch, x, NULL, 0, w, dy, 3, NULL, NULL, NULL, NULL, 1);
        CHECK(isfinite(dx[0]) && isfinite(dx[1]));
    }
}

/* One float forward + backward at nthreads; all outputs in `out`, laid
 * out y | hn | cn | dx | dh0 | dc0 | dw. With V > 0 the input is rows of a
 * table [V][I] picked by ids, and dx is the table's gradient [V][I]: given
 * to the layer as ids (lookup) or gathered by the test (the gradient then
 * scattered back in row order). */
static float *run_threads(rnn_cell cell, int reverse, const int32_t *lens, int T, int B, int I, int H,
                          int nthreads, int V, int lookup, size_t *count)
{
    rnn__rng r;
    rnn__rng_seed(&r, 99 + cell);
    size_t nw = rnn__rec_param_count(cell, I, H);
    size_t nc = rnn__rec_cache_count(cell, T, B, H), ns = rnn__rec_scratch_count(cell, B, H);
    size_t nx = (size_t)T * B * I, ny = (size_t)T * B * H, nh = (size_t)B * H;
    size_t ndx = V > 0 ? (size_t)V * I : nx;
    if (lookup)
        ns += rnn__rec_lookup_count(cell, V, H);
    ns += rnn__rec_partial_count(cell, B, I > V ? I : V, H);
    float *w = malloc(nw * sizeof *w), *x = malloc(nx * sizeof *x), *dy = malloc(ny * sizeof *dy);
    float *h0 = malloc(4 * nh * sizeof *h0), *cache = malloc(nc * sizeof *cache);
    float *scratch = malloc(ns * sizeof *scratch);
    float *pack = rnn__alloc_floats(rnn__rec_pack_count(cell, H));
    float *table = V > 0 ? malloc(ndx * sizeof *table) : NULL, *dxr = malloc(nx * sizeof *dxr);
    int32_t *ids = V > 0 ? malloc((size_t)T * B * sizeof *ids) : NULL;
    for (size_t i = 0; i < nw; i++)
        w[i] = (float)((rnn__rng_double(&r) * 2 - 1) / sqrt((double)H));
    for (size_t i = 0; i < nx; i++)
        x[i] = (float)rnn__rng_normal(&r);
    if (V > 0) {
        for (size_t i = 0; i < ndx; i++)
            table[i] = (float)rnn__rng_normal(&r);
        for (size_t i = 0; i < (size_t)T * B; i++) {
            ids[i] = (int32_t)(rnn__rng_double(&r) * V) % V;
            memcpy(x + i * I, table + (size_t)ids[i] * I, sizeof(float) * (size_t)I);
        }
    }
    for (size_t i = 0; i < ny; i++)
        dy[i] = (float)rnn__rng_normal(&r);
    for (size_t i = 0; i < 4 * nh; i++)
        h0[i] = (float)rnn__rng_normal(&r) * 0.5f;
    *count = ny + nh * 4 + ndx + nw;
    float *out = calloc(*count, sizeof *out);
    float *y = out, *hn = y + ny, *cn = hn + nh, *dx = cn + nh, *dh0 = dx + ndx, *dc0 = dh0 + nh,
          *dw = dc0 + nh;
    const int lstm = cell == RNN_CELL_LSTM;
    rnn__rec_forward(cell, T, B, I, H, reverse, lens, y, H, hn, lstm ? cn : NULL, cache, scratch,
                     lookup ? table : x, lookup ? ids : NULL, V, h0, lstm ? h0 + nh : NULL, w, pack,
                     nthreads);
    rnn__rec_backward(cell, T, B, I, H, reverse, lens, lookup || V <= 0 ? dx : dxr, 0, dh0,
                      lstm ? dc0 : NULL, dw, cache, scratch, lookup ? table : x, lookup ? ids : NULL,
                      V, w, dy, H, h0 + 2 * nh, lstm ? h0 + 3 * nh : NULL, pack, NULL, nthreads);
    if (V > 0 && !lookup)
        rnn__embedding_backward(dx, ids, (size_t)T * B, dxr, I);
    free(w);
    free(x);
    free(dy);
    free(h0);
    free(cache);
    free(scratch);
    free(table);
    free(dxr);
    free(ids);
    rnn__free_floats(pack);
    return out;
}

/* Results do not depend on the thread count, bit for bit (our GEMM): the
 * weight gradients summed per fixed block of batch rows by one thread per
 * block, by several (4 threads) or one for both (1 thread; 3 threads: 1 and
 * 2), the batch split evenly or not, with and
 * without lengths, both directions, token input by lookup. Sizes are above the threading threshold
 * (2e6 multiply-adds), the RNN of the last shape excepted. */
static void test_threads_bitwise(void)
{
    static const struct { int T, B, I, H, V; } shapes[] = {
        {16, 32, 48, 64, 0}, {16, 32, 16, 64, 0}, {40, 6, 64, 64, 0}, {16, 32, 48, 64, 37}};
    /* the libraries (make GEMM=blas|onednn|libxsmm) promise no bitwise
     * equality across thread counts (docs/reliability.md): held to 1e-4, as
     * float vs double above */
    const int blas = !rnn__gemm_bitwise();
    int32_t lens[32];
    for (int b = 0; b < 32; b++)
        lens[b] = 1 + (b * 7) % 16;
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++)
        for (int cell = 0; cell < 4; cell++)
            for (int var = 0; var < 2; var++) {
                const int T = shapes[k].T, B = shapes[k].B, I = shapes[k].I, H = shapes[k].H;
                const int V = shapes[k].V; /* > 0: token input by lookup */
                size_t n1, nk;
                float *one = run_threads((rnn_cell)cell, var, var ? lens : NULL, T, B, I, H, 1, V, V > 0, &n1);
                for (int nt = 2; nt <= 4; nt++) {
                    float *many = run_threads((rnn_cell)cell, var, var ? lens : NULL, T, B, I, H, nt, V, V > 0,
                                               &nk);
                    if (blas) {
                        char what[96];
                        snprintf(what, sizeof what, "%s %s T=%d B=%d lengths=%d: %d threads",
                                 rnn__gemm_backend(), rnn_cell_name((rnn_cell)cell), T, B, var, nt);
                        t_allclose(what, many, one, n1, 1e-4, 1e-4);
                    } else if (memcmp(one, many, n1 * sizeof *one) != 0)
                        t_fail_at(__FILE__, __LINE__, "%s T=%d B=%d I=%d H=%d lengths=%d: %d threads differ from 1",
                                  rnn_cell_name((rnn_cell)cell), T, B, I, H, var, nt);
                    free(many);
                }
                free(one);
            }
}

/* Token input by lookup (projections per table row, gradients summed per
 * row) against the same rows gathered: the forward bitwise equal, the state
 * gradients and dW_hh, biases bitwise equal (nothing of the input path
 * reaches them), dW_ih and the table's gradient equal to rounding (the same
 * sums regrouped, held to 1e-4). Every cell, both directions, with and without lengths, 1
 * and 2 threads, a table larger and smaller than T*B. */
static void test_lookup_matches_gather(void)
{
    static const struct { int T, B, I, H, V; } shapes[] = {{16, 32, 48, 64, 37}, {5, 3, 7, 9, 40}};
    const int blas = !rnn__gemm_bitwise();
    int32_t lens[32];
    for (int b = 0; b < 32; b++)
        lens[b] = 1 + (b * 7) % 5;
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++)
        for (int cell = 0; cell < 4; cell++)
            for (int var = 0; var < 2; var++)
                for (int nt = 1; nt <= 2; nt++) {
                    const int T = shapes[k].T, B = shapes[k].B, I = shapes[k].I, H = shapes[k].H;
                    const int V = shapes[k].V, G = rnn_cell_gates((rnn_cell)cell);
                    size_t n1, n2;
                    const int32_t *l = var ? lens : NULL;
                    float *lk = run_threads((rnn_cell)cell, var, l, T, B, I, H, nt, V, 1, &n1);
                    float *ga = run_threads((rnn_cell)cell, var, l, T, B, I, H, nt, V, 0, &n2);
                    const size_t ny = (size_t)T * B * H, nh = (size_t)B * H, ndx = (size_t)V * I;
                    const size_t nwih = (size_t)G * H * I, o_dx = ny + 2 * nh;
                    const size_t o_dw = o_dx + ndx + 2 * nh;
                    char what[128];
                    snprintf(what, sizeof what, "lookup %s T=%d B=%d V=%d lengths=%d %d threads",
                             rnn_cell_name((rnn_cell)cell), T, B, V, var, nt);
                    CHECK(n1 == n2);
                    if (blas) /* no bitwise promise from OpenBLAS (see above) */
                        t_allclose(what, lk, ga, n1, 1e-4, 1e-4);
                    else if (memcmp(lk, ga, o_dx * sizeof *lk) != 0 ||
                        memcmp(lk + o_dx + ndx, ga + o_dx + ndx, 2 * nh * sizeof *lk) != 0 ||
                        memcmp(lk + o_dw + nwih, ga + o_dw + nwih, (n1 - o_dw - nwih) * sizeof *lk) != 0)
                        t_fail_at(__FILE__, __LINE__, "%s: not bitwise equal", what);
                    /* sums of up to T*B = 512 products of unit size */
                    t_allclose(what, lk + o_dx, ga + o_dx, ndx, 1e-4, 1e-4);
                    t_allclose(what, lk + o_dw, ga + o_dw, nwih, 1e-4, 1e-4);
                    free(lk);
                    free(ga);
                }
}

/* The sharing of a time loop's rows (share.h): with one thread of three
 * slowed down, the others take its rows while it runs. Every (step, row)
 * runs exactly once, each row's steps in order, and rows changed hands
 * (a run where no hand-over happened is repeated, at most 5 times). */
static void test_share_rows(void)
{
    enum { T = 40, B = 24 };
    int moved = 0;
    for (int attempt = 0; attempt < 5 && !moved; attempt++) {
        static atomic_int runs[T][B];
        static int owner[T][B], next_step[B];
        memset(runs, 0, sizeof runs);
        memset(next_step, 0, sizeof next_step);
        int order_ok = 1;
        rnn__share sh;
        rnn__share_init(&sh, T);
#pragma omp parallel num_threads(3) reduction(&& : order_ok)
        {
            const int tid = RNN__TID(), nth = RNN__NTH();
            int lo, hi;
            rnn__split(B, nth, tid, 1, &lo, &hi);
            for (int k = 0; rnn__share_next(&sh, tid, nth, &lo, &hi, &k); k++) {
                if (tid == 0) { /* the slow thread: 200 us a step */
                    struct timespec ts = {0, 200000};
                    nanosleep(&ts, NULL);
                }
                for (int b = lo; b < hi; b++) {
                    atomic_fetch_add(&runs[k][b], 1);
                    owner[k][b] = tid;
                    order_ok = order_ok && next_step[b] == k;
                    next_step[b] = k + 1;
                }
            }
        }
        CHECK(order_ok);
        for (int k = 0; k < T; k++)
            for (int b = 0; b < B; b++)
                CHECK_MSG(atomic_load(&runs[k][b]) == 1, "step %d row %d ran %d times", k, b,
                          atomic_load(&runs[k][b]));
        for (int b = 0; b < B; b++)
            CHECK(next_step[b] == T);
#ifdef _OPENMP
        for (int b = 0; b < B; b++)
            for (int k = 1; k < T; k++)
                moved |= owner[k][b] != owner[0][b];
#else
        moved = 1; /* one thread: nothing to share */
#endif
    }
    CHECK_MSG(moved, "no rows changed hands in 5 runs with one thread 200 us a step slower");
}

void suite_layers(void);
void suite_layers(void)
{
    RUN(test_float_matches_double);
    RUN(test_single_step);
    RUN(test_share_rows);
    RUN(test_threads_bitwise);
    RUN(test_lookup_matches_gather);
}
