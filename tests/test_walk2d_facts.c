/* SPDX-License-Identifier: MIT */
/*
 * FACTS §3 (EPT) and §5 (NPT) through the real 2D walker. Every row of the
 * vector tables is a whole guest access: nw_walk2d from gCR3 to the data
 * page, so the walker itself must pick the request for each GPA (final or
 * guest paging-structure, read or write), stop where the hardware stops and
 * fill the exit. test_ept_qual.c and test_npt_fmt.c check the same rows at
 * the hook level.
 *
 * The world: a 4-level guest whose tables sit in guest frames 0x1000..0x4000
 * (nested-mapped 4 KiB, all rights), and a data page at a GPA under nested
 * PML4E 1, so that rights put anywhere on the data page's nested path never
 * touch the guest tables' path. One checker compares every field; a negative
 * control shows it can fail.
 */

#include <errno.h>
#include <stdio.h>

#include "nw_test2d.h"

#define GSIZE (16 * T2_MiB)
#define GTABLES_LEN 0x10000ull        /* guest frames nested-mapped for the tables */
/* PML4 index 0, so the first guest entry read is at gCR3 itself. */
#define GVA 0x40201123ull
/* Indices 1/1/1/1 in the nested tables: PML4E 1 is the data page's alone. */
#define DATA_GPA 0x8040201123ull
#define DATA_HPA_1G 0x800000000ull    /* 32 GiB: where DATA_GPA's 1 GiB frame lives */
#define DATA_HPA (DATA_HPA_1G + (DATA_GPA & (T2_GiB - 1)))
/* A second guest page whose data shares the guest tables' nested PML4E and PDPE. */
#define GVA_LO 0x40202123ull
#define DATA_LO_GPA 0x9123ull

#define MAXPHY 46                     /* the arena's MAXPHYADDR */
#define BIT(n) (1ull << (n))

static unsigned g_rows; /* rows checked through nw_walk2d (negative controls excluded) */

/* ---- the world ---- */

struct world {
	struct t2_world t;
	int dleaf;                        /* nested leaf level of the data page */
	uint64_t *npath[NW_MAX_LEVELS + 1]; /* nested entries of DATA_GPA, by level */
	uint64_t gtable[NW_MAX_LEVELS + 1]; /* GPA of the guest table read at each level */
	uint64_t *gent[NW_MAX_LEVELS + 1];  /* the guest entries of GVA, by level */
	/* Entries changed by hand, restored (last first) by unpoke. */
	unsigned n_saved;
	uint64_t *saved_at[64];
	uint64_t saved[64];
};

static void poke(struct world *w, uint64_t *p, uint64_t val)
{
	assert_true(w->n_saved < 64);
	w->saved_at[w->n_saved] = p;
	w->saved[w->n_saved++] = *p;
	*p = val;
}

static void unpoke(struct world *w)
{
	while (w->n_saved) {
		w->n_saved--;
		*w->saved_at[w->n_saved] = w->saved[w->n_saved];
	}
}

static unsigned map_max(int level)
{
	return level == 1 ? NW_MAP_MAX_4K : level == 2 ? NW_MAP_MAX_2M : NW_MAP_MAX_1G;
}

/* The nested entries on gpa's path, by level; returns the level the walk stopped at. */
static int nested_path(struct world *w, uint64_t gpa, uint64_t *p[NW_MAX_LEVELS + 1])
{
	struct nw_walk1d hw;

	nw_walk_tables(w->t.cfg.hfmt, &w->t.hacc, w->t.cfg.hroot, 4, gpa, w->t.cfg.hmode,
		       NW_DIM_HOST, NULL, &hw);
	for (int i = 0; i < hw.n; i++)
		p[4 - i] = nw_mem_map(w->t.host, hw.entry_pa[i]);
	return hw.level;
}

/*
 * amd: NPT (host NXE), else EPT with `caps` (NULL: default). The data page
 * is nested-mapped by a leaf at dleaf with all rights; the guest maps GVA to
 * it with rights gprot and GVA_LO to DATA_LO_GPA with all rights, and every
 * guest entry has A (and D in the leaves) set.
 */
static void world_init(struct world *w, bool amd, const struct nw_ept_caps *caps, int dleaf,
		       uint32_t gprot)
{
	uint64_t size = NW_LEVEL_SIZE(dleaf), base = DATA_GPA & ~(size - 1);
	uint64_t hbase = DATA_HPA & ~(size - 1);
	struct nw_attr ga = { .prot = gprot }, all = { .prot = NW_PROT_RWX | NW_PROT_U };
	struct nw_walk1d gw;

	memset(w, 0, sizeof(*w));
	t2_init(&w->t, amd, 4, 4, GSIZE, 0, NW_PAGE_SIZE);
	if (!amd && caps) {
		nw_ept_destroy(&w->t.ept);
		assert_int_equal(nw_ept_init(&w->t.ept, w->t.host, caps, 4), 0);
		w->t.cfg.hfmt = &w->t.ept.fmt;
		w->t.cfg.hroot = w->t.ept.pt.root;
	}
	w->dleaf = dleaf;
	t2_nested_map(&w->t, 0, GTABLES_LEN, NW_MAP_MAX_4K);
	if (amd)
		assert_int_equal(nw_npt_map(&w->t.npt, base, hbase, size, NW_PROT_RWX | NW_PROT_U,
					    0, map_max(dleaf), NULL), 0);
	else
		assert_int_equal(nw_ept_map(&w->t.ept, base, hbase, size, NW_PROT_RWX,
					    NW_EPT_MT_WB, map_max(dleaf), NULL), 0);
	assert_int_equal(nested_path(w, DATA_GPA, w->npath), dleaf);

	assert_int_equal(nw_pt_map(&w->t.guest, GVA & NW_PAGE_MASK, DATA_GPA & NW_PAGE_MASK,
				   NW_PAGE_SIZE, &ga, NW_MAP_MAX_4K, NULL), 0);
	assert_int_equal(nw_pt_map(&w->t.guest, GVA_LO & NW_PAGE_MASK, DATA_LO_GPA & NW_PAGE_MASK,
				   NW_PAGE_SIZE, &all, NW_MAP_MAX_4K, NULL), 0);
	assert_true(w->t.gmem.next <= GTABLES_LEN);
	nw_walk_tables(&w->t.gfmt, &w->t.guest.acc, w->t.guest.root, 4, GVA, NW_FMT_NXE,
		       NW_DIM_GUEST, NULL, &gw);
	assert_int_equal(gw.status, NW_W1D_OK);
	assert_int_equal(gw.n, 4);
	for (int i = 0; i < 4; i++) {
		int level = 4 - i;
		w->gtable[level] = gw.entry_pa[i] & NW_PAGE_MASK;
		w->gent[level] = t2_gmem_map(&w->t.gmem.mem, gw.entry_pa[i]);
		*w->gent[level] |= NW_PTE_A | (level == 1 ? NW_PTE_D : 0);
	}
	assert_int_equal(w->gtable[4], w->t.cfg.gcr3);
}

