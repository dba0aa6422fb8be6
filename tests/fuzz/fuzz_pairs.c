/*
 * fuzz_pairs.c -- the seq2seq pairs reader: a source<TAB>target file from
 * anywhere, read as `rnn seq2seq eval CKPT PAIRS.tsv` reads it (against a
 * trained model's vocabularies) and as `rnn seq2seq train PAIRS.tsv` reads
 * it (building the vocabularies, characters or words), exactly as a user
 * would run them. The first byte of the input picks the options (bit 0:
 * --tokens word, bit 1: --max-len 6); the rest is the file. Every command
 * must return 0 or 2 (bad input, one line on stderr); 1 would be an
 * internal error and a crash a bug. The model is trained once, at start-up,
 * on `rnn task dates` pairs.
 */
#include "fuzz.h"

#include "cli/cli.h"

#include <string.h>
#include <unistd.h>

static char dir[256], ckpt[320], pairs[320], dates[320], out[320];

static void rm_out(void)
{
    const char *const files[] = {"best.safetensors", "last.safetensors", "log.csv",
                                 "loss.svg",         "metrics.json",     "attention.svg"};
    char p[400];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", out, files[i]);
        unlink(p);
    }
    rmdir(out);
}

static void cleanup(void)
{
    rm_out();
    char p[400];
    snprintf(p, sizeof p, "%s/m", dir);
    const char *const files[] = {"best.safetensors", "last.safetensors", "log.csv",
                                 "loss.svg",         "metrics.json",     "attention.svg"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char q[440];
        snprintf(q, sizeof q, "%s/%s", p, files[i]);
        unlink(q);
    }
    rmdir(p);
    unlink(pairs);
    unlink(dates);
    rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_tempdir(dir, sizeof dir, "pairs");
    atexit(cleanup);
    snprintf(pairs, sizeof pairs, "%s/pairs.tsv", dir);
    snprintf(dates, sizeof dates, "%s/dates.tsv", dir);
    snprintf(out, sizeof out, "%s/out", dir);
    char m[300];
    snprintf(m, sizeof m, "%s/m", dir);
    snprintf(ckpt, sizeof ckpt, "%s/m/last.safetensors", dir);
    FUZZ_RUN_VERB(0, cmd_task, "dates", "--count", "40", "--seed", "1", "--output", dates);
    FUZZ_RUN_VERB(0, cmd_seq2seq, "train", dates, "--hidden", "4", "--embed", "4", "--layers", "1",
                  "--max-steps", "1", "--out", m, "--quiet");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const int words = data[0] & 1, short_len = data[0] & 2;
    FILE *f = fopen(pairs, "wb");
    FUZZ_CHECK(f != NULL);
    FUZZ_CHECK(fwrite(data + 1, 1, size - 1, f) == size - 1);
    FUZZ_CHECK(fclose(f) == 0);
    FUZZ_RUN_VERB(1, cmd_seq2seq, "eval", ckpt, pairs);
    rm_out();
    const char *tokens = words ? "word" : "char", *max_len = short_len ? "6" : "256";
    FUZZ_RUN_VERB(1, cmd_seq2seq, "train", pairs, "--tokens", tokens, "--max-len", max_len,
                  "--hidden", "4", "--embed", "4", "--layers", "1", "--batch", "4", "--max-steps",
                  "1", "--eval-every", "1", "--out", out, "--quiet");
    fflush(stdout);
    return 0;
}
