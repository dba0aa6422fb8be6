#!/bin/bash
# memcheck.sh BUILD -- `make memcheck`: the command line under valgrind's
# memcheck. Every rnn process of the bad-input catalogue (every error path
# of every verb: 200+ commands) and of a set of short successful runs (each
# verb's main path: train, resume, sample, eval, run with gradients,
# forecast, classify, seq2seq, the tasks, an interrupted run) must end with
# no memory error and no leak (definitely or indirectly lost; OpenMP's
# thread stacks are "possibly lost" and not counted). Each process writes
# BUILD/memcheck/vg.PID.log; any error or leak makes this exit 1 and lists
# the logs. (The whole of tests/cli.sh would take most of an hour under
# valgrind; the unit tests run under ASan+LSan with make test SANITIZE=1.)
set -u
build=${1:-build}
cd "$(dirname "$0")/.." || exit 1
root=$(pwd)
command -v valgrind >/dev/null || { echo "memcheck: valgrind is not installed (apt-get install valgrind)"; exit 1; }
out=$root/$build/memcheck
rm -rf "$out"
mkdir -p "$out/bin" "$out/tmp"
# a private copy: the run takes minutes, and a rebuild of BUILD/rnn meanwhile
# (make in another shell) must not change what is being checked
cp "$root/$build/rnn" "$out/rnn.real" || exit 1
real=$out/rnn.real
# the wrapper every test calls as "rnn": same arguments, same exit status
cat > "$out/bin/rnn" <<EOF
#!/bin/sh
exec valgrind --tool=memcheck --leak-check=full --errors-for-leak-kinds=definite,indirect \\
    --show-leak-kinds=definite,indirect --track-origins=yes --num-callers=30 \\
    --log-file="$out/vg.%p.log" "$real" "\$@"
EOF
chmod +x "$out/bin/rnn"
rnn=$out/bin/rnn
T=$out/tmp
fail=0
start=$(date +%s)

# 1. the bad-input catalogue: exit statuses and messages must still match
bash tests/bad_inputs/run.sh "$rnn" | grep -v '^ok '
[ "${PIPESTATUS[0]}" -eq 0 ] || fail=1

# 2. short successful runs, one or more per verb
runs=0
try() { # try DESCRIPTION COMMAND...: the command must succeed
    local what=$1
    shift
    runs=$((runs + 1))
    if ! "$@" >"$T/out" 2>"$T/err"; then
        echo "memcheck: '$what' failed: $(tail -n 2 "$T/err")"
        fail=1
    fi
}
for i in $(seq 1 60); do echo "line $((i % 10)): the rain in spain stays mainly in the plain."; done > "$T/text.txt"
small=(--hidden 8 --layers 2 --embed 4 --seq-len 8 --batch 4 --eval-every 5 --quiet)
try "train" "$rnn" train "$T/text.txt" --out "$T/lm" --max-steps 10 --dropout 0.1 "${small[@]}"
try "train --resume" "$rnn" train "$T/text.txt" --out "$T/lm" --resume --max-steps 12 --quiet
try "sample" "$rnn" sample "$T/lm/best.safetensors" --length 40 --prime "line" --temperature 0.8 --top-k 5
try "eval" "$rnn" eval "$T/lm/best.safetensors" "$T/text.txt"
try "train --on-nan skip (diverging)" "$rnn" train "$T/text.txt" --out "$T/nan" --max-steps 6 \
    --cell rnn --nonlinearity relu --optimizer adam --lr 1e6 --hidden 8 --layers 1 --embed 4 \
    --seq-len 8 --batch 4 --eval-every 2 --on-nan skip --quiet
d=tests/fixtures/run_lstm_bi_var
try "run with gradients" "$rnn" run --weights "$d/w.safetensors" --prefix rnn. --input "$d/x.npy" \
    --h0 "$d/h0.npy" --c0 "$d/c0.npy" --lengths "$d/len.npy" --batch-first --output "$T/y.npy" \
    --hn "$T/hn.npy" --cn "$T/cn.npy" --grad-output "$d/dy.npy" --grad-hn "$d/dhn.npy" \
    --grads "$T/g.safetensors"
# an interrupted run saves and exits 0
"$rnn" train "$T/text.txt" --out "$T/int" --max-steps 100000 --hidden 8 --layers 1 --embed 4 \
    --seq-len 8 --batch 4 --eval-every 100000 2>"$T/int.err" &
