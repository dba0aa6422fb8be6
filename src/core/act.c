/* act.c -- vector sigmoid and tanh over arrays (see act_inline.h). */
#include "core/core.h"

void rnn__vsigmoid(float *y, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = rnn__sigmoidf(x[i]);
}

void rnn__vtanh(float *y, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = rnn__tanhf(x[i]);
}
