/* SPDX-License-Identifier: MIT */
/*
 * The radix engine: map, unmap and protect.
 *
 * Every range operation runs twice over the same recursive code:
 *
 *  1. A dry pass changes nothing. It finds overlaps (-EEXIST) and counts the
 *     table frames the operation will need, treating tables it would create
 *     or split as virtual nodes.
 *  2. The frames are reserved up front. If one cannot be had, the reserved
 *     ones go back and the operation fails with the tables untouched.
 *  3. The real pass makes the change, taking frames from the reserve. It
 *     cannot fail.
 *
 * So a failed operation changes nothing, byte for byte, without an undo log.
 * New tables are filled before the entry that links them is written, so a
 * concurrent walker never sees a half-built subtree.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fmt_fast.h"
#include "pt_internal.h"

enum pt_op { PT_MAP, PT_UNMAP, PT_PROTECT };

/* A table as the recursion sees it; the dry pass also sees virtual ones. */
enum pt_node_kind {
	NODE_REAL,  /* a table in memory at .table */
	NODE_EMPTY, /* a table the operation would create: all entries zero */
	NODE_SPLIT, /* the table a split of large leaf .leaf would create */
};

struct pt_node {
	enum pt_node_kind kind;
	uint64_t table;      /* NODE_REAL */
	uint64_t leaf;       /* NODE_SPLIT: the large leaf, one level up */
	bool fresh;          /* NODE_REAL: taken from the reserve by this pass and not yet
				linked, so all zero and seen by no walker */
};

struct pt_op_ctx {
	struct nw_pt *pt;
	enum pt_op op;
	bool dry;
	uint64_t start, end;        /* index-space range */
	uint64_t pa;                /* PT_MAP: physical address of start */
	const struct nw_attr *attr; /* PT_MAP, PT_PROTECT */
	int max_level;              /* PT_MAP: largest leaf level allowed */
	bool replace;               /* PT_MAP: NW_MAP_REPLACE */
	int err;                    /* dry pass: first error found */
	uint64_t need;              /* dry pass: frames the real pass takes */
	uint64_t *reserve;          /* real pass: frames reserved for it */
	bool uninit;                /* the reserved frames hold anything (alloc_uninit) */
	uint64_t used;              /* real pass: frames taken so far */
	struct nw_inval inv;        /* index space until pt_inval_finish */
};

/* ---- private prototypes ---- */
static void pt_range(struct pt_op_ctx *c, const struct pt_node *n, int level, uint64_t base);

/* ---- shared helpers ---- */

int pt_to_index(const struct nw_pt *pt, uint64_t va, uint64_t len, uint64_t *ia)
{
	unsigned width = pt_width(pt->levels);
	uint64_t span = 1ull << width;
	uint64_t i;

	if (pt->linear) {
		if (!nw_x86_canonical(va, pt->levels))
			return -ERANGE;
		i = va & (span - 1);
		/* The low half ends at span/2: a range may not run into the hole. */
		uint64_t limit = i < span / 2 ? span / 2 : span;
		if (len > limit - i)
			return -ERANGE;
	} else {
		if (va >= span || len > span - va)
			return -ERANGE;
		i = va;
	}
	*ia = i;
	return 0;
}

uint64_t pt_to_va(const struct nw_pt *pt, uint64_t ia)
{
	unsigned width = pt_width(pt->levels);

	if (!pt->linear)
		return ia;
	return (uint64_t)((int64_t)(ia << (64 - width)) >> (64 - width));
}

uint64_t pt_split_child(const struct nw_pt *pt, uint64_t e, int level, unsigned idx)
{
	const struct nw_fmt *f = pt->fmt;
	struct nw_attr attr;

	f->attr(f, e, level, &attr);
	uint64_t pa = f->addr(f, e, level) + (uint64_t)idx * NW_LEVEL_SIZE(level - 1);
	return f->make_leaf(f, pa, level - 1, &attr) | pt_ad(pt, e);
}

