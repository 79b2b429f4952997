/* SPDX-License-Identifier: MIT */
/* report.html: self-contained, its charts inlined as SVG. */

#define _GNU_SOURCE /* asprintf, mkdtemp */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "report.h"

static void rm_tmp(const char *tmp)
{
	char *cmd;
	if (asprintf(&cmd, "rm -rf '%s'", tmp) >= 0) {
		if (system(cmd)) {
		}
		free(cmd);
	}
}

static int html_compare(FILE *f, json_t *results, const char *tmp);

int cli_report_write_html(const char *dir, json_t *results, char *err, size_t n)
{
	json_t *cells = json_object_get(results, "cells");
	char tmp[] = "/tmp/nestwalk-report.XXXXXX";
	if (!mkdtemp(tmp)) {
		snprintf(err, n, "cannot make a temporary directory: %s", strerror(errno));
		return -EIO;
	}
	bool cmp = json_is_array(cells);
	int rc = cmp ? cli_chart_cycles(tmp, cells) : 0;
	for (size_t k = 1; cmp && k < CLI_NCOLUMNS && rc == 0; k++)
		rc = cli_chart_by_mode(tmp, results, &cli_columns[k]);
	if (rc == 0)
		rc = cli_report_bench_charts(tmp, results);
	if (rc) {
		snprintf(err, n, "gnuplot failed drawing the charts (in %s)", tmp);
		return -EIO;
	}
	FILE *f = cli_open_out(dir, "report.html", err, n);
	if (!f) {
		rm_tmp(tmp);
		return -EIO;
	}
	const char *title = cmp ? "nestwalk: shadow and nested paging compared" : "nestwalk: benchmark report";
	fprintf(f, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">\n"
		"<title>%s</title>\n"
		"<style>body{font-family:sans-serif;max-width:1150px;margin:2em auto;color:#222}"
		"table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ccc;padding:2px 6px}"
		"td.n{text-align:right}figure{margin:1.5em 0}div.wide{overflow-x:auto}"
		"ul.ctx{font-size:12px;color:#555}</style></head><body>\n"
		"<h1>%s</h1>\n", title, title);
	if (cmp)
		rc = html_compare(f, results, tmp);
	if (rc == 0)
		cli_report_bench_html(f, results, tmp);
	fprintf(f, "</body></html>\n");
	int bad = fclose(f);
	/* Each chart as a file too, for documents that embed one. */
	char *cp;
	if (rc == 0 && asprintf(&cp, "cp '%s'/*.svg '%s'/", tmp, dir) >= 0) {
		rc = system(cp) ? -1 : 0;
		free(cp);
	}
	rm_tmp(tmp);
	if (rc || bad) {
		snprintf(err, n, "cannot write report.html");
		return -EIO;
	}
	return 0;
}

/* The comparison's part of report.html. */
static int html_compare(FILE *f, json_t *results, const char *tmp)
{
	json_t *cells = json_object_get(results, "cells");
	int rc;

	fprintf(f, "<p>Modelled figures of the nestwalk simulator; every number comes from results.json.</p>\n"
		"<h2>Conclusions</h2>\n");
	cli_report_conclusions(f, cells, true);
	fprintf(f, "<h2>Charts</h2>\n<figure class=\"chart\" id=\"cycles\">\n");
	rc = cli_inline_svg(f, tmp, "cycles");
	fprintf(f, "</figure>\n");
	for (size_t k = 1; k < CLI_NCOLUMNS && rc == 0; k++) {
		fprintf(f, "<figure class=\"chart\" id=\"%s\">\n", cli_columns[k].file);
		rc = cli_inline_svg(f, tmp, cli_columns[k].file);
		fprintf(f, "</figure>\n");
	}
	fprintf(f, "<h2>Figures</h2>\n<table><tr><th>mode</th><th>workload</th><th>pages</th><th>cpu</th>");
	for (size_t k = 0; k < CLI_NCOLUMNS; k++)
		fprintf(f, "<th>%s</th>", cli_columns[k].title);
	fprintf(f, "</tr>\n");
	size_t i;
	json_t *c;
	json_array_foreach(cells, i, c) {
		fprintf(f, "<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td>", cli_cell_field(c, "mode"),
			cli_cell_field(c, "workload"), cli_cell_field(c, "pages"), cli_cell_field(c, "cpu"));
		if (cli_cell_ok(c))
			for (size_t k = 0; k < CLI_NCOLUMNS; k++)
				fprintf(f, "<td class=\"n\">" CLI_NUM "</td>",
					cli_column_value(cells, c, &cli_columns[k]));
		else
			fprintf(f, "<td colspan=\"%zu\">skipped: %s</td>", CLI_NCOLUMNS,
				cli_cell_field(c, "reason"));
		fprintf(f, "</tr>\n");
	}
	fprintf(f, "</table>\n");
	return rc;
}
