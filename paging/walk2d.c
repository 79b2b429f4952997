/* SPDX-License-Identifier: MIT */
/*
 * The two-dimensional walk (SDM Vol. 3C §29.3.2, AMD APM Vol. 2 §15.25).
 *
 * For each guest level the walker first translates the guest table's GPA
 * with a nested walk, then reads the guest entry at the resulting HPA. The
 * final GPA gets one more nested walk. Vendor rules stay in the nested
 * format's hooks: which rights a nested access needs, and how a nested fault
 * is reported (EPT violation or misconfiguration, or NPF). The guest side is
 * x86-64, whose rules live in x86_perm.c.
 *
 * Order of events, as on hardware, with nestwalk's A/D policy:
 *  1. guest walk: nested walk of each guest table, then its entry read;
 *     a guest not-present or reserved-bit fault stops it with #PF;
 *  2. guest permission check: #PF;
 *  3. nested walk of the final GPA: EPT violation/misconfig or NPF;
 *  4. guest A/D updates, which under EPT without A/D are writes the EPT must
 *     allow (FACTS §3: 0x0B "when the guest must set an A/D bit").
 * Each successful nested walk sets its own A/D flags at once, since those
 * entries really were used even if the guest access later faults.
 */

#include <errno.h>
#include <string.h>

#include <nestwalk/mem.h>
#include <nestwalk/walk.h>

#include "fmt_fast.h"
#include "x86_perm.h"

struct guest_step {
	uint64_t gpa;           /* address of the guest entry */
	uint64_t hpa;           /* ... and where it lives */
	uint64_t entry;
	int level;
	uint32_t prot;          /* guest rights gathered down to this entry */
	struct nw_walk1d hw;    /* the nested walk of the entry's table page */
};

struct walk2d {
	const struct nw_walk2d_cfg *c;
	struct nw_walk *w;
	struct nw_walk_src hsrc;   /* the nested dimension */
	struct nw_walk_src gsrc;   /* the guest dimension's entry reads */
	unsigned pt_access;        /* nested access kind of a guest table read */
	bool pt_writes;            /* guest table accesses are nested writes */
	bool nested_ad;            /* nested walks maintain A/D */
};

static const uint32_t ALL_RIGHTS = NW_PROT_RWX | NW_PROT_U;

/* Offer every non-leaf entry of a successful nested walk to the caches. */
static void nested_fill(struct walk2d *s, uint64_t gpa, const struct nw_walk1d *hw,
			int level, uint32_t prot)
{
	const struct nw_walk_cache *cache = s->c->cache;
	const struct nw_fmt *f = s->c->hfmt;

	if (!cache)
		return;
	if (cache->nested_tlb_fill)
		cache->nested_tlb_fill(cache->ctx, gpa, hw);
	if (!cache->nested_psc_fill)
		return;
	for (int i = 0; i + 1 < hw->n; i++, level--) {
		prot &= nw_fmt_prot_k(f, f->kind, hw->entry[i], level);
		struct nw_psc_hit hit = {
			.level = level - 1, .table = nw_fmt_addr_k(f, f->kind, hw->entry[i], level),
			.prot = prot,
		};
		cache->nested_psc_fill(cache->ctx, gpa, &hit);
	}
}

/*
 * Translate one GPA through the nested dimension. True with hw filled, or
 * false with the vendor's exit in s->w.
 */
static bool nested_translate(struct walk2d *s, const struct nw_nested_req *rq,
			     struct nw_walk1d *hw)
{
	const struct nw_walk2d_cfg *c = s->c;
	const struct nw_walk_cache *cache = c->cache;
	const struct nw_fmt *f = c->hfmt;
	bool tlb_hit = false;
	int level = c->hlevels;
	uint32_t prot = ALL_RIGHTS;
	uint64_t table = c->hroot;

	if (cache && cache->nested_tlb_lookup && cache->nested_tlb_lookup(cache->ctx, rq->gpa, hw)) {
		tlb_hit = true;
		s->w->cache_hits += (unsigned)(c->hlevels - hw->level + 1);
	} else {
		struct nw_psc_hit hit;
		if (cache && cache->nested_psc_lookup &&
		    cache->nested_psc_lookup(cache->ctx, rq->gpa, &hit)) {
			s->w->cache_hits += (unsigned)(c->hlevels - hit.level);
			level = hit.level;
			table = hit.table;
			prot = hit.prot;
		}
		nw_walk_tables_from(&s->hsrc, table, level, prot, rq->gpa, s->w, hw);
	}
	if (hw->status != NW_W1D_OK || !f->nested_permit(f, hw, rq, c->hmode)) {
		f->nested_fault(f, hw, rq, c->hmode, s->w);
		return false;
	}
	if (!tlb_hit) {
		if (s->nested_ad)
			nw_walk_set_ad(f, c->acc, hw, rq->access & NW_ACC_WRITE, s->w);
		nested_fill(s, rq->gpa, hw, level, prot);
	}
	return true;
}

