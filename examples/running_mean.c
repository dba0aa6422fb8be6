/*
 * running_mean.c -- the public API in one page: a GRU learns, from sequences
 * of random numbers, to report their mean in its final state (many-to-one).
 *
 *   cc running_mean.c $(pkg-config --cflags --libs rnn) -o running_mean
 *
 * Create a stack, run forward over a batch of sequences, compute a loss on
 * the final hidden state, backward, update the flat parameter buffer with
 * plain SGD. Prints the loss as it falls.
 */
#include <rnn.h>

#include <stdio.h>
#include <stdlib.h>

enum { T = 12, B = 32, I = 1, H = 8, STEPS = 400 };

static float uniform(unsigned *state) /* [-1, 1), a tiny LCG is enough here */
{
    *state = *state * 1664525u + 1013904223u;
    return (float)(*state >> 8) / 8388608.0f - 1.0f;
}

int main(void)
{
    rnn_stack_config cfg = {.cell = RNN_CELL_GRU, .input_size = I, .hidden_size = H,
                            .num_layers = 1, .bidirectional = 0, .dropout = 0};
    rnn_stack *net;
    rnn_error err;
    if (rnn_stack_new(&net, &cfg, 42, &err) != RNN_OK) {
        fprintf(stderr, "rnn_stack_new: %s\n", err.msg);
        return 1;
    }
    static float x[T * B * I], hn[B * H], dhn[B * H];
    size_t nparams;
    float *w = rnn_stack_params(net, &nparams), *g = rnn_stack_grads(net, NULL);
    unsigned seed = 1;
    printf("GRU with %zu parameters learns the mean of %d numbers\n", nparams, T);
    for (int step = 1; step <= STEPS; step++) {
        float target[B] = {0};
        for (int t = 0; t < T; t++)
            for (int b = 0; b < B; b++) {
                x[t * B + b] = uniform(&seed);
                target[b] += x[t * B + b] / T;
            }
        /* forward in training mode keeps what backward needs */
        if (rnn_stack_forward(net, NULL, hn, NULL, x, NULL, NULL, NULL, T, B, 1) != RNN_OK) {
            fprintf(stderr, "forward: %s\n", rnn_stack_errmsg(net));
            return 1;
        }
        /* loss: mean squared error of hidden unit 0 against the mean */
        double loss = 0;
        for (int b = 0; b < B; b++) {
            float e = hn[b * H] - target[b];
            loss += (double)e * e / B;
            for (int j = 0; j < H; j++)
                dhn[b * H + j] = j == 0 ? 2 * e / B : 0;
        }
        rnn_stack_zero_grad(net);
        if (rnn_stack_backward(net, NULL, NULL, NULL, NULL, dhn, NULL) != RNN_OK) {
            fprintf(stderr, "backward: %s\n", rnn_stack_errmsg(net));
            return 1;
        }
        for (size_t i = 0; i < nparams; i++) /* SGD on the flat buffer */
            w[i] -= 0.5f * g[i];
        if (step == 1 || step % 100 == 0)
            printf("step %3d  loss %.5f\n", step, loss);
    }
    rnn_stack_free(net);
    return 0;
}
