#!/usr/bin/env bash
# nestwalk trace on a real program: record `sort -n` on generated input under
# valgrind's lackey (a few million accesses), describe it with trace info,
# and replay it in native, ept, npt and shadow mode. The modes must agree on
# the accesses replayed (the trace's records plus one more for each modify,
# from trace info), the guest's loads and stores (its kernel's included),
# the pages touched (demand-zero faults = 4 KiB pages of the trace), the
# checksum, and no load may differ from what was stored.
# Also: --limit, import of a saved lackey log, and bad input (exit 2, one
# line naming the offset or line). Skips (77) only without valgrind.
# Usage: test_trace_tool.sh PATH/TO/nestwalk
set -u
nw=$1
# shellcheck source=tests/cli_lib.sh
. "$(dirname "$0")/cli_lib.sh"
need valgrind
command -v jq >/dev/null || { echo "FAIL: jq is missing (scripts/setup.sh installs it)"; exit 1; }

# expect2 ARGS...: exit 2 with one line on stderr containing $want.
expect2() {
	local want=$1
	shift
	"$nw" "$@" >"$tmp/out" 2>"$tmp/err"
	local got=$?
	[ "$got" -eq 2 ] || fail "nestwalk $* exited $got, want 2"
	[ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "nestwalk $*: want one line on stderr, got: $(cat "$tmp/err")"
	grep -qF -- "$want" "$tmp/err" || fail "nestwalk $*: '$want' not in: $(cat "$tmp/err")"
}

# ---- record a real program ----
awk 'BEGIN { for (i = 1; i <= 1500; i++) print (i * 7919) % 100003 }' >"$tmp/in.txt"
if ! "$nw" trace record -o "$tmp/sort.nwt" -- sort -n "$tmp/in.txt" >"$tmp/sorted.txt" 2>"$tmp/rec.err"; then
	echo "FAIL: trace record: $(cat "$tmp/rec.err")"
	exit 1
fi
sort -n "$tmp/in.txt" | cmp -s - "$tmp/sorted.txt" || fail "sort's own output changed under trace record"
grep -q "bytes per access" "$tmp/rec.err" || fail "record's summary is not on stderr: $(cat "$tmp/rec.err")"
"$nw" trace info --json "$tmp/info.json" -q "$tmp/sort.nwt" || fail "trace info failed"
records=$(jq .records "$tmp/info.json")
modifies=$(jq .kinds.modify "$tmp/info.json")
pages=$(jq .pages_4k "$tmp/info.json")
bpr=$(jq .bytes_per_record "$tmp/info.json")
echo "recorded: $records accesses, $pages pages, $bpr bytes per access"
[ "$records" -ge 1000000 ] || fail "only $records accesses recorded (want a few million)"
[ "$(jq '.kinds.load + .kinds.store + .kinds.modify + .kinds.ifetch' "$tmp/info.json")" -eq "$records" ] ||
	fail "kinds do not add up to $records"
[ "$(jq '([.reuse_distance.histogram[].count] | add) + .reuse_distance.cold' "$tmp/info.json")" -eq "$records" ] ||
	fail "the reuse histogram does not count every access"
[ "$(jq '[.regions[].pages_touched] | add' "$tmp/info.json")" -eq "$pages" ] || fail "regions do not cover the pages"
jq -e '.bytes_per_record < 2' "$tmp/info.json" >/dev/null || fail "$bpr bytes per access, want under 2"
[ "$(jq -r .program "$tmp/info.json")" = sort ] || fail "program name not recorded"
"$nw" trace info "$tmp/sort.nwt" >"$tmp/info.txt" || fail "trace info (text) failed"
grep -q "reuse distance   median" "$tmp/info.txt" || fail "no reuse distance in trace info"

# ---- replay in every mode ----
# figures MODE [SPEC]: "ops demand checksum mismatches accesses" of a replay;
# accesses are the guest's loads and stores (its kernel's included).
figures() {
	local spec=${2:-trace:$tmp/sort.nwt}
	"$nw" run -q --mode "$1" --workload "$spec" --json "$tmp/run.json" 2>"$tmp/run.err" ||
		{ fail "replay in $1: $(cat "$tmp/run.err")"; echo "x x x x x"; return; }
	jq -r '"\(.stats["workload.ops"]) \(.stats_total["guest.faults.demand"]) \(.stats["workload.checksum"]) \(.stats["workload.mismatches"]) \(.stats["access.loads"] + .stats["access.stores"])"' "$tmp/run.json"
}
want_ops=$((records + modifies))
ref=""
for mode in native ept npt shadow; do
	read -r ops demand sum mism acc <<<"$(figures $mode)"
	echo "$mode: ops $ops, guest accesses $acc, demand faults $demand, checksum $sum, mismatches $mism"
	[ "$ops" = "$want_ops" ] || fail "$mode replayed $ops accesses, want $want_ops"
	[ "$acc" -ge "$ops" ] 2>/dev/null || fail "$mode: $acc guest accesses for $ops replayed"
	[ "$demand" = "$pages" ] || fail "$mode faulted $demand pages in, the trace touches $pages"
	[ "$mism" = 0 ] || fail "$mode: $mism loads differed from what was stored"
	[ -z "$ref" ] && ref="$ops $demand $sum $acc"
	[ "$ops $demand $sum $acc" = "$ref" ] || fail "$mode disagrees: $ops $demand $sum $acc vs $ref"
done
# Negative control: the same comparison must see a different replay.
read -r ops demand sum mism acc <<<"$(figures ept "trace:$tmp/sort.nwt:loops=2")"
[ "$ops $demand $sum $acc" != "$ref" ] || fail "the comparison cannot tell loops=2 from loops=1"
# Two processes with context switches.
"$nw" run -q --mode npt --workload "trace:$tmp/sort.nwt,$tmp/sort.nwt:slice=5000" --json "$tmp/two.json" ||
	fail "two traces"
[ "$(jq '.stats["guest.switches"] > 100' "$tmp/two.json")" = true ] || fail "two traces: no context switches"
[ "$(jq -r .config.workload_files "$tmp/two.json")" = "$tmp/sort.nwt,$tmp/sort.nwt" ] ||
	fail "two traces: the JSON does not name the files"
[ "$(jq '.stats_total["guest.faults.demand"]' "$tmp/two.json")" -eq $((2 * pages)) ] ||
	fail "two traces: want $((2 * pages)) demand faults"

# ---- --limit, and import of a saved log ----
"$nw" trace record -q --limit 10000 -o "$tmp/lim.nwt" -- sort -n "$tmp/in.txt" >/dev/null 2>&1 ||
	fail "record --limit"
[ "$("$nw" trace info --json - "$tmp/lim.nwt" | jq .records)" = 10000 ] || fail "--limit 10000 did not stop at 10000"
valgrind --tool=lackey --trace-mem=yes --log-file="$tmp/true.log" true
"$nw" trace import -q "$tmp/true.log" -o "$tmp/true.nwt" || fail "import failed"
lines=$(grep -cE '^(I | [LSM]) [0-9a-f]+,[0-9]+$' "$tmp/true.log")
[ "$("$nw" trace info --json - "$tmp/true.nwt" | jq .records)" = "$lines" ] || fail "import: not one record per access line"

# ---- bad input: exit 2, one line, naming where ----
cp "$tmp/true.log" "$tmp/bad.log"
sed -i '10s/.*/ Q 1234,8/' "$tmp/bad.log"
expect2 "line 10" trace import "$tmp/bad.log" -o "$tmp/bad.nwt"
[ -e "$tmp/bad.nwt" ] && fail "a failed import left its output behind"
head -c 100000 "$tmp/sort.nwt" >"$tmp/trunc.nwt"
expect2 "truncated at offset" trace info "$tmp/trunc.nwt"
expect2 "truncated at offset" run --workload "trace:$tmp/trunc.nwt"
printf 'hello, this is not a trace file, only text\n' >"$tmp/text.nwt"
expect2 "bad magic at offset 0" trace info "$tmp/text.nwt"
expect2 "No such file" trace info "$tmp/none.nwt"
expect2 "needs a command" trace record
expect2 "no program $tmp/no-such-program to record" trace record -o "$tmp/np.nwt" -- "$tmp/no-such-program"
[ -e "$tmp/np.nwt" ] && fail "a record of no program left its output behind"
expect2 "import needs -o" trace import "$tmp/true.log"
expect2 "expected a zstd level" trace import --level 0 "$tmp/true.log" -o "$tmp/l0.nwt"
"$nw" trace import -q --level 1 "$tmp/true.log" -o "$tmp/l1.nwt" || fail "import --level 1"
[ "$("$nw" trace info --json - "$tmp/l1.nwt" | jq .records)" = "$lines" ] || fail "import --level 1 lost records"
# compare takes a multi-trace item among others: trace:a,b:loops=2 stays one item.
"$nw" compare --modes native,ept --pages 4k --workloads "trace:$tmp/true.nwt,$tmp/l1.nwt:loops=2,seq:ws=64k,passes=1" \
	--out "$tmp/cmp" >/dev/null 2>"$tmp/cmp.err" || fail "compare of two traces: $(cat "$tmp/cmp.err")"
[ "$(jq '[.cells[] | select(.status == "ok")] | length' "$tmp/cmp/results.json" 2>/dev/null)" = 4 ] ||
	fail "compare of two traces and seq: want 4 ok cells"
expect2 "unknown subcommand" trace frobnicate
expect2 "needs a file" run --workload trace
"$nw" trace --help | grep -q "nestwalk trace record" || fail "trace --help"

finish
