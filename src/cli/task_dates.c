/*
 * task_dates.c -- `rnn task dates`: pairs for the encoder-decoder that need
 * no download. Each line is a date written in one of several surface
 * forms (Spanish and English long forms, with or without the weekday,
 * abbreviations, ordinals, numeric day/month/year with two- or four-digit
 * years, compact) and its ISO 8601 form:
 *
 *     3 de marzo de 1999<TAB>1999-03-03
 *
 * Dates are drawn uniformly from 1950-01-01 to 2049-12-31, so that a
 * two-digit year is never ambiguous (50..99 are 19xx, 00..49 are 20xx).
 * No (date, form) pair appears twice, so a held-out part never repeats a
 * training line.
 */
#include "cli/cli.h"

#include "core/core.h"
#include "io/io.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIRST_YEAR 1950
#define YEARS 100
#define NFORMS 14

static const char *const en_month[12] = {"January", "February", "March",     "April",
                                         "May",     "June",     "July",      "August",
                                         "September", "October", "November", "December"};
static const char *const es_month[12] = {"enero", "febrero", "marzo",      "abril",
                                         "mayo",  "junio",   "julio",      "agosto",
                                         "septiembre", "octubre", "noviembre", "diciembre"};
static const char *const es_abbr[12] = {"ene", "feb", "mar", "abr", "may", "jun",
                                        "jul", "ago", "sep", "oct", "nov", "dic"};
/* weekdays from Monday */
static const char *const en_day[7] = {"Monday", "Tuesday", "Wednesday", "Thursday",
                                      "Friday", "Saturday", "Sunday"};
static const char *const es_day[7] = {"lunes",   "martes", "mi\xc3\xa9rcoles", "jueves",
                                      "viernes", "s\xc3\xa1\x62\x61\x64\x6f", "domingo"};

