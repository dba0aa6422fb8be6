/* test_json.c -- the strict JSON parser, its error messages, and the output
 * buffer's JSON string escaping. */
#include "test.h"

#include "io/io.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static rnn_status parse_n(rnn__json **v, const char *text, size_t len, rnn_error *e)
{
    rnn__error_clear(e);
    return rnn__json_parse(v, text, len, e);
}

/* Asserts that text is refused as malformed with a message that names the
 * byte offset and contains `needle`. */
static void reject_at(const char *file, int line, const char *text, size_t len,
                      const char *needle, rnn_status want)
{
    rnn__json *v = (rnn__json *)1;
    rnn_error e;
    rnn_status st = parse_n(&v, text, len, &e);
    if (st != want || v != NULL || e.status != want)
        t_fail_at(file, line, "parse of <%.*s> returned status %d (want %d)", (int)len,
                  text, (int)st, (int)want);
    else if (strncmp(e.msg, "byte ", 5) != 0 || !strstr(e.msg, needle))
        t_fail_at(file, line, "parse of <%.*s>: message \"%s\" lacks \"byte N\" or \"%s\"",
                  (int)len, text, e.msg, needle);
    if (st == RNN_OK)
        rnn__json_free(v);
}
#define REJECT(text, needle) reject_at(__FILE__, __LINE__, text, strlen(text), needle, RNN_EFORMAT)
#define REJECT_N(text, len, needle) reject_at(__FILE__, __LINE__, text, len, needle, RNN_EFORMAT)

static void test_values(void)
{
    const char *doc = " {\"a\": [1, -2.5e3, true, false, null, \"x\"], \"b\": {}, \"c\": []} \n";
    rnn__json *v = NULL;
    rnn_error e;
    CHECK_OK(parse_n(&v, doc, strlen(doc), &e));
    if (!v)
        return;
    CHECK(v->kind == RNN__JSON_OBJECT);
    CHECK(v->count == 3);
    CHECK(v->offset == 1);
    CHECK(strcmp(v->keys[0], "a") == 0 && strcmp(v->keys[2], "c") == 0);
    const rnn__json *a = rnn__json_get(v, "a");
    CHECK(a && a->kind == RNN__JSON_ARRAY && a->count == 6);
    if (a && a->count == 6) {
        CHECK(a->items[0].kind == RNN__JSON_NUMBER && a->items[0].number == 1.0);
        CHECK(a->items[0].is_uint && a->items[0].uint == 1);
        CHECK(a->items[1].number == -2500.0 && !a->items[1].is_uint);
        CHECK(a->items[2].kind == RNN__JSON_BOOL && a->items[2].boolean == 1);
        CHECK(a->items[3].kind == RNN__JSON_BOOL && a->items[3].boolean == 0);
        CHECK(a->items[4].kind == RNN__JSON_NULL);
        CHECK(a->items[5].kind == RNN__JSON_STRING && strcmp(a->items[5].str, "x") == 0);
        CHECK(a->items[5].len == 1);
        /* offsets point at the value's first byte */
        CHECK(a->offset == 7);
        CHECK(a->items[1].offset == 11);
        CHECK(doc[a->items[5].offset] == '"');
    }
    const rnn__json *b = rnn__json_get(v, "b");
    CHECK(b && b->kind == RNN__JSON_OBJECT && b->count == 0);
    CHECK(rnn__json_get(v, "zz") == NULL);
    CHECK(rnn__json_get(a, "a") == NULL); /* not an object */
    CHECK(rnn__json_get(NULL, "a") == NULL);
    rnn__json_free(v);

    /* scalars at top level, surrounded by whitespace */
    CHECK_OK(parse_n(&v, "\t\r\n 42 \t\r\n", 10, &e));
    CHECK(v && v->kind == RNN__JSON_NUMBER && v->uint == 42);
    rnn__json_free(v);
    CHECK_OK(parse_n(&v, "\"\"", 2, &e));
    CHECK(v && v->kind == RNN__JSON_STRING && v->len == 0 && v->str && v->str[0] == 0);
    rnn__json_free(v);
    rnn__json_free(NULL);
}

