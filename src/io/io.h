/*
 * io.h -- file formats: a small strict JSON reader/writer, safetensors and
 * NumPy .npy readers and writers, and atomic file replacement. Internal.
 *
 * Every reader validates completely before returning and reports problems
 * as one line that starts with the file name (e.g. "w.safetensors: header
 * byte 57: expected ':' after object key"). Readers never trust sizes from
 * the file: every size computation is overflow-checked.
 */
#ifndef RNN_IO_H
#define RNN_IO_H

#include "core/core.h"

#include <stdio.h>

#define RNN__MAX_DIMS 8

/* ---- element types ---------------------------------------------------- */

typedef enum rnn__dtype {
    RNN__F32, RNN__F64, RNN__F16, RNN__BF16,
    RNN__I64, RNN__I32, RNN__I16, RNN__I8,
    RNN__U64, RNN__U32, RNN__U16, RNN__U8,
    RNN__BOOL, RNN__F8_E4M3, RNN__F8_E5M2,
    RNN__DTYPE_COUNT
} rnn__dtype;

size_t rnn__dtype_size(rnn__dtype t);
/* safetensors spelling: "F32", "BF16", ... */
const char *rnn__dtype_name(rnn__dtype t);
/* -1 if unknown */
int rnn__dtype_from_name(const char *name);

/* Converts n elements of type t (little-endian bytes at src) to float /
 * int64. Floats: F32, F64, F16, BF16 (F64 rounds to nearest float).
 * Integers: I64, I32, I16, I8, U8..U32, BOOL (to_f32 accepts them too).
 * Returns RNN_EUNSUPPORTED for anything else (to_i64 refuses floats). */
rnn_status rnn__convert_f32(float *dst, const void *src, rnn__dtype t, size_t n);
rnn_status rnn__convert_i64(int64_t *dst, const void *src, rnn__dtype t, size_t n);
float rnn__half_to_float(uint16_t h);
float rnn__bf16_to_float(uint16_t h);
/* Rounded to nearest even (NaN stays NaN, quiet; beyond half's range,
 * +-65504, an infinity). */
uint16_t rnn__float_to_half(float f);
uint16_t rnn__float_to_bf16(float f);

/* ---- JSON ------------------------------------------------------------- */

typedef enum rnn__json_kind {
    RNN__JSON_NULL, RNN__JSON_BOOL, RNN__JSON_NUMBER,
    RNN__JSON_STRING, RNN__JSON_ARRAY, RNN__JSON_OBJECT
} rnn__json_kind;

typedef struct rnn__json rnn__json;
struct rnn__json {
    rnn__json_kind kind;
    int boolean;
    double number;    /* NUMBER */
    int is_uint;      /* NUMBER written as a plain non-negative integer that fits u64 */
    uint64_t uint;    /* its exact value */
    char *str;        /* STRING: UTF-8, NUL-terminated (may contain \u0000 -> see len) */
    size_t len;       /* STRING: byte length */
    size_t count;     /* ARRAY / OBJECT: number of items */
    rnn__json *items; /* ARRAY / OBJECT values, in document order */
    char **keys;      /* OBJECT keys (NUL-terminated), parallel to items */
    size_t offset;    /* byte offset of the value in the document (for messages) */
};

/* Parses exactly one JSON value (RFC 8259: strict; trailing whitespace
 * allowed, anything else after the value is an error; depth limited to 64).
 * Duplicate object keys are allowed by the parser; callers decide. On error
 * the message is "byte N: what was expected". */
rnn_status rnn__json_parse(rnn__json **out, const char *text, size_t len,
                           rnn_error *err);
void rnn__json_free(rnn__json *v);
/* Value of key in an object, or NULL. */
const rnn__json *rnn__json_get(const rnn__json *obj, const char *key);
/* The key's value into *out if it is a plain integer in 0..2^30 (a size or
 * count of a config): 1, or 0 if it is anything else. A missing key leaves
 * *out alone and gives !required. */
int rnn__json_get_int(const rnn__json *obj, const char *key, int *out, int required);

/* 1 if s[0..n) is well-formed UTF-8 (no overlong forms, surrogates or code
 * points above U+10FFFF), the rule the parser applies inside strings. */
int rnn__utf8_valid(const char *s, size_t n);

/* Growable output buffer with JSON helpers (used by every writer). */
typedef struct rnn__buf {
    char *data;
    size_t len, cap;
    int oom; /* set once an append failed; later appends do nothing */
} rnn__buf;
void rnn__buf_free(rnn__buf *b);
void rnn__buf_append(rnn__buf *b, const void *data, size_t n);
void rnn__buf_puts(rnn__buf *b, const char *s);
void rnn__buf_printf(rnn__buf *b, const char *fmt, ...) RNN__PRINTF(2, 3);
/* Appends s as a JSON string literal with quotes and escapes. */
void rnn__buf_json_string(rnn__buf *b, const char *s);

