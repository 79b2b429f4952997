/* SPDX-License-Identifier: MIT */
/* The x86-64 entry format: encoding, decoding and the reserved-bit rules. */

#include <errno.h>

#include "nw_test.h"

static struct nw_fmt fmt_for(unsigned maxphyaddr, unsigned options)
{
	struct nw_fmt f;
	assert_int_equal(nw_fmt_x86_init(&f, maxphyaddr, options), 0);
	return f;
}

static void test_init_rejects(void **state)
{
	struct nw_fmt f;
	assert_int_equal(nw_fmt_x86_init(&f, 35, 0), -EINVAL);
	assert_int_equal(nw_fmt_x86_init(&f, 53, 0), -EINVAL);
	assert_int_equal(nw_fmt_x86_init(&f, 46, 0x80), -EINVAL);
}

/* "Entry bits. P 0, R/W 1, U/S 2, PWT 3, PCD 4, A 5, D 6, PS 7 ..., G 8, PAT
 * (bit 12 in large leaves, bit 7 in 4 KiB PTEs), ..., protection key 62:59, XD 63." */
static void test_make_leaf_bits(void **state)
{
	struct nw_fmt f = fmt_for(52, 0);
	struct nw_attr a = { .prot = NW_PROT_RW | NW_PROT_U, .memtype = 7, .global = true, .pkey = 9 };

	uint64_t e = f.make_leaf(&f, 0x123456000ull, 1, &a);
	assert_int_equal(e, 0x123456000ull | NW_PTE_P | NW_PTE_RW | NW_PTE_US | NW_PTE_PWT |
				    NW_PTE_PCD | NW_PTE_PAT_4K | NW_PTE_G | (9ull << 59) | NW_PTE_XD);
	e = f.make_leaf(&f, 0x40000000ull, 3, &a);
	assert_int_equal(e, 0x40000000ull | NW_PTE_P | NW_PTE_RW | NW_PTE_US | NW_PTE_PWT |
				    NW_PTE_PCD | NW_PTE_PAT_LARGE | NW_PTE_PS | NW_PTE_G |
				    (9ull << 59) | NW_PTE_XD);
	/* The PAT bit of a large leaf is not an address bit. */
	assert_int_equal(f.addr(&f, e, 3), 0x40000000ull);

	struct nw_attr back;
	f.attr(&f, e, 3, &back);
	assert_int_equal(back.prot, a.prot);
	assert_int_equal(back.memtype, 7);
	assert_true(back.global);
	assert_int_equal(back.pkey, 9);

	struct nw_attr rx = { .prot = NW_PROT_R | NW_PROT_X };
	e = f.make_leaf(&f, 0x5000, 1, &rx);
	assert_int_equal(e, 0x5000 | NW_PTE_P);
	assert_int_equal(f.prot(&f, e, 1), NW_PROT_R | NW_PROT_X);
	assert_int_equal(f.make_table(&f, 0x7000, 4), 0x7000 | NW_PTE_P | NW_PTE_RW | NW_PTE_US);
}

static void test_leaf_levels(void **state)
{
	struct nw_fmt f = fmt_for(46, 0);
	assert_true(f.leaf(&f, NW_PTE_P, 1));
	assert_false(f.leaf(&f, NW_PTE_P, 2));
	assert_true(f.leaf(&f, NW_PTE_P | NW_PTE_PS, 2));
	assert_true(f.leaf(&f, NW_PTE_P | NW_PTE_PS, 3));
	/* PS is reserved in the PML4E and PML5E: never a leaf there. */
	assert_false(f.leaf(&f, NW_PTE_P | NW_PTE_PS, 4));
	assert_true(f.rsvd(&f, NW_PTE_P | NW_PTE_PS, 4, NW_FMT_NXE));
	assert_true(f.rsvd(&f, NW_PTE_P | NW_PTE_PS, 5, NW_FMT_NXE));
}

