/* SPDX-License-Identifier: MIT */
/*
 * Shadow entries (KVM's spte.c): how a guest translation becomes a shadow
 * leaf, and the one place leaves are set, so that the reverse maps, write
 * protection and TLB flushes cannot be forgotten.
 */

#include <errno.h>

#include "shadow_internal.h"

uint64_t sh_spte_read(struct nw_shadow *sh, uint64_t hpa)
{
	return nw_acc_read(&sh->acc, hpa);
}

/* Whether replacing old by new takes away anything a TLB may have cached. */
static bool loses(uint64_t old, uint64_t new)
{
	const uint64_t rights = NW_PTE_RW | NW_PTE_US | NW_PTE_XD;
	const uint64_t ad = NW_PTE_A | NW_PTE_D;

	if (!(old & NW_PTE_P))
		return false;
	if (!(new & NW_PTE_P) || ((old ^ new) & ~(rights | ad)))
		return true;
	/* U/S either way changes SMEP and SMAP outcomes: treat it as a loss. */
	return (old & NW_PTE_RW & ~new) || ((old ^ new) & NW_PTE_US) ||
	       (new & NW_PTE_XD & ~old);
}

void sh_spte_write(struct nw_shadow *sh, uint64_t hpa, uint64_t val)
{
	uint64_t old = nw_acc_read(&sh->acc, hpa);

	if (old == val)
		return;
	if (loses(old, val)) {
		if (!sh->guest_change)
			sh->need_flush = true;
		else if ((old & NW_PTE_RW) &&
			 sh_map_put(&sh->stale_w, sh->sfmt.addr(&sh->sfmt, old, 1), 1) < 0)
			sh->need_flush = true; /* cannot remember it: flush now */
	}
	nw_acc_write(&sh->acc, hpa, val);
}

uint64_t sh_make_leaf(struct nw_shadow *sh, uint64_t hpa, uint32_t prot,
		      const struct nw_attr *attr)
{
	struct nw_attr a = *attr;
	uint64_t e;

	a.prot = prot | NW_PROT_R;
	e = sh->sfmt.make_leaf(&sh->sfmt, hpa, NW_PAGE_4K, &a);
	/*
	 * A and D are the hardware walk's own business in the shadow; the
	 * guest's are emulated. Set them now, as KVM does, so the walk does
	 * not write them back.
	 */
	e |= NW_PTE_A;
	if (prot & NW_PROT_W)
		e |= NW_PTE_D;
	return e;
}

uint64_t sh_make_link(struct nw_shadow *sh, const struct sh_page *child)
{
	return sh->sfmt.make_table(&sh->sfmt, child->hpa, sh_level(child) + 1) | NW_PTE_A;
}

uint32_t sh_leaf_prot(uint32_t guest_prot, uint64_t gleaf)
{
	/* Emulated dirty bit: the first write must fault so the guest's D gets set. */
	if (!(gleaf & NW_PTE_D))
		guest_prot &= ~NW_PROT_W;
	return guest_prot;
}

static void clear_leaf(struct nw_shadow *sh, struct sh_page *sp, unsigned idx)
{
	uint64_t slot = sh_spte_addr(sp, idx);

	if (sh_spte_read(sh, slot) & NW_PTE_P) {
		sh_rmap_del(sh, sp->gfns[idx], slot);
		sh_spte_write(sh, slot, 0);
	}
}

int sh_set_leaf(struct nw_shadow *sh, struct sh_page *sp, unsigned idx, uint64_t gfn,
		uint32_t prot, const struct nw_attr *attr)
{
	uint64_t slot = sh_spte_addr(sp, idx);
	uint64_t old = sh_spte_read(sh, slot), hpa, e;
	int rc;

	if (!prot) {
		clear_leaf(sh, sp, idx);
		return 0;
	}
	rc = sh_gpa_to_hpa(sh, gfn << NW_PAGE_SHIFT, &hpa);
	if (rc < 0) {
		clear_leaf(sh, sp, idx);
		return rc;
	}
	/* Writes to a shadowed guest table must trap. */
	if ((prot & NW_PROT_W) && sh_gfn_protected(sh, gfn))
		prot &= ~NW_PROT_W;
	e = sh_make_leaf(sh, hpa & NW_PAGE_MASK, prot, attr);
	if (!(old & NW_PTE_P) || sp->gfns[idx] != gfn) {
		rc = sh_rmap_add(sh, gfn, slot);
		if (rc < 0)
			return rc; /* the old leaf stays as it was */
		if (old & NW_PTE_P)
			sh_rmap_del(sh, sp->gfns[idx], slot);
	}
	sp->gfns[idx] = gfn;
	sh_spte_write(sh, slot, e);
	return 0;
}

