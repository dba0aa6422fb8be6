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

#endif
