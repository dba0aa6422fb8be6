#!/usr/bin/python3
"""gen_optim_fixtures.py [OUT] -- PyTorch reference values for src/model/optim.c.

Run with Debian's interpreter, which has python3-torch (1.13):

    /usr/bin/python3 tools/gen_optim_fixtures.py tests/fixtures/optim.safetensors

(OUT defaults to that path). The output is byte-for-byte reproducible (fixed
seed, no timestamps). tests/test_optim.c reads it.

Optimizer cases, N = 37 parameters (not a multiple of torch's 8- or 16-wide
vector loops, so the scalar tail is exercised too), K = 5 steps:

    <case>.p0      F32 [N]      initial parameters
    <case>.grads   F32 [K, N]   gradient fed to step k
    <case>.lr      F64 [K]      learning rate of step k (set on the param
                                group before the step; it changes between steps)
    <case>.params  F32 [K, N]   parameters after step k, computed by torch.optim
                                on a float32 tensor (foreach=False: the
                                single-tensor path)
    <case>.state   F32 [S, N]   the optimizer state after the last step, in
                                rnn_optim_state's slot order (absent when S = 0)

    case                 torch optimizer
    sgd                  SGD()
    sgd_momentum         SGD(momentum=0.9)
    sgd_nesterov_wd      SGD(momentum=0.9, nesterov=True, weight_decay=0.01)
    adam                 Adam()
    adam_wd              Adam(weight_decay=0.01)
    adamw                AdamW()                      (weight_decay 0.01)
    rmsprop              RMSprop()
    rmsprop_momentum_wd  RMSprop(momentum=0.9, weight_decay=0.01)

Learning rates: (0.1, 0.05, 0.05, 0.2, 0.01) times 1 for SGD, 0.1 for Adam,
AdamW and RMSprop. Metadata "case.<name>" spells out each configuration.

Gradient clipping:
    clip_norm_above.{g,out} F32 [N], .max_norm .norm F64 [1]
                            torch.nn.utils.clip_grad_norm_ with a threshold
                            below the norm (g is scaled)
    clip_norm_below.*       the same with a threshold above it (g unchanged)
    clip_value.{g,out} F32 [N], .clip F64 [1]  clip_grad_value_

Learning-rate schedules: sched.<name>.lr F64 [steps], the lr that torch's
scheduler sets before each step (param_groups[0]["lr"], base lr 0.1):
    step          StepLR(step_size=3, gamma=0.5), 12 steps
    cosine        CosineAnnealingLR(T_max=10, eta_min=0.001), steps 0..10
    warmup_cosine SequentialLR([LinearLR(start_factor=1/4, total_iters=3),
                  CosineAnnealingLR(T_max=8, eta_min=0.001)], milestones=[4]),
                  steps 0..12
    warmup_step   SequentialLR([LinearLR(start_factor=1/3, total_iters=2),
                  StepLR(step_size=2, gamma=0.1)], milestones=[3]), 10 steps
torch's schedulers are chainable (each lr is derived from the previous one),
so these agree with rnn_schedule_lr's closed forms only to rounding (~1e-16
relative); the cosine cases stop at T_max, after which torch's cosine rises
again while rnn_schedule_lr holds min_lr.

Before writing, every optimizer trajectory is checked against a float64
re-implementation of the update equations (loose tolerance: it catches a
wrong configuration, not rounding), and the file is read back afterwards.
"""

import math
import os
import sys
import warnings

import numpy as np

try:
    import torch
except ImportError as e:  # pragma: no cover - depends on the machine
    sys.exit("gen_optim_fixtures.py: cannot import torch (%s); run it with "
             "/usr/bin/python3 (Debian's python3-torch)" % e)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sttools  # noqa: E402

GENERATOR = "tools/gen_optim_fixtures.py"
SEED = 20240611
N, K = 37, 5
LRS = (0.1, 0.05, 0.05, 0.2, 0.01)

# name, torch class, keyword arguments, lr scale
CASES = [
    ("sgd", "SGD", {}, 1.0),
    ("sgd_momentum", "SGD", {"momentum": 0.9}, 1.0),
    ("sgd_nesterov_wd", "SGD", {"momentum": 0.9, "nesterov": True, "weight_decay": 0.01}, 1.0),
    ("adam", "Adam", {}, 0.1),
    ("adam_wd", "Adam", {"weight_decay": 0.01}, 0.1),
    ("adamw", "AdamW", {}, 0.1),
    ("rmsprop", "RMSprop", {}, 0.1),
    ("rmsprop_momentum_wd", "RMSprop", {"momentum": 0.9, "weight_decay": 0.01}, 0.1),
]


