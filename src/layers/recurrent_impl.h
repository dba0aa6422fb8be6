/*
 * recurrent_impl.h -- the recurrent layer, written once over a scalar type.
 * Included by recurrent.c with REAL, SFX, GEMM, SIGM and TANH defined.
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
 *             as three big GEMMs, and the bias gradients as column sums.
 *
 * Cache layout (elements):
 *   gates [T][B][GH]    activated gates (LSTM i,f,g,o; GRU r,z,n; RNN unused)
 *   hbuf  [T+1][B][H]   states: forward direction slot 0 = h0 and slot t+1 =
 *                       state after step t; reverse: slot T = h0, slot t =
 *                       state after step t. Either way the T previous states
 *                       H_prev are contiguous (slots 0..T-1 resp. 1..T).
 *   cbuf  [T+1][B][H]   LSTM cell states, same slots
 *   hnp   [T][B][H]     GRU: W_hn h_prev + b_hn (needed for dr)
 */

#define RNN__ACTIVE(lengths, t, b) (!(lengths) || (t) < (lengths)[b])

/* ---- pointwise kernels: one batch row of one step ----------------------- */

static void SFX(lstm_fwd_row)(int H, REAL *restrict g, REAL *restrict h,
                              REAL *restrict c, const REAL *restrict cp)
{
    REAL *gi = g, *gf = g + H, *gg = g + 2 * H, *go = g + 3 * H;
    for (int j = 0; j < H; j++) {
        REAL i = SIGM(gi[j]), f = SIGM(gf[j]), n = TANH(gg[j]), o = SIGM(go[j]);
        REAL cn = f * cp[j] + i * n;
        gi[j] = i;
        gf[j] = f;
        gg[j] = n;
        go[j] = o;
        c[j] = cn;
        h[j] = o * TANH(cn);
    }
}

/* On entry dh, dc hold the gradients of h', c'. On exit g holds the gate
 * pre-activation gradients, dc the gradient of c, dh zero (h reaches the
 * next step only through the recurrent GEMM). */
static void SFX(lstm_bwd_row)(int H, REAL *restrict g, REAL *restrict dh,
                              REAL *restrict dc, const REAL *restrict c,
                              const REAL *restrict cp)
{
    REAL *gi = g, *gf = g + H, *gg = g + 2 * H, *go = g + 3 * H;
    for (int j = 0; j < H; j++) {
        REAL i = gi[j], f = gf[j], n = gg[j], o = go[j];
        REAL tc = TANH(c[j]);
        REAL dcj = dc[j] + dh[j] * o * (1 - tc * tc);
        REAL d_o = dh[j] * tc;
        gi[j] = dcj * n * i * (1 - i);
        gf[j] = dcj * cp[j] * f * (1 - f);
        gg[j] = dcj * i * (1 - n * n);
        go[j] = d_o * o * (1 - o);
        dc[j] = dcj * f;
        dh[j] = 0;
    }
}

/* gi: input-side pre-activations x W_ih^T + b_ih (+ b_hr, b_hz for r, z);
 * hh: h_prev W_hh^T without bias; bn = b_hn. */
static void SFX(gru_fwd_row)(int H, REAL *restrict g, REAL *restrict hnp,
                             REAL *restrict h, const REAL *restrict hh,
                             const REAL *restrict bn, const REAL *restrict hp)
{
    REAL *gr = g, *gz = g + H, *gn = g + 2 * H;
    for (int j = 0; j < H; j++) {
        REAL r = SIGM(gr[j] + hh[j]);
        REAL z = SIGM(gz[j] + hh[H + j]);
        REAL hn = hh[2 * H + j] + bn[j];
        REAL n = TANH(gn[j] + r * hn);
        gr[j] = r;
        gz[j] = z;
        gn[j] = n;
        hnp[j] = hn;
        h[j] = (1 - z) * n + z * hp[j];
    }
}

