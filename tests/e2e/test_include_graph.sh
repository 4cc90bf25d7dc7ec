#!/usr/bin/env bash
# The include graph of src/ follows README's module map and has no cycle
# (tests/tools/include_graph.py); the checker itself catches a cycle, a forbidden edge and
# another module's internals in a small tree made for it.
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib/check.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 tests/tools/include_graph.py src >"$tmp/real" 2>&1
check include_graph_follows_module_map --why "$(grep PROBLEM "$tmp/real" | head -5 | tr '\n' '|')" \
    '! grep -q PROBLEM "$tmp/real"'
check include_graph_lists_modules grep -q '^api .*-> .*cache' "$tmp/real"

# the http <-> api cycle this repo once had, and a reach into config's internals
mkdir -p "$tmp/src/http" "$tmp/src/api" "$tmp/src/route"
printf '#include "api/api_error.h"\n' >"$tmp/src/http/server.c"
printf '#include "http/server.h"\n' >"$tmp/src/api/gateway.c"
printf '#include "config/config_internal.h"\n' >"$tmp/src/route/decide.c"
python3 tests/tools/include_graph.py "$tmp/src" >"$tmp/bad" 2>&1
rc=$?
check checker_fails_bad_tree '[ "$rc" = 1 ]'
check checker_finds_cycle grep -q 'PROBLEM include cycle: api -> http -> api' "$tmp/bad"
check checker_finds_forbidden_edge grep -q 'PROBLEM http may not include api' "$tmp/bad"
check checker_finds_internals grep -q 'PROBLEM .*route/decide.c includes config/config_internal.h' "$tmp/bad"
