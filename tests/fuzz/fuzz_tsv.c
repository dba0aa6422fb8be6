/*
 * fuzz_tsv.c -- the labelled-text reader (rnn__tsv_parse, what `rnn
 * classify` and `rnn train --conditioned` read) on arbitrary
 * bytes, under each combination of its options, then the label tables
 * built from the result and their JSON form (stored in checkpoints) read
 * back. An accepted file gives rows of at least one token whose per-step
 * labels (if any) are one per token; the table of labels round-trips; and
 * rnn__strtab_from_json on the raw bytes either fails cleanly or gives
 * distinct strings.
 */
#include "fuzz.h"

#include "io/tsv.h"

#include <string.h>

static void check_rows(const rnn__tsv *t, const rnn__tsv_options *o)
{
    const char **labels = malloc((t->count ? t->count : 1) * sizeof *labels);
    FUZZ_CHECK(labels != NULL);
    size_t nl = 0;
    for (size_t i = 0; i < t->count; i++) {
        const rnn__tsv_row *r = &t->rows[i];
        FUZZ_CHECK(r->ntok >= 1 && r->text != NULL);
        FUZZ_CHECK(i == 0 || r->line > t->rows[i - 1].line);
        if (o->max_tokens)
            FUZZ_CHECK(r->ntok <= o->max_tokens);
        if (o->tokens == RNN__TOK_CHAR)
            FUZZ_CHECK(r->cps != NULL);
        else
            for (size_t k = 0; k < r->ntok; k++)
                FUZZ_CHECK(r->words[k] != NULL && r->words[k][0] != '\0');
        if (t->labelled) {
            FUZZ_CHECK(r->label != NULL);
            if (!o->per_step)
                labels[nl++] = r->label;
        }
        if (o->per_step && t->labelled) {
            FUZZ_CHECK(r->step_labels != NULL);
            for (size_t k = 0; k < r->ntok; k++)
                FUZZ_CHECK(r->step_labels[k] != NULL);
        }
    }
    if (nl) {
        rnn__strtab tab;
        rnn_error err;
        if (rnn__strtab_build(&tab, labels, nl, &err) == RNN_OK) {
            for (size_t i = 0; i < nl; i++) {
                int id = rnn__strtab_index(&tab, labels[i]);
                FUZZ_CHECK(id >= 0 && id < tab.n && strcmp(tab.s[id], labels[i]) == 0);
            }
            char *json = rnn__strtab_to_json(&tab);
            FUZZ_CHECK(json != NULL);
            rnn__strtab back;
            FUZZ_CHECK(rnn__strtab_from_json(&back, json, "labels", &err) == RNN_OK);
            FUZZ_CHECK(back.n == tab.n);
            for (int i = 0; i < tab.n; i++)
                FUZZ_CHECK(strcmp(back.s[i], tab.s[i]) == 0);
            rnn__strtab_free(&back);
            rnn__free(json);
            rnn__strtab_free(&tab);
        }
    }
    free(labels);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rnn_error err;
    /* the first byte picks the options, so that every combination is fuzzed */
    unsigned sel = size ? data[0] : 0;
    rnn__tsv_options o = {.tokens = sel & 1 ? RNN__TOK_WORD : RNN__TOK_CHAR,
                          .labels = (rnn__tsv_labels)((sel >> 1) % 3),
                          .per_step = (sel >> 3) & 1,
                          .max_tokens = (sel >> 4) & 1 ? 40 : 0};
    const uint8_t *text = size ? data + 1 : data;
    size_t n = size ? size - 1 : 0;
    rnn__tsv t;
    if (rnn__tsv_parse(&t, text, n, "fuzz.tsv", &o, &err) == RNN_OK) {
        check_rows(&t, &o);
        rnn__tsv_free(&t);
    } else {
        FUZZ_CHECK(err.msg[0] != '\0' && strchr(err.msg, '\n') == NULL);
    }

    char *s = malloc(n + 1);
    FUZZ_CHECK(s != NULL);
    memcpy(s, text, n);
    s[n] = '\0';
    rnn__strtab tab;
    if (rnn__strtab_from_json(&tab, s, "labels", &err) == RNN_OK) {
        for (int i = 0; i < tab.n; i++)
            for (int k = 0; k < i && k < 64; k++)
                FUZZ_CHECK(strcmp(tab.s[i], tab.s[k]) != 0);
        rnn__strtab_free(&tab);
    }
    free(s);
    return 0;
}
