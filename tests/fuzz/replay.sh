#!/bin/sh
# replay.sh BUILD -- `make test`'s part of the fuzzing: every fuzz target,
# linked with replay.c (BUILD/fuzz/replay_TARGET), runs over its committed
# seed corpus and the inputs of crashes found earlier
# (tests/fuzz/regressions/TARGET), so that a fixed crash stays fixed under
# every build, SANITIZE=1 included. One test per target.
set -u
build=$1
cd "$(dirname "$0")/../.." || exit 1
pass=0
fail=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for src in tests/fuzz/fuzz_*.c; do
    name=$(basename "$src" .c)
    bin=$build/fuzz/replay_$name
    dirs=tests/fuzz/corpus/$name
    [ -d "tests/fuzz/regressions/$name" ] && dirs="$dirs tests/fuzz/regressions/$name"
    if [ ! -x "$bin" ]; then
        echo "FAIL fuzz replay $name: $bin not built"
        fail=$((fail + 1))
    elif [ ! -d "tests/fuzz/corpus/$name" ]; then
        echo "FAIL fuzz replay $name: no seed corpus tests/fuzz/corpus/$name"
        fail=$((fail + 1))
    # shellcheck disable=SC2086
    elif TMPDIR=${TMPDIR:-/tmp} "$bin" $dirs >"$log" 2>&1; then
        pass=$((pass + 1))
        [ -n "${RNN_TEST_VERBOSE:-}" ] && echo "ok   fuzz replay $(tail -n 1 "$log")"
    else
        echo "FAIL fuzz replay $name: the last input and what happened:"
        grep -v '^replay ' "$log" | head -n 20
        grep '^replay ' "$log" | tail -n 1
        fail=$((fail + 1))
    fi
done
echo "fuzz replay: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
