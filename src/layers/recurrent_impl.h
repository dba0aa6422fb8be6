/*
 * recurrent_impl.h -- the recurrent layer, written once over a scalar type.
 * Included by recurrent.c with REAL, SFX, GEMM, RECUR_PACK_PART, RECUR_GEMM,
 * KCALL and KERNELS_DECL defined; the pointwise gate math it calls is in
 * gates_impl.h. RECUR_GEMM is the per-step product with the recurrent
 * weights, which the float build packs once per call, the threads of the
 * call each packing a share (RECUR_PACK_PART).
 *
 * Equations (PyTorch, https://pytorch.org/docs/stable/generated/torch.nn.LSTM.html
 * and the GRU/RNN pages; sigma = logistic sigmoid):
 *
 *   RNN : h' = act(W_ih x + b_ih + W_hh h + b_hh)          act = tanh | relu
 *   LSTM: i = sigma(.), f = sigma(.), g = tanh(.), o = sigma(.)  (rows i|f|g|o)
 *         of W_ih x + b_ih + W_hh h + b_hh;  c' = f*c + i*g;  h' = o*tanh(c')
 *   GRU : r = sigma(W_ir x + b_ir + W_hr h + b_hr)               (rows r|z|n)
 *         z = sigma(W_iz x + b_iz + W_hz h + b_hz)
 *         n = tanh(W_in x + b_in + r * (W_hn h + b_hn))   reset AFTER the product
 *         h' = (1-z)*n + z*h
 *
 * Shape of the computation:
 *   forward : gates[T*B][GH] = X W_ih^T + biases       (one GEMM for all steps)
 *             per step t: gates[t] += h_prev W_hh^T    (one GEMM over the batch)
 *                         fused pointwise gate math
 *   backward: per step, reverse order: pointwise gate gradients (stored over
 *             the gate activations, which are no longer needed), then
 *             dh_prev = dG[t] W_hh                     (one GEMM over the batch)
 *             after the loop: dW_ih += dG^T X, dX = dG W_ih, dW_hh += dG^T H_prev
 *             as big GEMMs, and the bias gradients as column sums; the
 *             weight gradients summed per block of batch rows, the second
 *             block into a partial (scratch) added after.
 *
 * Cache layout (elements), rows in the block structure of x (layers.h,
 * rnn__rows: plain [T][B], or each block of batch rows apart):
 *   gates [T][B][GH]    activated gates (LSTM i,f,g,o; GRU r,z,n; RNN unused)
 *   hbuf  [T+1][B][H]   states: forward direction slot 0 = h0 and slot t+1 =
 *                       state after step t; reverse: slot T = h0, slot t =
 *                       state after step t. Either way the T previous states
 *                       H_prev of a block are contiguous (slots 0..T-1 resp.
 *                       1..T).
 *   cbuf  [T+1][B][H]   LSTM cell states, same slots
 *   hnp   [T][B][H]     GRU: W_hn h_prev + b_hn (needed for dr)
 */

#define RNN__ACTIVE(lengths, t, b) (!(lengths) || (t) < (lengths)[b])
/* elements per call of a row kernel taking an int count */
#define RNN__CHUNK ((size_t)1 << 30)

/* ---- the sequence driver -------------------------------------------------- */

/* Threads (OpenMP): the rows of a batch are independent through the whole
 * recurrence, so each thread runs the time loop for its own slice of the
 * batch with no synchronisation per step; a thread done with its slice
 * takes half the rows left to a slower one (share.h: cores of unequal speed
 * otherwise leave the faster one waiting). The hoisted products keep to the
 * same slices: the input projection and dX compute this thread's batch rows
 * of every step (rnn__sgemm_mrows), and the weight gradients are summed per
 * block of batch rows (rnn__sgemm_krows; two blocks, one per thread of
 * two), so that a core seldom touches lines another core wrote or holds:
 * such a line costs a transfer between the cores (2 threads, 2xRNN-256:
 * -2% per step, docs/performance.md). Every output element is computed by
 * the same arithmetic in the same order whatever the split (the blocks are
 * fixed by B, not by the thread count), so results are identical for any
 * thread count. */

