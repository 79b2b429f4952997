/* SPDX-License-Identifier: MIT */
/*
 * One access through the caches: TLB lookup in the current context, the
 * walk on a miss, the fill, the CPU's own invalidation on a fault, and the
 * figures (hits, misses, references, cycles).
 *
 * Cycles, when a latency model is attached:
 *  - cycles.tlb: an L1 TLB lookup, plus an L2 lookup after an L1 miss;
 *  - cycles.psc: each PSC, PWC or nested-TLB hit in a walk;
 *  - cycles.walk.guest/host: each reference, by the level of the simulated
 *    hierarchy where its line was found;
 *  - cycles.data: the data line, likewise;
 *  - cycles.vmexit: one round trip per nested fault.
 */

#include <errno.h>
#include <string.h>

#include "../paging/x86_perm.h"
#include "tlb_internal.h"

static bool nested(const struct nw_tlb *t)
{
	return t->ctx.nest != NW_NEST_NONE;
}

static const struct nw_x86_mode *guest_mode(const struct nw_tlb *t, const struct nw_tlb_walker *wk)
{
	return nested(t) ? &wk->w2d.gmode : &wk->mode;
}

static bool nested_ad(const struct nw_walk2d_cfg *c)
{
	return c->hfmt->accessed &&
	       ((c->hfmt->nested_flags & NW_NESTED_AD) || (c->hmode & NW_FMT_EPT_AD));
}

int nw_tlb_walk(struct nw_tlb *t, const struct nw_tlb_walker *wk, uint64_t va, unsigned access,
		struct nw_walk *w)
{
	bool cached = !(wk->flags & NW_TLB_WALK_UNCACHED);

	t->cur = (struct tlb_walk_state){ .gva = va, .access = access };
	if (!nested(t))
		return tlb_walk1d(t, wk, va, access, cached, w);

	struct nw_walk2d_cfg c = wk->w2d;
	c.cache = cached ? &t->wcache : NULL;
	if (!c.hfmt || !c.acc || !c.gfmt)
		return -EINVAL;
	t->cur.hfmt = c.hfmt;
	t->cur.acc = c.acc;
	t->cur.nested_ad = nested_ad(&c);
	int rc = nw_walk2d(&c, va, access, w);
	if (rc == 0 && cached && w->fault == NW_FAULT_NONE)
		tlb_pwc_fill_guest(t, c.gfmt, va, w);
	return rc;
}

/* The guest leaf a successful walk read last (PWCs never hold leaves). */
static uint64_t guest_leaf(const struct nw_walk *w)
{
	for (unsigned i = w->n_refs; i-- > 0;)
		if (w->refs[i].dim == NW_DIM_GUEST)
			return w->refs[i].entry;
	return 0;
}

/* What a successful walk puts in the TLBs. */
static void xlat_from_walk(const struct nw_tlb *t, const struct nw_tlb_walker *wk, uint64_t va,
			   unsigned access, const struct nw_walk *w, struct tlb_xlat *x)
{
	const struct nw_fmt *gf = nested(t) ? wk->w2d.gfmt : wk->fmt;
	uint64_t leaf = guest_leaf(w);
	struct nw_attr attr;

	gf->attr(gf, leaf, w->level, &attr);
	*x = (struct tlb_xlat){
		.va = va, .pa = w->pa, .level = w->level, .prot = w->prot, .pkey = w->pkey,
		.global = attr.global,
	};
	bool leaf_dirty = gf->dirty && (leaf & gf->dirty);
	if (nested(t)) {
		x->gpa = gf->addr(gf, leaf, w->level) + (va & (NW_LEVEL_SIZE(w->level) - 1));
		x->host_level = w->host_level;
		x->host_prot = w->host_prot;
		/* Under nested A/D the nested leaf's D is unknown here: writes walk. */
		leaf_dirty = leaf_dirty && !nested_ad(&wk->w2d);
	}
	x->dirty = (access & NW_ACC_WRITE) || leaf_dirty;
}

/* A cached translation serves the access only if its rights (both
 * dimensions) and dirty state cover it; otherwise the CPU walks. */
static bool usable(const struct nw_tlb *t, const struct nw_tlb_walker *wk,
		   const struct nw_tlb_entry *e, uint64_t va, unsigned access)
{
	if (x86_perm_fault(e->prot, e->pkey, access, guest_mode(t, wk)))
		return false;
	if ((access & NW_ACC_WRITE) && !e->dirty)
		return false;
	if (!nested(t))
		return true;
	const struct nw_fmt *hf = wk->w2d.hfmt;
	/* The header only: n = 0 says the entry arrays hold nothing, and
	 * zeroing them too would cost more than the whole check. */
	struct nw_walk1d hw;
	hw.status = NW_W1D_OK;
	hw.level = e->host_level;
	hw.prot = e->host_prot;
	hw.pa = e->pa + (va - e->addr);
	hw.leaf = 0;
	hw.n = 0;
	struct nw_nested_req rq = {
		.gpa = e->gpa + (va - e->addr), .gla = va,
		.access = access & (NW_ACC_WRITE | NW_ACC_FETCH), .final = true, .guest_prot = e->prot,
	};
	return hf->nested_permit(hf, &hw, &rq, wk->w2d.hmode);
}

