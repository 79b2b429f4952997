#!/usr/bin/env bash
# The walk penalty (4K guest pages against 2 MiB hugetlb pages) measured on
# this machine and predicted by the model for the same moment, run by run.
#
#   scripts/model_vs_machine.sh BUILD_DIR OUT_DIR [RUNS]
#
# 1. RUNS times (default 8): nestwalk hw at 1, 2 and 4 GiB, 4k and 2m mapped
#    at once and timed in turn (--paired, 9 rounds), with the DRAM latency
#    and the LLC share measured between the rounds (--calibrate 3) and the
#    4K buffer's guest-physical layout (its frame numbers, --gpa-out, and
#    gpa.adjacent; root only). SCHED_FIFO when root. hugetlb pages are
#    reserved for the run and given back.
# 2. Afterwards, nothing else of ours running: for each run and size, the
#    model suite on the host preset with that run's measured DRAM latency,
#    LLC share and layout (--model_dram_ns, --model_llc, and --model_gpa_file,
#    or --model_gpa_seq when the frames are not known).
# 3. A table: measured (median of the paired rounds, with the bootstrap 95%
#    interval) against modelled, and per size the median over runs.
# A run whose OUT_DIR/hw-N.json exists is not measured again.
set -euo pipefail
build=${1:?usage: model_vs_machine.sh BUILD_DIR OUT_DIR [RUNS]}
out=${2:?usage: model_vs_machine.sh BUILD_DIR OUT_DIR [RUNS]}
runs=${3:-8}
nw=$build/nestwalk
bench=$build/bench/nestwalk-bench
mkdir -p "$out"
rm -f "$out/rows.txt"
fifo=()
[ "$(id -u)" = 0 ] && command -v chrt >/dev/null && fifo=(chrt -f 50)

for i in $(seq "$runs"); do
	if [ -s "$out/hw-$i.json" ]; then
		echo "run $i: $out/hw-$i.json is there already (remove it to measure again)" >&2
		continue
	fi
	"${fifo[@]}" "$nw" hw --min 1G --max 4G --pages 4k,2m --paired --rounds 9 --calibrate 3 -q \
		--gpa-out "$out/gpa-$i" --out "$out/hw-$i.json" >/dev/null
	echo "measured run $i of $runs" >&2
done

printf '%-4s %-3s | %7s %7s %-20s | %6s %8s %5s | %7s %7s %8s | %s\n' run ws "4k" "2m" \
	"penalty [95% CI]" dram "llc" gpa "4k" "2m" penalty "model/measured"
for i in $(seq "$runs"); do
	for g in 1 2 4; do
		ws=$((g << 30))
		read -r m4 m2 pen lo hi dram llc gpa < <(jq -r --argjson ws $ws '.hw as $h |
			($h.points[] | select(.ws == $ws and .kind == "4k")) as $a |
			($h.points[] | select(.ws == $ws and .kind == "2m")) as $b |
			($h.penalty[] | select(.ws == $ws and .huge == "2m")) as $p |
			($h.calibration.rounds[] | select(.ws == $ws)) as $c |
			"\($a.ns_per_access) \($b.ns_per_access) \($p.walk_penalty_ns) \($p.walk_penalty_ci95[0]) " +
			"\($p.walk_penalty_ci95[1]) \($c.dram_ns_median) \([$c.llc_bytes_median, 65536] | max) " +
			"\([$a.gpa.adjacent // 0, 0.999] | min)"' "$out/hw-$i.json")
		# The 4K buffer's own frames when --gpa-out could write them, else
		# only their measured adjacency.
		layout=(--model_gpa_seq="$gpa")
		[ -s "$out/gpa-$i-$ws.gpa" ] && layout=(--model_gpa_file="$out/gpa-$i-$ws.gpa")
		"$bench" "--benchmark_filter=^model/(chase|penalty)/.*h4k/${g}G/" --model_llc="$llc" \
			--model_dram_ns="$dram" "${layout[@]}" --benchmark_format=json \
			>"$out/model-$i-${g}G.json" 2>/dev/null
		read -r p4 p2 pp < <(jq -r --arg g "${g}G" '[.benchmarks[] | {(.name | split("/iterations")[0]): .}] |
			add as $b | "\($b["model/chase/g4k/h4k/" + $g].ns_per_access) " +
			"\($b["model/chase/g2m/h4k/" + $g].ns_per_access) \($b["model/penalty/h4k/" + $g].walk_penalty_ns)"' \
			"$out/model-$i-${g}G.json")
		awk -v i="$i" -v g="${g}G" -v m4="$m4" -v m2="$m2" -v pen="$pen" -v lo="$lo" -v hi="$hi" \
			-v dram="$dram" -v llc="$llc" -v gpa="$gpa" -v p4="$p4" -v p2="$p2" -v pp="$pp" 'BEGIN {
			printf "%-4s %-3s | %7.1f %7.1f %6.1f [%5.1f %5.1f] | %6.1f %7.2fM %5.3f | %7.1f %7.1f %8.1f | %+.0f%%\n",
				i, g, m4, m2, pen, lo, hi, dram, llc / 1048576, gpa, p4, p2, pp, (pp / pen - 1) * 100 }'
		echo "${g}G $pen $pp" >>"$out/rows.txt"
	done
done
echo
for g in 1 2 4; do
	awk -v g="${g}G" '$1 == g { m[++n] = $2; p[n] = $3; if ($3 >= 0.75 * $2 && $3 <= 1.25 * $2) k++ }
		function med(a, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
			if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
			return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
		END { printf "%s: measured penalty median %.1f ns, modelled median %.1f ns (%+.0f%%); %d of %d runs within 25%%\n",
			g, med(m, n), med(p, n), (med(p, n) / med(m, n) - 1) * 100, k, n }' "$out/rows.txt"
done
