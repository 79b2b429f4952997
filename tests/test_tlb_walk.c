/* SPDX-License-Identifier: MIT */
/*
 * Walks through the caches:
 *  - with the caches off, the reference counts are still FACTS.md §1's, for
 *    every row of its table, under EPT and NPT, and 4 / 5 natively;
 *  - with them on, a warm repeated 4x4 walk over one 2 MiB region makes at
 *    most 4 references per walk (Park et al. report 4.4 for 2D walks with
 *    page walk caches in real workloads), guest and host dimensions printed
 *    apart, for the Intel-style (skylake) and AMD-style (zen3) caches;
 *  - cached and uncached walks agree on every translation;
 *  - a hit checks the rights under the current mode (WP, SMAP, PKRU, MBEC).
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <nestwalk/tlb_preset.h>

#include "nw_test2d.h"

#define GSIZE (4 * T2_GiB)
#define DATA_GPA (2 * T2_GiB)
#define GVA 0x00007f1234400000ull

static const struct nw_attr GRW = { .prot = NW_PROT_RWX | NW_PROT_U };

static unsigned map_max(int level)
{
	return level == 1 ? NW_MAP_MAX_4K : level == 2 ? NW_MAP_MAX_2M : NW_MAP_MAX_1G;
}

static struct nw_tlb *preset_tlb(const char *name, bool strip_walk_caches)
{
	struct nw_cpu_preset p;
	struct nw_tlb *t;
	char err[160];

	assert_int_equal(nw_cpu_preset(name, &p, err, sizeof(err)), 0);
	if (strip_walk_caches) {
		memset(p.tlb.psc, 0, sizeof(p.tlb.psc));
		memset(p.tlb.gpsc, 0, sizeof(p.tlb.gpsc));
		memset(&p.tlb.ntlb, 0, sizeof(p.tlb.ntlb));
		memset(&p.tlb.pwc, 0, sizeof(p.tlb.pwc));
	}
	if (nw_tlb_create(&p.tlb, &t, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	return t;
}

/* The context of a world: EPT with its EPTP, or NPT with ASID 1. */
static void world_ctx(struct nw_tlb *t, struct t2_world *w)
{
	struct nw_tlb_ctx ctx = { .nest = w->amd ? NW_NEST_NPT : NW_NEST_EPT, .vpid = 1 };

	if (!w->amd)
		assert_int_equal(nw_ept_eptp(&w->ept, false, &ctx.eptp), 0);
	nw_tlb_set_ctx(t, &ctx);
}

/* ---- (6) FACTS §1 with the caches off ---- */

struct facts_row {
	int gl, hl, gpage, hpage;
	unsigned refs;
};

/* The FACTS §1 table, its literal numbers. */
static const struct facts_row facts[] = {
	{ 4, 4, 1, 1, 24 }, /* 4 x 4 (4 KiB pages both sides) */
	{ 5, 5, 1, 1, 35 }, /* 5 x 5 (LA57 + 5-level EPT) */
	{ 4, 5, 1, 1, 29 }, /* 4 x 5 */
	{ 5, 4, 1, 1, 29 }, /* 5 x 4 */
	{ 4, 4, 2, 1, 19 }, /* guest 2 MiB page (3) x host 4 KiB (4) */
	{ 4, 4, 1, 2, 19 }, /* guest 4 KiB (4) x host 2 MiB (3) */
	{ 4, 4, 2, 2, 15 }, /* 3 x 3 (2 MiB both sides) */
	{ 4, 4, 1, 3, 14 }, /* guest 4 x host 1 GiB (2) */
};

