#!/usr/bin/env bash
# Rebuilds charts/charts/<name>-<version>.tgz from charts/src/<name>/ byte for byte the same on
# every run (sorted entries, fixed owner and mtime, gzip without name or timestamp), so that a
# test can tell when an archive is out of date with its sources.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mkdir -p "$here/charts"
for dir in "$here"/src/*/; do
  name="$(basename "$dir")"
  version="$(sed -n 's/^version:[[:space:]]*//p' "$dir/Chart.yaml" | head -n1 | tr -d '"'"'"' ')"
  out="$here/charts/$name-$version.tgz"
  tar --sort=name --mtime='@0' --owner=0 --group=0 --numeric-owner --format=ustar \
      --mode='u=rwX,go=rX' -C "$here/src" -cf - "$name" | gzip -n -9 > "$out.tmp"
  mv "$out.tmp" "$out"
  echo "$out"
done
