/* SPDX-License-Identifier: MIT */
#ifndef NESTWALK_TLB_H
#define NESTWALK_TLB_H

/*
 * Translation caches: one vCPU's TLBs, paging-structure caches (PSCs),
 * page walk cache and nested TLB, as explicit set-associative models with
 * deterministic LRU and the architectural tags of SDM Vol. 3C §28.3
 * (FACTS.md §4): the kind of mapping, VPID (the ASID on AMD), PCID, EP4TA
 * and the global bit.
 *
 * Entries leave only through the invalidation primitives below, and each
 * drops exactly the "must drop" set of its FACTS.md §4 row (docs/TLB.md
 * lists them), never more: a hypervisor that forgets an INVEPT sees the
 * stale translation, as it would on silicon.
 *
 *	struct nw_cpu_preset p;
 *	struct nw_tlb *t;
 *	char err[160];
 *	nw_cpu_preset("skylake", &p, err, sizeof(err));
 *	if (nw_tlb_create(&p.tlb, &t, err, sizeof(err)) < 0) ...
 *	nw_tlb_set_ctx(t, &(struct nw_tlb_ctx){ .nest = NW_NEST_EPT, .vpid = 1, .eptp = eptp });
 *	struct nw_tlb_walker wk = { .w2d = cfg };            // what a miss walks
 *	struct nw_tlb_xlat x;
 *	nw_tlb_access(t, &wk, gva, NW_ACC_READ, &x);          // TLB, else walk and fill
 *	nw_tlb_invept(t, 1, eptp);                            // after changing the EPT
 *	nw_tlb_destroy(t);
 */

#include <stddef.h>

#include <nestwalk/tlb_lat.h>
#include <nestwalk/tlb_stats.h>
#include <nestwalk/walk.h>

enum nw_vendor {
	NW_VENDOR_ANY = 0, /* fits either (the generic preset) */
	NW_VENDOR_INTEL,
	NW_VENDOR_AMD,
};

/* ---- tags ---- */

/* The kind of a cached mapping (SDM Vol. 3C §28.3.1). */
enum nw_map_kind {
	NW_MAP_LINEAR = 1,   /* linear -> physical, EPT/NPT off: VPID, PCID */
	NW_MAP_GPHYS = 2,    /* guest-physical -> host-physical: EP4TA (ASID under NPT) */
	NW_MAP_COMBINED = 3, /* linear -> host-physical under EPT/NPT: VPID, PCID, EP4TA */
};

struct nw_tlb_tag {
	uint8_t kind;      /* enum nw_map_kind */
	bool global;       /* G of the leaf; PSC entries ignore it (they are never global) */
	uint16_t vpid;     /* VPID, or the ASID on AMD; 0 is the host's (or VPID off) */
	uint16_t pcid;     /* 0..4095 */
	uint64_t ep4ta;    /* EPTP bits 51:12 (0 for linear mappings and under NPT) */
};

/* ---- structures ---- */

/* Every structure of the set, by id. */
enum nw_tlb_sid {
	NW_SID_L1D0 = 0, NW_SID_L1D1, NW_SID_L1D2, /* L1 dTLB banks */
	NW_SID_L1I0, NW_SID_L1I1, NW_SID_L1I2,     /* L1 iTLB banks */
	NW_SID_L2_0, NW_SID_L2_1,                  /* second-level TLB banks */
	/* Linear/combined PSCs, by the level of the entry they hold: the PDE
	 * cache (linear bits 47:21), PDPTE (47:30), PML4E (47:39), PML5E. */
	NW_SID_PSC2, NW_SID_PSC3, NW_SID_PSC4, NW_SID_PSC5,
	/* Guest-physical PSCs: the same for EPT/NPT entries, by GPA prefix. */
	NW_SID_GPSC2, NW_SID_GPSC3, NW_SID_GPSC4, NW_SID_GPSC5,
	NW_SID_NTLB,   /* nested TLB: GPA -> HPA (guest-physical mappings) */
	NW_SID_PWC,    /* AMD page walk cache: entries by their HPA, both dimensions */
	NW_SID_COUNT
};

