/*
 * test_faults.c -- suite "faults": what happens when things go wrong.
 *
 * In the unit-test binary: a non-finite step is refused and names the loss
 * or the first tensor whose gradient is not finite; rnn__trainer_skip (for
 * --on-nan skip) moves past a batch without touching the weights; a
 * checkpoint save that fails (file-size limit, missing directory) leaves the
 * previous checkpoint byte for byte; rnn_model_memory counts the parameters
 * the model really has and refuses absurd sizes.
 *
 * In build/tests/faults (the library with mem.c compiled
 * -DRNN_FAULT_INJECTION): every allocation of a small model's create /
 * train-step / evaluate / save / load / resume path, of a feature model's
 * (convolution, condition, bidirectional GRU, attention) and of the file
 * readers is made to fail in turn; each time the call returns a clean error
 * (RNN_ENOMEM, one line that says "out of memory") or succeeds without the
 * allocation, nothing leaks, the handles stay usable (the call succeeds when
 * retried) and the final results are the same as those of a run with no
 * failure. rnn_model_memory is held against the bytes really allocated.
 */
#include "test.h"

#include "io/io.h"
#include "io/text.h"
#include "model/trainer.h"

#include <math.h>
#include <dirent.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>


#ifdef RNN_FAULT_INJECTION
#include "core/fault.h"
#endif

/* ---- shared helpers ------------------------------------------------------ */

/* A whole file (malloc'ed, plain stdio: the test's own reads must not
 * count as library allocations), or NULL. */
static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, len = 0;
    unsigned char *d = malloc(cap);
    while (d) {
        len += fread(d + len, 1, cap - len, f);
        if (len < cap)
            break;
        unsigned char *nd = realloc(d, cap * 2);
        if (!nd)
            free(d);
        d = nd;
        cap *= 2;
    }
    fclose(f);
    *n = len;
    return d;
}

static int same_file(const char *path, const unsigned char *data, size_t n)
{
    size_t m;
    unsigned char *d = slurp(path, &m);
    int same = d && m == n && memcmp(d, data, n) == 0;
    free(d);
    return same;
}

static int count_temps(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += strstr(e->d_name, ".tmp.") != NULL;
    if (d)
        closedir(d);
    return n;
}

/* A repetitive token stream over V symbols. */
static void make_ids(int32_t *ids, size_t n, int V)
{
    for (size_t i = 0; i < n; i++)
        ids[i] = (int32_t)((i * 7 + i / 5) % (size_t)V);
}

#ifndef RNN_FAULT_INJECTION

/* ---- non-finite steps ---------------------------------------------------- */

enum { V = 12, NTRAIN = 400, NVAL = 60 };
static int32_t ids[NTRAIN + NVAL];

static rnn_trainer *lm_trainer(rnn_model **m, double lr, double clip)
{
    rnn_model_config c = {.vocab_size = V, .embed_size = 4, .cell = RNN_CELL_LSTM,
                          .hidden_size = 6, .num_layers = 2, .output_size = V};
    rnn_train_options o = {.seq_len = 8, .batch = 3, .lr = lr, .clip_norm = clip, .seed = 5};
    rnn_optim_defaults(&o.optim, RNN_OPT_ADAM);
    rnn_error e;
    rnn_trainer *t = NULL;
    make_ids(ids, NTRAIN + NVAL, V);
    if (rnn_model_new(m, &c, 3, &e) != RNN_OK) {
        t_fail_at(__FILE__, __LINE__, "rnn_model_new: %s", e.msg);
        return NULL;
    }
    if (rnn_lm_trainer_new(&t, *m, &o, ids, NTRAIN, ids + NTRAIN, NVAL, &e) != RNN_OK) {
        t_fail_at(__FILE__, __LINE__, "rnn_lm_trainer_new: %s", e.msg);
        rnn_model_free(*m);
        return NULL;
    }
    return t;
}

static float *copy_params(rnn_model *m, size_t *n)
{
    const float *p = rnn_model_params(m, n);
    float *c = malloc(*n * sizeof *c);
    if (c)
        memcpy(c, p, *n * sizeof *c);
    return c;
}

/* A NaN weight makes the loss NaN: refused, named, nothing applied. */
static void test_nonfinite_loss(void)
{
    rnn_model *m;
    rnn_trainer *t = lm_trainer(&m, 1e-2, 5);
    if (!t)
        return;
    rnn_train_stats s;
    CHECK_OK(rnn_trainer_step(t, &s));
    rnn_tensor emb;
    CHECK_OK(rnn_model_find(m, "embed.weight", &emb));
    for (size_t i = 0; i < emb.numel; i++)
        emb.data[i] = NAN;
    size_t n;
    float *before = copy_params(m, &n);
    CHECK(rnn_trainer_step(t, &s) == RNN_EINVAL);
    const char *msg = rnn_trainer_errmsg(t);
    CHECK_MSG(strcmp(msg, "step 2: loss is nan; the update was not applied") == 0, "message: %s",
              msg);
    const float *p = rnn_model_params(m, NULL);
    CHECK(before && memcmp(before, p, n * sizeof *p) == 0);
    rnn_trainer_stats(t, &s);
    CHECK_MSG(s.step == 1, "step counter %lld after a refused step", (long long)s.step);
    free(before);
    /* a checkpoint of these weights is refused too */
    char path[512];
    snprintf(path, sizeof path, "%s/nan.safetensors", t_tmpdir());
    CHECK(rnn_trainer_save(t, path, NULL, NULL, 0) == RNN_EINVAL);
    CHECK_MSG(strstr(rnn_trainer_errmsg(t), "NaN or Inf") != NULL, "%s", rnn_trainer_errmsg(t));
    FILE *f = fopen(path, "rb");
    CHECK(f == NULL);
    if (f)
        fclose(f);
    rnn_trainer_free(t);
    rnn_model_free(m);
}

