/* SPDX-License-Identifier: MIT */
#ifndef NW_CLI_REPORT_H
#define NW_CLI_REPORT_H

/*
 * The comparison report, shared by `compare` (which runs the matrix) and
 * `report` (which renders saved results). results.json holds the matrix
 * ("config": modes, workloads, pages, cpus) and one object per cell
 * ("cells", in matrix order, each with its "index"): status "ok" with every
 * figure by stable name, or "skipped" with the reason.
 */

#include <jansson.h>

int cli_compare(int argc, char **argv);
int cli_report(int argc, char **argv);

/* The per-access cycle components, as "cycles.X" stats. */
extern const char *const cli_cycle_parts[];

/*
 * Write DIR/results.json, report.md, *.csv and report.html (charts drawn by
 * gnuplot). 0; -ENOENT when gnuplot is missing; another -errno otherwise,
 * with a message in err.
 */
int cli_report_render(json_t *results, const char *dir, char *err, size_t errlen);

/* Is gnuplot on PATH? */
int cli_have_gnuplot(void);

/* ---- shared by report.c and report_bench.c ---- */

#include <stdio.h>

/* Open DIR/NAME for writing; on failure, NULL and why in err. */
FILE *cli_open_out(const char *dir, const char *name, char *err, size_t n);
/* Draw one chart into tmp/NAME.svg with gnuplot: 0 or -1. */
int cli_gnuplot(const char *tmp, const char *name, const char *script);
/* Copy tmp/NAME.svg into f, without its XML prologue: 0 or -1. */
int cli_inline_svg(FILE *f, const char *tmp, const char *name);
/* The settings every histogram chart starts with. */
extern const char *const cli_svg_head;

/*
 * report_bench.c: the sections of `nestwalk hw` results (results "hw":
 * [ {context, points, penalty, marks}, ... ]) and of Google Benchmark JSON
 * from nestwalk-bench (results "gbench": [ {context, benchmarks}, ... ]).
 */
/* NULL, or what is wrong with one hw object / one Google Benchmark file. */
const char *cli_check_hw(json_t *hw);
const char *cli_check_gbench(json_t *g);
/* Draw their charts into tmp: 0 or -1. */
int cli_report_bench_charts(const char *tmp, json_t *results);
void cli_report_bench_html(FILE *f, json_t *results, const char *tmp);
void cli_report_bench_md(FILE *f, json_t *results);
/* hw_points.csv and benchmarks.csv, when there is anything to write. */
int cli_report_bench_csv(const char *dir, json_t *results, char *err, size_t n);

#endif
