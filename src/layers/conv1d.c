/*
 * conv1d.c -- causal 1-D convolution with ReLU, as a feature extractor in
 * front of the recurrent stack (seed 002: "Conv1D ... then a GRU").
 * torch.nn.Conv1d(C, F, K, dilation=d, padding=(K-1)*d) keeps T + (K-1)*d
 * outputs; its first T are the causal ones: output t sees inputs
 * t-(K-1)d .. t. Weight [F][C][K] as in PyTorch.
 * https://pytorch.org/docs/stable/generated/torch.nn.Conv1d.html
 *
 * im2col: cols[t][b][c*K + k] = x[t - (K-1-k)*d][b][c] (0 before the start),
 * then y = cols W^T + b as one GEMM, and backward as two.
 */
#include "layers/layers.h"

#include <string.h>

size_t rnn__conv1d_cols(int T, int B, int C, int K)
{
    size_t n;
    return rnn__mul4(&n, (size_t)T, (size_t)B, (size_t)C, (size_t)K) ? n : 0;
}

void rnn__conv1d_forward(float *y, float *cols, const float *x, const float *w,
                         const float *b, int T, int B, int C, int F, int K, int dil)
{
    const int CK = C * K;
    for (int t = 0; t < T; t++)
        for (int bb = 0; bb < B; bb++) {
            float *col = cols + ((size_t)t * B + bb) * CK;
            for (int k = 0; k < K; k++) {
                int src = t - (K - 1 - k) * dil;
                for (int c = 0; c < C; c++)
                    col[c * K + k] = src >= 0 ? x[((size_t)src * B + bb) * C + c] : 0.0f;
            }
        }
    const size_t TB = (size_t)T * B;
    for (size_t r = 0; r < TB; r++)
        memcpy(y + r * F, b, sizeof(float) * (size_t)F);
    rnn__sgemm(0, 1, (int)TB, F, CK, 1.0f, cols, CK, w, CK, 1.0f, y, F);
    for (size_t i = 0; i < TB * F; i++)
        y[i] = y[i] > 0 ? y[i] : 0.0f;
}

void rnn__conv1d_backward(float *dx, float *dw, float *db, float *dy,
                          const float *y, const float *cols, float *dcols,
                          const float *w, int T, int B, int C, int F, int K, int dil)
{
    const int CK = C * K;
    const size_t TB = (size_t)T * B;
    for (size_t i = 0; i < TB * F; i++)
        dy[i] = y[i] > 0 ? dy[i] : 0.0f; /* relu: the gradient passes where the output was positive */
    for (size_t r = 0; r < TB; r++)
        for (int f = 0; f < F; f++)
            db[f] += dy[r * F + f];
    rnn__sgemm(1, 0, F, CK, (int)TB, 1.0f, dy, F, cols, CK, 1.0f, dw, CK);
    if (!dx)
        return;
    rnn__sgemm(0, 0, (int)TB, CK, F, 1.0f, dy, F, w, CK, 0.0f, dcols, CK);
    memset(dx, 0, sizeof(float) * TB * C);
    for (int t = 0; t < T; t++)
        for (int bb = 0; bb < B; bb++) {
            const float *col = dcols + ((size_t)t * B + bb) * CK;
            for (int k = 0; k < K; k++) {
                int src = t - (K - 1 - k) * dil;
                if (src < 0)
                    continue;
                float *d = dx + ((size_t)src * B + bb) * C;
                for (int c = 0; c < C; c++)
                    d[c] += col[c * K + k];
            }
        }
}