static void world_fini(struct world *w)
{
	unpoke(w);
	t2_destroy(&w->t);
}

/* GPA of the guest entry read at `level` for GVA. */
static uint64_t gentry_gpa(const struct world *w, int level)
{
	return w->gtable[level] + NW_LEVEL_INDEX(GVA, level) * sizeof(uint64_t);
}

/* ---- the checker ---- */

struct expect {
	enum nw_fault fault;
	uint64_t code;  /* EPT qualification, EXITINFO1 or #PF error code */
	uint64_t addr;  /* exit GPA (and EXITINFO2); the HPA on success */
	bool final;     /* exit.final */
	int level;      /* exit.level; 0: not checked */
};

static struct expect OK_AT(uint64_t hpa)
{
	return (struct expect){ .fault = NW_FAULT_NONE, .addr = hpa };
}

#define MISMATCH(field, got, want)                                                        \
	do {                                                                              \
		if (!quiet)                                                               \
			print_error("%s: %s %#llx, want %#llx\n", what, field,            \
				    (unsigned long long)(got), (unsigned long long)(want)); \
		return 1;                                                                 \
	} while (0)
#define CMP(field, got, want)                                 \
	do {                                                  \
		if ((uint64_t)(got) != (uint64_t)(want))      \
			MISMATCH(field, got, want);           \
	} while (0)

/* Walk gva with `access` and compare every exit field: 0 on a match, 1 otherwise. */
static int check_at(struct world *w, uint64_t gva, unsigned access, const struct expect *x,
		    const char *what, bool quiet)
{
	static struct nw_walk r;

	if (!quiet)
		g_rows++;
	CMP("rc", nw_walk2d(&w->t.cfg, gva, access, &r), 0);
	CMP("fault", r.fault, x->fault);
	switch (x->fault) {
	case NW_FAULT_NONE:
		CMP("pa", r.pa, x->addr);
		return 0;
	case NW_FAULT_PF:
		CMP("pf_error", r.pf_error, x->code);
		CMP("cr2", r.fault_addr, gva);
		return 0;
	case NW_FAULT_EPT_VIOLATION:
		CMP("qual", r.exit.qual, x->code);
		CMP("gla_valid", r.exit.gla_valid, true);
		CMP("gla", r.exit.gla, gva);
		break;
	case NW_FAULT_EPT_MISCONFIG:
		CMP("qual", r.exit.qual, 0);
		CMP("gla_valid", r.exit.gla_valid, false);
		break;
	case NW_FAULT_NPF:
		CMP("info1", r.exit.info1, x->code);
		CMP("info2", r.exit.info2, x->addr);
		CMP("gla_valid", r.exit.gla_valid, false); /* SVM reports no GLA */
		break;
	}
	CMP("gpa", r.exit.gpa, x->addr);
	CMP("final", r.exit.final, x->final);
	if (x->level)
		CMP("level", r.exit.level, x->level);
	return 0;
}

static int check(struct world *w, unsigned access, const struct expect *x, const char *what,
		 bool quiet)
{
	return check_at(w, GVA, access, x, what, quiet);
}

static const unsigned ACCESS[3] = { NW_ACC_READ, NW_ACC_WRITE, NW_ACC_FETCH };
static const char *const ACCESS_NAME[3] = { "read", "write", "fetch" };

/* ---- FACTS §3: the final data access ---- */

#define OK (-1)
#define MISCONFIG (-2)

/* Cells are the qualification without the 0x180 of a final access. */
struct final_row {
	uint64_t xwr;
	int64_t cell[3]; /* read, write, fetch */
};

