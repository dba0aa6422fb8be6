/* test_npy.c -- the .npy reader (header dialects numpy writes, every
 * rejection rule) and writer (exact header bytes, alignment, round trips). */
#include "test.h"

#include "io/io.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *tmp_path(const char *name)
{
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", t_tmpdir(), name);
    return buf[k];
}

/* A .npy file: preamble for `major`, the header as given, and datalen
 * pattern bytes. */
static unsigned char *npy_build(int major, const char *header, size_t datalen, size_t *size)
{
    size_t hl = strlen(header), pre = major == 1 ? 10 : 12;
    unsigned char *b = malloc(pre + hl + datalen + 1);
    memcpy(b, "\x93NUMPY", 6);
    b[6] = (unsigned char)major;
    b[7] = 0;
    for (size_t i = 0; i < pre - 8; i++)
        b[8 + i] = (unsigned char)(hl >> (8 * i));
    memcpy(b + pre, header, hl);
    for (size_t i = 0; i < datalen; i++)
        b[pre + hl + i] = (unsigned char)(i * 13 + 5);
    *size = pre + hl + datalen;
    return b;
}

static void npy_reject_buf(const char *file, int line, const unsigned char *b, size_t size,
                           rnn_status want, const char *needle)
{
    rnn__npy a;
    rnn_error e;
    rnn__error_clear(&e);
    rnn_status s = rnn__npy_parse(&a, b, size, "a.npy", &e);
    if (s != want)
        t_fail_at(file, line, "status %d, want %d (message: %s)", (int)s, (int)want, e.msg);
    else if (strncmp(e.msg, "a.npy: ", 7) != 0 || !strstr(e.msg, needle))
        t_fail_at(file, line, "message \"%s\" does not start with the file name or lacks \"%s\"",
                  e.msg, needle);
    if (s == RNN_OK)
        rnn__npy_free(&a);
    else if (a.data != NULL)
        t_fail_at(file, line, "data left allocated after a failure");
}

static void npy_reject(const char *file, int line, int major, const char *header,
                       size_t datalen, rnn_status want, const char *needle)
{
    size_t size;
    unsigned char *b = npy_build(major, header, datalen, &size);
    npy_reject_buf(file, line, b, size, want, needle);
    free(b);
}
#define NPY_REJECT(header, datalen, needle) \
    npy_reject(__FILE__, __LINE__, 1, header, datalen, RNN_EFORMAT, needle)
#define NPY_REJECT_STATUS(header, datalen, status, needle) \
    npy_reject(__FILE__, __LINE__, 1, header, datalen, status, needle)

/* Parses header + datalen pattern bytes and checks dtype and shape. */
static void npy_accept(const char *file, int line, int major, const char *header,
                       size_t datalen, rnn__dtype dtype, int ndim, const int64_t *shape)
{
    size_t size;
    unsigned char *b = npy_build(major, header, datalen, &size);
    rnn__npy a;
    rnn_error e;
    rnn_status s = rnn__npy_parse(&a, b, size, "a.npy", &e);
    if (s != RNN_OK) {
        t_fail_at(file, line, "header <%s> refused: %s", header, e.msg);
    } else {
        int same = a.dtype == dtype && a.ndim == ndim;
        size_t numel = 1;
        for (int i = 0; same && i < ndim; i++) {
            same = a.shape[i] == shape[i];
            numel *= (size_t)shape[i];
        }
        if (!same || a.numel != numel || memcmp(a.data, b + size - datalen, datalen) != 0)
            t_fail_at(file, line, "header <%s>: wrong dtype, shape or data", header);
        rnn__npy_free(&a);
    }
    free(b);
}
#define NPY_ACCEPT(major, header, datalen, dtype, ndim, ...)                     \
    do {                                                                        \
        static const int64_t shape_[RNN__MAX_DIMS + 1] = {__VA_ARGS__};         \
        npy_accept(__FILE__, __LINE__, major, header, datalen, dtype, ndim, shape_); \
    } while (0)

/* ---- reader ----------------------------------------------------------- */

/* Byte for byte what numpy 1.24 np.save writes for np.arange(3, dtype=np.float32),
 * including its spare "growth" spaces. */