void pt_free_subtree(struct nw_pt *pt, uint64_t table, int level)
{
	for (unsigned i = 0; i < NW_ENTRIES_PER_TABLE; i++) {
		uint64_t e = pt_read(pt, pt_slot(table, i));

		if (!pt_present(pt, e))
			continue;
		if (pt_is_leaf(pt, e, level))
			pt->leaves[level]--;
		else
			pt_free_subtree(pt, pt->fmt->addr(pt->fmt, e, level), level - 1);
	}
	nw_mem_free(pt->mem, table);
	pt->table_pages--;
}

void pt_inval_add(struct nw_inval *inv, enum nw_inval_kind kind, uint64_t lo, uint64_t hi)
{
	if (inv->kind == NW_INVAL_NONE) {
		inv->start = lo;
		inv->end = hi;
	} else {
		if (lo < inv->start)
			inv->start = lo;
		if (hi > inv->end)
			inv->end = hi;
	}
	if (kind > inv->kind)
		inv->kind = kind;
}

void pt_inval_finish(const struct nw_pt *pt, struct nw_inval *inv)
{
	if (inv->kind == NW_INVAL_NONE) {
		inv->start = inv->end = 0;
		return;
	}
	/* end - start keeps its length even where end wraps to 0 at the top. */
	uint64_t len = inv->end - inv->start;
	inv->start = pt_to_va(pt, inv->start);
	inv->end = inv->start + len;
}

/* ---- nodes: real tables, or the dry pass's virtual ones ---- */

static uint64_t node_get(const struct pt_op_ctx *c, const struct pt_node *n, int level,
			 unsigned idx)
{
	switch (n->kind) {
	case NODE_REAL:
		return pt_read(c->pt, pt_slot(n->table, idx));
	case NODE_SPLIT:
		return pt_split_child(c->pt, n->leaf, level + 1, idx);
	case NODE_EMPTY:
		break;
	}
	return 0;
}

static void node_set(struct pt_op_ctx *c, const struct pt_node *n, unsigned idx, uint64_t e)
{
	if (!c->dry)
		pt_write(c->pt, pt_slot(n->table, idx), e);
}

static uint64_t take_frame(struct pt_op_ctx *c)
{
	uint64_t f = c->reserve[c->used++];

	c->pt->table_pages++;
	return f;
}

/*
 * Will the real pass write every entry of the level-1 table at `table`, new
 * and not a split, under slot_base before anything reads it? It does when
 * the map covers the table's whole span and map_run_4k takes its path for a
 * fresh table (stock format, plain accessor reaching the whole table).
 */
static bool map_fills_table(const struct pt_op_ctx *c, uint64_t table, uint64_t slot_base)
{
	const struct nw_pt *pt = c->pt;
	unsigned kind = pt->fmt->kind;

	return (kind == NW_FMT_KIND_X86 || kind == NW_FMT_KIND_EPT) &&
	       nw_fmt_leaf_ok(pt->fmt, 1) && slot_base >= c->start &&
	       c->end - slot_base >= NW_LEVEL_SIZE(2) && nw_acc_direct(&pt->acc, table) &&
	       nw_acc_direct(&pt->acc, pt_slot(table, NW_ENTRIES_PER_TABLE - 1));
}

/*
 * Descend into the slot `idx` of node n (at `level`), whose current entry is
 * e, creating the child table when there is none and splitting e when it is
 * a large leaf. Links the new table only after the recursion has filled it.
 */
