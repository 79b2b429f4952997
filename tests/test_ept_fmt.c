/* SPDX-License-Identifier: MIT */
/*
 * The EPT entry format against FACTS §3: presence, rights, attributes, every
 * misconfiguration condition at every level, the bits that must NOT
 * misconfigure, the EPTP validity table row by row, and the capability MSR.
 */

#include <errno.h>
#include <string.h>

#include <nestwalk/ept.h>

#include "nw_test.h"

#define GiB (1ull << 30)
#define MiB (1ull << 20)

/* Entry kinds, per level: a table pointer or a leaf. */
enum kind { TABLE, LEAF };

struct fmts {
	struct nw_fmt all;      /* default caps: everything but MBEC */
	struct nw_fmt no_xo;    /* without execute-only */
	struct nw_fmt mbec;     /* with MBEC */
	struct nw_fmt mbec_no_xo;
	struct nw_fmt no_large; /* without 2 MiB and 1 GiB pages */
	struct nw_ept_caps caps;
};

static void make_fmts(struct fmts *f, unsigned maxphyaddr)
{
	struct nw_ept_caps c;

	nw_ept_caps_default(&f->caps);
	assert_int_equal(nw_fmt_ept_init(&f->all, maxphyaddr, NULL), 0);
	c = f->caps;
	c.exec_only = false;
	assert_int_equal(nw_fmt_ept_init(&f->no_xo, maxphyaddr, &c), 0);
	c = f->caps;
	c.mbec = true;
	assert_int_equal(nw_fmt_ept_init(&f->mbec, maxphyaddr, &c), 0);
	c.exec_only = false;
	assert_int_equal(nw_fmt_ept_init(&f->mbec_no_xo, maxphyaddr, &c), 0);
	c = f->caps;
	c.page_2m = c.page_1g = false;
	assert_int_equal(nw_fmt_ept_init(&f->no_large, maxphyaddr, &c), 0);
}

/* A well-formed present entry of a kind at a level, with rights xwr. */
static uint64_t good(int level, enum kind k, uint64_t xwr)
{
	uint64_t addr = 0x2d5ull << 30; /* 1 GiB aligned, below 2^40 */

	if (k == TABLE)
		return addr | xwr;
	return addr | xwr | ((uint64_t)NW_EPT_MT_WB << NW_EPT_MT_SHIFT) |
	       (level > 1 ? NW_EPT_PS : 0);
}

static bool misconfig(const struct nw_fmt *f, uint64_t e, int level)
{
	return f->rsvd(f, e, level, 0);
}

/* Every (level, kind) pair that can exist: leaves only at 1..3, tables at 2..5. */
static const struct { int level; enum kind kind; } SHAPES[] = {
	{ 1, LEAF }, { 2, LEAF }, { 3, LEAF }, { 2, TABLE }, { 3, TABLE }, { 4, TABLE }, { 5, TABLE },
};
#define N_SHAPES (sizeof(SHAPES) / sizeof(SHAPES[0]))

static void test_present_and_prot(void **state)
{
	struct fmts f;
	make_fmts(&f, 46);

	for (uint64_t xwr = 0; xwr < 8; xwr++) {
		uint64_t e = 0x1000 | xwr;
		uint32_t want = ((xwr & 1) ? NW_PROT_R : 0) | ((xwr & 2) ? NW_PROT_W : 0) |
				((xwr & 4) ? NW_PROT_X : 0);
		assert_int_equal(f.all.present(&f.all, e), xwr != 0);
		assert_int_equal(f.all.prot(&f.all, e, 1), want);
		/* Bit 10 is ignored without MBEC, user-execute with it. */
		assert_int_equal(f.all.present(&f.all, e | NW_EPT_UX), xwr != 0);
		assert_int_equal(f.all.prot(&f.all, e | NW_EPT_UX, 1), want);
		assert_true(f.mbec.present(&f.mbec, e | NW_EPT_UX));
		assert_int_equal(f.mbec.prot(&f.mbec, e | NW_EPT_UX, 1), want | NW_PROT_U);
		assert_int_equal(f.mbec.prot(&f.mbec, e, 1), want);
	}
	/* Nothing but rights makes an entry present. */
	assert_false(f.all.present(&f.all, ~(NW_EPT_RWX | NW_EPT_UX)));
	assert_false(f.mbec.present(&f.mbec, ~(NW_EPT_RWX | NW_EPT_UX)));
}

