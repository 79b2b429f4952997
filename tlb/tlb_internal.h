/* SPDX-License-Identifier: MIT */
#ifndef NW_TLB_INTERNAL_H
#define NW_TLB_INTERNAL_H

/* Shared by tlb/'s files. Not part of the public API. */

#include <nestwalk/mem.h>
#include <nestwalk/tlb.h>

#include "sacache.h"

/* One structure of the set: slots with LRU, and what each slot holds. */
struct tlb_struct {
	struct nw_sa sa;
	struct nw_tlb_entry *ent;  /* one per slot */
	uint8_t sizes;             /* TLB banks, NTLB: page sizes held (NW_TLB_SZ_*) */
	uint8_t level;             /* PSC, GPSC: level of the entries held */
	enum nw_tlb_class cls;
};

/* The walk in progress, as the walk-cache hooks see it (walk_cache.c). */
struct tlb_walk_state {
	uint64_t gva;              /* the linear address being translated */
	uint64_t gpa;              /* the GPA the current nested walk translates */
	unsigned access;           /* NW_ACC_* of the whole access */
	const struct nw_fmt *hfmt; /* nested format (2D walks) */
	const struct nw_acc *acc;
	bool nested_ad;            /* the nested walk maintains A/D flags */
	unsigned hits;             /* PSC/PWC/NTLB hits in this walk, for cycles */
};

/*
 * What a cached translation's rights check depends on besides the entry and
 * the access kind: the guest's paging mode (CR0.WP, CR4.SMEP/SMAP/PKE,
 * EFER.NXE, EFLAGS.AC, PKRU) and, nested, the format and mode whose
 * nested_permit judges the nested rights. None of these is part of a TLB
 * entry's tag: the CPU checks them on every hit, so a change must not be
 * answered from an outcome found under the old values (access.c).
 */
struct tlb_perm_key {
	struct nw_x86_mode mode;
	unsigned nest;
	unsigned hmode;
	const struct nw_fmt *hfmt;
	const void *hpriv;   /* the format's data (EPT: MBEC), which a re-init changes */
	bool (*permit)(const struct nw_fmt *f, const struct nw_walk1d *hw,
		       const struct nw_nested_req *rq, unsigned mode);
};

struct nw_tlb {
	struct nw_tlb_cfg cfg;
	/*
	 * The hit-check cache: ok[i] is for ent0[i] (every structure's entries
	 * are one array), (generation << 16) | a bit per access kind (NW_ACC_*
	 * value) whose rights check passed on that entry since it was filled.
	 * The generation is perm_gen while perm_key holds; a fill zeroes it.
	 */
	struct nw_tlb_entry *ent0;
	uint64_t *ok;
	struct tlb_perm_key perm_key;
	uint64_t perm_gen;
	struct tlb_struct s[NW_SID_COUNT];
	struct nw_tlb_ctx ctx;
	uint64_t ep4ta;            /* the current EP4TA (0 unless nest is EPT) */
	struct nw_tlb_stats stats;
	struct nw_lat *lat;
	struct tlb_walk_state cur;
	struct nw_walk_cache wcache;  /* the hooks the walkers call (walk_cache.c) */
};

/* First structure and number of banks of each TLB level. */
static inline enum nw_tlb_sid tlb_level_first(enum nw_tlb_lvl lvl)
{
	return lvl == NW_TLBL_L1D ? NW_SID_L1D0 : lvl == NW_TLBL_L1I ? NW_SID_L1I0 : NW_SID_L2_0;
}

static inline int tlb_level_banks(enum nw_tlb_lvl lvl)
{
	return lvl == NW_TLBL_L2 ? 2 : 3;
}

static inline bool tlb_present(const struct nw_tlb *t, enum nw_tlb_sid sid)
{
	return t->s[sid].sa.ways != 0;
}

static inline bool tlb_is_psc(enum nw_tlb_class cls)
{
	return cls == NW_TLBC_PSC || cls == NW_TLBC_GPSC || cls == NW_TLBC_PWC;
}

