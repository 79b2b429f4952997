/* SPDX-License-Identifier: MIT */
/*
 * The invalidation primitives. Each drops exactly the "must drop" set of
 * its FACTS.md §4 row (SDM Vol. 3A §4.10.4, Vol. 3C §28.3.3.1; AMD APM
 * Vol. 2 §15.16) and nothing else, although a CPU may drop more: a
 * forgotten invalidation must leave the stale entry in place.
 *
 * Each row is one predicate over an entry, its class and the operands,
 * read straight off the table. Terms used throughout:
 *  - "TLB entries" are translations (TLB and nested-TLB classes); "PSC
 *    entries" are paging-structure-cache entries (PSC, GPSC and PWC).
 *    PSC entries are never global: G is a property of a leaf.
 *  - A global TLB entry is associated with every PCID, since the CPU may
 *    use it under any (SDM §4.10.2.4); address-scoped rows that say
 *    "current PCID" therefore also take global entries for the address.
 *  - Operations "independent of VMX" (INVLPG, INVPCID, MOV CR3, #PF)
 *    drop linear and combined mappings of the current VPID, combined
 *    ones for every EP4TA (SDM §28.3.3.1).
 */

#include <errno.h>

#include "tlb_internal.h"

struct inv_args {
	uint64_t la;        /* linear address operand */
	uint64_t gpa;       /* guest-physical address operand */
	uint64_t ep4ta;
	uint16_t vpid;      /* VPID or ASID operand */
	uint16_t pcid;      /* PCID operand */
	unsigned type;      /* instruction type, or TLB_CONTROL value */
	bool la_valid;
};

typedef bool (*drop_fn)(const struct nw_tlb *t, const struct nw_tlb_entry *e,
			enum nw_tlb_class cls, const struct inv_args *a);

/*
 * Inlined into each primitive, so that its predicate is inlined into the
 * scan of every slot: #PF and EPT violations run this on the fault path.
 */
static inline __attribute__((always_inline)) unsigned
drop_where(struct nw_tlb *t, drop_fn drop, const struct inv_args *a)
{
	unsigned n = 0;

	for (int sid = 0; sid < NW_SID_COUNT; sid++) {
		struct tlb_struct *s = &t->s[sid];
		for (size_t i = 0; i < nw_sa_slots(&s->sa); i++)
			if (nw_sa_valid(&s->sa, i) && drop(t, &s->ent[i], s->cls, a)) {
				nw_sa_drop(&s->sa, i);
				n++;
			}
	}
	t->stats.inval_dropped += n;
	return n;
}

/*
 * drop_where for a predicate that drops only entries covering `la` (linear
 * and combined ones) or `gpa` (guest-physical ones), and nothing else. Such
 * an entry can only sit in one set per size its structure holds: every
 * structure but the PWC puts an entry at nw_sa_base(addr >> its size's
 * shift) (xlat_put, tlb_psc_fill, nw_tlb_insert), and TLB and PSC hold no
 * guest-physical entries, NTLB and GPSC nothing else. So only those sets are
 * scanned, and the PWC (indexed by the entry's HPA) whole. A NULL address
 * says the predicate drops no entry of that family. The faults of every
 * first touch run this, where scanning every slot cost ~3000 checks.
 */