static void descend(struct pt_op_ctx *c, const struct pt_node *n, int level, unsigned idx,
		    uint64_t e, uint64_t slot_base)
{
	struct nw_pt *pt = c->pt;
	const struct nw_fmt *f = pt->fmt;
	struct pt_node child;

	if (pt_present(pt, e) && !pt_is_leaf(pt, e, level)) {
		if (n->kind == NODE_REAL)
			child = (struct pt_node){ .kind = NODE_REAL, .table = f->addr(f, e, level) };
		else /* a table under a virtual node cannot exist */
			child = (struct pt_node){ .kind = NODE_EMPTY };
		pt_range(c, &child, level - 1, slot_base);
		return;
	}

	bool split = pt_present(pt, e);
	if (c->dry) {
		c->need++;
		child = split ? (struct pt_node){ .kind = NODE_SPLIT, .leaf = e }
			      : (struct pt_node){ .kind = NODE_EMPTY };
		pt_range(c, &child, level - 1, slot_base);
		return;
	}

	child = (struct pt_node){ .kind = NODE_REAL, .table = take_frame(c), .fresh = !split };
	/*
	 * A frame reserved uninitialised is zeroed here, just before its
	 * entries are written (so its lines are in the L1), unless every entry
	 * will be written anyway: a split's, or a whole table of 4 KiB leaves.
	 */
	if (c->uninit && !split &&
	    !(c->op == PT_MAP && level == 2 && map_fills_table(c, child.table, slot_base)))
		memset(nw_mem_map(pt->mem, child.table), 0, NW_PAGE_SIZE);
	if (split) {
		for (unsigned i = 0; i < NW_ENTRIES_PER_TABLE; i++)
			pt_write(pt, pt_slot(child.table, i), pt_split_child(pt, e, level, i));
		pt->leaves[level]--;
		pt->leaves[level - 1] += NW_ENTRIES_PER_TABLE;
		/* A leaf became a table: paging-structure caches must drop it. */
		pt_inval_add(&c->inv, NW_INVAL_NONLEAF, slot_base, slot_base + NW_LEVEL_SIZE(level));
	}
	pt_range(c, &child, level - 1, slot_base);
	node_set(c, n, idx, f->make_table(f, child.table, level));
}

static bool table_empty(const struct nw_pt *pt, uint64_t table)
{
	for (unsigned i = 0; i < NW_ENTRIES_PER_TABLE; i++)
		if (pt_present(pt, pt_read(pt, pt_slot(table, i))))
			return false;
	return true;
}

/* Drop entry e (at `level`) of a real node: a leaf, or a whole subtree. */
static void zap(struct pt_op_ctx *c, const struct pt_node *n, int level, unsigned idx,
		uint64_t e, uint64_t slot_base)
{
	struct nw_pt *pt = c->pt;
	bool leaf = pt_is_leaf(pt, e, level);

	pt_inval_add(&c->inv, leaf ? NW_INVAL_LEAF : NW_INVAL_NONLEAF, slot_base,
		     slot_base + NW_LEVEL_SIZE(level));
	if (c->dry)
		return;
	node_set(c, n, idx, 0);
	if (leaf)
		pt->leaves[level]--;
	else
		pt_free_subtree(pt, pt->fmt->addr(pt->fmt, e, level), level - 1);
}

static void map_slot(struct pt_op_ctx *c, const struct pt_node *n, int level, unsigned idx,
		     uint64_t e, uint64_t slot_base, bool full)
{
	struct nw_pt *pt = c->pt;
	const struct nw_fmt *f = pt->fmt;
	uint64_t pa = c->pa + (slot_base - c->start);
	bool present = pt_present(pt, e);

	bool leaf_here = full && level <= c->max_level && nw_fmt_leaf_ok(f, level) &&
			 !(pa & (NW_LEVEL_SIZE(level) - 1));

	/*
	 * A leaf in the way overlaps. So does a table where a leaf would go:
	 * tables are never empty, so it holds something in the range.
	 */
	if (present && !c->replace && (leaf_here || pt_is_leaf(pt, e, level))) {
		c->err = -EEXIST;
		return;
	}
	if (!leaf_here) {
		descend(c, n, level, idx, e, slot_base);
		return;
	}
	if (present)
		zap(c, n, level, idx, e, slot_base);
	if (c->dry)
		return;
	node_set(c, n, idx, f->make_leaf(f, pa, level, c->attr));
	pt->leaves[level]++;
}

static void unmap_slot(struct pt_op_ctx *c, const struct pt_node *n, int level, unsigned idx,
		       uint64_t e, uint64_t slot_base, bool full)
{
	struct nw_pt *pt = c->pt;

	if (full) {
		zap(c, n, level, idx, e, slot_base);
		return;
	}
	bool was_table = !pt_is_leaf(pt, e, level);
	descend(c, n, level, idx, e, slot_base);
	if (c->dry || !was_table)
		return;
	/* Free a table the unmap emptied, so no empty tables linger. */
	uint64_t child = pt->fmt->addr(pt->fmt, e, level);
	if (table_empty(pt, child)) {
		node_set(c, n, idx, 0);
		pt_free_subtree(pt, child, level - 1);
		pt_inval_add(&c->inv, NW_INVAL_NONLEAF, slot_base, slot_base + NW_LEVEL_SIZE(level));
	}
}

