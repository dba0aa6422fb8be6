/*
 * train_common.c -- the training flags and the outer training loop shared
 * by every training verb: stopping rules (epochs, steps, time, Ctrl-C,
 * early stopping), evaluation cadence, best/last checkpoints, log.csv,
 * loss.svg and the progress display.
 */
#include "cli/train_common.h"

#include "cli/plot.h"
#include "io/io.h"
#include "model/trainer.h" /* rnn__trainer_skip, for --on-nan skip */

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifdef RNN_HAVE_CBLAS
#include <cblas.h>
#endif

void train_flags_defaults(train_flags *f)
{
    memset(f, 0, sizeof *f);
    f->cell = "lstm";
    f->optimizer = "adam";
    f->schedule = "constant";
    f->out = "out";
    f->hidden = 128;
    f->layers = 2;
    f->embed = 64;
    f->seq_len = 50;
    f->batch = 50;
    f->eval_every = 200;
    f->threads = cli_default_threads();
    f->lr = 2e-3;
    f->clip = 5;
    f->val_frac = 0.05;
    f->lr_decay = 0.5;
    f->seed = 1;
    f->on_nan = "stop";
}

const char train_flags_usage[] =
    "model:\n"
    "  --cell lstm|gru|rnn   recurrent cell (default lstm); --nonlinearity tanh|relu for rnn\n"
    "  --hidden N            hidden units per layer (default 128)\n"
    "  --layers N            stacked layers (default 2)\n"
    "  --embed N             embedding size of the input tokens (default 64)\n"
    "  --dropout P           dropout between layers while training (default 0)\n"
    "training:\n"
    "  --seq-len T           steps of truncated backpropagation through time (default 50)\n"
    "  --batch B             parallel streams / sequences per step (default 50)\n"
    "  --optimizer NAME      adam (default), adamw, sgd or rmsprop (torch.optim's rules)\n"
    "  --lr X                learning rate (default 2e-3)\n"
    "  --momentum X          sgd/rmsprop momentum (default 0)\n"
    "  --weight-decay X      L2 (adam, sgd, rmsprop) or decoupled (adamw; default 0.01)\n"
    "  --schedule NAME       constant (default), step (x --lr-decay every --lr-decay-every\n"
    "                        steps) or cosine (down to --lr-min at the last step)\n"
    "  --warmup N            linear learning-rate warm-up over the first N steps\n"
    "  --clip X              clip the gradients' global norm to X (default 5; 0 = off)\n"
    "  --clip-value X        also clamp every gradient to [-X, X] (default off)\n"
    "stopping and evaluation:\n"
    "  --epochs N            passes over the training data (default 10 when no other limit)\n"
    "  --max-steps N         stop after N updates\n"
    "  --max-time SECONDS    stop after this much training time\n"
    "  --val-frac F          the last F of the text validates (default 0.05)\n"
    "  --val-file FILE       validate on FILE instead\n"
    "  --eval-every N        evaluate and checkpoint every N steps (default 200)\n"
    "  --patience N          stop when N evaluations in a row do not improve (default off)\n"
    "run:\n"
    "  --out DIR             best.safetensors, last.safetensors, log.csv, loss.svg (default out)\n"
    "  --resume              continue from DIR/last.safetensors with its settings\n"
    "  --seed S              random seed (default 1)\n"
    "  --threads N           threads (default: all cores); results do not depend on it\n"
    "  --quiet               no progress output\n"
    "  --on-nan stop|skip    a step whose loss or gradient is NaN/Inf: stop (default; the\n"
    "                        last checkpoint is kept) or skip that batch and go on\n"
    "  --max-memory SIZE     refuse a model needing more memory to train (e.g. 2G, 512M;\n"
    "                        default: the machine's memory)\n";

int train_flags_add(train_flags *f, cli_opt *o, int n)
{
    const cli_opt add[] = {
        {"cell", CLI_STR, &f->cell, 0, 0, 0},
        {"nonlinearity", CLI_STR, &f->nonlinearity, 0, 0, 0},
        {"hidden", CLI_INT, &f->hidden, 1, 1 << 20, 0},
        {"layers", CLI_INT, &f->layers, 1, 1000, 0},
        {"embed", CLI_INT, &f->embed, 1, 1 << 20, 0},
        {"dropout", CLI_FLOAT, &f->dropout, 0, 0.99, 0},
        {"seq-len", CLI_INT, &f->seq_len, 1, 1 << 20, 0},
        {"batch", CLI_INT, &f->batch, 1, 1 << 20, 0},
        {"optimizer", CLI_STR, &f->optimizer, 0, 0, 0},
        {"lr", CLI_FLOAT, &f->lr, 1e-12, 1e6, 0},
        {"momentum", CLI_FLOAT, &f->momentum, 0, 0.999999, 0},
        {"weight-decay", CLI_FLOAT, &f->weight_decay, 0, 1e6, 0},
        {"schedule", CLI_STR, &f->schedule, 0, 0, 0},
        {"warmup", CLI_INT, &f->warmup, 0, 1 << 30, 0},
        {"lr-decay", CLI_FLOAT, &f->lr_decay, 1e-9, 1, 0},
        {"lr-decay-every", CLI_INT, &f->lr_decay_every, 1, 1 << 30, 0},
        {"lr-min", CLI_FLOAT, &f->lr_min, 0, 1e6, 0},
        {"clip", CLI_FLOAT, &f->clip, 0, 1e12, 0},
        {"clip-value", CLI_FLOAT, &f->clip_value, 0, 1e12, 0},
        {"epochs", CLI_INT, &f->epochs, 1, 1 << 30, 0},
        {"max-steps", CLI_U64, &f->max_steps, 0, 0, 0},
        {"max-time", CLI_FLOAT, &f->max_time, 1e-3, 1e9, 0},
        {"val-frac", CLI_FLOAT, &f->val_frac, 0, 0.9, 0},
        {"val-file", CLI_STR, &f->val_file, 0, 0, 0},
        {"eval-every", CLI_INT, &f->eval_every, 1, 1 << 30, 0},
        {"patience", CLI_INT, &f->patience, 0, 1 << 30, 0},
        {"seed", CLI_U64, &f->seed, 0, 0, 0},
        {"threads", CLI_INT, &f->threads, 1, 1024, 0},
        {"out", CLI_STR, &f->out, 0, 0, 0},
        {"resume", CLI_FLAG, &f->resume, 0, 0, 0},
        {"quiet", CLI_FLAG, &f->quiet, 0, 0, 0},
        {"on-nan", CLI_STR, &f->on_nan, 0, 0, 0},
        {"max-memory", CLI_STR, &f->max_memory, 0, 0, 0},
    };
    for (size_t i = 0; i < sizeof add / sizeof add[0]; i++)
        o[n++] = add[i];
    o[n] = (cli_opt){0, 0, 0, 0, 0, 0};
    return n;
}

