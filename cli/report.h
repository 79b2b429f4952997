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

/* Render results into DIR and print where report.html is: CLI_OK, or
 * CLI_FAIL with cmd's one-line message. */
int cli_report_publish(json_t *results, const char *dir, const char *cmd);

/* ---- the report's own pieces, shared among cli/report*.c ---- */

#include <stdbool.h>
#include <stdio.h>

/* Every number in the report is printed this way, so tests can compare. */
#define CLI_NUM "%.6g"

/* report_cells.c: a cell's figure (0 when absent) and string field ("" when
 * absent), whether it ran, its native cell and its slowdown against it
 * (0 when unknown), and whether two cells share workload, pages and CPU. */
double cli_cell_figure(json_t *cell, const char *name);
const char *cli_cell_field(json_t *cell, const char *name);
bool cli_cell_ok(json_t *cell);
json_t *cli_cell_native(json_t *cells, json_t *cell);
double cli_cell_slowdown(json_t *cells, json_t *cell);
bool cli_cell_same_group(json_t *a, json_t *b);
/* Is cells[i] the first ok cell of its workload, pages and CPU? */
bool cli_cell_opens_group(json_t *cells, size_t i);

/* The table every output of the comparison shares. */
struct cli_column {
	const char *title;
	const char *figure; /* NULL: slowdown */
	const char *file;   /* chart name */
};
#define CLI_NCOLUMNS ((size_t)5)
extern const struct cli_column cli_columns[CLI_NCOLUMNS];
double cli_column_value(json_t *cells, json_t *cell, const struct cli_column *col);

/* report_conclude.c: a paragraph per workload, pages and CPU. */
void cli_report_conclusions(FILE *f, json_t *cells, bool html);

/* report_csv.c, report_md.c, report_html.c: DIR/cells.csv, DIR/report.md,
 * DIR/report.html (and each chart as DIR/NAME.svg): 0, or -EIO with a
 * message in err. */
int cli_report_write_csv(const char *dir, json_t *cells, char *err, size_t n);
int cli_report_write_md(const char *dir, json_t *results, char *err, size_t n);
int cli_report_write_html(const char *dir, json_t *results, char *err, size_t n);

/* report_charts.c: the comparison's charts into tmp: 0 or -1. */
int cli_chart_cycles(const char *tmp, json_t *cells);
int cli_chart_by_mode(const char *tmp, json_t *results, const struct cli_column *col);

/* Open DIR/NAME for writing; on failure, NULL and why in err. */
FILE *cli_open_out(const char *dir, const char *name, char *err, size_t n);
/* Draw one chart into tmp/NAME.svg with gnuplot: 0 or -1. */
int cli_gnuplot(const char *tmp, const char *name, const char *script);
/* Copy tmp/NAME.svg into f, without its XML prologue: 0 or -1. */
int cli_inline_svg(FILE *f, const char *tmp, const char *name);
/* The settings every histogram chart starts with. */
extern const char *const cli_svg_head;

/*
 * report_bench.c (with report_hw.c, report_gbench.c and report_chase.c):
 * the sections of `nestwalk hw` results (results "hw":
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

/* report_bench.c: s as HTML text (or Markdown table text); a JSON object's
 * number by key (NAN when absent); "16K" "1M" "4G" of len characters in
 * bytes (0: not a size); bytes as such a label. */
void cli_put_text(FILE *f, const char *s, bool html);
double cli_number(json_t *b, const char *name);
double cli_size_of(const char *s, size_t len);
void cli_size_label(char *buf, size_t n, double bytes);

/* report_chase.c: the chase curves' chart into tmp/hw_chase.svg when there
 * are lines to draw (0 or -1), and how many lines there are. */
int cli_chase_chart(const char *tmp, json_t *results);
int cli_chase_lines(json_t *results);

/* report_hw.c: one hw run's table; the modelled against measured walk penalty. */
void cli_hw_table(FILE *f, json_t *hw, int run, bool html);
void cli_penalty_table(FILE *f, json_t *results, bool html);

/* report_gbench.c: Google Benchmark's own keys (not counters); rows worth
 * showing (plain runs that did not fail); the suites present, in order of
 * first appearance; whether b is in suite; a suite's chart (0, 1: nothing
 * to draw, -1) and table. */
bool cli_gbench_std_key(const char *k);
bool cli_gbench_usable(json_t *b);
int cli_gbench_suites(json_t *results, char names[][32], int max);
bool cli_gbench_in_suite(json_t *b, const char *suite);
int cli_gbench_chart(const char *tmp, json_t *results, const char *suite);
void cli_gbench_table(FILE *f, json_t *results, const char *suite, bool html);

#endif