/* What a structure holds. */
enum nw_tlb_class {
	NW_TLBC_TLB,   /* linear or combined translations (L1/L2 TLBs) */
	NW_TLBC_PSC,   /* linear or combined paging-structure entries, by prefix */
	NW_TLBC_GPSC,  /* guest-physical paging-structure entries, by GPA prefix */
	NW_TLBC_NTLB,  /* guest-physical translations */
	NW_TLBC_PWC,   /* paging-structure entries by HPA: guest (linear/combined) or host (guest-physical) */
};

enum nw_tlb_class nw_tlb_sid_class(enum nw_tlb_sid sid);
const char *nw_tlb_sid_name(enum nw_tlb_sid sid);

/* Page-size bits of a TLB bank, by leaf level. */
#define NW_TLB_SZ(level) (1u << (level))
#define NW_TLB_SZ_4K NW_TLB_SZ(NW_PAGE_4K)
#define NW_TLB_SZ_2M NW_TLB_SZ(NW_PAGE_2M)
#define NW_TLB_SZ_1G NW_TLB_SZ(NW_PAGE_1G)
#define NW_TLB_SZ_ALL (NW_TLB_SZ_4K | NW_TLB_SZ_2M | NW_TLB_SZ_1G)

/* One set-associative structure. */
struct nw_tlb_geom {
	uint32_t entries;  /* 0: the structure is absent */
	uint32_t ways;     /* == entries: fully associative; entries / ways sets, a power of two */
	uint8_t sizes;     /* TLB banks and the nested TLB: NW_TLB_SZ_* it holds */
};

/*
 * The structure set. A TLB level is one to three banks, each holding some
 * page sizes (Intel: one bank per size; AMD: one unified bank). A page
 * size no bank of a level holds is splintered into the largest smaller
 * size that one does (Zen's L2 keeps a 1 GiB page as 2 MiB entries); every
 * level must therefore hold 4K.
 */
struct nw_tlb_cfg {
	enum nw_vendor vendor;
	struct nw_tlb_geom l1d[3], l1i[3], l2[2];
	struct nw_tlb_geom psc[4];   /* Intel-style PSCs for entry levels 2..5 */
	struct nw_tlb_geom gpsc[4];  /* guest-physical PSCs, levels 2..5 */
	struct nw_tlb_geom ntlb;     /* nested TLB */
	struct nw_tlb_geom pwc;      /* AMD-style page walk cache */
	unsigned va_bits;            /* 48 or 57: INVVPID's and INVPCID's canonical check */
	unsigned maxphyaddr;         /* 36..52: INVEPT's EPTP check */
	/*
	 * INVEPT type 1 accepts only an EPTP that VM entry would accept. tlb/
	 * sits below ept/, so the check is injected: pass nw_ept_eptp_check()
	 * with the CPU's EPT capabilities. NULL: FACTS.md §3's EPTP table with
	 * every capability present (UC or WB, 4- or 5-level, A/D allowed).
	 */
	int (*eptp_check)(void *arg, uint64_t eptp);
	void *eptp_check_arg;
	/* Allocation hook (NULL: calloc and free), for fault injection. */
	void *(*calloc)(size_t n, size_t size);
	void (*free)(void *p);
};

struct nw_tlb;

/*
 * Build the structure set in one allocation: 0; -EINVAL with a message in
 * err (zero ways, entries not a multiple of the ways, sets not a power of
 * two, a bank without page sizes, two banks of a level holding one size,
 * a level that holds no 4K pages); -ENOMEM with nothing built.
 */
int nw_tlb_create(const struct nw_tlb_cfg *cfg, struct nw_tlb **out, char *err, size_t errlen);
/* The same checks alone: 0 or -EINVAL with the message. */
int nw_tlb_cfg_check(const struct nw_tlb_cfg *cfg, char *err, size_t errlen);
void nw_tlb_destroy(struct nw_tlb *t);
const struct nw_tlb_cfg *nw_tlb_config(const struct nw_tlb *t);