static void guest_fault(struct walk2d *s, uint32_t err, uint64_t gva, int level)
{
	s->w->fault = NW_FAULT_PF;
	s->w->pf_error = err;
	s->w->fault_addr = gva;
	s->w->fault_level = level;
}

/* A guest-PSC hit stands in for the nested walk of the table it names. */
static void hw_from_psc(const struct nw_psc_hit *hit, uint64_t entry_gpa, struct nw_walk1d *hw)
{
	/* The header; n = 0: no entries were read. */
	hw->status = NW_W1D_OK;
	hw->level = hit->nested_level;
	hw->prot = hit->nested_prot;
	hw->pa = hit->table_hpa + (entry_gpa & (NW_PAGE_SIZE - 1));
	hw->leaf = 0;
	hw->n = 0;
}

/* Offer every non-leaf guest entry of a successful walk to the guest PSC. */
static void guest_fill(struct walk2d *s, uint64_t gva, const struct guest_step *st, int n)
{
	const struct nw_walk_cache *cache = s->c->cache;
	const struct nw_fmt *f = s->c->gfmt;

	if (!cache || !cache->guest_psc_fill)
		return;
	for (int i = 0; i + 1 < n; i++) {
		struct nw_psc_hit hit = {
			.level = st[i].level - 1,
			.table = nw_fmt_addr_k(f, f->kind, st[i].entry, st[i].level),
			.prot = st[i].prot,
			.table_hpa = st[i + 1].hpa & NW_PAGE_MASK,
			.nested_prot = st[i + 1].hw.prot,
			.nested_level = st[i + 1].hw.level,
		};
		cache->guest_psc_fill(cache->ctx, gva, &hit);
	}
}

/* Step 4: the guest's A/D updates, after the EPT has allowed them. */
static bool guest_set_ad(struct walk2d *s, uint64_t gva, unsigned access,
			 const struct guest_step *st, int n)
{
	const struct nw_walk2d_cfg *c = s->c;
	const struct nw_fmt *gf = c->gfmt;
	struct nw_walk1d gw; /* the entries are filled below; A/D reads nothing else */

	gw.status = NW_W1D_OK;
	gw.n = n;

	for (int i = 0; i < n; i++) {
		uint64_t bits = gf->accessed | ((i == n - 1 && (access & NW_ACC_WRITE)) ? gf->dirty : 0);

		gw.entry_pa[i] = st[i].hpa;
		gw.entry[i] = st[i].entry;
		if (s->pt_writes || (st[i].entry & bits) == bits)
			continue;
		struct nw_nested_req rq = {
			.gpa = st[i].gpa, .gla = gva, .access = NW_ACC_WRITE, .pt_read_write = true,
		};
		if (!c->hfmt->nested_permit(c->hfmt, &st[i].hw, &rq, c->hmode)) {
			c->hfmt->nested_fault(c->hfmt, &st[i].hw, &rq, c->hmode, s->w);
			return false;
		}
	}
	nw_walk_set_ad(gf, c->acc, &gw, access & NW_ACC_WRITE, s->w);
	return true;
}

static int check_cfg(const struct nw_walk2d_cfg *c)
{
	if (!c || !c->acc || !c->gfmt || !c->hfmt || !c->hfmt->nested_permit ||
	    !c->hfmt->nested_fault)
		return -EINVAL;
	if ((c->gmode.levels != 4 && c->gmode.levels != 5) || (c->hlevels != 4 && c->hlevels != 5))
		return -EINVAL;
	return 0;
}

