#!/usr/bin/python3
"""The char-LM comparison: `rnn train` and PyTorch 1.13 train char-rnn's model
(2 x LSTM-128, embedding 64, seq 50, batch 50, Adam 2e-3, clip 5) on the same
~1 MB public-domain English text for the same training time, in the same
session; the validation loss each reached at 2, 5 and 10 minutes is compared.

  bench/charlm_compare.py [--rnn build/rnn] [--minutes 2,5,10] [--out build/charlm]
                          [--threads 2] [--torch-threads 1] [--torch-blas-threads 1]

Time axis: training time only, for both. PyTorch's script pauses its clock during
validation and evaluates at each mark. Our log.csv counts wall time (evaluation
and checkpoint writing included), so our training time is rebuilt from the log:
each row gives the steps since the previous row and the training-only token rate
over them. Our value at a mark is the last evaluation at or before it (so we are
never credited with training beyond the mark; PyTorch evaluates just after it).
Each side runs at its best thread setting on this 2-core machine (ours: both
cores; PyTorch: 1 thread, 1 OpenBLAS thread, measured fastest in bench/README.md).
"""
import argparse
import csv
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def our_curve(log, T, B):
    """[(training seconds, val loss)] from our log.csv."""
    pts, t, prev = [], 0.0, 0
    with open(log) as f:
        for row in csv.DictReader(f):
            step, rate = int(row["step"]), float(row["tokens_per_s"])
            if rate > 0:
                t += (step - prev) * T * B / rate
            prev = step
            if row["val_loss"]:
                pts.append((t, float(row["val_loss"]), step))
    return pts


def torch_curve(log):
    pts = []
    with open(log) as f:
        for row in csv.DictReader(f):
            if row["val_loss"] and row["val_loss"] != "nan":
                pts.append((float(row["elapsed_s"]), float(row["val_loss"]), int(row["step"])))
    return pts


def at_mark(pts, seconds, before=True):
    """The best validation loss reached by the mark, as best.safetensors keeps it:
    over our evaluations at or before the mark; over PyTorch's up to its first
    evaluation at or after the mark (it evaluates just after each mark)."""
    if before:
        c = [p for p in pts if p[0] <= seconds + 1e-9]
    else:
        after = [p for p in pts if p[0] >= seconds - 1e-9]
        c = [p for p in pts if after and p[0] <= after[0][0]]
    return min(c, key=lambda p: p[1]) if c else None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rnn", default="build/rnn")
    ap.add_argument("--minutes", default="2,5,10")
    ap.add_argument("--out", default="build/charlm")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--torch-threads", type=int, default=1)
    ap.add_argument("--torch-blas-threads", type=int, default=1)
    ap.add_argument("--eval-every", type=int, default=100)
    ap.add_argument("--report-only", action="store_true",
                    help="recompute the table from the logs of an earlier run in --out")
    a = ap.parse_args()
    marks = [float(m) for m in a.minutes.split(",")]
    os.makedirs(a.out, exist_ok=True)
    text = os.path.join(a.out, "kjv.txt")
    if not a.report_only:
        subprocess.run(["sh", os.path.join(HERE, "get_text.sh"), text], check=True)
    T, B = 50, 50
    total = marks[-1] * 60
    common = ["--hidden", "128", "--layers", "2", "--embed", "64", "--seq-len", str(T), "--batch", str(B),
              "--lr", "2e-3", "--clip", "5", "--val-frac", "0.05", "--eval-every", str(a.eval_every)]

    ours_dir = os.path.join(a.out, "ours")
    torch_log = os.path.join(a.out, "torch.csv")
    if not a.report_only:
        run_both(a, text, ours_dir, torch_log, total, common)
    report(a, marks, ours_dir, torch_log, T, B)


def run_both(a, text, ours_dir, torch_log, total, common):
    # wall-clock limit a little above the training-time target: evaluations and
    # checkpoints take their share of the wall clock
    subprocess.run([a.rnn, "train", text, "--out", ours_dir, "--max-time", str(total * 1.12),
                    "--threads", str(a.threads), "--seed", "1"] + common, check=True)
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(a.torch_blas_threads))
    subprocess.run(["/usr/bin/python3", os.path.join(HERE, "torch_charlm.py"), text, "--minutes", a.minutes,
                    "--threads", str(a.torch_threads), "--blas-threads", str(a.torch_blas_threads),
                    "--log", torch_log, "--seed", "1"] + common, check=True, env=env)


def report(a, marks, ours_dir, torch_log, T, B):
    ours = our_curve(os.path.join(ours_dir, "log.csv"), T, B)
    theirs = torch_curve(torch_log)
    lines = ["| training time | rnn: best validation loss (step) | PyTorch 1.13: best validation loss (step) "
             "| difference |",
             "|---|---|---|---|"]
    worse = 0
    for m in marks:
        o, t = at_mark(ours, m * 60), at_mark(theirs, m * 60, before=False)
        if not o or not t:
            lines.append(f"| {m:g} min | {'?' if not o else f'{o[1]:.4f}'} | {'?' if not t else f'{t[1]:.4f}'} | |")
            worse += 1
            continue
        worse += o[1] >= t[1]
        lines.append(f"| {m:g} min | **{o[1]:.4f}** ({o[2]}) | {t[1]:.4f} ({t[2]}) | {o[1] - t[1]:+.4f} |")
    table = "\n".join(lines)
    with open(os.path.join(a.out, "compare.md"), "w") as f:
        f.write(table + "\n")
    print(table)
    sys.exit(1 if worse else 0)


if __name__ == "__main__":
    main()
