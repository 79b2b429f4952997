/* SPDX-License-Identifier: MIT */
/*
 * The report's benchmark sections: `nestwalk hw` results (the real-hardware
 * chase curves: ns per access against working set, a line per page kind, log
 * x, with the TLB-reach and cache marks) and Google Benchmark JSON written by
 * nestwalk-bench (a table and a chart per suite; the hw and model chase
 * entries join the curves). report.c calls these when the merged results
 * carry "hw" or "gbench" arrays.
 */

#define _GNU_SOURCE /* asprintf */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "report.h"

#define NUM "%.6g"
#define MAX_SERIES 24
#define MAX_POINTS 64

/* s as HTML text (or as it is, for Markdown). */
static void put_text(FILE *f, const char *s, bool html)
{
	for (; s && *s; s++) {
		if (html && *s == '<')
			fputs("&lt;", f);
		else if (html && *s == '>')
			fputs("&gt;", f);
		else if (html && *s == '&')
			fputs("&amp;", f);
		else if (!html && *s == '|')
			fputs("\\|", f);
		else
			fputc(*s, f);
	}
}

/* ---- checking the inputs ---- */

const char *cli_check_hw(json_t *hw)
{
	json_t *points = json_object_get(hw, "points");
	size_t i;
	json_t *p;

	if (!json_is_object(hw))
		return "\"hw\" is not an object (not a nestwalk hw JSON)";
	if (!json_is_array(points))
		return "\"hw\" has no \"points\" array";
	json_array_foreach(points, i, p) {
		const char *st = json_string_value(json_object_get(p, "status"));

		if (!json_is_object(p) || !json_is_string(json_object_get(p, "kind")) ||
		    !json_is_integer(json_object_get(p, "ws")) || !st)
			return "a hw point lacks its kind, ws or status";
		if (!strcmp(st, "ok") && !json_is_number(json_object_get(p, "ns_per_access")))
			return "an ok hw point lacks ns_per_access";
	}
	return NULL;
}

static const char *const std_keys[] = {
	"name", "family_index", "per_family_instance_index", "run_name", "run_type", "repetitions",
	"repetition_index", "threads", "iterations", "real_time", "cpu_time", "time_unit", "label",
	"error_occurred", "error_message", "aggregate_name", "aggregate_unit", NULL,
};

static bool is_std_key(const char *k)
{
	for (int i = 0; std_keys[i]; i++)
		if (!strcmp(k, std_keys[i]))
			return true;
	return false;
}

const char *cli_check_gbench(json_t *g)
{
	json_t *b = json_object_get(g, "benchmarks");
	size_t i;
	json_t *x;

	if (!json_is_object(g) || !json_is_object(json_object_get(g, "context")))
		return "no \"context\" object (not Google Benchmark JSON)";
	if (!json_is_array(b))
		return "no \"benchmarks\" array (not Google Benchmark JSON)";
	json_array_foreach(b, i, x) {
		const char *k;
		json_t *v;

		if (!json_is_object(x) || !json_is_string(json_object_get(x, "name")))
			return "a benchmark lacks its name";
		if (json_is_true(json_object_get(x, "error_occurred")))
			continue;
		if (!json_is_number(json_object_get(x, "real_time")) ||
		    !json_is_string(json_object_get(x, "time_unit")))
			return "a benchmark lacks real_time or time_unit";
		json_object_foreach(x, k, v)
			if (!is_std_key(k) && !json_is_number(v))
				return "a benchmark counter is not a number";
	}
	return NULL;
}

/* ---- the chase curves ---- */

struct series {
	char label[64];
	double ws[MAX_POINTS], ns[MAX_POINTS];
	int n;
};

struct curves {
	struct series s[MAX_SERIES];
	int n;
	json_t *marks; /* the first hw run's, else own */
	json_t *own;   /* marks read from a context's hw.mark.* entries */
};

