/* SPDX-License-Identifier: MIT */
/*
 * Golden rows for nw_walk_x86(): each test is one small, explicit case with
 * literal expected values, and quotes the FACTS.md §2 rule it checks. No
 * oracle and no enumeration: if a row and the walker disagree, one of them
 * (or FACTS.md) is wrong, and the row says which rule to read.
 *
 * Every row starts from a fresh arena with six zeroed table frames. Entries
 * are written raw through the plain accessor.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nw_test.h"

/*
 * VA_A = 0x000052f0cfd559ab: PML4 index 0x0a5, PDPT 0x1c3, PD 0x07e,
 * PT 0x155, offset 0x9ab (0x1559ab within 2 MiB, 0xfd559ab within 1 GiB).
 */
#define VA_A 0x000052f0cfd559abull
#define I4 0x0a5u
#define I3 0x1c3u
#define I2 0x07eu
#define I1 0x155u

/* VA_5 = 0xfff0d2f0cfd559ab: 57-bit canonical, PML5 index 0x1f0, PML4 0x1a5,
 * and below as VA_A. */
#define VA_5 0xfff0d2f0cfd559abull
#define I5_5 0x1f0u
#define I4_5 0x1a5u

/* Literal entry bits, so that a wrong constant in x86.h cannot hide. */
#define P 0x1ull
#define RW 0x2ull
#define US 0x4ull
#define A 0x20ull
#define D 0x40ull
#define PS 0x80ull
#define XD (1ull << 63)
#define PRW (P | RW)
#define PRWU (P | RW | US)

#define DATA_4K 0x3a5c7000ull
#define DATA_2M 0x3a400000ull
#define DATA_1G 0x40000000ull

struct g {
	struct nw_mem *mem;
	struct nw_fmt fmt;  /* MAXPHYADDR 46 unless a row says otherwise */
	struct nw_acc acc;
	uint64_t pml5, pml4, pdpt, pd, pt;
	struct nw_walk w;
};

static int g_setup(void **state)
{
	struct g *g = calloc(1, sizeof(*g));
	assert_non_null(g);
	g->mem = nw_test_arena(1ull << 20, 46);
	assert_int_equal(nw_fmt_x86_init(&g->fmt, 46, 0), 0);
	nw_acc_plain(&g->acc, g->mem);
	assert_int_equal(nw_mem_alloc(g->mem, &g->pml5), 0);
	assert_int_equal(nw_mem_alloc(g->mem, &g->pml4), 0);
	assert_int_equal(nw_mem_alloc(g->mem, &g->pdpt), 0);
	assert_int_equal(nw_mem_alloc(g->mem, &g->pd), 0);
	assert_int_equal(nw_mem_alloc(g->mem, &g->pt), 0);
	*state = g;
	return 0;
}

static int g_teardown(void **state)
{
	struct g *g = *state;
	nw_mem_destroy(g->mem);
	free(g);
	return 0;
}

static void put(struct g *g, uint64_t table, unsigned idx, uint64_t e)
{
	nw_acc_write(&g->acc, table + 8ull * idx, e);
}

static uint64_t get(struct g *g, uint64_t table, unsigned idx)
{
	return nw_acc_read(&g->acc, table + 8ull * idx);
}

/* The three upper levels of VA_A, each P|RW|US, A clear. */
static void upper(struct g *g)
{
	put(g, g->pml4, I4, g->pdpt | PRWU);
	put(g, g->pdpt, I3, g->pd | PRWU);
	put(g, g->pd, I2, g->pt | PRWU);
}

/* CR0.WP=1, EFER.NXE=1, 4-level, everything else off. */
static struct nw_x86_mode mode4(void)
{
	struct nw_x86_mode m = { .levels = 4, .wp = true, .nxe = true };
	return m;
}

static int walk(struct g *g, uint64_t va, unsigned access, struct nw_x86_mode m)
{
	memset(&g->w, 0x5a, sizeof(g->w));
	return nw_walk_x86(&g->fmt, &g->acc, m.levels == 5 ? g->pml5 : g->pml4, va, access,
			   &m, &g->w);
}

/* The walk faults with exactly this error code. */
static void expect_pf(struct g *g, uint32_t error)
{
	assert_int_equal(g->w.fault, NW_FAULT_PF);
	assert_int_equal(g->w.pf_error, error);
}

static void expect_ok(struct g *g, uint64_t pa)
{
	assert_int_equal(g->w.fault, NW_FAULT_NONE);
	assert_int_equal(g->w.pa, pa);
}

/* ---- entry bits and error code -------------------------------------------------- */

/* "Entry bits. P 0, R/W 1, U/S 2, PWT 3, PCD 4, A 5, D 6, PS 7, G 8, PAT (bit 12
 * in large leaves, bit 7 in 4 KiB PTEs), ... protection key 62:59, XD 63."
 * "#PF error code. P 0, W 1, U 2, RSVD 3, I/D 4, PK 5, SS 6, SGX 15." */
static void g_bit_constants(void **state)
{
	assert_int_equal(NW_PTE_P, 0x1);
	assert_int_equal(NW_PTE_RW, 0x2);
	assert_int_equal(NW_PTE_US, 0x4);
	assert_int_equal(NW_PTE_PWT, 0x8);
	assert_int_equal(NW_PTE_PCD, 0x10);
	assert_int_equal(NW_PTE_A, 0x20);
	assert_int_equal(NW_PTE_D, 0x40);
	assert_int_equal(NW_PTE_PS, 0x80);
	assert_int_equal(NW_PTE_PAT_4K, 0x80);
	assert_int_equal(NW_PTE_G, 0x100);
	assert_int_equal(NW_PTE_PAT_LARGE, 0x1000);
	assert_int_equal(NW_PTE_PKEY_MASK, 0x7800000000000000ull);
	assert_int_equal(NW_PTE_XD, 0x8000000000000000ull);
	assert_int_equal(NW_PFEC_P | NW_PFEC_W | NW_PFEC_U | NW_PFEC_RSVD | NW_PFEC_ID |
				 NW_PFEC_PK | NW_PFEC_SS | NW_PFEC_SGX,
			 0x807f);
}

