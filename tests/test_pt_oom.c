/* SPDX-License-Identifier: MIT */
/*
 * Fault injection into the radix engine: "a failed operation changes
 * nothing" (pt.h), checked allocation by allocation.
 *
 * Each case builds a table, then sweeps n = 1, 2, 3, ...: fail the n-th
 * allocation (nw_mem_fail_nth) and run the operation. Every failing run must
 * return -ENOMEM and leave every table frame byte-identical, the counters
 * and frames_in_use unchanged, and nw_pt_check happy. The first n that
 * succeeds ends the sweep; it must come after at least as many failures as
 * the operation needs new tables (so the sweep cannot pass vacuously), and
 * the result is then checked page by page.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nw_test.h"

#define GIB (1ull << 30)
#define MIB2 (1ull << 21)
#define PG NW_PAGE_SIZE
#define MAXPHY 46

/* ---- snapshots: every table frame, found by walking the tree ---- */

struct snap {
	size_t n, cap;
	uint64_t *hpa;
	uint64_t (*data)[NW_ENTRIES_PER_TABLE];
	uint64_t frames, tables, leaves[NW_MAX_LEVELS + 1];
};

static void snap_walk(const struct nw_pt *pt, uint64_t table, int level, struct snap *s)
{
	const struct nw_fmt *f = pt->fmt;
	const uint64_t *t = nw_mem_map(pt->mem, table);

	assert_non_null(t);
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 64;
		s->hpa = realloc(s->hpa, s->cap * sizeof(*s->hpa));
		s->data = realloc(s->data, s->cap * sizeof(*s->data));
		assert_true(s->hpa && s->data);
	}
	s->hpa[s->n] = table;
	memcpy(s->data[s->n], t, sizeof(s->data[0]));
	s->n++;
	if (level == 1)
		return;
	for (unsigned i = 0; i < NW_ENTRIES_PER_TABLE; i++)
		if (f->present(f, t[i]) && !f->leaf(f, t[i], level))
			snap_walk(pt, f->addr(f, t[i], level), level - 1, s);
}

static void snap_take(const struct nw_pt *pt, struct snap *s)
{
	s->n = 0;
	snap_walk(pt, pt->root, pt->levels, s);
	s->frames = pt->mem->frames_in_use;
	s->tables = pt->table_pages;
	memcpy(s->leaves, pt->leaves, sizeof(s->leaves));
}

static void snap_free(struct snap *s)
{
	free(s->hpa);
	free(s->data);
}

/* NULL when b is a's tables and counters exactly; else what differs, in buf. */
static const char *snap_diff(const struct snap *a, const struct snap *b, char *buf, size_t n)
{
	if (a->n != b->n) {
		snprintf(buf, n, "%zu tables reachable, %zu before", b->n, a->n);
		return buf;
	}
	for (size_t i = 0; i < a->n; i++) {
		if (a->hpa[i] != b->hpa[i]) {
			snprintf(buf, n, "table %zu is at %#" PRIx64 ", was at %#" PRIx64, i,
				 b->hpa[i], a->hpa[i]);
			return buf;
		}
		for (unsigned j = 0; j < NW_ENTRIES_PER_TABLE; j++) {
			if (a->data[i][j] != b->data[i][j]) {
				snprintf(buf, n, "entry %u of table %#" PRIx64 " is %#" PRIx64
					 ", was %#" PRIx64, j, a->hpa[i], b->data[i][j], a->data[i][j]);
				return buf;
			}
		}
	}
	if (a->frames != b->frames || a->tables != b->tables ||
	    memcmp(a->leaves, b->leaves, sizeof(a->leaves))) {
		snprintf(buf, n, "frames_in_use %" PRIu64 " -> %" PRIu64 ", table_pages %" PRIu64
			 " -> %" PRIu64 " (or leaf counts) changed", a->frames, b->frames,
			 a->tables, b->tables);
		return buf;
	}
	return NULL;
}

