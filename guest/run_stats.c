/* SPDX-License-Identifier: MIT */
/*
 * The run's figures. Every counter keeps the stable name it has where it
 * is counted (vmm.h, tlb_stats.h, guest.h); the VM's figure is the sum
 * over its vCPUs. Derived figures (rates and means) get names of their own:
 *
 *   tlb.misses                 last-level TLB misses (L2, or L1 without one)
 *   tlb.miss_rate              tlb.misses / accesses
 *   walk.refs_per_walk         (walk.refs.guest + walk.refs.host) / walks
 *   walk.refs_per_walk.guest   walk.refs.guest / walks
 *   walk.refs_per_walk.host    walk.refs.host / walks
 *   exits.per_1k               VM exits per 1,000 accesses
 *   exits.<kind>.per_1k        the same, by kind
 *   cycles.per_access          every cycles.* figure / accesses
 *   shadow.<x>.per_1k          shadow mode: emulated_writes, syncs, unsyncs,
 *                              zaps and unshadowed per 1,000 accesses
 *   shadow.root_hit_rate       shadow mode: root_hits / (root_hits + root_misses)
 *   shadow.pages               shadow mode: shadow pages as the phase ended (the level)
 *   guest.pt_stores.per_1k     the guest's page-table entry stores per 1,000 accesses
 *   run.wall_seconds, run.accesses_per_second
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "run_internal.h"

/* Figures that are levels, not counters: the measured phase reports them as they end. */
static const char *const levels[] = {
	"data.checksum", "workload.checksum", "guest.frames.used", "vm.host_frames",
	"vm.backing.4k", "vm.backing.2m", "vm.backing.1g", "vm.nested_table_pages", "shadow.pages",
	NULL,
};

/* Room kept after the vCPU's figures for the guest's, the VM's and the workload's. */
#define OWN_FIGURES (NW_GUEST_STATS_MAX + 16)

static bool is_level(const char *name)
{
	for (const char *const *l = levels; *l; l++)
		if (!strcmp(*l, name))
			return true;
	return false;
}

size_t run_collect(struct runner *R, struct nw_stat *out, size_t max)
{
	struct nw_stat tmp[NW_RUN_STATS_MAX];
	size_t room = max > OWN_FIGURES ? max - OWN_FIGURES : 0, n = 0;
	uint64_t sum = 0;

	for (unsigned i = 0; i < nw_vm_vcpus(R->vm); i++) {
		size_t m = nw_vcpu_stats_list(nw_vm_vcpu(R->vm, i), tmp, room);
		if (m > room)
			m = room;
		if (i == 0) {
			memcpy(out, tmp, m * sizeof(*tmp));
			n = m;
			continue;
		}
		for (size_t j = 0; j < m && j < n; j++) {
			if (!strcmp(out[j].name, "data.checksum"))
				out[j].value ^= tmp[j].value;
			else
				out[j].value += tmp[j].value;
		}
	}
	for (unsigned i = 0; i < R->r.nthreads; i++)
		sum = wl_mix(sum ^ R->t[i].hash) + i;
#define PUT(nm, val)                                                               \
	do {                                                                       \
		if (n < max)                                                       \
			out[n++] = (struct nw_stat){ .name = (nm), .value = (val) }; \
	} while (0)
	if (n < max)
		n += nw_guest_stats_list(R->g, out + n, max - n);
	if (n > max)
		n = max;
	PUT("vm.host_frames", nw_vm_host_frames(R->vm));
	PUT("vm.backing.4k", nw_vm_backing_pages(R->vm, NW_PAGE_4K));
	PUT("vm.backing.2m", nw_vm_backing_pages(R->vm, NW_PAGE_2M));
	PUT("vm.backing.1g", nw_vm_backing_pages(R->vm, NW_PAGE_1G));
	PUT("vm.nested_table_pages", nw_vm_nested_table_pages(R->vm));
	PUT("workload.ops", R->ops);
	PUT("workload.checksum", sum);
	PUT("workload.mismatches", R->sync.mismatches);
#undef PUT
	return n;
}

size_t run_measured(const struct nw_stat *start, size_t nstart, const struct nw_stat *end,
		    size_t nend, struct nw_stat *out)
{
	for (size_t i = 0; i < nend; i++) {
		out[i] = end[i];
		if (i < nstart && !is_level(end[i].name) && start[i].name == end[i].name)
			out[i].value -= start[i].value;
	}
	return nend;
}

static uint64_t stat(const struct nw_run_result *res, const char *name)
{
	uint64_t v = 0;

	nw_run_stat(res, name, &v);
	return v;
}