/* ---- translations and the reference log ------------------------------------------- */

/* A 4-level walk to a 4 KiB page reads exactly 4 entries, root first: the
 * reference log has their HPAs, levels 4..1, dimension 'g', and their values. */
static void g_4k_translation_and_refs(void **state)
{
	struct g *g = *state;
	upper(g);
	put(g, g->pt, I1, DATA_4K | PRWU);
	assert_int_equal(walk(g, VA_A, NW_ACC_READ, mode4()), 0);
	expect_ok(g, 0x3a5c79abull);
	assert_int_equal(g->w.level, 1);
	assert_int_equal(g->w.page_size, 0x1000);
	/* "writable = ... & pde.W & pte.W; user = ...; exec = !pde.NX & !pte.NX" */
	assert_int_equal(g->w.prot, NW_PROT_R | NW_PROT_W | NW_PROT_X | NW_PROT_U);
	assert_int_equal(g->w.n_refs, 4);
	assert_int_equal(g->w.refs[0].pa, g->pml4 + 0x528);
	assert_int_equal(g->w.refs[1].pa, g->pdpt + 0xe18);
	assert_int_equal(g->w.refs[2].pa, g->pd + 0x3f0);
	assert_int_equal(g->w.refs[3].pa, g->pt + 0xaa8);
	assert_int_equal(g->w.refs[0].entry, g->pdpt | 0x7);
	assert_int_equal(g->w.refs[3].entry, 0x3a5c7007ull);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(g->w.refs[i].level, 4 - i);
		assert_int_equal(g->w.refs[i].dim, 'g');
	}
}

/* "After a successful walk, A is set in every entry used" (a read sets no D). */
static void g_read_sets_a_everywhere(void **state)
{
	struct g *g = *state;
	upper(g);
	put(g, g->pt, I1, DATA_4K | PRWU);
	assert_int_equal(walk(g, VA_A, NW_ACC_READ, mode4()), 0);
	expect_ok(g, 0x3a5c79abull);
	assert_int_equal(get(g, g->pml4, I4), g->pdpt | 0x27);
	assert_int_equal(get(g, g->pdpt, I3), g->pd | 0x27);
	assert_int_equal(get(g, g->pd, I2), g->pt | 0x27);
	assert_int_equal(get(g, g->pt, I1), 0x3a5c7027ull);
	assert_int_equal(g->w.n_ad, 4);
	for (int i = 0; i < 4; i++)
		assert_int_equal(g->w.ad[i].bits, 0x20);
}

/* "... and D in the leaf on a write." Not in the upper levels. */
static void g_write_sets_d_in_leaf_only(void **state)
{
	struct g *g = *state;
	upper(g);
	put(g, g->pt, I1, DATA_4K | PRWU);
	assert_int_equal(walk(g, VA_A, NW_ACC_WRITE, mode4()), 0);
	expect_ok(g, 0x3a5c79abull);
	assert_int_equal(get(g, g->pd, I2), g->pt | 0x27);
	assert_int_equal(get(g, g->pt, I1), 0x3a5c7067ull);
	assert_int_equal(g->w.n_ad, 4);
	bool leaf_seen = false;
	for (int i = 0; i < 4; i++) {
		if (g->w.ad[i].pa == g->pt + 0xaa8) {
			assert_int_equal(g->w.ad[i].bits, 0x60);
			leaf_seen = true;
		} else {
			assert_int_equal(g->w.ad[i].bits, 0x20);
		}
	}
	assert_true(leaf_seen);
}

/* A/D already set: nothing to write, and the log says so. The reference log
 * holds the values read, before any update. */
static void g_ad_already_set(void **state)
{
	struct g *g = *state;
	put(g, g->pml4, I4, g->pdpt | PRWU | A);
	put(g, g->pdpt, I3, g->pd | PRWU | A);
	put(g, g->pd, I2, g->pt | PRWU | A);
	put(g, g->pt, I1, DATA_4K | PRWU | A);
	assert_int_equal(walk(g, VA_A, NW_ACC_WRITE, mode4()), 0);
	expect_ok(g, 0x3a5c79abull);
	assert_int_equal(g->w.n_ad, 1);
	assert_int_equal(g->w.ad[0].pa, g->pt + 0xaa8);
	assert_int_equal(g->w.ad[0].bits, 0x40);
	assert_int_equal(g->w.refs[3].entry, 0x3a5c7027ull);
	assert_int_equal(get(g, g->pt, I1), 0x3a5c7067ull);
}

/* "A faulting access never sets A or D in its leaf" and nestwalk's policy
 * (walk.h): "A faulting walk writes nothing." */
static void g_fault_writes_nothing(void **state)
{
	struct g *g = *state;
	upper(g);
	put(g, g->pt, I1, DATA_4K | P | US); /* read-only */
	assert_int_equal(walk(g, VA_A, NW_ACC_WRITE | NW_ACC_USER, mode4()), 0);
	expect_pf(g, 0x07);
	assert_int_equal(g->w.n_ad, 0);
	assert_int_equal(get(g, g->pml4, I4), g->pdpt | 0x7);
	assert_int_equal(get(g, g->pdpt, I3), g->pd | 0x7);
	assert_int_equal(get(g, g->pd, I2), g->pt | 0x7);
	assert_int_equal(get(g, g->pt, I1), 0x3a5c7005ull);
}

