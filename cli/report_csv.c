/* SPDX-License-Identifier: MIT */
/* cells.csv: one row per cell of the comparison, every figure by its stable name. */

#include <errno.h>
#include <stdio.h>

#include "cli.h"
#include "report.h"

/* Further figures cells.csv carries, empty where a mode has none. */
static const char *const csv_figures[] = {
	"exits.nested_fault.per_1k", "exits.cr3_write.per_1k", "exits.invlpg.per_1k",
	"exits.pf.per_1k", "exits.ipi.per_1k", "shadow.emulated_writes.per_1k",
	"shadow.syncs.per_1k", "shadow.unsyncs.per_1k", "shadow.zaps.per_1k",
	"shadow.unshadowed.per_1k", "shadow.root_hit_rate", "shadow.pages",
	"guest.pt_stores.per_1k", NULL,
};

int cli_report_write_csv(const char *dir, json_t *cells, char *err, size_t n)
{
	FILE *f = cli_open_out(dir, "cells.csv", err, n);
	if (!f)
		return -EIO;
	fprintf(f, "index,mode,workload,pages,cpu,status,reason");
	for (size_t k = 0; k < CLI_NCOLUMNS; k++)
		fprintf(f, ",%s", cli_columns[k].figure ? cli_columns[k].figure : "slowdown");
	for (int p = 0; cli_cycle_parts[p]; p++)
		fprintf(f, ",%s.per_access", cli_cycle_parts[p]);
	for (int p = 0; csv_figures[p]; p++)
		fprintf(f, ",%s", csv_figures[p]);
	fputc('\n', f);
	size_t i;
	json_t *c;
	json_array_foreach(cells, i, c) {
		fprintf(f, "%lld,%s,\"%s\",%s,%s,%s,\"%s\"",
			(long long)json_integer_value(json_object_get(c, "index")), cli_cell_field(c, "mode"),
			cli_cell_field(c, "workload"), cli_cell_field(c, "pages"), cli_cell_field(c, "cpu"),
			cli_cell_field(c, "status"), cli_cell_field(c, "reason"));
		for (size_t k = 0; k < CLI_NCOLUMNS; k++)
			if (cli_cell_ok(c))
				fprintf(f, "," CLI_NUM, cli_column_value(cells, c, &cli_columns[k]));
			else
				fputc(',', f);
		for (int p = 0; cli_cycle_parts[p]; p++) {
			char name[64];
			snprintf(name, sizeof(name), "%s.per_access", cli_cycle_parts[p]);
			if (cli_cell_ok(c))
				fprintf(f, "," CLI_NUM, cli_cell_figure(c, name));
			else
				fputc(',', f);
		}
		for (int p = 0; csv_figures[p]; p++) {
			json_t *v = json_object_get(json_object_get(c, "figures"), csv_figures[p]);
			if (json_is_number(v))
				fprintf(f, "," CLI_NUM, json_number_value(v));
			else
				fputc(',', f);
		}
		fputc('\n', f);
	}
	int bad = fclose(f);
	return bad ? -EIO : 0;
}