static void test_numpy_written_file(void)
{
    unsigned char file[128 + 12];
    const char *dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }";
    memcpy(file, "\x93NUMPY\x01\x00\x76\x00", 10);
    memset(file + 10, ' ', 118);
    memcpy(file + 10, dict, strlen(dict));
    file[127] = '\n';
    float v[3] = {0.0f, 1.0f, 2.0f};
    memcpy(file + 128, v, 12);
    const char *path = tmp_path("numpy.npy");
    FILE *fp = fopen(path, "wb");
    CHECK(fp && fwrite(file, 1, sizeof file, fp) == sizeof file);
    if (fp)
        fclose(fp);

    rnn__npy a;
    rnn_error e;
    rnn_status s = rnn__npy_read(&a, path, &e);
    CHECK_MSG(s == RNN_OK, "%s", e.msg);
    if (s != RNN_OK)
        return;
    CHECK(a.dtype == RNN__F32 && a.ndim == 1 && a.shape[0] == 3 && a.numel == 3);
    float got[3];
    CHECK_OK(rnn__convert_f32(got, a.data, a.dtype, 3));
    t_allclose("arange(3)", got, v, 3, 0, 0);
    rnn__npy_free(&a);
    CHECK(a.data == NULL);
}

static void test_header_dialects(void)
{
    /* numpy's own spelling, 0-d to 3-d, every supported dtype */
    NPY_ACCEPT(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }\n", 48,
               RNN__F32, 2, 3, 4);
    NPY_ACCEPT(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (), }\n", 8, RNN__F64, 0, 0);
    NPY_ACCEPT(1, "{'descr': '<i8', 'fortran_order': False, 'shape': (5,), }\n", 40,
               RNN__I64, 1, 5);
    NPY_ACCEPT(1, "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3, 4), }\n", 96,
               RNN__I32, 3, 2, 3, 4);
    NPY_ACCEPT(1, "{'descr': '|u1', 'fortran_order': False, 'shape': (3,), }\n", 3, RNN__U8, 1, 3);
    NPY_ACCEPT(1, "{'descr': '|i1', 'fortran_order': False, 'shape': (3,), }\n", 3, RNN__I8, 1, 3);
    NPY_ACCEPT(1, "{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }\n", 3, RNN__BOOL, 1, 3);
    NPY_ACCEPT(1, "{'descr': '<u1', 'fortran_order': False, 'shape': (1,), }\n", 1, RNN__U8, 1, 1);
    /* native order on a little-endian host */
    NPY_ACCEPT(1, "{'descr': '=f8', 'fortran_order': False, 'shape': (1,), }\n", 8, RNN__F64, 1, 1);
    /* empty arrays */
    NPY_ACCEPT(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 3), }\n", 0,
               RNN__F32, 2, 0, 3);
    /* any key order, no trailing comma, double quotes, odd whitespace, no
     * newline, trailing comma in the tuple, padding before the dict */
    NPY_ACCEPT(1, "{'shape': (2,), 'descr': '<f4', 'fortran_order': False}", 8, RNN__F32, 1, 2);
    NPY_ACCEPT(1, "{\"descr\":\"<f4\",\"fortran_order\":False,\"shape\":(2,3,)}   \n", 24,
               RNN__F32, 2, 2, 3);
    NPY_ACCEPT(1, "  {\t'descr' :\n'<f4' ,'fortran_order':False,'shape':( 2 , 3 ) ,\r\n}\n",
               24, RNN__F32, 2, 2, 3);
    /* versions 2.0 and 3.0: a 4-byte header length */
    NPY_ACCEPT(2, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n", 8, RNN__F32, 1, 2);
    NPY_ACCEPT(3, "{'descr': '<i8', 'fortran_order': False, 'shape': (1, 1), }\n", 8,
               RNN__I64, 2, 1, 1);
    /* 8 dimensions, the most we hold */
    NPY_ACCEPT(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2, 1, 2, 1, 2, 1, 2), }",
               64, RNN__F32, 8, 1, 2, 1, 2, 1, 2, 1, 2);
    /* a header numpy would write as version 2: longer than 65535 bytes */
    size_t big = 70000;
    char *h = malloc(big + 1);
    const char *dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
    memset(h, ' ', big);
    memcpy(h, dict, strlen(dict));
    h[big - 1] = '\n';
    h[big] = '\0';
    NPY_ACCEPT(2, h, 8, RNN__F32, 1, 2);
    free(h);
}

