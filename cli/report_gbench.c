/* SPDX-License-Identifier: MIT */
/*
 * The report's Google Benchmark sections (JSON written by nestwalk-bench):
 * a table and a chart per suite, a suite being the first part of a
 * benchmark's name ("walk", "tlb", ...).
 */

#define _GNU_SOURCE /* asprintf */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "report.h"

static const char *const std_keys[] = {
	"name", "family_index", "per_family_instance_index", "run_name", "run_type", "repetitions",
	"repetition_index", "threads", "iterations", "real_time", "cpu_time", "time_unit", "label",
	"error_occurred", "error_message", "aggregate_name", "aggregate_unit", NULL,
};

bool cli_gbench_std_key(const char *k)
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
			if (!cli_gbench_std_key(k) && !json_is_number(v))
				return "a benchmark counter is not a number";
	}
	return NULL;
}

/* Benchmark rows worth showing: plain runs that did not fail. */
bool cli_gbench_usable(json_t *b)
{
	const char *rt = json_string_value(json_object_get(b, "run_type"));
	return !json_is_true(json_object_get(b, "error_occurred")) && (!rt || !strcmp(rt, "iteration"));
}

/* The suites present, in order of first appearance ("walk", "tlb", ...). */
int cli_gbench_suites(json_t *results, char names[][32], int max)
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

bool cli_gbench_in_suite(json_t *b, const char *suite)
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
				if (cli_gbench_in_suite(b, suite) && cli_gbench_usable(b) &&
				    !isnan(cli_number(b, prefer[p])))
					return prefer[p];
	return "real_time";
}

/* Real time in ns, whatever the unit. */
static double real_ns(json_t *b)
{
	const char *u = json_string_value(json_object_get(b, "time_unit"));
	double t = cli_number(b, "real_time");

	if (!u)
		return t;
	return !strcmp(u, "us") ? t * 1e3 : !strcmp(u, "ms") ? t * 1e6 : !strcmp(u, "s") ? t * 1e9 : t;
}

static double metric_value(json_t *b, const char *metric)
{
	return strcmp(metric, "real_time") ? cli_number(b, metric) : real_ns(b);
}

int cli_gbench_chart(const char *tmp, json_t *results, const char *suite)
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

			if (!cli_gbench_in_suite(b, suite) || !cli_gbench_usable(b) ||
			    isnan(v = metric_value(b, metric)))
				continue;
			char name[160];
			snprintf(name, sizeof(name), "%s", json_string_value(json_object_get(b, "name")));
			for (char *q = name; *q; q++)
				if (*q == '\t' || *q == ' ' || *q == '"')
					*q = '_';
			fprintf(f, "%s\t" CLI_NUM "\n", name, v);
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

/* The counters of a suite, in order of first appearance. */
static json_t *suite_counters(json_t *results, const char *suite)
{
	json_t *keys = json_array();
	size_t i, j, k;
	json_t *g, *b, *v, *have;
	const char *key;

	json_array_foreach(json_object_get(results, "gbench"), i, g)
		json_array_foreach(json_object_get(g, "benchmarks"), j, b) {
			if (!cli_gbench_in_suite(b, suite))
				continue;
			json_object_foreach(b, key, v) {
				if (cli_gbench_std_key(key))
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

void cli_gbench_table(FILE *f, json_t *results, const char *suite, bool html)
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
			if (!cli_gbench_in_suite(b, suite))
				continue;
			const char *name = json_string_value(json_object_get(b, "name"));
			if (json_is_true(json_object_get(b, "error_occurred"))) {
				if (html)
					fprintf(f, "<tr><td>%s</td><td colspan=\"%zu\">skipped: ", name,
						json_array_size(keys) + 5);
				else
					fprintf(f, "| %s | skipped: ", name);
				cli_put_text(f, json_string_value(json_object_get(b, "error_message")), html);
				fprintf(f, html ? "</td></tr>\n" : " |\n");
				continue;
			}
			if (html)
				fprintf(f, "<tr><td>%s</td><td class=\"n\">" CLI_NUM "</td><td class=\"n\">" CLI_NUM
					   "</td><td>%s</td><td class=\"n\">%lld</td>",
					name, cli_number(b, "real_time"), cli_number(b, "cpu_time"),
					json_string_value(json_object_get(b, "time_unit")),
					(long long)json_integer_value(json_object_get(b, "iterations")));
			else
				fprintf(f, "| %s | " CLI_NUM " | " CLI_NUM " | %s | %lld |", name,
					cli_number(b, "real_time"), cli_number(b, "cpu_time"),
					json_string_value(json_object_get(b, "time_unit")),
					(long long)json_integer_value(json_object_get(b, "iterations")));
			json_array_foreach(keys, k, key) {
				double v = cli_number(b, json_string_value(key));
				if (isnan(v))
					fprintf(f, html ? "<td></td>" : " |");
				else
					fprintf(f, html ? "<td class=\"n\">" CLI_NUM "</td>" : " " CLI_NUM " |", v);
			}
			fprintf(f, html ? "<td>" : " ");
			cli_put_text(f, json_string_value(json_object_get(b, "label")), html);
			fprintf(f, html ? "</td></tr>\n" : " |\n");
		}
	fprintf(f, html ? "</table></div>\n" : "");
	json_decref(keys);
}
