/* SPDX-License-Identifier: MIT */
/* The radix engine: life cycle, lookup, and single-entry split and collapse. */

#include <errno.h>

#include "pt_internal.h"

int nw_pt_init(struct nw_pt *pt, const struct nw_pt_cfg *cfg)
{
	if (!pt || !cfg || !cfg->fmt || !cfg->mem || (cfg->levels != 4 && cfg->levels != 5))
		return -EINVAL;
	*pt = (struct nw_pt){
		.fmt = cfg->fmt, .mem = cfg->mem, .levels = cfg->levels, .linear = cfg->linear,
	};
	if (cfg->acc)
		pt->acc = *cfg->acc;
	else
		nw_acc_plain(&pt->acc, cfg->mem);
	int rc = nw_mem_alloc(pt->mem, &pt->root);
	if (rc < 0)
		return rc;
	pt->table_pages = 1;
	return 0;
}

void nw_pt_destroy(struct nw_pt *pt)
{
	if (!pt || !pt->root)
		return;
	pt_free_subtree(pt, pt->root, pt->levels);
	pt->root = 0;
}

/* Follow va down to the entry that ends the walk: a leaf or a non-present one. */
static void pt_descend_to(const struct nw_pt *pt, uint64_t ia, int *level, uint64_t *slot,
			  uint64_t *e)
{
	uint64_t table = pt->root;

	for (int l = pt->levels;; l--) {
		*level = l;
		*slot = pt_slot(table, NW_LEVEL_INDEX(ia, l));
		*e = pt_read(pt, *slot);
		if (!pt_present(pt, *e) || pt_is_leaf(pt, *e, l) || l == 1)
			return;
		table = pt->fmt->addr(pt->fmt, *e, l);
	}
}

int nw_pt_lookup(const struct nw_pt *pt, uint64_t va, struct nw_pt_entry *out)
{
	const struct nw_fmt *f = pt->fmt;
	uint64_t ia, slot, e;
	int level;
	int rc = pt_to_index(pt, va, 1, &ia);

	if (rc < 0)
		return rc;
	pt_descend_to(pt, ia, &level, &slot, &e);
	*out = (struct nw_pt_entry){ .level = level, .entry = e, .entry_pa = slot };
	if (!pt_present(pt, e))
		return 0;
	out->present = true;
	out->pa = f->addr(f, e, level) + (ia & (NW_LEVEL_SIZE(level) - 1));
	f->attr(f, e, level, &out->attr);
	return 0;
}

int nw_pt_split(struct nw_pt *pt, uint64_t va, struct nw_inval *inv)
{
	uint64_t ia, slot, e, table;
	int level;
	int rc = pt_to_index(pt, va, 1, &ia);

	if (inv)
		*inv = (struct nw_inval){ .kind = NW_INVAL_NONE };
	if (rc < 0)
		return rc;
	pt_descend_to(pt, ia, &level, &slot, &e);
	if (!pt_present(pt, e) || level == 1)
		return -ENOENT;
	rc = nw_mem_alloc(pt->mem, &table);
	if (rc < 0)
		return rc;
	pt->table_pages++;
	for (unsigned i = 0; i < NW_ENTRIES_PER_TABLE; i++)
		pt_write(pt, pt_slot(table, i), pt_split_child(pt, e, level, i));
	pt_write(pt, slot, pt->fmt->make_table(pt->fmt, table, level));
	pt->leaves[level]--;
	pt->leaves[level - 1] += NW_ENTRIES_PER_TABLE;
	if (inv) {
		uint64_t base = ia & ~(NW_LEVEL_SIZE(level) - 1);
		pt_inval_add(inv, NW_INVAL_NONLEAF, base, base + NW_LEVEL_SIZE(level));
		pt_inval_finish(pt, inv);
	}
	return 0;
}

int nw_pt_collapse(struct nw_pt *pt, uint64_t va, int level, struct nw_inval *inv)
{
	const struct nw_fmt *f = pt->fmt;
	uint64_t ia, table = pt->root, slot = 0, e = 0;
	int rc = pt_to_index(pt, va, 1, &ia);

	if (inv)
		*inv = (struct nw_inval){ .kind = NW_INVAL_NONE };
	if (rc < 0)
		return rc;
	if (level < 2 || level >= pt->levels || !nw_fmt_leaf_ok(f, level))
		return -EINVAL;
	for (int l = pt->levels; l >= level; l--) {
		slot = pt_slot(table, NW_LEVEL_INDEX(ia, l));
		e = pt_read(pt, slot);
		if (!pt_present(pt, e) || pt_is_leaf(pt, e, l))
			return -ENOENT;
		table = f->addr(f, e, l);
	}

	/* table now holds the level-1 entries below the entry at slot. */
	struct nw_attr first, a;
	uint64_t base = 0, ad = 0;
	for (unsigned i = 0; i < NW_ENTRIES_PER_TABLE; i++) {
		uint64_t c = pt_read(pt, pt_slot(table, i));
		if (!pt_present(pt, c) || !pt_is_leaf(pt, c, level - 1))
			return -EINVAL;
		f->attr(f, c, level - 1, i ? &a : &first);
		uint64_t pa = f->addr(f, c, level - 1);
		if (i == 0) {
			base = pa;
			if (base & (NW_LEVEL_SIZE(level) - 1))
				return -EINVAL;
		} else if (pa != base + i * NW_LEVEL_SIZE(level - 1) ||
			   a.prot != first.prot || a.memtype != first.memtype ||
			   a.ignore_pat != first.ignore_pat || a.global != first.global ||
			   a.pkey != first.pkey || a.suppress_ve != first.suppress_ve) {
			return -EINVAL;
		}
		ad |= pt_ad(pt, c);
	}
	/* A dirty child makes the large page dirty, so no write is forgotten. */
	pt_write(pt, slot, f->make_leaf(f, base, level, &first) | ad);
	pt->leaves[level - 1] -= NW_ENTRIES_PER_TABLE;
	pt->leaves[level]++;
	nw_mem_free(pt->mem, table);
	pt->table_pages--;
	if (inv) {
		uint64_t b = ia & ~(NW_LEVEL_SIZE(level) - 1);
		pt_inval_add(inv, NW_INVAL_NONLEAF, b, b + NW_LEVEL_SIZE(level));
		pt_inval_finish(pt, inv);
	}
	return 0;
}
