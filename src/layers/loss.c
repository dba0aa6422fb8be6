/* loss.c -- regression losses with their gradients: MSE, MAE and Huber
 * (torch.nn.HuberLoss, delta 1: 0.5 e^2 below 1, |e| - 0.5 above). The
 * gradient of |e| at 0 is 0, as torch's sign(). */
#include "layers/layers.h"

#include <math.h>

double rnn__regression_loss(float *dout, const float *out, const float *y,
                            const uint8_t *mask, int N, int O, int kind, float scale,
                            size_t *counted)
{
    double total = 0;
    size_t used = 0;
    for (int n = 0; n < N; n++) {
        const float *o = out + (size_t)n * O, *t = y + (size_t)n * O;
        float *d = dout ? dout + (size_t)n * O : NULL;
        if (mask && !mask[n]) {
            for (int j = 0; d && j < O; j++)
                d[j] = 0.0f;
            continue;
        }
        for (int j = 0; j < O; j++) {
            float e = o[j] - t[j], g;
            double l;
            if (kind == RNN_LOSS_MSE) {
                l = (double)e * e;
                g = 2 * e;
            } else if (kind == RNN_LOSS_MAE) {
                l = fabs((double)e);
                g = e > 0 ? 1.0f : e < 0 ? -1.0f : 0.0f;
            } else { /* Huber, delta 1 */
                double ae = fabs((double)e);
                l = ae < 1 ? 0.5 * e * e : ae - 0.5;
                g = ae < 1 ? e : (e > 0 ? 1.0f : -1.0f);
            }
            total += l;
            if (d)
                d[j] = g * scale;
        }
        used += (size_t)O;
    }
    if (counted)
        *counted = used;
    return total;
}
