/*
 * safetensors.c -- reader and writer of Hugging Face's safetensors format:
 * an 8-byte little-endian header length N, N bytes of JSON, then the data
 * buffer (https://github.com/huggingface/safetensors#format).
 *
 * The reader checks everything the format promises before anyone touches a
 * byte of data: an accepted file has every tensor inside the buffer, with
 * exactly the bytes its shape needs, and every byte of the buffer belongs to
 * exactly one tensor. Messages name the file, the tensor and the field.
 */
#include "io/io.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define MAX_HEADER 100000000u

/* Names in messages are cut short so that the reason still fits the line. */
#define NAME_FMT "'%.200s'"

static const char *kind_name(rnn__json_kind k)
{
    switch (k) {
    case RNN__JSON_NULL: return "null";
    case RNN__JSON_BOOL: return "a boolean";
    case RNN__JSON_NUMBER: return "a number";
    case RNN__JSON_STRING: return "a string";
    case RNN__JSON_ARRAY: return "an array";
    case RNN__JSON_OBJECT: return "an object";
    }
    return "?";
}

static void fmt_shape(char *buf, size_t n, const int64_t *shape, int ndim)
{
    size_t k = 0;
    k += (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < ndim && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, "%s%" PRId64, i ? ", " : "", shape[i]);
    if (k < n)
        snprintf(buf + k, n - k, "]");
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The first name that occurs twice, or NULL. Sorting keeps a header with a
 * million entries from costing a trillion comparisons. names is reordered. */
static const char *find_duplicate(const char **names, size_t n)
{
    qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 1; i < n; i++)
        if (strcmp(names[i - 1], names[i]) == 0)
            return names[i];
    return NULL;
}

/* ---- reader ----------------------------------------------------------- */

typedef struct span {
    uint64_t begin, end;
    size_t index;
} span;

