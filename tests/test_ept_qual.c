/* SPDX-License-Identifier: MIT */
/*
 * EPT violations and misconfigurations at the hook level, against both
 * FACTS §3 vector tables row by row: real EPT tables, a real nested walk
 * (nw_walk_tables), then the format's nested_permit and nested_fault hooks,
 * exactly as the 2D walker calls them.
 */

#include <errno.h>
#include <string.h>

#include <nestwalk/ept.h>

#include "nw_test.h"

#define GPA 0x40201000ull   /* the page whose EPT rights each row sets */
#define HPA 0x7654000ull
#define GLA 0x7fffdeadb000ull

struct env {
	struct nw_mem *mem;
	struct nw_ept ept;
	uint64_t leaf_pa;       /* where GPA's EPT PTE lives */
	uint64_t pde_pa;        /* and the PDE above it */
};

static void env_init(struct env *e, const struct nw_ept_caps *caps, int levels)
{
	struct nw_pt_entry ent;
	struct nw_walk1d hw;

	memset(e, 0, sizeof(*e));
	e->mem = nw_test_arena(1ull << 30, 46);
	assert_int_equal(nw_ept_init(&e->ept, e->mem, caps, levels), 0);
	assert_int_equal(nw_ept_map(&e->ept, GPA, HPA, 4096, NW_PROT_RWX, NW_EPT_MT_WB,
				    NW_MAP_MAX_4K, NULL), 0);
	assert_int_equal(nw_ept_lookup(&e->ept, GPA, &ent), 0);
	assert_true(ent.present);
	e->leaf_pa = ent.entry_pa;
	nw_walk_tables(&e->ept.fmt, &e->ept.pt.acc, e->ept.pt.root, levels, GPA, 0, NW_DIM_HOST,
		       NULL, &hw);
	assert_int_equal(hw.n, levels);
	e->pde_pa = hw.entry_pa[levels - 2];
}

static void env_fini(struct env *e)
{
	nw_ept_destroy(&e->ept);
	nw_test_arena_done(e->mem);
}

/* Replace the rights bits (2:0 and 10) of the entry at pa. */
static void set_rights(struct env *e, uint64_t pa, uint64_t bits)
{
	uint64_t *p = nw_mem_map(e->mem, pa);
	*p = (*p & ~(NW_EPT_RWX | NW_EPT_UX)) | bits;
}

/* What a nested access came to. */
#define OK (-1)
#define MISCONFIG (-2)

/* Walk GPA and apply the hooks as the 2D walker does: OK, MISCONFIG, or the qualification. */
static int64_t outcome(struct env *e, const struct nw_nested_req *rq, unsigned mode,
		       struct nw_walk *w)
{
	const struct nw_fmt *f = &e->ept.fmt;
	struct nw_walk1d hw;

	memset(w, 0, sizeof(*w));
	nw_walk_tables(f, &e->ept.pt.acc, e->ept.pt.root, e->ept.pt.levels, rq->gpa, mode,
		       NW_DIM_HOST, w, &hw);
	if (hw.status == NW_W1D_OK && f->nested_permit(f, &hw, rq, mode))
		return OK;
	f->nested_fault(f, &hw, rq, mode, w);
	if (w->fault == NW_FAULT_EPT_MISCONFIG) {
		assert_int_equal(w->exit.qual, 0);
		assert_false(w->exit.gla_valid);
		assert_int_equal(w->exit.cause, NW_NESTED_RSVD);
		return MISCONFIG;
	}
	assert_int_equal(w->fault, NW_FAULT_EPT_VIOLATION);
	assert_true(w->exit.gla_valid);
	assert_int_equal(w->exit.gpa, rq->gpa);
	assert_int_equal(w->exit.gla, rq->gla);
	assert_int_equal(w->exit.final, rq->final);
	assert_int_equal(w->exit.access, rq->access);
	assert_int_equal(w->exit.cause, hw.status == NW_W1D_NOT_PRESENT ? NW_NESTED_NOT_PRESENT
									  : NW_NESTED_DENIED);
	return (int64_t)w->exit.qual;
}

