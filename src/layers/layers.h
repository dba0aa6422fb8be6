/*
 * layers.h -- one direction of one recurrent layer over a whole sequence,
 * forward and backward, as plain functions over flat buffers. Internal.
 *
 * Parameters of one direction are contiguous, in PyTorch's state_dict order:
 *     w_ih [G*H][I] | w_hh [G*H][H] | b_ih [G*H] | b_hh [G*H]
 * with the gate blocks stacked along rows: LSTM i|f|g|o, GRU r|z|n, RNN one
 * block. Gradients use the same layout.
 *
 * Sequences are time-major [T][B][F]. `reverse` runs the time loop from the
 * last step to the first (the backward half of a bidirectional layer).
 * `lengths` (NULL = all T) gives PyTorch's packed-sequence semantics: step t
 * of sequence b is active iff t < lengths[b]; on inactive steps the state is
 * carried unchanged and the output is zero, so the forward direction's final
 * state is the state at t = len-1 and the reverse direction starts there.
 *
 * Each function is compiled twice: for float (the engine) and, with the
 * suffix _f64, for double (used by the finite-difference gradient check).
 */
#ifndef RNN_LAYERS_H
#define RNN_LAYERS_H

#include "core/core.h"

/* Threads: how many to use for `work` multiply-adds when `requested` are
 * allowed (1 below a threshold where starting threads costs more than it
 * saves), and the k-th of `parts` slices of 0..n-1 (bounds rounded to a
 * multiple of `align`). RNN__TID / RNN__NTH: the OpenMP thread number and
 * team size (0 and 1 without OpenMP). */
int rnn__threads_for(int requested, double work);
void rnn__split(int n, int parts, int k, int align, int *lo, int *hi);
/* The same for n elements of size_t, no alignment. */
void rnn__split_size(size_t n, int parts, int k, size_t *lo, size_t *hi);
#ifdef _OPENMP
#include <omp.h>
#define RNN__TID() omp_get_thread_num()
#define RNN__NTH() omp_get_num_threads()
#else
#define RNN__TID() 0
#define RNN__NTH() 1
#endif

/* Where the rows of a [T][B][.] sequence buffer live. The plain order is
 * row t*B + b. The blocked order keeps each block of batch rows (the row
 * blocks of rnn__rec_row_blocks) apart: block k, batch rows lo[k]..lo[k+1]-1,
 * holds its g = lo[k+1] - lo[k] rows of every step contiguous from row
 * base[k], so that two threads running one block each through time never
 * write rows side by side (docs/performance.md: up to 46% per step). A
 * layer's input, its cache and its input gradient share one block
 * structure (n, lo); y and dy, touched one row at a time, may have any. */
#define RNN__ROWS_MAX 2
typedef struct {
    int n;                      /* blocks: 1 = the plain order */
    int lo[RNN__ROWS_MAX + 1];  /* block k: batch rows lo[k] .. lo[k+1]-1 */
    size_t base[RNN__ROWS_MAX]; /* the row of (t = 0, b = lo[k]) */
} rnn__rows;

/* n blocks (1, or rnn__rec_row_blocks(B)) of a buffer with `slots` steps per
 * block, step 0 at slot `first`: base[k] = slots*lo[k] + first*g. A plain
 * [T][B] buffer is (1, B, T, 0); a blocked one (2, B, T, 0). */
void rnn__rows_make(rnn__rows *r, int n, int B, int slots, int first);
/* The same block structure as `like`, other slots. */
void rnn__rows_like(rnn__rows *r, const rnn__rows *like, int slots, int first);

static inline size_t rnn__row(const rnn__rows *r, int t, int b)
{
    const int k = r->n > 1 && b >= r->lo[1];
    return r->base[k] + (size_t)t * (size_t)(r->lo[k + 1] - r->lo[k]) + (size_t)(b - r->lo[k]);
}

/* The batch rows of lo..hi-1 that block k holds: *s_lo..*s_hi-1 (their rows
 * of a step are contiguous); returns their number, 0 if none. */
static inline int rnn__rows_seg(const rnn__rows *r, int k, int lo, int hi, int *s_lo, int *s_hi)
{
    *s_lo = lo > r->lo[k] ? lo : r->lo[k];
    *s_hi = hi < r->lo[k + 1] ? hi : r->lo[k + 1];
    return *s_hi > *s_lo ? *s_hi - *s_lo : 0;
}

