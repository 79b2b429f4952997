/* SPDX-License-Identifier: MIT */
/*
 * Guest writes the VMM emulates (KVM's kvm_mmu_track_write): a store to a
 * write-protected guest table, performed for the guest, after which every
 * shadow entry derived from the guest entry it overwrote is brought up to
 * date (a leaf) or zapped (a link, rebuilt lazily). Also p2m changes.
 *
 * Write flooding: a table that takes threshold emulated writes without
 * being used by a fault in between is most likely no table any more (the
 * guest freed it and writes data there), so it is unshadowed and its frame
 * stops trapping.
 */

#include <errno.h>

#include "shadow_internal.h"

static bool flooded(struct nw_shadow *sh, struct sh_page *sp)
{
	/* A root in use must stay: the vCPU's hardware walk starts there. */
	return sh->cfg.flood_threshold && !sp->root_count &&
	       ++sp->flood >= sh->cfg.flood_threshold;
}

static void track_write(struct nw_shadow *sh, uint64_t gpa, uint64_t old, uint64_t val)
{
	unsigned idx = (unsigned)((gpa & ~NW_PAGE_MASK) / sizeof(uint64_t));
	struct sh_page *sp, *next;

	for (sp = sh_page_first(sh, gpa >> NW_PAGE_SHIFT); sp; sp = next) {
		next = sp->hash_next; /* zapping sp leaves the rest of the chain alone */
		if (sh_direct(sp))
			continue;
		if (flooded(sh, sp)) {
			sh_page_zap(sh, sp);
			sh->st.unshadowed++;
			continue;
		}
		if (!(sh_spte_read(sh, sh_spte_addr(sp, idx)) & NW_PTE_P))
			continue;
		/*
		 * Any change of an upper entry, its A bit included, drops the
		 * link: the next walk rebuilds it and sets A again.
		 */
		if (sh_level(sp) == 1) {
			sh_sync_leaf(sh, sp, idx);
		} else if (old != val) {
			/* The guest changed an upper entry: it flushes (the child page lives on). */
			sh->guest_change = true;
			sh_zap_entry(sh, sp, idx);
			sh->guest_change = false;
		}
	}
}

static int store(struct nw_shadow *sh, uint64_t gpa, uint64_t val, bool trapped)
{
	uint64_t hpa, old;
	int rc;

	if (gpa & 7)
		return -EINVAL;
	rc = sh_gpa_to_hpa(sh, gpa, &hpa);
	if (rc < 0)
		return sh_finish(sh, rc);
	old = nw_acc_read(&sh->acc, hpa);
	nw_acc_write(&sh->acc, hpa, val);
	/* A store that did not trap counts only where it would have: a shadowed table. */
	if (trapped || sh_gfn_protected(sh, gpa >> NW_PAGE_SHIFT))
		sh->st.emulated_writes++;
	if (!(sh->cfg.bugs & NW_SHADOW_BUG_SKIP_TRACK))
		track_write(sh, gpa, old, val);
	return sh_finish(sh, 0);
}

int nw_shadow_emulate_write(struct nw_shadow *sh, uint64_t gpa, uint64_t val)
{
	return store(sh, gpa, val, true);
}

int nw_shadow_write_gpa(struct nw_shadow *sh, uint64_t gpa, uint64_t val)
{
	return store(sh, gpa, val, false);
}

int nw_shadow_zap_gpa_range(struct nw_shadow *sh, uint64_t gpa, uint64_t len)
{
	uint64_t first = gpa >> NW_PAGE_SHIFT;
	uint64_t last = (gpa + len - 1) >> NW_PAGE_SHIFT;

	if (!len || gpa + len < gpa)
		return -EINVAL;
	for (uint64_t gfn = first; gfn <= last; gfn++) {
		const struct sh_rmap *r;
		if (gfn == first || !(gfn & (NW_ENTRIES_PER_TABLE - 1)))
			sh_zap_large(sh, gfn); /* each 2 MiB region once */
		while ((r = sh_rmap_get(sh, gfn))) {
			uint64_t slot = r->spte[r->n - 1];
			struct sh_page *sp = sh_page_by_hpa(sh, slot);
			if (!sp) {
				sh_rmap_del(sh, gfn, slot); /* cannot happen */
				continue;
			}
			sh_zap_entry(sh, sp, (unsigned)((slot & ~NW_PAGE_MASK) / sizeof(uint64_t)));
		}
		if (gfn == UINT64_MAX)
			break;
	}
	return sh_finish(sh, 0);
}