/* A regression target of 3e38 (a float, barely): the squared error is a
 * finite double (9e76), but its gradient 2*(out - y) overflows float to
 * -inf. The message names the first tensor, in state_dict order, whose
 * gradient holds an inf or NaN, which the test finds independently. */
static void test_nonfinite_gradient_named(void)
{
    enum { N = 6, T = 4, I = 2 };
    float x[N * T * I], y[N];
    for (int i = 0; i < N * T * I; i++)
        x[i] = (float)(i % 5) / 5 - 0.4f;
    for (int i = 0; i < N; i++)
        y[i] = i == 3 ? 3e38f : (float)i;
    rnn_model_config c = {.input_size = I, .cell = RNN_CELL_GRU, .hidden_size = 5, .num_layers = 1,
                          .output_size = 1, .readout = RNN_READOUT_MEAN};
    rnn_train_options o = {.batch = N, .lr = 1e-2, .seed = 5};
    rnn_optim_defaults(&o.optim, RNN_OPT_SGD);
    rnn_dataset d = {.n = N, .T = T, .x = x, .y = y};
    rnn_model *m;
    rnn_trainer *t = NULL;
    rnn_error e;
    CHECK_OK(rnn_model_new(&m, &c, 2, &e));
    CHECK_OK(rnn_seq_trainer_new(&t, m, &o, RNN_LOSS_MSE, &d, NULL, &e));
    if (!t)
        return;
    size_t n;
    float *before = copy_params(m, &n);
    rnn_train_stats s;
    CHECK(rnn_trainer_step(t, &s) == RNN_EINVAL);
    const char *msg = rnn_trainer_errmsg(t);
    CHECK_MSG(strstr(msg, "loss") == NULL, "the loss should be finite here: %s", msg);
    /* the first tensor with a non-finite gradient element */
    const char *first = NULL;
    size_t first_el = 0;
    for (size_t k = 0; k < rnn_model_num_tensors(m) && !first; k++) {
        rnn_tensor ti;
        CHECK_OK(rnn_model_tensor(m, k, &ti));
        for (size_t i = 0; i < ti.numel && !first; i++)
            if (!isfinite(ti.grad[i])) {
                first = ti.name;
                first_el = i;
            }
    }
    CHECK_MSG(first != NULL, "no gradient element is non-finite; message: %s", msg);
    if (first) {
        char want[160];
        snprintf(want, sizeof want, "step 1: gradient of %s is ", first);
        CHECK_MSG(strncmp(msg, want, strlen(want)) == 0, "message '%s', expected it to start '%s'",
                  msg, want);
        snprintf(want, sizeof want, "(element %zu); the update was not applied", first_el);
        CHECK_MSG(strstr(msg, want) != NULL, "message '%s' lacks '%s'", msg, want);
    }
    CHECK(before && memcmp(before, rnn_model_params(m, NULL), n * sizeof(float)) == 0);
    free(before);
    rnn_trainer_free(t);
    rnn_model_free(m);
}

/* --on-nan skip: the batch counts as a step, the weights do not move, and
 * training continues from the next batch exactly as a run that skipped it
 * would; with non-finite weights, skipping is refused. */
static void test_skip(void)
{
    rnn_model *m;
    rnn_trainer *t = lm_trainer(&m, 1e-2, 5);
    if (!t)
        return;
    rnn_train_stats s;
    CHECK_OK(rnn_trainer_step(t, &s));
    size_t n;
    float *before = copy_params(m, &n);
    CHECK_OK(rnn__trainer_skip(t));
    rnn_trainer_stats(t, &s);
    CHECK(s.step == 2 && s.batch_in_epoch == 2);
    CHECK(before && memcmp(before, rnn_model_params(m, NULL), n * sizeof(float)) == 0);
    /* skipping to the end of the epoch and past it starts the next epoch */
    int64_t bpe = s.batches_per_epoch;
    while (s.batch_in_epoch < bpe) {
        CHECK_OK(rnn__trainer_skip(t));
        rnn_trainer_stats(t, &s);
    }
    CHECK_OK(rnn_trainer_step(t, &s));
    CHECK_MSG(s.epoch == 1 && s.batch_in_epoch == 1 && s.step == bpe + 1,
              "epoch %lld batch %lld step %lld", (long long)s.epoch, (long long)s.batch_in_epoch,
              (long long)s.step);
    CHECK(isfinite(s.loss));
    /* non-finite weights: no step can succeed, so skipping is refused */
    rnn_tensor hb;
    CHECK_OK(rnn_model_find(m, "head.bias", &hb));
    hb.data[3] = INFINITY;
    CHECK(rnn__trainer_skip(t) == RNN_EINVAL);
    CHECK_MSG(strstr(rnn_trainer_errmsg(t), "head.bias is inf (element 3)") != NULL, "%s",
              rnn_trainer_errmsg(t));
    free(before);
    rnn_trainer_free(t);
    rnn_model_free(m);
}

