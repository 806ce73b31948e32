#!/usr/bin/env bash
# Runs every Go fuzz target in the module for the given time each (default 2m).
# Plain `go test` already replays each target's seed corpus; this explores.
set -euo pipefail
cd "$(dirname "$0")/.."
time=${1:-2m}
status=0
while read -r pkg; do
  for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
    echo "== $pkg $target ($time)"
    go test -run '^$' -fuzz "^${target}\$" -fuzztime "$time" "$pkg" || status=1
  done
done < <(go list ./...)
exit $status
