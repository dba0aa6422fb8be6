/*
 * fuzz_text.c -- UTF-8 text and character vocabularies on arbitrary bytes:
 * rnn__utf8_decode (what `rnn train`, `eval` and `sample --prime` read),
 * the vocabulary built from it, its JSON form (rnn.vocab in checkpoints)
 * round-tripped, and rnn__vocab_from_json on the raw input.
 */
#include "fuzz.h"

#include "io/io.h"
#include "io/text.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rnn_error err;
    uint32_t *cps = NULL;
    size_t n = 0;
    if (rnn__utf8_decode(&cps, &n, data, size, "fuzz.txt", &err) == RNN_OK) {
        FUZZ_CHECK(n <= size);
        /* re-encoding gives the input back, byte for byte */
        size_t pos = 0;
        for (size_t i = 0; i < n; i++) {
            char u[4];
            size_t k = rnn__utf8_encode(cps[i], u);
            FUZZ_CHECK(pos + k <= size && memcmp(data + pos, u, k) == 0);
            pos += k;
        }
        FUZZ_CHECK(pos == size);
        rnn__vocab v;
        if (rnn__vocab_build(&v, cps, n, NULL, 0, &err) == RNN_OK) {
            int32_t *ids = malloc((n ? n : 1) * sizeof *ids);
            FUZZ_CHECK(ids != NULL);
            FUZZ_CHECK(rnn__vocab_encode(&v, ids, cps, n, NULL) == RNN_OK);
            for (size_t i = 0; i < n; i++)
                FUZZ_CHECK(ids[i] >= 0 && ids[i] < v.size && v.chars[ids[i]] == cps[i]);
            free(ids);
            char *json = rnn__vocab_to_json(&v);
            FUZZ_CHECK(json != NULL);
            rnn__vocab back;
            /* an empty text has an empty vocabulary, which no checkpoint holds */
            if (v.size > 0) {
                FUZZ_CHECK(rnn__vocab_from_json(&back, json, &err) == RNN_OK);
                FUZZ_CHECK(back.size == v.size &&
                           memcmp(back.chars, v.chars, (size_t)v.size * sizeof *v.chars) == 0);
                rnn__vocab_free(&back);
            }
            for (int i = 0; i < v.size; i++) {
                char d[64];
                rnn__describe_char(v.chars[i], d, sizeof d);
                FUZZ_CHECK(rnn__vocab_index(&v, v.chars[i]) == i);
            }
            rnn__free(json);
            rnn__vocab_free(&v);
        }
        rnn__free(cps);
    } else {
        FUZZ_CHECK(err.msg[0] != '\0' && strchr(err.msg, '\n') == NULL);
    }

    /* the same bytes as a stored vocabulary (a NUL ends the C string) */
    char *s = malloc(size + 1);
    FUZZ_CHECK(s != NULL);
    memcpy(s, data, size);
    s[size] = '\0';
    rnn__vocab v;
    if (rnn__vocab_from_json(&v, s, &err) == RNN_OK) {
        FUZZ_CHECK(v.size >= 1);
        for (int i = 1; i < v.size; i++)
            FUZZ_CHECK(v.chars[i] > v.chars[i - 1] && v.chars[i] <= 0x10FFFF);
        rnn__vocab_free(&v);
    }
    free(s);
    return 0;
}
