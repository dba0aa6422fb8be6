/*
 * test_csv.c -- the CSV reader (src/io/csv.c): RFC 4180 quoting, line
 * endings, line numbers in messages, the header rule, column lookup, the
 * number syntax, and a fuzz loop (random and mutated inputs must give a
 * table or an error, never a crash -- run it under `make test SANITIZE=1`).
 */
#include "test.h"

#include "io/csv.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int parse(rnn__csv *c, const char *text, rnn_error *e)
{
    return (int)rnn__csv_parse(c, text, strlen(text), "data.csv", e);
}

static const char *cell(const rnn__csv *c, size_t r, size_t k) { return c->cell[r * c->cols + k]; }

static void test_quoting_and_line_endings(void)
{
    rnn__csv c;
    rnn_error e;
    const char *text = "\xEF\xBB\xBF"
                       "month,\"sales, total\",note\r\n"
                       "1949-01,112,\"said \"\"hi\"\"\"\r\n"
                       "1949-02,118,\"two\nlines\"\n"
                       "1949-03,,\"\"\r"
                       "1949-04,129,x\"y\n"
                       "\n\n";
    CHECK_OK(parse(&c, text, &e));
    CHECK(c.cols == 3 && c.rows == 4);
    CHECK(strcmp(c.header[0], "month") == 0); /* the byte-order mark is not part of the name */
    CHECK(strcmp(c.header[1], "sales, total") == 0);
    CHECK(strcmp(cell(&c, 0, 2), "said \"hi\"") == 0);
    CHECK(strcmp(cell(&c, 1, 2), "two\nlines") == 0);
    CHECK(strcmp(cell(&c, 2, 1), "") == 0 && strcmp(cell(&c, 2, 2), "") == 0);
    CHECK(strcmp(cell(&c, 3, 2), "x\"y") == 0); /* a quote inside an unquoted field is kept */
    /* lines as an editor shows them: the quoted line break counts, a lone CR ends a line */
    CHECK(c.line[0] == 2 && c.line[1] == 3 && c.line[2] == 5 && c.line[3] == 6);
    rnn__csv_free(&c);

    /* a trailing comma at the very end is one more (empty) field */
    CHECK_OK(parse(&c, "a,b\n1,", &e));
    CHECK(c.rows == 1 && strcmp(cell(&c, 0, 0), "1") == 0 && strcmp(cell(&c, 0, 1), "") == 0);
    rnn__csv_free(&c);
    /* no final line break */
    CHECK_OK(parse(&c, "a\n\"q\"", &e));
    CHECK(c.rows == 1 && strcmp(cell(&c, 0, 0), "q") == 0);
    rnn__csv_free(&c);
}

static void test_blank_lines(void)
{
    rnn__csv c;
    rnn_error e;
    /* two columns: blank lines are skipped, line numbers stay true */
    CHECK_OK(parse(&c, "\na,b\n1,2\n\n3,4\n", &e));
    CHECK(c.rows == 2 && c.header_line == 2 && c.line[0] == 3 && c.line[1] == 5);
    rnn__csv_free(&c);
    /* one column: a blank line inside the data is an empty field, trailing ones are not rows */
    CHECK_OK(parse(&c, "y\n1\n\n3\n\n\n", &e));
    CHECK(c.rows == 3 && strcmp(cell(&c, 1, 0), "") == 0 && c.line[2] == 4);
    rnn__csv_free(&c);
    /* a header and nothing else is a table with no rows */
    CHECK_OK(parse(&c, "a,b\r\n", &e));
    CHECK(c.rows == 0 && c.cols == 2);
    rnn__csv_free(&c);
}

static void expect_error(const char *text, size_t len, const char *msg)
{
    rnn__csv c;
    rnn_error e = {0};
    rnn_status st = rnn__csv_parse(&c, text, len, "data.csv", &e);
    CHECK_MSG(st == RNN_EFORMAT, "expected RNN_EFORMAT for '%s', got %d", msg, (int)st);
    CHECK_MSG(strcmp(e.msg, msg) == 0, "message\n    got:      %s\n    expected: %s", e.msg, msg);
    CHECK(c.cell == NULL && c.text == NULL); /* nothing left allocated */
}