static const struct final_row FINAL[] = {
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
#define N_FINAL (sizeof(FINAL) / sizeof(FINAL[0]))

/* Bits 9..11 (advanced information): the guest page is user / writable / execute-disable. */
static uint64_t adv_bits(uint32_t gp)
{
	return ((gp & NW_PROT_U) ? NW_EPT_QUAL_GUEST_USER : 0) |
	       ((gp & NW_PROT_W) ? NW_EPT_QUAL_GUEST_WRITE : 0) |
	       ((gp & NW_PROT_X) ? 0 : NW_EPT_QUAL_GUEST_NX);
}

/*
 * The expected outcome of access k through EPT rights xwr at nested level
 * `stop` (the topmost restricted entry), the data leaf at `leaf`.
 */
static struct expect final_expect(int64_t cell, uint64_t xwr, int k, const struct nw_ept_caps *caps,
				  uint32_t gp, int stop, int leaf)
{
	/* The guest's own check comes first (FACTS §2 error codes: P, W, I/D). */
	if (k == 1 && !(gp & NW_PROT_W))
		return (struct expect){ .fault = NW_FAULT_PF, .code = NW_PFEC_P | NW_PFEC_W };
	if (k == 2 && !(gp & NW_PROT_X))
		return (struct expect){ .fault = NW_FAULT_PF, .code = NW_PFEC_P | NW_PFEC_ID };
	if (xwr == 4 && !caps->exec_only)
		cell = MISCONFIG;
	if (cell == OK)
		return OK_AT(DATA_HPA);
	if (cell == MISCONFIG)
		return (struct expect){ .fault = NW_FAULT_EPT_MISCONFIG, .addr = DATA_GPA,
					.final = true, .level = stop };
	uint64_t q = (uint64_t)cell | NW_EPT_QUAL_GLA_VALID | NW_EPT_QUAL_FINAL; /* + 0x180 */
	if (caps->adv_exit_info)
		q |= adv_bits(gp);
	return (struct expect){ .fault = NW_FAULT_EPT_VIOLATION, .code = q, .addr = DATA_GPA,
				.final = true, .level = xwr ? leaf : stop };
}

static void set_rights(struct world *w, uint64_t *p, uint64_t xwr)
{
	poke(w, p, (*p & ~NW_EPT_RWX) | xwr);
}

/*
 * Every cell of table `tbl` with the data page under an EPT leaf at `leaf`,
 * the rights placed at each level from the leaf to the PML4E (RWX
 * elsewhere), then at every level at once. Returns the mismatches.
 */
static int final_table(const struct nw_ept_caps *caps, int leaf, uint32_t gp,
		       const struct final_row *tbl, bool quiet)
{
	static struct world w;
	char what[160];
	int bad = 0;

	world_init(&w, false, caps, leaf, gp);
	for (int at = leaf; at <= 5; at++) { /* 5: every level */
		for (size_t r = 0; r < N_FINAL; r++) {
			int stop = at;
			if (at == 5) {
				for (int l = leaf; l <= 4; l++)
					set_rights(&w, w.npath[l], tbl[r].xwr);
				stop = 4;
			} else {
				set_rights(&w, w.npath[at], tbl[r].xwr);
			}
			for (int k = 0; k < 3; k++) {
				struct expect x = final_expect(tbl[r].cell[k], tbl[r].xwr, k, caps, gp,
							       stop, leaf);
				snprintf(what, sizeof(what),
					 "EPT leaf L%d, xwr %llu at %s%d, %s, exec_only %d adv %d gprot %#x",
					 leaf, (unsigned long long)tbl[r].xwr, at == 5 ? "all L" : "L",
					 at == 5 ? leaf : at, ACCESS_NAME[k], caps->exec_only,
					 caps->adv_exit_info, gp);
				bad += check(&w, ACCESS[k], &x, what, quiet);
			}
			unpoke(&w);
		}
	}
	world_fini(&w);
	return bad;
}

static void caps_plain(struct nw_ept_caps *caps)
{
	nw_ept_caps_default(caps);
	caps->adv_exit_info = false; /* as kvm-unit-tests masks bits 9..11 */
}

static void test_ept_final_table(void **state)
{
	struct nw_ept_caps caps;
	int bad = 0;

	caps_plain(&caps);
	for (int leaf = 1; leaf <= 3; leaf++) {
		bad += final_table(&caps, leaf, NW_PROT_RWX | NW_PROT_U, FINAL, false);
		bad += final_table(&caps, leaf, NW_PROT_RWX, FINAL, false);
	}
	assert_int_equal(bad, 0);
}

/* "--x ... (misconfig everywhere without exec-only support)" */
static void test_ept_final_table_no_exec_only(void **state)
{
	struct nw_ept_caps caps;
	int bad = 0;

	caps_plain(&caps);
	caps.exec_only = false;
	for (int leaf = 1; leaf <= 3; leaf++)
		bad += final_table(&caps, leaf, NW_PROT_RWX | NW_PROT_U, FINAL, false);
	assert_int_equal(bad, 0);
}

/*
 * "| 9 / 10 / 11 | advanced information ...: the guest page is user /
 * writable / execute-disable |", for guest leaves with every U/W/XD mix.
 */
static void test_ept_final_table_advanced_info(void **state)
{
	struct nw_ept_caps caps;
	int bad = 0;

	nw_ept_caps_default(&caps);
	assert_true(caps.adv_exit_info);
	for (uint32_t mix = 0; mix < 8; mix++) {
		uint32_t gp = NW_PROT_R | ((mix & 1) ? NW_PROT_U : 0) | ((mix & 2) ? NW_PROT_W : 0) |
			      ((mix & 4) ? NW_PROT_X : 0);
		for (int leaf = 1; leaf <= 3; leaf++)
			bad += final_table(&caps, leaf, gp, FINAL, false);
	}
	caps.exec_only = false;
	bad += final_table(&caps, 1, NW_PROT_R | NW_PROT_X, FINAL, false);
	assert_int_equal(bad, 0);
}

/*
 * "| 3 / 4 / 5 | AND of R / W / X over every entry walked |": two levels
 * restricted differently, each pair of levels on the data page's path.
 */
static void test_ept_rights_and_over_levels(void **state)
{
	static const struct {
		uint64_t upper, lower;
		int64_t cell[3];
	} pairs[] = {
		/* r-x AND rw- = r-- */
		{ NW_EPT_R | NW_EPT_X, NW_EPT_R | NW_EPT_W, { OK, 0x0A, 0x0C } },
		{ NW_EPT_R | NW_EPT_W, NW_EPT_R | NW_EPT_X, { OK, 0x0A, 0x0C } },
		/* --x AND r-- = nothing, every entry present */
		{ NW_EPT_X, NW_EPT_R, { 0x01, 0x02, 0x04 } },
		{ NW_EPT_R, NW_EPT_X, { 0x01, 0x02, 0x04 } },
		/* r-x AND --x = --x */
		{ NW_EPT_R | NW_EPT_X, NW_EPT_X, { 0x21, 0x22, OK } },
	};
	struct nw_ept_caps caps;
	static struct world w;
	char what[128];
	int bad = 0;

	caps_plain(&caps);
	for (int leaf = 1; leaf <= 3; leaf++) {
		world_init(&w, false, &caps, leaf, NW_PROT_RWX | NW_PROT_U);
		for (int hi = leaf + 1; hi <= 4; hi++)
			for (int lo = leaf; lo < hi; lo++)
				for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
					set_rights(&w, w.npath[hi], pairs[i].upper);
					set_rights(&w, w.npath[lo], pairs[i].lower);
					for (int k = 0; k < 3; k++) {
						struct expect x = final_expect(pairs[i].cell[k], 1, k, &caps,
									       NW_PROT_RWX, hi, leaf);
						snprintf(what, sizeof(what), "leaf L%d: L%d %llu over L%d %llu, %s",
							 leaf, hi, (unsigned long long)pairs[i].upper, lo,
							 (unsigned long long)pairs[i].lower, ACCESS_NAME[k]);
						bad += check(&w, ACCESS[k], &x, what, false);
					}
					unpoke(&w);
				}
		world_fini(&w);
	}
	assert_int_equal(bad, 0);
}

