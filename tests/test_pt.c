/* SPDX-License-Identifier: MIT */
/* The radix engine: hand-checked cases of map, unmap, protect, split,
 * collapse, lookup, iteration and the error rules. */

#include <errno.h>
#include <string.h>

#include "nw_test.h"

#define MiB (1ull << 20)
#define GiB (1ull << 30)

struct env {
	struct nw_mem *mem;
	struct nw_fmt fmt;
	struct nw_pt pt;
};

static int setup_levels(void **state, int levels, bool linear)
{
	static struct env e4, e5;
	struct env *e = levels == 4 ? &e4 : &e5;
	memset(e, 0, sizeof(*e));
	e->mem = nw_test_arena(1ull << 32, 46);
	assert_int_equal(nw_fmt_x86_init(&e->fmt, 46, 0), 0);
	struct nw_pt_cfg cfg = { .fmt = &e->fmt, .mem = e->mem, .levels = levels, .linear = linear };
	assert_int_equal(nw_pt_init(&e->pt, &cfg), 0);
	*state = e;
	return 0;
}

static int setup4(void **state) { return setup_levels(state, 4, true); }
static int setup5(void **state) { return setup_levels(state, 5, true); }

static int teardown(void **state)
{
	struct env *e = *state;
	nw_pt_destroy(&e->pt);
	nw_test_arena_done(e->mem);
	return 0;
}

static const struct nw_attr RW = { .prot = NW_PROT_RW | NW_PROT_U | NW_PROT_X };
static const struct nw_attr RO = { .prot = NW_PROT_R | NW_PROT_U };

static void expect(const struct nw_pt *pt, uint64_t va, bool present, uint64_t pa, int level)
{
	struct nw_pt_entry ent;
	assert_int_equal(nw_pt_lookup(pt, va, &ent), 0);
	assert_int_equal(ent.present, present);
	if (present) {
		assert_int_equal(ent.pa, pa);
		assert_int_equal(ent.level, level);
	}
}

/* Map picks the largest page that alignment, length and the maximum allow. */
static void test_map_page_sizes(void **state)
{
	struct env *e = *state;
	struct nw_inval inv;
	/* 4 KiB + 2 MiB + 1 GiB + 2 MiB + 4 KiB, all aligned with pa. */
	uint64_t va = GiB - 2 * MiB - 4096, pa = 4 * GiB - 2 * MiB - 4096;
	uint64_t len = 4096 + 2 * MiB + GiB + 2 * MiB + 4096;

	assert_int_equal(nw_pt_map(&e->pt, va, pa, len, &RW, NW_MAP_MAX_1G, &inv), 0);
	assert_int_equal(inv.kind, NW_INVAL_NONE); /* only empty slots were filled */
	expect(&e->pt, va, true, pa, 1);
	expect(&e->pt, va + 4096, true, pa + 4096, 2);
	expect(&e->pt, GiB + 12345, true, 4 * GiB + 12345, 3);
	expect(&e->pt, 2 * GiB, true, 5 * GiB, 2);
	expect(&e->pt, 2 * GiB + 2 * MiB, true, 5 * GiB + 2 * MiB, 1);
	expect(&e->pt, 2 * GiB + 2 * MiB + 4096, false, 0, 0);
	assert_int_equal(e->pt.leaves[1], 2);
	assert_int_equal(e->pt.leaves[2], 2);
	assert_int_equal(e->pt.leaves[3], 1);
	nw_test_pt_ok(&e->pt);

	/* With a 4 KiB maximum everything is 4 KiB. */
	assert_int_equal(nw_pt_map(&e->pt, 8 * GiB, 0, 4 * MiB, &RW, NW_MAP_MAX_4K, &inv), 0);
	assert_int_equal(e->pt.leaves[1], 2 + 1024);
	expect(&e->pt, 8 * GiB + 3 * MiB, true, 3 * MiB, 1);
	/* va and pa aligned differently: no large page is possible. */
	assert_int_equal(nw_pt_map(&e->pt, 16 * GiB, 4096, 2 * MiB, &RW, NW_MAP_MAX_1G, &inv), 0);
	expect(&e->pt, 16 * GiB, true, 4096, 1);
	nw_test_pt_ok(&e->pt);
}

