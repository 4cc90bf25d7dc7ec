#!/usr/bin/env bash
# Runs every test: unit binaries (build/tests/test_*), the fuzz corpus replays
# (build/fuzz/replay_*) and end-to-end scripts (tests/e2e/*.sh, which start their
# own fakellm and router on free ports).
# Each prints PASS/FAIL/SKIP lines; this counts them and ends with the summary.
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export BUILD SEMROUTER_ROOT=$PWD
[ -d ../shared ] && export SEMROUTER_SHARED=${SEMROUTER_SHARED:-$(cd ../shared && pwd)}
filter=${1:-}
passed=0 failed=0 skipped=0
out=$(mktemp)
run_one() { # name, command...
    local name=$1; shift
    [ -n "$filter" ] && [[ "$name" != *"$filter"* ]] && return
    echo "== $name"
    local start=$SECONDS
    timeout 600 "$@" >"$out" 2>&1
    local rc=$?
    cat "$out"
    local p f s
    p=$(grep -c '^PASS ' "$out"); f=$(grep -c '^FAIL ' "$out"); s=$(grep -c '^SKIP ' "$out")
    if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "FAIL $name: exited with status $rc"; f=1
    fi
    passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
    echo "-- $name: $p passed, $f failed, $s skipped ($((SECONDS - start))s)"
}
for t in "$BUILD"/tests/test_*; do
    [ -x "$t" ] && run_one "$(basename "$t")" "$t"
done
# fuzz corpus replay: every saved input of every fuzz target (fuzz/README.md)
for t in "$BUILD"/fuzz/replay_*; do
    n=${t##*/replay_}
    [ -x "$t" ] && run_one "fuzz/$n" "$t" "fuzz/corpus/$n" "fuzz/regress/$n"
done
for t in tests/e2e/*.sh; do
    [ -f "$t" ] && run_one "e2e/$(basename "$t" .sh)" bash "$t"
done
rm -f "$out"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
