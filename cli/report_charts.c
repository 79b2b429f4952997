/* SPDX-License-Identifier: MIT */
/*
 * The comparison's charts, drawn by gnuplot as SVG into a temporary
 * directory: modelled cycles per access stacked by component, and one
 * clustered chart per figure of the table.
 */

#define _GNU_SOURCE /* asprintf, open_memstream, getdelim */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "report.h"

/* Row label of a cell's group, without spaces (gnuplot xtic labels). */
static void group_label(json_t *c, char *buf, size_t n)
{
	snprintf(buf, n, "%s/%s/%s", cli_cell_field(c, "workload"), cli_cell_field(c, "pages"),
		 cli_cell_field(c, "cpu"));
	for (char *p = buf; *p; p++)
		if (*p == ' ' || *p == '"' || *p == '\t')
			*p = '_';
}

int cli_gnuplot(const char *tmp, const char *name, const char *script)
{
	char *sp, *cmd;
	if (asprintf(&sp, "%s/%s.gp", tmp, name) < 0)
		return -1;
	FILE *f = fopen(sp, "w");
	if (!f) {
		free(sp);
		return -1;
	}
	fputs(script, f);
	fclose(f);
	if (asprintf(&cmd, "cd '%s' && gnuplot '%s.gp' 2>'%s.err'", tmp, name, name) < 0) {
		free(sp);
		return -1;
	}
	int rc = system(cmd);
	free(cmd);
	free(sp);
	return rc == 0 ? 0 : -1;
}

const char *const cli_svg_head =
	"set terminal svg size 960,420 dynamic font 'sans,10'\n"
	"set datafile separator '\\t'\n"
	"set datafile missing '?'\n"
	"set style data histograms\n"
	"set style fill solid 0.85 border -1\n"
	"set key outside right top\n"
	"set xtics rotate by -25 noenhanced\n"
	"set grid ytics\n"
	"set yrange [0:*]\n";


/* A clustered chart: a row per group, a bar per mode. */
int cli_chart_by_mode(const char *tmp, json_t *results, const struct cli_column *col)
{
	json_t *cells = json_object_get(results, "cells");
	json_t *modes = json_object_get(json_object_get(results, "config"), "modes");
	char *path;
	if (asprintf(&path, "%s/%s.tsv", tmp, col->file) < 0)
		return -1;
	FILE *f = fopen(path, "w");
	free(path);
	if (!f)
		return -1;
	fprintf(f, "group");
	size_t m, i, j;
	json_t *mv, *c, *d;
	json_array_foreach(modes, m, mv)
		fprintf(f, "\t%s", json_string_value(mv));
	fputc('\n', f);
	json_array_foreach(cells, i, c) {
		if (json_integer_value(json_object_get(c, "index")) % (json_int_t)json_array_size(modes))
			continue; /* one row per group: its first mode's cell */
		char label[256];
		group_label(c, label, sizeof(label));
		fprintf(f, "%s", label);
		json_array_foreach(modes, m, mv) {
			json_t *hit = NULL;
			json_array_foreach(cells, j, d)
				if (json_integer_value(json_object_get(d, "index")) ==
				    json_integer_value(json_object_get(c, "index")) + (json_int_t)m)
					hit = d;
			if (hit && cli_cell_ok(hit))
				fprintf(f, "\t" CLI_NUM, cli_column_value(cells, hit, col));
			else
				fprintf(f, "\t?");
		}
		fputc('\n', f);
	}
	fclose(f);
	char *script;
	size_t nmodes = json_array_size(modes);
	char plot[1024] = "";
	for (size_t k = 0; k < nmodes; k++) {
		char part[96];
		if (k)
			snprintf(part, sizeof(part), ", '' using %zu title col", k + 2);
		else
			snprintf(part, sizeof(part), "'%s.tsv' using 2:xtic(1) title col", col->file);
		strncat(plot, part, sizeof(plot) - strlen(plot) - 1);
	}
	if (asprintf(&script, "%sset output '%s.svg'\nset style histogram clustered gap 1\n"
		     "set title '%s by mode'\nplot %s\n", cli_svg_head, col->file, col->title, plot) < 0)
		return -1;
	int rc = cli_gnuplot(tmp, col->file, script);
	free(script);
	return rc;
}

/* A cluster's title under the cycles chart: the workload's name (its
 * parameters are in the table), the pages, and the CPU when there are several. */
