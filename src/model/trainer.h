/*
 * trainer.h -- the trainer's common part and the task interface. Internal.
 *
 * A trainer = a model, an optimizer and its schedule, step/epoch counters,
 * plus a task that knows the data: how to run one batch forward and
 * backward (leaving the gradients in the model), how to evaluate, and what
 * extra state a checkpoint needs. Language models (streams, state carried)
 * are one task; window regression and sequence classification are others.
 */
#ifndef RNN_TRAINER_H
#define RNN_TRAINER_H

#include "model/model.h"

typedef struct rnn__task {
    const char *name;
    /* Called before batch 0 of every epoch (reset carried state, reshuffle). */
    void (*epoch_start)(rnn_trainer *t);
    /* One batch: batch index t->batch of epoch t->epoch. The gradients are
     * zero on entry; leave dL/dparams in the model and the mean loss in *loss. */
    rnn_status (*forward_backward)(rnn_trainer *t, double *loss);
    /* Called after the update (carry the state forward). May be NULL. */
    void (*after_step)(rnn_trainer *t);
    /* Mean validation loss. */
    rnn_status (*evaluate)(rnn_trainer *t, double *loss);
    /* Extra tensors a checkpoint must hold to resume (at most 4). */
    size_t (*save_extra)(rnn_trainer *t, rnn__st_entry *out);
    /* Restores them from a checkpoint. */
    rnn_status (*restore_extra)(rnn_trainer *t, const rnn__st *f, const char *path);
    /* A hash of the data, so that resuming on other data is refused. */
    uint64_t (*data_hash)(const rnn_trainer *t);
    void (*free)(void *task_data);
} rnn__task;

/* A model that is not an rnn_model (the Statal model, an encoder-decoder):
 * what the trainer needs of it. A trainer made by rnn__trainer_new_custom
 * has m == NULL and updates, clips, saves and restores these instead of an
 * rnn_model's; its task's forward_backward reaches the model through
 * t->data. */
typedef struct rnn__trainee {
    void *model;           /* handed back to save and load                    */
    float *params, *grads; /* flat buffers of n floats each                   */
    size_t n;
    int threads;           /* for clipping and the optimizer (results do not depend on it) */
    uint64_t *rng;         /* [4] a generator saved with the training state, or NULL */
    /* Writes the parameters, `extra` tensors and the metadata pairs to
     * path, atomically. */
    rnn_status (*save)(void *model, const char *path, const rnn__st_entry *extra, size_t nextra,
                       const char *const *keys, const char *const *values, size_t nmeta,
                       rnn_error *err);
    /* Checks that f (read from path) holds a model of this configuration
     * and copies its parameters into params_out (n floats; not the model's
     * own, which must not change before every check of the restore passed). */
    rnn_status (*load)(void *model, const rnn__st *f, const char *path, float *params_out,
                       rnn_error *err);
    /* The named views of params (offsets into it), for messages such as
     * "gradient of statal.weight_s_l0 is inf (element 3)"; may be NULL. */
    const rnn__tensor_info *tensors;
    size_t ntensors;
} rnn__trainee;

struct rnn_trainer {
    rnn_model *m; /* NULL for a custom trainee */
    rnn_train_options o;
    rnn_optim *opt;
    const rnn__task *task;
    void *data; /* the task's */
    int64_t batches_per_epoch;
    int64_t tokens_per_step; /* for statistics */
    int64_t step, epoch, batch;
    double last_loss, last_norm, last_lr;
    rnn_error err;
    rnn__trainee custom; /* when m is NULL */
};

/* Allocates a trainer with its optimizer; the task data is owned from
 * then on (freed by rnn_trainer_free, also on failure here). */
rnn_status rnn__trainer_new(rnn_trainer **out, rnn_model *m, const rnn_train_options *o,
                            const rnn__task *task, void *data, int64_t batches_per_epoch,
                            int64_t tokens_per_step, rnn_error *err);
/* The same for a model that is not an rnn_model (see rnn__trainee; the
 * trainee's buffers must outlive the trainer). */
rnn_status rnn__trainer_new_custom(rnn_trainer **out, const rnn__trainee *p,
                                   const rnn_train_options *o, const rnn__task *task, void *data,
                                   int64_t batches_per_epoch, int64_t tokens_per_step,
                                   rnn_error *err);
/* Skips the next batch: counts it as a step (counters, schedule, epoch)
 * with no update and no carried state, for `--on-nan skip` after
 * rnn_trainer_step refused a non-finite step. RNN_EINVAL (naming the first
 * bad parameter) when the parameters themselves are not finite, since
 * every later step would fail too. */
rnn_status rnn__trainer_skip(rnn_trainer *t);
/* Checks the options every task shares (lr, clipping). */
rnn_status rnn__check_options(const rnn_train_options *o, rnn_error *err);
/* The same for the tasks over whole sequences (task_seq.c, statal_model.c):
 * also a known loss and a batch in 1..4096. seq_len is not theirs: *oo is
 * a copy of *o with seq_len at least 1, for rnn__trainer_new. */
rnn_status rnn__check_seq_options(const rnn_train_options *o, rnn_loss loss, rnn_train_options *oo,
                                  rnn_error *err);
/* One time-major batch of a sequence dataset (rnn_dataset), as the
 * classification/regression task (task_seq.c) and the Statal task
 * (statal_model.c) assemble it. The pointers are the task's own buffers. */
typedef struct rnn__seq_batch {
    rnn_loss loss;
    int O, I, steps;   /* outputs; feature width; steps: targets per step */
    int32_t *tokens;   /* [T][B] token ids, or NULL: features in x */
    int32_t *cond;     /* [B] condition ids, or NULL */
    int32_t *lengths;  /* [B] */
    int32_t *labels;   /* [T][B] (steps) or [B]; for RNN_LOSS_XENT */
    float *x, *y;      /* [T][B][I]; targets [T][B][O] or [B][O] */
    const float *out;  /* the model's outputs, shaped like y */
    uint8_t *mask;     /* [T][B] valid steps */
    double *row_loss;  /* [T*B] scratch for a threaded loss, or NULL */
} rnn__seq_batch;
/* Gathers sequences idx[0..B) of ds into b; returns the batch's T (its
 * longest sequence). Padding steps: mask 0, zero inputs, label -1. */
int rnn__seq_gather(const rnn__seq_batch *b, const rnn_dataset *ds, const int32_t *idx, int B);
/* The summed loss of b->out over the valid targets and their count in
 * *count; dout (may be NULL, may alias out) receives the gradient of the
 * mean. */
double rnn__seq_loss(const rnn__seq_batch *b, float *dout, int T, int B, size_t *count,
                     int threads);
/* 64-bit FNV-1a over bytes, for data hashes. */
uint64_t rnn__fnv1a(uint64_t h, const void *data, size_t n);
/* Copies an F32 tensor of exactly n elements from a checkpoint. */
rnn_status rnn__copy_state(const rnn__st *f, const char *path, const char *name, float *dst,
                           size_t n, rnn_error *err);

#endif
