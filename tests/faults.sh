#!/bin/bash
# faults.sh RNN_BINARY -- the command line under faults (docs/reliability.md):
#   - determinism: the same seed gives byte-identical checkpoints, whatever
#     the thread count;
#   - kill -9 at random moments of a run that checkpoints every step: each
#     time, the checkpoint on disk loads, and --resume continues from it;
#   - saves that fail (file-size limit: what a full disk does to write(); the
#     output directory replaced by a file): one line per failed save,
#     training goes on, the previous checkpoint stays byte for byte, and a
#     final save that fails is the exit status;
#   - --on-nan stop|skip on a diverging run: stop names the step and the
#     loss or tensor and keeps the last checkpoint; skip goes on;
#   - SIGINT / SIGTERM save last.safetensors and exit 0 in every training
#     verb, and --resume continues (rnn train's own test is in cli.sh).
# Prints "faults: N passed, M failed".
set -u
rnn=$1
TMP=$(mktemp -d)
trap 'chmod -R u+w "$TMP" 2>/dev/null; rm -rf "$TMP"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); [ -n "${RNN_TEST_VERBOSE:-}" ] && echo "ok   $1"; return 0; }
bad() { fail=$((fail + 1)); echo "FAIL $1: $2"; }

for i in $(seq 1 200); do echo "line $((i % 13)): the rain in spain stays mainly in the plain, $i."; done > "$TMP/text.txt"
small=(--hidden 12 --layers 1 --embed 6 --seq-len 10 --batch 4 --quiet)

# ---- determinism: same seed and settings -> the same bytes -------------------
# Any thread count gives the same bytes on our own GEMM; with a library's
# (make GEMM=blas|onednn|libxsmm) only the same thread count does
# (docs/reliability.md).
second=2
"$rnn" --version | grep -Eq '^gemm: (openblas|onednn|libxsmm)' && second=1
for k in 1 2; do
    threads=$([ $k -eq 1 ] && echo 1 || echo $second)
    "$rnn" train "$TMP/text.txt" --out "$TMP/det$k" --max-steps 24 --eval-every 8 --dropout 0.2 \
        --hidden 12 --layers 2 --embed 6 --seq-len 10 --batch 4 --quiet --seed 7 --threads $threads
done
same=1
for f in last.safetensors best.safetensors loss.svg; do
    cmp -s "$TMP/det1/$f" "$TMP/det2/$f" || { same=0; bad "determinism: $f" "differs between runs"; }
done
[ $same -eq 1 ] && ok "same seed, 1 and $second threads: checkpoints and loss.svg byte-identical"
# the model above is too small for a second thread (rnn__threads_for); this
# one is split: batch 3 over 2 threads leaves one thread a single row, whose
# products take the 1-row GEMM tiles
for k in 1 2; do
    threads=$([ $k -eq 1 ] && echo 1 || echo $second)
    "$rnn" train "$TMP/text.txt" --out "$TMP/split$k" --max-steps 3 --eval-every 3 --dropout 0.2 \
        --hidden 160 --layers 2 --embed 6 --seq-len 40 --batch 3 --quiet --seed 7 --threads $threads
done
cmp -s "$TMP/split1/last.safetensors" "$TMP/split2/last.safetensors" \
    && ok "batch 3 split over 1 and $second threads: byte-identical checkpoints" \
    || bad "determinism, batch split" "checkpoints differ between 1 and $second threads"
# log.csv: identical except the wall-clock columns (tokens_per_s, elapsed_s)
cut -d, -f1-5 "$TMP/det1/log.csv" > "$TMP/l1"; cut -d, -f1-5 "$TMP/det2/log.csv" > "$TMP/l2"
cmp -s "$TMP/l1" "$TMP/l2" && [ -s "$TMP/l1" ] && ok "log.csv identical but for the timings" \
    || bad "log.csv" "$(diff "$TMP/l1" "$TMP/l2" | head -n 4)"
"$rnn" train "$TMP/text.txt" --out "$TMP/det3" --max-steps 24 --eval-every 8 --dropout 0.2 \
    --hidden 12 --layers 2 --embed 6 --seq-len 10 --batch 4 --quiet --seed 8
