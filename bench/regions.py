#!/usr/bin/env python3
"""Where a multi-thread training step loses against one thread: the wall time
of each OpenMP parallel region of `rnn bench train`, at 1 thread and at N,
per step, and the speed-up of each (`make bench-regions`).

  regions.py --rnn build/rnn --shim build/bench/omp_regions.so
             [--cell rnn] [--layers 2] [--hidden 256] [--seq-len 64] [--batch 32]
             [--steps 200] [--threads 2] [--runs 5]

Runs `rnn bench train` with the shim preloaded (bench/omp_regions.c), 1 thread
and N threads alternately, --runs times each; prints the medians over the runs:
milliseconds per training step in each region (the function GCC outlined it
into, named by addr2line; a region a step enters k times, as a layer's does
once per layer, is shown per call, j/k in the order the step makes them),
the serial rest of the step, and 1-thread time / N-thread time. A region whose ratio is well below N is where the threads
wait (for each other or for the memory another core wrote); the serial rest
runs on one core whatever N is. Wall times, on a shared machine: noisy.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

WARMUP = 3  # cmd_bench.c runs 3 untimed steps before the timed ones


def symbolize(obj, offsets):
    out = subprocess.run(["addr2line", "-f", "-e", obj] + ["0x" + o for o in offsets],
                         capture_output=True, text=True, check=True).stdout.split("\n")
    names = {}
    for i, off in enumerate(offsets):
        name = out[2 * i] if 2 * i < len(out) else "?"
        names[off] = name.replace("._omp_fn.0", "").replace("rnn__", "")
    return names


def run_once(a, threads):
    """Per region and call j of its k calls in a step: ms in each timed step;
    the step's median ms (as `rnn bench train` prints it); the median ms in
    all regions."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "regions.txt")
        env = dict(os.environ, LD_PRELOAD=os.path.abspath(a.shim), RNN_REGIONS_OUT=path)
        cmd = [a.rnn, "bench", "train", "--cell", a.cell, "--layers", str(a.layers),
               "--hidden", str(a.hidden), "--seq-len", str(a.seq_len), "--batch", str(a.batch),
               "--steps", str(a.steps), "--threads", str(threads)]
        p = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if p.returncode != 0:
            sys.exit(f"regions.py: {' '.join(cmd)} failed ({p.returncode}): {p.stderr.strip()}")
        step_ms = json.loads(p.stdout.strip().splitlines()[-1])["step_ms"]
        rows = []
        with open(path) as f:
            for line in f:
                if line.startswith("#"):
                    sys.exit(f"regions.py: {line.strip()}")
                off, obj, *secs = line.split()
                rows.append((off, obj, [float(x) for x in secs]))
    # the calls of a region made once (or k times) per step, by step; the
    # j-th of k calls of a step apart from the others (a layer's region runs
    # once per layer: j is the layer, in the order the step calls them); the
    # warm-up steps dropped. Other regions (setup) are left out.
    n = a.steps + WARMUP
    per_step = {}
    for off, obj, secs in rows:
        if len(secs) % n:
            continue
        k = len(secs) // n
        for j in range(k):
            per_step[(obj, off, j, k)] = [1e3 * secs[i * k + j] for i in range(WARMUP, n)]
    inside = [sum(v[i] for v in per_step.values()) for i in range(a.steps)]
    return per_step, step_ms, statistics.median(inside)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rnn", default="build/rnn")
    p.add_argument("--shim", default="build/bench/omp_regions.so")
    p.add_argument("--cell", default="rnn")
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--seq-len", type=int, default=64)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--runs", type=int, default=5)
    a = p.parse_args()
    if a.threads < 2 or a.runs < 1 or a.steps < 1:
        sys.exit("regions.py: --threads must be at least 2, --runs and --steps at least 1")
    for f in (a.rnn, a.shim):
        if not os.path.exists(f):
            sys.exit(f"regions.py: {f} not found (make bench-regions builds both)")

    res = {1: [], a.threads: []}
    for _ in range(a.runs):
        for th in (1, a.threads):
            res[th].append(run_once(a, th))

    keys = []
    for th in res:
        for per_step, _, _ in res[th]:
            for k in per_step:
                if k not in keys:
                    keys.append(k)
    if not keys:
        sys.exit("regions.py: no OpenMP region ran once per step: the shim sees GCC's libgomp "
                 "(GOMP_parallel) only; build rnn with gcc and OpenMP")
    names = {}
    for obj in sorted({k[0] for k in keys}):
        offs = sorted({k[1] for k in keys if k[0] == obj})
        sym = symbolize(obj, offs)
        for k in keys:
            if k[0] == obj:
                names[k] = sym[k[1]] + (f" {k[2] + 1}/{k[3]}" if k[3] > 1 else "")

    def med(th, k):
        # the median step of each run, then the median over the runs
        vals = [statistics.median(ps[k]) for ps, _, _ in res[th] if k in ps]
        return statistics.median(vals) if vals else 0.0

    step = {th: statistics.median([s for _, s, _ in res[th]]) for th in res}
    inside = {th: statistics.median([i for _, _, i in res[th]]) for th in res}
    print(f"rnn bench train --cell {a.cell} --layers {a.layers} --hidden {a.hidden} "
          f"--seq-len {a.seq_len} --batch {a.batch} --steps {a.steps}; medians of {a.runs} "
          f"alternating runs; OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}")
    print(f"{'region (call j/k of a step)':<32} {'1 thread ms':>12} {f'{a.threads} threads ms':>13} {'ratio':>6}")
    for k in sorted(keys, key=lambda k: -med(1, k)):
        m1, mn = med(1, k), med(a.threads, k)
        # a region an `if` clause skips at 1 thread (its work inline): no ratio
        ratio = f"{m1 / mn:6.2f}" if m1 > 0 and mn > 0 else "     -"
        c1 = f"{m1:12.3f}" if m1 > 0 else f"{'(inline)':>12}"
        print(f"{names[k]:<32} {c1} {mn:13.3f} {ratio}")
    print(f"{'all regions':<32} {inside[1]:12.3f} {inside[a.threads]:13.3f} "
          f"{inside[1] / inside[a.threads]:6.2f}")
    rest = {th: step[th] - inside[th] for th in res}
    print(f"{'outside them (serial)':<32} {rest[1]:12.3f} {rest[a.threads]:13.3f}")
    print(f"{'step (median)':<32} {step[1]:12.3f} {step[a.threads]:13.3f} "
          f"{step[1] / step[a.threads]:6.2f}")


if __name__ == "__main__":
    main()
