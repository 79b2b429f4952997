/* SPDX-License-Identifier: MIT */
/*
 * The comparison report: results.json rendered as report.md, CSV files and a
 * self-contained report.html whose charts gnuplot draws as SVG. And
 * `nestwalk report FILES... --out DIR`, which merges saved results.json
 * files (the shards of one matrix) and renders them.
 */

#define _GNU_SOURCE /* getopt_long, asprintf, mkdtemp */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "report.h"

#define CMD "report"

const char *const cli_cycle_parts[] = {
	"cycles.tlb", "cycles.psc", "cycles.walk.guest", "cycles.walk.host", "cycles.data",
	"cycles.vmexit", NULL,
};

int cli_have_gnuplot(void)
{
	return system("command -v gnuplot >/dev/null 2>&1") == 0;
}

/* ---- reading cells ---- */

static double figure(json_t *cell, const char *name)
{
	json_t *v = json_object_get(json_object_get(cell, "figures"), name);
	return json_is_number(v) ? json_number_value(v) : 0;
}

static const char *field(json_t *cell, const char *name)
{
	const char *s = json_string_value(json_object_get(cell, name));
	return s ? s : "";
}

static bool is_ok(json_t *cell)
{
	return !strcmp(field(cell, "status"), "ok");
}

/* The native cell of the same workload, pages and CPU, or NULL. */
static json_t *native_of(json_t *cells, json_t *cell)
{
	size_t i;
	json_t *c;
	json_array_foreach(cells, i, c)
		if (is_ok(c) && !strcmp(field(c, "mode"), "native") &&
		    !strcmp(field(c, "workload"), field(cell, "workload")) &&
		    !strcmp(field(c, "pages"), field(cell, "pages")) &&
		    !strcmp(field(c, "cpu"), field(cell, "cpu")))
			return c;
	return NULL;
}

/* Slowdown against native in modelled cycles per access; 0 when unknown. */
static double slowdown(json_t *cells, json_t *cell)
{
	json_t *n = native_of(cells, cell);
	double base = n ? figure(n, "cycles.per_access") : 0;
	return base > 0 ? figure(cell, "cycles.per_access") / base : 0;
}

/* ---- the table every output shares ---- */

struct column {
	const char *title;
	const char *figure; /* NULL: slowdown */
	const char *file;   /* chart name */
};

static const struct column columns[] = {
	{ "cycles/access", "cycles.per_access", NULL },
	{ "refs/walk", "walk.refs_per_walk", "refs_per_walk" },
	{ "TLB miss rate", "tlb.miss_rate", "tlb_miss_rate" },
	{ "exits/1k", "exits.per_1k", "exits_per_1k" },
	{ "slowdown vs native", NULL, "slowdown" },
};
#define NCOLUMNS (sizeof(columns) / sizeof(columns[0]))

static double column_value(json_t *cells, json_t *cell, const struct column *col)
{
	return col->figure ? figure(cell, col->figure) : slowdown(cells, cell);
}

/* Further figures cells.csv carries, empty where a mode has none. */
static const char *const csv_figures[] = {
	"exits.nested_fault.per_1k", "exits.cr3_write.per_1k", "exits.invlpg.per_1k",
	"exits.pf.per_1k", "exits.ipi.per_1k", "shadow.emulated_writes.per_1k",
	"shadow.syncs.per_1k", "shadow.unsyncs.per_1k", "shadow.zaps.per_1k",
	"shadow.unshadowed.per_1k", "shadow.root_hit_rate", "shadow.pages",
	"guest.pt_stores.per_1k", NULL,
};

/* Every number in the report is printed this way, so tests can compare. */
#define NUM "%.6g"

FILE *cli_open_out(const char *dir, const char *name, char *err, size_t n)
{
	char *path;
	if (asprintf(&path, "%s/%s", dir, name) < 0) {
		snprintf(err, n, "out of memory");
		return NULL;
	}
	FILE *f = fopen(path, "w");
	if (!f)
		snprintf(err, n, "cannot write %s: %s", path, strerror(errno));
	free(path);
	return f;
}

/* ---- CSV ---- */