/* One access of a fresh world through nw_tlb_access; its reference count. */
static unsigned access_refs(struct nw_tlb *t, bool amd, const struct facts_row *r, unsigned flags)
{
	static struct nw_tlb_xlat x;
	struct t2_world w;
	uint64_t gva = GVA & ~(NW_LEVEL_SIZE(r->gpage) - 1);
	uint64_t hsize = NW_LEVEL_SIZE(r->hpage);

	t2_init(&w, amd, r->gl, r->hl, GSIZE, 0, NW_PAGE_SIZE);
	t2_nested_map(&w, 0, hsize > 16 * T2_MiB ? hsize : 16 * T2_MiB, map_max(r->hpage));
	t2_nested_map(&w, DATA_GPA & ~(hsize - 1), hsize, map_max(r->hpage));
	assert_int_equal(nw_pt_map(&w.guest, gva, DATA_GPA, NW_LEVEL_SIZE(r->gpage), &GRW,
				   map_max(r->gpage), NULL), 0);
	nw_tlb_reset(t);
	world_ctx(t, &w);
	struct nw_tlb_walker wk = { .w2d = w.cfg, .flags = flags };
	assert_int_equal(nw_tlb_access(t, &wk, gva + 0x123, NW_ACC_READ, &x), 0);
	assert_int_equal(x.w.fault, NW_FAULT_NONE);
	assert_int_equal(x.tlb_level, 0);
	assert_int_equal(x.w.pa, w.gmem.off + DATA_GPA + 0x123);
	t2_destroy(&w);
	return x.w.n_refs;
}

static void test_facts_counts_caches_off(void **state)
{
	/* Two ways to be uncached: the walk flag, and a set with TLBs only. */
	struct nw_tlb *sets[3] = { preset_tlb("skylake", false), preset_tlb("zen3", true),
				   preset_tlb("skylake", true) };
	static const unsigned flags[3] = { NW_TLB_WALK_UNCACHED, 0, 0 };

	for (int amd = 0; amd <= 1; amd++)
		for (size_t i = 0; i < sizeof(facts) / sizeof(facts[0]); i++)
			for (int s = 0; s < 3; s++) {
				unsigned got = access_refs(sets[s], amd, &facts[i], flags[s]);
				if (got != facts[i].refs)
					fail_msg("%s %dx%d gpage %d hpage %d set %d: %u refs, FACTS says %u",
						 amd ? "npt" : "ept", facts[i].gl, facts[i].hl,
						 facts[i].gpage, facts[i].hpage, s, got, facts[i].refs);
			}
	for (int s = 0; s < 3; s++)
		nw_tlb_destroy(sets[s]);
}

/* "native 4-level, or shadow (1D walk from sCR3): 4" (and 5 with LA57). */
static void test_native_counts_caches_off(void **state)
{
	struct nw_tlb *t = preset_tlb("skylake", false);
	struct nw_mem *mem = nw_test_arena(64 * T2_MiB, 46);
	struct nw_fmt f;
	struct nw_acc acc;
	static struct nw_tlb_xlat x;

	assert_int_equal(nw_fmt_x86_init(&f, 46, 0), 0);
	nw_acc_plain(&acc, mem);
	for (int levels = 4; levels <= 5; levels++) {
		struct nw_pt pt;
		struct nw_pt_cfg pc = { .fmt = &f, .mem = mem, .levels = levels, .linear = true };
		assert_int_equal(nw_pt_init(&pt, &pc), 0);
		assert_int_equal(nw_pt_map(&pt, GVA, DATA_GPA, NW_PAGE_SIZE, &GRW, NW_MAP_MAX_4K, NULL), 0);
		struct nw_tlb_walker wk = {
			.fmt = &f, .acc = &acc, .root = pt.root, .flags = NW_TLB_WALK_UNCACHED,
			.mode = { .levels = levels, .wp = true, .nxe = true },
		};
		nw_tlb_set_ctx(t, &(struct nw_tlb_ctx){ .vpid = 1 });
		for (int rep = 0; rep < 3; rep++) {
			assert_int_equal(nw_tlb_access(t, &wk, GVA + 8, NW_ACC_READ, &x), 0);
			assert_int_equal(x.w.n_refs, (unsigned)levels);
			assert_int_equal(x.w.pa, DATA_GPA + 8);
		}
		nw_pt_destroy(&pt);
	}
	nw_mem_destroy(mem);
	nw_tlb_destroy(t);
}

