/*
 * attention_impl.h -- the attention core, written once over a scalar type.
 * Included by attention.c with REAL, SFX and TANH, EXP defined; see
 * attention.h for the equations and layouts.
 */

/* a . b over n in 16 interleaved partial sums combined pairwise: a fixed
 * order, so the same result on every machine and thread count, and 16
 * independent chains that vectorize (one running sum, a chain of n
 * dependent additions, took ~14% of beam decoding) */
static REAL SFX(attn_dot)(const REAL *restrict a, const REAL *restrict b, int n)
{
    REAL p[16] = {0};
    int j = 0;
    for (; j + 16 <= n; j += 16)
        for (int l = 0; l < 16; l++)
            p[l] += a[j + l] * b[j + l];
    for (int w = 8; w >= 1; w /= 2)
        for (int l = 0; l < w; l++)
            p[l] += p[l + w];
    REAL sum = p[0];
    for (; j < n; j++)
        sum += a[j] * b[j];
    return sum;
}

/* y += a x over n, in blocks of 16 that GCC's -O2 vectorizes (its cheap
 * cost model leaves a loop of unknown count scalar) */
static void SFX(attn_axpy)(REAL *restrict y, REAL a, const REAL *restrict x, int n)
{
    int j = 0;
    for (; j + 16 <= n; j += 16)
        for (int l = 0; l < 16; l++)
            y[j + l] += a * x[j + l];
    for (; j < n; j++)
        y[j] += a * x[j];
}

void SFX(rnn__attn_forward)(int additive, int T, int S, int B, int H, REAL *alpha, REAL *ctx,
                            const REAL *q, const REAL *k, const REAL *e, const REAL *v,
                            const int32_t *src_len, const int32_t *tgt_len, REAL *scratch)
{
    REAL *u = scratch; /* [H] additive: one row of tanh(q + k) */
    for (int t = 0; t < T; t++)
        for (int b = 0; b < B; b++) {
            const size_t r = (size_t)t * B + b;
            REAL *a = alpha + r * S, *c = ctx + r * H;
            memset(a, 0, sizeof(REAL) * (size_t)S);
            memset(c, 0, sizeof(REAL) * (size_t)H);
            if (tgt_len && t >= tgt_len[b])
                continue;
            const int Sb = src_len ? src_len[b] : S;
            const REAL *qr = q + r * H;
            REAL mx = 0;
            for (int s = 0; s < Sb; s++) {
                const REAL *kr = k + ((size_t)s * B + b) * H;
                REAL sc;
                if (additive) {
                    /* the tanh pass alone, so that it vectorizes; then the dot */
                    for (int j = 0; j < H; j++)
                        u[j] = TANH(qr[j] + kr[j]);
                    sc = SFX(attn_dot)(v, u, H);
                } else
                    sc = SFX(attn_dot)(qr, kr, H);
                a[s] = sc;
                mx = s == 0 || sc > mx ? sc : mx;
            }
            REAL sum = 0;
            for (int s = 0; s < Sb; s++) {
                a[s] = EXP(a[s] - mx);
                sum += a[s];
            }
            const REAL inv = (REAL)1 / sum;
            for (int s = 0; s < Sb; s++) {
                a[s] *= inv;
                SFX(attn_axpy)(c, a[s], e + ((size_t)s * B + b) * H, H);
            }
        }
}

void SFX(rnn__attn_backward)(int additive, int T, int S, int B, int H, REAL *dq, REAL *dk,
                             REAL *de, REAL *dv, const REAL *dctx, const REAL *alpha,
                             const REAL *q, const REAL *k, const REAL *e, const REAL *v,
                             const int32_t *src_len, const int32_t *tgt_len, REAL *scratch)
{
    REAL *ds = scratch; /* [S] dL/dalpha, then dL/dscore; then [H] */
    for (int t = 0; t < T; t++)
        for (int b = 0; b < B; b++) {
            if (tgt_len && t >= tgt_len[b])
                continue;
            const size_t r = (size_t)t * B + b;
            const int Sb = src_len ? src_len[b] : S;
            const REAL *a = alpha + r * S, *dc = dctx + r * H, *qr = q + r * H;
            REAL *dqr = dq + r * H;
            /* context: dalpha_s = dctx . e_s, de_s += alpha_s dctx */
            REAL dot = 0;
            for (int s = 0; s < Sb; s++) {
                const size_t rs = ((size_t)s * B + b) * H;
                const REAL *er = e + rs;
                REAL *der = de + rs;
                const REAL g = SFX(attn_dot)(dc, er, H);
                SFX(attn_axpy)(der, a[s], dc, H);
                ds[s] = g;
                dot += a[s] * g;
            }
            /* softmax: dscore_s = alpha_s (dalpha_s - sum alpha dalpha) */
            for (int s = 0; s < Sb; s++)
                ds[s] = a[s] * (ds[s] - dot);
            for (int s = 0; s < Sb; s++) {
                const size_t rs = ((size_t)s * B + b) * H;
                const REAL *kr = k + rs;
                REAL *dkr = dk + rs;
                const REAL g = ds[s];
                if (additive) {
                    REAL *u = ds + S; /* the forward's tanh, recomputed */
                    for (int j = 0; j < H; j++)
                        u[j] = TANH(qr[j] + kr[j]);
                    for (int j = 0; j < H; j++) {
                        const REAL gu = g * v[j] * (1 - u[j] * u[j]);
                        dv[j] += g * u[j];
                        dqr[j] += gu;
                        dkr[j] += gu;
                    }
                } else {
                    SFX(attn_axpy)(dqr, g, kr, H);
                    SFX(attn_axpy)(dkr, g, qr, H);
                }
            }
        }
}