int train_flags_to_options(const char *verb, const train_flags *f, int64_t total_steps,
                           rnn_train_options *o, rnn_cell *cell)
{
    memset(o, 0, sizeof *o);
    double limit;
    if (f->on_nan && strcmp(f->on_nan, "stop") != 0 && strcmp(f->on_nan, "skip") != 0)
        return cli_error(verb, CLI_EXIT_INPUT, "--on-nan: expected stop or skip, got '%s'", f->on_nan);
    if (f->max_memory && train_parse_size(f->max_memory, &limit) != 0)
        return cli_error(verb, CLI_EXIT_INPUT,
                         "--max-memory: expected a size such as 512M, 2G or 1.5T, got '%s'",
                         f->max_memory);
    if (strcmp(f->cell, "lstm") == 0)
        *cell = RNN_CELL_LSTM;
    else if (strcmp(f->cell, "gru") == 0)
        *cell = RNN_CELL_GRU;
    else if (strcmp(f->cell, "rnn") == 0 || strcmp(f->cell, "rnn_tanh") == 0 ||
             strcmp(f->cell, "rnn_relu") == 0) {
        int relu = strcmp(f->cell, "rnn_relu") == 0;
        if (f->nonlinearity && strcmp(f->nonlinearity, "relu") == 0)
            relu = 1;
        else if (f->nonlinearity && strcmp(f->nonlinearity, "tanh") != 0)
            return cli_error(verb, CLI_EXIT_INPUT, "--nonlinearity: expected tanh or relu, got '%s'",
                             f->nonlinearity);
        *cell = relu ? RNN_CELL_RNN_RELU : RNN_CELL_RNN_TANH;
    } else
        return cli_error(verb, CLI_EXIT_INPUT, "--cell: expected lstm, gru or rnn, got '%s'", f->cell);
    if (f->nonlinearity && *cell != RNN_CELL_RNN_TANH && *cell != RNN_CELL_RNN_RELU)
        return cli_error(verb, CLI_EXIT_INPUT, "--nonlinearity applies to --cell rnn");

    int kind = rnn_optimizer_from_name(f->optimizer);
    if (kind < 0)
        return cli_error(verb, CLI_EXIT_INPUT,
                         "--optimizer: expected adam, adamw, sgd or rmsprop, got '%s'", f->optimizer);
    rnn_optim_defaults(&o->optim, (rnn_optimizer)kind);
    o->optim.momentum = f->momentum;
    if (f->weight_decay > 0 || kind != RNN_OPT_ADAMW)
        o->optim.weight_decay = f->weight_decay;
    if (f->momentum > 0 && kind != RNN_OPT_SGD && kind != RNN_OPT_RMSPROP)
        return cli_error(verb, CLI_EXIT_INPUT, "--momentum applies to sgd and rmsprop");

    o->seq_len = f->seq_len;
    o->batch = f->batch;
    o->lr = f->lr;
    o->clip_norm = f->clip;
    o->clip_value = f->clip_value;
    o->seed = f->seed;
    o->schedule.warmup = f->warmup;
    if (strcmp(f->schedule, "constant") == 0) {
        o->schedule.kind = RNN_SCHED_CONSTANT;
    } else if (strcmp(f->schedule, "step") == 0) {
        if (f->lr_decay_every < 1)
            return cli_error(verb, CLI_EXIT_INPUT, "--schedule step needs --lr-decay-every N");
        o->schedule.kind = RNN_SCHED_STEP;
        o->schedule.step_size = f->lr_decay_every;
        o->schedule.gamma = f->lr_decay;
    } else if (strcmp(f->schedule, "cosine") == 0) {
        if (total_steps <= f->warmup || total_steps >= INT64_MAX / 2)
            return cli_error(verb, CLI_EXIT_INPUT,
                             "--schedule cosine needs a known number of steps beyond the warm-up "
                             "(--epochs or --max-steps)");
        o->schedule.kind = RNN_SCHED_COSINE;
        o->schedule.total = total_steps - f->warmup;
        o->schedule.min_lr = f->lr_min;
    } else
        return cli_error(verb, CLI_EXIT_INPUT, "--schedule: expected constant, step or cosine, got '%s'",
                         f->schedule);
    return 0;
}

