/* SPDX-License-Identifier: MIT */
/*
 * The cached 1D walk: native or shadow x86-64 tables, with the linear PSCs
 * (resume below the deepest hit) and the PWC (entries without a memory
 * reference). nw_walk_x86 walks without caches; this is the same walk,
 * permission rules and A/D policy included, over nw_walk_tables_from.
 */

#include <errno.h>
#include <string.h>

#include "tlb_internal.h"

static const uint32_t ALL_RIGHTS = NW_PROT_RWX | NW_PROT_U;

/* Offer every non-leaf entry of a successful walk to the linear PSCs. */
static void psc_fill(struct nw_tlb *t, const struct nw_fmt *f, uint64_t va,
		     const struct nw_walk1d *r, int start, uint32_t prot)
{
	for (int i = 0; i + 1 < r->n; i++) {
		int level = start - i;
		prot &= f->prot(f, r->entry[i], level);
		struct nw_psc_hit hit = {
			.level = level - 1, .table = f->addr(f, r->entry[i], level), .prot = prot,
		};
		tlb_psc_fill(t, false, va, &hit);
	}
}

int tlb_walk1d(struct nw_tlb *t, const struct nw_tlb_walker *wk, uint64_t va, unsigned access,
	       bool cached, struct nw_walk *w)
{
	const struct nw_x86_mode *mode = &wk->mode;
	const struct nw_fmt *f = wk->fmt;
	struct nw_walk1d r;

	if (!f || !wk->acc || (mode->levels != 4 && mode->levels != 5))
		return -EINVAL;
	if (!nw_x86_canonical(va, mode->levels))
		return -ERANGE;
	nw_walk_clear(w);
	t->cur.gva = va;

	int level = mode->levels;
	uint64_t table = wk->root & NW_PTE_ADDR_MASK;
	uint32_t prot = ALL_RIGHTS;
	struct nw_tlb_entry *hit = cached ? tlb_psc_lookup(t, false, va) : NULL;
	if (hit) {
		w->cache_hits += (unsigned)(level - (hit->size - 1));
		level = hit->size - 1;
		table = hit->pa;
		prot = hit->prot;
	}
	struct nw_walk_src src = {
		.fmt = f, .acc = wk->acc, .cache = cached ? &t->wcache : NULL,
		.dim = NW_DIM_GUEST, .mode = mode->nxe ? NW_FMT_NXE : 0,
	};
	nw_walk_tables_from(&src, table, level, prot, va, w, &r);

	if (nw_walk_x86_complete(f, wk->acc, &r, va, access, mode, w) && cached) {
		psc_fill(t, f, va, &r, level, prot);
		tlb_pwc_fill_guest(t, f, va, w);
	}
	return 0;
}
