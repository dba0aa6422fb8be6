/*
 * unroll.h -- RNN__UNROLL before a loop whose trip count is a compile-time
 * constant once inlined (a register tile's rows and vectors): unroll it
 * completely, so that arrays indexed by the loop (the accumulators) live in
 * registers. GCC unrolls completely when the count given is at least the
 * trip count (all such loops here run at most 16 times); clang's equivalent
 * of that pragma only unrolls by the count, which left the accumulators in
 * memory (an AVX-512 GEMM at ~50 instead of ~200 GFLOP/s), and it needs
 * its own full-unroll pragma. Not a public header.
 */
#ifndef RNN_UNROLL_H
#define RNN_UNROLL_H

#define RNN__PRAGMA(x) _Pragma(#x)
#if defined(__clang__)
#define RNN__UNROLL RNN__PRAGMA(clang loop unroll(full))
#else
#define RNN__UNROLL RNN__PRAGMA(GCC unroll 16)
#endif

#endif /* RNN_UNROLL_H */