static void test_leaf_addr_attr(void **state)
{
	struct fmts f;
	make_fmts(&f, 46);
	const struct nw_fmt *e = &f.all;

	assert_true(e->leaf(e, good(1, LEAF, 7), 1));
	assert_true(e->leaf(e, good(2, LEAF, 7), 2));
	assert_true(e->leaf(e, good(3, LEAF, 7), 3));
	assert_false(e->leaf(e, good(2, TABLE, 7), 2));
	assert_false(e->leaf(e, good(4, TABLE, 7) | NW_EPT_PS, 4));
	/* Bit 7 of a PTE is ignored, and a PTE is always a leaf. */
	assert_true(e->leaf(e, good(1, LEAF, 7) | NW_EPT_PS, 1));

	uint64_t big = (5 * GiB) | NW_EPT_PS | 7 | NW_EPT_A | NW_EPT_D | NW_EPT_SVE | (1ull << 55);
	assert_int_equal(e->addr(e, big, 3), 5 * GiB);
	assert_int_equal(e->addr(e, (5 * GiB + 6 * MiB) | NW_EPT_PS | 7, 2), 5 * GiB + 6 * MiB);
	assert_int_equal(e->addr(e, (5 * GiB + 0x7000) | 7 | (1ull << 62), 1), 5 * GiB + 0x7000);

	struct nw_attr a;
	e->attr(e, (0x1000 | 3 | (5ull << 3) | NW_EPT_IPAT | NW_EPT_SVE), 1, &a);
	assert_int_equal(a.prot, NW_PROT_RW);
	assert_int_equal(a.memtype, NW_EPT_MT_WP);
	assert_true(a.ignore_pat);
	assert_true(a.suppress_ve);
}

/* make_leaf then attr gives back the attributes; make_table grants everything. */
static void test_make_roundtrip(void **state)
{
	struct fmts f;
	make_fmts(&f, 46);
	static const uint32_t prots[] = { NW_PROT_R, NW_PROT_RW, NW_PROT_RWX, NW_PROT_R | NW_PROT_X,
					  NW_PROT_X };
	static const uint8_t mts[] = { 0, 1, 4, 5, 6 };

	for (int level = 1; level <= 3; level++)
		for (size_t p = 0; p < sizeof(prots) / sizeof(prots[0]); p++)
			for (size_t m = 0; m < sizeof(mts); m++)
				for (int flags = 0; flags < 4; flags++) {
					struct nw_attr in = {
						.prot = prots[p], .memtype = mts[m],
						.ignore_pat = flags & 1, .suppress_ve = flags & 2,
					}, out;
					assert_true(f.all.attr_ok(&f.all, &in, level));
					uint64_t e = f.all.make_leaf(&f.all, 3 * GiB, level, &in);
					assert_true(f.all.present(&f.all, e));
					assert_true(f.all.leaf(&f.all, e, level));
					assert_false(misconfig(&f.all, e, level));
					assert_int_equal(f.all.addr(&f.all, e, level), 3 * GiB);
					f.all.attr(&f.all, e, level, &out);
					assert_int_equal(out.prot, in.prot);
					assert_int_equal(out.memtype, in.memtype);
					assert_int_equal(out.ignore_pat, in.ignore_pat);
					assert_int_equal(out.suppress_ve, in.suppress_ve);
				}
	for (int level = 2; level <= 5; level++) {
		uint64_t t = f.all.make_table(&f.all, 0x5000, level);
		assert_int_equal(t, 0x5000 | NW_EPT_RWX);
		assert_false(misconfig(&f.all, t, level));
		assert_false(f.all.leaf(&f.all, t, level));
		t = f.mbec.make_table(&f.mbec, 0x5000, level);
		assert_int_equal(t, 0x5000 | NW_EPT_RWX | NW_EPT_UX);
	}
	/* User-execute under MBEC. */
	struct nw_attr ux = { .prot = NW_PROT_R | NW_PROT_U, .memtype = 6 }, out;
	assert_true(f.mbec.attr_ok(&f.mbec, &ux, 1));
	uint64_t e = f.mbec.make_leaf(&f.mbec, 0x9000, 1, &ux);
	assert_int_equal(e, 0x9000 | NW_EPT_R | NW_EPT_UX | (6ull << 3));
	f.mbec.attr(&f.mbec, e, 1, &out);
	assert_int_equal(out.prot, ux.prot);
}

