#!/usr/bin/env bash
# Regenerate book/src/diffs/stepNN.diff: what changed between consecutive
# step binaries. tests/book.rs fails when these are stale.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p book/src/diffs
prev=""
for f in $(ls steps/step*.rs | sort); do
  if [ -n "$prev" ]; then
    n=$(basename "$f" | sed -E 's/^step([0-9]+).*/\1/')
    diff -u --label "$prev" --label "$f" "$prev" "$f" > "book/src/diffs/step$n.diff" || true
  fi
  prev="$f"
done
