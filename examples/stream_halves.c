/*
 * stream_halves.c -- the streaming API: one sample in, one output out, no
 * allocation per step, with the weights kept as floats, binary16 or
 * bfloat16 (rnn_stream_new_ex).
 *
 *   cc stream_halves.c $(pkg-config --cflags --libs rnn) -o stream_halves
 *
 * A 64-unit LSTM model (1 input, 1 output; untrained: what matters here is
 * the API and the arithmetic) steps through a sampled signal three times,
 * once per weight format. Prints each format's time per step and how far
 * its outputs stay from the float ones.
 */
#include <rnn.h>

#include <math.h>
#include <stdio.h>
#include <time.h>

enum { STEPS = 20000 };

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(void)
{
    rnn_model_config cfg = {.vocab_size = 0, .embed_size = 0, .input_size = 1, .cell = RNN_CELL_LSTM,
                            .hidden_size = 64, .num_layers = 1, .bidirectional = 0, .dropout = 0.0f,
                            .output_size = 1};
    rnn_model *m;
    rnn_error err;
    if (rnn_model_new(&m, &cfg, 7, &err) != RNN_OK) {
        fprintf(stderr, "rnn_model_new: %s\n", err.msg);
        return 1;
    }
    static const rnn_stream_weights formats[] = {RNN_STREAM_F32, RNN_STREAM_F16, RNN_STREAM_BF16};
    static const char *const names[] = {"float32", "binary16", "bfloat16"};
    static float out[3][STEPS];
    for (int f = 0; f < 3; f++) {
        rnn_stream *s;
        /* one stream; the stream object keeps its own copy of the weights */
        if (rnn_stream_new_ex(&s, m, 1, formats[f], &err) != RNN_OK) {
            fprintf(stderr, "rnn_stream_new_ex: %s\n", err.msg);
            return 1;
        }
        double t0 = now_s();
        for (int t = 0; t < STEPS; t++) {
            float x = (float)sin(0.05 * t) + 0.3f * (float)sin(0.31 * t); /* the next sample */
            rnn_stream_step(s, &out[f][t], NULL, &x);
        }
        double us = (now_s() - t0) / STEPS * 1e6;
        double worst = 0;
        for (int t = 0; t < STEPS; t++)
            worst = fmax(worst, fabs((double)out[f][t] - out[0][t]));
        printf("%-9s %.3f us per step, outputs within %.2g of float32's\n", names[f], us, worst);
        rnn_stream_free(s);
    }
    rnn_model_free(m);
    return 0;
}
