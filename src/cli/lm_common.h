/* lm_common.h -- loading a character language model for sample and eval. */
#ifndef RNN_LM_COMMON_H
#define RNN_LM_COMMON_H

#include "cli/cli.h"
#include "io/text.h"
#include "io/tsv.h"

/* Loads a checkpoint written by `rnn train` (task charlm) and its
 * vocabulary; prints a one-line error and returns the exit code on failure. */
int lm_load(const char *verb, const char *path, rnn_model **m, rnn__vocab *vocab);

/* The same, also accepting a label-conditioned model (`rnn train
 * --conditioned`, task charlm-cond): then *labels holds the condition
 * names (id order) and *conditioned is 1; otherwise labels is empty. */
int lm_load_any(const char *verb, const char *path, rnn_model **m, rnn__vocab *vocab,
                rnn__strtab *labels, int *conditioned);

/* Reads a UTF-8 file and maps it to token ids of the vocabulary; a
 * character outside it is reported with its byte offset and line. */
int lm_read_ids(const char *verb, const char *path, const rnn__vocab *vocab, int32_t **ids,
                size_t *n);

#endif
