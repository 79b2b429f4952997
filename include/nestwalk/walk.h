/* SPDX-License-Identifier: MIT */
#ifndef NESTWALK_WALK_H
#define NESTWALK_WALK_H

/*
 * Walkers. A walk reports everything: the translation, page size and
 * effective rights; the architectural fault; the A/D updates it made; and a
 * reference log of every entry it read, taken from the accessor's actual
 * reads and labelled by dimension and level.
 *
 * nestwalk's A/D policy (SDM §4.8 allows either): a walk sets accessed and
 * dirty flags only after it has succeeded, permission checks included, as
 * KVM's guest walker does. A faulting walk writes nothing.
 */

#include <stddef.h>
#include <string.h>

#include <nestwalk/acc.h>
#include <nestwalk/fmt.h>
#include <nestwalk/x86.h>

#define NW_WALK_MAX_REFS 48 /* a 5x5 2D walk makes 35 */

/* Dimensions of a reference. */
#define NW_DIM_GUEST 'g' /* an entry of the guest's (or a native) table */
#define NW_DIM_HOST 'h'  /* an entry of the nested (EPT/NPT) table */

struct nw_walk_ref {
	uint64_t pa;    /* address of the entry read (host-physical) */
	uint64_t entry; /* the value read */
	uint8_t level;  /* 1..5 */
	char dim;       /* NW_DIM_GUEST or NW_DIM_HOST */
};

struct nw_walk_ad {
	uint64_t pa;    /* address of the entry updated */
	uint64_t bits;  /* the A/D bits the walk set in it */
};

enum nw_fault {
	NW_FAULT_NONE = 0,
	NW_FAULT_PF,            /* x86 #PF: error in pf_error, address in fault_addr */
	NW_FAULT_EPT_VIOLATION, /* exit reason 48: qualification in exit.qual */
	NW_FAULT_EPT_MISCONFIG, /* exit reason 49: qualification 0 */
	NW_FAULT_NPF,           /* VMEXIT_NPF 0x400: exit.info1 and exit.info2 */
};

/* Why a nested walk stopped, in vendor-neutral terms. */
enum nw_nested_cause {
	NW_NESTED_NONE = 0,
	NW_NESTED_NOT_PRESENT,
	NW_NESTED_DENIED,       /* present, but the rights do not allow the access */
	NW_NESTED_RSVD,         /* reserved bits: EPT misconfiguration, NPF with RSV */
};

/*
 * The exit a nested fault causes: the vendor-neutral facts and, beside them,
 * the exact vendor encodings.
 */
struct nw_exit {
	enum nw_nested_cause cause;
	bool final;             /* the final GPA (true), or a guest paging-structure entry */
	unsigned access;        /* NW_ACC_* of the access the nested dimension saw */
	int level;              /* nested level where the walk stopped */
	uint64_t gpa;           /* guest-physical address (VMCS field 0x2400, EXITINFO2) */
	uint64_t gla;           /* guest-linear address (VMCS field 0x640A) */
	bool gla_valid;         /* EPT qualification bit 7 */
	uint64_t qual;          /* EPT: exit qualification (violation; 0 for misconfig) */
	uint64_t info1;         /* NPT: EXITINFO1 */
	uint64_t info2;         /* NPT: EXITINFO2 */
};

/* What the nested dimension is asked to translate, for one GPA. */
struct nw_nested_req {
	uint64_t gpa;
	uint64_t gla;           /* the linear address of the whole guest access */
	unsigned access;        /* NW_ACC_* the vendor rule assigns to this GPA access */
	bool final;             /* the final GPA, or a guest paging-structure entry */
	/* Guest paging-structure access that EPT must report as read and write. */
	bool pt_read_write;
	uint32_t guest_prot;    /* final only: the guest translation's NW_PROT_* */
};

struct nw_walk {
	enum nw_fault fault;
	/* On success: */
	uint64_t pa;            /* translation of the address walked */
	int level;              /* level of the (guest) leaf: 1 = 4 KiB, 2 = 2 MiB, 3 = 1 GiB */
	int host_level;         /* 2D walks: level of the nested leaf of the final GPA */
	uint64_t page_size;     /* 2D walks: the smaller of the guest and host pages */
	uint32_t prot;          /* effective rights over every (guest) level, NW_PROT_* */
	uint32_t host_prot;     /* 2D walks: rights of the final GPA's nested walk */
	uint8_t pkey;           /* protection key of the leaf */
	/* On a fault: */
	uint32_t pf_error;      /* #PF error code */
	uint64_t fault_addr;    /* the faulting address (CR2) */
	int fault_level;        /* level of the entry that ended the walk */
	struct nw_exit exit;    /* NW_FAULT_EPT_* and NW_FAULT_NPF */
	/* Side effects and references (entries past n_ad and n_refs are undefined): */
	unsigned n_ad;
	unsigned n_refs;
	unsigned cache_hits;    /* references a translation cache made unnecessary */
	/* The logs last, so that clearing a result need not touch them. */
	struct nw_walk_ad ad[NW_WALK_MAX_REFS];
	struct nw_walk_ref refs[NW_WALK_MAX_REFS];
};

