#!/usr/bin/python3
"""make bench-backends: whole training steps, forward passes and streaming
steps on each GEMM backend the library can be built with, in the same run.

  bench/backends.py [--runs N] [--builds own=build,blas=build/gemmblas,...]

`make bench-backends` first builds every backend (make GEMM=blas|onednn|
libxsmm; each installs its Debian package when missing and we are root),
then this script runs every case on every build, the builds alternating
within each pass so that the machine's slow and fast minutes fall on all of
them alike, and prints the median of N passes per case and build, and each
build's ratio to our own kernels (docs/performance.md, "The GEMM backends").
Bitwise results across thread counts hold only on our own kernels; the
libraries are a build choice for speed.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

CASES = [
    ("train 2xLSTM-256, 1 thread", "tokens_per_s",
     ["train", "--cell", "lstm", "--layers", "2", "--hidden", "256", "--seq-len", "64",
      "--batch", "32", "--steps", "20", "--threads", "1"]),
    ("train 2xLSTM-256, 2 threads", "tokens_per_s",
     ["train", "--cell", "lstm", "--layers", "2", "--hidden", "256", "--seq-len", "64",
      "--batch", "32", "--steps", "20", "--threads", "2"]),
    ("train 2xGRU-512, 1 thread", "tokens_per_s",
     ["train", "--cell", "gru", "--layers", "2", "--hidden", "512", "--seq-len", "64",
      "--batch", "32", "--steps", "6", "--threads", "1"]),
    ("forward 2xLSTM-256, 1 thread", "tokens_per_s",
     ["forward", "--cell", "lstm", "--layers", "2", "--hidden", "256", "--seq-len", "64",
      "--batch", "32", "--threads", "1"]),
    # 32 streams step together through the packed-weight GEMM (a single
    # stream takes the matrix-vector kernel, the same in every build)
    ("stream LSTM-256, 32 streams", "us_per_step",
     ["stream", "--cell", "lstm", "--input", "256", "--hidden", "256", "--streams", "32"]),
]


def run(rnn, args):
    p = subprocess.run([rnn, "bench"] + args, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{rnn} bench {' '.join(args)} failed ({p.returncode}): {p.stderr.strip()}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--builds", default="own=build,blas=build/gemmblas,onednn=build/gemmonednn,"
                                        "libxsmm=build/gemmlibxsmm")
    a = ap.parse_args()
    builds = [b.split("=", 1) for b in a.builds.split(",")]
    for name, d in builds:
        if not os.access(os.path.join(d, "rnn"), os.X_OK):
            sys.exit(f"bench/backends.py: {d}/rnn: not built (make GEMM={name})")
    res = {(c[0], b[0]): [] for c in CASES for b in builds}
    versions = {}
    for name, d in builds:
        v = subprocess.run([os.path.join(d, "rnn"), "--version"], capture_output=True, text=True).stdout
        versions[name] = " ".join(v.split("\n")[1:]).strip()
    for r in range(a.runs):
        for label, key, args in CASES:
            order = builds if r % 2 == 0 else builds[::-1]
            for name, d in order:
                res[(label, name)].append(run(os.path.join(d, "rnn"), args)[key])
        print(f"pass {r + 1}/{a.runs} done", file=sys.stderr)
    env = os.environ.get("OPENBLAS_CORETYPE", "(unset)")
    print(f"GEMM backends, whole runs of `rnn bench` (medians of {a.runs} passes; "
          f"OPENBLAS_CORETYPE={env}; shared, noisy machine)")
    for name, _ in builds:
        print(f"  {name:8s} {versions[name]}")
    print()
    head = f"{'case':30s}" + "".join(f"{n:>20s}" for n, _ in builds)
    print(head)
    for label, key, _ in CASES:
        own = statistics.median(res[(label, builds[0][0])])
        row = f"{label:30s}"
        for name, _ in builds:
            m = statistics.median(res[(label, name)])
            # ratio: how many times faster than ours (below 1: slower)
            ratio = m / own if key == "tokens_per_s" else own / m
            unit = "k tok/s" if key == "tokens_per_s" else " us"
            val = f"{m / 1000:.1f}{unit}" if key == "tokens_per_s" else f"{m:.3f}{unit}"
            row += f"{val + f' {ratio:.2f}x':>20s}"
        print(row)
    print("\n(each cell: the median, then its speed relative to the first build)")


if __name__ == "__main__":
    main()
