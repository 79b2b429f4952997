#!/usr/bin/env bash
# The nestwalk command: exit codes (0 ok, 1 runtime failure, 2 usage or bad
# input with one line on stderr), --help for each command, the summary and
# --json. Usage: test_cli.sh PATH/TO/nestwalk
set -u
nw=$1
# shellcheck source=tests/cli_lib.sh
. "$(dirname "$0")/cli_lib.sh"
small=random:ws=256k,ops=2000

# expect CODE ARGS...: run nestwalk ARGS, check the exit code; a usage error
# must say why in exactly one line on stderr, a success must say nothing there.
expect() {
	local want=$1
	shift
	"$nw" "$@" >"$tmp/out" 2>"$tmp/err"
	local got=$?
	if [ "$got" -ne "$want" ]; then
		fail "nestwalk $* exited $got, want $want"
		sed 's/^/  stderr: /' "$tmp/err"
		return 1
	fi
	local lines
	lines=$(wc -l <"$tmp/err")
	if [ "$want" -ne 0 ] && [ "$lines" -ne 1 ]; then
		fail "nestwalk $*: $lines lines on stderr, want one"
		sed 's/^/  stderr: /' "$tmp/err"
	fi
	if [ "$want" -eq 0 ] && [ "$lines" -ne 0 ]; then
		fail "nestwalk $*: stderr not empty (no progress bar off a terminal)"
		sed 's/^/  stderr: /' "$tmp/err"
	fi
	return 0
}

# has FILE TEXT: FILE contains TEXT.
has() {
	grep -qF -- "$2" "$1" || fail "expected '$2' in $1: $(head -c 300 "$1")"
}

# ---- help and version ----
expect 0 --help && has "$tmp/out" "Usage: nestwalk COMMAND" && has "$tmp/out" "run"
expect 0 -h && has "$tmp/out" "Usage: nestwalk COMMAND"
expect 0 run --help && has "$tmp/out" "--workload" && has "$tmp/out" "chase" &&
	has "$tmp/out" "Exit status"
expect 0 help run && has "$tmp/out" "Usage: nestwalk run"
expect 0 --version && has "$tmp/out" "nestwalk "
expect 2
expect 2 bogus && has "$tmp/err" "unknown command 'bogus'"
expect 2 --bogus && has "$tmp/err" "unknown option"
expect 2 help bogus

# ---- good runs ----
expect 0 run --workload "$small" --mode native
has "$tmp/out" "checksum"
has "$tmp/out" "TLB miss rate"
has "$tmp/out" "refs per walk"
has "$tmp/out" "exits per 1k"
has "$tmp/out" "cycles/access"
expect 0 run --workload "$small" --mode ept --cpu skylake --json "$tmp/ept.json"
expect 0 run --workload "$small" --mode npt --cpu zen4 --json "$tmp/npt.json" --quiet
[ -s "$tmp/out" ] && fail "--quiet printed a summary"
expect 0 run --workload "$small" --mode native --cpu zen4 --json "$tmp/native.json"
expect 0 run --workload "$small" --mode ept --cpu generic
expect 0 run --workload "$small" --mode npt --json - --vcpus 2
has "$tmp/out" '"data_mode": "real"'
expect 0 run -w churn:size=16k,rounds=2 -m ept --vcpus 4 --host-pages 2m --guest-pages 2m \
	--seed 0x10 --no-caches --no-vpid --pcid --quantum 7 --data real
expect 0 run -w chase:ws=64m,ops=1000 --data translation-only --json "$tmp/to.json"
has "$tmp/to.json" '"data_mode": "translation-only"'

# The JSON: configuration, data mode, every figure by name; and the
# checksum is the same in native, ept and npt.
for f in ept npt native; do
	has "$tmp/$f.json" '"data_mode": "real"'
	has "$tmp/$f.json" '"config"'
	has "$tmp/$f.json" '"figures"'
	has "$tmp/$f.json" '"walk.refs_per_walk"'
	has "$tmp/$f.json" '"cycles.per_access"'
	has "$tmp/$f.json" '"stats_total"'
	has "$tmp/$f.json" '"accesses"'