static void protect_slot(struct pt_op_ctx *c, const struct pt_node *n, int level, unsigned idx,
			 uint64_t e, uint64_t slot_base, bool full)
{
	const struct nw_fmt *f = c->pt->fmt;

	bool leaf = pt_is_leaf(c->pt, e, level);
	/* Keep the address and the A/D history; replace every other attribute. */
	uint64_t ne = leaf ? f->make_leaf(f, f->addr(f, e, level), level, c->attr) |
				     pt_ad(c->pt, e)
			   : 0;

	if (leaf && ne == e)
		return; /* already so: no need to split a large page for nothing */
	if (!full || !leaf) {
		descend(c, n, level, idx, e, slot_base);
		return;
	}
	pt_inval_add(&c->inv, NW_INVAL_LEAF, slot_base, slot_base + NW_LEVEL_SIZE(level));
	node_set(c, n, idx, ne);
}

/*
 * Map 4 KiB leaves into slots [first, last) of a level-1 node: what
 * map_slot does slot by slot, for a run of slots of one table. Every slot
 * is full (the range is 4 KiB aligned) and takes a leaf, since a level-1
 * entry is always a leaf; so the dry pass has only overlaps to find, and
 * the real pass writes a run of entries.
 *
 * A custom accessor sees exactly map_slot's reads and writes, slot by slot
 * in order (the guest's accessor runs each through a vCPU, and the model
 * counts them). With the plain accessor the table is one pointer, and the
 * real pass without NW_MAP_REPLACE reads nothing: the dry pass found the
 * range empty, and nothing has changed since. The stock formats' 4 KiB
 * leaves are the address ORed into a constant, computed once.
 */
/*
 * Write n consecutive 4 KiB leaves, the first being e, into a table no
 * walker can see: two entries per 16-byte store, which halves the stores
 * that wait for their line (the frame's zeroing has left it in L2 at best).
 */
static void map_fill_4k(uint64_t *tp, unsigned n, uint64_t e)
{
	typedef uint64_t pair __attribute__((vector_size(16), aligned(8)));
	pair v = { e, e + NW_PAGE_SIZE };
	const pair step = { 2 * NW_PAGE_SIZE, 2 * NW_PAGE_SIZE };
	const pair step2 = step + step, step4 = step2 + step2;
	unsigned i = 0;

	/* A 64-byte line per iteration, its four stores independent. */
	for (; i + 8 <= n; i += 8, v += step4) {
		pair v1 = v + step, v2 = v + step2, v3 = v1 + step2;
		memcpy(&tp[i], &v, sizeof(v));
		memcpy(&tp[i + 2], &v1, sizeof(v));
		memcpy(&tp[i + 4], &v2, sizeof(v));
		memcpy(&tp[i + 6], &v3, sizeof(v));
	}
	for (; i + 2 <= n; i += 2, v += step)
		memcpy(&tp[i], &v, sizeof(v));
	if (i < n)
		tp[i] = v[0];
}