def torch_trajectory(cls, kw, p0, grads, lrs):
    """Runs torch.optim.<cls> on a float32 parameter; returns (params per step,
    state slots in rnn_optim_state's order)."""
    p = torch.nn.Parameter(torch.from_numpy(p0.copy()))
    opt = getattr(torch.optim, cls)([p], lr=lrs[0], foreach=False, **kw)
    out = []
    for g, lr in zip(grads, lrs):
        p.grad = torch.from_numpy(g.copy())
        for group in opt.param_groups:
            group["lr"] = float(lr)
        opt.step()
        out.append(p.detach().numpy().copy())
    st = opt.state[p]
    if cls == "SGD":
        keys = ["momentum_buffer"] if kw.get("momentum", 0) else []
    elif cls in ("Adam", "AdamW"):
        keys = ["exp_avg", "exp_avg_sq"]
    else:
        keys = ["square_avg"] + (["momentum_buffer"] if kw.get("momentum", 0) > 0 else [])
    state = [st[k].numpy().copy() for k in keys]
    return np.stack(out), (np.stack(state) if state else None)


def reference_trajectory(cls, kw, p0, grads, lrs):
    """The update equations of the torch.optim documentation in float64."""
    p = p0.astype(np.float64)
    mu = kw.get("momentum", 0.0)
    wd = kw.get("weight_decay", 0.01 if cls == "AdamW" else 0.0)
    b1, b2, eps, alpha = 0.9, 0.999, 1e-8, 0.99
    buf = m = v = sq = None
    out = []
    for t, (g, lr) in enumerate(zip(grads.astype(np.float64), lrs), start=1):
        if cls == "SGD":
            d = g + wd * p
            if mu:
                buf = d.copy() if buf is None else mu * buf + d
                d = d + mu * buf if kw.get("nesterov") else buf
            p = p - lr * d
        elif cls in ("Adam", "AdamW"):
            if cls == "AdamW":
                p = p * (1 - lr * wd)
            else:
                g = g + wd * p
            m = (1 - b1) * g if m is None else b1 * m + (1 - b1) * g
            v = (1 - b2) * g * g if v is None else b2 * v + (1 - b2) * g * g
            denom = np.sqrt(v) / math.sqrt(1 - b2 ** t) + eps
            p = p - lr / (1 - b1 ** t) * m / denom
        else:
            g = g + wd * p
            sq = (1 - alpha) * g * g if sq is None else alpha * sq + (1 - alpha) * g * g
            avg = np.sqrt(sq) + eps
            if mu > 0:
                buf = g / avg if buf is None else mu * buf + g / avg
                p = p - lr * buf
            else:
                p = p - lr * g / avg
        out.append(p.copy())
    return np.stack(out)


def describe(cls, kw):
    return "torch.optim.%s(%s), foreach=False, float32" % (
        cls, ", ".join("%s=%r" % kv for kv in sorted(kw.items())))


def optimizer_cases(rng, tensors, meta):
    for name, cls, kw, scale in CASES:
        p0 = rng.standard_normal(N).astype(np.float32)
        # Gradients of varying size per step, one exact zero and one -0.0 in
        # each, so that sign-of-zero handling shows too.
        grads = np.stack([(rng.standard_normal(N) * s).astype(np.float32)
                          for s in (1.0, 0.5, 2.0, 0.1, 1.0)])
        grads[:, 3] = 0.0
        grads[:, 4] = -0.0
        lrs = np.array([lr * scale for lr in LRS], dtype=np.float64)
        params, state = torch_trajectory(cls, kw, p0, grads, lrs)
        ref = reference_trajectory(cls, kw, p0, grads, lrs)
        if not np.allclose(params, ref, rtol=1e-4, atol=1e-5):
            raise AssertionError("%s: torch and the float64 equations disagree "
                                 "(max diff %g)" % (name, np.abs(params - ref).max()))
        tensors[name + ".p0"] = p0
        tensors[name + ".grads"] = grads
        tensors[name + ".lr"] = lrs
        tensors[name + ".params"] = params
        if state is not None:
            tensors[name + ".state"] = state
        meta["case." + name] = describe(cls, kw)


