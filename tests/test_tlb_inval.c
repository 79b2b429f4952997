/* SPDX-License-Identifier: MIT */
/*
 * Every invalidation primitive against FACTS.md §4, row by row.
 *
 * Each structure of the set is filled with one entry per tag combination it
 * can hold: kind (linear, guest-physical, combined) x VPID {0, A, B} x PCID
 * {0, P, Q} x EP4TA {X, Y} x global {0, 1} x address {the target, another}.
 * The primitive runs in the context EPT on, VPID A, PCID P, EP4TA X, and
 * the test asserts exactly which entries survive.
 *
 * The expectation is not the library's predicate written twice: each row is
 * a declarative scope (which kinds, which VPID, PCID and EP4TA, whether
 * global TLB entries are kept, whether only entries for the address go),
 * read off the FACTS row quoted above it.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nestwalk/tlb.h>

#include "nw_test.h"

#define VA_ 5u /* VPID A: the current one */
#define VB_ 9u
#define PP 3u  /* PCID P: the current one */
#define PQ 7u
#define EX 0x0000000abcde1000ull /* EP4TA X: the current one */
#define EY 0x0000000012345000ull
#define EPTP_X (EX | 0x1eull) /* WB, 4-level */
#define EPTP_Y (EY | 0x1eull)

/* The target and the other address, linear and guest-physical. They differ
 * at every level, so an entry "for the target" is never one for the other. */
#define LA_T 0x00007f1234567000ull
#define LA_O 0xffff800000000000ull
#define GPA_T 0x0000000123456000ull
#define GPA_O 0x0001004000000000ull

enum sel { ANY = 0, CUR, OP, NOT0, ZERO };
enum gpol { G_AS_OTHERS = 0, G_KEEP, G_ANY_PCID };

/* One scope: an entry is dropped when it matches every field. */
struct clause {
	unsigned kinds;         /* bit per enum nw_map_kind */
	enum sel vpid, ep4ta;
	/* Translations (TLB and nested-TLB entries). */
	bool t_drop, t_addr;
	enum sel t_pcid;
	enum gpol t_global;     /* G matters in linear/combined TLB entries only */
	/* Paging-structure-cache entries (PSC, GPSC, PWC): never global. */
	bool p_drop, p_addr, p_no_pwc;
	enum sel p_pcid;
};

struct row {
	const char *name;
	int (*apply)(struct nw_tlb *t);
	int rc;                 /* what the primitive returns */
	struct clause c[2];
	int nc;
	/* Operands, for OP selectors. */
	unsigned op_vpid, op_pcid;
	uint64_t op_ep4ta;
};

#define K(k) (1u << (k))
#define LC (K(NW_MAP_LINEAR) | K(NW_MAP_COMBINED))
#define ALLK (LC | K(NW_MAP_GPHYS))

