#!/usr/bin/env bash
# nestwalk compare and report: a small matrix (the vendor rule skips ept on
# an AMD preset), the report's figures equal results.json's, three shards
# merged by report equal the unsharded results, and bad input exits 2 with
# one line. Usage: test_cli_compare.sh PATH/TO/nestwalk
set -u
nw=$1
# shellcheck source=tests/cli_lib.sh
. "$(dirname "$0")/cli_lib.sh"

need gnuplot jq

matrix=(--modes native,ept,npt,shadow --workloads random:ws=1m,ops=4000,seq:ws=512k,passes=1
	--pages 4k,2m --cpus generic,zen4)

"$nw" compare "${matrix[@]}" --out "$tmp/all" >"$tmp/out" 2>"$tmp/err" ||
	fail "compare failed: $(cat "$tmp/err")"
for f in results.json report.md report.html cells.csv; do
	[ -s "$tmp/all/$f" ] || fail "compare wrote no $f"
done
r=$tmp/all/results.json
[ "$(jq '.cells | length' "$r")" = 32 ] || fail "want 32 cells"
[ "$(jq '[.cells[] | select(.mode == "ept" and .cpu == "zen4" and .status == "skipped")] | length' "$r")" = 4 ] ||
	fail "ept on zen4 is not skipped by the vendor rule"
jq -e '[.cells[] | select(.status == "skipped") | .reason | length > 0] | all' "$r" >/dev/null ||
	fail "a skipped cell has no reason"
grep -q '^## Skipped' "$tmp/all/report.md" || fail "report.md does not list the skipped cells"
# cells.csv carries exits by kind and the shadow MMU's rates; shadow cells fill them.
for col in exits.pf.per_1k exits.cr3_write.per_1k shadow.emulated_writes.per_1k shadow.root_hit_rate shadow.pages; do
	head -1 "$tmp/all/cells.csv" | tr ',' '\n' | grep -qx "$col" || fail "cells.csv lacks column $col"
done
jq -e '[.cells[] | select(.mode == "shadow" and .status == "ok") | .stats | has("shadow.pages")] | all' "$r" \
	>/dev/null || fail "a shadow cell lacks shadow.* counters"
[ "$(grep -c '<svg' "$tmp/all/report.html")" -ge 5 ] || fail "report.html lacks its inline SVG charts"
grep -q '<img\|<script src\|<link ' "$tmp/all/report.html" && fail "report.html is not self-contained"

# Every ok cell's row in report.md carries results.json's figures.
check_md() {
	local dir=$1
	jq -r '.cells[] | select(.status == "ok") |
		[.mode, .workload, .pages, .cpu, .figures["cycles.per_access"], .figures["walk.refs_per_walk"],
		 .figures["tlb.miss_rate"], .figures["exits.per_1k"], .figures["cycles.data.per_access"]] | @tsv' \
		"$dir/results.json" >"$tmp/cells.tsv"
	local n=0
	while IFS=$'\t' read -r mode wl pages cpu cyc refs miss exits data; do
		n=$((n + 1))
		local row
		row=$(grep -F "| $mode | $wl | $pages | $cpu |" "$dir/report.md")
		[ -n "$row" ] || { fail "report.md has no row for $mode $wl $pages $cpu"; continue; }
		for v in "$cyc" "$refs" "$miss" "$exits" "$data"; do
			local want
			want=$(printf '%.6g' "$v")
			case "$row" in
			*"| $want |"*) ;;
			*) fail "report.md row $mode $wl $pages $cpu lacks $want (results.json $v)" ;;
			esac
		done
	done <"$tmp/cells.tsv"
	[ "$n" -gt 0 ] || fail "no ok cells in $dir"
}
check_md "$tmp/all"

# Each conclusion names the virtualized mode with the fewest cycles per
# access in its group (or says they all sit within 0.5% of native).
jq -r '[.cells[] | select(.status == "ok")] | group_by([.workload, .pages, .cpu])[] |
	(map(select(.mode == "native"))[0].figures["cycles.per_access"]) as $native |
	map(select(.mode != "native")) | sort_by(.figures["cycles.per_access"]) |
	[.[0].workload, .[0].pages, .[0].cpu, .[0].mode,
	 (if (.[-1].figures["cycles.per_access"] / $native) < 1.005 then "even" else "won" end)] | @tsv' \
	"$r" >"$tmp/winners.tsv"
