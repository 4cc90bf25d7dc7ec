#!/usr/bin/env bash
# scripts/fuzz.sh BUILD SECONDS NAME...   (make fuzz)
# scripts/fuzz.sh --merge BUILD 0 NAME... (make fuzz-merge)
# Runs each libFuzzer target BUILD/fuzz/fuzz_NAME for SECONDS, starting from fuzz/corpus/NAME
# and fuzz/regress/NAME; new inputs go to BUILD/corpus/NAME, crashes, leaks, timeouts and
# work-bound overruns to BUILD/artifacts/NAME/. Prints one line per target: executions, corpus
# size, and the artifacts found (then exits 1). --merge folds BUILD/corpus/NAME into
# fuzz/corpus/NAME, keeping only inputs that add coverage.
set -uo pipefail
cd "$(dirname "$0")/.."
merge=0
[ "${1:-}" = --merge ] && { merge=1; shift; }
build=$1 seconds=$2
shift 2
rc=0
for name in "$@"; do
    bin=$build/fuzz/fuzz_$name
    work=$build/corpus/$name art=$build/artifacts/$name
    mkdir -p "$work" "$art" "fuzz/corpus/$name"
    if [ $merge = 1 ]; then
        "$bin" -merge=1 "fuzz/corpus/$name" "$work" >"$build/merge_$name.log" 2>&1
        echo "fuzz-merge $name: $(ls "fuzz/corpus/$name" | wc -l) inputs in fuzz/corpus/$name"
        continue
    fi
    seeds=("fuzz/corpus/$name")
    [ -d "fuzz/regress/$name" ] && seeds+=("fuzz/regress/$name")
    # -timeout: an input running 10 s is a hang; -max_len 64 KiB lets superlinear paths show;
    # ASAN_OPTIONS: leaks are findings too
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
        "$bin" -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$art/" "$work" "${seeds[@]}" >"$build/fuzz_$name.log" 2>&1
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$build/fuzz_$name.log" | tail -1)
    found=$(ls "$art" | wc -l)
    printf 'fuzz %-12s %8s executions in %ss, corpus %5d, artifacts %d\n' "$name" "${runs:-?}" \
        "$seconds" "$(ls "$work" | wc -l)" "$found"
    if [ "$found" -gt 0 ]; then
        rc=1
        ls "$art" | sed "s|^|    $art/|"
        grep -m3 -E 'ERROR:|fuzz: |runtime error|SUMMARY' "$build/fuzz_$name.log" | sed 's/^/    /'
    fi
done
exit $rc