/* ---- failed saves -------------------------------------------------------- */

/* A checkpoint that cannot be written (file-size limit: what a full disk
 * does to write(); a directory that does not exist) leaves the previous
 * one byte for byte and no temporary file, and says why with the path. */
static void test_failed_save_keeps_checkpoint(void)
{
    rnn_model *m;
    rnn_trainer *t = lm_trainer(&m, 1e-2, 5);
    if (!t)
        return;
    char path[512];
    snprintf(path, sizeof path, "%s/keep.safetensors", t_tmpdir());
    rnn_train_stats s;
    CHECK_OK(rnn_trainer_step(t, &s));
    CHECK_OK(rnn_trainer_save(t, path, NULL, NULL, 0));
    size_t n;
    unsigned char *good = slurp(path, &n);
    CHECK(good != NULL && n > 1024);
    CHECK_OK(rnn_trainer_step(t, &s));

    struct rlimit old, lim;
    CHECK(getrlimit(RLIMIT_FSIZE, &old) == 0);
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    lim = old;
    lim.rlim_cur = 1024;
    CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
    rnn_status st = rnn_trainer_save(t, path, NULL, NULL, 0);
    CHECK(setrlimit(RLIMIT_FSIZE, &old) == 0);
    signal(SIGXFSZ, prev);
    CHECK(st == RNN_EIO);
    const char *msg = rnn_trainer_errmsg(t);
    CHECK_MSG(strncmp(msg, path, strlen(path)) == 0 && strstr(msg, "File too large"), "%s", msg);
    CHECK(good && same_file(path, good, n));
    CHECK(count_temps(t_tmpdir()) == 0);

    CHECK(rnn_trainer_save(t, "/nonexistent-rnn-dir/last.safetensors", NULL, NULL, 0) == RNN_EIO);
    CHECK_MSG(strstr(rnn_trainer_errmsg(t), "/nonexistent-rnn-dir") != NULL, "%s",
              rnn_trainer_errmsg(t));
    /* and the trainer is fine: the next save works */
    CHECK_OK(rnn_trainer_save(t, path, NULL, NULL, 0));
    CHECK(good && !same_file(path, good, n));
    free(good);
    rnn_trainer_free(t);
    rnn_model_free(m);
}

/* ---- memory estimates ---------------------------------------------------- */

/* The estimate's parameter count is the model's, for every kind of model. */
static void test_memory_counts_params(void)
{
    const rnn_model_config cs[] = {
        {.vocab_size = 97, .embed_size = 64, .cell = RNN_CELL_LSTM, .hidden_size = 128,
         .num_layers = 2, .output_size = 97},
        {.input_size = 3, .cell = RNN_CELL_GRU, .hidden_size = 7, .num_layers = 3,
         .bidirectional = 1, .dropout = 0.2f, .output_size = 2, .readout = RNN_READOUT_ATTENTION,
         .conv_filters = 5, .conv_kernel = 3, .conv_dilation = 2, .cond_classes = 4,
         .cond_size = 3},
        {.vocab_size = 20, .embed_size = 5, .cell = RNN_CELL_RNN_RELU, .hidden_size = 9,
         .num_layers = 1, .output_size = 3, .readout = RNN_READOUT_MAX},
        {.input_size = 1, .cell = RNN_CELL_RNN_TANH, .hidden_size = 4, .num_layers = 2,
         .bidirectional = 1, .output_size = 1, .readout = RNN_READOUT_LAST},
    };
    for (size_t k = 0; k < sizeof cs / sizeof cs[0]; k++) {
        rnn_model *m;
        rnn_error e;
        CHECK_OK(rnn_model_new(&m, &cs[k], 1, &e));
        size_t n;
        rnn_model_params(m, &n);
        rnn_memory_estimate est;
        rnn_optim_config oc;
        rnn_optim_defaults(&oc, RNN_OPT_ADAM);
        CHECK_OK(rnn_model_memory(&cs[k], &oc, 10, 4, &est, &e));
        CHECK_MSG(est.num_params == n, "config %zu: estimate %zu parameters, model %zu", k,
                  est.num_params, n);
        CHECK(est.params == n * 4 && est.grads == n * 4 && est.optimizer == 2 * n * 4);
        CHECK(est.total == est.params + est.grads + est.optimizer + est.workspace);
        /* plain SGD has no state; RMSprop with momentum two slots */
        rnn_optim_defaults(&oc, RNN_OPT_SGD);
        CHECK_OK(rnn_model_memory(&cs[k], &oc, 10, 4, &est, &e));
        CHECK(est.optimizer == 0);
        rnn_optim_defaults(&oc, RNN_OPT_RMSPROP);
        oc.momentum = 0.9;
        CHECK_OK(rnn_model_memory(&cs[k], &oc, 10, 4, &est, &e));
        CHECK(est.optimizer == 2 * n * 4);
        rnn_model_free(m);
    }
}