static void cluster_title(json_t *c, bool cpus, char *buf, size_t n)
{
	const char *wl = cli_cell_field(c, "workload");
	int len = (int)strcspn(wl, ":");
	snprintf(buf, n, "%.*s %s%s%s", len, wl, cli_cell_field(c, "pages"), cpus ? " " : "",
		 cpus ? cli_cell_field(c, "cpu") : "");
	for (char *p = buf; *p; p++)
		if (*p == '"' || *p == '\'' || *p == '\\')
			*p = '_';
}

/*
 * A stacked chart: a bar per ok cell, stacked by cycle component, and
 * the bars of one workload, pages and CPU side by side as a cluster
 * (gnuplot's newhistogram, one data block each), titled under the axis.
 */
int cli_chart_cycles(const char *tmp, json_t *cells)
{
	char *path;
	if (asprintf(&path, "%s/cycles.tsv", tmp) < 0)
		return -1;
	FILE *f = fopen(path, "w");
	free(path);
	if (!f)
		return -1;
	size_t i, j, nbars = 0;
	json_t *c, *d;
	bool cpus = false;
	json_array_foreach(cells, i, c)
		if (strcmp(cli_cell_field(c, "cpu"), cli_cell_field(json_array_get(cells, 0), "cpu")))
			cpus = true;
	char *plot = NULL;
	size_t plot_len = 0;
	FILE *pf = open_memstream(&plot, &plot_len);
	if (!pf) {
		fclose(f);
		return -1;
	}
	unsigned block = 0;
	json_array_foreach(cells, i, c) {
		if (!cli_cell_opens_group(cells, i))
			continue; /* the first ok cell of its group opens the block */
		if (block)
			fprintf(f, "\n\n");
		fprintf(f, "mode");
		for (int p = 0; cli_cycle_parts[p]; p++)
			fprintf(f, "\t%s", cli_cycle_parts[p] + strlen("cycles."));
		fputc('\n', f);
		json_array_foreach(cells, j, d) {
			if (!cli_cell_ok(d) || !cli_cell_same_group(c, d))
				continue;
			fprintf(f, "%s", cli_cell_field(d, "mode"));
			for (int p = 0; cli_cycle_parts[p]; p++) {
				char name[64];
				snprintf(name, sizeof(name), "%s.per_access", cli_cycle_parts[p]);
				fprintf(f, "\t" CLI_NUM, cli_cell_figure(d, name));
			}
			fputc('\n', f);
			nbars++;
		}
		char title[160];
		cluster_title(c, cpus, title, sizeof(title));
		fprintf(pf, "%snewhistogram \"%s\" lt 1, 'cycles.tsv' index %u using 2:xtic(1) %s",
			block ? ", " : "", title, block, block ? "notitle" : "title col");
		for (int p = 1; cli_cycle_parts[p]; p++)
			fprintf(pf, ", '' index %u using %d %s", block, p + 2,
				block ? "notitle" : "title col");
		block++;
	}
	fclose(f);
	fclose(pf);
	if (!block) { /* no ok cell: an empty chart still says so */
		free(plot);
		plot = strdup("NaN notitle");
		if (!plot)
			return -1;
	}
	unsigned width = 200 + 22 * (unsigned)(nbars + block);
	width = width < 960 ? 960 : width;
	char *script;
	int rc = asprintf(&script, "%sset terminal svg size %u,480 dynamic font 'sans,10'\n"
			  "set output 'cycles.svg'\nset style histogram rowstacked title offset 0,-1\n"
			  "set boxwidth 0.75\nset bmargin 6\n"
			  "set xtics rotate by -90 font 'sans,8'\n"
			  "set title 'Modelled cycles per access, by component (bars: modes; "
			  "clusters: workload, pages)'\n"
			  "plot %s\n", cli_svg_head, width, plot);
	free(plot);
	if (rc < 0)
		return -1;
	rc = cli_gnuplot(tmp, "cycles", script);
	free(script);
	return rc;
}

int cli_inline_svg(FILE *f, const char *tmp, const char *name)
{
	char *path;
	if (asprintf(&path, "%s/%s.svg", tmp, name) < 0)
		return -1;
	FILE *s = fopen(path, "r");
	free(path);
	if (!s)
		return -1;
	char *buf = NULL;
	size_t cap = 0;
	ssize_t len = getdelim(&buf, &cap, '\0', s);
	fclose(s);
	char *start = len > 0 ? strstr(buf, "<svg") : NULL;
	if (start)
		fputs(start, f);
	free(buf);
	return start ? 0 : -1;
}
