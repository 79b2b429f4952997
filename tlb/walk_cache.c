/* SPDX-License-Identifier: MIT */
/*
 * The adapter between the walkers and the structure set: struct
 * nw_walk_cache's hooks (walk.h), in the current context.
 *
 * - guest_psc_*: the linear/combined PSCs (Intel's PML4E/PDPTE/PDE caches);
 * - nested_psc_*: the guest-physical PSCs, by GPA prefix;
 * - nested_tlb_*: the nested TLB, and (on fill) the host-dimension entries
 *   of the PWC, since a fill hands over the whole nested walk;
 * - entry_lookup: the PWC.
 *
 * The walkers offer entries only from walks that succeeded, after setting
 * their A flags, so "only non-leaf entries with A set" (SDM §4.10.3.1)
 * holds for every fill. EPT without A/D has no A flag; its entries are
 * cached as they are.
 *
 * walk2d calls guest_psc_lookup first, with the linear address, and
 * nested_tlb_lookup before each nested walk, with its GPA: the hooks
 * record both, and the PWC checks each entry's region against them.
 */

#include "tlb_internal.h"

static bool wc_guest_psc_lookup(void *ctx, uint64_t gva, struct nw_psc_hit *hit)
{
	struct nw_tlb *t = ctx;
	struct nw_tlb_entry *e;

	t->cur.gva = gva;
	if (!(e = tlb_psc_lookup(t, false, gva)))
		return false;
	*hit = (struct nw_psc_hit){
		.level = e->size - 1,
		.table = e->pa,
		.prot = e->prot,
		.table_hpa = e->table_hpa,
		.nested_prot = e->host_prot,
		.nested_level = e->host_level,
	};
	return true;
}

static void wc_guest_psc_fill(void *ctx, uint64_t gva, const struct nw_psc_hit *hit)
{
	tlb_psc_fill(ctx, false, gva, hit);
}

static bool wc_nested_psc_lookup(void *ctx, uint64_t gpa, struct nw_psc_hit *hit)
{
	struct nw_tlb *t = ctx;
	struct nw_tlb_entry *e;

	t->cur.gpa = gpa;
	if (!(e = tlb_psc_lookup(t, true, gpa)))
		return false;
	*hit = (struct nw_psc_hit){ .level = e->size - 1, .table = e->pa, .prot = e->prot };
	return true;
}

static void wc_nested_psc_fill(void *ctx, uint64_t gpa, const struct nw_psc_hit *hit)
{
	tlb_psc_fill(ctx, true, gpa, hit);
}

/*
 * A nested-TLB entry whose leaf was clean under nested A/D serves reads
 * only: a write through it must walk, to set D (the CPU does the same
 * with a TLB entry not marked dirty). The hook does not say whether this
 * GPA is written, so the access of the whole walk decides: a guest table
 * page has D set by its first use as a table when table accesses are
 * writes, and by the guest's own stores into it otherwise.
 */
static bool wc_nested_tlb_lookup(void *ctx, uint64_t gpa, struct nw_walk1d *hw)
{
	struct nw_tlb *t = ctx;
	struct nw_tlb_entry *e;

	t->cur.gpa = gpa;
	if (!tlb_present(t, NW_SID_NTLB))
		return false;
	e = tlb_ntlb_lookup(t, gpa);
	if (!e || (!e->dirty && (t->cur.access & NW_ACC_WRITE))) {
		t->stats.ntlb_misses++;
		return false;
	}
	t->stats.ntlb_hits++;
	t->cur.hits++;
	/* The header; n = 0: no entries were read. */
	hw->status = NW_W1D_OK;
	hw->level = e->page_level;
	hw->pa = e->pa + (gpa - e->addr);
	hw->prot = e->prot;
	hw->leaf = e->value;
	hw->n = 0;
	return true;
}

static void wc_nested_tlb_fill(void *ctx, uint64_t gpa, const struct nw_walk1d *hw)
{
	struct nw_tlb *t = ctx;
	const struct nw_fmt *hf = t->cur.hfmt;
	uint64_t a = t->cur.nested_ad ? hf->accessed : 0;

	if (hw->status != NW_W1D_OK || hw->n < 1)
		return;
	/* The leaf as the walk left it: its A/D update was just made. */
	uint64_t leaf = nw_acc_read(t->cur.acc, hw->entry_pa[hw->n - 1]);
	bool dirty = !t->cur.nested_ad || (leaf & hf->dirty);
	tlb_ntlb_fill(t, gpa, hw, leaf, dirty);

	for (int i = 0; i + 1 < hw->n; i++) {
		int level = hw->level + (hw->n - 1 - i);
		tlb_pwc_fill(t, NW_DIM_HOST, level, hw->entry_pa[i], hw->entry[i] | a, gpa);
	}
}

static bool wc_entry_lookup(void *ctx, char dim, int level, uint64_t pa, uint64_t *entry)
{
	struct nw_tlb *t = ctx;
	int d = dim == NW_DIM_HOST;
	struct nw_tlb_entry *e;

	if (!tlb_present(t, NW_SID_PWC))
		return false;
	e = tlb_pwc_lookup(t, dim, level, pa, d ? t->cur.gpa : t->cur.gva);
	if (!e) {
		t->stats.pwc_misses[d]++;
		return false;
	}
	t->stats.pwc_hits[d]++;
	t->cur.hits++;
	*entry = e->value;
	return true;
}

void tlb_walk_cache_init(struct nw_tlb *t)
{
	t->wcache = (struct nw_walk_cache){
		.ctx = t,
		.nested_tlb_lookup = wc_nested_tlb_lookup,
		.nested_tlb_fill = wc_nested_tlb_fill,
		.guest_psc_lookup = wc_guest_psc_lookup,
		.guest_psc_fill = wc_guest_psc_fill,
		.nested_psc_lookup = wc_nested_psc_lookup,
		.nested_psc_fill = wc_nested_psc_fill,
		.entry_lookup = wc_entry_lookup,
	};
}

void tlb_pwc_fill_guest(struct nw_tlb *t, const struct nw_fmt *gf, uint64_t va,
			const struct nw_walk *w)
{
	if (!tlb_present(t, NW_SID_PWC))
		return;
	for (unsigned i = 0; i < w->n_refs; i++) {
		const struct nw_walk_ref *r = &w->refs[i];
		uint64_t e = r->entry;

		if (r->dim != NW_DIM_GUEST || gf->leaf(gf, e, r->level))
			continue;
		for (unsigned j = 0; j < w->n_ad; j++)
			if (w->ad[j].pa == r->pa)
				e |= w->ad[j].bits;
		if (gf->accessed && !(e & gf->accessed))
			continue;
		tlb_pwc_fill(t, NW_DIM_GUEST, r->level, r->pa, e, va);
	}
}
