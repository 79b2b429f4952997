/* SPDX-License-Identifier: MIT */
/*
 * The stale-translation oracle. Random mapping changes on real tables:
 * native x86-64 (skylake's and zen3's caches), and 2D under EPT (skylake)
 * and NPT (zen3), changing the guest tables and the nested tables. After
 * every change the test performs one of the invalidations FACTS.md §4 says
 * suffices for it, picked at random, then compares accesses through the
 * caches (nw_tlb_access) with the uncached walkers (nw_walk_x86,
 * nw_walk2d) on the same tables: fault kind, error code or exit
 * information, and physical address must agree.
 *
 * Negative controls: the same runs with the invalidations left out (all of
 * them, or only the nested ones: "a hypervisor that forgets an INVEPT")
 * must return stale translations, as hardware would.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <nestwalk/tlb_preset.h>

#include "nw_test2d.h"

#ifdef NW_PROP_SLOW
#define OPS 6000
#else
#define OPS 400
#endif
#define ACCESSES 12

#define REGION 0x00007f0000000000ull  /* 8 MiB of guest-linear space: 4 PDEs */
#define REGION_PAGES 2048u
#define REGION_B 0x0000100000000000ull /* a second address space (PCID 5) */
#define PCID_A 3u
#define PCID_B 5u
#define VPID 1u
#define DATA_GPA (32 * T2_MiB)         /* 2D: data pages live in [32, 48) MiB */
#define DATA_PAGES 4096u
#define NATIVE_PA 0x80000000ull        /* native: data pages, never read */
#define FAR_HPA 0x0000200000000000ull  /* 2D: remapped data pages, never read */

enum world_kind { NATIVE, EPT, NPT };
enum skip { SKIP_NONE, SKIP_ALL, SKIP_NESTED };

struct oracle {
	enum world_kind kind;
	enum skip skip;
	struct nw_rng rng;
	struct nw_tlb *t;
	/* native */
	struct nw_mem *mem;
	struct nw_fmt fmt;
	struct nw_acc acc;
	struct nw_pt a, b;        /* address spaces A (PCID 3) and B (PCID 5) */
	/* 2D */
	struct t2_world w;
	uint64_t eptp;
	struct nw_tlb_walker wk;
	struct nw_pt *guest;      /* the tables the guest-side ops change */
	bool maybe_global[REGION_PAGES];
	bool in_b;
	/* results */
	unsigned stale, compared, tlb_hits;
	char first[200];
};

static const struct nw_x86_mode MODE = { .levels = 4, .wp = true, .nxe = true };

/* ---- setup ---- */

static struct nw_tlb *preset_tlb(const char *name)
{
	struct nw_cpu_preset p;
	struct nw_tlb *t;
	char err[160];

	assert_int_equal(nw_cpu_preset(name, &p, err, sizeof(err)), 0);
	assert_int_equal(nw_tlb_create(&p.tlb, &t, err, sizeof(err)), 0);
	return t;
}

static void set_ctx(struct oracle *o, uint16_t pcid)
{
	struct nw_tlb_ctx ctx = { .vpid = VPID, .pcid = pcid };

	if (o->kind == EPT) {
		ctx.nest = NW_NEST_EPT;
		ctx.eptp = o->eptp;
	} else if (o->kind == NPT) {
		ctx.nest = NW_NEST_NPT;
	}
	nw_tlb_set_ctx(o->t, &ctx);
}

static void oracle_init(struct oracle *o, enum world_kind kind, const char *preset, enum skip skip,
			uint64_t seed)
{
	memset(o, 0, sizeof(*o));
	o->kind = kind;
	o->skip = skip;
	o->rng.s = seed;
	o->t = preset_tlb(preset);
	if (kind == NATIVE) {
		o->mem = nw_test_arena(256 * T2_MiB, 46);
		assert_int_equal(nw_fmt_x86_init(&o->fmt, 46, 0), 0);
		nw_acc_plain(&o->acc, o->mem);
		struct nw_pt_cfg pc = { .fmt = &o->fmt, .mem = o->mem, .levels = 4, .linear = true };
		assert_int_equal(nw_pt_init(&o->a, &pc), 0);
		assert_int_equal(nw_pt_init(&o->b, &pc), 0);
		struct nw_attr rw = { .prot = NW_PROT_RW | NW_PROT_U };
		assert_int_equal(nw_pt_map(&o->b, REGION_B, NATIVE_PA, 64 * NW_PAGE_SIZE, &rw,
					   NW_MAP_MAX_4K, NULL), 0);
		o->guest = &o->a;
		o->wk = (struct nw_tlb_walker){ .fmt = &o->fmt, .acc = &o->acc, .root = o->a.root,
						.mode = MODE };
	} else {
		t2_init(&o->w, kind == NPT, 4, 4, 64 * T2_MiB, NW_MAP_MAX_2M, NW_PAGE_SIZE);
		if (kind == EPT)
			assert_int_equal(nw_ept_eptp(&o->w.ept, false, &o->eptp), 0);
		o->guest = &o->w.guest;
		o->wk = (struct nw_tlb_walker){ .w2d = o->w.cfg };
	}
	set_ctx(o, PCID_A);
}

