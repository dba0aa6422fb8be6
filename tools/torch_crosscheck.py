#!/usr/bin/python3
"""torch_crosscheck.py -- randomized cross-check of `rnn run` against PyTorch.

    /usr/bin/python3 tools/torch_crosscheck.py --rnn build/rnn [--cases N] [--seed S]
                                               [--keep DIR] [--only K] [-v]

For each of N random configurations (cell rnn_tanh/rnn_relu/lstm/gru, 1-3 layers,
uni/bidirectional, T 1-12, B 1-4, I and H 1-20, no lengths / all lengths = T /
random lengths in 1..T (often with a 1 and a T), batch-first or not, a random
prefix with unrelated tensors beside it or none, x float32 or float64, lengths
int64 or int32, h0/c0 given or omitted, with or without --grad-output and
--grad-hn/--grad-cn) it writes the inputs to a directory, runs

    rnn run --weights W.safetensors --input X.npy [--h0 ..] [--c0 ..] [--lengths ..]
            [--nonlinearity tanh|relu] [--batch-first] [--prefix P]
            --output Y.npy [--hn ..] [--cn ..]
            [--grad-output DY.npy [--grad-hn ..] [--grad-cn ..] --grads G.safetensors]

and compares every output with PyTorch computed in float64 from the same float32
weights and inputs:  |a - b| <= atol' + rtol*|b|,  rtol = 1e-4, atol = 1e-5
(atol' is atol scaled by the tensor's magnitude, see tolerance()).  Output dtypes,
shapes and the exact set of gradient names are checked too.

Prints one line per failing case (config, tensor, worst element) and ends with
"torch cross-check: N passed, N failed".  Exit status: 0 all passed, 1 any failure
(including a crash, a timeout or a non-zero exit of the CLI), 2 usage problems
(torch not importable, no such binary).  Every case is reproducible on its own
with the same --seed and --only K.
"""

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile

try:
    import numpy as np
    import torch
except ImportError as e:
    sys.stderr.write("torch_crosscheck: cannot import torch/numpy (%s).\n"
                     "Run it with Debian's /usr/bin/python3 and python3-torch installed "
                     "(apt-get install python3-torch).\n" % e)
    sys.exit(2)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sttools  # noqa: E402
# The verified reference path of the fixtures (nn module + packed sequences + autograd).
from gen_fixtures import make_module, forward_backward  # noqa: E402

RTOL = 1e-4
ATOL = 1e-5
CELLS = ["rnn_tanh", "rnn_relu", "lstm", "gru"]
PREFIXES = ["rnn.", "model.encoder.", "lstm_0.", "x."]
TIMEOUT = 120  # seconds per CLI run; the cases are tiny


def tolerance(want):
    """Per-element bound atol' + rtol*|want| for one reference tensor.

    atol is scaled by max(1, max|want|) of the tensor.  Why: the float32 rounding
    error of an element that is a sum of products (a GEMM entry, a weight gradient
    summed over T*B steps, a 3-layer relu stack whose activations grow) is
    proportional to the size of the summands, not of the result.  An element
    that ends up near zero by cancellation inside a tensor of values ~50 can then
    carry an absolute error well above a fixed 1e-5 with a perfectly correct
    implementation.  For tensors with values <= 1 (all outputs of tanh/sigmoid
    cells) this is exactly atol = 1e-5; real bugs give errors of the order of the
    values themselves and are still caught by orders of magnitude.
    Measured with a float32 PyTorch stand-in for the CLI over 300 cases: worst
    |diff|/tol 0.08 even without the scaling, and relu stacks (1-3 layers, default
    init) reach max |value| ~20, so the scaling loosens atol by at most ~20x; it is
    headroom for a different summation order (BLAS blocking) and approximated
    sigmoid/tanh, not a cover for a known discrepancy.
    """
    scale = max(1.0, float(np.max(np.abs(want)))) if want.size else 1.0
    return ATOL * scale + RTOL * np.abs(want)


# ----------------------------------------------------------------- configurations