static int write_csv(const char *dir, json_t *cells, char *err, size_t n)
{
	FILE *f = cli_open_out(dir, "cells.csv", err, n);
	if (!f)
		return -EIO;
	fprintf(f, "index,mode,workload,pages,cpu,status,reason");
	for (size_t k = 0; k < NCOLUMNS; k++)
		fprintf(f, ",%s", columns[k].figure ? columns[k].figure : "slowdown");
	for (int p = 0; cli_cycle_parts[p]; p++)
		fprintf(f, ",%s.per_access", cli_cycle_parts[p]);
	for (int p = 0; csv_figures[p]; p++)
		fprintf(f, ",%s", csv_figures[p]);
	fputc('\n', f);
	size_t i;
	json_t *c;
	json_array_foreach(cells, i, c) {
		fprintf(f, "%lld,%s,\"%s\",%s,%s,%s,\"%s\"",
			(long long)json_integer_value(json_object_get(c, "index")), field(c, "mode"),
			field(c, "workload"), field(c, "pages"), field(c, "cpu"), field(c, "status"),
			field(c, "reason"));
		for (size_t k = 0; k < NCOLUMNS; k++)
			if (is_ok(c))
				fprintf(f, "," NUM, column_value(cells, c, &columns[k]));
			else
				fputc(',', f);
		for (int p = 0; cli_cycle_parts[p]; p++) {
			char name[64];
			snprintf(name, sizeof(name), "%s.per_access", cli_cycle_parts[p]);
			if (is_ok(c))
				fprintf(f, "," NUM, figure(c, name));
			else
				fputc(',', f);
		}
		for (int p = 0; csv_figures[p]; p++) {
			json_t *v = json_object_get(json_object_get(c, "figures"), csv_figures[p]);
			if (json_is_number(v))
				fprintf(f, "," NUM, json_number_value(v));
			else
				fputc(',', f);
		}
		fputc('\n', f);
	}
	int bad = fclose(f);
	return bad ? -EIO : 0;
}

/* ---- conclusions ---- */

static bool same_group(json_t *a, json_t *b)
{
	return !strcmp(field(a, "workload"), field(b, "workload")) &&
	       !strcmp(field(a, "pages"), field(b, "pages")) && !strcmp(field(a, "cpu"), field(b, "cpu"));
}

/* What each cycle part is, in a sentence's words. */
static const char *part_words(const char *part)
{
	static const struct {
		const char *part, *words;
	} names[] = {
		{ "cycles.tlb", "TLB lookups" },
		{ "cycles.psc", "paging-structure-cache hits" },
		{ "cycles.walk.guest", "guest-dimension walk references" },
		{ "cycles.walk.host", "host-dimension walk references" },
		{ "cycles.vmexit", "VM exits" },
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(names[i].part, part))
			return names[i].words;
	return part;
}

/*
 * A cell's translation cost per access (every cycle part but the data
 * access itself), and the part that costs it the most.
 */
static double translation(json_t *c, const char **dom, double *dom_value)
{
	double total = 0;
	*dom = NULL;
	*dom_value = 0;
	for (int p = 0; cli_cycle_parts[p]; p++) {
		char name[64];
		if (!strcmp(cli_cycle_parts[p], "cycles.data"))
			continue;
		snprintf(name, sizeof(name), "%s.per_access", cli_cycle_parts[p]);
		double v = figure(c, name);
		total += v;
		if (v > *dom_value) {
			*dom_value = v;
			*dom = cli_cycle_parts[p];
		}
	}
	return total;
}

/* "at 56.0 cycles per access (+0.4% over native); translation ..." */
static void describe(FILE *f, json_t *cells, json_t *c)
{
	const char *dom;
	double dom_v, t = translation(c, &dom, &dom_v);
	double sd = slowdown(cells, c);

	fprintf(f, "%.3g cycles per access", figure(c, "cycles.per_access"));
	if (sd > 0)
		fprintf(f, " (%+.1f%% against native)", 100 * (sd - 1));
	if (dom && dom_v > 0)
		fprintf(f, "; translation costs it %.3g, most of that in %s (%.3g, %.0f%%)", t,
			part_words(dom), dom_v, 100 * dom_v / t);
	else
		fprintf(f, "; translation costs it nothing measurable");
	if (figure(c, "exits.per_1k") > 0)
		fprintf(f, ", with %.3g VM exits per 1,000 accesses", figure(c, "exits.per_1k"));
}

