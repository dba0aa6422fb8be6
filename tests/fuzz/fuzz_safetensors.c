/*
 * fuzz_safetensors.c -- the safetensors reader (rnn__st_parse) on arbitrary
 * bytes. An accepted file must keep every promise io.h makes: each tensor
 * lies inside the buffer with exactly numel * dtype-size bytes, the tensors
 * tile the data buffer, names and metadata are C strings; and each float
 * tensor converts.
 */
#include "fuzz.h"

#include "io/io.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rnn__st st;
    rnn_error err;
    if (rnn__st_parse(&st, data, size, "fuzz.safetensors", &err) != RNN_OK) {
        FUZZ_CHECK(err.msg[0] != '\0' && strchr(err.msg, '\n') == NULL);
        return 0;
    }
    size_t covered = 0;
    for (size_t i = 0; i < st.count; i++) {
        const rnn__st_tensor *t = &st.tensors[i];
        size_t numel = 1;
        for (int d = 0; d < t->ndim; d++) {
            FUZZ_CHECK(t->shape[d] >= 0);
            numel *= (size_t)t->shape[d];
        }
        FUZZ_CHECK(numel == t->numel);
        FUZZ_CHECK(t->nbytes == t->numel * rnn__dtype_size(t->dtype));
        FUZZ_CHECK(t->data >= st.buf && t->data + t->nbytes <= st.buf + st.size);
        FUZZ_CHECK(rnn__st_find(&st, t->name) != NULL);
        covered += t->nbytes;
        if (t->numel <= 4096) {
            float f[4096];
            rnn_status s = rnn__convert_f32(f, t->data, t->dtype, t->numel);
            FUZZ_CHECK(s == RNN_OK || s == RNN_EUNSUPPORTED);
        }
    }
    /* the data buffer is exactly the tensors' bytes */
    FUZZ_CHECK(covered <= st.size);
    for (size_t i = 0; i < st.meta_count; i++)
        FUZZ_CHECK(rnn__st_meta(&st, st.meta_keys[i]) != NULL);
    rnn__st_free(&st);
    return 0;
}