static void oracle_destroy(struct oracle *o)
{
	if (o->kind == NATIVE) {
		nw_pt_destroy(&o->a);
		nw_pt_destroy(&o->b);
		nw_mem_destroy(o->mem);
	} else {
		t2_destroy(&o->w);
	}
	nw_tlb_destroy(o->t);
}

/* ---- comparing one access ---- */

static void compare(struct oracle *o, uint64_t va, unsigned access)
{
	static struct nw_tlb_xlat x;
	static struct nw_walk ref;
	bool same;

	assert_int_equal(nw_tlb_access(o->t, &o->wk, va, access, &x), 0);
	if (o->kind == NATIVE)
		assert_int_equal(nw_walk_x86(&o->fmt, &o->acc, o->wk.root, va, access, &MODE, &ref), 0);
	else
		assert_int_equal(nw_walk2d(&o->w.cfg, va, access, &ref), 0);
	o->compared++;
	o->tlb_hits += x.tlb_level != 0;

	same = x.w.fault == ref.fault;
	if (same && ref.fault == NW_FAULT_NONE)
		same = x.w.pa == ref.pa;
	else if (same && ref.fault == NW_FAULT_PF)
		same = x.w.pf_error == ref.pf_error;
	else if (same && ref.fault == NW_FAULT_EPT_VIOLATION)
		same = x.w.exit.gpa == ref.exit.gpa && x.w.exit.qual == ref.exit.qual;
	else if (same && ref.fault == NW_FAULT_NPF)
		same = x.w.exit.info1 == ref.exit.info1 && x.w.exit.info2 == ref.exit.info2;
	if (same)
		return;
	if (!o->stale++)
		snprintf(o->first, sizeof(o->first),
			 "va %#llx access %u: cached fault %d pa %#llx (tlb L%d), tables say fault %d pa %#llx",
			 (unsigned long long)va, access, x.w.fault, (unsigned long long)x.w.pa,
			 x.tlb_level, ref.fault, (unsigned long long)ref.pa);
}

static unsigned random_access(struct oracle *o)
{
	static const unsigned kinds[] = {
		NW_ACC_READ, NW_ACC_WRITE, NW_ACC_FETCH, NW_ACC_USER, NW_ACC_USER | NW_ACC_WRITE,
		NW_ACC_USER | NW_ACC_FETCH,
	};
	return kinds[nw_rng_below(&o->rng, 6)];
}

/* Accesses: half in the range just changed, half anywhere in the region. */
static void probe(struct oracle *o, uint64_t first, uint64_t npages)
{
	for (int i = 0; i < ACCESSES; i++) {
		uint64_t page = (i & 1) ? nw_rng_below(&o->rng, REGION_PAGES)
					: first + nw_rng_below(&o->rng, npages);
		compare(o, REGION + page * NW_PAGE_SIZE + nw_rng_below(&o->rng, 512) * 8,
			random_access(o));
	}
}

/* ---- invalidations ---- */

static bool range_global(const struct oracle *o, uint64_t first, uint64_t n)
{
	for (uint64_t i = first; i < first + n && i < REGION_PAGES; i++)
		if (o->maybe_global[i])
			return true;
	return false;
}

/* One per-page primitive over [first, first + n), n small. */
static void per_page(struct oracle *o, int which, uint64_t first, uint64_t n)
{
	for (uint64_t i = first; i < first + n; i++) {
		uint64_t va = REGION + i * NW_PAGE_SIZE;
		switch (which) {
		case 0: assert_int_equal(nw_tlb_invlpg(o->t, va), 0); break;
		case 1: assert_int_equal(nw_tlb_invvpid(o->t, 0, VPID, va), 0); break;
		case 2: assert_int_equal(nw_tlb_invpcid(o->t, 0, PCID_A, va), 0); break;
		default: assert_int_equal(nw_tlb_invlpga(o->t, va, VPID), 0); break;
		}
	}
}

