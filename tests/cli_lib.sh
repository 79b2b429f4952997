# Sourced by the nestwalk command's test scripts: a temporary directory
# ($tmp, removed on exit), fail (say why and count it), need (skip, exit 77,
# unless each tool named is installed) and finish (exit 1 with the count
# when anything failed, else say MESSAGE or "ok").
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0

fail() {
	echo "FAIL: $*"
	fails=$((fails + 1))
}

need() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null || { echo "SKIP: $c is not installed"; exit 77; }
	done
}

finish() {
	if [ "$fails" -ne 0 ]; then
		echo "$fails failure(s)"
		exit 1
	fi
	echo "${1:-ok}"
	exit 0
}
