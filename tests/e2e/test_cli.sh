#!/usr/bin/env bash
# The command line as a person meets it: `semrouter` alone lists every command (each of which
# answers --help), check-config's summary and error lines, `cache stats` in aligned lines and
# as JSON, and progress of long work: a bar redrawn in place when stderr is a terminal (run
# under script(1), which gives it a pseudo-terminal), plain lines otherwise, nothing with
# SEMROUTER_PROGRESS=off - for cache import, export, loading a persist file, and training.
set -uo pipefail
cd "$(dirname "$0")/../.."
SR=${BUILD:-build}/semrouter
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. tests/e2e/lib/check.sh
unset SEMROUTER_PROGRESS

# ---- the command list
"$SR" >"$tmp/out" 2>"$tmp/err"
rc=$?
check cli_no_args_exit_2 '[ $rc = 2 ] && [ ! -s "$tmp/out" ]'
sed -n '/^commands:/,/^$/p' "$tmp/err" | awk 'NR > 1 && NF { print $1 }' >"$tmp/listed"
check cli_lists_every_command --why "listed: $(tr '\n' ' ' <"$tmp/listed")" \
    '[ "$(sort "$tmp/listed" | tr "\n" " ")" = "cache check-config classify config-reference embed reason-codes serve train-classifier train-router train-verifier version " ]'
# every command the binary dispatches is listed: each listed one answers --help, and a name
# that is not listed is refused with the same list
bad=
while read -r cmd; do
    "$SR" "$cmd" --help >"$tmp/h" 2>&1 || bad="$bad $cmd(rc)"
    [ "$cmd" = version ] || grep -q "^usage: semrouter $cmd" "$tmp/h" || bad="$bad $cmd(usage)"
done <"$tmp/listed"
check cli_every_listed_command_has_help --why "bad:$bad" '[ -z "$bad" ]'
"$SR" frobnicate >/dev/null 2>"$tmp/err"
rc=$?
check cli_unknown_command '[ $rc = 2 ] && grep -q "unknown command .frobnicate." "$tmp/err" && grep -q "^  cache " "$tmp/err"'
"$SR" --help >"$tmp/out" 2>&1
check cli_help_on_stdout grep -q "^  check-config -c FILE" "$tmp/out"

# ---- check-config
cat >"$tmp/ok.yaml" <<'YAML'
server: {listen: 127.0.0.1, port: 8801}
vllm_endpoints:
  - {name: gpu-node-ünïcode, address: 127.0.0.1, port: 8000, weight: 3}
  - {name: b, base_url: "http://127.0.0.1:8001/v1"}
model_config:
  qwen:
    preferred_endpoints: [gpu-node-ünïcode, b]
    upstream_model: "Qwen/Qwen3-8B"
default_model: qwen
semantic_cache: {enabled: true, similarity_threshold: 0.9, max_entries: 500, eviction_policy: lfu, ttl_seconds: 60}
auth:
  enabled: true
  keys:
    - {key: k1, tenant: “quoted” team, admin: true}
    - {key: k2, tenant: b}
YAML
"$SR" check-config -c "$tmp/ok.yaml" >"$tmp/out" 2>&1
rc=$?
check cli_check_config_ok --why "$(cat "$tmp/out")" \
    '[ $rc = 0 ] && grep -q "ok.yaml: OK$" "$tmp/out" && grep -q "^  endpoints   2$" "$tmp/out" &&
     grep -q "^    gpu-node-ünïcode  http://127.0.0.1:8000/v1  weight 3$" "$tmp/out" &&
     grep -q "^    qwen  *-> gpu-node-ünïcode, b  (as \"Qwen/Qwen3-8B\")$" "$tmp/out" &&
     grep -q "^  cache       memory, threshold 0.90, max 500 entries (lfu), ttl 60 s" "$tmp/out" &&
     grep -q "^  routing     off: every automatic request goes to qwen$" "$tmp/out" &&
     grep -q "^  auth        on: 2 keys, 1 admin" "$tmp/out"'