/* The region [e->addr, e->addr + NW_LEVEL_SIZE(e->size)) holds addr. */
static inline bool tlb_covers(const struct nw_tlb_entry *e, uint64_t addr)
{
	return addr - e->addr < NW_LEVEL_SIZE(e->size);
}

static inline uint64_t tlb_align(uint64_t addr, int level)
{
	return addr & ~(NW_LEVEL_SIZE(level) - 1);
}

/* ---- lookups and fills in the current context (lookup.c) ---- */

/* A translation to cache, described at the address that was accessed. */
struct tlb_xlat {
	uint64_t va;
	uint64_t pa;          /* HPA of va */
	uint64_t gpa;         /* 2D: GPA of va */
	int level;            /* guest (or 1D) leaf level */
	int host_level;       /* 2D: nested leaf level; 0 for 1D */
	uint32_t prot, host_prot;
	uint8_t pkey;
	bool global, dirty;
};

/* Would a lookup in the current context use e? translation: a TLB or
 * nested-TLB entry, for which G makes the PCID irrelevant. */
static inline bool tlb_ctx_match(const struct nw_tlb *t, const struct nw_tlb_entry *e,
				 bool translation)
{
	const struct nw_tlb_ctx *c = &t->ctx;
	const struct nw_tlb_tag *g = &e->tag;

	if (g->kind == NW_MAP_GPHYS)
		return c->nest != NW_NEST_NONE && g->ep4ta == t->ep4ta &&
		       (c->nest != NW_NEST_NPT || g->vpid == c->vpid);
	if (g->kind != (c->nest != NW_NEST_NONE ? NW_MAP_COMBINED : NW_MAP_LINEAR))
		return false;
	if (g->vpid != c->vpid || (g->kind == NW_MAP_COMBINED && g->ep4ta != t->ep4ta))
		return false;
	return g->pcid == c->pcid || (translation && g->global);
}

/* The tag a fill of kind gets in the current context. */
struct nw_tlb_tag tlb_ctx_tag(const struct nw_tlb *t, enum nw_map_kind kind, bool global);

struct nw_tlb_entry *tlb_level_lookup(struct nw_tlb *t, enum nw_tlb_lvl lvl, uint64_t va);
void tlb_level_fill(struct nw_tlb *t, enum nw_tlb_lvl lvl, const struct tlb_xlat *x);
/* The deepest prefix-PSC hit for addr (gphys: the guest-physical family). */
struct nw_tlb_entry *tlb_psc_lookup(struct nw_tlb *t, bool gphys, uint64_t addr);
void tlb_psc_fill(struct nw_tlb *t, bool gphys, uint64_t addr, const struct nw_psc_hit *hit);
struct nw_tlb_entry *tlb_ntlb_lookup(struct nw_tlb *t, uint64_t gpa);
void tlb_ntlb_fill(struct nw_tlb *t, uint64_t gpa, const struct nw_walk1d *hw, uint64_t leaf,
		   bool dirty);
struct nw_tlb_entry *tlb_pwc_lookup(struct nw_tlb *t, char dim, int level, uint64_t pa,
				    uint64_t addr);
void tlb_pwc_fill(struct nw_tlb *t, char dim, int level, uint64_t pa, uint64_t value,
		  uint64_t addr);

/* ---- walks (walk_cache.c, walk1d.c) ---- */

void tlb_walk_cache_init(struct nw_tlb *t);
/* After a successful walk: put its guest-dimension non-leaf entries into
 * the PWC (the walkers never call entry_fill; the reference log has them). */
void tlb_pwc_fill_guest(struct nw_tlb *t, const struct nw_fmt *gf, uint64_t va,
			const struct nw_walk *w);
int tlb_walk1d(struct nw_tlb *t, const struct nw_tlb_walker *wk, uint64_t va, unsigned access,
	       bool cached, struct nw_walk *w);

/* Count an invalidation, and drop nothing more (inval.c). */
void tlb_count_inval(struct nw_tlb *t, enum nw_inv inv);

#endif