/*
 * One paragraph per workload, pages and CPU: which virtualized mode wins,
 * by how much against native, and what its translation cost is made of;
 * then the same of the slowest mode. Where every mode is within 0.5% of
 * native, it says so instead: nothing there to choose between.
 */
static void conclusions(FILE *f, json_t *cells, bool html)
{
	size_t i, j;
	json_t *c, *d;
	json_array_foreach(cells, i, c) {
		if (!is_ok(c))
			continue;
		bool first = true; /* the first ok cell of its group writes it */
		json_array_foreach(cells, j, d) {
			if (j >= i)
				break;
			if (is_ok(d) && same_group(c, d))
				first = false;
		}
		if (!first)
			continue;
		json_t *best = NULL, *worst = NULL, *native = native_of(cells, c);
		json_array_foreach(cells, j, d) {
			if (!is_ok(d) || !same_group(c, d) || d == native)
				continue;
			if (!best || figure(d, "cycles.per_access") < figure(best, "cycles.per_access"))
				best = d;
			if (!worst || figure(d, "cycles.per_access") > figure(worst, "cycles.per_access"))
				worst = d;
		}
		fprintf(f, html ? "<p><b>%s, %s pages, %s CPU:</b> " : "- **%s, %s pages, %s CPU:** ",
			field(c, "workload"), field(c, "pages"), field(c, "cpu"));
		if (native)
			fprintf(f, "native runs at %.3g modelled cycles per access. ",
				figure(native, "cycles.per_access"));
		if (!best) {
			fprintf(f, "No virtualized mode ran.");
		} else if (native && slowdown(cells, worst) < 1.005) {
			fprintf(f, "Every virtualized mode is within 0.5%% of native (the slowest, %s, "
				   "at %+.2f%%): translation hardly costs anything here.",
				field(worst, "mode"), 100 * (slowdown(cells, worst) - 1));
		} else {
			fprintf(f, "%s wins at ", field(best, "mode"));
			describe(f, cells, best);
			fprintf(f, ".");
			if (worst != best) {
				fprintf(f, " %s is slowest at ", field(worst, "mode"));
				describe(f, cells, worst);
				fprintf(f, ".");
			}
		}
		fprintf(f, html ? "</p>\n" : "\n");
	}
}

/* ---- report.md ---- */

/* The comparison's part of report.md. */
static void md_compare(FILE *f, json_t *results)
{
	json_t *cells = json_object_get(results, "cells");

	fprintf(f, "Modelled figures of the nestwalk simulator (not wall time). Charts: report.html.\n\n");
	fprintf(f, "## Conclusions\n\n");
	conclusions(f, cells, false);
	fprintf(f, "\n## Figures\n\n| mode | workload | pages | cpu |");
	for (size_t k = 0; k < NCOLUMNS; k++)
		fprintf(f, " %s |", columns[k].title);
	for (int p = 0; cli_cycle_parts[p]; p++)
		fprintf(f, " %s/access |", cli_cycle_parts[p]);
	fprintf(f, "\n|---|---|---|---|");
	for (size_t k = 0; k < NCOLUMNS; k++)
		fprintf(f, "---:|");
	for (int p = 0; cli_cycle_parts[p]; p++)
		fprintf(f, "---:|");
	fputc('\n', f);
	size_t i;
	json_t *c;
	json_array_foreach(cells, i, c) {
		if (!is_ok(c))
			continue;
		fprintf(f, "| %s | %s | %s | %s |", field(c, "mode"), field(c, "workload"), field(c, "pages"),
			field(c, "cpu"));
		for (size_t k = 0; k < NCOLUMNS; k++)
			fprintf(f, " " NUM " |", column_value(cells, c, &columns[k]));
		for (int p = 0; cli_cycle_parts[p]; p++) {
			char name[64];
			snprintf(name, sizeof(name), "%s.per_access", cli_cycle_parts[p]);
			fprintf(f, " " NUM " |", figure(c, name));
		}
		fputc('\n', f);
	}
	bool any = false;
	json_array_foreach(cells, i, c) {
		if (is_ok(c))
			continue;
		if (!any)
			fprintf(f, "\n## Skipped\n\n");
		any = true;
		fprintf(f, "- %s %s %s %s: %s\n", field(c, "mode"), field(c, "workload"), field(c, "pages"),
			field(c, "cpu"), field(c, "reason"));
	}
}