/* A 2 MiB leaf (PS in the PDE) ends the walk early: 3 references. */
static void g_2m_leaf_three_refs(void **state)
{
	struct g *g = *state;
	put(g, g->pml4, I4, g->pdpt | PRWU);
	put(g, g->pdpt, I3, g->pd | PRWU);
	put(g, g->pd, I2, DATA_2M | PRWU | PS);
	assert_int_equal(walk(g, VA_A, NW_ACC_WRITE, mode4()), 0);
	expect_ok(g, 0x3a5559abull);
	assert_int_equal(g->w.level, 2);
	assert_int_equal(g->w.page_size, 0x200000);
	assert_int_equal(g->w.n_refs, 3);
	assert_int_equal(g->w.refs[2].pa, g->pd + 0x3f0);
	assert_int_equal(g->w.refs[2].level, 2);
	assert_int_equal(get(g, g->pd, I2), 0x3a4000e7ull); /* A and D in the leaf */
}

/* A 1 GiB leaf (PS in the PDPTE): 2 references. */
static void g_1g_leaf_two_refs(void **state)
{
	struct g *g = *state;
	put(g, g->pml4, I4, g->pdpt | PRWU);
	put(g, g->pdpt, I3, DATA_1G | PRWU | PS);
	assert_int_equal(walk(g, VA_A, NW_ACC_READ, mode4()), 0);
	expect_ok(g, 0x4fd559abull);
	assert_int_equal(g->w.level, 3);
	assert_int_equal(g->w.page_size, 0x40000000);
	assert_int_equal(g->w.n_refs, 2);
	assert_int_equal(g->w.refs[1].pa, g->pdpt + 0xe18);
	assert_int_equal(g->w.refs[1].level, 3);
}

/* 5-level (CR4.LA57): 5 references, levels 5..1, from the PML5. */
static void g_5level_five_refs(void **state)
{
	struct g *g = *state;
	struct nw_x86_mode m = mode4();
	m.levels = 5;
	put(g, g->pml5, I5_5, g->pml4 | PRWU);
	put(g, g->pml4, I4_5, g->pdpt | PRWU);
	put(g, g->pdpt, I3, g->pd | PRWU);
	put(g, g->pd, I2, g->pt | PRWU);
	put(g, g->pt, I1, DATA_4K | PRWU);
	assert_int_equal(walk(g, VA_5, NW_ACC_READ, m), 0);
	expect_ok(g, 0x3a5c79abull);
	assert_int_equal(g->w.n_refs, 5);
	assert_int_equal(g->w.refs[0].pa, g->pml5 + 0xf80);
	assert_int_equal(g->w.refs[1].pa, g->pml4 + 0xd28);
	assert_int_equal(g->w.refs[4].pa, g->pt + 0xaa8);
	for (int i = 0; i < 5; i++)
		assert_int_equal(g->w.refs[i].level, 5 - i);
	assert_int_equal(get(g, g->pml5, I5_5), g->pml4 | 0x27);
}

/* A non-canonical address is a #GP, not a #PF: -ERANGE. */
static void g_noncanonical_erange(void **state)
{
	struct g *g = *state;
	struct nw_x86_mode m5 = mode4();
	m5.levels = 5;
	assert_int_equal(walk(g, 0x0000800000000000ull, NW_ACC_READ, mode4()), -ERANGE);
	assert_int_equal(walk(g, 0xfffe000000000000ull, NW_ACC_READ, mode4()), -ERANGE);
	/* Canonical in 57 bits but not in 48. */
	assert_int_equal(walk(g, 0x0080000000000000ull, NW_ACC_READ, mode4()), -ERANGE);
	assert_int_equal(walk(g, 0x0080000000000000ull, NW_ACC_READ, m5), 0);
	expect_pf(g, 0x00);
	assert_int_equal(walk(g, 0x0100000000000000ull, NW_ACC_READ, m5), -ERANGE);
	assert_int_equal(walk(g, 0x8000000000000000ull, NW_ACC_READ, m5), -ERANGE);
}

/* A bad mode (levels other than 4 or 5): -EINVAL. */
static void g_bad_mode_einval(void **state)
{
	struct g *g = *state;
	struct nw_x86_mode m = mode4();
	/* 0x1000 is canonical at any width, so only the mode is wrong. */
	m.levels = 3;
	assert_int_equal(walk(g, 0x1000, NW_ACC_READ, m), -EINVAL);
	m.levels = 6;
	assert_int_equal(walk(g, 0x1000, NW_ACC_READ, m), -EINVAL);
}

/* ---- not present, reserved bits ------------------------------------------------- */

/* "A not-present entry clears P": an empty PML4 faults at level 4 with 1 ref. */
static void g_not_present_pml4e(void **state)
{
	struct g *g = *state;
	assert_int_equal(walk(g, VA_A, NW_ACC_READ, mode4()), 0);
	expect_pf(g, 0x00);
	assert_int_equal(g->w.fault_addr, VA_A);
	assert_int_equal(g->w.fault_level, 4);
	assert_int_equal(g->w.n_refs, 1);
}