/* ---- the primitives, with the operands of each row ---- */
static int a_invlpg(struct nw_tlb *t) { return nw_tlb_invlpg(t, LA_T); }
static int a_invpcid0(struct nw_tlb *t) { return nw_tlb_invpcid(t, 0, PQ, LA_T); }
static int a_invpcid1(struct nw_tlb *t) { return nw_tlb_invpcid(t, 1, PQ, 0); }
static int a_invpcid2(struct nw_tlb *t) { return nw_tlb_invpcid(t, 2, 0, 0); }
static int a_invpcid3(struct nw_tlb *t) { return nw_tlb_invpcid(t, 3, 0, 0); }
static int a_invpcid4(struct nw_tlb *t) { return nw_tlb_invpcid(t, 4, 0, 0); }
static int a_invpcid0_nc(struct nw_tlb *t) { return nw_tlb_invpcid(t, 0, PQ, 0x0000800000000000ull); }
static int a_invpcid1_big(struct nw_tlb *t) { return nw_tlb_invpcid(t, 1, 0x1000, 0); }
static int a_cr3_nopcid(struct nw_tlb *t) { return nw_tlb_mov_cr3(t, 0x5000 | PQ, false); }
static int a_cr3_pcid(struct nw_tlb *t) { return nw_tlb_mov_cr3(t, 0x5000 | PQ, true); }
static int a_cr3_noflush(struct nw_tlb *t) { return nw_tlb_mov_cr3(t, (1ull << 63) | 0x5000 | PQ, true); }
static int a_pf(struct nw_tlb *t) { return nw_tlb_on_pf(t, LA_T + 0x123); }
static int a_invept1(struct nw_tlb *t) { return nw_tlb_invept(t, 1, EPTP_Y); }
static int a_invept1_bad_mt(struct nw_tlb *t) { return nw_tlb_invept(t, 1, EY | 0x19); }
static int a_invept1_bad_pwl(struct nw_tlb *t) { return nw_tlb_invept(t, 1, EY | 0x0e); }
static int a_invept1_rsvd(struct nw_tlb *t) { return nw_tlb_invept(t, 1, EPTP_Y | (1ull << 9)); }
static int a_invept1_high(struct nw_tlb *t) { return nw_tlb_invept(t, 1, EPTP_Y | (1ull << 50)); }
static int a_invept2(struct nw_tlb *t) { return nw_tlb_invept(t, 2, 0); }
static int a_invept0(struct nw_tlb *t) { return nw_tlb_invept(t, 0, EPTP_Y); }
static int a_invept3(struct nw_tlb *t) { return nw_tlb_invept(t, 3, EPTP_Y); }
static int a_invvpid0(struct nw_tlb *t) { return nw_tlb_invvpid(t, 0, VB_, LA_T + 0x10); }
static int a_invvpid1(struct nw_tlb *t) { return nw_tlb_invvpid(t, 1, VB_, 0); }
static int a_invvpid2(struct nw_tlb *t) { return nw_tlb_invvpid(t, 2, 0, 0); }
static int a_invvpid3(struct nw_tlb *t) { return nw_tlb_invvpid(t, 3, VB_, 0); }
static int a_invvpid_rsvd(struct nw_tlb *t) { return nw_tlb_invvpid(t, 1, VB_ | (1ull << 16), 0); }
static int a_invvpid_rsvd2(struct nw_tlb *t) { return nw_tlb_invvpid(t, 2, 1ull << 63, 0); }
static int a_invvpid_v0(struct nw_tlb *t) { return nw_tlb_invvpid(t, 1, 0, 0); }
static int a_invvpid_v0t0(struct nw_tlb *t) { return nw_tlb_invvpid(t, 0, 0, LA_T); }
static int a_invvpid_v0t3(struct nw_tlb *t) { return nw_tlb_invvpid(t, 3, 0, 0); }
static int a_invvpid_nc(struct nw_tlb *t) { return nw_tlb_invvpid(t, 0, VB_, 0x0000800000000000ull); }
static int a_invvpid4(struct nw_tlb *t) { return nw_tlb_invvpid(t, 4, VB_, 0); }
static int a_eptv(struct nw_tlb *t) { return nw_tlb_on_ept_violation(t, GPA_T + 8, LA_T + 8, true); }
static int a_eptv_nogla(struct nw_tlb *t) { return nw_tlb_on_ept_violation(t, GPA_T + 8, LA_T, false); }
static int a_eptm(struct nw_tlb *t) { return nw_tlb_on_ept_misconfig(t, GPA_T + 8); }
static int a_vmx_novpid(struct nw_tlb *t) { return nw_tlb_vmx_transition(t, false); }
static int a_vmx_vpid(struct nw_tlb *t) { return nw_tlb_vmx_transition(t, true); }
static int a_tlbctl0(struct nw_tlb *t) { return nw_tlb_tlb_control(t, VB_, 0); }
static int a_tlbctl1(struct nw_tlb *t) { return nw_tlb_tlb_control(t, VB_, 1); }
static int a_tlbctl2(struct nw_tlb *t) { return nw_tlb_tlb_control(t, VB_, 2); }
static int a_tlbctl3(struct nw_tlb *t) { return nw_tlb_tlb_control(t, VB_, 3); }
static int a_tlbctl7(struct nw_tlb *t) { return nw_tlb_tlb_control(t, VB_, 7); }
static int a_tlbctl_asid0(struct nw_tlb *t) { return nw_tlb_tlb_control(t, 0, 1); }
static int a_invlpga(struct nw_tlb *t) { return nw_tlb_invlpga(t, LA_T, VB_); }

