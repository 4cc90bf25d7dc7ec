#!/usr/bin/env bash
# Command-line numbers are parsed strictly: `--port abc` is an error naming the option, never
# port 0 (an ephemeral port) or a half-parsed value.
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib/check.sh
BUILD=${BUILD:-build}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
run() { # NAME EXPECTED_TEXT COMMAND...
    local name=$1 want=$2
    shift 2
    timeout 20 "$@" >"$tmp/out" 2>&1
    local rc=$?
    check "$name" --why "exit $rc: $(head -c 300 "$tmp/out" | tr '\n' '|')" \
        '[ "$rc" = 2 ] && grep -qF -- "$want" "$tmp/out"'
}
run serve_port_abc "--port must be a whole number from 0 to 65535, got 'abc'" \
    "$BUILD/semrouter" serve -c config/config.yaml --port abc
run serve_port_out_of_range "got '70000'" "$BUILD/semrouter" serve -c config/config.yaml --port 70000
run serve_metrics_port_suffix "--metrics-port must be a whole number" \
    "$BUILD/semrouter" serve -c config/config.yaml --metrics-port 9190x
run serve_workers_negative "--workers must be a whole number from 0 to 1024, got '-1'" \
    "$BUILD/semrouter" serve -c config/config.yaml --workers -1
run train_iter_text "--iter must be a whole number >= 0, got 'many'" \
    "$BUILD/semrouter" train-classifier --data /nonexistent --out "$tmp/h.bin" --iter many
run train_l2_text "--l2 must be a number >= 0, got 'strong'" \
    "$BUILD/semrouter" train-classifier --data /nonexistent --out "$tmp/h.bin" --l2 strong
run calibrate_from_text "--from must be a number in [-1, 1], got 'low'" "$BUILD/calibrate" --from low x.csv