/* The "hw.mark.*" entries of a context ("<bytes> <label>") as marks. */
static json_t *context_marks(json_t *context)
{
	json_t *marks = json_array(), *v;
	const char *key;

	json_object_foreach(context, key, v) {
		unsigned long long ws;
		int at = 0;

		if (!strncmp(key, "hw.mark.", 8) && json_is_string(v) &&
		    sscanf(json_string_value(v), "%llu %n", &ws, &at) == 1 && at > 0)
			json_array_append_new(marks, json_pack("{s:s, s:I}", "label", json_string_value(v) + at,
							      "ws", (json_int_t)ws));
	}
	if (json_array_size(marks))
		return marks;
	json_decref(marks);
	return NULL;
}

static struct series *series_for(struct curves *c, const char *label)
{
	for (int i = 0; i < c->n; i++)
		if (!strcmp(c->s[i].label, label))
			return &c->s[i];
	if (c->n == MAX_SERIES)
		return NULL;
	struct series *s = &c->s[c->n++];
	memset(s, 0, sizeof(*s));
	snprintf(s->label, sizeof(s->label), "%s", label);
	return s;
}

static void add_point(struct curves *c, const char *label, double ws, double ns)
{
	struct series *s = series_for(c, label);

	if (!s || s->n == MAX_POINTS || !(ns > 0))
		return;
	/* Keep each line sorted by working set. */
	int i = s->n++;
	while (i > 0 && s->ws[i - 1] > ws) {
		s->ws[i] = s->ws[i - 1];
		s->ns[i] = s->ns[i - 1];
		i--;
	}
	s->ws[i] = ws;
	s->ns[i] = ns;
}

/* "16K", "1M", "4G" (as in benchmark names) in bytes; 0 if not a size. */
static double size_of(const char *s, size_t len)
{
	char *end;
	double v = strtod(s, &end);
	double mult = 1;

	if (end == s || (size_t)(end - s) + 1 != len)
		return 0;
	switch (*end) {
	case 'K': mult = 1024.0; break;
	case 'M': mult = 1048576.0; break;
	case 'G': mult = 1073741824.0; break;
	default: return 0;
	}
	return v * mult;
}

static double counter(json_t *b, const char *name)
{
	json_t *v = json_object_get(b, name);
	return json_is_number(v) ? json_number_value(v) : NAN;
}

/* Benchmark rows worth showing: plain runs that did not fail. */
static bool usable(json_t *b)
{
	const char *rt = json_string_value(json_object_get(b, "run_type"));
	return !json_is_true(json_object_get(b, "error_occurred")) && (!rt || !strcmp(rt, "iteration"));
}

static void collect(json_t *results, struct curves *c)
{
	json_t *hws = json_object_get(results, "hw"), *gbs = json_object_get(results, "gbench");
	size_t i, j;
	json_t *hw, *p, *g, *b;
	char label[64];

	memset(c, 0, sizeof(*c));
	json_array_foreach(hws, i, hw) {
		if (!c->marks && json_array_size(json_object_get(hw, "marks")))
			c->marks = json_object_get(hw, "marks");
		json_array_foreach(json_object_get(hw, "points"), j, p) {
			if (strcmp(json_string_value(json_object_get(p, "status")), "ok"))
				continue;
			if (json_array_size(hws) > 1)
				snprintf(label, sizeof(label), "hw %zu: %s", i + 1,
					 json_string_value(json_object_get(p, "kind")));
			else
				snprintf(label, sizeof(label), "hw: %s",
					 json_string_value(json_object_get(p, "kind")));
			add_point(c, label, (double)json_integer_value(json_object_get(p, "ws")),
				  counter(p, "ns_per_access"));
		}
	}
	json_array_foreach(hws, i, hw)
		if (!c->marks)
			c->marks = c->own = context_marks(json_object_get(hw, "context"));
	json_array_foreach(gbs, i, g)
		if (!c->marks)
			c->marks = c->own = context_marks(json_object_get(g, "context"));
	json_array_foreach(gbs, i, g)
		json_array_foreach(json_object_get(g, "benchmarks"), j, b) {
			const char *name = json_string_value(json_object_get(b, "name"));
			char kind[16], gp[8], hp[8], ws[16];
			int len = 0;

			if (!usable(b) || isnan(counter(b, "ns_per_access")))
				continue;
			if (sscanf(name, "hw/%15[a-z0-9]/%15[0-9KMG]%n", kind, ws, &len) == 2 &&
			    strcmp(kind, "penalty") && (!name[len] || name[len] == '/')) {
				snprintf(label, sizeof(label), "nestwalk-bench: %s", kind);
			} else if (sscanf(name, "model/chase/g%7[a-z0-9]/h%7[a-z0-9]/%15[0-9KMG]%n", gp,
					  hp, ws, &len) == 3 && (!name[len] || name[len] == '/')) {
				const char *cal = json_string_value(
					json_object_get(json_object_get(g, "context"), "model.calibration"));
				snprintf(label, sizeof(label), "model%s: guest %s over host %s",
					 cal && strncmp(cal, "none", 4) ? ", calibrated" : "", gp, hp);
			} else {
				continue;
			}
			add_point(c, label, size_of(ws, strlen(ws)), counter(b, "ns_per_access"));
		}
}

