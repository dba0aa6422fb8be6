/*
 * fuzz_npy.c -- the NumPy .npy reader (rnn__npy_parse) on arbitrary bytes.
 * An accepted array has a dtype we support (float32/64, int64/32/8, uint8,
 * bool), a shape whose product is numel, and exactly numel * dtype-size
 * data bytes, which convert.
 */
#include "fuzz.h"

#include "io/io.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rnn__npy a;
    rnn_error err;
    if (rnn__npy_parse(&a, data, size, "fuzz.npy", &err) != RNN_OK) {
        FUZZ_CHECK(err.msg[0] != '\0' && strchr(err.msg, '\n') == NULL);
        return 0;
    }
    const int is_int = a.dtype == RNN__I64 || a.dtype == RNN__I32 || a.dtype == RNN__I8 ||
                       a.dtype == RNN__U8 || a.dtype == RNN__BOOL;
    FUZZ_CHECK(a.dtype == RNN__F32 || a.dtype == RNN__F64 || is_int);
    FUZZ_CHECK(a.ndim >= 0 && a.ndim <= RNN__MAX_DIMS);
    size_t numel = 1;
    for (int d = 0; d < a.ndim; d++) {
        FUZZ_CHECK(a.shape[d] >= 0);
        numel *= (size_t)a.shape[d];
    }
    FUZZ_CHECK(numel == a.numel);
    FUZZ_CHECK(a.numel * rnn__dtype_size(a.dtype) <= size);
    if (a.numel <= 4096) {
        float f[4096];
        FUZZ_CHECK(rnn__convert_f32(f, a.data, a.dtype, a.numel) == RNN_OK);
        if (is_int) {
            int64_t v[4096];
            FUZZ_CHECK(rnn__convert_i64(v, a.data, a.dtype, a.numel) == RNN_OK);
        }
    }
    rnn__npy_free(&a);
    return 0;
}
