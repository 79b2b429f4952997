/* SPDX-License-Identifier: MIT */
/*
 * The stable names of the figures in struct nw_tlb_stats. The table below
 * is the only place a name is spelled; reports and JSON take them from
 * nw_tlb_stats_list(). Never rename or reorder: append.
 */

#include <errno.h>
#include <string.h>

#include <nestwalk/tlb_stats.h>

struct stat_def {
	const char *name;
	size_t off;
};

#define S(name, field) { name, offsetof(struct nw_tlb_stats, field) }
#define TLB_LVL(l, lvl)                                                            \
	S("tlb." l ".4k.hits", tlb_hits[lvl][1]), S("tlb." l ".2m.hits", tlb_hits[lvl][2]), \
	S("tlb." l ".1g.hits", tlb_hits[lvl][3]),                                  \
	S("tlb." l ".4k.misses", tlb_misses[lvl][1]),                              \
	S("tlb." l ".2m.misses", tlb_misses[lvl][2]),                              \
	S("tlb." l ".1g.misses", tlb_misses[lvl][3]),                              \
	S("tlb." l ".none.misses", tlb_misses[lvl][0])
#define PSC(p, f)                                                                  \
	S(p ".pde.hits", f##_hits[2]), S(p ".pde.misses", f##_misses[2]),          \
	S(p ".pdpte.hits", f##_hits[3]), S(p ".pdpte.misses", f##_misses[3]),      \
	S(p ".pml4e.hits", f##_hits[4]), S(p ".pml4e.misses", f##_misses[4]),      \
	S(p ".pml5e.hits", f##_hits[5]), S(p ".pml5e.misses", f##_misses[5])
#define MEM(k, f)                                                                  \
	S("mem." k ".l1", f[NW_MEM_L1]), S("mem." k ".l2", f[NW_MEM_L2]),          \
	S("mem." k ".llc", f[NW_MEM_LLC]), S("mem." k ".dram", f[NW_MEM_DRAM])

static const char *const inv_names[NW_INV_COUNT] = {
	[NW_INV_INVLPG] = "invlpg",
	[NW_INV_INVPCID0] = "invpcid0", [NW_INV_INVPCID1] = "invpcid1",
	[NW_INV_INVPCID2] = "invpcid2", [NW_INV_INVPCID3] = "invpcid3",
	[NW_INV_MOV_CR3] = "mov_cr3", [NW_INV_MOV_CR3_PCID] = "mov_cr3_pcid",
	[NW_INV_MOV_CR3_NOFLUSH] = "mov_cr3_noflush",
	[NW_INV_PF] = "pf",
	[NW_INV_INVEPT1] = "invept1", [NW_INV_INVEPT2] = "invept2",
	[NW_INV_INVVPID0] = "invvpid0", [NW_INV_INVVPID1] = "invvpid1",
	[NW_INV_INVVPID2] = "invvpid2", [NW_INV_INVVPID3] = "invvpid3",
	[NW_INV_EPT_VIOLATION] = "ept_violation",
	[NW_INV_EPT_MISCONFIG] = "ept_misconfig",
	[NW_INV_VMX_TRANSITION] = "vmx_transition",
	[NW_INV_TLB_CONTROL1] = "tlb_control1", [NW_INV_TLB_CONTROL3] = "tlb_control3",
	[NW_INV_TLB_CONTROL7] = "tlb_control7",
	[NW_INV_INVLPGA] = "invlpga",
	[NW_INV_VMFAIL] = "vmfail",
};


static const struct stat_def defs[] = {
	S("accesses", accesses),
	TLB_LVL("l1d", NW_TLBL_L1D),
	TLB_LVL("l1i", NW_TLBL_L1I),
	TLB_LVL("l2", NW_TLBL_L2),
	PSC("psc", psc),
	PSC("gpsc", gpsc),
	S("ntlb.hits", ntlb_hits), S("ntlb.misses", ntlb_misses),
	S("pwc.guest.hits", pwc_hits[0]), S("pwc.guest.misses", pwc_misses[0]),
	S("pwc.host.hits", pwc_hits[1]), S("pwc.host.misses", pwc_misses[1]),
	S("walks", walks), S("walks.faulted", walk_faults),
	S("walk.refs.guest", refs_guest), S("walk.refs.host", refs_host),
	S("walk.refs.skipped", refs_skipped),
	MEM("pt", mem_pt),
	MEM("data", mem_data),
	S("cycles.tlb", cycles[NW_CYC_TLB]), S("cycles.psc", cycles[NW_CYC_PSC]),
	S("cycles.walk.guest", cycles[NW_CYC_WALK_GUEST]),
	S("cycles.walk.host", cycles[NW_CYC_WALK_HOST]),
	S("cycles.data", cycles[NW_CYC_DATA]), S("cycles.vmexit", cycles[NW_CYC_VMEXIT]),
	S("inval.invlpg", inval[NW_INV_INVLPG]),
	S("inval.invpcid0", inval[NW_INV_INVPCID0]), S("inval.invpcid1", inval[NW_INV_INVPCID1]),
	S("inval.invpcid2", inval[NW_INV_INVPCID2]), S("inval.invpcid3", inval[NW_INV_INVPCID3]),
	S("inval.mov_cr3", inval[NW_INV_MOV_CR3]),
	S("inval.mov_cr3_pcid", inval[NW_INV_MOV_CR3_PCID]),
	S("inval.mov_cr3_noflush", inval[NW_INV_MOV_CR3_NOFLUSH]),
	S("inval.pf", inval[NW_INV_PF]),
	S("inval.invept1", inval[NW_INV_INVEPT1]), S("inval.invept2", inval[NW_INV_INVEPT2]),
	S("inval.invvpid0", inval[NW_INV_INVVPID0]), S("inval.invvpid1", inval[NW_INV_INVVPID1]),
	S("inval.invvpid2", inval[NW_INV_INVVPID2]), S("inval.invvpid3", inval[NW_INV_INVVPID3]),
	S("inval.ept_violation", inval[NW_INV_EPT_VIOLATION]),
	S("inval.ept_misconfig", inval[NW_INV_EPT_MISCONFIG]),
	S("inval.vmx_transition", inval[NW_INV_VMX_TRANSITION]),
	S("inval.tlb_control1", inval[NW_INV_TLB_CONTROL1]),
	S("inval.tlb_control3", inval[NW_INV_TLB_CONTROL3]),
	S("inval.tlb_control7", inval[NW_INV_TLB_CONTROL7]),
	S("inval.invlpga", inval[NW_INV_INVLPGA]),
	S("inval.vmfail", inval[NW_INV_VMFAIL]),
	S("inval.dropped", inval_dropped),
};

#define NDEFS (sizeof(defs) / sizeof(defs[0]))
_Static_assert(NDEFS <= NW_TLB_STATS_MAX, "raise NW_TLB_STATS_MAX");

static uint64_t value_at(const struct nw_tlb_stats *s, size_t off)
{
	uint64_t v;
	memcpy(&v, (const char *)s + off, sizeof(v));
	return v;
}

size_t nw_tlb_stats_list(const struct nw_tlb_stats *s, struct nw_stat *out, size_t max)
{
	for (size_t i = 0; i < NDEFS && i < max; i++)
		out[i] = (struct nw_stat){ defs[i].name, value_at(s, defs[i].off) };
	return NDEFS;
}

int nw_tlb_stats_get(const struct nw_tlb_stats *s, const char *name, uint64_t *value)
{
	for (size_t i = 0; i < NDEFS; i++)
		if (!strcmp(defs[i].name, name)) {
			*value = value_at(s, defs[i].off);
			return 0;
		}
	return -ENOENT;
}

const char *nw_inv_name(enum nw_inv inv)
{
	return (unsigned)inv < NW_INV_COUNT ? inv_names[inv] : "?";
}
