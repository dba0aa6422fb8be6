/* mem.c -- allocation and overflow-checked size arithmetic. */
#include "core/core.h"

#include <stdlib.h>
#include <string.h>

int rnn__mul(size_t *out, size_t a, size_t b)
{
    if (a != 0 && b > SIZE_MAX / a) {
        *out = SIZE_MAX;
        return 0;
    }
    *out = a * b;
    return 1;
}

int rnn__add(size_t *out, size_t a, size_t b)
{
    if (b > SIZE_MAX - a) {
        *out = SIZE_MAX;
        return 0;
    }
    *out = a + b;
    return 1;
}

int rnn__mul4(size_t *out, size_t a, size_t b, size_t c, size_t d)
{
    size_t ab, abc;
    return rnn__mul(&ab, a, b) && rnn__mul(&abc, ab, c) && rnn__mul(out, abc, d);
}

void *rnn__malloc(size_t bytes) { return malloc(bytes ? bytes : 1); }

void *rnn__calloc(size_t count, size_t size)
{
    return calloc(count ? count : 1, size ? size : 1);
}

void *rnn__realloc(void *p, size_t bytes) { return realloc(p, bytes ? bytes : 1); }

void rnn__free(void *p) { free(p); }

float *rnn__alloc_floats(size_t count)
{
    size_t bytes;
    if (!rnn__mul(&bytes, count ? count : 1, sizeof(float)))
        return NULL;
    /* round up to the alignment so that vector tails stay inside */
    if (!rnn__add(&bytes, bytes, 63))
        return NULL;
    bytes &= ~(size_t)63;
    void *p = NULL;
    if (posix_memalign(&p, 64, bytes) != 0)
        return NULL;
    memset(p, 0, bytes);
    return p;
}

void rnn__free_floats(float *p) { free(p); }

char *rnn__strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = rnn__malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}