/* Sizes that cannot be allocated are refused with a reason, and huge but
 * representable ones are reported as huge (not wrapped to something small). */
static void test_memory_absurd_sizes(void)
{
    rnn_model_config c = {.vocab_size = 1 << 24, .embed_size = 1 << 20, .cell = RNN_CELL_LSTM,
                          .hidden_size = 1 << 20, .num_layers = 1000, .output_size = 1 << 24};
    rnn_memory_estimate est;
    rnn_error e;
    rnn_status st = rnn_model_memory(&c, NULL, 1 << 20, 1 << 20, &est, &e);
    CHECK_MSG(st == RNN_EOVERFLOW && strstr(e.msg, "T*B"), "status %d: %s", (int)st, e.msg);
    st = rnn_model_memory(&c, NULL, 50, 50, &est, &e);
    /* 4 gates x 2^20 x (2^20 + 2^20 + 2) x 1000 layers alone is 3.5e16 bytes */
    CHECK_MSG(st == RNN_OK && est.total > 3.5e16, "status %d, total %g: %s", (int)st,
              (double)est.total, e.msg);
    c.hidden_size = 0;
    CHECK(rnn_model_memory(&c, NULL, 50, 50, &est, &e) == RNN_EINVAL);
    CHECK_MSG(strstr(e.msg, "hidden_size") != NULL, "%s", e.msg);
    c.hidden_size = 8;
    CHECK(rnn_model_memory(&c, NULL, 0, 5, &est, &e) == RNN_EINVAL);
}

void suite_faults(void);
void suite_faults(void)
{
    RUN(test_nonfinite_loss);
    RUN(test_nonfinite_gradient_named);
    RUN(test_skip);
    RUN(test_failed_save_keeps_checkpoint);
    RUN(test_memory_counts_params);
    RUN(test_memory_absurd_sizes);
}

#else /* RNN_FAULT_INJECTION: build/tests/faults */

/* ---- allocation failures -------------------------------------------------- */

/* A scenario is a list of calls (stages) over a context. Each stage returns
 * its status and leaves its message in ctx->msg. */
typedef struct ctx ctx;
typedef rnn_status (*stage_fn)(ctx *c);

enum { LV = 9, LN = 300, LNV = 40 };

struct ctx {
    char msg[512];
    const char *failed; /* the stage an injected failure hit, or NULL */
    const char *dir;
    char ckpt[512], model_out[512];
    /* language model */
    int32_t ids[LN + LNV];
    rnn_model *m, *loaded;
    rnn_trainer *t;
    double loss, val;
    /* feature model */
    float x[6 * 5 * 3], y[6 * 2];
    int32_t lengths[6], cond[6];
    float pred[6 * 2];
    /* files */
    rnn__st st;
    rnn__npy npy;
    rnn__json *json;
    uint32_t *cps;
    size_t ncps;
    rnn__vocab vocab;
    rnn_stack *stack;
    /* what the checkpoint path held before the stage that writes it */
    unsigned char *old;
    size_t nold;
};

static rnn_status from_err(ctx *c, rnn_status st, const rnn_error *e)
{
    if (st)
        snprintf(c->msg, sizeof c->msg, "%s", e->msg);
    return st;
}

static rnn_status from_trainer(ctx *c, rnn_status st)
{
    if (st)
        snprintf(c->msg, sizeof c->msg, "%s", rnn_trainer_errmsg(c->t));
    return st;
}

/* -- the language model: create, train, evaluate, save, load, resume -- */

static rnn_status lm_create(ctx *c)
{
    rnn_model_config mc = {.vocab_size = LV, .embed_size = 4, .cell = RNN_CELL_LSTM,
                           .hidden_size = 5, .num_layers = 2, .dropout = 0.25f, .output_size = LV};
    rnn_error e;
    return from_err(c, rnn_model_new(&c->m, &mc, 11, &e), &e);
}

static rnn_status lm_trainer_new(ctx *c)
{
    rnn_train_options o = {.seq_len = 7, .batch = 4, .lr = 3e-3, .clip_norm = 1, .seed = 2};
    rnn_optim_defaults(&o.optim, RNN_OPT_ADAM);
    rnn_error e;
    return from_err(c, rnn_lm_trainer_new(&c->t, c->m, &o, c->ids, LN, c->ids + LN, LNV, &e), &e);
}

static rnn_status lm_step(ctx *c)
{
    rnn_train_stats s;
    rnn_status st = from_trainer(c, rnn_trainer_step(c->t, &s));
    if (!st)
        c->loss = s.loss;
    return st;
}