/* Everything of the selected entries, translations and PSC entries. */
#define EVERYTHING .t_drop = true, .p_drop = true

static const struct row rows[] = {
	/* "INVLPG addr: TLB entries for addr in the current VPID and PCID, global
	 * ones included; all PSC entries of the current VPID and PCID, whatever
	 * their address; linear and combined, across all EP4TAs" */
	{ .name = "invlpg", .apply = a_invlpg, .rc = 0, .c = { { .kinds = LC, .vpid = CUR, .t_drop = true, .t_addr = true,
				      .t_pcid = CUR, .t_global = G_ANY_PCID, .p_drop = true,
				      .p_pcid = CUR } }, .nc = 1 },
	/* "INVPCID type 0 (addr, pcid): non-global TLB entries for addr and that
	 * PCID; all PSC entries of that PCID" */
	{ .name = "invpcid0", .apply = a_invpcid0, .rc = 0, .c = { { .kinds = LC, .vpid = CUR, .t_drop = true, .t_addr = true,
					  .t_pcid = OP, .t_global = G_KEEP, .p_drop = true,
					  .p_pcid = OP } }, .nc = 1, .op_pcid = PQ },
	/* "INVPCID type 1 (pcid): all non-global entries of that PCID, and its
	 * PSC entries" */
	{ .name = "invpcid1", .apply = a_invpcid1, .rc = 0, .c = { { .kinds = LC, .vpid = CUR, .t_drop = true, .t_pcid = OP,
					  .t_global = G_KEEP, .p_drop = true, .p_pcid = OP } }, .nc = 1,
	  .op_pcid = PQ },
	/* "INVPCID type 2: everything, global entries included, for every PCID" */
	{ .name = "invpcid2", .apply = a_invpcid2, .rc = 0, .c = { { .kinds = LC, .vpid = CUR, EVERYTHING } }, .nc = 1 },
	/* "INVPCID type 3: everything except global entries, for every PCID" */
	{ .name = "invpcid3", .apply = a_invpcid3, .rc = 0, .c = { { .kinds = LC, .vpid = CUR, .t_drop = true,
					  .t_global = G_KEEP, .p_drop = true } }, .nc = 1 },
	/* A reserved type, a PCID beyond 12 bits, a non-canonical address: #GP. */
	{ .name = "invpcid4", .apply = a_invpcid4, .rc = -EINVAL, .c = { { 0 } }, .nc = 0 },
	{ .name = "invpcid0-noncanonical", .apply = a_invpcid0_nc, .rc = -EINVAL, .c = { { 0 } }, .nc = 0 },
	{ .name = "invpcid1-pcid-4096", .apply = a_invpcid1_big, .rc = -EINVAL, .c = { { 0 } }, .nc = 0 },
	/* "MOV CR3, CR4.PCIDE=0: non-global TLB entries and all PSC entries for
	 * PCID 0" */
	{ .name = "mov-cr3", .apply = a_cr3_nopcid, .rc = 0, .c = { { .kinds = LC, .vpid = CUR, .t_drop = true, .t_pcid = ZERO,
					   .t_global = G_KEEP, .p_drop = true, .p_pcid = ZERO } }, .nc = 1 },
	/* "MOV CR3, PCIDE=1, bit 63=0: non-global TLB entries and PSC entries of
	 * the new PCID" */
	{ .name = "mov-cr3-pcid", .apply = a_cr3_pcid, .rc = 0, .c = { { .kinds = LC, .vpid = CUR, .t_drop = true,
					      .t_pcid = OP, .t_global = G_KEEP, .p_drop = true,
					      .p_pcid = OP } }, .nc = 1, .op_pcid = PQ },
	/* "MOV CR3, PCIDE=1, bit 63=1: nothing" */
	{ .name = "mov-cr3-noflush", .apply = a_cr3_noflush, .rc = 0, .c = { { 0 } }, .nc = 0 },
	/* "#PF: TLB and PSC entries for the faulting linear address (current VPID
	 * and PCID)" (a global entry serves every PCID, so it is one of them) */
	{ .name = "pf", .apply = a_pf, .rc = 0, .c = { { .kinds = LC, .vpid = CUR, .t_drop = true, .t_addr = true,
			      .t_pcid = CUR, .t_global = G_ANY_PCID, .p_drop = true, .p_addr = true,
			      .p_pcid = CUR } }, .nc = 1 },
	/* "INVEPT type 1 (EPTP): guest-physical and combined mappings tagged with
	 * that EPTP's EP4TA (bits 51:12)" */
	{ .name = "invept1", .apply = a_invept1, .rc = 0, .c = { { .kinds = K(NW_MAP_GPHYS) | K(NW_MAP_COMBINED), .ep4ta = OP,
					EVERYTHING } }, .nc = 1, .op_ep4ta = EY },
	/* "...; an invalid EPTP fails with VMfail 28 and drops nothing" */
	{ .name = "invept1-memtype-1", .apply = a_invept1_bad_mt, .rc = NW_VMERR_INV_OPERAND, .c = { { 0 } }, .nc = 0 },
	{ .name = "invept1-2-level", .apply = a_invept1_bad_pwl, .rc = NW_VMERR_INV_OPERAND, .c = { { 0 } }, .nc = 0 },
	{ .name = "invept1-bit9", .apply = a_invept1_rsvd, .rc = NW_VMERR_INV_OPERAND, .c = { { 0 } }, .nc = 0 },
	{ .name = "invept1-bit50", .apply = a_invept1_high, .rc = NW_VMERR_INV_OPERAND, .c = { { 0 } }, .nc = 0 },
	/* "INVEPT type 2: guest-physical and combined mappings for every EP4TA" */
	{ .name = "invept2", .apply = a_invept2, .rc = 0, .c = { { .kinds = K(NW_MAP_GPHYS) | K(NW_MAP_COMBINED),
					EVERYTHING } }, .nc = 1 },
	/* "Any other type fails (VMfail, error 28)" (FACTS §3) */
	{ .name = "invept0", .apply = a_invept0, .rc = NW_VMERR_INV_OPERAND, .c = { { 0 } }, .nc = 0 },
	{ .name = "invept3", .apply = a_invept3, .rc = NW_VMERR_INV_OPERAND, .c = { { 0 } }, .nc = 0 },
	/* "INVVPID type 0 (vpid, addr): linear and combined mappings for addr in
	 * that VPID, all PCIDs; PSC entries of that VPID" */
	{ .name = "invvpid0", .apply = a_invvpid0, .rc = 0, .c = { { .kinds = LC, .vpid = OP, .t_drop = true, .t_addr = true,
					  .p_drop = true } }, .nc = 1, .op_vpid = VB_ },
	/* "INVVPID type 1 (vpid): all linear and combined mappings of that VPID" */
	{ .name = "invvpid1", .apply = a_invvpid1, .rc = 0, .c = { { .kinds = LC, .vpid = OP, EVERYTHING } }, .nc = 1,
	  .op_vpid = VB_ },
	/* "INVVPID type 2: linear and combined mappings of every VPID except VPID 0" */
	{ .name = "invvpid2", .apply = a_invvpid2, .rc = 0, .c = { { .kinds = LC, .vpid = NOT0, EVERYTHING } }, .nc = 1 },
	/* "INVVPID type 3 (vpid): as type 1, but global entries are kept" */
	{ .name = "invvpid3", .apply = a_invvpid3, .rc = 0, .c = { { .kinds = LC, .vpid = OP, .t_drop = true,
					  .t_global = G_KEEP, .p_drop = true } }, .nc = 1, .op_vpid = VB_ },
	/* "These fail (VMfail, error 28): descriptor bits 63:16 are set; VPID 0
	 * with any type other than 2; type 0 with a non-canonical address." */
	{ .name = "invvpid-bits-63-16", .apply = a_invvpid_rsvd, .rc = NW_VMERR_INV_OPERAND, .c = { { 0 } }, .nc = 0 },
	{ .name = "invvpid2-bit63", .apply = a_invvpid_rsvd2, .rc = NW_VMERR_INV_OPERAND, .c = { { 0 } }, .nc = 0 },
	{ .name = "invvpid1-vpid0", .apply = a_invvpid_v0, .rc = NW_VMERR_INV_OPERAND, .c = { { 0 } }, .nc = 0 },
	{ .name = "invvpid0-vpid0", .apply = a_invvpid_v0t0, .rc = NW_VMERR_INV_OPERAND, .c = { { 0 } }, .nc = 0 },
	{ .name = "invvpid3-vpid0", .apply = a_invvpid_v0t3, .rc = NW_VMERR_INV_OPERAND, .c = { { 0 } }, .nc = 0 },
	{ .name = "invvpid0-noncanonical", .apply = a_invvpid_nc, .rc = NW_VMERR_INV_OPERAND, .c = { { 0 } }, .nc = 0 },
	{ .name = "invvpid4", .apply = a_invvpid4, .rc = NW_VMERR_INV_OPERAND, .c = { { 0 } }, .nc = 0 },
	/* "EPT violation: guest-physical mappings for the faulting GPA, and
	 * combined mappings for the faulting GVA" (current EP4TA; the GVA ones
	 * of the current VPID and PCID) */
	{ "ept-violation", a_eptv, 0,
	  { { .kinds = K(NW_MAP_GPHYS), .ep4ta = CUR, .t_drop = true, .t_addr = true,
	      .p_drop = true, .p_addr = true },
	    { .kinds = K(NW_MAP_COMBINED), .vpid = CUR, .ep4ta = CUR, .t_drop = true,
	      .t_addr = true, .t_pcid = CUR, .t_global = G_ANY_PCID, .p_drop = true,
	      .p_addr = true, .p_pcid = CUR } }, .nc = 2 },
	/* ... and with no guest-linear address (qualification bit 7 clear), only
	 * the guest-physical mappings. */
	{ "ept-violation-no-gla", a_eptv_nogla, 0,
	  { { .kinds = K(NW_MAP_GPHYS), .ep4ta = CUR, .t_drop = true, .t_addr = true,
	      .p_drop = true, .p_addr = true } }, .nc = 1 },
	/* "EPT misconfiguration: guest-physical and combined mappings for the
	 * faulting GPA" (current EP4TA; a combined mapping is for the GPA when it
	 * holds its translation; PWC entries hold none) */
	{ "ept-misconfig", a_eptm, 0,
	  { { .kinds = K(NW_MAP_GPHYS), .ep4ta = CUR, .t_drop = true, .t_addr = true,
	      .p_drop = true, .p_addr = true },
	    { .kinds = K(NW_MAP_COMBINED), .ep4ta = CUR, .t_drop = true, .t_addr = true,
	      .p_drop = true, .p_addr = true, .p_no_pwc = true } }, .nc = 2 },
	/* "VM entry or exit with VPID off: all linear and combined mappings of
	 * VPID 0" */
	{ .name = "vmx-transition-vpid-off", .apply = a_vmx_novpid, .rc = 0, .c = { { .kinds = LC, .vpid = ZERO, EVERYTHING } }, .nc = 1 },
	{ .name = "vmx-transition-vpid-on", .apply = a_vmx_vpid, .rc = 0, .c = { { 0 } }, .nc = 0 },
	/* "SVM TLB_CONTROL 1 / 3 / 7: all ASIDs / this ASID / this ASID's
	 * non-global entries, at VMRUN" */
	{ .name = "tlb-control-0", .apply = a_tlbctl0, .rc = 0, .c = { { 0 } }, .nc = 0 },
	{ .name = "tlb-control-1", .apply = a_tlbctl1, .rc = 0, .c = { { .kinds = ALLK, EVERYTHING } }, .nc = 1 },
	{ .name = "tlb-control-2", .apply = a_tlbctl2, .rc = -EINVAL, .c = { { 0 } }, .nc = 0 },
	{ .name = "tlb-control-3", .apply = a_tlbctl3, .rc = 0, .c = { { .kinds = ALLK, .vpid = OP, EVERYTHING } }, .nc = 1,
	  .op_vpid = VB_ },
	{ .name = "tlb-control-7", .apply = a_tlbctl7, .rc = 0, .c = { { .kinds = ALLK, .vpid = OP, .t_drop = true,
					      .t_global = G_KEEP, .p_drop = true } }, .nc = 1,
	  .op_vpid = VB_ },
	{ .name = "vmrun-asid-0", .apply = a_tlbctl_asid0, .rc = -EINVAL, .c = { { 0 } }, .nc = 0 },
	/* "INVLPGA (addr, asid): entries for addr in that ASID (global included),
	 * and that ASID's PSC entries" */
	{ .name = "invlpga", .apply = a_invlpga, .rc = 0, .c = { { .kinds = LC, .vpid = OP, .t_drop = true, .t_addr = true,
					.p_drop = true } }, .nc = 1, .op_vpid = VB_ },
};

