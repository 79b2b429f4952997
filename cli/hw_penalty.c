/* SPDX-License-Identifier: MIT */
/*
 * nestwalk hw's walk penalties: 4k minus each huge kind at the same working
 * set; with --paired, the median of the rounds' paired differences and its
 * bootstrap interval.
 */

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "hw_sweep.h"

#define HW_BOOT 2000          /* bootstrap resamples of a paired median */

double cli_hw_point_ns(json_t *points, enum nw_hw_kind kind, uint64_t ws)
{
	size_t i;
	json_t *p;

	json_array_foreach(points, i, p)
		if (!strcmp(json_string_value(json_object_get(p, "kind")), nw_hw_kind_name(kind)) &&
		    (uint64_t)json_integer_value(json_object_get(p, "ws")) == ws &&
		    json_is_number(json_object_get(p, "ns_per_access")))
			return json_number_value(json_object_get(p, "ns_per_access"));
	return NAN;
}

static json_t *point_rounds(json_t *points, enum nw_hw_kind kind, uint64_t ws)
{
	size_t i;
	json_t *p;

	json_array_foreach(points, i, p)
		if (!strcmp(json_string_value(json_object_get(p, "kind")), nw_hw_kind_name(kind)) &&
		    (uint64_t)json_integer_value(json_object_get(p, "ws")) == ws)
			return json_object_get(p, "round_ns");
	return NULL;
}

static uint64_t boot_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/*
 * The paired walk penalty of --paired: d[k] = 4k - huge in round k (the
 * same loads, moments apart), its median, its range and a percentile
 * bootstrap 95% interval of the median (HW_BOOT resamples, fixed seed).
 */
static void paired_penalty(json_t *e, json_t *a4k, json_t *ah)
{
	double d[HW_MAX_ROUNDS], m[HW_BOOT], x[HW_MAX_ROUNDS];
	unsigned n = (unsigned)json_array_size(a4k), k;
	uint64_t seed = 0x626f6f7473747261ull; /* "bootstra" */
	json_t *rd = json_array();

	if (n == 0 || n != json_array_size(ah) || n > HW_MAX_ROUNDS) {
		json_decref(rd);
		return;
	}
	for (k = 0; k < n; k++) {
		d[k] = json_number_value(json_array_get(a4k, k)) - json_number_value(json_array_get(ah, k));
		json_array_append_new(rd, json_real(d[k]));
	}
	for (int b = 0; b < HW_BOOT; b++) {
		for (k = 0; k < n; k++)
			x[k] = d[boot_next(&seed) % n];
		m[b] = cli_hw_median(x, n);
	}
	qsort(m, HW_BOOT, sizeof(double), cli_hw_cmp_double);
	memcpy(x, d, n * sizeof(double));
	qsort(x, n, sizeof(double), cli_hw_cmp_double);
	json_object_set_new(e, "walk_penalty_ns", json_real(cli_hw_median(d, n)));
	json_object_set_new(e, "paired_rounds", json_integer(n));
	json_object_set_new(e, "walk_penalty_ci95",
			    json_pack("[f, f]", m[HW_BOOT / 40], m[HW_BOOT - 1 - HW_BOOT / 40]));
	json_object_set_new(e, "walk_penalty_range", json_pack("[f, f]", x[0], x[n - 1]));
	json_object_set_new(e, "round_penalty_ns", rd);
}

/* 4k minus each huge kind measured at the same working set. */
json_t *cli_hw_penalties(json_t *points, const struct hw_opts *o)
{
	json_t *out = json_array();

	for (uint64_t ws = o->min; ws <= o->max; ws *= 2) {
		double ns4k = cli_hw_point_ns(points, NW_HW_4K, ws);

		if (isnan(ns4k))
			continue;
		for (int k = NW_HW_NKINDS - 1; k > NW_HW_4K; k--) {
			double ns = cli_hw_point_ns(points, (enum nw_hw_kind)k, ws);

			if (isnan(ns))
				continue;
			json_t *e = json_pack("{s:I, s:s, s:f}", "ws", (json_int_t)ws, "huge",
					      nw_hw_kind_name((enum nw_hw_kind)k), "walk_penalty_ns", ns4k - ns);
			json_t *a4k = point_rounds(points, NW_HW_4K, ws),
			       *ah = point_rounds(points, (enum nw_hw_kind)k, ws);
			if (o->paired && a4k && ah)
				paired_penalty(e, a4k, ah);
			json_array_append_new(out, e);
		}
	}
	return out;
}