/*
 * After a change of the guest (or native) tables over [first, first + n):
 * one of the invalidations FACTS §4 says drops every stale entry. Without
 * global mappings in the range the non-global flushes qualify too.
 */
static void guest_inval(struct oracle *o, const struct nw_inval *inv, uint64_t first, uint64_t n)
{
	bool global = range_global(o, first, n);
	bool small = n <= 16;

	if (inv->kind == NW_INVAL_NONE || o->skip == SKIP_ALL)
		return;
	for (;;) {
		switch (nw_rng_below(&o->rng, 10)) {
		case 0: /* INVLPG: every TLB entry for the page, global too, and all PSC entries */
			if (!small) continue;
			per_page(o, 0, first, n);
			return;
		case 1: /* INVVPID type 0 per page, or type 1 (VMX only) */
			if (o->kind == NPT) continue;
			if (small)
				per_page(o, 1, first, n);
			else
				assert_int_equal(nw_tlb_invvpid(o->t, 1, VPID, 0), 0);
			return;
		case 2: /* INVPCID type 0 per page: non-global only */
			if (!small || global) continue;
			per_page(o, 2, first, n);
			return;
		case 3: /* INVPCID type 1: non-global only */
			if (global) continue;
			assert_int_equal(nw_tlb_invpcid(o->t, 1, PCID_A, 0), 0);
			return;
		case 4: /* INVPCID type 2: everything */
			assert_int_equal(nw_tlb_invpcid(o->t, 2, 0, 0), 0);
			return;
		case 5: /* MOV CR3 reloading the same PCID: non-global only */
			if (global) continue;
			assert_int_equal(nw_tlb_mov_cr3(o->t, o->guest->root | PCID_A, true), 0);
			return;
		case 6: /* INVEPT type 2 also drops combined mappings */
			if (o->kind != EPT) continue;
			assert_int_equal(nw_tlb_invept(o->t, 2, 0), 0);
			return;
		case 7: /* INVLPGA per page */
			if (o->kind != NPT || !small) continue;
			per_page(o, 3, first, n);
			return;
		case 8: /* TLB_CONTROL 3 at the next VMRUN, or 7 without globals */
			if (o->kind != NPT) continue;
			assert_int_equal(nw_tlb_tlb_control(o->t, VPID, global ? 3 : 7), 0);
			return;
		default: /* INVPCID type 3: non-global only */
			if (global) continue;
			assert_int_equal(nw_tlb_invpcid(o->t, 3, 0, 0), 0);
			return;
		}
	}
}

/* After a change of the nested tables: INVEPT (single or all context), or
 * TLB_CONTROL 1 or 3 at the next VMRUN. */
static void nested_inval(struct oracle *o, const struct nw_inval *inv)
{
	bool single = nw_rng_below(&o->rng, 2);

	if (inv->kind == NW_INVAL_NONE || o->skip != SKIP_NONE)
		return;
	if (o->kind == EPT)
		assert_int_equal(nw_tlb_invept(o->t, single ? 1 : 2, o->eptp), 0);
	else
		assert_int_equal(nw_tlb_tlb_control(o->t, VPID, single ? 3 : 1), 0);
}

/* ---- changes ---- */

static struct nw_attr random_attr(struct oracle *o, uint64_t first, uint64_t n)
{
	uint32_t prot = NW_PROT_R;

	if (nw_rng_below(&o->rng, 3))
		prot |= NW_PROT_W;
	if (nw_rng_below(&o->rng, 3))
		prot |= NW_PROT_U;
	if (nw_rng_below(&o->rng, 3))
		prot |= NW_PROT_X;
	struct nw_attr a = { .prot = prot, .global = nw_rng_below(&o->rng, 8) == 0 };
	if (a.global)
		for (uint64_t i = first; i < first + n && i < REGION_PAGES; i++)
			o->maybe_global[i] = true;
	return a;
}

/* A data page: a PA natively, a GPA in the data window in 2D. */
static uint64_t random_data(struct oracle *o, uint64_t align_pages)
{
	uint64_t base = o->kind == NATIVE ? NATIVE_PA : DATA_GPA;
	uint64_t page = nw_rng_below(&o->rng, DATA_PAGES / align_pages) * align_pages;
	return base + page * NW_PAGE_SIZE;
}

