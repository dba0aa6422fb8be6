/* mem.c -- allocation and overflow-checked size arithmetic.
 *
 * Every library allocation goes through these functions. Compiled with
 * -DRNN_FAULT_INJECTION (only for the test binary build/tests/faults, never
 * for the shipped library, which keeps no global state), they also count
 * allocations and live bytes and can make the N-th allocation fail, so that
 * tests can walk every out-of-memory path of a call sequence. */
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

#ifdef RNN_FAULT_INJECTION
#include "core/fault.h"

#include <malloc.h>
#include <stdatomic.h>

/* Test-build state: atomics because OpenMP threads may allocate too. */
static atomic_long fault_at;   /* the allocation number that fails; 0 = none */
static atomic_long fault_seen; /* allocations attempted since the last arm    */
static atomic_long fault_hits; /* allocations made to fail                    */
static atomic_long live_count; /* blocks allocated and not yet freed          */
static atomic_long live_bytes, peak_bytes;

void rnn__fault_arm(long n)
{
    atomic_store(&fault_seen, 0);
    atomic_store(&fault_hits, 0);
    atomic_store(&fault_at, n > 0 ? n : 0);
}

long rnn__fault_seen(void) { return atomic_load(&fault_seen); }
long rnn__fault_hits(void) { return atomic_load(&fault_hits); }
long rnn__fault_live(void) { return atomic_load(&live_count); }
long rnn__fault_live_bytes(void) { return atomic_load(&live_bytes); }

long rnn__fault_peak_reset(void)
{
    long peak = atomic_load(&peak_bytes);
    atomic_store(&peak_bytes, atomic_load(&live_bytes));
    return peak;
}

/* 1 if this allocation must fail. */
static int fault_now(void)
{
    long n = atomic_fetch_add(&fault_seen, 1) + 1;
    if (n == atomic_load(&fault_at)) {
        atomic_fetch_add(&fault_hits, 1);
        return 1;
    }
    return 0;
}

static void *track(void *p)
{
    if (p) {
        long b = (long)malloc_usable_size(p);
        atomic_fetch_add(&live_count, 1);
        long now = atomic_fetch_add(&live_bytes, b) + b;
        long peak = atomic_load(&peak_bytes);
        while (now > peak && !atomic_compare_exchange_weak(&peak_bytes, &peak, now))
            ;
    }
    return p;
}

static void untrack(void *p)
{
    if (p) {
        atomic_fetch_sub(&live_count, 1);
        atomic_fetch_sub(&live_bytes, (long)malloc_usable_size(p));
    }
}
#define FAULT_NOW() fault_now()
#define TRACK(p) track(p)
#define UNTRACK(p) untrack(p)
#else
#define FAULT_NOW() 0
#define TRACK(p) (p)
#define UNTRACK(p) ((void)0)
#endif

void *rnn__malloc(size_t bytes)
{
    if (FAULT_NOW())
        return NULL;
    return TRACK(malloc(bytes ? bytes : 1));
}

void *rnn__calloc(size_t count, size_t size)
{
    if (FAULT_NOW())
        return NULL;
    return TRACK(calloc(count ? count : 1, size ? size : 1));
}

void *rnn__realloc(void *p, size_t bytes)
{
    if (FAULT_NOW())
        return NULL;
    UNTRACK(p);
    void *q = realloc(p, bytes ? bytes : 1);
    if (!q) {
        (void)TRACK(p); /* the old block is still there */
        return NULL;
    }
    return TRACK(q);
}

void rnn__free(void *p)
{
    UNTRACK(p);
    free(p);
}

float *rnn__alloc_floats(size_t count)
{
    size_t bytes;
    if (!rnn__mul(&bytes, count ? count : 1, sizeof(float)))
        return NULL;
    /* round up to the alignment so that vector tails stay inside */
    if (!rnn__add(&bytes, bytes, 63))
        return NULL;
    bytes &= ~(size_t)63;
    if (FAULT_NOW())
        return NULL;
    void *p = NULL;
    if (posix_memalign(&p, 64, bytes) != 0)
        return NULL;
    memset(p, 0, bytes);
    return TRACK(p);
}

void rnn__free_floats(float *p)
{
    UNTRACK(p);
    free(p);
}

char *rnn__strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = rnn__malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}