/* ---- FACTS §3: EPT rights on the page that holds a guest page table ---- */

/* The guest's A/D state for one row: what it must set in the entry at `level`. */
enum gad { GAD_SET, GAD_A_CLEAR, GAD_D_CLEAR };

static void set_guest_ad(struct world *w, int level, enum gad s)
{
	for (int l = 1; l <= 4; l++) {
		uint64_t e = *w->gent[l] | NW_PTE_A | (l == 1 ? NW_PTE_D : 0);
		if (l == level && s == GAD_A_CLEAR)
			e &= ~(NW_PTE_A | NW_PTE_D);
		if (l == level && s == GAD_D_CLEAR)
			e &= ~NW_PTE_D;
		poke(w, w->gent[l], e);
	}
}

static void clear_ept_ad(struct world *w, uint64_t *const p[NW_MAX_LEVELS + 1], int leaf)
{
	for (int l = leaf; l <= 4; l++)
		poke(w, p[l], *p[l] & ~(NW_EPT_A | NW_EPT_D));
}

/* "afterwards EPT A is set at every level and D only on the leaf" (none of it without A/D). */
static int check_ept_ad(struct world *w, uint64_t *const p[NW_MAX_LEVELS + 1], bool ad,
			const char *what)
{
	g_rows++;
	for (int l = 1; l <= 4; l++) {
		bool a = *p[l] & NW_EPT_A, d = *p[l] & NW_EPT_D;
		if (a != ad || d != (ad && l == 1)) {
			print_error("%s: EPT L%d A %d D %d, want A %d D %d\n", what, l, a, d, ad,
				    ad && l == 1);
			return 1;
		}
	}
	return 0;
}

/*
 * The rows for the guest table read at guest level gl, its page's EPT leaf
 * given `xwr`, with EPT A/D (EPTP bit 6) on or off.
 */
static int guest_pt_rows(bool ad, bool adv)
{
	static struct world w;
	struct nw_ept_caps caps;
	char what[160];
	int bad = 0;

	nw_ept_caps_default(&caps);
	caps.adv_exit_info = adv;
	world_init(&w, false, &caps, 1, NW_PROT_RWX | NW_PROT_U);
	if (ad)
		w.t.cfg.hmode |= NW_FMT_EPT_AD;
	for (int gl = 4; gl >= 1; gl--) {
		uint64_t *tp[NW_MAX_LEVELS + 1];
		uint64_t egpa = gentry_gpa(&w, gl);
		assert_int_equal(nested_path(&w, w.gtable[gl], tp), 1);

		static const struct {
			uint64_t xwr;
			uint64_t fault_off, fault_on; /* 0: ok */
		} rights[] = {
			/* | not present | read: 0x1 | read+write: 0x3 | */
			{ 0, 0x81, 0x83 },
			/* | r-- | 0x0B when the guest must set an A/D bit, otherwise ok | 0x0B always | */
			{ NW_EPT_R, 0x8B, 0x8B },
			/* | r-x | as r--, with 0x2B | 0x2B always | */
			{ NW_EPT_R | NW_EPT_X, 0xAB, 0xAB },
			/* | rw-, rwx | ok | ok; afterwards EPT A is set at every level and D only on the leaf | */
			{ NW_EPT_R | NW_EPT_W, 0, 0 },
			{ NW_EPT_RWX, 0, 0 },
		};
		static const struct {
			unsigned access;
			enum gad s;
		} cases[] = {
			{ NW_ACC_READ, GAD_SET },
			{ NW_ACC_READ, GAD_A_CLEAR },
			{ NW_ACC_WRITE, GAD_SET },
			{ NW_ACC_WRITE, GAD_A_CLEAR },
			{ NW_ACC_WRITE, GAD_D_CLEAR }, /* the guest leaf needs D: non-leaves don't */
		};
		for (size_t r = 0; r < sizeof(rights) / sizeof(rights[0]); r++)
			for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
				bool write = cases[c].access == NW_ACC_WRITE;
				bool must_set = cases[c].s == GAD_A_CLEAR ||
						(cases[c].s == GAD_D_CLEAR && gl == 1 && write);
				uint64_t q = ad ? rights[r].fault_on : rights[r].fault_off;
				/* A/D off, present: a fault only when the guest must set A or D. */
				if (!ad && rights[r].xwr && !must_set)
					q = 0;
				struct expect x = q ? (struct expect){ .fault = NW_FAULT_EPT_VIOLATION,
								       .code = q, .addr = egpa, .level = 1 }
						    : OK_AT(DATA_HPA);
				set_guest_ad(&w, gl, cases[c].s);
				set_rights(&w, tp[1], rights[r].xwr);
				clear_ept_ad(&w, tp, 1);
				clear_ept_ad(&w, w.npath, 1);
				snprintf(what, sizeof(what),
					 "guest L%d table page EPT xwr %llu, A/D %s, adv %d, %s, guest %s",
					 gl, (unsigned long long)rights[r].xwr, ad ? "on" : "off", adv,
					 write ? "write" : "read",
					 cases[c].s == GAD_SET ? "A/D set" :
					 cases[c].s == GAD_A_CLEAR ? "A clear" : "D clear");
				int b = check(&w, cases[c].access, &x, what, false);
				bad += b;
				if (!b && !q) {
					/* The table page's EPT walk, and the data page's. */
					bad += check_ept_ad(&w, tp, ad, what);
					g_rows++;
					bool da = *w.npath[1] & NW_EPT_A, dd = *w.npath[1] & NW_EPT_D;
					if (da != ad || dd != (ad && write)) {
						print_error("%s: data EPT leaf A %d D %d\n", what, da, dd);
						bad++;
					}
				}
				unpoke(&w);
			}
	}

	/* r-- on the EPT PDE above every guest table: the first guest entry read faults. */
	struct expect x = ad ? (struct expect){ .fault = NW_FAULT_EPT_VIOLATION, .code = 0x8B,
						.addr = w.t.cfg.gcr3, .level = 1 }
			     : OK_AT(DATA_HPA);
	uint64_t *tp[NW_MAX_LEVELS + 1];
	nested_path(&w, w.t.cfg.gcr3, tp);
	set_rights(&w, tp[2], NW_EPT_R);
	bad += check(&w, NW_ACC_READ, &x, "EPT PDE r-- over the guest tables", false);
	unpoke(&w);
	world_fini(&w);
	return bad;
}

