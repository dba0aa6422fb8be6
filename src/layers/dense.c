/* dense.c -- torch.nn.Linear: y = x W^T + b with W [O][I] (default init
 * U(-1/sqrt(I), 1/sqrt(I)) for W and b);
 * https://pytorch.org/docs/stable/generated/torch.nn.Linear.html
 * Threads split rows of y and dx, and columns of dW (whole dot products
 * each: the results do not depend on the thread count). */
#include "layers/layers.h"

void rnn__dense_forward(float *y, const float *x, const float *w,
                        const float *b, int N, int I, int O, int nthreads)
{
    const int nt = rnn__threads_for(nthreads, (double)N * I * O);
    (void)nt;
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        int lo, hi;
        rnn__split(N, RNN__NTH(), RNN__TID(), 1, &lo, &hi);
        for (int n = lo; n < hi; n++) {
            float *row = y + (size_t)n * O;
            for (int o = 0; o < O; o++)
                row[o] = b ? b[o] : 0.0f;
        }
        if (hi > lo)
            rnn__sgemm(0, 1, hi - lo, O, I, 1.0f, x + (size_t)lo * I, I, w, I, 1.0f,
                       y + (size_t)lo * O, O);
    }
}

void rnn__dense_backward(float *dx, int accumulate_dx, float *dw, float *db,
                         const float *dy, const float *x, const float *w,
                         int N, int I, int O, int nthreads)
{
    const int nt = rnn__threads_for(nthreads, (double)N * I * O);
    (void)nt;
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        const int tid = RNN__TID(), nth = RNN__NTH();
        int lo, hi;
        /* dW by columns (inputs): each thread packs only its columns of x
         * (N x I, the big operand: by rows of dW, every thread packed all
         * of it) */
        rnn__split(I, nth, tid, 16, &lo, &hi);
        if (hi > lo)
            rnn__sgemm(1, 0, O, hi - lo, N, 1.0f, dy, O, x + lo, I, 1.0f, dw + lo, I);
        rnn__split(O, nth, tid, 16, &lo, &hi);
        if (db && hi > lo)
            for (int n = 0; n < N; n++) {
                const float *row = dy + (size_t)n * O;
                for (int o = lo; o < hi; o++)
                    db[o] += row[o];
            }
        rnn__split(N, nth, tid, 1, &lo, &hi);
        if (dx && hi > lo)
            rnn__sgemm(0, 0, hi - lo, I, O, 1.0f, dy + (size_t)lo * O, O, w, I,
                       accumulate_dx ? 1.0f : 0.0f, dx + (size_t)lo * I, I);
    }
}