/*
 * The generation of the hit-check cache for this walker's current mode:
 * a new one whenever anything the rights check reads besides the entry and
 * the access kind differs from the last access's.
 */
static uint64_t perm_generation(struct nw_tlb *t, const struct nw_tlb_walker *wk)
{
	struct tlb_perm_key *k = &t->perm_key;
	const struct nw_x86_mode *gm = guest_mode(t, wk);
	bool n = nested(t);
	const struct nw_fmt *hf = n ? wk->w2d.hfmt : NULL;

	if (memcmp(&k->mode, gm, sizeof(*gm)) == 0 && k->nest == (unsigned)t->ctx.nest &&
	    k->hfmt == hf &&
	    (!n || (k->hmode == wk->w2d.hmode && k->permit == hf->nested_permit &&
		    k->hpriv == hf->priv)))
		return t->perm_gen;
	memset(k, 0, sizeof(*k));
	memcpy(&k->mode, gm, sizeof(*gm));
	k->nest = (unsigned)t->ctx.nest;
	k->hfmt = hf;
	if (n) {
		k->hmode = wk->w2d.hmode;
		k->permit = hf->nested_permit;
		k->hpriv = hf->priv;
	}
	return ++t->perm_gen;
}

/* The access kinds the hit-check cache holds: every NW_ACC_* combination. */
#define TLB_OK_KINDS 16u

/*
 * usable(), remembered: the outcome depends only on the entry (fixed from
 * its fill to its replacement, which zeroes ok), the access kind and the
 * mode that perm_generation tracks, so a kind that passed once on this
 * entry under this generation passes again. The nested hooks' answer for a
 * final translation depends on the nested rights and the access, not on
 * the address within the page (nw_fmt.nested_permit). Only passes are
 * remembered; a failed check walks, and the walk's fill replaces the entry.
 */
static __attribute__((noinline)) bool usable_check(struct nw_tlb *t,
						    const struct nw_tlb_walker *wk,
						    const struct nw_tlb_entry *e, uint64_t va,
						    unsigned access, uint64_t gen, uint64_t *ok,
						    uint64_t bit)
{
	if (!usable(t, wk, e, va, access))
		return false;
	if (bit)
		*ok = ((*ok >> 16) == gen ? *ok : gen << 16) | bit;
	return true;
}

/* The remembered outcome inline; the check itself out of line. */
static inline bool usable_cached(struct nw_tlb *t, const struct nw_tlb_walker *wk,
				 const struct nw_tlb_entry *e, uint64_t va, unsigned access,
				 uint64_t gen)
{
	uint64_t *ok = &t->ok[e - t->ent0];
	uint64_t bit = access < TLB_OK_KINDS ? 1ull << access : 0;

	if (bit && (*ok & bit) && (*ok >> 16) == gen)
		return true;
	return usable_check(t, wk, e, va, access, gen, ok, bit);
}

static void result_from_entry(const struct nw_tlb_entry *e, uint64_t va, struct nw_walk *w)
{
	int page = e->host_level && e->host_level < e->page_level ? e->host_level : e->page_level;

	/* w was cleared by the caller: a hit sets only the translation. */
	w->pa = e->pa + (va - e->addr);
	w->level = e->page_level;
	w->host_level = e->host_level;
	w->page_size = NW_LEVEL_SIZE(page);
	w->prot = e->prot;
	w->host_prot = e->host_prot;
	w->pkey = e->pkey;
}

static void xlat_from_entry(const struct nw_tlb_entry *e, uint64_t va, struct tlb_xlat *x)
{
	*x = (struct tlb_xlat){
		.va = va, .pa = e->pa + (va - e->addr), .gpa = e->gpa + (va - e->addr),
		.level = e->page_level, .host_level = e->host_level, .prot = e->prot,
		.host_prot = e->host_prot, .pkey = e->pkey, .global = e->tag.global, .dirty = e->dirty,
	};
}

static uint64_t charge(struct nw_tlb *t, enum nw_cyc cause, uint64_t cycles)
{
	t->stats.cycles[cause] += cycles;
	return cycles;
}

/* Account a walk: references by dimension and by where their lines were. */
static uint64_t account_walk(struct nw_tlb *t, const struct nw_walk *w)
{
	struct nw_tlb_stats *st = &t->stats;
	uint64_t cyc = 0;

	st->walks++;
	st->refs_skipped += w->cache_hits;
	if (w->fault != NW_FAULT_NONE)
		st->walk_faults++;
	for (unsigned i = 0; i < w->n_refs; i++) {
		bool host = w->refs[i].dim == NW_DIM_HOST;
		if (host)
			st->refs_host++;
		else
			st->refs_guest++;
		if (!t->lat)
			continue;
		enum nw_mem_level where = nw_lat_touch(t->lat, w->refs[i].pa);
		st->mem_pt[where]++;
		cyc += charge(t, host ? NW_CYC_WALK_HOST : NW_CYC_WALK_GUEST,
			      nw_lat_cycles(t->lat, where));
	}
	if (t->lat)
		cyc += charge(t, NW_CYC_PSC, (uint64_t)t->cur.hits * nw_lat_config(t->lat)->psc_cycles);
	return cyc;
}

