/* SPDX-License-Identifier: MIT */
/*
 * Lookups and fills in the current context (SDM Vol. 3C §28.3.2):
 *  - EPT/NPT off: linear mappings of the current VPID and PCID, and global
 *    linear TLB entries of the current VPID under any PCID;
 *  - EPT/NPT on: combined mappings of the current VPID, PCID and EP4TA
 *    (global ones under any PCID) for linear addresses, and guest-physical
 *    mappings of the current EP4TA for guest-physical ones. Under NPT the
 *    ASID stands in for the EP4TA (AMD tags the whole TLB by ASID).
 *
 * A fill replaces the entry a lookup would have found for the same region,
 * so a structure never holds two entries one lookup could both use.
 */

#include "tlb_internal.h"

struct nw_tlb_tag tlb_ctx_tag(const struct nw_tlb *t, enum nw_map_kind kind, bool global)
{
	const struct nw_tlb_ctx *c = &t->ctx;
	struct nw_tlb_tag g = { .kind = (uint8_t)kind, .ep4ta = t->ep4ta };

	if (kind == NW_MAP_GPHYS) {
		/* Intel: guest-physical mappings carry no VPID; AMD: the ASID. */
		g.vpid = c->nest == NW_NEST_NPT ? c->vpid : 0;
		return g;
	}
	g.global = global;
	g.vpid = c->vpid;
	g.pcid = c->pcid;
	if (kind == NW_MAP_LINEAR)
		g.ep4ta = 0;
	return g;
}

/* ---- translations: TLB banks and the nested TLB ---- */

/* The entry of structure sid, holding pages of `size`, that serves addr. */
static inline struct nw_tlb_entry *xlat_find(struct nw_tlb *t, enum nw_tlb_sid sid, int size,
				      uint64_t addr)
{
	struct tlb_struct *s = &t->s[sid];
	uint64_t base_addr = tlb_align(addr, size);
	size_t base = nw_sa_base(&s->sa, addr >> NW_LEVEL_SHIFT(size));

	for (size_t i = base; i < base + s->sa.ways; i++) {
		struct nw_tlb_entry *e = &s->ent[i];
		/* The address first: it rules out the most ways. */
		if (e->addr == base_addr && e->size == size && nw_sa_valid(&s->sa, i) &&
		    tlb_ctx_match(t, e, true)) {
			nw_sa_touch(&s->sa, i);
			return e;
		}
	}
	return NULL;
}

/* Probe every bank, and in each every size it holds, smallest first. */
static inline struct nw_tlb_entry *xlat_lookup(struct nw_tlb *t, enum nw_tlb_sid first, int banks,
					uint64_t addr)
{
	for (int b = 0; b < banks; b++) {
		if (!tlb_present(t, first + b))
			continue;
		for (int size = 1; size <= 3; size++) {
			if (!(t->s[first + b].sizes & NW_TLB_SZ(size)))
				continue;
			struct nw_tlb_entry *e = xlat_find(t, first + b, size, addr);
			if (e)
				return e;
		}
	}
	return NULL;
}

/* The bank that takes a page of `level`, and the size it is kept at: the
 * page's own size, else the largest smaller size a bank holds (splintering). */
static int pick_bank(const struct nw_tlb *t, enum nw_tlb_sid first, int banks, int level,
		     int *size)
{
	for (int s = level; s >= 1; s--)
		for (int b = 0; b < banks; b++)
			if (tlb_present(t, first + b) && (t->s[first + b].sizes & NW_TLB_SZ(s))) {
				*size = s;
				return first + b;
			}
	return -1;
}

/* Put e (size and addr set) into sid, over the entry a lookup would find. */
static void xlat_put(struct nw_tlb *t, enum nw_tlb_sid sid, const struct nw_tlb_entry *e)
{
	struct tlb_struct *s = &t->s[sid];
	uint64_t index = e->addr >> NW_LEVEL_SHIFT(e->size);
	size_t base = nw_sa_base(&s->sa, index);
	size_t slot = SIZE_MAX;

	for (size_t i = base; i < base + s->sa.ways && slot == SIZE_MAX; i++)
		if (nw_sa_valid(&s->sa, i) && s->ent[i].size == e->size &&
		    s->ent[i].addr == e->addr && tlb_ctx_match(t, &s->ent[i], true))
			slot = i;
	if (slot == SIZE_MAX)
		slot = nw_sa_victim(&s->sa, index);
	s->ent[slot] = *e;
	t->ok[&s->ent[slot] - t->ent0] = 0;
	nw_sa_touch(&s->sa, slot);
}