/* ---- (3) warm repeated 4x4 walks over one 2 MiB region ---- */

struct warm {
	double g, h;
	unsigned hits;
};

static struct warm warm_walks(const char *preset, bool amd)
{
	static struct nw_walk w, ref;
	struct t2_world tw;
	struct nw_tlb *t = preset_tlb(preset, false);
	struct warm out = { 0 };
	const int passes = 4;
	uint64_t g = 0, h = 0, walks = 0;

	/* Guest 4 KiB pages over 2 MiB, host 4 KiB pages: the 4x4 case. */
	t2_init(&tw, amd, 4, 4, 64 * T2_MiB, NW_MAP_MAX_4K, NW_PAGE_SIZE);
	assert_int_equal(nw_pt_map(&tw.guest, GVA, 16 * T2_MiB, 2 * T2_MiB, &GRW, NW_MAP_MAX_4K,
				   NULL), 0);
	world_ctx(t, &tw);
	struct nw_tlb_walker wk = { .w2d = tw.cfg };
	for (int pass = 0; pass <= passes; pass++)
		for (uint64_t off = 0; off < 2 * T2_MiB; off += NW_PAGE_SIZE) {
			assert_int_equal(nw_tlb_walk(t, &wk, GVA + off, NW_ACC_READ, &w), 0);
			assert_int_equal(w.fault, NW_FAULT_NONE);
			/* The same translation the uncached walker finds. */
			assert_int_equal(nw_walk2d(&tw.cfg, GVA + off, NW_ACC_READ, &ref), 0);
			assert_int_equal(w.pa, ref.pa);
			assert_int_equal(ref.n_refs, 24);
			if (pass == 0)
				continue; /* warming up */
			for (unsigned i = 0; i < w.n_refs; i++)
				if (w.refs[i].dim == NW_DIM_GUEST)
					g++;
				else
					h++;
			walks++;
			out.hits += w.cache_hits;
		}
	out.g = (double)g / (double)walks;
	out.h = (double)h / (double)walks;
	print_message("  %-8s %s: %.2f refs/walk warm (guest %.2f, host %.2f) over %llu walks\n",
		      preset, amd ? "npt" : "ept", out.g + out.h, out.g, out.h,
		      (unsigned long long)walks);
	t2_destroy(&tw);
	nw_tlb_destroy(t);
	return out;
}

static void test_warm_4x4(void **state)
{
	static const struct { const char *preset; bool amd; } runs[] = {
		{ "skylake", false }, { "generic", false }, { "generic", true }, { "zen3", true },
		{ "zen4", true },
	};
	for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
		struct warm r = warm_walks(runs[i].preset, runs[i].amd);
		assert_true(r.g + r.h <= 4.0);
		assert_true(r.hits > 0);
	}
}

/*
 * Dirty state: a write through translations cached by a read must still
 * set D in the guest leaf and (NPT keeps A/D) in the nested leaf, as the
 * CPU walks again for a TLB entry not marked dirty.
 */