/* The final data access of a guest access: read, write or fetch. */
static struct nw_nested_req final_req(int kind, uint32_t guest_prot)
{
	static const unsigned acc[] = { NW_ACC_READ, NW_ACC_WRITE, NW_ACC_FETCH };
	return (struct nw_nested_req){
		.gpa = GPA + 0x123, .gla = GLA + 0x123, .access = acc[kind], .final = true,
		.guest_prot = guest_prot,
	};
}

/*
 * FACTS §3, the kvm-unit-tests ept_access_test_* table, MBEC off. Cells
 * are the qualification without the 0x180 of a final access; OK and
 * MISCONFIG as named.
 */
struct row {
	uint64_t xwr;
	int64_t cell[3]; /* read, write, fetch */
};

static const struct row TABLE1[] = {
	/* | --- | 0x1 | 0x2 | 0x4 | */
	{ 0, { 0x1, 0x2, 0x4 } },
	/* | r-- | ok | 0x0A | 0x0C | */
	{ 1, { OK, 0x0A, 0x0C } },
	/* | -w- | misconfig | misconfig | misconfig | */
	{ 2, { MISCONFIG, MISCONFIG, MISCONFIG } },
	/* | rw- | ok | ok | 0x1C | */
	{ 3, { OK, OK, 0x1C } },
	/* | --x | 0x21 | 0x22 | ok (misconfig everywhere without exec-only support) | */
	{ 4, { 0x21, 0x22, OK } },
	/* | r-x | ok | 0x2A | ok | */
	{ 5, { OK, 0x2A, OK } },
	/* | -wx | misconfig | misconfig | misconfig | */
	{ 6, { MISCONFIG, MISCONFIG, MISCONFIG } },
	/* | rwx | ok | ok | ok | */
	{ 7, { OK, OK, OK } },
};

/* The advanced-information bits 9..11 for a guest page with rights gp. */
static int64_t adv_bits(uint32_t gp)
{
	return ((gp & NW_PROT_U) ? 0x200 : 0) | ((gp & NW_PROT_W) ? 0x400 : 0) |
	       ((gp & NW_PROT_X) ? 0 : 0x800);
}

/*
 * Every cell of TABLE1 on a CPU with caps `cpu`, expected as for a CPU with
 * caps `exp` (the same, except in negative controls); true when all match.
 */
static bool table1_check(const struct nw_ept_caps *cpu, const struct nw_ept_caps *exp,
			 uint32_t guest_prot, bool quiet)
{
	struct env e;
	struct nw_walk w;
	bool all = true;

	env_init(&e, cpu, 4);
	for (size_t r = 0; r < sizeof(TABLE1) / sizeof(TABLE1[0]); r++) {
		set_rights(&e, e.leaf_pa, TABLE1[r].xwr);
		for (int k = 0; k < 3; k++) {
			int64_t want = TABLE1[r].cell[k];
			if (!exp->exec_only && TABLE1[r].xwr == 4)
				want = MISCONFIG;
			if (want >= 0) {
				want |= 0x180; /* a final translation adds bits 7 and 8 */
				if (exp->adv_exit_info)
					want |= adv_bits(guest_prot);
			}
			struct nw_nested_req rq = final_req(k, guest_prot);
			int64_t got = outcome(&e, &rq, 0, &w);
			if (got != want) {
				if (!quiet)
					print_error("xwr %llu access %d: got %#llx want %#llx\n",
						    (unsigned long long)TABLE1[r].xwr, k,
						    (unsigned long long)got, (unsigned long long)want);
				all = false;
			}
		}
	}
	env_fini(&e);
	return all;
}

static bool table1_matches(const struct nw_ept_caps *caps, uint32_t guest_prot)
{
	return table1_check(caps, caps, guest_prot, false);
}

