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

echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
