#!/bin/sh
# The long-memory table of docs/long-memory.md: `rnn task adding` at
# T = 50, 100, 200 and `rnn task copy` at T = 50 for every cell (RNN, IRNN,
# LSTM, GRU, and the Statal cell in each of its modes), with the tasks'
# default settings (hidden 64, lr 1e-2, clip 1, 2000 steps, seed 1).
#
#   sh bench/long_memory.sh [RNN] [OUTDIR]      (defaults: build/rnn, build/long-memory)
#
# Runs JOBS (default 2) tasks at a time, one thread each; each run's
# stdout, metrics.json and gradflow files stay in OUTDIR/<task>-<T>-<cell>/.
# Prints the markdown table (also in OUTDIR/table.md). About 20 minutes
# on 2 cores.
set -eu
rnn=${1:-build/rnn}
out=${2:-build/long-memory}
jobs=${JOBS:-2}
mkdir -p "$out"

cells="rnn irnn lstm gru statal:copy statal:binary statal:prob statal:multi"
runs=""
for c in $cells; do
    for tl in adding:50 adding:100 adding:200 copy:50; do runs="$runs $tl:$c"; done
done

one() { # one TASK:T:CELL
    task=${1%%:*}; rest=${1#*:}; T=${rest%%:*}; cell=${rest#*:}
    d="$out/$task-$T-$(echo "$cell" | tr : -)"
    case $cell in
        irnn) flags="--cell rnn --init irnn" ;;
        statal:*) flags="--cell statal --statal ${cell#statal:}" ;;
        *) flags="--cell $cell" ;;
    esac
    [ -s "$d/metrics.json" ] && return 0 # done in an earlier, interrupted run
    rm -rf "$d"
    # shellcheck disable=SC2086
    "$rnn" task "$task" --length "$T" $flags --threads 1 --seed 1 --quiet --out "$d" \
        > "$d.stdout" 2>&1 || echo "$task $T $cell: exit $? (see $d.stdout)" >&2
}

# shellcheck disable=SC2086
set -- $runs
while [ $# -gt 0 ]; do
    i=0
    while [ $i -lt "$jobs" ] && [ $# -gt 0 ]; do
        one "$1" &
        shift
        i=$((i + 1))
    done
    wait
done

/usr/bin/env python3 - "$out" <<'EOF'
import json, os, sys
out = sys.argv[1]
cells = ["rnn", "irnn", "lstm", "gru", "statal:copy", "statal:binary", "statal:prob", "statal:multi"]
cols = [("adding", 50), ("adding", 100), ("adding", 200), ("copy", 50)]
names = {"rnn": "RNN (tanh)", "irnn": "IRNN (relu, identity init)", "lstm": "LSTM", "gru": "GRU"}
verdict = {"solved": "solved", "partial": "partly", "failed": "**FAILED**"}
lines = ["| cell | " + " | ".join(f"{t} T={n}" for t, n in cols) + " |",
         "|---|" + "---|" * len(cols)]
for c in cells:
    row = []
    for t, n in cols:
        p = os.path.join(out, f"{t}-{n}-{c.replace(':', '-')}", "metrics.json")
        try:
            m = json.load(open(p))
        except (OSError, ValueError):
            row.append("did not finish")
            continue
        stopped = " (diverged at step %d; best checkpoint: step %d)" % (m["steps"] + 1, m["best_step"]) \
            if "training_stopped" in m else ""
        if t == "adding":
            row.append(f"{m['test_mse']:.2g} ({m['test_mse'] / m['baseline']:.2g}×) {verdict[m['verdict']]}{stopped}")
        else:
            row.append(f"{m['test_ce']:.4f} ({m['test_ce'] / m['baseline']:.2g}×), "
                       f"{100 * m['recall_accuracy']:.0f}% recalled, {verdict[m['verdict']]}{stopped}")
    name = names[c] if c in names else "Statal " + c.split(":")[1]
    lines.append(f"| {name} | " + " | ".join(row) + " |")
table = "\n".join(lines) + "\n"
open(os.path.join(out, "table.md"), "w").write(table)
print(table, end="")
EOF
