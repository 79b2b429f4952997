/* SPDX-License-Identifier: MIT */
/*
 * A vCPU's figures by stable name: its own, the shadow MMU's in shadow
 * mode, then its TLB's.
 *
 * The shadow MMU is one per VM and its figures are the VM's: vCPU 0
 * reports them and every other vCPU reports zeros under the same names, so
 * that the runner's sum over vCPUs (which adds lists entry by entry) gives
 * the VM's figure once.
 */

#include <stdio.h>

#include "vmm_internal.h"

size_t nw_vcpu_stats_list(struct nw_vcpu *v, struct nw_stat *out, size_t max)
{
	static char exit_names[NW_EXIT_KINDS][40];
	const struct nw_vcpu_stats *s = &v->st;
	size_t n = 0;

	for (int k = 0; k < NW_EXIT_KINDS; k++)
		if (!exit_names[k][0])
			snprintf(exit_names[k], sizeof(exit_names[k]), "exits.%s",
				 nw_exit_name((enum nw_exit_kind)k));
#define PUT(nm, val)                                                   \
	do {                                                           \
		if (n < max)                                           \
			out[n] = (struct nw_stat){ .name = (nm), .value = (val) }; \
		n++;                                                   \
	} while (0)
	PUT("access.loads", s->loads);
	PUT("access.stores", s->stores);
	PUT("access.fetches", s->fetches);
	PUT("guest.pf", s->guest_pf);
	for (int k = 0; k < NW_EXIT_KINDS; k++)
		PUT(exit_names[k], s->exits[k]);
	PUT("vmm.populated", s->populated);
	PUT("vmm.migrated", s->migrated);
	PUT("vmm.mmio", s->mmio);
	PUT("guest.cr3_writes", s->cr3_writes);
	PUT("guest.invlpg", s->invlpg);
	PUT("guest.ipis", s->ipis);
	PUT("data.checksum", s->checksum);
	if (v->vm->shadow) {
		struct nw_stat sh[NW_SHADOW_STATS_MAX];
		size_t m = nw_shadow_stats_list(v->vm->shadow, sh, NW_SHADOW_STATS_MAX);
		for (size_t i = 0; i < m && i < NW_SHADOW_STATS_MAX; i++)
			PUT(sh[i].name, v->id == 0 ? sh[i].value : 0);
	}
#undef PUT
	return n + nw_tlb_stats_list(nw_tlb_stats(v->tlb), out + (n < max ? n : max),
				     n < max ? max - n : 0);
}