static void test_reject_preamble(void)
{
    unsigned char b[16] = "\x93NUMPY\x01\x00\x00\x00";
    npy_reject_buf(__FILE__, __LINE__, b, 9, RNN_EFORMAT, "not a .npy file");
    npy_reject_buf(__FILE__, __LINE__, (const unsigned char *)"PK\x03\x04 zip file", 14,
                   RNN_EFORMAT, "not a .npy file (no \\x93NUMPY magic)");
    b[6] = 4;
    npy_reject_buf(__FILE__, __LINE__, b, 16, RNN_EUNSUPPORTED, "version 4.0 is not supported");
    b[6] = 1;
    b[7] = 1;
    npy_reject_buf(__FILE__, __LINE__, b, 16, RNN_EUNSUPPORTED, "version 1.1");
    b[6] = 2;
    b[7] = 0;
    npy_reject_buf(__FILE__, __LINE__, b, 11, RNN_EFORMAT, "too short for a .npy 2.0 header");
    /* header length past the end of the file */
    b[6] = 1;
    b[8] = 200;
    npy_reject_buf(__FILE__, __LINE__, b, 16, RNN_EFORMAT,
                   "header length 200 exceeds the 6 bytes that follow it");
    b[6] = 2;
    b[8] = 0xff; b[9] = 0xff; b[10] = 0xff; b[11] = 0xff;
    npy_reject_buf(__FILE__, __LINE__, b, 16, RNN_EFORMAT,
                   "header length 4294967295 exceeds the 4 bytes");
}

static void test_reject_header_syntax(void)
{
    NPY_REJECT("", 0, "header byte 0: expected '{' (a Python dict), found the end");
    NPY_REJECT("['descr', '<f4']", 0, "expected '{'");
    NPY_REJECT("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), } x", 8,
               "header byte 58: expected the end of the header after '}', found 'x'");
    NPY_REJECT("{'descr': '<f4' 'fortran_order': False, 'shape': (2,)}", 8,
               "header byte 16: expected ',' or '}', found '''");
    NPY_REJECT("{'descr' '<f4', 'fortran_order': False, 'shape': (2,)}", 8, "expected ':'");
    NPY_REJECT("{'descr': '<f4', 'fortran_order': False, 'shape': (2,)", 8, "',' or '}'");
    NPY_REJECT("{descr: '<f4'}", 0, "expected a quoted string");
    NPY_REJECT("{'descr': '<f4, 'fortran_order': False, 'shape': (2,)}", 8,
               "header byte 17: expected ',' or '}', found 'f'");
    NPY_REJECT("{'descr': '<f4", 0, "unterminated string");
    NPY_REJECT("{'descr': '<\\x66\\x34'}", 0, "escape sequences");
    NPY_REJECT("{'descr': '<f4', 'fortran_order': false, 'shape': (2,)}", 8,
               "expected True or False, found 'f'");
    NPY_REJECT("{'descr': '<f4', 'fortran_order': Falsey, 'shape': (2,)}", 8,
               "expected True or False");
    NPY_REJECT("{'descr': '<f4', 'fortran_order': 0, 'shape': (2,)}", 8, "True or False");
    NPY_REJECT("{'descr': '<f4', 'fortran_order': False, 'shape': [2]}", 8,
               "expected a shape tuple such as (2, 3)");
}

static void test_reject_keys(void)
{
    NPY_REJECT("{'descr': '<f4', 'fortran_order': False}", 4, "header has no 'shape' key");
    NPY_REJECT("{'shape': (1,), 'fortran_order': False}", 4, "header has no 'descr' key");
    NPY_REJECT("{'descr': '<f4', 'shape': (1,)}", 4, "header has no 'fortran_order' key");
    NPY_REJECT("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'extra': 1}", 4,
               "unexpected key 'extra' (expected 'descr', 'fortran_order' and 'shape')");
    NPY_REJECT("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}", 4,
               "header byte 17: key 'descr' appears twice");
}

