/* SPDX-License-Identifier: MIT */
/*
 * The report's `nestwalk hw` sections: each run's ns per access by working
 * set and page kind, its walk penalties and context, and the modelled walk
 * penalty beside the measured one.
 */

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "report.h"

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

void cli_hw_table(FILE *f, json_t *hw, int run, bool html)
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
		cli_size_label(l, sizeof(l), (double)ws);
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
				fprintf(f, html ? "<td class=\"n\">" CLI_NUM "</td>" : " " CLI_NUM " |",
					cli_number(hit, "ns_per_access"));
			else if (hit) {
				fprintf(f, html ? "<td>skipped: " : " skipped: ");
				cli_put_text(f, json_string_value(json_object_get(hit, "reason")), html);
				fprintf(f, html ? "</td>" : " |");
			}
			else
				fprintf(f, html ? "<td></td>" : " |");
		}
		fprintf(f, html ? "</tr>\n" : "\n");
	}
	fprintf(f, html ? "</table>\n" : "");
	json_array_foreach(json_object_get(hw, "penalty"), i, p)
		fprintf(f, html ? "<p>walk penalty at %lld bytes, 4k - %s: " CLI_NUM " ns</p>\n"
				: "\nwalk penalty at %lld bytes, 4k - %s: " CLI_NUM " ns\n",
			(long long)json_integer_value(json_object_get(p, "ws")),
			json_string_value(json_object_get(p, "huge")), cli_number(p, "walk_penalty_ns"));
	const char *key;
	json_t *v;
	fprintf(f, html ? "<ul class=\"ctx\">\n" : "\n");
	json_object_foreach(json_object_get(hw, "context"), key, v) {
		fprintf(f, html ? "<li>%s: " : "- %s: ", key);
		cli_put_text(f, json_string_value(v), html);
		fprintf(f, html ? "</li>\n" : "\n");
	}
	fprintf(f, html ? "</ul>\n" : "");
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
				return cli_number(p, "walk_penalty_ns");
			}
	return NAN;
}

/*
 * Model against machine: each model/penalty/h<host>/<ws> of the Google
 * Benchmark files beside the penalty each hw run measured at the same
 * working set.
 */
void cli_penalty_table(FILE *f, json_t *results, bool html)
{
	size_t i, j, k;
	json_t *g, *b, *hw;
	bool any = false;

	json_array_foreach(json_object_get(results, "gbench"), i, g)
		json_array_foreach(json_object_get(g, "benchmarks"), j, b) {
			const char *name = json_string_value(json_object_get(b, "name"));
			char host[8], ws[16];
			int len = 0;

			if (!cli_gbench_usable(b) || isnan(cli_number(b, "walk_penalty_ns")) ||
			    sscanf(name, "model/penalty/h%7[a-z0-9]/%15[0-9KMG]%n", host, ws, &len) != 2 ||
			    (name[len] && name[len] != '/'))
				continue;
			double bytes = cli_size_of(ws, strlen(ws));
			json_array_foreach(json_object_get(results, "hw"), k, hw) {
				const char *kind = NULL;
				double m = hw_penalty(hw, bytes, &kind), pred = cli_number(b, "walk_penalty_ns");

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
				cli_put_text(f, cal ? cal : "unknown", html);
				fprintf(f, html ? "</td><td class=\"n\">" CLI_NUM " ns</td><td>%zu</td>"
						  "<td class=\"n\">" CLI_NUM " ns (4k - %s)</td><td class=\"n\">" CLI_NUM
						  "</td></tr>\n"
						: " | " CLI_NUM " ns | %zu | " CLI_NUM " ns (4k - %s) | " CLI_NUM " |\n",
					pred, k + 1, m, kind, m != 0 ? pred / m : NAN);
			}
		}
	if (any && html)
		fprintf(f, "</table>\n");
}
