/* rng.c -- xoshiro256** (Blackman & Vigna) seeded through splitmix64.
 * State lives in the caller's rnn__rng; nothing global. */
#include "core/core.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void rnn__rng_seed(rnn__rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t rnn__rng_u64(rnn__rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

float rnn__rng_float(rnn__rng *r)
{
    return (float)(rnn__rng_u64(r) >> 40) * (1.0f / 16777216.0f);
}

double rnn__rng_double(rnn__rng *r)
{
    return (double)(rnn__rng_u64(r) >> 11) * (1.0 / 9007199254740992.0);
}

void rnn__rng_permutation(rnn__rng *r, int32_t *p, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = i;
    for (int i = n - 1; i > 0; i--) { /* Fisher-Yates */
        int j = (int)rnn__rng_below(r, (uint64_t)i + 1);
        int32_t t = p[i];
        p[i] = p[j];
        p[j] = t;
    }
}

uint64_t rnn__rng_below(rnn__rng *r, uint64_t n)
{
    if (n <= 1)
        return 0;
    /* rejection sampling: no modulo bias */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t v;
    do
        v = rnn__rng_u64(r);
    while (v >= limit);
    return v % n;
}

double rnn__rng_normal(rnn__rng *r)
{
    /* Box-Muller; one value per call keeps the state a plain 4-word array */
    double u1 = rnn__rng_double(r), u2 = rnn__rng_double(r);
    if (u1 < 1e-300)
        u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}
