#!/usr/bin/env bash
# `semrouter cache stats|export|import|clear` on a persist file: import JSON
# lines, count them by tenant, export one tenant, clear it, and the error
# paths (missing -p, unknown option, a file that is not a cache file).
set -uo pipefail
cd "$(dirname "$0")/../.."
SR=${BUILD:-build}/semrouter
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
db=$tmp/cache.log

. tests/e2e/lib/check.sh

python3 - >"$tmp/in.jsonl" <<'PY'
import json, struct, base64, hashlib
for i in range(5):
    v = [0.0] * 16
    v[i] = 1.0
    print(json.dumps({
        "tenant": "alice" if i < 3 else "bob",
        "partition": hashlib.sha256(b"p").hexdigest(),
        "exact_key": hashlib.sha256(str(i).encode()).hexdigest(),
        "query_text": "question %d" % i,
        "vector": base64.b64encode(struct.pack("<16f", *v)).decode(),
        "context_vectors": [],
        "body": json.dumps({"id": "c%d" % i, "object": "chat.completion"}),
        "inserted_at": 1, "expires_at": 0}))
print("this line is not JSON")
PY

"$SR" cache import -p "$db" -i "$tmp/in.jsonl" >"$tmp/out" 2>&1
rc=$?
check cli_import_counts --why "rc $rc: $(cat "$tmp/out")" \
    '[ $rc = 1 ] && grep -q "imported 5 entries, skipped 1 lines" "$tmp/out"'

"$SR" cache stats -p "$db" --tenant alice >"$tmp/out" 2>/dev/null
check cli_stats --why "$(tr '\n' '|' <"$tmp/out")" \
    'grep -q "^entries      5 in 1 partition$" "$tmp/out" && grep -q "^tenant       alice: 3 entries$" "$tmp/out" && grep -q "^dimension    16$" "$tmp/out"'

"$SR" cache export -p "$db" --tenant bob >"$tmp/bob.jsonl" 2>/dev/null
check cli_export_tenant --why "$(head -c 300 "$tmp/bob.jsonl")" \
    '[ "$(wc -l <"$tmp/bob.jsonl")" = 2 ] && ! grep -q alice "$tmp/bob.jsonl" && grep -q "question 4" "$tmp/bob.jsonl"'

"$SR" cache clear -p "$db" --tenant alice >"$tmp/out" 2>/dev/null
"$SR" cache stats -p "$db" >"$tmp/stats" 2>/dev/null
check cli_clear_tenant --why "$(tr '\n' '|' <"$tmp/out") / $(tr '\n' '|' <"$tmp/stats")" \
    'grep -q "removed 3 entries" "$tmp/out" && grep -q "^entries      2 in 1 partition$" "$tmp/stats"'

# Round trip: the export imports into a fresh file unchanged.
"$SR" cache import -p "$tmp/copy.log" -i "$tmp/bob.jsonl" >/dev/null 2>&1
"$SR" cache export -p "$tmp/copy.log" >"$tmp/bob2.jsonl" 2>/dev/null
check cli_export_import_round_trip --why "$(diff "$tmp/bob.jsonl" "$tmp/bob2.jsonl" | head -c 300)" \
    'cmp -s "$tmp/bob.jsonl" "$tmp/bob2.jsonl"'

"$SR" cache stats >/dev/null 2>&1; rc1=$?
"$SR" cache stats -p "$db" --bogus 1 >/dev/null 2>&1; rc2=$?
"$SR" cache frobnicate -p "$db" >/dev/null 2>&1; rc3=$?
check cli_usage_errors --why "rc $rc1 $rc2 $rc3" \
    '[ $rc1 = 2 ] && [ $rc2 = 2 ] && [ $rc3 = 2 ]'

echo "notes, not a cache" >"$tmp/notes.txt"
"$SR" cache stats -p "$tmp/notes.txt" >"$tmp/out" 2>&1; rc=$?
check cli_not_a_cache_file --why "rc $rc: $(cat "$tmp/out")" \
    '[ $rc = 1 ] && grep -q "not a semrouter cache file" "$tmp/out" && [ "$(cat "$tmp/notes.txt")" = "notes, not a cache" ]'

"$SR" cache --help >"$tmp/out" 2>&1
check cli_help --why "$(head -c 200 "$tmp/out")" \
    'grep -q "semrouter cache <command>" "$tmp/out"'
