/*
 * cmd_sample.c -- `rnn sample CKPT`: generate text from a character model,
 * streaming each character as it is drawn (char-rnn's sample.lua). A
 * label-conditioned model (`rnn train --conditioned`) generates lines for
 * the label given by --condition (one-to-many).
 */
#include "cli/lm_common.h"

#include "io/text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char usage[] =
    "usage: rnn sample CKPT [--length 500] [--temperature 1] [--top-k K] [--top-p P]\n"
    "                       [--prime TEXT] [--seed S] [--condition LABEL] [--lines N]\n"
    "\n"
    "Generates text from a model trained by 'rnn train', printing each character as it\n"
    "is drawn. The model first reads --prime (printed too); without it, generation\n"
    "starts after a newline when the vocabulary has one.\n"
    "\n"
    "  --length N        characters to generate (default 500)\n"
    "  --temperature T   divide the logits by T: < 1 is more conservative, > 1 more\n"
    "                    surprising, 0 always takes the most likely character (default 1)\n"
    "  --top-k K         draw only among the K most likely characters (default all)\n"
    "  --top-p P         draw only among the most likely characters whose probabilities\n"
    "                    add up to P (nucleus sampling; default 1 = all)\n"
    "  --prime TEXT      text the model reads before generating\n"
    "  --seed S          random seed; the same seed gives the same text (default: varies)\n"
    "  --condition LABEL for a model trained with 'rnn train --conditioned' (required\n"
    "                    there): generate lines of this label. Every line starts from a\n"
    "                    fresh state, as in training; --prime starts the first line\n"
    "  --lines N         stop after N lines (default: only --length limits)\n"
    "\n"
    "Exit status: 0 success, 1 internal error, 2 bad input.\n";

static void put_char(uint32_t cp)
{
    char u[4];
    fwrite(u, 1, rnn__utf8_encode(cp, u), stdout);
}

/* One forward pass of n tokens from state (h, c) (NULL = zeros). */
static rnn_status forward(rnn_model *m, float *logits, float *hn, float *cn, const int32_t *ids,
                          int n, const float *h, const float *c, const int32_t *cond)
{
    rnn_batch b = {n, 1, ids, NULL, NULL, cond, h, c};
    return rnn_model_forward_batch(m, logits, hn, cn, &b, 0);
}