/* Not-present PTE, user write: P=0, W=1, U=1 -> 0x06, at level 1. */
static void g_not_present_pte_user_write(void **state)
{
	struct g *g = *state;
	upper(g);
	put(g, g->pt, I1, DATA_4K | RW | US); /* P clear */
	assert_int_equal(walk(g, VA_A, NW_ACC_WRITE | NW_ACC_USER, mode4()), 0);
	expect_pf(g, 0x06);
	assert_int_equal(g->w.fault_level, 1);
	assert_int_equal(g->w.fault_addr, VA_A);
	assert_int_equal(g->w.n_refs, 4);
}

/* A not-present entry's reserved bits are ignored: P=0 with bit 51 set under
 * MAXPHYADDR 46 is a plain not-present fault, not RSVD. */
static void g_not_present_ignores_reserved(void **state)
{
	struct g *g = *state;
	upper(g);
	put(g, g->pt, I1, (1ull << 51) | (1ull << 63) | RW);
	assert_int_equal(walk(g, VA_A, NW_ACC_READ, mode4()), 0);
	expect_pf(g, 0x00);
}

/* "PS is reserved in the PML4E and PML5E." -> RSVD|P = 0x09 at level 4. */
static void g_ps_reserved_in_pml4e(void **state)
{
	struct g *g = *state;
	put(g, g->pml4, I4, g->pdpt | PRWU | PS);
	assert_int_equal(walk(g, VA_A, NW_ACC_READ, mode4()), 0);
	expect_pf(g, 0x09);
	assert_int_equal(g->w.fault_level, 4);
	assert_int_equal(g->w.n_refs, 1);
	assert_int_equal(g->w.n_ad, 0);
}

/* "PS is reserved in the PML4E and PML5E." -> 0x09 at level 5. */
static void g_ps_reserved_in_pml5e(void **state)
{
	struct g *g = *state;
	struct nw_x86_mode m = mode4();
	m.levels = 5;
	put(g, g->pml5, I5_5, g->pml4 | PRWU | PS);
	assert_int_equal(walk(g, VA_5, NW_ACC_READ, m), 0);
	expect_pf(g, 0x09);
	assert_int_equal(g->w.fault_level, 5);
	assert_int_equal(g->w.n_refs, 1);
}

/* "XD is reserved when EFER.NXE = 0." A read gives RSVD|P = 0x09. */
static void g_xd_reserved_without_nxe(void **state)
{
	struct g *g = *state;
	struct nw_x86_mode m = mode4();
	m.nxe = false;
	upper(g);
	put(g, g->pt, I1, DATA_4K | PRWU | XD);
	assert_int_equal(walk(g, VA_A, NW_ACC_READ, m), 0);
	expect_pf(g, 0x09);
	assert_int_equal(g->w.fault_level, 1);
}

/* "A reserved bit gives RSVD with P=1", with W and U of the access: 0x0f. */
static void g_reserved_user_write(void **state)
{
	struct g *g = *state;
	upper(g);
	put(g, g->pt, I1, DATA_4K | PRWU | (1ull << 50)); /* >= MAXPHYADDR 46 */
	assert_int_equal(walk(g, VA_A, NW_ACC_WRITE | NW_ACC_USER, mode4()), 0);
	expect_pf(g, 0x0f);
}

/* "Bits MAXPHYADDR..51 of every entry are reserved": bit 46 is reserved under
 * MAXPHYADDR 46 and an address bit under 47. */
static void g_maxphyaddr_boundary(void **state)
{
	struct g *g = *state;
	struct nw_fmt f47;
	upper(g);
	put(g, g->pt, I1, DATA_4K | PRWU | (1ull << 46));
	assert_int_equal(walk(g, VA_A, NW_ACC_READ, mode4()), 0);
	expect_pf(g, 0x09);
	assert_int_equal(nw_fmt_x86_init(&f47, 47, 0), 0);
	struct nw_x86_mode m = mode4();
	assert_int_equal(nw_walk_x86(&f47, &g->acc, g->pml4, VA_A, NW_ACC_READ, &m, &g->w), 0);
	expect_ok(g, 0x40003a5c79abull);
}

/* "Bit 51 is reserved only when MAXPHYADDR < 52, and bit 36 only when
 * MAXPHYADDR <= 36." */
static void g_bits_51_and_36(void **state)
{
	struct g *g = *state;
	struct nw_fmt f36, f37, f51, f52;
	struct nw_x86_mode m = mode4();
	assert_int_equal(nw_fmt_x86_init(&f36, 36, 0), 0);
	assert_int_equal(nw_fmt_x86_init(&f37, 37, 0), 0);
	assert_int_equal(nw_fmt_x86_init(&f51, 51, 0), 0);
	assert_int_equal(nw_fmt_x86_init(&f52, 52, 0), 0);
	upper(g);

	put(g, g->pt, I1, DATA_4K | PRWU | (1ull << 36));
	assert_int_equal(nw_walk_x86(&f36, &g->acc, g->pml4, VA_A, 0, &m, &g->w), 0);
	expect_pf(g, 0x09);
	put(g, g->pt, I1, DATA_4K | PRWU | (1ull << 36));
	assert_int_equal(nw_walk_x86(&f37, &g->acc, g->pml4, VA_A, 0, &m, &g->w), 0);
	expect_ok(g, 0x103a5c79abull);

	put(g, g->pt, I1, DATA_4K | PRWU | (1ull << 51));
	assert_int_equal(nw_walk_x86(&f51, &g->acc, g->pml4, VA_A, 0, &m, &g->w), 0);
	expect_pf(g, 0x09);
	put(g, g->pt, I1, DATA_4K | PRWU | (1ull << 51));
	assert_int_equal(nw_walk_x86(&f52, &g->acc, g->pml4, VA_A, 0, &m, &g->w), 0);
	expect_ok(g, 0x800003a5c79abull);
}

