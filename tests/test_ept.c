/* SPDX-License-Identifier: MIT */
/*
 * The nw_ept handle: map, unmap, protect, lookup and EPTP, their error
 * paths (each leaving the tables byte-identical), and fault-injection
 * sweeps over every allocation of map, protect-with-split and unmap.
 */

#include <errno.h>
#include <string.h>

#include <nestwalk/ept.h>

#include "nw_snap.h"

#define KiB (1ull << 10)
#define MiB (1ull << 20)
#define GiB (1ull << 30)

struct env {
	struct nw_mem *mem;
	struct nw_ept ept;
};

static int setup_caps(void **state, const struct nw_ept_caps *caps, int levels)
{
	static struct env env;
	memset(&env, 0, sizeof(env));
	env.mem = nw_test_arena(1ull << 32, 46);
	assert_int_equal(nw_ept_init(&env.ept, env.mem, caps, levels), 0);
	*state = &env;
	return 0;
}

static int setup4(void **state) { return setup_caps(state, NULL, 4); }
static int setup5(void **state) { return setup_caps(state, NULL, 5); }

static int setup_small(void **state)
{
	struct nw_ept_caps caps;
	nw_ept_caps_default(&caps);
	caps.page_1g = false;
	caps.exec_only = false;
	return setup_caps(state, &caps, 4);
}

static int teardown(void **state)
{
	struct env *e = *state;
	nw_ept_destroy(&e->ept);
	nw_test_arena_done(e->mem);
	return 0;
}

static void expect(const struct nw_ept *ept, uint64_t gpa, uint64_t hpa, int level, uint32_t prot,
		   unsigned mt)
{
	struct nw_pt_entry ent;
	assert_int_equal(nw_ept_lookup(ept, gpa, &ent), 0);
	assert_true(ent.present);
	assert_int_equal(ent.pa, hpa);
	assert_int_equal(ent.level, level);
	assert_int_equal(ent.attr.prot, prot);
	assert_int_equal(ent.attr.memtype, mt);
}

static void test_init_errors(void **state)
{
	struct nw_mem *mem = nw_test_arena(1ull << 24, 46);
	struct nw_ept ept;
	struct nw_ept_caps caps;

	assert_int_equal(nw_ept_init(&ept, mem, NULL, 3), -EINVAL);
	assert_int_equal(nw_ept_init(&ept, mem, NULL, 6), -EINVAL);
	assert_int_equal(nw_ept_init(&ept, NULL, NULL, 4), -EINVAL);
	assert_int_equal(nw_ept_init(NULL, mem, NULL, 4), -EINVAL);
	nw_ept_caps_default(&caps);
	caps.walk5 = false;
	assert_int_equal(nw_ept_init(&ept, mem, &caps, 5), -EINVAL);
	caps = (struct nw_ept_caps){ .walk5 = true };
	assert_int_equal(nw_ept_init(&ept, mem, &caps, 4), -EINVAL);
	assert_int_equal(mem->frames_in_use, 0);
	/* The root itself can fail to be had. */
	nw_mem_fail_nth(mem, 1);
	assert_int_equal(nw_ept_init(&ept, mem, NULL, 4), -ENOMEM);
	assert_int_equal(mem->frames_in_use, 0);
	assert_int_equal(nw_ept_init(&ept, mem, &caps, 5), 0);
	assert_int_equal(ept.pt.levels, 5);
	nw_ept_destroy(&ept);
	assert_int_equal(mem->frames_in_use, 0);
	nw_mem_destroy(mem);
}