static void test_numbers(void)
{
    static const struct {
        const char *text;
        double value;
        int is_uint;
        uint64_t uint;
    } ok[] = {
        {"0", 0, 1, 0},
        {"-0", 0, 0, 0},
        {"7", 7, 1, 7},
        {"123456789012345678", 123456789012345678.0, 1, 123456789012345678u},
        {"18446744073709551615", 18446744073709551615.0, 1, UINT64_MAX},
        {"18446744073709551616", 18446744073709551616.0, 0, 0},
        {"-1", -1, 0, 0},
        {"1.0", 1, 0, 0},
        {"1e2", 100, 0, 0},
        {"1E+2", 100, 0, 0},
        {"25e-1", 2.5, 0, 0},
        {"0.125", 0.125, 0, 0},
        {"-0.0e0", 0, 0, 0},
        {"3.141592653589793", 3.141592653589793, 0, 0},
        {"1e-400", 0, 0, 0}, /* underflow is fine */
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        rnn__json *v = NULL;
        rnn_error e;
        rnn_status st = parse_n(&v, ok[i].text, strlen(ok[i].text), &e);
        CHECK_MSG(st == RNN_OK, "%s: %s", ok[i].text, e.msg);
        if (st != RNN_OK)
            continue;
        CHECK_MSG(v->kind == RNN__JSON_NUMBER && v->number == ok[i].value &&
                      v->is_uint == ok[i].is_uint && (!ok[i].is_uint || v->uint == ok[i].uint),
                  "%s: number %.17g is_uint %d uint %llu", ok[i].text, v->number, v->is_uint,
                  (unsigned long long)v->uint);
        rnn__json_free(v);
    }
    REJECT("01", "leading zeros");
    REJECT("-01", "leading zeros");
    REJECT("00", "leading zeros");
    REJECT("-", "expected a digit");
    REJECT("1.", "after the decimal point");
    REJECT(".5", "expected a JSON value");
    REJECT("+1", "expected a JSON value");
    REJECT("1e", "exponent");
    REJECT("1e+", "exponent");
    REJECT("NaN", "expected a JSON value");
    REJECT("Infinity", "expected a JSON value");
    REJECT("-Infinity", "expected a digit");
    REJECT("1e999", "out of the range");
    REJECT("0x10", "unexpected 'x' after the JSON value");
}

static void test_syntax_errors(void)
{
    REJECT("", "byte 0: expected a JSON value, found end of input");
    REJECT("   ", "byte 3: expected a JSON value");
    REJECT("[1,]", "byte 3: expected a JSON value, found ']'");
    REJECT("{\"a\":1,}", "byte 7: expected a string as object key");
    REJECT("{\"a\" 1}", "byte 5: expected ':' after object key");
    REJECT("{\"a\":1 \"b\":2}", "expected ',' or '}' in object");
    REJECT("[1 2]", "byte 3: expected ',' or ']' in array");
    REJECT("[1", "found end of input");
    REJECT("{'a':1}", "expected a string as object key");
    REJECT("{a:1}", "expected a string as object key");
    REJECT("[1] // c", "byte 4: unexpected '/' after the JSON value");
    REJECT("{} x", "byte 3: unexpected 'x'");
    REJECT("1 2", "byte 2: unexpected '2'");
    REJECT("tru", "expected a JSON value");
    REJECT("nul", "expected a JSON value");
    REJECT("True", "expected a JSON value");
    REJECT("[true1]", "expected ',' or ']'");
    REJECT("\xef\xbb\xbf{}", "byte 0: expected a JSON value, found byte 0xef"); /* BOM */
    REJECT_N("[1,\0]", 5, "byte 3: expected a JSON value, found byte 0x00");
    REJECT("[1]\x0c", "unexpected byte 0x0c"); /* form feed is not JSON whitespace */
}

