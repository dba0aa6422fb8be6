/*
 * test_optim.c -- optimizers, gradient clipping and schedules against
 * PyTorch. tests/fixtures/optim.safetensors was written by
 * tools/gen_optim_fixtures.py from torch.optim on float32 tensors; a missing
 * fixture is a failure, never a skip. With RNN_TEST_VERBOSE set, the worst
 * deviation from torch of every optimizer case is printed.
 */
#include "test.h"

#include "io/io.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const double RTOL = 1e-6, ATOL = 1e-7;
static const char *const FIXTURE = "optim.safetensors";

enum { N = 37, K = 5 }; /* parameters and steps of every optimizer case */

typedef struct optim_case {
    const char *name;
    rnn_optimizer kind;
    double momentum;
    int nesterov;
    double weight_decay; /* < 0: keep the kind's default */
} optim_case;

/* The configurations of tools/gen_optim_fixtures.py (CASES there). */
static const optim_case CASES[] = {
    {"sgd", RNN_OPT_SGD, 0, 0, -1},
    {"sgd_momentum", RNN_OPT_SGD, 0.9, 0, -1},
    {"sgd_nesterov_wd", RNN_OPT_SGD, 0.9, 1, 0.01},
    {"adam", RNN_OPT_ADAM, 0, 0, -1},
    {"adam_wd", RNN_OPT_ADAM, 0, 0, 0.01},
    {"adamw", RNN_OPT_ADAMW, 0, 0, -1},
    {"rmsprop", RNN_OPT_RMSPROP, 0, 0, -1},
    {"rmsprop_momentum_wd", RNN_OPT_RMSPROP, 0.9, 0, 0.01},
};
enum { NCASES = sizeof CASES / sizeof CASES[0] };

static rnn_optim_config case_config(const optim_case *c)
{
    rnn_optim_config cfg;
    rnn_optim_defaults(&cfg, c->kind);
    cfg.momentum = c->momentum;
    cfg.nesterov = c->nesterov;
    if (c->weight_decay >= 0)
        cfg.weight_decay = c->weight_decay;
    return cfg;
}

/* Reads fixture `name` from the fixture directory. Kept separate from the
 * failure reporting so that test_missing_fixture_fails can check that a
 * missing file comes back as an error (which the tests report as a
 * failure) rather than being skipped. */
static rnn_status read_fixture(rnn__st *f, const char *name, rnn_error *e)
{
    return rnn__st_read(f, t_fixture(name), e);
}

static int open_fixture(rnn__st *f)
{
    rnn_error e;
    if (read_fixture(f, FIXTURE, &e) != RNN_OK) {
        t_fail_at(__FILE__, __LINE__,
                  "cannot read fixture: %s (run /usr/bin/python3 "
                  "tools/gen_optim_fixtures.py)", e.msg);
        return 0;
    }
    return 1;
}

/* Tensor `name` must exist with `want` elements of type `dtype`. */
static const rnn__st_tensor *need(const rnn__st *f, const char *name,
                                  rnn__dtype dtype, size_t want)
{
    const rnn__st_tensor *t = rnn__st_find(f, name);
    if (!t) {
        t_fail_at(__FILE__, __LINE__, "%s: tensor '%s' missing", FIXTURE, name);
        return NULL;
    }
    if (t->dtype != dtype || t->numel != want) {
        t_fail_at(__FILE__, __LINE__, "%s: '%s' is %s with %zu elements, expected %s with %zu",
                  FIXTURE, name, rnn__dtype_name(t->dtype), t->numel,
                  rnn__dtype_name(dtype), want);
        return NULL;
    }
    return t;
}

/* Copies F32 tensor `name` (exactly `want` elements) into out. */
static int get_f32(const rnn__st *f, const char *name, float *out, size_t want)
{
    const rnn__st_tensor *t = need(f, name, RNN__F32, want);
    return t && rnn__convert_f32(out, t->data, t->dtype, want) == RNN_OK;
}

