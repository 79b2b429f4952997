/* SPDX-License-Identifier: MIT */
/*
 * The 2D walker against composition: with random guest and nested mappings,
 * every 2D result must equal the composition of two independent 1D lookups
 * (the engine's nw_pt_lookup on each dimension, plus plain reads of the guest
 * tables for the path), or else report the first fault that composition
 * meets. And random garbage in either dimension never crashes the walker.
 */

#include <errno.h>
#include <stdio.h>

#include "nw_test2d.h"

#define GSIZE (1 * T2_GiB)
#define TABLE_REGION (64 * T2_MiB)   /* guest table frames live below this */
#define WINDOW0 0x0000100000000000ull /* guest-virtual windows of 1 GiB */
#define WINDOW1 0x00007fff00000000ull
#define WSIZE T2_GiB

struct expect {
	enum nw_fault fault;
	uint64_t pa;
	uint32_t pf_error;
	bool final;
	uint64_t gpa;
	enum nw_nested_cause cause;
};

/* What one nested access needs, by vendor; independent of the hooks. */
static bool nested_allows(const struct t2_world *t, const struct nw_pt_entry *n, unsigned access)
{
	uint32_t p = n->attr.prot;
	if (t->amd) {
		/* NPT: every access is a user access; fetches need X (host NXE). */
		if (!(p & NW_PROT_U))
			return false;
	} else if (!(p & NW_PROT_R) && !(access & NW_ACC_FETCH)) {
		return false;
	}
	if ((access & NW_ACC_WRITE) && !(p & NW_PROT_W))
		return false;
	if ((access & NW_ACC_FETCH) && !(p & NW_PROT_X))
		return false;
	return true;
}

/* Look a GPA up in the nested dimension: false (with *e filled) on a fault. */
static bool nested_step(struct t2_world *t, uint64_t gpa, unsigned access, bool final,
			struct expect *e, uint64_t *hpa)
{
	struct nw_pt_entry n;
	assert_int_equal(nw_pt_lookup(t2_nested(t), gpa, &n), 0);
	if (!n.present || !nested_allows(t, &n, access)) {
		e->fault = t->amd ? NW_FAULT_NPF : NW_FAULT_EPT_VIOLATION;
		e->final = final;
		e->gpa = gpa;
		e->cause = n.present ? NW_NESTED_DENIED : NW_NESTED_NOT_PRESENT;
		return false;
	}
	*hpa = n.pa;
	return true;
}

static uint64_t gread(struct t2_world *t, uint64_t gpa)
{
	return *(uint64_t *)nw_mem_map(&t->gmem.mem, gpa);
}

/*
 * The composition. Guest modes are kept simple (CR0.WP = 1, no SMEP, SMAP or
 * PKE, NXE = 1), so the guest rule is: user needs U, write needs W, fetch
 * needs X, over the leaf (the engine's upper levels grant everything).
 */
static struct expect compose(struct t2_world *t, uint64_t gva, unsigned access)
{
	struct expect e = { .fault = NW_FAULT_NONE };
	bool pt_writes = t->amd; /* EPT here runs without A/D */
	unsigned pt_access = pt_writes ? NW_ACC_WRITE : NW_ACC_READ;
	uint64_t table = t->cfg.gcr3, entry_gpa[5], entry[5], hpa;
	int n = 0, level;

	for (level = t->cfg.gmode.levels; level >= 1; level--, n++) {
		entry_gpa[n] = table + ((gva >> (12 + 9 * (level - 1))) & 511) * 8;
		if (!nested_step(t, entry_gpa[n], pt_access, false, &e, &hpa))
			return e;
		entry[n] = gread(t, entry_gpa[n]);
		if (!(entry[n] & NW_PTE_P)) {
			e.fault = NW_FAULT_PF;
			e.pf_error = (access & NW_ACC_WRITE ? NW_PFEC_W : 0) |
				     (access & NW_ACC_USER ? NW_PFEC_U : 0) |
				     (access & NW_ACC_FETCH ? NW_PFEC_ID : 0);
			return e;
		}
		if (level == 1 || (level <= 3 && (entry[n] & NW_PTE_PS)))
			break;
		table = entry[n] & NW_PTE_ADDR_MASK;
	}
	n++;