cmp -s "$TMP/det1/last.safetensors" "$TMP/det3/last.safetensors" && bad "another seed" "same checkpoint" \
    || ok "another seed, another checkpoint"
# a run stopped and resumed ends where the uninterrupted one does
"$rnn" train "$TMP/text.txt" --out "$TMP/det4" --max-steps 16 --eval-every 8 --dropout 0.2 \
    --hidden 12 --layers 2 --embed 6 --seq-len 10 --batch 4 --quiet --seed 7 --threads $second
"$rnn" train "$TMP/text.txt" --out "$TMP/det4" --resume --max-steps 24 --quiet --threads $second
cmp -s "$TMP/det1/last.safetensors" "$TMP/det4/last.safetensors" \
    && ok "stopped at 16 and resumed to 24 = straight to 24, byte for byte" \
    || bad "resume determinism" "checkpoints differ"

# ---- kill -9 at random moments ---------------------------------------------------
# checkpoints every step, so that a kill lands inside a save often
d=$TMP/k9
RANDOM=4242
kills=0 loads=0
for i in $(seq 1 8); do
    resume=()
    [ -f "$d/last.safetensors" ] && resume=(--resume)
    "$rnn" train "$TMP/text.txt" --out "$d" --max-steps 100000 --eval-every 1 "${small[@]}" "${resume[@]}" \
        2>"$TMP/k9.err" &
    pid=$!
    sleep "0.$((RANDOM % 6 + 2))$((RANDOM % 10))"
    kill -9 $pid 2>/dev/null
    wait $pid 2>/dev/null
    # 137 = killed by us: the run (and, from round 2, its --resume) was alive
    if [ $? -eq 137 ]; then kills=$((kills + 1))
    else bad "kill -9 round $i" "the run had already ended: $(tail -n 1 "$TMP/k9.err")"; fi
    if [ -f "$d/last.safetensors" ]; then
        if "$rnn" eval "$d/last.safetensors" "$TMP/text.txt" >/dev/null 2>"$TMP/k9.eval"; then
            loads=$((loads + 1))
        else
            bad "kill -9 round $i" "last.safetensors does not load: $(cat "$TMP/k9.eval")"
        fi
    fi
done
[ $kills -ge 6 ] && [ $loads -ge 6 ] && ok "kill -9 x $kills: the checkpoint loaded every time ($loads)" \
    || bad "kill -9" "$kills kills, $loads checkpoints loaded"
# resume continues from what the last kill left: 3 more steps
step=$("$rnn" train "$TMP/text.txt" --out "$d" --resume --max-steps 1 2>&1 | grep -o 'resuming from .* at step [0-9]*' | grep -o '[0-9]*$')
if [ -n "$step" ] && "$rnn" train "$TMP/text.txt" --out "$d" --resume --max-steps $((step + 3)) 2>"$TMP/k9.err" \
    && grep -q "reached --max-steps at step $((step + 3))" "$TMP/k9.err" 2>/dev/null; then
    ok "--resume after kill -9 continues (step $step -> $((step + 3)))"
else
    bad "--resume after kill -9" "step '$step': $(tail -n 2 "$TMP/k9.err")"
fi
# what a kill can leave besides the checkpoints: only hidden temporary files
others=$(ls -A "$d" | grep -vE '^(last\.safetensors|best\.safetensors|log\.csv|loss\.svg|\..*\.tmp\.[A-Za-z0-9]{6})$')
[ -z "$others" ] && ok "kill -9 leaves nothing but the outputs and hidden temporaries" \
    || bad "kill -9 leftovers" "$others"

# ---- saves that fail ---------------------------------------------------------------
d=$TMP/full
"$rnn" train "$TMP/text.txt" --out "$d" --max-steps 10 --eval-every 5 "${small[@]}"
cp "$d/last.safetensors" "$TMP/full.keep"
size=$(wc -c < "$d/last.safetensors")
# a file-size limit below the checkpoint's size (bash counts in 1024-byte
# blocks) but above log.csv's; SIGXFSZ ignored, as a full disk gives ENOSPC
limit=$(( (size - 1) / 1024 ))
(trap '' XFSZ; ulimit -f "$limit"; exec "$rnn" train "$TMP/text.txt" --out "$d" --resume --max-steps 20 \
    --eval-every 5) >/dev/null 2>"$TMP/full.err"