static rnn_status lm_eval(ctx *c) { return from_trainer(c, rnn_trainer_evaluate(c->t, &c->val)); }

static rnn_status lm_save(ctx *c)
{
    static const char *const k[] = {"rnn.task"};
    static const char *const v[] = {"charlm"};
    return from_trainer(c, rnn_trainer_save(c->t, c->ckpt, k, v, 1));
}

static rnn_status lm_load(ctx *c)
{
    rnn_error e;
    return from_err(c, rnn_model_load(&c->loaded, c->ckpt, &e), &e);
}

static rnn_status lm_restore(ctx *c) { return from_trainer(c, rnn_trainer_restore(c->t, c->ckpt)); }

static rnn_status lm_model_save(ctx *c)
{
    rnn_status st = rnn_model_save(c->m, c->model_out, NULL, NULL, 0);
    if (st)
        snprintf(c->msg, sizeof c->msg, "%s", rnn_model_errmsg(c->m));
    return st;
}

static rnn_status lm_evaluate_loaded(ctx *c)
{
    rnn_error e;
    size_t used;
    return from_err(c, rnn_lm_evaluate(c->loaded, c->ids, LN, 9, 3, &c->val, &used, &e), &e);
}

static void lm_cleanup(ctx *c)
{
    rnn_trainer_free(c->t);
    rnn_model_free(c->m);
    rnn_model_free(c->loaded);
    c->t = NULL;
    c->m = c->loaded = NULL;
}

/* -- a feature model with every optional part -- */

static rnn_status feat_create(ctx *c)
{
    rnn_model_config mc = {.input_size = 3, .cell = RNN_CELL_GRU, .hidden_size = 4,
                           .num_layers = 2, .bidirectional = 1, .dropout = 0.1f,
                           .output_size = 2, .readout = RNN_READOUT_ATTENTION,
                           .conv_filters = 3, .conv_kernel = 2, .conv_dilation = 1,
                           .cond_classes = 2, .cond_size = 2};
    rnn_error e;
    return from_err(c, rnn_model_new(&c->m, &mc, 5, &e), &e);
}

static rnn_dataset feat_data(ctx *c)
{
    rnn_dataset d = {.n = 6, .T = 5, .lengths = c->lengths, .x = c->x, .cond = c->cond, .y = c->y};
    return d;
}

static rnn_status feat_trainer_new(ctx *c)
{
    rnn_train_options o = {.batch = 4, .lr = 1e-2, .clip_norm = 1, .seed = 3};
    rnn_optim_defaults(&o.optim, RNN_OPT_RMSPROP);
    o.optim.momentum = 0.5;
    rnn_dataset d = feat_data(c);
    rnn_error e;
    return from_err(c, rnn_seq_trainer_new(&c->t, c->m, &o, RNN_LOSS_HUBER, &d, &d, &e), &e);
}

static rnn_status feat_predict(ctx *c)
{
    rnn_dataset d = feat_data(c);
    rnn_error e;
    return from_err(c, rnn_model_predict(c->loaded, c->pred, &d, 4, &e), &e);
}

/* -- file readers -- */

static rnn_status io_st(ctx *c)
{
    rnn_error e;
    return from_err(c, rnn__st_read(&c->st, t_fixture("lstm_L2_bi_var.safetensors"), &e), &e);
}

static rnn_status io_npy(ctx *c)
{
    rnn_error e;
    return from_err(c, rnn__npy_read(&c->npy, t_fixture("run_lstm_bi_var/x.npy"), &e), &e);
}

static rnn_status io_json(ctx *c)
{
    const char *meta = rnn__st_meta(&c->st, "format");
    static const char doc[] = "{\"a\": [1, 2.5, \"x\\u00e9\", {\"b\": null, \"c\": [true]}]}";
    rnn_error e;
    (void)meta;
    return from_err(c, rnn__json_parse(&c->json, doc, sizeof doc - 1, &e), &e);
}

static rnn_status io_text(ctx *c)
{
    static const char text[] = "na\xc3\xafve caf\xc3\xa9, the rain in spain\n";
    rnn_error e;
    return from_err(c, rnn__utf8_decode(&c->cps, &c->ncps, (const unsigned char *)text,
                                        sizeof text - 1, "text", &e), &e);
}

static rnn_status io_vocab(ctx *c)
{
    rnn_error e;
    rnn__vocab_free(&c->vocab); /* a retry after a later part failed */
    rnn_status st = rnn__vocab_build(&c->vocab, c->cps, c->ncps, NULL, 0, &e);
    if (!st) {
        char *json = rnn__vocab_to_json(&c->vocab);
        rnn__vocab back;
        if (!json)
            return from_err(c, rnn__fail(&e, RNN_ENOMEM, "out of memory"), &e);
        st = rnn__vocab_from_json(&back, json, &e);
        rnn__free(json);
        if (!st)
            rnn__vocab_free(&back);
    }
    return from_err(c, st, &e);
}

