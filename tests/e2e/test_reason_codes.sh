#!/usr/bin/env bash
# Reason codes (README "Reason codes"; README's table itself: test_cli_reference.sh): every
# code the sources write is a row of src/core/reason.c, no error answer goes out without one,
# every row is written somewhere, the server's start-up and degraded lines carry one
# (tests/tools/reason_codes.py); the checker itself catches each kind of miss in a small tree
# made for it; and a real start-up failure prints its code.
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib/check.sh
BUILD=${BUILD:-build}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

python3 tests/tools/reason_codes.py src >"$tmp/real" 2>&1
check sources_follow_the_table --why "$(grep PROBLEM "$tmp/real" | head -5 | tr '\n' '|')" '! grep -q PROBLEM "$tmp/real"'

# the checker on a made-up tree: an unknown code, an error without a code, an unused row, a
# duplicated row, an uncoded start-up line and an unknown code in a log line
mkdir -p "$tmp/src/core" "$tmp/src/api" "$tmp/src/pipeline"
cat >"$tmp/src/core/reason.c" <<'C'
    R("known", 400, "http", "Known."),
    R("unused", 0, "log", "Never written."),
    R("twice", 0, "log", "One."),
    R("twice", 0, "log", "Two."),
C
cat >"$tmp/src/pipeline/x.c" <<'C'
void f(void) {
    chat_fail(c, 400, "m", NULL, "known", "twice");
    http_respond_error(req, 500, "Out of memory.", NULL, NULL);
    http_respond_error(req, 404, msg, "model", "not_in_table");
    c->error_reason = ok ? "known" : "also_missing";
    log_warn("[no_such_code] something degraded");
}
C
printf 'void g(void) {\n    log_error("the cache is off");\n    fprintf(stderr, "semrouter: [known] x\\n");\n}\n' >"$tmp/src/api/gateway.c"
python3 tests/tools/reason_codes.py "$tmp/src" >"$tmp/bad" 2>&1
rc=$?
check checker_fails_bad_tree '[ "$rc" = 1 ]'
check checker_finds_unknown_code grep -q "x.c:4: code 'not_in_table' is not in" "$tmp/bad"
check checker_finds_missing_code grep -q 'x.c:3: http_respond_error without a reason code' "$tmp/bad"
check checker_finds_unknown_log_reason grep -q "x.c:5: code 'also_missing'" "$tmp/bad"
check checker_finds_unknown_line_code grep -q "x.c:6: code 'no_such_code'" "$tmp/bad"
check checker_finds_uncoded_start_line grep -q "gateway.c:2: an operator's line without a \[reason_code\]" "$tmp/bad"
check checker_finds_unused_row grep -q "code 'unused' of src/core/reason.c is written nowhere" "$tmp/bad"
check checker_finds_duplicate_row grep -q "code 'twice' has 2 rows" "$tmp/bad"
check checker_accepts_coded_lines '! grep -q "gateway.c:3" "$tmp/bad"'

# a real start-up failure names its code and a sentence
printf 'vllm_endpoints: [\n  - name: "x"\n' >"$tmp/broken.yaml"
"$BUILD/semrouter" serve -c "$tmp/broken.yaml" >"$tmp/out" 2>"$tmp/err"
rc=$?
check start_failure_exits_1 '[ "$rc" = 1 ]'
check start_failure_names_code grep -q "^semrouter: \[config_invalid\] refusing to start, $tmp/broken.yaml is not valid:" "$tmp/err"
"$BUILD/semrouter" serve -c "$tmp/broken.yaml" --port abc >"$tmp/out" 2>"$tmp/err"
rc=$?
check bad_port_is_usage_error '[ "$rc" = 2 ]'
check bad_port_names_code grep -q "^semrouter serve: \[usage\] --port must be a whole number from 0 to 65535, got 'abc'" "$tmp/err"