static void test_ept_guest_pt_table_ad_off(void **state)
{
	assert_int_equal(guest_pt_rows(false, false), 0);
}

static void test_ept_guest_pt_table_ad_on(void **state)
{
	assert_int_equal(guest_pt_rows(true, false), 0);
}

/* Bits 9..11 are 0 for guest paging-structure accesses (nestwalk's choice; the SDM leaves them undefined). */
static void test_ept_guest_pt_table_advanced_info(void **state)
{
	assert_int_equal(guest_pt_rows(false, true) + guest_pt_rows(true, true), 0);
}

/* ---- FACTS §3: EPT misconfiguration, reserved bits per level ---- */

/*
 * Entry `p` at `level` with `set` ORed in and the fields in `clear` removed:
 * present, a misconfiguration; with bits 2:0 cleared as well, a violation
 * ("Checked only on present entries. A non-present entry is a violation
 * instead, and its reserved bits are ignored").
 */
static int rsvd_row(struct world *w, uint64_t *p, int level, uint64_t clear, uint64_t set,
		    const char *name)
{
	char what[160];
	int bad = 0;

	for (int present = 1; present >= 0; present--) {
		uint64_t e = (*p & ~clear) | set;
		if (!present)
			e &= ~NW_EPT_RWX;
		poke(w, p, e);
		for (int k = 0; k < 3; k++) {
			struct expect x = present ?
				(struct expect){ .fault = NW_FAULT_EPT_MISCONFIG, .addr = DATA_GPA,
						 .final = true, .level = level } :
				/* 0x181 for a read, 0x182 write, 0x184 fetch */
				(struct expect){ .fault = NW_FAULT_EPT_VIOLATION,
						 .code = (1ull << k) | 0x180, .addr = DATA_GPA,
						 .final = true, .level = level };
			snprintf(what, sizeof(what), "L%d %s (%s), %s", level, name,
				 present ? "present" : "not present", ACCESS_NAME[k]);
			bad += check(w, ACCESS[k], &x, what, false);
		}
		unpoke(w);
	}
	return bad;
}

static void test_ept_reserved_bits(void **state)
{
	static struct world w;
	struct nw_ept_caps caps;
	char name[64];
	int bad = 0;

	caps_plain(&caps);
	/* 4 KiB data leaf: non-leaf entries at 4..2, the leaf at 1. */
	world_init(&w, false, &caps, 1, NW_PROT_RWX | NW_PROT_U);
	for (int level = 1; level <= 4; level++) {
		/* "Any address bit from MAXPHYADDR to 51 is set." */
		static const unsigned abits[] = { MAXPHY, 47, 51 };
		for (size_t i = 0; i < 3; i++) {
			snprintf(name, sizeof(name), "address bit %u", abits[i]);
			bad += rsvd_row(&w, w.npath[level], level, 0, BIT(abits[i]), name);
		}
	}
	/* "Non-leaf reserved bits: PML4E bits 7:3; PDPTE/PDE (pointing to a table) bits 6:3." */
	for (unsigned b = 3; b <= 7; b++) {
		snprintf(name, sizeof(name), "PML4E bit %u%s", b, b == 7 ? " (PS)" : "");
		bad += rsvd_row(&w, w.npath[4], 4, 0, BIT(b), name);
	}
	for (int level = 2; level <= 3; level++)
		for (unsigned b = 3; b <= 6; b++) {
			snprintf(name, sizeof(name), "non-leaf bit %u", b);
			bad += rsvd_row(&w, w.npath[level], level, 0, BIT(b), name);
		}
	/* "Leaf memory type 2, 3 or 7." */
	for (unsigned mt = 2; mt <= 7; mt += (mt == 3 ? 4 : 1)) {
		snprintf(name, sizeof(name), "4K leaf memtype %u", mt);
		bad += rsvd_row(&w, w.npath[1], 1, NW_EPT_MT_MASK, (uint64_t)mt << NW_EPT_MT_SHIFT, name);
	}
	world_fini(&w);

	/* Large leaves: memory type and "a misaligned large page". */
	for (int leaf = 2; leaf <= 3; leaf++) {
		world_init(&w, false, &caps, leaf, NW_PROT_RWX | NW_PROT_U);
		for (unsigned mt = 2; mt <= 7; mt += (mt == 3 ? 4 : 1)) {
			snprintf(name, sizeof(name), "large leaf memtype %u", mt);
			bad += rsvd_row(&w, w.npath[leaf], leaf, NW_EPT_MT_MASK,
					(uint64_t)mt << NW_EPT_MT_SHIFT, name);
		}
		unsigned top = leaf == 2 ? 20 : 29; /* bits 20:12 of a 2 MiB leaf, 29:12 of a 1 GiB one */
		unsigned mis[] = { 12, 16, top };
		for (size_t i = 0; i < 3; i++) {
			snprintf(name, sizeof(name), "misaligned, bit %u", mis[i]);
			bad += rsvd_row(&w, w.npath[leaf], leaf, 0, BIT(mis[i]), name);
		}
		bad += rsvd_row(&w, w.npath[leaf], leaf, 0, BIT(MAXPHY), "large leaf address bit 46");
		world_fini(&w);
	}

	/* "PS=1 at a level whose page size is not supported." */
	for (int level = 2; level <= 3; level++) {
		caps_plain(&caps);
		if (level == 2)
			caps.page_2m = false;
		else
			caps.page_1g = false;
		world_init(&w, false, &caps, level - 1, NW_PROT_RWX | NW_PROT_U);
		uint64_t leaf = (DATA_HPA & ~(NW_LEVEL_SIZE(level) - 1)) | NW_EPT_RWX | NW_EPT_PS |
				((uint64_t)NW_EPT_MT_WB << NW_EPT_MT_SHIFT);
		bad += rsvd_row(&w, w.npath[level], level, ~0ull, leaf, "PS without the page size");
		world_fini(&w);
	}

	/* On a guest table page's EPT leaf: the guest walk stops there, not final. */
	caps_plain(&caps);
	world_init(&w, false, &caps, 1, NW_PROT_RWX | NW_PROT_U);
	uint64_t *tp[NW_MAX_LEVELS + 1];
	nested_path(&w, w.t.cfg.gcr3, tp);
	poke(&w, tp[1], *tp[1] | (7ull << NW_EPT_MT_SHIFT));
	struct expect x = { .fault = NW_FAULT_EPT_MISCONFIG, .addr = w.t.cfg.gcr3, .level = 1 };
	bad += check(&w, NW_ACC_READ, &x, "guest PML4 page EPT memtype 7", false);
	poke(&w, tp[1], *tp[1] & ~NW_EPT_RWX);
	x = (struct expect){ .fault = NW_FAULT_EPT_VIOLATION, .code = 0x81, .addr = w.t.cfg.gcr3,
			     .level = 1 };
	bad += check(&w, NW_ACC_READ, &x, "guest PML4 page EPT memtype 7, not present", false);
	unpoke(&w);
	world_fini(&w);
	assert_int_equal(bad, 0);
}

