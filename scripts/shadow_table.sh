#!/usr/bin/env bash
# Shadow against nested paging on every built-in workload: runs (or reads)
# a `nestwalk compare` of native, ept, npt and shadow on skylake and zen3,
# with 4 KiB pages, guest 2 MiB pages on 4 KiB backing, 4 KiB guest pages on
# 2 MiB backing, and both 2 MiB, and prints one Markdown table per page
# configuration. Cycles and exits are per access of the workload (the
# figure access.total, the guest's loads, stores and fetches, the same count
# in every mode), divided by native's count.
#   scripts/shadow_table.sh [NESTWALK] [DIR]   run the comparison into DIR (default build/shadow-compare)
#   scripts/shadow_table.sh --results FILE     print the tables of a saved results.json
set -euo pipefail
command -v jq >/dev/null || { echo "shadow_table: needs jq" >&2; exit 2; }
if [ "${1:-}" = --results ]; then
	results=$2
else
	nw=${1:-build/release/nestwalk}
	dir=${2:-build/shadow-compare}
	"$nw" compare --modes native,ept,npt,shadow \
		--workloads seq,random,chase,zipf,churn,fork,ctxsw,mix \
		--pages 4k,guest2m,host2m,2m --cpus skylake,zen3 --out "$dir" >/dev/null
	results=$dir/results.json
fi

jq -r '
def r(n): . * n | round / n;
def total: .figures["cycles.per_access"] * .figures["access.total"];
def ex(k): (.stats["exits." + k] // 0);
def refs: if .stats.walks > 0 then .figures["walk.refs_per_walk"] | r(100) else "– (no walk)" end;
[.cells[] | select(.status == "ok")] as $ok |
($ok | map(.pages) | unique) as $have |
(["4k", "guest2m", "host2m", "2m"] | map(select(. as $p | $have | index($p)))) as $pages |
$pages[] as $p |
"",
"#### " + ({"4k": "4 KiB guest pages on 4 KiB host pages",
	   "guest2m": "guest 2 MiB pages on 4 KiB host pages",
	   "host2m": "4 KiB guest pages on 2 MiB host pages",
	   "2m": "2 MiB guest pages on 2 MiB host pages"}[$p]) + " (`--pages " + $p + "`)",
"",
"| workload | preset | native | nested | shadow | faster | refs/walk nested | refs/walk shadow | nested exits/1k | shadow exits/1k: #PF, CR3, INVLPG |",
"|---|---|---:|---:|---:|---|---:|---:|---:|---:|",
(["seq", "random", "chase", "zipf", "churn", "fork", "ctxsw", "mix"][] as $w |
 ["skylake", "zen3"][] as $cpu |
 ($ok | map(select(.pages == $p and .cpu == $cpu and .workload == $w))) as $c |
 ($c | map(select(.mode == "native"))[0]) as $n |
 ($c | map(select(.mode == "ept" or .mode == "npt"))[0]) as $h |
 ($c | map(select(.mode == "shadow"))[0]) as $s |
 select($n and $h and $s) |
 ($n.figures["access.total"]) as $a |
 "| \($w) | \($cpu) | \($n | total / $a | r(10)) | \($h.mode) \($h | total / $a | r(10)) | " +
 "\($s | total / $a | r(10)) | \(($s | total) as $st | ($h | total) as $ht |
	if ($st - $ht | fabs) < 0.005 * $ht then "tie (<0.5%)" elif $st < $ht then "shadow" else $h.mode end) | " +
 "\($h | refs) | \($s | refs) | " +
 "\($h | (ex("nested_fault") + ex("ept_misconfig") + ex("ipi")) * 1000 / $a | r(100)) | " +
 "\($s | ex("pf") * 1000 / $a | r(100)), \($s | ex("cr3_write") * 1000 / $a | r(100)), " +
 "\($s | ex("invlpg") * 1000 / $a | r(100)) |")
' "$results"