/* FACTS §3 misconfiguration: R=0 with W=1 (XWR = 010 or 110), at every level. */
static void test_misconfig_write_without_read(void **state)
{
	struct fmts f;
	make_fmts(&f, 46);

	for (size_t i = 0; i < N_SHAPES; i++) {
		int l = SHAPES[i].level;
		enum kind k = SHAPES[i].kind;
		assert_true(misconfig(&f.all, good(l, k, 2), l));
		assert_true(misconfig(&f.all, good(l, k, 6), l));
		assert_true(misconfig(&f.mbec, good(l, k, 2) | NW_EPT_UX, l));
		for (uint64_t xwr = 1; xwr < 8; xwr++)
			if (xwr != 2 && xwr != 6)
				assert_false(misconfig(&f.all, good(l, k, xwr), l));
	}
}

/* FACTS §3: execute-only (XWR = 100) without the capability, at every level. */
static void test_misconfig_exec_only(void **state)
{
	struct fmts f;
	make_fmts(&f, 46);

	for (size_t i = 0; i < N_SHAPES; i++) {
		int l = SHAPES[i].level;
		enum kind k = SHAPES[i].kind;
		assert_false(misconfig(&f.all, good(l, k, 4), l));
		assert_true(misconfig(&f.no_xo, good(l, k, 4), l));
		/* Readable ones are fine either way. */
		assert_false(misconfig(&f.no_xo, good(l, k, 5), l));
		assert_false(misconfig(&f.no_xo, good(l, k, 7), l));
		assert_false(misconfig(&f.no_xo, good(l, k, 1), l));
		/* Without MBEC bit 10 changes nothing; with it, UX-only is execute-only. */
		assert_false(misconfig(&f.no_xo, good(l, k, 0) | NW_EPT_UX, l)); /* not present */
		assert_false(misconfig(&f.mbec, good(l, k, 0) | NW_EPT_UX, l));
		assert_true(misconfig(&f.mbec_no_xo, good(l, k, 0) | NW_EPT_UX, l));
		assert_true(misconfig(&f.mbec_no_xo, good(l, k, 4) | NW_EPT_UX, l));
		assert_false(misconfig(&f.mbec_no_xo, good(l, k, 1) | NW_EPT_UX, l));
	}
}

/* FACTS §3: leaf memory type 2, 3 or 7. */
static void test_misconfig_memtype(void **state)
{
	struct fmts f;
	make_fmts(&f, 46);

	for (int l = 1; l <= 3; l++)
		for (uint64_t mt = 0; mt < 8; mt++) {
			uint64_t e = (good(l, LEAF, 7) & ~NW_EPT_MT_MASK) | (mt << NW_EPT_MT_SHIFT);
			assert_int_equal(misconfig(&f.all, e, l), mt == 2 || mt == 3 || mt == 7);
		}
}

/* FACTS §3: any address bit from MAXPHYADDR to 51, at every level. */
static void test_misconfig_address_bits(void **state)
{
	static const unsigned widths[] = { 36, 39, 46, 52 };

	for (size_t w = 0; w < sizeof(widths) / sizeof(widths[0]); w++) {
		unsigned m = widths[w];
		struct fmts f;
		make_fmts(&f, m);
		for (size_t i = 0; i < N_SHAPES; i++) {
			int l = SHAPES[i].level;
			uint64_t base = (good(l, SHAPES[i].kind, 7) & ~NW_EPT_ADDR_MASK) | (1ull << 30);
			assert_false(misconfig(&f.all, base, l));
			for (unsigned b = 30; b < 64; b++) {
				bool rsvd = b >= m && b <= 51;
				assert_int_equal(misconfig(&f.all, base | (1ull << b), l), rsvd);
			}
		}
	}
}

/* FACTS §3: non-leaf reserved bits, PML4E (and PML5E) 7:3, PDPTE/PDE table 6:3. */
static void test_misconfig_nonleaf_bits(void **state)
{
	struct fmts f;
	make_fmts(&f, 46);

	for (int l = 4; l <= 5; l++)
		for (unsigned b = 3; b <= 7; b++)
			assert_true(misconfig(&f.all, good(l, TABLE, 7) | (1ull << b), l));
	for (int l = 2; l <= 3; l++)
		for (unsigned b = 3; b <= 6; b++)
			assert_true(misconfig(&f.all, good(l, TABLE, 7) | (1ull << b), l));
	/* The same bits are the memory type and ignore-PAT in a leaf. */
	for (int l = 1; l <= 3; l++)
		assert_false(misconfig(&f.all, good(l, LEAF, 7) | NW_EPT_IPAT, l));
}

