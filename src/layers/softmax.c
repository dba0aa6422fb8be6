/* softmax.c -- softmax cross-entropy over rows of logits, fused with its
 * gradient (torch.nn.functional.cross_entropy). Stable: exponentials are
 * taken of logit - max, with the vectorizable rnn__expf (relative error
 * ~1e-7); the row sums and the total are accumulated in double. */
#include "layers/layers.h"

#include <math.h>

double rnn__softmax_xent(float *dlogits, const float *logits,
                         const int32_t *targets, int N, int V, float scale,
                         size_t *counted)
{
    double total = 0;
    size_t used = 0;
    for (int n = 0; n < N; n++) {
        const float *z = logits + (size_t)n * V;
        float *d = dlogits ? dlogits + (size_t)n * V : NULL;
        int t = targets[n];
        if (t < 0 || t >= V) {
            if (d)
                for (int v = 0; v < V; v++)
                    d[v] = 0.0f;
            continue;
        }
        float mx = z[0];
        for (int v = 1; v < V; v++)
            mx = z[v] > mx ? z[v] : mx;
        double sum = 0;
        const float zt = z[t];
        if (d) {
            for (int v = 0; v < V; v++) {
                d[v] = rnn__expf(z[v] - mx); /* z and d may alias: z[v] is read first */
                sum += d[v];
            }
            const float k = (float)(scale / sum);
            for (int v = 0; v < V; v++)
                d[v] *= k;
            d[t] -= scale;
        } else {
            for (int v = 0; v < V; v++)
                sum += rnn__expf(z[v] - mx);
        }
        total += log(sum) + mx - zt;
        used++;
    }
    if (counted)
        *counted = used;
    return total;
}
