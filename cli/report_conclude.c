/* SPDX-License-Identifier: MIT */
/*
 * The report's conclusions: a paragraph per workload, pages and CPU saying
 * which virtualized mode wins and what its translation cost is made of.
 */

#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "report.h"

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
		double v = cli_cell_figure(c, name);
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
	double sd = cli_cell_slowdown(cells, c);

	fprintf(f, "%.3g cycles per access", cli_cell_figure(c, "cycles.per_access"));
	if (sd > 0)
		fprintf(f, " (%+.1f%% against native)", 100 * (sd - 1));
	if (dom && dom_v > 0)
		fprintf(f, "; translation costs it %.3g, most of that in %s (%.3g, %.0f%%)", t,
			part_words(dom), dom_v, 100 * dom_v / t);
	else
		fprintf(f, "; translation costs it nothing measurable");
	if (cli_cell_figure(c, "exits.per_1k") > 0)
		fprintf(f, ", with %.3g VM exits per 1,000 accesses", cli_cell_figure(c, "exits.per_1k"));
}

/*
 * One paragraph per workload, pages and CPU: which virtualized mode wins,
 * by how much against native, and what its translation cost is made of;
 * then the same of the slowest mode. Where every mode is within 0.5% of
 * native, it says so instead: nothing there to choose between.
 */
void cli_report_conclusions(FILE *f, json_t *cells, bool html)
{
	size_t i, j;
	json_t *c, *d;
	json_array_foreach(cells, i, c) {
		if (!cli_cell_opens_group(cells, i))
			continue; /* the first ok cell of its group writes it */
		json_t *best = NULL, *worst = NULL, *native = cli_cell_native(cells, c);
		json_array_foreach(cells, j, d) {
			if (!cli_cell_ok(d) || !cli_cell_same_group(c, d) || d == native)
				continue;
			double v = cli_cell_figure(d, "cycles.per_access");
			if (!best || v < cli_cell_figure(best, "cycles.per_access"))
				best = d;
			if (!worst || v > cli_cell_figure(worst, "cycles.per_access"))
				worst = d;
		}
		fprintf(f, html ? "<p><b>%s, %s pages, %s CPU:</b> " : "- **%s, %s pages, %s CPU:** ",
			cli_cell_field(c, "workload"), cli_cell_field(c, "pages"), cli_cell_field(c, "cpu"));
		if (native)
			fprintf(f, "native runs at %.3g modelled cycles per access. ",
				cli_cell_figure(native, "cycles.per_access"));
		if (!best) {
			fprintf(f, "No virtualized mode ran.");
		} else if (native && cli_cell_slowdown(cells, worst) < 1.005) {
			fprintf(f, "Every virtualized mode is within 0.5%% of native (the slowest, %s, "
				   "at %+.2f%%): translation hardly costs anything here.",
				cli_cell_field(worst, "mode"), 100 * (cli_cell_slowdown(cells, worst) - 1));
		} else {
			fprintf(f, "%s wins at ", cli_cell_field(best, "mode"));
			describe(f, cells, best);
			fprintf(f, ".");
			if (worst != best) {
				fprintf(f, " %s is slowest at ", cli_cell_field(worst, "mode"));
				describe(f, cells, worst);
				fprintf(f, ".");
			}
		}
		fprintf(f, html ? "</p>\n" : "\n");
	}
}