rc=$?
n_warn=$(grep -c 'last\.safetensors: write failed: File too large; the previous file is kept, training goes on' "$TMP/full.err")
[ $rc -eq 2 ] && [ "$n_warn" -eq 1 ] \
    && grep -q 'last\.safetensors: write failed: File too large; not saved (the previous file is kept)' "$TMP/full.err" \
    && ok "file-size limit: one line per failed save, training went on, exit 2 at the end" \
    || bad "file-size limit" "exit $rc, $n_warn warnings: $(cat "$TMP/full.err")"
grep -q 'reached --max-steps at step 20' "$TMP/full.err" && ok "file-size limit: trained to the end" \
    || bad "file-size limit: trained to the end" "$(tail -n 1 "$TMP/full.err")"
cmp -s "$d/last.safetensors" "$TMP/full.keep" && ok "file-size limit: previous checkpoint byte for byte" \
    || bad "file-size limit: previous checkpoint" "changed"
ls -A "$d" | grep -q '\.tmp\.' && bad "file-size limit: temporaries" "$(ls -A "$d")" \
    || ok "file-size limit: no temporary file left"
"$rnn" train "$TMP/text.txt" --out "$d" --resume --max-steps 12 2>"$TMP/full.err" \
    && grep -q "resuming from .* at step 10" "$TMP/full.err" && grep -q 'reached --max-steps at step 12' "$TMP/full.err" \
    && ok "after the failed saves, --resume continues from the kept checkpoint (step 10)" \
    || bad "resume after failed saves" "$(tail -n 2 "$TMP/full.err")"

# the output directory replaced by a file while training: saves fail with
# "Not a directory", training goes on, SIGTERM's final save fails: exit 2
d=$TMP/gone
"$rnn" train "$TMP/text.txt" --out "$d" --max-steps 1000000 --eval-every 20 \
    --hidden 12 --layers 1 --embed 6 --seq-len 10 --batch 4 2>"$TMP/gone.err" &
pid=$!
# wait for the first save (written by rename, so present means complete)
for _ in $(seq 1 400); do [ -s "$d/last.safetensors" ] && break; sleep 0.05; done
mv "$d" "$TMP/gone.moved" && echo "not a directory" > "$d"
for _ in $(seq 1 400); do grep -q 'training goes on' "$TMP/gone.err" && break; sleep 0.05; done
kill -TERM $pid; wait $pid; rc=$?
[ $rc -eq 2 ] && grep -q 'gone/last\.safetensors: cannot create a temporary file in .*gone: Not a directory; the previous file is kept, training goes on' "$TMP/gone.err" \
    && grep -q 'not saved (the previous file is kept)' "$TMP/gone.err" \
    && ok "output directory gone: warnings, then exit 2" || bad "output directory gone" "exit $rc: $(tail -n 3 "$TMP/gone.err")"
"$rnn" eval "$TMP/gone.moved/last.safetensors" "$TMP/text.txt" >/dev/null \
    && ok "output directory gone: the earlier checkpoint is intact" || bad "gone: earlier checkpoint" "does not load"

# ---- --on-nan: a ReLU RNN with Adam at lr 1e6 overflows at step 2 ---------------------
d=$TMP/nan
diverge=(--cell rnn --nonlinearity relu --optimizer adam --lr 1e6 --hidden 8 --layers 1 --embed 4
         --seq-len 8 --batch 4 --eval-every 1)
"$rnn" train "$TMP/text.txt" --out "$d" --max-steps 30 "${diverge[@]}" --quiet 2>"$TMP/nan.err"; rc=$?
[ $rc -eq 1 ] && [ "$(grep -c . "$TMP/nan.err")" -eq 1 ] \
    && grep -qE '^rnn train: step [0-9]+: (loss is (nan|inf)|gradient of [a-z_.0-9]+ is (nan|inf) \(element [0-9]+\)); the update was not applied; training stopped' "$TMP/nan.err" \
    && ok "--on-nan stop: one line naming the step and what, exit 1" || bad "--on-nan stop" "exit $rc: $(cat "$TMP/nan.err")"
