/*
 * cli.h -- shared pieces of the command-line tool: option parsing, error
 * reporting and exit codes. Only the CLI prints and exits.
 *
 * Exit status: 0 success, 1 internal error (out of memory, a bug),
 * 2 bad input (files, flags, values), as documented in docs/cli.md.
 */
#ifndef RNN_CLI_H
#define RNN_CLI_H

#include "rnn.h"

#include <stdint.h>

#define CLI_EXIT_INTERNAL 1
#define CLI_EXIT_INPUT 2

typedef enum cli_kind {
    CLI_STR,   /* const char *           */
    CLI_INT,   /* int, range-checked     */
    CLI_U64,   /* uint64_t               */
    CLI_FLOAT, /* double, finite         */
    CLI_FLAG   /* int, set to 1, no value */
} cli_kind;

typedef struct cli_opt {
    const char *name; /* without the leading "--" */
    cli_kind kind;
    void *dst;
    double min, max; /* numeric range (inclusive) when min < max */
    int seen;        /* set by the parser */
} cli_opt;

/* Parses argv (after the verb) into opts and positional arguments.
 * Returns 0 to go on, -1 if --help was printed (exit 0), or an exit code
 * after printing a one-line error. `usage` is printed for --help. */
int cli_parse(const char *verb, int argc, char **argv, cli_opt *opts,
              const char **positional, int min_pos, int max_pos, int *npos,
              const char *usage);
/* The option named `name` in a table, to read its `seen` flag. */
const cli_opt *cli_find(const cli_opt *opts, const char *name);

/* Prints "rnn VERB: message" to stderr; returns `code`. */
int cli_error(const char *verb, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Exit code for a library status: 1 for out-of-memory and internal errors,
 * 2 for everything caused by the input. */
int cli_exit_code(rnn_status st);
/* cli_error(verb, cli_exit_code(st), "%s", msg). */
int cli_fail_status(const char *verb, rnn_status st, const char *msg);
/* Checks the environment variables the library reads (RNN_GEMM,
 * RNN_KERNELS): 0, or an error printed and exit status 2 (env.c). */
int cli_check_env(void);

/* Verbs. */
int cmd_run(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_sample(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_task(int argc, char **argv);
int cmd_task_adding(int argc, char **argv); /* task_memory.c */
int cmd_task_copy(int argc, char **argv);
int cmd_forecast(int argc, char **argv);
int cmd_classify(int argc, char **argv);
int cmd_seq2seq(int argc, char **argv);
int cmd_task_dates(int argc, char **argv); /* task_dates.c */

#endif