/* Copies the T x B rows of `w` floats from src (rows in sl) to dst (dl). */
void rnn__rows_copy(float *dst, const rnn__rows *dl, const float *src, const rnn__rows *sl, int T,
                    int B, int w);

/* Elements of one direction's parameters: G*H*(I + H + 2). 0 on overflow. */
size_t rnn__rec_param_count(rnn_cell cell, int I, int H);
/* Elements the forward keeps for backward (gates, states). 0 on overflow. */
size_t rnn__rec_cache_count(rnn_cell cell, int T, int B, int H);
/* Offset, in the cache of a T x B forward, of the states: slots [T+1][B][H]
 * in the block structure of x (forward direction: slot 0 = h0, slot t+1 =
 * the state after step t, so with all steps active slots 1..T are the
 * output y: rows rnn__rows_like(xl, T + 1, 1) from this offset). */
size_t rnn__rec_states_offset(rnn_cell cell, int T, int B, int H);
/* Elements of per-call scratch (forward and backward): B + 1 rows of
 * max(G, 2) * H (per-step rows; the forward's summed biases in the last). */
size_t rnn__rec_scratch_count(rnn_cell cell, int B, int H);
/* Blocks of batch rows whose weight gradients a backward sums separately
 * (then adds in order): 2 for B >= 2, else 1. Fixed by B alone, so that the
 * sums do not depend on the thread count. */
int rnn__rec_row_blocks(int B);
/* Elements of scratch, beyond rnn__rec_scratch_count and the lookup table
 * (rnn__rec_lookup_count, when token input), that a backward needs for the
 * partial sums of its second row block: G*H*(H + 2 + W), W the widest
 * input (I) of any layer that uses the scratch, or the token table's V when
 * larger. 0 when B has one row block, or on overflow (then also W < 1). */
size_t rnn__rec_partial_count(rnn_cell cell, int B, int W, int H);
/* Elements of scratch, beyond rnn__rec_scratch_count, that a call with its
 * input given by token ids (ids != NULL below) needs: a [V][G*H] table.
 * 0 on overflow. */
size_t rnn__rec_lookup_count(rnn_cell cell, int V, int H);
/* 1 if token input into a table of V rows is worth projecting per table
 * row for a call of `rows` (T*B) inputs: V at most rows / 2. */
int rnn__rec_lookup_pays(int V, size_t rows);
/* Floats of the buffer `pack` (float build only; the double build takes
 * NULL): the recurrent weights packed for the per-step products, reused by
 * every layer in turn. */
size_t rnn__rec_pack_count(rnn_cell cell, int H);
/* Frozen weights (float build only): a layer's W_hh^T and W_ih^T packed once
 * (rnn__rec_wpack, into rnn__rec_wpack_count floats, 64-byte aligned) for
 * the calls of a loop that does not change them, such as a decoder's steps,
 * given to rnn__rec_forward_rows as wpk: nothing is then packed per call
 * (at T = 1 that packing cost as much as the product). The products are
 * the same, bitwise, on our kernels; with a library's GEMM (GEMM=blas,
 * onednn, libxsmm) equal to rounding (the input product then runs on the
 * packed, untransposed W_ih^T). */
size_t rnn__rec_wpack_count(rnn_cell cell, int I, int H);
void rnn__rec_wpack(rnn_cell cell, int I, int H, const float *w, float *wpk);

