/*
 * fuzz_json.c -- the strict JSON parser (every header and metadata value
 * goes through it) on arbitrary bytes. An accepted document is a tree whose
 * strings are valid UTF-8 of the stated length and whose object keys are
 * found by rnn__json_get; the output buffer's string escaping produces JSON
 * that parses back to the same string.
 */
#include "fuzz.h"

#include "io/io.h"

#include <string.h>

static void walk(const rnn__json *v, int depth)
{
    FUZZ_CHECK(depth <= 64);
    switch (v->kind) {
    case RNN__JSON_STRING: {
        FUZZ_CHECK(v->str[v->len] == '\0');
        FUZZ_CHECK(rnn__utf8_valid(v->str, v->len));
        if (strlen(v->str) == v->len) {
            /* writer and reader agree on every string without NULs */
            rnn__buf b = {0};
            rnn__buf_json_string(&b, v->str);
            FUZZ_CHECK(!b.oom);
            rnn__json *back;
            rnn_error err;
            FUZZ_CHECK(rnn__json_parse(&back, b.data, b.len, &err) == RNN_OK);
            FUZZ_CHECK(back->kind == RNN__JSON_STRING && back->len == v->len &&
                       memcmp(back->str, v->str, v->len) == 0);
            rnn__json_free(back);
            rnn__buf_free(&b);
        }
        break;
    }
    case RNN__JSON_ARRAY:
    case RNN__JSON_OBJECT:
        for (size_t i = 0; i < v->count; i++) {
            if (v->kind == RNN__JSON_OBJECT)
                FUZZ_CHECK(rnn__json_get(v, v->keys[i]) != NULL);
            walk(&v->items[i], depth + 1);
        }
        break;
    case RNN__JSON_NUMBER:
        FUZZ_CHECK(v->number == v->number); /* never NaN */
        break;
    default:
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rnn__json *j;
    rnn_error err;
    if (rnn__json_parse(&j, (const char *)data, size, &err) != RNN_OK) {
        FUZZ_CHECK(err.msg[0] != '\0' && strchr(err.msg, '\n') == NULL);
        return 0;
    }
    walk(j, 0);
    rnn__json_free(j);
    return 0;
}