static void map_run_4k(struct pt_op_ctx *c, const struct pt_node *n, unsigned first,
		       unsigned last, uint64_t base)
{
	struct nw_pt *pt = c->pt;
	const struct nw_fmt *f = pt->fmt;
	unsigned kind = f->kind;
	bool stock = kind == NW_FMT_KIND_X86 || kind == NW_FMT_KIND_EPT;
	uint64_t *tp = NULL;

	if (c->err || n->kind == NODE_EMPTY)
		return; /* NODE_EMPTY (dry pass): nothing there to overlap, no frame needed */
	if (n->kind == NODE_REAL && nw_acc_direct(&pt->acc, n->table) &&
	    nw_acc_direct(&pt->acc, pt_slot(n->table, NW_ENTRIES_PER_TABLE - 1)))
		tp = nw_acc_direct(&pt->acc, n->table);
	uint64_t tmpl = stock ? f->make_leaf(f, 0, 1, c->attr) : 0;
	uint64_t pa = c->pa + (base + (uint64_t)first * NW_PAGE_SIZE - c->start);

	if (!tp) {
		for (unsigned idx = first; idx < last; idx++, pa += NW_PAGE_SIZE) {
			uint64_t e = node_get(c, n, 1, idx);
			if (nw_fmt_present_k(f, kind, e)) {
				if (!c->replace) {
					c->err = -EEXIST;
					return;
				}
				zap(c, n, 1, idx, e, base + (uint64_t)idx * NW_PAGE_SIZE);
			}
			if (!c->dry)
				node_set(c, n, idx, stock ? tmpl | pa : f->make_leaf(f, pa, 1, c->attr));
		}
		if (!c->dry)
			pt->leaves[1] += last - first;
		return;
	}

	if (n->fresh && stock) {
		/*
		 * A table this pass allocated is empty (zeroed, or uninitialised
		 * when this run writes all of it: map_fills_table) and not linked
		 * yet (descend links it after this returns, with a release
		 * store), so there is nothing to overlap or replace, no walker
		 * can see it, and plain stores suffice.
		 */
		map_fill_4k(tp + first, last - first, tmpl | pa);
		pt->leaves[1] += last - first;
		return;
	}
	if (c->dry || c->replace) {
		for (unsigned idx = first; idx < last; idx++) {
			uint64_t e = __atomic_load_n(&tp[idx], __ATOMIC_RELAXED);
			if (!nw_fmt_present_k(f, kind, e))
				continue;
			if (!c->replace) {
				c->err = -EEXIST;
				return;
			}
			zap(c, n, 1, idx, e, base + (uint64_t)idx * NW_PAGE_SIZE);
		}
		if (c->dry)
			return;
	}
	if (stock) {
		for (unsigned idx = first; idx < last; idx++, pa += NW_PAGE_SIZE)
			__atomic_store_n(&tp[idx], tmpl | pa, __ATOMIC_RELEASE);
	} else {
		for (unsigned idx = first; idx < last; idx++, pa += NW_PAGE_SIZE)
			__atomic_store_n(&tp[idx], f->make_leaf(f, pa, 1, c->attr), __ATOMIC_RELEASE);
	}
	pt->leaves[1] += last - first;
}

/* Apply the operation to the part of [start, end) that node n covers. */
static void pt_range(struct pt_op_ctx *c, const struct pt_node *n, int level, uint64_t base)
{
	uint64_t size = NW_LEVEL_SIZE(level);
	uint64_t lo = c->start > base ? c->start : base;
	unsigned first = (unsigned)((lo - base) / size);

	if (level == 1 && c->op == PT_MAP && nw_fmt_leaf_ok(c->pt->fmt, 1)) {
		uint64_t span = c->end - base; /* > 0: this node starts below the end */
		unsigned last = span >= NW_LEVEL_SIZE(2) ? NW_ENTRIES_PER_TABLE
							 : (unsigned)(span / NW_PAGE_SIZE);
		map_run_4k(c, n, first, last, base);
		return;
	}

	for (unsigned idx = first; idx < NW_ENTRIES_PER_TABLE && !c->err; idx++) {
		uint64_t slot = base + (uint64_t)idx * size;
		if (slot >= c->end)
			break;
		uint64_t e = node_get(c, n, level, idx);
		bool full = slot >= c->start && c->end - slot >= size;

		if (c->op == PT_MAP)
			map_slot(c, n, level, idx, e, slot, full);
		else if (!pt_present(c->pt, e))
			continue;
		else if (c->op == PT_UNMAP)
			unmap_slot(c, n, level, idx, e, slot, full);
		else
			protect_slot(c, n, level, idx, e, slot, full);
	}
}