def random_config(rng):
    """One random configuration; rng is the case's own generator."""
    cfg = {}
    cfg["cell"] = str(rng.choice(CELLS))
    cfg["layers"] = int(rng.integers(1, 4))
    cfg["bidirectional"] = bool(rng.random() < 0.5)
    cfg["T"] = int(rng.integers(1, 13))
    cfg["B"] = int(rng.integers(1, 5))
    cfg["I"] = int(rng.integers(1, 21))
    cfg["H"] = int(rng.integers(1, 21))
    T, B = cfg["T"], cfg["B"]
    mode = str(rng.choice(["none", "full", "random"], p=[0.3, 0.15, 0.55]))
    if mode == "none":
        cfg["lengths"] = None
    elif mode == "full":
        cfg["lengths"] = [T] * B
    else:
        lens = rng.integers(1, T + 1, size=B)
        # Make the edge cases frequent: a sequence of length 1 and one of length T
        # (at random positions, so the batch stays unsorted).
        if rng.random() < 0.5:
            lens[rng.integers(B)] = 1
        if rng.random() < 0.5:
            lens[rng.integers(B)] = T
        cfg["lengths"] = [int(v) for v in lens]
    cfg["lengths_dtype"] = str(rng.choice(["int64", "int32"]))
    cfg["batch_first"] = bool(rng.random() < 0.5)
    cfg["prefix"] = str(rng.choice(PREFIXES)) if rng.random() < 0.5 else ""
    cfg["x_dtype"] = str(rng.choice(["float32", "float64"]))
    lstm = cfg["cell"] == "lstm"
    cfg["give_h0"] = bool(rng.random() < 0.6)
    cfg["give_c0"] = lstm and bool(rng.random() < 0.6)
    cfg["want_hn"] = bool(rng.random() < 0.85)
    cfg["want_cn"] = lstm and bool(rng.random() < 0.85)
    cfg["grad"] = bool(rng.random() < 0.75)
    cfg["grad_hn"] = cfg["grad"] and bool(rng.random() < 0.6)
    cfg["grad_cn"] = cfg["grad"] and lstm and bool(rng.random() < 0.6)
    # --nonlinearity: required for relu; for tanh sometimes explicit, sometimes default.
    if cfg["cell"] == "rnn_relu":
        cfg["nonlinearity"] = "relu"
    elif cfg["cell"] == "rnn_tanh" and rng.random() < 0.5:
        cfg["nonlinearity"] = "tanh"
    else:
        cfg["nonlinearity"] = None
    cfg["torch_seed"] = int(rng.integers(0, 2**31 - 1))
    return cfg


def describe(cfg):
    """A compact one-line summary of a configuration."""
    parts = ["%s L=%d %s T=%d B=%d I=%d H=%d" % (
        cfg["cell"], cfg["layers"], "bi" if cfg["bidirectional"] else "uni",
        cfg["T"], cfg["B"], cfg["I"], cfg["H"])]
    if cfg["lengths"] is not None:
        parts.append("lengths=%s(%s)" % (",".join(map(str, cfg["lengths"])),
                                         cfg["lengths_dtype"]))
    if cfg["batch_first"]:
        parts.append("batch_first")
    if cfg["prefix"]:
        parts.append("prefix=%s" % cfg["prefix"])
    parts.append("x=%s" % cfg["x_dtype"])
    parts.append("h0" if cfg["give_h0"] else "no-h0")
    if cfg["cell"] == "lstm":
        parts.append("c0" if cfg["give_c0"] else "no-c0")
    if cfg["grad"]:
        g = "grad"
        if cfg["grad_hn"]:
            g += "+dhn"
        if cfg["grad_cn"]:
            g += "+dcn"
        parts.append(g)
    return " ".join(parts)


# ------------------------------------------------------------------- one test case

