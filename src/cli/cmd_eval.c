/*
 * cmd_eval.c -- `rnn eval CKPT TEXT`: how well a character model predicts a
 * text, read as one continuous stream (each character predicted from all
 * the previous ones).
 */
#include "cli/lm_common.h"

#include "io/io.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: rnn eval CKPT TEXT [--chunk N] [--logits OUT.npy]\n"
    "\n"
    "Reads the UTF-8 file TEXT as one continuous stream with a model trained by\n"
    "'rnn train', predicting every character from all the previous ones (the\n"
    "recurrent state is carried through the whole file), and prints the mean\n"
    "cross-entropy over the predicted characters:\n"
    "\n"
    "  nats/char 1.2345  bits/char 1.7810  perplexity 3.437  chars 12345\n"
    "\n"
    "  --chunk N        steps per forward call (default 256; does not change the result)\n"
    "  --logits OUT.npy also write the logits, float32 [N, V]: row i is the model's\n"
    "                   prediction after reading characters 0..i (to compare with\n"
    "                   another framework, e.g. tools/torch_model.py logits)\n"
    "\n"
    "Exit status: 0 success, 1 internal error, 2 bad input.\n";

/* Logits [n][V] of one stream (B = 1), state carried from zero. */
static int write_logits(rnn_model *m, const int32_t *ids, size_t n, int chunk, const char *path)
{
    const int V = rnn_model_get_config(m)->vocab_size;
    const int lstm = rnn_model_get_config(m)->cell == RNN_CELL_LSTM;
    size_t ns = rnn_model_state_size(m, 1);
    float *out = malloc(n * (size_t)V * sizeof *out);
    float *h = calloc(ns, sizeof *h), *c = calloc(ns, sizeof *c), *hn = calloc(ns, sizeof *hn),
          *cn = calloc(ns, sizeof *cn);
    int rc = 0;
    if (!out || !h || !c || !hn || !cn) {
        rc = cli_error("eval", CLI_EXIT_INTERNAL, "out of memory for the logits");
        goto done;
    }
    for (size_t p = 0; p < n; p += (size_t)chunk) {
        int T = (int)(n - p < (size_t)chunk ? n - p : (size_t)chunk);
        if (rnn_model_forward(m, out + p * (size_t)V, hn, lstm ? cn : NULL, ids + p, NULL, h,
                              lstm ? c : NULL, NULL, T, 1, 0)) {
            rc = cli_error("eval", CLI_EXIT_INTERNAL, "%s", rnn_model_errmsg(m));
            goto done;
        }
        memcpy(h, hn, ns * sizeof *h);
        memcpy(c, cn, ns * sizeof *c);
    }
    {
        rnn_error e;
        int64_t shape[2] = {(int64_t)n, V};
        rnn_status st = rnn__npy_write(path, RNN__F32, 2, shape, out, &e);
        if (st)
            rc = cli_fail_status("eval", st, e.msg);
    }
done:
    free(out);
    free(h);
    free(c);
    free(hn);
    free(cn);
    return rc;
}

int cmd_eval(int argc, char **argv)
{
    int chunk = 256;
    const char *logits_path = NULL;
    cli_opt opts[] = {
        {"chunk", CLI_INT, &chunk, 1, 1 << 20, 0},
        {"logits", CLI_STR, &logits_path, 0, 0, 0},
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
    if (logits_path && (rc = write_logits(m, ids, n, chunk, logits_path)))
        goto out;
    printf("nats/char %.4f  bits/char %.4f  perplexity %.3f  chars %zu\n", loss, loss / log(2.0),
           exp(loss), count);
out:
    free(ids);
    rnn_model_free(m);
    rnn__vocab_free(&vocab);
    return rc;
}