static void guest_change(struct oracle *o)
{
	struct nw_inval inv = { 0 };
	unsigned op = (unsigned)nw_rng_below(&o->rng, 5);
	uint64_t first, n;
	struct nw_attr a;

	if (op <= 1) {
		first = nw_rng_below(&o->rng, REGION_PAGES);
		n = 1;
	} else if (op == 2) {
		first = nw_rng_below(&o->rng, REGION_PAGES / 512) * 512;
		n = 512;
	} else {
		first = nw_rng_below(&o->rng, REGION_PAGES - 16);
		n = 1 + nw_rng_below(&o->rng, 16);
	}
	/* Use the range first, so the caches hold its old translations. */
	probe(o, first, n);
	uint64_t va = REGION + first * NW_PAGE_SIZE, len = n * NW_PAGE_SIZE;
	switch (op) {
	case 0: /* map or replace one 4 KiB page (splits a 2 MiB one) */
	case 1:
		a = random_attr(o, first, n);
		assert_int_equal(nw_pt_map(o->guest, va, random_data(o, 1), len, &a,
					   NW_MAP_MAX_4K | NW_MAP_REPLACE, &inv), 0);
		break;
	case 2: /* map or replace a whole 2 MiB page */
		a = random_attr(o, first, n);
		assert_int_equal(nw_pt_map(o->guest, va, random_data(o, 512), len, &a,
					   NW_MAP_MAX_2M | NW_MAP_REPLACE, &inv), 0);
		break;
	case 3: /* unmap a few pages */
		assert_int_equal(nw_pt_unmap(o->guest, va, len, &inv), 0);
		break;
	default: /* change the rights of a few pages */
		a = random_attr(o, first, n);
		assert_int_equal(nw_pt_protect(o->guest, va, len, &a, &inv), 0);
		break;
	}
	/* The invalidation covers what the engine says changed. */
	uint64_t lo = first, hi = first + n;
	if (inv.kind != NW_INVAL_NONE) {
		lo = (inv.start - REGION) / NW_PAGE_SIZE;
		hi = (inv.end - REGION + NW_PAGE_SIZE - 1) / NW_PAGE_SIZE;
		assert_true(lo < hi && hi <= REGION_PAGES);
	}
	guest_inval(o, &inv, lo, hi - lo);
	probe(o, first, n);
}

/* Change the nested mapping of one data GPA: remap, protect or unmap. The
 * GPA is, when possible, the translation of a guest page just used. */
static void nested_change(struct oracle *o)
{
	struct nw_inval inv = { 0 };
	uint64_t page = nw_rng_below(&o->rng, REGION_PAGES);
	uint64_t gva = REGION + page * NW_PAGE_SIZE;
	uint64_t gpa = random_data(o, 1);
	uint64_t hpa = FAR_HPA + nw_rng_below(&o->rng, 1u << 20) * NW_PAGE_SIZE;
	static const uint32_t prots[] = { NW_PROT_R, NW_PROT_RW, NW_PROT_R | NW_PROT_X, NW_PROT_RWX };
	uint32_t prot = prots[nw_rng_below(&o->rng, 4)];
	bool amd = o->kind == NPT;
	struct nw_pt_entry pe;

	assert_int_equal(nw_pt_lookup(o->guest, gva, &pe), 0);
	if (pe.present) {
		gpa = pe.pa & NW_PAGE_MASK;
		compare(o, gva, NW_ACC_READ);
		compare(o, gva, NW_ACC_WRITE);
	}
	switch (nw_rng_below(&o->rng, 3)) {
	case 0:
		if (amd)
			assert_int_equal(nw_npt_map(&o->w.npt, gpa, hpa, NW_PAGE_SIZE, prot, 0,
						    NW_MAP_MAX_4K | NW_MAP_REPLACE, &inv), 0);
		else
			assert_int_equal(nw_ept_map(&o->w.ept, gpa, hpa, NW_PAGE_SIZE, prot, NW_EPT_MT_WB,
						    NW_MAP_MAX_4K | NW_MAP_REPLACE, &inv), 0);
		break;
	case 1:
		if (amd)
			assert_int_equal(nw_npt_protect(&o->w.npt, gpa, NW_PAGE_SIZE, prot, 0, &inv), 0);
		else
			assert_int_equal(nw_ept_protect(&o->w.ept, gpa, NW_PAGE_SIZE, prot, NW_EPT_MT_WB,
							0, &inv), 0);
		break;
	default:
		if (amd)
			assert_int_equal(nw_npt_unmap(&o->w.npt, gpa, NW_PAGE_SIZE, &inv), 0);
		else
			assert_int_equal(nw_ept_unmap(&o->w.ept, gpa, NW_PAGE_SIZE, &inv), 0);
		break;
	}
	nested_inval(o, &inv);
	compare(o, gva, NW_ACC_READ);
	compare(o, gva, NW_ACC_WRITE);
	probe(o, page, 1);
}

