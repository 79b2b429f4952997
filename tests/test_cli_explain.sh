#!/usr/bin/env bash
# nestwalk explain: the reference counts of uncached 2D walks (n*m + n + m,
# fewer under large pages), the same walk as JSON, --help, and one-line
# usage errors with exit code 2. Usage: test_cli_explain.sh PATH/TO/nestwalk
set -u
nw=$1
# shellcheck source=tests/cli_lib.sh
. "$(dirname "$0")/cli_lib.sh"
gva=0x7f0012345678

# count WANT ARGS...: the text and the JSON list WANT references.
count() {
	local want=$1
	shift
	if ! "$nw" explain --gva $gva "$@" >"$tmp/out" 2>"$tmp/err"; then
		fail "explain $* failed: $(cat "$tmp/err")"
		return
	fi
	local rows
	rows=$(grep -cE '^ +[0-9]+  (guest|host) ' "$tmp/out")
	[ "$rows" -eq "$want" ] || fail "explain $*: $rows reference rows, want $want"
	grep -q "^$want references:" "$tmp/out" || fail "explain $*: summary does not say $want references"
	grep -q '^outcome: ok' "$tmp/out" || fail "explain $*: outcome not ok"
	if ! "$nw" explain --gva $gva "$@" --json >"$tmp/json" 2>"$tmp/err"; then
		fail "explain $* --json failed: $(cat "$tmp/err")"
		return
	fi
	local n
	n=$(jq '.references | length' "$tmp/json") || { fail "explain $* --json does not parse"; return; }
	[ "$n" = "$want" ] || fail "explain $* --json: $n references, want $want"
	[ "$(jq -r '.outcome.fault' "$tmp/json")" = none ] || fail "explain $* --json: fault"
	# The guest references are the guest levels walked; the rest are host.
	local g
	g=$(jq '[.references[] | select(.dim == "guest")] | length' "$tmp/json")
	[ "$(grep -cE '^ +[0-9]+  guest ' "$tmp/out")" = "$g" ] || fail "explain $*: text and JSON disagree on guest references"
}

count 24
count 24 --vendor amd
count 19 --host-page 2m
count 19 --host-page 2m --vendor amd
count 35 --guest-levels 5 --host-levels 5
count 35 --guest-levels 5 --host-levels 5 --vendor amd --access write
count 29 --guest-levels 5            # 5*4 + 5 + 4
count 19 --guest-page 2m             # 3 guest levels: 3*4 + 3 + 4
count 14 --guest-page 1g --access fetch

# --fault: the outcome and its exit information, in text and JSON.
fault() {
	local kind=$1 vendor=$2 want=$3 key=$4
	"$nw" explain --gva $gva --fault "$kind" --vendor "$vendor" --access write >"$tmp/out" 2>"$tmp/err" ||
		{ fail "explain --fault $kind --vendor $vendor failed: $(cat "$tmp/err")"; return; }
	grep -q "^outcome: " "$tmp/out" || fail "explain --fault $kind: no outcome line"
	grep -q '^outcome: ok' "$tmp/out" && fail "explain --fault $kind --vendor $vendor: no fault"
	"$nw" explain --gva $gva --fault "$kind" --vendor "$vendor" --access write --json >"$tmp/json"
	[ "$(jq -r .outcome.fault "$tmp/json")" = "$want" ] ||
		fail "explain --fault $kind --vendor $vendor: fault $(jq -r .outcome.fault "$tmp/json"), want $want"
	jq -e ".outcome | has(\"$key\")" "$tmp/json" >/dev/null ||
		fail "explain --fault $kind --vendor $vendor: outcome lacks $key"
}
fault guest-not-present intel pf error_code
fault guest-read-only amd pf error_code
fault host-not-present intel ept_violation qualification
fault host-not-present amd npf exitinfo1
fault host-read-only intel ept_violation qualification
fault host-read-only amd npf exitinfo2
fault host-table intel ept_violation qualification
fault host-table amd npf exitinfo1
# A nested fault on a guest table is not on the final GPA (EXITINFO1 bit 33).
"$nw" explain --gva $gva --fault host-table --vendor amd --json >"$tmp/json"
[ "$(jq -r .outcome.exit_final "$tmp/json")" = false ] || fail "host-table: the fault says final GPA"
[ "$(jq '.references | length' "$tmp/json")" = 4 ] || fail "host-table: want the 4 nested references of CR3"

# usage errors: exit 2, one line on stderr, nothing on stdout
bad() {
	"$nw" explain "$@" >"$tmp/out" 2>"$tmp/err"
	local rc=$?
	[ "$rc" -eq 2 ] || fail "explain $* exited $rc, want 2"
	[ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "explain $*: stderr is not one line: $(cat "$tmp/err")"
	[ -s "$tmp/out" ] && fail "explain $*: wrote to stdout"
}

bad
bad --gva
bad --gva nonsense
bad --gva $gva --bogus
bad --gva $gva --guest-levels 3
bad --gva $gva --host-levels 6
bad --gva $gva --guest-page 4m
bad --gva $gva --host-page big
bad --gva $gva --vendor via
bad --gva $gva --access exec
bad --gva $gva extra
bad --gva $gva --fault everything
bad --gva 0x800000000000             # not canonical under 4-level paging

"$nw" explain --help >"$tmp/out" 2>"$tmp/err" || fail "explain --help failed"
grep -q '^Usage: nestwalk explain' "$tmp/out" || fail "explain --help: no usage line"
[ -s "$tmp/err" ] && fail "explain --help wrote to stderr"
"$nw" help explain >/dev/null 2>&1 || fail "nestwalk help explain failed"
"$nw" --help | grep -q explain || fail "nestwalk --help does not list explain"

finish
