/*
 * classify_data.h -- what `rnn classify` shares between train and predict:
 * reading TSV or .npy examples into rnn_datasets, the vocabulary and label
 * names a checkpoint carries, and the metrics (accuracy, macro-F1,
 * confusion matrix) printed and written to metrics.json.
 */
#ifndef RNN_CLASSIFY_DATA_H
#define RNN_CLASSIFY_DATA_H

#include "cli/cli.h"
#include "io/text.h"
#include "io/tsv.h"

#include <stdio.h>

typedef enum cls_input {
    CLS_CHAR = 0,    /* TSV, one token per character */
    CLS_WORD = 1,    /* TSV, one token per word      */
    CLS_FEATURES = 2 /* .npy [N, T, F] floats        */
} cls_input;

/* Everything a checkpoint says about its inputs and outputs. */
typedef struct cls_meta {
    cls_input input;
    int per_step;       /* sequence labelling: one label per step */
    int max_len;        /* longest sequence the model accepts     */
    int features;       /* CLS_FEATURES: F                         */
    rnn__vocab chars;   /* CLS_CHAR                                */
    rnn__strtab words;  /* CLS_WORD, with CLS_UNK                  */
    rnn__strtab labels; /* class names, in class-id order          */
} cls_meta;

#define CLS_UNK "<unk>"

const char *cls_input_name(cls_input in);
void cls_meta_free(cls_meta *m);

/* A set of examples ready for the library. */
typedef struct cls_set {
    rnn_dataset d;                 /* points into the arrays below           */
    int32_t *tokens, *lengths, *labels; /* labels NULL when unlabelled       */
    float *x;
    const rnn__tsv_row **rows;     /* [n] the TSV lines, or NULL (.npy)      */
    int32_t *index;                /* [n] row numbers in the .npy file       */
} cls_set;

void cls_set_free(cls_set *s);

/* Encodes TSV rows with the checkpoint's vocabulary and labels. Errors
 * (a character outside the vocabulary, an unknown label, too long) name
 * the file and line; returns an exit code (0 = ok). */
int cls_encode_rows(const char *verb, const char *path, const cls_meta *m,
                    const rnn__tsv_row *const *rows, int n, int with_labels, cls_set *out);

/* .npy examples: x [N, T, F] float, labels [N] or [N, T] int (may be NULL),
 * lengths [N] int (may be NULL). */
typedef struct cls_npy {
    int n, T, F;
    float *x;
    int32_t *labels; /* [N] or [N][T], or NULL */
    int32_t *lengths; /* [N] */
    int per_step;
} cls_npy;

int cls_npy_load(const char *verb, const char *xpath, const char *ypath, const char *lpath,
                 cls_npy *out);
void cls_npy_free(cls_npy *a);
/* Selects rows idx[n] of a into a set. */
int cls_npy_select(const char *verb, const cls_npy *a, const int32_t *idx, int n, cls_set *out);

/* Metadata pairs for checkpoints (keys static, values malloc'ed: free
 * values[i] for i < *count). */
int cls_meta_pairs(const cls_meta *m, const char **keys, char **values, size_t *count);
/* Reads the metadata of a checkpoint written by `rnn classify train`. */
int cls_meta_read(const char *verb, const char *path, const void *st_file, cls_meta *m);

/* Confusion counts and scores of predictions (logits out, shaped as from
 * rnn_model_predict) against the labels of s. */
typedef struct cls_metrics {
    int K;
    int64_t *confusion;     /* [K][K]: rows true, columns predicted */
    int64_t count, correct; /* predictions scored (sequences or labelled steps) */
    int64_t sequences, sequences_correct;
    double accuracy, macro_f1, loss;
} cls_metrics;

int cls_metrics_compute(cls_metrics *mt, const cls_meta *m, const cls_set *s, const float *out,
                        double loss);
void cls_metrics_free(cls_metrics *mt);
void cls_metrics_print(FILE *f, const cls_metrics *mt, const cls_meta *m, const char *what);
/* metrics.json (atomic). */
int cls_metrics_write(const char *verb, const char *path, const cls_metrics *mt,
                      const cls_meta *m, const char *split, const char *checkpoint);

/* Index of the largest of v[0..n) and its softmax probability. */
int cls_argmax(const float *v, int n, double *prob);

/* `rnn classify generate` (classify_gen.c). */
int classify_generate(int argc, char **argv);

#endif