static int leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static int month_days(int y, int m)
{
    static const int d[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return d[m] + (m == 1 && leap(y));
}

static int total_days(void)
{
    int n = 0;
    for (int y = FIRST_YEAR; y < FIRST_YEAR + YEARS; y++)
        n += leap(y) ? 366 : 365;
    return n;
}

/* Day k after 1950-01-01 -> year, month 0..11, day 1..31, weekday 0 (Monday)..6.
 * 1950-01-01 was a Sunday. */
static void civil(int k, int *y, int *m, int *d, int *wd)
{
    *wd = (k + 6) % 7;
    int yy = FIRST_YEAR;
    while (k >= (leap(yy) ? 366 : 365))
        k -= leap(yy++) ? 366 : 365;
    int mm = 0;
    while (k >= month_days(yy, mm))
        k -= month_days(yy, mm++);
    *y = yy;
    *m = mm;
    *d = k + 1;
}

static const char *ordinal(int d)
{
    if (d % 100 >= 11 && d % 100 <= 13)
        return "th";
    return d % 10 == 1 ? "st" : d % 10 == 2 ? "nd" : d % 10 == 3 ? "rd" : "th";
}

static void upper(char *out, size_t n, const char *s)
{
    size_t i = 0;
    for (; s[i] && i + 1 < n; i++)
        out[i] = s[i] >= 'a' && s[i] <= 'z' ? (char)(s[i] - 32) : s[i];
    out[i] = '\0';
}

/* The date in surface form f. */
static void write_form(rnn__buf *b, int f, int y, int m, int d, int wd)
{
    char up[8];
    switch (f) {
    case 0: rnn__buf_printf(b, "%d de %s de %d", d, es_month[m], y); break;
    case 1: rnn__buf_printf(b, "%s, %d de %s de %d", es_day[wd], d, es_month[m], y); break;
    case 2: rnn__buf_printf(b, "%d-%s-%d", d, es_abbr[m], y); break;
    case 3: rnn__buf_printf(b, "%s %d, %d", en_month[m], d, y); break;
    case 4: rnn__buf_printf(b, "%s, %s %d, %d", en_day[wd], en_month[m], d, y); break;
    case 5: rnn__buf_printf(b, "%d %s %d", d, en_month[m], y); break;
    case 6: rnn__buf_printf(b, "the %d%s of %s, %d", d, ordinal(d), en_month[m], y); break;
    case 7: rnn__buf_printf(b, "%.3s %d, %d", en_month[m], d, y); break;
    case 8: rnn__buf_printf(b, "%d %.3s %02d", d, en_month[m], y % 100); break;
    case 9: rnn__buf_printf(b, "%02d/%02d/%d", d, m + 1, y); break;
    case 10: rnn__buf_printf(b, "%d/%d/%02d", d, m + 1, y % 100); break;
    case 11: rnn__buf_printf(b, "%d.%d.%d", d, m + 1, y); break;
    case 12:
        upper(up, sizeof up, en_month[m]);
        rnn__buf_printf(b, "%d %.3s %d", d, up, y);
        break;
    default: rnn__buf_printf(b, "%d%02d%02d", y, m + 1, d); break;
    }
}

static const char usage[] =
    "usage: rnn task dates [--count N] [--seed S] [--output FILE]\n"
    "\n"
    "Writes pairs for 'rnn seq2seq train': a date in one of 14 surface forms, a tab, and\n"
    "the same date in ISO 8601, one pair per line:\n"
    "\n"
    "  3 de marzo de 1999<TAB>1999-03-03\n"
    "  Wednesday, March 3, 1999<TAB>1999-03-03\n"
    "  3/3/99<TAB>1999-03-03\n"
    "\n"
    "Forms: Spanish long (with and without the weekday) and abbreviated; English\n"
    "long (month first, day first, with the weekday, ordinal) and abbreviated (with a\n"
    "two-digit year, upper case); numeric d/m/y (dd/mm/yyyy, d/m/yy, d.m.yyyy); and\n"
    "yyyymmdd. Dates are uniform over 1950-01-01 .. 2049-12-31 (two-digit years\n"
    "50..99 mean 19xx, 00..49 mean 20xx); no (date, form) repeats.\n"
    "\n"
    "  --count N      pairs to write (default 10000, at most 200000)\n"
    "  --seed S       random seed (default 1); the same seed gives the same file\n"
    "  --output FILE  write FILE (atomically) instead of standard output\n"
    "\n"
    "Example: rnn task dates --count 20000 > dates.tsv; rnn seq2seq train dates.tsv\n";

int cmd_task_dates(int argc, char **argv)
{
    int count = 10000;
    uint64_t seed = 1;
    const char *output = NULL;
    cli_opt opts[] = {
        {"count", CLI_INT, &count, 1, 200000, 0},
        {"seed", CLI_U64, &seed, 0, 0, 0},
        {"output", CLI_STR, &output, 0, 0, 0},
        {NULL, 0, NULL, 0, 0, 0},
    };
    const char *pos[1];
    int np;
    int rc = cli_parse("task dates", argc, argv, opts, pos, 0, 0, &np, usage);
    if (rc)
        return rc < 0 ? 0 : rc;
    const int ndays = total_days();
    const size_t combos = (size_t)ndays * NFORMS;
    unsigned char *used = calloc((combos + 7) / 8, 1);
    if (!used)
        return cli_error("task dates", CLI_EXIT_INTERNAL, "out of memory");
    rnn__rng r;
    rnn__rng_seed(&r, seed ^ 0xda7e5u);
    rnn__buf b = {0};
    for (int i = 0; i < count; i++) {
        size_t c;
        do /* count <= 200000 of 511350 combinations: few retries */
            c = (size_t)rnn__rng_below(&r, combos);
        while (used[c / 8] & (1u << (c % 8)));
        used[c / 8] |= (unsigned char)(1u << (c % 8));
        int y, m, d, wd;
        civil((int)(c / NFORMS), &y, &m, &d, &wd);
        write_form(&b, (int)(c % NFORMS), y, m, d, wd);
        rnn__buf_printf(&b, "\t%04d-%02d-%02d\n", y, m + 1, d);
    }
    free(used);
    if (b.oom) {
        rnn__buf_free(&b);
        return cli_error("task dates", CLI_EXIT_INTERNAL, "out of memory");
    }
    if (output) {
        rnn_error e;
        rnn_status st = rnn__write_file_atomic(output, b.data, b.len, &e);
        rnn__buf_free(&b);
        return st ? cli_fail_status("task dates", st, e.msg) : 0;
    }
    const size_t len = b.len, w = fwrite(b.data, 1, len, stdout);
    rnn__buf_free(&b);
    if (w != len || fflush(stdout) != 0)
        return cli_error("task dates", CLI_EXIT_INPUT, "standard output: write failed");
    return 0;
}