/* FACTS §3: PS=1 at a level whose page size is not supported. */
static void test_misconfig_page_size(void **state)
{
	struct fmts f;
	make_fmts(&f, 46);

	/* Never in a PML4E or PML5E. */
	assert_true(misconfig(&f.all, good(4, TABLE, 7) | NW_EPT_PS, 4));
	assert_true(misconfig(&f.all, good(5, TABLE, 7) | NW_EPT_PS, 5));
	/* 1 GiB and 2 MiB leaves only with their capabilities. */
	assert_false(misconfig(&f.all, good(3, LEAF, 7), 3));
	assert_false(misconfig(&f.all, good(2, LEAF, 7), 2));
	assert_true(misconfig(&f.no_large, good(3, LEAF, 7), 3));
	assert_true(misconfig(&f.no_large, good(2, LEAF, 7), 2));
	assert_false(misconfig(&f.no_large, good(1, LEAF, 7), 1));
	struct nw_ept_caps c = f.caps;
	struct nw_fmt only2m;
	c.page_1g = false;
	assert_int_equal(nw_fmt_ept_init(&only2m, 46, &c), 0);
	assert_true(misconfig(&only2m, good(3, LEAF, 7), 3));
	assert_false(misconfig(&only2m, good(2, LEAF, 7), 2));
	assert_int_equal(only2m.leaf_levels, (1u << 1) | (1u << 2));
	assert_int_equal(f.no_large.leaf_levels, 1u << 1);
	assert_int_equal(f.all.leaf_levels, (1u << 1) | (1u << 2) | (1u << 3));
}

/* FACTS §3: bits 29:12 of a 1 GiB leaf, bits 20:12 of a 2 MiB leaf. */
static void test_misconfig_alignment(void **state)
{
	struct fmts f;
	make_fmts(&f, 46);

	for (unsigned b = 12; b <= 29; b++)
		assert_true(misconfig(&f.all, good(3, LEAF, 7) | (1ull << b), 3));
	for (unsigned b = 12; b <= 20; b++)
		assert_true(misconfig(&f.all, good(2, LEAF, 7) | (1ull << b), 2));
	assert_false(misconfig(&f.all, good(2, LEAF, 7) | (1ull << 21), 2));
	/* The same bits are plain address bits in tables and PTEs. */
	for (unsigned b = 12; b <= 29; b++) {
		assert_false(misconfig(&f.all, good(1, LEAF, 7) | (1ull << b), 1));
		assert_false(misconfig(&f.all, good(2, TABLE, 7) | (1ull << b), 2));
		assert_false(misconfig(&f.all, good(3, TABLE, 7) | (1ull << b), 3));
	}
}

/* FACTS §3: "Checked only on present entries". A not-present entry never misconfigures. */
static void test_not_present_never_misconfigured(void **state)
{
	struct fmts f;
	make_fmts(&f, 36);
	/* Every bit but the rights: memtype 7, PS, reserved address bits, 7:3... */
	uint64_t junk = ~NW_EPT_RWX;

	for (int l = 1; l <= 5; l++) {
		assert_false(misconfig(&f.all, junk, l));
		assert_false(misconfig(&f.no_xo, junk, l));
		assert_false(misconfig(&f.no_large, junk, l));
		assert_false(misconfig(&f.mbec, junk & ~NW_EPT_UX, l));
		for (unsigned b = 3; b < 64; b++)
			assert_false(misconfig(&f.all, 1ull << b, l));
	}
}

/* Ignored bits (11, 52..62, bit 10 without MBEC, A/D, PTE bit 7, non-leaf 63)
 * neither misconfigure nor change the rights. */