/* ---- the tag combinations ---- */

static const uint16_t vpids[3] = { 0, VA_, VB_ };
static const uint16_t pcids[3] = { 0, PP, PQ };
static const uint64_t ep4tas[2] = { EX, EY };

struct combo {
	struct nw_tlb_tag tag;
	bool target;
};

static bool sel_ok(enum sel s, uint64_t v, uint64_t cur, uint64_t op)
{
	switch (s) {
	case ANY: return true;
	case CUR: return v == cur;
	case OP: return v == op;
	case NOT0: return v != 0;
	case ZERO: return v == 0;
	}
	return false;
}

static bool clause_drops(const struct row *r, const struct clause *c, const struct combo *x,
			 enum nw_tlb_class cls)
{
	if (!(c->kinds & K(x->tag.kind)))
		return false;
	if (!sel_ok(c->vpid, x->tag.vpid, VA_, r->op_vpid) ||
	    !sel_ok(c->ep4ta, x->tag.ep4ta, EX, r->op_ep4ta))
		return false;
	if (cls == NW_TLBC_TLB || cls == NW_TLBC_NTLB) {
		bool global = cls == NW_TLBC_TLB && x->tag.global;
		if (!c->t_drop || (c->t_addr && !x->target))
			return false;
		if (global && c->t_global == G_KEEP)
			return false;
		if (global && c->t_global == G_ANY_PCID)
			return true;
		return sel_ok(c->t_pcid, x->tag.pcid, PP, r->op_pcid);
	}
	if (!c->p_drop || (c->p_addr && !x->target) || (c->p_no_pwc && cls == NW_TLBC_PWC))
		return false;
	return sel_ok(c->p_pcid, x->tag.pcid, PP, r->op_pcid);
}