static void test_strings(void)
{
    const char *doc = "\"q\\\" b\\\\ s\\/ \\b\\f\\n\\r\\t A\\u0041 e\\u00e9 E\\u20AC "
                      "G\\uD83D\\uDE00 raw\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"";
    const char want[] = "q\" b\\ s/ \b\f\n\r\t AA e\xc3\xa9 E\xe2\x82\xac "
                        "G\xf0\x9f\x98\x80 raw\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";
    rnn__json *v = NULL;
    rnn_error e;
    CHECK_OK(parse_n(&v, doc, strlen(doc), &e));
    if (v) {
        CHECK(v->len == sizeof want - 1);
        CHECK(v->len == sizeof want - 1 && memcmp(v->str, want, v->len) == 0);
        CHECK(v->str[v->len] == '\0');
        rnn__json_free(v);
    }
    /* \u0000 is legal in values; len tells it apart from the terminator */
    CHECK_OK(parse_n(&v, "\"a\\u0000b\"", 10, &e));
    if (v) {
        CHECK(v->len == 3 && memcmp(v->str, "a\0b", 4) == 0);
        rnn__json_free(v);
    }
    /* U+10FFFF, the last code point, as a surrogate pair */
    CHECK_OK(parse_n(&v, "\"\\uDBFF\\uDFFF\"", 14, &e));
    if (v) {
        CHECK(v->len == 4 && memcmp(v->str, "\xf4\x8f\xbf\xbf", 4) == 0);
        rnn__json_free(v);
    }

    REJECT("\"abc", "byte 0: unterminated string");
    REJECT("\"a\nb\"", "byte 2: control character 0x0a in string");
    REJECT("\"a\tb\"", "control character 0x09");
    REJECT("\"\x1f\"", "control character 0x1f");
    REJECT("\"\\x41\"", "byte 1: invalid escape \\'x'");
    REJECT("\"\\", "unterminated escape");
    REJECT("\"\\u12G4\"", "4 hex digits");
    REJECT("\"\\u12\"", "4 hex digits");
    REJECT("\"\\uD83D\"", "byte 1: lone high surrogate \\uD83D");
    REJECT("\"\\uD83Dx\"", "lone high surrogate");
    REJECT("\"\\uD83D\\u0041\"", "lone high surrogate");
    REJECT("\"\\uD83D\\uD83D\"", "lone high surrogate");
    REJECT("\"\\uDE00\"", "lone low surrogate \\uDE00");
    /* invalid UTF-8: lone continuation, overlong, encoded surrogate, beyond
     * U+10FFFF, truncated sequence, bytes that never occur */
    REJECT("\"\x80\"", "byte 1: invalid UTF-8");
    REJECT("\"\xc0\x80\"", "invalid UTF-8");
    REJECT("\"\xc1\xbf\"", "invalid UTF-8");
    REJECT("\"\xe0\x80\xaf\"", "invalid UTF-8");
    REJECT("\"\xed\xa0\x80\"", "invalid UTF-8");
    REJECT("\"\xf0\x80\x80\xaf\"", "invalid UTF-8");
    REJECT("\"\xf4\x90\x80\x80\"", "invalid UTF-8");
    REJECT("\"\xf5\x80\x80\x80\"", "invalid UTF-8");
    REJECT("\"ab\xe2\x82\"", "byte 3: invalid UTF-8");
    REJECT("\"\xe2\x82", "invalid UTF-8");
    REJECT("\"\xff\"", "invalid UTF-8");
    /* keys are C strings: an embedded NUL would truncate them */
    REJECT("{\"a\\u0000b\": 1}", "byte 1: object key contains \\u0000");
}

static void test_depth(void)
{
    char doc[400];
    rnn__json *v = NULL;
    rnn_error e;

    /* 64 levels are fine */
    memset(doc, '[', 64);
    memset(doc + 64, ']', 64);
    CHECK_OK(parse_n(&v, doc, 128, &e));
    if (v) {
        const rnn__json *p = v;
        int depth = 1;
        while (p->count == 1) {
            p = &p->items[0];
            depth++;
        }
        CHECK(depth == 64 && p->kind == RNN__JSON_ARRAY && p->count == 0);
        rnn__json_free(v);
    }
    /* 65 are not, whether arrays or objects */
    memset(doc, '[', 65);
    memset(doc + 65, ']', 65);
    REJECT_N(doc, 130, "byte 64: nesting deeper than 64 levels");
    size_t n = 0;
    for (int i = 0; i < 65; i++)
        n += (size_t)sprintf(doc + n, "{\"\":");
    REJECT_N(doc, n, "nesting deeper than 64");
}

static void test_duplicates_and_get(void)
{
    const char *doc = "{\"k\": 1, \"k\": 2, \"other\": 3}";
    rnn__json *v = NULL;
    rnn_error e;
    /* the parser keeps duplicates; callers such as safetensors refuse them */
    CHECK_OK(parse_n(&v, doc, strlen(doc), &e));
    if (v) {
        CHECK(v->count == 3);
        const rnn__json *k = rnn__json_get(v, "k");
        CHECK(k && k->uint == 2);
        CHECK(rnn__json_get(v, "other")->uint == 3);
        rnn__json_free(v);
    }
}