static void test_ignored_bits(void **state)
{
	struct fmts f;
	make_fmts(&f, 46);
	uint64_t ignored[] = { 1ull << 11, NW_EPT_UX, NW_EPT_A, NW_EPT_D, 1ull << 52, 1ull << 57,
			       1ull << 62, 0x7ffull << 52 };

	for (size_t i = 0; i < N_SHAPES; i++) {
		int l = SHAPES[i].level;
		for (uint64_t xwr = 1; xwr < 8; xwr++) {
			uint64_t e = good(l, SHAPES[i].kind, xwr);
			if (misconfig(&f.all, e, l))
				continue; /* 010 and 110 */
			uint32_t prot = f.all.prot(&f.all, e, l);
			for (size_t j = 0; j < sizeof(ignored) / sizeof(ignored[0]); j++) {
				assert_false(misconfig(&f.all, e | ignored[j], l));
				assert_int_equal(f.all.prot(&f.all, e | ignored[j], l), prot);
				assert_true(f.all.present(&f.all, e | ignored[j]));
			}
			/* A and D never grant or take rights under MBEC either. */
			uint64_t m = e | NW_EPT_UX;
			assert_int_equal(f.mbec.prot(&f.mbec, m | NW_EPT_A | NW_EPT_D, l),
					 f.mbec.prot(&f.mbec, m, l));
		}
	}
	/* PTE bit 7; bit 63 of a non-leaf entry (suppress #VE is leaf-only). */
	assert_false(misconfig(&f.all, good(1, LEAF, 7) | NW_EPT_PS, 1));
	for (int l = 2; l <= 5; l++)
		assert_false(misconfig(&f.all, good(l, TABLE, 7) | NW_EPT_SVE, l));
	for (int l = 1; l <= 3; l++)
		assert_false(misconfig(&f.all, good(l, LEAF, 7) | NW_EPT_SVE, l));
}

static void test_attr_ok(void **state)
{
	struct fmts f;
	make_fmts(&f, 46);
	struct nw_attr a = { .memtype = NW_EPT_MT_WB };

	for (uint32_t p = 0; p < 16; p++) {
		a.prot = p;
		bool r = p & NW_PROT_R, w = p & NW_PROT_W, x = p & NW_PROT_X, u = p & NW_PROT_U;
		bool base = (r || w || x) && !(w && !r);
		/* Without MBEC: no U; execute-only only with the capability. */
		assert_int_equal(f.all.attr_ok(&f.all, &a, 1), base && !u);
		assert_int_equal(f.no_xo.attr_ok(&f.no_xo, &a, 1), base && !u && (r || w));
		/* With MBEC, U is user-execute and alone makes an entry present. */
		bool mb = (r || w || x || u) && !(w && !r);
		assert_int_equal(f.mbec.attr_ok(&f.mbec, &a, 1), mb);
		assert_int_equal(f.mbec_no_xo.attr_ok(&f.mbec_no_xo, &a, 1), mb && (r || w));
	}
	a.prot = NW_PROT_RWX;
	for (unsigned mt = 0; mt < 10; mt++) {
		a.memtype = (uint8_t)mt;
		assert_int_equal(f.all.attr_ok(&f.all, &a, 1), mt == 0 || mt == 1 || mt == 4 ||
							       mt == 5 || mt == 6);
	}
	a.memtype = NW_EPT_MT_WB;
	a.prot = NW_PROT_R | 0x10;
	assert_false(f.all.attr_ok(&f.all, &a, 1));
	/* x86-only fields are ignored. */
	a.prot = NW_PROT_R;
	a.global = true;
	a.pkey = 9;
	assert_true(f.all.attr_ok(&f.all, &a, 2));
}

static void test_init_errors(void **state)
{
	struct nw_fmt f;
	assert_int_equal(nw_fmt_ept_init(&f, 35, NULL), -EINVAL);
	assert_int_equal(nw_fmt_ept_init(&f, 53, NULL), -EINVAL);
	assert_int_equal(nw_fmt_ept_init(NULL, 46, NULL), -EINVAL);
	assert_int_equal(nw_fmt_ept_init(&f, 52, NULL), 0);
	assert_string_equal(f.name, "ept");
	assert_int_equal(f.accessed, NW_EPT_A);
	assert_int_equal(f.dirty, NW_EPT_D);
	assert_non_null(f.nested_permit);
	assert_non_null(f.nested_fault);
}

/* ---- EPTP (FACTS §3, the EPTP table) ---- */