/* F64 tensors hold values that must not be rounded to float (learning
 * rates, norms): copied bytewise (little-endian host, as the readers
 * assume). */
static int get_f64(const rnn__st *f, const char *name, double *out, size_t want)
{
    const rnn__st_tensor *t = need(f, name, RNN__F64, want);
    if (!t)
        return 0;
    memcpy(out, t->data, want * sizeof *out);
    return 1;
}

/* Distance in units in the last place between two finite floats. */
static int64_t ulps(float a, float b)
{
    int32_t ia, ib;
    memcpy(&ia, &a, sizeof ia);
    memcpy(&ib, &b, sizeof ib);
    int64_t la = ia < 0 ? (int64_t)INT32_MIN - ia : ia;
    int64_t lb = ib < 0 ? (int64_t)INT32_MIN - ib : ib;
    return la > lb ? la - lb : lb - la;
}

static void run_optim_case(const rnn__st *f, const optim_case *c)
{
    char name[128];
    float p0[N], grads[K * N], want[K * N], p[N];
    double lr[K];
#define GET(kind, suffix, buf, count)                                \
    (snprintf(name, sizeof name, "%s.%s", c->name, suffix),          \
     get_##kind(f, name, buf, count))
    if (!GET(f32, "p0", p0, N) || !GET(f32, "grads", grads, K * N) ||
        !GET(f32, "params", want, K * N) || !GET(f64, "lr", lr, K))
        return;
    snprintf(name, sizeof name, "case.%s", c->name);
    CHECK_MSG(rnn__st_meta(f, name) != NULL, "%s: no metadata '%s'", FIXTURE, name);

    rnn_optim_config cfg = case_config(c);
    rnn_optim *o = NULL;
    rnn_error e;
    if (rnn_optim_new(&o, &cfg, N, &e) != RNN_OK) {
        t_fail_at(__FILE__, __LINE__, "%s: %s", c->name, e.msg);
        return;
    }
    memcpy(p, p0, sizeof p);
    int64_t worst_ulps = 0;
    double worst_rel = 0;
    for (int k = 0; k < K; k++) {
        rnn_optim_step(o, p, grads + k * N, lr[k]);
        CHECK(rnn_optim_steps(o) == k + 1);
        snprintf(name, sizeof name, "%s after step %d", c->name, k + 1);
        t_allclose(name, p, want + k * N, N, ATOL, RTOL);
        for (int i = 0; i < N; i++) {
            float w = want[k * N + i];
            int64_t u = ulps(p[i], w);
            double rel = fabs((double)p[i] - w) / (fabs((double)w) > 1e-30 ? fabs((double)w) : 1e-30);
            if (u > worst_ulps)
                worst_ulps = u;
            if (rel > worst_rel)
                worst_rel = rel;
        }
    }
    /* The state after the last step, slot by slot as torch keeps it. */
    int slots;
    size_t count;
    float *state = rnn_optim_state(o, &slots, &count);
    CHECK(count == N);
    snprintf(name, sizeof name, "%s.state", c->name);
    const rnn__st_tensor *st = rnn__st_find(f, name);
    if (slots == 0) {
        CHECK_MSG(st == NULL && state == NULL, "%s: expected no optimizer state", c->name);
    } else {
        float ref[2 * N];
        if (slots <= 2 && get_f32(f, name, ref, (size_t)slots * N))
            t_allclose(name, state, ref, (size_t)slots * N, ATOL, RTOL);
        CHECK(slots <= 2);
    }
    if (getenv("RNN_TEST_VERBOSE"))
        printf("     %-20s worst vs torch: %lld ulp, relative %.3g\n", c->name,
               (long long)worst_ulps, worst_rel);
    rnn_optim_free(o);
#undef GET
}

static void test_optim_fixtures(void)
{
    rnn__st f;
    if (!open_fixture(&f))
        return;
    for (int i = 0; i < NCASES; i++)
        run_optim_case(&f, &CASES[i]);
    rnn__st_free(&f);
}

static void test_missing_fixture_fails(void)
{
    rnn__st f;
    rnn_error e;
    e.msg[0] = 0;
    rnn_status st = read_fixture(&f, "optim_no_such_fixture.safetensors", &e);
    CHECK(st != RNN_OK);
    CHECK_MSG(strstr(e.msg, "optim_no_such_fixture.safetensors") != NULL,
              "message does not name the file: '%s'", e.msg);
    if (st == RNN_OK)
        rnn__st_free(&f);
}

static void fill(float *a, size_t n, rnn__rng *r, float scale)
{
    for (size_t i = 0; i < n; i++)
        a[i] = (rnn__rng_float(r) * 2 - 1) * scale;
}

static void test_optim_state_roundtrip(void)
{
    enum { M = 53, STEPS = 9, CUT = 4 };
    static const int want_slots[NCASES] = {0, 1, 1, 2, 2, 2, 1, 2};
    rnn__rng r;
    rnn__rng_seed(&r, 7);
    float grads[STEPS][M], p0[M];
    fill(p0, M, &r, 1);
    for (int k = 0; k < STEPS; k++)
        fill(grads[k], M, &r, 1.5f);
    for (int c = 0; c < NCASES; c++) {
        rnn_optim_config cfg = case_config(&CASES[c]);
        rnn_optim *a = NULL, *b = NULL;
        CHECK_OK(rnn_optim_new(&a, &cfg, M, NULL));
        CHECK_OK(rnn_optim_new(&b, &cfg, M, NULL));
        if (!a || !b) {
            rnn_optim_free(a);
            rnn_optim_free(b);
            continue;
        }
        float pa[M], pb[M];
        memcpy(pa, p0, sizeof pa);
        memcpy(pb, p0, sizeof pb);
        /* a runs uninterrupted; b stops, is checkpointed, and the
         * checkpoint continues in a fresh optimizer. */
        for (int k = 0; k < STEPS; k++)
            rnn_optim_step(a, pa, grads[k], 0.01 * (k + 1));
        for (int k = 0; k < CUT; k++)
            rnn_optim_step(b, pb, grads[k], 0.01 * (k + 1));
        int slots;
        size_t count;
        float *sb = rnn_optim_state(b, &slots, &count);
        CHECK_MSG(slots == want_slots[c], "%s: %d slots, expected %d", CASES[c].name,
                  slots, want_slots[c]);
        CHECK(count == M);
        CHECK((slots == 0) == (sb == NULL));
        float saved[2 * M];
        size_t nsaved = (size_t)slots * M;
        if (nsaved > sizeof saved / sizeof saved[0])
            nsaved = 0;
        if (nsaved)
            memcpy(saved, sb, nsaved * sizeof *saved);
        int64_t steps = rnn_optim_steps(b);
        CHECK(steps == CUT);
        rnn_optim_free(b);

        rnn_optim *c2 = NULL;
        CHECK_OK(rnn_optim_new(&c2, &cfg, M, NULL));
        if (!c2) {
            rnn_optim_free(a);
            continue;
        }
        CHECK(rnn_optim_steps(c2) == 0);
        float *sc = rnn_optim_state(c2, &slots, &count);
        for (size_t i = 0; i < nsaved; i++)
            CHECK_MSG(sc[i] == 0, "%s: fresh state not zero", CASES[c].name);
        if (nsaved)
            memcpy(sc, saved, nsaved * sizeof *saved);
        rnn_optim_set_steps(c2, steps);
        CHECK(rnn_optim_steps(c2) == CUT);
        for (int k = CUT; k < STEPS; k++)
            rnn_optim_step(c2, pb, grads[k], 0.01 * (k + 1));
        CHECK_MSG(memcmp(pa, pb, sizeof pa) == 0, "%s: resumed parameters differ",
                  CASES[c].name);
        float *sa = rnn_optim_state(a, &slots, &count);
        CHECK_MSG(nsaved == 0 || memcmp(sa, sc, nsaved * sizeof *sa) == 0,
                  "%s: resumed state differs", CASES[c].name);
        CHECK(rnn_optim_steps(c2) == rnn_optim_steps(a));
        rnn_optim_set_steps(c2, -5);
        CHECK(rnn_optim_steps(c2) == 0);
        rnn_optim_free(a);
        rnn_optim_free(c2);
    }
}

/* rnn_optim_new must refuse cfg with RNN_EINVAL (or `want`), a one-line
 * message and *out left NULL. */
static void expect_invalid(const char *what, const rnn_optim_config *cfg, size_t n,
                           rnn_status want)
{
    static char sentinel;
    rnn_optim *o = (rnn_optim *)(void *)&sentinel; /* must be reset to NULL */
    rnn_error e;
    e.status = RNN_OK;
    e.msg[0] = 0;
    rnn_status st = rnn_optim_new(&o, cfg, n, &e);
    CHECK_MSG(st == want, "%s: status %d, expected %d", what, (int)st, (int)want);
    CHECK_MSG(e.status == want, "%s: err.status %d", what, (int)e.status);
    CHECK_MSG(e.msg[0] && !strchr(e.msg, '\n'), "%s: message '%s'", what, e.msg);
    CHECK_MSG(o == NULL, "%s: *out not NULL", what);
    if (st == RNN_OK)
        rnn_optim_free(o);
}

static void test_optim_config_validation(void)
{
    rnn_optim_config c;
    const double nan = NAN, inf = INFINITY;
#define BAD(kind, field, value)                              \
    do {                                                     \
        rnn_optim_defaults(&c, kind);                        \
        c.field = value;                                     \
        expect_invalid(#kind " " #field " = " #value, &c, 4, RNN_EINVAL); \
    } while (0)
    BAD(RNN_OPT_SGD, momentum, -0.1);
    BAD(RNN_OPT_SGD, momentum, 1.0);
    BAD(RNN_OPT_SGD, momentum, nan);
    BAD(RNN_OPT_SGD, nesterov, 1); /* momentum 0 */
    BAD(RNN_OPT_SGD, weight_decay, -1e-3);
    BAD(RNN_OPT_SGD, weight_decay, inf);
    BAD(RNN_OPT_ADAM, beta1, 1.0);
    BAD(RNN_OPT_ADAM, beta1, -0.5);
    BAD(RNN_OPT_ADAM, beta2, 1.5);
    BAD(RNN_OPT_ADAM, beta2, nan);
    BAD(RNN_OPT_ADAM, eps, -1e-8);
    BAD(RNN_OPT_ADAM, eps, inf);
    BAD(RNN_OPT_ADAM, eps, nan);
    BAD(RNN_OPT_ADAMW, weight_decay, nan);
    BAD(RNN_OPT_ADAMW, beta1, 1.0);
    BAD(RNN_OPT_RMSPROP, alpha, 1.0);
    BAD(RNN_OPT_RMSPROP, alpha, -0.1);
    BAD(RNN_OPT_RMSPROP, momentum, 2.0);
    BAD(RNN_OPT_RMSPROP, eps, -1.0);
    BAD(RNN_OPT_RMSPROP, weight_decay, -1.0);
    BAD(RNN_OPT_SGD, kind, (rnn_optimizer)9);
#undef BAD
    rnn_optim_defaults(&c, RNN_OPT_SGD);
    expect_invalid("n = 0", &c, 0, RNN_EINVAL);
    rnn_optim_defaults(&c, RNN_OPT_ADAM);
    expect_invalid("2 slots x SIZE_MAX", &c, SIZE_MAX, RNN_EOVERFLOW);
    rnn_optim *o = NULL;
    CHECK(rnn_optim_new(&o, NULL, 4, NULL) == RNN_EINVAL && o == NULL);
    CHECK(rnn_optim_new(NULL, &c, 4, NULL) == RNN_EINVAL);

    /* Accepted: every default, the boundaries, and fields the kind ignores. */
    for (int k = RNN_OPT_SGD; k <= RNN_OPT_RMSPROP; k++) {
        rnn_optim_defaults(&c, (rnn_optimizer)k);
        CHECK_OK(rnn_optim_new(&o, &c, 1, NULL));
        rnn_optim_free(o);
    }
    rnn_optim_defaults(&c, RNN_OPT_ADAM);
    c.momentum = 5; /* Adam does not use momentum */
    c.beta1 = 0;
    c.eps = 0;
    CHECK_OK(rnn_optim_new(&o, &c, 1, NULL));
    rnn_optim_free(o);
    rnn_optim_free(NULL);
}

static void test_optim_defaults(void)
{
    rnn_optim_config c;
    rnn_optim_defaults(&c, RNN_OPT_ADAMW);
    CHECK(c.kind == RNN_OPT_ADAMW && c.weight_decay == 0.01);
    CHECK(c.beta1 == 0.9 && c.beta2 == 0.999 && c.eps == 1e-8);
    rnn_optim_defaults(&c, RNN_OPT_ADAM);
    CHECK(c.weight_decay == 0 && c.momentum == 0 && !c.nesterov);
    rnn_optim_defaults(&c, RNN_OPT_RMSPROP);
    CHECK(c.alpha == 0.99 && c.eps == 1e-8 && c.momentum == 0 && c.weight_decay == 0);
    rnn_optim_defaults(&c, RNN_OPT_SGD);
    CHECK(c.momentum == 0 && !c.nesterov && c.weight_decay == 0);
}

static void test_optimizer_names(void)
{
    for (int k = RNN_OPT_SGD; k <= RNN_OPT_RMSPROP; k++) {
        const char *s = rnn_optimizer_name((rnn_optimizer)k);
        CHECK_MSG(rnn_optimizer_from_name(s) == k, "%s does not round-trip", s);
    }
    CHECK(strcmp(rnn_optimizer_name(RNN_OPT_RMSPROP), "rmsprop") == 0);
    CHECK(strcmp(rnn_optimizer_name(RNN_OPT_ADAMW), "adamw") == 0);
    CHECK(strcmp(rnn_optimizer_name((rnn_optimizer)42), "unknown") == 0);
    CHECK(rnn_optimizer_from_name("ADAM") == -1);
    CHECK(rnn_optimizer_from_name("adam ") == -1);
    CHECK(rnn_optimizer_from_name("") == -1);
    CHECK(rnn_optimizer_from_name("unknown") == -1);
    CHECK(rnn_optimizer_from_name(NULL) == -1);
}

static void test_sgd_first_step_copies(void)
{
    /* torch starts the momentum buffer as a copy of d_p: a -0.0 gradient
     * stays -0.0 in the buffer (mu*0 + -0.0 would give +0.0). */
    rnn_optim_config c;
    rnn_optim_defaults(&c, RNN_OPT_SGD);
    c.momentum = 0.5;
    rnn_optim *o = NULL;
    CHECK_OK(rnn_optim_new(&o, &c, 2, NULL));
    if (!o)
        return;
    float p[2] = {1, 2}, g[2] = {-0.0f, 4};
    rnn_optim_step(o, p, g, 0.25);
    int slots;
    float *buf = rnn_optim_state(o, &slots, NULL);
    CHECK(slots == 1 && signbit(buf[0]) && buf[1] == 4);
    CHECK(p[0] == 1 && p[1] == 1);
    rnn_optim_step(o, p, g, 0.25); /* buf = 0.5*4 + 4 = 6 */
    CHECK(buf[1] == 6 && p[1] == -0.5f);
    rnn_optim_free(o);
}

static void test_clip_fixtures(void)
{
    rnn__st f;
    if (!open_fixture(&f))
        return;
    static const char *const cases[] = {"clip_norm_above", "clip_norm_below"};
    for (int c = 0; c < 2; c++) {
        char name[64];
        float g[N], want[N];
        double max_norm, norm;
#define GET(kind, suffix, buf, count) \
    (snprintf(name, sizeof name, "%s.%s", cases[c], suffix), get_##kind(&f, name, buf, count))
        if (!GET(f32, "g", g, N) || !GET(f32, "out", want, N) ||
            !GET(f64, "max_norm", &max_norm, 1) || !GET(f64, "norm", &norm, 1))
            continue;
#undef GET
        float orig[N];
        memcpy(orig, g, sizeof g);
        double got = rnn_clip_grad_norm(g, N, max_norm);
        /* torch sums in float32; ours is the double norm */
        CHECK_NEAR(got, norm, 1e-6 * norm);
        t_allclose(cases[c], g, want, N, ATOL, RTOL);
        if (c == 1)
            CHECK_MSG(memcmp(g, orig, sizeof g) == 0, "below the threshold g changed");
    }
    float g[N], want[N];
    double clip;
    if (get_f32(&f, "clip_value.g", g, N) && get_f32(&f, "clip_value.out", want, N) &&
        get_f64(&f, "clip_value.clip", &clip, 1)) {
        rnn_clip_grad_value(g, N, clip);
        CHECK_MSG(memcmp(g, want, sizeof g) == 0, "clip_grad_value differs from torch");
    }
    rnn__st_free(&f);
}

static void test_clip_edge_cases(void)
{
    float g[5] = {3, -4, 0, 0, 0}, orig[5];
    /* norm 5: scale = 1/(5 + 1e-6) < 1 */
    double n = rnn_clip_grad_norm(g, 5, 1.0);
    CHECK(n == 5.0);
    CHECK_NEAR(g[0], 0.6, 1e-6);
    CHECK_NEAR(g[1], -0.8, 1e-6);
    /* exactly at the threshold the 1e-6 makes the scale < 1 as in torch */
    float h[2] = {3, 4};
    CHECK(rnn_clip_grad_norm(h, 2, 5.0) == 5.0 && h[0] < 3.0f);
    float z[3] = {0, 0, 0};
    CHECK(rnn_clip_grad_norm(z, 3, 1.0) == 0 && z[0] == 0);
    CHECK(rnn_clip_grad_norm(NULL, 0, 1.0) == 0);

    float bad[4] = {1, NAN, 2, 3};
    memcpy(orig, bad, sizeof bad);
    CHECK(isnan(rnn_clip_grad_norm(bad, 4, 1.0)));
    CHECK_MSG(memcmp(bad, orig, sizeof bad) == 0, "NaN gradient was modified");
    float big[3] = {1, INFINITY, -2};
    memcpy(orig, big, sizeof big);
    CHECK(isinf(rnn_clip_grad_norm(big, 3, 1.0)));
    CHECK(memcmp(big, orig, sizeof big) == 0);

    float v[5] = {-3, 0.5f, 2, NAN, -0.25f};
    rnn_clip_grad_value(v, 5, 1.0);
    CHECK(v[0] == -1 && v[1] == 0.5f && v[2] == 1 && isnan(v[3]) && v[4] == -0.25f);
}

static void test_schedule_fixtures(void)
{
    rnn__st f;
    if (!open_fixture(&f))
        return;
    struct {
        const char *name;
        rnn_schedule s;
        size_t steps;
    } cases[] = {
        {"step", {RNN_SCHED_STEP, 0, 3, 0.5, 0, 0}, 12},
        {"cosine", {RNN_SCHED_COSINE, 0, 0, 0, 10, 0.001}, 11},
        {"warmup_cosine", {RNN_SCHED_COSINE, 4, 0, 0, 8, 0.001}, 13},
        {"warmup_step", {RNN_SCHED_STEP, 3, 2, 0.1, 0, 0}, 10},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char name[64];
        double want[16], got[16];
        snprintf(name, sizeof name, "sched.%s.lr", cases[c].name);
        if (!get_f64(&f, name, want, cases[c].steps))
            continue;
        for (size_t k = 0; k < cases[c].steps; k++)
            got[k] = rnn_schedule_lr(&cases[c].s, 0.1, (int64_t)k);
        /* torch's schedulers are chainable: equal up to rounding */
        t_allclose_d(name, got, want, cases[c].steps, 1e-15, 1e-12);
    }
    rnn__st_free(&f);
}

static void test_schedule_boundaries(void)
{
    const double lr = 0.5;
    rnn_schedule s = {RNN_SCHED_CONSTANT, 0, 0, 0, 0, 0};
    CHECK(rnn_schedule_lr(&s, lr, 0) == lr && rnn_schedule_lr(&s, lr, 1000000) == lr);
    CHECK(rnn_schedule_lr(NULL, lr, 7) == lr);
    s.warmup = 4; /* 1/4, 2/4, 3/4, 1, then constant */
    CHECK(rnn_schedule_lr(&s, lr, 0) == lr / 4);
    CHECK(rnn_schedule_lr(&s, lr, -3) == lr / 4); /* negative = step 0 */
    CHECK(rnn_schedule_lr(&s, lr, 2) == lr * 3 / 4);
    CHECK(rnn_schedule_lr(&s, lr, 3) == lr);
    CHECK(rnn_schedule_lr(&s, lr, 4) == lr);
    s.warmup = -2; /* none */
    CHECK(rnn_schedule_lr(&s, lr, 0) == lr);

    rnn_schedule st = {RNN_SCHED_STEP, 0, 10, 0.1, 0, 0};
    CHECK(rnn_schedule_lr(&st, lr, 9) == lr);
    CHECK(rnn_schedule_lr(&st, lr, 10) == lr * 0.1);
    CHECK(rnn_schedule_lr(&st, lr, 29) == lr * pow(0.1, 2));
    st.warmup = 5; /* the decay clock starts after the warm-up */
    CHECK(rnn_schedule_lr(&st, lr, 4) == lr);
    CHECK(rnn_schedule_lr(&st, lr, 14) == lr);
    CHECK(rnn_schedule_lr(&st, lr, 15) == lr * 0.1);
    st.step_size = 0; /* invalid: constant */
    CHECK(rnn_schedule_lr(&st, lr, 100) == lr);

    rnn_schedule cs = {RNN_SCHED_COSINE, 0, 0, 0, 100, 0.01};
    CHECK(rnn_schedule_lr(&cs, lr, 0) == lr);
    CHECK_NEAR(rnn_schedule_lr(&cs, lr, 50), (lr + 0.01) / 2, 1e-15);
    CHECK(rnn_schedule_lr(&cs, lr, 100) == 0.01);
    CHECK(rnn_schedule_lr(&cs, lr, 150) == 0.01); /* held, not periodic */
    CHECK(rnn_schedule_lr(&cs, lr, INT64_MAX) == 0.01);
    CHECK(rnn_schedule_lr(&cs, lr, 99) > 0.01);
    cs.warmup = 10;
    CHECK(rnn_schedule_lr(&cs, lr, 9) == lr);
    CHECK(rnn_schedule_lr(&cs, lr, 10) == lr);
    CHECK(rnn_schedule_lr(&cs, lr, 110) == 0.01);
    cs.total = 0; /* invalid: constant after the warm-up */
    CHECK(rnn_schedule_lr(&cs, lr, 0) == lr / 10);
    CHECK(rnn_schedule_lr(&cs, lr, 500) == lr);
}

void suite_optim(void);
void suite_optim(void)
{
    RUN(test_optim_fixtures);
    RUN(test_missing_fixture_fails);
    RUN(test_optim_state_roundtrip);
    RUN(test_optim_config_validation);
    RUN(test_optim_defaults);
    RUN(test_optimizer_names);
    RUN(test_sgd_first_step_copies);
    RUN(test_clip_fixtures);
    RUN(test_clip_edge_cases);
    RUN(test_schedule_fixtures);
    RUN(test_schedule_boundaries);
}