void SFX(rnn__rec_forward_rows)(rnn_cell cell, int T, int B, int I, int H, int reverse,
                                const int32_t *lengths, REAL *y, int ldy, const rnn__rows *yl,
                                REAL *hn, REAL *cn, REAL *cache, REAL *scratch, const REAL *x,
                                const rnn__rows *xl, const int32_t *ids, int V, const REAL *h0,
                                const REAL *c0, const REAL *w, const REAL *wpk, REAL *pack,
                                int nthreads)
{
    KERNELS_DECL
    rnn__rows plain, gl, hl;
    rnn__rows_make(&plain, 1, B, T, 0);
    if (!xl)
        xl = &plain;
    if (!yl)
        yl = &plain;
    rnn__rows_like(&gl, xl, T, 0);     /* gates (and GRU's hnp) */
    rnn__rows_like(&hl, xl, T + 1, 0); /* state slots */
    /* a y in another row order than the states is written after the loop
     * (per step, the threads' rows of y would lie side by side) */
    const int ylate = y && yl->n != xl->n;
    const int G = rnn_cell_gates(cell), GH = G * H;
    const int lstm = cell == RNN_CELL_LSTM, gru = cell == RNN_CELL_GRU;
    const int relu = cell == RNN_CELL_RNN_RELU;
    const size_t TB = (size_t)T * B;
    const REAL *w_ih = w, *w_hh = w + (size_t)GH * I;
    const REAL *b_ih = w_hh + (size_t)GH * H, *b_hh = b_ih + GH;

    REAL *gates = cache;
    REAL *hbuf = gates + TB * GH;
    REAL *cbuf = hbuf + (TB + B) * H;
    REAL *hnp = cbuf; /* GRU has no cell state; the slot holds W_hn h + b_hn */
    /* token input: the projections of the V table rows, biases included */
    REAL *lut = ids ? scratch + rnn__rec_scratch_count(cell, B, H) : NULL;
    /* the summed biases, added by the input product as it stores its tiles
     * (our kernels: no pass over the gate rows per step), else per step
     * below; the same additions either way. GRU's b_hn is not among them
     * (the reset gate multiplies it). The row is the last GH elements of
     * the scratch count. */
    const int fold_in = !ids && B > 0 && RECUR_FOLD_IN;
    REAL *bsum = fold_in ? scratch + rnn__rec_scratch_count(cell, B, H) - GH : NULL;
    if (fold_in)
        for (int j = 0; j < GH; j++)
            bsum[j] = gru && j >= 2 * H ? b_ih[j] : b_ih[j] + b_hh[j];
    const int nt = rnn__threads_for(nthreads, (double)TB * GH * (I + H));
    (void)nt;
    (void)pack;
    /* the per-step products' W_hh^T panels; frozen weights: W_ih^T's too */
    const REAL *rpk = wpk ? wpk : pack;
    const REAL *ipk = wpk ? wpk + wpack_ih_offset(cell, H) : NULL;
    (void)rpk; /* the double build's products take no packed operand */
    rnn__share sh;
    rnn__share_init(&sh, T);

#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        const int tid = RNN__TID(), nth = RNN__NTH();
        /* W_hh^T packed once for the per-step products of every thread,
         * each thread its share of the panels (used after the barrier
         * before the time loop) */
        if (!wpk) {
            RECUR_PACK_PART(pack, 1, H, GH, w_hh, H, tid, nth);
        }
        int c_lo, c_hi, b_lo, b_hi;
        rnn__split(GH, nth, tid, 16, &c_lo, &c_hi);
        rnn__split(B, nth, tid, 1, &b_lo, &b_hi);

        /* all input projections at once (this thread's gate columns);
         * biases folded in, GRU's b_hn excepted: the reset gate multiplies it */
        if (ids) {
            /* one per table row, with the biases (the same additions as the
             * per-step fold below), then this thread's rows gathered: the
             * product of a row depends only on the row, so the gathered
             * projections are bitwise those of the gathered input */
            if (c_hi > c_lo) {
                GEMM(0, 1, V, c_hi - c_lo, I, 1, x, I, w_ih + (size_t)c_lo * I, I, 0, lut + c_lo,
                     GH);
                int nb = (gru ? 2 * H : GH) - c_lo;
                nb = nb < 0 ? 0 : nb > c_hi - c_lo ? c_hi - c_lo : nb;
                KCALL(bias_rows)(V, GH, c_hi - c_lo, nb, lut + c_lo, b_ih + c_lo, b_hh + c_lo);
            }
#pragma omp barrier
            for (int t = 0; t < T; t++)
                for (int b = b_lo; b < b_hi; b++)
                    memcpy(gates + rnn__row(&gl, t, b) * GH,
                           lut + (size_t)ids[(size_t)t * B + b] * GH, sizeof(REAL) * GH);
        } else {
            /* this thread's batch rows of every step: the rows its time
             * loop runs, so that no other core has them in its cache (per
             * block of the layout: g of every gs rows) */
            for (int k = 0; k < xl->n; k++) {
                int s_lo, s_hi;
                const int g = rnn__rows_seg(xl, k, b_lo, b_hi, &s_lo, &s_hi);
                const int gs = xl->lo[k + 1] - xl->lo[k];
                const REAL *xs = x + rnn__row(xl, 0, s_lo) * I;
                REAL *gs0 = gates + rnn__row(&gl, 0, s_lo) * GH;
                if (g > 0 && ipk && g == gs && fold_in) /* contiguous rows, W_ih^T packed */
                    RECUR_GEMM_BIAS(T * g, GH, I, xs, I, ipk, gs0, GH, bsum);
                else if (g > 0 && ipk && g == gs)
                    RECUR_GEMM(T * g, GH, I, xs, I, w_ih, I, 1, ipk, 0, gs0, GH);
                else if (g > 0 && fold_in)
                    GEMM_MROWS_BIAS(g, gs, 1, T * g, GH, I, xs, I, w_ih, I, gs0, GH, bsum);
                else if (g > 0)
                    GEMM_MROWS(g, gs, 1, T * g, GH, I, 1, xs, I, w_ih, I, 0, gs0, GH);
            }
        }
        const int s0 = reverse ? T : 0; /* the slot of h0 */
        for (int b = b_lo; b < b_hi; b++) {
            REAL *hi0 = hbuf + rnn__row(&hl, s0, b) * H;
            if (h0)
                memcpy(hi0, h0 + (size_t)b * H, sizeof(REAL) * H);
            else
                memset(hi0, 0, sizeof(REAL) * H);
            if (lstm) {
                REAL *ci0 = cbuf + rnn__row(&hl, s0, b) * H;
                if (c0)
                    memcpy(ci0, c0 + (size_t)b * H, sizeof(REAL) * H);
                else
                    memset(ci0, 0, sizeof(REAL) * H);
            }
        }
#pragma omp barrier

        /* the time loop over this thread's rows lo..hi-1, which change when
         * a thread that has finished takes some (share.h) */
        int lo = b_lo, hi = b_hi;
        for (int k = 0; rnn__share_next(&sh, tid, nth, &lo, &hi, &k); k++) {
            const int t = reverse ? T - 1 - k : k;
            const int prev = reverse ? t + 1 : t, next = reverse ? t : t + 1;

            /* per block of the layout: its rows of a step are contiguous */
            for (int q = 0; q < xl->n; q++) {
                int s_lo, s_hi;
                const int Bs = rnn__rows_seg(xl, q, lo, hi, &s_lo, &s_hi);
                if (Bs == 0)
                    continue;
                REAL *g = gates + rnn__row(&gl, t, s_lo) * GH;
                const REAL *hp = hbuf + rnn__row(&hl, prev, s_lo) * H;
                /* the biases, when the input product did not add them:
                 * folded in here, this step's rows being about to be used
                 * (no extra trip to memory); GRU's b_hn excepted */
                if (!ids && !fold_in)
                    KCALL(bias_rows)(Bs, GH, GH, gru ? 2 * H : GH, g, b_ih, b_hh);
                if (gru)
                    RECUR_GEMM(Bs, GH, H, hp, H, w_hh, H, 1, rpk, 0, scratch + (size_t)s_lo * GH,
                               GH);
                else
                    RECUR_GEMM(Bs, GH, H, hp, H, w_hh, H, 1, rpk, 1, g, GH);
            }

            for (int b = lo; b < hi; b++) {
                REAL *gb = gates + rnn__row(&gl, t, b) * GH;
                const size_t rp = rnn__row(&hl, prev, b) * H, rn = rnn__row(&hl, next, b) * H;
                const REAL *hpb = hbuf + rp;
                REAL *hob = hbuf + rn;
                REAL *yb = y && !ylate ? y + rnn__row(yl, t, b) * ldy : NULL;
                if (!RNN__ACTIVE(lengths, t, b)) {
                    memcpy(hob, hpb, sizeof(REAL) * H);
                    if (lstm)
                        memcpy(cbuf + rn, cbuf + rp, sizeof(REAL) * H);
                    if (yb)
                        memset(yb, 0, sizeof(REAL) * H);
                    continue;
                }
                if (lstm)
                    KCALL(lstm_fwd_row)(H, gb, hob, cbuf + rn, cbuf + rp);
                else if (gru)
                    KCALL(gru_fwd_row)(H, gb, hnp + rnn__row(&gl, t, b) * H, hob,
                                       scratch + (size_t)b * GH, b_hh + 2 * H, hpb);
                else
                    KCALL(rnn_fwd_row)(H, relu, gb, hob);
                if (yb)
                    memcpy(yb, hob, sizeof(REAL) * H);
            }
        }
        if (ylate) {
            /* y in another row order than the states: copied after the
             * loop, each thread its first rows (the last steps of some may
             * have run on another thread: after the barrier) */
#pragma omp barrier
            for (int t = 0; t < T; t++)
                for (int b = b_lo; b < b_hi; b++) {
                    REAL *yb = y + rnn__row(yl, t, b) * ldy;
                    if (RNN__ACTIVE(lengths, t, b))
                        memcpy(yb, hbuf + rnn__row(&hl, reverse ? t : t + 1, b) * H,
                               sizeof(REAL) * H);
                    else
                        memset(yb, 0, sizeof(REAL) * H);
                }
        }
    }

    const int last = reverse ? 0 : T;
    for (int b = 0; b < B; b++) {
        if (hn)
            memcpy(hn + (size_t)b * H, hbuf + rnn__row(&hl, last, b) * H, sizeof(REAL) * H);
        if (cn && lstm)
            memcpy(cn + (size_t)b * H, cbuf + rnn__row(&hl, last, b) * H, sizeof(REAL) * H);
    }
}

