/* SPDX-License-Identifier: MIT */
/*
 * Reverse maps: for each guest frame, the shadow leaves that map it. They
 * make write protection of a newly shadowed guest table one pass over its
 * leaves, and let a p2m change find every leaf it makes stale.
 */

#include <errno.h>
#include <stdlib.h>

#include "shadow_internal.h"

const struct sh_rmap *sh_rmap_get(const struct nw_shadow *sh, uint64_t gfn)
{
	uint64_t v;

	return sh_map_get(&sh->rmaps, gfn, &v) ? (const struct sh_rmap *)(uintptr_t)v : NULL;
}

int sh_rmap_add(struct nw_shadow *sh, uint64_t gfn, uint64_t spte_hpa)
{
	struct sh_rmap *r = (struct sh_rmap *)sh_rmap_get(sh, gfn);

	if (!r || r->n == r->cap) {
		uint32_t cap = r ? 2 * r->cap : 2;
		struct sh_rmap *bigger = realloc(r, sizeof(*r) + cap * sizeof(uint64_t));
		if (!bigger)
			return -ENOMEM;
		if (!r)
			bigger->n = 0;
		bigger->cap = cap;
		/* Replacing a key never allocates, so only a new gfn can fail here. */
		if (sh_map_put(&sh->rmaps, gfn, (uint64_t)(uintptr_t)bigger) < 0) {
			free(bigger);
			return -ENOMEM;
		}
		r = bigger;
	}
	r->spte[r->n++] = spte_hpa;
	return 0;
}

void sh_rmap_del(struct nw_shadow *sh, uint64_t gfn, uint64_t spte_hpa)
{
	struct sh_rmap *r = (struct sh_rmap *)sh_rmap_get(sh, gfn);

	if (!r)
		return;
	for (uint32_t i = 0; i < r->n; i++)
		if (r->spte[i] == spte_hpa) {
			r->spte[i] = r->spte[--r->n];
			break;
		}
	if (!r->n) {
		sh_map_del(&sh->rmaps, gfn);
		free(r);
	}
}

void sh_write_protect(struct nw_shadow *sh, uint64_t gfn)
{
	const struct sh_rmap *r = sh_rmap_get(sh, gfn);
	uint64_t hpa, one;

	/*
	 * A writable leaf to this frame that the guest changed without a flush
	 * may live on in a TLB: a write through it would skip the protection
	 * for good, so the frame cannot be protected unflushed.
	 */
	if (sh->stale_w.n && sh_gpa_to_hpa(sh, gfn << NW_PAGE_SHIFT, &hpa) == 0 &&
	    sh_map_get(&sh->stale_w, hpa & NW_PAGE_MASK, &one))
		sh->need_flush = true;

	for (uint32_t i = 0; r && i < r->n; i++) {
		uint64_t e = sh_spte_read(sh, r->spte[i]);
		if (e & NW_PTE_RW) {
			sh_spte_write(sh, r->spte[i], e & ~NW_PTE_RW);
			sh->st.write_protects++;
		}
	}
	/* A 2 MiB leaf over the frame goes: the next fault maps 4 KiB leaves. */
	sh_zap_large(sh, gfn);
}

void sh_zap_large(struct nw_shadow *sh, uint64_t gfn)
{
	const struct sh_rmap *r;

	while ((r = sh_rmap_get(sh, sh_large_key(gfn)))) {
		uint64_t slot = r->spte[r->n - 1];
		struct sh_page *sp = sh_page_by_hpa(sh, slot);
		if (!sp) {
			sh_rmap_del(sh, sh_large_key(gfn), slot); /* cannot happen */
			continue;
		}
		sh_zap_entry(sh, sp, (unsigned)((slot & ~NW_PAGE_MASK) / sizeof(uint64_t)));
		sh->st.large_zaps++;
	}
}

void sh_rmap_free_all(struct nw_shadow *sh)
{
	for (uint64_t i = 0; i < sh->rmaps.cap; i++)
		if (sh->rmaps.keys[i] != SH_MAP_EMPTY)
			free((void *)(uintptr_t)sh->rmaps.vals[i]);
	sh_map_free(&sh->rmaps);
}