static void test_table1_final(void **state)
{
	struct nw_ept_caps caps;

	nw_ept_caps_default(&caps);
	caps.adv_exit_info = false;
	assert_true(table1_matches(&caps, NW_PROT_RWX | NW_PROT_U));
	assert_true(table1_matches(&caps, NW_PROT_R));
	/* Named vectors: write to r-- 0x18A, fetch from rw- 0x19C, read of --- 0x181. */
	struct env e;
	struct nw_walk w;
	struct nw_nested_req rq;
	env_init(&e, &caps, 4);
	set_rights(&e, e.leaf_pa, NW_EPT_R);
	rq = final_req(1, 0);
	assert_int_equal(outcome(&e, &rq, 0, &w), 0x18A);
	set_rights(&e, e.leaf_pa, NW_EPT_R | NW_EPT_W);
	rq = final_req(2, 0);
	assert_int_equal(outcome(&e, &rq, 0, &w), 0x19C);
	set_rights(&e, e.leaf_pa, 0);
	rq = final_req(0, 0);
	assert_int_equal(outcome(&e, &rq, 0, &w), 0x181);
	assert_int_equal(w.exit.level, 1);
	env_fini(&e);
}

static void test_table1_no_exec_only(void **state)
{
	struct nw_ept_caps caps;

	nw_ept_caps_default(&caps);
	caps.adv_exit_info = false;
	caps.exec_only = false;
	assert_true(table1_matches(&caps, NW_PROT_RWX));
}

/* Advanced information on: bits 9..11 describe the guest page of a final access. */
static void test_table1_advanced_info(void **state)
{
	struct nw_ept_caps caps;
	static const uint32_t gps[] = { NW_PROT_R, NW_PROT_RW, NW_PROT_R | NW_PROT_X,
					NW_PROT_RWX | NW_PROT_U, NW_PROT_R | NW_PROT_U };

	nw_ept_caps_default(&caps);
	assert_true(caps.adv_exit_info);
	for (size_t i = 0; i < sizeof(gps) / sizeof(gps[0]); i++)
		assert_true(table1_matches(&caps, gps[i]));
	caps.exec_only = false;
	assert_true(table1_matches(&caps, NW_PROT_RW | NW_PROT_U));
	/* 5-level EPT gives the same answers. */
	struct env e;
	struct nw_walk w;
	env_init(&e, &caps, 5);
	set_rights(&e, e.leaf_pa, NW_EPT_R);
	struct nw_nested_req rq = final_req(1, NW_PROT_R | NW_PROT_U);
	assert_int_equal(outcome(&e, &rq, 0, &w), 0x18A | 0x200 | 0x800);
	env_fini(&e);
}

/* Negative controls: the table check must notice a CPU unlike the one expected. */
static void test_table1_negative_control(void **state)
{
	struct nw_ept_caps cpu, exp;
	struct env e;
	struct nw_walk w;

	nw_ept_caps_default(&cpu);
	cpu.adv_exit_info = false;
	/* The CPU allows --x, the expectations say misconfig. */
	exp = cpu;
	exp.exec_only = false;
	assert_false(table1_check(&cpu, &exp, NW_PROT_R, true));
	/* The CPU reports bits 9..11, the expectations do not. */
	cpu.adv_exit_info = true;
	exp = cpu;
	exp.adv_exit_info = false;
	assert_false(table1_check(&cpu, &exp, NW_PROT_RW | NW_PROT_U, true));
	/* A corrupted leaf: rw- gives 0x19C on a fetch; r-- must not. */
	cpu.adv_exit_info = false;
	env_init(&e, &cpu, 4);
	set_rights(&e, e.leaf_pa, NW_EPT_R);
	struct nw_nested_req rq = final_req(2, 0);
	assert_int_not_equal(outcome(&e, &rq, 0, &w), 0x19C);
	env_fini(&e);
}

/*
 * FACTS §3, EPT permissions on the page that holds a guest page table
 * (bit 7 set, bit 8 clear: 0x80 added).
 */
static struct nw_nested_req pt_req(bool write)
{
	/* A guest-PT write is reported as read and write (bits 0 and 1). */
	return (struct nw_nested_req){
		.gpa = GPA + 0x18, .gla = GLA, .access = write ? NW_ACC_WRITE : NW_ACC_READ,
		.pt_read_write = write,
		.guest_prot = NW_PROT_RWX | NW_PROT_U, /* ignored for guest-PT accesses */
	};
}