static rnn_status io_stack_load(ctx *c)
{
    rnn_error e;
    return from_err(c, rnn_stack_load(&c->stack, t_fixture("run_lstm_bi_var/w.safetensors"), "rnn.",
                                      RNN_CELL_RNN_TANH, &e), &e);
}

static rnn_status io_stack_run(ctx *c)
{
    float x[4 * 2 * 8], y[4 * 2 * 32], dy[4 * 2 * 32];
    const rnn_stack_config *sc = rnn_stack_get_config(c->stack);
    if (sc->input_size * 4 * 2 > (int)(sizeof x / sizeof x[0]) ||
        sc->hidden_size * (sc->bidirectional + 1) * 8 > (int)(sizeof y / sizeof y[0]))
        return RNN_EINTERNAL;
    for (size_t i = 0; i < sizeof x / sizeof x[0]; i++)
        x[i] = (float)((int)(i % 7) - 3) / 4;
    for (size_t i = 0; i < sizeof dy / sizeof dy[0]; i++)
        dy[i] = (float)((int)(i % 5) - 2) / 8;
    rnn_status st = rnn_stack_forward(c->stack, y, NULL, NULL, x, NULL, NULL, NULL, 4, 2, 1);
    if (!st)
        st = rnn_stack_backward(c->stack, NULL, NULL, NULL, dy, NULL, NULL);
    if (!st)
        st = rnn_stack_save(c->stack, c->model_out, "rnn.");
    if (st)
        snprintf(c->msg, sizeof c->msg, "%s", rnn_stack_errmsg(c->stack));
    return st;
}

static void io_cleanup(ctx *c)
{
    rnn__st_free(&c->st);
    rnn__npy_free(&c->npy);
    rnn__json_free(c->json);
    c->json = NULL;
    rnn__free(c->cps);
    c->cps = NULL;
    rnn__vocab_free(&c->vocab);
    rnn_stack_free(c->stack);
    c->stack = NULL;
}

typedef struct scenario {
    const char *name;
    const stage_fn *stages;
    const char *const *names;
    size_t count;
    void (*cleanup)(ctx *c);
} scenario;

/* What a scenario produces, to compare with the run that had no failure. */
typedef struct outcome {
    unsigned char *ckpt, *model;
    size_t nckpt, nmodel;
    double loss, val;
    float pred[6 * 2];
} outcome;

static void outcome_free(outcome *o)
{
    free(o->ckpt);
    free(o->model);
    memset(o, 0, sizeof *o);
}

static void take_outcome(ctx *c, outcome *o)
{
    memset(o, 0, sizeof *o);
    o->ckpt = slurp(c->ckpt, &o->nckpt);
    o->model = slurp(c->model_out, &o->nmodel);
    o->loss = c->loss;
    o->val = c->val;
    memcpy(o->pred, c->pred, sizeof o->pred);
}

static int same_outcome(const outcome *a, const outcome *b)
{
    return a->nckpt == b->nckpt && (a->nckpt == 0 || memcmp(a->ckpt, b->ckpt, a->nckpt) == 0) &&
           a->nmodel == b->nmodel && (a->nmodel == 0 || memcmp(a->model, b->model, a->nmodel) == 0) &&
           a->loss == b->loss && a->val == b->val && memcmp(a->pred, b->pred, sizeof a->pred) == 0;
}

/* Writes "old" content where the scenario will save, so that a failed save
 * can be seen to leave it alone. */
static void reset_files(ctx *c)
{
    rnn_error e;
    static const char old[] = "the previous checkpoint";
    rnn__write_file_atomic(c->ckpt, old, sizeof old - 1, &e);
    rnn__write_file_atomic(c->model_out, old, sizeof old - 1, &e);
}

/* Runs the stages; when one fails (only an injected failure may make it
 * fail), checks the failure is clean, disarms and retries it. Returns the
 * number of injected failures seen (0 or 1). */
static int run_scenario(const scenario *s, ctx *c, long fail_at, outcome *out, long *seen)
{
    int failures = 0;
    c->failed = NULL;
    reset_files(c);
    c->loss = c->val = 0;
    memset(c->pred, 0, sizeof c->pred);
    rnn__fault_arm(fail_at);
    for (size_t k = 0; k < s->count; k++) {
        c->msg[0] = '\0';
        size_t nbefore_ck, nbefore_mo;
        unsigned char *ck = slurp(c->ckpt, &nbefore_ck), *mo = slurp(c->model_out, &nbefore_mo);
        rnn_status st = s->stages[k](c);
        if (st != RNN_OK) {
            failures++;
            c->failed = s->names[k];
            long hits = rnn__fault_hits();
            CHECK_MSG(hits == 1 && st == RNN_ENOMEM,
                      "%s: allocation %ld: %s returned %s (%d injected failures): %s", s->name,
                      fail_at, s->names[k], rnn_status_name(st), (int)hits, c->msg);
            CHECK_MSG(strstr(c->msg, "out of memory") != NULL && !strchr(c->msg, '\n'),
                      "%s: allocation %ld: %s: message '%s'", s->name, fail_at, s->names[k],
                      c->msg);
            /* nothing the failed call was writing replaced the old file */
            CHECK_MSG(ck && same_file(c->ckpt, ck, nbefore_ck) && mo &&
                          same_file(c->model_out, mo, nbefore_mo),
                      "%s: allocation %ld: failed %s changed an output file", s->name, fail_at,
                      s->names[k]);
            rnn__fault_arm(0);
            st = s->stages[k](c);
            CHECK_MSG(st == RNN_OK, "%s: allocation %ld: %s failed again when retried: %s",
                      s->name, fail_at, s->names[k], c->msg);
        }
        free(ck);
        free(mo);
        if (st != RNN_OK)
            break;
    }
    if (seen)
        *seen = rnn__fault_seen();
    rnn__fault_arm(0);
    if (out)
        take_outcome(c, out);
    s->cleanup(c);
    CHECK_MSG(count_temps(c->dir) == 0, "%s: allocation %ld: temporary files left behind",
              s->name, fail_at);
    return failures;
}

