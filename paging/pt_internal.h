/* SPDX-License-Identifier: MIT */
#ifndef NW_PT_INTERNAL_H
#define NW_PT_INTERNAL_H

/* Helpers shared by the radix engine's files. Not part of the public API. */

#include <nestwalk/pt.h>
#include <nestwalk/x86.h>

#include "fmt_fast.h"

/* Width in bits of the address space a tree of `levels` levels covers. */
static inline unsigned pt_width(int levels)
{
	return 12u + 9u * (unsigned)levels;
}

/* Address of entry `idx` of the table at `table`. */
static inline uint64_t pt_slot(uint64_t table, unsigned idx)
{
	return table + (uint64_t)idx * sizeof(uint64_t);
}

static inline uint64_t pt_read(const struct nw_pt *pt, uint64_t pa)
{
	return nw_acc_read(&pt->acc, pa);
}

static inline void pt_write(const struct nw_pt *pt, uint64_t pa, uint64_t val)
{
	nw_acc_write(&pt->acc, pa, val);
}

/* Through the inline decoders for the stock formats (fmt_fast.h). */
static inline bool pt_present(const struct nw_pt *pt, uint64_t e)
{
	return nw_fmt_present_k(pt->fmt, pt->fmt->kind, e);
}

static inline bool pt_is_leaf(const struct nw_pt *pt, uint64_t e, int level)
{
	return nw_fmt_leaf_k(pt->fmt, pt->fmt->kind, e, level);
}

/* The A/D bits of an entry, which splits and collapses carry over. */
static inline uint64_t pt_ad(const struct nw_pt *pt, uint64_t e)
{
	return e & (pt->fmt->accessed | pt->fmt->dirty);
}

/*
 * Convert [va, va + len) to the tree's index space [0, span): linear
 * addresses lose their sign extension and may not cross the canonical hole.
 * -ERANGE when the range does not fit.
 */
int pt_to_index(const struct nw_pt *pt, uint64_t va, uint64_t len, uint64_t *ia);
/* And back: sign-extend for linear trees. */
uint64_t pt_to_va(const struct nw_pt *pt, uint64_t ia);

/* Entry `idx` of the table that splitting large leaf e (at `level`) creates. */
uint64_t pt_split_child(const struct nw_pt *pt, uint64_t e, int level, unsigned idx);

/* Free the table at `table` (entries at `level`) and every table below it. */
void pt_free_subtree(struct nw_pt *pt, uint64_t table, int level);

/*
 * Invalidation reports are gathered in index space while an operation runs
 * (pt_inval_add widens the range and raises the kind) and converted to the
 * caller's address space once at the end (pt_inval_finish).
 */
void pt_inval_add(struct nw_inval *inv, enum nw_inval_kind kind, uint64_t lo, uint64_t hi);
void pt_inval_finish(const struct nw_pt *pt, struct nw_inval *inv);

#endif