/* The sum of the figures named prefix*suffix. */
static uint64_t sum_of(const struct nw_run_result *res, const char *prefix, const char *suffix)
{
	size_t lp = strlen(prefix), ls = strlen(suffix);
	uint64_t sum = 0;

	for (size_t i = 0; i < res->nstats; i++) {
		const char *nm = res->stats[i].name;
		size_t l = strlen(nm);
		if (l >= lp + ls && !strncmp(nm, prefix, lp) && !strcmp(nm + l - ls, suffix))
			sum += res->stats[i].value;
	}
	return sum;
}

static double ratio(uint64_t a, uint64_t b)
{
	return b ? (double)a / (double)b : 0;
}

static void put(struct nw_run_result *res, const char *name, double v)
{
	if (res->nfigures < NW_RUN_FIGURES_MAX)
		res->figures[res->nfigures++] = (struct nw_figure){ name, v };
}

void run_derive(const struct nw_run_cfg *cfg, struct nw_run_result *res)
{
	static char exit_names[NW_EXIT_KINDS][48], exit_stats[NW_EXIT_KINDS][40];
	uint64_t acc, misses, walks, exits = 0;

	/*
	 * Per access means per access the guest made: the vCPU's count, the
	 * same in every mode. The TLB's own count ("accesses") is larger where
	 * the VMM carries one guest instruction out as many (shadow paging
	 * emulates a page clear into a protected table quadword by quadword).
	 */
	acc = stat(res, "access.loads") + stat(res, "access.stores") + stat(res, "access.fetches");
	if (!acc)
		nw_run_stat(res, "accesses", &acc);
	if (cfg->vm.cpu.tlb.l2[0].entries)
		misses = sum_of(res, "tlb.l2.", ".misses");
	else
		misses = sum_of(res, "tlb.l1d.", ".misses") + sum_of(res, "tlb.l1i.", ".misses");
	walks = stat(res, "walks");
	res->nfigures = 0;
	put(res, "access.total", (double)acc);
	put(res, "tlb.misses", (double)misses);
	put(res, "tlb.miss_rate", ratio(misses, acc));
	put(res, "walk.refs_per_walk", ratio(stat(res, "walk.refs.guest") + stat(res, "walk.refs.host"), walks));
	put(res, "walk.refs_per_walk.guest", ratio(stat(res, "walk.refs.guest"), walks));
	put(res, "walk.refs_per_walk.host", ratio(stat(res, "walk.refs.host"), walks));
	for (int k = 0; k < NW_EXIT_KINDS; k++) {
		if (!exit_names[k][0]) {
			snprintf(exit_names[k], sizeof(exit_names[k]), "exits.%s.per_1k",
				 nw_exit_name((enum nw_exit_kind)k));
			snprintf(exit_stats[k], sizeof(exit_stats[k]), "exits.%s",
				 nw_exit_name((enum nw_exit_kind)k));
		}
		exits += stat(res, exit_stats[k]);
	}
	put(res, "exits.per_1k", 1000 * ratio(exits, acc));
	for (int k = 0; k < NW_EXIT_KINDS; k++)
		put(res, exit_names[k], 1000 * ratio(stat(res, exit_stats[k]), acc));
	put(res, "cycles.per_access", ratio(sum_of(res, "cycles.", ""), acc));
	put(res, "guest.pt_stores.per_1k", 1000 * ratio(stat(res, "guest.pt_stores"), acc));
	if (cfg->vm.mode == NW_VM_SHADOW) {
		static const char *const per_1k[][2] = {
			{ "shadow.emulated_writes", "shadow.emulated_writes.per_1k" },
			{ "shadow.syncs", "shadow.syncs.per_1k" },
			{ "shadow.unsyncs", "shadow.unsyncs.per_1k" },
			{ "shadow.zaps", "shadow.zaps.per_1k" },
			{ "shadow.unshadowed", "shadow.unshadowed.per_1k" },
		};
		for (size_t i = 0; i < sizeof(per_1k) / sizeof(per_1k[0]); i++)
			put(res, per_1k[i][1], 1000 * ratio(stat(res, per_1k[i][0]), acc));
		uint64_t hits = stat(res, "shadow.root_hits");
		put(res, "shadow.root_hit_rate", ratio(hits, hits + stat(res, "shadow.root_misses")));
		put(res, "shadow.pages", (double)stat(res, "shadow.pages"));
	}
	put(res, "run.wall_seconds", res->wall_seconds);
	put(res, "run.accesses_per_second", res->wall_seconds > 0 ? (double)acc / res->wall_seconds : 0);
}

int nw_run_stat(const struct nw_run_result *res, const char *name, uint64_t *value)
{
	for (size_t i = 0; i < res->nstats; i++)
		if (!strcmp(res->stats[i].name, name)) {
			*value = res->stats[i].value;
			return 0;
		}
	return -ENOENT;
}

int nw_run_figure(const struct nw_run_result *res, const char *name, double *value)
{
	for (size_t i = 0; i < res->nfigures; i++)
		if (!strcmp(res->figures[i].name, name)) {
			*value = res->figures[i].value;
			return 0;
		}
	return -ENOENT;
}