/*
 * Reset a result to "no fault, nothing logged". Only the fields before the
 * logs are cleared: the two arrays are ~1.9 KB, and n_ad and n_refs say how
 * much of them means anything. The clear goes in pieces of 64 bytes, which
 * compilers store inline; one memset of the whole header (144 bytes) becomes
 * a `rep stos`, whose start-up alone costs more than a TLB hit.
 */
static inline void nw_walk_clear(struct nw_walk *w)
{
	char *p = (char *)w;
	size_t n = offsetof(struct nw_walk, ad);

	for (size_t i = 0; i < n; i += 64)
		memset(p + i, 0, n - i < 64 ? n - i : 64);
}

/* Outcome of walking one radix tree, before any permission policy. */
enum nw_walk1d_status {
	NW_W1D_OK = 0,
	NW_W1D_NOT_PRESENT,     /* stopped at a non-present entry */
	NW_W1D_RSVD,            /* stopped at a present entry with reserved bits */
};

struct nw_walk1d {
	enum nw_walk1d_status status;
	int level;              /* leaf level, or level of the entry that stopped the walk */
	uint64_t pa;            /* translation (NW_W1D_OK only) */
	uint32_t prot;          /* AND of the rights of every present entry read */
	uint64_t leaf;          /* the last entry read */
	int n;                  /* entries read */
	uint64_t entry_pa[NW_MAX_LEVELS]; /* their addresses, root level first */
	uint64_t entry[NW_MAX_LEVELS];    /* and values */
};

/*
 * Translation caches, as the walkers see them. Every hook is optional; with
 * no cache (NULL) a walk makes every reference. tlb/ implements these with
 * architectural tags; the walker only asks and fills.
 *
 * - nested_tlb: a whole GPA -> HPA translation (AMD's nested TLB, Intel's
 *   guest-physical mappings). A hit skips the nested walk.
 * - *_psc: a paging-structure cache keyed by an address prefix (Intel's split
 *   PML4E/PDPTE/PDE caches). A hit says where to resume (struct nw_psc_hit).
 *   The walker offers every non-leaf entry of a successful walk to *_fill;
 *   the cache decides what it keeps.
 * - entry: a cache of entries keyed by their physical address (AMD's page
 *   walk cache). A hit returns the entry without a memory reference.
 */
/* A paging-structure-cache hit: where to resume a walk. */
struct nw_psc_hit {
	int level;            /* level of the next entry to read */
	uint64_t table;       /* address of that table: GPA (guest) or HPA (nested) */
	uint32_t prot;        /* rights gathered above it */
	/* Guest hits only: the nested translation of the table page. */
	uint64_t table_hpa;
	uint32_t nested_prot;
	int nested_level;
};

struct nw_walk_cache {
	void *ctx;
	bool (*nested_tlb_lookup)(void *ctx, uint64_t gpa, struct nw_walk1d *hw);
	void (*nested_tlb_fill)(void *ctx, uint64_t gpa, const struct nw_walk1d *hw);
	bool (*guest_psc_lookup)(void *ctx, uint64_t gva, struct nw_psc_hit *hit);
	void (*guest_psc_fill)(void *ctx, uint64_t gva, const struct nw_psc_hit *hit);
	bool (*nested_psc_lookup)(void *ctx, uint64_t gpa, struct nw_psc_hit *hit);
	void (*nested_psc_fill)(void *ctx, uint64_t gpa, const struct nw_psc_hit *hit);
	bool (*entry_lookup)(void *ctx, char dim, int level, uint64_t pa, uint64_t *entry);
	void (*entry_fill)(void *ctx, char dim, int level, uint64_t pa, uint64_t entry);
};

/* Where a table walk starts, and what it may consult. */
struct nw_walk_src {
	const struct nw_fmt *fmt;
	const struct nw_acc *acc;
	const struct nw_walk_cache *cache; /* NULL: uncached */
	char dim;                          /* label for the reference log */
	unsigned mode;                     /* NW_FMT_* */
};