static void test_errors_free_partial_trees(void)
{
    /* failures deep inside nested containers must free what was built
     * (LeakSanitizer checks this) */
    static const char *docs[] = {
        "{\"a\": [1, 2, {\"b\": \"xyz\", \"c\": [\"p\", \"q\", 01]}]}",
        "{\"a\": {\"b\": {\"c\": \"unterminated}}}",
        "[\"x\", \"y\", {\"z\": ",
        "{\"key\": \"value\", \"key2\"",
    };
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        rnn__json *v = NULL;
        rnn_error e;
        CHECK(parse_n(&v, docs[i], strlen(docs[i]), &e) == RNN_EFORMAT);
        CHECK(v == NULL);
    }
}

static void test_buf(void)
{
    rnn__buf b = {0};
    rnn__buf_puts(&b, "ab");
    rnn__buf_append(&b, "cdef", 2);
    rnn__buf_printf(&b, "[%d|%s]", 42, "x");
    CHECK(b.len == 10 && strcmp(b.data, "abcd[42|x]") == 0);
    /* growth well past the first allocation */
    for (int i = 0; i < 1000; i++)
        rnn__buf_printf(&b, "%04d", i);
    CHECK(b.len == 4010 && !b.oom);
    CHECK(memcmp(b.data + 10, "0000000100020003", 16) == 0);
    CHECK(memcmp(b.data + b.len - 4, "0999", 4) == 0 && b.data[b.len] == '\0');
    rnn__buf_free(&b);
    CHECK(b.data == NULL && b.len == 0);
}

static void test_json_string_escapes(void)
{
    rnn__buf b = {0};
    rnn__buf_json_string(&b, "a\"b\\c/d\n\t\r\b\f\x01\x1f\x7f \xc3\xa9");
    CHECK(b.data && strcmp(b.data, "\"a\\\"b\\\\c/d\\n\\t\\r\\b\\f\\u0001\\u001f\x7f \xc3\xa9\"") == 0);
    rnn__buf_free(&b);

    rnn__buf_json_string(&b, "");
    CHECK(b.data && strcmp(b.data, "\"\"") == 0);
    rnn__buf_free(&b);

    /* every byte 1..255 that can appear in valid UTF-8 round-trips */
    char s[300];
    size_t n = 0;
    for (int c = 1; c < 128; c++)
        s[n++] = (char)c;
    memcpy(s + n, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9);
    n += 9;
    s[n] = '\0';
    rnn__buf_json_string(&b, s);
    rnn__json *v = NULL;
    rnn_error e;
    CHECK_OK(parse_n(&v, b.data, b.len, &e));
    if (v) {
        CHECK(v->kind == RNN__JSON_STRING && v->len == n && memcmp(v->str, s, n) == 0);
        rnn__json_free(v);
    }
    /* and no raw control character reached the output */
    for (size_t i = 0; i < b.len; i++)
        CHECK_MSG((unsigned char)b.data[i] >= 0x20, "raw control byte at %zu", i);
    rnn__buf_free(&b);
}

static void test_utf8_valid(void)
{
    CHECK(rnn__utf8_valid("", 0));
    CHECK(rnn__utf8_valid("plain", 5));
    CHECK(rnn__utf8_valid("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf", 13));
    CHECK(!rnn__utf8_valid("\xc3", 1));
    CHECK(!rnn__utf8_valid("\xc0\xaf", 2));
    CHECK(!rnn__utf8_valid("\xed\xb0\x80", 3));
    CHECK(!rnn__utf8_valid("\xf4\x90\x80\x80", 4));
    CHECK(!rnn__utf8_valid("a\xbf", 2));
}

void suite_json(void);
void suite_json(void)
{
    RUN(test_values);
    RUN(test_numbers);
    RUN(test_syntax_errors);
    RUN(test_strings);
    RUN(test_depth);
    RUN(test_duplicates_and_get);
    RUN(test_errors_free_partial_trees);
    RUN(test_buf);
    RUN(test_json_string_escapes);
    RUN(test_utf8_valid);
}
