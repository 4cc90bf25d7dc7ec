#!/usr/bin/env bash
# README's generated blocks are exactly the commands that generate them: the configuration
# reference is `semrouter config-reference` (the loader's tables), the reason codes are
# `semrouter reason-codes` (src/core/reason.c), so the documentation cannot drift from the code.
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib/check.sh
BUILD=${BUILD:-build}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for doc in config-reference reason-codes; do
    "$BUILD/semrouter" "$doc" >"$tmp/$doc"
    python3 tests/tools/readme_block.py "$doc" >"$tmp/readme-$doc"
    check "readme_${doc//-/_}_is_generated" --why "README differs from $doc: $(diff "$tmp/readme-$doc" "$tmp/$doc" | head -5 | tr '\n' '|') (regenerate the block)" \
        cmp -s "$tmp/readme-$doc" "$tmp/$doc"
done
cp "$tmp/config-reference" "$tmp/ref"
cp "$tmp/reason-codes" "$tmp/table"
check reference_has_every_section '[ "$(grep -c "^| \`[a-z_]*\` | section" "$tmp/ref")" -ge 12 ]'
check reference_usage_on_bad_argument '! "$BUILD/semrouter" config-reference --bogus 2>/dev/null'

check every_reason_code_has_a_sentence '[ "$(grep -c "^| \`[a-z0-9_]*\` | [0-9]* | [a-z, ]* | [A-Z/].*[.)] |$" "$tmp/table")" = "$(($(wc -l <"$tmp/table") - 2))" ]'
check reason_codes_usage_on_bad_argument '! "$BUILD/semrouter" reason-codes --bogus 2>/dev/null'