static void test_errors_name_the_line(void)
{
    expect_error("", 0, "data.csv: the file is empty (expected a header row and data)");
    expect_error("\n\r\n", 3, "data.csv: no header row (the file holds only blank lines)");
    expect_error("112,118\n132,129\n", 16,
                 "data.csv: line 1: no header row: the first row holds numbers ('112', ...); the "
                 "first row must name the columns");
    expect_error("a,b\n1,2\n3\n", 10, "data.csv: line 3: 1 field, but the header has 2");
    expect_error("a,b\n1,2,3\n", 10, "data.csv: line 2: 3 fields, but the header has 2");
    expect_error("a,b\n1,\"2\n3\n", 11,
                 "data.csv: line 2: a quoted field is never closed (missing '\"')");
    expect_error("a,b\n\"x\ny\"z,1\n", 13,
                 "data.csv: line 3, field 1: 'z' after the closing quote (a quote inside a quoted "
                 "field is written \"\")");
    expect_error("a,b\n1,2\x00\n", 9,
                 "data.csv: NUL byte at offset 7 (line 2): a binary file, not CSV");
    expect_error("a,b\n1,\xc3\x28\n", 9,
                 "data.csv: invalid UTF-8 at byte offset 6 (line 2): byte 0xc3");
}

static void test_columns(void)
{
    rnn__csv c;
    rnn_error e;
    CHECK_OK(parse(&c, "time,y,y,5\n1,2,3,4\n", &e));
    size_t col = 99;
    CHECK_OK(rnn__csv_column(&c, "time", "--time", &col, &e));
    CHECK(col == 0);
    CHECK_OK(rnn__csv_column(&c, "2", "--target", &col, &e)); /* a position, 1-based */
    CHECK(col == 1);
    CHECK_OK(rnn__csv_column(&c, "5", "--target", &col, &e)); /* a name wins over a position */
    CHECK(col == 3);
    CHECK(rnn__csv_column(&c, "y", "--target", &col, &e) == RNN_EINVAL);
    CHECK_MSG(strcmp(e.msg, "--target: data.csv: the header names 2 columns 'y'; give the "
                            "column's position (1..4) instead") == 0, "%s", e.msg);
    CHECK(rnn__csv_column(&c, "sales", "--target", &col, &e) == RNN_ENOTFOUND);
    CHECK_MSG(strcmp(e.msg, "--target: no column 'sales' in data.csv (columns: 'time', 'y', 'y', "
                            "'5')") == 0, "%s", e.msg);
    CHECK(rnn__csv_column(&c, "9", "--features", &col, &e) == RNN_ENOTFOUND);
    CHECK_MSG(strcmp(e.msg, "--features: data.csv has 4 columns; there is no column 9") == 0, "%s",
              e.msg);
    CHECK(rnn__csv_column(&c, "0", "--features", &col, &e) == RNN_ENOTFOUND);
    rnn__csv_free(&c);
}

