/* cmd_bench_stream.c -- `rnn bench stream`: the latency of one streaming
 * step (rnn_stream_step) for S independent streams. */
#include "cli/cli.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int cmd_bench_stream(const char *cellname, int I, int H, int L, int S, int steps)
{
    rnn_cell cell;
    if (strcmp(cellname, "lstm") == 0)
        cell = RNN_CELL_LSTM;
    else if (strcmp(cellname, "gru") == 0)
        cell = RNN_CELL_GRU;
    else if (strcmp(cellname, "rnn") == 0 || strcmp(cellname, "rnn_tanh") == 0)
        cell = RNN_CELL_RNN_TANH;
    else if (strcmp(cellname, "rnn_relu") == 0)
        cell = RNN_CELL_RNN_RELU;
    else
        return cli_error("bench", CLI_EXIT_INPUT, "--cell: expected lstm, gru, rnn or rnn_relu, got '%s'",
                         cellname);
    /* a feature model whose head is as wide as the hidden state: the step
     * the benchmark times is the recurrent cell (the head is cheap) */
    rnn_model_config mc = {.vocab_size = 0, .embed_size = 0, .input_size = I, .cell = cell, .hidden_size = H,
                           .num_layers = L, .bidirectional = 0, .dropout = 0.0f, .output_size = H};
    rnn_model *m;
    rnn_stream *s;
    rnn_error e;
    rnn_status st = rnn_model_new(&m, &mc, 1, &e);
    if (st)
        return cli_fail_status("bench", st, e.msg);
    st = rnn_stream_new(&s, m, S, &e);
    rnn_model_free(m); /* the stream holds its own packed weights */
    if (st)
        return cli_fail_status("bench", st, e.msg);
    float *x = malloc((size_t)S * I * sizeof *x), *y = malloc((size_t)S * H * sizeof *y);
    double *times = malloc((size_t)steps * sizeof *times);
    if (!x || !y || !times) {
        free(x);
        free(y);
        free(times);
        rnn_stream_free(s);
        return cli_error("bench", CLI_EXIT_INTERNAL, "out of memory");
    }
    for (int i = 0; i < S * I; i++)
        x[i] = (float)sin(i * 0.7);
    /* each repetition times a batch of steps: one step is too short to time */
    const int reps = 2000;
    for (int r = 0; r < 3 + steps; r++) {
        double t0 = now_s();
        for (int k = 0; k < reps; k++)
            rnn_stream_step(s, NULL, NULL, x); /* the cell alone, like nn.LSTMCell */
        if (r >= 3)
            times[r - 3] = (now_s() - t0) / reps;
    }
    qsort(times, (size_t)steps, sizeof *times, cmp_double);
    double med = steps % 2 ? times[steps / 2] : 0.5 * (times[steps / 2 - 1] + times[steps / 2]);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("{\"case\": \"stream\", \"cell\": \"%s\", \"layers\": %d, \"input\": %d, \"hidden\": %d, "
           "\"streams\": %d, \"steps\": %d, \"us_per_step\": %.4f, \"peak_rss_mb\": %.1f}\n",
           rnn_cell_name(cell), L, I, H, S, steps, med * 1e6, ru.ru_maxrss / 1024.0);
    free(x);
    free(y);
    free(times);
    rnn_stream_free(s);
    return 0;
}