/* ---- atomic file replacement ------------------------------------------- */

/* Writes go to a temporary file in the destination's directory; commit
 * flushes, fsyncs, renames over the destination and fsyncs the directory.
 * Until commit, the previous file is untouched; abort removes the
 * temporary. Any failure (open, write, full disk) is reported with the path. */
typedef struct rnn__afile {
    FILE *fp;
    char *path;   /* destination */
    char *tmp;    /* temporary */
    int failed;
    rnn_status status;
} rnn__afile;
rnn_status rnn__afile_open(rnn__afile *f, const char *path, rnn_error *err);
rnn_status rnn__afile_write(rnn__afile *f, const void *data, size_t n, rnn_error *err);
rnn_status rnn__afile_commit(rnn__afile *f, rnn_error *err);
void rnn__afile_abort(rnn__afile *f);
/* Whole buffer in one call. */
rnn_status rnn__write_file_atomic(const char *path, const void *data, size_t n,
                                  rnn_error *err);

/* Reads a whole file into a malloc'ed buffer (NUL-terminated for
 * convenience; *size excludes the NUL). Errors name the path. */
rnn_status rnn__read_file(const char *path, unsigned char **data, size_t *size,
                          rnn_error *err);

/* ---- safetensors ------------------------------------------------------- */

typedef struct rnn__st_tensor {
    char *name;
    rnn__dtype dtype;
    int ndim;
    int64_t shape[RNN__MAX_DIMS];
    size_t numel;
    const unsigned char *data; /* into the file's buffer */
    size_t nbytes;
} rnn__st_tensor;

typedef struct rnn__st {
    unsigned char *buf; /* the whole file (owned) */
    size_t size;
    rnn__st_tensor *tensors; /* in header order */
    size_t count;
    char **meta_keys, **meta_values; /* __metadata__ */
    size_t meta_count;
} rnn__st;

/* Reads and validates a safetensors file (every rule of REFERENCE.md:
 * header length <= 100,000,000 and within the file, header a JSON object,
 * entries with dtype/shape/data_offsets only, known dtypes, non-negative
 * shapes, offsets contiguous from 0 to the end of the buffer with no holes
 * or overlaps, end-begin == numel*dtype size, no overflow, no duplicate
 * names, __metadata__ a string->string map). Errors start with `path`. */
rnn_status rnn__st_read(rnn__st *st, const char *path, rnn_error *err);
/* The same over a buffer (copied); `name` is used in messages. */
rnn_status rnn__st_parse(rnn__st *st, const void *data, size_t size,
                         const char *name, rnn_error *err);
void rnn__st_free(rnn__st *st);
const rnn__st_tensor *rnn__st_find(const rnn__st *st, const char *name);
const char *rnn__st_meta(const rnn__st *st, const char *key);

typedef struct rnn__st_entry {
    const char *name;
    rnn__dtype dtype; /* of data */
    int ndim;
    int64_t shape[RNN__MAX_DIMS];
    const void *data; /* numel * dtype size bytes, little-endian */
} rnn__st_entry;

/* Writes entries (in the given order) and metadata pairs atomically. The
 * header is padded with spaces to a multiple of 8 bytes. */
rnn_status rnn__st_write(const char *path, const rnn__st_entry *entries,
                         size_t count, const char *const *meta_keys,
                         const char *const *meta_values, size_t meta_count,
                         rnn_error *err);

/* ---- NumPy .npy -------------------------------------------------------- */

typedef struct rnn__npy {
    rnn__dtype dtype; /* F32 ('<f4'), F64 ('<f8'), I64 ('<i8'), I32 ('<i4') */
    int ndim;
    int64_t shape[RNN__MAX_DIMS];
    size_t numel;
    unsigned char *data; /* owned, little-endian, C order */
} rnn__npy;

/* Reads .npy v1/v2/v3; descr '<f4' '<f8' '<i8' '<i4' (also '|' byte order
 * marks where meaningless, and '=' on little-endian hosts), C order only.
 * Errors start with `path`. */
rnn_status rnn__npy_read(rnn__npy *a, const char *path, rnn_error *err);
rnn_status rnn__npy_parse(rnn__npy *a, const void *data, size_t size,
                          const char *name, rnn_error *err);
void rnn__npy_free(rnn__npy *a);
/* Writes a v1 header (v2 if the header would not fit), data 64-byte aligned,
 * atomically. dtype F32, F64, I64 or I32. */
rnn_status rnn__npy_write(const char *path, rnn__dtype dtype, int ndim,
                          const int64_t *shape, const void *data,
                          rnn_error *err);

#endif /* RNN_IO_H */
