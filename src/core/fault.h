/*
 * fault.h -- the allocation hook of the fault-injection test build (mem.c
 * compiled with -DRNN_FAULT_INJECTION; see docs/reliability.md). The shipped
 * library does not contain these functions. Internal, tests only.
 */
#ifndef RNN_FAULT_H
#define RNN_FAULT_H

/* Makes the n-th library allocation from now fail (returns NULL), once;
 * n <= 0 disarms. Also restarts the counts below. */
void rnn__fault_arm(long n);
/* Allocations attempted since the last arm, and how many were failed. */
long rnn__fault_seen(void);
long rnn__fault_hits(void);
/* Library blocks (and their usable bytes) allocated and not yet freed. */
long rnn__fault_live(void);
long rnn__fault_live_bytes(void);
/* The largest live_bytes since the last call; restarts the peak from now. */
long rnn__fault_peak_reset(void);

#endif
