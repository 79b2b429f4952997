/* SPDX-License-Identifier: MIT */
#ifndef NESTWALK_TLB_STATS_H
#define NESTWALK_TLB_STATS_H

/*
 * One vCPU's translation figures, each with a stable name. The names are
 * the contract: the JSON output, the benchmark counters and the reports use
 * them as they are, and every name is listed whether or not the preset has
 * the structure it counts (an absent structure counts 0).
 *
 *	struct nw_stat list[NW_TLB_STATS_MAX];
 *	size_t n = nw_tlb_stats_list(nw_tlb_stats(t), list, NW_TLB_STATS_MAX);
 *	for (size_t i = 0; i < n; i++)
 *		printf("%s %llu\n", list[i].name, (unsigned long long)list[i].value);
 */

#include <stddef.h>
#include <stdint.h>

/* TLB levels, for hits and misses. */
enum nw_tlb_lvl {
	NW_TLBL_L1D = 0,   /* "l1d" */
	NW_TLBL_L1I,       /* "l1i" */
	NW_TLBL_L2,        /* "l2" */
	NW_TLBL_COUNT
};

/* Page-size slots: 1 = 4K, 2 = 2M, 3 = 1G (the leaf level); 0 = no page
 * (a miss that ended in a fault). */
#define NW_TLB_PS_SLOTS 4

/* Where a cache line was found (latency model). */
enum nw_mem_level {
	NW_MEM_L1 = 0,
	NW_MEM_L2,
	NW_MEM_LLC,
	NW_MEM_DRAM,
	NW_MEM_LEVELS
};

/* What cycles were spent on. */
enum nw_cyc {
	NW_CYC_TLB = 0,     /* "cycles.tlb": L1 and L2 TLB lookups */
	NW_CYC_PSC,         /* "cycles.psc": PSC, PWC and nested-TLB hits */
	NW_CYC_WALK_GUEST,  /* "cycles.walk.guest": guest-dimension references */
	NW_CYC_WALK_HOST,   /* "cycles.walk.host": nested-dimension references */
	NW_CYC_DATA,        /* "cycles.data": the data access itself */
	NW_CYC_VMEXIT,      /* "cycles.vmexit": VM exit and entry round trips */
	NW_CYC_COUNT
};

/* Invalidations, by primitive (FACTS.md §4, one row each). */
enum nw_inv {
	NW_INV_INVLPG = 0,
	NW_INV_INVPCID0, NW_INV_INVPCID1, NW_INV_INVPCID2, NW_INV_INVPCID3,
	NW_INV_MOV_CR3,          /* PCIDE=0 */
	NW_INV_MOV_CR3_PCID,     /* PCIDE=1, bit 63 = 0 */
	NW_INV_MOV_CR3_NOFLUSH,  /* PCIDE=1, bit 63 = 1 */
	NW_INV_PF,
	NW_INV_INVEPT1, NW_INV_INVEPT2,
	NW_INV_INVVPID0, NW_INV_INVVPID1, NW_INV_INVVPID2, NW_INV_INVVPID3,
	NW_INV_EPT_VIOLATION,
	NW_INV_EPT_MISCONFIG,
	NW_INV_VMX_TRANSITION,   /* VM entry or exit with VPID off */
	NW_INV_TLB_CONTROL1, NW_INV_TLB_CONTROL3, NW_INV_TLB_CONTROL7,
	NW_INV_INVLPGA,
	NW_INV_VMFAIL,           /* INVEPT/INVVPID that failed (VMfail 28) */
	NW_INV_COUNT
};

struct nw_tlb_stats {
	uint64_t accesses;                         /* "accesses" */
	/* "tlb.<lvl>.<ps>.hits": by the page size of the entry that hit. */
	uint64_t tlb_hits[NW_TLBL_COUNT][NW_TLB_PS_SLOTS];
	/* "tlb.<lvl>.<ps>.misses": by the page size of the translation that
	 * resolved the miss; slot 0 ("none") when it ended in a fault. */
	uint64_t tlb_misses[NW_TLBL_COUNT][NW_TLB_PS_SLOTS];
	/* "psc.<pde|pdpte|pml4e|pml5e>.hits/misses": linear and combined
	 * paging-structure caches, indexed by the level of the cached entry. */
	uint64_t psc_hits[6], psc_misses[6];
	/* "gpsc.<...>.hits/misses": guest-physical paging-structure caches. */
	uint64_t gpsc_hits[6], gpsc_misses[6];
	uint64_t ntlb_hits, ntlb_misses;           /* "ntlb.hits", "ntlb.misses" */
	/* "pwc.guest.*", "pwc.host.*": the page walk cache, by dimension. */
	uint64_t pwc_hits[2], pwc_misses[2];
	uint64_t walks;                            /* "walks" */
	uint64_t walk_faults;                      /* "walks.faulted" */
	uint64_t refs_guest, refs_host;            /* "walk.refs.guest", "walk.refs.host" */
	uint64_t refs_skipped;                     /* "walk.refs.skipped": made unnecessary by caches */
	uint64_t mem_pt[NW_MEM_LEVELS];            /* "mem.pt.<l1|l2|llc|dram>" */
	uint64_t mem_data[NW_MEM_LEVELS];          /* "mem.data.<...>" */
	uint64_t cycles[NW_CYC_COUNT];             /* "cycles.<cause>" */
	uint64_t inval[NW_INV_COUNT];              /* "inval.<primitive>" */
	uint64_t inval_dropped;                    /* "inval.dropped": entries dropped */
};

/* One named figure. */
struct nw_stat {
	const char *name;
	uint64_t value;
};

/* Upper bound of the number of figures nw_tlb_stats_list() produces. */
#define NW_TLB_STATS_MAX 160

/*
 * Write up to max (name, value) pairs, always in the same order, and
 * return how many figures there are (as snprintf does: more than max means
 * the list was cut short).
 */
size_t nw_tlb_stats_list(const struct nw_tlb_stats *s, struct nw_stat *out, size_t max);

/* The value of one figure by name: 0 and *value, or -ENOENT. */
int nw_tlb_stats_get(const struct nw_tlb_stats *s, const char *name, uint64_t *value);

/* The stable name of an invalidation primitive ("invlpg", "invept1", ...). */
const char *nw_inv_name(enum nw_inv inv);

#endif