	struct nw_pt_entry g;
	assert_int_equal(nw_pt_lookup(&t->guest, gva, &g), 0);
	assert_true(g.present);
	uint32_t p = g.attr.prot;
	if (((access & NW_ACC_USER) && !(p & NW_PROT_U)) ||
	    ((access & NW_ACC_WRITE) && !(p & NW_PROT_W)) ||
	    ((access & NW_ACC_FETCH) && !(p & NW_PROT_X))) {
		e.fault = NW_FAULT_PF;
		e.pf_error = NW_PFEC_P | (access & NW_ACC_WRITE ? NW_PFEC_W : 0) |
			     (access & NW_ACC_USER ? NW_PFEC_U : 0) |
			     (access & NW_ACC_FETCH ? NW_PFEC_ID : 0);
		return e;
	}
	if (!nested_step(t, g.pa, access & (NW_ACC_WRITE | NW_ACC_FETCH), true, &e, &hpa))
		return e;
	/* Guest A/D updates must be writable through EPT without A/D. */
	for (int i = 0; i < n && !pt_writes; i++) {
		uint64_t need = NW_PTE_A | ((i == n - 1 && (access & NW_ACC_WRITE)) ? NW_PTE_D : 0);
		uint64_t h;
		if ((entry[i] & need) != need &&
		    !nested_step(t, entry_gpa[i], NW_ACC_WRITE, false, &e, &h))
			return e;
	}
	e.pa = hpa;
	return e;
}

static uint32_t random_nested_prot(struct nw_rng *r, bool amd)
{
	if (amd) {
		static const uint32_t p[] = { NW_PROT_R | NW_PROT_U, NW_PROT_RW | NW_PROT_U,
					      NW_PROT_RWX | NW_PROT_U, NW_PROT_R | NW_PROT_X | NW_PROT_U,
					      NW_PROT_RWX };
		return p[nw_rng_below(r, 5)];
	}
	static const uint32_t p[] = { NW_PROT_R, NW_PROT_RW, NW_PROT_RWX, NW_PROT_R | NW_PROT_X,
				      NW_PROT_X };
	return p[nw_rng_below(r, 5)];
}

static void nested_map(struct t2_world *t, uint64_t gpa, uint64_t len, uint32_t prot, unsigned max)
{
	int rc = t->amd ? nw_npt_map(&t->npt, gpa, t->gmem.off + gpa, len, prot, 0, max, NULL)
			: nw_ept_map(&t->ept, gpa, t->gmem.off + gpa, len, prot, NW_EPT_MT_WB, max, NULL);
	assert_int_equal(rc, 0);
}

static void nested_protect(struct t2_world *t, uint64_t gpa, uint64_t len, uint32_t prot)
{
	int rc = t->amd ? nw_npt_protect(&t->npt, gpa, len, prot, 0, NULL)
			: nw_ept_protect(&t->ept, gpa, len, prot, NW_EPT_MT_WB, 0, NULL);
	assert_int_equal(rc, 0);
}

static uint64_t mapped_gva[300];

static void build_random_world(struct t2_world *t, bool amd, struct nw_rng *r)
{
	t2_init(t, amd, 4, 4, GSIZE, 0, NW_PAGE_SIZE);
	/* Guest mappings first, so every guest table frame exists. */
	for (int i = 0; i < 300; i++) {
		uint64_t win = nw_rng_below(r, 2) ? WINDOW1 : WINDOW0;
		bool big = nw_rng_below(r, 4) == 0;
		uint64_t size = big ? 2 * T2_MiB : 4096 * (1 + nw_rng_below(r, 16));
		uint64_t gva = win + (nw_rng_below(r, WSIZE / (2 * T2_MiB)) * 2 * T2_MiB) +
			       (big ? 0 : nw_rng_below(r, 256) * 4096);
		uint64_t gpa = TABLE_REGION + nw_rng_below(r, (GSIZE - TABLE_REGION) / (2 * T2_MiB) - 1) *
					       2 * T2_MiB + (big ? 0 : nw_rng_below(r, 256) * 4096);
		static const uint32_t gp[] = { NW_PROT_R, NW_PROT_RW, NW_PROT_RWX | NW_PROT_U,
					       NW_PROT_R | NW_PROT_U, NW_PROT_RW | NW_PROT_U };
		struct nw_attr a = { .prot = gp[nw_rng_below(r, 5)] };
		nw_pt_map(&t->guest, gva, gpa, size, &a, big ? NW_MAP_MAX_2M : NW_MAP_MAX_4K, NULL);
		mapped_gva[i] = gva;
	}
	assert_true(t->gmem.next < TABLE_REGION);
	/* The guest's tables: mapped, now and then with fewer rights. */
	nested_map(t, 0, TABLE_REGION, amd ? NW_PROT_RWX | NW_PROT_U : NW_PROT_RWX, NW_MAP_MAX_2M);
	for (int i = 0; i < 6; i++) {
		uint64_t page = nw_rng_below(r, t->gmem.next / 4096) * 4096;
		nested_protect(t, page, 4096, random_nested_prot(r, amd));
	}
	/* Data: each 2 MiB chunk absent, one large page, or 4 KiB pages. */
	for (uint64_t c = TABLE_REGION; c < GSIZE; c += 2 * T2_MiB) {
		switch (nw_rng_below(r, 4)) {
		case 0:
			break;
		case 1:
			nested_map(t, c, 2 * T2_MiB, random_nested_prot(r, amd), NW_MAP_MAX_2M);
			break;
		default:
			for (uint64_t p = 0; p < 2 * T2_MiB; p += 64 * 4096)
				if (nw_rng_below(r, 3))
					nested_map(t, c + p, 64 * 4096, random_nested_prot(r, amd),
						   NW_MAP_MAX_4K);
		}
	}
}