static void test_reject_descr(void)
{
    NPY_REJECT_STATUS("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", 4,
                      RNN_EUNSUPPORTED,
                      "big-endian data ('>f4') is not supported; convert with a.astype('<f4')");
    NPY_REJECT_STATUS("{'descr': '>i8', 'fortran_order': False, 'shape': (1,), }", 8,
                      RNN_EUNSUPPORTED, "big-endian");
    NPY_REJECT("{'descr': '|f4', 'fortran_order': False, 'shape': (1,), }", 4,
               "dtype '|f4': byte order '|' (not applicable) is invalid for a multi-byte "
               "type; expected '<f4'");
    NPY_REJECT("{'descr': '|i8', 'fortran_order': False, 'shape': (1,), }", 8, "expected '<i8'");
    NPY_REJECT_STATUS("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", 8,
                      RNN_EUNSUPPORTED, "dtype '<c8' is not supported");
    NPY_REJECT_STATUS("{'descr': '<f2', 'fortran_order': False, 'shape': (1,), }", 2,
                      RNN_EUNSUPPORTED, "dtype '<f2' is not supported");
    NPY_REJECT_STATUS("{'descr': '<U10', 'fortran_order': False, 'shape': (1,), }", 40,
                      RNN_EUNSUPPORTED, "'<U10' is not supported");
    NPY_REJECT_STATUS("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", 8,
                      RNN_EUNSUPPORTED, "'|O' is not supported");
    NPY_REJECT_STATUS("{'descr': 'f4', 'fortran_order': False, 'shape': (1,), }", 4,
                      RNN_EUNSUPPORTED, "'f4' is not supported");
    NPY_REJECT_STATUS("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", 4,
                      RNN_EUNSUPPORTED, "structured dtypes are not supported");
    NPY_REJECT_STATUS("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", 24,
                      RNN_EUNSUPPORTED,
                      "a.npy: Fortran order not supported; save with np.ascontiguousarray");
}

static void test_reject_shape(void)
{
    NPY_REJECT("{'descr': '<f4', 'fortran_order': False, 'shape': (3), }", 12,
               "shape (3) is not a tuple; a 1-d shape is written (3,)");
    NPY_REJECT("{'descr': '<f4', 'fortran_order': False, 'shape': (3L,), }", 12,
               "Python 2 long suffix 'L'");
    NPY_REJECT("{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 3L), }", 24, "'L'");
    NPY_REJECT("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", 0,
               "expected a non-negative integer or ')', found '-'");
    NPY_REJECT("{'descr': '<f4', 'fortran_order': False, 'shape': (03,), }", 12,
               "leading zeros");
    NPY_REJECT("{'descr': '<f4', 'fortran_order': False, 'shape': (,), }", 0,
               "expected a non-negative integer or ')'");
    NPY_REJECT("{'descr': '<f4', 'fortran_order': False, 'shape': (2,,), }", 8,
               "expected a dimension or ')'");
    NPY_REJECT("{'descr': '<f4', 'fortran_order': False, 'shape': (2 3), }", 24,
               "expected ',' or ')' in the shape");
    NPY_REJECT("{'descr': '<f4', 'fortran_order': False, 'shape': (2.0,), }", 8,
               "expected ',' or ')'");
    NPY_REJECT_STATUS("{'descr': '<f4', 'fortran_order': False, "
                      "'shape': (1, 1, 1, 1, 1, 1, 1, 1, 1), }", 4,
                      RNN_EUNSUPPORTED, "more than 8 dimensions are not supported");
    NPY_REJECT_STATUS("{'descr': '<f4', 'fortran_order': False, "
                      "'shape': (9223372036854775808,), }", 4,
                      RNN_EOVERFLOW, "dimension too large");
    NPY_REJECT_STATUS("{'descr': '<f4', 'fortran_order': False, "
                      "'shape': (4294967296, 4294967296, 4), }", 4,
                      RNN_EOVERFLOW, "shape has too many elements");
    NPY_REJECT_STATUS("{'descr': '<f8', 'fortran_order': False, "
                      "'shape': (2305843009213693952,), }", 4,
                      RNN_EOVERFLOW, "too many bytes");
}

