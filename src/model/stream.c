/*
 * stream.c -- streaming inference: one time step for S independent
 * streams, nothing allocated per step.
 *
 * For RNN and LSTM layers the input and recurrent products are one product
 * of [x_t, h_{t-1}] with the concatenated weights [W_ih | W_hh], whose
 * transpose is packed once at creation for the GEMM kernels; the two
 * biases are pre-summed. GRU keeps the two products apart (the reset gate
 * multiplies W_hn h + b_hn only). States are double-buffered because the
 * fused gate kernels read the old state while writing the new one.
 */
#include "model/model.h"

#include "io/io.h"
#include "layers/kernels.h"
#include "layers/layers.h"

#include <math.h>
#include <string.h>

/* A weight operand W^T (K x N) ready for y += x W^T: packed for the GEMM
 * kernels when several streams step together, or in the column panels of
 * the batch-1 matrix-vector kernel (rnn__kernels.gemv), which reads each
 * panel once front to back, in alternate directions on alternate steps
 * (the weights of even a 64->64 LSTM sit in L2, and the panels read last
 * are then still in L1 when the next step starts). Half-precision weights
 * (fmt) are kept as halves for the batch-1 kernel, which widens them as it
 * reads (half the bytes to bring from L2), and rounded to half precision
 * but stored as floats for the GEMM kernels (the same weights either way). */
typedef struct operand {
    void *p;
    int K, N, ldw; /* ldw: N padded to whole panels (gemv), or N (packed) */
    int gemv, V;   /* gemv: vectors per panel */
    int fmt;       /* RNN__GEMV_F32, _F16 or _BF16 */
} operand;

typedef struct stream_layer {
    int in, K;       /* input width; K = in + H (RNN/LSTM) or in (GRU)  */
    operand w;       /* [W_ih | W_hh]^T (K x GH), or W_ih^T (GRU) */
    operand whh;     /* GRU: W_hh^T (H x GH) */
    float *bias;     /* [GH]: b_ih + b_hh (GRU: b_ih, plus b_hr, b_hz) */
    const float *bn; /* GRU: b_hn (points into `bias_n`) */
    float *bias_n;   /* GRU: [H] copy of b_hn */
} stream_layer;

struct rnn_stream {
    rnn_model_config cfg;
    int S, H, G, GH, L, in0, O;
    int in1;              /* in0 + cond_size: the first layer's input       */
    float *cond_table;    /* [cond_classes][cond_size] copy                 */
    int32_t *cond;        /* [S] each stream's condition id                 */
    const rnn__kernels *kern;
    stream_layer *layer;  /* [L] */
    float *embed;         /* [V][E] copy (token models) */
    operand head_w;       /* head^T (H x O) */
    float *head_b;        /* [O] */
    float *hout;          /* [S][head ldw] the head's padded output (gemv) */
    float *h[2], *c[2];   /* [L][S][H] double-buffered states */
    int cur;              /* which buffer holds the current state */
    float *z;             /* [S][Kmax] concatenated inputs */
    float *g, *gh, *hnp;  /* [S][GH], [S][GH], [S][H] */
    float *x0;            /* [S][in0] the embedded tokens */
};

static float round_half(float w, int fmt)
{
    if (fmt == RNN__GEMV_F16)
        return rnn__half_to_float(rnn__float_to_half(w));
    if (fmt == RNN__GEMV_BF16)
        return rnn__bf16_to_float(rnn__float_to_bf16(w));
    return w;
}

/* W is [N][K] row-major (a PyTorch weight); the operand holds W^T. vw: the
 * gemv's vector width (floats). */
