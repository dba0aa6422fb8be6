/*
 * cmd_eval.c -- `rnn eval CKPT TEXT`: how well a character model predicts a
 * text, read as one continuous stream (each character predicted from all
 * the previous ones).
 */
#include "cli/lm_common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static const char usage[] =
    "usage: rnn eval CKPT TEXT [--chunk N]\n"
    "\n"
    "Reads the UTF-8 file TEXT as one continuous stream with a model trained by\n"
    "'rnn train', predicting every character from all the previous ones (the\n"
    "recurrent state is carried through the whole file), and prints the mean\n"
    "cross-entropy over the predicted characters:\n"
    "\n"
    "  nats/char 1.2345  bits/char 1.7810  perplexity 3.437  chars 12345\n"
    "\n"
    "  --chunk N   steps per forward call (default 256; does not change the result)\n"
    "\n"
    "Exit status: 0 success, 1 internal error, 2 bad input.\n";

int cmd_eval(int argc, char **argv)
{
    int chunk = 256;
    cli_opt opts[] = {
        {"chunk", CLI_INT, &chunk, 1, 1 << 20, 0},
        {0, 0, 0, 0, 0, 0},
    };
    const char *pos[2];
    int np;
    int rc = cli_parse("eval", argc, argv, opts, pos, 2, 2, &np, usage);
    if (rc)
        return rc < 0 ? 0 : rc;
    rnn_model *m;
    rnn__vocab vocab = {0};
    if ((rc = lm_load("eval", pos[0], &m, &vocab)))
        return rc;
    int32_t *ids = NULL;
    size_t n = 0;
    if ((rc = lm_read_ids("eval", pos[1], &vocab, &ids, &n)))
        goto out;
    if (n < 2) {
        rc = cli_error("eval", CLI_EXIT_INPUT, "%s: needs at least 2 characters, has %zu", pos[1], n);
        goto out;
    }
    double loss;
    size_t count;
    rnn_error e;
    rnn_status st = rnn_lm_evaluate(m, ids, n, chunk, 1, &loss, &count, &e);
    if (st) {
        rc = cli_fail_status("eval", st, e.msg);
        goto out;
    }
    printf("nats/char %.4f  bits/char %.4f  perplexity %.3f  chars %zu\n", loss, loss / log(2.0),
           exp(loss), count);
out:
    free(ids);
    rnn_model_free(m);
    rnn__vocab_free(&vocab);
    return rc;
}
