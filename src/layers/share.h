/*
 * share.h -- the rows of a batch shared out among the threads of a time loop
 * while it runs. Internal.
 *
 * The rows of a batch are independent through a recurrence, so each thread
 * runs the time loop for its own slice of them. Equal slices finish together
 * only on equal cores; on a shared machine (another process on a sibling
 * hyperthread) or a hybrid CPU one core can be 10-25% slower for a whole run,
 * and the faster thread then waits at the end of every loop. Here a thread
 * that has finished its rows takes half the remaining rows of one still
 * running, from the next step on, and the owner goes on with the other half.
 *
 * The owner checks for a request before each step (one load of a line only a
 * requester writes); requests and answers are exchanged under a spin lock,
 * which is taken only when rows change hands. What a row computes does not
 * depend on which thread runs it or with how many other rows (the per-step
 * product computes each element alike for any rows), so the results are
 * bitwise the same for any thread count and any timing.
 *
 * Use, in each thread of the team:
 *
 *     int lo = first_row, hi = end_row;           // this thread's slice
 *     for (int k = 0; rnn__share_next(&sh, tid, nth, &lo, &hi, &k); k++)
 *         ... step k for rows lo..hi-1 ...
 *
 * after rnn__share_init(&sh, T) before the parallel region (nth: the team's
 * actual size, which OpenMP may make smaller than asked for). The
 * rows' state (written by a step, read by the next) must live in memory
 * every thread reads; the lock's release and acquire make it visible.
 */
#ifndef RNN_SHARE_H
#define RNN_SHARE_H

#include <stdatomic.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define RNN__PAUSE() _mm_pause()
#else
#define RNN__PAUSE() ((void)0)
#endif

/* teams larger than this keep their first slices */
#define RNN__SHARE_MAX 64

typedef struct {
    _Alignas(64) atomic_int req; /* 1 + the thread waiting for rows from this one; 0 none */
    atomic_int ans;              /* 1 once that request is answered */
    int lo, hi, k;               /* the answer: rows lo..hi-1 from step k on (none: lo == hi) */
    int done;                    /* no rows left (under the lock) */
    int dry;                     /* has none to give any more (under the lock) */
} rnn__share_slot;

typedef struct {
    atomic_int lock;
    int T;
    rnn__share_slot slot[RNN__SHARE_MAX];
} rnn__share;

static inline void rnn__share_init(rnn__share *s, int T)
{
    memset(s, 0, sizeof *s);
    s->T = T;
}

static inline void rnn__share_lock(rnn__share *s)
{
    while (atomic_exchange_explicit(&s->lock, 1, memory_order_acquire))
        while (atomic_load_explicit(&s->lock, memory_order_relaxed))
            RNN__PAUSE();
}

static inline void rnn__share_unlock(rnn__share *s)
{
    atomic_store_explicit(&s->lock, 0, memory_order_release);
}

/* Under the lock: answer a pending request to thread `me`, which runs rows
 * lo..hi-1 from step k on. Half the rows go if at least 2 rows and 2 steps
 * are left (a single step is not worth the hand-over). */
static inline void rnn__share_answer(rnn__share *s, int me, int *lo, int *hi, int k)
{
    rnn__share_slot *v = &s->slot[me];
    const int req = atomic_load_explicit(&v->req, memory_order_relaxed);
    if (!req || atomic_load_explicit(&v->ans, memory_order_relaxed))
        return;
    const int rows = *hi - *lo;
    if (rows >= 2 && s->T - k >= 2) {
        const int give = rows / 2;
        v->lo = *hi - give;
        v->hi = *hi;
        v->k = k;
        *hi -= give;
        s->slot[req - 1].done = 0;
    } else {
        v->lo = v->hi = 0;
        v->dry = 1;
    }
    atomic_store_explicit(&v->ans, 1, memory_order_release);
}

/* Before step k of thread `me`: give rows away if asked. */
static inline void rnn__share_poll(rnn__share *s, int me, int *lo, int *hi, int k)
{
    if (me >= RNN__SHARE_MAX || !atomic_load_explicit(&s->slot[me].req, memory_order_relaxed))
        return;
    rnn__share_lock(s);
    rnn__share_answer(s, me, lo, hi, k);
    rnn__share_unlock(s);
}

/* Thread `me` of `n` has no rows left: take rows from a thread still
 * running. 1 with the rows and the step to start from; 0 when no thread
 * has any to give (then the caller leaves the loop). */
static inline int rnn__share_take(rnn__share *s, int me, int n, int *lo, int *hi, int *k)
{
    if (n < 2 || n > RNN__SHARE_MAX)
        return 0;
    rnn__share_lock(s);
    s->slot[me].done = 1;
    rnn__share_answer(s, me, lo, hi, *k); /* a request that came too late: none */
    for (;;) {
        int v = -1, busy = 0;
        for (int i = 1; i < n && v < 0; i++) {
            const int c = (me + i) % n;
            const rnn__share_slot *q = &s->slot[c];
            if (q->done || q->dry)
                continue;
            if (atomic_load_explicit(&q->req, memory_order_relaxed))
                busy = 1; /* another thread is being answered: ask again after */
            else
                v = c;
        }
        if (v < 0) {
            rnn__share_unlock(s);
            if (!busy)
                return 0;
            RNN__PAUSE();
            rnn__share_lock(s);
            continue;
        }
        rnn__share_slot *q = &s->slot[v];
        atomic_store_explicit(&q->ans, 0, memory_order_relaxed);
        atomic_store_explicit(&q->req, me + 1, memory_order_relaxed);
        rnn__share_unlock(s);
        while (!atomic_load_explicit(&q->ans, memory_order_acquire))
            RNN__PAUSE();
        rnn__share_lock(s);
        const int l = q->lo, h = q->hi, kk = q->k;
        atomic_store_explicit(&q->ans, 0, memory_order_relaxed);
        atomic_store_explicit(&q->req, 0, memory_order_relaxed);
        if (h > l) {
            rnn__share_unlock(s);
            *lo = l;
            *hi = h;
            *k = kk;
            return 1;
        }
    }
}

/* The loop head: 1 if thread `me` of `n` has a step k to run for rows
 * lo..hi-1 (having given some away if asked, or taken some from another
 * thread when its own are done; k then moves to that thread's step). */
static inline int rnn__share_next(rnn__share *s, int me, int n, int *lo, int *hi, int *k)
{
    if (*k < s->T && *hi > *lo) {
        rnn__share_poll(s, me, lo, hi, *k);
        return 1;
    }
    return rnn__share_take(s, me, n, lo, hi, k);
}

#endif
