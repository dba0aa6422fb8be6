/*
 * fuzz.h -- what every fuzz target shares. A target defines
 * LLVMFuzzerTestOneInput (and may define LLVMFuzzerInitialize); it is linked
 * either with libFuzzer (clang -fsanitize=fuzzer, `make fuzz`) or with
 * replay.c, which feeds it the files of the seed corpus and of the crash
 * regressions (`make test`). FUZZ_CHECK states an invariant that must hold
 * for every input: a violation aborts, which both drivers report as a
 * failure, with the input that caused it.
 */
#ifndef RNN_FUZZ_H
#define RNN_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_CHECK(cond)                                                          \
    do {                                                                          \
        if (!(cond)) {                                                            \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, \
                    #cond);                                                       \
            abort();                                                              \
        }                                                                         \
    } while (0)

/* ---- for targets that drive the command line (cli/cli.h's cmd_*) ---- */

/* Runs one verb with the given arguments (copied: the parser may reorder
 * them); returns its exit status. */
static inline int fuzz_run(int (*cmd)(int, char **), int argc, const char *const *args)
{
    char buf[24][400];
    char *argv[25];
    FUZZ_CHECK(argc <= 24);
    for (int i = 0; i < argc; i++) {
        snprintf(buf[i], sizeof buf[i], "%s", args[i]);
        argv[i] = buf[i];
    }
    argv[argc] = NULL;
    return cmd(argc, argv);
}

/* Runs cmd with the string arguments that follow: exit status 0, or 2 (bad
 * input) when ok2, else the invariant fails. */
#define FUZZ_RUN_VERB(ok2, cmd, ...)                                              \
    do {                                                                          \
        const char *const a_[] = {__VA_ARGS__};                                   \
        int rc_ = fuzz_run(cmd, (int)(sizeof a_ / sizeof a_[0]), a_);             \
        if (rc_ != 0 && !((ok2) && rc_ == 2)) {                                   \
            fprintf(stderr, "%s %s: exit status %d\n", #cmd, a_[0], rc_);         \
            FUZZ_CHECK(rc_ == 0 || ((ok2) && rc_ == 2));                          \
        }                                                                         \
    } while (0)

/* Makes a fresh directory $TMPDIR/rnn-fuzz-NAME-XXXXXX (/tmp without
 * TMPDIR) and leaves its path in dir[n]. */
static inline void fuzz_tempdir(char *dir, size_t n, const char *name)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, n, "%s/rnn-fuzz-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", name);
    FUZZ_CHECK(mkdtemp(dir) != NULL);
}

#endif
