/* sample.c -- drawing tokens from logits: temperature, top-k, nucleus
 * (top-p). The generator state is the caller's 64-bit word (splitmix64). */
#include "core/core.h"

#include <math.h>
#include <stdlib.h>

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

typedef struct cand {
    double p;
    int id;
} cand;

static int by_p_desc(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    if (x->p != y->p)
        return x->p < y->p ? 1 : -1;
    return x->id - y->id; /* ties: lower id first, deterministic */
}

int rnn_sample_token(const float *logits, int V, double temperature, int top_k,
                     double top_p, uint64_t *rng_state)
{
    int best = 0;
    for (int v = 1; v < V; v++)
        if (logits[v] > logits[best])
            best = v;
    if (!(temperature > 0) || V == 1)
        return best;
    cand *c = malloc((size_t)V * sizeof *c);
    if (!c)
        return best; /* no memory for sampling: the most likely token */
    double mx = logits[best], sum = 0;
    for (int v = 0; v < V; v++) {
        c[v].p = exp(((double)logits[v] - mx) / temperature);
        c[v].id = v;
        sum += c[v].p;
    }
    int n = V;
    if ((top_k > 0 && top_k < V) || top_p < 1) {
        qsort(c, (size_t)V, sizeof *c, by_p_desc);
        if (top_k > 0 && top_k < n)
            n = top_k;
        if (top_p < 1) {
            double kept = 0, total = 0;
            for (int i = 0; i < n; i++)
                total += c[i].p;
            int m = 0;
            while (m < n && (m == 0 || kept < top_p * total))
                kept += c[m++].p;
            n = m;
        }
        sum = 0;
        for (int i = 0; i < n; i++)
            sum += c[i].p;
    }
    double u = (double)(splitmix(rng_state) >> 11) * (1.0 / 9007199254740992.0) * sum;
    int pick = c[n - 1].id;
    for (int i = 0; i < n; i++) {
        u -= c[i].p;
        if (u < 0) {
            pick = c[i].id;
            break;
        }
    }
    free(c);
    return pick;
}