int nw_walk2d(const struct nw_walk2d_cfg *c, uint64_t gva, unsigned access, struct nw_walk *w)
{
	const struct nw_fmt *gf;
	const struct nw_walk_cache *cache;
	struct guest_step st[NW_MAX_LEVELS];
	struct nw_psc_hit ghit;
	bool resumed = false;
	int rc = check_cfg(c);

	if (rc < 0)
		return rc;
	if (!nw_x86_canonical(gva, c->gmode.levels))
		return -ERANGE;
	gf = c->gfmt;
	cache = c->cache;
	nw_walk_clear(w);

	struct walk2d s = {
		.c = c, .w = w,
		.hsrc = { .fmt = c->hfmt, .acc = c->acc, .cache = cache, .dim = NW_DIM_HOST,
			  .mode = c->hmode },
		.gsrc = { .fmt = gf, .acc = c->acc, .cache = cache, .dim = NW_DIM_GUEST,
			  .mode = c->gmode.nxe ? NW_FMT_NXE : 0 },
	};
	s.pt_writes = (c->hfmt->nested_flags & NW_NESTED_PT_WRITES) || (c->hmode & NW_FMT_EPT_AD);
	s.nested_ad = c->hfmt->accessed &&
		      ((c->hfmt->nested_flags & NW_NESTED_AD) || (c->hmode & NW_FMT_EPT_AD));
	s.pt_access = s.pt_writes ? NW_ACC_WRITE : NW_ACC_READ;

	/* Step 1: the guest walk, each table through the nested dimension. */
	int level = c->gmode.levels;
	uint64_t table = c->gcr3 & NW_PTE_ADDR_MASK;
	uint32_t prot = ALL_RIGHTS;
	if (cache && cache->guest_psc_lookup && cache->guest_psc_lookup(cache->ctx, gva, &ghit)) {
		/* Skipped: the guest entries above, and the nested walks of their tables. */
		w->cache_hits += (unsigned)((c->gmode.levels - ghit.level) * (c->hlevels + 1));
		level = ghit.level;
		table = ghit.table;
		prot = ghit.prot;
		resumed = true;
	}

	int n = 0;
	for (; level >= 1; level--, n++) {
		struct guest_step *g = &st[n];
		uint64_t e;

		g->gpa = table + NW_LEVEL_INDEX(gva, level) * sizeof(uint64_t);
		g->level = level;
		if (resumed && n == 0) {
			hw_from_psc(&ghit, g->gpa, &g->hw);
			w->cache_hits += (unsigned)c->hlevels;
		} else {
			struct nw_nested_req rq = {
				.gpa = g->gpa, .gla = gva, .access = s.pt_access,
				.pt_read_write = s.pt_writes,
			};
			if (!nested_translate(&s, &rq, &g->hw))
				return 0;
		}
		g->hpa = g->hw.pa;
		if (cache && cache->entry_lookup &&
		    cache->entry_lookup(cache->ctx, NW_DIM_GUEST, level, g->hpa, &e)) {
			w->cache_hits++;
		} else {
			e = nw_acc_read(c->acc, g->hpa);
			if (w->n_refs < NW_WALK_MAX_REFS)
				w->refs[w->n_refs++] = (struct nw_walk_ref){
					.pa = g->hpa, .entry = e, .level = (uint8_t)level, .dim = NW_DIM_GUEST,
				};
		}
		g->entry = e;
		uint32_t ep = 0;
		uint64_t next = 0;
		enum nw_fmt_step step = nw_fmt_step(gf, gf->kind, e, level, s.gsrc.mode, &ep, &next);
		if (step == NW_STEP_NOT_PRESENT) {
			guest_fault(&s, x86_perm_fault(0, 0, access, &c->gmode) & ~NW_PFEC_P, gva, level);
			return 0;
		}
		if (step == NW_STEP_RSVD) {
			guest_fault(&s, x86_perm_fault(0, 0, access, &c->gmode) | NW_PFEC_RSVD, gva, level);
			return 0;
		}
		prot &= ep;
		g->prot = prot;
		if (step == NW_STEP_LEAF)
			break;
		table = next;
	}
	n++;

	/* Step 2: the guest's own permission check. */
	struct guest_step *leaf = &st[n - 1];
	struct nw_attr la;
	if (gf->kind == NW_FMT_KIND_X86) /* only the key is used below */
		la.pkey = (uint8_t)((leaf->entry & NW_PTE_PKEY_MASK) >> NW_PTE_PKEY_SHIFT);
	else
		gf->attr(gf, leaf->entry, leaf->level, &la);
	uint32_t err = x86_perm_fault(prot, la.pkey, access, &c->gmode);
	if (err) {
		guest_fault(&s, err, gva, leaf->level);
		return 0;
	}

	/* Step 3: the final GPA. */
	uint64_t gpa = nw_fmt_addr_k(gf, gf->kind, leaf->entry, leaf->level) +
		       (gva & (NW_LEVEL_SIZE(leaf->level) - 1));
	struct nw_walk1d fhw;
	struct nw_nested_req rq = {
		.gpa = gpa, .gla = gva, .access = access & (NW_ACC_WRITE | NW_ACC_FETCH),
		.final = true, .guest_prot = prot,
	};
	if (!nested_translate(&s, &rq, &fhw))
		return 0;

	/* Step 4: guest A/D. */
	if (!guest_set_ad(&s, gva, access, st, n))
		return 0;
	guest_fill(&s, gva, st, n);

	w->pa = fhw.pa;
	w->level = leaf->level;
	w->host_level = fhw.level;
	w->page_size = NW_LEVEL_SIZE(leaf->level < fhw.level ? leaf->level : fhw.level);
	w->prot = prot;
	w->host_prot = fhw.prot;
	w->pkey = la.pkey;
	return 0;
}