static void test_numbers(void)
{
    static const struct { const char *s; rnn__csv_num kind; double v; } cases[] = {
        {"112", RNN__CSV_NUMBER, 112},     {" -1.5\t", RNN__CSV_NUMBER, -1.5},
        {"+.5", RNN__CSV_NUMBER, 0.5},     {"5.", RNN__CSV_NUMBER, 5},
        {"1e3", RNN__CSV_NUMBER, 1000},    {"2.5E-2", RNN__CSV_NUMBER, 0.025},
        {"1e-400", RNN__CSV_NUMBER, 0},    {"", RNN__CSV_MISSING, 0},
        {"  ", RNN__CSV_MISSING, 0},       {"NA", RNN__CSV_MISSING, 0},
        {"n/a", RNN__CSV_MISSING, 0},      {"NaN", RNN__CSV_MISSING, 0},
        {"null", RNN__CSV_MISSING, 0},     {"inf", RNN__CSV_NOT_FINITE, 0},
        {"-Infinity", RNN__CSV_NOT_FINITE, 0}, {"1e999", RNN__CSV_NOT_FINITE, 0},
        {"abc", RNN__CSV_NOT_NUMBER, 0},   {"0x10", RNN__CSV_NOT_NUMBER, 0},
        {"1,5", RNN__CSV_NOT_NUMBER, 0},   {"1e", RNN__CSV_NOT_NUMBER, 0},
        {".", RNN__CSV_NOT_NUMBER, 0},     {"-", RNN__CSV_NOT_NUMBER, 0},
        {"1 2", RNN__CSV_NOT_NUMBER, 0},   {"nan5", RNN__CSV_NOT_NUMBER, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double v = -7;
        rnn__csv_num k = rnn__csv_number(cases[i].s, &v);
        CHECK_MSG(k == cases[i].kind, "'%s': kind %d, expected %d", cases[i].s, (int)k,
                  (int)cases[i].kind);
        if (k == RNN__CSV_NUMBER)
            CHECK_MSG(v == cases[i].v, "'%s' read as %.17g", cases[i].s, v);
    }

    rnn__csv c;
    rnn_error e;
    CHECK_OK(parse(&c, "t,sales,other\n1,3.5,x\n2,NA,y\n3,abc,z\n4,inf,w\n", &e));
    double out[4];
    size_t missing = 0;
    CHECK(rnn__csv_numbers(&c, 1, out, &missing, &e) == RNN_EFORMAT);
    CHECK_MSG(strcmp(e.msg, "data.csv: line 4, column 'sales': 'abc' is not a number") == 0, "%s",
              e.msg);
    rnn__csv_free(&c);
    CHECK_OK(parse(&c, "t,sales\n1,3.5\n2,NA\n3,\n4,1e999\n", &e));
    CHECK(rnn__csv_numbers(&c, 1, out, &missing, &e) == RNN_EFORMAT);
    CHECK_MSG(strcmp(e.msg, "data.csv: line 5, column 'sales': '1e999' is not a finite number") == 0,
              "%s", e.msg);
    rnn__csv_free(&c);
    CHECK_OK(parse(&c, "t,sales\n1,3.5\n2,NA\n3,\n4,-2\n", &e));
    CHECK_OK(rnn__csv_numbers(&c, 1, out, &missing, &e));
    CHECK(missing == 2 && out[0] == 3.5 && isnan(out[1]) && isnan(out[2]) && out[3] == -2);
    rnn__csv_free(&c);
}

static void test_quote_for_messages(void)
{
    char out[32];
    rnn__csv_quote(out, sizeof out, "a\tb\nc", 40);
    CHECK(strcmp(out, "a?b?c") == 0);
    rnn__csv_quote(out, sizeof out, "abcdefghij", 4);
    CHECK(strcmp(out, "abcd...") == 0);
    rnn__csv_quote(out, sizeof out, "ab\xc3\xa9xyz", 3); /* never cuts a character in two */
    CHECK(strcmp(out, "ab...") == 0);
}

/* Random bytes, and a valid file with random bytes flipped, inserted or
 * cut: every result is a table whose invariants hold, or an error. */
static void test_fuzz(void)
{
    static const char base[] = "time,\"a,b\",y\r\n1,\"x\"\"y\",2.5\n2,\"multi\nline\",NA\n3,,4\n";
    static const char alphabet[] = ",\"\r\n a1.\xc3\xa9\x00";
    rnn__rng r;
    rnn__rng_seed(&r, 2024);
    char buf[256];
    int tables = 0, errors = 0;
    for (int it = 0; it < 20000; it++) {
        size_t n;
        if (it % 2 == 0) {
            n = (size_t)rnn__rng_below(&r, 64);
            for (size_t i = 0; i < n; i++)
                buf[i] = alphabet[rnn__rng_below(&r, sizeof alphabet - 1)];
        } else {
            n = sizeof base - 1;
            memcpy(buf, base, n);
            int edits = 1 + (int)rnn__rng_below(&r, 4);
            for (int k = 0; k < edits; k++) {
                size_t at = (size_t)rnn__rng_below(&r, n + 1);
                int op = (int)rnn__rng_below(&r, 3);
                char ch = it % 7 == 1 ? (char)rnn__rng_below(&r, 256)
                                      : alphabet[rnn__rng_below(&r, sizeof alphabet - 1)];
                if (op == 0 && at < n)
                    buf[at] = ch;
                else if (op == 1 && n < sizeof buf) {
                    memmove(buf + at + 1, buf + at, n - at);
                    buf[at] = ch;
                    n++;
                } else if (at < n) {
                    memmove(buf + at, buf + at + 1, n - at - 1);
                    n--;
                }
            }
        }
        rnn__csv c;
        rnn_error e;
        rnn_status st = rnn__csv_parse(&c, buf, n, "fuzz.csv", &e);
        if (st) {
            CHECK_MSG(st == RNN_EFORMAT, "iteration %d: status %d", it, (int)st);
            CHECK_MSG(strncmp(e.msg, "fuzz.csv: ", 10) == 0 && !strchr(e.msg, '\n'),
                      "iteration %d: message '%s'", it, e.msg);
            errors++;
            continue;
        }
        tables++;
        CHECK(c.cols >= 1);
        for (size_t i = 0; i < c.rows; i++) {
            CHECK(i == 0 || c.line[i] > c.line[i - 1]);
            for (size_t k = 0; k < c.cols; k++) {
                double v;
                CHECK(c.cell[i * c.cols + k] != NULL);
                rnn__csv_number(c.cell[i * c.cols + k], &v);
            }
        }
        rnn__csv_free(&c);
    }
    CHECK_MSG(tables > 1000 && errors > 1000, "fuzz: %d tables, %d errors", tables, errors);
}

void suite_csv(void);
void suite_csv(void)
{
    RUN(test_quoting_and_line_endings);
    RUN(test_blank_lines);
    RUN(test_errors_name_the_line);
    RUN(test_columns);
    RUN(test_numbers);
    RUN(test_quote_for_messages);
    RUN(test_fuzz);
}
