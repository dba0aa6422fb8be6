/* main.c -- the `rnn` command: dispatches to one verb per cmd_*.c. */
#include "cli/cli.h"
#include "core/core.h"
#include "layers/kernels.h"

#include <stdio.h>
#include <string.h>

typedef struct verb {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
} verb;

static const verb verbs[] = {
    {"train", cmd_train, "train a character-level language model on a text"},
    {"sample", cmd_sample, "generate text from a trained character model"},
    {"eval", cmd_eval, "measure a character model on a text (nats, bits per char, perplexity)"},
    {"task", cmd_task, "built-in tasks that generate their own data"},
    {"bench", cmd_bench, "measure training, inference and streaming speed (JSON lines)"},
    {"run", cmd_run, "run a PyTorch RNN/LSTM/GRU state_dict on .npy data, with gradients"},
    {"forecast", cmd_forecast, "time-series forecasting, judged against the naive baselines"},
    {"classify", cmd_classify, "sequence classification and labelling (many-to-one, many-to-many)"},
    {"seq2seq", cmd_seq2seq, "encoder-decoder with attention: train on source<TAB>target pairs, translate"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: rnn <command> [options]   (rnn <command> --help for details)\n\n"
               "Recurrent neural networks (RNN, LSTM, GRU) in C, numerically identical to PyTorch.\n\n"
               "commands:\n");
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
        fprintf(f, "  %-10s %s\n", verbs[i].name, verbs[i].summary);
    fprintf(f, "\n  --version  print the version\n\n"
               "Exit status: 0 success, 1 internal error, 2 bad input.\n"
               "Documentation: docs/ in the source tree.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return cli_error(NULL, CLI_EXIT_INPUT, "missing command (see 'rnn --help')");
    const char *v = argv[1];
    if (strcmp(v, "-h") == 0 || strcmp(v, "--help") == 0 || strcmp(v, "help") == 0) {
        if (argc > 2 && strcmp(v, "help") == 0) {
            for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
                if (strcmp(argv[2], verbs[i].name) == 0) {
                    char help[] = "--help";
                    char *args[] = {help, NULL};
                    return verbs[i].fn(1, args);
                }
            return cli_error(NULL, CLI_EXIT_INPUT, "no command '%s' (see 'rnn --help')", argv[2]);
        }
        usage(stdout);
        return 0;
    }
    if (strcmp(v, "--version") == 0 || strcmp(v, "version") == 0) {
        /* the second line names what this build and CPU run on: results
         * are bitwise reproducible only within the same paths
         * (docs/reliability.md, "Determinism") */
        printf("rnn %s\ngemm: %s, pointwise kernels: %s\n", RNN_VERSION_STRING,
               rnn__gemm_backend(), rnn__kernels_get()->name);
        return 0;
    }
    int bad_env = cli_check_env();
    if (bad_env)
        return bad_env;
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
        if (strcmp(v, verbs[i].name) == 0)
            return verbs[i].fn(argc - 2, argv + 2);
    return cli_error(NULL, CLI_EXIT_INPUT, "unknown command '%s' (see 'rnn --help')", v);
}