[ -s "$tmp/winners.tsv" ] || fail "no groups to conclude on"
while IFS=$'\t' read -r wl pages cpu mode kind; do
	line=$(grep -F -- "- **$wl, $pages pages, $cpu CPU:**" "$tmp/all/report.md")
	[ -n "$line" ] || { fail "report.md has no conclusion for $wl $pages $cpu"; continue; }
	if [ "$kind" = even ]; then
		case "$line" in *"within 0.5% of native"*) ;; *) fail "conclusion $wl $pages $cpu: want 'within 0.5%'" ;; esac
	else
		case "$line" in *"CPU:** native runs at "*". $mode wins at "*) ;; *) fail "conclusion $wl $pages $cpu does not name $mode the winner: $line" ;; esac
	fi
done <"$tmp/winners.tsv"

# Three shards, merged, are the unsharded run.
for i in 1 2 3; do
	"$nw" compare "${matrix[@]}" --shard $i/3 --out "$tmp/s$i" >/dev/null 2>"$tmp/err" ||
		fail "shard $i/3 failed: $(cat "$tmp/err")"
done
"$nw" report "$tmp/s2/results.json" "$tmp/s3/results.json" "$tmp/s1/results.json" --out "$tmp/merged" \
	>/dev/null 2>"$tmp/err" || fail "report failed: $(cat "$tmp/err")"
jq -S . "$r" >"$tmp/a.json"
jq -S . "$tmp/merged/results.json" >"$tmp/b.json" 2>/dev/null
cmp -s "$tmp/a.json" "$tmp/b.json" || fail "3 shards merged differ from the unsharded results.json"
check_md "$tmp/merged"

# Usage errors and bad input: exit 2, one line on stderr.
bad() {
	"$nw" "$@" >"$tmp/out" 2>"$tmp/err"
	local rc=$?
	[ "$rc" -eq 2 ] || fail "nestwalk $* exited $rc, want 2"
	[ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "nestwalk $*: stderr is not one line: $(cat "$tmp/err")"
}
echo '{"config": ' >"$tmp/truncated.json"
echo '{"hello": 1}' >"$tmp/other.json"
bad compare
bad compare --out "$tmp/x" --bogus
bad compare --out "$tmp/x" --modes native,vmware
bad compare --out "$tmp/x" --workloads nosuch
bad compare --out "$tmp/x" --workloads random:nokey=1
bad compare --out "$tmp/x" --pages 1g
bad compare --out "$tmp/x" --cpus pentium
bad compare --out "$tmp/x" --shard 4/3
bad compare --out "$tmp/x" --shard x
bad report --out "$tmp/x"
bad report "$tmp/nosuch.json" --out "$tmp/x"
bad report "$tmp/truncated.json" --out "$tmp/x"
bad report "$tmp/other.json" --out "$tmp/x"
bad report "$r" --out "$tmp/x" --bogus
bad compare --out "$tmp/x" --pages guest1g

# Guest and host huge pages one at a time: 2 MiB backing only where host2m says so.
"$nw" compare --modes shadow --workloads random:ws=1m,ops=2000 --pages guest2m,host2m \
	--cpus skylake --out "$tmp/gh" >/dev/null || fail "compare --pages guest2m,host2m"
if command -v jq >/dev/null; then
	[ "$(jq -r '[.cells[] | "\(.pages)=\(.stats["vm.backing.2m"])"] | join(" ")' "$tmp/gh/results.json")" = \
		"guest2m=0 host2m=2" ] || fail "guest2m/host2m backing: $(jq -c '.cells' "$tmp/gh/results.json" | head -c 300)"
fi
"$nw" compare --help | grep -q '^Usage: nestwalk compare' || fail "compare --help"
"$nw" report --help | grep -q '^Usage: nestwalk report' || fail "report --help"

finish
