#!/usr/bin/env bash
# Runs the trace fuzzer briefly from the seed corpus: new inputs go to a
# scratch corpus in the build tree, never into the source tree. Skips (77)
# only when clang with libFuzzer was absent at configure time.
# Usage: run_fuzz.sh FUZZER SEED_DIR WORK_DIR SECONDS
set -u
fuzzer=$1 seeds=$2 work=$3 secs=$4
[ -x "$fuzzer" ] || { echo "no clang with libFuzzer (-fsanitize=fuzzer): skipped"; exit 77; }
mkdir -p "$work"
exec "$fuzzer" -max_total_time="$secs" -timeout=10 -rss_limit_mb=1024 -print_final_stats=1 \
	"$work" "$seeds"
