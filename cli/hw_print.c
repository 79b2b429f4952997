/* SPDX-License-Identifier: MIT */
/*
 * nestwalk hw's output on stdout: the context, ns per access by working set
 * and kind with the penalties, and the calibrations.
 */

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "hw_sweep.h"

void cli_hw_print_table(json_t *hw, const struct hw_opts *o)
{
	json_t *ctx = json_object_get(hw, "context"), *points = json_object_get(hw, "points");
	const char *keys[] = { "hw.cpu", "hw.hypervisor", "hw.pinned", "hw.core_ghz", "hw.cache.l1d",
			       "hw.cache.l2", "hw.cache.l3" };
	size_t i;
	json_t *p;
	const char *k;
	json_t *v;

	for (size_t j = 0; j < sizeof(keys) / sizeof(keys[0]); j++)
		if (json_string_value(json_object_get(ctx, keys[j])))
			printf("%-16s %s\n", keys[j] + 3, json_string_value(json_object_get(ctx, keys[j])));
	json_object_foreach(ctx, k, v)
		if (!strncmp(k, "hw.perf.", 8))
			printf("%-16s %s\n", k + 3, json_string_value(v));
	printf("\n%10s", "ws");
	for (int kd = 0; kd < NW_HW_NKINDS; kd++)
		if (o->kind[kd])
			printf(" %9s", nw_hw_kind_name((enum nw_hw_kind)kd));
	if (o->paired)
		printf("   ns per access (median over %u rounds of whole-pass means)\n", o->rounds);
	else if (o->rounds > 1)
		printf("   ns per access (median over %u rounds of the best of %u samples)\n", o->rounds,
		       o->samples);
	else
		printf("   ns per access (best of %u samples)\n", o->samples);
	for (uint64_t ws = o->min; ws <= o->max; ws *= 2) {
		char name[24];

		cli_hw_size_name(name, sizeof(name), ws);
		printf("%10s", name);
		for (int kd = 0; kd < NW_HW_NKINDS; kd++) {
			if (!o->kind[kd])
				continue;
			double ns = cli_hw_point_ns(points, (enum nw_hw_kind)kd, ws);
			if (isnan(ns))
				printf(" %9s", "-");
			else
				printf(" %9.3f", ns);
		}
		json_array_foreach(json_object_get(hw, "penalty"), i, p)
			if ((uint64_t)json_integer_value(json_object_get(p, "ws")) == ws) {
				json_t *ci = json_object_get(p, "walk_penalty_ci95"),
				       *rg = json_object_get(p, "walk_penalty_range");

				printf("   walk penalty 4k-%s %.2f ns",
				       json_string_value(json_object_get(p, "huge")),
				       json_number_value(json_object_get(p, "walk_penalty_ns")));
				if (ci && rg)
					printf(" (paired: 95%% CI %.1f..%.1f, rounds %.1f..%.1f)",
					       json_number_value(json_array_get(ci, 0)),
					       json_number_value(json_array_get(ci, 1)),
					       json_number_value(json_array_get(rg, 0)),
					       json_number_value(json_array_get(rg, 1)));
				break;
			}
		putchar('\n');
	}
	json_array_foreach(points, i, p)
		if (strcmp(json_string_value(json_object_get(p, "status")), "ok")) {
			char name[24];

			cli_hw_size_name(name, sizeof(name), (uint64_t)json_integer_value(json_object_get(p, "ws")));
			printf("skipped %s/%s: %s\n", json_string_value(json_object_get(p, "kind")), name,
			       json_string_value(json_object_get(p, "reason")));
		}
}

void cli_hw_print_calib(const char *when, json_t *c)
{
	if (!c)
		return;
	if (json_object_get(c, "error")) {
		printf("calibration %s: %s\n", when, json_string_value(json_object_get(c, "error")));
		return;
	}
	printf("calibration %s: L2 chain %.2f ns, flushed %.2f ns, 4 MiB chain %.2f ns -> DRAM %.1f ns, "
	       "LLC share of 4 MiB %.2f (%.1f MiB)\n", when,
	       json_number_value(json_object_get(c, "warm_ns")), json_number_value(json_object_get(c, "flush_ns")),
	       json_number_value(json_object_get(c, "all4m_ns")), json_number_value(json_object_get(c, "dram_ns")),
	       json_number_value(json_object_get(c, "llc_hit_4m")),
	       (double)json_integer_value(json_object_get(c, "llc_bytes")) / (1 << 20));
}