/* "Bit 13 is reserved in a 2 MiB or 1 GiB leaf ... and is an address bit
 * everywhere else": in a 2 MiB leaf it is RSVD ... */
static void g_bit13_reserved_in_2m_leaf(void **state)
{
	struct g *g = *state;
	put(g, g->pml4, I4, g->pdpt | PRWU);
	put(g, g->pdpt, I3, g->pd | PRWU);
	put(g, g->pd, I2, DATA_2M | PRWU | PS | (1ull << 13));
	assert_int_equal(walk(g, VA_A, NW_ACC_READ, mode4()), 0);
	expect_pf(g, 0x09);
	assert_int_equal(g->w.fault_level, 2);
	/* "2 MiB leaves need bits 20:13 zero": bit 20 too. */
	put(g, g->pd, I2, DATA_2M | PRWU | PS | (1ull << 20));
	assert_int_equal(walk(g, VA_A, NW_ACC_READ, mode4()), 0);
	expect_pf(g, 0x09);
}

/* ... and in a PTE it is part of the page address. */
static void g_bit13_address_in_pte(void **state)
{
	struct g *g = *state;
	upper(g);
	put(g, g->pt, I1, 0x3a5c2000ull | PRWU); /* bit 13 set */
	assert_int_equal(walk(g, VA_A, NW_ACC_READ, mode4()), 0);
	expect_ok(g, 0x3a5c29abull);
}

/* ... and in a PDE that points to a table it is part of the table address. */
static void g_bit13_address_in_nonleaf_pde(void **state)
{
	struct g *g = *state;
	uint64_t frames[8], pt_lo = 0, pt_hi = 0;
	/* Two frames X and X | 0x2000 with X's bit 13 clear. */
	for (int n = 0; n < 8 && !pt_hi; n++) {
		assert_int_equal(nw_mem_alloc(g->mem, &frames[n]), 0);
		for (int i = 0; i < n; i++)
			if (!(frames[i] & 0x2000) && frames[n] == (frames[i] | 0x2000)) {
				pt_lo = frames[i];
				pt_hi = frames[n];
			}
	}
	assert_true(pt_hi != 0);
	put(g, g->pml4, I4, g->pdpt | PRWU);
	put(g, g->pdpt, I3, g->pd | PRWU);
	put(g, g->pd, I2, pt_lo | 0x2000 | PRWU);
	put(g, pt_lo, I1, 0);
	put(g, pt_hi, I1, DATA_4K | PRWU);
	assert_int_equal(walk(g, VA_A, NW_ACC_READ, mode4()), 0);
	expect_ok(g, 0x3a5c79abull);
	assert_int_equal(g->w.refs[3].pa, pt_hi + 0xaa8);
}

/* "1 GiB leaves need bits 29:13 zero": bit 13 and bit 29 are RSVD at level 3. */
static void g_1g_alignment_bits_29_13(void **state)
{
	struct g *g = *state;
	put(g, g->pml4, I4, g->pdpt | PRWU);
	put(g, g->pdpt, I3, DATA_1G | PRWU | PS | (1ull << 13));
	assert_int_equal(walk(g, VA_A, NW_ACC_READ, mode4()), 0);
	expect_pf(g, 0x09);
	assert_int_equal(g->w.fault_level, 3);
	put(g, g->pdpt, I3, DATA_1G | PRWU | PS | (1ull << 29));
	assert_int_equal(walk(g, VA_A, NW_ACC_READ, mode4()), 0);
	expect_pf(g, 0x09);
	put(g, g->pdpt, I3, DATA_1G | PRWU | PS | (1ull << 21));
	assert_int_equal(walk(g, VA_A, NW_ACC_READ, mode4()), 0);
	expect_pf(g, 0x09);
}

/* "PAT (bit 12 in large leaves ...)": bit 12 of a 2 MiB or 1 GiB leaf is not
 * reserved, and not part of the address. */
static void g_pat_bit12_in_large_leaf(void **state)
{
	struct g *g = *state;
	put(g, g->pml4, I4, g->pdpt | PRWU);
	put(g, g->pdpt, I3, g->pd | PRWU);
	put(g, g->pd, I2, DATA_2M | PRWU | PS | 0x1000);
	assert_int_equal(walk(g, VA_A, NW_ACC_READ, mode4()), 0);
	expect_ok(g, 0x3a5559abull);
	put(g, g->pdpt, I3, DATA_1G | PRWU | PS | 0x1000);
	assert_int_equal(walk(g, VA_A, NW_ACC_READ, mode4()), 0);
	expect_ok(g, 0x4fd559abull);
}

/* "PAT (... bit 7 in 4 KiB PTEs)": bit 7 of a PTE is PAT, not PS. */
static void g_pat_bit7_in_pte(void **state)
{
	struct g *g = *state;
	upper(g);
	put(g, g->pt, I1, DATA_4K | PRWU | 0x80);
	assert_int_equal(walk(g, VA_A, NW_ACC_READ, mode4()), 0);
	expect_ok(g, 0x3a5c79abull);
	assert_int_equal(g->w.level, 1);
}

/* ---- I/D, permissions ------------------------------------------------------------- */

/* "I/D is reported only when EFER.NXE or CR4.SMEP is set." A fetch from a
 * not-present page: 0x00 with neither, 0x10 with NXE, 0x10 with SMEP alone. */