static void test_map_lookup(void **state)
{
	struct env *e = *state;
	struct nw_inval inv;
	struct nw_pt_entry ent;

	/* 4 KiB + 2 MiB + 1 GiB + 4 KiB, aligned with the HPA. */
	uint64_t gpa = GiB - 2 * MiB - 4 * KiB, hpa = 3 * GiB - 2 * MiB - 4 * KiB;
	assert_int_equal(nw_ept_map(&e->ept, gpa, hpa, 4 * KiB + 2 * MiB + GiB + 4 * KiB,
				    NW_PROT_RWX, NW_EPT_MT_WB, NW_MAP_MAX_1G, &inv), 0);
	assert_int_equal(inv.kind, NW_INVAL_NONE);
	expect(&e->ept, gpa, hpa, 1, NW_PROT_RWX, NW_EPT_MT_WB);
	expect(&e->ept, gpa + 4 * KiB + 77, hpa + 4 * KiB + 77, 2, NW_PROT_RWX, NW_EPT_MT_WB);
	expect(&e->ept, GiB + 12345, 3 * GiB + 12345, 3, NW_PROT_RWX, NW_EPT_MT_WB);
	expect(&e->ept, 2 * GiB, 4 * GiB, 1, NW_PROT_RWX, NW_EPT_MT_WB);
	assert_int_equal(nw_ept_lookup(&e->ept, 2 * GiB + 4 * KiB, &ent), 0);
	assert_false(ent.present);

	/* The leaves are real EPT entries. */
	assert_int_equal(nw_ept_lookup(&e->ept, GiB, &ent), 0);
	assert_int_equal(ent.entry, 3 * GiB | NW_EPT_RWX | NW_EPT_PS | (6ull << NW_EPT_MT_SHIFT));

	/* Attributes: read-only UC with ignore-PAT and suppress-#VE, execute-only. */
	assert_int_equal(nw_ept_map(&e->ept, 8 * GiB, 8 * GiB, 4 * KiB, NW_PROT_R, NW_EPT_MT_UC,
				    NW_MAP_MAX_4K | NW_EPT_MAP_IGNORE_PAT | NW_EPT_MAP_SUPPRESS_VE,
				    &inv), 0);
	assert_int_equal(nw_ept_lookup(&e->ept, 8 * GiB, &ent), 0);
	assert_true(ent.attr.ignore_pat);
	assert_true(ent.attr.suppress_ve);
	assert_int_equal(ent.entry, 8 * GiB | NW_EPT_R | NW_EPT_IPAT | NW_EPT_SVE);
	assert_int_equal(nw_ept_map(&e->ept, 8 * GiB + 4 * KiB, 0x5000, 4 * KiB, NW_PROT_X,
				    NW_EPT_MT_WT, NW_MAP_MAX_4K, &inv), 0);
	expect(&e->ept, 8 * GiB + 4 * KiB, 0x5000, 1, NW_PROT_X, NW_EPT_MT_WT);
	nw_test_pt_ok(&e->ept.pt);

	/* Replace: a 4 KiB leaf with new rights. */
	assert_int_equal(nw_ept_map(&e->ept, 8 * GiB, 0x9000, 4 * KiB, NW_PROT_RW, NW_EPT_MT_WC,
				    NW_MAP_MAX_4K | NW_MAP_REPLACE, &inv), 0);
	assert_int_equal(inv.kind, NW_INVAL_LEAF);
	expect(&e->ept, 8 * GiB, 0x9000, 1, NW_PROT_RW, NW_EPT_MT_WC);
	nw_test_pt_ok(&e->ept.pt);
}

/* Without the 1 GiB capability a 1 GiB range becomes 2 MiB leaves. */
static void test_caps_limit_page_size(void **state)
{
	struct env *e = *state;

	assert_int_equal(nw_ept_map(&e->ept, GiB, GiB, GiB, NW_PROT_RW, NW_EPT_MT_WB,
				    NW_MAP_MAX_1G, NULL), 0);
	expect(&e->ept, GiB + 5, GiB + 5, 2, NW_PROT_RW, NW_EPT_MT_WB);
	assert_int_equal(e->ept.pt.leaves[2], 512);
	assert_int_equal(e->ept.pt.leaves[3], 0);
	/* And without execute-only, --x cannot be mapped. */
	assert_int_equal(nw_ept_map(&e->ept, 0, 0, 4 * KiB, NW_PROT_X, NW_EPT_MT_WB,
				    NW_MAP_MAX_4K, NULL), -EINVAL);
	nw_test_pt_ok(&e->ept.pt);
}

