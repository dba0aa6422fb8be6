/*
 * csv.h -- comma-separated values as RFC 4180 has them: a header row that
 * names the columns, then records of the same number of fields; fields may
 * be quoted ("a, b", "say ""hi""", line breaks inside quotes); lines end in
 * CRLF, LF or CR. Internal.
 *
 * The reader is strict where a silent guess would corrupt data (a record
 * with more or fewer fields than the header, an unterminated quote, text
 * after a closing quote, NUL bytes, invalid UTF-8) and lenient where the
 * meaning is clear: a UTF-8 byte-order mark is skipped, blank lines are
 * skipped (in a one-column file a blank line inside the data is an empty
 * field, i.e. a missing value; trailing blank lines are always ignored), a
 * quote inside an unquoted field is kept as a character.
 *
 * Every error is one line that starts with the file's name and names the
 * line (1-based, counting the header) and, for a value, the column:
 *     data.csv: line 17, column 'sales': 'abc' is not a number
 * Sizes from the input are overflow-checked; any byte sequence gives either
 * a table or an error, never a crash.
 */
#ifndef RNN_CSV_H
#define RNN_CSV_H

#include "core/core.h"

typedef struct rnn__csv {
    char *name;     /* the file name used in messages (owned copy) */
    size_t cols;    /* fields per record (= header fields)          */
    size_t rows;    /* data records (the header excluded)           */
    char **header;  /* [cols] column names                          */
    char **cell;    /* [rows][cols] fields, NUL-terminated          */
    size_t *line;   /* [rows] line on which each record starts      */
    size_t header_line; /* the header's line (1 unless blank lines precede it) */
    char *text;     /* storage of every field (owned)               */
} rnn__csv;

/* Parses data[0..size) (`name` is used in messages). An empty file, a file
 * of blank lines, a first row made only of numbers (no header) and the
 * errors listed above fail with RNN_EFORMAT. */
rnn_status rnn__csv_parse(rnn__csv *c, const char *data, size_t size, const char *name,
                          rnn_error *err);
/* Reads and parses a file; errors start with the path. */
rnn_status rnn__csv_read(rnn__csv *c, const char *path, rnn_error *err);
void rnn__csv_free(rnn__csv *c);

/* The column named `spec` (exact match), or else, if spec is a number, the
 * column at that 1-based position. `what` names the option in messages
 * ("--target"). Unknown, ambiguous (a name given twice in the header) and
 * out-of-range columns fail with RNN_ENOTFOUND / RNN_EINVAL; the message
 * lists the columns. */
rnn_status rnn__csv_column(const rnn__csv *c, const char *spec, const char *what, size_t *col,
                           rnn_error *err);

/* What a field holds as a number. */
typedef enum rnn__csv_num {
    RNN__CSV_NUMBER = 0,     /* a finite decimal number                         */
    RNN__CSV_MISSING = 1,    /* empty, NA, N/A, NaN or null (any case, spaces ok) */
    RNN__CSV_NOT_FINITE = 2, /* inf, infinity, or a number too large for double  */
    RNN__CSV_NOT_NUMBER = 3  /* anything else                                    */
} rnn__csv_num;

/* Classifies s and, for RNN__CSV_NUMBER, stores its value. Accepts
 * [+-]digits[.digits][(e|E)[+-]digits] (also ".5" and "5.") with spaces or
 * tabs around; hexadecimal and locale forms are not numbers. */
rnn__csv_num rnn__csv_number(const char *s, double *value);

/* Column `col` as numbers: out[rows], missing values as NaN (their count in
 * *missing). A field that is not a number, or not finite, is an error
 * naming the line and the column. */
rnn_status rnn__csv_numbers(const rnn__csv *c, size_t col, double *out, size_t *missing,
                            rnn_error *err);

/* A field or name made printable for a message: control characters become
 * '?', and anything past `max` bytes is cut (at a character boundary) and
 * marked with "...". */
void rnn__csv_quote(char *out, size_t n, const char *s, size_t max);

#endif
