#!/usr/bin/env bash
# report.html in a real browser: headless Chromium loads the report of a
# small compare and every chart must be in the rendered DOM as an SVG with
# drawn paths. Given nestwalk-bench too, the report also holds `nestwalk hw`
# results and nestwalk-bench's Google Benchmark JSON, and their charts (the
# chase curves, one per suite) must render as well. Skips (77) when Chromium
# or gnuplot is not installed.
# Usage: test_report_html.sh PATH/TO/nestwalk [PATH/TO/nestwalk-bench]
set -u
nw=$1
bench=${2:-}
browser=""
for b in chromium chromium-browser google-chrome; do
	command -v "$b" >/dev/null && { browser=$b; break; }
done
if [ -z "$browser" ] || ! command -v gnuplot >/dev/null; then
	echo "SKIP: headless Chromium or gnuplot is not installed"
	exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$nw" compare --modes native,ept,npt --workloads random:ws=1m,ops=2000 --pages 4k \
	--out "$tmp/c" >/dev/null || { echo "FAIL: compare"; exit 1; }
files=("$tmp/c/results.json")
want="cycles refs_per_walk tlb_miss_rate exits_per_1k slowdown"
if [ -n "$bench" ]; then
	"$nw" hw --min 16K --max 64K --pages 4k,thp --samples 2 --no-reserve -q --out "$tmp/hw.json" \
		>/dev/null || { echo "FAIL: hw"; exit 1; }
	"$bench" --benchmark_min_time=0.001 --hw_hugetlb_reserve=0 \
		--benchmark_filter='^(walk/g4/h4/4k/4k/|tlb/skylake/4k/16384$|invept/none/1000$|table/map/4k/512$|model/(chase/g(4k|2m)/h4k|penalty/h4k)/16M/)' \
		--benchmark_out="$tmp/gb.json" --benchmark_out_format=json >/dev/null 2>&1 ||
		{ echo "FAIL: nestwalk-bench"; exit 1; }
	files+=("$tmp/hw.json" "$tmp/gb.json")
	want="$want hw_chase gbench_walk gbench_tlb gbench_invept gbench_table gbench_model"
fi
"$nw" report "${files[@]}" --out "$tmp/r" >/dev/null || { echo "FAIL: report"; exit 1; }
charts=$(grep -c '<figure class="chart"' "$tmp/r/report.html")
timeout 60 "$browser" --headless --no-sandbox --disable-gpu --dump-dom \
	"file://$tmp/r/report.html" >"$tmp/dom.html" 2>/dev/null
# One line per chart: its id, then whether its SVG drew any path.
awk 'BEGIN { RS = "<figure class=\"chart\"" } NR > 1 {
	id = $0; sub(/^ id="/, "", id); sub(/".*/, "", id)
	ok = index($0, "<svg") && index($0, "<path")
	print id, (ok ? "ok" : "missing")
}' "$tmp/dom.html" >"$tmp/charts"
cat "$tmp/charts"
rendered=$(grep -c ' ok$' "$tmp/charts")
if [ "$charts" -lt 5 ] || [ "$rendered" -ne "$charts" ]; then
	echo "FAIL: $rendered of $charts charts rendered"
	exit 1
fi
for id in $want; do
	grep -q "^$id ok$" "$tmp/charts" || { echo "FAIL: chart $id did not render"; exit 1; }
done
echo "ok"