static void g_id_only_with_nxe_or_smep(void **state)
{
	struct g *g = *state;
	struct nw_x86_mode m = mode4();
	upper(g);
	m.nxe = false;
	assert_int_equal(walk(g, VA_A, NW_ACC_FETCH, m), 0);
	expect_pf(g, 0x00);
	m.nxe = true;
	assert_int_equal(walk(g, VA_A, NW_ACC_FETCH, m), 0);
	expect_pf(g, 0x10);
	m.nxe = false;
	m.smep = true;
	assert_int_equal(walk(g, VA_A, NW_ACC_FETCH, m), 0);
	expect_pf(g, 0x10);
}

/* "It is executable only if no level has XD=1 (with NXE set)": XD in the
 * PML4E makes a fetch fault (P|I/D = 0x11); a read succeeds without X. */
static void g_xd_in_upper_level(void **state)
{
	struct g *g = *state;
	upper(g);
	put(g, g->pml4, I4, g->pdpt | PRWU | XD);
	put(g, g->pt, I1, DATA_4K | PRWU);
	assert_int_equal(walk(g, VA_A, NW_ACC_FETCH, mode4()), 0);
	expect_pf(g, 0x11);
	assert_int_equal(walk(g, VA_A, NW_ACC_READ, mode4()), 0);
	expect_ok(g, 0x3a5c79abull);
	assert_int_equal(g->w.prot, NW_PROT_R | NW_PROT_W | NW_PROT_U);
}

/* "A page is writable only if every level has R/W=1": R/W=0 in the PDPTE
 * makes a supervisor write fault under CR0.WP=1 (0x03), prot without W. */
static void g_rw_every_level(void **state)
{
	struct g *g = *state;
	upper(g);
	put(g, g->pdpt, I3, g->pd | P | US);
	put(g, g->pt, I1, DATA_4K | PRWU);
	assert_int_equal(walk(g, VA_A, NW_ACC_WRITE, mode4()), 0);
	expect_pf(g, 0x03);
	assert_int_equal(g->w.fault_level, 1);
	assert_int_equal(walk(g, VA_A, NW_ACC_READ, mode4()), 0);
	assert_int_equal(g->w.prot, NW_PROT_R | NW_PROT_X | NW_PROT_U);
}

/* "It is user-accessible only if every level has U/S=1": U/S=0 in the PML4E,
 * user read -> P|U = 0x05. */
static void g_us_every_level(void **state)
{
	struct g *g = *state;
	upper(g);
	put(g, g->pml4, I4, g->pdpt | PRW);
	put(g, g->pt, I1, DATA_4K | PRWU);
	assert_int_equal(walk(g, VA_A, NW_ACC_USER, mode4()), 0);
	expect_pf(g, 0x05);
	assert_int_equal(walk(g, VA_A, NW_ACC_READ, mode4()), 0);
	assert_int_equal(g->w.prot, NW_PROT_R | NW_PROT_W | NW_PROT_X);
}

/* "A supervisor write to a read-only page is allowed when CR0.WP = 0." With
 * CR0.WP = 1 it faults with P|W = 0x03. The leaf gets D either way it
 * succeeds; rights still say read-only. */
static void g_wp0_supervisor_write(void **state)
{
	struct g *g = *state;
	struct nw_x86_mode m = mode4();
	upper(g);
	put(g, g->pt, I1, DATA_4K | P | US);
	assert_int_equal(walk(g, VA_A, NW_ACC_WRITE, m), 0);
	expect_pf(g, 0x03);
	m.wp = false;
	assert_int_equal(walk(g, VA_A, NW_ACC_WRITE, m), 0);
	expect_ok(g, 0x3a5c79abull);
	assert_int_equal(g->w.prot, NW_PROT_R | NW_PROT_X | NW_PROT_U);
	assert_int_equal(get(g, g->pt, I1), 0x3a5c7065ull);
}

/* CR0.WP = 0 does not help a user write: P|W|U = 0x07. */
static void g_wp0_user_write_faults(void **state)
{
	struct g *g = *state;
	struct nw_x86_mode m = mode4();
	m.wp = false;
	upper(g);
	put(g, g->pt, I1, DATA_4K | P | US);
	assert_int_equal(walk(g, VA_A, NW_ACC_WRITE | NW_ACC_USER, m), 0);
	expect_pf(g, 0x07);
}

/* "SMEP: a supervisor fetch from a user page faults" (0x11); without SMEP
 * it succeeds, and a user fetch is not affected. */
static void g_smep(void **state)
{
	struct g *g = *state;
	struct nw_x86_mode m = mode4();
	upper(g);
	put(g, g->pt, I1, DATA_4K | PRWU);
	assert_int_equal(walk(g, VA_A, NW_ACC_FETCH, m), 0);
	expect_ok(g, 0x3a5c79abull);
	m.smep = true;
	assert_int_equal(walk(g, VA_A, NW_ACC_FETCH, m), 0);
	expect_pf(g, 0x11);
	assert_int_equal(walk(g, VA_A, NW_ACC_FETCH | NW_ACC_USER, m), 0);
	expect_ok(g, 0x3a5c79abull);
}

/* "SMAP: a supervisor data access to a user page faults unless EFLAGS.AC = 1." */
static void g_smap_ac(void **state)
{
	struct g *g = *state;
	struct nw_x86_mode m = mode4();
	m.smap = true;
	upper(g);
	put(g, g->pt, I1, DATA_4K | PRWU);
	assert_int_equal(walk(g, VA_A, NW_ACC_READ, m), 0);
	expect_pf(g, 0x01);
	assert_int_equal(walk(g, VA_A, NW_ACC_WRITE, m), 0);
	expect_pf(g, 0x03);
	m.ac = true;
	assert_int_equal(walk(g, VA_A, NW_ACC_WRITE, m), 0);
	expect_ok(g, 0x3a5c79abull);
	/* A supervisor fetch is SMEP's business, not SMAP's. */
	m.ac = false;
	assert_int_equal(walk(g, VA_A, NW_ACC_FETCH, m), 0);
	expect_ok(g, 0x3a5c79abull);
}