static int write_md(const char *dir, json_t *results, char *err, size_t n)
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

/* ---- charts ---- */

/* Row label of a cell's group, without spaces (gnuplot xtic labels). */
static void group_label(json_t *c, char *buf, size_t n)
{
	snprintf(buf, n, "%s/%s/%s", field(c, "workload"), field(c, "pages"), field(c, "cpu"));
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
static int chart_by_mode(const char *tmp, json_t *results, const struct column *col)
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
			if (hit && is_ok(hit))
				fprintf(f, "\t" NUM, column_value(cells, hit, col));
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
	const char *wl = field(c, "workload");
	int len = (int)strcspn(wl, ":");
	snprintf(buf, n, "%.*s %s%s%s", len, wl, field(c, "pages"), cpus ? " " : "",
		 cpus ? field(c, "cpu") : "");
	for (char *p = buf; *p; p++)
		if (*p == '"' || *p == '\'' || *p == '\\')
			*p = '_';
}

/*
 * A stacked chart: a bar per ok cell, stacked by cycle component, and
 * the bars of one workload, pages and CPU side by side as a cluster
 * (gnuplot's newhistogram, one data block each), titled under the axis.
 */
static int chart_cycles(const char *tmp, json_t *cells)
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
		if (strcmp(field(c, "cpu"), field(json_array_get(cells, 0), "cpu")))
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
		bool first = is_ok(c); /* the first ok cell of its group opens the block */
		json_array_foreach(cells, j, d) {
			if (j >= i)
				break;
			if (is_ok(d) && same_group(c, d))
				first = false;
		}
		if (!first)
			continue;
		if (block)
			fprintf(f, "\n\n");
		fprintf(f, "mode");
		for (int p = 0; cli_cycle_parts[p]; p++)
			fprintf(f, "\t%s", cli_cycle_parts[p] + strlen("cycles."));
		fputc('\n', f);
		json_array_foreach(cells, j, d) {
			if (!is_ok(d) || !same_group(c, d))
				continue;
			fprintf(f, "%s", field(d, "mode"));
			for (int p = 0; cli_cycle_parts[p]; p++) {
				char name[64];
				snprintf(name, sizeof(name), "%s.per_access", cli_cycle_parts[p]);
				fprintf(f, "\t" NUM, figure(d, name));
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

static int write_html(const char *dir, json_t *results, char *err, size_t n)
{
	json_t *cells = json_object_get(results, "cells");
	char tmp[] = "/tmp/nestwalk-report.XXXXXX";
	if (!mkdtemp(tmp)) {
		snprintf(err, n, "cannot make a temporary directory: %s", strerror(errno));
		return -EIO;
	}
	bool cmp = json_is_array(cells);
	int rc = cmp ? chart_cycles(tmp, cells) : 0;
	for (size_t k = 1; cmp && k < NCOLUMNS && rc == 0; k++)
		rc = chart_by_mode(tmp, results, &columns[k]);
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
	conclusions(f, cells, true);
	fprintf(f, "<h2>Charts</h2>\n<figure class=\"chart\" id=\"cycles\">\n");
	rc = cli_inline_svg(f, tmp, "cycles");
	fprintf(f, "</figure>\n");
	for (size_t k = 1; k < NCOLUMNS && rc == 0; k++) {
		fprintf(f, "<figure class=\"chart\" id=\"%s\">\n", columns[k].file);
		rc = cli_inline_svg(f, tmp, columns[k].file);
		fprintf(f, "</figure>\n");
	}
	fprintf(f, "<h2>Figures</h2>\n<table><tr><th>mode</th><th>workload</th><th>pages</th><th>cpu</th>");
	for (size_t k = 0; k < NCOLUMNS; k++)
		fprintf(f, "<th>%s</th>", columns[k].title);
	fprintf(f, "</tr>\n");
	size_t i;
	json_t *c;
	json_array_foreach(cells, i, c) {
		fprintf(f, "<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td>", field(c, "mode"),
			field(c, "workload"), field(c, "pages"), field(c, "cpu"));
		if (is_ok(c))
			for (size_t k = 0; k < NCOLUMNS; k++)
				fprintf(f, "<td class=\"n\">" NUM "</td>", column_value(cells, c, &columns[k]));
		else
			fprintf(f, "<td colspan=\"%zu\">skipped: %s</td>", NCOLUMNS, field(c, "reason"));
		fprintf(f, "</tr>\n");
	}
	fprintf(f, "</table>\n");
	return rc;
}

int cli_report_render(json_t *results, const char *dir, char *err, size_t errlen)
{
	if (!cli_have_gnuplot()) {
		snprintf(err, errlen, "gnuplot is not installed (scripts/setup.sh installs gnuplot-nox)");
		return -ENOENT;
	}
	if (mkdir(dir, 0777) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
		return -errno;
	}
	char *path;
	if (asprintf(&path, "%s/results.json", dir) < 0)
		return -ENOMEM;
	int rc = cli_write_json(results, path, err, errlen);
	free(path);
	if (rc < 0)
		return rc;
	json_t *cells = json_object_get(results, "cells");
	if ((cells && (rc = write_csv(dir, cells, err, errlen)) < 0) ||
	    (rc = cli_report_bench_csv(dir, results, err, errlen)) < 0 ||
	    (rc = write_md(dir, results, err, errlen)) < 0 || (rc = write_html(dir, results, err, errlen)) < 0)
		return rc;
	return 0;
}

/* ---- nestwalk report ---- */

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: nestwalk report FILE... --out DIR\n"
		"\n"
		"Render the report (results.json, report.md, report.html, CSV) from saved\n"
		"files: results.json of 'nestwalk compare' (shards of one matrix, from\n"
		"compare --shard I/N, are merged into the results of the whole matrix),\n"
		"the JSON of 'nestwalk hw --out FILE' (the real-hardware chase curves), and\n"
		"Google Benchmark JSON of nestwalk-bench (--benchmark_out=FILE\n"
		"--benchmark_out_format=json: a table and a chart per suite).\n"
		"\n"
		"Options:\n"
		"  -o, --out DIR    where the report goes (required)\n"
		"  -h, --help       show this help\n"
		"\n"
		"Exit status: 0 ok, 1 runtime failure, 2 usage or bad input.\n");
}

