#!/usr/bin/env bash
# README's configuration reference is exactly `semrouter config-reference` (generated from the
# loader's tables), so the documentation cannot drift from the keys the loader knows.
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib/check.sh
BUILD=${BUILD:-build}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$BUILD/semrouter" config-reference >"$tmp/ref"
python3 - README.md "$tmp/ref" >"$tmp/readme_ref" <<'PY'
import sys
s = open(sys.argv[1], encoding="utf-8").read()
a = s.index("<!-- config-reference:begin -->") + len("<!-- config-reference:begin -->\n")
b = s.index("<!-- config-reference:end -->")
sys.stdout.write(s[a:b])
PY
check readme_reference_is_generated --why "README differs from config-reference: $(diff "$tmp/readme_ref" "$tmp/ref" | head -5 | tr '\n' '|') (regenerate the block)" \
    cmp -s "$tmp/readme_ref" "$tmp/ref"
check reference_has_every_section '[ "$(grep -c "^| \`[a-z_]*\` | section" "$tmp/ref")" -ge 12 ]'
check reference_usage_on_bad_argument '! "$BUILD/semrouter" config-reference --bogus 2>/dev/null'