static void snap_assert_same(const struct snap *a, const struct snap *b, const char *what,
			     uint64_t n)
{
	char buf[256];
	const char *why = snap_diff(a, b, buf, sizeof(buf));

	if (why)
		fail_msg("%s, allocation %" PRIu64 " failed: %s", what, n, why);
}

/* ---- the cases ---- */

/* Where a case puts things: 4 levels below 2^47; 5 levels at and above 2^48. */
struct fix {
	struct nw_fmt fmt;
	struct nw_mem *mem;
	struct nw_pt pt;
	int levels;
	uint64_t base;
	struct nw_inval inv;
};

static const struct nw_attr rw = { .prot = NW_PROT_RW };
static const struct nw_attr ro_user = { .prot = NW_PROT_R | NW_PROT_U, .memtype = 4, .pkey = 7 };

struct oom_case {
	const char *name;
	void (*setup)(struct fix *fx);
	int (*op)(struct fix *fx);
	void (*verify)(struct fix *fx);
	/* Allocations the op needs (new tables), with 4 and with 5 levels. */
	uint64_t allocs[2];
	/* Change of table_pages on success. */
	int64_t delta[2];
};

static void map_ok(struct fix *fx, uint64_t va, uint64_t pa, uint64_t len,
		   const struct nw_attr *a, unsigned flags)
{
	assert_int_equal(nw_pt_map(&fx->pt, va, pa, len, a, flags, NULL), 0);
}

/* Assert va translates to pa at `level` with attributes a, or is unmapped (a NULL). */
static void expect_at(struct fix *fx, uint64_t va, uint64_t pa, int level,
		      const struct nw_attr *a)
{
	struct nw_pt_entry e;

	assert_int_equal(nw_pt_lookup(&fx->pt, va, &e), 0);
	if (!a) {
		if (e.present)
			fail_msg("%#" PRIx64 " is mapped (pa %#" PRIx64 "), should not be", va, e.pa);
		return;
	}
	if (!e.present || e.pa != pa || e.level != level || e.attr.prot != a->prot ||
	    e.attr.memtype != a->memtype || e.attr.pkey != a->pkey)
		fail_msg("%#" PRIx64 ": present %d pa %#" PRIx64 " level %d prot %#x memtype %u pkey"
			 " %u; expected pa %#" PRIx64 " level %d prot %#x memtype %u pkey %u", va,
			 e.present, e.pa, e.level, e.attr.prot, e.attr.memtype, e.attr.pkey, pa,
			 level, a->prot, a->memtype, a->pkey);
}

static void expect_range(struct fix *fx, uint64_t va, uint64_t pa, uint64_t len, int level,
			 const struct nw_attr *a)
{
	for (uint64_t off = 0; off < len; off += PG)
		expect_at(fx, va + off, a ? pa + off : 0, level, a);
}

/* 1. 4 KiB pages across five PTs, two PDs and a top-level boundary
 *    (512 GiB with 4 levels, 2^48 with 5), into an empty table. */
#define EMPTY_PA 0x123456000ull
static uint64_t top_boundary(const struct fix *fx)
{
	return fx->levels == 4 ? 1ull << 39 : 1ull << 48;
}

static void setup_none(struct fix *fx)
{
	(void)fx;
}

static int op_map_empty(struct fix *fx)
{
	uint64_t x = top_boundary(fx);
	return nw_pt_map(&fx->pt, x - 2 * MIB2 - 2 * PG, EMPTY_PA, 3 * MIB2 + 5 * PG, &rw,
			 NW_MAP_MAX_1G, &fx->inv);
}

static void verify_map_empty(struct fix *fx)
{
	uint64_t x = top_boundary(fx);
	/* pa is only 4 KiB aligned, so every leaf is 4 KiB despite MAX_1G. */
	expect_range(fx, x - 2 * MIB2 - 2 * PG, EMPTY_PA, 3 * MIB2 + 5 * PG, 1, &rw);
	expect_at(fx, x - 2 * MIB2 - 3 * PG, 0, 0, NULL);
	expect_at(fx, x + MIB2 + 3 * PG, 0, 0, NULL);
	assert_int_equal(fx->inv.kind, NW_INVAL_NONE);
}

