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

# The server library holds what the server runs: no command (src/cli) and no trainer in it;
# the commands' archive has them.
BUILD=${BUILD:-build}
nm -g --defined-only "$BUILD/libsemrouter.a" 2>/dev/null | awk 'NF == 3 {print $3}' >"$tmp/lib_syms"
nm -g --defined-only "$BUILD/libsemrouter_cli.a" 2>/dev/null | awk 'NF == 3 {print $3}' >"$tmp/cli_syms"
check server_library_has_no_commands --why "$(grep -E '^(cli_|train_softmax$|route_dataset_|route_embed_dataset$)' "$tmp/lib_syms" | head -3 | tr '\n' ' ')" \
    '[ -s "$tmp/lib_syms" ] && ! grep -qE "^(cli_|train_softmax\$|route_dataset_|route_embed_dataset\$)" "$tmp/lib_syms"'
missing=
for s in cli_check_config cli_config_reference cli_cache cli_embed cli_classify cli_train_classifier \
    cli_train_verifier cli_train_router train_softmax route_embed_dataset; do
    grep -qx "$s" "$tmp/cli_syms" || missing="$missing $s"
done
check cli_archive_has_the_commands --why "missing:$missing" '[ -z "$missing" ]'

# the http <-> api cycle this repo once had, a reach into config's internals, and a module
# using the cli layer
mkdir -p "$tmp/src/http" "$tmp/src/api" "$tmp/src/route" "$tmp/src/cli"
printf '#include "api/api_error.h"\n' >"$tmp/src/http/server.c"
printf '#include "http/server.h"\n' >"$tmp/src/api/gateway.c"
printf '#include "config/config_internal.h"\n#include "cli/train.h"\n' >"$tmp/src/route/decide.c"
printf '#include "route/decide.h"\n' >"$tmp/src/cli/train.c"
python3 tests/tools/include_graph.py "$tmp/src" >"$tmp/bad" 2>&1
rc=$?
check checker_fails_bad_tree '[ "$rc" = 1 ]'
check checker_finds_cycle grep -q 'PROBLEM include cycle: api -> http -> api' "$tmp/bad"
check checker_finds_forbidden_edge grep -q 'PROBLEM http may not include api' "$tmp/bad"
check checker_finds_internals grep -q 'PROBLEM .*route/decide.c includes config/config_internal.h' "$tmp/bad"
check checker_finds_use_of_cli grep -q 'PROBLEM route may not include cli' "$tmp/bad"
