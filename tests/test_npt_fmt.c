/* SPDX-License-Identifier: MIT */
/*
 * NPT nested-page-fault exit information at the hook level, against the
 * FACTS §5 svm_npt table row by row: a small NPT built with nw_npt, a real
 * nested walk (nw_walk_tables) under the host's mode, then the format's
 * nested_permit and nested_fault hooks as the 2D walker calls them.
 */

#include <errno.h>
#include <string.h>

#include <nestwalk/npt.h>

#include "nw_test.h"

#define GCR3 0x40000000ull      /* the guest's PML4 page (its entry 0 is read first) */
#define DATA 0x40201000ull      /* a guest data page, under the same PDPTE and PML4E */
#define DATA_HPA 0x7654000ull
#define GCR3_HPA 0x1234000ull
#define GLA 0x401000ull

struct env {
	struct nw_mem *mem;
	struct nw_npt npt;
	unsigned mode;          /* host NW_FMT_NXE / NW_FMT_SMEP */
	/* Entries changed by hand, and their old values, restored before destroy. */
	unsigned n_saved;
	uint64_t *saved_at[8];
	uint64_t saved[8];
};

static void env_init(struct env *e, bool nxe, bool smep)
{
	memset(e, 0, sizeof(*e));
	e->mem = nw_test_arena(1ull << 30, 46);
	assert_int_equal(nw_npt_init(&e->npt, e->mem, 4, nxe), 0);
	e->mode = nw_npt_mode(&e->npt) | (smep ? NW_FMT_SMEP : 0);
	assert_int_equal(nw_npt_map(&e->npt, GCR3, GCR3_HPA, 4096, NW_PROT_RWX, 0, NW_MAP_MAX_4K,
				    NULL), 0);
	assert_int_equal(nw_npt_map(&e->npt, DATA, DATA_HPA, 8192, NW_PROT_RWX, 0, NW_MAP_MAX_4K,
				    NULL), 0);
}

static void env_fini(struct env *e)
{
	while (e->n_saved--)
		*e->saved_at[e->n_saved] = e->saved[e->n_saved];
	nw_npt_destroy(&e->npt);
	nw_test_arena_done(e->mem);
}

/*
 * The entry at `level` on the nested path of gpa, for the test to change by
 * hand; env_fini puts it back, so that the tree can be destroyed.
 */
static uint64_t *entry_at(struct env *e, uint64_t gpa, int level)
{
	struct nw_walk1d hw;

	nw_walk_tables(&e->npt.fmt, &e->npt.pt.acc, e->npt.pt.root, 4, gpa, NW_FMT_NXE,
		       NW_DIM_HOST, NULL, &hw);
	assert_true(hw.n > 4 - level);
	uint64_t *p = nw_mem_map(e->mem, hw.entry_pa[4 - level]);
	assert_true(e->n_saved < 8);
	e->saved_at[e->n_saved] = p;
	e->saved[e->n_saved++] = *p;
	return p;
}

static struct nw_nested_req data_req(unsigned access)
{
	return (struct nw_nested_req){
		.gpa = DATA + 0x40, .gla = GLA + 0x40, .access = access, .final = true,
		.guest_prot = NW_PROT_RWX | NW_PROT_U,
	};
}

/* A guest page-table access: always a write under NPT. */
static struct nw_nested_req pt_req(uint64_t gpa)
{
	return (struct nw_nested_req){
		.gpa = gpa, .gla = GLA, .access = NW_ACC_WRITE, .pt_read_write = true,
	};
}

/* Walk and apply the hooks: 0 when allowed, else EXITINFO1 (with info2 checked). */
static uint64_t outcome(struct env *e, const struct nw_nested_req *rq, struct nw_walk *w)
{
	const struct nw_fmt *f = &e->npt.fmt;
	struct nw_walk1d hw;

	memset(w, 0, sizeof(*w));
	nw_walk_tables(f, &e->npt.pt.acc, e->npt.pt.root, 4, rq->gpa, e->mode, NW_DIM_HOST, w, &hw);
	if (hw.status == NW_W1D_OK && f->nested_permit(f, &hw, rq, e->mode))
		return 0;
	f->nested_fault(f, &hw, rq, e->mode, w);
	assert_int_equal(w->fault, NW_FAULT_NPF);
	assert_int_equal(w->exit.info2, rq->gpa);
	assert_int_equal(w->exit.gpa, rq->gpa);
	assert_int_equal(w->exit.final, rq->final);
	assert_int_equal(w->exit.access, rq->access);
	assert_int_equal(w->exit.level, hw.level);
	assert_int_equal(w->exit.info1, nw_npt_exitinfo1(&hw, rq, e->mode));
	return w->exit.info1;
}