static void test_map_errors_change_nothing(void **state)
{
	struct env *e = *state;
	struct nw_inval inv;
	uint64_t used;

	assert_int_equal(nw_pt_map(&e->pt, 2 * MiB, 0, 2 * MiB, &RW, NW_MAP_MAX_2M, &inv), 0);
	used = e->mem->frames_in_use;

	/* Overlap, in every shape: a leaf in the way, or a table where a leaf goes. */
	assert_int_equal(nw_pt_map(&e->pt, 2 * MiB + 4096, 0, 4096, &RW, NW_MAP_MAX_4K, &inv), -EEXIST);
	assert_int_equal(nw_pt_map(&e->pt, 0, 0, GiB, &RW, NW_MAP_MAX_1G, &inv), -EEXIST);
	assert_int_equal(nw_pt_map(&e->pt, 0, 0, 4 * MiB, &RW, NW_MAP_MAX_4K, &inv), -EEXIST);
	/* Misaligned. */
	assert_int_equal(nw_pt_map(&e->pt, 0x1001, 0, 4096, &RW, NW_MAP_MAX_4K, &inv), -EINVAL);
	assert_int_equal(nw_pt_map(&e->pt, 0x1000, 0x10, 4096, &RW, NW_MAP_MAX_4K, &inv), -EINVAL);
	assert_int_equal(nw_pt_map(&e->pt, 0x1000, 0, 100, &RW, NW_MAP_MAX_4K, &inv), -EINVAL);
	assert_int_equal(nw_pt_map(&e->pt, 0x1000, 0, 0, &RW, NW_MAP_MAX_4K, &inv), -EINVAL);
	/* Bad flags or attributes. */
	assert_int_equal(nw_pt_map(&e->pt, 0x1000, 0, 4096, &RW, 0, &inv), -EINVAL);
	assert_int_equal(nw_pt_map(&e->pt, 0x1000, 0, 4096, &RW, NW_MAP_MAX_4K | 0x40, &inv), -EINVAL);
	struct nw_attr bad = { .prot = NW_PROT_W };
	assert_int_equal(nw_pt_map(&e->pt, 0x1000, 0, 4096, &bad, NW_MAP_MAX_4K, &inv), -EINVAL);
	/* Non-canonical, into the hole, beyond the width, beyond MAXPHYADDR. */
	assert_int_equal(nw_pt_map(&e->pt, 1ull << 47, 0, 4096, &RW, NW_MAP_MAX_4K, &inv), -ERANGE);
	assert_int_equal(nw_pt_map(&e->pt, (1ull << 47) - 4096, 0, 8192, &RW, NW_MAP_MAX_4K, &inv), -ERANGE);
	assert_int_equal(nw_pt_map(&e->pt, 0x1000, 1ull << 46, 4096, &RW, NW_MAP_MAX_4K, &inv), -ERANGE);
	assert_int_equal(nw_pt_map(&e->pt, 0x1000, (1ull << 46) - 4096, 8192, &RW, NW_MAP_MAX_4K, &inv), -ERANGE);

	assert_int_equal(e->mem->frames_in_use, used);
	assert_int_equal(e->pt.leaves[1], 0);
	assert_int_equal(e->pt.leaves[2], 1);
	nw_test_pt_ok(&e->pt);
}