static inline __attribute__((always_inline)) unsigned
drop_near(struct nw_tlb *t, drop_fn drop, const struct inv_args *a, const uint64_t *la,
	  const uint64_t *gpa)
{
	unsigned n = 0;

	for (int sid = 0; sid < NW_SID_COUNT; sid++) {
		struct tlb_struct *s = &t->s[sid];
		size_t slots = nw_sa_slots(&s->sa);
		if (!slots)
			continue;
		if (s->cls == NW_TLBC_PWC) {
			for (size_t i = 0; i < slots; i++)
				if (nw_sa_valid(&s->sa, i) && drop(t, &s->ent[i], s->cls, a)) {
					nw_sa_drop(&s->sa, i);
					n++;
				}
			continue;
		}
		bool gphys = s->cls == NW_TLBC_GPSC || s->cls == NW_TLBC_NTLB;
		const uint64_t *addr = gphys ? gpa : la;
		if (!addr)
			continue;
		for (int size = 1; size <= NW_MAX_LEVELS; size++) {
			/* (no sizes given: nw_tlb_insert takes any size there) */
			bool held = s->level ? s->level == size
					     : !s->sizes || (s->sizes & NW_TLB_SZ(size));
			if (!held)
				continue;
			size_t base = nw_sa_base(&s->sa, *addr >> NW_LEVEL_SHIFT(size));
			for (size_t i = base; i < base + s->sa.ways; i++)
				if (nw_sa_valid(&s->sa, i) && drop(t, &s->ent[i], s->cls, a)) {
					nw_sa_drop(&s->sa, i);
					n++;
				}
		}
	}
	t->stats.inval_dropped += n;
	return n;
}

void tlb_count_inval(struct nw_tlb *t, enum nw_inv inv)
{
	t->stats.inval[inv]++;
}

static bool lin_or_comb(const struct nw_tlb_entry *e)
{
	return e->tag.kind == NW_MAP_LINEAR || e->tag.kind == NW_MAP_COMBINED;
}

static bool is_global_tlb(const struct nw_tlb_entry *e, enum nw_tlb_class cls)
{
	return cls == NW_TLBC_TLB && e->tag.global;
}

/* Linear or combined, of the current VPID: the reach of every operation
 * that is independent of VMX. */
static bool current_vpid(const struct nw_tlb *t, const struct nw_tlb_entry *e)
{
	return lin_or_comb(e) && e->tag.vpid == t->ctx.vpid;
}

/* ---- INVLPG ---- */

/* "TLB entries for addr in the current VPID and PCID, global ones included;
 * all PSC entries of the current VPID and PCID, whatever their address;
 * linear and combined, across all EP4TAs" */
static bool drop_invlpg(const struct nw_tlb *t, const struct nw_tlb_entry *e,
			enum nw_tlb_class cls, const struct inv_args *a)
{
	if (!current_vpid(t, e))
		return false;
	if (tlb_is_psc(cls))
		return e->tag.pcid == t->ctx.pcid;
	return tlb_covers(e, a->la) && (e->tag.pcid == t->ctx.pcid || e->tag.global);
}

int nw_tlb_invlpg(struct nw_tlb *t, uint64_t la)
{
	struct inv_args a = { .la = la };

	tlb_count_inval(t, NW_INV_INVLPG);
	drop_where(t, drop_invlpg, &a);
	return 0;
}

/* ---- INVPCID ---- */

/* type 0: "non-global TLB entries for addr and that PCID; all PSC entries
 *          of that PCID"
 * type 1: "all non-global entries of that PCID, and its PSC entries"
 * type 2: "everything, global entries included, for every PCID"
 * type 3: "everything except global entries, for every PCID" */
static bool drop_invpcid(const struct nw_tlb *t, const struct nw_tlb_entry *e,
			 enum nw_tlb_class cls, const struct inv_args *a)
{
	if (!current_vpid(t, e))
		return false;
	switch (a->type) {
	case 0:
		if (tlb_is_psc(cls))
			return e->tag.pcid == a->pcid;
		return !e->tag.global && e->tag.pcid == a->pcid && tlb_covers(e, a->la);
	case 1:
		return e->tag.pcid == a->pcid && !is_global_tlb(e, cls);
	case 2:
		return true;
	default:
		return !is_global_tlb(e, cls);
	}
}