static void guest_pt_rows(bool adv)
{
	struct nw_ept_caps caps;
	struct env e;
	struct nw_walk w;
	struct nw_nested_req rd = pt_req(false), wr = pt_req(true);

	nw_ept_caps_default(&caps);
	caps.adv_exit_info = adv; /* bits 9..11 stay 0 for guest-PT accesses */
	env_init(&e, &caps, 4);

	/* A/D disabled: a read, or a write when the guest must set an A/D bit. */
	/* | not present | read: 0x1 | */
	set_rights(&e, e.leaf_pa, 0);
	assert_int_equal(outcome(&e, &rd, 0, &w), 0x81);
	assert_int_equal(w.exit.cause, NW_NESTED_NOT_PRESENT);
	/* | r-- | 0x0B when the guest must set an A/D bit, otherwise ok | */
	set_rights(&e, e.leaf_pa, NW_EPT_R);
	assert_int_equal(outcome(&e, &rd, 0, &w), OK);
	assert_int_equal(outcome(&e, &wr, 0, &w), 0x8B);
	/* | r-x | as r--, with 0x2B | */
	set_rights(&e, e.leaf_pa, NW_EPT_R | NW_EPT_X);
	assert_int_equal(outcome(&e, &rd, 0, &w), OK);
	assert_int_equal(outcome(&e, &wr, 0, &w), 0xAB);
	/* | rw-, rwx | ok | */
	set_rights(&e, e.leaf_pa, NW_EPT_R | NW_EPT_W);
	assert_int_equal(outcome(&e, &rd, 0, &w), OK);
	assert_int_equal(outcome(&e, &wr, 0, &w), OK);
	set_rights(&e, e.leaf_pa, NW_EPT_RWX);
	assert_int_equal(outcome(&e, &rd, 0, &w), OK);
	assert_int_equal(outcome(&e, &wr, 0, &w), OK);

	/* A/D enabled: every guest paging-structure access is a write. */
	unsigned ad = NW_FMT_EPT_AD;
	/* | not present | read+write: 0x3 | */
	set_rights(&e, e.leaf_pa, 0);
	assert_int_equal(outcome(&e, &wr, ad, &w), 0x83);
	/* | r-- | 0x0B always | */
	set_rights(&e, e.leaf_pa, NW_EPT_R);
	assert_int_equal(outcome(&e, &wr, ad, &w), 0x8B);
	/* | r-x | 0x2B always | */
	set_rights(&e, e.leaf_pa, NW_EPT_R | NW_EPT_X);
	assert_int_equal(outcome(&e, &wr, ad, &w), 0xAB);
	/* | rw-, rwx | ok; afterwards EPT A is set at every level and D only on the leaf | */
	set_rights(&e, e.leaf_pa, NW_EPT_R | NW_EPT_W);
	assert_int_equal(outcome(&e, &wr, ad, &w), OK);
	set_rights(&e, e.leaf_pa, NW_EPT_RWX);
	assert_int_equal(outcome(&e, &wr, ad, &w), OK);
	struct nw_walk1d hw;
	nw_walk_tables(&e.ept.fmt, &e.ept.pt.acc, e.ept.pt.root, 4, wr.gpa, ad, NW_DIM_HOST,
		       NULL, &hw);
	nw_walk_set_ad(&e.ept.fmt, &e.ept.pt.acc, &hw, true, NULL);
	nw_walk_tables(&e.ept.fmt, &e.ept.pt.acc, e.ept.pt.root, 4, wr.gpa, ad, NW_DIM_HOST,
		       NULL, &hw);
	for (int i = 0; i < hw.n; i++) {
		assert_true(hw.entry[i] & NW_EPT_A);
		assert_int_equal((hw.entry[i] & NW_EPT_D) != 0, i == hw.n - 1);
	}
	env_fini(&e);
}

static void test_table2_guest_pt(void **state)
{
	guest_pt_rows(false);
}