static void test_format(void **state)
{
	struct nw_fmt f;

	assert_int_equal(nw_fmt_npt_init(&f, 46), 0);
	assert_string_equal(f.name, "npt");
	assert_int_equal(f.nested_flags, NW_NESTED_PT_WRITES | NW_NESTED_AD);
	assert_non_null(f.nested_permit);
	assert_non_null(f.nested_fault);
	/* PML4E bit 8 is reserved in NPT. */
	assert_true(f.rsvd(&f, 0x1000 | NW_PTE_P | NW_PTE_G, 4, NW_FMT_NXE));
	assert_false(f.rsvd(&f, 0x1000 | NW_PTE_P | NW_PTE_G, 3, NW_FMT_NXE));
	assert_int_equal(nw_fmt_npt_init(&f, 30), -EINVAL);
	/* The constants FACTS §5 names. */
	assert_int_equal(NW_SVM_EXIT_NPF, 0x400);
	assert_int_equal(NW_VMCB_NCR3, 0xb0);
	assert_int_equal(NW_VMCB_EXITINFO1, 0x78);
	assert_int_equal(NW_VMCB_EXITINFO2, 0x80);
}

/* | data page not present | 0x1_0000_0004 | */
static void test_row_not_present(void **state)
{
	struct env e;
	struct nw_walk w;
	struct nw_nested_req rq = data_req(NW_ACC_READ);

	env_init(&e, true, false);
	*entry_at(&e, DATA, 1) = 0;
	assert_int_equal(outcome(&e, &rq, &w), 0x100000004ull);
	assert_int_equal(w.exit.cause, NW_NESTED_NOT_PRESENT);
	assert_int_equal(w.exit.level, 1);
	/* Writes add RW; fetches add ID only with host NXE or SMEP. */
	rq = data_req(NW_ACC_WRITE);
	assert_int_equal(outcome(&e, &rq, &w), 0x100000006ull);
	rq = data_req(NW_ACC_FETCH);
	assert_int_equal(outcome(&e, &rq, &w), 0x100000014ull);
	env_fini(&e);

	env_init(&e, false, false);
	*entry_at(&e, DATA, 1) = 0;
	assert_int_equal(outcome(&e, &rq, &w), 0x100000004ull);
	e.mode |= NW_FMT_SMEP;
	assert_int_equal(outcome(&e, &rq, &w), 0x100000014ull);
	/* Not present higher up: the walk stops there. */
	*entry_at(&e, DATA, 2) = 0;
	rq = data_req(NW_ACC_READ);
	assert_int_equal(outcome(&e, &rq, &w), 0x100000004ull);
	assert_int_equal(w.exit.level, 2);
	env_fini(&e);
}

/* | fetch from an NX data page (host NXE=1) | 0x1_0000_0015 | */
static void test_row_nx(void **state)
{
	struct env e;
	struct nw_walk w;
	struct nw_nested_req rq = data_req(NW_ACC_FETCH);

	env_init(&e, true, false);
	assert_int_equal(nw_npt_protect(&e.npt, DATA, 4096, NW_PROT_RW, 0, NULL), 0);
	assert_int_equal(outcome(&e, &rq, &w), 0x100000015ull);
	assert_int_equal(w.exit.cause, NW_NESTED_DENIED);
	/* Reads and writes of the NX page are fine. */
	rq = data_req(NW_ACC_WRITE);
	assert_int_equal(outcome(&e, &rq, &w), 0);
	/*
	 * The host's NXE decides, not the guest's: under host NXE=0 the same XD
	 * bit is reserved.
	 */
	e.mode &= ~NW_FMT_NXE;
	rq = data_req(NW_ACC_READ);
	assert_int_equal(outcome(&e, &rq, &w), 0x10000000Dull);
	assert_int_equal(w.exit.cause, NW_NESTED_RSVD);
	env_fini(&e);
}

/* | data page with U/S=0 | 0x1_0000_0005 | */
static void test_row_supervisor(void **state)
{
	struct env e;
	struct nw_walk w;
	struct nw_nested_req rq = data_req(NW_ACC_READ);
	struct nw_attr sup = { .prot = NW_PROT_RWX };

	env_init(&e, true, false);
	assert_int_equal(outcome(&e, &rq, &w), 0); /* the negative control: U/S=1 passes */
	assert_int_equal(nw_pt_protect(&e.npt.pt, DATA, 4096, &sup, NULL), 0);
	assert_int_equal(outcome(&e, &rq, &w), 0x100000005ull);
	/* U/S=0 at any level is enough: a PDE this time. */
	assert_int_equal(nw_npt_protect(&e.npt, DATA, 4096, NW_PROT_RWX, 0, NULL), 0);
	assert_int_equal(outcome(&e, &rq, &w), 0);
	*entry_at(&e, DATA, 2) &= ~NW_PTE_US;
	assert_int_equal(outcome(&e, &rq, &w), 0x100000005ull);
	assert_int_equal(w.exit.level, 1); /* the walk itself completes */
	env_fini(&e);
}

