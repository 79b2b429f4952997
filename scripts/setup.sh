#!/usr/bin/env bash
# Installs the Debian packages nestwalk needs, only when one is missing.
# Idempotent and silent when everything is already there.
set -euo pipefail

# Keep this list in one place: the Makefile, CI and docs all call this script.
packages=(
	build-essential cmake ninja-build pkg-config
	libcmocka-dev
	libbenchmark-dev libhwloc-dev libpfm4-dev g++ libjansson-dev
	gnuplot-nox jq
	chromium
	valgrind libzstd-dev clang libclang-rt-14-dev
)

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "setup: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >/dev/null
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