static void test_write_after_read_sets_dirty(void **state)
{
	static struct nw_tlb_xlat x;
	struct t2_world w;
	struct nw_pt_entry ge, he;
	struct nw_tlb *t = preset_tlb("zen3", false);

	t2_init(&w, true, 4, 4, 64 * T2_MiB, NW_MAP_MAX_4K, NW_PAGE_SIZE);
	assert_int_equal(nw_pt_map(&w.guest, GVA, 16 * T2_MiB, NW_PAGE_SIZE, &GRW, NW_MAP_MAX_4K,
				   NULL), 0);
	world_ctx(t, &w);
	struct nw_tlb_walker wk = { .w2d = w.cfg };
	assert_int_equal(nw_tlb_access(t, &wk, GVA, NW_ACC_READ, &x), 0);
	assert_int_equal(nw_tlb_access(t, &wk, GVA, NW_ACC_READ, &x), 0);
	assert_int_equal(x.tlb_level, 1);
	assert_int_equal(nw_npt_lookup(&w.npt, 16 * T2_MiB, &he), 0);
	assert_false(he.entry & NW_PTE_D);
	assert_int_equal(nw_tlb_access(t, &wk, GVA, NW_ACC_WRITE, &x), 0);
	assert_int_equal(x.tlb_level, 0); /* the clean entry could not serve */
	assert_int_equal(nw_pt_lookup(&w.guest, GVA, &ge), 0);
	assert_true(ge.entry & NW_PTE_D);
	assert_int_equal(nw_npt_lookup(&w.npt, 16 * T2_MiB, &he), 0);
	assert_true(he.entry & NW_PTE_D);
	assert_int_equal(nw_tlb_access(t, &wk, GVA, NW_ACC_WRITE, &x), 0);
	assert_int_equal(x.tlb_level, 1); /* now dirty */
	t2_destroy(&w);
	nw_tlb_destroy(t);
}

/*
 * A hit checks the rights under the mode of the access, not the one the
 * entry was filled or last hit under: CR0.WP, CR4.SMAP and PKRU change no
 * TLB entry (SDM Vol. 3A §4.10.2.2: rights come from the entry, the checks
 * from the current mode), natively and nested.
 */