static void test_eptp_table(void **state)
{
	struct nw_ept_caps all, c;
	const unsigned m = 46;
	nw_ept_caps_default(&all);
	uint64_t root = 0x123456000ull;
	uint64_t ok4 = nw_ept_make_eptp(root, 4, NW_EPT_MT_WB, false);

	assert_int_equal(ok4, root | 6 | (3 << 3));
	assert_int_equal(nw_ept_eptp_check(ok4, &all, m), 0);
	assert_int_equal(nw_ept_eptp_root(ok4), root);
	assert_int_equal(nw_ept_eptp_levels(ok4), 4);
	assert_false(nw_ept_eptp_ad(ok4));
	assert_int_equal(nw_ept_eptp_memtype(ok4), NW_EPT_MT_WB);
	assert_int_equal(nw_ept_eptp_ep4ta(ok4 | NW_EPTP_AD), root);

	/* | 2:0 | memory type: 0 UC or 6 WB, nothing else | */
	for (unsigned mt = 0; mt < 8; mt++)
		assert_int_equal(nw_ept_eptp_check((ok4 & ~7ull) | mt, &all, m),
				 (mt == 0 || mt == 6) ? 0 : -EINVAL);
	c = all;
	c.eptp_uc = false;
	assert_int_equal(nw_ept_eptp_check(ok4 & ~7ull, &c, m), -EINVAL);
	assert_int_equal(nw_ept_eptp_check(ok4, &c, m), 0);
	c = all;
	c.eptp_wb = false;
	assert_int_equal(nw_ept_eptp_check(ok4, &c, m), -EINVAL);
	assert_int_equal(nw_ept_eptp_check(ok4 & ~7ull, &c, m), 0);

	/* | 5:3 | page-walk length minus 1: 3 = 4-level, 4 = 5-level | */
	for (uint64_t pwl = 0; pwl < 8; pwl++)
		assert_int_equal(nw_ept_eptp_check((ok4 & ~NW_EPTP_PWL_MASK) | (pwl << 3), &all, m),
				 (pwl == 3 || pwl == 4) ? 0 : -EINVAL);
	uint64_t ok5 = nw_ept_make_eptp(root, 5, NW_EPT_MT_WB, false);
	assert_int_equal(nw_ept_eptp_levels(ok5), 5);
	c = all;
	c.walk5 = false;
	assert_int_equal(nw_ept_eptp_check(ok5, &c, m), -EINVAL);
	assert_int_equal(nw_ept_eptp_check(ok4, &c, m), 0);
	c = all;
	c.walk4 = false;
	assert_int_equal(nw_ept_eptp_check(ok4, &c, m), -EINVAL);
	assert_int_equal(nw_ept_eptp_check(ok5, &c, m), 0);

	/* | 6 | enable accessed/dirty flags | (only with the A/D capability) */
	uint64_t ad = nw_ept_make_eptp(root, 4, NW_EPT_MT_WB, true);
	assert_int_equal(ad, ok4 | NW_EPTP_AD);
	assert_true(nw_ept_eptp_ad(ad));
	assert_int_equal(nw_ept_eptp_check(ad, &all, m), 0);
	c = all;
	c.ad = false;
	assert_int_equal(nw_ept_eptp_check(ad, &c, m), -EINVAL);
	assert_int_equal(nw_ept_eptp_check(ok4, &c, m), 0);

	/* | 7 | supervisor shadow-stack control (treat as reserved unless modelled) | */
	assert_int_equal(nw_ept_eptp_check(ok4 | (1ull << 7), &all, m), -EINVAL);
	/* | 11:8 | reserved | */
	for (unsigned b = 8; b <= 11; b++)
		assert_int_equal(nw_ept_eptp_check(ok4 | (1ull << b), &all, m), -EINVAL);
	/* | MAXPHYADDR-1:12 | root | and | 63:MAXPHYADDR | reserved | */
	for (unsigned b = 12; b < 64; b++)
		assert_int_equal(nw_ept_eptp_check(ok4 | (1ull << b), &all, m),
				 b < m ? 0 : -EINVAL);
	assert_int_equal(nw_ept_eptp_check(ok4 | (1ull << 51), &all, 52), 0);
	assert_int_equal(nw_ept_eptp_check(ok4 | (1ull << 52), &all, 52), -EINVAL);
	assert_int_equal(nw_ept_eptp_check(ok4 | (1ull << 36), &all, 36), -EINVAL);
	/* NULL caps is the default; a bad MAXPHYADDR is refused. */
	assert_int_equal(nw_ept_eptp_check(ad, NULL, m), 0);
	assert_int_equal(nw_ept_eptp_check(ok4, &all, 30), -EINVAL);
}