/* A results.json's basic shape: NULL, or what is wrong. */
static const char *check_results(json_t *r)
{
	if (!json_is_object(r))
		return "not a JSON object";
	json_t *cfg = json_object_get(r, "config");
	if (!json_is_object(cfg))
		return "no \"config\" object (not a nestwalk compare results.json)";
	static const char *keys[] = { "modes", "workloads", "pages", "cpus" };
	for (size_t k = 0; k < 4; k++)
		if (!json_is_array(json_object_get(cfg, keys[k])) || !json_array_size(json_object_get(cfg, keys[k])))
			return "\"config\" lacks a list of modes, workloads, pages or cpus";
	json_t *cells = json_object_get(r, "cells");
	if (!json_is_array(cells))
		return "no \"cells\" array";
	size_t i;
	json_t *c;
	json_array_foreach(cells, i, c) {
		if (!json_is_object(c) || !json_is_integer(json_object_get(c, "index")) ||
		    !json_is_string(json_object_get(c, "mode")) || !json_is_string(json_object_get(c, "status")))
			return "a cell lacks its index, mode or status";
		if (is_ok(c) && !json_is_object(json_object_get(c, "figures")))
			return "an ok cell lacks its figures";
	}
	return NULL;
}

static int by_index(const void *a, const void *b)
{
	json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, "index"));
	json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b, "index"));
	return (x > y) - (x < y);
}

