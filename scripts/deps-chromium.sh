#!/usr/bin/env bash
# Makes headless Chromium available for the status page's browser tests
# (status: TestBrowser; e2e/statuspage: TestStatusPageInBrowser), from the
# distribution's package; make test runs it (test-deps). Idempotent, and it
# never fails: where Chromium cannot be had (no apt-get, not root, no
# network), it says why and the browser test skips with its own message.
set -u
find_chromium() {
  for c in "${CHROMIUM:-}" chromium chromium-browser google-chrome; do
    [ -n "$c" ] && command -v "$c" >/dev/null 2>&1 && { command -v "$c"; return 0; }
  done
  return 1
}
if path=$(find_chromium); then
  echo "deps-chromium: found $path"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "deps-chromium: no chromium and no apt-get; the browser test will skip"
  exit 0
fi
sudo=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo="sudo -n"
  else
    echo "deps-chromium: no chromium and not root; the browser test will skip"
    exit 0
  fi
fi
echo "deps-chromium: installing chromium with apt-get"
export DEBIAN_FRONTEND=noninteractive
if ! $sudo apt-get install -y --no-install-recommends chromium >/dev/null 2>&1; then
  # The package lists may be missing or stale: refresh them once and retry.
  $sudo apt-get update -qq >/dev/null 2>&1 || true
  $sudo apt-get install -y --no-install-recommends chromium >/dev/null 2>&1 || true
fi
if path=$(find_chromium); then
  echo "deps-chromium: installed $path"
else
  echo "deps-chromium: could not install chromium; the browser test will skip"
fi
exit 0
