#!/usr/bin/env bash
# Packs the package the way it will be published (pnpm applies publishConfig) and checks the
# tarball with publint --strict and @arethetypeswrong/cli. Run from a package directory.
set -euo pipefail
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pnpm pack --pack-destination "$tmp" >/dev/null
tgz=$(ls "$tmp"/*.tgz)
mkdir "$tmp/pkg" && tar -xzf "$tgz" -C "$tmp/pkg" --strip-components=1
publint --strict --pack false "$tmp/pkg"
attw "$tgz" --profile esm-only --format table-flipped
