/* lm_common.c -- checkpoint and text loading shared by sample and eval
 * (and sample of label-conditioned models). */
#include "cli/lm_common.h"

#include "io/io.h"
#include "model/model.h"

#include <stdlib.h>
#include <string.h>

/* Model, vocabulary and (conditioned models) labels of a checkpoint. */
static int load(const char *verb, const char *path, rnn_model **m, rnn__vocab *vocab,
                rnn__strtab *labels, int *conditioned, int allow_cond)
{
    rnn__st f;
    rnn_error e;
    *m = NULL;
    *conditioned = 0;
    memset(labels, 0, sizeof *labels);
    rnn_status st = rnn__st_read(&f, path, &e);
    if (st)
        return cli_fail_status(verb, st, e.msg);
    int rc = 0;
    /* the model first: its message explains a file that is no checkpoint at all */
    if ((st = rnn__model_from_st(m, &f, path, &e))) {
        rc = cli_fail_status(verb, st, e.msg);
        goto out;
    }
    const char *task = rnn__st_meta(&f, "rnn.task"), *vj = rnn__st_meta(&f, "rnn.vocab");
    const char *lj = rnn__st_meta(&f, "rnn.labels");
    const int cond = task && strcmp(task, "charlm-cond") == 0;
    if (cond && !allow_cond) {
        rc = cli_error(verb, CLI_EXIT_INPUT,
                       "%s: a label-conditioned model ('rnn train --conditioned'); 'rnn %s' reads "
                       "unconditioned character models", path, verb);
    } else if (!task || (strcmp(task, "charlm") != 0 && !cond)) {
        rc = cli_error(verb, CLI_EXIT_INPUT,
                       "%s: a model for '%s'; 'rnn %s' needs a character language model from "
                       "'rnn train'", path, task ? task : "unknown", verb);
    } else if (!vj || (st = rnn__vocab_from_json(vocab, vj, &e))) {
        rc = cli_error(verb, CLI_EXIT_INPUT, "%s: rnn.vocab: %s", path, vj ? e.msg : "missing");
    } else if ((*m)->cfg.vocab_size != vocab->size || (*m)->cfg.output_size != vocab->size) {
        rc = cli_error(verb, CLI_EXIT_INPUT, "%s: vocabulary of %d characters but the model has %d",
                       path, vocab->size, (*m)->cfg.vocab_size);
        rnn__vocab_free(vocab);
    } else if (cond && (!lj || (st = rnn__strtab_from_json(labels, lj, "rnn.labels", &e)))) {
        rc = cli_error(verb, CLI_EXIT_INPUT, "%s: %s", path, lj ? e.msg : "rnn.labels: missing");
        rnn__vocab_free(vocab);
    } else if (cond && ((*m)->cfg.cond_classes != labels->n || (*m)->cfg.readout != RNN_READOUT_STEPS ||
                        rnn__vocab_index(vocab, '\n') < 0)) {
        rc = cli_error(verb, CLI_EXIT_INPUT, "%s: %d labels but the model has %d conditions", path,
                       labels->n, (*m)->cfg.cond_classes);
        rnn__vocab_free(vocab);
        rnn__strtab_free(labels);
    }
    *conditioned = cond && !rc;
    if (rc) {
        rnn_model_free(*m);
        *m = NULL;
    }
out:
    rnn__st_free(&f);
    return rc;
}

int lm_load(const char *verb, const char *path, rnn_model **m, rnn__vocab *vocab)
{
    rnn__strtab labels;
    int cond;
    return load(verb, path, m, vocab, &labels, &cond, 0);
}

int lm_load_any(const char *verb, const char *path, rnn_model **m, rnn__vocab *vocab,
                rnn__strtab *labels, int *conditioned)
{
    return load(verb, path, m, vocab, labels, conditioned, 1);
}

int lm_read_ids(const char *verb, const char *path, const rnn__vocab *vocab, int32_t **ids,
                size_t *n)
{
    unsigned char *data;
    size_t size;
    rnn_error e;
    *ids = NULL;
    rnn_status st = rnn__read_file(path, &data, &size, &e);
    if (st)
        return cli_fail_status(verb, st, e.msg);
    uint32_t *cps;
    st = rnn__utf8_decode(&cps, n, data, size, path, &e);
    if (st) {
        rnn__free(data);
        return cli_fail_status(verb, st, e.msg);
    }
    int rc = 0;
    *ids = malloc((*n ? *n : 1) * sizeof **ids);
    size_t bad;
    if (!*ids)
        rc = cli_error(verb, CLI_EXIT_INTERNAL, "out of memory");
    else if (rnn__vocab_encode(vocab, *ids, cps, *n, &bad) != RNN_OK) {
        /* translate the code-point index into a byte offset and a line */
        size_t off = (size >= 3 && data[0] == 0xef && data[1] == 0xbb && data[2] == 0xbf) ? 3 : 0;
        size_t line = 1;
        for (size_t i = 0; i < bad; i++) {
            line += data[off] == '\n';
            off += rnn__utf8_len(data + off, size - off);
        }
        char d[48];
        rnn__describe_char(cps[bad], d, sizeof d);
        rc = cli_error(verb, CLI_EXIT_INPUT,
                       "%s: byte offset %zu (line %zu): character %s is not in the model's "
                       "vocabulary", path, off, line, d);
        free(*ids);
        *ids = NULL;
    }
    rnn__free(cps);
    rnn__free(data);
    return rc;
}
