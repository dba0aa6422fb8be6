#!/bin/bash
# cli.sh RNN_BINARY -- command-line behaviour common to every verb: help,
# version, exit statuses, outputs replaced atomically. (Numeric results of
# the verbs are checked by the unit tests and the bad-input catalogue.)
set -u
rnn=$1
here=$(cd "$(dirname "$0")" && pwd)
fixtures=$here/fixtures
TMP=$(mktemp -d)
trap 'chmod -R u+w "$TMP"; rm -rf "$TMP"' EXIT
pass=0
fail=0

ok() { pass=$((pass + 1)); [ -n "${RNN_TEST_VERBOSE:-}" ] && echo "ok   $1"; return 0; }
bad() { fail=$((fail + 1)); echo "FAIL $1: $2"; }

# every verb answers --help on stdout with exit 0 and a usage line
verbs=$("$rnn" --help | sed -n '/^commands:/,/^$/p' | awk 'NF && !/commands:/ {print $1}')
[ -n "$verbs" ] && ok "verbs listed" || bad "verbs listed" "rnn --help lists no commands"
for v in $verbs; do
    out=$("$rnn" "$v" --help 2>&1); rc=$?
    if [ $rc -eq 0 ] && echo "$out" | grep -q "^usage: rnn $v"; then ok "$v --help"
    else bad "$v --help" "exit $rc, output: $(echo "$out" | head -n 2)"; fi
    out=$("$rnn" help "$v" 2>&1); rc=$?
    [ $rc -eq 0 ] && echo "$out" | grep -q "^usage: rnn $v" && ok "help $v" || bad "help $v" "exit $rc"
    # every verb has a page under docs/
    [ -f "$here/../docs/$v.md" ] && ok "docs/$v.md" || bad "docs/$v.md" "missing documentation page"
done

out=$("$rnn" --version); [ $? -eq 0 ] && echo "$out" | grep -qE '^rnn [0-9]+\.[0-9]+\.[0-9]+$' \
    && ok "--version" || bad "--version" "$out"

# rnn run: a successful run writes the output; a failed run leaves the
# previous output file untouched (atomic replacement)
d=$fixtures/run_rnn_relu
if "$rnn" run --weights "$d/w.safetensors" --nonlinearity relu --input "$d/x.npy" \
    --output "$TMP/y.npy" 2>"$TMP/err"; then ok "run writes output"
else bad "run writes output" "$(cat "$TMP/err")"; fi
cp "$TMP/y.npy" "$TMP/y.keep"
"$rnn" run --weights "$d/w.safetensors" --nonlinearity relu --input "$d/x.npy" \
    --output "$TMP/y.npy" --lengths "$here/bad_inputs/files/len_zero.npy" 2>/dev/null
cmp -s "$TMP/y.npy" "$TMP/y.keep" && ok "failed run keeps old output" \
    || bad "failed run keeps old output" "y.npy changed"
ls -a "$TMP" | grep -q '\.tmp' && bad "no temporary files left" "$(ls -a "$TMP")" \
    || ok "no temporary files left"

# rnn train / sample / eval on a small text
for i in $(seq 1 80); do echo "line $((i % 10)): the rain in spain stays mainly in the plain."; done > "$TMP/text.txt"
if "$rnn" train "$TMP/text.txt" --out "$TMP/run" --max-steps 30 --hidden 16 --seq-len 16 \
    --batch 8 --eval-every 10 2>"$TMP/err"; then ok "train runs"
else bad "train runs" "$(cat "$TMP/err")"; fi
for f in best.safetensors last.safetensors log.csv loss.svg; do
    [ -s "$TMP/run/$f" ] && ok "train writes $f" || bad "train writes $f" "missing"
done
head -n 1 "$TMP/run/log.csv" | grep -qx 'step,epoch,train_loss,val_loss,lr,tokens_per_s,elapsed_s' \
    && ok "log.csv header" || bad "log.csv header" "$(head -n 1 "$TMP/run/log.csv")"
[ "$(grep -c . "$TMP/run/log.csv")" -ge 4 ] && ok "log.csv rows" || bad "log.csv rows" "too few"
grep -q '<polyline' "$TMP/run/loss.svg" && grep -q 'validation loss' "$TMP/run/loss.svg" \
    && ok "loss.svg has both curves" || bad "loss.svg has both curves" "no polyline/legend"
grep -q 'best validation loss' "$TMP/err" && ok "train summary" || bad "train summary" "$(tail -n 2 "$TMP/err")"
out=$("$rnn" eval "$TMP/run/best.safetensors" "$TMP/text.txt"); rc=$?
echo "$out" | grep -qE '^nats/char [0-9.]+  bits/char [0-9.]+  perplexity [0-9.]+  chars [0-9]+$' && [ $rc -eq 0 ] \
    && ok "eval output" || bad "eval output" "exit $rc: $out"
out=$("$rnn" sample "$TMP/run/best.safetensors" --length 50 --seed 3 --prime "line"); rc=$?
[ $rc -eq 0 ] && [ "${out#line}" != "$out" ] && ok "sample starts with the prime" || bad "sample prime" "$out"

# Ctrl-C (SIGINT) and SIGTERM: last.safetensors saved, exit 0, --resume continues
for sig in INT TERM; do
    rm -rf "$TMP/sig"
    "$rnn" train "$TMP/text.txt" --out "$TMP/sig" --max-steps 1000000 --hidden 16 --seq-len 16 \
        --batch 8 --eval-every 100000 2>"$TMP/err" &
    pid=$!
    for _ in $(seq 1 50); do grep -q 'steps per epoch' "$TMP/err" && break; sleep 0.1; done
    sleep 0.5
    kill -$sig $pid; wait $pid; rc=$?
    if [ $rc -eq 0 ] && [ -s "$TMP/sig/last.safetensors" ] && grep -q 'interrupted' "$TMP/err"; then ok "SIG$sig saves last"
    else bad "SIG$sig saves last" "exit $rc; $(tail -n 1 "$TMP/err")"; fi
done
step=$(grep -o 'interrupted at step [0-9]*' "$TMP/err" | grep -o '[0-9]*$')
"$rnn" train "$TMP/text.txt" --out "$TMP/sig" --resume --max-steps $((step + 5)) 2>"$TMP/err2"
grep -q "resuming from .* at step $step" "$TMP/err2" && grep -q "at step $((step + 5))" "$TMP/err2" \
    && ok "resume after SIGTERM" || bad "resume after SIGTERM" "$(cat "$TMP/err2")"

echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