/* ---- IA32_VMX_EPT_VPID_CAP ---- */

static void test_caps_msr(void **state)
{
	struct nw_ept_caps c, back;

	nw_ept_caps_default(&c);
	assert_false(c.mbec);
	/* FACTS §3 bit numbers: 0, 6, 7, 8, 14, 16, 17, 20, 21, 22, 25, 26. */
	uint64_t want = (1ull << 0) | (1ull << 6) | (1ull << 7) | (1ull << 8) | (1ull << 14) |
			(1ull << 16) | (1ull << 17) | (1ull << 20) | (1ull << 21) | (1ull << 22) |
			(1ull << 25) | (1ull << 26);
	assert_int_equal(nw_ept_caps_to_msr(&c), want);
	nw_ept_caps_from_msr(&back, want);
	assert_memory_equal(&back, &c, sizeof(c));
	/* INVVPID bits and unknown bits are not EPT capabilities. */
	nw_ept_caps_from_msr(&back, want | NW_EPT_CAP_INVVPID | (0xfull << 40) | (1ull << 63));
	assert_memory_equal(&back, &c, sizeof(c));

	/* Each capability alone, both ways. */
	bool *fields[] = { &c.exec_only, &c.walk4, &c.walk5, &c.eptp_uc, &c.eptp_wb, &c.page_2m,
			   &c.page_1g, &c.ad, &c.adv_exit_info, &c.invept_single, &c.invept_all };
	uint64_t bits[] = { 1ull << 0, 1ull << 6, 1ull << 7, 1ull << 8, 1ull << 14, 1ull << 16,
			    1ull << 17, 1ull << 21, 1ull << 22, (1ull << 20) | (1ull << 25),
			    (1ull << 20) | (1ull << 26) };
	for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++) {
		memset(&c, 0, sizeof(c));
		*fields[i] = true;
		assert_int_equal(nw_ept_caps_to_msr(&c), bits[i]);
		nw_ept_caps_from_msr(&back, bits[i]);
		assert_memory_equal(&back, &c, sizeof(c));
	}
	/* INVEPT types mean nothing without bit 20. */
	nw_ept_caps_from_msr(&back, NW_EPT_CAP_INVEPT_SINGLE | NW_EPT_CAP_INVEPT_ALL);
	assert_false(back.invept_single);
	assert_false(back.invept_all);
	/* Every subset of the modelled bits survives the round trip. */
	struct nw_rng rng = { 42 };
	for (int i = 0; i < 1000; i++) {
		uint64_t msr = nw_rng_next(&rng) & want;
		if (!(msr & NW_EPT_CAP_INVEPT))
			msr &= ~(NW_EPT_CAP_INVEPT_SINGLE | NW_EPT_CAP_INVEPT_ALL);
		if (!(msr & (NW_EPT_CAP_INVEPT_SINGLE | NW_EPT_CAP_INVEPT_ALL)))
			msr &= ~NW_EPT_CAP_INVEPT;
		nw_ept_caps_from_msr(&back, msr);
		assert_int_equal(nw_ept_caps_to_msr(&back), msr);
	}
	/* MBEC is not in this MSR. */
	nw_ept_caps_default(&c);
	c.mbec = true;
	nw_ept_caps_from_msr(&back, nw_ept_caps_to_msr(&c));
	assert_false(back.mbec);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_present_and_prot),
		cmocka_unit_test(test_leaf_addr_attr),
		cmocka_unit_test(test_make_roundtrip),
		cmocka_unit_test(test_misconfig_write_without_read),
		cmocka_unit_test(test_misconfig_exec_only),
		cmocka_unit_test(test_misconfig_memtype),
		cmocka_unit_test(test_misconfig_address_bits),
		cmocka_unit_test(test_misconfig_nonleaf_bits),
		cmocka_unit_test(test_misconfig_page_size),
		cmocka_unit_test(test_misconfig_alignment),
		cmocka_unit_test(test_not_present_never_misconfigured),
		cmocka_unit_test(test_ignored_bits),
		cmocka_unit_test(test_attr_ok),
		cmocka_unit_test(test_init_errors),
		cmocka_unit_test(test_eptp_table),
		cmocka_unit_test(test_caps_msr),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
