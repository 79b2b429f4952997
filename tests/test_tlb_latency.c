/* SPDX-License-Identifier: MIT */
/*
 * The latency model. Every expected value is worked out in the comment
 * above its assertion from the preset's (or the test's) parameters.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <nestwalk/tlb_preset.h>

#include "nw_test2d.h"

#define GVA 0x00007f1234400000ull /* 4 MiB aligned */

static const struct nw_attr GRW = { .prot = NW_PROT_RWX | NW_PROT_U };

struct rig {
	struct nw_cpu_preset p;
	struct nw_tlb *t;
	struct nw_lat *lat;
	struct nw_mem *mem;
	struct nw_fmt f;
	struct nw_acc acc;
	struct nw_pt pt;
	struct nw_tlb_walker wk;
};

static void rig_init(struct rig *r, const struct nw_cpu_preset *p)
{
	char err[160];

	r->p = *p;
	if (nw_tlb_create(&r->p.tlb, &r->t, err, sizeof(err)) < 0 ||
	    nw_lat_create(&r->p.lat, &r->lat, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	nw_tlb_set_lat(r->t, r->lat);
	nw_tlb_set_ctx(r->t, &(struct nw_tlb_ctx){ .vpid = 1 });
	r->mem = nw_test_arena(256 * T2_MiB, 46);
	assert_int_equal(nw_fmt_x86_init(&r->f, 46, 0), 0);
	nw_acc_plain(&r->acc, r->mem);
	struct nw_pt_cfg pc = { .fmt = &r->f, .mem = r->mem, .levels = 4, .linear = true };
	assert_int_equal(nw_pt_init(&r->pt, &pc), 0);
	r->wk = (struct nw_tlb_walker){
		.fmt = &r->f, .acc = &r->acc, .root = r->pt.root,
		.mode = { .levels = 4, .wp = true, .nxe = true },
	};
}

static void rig_destroy(struct rig *r)
{
	nw_pt_destroy(&r->pt);
	nw_mem_destroy(r->mem);
	nw_lat_destroy(r->lat);
	nw_tlb_destroy(r->t);
}

static uint64_t stat(struct nw_tlb *t, const char *name)
{
	uint64_t v = 0;
	assert_int_equal(nw_tlb_stats_get(nw_tlb_stats(t), name, &v), 0);
	return v;
}

static void preset(const char *name, struct nw_cpu_preset *p)
{
	char err[160];
	assert_int_equal(nw_cpu_preset(name, p, err, sizeof(err)), 0);
}

/* ---- a chain of walk references that hits L1 ---- */

/*
 * skylake: L1 = 4 cycles. An uncached native walk makes 4 references; the
 * second walk of one address finds all 4 table lines in L1 (the first put
 * them there), so the walk costs exactly 4 x 4 = 16 cycles, and the access
 * 16 + 4 (its data line, also in L1) = 20; no TLB is consulted uncached.
 */
static void test_l1_chain_native(void **state)
{
	struct nw_cpu_preset p;
	struct rig r;
	static struct nw_tlb_xlat x;

	preset("skylake", &p);
	rig_init(&r, &p);
	assert_int_equal(nw_pt_map(&r.pt, GVA, 0x40000000, NW_PAGE_SIZE, &GRW, NW_MAP_MAX_4K, NULL), 0);
	r.wk.flags = NW_TLB_WALK_UNCACHED;
	assert_int_equal(nw_tlb_access(r.t, &r.wk, GVA, NW_ACC_READ, &x), 0);
	uint64_t walk0 = stat(r.t, "cycles.walk.guest");
	/* Cold: every line from DRAM (180 cycles): 4 x 180 + 180 for the data. */
	assert_int_equal(walk0, 4 * 180);
	assert_int_equal(x.cycles, 5 * 180);
	assert_int_equal(nw_tlb_access(r.t, &r.wk, GVA, NW_ACC_READ, &x), 0);
	assert_int_equal(x.w.n_refs, 4);
	assert_int_equal(stat(r.t, "cycles.walk.guest") - walk0, 4 * p.lat.l1_cycles);
	assert_int_equal(x.cycles, 4 * 4 + 4);
	assert_int_equal(stat(r.t, "mem.pt.l1"), 4);
	rig_destroy(&r);
}

/* A skylake TLB with its latencies over a 4x4 EPT world whose guest maps
 * GVA at gpa, current on that EPT. */
struct rig2d {
	struct nw_cpu_preset p;
	struct nw_tlb *t;
	struct nw_lat *lat;
	struct t2_world w;
};

static void rig2d_init(struct rig2d *r, uint64_t gpa)
{
	struct nw_tlb_ctx ctx = { .nest = NW_NEST_EPT, .vpid = 1 };

	preset("skylake", &r->p);
	assert_int_equal(nw_tlb_create(&r->p.tlb, &r->t, NULL, 0), 0);
	assert_int_equal(nw_lat_create(&r->p.lat, &r->lat, NULL, 0), 0);
	nw_tlb_set_lat(r->t, r->lat);
	t2_init(&r->w, false, 4, 4, 64 * T2_MiB, NW_MAP_MAX_4K, NW_PAGE_SIZE);
	assert_int_equal(nw_pt_map(&r->w.guest, GVA, gpa, NW_PAGE_SIZE, &GRW, NW_MAP_MAX_4K, NULL), 0);
	assert_int_equal(nw_ept_eptp(&r->w.ept, false, &ctx.eptp), 0);
	nw_tlb_set_ctx(r->t, &ctx);
}

static void rig2d_destroy(struct rig2d *r)
{
	t2_destroy(&r->w);
	nw_lat_destroy(r->lat);
	nw_tlb_destroy(r->t);
}

/*
 * The same for a 4x4 2D walk under EPT: 24 references, 4 guest and 20 host,
 * all in L1 the second time: 24 x 4 = 96 cycles, 16 guest and 80 host.
 */
static void test_l1_chain_2d(void **state)
{
	struct rig2d r;
	static struct nw_tlb_xlat x;

	rig2d_init(&r, 16 * T2_MiB);
	struct nw_tlb *t = r.t;
	struct nw_tlb_walker wk = { .w2d = r.w.cfg, .flags = NW_TLB_WALK_UNCACHED };
	assert_int_equal(nw_tlb_access(t, &wk, GVA, NW_ACC_READ, &x), 0);
	uint64_t g0 = stat(t, "cycles.walk.guest"), h0 = stat(t, "cycles.walk.host");
	assert_int_equal(nw_tlb_access(t, &wk, GVA, NW_ACC_READ, &x), 0);
	assert_int_equal(x.w.n_refs, 24);
	assert_int_equal(stat(t, "cycles.walk.guest") - g0, 4 * 4);
	assert_int_equal(stat(t, "cycles.walk.host") - h0, 20 * 4);
	assert_int_equal(x.cycles, 24 * 4 + 4);
	rig2d_destroy(&r);
}

/* ---- a working set larger than the LLC ---- */

/*
 * A small machine: L1 1 KiB 2-way, L2 2 KiB 2-way, LLC 4 KiB 4-way
 * (64 lines); 4 / 12 / 40 / 200 cycles; L1 TLB lookup 1, L2 TLB lookup 10,
 * PSC hit 3. TLBs of 4 and 8 entries, a 4-entry PDE cache.
 *
 * 256 pages, 32 KiB apart, swept in order: their PTEs are 8 entries (one
 * line) apart, so the sweep touches 256 PTE lines and 256 data lines, 8x
 * the LLC, each reused only after 511 other lines: LRU keeps none. The
 * 8 MiB span is 4 PDEs, all in the PDE cache after the first pass, so a
 * warm walk is one reference, the PTE.
 *
 * Per access of the second pass: TLB 1 + 10 (both miss), PSC 3, PTE line
 * 200 (DRAM), data line 200 (DRAM) = 414 cycles; 256 table lines and 256
 * data lines from DRAM.
 */
static void test_beyond_llc(void **state)
{
	struct nw_cpu_preset p = {
		.tlb = {
			.l1d = { { 4, 4, NW_TLB_SZ_ALL } }, .l1i = { { 4, 4, NW_TLB_SZ_ALL } },
			.l2 = { { 8, 8, NW_TLB_SZ_ALL } }, .psc = { { 4, 4, 0 } },
		},
		.lat = {
			.l1d = { 1024, 2 }, .l2 = { 2048, 2 }, .llc = { 4096, 4 },
			.l1_cycles = 4, .l2_cycles = 12, .llc_cycles = 40, .dram_cycles = 200,
			.tlb_l1_cycles = 1, .tlb_l2_cycles = 10, .psc_cycles = 3,
		},
	};
	struct rig r;
	static struct nw_tlb_xlat x;
	const unsigned n = 256;
	const uint64_t stride = 32 * 1024;

	rig_init(&r, &p);
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(nw_pt_map(&r.pt, GVA + i * stride, 0x40000000 + i * stride,
					   NW_PAGE_SIZE, &GRW, NW_MAP_MAX_4K, NULL), 0);
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(nw_tlb_access(r.t, &r.wk, GVA + i * stride, NW_ACC_READ, &x), 0);

	uint64_t pt0 = stat(r.t, "mem.pt.dram"), data0 = stat(r.t, "mem.data.dram");
	uint64_t refs0 = stat(r.t, "walk.refs.guest");
	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(nw_tlb_access(r.t, &r.wk, GVA + i * stride, NW_ACC_READ, &x), 0);
		assert_int_equal(x.tlb_level, 0);
		assert_int_equal(x.w.n_refs, 1);
		assert_int_equal(x.cycles, 1 + 10 + 3 + 200 + 200);
	}
	assert_int_equal(stat(r.t, "walk.refs.guest") - refs0, n);
	assert_int_equal(stat(r.t, "mem.pt.dram") - pt0, n);
	assert_int_equal(stat(r.t, "mem.data.dram") - data0, n);
	print_message("  beyond the LLC: %u cycles per access, all table and data lines from DRAM\n",
		      (unsigned)x.cycles);
	rig_destroy(&r);
}

/* ---- cost per access at the TLB reach ---- */

/* Average translation cycles (TLB + PSC/PWC + walk) per access over the
 * last of several sweeps of n consecutive 4 KiB pages. */
static double sweep(const char *name, unsigned n)
{
	struct nw_cpu_preset p;
	struct rig r;
	static struct nw_tlb_xlat x;
	uint64_t total = 0;

	preset(name, &p);
	rig_init(&r, &p);
	r.wk.flags = NW_TLB_WALK_NO_DATA;
	assert_int_equal(nw_pt_map(&r.pt, GVA, 0x40000000, (uint64_t)n * NW_PAGE_SIZE, &GRW,
				   NW_MAP_MAX_4K, NULL), 0);
	for (int pass = 0; pass < 3; pass++)
		for (unsigned i = 0; i < n; i++) {
			assert_int_equal(nw_tlb_access(r.t, &r.wk, GVA + (uint64_t)i * NW_PAGE_SIZE,
						       NW_ACC_READ, &x), 0);
			if (pass == 2)
				total += x.cycles;
		}
	rig_destroy(&r);
	double avg = (double)total / n;
	print_message("  %-8s %5u pages: %6.2f translation cycles per access\n", name, n, avg);
	return avg;
}

/*
 * skylake: L1 dTLB 4K 64 entries 4-way (16 sets), L2 1536 12-way (128
 * sets), L1 TLB lookup 0, L2 lookup 12, PSC 3, L1d 4 cycles.
 *  -   32 pages (2 per L1 set):  all L1 TLB hits:             0 cycles;
 *  - 1024 pages (64 per L1 set, 8 per L2 set): L1 misses, L2 hits: 12;
 *  - 4096 pages (32 per L2 set > 12 ways): L2 misses too; the 8 PDEs sit
 *    in the PDE cache (8 sets), so a walk is the PTE alone, and the 512
 *    PTE lines fit the 32 KiB L1d exactly (8 per set, 8 ways):
 *    12 + 3 + 4 = 19.
 */
static void test_reach_skylake(void **state)
{
	double below = sweep("skylake", 32), mid = sweep("skylake", 1024), beyond = sweep("skylake", 4096);

	assert_true(below == 0.0);
	assert_true(mid == 12.0);
	assert_true(beyond == 19.0);
}

/*
 * zen4: L1 dTLB 72 fully associative, L2 3072 24-way (128 sets), no prefix
 * PSCs but a 64-entry PWC (16 sets), L1d 4 cycles, L2 14.
 *  -   36 pages: all L1 hits:                                  0;
 *  - 2048 pages (16 per L2 set): L2 hits:                      12;
 *  - 8192 pages (64 per L2 set): walks. The PML4E, PDPTE and the 16 PDEs
 *    come from the PWC (3 hits, 9 cycles); the PTE is read. 1024 PTE lines
 *    overflow the L1d (16 per set, 8 ways) but fit the L2, and each line
 *    serves 8 consecutive pages: one L2 hit (14) then 7 L1 hits (4), 5.25
 *    per access on average: 12 + 9 + 5.25 = 26.25.
 */
static void test_reach_zen4(void **state)
{
	double below = sweep("zen4", 36), mid = sweep("zen4", 2048), beyond = sweep("zen4", 8192);

	assert_true(below == 0.0);
	assert_true(mid == 12.0);
	assert_true(beyond == 26.25);
}

/* ---- a nested fault costs a VM exit round trip ---- */

/* skylake: 1200 cycles per exit. An access to a GPA the EPT does not map
 * ends in an EPT violation and charges exactly one round trip. */
static void test_vmexit_charged(void **state)
{
	struct rig2d r;
	static struct nw_tlb_xlat x;

	rig2d_init(&r, 128 * T2_MiB); /* beyond guest memory: not in the EPT */
	struct nw_tlb *t = r.t;
	struct nw_tlb_walker wk = { .w2d = r.w.cfg };
	assert_int_equal(nw_tlb_access(t, &wk, GVA, NW_ACC_READ, &x), 0);
	assert_int_equal(x.w.fault, NW_FAULT_EPT_VIOLATION);
	assert_int_equal(stat(t, "cycles.vmexit"), 1200);
	assert_int_equal(stat(t, "inval.ept_violation"), 1);
	rig2d_destroy(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_l1_chain_native),
		cmocka_unit_test(test_l1_chain_2d),
		cmocka_unit_test(test_beyond_llc),
		cmocka_unit_test(test_reach_skylake),
		cmocka_unit_test(test_reach_zen4),
		cmocka_unit_test(test_vmexit_charged),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