/* The invalidation the CPU makes when it delivers the fault (FACTS §4). */
static uint64_t fault_invalidate(struct nw_tlb *t, const struct nw_walk *w)
{
	switch (w->fault) {
	case NW_FAULT_PF:
		nw_tlb_on_pf(t, w->fault_addr);
		return 0;
	case NW_FAULT_EPT_VIOLATION:
		nw_tlb_on_ept_violation(t, w->exit.gpa, w->exit.gla, w->exit.gla_valid);
		break;
	case NW_FAULT_EPT_MISCONFIG:
		nw_tlb_on_ept_misconfig(t, w->exit.gpa);
		break;
	case NW_FAULT_NPF: /* FACTS §4 lists no invalidation for a nested page fault */
	case NW_FAULT_NONE:
		break;
	}
	if (w->fault == NW_FAULT_NONE || !t->lat)
		return 0;
	return charge(t, NW_CYC_VMEXIT, nw_lat_config(t->lat)->vmexit_cycles);
}

int nw_tlb_access(struct nw_tlb *t, const struct nw_tlb_walker *wk, uint64_t va,
		  unsigned access, struct nw_tlb_xlat *x)
{
	bool cached = !(wk->flags & NW_TLB_WALK_UNCACHED);
	enum nw_tlb_lvl l1 = (access & NW_ACC_FETCH) ? NW_TLBL_L1I : NW_TLBL_L1D;
	const struct nw_lat_cfg *lc = t->lat ? nw_lat_config(t->lat) : NULL;
	struct nw_tlb_stats *st = &t->stats;
	const struct nw_x86_mode *gm = guest_mode(t, wk);
	struct nw_tlb_entry *e = NULL;
	struct tlb_xlat xl;

	/*
	 * Clear the header only: the reference and A/D logs (~1.9 KB) are
	 * written by a walk as it makes them, and a hit logs nothing.
	 */
	nw_walk_clear(&x->w);
	x->tlb_level = 0;
	x->cycles = 0;
	if (gm->levels != 4 && gm->levels != 5)
		return -EINVAL;
	if (!nw_x86_canonical(va, gm->levels))
		return -ERANGE;
	st->accesses++;

	if (cached) {
		uint64_t gen = perm_generation(t, wk);

		if (lc)
			x->cycles += charge(t, NW_CYC_TLB, lc->tlb_l1_cycles);
		e = tlb_level_lookup(t, l1, va);
		if (e && usable_cached(t, wk, e, va, access, gen)) {
			x->tlb_level = 1;
		} else {
			if (lc)
				x->cycles += charge(t, NW_CYC_TLB, lc->tlb_l2_cycles);
			e = tlb_level_lookup(t, NW_TLBL_L2, va);
			if (e && usable_cached(t, wk, e, va, access, gen)) {
				x->tlb_level = 2;
				xlat_from_entry(e, va, &xl);
				tlb_level_fill(t, l1, &xl);
			}
		}
	}

	if (x->tlb_level) {
		st->tlb_hits[x->tlb_level == 1 ? l1 : NW_TLBL_L2][e->size]++;
		if (x->tlb_level == 2)
			st->tlb_misses[l1][e->size]++;
		result_from_entry(e, va, &x->w);
	} else {
		int rc = nw_tlb_walk(t, wk, va, access, &x->w);
		if (rc < 0) {
			st->accesses--;
			return rc;
		}
		x->cycles += account_walk(t, &x->w);
		int ps = 0;
		if (x->w.fault == NW_FAULT_NONE) {
			ps = x->w.host_level && x->w.host_level < x->w.level ? x->w.host_level
									  : x->w.level;
			if (cached) {
				xlat_from_walk(t, wk, va, access, &x->w, &xl);
				tlb_level_fill(t, NW_TLBL_L2, &xl);
				tlb_level_fill(t, l1, &xl);
			}
		}
		if (cached) {
			st->tlb_misses[l1][ps]++;
			st->tlb_misses[NW_TLBL_L2][ps]++;
		}
		x->cycles += fault_invalidate(t, &x->w);
	}

	if (x->w.fault == NW_FAULT_NONE && !(wk->flags & NW_TLB_WALK_NO_DATA) && t->lat) {
		enum nw_mem_level where = nw_lat_touch(t->lat, x->w.pa);
		st->mem_data[where]++;
		x->cycles += charge(t, NW_CYC_DATA, nw_lat_cycles(t->lat, where));
	}
	return 0;
}

void nw_tlb_charge_vmexit(struct nw_tlb *t)
{
	if (t->lat)
		charge(t, NW_CYC_VMEXIT, nw_lat_config(t->lat)->vmexit_cycles);
}