/* "Bits MAXPHYADDR..51 of every entry are reserved." */
static void test_rsvd_address_bits(void **state)
{
	struct nw_fmt f36 = fmt_for(36, 0), f52 = fmt_for(52, 0);
	for (int level = 1; level <= 5; level++) {
		assert_true(f36.rsvd(&f36, NW_PTE_P | (1ull << 51), level, NW_FMT_NXE));
		assert_true(f36.rsvd(&f36, NW_PTE_P | (1ull << 36), level, NW_FMT_NXE));
		assert_false(f36.rsvd(&f36, NW_PTE_P | (1ull << 35), level, NW_FMT_NXE));
		assert_false(f52.rsvd(&f52, NW_PTE_P | (1ull << 51), level, NW_FMT_NXE));
	}
}

/* "XD is reserved when EFER.NXE = 0." */
static void test_rsvd_xd(void **state)
{
	struct nw_fmt f = fmt_for(46, 0);
	assert_true(f.rsvd(&f, NW_PTE_P | NW_PTE_XD, 1, 0));
	assert_false(f.rsvd(&f, NW_PTE_P | NW_PTE_XD, 1, NW_FMT_NXE));
}

/* "2 MiB leaves need bits 20:13 zero, 1 GiB leaves need bits 29:13 zero." */
static void test_rsvd_large_alignment(void **state)
{
	struct nw_fmt f = fmt_for(46, 0);
	uint64_t pde = NW_PTE_P | NW_PTE_PS;
	assert_true(f.rsvd(&f, pde | (1ull << 13), 2, NW_FMT_NXE));
	assert_true(f.rsvd(&f, pde | (1ull << 20), 2, NW_FMT_NXE));
	assert_false(f.rsvd(&f, pde | (1ull << 21), 2, NW_FMT_NXE));
	assert_false(f.rsvd(&f, pde | NW_PTE_PAT_LARGE, 2, NW_FMT_NXE));
	assert_true(f.rsvd(&f, pde | (1ull << 29), 3, NW_FMT_NXE));
	assert_false(f.rsvd(&f, pde | (1ull << 30), 3, NW_FMT_NXE));
	/* Bit 13 is an address bit everywhere else. */
	assert_false(f.rsvd(&f, NW_PTE_P | (1ull << 13), 1, NW_FMT_NXE));
	assert_false(f.rsvd(&f, NW_PTE_P | (1ull << 13), 2, NW_FMT_NXE));
}

/* "PML4E bit 8 is reserved in NPT." */
static void test_npt_bit8(void **state)
{
	struct nw_fmt x = fmt_for(46, 0), n = fmt_for(46, NW_X86_NPT);
	assert_false(x.rsvd(&x, NW_PTE_P | NW_PTE_G, 4, NW_FMT_NXE));
	assert_true(n.rsvd(&n, NW_PTE_P | NW_PTE_G, 4, NW_FMT_NXE));
	assert_false(n.rsvd(&n, NW_PTE_P | NW_PTE_G, 1, NW_FMT_NXE));
}

static void test_attr_ok(void **state)
{
	struct nw_fmt f = fmt_for(46, 0);
	struct nw_attr a = { .prot = NW_PROT_R };
	assert_true(f.attr_ok(&f, &a, 1));
	a.prot = NW_PROT_W; /* x86 cannot express write without read */
	assert_false(f.attr_ok(&f, &a, 1));
	a.prot = NW_PROT_R;
	a.pkey = 16;
	assert_false(f.attr_ok(&f, &a, 1));
	a.pkey = 0;
	a.memtype = 8;
	assert_false(f.attr_ok(&f, &a, 2));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_rejects),
		cmocka_unit_test(test_make_leaf_bits),
		cmocka_unit_test(test_leaf_levels),
		cmocka_unit_test(test_rsvd_address_bits),
		cmocka_unit_test(test_rsvd_xd),
		cmocka_unit_test(test_rsvd_large_alignment),
		cmocka_unit_test(test_npt_bit8),
		cmocka_unit_test(test_attr_ok),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