/* Native only: a stay in address space B (PCID 5), and back without a
 * flush (bit 63): A's entries must still be right. */
static void visit_b(struct oracle *o)
{
	assert_int_equal(nw_tlb_mov_cr3(o->t, o->b.root | PCID_B | (1ull << 63), true), 0);
	o->wk.root = o->b.root;
	for (int i = 0; i < ACCESSES; i++)
		compare(o, REGION_B + nw_rng_below(&o->rng, 80) * NW_PAGE_SIZE, random_access(o));
	assert_int_equal(nw_tlb_mov_cr3(o->t, o->a.root | PCID_A | (1ull << 63), true), 0);
	o->wk.root = o->a.root;
}

static void run(struct oracle *o)
{
	for (int op = 0; op < OPS; op++) {
		unsigned r = (unsigned)nw_rng_below(&o->rng, 20);
		if (o->kind == NATIVE && r == 0)
			visit_b(o);
		else if (o->kind != NATIVE && r < 7)
			nested_change(o);
		else
			guest_change(o);
	}
}

/* ---- the tests ---- */

static const struct { enum world_kind kind; const char *preset; const char *name; } worlds[] = {
	{ NATIVE, "skylake", "native/skylake" }, { NATIVE, "zen3", "native/zen3" },
	{ EPT, "skylake", "ept/skylake" }, { EPT, "generic", "ept/generic" },
	{ NPT, "zen3", "npt/zen3" }, { NPT, "generic", "npt/generic" },
};

static void test_no_stale_with_invalidations(void **state)
{
	static struct oracle o;

	for (size_t i = 0; i < sizeof(worlds) / sizeof(worlds[0]); i++) {
		oracle_init(&o, worlds[i].kind, worlds[i].preset, SKIP_NONE, 0x5eed0000 + i);
		run(&o);
		print_message("  %-15s %6u accesses, %5u TLB hits, %u stale\n", worlds[i].name,
			      o.compared, o.tlb_hits, o.stale);
		if (o.stale)
			fail_msg("%s: %u stale translations; first: %s", worlds[i].name, o.stale, o.first);
		assert_true(o.tlb_hits > o.compared / 20); /* the caches did serve */
		oracle_destroy(&o);
	}
}

/* Negative control: with the invalidations left out, stale translations
 * come back, as they would on hardware. */
static void test_stale_without_invalidations(void **state)
{
	static struct oracle o;

	for (size_t i = 0; i < sizeof(worlds) / sizeof(worlds[0]); i++) {
		oracle_init(&o, worlds[i].kind, worlds[i].preset, SKIP_ALL, 0x5eed0000 + i);
		run(&o);
		print_message("  %-15s no invalidation: %u stale of %u; first: %s\n", worlds[i].name,
			      o.stale, o.compared, o.first);
		assert_true(o.stale > 0);
		oracle_destroy(&o);
	}
}

/* Negative control: guest invalidations done, INVEPT / TLB_CONTROL
 * forgotten after nested changes. */
static void test_stale_without_invept(void **state)
{
	static struct oracle o;

	for (size_t i = 2; i < sizeof(worlds) / sizeof(worlds[0]); i++) {
		oracle_init(&o, worlds[i].kind, worlds[i].preset, SKIP_NESTED, 0x5eed0000 + i);
		run(&o);
		print_message("  %-15s no INVEPT/TLB_CONTROL: %u stale of %u; first: %s\n",
			      worlds[i].name, o.stale, o.compared, o.first);
		assert_true(o.stale > 0);
		oracle_destroy(&o);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_stale_with_invalidations),
		cmocka_unit_test(test_stale_without_invalidations),
		cmocka_unit_test(test_stale_without_invept),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