/* ---- the current context: which tags fills get and lookups match ---- */

enum nw_nest {
	NW_NEST_NONE = 0, /* native or shadow: linear mappings */
	NW_NEST_EPT,      /* combined and guest-physical mappings tagged by EP4TA */
	NW_NEST_NPT,      /* combined and guest-physical mappings tagged by ASID */
};

struct nw_tlb_ctx {
	enum nw_nest nest;
	uint16_t vpid;    /* current VPID (0: VPID off, or root operation) or ASID */
	uint16_t pcid;    /* current PCID (0 with CR4.PCIDE = 0) */
	uint64_t eptp;    /* NW_NEST_EPT: the EPTP; its bits 51:12 are the EP4TA */
};

/* Switch context. Changes no entry: a context switch is not an invalidation. */
void nw_tlb_set_ctx(struct nw_tlb *t, const struct nw_tlb_ctx *ctx);
const struct nw_tlb_ctx *nw_tlb_get_ctx(const struct nw_tlb *t);

/* ---- the invalidation primitives (inval.c) ----
 *
 * Return values, one convention for all:
 *   0                      done;
 *   NW_VMERR_INV_OPERAND   (28, positive) INVEPT/INVVPID VMfailValid with
 *                          VM-instruction error 28, nothing dropped;
 *   -EINVAL                the instruction would fault (#GP, a reserved
 *                          INVPCID type or TLB_CONTROL value, VMRUN with
 *                          ASID 0) or a bad argument, nothing dropped.
 * Each drops exactly its FACTS.md §4 row; "current" means nw_tlb_set_ctx's.
 */
#define NW_VMERR_INV_OPERAND 28

int nw_tlb_invlpg(struct nw_tlb *t, uint64_t la);
/* MOV to CR3: cr3 bits 11:0 are the new PCID and bit 63 "no flush" when pcide. */
int nw_tlb_mov_cr3(struct nw_tlb *t, uint64_t cr3, bool pcide);
int nw_tlb_invpcid(struct nw_tlb *t, uint64_t type, uint64_t pcid, uint64_t la);
int nw_tlb_invept(struct nw_tlb *t, uint64_t type, uint64_t eptp);
/* desc_lo: INVVPID descriptor bits 63:0 (VPID in 15:0, 63:16 must be 0). */
int nw_tlb_invvpid(struct nw_tlb *t, uint64_t type, uint64_t desc_lo, uint64_t la);
int nw_tlb_invlpga(struct nw_tlb *t, uint64_t la, uint32_t asid);
/* The VMCB's TLB_CONTROL (0, 1, 3, 7), acted on at VMRUN for `asid`. */
int nw_tlb_tlb_control(struct nw_tlb *t, uint32_t asid, unsigned tlb_control);
/* A VM entry or exit: with VPID off it flushes VPID 0's mappings. */
int nw_tlb_vmx_transition(struct nw_tlb *t, bool vpid_enabled);
/* The invalidations the CPU makes itself when it delivers these faults. */
int nw_tlb_on_pf(struct nw_tlb *t, uint64_t la);
int nw_tlb_on_ept_violation(struct nw_tlb *t, uint64_t gpa, uint64_t gla, bool gla_valid);
int nw_tlb_on_ept_misconfig(struct nw_tlb *t, uint64_t gpa);

/* ---- cached translation (access.c, walk1d.c, walk_cache.c) ---- */

/* What a TLB miss walks: 1D (x86 tables) with nest NONE, else 2D. */
struct nw_tlb_walker {
	/* 1D: native or shadow x86-64 tables at host-physical addresses. */
	const struct nw_fmt *fmt;
	const struct nw_acc *acc;
	uint64_t root;               /* CR3 (sCR3) address bits */
	struct nw_x86_mode mode;
	/* 2D: everything nw_walk2d needs; its cache field is ignored. */
	struct nw_walk2d_cfg w2d;
	unsigned flags;              /* NW_TLB_WALK_* */
};

