/* SPDX-License-Identifier: MIT */
/*
 * The nw_npt handle: map, unmap, protect, lookup and nCR3, their error
 * paths (each leaving the tables byte-identical), and fault-injection
 * sweeps over every allocation of map, protect-with-split and unmap.
 */

#include <errno.h>
#include <string.h>

#include <nestwalk/npt.h>

#include "nw_snap.h"

#define KiB (1ull << 10)
#define MiB (1ull << 20)
#define GiB (1ull << 30)

struct env {
	struct nw_mem *mem;
	struct nw_npt npt;
};

static int setup_npt(void **state, int levels, bool nxe)
{
	static struct env env;
	memset(&env, 0, sizeof(env));
	env.mem = nw_test_arena(1ull << 32, 46);
	assert_int_equal(nw_npt_init(&env.npt, env.mem, levels, nxe), 0);
	*state = &env;
	return 0;
}

static int setup4(void **state) { return setup_npt(state, 4, true); }
static int setup5(void **state) { return setup_npt(state, 5, true); }
static int setup4_nonx(void **state) { return setup_npt(state, 4, false); }

static int teardown(void **state)
{
	struct env *e = *state;
	nw_npt_destroy(&e->npt);
	nw_test_arena_done(e->mem);
	return 0;
}

static void expect(const struct nw_npt *npt, uint64_t gpa, uint64_t hpa, int level, uint32_t prot)
{
	struct nw_pt_entry ent;
	assert_int_equal(nw_npt_lookup(npt, gpa, &ent), 0);
	assert_true(ent.present);
	assert_int_equal(ent.pa, hpa);
	assert_int_equal(ent.level, level);
	assert_int_equal(ent.attr.prot, prot);
}

static void test_init(void **state)
{
	struct nw_mem *mem = nw_test_arena(1ull << 24, 46);
	struct nw_npt npt;

	assert_int_equal(nw_npt_init(&npt, mem, 3, true), -EINVAL);
	assert_int_equal(nw_npt_init(&npt, NULL, 4, true), -EINVAL);
	assert_int_equal(nw_npt_init(NULL, mem, 4, true), -EINVAL);
	nw_mem_fail_nth(mem, 1);
	assert_int_equal(nw_npt_init(&npt, mem, 4, true), -ENOMEM);
	assert_int_equal(mem->frames_in_use, 0);
	assert_int_equal(nw_npt_init(&npt, mem, 5, false), 0);
	assert_int_equal(nw_npt_ncr3(&npt), npt.pt.root);
	assert_int_not_equal(nw_npt_ncr3(&npt), 0);
	assert_int_equal(nw_npt_mode(&npt), 0);
	npt.nxe = true;
	assert_int_equal(nw_npt_mode(&npt), NW_FMT_NXE);
	nw_npt_destroy(&npt);
	assert_int_equal(mem->frames_in_use, 0);
	nw_mem_destroy(mem);
}

static void test_map_lookup(void **state)
{
	struct env *e = *state;
	struct nw_inval inv;
	struct nw_pt_entry ent;
	const uint32_t U = NW_PROT_U;

	uint64_t gpa = GiB - 2 * MiB - 4 * KiB, hpa = 3 * GiB - 2 * MiB - 4 * KiB;
	assert_int_equal(nw_npt_map(&e->npt, gpa, hpa, 4 * KiB + 2 * MiB + GiB, NW_PROT_RWX, 0,
				    NW_MAP_MAX_1G, &inv), 0);
	assert_int_equal(inv.kind, NW_INVAL_NONE);
	/* Every leaf is a user page: nested accesses are user accesses. */
	expect(&e->npt, gpa, hpa, 1, NW_PROT_RWX | U);
	expect(&e->npt, gpa + 4 * KiB, hpa + 4 * KiB, 2, NW_PROT_RWX | U);
	expect(&e->npt, GiB + 5, 3 * GiB + 5, 3, NW_PROT_RWX | U);
	assert_int_equal(nw_npt_lookup(&e->npt, GiB, &ent), 0);
	assert_int_equal(ent.entry, 3 * GiB | NW_PTE_P | NW_PTE_RW | NW_PTE_US | NW_PTE_PS);

	/* Read-only, no-execute (host NXE), PAT index 5 (PWT + PAT). */
	assert_int_equal(nw_npt_map(&e->npt, 8 * GiB, 0x9000, 4 * KiB, NW_PROT_R, 5,
				    NW_MAP_MAX_4K, &inv), 0);
	assert_int_equal(nw_npt_lookup(&e->npt, 8 * GiB, &ent), 0);
	assert_int_equal(ent.entry, 0x9000 | NW_PTE_P | NW_PTE_US | NW_PTE_XD | NW_PTE_PWT |
				    NW_PTE_PAT_4K);
	assert_int_equal(ent.attr.memtype, 5);
	nw_test_pt_ok(&e->npt.pt);
}

