#!/usr/bin/env bash
# The shadow-versus-nested crossover: churn over a 16 MiB region (more pages
# than the TLBs hold) with reads=R random loads per page while it is mapped,
# R from many (tables almost static) to none (every page mapped, touched
# and unmapped again). For each preset it runs native, the preset's nested
# mode (ept on Intel, npt on AMD) and shadow at each R, and prints one
# Markdown row per R: the guest's page-table stores per 1,000 accesses, and
# modelled cycles per access of each mode. Cycles are divided by native's
# access count (access.total: the guest's loads, stores and fetches, the
# same count in every mode).
# Then the update rate at which nested overtakes shadow, interpolated
# linearly between the two points that bracket the sign change. The first
# row, "none", is random:ws=16m,update=0: the same 16 MiB, tables that never
# change in the measured phase.
#   scripts/shadow_crossover.sh [NESTWALK] [PRESET...]   (default: skylake zen3)
set -euo pipefail
nw=${1:-build/release/nestwalk}
shift || true
presets=("$@")
[ ${#presets[@]} -gt 0 ] || presets=(skylake zen3)
command -v jq >/dev/null || { echo "shadow_crossover: needs jq" >&2; exit 2; }
reads=(none 1024 512 256 128 64 32 16 8 4 2 1 0)
size=16m
rounds=2

# cycles and accesses of one run: "CYCLES ACCESSES PT_STORES"
one() {
	local spec="churn:size=$size,rounds=$rounds,reads=$1"
	[ "$1" = none ] && spec="random:ws=$size,ops=200000,update=0"
	"$nw" run -q --workload "$spec" --mode "$2" --cpu "$3" --json - |
		jq -r '[([.stats | to_entries[] | select(.key | startswith("cycles.")) | .value] | add),
			.figures["access.total"], .stats["guest.pt_stores"]] | @tsv'
}

for p in "${presets[@]}"; do
	vendor=$("$nw" run -q --workload seq:ws=64k,passes=1 --mode native --cpu "$p" --json - | jq -r .config.vendor)
	nested=$([ "$vendor" = amd ] && echo npt || echo ept)
	echo
	echo "### $p: $nested against shadow, churn:size=$size,rounds=$rounds,reads=R"
	echo
	echo "| reads R | PT stores / 1k accesses | native | $nested | shadow | shadow − $nested |"
	echo "|---:|---:|---:|---:|---:|---:|"
	prev_rate="" prev_diff="" cross=""
	for r in "${reads[@]}"; do
		read -r nc na ns < <(one "$r" native "$p")
		read -r hc _ _ < <(one "$r" "$nested" "$p")
		read -r sc _ _ < <(one "$r" shadow "$p")
		line=$(jq -nr --arg r "$r" --argjson nc "$nc" --argjson na "$na" --argjson ns "$ns" \
			--argjson hc "$hc" --argjson sc "$sc" '
			def r2: . * 100 | round / 100;
			($ns * 1000 / $na) as $rate | ($sc / $na - $hc / $na) as $d |
			"\($rate) \($d) | \($r) | \($rate | r2) | \($nc / $na | r2) | \($hc / $na | r2) | \($sc / $na | r2) | \($d | r2) |"')
		rate=${line%% *}
		rest=${line#* }
		diff=${rest%% *}
		echo "${rest#* }"
		if [ -n "$prev_rate" ] && [ -z "$cross" ] &&
			jq -ne --argjson a "$prev_diff" --argjson b "$diff" '($a < 0) and ($b >= 0)' >/dev/null; then
			cross=$(jq -nr --argjson r0 "$prev_rate" --argjson r1 "$rate" --argjson d0 "$prev_diff" \
				--argjson d1 "$diff" '($r0 + ($r1 - $r0) * (0 - $d0) / ($d1 - $d0)) * 100 | round / 100')
		fi
		prev_rate=$rate prev_diff=$diff
	done
	echo
	if [ -n "$cross" ]; then
		echo "$p: $nested overtakes shadow at about $cross page-table stores per 1,000 accesses."
	else
		echo "$p: no crossover in this range."
	fi
done
