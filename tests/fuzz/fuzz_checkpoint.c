/*
 * fuzz_checkpoint.c -- checkpoints as every verb loads them: the
 * safetensors file, then rnn.config (the model), the parameters, and for
 * --resume rnn.train (counters, generator state, data hash) and the
 * optimizer and carried state tensors, restored into a live trainer.
 *
 * The trainer is a small character model on a fixed text; the
 * seed corpus holds its own checkpoints (RNN_FUZZ_WRITE_SEEDS=DIR makes the
 * target write them), so that mutations start from files that get past the
 * first checks. Whether a restore succeeds or fails, the trainer must stay
 * usable: the next step either runs or refuses non-finite values cleanly.
 * A fresh trainer per input keeps runs independent of each other.
 */
#include "fuzz.h"

#include "model/model.h"

#include <math.h>
#include <string.h>
#include <unistd.h>

static int32_t ids[600];
static char path[256];

static const char text[] =
    "the rain in spain stays mainly in the plain; the quick brown fox jumps over the lazy dog. ";

static void make_trainer(rnn_model **model, rnn_trainer **trainer)
{
    rnn_model_config mc = {.vocab_size = 29, .embed_size = 4, .cell = RNN_CELL_LSTM,
                           .hidden_size = 6, .num_layers = 2, .output_size = 29};
    rnn_train_options o = {.seq_len = 8, .batch = 3, .lr = 1e-2, .clip_norm = 5, .seed = 1};
    rnn_optim_defaults(&o.optim, RNN_OPT_ADAM);
    rnn_error e;
    if (rnn_model_new(model, &mc, 7, &e) ||
        rnn_lm_trainer_new(trainer, *model, &o, ids, 500, ids + 500, 100, &e)) {
        fprintf(stderr, "fuzz_checkpoint: set-up failed: %s\n", e.msg);
        abort();
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        char c = text[i % (sizeof text - 1)];
        ids[i] = c == ' ' ? 0 : c == ';' ? 1 : c == '.' ? 2 : 3 + (c - 'a');
    }
    const char *dir = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/rnn-fuzz-ckpt-%ld.safetensors", dir && *dir ? dir : "/tmp",
             (long)getpid());
    const char *seeds = getenv("RNN_FUZZ_WRITE_SEEDS");
    if (seeds) {
        rnn_model *model;
        rnn_trainer *trainer;
        make_trainer(&model, &trainer);
        static const char *const k[] = {"rnn.task", "rnn.vocab"};
        static const char *const v[] = {"charlm", "[32,59,46,97,98,99,100,101]"};
        char p[512];
        for (int s = 0; s < 3; s++) {
            snprintf(p, sizeof p, "%s/step%d.safetensors", seeds, s * 2);
            if (rnn_trainer_save(trainer, p, k, v, 2) != RNN_OK) {
                fprintf(stderr, "%s: %s\n", p, rnn_trainer_errmsg(trainer));
                abort();
            }
            for (int i = 0; i < 2; i++)
                if (rnn_trainer_step(trainer, NULL) != RNN_OK)
                    abort();
        }
        snprintf(p, sizeof p, "%s/model.safetensors", seeds);
        if (rnn_model_save(model, p, NULL, NULL, 0) != RNN_OK)
            abort();
        rnn_trainer_free(trainer);
        rnn_model_free(model);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* 1. the model as `rnn sample` / `rnn eval` load it */
    rnn__st f;
    rnn_error err;
    if (rnn__st_parse(&f, data, size, "fuzz.safetensors", &err) != RNN_OK)
        return 0;
    rnn_model *m = NULL;
    if (rnn__model_from_st(&m, &f, "fuzz.safetensors", &err) == RNN_OK) {
        const rnn_model_config *c = rnn_model_get_config(m);
        FUZZ_CHECK(c->hidden_size >= 1 && c->num_layers >= 1 && c->output_size >= 1);
        /* a loaded model's weights are finite, and the file held them all */
        size_t n, held = 0;
        const float *p = rnn_model_params(m, &n);
        for (size_t i = 0; i < n; i++)
            FUZZ_CHECK(isfinite(p[i]));
        for (size_t i = 0; i < f.count; i++)
            held += f.tensors[i].numel;
        FUZZ_CHECK(n <= held);
        /* the loaded model runs one step */
        if (c->vocab_size > 0 && c->cond_classes == 0 && c->readout == RNN_READOUT_STEPS &&
            m->nparams < 100000) {
            int32_t tok[2] = {0, 0};
            float *out = rnn__alloc_floats((size_t)2 * c->output_size);
            FUZZ_CHECK(out != NULL);
            FUZZ_CHECK(rnn_model_forward(m, out, NULL, NULL, tok, NULL, NULL, NULL, NULL, 2, 1,
                                         0) == RNN_OK);
            rnn__free_floats(out);
        }
        rnn_model_free(m);
    } else {
        FUZZ_CHECK(err.msg[0] != '\0' && strchr(err.msg, '\n') == NULL);
    }
    rnn__st_free(&f);

    /* 2. --resume: restore into the live trainer from a file */
    FILE *fp = fopen(path, "wb");
    FUZZ_CHECK(fp != NULL);
    FUZZ_CHECK(fwrite(data, 1, size, fp) == size);
    FUZZ_CHECK(fclose(fp) == 0);
    rnn_model *model;
    rnn_trainer *trainer;
    make_trainer(&model, &trainer);
    rnn_status st = rnn_trainer_restore(trainer, path);
    unlink(path);
    if (st != RNN_OK) {
        const char *msg = rnn_trainer_errmsg(trainer);
        FUZZ_CHECK(msg[0] != '\0' && strchr(msg, '\n') == NULL);
    }
    /* whatever happened, the trainer still steps, or refuses non-finite
     * values (a checkpoint may hold NaN weights) without applying them */
    rnn_train_stats s;
    st = rnn_trainer_step(trainer, &s);
    FUZZ_CHECK(st == RNN_OK || st == RNN_EINVAL);
    rnn_trainer_free(trainer);
    rnn_model_free(model);
    return 0;
}
