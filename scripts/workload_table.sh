#!/usr/bin/env bash
# Runs every built-in workload in native, ept and npt on one CPU preset and
# prints a Markdown table of the figures docs/BENCHMARKS.md records.
#   scripts/workload_table.sh [NESTWALK] [PRESET] [extra nestwalk run flags...]
set -euo pipefail
nw=${1:-build/release/nestwalk}
preset=${2:-generic}
shift $(( $# > 2 ? 2 : $# )) || true
command -v jq >/dev/null || { echo "workload_table: needs jq" >&2; exit 2; }

printf '| workload | mode | accesses | TLB misses | refs/walk (g+h) | exits/1k | cycles/access | checksum |\n'
printf '|---|---|---:|---:|---:|---:|---:|---|\n'
for w in seq random chase zipf churn fork ctxsw mix; do
	for m in native ept npt; do
		"$nw" run -q -w "$w" -m "$m" --cpu "$preset" "$@" --json - |
		jq -r --arg w "$w" --arg m "$m" '
			def f(k): (.figures[k] // .stats[k] // 0);
			"| \($w) | \($m) | \(f("accesses")) | \(f("tlb.misses")) | " +
			"\(f("walk.refs_per_walk") * 100 | round / 100) " +
			"(\(f("walk.refs_per_walk.guest") * 100 | round / 100)+\(f("walk.refs_per_walk.host") * 100 | round / 100)) | " +
			"\(f("exits.per_1k") * 1000 | round / 1000) | \(f("cycles.per_access") * 100 | round / 100) | " +
			"\(.stats["workload.checksum"] // "?") |"'
	done
done
