/* SPDX-License-Identifier: MIT */
#ifndef NW_BENCH_JSON_H
#define NW_BENCH_JSON_H

/* Reading Google Benchmark JSON in the bench suites' tests. */

#include <jansson.h>
#include <string.h>

/* The entry of root's "benchmarks" named name, or NULL. */
static inline json_t *bench_named(json_t *root, const char *name)
{
	json_t *b;
	size_t i;

	json_array_foreach(json_object_get(root, "benchmarks"), i, b)
		if (strcmp(json_string_value(json_object_get(b, "name")), name) == 0)
			return b;
	return NULL;
}

#endif