/* The canonical high half works, up to the very top of the address space. */
static void test_high_half(void **state)
{
	struct env *e = *state;
	struct nw_inval inv;
	uint64_t top = 0xffffffffffe00000ull; /* last 2 MiB */

	assert_int_equal(nw_pt_map(&e->pt, top, 6 * MiB, 2 * MiB, &RW, NW_MAP_MAX_2M, &inv), 0);
	expect(&e->pt, 0xffffffffffffffffull & ~0xfffull, true, 8 * MiB - 4096, 2);
	assert_int_equal(nw_pt_unmap(&e->pt, top + 4096, 4096, &inv), 0);
	assert_int_equal(inv.kind, NW_INVAL_NONLEAF); /* the 2 MiB leaf became a table */
	assert_int_equal(inv.start, top);
	assert_int_equal(inv.end - inv.start, 2 * MiB); /* end wraps to 0 */
	expect(&e->pt, top + 4096, false, 0, 0);
	expect(&e->pt, top + 8192, true, 6 * MiB + 8192, 1);
	nw_test_pt_ok(&e->pt);
}

static void test_unmap_frees_tables(void **state)
{
	struct env *e = *state;
	struct nw_inval inv;

	assert_int_equal(nw_pt_map(&e->pt, 1ull << 40, 0, 8192, &RW, NW_MAP_MAX_4K, &inv), 0);
	assert_int_equal(e->pt.table_pages, 4);
	assert_int_equal(nw_pt_unmap(&e->pt, 1ull << 40, 4096, &inv), 0);
	assert_int_equal(inv.kind, NW_INVAL_LEAF);
	assert_int_equal(inv.start, 1ull << 40);
	assert_int_equal(inv.end, (1ull << 40) + 4096);
	assert_int_equal(e->pt.table_pages, 4);
	assert_int_equal(nw_pt_unmap(&e->pt, 1ull << 40, 8192, &inv), 0);
	/* The PT, PD and PDPT emptied and went; only the root is left. */
	assert_int_equal(inv.kind, NW_INVAL_NONLEAF);
	assert_int_equal(e->pt.table_pages, 1);
	assert_int_equal(e->mem->frames_in_use, 1);
	/* Unmapping a hole is fine and requires nothing. */
	assert_int_equal(nw_pt_unmap(&e->pt, 0, GiB, &inv), 0);
	assert_int_equal(inv.kind, NW_INVAL_NONE);
	nw_test_pt_ok(&e->pt);
}

static void test_protect_splits_and_skips_holes(void **state)
{
	struct env *e = *state;
	struct nw_inval inv;
	struct nw_pt_entry ent;

	assert_int_equal(nw_pt_map(&e->pt, GiB, GiB, GiB, &RW, NW_MAP_MAX_1G, &inv), 0);
	/* Protect 4 KiB in the middle of a 1 GiB page, with a hole before it. */
	assert_int_equal(nw_pt_protect(&e->pt, GiB - 4096, 3 * MiB + 8192, &RO, &inv), 0);
	assert_int_equal(inv.kind, NW_INVAL_NONLEAF);
	assert_int_equal(nw_pt_lookup(&e->pt, GiB + 3 * MiB, &ent), 0);
	assert_int_equal(ent.level, 1);
	assert_int_equal(ent.attr.prot, RO.prot);
	assert_int_equal(nw_pt_lookup(&e->pt, GiB + 3 * MiB + 4096, &ent), 0);
	assert_int_equal(ent.attr.prot, RW.prot);
	assert_int_equal(nw_pt_lookup(&e->pt, GiB + MiB, &ent), 0);
	assert_int_equal(ent.level, 2);
	assert_int_equal(ent.attr.prot, RO.prot);
	assert_int_equal(nw_pt_lookup(&e->pt, GiB - 4096, &ent), 0);
	assert_false(ent.present); /* the hole stays a hole */
	/* Protecting with the same rights again changes nothing. */
	assert_int_equal(nw_pt_protect(&e->pt, GiB, 2 * MiB, &RO, &inv), 0);
	assert_int_equal(inv.kind, NW_INVAL_NONE);
	nw_test_pt_ok(&e->pt);
}

