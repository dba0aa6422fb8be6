/*
 * train_common.h -- what every training verb shares: the training flags,
 * the run directory (checkpoints, log.csv, loss.svg), progress display,
 * Ctrl-C handling and the outer loop (stopping rules, evaluation cadence,
 * early stopping, best/last checkpoints).
 */
#ifndef RNN_TRAIN_COMMON_H
#define RNN_TRAIN_COMMON_H

#include "cli/cli.h"

#include <stdint.h>
#include <stdio.h>

typedef struct train_flags {
    const char *cell, *nonlinearity, *optimizer, *schedule, *val_file, *out;
    const char *on_nan;     /* "stop" (default) or "skip" (docs/reliability.md) */
    const char *max_memory; /* "2G", "512M", ...; NULL = the machine's memory */
    int hidden, layers, embed, seq_len, batch, epochs, eval_every, patience, threads,
        warmup, lr_decay_every, resume, quiet;
    uint64_t max_steps;
    double dropout, lr, clip, clip_value, momentum, weight_decay, max_time, val_frac,
        lr_decay, lr_min;
    uint64_t seed;
} train_flags;

/* Defaults (char-rnn's model, Adam). */
void train_flags_defaults(train_flags *f);
/* Appends the training options to opts (which has room for at least
 * TRAIN_FLAG_COUNT more) and returns the new count; opts[n..new) are the
 * training flags (train_flags_json and _apply_json take that range). */
#define TRAIN_FLAG_COUNT 34
int train_flags_add(train_flags *f, cli_opt *opts, int n);
/* Usage text of the training flags. */
extern const char train_flags_usage[];
/* Translates the flags into library options; returns an exit code on a
 * bad combination (message printed). */
int train_flags_to_options(const char *verb, const train_flags *f, int64_t total_steps,
                           rnn_train_options *o, rnn_cell *cell);
/* The flags as JSON (stored in checkpoints so that --resume can continue
 * with the same settings), and back: values from the JSON are applied to
 * every flag NOT given on the command line (seen == 0 in opts). */
char *train_flags_json(const cli_opt *opts, int count);
struct rnn__json;
/* `flags` is the parsed object; string values point into it, so it must
 * outlive the run. */
int train_flags_apply(const char *verb, cli_opt *opts, int count, const struct rnn__json *flags,
                      const char *path);
struct rnn__st;
/* --resume: reads the checkpoint ckpt (DIR/last.safetensors) into *st, checks
 * that its rnn.task is one of `tasks` (NULL-terminated; otherwise "was not
 * written by '<writer>'"), parses its saved training state into *saved and
 * applies the saved flags (train_flags_apply). Sets *have once *st holds a
 * file. Returns 0 or an exit status (message printed); either way the
 * caller frees *st (if *have) and *saved. */
int train_resume_read(const char *verb, const char *ckpt, const char *const *tasks,
                      const char *writer, cli_opt *opts, int nopt, struct rnn__st *st, int *have,
                      struct rnn__json **saved);

/* Refuses, before anything is allocated, a model that would need more
 * memory than --max-memory (default: the machine's physical memory) to
 * train on batches of o->batch sequences of T steps: prints one line with
 * the estimate (rnn_model_memory) and returns exit status 2; 0 if it fits.
 * Every training verb calls it between train_flags_to_options and
 * rnn_model_new. */
int train_check_memory(const char *verb, const train_flags *f, const rnn_model_config *mc,
                       const rnn_train_options *o, int T);
/* The same rule for any estimate (models that are not an rnn_model): `what`
 * completes "the model needs about X to train on ..." ("batches of 50 x 64"). */
int train_check_estimate(const char *verb, const train_flags *f, const rnn_memory_estimate *est,
                         const char *what);
/* Parses a size such as "512M", "2G", "1.5T" or "300000000" (bytes;
 * K/M/G/T are powers of 1024); 0 on success, -1 if malformed. */
int train_parse_size(const char *s, double *bytes);

/* Sets the BLAS thread count (the only knob the CLI turns globally). */
void cli_set_threads(int threads);
/* The number of online CPUs (1..64). */
int cli_default_threads(void);

/* ---- the outer training loop ------------------------------------------ */

typedef struct train_log_row {
    int64_t step;
    double epoch, train_loss, val_loss, lr, tokens_per_s, elapsed;
} train_log_row;

typedef struct train_run {
    const char *verb;
    const train_flags *flags;
    rnn_trainer *trainer;
    int has_val;
    /* metadata pairs written into every checkpoint (vocabulary, task...) */
    const char *const *meta_keys;
    const char *const *meta_values;
    size_t meta_count;
    const char *flags_json;
    /* the loss, for the summary and loss.svg: NULL = cross-entropy (nats per
     * token, also shown in bits); otherwise its name, e.g. "MSE" */
    const char *loss_name;

    /* state, restored on --resume */
    double best_val;
    int64_t best_step;
    int evals_since_best;
    double elapsed_before; /* seconds of earlier sessions */
    train_log_row *rows;
    size_t nrows, caprows;
    int64_t failed_saves; /* checkpoints or logs that could not be written */
} train_run;

/* Creates the output directory (and checks it is writable). */
int train_prepare_out(const char *verb, const char *dir);
/* Restores the loop state (best, patience, elapsed, log rows) saved in a
 * checkpoint by train_loop. */
int train_resume_state(train_run *r, const char *ckpt_path, const char *meta_json);
/* Runs until a stopping rule fires; saves last (and best) checkpoints,
 * log.csv and loss.svg in flags->out. Returns the exit code. */
int train_loop(train_run *r);
void train_run_free(train_run *r);

#endif
