/* SPDX-License-Identifier: MIT */
#ifndef NESTWALK_PT_H
#define NESTWALK_PT_H

/*
 * The radix table engine: one engine for every format.
 *
 * A struct nw_pt is a root table plus the means to change it: a format, a
 * frame allocator and an entry accessor. Addresses on the input side are
 * "virtual" in the table's own sense: linear addresses for guest or shadow
 * tables (canonical, sign-extended), guest-physical addresses for EPT/NPT.
 *
 *	struct nw_pt pt;
 *	struct nw_pt_cfg cfg = { .fmt = &fmt, .mem = mem, .levels = 4, .linear = true };
 *	struct nw_attr rw = { .prot = NW_PROT_RW };
 *	struct nw_inval inv;
 *	if (nw_pt_init(&pt, &cfg) < 0) ...
 *	int rc = nw_pt_map(&pt, va, pa, 2 << 20, &rw, NW_MAP_MAX_2M, &inv);
 *	...
 *	nw_pt_destroy(&pt);
 *
 * Every operation is all-or-nothing: on any error the tables are unchanged,
 * byte for byte, and no frame is leaked. Operations that change translations
 * report, in a struct nw_inval, what the caller must invalidate.
 */

#include <nestwalk/acc.h>
#include <nestwalk/fmt.h>
#include <nestwalk/mem.h>

struct nw_pt_cfg {
	const struct nw_fmt *fmt;
	struct nw_mem *mem;       /* where table frames come from */
	const struct nw_acc *acc; /* NULL: plain memory access in mem */
	int levels;               /* 4 or 5 */
	bool linear;              /* addresses are canonical linear addresses */
};

struct nw_pt {
	const struct nw_fmt *fmt;
	struct nw_mem *mem;
	struct nw_acc acc;
	int levels;
	bool linear;
	uint64_t root;            /* address of the root table */
	uint64_t table_pages;     /* table frames in the tree, the root included */
	uint64_t leaves[NW_MAX_LEVELS + 1]; /* present leaves per level */
};

/* What a change requires callers to invalidate, from least to most. */
enum nw_inval_kind {
	NW_INVAL_NONE = 0,    /* only not-present entries became present */
	NW_INVAL_LEAF = 1,    /* leaf entries changed: flush the range's translations */
	NW_INVAL_NONLEAF = 2, /* a non-leaf entry changed or a table was freed:
				 also flush paging-structure caches */
};

struct nw_inval {
	enum nw_inval_kind kind;
	uint64_t start;        /* first address whose translation changed */
	uint64_t end;          /* last such address + 1 (0 with kind NONE) */
};

/* Map flags: the largest page size to use, and whether to replace. */
#define NW_MAP_MAX_4K 0x1u
#define NW_MAP_MAX_2M 0x2u
#define NW_MAP_MAX_1G 0x3u
#define NW_MAP_LEVEL_MASK 0x3u
#define NW_MAP_REPLACE 0x100u /* overwrite existing translations instead of -EEXIST */

int nw_pt_init(struct nw_pt *pt, const struct nw_pt_cfg *cfg);
/* Free every table frame, the root included. */
void nw_pt_destroy(struct nw_pt *pt);

/*
 * Map [va, va + len) to [pa, pa + len), using the largest pages that
 * alignment, length, the format and flags allow.
 * -EINVAL: misaligned or zero length, or bad flags or attributes.
 * -ERANGE: beyond the address width, not canonical, or pa beyond MAXPHYADDR.
 * -EEXIST: something is mapped there and NW_MAP_REPLACE is not given.
 * -ENOMEM: a table frame could not be had.
 */
int nw_pt_map(struct nw_pt *pt, uint64_t va, uint64_t pa, uint64_t len,
	      const struct nw_attr *attr, unsigned flags, struct nw_inval *inv);

/* Unmap whatever is mapped in the range; holes are fine. Large pages that
 * straddle an end are split. Tables that become empty are freed. */
int nw_pt_unmap(struct nw_pt *pt, uint64_t va, uint64_t len, struct nw_inval *inv);

/* Give every mapped page in the range the attributes attr; holes are skipped. */
int nw_pt_protect(struct nw_pt *pt, uint64_t va, uint64_t len,
		  const struct nw_attr *attr, struct nw_inval *inv);

/* Split the large leaf that maps va into a table of next-smaller leaves.
 * -ENOENT when va is not mapped by a leaf above level 1. */
int nw_pt_split(struct nw_pt *pt, uint64_t va, struct nw_inval *inv);

/* Replace the table at `level - 1` under va with one leaf at `level`, when
 * its 512 entries are leaves of one attribute set mapping a contiguous,
 * aligned range. -EINVAL when they do not, -ENOENT when there is no table. */
int nw_pt_collapse(struct nw_pt *pt, uint64_t va, int level, struct nw_inval *inv);

/* A translation, as the tables hold it. */
struct nw_pt_entry {
	bool present;
	int level;          /* of the leaf, or of the non-present entry that ended the lookup */
	uint64_t pa;        /* physical address of va itself */
	uint64_t entry;     /* the leaf (or non-present) entry */
	uint64_t entry_pa;  /* where that entry lives */
	struct nw_attr attr;
};

/* Look up va: 0 with out filled (present or not), or -ERANGE. */
int nw_pt_lookup(const struct nw_pt *pt, uint64_t va, struct nw_pt_entry *out);

/*
 * Invariant check of the whole tree: -EUCLEAN (with a message in buf) when a
 * present entry has reserved bits, a table is empty or shared, a leaf is
 * misaligned or at a level the format forbids, or the counts disagree with
 * the tree. nw_pt_check_range limits the check to tables that cover part of
 * [va, va + len), for incremental checks of large tables; it skips the
 * whole-tree counts.
 */
int nw_pt_check(const struct nw_pt *pt, char *buf, size_t buflen);
int nw_pt_check_range(const struct nw_pt *pt, uint64_t va, uint64_t len,
		      char *buf, size_t buflen);

/*
 * Iteration in the style of KVM's tdp_iter: a pre-order walk over every
 * present entry, tables before their children, in address order.
 *
 *	struct nw_pt_iter it;
 *	nw_pt_for_each(&it, &pt, start, end)
 *		if (it.leaf) use(it.va, it.entry, it.level);
 */
struct nw_pt_iter {
	const struct nw_pt *pt;
	uint64_t start, end;   /* the range, in table index space */
	uint64_t next;         /* index-space address of the next entry to visit */
	uint64_t table[NW_MAX_LEVELS + 1]; /* table address at each level of the path */
	int level;             /* level of the current entry */
	uint64_t va;           /* address the current entry maps (level aligned) */
	uint64_t entry;        /* its value */
	uint64_t entry_pa;     /* its address */
	bool leaf;             /* the current entry maps a page */
	bool valid;            /* false once the walk is over */
};

void nw_pt_iter_start(struct nw_pt_iter *it, const struct nw_pt *pt, uint64_t start,
		      uint64_t end);
void nw_pt_iter_next(struct nw_pt_iter *it);

#define nw_pt_for_each(it, pt, start, end) \
	for (nw_pt_iter_start((it), (pt), (start), (end)); (it)->valid; nw_pt_iter_next(it))

/* Size in bytes of the address space a table of `levels` levels covers. */
static inline uint64_t nw_pt_span(int levels)
{
	return NW_LEVEL_SIZE(levels) << 9;
}

#endif