static void test_split_collapse(void **state)
{
	struct env *e = *state;
	struct nw_inval inv;
	uint64_t before[2];

	assert_int_equal(nw_pt_map(&e->pt, 4 * GiB, 2 * GiB, GiB, &RW, NW_MAP_MAX_1G, &inv), 0);
	assert_int_equal(nw_pt_split(&e->pt, 4 * GiB + 5 * MiB, &inv), 0);
	assert_int_equal(inv.kind, NW_INVAL_NONLEAF);
	assert_int_equal(e->pt.leaves[2], 512);
	assert_int_equal(nw_pt_split(&e->pt, 4 * GiB + 5 * MiB, &inv), 0);
	assert_int_equal(e->pt.leaves[1], 512);
	expect(&e->pt, 4 * GiB + 5 * MiB + 4096, true, 2 * GiB + 5 * MiB + 4096, 1);
	nw_test_pt_ok(&e->pt);
	assert_int_equal(nw_pt_split(&e->pt, 4 * GiB + 5 * MiB, &inv), -ENOENT);
	assert_int_equal(nw_pt_split(&e->pt, 9 * GiB, &inv), -ENOENT);

	before[0] = e->pt.table_pages;
	assert_int_equal(nw_pt_collapse(&e->pt, 4 * GiB + 5 * MiB, 2, &inv), 0);
	assert_int_equal(e->pt.table_pages, before[0] - 1);
	assert_int_equal(nw_pt_collapse(&e->pt, 4 * GiB, 3, &inv), 0);
	expect(&e->pt, 4 * GiB + 7, true, 2 * GiB + 7, 3);
	assert_int_equal(e->pt.leaves[1] + e->pt.leaves[2], 0);

	/* Not collapsible: one page with other rights. */
	assert_int_equal(nw_pt_protect(&e->pt, 4 * GiB, 4096, &RO, &inv), 0);
	before[1] = e->mem->frames_in_use;
	assert_int_equal(nw_pt_collapse(&e->pt, 4 * GiB, 2, &inv), -EINVAL);
	assert_int_equal(nw_pt_collapse(&e->pt, 4 * GiB, 4, &inv), -EINVAL);
	assert_int_equal(e->mem->frames_in_use, before[1]);
	nw_test_pt_ok(&e->pt);
}

static void test_replace(void **state)
{
	struct env *e = *state;
	struct nw_inval inv;

	assert_int_equal(nw_pt_map(&e->pt, 0, 0, 8 * MiB, &RW, NW_MAP_MAX_4K, &inv), 0);
	/* A 2 MiB leaf replaces a full page table, which is freed. */
	uint64_t tables = e->pt.table_pages;
	assert_int_equal(nw_pt_map(&e->pt, 2 * MiB, 64 * MiB, 2 * MiB, &RO, NW_MAP_MAX_2M | NW_MAP_REPLACE, &inv), 0);
	assert_int_equal(inv.kind, NW_INVAL_NONLEAF);
	assert_int_equal(e->pt.table_pages, tables - 1);
	expect(&e->pt, 3 * MiB, true, 65 * MiB, 2);
	/* A 4 KiB replace of a leaf is a leaf change. */
	assert_int_equal(nw_pt_map(&e->pt, 4096, 4096 * 100, 4096, &RO, NW_MAP_MAX_4K | NW_MAP_REPLACE, &inv), 0);
	assert_int_equal(inv.kind, NW_INVAL_LEAF);
	assert_int_equal(inv.start, 4096);
	assert_int_equal(inv.end, 8192);
	nw_test_pt_ok(&e->pt);
}