static int prep(operand *o, int gemv, int fmt, int vw, int K, int N, const float *W, int ldw_src)
{
    o->K = K;
    o->N = N;
    o->gemv = gemv;
    o->fmt = fmt;
    if (!gemv) {
        o->ldw = N;
        float *r = NULL; /* the weights rounded to the format, as floats */
        if (fmt != RNN__GEMV_F32) {
            if (!(r = rnn__alloc_floats((size_t)N * K)))
                return 0;
            for (int n = 0; n < N; n++)
                for (int k = 0; k < K; k++)
                    r[(size_t)n * K + k] = round_half(W[(size_t)n * ldw_src + k], fmt);
            W = r;
            ldw_src = K;
        }
        o->p = rnn__alloc_floats(rnn__sgemm_pack_size(K, N));
        if (o->p)
            rnn__sgemm_pack_b(o->p, 1, K, N, W, ldw_src);
        rnn__free_floats(r);
        return o->p != NULL;
    }
    /* 2-vector panels, read in alternate directions, for weights beyond
     * L1; weights that fit it take the widest panel N allows (the fewest
     * reductions; the direction then changes nothing). Halves take 4-vector
     * panels where N allows: read from L1 for the most part, they are
     * bound by the widening and the FMAs more than by L2, and fewer panels
     * mean fewer reductions (bfloat16 64->64 LSTM: 0.39 against 0.48 us
     * per product; binary16 0.53 against 0.54; micro-benchmark, AVX-512). */
    const size_t es = fmt == RNN__GEMV_F32 ? sizeof(float) : sizeof(uint16_t);
    o->V = 2;
    if ((size_t)K * N * es <= 32768)
        while (o->V < 8 && 2 * o->V * vw <= N)
            o->V *= 2;
    else if (es == sizeof(uint16_t) && 4 * vw <= N)
        o->V = 4;
    const int panel = o->V * vw;
    o->ldw = (N + panel - 1) / panel * panel;
    /* zeroed: the padding stays 0 */
    o->p = es == sizeof(float) ? (void *)rnn__alloc_floats((size_t)K * o->ldw)
                               : rnn__alloc_floats(((size_t)K * o->ldw + 1) / 2);
    if (!o->p)
        return 0;
    for (int n = 0; n < N; n++) {
        const size_t base = (size_t)(n / panel) * K * panel;
        if (fmt == RNN__GEMV_F32) {
            float *col = (float *)o->p + base + n % panel;
            for (int k = 0; k < K; k++)
                col[(size_t)k * panel] = W[(size_t)n * ldw_src + k];
        } else {
            uint16_t *col = (uint16_t *)o->p + base + rnn__gemv_half_col(fmt, vw, n % panel);
            for (int k = 0; k < K; k++) {
                float w = W[(size_t)n * ldw_src + k];
                col[(size_t)k * panel] = fmt == RNN__GEMV_F16 ? rnn__float_to_half(w) : rnn__float_to_bf16(w);
            }
        }
    }
    return 1;
}

/* y[S][ldy] = b + x[S][ldx] W^T, or with b NULL y (+)= x W^T (beta 0 or
 * 1). b has room for the operand's padded row (ldw floats, the padding
 * zero); so must y with gemv (the padding is written with zeros), and
 * `reverse` (alternated by the caller) is the order of its panels. The
 * batch-1 kernel adds b itself (the bits of a copy of b followed by +=,
 * without the copy: bfloat16 64->64 LSTM step -2%, float and binary16
 * the same within the noise; pinned A/B, 2026-11-24). */
static void apply(const rnn__kernels *k, const operand *o, int S, const float *x, int ldx, float beta,
                  const float *b, float *y, int ldy, int reverse)
{
    if (!o->gemv) {
        if (b)
            for (int i = 0; i < S; i++)
                memcpy(y + (size_t)i * ldy, b, sizeof(float) * (size_t)o->N);
        rnn__sgemm_packed(S, o->N, o->K, 1.0f, x, ldx, o->p, b ? 1.0f : beta, y, ldy);
        return;
    }
    for (int i = 0; i < S; i++) {
        float *yi = y + (size_t)i * ldy;
        if (!b && beta == 0.0f)
            memset(yi, 0, sizeof(float) * (size_t)o->ldw);
        if (o->fmt == RNN__GEMV_F32)
            k->gemv(yi, x + (size_t)i * ldx, o->p, o->K, o->ldw, o->V, reverse, b);
        else
            k->gemv_half(yi, x + (size_t)i * ldx, o->p, o->K, o->ldw, o->V, reverse, o->fmt, b);
    }
}

void rnn_stream_free(rnn_stream *s)
{
    if (!s)
        return;
    for (int l = 0; s->layer && l < s->L; l++) {
        rnn__free_floats(s->layer[l].w.p);
        rnn__free_floats(s->layer[l].whh.p);
        rnn__free_floats(s->layer[l].bias);
        rnn__free_floats(s->layer[l].bias_n);
    }
    rnn__free(s->layer);
    rnn__free_floats(s->embed);
    rnn__free_floats(s->head_w.p);
    rnn__free_floats(s->head_b);
    rnn__free_floats(s->hout);
    for (int k = 0; k < 2; k++) {
        rnn__free_floats(s->h[k]);
        rnn__free_floats(s->c[k]);
    }
    rnn__free_floats(s->z);
    rnn__free_floats(s->g);
    rnn__free_floats(s->gh);
    rnn__free_floats(s->hnp);
    rnn__free_floats(s->x0);
    rnn__free_floats(s->cond_table);
    rnn__free(s->cond);
    rnn__free(s);
}