static void size_label(char *buf, size_t n, double bytes)
{
	if (bytes >= 1073741824.0)
		snprintf(buf, n, "%gG", bytes / 1073741824.0);
	else if (bytes >= 1048576.0)
		snprintf(buf, n, "%gM", bytes / 1048576.0);
	else
		snprintf(buf, n, "%gK", bytes / 1024.0);
}

static int chart_chase(const char *tmp, const struct curves *c)
{
	double lo = INFINITY, hi = 0;
	char *path, *script = NULL;
	size_t len = 0;
	FILE *f;

	for (int i = 0; i < c->n; i++) {
		if (asprintf(&path, "%s/hw_chase_%d.tsv", tmp, i) < 0)
			return -1;
		f = fopen(path, "w");
		free(path);
		if (!f)
			return -1;
		fprintf(f, "ws\tns\n");
		for (int k = 0; k < c->s[i].n; k++) {
			fprintf(f, "%.0f\t" NUM "\n", c->s[i].ws[k], c->s[i].ns[k]);
			lo = fmin(lo, c->s[i].ws[k]);
			hi = fmax(hi, c->s[i].ws[k]);
		}
		fclose(f);
	}
	f = open_memstream(&script, &len);
	if (!f)
		return -1;
	fprintf(f, "set terminal svg size 960,480 dynamic font 'sans,10'\nset output 'hw_chase.svg'\n"
		   "set datafile separator '\\t'\nset key bottom right noenhanced box opaque\nset grid\n"
		   "set logscale x 2\nset logscale y 10\n"
		   "set title 'Pointer chase on this machine: ns per access by working set' noenhanced\n"
		   "set xlabel 'working set (one random 64-byte line per 4 KiB page, random page order)'\n"
		   "set ylabel 'ns per access'\nset xrange [%g:%g]\nset xtics (", lo / 1.5, hi * 1.5);
	int first = 1;
	for (double x = 4096; x <= hi * 1.01; x *= 4) {
		char l[16];

		if (x < lo / 1.01)
			continue;
		size_label(l, sizeof(l), x);
		fprintf(f, "%s\"%s\" %.0f", first ? "" : ", ", l, x);
		first = 0;
	}
	fprintf(f, ")\n");
	size_t i;
	json_t *m;
	int k = 0;
	json_array_foreach(c->marks, i, m) {
		double x = (double)json_integer_value(json_object_get(m, "ws"));
		char l[128];

		if (x < lo || x > hi)
			continue;
		snprintf(l, sizeof(l), "%s", json_string_value(json_object_get(m, "label")));
		for (char *q = l; *q; q++)
			if (*q == '\'' || *q == '"')
				*q = ' ';
		fprintf(f, "set arrow from %.0f, graph 0 to %.0f, graph 1 nohead dt 2 lc rgb '#888888'\n",
			x, x);
		fprintf(f, "set label %d '%s' at %.0f, graph %.2f rotate by 90 right font ',8' "
			   "tc rgb '#555555' noenhanced\n", ++k, l, x * 1.06, 0.97);
	}
	fprintf(f, "plot ");
	for (int s = 0; s < c->n; s++)
		fprintf(f, "%s'hw_chase_%d.tsv' using 1:2 with linespoints pt 7 ps 0.5 title '%s'",
			s ? ", " : "", s, c->s[s].label);
	fprintf(f, "\n");
	fclose(f);
	int rc = cli_gnuplot(tmp, "hw_chase", script);
	free(script);
	return rc;
}

