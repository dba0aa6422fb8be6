/*
 * tsv.h -- labelled text files for supervised sequences, and tables of
 * names (labels, words). Internal.
 *
 * One example per line:
 *
 *     label<TAB>text        classification (many-to-one), conditioned text
 *     labels<TAB>text       sequence labelling: one label per token of text
 *     text                  text only (prediction input)
 *
 * The file is UTF-8 (a byte-order mark is skipped, a NUL byte means a binary
 * file); lines end with \n or \r\n; lines that are completely empty are
 * skipped. The text is read as characters (Unicode code points) or as words
 * (runs of non-space characters). Every error is one line that starts with
 * the file name and the line number ("data.tsv: line 12: expected
 * label<TAB>text (no tab)").
 */
#ifndef RNN_TSV_H
#define RNN_TSV_H

#include "core/core.h"

typedef enum rnn__tok_kind {
    RNN__TOK_CHAR = 0, /* one token per code point                  */
    RNN__TOK_WORD = 1  /* one token per run of non-space characters */
} rnn__tok_kind;

typedef enum rnn__tsv_labels {
    RNN__TSV_LABELLED = 0,  /* every line is label<TAB>text                      */
    RNN__TSV_TEXT_ONLY = 1, /* every line is text (no tab)                       */
    RNN__TSV_EITHER = 2     /* the first line decides; every other line must agree */
} rnn__tsv_labels;

typedef struct rnn__tsv_options {
    rnn__tok_kind tokens;
    rnn__tsv_labels labels;
    int per_step;      /* the label field holds one label per token         */
    size_t max_tokens; /* a longer line is an error (0 = no limit)          */
} rnn__tsv_options;

typedef struct rnn__tsv_row {
    size_t line;              /* 1-based line number in the file             */
    const char *label;        /* the label field; NULL for text-only lines   */
    const char *text;         /* the text field (UTF-8, NUL-terminated)      */
    size_t ntok;              /* tokens: >= 1                                */
    const uint32_t *cps;      /* RNN__TOK_CHAR: [ntok] code points           */
    const char *const *words; /* RNN__TOK_WORD: [ntok] words                 */
    const char *const *step_labels; /* per_step: [ntok] labels, else NULL    */
} rnn__tsv_row;

typedef struct rnn__tsv {
    rnn__tsv_row *rows;
    size_t count;
    int labelled; /* the rows have labels */
    /* storage the rows point into (owned) */
    char *buf;        /* a copy of the file, fields NUL-terminated in place */
    char *chars;      /* one-character labels, NUL-terminated              */
    uint32_t *cps;
    const char **strs; /* words and per-step labels                        */
} rnn__tsv;

/* Parses a whole file held in memory; `name` starts every message. On
 * failure *t is empty (nothing to free). */
rnn_status rnn__tsv_parse(rnn__tsv *t, const void *data, size_t size, const char *name,
                          const rnn__tsv_options *o, rnn_error *err);
/* The same for a file on disk. */
rnn_status rnn__tsv_read(rnn__tsv *t, const char *path, const rnn__tsv_options *o,
                         rnn_error *err);
void rnn__tsv_free(rnn__tsv *t);

/* ---- tables of names --------------------------------------------------- */

/* A list of distinct UTF-8 strings in a fixed order (id i = the i-th), with
 * a sorted index for look-ups. Labels and word vocabularies. */
typedef struct rnn__strtab {
    char **s;     /* [n] owned copies, in id order */
    int32_t *by;  /* [n] ids sorted by strcmp of their string */
    int n;
} rnn__strtab;

/* The sorted distinct strings of items[n] (ids in strcmp order). */
rnn_status rnn__strtab_build(rnn__strtab *t, const char *const *items, size_t n,
                             rnn_error *err);
/* Exactly items[n], in that order; duplicates are an error. */
rnn_status rnn__strtab_from_list(rnn__strtab *t, const char *const *items, size_t n,
                                 rnn_error *err);
void rnn__strtab_free(rnn__strtab *t);
/* Id of s, or -1. */
int rnn__strtab_index(const rnn__strtab *t, const char *s);
/* JSON array of the strings in id order, and back (an array of distinct
 * strings; messages start with `what`). */
char *rnn__strtab_to_json(const rnn__strtab *t);
rnn_status rnn__strtab_from_json(rnn__strtab *t, const char *json, const char *what,
                                 rnn_error *err);

#endif /* RNN_TSV_H */
