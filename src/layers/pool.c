/*
 * pool.c -- readouts that turn a sequence of outputs into one vector per
 * sequence: mean, max, and additive attention (Bahdanau-style scoring of
 * each step, softmax over the sequence's valid steps, weighted sum). Padded
 * steps (t >= length) never contribute.
 */
#include "layers/layers.h"

#include <math.h>
#include <string.h>

#define LEN(lengths, b, T) ((lengths) ? (lengths)[b] : (T))

void rnn__pool_mean(float *pooled, const float *y, const int32_t *lengths, int T, int B, int W)
{
    for (int b = 0; b < B; b++) {
        float *p = pooled + (size_t)b * W;
        int n = LEN(lengths, b, T);
        memset(p, 0, sizeof(float) * (size_t)W);
        for (int t = 0; t < n; t++) {
            const float *r = y + ((size_t)t * B + b) * W;
            for (int j = 0; j < W; j++)
                p[j] += r[j];
        }
        for (int j = 0; j < W; j++)
            p[j] /= (float)n;
    }
}

void rnn__pool_mean_backward(float *dy, const float *dpooled, const int32_t *lengths, int T,
                             int B, int W)
{
    for (int b = 0; b < B; b++) {
        int n = LEN(lengths, b, T);
        const float *d = dpooled + (size_t)b * W;
        for (int t = 0; t < n; t++) {
            float *r = dy + ((size_t)t * B + b) * W;
            for (int j = 0; j < W; j++)
                r[j] += d[j] / (float)n;
        }
    }
}

void rnn__pool_max(float *pooled, int32_t *argmax, const float *y, const int32_t *lengths,
                   int T, int B, int W)
{
    for (int b = 0; b < B; b++) {
        int n = LEN(lengths, b, T);
        float *p = pooled + (size_t)b * W;
        int32_t *a = argmax + (size_t)b * W;
        for (int j = 0; j < W; j++) {
            p[j] = y[(size_t)b * W + j];
            a[j] = 0;
        }
        for (int t = 1; t < n; t++) {
            const float *r = y + ((size_t)t * B + b) * W;
            for (int j = 0; j < W; j++)
                if (r[j] > p[j]) { /* first maximum wins, as torch.max */
                    p[j] = r[j];
                    a[j] = t;
                }
        }
    }
}

void rnn__pool_max_backward(float *dy, const float *dpooled, const int32_t *argmax, int B, int W)
{
    for (int b = 0; b < B; b++)
        for (int j = 0; j < W; j++) {
            int t = argmax[(size_t)b * W + j];
            dy[((size_t)t * B + b) * W + j] += dpooled[(size_t)b * W + j];
        }
}

void rnn__attn_pool_forward(float *pooled, float *u, float *alpha, const float *y,
                            const int32_t *lengths, const float *wa, const float *ba,
                            const float *v, int T, int B, int W, int A)
{
    const size_t TB = (size_t)T * B;
    for (size_t r = 0; r < TB; r++)
        memcpy(u + r * A, ba, sizeof(float) * (size_t)A);
    rnn__sgemm(0, 1, (int)TB, A, W, 1.0f, y, W, wa, W, 1.0f, u, A);
    for (size_t i = 0; i < TB * A; i++)
        u[i] = rnn__tanhf(u[i]);
    for (int b = 0; b < B; b++) {
        int n = LEN(lengths, b, T);
        float mx = -INFINITY;
        for (int t = 0; t < T; t++) {
            float s = 0;
            if (t < n) {
                const float *ur = u + ((size_t)t * B + b) * A;
                for (int k = 0; k < A; k++)
                    s += v[k] * ur[k];
                mx = s > mx ? s : mx;
            }
            alpha[(size_t)t * B + b] = s;
        }
        double z = 0;
        for (int t = 0; t < T; t++) {
            float *a = &alpha[(size_t)t * B + b];
            *a = t < n ? (float)exp((double)(*a - mx)) : 0.0f;
            z += *a;
        }
        float *p = pooled + (size_t)b * W;
        memset(p, 0, sizeof(float) * (size_t)W);
        for (int t = 0; t < n; t++) {
            float *a = &alpha[(size_t)t * B + b];
            *a = (float)(*a / z);
            const float *r = y + ((size_t)t * B + b) * W;
            for (int j = 0; j < W; j++)
                p[j] += *a * r[j];
        }
    }
}

void rnn__attn_pool_backward(float *dy, float *dwa, float *dba, float *dv, const float *dpooled,
                             const float *y, const float *u, const float *alpha,
                             const int32_t *lengths, const float *wa, const float *v,
                             float *scratch, int T, int B, int W, int A)
{
    const size_t TB = (size_t)T * B;
    float *dpre = scratch; /* [T][B][A]: gradient of W y + b before the tanh */
    memset(dpre, 0, sizeof(float) * TB * A);
    for (int b = 0; b < B; b++) {
        int n = LEN(lengths, b, T);
        const float *dp = dpooled + (size_t)b * W;
        /* d alpha_t = dp . y_t; d s_t = alpha_t (d alpha_t - sum alpha d alpha) */
        double avg = 0;
        for (int t = 0; t < n; t++) {
            const float *r = y + ((size_t)t * B + b) * W;
            float da = 0;
            for (int j = 0; j < W; j++)
                da += dp[j] * r[j];
            avg += (double)alpha[(size_t)t * B + b] * da;
        }
        for (int t = 0; t < n; t++) {
            const size_t row = (size_t)t * B + b;
            const float *r = y + row * W;
            float a = alpha[row], da = 0;
            for (int j = 0; j < W; j++)
                da += dp[j] * r[j];
            float ds = a * (da - (float)avg);
            float *d = dy + row * W;
            for (int j = 0; j < W; j++)
                d[j] += a * dp[j]; /* the weighted sum's direct path */
            const float *ur = u + row * A;
            float *dpr = dpre + row * A;
            for (int k = 0; k < A; k++) {
                dv[k] += ds * ur[k];
                dpr[k] = ds * v[k] * (1 - ur[k] * ur[k]);
            }
        }
    }
    for (size_t r = 0; r < TB; r++)
        for (int k = 0; k < A; k++)
            dba[k] += dpre[r * A + k];
    rnn__sgemm(1, 0, A, W, (int)TB, 1.0f, dpre, A, y, W, 1.0f, dwa, W);
    rnn__sgemm(0, 0, (int)TB, W, A, 1.0f, dpre, A, wa, W, 1.0f, dy, W);
}
