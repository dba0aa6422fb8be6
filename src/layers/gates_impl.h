/*
 * gates_impl.h -- the fused pointwise math of one batch row of one time
 * step, for each cell, forward and backward (equations in recurrent_impl.h).
 * Written once over REAL, SIGM and TANH; KFN(name) names the instance.
 * Included by recurrent.c (double, for gradient checks) and by
 * kernels_isa.c (float, compiled once per instruction set).
 */

/* ---- pointwise kernels: one batch row of one step ----------------------- */

#ifndef GATES_OWN_LSTM_FWD
static void KFN(lstm_fwd_row)(int H, REAL *restrict g, REAL *restrict h,
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
#endif

/* On entry dh, dc hold the gradients of h', c'. On exit g holds the gate
 * pre-activation gradients, dc the gradient of c, dh zero (h reaches the
 * next step only through the recurrent GEMM). */
static void KFN(lstm_bwd_row)(int H, REAL *restrict g, REAL *restrict dh,
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
#ifndef GATES_OWN_GRU_FWD
static void KFN(gru_fwd_row)(int H, REAL *restrict g, REAL *restrict hnp,
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
#endif

/* On exit g holds the hidden-side gradients (r | z | dn_pre * r), hnp the
 * input-side gradient of the n block (dn_pre), dh the direct part of the
 * gradient of h_prev (z * dh). */
static void KFN(gru_bwd_row)(int H, REAL *restrict g, REAL *restrict hnp,
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

#ifndef GATES_OWN_RNN_FWD
static void KFN(rnn_fwd_row)(int H, int relu, const REAL *restrict g,
                             REAL *restrict h)
{
    if (relu)
        for (int j = 0; j < H; j++)
            h[j] = g[j] > 0 ? g[j] : 0;
    else
        for (int j = 0; j < H; j++)
            h[j] = TANH(g[j]);
}
#endif

static void KFN(rnn_bwd_row)(int H, int relu, REAL *restrict g,
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


/* ---- the recurrent layer's other per-element loops ----------------------
 * Vectorized here (the ISA files are compiled with -O3) rather than left as
 * scalar loops in recurrent_impl.h (-O2): the same additions in the same
 * order, so the results do not change. */

/* y[j] += x[j] */
static void KFN(add_row)(int n, REAL *restrict y, const REAL *restrict x)
{
    for (int j = 0; j < n; j++)
        y[j] += x[j];
}

/* The folded biases of `rows` rows of gate pre-activations (row stride ld),
 * columns [0, n): g += b1 + b2 in the first nb columns, g += b1 after
 * (GRU's n block, whose b_hn the reset gate multiplies). */
static void KFN(bias_rows)(int rows, int ld, int n, int nb, REAL *restrict g,
                           const REAL *restrict b1, const REAL *restrict b2)
{
    for (int r = 0; r < rows; r++, g += ld) {
        for (int j = 0; j < nb; j++)
            g[j] += b1[j] + b2[j];
        for (int j = nb; j < n; j++)
            g[j] += b1[j];
    }
}

/* Column sums of `rows` rows (stride ld) of `cols` columns, added row by row
 * in order to o1 and, when not NULL, to o2 (the bias gradients). */
static void KFN(colsum_rows)(size_t rows, int cols, int ld, const REAL *restrict a,
                             REAL *restrict o1, REAL *restrict o2)
{
    for (size_t r = 0; r < rows; r++, a += ld) {
        for (int j = 0; j < cols; j++)
            o1[j] += a[j];
        if (o2)
            for (int j = 0; j < cols; j++)
                o2[j] += a[j];
    }
}
