#!/usr/bin/env bash
# nestwalk report on benchmark files: Google Benchmark JSON written by
# nestwalk-bench (generated here with a tiny min_time) and `nestwalk hw`
# JSON render as tables and charts whose numbers are the files' own (a
# doctored number is the negative control); a comparison merges with them;
# malformed files exit 2 with one line.
# Usage: test_report_bench.sh PATH/TO/nestwalk PATH/TO/nestwalk-bench
set -u
nw=$1
bench=$2
# shellcheck source=tests/cli_lib.sh
. "$(dirname "$0")/cli_lib.sh"

need gnuplot jq

"$bench" --benchmark_min_time=0.001 --hw_hugetlb_reserve=0 \
	--benchmark_filter='^(walk/g4/h4/4k/4k/nocache|tlb/skylake/4k/16384$|hw/(4k|thp|penalty)/(16K|32K|64K)$|hw/2m/16K$|model/chase/g(4k|2m)/h4k/16M/|model/penalty/h4k/16M/)' \
	--benchmark_out="$tmp/gb.json" --benchmark_out_format=json >/dev/null 2>"$tmp/berr" ||
	fail "nestwalk-bench failed: $(tail -1 "$tmp/berr")"
g=$tmp/gb.json
[ "$(jq '.benchmarks | length' "$g")" -ge 14 ] || fail "the bench run has too few benchmarks"

"$nw" report "$g" --out "$tmp/r" >/dev/null 2>"$tmp/err" || fail "report of gbench JSON: $(cat "$tmp/err")"
h=$tmp/r/report.html
for f in results.json report.md report.html benchmarks.csv; do
	[ -s "$tmp/r/$f" ] || fail "report wrote no $f"
done
for id in hw_chase gbench_walk gbench_tlb gbench_hw gbench_model; do
	grep -q "<figure class=\"chart\" id=\"$id\">" "$h" || fail "report.html lacks the $id chart"
	awk -v id="$id" 'BEGIN { RS = "<figure class=\"chart\"" } index($0, " id=\"" id "\"") == 1 {
		exit !(index($0, "<svg") && index($0, "<path")) }' "$h" || fail "the $id chart has no drawing"
done
# The knee marks come from the context nestwalk-bench wrote (hw.mark.*); without
# them (the control) the chart has none.
jq -e '.context | has("hw.mark.l1_tlb") and has("hw.mark.l1d")' "$g" >/dev/null ||
	fail "nestwalk-bench wrote no hw.mark.* context"
grep -q 'L1 DTLB reach' "$tmp/r/hw_chase.svg" || fail "the chase chart lacks the L1 DTLB reach mark"
jq '.context |= with_entries(select(.key | startswith("hw.mark.") | not))' "$g" >"$tmp/nomarks.json"
"$nw" report "$tmp/nomarks.json" --out "$tmp/nm" >/dev/null || fail "report without marks failed"
grep -q 'L1 DTLB reach' "$tmp/nm/hw_chase.svg" && fail "negative control: a mark drawn without hw.mark.*"

# The curves: a line per page kind and one per modelled configuration.
for t in 'nestwalk-bench: 4k' 'nestwalk-bench: thp' 'model: guest 4k over host 4k'; do
	grep -q "$t" "$h" || fail "the chase chart lacks the line '$t'"
done
# A skipped benchmark (no free 2M pages, reserving off) shows its reason.
if jq -e '.benchmarks[] | select(.name == "hw/2m/16K") | .error_occurred' "$g" >/dev/null; then
	grep -q 'hw/2m/16K</td><td colspan="[0-9]*">skipped: ' "$h" || fail "a skipped benchmark lacks its reason"
fi

# Every counter of every benchmark that ran is in report.md and
# benchmarks.csv, printed as %.6g.
check_numbers() { # $1 gbench JSON, $2 report dir
	local bad=0 name key v
	while IFS=$'\t' read -r name key v; do
		grep -qF "\"$name\",$key,$v" "$2/benchmarks.csv" || { echo "  csv: $name $key $v"; bad=1; }
		# report.md prints iterations as an integer.
		[ "$key" = iterations ] && continue
		grep -F "| $name |" "$2/report.md" | grep -qF " $v |" || { echo "  md: $name $key $v"; bad=1; }
	done < <(jq -r '.benchmarks[] | select(.error_occurred != true) | . as $b |
		to_entries[] | select(.value | type == "number") |
		select(.key | IN("family_index", "per_family_instance_index", "repetitions",
			"repetition_index", "threads") | not) |
		[$b.name, .key, .value] | @tsv' "$1" |
		while IFS=$'\t' read -r n k x; do printf '%s\t%s\t%s\n' "$n" "$k" "$(printf '%.6g' "$x")"; done)
	return $bad
}
check_numbers "$g" "$tmp/r" || fail "report figures differ from the gbench JSON"
# Negative control: a doctored copy of the JSON must not match the report.
jq '(.benchmarks[] | select(.name == "walk/g4/h4/4k/4k/nocache") | .["walk.refs.host"]) = 1234.5' "$g" \
	>"$tmp/doctored.json"