/* On exit g holds the hidden-side gradients (r | z | dn_pre * r), hnp the
 * input-side gradient of the n block (dn_pre), dh the direct part of the
 * gradient of h_prev (z * dh). */
static void SFX(gru_bwd_row)(int H, REAL *restrict g, REAL *restrict hnp,
                             REAL *restrict dh, const REAL *restrict hp)
{
    REAL *gr = g, *gz = g + H, *gn = g + 2 * H;
    for (int j = 0; j < H; j++) {
        REAL r = gr[j], z = gz[j], n = gn[j];
        REAL d = dh[j];
        REAL dn = d * (1 - z) * (1 - n * n);
        REAL dz = d * (hp[j] - n);
        REAL dr = dn * hnp[j];
        gr[j] = dr * r * (1 - r);
        gz[j] = dz * z * (1 - z);
        gn[j] = dn * r;
        hnp[j] = dn;
        dh[j] = d * z;
    }
}

static void SFX(rnn_fwd_row)(int H, int relu, const REAL *restrict g,
                             REAL *restrict h)
{
    if (relu)
        for (int j = 0; j < H; j++)
            h[j] = g[j] > 0 ? g[j] : 0;
    else
        for (int j = 0; j < H; j++)
            h[j] = TANH(g[j]);
}

static void SFX(rnn_bwd_row)(int H, int relu, REAL *restrict g,
                             REAL *restrict dh, const REAL *restrict h)
{
    if (relu)
        for (int j = 0; j < H; j++) {
            g[j] = h[j] > 0 ? dh[j] : 0;
            dh[j] = 0;
        }
    else
        for (int j = 0; j < H; j++) {
            g[j] = dh[j] * (1 - h[j] * h[j]);
            dh[j] = 0;
        }
}

/* ---- the sequence driver -------------------------------------------------- */

