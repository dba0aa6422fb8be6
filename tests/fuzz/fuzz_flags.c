/*
 * fuzz_flags.c -- the settings a checkpoint carries for --resume: the
 * rnn.loop JSON whose "flags" object train_flags_apply copies into the
 * training flags, then train_flags_to_options, as every training verb does
 * before it builds a model; and rnn.config through rnn__model_config_parse.
 * A saved setting must get the same checks as one typed on the command
 * line: whatever the file says, the options that come out are in range.
 */
#include "fuzz.h"

#include "cli/train_common.h"
#include "io/io.h"
#include "model/model.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rnn__json *j;
    rnn_error err;
    if (rnn__json_parse(&j, (const char *)data, size, &err) != RNN_OK)
        return 0;

    train_flags f, f0;
    train_flags_defaults(&f);
    train_flags_defaults(&f0);
    cli_opt opts[TRAIN_FLAG_COUNT + 2], defaults[TRAIN_FLAG_COUNT + 2];
    int n = train_flags_add(&f, opts, 0);
    train_flags_add(&f0, defaults, 0);
    const rnn__json *flags = j->kind == RNN__JSON_OBJECT ? rnn__json_get(j, "flags") : NULL;
    if (!flags)
        flags = j;
    if (train_flags_apply("fuzz", opts, n, flags, "fuzz.safetensors") == 0) {
        /* every numeric setting taken from the file is inside the range its
         * option declares, or is the option's default (0 = "not given") */
        for (int i = 0; i < n; i++) {
            const cli_opt *o = &opts[i];
            if (!(o->min < o->max) || !rnn__json_get(flags, o->name))
                continue;
            double v = o->kind == CLI_INT ? *(const int *)o->dst
                       : o->kind == CLI_FLOAT ? *(const double *)o->dst : o->min;
            double d = o->kind == CLI_INT ? *(const int *)defaults[i].dst
                       : o->kind == CLI_FLOAT ? *(const double *)defaults[i].dst : o->min;
            FUZZ_CHECK((v >= o->min && v <= o->max) || v == d);
        }
        rnn_train_options o;
        rnn_cell cell;
        if (train_flags_to_options("fuzz", &f, 1000, &o, &cell) == 0) {
            FUZZ_CHECK(o.seq_len >= 1 && o.batch >= 1 && o.lr > 0);
            char *again = train_flags_json(opts, n);
            FUZZ_CHECK(again != NULL);
            free(again);
        }
    }

    /* the same document as a model configuration */
    char *s = malloc(size + 1);
    FUZZ_CHECK(s != NULL);
    memcpy(s, data, size);
    s[size] = '\0';
    rnn_model_config c;
    if (rnn__model_config_parse(&c, s, &err) == RNN_OK) {
        FUZZ_CHECK(rnn__model_check_config(&c, &err) == RNN_OK);
        char *json = rnn__model_config_json(&c);
        FUZZ_CHECK(json != NULL);
        rnn_model_config back;
        FUZZ_CHECK(rnn__model_config_parse(&back, json, &err) == RNN_OK);
        char *json2 = rnn__model_config_json(&back);
        FUZZ_CHECK(json2 != NULL && strcmp(json, json2) == 0);
        rnn__free(json);
        rnn__free(json2);
    }
    free(s);
    rnn__json_free(j);
    return 0;
}
