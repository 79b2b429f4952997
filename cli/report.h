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

#endif
