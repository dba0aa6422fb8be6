/*
 * npy.c -- reader and writer of NumPy's .npy format
 * (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html):
 * "\x93NUMPY", a version byte pair, the header length (u16 for 1.0, u32 for
 * 2.0 and 3.0), a Python dict literal, then the raw C-order data.
 *
 * The header is parsed as the small subset of Python literal syntax that
 * numpy writes (and hand-edited variants of it): a dict with exactly the
 * keys 'descr', 'fortran_order' and 'shape'. Anything else is refused with
 * a message that says what to do in numpy.
 */
#include "io/io.h"

#include <inttypes.h>
#include <string.h>

static const unsigned char MAGIC[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

/* '=' means "native": the same as '<' only on a little-endian host. */
static int host_little_endian(void)
{
    const uint16_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

typedef struct hparser {
    const unsigned char *s;
    size_t len, pos;
    const char *name;
    rnn_error *err;
} hparser;

static rnn_status herr(hparser *h, rnn_status st, const char *fmt, ...) RNN__PRINTF(3, 4);
/* "<file>: header byte N: <what>" like the safetensors reader */
static rnn_status herr(hparser *h, rnn_status st, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return rnn__fail(h->err, st, "%s: header byte %zu: %s", h->name, h->pos, msg);
}

static rnn_status hexpected(hparser *h, const char *what)
{
    if (h->pos >= h->len)
        return herr(h, RNN_EFORMAT, "expected %s, found the end of the header", what);
    unsigned char c = h->s[h->pos];
    if (c > 0x20 && c < 0x7f)
        return herr(h, RNN_EFORMAT, "expected %s, found '%c'", what, c);
    return herr(h, RNN_EFORMAT, "expected %s, found byte 0x%02x", what, c);
}

static void hskip_ws(hparser *h)
{
    while (h->pos < h->len && (h->s[h->pos] == ' ' || h->s[h->pos] == '\t' ||
                               h->s[h->pos] == '\n' || h->s[h->pos] == '\r'))
        h->pos++;
}

static int hpeek(const hparser *h) { return h->pos < h->len ? h->s[h->pos] : -1; }

/* A quoted Python string without escapes (no key or descr needs one). */
static rnn_status hstring(hparser *h, char *out, size_t cap)
{
    int q = hpeek(h);
    size_t n = 0;
    if (q != '\'' && q != '"')
        return hexpected(h, "a quoted string");
    h->pos++;
    while (h->pos < h->len && h->s[h->pos] != q) {
        unsigned char c = h->s[h->pos];
        if (c == '\\')
            return herr(h, RNN_EFORMAT, "escape sequences in strings are not supported");
        if (c < 0x20 || c > 0x7e)
            return herr(h, RNN_EFORMAT, "unexpected byte 0x%02x in a string", c);
        if (n + 1 >= cap)
            return herr(h, RNN_EFORMAT, "string longer than %zu characters", cap - 1);
        out[n++] = (char)c;
        h->pos++;
    }
    if (h->pos >= h->len)
        return herr(h, RNN_EFORMAT, "unterminated string");
    h->pos++;
    out[n] = '\0';
    return RNN_OK;
}

/* Python identifiers True / False. */
static rnn_status hbool(hparser *h, int *out)
{
    size_t rest = h->len - h->pos;
    if (rest >= 4 && memcmp(h->s + h->pos, "True", 4) == 0) {
        *out = 1;
        h->pos += 4;
    } else if (rest >= 5 && memcmp(h->s + h->pos, "False", 5) == 0) {
        *out = 0;
        h->pos += 5;
    } else {
        return hexpected(h, "True or False");
    }
    int c = hpeek(h);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')
        return hexpected(h, "True or False");
    return RNN_OK;
}

/* A tuple of non-negative integers: (), (3,), (2, 3), (2, 3,). */
static rnn_status hshape(hparser *h, int64_t *shape, int *ndim)
{
    int n = 0, comma = 0;
    size_t start = h->pos;

    if (hpeek(h) != '(')
        return hexpected(h, "a shape tuple such as (2, 3)");
    h->pos++;
    hskip_ws(h);
    while (hpeek(h) != ')') {
        int c = hpeek(h);
        uint64_t v = 0;
        if (c < '0' || c > '9')
            return hexpected(h, n ? "a dimension or ')'" : "a non-negative integer or ')'");
        if (c == '0' && h->pos + 1 < h->len && h->s[h->pos + 1] >= '0' &&
            h->s[h->pos + 1] <= '9')
            return herr(h, RNN_EFORMAT, "leading zeros are not allowed in a dimension");
        while ((c = hpeek(h)) >= '0' && c <= '9') {
            unsigned d = (unsigned)(c - '0');
            if (v > ((uint64_t)INT64_MAX - d) / 10)
                return herr(h, RNN_EOVERFLOW, "dimension too large");
            v = v * 10 + d;
            h->pos++;
        }
        if (c == 'L' || c == 'l')
            return herr(h, RNN_EFORMAT,
                        "Python 2 long suffix 'L' in the shape is not supported; "
                        "re-save the array with Python 3");
        if (n == RNN__MAX_DIMS)
            return herr(h, RNN_EUNSUPPORTED, "more than %d dimensions are not supported",
                        RNN__MAX_DIMS);
        shape[n++] = (int64_t)v;
        comma = 0;
        hskip_ws(h);
        if (hpeek(h) == ',') {
            h->pos++;
            comma = 1;
            hskip_ws(h);
        } else if (hpeek(h) != ')') {
            return hexpected(h, "',' or ')' in the shape");
        }
    }
    h->pos++;
    if (n == 1 && !comma) {
        /* in Python (3) is the integer 3, not a tuple */
        h->pos = start;
        return herr(h, RNN_EFORMAT, "shape (%" PRId64 ") is not a tuple; a 1-d shape is "
                    "written (%" PRId64 ",)", shape[0], shape[0]);
    }
    *ndim = n;
    return RNN_OK;
}

/* Maps descr to a dtype; a failure message says how to fix it in numpy. */
static rnn_status map_descr(hparser *h, const char *d, rnn__dtype *out)
{
    static const struct {
        const char *code; /* kind + size */
        rnn__dtype t;
    } codes[] = {
        {"f4", RNN__F32}, {"f8", RNN__F64}, {"i8", RNN__I64}, {"i4", RNN__I32},
        {"u1", RNN__U8},  {"i1", RNN__I8},  {"b1", RNN__BOOL},
    };
    size_t n = strlen(d), i;

    for (i = 0; n == 3 && i < sizeof codes / sizeof codes[0]; i++)
        if (strcmp(d + 1, codes[i].code) == 0)
            break;
    if (n != 3 || i == sizeof codes / sizeof codes[0] ||
        (d[0] != '<' && d[0] != '>' && d[0] != '|' && d[0] != '='))
        return rnn__fail(h->err, RNN_EUNSUPPORTED,
                         "%s: dtype '%s' is not supported (expected '<f4', '<f8', '<i8' or "
                         "'<i4'; convert with a.astype(np.float32))", h->name, d);
    int single = codes[i].code[1] == '1';
    if (!single) {
        if (d[0] == '|')
            return rnn__fail(h->err, RNN_EFORMAT,
                             "%s: dtype '%s': byte order '|' (not applicable) is invalid for "
                             "a multi-byte type; expected '<%s'", h->name, d, d + 1);
        if (d[0] == '>' || (d[0] == '=' && !host_little_endian()))
            return rnn__fail(h->err, RNN_EUNSUPPORTED,
                             "%s: big-endian data ('%s') is not supported; convert with "
                             "a.astype('<%s')", h->name, d, d + 1);
    }
    *out = codes[i].t;
    return RNN_OK;
}

/* Validates the file; on success the data is the nbytes at data + *start. */
static rnn_status parse_npy(rnn__npy *a, const unsigned char *data, size_t size,
                            const char *name, size_t *start, rnn_error *err)
{
    size_t hstart, hlen, total, nbytes, numel = 1;
    char key[32], descr[32];
    int have[3] = {0, 0, 0}, fortran = 0;
    hparser h;
    rnn_status st;

    if (size < 10 || memcmp(data, MAGIC, sizeof MAGIC) != 0)
        return rnn__fail(err, RNN_EFORMAT, "%s: not a .npy file (no \\x93NUMPY magic)", name);
    if ((data[6] != 1 && data[6] != 2 && data[6] != 3) || data[7] != 0)
        return rnn__fail(err, RNN_EUNSUPPORTED,
                         "%s: .npy format version %u.%u is not supported (1.0, 2.0, 3.0 are)",
                         name, data[6], data[7]);
    /* header length bytes are little-endian whatever the host */
    if (data[6] == 1) {
        hlen = (size_t)data[8] | (size_t)data[9] << 8;
        hstart = 10;
    } else {
        if (size < 12)
            return rnn__fail(err, RNN_EFORMAT, "%s: file is %zu bytes, too short for a "
                             ".npy %u.0 header", name, size, data[6]);
        hlen = (size_t)data[8] | (size_t)data[9] << 8 | (size_t)data[10] << 16 |
               (size_t)data[11] << 24;
        hstart = 12;
    }
    if (hlen > size - hstart)
        return rnn__fail(err, RNN_EFORMAT,
                         "%s: header length %zu exceeds the %zu bytes that follow it "
                         "(truncated file?)", name, hlen, size - hstart);

    h.s = data + hstart;
    h.len = hlen;
    h.pos = 0;
    h.name = name;
    h.err = err;
    hskip_ws(&h);
    if (hpeek(&h) != '{')
        return hexpected(&h, "'{' (a Python dict)");
    h.pos++;
    for (;;) {
        int k;
        hskip_ws(&h);
        if (hpeek(&h) == '}')
            break;
        size_t keypos = h.pos;
        if ((st = hstring(&h, key, sizeof key)) != RNN_OK)
            return st;
        if (strcmp(key, "descr") == 0)
            k = 0;
        else if (strcmp(key, "fortran_order") == 0)
            k = 1;
        else if (strcmp(key, "shape") == 0)
            k = 2;
        else {
            h.pos = keypos;
            return herr(&h, RNN_EFORMAT, "unexpected key '%s' (expected 'descr', "
                        "'fortran_order' and 'shape')", key);
        }
        if (have[k]) {
            h.pos = keypos;
            return herr(&h, RNN_EFORMAT, "key '%s' appears twice", key);
        }
        have[k] = 1;
        hskip_ws(&h);
        if (hpeek(&h) != ':')
            return hexpected(&h, "':' after the key");
        h.pos++;
        hskip_ws(&h);
        if (k == 0) {
            if (hpeek(&h) == '[' || hpeek(&h) == '{')
                return herr(&h, RNN_EUNSUPPORTED, "structured dtypes are not supported");
            if ((st = hstring(&h, descr, sizeof descr)) != RNN_OK)
                return st;
        } else if (k == 1) {
            if ((st = hbool(&h, &fortran)) != RNN_OK)
                return st;
        } else {
            if ((st = hshape(&h, a->shape, &a->ndim)) != RNN_OK)
                return st;
        }
        hskip_ws(&h);
        if (hpeek(&h) == ',') {
            h.pos++;
            continue;
        }
        if (hpeek(&h) != '}')
            return hexpected(&h, "',' or '}'");
    }
    h.pos++;
    hskip_ws(&h);
    if (h.pos < h.len)
        return hexpected(&h, "the end of the header after '}'");
    for (int k = 0; k < 3; k++)
        if (!have[k])
            return rnn__fail(err, RNN_EFORMAT, "%s: header has no '%s' key", name,
                             k == 0 ? "descr" : k == 1 ? "fortran_order" : "shape");

    if ((st = map_descr(&h, descr, &a->dtype)) != RNN_OK)
        return st;
    if (fortran)
        return rnn__fail(err, RNN_EUNSUPPORTED,
                         "%s: Fortran order not supported; save with np.ascontiguousarray",
                         name);
    for (int i = 0; i < a->ndim; i++)
        if ((uint64_t)a->shape[i] > SIZE_MAX || !rnn__mul(&numel, numel, (size_t)a->shape[i]))
            return rnn__fail(err, RNN_EOVERFLOW, "%s: shape has too many elements", name);
    if (!rnn__mul(&nbytes, numel, rnn__dtype_size(a->dtype)))
        return rnn__fail(err, RNN_EOVERFLOW, "%s: shape has too many bytes", name);
    a->numel = numel;

    total = hstart + hlen; /* <= size, checked above */
    if (size - total < nbytes)
        return rnn__fail(err, RNN_EFORMAT,
                         "%s: truncated: the shape and dtype '%s' need %zu data bytes, "
                         "but only %zu are present", name, descr, nbytes, size - total);
    if (size - total > nbytes)
        return rnn__fail(err, RNN_EFORMAT,
                         "%s: %zu unexpected bytes after the data (expected %zu data bytes, "
                         "found %zu)", name, size - total - nbytes, nbytes, size - total);
    *start = total;
    return RNN_OK;
}

rnn_status rnn__npy_parse(rnn__npy *a, const void *data, size_t size, const char *name,
                          rnn_error *err)
{
    size_t start;
    rnn_status st;

    memset(a, 0, sizeof *a);
    if ((st = parse_npy(a, data, size, name, &start, err)) != RNN_OK) {
        memset(a, 0, sizeof *a);
        return st;
    }
    if (!(a->data = rnn__malloc(size - start))) {
        memset(a, 0, sizeof *a);
        return rnn__fail(err, RNN_ENOMEM, "%s: out of memory (%zu bytes)", name, size - start);
    }
    if (size > start)
        memcpy(a->data, (const unsigned char *)data + start, size - start);
    return RNN_OK;
}

rnn_status rnn__npy_read(rnn__npy *a, const char *path, rnn_error *err)
{
    unsigned char *buf, *shrunk;
    size_t size, start;
    rnn_status st;

    memset(a, 0, sizeof *a);
    if ((st = rnn__read_file(path, &buf, &size, err)) != RNN_OK)
        return st;
    if ((st = parse_npy(a, buf, size, path, &start, err)) != RNN_OK) {
        rnn__free(buf);
        memset(a, 0, sizeof *a);
        return st;
    }
    /* reuse the file buffer rather than holding the data twice */
    memmove(buf, buf + start, size - start);
    shrunk = rnn__realloc(buf, size - start);
    a->data = shrunk ? shrunk : buf;
    return RNN_OK;
}

void rnn__npy_free(rnn__npy *a)
{
    rnn__free(a->data);
    memset(a, 0, sizeof *a);
}

rnn_status rnn__npy_write(const char *path, rnn__dtype dtype, int ndim,
                          const int64_t *shape, const void *data, rnn_error *err)
{
    const char *descr;
    size_t numel = 1, nbytes, pre, body;
    unsigned char preamble[12];
    rnn__buf h = {0};
    rnn__afile f;
    rnn_status st;

    switch (dtype) {
    case RNN__F32: descr = "<f4"; break;
    case RNN__F64: descr = "<f8"; break;
    case RNN__I64: descr = "<i8"; break;
    case RNN__I32: descr = "<i4"; break;
    default:
        return rnn__fail(err, RNN_EINVAL, "%s: cannot write dtype %s to .npy (F32, F64, I64 "
                         "or I32 only)", path, rnn__dtype_name(dtype));
    }
    if (ndim < 0 || ndim > RNN__MAX_DIMS)
        return rnn__fail(err, RNN_EINVAL, "%s: %d dimensions (0 to %d supported)", path, ndim,
                         RNN__MAX_DIMS);
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0)
            return rnn__fail(err, RNN_EINVAL, "%s: negative dimension %" PRId64, path,
                             shape[i]);
        if ((uint64_t)shape[i] > SIZE_MAX || !rnn__mul(&numel, numel, (size_t)shape[i]))
            return rnn__fail(err, RNN_EOVERFLOW, "%s: shape has too many elements", path);
    }
    if (!rnn__mul(&nbytes, numel, rnn__dtype_size(dtype)))
        return rnn__fail(err, RNN_EOVERFLOW, "%s: shape has too many bytes", path);
    if (nbytes && !data)
        return rnn__fail(err, RNN_EINVAL, "%s: no data", path);

    /* exactly what numpy.save writes, minus its spare growth spaces */
    rnn__buf_printf(&h, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
    for (int i = 0; i < ndim; i++)
        rnn__buf_printf(&h, "%s%" PRId64, i ? ", " : "", shape[i]);
    rnn__buf_puts(&h, ndim == 1 ? ",), }" : "), }");
    /* the data starts at a multiple of 64 bytes (numpy's ARRAY_ALIGN); a v1
     * length is 16 bits, which no rank-8 header comes close to, but the
     * format says what to do if it did */
    body = h.len + 1; /* dict and '\n' */
    pre = (10 + body + 63) / 64 * 64 - 10 <= 65535 ? 10 : 12;
    for (size_t pad = (pre + body + 63) / 64 * 64 - pre - body; pad > 0; pad--)
        rnn__buf_puts(&h, " ");
    rnn__buf_puts(&h, "\n");
    if (h.oom) {
        rnn__buf_free(&h);
        return rnn__fail(err, RNN_ENOMEM, "%s: out of memory", path);
    }
    memcpy(preamble, MAGIC, sizeof MAGIC);
    preamble[6] = pre == 10 ? 1 : 2;
    preamble[7] = 0;
    for (size_t i = 0; i < pre - 8; i++)
        preamble[8 + i] = (unsigned char)(h.len >> (8 * i));

    if ((st = rnn__afile_open(&f, path, err)) == RNN_OK) {
        rnn__afile_write(&f, preamble, pre, err);
        rnn__afile_write(&f, h.data, h.len, err);
        rnn__afile_write(&f, data, nbytes, err);
        st = rnn__afile_commit(&f, err);
    }
    rnn__buf_free(&h);
    return st;
}
