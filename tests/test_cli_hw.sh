#!/usr/bin/env bash
# nestwalk hw on a tiny working set: the JSON has a point per kind and size
# (ok with its figures, or skipped with the reason), an unavailable perf
# counter is absent and explained (never 0; a doctored file is the negative
# control), nr_hugepages is left as it was (nothing here reserves: the runs
# pass --no-reserve), the progress bar is drawn only on a terminal, and bad
# flags exit 2 with one line. Usage: test_cli_hw.sh PATH/TO/nestwalk
set -u
nw=$1
# shellcheck source=tests/cli_lib.sh
. "$(dirname "$0")/cli_lib.sh"

need jq

pools() { cat /sys/kernel/mm/hugepages/hugepages-*/nr_hugepages 2>/dev/null | tr '\n' ' '; }
before=$(pools)

"$nw" hw --min 16K --max 64K --pages 4k,thp,2m --samples 3 --no-reserve -q --json \
	--out "$tmp/hw.json" >"$tmp/out.json" 2>"$tmp/err" || fail "hw failed: $(cat "$tmp/err")"
j=$tmp/out.json
cmp -s "$tmp/hw.json" "$j" || fail "--out and --json wrote different JSON"
[ "$(jq '.hw.points | length' "$j")" = 9 ] || fail "want 9 points (16K, 32K, 64K x 4k, thp, 2m)"
jq -e '[.hw.points[] | select(.kind == "4k" or .kind == "thp") | .status == "ok" and
	.ns_per_access > 0 and .cycles_per_access > 0 and .samples == 3] | all' "$j" >/dev/null ||
	fail "a 4k or thp point lacks its figures"
jq -e '[.hw.points[] | select(.status == "skipped") | (.reason | length > 0) and
	(has("ns_per_access") | not)] | all' "$j" >/dev/null || fail "a skipped point has no reason, or figures"
jq -e '[.hw.points[] | select(.kind == "thp") | .thp_fraction >= 0 and .thp_fraction <= 1] | all' "$j" \
	>/dev/null || fail "thp points lack thp_fraction"
[ "$(jq '[.hw.penalty[] | select(.huge == "thp")] | length' "$j")" = 3 ] ||
	fail "want a 4k-thp walk penalty at each size"
jq -e '.hw.core_ghz > 0 and (.hw.context["hw.pinned"] | length > 0) and
	(.hw.context["hw.cache.l1d"] | length > 0)' "$j" >/dev/null || fail "the context lacks the machine"
[ "$(pools)" = "$before" ] || fail "nr_hugepages changed: $before -> $(pools)"
# The knee marks: 64 x the L1d size in the context, and a TLB reach of whole pages.
l1d=$(jq -r '.hw.context["hw.cache.l1d"] | split(" ")[0]' "$j")
jq -e --argjson l1d "$l1d" '[.hw.marks[] | select(.label | startswith("L1d"))][0].ws == $l1d * 1024 * 64' \
	"$j" >/dev/null || fail "the L1d mark is not 64 x the L1d size ($l1d KiB)"
jq -e '[.hw.marks[] | select(.label | test("TLB reach")) | .ws % 4096 == 0 and .ws >= 65536] |
	length == 2 and all' "$j" >/dev/null || fail "want an L1 and an L2 TLB reach of whole pages"

# An unavailable counter: its context entry says why, and no point has it.
perf_rule='[.hw.context | to_entries[] | select(.key | startswith("hw.perf.")) |
	(.key | ltrimstr("hw.perf.")) as $c | .value as $v |
	if ($v | startswith("unavailable: ")) then
		($v | length > 13) and ([$root.hw.points[] | has($c + "_per_access")] | any | not)
	else true end] | all'
[ "$(jq '[.hw.context | keys[] | select(startswith("hw.perf."))] | length' "$j")" = 3 ] ||
	fail "want the three walk counters in the context"
jq -e ". as \$root | $perf_rule" "$j" >/dev/null || fail "an unavailable counter has a value"
# Negative control: a doctored file reporting 0 for an unavailable counter.
jq '.hw.context["hw.perf.dtlb_walks"] = "unavailable: no PMU" |
	.hw.points[0].dtlb_walks_per_access = 0' "$j" >"$tmp/bad.json"
jq -e ". as \$root | $perf_rule" "$tmp/bad.json" >/dev/null &&
	fail "negative control: the perf rule accepts an unavailable counter reported as 0"

# --rounds: every kind mapped at once, a point is the median of its rounds' bests.
"$nw" hw --min 16K --max 32K --pages 4k,thp --samples 2 --rounds 3 --no-reserve -q --json \
	>"$tmp/rounds.json" 2>"$tmp/err" || fail "hw --rounds failed: $(cat "$tmp/err")"
median_rule='[.hw.points[] | select(.status == "ok") | (.round_best_ns | length) == 3 and
	.ns_per_access == (.round_best_ns | sort | .[1]) and .samples == 6] | (length == 4 and all)'
jq -e "$median_rule" "$tmp/rounds.json" >/dev/null || fail "--rounds: a point is not the median of 3 rounds"
jq '.hw.points[0].ns_per_access = (.hw.points[0].round_best_ns | max) + 1' "$tmp/rounds.json" >"$tmp/bad_r.json"
jq -e "$median_rule" "$tmp/bad_r.json" >/dev/null &&
	fail "negative control: the median rule accepts a figure that is no round's median"

# --paired: whole passes, kinds in turn; a point is the median of its rounds,
# the penalty the median of the rounds' paired differences, inside its
# bootstrap interval and range; --calibrate adds the latencies (flushed
# lines slower than L2-warm ones: physics).
"$nw" hw --min 64K --max 128K --pages 4k,thp --paired --rounds 3 --calibrate 3 --no-reserve -q --json \
	--gpa-out "$tmp/g" >"$tmp/paired.json" 2>"$tmp/err" || fail "hw --paired failed: $(cat "$tmp/err")"