/* ---- 2 MiB leaves ---- */

bool sh_large_ok(struct nw_shadow *sh, uint64_t gpa)
{
	uint64_t base = gpa & ~(NW_LEVEL_SIZE(2) - 1), hpa, n;

	if (!sh->cfg.large_pages || !sh->cfg.ops.host_level)
		return false;
	/*
	 * A shadowed guest table inside must stay write-protected while the
	 * rest of the page is writable: only 4 KiB leaves can say that (KVM's
	 * disallow_lpage).
	 */
	if (sh_map_get(&sh->lpage_disallow, base >> NW_LEVEL_SHIFT(2), &n) &&
	    !(sh->cfg.bugs & NW_SHADOW_BUG_LARGE_OVER_TABLE))
		return false;
	/* The host size first: gpa is backed, and asking the p2m about the
	 * base of a range on 4 KiB pages could back a frame the guest never uses. */
	if (sh->cfg.ops.host_level(sh->cfg.ctx, gpa) < NW_PAGE_2M)
		return false;
	return sh_gpa_to_hpa(sh, base, &hpa) == 0 && !(hpa & (NW_LEVEL_SIZE(2) - 1));
}

int sh_set_large(struct nw_shadow *sh, struct sh_page *sp, unsigned idx, uint64_t gfn,
		 uint32_t prot, const struct nw_attr *attr)
{
	uint64_t slot = sh_spte_addr(sp, idx);
	uint64_t old = sh_spte_read(sh, slot), hpa, e;
	struct nw_attr a = *attr;
	int rc;

	rc = sh_gpa_to_hpa(sh, gfn << NW_PAGE_SHIFT, &hpa);
	if (rc < 0) {
		sh_zap_entry(sh, sp, idx);
		return rc;
	}
	if ((old & NW_PTE_P) && !(sh_is_large(sp, old) && sp->gfns[idx] == gfn)) {
		sh_zap_entry(sh, sp, idx); /* a link, or a leaf for another page */
		old = 0;
	}
	if (!(old & NW_PTE_P)) {
		rc = sh_rmap_add(sh, sh_large_key(gfn), slot);
		if (rc < 0)
			return rc;
	}
	a.prot = prot | NW_PROT_R;
	e = sh->sfmt.make_leaf(&sh->sfmt, hpa & ~(NW_LEVEL_SIZE(2) - 1), NW_PAGE_2M, &a) | NW_PTE_A;
	if (prot & NW_PROT_W)
		e |= NW_PTE_D;
	sp->gfns[idx] = gfn;
	sh_spte_write(sh, slot, e);
	sh->st.large_leaves++;
	return 0;
}

static void sync_leaf(struct nw_shadow *sh, struct sh_page *sp, unsigned idx)
{
	const struct nw_fmt *g = &sh->gfmt;
	uint64_t gpte = sh_guest_read(sh, (sp->gfn << NW_PAGE_SHIFT) + idx * sizeof(uint64_t));
	unsigned fmode = (sp->role & SH_ROLE_NXE) ? NW_FMT_NXE : 0;
	struct nw_attr attr;

	/* Only a guest entry a walk could have used (present, valid, accessed) is shadowed. */
	if (!g->present(g, gpte) || g->rsvd(g, gpte, NW_PAGE_4K, fmode) || !(gpte & NW_PTE_A)) {
		sh_set_leaf(sh, sp, idx, 0, 0, NULL);
		return;
	}
	g->attr(g, gpte, NW_PAGE_4K, &attr);
	uint32_t prot = sh_leaf_prot(SH_ROLE_ACCESS(sp->role) & g->prot(g, gpte, NW_PAGE_4K), gpte);
	/* A failure leaves the leaf cleared: the next access faults and retries. */
	sh_set_leaf(sh, sp, idx, g->addr(g, gpte, NW_PAGE_4K) >> NW_PAGE_SHIFT, prot, &attr);
}

/*
 * The leaf follows the guest's entry, and no TLB flush is asked for: a
 * guest that changes a translation must invalidate it itself (INVLPG, a
 * CR3 load), exactly as on hardware, and a guest that forgets sees the
 * stale translation as it would there. (KVM flushes here, which hides such
 * a guest bug.) What the VMM changes on its own, it flushes: write
 * protection, freed shadow pages, p2m changes.
 */
void sh_sync_leaf(struct nw_shadow *sh, struct sh_page *sp, unsigned idx)
{
	bool was = sh->guest_change;

	sh->guest_change = true;
	sync_leaf(sh, sp, idx);
	sh->guest_change = was;
}