sed 's/admin: true/admin: false/' "$tmp/ok.yaml" >"$tmp/noadmin.yaml"
"$SR" check-config -c "$tmp/noadmin.yaml" >"$tmp/out" 2>&1
check cli_check_config_no_admin grep -q "0 admin (for /api/v1/stats) - nobody can read the stats" "$tmp/out"
sed -e 's/weight: 3/weight: many/' -e 's/preferred_endpoints: \[gpu-node-ünïcode, b\]/preferred_endpoints: [nope]/' \
    "$tmp/ok.yaml" >"$tmp/bad.yaml"
"$SR" check-config -c "$tmp/bad.yaml" >"$tmp/out" 2>"$tmp/err"
rc=$?
check cli_check_config_errors --why "rc $rc: $(cat "$tmp/err")" \
    '[ $rc = 1 ] && [ ! -s "$tmp/out" ] && grep -q "bad.yaml:3: vllm_endpoints\[0\].weight: expected an integer" "$tmp/err" && grep -q "bad.yaml:[0-9]*: .*nope" "$tmp/err" &&
     grep -q "^.*bad.yaml: 2 errors - not loaded$" "$tmp/err"'

# ---- cache stats, and progress of import / export
python3 - "$tmp" <<'PY'
import json, struct, base64, hashlib, sys
def line(i, tenant, dim, ttl):
    v = [0.0] * dim
    v[i % dim] = 1.0
    return json.dumps({"tenant": tenant, "partition": hashlib.sha256(b"p").hexdigest(),
        "exact_key": hashlib.sha256(str(i).encode()).hexdigest(),
        "query_text": "question %d: what’s “this”? 🤔 日本語" % i,
        "vector": base64.b64encode(struct.pack("<%df" % dim, *v)).decode(), "context_vectors": [],
        "body": json.dumps({"id": "c%d" % i, "object": "chat.completion", "choices": []}),
        "inserted_at": 1796284260 + i, "expires_at": 4102444800 if ttl else 0}, ensure_ascii=False)
with open(sys.argv[1] + "/small.jsonl", "w") as f:
    for i in range(6):
        f.write(line(i, ["acme", "globex", "テナント"][i % 3] if i < 5 else "acme", 16, i == 0) + "\n")
with open(sys.argv[1] + "/big.jsonl", "w") as f:  # > 1 MiB and >= 1000 vectors: loading and the index build show progress
    for i in range(1100):
        f.write(line(i, "acme", 512, False) + "\n")
PY
"$SR" cache import -p "$tmp/c.log" -i "$tmp/small.jsonl" >"$tmp/out" 2>"$tmp/err"
rc=$?
check cli_import_plain_progress --why "rc $rc: $(od -c "$tmp/err" | head -5)" \
    '[ $rc = 0 ] && grep -q "^importing: imported 6 entries, skipped 0 lines ([0-9.]* s)$" "$tmp/err" && ! grep -q $'"'"'\r'"'"' "$tmp/err" && ! grep -q $'"'"'\033'"'"' "$tmp/err"'
"$SR" cache stats -p "$tmp/c.log" >"$tmp/out" 2>/dev/null
check cli_cache_stats_readable --why "$(cat "$tmp/out")" \
    'grep -q "^entries      6 in 1 partition$" "$tmp/out" && grep -q "^tenants      acme 3 · globex 2 · テナント 1$" "$tmp/out" &&
     grep -q "^dimension    16$" "$tmp/out" && grep -q "^oldest       2026-12-03 07:51:00 UTC$" "$tmp/out" &&
     grep -q "^with a TTL   1 of 6$" "$tmp/out" && grep -qE "^on disk      [0-9.]+ KiB$" "$tmp/out"'
"$SR" cache stats -p "$tmp/c.log" --json >"$tmp/out" 2>/dev/null
check cli_cache_stats_json --why "$(cat "$tmp/out")" \
    '[ "$(python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print(j[\"entries\"], j[\"tenants\"][\"テナント\"], j[\"dimension\"], j[\"with_ttl\"])" "$tmp/out")" = "6 1 16 1" ]'