/* ---- Google Benchmark suites ---- */

/* The suites present, in order of first appearance ("walk", "tlb", ...). */
static int suites(json_t *results, char names[][32], int max)
{
	size_t i, j;
	json_t *g, *b;
	int n = 0;

	json_array_foreach(json_object_get(results, "gbench"), i, g)
		json_array_foreach(json_object_get(g, "benchmarks"), j, b) {
			const char *name = json_string_value(json_object_get(b, "name"));
			size_t len = strcspn(name, "/");
			char s[32];
			int k;

			snprintf(s, sizeof(s), "%.*s", (int)(len < 31 ? len : 31), name);
			for (k = 0; k < n; k++)
				if (!strcmp(names[k], s))
					break;
			if (k == n && n < max)
				snprintf(names[n++], 32, "%s", s);
		}
	return n;
}

static bool in_suite(json_t *b, const char *suite)
{
	const char *name = json_string_value(json_object_get(b, "name"));
	size_t len = strlen(suite);
	return !strncmp(name, suite, len) && (name[len] == '/' || !name[len]);
}

/* The figure a suite's chart shows: its headline counter, else real time. */
static const char *suite_metric(json_t *results, const char *suite)
{
	static const char *const prefer[] = {
		"ns_per_access", "walk_penalty_ns", "cycles_per_access", "cycles_per_walk",
		"refill_cycles", "memset_ratio", NULL,
	};
	size_t i, j;
	json_t *g, *b;

	for (int p = 0; prefer[p]; p++)
		json_array_foreach(json_object_get(results, "gbench"), i, g)
			json_array_foreach(json_object_get(g, "benchmarks"), j, b)
				if (in_suite(b, suite) && usable(b) && !isnan(counter(b, prefer[p])))
					return prefer[p];
	return "real_time";
}

/* Real time in ns, whatever the unit. */
static double real_ns(json_t *b)
{
	const char *u = json_string_value(json_object_get(b, "time_unit"));
	double t = counter(b, "real_time");

	if (!u)
		return t;
	return !strcmp(u, "us") ? t * 1e3 : !strcmp(u, "ms") ? t * 1e6 : !strcmp(u, "s") ? t * 1e9 : t;
}

static double metric_value(json_t *b, const char *metric)
{
	return strcmp(metric, "real_time") ? counter(b, metric) : real_ns(b);
}

static int chart_suite(const char *tmp, json_t *results, const char *suite)
{
	const char *metric = suite_metric(results, suite);
	char *path, *script, file[48];
	double lo = INFINITY, hi = 0;
	size_t i, j;
	json_t *g, *b;
	int n = 0;

	snprintf(file, sizeof(file), "gbench_%.31s", suite);
	if (asprintf(&path, "%s/%s.tsv", tmp, file) < 0)
		return -1;
	FILE *f = fopen(path, "w");
	free(path);
	if (!f)
		return -1;
	fprintf(f, "name\t%s\n", metric);
	json_array_foreach(json_object_get(results, "gbench"), i, g)
		json_array_foreach(json_object_get(g, "benchmarks"), j, b) {
			double v;

			if (!in_suite(b, suite) || !usable(b) || isnan(v = metric_value(b, metric)))
				continue;
			char name[160];
			snprintf(name, sizeof(name), "%s", json_string_value(json_object_get(b, "name")));
			for (char *q = name; *q; q++)
				if (*q == '\t' || *q == ' ' || *q == '"')
					*q = '_';
			fprintf(f, "%s\t" NUM "\n", name, v);
			if (v > 0)
				lo = fmin(lo, v);
			hi = fmax(hi, v);
			n++;
		}
	fclose(f);
	if (n == 0)
		return 1; /* nothing to draw */
	bool logy = lo > 0 && hi / lo > 100;
	if (asprintf(&script, "%sset terminal svg size 1100,460 dynamic font 'sans,10'\n"
		     "set output '%s.svg'\nset style histogram clustered gap 1\nset key off\n"
		     "set xtics rotate by -60 font 'sans,7'\n%s"
		     "set title 'nestwalk-bench %s: %s%s' noenhanced\n"
		     "plot '%s.tsv' using 2:xtic(1) title col\n",
		     cli_svg_head, file, logy ? "set logscale y 10\nset yrange [*:*]\n" : "", suite, metric,
		     strcmp(metric, "real_time") ? "" : " (ns)", file) < 0)
		return -1;
	int rc = cli_gnuplot(tmp, file, script);
	free(script);
	return rc;
}