void SFX(rnn__rec_forward)(rnn_cell cell, int T, int B, int I, int H, int reverse,
                           const int32_t *lengths, REAL *y, int ldy, REAL *hn, REAL *cn,
                           REAL *cache, REAL *scratch, const REAL *x, const int32_t *ids, int V,
                           const REAL *h0, const REAL *c0, const REAL *w, REAL *pack, int nthreads)
{
    SFX(rnn__rec_forward_rows)(cell, T, B, I, H, reverse, lengths, y, ldy, NULL, hn, cn, cache,
                               scratch, x, NULL, ids, V, h0, c0, w, NULL, pack, nthreads);
}

void SFX(rnn__rec_backward_rows)(rnn_cell cell, int T, int B, int I, int H, int reverse,
                                 const int32_t *lengths, REAL *dx, const rnn__rows *dxl,
                                 int accumulate_dx, REAL *dh0, REAL *dc0, REAL *dw, REAL *cache,
                                 REAL *scratch, const REAL *x, const rnn__rows *xl,
                                 const int32_t *ids, int V, const REAL *w, const REAL *dy, int ldy,
                                 const rnn__rows *dyl, const REAL *dhn, const REAL *dcn,
                                 REAL *pack, double *gradflow, int nthreads)
{
    KERNELS_DECL
    rnn__rows plain, gl, hl, dxd;
    rnn__rows_make(&plain, 1, B, T, 0);
    if (!xl)
        xl = &plain;
    if (!dxl) {
        rnn__rows_like(&dxd, xl, T, 0);
        dxl = &dxd;
    }
    if (!dyl)
        dyl = &plain;
    rnn__rows_like(&gl, xl, T, 0);
    rnn__rows_like(&hl, xl, T + 1, 0);
    const int G = rnn_cell_gates(cell), GH = G * H;
    const int lstm = cell == RNN_CELL_LSTM, gru = cell == RNN_CELL_GRU;
    const int relu = cell == RNN_CELL_RNN_RELU;
    const size_t BH = (size_t)B * H, TB = (size_t)T * B;
    const REAL *w_ih = w, *w_hh = w + (size_t)GH * I;
    REAL *dw_ih = dw, *dw_hh = dw + (size_t)GH * I;
    REAL *db_ih = dw_hh + (size_t)GH * H;

    REAL *dG = cache; /* the gate activations become their gradients */
    REAL *hbuf = dG + TB * GH;
    REAL *cbuf = hbuf + (TB + B) * H;
    REAL *hnp = cbuf;
    REAL *dh = scratch, *dc = scratch + BH;
    /* the gradient-flow picture needs a sum over the whole batch per step:
     * one thread, so that it is exact and in a fixed order */
    const int nt = gradflow ? 1 : rnn__threads_for(nthreads, (double)TB * GH * (I + H));
    (void)nt;
    (void)pack;
    rnn__share sh;
    rnn__share_init(&sh, T);

#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        const int tid = RNN__TID(), nth = RNN__NTH();
        /* W_hh packed once for the per-step products dh_prev = dG[t] W_hh,
         * each thread its share of the panels */
        RECUR_PACK_PART(pack, 0, GH, H, w_hh, H, tid, nth);
        int b_lo, b_hi;
        rnn__split(B, nth, tid, 1, &b_lo, &b_hi);
        const size_t r_lo = (size_t)b_lo * H, r_n = (size_t)(b_hi - b_lo) * H;
        if (dhn)
            memcpy(dh + r_lo, dhn + r_lo, sizeof(REAL) * r_n);
        else
            memset(dh + r_lo, 0, sizeof(REAL) * r_n);
        if (lstm) {
            if (dcn)
                memcpy(dc + r_lo, dcn + r_lo, sizeof(REAL) * r_n);
            else
                memset(dc + r_lo, 0, sizeof(REAL) * r_n);
        }

#pragma omp barrier
        /* the reverse time loop over rows lo..hi-1, shared as the forward's */
        int lo = b_lo, hi = b_hi;
        for (int k = 0; rnn__share_next(&sh, tid, nth, &lo, &hi, &k); k++) {
            const int s = T - 1 - k;
            const int t = reverse ? T - 1 - s : s;
            const int prev = reverse ? t + 1 : t, next = reverse ? t : t + 1;

            double flow = 0;
            for (int b = lo; b < hi; b++) {
                const size_t r = rnn__row(&gl, t, b);
                REAL *gb = dG + r * GH;
                REAL *dhb = dh + (size_t)b * H;
                if (!RNN__ACTIVE(lengths, t, b)) {
                    /* the state was carried: its gradient passes unchanged */
                    memset(gb, 0, sizeof(REAL) * GH);
                    if (gru)
                        memset(hnp + r * H, 0, sizeof(REAL) * H);
                    continue;
                }
                if (dy) {
                    KCALL(add_row)(H, dhb, dy + rnn__row(dyl, t, b) * ldy);
                }
                if (gradflow)
                    for (int j = 0; j < H; j++)
                        flow += (double)dhb[j] * (double)dhb[j];
                const size_t o = (size_t)b * H;
                const size_t rp = rnn__row(&hl, prev, b) * H, rn = rnn__row(&hl, next, b) * H;
                if (lstm)
                    KCALL(lstm_bwd_row)(H, gb, dhb, dc + o, cbuf + rn, cbuf + rp);
                else if (gru)
                    KCALL(gru_bwd_row)(H, gb, hnp + r * H, dhb, hbuf + rp);
                else
                    KCALL(rnn_bwd_row)(H, relu, gb, dhb, hbuf + rn);
            }
            if (gradflow)
                gradflow[t] = sqrt(flow);
            /* dh now holds what reaches h_prev directly (0 for RNN/LSTM, z*dh
             * for GRU, the carried gradient on inactive rows); add the path
             * through the recurrent weights. Inactive rows of g are zero.
             * Per block of the layout, whose rows of a step are contiguous. */
            for (int q = 0; q < xl->n; q++) {
                int s_lo, s_hi;
                if (rnn__rows_seg(xl, q, lo, hi, &s_lo, &s_hi))
                    RECUR_GEMM(s_hi - s_lo, H, GH, dG + rnn__row(&gl, t, s_lo) * GH, GH, w_hh, H,
                               0, pack, 1, dh + (size_t)s_lo * H, H);
            }
        }
#pragma omp barrier
        /* after the barrier: the last steps of a row may have run elsewhere */
        if (dh0)
            memcpy(dh0 + r_lo, dh + r_lo, sizeof(REAL) * r_n);
        if (dc0 && lstm)
            memcpy(dc0 + r_lo, dc + r_lo, sizeof(REAL) * r_n);

        /* dX: this thread's batch rows of every step, as in the forward */
        for (int q = 0; dx && !ids && q < xl->n; q++) {
            int s_lo, s_hi;
            const int nb = rnn__rows_seg(xl, q, b_lo, b_hi, &s_lo, &s_hi);
            const int gs = xl->lo[q + 1] - xl->lo[q];
            if (nb == 0)
                continue;
            REAL *dxr = dx + rnn__row(dxl, 0, s_lo) * I;
            const size_t r0 = rnn__row(&gl, 0, s_lo);
            if (gru) {
                GEMM_MROWS(nb, gs, 0, T * nb, I, 2 * H, 1, dG + r0 * GH, GH, w_ih, I,
                           accumulate_dx ? 1 : 0, dxr, I);
                GEMM_MROWS(nb, gs, 0, T * nb, I, H, 1, hnp + r0 * H, H, w_ih + (size_t)2 * H * I,
                           I, 1, dxr, I);
            } else {
                GEMM_MROWS(nb, gs, 0, T * nb, I, GH, 1, dG + r0 * GH, GH, w_ih, I,
                           accumulate_dx ? 1 : 0, dxr, I);
            }
        }

        /* The weight gradients are sums over all T*B rows. They are summed
         * per block of batch rows (rnn__rec_row_blocks, fixed by B alone):
         * block 0 onto dw, block 1 into the partial P, then dw += P. Each
         * block's rows are those one thread ran through time (two threads),
         * so no core reads rows another core wrote: every line read here
         * would otherwise be fetched from the other core's cache now and
         * again by the next forward, which writes these rows. The same sums
         * in the same order for any thread count. P mirrors dw's order:
         * [W_hh][b_ih][b_hh] then W_ih (token input: block 1's S). */
        const int nblk = rnn__rec_row_blocks(B), split = gru ? 2 * H : GH;
        REAL *S = scratch + rnn__rec_scratch_count(cell, B, H);
        REAL *P = S + (ids ? (size_t)V * GH : 0);
        const size_t nhb = (size_t)GH * (H + 2); /* W_hh and the biases */
        for (int blk = 0; blk < nblk; blk++) {
            /* the threads of this block (at least one), and this thread's
             * gate rows */
            const int t0 = blk * nth / nblk;
            const int t1 = (blk + 1) * nth / nblk > t0 ? (blk + 1) * nth / nblk : t0 + 1;
            if (tid < t0 || tid >= t1)
                continue;
            int k_lo, k_hi, m_lo, m_hi;
            rnn__split(B, nblk, blk, 1, &k_lo, &k_hi);
            rnn__split(GH, t1 - t0, tid - t0, 16, &m_lo, &m_hi);
            const int g = k_hi - k_lo;
            if (g == 0 || m_hi <= m_lo)
                continue;
            const REAL beta = blk ? 0 : 1;
            REAL *p_hh = blk ? P : dw_hh;
            REAL *p_bih = blk ? P + (size_t)GH * H : db_ih, *p_bhh = p_bih + GH;
            REAL *p_ih = blk ? P + nhb : ids ? S : dw_ih; /* token input: S */
            const int a_hi = m_hi < split ? m_hi : split, n_lo = m_lo > split ? m_lo : split;
            /* the block's rows: g of every gs (plain layout: B; blocked:
             * g, contiguous) */
            const int gs = xl->n > 1 ? g : B;
            const size_t r0 = rnn__row(&gl, 0, k_lo);
            const REAL *gk = dG + r0 * GH;
            const REAL *hprev = hbuf + rnn__row(&hl, reverse ? 1 : 0, k_lo) * H; /* H_prev */
            GEMM_KROWS(g, gs, m_hi - m_lo, H, T * g, 1, gk + m_lo, GH, hprev, H, beta,
                       p_hh + (size_t)m_lo * H, H);
            /* bias gradients: column sums of dG, one pass for both where
             * db_ih and db_hh are the same sums */
            if (blk) {
                memset(p_bih + m_lo, 0, sizeof(REAL) * (size_t)(m_hi - m_lo));
                memset(p_bhh + m_lo, 0, sizeof(REAL) * (size_t)(m_hi - m_lo));
            }
            for (int t = 0; t < T; t++) {
                const size_t rt = rnn__row(&gl, t, k_lo);
                if (a_hi > m_lo)
                    KCALL(colsum_rows)(g, a_hi - m_lo, GH, dG + rt * GH + m_lo, p_bhh + m_lo,
                                       p_bih + m_lo);
                if (m_hi > n_lo) {
                    KCALL(colsum_rows)(g, m_hi - n_lo, GH, dG + rt * GH + n_lo, p_bhh + n_lo, NULL);
                    KCALL(colsum_rows)(g, m_hi - n_lo, H, hnp + rt * H + (n_lo - split),
                                       p_bih + n_lo, NULL);
                }
            }
            if (!ids) {
                /* input side: GRU's n block comes from hnp (dn before the reset) */
                const REAL *xk = x + rnn__row(xl, 0, k_lo) * I;
                if (a_hi > m_lo)
                    GEMM_KROWS(g, gs, a_hi - m_lo, I, T * g, 1, gk + m_lo, GH, xk, I, beta,
                               p_ih + (size_t)m_lo * I, I);
                if (m_hi > n_lo)
                    GEMM_KROWS(g, gs, m_hi - n_lo, I, T * g, 1, hnp + r0 * H + (n_lo - split), H,
                               xk, I, beta, p_ih + (size_t)n_lo * I, I);
            } else {
                /* token input: S[v] = the input-side gradient rows of the
                 * steps that read table row v, summed in row order (this
                 * thread's columns) */
                for (int v = 0; v < V; v++)
                    memset(p_ih + (size_t)v * GH + m_lo, 0, sizeof(REAL) * (size_t)(m_hi - m_lo));
                for (int t = 0; t < T; t++)
                    for (int b = k_lo; b < k_hi; b++) {
                        const size_t r = rnn__row(&gl, t, b);
                        REAL *sv = p_ih + (size_t)ids[(size_t)t * B + b] * GH;
                        if (a_hi > m_lo)
                            KCALL(add_row)(a_hi - m_lo, sv + m_lo, dG + r * GH + m_lo);
                        if (m_hi > n_lo)
                            KCALL(add_row)(m_hi - n_lo, sv + n_lo, hnp + r * H + (n_lo - split));
                    }
            }
        }
        if (nblk > 1) {
#pragma omp barrier
            /* dw += P (token input: S += block 1's S), shared out flat */
            const size_t nih = ids ? (size_t)V * GH : (size_t)GH * I;
            size_t e_lo, e_hi;
            rnn__split_size(nhb, nth, tid, &e_lo, &e_hi);
            for (size_t o = e_lo; o < e_hi; o += RNN__CHUNK)
                KCALL(add_row)((int)(e_hi - o < RNN__CHUNK ? e_hi - o : RNN__CHUNK), dw_hh + o,
                               P + o);
            rnn__split_size(nih, nth, tid, &e_lo, &e_hi);
            for (size_t o = e_lo; o < e_hi; o += RNN__CHUNK)
                KCALL(add_row)((int)(e_hi - o < RNN__CHUNK ? e_hi - o : RNN__CHUNK),
                               (ids ? S : dw_ih) + o, P + nhb + o);
        }
        if (ids) {
#pragma omp barrier
            /* token input: dW_ih += S^T table, dtable += S W_ih */
            int s_lo, s_hi, v_lo, v_hi;
            rnn__split(GH, nth, tid, 16, &s_lo, &s_hi);
            if (s_hi > s_lo)
                GEMM(1, 0, s_hi - s_lo, I, V, 1, S + s_lo, GH, x, I, 1, dw_ih + (size_t)s_lo * I,
                     I);
            rnn__split(V, nth, tid, 1, &v_lo, &v_hi);
            if (dx && v_hi > v_lo)
                GEMM(0, 0, v_hi - v_lo, I, GH, 1, S + (size_t)v_lo * GH, GH, w_ih, I, 1,
                     dx + (size_t)v_lo * I, I);
        }
    }
}

void SFX(rnn__rec_backward)(rnn_cell cell, int T, int B, int I, int H, int reverse,
                            const int32_t *lengths, REAL *dx, int accumulate_dx, REAL *dh0,
                            REAL *dc0, REAL *dw, REAL *cache, REAL *scratch, const REAL *x,
                            const int32_t *ids, int V, const REAL *w, const REAL *dy, int ldy,
                            const REAL *dhn, const REAL *dcn, REAL *pack, double *gradflow,
                            int nthreads)
{
    SFX(rnn__rec_backward_rows)(cell, T, B, I, H, reverse, lengths, dx, NULL, accumulate_dx, dh0,
                                dc0, dw, cache, scratch, x, NULL, ids, V, w, dy, ldy, NULL, dhn,
                                dcn, pack, gradflow, nthreads);
}