def make_inputs(cfg, rng):
    """Weights (float32, PyTorch default init) and all input arrays for one case."""
    T, B, I, H, L = cfg["T"], cfg["B"], cfg["I"], cfg["H"], cfg["layers"]
    D = 2 if cfg["bidirectional"] else 1
    torch.manual_seed(cfg["torch_seed"])
    mod = make_module(cfg["cell"], L, cfg["bidirectional"], I, H)
    params = {k: v.numpy().copy() for k, v in mod.state_dict().items()}

    def normal(*shape, scale=1.0, dtype=np.float32):
        return (rng.standard_normal(shape) * scale).astype(dtype)

    data = {"params": params}
    xs = (B, T, I) if cfg["batch_first"] else (T, B, I)
    data["x"] = normal(*xs, dtype=np.dtype(cfg["x_dtype"]))
    data["h0"] = normal(D * L, B, H, scale=0.5) if cfg["give_h0"] else None
    data["c0"] = normal(D * L, B, H, scale=0.5) if cfg["give_c0"] else None
    ys = (B, T, D * H) if cfg["batch_first"] else (T, B, D * H)
    # dy nonzero everywhere, padded positions included: gradient must not leak through.
    data["dy"] = normal(*ys) if cfg["grad"] else None
    data["dhn"] = normal(D * L, B, H) if cfg["grad_hn"] else None
    data["dcn"] = normal(D * L, B, H) if cfg["grad_cn"] else None
    # Weights file: prefixed names; with a prefix also unrelated tensors, among them
    # one whose name ends like a parameter of ours but with the wrong prefix/shape.
    weights = {}
    if cfg["prefix"]:
        weights["head.weight"] = normal(3, D * H)
        weights["decoder.weight_hh_l0"] = normal(2, 7)
    for k, v in params.items():
        weights[cfg["prefix"] + k] = v
    data["weights"] = weights
    return data


def reference(cfg, data):
    """Expected outputs and gradients, float64 from the exact float32 values."""
    T, B, H, L = cfg["T"], cfg["B"], cfg["H"], cfg["layers"]
    D = 2 if cfg["bidirectional"] else 1
    lstm = cfg["cell"] == "lstm"
    mod = make_module(cfg["cell"], L, cfg["bidirectional"], cfg["I"], H,
                      batch_first=cfg["batch_first"])
    mod.load_state_dict({k: torch.from_numpy(v) for k, v in data["params"].items()})
    mod = mod.double()
    dbl = lambda a: torch.from_numpy(np.asarray(a, dtype=np.float64))  # noqa: E731
    zeros = lambda *s: torch.zeros(*s, dtype=torch.float64)  # noqa: E731
    st = (D * L, B, H)
    ys = (B, T, D * H) if cfg["batch_first"] else (T, B, D * H)
    # Missing initial states and missing upstream gradients are zeros.
    h0 = dbl(data["h0"]) if data["h0"] is not None else zeros(*st)
    c0 = (dbl(data["c0"]) if data["c0"] is not None else zeros(*st)) if lstm else None
    dy = dbl(data["dy"]) if data["dy"] is not None else zeros(*ys)
    dhn = dbl(data["dhn"]) if data["dhn"] is not None else zeros(*st)
    dcn = (dbl(data["dcn"]) if data["dcn"] is not None else zeros(*st)) if lstm else None
    outs, grads = forward_backward(mod, dbl(data["x"]), h0, c0, cfg["lengths"], dy, dhn, dcn,
                                   batch_first=cfg["batch_first"])
    exp = {"y": outs["y"].numpy(), "hn": outs["hn"].numpy()}
    if lstm:
        exp["cn"] = outs["cn"].numpy()
    eg = {}
    for k, v in grads.items():
        eg[k if k in ("input", "h0", "c0") else cfg["prefix"] + k] = v.numpy()
    return exp, eg


