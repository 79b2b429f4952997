#!/usr/bin/env bash
# The README's picture: a PNG screenshot of the top of a report.html (title,
# conclusions, the first charts), taken by headless Chromium and kept under
# 300 KB (ImageMagick's convert shrinks it, if the first shot is larger).
# Usage: scripts/report_png.sh [REPORT_HTML] [OUT_PNG]
#        (defaults: build/report/report.html, docs/report.png; `make report-png`)
set -eu
cd "$(dirname "$0")/.."
html=${1:-build/report/report.html}
out=${2:-docs/report.png}
max=$((300 * 1024))
browser=""
for b in chromium chromium-browser google-chrome; do
	command -v "$b" >/dev/null && { browser=$b; break; }
done
[ -n "$browser" ] || { echo "report_png.sh: headless Chromium is not installed" >&2; exit 1; }
[ -s "$html" ] || { echo "report_png.sh: no $html (run 'make report' first)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
timeout 120 "$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars \
	--window-size=1200,1500 --screenshot="$tmp/shot.png" "file://$(realpath "$html")" \
	>/dev/null 2>&1
[ -s "$tmp/shot.png" ] || { echo "report_png.sh: Chromium took no screenshot" >&2; exit 1; }
if [ "$(stat -c %s "$tmp/shot.png")" -gt $max ] && command -v convert >/dev/null; then
	convert "$tmp/shot.png" -resize 85% -colors 64 "PNG8:$tmp/small.png"
	mv "$tmp/small.png" "$tmp/shot.png"
fi
size=$(stat -c %s "$tmp/shot.png")
[ "$size" -le $max ] || { echo "report_png.sh: $size bytes, over 300 KB" >&2; exit 1; }
cp "$tmp/shot.png" "$out"
echo "$out ($size bytes)"
