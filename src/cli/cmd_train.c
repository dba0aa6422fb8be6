/*
 * cmd_train.c -- `rnn train TEXT`: a character-level language model, the
 * seeds' central example ("how can it predict the next character?").
 * Reads UTF-8 text, builds the vocabulary of code points, trains with
 * truncated BPTT over parallel streams and writes checkpoints that
 * `rnn sample` and `rnn eval` read.
 */
#include "cli/train_common.h"

#include "io/io.h"
#include "io/text.h"
#include "model/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_head[] =
    "usage: rnn train TEXT [options]\n"
    "\n"
    "Trains a character-level language model on the UTF-8 file TEXT (char-rnn's task:\n"
    "predict the next character). The vocabulary is the text's Unicode code points.\n"
    "Training is truncated backpropagation through time over --batch parallel streams\n"
    "of the text, the recurrent state carried from one window to the next.\n"
    "Progress goes to stderr; Ctrl-C saves DIR/last.safetensors and stops cleanly.\n"
    "\n";
static const char usage_tail[] =
    "\n"
    "Then: rnn sample DIR/best.safetensors, rnn eval DIR/best.safetensors TEXT.\n"
    "Exit status: 0 success, 1 internal error or diverged training, 2 bad input.\n";

/* Decodes a UTF-8 file into code points (errors printed). */
static int read_text(const char *verb, const char *path, uint32_t **cps, size_t *n)
{
    unsigned char *data;
    size_t size;
    rnn_error e;
    rnn_status st = rnn__read_file(path, &data, &size, &e);
    if (st)
        return cli_fail_status(verb, st, e.msg);
    if (size == 0) {
        rnn__free(data);
        return cli_error(verb, CLI_EXIT_INPUT, "%s: file is empty", path);
    }
    st = rnn__utf8_decode(cps, n, data, size, path, &e);
    rnn__free(data);
    return st ? cli_fail_status(verb, st, e.msg) : 0;
}