/* "An implicit supervisor access faults regardless of AC." */
static void g_smap_implicit(void **state)
{
	struct g *g = *state;
	struct nw_x86_mode m = mode4();
	m.smap = true;
	m.ac = true;
	upper(g);
	put(g, g->pt, I1, DATA_4K | PRWU);
	assert_int_equal(walk(g, VA_A, NW_ACC_IMPLICIT, m), 0);
	expect_pf(g, 0x01);
	assert_int_equal(walk(g, VA_A, NW_ACC_IMPLICIT | NW_ACC_WRITE, m), 0);
	expect_pf(g, 0x03);
	/* A supervisor page is fine for an implicit access. */
	put(g, g->pt, I1, DATA_4K | PRW);
	assert_int_equal(walk(g, VA_A, NW_ACC_IMPLICIT | NW_ACC_WRITE, m), 0);
	expect_ok(g, 0x3a5c79abull);
}

/* "PKU, for user pages with CR4.PKE set: a data access faults with PK if
 * PKRU.AD[key] is set." Key 5 in PTE bits 62:59; user read -> P|U|PK = 0x25.
 * The leaf's key is reported. */
static void g_pku_ad(void **state)
{
	struct g *g = *state;
	struct nw_x86_mode m = mode4();
	m.pke = true;
	m.pkru = 1u << 10; /* AD5 */
	upper(g);
	put(g, g->pt, I1, DATA_4K | PRWU | (5ull << 59));
	assert_int_equal(walk(g, VA_A, NW_ACC_USER, m), 0);
	expect_pf(g, 0x25);
	/* Not for a fetch: PKU covers data accesses only. */
	assert_int_equal(walk(g, VA_A, NW_ACC_USER | NW_ACC_FETCH, m), 0);
	expect_ok(g, 0x3a5c79abull);
	assert_int_equal(g->w.pkey, 5);
	/* Not with CR4.PKE = 0. */
	m.pke = false;
	assert_int_equal(walk(g, VA_A, NW_ACC_USER, m), 0);
	expect_ok(g, 0x3a5c79abull);
}

/* "A write faults with PK if PKRU.WD[key] is set, except a supervisor write
 * when CR0.WP = 0." */
static void g_pku_wd(void **state)
{
	struct g *g = *state;
	struct nw_x86_mode m = mode4();
	m.pke = true;
	m.pkru = 2u << 10; /* WD5 */
	upper(g);
	put(g, g->pt, I1, DATA_4K | PRWU | (5ull << 59));
	assert_int_equal(walk(g, VA_A, NW_ACC_USER, m), 0);
	expect_ok(g, 0x3a5c79abull);
	assert_int_equal(walk(g, VA_A, NW_ACC_USER | NW_ACC_WRITE, m), 0);
	expect_pf(g, 0x27);
	assert_int_equal(walk(g, VA_A, NW_ACC_WRITE, m), 0);
	expect_pf(g, 0x23);
	m.wp = false;
	assert_int_equal(walk(g, VA_A, NW_ACC_WRITE, m), 0);
	expect_ok(g, 0x3a5c79abull);
	assert_int_equal(walk(g, VA_A, NW_ACC_USER | NW_ACC_WRITE, m), 0);
	expect_pf(g, 0x27);
}

/* "PKU, for user pages": a supervisor page's key is not checked; and only the
 * leaf has a key (a non-leaf PDE's bits 62:59 are ignored). */
static void g_pku_user_pages_leaf_key(void **state)
{
	struct g *g = *state;
	struct nw_x86_mode m = mode4();
	m.pke = true;
	m.pkru = 0xfffffffcu; /* every key but 0 denied */
	put(g, g->pml4, I4, g->pdpt | PRWU);
	put(g, g->pdpt, I3, g->pd | PRWU);
	put(g, g->pd, I2, g->pt | PRWU | (7ull << 59));
	put(g, g->pt, I1, DATA_4K | PRWU); /* key 0 */
	assert_int_equal(walk(g, VA_A, NW_ACC_USER | NW_ACC_WRITE, m), 0);
	expect_ok(g, 0x3a5c79abull);
	assert_int_equal(g->w.pkey, 0);
	put(g, g->pt, I1, DATA_4K | PRW | (5ull << 59)); /* supervisor page, key 5 */
	assert_int_equal(walk(g, VA_A, NW_ACC_WRITE, m), 0);
	expect_ok(g, 0x3a5c79abull);
	assert_int_equal(g->w.pkey, 5);
}

/* "Effective rights: writable = !pdpte.ro & pde.W & pte.W; user = pde.U &
 * pte.U; exec = !pde.NX & !pte.NX" - on a 2 MiB leaf under a read-only PDPTE. */
static void g_effective_rights_2m(void **state)
{
	struct g *g = *state;
	put(g, g->pml4, I4, g->pdpt | PRWU);
	put(g, g->pdpt, I3, g->pd | P | US);
	put(g, g->pd, I2, DATA_2M | PRWU | PS | XD);
	assert_int_equal(walk(g, VA_A, NW_ACC_USER, mode4()), 0);
	expect_ok(g, 0x3a5559abull);
	assert_int_equal(g->w.prot, NW_PROT_R | NW_PROT_U);
	assert_int_equal(walk(g, VA_A, NW_ACC_USER | NW_ACC_WRITE, mode4()), 0);
	expect_pf(g, 0x07);
	assert_int_equal(g->w.fault_level, 2);
	assert_int_equal(g->w.fault_addr, VA_A);
}