def clip_cases(rng, tensors, meta):
    g = (rng.standard_normal(N) * 2.0).astype(np.float32)
    norm = float(np.sqrt(np.sum(g.astype(np.float64) ** 2)))
    for name, max_norm in (("clip_norm_above", round(norm / 3, 3)),
                           ("clip_norm_below", round(norm * 2, 3))):
        p = torch.nn.Parameter(torch.zeros(N))
        p.grad = torch.from_numpy(g.copy())
        total = torch.nn.utils.clip_grad_norm_([p], max_norm)
        tensors[name + ".g"] = g
        tensors[name + ".max_norm"] = np.array([max_norm], dtype=np.float64)
        tensors[name + ".norm"] = np.array([float(total)], dtype=np.float64)
        tensors[name + ".out"] = p.grad.numpy().copy()
        meta["case." + name] = "torch.nn.utils.clip_grad_norm_(max_norm=%r)" % max_norm
    if np.array_equal(tensors["clip_norm_above.out"], g) or \
            not np.array_equal(tensors["clip_norm_below.out"], g):
        raise AssertionError("clip_grad_norm_ cases do not clip / keep as intended")
    c = 1.25
    p = torch.nn.Parameter(torch.zeros(N))
    p.grad = torch.from_numpy(g.copy())
    torch.nn.utils.clip_grad_value_([p], c)
    tensors["clip_value.g"] = g
    tensors["clip_value.clip"] = np.array([c], dtype=np.float64)
    tensors["clip_value.out"] = p.grad.numpy().copy()
    meta["case.clip_value"] = "torch.nn.utils.clip_grad_value_(clip_value=%r)" % c


def schedule_lrs(make, steps, base=0.1):
    """lr set by the scheduler before each of `steps` optimizer steps."""
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=base)
    sched = make(opt)
    out = []
    with warnings.catch_warnings():
        # SequentialLR passes an epoch to its children, which warns.
        warnings.simplefilter("ignore")
        for _ in range(steps):
            out.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
    return np.array(out, dtype=np.float64)


def schedule_cases(tensors, meta):
    S = torch.optim.lr_scheduler
    cases = [
        ("step", 12, lambda o: S.StepLR(o, step_size=3, gamma=0.5),
         "StepLR(step_size=3, gamma=0.5); rnn: STEP step_size 3 gamma 0.5"),
        ("cosine", 11, lambda o: S.CosineAnnealingLR(o, T_max=10, eta_min=0.001),
         "CosineAnnealingLR(T_max=10, eta_min=0.001); rnn: COSINE total 10 min_lr 0.001"),
        ("warmup_cosine", 13, lambda o: S.SequentialLR(o, [
            S.LinearLR(o, start_factor=1 / 4, end_factor=1.0, total_iters=3),
            S.CosineAnnealingLR(o, T_max=8, eta_min=0.001)], milestones=[4]),
         "SequentialLR(LinearLR(1/4, total_iters=3), CosineAnnealingLR(T_max=8, "
         "eta_min=0.001), milestones=[4]); rnn: COSINE warmup 4 total 8 min_lr 0.001"),
        ("warmup_step", 10, lambda o: S.SequentialLR(o, [
            S.LinearLR(o, start_factor=1 / 3, end_factor=1.0, total_iters=2),
            S.StepLR(o, step_size=2, gamma=0.1)], milestones=[3]),
         "SequentialLR(LinearLR(1/3, total_iters=2), StepLR(step_size=2, gamma=0.1), "
         "milestones=[3]); rnn: STEP warmup 3 step_size 2 gamma 0.1"),
    ]
    for name, steps, make, text in cases:
        tensors["sched.%s.lr" % name] = schedule_lrs(make, steps)
        meta["sched." + name] = text + "; base lr 0.1"


def main(argv):
    out = argv[1] if len(argv) > 1 else "tests/fixtures/optim.safetensors"
    torch.manual_seed(SEED)
    rng = np.random.default_rng(SEED)
    tensors, meta = {}, {}
    optimizer_cases(rng, tensors, meta)
    clip_cases(rng, tensors, meta)
    schedule_cases(tensors, meta)
    meta["generator"] = GENERATOR
    meta["torch"] = torch.__version__
    meta["seed"] = str(SEED)
    sttools.save_file(tensors, out, meta)
    got, got_meta = sttools.load_file(out)
    if list(got) != list(tensors) or got_meta != meta or not all(
            np.array_equal(got[k], v) for k, v in tensors.items()):
        raise AssertionError("%s: contents differ after reading back" % out)
    print("wrote %s: %d tensors" % (out, len(tensors)))


if __name__ == "__main__":
    main(sys.argv)
