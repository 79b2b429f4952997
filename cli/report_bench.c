/* SPDX-License-Identifier: MIT */
/*
 * The report's benchmark sections: `nestwalk hw` results (the real-hardware
 * chase curves: ns per access against working set, a line per page kind, log
 * x, with the TLB-reach and cache marks) and Google Benchmark JSON written by
 * nestwalk-bench (a table and a chart per suite; the hw and model chase
 * entries join the curves). report.c calls these when the merged results
 * carry "hw" or "gbench" arrays; report_hw.c, report_gbench.c and
 * report_chase.c draw the parts.
 */

#define _GNU_SOURCE /* asprintf */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "report.h"

/* s as HTML text (or as it is, for Markdown). */
void cli_put_text(FILE *f, const char *s, bool html)
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

/* "16K", "1M", "4G" (as in benchmark names) in bytes; 0 if not a size. */
double cli_size_of(const char *s, size_t len)
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

/* A number of a JSON object by key; NAN when absent. */
double cli_number(json_t *b, const char *name)
{
	json_t *v = json_object_get(b, name);
	return json_is_number(v) ? json_number_value(v) : NAN;
}

/* Bytes as "16K", "2M", "1G". */
void cli_size_label(char *buf, size_t n, double bytes)
{
	if (bytes >= 1073741824.0)
		snprintf(buf, n, "%gG", bytes / 1073741824.0);
	else if (bytes >= 1048576.0)
		snprintf(buf, n, "%gM", bytes / 1048576.0);
	else
		snprintf(buf, n, "%gK", bytes / 1024.0);
}

/* ---- the sections ---- */

int cli_report_bench_charts(const char *tmp, json_t *results)
{
	char names[32][32];

	if (cli_chase_chart(tmp, results))
		return -1;
	int n = cli_gbench_suites(results, names, 32);
	for (int k = 0; k < n; k++)
		if (cli_gbench_chart(tmp, results, names[k]) < 0)
			return -1;
	return 0;
}

static void sections(FILE *f, json_t *results, const char *tmp, bool html)
{
	char names[32][32];
	size_t i;
	json_t *hw;
	int lines = cli_chase_lines(results);

	if (lines || json_array_size(json_object_get(results, "hw"))) {
		fprintf(f, html ? "<h2>Real hardware: the pointer chase</h2>\n"
				: "\n## Real hardware: the pointer chase\n\n");
		fprintf(f, html ? "<p>%s</p>\n" : "%s\n",
			"Measured on this machine: a dependent pointer chase through a random order of "
			"4 KiB pages, one random 64-byte line in each, best of the samples. "
			"The dashed marks are the TLB reach (CPUID entries x 4 KiB) and 64 x each "
			"cache size (the chase touches one line per 4 KiB).");
		if (html && lines) {
			fprintf(f, "<figure class=\"chart\" id=\"hw_chase\">\n");
			cli_inline_svg(f, tmp, "hw_chase");
			fprintf(f, "</figure>\n");
		}
		cli_penalty_table(f, results, html);
		json_array_foreach(json_object_get(results, "hw"), i, hw)
			cli_hw_table(f, hw, (int)i + 1, html);
	}
	int n = cli_gbench_suites(results, names, 32);
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
		cli_gbench_table(f, results, names[k], html);
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
				if (!isnan(cli_number(p, "ns_per_access")))
					fprintf(f, CLI_NUM, cli_number(p, "ns_per_access"));
				fputc(',', f);
				if (!isnan(cli_number(p, "cycles_per_access")))
					fprintf(f, CLI_NUM, cli_number(p, "cycles_per_access"));
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

				if (!cli_gbench_usable(b))
					continue;
				json_object_foreach(b, key, v)
					if (json_is_number(v) &&
					    (!cli_gbench_std_key(key) || !strcmp(key, "real_time") ||
					     !strcmp(key, "cpu_time") || !strcmp(key, "iterations")))
						fprintf(f, "%zu,\"%s\",%s," CLI_NUM "\n", i + 1,
							json_string_value(json_object_get(b, "name")), key,
							json_number_value(v));
			}
		if (fclose(f))
			return -EIO;
	}
	return 0;
}