/* ---- flags as JSON, for --resume ----------------------------------------- */

/* Settings of this run or this machine, not of the training: a resumed run
 * takes them from its own command line. Leaving threads out also keeps the
 * checkpoint bytes the same for every thread count (docs/reliability.md). */
static int not_persisted(const char *name)
{
    return strcmp(name, "resume") == 0 || strcmp(name, "out") == 0 || strcmp(name, "quiet") == 0 ||
           strcmp(name, "threads") == 0 || strcmp(name, "max-memory") == 0;
}

char *train_flags_json(const cli_opt *opts, int count)
{
    rnn__buf b = {0};
    rnn__buf_puts(&b, "{");
    int first = 1;
    for (int i = 0; i < count; i++) {
        const cli_opt *o = &opts[i];
        if (not_persisted(o->name))
            continue;
        const char *s;
        switch (o->kind) {
        case CLI_STR:
            s = *(const char *const *)o->dst;
            if (!s)
                continue;
            rnn__buf_printf(&b, "%s\"%s\": ", first ? "" : ", ", o->name);
            rnn__buf_json_string(&b, s);
            break;
        case CLI_INT:
        case CLI_FLAG:
            rnn__buf_printf(&b, "%s\"%s\": %d", first ? "" : ", ", o->name, *(const int *)o->dst);
            break;
        case CLI_U64:
            rnn__buf_printf(&b, "%s\"%s\": \"%llu\"", first ? "" : ", ", o->name,
                            (unsigned long long)*(const uint64_t *)o->dst);
            break;
        case CLI_FLOAT:
            rnn__buf_printf(&b, "%s\"%s\": %.17g", first ? "" : ", ", o->name, *(const double *)o->dst);
            break;
        }
        first = 0;
    }
    rnn__buf_puts(&b, "}");
    if (b.oom) {
        rnn__buf_free(&b);
        return NULL;
    }
    return b.data;
}

int train_resume_read(const char *verb, const char *ckpt, const char *const *tasks,
                      const char *writer, cli_opt *opts, int nopt, rnn__st *st, int *have,
                      rnn__json **saved)
{
    rnn_error e;
    rnn_status s = rnn__st_read(st, ckpt, &e);
    if (s)
        return cli_error(verb, cli_exit_code(s), "--resume: %s", e.msg);
    *have = 1;
    const char *loop = rnn__st_meta(st, "rnn.loop"), *task = rnn__st_meta(st, "rnn.task");
    int known = 0;
    for (int i = 0; task && tasks[i]; i++)
        known |= strcmp(task, tasks[i]) == 0;
    if (!known)
        return cli_error(verb, CLI_EXIT_INPUT, "--resume: %s was not written by '%s'", ckpt, writer);
    if (!loop || rnn__json_parse(saved, loop, strlen(loop), &e) != RNN_OK)
        return cli_error(verb, CLI_EXIT_INPUT, "--resume: %s has no readable training state", ckpt);
    return train_flags_apply(verb, opts, nopt, rnn__json_get(*saved, "flags"), ckpt);
}

int train_flags_apply(const char *verb, cli_opt *opts, int count, const rnn__json *j,
                      const char *path)
{
    if (!j || j->kind != RNN__JSON_OBJECT)
        return cli_error(verb, CLI_EXIT_INPUT, "%s: the saved training settings are malformed", path);
    for (int i = 0; i < count; i++) {
        cli_opt *o = &opts[i];
        const rnn__json *v = rnn__json_get(j, o->name);
        if (o->seen || not_persisted(o->name) || !v)
            continue;
        int ok = 1;
        /* a saved number gets the checks a typed one gets (a checkpoint is
         * a file from anywhere); the option's own default, e.g. 0 for
         * "--epochs not given", is what an unset option is saved as */
        const double before = o->kind == CLI_INT ? *(int *)o->dst
                              : o->kind == CLI_FLOAT ? *(double *)o->dst : 0;
        switch (o->kind) {
        case CLI_STR:
            ok = v->kind == RNN__JSON_STRING;
            if (ok)
                *(const char **)o->dst = v->str;
            break;
        case CLI_INT:
        case CLI_FLAG:
            ok = v->kind == RNN__JSON_NUMBER && fabs(v->number) < 2e9 &&
                 v->number == floor(v->number);
            if (ok)
                *(int *)o->dst = (int)v->number;
            break;
        case CLI_U64:
            ok = v->kind == RNN__JSON_STRING;
            if (ok)
                *(uint64_t *)o->dst = strtoull(v->str, NULL, 10);
            break;
        case CLI_FLOAT:
            ok = v->kind == RNN__JSON_NUMBER;
            if (ok)
                *(double *)o->dst = v->number;
            break;
        }
        if (!ok)
            return cli_error(verb, CLI_EXIT_INPUT, "%s: saved setting '%s' is malformed", path, o->name);
        if ((o->kind == CLI_INT || o->kind == CLI_FLOAT) && o->min < o->max) {
            double x = o->kind == CLI_INT ? *(int *)o->dst : *(double *)o->dst;
            if (x != before && !(x >= o->min && x <= o->max))
                return cli_error(verb, CLI_EXIT_INPUT,
                                 "%s: saved setting '%s' = %g is out of range [%g, %g]", path,
                                 o->name, x, o->min, o->max);
        }
    }
    return 0;
}