static void test_map_errors(void **state)
{
	struct env *e = *state;
	struct nw_snap s;
	struct nw_inval inv;

	assert_int_equal(nw_npt_map(&e->npt, 2 * MiB, 2 * MiB, 2 * MiB, NW_PROT_RWX, 0,
				    NW_MAP_MAX_2M, NULL), 0);
	nw_snap_take(&s, &e->npt.pt);
#define MAP(gpa, hpa, len, prot, pat, fl) nw_npt_map(&e->npt, gpa, hpa, len, prot, pat, fl, &inv)
	assert_int_equal(MAP(GiB + 4, GiB, 4 * KiB, NW_PROT_R, 0, NW_MAP_MAX_4K), -EINVAL);
	assert_int_equal(MAP(GiB, GiB + 4, 4 * KiB, NW_PROT_R, 0, NW_MAP_MAX_4K), -EINVAL);
	assert_int_equal(MAP(GiB, GiB, 100, NW_PROT_R, 0, NW_MAP_MAX_4K), -EINVAL);
	assert_int_equal(MAP(GiB, GiB, 0, NW_PROT_R, 0, NW_MAP_MAX_4K), -EINVAL);
	/* x86 entries are always readable; unknown rights; PAT index beyond 7. */
	assert_int_equal(MAP(GiB, GiB, 4 * KiB, NW_PROT_W, 0, NW_MAP_MAX_4K), -EINVAL);
	assert_int_equal(MAP(GiB, GiB, 4 * KiB, 0, 0, NW_MAP_MAX_4K), -EINVAL);
	assert_int_equal(MAP(GiB, GiB, 4 * KiB, NW_PROT_R | 0x40, 0, NW_MAP_MAX_4K), -EINVAL);
	assert_int_equal(MAP(GiB, GiB, 4 * KiB, NW_PROT_R, 8, NW_MAP_MAX_4K), -EINVAL);
	assert_int_equal(MAP(GiB, GiB, 4 * KiB, NW_PROT_R, 0, 0), -EINVAL);
	assert_int_equal(MAP(GiB, GiB, 4 * KiB, NW_PROT_R, 0, NW_MAP_MAX_4K | 0x8000), -EINVAL);
	assert_int_equal(MAP(1ull << 48, GiB, 4 * KiB, NW_PROT_R, 0, NW_MAP_MAX_4K), -ERANGE);
	assert_int_equal(MAP(GiB, 1ull << 46, 4 * KiB, NW_PROT_R, 0, NW_MAP_MAX_4K), -ERANGE);
	assert_int_equal(MAP(2 * MiB + 4 * KiB, 0, 4 * KiB, NW_PROT_R, 0, NW_MAP_MAX_4K), -EEXIST);
	assert_int_equal(MAP(0, 0, 4 * MiB, NW_PROT_R, 0, NW_MAP_MAX_2M), -EEXIST);
#undef MAP
	assert_int_equal(nw_npt_protect(&e->npt, 2 * MiB, 4 * KiB, NW_PROT_W, 0, &inv), -EINVAL);
	assert_int_equal(nw_npt_protect(&e->npt, 2 * MiB, 4 * KiB, NW_PROT_R, 9, &inv), -EINVAL);
	assert_int_equal(nw_npt_protect(&e->npt, 2 * MiB + 1, 4 * KiB, NW_PROT_R, 0, &inv), -EINVAL);
	assert_int_equal(nw_npt_protect(&e->npt, 1ull << 48, 4 * KiB, NW_PROT_R, 0, &inv), -ERANGE);
	assert_int_equal(nw_npt_unmap(&e->npt, 2 * MiB, 5, &inv), -EINVAL);
	assert_int_equal(nw_npt_unmap(&e->npt, 1ull << 48, 4 * KiB, &inv), -ERANGE);
	nw_snap_expect(&s, &e->npt.pt);
	nw_snap_free(&s);
}