static void run_composition(bool amd, uint64_t seed, int walks, int *kinds)
{
	struct t2_world t;
	struct nw_rng r = { seed };
	static struct nw_walk w;

	build_random_world(&t, amd, &r);
	for (int i = 0; i < walks; i++) {
		uint64_t win = nw_rng_below(&r, 2) ? WINDOW1 : WINDOW0;
		uint64_t gva = win + nw_rng_below(&r, WSIZE / 4096) * 4096 + nw_rng_below(&r, 4096);
		/* Mostly where something is mapped, so every outcome is common. */
		if (nw_rng_below(&r, 8))
			gva = mapped_gva[nw_rng_below(&r, 300)] + nw_rng_below(&r, 4096);
		static const unsigned acc[] = { NW_ACC_READ, NW_ACC_WRITE, NW_ACC_FETCH,
						NW_ACC_USER, NW_ACC_USER | NW_ACC_WRITE,
						NW_ACC_USER | NW_ACC_FETCH };
		unsigned access = acc[nw_rng_below(&r, 6)];
		struct expect e = compose(&t, gva, access);

		assert_int_equal(nw_walk2d(&t.cfg, gva, access, &w), 0);
		if (w.fault != e.fault)
			fail_msg("seed %llu walk %d gva %#llx access %u: fault %d, composition says %d",
				 (unsigned long long)seed, i, (unsigned long long)gva, access, w.fault,
				 e.fault);
		kinds[e.fault]++;
		switch (e.fault) {
		case NW_FAULT_NONE:
			assert_int_equal(w.pa, e.pa);
			break;
		case NW_FAULT_PF:
			assert_int_equal(w.pf_error, e.pf_error);
			assert_int_equal(w.fault_addr, gva);
			break;
		default:
			assert_int_equal(w.exit.gpa, e.gpa);
			assert_int_equal(w.exit.final, e.final);
			assert_int_equal(w.exit.cause, e.cause);
			assert_int_equal(w.exit.gla, gva);
			if (!amd)
				assert_int_equal(!!(w.exit.qual & NW_EPT_QUAL_FINAL), e.final);
			else
				assert_int_equal(w.exit.info2, e.gpa);
		}
	}
	t2_destroy(&t);
}

static void test_composition(void **state)
{
	for (int amd = 0; amd <= 1; amd++) {
		int kinds[8] = { 0 };
		for (uint64_t seed = 1; seed <= 4; seed++)
			run_composition(amd, seed, 5000, kinds);
		printf("walk2d %s composition: %d ok, %d guest #PF, %d nested faults\n",
		       amd ? "npt" : "ept", kinds[NW_FAULT_NONE], kinds[NW_FAULT_PF],
		       kinds[NW_FAULT_EPT_VIOLATION] + kinds[NW_FAULT_NPF]);
		/* Every outcome must actually occur, or the property proves little. */
		assert_true(kinds[NW_FAULT_NONE] > 500);
		assert_true(kinds[NW_FAULT_PF] > 500);
		assert_true(kinds[NW_FAULT_EPT_VIOLATION] + kinds[NW_FAULT_NPF] > 500);
	}
}