void SFX(rnn__rec_forward)(rnn_cell cell, int T, int B, int I, int H,
                           int reverse, const int32_t *lengths, REAL *y,
                           int ldy, REAL *hn, REAL *cn, REAL *cache,
                           REAL *scratch, const REAL *x, const REAL *h0,
                           const REAL *c0, const REAL *w)
{
    const int G = rnn_cell_gates(cell), GH = G * H;
    const int lstm = cell == RNN_CELL_LSTM, gru = cell == RNN_CELL_GRU;
    const int relu = cell == RNN_CELL_RNN_RELU;
    const size_t BH = (size_t)B * H, TB = (size_t)T * B;
    const REAL *w_ih = w, *w_hh = w + (size_t)GH * I;
    const REAL *b_ih = w_hh + (size_t)GH * H, *b_hh = b_ih + GH;

    REAL *gates = cache;
    REAL *hbuf = gates + TB * GH;
    REAL *cbuf = hbuf + (TB + B) * H;
    REAL *hnp = cbuf; /* GRU has no cell state; the slot holds W_hn h + b_hn */

    /* All input projections at once; biases folded in (GRU's b_hn excepted:
     * the reset gate multiplies it). */
    GEMM(0, 1, (int)TB, GH, I, 1, x, I, w_ih, I, 0, gates, GH);
    for (size_t r = 0; r < TB; r++) {
        REAL *g = gates + r * GH;
        int nb = gru ? 2 * H : GH;
        for (int j = 0; j < nb; j++)
            g[j] += b_ih[j] + b_hh[j];
        for (int j = nb; j < GH; j++)
            g[j] += b_ih[j];
    }

    REAL *hinit = hbuf + (reverse ? TB * H : 0);
    if (h0)
        memcpy(hinit, h0, sizeof(REAL) * BH);
    else
        memset(hinit, 0, sizeof(REAL) * BH);
    if (lstm) {
        REAL *cinit = cbuf + (reverse ? TB * H : 0);
        if (c0)
            memcpy(cinit, c0, sizeof(REAL) * BH);
        else
            memset(cinit, 0, sizeof(REAL) * BH);
    }

    for (int s = 0; s < T; s++) {
        const int t = reverse ? T - 1 - s : s;
        const size_t prev = reverse ? (size_t)t + 1 : (size_t)t;
        const size_t next = reverse ? (size_t)t : (size_t)t + 1;
        const REAL *hp = hbuf + prev * BH;
        REAL *ho = hbuf + next * BH;
        REAL *g = gates + (size_t)t * B * GH;

        if (gru)
            GEMM(0, 1, B, GH, H, 1, hp, H, w_hh, H, 0, scratch, GH);
        else
            GEMM(0, 1, B, GH, H, 1, hp, H, w_hh, H, 1, g, GH);

        for (int b = 0; b < B; b++) {
            REAL *gb = g + (size_t)b * GH;
            const REAL *hpb = hp + (size_t)b * H;
            REAL *hob = ho + (size_t)b * H;
            REAL *yb = y ? y + ((size_t)t * B + b) * ldy : NULL;
            if (!RNN__ACTIVE(lengths, t, b)) {
                memcpy(hob, hpb, sizeof(REAL) * H);
                if (lstm)
                    memcpy(cbuf + next * BH + (size_t)b * H,
                           cbuf + prev * BH + (size_t)b * H, sizeof(REAL) * H);
                if (yb)
                    memset(yb, 0, sizeof(REAL) * H);
                continue;
            }
            if (lstm)
                SFX(lstm_fwd_row)(H, gb, hob, cbuf + next * BH + (size_t)b * H,
                                  cbuf + prev * BH + (size_t)b * H);
            else if (gru)
                SFX(gru_fwd_row)(H, gb, hnp + ((size_t)t * B + b) * H, hob,
                                 scratch + (size_t)b * GH, b_hh + 2 * H, hpb);
            else
                SFX(rnn_fwd_row)(H, relu, gb, hob);
            if (yb)
                memcpy(yb, hob, sizeof(REAL) * H);
        }
    }

    const size_t last = reverse ? 0 : (size_t)T;
    if (hn)
        memcpy(hn, hbuf + last * BH, sizeof(REAL) * BH);
    if (cn && lstm)
        memcpy(cn, cbuf + last * BH, sizeof(REAL) * BH);
}

/* Column sums of a [rows][ld] block, `cols` wide, added to out. */
static void SFX(colsum_add)(REAL *restrict out, const REAL *restrict a,
                            size_t rows, int cols, int ld)
{
    for (size_t r = 0; r < rows; r++) {
        const REAL *row = a + r * ld;
        for (int j = 0; j < cols; j++)
            out[j] += row[j];
    }
}

