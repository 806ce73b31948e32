#!/usr/bin/env bash
# Installs redis-server (the Debian package) for the tests of cluster/, which
# start their own throw-away server on a random loopback port. Idempotent, and
# never fails: without redis-server those tests skip with a message.
set -u

if command -v redis-server >/dev/null 2>&1; then
	exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
	echo "deps-redis: apt-get not found; install redis-server yourself to run the Redis tests (they skip without it)" >&2
	exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
		sudo="sudo -n"
	else
		echo "deps-redis: not root and no password-less sudo; install redis-server to run the Redis tests (they skip without it)" >&2
		exit 0
	fi
fi
export DEBIAN_FRONTEND=noninteractive
if ! $sudo apt-get install -y --no-install-recommends redis-server >/dev/null 2>&1; then
	# The package lists may be missing or stale on a fresh machine.
	$sudo apt-get update -qq >/dev/null 2>&1 || true
	if ! $sudo apt-get install -y --no-install-recommends redis-server >/dev/null 2>&1; then
		echo "deps-redis: could not install redis-server; the Redis tests will skip" >&2
		exit 0
	fi
fi
# The package starts a system service; the tests start their own servers.
if command -v service >/dev/null 2>&1; then
	$sudo service redis-server stop >/dev/null 2>&1 || true
fi
echo "deps-redis: installed $(redis-server --version | cut -d' ' -f1-3)"
exit 0