/* Whether one of the n weights W is beyond half precision's range (|w|
 * rounds past 65504 to an infinity); *v: the first such. */
static int beyond_half(const float *W, size_t n, float *v)
{
    for (size_t i = 0; i < n; i++)
        if (isfinite(W[i]) && isinf(round_half(W[i], RNN__GEMV_F16))) {
            *v = W[i];
            return 1;
        }
    return 0;
}

rnn_status rnn_stream_new(rnn_stream **out, const rnn_model *m, int streams, rnn_error *err)
{
    return rnn_stream_new_ex(out, m, streams, RNN_STREAM_F32, err);
}

rnn_status rnn_stream_new_ex(rnn_stream **out, const rnn_model *m, int streams, rnn_stream_weights weights,
                             rnn_error *err)
{
    *out = NULL;
    if (weights != RNN_STREAM_F32 && weights != RNN_STREAM_F16 && weights != RNN_STREAM_BF16)
        return rnn__fail(err, RNN_EINVAL, "weights must be RNN_STREAM_F32, _F16 or _BF16, not %d", (int)weights);
    const int fmt = weights == RNN_STREAM_F16    ? RNN__GEMV_F16
                    : weights == RNN_STREAM_BF16 ? RNN__GEMV_BF16
                                                 : RNN__GEMV_F32;
    if (m->cfg.bidirectional)
        return rnn__fail(err, RNN_EINVAL, "a bidirectional model cannot be streamed "
                         "(its reverse direction reads the future)");
    if (streams < 1 || streams > (1 << 20))
        return rnn__fail(err, RNN_EINVAL, "streams must be in 1..1048576, not %d", streams);
    if (m->cfg.conv_filters > 0)
        return rnn__fail(err, RNN_EUNSUPPORTED, "a model with a convolution cannot be streamed "
                         "one step at a time; run it on whole windows (rnn_model_forward)");
    if (m->cfg.readout != RNN_READOUT_STEPS && m->cfg.readout != RNN_READOUT_LAST)
        return rnn__fail(err, RNN_EUNSUPPORTED, "a model pooling over the whole sequence (mean, "
                         "max, attention) has no output per step to stream");
    rnn_stream *s = rnn__calloc(1, sizeof *s);
    if (!s)
        return rnn__fail(err, RNN_ENOMEM, "out of memory");
    const rnn_model_config *c = &m->cfg;
    s->cfg = *c;
    s->S = streams;
    s->H = c->hidden_size;
    s->G = rnn_cell_gates(c->cell);
    s->GH = s->G * s->H;
    s->L = c->num_layers;
    s->in0 = m->in0;
    s->in1 = m->in;
    s->O = c->output_size;
    s->kern = rnn__kernels_get();
    if (fmt == RNN__GEMV_F16 && s->kern->gemv_half_f16c && !rnn__cpu_has_f16c())
        s->kern = rnn__kernels_by_name("portable"); /* F16C hidden (a virtual machine) */
    const int pw = s->kern->gemv_width; /* the gemv's vector width */
    const int gru = c->cell == RNN_CELL_GRU, S = streams, H = s->H, GH = s->GH;
    const int padg = (GH + 8 * pw - 1) / (8 * pw) * (8 * pw); /* room for any gemv padding */
    s->layer = rnn__calloc((size_t)s->L, sizeof *s->layer);
    if (!s->layer)
        goto oom;
    int kmax = 0;
    for (int l = 0; l < s->L; l++) {
        stream_layer *ly = &s->layer[l];
        const float *w = m->stack.params + m->stack.dir_off[l];
        int in = l == 0 ? m->in : H;
        const float *w_ih = w, *w_hh = w + (size_t)GH * in, *b_ih = w_hh + (size_t)GH * H,
                    *b_hh = b_ih + GH;
        ly->in = in;
        float bad;
        if (fmt == RNN__GEMV_F16 && (beyond_half(w_ih, (size_t)GH * in, &bad) ||
                                     beyond_half(w_hh, (size_t)GH * H, &bad))) {
            rnn_stream_free(s);
            return rnn__fail(err, RNN_EINVAL, "layer %d holds a weight (%g) beyond half precision's range "
                             "(65504); stream it with bfloat16 or float weights", l, (double)bad);
        }
        ly->bias = rnn__alloc_floats((size_t)padg); /* zeroed: the gemv's padding adds 0 */
        if (!ly->bias)
            goto oom;
        if (gru) {
            ly->K = in;
            ly->bias_n = rnn__alloc_floats((size_t)H);
            if (!prep(&ly->w, S == 1, fmt, pw, in, GH, w_ih, in) ||
                !prep(&ly->whh, S == 1, fmt, pw, H, GH, w_hh, H) || !ly->bias_n)
                goto oom;
            for (int j = 0; j < GH; j++)
                ly->bias[j] = j < 2 * H ? b_ih[j] + b_hh[j] : b_ih[j];
            memcpy(ly->bias_n, b_hh + 2 * H, sizeof(float) * (size_t)H);
            ly->bn = ly->bias_n;
        } else {
            ly->K = in + H;
            /* [W_ih | W_hh]: row j of the concatenation is w_ih row j, w_hh row j */
            float *cat = rnn__alloc_floats((size_t)GH * ly->K);
            if (!cat)
                goto oom;
            for (int j = 0; j < GH; j++) {
                memcpy(cat + (size_t)j * ly->K, w_ih + (size_t)j * in, sizeof(float) * (size_t)in);
                memcpy(cat + (size_t)j * ly->K + in, w_hh + (size_t)j * H, sizeof(float) * (size_t)H);
            }
            int ok = prep(&ly->w, S == 1, fmt, pw, ly->K, GH, cat, ly->K);
            rnn__free_floats(cat);
            if (!ok)
                goto oom;
            for (int j = 0; j < GH; j++)
                ly->bias[j] = b_ih[j] + b_hh[j];
        }
        if (ly->K > kmax)
            kmax = ly->K;
    }
    if (c->vocab_size > 0) {
        size_t ne = (size_t)c->vocab_size * c->embed_size;
        if (!(s->embed = rnn__alloc_floats(ne)))
            goto oom;
        memcpy(s->embed, m->params + m->off_embed, ne * sizeof(float));
    }
    if (c->cond_classes > 0) {
        size_t nc = (size_t)c->cond_classes * c->cond_size;
        s->cond_table = rnn__alloc_floats(nc);
        s->cond = rnn__calloc((size_t)S, sizeof *s->cond);
        if (!s->cond_table || !s->cond)
            goto oom;
        memcpy(s->cond_table, m->params + m->off_cond, nc * sizeof(float));
    }
    float bad;
    if (fmt == RNN__GEMV_F16 && beyond_half(m->params + m->off_head_w, (size_t)s->O * H, &bad)) {
        rnn_stream_free(s);
        return rnn__fail(err, RNN_EINVAL, "the output layer holds a weight (%g) beyond half precision's "
                         "range (65504); stream it with bfloat16 or float weights", (double)bad);
    }
    if (!prep(&s->head_w, S == 1, fmt, pw, H, s->O, m->params + m->off_head_w, H))
        goto oom;
    s->head_b = rnn__alloc_floats((size_t)s->head_w.ldw); /* zeroed: the padding adds 0 */
    s->hout = rnn__alloc_floats((size_t)S * s->head_w.ldw);
    size_t ns = (size_t)s->L * S * H;
    for (int k = 0; k < 2; k++) {
        s->h[k] = rnn__alloc_floats(ns);
        s->c[k] = rnn__alloc_floats(ns);
    }
    s->z = rnn__alloc_floats((size_t)S * kmax);
    s->g = rnn__alloc_floats((size_t)S * padg);
    s->gh = rnn__alloc_floats((size_t)S * padg);
    s->hnp = rnn__alloc_floats((size_t)S * H);
    s->x0 = rnn__alloc_floats((size_t)S * m->in);
    if (!s->head_b || !s->hout || !s->h[0] || !s->h[1] || !s->c[0] || !s->c[1] || !s->z ||
        !s->g || !s->gh || !s->hnp || !s->x0)
        goto oom;
    memcpy(s->head_b, m->params + m->off_head_b, sizeof(float) * (size_t)s->O);
    *out = s;
    return RNN_OK;
oom:
    rnn_stream_free(s);
    return rnn__fail(err, RNN_ENOMEM, "out of memory creating a stream of %d", streams);
}

