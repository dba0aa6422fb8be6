#!/bin/bash
# run.sh RNN_BINARY -- the bad-input catalogue. Each line of cases.tsv is
#   name <TAB> exit status <TAB> regex <TAB> arguments
# The command must exit with that status (never crash), print exactly one
# line to stderr, and that line must match the regex (grep -E).
# In arguments: @F is tests/bad_inputs/files/F, %F is tests/fixtures/F,
# $TMP is a scratch directory; leading NAME=VALUE words set environment
# variables for the command (RNN_GEMM=avx215 run ...).
set -u
rnn=$1
# the commands run in a scratch directory: a relative path must be resolved first
case "$rnn" in /*) ;; */*) rnn=$(pwd)/$rnn ;; esac
here=$(cd "$(dirname "$0")" && pwd)
fixtures=$(cd "$here/../fixtures" && pwd)
TMP=$(mktemp -d)
trap 'chmod -R u+w "$TMP"; rm -rf "$TMP"' EXIT
pass=0
fail=0
while IFS=$'\t' read -r name want pattern args; do
    case "$name" in ''|'#'*) continue ;; esac
    args=${args//@/$here/files/}
    args=${args//%/$fixtures/}
    args=${args//\$TMP/$TMP}
    envs=()
    while [[ $args =~ ^([A-Za-z_][A-Za-z0-9_]*=[^[:space:]]*)[[:space:]]+(.*)$ ]]; do
        envs+=("${BASH_REMATCH[1]}")
        args=${BASH_REMATCH[2]}
    done
    # shellcheck disable=SC2086
    (cd "$TMP" && eval "env ${envs[*]:-} \"\$rnn\" $args") >"$TMP/out" 2>"$TMP/err" </dev/null
    got=$?
    lines=$(wc -l < "$TMP/err")
    msg=$(head -n 1 "$TMP/err")
    if [ "$got" != "$want" ]; then
        echo "FAIL $name: exit status $got, expected $want; stderr: $msg"
        fail=$((fail + 1))
    elif [ "$lines" != 1 ]; then
        echo "FAIL $name: expected one line on stderr, got $lines:"; sed 's/^/    /' "$TMP/err"
        fail=$((fail + 1))
    elif ! grep -qE -- "$pattern" "$TMP/err"; then
        echo "FAIL $name: message does not match /$pattern/: $msg"
        fail=$((fail + 1))
    else
        pass=$((pass + 1))
        [ -n "${RNN_TEST_VERBOSE:-}" ] && echo "ok   $name: $msg"
    fi
done < "$here/cases.tsv"
echo "bad inputs: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