/* Every save fsyncs its file and directory; a sweep saves thousands of
 * times. On a tmpfs (/dev/shm) that costs nothing; elsewhere the test's
 * own temporary directory does the same, slower. */
static const char *scratch_dir(void)
{
    static char dir[64];
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/dev/shm/rnn-faults-XXXXXX");
        if (!mkdtemp(dir))
            snprintf(dir, sizeof dir, "%s", t_tmpdir());
    }
    return dir;
}

static void remove_scratch(void)
{
    const char *d = scratch_dir();
    if (strcmp(d, t_tmpdir()) != 0) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", d);
        CHECK(system(cmd) == 0);
    }
}

static void sweep(const scenario *s)
{
    static ctx c; /* large; one at a time */
    memset(&c, 0, sizeof c);
    c.dir = scratch_dir();
    snprintf(c.ckpt, sizeof c.ckpt, "%s/%s.safetensors", c.dir, s->name);
    snprintf(c.model_out, sizeof c.model_out, "%s/%s_model.safetensors", c.dir, s->name);
    make_ids(c.ids, LN + LNV, LV);
    for (int i = 0; i < 6; i++) {
        c.lengths[i] = 5 - i % 3;
        c.cond[i] = i % 2;
        c.y[2 * i] = (float)i / 6;
        c.y[2 * i + 1] = (float)(i % 3) - 1;
    }
    for (size_t i = 0; i < sizeof c.x / sizeof c.x[0]; i++)
        c.x[i] = (float)((int)(i * 5 % 11) - 5) / 5;

    long live0 = rnn__fault_live();
    outcome ref;
    long total = 0;
    run_scenario(s, &c, 0, &ref, &total);
    CHECK_MSG(rnn__fault_live() == live0, "%s: %ld blocks leaked without any failure", s->name,
              rnn__fault_live() - live0);
    CHECK_MSG(total > 20, "%s: only %ld allocations", s->name, total);
    int failing = 0;
    for (long n = 1; n <= total; n++) {
        outcome o;
        failing += run_scenario(s, &c, n, &o, NULL);
        CHECK_MSG(rnn__fault_live() == live0,
                  "%s: failing allocation %ld of %ld (in %s) leaked %ld blocks", s->name, n, total,
                  c.failed ? c.failed : "no call", rnn__fault_live() - live0);
        live0 = rnn__fault_live(); /* one report per leak */
        CHECK_MSG(same_outcome(&o, &ref),
                  "%s: failing allocation %ld of %ld changed the results (loss %.9g vs %.9g, "
                  "checkpoint %zu vs %zu bytes)", s->name, n, total, o.loss, ref.loss, o.nckpt,
                  ref.nckpt);
        outcome_free(&o);
    }
    /* most allocations are necessary: their failure is reported */
    CHECK_MSG(failing >= total * 9 / 10, "%s: only %d of %ld failed allocations were reported",
              s->name, failing, total);
    if (getenv("RNN_TEST_VERBOSE"))
        printf("     %s: %ld allocations, %d failures reported\n", s->name, total, failing);
    outcome_free(&ref);
}

static void test_alloc_lm(void)
{
    static const stage_fn st[] = {lm_create, lm_trainer_new, lm_step,    lm_step,
                                  lm_eval,   lm_save,        lm_load,    lm_restore,
                                  lm_step,   lm_model_save,  lm_evaluate_loaded};
    static const char *const nm[] = {"rnn_model_new", "rnn_lm_trainer_new", "rnn_trainer_step",
                                     "rnn_trainer_step", "rnn_trainer_evaluate", "rnn_trainer_save",
                                     "rnn_model_load", "rnn_trainer_restore", "rnn_trainer_step",
                                     "rnn_model_save", "rnn_lm_evaluate"};
    scenario s = {"lm", st, nm, sizeof st / sizeof st[0], lm_cleanup};
    sweep(&s);
}