static bool expect_drop(const struct row *r, const struct combo *x, enum nw_tlb_class cls)
{
	for (int i = 0; i < r->nc; i++)
		if (clause_drops(r, &r->c[i], x, cls))
			return true;
	return false;
}

/* ---- building the set ---- */

static struct nw_tlb *make_tlb(void)
{
	struct nw_tlb_cfg cfg = { .vendor = NW_VENDOR_ANY, .va_bits = 48, .maxphyaddr = 46 };
	const struct nw_tlb_geom f4 = { 512, 512, NW_TLB_SZ_4K }, f2 = { 512, 512, NW_TLB_SZ_2M },
				 f1 = { 512, 512, NW_TLB_SZ_1G }, p = { 512, 512, 0 };
	cfg.l1d[0] = f4; cfg.l1d[1] = f2; cfg.l1d[2] = f1;
	cfg.l1i[0] = f4; cfg.l1i[1] = f2; cfg.l1i[2] = f1;
	cfg.l2[0] = (struct nw_tlb_geom){ 512, 512, NW_TLB_SZ_4K | NW_TLB_SZ_2M };
	cfg.l2[1] = f1;
	for (int i = 0; i < 4; i++)
		cfg.psc[i] = cfg.gpsc[i] = p;
	cfg.ntlb = (struct nw_tlb_geom){ 512, 512, NW_TLB_SZ_ALL };
	cfg.pwc = p;
	struct nw_tlb *t;
	char err[160];
	assert_int_equal(nw_tlb_create(&cfg, &t, err, sizeof(err)), 0);
	return t;
}

