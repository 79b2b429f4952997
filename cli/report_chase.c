/* SPDX-License-Identifier: MIT */
/*
 * The report's chase curves: ns per access against working set, a line per
 * page kind of each `nestwalk hw` run and per hw or model chase entry of the
 * Google Benchmark files, log x, with the TLB-reach and cache marks.
 */

#define _GNU_SOURCE /* asprintf, open_memstream */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "report.h"

#define MAX_SERIES 24
#define MAX_POINTS 64

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

/* The "hw.mark.*" entries of a context as marks; NULL when there are none. */
static json_t *context_marks(json_t *context)
{
	json_t *marks = cli_hw_marks(context);

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
				  cli_number(p, "ns_per_access"));
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

			if (!cli_gbench_usable(b) || isnan(cli_number(b, "ns_per_access")))
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
			add_point(c, label, cli_size_of(ws, strlen(ws)), cli_number(b, "ns_per_access"));
		}
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
			fprintf(f, "%.0f\t" CLI_NUM "\n", c->s[i].ws[k], c->s[i].ns[k]);
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
		cli_size_label(l, sizeof(l), x);
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

/* Draw the chase curves into tmp/hw_chase.svg, when there are any: 0 or -1. */
int cli_chase_chart(const char *tmp, json_t *results)
{
	struct curves c;

	collect(results, &c);
	int bad = c.n && chart_chase(tmp, &c);
	json_decref(c.own);
	return bad ? -1 : 0;
}

int cli_chase_lines(json_t *results)
{
	struct curves c;

	collect(results, &c);
	json_decref(c.own);
	return c.n;
}