#define RNN__REC_DECLARE(REAL, SFX)                                           \
    /* y: [T][B][ldy], writes columns 0..H-1 of each row (zero where        \
     * inactive); hn, cn: [B][H] or NULL; h0, c0: [B][H] or NULL = zeros.    \
     * cn/c0 are used by LSTM only. x: [T][B][I]; or, when ids is not NULL, \
     * an embedding table [V][I] and row r of the input is x[ids[r]] (ids   \
     * in 0..V-1, [T*B]): the input projections are then computed once per  \
     * table row and gathered, bitwise the same as for the gathered input;   \
     * scratch must then hold rnn__rec_lookup_count more elements. */        \
    void rnn__rec_forward##SFX(                                              \
        rnn_cell cell, int T, int B, int I, int H, int reverse,              \
        const int32_t *lengths, REAL *y, int ldy, REAL *hn, REAL *cn,        \
        REAL *cache, REAL *scratch, const REAL *x, const int32_t *ids,       \
        int V, const REAL *h0, const REAL *c0, const REAL *w, REAL *pack,    \
        int nthreads);                                                       \
    /* The same with the rows of x (and so of the cache) in layout xl and   \
     * those of y in yl (NULL: plain). xl has n = 1 or                       \
     * rnn__rec_row_blocks(B) blocks. wpk: NULL, or w packed by             \
     * rnn__rec_wpack (float build only): pack is then not used. */         \
    void rnn__rec_forward_rows##SFX(                                         \
        rnn_cell cell, int T, int B, int I, int H, int reverse,              \
        const int32_t *lengths, REAL *y, int ldy, const rnn__rows *yl,       \
        REAL *hn, REAL *cn, REAL *cache, REAL *scratch, const REAL *x,       \
        const rnn__rows *xl, const int32_t *ids, int V, const REAL *h0,      \
        const REAL *c0, const REAL *w, const REAL *wpk, REAL *pack,          \
        int nthreads);                                                       \
    /* Consumes the cache of the matching forward (the gate buffer becomes   \
     * the gate gradients). dy: [T][B][ldy] columns 0..H-1, or NULL = zeros; \
     * dhn, dcn: [B][H] or NULL. dx: [T][B][I], overwritten when             \
     * accumulate_dx is 0, added to otherwise; may be NULL. dh0, dc0: [B][H] \
     * or NULL. dw: gradients, ACCUMULATED. pack: see rnn__rec_pack_count.   \
     * gradflow: NULL or [T]: per step, the norm over the batch of the whole \
     * gradient reaching the state h_t (dy_t plus what later steps send).   \
     * nthreads: at most this many threads (results do not depend on it).   \
     * ids, V: as given to the forward; dx is then the table's gradient      \
     * [V][I], always accumulated, and the input-side gradients are summed  \
     * per table row first (dW_ih and dx from a V-row sum instead of T*B    \
     * rows: the same sums regrouped, equal to rounding). */                 \
    void rnn__rec_backward##SFX(                                             \
        rnn_cell cell, int T, int B, int I, int H, int reverse,              \
        const int32_t *lengths, REAL *dx, int accumulate_dx, REAL *dh0,      \
        REAL *dc0, REAL *dw, REAL *cache, REAL *scratch, const REAL *x,      \
        const int32_t *ids, int V, const REAL *w, const REAL *dy, int ldy,   \
        const REAL *dhn, const REAL *dcn, REAL *pack, double *gradflow,      \
        int nthreads);                                                       \
    /* The same with layouts: x as given to the forward (xl), dx in dxl     \
     * (the same block structure), dy in dyl; NULL: plain. */               \
    void rnn__rec_backward_rows##SFX(                                        \
        rnn_cell cell, int T, int B, int I, int H, int reverse,              \
        const int32_t *lengths, REAL *dx, const rnn__rows *dxl,              \
        int accumulate_dx, REAL *dh0, REAL *dc0, REAL *dw, REAL *cache,      \
        REAL *scratch, const REAL *x, const rnn__rows *xl,                   \
        const int32_t *ids, int V, const REAL *w, const REAL *dy, int ldy,   \
        const rnn__rows *dyl, const REAL *dhn, const REAL *dcn, REAL *pack,  \
        double *gradflow, int nthreads);

RNN__REC_DECLARE(float, )
RNN__REC_DECLARE(double, _f64)

#endif /* RNN_LAYERS_H */

/* ---- embedding: torch.nn.Embedding, weight [V][E] ------------------------ */

/* out[n][E] = table[ids[n]]; ids must be in 0..V-1 (the caller checks). */
void rnn__embedding_forward(float *out, const int32_t *ids, size_t n,
                            const float *table, int E);
/* dtable[ids[n]] += dout[n]  (accumulates) */
void rnn__embedding_backward(float *dtable, const int32_t *ids, size_t n,
                             const float *dout, int E);

/* ---- dense: torch.nn.Linear, weight [O][I], bias [O] --------------------- */

/* y[N][O] = x[N][I] W^T + b */
void rnn__dense_forward(float *y, const float *x, const float *w,
                        const float *b, int N, int I, int O, int nthreads);
