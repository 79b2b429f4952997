#!/usr/bin/env bash
# report.html in a real browser: headless Chromium loads the report of a
# small compare and every chart must be in the rendered DOM as an SVG with
# drawn paths. Skips (77) when Chromium or gnuplot is not installed.
# Usage: test_report_html.sh PATH/TO/nestwalk
set -u
nw=$1
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
	--out "$tmp/r" >/dev/null || { echo "FAIL: compare"; exit 1; }
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
echo "ok"