/* Negative control: a corrupted nested leaf is caught by the composition. */
static void test_composition_catches_corrupt_leaf(void **state)
{
	struct t2_world t;
	static struct nw_walk w;
	struct nw_rng r = { 99 };
	int mismatches = 0, walks = 0;

	build_random_world(&t, false, &r);
	/* Point every present 2 MiB data leaf 2 MiB further, behind the engine's back. */
	struct nw_pt_iter it;
	nw_pt_for_each(&it, &t.ept.pt, TABLE_REGION, GSIZE) {
		if (it.leaf && it.level == 2)
			*(uint64_t *)nw_mem_map(t.host, it.entry_pa) += 2 * T2_MiB;
	}
	for (int i = 0; i < 20000; i++) {
		uint64_t gva = WINDOW0 + nw_rng_below(&r, WSIZE / 4096) * 4096;
		struct expect e;
		/* The composition reads the same corrupted tables, so compare with truth: */
		struct nw_pt_entry g;
		assert_int_equal(nw_pt_lookup(&t.guest, gva, &g), 0);
		e = compose(&t, gva, NW_ACC_READ);
		assert_int_equal(nw_walk2d(&t.cfg, gva, NW_ACC_READ, &w), 0);
		if (w.fault != NW_FAULT_NONE || !g.present)
			continue;
		walks++;
		/* Truth: the host window holds GPA g.pa at off + g.pa. */
		if (w.pa != t.gmem.off + g.pa)
			mismatches++;
		(void)e;
	}
	printf("walk2d negative control: %d of %d translations wrong after corruption\n",
	       mismatches, walks);
	assert_true(walks > 0);
	assert_true(mismatches > 0);
	t2_abandon(&t);
}

/* Random garbage in either dimension, and a garbage root: never a crash. */
static void test_fuzz_garbage(void **state)
{
	static struct nw_walk w;
	int faults[8] = { 0 };

	for (int amd = 0; amd <= 1; amd++)
		for (uint64_t seed = 1; seed <= 3; seed++) {
			struct t2_world t;
			struct nw_rng r = { seed * 7919 };
			build_random_world(&t, amd, &r);
			struct nw_pt *np = t2_nested(&t);
			for (int i = 0; i < 20000; i++) {
				if (i % 50 == 0) {
					/* Corrupt a random entry of a random table of either dimension. */
					struct nw_pt_iter it;
					struct nw_pt *pt = nw_rng_below(&r, 2) ? np : &t.guest;
					uint64_t start = pt == np ? 0 : (nw_rng_below(&r, 2) ? WINDOW1 : WINDOW0);
					uint64_t target = nw_rng_below(&r, 200), k = 0;
					nw_pt_for_each(&it, pt, start, start + (pt == np ? GSIZE : WSIZE)) {
						if (k++ != target)
							continue;
						uint64_t v = nw_rng_next(&r);
						if (nw_rng_below(&r, 2)) /* keep it plausible: small address */
							v = (v & ~NW_PTE_ADDR_MASK) | (v & 0x3ffff000ull);
						uint64_t *slot = pt == np ? nw_mem_map(t.host, it.entry_pa)
									  : nw_mem_map(&t.gmem.mem, it.entry_pa);
						if (slot) /* a table an earlier corruption made up */
							*slot = v;
						break;
					}
				}
				struct nw_walk2d_cfg cfg = t.cfg;
				if (i % 1000 == 999)
					cfg.hroot = nw_rng_next(&r) & 0x000ffffffffff000ull;
				uint64_t gva = (nw_rng_below(&r, 2) ? WINDOW1 : WINDOW0) +
					       nw_rng_below(&r, WSIZE);
				unsigned access = (unsigned)nw_rng_below(&r, 8) & ~NW_ACC_IMPLICIT;
				if ((access & NW_ACC_FETCH) && (access & NW_ACC_WRITE))
					access &= ~NW_ACC_WRITE;
				assert_int_equal(nw_walk2d(&cfg, gva, access, &w), 0);
				assert_true(w.n_refs <= 24);
				faults[w.fault]++;
				if (w.fault == NW_FAULT_EPT_MISCONFIG)
					assert_int_equal(w.exit.qual, 0);
				if (w.fault == NW_FAULT_EPT_VIOLATION || w.fault == NW_FAULT_NPF ||
				    w.fault == NW_FAULT_EPT_MISCONFIG)
					assert_int_equal(w.exit.gla, gva);
			}
			t2_abandon(&t);
		}
	printf("walk2d fuzz: %d ok, %d #PF, %d EPT violations, %d misconfigs, %d NPF\n",
	       faults[NW_FAULT_NONE], faults[NW_FAULT_PF], faults[NW_FAULT_EPT_VIOLATION],
	       faults[NW_FAULT_EPT_MISCONFIG], faults[NW_FAULT_NPF]);
	assert_true(faults[NW_FAULT_EPT_MISCONFIG] > 0);
	assert_true(faults[NW_FAULT_NPF] > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_composition),
		cmocka_unit_test(test_composition_catches_corrupt_leaf),
		cmocka_unit_test(test_fuzz_garbage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
