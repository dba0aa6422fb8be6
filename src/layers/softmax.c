/* softmax.c -- softmax cross-entropy over rows of logits, fused with its
 * gradient (torch.nn.functional.cross_entropy). The row math is the
 * vectorized xent_row kernel (kernels_isa.c): exponentials of logit - max
 * with the fast rnn__expf. Rows may be split between threads; the total is
 * then summed in row order afterwards, so it does not depend on the split. */
#include "layers/kernels.h"
#include "layers/layers.h"

static double row(const rnn__kernels *k, float *dlogits, const float *logits, int t, int n, int V,
                  float scale)
{
    const float *z = logits + (size_t)n * V;
    float *d = dlogits ? dlogits + (size_t)n * V : NULL;
    if (t < 0 || t >= V) {
        for (int v = 0; d && v < V; v++)
            d[v] = 0.0f;
        return 0.0;
    }
    return k->xent_row(d, z, V, t, scale);
}

double rnn__softmax_xent(float *dlogits, const float *logits,
                         const int32_t *targets, int N, int V, float scale,
                         size_t *counted, double *row_loss, int nthreads)
{
    const rnn__kernels *k = rnn__kernels_get();
    double total = 0;
    size_t used = 0;
    for (int n = 0; n < N; n++)
        used += targets[n] >= 0 && targets[n] < V;
    if (counted)
        *counted = used;
    /* an exponential and a few operations per element: ~30 multiply-adds' worth */
    const int nt = row_loss ? rnn__threads_for(nthreads, (double)N * V * 30) : 1;
    if (nt <= 1) {
        for (int n = 0; n < N; n++)
            total += row(k, dlogits, logits, targets[n], n, V, scale);
        return total;
    }
#pragma omp parallel num_threads(nt)
    {
        int lo, hi;
        rnn__split(N, RNN__NTH(), RNN__TID(), 1, &lo, &hi);
        for (int n = lo; n < hi; n++)
            row_loss[n] = row(k, dlogits, logits, targets[n], n, V, scale);
    }
    for (int n = 0; n < N; n++)
        total += row_loss[n];
    return total;
}
