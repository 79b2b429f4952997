/* SPDX-License-Identifier: MIT */
/* report.md: the conclusions and the figures as Markdown, then the benchmark sections. */

#include <errno.h>
#include <stdio.h>

#include "cli.h"
#include "report.h"

/* The comparison's part of report.md. */
static void md_compare(FILE *f, json_t *results)
{
	json_t *cells = json_object_get(results, "cells");

	fprintf(f, "Modelled figures of the nestwalk simulator (not wall time). Charts: report.html.\n\n");
	fprintf(f, "## Conclusions\n\n");
	cli_report_conclusions(f, cells, false);
	fprintf(f, "\n## Figures\n\n| mode | workload | pages | cpu |");
	for (size_t k = 0; k < CLI_NCOLUMNS; k++)
		fprintf(f, " %s |", cli_columns[k].title);
	for (int p = 0; cli_cycle_parts[p]; p++)
		fprintf(f, " %s/access |", cli_cycle_parts[p]);
	fprintf(f, "\n|---|---|---|---|");
	for (size_t k = 0; k < CLI_NCOLUMNS; k++)
		fprintf(f, "---:|");
	for (int p = 0; cli_cycle_parts[p]; p++)
		fprintf(f, "---:|");
	fputc('\n', f);
	size_t i;
	json_t *c;
	json_array_foreach(cells, i, c) {
		if (!cli_cell_ok(c))
			continue;
		fprintf(f, "| %s | %s | %s | %s |", cli_cell_field(c, "mode"), cli_cell_field(c, "workload"),
			cli_cell_field(c, "pages"), cli_cell_field(c, "cpu"));
		for (size_t k = 0; k < CLI_NCOLUMNS; k++)
			fprintf(f, " " CLI_NUM " |", cli_column_value(cells, c, &cli_columns[k]));
		for (int p = 0; cli_cycle_parts[p]; p++) {
			char name[64];
			snprintf(name, sizeof(name), "%s.per_access", cli_cycle_parts[p]);
			fprintf(f, " " CLI_NUM " |", cli_cell_figure(c, name));
		}
		fputc('\n', f);
	}
	bool any = false;
	json_array_foreach(cells, i, c) {
		if (cli_cell_ok(c))
			continue;
		if (!any)
			fprintf(f, "\n## Skipped\n\n");
		any = true;
		fprintf(f, "- %s %s %s %s: %s\n", cli_cell_field(c, "mode"), cli_cell_field(c, "workload"),
			cli_cell_field(c, "pages"), cli_cell_field(c, "cpu"), cli_cell_field(c, "reason"));
	}
}

int cli_report_write_md(const char *dir, json_t *results, char *err, size_t n)
{
	FILE *f = cli_open_out(dir, "report.md", err, n);
	if (!f)
		return -EIO;
	if (json_is_array(json_object_get(results, "cells"))) {
		fprintf(f, "# nestwalk: shadow and nested paging compared\n\n");
		md_compare(f, results);
	} else {
		fprintf(f, "# nestwalk: benchmark report\n\nCharts: report.html.\n");
	}
	cli_report_bench_md(f, results);
	int bad = fclose(f);
	return bad ? -EIO : 0;
}