/* ---- A/D updates racing with another writer ----------------------------------------- */

/*
 * An accessor that plays another CPU: just before the walker's first
 * compare-exchange on `target`, it changes that entry (sets `set`, clears
 * `clear`), so the walker's update meets a changed entry.
 */
struct race_acc {
	struct nw_acc plain;
	uint64_t target, set, clear;
	bool done;
};

static uint64_t race_read(void *ctx, uint64_t pa)
{
	struct race_acc *r = ctx;
	return nw_acc_read(&r->plain, pa);
}

static void race_write(void *ctx, uint64_t pa, uint64_t val)
{
	struct race_acc *r = ctx;
	nw_acc_write(&r->plain, pa, val);
}

static bool race_cmpxchg(void *ctx, uint64_t pa, uint64_t *old, uint64_t val)
{
	struct race_acc *r = ctx;
	if (!r->done && pa == r->target) {
		uint64_t cur = nw_acc_read(&r->plain, pa);
		r->done = true;
		nw_acc_write(&r->plain, pa, (cur | r->set) & ~r->clear);
	}
	return nw_acc_cmpxchg(&r->plain, pa, old, val);
}

static const struct nw_acc_ops race_ops = {
	.read = race_read, .write = race_write, .cmpxchg = race_cmpxchg,
};

/* walk.h: "Updates use compare-exchange, so a concurrent change to an entry
 * is preserved." Another CPU sets software bit 9 in the PTE: both it and the
 * walk's A and D survive. */
static void g_ad_race_preserves_change(void **state)
{
	struct g *g = *state;
	struct race_acc r = { .target = g->pt + 0xaa8, .set = 0x200 };
	struct nw_acc acc = { .ops = &race_ops, .ctx = &r };
	struct nw_x86_mode m = mode4();
	nw_acc_plain(&r.plain, g->mem);
	upper(g);
	put(g, g->pt, I1, DATA_4K | PRWU);
	assert_int_equal(nw_walk_x86(&g->fmt, &acc, g->pml4, VA_A, NW_ACC_WRITE, &m, &g->w), 0);
	expect_ok(g, 0x3a5c79abull);
	assert_true(r.done);
	assert_int_equal(get(g, g->pt, I1), 0x3a5c7267ull);
	assert_int_equal(g->w.n_ad, 4);
	assert_int_equal(g->w.ad[3].pa, g->pt + 0xaa8);
	assert_int_equal(g->w.ad[3].bits, 0x60);
}

/* walk.h: the A/D log holds "what it set". When another CPU clears P in the
 * PTE before the update, the walker must not set A/D in the now not-present
 * entry, and must not log an update it did not make. */
static void g_ad_race_not_present_not_logged(void **state)
{
	struct g *g = *state;
	struct race_acc r = { .target = g->pt + 0xaa8, .clear = P };
	struct nw_acc acc = { .ops = &race_ops, .ctx = &r };
	struct nw_x86_mode m = mode4();
	nw_acc_plain(&r.plain, g->mem);
	upper(g);
	put(g, g->pt, I1, DATA_4K | PRWU);
	assert_int_equal(nw_walk_x86(&g->fmt, &acc, g->pml4, VA_A, NW_ACC_WRITE, &m, &g->w), 0);
	assert_true(r.done);
	assert_int_equal(get(g, g->pt, I1), 0x3a5c7006ull);
	for (unsigned i = 0; i < g->w.n_ad; i++)
		assert_int_not_equal(g->w.ad[i].pa, g->pt + 0xaa8);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, g_setup, g_teardown)
	const struct CMUnitTest tests[] = {
		T(g_bit_constants),
		T(g_4k_translation_and_refs),
		T(g_read_sets_a_everywhere),
		T(g_write_sets_d_in_leaf_only),
		T(g_ad_already_set),
		T(g_fault_writes_nothing),
		T(g_2m_leaf_three_refs),
		T(g_1g_leaf_two_refs),
		T(g_5level_five_refs),
		T(g_noncanonical_erange),
		T(g_bad_mode_einval),
		T(g_not_present_pml4e),
		T(g_not_present_pte_user_write),
		T(g_not_present_ignores_reserved),
		T(g_ps_reserved_in_pml4e),
		T(g_ps_reserved_in_pml5e),
		T(g_xd_reserved_without_nxe),
		T(g_reserved_user_write),
		T(g_maxphyaddr_boundary),
		T(g_bits_51_and_36),
		T(g_bit13_reserved_in_2m_leaf),
		T(g_bit13_address_in_pte),
		T(g_bit13_address_in_nonleaf_pde),
		T(g_1g_alignment_bits_29_13),
		T(g_pat_bit12_in_large_leaf),
		T(g_pat_bit7_in_pte),
		T(g_id_only_with_nxe_or_smep),
		T(g_xd_in_upper_level),
		T(g_rw_every_level),
		T(g_us_every_level),
		T(g_wp0_supervisor_write),
		T(g_wp0_user_write_faults),
		T(g_smep),
		T(g_smap_ac),
		T(g_smap_implicit),
		T(g_pku_ad),
		T(g_pku_wd),
		T(g_pku_user_pages_leaf_key),
		T(g_effective_rights_2m),
		T(g_ad_race_preserves_change),
		T(g_ad_race_not_present_not_logged),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