/* 2. 4 KiB pages into a partly built table: one PT exists, two are new. */
static void setup_partial(struct fix *fx)
{
	map_ok(fx, fx->base + GIB + MIB2 / 2, 0x7000000, PG, &rw, NW_MAP_MAX_4K);
	map_ok(fx, fx->base + GIB + 8 * MIB2, 0x40000000, MIB2, &rw, NW_MAP_MAX_2M);
}

static int op_map_partial(struct fix *fx)
{
	return nw_pt_map(&fx->pt, fx->base + GIB + MIB2 / 2 + PG, 0x9001000,
			 3 * MIB2 - MIB2 / 2 - PG, &ro_user, NW_MAP_MAX_2M, &fx->inv);
}

static void verify_map_partial(struct fix *fx)
{
	uint64_t va = fx->base + GIB + MIB2 / 2;
	expect_at(fx, va, 0x7000000, 1, &rw);
	expect_range(fx, va + PG, 0x9001000, 3 * MIB2 - MIB2 / 2 - PG, 1, &ro_user);
	expect_at(fx, fx->base + GIB + 3 * MIB2, 0, 0, NULL); /* 6 MiB: the end */
	expect_at(fx, fx->base + GIB + 8 * MIB2 + 5 * PG, 0x40000000 + 5 * PG, 2, &rw);
	assert_int_equal(fx->inv.kind, NW_INVAL_NONE);
}

/* 3. A replacing map that must split a 1 GiB page and a 2 MiB page. */
#define OLD_1G 0x40000000ull
#define OLD_2M 0x80000000ull
#define NEW_PA 0x12340000ull
static void setup_large(struct fix *fx)
{
	map_ok(fx, fx->base + GIB, OLD_1G, GIB, &rw, NW_MAP_MAX_1G);
	map_ok(fx, fx->base + 2 * GIB, OLD_2M, MIB2, &rw, NW_MAP_MAX_2M);
	expect_at(fx, fx->base + GIB, OLD_1G, 3, &rw);
	expect_at(fx, fx->base + 2 * GIB, OLD_2M, 2, &rw);
}

static int op_replace(struct fix *fx)
{
	return nw_pt_map(&fx->pt, fx->base + 2 * GIB - 2 * PG, NEW_PA, 4 * PG, &ro_user,
			 NW_MAP_MAX_1G | NW_MAP_REPLACE, &fx->inv);
}

static void verify_replace(struct fix *fx)
{
	uint64_t b = fx->base;
	expect_range(fx, b + 2 * GIB - 2 * PG, NEW_PA, 4 * PG, 1, &ro_user);
	expect_range(fx, b + 2 * GIB - MIB2, OLD_1G + GIB - MIB2, MIB2 - 2 * PG, 1, &rw);
	expect_at(fx, b + GIB, OLD_1G, 2, &rw);
	expect_at(fx, b + 2 * GIB - MIB2 - PG, OLD_1G + GIB - MIB2 - PG, 2, &rw);
	expect_range(fx, b + 2 * GIB + 2 * PG, OLD_2M + 2 * PG, MIB2 - 2 * PG, 1, &rw);
	assert_int_equal(fx->inv.kind, NW_INVAL_NONLEAF);
	assert_true(fx->inv.start <= b + 2 * GIB - 2 * PG && fx->inv.end >= b + 2 * GIB + 2 * PG);
}

/* 4./5. Unmap and protect that split 1 GiB and then 2 MiB pages at both ends. */
static void setup_two_1g(struct fix *fx)
{
	map_ok(fx, fx->base + GIB, OLD_1G, 2 * GIB, &rw, NW_MAP_MAX_1G);
	expect_at(fx, fx->base + 2 * GIB, OLD_1G + GIB, 3, &rw);
}