/* ---- the sections ---- */

int cli_report_bench_charts(const char *tmp, json_t *results)
{
	struct curves c;
	char names[32][32];

	collect(results, &c);
	int bad = c.n && chart_chase(tmp, &c);
	json_decref(c.own);
	if (bad)
		return -1;
	int n = suites(results, names, 32);
	for (int k = 0; k < n; k++)
		if (chart_suite(tmp, results, names[k]) < 0)
			return -1;
	return 0;
}

/* The counters of a suite, in order of first appearance. */
static json_t *suite_counters(json_t *results, const char *suite)
{
	json_t *keys = json_array();
	size_t i, j, k;
	json_t *g, *b, *v, *have;
	const char *key;

	json_array_foreach(json_object_get(results, "gbench"), i, g)
		json_array_foreach(json_object_get(g, "benchmarks"), j, b) {
			if (!in_suite(b, suite))
				continue;
			json_object_foreach(b, key, v) {
				if (is_std_key(key))
					continue;
				bool seen = false;
				json_array_foreach(keys, k, have)
					seen |= !strcmp(json_string_value(have), key);
				if (!seen)
					json_array_append_new(keys, json_string(key));
			}
		}
	return keys;
}

static void hw_table(FILE *f, json_t *hw, int run, bool html)
{
	static const char *const kinds[] = { "4k", "thp", "2m", "1g" };
	json_t *points = json_object_get(hw, "points");
	size_t i, j;
	json_t *p, *q;

	bool has[4] = { false };
	json_array_foreach(points, i, p)
		for (int k = 0; k < 4; k++)
			has[k] |= !strcmp(json_string_value(json_object_get(p, "kind")), kinds[k]);
	if (html)
		fprintf(f, "<h3>Run %d: ns per access</h3>\n<table><tr><th>working set</th>", run);
	else
		fprintf(f, "\n### Run %d: ns per access\n\n| working set |", run);
	for (int k = 0; k < 4; k++)
		if (has[k])
			fprintf(f, html ? "<th>%s</th>" : " %s |", kinds[k]);
	fprintf(f, html ? "</tr>\n" : "\n|---:|");
	for (int k = 0; k < 4 && !html; k++)
		if (has[k])
			fprintf(f, "---:|");
	fprintf(f, html ? "" : "\n");
	json_array_foreach(points, i, p) {
		json_int_t ws = json_integer_value(json_object_get(p, "ws"));
		bool first = true;
		json_array_foreach(points, j, q)
			if (j < i && json_integer_value(json_object_get(q, "ws")) == ws)
				first = false;
		if (!first)
			continue;
		char l[16];
		size_label(l, sizeof(l), (double)ws);
		fprintf(f, html ? "<tr><td>%s</td>" : "| %s |", l);
		for (int k = 0; k < 4; k++) {
			json_t *hit = NULL;
			if (!has[k])
				continue;
			json_array_foreach(points, j, q)
				if (json_integer_value(json_object_get(q, "ws")) == ws &&
				    !strcmp(json_string_value(json_object_get(q, "kind")), kinds[k]))
					hit = q;
			if (hit && json_is_number(json_object_get(hit, "ns_per_access")))
				fprintf(f, html ? "<td class=\"n\">" NUM "</td>" : " " NUM " |",
					counter(hit, "ns_per_access"));
			else if (hit) {
				fprintf(f, html ? "<td>skipped: " : " skipped: ");
				put_text(f, json_string_value(json_object_get(hit, "reason")), html);
				fprintf(f, html ? "</td>" : " |");
			}
			else
				fprintf(f, html ? "<td></td>" : " |");
		}
		fprintf(f, html ? "</tr>\n" : "\n");
	}
	fprintf(f, html ? "</table>\n" : "");
	json_array_foreach(json_object_get(hw, "penalty"), i, p)
		fprintf(f, html ? "<p>walk penalty at %lld bytes, 4k - %s: " NUM " ns</p>\n"
				: "\nwalk penalty at %lld bytes, 4k - %s: " NUM " ns\n",
			(long long)json_integer_value(json_object_get(p, "ws")),
			json_string_value(json_object_get(p, "huge")), counter(p, "walk_penalty_ns"));
	const char *key;
	json_t *v;
	fprintf(f, html ? "<ul class=\"ctx\">\n" : "\n");
	json_object_foreach(json_object_get(hw, "context"), key, v) {
		fprintf(f, html ? "<li>%s: " : "- %s: ", key);
		put_text(f, json_string_value(v), html);
		fprintf(f, html ? "</li>\n" : "\n");
	}
	fprintf(f, html ? "</ul>\n" : "");
}