static void test_table2_guest_pt_advanced_info(void **state)
{
	guest_pt_rows(true);
}

/* Bits 3..5 are the AND over every entry walked; 0 when one was not present. */
static void test_rights_and_over_levels(void **state)
{
	struct nw_ept_caps caps;
	struct env e;
	struct nw_walk w;
	struct nw_nested_req rq = final_req(1, 0);

	nw_ept_caps_default(&caps);
	caps.adv_exit_info = false;
	env_init(&e, &caps, 4);
	/* PDE r-x over an rwx PTE: a write is refused, and reports R and X only. */
	set_rights(&e, e.pde_pa, NW_EPT_R | NW_EPT_X);
	assert_int_equal(outcome(&e, &rq, 0, &w), 0x1AA);
	assert_int_equal(w.exit.level, 1);
	/* PDE not present: the walk stops at level 2 with no rights at all. */
	set_rights(&e, e.pde_pa, 0);
	assert_int_equal(outcome(&e, &rq, 0, &w), 0x182);
	assert_int_equal(w.exit.level, 2);
	assert_int_equal(w.exit.cause, NW_NESTED_NOT_PRESENT);
	/* A write without read in the PDE misconfigures, whatever the leaf. */
	set_rights(&e, e.pde_pa, NW_EPT_W);
	assert_int_equal(outcome(&e, &rq, 0, &w), MISCONFIG);
	assert_int_equal(w.exit.level, 2);
	assert_int_equal(w.exit.gpa, rq.gpa);
	assert_int_equal(w.fault, NW_FAULT_EPT_MISCONFIG);
	set_rights(&e, e.pde_pa, NW_EPT_RWX);
	assert_int_equal(outcome(&e, &rq, 0, &w), OK);
	env_fini(&e);
}

/* A reserved bit (not a rights combination) misconfigures too: qualification 0. */
static void test_misconfig_exit(void **state)
{
	struct env e;
	struct nw_walk w;
	struct nw_nested_req rq = final_req(0, NW_PROT_R);

	env_init(&e, NULL, 4);
	uint64_t *pte = nw_mem_map(e.mem, e.leaf_pa);
	*pte |= 7ull << NW_EPT_MT_SHIFT; /* memory type 7 */
	assert_int_equal(outcome(&e, &rq, 0, &w), MISCONFIG);
	assert_int_equal(w.exit.gpa, rq.gpa);
	assert_int_equal(w.exit.level, 1);
	assert_true(w.exit.final);
	*pte &= ~NW_EPT_MT_MASK;
	*pte |= 1ull << 47; /* beyond MAXPHYADDR 46 */
	assert_int_equal(outcome(&e, &rq, 0, &w), MISCONFIG);
	*pte &= ~(1ull << 47);
	/* Ignored bits do not. */
	*pte |= (1ull << 11) | (1ull << 52) | (1ull << 62) | NW_EPT_UX | NW_EPT_A | NW_EPT_D;
	assert_int_equal(outcome(&e, &rq, 0, &w), OK);
	env_fini(&e);
}

