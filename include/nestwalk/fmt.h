/* SPDX-License-Identifier: MIT */
#ifndef NESTWALK_FMT_H
#define NESTWALK_FMT_H

/*
 * Entry formats.
 *
 * The radix engine (pt.h) and the walkers (walk.h) know only radix trees of
 * 512 8-byte entries per 4 KiB page. A format descriptor teaches them what an
 * entry means: x86-64 long mode (also the NPT format), Intel EPT, and so on.
 * This is ACRN's struct pgtable and KVM's paging_tmpl.h in one small vtable.
 *
 * Levels count from the leaf: 1 maps 4 KiB (PTE), 2 maps 2 MiB (PDE),
 * 3 maps 1 GiB (PDPTE), 4 is the PML4E and 5 the PML5E.
 */

#include <stdbool.h>
#include <stdint.h>

#define NW_MAX_LEVELS 5
#define NW_ENTRIES_PER_TABLE 512
#define NW_LEVEL_SHIFT(level) (12u + 9u * ((unsigned)(level) - 1u))
#define NW_LEVEL_SIZE(level) (1ull << NW_LEVEL_SHIFT(level))
#define NW_LEVEL_INDEX(addr, level) (((addr) >> NW_LEVEL_SHIFT(level)) & 511u)

/* Page sizes by the level of their leaf. */
#define NW_PAGE_4K 1
#define NW_PAGE_2M 2
#define NW_PAGE_1G 3

/* Format-neutral rights. Each format says how its bits map onto these. */
#define NW_PROT_R 0x1u /* readable (x86: present) */
#define NW_PROT_W 0x2u /* writable */
#define NW_PROT_X 0x4u /* executable (x86: XD clear; EPT: X, supervisor-execute under MBEC) */
#define NW_PROT_U 0x8u /* x86: user-accessible (U/S=1); EPT: user-execute (bit 10, MBEC) */
#define NW_PROT_RW (NW_PROT_R | NW_PROT_W)
#define NW_PROT_RWX (NW_PROT_R | NW_PROT_W | NW_PROT_X)

/* Attributes of a leaf. Fields a format lacks are ignored by it. */
struct nw_attr {
	uint32_t prot;       /* NW_PROT_* */
	uint8_t memtype;     /* x86: PAT index (bit 0 PWT, 1 PCD, 2 PAT); EPT: memory type */
	bool ignore_pat;     /* EPT bit 6 */
	bool global;         /* x86 G */
	uint8_t pkey;        /* x86 protection key, 0..15 */
	bool suppress_ve;    /* EPT bit 63 */
};

/* Walk-mode flags that change what an entry means or what a walk may do. */
#define NW_FMT_NXE 0x1u    /* EFER.NXE (NPT: the host's): without it XD is reserved */
#define NW_FMT_SMEP 0x2u   /* CR4.SMEP (NPT: the host's): reported I/D bits depend on it */
#define NW_FMT_EPT_AD 0x4u /* EPTP bit 6: EPT accessed and dirty flags are enabled */

/* nested_flags: the processor's accesses to guest paging structures are
 * always writes for this nested format (AMD NPT, APM §15.25.5). */
#define NW_NESTED_PT_WRITES 0x1u
/* nested_flags: the nested walk always maintains A/D flags (NPT); without
 * this flag it does only under NW_FMT_EPT_AD (EPTP bit 6). */
#define NW_NESTED_AD 0x2u

struct nw_walk;
struct nw_walk1d;
struct nw_nested_req;

/*
 * Format kinds. The stock init functions set the kind of the format they
 * build, and walkers then decode its entries inline instead of calling
 * present, rsvd, prot, leaf and addr. A caller that replaces one of those
 * five hooks in a stock format must set kind to NW_FMT_KIND_CUSTOM.
 */
#define NW_FMT_KIND_CUSTOM 0u /* only the hooks say what an entry means */
#define NW_FMT_KIND_X86 1u    /* nw_fmt_x86_init (and NPT, which adds nested hooks only) */
#define NW_FMT_KIND_EPT 2u    /* nw_fmt_ept_init */

struct nw_fmt {
	const char *name;
	unsigned kind;         /* NW_FMT_KIND_* */
	unsigned maxphyaddr;   /* address bits MAXPHYADDR..51 are reserved */
	uint32_t leaf_levels;  /* bit l set when a leaf may sit at level l */
	uint64_t accessed;     /* A bit mask, 0 when the format has none */
	uint64_t dirty;        /* D bit mask, only meaningful in leaves */

	bool (*present)(const struct nw_fmt *f, uint64_t e);
	/* A present entry at level > 1 that maps a page rather than a table. */
	bool (*leaf)(const struct nw_fmt *f, uint64_t e, int level);
	/* The physical address an entry names: next table, or page base. */
	uint64_t (*addr)(const struct nw_fmt *f, uint64_t e, int level);
	/* The rights this one entry grants, as NW_PROT_*. */
	uint32_t (*prot)(const struct nw_fmt *f, uint64_t e, int level);
	/* Decode a leaf's attributes. */
	void (*attr)(const struct nw_fmt *f, uint64_t e, int level, struct nw_attr *out);
	/* Entries that point to a table, or map a page, at a level. */
	uint64_t (*make_table)(const struct nw_fmt *f, uint64_t table, int level);
	uint64_t (*make_leaf)(const struct nw_fmt *f, uint64_t pa, int level,
			      const struct nw_attr *attr);
	/*
	 * True when a present entry has a reserved bit set, or is otherwise
	 * malformed for the level (for EPT: a misconfiguration).
	 */
	bool (*rsvd)(const struct nw_fmt *f, uint64_t e, int level, unsigned mode);
	/* Whether a leaf with these attributes can be expressed at a level. */
	bool (*attr_ok)(const struct nw_fmt *f, const struct nw_attr *attr, int level);

	/*
	 * Nested formats only (EPT, NPT): the vendor's rules for the second
	 * dimension of a 2D walk. nested_permit decides whether a nested walk
	 * that reached a leaf allows the request; nested_fault encodes a nested
	 * walk that stopped (not present, reserved, or not permitted) as the
	 * vendor's exit: fault kind, qualification or EXITINFO1/2. NULL in
	 * formats that are never nested.
	 */
	unsigned nested_flags; /* NW_NESTED_* */
	bool (*nested_permit)(const struct nw_fmt *f, const struct nw_walk1d *hw,
			      const struct nw_nested_req *rq, unsigned mode);
	void (*nested_fault)(const struct nw_fmt *f, const struct nw_walk1d *hw,
			     const struct nw_nested_req *rq, unsigned mode, struct nw_walk *w);

	const void *priv;      /* format-private configuration */
};

static inline bool nw_fmt_leaf_ok(const struct nw_fmt *f, int level)
{
	return (f->leaf_levels >> level) & 1u;
}

/* Bits MAXPHYADDR..51: reserved in every entry of every x86-style format. */
static inline uint64_t nw_fmt_rsvd_addr_mask(unsigned maxphyaddr)
{
	return maxphyaddr >= 52 ? 0 : ((1ull << 52) - 1) & ~((1ull << maxphyaddr) - 1);
}

#endif
