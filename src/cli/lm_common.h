/* lm_common.h -- loading a character language model for sample and eval. */
#ifndef RNN_LM_COMMON_H
#define RNN_LM_COMMON_H

#include "cli/cli.h"
#include "io/text.h"

/* Loads a checkpoint written by `rnn train` (task charlm) and its
 * vocabulary; prints a one-line error and returns the exit code on failure. */
int lm_load(const char *verb, const char *path, rnn_model **m, rnn__vocab *vocab);

/* Reads a UTF-8 file and maps it to token ids of the vocabulary; a
 * character outside it is reported with its byte offset and line. */
int lm_read_ids(const char *verb, const char *path, const rnn__vocab *vocab, int32_t **ids,
                size_t *n);

#endif