check_numbers "$tmp/doctored.json" "$tmp/r" >/dev/null &&
	fail "negative control: a doctored figure still matches the report"

# nestwalk hw JSON, alone and merged with a comparison and the gbench file.
"$nw" hw --min 16K --max 64K --pages 4k,thp --samples 2 --no-reserve -q --out "$tmp/hw.json" >/dev/null ||
	fail "hw failed"
"$nw" compare --modes native,ept --workloads random:ws=1m,ops=2000 --pages 4k --out "$tmp/c" >/dev/null ||
	fail "compare failed"
"$nw" report "$tmp/hw.json" --out "$tmp/rh" >/dev/null || fail "report of hw JSON failed"
grep -q '<figure class="chart" id="hw_chase">' "$tmp/rh/report.html" || fail "hw JSON: no chase chart"
[ -s "$tmp/rh/hw_points.csv" ] || fail "hw JSON: no hw_points.csv"
ns=$(jq -r '.hw.points[] | select(.kind == "4k" and .ws == 32768) | .ns_per_access' "$tmp/hw.json")
grep -q "^| 32K | $(printf '%.6g' "$ns") |" "$tmp/rh/report.md" || fail "hw JSON: report.md lacks 4k at 32K ($ns)"
"$nw" report "$tmp/c/results.json" "$tmp/hw.json" "$g" --out "$tmp/all" >/dev/null 2>"$tmp/err" ||
	fail "report of compare + hw + gbench: $(cat "$tmp/err")"
for id in cycles slowdown hw_chase gbench_walk; do
	grep -q "<figure class=\"chart\" id=\"$id\">" "$tmp/all/report.html" || fail "merged report lacks $id"
done
jq -e '(.cells | length) == 2 and (.hw | length) == 1 and (.gbench | length) == 1' "$tmp/all/results.json" \
	>/dev/null || fail "merged results.json lacks cells, hw or gbench"
# The merged results.json renders again, to the same results.json.
"$nw" report "$tmp/all/results.json" --out "$tmp/again" >/dev/null || fail "re-rendering results.json failed"
cmp -s "$tmp/all/results.json" "$tmp/again/results.json" || fail "re-rendered results.json differs"

# Model against machine: the model's penalty at 16M beside the one hw measured there.
"$nw" hw --min 16M --max 16M --pages 4k,thp --samples 2 --no-reserve -q --out "$tmp/hw16.json" >/dev/null ||
	fail "hw at 16M failed"
"$nw" report "$g" "$tmp/hw16.json" --out "$tmp/pm" >/dev/null || fail "report of gbench + hw at 16M failed"
pred=$(printf '%.6g' "$(jq '.benchmarks[] | select(.name | startswith("model/penalty/h4k/16M")) | .walk_penalty_ns' "$g")")
meas=$(printf '%.6g' "$(jq '.hw.penalty[] | select(.ws == 16777216 and .huge == "thp") | .walk_penalty_ns' "$tmp/hw16.json")")
grep -q "^| 16M | over host 4k | none: the host preset as it is | $pred ns | 1 | $meas ns (4k - thp) |" \
	"$tmp/pm/report.md" || fail "report.md lacks the modelled ($pred) against measured ($meas) penalty at 16M"

# Malformed files: exit 2, one line on stderr naming the file.
bad() { # $1 name, $2 content
	printf '%s' "$2" >"$tmp/$1"
	"$nw" report "$tmp/$1" --out "$tmp/bad" >/dev/null 2>"$tmp/e"
	local rc=$?
	[ $rc = 2 ] || fail "$1: exit $rc, want 2"
	[ "$(wc -l <"$tmp/e")" = 1 ] || fail "$1: want one line on stderr, got: $(cat "$tmp/e")"
	grep -q "$1" "$tmp/e" || fail "$1: the message does not name the file"
}
bad truncated.json "$(head -c 200 "$g")"
bad empty.json ''
bad array.json '[1, 2]'
bad unknown.json '{"foo": 1}'
bad gb_no_context.json '{"benchmarks": []}'
bad gb_not_array.json '{"context": {}, "benchmarks": 3}'
bad gb_no_name.json '{"context": {}, "benchmarks": [{"real_time": 1, "time_unit": "ns"}]}'
bad gb_no_time.json '{"context": {}, "benchmarks": [{"name": "x"}]}'
bad gb_text_counter.json '{"context": {}, "benchmarks": [{"name": "x", "real_time": 1, "time_unit": "ns", "c": "no"}]}'
bad hw_no_points.json '{"hw": {"context": {}}}'
bad hw_bad_point.json '{"hw": {"points": [{"kind": "4k", "status": "ok"}]}}'
bad hw_ok_no_ns.json '{"hw": {"points": [{"kind": "4k", "ws": 4096, "status": "ok"}]}}'
"$nw" report "$tmp/missing.json" --out "$tmp/bad" >/dev/null 2>"$tmp/e"
[ $? = 2 ] && [ "$(wc -l <"$tmp/e")" = 1 ] || fail "a missing file: want exit 2 and one line"

finish