pid=$!
for _ in $(seq 1 300); do grep -q 'steps per epoch' "$T/int.err" && break; sleep 0.1; done
sleep 2
kill -INT $pid
wait $pid || { echo "memcheck: interrupted train exited $?"; fail=1; }
runs=$((runs + 1))
# the other verbs, on their own small data
if "$real" forecast --help >/dev/null 2>&1; then
    try "forecast train" "$rnn" forecast train tests/bad_inputs/files/fc_ok.csv --target y \
        --lookback 6 --hidden 8 --max-steps 6 --eval-every 3 --out "$T/fc" --quiet
    try "forecast predict" "$rnn" forecast predict "$T/fc/best.safetensors" tests/bad_inputs/files/fc_ok.csv \
        --output "$T/fc.csv"
fi
if "$real" classify --help >/dev/null 2>&1; then
    "$real" classify generate sentiment --count 80 --seed 2 --output "$T/sent.tsv"
    try "classify train" "$rnn" classify train "$T/sent.tsv" --tokens word --hidden 8 --epochs 1 \
        --out "$T/cls" --quiet
    try "classify predict" "$rnn" classify predict "$T/cls/best.safetensors" "$T/sent.tsv" --output "$T/p.tsv"
fi
if "$real" task dates --help >/dev/null 2>&1 && "$real" seq2seq --help >/dev/null 2>&1; then
    try "task dates" "$rnn" task dates --count 60 --seed 1 --output "$T/dates.tsv"
    try "seq2seq train" "$rnn" seq2seq train "$T/dates.tsv" --hidden 8 --max-steps 4 --eval-every 2 \
        --out "$T/s2s" --quiet
    cut -f1 "$T/dates.tsv" | head -n 5 > "$T/src.txt"
    try "seq2seq translate --beam" "$rnn" seq2seq translate "$T/s2s/best.safetensors" "$T/src.txt" --beam 3
    try "seq2seq eval" "$rnn" seq2seq eval "$T/s2s/best.safetensors" "$T/dates.tsv"
fi
if "$real" classify --help >/dev/null 2>&1; then
    "$real" classify generate tagging --count 40 --seed 3 --output "$T/tag.tsv"
    try "classify train --per-step" "$rnn" classify train "$T/tag.tsv" --per-step \
        --hidden 8 --epochs 1 --out "$T/tag" --quiet
fi
if "$real" forecast --help >/dev/null 2>&1; then
    try "forecast train --conv, direct" "$rnn" forecast train tests/bad_inputs/files/fc_ok.csv --target y \
        --lookback 6 --horizon 2 --strategy direct --conv 4:3 --cell gru --hidden 8 --max-steps 4 --eval-every 2 \
        --out "$T/fc2" --quiet
fi
if grep -q conditioned <("$real" train --help 2>&1); then
    for i in $(seq 1 20); do printf 'pos\tgood day %d\nneg\tbad day %d\n' "$i" "$i"; done > "$T/cond.tsv"
    try "train --conditioned" "$rnn" train "$T/cond.tsv" --conditioned --out "$T/cond" --max-steps 4 \
        "${small[@]}"
    try "sample --condition" "$rnn" sample "$T/cond/best.safetensors" --condition pos --lines 2
fi
if "$real" task adding --help >/dev/null 2>&1; then
    try "task adding" "$rnn" task adding --length 6 --hidden 8 --max-steps 4 --train-size 40 \
        --test-size 20 --eval-every 2 --out "$T/add" --quiet
    try "task copy, Statal cell" "$rnn" task copy --length 4 --cell statal --hidden 8 --max-steps 3 \
        --train-size 20 --test-size 10 --eval-every 3 --out "$T/copy" --quiet
fi
try "bench stream" "$rnn" bench stream --cell gru --input 8 --hidden 8 --steps 1

# 3. every log: no error, no leak
logs=0
bad=0
for log in "$out"/vg.*.log; do
    [ -f "$log" ] || continue
    logs=$((logs + 1))
    if ! grep -q 'ERROR SUMMARY: 0 errors' "$log"; then
        bad=$((bad + 1))
        [ $bad -le 5 ] && { echo "memcheck: $log:"; grep -E 'Invalid|uninitialised|definitely|indirectly|ERROR SUMMARY' "$log" | head -n 8; }
    fi
done
[ $logs -ge 200 ] || { echo "memcheck: only $logs processes were checked"; fail=1; }
[ $bad -eq 0 ] || fail=1
echo "memcheck: $logs processes ($runs successful runs + the bad-input catalogue) in $(( $(date +%s) - start ))s: $bad with errors or leaks"
exit $fail
