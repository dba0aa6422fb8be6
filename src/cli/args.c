/* args.c -- option parsing and error reporting shared by every verb. */
#include "cli/cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_error(const char *verb, int code, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "rnn%s%s: ", verb ? " " : "", verb ? verb : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return code;
}

int cli_exit_code(rnn_status st)
{
    switch (st) {
    case RNN_OK: return 0;
    case RNN_ENOMEM:
    case RNN_EINTERNAL:
    case RNN_ESTATE: return CLI_EXIT_INTERNAL;
    default: return CLI_EXIT_INPUT;
    }
}

int cli_fail_status(const char *verb, rnn_status st, const char *msg)
{
    return cli_error(verb, cli_exit_code(st), "%s", msg && *msg ? msg : rnn_strerror(st));
}

const cli_opt *cli_find(const cli_opt *opts, const char *name)
{
    for (; opts->name; opts++)
        if (strcmp(opts->name, name) == 0)
            return opts;
    return NULL;
}

/* Edit distance, for "did you mean --hidden?" */
static int distance(const char *a, const char *b)
{
    size_t n = strlen(a), m = strlen(b);
    if (n > 40 || m > 40)
        return 99;
    int d[41][41];
    for (size_t i = 0; i <= n; i++)
        d[i][0] = (int)i;
    for (size_t j = 0; j <= m; j++)
        d[0][j] = (int)j;
    for (size_t i = 1; i <= n; i++)
        for (size_t j = 1; j <= m; j++) {
            int c = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < c)
                c = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < c)
                c = d[i][j - 1] + 1;
            d[i][j] = c;
        }
    return d[n][m];
}

static int set_value(const char *verb, cli_opt *o, const char *v)
{
    char *end;
    errno = 0;
    switch (o->kind) {
    case CLI_STR:
        *(const char **)o->dst = v;
        return 0;
    case CLI_INT: {
        long x = strtol(v, &end, 10);
        if (*v == '\0' || *end != '\0' || errno)
            return cli_error(verb, CLI_EXIT_INPUT, "--%s: expected an integer, got '%s'", o->name, v);
        if (o->min < o->max && (x < o->min || x > o->max))
            return cli_error(verb, CLI_EXIT_INPUT, "--%s: %ld is out of range %.0f..%.0f",
                             o->name, x, o->min, o->max);
        *(int *)o->dst = (int)x;
        return 0;
    }
    case CLI_U64: {
        if (*v == '-')
            return cli_error(verb, CLI_EXIT_INPUT, "--%s: expected a non-negative integer, got '%s'",
                             o->name, v);
        unsigned long long x = strtoull(v, &end, 10);
        if (*v == '\0' || *end != '\0' || errno)
            return cli_error(verb, CLI_EXIT_INPUT, "--%s: expected a non-negative integer, got '%s'",
                             o->name, v);
        *(uint64_t *)o->dst = (uint64_t)x;
        return 0;
    }
    case CLI_FLOAT: {
        double x = strtod(v, &end);
        if (*v == '\0' || *end != '\0' || errno || !isfinite(x))
            return cli_error(verb, CLI_EXIT_INPUT, "--%s: expected a finite number, got '%s'",
                             o->name, v);
        if (o->min < o->max && (x < o->min || x > o->max))
            return cli_error(verb, CLI_EXIT_INPUT, "--%s: %g is out of range [%g, %g]", o->name, x,
                             o->min, o->max);
        *(double *)o->dst = x;
        return 0;
    }
    case CLI_FLAG:
        *(int *)o->dst = 1;
        return 0;
    }
    return CLI_EXIT_INTERNAL;
}

int cli_parse(const char *verb, int argc, char **argv, cli_opt *opts,
              const char **positional, int min_pos, int max_pos, int *npos,
              const char *usage)
{
    int np = 0, only_positional = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!only_positional && (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)) {
            fputs(usage, stdout);
            return -1;
        }
        if (!only_positional && strcmp(a, "--") == 0) {
            only_positional = 1;
            continue;
        }
        if (only_positional || a[0] != '-' || a[1] == '\0' ||
            (a[1] >= '0' && a[1] <= '9')) {
            if (np >= max_pos)
                return cli_error(verb, CLI_EXIT_INPUT,
                                 "unexpected argument '%s' (see 'rnn %s --help')", a, verb);
            positional[np++] = a;
            continue;
        }
        if (a[1] != '-')
            return cli_error(verb, CLI_EXIT_INPUT, "unknown option '%s' (options are spelled --name)", a);
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
        cli_opt *o = NULL;
        for (cli_opt *p = opts; p->name; p++)
            if (strlen(p->name) == nlen && strncmp(p->name, name, nlen) == 0)
                o = p;
        if (!o) {
            const char *best = NULL;
            int bd = 3;
            char want[64];
            snprintf(want, sizeof want, "%.*s", (int)(nlen < 60 ? nlen : 60), name);
            for (cli_opt *p = opts; p->name; p++) {
                int d = distance(want, p->name);
                if (d < bd) {
                    bd = d;
                    best = p->name;
                }
            }
            if (best)
                return cli_error(verb, CLI_EXIT_INPUT, "unknown option '--%s'; did you mean '--%s'?",
                                 want, best);
            return cli_error(verb, CLI_EXIT_INPUT, "unknown option '--%s' (see 'rnn %s --help')",
                             want, verb);
        }
        if (o->seen)
            return cli_error(verb, CLI_EXIT_INPUT, "--%s given twice", o->name);
        o->seen = 1;
        const char *value = NULL;
        if (o->kind == CLI_FLAG) {
            if (eq)
                return cli_error(verb, CLI_EXIT_INPUT, "--%s takes no value", o->name);
        } else if (eq) {
            value = eq + 1;
        } else {
            if (i + 1 >= argc)
                return cli_error(verb, CLI_EXIT_INPUT, "--%s needs a value", o->name);
            value = argv[++i];
        }
        int rc = set_value(verb, o, value);
        if (rc)
            return rc;
    }
    if (np < min_pos)
        return cli_error(verb, CLI_EXIT_INPUT, "missing argument (see 'rnn %s --help')", verb);
    if (npos)
        *npos = np;
    return 0;
}