/* MBEC: X is supervisor-execute and UX user-execute, by the guest page's U/S. */
static void test_mbec(void **state)
{
	struct nw_ept_caps caps;
	struct env e;
	struct nw_walk w;
	struct nw_nested_req sup = final_req(2, NW_PROT_R | NW_PROT_X);
	struct nw_nested_req usr = final_req(2, NW_PROT_R | NW_PROT_X | NW_PROT_U);

	nw_ept_caps_default(&caps);
	caps.mbec = true;
	caps.adv_exit_info = false;
	env_init(&e, &caps, 4);
	/* Tables made under MBEC grant UX. */
	uint64_t *pde = nw_mem_map(e.mem, e.pde_pa);
	assert_true(*pde & NW_EPT_UX);

	set_rights(&e, e.leaf_pa, NW_EPT_R | NW_EPT_X);
	assert_int_equal(outcome(&e, &sup, 0, &w), OK);
	assert_int_equal(outcome(&e, &usr, 0, &w), 0x1AC); /* fetch, R, X; no bit 6 */
	set_rights(&e, e.leaf_pa, NW_EPT_R | NW_EPT_UX);
	assert_int_equal(outcome(&e, &usr, 0, &w), OK);
	assert_int_equal(outcome(&e, &sup, 0, &w), 0x1CC); /* fetch, R, UX (bit 6) */
	set_rights(&e, e.leaf_pa, NW_EPT_RWX | NW_EPT_UX);
	assert_int_equal(outcome(&e, &sup, 0, &w), OK);
	assert_int_equal(outcome(&e, &usr, 0, &w), OK);
	/* UX alone is a present, user-execute-only page. */
	set_rights(&e, e.leaf_pa, NW_EPT_UX);
	assert_int_equal(outcome(&e, &usr, 0, &w), OK);
	struct nw_nested_req rd = final_req(0, NW_PROT_R | NW_PROT_U);
	assert_int_equal(outcome(&e, &rd, 0, &w), 0x1C1);
	/* A PDE without UX takes user-execute away below it. */
	set_rights(&e, e.leaf_pa, NW_EPT_RWX | NW_EPT_UX);
	set_rights(&e, e.pde_pa, NW_EPT_RWX);
	assert_int_equal(outcome(&e, &usr, 0, &w), 0x1BC);
	env_fini(&e);

	/* Without MBEC, bit 10 is ignored: X decides for user pages too. */
	caps.mbec = false;
	env_init(&e, &caps, 4);
	set_rights(&e, e.leaf_pa, NW_EPT_R | NW_EPT_UX);
	assert_int_equal(outcome(&e, &usr, 0, &w), 0x18C);
	set_rights(&e, e.leaf_pa, NW_EPT_R | NW_EPT_X);
	assert_int_equal(outcome(&e, &usr, 0, &w), OK);
	env_fini(&e);
}

/* nw_ept_qual on its own, for hand-made walks. */
static void test_qual_function(void **state)
{
	struct nw_fmt f;
	struct nw_ept_caps caps;
	struct nw_walk1d hw = { .status = NW_W1D_OK, .level = 1, .prot = NW_PROT_R };
	struct nw_nested_req rq = { .gpa = 0x1000, .access = NW_ACC_WRITE, .final = true,
				    .guest_prot = NW_PROT_RW | NW_PROT_U };

	nw_ept_caps_default(&caps);
	assert_int_equal(nw_fmt_ept_init(&f, 46, &caps), 0);
	assert_int_equal(nw_ept_qual(&f, &hw, &rq), 0x18A | 0x200 | 0x400 | 0x800);
	rq.guest_prot |= NW_PROT_X;
	assert_int_equal(nw_ept_qual(&f, &hw, &rq), 0x18A | 0x200 | 0x400);
	rq.final = false;
	rq.pt_read_write = true;
	assert_int_equal(nw_ept_qual(&f, &hw, &rq), 0x8B);
	hw.status = NW_W1D_NOT_PRESENT;
	assert_int_equal(nw_ept_qual(&f, &hw, &rq), 0x83);
	caps.adv_exit_info = false;
	assert_int_equal(nw_fmt_ept_init(&f, 46, &caps), 0);
	rq = (struct nw_nested_req){ .access = NW_ACC_FETCH, .final = true, .guest_prot = 0 };
	hw = (struct nw_walk1d){ .status = NW_W1D_OK, .prot = NW_PROT_RW | NW_PROT_U };
	assert_int_equal(nw_ept_qual(&f, &hw, &rq), 0x19C); /* U means nothing without MBEC */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table1_final),
		cmocka_unit_test(test_table1_no_exec_only),
		cmocka_unit_test(test_table1_advanced_info),
		cmocka_unit_test(test_table1_negative_control),
		cmocka_unit_test(test_table2_guest_pt),
		cmocka_unit_test(test_table2_guest_pt_advanced_info),
		cmocka_unit_test(test_rights_and_over_levels),
		cmocka_unit_test(test_misconfig_exit),
		cmocka_unit_test(test_mbec),
		cmocka_unit_test(test_qual_function),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