static void gbench_table(FILE *f, json_t *results, const char *suite, bool html)
{
	json_t *keys = suite_counters(results, suite);
	size_t i, j, k;
	json_t *g, *b, *key;

	if (html)
		fprintf(f, "<div class=\"wide\"><table><tr><th>benchmark</th><th>real time</th>"
			   "<th>CPU time</th><th>unit</th><th>iterations</th>");
	else
		fprintf(f, "\n| benchmark | real time | CPU time | unit | iterations |");
	json_array_foreach(keys, k, key)
		fprintf(f, html ? "<th>%s</th>" : " %s |", json_string_value(key));
	fprintf(f, html ? "<th>label</th></tr>\n" : " label |\n|---|---:|---:|---|---:|");
	if (!html) {
		json_array_foreach(keys, k, key)
			fprintf(f, "---:|");
		fprintf(f, "---|\n");
	}
	json_array_foreach(json_object_get(results, "gbench"), i, g)
		json_array_foreach(json_object_get(g, "benchmarks"), j, b) {
			if (!in_suite(b, suite))
				continue;
			const char *name = json_string_value(json_object_get(b, "name"));
			if (json_is_true(json_object_get(b, "error_occurred"))) {
				if (html)
					fprintf(f, "<tr><td>%s</td><td colspan=\"%zu\">skipped: ", name,
						json_array_size(keys) + 5);
				else
					fprintf(f, "| %s | skipped: ", name);
				put_text(f, json_string_value(json_object_get(b, "error_message")), html);
				fprintf(f, html ? "</td></tr>\n" : " |\n");
				continue;
			}
			if (html)
				fprintf(f, "<tr><td>%s</td><td class=\"n\">" NUM "</td><td class=\"n\">" NUM
					   "</td><td>%s</td><td class=\"n\">%lld</td>",
					name, counter(b, "real_time"), counter(b, "cpu_time"),
					json_string_value(json_object_get(b, "time_unit")),
					(long long)json_integer_value(json_object_get(b, "iterations")));
			else
				fprintf(f, "| %s | " NUM " | " NUM " | %s | %lld |", name,
					counter(b, "real_time"), counter(b, "cpu_time"),
					json_string_value(json_object_get(b, "time_unit")),
					(long long)json_integer_value(json_object_get(b, "iterations")));
			json_array_foreach(keys, k, key) {
				double v = counter(b, json_string_value(key));
				if (isnan(v))
					fprintf(f, html ? "<td></td>" : " |");
				else
					fprintf(f, html ? "<td class=\"n\">" NUM "</td>" : " " NUM " |", v);
			}
			fprintf(f, html ? "<td>" : " ");
			put_text(f, json_string_value(json_object_get(b, "label")), html);
			fprintf(f, html ? "</td></tr>\n" : " |\n");
		}
	fprintf(f, html ? "</table></div>\n" : "");
	json_decref(keys);
}

