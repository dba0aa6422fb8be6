/* embedding.c -- torch.nn.Embedding: a lookup table [V][E] (default init
 * N(0, 1)); https://pytorch.org/docs/stable/generated/torch.nn.Embedding.html */
#include "layers/kernels.h"
#include "layers/layers.h"

#include <string.h>

void rnn__embedding_forward(float *out, const int32_t *ids, size_t n,
                            const float *table, int E)
{
    for (size_t i = 0; i < n; i++)
        memcpy(out + i * E, table + (size_t)ids[i] * E, sizeof(float) * (size_t)E);
}

void rnn__embedding_backward(float *dtable, const int32_t *ids, size_t n,
                             const float *dout, int E)
{
    /* rows in order (a token seen twice adds in the same order); each row's
     * addition vectorized by the kernels (the same sums) */
    const rnn__kernels *k = rnn__kernels_get();
    for (size_t i = 0; i < n; i++)
        k->add_row(E, dtable + (size_t)ids[i] * E, dout + i * E);
}
