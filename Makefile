# Thin wrapper: every target sets itself up, so each works on a fresh machine.
.PHONY: all setup build test test-default test-asan release report report-png clean

all: build

setup:
	@bash scripts/setup.sh

build: setup
	@cmake --preset default >/dev/null
	@cmake --build --preset default

release: setup
	@cmake --preset release >/dev/null
	@cmake --build --preset release

# The main job: the built-in comparison matrix, rendered as build/report/.
report: release
	@./build/release/nestwalk compare --out $(CURDIR)/build/report

# The README's picture: a screenshot of that report (docs/report.png, < 300 KB).
report-png: report
	@bash scripts/report_png.sh build/report/report.html docs/report.png

test: test-default test-asan

test-default: build
	@ctest --preset default --output-junit junit.xml

test-asan: setup
	@cmake --preset asan >/dev/null
	@cmake --build --preset asan
	@ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		ctest --preset asan --output-junit junit.xml

clean:
	rm -rf build
