#!/usr/bin/env bash
# Refresh threatkit/static/html-manager/embed.js from the npm registry (not run by make or CI:
# the file is committed so an installed wheel renders widgets offline). Checks the sha256
# recorded in the folder's README; after a version bump, update both.
set -euo pipefail
VERSION=1.0.15
cd "$(dirname "$0")/.."
dest=threatkit/static/html-manager
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "@jupyter-widgets/html-manager@$VERSION" >/dev/null && tar xzf ./*.tgz)
want=$(awk '/  embed.js$/ {print $1}' "$dest/README.md")
got=$(sha256sum "$tmp/package/dist/embed.js" | cut -d' ' -f1)
[ "$got" = "$want" ] || { echo "embed.js sha256 $got, README records $want" >&2; exit 1; }
cp "$tmp/package/dist/embed.js" "$tmp/package/dist/embed.js.LICENSE.txt" "$dest/"
echo "vendored @jupyter-widgets/html-manager@$VERSION into $dest"