int nw_tlb_invpcid(struct nw_tlb *t, uint64_t type, uint64_t pcid, uint64_t la)
{
	/* #GP: a reserved type, descriptor bits 63:12, or a non-canonical address. */
	if (type > 3 || (type <= 1 && pcid > 0xfff) ||
	    (type == 0 && !nw_x86_canonical(la, t->cfg.va_bits == 57 ? 5 : 4)))
		return -EINVAL;
	struct inv_args a = { .type = (unsigned)type, .pcid = (uint16_t)pcid, .la = la };
	tlb_count_inval(t, (enum nw_inv)(NW_INV_INVPCID0 + type));
	drop_where(t, drop_invpcid, &a);
	return 0;
}

/* ---- MOV to CR3 ---- */

/* PCIDE=0: "non-global TLB entries and all PSC entries for PCID 0"
 * PCIDE=1, bit 63=0: "non-global TLB entries and PSC entries of the new PCID"
 * PCIDE=1, bit 63=1: "nothing" */
static bool drop_mov_cr3(const struct nw_tlb *t, const struct nw_tlb_entry *e,
			 enum nw_tlb_class cls, const struct inv_args *a)
{
	return current_vpid(t, e) && e->tag.pcid == a->pcid && !is_global_tlb(e, cls);
}

int nw_tlb_mov_cr3(struct nw_tlb *t, uint64_t cr3, bool pcide)
{
	struct inv_args a = { .pcid = pcide ? (uint16_t)(cr3 & 0xfff) : 0 };

	t->ctx.pcid = a.pcid;
	if (pcide && (cr3 >> 63)) {
		tlb_count_inval(t, NW_INV_MOV_CR3_NOFLUSH);
		return 0;
	}
	tlb_count_inval(t, pcide ? NW_INV_MOV_CR3_PCID : NW_INV_MOV_CR3);
	drop_where(t, drop_mov_cr3, &a);
	return 0;
}

/* ---- #PF ---- */

/* "TLB and PSC entries for the faulting linear address (current VPID and
 * PCID)" */
static bool drop_pf(const struct nw_tlb *t, const struct nw_tlb_entry *e,
		    enum nw_tlb_class cls, const struct inv_args *a)
{
	if (!current_vpid(t, e) || !tlb_covers(e, a->la))
		return false;
	return e->tag.pcid == t->ctx.pcid || is_global_tlb(e, cls);
}

int nw_tlb_on_pf(struct nw_tlb *t, uint64_t la)
{
	struct inv_args a = { .la = la };

	tlb_count_inval(t, NW_INV_PF);
	drop_near(t, drop_pf, &a, &a.la, NULL); /* drop_pf: linear and combined only */
	return 0;
}

/* ---- INVEPT ---- */

/* type 1: "guest-physical and combined mappings tagged with that EPTP's
 *          EP4TA (bits 51:12)"
 * type 2: "guest-physical and combined mappings for every EP4TA" */
static bool drop_invept(const struct nw_tlb *t, const struct nw_tlb_entry *e,
			enum nw_tlb_class cls, const struct inv_args *a)
{
	if (e->tag.kind != NW_MAP_GPHYS && e->tag.kind != NW_MAP_COMBINED)
		return false;
	return a->type == 2 || e->tag.ep4ta == a->ep4ta;
}

/* FACTS §3's EPTP table, every capability present. */
static int default_eptp_check(unsigned maxphyaddr, uint64_t eptp)
{
	unsigned mt = (unsigned)(eptp & 7);
	unsigned pwl = (unsigned)((eptp >> 3) & 7);

	if ((mt != 0 && mt != 6) || (pwl != 3 && pwl != 4))
		return -EINVAL;
	if (eptp & (0x1full << 7)) /* bit 7 (shadow stacks, unmodelled) and 11:8 */
		return -EINVAL;
	return (eptp >> maxphyaddr) ? -EINVAL : 0;
}

static int vmfail(struct nw_tlb *t)
{
	tlb_count_inval(t, NW_INV_VMFAIL);
	return NW_VMERR_INV_OPERAND;
}

