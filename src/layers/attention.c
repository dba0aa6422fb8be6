/*
 * attention.c -- the core of global attention (scores, masked softmax,
 * context) for the encoder-decoder; Luong et al. 2015, "Effective
 * Approaches to Attention-based Neural Machine Translation" (dot, general)
 * and Bahdanau et al. 2015 (additive). The code is in attention_impl.h,
 * compiled here for float (the engine) and double (gradient checks).
 */
#include "layers/attention.h"

#include <math.h>
#include <string.h>

#define REAL float
#define SFX(name) name
/* the library's vectorizable exp and tanh (|error| < 1e-6, core.h) */
#define TANH(x) rnn__tanhf(x)
#define EXP(x) rnn__expf(x)
#include "layers/attention_impl.h"
#undef REAL
#undef SFX
#undef TANH
#undef EXP

#define REAL double
#define SFX(name) name##_f64
#define TANH(x) tanh(x)
#define EXP(x) exp(x)
#include "layers/attention_impl.h"
#undef REAL
#undef SFX
#undef TANH
#undef EXP