int cmd_sample(int argc, char **argv)
{
    int length = 500, top_k = 0, lines = 0;
    double temperature = 1, top_p = 1;
    const char *prime = NULL, *condition = NULL;
    uint64_t seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
    cli_opt opts[] = {
        {"length", CLI_INT, &length, 0, 1 << 30, 0},
        {"temperature", CLI_FLOAT, &temperature, 0, 1000, 0},
        {"top-k", CLI_INT, &top_k, 0, 1 << 24, 0},
        {"top-p", CLI_FLOAT, &top_p, 1e-9, 1, 0},
        {"prime", CLI_STR, &prime, 0, 0, 0},
        {"seed", CLI_U64, &seed, 0, 0, 0},
        {"condition", CLI_STR, &condition, 0, 0, 0},
        {"lines", CLI_INT, &lines, 1, 1 << 30, 0},
        {0, 0, 0, 0, 0, 0},
    };
    const char *pos[1];
    int np;
    int rc = cli_parse("sample", argc, argv, opts, pos, 1, 1, &np, usage);
    if (rc)
        return rc < 0 ? 0 : rc;
    rnn_model *m;
    rnn__vocab vocab = {0};
    rnn__strtab labels;
    int conditioned;
    if ((rc = lm_load_any("sample", pos[0], &m, &vocab, &labels, &conditioned)))
        return rc;

    const int V = vocab.size, lstm = rnn_model_get_config(m)->cell == RNN_CELL_LSTM;
    size_t ns = rnn_model_state_size(m, 1);
    float *h = calloc(ns, sizeof *h), *c = calloc(ns, sizeof *c), *hn = calloc(ns, sizeof *hn),
          *cn = calloc(ns, sizeof *cn), *logits = NULL;
    int32_t *ids = NULL, cond = 0;
    uint32_t *pcps = NULL;
    size_t n = 0;
    if (!h || !c || !hn || !cn) {
        rc = cli_error("sample", CLI_EXIT_INTERNAL, "out of memory");
        goto out;
    }
    if (conditioned) {
        char list[512];
        size_t len = 0;
        list[0] = '\0';
        for (int i = 0; i < labels.n && len + 64 < sizeof list; i++)
            len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "", labels.s[i]);
        if (!condition) {
            rc = cli_error("sample", CLI_EXIT_INPUT,
                           "%s: a label-conditioned model: give --condition LABEL (one of %s)", pos[0], list);
            goto out;
        }
        if ((cond = rnn__strtab_index(&labels, condition)) < 0) {
            rc = cli_error("sample", CLI_EXIT_INPUT, "--condition: '%s' is not one of the model's labels (%s)",
                           condition, list);
            goto out;
        }
    } else if (condition) {
        rc = cli_error("sample", CLI_EXIT_INPUT,
                       "--condition: %s is not a label-conditioned model (those come from 'rnn train "
                       "--conditioned')", pos[0]);
        goto out;
    }
    if (prime && *prime) {
        rnn_error e;
        rnn_status st = rnn__utf8_decode(&pcps, &n, (const unsigned char *)prime, strlen(prime),
                                         "--prime", &e);
        if (st) {
            rc = cli_fail_status("sample", st, e.msg);
            goto out;
        }
    } else {
        /* start after a newline, as if at the beginning of a line */
        pcps = malloc(sizeof *pcps);
        if (pcps && rnn__vocab_index(&vocab, '\n') >= 0) {
            pcps[0] = '\n';
            n = 1;
        }
    }
    if (conditioned && prime && *prime) {
        /* a conditioned line always starts with the line-start marker */
        uint32_t *p = realloc(pcps, (n + 1) * sizeof *p);
        if (!p) {
            rc = cli_error("sample", CLI_EXIT_INTERNAL, "out of memory");
            goto out;
        }
        pcps = p;
        memmove(pcps + 1, pcps, n * sizeof *pcps);
        pcps[0] = '\n';
        n++;
    }
    ids = malloc((n + 1) * sizeof *ids);
    logits = malloc((n + 1) * (size_t)V * sizeof *logits);
    if (!ids || !logits) {
        rc = cli_error("sample", CLI_EXIT_INTERNAL, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        ids[i] = rnn__vocab_index(&vocab, pcps[i]);
        if (ids[i] < 0) {
            char d[48];
            rnn__describe_char(pcps[i], d, sizeof d);
            rc = cli_error("sample", CLI_EXIT_INPUT,
                           "--prime: character %zu, %s, is not in the model's vocabulary",
                           i + (conditioned ? 0 : 1), d);
            goto out;
        }
    }
    if (prime && *prime)
        fputs(prime, stdout);

    const int32_t *cnd = conditioned ? &cond : NULL;
    int32_t next;
    if (n > 0) {
        /* read the prime in one call; its last step's logits give the first draw */
        if (forward(m, logits, hn, lstm ? cn : NULL, ids, (int)n, NULL, NULL, cnd)) {
            rc = cli_error("sample", CLI_EXIT_INTERNAL, "%s", rnn_model_errmsg(m));
            goto out;
        }
        memcpy(h, hn, ns * sizeof *h);
        memcpy(c, cn, ns * sizeof *c);
        next = rnn_sample_token(logits + (n - 1) * (size_t)V, V, temperature, top_k, top_p, &seed);
    } else {
        uint64_t r = seed * 0x9E3779B97F4A7C15ull + 1;
        next = (int32_t)((r >> 33) % (uint64_t)V);
    }
    int done = 0;
    for (int i = 0; i < length; i++) {
        put_char(vocab.chars[next]);
        if (vocab.chars[next] == '\n' || i % 16 == 15)
            fflush(stdout);
        if (i + 1 == length || (vocab.chars[next] == '\n' && lines && ++done >= lines))
            break;
        if (conditioned && vocab.chars[next] == '\n') {
            /* a new line: from a fresh state, as every training line */
            memset(h, 0, ns * sizeof *h);
            memset(c, 0, ns * sizeof *c);
        }
        if (forward(m, logits, hn, lstm ? cn : NULL, &next, 1, h, lstm ? c : NULL, cnd)) {
            rc = cli_error("sample", CLI_EXIT_INTERNAL, "%s", rnn_model_errmsg(m));
            goto out;
        }
        float *t = h;
        h = hn;
        hn = t;
        t = c;
        c = cn;
        cn = t;
        next = rnn_sample_token(logits, V, temperature, top_k, top_p, &seed);
    }
    if (!(lines && done >= lines))
        putchar('\n');
    fflush(stdout);
out:
    free(h); free(c); free(hn); free(cn); free(logits); free(ids); free(pcps);
    rnn_model_free(m);
    rnn__vocab_free(&vocab);
    rnn__strtab_free(&labels);
    return rc;
}