static void test_iterator(void **state)
{
	struct env *e = *state;
	struct nw_inval inv;
	struct nw_pt_iter it;
	uint64_t va[] = { 0x1000, 2 * MiB, GiB, 1ull << 39, 0xffff800000000000ull };
	int levels[] = { 1, 2, 3, 1, 1 };

	assert_int_equal(nw_pt_map(&e->pt, va[0], 0, 4096, &RW, NW_MAP_MAX_4K, &inv), 0);
	assert_int_equal(nw_pt_map(&e->pt, va[1], 0, 2 * MiB, &RW, NW_MAP_MAX_2M, &inv), 0);
	assert_int_equal(nw_pt_map(&e->pt, va[2], 0, GiB, &RW, NW_MAP_MAX_1G, &inv), 0);
	assert_int_equal(nw_pt_map(&e->pt, va[3], 0, 4096, &RW, NW_MAP_MAX_4K, &inv), 0);
	assert_int_equal(nw_pt_map(&e->pt, va[4], 0, 4096, &RW, NW_MAP_MAX_4K, &inv), 0);

	int n = 0, tables = 0;
	nw_pt_for_each(&it, &e->pt, 0xffff800000000000ull, 0) {
		if (!it.leaf) {
			tables++;
			continue;
		}
		assert_int_equal(it.va, va[4]);
		n++;
	}
	assert_int_equal(n, 1);
	assert_int_equal(tables, 3);

	n = 0;
	nw_pt_for_each(&it, &e->pt, 0, 1ull << 47) {
		if (!it.leaf)
			continue;
		assert_true(n < 4);
		assert_int_equal(it.va, va[n]);
		assert_int_equal(it.level, levels[n]);
		n++;
	}
	assert_int_equal(n, 4);

	/* A range that starts inside a large page still yields it. */
	nw_pt_for_each(&it, &e->pt, GiB + 4096, GiB + 8192) {
		if (it.leaf) {
			assert_int_equal(it.va, GiB);
			assert_int_equal(it.level, 3);
		}
	}
}

static void test_5level(void **state)
{
	struct env *e = *state;
	struct nw_inval inv;
	uint64_t va = 0x00ff000000000000ull; /* needs 57 bits */

	assert_int_equal(nw_pt_map(&e->pt, va, GiB, GiB, &RW, NW_MAP_MAX_1G, &inv), 0);
	expect(&e->pt, va + 42, true, GiB + 42, 3);
	assert_int_equal(nw_pt_map(&e->pt, 1ull << 56, 0, 4096, &RW, NW_MAP_MAX_4K, &inv), -ERANGE);
	assert_int_equal(nw_pt_map(&e->pt, 0xff00000000000000ull, 0, 4096, &RW, NW_MAP_MAX_4K, &inv), 0);
	nw_test_pt_ok(&e->pt);
}

/* A deliberately broken tree must fail the check: the check can fail. */
static void test_check_catches_corruption(void **state)
{
	struct env *e = *state;
	struct nw_inval inv;
	struct nw_pt_entry ent;
	char msg[256];

	assert_int_equal(nw_pt_map(&e->pt, 0, 0, 8192, &RW, NW_MAP_MAX_4K, &inv), 0);
	assert_int_equal(nw_pt_lookup(&e->pt, 0, &ent), 0);
	uint64_t *slot = nw_mem_map(e->mem, ent.entry_pa);
	uint64_t saved = *slot;

	*slot = saved | (1ull << 50); /* beyond MAXPHYADDR 46 */
	assert_int_equal(nw_pt_check(&e->pt, msg, sizeof(msg)), -EUCLEAN);
	assert_non_null(strstr(msg, "reserved"));
	*slot = 0; /* a leaf vanished behind the engine's back: counts disagree */
	assert_int_equal(nw_pt_check(&e->pt, msg, sizeof(msg)), -EUCLEAN);
	*slot = saved;
	nw_test_pt_ok(&e->pt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_map_page_sizes, setup4, teardown),
		cmocka_unit_test_setup_teardown(test_map_errors_change_nothing, setup4, teardown),
		cmocka_unit_test_setup_teardown(test_high_half, setup4, teardown),
		cmocka_unit_test_setup_teardown(test_unmap_frees_tables, setup4, teardown),
		cmocka_unit_test_setup_teardown(test_protect_splits_and_skips_holes, setup4, teardown),
		cmocka_unit_test_setup_teardown(test_split_collapse, setup4, teardown),
		cmocka_unit_test_setup_teardown(test_replace, setup4, teardown),
		cmocka_unit_test_setup_teardown(test_iterator, setup4, teardown),
		cmocka_unit_test_setup_teardown(test_5level, setup5, teardown),
		cmocka_unit_test_setup_teardown(test_check_catches_corruption, setup4, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