int nw_tlb_invept(struct nw_tlb *t, uint64_t type, uint64_t eptp)
{
	if (type != 1 && type != 2)
		return vmfail(t);
	if (type == 1) {
		int bad = t->cfg.eptp_check ? t->cfg.eptp_check(t->cfg.eptp_check_arg, eptp)
					    : default_eptp_check(t->cfg.maxphyaddr, eptp);
		if (bad)
			return vmfail(t);
	}
	struct inv_args a = { .type = (unsigned)type, .ep4ta = eptp & NW_PTE_ADDR_MASK };
	tlb_count_inval(t, type == 1 ? NW_INV_INVEPT1 : NW_INV_INVEPT2);
	drop_where(t, drop_invept, &a);
	return 0;
}

/* ---- INVVPID ---- */

/* type 0: "linear and combined mappings for addr in that VPID, all PCIDs;
 *          PSC entries of that VPID"
 * type 1: "all linear and combined mappings of that VPID"
 * type 2: "linear and combined mappings of every VPID except VPID 0"
 * type 3: "as type 1, but global entries are kept" */
static bool drop_invvpid(const struct nw_tlb *t, const struct nw_tlb_entry *e,
			 enum nw_tlb_class cls, const struct inv_args *a)
{
	if (!lin_or_comb(e))
		return false;
	if (a->type == 2)
		return e->tag.vpid != 0;
	if (e->tag.vpid != a->vpid)
		return false;
	if (a->type == 0)
		return tlb_is_psc(cls) || tlb_covers(e, a->la);
	return a->type == 1 || !is_global_tlb(e, cls);
}

int nw_tlb_invvpid(struct nw_tlb *t, uint64_t type, uint64_t desc_lo, uint64_t la)
{
	uint16_t vpid = (uint16_t)desc_lo;

	/* The VMfail conditions of FACTS §3, in the SDM's order. */
	if (type > 3 || (desc_lo >> 16) || (vpid == 0 && type != 2) ||
	    (type == 0 && !nw_x86_canonical(la, t->cfg.va_bits == 57 ? 5 : 4)))
		return vmfail(t);
	struct inv_args a = { .type = (unsigned)type, .vpid = vpid, .la = la };
	tlb_count_inval(t, (enum nw_inv)(NW_INV_INVVPID0 + type));
	drop_where(t, drop_invvpid, &a);
	return 0;
}

/* ---- EPT violation and misconfiguration ---- */

/* Guest-physical mappings of the current EP4TA for gpa. */
static bool gphys_for(const struct nw_tlb *t, const struct nw_tlb_entry *e, uint64_t gpa)
{
	return e->tag.kind == NW_MAP_GPHYS && e->tag.ep4ta == t->ep4ta && tlb_covers(e, gpa);
}

/* "guest-physical mappings for the faulting GPA, and combined mappings for
 * the faulting GVA" (both of the current context; the GVA only when the
 * exit reports one, qualification bit 7) */
static bool drop_ept_violation(const struct nw_tlb *t, const struct nw_tlb_entry *e,
			       enum nw_tlb_class cls, const struct inv_args *a)
{
	if (gphys_for(t, e, a->gpa))
		return true;
	if (!a->la_valid || e->tag.kind != NW_MAP_COMBINED || e->tag.vpid != t->ctx.vpid ||
	    e->tag.ep4ta != t->ep4ta || !tlb_covers(e, a->la))
		return false;
	return e->tag.pcid == t->ctx.pcid || is_global_tlb(e, cls);
}

int nw_tlb_on_ept_violation(struct nw_tlb *t, uint64_t gpa, uint64_t gla, bool gla_valid)
{
	struct inv_args a = { .gpa = gpa, .la = gla, .la_valid = gla_valid };

	tlb_count_inval(t, NW_INV_EPT_VIOLATION);
	drop_near(t, drop_ept_violation, &a, gla_valid ? &a.la : NULL, &a.gpa);
	return 0;
}

/*
 * "guest-physical and combined mappings for the faulting GPA" (current
 * EP4TA). A combined mapping is for a GPA when it holds a translation of
 * it: a combined TLB entry whose guest-physical page holds the GPA, or a
 * combined PSC entry whose cached table page is the GPA's page. PWC
 * entries hold guest entries by HPA and no GPA translation.
 */
