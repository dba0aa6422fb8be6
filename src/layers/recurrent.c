/*
 * recurrent.c -- vanilla RNN (tanh, relu), LSTM and GRU layers, one
 * direction over a whole sequence. The code is in recurrent_impl.h, written
 * once and compiled here for float (the engine) and double (gradient checks).
 */
#include "layers/layers.h"

#include <math.h>
#include <string.h>

const char *rnn_cell_name(rnn_cell cell)
{
    switch (cell) {
    case RNN_CELL_RNN_TANH: return "rnn_tanh";
    case RNN_CELL_RNN_RELU: return "rnn_relu";
    case RNN_CELL_LSTM: return "lstm";
    case RNN_CELL_GRU: return "gru";
    }
    return "unknown";
}

int rnn_cell_gates(rnn_cell cell)
{
    switch (cell) {
    case RNN_CELL_RNN_TANH:
    case RNN_CELL_RNN_RELU: return 1;
    case RNN_CELL_LSTM: return 4;
    case RNN_CELL_GRU: return 3;
    }
    return 0;
}

size_t rnn__rec_param_count(rnn_cell cell, int I, int H)
{
    size_t gh, per_row, n;
    if (I <= 0 || H <= 0 || !rnn__mul(&gh, (size_t)rnn_cell_gates(cell), (size_t)H) ||
        !rnn__add(&per_row, (size_t)I, (size_t)H) || !rnn__add(&per_row, per_row, 2) ||
        !rnn__mul(&n, gh, per_row))
        return 0;
    return n;
}

size_t rnn__rec_cache_count(rnn_cell cell, int T, int B, int H)
{
    size_t gates, states, n;
    int G = rnn_cell_gates(cell);
    int nstate = cell == RNN_CELL_LSTM || cell == RNN_CELL_GRU ? 2 : 1;
    if (T <= 0 || B <= 0 || H <= 0 ||
        !rnn__mul4(&gates, (size_t)T, (size_t)B, (size_t)G, (size_t)H) ||
        !rnn__mul4(&states, (size_t)T + 1, (size_t)B, (size_t)H, (size_t)nstate) ||
        !rnn__add(&n, gates, states))
        return 0;
    return n;
}

size_t rnn__rec_scratch_count(rnn_cell cell, int B, int H)
{
    int G = rnn_cell_gates(cell);
    size_t n;
    if (B <= 0 || H <= 0 ||
        !rnn__mul4(&n, (size_t)B, (size_t)H, (size_t)(G > 2 ? G : 2), 1))
        return 0;
    return n;
}

/* float: the vectorizable approximations of core/act_inline.h */
#define REAL float
#define SFX(name) name
#define GEMM rnn__sgemm
#define SIGM(x) rnn__sigmoidf(x)
#define TANH(x) rnn__tanhf(x)
#include "layers/recurrent_impl.h"
#undef REAL
#undef SFX
#undef GEMM
#undef SIGM
#undef TANH

/* double: libm, for finite-difference checks of the same code */
#define REAL double
#define SFX(name) name##_f64
#define GEMM rnn__dgemm
#define SIGM(x) (1.0 / (1.0 + exp(-(x))))
#define TANH(x) tanh(x)
#include "layers/recurrent_impl.h"