/* Each error leaves the tables exactly as they were. */
static void test_map_errors(void **state)
{
	struct env *e = *state;
	struct nw_snap s;
	struct nw_inval inv;

	assert_int_equal(nw_ept_map(&e->ept, 2 * MiB, 2 * MiB, 2 * MiB, NW_PROT_RWX, NW_EPT_MT_WB,
				    NW_MAP_MAX_2M, NULL), 0);
	nw_snap_take(&s, &e->ept.pt);
#define MAP(gpa, hpa, len, prot, mt, fl) nw_ept_map(&e->ept, gpa, hpa, len, prot, mt, fl, &inv)
	/* Misaligned or empty: -EINVAL. */
	assert_int_equal(MAP(GiB + 1, GiB, 4 * KiB, NW_PROT_R, 6, NW_MAP_MAX_4K), -EINVAL);
	assert_int_equal(MAP(GiB, GiB + 8, 4 * KiB, NW_PROT_R, 6, NW_MAP_MAX_4K), -EINVAL);
	assert_int_equal(MAP(GiB, GiB, 4 * KiB + 1, NW_PROT_R, 6, NW_MAP_MAX_4K), -EINVAL);
	assert_int_equal(MAP(GiB, GiB, 0, NW_PROT_R, 6, NW_MAP_MAX_4K), -EINVAL);
	/* Bad rights: nothing, W without R, U without MBEC, unknown bits. */
	assert_int_equal(MAP(GiB, GiB, 4 * KiB, 0, 6, NW_MAP_MAX_4K), -EINVAL);
	assert_int_equal(MAP(GiB, GiB, 4 * KiB, NW_PROT_W, 6, NW_MAP_MAX_4K), -EINVAL);
	assert_int_equal(MAP(GiB, GiB, 4 * KiB, NW_PROT_W | NW_PROT_X, 6, NW_MAP_MAX_4K), -EINVAL);
	assert_int_equal(MAP(GiB, GiB, 4 * KiB, NW_PROT_R | NW_PROT_U, 6, NW_MAP_MAX_4K), -EINVAL);
	assert_int_equal(MAP(GiB, GiB, 4 * KiB, NW_PROT_R | 0x100, 6, NW_MAP_MAX_4K), -EINVAL);
	/* Bad memory types. */
	static const unsigned bad_mt[] = { 2, 3, 7, 8, 0x106 };
	for (size_t i = 0; i < sizeof(bad_mt) / sizeof(bad_mt[0]); i++)
		assert_int_equal(MAP(GiB, GiB, 4 * KiB, NW_PROT_R, bad_mt[i], NW_MAP_MAX_4K), -EINVAL);
	/* Bad flags: no page size, unknown bits. */
	assert_int_equal(MAP(GiB, GiB, 4 * KiB, NW_PROT_R, 6, 0), -EINVAL);
	assert_int_equal(MAP(GiB, GiB, 4 * KiB, NW_PROT_R, 6, NW_MAP_MAX_4K | 0x40), -EINVAL);
	/* Beyond the 48-bit GPA width of a 4-level walk, or HPA beyond MAXPHYADDR 46. */
	assert_int_equal(MAP(1ull << 48, GiB, 4 * KiB, NW_PROT_R, 6, NW_MAP_MAX_4K), -ERANGE);
	assert_int_equal(MAP((1ull << 48) - 4 * KiB, GiB, 8 * KiB, NW_PROT_R, 6, NW_MAP_MAX_4K),
			 -ERANGE);
	assert_int_equal(MAP(GiB, 1ull << 46, 4 * KiB, NW_PROT_R, 6, NW_MAP_MAX_4K), -ERANGE);
	assert_int_equal(MAP(GiB, (1ull << 46) - 4 * KiB, 8 * KiB, NW_PROT_R, 6, NW_MAP_MAX_4K),
			 -ERANGE);
	/* Overlap, partial or whole. */
	assert_int_equal(MAP(2 * MiB, 0, 4 * KiB, NW_PROT_R, 6, NW_MAP_MAX_4K), -EEXIST);
	assert_int_equal(MAP(MiB, 0, 2 * MiB, NW_PROT_R, 6, NW_MAP_MAX_4K), -EEXIST);
	assert_int_equal(MAP(0, 0, GiB, NW_PROT_R, 6, NW_MAP_MAX_1G), -EEXIST);
	assert_int_equal(inv.kind, NW_INVAL_NONE);
#undef MAP
	nw_snap_expect(&s, &e->ept.pt);
	nw_snap_free(&s);
	nw_test_pt_ok(&e->ept.pt);
}

