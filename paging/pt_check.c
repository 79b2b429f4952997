/* SPDX-License-Identifier: MIT */
/*
 * The invariant check. It walks the tree (or the part of it over a range)
 * and proves what the engine promises:
 *  - no present entry has reserved bits (under EFER.NXE = 1);
 *  - leaves sit only at levels the format allows, aligned to their size;
 *  - every table is backed by the memory backend, reached once only, and,
 *    the root apart, not empty;
 *  - the table and leaf counts equal what the tree holds (whole-tree check).
 */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "pt_internal.h"

struct check_ctx {
	const struct nw_pt *pt;
	uint64_t start, end;        /* index-space range checked */
	uint64_t tables;            /* tables found */
	uint64_t leaves[NW_MAX_LEVELS + 1];
	uint64_t *seen;             /* table addresses found, to detect sharing */
	size_t n_seen, cap_seen;
	char *buf;
	size_t buflen;
	int rc;
};

static int check_fail(struct check_ctx *c, const char *fmt, ...)
{
	va_list ap;

	if (c->rc)
		return c->rc;
	c->rc = -EUCLEAN;
	if (c->buf && c->buflen) {
		va_start(ap, fmt);
		vsnprintf(c->buf, c->buflen, fmt, ap);
		va_end(ap);
	}
	return c->rc;
}

static int note_table(struct check_ctx *c, uint64_t table)
{
	if (c->n_seen == c->cap_seen) {
		size_t cap = c->cap_seen ? 2 * c->cap_seen : 64;
		uint64_t *p = realloc(c->seen, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		c->seen = p;
		c->cap_seen = cap;
	}
	c->seen[c->n_seen++] = table;
	return 0;
}

static void check_table(struct check_ctx *c, uint64_t table, int level, uint64_t base)
{
	const struct nw_pt *pt = c->pt;
	const struct nw_fmt *f = pt->fmt;
	uint64_t size = NW_LEVEL_SIZE(level);
	unsigned present = 0;

	c->tables++;
	if (note_table(c, table) < 0) {
		check_fail(c, "out of memory while checking");
		return;
	}
	if (!nw_mem_map(pt->mem, table) || (table & ~NW_PAGE_MASK)) {
		check_fail(c, "table %#llx at level %d is not a backed, aligned frame",
			   (unsigned long long)table, level);
		return;
	}
	for (unsigned i = 0; i < NW_ENTRIES_PER_TABLE && !c->rc; i++) {
		uint64_t slot = base + (uint64_t)i * size;
		uint64_t e = pt_read(pt, pt_slot(table, i));

		if (!pt_present(pt, e))
			continue;
		present++;
		if (slot + size <= c->start || slot >= c->end)
			continue;
		if (f->rsvd(f, e, level, NW_FMT_NXE)) {
			check_fail(c, "entry %#llx at level %d (va index %#llx) has reserved bits",
				   (unsigned long long)e, level, (unsigned long long)slot);
			return;
		}
		if (pt_is_leaf(pt, e, level)) {
			if (!nw_fmt_leaf_ok(f, level))
				check_fail(c, "leaf at level %d, which the format forbids", level);
			else if (f->addr(f, e, level) & (size - 1))
				check_fail(c, "leaf %#llx at level %d is misaligned",
					   (unsigned long long)e, level);
			c->leaves[level]++;
			continue;
		}
		check_table(c, f->addr(f, e, level), level - 1, slot);
	}
	if (!present && table != pt->root)
		check_fail(c, "table %#llx at level %d is empty", (unsigned long long)table, level);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int check_run(struct check_ctx *c, bool whole)
{
	const struct nw_pt *pt = c->pt;

	check_table(c, pt->root, pt->levels, 0);
	if (!c->rc) {
		qsort(c->seen, c->n_seen, sizeof(*c->seen), cmp_u64);
		for (size_t i = 1; i < c->n_seen; i++)
			if (c->seen[i] == c->seen[i - 1])
				check_fail(c, "table %#llx is linked twice",
					   (unsigned long long)c->seen[i]);
	}
	if (!c->rc && whole) {
		if (c->tables != pt->table_pages)
			check_fail(c, "tree holds %llu tables, the count says %llu",
				   (unsigned long long)c->tables,
				   (unsigned long long)pt->table_pages);
		for (int l = 1; l <= NW_MAX_LEVELS && !c->rc; l++)
			if (c->leaves[l] != pt->leaves[l])
				check_fail(c, "tree holds %llu leaves at level %d, the count says %llu",
					   (unsigned long long)c->leaves[l], l,
					   (unsigned long long)pt->leaves[l]);
	}
	free(c->seen);
	return c->rc;
}

int nw_pt_check(const struct nw_pt *pt, char *buf, size_t buflen)
{
	struct check_ctx c = {
		.pt = pt, .start = 0, .end = 1ull << pt_width(pt->levels), .buf = buf, .buflen = buflen,
	};
	if (buf && buflen)
		buf[0] = '\0';
	return check_run(&c, true);
}

int nw_pt_check_range(const struct nw_pt *pt, uint64_t va, uint64_t len, char *buf,
		      size_t buflen)
{
	uint64_t ia;
	struct check_ctx c = { .pt = pt, .buf = buf, .buflen = buflen };

	if (buf && buflen)
		buf[0] = '\0';
	if (!len || pt_to_index(pt, va, len, &ia) < 0)
		return -ERANGE;
	c.start = ia;
	c.end = ia + len;
	return check_run(&c, false);
}
