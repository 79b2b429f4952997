/* SPDX-License-Identifier: MIT */
/*
 * The comparison report: results.json rendered as report.md, CSV files and a
 * self-contained report.html whose charts gnuplot draws as SVG. And
 * `nestwalk report FILES... --out DIR`, which merges saved results.json
 * files (the shards of one matrix) and renders them.
 */

#define _GNU_SOURCE /* getopt_long, asprintf */
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

int cli_report_render(json_t *results, const char *dir, char *err, size_t errlen)
{
	if (!cli_runnable("gnuplot")) {
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
	if ((cells && (rc = cli_report_write_csv(dir, cells, err, errlen)) < 0) ||
	    (rc = cli_report_bench_csv(dir, results, err, errlen)) < 0 ||
	    (rc = cli_report_write_md(dir, results, err, errlen)) < 0 ||
	    (rc = cli_report_write_html(dir, results, err, errlen)) < 0)
		return rc;
	return 0;
}

int cli_report_publish(json_t *results, const char *dir, const char *cmd)
{
	char err[512];

	if (cli_report_render(results, dir, err, sizeof(err)) < 0)
		return cli_fail(cmd, "%s", err);
	printf("report: %s/report.html\n", dir);
	return CLI_OK;
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
		if (cli_cell_ok(c) && !json_is_object(json_object_get(c, "figures")))
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
		default:
			return cli_bad_option(CMD, opt, argv);
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
		rc = cli_report_publish(merged, out, CMD);
	}
	json_decref(all);
	json_decref(hws);
	json_decref(gbs);
	json_decref(merged);
	return rc;
}