static void test_protect(void **state)
{
	struct env *e = *state;
	struct nw_inval inv;
	struct nw_snap s;

	assert_int_equal(nw_ept_map(&e->ept, GiB, 2 * GiB, GiB, NW_PROT_RWX, NW_EPT_MT_WB,
				    NW_MAP_MAX_1G, NULL), 0);
	/* One 4 KiB page inside a 1 GiB leaf: split twice. */
	assert_int_equal(nw_ept_protect(&e->ept, GiB + 3 * MiB, 4 * KiB, NW_PROT_R, NW_EPT_MT_UC,
					NW_EPT_MAP_SUPPRESS_VE, &inv), 0);
	assert_int_equal(inv.kind, NW_INVAL_NONLEAF);
	expect(&e->ept, GiB + 3 * MiB, 2 * GiB + 3 * MiB, 1, NW_PROT_R, NW_EPT_MT_UC);
	expect(&e->ept, GiB + 3 * MiB + 4 * KiB, 2 * GiB + 3 * MiB + 4 * KiB, 1, NW_PROT_RWX,
	       NW_EPT_MT_WB);
	expect(&e->ept, GiB + 5 * MiB, 2 * GiB + 5 * MiB, 2, NW_PROT_RWX, NW_EPT_MT_WB);
	nw_test_pt_ok(&e->ept.pt);

	/* Errors change nothing. */
	nw_snap_take(&s, &e->ept.pt);
	assert_int_equal(nw_ept_protect(&e->ept, GiB, 4 * KiB, NW_PROT_W, 6, 0, &inv), -EINVAL);
	assert_int_equal(nw_ept_protect(&e->ept, GiB, 4 * KiB, NW_PROT_R, 3, 0, &inv), -EINVAL);
	assert_int_equal(nw_ept_protect(&e->ept, GiB, 4 * KiB, NW_PROT_R, 6, NW_MAP_MAX_4K, &inv),
			 -EINVAL);
	assert_int_equal(nw_ept_protect(&e->ept, GiB + 1, 4 * KiB, NW_PROT_R, 6, 0, &inv), -EINVAL);
	assert_int_equal(nw_ept_protect(&e->ept, 1ull << 48, 4 * KiB, NW_PROT_R, 6, 0, &inv),
			 -ERANGE);
	nw_snap_expect(&s, &e->ept.pt);
	nw_snap_free(&s);

	/* Holes are skipped; execute-only works with the capability. */
	assert_int_equal(nw_ept_protect(&e->ept, 0, 2 * GiB, NW_PROT_X, NW_EPT_MT_WB, 0, &inv), 0);
	expect(&e->ept, GiB + 3 * MiB, 2 * GiB + 3 * MiB, 1, NW_PROT_X, NW_EPT_MT_WB);
	expect(&e->ept, GiB + 700 * MiB, 2 * GiB + 700 * MiB, 2, NW_PROT_X, NW_EPT_MT_WB);
	nw_test_pt_ok(&e->ept.pt);
}

static void test_unmap(void **state)
{
	struct env *e = *state;
	struct nw_inval inv;
	struct nw_pt_entry ent;

	assert_int_equal(nw_ept_map(&e->ept, 0, 0, 4 * MiB, NW_PROT_RW, NW_EPT_MT_WB,
				    NW_MAP_MAX_2M, NULL), 0);
	/* A 4 KiB hole in a 2 MiB leaf splits it. */
	assert_int_equal(nw_ept_unmap(&e->ept, 2 * MiB + 8 * KiB, 4 * KiB, &inv), 0);
	assert_int_equal(inv.kind, NW_INVAL_NONLEAF);
	assert_int_equal(nw_ept_lookup(&e->ept, 2 * MiB + 8 * KiB, &ent), 0);
	assert_false(ent.present);
	expect(&e->ept, 2 * MiB + 12 * KiB, 2 * MiB + 12 * KiB, 1, NW_PROT_RW, NW_EPT_MT_WB);
	assert_int_equal(nw_ept_unmap(&e->ept, 0, 1ull << 40, &inv), 0);
	assert_int_equal(e->ept.pt.table_pages, 1);
	assert_int_equal(e->mem->frames_in_use, 1);
	assert_int_equal(nw_ept_unmap(&e->ept, 3, 4 * KiB, &inv), -EINVAL);
	assert_int_equal(nw_ept_unmap(&e->ept, 1ull << 48, 4 * KiB, &inv), -ERANGE);
	nw_test_pt_ok(&e->ept.pt);
}

