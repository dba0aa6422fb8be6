/*
 * text.h -- UTF-8 text and character vocabularies. Internal.
 *
 * A vocabulary is the sorted set of Unicode code points of a text; token id
 * i is the i-th code point. Decoding errors name the byte offset and line.
 */
#ifndef RNN_TEXT_H
#define RNN_TEXT_H

#include "core/core.h"

/* Length of the well-formed UTF-8 sequence at s (no overlong forms, no
 * surrogates, nothing above U+10FFFF), or 0 if s does not start one. */
size_t rnn__utf8_len(const unsigned char *s, size_t n);
/* Decodes the sequence of length len (from rnn__utf8_len). */
uint32_t rnn__utf8_decode1(const unsigned char *s, size_t len);
/* Writes cp as UTF-8 into out[4]; returns the byte count (1..4). */
size_t rnn__utf8_encode(uint32_t cp, char out[4]);

/* Decodes a whole text into code points (malloc'ed *cps, *count). A NUL
 * byte is refused as "looks like a binary file", invalid UTF-8 with its
 * byte offset and line; messages start with `name`. */
rnn_status rnn__utf8_decode(uint32_t **cps, size_t *count,
                            const unsigned char *s, size_t n,
                            const char *name, rnn_error *err);

typedef struct rnn__vocab {
    uint32_t *chars; /* sorted, distinct */
    int size;
} rnn__vocab;

/* The sorted distinct code points of a[na] and b[nb] (b may be NULL). */
rnn_status rnn__vocab_build(rnn__vocab *v, const uint32_t *a, size_t na,
                            const uint32_t *b, size_t nb, rnn_error *err);
void rnn__vocab_free(rnn__vocab *v);
/* Token id of cp, or -1. */
int rnn__vocab_index(const rnn__vocab *v, uint32_t cp);
/* Maps code points to ids; an unknown one is an error naming its position
 * (code point index; the caller may translate it to a byte offset). */
rnn_status rnn__vocab_encode(const rnn__vocab *v, int32_t *ids,
                             const uint32_t *cps, size_t n, size_t *bad_at);
/* JSON array of code points, and back (strictly sorted, <= 0x10FFFF). */
char *rnn__vocab_to_json(const rnn__vocab *v);
rnn_status rnn__vocab_from_json(rnn__vocab *v, const char *json,
                                rnn_error *err);
/* Printable description of a code point for messages: 'a', '\n', U+00E9 'é'. */
void rnn__describe_char(uint32_t cp, char *out, size_t n);

#endif