#define CUT_LO (GIB + 256 * MIB2 + PG)    /* inside the first 1 GiB page */
#define CUT_HI (2 * GIB + MIB2 + PG)      /* inside the second */

static int op_unmap_ends(struct fix *fx)
{
	return nw_pt_unmap(&fx->pt, fx->base + CUT_LO, CUT_HI - CUT_LO, &fx->inv);
}

static void verify_ends(struct fix *fx, const struct nw_attr *mid)
{
	uint64_t b = fx->base;
	expect_at(fx, b + GIB, OLD_1G, 2, &rw);
	expect_at(fx, b + CUT_LO - PG, OLD_1G + CUT_LO - GIB - PG, 1, &rw);
	expect_range(fx, b + CUT_LO, OLD_1G + CUT_LO - GIB, MIB2 - PG, mid ? 1 : 0, mid);
	expect_range(fx, b + CUT_LO + MIB2 - PG, OLD_1G + CUT_LO - GIB + MIB2 - PG, 4 * PG,
		     mid ? 2 : 0, mid);
	expect_at(fx, b + 2 * GIB, OLD_1G + GIB, mid ? 2 : 0, mid);
	expect_range(fx, b + 2 * GIB + MIB2, OLD_1G + GIB + MIB2, PG, mid ? 1 : 0, mid);
	expect_range(fx, b + CUT_HI, OLD_1G + CUT_HI - GIB, MIB2 - PG, 1, &rw);
	expect_at(fx, b + 2 * GIB + 2 * MIB2, OLD_1G + GIB + 2 * MIB2, 2, &rw);
	expect_at(fx, b + 3 * GIB - PG, OLD_1G + 2 * GIB - PG, 2, &rw);
	assert_true(fx->inv.kind >= NW_INVAL_LEAF);
	assert_true(fx->inv.start <= b + CUT_LO && fx->inv.end >= b + CUT_HI);
}

static void verify_unmap_ends(struct fix *fx)
{
	verify_ends(fx, NULL);
}

static int op_protect_ends(struct fix *fx)
{
	return nw_pt_protect(&fx->pt, fx->base + CUT_LO, CUT_HI - CUT_LO, &ro_user, &fx->inv);
}

static void verify_protect_ends(struct fix *fx)
{
	verify_ends(fx, &ro_user);
}

/* 6. Split a 1 GiB page, and a 2 MiB page. */
static int op_split_1g(struct fix *fx)
{
	return nw_pt_split(&fx->pt, fx->base + GIB + 12345, &fx->inv);
}

static void verify_split_1g(struct fix *fx)
{
	for (uint64_t off = 0; off < GIB; off += MIB2)
		expect_at(fx, fx->base + GIB + off + 7 * PG, OLD_1G + off + 7 * PG, 2, &rw);
}

static int op_split_2m(struct fix *fx)
{
	return nw_pt_split(&fx->pt, fx->base + 2 * GIB + MIB2 - 1, &fx->inv);
}

static void verify_split_2m(struct fix *fx)
{
	expect_range(fx, fx->base + 2 * GIB, OLD_2M, MIB2, 1, &rw);
	expect_at(fx, fx->base + GIB, OLD_1G, 3, &rw);
}

static const struct oom_case cases[] = {
	/* PT x5 + PD x2 + PDPT x2 (+ PML4 x2 with 5 levels); the root exists. */
	{ "4K map into an empty table, across the top-level boundary", setup_none, op_map_empty,
	  verify_map_empty, { 9, 11 }, { 9, 11 } },
	/* The PT of the first page exists; the next two PTs are new. */
	{ "4K map into a partly built table", setup_partial, op_map_partial,
	  verify_map_partial, { 2, 2 }, { 2, 2 } },
	/* PD for the 1 GiB page, PT for its last 2 MiB, PT for the 2 MiB page. */
	{ "replacing map splitting a 1G and a 2M page", setup_large, op_replace, verify_replace,
	  { 3, 3 }, { 3, 3 } },
	/* A PD and a PT at each end. */
	{ "unmap splitting 1G and 2M pages at both ends", setup_two_1g, op_unmap_ends,
	  verify_unmap_ends, { 4, 4 }, { 4, 4 } },
	{ "protect splitting 1G and 2M pages at both ends", setup_two_1g, op_protect_ends,
	  verify_protect_ends, { 4, 4 }, { 4, 4 } },
	{ "split of a 1G page", setup_large, op_split_1g, verify_split_1g, { 1, 1 }, { 1, 1 } },
	{ "split of a 2M page", setup_large, op_split_2m, verify_split_2m, { 1, 1 }, { 1, 1 } },
};
#define N_CASES (sizeof(cases) / sizeof(cases[0]))