def write_case(cfg, data, d):
    """Write the input files and return the argument list for `rnn run`."""
    sttools.save_file(data["weights"], os.path.join(d, "w.safetensors"),
                      {"generator": "tools/torch_crosscheck.py"})
    args = ["run", "--weights", "w.safetensors", "--input", "x.npy"]
    np.save(os.path.join(d, "x.npy"), data["x"])
    for key, flag in (("h0", "--h0"), ("c0", "--c0")):
        if data[key] is not None:
            np.save(os.path.join(d, key + ".npy"), data[key])
            args += [flag, key + ".npy"]
    if cfg["lengths"] is not None:
        np.save(os.path.join(d, "len.npy"), np.asarray(cfg["lengths"], dtype=cfg["lengths_dtype"]))
        args += ["--lengths", "len.npy"]
    if cfg["nonlinearity"]:
        args += ["--nonlinearity", cfg["nonlinearity"]]
    if cfg["batch_first"]:
        args += ["--batch-first"]
    if cfg["prefix"]:
        args += ["--prefix", cfg["prefix"]]
    args += ["--output", "out_y.npy"]
    if cfg["want_hn"]:
        args += ["--hn", "out_hn.npy"]
    if cfg["want_cn"]:
        args += ["--cn", "out_cn.npy"]
    if cfg["grad"]:
        np.save(os.path.join(d, "dy.npy"), data["dy"])
        args += ["--grad-output", "dy.npy"]
        for key, flag in (("dhn", "--grad-hn"), ("dcn", "--grad-cn")):
            if data[key] is not None:
                np.save(os.path.join(d, key + ".npy"), data[key])
                args += [flag, key + ".npy"]
        args += ["--grads", "out_grads.safetensors"]
    return args


def compare(label, got, want, want_dtype=np.float32):
    """-> None if got matches want, else (badness, message) for the worst element."""
    if got.dtype != want_dtype:
        return (float("inf"), "%s: dtype %s, expected %s" %
                (label, got.dtype, np.dtype(want_dtype)))
    if got.shape != want.shape:
        return (float("inf"), "%s: shape %s, expected %s" % (label, got.shape, want.shape))
    g = got.astype(np.float64)
    tol = tolerance(want)
    diff = np.abs(g - want)
    bad = ~(diff <= tol)                     # NaN in got counts as bad
    if not bad.any():
        return None
    ratio = np.where(np.isnan(diff), np.inf, diff / tol)
    i = np.unravel_index(int(np.argmax(np.where(bad, ratio, -1.0))), want.shape)
    return (float(ratio[i]),
            "%s: %d of %d elements differ; worst %s: got %.9g expected %.9g "
            "(|diff| %.3g > tol %.3g)" % (label, int(bad.sum()), want.size, list(i),
                                          g[i], want[i], diff[i], tol[i]))


def worst_ratio(got, want):
    """Largest |diff|/tol of a passing tensor (for the -v margin report)."""
    if got.shape != want.shape or not want.size:
        return 0.0
    return float(np.max(np.abs(got.astype(np.float64) - want) / tolerance(want)))


