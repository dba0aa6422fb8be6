#!/bin/sh
# run.sh BUILD SECONDS -- runs every libFuzzer target in BUILD/fuzz for
# SECONDS each (make fuzz FUZZ_SECONDS=N), FUZZ_JOBS at a time (default: the
# number of CPUs). Each target starts from its seed corpus
# (tests/fuzz/corpus/NAME, committed, read only) and its regression inputs
# (tests/fuzz/regressions/NAME) and keeps what it discovers in
# BUILD/fuzz/corpus/NAME, so that later runs continue from there. A crash,
# leak, sanitizer report or failed invariant stops that target, leaves the
# input in BUILD/fuzz/crashes/ and makes this script exit 1 after the
# others have run. A summary line per target gives executions and coverage.
set -u
build=$1
seconds=$2
cd "$(dirname "$0")/../.." || exit 1
jobs=${FUZZ_JOBS:-$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)}
mkdir -p "$build/fuzz/crashes"

# one target; its summary goes to BUILD/fuzz/NAME.summary, "ok" or "failed"
# to BUILD/fuzz/NAME.status
run_one() {
    bin=$1
    name=$(basename "$bin")
    seeds=tests/fuzz/corpus/$name
    log=$build/fuzz/$name.log
    if [ ! -d "$seeds" ]; then
        echo "$name: no seed corpus $seeds" > "$build/fuzz/$name.summary"
        echo failed > "$build/fuzz/$name.status"
        return
    fi
    work=$build/fuzz/corpus/$name
    mkdir -p "$work"
    dirs="$work $seeds"
    [ -d "tests/fuzz/regressions/$name" ] && dirs="$dirs tests/fuzz/regressions/$name"
    # -close_fd_mask=3: the CLI code prints results and one-line errors;
    # libFuzzer keeps its own stderr (and the sanitizers') for reports.
    # -timeout=25: every input runs in milliseconds; 10 s gave false alarms
    # on a loaded shared machine (a stalled madvise in ASan's allocator).
    # shellcheck disable=SC2086
    TMPDIR=${TMPDIR:-/tmp} "$bin" -max_total_time="$seconds" -timeout=25 -rss_limit_mb=2048 \
        -malloc_limit_mb=1024 -close_fd_mask=3 -print_final_stats=1 \
        -artifact_prefix="$build/fuzz/crashes/$name-" $dirs >"$log" 2>&1
    rc=$?
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
    if [ $rc -eq 0 ]; then
        echo "$name: ${execs:-?} runs in ${seconds}s, $cov, no crash" > "$build/fuzz/$name.summary"
        echo ok > "$build/fuzz/$name.status"
    else
        { echo "$name: FAILED (exit $rc) after ${execs:-?} runs; see $log"
          grep -E '^(==[0-9]+==ERROR|SUMMARY|.*invariant failed|artifact_prefix|Test unit written)' \
              "$log" | head -n 8; } > "$build/fuzz/$name.summary"
        echo failed > "$build/fuzz/$name.status"
    fi
}

n=0
for bin in "$build"/fuzz/fuzz_*; do
    [ -x "$bin" ] || continue
    rm -f "$build/fuzz/$(basename "$bin").status"
    run_one "$bin" &
    n=$((n + 1))
    [ $((n % jobs)) -eq 0 ] && wait
done
wait
status=0
[ $n -gt 0 ] || { echo "no fuzz targets in $build/fuzz"; exit 1; }
for bin in "$build"/fuzz/fuzz_*; do
    [ -x "$bin" ] || continue
    name=$(basename "$bin")
    cat "$build/fuzz/$name.summary"
    [ "$(cat "$build/fuzz/$name.status" 2>/dev/null)" = ok ] || status=1
done
exit $status