struct nw_tlb_entry *tlb_level_lookup(struct nw_tlb *t, enum nw_tlb_lvl lvl, uint64_t va)
{
	return xlat_lookup(t, tlb_level_first(lvl), tlb_level_banks(lvl), va);
}

void tlb_level_fill(struct nw_tlb *t, enum nw_tlb_lvl lvl, const struct tlb_xlat *x)
{
	int page = x->host_level && x->host_level < x->level ? x->host_level : x->level;
	int size;
	int sid = pick_bank(t, tlb_level_first(lvl), tlb_level_banks(lvl), page, &size);

	if (sid < 0)
		return;
	uint64_t base = tlb_align(x->va, size);
	uint64_t off = x->va - base;
	struct nw_tlb_entry e = {
		.tag = tlb_ctx_tag(t, t->ctx.nest != NW_NEST_NONE ? NW_MAP_COMBINED : NW_MAP_LINEAR,
				   x->global),
		.addr = base,
		.size = (uint8_t)size,
		.page_level = (uint8_t)x->level,
		.host_level = (uint8_t)x->host_level,
		.pkey = x->pkey,
		.dirty = x->dirty,
		.prot = x->prot,
		.host_prot = x->host_prot,
		.pa = x->pa - off,
		.gpa = x->host_level ? x->gpa - off : 0,
	};
	xlat_put(t, (enum nw_tlb_sid)sid, &e);
}

struct nw_tlb_entry *tlb_ntlb_lookup(struct nw_tlb *t, uint64_t gpa)
{
	return xlat_lookup(t, NW_SID_NTLB, 1, gpa);
}

void tlb_ntlb_fill(struct nw_tlb *t, uint64_t gpa, const struct nw_walk1d *hw, uint64_t leaf,
		   bool dirty)
{
	int size;

	if (pick_bank(t, NW_SID_NTLB, 1, hw->level, &size) < 0)
		return;
	uint64_t base = tlb_align(gpa, size);
	struct nw_tlb_entry e = {
		.tag = tlb_ctx_tag(t, NW_MAP_GPHYS, false),
		.addr = base,
		.size = (uint8_t)size,
		.page_level = (uint8_t)hw->level,
		.dirty = dirty,
		.prot = hw->prot,
		.pa = hw->pa - (gpa - base),
		.value = leaf,
	};
	xlat_put(t, NW_SID_NTLB, &e);
}

/* ---- prefix paging-structure caches ---- */

static enum nw_tlb_sid psc_sid(bool gphys, int level)
{
	return (enum nw_tlb_sid)((gphys ? NW_SID_GPSC2 : NW_SID_PSC2) + level - 2);
}

static struct nw_tlb_entry *psc_find(struct nw_tlb *t, enum nw_tlb_sid sid, uint64_t addr,
				     bool touch)
{
	struct tlb_struct *s = &t->s[sid];
	uint64_t prefix = tlb_align(addr, s->level);
	size_t base = nw_sa_base(&s->sa, addr >> NW_LEVEL_SHIFT(s->level));

	for (size_t i = base; i < base + s->sa.ways; i++)
		if (nw_sa_valid(&s->sa, i) && s->ent[i].addr == prefix &&
		    tlb_ctx_match(t, &s->ent[i], false)) {
			if (touch)
				nw_sa_touch(&s->sa, i);
			return &s->ent[i];
		}
	return NULL;
}

/* SDM §4.10.3.2: the PDE cache first, then the PDPTE, then the PML4E cache. */
struct nw_tlb_entry *tlb_psc_lookup(struct nw_tlb *t, bool gphys, uint64_t addr)
{
	uint64_t *hits = gphys ? t->stats.gpsc_hits : t->stats.psc_hits;
	uint64_t *misses = gphys ? t->stats.gpsc_misses : t->stats.psc_misses;