/* ---- FACTS §3: ignored bits ---- */

/*
 * "| 11, 52–62 | ignored |", "| 10 | user-mode execute when MBEC is on,
 * otherwise ignored |", "| 8 / 9 | accessed / dirty (... ignored for
 * permission) |", and bit 63 (suppress #VE) in non-leaf entries: none of
 * them changes an outcome, at any level. The leaf is r--, so each access
 * has a different baseline: ok, 0x18A, 0x18C.
 */
static void test_ept_ignored_bits(void **state)
{
	static struct world w;
	struct nw_ept_caps caps;
	char what[128];
	int bad = 0;

	caps_plain(&caps);
	assert_false(caps.mbec);
	for (int leaf = 1; leaf <= 3; leaf++) {
		world_init(&w, false, &caps, leaf, NW_PROT_RWX | NW_PROT_U);
		for (int level = leaf; level <= 4; level++) {
			uint64_t bits[20];
			unsigned n = 0;
			bits[n++] = NW_EPT_A;
			bits[n++] = NW_EPT_D;
			bits[n++] = NW_EPT_UX;
			bits[n++] = BIT(11);
			for (unsigned b = 52; b <= 62; b++)
				bits[n++] = BIT(b);
			if (level > leaf)
				bits[n++] = BIT(63);
			uint64_t every = 0;
			for (unsigned i = 0; i < n; i++)
				every |= bits[i];
			bits[n++] = every;
			for (unsigned i = 0; i < n; i++) {
				set_rights(&w, w.npath[leaf], NW_EPT_R);
				poke(&w, w.npath[level], *w.npath[level] | bits[i]);
				for (int k = 0; k < 3; k++) {
					struct expect x = final_expect(FINAL[1].cell[k], 1, k, &caps,
								       NW_PROT_RWX, level, leaf);
					snprintf(what, sizeof(what), "leaf L%d, L%d bits %#llx, %s", leaf,
						 level, (unsigned long long)bits[i], ACCESS_NAME[k]);
					bad += check(&w, ACCESS[k], &x, what, false);
				}
				unpoke(&w);
			}
		}
		world_fini(&w);
	}
	assert_int_equal(bad, 0);
}

/* ---- FACTS §3: EPTP, one test per row ---- */

static uint64_t eptp_ok(void)
{
	return nw_ept_make_eptp(0x123456000ull, 4, NW_EPT_MT_WB, false);
}

static void eptp_expect(uint64_t eptp, const struct nw_ept_caps *caps, int want)
{
	g_rows++;
	assert_int_equal(nw_ept_eptp_check(eptp, caps, MAXPHY), want);
}

/* | 2:0 | memory type: 0 UC or 6 WB, nothing else | */
static void test_eptp_memtype(void **state)
{
	for (uint64_t mt = 0; mt < 8; mt++)
		eptp_expect((eptp_ok() & ~NW_EPTP_MT_MASK) | mt, NULL,
			    mt == NW_EPT_MT_UC || mt == NW_EPT_MT_WB ? 0 : -EINVAL);
}

/* | 5:3 | page-walk length minus 1: 3 = 4-level, 4 = 5-level | */
static void test_eptp_walk_length(void **state)
{
	for (uint64_t pwl = 0; pwl < 8; pwl++)
		eptp_expect((eptp_ok() & ~NW_EPTP_PWL_MASK) | (pwl << NW_EPTP_PWL_SHIFT), NULL,
			    pwl == 3 || pwl == 4 ? 0 : -EINVAL);
}

/* | 6 | enable accessed/dirty flags | (needs the A/D capability) */
static void test_eptp_ad(void **state)
{
	struct nw_ept_caps caps;

	nw_ept_caps_default(&caps);
	eptp_expect(eptp_ok() | NW_EPTP_AD, &caps, 0);
	caps.ad = false;
	eptp_expect(eptp_ok() | NW_EPTP_AD, &caps, -EINVAL);
}

/* | 7 | supervisor shadow-stack control (treat as reserved unless modelled) | */
static void test_eptp_bit7(void **state)
{
	eptp_expect(eptp_ok() | BIT(7), NULL, -EINVAL);
}

/* | 11:8 | reserved | */
static void test_eptp_bits_11_8(void **state)
{
	for (unsigned b = 8; b <= 11; b++)
		eptp_expect(eptp_ok() | BIT(b), NULL, -EINVAL);
}

/*
 * | MAXPHYADDR-1:12 | root table address |: the EPTP of a walker world's
 * tables is valid and names the root the walker starts from.
 */