static void test_alloc_features(void)
{
    static const stage_fn st[] = {feat_create, feat_trainer_new, lm_step,    lm_eval,
                                  lm_save,     lm_load,          lm_restore, lm_step,
                                  feat_predict, lm_model_save};
    static const char *const nm[] = {"rnn_model_new", "rnn_seq_trainer_new", "rnn_trainer_step",
                                     "rnn_trainer_evaluate", "rnn_trainer_save", "rnn_model_load",
                                     "rnn_trainer_restore", "rnn_trainer_step", "rnn_model_predict",
                                     "rnn_model_save"};
    scenario s = {"features", st, nm, sizeof st / sizeof st[0], lm_cleanup};
    sweep(&s);
}

static void test_alloc_readers(void)
{
    static const stage_fn st[] = {io_st,   io_npy,        io_json,     io_text,
                                  io_vocab, io_stack_load, io_stack_run};
    static const char *const nm[] = {"rnn__st_read", "rnn__npy_read", "rnn__json_parse",
                                     "rnn__utf8_decode", "rnn__vocab_build/to_json/from_json",
                                     "rnn_stack_load", "rnn_stack_forward/backward/save"};
    scenario s = {"readers", st, nm, sizeof st / sizeof st[0], io_cleanup};
    sweep(&s);
}

/* ---- the memory estimate against what is really allocated ---------------- */

static void measure(const char *what, const rnn_model_config *mc, int T, int B, int seq)
{
    rnn_optim_config oc;
    rnn_optim_defaults(&oc, RNN_OPT_ADAM);
    rnn_memory_estimate est;
    rnn_error e;
    CHECK_OK(rnn_model_memory(mc, &oc, T, B, &est, &e));
    enum { N = 3000 };
    static int32_t tok[N];
    static float x[64 * 40 * 8], y[64 * 40 * 8];
    make_ids(tok, N, mc->vocab_size > 0 ? mc->vocab_size : 2);
    for (size_t i = 0; i < sizeof x / sizeof x[0]; i++)
        x[i] = y[i] = (float)(i % 13) / 13;
    long live0 = rnn__fault_live_bytes();
    rnn__fault_peak_reset();
    rnn_model *m = NULL;
    rnn_trainer *t = NULL;
    rnn_train_options o = {.seq_len = T, .batch = B, .lr = 1e-3, .clip_norm = 1, .seed = 1};
    o.optim = oc;
    rnn_dataset d = {.n = 64, .T = T, .x = x, .y = y};
    CHECK_OK(rnn_model_new(&m, mc, 1, &e));
    if (m && !seq)
        CHECK_OK(rnn_lm_trainer_new(&t, m, &o, tok, N - 500, tok + N - 500, 500, &e));
    else if (m)
        CHECK_OK(rnn_seq_trainer_new(&t, m, &o, RNN_LOSS_MSE, &d, NULL, &e));
    if (t) {
        rnn_train_stats s;
        CHECK_OK(rnn_trainer_step(t, &s));
        CHECK_OK(rnn_trainer_step(t, &s));
    }
    long used = rnn__fault_peak_reset() - live0;
    rnn_trainer_free(t);
    rnn_model_free(m);
    double ratio = (double)est.total / (double)used;
    /* never below what is used (minus malloc's own rounding); not wildly
     * above it either, or --max-memory would refuse models that fit */
    CHECK_MSG(ratio >= 0.97 && ratio <= 1.3,
              "%s: estimate %zu bytes (params %zu, optimizer %zu, workspace %zu), allocated %ld "
              "(ratio %.3f)", what, est.total, est.params, est.optimizer, est.workspace, used,
              ratio);
    if (getenv("RNN_TEST_VERBOSE"))
        printf("     %s: estimate %zu, allocated %ld, ratio %.3f\n", what, est.total, used, ratio);
}

static void test_memory_estimate_vs_allocated(void)
{
    rnn_model_config lm = {.vocab_size = 60, .embed_size = 16, .cell = RNN_CELL_LSTM,
                           .hidden_size = 64, .num_layers = 2, .output_size = 60};
    measure("char LSTM 2x64", &lm, 25, 16, 0);
    lm.cell = RNN_CELL_GRU;
    lm.hidden_size = 32;
    lm.num_layers = 3;
    lm.dropout = 0.3f;
    measure("char GRU 3x32 dropout", &lm, 40, 8, 0);
    rnn_model_config fm = {.input_size = 8, .cell = RNN_CELL_LSTM, .hidden_size = 48,
                           .num_layers = 2, .bidirectional = 1, .output_size = 8,
                           .readout = RNN_READOUT_STEPS};
    measure("feature biLSTM 2x48 per step", &fm, 40, 16, 1);
    fm.readout = RNN_READOUT_ATTENTION;
    fm.output_size = 3;
    fm.conv_filters = 12;
    fm.conv_kernel = 3;
    fm.conv_dilation = 2;
    measure("feature conv + biLSTM + attention", &fm, 40, 16, 1);
}

void suite_faults(void);
void suite_faults(void)
{
    RUN(test_alloc_lm);
    RUN(test_alloc_features);
    RUN(test_alloc_readers);
    RUN(test_memory_estimate_vs_allocated);
    RUN(remove_scratch);
}

#endif
