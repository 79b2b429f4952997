/* suites.h - the suites nestwalk-bench registers, each in its own file. */
#ifndef NW_BENCH_SUITES_H
#define NW_BENCH_SUITES_H

#include "hw.h"

#include <stdbool.h>
#include <stddef.h>

/* ---- hw: the pointer chase on the real CPU (suite_hw.c) ----------------- */

struct nw_bench_hw_opts {
	const char *event[NW_PERF_NWALK]; /* libpfm4 event per walk counter; NULL: per CPU */
	bool may_reserve;                 /* raise nr_hugepages when short (root) */
	int core;                         /* core to pin to; -1: the last */
	size_t max_ws;                    /* largest working set; 0: 8 GiB */
};

/* Pins, opens the counters and adds the hw.* context. Call before nw_gb_run. */
int nw_bench_hw_setup(const struct nw_bench_hw_opts *o);
/* Registers hw/<kind>/<ws> for 4k, thp, 2m, 1g and 16K..max_ws (bounded by
 * MemAvailable), and hw/penalty/<ws> after each working set. */
void nw_bench_hw_register(void);
/* Frees the last buffer, restores hugetlb pages and closes the counters. */
void nw_bench_hw_teardown(void);

#endif