/*
 * Walk a tree from `table` at `level` (the level of the first entry read)
 * for addr, with `prot` the rights gathered above it (all rights at the
 * root). Consults the src's entry cache. Appends references to log.
 */
void nw_walk_tables_from(const struct nw_walk_src *src, uint64_t table, int level,
			 uint32_t prot, uint64_t addr, struct nw_walk *log,
			 struct nw_walk1d *out);

/*
 * Walk one radix tree of `levels` levels from `root` for `addr` (in the
 * tree's index space). Every read goes through acc and, when log is not
 * NULL, is appended to log->refs with dimension dim. The format's rsvd check
 * gets `mode` (NW_FMT_*). Pure: it writes no entry.
 */
void nw_walk_tables(const struct nw_fmt *f, const struct nw_acc *acc, uint64_t root,
		    int levels, uint64_t addr, unsigned mode, char dim,
		    struct nw_walk *log, struct nw_walk1d *out);

/*
 * Set A in every entry of a successful walk that lacks it, and D in the leaf
 * when `write`. Updates use compare-exchange, so a concurrent change to an
 * entry is preserved. Appends what it set to log->ad when log is not NULL.
 */
void nw_walk_set_ad(const struct nw_fmt *f, const struct nw_acc *acc,
		    const struct nw_walk1d *w, bool write, struct nw_walk *log);

/*
 * A native x86-64 walk from the table at `root` (CR3's address bits) for
 * linear address va, with access kind `access` (NW_ACC_*) under `mode`.
 * Returns 0 with *w filled, whether the walk faulted or not; -ERANGE when va
 * is not canonical (the CPU raises #GP, not #PF); -EINVAL for a bad mode.
 */
int nw_walk_x86(const struct nw_fmt *f, const struct nw_acc *acc, uint64_t root,
		uint64_t va, unsigned access, const struct nw_x86_mode *mode,
		struct nw_walk *w);

/*
 * The x86 half of nw_walk_x86, for walkers that walk the tables their own
 * way (starting below the root after a paging-structure-cache hit): apply
 * the permission rules to table walk r, fill the fault or the translation
 * in w, and set A/D on success. Returns true when the access is allowed.
 */
bool nw_walk_x86_complete(const struct nw_fmt *f, const struct nw_acc *acc,
			  const struct nw_walk1d *r, uint64_t va, unsigned access,
			  const struct nw_x86_mode *mode, struct nw_walk *w);

/* Everything a two-dimensional walk needs to know. */
struct nw_walk2d_cfg {
	const struct nw_acc *acc;          /* host-physical entry accessor */
	const struct nw_walk_cache *cache; /* NULL: uncached */
	/* Guest dimension: x86-64 tables at guest-physical addresses. */
	const struct nw_fmt *gfmt;
	uint64_t gcr3;                     /* GPA of the guest's root table */
	struct nw_x86_mode gmode;
	/* Nested dimension: EPT or NPT tables at host-physical addresses. */
	const struct nw_fmt *hfmt;
	uint64_t hroot;                    /* HPA of the nested root (EPTP or nCR3 address) */
	int hlevels;                       /* 4 or 5 */
	unsigned hmode;                    /* NW_FMT_NXE/SMEP (NPT host), NW_FMT_EPT_AD */
};

/*
 * Translate one guest-virtual access through both dimensions, the way the
 * hardware does: each guest table's GPA is translated by a nested walk
 * before its entry is read, then the final GPA is. With no caches an
 * n-level guest over an m-level host makes n*m + n + m references, fewer
 * where large pages end a walk early.
 *
 * Outcomes: success (pa, rights, page sizes); NW_FAULT_PF for the guest (its
 * error code and CR2); or a nested fault, during the guest walk or on the
 * final GPA, as NW_FAULT_EPT_VIOLATION, NW_FAULT_EPT_MISCONFIG or
 * NW_FAULT_NPF with the exit information in w->exit.
 *
 * A/D: each successful nested walk sets the nested A flags (D on the leaf
 * for a write) when the nested format has them enabled; the guest's A/D
 * flags are set only once the whole translation has succeeded. Under EPT
 * without A/D those guest updates are writes the EPT must allow, and a
 * refusal is an EPT violation on that guest paging-structure entry.
 *
 * Returns 0, or -ERANGE (non-canonical gva) or -EINVAL (bad config).
 */
int nw_walk2d(const struct nw_walk2d_cfg *cfg, uint64_t gva, unsigned access,
	      struct nw_walk *w);

#endif