def run_case(rnn, cfg, data, d):
    """Run one case in directory d. -> (list of problems, margin); problems are
    (badness, message)."""
    args = write_case(cfg, data, d)
    with open(os.path.join(d, "cmd.txt"), "w") as f:
        f.write(" ".join(shlex.quote(a) for a in [rnn] + args) + "\n")
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
    try:
        p = subprocess.run([rnn] + args, cwd=d, capture_output=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return [(float("inf"), "CLI timed out after %d s" % TIMEOUT)], 0.0
    if p.returncode != 0:
        err = p.stderr.decode("utf-8", "replace").strip().splitlines()
        last = err[-1] if err else "(no message)"
        what = ("killed by signal %d" % -p.returncode if p.returncode < 0
                else "exit status %d" % p.returncode)
        return [(float("inf"), "CLI %s: %s" % (what, last))], 0.0

    exp, eg = reference(cfg, data)
    problems, margin = [], 0.0

    def check(label, path, want):
        nonlocal margin
        if not os.path.exists(path):
            problems.append((float("inf"), "%s: %s not written" % (label, os.path.basename(path))))
            return
        try:
            got = np.load(path, allow_pickle=False)
        except Exception as e:  # a malformed .npy is a failure of the CLI
            problems.append((float("inf"), "%s: cannot read %s: %s" %
                             (label, os.path.basename(path), e)))
            return
        r = compare(label, got, want)
        if r:
            problems.append(r)
        else:
            margin = max(margin, worst_ratio(got, want))

    check("y", os.path.join(d, "out_y.npy"), exp["y"])
    if cfg["want_hn"]:
        check("hn", os.path.join(d, "out_hn.npy"), exp["hn"])
    if cfg["want_cn"]:
        check("cn", os.path.join(d, "out_cn.npy"), exp["cn"])
    if cfg["grad"]:
        path = os.path.join(d, "out_grads.safetensors")
        try:
            got, _ = sttools.load_file(path)
        except (OSError, sttools.SafetensorsError) as e:
            problems.append((float("inf"), "grads: cannot read %s: %s" %
                             (os.path.basename(path), e)))
            got = None
        if got is not None:
            missing = [k for k in eg if k not in got]
            extra = [k for k in got if k not in eg]
            if missing or extra:
                problems.append((float("inf"), "grads: missing %s, unexpected %s" %
                                 (missing, extra)))
            for k in eg:
                if k in got:
                    r = compare("grad %s" % k, got[k], eg[k])
                    if r:
                        problems.append(r)
                    else:
                        margin = max(margin, worst_ratio(got[k], eg[k]))
    return problems, margin


# ---------------------------------------------------------------------------- main

def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Randomized cross-check of `rnn run` against PyTorch (float64 reference).",
        epilog="Example: /usr/bin/python3 tools/torch_crosscheck.py --rnn build/rnn --cases 120")
    ap.add_argument("--rnn", required=True, help="path to the rnn binary")
    ap.add_argument("--cases", type=int, default=100, help="number of random cases (default 100)")
    ap.add_argument("--seed", type=int, default=1, help="base seed (default 1)")
    ap.add_argument("--keep", metavar="DIR",
                    help="keep every case's files (inputs, outputs, cmd.txt, config.json) "
                         "in DIR/case_NNNN instead of a temporary directory")
    ap.add_argument("--only", type=int, metavar="K",
                    help="run only case K (0-based) of the sequence given by --seed")
    ap.add_argument("-v", "--verbose", action="store_true",
                    help="print every case, with its worst |diff|/tol when it passes")
    a = ap.parse_args(argv)

    rnn = os.path.abspath(a.rnn)
    if not (os.path.isfile(rnn) and os.access(rnn, os.X_OK)):
        sys.stderr.write("torch_crosscheck: %s is not an executable file (build it first: make)\n"
                         % a.rnn)
        return 2
    if a.cases < 0:
        ap.error("--cases must be >= 0")

    torch.set_num_threads(1)
    indices = [a.only] if a.only is not None else range(a.cases)
    tmp = None
    if a.keep:
        base = a.keep
        os.makedirs(base, exist_ok=True)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="rnn-crosscheck-")
        base = tmp.name
    passed = failed = 0
    worst_margin = 0.0
    try:
        for k in indices:
            # Each case has its own generator, so --only K reproduces case K exactly.
            rng = np.random.default_rng([a.seed, k])
            cfg = random_config(rng)
            data = make_inputs(cfg, rng)
            d = os.path.join(base, "case_%04d" % k)
            os.makedirs(d, exist_ok=True)
            problems, margin = run_case(rnn, cfg, data, d)
            if problems:
                failed += 1
                problems.sort(key=lambda p: -p[0])
                more = " (+%d more)" % (len(problems) - 1) if len(problems) > 1 else ""
                print("FAIL case %d [%s]: %s%s   (reproduce: --seed %d --only %d)" %
                      (k, describe(cfg), problems[0][1], more, a.seed, k))
            else:
                passed += 1
                worst_margin = max(worst_margin, margin)
                if a.verbose:
                    print("ok   case %d [%s] worst |diff|/tol %.3g" % (k, describe(cfg), margin))
            sys.stdout.flush()
            if tmp is not None:
                # Keep the temporary directory small: each case is independent.
                for f in os.listdir(d):
                    os.unlink(os.path.join(d, f))
                os.rmdir(d)
    finally:
        if tmp is not None:
            tmp.cleanup()
    if a.verbose and passed:
        print("worst |diff|/tol over passing cases: %.3g" % worst_margin)
    print("torch cross-check: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
