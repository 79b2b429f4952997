/* SPDX-License-Identifier: MIT */
#ifndef NW_RUN_INTERNAL_H
#define NW_RUN_INTERNAL_H

/* The runner's private parts: run.c drives, run_stats.c collects figures. */

#include "workload_internal.h"

struct runner {
	const struct nw_run_cfg *cfg;
	struct nw_vm *vm;
	struct nw_guest *g;
	struct wl_run r;
	struct wl_sync sync;
	struct wl_thread *t;
	uint64_t ops;            /* operations so far */
	uint64_t ops_at_start;   /* when the measured phase began */
	bool hooked;
	struct nw_stat start[NW_RUN_STATS_MAX]; /* the figures as the measured phase began */
	size_t nstart;
	struct nw_stat stop[NW_RUN_STATS_MAX];  /* and as it ended */
	size_t nstop;
};

/* Every figure of the run by stable name (the list nw_run_result describes). */
size_t run_collect(struct runner *R, struct nw_stat *out, size_t max);
/* measured = end - start, except for levels (checksums, frames in use). */
size_t run_measured(const struct nw_stat *start, size_t nstart, const struct nw_stat *end,
		    size_t nend, struct nw_stat *out);
/* The derived figures of res->stats. */
void run_derive(const struct nw_run_cfg *cfg, struct nw_run_result *res);

#endif
