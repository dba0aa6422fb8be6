/*
 * memtask.h -- the long-memory tasks of `rnn task adding` and `rnn task
 * copy` (REFERENCE.md "Long-memory tasks"): their data, their memoryless
 * baselines, and the gradient-flow measurement (the norm of dL/dh_t
 * against t: the vanishing gradient made visible). Internal.
 */
#ifndef RNN_MEMTASK_H
#define RNN_MEMTASK_H

#include "model/model.h"
#include "model/statal_model.h"

/* Adding problem (Hochreiter & Schmidhuber 1997, in the form of Le et al.
 * 2015 and Arjovsky et al. 2016): x [n][T][2], channel 0 values U[0,1),
 * channel 1 a marker that is 1 at one step of the first half [0, T/2) and
 * one of the second half [T/2, T), 0 elsewhere; y [n] = the sum of the two
 * marked values. T >= 2. Deterministic in the seed. */
void rnn__adding_data(float *x, float *y, int n, int T, uint64_t seed);
/* Predicting 1 (the mean of the target) gives the target's variance,
 * 2 * 1/12: 1/6 = 0.1667. */
double rnn__adding_baseline(void);

/* Copy memory (Arjovsky et al. 2016): sequences of T + 20 steps over the
 * alphabet 0 blank, 1..8 symbols, 9 delimiter: 10 random symbols, T - 1
 * blanks, the delimiter, 10 blanks. x [n][T+20][10] one-hot; labels
 * [n][T+20]: blank (0) for the first T + 10 steps, then the 10 symbols.
 * The model has 9 outputs (blank and the 8 symbols). T >= 1. */
#define RNN__COPY_SYMBOLS 10 /* to remember */
#define RNN__COPY_INPUTS 10  /* one-hot width */
#define RNN__COPY_CLASSES 9  /* output classes */
void rnn__copy_data(float *x, int32_t *labels, int n, int T, uint64_t seed);
/* Blank for T + 10 steps, then uniform over the 8 symbols: the mean
 * cross-entropy over all T + 20 steps is 10 ln 8 / (T + 20). */
double rnn__copy_baseline(int T);

/* Gradient flow: one training forward and backward of the first n
 * sequences of d (features, all of length d->T) with the mean loss, and
 * flow[t] (t < d->T) = the L2 norm over those sequences of dL/dh_t, the
 * whole gradient reaching the top layer's state at step t (forward
 * direction; the Statal cell: its state s_t). Per-step targets before
 * step `from` are left out of the loss (copy: from = T + 10, the recall
 * steps: how much of the recall's gradient reaches each step). The
 * gradients are zeroed afterwards. */
rnn_status rnn__model_gradflow(rnn_model *m, rnn_loss loss, const rnn_dataset *d, int n, int from,
                               double *flow, rnn_error *err);
rnn_status rnn__statal_gradflow(rnn__statal_model *m, rnn_loss loss, const rnn_dataset *d, int n,
                                int from, double *flow, rnn_error *err);

#endif /* RNN_MEMTASK_H */
