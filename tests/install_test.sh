#!/usr/bin/env bash
# Installs nestwalk into a temporary prefix, builds examples/ against the
# installed package (CMake config and pkg-config both), and runs the example.
set -euo pipefail
src=$1
build=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

quiet() { "$@" >"$tmp/log" 2>&1 || { cat "$tmp/log" >&2; exit 1; }; }
quiet cmake --install "$build" --prefix "$tmp/prefix"
quiet cmake -S "$src/examples" -B "$tmp/ex" -G Ninja -DCMAKE_PREFIX_PATH="$tmp/prefix" \
	-DCMAKE_C_FLAGS="-Wall -Wextra -Werror"
quiet cmake --build "$tmp/ex"
"$tmp/ex/own_backend"

# pkg-config users get the same library.
PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig" \
	cc -std=c11 -Wall -Werror -o "$tmp/own_backend_pc" "$src/examples/own_backend.c" \
	$(PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig" pkg-config --cflags --libs nestwalk)
"$tmp/own_backend_pc" >/dev/null
echo "install test: find_package and pkg-config builds both ran"
