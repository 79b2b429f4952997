/* SPDX-License-Identifier: MIT */
/* The guest's figures, by stable name. */

#include "guest_internal.h"

const struct nw_guest_stats *nw_guest_stats(const struct nw_guest *g)
{
	return &g->st;
}

const struct nw_guest_cfg *nw_guest_config(const struct nw_guest *g)
{
	return &g->cfg;
}

size_t nw_guest_stats_list(const struct nw_guest *g, struct nw_stat *out, size_t max)
{
	const struct nw_guest_stats *s = &g->st;
	const struct nw_stat all[NW_GUEST_STATS_MAX] = {
		{ "guest.faults.demand", s->faults_demand },
		{ "guest.faults.cow", s->faults_cow },
		{ "guest.faults.segv", s->faults_segv },
		{ "guest.frames.used", s->frames_used },
		{ "guest.oom", s->oom },
		{ "guest.forks", s->forks },
		{ "guest.exits", s->exits },
		{ "guest.switches", s->switches },
		{ "guest.shootdowns", s->shootdowns },
		{ "guest.pt_stores", s->pt_stores },
	};

	for (size_t i = 0; i < NW_GUEST_STATS_MAX && i < max; i++)
		out[i] = all[i];
	return NW_GUEST_STATS_MAX;
}
