#!/usr/bin/env bash
# Proves the README's first screen works from a clean checkout: clones this
# repository (its committed HEAD) into a temporary folder and runs the
# commands between the README's quickstart markers there, verbatim, one by
# one. `make test` runs this script; inside the clone ZMP_QUICKSTART_NESTED
# is set so the clone's own `make test` does not recurse into it again.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${ZMP_QUICKSTART_NESTED:-}" ]; then
  echo "readme-quickstart: nested run, skipped"
  exit 0
fi
commands=$(awk '/<!-- quickstart:begin -->/{on=1; next} /<!-- quickstart:end -->/{on=0} on && !/^```/' README.md)
if [ -z "$commands" ]; then
  echo "readme-quickstart: no commands between the quickstart markers in README.md" >&2
  exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git clone -q . "$work/zoho-mcp-proxy"
cd "$work/zoho-mcp-proxy"
export ZMP_QUICKSTART_NESTED=1
while IFS= read -r cmd; do
  [ -z "$cmd" ] && continue
  echo "readme-quickstart: \$ $cmd"
  bash -c "$cmd"
done <<<"$commands"
echo "readme-quickstart: every README quickstart command passed in a fresh clone"
