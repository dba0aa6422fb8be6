/*
 * cmd_task.c -- `rnn task NAME ...`: built-in tasks that need no download
 * (they generate their own data). Each task is one function in its own file;
 * this table lists them.
 */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

typedef struct task_entry {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
} task_entry;

static const task_entry tasks[] = {
    /* {"name", cmd_task_name, "one line"}, -- one line per task */
    {"adding", cmd_task_adding, "long memory: the adding problem over T steps (MSE vs 0.167)"},
    {"copy", cmd_task_copy, "long memory: recall 10 symbols after T blanks (vs 10 ln 8/(T+20))"},
    {"dates", cmd_task_dates, "pairs for seq2seq: dates in 14 surface forms -> ISO 8601"},
    {NULL, NULL, NULL},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: rnn task NAME [options]   (rnn task NAME --help for details)\n\n"
               "Built-in tasks: each generates its own data, trains and reports.\n\n");
    for (const task_entry *t = tasks; t->name; t++)
        fprintf(f, "  %-10s %s\n", t->name, t->summary);
}

int cmd_task(int argc, char **argv)
{
    if (argc < 1)
        return cli_error("task", CLI_EXIT_INPUT, "missing task name (see 'rnn task --help')");
    if (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) {
        usage(stdout);
        return 0;
    }
    for (const task_entry *t = tasks; t->name; t++)
        if (strcmp(argv[0], t->name) == 0)
            return t->fn(argc - 1, argv + 1);
    return cli_error("task", CLI_EXIT_INPUT, "unknown task '%s' (see 'rnn task --help')", argv[0]);
}