void rnn_stream_reset(rnn_stream *s, int k)
{
    for (int b = 0; b < 2; b++)
        for (int l = 0; l < s->L; l++)
            for (int i = 0; i < s->S; i++)
                if (k < 0 || i == k) {
                    size_t o = ((size_t)l * s->S + i) * s->H;
                    memset(s->h[b] + o, 0, sizeof(float) * (size_t)s->H);
                    memset(s->c[b] + o, 0, sizeof(float) * (size_t)s->H);
                }
}

float *rnn_stream_state(rnn_stream *s, int k, int layer, int which)
{
    if (k < 0 || k >= s->S || layer < 0 || layer >= s->L || which < 0 || which > 1)
        return NULL;
    float *base = which ? s->c[s->cur] : s->h[s->cur];
    return base + ((size_t)layer * s->S + k) * s->H;
}

rnn_status rnn_stream_step(rnn_stream *s, float *out, const int32_t *tokens, const float *x)
{
    const int S = s->S, H = s->H, GH = s->GH;
    const int lstm = s->cfg.cell == RNN_CELL_LSTM, gru = s->cfg.cell == RNN_CELL_GRU;
    const int relu = s->cfg.cell == RNN_CELL_RNN_RELU;
    const rnn__kernels *k = s->kern;
    /* the first layer's input: the embedded token or the features, then
     * the condition's embedding (as rnn_model_forward concatenates it) */
    const float *in = x;
    const int cs = s->cfg.cond_classes > 0 ? s->cfg.cond_size : 0;
    if (s->cfg.vocab_size > 0 && !tokens)
        return RNN_EINVAL;
    if (s->cfg.vocab_size == 0 && !x)
        return RNN_EINVAL;
    if (s->cfg.vocab_size > 0 || cs) {
        for (int i = 0; i < S; i++) {
            float *row = s->x0 + (size_t)i * s->in1;
            if (s->cfg.vocab_size > 0) {
                if (tokens[i] < 0 || tokens[i] >= s->cfg.vocab_size)
                    return RNN_EINVAL;
                memcpy(row, s->embed + (size_t)tokens[i] * s->in0, sizeof(float) * (size_t)s->in0);
            } else {
                memcpy(row, x + (size_t)i * s->in0, sizeof(float) * (size_t)s->in0);
            }
            if (cs)
                memcpy(row + s->in0, s->cond_table + (size_t)s->cond[i] * cs, sizeof(float) * (size_t)cs);
        }
        in = s->x0;
    }
    const int cur = s->cur, nxt = cur ^ 1;
    for (int l = 0; l < s->L; l++) {
        const stream_layer *ly = &s->layer[l];
        const size_t so = (size_t)l * S * H;
        const float *hp = s->h[cur] + so, *cp = s->c[cur] + so;
        float *ho = s->h[nxt] + so, *co = s->c[nxt] + so;
        const int ldg = ly->w.gemv ? ly->w.ldw : GH;
        if (gru) {
            apply(k, &ly->w, S, in, ly->in, 1.0f, ly->bias, s->g, ldg, cur);
            apply(k, &ly->whh, S, hp, H, 0.0f, NULL, s->gh, ldg, cur);
            for (int i = 0; i < S; i++)
                k->gru_fwd_row(H, s->g + (size_t)i * ldg, s->hnp + (size_t)i * H, ho + (size_t)i * H,
                               s->gh + (size_t)i * ldg, ly->bn, hp + (size_t)i * H);
        } else {
            for (int i = 0; i < S; i++) {
                float *zi = s->z + (size_t)i * ly->K;
                memcpy(zi, in + (size_t)i * ly->in, sizeof(float) * (size_t)ly->in);
                memcpy(zi + ly->in, hp + (size_t)i * H, sizeof(float) * (size_t)H);
            }
            apply(k, &ly->w, S, s->z, ly->K, 1.0f, ly->bias, s->g, ldg, cur);
            for (int i = 0; i < S; i++) {
                float *gi = s->g + (size_t)i * ldg;
                if (lstm)
                    k->lstm_fwd_row(H, gi, ho + (size_t)i * H, co + (size_t)i * H, cp + (size_t)i * H);
                else
                    k->rnn_fwd_row(H, relu, gi, ho + (size_t)i * H);
            }
        }
        in = ho;
    }
    s->cur = nxt;
    if (out) {
        const int ldo = s->head_w.ldw;
        apply(k, &s->head_w, S, in, H, 1.0f, s->head_b, s->hout, ldo, cur);
        for (int i = 0; i < S; i++)
            memcpy(out + (size_t)i * s->O, s->hout + (size_t)i * ldo, sizeof(float) * (size_t)s->O);
    }
    return RNN_OK;
}

rnn_status rnn_stream_set_condition(rnn_stream *s, int k, int cond)
{
    if (s->cfg.cond_classes < 1 || k < 0 || k >= s->S || cond < 0 || cond >= s->cfg.cond_classes)
        return RNN_EINVAL;
    s->cond[k] = cond;
    return RNN_OK;
}