/* The size (level) of the entries a structure gets, and the PWC dimension. */
static int sid_size(enum nw_tlb_sid sid, char dim)
{
	switch (sid) {
	case NW_SID_L1D1: case NW_SID_L1I1: return 2;
	case NW_SID_L1D2: case NW_SID_L1I2: case NW_SID_L2_1: return 3;
	case NW_SID_PSC2: case NW_SID_GPSC2: return 2;
	case NW_SID_PSC3: case NW_SID_GPSC3: return 3;
	case NW_SID_PSC4: case NW_SID_GPSC4: return 4;
	case NW_SID_PSC5: case NW_SID_GPSC5: return 5;
	case NW_SID_PWC: return dim == NW_DIM_HOST ? 3 : 2;
	default: return 1;
	}
}

static bool kind_fits(enum nw_tlb_class cls, int kind)
{
	if (cls == NW_TLBC_GPSC || cls == NW_TLBC_NTLB)
		return kind == NW_MAP_GPHYS;
	if (cls == NW_TLBC_PWC)
		return true;
	return kind != NW_MAP_GPHYS;
}

/* An entry with the combo's tags; its pa encodes the combo index. */
static struct nw_tlb_entry make_entry(enum nw_tlb_sid sid, const struct combo *x, unsigned id)
{
	enum nw_tlb_class cls = nw_tlb_sid_class(sid);
	bool gphys = x->tag.kind == NW_MAP_GPHYS;
	char dim = gphys ? NW_DIM_HOST : NW_DIM_GUEST;
	int size = sid_size(sid, dim);
	uint64_t addr = gphys ? (x->target ? GPA_T : GPA_O) : (x->target ? LA_T : LA_O);
	uint64_t gpa = x->target ? GPA_T : GPA_O;
	struct nw_tlb_entry e = {
		.tag = x->tag,
		.addr = addr & ~(NW_LEVEL_SIZE(size) - 1),
		.size = (uint8_t)size,
		.page_level = (uint8_t)size,
		.prot = NW_PROT_RWX | NW_PROT_U,
		.pa = 0x100000000ull + (uint64_t)id * 8,
	};
	if (cls == NW_TLBC_PWC)
		e.dim = dim;
	if (x->tag.kind == NW_MAP_COMBINED && cls == NW_TLBC_TLB)
		e.gpa = gpa & ~(NW_LEVEL_SIZE(size) - 1);
	if (x->tag.kind == NW_MAP_COMBINED && cls == NW_TLBC_PSC)
		e.gpa = gpa & NW_PAGE_MASK;
	return e;
}