static void test_reject_data_size(void)
{
    NPY_REJECT("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }\n", 20,
               "truncated: the shape and dtype '<f4' need 24 data bytes, but only 20 are present");
    NPY_REJECT("{'descr': '<f8', 'fortran_order': False, 'shape': (), }\n", 0,
               "need 8 data bytes, but only 0");
    NPY_REJECT("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }\n", 28,
               "4 unexpected bytes after the data (expected 24 data bytes, found 28)");
    NPY_REJECT("{'descr': '<f4', 'fortran_order': False, 'shape': (0,), }\n", 1,
               "1 unexpected bytes after the data");

    /* the same through a real, truncated file */
    const char *path = tmp_path("cut.npy");
    int64_t shape[2] = {4, 4};
    float v[16] = {0};
    rnn_error e;
    CHECK_OK(rnn__npy_write(path, RNN__F32, 2, shape, v, &e));
    CHECK(truncate(path, 128 + 60) == 0); /* 128 bytes of header */
    rnn__npy a;
    CHECK(rnn__npy_read(&a, path, &e) == RNN_EFORMAT);
    CHECK(strncmp(e.msg, path, strlen(path)) == 0);
    CHECK_MSG(strstr(e.msg, "need 64 data bytes, but only 60 are present") != NULL, "%s", e.msg);
    CHECK(a.data == NULL);
    CHECK(rnn__npy_read(&a, tmp_path("absent.npy"), &e) == RNN_EIO);
    CHECK(strstr(e.msg, "absent.npy: No such file or directory") != NULL);
}

/* ---- writer ----------------------------------------------------------- */

static void check_written(const char *path, rnn__dtype dtype, int ndim, const int64_t *shape,
                          const void *data, size_t nbytes, const char *dict)
{
    unsigned char buf[1024];
    FILE *fp = fopen(path, "rb");
    size_t n = fp ? fread(buf, 1, sizeof buf, fp) : 0;
    if (fp)
        fclose(fp);
    CHECK(n > 10 && memcmp(buf, "\x93NUMPY\x01\x00", 8) == 0);
    size_t hl = (size_t)buf[8] | (size_t)buf[9] << 8;
    /* data 64-byte aligned, header = dict + spaces + '\n' */
    CHECK((10 + hl) % 64 == 0);
    CHECK(n == 10 + hl + nbytes);
    CHECK_MSG(hl > strlen(dict) && memcmp(buf + 10, dict, strlen(dict)) == 0,
              "header is <%.*s>, want <%s...>", (int)hl, (const char *)buf + 10, dict);
    for (size_t i = 10 + strlen(dict); i < 10 + hl - 1; i++)
        CHECK(buf[i] == ' ');
    CHECK(buf[10 + hl - 1] == '\n');
    CHECK(nbytes == 0 || memcmp(buf + 10 + hl, data, nbytes) == 0);

    rnn__npy a;
    rnn_error e;
    rnn_status s = rnn__npy_read(&a, path, &e);
    CHECK_MSG(s == RNN_OK, "%s", e.msg);
    if (s != RNN_OK)
        return;
    CHECK(a.dtype == dtype && a.ndim == ndim);
    for (int i = 0; i < ndim; i++)
        CHECK(a.shape[i] == shape[i]);
    CHECK(a.numel * rnn__dtype_size(dtype) == nbytes);
    CHECK(nbytes == 0 || memcmp(a.data, data, nbytes) == 0);
    rnn__npy_free(&a);
}