/* Dry pass, reservation, real pass. */
static int pt_run(struct pt_op_ctx *c, struct nw_inval *inv)
{
	struct nw_pt *pt = c->pt;
	struct pt_node root = { .kind = NODE_REAL, .table = pt->root };
	uint64_t small[8];
	int rc = 0;

	c->dry = true;
	pt_range(c, &root, pt->levels, 0);
	if (c->err)
		return c->err;

	c->reserve = c->need <= 8 ? small : malloc(c->need * sizeof(uint64_t));
	if (!c->reserve)
		return -ENOMEM;
	/* Frames uninitialised when the backend can: descend zeroes the ones
	 * the real pass does not overwrite whole. */
	c->uninit = pt->mem->ops->alloc_uninit != NULL;
	for (uint64_t i = 0; i < c->need; i++) {
		rc = c->uninit ? nw_mem_alloc_uninit(pt->mem, &c->reserve[i])
			       : nw_mem_alloc(pt->mem, &c->reserve[i]);
		if (rc < 0) {
			while (i--)
				nw_mem_free(pt->mem, c->reserve[i]);
			goto out;
		}
	}

	c->dry = false;
	c->inv = (struct nw_inval){ 0 };
	pt_range(c, &root, pt->levels, 0);
	/* The dry pass counted exactly; anything left would be a leak. */
	while (c->used < c->need)
		nw_mem_free(pt->mem, c->reserve[c->used++]);
	pt_inval_finish(pt, &c->inv);
	if (inv)
		*inv = c->inv;
out:
	if (c->reserve != small)
		free(c->reserve);
	return rc;
}

static void inval_none(struct nw_inval *inv)
{
	if (inv)
		*inv = (struct nw_inval){ .kind = NW_INVAL_NONE };
}

static int check_range(const struct nw_pt *pt, uint64_t va, uint64_t len, uint64_t *ia)
{
	if (!len || (va & ~NW_PAGE_MASK) || (len & ~NW_PAGE_MASK))
		return -EINVAL;
	return pt_to_index(pt, va, len, ia);
}

int nw_pt_map(struct nw_pt *pt, uint64_t va, uint64_t pa, uint64_t len,
	      const struct nw_attr *attr, unsigned flags, struct nw_inval *inv)
{
	const struct nw_fmt *f = pt->fmt;
	unsigned max = flags & NW_MAP_LEVEL_MASK;
	uint64_t ia;
	int rc;

	inval_none(inv);
	if (!attr || !max || (flags & ~(NW_MAP_LEVEL_MASK | NW_MAP_REPLACE)) ||
	    (pa & ~NW_PAGE_MASK))
		return -EINVAL;
	rc = check_range(pt, va, len, &ia);
	if (rc < 0)
		return rc;
	if (pa >= (1ull << f->maxphyaddr) || len > (1ull << f->maxphyaddr) - pa)
		return -ERANGE;
	for (unsigned l = 1; l <= max; l++)
		if (nw_fmt_leaf_ok(f, (int)l) && !f->attr_ok(f, attr, (int)l))
			return -EINVAL;

	struct pt_op_ctx c = {
		.pt = pt, .op = PT_MAP, .start = ia, .end = ia + len, .pa = pa, .attr = attr,
		.max_level = (int)max, .replace = (flags & NW_MAP_REPLACE) != 0,
	};
	return pt_run(&c, inv);
}

int nw_pt_unmap(struct nw_pt *pt, uint64_t va, uint64_t len, struct nw_inval *inv)
{
	uint64_t ia;
	int rc;

	inval_none(inv);
	rc = check_range(pt, va, len, &ia);
	if (rc < 0)
		return rc;
	struct pt_op_ctx c = { .pt = pt, .op = PT_UNMAP, .start = ia, .end = ia + len };
	return pt_run(&c, inv);
}

int nw_pt_protect(struct nw_pt *pt, uint64_t va, uint64_t len,
		  const struct nw_attr *attr, struct nw_inval *inv)
{
	const struct nw_fmt *f = pt->fmt;
	uint64_t ia;
	int rc;

	inval_none(inv);
	if (!attr)
		return -EINVAL;
	rc = check_range(pt, va, len, &ia);
	if (rc < 0)
		return rc;
	for (int l = 1; l <= NW_MAX_LEVELS; l++)
		if (nw_fmt_leaf_ok(f, l) && !f->attr_ok(f, attr, l))
			return -EINVAL;
	struct pt_op_ctx c = {
		.pt = pt, .op = PT_PROTECT, .start = ia, .end = ia + len, .attr = attr,
	};
	return pt_run(&c, inv);
}