/* | write to a read-only data page | 0x1_0000_0007 | */
static void test_row_read_only(void **state)
{
	struct env e;
	struct nw_walk w;
	struct nw_nested_req rq = data_req(NW_ACC_WRITE);

	env_init(&e, true, false);
	assert_int_equal(nw_npt_protect(&e.npt, DATA, 4096, NW_PROT_R | NW_PROT_X, 0, NULL), 0);
	assert_int_equal(outcome(&e, &rq, &w), 0x100000007ull);
	rq = data_req(NW_ACC_READ);
	assert_int_equal(outcome(&e, &rq, &w), 0);
	rq = data_req(NW_ACC_FETCH);
	assert_int_equal(outcome(&e, &rq, &w), 0);
	env_fini(&e);
}

/* | the guest's PML4 page read-only in NPT (the guest walk writes) | 0x2_0000_0007, EXITINFO2 = guest CR3 | */
static void test_row_guest_pt_read_only(void **state)
{
	struct env e;
	struct nw_walk w;
	struct nw_nested_req rq = pt_req(GCR3); /* PML4 entry 0 of the guest */

	env_init(&e, true, false);
	assert_int_equal(outcome(&e, &rq, &w), 0);
	assert_int_equal(nw_npt_protect(&e.npt, GCR3, 4096, NW_PROT_R | NW_PROT_X, 0, NULL), 0);
	assert_int_equal(outcome(&e, &rq, &w), 0x200000007ull);
	assert_int_equal(w.exit.info2, GCR3);
	assert_false(w.exit.final);
	env_fini(&e);
}

/* | reserved bit in the final-walk PTE/PDE | 0x1_0000_000D (plus 0x10 when host NXE or host SMEP is set) | */
static void test_row_reserved_final(void **state)
{
	static const struct { bool nxe, smep; uint64_t fetch; } modes[] = {
		{ false, false, 0x10000000Dull },
		{ true, false, 0x10000001Dull },
		{ false, true, 0x10000001Dull },
		{ true, true, 0x10000001Dull },
	};

	for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++)
		for (int level = 1; level <= 2; level++) {
			struct env e;
			struct nw_walk w;
			env_init(&e, modes[m].nxe, modes[m].smep);
			*entry_at(&e, DATA, level) |= 1ull << 50; /* beyond MAXPHYADDR 46 */
			struct nw_nested_req rq = data_req(NW_ACC_FETCH);
			assert_int_equal(outcome(&e, &rq, &w), modes[m].fetch);
			assert_int_equal(w.exit.level, level);
			assert_int_equal(w.exit.cause, NW_NESTED_RSVD);
			rq = data_req(NW_ACC_READ);
			assert_int_equal(outcome(&e, &rq, &w), 0x10000000Dull);
			rq = data_req(NW_ACC_WRITE);
			assert_int_equal(outcome(&e, &rq, &w), 0x10000000Full);
			env_fini(&e);
		}
}

/* | reserved bit in a PDPE/PML4E that also maps the guest's tables | 0x2_0000_000F | */
static void test_row_reserved_upper(void **state)
{
	for (int level = 3; level <= 4; level++) {
		struct env e;
		struct nw_walk w;
		struct nw_nested_req rq = pt_req(GCR3 + 8 * 3);

		env_init(&e, true, false);
		/* GCR3 and DATA share the PDPE and PML4E. */
		assert_ptr_equal(entry_at(&e, GCR3, level), entry_at(&e, DATA, level));
		*entry_at(&e, GCR3, level) |= 1ull << 51;
		assert_int_equal(outcome(&e, &rq, &w), 0x20000000Full);
		assert_int_equal(w.exit.level, level);
		struct nw_nested_req drq = data_req(NW_ACC_READ);
		assert_int_equal(outcome(&e, &drq, &w), 0x10000000Dull);
		env_fini(&e);
	}
	/* PML4E bit 8 is an NPT-only reserved bit. */
	struct env e;
	struct nw_walk w;
	struct nw_nested_req rq = pt_req(GCR3);
	env_init(&e, true, false);
	*entry_at(&e, GCR3, 4) |= NW_PTE_G;
	assert_int_equal(outcome(&e, &rq, &w), 0x20000000Full);
	env_fini(&e);
}

/* Negative control: an expectation built for the wrong host mode is caught. */
static void test_negative_control(void **state)
{
	struct env e;
	struct nw_walk w;
	struct nw_nested_req rq = data_req(NW_ACC_FETCH);

	env_init(&e, false, false);
	*entry_at(&e, DATA, 1) = 0;
	/* Host NXE and SMEP off: 0x14 would be wrong. */
	assert_int_not_equal(outcome(&e, &rq, &w), 0x100000014ull);
	/* A guest-PT fault is never reported as a final one. */
	rq = pt_req(DATA);
	assert_int_equal(outcome(&e, &rq, &w) & (NW_NPF_FINAL | NW_NPF_PT_WALK), NW_NPF_PT_WALK);
	env_fini(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_row_not_present),
		cmocka_unit_test(test_row_nx),
		cmocka_unit_test(test_row_supervisor),
		cmocka_unit_test(test_row_read_only),
		cmocka_unit_test(test_row_guest_pt_read_only),
		cmocka_unit_test(test_row_reserved_final),
		cmocka_unit_test(test_row_reserved_upper),
		cmocka_unit_test(test_negative_control),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
