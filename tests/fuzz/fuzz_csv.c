/*
 * fuzz_csv.c -- the CSV reader (rnn__csv_parse, what `rnn forecast` reads)
 * on arbitrary bytes, then what the verb does with a table: look up a
 * column by name and by number, read it as numbers, quote fields for
 * messages. An accepted table has a header and rows of exactly `cols`
 * NUL-terminated fields, with line numbers that grow; every number read
 * back is finite or NaN (missing).
 */
#include "fuzz.h"

#include "io/csv.h"

#include <math.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rnn__csv c;
    rnn_error err;
    if (rnn__csv_parse(&c, (const char *)data, size, "fuzz.csv", &err) != RNN_OK) {
        FUZZ_CHECK(err.msg[0] != '\0' && strchr(err.msg, '\n') == NULL);
        return 0;
    }
    FUZZ_CHECK(c.cols >= 1);
    for (size_t j = 0; j < c.cols; j++)
        FUZZ_CHECK(c.header[j] != NULL);
    for (size_t r = 0; r < c.rows; r++) {
        FUZZ_CHECK(c.line[r] >= 2 && (r == 0 || c.line[r] > c.line[r - 1]));
        for (size_t j = 0; j < c.cols; j++)
            FUZZ_CHECK(c.cell[r * c.cols + j] != NULL);
    }
    double *v = malloc((c.rows ? c.rows : 1) * sizeof *v);
    FUZZ_CHECK(v != NULL);
    for (size_t j = 0; j < c.cols && j < 8; j++) {
        size_t col, missing;
        char q[64];
        rnn__csv_quote(q, sizeof q, c.header[j], 20);
        FUZZ_CHECK(strlen(q) < sizeof q);
        if (rnn__csv_column(&c, c.header[j], "--target", &col, &err) == RNN_OK)
            FUZZ_CHECK(col < c.cols);
        char num[24];
        snprintf(num, sizeof num, "%zu", j + 1);
        if (rnn__csv_column(&c, num, "--target", &col, &err) == RNN_OK)
            FUZZ_CHECK(col < c.cols);
        if (rnn__csv_numbers(&c, j, v, &missing, &err) == RNN_OK) {
            size_t nan = 0;
            for (size_t r = 0; r < c.rows; r++) {
                FUZZ_CHECK(isfinite(v[r]) || isnan(v[r]));
                nan += isnan(v[r]) != 0;
            }
            FUZZ_CHECK(nan == missing);
        } else {
            FUZZ_CHECK(err.msg[0] != '\0' && strchr(err.msg, '\n') == NULL);
        }
    }
    free(v);
    rnn__csv_free(&c);
    return 0;
}
