/* SPDX-License-Identifier: MIT */
/*
 * Reading results.json cells, and the table of figures every output of the
 * comparison shares (report.md, cells.csv, report.html and its charts).
 */

#include <string.h>

#include "cli.h"
#include "report.h"

double cli_cell_figure(json_t *cell, const char *name)
{
	json_t *v = json_object_get(json_object_get(cell, "figures"), name);
	return json_is_number(v) ? json_number_value(v) : 0;
}

const char *cli_cell_field(json_t *cell, const char *name)
{
	const char *s = json_string_value(json_object_get(cell, name));
	return s ? s : "";
}

bool cli_cell_ok(json_t *cell)
{
	return !strcmp(cli_cell_field(cell, "status"), "ok");
}

/* The native cell of the same workload, pages and CPU, or NULL. */
json_t *cli_cell_native(json_t *cells, json_t *cell)
{
	size_t i;
	json_t *c;
	json_array_foreach(cells, i, c)
		if (cli_cell_ok(c) && !strcmp(cli_cell_field(c, "mode"), "native") &&
		    !strcmp(cli_cell_field(c, "workload"), cli_cell_field(cell, "workload")) &&
		    !strcmp(cli_cell_field(c, "pages"), cli_cell_field(cell, "pages")) &&
		    !strcmp(cli_cell_field(c, "cpu"), cli_cell_field(cell, "cpu")))
			return c;
	return NULL;
}

/* Slowdown against native in modelled cycles per access; 0 when unknown. */
double cli_cell_slowdown(json_t *cells, json_t *cell)
{
	json_t *n = cli_cell_native(cells, cell);
	double base = n ? cli_cell_figure(n, "cycles.per_access") : 0;
	return base > 0 ? cli_cell_figure(cell, "cycles.per_access") / base : 0;
}

/* Its length is checked against CLI_NCOLUMNS by the declaration in report.h. */
const struct cli_column cli_columns[] = {
	{ "cycles/access", "cycles.per_access", NULL },
	{ "refs/walk", "walk.refs_per_walk", "refs_per_walk" },
	{ "TLB miss rate", "tlb.miss_rate", "tlb_miss_rate" },
	{ "exits/1k", "exits.per_1k", "exits_per_1k" },
	{ "slowdown vs native", NULL, "slowdown" },
};

double cli_column_value(json_t *cells, json_t *cell, const struct cli_column *col)
{
	return col->figure ? cli_cell_figure(cell, col->figure) : cli_cell_slowdown(cells, cell);
}

bool cli_cell_same_group(json_t *a, json_t *b)
{
	return !strcmp(cli_cell_field(a, "workload"), cli_cell_field(b, "workload")) &&
	       !strcmp(cli_cell_field(a, "pages"), cli_cell_field(b, "pages")) &&
	       !strcmp(cli_cell_field(a, "cpu"), cli_cell_field(b, "cpu"));
}

bool cli_cell_opens_group(json_t *cells, size_t i)
{
	json_t *c = json_array_get(cells, i), *d;
	size_t j;

	if (!cli_cell_ok(c))
		return false;
	json_array_foreach(cells, j, d) {
		if (j >= i)
			break;
		if (cli_cell_ok(d) && cli_cell_same_group(c, d))
			return false;
	}
	return true;
}