static void test_write_round_trip(void)
{
    const char *path = tmp_path("w.npy");
    rnn_error e;
    float f[12];
    for (int i = 0; i < 12; i++)
        f[i] = (float)i * 0.5f - 3.0f;
    int64_t s34[2] = {3, 4};
    CHECK_OK(rnn__npy_write(path, RNN__F32, 2, s34, f, &e));
    check_written(path, RNN__F32, 2, s34, f, sizeof f,
                  "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }");

    double d[5] = {0.1, -0.2, 1e300, -0.0, 5};
    int64_t s5[1] = {5};
    CHECK_OK(rnn__npy_write(path, RNN__F64, 1, s5, d, &e));
    check_written(path, RNN__F64, 1, s5, d, sizeof d,
                  "{'descr': '<f8', 'fortran_order': False, 'shape': (5,), }");

    int64_t scalar = -42;
    CHECK_OK(rnn__npy_write(path, RNN__I64, 0, NULL, &scalar, &e));
    check_written(path, RNN__I64, 0, NULL, &scalar, 8,
                  "{'descr': '<i8', 'fortran_order': False, 'shape': (), }");

    int32_t i32[24];
    for (int i = 0; i < 24; i++)
        i32[i] = i * 1000 - 7;
    int64_t s234[3] = {2, 3, 4};
    CHECK_OK(rnn__npy_write(path, RNN__I32, 3, s234, i32, &e));
    check_written(path, RNN__I32, 3, s234, i32, sizeof i32,
                  "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3, 4), }");

    int64_t s03[2] = {0, 3};
    CHECK_OK(rnn__npy_write(path, RNN__F32, 2, s03, NULL, &e));
    check_written(path, RNN__F32, 2, s03, NULL, 0,
                  "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 3), }");

    int64_t s8[8] = {1, 1, 1, 1, 1, 1, 1, 12};
    CHECK_OK(rnn__npy_write(path, RNN__F32, 8, s8, f, &e));
    check_written(path, RNN__F32, 8, s8, f, sizeof f,
                  "{'descr': '<f4', 'fortran_order': False, "
                  "'shape': (1, 1, 1, 1, 1, 1, 1, 12), }");

    /* the parse entry point (over a buffer) agrees with the file reader */
    unsigned char buf[256];
    FILE *fp = fopen(path, "rb");
    size_t n = fp ? fread(buf, 1, sizeof buf, fp) : 0;
    if (fp)
        fclose(fp);
    rnn__npy a;
    CHECK_OK(rnn__npy_parse(&a, buf, n, "buf", &e));
    CHECK(a.ndim == 8 && a.numel == 12 && memcmp(a.data, f, sizeof f) == 0);
    rnn__npy_free(&a);
}

static void test_write_rejects(void)
{
    const char *path = tmp_path("bad.npy");
    rnn_error e;
    float f[4] = {0};
    int64_t s[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    CHECK(rnn__npy_write(path, RNN__F16, 1, s, f, &e) == RNN_EINVAL);
    CHECK(strncmp(e.msg, path, strlen(path)) == 0 && strstr(e.msg, "F16"));
    CHECK(rnn__npy_write(path, RNN__F32, 9, s, f, &e) == RNN_EINVAL);
    CHECK(rnn__npy_write(path, RNN__F32, -1, s, f, &e) == RNN_EINVAL);
    int64_t neg[2] = {2, -3};
    CHECK(rnn__npy_write(path, RNN__F32, 2, neg, f, &e) == RNN_EINVAL);
    CHECK(strstr(e.msg, "negative dimension -3") != NULL);
    int64_t huge[2] = {INT64_MAX, 4};
    CHECK(rnn__npy_write(path, RNN__F32, 2, huge, f, &e) == RNN_EOVERFLOW);
    CHECK(rnn__npy_write(path, RNN__F32, 1, s, NULL, &e) == RNN_EINVAL);
    CHECK(access(path, F_OK) != 0);

    /* an existing file survives a failed replacement */
    CHECK_OK(rnn__npy_write(path, RNN__F32, 1, s, f, &e));
    const char *nodir = tmp_path("nodir/x.npy");
    CHECK(rnn__npy_write(nodir, RNN__F32, 1, s, f, &e) == RNN_EIO);
    CHECK(strncmp(e.msg, nodir, strlen(nodir)) == 0);
    rnn__npy a;
    CHECK_OK(rnn__npy_read(&a, path, &e));
    CHECK(a.numel == 1);
    rnn__npy_free(&a);
}

void suite_npy(void);
void suite_npy(void)
{
    RUN(test_numpy_written_file);
    RUN(test_header_dialects);
    RUN(test_reject_preamble);
    RUN(test_reject_header_syntax);
    RUN(test_reject_keys);
    RUN(test_reject_descr);
    RUN(test_reject_shape);
    RUN(test_reject_data_size);
    RUN(test_write_round_trip);
    RUN(test_write_rejects);
}