stopped=$(grep -o 'step [0-9]*' "$TMP/nan.err" | head -n 1 | grep -o '[0-9]*')
"$rnn" train "$TMP/text.txt" --out "$d" --resume --max-steps 1 2>&1 | grep -q "at step $((stopped - 1))" \
    && ok "--on-nan stop: last.safetensors is the step before ($((stopped - 1)))" \
    || bad "--on-nan stop: checkpoint" "not at step $((stopped - 1))"
rm -rf "$d"
"$rnn" train "$TMP/text.txt" --out "$d" --max-steps 12 "${diverge[@]}" --on-nan skip 2>"$TMP/nan.err"; rc=$?
n_skip=$(grep -c 'the update was not applied; batch skipped (--on-nan skip)$' "$TMP/nan.err")
[ $rc -eq 0 ] && [ "$n_skip" -ge 1 ] && grep -q "reached --max-steps at step 12 .*; $n_skip non-finite steps\? skipped" "$TMP/nan.err" \
    && [ -s "$d/last.safetensors" ] && ok "--on-nan skip: $n_skip batches skipped, trained to the end, saved" \
    || bad "--on-nan skip" "exit $rc: $(tail -n 3 "$TMP/nan.err")"

# ---- SIGINT / SIGTERM in every training verb: save last, exit 0, --resume ----------
files=$(cd "$(dirname "$0")/bad_inputs/files" && pwd)
interrupt() { # interrupt NAME SIGNAL DIR COMMAND...: DIR is the run's --out
    local name=$1 sig=$2 dir=$3
    shift 3
    "$@" --max-steps 100000000 --eval-every 100000000 --out "$dir" 2>"$TMP/sig.err" >/dev/null &
    local pid=$!
    for _ in $(seq 1 200); do grep -q '^step ' "$TMP/sig.err" && break; sleep 0.05; done
    kill -"$sig" $pid; wait $pid; local rc=$?
    local step
    step=$(grep -o 'interrupted at step [0-9]*' "$TMP/sig.err" | grep -o '[0-9]*$')
    if [ $rc -eq 0 ] && [ -n "$step" ] && [ -s "$dir/last.safetensors" ]; then
        ok "$name: SIG$sig saved last.safetensors at step $step, exit 0"
    else
        bad "$name: SIG$sig" "exit $rc: $(tail -n 2 "$TMP/sig.err")"
        return
    fi
    "$@" --resume --max-steps $((step + 2)) --out "$dir" >/dev/null 2>"$TMP/sig.err"; rc=$?
    [ $rc -eq 0 ] && grep -q "at step $((step + 2))" "$TMP/sig.err" \
        && ok "$name: --resume continues from step $step" || bad "$name: --resume" "exit $rc: $(tail -n 2 "$TMP/sig.err")"
}
if "$rnn" forecast --help >/dev/null 2>&1; then
    interrupt "forecast train" INT "$TMP/sig_fc" "$rnn" forecast train "$files/fc_ok.csv" --target y --lookback 6 --hidden 8
fi
if "$rnn" classify --help >/dev/null 2>&1; then
    "$rnn" classify generate sentiment --count 200 --seed 2 --output "$TMP/sent.tsv"
    interrupt "classify train" TERM "$TMP/sig_cls" "$rnn" classify train "$TMP/sent.tsv" --hidden 8
fi
if "$rnn" seq2seq --help >/dev/null 2>&1 && "$rnn" task dates --help >/dev/null 2>&1; then
    "$rnn" task dates --count 200 --seed 1 --output "$TMP/dates.tsv"
    interrupt "seq2seq train" INT "$TMP/sig_s2s" "$rnn" seq2seq train "$TMP/dates.tsv" --hidden 8
fi
if "$rnn" task adding --help >/dev/null 2>&1; then
    interrupt "task adding" TERM "$TMP/sig_add" "$rnn" task adding --length 10 --hidden 8
fi

echo "faults: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