static void test_eptp_root(void **state)
{
	static struct world w;
	uint64_t eptp;

	eptp_expect(eptp_ok() | BIT(MAXPHY - 1), NULL, 0);
	world_init(&w, false, NULL, 1, NW_PROT_RWX);
	for (int ad = 0; ad <= 1; ad++) {
		assert_int_equal(nw_ept_eptp(&w.t.ept, ad, &eptp), 0);
		eptp_expect(eptp, NULL, 0);
		assert_int_equal(nw_ept_eptp_root(eptp), w.t.cfg.hroot);
		assert_int_equal(nw_ept_eptp_levels(eptp), 4);
	}
	world_fini(&w);
}

/* | 63:MAXPHYADDR | reserved | */
static void test_eptp_above_maxphyaddr(void **state)
{
	static const unsigned bits[] = { MAXPHY, 47, 51, 52, 62, 63 };
	for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++)
		eptp_expect(eptp_ok() | BIT(bits[i]), NULL, -EINVAL);
}

/* ---- FACTS §5: NPT ---- */

static struct expect npf(uint64_t info1, uint64_t gpa, int level)
{
	return (struct expect){ .fault = NW_FAULT_NPF, .code = info1, .addr = gpa,
				.final = info1 & NW_NPF_FINAL, .level = level };
}

/* | data page not present | 0x1_0000_0004 | */
static void test_npt_data_not_present(void **state)
{
	static struct world w;
	struct expect x = npf(0x100000004ull, DATA_GPA, 1);

	world_init(&w, true, NULL, 1, NW_PROT_RWX | NW_PROT_U);
	struct expect ok = OK_AT(DATA_HPA);
	assert_int_equal(check(&w, NW_ACC_READ, &ok, "npt control", false), 0);
	poke(&w, w.npath[1], 0);
	assert_int_equal(check(&w, NW_ACC_READ, &x, "npt data PTE not present", false), 0);
	unpoke(&w);
	world_fini(&w);
}

/* | fetch from an NX data page (host NXE=1) | 0x1_0000_0015 | */
static void test_npt_nx_fetch(void **state)
{
	static struct world w;
	struct expect x = npf(0x100000015ull, DATA_GPA, 1);
	struct expect ok = OK_AT(DATA_HPA);

	world_init(&w, true, NULL, 1, NW_PROT_RWX | NW_PROT_U);
	assert_true(w.t.cfg.hmode & NW_FMT_NXE);
	poke(&w, w.npath[1], *w.npath[1] | NW_PTE_XD);
	assert_int_equal(check(&w, NW_ACC_FETCH, &x, "npt NX data page, fetch", false), 0);
	assert_int_equal(check(&w, NW_ACC_READ, &ok, "npt NX data page, read", false), 0);
	unpoke(&w);
	world_fini(&w);
}

/* | data page with U/S=0 | 0x1_0000_0005 | */
static void test_npt_data_supervisor(void **state)
{
	static struct world w;
	struct expect x = npf(0x100000005ull, DATA_GPA, 1);

	world_init(&w, true, NULL, 1, NW_PROT_RWX | NW_PROT_U);
	for (int level = 1; level <= 4; level++) { /* U/S=0 at any level of the data path */
		poke(&w, w.npath[level], *w.npath[level] & ~NW_PTE_US);
		assert_int_equal(check(&w, NW_ACC_READ, &x, "npt U/S=0", false), 0);
		unpoke(&w);
	}
	world_fini(&w);
}

/* | write to a read-only data page | 0x1_0000_0007 | */
static void test_npt_data_read_only(void **state)
{
	static struct world w;
	struct expect x = npf(0x100000007ull, DATA_GPA, 1);
	struct expect ok = OK_AT(DATA_HPA);

	world_init(&w, true, NULL, 1, NW_PROT_RWX | NW_PROT_U);
	poke(&w, w.npath[1], *w.npath[1] & ~NW_PTE_RW);
	assert_int_equal(check(&w, NW_ACC_WRITE, &x, "npt RO data page, write", false), 0);
	assert_int_equal(check(&w, NW_ACC_READ, &ok, "npt RO data page, read", false), 0);
	unpoke(&w);
	world_fini(&w);
}

/*
 * | the guest's PML4 page read-only in NPT (the guest walk writes) |
 * 0x2_0000_0007, with EXITINFO2 = guest CR3 |
 */
static void test_npt_guest_pml4_read_only(void **state)
{
	static struct world w;
	uint64_t *tp[NW_MAX_LEVELS + 1];

	world_init(&w, true, NULL, 1, NW_PROT_RWX | NW_PROT_U);
	assert_int_equal(NW_LEVEL_INDEX(GVA, 4), 0);
	assert_int_equal(gentry_gpa(&w, 4), w.t.cfg.gcr3); /* PML4 index 0: the entry is at gCR3 */
	struct expect x = npf(0x200000007ull, w.t.cfg.gcr3, 1);
	nested_path(&w, w.t.cfg.gcr3, tp);
	poke(&w, tp[1], *tp[1] & ~NW_PTE_RW);
	/* Even a read: the guest walk's accesses are writes, its A bits set or not. */
	assert_int_equal(check(&w, NW_ACC_READ, &x, "npt guest PML4 page RO", false), 0);
	assert_int_equal(check(&w, NW_ACC_WRITE, &x, "npt guest PML4 page RO, write", false), 0);
	unpoke(&w);
	world_fini(&w);
}

/*
 * | reserved bit in the final-walk PTE/PDE | 0x1_0000_000D (plus 0x10 when
 * host NXE or host SMEP is set) |, for a fetch.
 */
static void test_npt_reserved_final(void **state)
{
	static const struct {
		unsigned hmode;
		uint64_t info1;
	} modes[] = {
		{ 0, 0x10000000Dull },
		{ NW_FMT_NXE, 0x10000001Dull },
		{ NW_FMT_SMEP, 0x10000001Dull },
		{ NW_FMT_NXE | NW_FMT_SMEP, 0x10000001Dull },
	};
	static struct world w;
	char what[96];
	int bad = 0;

	world_init(&w, true, NULL, 1, NW_PROT_RWX | NW_PROT_U);
	for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
		w.t.cfg.hmode = modes[m].hmode;
		for (int level = 1; level <= 2; level++) {
			poke(&w, w.npath[level], *w.npath[level] | BIT(50));
			struct expect x = npf(modes[m].info1, DATA_GPA, level);
			snprintf(what, sizeof(what), "npt rsvd L%d, host mode %#x, fetch", level,
				 modes[m].hmode);
			bad += check(&w, NW_ACC_FETCH, &x, what, false);
			x = npf(0x10000000Dull, DATA_GPA, level);
			snprintf(what, sizeof(what), "npt rsvd L%d, host mode %#x, read", level,
				 modes[m].hmode);
			bad += check(&w, NW_ACC_READ, &x, what, false);
			unpoke(&w);
		}
	}
	world_fini(&w);
	assert_int_equal(bad, 0);
}