int cmd_train(int argc, char **argv)
{
    train_flags f;
    train_flags_defaults(&f);
    cli_opt opts[TRAIN_FLAG_COUNT + 2];
    int nopt = train_flags_add(&f, opts, 0);
    char usage[8192];
    snprintf(usage, sizeof usage, "%s%s%s", usage_head, train_flags_usage, usage_tail);
    const char *pos[1];
    int np;
    int rc = cli_parse("train", argc, argv, opts, pos, 1, 1, &np, usage);
    if (rc)
        return rc < 0 ? 0 : rc;
    const char *text_path = pos[0];
    char ckpt[4096];
    snprintf(ckpt, sizeof ckpt, "%s/last.safetensors", f.out);

    rnn__st resume = {0};
    rnn__json *saved = NULL; /* the saved flags; their strings are used for the run */
    int have_resume = 0;
    rnn_error e;
    if (f.resume) {
        rnn_status st = rnn__st_read(&resume, ckpt, &e);
        if (st)
            return cli_error("train", cli_exit_code(st), "--resume: %s", e.msg);
        have_resume = 1;
        const char *loop = rnn__st_meta(&resume, "rnn.loop"), *task = rnn__st_meta(&resume, "rnn.task");
        if (!task || strcmp(task, "charlm") != 0) {
            rc = cli_error("train", CLI_EXIT_INPUT, "--resume: %s was not written by 'rnn train'", ckpt);
            goto out_resume;
        }
        if (!loop || rnn__json_parse(&saved, loop, strlen(loop), &e) != RNN_OK) {
            rc = cli_error("train", CLI_EXIT_INPUT, "--resume: %s has no readable training state", ckpt);
            goto out_resume;
        }
        rc = train_flags_apply("train", opts, nopt, rnn__json_get(saved, "flags"), ckpt);
        if (rc)
            goto out_resume;
    }
    if (!f.epochs && !f.max_steps && !(f.max_time > 0))
        f.epochs = 10;
    if ((rc = train_prepare_out("train", f.out)))
        goto out_resume;

    uint32_t *text = NULL, *vtext = NULL;
    size_t n = 0, nv = 0;
    int32_t *ids = NULL, *vids = NULL;
    rnn_model *m = NULL;
    rnn_trainer *t = NULL;
    char *vocab_json = NULL, *flags_json = NULL;
    rnn__vocab vocab = {0};
    train_run run = {0};

    if ((rc = read_text("train", text_path, &text, &n)))
        goto out;
    size_t ntrain = n;
    const uint32_t *vsrc = NULL;
    if (f.val_file) {
        if ((rc = read_text("train", f.val_file, &vtext, &nv)))
            goto out;
        vsrc = vtext;
    } else {
        nv = (size_t)((double)n * f.val_frac);
        ntrain = n - nv;
        vsrc = text + ntrain;
    }
    if (nv == 1)
        nv = 0; /* one character predicts nothing */
    rnn_status st = rnn__vocab_build(&vocab, text, n, vtext, vtext ? nv : 0, &e);
    if (st) {
        rc = cli_fail_status("train", st, e.msg);
        goto out;
    }
    ids = malloc((n ? n : 1) * sizeof *ids);
    vids = malloc((nv ? nv : 1) * sizeof *vids);
    if (!ids || !vids) {
        rc = cli_error("train", CLI_EXIT_INTERNAL, "out of memory");
        goto out;
    }
    rnn__vocab_encode(&vocab, ids, text, ntrain, NULL);
    rnn__vocab_encode(&vocab, vids, vsrc, nv, NULL);
    if (ntrain < 2) {
        rc = cli_error("train", CLI_EXIT_INPUT, "%s: only %zu characters to train on", text_path, ntrain);
        goto out;
    }

    rnn_train_options o;
    rnn_cell cell;
    size_t S = (ntrain - 1) / (size_t)f.batch;
    int64_t bpe = (int64_t)(S / (size_t)f.seq_len), total = INT64_MAX;
    if (f.max_steps)
        total = (int64_t)f.max_steps;
    if (f.epochs && (int64_t)f.epochs * bpe < total)
        total = (int64_t)f.epochs * bpe;
    if ((rc = train_flags_to_options("train", &f, total, &o, &cell)))
        goto out;
    cli_set_threads(f.threads);

    rnn_model_config mc = {.vocab_size = vocab.size, .embed_size = f.embed, .input_size = 0, .cell = cell,
                           .hidden_size = f.hidden, .num_layers = f.layers, .bidirectional = 0,
                           .dropout = (float)f.dropout, .output_size = vocab.size};
    if ((st = rnn_model_new(&m, &mc, f.seed, &e))) {
        rc = cli_fail_status("train", st, e.msg);
        goto out;
    }
    rnn_model_set_threads(m, f.threads);
    if ((st = rnn_lm_trainer_new(&t, m, &o, ids, ntrain, vids, nv, &e))) {
        rc = cli_error("train", cli_exit_code(st), "%s: %s", text_path, e.msg);
        goto out;
    }
    if (have_resume) {
        if ((st = rnn_trainer_restore(t, ckpt))) {
            rc = cli_error("train", cli_exit_code(st), "--resume: %s", rnn_trainer_errmsg(t));
            goto out;
        }
    }
    vocab_json = rnn__vocab_to_json(&vocab);
    flags_json = train_flags_json(opts, nopt);
    if (!vocab_json || !flags_json) {
        rc = cli_error("train", CLI_EXIT_INTERNAL, "out of memory");
        goto out;
    }
    static const char *const keys[] = {"rnn.task", "rnn.vocab"};
    const char *values[] = {"charlm", vocab_json};
    run.verb = "train";
    run.flags = &f;
    run.trainer = t;
    run.has_val = nv >= 2;
    run.meta_keys = keys;
    run.meta_values = values;
    run.meta_count = 2;
    run.flags_json = flags_json;
    run.best_val = 1.0 / 0.0;
    if (have_resume && (rc = train_resume_state(&run, ckpt, rnn__st_meta(&resume, "rnn.loop"))))
        goto out;
    if (!f.quiet) {
        rnn_train_stats ts;
        rnn_trainer_stats(t, &ts);
        size_t np_;
        rnn_model_params(m, &np_);
        fprintf(stderr, "%s: %zu characters, vocabulary %d; training on %zu, validating on %zu%s\n",
                text_path, n, vocab.size, ntrain, nv, f.val_file ? " (--val-file)" : "");
        fprintf(stderr, "model: %s %d x %d, embedding %d, %zu parameters; %lld steps per epoch of %d x %d%s\n",
                rnn_cell_name(cell), f.layers, f.hidden, f.embed, np_, (long long)bpe, f.batch,
                f.seq_len, have_resume ? "" : "");
        if (have_resume)
            fprintf(stderr, "resuming from %s at step %lld\n", ckpt, (long long)ts.step);
    }
    rc = train_loop(&run);
out:
    train_run_free(&run);
    rnn_trainer_free(t);
    rnn_model_free(m);
    rnn__vocab_free(&vocab);
    free(vocab_json);
    free(flags_json);
    free(ids);
    free(vids);
    rnn__free(text);
    rnn__free(vtext);
out_resume:
    if (have_resume)
        rnn__st_free(&resume);
    rnn__json_free(saved);
    return rc;
}