void cli_set_threads(int threads)
{
    /* our own OpenMP threads split the work; a multithreaded BLAS inside
     * them would oversubscribe the cores */
    (void)threads;
#ifdef RNN_HAVE_CBLAS
    openblas_set_num_threads(1);
#endif
}

int cli_default_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 64 ? 64 : (int)n;
}

/* ---- memory: refuse before allocating --------------------------------------- */

int train_parse_size(const char *s, double *bytes)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno || !(v >= 0) || !isfinite(v))
        return -1;
    static const char units[] = "KMGT";
    double scale = 1;
    if (*end) {
        const char *u = strchr(units, *end >= 'a' && *end <= 'z' ? *end - 'a' + 'A' : *end);
        if (!u || !*u)
            return -1;
        for (const char *k = units; k <= u; k++)
            scale *= 1024;
        end++;
        if (*end == 'B' || *end == 'b') /* "2GB" means the same */
            end++;
        if (*end == 'i' && end[1] == 'B') /* and "2GiB" */
            end += 2;
    }
    if (*end || v * scale < 1)
        return -1;
    *bytes = v * scale;
    return 0;
}

/* "3.21G": binary units, as --max-memory takes them. */
static void fmt_size(char *out, size_t n, double b)
{
    static const char units[] = "BKMGTPE";
    int u = 0;
    while (b >= 1024 && u < 6) {
        b /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(out, n, "%.0fB", b);
    else
        snprintf(out, n, "%.3g%c", b, units[u]);
}

/* A number from a cgroup file ("max" = none), or 0. */
static double cgroup_limit(const char *path)
{
    FILE *fp = fopen(path, "r");
    char line[64];
    double v = 0;
    if (fp) {
        if (fgets(line, sizeof line, fp) && line[0] >= '0' && line[0] <= '9')
            v = strtod(line, NULL);
        fclose(fp);
    }
    return v;
}

/* What the machine has: physical memory, or the container's limit when
 * that is smaller (cgroup v2, then v1). */
static double machine_memory(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    double m = pages > 0 && size > 0 ? (double)pages * (double)size : 0;
    double c = cgroup_limit("/sys/fs/cgroup/memory.max");
    if (c <= 0)
        c = cgroup_limit("/sys/fs/cgroup/memory/memory.limit_in_bytes");
    if (c > 0 && (m <= 0 || c < m))
        m = c;
    return m;
}

int train_check_estimate(const char *verb, const train_flags *f, const rnn_memory_estimate *est,
                         const char *what)
{
    double limit = 0;
    const int given = f->max_memory && train_parse_size(f->max_memory, &limit) == 0;
    if (f->max_memory && !given)
        return cli_error(verb, CLI_EXIT_INPUT, "--max-memory: expected a size such as 512M, 2G "
                         "or 1.5T, got '%s'", f->max_memory);
    if (!given)
        limit = machine_memory();
    if (limit <= 0 || (double)est->total <= limit)
        return 0;
    char need[32], lim[32], p[32], g[32], op[32], w[32];
    fmt_size(need, sizeof need, (double)est->total);
    fmt_size(lim, sizeof lim, limit);
    fmt_size(p, sizeof p, (double)est->params);
    fmt_size(g, sizeof g, (double)est->grads);
    fmt_size(op, sizeof op, (double)est->optimizer);
    fmt_size(w, sizeof w, (double)est->workspace);
    char than[64];
    snprintf(than, sizeof than, given ? "--max-memory %s" : "the %s this machine has", lim);
    return cli_error(verb, CLI_EXIT_INPUT,
                     "the model needs about %s to train on %s (parameters %s, gradients %s, "
                     "optimizer %s, workspace %s), more than %s; use a smaller model or batch%s",
                     need, what, p, g, op, w, than,
                     given ? ", or raise --max-memory" : " (--max-memory sets another limit)");
}

int train_check_memory(const char *verb, const train_flags *f, const rnn_model_config *mc,
                       const rnn_train_options *o, int T)
{
    rnn_memory_estimate est;
    rnn_error e;
    rnn_status st = rnn_model_memory(mc, &o->optim, T, o->batch, &est, &e);
    if (st)
        return cli_error(verb, cli_exit_code(st), "%s", e.msg);
    char what[64];
    snprintf(what, sizeof what, "batches of %d x %d", o->batch, T);
    return train_check_estimate(verb, f, &est, what);
}

/* ---- the run directory --------------------------------------------------- */

int train_prepare_out(const char *verb, const char *dir)
{
    struct stat sb;
    if (stat(dir, &sb) == 0) {
        if (!S_ISDIR(sb.st_mode))
            return cli_error(verb, CLI_EXIT_INPUT, "--out %s: exists and is not a directory", dir);
    } else if (mkdir(dir, 0777) != 0) {
        return cli_error(verb, CLI_EXIT_INPUT, "--out %s: cannot create the directory: %s", dir,
                         strerror(errno));
    }
    if (access(dir, W_OK | X_OK) != 0)
        return cli_error(verb, CLI_EXIT_INPUT, "--out %s: directory is not writable: %s", dir,
                         strerror(errno));
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    interrupted = sig;
    signal(sig, SIG_DFL); /* a second Ctrl-C kills at once */
}

static int add_row(train_run *r, const train_log_row *row)
{
    if (r->nrows == r->caprows) {
        size_t cap = r->caprows ? r->caprows * 2 : 256;
        train_log_row *p = realloc(r->rows, cap * sizeof *p);
        if (!p)
            return 0;
        r->rows = p;
        r->caprows = cap;
    }
    r->rows[r->nrows++] = *row;
    return 1;
}

static void path_in(char *out, size_t n, const char *dir, const char *file)
{
    snprintf(out, n, "%s/%s", dir, file);
}

/* Where a save's failure goes: printed at once (NULL), or kept for the
 * training loop, which decides whether to stop or to warn and go on. */
typedef struct save_err {
    rnn_status st;
    char msg[640];
} save_err;

static int save_fail(const char *verb, save_err *se, rnn_status st, const char *msg)
{
    if (!se)
        return cli_fail_status(verb, st, msg);
    se->st = st;
    snprintf(se->msg, sizeof se->msg, "%s", msg && *msg ? msg : rnn_strerror(st));
    return cli_exit_code(st);
}

static int write_log_to(train_run *r, save_err *se)
{
    rnn__buf b = {0};
    rnn__buf_puts(&b, "step,epoch,train_loss,val_loss,lr,tokens_per_s,elapsed_s\n");
    for (size_t i = 0; i < r->nrows; i++) {
        const train_log_row *w = &r->rows[i];
        rnn__buf_printf(&b, "%lld,%.4f,", (long long)w->step, w->epoch);
        if (isfinite(w->train_loss))
            rnn__buf_printf(&b, "%.6f", w->train_loss);
        rnn__buf_puts(&b, ",");
        if (isfinite(w->val_loss))
            rnn__buf_printf(&b, "%.6f", w->val_loss);
        rnn__buf_printf(&b, ",%.6g,%.1f,%.2f\n", w->lr, w->tokens_per_s, w->elapsed);
    }
    char path[4096];
    path_in(path, sizeof path, r->flags->out, "log.csv");
    rnn_error e;
    rnn_status st = b.oom ? RNN_ENOMEM : rnn__write_file_atomic(path, b.data, b.len, &e);
    rnn__buf_free(&b);
    if (st)
        return save_fail(r->verb, se, st, st == RNN_ENOMEM ? "out of memory" : e.msg);

    /* loss.svg: train loss at every logged step, validation at evaluations */
    size_t n = r->nrows;
    double *x = malloc((n + 1) * sizeof *x), *yt = malloc((n + 1) * sizeof *yt);
    double *xv = malloc((n + 1) * sizeof *xv), *yv = malloc((n + 1) * sizeof *yv);
    size_t nt = 0, nv = 0;
    if (!x || !yt || !xv || !yv) {
        free(x); free(yt); free(xv); free(yv);
        return save_fail(r->verb, se, RNN_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        if (isfinite(r->rows[i].train_loss)) {
            x[nt] = (double)r->rows[i].step;
            yt[nt++] = r->rows[i].train_loss;
        }
        if (isfinite(r->rows[i].val_loss)) {
            xv[nv] = (double)r->rows[i].step;
            yv[nv++] = r->rows[i].val_loss;
        }
    }
    plot_series s[2] = {{"train loss", x, yt, nt, "#1f77b4", 0, 0},
                        {"validation loss", xv, yv, nv, "#d62728", 0, 1}};
    char title[256];
    snprintf(title, sizeof title, "%s %s-%d x %d: loss (%s)", r->verb,
             r->flags->cell, r->flags->hidden, r->flags->layers,
             r->loss_name ? r->loss_name : "nats per token");
    plot_spec spec = {title, "step", r->loss_name ? r->loss_name : "cross-entropy (nats)", 0, 0};
    path_in(path, sizeof path, r->flags->out, "loss.svg");
    st = plot_lines(path, &spec, s, r->has_val ? 2 : 1, &e);
    free(x); free(yt); free(xv); free(yv);
    return st ? save_fail(r->verb, se, st, e.msg) : 0;
}

static int write_log(train_run *r) { return write_log_to(r, NULL); }

static char *loop_json(const train_run *r)
{
    rnn__buf b = {0};
    rnn__buf_printf(&b, "{\"flags\": %s, \"best_val\": ", r->flags_json ? r->flags_json : "{}");
    if (isfinite(r->best_val))
        rnn__buf_printf(&b, "%.17g", r->best_val);
    else
        rnn__buf_puts(&b, "null");
    /* no wall-clock time: it would make two identical runs' checkpoints
     * differ; --resume takes the elapsed time from log.csv instead */
    rnn__buf_printf(&b, ", \"best_step\": %lld, \"evals_since_best\": %d}",
                    (long long)r->best_step, r->evals_since_best);
    if (b.oom) {
        rnn__buf_free(&b);
        return NULL;
    }
    return b.data;
}

static int save_to(train_run *r, const char *file, save_err *se)
{
    char path[4096];
    path_in(path, sizeof path, r->flags->out, file);
    char *loop = loop_json(r);
    size_t n = r->meta_count;
    const char **k = calloc(n + 1, sizeof *k), **v = calloc(n + 1, sizeof *v);
    if (!loop || !k || !v) {
        free(loop); free(k); free(v);
        return save_fail(r->verb, se, RNN_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        k[i] = r->meta_keys[i];
        v[i] = r->meta_values[i];
    }
    k[n] = "rnn.loop";
    v[n] = loop;
    rnn_status st = rnn_trainer_save(r->trainer, path, k, v, n + 1);
    free(loop); free(k); free(v);
    if (st)
        return save_fail(r->verb, se, st, rnn_trainer_errmsg(r->trainer));
    return 0;
}

/* A checkpoint (file) or the log (file NULL) during training. A file that
 * cannot be written -- full disk, quota, directory removed -- is reported
 * on one line and training goes on: the previous file is intact (writes
 * are atomic) and the next evaluation tries again, so hours of training in
 * memory are not thrown away for a disk that may be cleaned meanwhile.
 * `final`: nothing comes after this save; its failure becomes the run's
 * exit status. Returns 0 when saved, else the exit status, with *stop set
 * when training must stop now: weights that are not finite (the library
 * refuses to write them) or no memory. */
static int save_or_warn(train_run *r, const char *file, int64_t step, int final, int tty,
                        int *stop)
{
    save_err se = {RNN_OK, ""};
    int rc = file ? save_to(r, file, &se) : write_log_to(r, &se);
    if (!rc)
        return 0;
    if (tty && !r->flags->quiet)
        fputs("\r\033[K", stderr);
    r->failed_saves++;
    if (se.st == RNN_EINVAL || se.st == RNN_ENOMEM) {
        *stop = 1;
        return cli_error(r->verb, CLI_EXIT_INTERNAL, "%s; training stopped (the last checkpoint "
                         "in %s is kept)", se.msg, r->flags->out);
    }
    if (final)
        return cli_error(r->verb, rc, "%s; not saved (the previous file is kept)", se.msg);
    fprintf(stderr, "rnn %s: step %lld: %s; the previous file is kept, training goes on\n",
            r->verb, (long long)step, se.msg);
    return rc;
}

int train_resume_state(train_run *r, const char *ckpt_path, const char *meta_json)
{
    rnn__json *j;
    rnn_error e;
    if (!meta_json || rnn__json_parse(&j, meta_json, strlen(meta_json), &e) ||
        j->kind != RNN__JSON_OBJECT)
        return cli_error(r->verb, CLI_EXIT_INPUT, "%s: no training-loop state (rnn.loop) to resume",
                         ckpt_path);
    const rnn__json *bv = rnn__json_get(j, "best_val"), *bs = rnn__json_get(j, "best_step");
    const rnn__json *es = rnn__json_get(j, "evals_since_best"), *el = rnn__json_get(j, "elapsed");
    r->best_val = bv && bv->kind == RNN__JSON_NUMBER ? bv->number : INFINITY;
    r->best_step = bs && bs->kind == RNN__JSON_NUMBER ? (int64_t)bs->number : 0;
    r->evals_since_best = es && es->kind == RNN__JSON_NUMBER ? (int)es->number : 0;
    /* checkpoints before this one kept the elapsed time here; now it
     * comes from the log (below), so that checkpoints hold no clock */
    const int have_elapsed = el && el->kind == RNN__JSON_NUMBER;
    r->elapsed_before = have_elapsed ? el->number : 0;
    rnn__json_free(j);

    /* the log up to the checkpoint's step */
    rnn_train_stats st;
    rnn_trainer_stats(r->trainer, &st);
    char path[4096];
    path_in(path, sizeof path, r->flags->out, "log.csv");
    unsigned char *data;
    size_t size;
    if (rnn__read_file(path, &data, &size, &e) == RNN_OK) {
        char *line = strchr((char *)data, '\n'); /* skip the header */
        while (line && *++line) {
            /* step,epoch,train_loss,val_loss,lr,tokens_per_s,elapsed_s; losses may be empty */
            char buf[512], *f[7];
            size_t len = strcspn(line, "\n");
            if (len >= sizeof buf)
                len = sizeof buf - 1;
            memcpy(buf, line, len);
            buf[len] = '\0';
            int nf = 0;
            for (char *p = buf; p && nf < 7; nf++) {
                f[nf] = p;
                p = strchr(p, ',');
                if (p)
                    *p++ = '\0';
            }
            if (nf == 7) {
                train_log_row w;
                w.step = strtoll(f[0], NULL, 10);
                w.epoch = strtod(f[1], NULL);
                w.train_loss = *f[2] ? strtod(f[2], NULL) : NAN;
                w.val_loss = *f[3] ? strtod(f[3], NULL) : NAN;
                w.lr = strtod(f[4], NULL);
                w.tokens_per_s = strtod(f[5], NULL);
                w.elapsed = strtod(f[6], NULL);
                if (w.step <= st.step && !add_row(r, &w)) {
                    rnn__free(data);
                    return cli_error(r->verb, CLI_EXIT_INTERNAL, "out of memory");
                }
            }
            line = strchr(line, '\n');
        }
        rnn__free(data);
    }
    if (!have_elapsed && r->nrows > 0)
        r->elapsed_before = r->rows[r->nrows - 1].elapsed;
    return 0;
}

/* ---- progress ------------------------------------------------------------ */

static void fmt_duration(char *out, size_t n, double s)
{
    if (!isfinite(s) || s < 0)
        snprintf(out, n, "?");
    else if (s < 60)
        snprintf(out, n, "%.0fs", s);
    else if (s < 3600)
        snprintf(out, n, "%d:%02d", (int)s / 60, (int)s % 60);
    else
        snprintf(out, n, "%d:%02d:%02d", (int)s / 3600, (int)s / 60 % 60, (int)s % 60);
}

static void fmt_rate(char *out, size_t n, double r)
{
    if (r >= 1e6)
        snprintf(out, n, "%.2fM", r / 1e6);
    else if (r >= 1e3)
        snprintf(out, n, "%.1fk", r / 1e3);
    else
        snprintf(out, n, "%.0f", r);
}

int train_loop(train_run *r)
{
    const train_flags *f = r->flags;
    rnn_train_stats st;
    rnn_trainer_stats(r->trainer, &st);
    const int tty = isatty(STDERR_FILENO);
    const int64_t bpe = st.batches_per_epoch;
    int64_t total = INT64_MAX;
    if (f->max_steps)
        total = (int64_t)f->max_steps;
    if (f->epochs && (int64_t)f->epochs * bpe < total)
        total = (int64_t)f->epochs * bpe;
    const double max_time = f->max_time > 0 ? f->max_time : INFINITY;
    const int log_every = f->eval_every >= 10 ? f->eval_every / 10 : 1;

    interrupted = 0;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);

    const double t0 = now_s();
    double last_print = 0, window_loss = 0;
    int window_n = 0;
    int64_t window_tokens = 0, last_eval_step = -1, skipped = 0;
    double window_time = 0, rate = 0;
    int rc = 0, skipped_in_a_row = 0, save_rc = 0, stop = 0, eval_final = 0;
    const int skip = f->on_nan && strcmp(f->on_nan, "skip") == 0;
    const char *why = "done";

    for (;;) {
        double elapsed = r->elapsed_before + (now_s() - t0);
        if (st.step >= total) {
            why = f->max_steps && st.step >= (int64_t)f->max_steps ? "reached --max-steps" : "reached --epochs";
            break;
        }
        if (elapsed >= max_time) {
            why = "reached --max-time";
            break;
        }
        if (interrupted) {
            why = "interrupted";
            break;
        }
        double s0 = now_s();
        rnn_status s = rnn_trainer_step(r->trainer, &st);
        double dt = now_s() - s0;
        if (s) {
            if (tty && !f->quiet)
                fputs("\r\033[K", stderr);
            /* --on-nan skip: drop that batch's update and go on, unless the
             * weights themselves are gone (then no step can succeed) or
             * nothing but non-finite steps come any more */
            if (s == RNN_EINVAL && skip && skipped_in_a_row < 100) {
                fprintf(stderr, "rnn %s: %s; batch skipped (--on-nan skip)\n", r->verb,
                        rnn_trainer_errmsg(r->trainer));
                s = rnn__trainer_skip(r->trainer);
                if (!s) {
                    skipped++;
                    skipped_in_a_row++;
                    rnn_trainer_stats(r->trainer, &st);
                }
            }
            if (s) {
                rc = cli_error(r->verb, s == RNN_EINVAL ? CLI_EXIT_INTERNAL : cli_exit_code(s),
                               "%s; training stopped (the last checkpoint in %s is kept; try a "
                               "lower --lr or --clip)", rnn_trainer_errmsg(r->trainer), f->out);
                write_log(r);
                goto out;
            }
            if (skipped_in_a_row >= 100) {
                rc = cli_error(r->verb, CLI_EXIT_INTERNAL,
                               "100 steps in a row were not finite; training stopped (the last "
                               "checkpoint in %s is kept; try a lower --lr or --clip)", f->out);
                write_log(r);
                goto out;
            }
        } else {
            skipped_in_a_row = 0;
            window_loss += st.loss;
            window_n++;
        }
        window_time += dt;
        window_tokens += (int64_t)f->seq_len * f->batch;
        rate = window_time > 0 ? (double)window_tokens / window_time : 0;
        elapsed = r->elapsed_before + (now_s() - t0);
        double epoch_f = (double)st.epoch + (double)st.batch_in_epoch / (double)(bpe ? bpe : 1);

        int is_eval = st.step % f->eval_every == 0 || st.step >= total;
        const int last_step = st.step >= total; /* this evaluation's saves are the run's last */
        if (is_eval) {
            save_rc = 0; /* what failed at this evaluation (warned unless last_step) */
            eval_final = last_step;
        }
        if (st.step % log_every == 0 || is_eval) {
            train_log_row w = {st.step, epoch_f, window_n ? window_loss / window_n : NAN, NAN, st.lr,
                               rate, elapsed};
            if (is_eval && r->has_val) {
                double vl;
                rnn_status es = rnn_trainer_evaluate(r->trainer, &vl);
                if (es) {
                    rc = cli_fail_status(r->verb, es, rnn_trainer_errmsg(r->trainer));
                    goto out;
                }
                w.val_loss = vl;
                if (vl < r->best_val) {
                    r->best_val = vl;
                    r->best_step = st.step;
                    r->evals_since_best = 0;
                    save_rc = save_or_warn(r, "best.safetensors", st.step, last_step, tty, &stop);
                    if (stop) {
                        rc = save_rc;
                        goto out;
                    }
                } else {
                    r->evals_since_best++;
                }
            }
            if (!add_row(r, &w)) {
                rc = cli_error(r->verb, CLI_EXIT_INTERNAL, "out of memory");
                goto out;
            }
            window_loss = 0;
            window_n = 0;
            window_tokens = 0;
            window_time = 0;
            if (is_eval) {
                last_eval_step = st.step;
                int a = save_or_warn(r, "last.safetensors", st.step, last_step, tty, &stop);
                int b = stop ? 0 : save_or_warn(r, NULL, st.step, last_step, tty, &stop);
                if (stop) {
                    rc = a ? a : b;
                    goto out;
                }
                save_rc = save_rc ? save_rc : a ? a : b;
                if (!f->quiet) {
                    char rt[32], el[32];
                    fmt_rate(rt, sizeof rt, w.tokens_per_s);
                    fmt_duration(el, sizeof el, elapsed);
                    if (tty)
                        fputs("\r\033[K", stderr);
                    /* NAN prints as "nan"; a NaN from arithmetic may print "-nan" */
                    fprintf(stderr, "step %7lld  epoch %6.2f  loss %.4f", (long long)st.step, epoch_f,
                            isnan(w.train_loss) ? NAN : w.train_loss);
                    if (r->has_val)
                        fprintf(stderr, "  val %.4f%s", isnan(w.val_loss) ? NAN : w.val_loss,
                                r->best_step == st.step ? " *" : "  ");
                    fprintf(stderr, "  lr %.2e  %s tok/s  %s\n", st.lr, rt, el);
                    last_print = now_s();
                }
                if (f->patience > 0 && r->evals_since_best >= f->patience) {
                    why = "early stopping (validation loss stopped improving)";
                    break;
                }
            }
        }
        if (!f->quiet && tty && now_s() - last_print > 0.2) {
            char rt[32], el[32], eta[32];
            fmt_rate(rt, sizeof rt, rate);
            fmt_duration(el, sizeof el, elapsed);
            double left = INFINITY;
            if (total < INT64_MAX && rate > 0)
                left = (double)(total - st.step) * f->seq_len * f->batch / rate;
            if (isfinite(max_time) && max_time - elapsed < left)
                left = max_time - elapsed;
            fmt_duration(eta, sizeof eta, left);
            fprintf(stderr, "\r\033[Kstep %lld", (long long)st.step);
            if (total < INT64_MAX)
                fprintf(stderr, "/%lld", (long long)total);
            fprintf(stderr, "  epoch %.2f  loss %.4f", epoch_f, st.loss);
            if (isfinite(r->best_val))
                fprintf(stderr, "  val %.4f", r->best_val);
            fprintf(stderr, "  %s tok/s  %s  ETA %s", rt, el, eta);
            fflush(stderr);
            last_print = now_s();
        } else if (!f->quiet && !tty && now_s() - last_print > 30) {
            char rt[32], el[32];
            fmt_rate(rt, sizeof rt, rate);
            fmt_duration(el, sizeof el, elapsed);
            fprintf(stderr, "step %7lld  epoch %6.2f  loss %.4f  %s tok/s  %s\n", (long long)st.step,
                    epoch_f, st.loss, rt, el);
            last_print = now_s();
        }
    }

    {
        double elapsed = r->elapsed_before + (now_s() - t0);
        if (tty && !f->quiet)
            fputs("\r\033[K", stderr);
        if (last_eval_step != st.step && st.step > 0) {
            /* the final state: log, evaluate and save it */
            train_log_row w = {st.step, (double)st.epoch + (double)st.batch_in_epoch / (double)bpe,
                               window_n ? window_loss / window_n : NAN, NAN, st.lr, rate, elapsed};
            if (r->has_val && !interrupted) {
                double vl;
                if (rnn_trainer_evaluate(r->trainer, &vl) == RNN_OK) {
                    w.val_loss = vl;
                    if (vl < r->best_val) {
                        r->best_val = vl;
                        r->best_step = st.step;
                        r->evals_since_best = 0;
                        save_rc = save_or_warn(r, "best.safetensors", st.step, 1, tty, &stop);
                        if (stop) {
                            rc = save_rc;
                            goto out;
                        }
                    }
                }
            }
            add_row(r, &w);
        }
        /* the final state, unless the evaluation at this very step saved it
         * or already reported it as not saved */
        if (st.step > 0 && (last_eval_step != st.step || (save_rc && !eval_final))) {
            if (last_eval_step == st.step)
                save_rc = 0; /* retried now, as the final save */
            int a = save_or_warn(r, "last.safetensors", st.step, 1, tty, &stop);
            int b = stop ? 0 : save_or_warn(r, NULL, st.step, 1, tty, &stop);
            save_rc = save_rc ? save_rc : a ? a : b;
        }
        rc = save_rc; /* a final save that failed: reported; the summary still follows */
        if (!f->quiet) {
            char el[32];
            fmt_duration(el, sizeof el, elapsed);
            fprintf(stderr, "%s at step %lld (epoch %.2f) after %s", why, (long long)st.step,
                    (double)st.epoch + (double)st.batch_in_epoch / (double)bpe, el);
            if (isfinite(r->best_val) && !r->loss_name)
                fprintf(stderr, "; best validation loss %.4f nats (%.4f bits) per token at step %lld",
                        r->best_val, r->best_val / log(2.0), (long long)r->best_step);
            else if (isfinite(r->best_val))
                fprintf(stderr, "; best validation loss %.6g (%s) at step %lld", r->best_val,
                        r->loss_name, (long long)r->best_step);
            if (skipped)
                fprintf(stderr, "; %lld non-finite step%s skipped", (long long)skipped,
                        skipped == 1 ? "" : "s");
            fprintf(stderr, "\n");
            if (!rc)
                fprintf(stderr, "saved %s/last.safetensors%s, log.csv, loss.svg%s\n", f->out,
                        isfinite(r->best_val) ? ", best.safetensors" : "",
                        interrupted ? " (continue with --resume)" : "");
        }
    }
out:
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    return rc;
}

void train_run_free(train_run *r)
{
    free(r->rows);
    r->rows = NULL;
    r->nrows = r->caprows = 0;
}
