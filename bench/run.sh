#!/usr/bin/env bash
# make bench: runs every benchmark script in bench/ (each prints its own table).
# BENCH=name runs only the scripts whose name contains it. Numbers are only
# meaningful as ratios against the anchors each script measures in the same run.
set -uo pipefail
cd "$(dirname "$0")/.."
rc=0
for s in bench/*.sh; do
    [ "$(basename "$s")" = run.sh ] && continue
    [ -n "${BENCH:-}" ] && [[ "$s" != *"$BENCH"* ]] && continue
    echo "===== $s"
    bash "$s" || { echo "bench: $s failed"; rc=1; }
done
exit $rc
