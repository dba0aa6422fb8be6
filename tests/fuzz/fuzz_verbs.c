/*
 * fuzz_verbs.c -- a checkpoint from anywhere, handed to every command that
 * reads one, exactly as a user would: `rnn sample CKPT`, `rnn eval CKPT
 * TEXT`, `rnn forecast predict CKPT DATA.csv`, `rnn classify predict CKPT
 * FILE.tsv`, `rnn seq2seq translate CKPT FILE`, `rnn run --weights CKPT`.
 * Each verb's own metadata (vocabularies, labels, normalisation statistics,
 * seq2seq and Statal configs) is parsed on top of the common checkpoint
 * reader. Every command must return 0 (the file was a model it can use) or
 * 2 (bad input, one line on stderr); 1 would be an internal error and a
 * crash a bug. The seed corpus holds a small checkpoint of every verb.
 */
#include "fuzz.h"

#include "cli/cli.h"

#include <string.h>
#include <unistd.h>

static char dir[256], ckpt[320], text[320], csv[320], tsv[320], src[320], x[320], y[320];

static void write_file(const char *path, const char *s)
{
    FILE *f = fopen(path, "wb");
    FUZZ_CHECK(f != NULL);
    fputs(s, f);
    FUZZ_CHECK(fclose(f) == 0);
}

static void cleanup(void)
{
    const char *const files[] = {ckpt, text, csv, tsv, src, x, y};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        unlink(files[i]);
    rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_tempdir(dir, sizeof dir, "verbs");
    atexit(cleanup);
    snprintf(ckpt, sizeof ckpt, "%s/ckpt.safetensors", dir);
    snprintf(text, sizeof text, "%s/text.txt", dir);
    snprintf(csv, sizeof csv, "%s/data.csv", dir);
    snprintf(tsv, sizeof tsv, "%s/texts.tsv", dir);
    snprintf(src, sizeof src, "%s/src.txt", dir);
    snprintf(x, sizeof x, "%s/x.npy", dir);
    snprintf(y, sizeof y, "%s/y.npy", dir);
    write_file(text, "line 1: the rain in spain stays mainly in the plain.\n");
    char rows[4096] = "date,y,x\n";
    for (int i = 0; i < 60; i++) {
        size_t n = strlen(rows);
        snprintf(rows + n, sizeof rows - n, "2020-%02d-01,%d,%d\n", i % 12 + 1, 10 + i % 7, i % 3);
    }
    write_file(csv, rows);
    write_file(tsv, "the film was good\nbad\n");
    write_file(src, "12 march 2011\n2011-03-12\n");
    /* a .npy input for rnn run: float32 [2, 1, 4] */
    static const unsigned char npy_head[] =
        "\x93NUMPY\x01\x00\x76\x00{'descr': '<f4', 'fortran_order': False, 'shape': (2, 1, 4), }";
    FILE *f = fopen(x, "wb");
    FUZZ_CHECK(f != NULL);
    unsigned char head[128];
    memset(head, ' ', sizeof head);
    memcpy(head, npy_head, sizeof npy_head - 1);
    head[127] = '\n';
    fwrite(head, 1, sizeof head, f);
    float v[8] = {0.5f, -1, 0.25f, 2, 0, 1, -0.5f, 0.125f};
    fwrite(v, sizeof v[0], 8, f);
    FUZZ_CHECK(fclose(f) == 0);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FILE *f = fopen(ckpt, "wb");
    FUZZ_CHECK(f != NULL);
    FUZZ_CHECK(fwrite(data, 1, size, f) == size);
    FUZZ_CHECK(fclose(f) == 0);
    FUZZ_RUN_VERB(1, cmd_sample, ckpt, "--length", "8", "--seed", "1", "--prime", "l");
    FUZZ_RUN_VERB(1, cmd_eval, ckpt, text);
    FUZZ_RUN_VERB(1, cmd_forecast, "predict", ckpt, csv);
    FUZZ_RUN_VERB(1, cmd_classify, "predict", ckpt, tsv);
    FUZZ_RUN_VERB(1, cmd_seq2seq, "translate", ckpt, src);
    char out[360];
    snprintf(out, sizeof out, "%s/y.npy", dir);
    FUZZ_RUN_VERB(1, cmd_run, "--weights", ckpt, "--input", x, "--output", out);
    fflush(stdout);
    return 0;
}