/* | reserved bit in a PDPE/PML4E that also maps the guest's tables | 0x2_0000_000F | */
static void test_npt_reserved_upper(void **state)
{
	static struct world w;
	uint64_t *tp[NW_MAX_LEVELS + 1], *dp[NW_MAX_LEVELS + 1];
	char what[96];
	int bad = 0;

	world_init(&w, true, NULL, 1, NW_PROT_RWX | NW_PROT_U);
	nested_path(&w, w.t.cfg.gcr3, tp);
	nested_path(&w, DATA_LO_GPA, dp);
	for (int level = 3; level <= 4; level++) {
		/* DATA_LO shares them with the guest tables; the guest walk meets them first. */
		assert_ptr_equal(tp[level], dp[level]);
		uint64_t bits[] = { BIT(51), BIT(MAXPHY), level == 4 ? NW_PTE_G : BIT(47) };
		for (size_t i = 0; i < 3; i++) {
			struct expect x = npf(0x20000000Full, w.t.cfg.gcr3, level);
			poke(&w, tp[level], *tp[level] | bits[i]);
			snprintf(what, sizeof(what), "npt rsvd %#llx in L%d over the guest tables",
				 (unsigned long long)bits[i], level);
			bad += check_at(&w, GVA_LO, NW_ACC_READ, &x, what, false);
			bad += check(&w, NW_ACC_FETCH, &x, what, false);
			unpoke(&w);
		}
	}
	world_fini(&w);
	assert_int_equal(bad, 0);
}

/* ---- negative controls ---- */

/* A wrong table through the same checker: every wrong cell must be reported. */
static void test_checker_can_fail(void **state)
{
	struct final_row wrong[N_FINAL];
	struct nw_ept_caps caps;
	static struct world w;

	for (size_t r = 0; r < N_FINAL; r++) {
		wrong[r] = FINAL[r];
		for (int k = 0; k < 3; k++) {
			int64_t c = FINAL[r].cell[k];
			wrong[r].cell[k] = c == OK ? 0x1 : c == MISCONFIG ? OK : (c ^ 0x8);
		}
	}
	caps_plain(&caps);
	/* Leaf L1: placements L1..L4 and all levels, 24 cells each. */
	assert_int_equal(final_table(&caps, 1, NW_PROT_RWX | NW_PROT_U, wrong, true), 5 * 24);
	assert_int_equal(final_table(&caps, 1, NW_PROT_RWX | NW_PROT_U, FINAL, true), 0);
	/* The CPU has exec-only; expectations built without it must miss all 3 --x cells. */
	caps.exec_only = false;
	struct nw_ept_caps cpu;
	caps_plain(&cpu);
	int bad = 0;
	world_init(&w, false, &cpu, 1, NW_PROT_RWX);
	set_rights(&w, w.npath[1], NW_EPT_X);
	for (int k = 0; k < 3; k++) {
		struct expect x = final_expect(FINAL[4].cell[k], 4, k, &caps, NW_PROT_RWX, 1, 1);
		bad += check(&w, ACCESS[k], &x, "control", true);
	}
	unpoke(&w);
	world_fini(&w);
	assert_int_equal(bad, 3);

	/* NPT: the right row passes, a wrong EXITINFO1 or EXITINFO2 is caught. */
	world_init(&w, true, NULL, 1, NW_PROT_RWX | NW_PROT_U);
	poke(&w, w.npath[1], 0);
	struct expect x = npf(0x100000004ull, DATA_GPA, 1);
	assert_int_equal(check(&w, NW_ACC_READ, &x, "control", true), 0);
	x.code = 0x100000005ull;
	assert_int_equal(check(&w, NW_ACC_READ, &x, "control", true), 1);
	x = npf(0x100000004ull, DATA_GPA + 8, 1);
	assert_int_equal(check(&w, NW_ACC_READ, &x, "control", true), 1);
	x = npf(0x200000004ull, DATA_GPA, 1);
	assert_int_equal(check(&w, NW_ACC_READ, &x, "control", true), 1);
	unpoke(&w);
	world_fini(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ept_final_table),
		cmocka_unit_test(test_ept_final_table_no_exec_only),
		cmocka_unit_test(test_ept_final_table_advanced_info),
		cmocka_unit_test(test_ept_rights_and_over_levels),
		cmocka_unit_test(test_ept_guest_pt_table_ad_off),
		cmocka_unit_test(test_ept_guest_pt_table_ad_on),
		cmocka_unit_test(test_ept_guest_pt_table_advanced_info),
		cmocka_unit_test(test_ept_reserved_bits),
		cmocka_unit_test(test_ept_ignored_bits),
		cmocka_unit_test(test_eptp_memtype),
		cmocka_unit_test(test_eptp_walk_length),
		cmocka_unit_test(test_eptp_ad),
		cmocka_unit_test(test_eptp_bit7),
		cmocka_unit_test(test_eptp_bits_11_8),
		cmocka_unit_test(test_eptp_root),
		cmocka_unit_test(test_eptp_above_maxphyaddr),
		cmocka_unit_test(test_npt_data_not_present),
		cmocka_unit_test(test_npt_nx_fetch),
		cmocka_unit_test(test_npt_data_supervisor),
		cmocka_unit_test(test_npt_data_read_only),
		cmocka_unit_test(test_npt_guest_pml4_read_only),
		cmocka_unit_test(test_npt_reserved_final),
		cmocka_unit_test(test_npt_reserved_upper),
		cmocka_unit_test(test_checker_can_fail),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	printf("walk2d_facts: %u rows checked through nw_walk2d\n", g_rows);
	return rc;
}
