/* dense.c -- torch.nn.Linear: y = x W^T + b with W [O][I] (default init
 * U(-1/sqrt(I), 1/sqrt(I)) for W and b);
 * https://pytorch.org/docs/stable/generated/torch.nn.Linear.html */
#include "layers/layers.h"

void rnn__dense_forward(float *y, const float *x, const float *w,
                        const float *b, int N, int I, int O)
{
    for (int n = 0; n < N; n++) {
        float *row = y + (size_t)n * O;
        for (int o = 0; o < O; o++)
            row[o] = b ? b[o] : 0.0f;
    }
    rnn__sgemm(0, 1, N, O, I, 1.0f, x, I, w, I, 1.0f, y, O);
}

void rnn__dense_backward(float *dx, int accumulate_dx, float *dw, float *db,
                         const float *dy, const float *x, const float *w,
                         int N, int I, int O)
{
    rnn__sgemm(1, 0, O, I, N, 1.0f, dy, O, x, I, 1.0f, dw, I);
    if (db)
        for (int n = 0; n < N; n++) {
            const float *row = dy + (size_t)n * O;
            for (int o = 0; o < O; o++)
                db[o] += row[o];
        }
    if (dx)
        rnn__sgemm(0, 0, N, I, O, 1.0f, dy, O, w, I, accumulate_dx ? 1.0f : 0.0f, dx, I);
}