/* Without host NXE a page cannot be made non-executable: XD would be reserved. */
static void test_no_nxe(void **state)
{
	struct env *e = *state;
	struct nw_pt_entry ent;

	assert_int_equal(nw_npt_map(&e->npt, 0, 0, 4 * KiB, NW_PROT_RW, 0, NW_MAP_MAX_4K, NULL),
			 -EINVAL);
	assert_int_equal(e->npt.pt.table_pages, 1);
	assert_int_equal(nw_npt_map(&e->npt, 0, 0, 4 * KiB, NW_PROT_R | NW_PROT_X, 0,
				    NW_MAP_MAX_4K, NULL), 0);
	assert_int_equal(nw_npt_lookup(&e->npt, 0, &ent), 0);
	assert_false(ent.entry & NW_PTE_XD);
	assert_int_equal(nw_npt_protect(&e->npt, 0, 4 * KiB, NW_PROT_R, 0, NULL), -EINVAL);
	nw_test_pt_ok(&e->npt.pt);
}

static void test_protect_unmap(void **state)
{
	struct env *e = *state;
	struct nw_inval inv;
	struct nw_pt_entry ent;

	assert_int_equal(nw_npt_map(&e->npt, GiB, GiB, GiB, NW_PROT_RWX, 0, NW_MAP_MAX_1G, NULL), 0);
	assert_int_equal(nw_npt_protect(&e->npt, GiB + 2 * MiB, 4 * KiB, NW_PROT_R, 0, &inv), 0);
	assert_int_equal(inv.kind, NW_INVAL_NONLEAF);
	expect(&e->npt, GiB + 2 * MiB, GiB + 2 * MiB, 1, NW_PROT_R | NW_PROT_U);
	expect(&e->npt, GiB + 2 * MiB + 4 * KiB, GiB + 2 * MiB + 4 * KiB, 1,
	       NW_PROT_RWX | NW_PROT_U);
	expect(&e->npt, GiB + 4 * MiB, GiB + 4 * MiB, 2, NW_PROT_RWX | NW_PROT_U);
	assert_int_equal(nw_npt_unmap(&e->npt, GiB + 2 * MiB, 4 * KiB, &inv), 0);
	assert_int_equal(inv.kind, NW_INVAL_LEAF);
	assert_int_equal(nw_npt_lookup(&e->npt, GiB + 2 * MiB, &ent), 0);
	assert_false(ent.present);
	nw_test_pt_ok(&e->npt.pt);
	assert_int_equal(nw_npt_unmap(&e->npt, 0, 4 * GiB, &inv), 0);
	assert_int_equal(e->mem->frames_in_use, 1);
}

/* ---- fault injection ---- */

static int run_op(void *ctx)
{
	struct nw_snap_op *o = ctx;
	struct nw_inval inv;

	switch (o->kind) {
	case NW_SNAP_MAP:
		return nw_npt_map(o->h, o->gpa, o->hpa, o->len, NW_PROT_RWX, 0, o->flags, &inv);
	case NW_SNAP_PROTECT:
		return nw_npt_protect(o->h, o->gpa, o->len, NW_PROT_R, 1, &inv);
	default:
		return nw_npt_unmap(o->h, o->gpa, o->len, &inv);
	}
}

static void protected_ok(void *h, uint64_t gpa)
{
	expect(h, gpa, gpa, 1, NW_PROT_R | NW_PROT_U);
}

static void test_fault_injection(void **state)
{
	struct env *e = *state;
	struct nw_snap_nested t = { &e->npt.pt, &e->npt, run_op, protected_ok };

	nw_snap_nested_sweeps(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init),
		cmocka_unit_test_setup_teardown(test_map_lookup, setup4, teardown),
		cmocka_unit_test_setup_teardown(test_map_lookup, setup5, teardown),
		cmocka_unit_test_setup_teardown(test_map_errors, setup4, teardown),
		cmocka_unit_test_setup_teardown(test_no_nxe, setup4_nonx, teardown),
		cmocka_unit_test_setup_teardown(test_protect_unmap, setup4, teardown),
		cmocka_unit_test_setup_teardown(test_fault_injection, setup4, teardown),
		cmocka_unit_test_setup_teardown(test_fault_injection, setup5, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