/* Every combination a structure can hold, in a fixed order. */
static unsigned combos_for(enum nw_tlb_sid sid, struct combo *out)
{
	enum nw_tlb_class cls = nw_tlb_sid_class(sid);
	unsigned n = 0;

	for (int kind = NW_MAP_LINEAR; kind <= NW_MAP_COMBINED; kind++) {
		if (!kind_fits(cls, kind))
			continue;
		for (int v = 0; v < 3; v++)
			for (int p = 0; p < 3; p++)
				for (int e = 0; e < 2; e++)
					for (int g = 0; g < 2; g++)
						for (int a = 0; a < 2; a++)
							out[n++] = (struct combo){
								.tag = { .kind = (uint8_t)kind,
									 .global = g, .vpid = vpids[v],
									 .pcid = pcids[p],
									 .ep4ta = ep4tas[e] },
								.target = a,
							};
	}
	return n;
}

struct seen {
	bool *present;
	unsigned n;
};

static void mark(void *arg, const struct nw_tlb_entry *e)
{
	struct seen *s = arg;
	unsigned id = (unsigned)((e->pa - 0x100000000ull) / 8);
	assert_true(id < s->n);
	assert_false(s->present[id]);
	s->present[id] = true;
}

static void fill_all(struct nw_tlb *t)
{
	struct combo c[256];

	nw_tlb_reset(t);
	for (int sid = 0; sid < NW_SID_COUNT; sid++) {
		unsigned n = combos_for(sid, c);
		for (unsigned i = 0; i < n; i++) {
			struct nw_tlb_entry e = make_entry(sid, &c[i], i);
			assert_int_equal(nw_tlb_insert(t, sid, &e), 0);
		}
		assert_int_equal(nw_tlb_count(t, sid), n);
	}
}