/* The measured walk penalty at ws (4k minus 2m, else minus thp) of one hw
 * run, with the kind it used; NAN when the run has neither. */
static double hw_penalty(json_t *hw, double ws, const char **kind)
{
	static const char *const prefer[] = { "2m", "thp" };
	size_t i;
	json_t *p;

	for (int k = 0; k < 2; k++)
		json_array_foreach(json_object_get(hw, "penalty"), i, p)
			if ((double)json_integer_value(json_object_get(p, "ws")) == ws &&
			    !strcmp(json_string_value(json_object_get(p, "huge")), prefer[k])) {
				*kind = prefer[k];
				return counter(p, "walk_penalty_ns");
			}
	return NAN;
}

/*
 * Model against machine: each model/penalty/h<host>/<ws> of the Google
 * Benchmark files beside the penalty each hw run measured at the same
 * working set.
 */
static void penalty_table(FILE *f, json_t *results, bool html)
{
	size_t i, j, k;
	json_t *g, *b, *hw;
	bool any = false;

	json_array_foreach(json_object_get(results, "gbench"), i, g)
		json_array_foreach(json_object_get(g, "benchmarks"), j, b) {
			const char *name = json_string_value(json_object_get(b, "name"));
			char host[8], ws[16];
			int len = 0;

			if (!usable(b) || isnan(counter(b, "walk_penalty_ns")) ||
			    sscanf(name, "model/penalty/h%7[a-z0-9]/%15[0-9KMG]%n", host, ws, &len) != 2 ||
			    (name[len] && name[len] != '/'))
				continue;
			double bytes = size_of(ws, strlen(ws));
			json_array_foreach(json_object_get(results, "hw"), k, hw) {
				const char *kind = NULL;
				double m = hw_penalty(hw, bytes, &kind), pred = counter(b, "walk_penalty_ns");

				if (isnan(m))
					continue;
				const char *cal = json_string_value(
					json_object_get(json_object_get(g, "context"), "model.calibration"));
				if (!any)
					fprintf(f, html ? "<h3>Walk penalty: modelled against measured</h3>\n<table>"
							  "<tr><th>working set</th><th>model: guest 4k - guest 2m</th>"
							  "<th>calibration</th><th>modelled</th><th>hw run</th>"
							  "<th>measured</th><th>model / measured</th></tr>\n"
							: "\n### Walk penalty: modelled against measured\n\n| working set | "
							  "model: guest 4k - guest 2m | calibration | modelled | hw run | "
							  "measured | model / measured |\n|---:|---|---|---:|---:|---:|---:|\n");
				any = true;
				fprintf(f, html ? "<tr><td>%s</td><td>over host %s</td><td>" : "| %s | over host %s | ",
					ws, host);
				put_text(f, cal ? cal : "unknown", html);
				fprintf(f, html ? "</td><td class=\"n\">" NUM " ns</td><td>%zu</td>"
						  "<td class=\"n\">" NUM " ns (4k - %s)</td><td class=\"n\">" NUM
						  "</td></tr>\n"
						: " | " NUM " ns | %zu | " NUM " ns (4k - %s) | " NUM " |\n",
					pred, k + 1, m, kind, m != 0 ? pred / m : NAN);
			}
		}
	if (any && html)
		fprintf(f, "</table>\n");
}

