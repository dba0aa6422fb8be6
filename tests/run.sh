#!/bin/sh
# run.sh BUILD -- runs every test: the C unit tests, the command-line tests,
# the bad-input catalogue and the fault tests. Prints one "N passed, N
# failed" line at the end and exits non-zero if anything failed.
set -u
build=${1:-build}
cd "$(dirname "$0")/.." || exit 1
RNN_BIN=$(pwd)/$build/rnn
export RNN_BIN
total_pass=0
total_fail=0
status=0

tally() { # parses "...: N passed, M failed" from a log
    line=$(grep -E '[0-9]+ passed, [0-9]+ failed' "$1" | tail -n 1)
    p=$(echo "$line" | sed -E 's/.* ([0-9]+) passed.*/\1/')
    f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
    if [ -z "$line" ]; then
        echo "$2: no summary line (crashed?)"
        p=0; f=1
    fi
    total_pass=$((total_pass + p))
    total_fail=$((total_fail + f))
}

log=$(mktemp)
trap 'rm -f "$log"' EXIT

"$build/tests/unit" 2>&1 | tee "$log"
tally "$log" unit
bash tests/cli.sh "$RNN_BIN" 2>&1 | tee "$log"
tally "$log" cli
bash tests/bad_inputs/run.sh "$RNN_BIN" 2>&1 | tee "$log"
tally "$log" bad_inputs
# reliability (docs/reliability.md): allocation failures, the command line
# under faults, the fuzz targets over their corpora and regressions
"$build/tests/faults" faults 2>&1 | tee "$log"
tally "$log" faults
bash tests/faults.sh "$RNN_BIN" 2>&1 | tee "$log"
tally "$log" faults.sh
sh tests/fuzz/replay.sh "$build" 2>&1 | tee "$log"
tally "$log" fuzz_replay

echo "all: $total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ] || status=1
exit $status