/* dW += dy^T x, db += colsum(dy) (accumulate); dx = dy W (overwritten,
 * or added when accumulate_dx; may be NULL) */
void rnn__dense_backward(float *dx, int accumulate_dx, float *dw, float *db,
                         const float *dy, const float *x, const float *w,
                         int N, int I, int O, int nthreads);

/* ---- softmax cross-entropy ----------------------------------------------- */

/* For each row n of logits[N][V] with target t = targets[n] (t < 0: row
 * ignored): loss_n = logsumexp(logits_n) - logits_n[t]. Returns the SUM of
 * the row losses (double); *counted gets the number of rows used. If dlogits
 * is not NULL it receives scale * (softmax(logits_n) - onehot(t)) (0 for
 * ignored rows); dlogits may alias logits. row_loss [N] is scratch that
 * lets threads split the rows while the total is still summed in row order
 * (NULL: one thread). */
double rnn__softmax_xent(float *dlogits, const float *logits,
                         const int32_t *targets, int N, int V, float scale,
                         size_t *counted, double *row_loss, int nthreads);

/* ---- causal Conv1D + ReLU: torch.nn.Conv1d(C, F, K, dilation=d,
 * padding=(K-1)*d), first T outputs, weight [F][C][K], bias [F] ---------- */

/* Floats of the im2col scratch: T*B*C*K. 0 on overflow. */
size_t rnn__conv1d_cols(int T, int B, int C, int K);
/* y[T][B][F] = relu(conv(x)); cols [T*B][C*K] is kept for backward. */
void rnn__conv1d_forward(float *y, float *cols, const float *x, const float *w,
                         const float *b, int T, int B, int C, int F, int K, int dil);
/* Given dy [T][B][F] (overwritten: multiplied by the ReLU mask), the
 * outputs y, the cols of forward: dW, db accumulate; dx [T][B][C]
 * (overwritten; may be NULL); dcols is scratch like cols. */
void rnn__conv1d_backward(float *dx, float *dw, float *db, float *dy,
                          const float *y, const float *cols, float *dcols,
                          const float *w, int T, int B, int C, int F, int K, int dil);

/* ---- pooled readouts over the valid steps of [T][B][W] outputs ------------ */

/* MEAN / MAX: pooled [B][W]; argmax [B][W] (MAX only) for backward. */
void rnn__pool_mean(float *pooled, const float *y, const int32_t *lengths, int T, int B, int W);
void rnn__pool_max(float *pooled, int32_t *argmax, const float *y, const int32_t *lengths,
                   int T, int B, int W);
/* dy [T][B][W] += the pooled gradient spread back (mean) or routed (max). */
void rnn__pool_mean_backward(float *dy, const float *dpooled, const int32_t *lengths, int T,
                             int B, int W);
void rnn__pool_max_backward(float *dy, const float *dpooled, const int32_t *argmax, int B, int W);

/* Additive attention pooling: u_t = tanh(Wa y_t + ba) [A], s_t = v . u_t,
 * alpha = softmax over the valid t, pooled = sum_t alpha_t y_t. Params:
 * wa [A][W], ba [A], v [A]. Keeps u [T][B][A] and alpha [T][B] for backward. */
void rnn__attn_pool_forward(float *pooled, float *u, float *alpha, const float *y,
                            const int32_t *lengths, const float *wa, const float *ba,
                            const float *v, int T, int B, int W, int A);
/* Accumulates dwa, dba, dv; dy [T][B][W] += ...; scratch [T][B][A]. */
void rnn__attn_pool_backward(float *dy, float *dwa, float *dba, float *dv, const float *dpooled,
                             const float *y, const float *u, const float *alpha,
                             const int32_t *lengths, const float *wa, const float *v,
                             float *scratch, int T, int B, int W, int A);

/* ---- regression losses ------------------------------------------------------ */

/* Sum over the rows n with mask[n] != 0 (mask NULL = all) of the O-element
 * loss between out[n] and y[n] (MSE: squared error, MAE: absolute, HUBER:
 * torch's HuberLoss with delta 1); *counted = elements used. If dout is not
 * NULL it receives scale * d(loss)/d(out) (0 on masked rows). */
double rnn__regression_loss(float *dout, const float *out, const float *y,
                            const uint8_t *mask, int N, int O, int kind, float scale,
                            size_t *counted);
