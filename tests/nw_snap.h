/* SPDX-License-Identifier: MIT */
#ifndef NW_SNAP_H
#define NW_SNAP_H

/*
 * Byte-for-byte snapshots of a radix tree, for the all-or-nothing checks of
 * fault-injection sweeps: every table frame (address and 4 KiB of content),
 * the engine's counts and the backend's frames in use.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nw_test.h"

struct nw_snap {
	size_t n;
	uint64_t *addr;                          /* table frames, in walk order */
	uint64_t (*page)[NW_ENTRIES_PER_TABLE];  /* their contents */
	uint64_t table_pages;
	uint64_t leaves[NW_MAX_LEVELS + 1];
	uint64_t frames_in_use;
};

static inline void nw_snap_add(struct nw_snap *s, const struct nw_pt *pt, uint64_t table)
{
	s->addr = realloc(s->addr, (s->n + 1) * sizeof(*s->addr));
	s->page = realloc(s->page, (s->n + 1) * sizeof(*s->page));
	assert_non_null(s->addr);
	assert_non_null(s->page);
	const void *p = nw_mem_map(pt->mem, table);
	assert_non_null(p);
	s->addr[s->n] = table;
	memcpy(s->page[s->n], p, sizeof(s->page[s->n]));
	s->n++;
}

static inline void nw_snap_take(struct nw_snap *s, const struct nw_pt *pt)
{
	struct nw_pt_iter it;

	memset(s, 0, sizeof(*s));
	nw_snap_add(s, pt, pt->root);
	nw_pt_for_each(&it, pt, 0, 0)
		if (!it.leaf)
			nw_snap_add(s, pt, pt->fmt->addr(pt->fmt, it.entry, it.level));
	s->table_pages = pt->table_pages;
	memcpy(s->leaves, pt->leaves, sizeof(s->leaves));
	s->frames_in_use = pt->mem->frames_in_use;
}

static inline void nw_snap_free(struct nw_snap *s)
{
	free(s->addr);
	free(s->page);
	memset(s, 0, sizeof(*s));
}

/* Assert that pt is exactly as snapshot s saw it. */
static inline void nw_snap_expect(const struct nw_snap *s, const struct nw_pt *pt)
{
	struct nw_snap now;

	nw_snap_take(&now, pt);
	assert_int_equal(now.n, s->n);
	assert_memory_equal(now.addr, s->addr, s->n * sizeof(*s->addr));
	assert_memory_equal(now.page, s->page, s->n * sizeof(*s->page));
	assert_int_equal(now.table_pages, s->table_pages);
	assert_memory_equal(now.leaves, s->leaves, sizeof(s->leaves));
	assert_int_equal(now.frames_in_use, s->frames_in_use);
	nw_snap_free(&now);
}

/*
 * Fault-injection sweep: run op with the 1st, 2nd, ... frame allocation
 * failing until it succeeds. Every failure must be -ENOMEM and leave pt
 * byte-identical with no frame leaked. Returns the number of failures seen
 * (the allocations op makes).
 */
static inline unsigned nw_snap_sweep(struct nw_pt *pt, int (*op)(void *ctx), void *ctx)
{
	struct nw_snap before;
	unsigned n;

	nw_snap_take(&before, pt);
	for (n = 1;; n++) {
		assert_true(n < 10000);
		nw_mem_fail_nth(pt->mem, n);
		int rc = op(ctx);
		if (rc == 0)
			break;
		assert_int_equal(rc, -ENOMEM);
		nw_snap_expect(&before, pt);
	}
	nw_mem_fail_nth(pt->mem, 0);
	nw_snap_free(&before);
	return n - 1;
}

/* ---- the sweeps every nested-table handle (EPT, NPT) must pass ---- */

enum { NW_SNAP_MAP, NW_SNAP_PROTECT, NW_SNAP_UNMAP };

/* One operation through a handle, for the suite's run function. */
struct nw_snap_op {
	void *h;          /* the handle: struct nw_ept, struct nw_npt */
	int kind;         /* NW_SNAP_MAP, NW_SNAP_PROTECT (to read-only), NW_SNAP_UNMAP */
	uint64_t gpa, hpa, len;
	unsigned flags;   /* map: NW_MAP_MAX_* */
};

struct nw_snap_nested {
	struct nw_pt *pt;                             /* the handle's tables */
	void *h;
	int (*run)(void *op);                         /* performs a struct nw_snap_op */
	void (*protected_ok)(void *h, uint64_t gpa);  /* the page protect left at gpa */
};

/*
 * Each one all-or-nothing at every failing allocation: a map 8 KiB below a
 * PML4E boundary and 2 MiB + 8 KiB above it (2 x (PDPT, PD, PT), plus the
 * PML4 with 5 levels); 4 KiB protected inside a 1 GiB leaf (two splits); a
 * hole unmapped inside a 2 MiB leaf of it (one split); and an unmap of
 * everything, which needs no frame at all.
 */
static inline void nw_snap_nested_sweeps(const struct nw_snap_nested *t)
{
	const uint64_t KB = 1ull << 10, MB = 1ull << 20, GB = 1ull << 30;
	struct nw_snap_op map = { t->h, NW_SNAP_MAP, (1ull << 39) - 8 * KB, 4 * GB - 8 * KB,
				  16 * KB + 2 * MB, NW_MAP_MAX_2M };
	struct nw_snap_op big = { t->h, NW_SNAP_MAP, 4 * GB, 4 * GB, GB, NW_MAP_MAX_1G };
	struct nw_snap_op prot = { t->h, NW_SNAP_PROTECT, 4 * GB + 5 * MB, 0, 4 * KB, 0 };
	struct nw_snap_op hole = { t->h, NW_SNAP_UNMAP, 4 * GB + 9 * MB + 4 * KB, 0, 4 * KB, 0 };
	struct nw_snap_op all = { t->h, NW_SNAP_UNMAP, 0, 0, nw_pt_span(t->pt->levels), 0 };

	assert_int_equal(nw_snap_sweep(t->pt, t->run, &map), t->pt->levels == 5 ? 7 : 6);
	nw_test_pt_ok(t->pt);
	assert_int_equal(t->run(&big), 0);
	assert_int_equal(nw_snap_sweep(t->pt, t->run, &prot), 2);
	t->protected_ok(t->h, prot.gpa);
	nw_test_pt_ok(t->pt);
	assert_int_equal(nw_snap_sweep(t->pt, t->run, &hole), 1);
	nw_test_pt_ok(t->pt);
	assert_int_equal(nw_snap_sweep(t->pt, t->run, &all), 0);
	assert_int_equal(t->pt->mem->frames_in_use, 1);
}

#endif