static void test_hit_rechecks_mode(void **state)
{
	static const struct nw_attr ro_user = { .prot = NW_PROT_R | NW_PROT_U };
	static struct nw_tlb_xlat x;
	struct nw_tlb *t = preset_tlb("skylake", false);
	struct nw_mem *mem = nw_test_arena(64 * T2_MiB, 46);
	struct nw_fmt f;
	struct nw_acc acc;
	struct nw_pt pt;

	assert_int_equal(nw_fmt_x86_init(&f, 46, 0), 0);
	nw_acc_plain(&acc, mem);
	struct nw_pt_cfg pc = { .fmt = &f, .mem = mem, .levels = 4, .linear = true };
	assert_int_equal(nw_pt_init(&pt, &pc), 0);
	assert_int_equal(nw_pt_map(&pt, GVA, DATA_GPA, NW_PAGE_SIZE, &ro_user, NW_MAP_MAX_4K, NULL),
			 0);
	struct nw_tlb_walker wk = {
		.fmt = &f, .acc = &acc, .root = pt.root,
		.mode = { .levels = 4, .wp = false, .nxe = true, .pke = true },
	};
	nw_tlb_set_ctx(t, &(struct nw_tlb_ctx){ .vpid = 1 });
	/* Supervisor write to a read-only page, CR0.WP = 0: allowed, then a hit. */
	for (int rep = 0; rep < 2; rep++) {
		assert_int_equal(nw_tlb_access(t, &wk, GVA, NW_ACC_READ, &x), 0);
		assert_int_equal(nw_tlb_access(t, &wk, GVA, NW_ACC_WRITE, &x), 0);
		assert_int_equal(x.w.fault, NW_FAULT_NONE);
	}
	assert_int_equal(x.tlb_level, 1);
	wk.mode.wp = true;
	assert_int_equal(nw_tlb_access(t, &wk, GVA, NW_ACC_WRITE, &x), 0);
	assert_int_equal(x.w.fault, NW_FAULT_PF);
	/* Supervisor read of a user page: a hit, then a fault under SMAP. */
	for (int rep = 0; rep < 2; rep++) {
		assert_int_equal(nw_tlb_access(t, &wk, GVA, NW_ACC_READ, &x), 0);
		assert_int_equal(x.w.fault, NW_FAULT_NONE);
	}
	assert_int_equal(x.tlb_level, 1);
	wk.mode.smap = true;
	assert_int_equal(nw_tlb_access(t, &wk, GVA, NW_ACC_READ, &x), 0);
	assert_int_equal(x.w.fault, NW_FAULT_PF);
	/* A user read, then the page's key (0) loses access in PKRU. */
	for (int rep = 0; rep < 2; rep++) {
		assert_int_equal(nw_tlb_access(t, &wk, GVA, NW_ACC_READ | NW_ACC_USER, &x), 0);
		assert_int_equal(x.w.fault, NW_FAULT_NONE);
	}
	assert_int_equal(x.tlb_level, 1);
	wk.mode.pkru = 1; /* AD of key 0 */
	assert_int_equal(nw_tlb_access(t, &wk, GVA, NW_ACC_READ | NW_ACC_USER, &x), 0);
	assert_int_equal(x.w.fault, NW_FAULT_PF);
	assert_true(x.w.pf_error & NW_PFEC_PK);
	nw_pt_destroy(&pt);
	nw_mem_destroy(mem);
	nw_tlb_destroy(t);

	/* Nested: the guest's CR0.WP, under NPT. */
	struct t2_world w;
	t = preset_tlb("zen3", false);
	t2_init(&w, true, 4, 4, 64 * T2_MiB, NW_MAP_MAX_4K, NW_PAGE_SIZE);
	assert_int_equal(nw_pt_map(&w.guest, GVA, 16 * T2_MiB, NW_PAGE_SIZE, &ro_user,
				   NW_MAP_MAX_4K, NULL), 0);
	world_ctx(t, &w);
	struct nw_tlb_walker wk2 = { .w2d = w.cfg };
	wk2.w2d.gmode.wp = false;
	for (int rep = 0; rep < 2; rep++) {
		assert_int_equal(nw_tlb_access(t, &wk2, GVA, NW_ACC_WRITE, &x), 0);
		assert_int_equal(x.w.fault, NW_FAULT_NONE);
	}
	assert_int_equal(x.tlb_level, 1);
	wk2.w2d.gmode.wp = true;
	assert_int_equal(nw_tlb_access(t, &wk2, GVA, NW_ACC_WRITE, &x), 0);
	assert_int_equal(x.w.fault, NW_FAULT_PF);
	t2_destroy(&w);
	nw_tlb_destroy(t);

	/*
	 * Nested: EPT's MBEC turned on by re-initialising the same format. The
	 * EPT leaves grant X but not UX, so a user fetch that hit before now
	 * takes an EPT violation.
	 */
	t = preset_tlb("skylake", false);
	t2_init(&w, false, 4, 4, 64 * T2_MiB, NW_MAP_MAX_4K, NW_PAGE_SIZE);
	assert_int_equal(nw_pt_map(&w.guest, GVA, 16 * T2_MiB, NW_PAGE_SIZE, &GRW, NW_MAP_MAX_4K,
				   NULL), 0);
	world_ctx(t, &w);
	struct nw_tlb_walker wk3 = { .w2d = w.cfg };
	for (int rep = 0; rep < 2; rep++) {
		assert_int_equal(nw_tlb_access(t, &wk3, GVA, NW_ACC_FETCH | NW_ACC_USER, &x), 0);
		assert_int_equal(x.w.fault, NW_FAULT_NONE);
	}
	assert_int_equal(x.tlb_level, 1);
	struct nw_ept_caps caps = w.ept.caps;
	caps.mbec = true;
	assert_int_equal(nw_fmt_ept_init(&w.ept.fmt, w.ept.fmt.maxphyaddr, &caps), 0);
	assert_int_equal(nw_tlb_access(t, &wk3, GVA, NW_ACC_FETCH | NW_ACC_USER, &x), 0);
	assert_int_equal(x.w.fault, NW_FAULT_EPT_VIOLATION);
	t2_destroy(&w);
	nw_tlb_destroy(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_facts_counts_caches_off),
		cmocka_unit_test(test_native_counts_caches_off),
		cmocka_unit_test(test_warm_4x4),
		cmocka_unit_test(test_write_after_read_sets_dirty),
		cmocka_unit_test(test_hit_rechecks_mode),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