static void fix_init(struct fix *fx, int levels)
{
	memset(fx, 0, sizeof(*fx));
	fx->levels = levels;
	fx->base = levels == 4 ? 0 : 1ull << 48; /* above what 4 levels reach */
	assert_int_equal(nw_fmt_x86_init(&fx->fmt, MAXPHY, 0), 0);
	fx->mem = nw_test_arena(64ull << 20, MAXPHY);
	struct nw_pt_cfg cfg = { .fmt = &fx->fmt, .mem = fx->mem, .levels = levels,
				 .linear = true };
	assert_int_equal(nw_pt_init(&fx->pt, &cfg), 0);
}

static void fix_fini(struct fix *fx)
{
	nw_pt_destroy(&fx->pt);
	assert_int_equal(fx->mem->frames_in_use, 0);
	nw_mem_destroy(fx->mem);
}

static void check_tree(struct fix *fx, const char *what, uint64_t n)
{
	char msg[256];

	if (nw_pt_check(&fx->pt, msg, sizeof(msg)))
		fail_msg("%s, allocation %" PRIu64 " failed: nw_pt_check: %s", what, n, msg);
	if (fx->mem->frames_in_use != fx->pt.table_pages)
		fail_msg("%s: frames_in_use %" PRIu64 " != table_pages %" PRIu64, what,
			 fx->mem->frames_in_use, fx->pt.table_pages);
}

/* Fail allocation 1, 2, 3, ... of c's op until it succeeds; return the failures. */
static uint64_t sweep(const struct oom_case *c, int levels)
{
	struct fix fx;
	struct snap before = { 0 }, after = { 0 };
	char what[160];
	uint64_t n, failures = 0, attempts;
	int li = levels == 4 ? 0 : 1;
	int rc;

	snprintf(what, sizeof(what), "%s (%d levels)", c->name, levels);
	fix_init(&fx, levels);
	c->setup(&fx);
	check_tree(&fx, what, 0);
	snap_take(&fx.pt, &before);
	for (n = 1;; n++) {
		uint64_t calls = fx.mem->alloc_calls;

		nw_mem_fail_nth(fx.mem, n);
		rc = c->op(&fx);
		nw_mem_fail_nth(fx.mem, 0);
		attempts = fx.mem->alloc_calls - calls;
		if (rc == 0)
			break;
		if (rc != -ENOMEM)
			fail_msg("%s: allocation %" PRIu64 " failed, the op returned %d, not -ENOMEM",
				 what, n, rc);
		if (attempts < n)
			fail_msg("%s: returned -ENOMEM after %" PRIu64 " allocations, but the failure"
				 " was set for allocation %" PRIu64, what, attempts, n);
		snap_take(&fx.pt, &after);
		snap_assert_same(&before, &after, what, n);
		check_tree(&fx, what, n);
		failures++;
		assert_true(n < 10000);
	}
	/* Without a failure the op makes the allocations every failed n reached. */
	if (attempts != failures)
		fail_msg("%s: succeeded with %" PRIu64 " allocations after %" PRIu64 " failures",
			 what, attempts, failures);
	if (failures < c->allocs[li])
		fail_msg("%s: only %" PRIu64 " allocations could be failed, the op needs %" PRIu64,
			 what, failures, c->allocs[li]);
	if ((int64_t)(fx.pt.table_pages - before.tables) != c->delta[li])
		fail_msg("%s: table_pages went from %" PRIu64 " to %" PRIu64 ", expected %+" PRId64,
			 what, before.tables, fx.pt.table_pages, c->delta[li]);
	check_tree(&fx, what, 0);
	c->verify(&fx);
	printf("[pt_oom] %s: %" PRIu64 " injected failures, each left the tables unchanged\n",
	       what, failures);
	snap_free(&before);
	snap_free(&after);
	fix_fini(&fx);
	return failures;
}