done
has "$tmp/ept.json" '"mode": "ept"'
has "$tmp/npt.json" '"cpu": "zen4"'
sum() { grep -o '"workload.checksum": "0x[0-9a-f]*"' "$1" | head -1; }
[ -n "$(sum "$tmp/ept.json")" ] || fail "no workload.checksum in the JSON"
[ "$(sum "$tmp/ept.json")" = "$(sum "$tmp/npt.json")" ] || fail "checksums differ: ept vs npt"
[ "$(sum "$tmp/ept.json")" = "$(sum "$tmp/native.json")" ] || fail "checksums differ: ept vs native"
if command -v python3 >/dev/null; then
	python3 -c 'import json,sys; [json.load(open(f)) for f in sys.argv[1:]]' \
		"$tmp/ept.json" "$tmp/npt.json" "$tmp/to.json" || fail "invalid JSON"
fi

# ---- usage errors: exit 2, one line ----
expect 2 run && has "$tmp/err" "--workload is required"
expect 2 run --workload nope && has "$tmp/err" "unknown workload 'nope'"
expect 2 run --workload random:foo=1 && has "$tmp/err" "no key 'foo'"
expect 2 run --workload random:ws=xyz && has "$tmp/err" "expected a size"
expect 2 run --workload seq --mode bogus && has "$tmp/err" "unknown mode 'bogus'"
expect 2 run --workload seq --mode ept --cpu zen4 && has "$tmp/err" "needs an Intel"
expect 2 run --workload seq --mode npt --cpu skylake && has "$tmp/err" "needs an AMD"
expect 2 run --workload seq --mode npt --cpu zen3 --cpu skylake
expect 2 run --workload seq --cpu pentium && has "$tmp/err" "unknown CPU preset"
expect 2 run --workload seq --vcpus 0
expect 2 run --workload seq --vcpus 65
expect 2 run --workload seq --vcpus abc
expect 2 run --workload seq --host-pages 3m
expect 2 run --workload seq --guest-pages 1g
expect 2 run --workload seq --guest-levels 3
expect 2 run --workload seq --seed -1
expect 2 run --workload seq --quantum 0
expect 2 run --workload seq --data maybe
expect 2 run --workload seq --bogus && has "$tmp/err" "unknown option '--bogus'"
expect 2 run --workload seq -x
expect 2 run --workload && has "$tmp/err" "needs a value"
expect 2 run --workload seq extra && has "$tmp/err" "unexpected argument 'extra'"
expect 2 run --workload seq:stride=12 && has "$tmp/err" "multiple of 8"
expect 2 run --workload seq --shadow-unsync maybe && has "$tmp/err" "--shadow-unsync"
expect 2 run --workload seq --shadow-roots 17 && has "$tmp/err" "--shadow-roots"
expect 2 run --workload seq --shadow-flood x && has "$tmp/err" "--shadow-flood"
expect 2 compare --out "$tmp/c" --shadow-large 2 && has "$tmp/err" "--shadow-large"

# ---- the shadow MMU's switches reach it ----
expect 0 run --workload churn:size=32k,rounds=4 --mode shadow --shadow-unsync off \
	--shadow-roots 2 --shadow-flood 5 --shadow-large off --shadow-check &&
	has "$tmp/out" "unsync off, 2 MiB leaves off, 2 previous roots, flood at 5, checker on" &&
	has "$tmp/out" " 0 unsyncs"
expect 0 run --help && has "$tmp/out" "--shadow-unsync on|off"

# ---- runtime failure: exit 1 ----
expect 1 run --workload "$small" --json "$tmp/no/such/dir/out.json" --quiet &&
	has "$tmp/err" "cannot write"

finish "all CLI checks passed"