static void sections(FILE *f, json_t *results, const char *tmp, bool html)
{
	struct curves c;
	char names[32][32];
	size_t i;
	json_t *hw;

	collect(results, &c);
	json_decref(c.own);
	if (c.n || json_array_size(json_object_get(results, "hw"))) {
		fprintf(f, html ? "<h2>Real hardware: the pointer chase</h2>\n"
				: "\n## Real hardware: the pointer chase\n\n");
		fprintf(f, html ? "<p>%s</p>\n" : "%s\n",
			"Measured on this machine: a dependent pointer chase through a random order of "
			"4 KiB pages, one random 64-byte line in each, best of the samples. "
			"The dashed marks are the TLB reach (CPUID entries x 4 KiB) and 64 x each "
			"cache size (the chase touches one line per 4 KiB).");
		if (html && c.n) {
			fprintf(f, "<figure class=\"chart\" id=\"hw_chase\">\n");
			cli_inline_svg(f, tmp, "hw_chase");
			fprintf(f, "</figure>\n");
		}
		penalty_table(f, results, html);
		json_array_foreach(json_object_get(results, "hw"), i, hw)
			hw_table(f, hw, (int)i + 1, html);
	}
	int n = suites(results, names, 32);
	for (int k = 0; k < n; k++) {
		fprintf(f, html ? "<h2>nestwalk-bench: %s</h2>\n" : "\n## nestwalk-bench: %s\n", names[k]);
		if (html) {
			char file[48];
			snprintf(file, sizeof(file), "gbench_%.31s", names[k]);
			fprintf(f, "<figure class=\"chart\" id=\"%s\">\n", file);
			if (cli_inline_svg(f, tmp, file))
				fprintf(f, "<p>(no figure to draw)</p>\n");
			fprintf(f, "</figure>\n");
		}
		gbench_table(f, results, names[k], html);
	}
}

void cli_report_bench_html(FILE *f, json_t *results, const char *tmp)
{
	sections(f, results, tmp, true);
}

void cli_report_bench_md(FILE *f, json_t *results)
{
	sections(f, results, NULL, false);
}

int cli_report_bench_csv(const char *dir, json_t *results, char *err, size_t n)
{
	size_t i, j;
	json_t *hw, *p, *g, *b;
	FILE *f;

	if (json_array_size(json_object_get(results, "hw"))) {
		if (!(f = cli_open_out(dir, "hw_points.csv", err, n)))
			return -EIO;
		fprintf(f, "run,kind,ws,status,ns_per_access,cycles_per_access,reason\n");
		json_array_foreach(json_object_get(results, "hw"), i, hw)
			json_array_foreach(json_object_get(hw, "points"), j, p) {
				fprintf(f, "%zu,%s,%lld,%s,", i + 1,
					json_string_value(json_object_get(p, "kind")),
					(long long)json_integer_value(json_object_get(p, "ws")),
					json_string_value(json_object_get(p, "status")));
				if (!isnan(counter(p, "ns_per_access")))
					fprintf(f, NUM, counter(p, "ns_per_access"));
				fputc(',', f);
				if (!isnan(counter(p, "cycles_per_access")))
					fprintf(f, NUM, counter(p, "cycles_per_access"));
				const char *r = json_string_value(json_object_get(p, "reason"));
				fprintf(f, ",\"%s\"\n", r ? r : "");
			}
		if (fclose(f))
			return -EIO;
	}
	if (json_array_size(json_object_get(results, "gbench"))) {
		if (!(f = cli_open_out(dir, "benchmarks.csv", err, n)))
			return -EIO;
		/* Long form: one row per benchmark and figure. */
		fprintf(f, "file,name,figure,value\n");
		json_array_foreach(json_object_get(results, "gbench"), i, g)
			json_array_foreach(json_object_get(g, "benchmarks"), j, b) {
				const char *key;
				json_t *v;

				if (!usable(b))
					continue;
				json_object_foreach(b, key, v)
					if (json_is_number(v) && (!is_std_key(key) || !strcmp(key, "real_time") ||
								  !strcmp(key, "cpu_time") ||
								  !strcmp(key, "iterations")))
						fprintf(f, "%zu,\"%s\",%s," NUM "\n", i + 1,
							json_string_value(json_object_get(b, "name")), key,
							json_number_value(v));
			}
		if (fclose(f))
			return -EIO;
	}
	return 0;
}