int cli_report(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *out = NULL;
	int opt;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":o:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'o': out = optarg; break;
		case 'h':
			usage(stdout);
			return CLI_OK;
		case ':':
			return cli_usage(CMD, "option '%s' needs a value", argv[optind - 1]);
		default:
			return cli_usage(CMD, "unknown option '%s' (try 'nestwalk report --help')",
					 argv[optind - 1]);
		}
	}
	if (!out)
		return cli_usage(CMD, "--out DIR is required (try 'nestwalk report --help')");
	if (optind >= argc)
		return cli_usage(CMD, "no results files given (try 'nestwalk report --help')");

	json_t *merged = NULL, *all = json_array(), *hws = json_array(), *gbs = json_array();
	const char *first_cmp = NULL;
	int rc = CLI_OK;
	for (int a = optind; a < argc && rc == CLI_OK; a++) {
		json_error_t je;
		json_t *r = json_load_file(argv[a], 0, &je);
		const char *why = NULL;
		if (!r) {
			rc = cli_usage(CMD, "%s: %s", argv[a], je.text);
			break;
		}
		json_t *hw = json_object_get(r, "hw"), *gb = json_object_get(r, "gbench");
		bool is_cmp = json_object_get(r, "config") || json_object_get(r, "cells");
		bool is_gb = json_object_get(r, "benchmarks") != NULL;
		if (!json_is_object(r))
			why = "not a JSON object";
		else if (!is_cmp && !hw && !gb && !is_gb)
			why = "neither nestwalk results (compare, hw) nor Google Benchmark JSON";
		if (!why && is_gb && !(why = cli_check_gbench(r)))
			json_array_append(gbs, r);
		if (!why && hw) {
			size_t i;
			json_t *h;
			if (json_is_array(hw)) {
				json_array_foreach(hw, i, h)
					if (!why && !(why = cli_check_hw(h)))
						json_array_append(hws, h);
			} else if (!(why = cli_check_hw(hw))) {
				json_array_append(hws, hw);
			}
		}
		if (!why && gb) {
			size_t i;
			json_t *g;
			if (!json_is_array(gb))
				why = "\"gbench\" is not an array";
			json_array_foreach(gb, i, g)
				if (!why && !(why = cli_check_gbench(g)))
					json_array_append(gbs, g);
		}
		if (!why && is_cmp) {
			if ((why = check_results(r))) {
			} else if (!merged) {
				first_cmp = argv[a];
				merged = json_pack("{s:O, s:O}", "nestwalk", json_object_get(r, "nestwalk"),
						   "config", json_object_get(r, "config"));
			} else if (!json_equal(json_object_get(merged, "config"), json_object_get(r, "config"))) {
				rc = cli_usage(CMD, "%s: a different matrix from %s (config differs)", argv[a],
					       first_cmp);
			}
		}
		if (why)
			rc = cli_usage(CMD, "%s: %s", argv[a], why);
		if (rc == CLI_OK && is_cmp) {
			size_t i;
			json_t *c;
			json_array_foreach(json_object_get(r, "cells"), i, c) {
				size_t j;
				json_t *d;
				json_array_foreach(all, j, d)
					if (json_integer_value(json_object_get(d, "index")) ==
					    json_integer_value(json_object_get(c, "index")))
						break;
				if (j == json_array_size(all))
					json_array_append(all, c);
			}
		}
		json_decref(r);
	}
	if (rc == CLI_OK) {
		size_t n = json_array_size(all);
		json_t **v = malloc((n ? n : 1) * sizeof(*v));
		for (size_t i = 0; i < n; i++)
			v[i] = json_array_get(all, i);
		qsort(v, n, sizeof(*v), by_index);
		json_t *cells = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append(cells, v[i]);
		free(v);
		if (merged)
			json_object_set_new(merged, "cells", cells);
		else {
			json_decref(cells);
			merged = json_pack("{s:s}", "nestwalk", NW_VERSION);
		}
		if (json_array_size(hws))
			json_object_set(merged, "hw", hws);
		if (json_array_size(gbs))
			json_object_set(merged, "gbench", gbs);
		char err[512];
		int r = cli_report_render(merged, out, err, sizeof(err));
		if (r < 0)
			rc = cli_fail(CMD, "%s", err);
		else
			printf("report: %s/report.html\n", out);
	}
	json_decref(all);
	json_decref(hws);
	json_decref(gbs);
	json_decref(merged);
	return rc;
}