pair_rule='(.hw.points | map(select(.status == "ok"))) as $p |
	[$p[] | (.round_ns | length) == 3 and .ns_per_access == (.round_ns | sort | .[1])] + 
	[.hw.penalty[] | . as $e |
		($p[] | select(.kind == "4k" and .ws == $e.ws) | .round_ns) as $a |
		($p[] | select(.kind == $e.huge and .ws == $e.ws) | .round_ns) as $b |
		([range(3)] | map($a[.] - $b[.])) as $d |
		($e.round_penalty_ns == $d) and ($e.walk_penalty_ns == ($d | sort | .[1])) and
		$e.walk_penalty_ci95[0] <= $e.walk_penalty_ns and $e.walk_penalty_ns <= $e.walk_penalty_ci95[1] and
		$e.walk_penalty_range == [($d | min), ($d | max)]] |
	length == 6 and all'
jq -e "$pair_rule" "$tmp/paired.json" >/dev/null || fail "--paired: a point or a penalty breaks the paired rule"
jq '.hw.penalty[0].walk_penalty_ns = (.hw.penalty[0].round_penalty_ns | max) + 1' "$tmp/paired.json" \
	>"$tmp/bad_p.json"
jq -e "$pair_rule" "$tmp/bad_p.json" >/dev/null &&
	fail "negative control: the paired rule accepts a penalty that is no median of the differences"
jq -e '.hw.calibration.before.flush_ns > 2 * .hw.calibration.before.warm_ns and
	.hw.calibration.after.dram_ns > 0 and
	([.hw.calibration.rounds[] | (.dram_ns | length) == 3 and .llc_hit_4m_median >= 0 and
	  .llc_hit_4m_median <= 1] | length == 2 and all)' "$tmp/paired.json" >/dev/null ||
	fail "--calibrate: the latencies are missing or unphysical"
# The guest-physical layout of every ok point: shares in [0, 1], adjacent
# hops in the same host-PTE line and 2 MiB frame, and at least the frames
# the buffer needs; or, without root's pagemap, the reason.
gpa_rule='[.hw.points[] | select(.status == "ok") |
	if .gpa then (.gpa.adjacent >= 0 and .gpa.adjacent <= .gpa.same_pte_line and
		.gpa.same_pte_line <= .gpa.same_2m and .gpa.same_2m <= 1 and
		.gpa.frames_2m >= ((.ws + 2097151) / 2097152 | floor))
	else (.gpa_unavailable | length > 0) end] | all'
jq -e "$gpa_rule" "$tmp/paired.json" >/dev/null || fail "a point's gpa layout is missing or impossible"
jq '(.hw.points[] | select(.gpa) | .gpa.same_2m) = -1 | (.hw.points[] | select(.gpa_unavailable) |
	.gpa_unavailable) = ""' "$tmp/paired.json" >"$tmp/bad_g.json"
jq -e "$gpa_rule" "$tmp/bad_g.json" >/dev/null && fail "negative control: the gpa rule accepts an impossible layout"
# --gpa-out: a file of one 64-bit frame number per 4 KiB page for each 4k
# point whose layout is known, none for the others (truncating one is the
# control).
gpa_files() {
	for ws in 65536 131072; do
		known=$(jq --argjson ws $ws '[.hw.points[] | select(.kind == "4k" and .ws == $ws and .gpa)] | length' \
			"$tmp/paired.json")
		if [ "$known" = 1 ]; then
			[ "$(stat -c %s "$tmp/g-$ws.gpa" 2>/dev/null)" = $((ws / 4096 * 8)) ] || return 1
		else
			[ ! -e "$tmp/g-$ws.gpa" ] || return 1
		fi
	done
}
gpa_files || fail "--gpa-out: a file is missing or of the wrong size"
if [ -e "$tmp/g-65536.gpa" ]; then
	truncate -s 8 "$tmp/g-65536.gpa"
	gpa_files && fail "negative control: the --gpa-out check accepts a truncated file"
fi

# The table, and the progress bar: only on a terminal.
"$nw" hw --min 16K --max 32K --samples 2 >"$tmp/table" 2>"$tmp/err2" || fail "hw (table) failed"
grep -q '^ *16K ' "$tmp/table" || fail "the table lacks its 16K row"
grep -q 'ETA\|\]' "$tmp/err2" && fail "a progress bar was drawn without a terminal"
script -qec "$nw hw --min 16K --max 1M --samples 400 --pages 4k" /dev/null >"$tmp/tty" 2>&1 ||
	fail "hw under a terminal failed"
grep -q '\[#' "$tmp/tty" || fail "no progress bar on a terminal"

"$nw" hw --help | grep -q -- '--pages' || fail "hw --help lacks --pages"

# Bad flags: exit 2 and one line on stderr.
bad() {
	"$nw" hw "$@" >/dev/null 2>"$tmp/e"
	local rc=$?
	[ $rc = 2 ] || fail "hw $*: exit $rc, want 2"
	[ "$(wc -l <"$tmp/e")" = 1 ] || fail "hw $*: want one line on stderr, got: $(cat "$tmp/e")"
}
bad --pages 3k
bad --pages ''
bad --min 1000
bad --min 1M --max 64K
bad --max 12Q
bad --max 4096iB
bad --samples 0
bad --rounds 0
bad --rounds 102
bad --paired
bad --paired --rounds 2
bad --calibrate 0
bad --cpu x
bad --event foo
bad --event dtlb_walks=
bad --bogus
bad -Z
bad --min
bad stray

finish
