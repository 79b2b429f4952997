/* SPDX-License-Identifier: MIT */
/*
 * Pre-order iteration over present entries, after KVM's tdp_iter.
 *
 * The iterator keeps the path of tables from the root to the current entry
 * and `next`, the index-space address it is at. Each step is one of:
 *  1. step down: the current entry is a table, so visit its first entry that
 *     covers `next`;
 *  2. step side: move `next` to the end of the current entry's range;
 *  3. step up: when that leaves the current table, continue in the parent,
 *     as many times as needed.
 * Then skip non-present entries the same way until a present one is found
 * or `next` passes the end.
 */

#include "pt_internal.h"

static void iter_step_side(struct nw_pt_iter *it)
{
	uint64_t size = NW_LEVEL_SIZE(it->level);

	it->next = (it->next & ~(size - 1)) + size;
	while (it->level < it->pt->levels && NW_LEVEL_INDEX(it->next, it->level) == 0)
		it->level++;
}

static void iter_find(struct nw_pt_iter *it)
{
	const struct nw_pt *pt = it->pt;
	uint64_t span = 1ull << pt_width(pt->levels);

	while (it->next < it->end && it->next < span) {
		uint64_t slot = pt_slot(it->table[it->level], NW_LEVEL_INDEX(it->next, it->level));
		uint64_t e = pt_read(pt, slot);

		if (pt_present(pt, e)) {
			it->entry = e;
			it->entry_pa = slot;
			it->leaf = pt_is_leaf(pt, e, it->level);
			it->va = pt_to_va(pt, it->next & ~(NW_LEVEL_SIZE(it->level) - 1));
			return;
		}
		iter_step_side(it);
	}
	it->valid = false;
}

void nw_pt_iter_start(struct nw_pt_iter *it, const struct nw_pt *pt, uint64_t start,
		      uint64_t end)
{
	uint64_t span = 1ull << pt_width(pt->levels);
	uint64_t ia = 0, iend = span;

	*it = (struct nw_pt_iter){ .pt = pt, .level = pt->levels, .valid = true };
	it->table[pt->levels] = pt->root;
	/* end == 0 means "to the top of the address space". */
	if (pt_to_index(pt, start, 1, &ia) < 0 ||
	    (end && pt_to_index(pt, end - 1, 1, &iend) < 0)) {
		it->valid = false;
		return;
	}
	if (end)
		iend++;
	it->start = it->next = ia;
	it->end = iend;
	iter_find(it);
}

void nw_pt_iter_next(struct nw_pt_iter *it)
{
	if (!it->leaf && it->level > 1) {
		it->table[it->level - 1] = it->pt->fmt->addr(it->pt->fmt, it->entry, it->level);
		it->level--;
	} else {
		iter_step_side(it);
	}
	iter_find(it);
}