static bool drop_ept_misconfig(const struct nw_tlb *t, const struct nw_tlb_entry *e,
			       enum nw_tlb_class cls, const struct inv_args *a)
{
	if (gphys_for(t, e, a->gpa))
		return true;
	if (e->tag.kind != NW_MAP_COMBINED || e->tag.ep4ta != t->ep4ta)
		return false;
	if (cls == NW_TLBC_TLB)
		return a->gpa - e->gpa < NW_LEVEL_SIZE(e->size);
	if (cls == NW_TLBC_PSC)
		return a->gpa - e->gpa < NW_PAGE_SIZE;
	return false;
}

int nw_tlb_on_ept_misconfig(struct nw_tlb *t, uint64_t gpa)
{
	struct inv_args a = { .gpa = gpa };

	tlb_count_inval(t, NW_INV_EPT_MISCONFIG);
	drop_where(t, drop_ept_misconfig, &a);
	return 0;
}

/* ---- VMX transitions ---- */

/* "VM entry or exit with VPID off: all linear and combined mappings of VPID 0" */
static bool drop_vpid0(const struct nw_tlb *t, const struct nw_tlb_entry *e,
		       enum nw_tlb_class cls, const struct inv_args *a)
{
	return lin_or_comb(e) && e->tag.vpid == 0;
}

int nw_tlb_vmx_transition(struct nw_tlb *t, bool vpid_enabled)
{
	if (vpid_enabled)
		return 0;
	tlb_count_inval(t, NW_INV_VMX_TRANSITION);
	drop_where(t, drop_vpid0, NULL);
	return 0;
}

/* ---- SVM ---- */

/* "SVM TLB_CONTROL 1 / 3 / 7: all ASIDs / this ASID / this ASID's
 * non-global entries, at VMRUN" (every kind: AMD tags the whole TLB,
 * nested entries included, by ASID) */
static bool drop_tlb_control(const struct nw_tlb *t, const struct nw_tlb_entry *e,
			     enum nw_tlb_class cls, const struct inv_args *a)
{
	if (a->type == 1)
		return true;
	return e->tag.vpid == a->vpid && (a->type == 3 || !is_global_tlb(e, cls));
}

int nw_tlb_tlb_control(struct nw_tlb *t, uint32_t asid, unsigned tlb_control)
{
	if (asid == 0 || asid > 0xffff)
		return -EINVAL; /* VMRUN fails with ASID 0 */
	if (tlb_control == 0)
		return 0;
	if (tlb_control != 1 && tlb_control != 3 && tlb_control != 7)
		return -EINVAL;
	struct inv_args a = { .type = tlb_control, .vpid = (uint16_t)asid };
	tlb_count_inval(t, tlb_control == 1 ? NW_INV_TLB_CONTROL1
			   : tlb_control == 3 ? NW_INV_TLB_CONTROL3 : NW_INV_TLB_CONTROL7);
	drop_where(t, drop_tlb_control, &a);
	return 0;
}

/* "INVLPGA (addr, asid): entries for addr in that ASID (global included),
 * and that ASID's PSC entries" (linear and combined: addr is linear) */
static bool drop_invlpga(const struct nw_tlb *t, const struct nw_tlb_entry *e,
			 enum nw_tlb_class cls, const struct inv_args *a)
{
	if (!lin_or_comb(e) || e->tag.vpid != a->vpid)
		return false;
	return tlb_is_psc(cls) || tlb_covers(e, a->la);
}

int nw_tlb_invlpga(struct nw_tlb *t, uint64_t la, uint32_t asid)
{
	if (asid > 0xffff)
		return -EINVAL;
	struct inv_args a = { .la = la, .vpid = (uint16_t)asid };
	tlb_count_inval(t, NW_INV_INVLPGA);
	drop_where(t, drop_invlpga, &a);
	return 0;
}