static void test_eptp(void **state)
{
	struct env *e = *state;
	uint64_t eptp;

	assert_int_equal(nw_ept_eptp(&e->ept, false, &eptp), 0);
	assert_int_equal(eptp, e->ept.pt.root | NW_EPT_MT_WB | ((uint64_t)(e->ept.pt.levels - 1) << 3));
	assert_int_equal(nw_ept_eptp(&e->ept, true, &eptp), 0);
	assert_true(nw_ept_eptp_ad(eptp));
	assert_int_equal(nw_ept_eptp_root(eptp), e->ept.pt.root);
	assert_int_equal(nw_ept_eptp_levels(eptp), e->ept.pt.levels);
	assert_int_equal(nw_ept_eptp_check(eptp, &e->ept.caps, 46), 0);
	/* Without A/D or WB: refused, or UC. */
	e->ept.caps.ad = false;
	assert_int_equal(nw_ept_eptp(&e->ept, true, &eptp), -EINVAL);
	e->ept.caps.eptp_wb = false;
	assert_int_equal(nw_ept_eptp(&e->ept, false, &eptp), 0);
	assert_int_equal(nw_ept_eptp_memtype(eptp), NW_EPT_MT_UC);
	e->ept.caps.eptp_uc = false;
	assert_int_equal(nw_ept_eptp(&e->ept, false, &eptp), -EINVAL);
	nw_ept_caps_default(&e->ept.caps);
}

/* ---- fault injection ---- */

static int run_op(void *ctx)
{
	struct nw_snap_op *o = ctx;
	struct nw_inval inv;

	switch (o->kind) {
	case NW_SNAP_MAP:
		return nw_ept_map(o->h, o->gpa, o->hpa, o->len, NW_PROT_RW, NW_EPT_MT_WB, o->flags, &inv);
	case NW_SNAP_PROTECT:
		return nw_ept_protect(o->h, o->gpa, o->len, NW_PROT_R, NW_EPT_MT_UC, 0, &inv);
	default:
		return nw_ept_unmap(o->h, o->gpa, o->len, &inv);
	}
}

static void protected_ok(void *h, uint64_t gpa)
{
	expect(h, gpa, gpa, 1, NW_PROT_R, NW_EPT_MT_UC);
}

static void test_fault_injection(void **state)
{
	struct env *e = *state;
	struct nw_snap_nested t = { &e->ept.pt, &e->ept, run_op, protected_ok };

	nw_snap_nested_sweeps(&t);
}

/* Negative control: the snapshot notices a one-bit change and a leaked frame. */
static void test_snapshot_negative_control(void **state)
{
	struct env *e = *state;
	struct nw_snap s;
	struct nw_pt_entry ent;

	assert_int_equal(nw_ept_map(&e->ept, 0, 0, 4 * KiB, NW_PROT_RW, 6, NW_MAP_MAX_4K, NULL), 0);
	nw_snap_take(&s, &e->ept.pt);
	assert_int_equal(nw_ept_lookup(&e->ept, 0, &ent), 0);
	uint64_t *p = nw_mem_map(e->mem, ent.entry_pa);
	*p ^= NW_EPT_A;
	struct nw_snap now;
	nw_snap_take(&now, &e->ept.pt);
	assert_int_not_equal(memcmp(now.page, s.page, s.n * sizeof(*s.page)), 0);
	nw_snap_free(&now);
	*p ^= NW_EPT_A;
	uint64_t leak;
	assert_int_equal(nw_mem_alloc(e->mem, &leak), 0);
	nw_snap_take(&now, &e->ept.pt);
	assert_int_not_equal(now.frames_in_use, s.frames_in_use);
	nw_snap_free(&now);
	nw_mem_free(e->mem, leak);
	nw_snap_expect(&s, &e->ept.pt);
	nw_snap_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_errors),
		cmocka_unit_test_setup_teardown(test_map_lookup, setup4, teardown),
		cmocka_unit_test_setup_teardown(test_map_lookup, setup5, teardown),
		cmocka_unit_test_setup_teardown(test_caps_limit_page_size, setup_small, teardown),
		cmocka_unit_test_setup_teardown(test_map_errors, setup4, teardown),
		cmocka_unit_test_setup_teardown(test_protect, setup4, teardown),
		cmocka_unit_test_setup_teardown(test_unmap, setup4, teardown),
		cmocka_unit_test_setup_teardown(test_eptp, setup4, teardown),
		cmocka_unit_test_setup_teardown(test_eptp, setup5, teardown),
		cmocka_unit_test_setup_teardown(test_fault_injection, setup4, teardown),
		cmocka_unit_test_setup_teardown(test_fault_injection, setup5, teardown),
		cmocka_unit_test_setup_teardown(test_snapshot_negative_control, setup4, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