static void test_oom_4level(void **state)
{
	uint64_t total = 0;

	(void)state;
	for (size_t i = 0; i < N_CASES; i++)
		total += sweep(&cases[i], 4);
	assert_true(total >= 9 + 2 + 3 + 4 + 4 + 1 + 1);
}

static void test_oom_5level(void **state)
{
	uint64_t total = 0;

	(void)state;
	for (size_t i = 0; i < N_CASES; i++)
		total += sweep(&cases[i], 5);
	assert_true(total >= 11 + 2 + 3 + 4 + 4 + 1 + 1);
}

/* The sweep's premise: fail_nth fails exactly the n-th attempt, once. */
static void test_fail_nth_premise(void **state)
{
	struct nw_mem *mem = nw_test_arena(1ull << 20, MAXPHY);
	uint64_t hpa[3];

	(void)state;
	nw_mem_fail_nth(mem, 2);
	assert_int_equal(nw_mem_alloc(mem, &hpa[0]), 0);
	assert_int_equal(nw_mem_alloc(mem, &hpa[1]), -ENOMEM);
	assert_int_equal(nw_mem_alloc(mem, &hpa[1]), 0);
	assert_int_equal(nw_mem_alloc(mem, &hpa[2]), 0);
	assert_int_equal(mem->frames_in_use, 3);
	for (int i = 0; i < 3; i++)
		nw_mem_free(mem, hpa[i]);
	assert_int_equal(mem->frames_in_use, 0);
	nw_mem_destroy(mem);
}

/* Negative control: the snapshot sees one flipped bit and one leaked frame. */
static void test_snapshot_control(void **state)
{
	struct fix fx;
	struct snap a = { 0 }, b = { 0 };
	struct nw_pt_entry e;
	char buf[256];
	uint64_t hpa;

	(void)state;
	fix_init(&fx, 4);
	setup_partial(&fx);
	snap_take(&fx.pt, &a);
	snap_take(&fx.pt, &b);
	assert_null(snap_diff(&a, &b, buf, sizeof(buf)));

	assert_int_equal(nw_pt_lookup(&fx.pt, fx.base + GIB + MIB2 / 2, &e), 0);
	uint64_t *slot = nw_mem_map(fx.mem, e.entry_pa);
	*slot ^= NW_PTE_A; /* as a failed op that forgot to restore an entry */
	snap_take(&fx.pt, &b);
	assert_non_null(snap_diff(&a, &b, buf, sizeof(buf)));
	printf("[pt_oom] control: flipped bit flagged: %s\n", buf);
	*slot ^= NW_PTE_A;

	assert_int_equal(nw_mem_alloc(fx.mem, &hpa), 0); /* as a leaked table frame */
	snap_take(&fx.pt, &b);
	assert_non_null(snap_diff(&a, &b, buf, sizeof(buf)));
	printf("[pt_oom] control: leaked frame flagged: %s\n", buf);
	nw_mem_free(fx.mem, hpa);
	snap_take(&fx.pt, &b);
	assert_null(snap_diff(&a, &b, buf, sizeof(buf)));
	snap_free(&a);
	snap_free(&b);
	fix_fini(&fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fail_nth_premise),
		cmocka_unit_test(test_snapshot_control),
		cmocka_unit_test(test_oom_4level),
		cmocka_unit_test(test_oom_5level),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