script -qec "$SR cache import -p $tmp/tty.log -i $tmp/small.jsonl" /dev/null >"$tmp/tty" 2>&1
check cli_import_bar_on_a_terminal --why "$(od -c "$tmp/tty" | head -8)" \
    'grep -q $'"'"'\r\033\[K'"'"'"importing \[" "$tmp/tty" && grep -q " 100%" "$tmp/tty" && grep -q "importing: imported 6 entries" "$tmp/tty"'
script -qec "$SR cache export -p $tmp/c.log -o $tmp/exp.jsonl" /dev/null >"$tmp/tty" 2>&1
check cli_export_bar_on_a_terminal --why "$(od -c "$tmp/tty" | head -8)" \
    'grep -q "exporting \[.*100%  6/6 entries" "$tmp/tty" && grep -q "exporting: exported 6 entries" "$tmp/tty" && [ "$(wc -l <"$tmp/exp.jsonl")" = 6 ]'
SEMROUTER_PROGRESS=off "$SR" cache export -p "$tmp/c.log" -o "$tmp/exp2.jsonl" >/dev/null 2>"$tmp/err"
check cli_progress_off '! grep -q "exporting" "$tmp/err" && cmp -s "$tmp/exp.jsonl" "$tmp/exp2.jsonl"'

# ---- loading a persist file over 1 MiB shows its progress, and so does placing its 1,100 vectors
SEMROUTER_PROGRESS=off "$SR" cache import -p "$tmp/big.log" -i "$tmp/big.jsonl" >/dev/null 2>&1
"$SR" cache stats -p "$tmp/big.log" >"$tmp/out" 2>"$tmp/err"
check cli_load_plain_progress --why "$(cat "$tmp/err") / $(ls -l "$tmp/big.log")" \
    'grep -q "^cache: loading big.log: 1100 records ([0-9.]* s)$" "$tmp/err" && grep -q "^entries      1100 in 1 partition$" "$tmp/out" &&
     grep -q "^cache: building the vector index: 1100 vectors inserted ([0-9.]* s)$" "$tmp/err"'
script -qec "$SR cache stats -p $tmp/big.log" /dev/null >"$tmp/tty" 2>&1
check cli_load_bar_on_a_terminal --why "$(head -c 400 "$tmp/tty" | od -c | head -8)" \
    'grep -q "cache: loading big.log \[.*100%  .* MiB/.* MiB" "$tmp/tty" && [ "$(grep -c "loading big.log:" "$tmp/tty")" = 1 ] &&
     grep -q "cache: building the vector index \[.*100%  1,100/1,100 vectors" "$tmp/tty"'

# ---- training: embedding and iterations
if [ -f models/use-lite/model.json ]; then
    printf 'math\tWhat is the integral of x²?\nmath\tSolve 2x + 3 = 11 for x\nmath\tIs 97 a prime number?\ncooking\tHow long should I boil an egg?\ncooking\tWhat’s a good recipe for pancakes? 🥞\ncooking\tComment faire une roux pour le gumbo ?\n' >"$tmp/tiny.tsv"
    "$SR" train-classifier --extra "$tmp/tiny.tsv" --out "$tmp/head.bin" --iter 60 >"$tmp/out" 2>"$tmp/err"
    rc=$?
    check cli_train_plain_progress --why "rc $rc: $(cat "$tmp/err")" \
        '[ $rc = 0 ] && grep -q "^embedding: 6 texts embedded on [0-9]* threads* ([0-9.]* s)$" "$tmp/err" &&
         grep -q "^training: [0-9]* iterations, loss [0-9.]* ([0-9.]* s)$" "$tmp/err" && grep -q "^wrote " "$tmp/out"'
    script -qec "$SR train-classifier --extra $tmp/tiny.tsv --out $tmp/head2.bin --iter 60" /dev/null >"$tmp/tty" 2>&1
    check cli_train_bar_on_a_terminal --why "$(od -c "$tmp/tty" | head -6)" \
        'grep -q "embedding \[.*100%  6/6 texts" "$tmp/tty" && grep -q "training \[.*100%" "$tmp/tty"'
else
    skip cli_train_progress "models/use-lite missing (scripts/fetch-model.sh)"
fi