	for (int level = 2; level <= NW_MAX_LEVELS; level++) {
		enum nw_tlb_sid sid = psc_sid(gphys, level);
		if (!tlb_present(t, sid))
			continue;
		struct nw_tlb_entry *e = psc_find(t, sid, addr, true);
		if (e) {
			hits[level]++;
			t->cur.hits++;
			return e;
		}
		misses[level]++;
	}
	return NULL;
}

void tlb_psc_fill(struct nw_tlb *t, bool gphys, uint64_t addr, const struct nw_psc_hit *hit)
{
	int level = hit->level + 1;
	bool nested = t->ctx.nest != NW_NEST_NONE;

	if (level < 2 || level > NW_MAX_LEVELS)
		return;
	enum nw_tlb_sid sid = psc_sid(gphys, level);
	if (!tlb_present(t, sid))
		return;
	struct tlb_struct *s = &t->s[sid];
	struct nw_tlb_entry *old = psc_find(t, sid, addr, false);
	size_t slot = old ? (size_t)(old - s->ent)
			  : nw_sa_victim(&s->sa, addr >> NW_LEVEL_SHIFT(level));

	s->ent[slot] = (struct nw_tlb_entry){
		.tag = tlb_ctx_tag(t, gphys ? NW_MAP_GPHYS : nested ? NW_MAP_COMBINED : NW_MAP_LINEAR,
				   false),
		.addr = tlb_align(addr, level),
		.size = (uint8_t)level,
		.prot = hit->prot,
		.pa = hit->table,
		.gpa = !gphys && nested ? hit->table : 0,
		.table_hpa = hit->table_hpa,
		.host_prot = hit->nested_prot,
		.host_level = (uint8_t)hit->nested_level,
	};
	nw_sa_touch(&s->sa, slot);
}

/* ---- the page walk cache: entries by their HPA ---- */

/*
 * Besides the HPA, a PWC entry remembers the region it was filled for (the
 * linear or guest-physical range the cached entry maps), and a lookup must
 * be for that region too. That costs hits only for a table linked twice in
 * one address space, and makes the address-scoped invalidations (#PF, EPT
 * violation, misconfiguration) exact: an entry is "for" an address when a
 * walk of that address could use it.
 */
static struct nw_tlb_entry *pwc_find(struct nw_tlb *t, char dim, int level, uint64_t pa,
				     uint64_t addr)
{
	struct tlb_struct *s = &t->s[NW_SID_PWC];
	size_t base = nw_sa_base(&s->sa, pa >> 3);

	for (size_t i = base; i < base + s->sa.ways; i++) {
		struct nw_tlb_entry *e = &s->ent[i];
		if (nw_sa_valid(&s->sa, i) && e->pa == pa && e->dim == dim && e->size == level &&
		    tlb_covers(e, addr) && tlb_ctx_match(t, e, false))
			return e;
	}
	return NULL;
}

struct nw_tlb_entry *tlb_pwc_lookup(struct nw_tlb *t, char dim, int level, uint64_t pa,
				    uint64_t addr)
{
	struct nw_tlb_entry *e;

	if (!tlb_present(t, NW_SID_PWC))
		return NULL;
	e = pwc_find(t, dim, level, pa, addr);
	if (e)
		nw_sa_touch(&t->s[NW_SID_PWC].sa, (size_t)(e - t->s[NW_SID_PWC].ent));
	return e;
}

void tlb_pwc_fill(struct nw_tlb *t, char dim, int level, uint64_t pa, uint64_t value,
		  uint64_t addr)
{
	struct tlb_struct *s = &t->s[NW_SID_PWC];
	bool nested = t->ctx.nest != NW_NEST_NONE;

	if (!tlb_present(t, NW_SID_PWC))
		return;
	struct nw_tlb_entry *old = pwc_find(t, dim, level, pa, addr);
	size_t slot = old ? (size_t)(old - s->ent) : nw_sa_victim(&s->sa, pa >> 3);
	enum nw_map_kind kind = dim == NW_DIM_HOST ? NW_MAP_GPHYS
				: nested ? NW_MAP_COMBINED : NW_MAP_LINEAR;

	s->ent[slot] = (struct nw_tlb_entry){
		.tag = tlb_ctx_tag(t, kind, false),
		.addr = tlb_align(addr, level),
		.size = (uint8_t)level,
		.dim = dim,
		.pa = pa,
		.value = value,
	};
	nw_sa_touch(&s->sa, slot);
}
