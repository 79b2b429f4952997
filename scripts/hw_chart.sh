#!/usr/bin/env bash
# Redraws docs/hw_chase.svg (docs/BENCHMARKS.md, "The 4K and THP curve"): the
# 4K and THP chase measured on this machine by `nestwalk hw`, the calibrated
# model's prediction (nestwalk-bench model suite, host 4K) and the knee marks,
# rendered by `nestwalk report`. Needs a release build (make release) and
# root for chrt (SCHED_FIFO keeps other work off the pinned core).
# Usage: scripts/hw_chart.sh [BUILD_DIR]   (default build/release)
set -eu
cd "$(dirname "$0")/.."
build=${1:-build/release}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
run=()
[ "$(id -u)" = 0 ] && run=(chrt -f 50)
"${run[@]}" "$build/nestwalk" hw --min 16K --max 8G --pages 4k,thp --samples 50 -q \
	--out "$tmp/hw.json" >/dev/null
"$build/bench/nestwalk-bench" --benchmark_filter='^model/(chase|penalty)/.*h4k/' --hw_hugetlb_reserve=0 \
	--model_llc=4M --model_dram_ns=90 --benchmark_out="$tmp/model.json" \
	--benchmark_out_format=json >/dev/null
"$build/nestwalk" report "$tmp/hw.json" "$tmp/model.json" --out "$tmp/r" >/dev/null
cp "$tmp/r/hw_chase.svg" docs/hw_chase.svg
echo "docs/hw_chase.svg"