void SFX(rnn__rec_backward)(rnn_cell cell, int T, int B, int I, int H,
                            int reverse, const int32_t *lengths, REAL *dx,
                            int accumulate_dx, REAL *dh0, REAL *dc0, REAL *dw,
                            REAL *cache, REAL *scratch, const REAL *x,
                            const REAL *w, const REAL *dy, int ldy,
                            const REAL *dhn, const REAL *dcn)
{
    const int G = rnn_cell_gates(cell), GH = G * H;
    const int lstm = cell == RNN_CELL_LSTM, gru = cell == RNN_CELL_GRU;
    const int relu = cell == RNN_CELL_RNN_RELU;
    const size_t BH = (size_t)B * H, TB = (size_t)T * B;
    const REAL *w_ih = w, *w_hh = w + (size_t)GH * I;
    REAL *dw_ih = dw, *dw_hh = dw + (size_t)GH * I;
    REAL *db_ih = dw_hh + (size_t)GH * H, *db_hh = db_ih + GH;

    REAL *dG = cache; /* the gate activations become their gradients */
    REAL *hbuf = dG + TB * GH;
    REAL *cbuf = hbuf + (TB + B) * H;
    REAL *hnp = cbuf;

    REAL *dh = scratch, *dc = scratch + BH;
    if (dhn)
        memcpy(dh, dhn, sizeof(REAL) * BH);
    else
        memset(dh, 0, sizeof(REAL) * BH);
    if (lstm) {
        if (dcn)
            memcpy(dc, dcn, sizeof(REAL) * BH);
        else
            memset(dc, 0, sizeof(REAL) * BH);
    }

    for (int s = T - 1; s >= 0; s--) {
        const int t = reverse ? T - 1 - s : s;
        const size_t prev = reverse ? (size_t)t + 1 : (size_t)t;
        const size_t next = reverse ? (size_t)t : (size_t)t + 1;
        REAL *g = dG + (size_t)t * B * GH;

        for (int b = 0; b < B; b++) {
            REAL *gb = g + (size_t)b * GH;
            REAL *dhb = dh + (size_t)b * H;
            if (!RNN__ACTIVE(lengths, t, b)) {
                /* the state was carried: its gradient passes unchanged */
                memset(gb, 0, sizeof(REAL) * GH);
                if (gru)
                    memset(hnp + ((size_t)t * B + b) * H, 0, sizeof(REAL) * H);
                continue;
            }
            if (dy) {
                const REAL *dyb = dy + ((size_t)t * B + b) * ldy;
                for (int j = 0; j < H; j++)
                    dhb[j] += dyb[j];
            }
            const size_t o = (size_t)b * H;
            if (lstm)
                SFX(lstm_bwd_row)(H, gb, dhb, dc + o, cbuf + next * BH + o,
                                  cbuf + prev * BH + o);
            else if (gru)
                SFX(gru_bwd_row)(H, gb, hnp + ((size_t)t * B + b) * H, dhb,
                                 hbuf + prev * BH + o);
            else
                SFX(rnn_bwd_row)(H, relu, gb, dhb, hbuf + next * BH + o);
        }
        /* dh now holds what reaches h_prev directly (0 for RNN/LSTM, z*dh
         * for GRU, the carried gradient on inactive rows); add the path
         * through the recurrent weights. Inactive rows of g are zero. */
        GEMM(0, 0, B, H, GH, 1, g, GH, w_hh, H, 1, dh, H);
    }
    if (dh0)
        memcpy(dh0, dh, sizeof(REAL) * BH);
    if (dc0 && lstm)
        memcpy(dc0, dc, sizeof(REAL) * BH);

    /* The big GEMMs over all T*B rows. */
    const REAL *hprev = hbuf + (reverse ? BH : 0);
    GEMM(1, 0, GH, H, (int)TB, 1, dG, GH, hprev, H, 1, dw_hh, H);
    SFX(colsum_add)(db_hh, dG, TB, GH, GH);
    if (gru) {
        /* input side: r|z blocks as for the hidden side, n block from hnp */
        GEMM(1, 0, 2 * H, I, (int)TB, 1, dG, GH, x, I, 1, dw_ih, I);
        GEMM(1, 0, H, I, (int)TB, 1, hnp, H, x, I, 1, dw_ih + (size_t)2 * H * I, I);
        SFX(colsum_add)(db_ih, dG, TB, 2 * H, GH);
        SFX(colsum_add)(db_ih + 2 * H, hnp, TB, H, H);
        if (dx) {
            GEMM(0, 0, (int)TB, I, 2 * H, 1, dG, GH, w_ih, I,
                 accumulate_dx ? 1 : 0, dx, I);
            GEMM(0, 0, (int)TB, I, H, 1, hnp, H, w_ih + (size_t)2 * H * I, I, 1,
                 dx, I);
        }
    } else {
        GEMM(1, 0, GH, I, (int)TB, 1, dG, GH, x, I, 1, dw_ih, I);
        SFX(colsum_add)(db_ih, dG, TB, GH, GH);
        if (dx)
            GEMM(0, 0, (int)TB, I, GH, 1, dG, GH, w_ih, I,
                 accumulate_dx ? 1 : 0, dx, I);
    }
}