static void check_row(struct nw_tlb *t, const struct row *r)
{
	struct nw_tlb_ctx ctx = { .nest = NW_NEST_EPT, .vpid = VA_, .pcid = PP, .eptp = EPTP_X };
	struct combo c[256];
	bool present[256];
	unsigned dropped_total = 0;

	fill_all(t);
	nw_tlb_set_ctx(t, &ctx);
	int rc = r->apply(t);
	if (rc != r->rc)
		fail_msg("%s: returned %d, expected %d", r->name, rc, r->rc);
	for (int sid = 0; sid < NW_SID_COUNT; sid++) {
		enum nw_tlb_class cls = nw_tlb_sid_class(sid);
		unsigned n = combos_for(sid, c);
		struct seen s = { present, n };

		memset(present, 0, sizeof(present));
		nw_tlb_for_each(t, sid, mark, &s);
		for (unsigned i = 0; i < n; i++) {
			bool drop = expect_drop(r, &c[i], cls);
			dropped_total += drop;
			if (present[i] == drop)
				fail_msg("%s: %s: kind %u vpid %u pcid %u ep4ta %llx global %d %s: %s",
					 r->name, nw_tlb_sid_name(sid), c[i].tag.kind, c[i].tag.vpid,
					 c[i].tag.pcid, (unsigned long long)c[i].tag.ep4ta,
					 c[i].tag.global, c[i].target ? "target" : "other",
					 drop ? "survived, must be dropped" : "dropped, must survive");
		}
	}
	/* A row that drops something must drop entries of several structures;
	 * a failing one must drop nothing at all (checked above). */
	if (r->nc)
		assert_true(dropped_total > 0);
	print_message("  %-26s rc %3d, %4u entries dropped\n", r->name, rc, dropped_total);
}

static void test_every_row(void **state)
{
	struct nw_tlb *t = make_tlb();

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		check_row(t, &rows[i]);
	nw_tlb_destroy(t);
}

/* The stats count each primitive, failures as "inval.vmfail". */
static void test_counted(void **state)
{
	struct nw_tlb *t = make_tlb();
	uint64_t v;

	assert_int_equal(nw_tlb_invept(t, 2, 0), 0);
	assert_int_equal(nw_tlb_invept(t, 7, 0), NW_VMERR_INV_OPERAND);
	assert_int_equal(nw_tlb_invvpid(t, 1, 0, 0), NW_VMERR_INV_OPERAND);
	assert_int_equal(nw_tlb_stats_get(nw_tlb_stats(t), "inval.invept2", &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(nw_tlb_stats_get(nw_tlb_stats(t), "inval.vmfail", &v), 0);
	assert_int_equal(v, 2);
	nw_tlb_destroy(t);
}

/* An injected EPTP check (as nw_ept_eptp_check with the CPU's caps) decides. */
static int reject_all(void *arg, uint64_t eptp)
{
	(*(int *)arg)++;
	return -EINVAL;
}

static void test_eptp_hook(void **state)
{
	struct nw_tlb_cfg cfg = { .l1d = { { 4, 4, NW_TLB_SZ_ALL } }, .l1i = { { 4, 4, NW_TLB_SZ_ALL } },
				  .l2 = { { 4, 4, NW_TLB_SZ_ALL } }, .eptp_check = reject_all };
	int calls = 0;
	struct nw_tlb *t;

	cfg.eptp_check_arg = &calls;
	assert_int_equal(nw_tlb_create(&cfg, &t, NULL, 0), 0);
	assert_int_equal(nw_tlb_invept(t, 1, EPTP_X), NW_VMERR_INV_OPERAND);
	assert_int_equal(nw_tlb_invept(t, 2, EPTP_X), 0); /* type 2 takes no EPTP */
	assert_int_equal(calls, 1);
	nw_tlb_destroy(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_row),
		cmocka_unit_test(test_counted),
		cmocka_unit_test(test_eptp_hook),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