static int cmp_span(const void *a, const void *b)
{
    const span *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

static rnn_status read_metadata(rnn__st *st, const rnn__json *m, const char *name,
                                rnn_error *err)
{
    const char **keys;
    const char *dup;

    if (m->kind != RNN__JSON_OBJECT)
        return rnn__fail(err, RNN_EFORMAT,
                         "%s: __metadata__ must be an object of strings, found %s",
                         name, kind_name(m->kind));
    for (size_t i = 0; i < m->count; i++) {
        const rnn__json *v = &m->items[i];
        if (v->kind != RNN__JSON_STRING)
            return rnn__fail(err, RNN_EFORMAT,
                             "%s: __metadata__ " NAME_FMT " must be a string, found %s",
                             name, m->keys[i], kind_name(v->kind));
        /* values are handed out as C strings; refuse rather than truncate */
        if (strlen(v->str) != v->len)
            return rnn__fail(err, RNN_EFORMAT,
                             "%s: __metadata__ " NAME_FMT " contains a NUL character (\\u0000)",
                             name, m->keys[i]);
    }
    if (!(keys = rnn__calloc(m->count, sizeof *keys)))
        return rnn__fail(err, RNN_ENOMEM, "%s: out of memory", name);
    for (size_t i = 0; i < m->count; i++)
        keys[i] = m->keys[i];
    dup = find_duplicate(keys, m->count);
    if (dup) {
        rnn_status s = rnn__fail(err, RNN_EFORMAT, "%s: __metadata__ key " NAME_FMT
                                 " appears twice", name, dup);
        rnn__free(keys);
        return s;
    }
    rnn__free(keys);

    st->meta_keys = rnn__calloc(m->count, sizeof *st->meta_keys);
    st->meta_values = rnn__calloc(m->count, sizeof *st->meta_values);
    if (!st->meta_keys || !st->meta_values)
        return rnn__fail(err, RNN_ENOMEM, "%s: out of memory", name);
    for (size_t i = 0; i < m->count; i++) {
        st->meta_keys[i] = rnn__strdup(m->keys[i]);
        st->meta_values[i] = rnn__strdup(m->items[i].str);
        st->meta_count = i + 1;
        if (!st->meta_keys[i] || !st->meta_values[i])
            return rnn__fail(err, RNN_ENOMEM, "%s: out of memory", name);
    }
    return RNN_OK;
}

/* Validates one header entry into t and sp (t->data is set later). */
static rnn_status read_entry(rnn__st_tensor *t, span *sp, const char *tname,
                             const rnn__json *v, size_t data_size, const char *name,
                             rnn_error *err)
{
    static const char *const fields[3] = {"dtype", "shape", "data_offsets"};
    const rnn__json *f[3] = {NULL, NULL, NULL};
    const rnn__json *dt, *sh, *off;
    char shape[256];
    size_t numel = 1, nbytes;
    uint64_t begin, end;
    int dtype;

#define BAD(status, ...) \
    rnn__fail(err, status, "%s: tensor " NAME_FMT ": " __VA_ARGS__)

    if (v->kind != RNN__JSON_OBJECT)
        return BAD(RNN_EFORMAT, "expected an object with dtype, shape and data_offsets, "
                   "found %s", name, tname, kind_name(v->kind));
    for (size_t i = 0; i < v->count; i++) {
        int j = 0;
        while (j < 3 && strcmp(v->keys[i], fields[j]) != 0)
            j++;
        if (j == 3)
            return BAD(RNN_EFORMAT, "unexpected field " NAME_FMT
                       " (expected only dtype, shape and data_offsets)",
                       name, tname, v->keys[i]);
        if (f[j])
            return BAD(RNN_EFORMAT, "field '%s' appears twice", name, tname, fields[j]);
        f[j] = &v->items[i];
    }
    for (int j = 0; j < 3; j++)
        if (!f[j])
            return BAD(RNN_EFORMAT, "missing field '%s'", name, tname, fields[j]);
    dt = f[0];
    sh = f[1];
    off = f[2];

    if (dt->kind != RNN__JSON_STRING)
        return BAD(RNN_EFORMAT, "dtype must be a string, found %s", name, tname,
                   kind_name(dt->kind));
    dtype = strlen(dt->str) == dt->len ? rnn__dtype_from_name(dt->str) : -1;
    if (dtype < 0)
        return BAD(RNN_EFORMAT, "unknown dtype " NAME_FMT, name, tname, dt->str);
    t->dtype = (rnn__dtype)dtype;

    if (sh->kind != RNN__JSON_ARRAY)
        return BAD(RNN_EFORMAT, "shape must be an array of non-negative integers, found %s",
                   name, tname, kind_name(sh->kind));
    /* legal in the format, but beyond what the rest of the library holds */
    if (sh->count > RNN__MAX_DIMS)
        return BAD(RNN_EUNSUPPORTED, "shape has %zu dimensions; at most %d are supported",
                   name, tname, sh->count, RNN__MAX_DIMS);
    for (size_t i = 0; i < sh->count; i++) {
        const rnn__json *d = &sh->items[i];
        if (d->kind != RNN__JSON_NUMBER || !d->is_uint || d->uint > INT64_MAX ||
            d->uint > SIZE_MAX)
            return BAD(RNN_EFORMAT, "shape[%zu] must be a non-negative integer", name,
                       tname, i);
        t->shape[i] = (int64_t)d->uint;
    }
    t->ndim = (int)sh->count;
    fmt_shape(shape, sizeof shape, t->shape, t->ndim);
    for (int i = 0; i < t->ndim; i++)
        if (!rnn__mul(&numel, numel, (size_t)t->shape[i]))
            return BAD(RNN_EOVERFLOW, "shape %s has too many elements", name, tname, shape);
    if (!rnn__mul(&nbytes, numel, rnn__dtype_size(t->dtype)))
        return BAD(RNN_EOVERFLOW, "shape %s of %s is too many bytes", name, tname, shape,
                   rnn__dtype_name(t->dtype));
    t->numel = numel;
    t->nbytes = nbytes;

    if (off->kind != RNN__JSON_ARRAY || off->count != 2 ||
        off->items[0].kind != RNN__JSON_NUMBER || !off->items[0].is_uint ||
        off->items[1].kind != RNN__JSON_NUMBER || !off->items[1].is_uint)
        return BAD(RNN_EFORMAT, "data_offsets must be two non-negative integers [begin, end]",
                   name, tname);
    begin = off->items[0].uint;
    end = off->items[1].uint;
    if (begin > end)
        return BAD(RNN_EFORMAT, "data_offsets [%" PRIu64 ", %" PRIu64 "]: begin is after end",
                   name, tname, begin, end);
    if (end - begin != (uint64_t)nbytes)
        return BAD(RNN_EFORMAT, "data_offsets [%" PRIu64 ", %" PRIu64 "] hold %" PRIu64
                   " bytes, but shape %s of %s needs %zu",
                   name, tname, begin, end, end - begin, shape,
                   rnn__dtype_name(t->dtype), nbytes);
    if (end > (uint64_t)data_size)
        return BAD(RNN_EFORMAT, "data_offsets [%" PRIu64 ", %" PRIu64 "] go past the end "
                   "of the data buffer (%zu bytes)", name, tname, begin, end, data_size);
#undef BAD
    sp->begin = begin;
    sp->end = end;
    return RNN_OK;
}

/* Every byte of the data buffer must belong to exactly one tensor. */
static rnn_status check_layout(const rnn__st *st, span *sp, size_t data_size,
                               const char *name, rnn_error *err)
{
    uint64_t pos = 0;
    size_t prev = 0;

    if (st->count == 0) {
        if (data_size)
            return rnn__fail(err, RNN_EFORMAT,
                             "%s: the data buffer has %zu bytes but the header lists no tensors",
                             name, data_size);
        return RNN_OK;
    }
    qsort(sp, st->count, sizeof *sp, cmp_span);
    for (size_t i = 0; i < st->count; i++) {
        const char *tn = st->tensors[sp[i].index].name;
        if (sp[i].begin > pos) {
            if (i == 0)
                return rnn__fail(err, RNN_EFORMAT,
                                 "%s: the data buffer must start with a tensor at offset 0, "
                                 "but the first (" NAME_FMT ") starts at %" PRIu64,
                                 name, tn, sp[i].begin);
            return rnn__fail(err, RNN_EFORMAT,
                             "%s: bytes [%" PRIu64 ", %" PRIu64 ") of the data buffer belong "
                             "to no tensor (a hole before tensor " NAME_FMT ")",
                             name, pos, sp[i].begin, tn);
        }
        if (sp[i].begin < pos)
            return rnn__fail(err, RNN_EFORMAT,
                             "%s: tensor " NAME_FMT " data_offsets [%" PRIu64 ", %" PRIu64
                             "] overlap tensor " NAME_FMT " [%" PRIu64 ", %" PRIu64 "]",
                             name, tn, sp[i].begin, sp[i].end,
                             st->tensors[sp[prev].index].name, sp[prev].begin,
                             sp[prev].end);
        pos = sp[i].end;
        prev = i;
    }
    if (pos != (uint64_t)data_size)
        return rnn__fail(err, RNN_EFORMAT,
                         "%s: the tensors end at byte %" PRIu64 " of the data buffer, but "
                         "it has %zu bytes (the rest belongs to no tensor)",
                         name, pos, data_size);
    return RNN_OK;
}

static rnn_status parse_header(rnn__st *st, const rnn__json *root, size_t data_base,
                               const char *name, rnn_error *err)
{
    size_t data_size = st->size - data_base, n = 0;
    const rnn__json *meta = NULL;
    const char **names = NULL;
    const char *dup;
    span *sp = NULL;
    rnn_status s;

    for (size_t i = 0; i < root->count; i++)
        if (strcmp(root->keys[i], "__metadata__") == 0) {
            if (meta)
                return rnn__fail(err, RNN_EFORMAT, "%s: __metadata__ appears twice", name);
            meta = &root->items[i];
        }
    if (meta && (s = read_metadata(st, meta, name, err)) != RNN_OK)
        return s;

    n = root->count - (meta != NULL);
    st->tensors = rnn__calloc(n, sizeof *st->tensors);
    sp = rnn__calloc(n, sizeof *sp);
    names = rnn__calloc(n, sizeof *names);
    if (!st->tensors || !sp || !names) {
        s = rnn__fail(err, RNN_ENOMEM, "%s: out of memory", name);
        goto out;
    }
    for (size_t i = 0; i < root->count; i++) {
        const char *key = root->keys[i];
        if (&root->items[i] == meta)
            continue;
        rnn__st_tensor *t = &st->tensors[st->count];
        if (!(t->name = rnn__strdup(key))) {
            s = rnn__fail(err, RNN_ENOMEM, "%s: out of memory", name);
            goto out;
        }
        sp[st->count].index = st->count;
        names[st->count] = t->name;
        st->count++;
        s = read_entry(t, &sp[st->count - 1], key, &root->items[i], data_size, name, err);
        if (s != RNN_OK)
            goto out;
        t->data = st->buf + data_base + sp[st->count - 1].begin;
    }
    if ((dup = find_duplicate(names, st->count)) != NULL) {
        s = rnn__fail(err, RNN_EFORMAT, "%s: tensor name " NAME_FMT " appears twice",
                      name, dup);
        goto out;
    }
    s = check_layout(st, sp, data_size, name, err);
out:
    rnn__free(names);
    rnn__free(sp);
    return s;
}

/* Takes ownership of buf (freed on failure too). */
static rnn_status parse_owned(rnn__st *st, unsigned char *buf, size_t size,
                              const char *name, rnn_error *err)
{
    rnn__json *root = NULL;
    uint64_t hlen = 0;
    rnn_status s;

    st->buf = buf;
    st->size = size;
    if (size < 8) {
        s = rnn__fail(err, RNN_EFORMAT,
                      "%s: file is %zu bytes, too short for a safetensors header", name, size);
        goto fail;
    }
    /* the header length is little-endian whatever the host */
    for (int i = 7; i >= 0; i--)
        hlen = hlen << 8 | buf[i];
    if (hlen > MAX_HEADER) {
        s = rnn__fail(err, RNN_EFORMAT,
                      "%s: header length %" PRIu64 " exceeds the limit of %u bytes "
                      "(not a safetensors file?)", name, hlen, MAX_HEADER);
        goto fail;
    }
    if (hlen > size - 8) {
        s = rnn__fail(err, RNN_EFORMAT,
                      "%s: header length %" PRIu64 " exceeds the %zu bytes that follow it "
                      "(truncated file?)", name, hlen, size - 8);
        goto fail;
    }
    s = rnn__json_parse(&root, (const char *)buf + 8, (size_t)hlen, err);
    if (s != RNN_OK) {
        if (err) {
            char old[sizeof err->msg];
            memcpy(old, err->msg, sizeof old);
            rnn__fail(err, s, "%s: header %s", name, old); /* "header byte N: ..." */
        }
        goto fail;
    }
    if (root->kind != RNN__JSON_OBJECT) {
        s = rnn__fail(err, RNN_EFORMAT, "%s: header must be a JSON object, found %s", name,
                      kind_name(root->kind));
        goto fail;
    }
    if (buf[8] != '{') {
        s = rnn__fail(err, RNN_EFORMAT,
                      "%s: header must start with '{', found leading whitespace", name);
        goto fail;
    }
    s = parse_header(st, root, 8 + (size_t)hlen, name, err);
    if (s != RNN_OK)
        goto fail;
    rnn__json_free(root);
    return RNN_OK;
fail:
    rnn__json_free(root);
    rnn__st_free(st);
    return s;
}

rnn_status rnn__st_parse(rnn__st *st, const void *data, size_t size, const char *name,
                         rnn_error *err)
{
    unsigned char *copy;

    memset(st, 0, sizeof *st);
    if (!(copy = rnn__malloc(size)))
        return rnn__fail(err, RNN_ENOMEM, "%s: out of memory (%zu bytes)", name, size);
    if (size)
        memcpy(copy, data, size);
    return parse_owned(st, copy, size, name, err);
}

rnn_status rnn__st_read(rnn__st *st, const char *path, rnn_error *err)
{
    unsigned char *buf;
    size_t size;
    rnn_status s;

    memset(st, 0, sizeof *st);
    if ((s = rnn__read_file(path, &buf, &size, err)) != RNN_OK)
        return s;
    return parse_owned(st, buf, size, path, err);
}

void rnn__st_free(rnn__st *st)
{
    for (size_t i = 0; i < st->count; i++)
        rnn__free(st->tensors[i].name);
    for (size_t i = 0; i < st->meta_count; i++) {
        rnn__free(st->meta_keys[i]);
        rnn__free(st->meta_values[i]);
    }
    rnn__free(st->tensors);
    rnn__free(st->meta_keys);
    rnn__free(st->meta_values);
    rnn__free(st->buf);
    memset(st, 0, sizeof *st);
}

const rnn__st_tensor *rnn__st_find(const rnn__st *st, const char *name)
{
    for (size_t i = 0; i < st->count; i++)
        if (strcmp(st->tensors[i].name, name) == 0)
            return &st->tensors[i];
    return NULL;
}

const char *rnn__st_meta(const rnn__st *st, const char *key)
{
    for (size_t i = 0; i < st->meta_count; i++)
        if (strcmp(st->meta_keys[i], key) == 0)
            return st->meta_values[i];
    return NULL;
}

/* ---- writer ----------------------------------------------------------- */

/* Refuses what the reader would refuse, so that we never write a file we
 * cannot read back. Fills sizes[i] with each entry's byte count. */
static rnn_status check_entries(const char *path, const rnn__st_entry *e, size_t count,
                                const char *const *mk, const char *const *mv,
                                size_t meta_count, size_t *sizes, rnn_error *err)
{
    const char **names;
    const char *dup;
    size_t total = 0;

    for (size_t i = 0; i < count; i++) {
        size_t numel = 1;
        char shape[256];
        if (!e[i].name)
            return rnn__fail(err, RNN_EINVAL, "%s: tensor %zu has no name", path, i);
        if (!rnn__utf8_valid(e[i].name, strlen(e[i].name)))
            return rnn__fail(err, RNN_EINVAL, "%s: tensor name " NAME_FMT
                             " is not valid UTF-8", path, e[i].name);
        if (strcmp(e[i].name, "__metadata__") == 0)
            return rnn__fail(err, RNN_EINVAL,
                             "%s: '__metadata__' is reserved and cannot name a tensor", path);
        if ((unsigned)e[i].dtype >= RNN__DTYPE_COUNT)
            return rnn__fail(err, RNN_EINVAL, "%s: tensor " NAME_FMT ": invalid dtype %d",
                             path, e[i].name, (int)e[i].dtype);
        if (e[i].ndim < 0 || e[i].ndim > RNN__MAX_DIMS)
            return rnn__fail(err, RNN_EINVAL, "%s: tensor " NAME_FMT
                             ": %d dimensions (0 to %d supported)",
                             path, e[i].name, e[i].ndim, RNN__MAX_DIMS);
        for (int d = 0; d < e[i].ndim; d++) {
            if (e[i].shape[d] < 0)
                return rnn__fail(err, RNN_EINVAL, "%s: tensor " NAME_FMT
                                 ": negative dimension %" PRId64,
                                 path, e[i].name, e[i].shape[d]);
            if ((uint64_t)e[i].shape[d] > SIZE_MAX ||
                !rnn__mul(&numel, numel, (size_t)e[i].shape[d])) {
                fmt_shape(shape, sizeof shape, e[i].shape, e[i].ndim);
                return rnn__fail(err, RNN_EOVERFLOW, "%s: tensor " NAME_FMT
                                 ": shape %s has too many elements", path, e[i].name, shape);
            }
        }
        if (!rnn__mul(&sizes[i], numel, rnn__dtype_size(e[i].dtype)) ||
            !rnn__add(&total, total, sizes[i]))
            return rnn__fail(err, RNN_EOVERFLOW, "%s: tensor " NAME_FMT ": too many bytes",
                             path, e[i].name);
        if (sizes[i] && !e[i].data)
            return rnn__fail(err, RNN_EINVAL, "%s: tensor " NAME_FMT ": no data", path,
                             e[i].name);
    }
    for (size_t i = 0; i < meta_count; i++) {
        if (!mk[i] || !mv[i])
            return rnn__fail(err, RNN_EINVAL, "%s: metadata entry %zu is NULL", path, i);
        if (!rnn__utf8_valid(mk[i], strlen(mk[i])) || !rnn__utf8_valid(mv[i], strlen(mv[i])))
            return rnn__fail(err, RNN_EINVAL, "%s: metadata " NAME_FMT
                             " is not valid UTF-8", path, mk[i]);
    }

    size_t most = count > meta_count ? count : meta_count;
    if (!(names = rnn__calloc(most, sizeof *names)))
        return rnn__fail(err, RNN_ENOMEM, "%s: out of memory", path);
    for (size_t i = 0; i < count; i++)
        names[i] = e[i].name;
    if ((dup = find_duplicate(names, count)) != NULL) {
        rnn_status s = rnn__fail(err, RNN_EINVAL, "%s: tensor name " NAME_FMT
                                 " appears twice", path, dup);
        rnn__free(names);
        return s;
    }
    for (size_t i = 0; i < meta_count; i++)
        names[i] = mk[i];
    if ((dup = find_duplicate(names, meta_count)) != NULL) {
        rnn_status s = rnn__fail(err, RNN_EINVAL, "%s: metadata key " NAME_FMT
                                 " appears twice", path, dup);
        rnn__free(names);
        return s;
    }
    rnn__free(names);
    return RNN_OK;
}

rnn_status rnn__st_write(const char *path, const rnn__st_entry *entries, size_t count,
                         const char *const *meta_keys, const char *const *meta_values,
                         size_t meta_count, rnn_error *err)
{
    rnn__buf h = {0};
    size_t *sizes, offset = 0;
    unsigned char len8[8];
    rnn__afile f;
    rnn_status s;

    if (!(sizes = rnn__calloc(count, sizeof *sizes)))
        return rnn__fail(err, RNN_ENOMEM, "%s: out of memory", path);
    s = check_entries(path, entries, count, meta_keys, meta_values, meta_count, sizes, err);
    if (s != RNN_OK)
        goto out;

    /* compact, like the reference implementation */
    rnn__buf_puts(&h, "{");
    if (meta_count) {
        rnn__buf_puts(&h, "\"__metadata__\":{");
        for (size_t i = 0; i < meta_count; i++) {
            if (i)
                rnn__buf_puts(&h, ",");
            rnn__buf_json_string(&h, meta_keys[i]);
            rnn__buf_puts(&h, ":");
            rnn__buf_json_string(&h, meta_values[i]);
        }
        rnn__buf_puts(&h, "}");
    }
    for (size_t i = 0; i < count; i++) {
        const rnn__st_entry *e = &entries[i];
        if (i || meta_count)
            rnn__buf_puts(&h, ",");
        rnn__buf_json_string(&h, e->name);
        rnn__buf_printf(&h, ":{\"dtype\":\"%s\",\"shape\":[", rnn__dtype_name(e->dtype));
        for (int d = 0; d < e->ndim; d++)
            rnn__buf_printf(&h, "%s%" PRId64, d ? "," : "", e->shape[d]);
        rnn__buf_printf(&h, "],\"data_offsets\":[%zu,%zu]}", offset, offset + sizes[i]);
        offset += sizes[i]; /* no overflow: check_entries summed them */
    }
    rnn__buf_puts(&h, "}");
    /* padding keeps the data buffer 8-byte aligned in the file */
    while (!h.oom && h.len % 8)
        rnn__buf_puts(&h, " ");
    if (h.oom) {
        s = rnn__fail(err, RNN_ENOMEM, "%s: out of memory building the header", path);
        goto out;
    }
    if (h.len > MAX_HEADER) {
        s = rnn__fail(err, RNN_EOVERFLOW,
                      "%s: header would be %zu bytes, over the %u that readers accept",
                      path, h.len, MAX_HEADER);
        goto out;
    }
    for (int i = 0; i < 8; i++)
        len8[i] = (unsigned char)((uint64_t)h.len >> (8 * i));

    if ((s = rnn__afile_open(&f, path, err)) != RNN_OK)
        goto out;
    rnn__afile_write(&f, len8, 8, err);
    rnn__afile_write(&f, h.data, h.len, err);
    for (size_t i = 0; i < count; i++)
        rnn__afile_write(&f, entries[i].data, sizes[i], err);
    /* a failed write is sticky: commit reports it and removes the temporary */
    s = rnn__afile_commit(&f, err);
out:
    rnn__buf_free(&h);
    rnn__free(sizes);
    return s;
}