#define NW_TLB_WALK_UNCACHED 0x1u /* no structure is consulted or filled */
#define NW_TLB_WALK_NO_DATA 0x2u  /* do not charge the data access */

struct nw_tlb_xlat {
	struct nw_walk w;   /* the translation or fault; refs only if it walked */
	int tlb_level;      /* 1: L1 TLB hit, 2: L2 TLB hit, 0: walked */
	uint64_t cycles;    /* this access's cycles (with a latency model) */
};

/*
 * One access: look up the TLBs in the current context; on a miss (or a
 * hit whose cached rights or dirty state do not cover the access) walk,
 * with the PSCs, PWC and nested TLB skipping references, and fill. A fault
 * makes the CPU's own invalidation (#PF, EPT violation, misconfiguration)
 * and, for a nested fault, costs a VM exit round trip. Returns 0 with x
 * filled, fault or not; -ERANGE (non-canonical) or -EINVAL as the walkers.
 */
int nw_tlb_access(struct nw_tlb *t, const struct nw_tlb_walker *wk, uint64_t va,
		  unsigned access, struct nw_tlb_xlat *x);

/* The walk alone (no TLB lookup or fill): PSCs, PWC and nested TLB apply. */
int nw_tlb_walk(struct nw_tlb *t, const struct nw_tlb_walker *wk, uint64_t va,
		unsigned access, struct nw_walk *w);

/* The latency model cycles are charged to (NULL: none). Not owned. */
void nw_tlb_set_lat(struct nw_tlb *t, struct nw_lat *lat);
/* Charge one VM exit round trip that is not a nested fault (CPUID, HLT...). */
void nw_tlb_charge_vmexit(struct nw_tlb *t);

struct nw_tlb_stats *nw_tlb_stats(struct nw_tlb *t);

/* ---- raw entries, for tests and tools ---- */

/* One cached entry. Which fields mean something depends on the class. */
struct nw_tlb_entry {
	struct nw_tlb_tag tag;
	uint64_t addr;       /* base of the region it serves: linear (TLB, PSC, PWC guest)
				or guest-physical (NTLB, GPSC, PWC host) */
	uint8_t size;        /* the region is NW_LEVEL_SIZE(size) bytes: TLB/NTLB the
				entry's page size, PSC/GPSC/PWC the cached entry's level */
	uint8_t page_level;  /* TLB/NTLB: the page it came from (> size when splintered) */
	uint8_t host_level;  /* TLB (2D): nested page level; PSC: nested level of the table */
	uint8_t pkey;
	bool dirty;          /* TLB/NTLB: a write needs no walk to set D */
	char dim;            /* PWC: NW_DIM_GUEST or NW_DIM_HOST */
	uint32_t prot;       /* TLB: guest rights; PSC/GPSC: rights above the table; NTLB: rights */
	uint32_t host_prot;  /* TLB (2D): nested rights; PSC (2D): the table page's nested rights */
	uint64_t pa;         /* TLB/NTLB: HPA of addr; PSC/GPSC: the table named; PWC: the entry's HPA */
	uint64_t gpa;        /* combined TLB: GPA of addr; combined PSC: the table's GPA */
	uint64_t table_hpa;  /* combined PSC: HPA of the table */
	uint64_t value;      /* PWC: the entry; NTLB: the nested leaf */
};

/* Put e into structure sid (replacing its LRU victim). -EINVAL when the
 * structure is absent or cannot hold e's kind or size. */
int nw_tlb_insert(struct nw_tlb *t, enum nw_tlb_sid sid, const struct nw_tlb_entry *e);
/* Call fn for every valid entry of sid, in slot order. */
void nw_tlb_for_each(const struct nw_tlb *t, enum nw_tlb_sid sid,
		     void (*fn)(void *arg, const struct nw_tlb_entry *e), void *arg);
size_t nw_tlb_count(const struct nw_tlb *t, enum nw_tlb_sid sid);
/* Drop everything (power-up or reset; not an architectural primitive). */
void nw_tlb_reset(struct nw_tlb *t);

#endif
