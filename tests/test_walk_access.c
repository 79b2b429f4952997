/* SPDX-License-Identifier: MIT */
/*
 * An access.c-style enumeration of nw_walk_x86(), after kvm-unit-tests
 * x86/access.c: every test case is a set of flags (entry bits, access kind,
 * CPU state), the tables are written raw for it, the walker runs, and the
 * result is compared with ac_emulate(), an oracle written from shared design
 * FACTS.md section 2 alone. The oracle shares no code with the walker and
 * never calls nw_x86_access_fault().
 *
 * Compared per case: fault or not, the full #PF error code, fault address and
 * level; on success the translation, level, page size, effective rights and
 * key; the A/D bits in memory and in the A/D log (A in every entry used, D
 * in the leaf on a write, nothing at all when the walk faults); and the
 * reference log against the reads the accessor really saw.
 *
 * The full cross-product of the flags is ~2^34 cases, so the enumeration runs
 * a few blocks, each the full product of the dimensions that interact, with
 * the others held at a base value. Every dimension is free in some block.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nw_test.h"

/* ---- test-case flags, as in access.c --------------------------------------- */

enum {
	AC_PTE_P, AC_PTE_RW, AC_PTE_US, AC_PTE_A, AC_PTE_D, AC_PTE_XD,
	AC_PTE_B51, AC_PTE_B36,
	AC_PDE_P, AC_PDE_RW, AC_PDE_US, AC_PDE_A, AC_PDE_D, AC_PDE_XD, AC_PDE_PS,
	AC_PDE_B51, AC_PDE_B36, AC_PDE_B13,
	AC_PDPTE_RO,
	AC_PKEY,     /* the page's key is 9 instead of 0 */
	AC_PKRU_AD,  /* PKRU.AD of the page's key (every other key has AD = WD = 1) */
	AC_PKRU_WD,
	AC_ACC_USER, AC_ACC_WRITE, AC_ACC_FETCH, AC_ACC_IMPLICIT,
	AC_CR0_WP, AC_CR4_SMEP, AC_CR4_SMAP, AC_EFLAGS_AC, AC_EFER_NXE, AC_CR4_PKE,
	AC_MAXPHY52, /* MAXPHYADDR 52 instead of 36 */
	AC_LA57,     /* 5-level paging */
	AC_NR_FLAGS
};

static const char *const ac_names[AC_NR_FLAGS] = {
	[AC_PTE_P] = "pte.p", [AC_PTE_RW] = "pte.rw", [AC_PTE_US] = "pte.us",
	[AC_PTE_A] = "pte.a", [AC_PTE_D] = "pte.d", [AC_PTE_XD] = "pte.xd",
	[AC_PTE_B51] = "pte.51", [AC_PTE_B36] = "pte.36",
	[AC_PDE_P] = "pde.p", [AC_PDE_RW] = "pde.rw", [AC_PDE_US] = "pde.us",
	[AC_PDE_A] = "pde.a", [AC_PDE_D] = "pde.d", [AC_PDE_XD] = "pde.xd",
	[AC_PDE_PS] = "pde.ps", [AC_PDE_B51] = "pde.51", [AC_PDE_B36] = "pde.36",
	[AC_PDE_B13] = "pde.13", [AC_PDPTE_RO] = "pdpte.ro",
	[AC_PKEY] = "pkey=9", [AC_PKRU_AD] = "pkru.ad", [AC_PKRU_WD] = "pkru.wd",
	[AC_ACC_USER] = "user", [AC_ACC_WRITE] = "write", [AC_ACC_FETCH] = "fetch",
	[AC_ACC_IMPLICIT] = "implicit", [AC_CR0_WP] = "cr0.wp",
	[AC_CR4_SMEP] = "cr4.smep", [AC_CR4_SMAP] = "cr4.smap",
	[AC_EFLAGS_AC] = "eflags.ac", [AC_EFER_NXE] = "efer.nxe",
	[AC_CR4_PKE] = "cr4.pke", [AC_MAXPHY52] = "maxphy52", [AC_LA57] = "la57",
};

#define M(x) (1ull << AC_##x)
#define F(x) ((flags & M(x)) != 0)

/* ---- fixed layout ----------------------------------------------------------- */

/* Canonical in both 48 and 57 bits, with a different index at every level. */
#define AC_VA 0xffff9234567a9abcull
#define AC_DATA_4K 0x8abcde000ull    /* below 2^36, bit 35 set */
#define AC_DATA_2M 0x8abc00000ull    /* 2 MiB aligned */
#define AC_KEY_LEAF 9u
#define AC_KEY_NONLEAF 2u           /* in a non-leaf PDE's ignored bits 62:59 */
#define BIT(n) (1ull << (n))

/* #PF error code bits, from FACTS.md §2 (deliberately not x86.h's). */
#define PFERR_P 0x01u
#define PFERR_W 0x02u
#define PFERR_U 0x04u
#define PFERR_RSVD 0x08u
#define PFERR_ID 0x10u
#define PFERR_PK 0x20u

/* ---- an accessor that logs reads and ignores HPA bits 51 and 36 -------------- */

/*
 * With MAXPHYADDR 52, bits 51 and 36 of a non-leaf entry are address bits,
 * so the next table lives at an HPA no arena can back. This accessor folds
 * those two bits away, so "pt | BIT(51)" names the same frame as "pt". The
 * reference log still shows the HPA the walker computed, which is checked
 * exactly. It also records every read, to check that the walker's reference
 * log is the reads it really made.
 */
#define AC_ALIAS_MASK (BIT(51) | BIT(36))
#define AC_MAX_READS 16

struct ac_acc {
	struct nw_acc plain;
	unsigned n_reads;
	uint64_t reads[AC_MAX_READS];
	unsigned n_writes; /* write + successful cmpxchg */
};

static uint64_t ac_read(void *ctx, uint64_t pa)
{
	struct ac_acc *a = ctx;
	if (a->n_reads < AC_MAX_READS)
		a->reads[a->n_reads] = pa;
	a->n_reads++;
	return nw_acc_read(&a->plain, pa & ~AC_ALIAS_MASK);
}

static void ac_write(void *ctx, uint64_t pa, uint64_t val)
{
	struct ac_acc *a = ctx;
	a->n_writes++;
	nw_acc_write(&a->plain, pa & ~AC_ALIAS_MASK, val);
}

static bool ac_cmpxchg(void *ctx, uint64_t pa, uint64_t *old, uint64_t val)
{
	struct ac_acc *a = ctx;
	bool ok = nw_acc_cmpxchg(&a->plain, pa & ~AC_ALIAS_MASK, old, val);
	if (ok)
		a->n_writes++;
	return ok;
}

static const struct nw_acc_ops ac_acc_ops = {
	.read = ac_read, .write = ac_write, .cmpxchg = ac_cmpxchg,
};

/* ---- environment --------------------------------------------------------------- */

struct ac_env {
	struct nw_mem *mem;
	struct nw_fmt fmt36, fmt52;
	struct ac_acc acc;
	struct nw_acc walk_acc;   /* ac_acc_ops over acc */
	uint64_t pml5, pml4, pdpt, pd;
	uint64_t pt0, pt1;        /* pt1 == pt0 | 0x2000: bit 13 of a non-leaf PDE */
	unsigned long checked;    /* cases compared */
	unsigned long mismatches;
	unsigned quiet;           /* do not print mismatches (negative control) */
	uint64_t varied;          /* union of the blocks' free dimensions */
};

static unsigned long ac_total;

static uint64_t *ac_slot(struct ac_env *env, uint64_t table, int level)
{
	uint64_t idx = (AC_VA >> (12 + 9 * (level - 1))) & 511;
	uint64_t *t = nw_mem_map(env->mem, table);
	assert_non_null(t);
	return &t[idx];
}

static uint64_t ac_slot_pa(uint64_t table, int level)
{
	return table + 8 * ((AC_VA >> (12 + 9 * (level - 1))) & 511);
}

static int ac_setup(void **state)
{
	struct ac_env *env = calloc(1, sizeof(*env));
	uint64_t frames[64];
	unsigned n = 0;

	assert_non_null(env);
	env->mem = nw_test_arena(64ull << 20, 52);
	assert_int_equal(nw_fmt_x86_init(&env->fmt36, 36, 0), 0);
	assert_int_equal(nw_fmt_x86_init(&env->fmt52, 52, 0), 0);
	nw_acc_plain(&env->acc.plain, env->mem);
	env->walk_acc.ops = &ac_acc_ops;
	env->walk_acc.ctx = &env->acc;

	assert_int_equal(nw_mem_alloc(env->mem, &env->pml5), 0);
	assert_int_equal(nw_mem_alloc(env->mem, &env->pml4), 0);
	assert_int_equal(nw_mem_alloc(env->mem, &env->pdpt), 0);
	assert_int_equal(nw_mem_alloc(env->mem, &env->pd), 0);
	/* Find two frames X and X | 0x2000 with X's bit 13 clear. */
	env->pt0 = env->pt1 = 0;
	while (n < 64 && !env->pt1) {
		assert_int_equal(nw_mem_alloc(env->mem, &frames[n]), 0);
		for (unsigned i = 0; i < n; i++) {
			uint64_t lo = frames[i] < frames[n] ? frames[i] : frames[n];
			uint64_t hi = frames[i] ^ frames[n] ^ lo;
			if (!(lo & BIT(13)) && hi == (lo | BIT(13))) {
				env->pt0 = lo;
				env->pt1 = hi;
				break;
			}
		}
		n++;
	}
	assert_true(env->pt1 != 0);
	*state = env;
	return 0;
}

static int ac_teardown(void **state)
{
	struct ac_env *env = *state;
	nw_mem_destroy(env->mem);
	free(env);
	return 0;
}

/* ---- the tables and the CPU state of a case ------------------------------------ */

static bool ac_legal(uint64_t flags)
{
	const uint64_t pte_flags = M(PTE_P) | M(PTE_RW) | M(PTE_US) | M(PTE_A) |
				   M(PTE_D) | M(PTE_XD) | M(PTE_B51) | M(PTE_B36);
	if (F(ACC_WRITE) && F(ACC_FETCH))
		return false;
	/* An implicit access is a supervisor data access. */
	if (F(ACC_IMPLICIT) && (F(ACC_USER) || F(ACC_FETCH)))
		return false;
	/* With a 2 MiB leaf the PTE is never read: one case is enough. */
	if (F(PDE_PS) && (flags & pte_flags))
		return false;
	return true;
}

static unsigned ac_leaf_key(uint64_t flags)
{
	return F(PKEY) ? AC_KEY_LEAF : 0;
}

struct ac_tables {
	int levels;
	uint64_t root;
	uint64_t pa[6];  /* by level: where the walk's entry lives */
	uint64_t val[6]; /* and what it holds */
};

/* Write the raw entries of a case; every slot the walk can touch is rewritten. */
static void ac_build(struct ac_env *env, uint64_t flags, struct ac_tables *t)
{
	uint64_t pde, pte, pt;

	t->levels = F(LA57) ? 5 : 4;
	t->root = F(LA57) ? env->pml5 : env->pml4;

	t->val[5] = env->pml4 | NW_PTE_P | NW_PTE_RW | NW_PTE_US;
	t->val[4] = env->pdpt | NW_PTE_P | NW_PTE_RW | NW_PTE_US;
	t->val[3] = env->pd | NW_PTE_P | NW_PTE_US | NW_PTE_A |
		    (F(PDPTE_RO) ? 0 : NW_PTE_RW);

	if (F(PDE_PS)) {
		pde = AC_DATA_2M | NW_PTE_PS |
		      ((uint64_t)ac_leaf_key(flags) << NW_PTE_PKEY_SHIFT);
		pt = 0;
	} else {
		pt = F(PDE_B13) ? env->pt1 : env->pt0;
		pde = env->pt0 | ((uint64_t)AC_KEY_NONLEAF << NW_PTE_PKEY_SHIFT);
	}
	pde |= (F(PDE_P) ? NW_PTE_P : 0) | (F(PDE_RW) ? NW_PTE_RW : 0) |
	       (F(PDE_US) ? NW_PTE_US : 0) | (F(PDE_A) ? NW_PTE_A : 0) |
	       (F(PDE_D) ? NW_PTE_D : 0) | (F(PDE_XD) ? NW_PTE_XD : 0) |
	       (F(PDE_B51) ? BIT(51) : 0) | (F(PDE_B36) ? BIT(36) : 0) |
	       (F(PDE_B13) ? BIT(13) : 0);
	t->val[2] = pde;

	pte = AC_DATA_4K | ((uint64_t)ac_leaf_key(flags) << NW_PTE_PKEY_SHIFT) |
	      (F(PTE_P) ? NW_PTE_P : 0) | (F(PTE_RW) ? NW_PTE_RW : 0) |
	      (F(PTE_US) ? NW_PTE_US : 0) | (F(PTE_A) ? NW_PTE_A : 0) |
	      (F(PTE_D) ? NW_PTE_D : 0) | (F(PTE_XD) ? NW_PTE_XD : 0) |
	      (F(PTE_B51) ? BIT(51) : 0) | (F(PTE_B36) ? BIT(36) : 0);
	t->val[1] = pte;

	t->pa[5] = ac_slot_pa(env->pml5, 5);
	t->pa[4] = ac_slot_pa(env->pml4, 4);
	t->pa[3] = ac_slot_pa(env->pdpt, 3);
	t->pa[2] = ac_slot_pa(env->pd, 2);
	/* The walker must follow every address bit of the PDE, 51 and 36 included. */
	t->pa[1] = F(PDE_PS) ? 0 : ac_slot_pa(pt | (pde & (BIT(51) | BIT(36))), 1);

	*ac_slot(env, env->pml5, 5) = t->val[5];
	*ac_slot(env, env->pml4, 4) = t->val[4];
	*ac_slot(env, env->pdpt, 3) = t->val[3];
	*ac_slot(env, env->pd, 2) = t->val[2];
	/* Only the PT the PDE names holds the PTE: the other one is empty. */
	*ac_slot(env, env->pt0, 1) = (!F(PDE_PS) && pt == env->pt0) ? pte : 0;
	*ac_slot(env, env->pt1, 1) = (!F(PDE_PS) && pt == env->pt1) ? pte : 0;
}

static void ac_mode(uint64_t flags, struct nw_x86_mode *m, unsigned *access)
{
	unsigned k = ac_leaf_key(flags);
	uint32_t pkru = 0xffffffffu & ~(3u << (2 * k));

	pkru |= (F(PKRU_AD) ? 1u : 0) << (2 * k);
	pkru |= (F(PKRU_WD) ? 1u : 0) << (2 * k + 1);
	memset(m, 0, sizeof(*m));
	m->levels = F(LA57) ? 5 : 4;
	m->wp = F(CR0_WP);
	m->smep = F(CR4_SMEP);
	m->smap = F(CR4_SMAP);
	m->pke = F(CR4_PKE);
	m->nxe = F(EFER_NXE);
	m->ac = F(EFLAGS_AC);
	m->pkru = pkru;
	*access = (F(ACC_USER) ? NW_ACC_USER : 0) | (F(ACC_WRITE) ? NW_ACC_WRITE : 0) |
		  (F(ACC_FETCH) ? NW_ACC_FETCH : 0) |
		  (F(ACC_IMPLICIT) ? NW_ACC_IMPLICIT : 0);
}

/* ---- the oracle ------------------------------------------------------------------ */

enum ac_variant {
	AC_ORACLE = 0,
	AC_BROKEN_IGNORES_WP, /* negative control: behaves as if CR0.WP were always 1 */
};

struct ac_expect {
	bool fault;
	uint32_t error;
	int fault_level;    /* entry that ended the walk */
	int n_refs;         /* entries read */
	uint64_t pa;
	int level;
	uint64_t page_size;
	uint32_t prot;
	unsigned pkey;
	uint64_t set[6];    /* by level: A/D bits a successful walk leaves set */
};

/* "Bits MAXPHYADDR..51 of every entry are reserved." */
static bool ac_addr_bit_reserved(unsigned bit, unsigned maxphyaddr)
{
	return bit >= maxphyaddr && bit <= 51;
}

/*
 * FACTS.md §2, permissions, in the order of access.c's ac_test_permissions,
 * with SMAP and implicit accesses added from the SDM rule FACTS.md quotes.
 */
static void ac_permissions(uint64_t flags, enum ac_variant v, bool writable, bool user,
			   bool executable, struct ac_expect *e)
{
	bool sup = !F(ACC_USER);
	bool wp = F(CR0_WP) || v == AC_BROKEN_IGNORES_WP;
	/* "A supervisor write to a read-only page is allowed when CR0.WP = 0." */
	bool kwritable = sup && !wp;

	/* "It is user-accessible only if every level has U/S=1." */
	if (F(ACC_USER) && !user)
		e->fault = true;
	/* "A page is writable only if every level has R/W=1." */
	if (F(ACC_WRITE) && !writable && !kwritable)
		e->fault = true;
	/* "It is executable only if no level has XD=1 (with NXE set)." */
	if (F(ACC_FETCH) && !executable)
		e->fault = true;
	/* "SMEP: a supervisor fetch from a user page faults." */
	if (F(ACC_FETCH) && sup && user && F(CR4_SMEP))
		e->fault = true;
	/* "SMAP: a supervisor data access to a user page faults unless
	 * EFLAGS.AC = 1. An implicit supervisor access faults regardless of AC." */
	if (!F(ACC_FETCH) && sup && user && F(CR4_SMAP) &&
	    (F(ACC_IMPLICIT) || !F(EFLAGS_AC)))
		e->fault = true;
	/*
	 * "PKU, for user pages with CR4.PKE set: a data access faults with PK if
	 * PKRU.AD[key] is set. A write faults with PK if PKRU.WD[key] is set,
	 * except a supervisor write when CR0.WP = 0." (SDM §4.7: PK is set
	 * whenever these hold, whatever else faults.)
	 */
	if (F(CR4_PKE) && user && !F(ACC_FETCH)) {
		if (F(PKRU_AD)) {
			e->fault = true;
			e->error |= PFERR_PK;
		} else if (F(ACC_WRITE) && F(PKRU_WD) && !kwritable) {
			e->fault = true;
			e->error |= PFERR_PK;
		}
	}

	/* "Effective rights: writable = !pdpte.ro & pde.W & pte.W; user = pde.U &
	 * pte.U; exec = !pde.NX & !pte.NX." */
	e->prot = 0x1u | (writable ? 0x2u : 0) | (executable ? 0x4u : 0) | (user ? 0x8u : 0);
}

static void ac_emulate(uint64_t flags, enum ac_variant v, struct ac_expect *e)
{
	unsigned maxphy = F(MAXPHY52) ? 52 : 36;
	int levels = F(LA57) ? 5 : 4;
	bool writable, user, executable, rsvd;

	memset(e, 0, sizeof(*e));
	/* "Start from the error code P, plus U for a user access, W for a write,
	 * and I/D for a fetch." */
	e->error = PFERR_P;
	if (F(ACC_USER))
		e->error |= PFERR_U;
	if (F(ACC_WRITE))
		e->error |= PFERR_W;
	if (F(ACC_FETCH))
		e->error |= PFERR_ID;

	/* PML5E, PML4E and PDPTE are present, clean, and U/S=1. */
	e->n_refs = levels - 2;

	/* The PDE. */
	e->n_refs++;
	/* "XD is reserved when EFER.NXE = 0"; "2 MiB leaves need bits 20:13 zero";
	 * bit 13 "is an address bit everywhere else". */
	rsvd = (F(PDE_B51) && ac_addr_bit_reserved(51, maxphy)) ||
	       (F(PDE_B36) && ac_addr_bit_reserved(36, maxphy)) ||
	       (F(PDE_B13) && F(PDE_PS)) ||
	       (F(PDE_XD) && !F(EFER_NXE));
	if (!F(PDE_P)) {
		/* "A not-present entry clears P." */
		e->fault = true;
		e->error &= ~PFERR_P;
		e->fault_level = 2;
		goto fault;
	}
	if (rsvd) {
		/* "A reserved bit gives RSVD with P=1." */
		e->fault = true;
		e->error |= PFERR_RSVD;
		e->fault_level = 2;
		goto fault;
	}
	writable = !F(PDPTE_RO) && F(PDE_RW);
	user = F(PDE_US);
	executable = !F(PDE_XD);

	if (F(PDE_PS)) {
		e->fault_level = 2;
		ac_permissions(flags, v, writable, user, executable, e);
		if (e->fault)
			goto fault;
		e->level = 2;
		e->page_size = 2ull << 20;
		e->pa = AC_DATA_2M | (F(PDE_B51) ? BIT(51) : 0) | (F(PDE_B36) ? BIT(36) : 0);
		e->pa |= AC_VA & ((2ull << 20) - 1);
		goto success;
	}

	/* The PTE. */
	e->n_refs++;
	rsvd = (F(PTE_B51) && ac_addr_bit_reserved(51, maxphy)) ||
	       (F(PTE_B36) && ac_addr_bit_reserved(36, maxphy)) ||
	       (F(PTE_XD) && !F(EFER_NXE));
	e->fault_level = 1;
	if (!F(PTE_P)) {
		e->fault = true;
		e->error &= ~PFERR_P;
		goto fault;
	}
	if (rsvd) {
		e->fault = true;
		e->error |= PFERR_RSVD;
		goto fault;
	}
	writable = writable && F(PTE_RW);
	user = user && F(PTE_US);
	executable = executable && !F(PTE_XD);
	ac_permissions(flags, v, writable, user, executable, e);
	if (e->fault)
		goto fault;
	e->level = 1;
	e->page_size = 4096;
	e->pa = AC_DATA_4K | (F(PTE_B51) ? BIT(51) : 0) | (F(PTE_B36) ? BIT(36) : 0);
	e->pa |= AC_VA & 4095;

success:
	e->pkey = ac_leaf_key(flags);
	/* "After a successful walk, A is set in every entry used and D in the
	 * leaf on a write." */
	for (int l = levels; l >= e->level; l--)
		e->set[l] = NW_PTE_A;
	if (F(ACC_WRITE))
		e->set[e->level] |= NW_PTE_D;
	return;

fault:
	/* "I/D is reported only when EFER.NXE or CR4.SMEP is set." */
	if (!F(EFER_NXE) && !F(CR4_SMEP))
		e->error &= ~PFERR_ID;
	e->prot = 0;
}

/* ---- one case ----------------------------------------------------------------------- */

static void ac_show(struct ac_env *env, uint64_t flags, const char *what)
{
	char line[512] = "";
	size_t len = 0;

	/* AC_VERBOSE=1 in the environment prints every mismatch, not only the first. */
	if (env->quiet || (env->mismatches >= 10 && !getenv("AC_VERBOSE")))
		return;
	for (int i = 0; i < AC_NR_FLAGS; i++)
		if (flags & (1ull << i))
			len += (size_t)snprintf(line + len, sizeof(line) - len, " %s",
						ac_names[i]);
	printf("MISMATCH [%s ]: %s\n", line, what);
}

#define AC_EXPECT(cond, ...)                                          \
	do {                                                          \
		if (!(cond)) {                                        \
			char msg_[256];                               \
			snprintf(msg_, sizeof(msg_), __VA_ARGS__);    \
			ac_show(env, flags, msg_);                    \
			return false;                                 \
		}                                                     \
	} while (0)

/* Run one case against the oracle variant v: true when everything agrees. */
static bool ac_run_one(struct ac_env *env, uint64_t flags, enum ac_variant v)
{
	const struct nw_fmt *fmt = F(MAXPHY52) ? &env->fmt52 : &env->fmt36;
	struct ac_tables t;
	struct ac_expect e;
	struct nw_x86_mode mode;
	struct nw_walk w;
	unsigned access;
	int rc, top;

	ac_build(env, flags, &t);
	ac_mode(flags, &mode, &access);
	ac_emulate(flags, v, &e);
	env->acc.n_reads = 0;
	env->acc.n_writes = 0;
	memset(&w, 0xa5, sizeof(w));

	rc = nw_walk_x86(fmt, &env->walk_acc, t.root, AC_VA, access, &mode, &w);
	AC_EXPECT(rc == 0, "rc %d", rc);

	/* The reference log: every entry read, root first, with its level. */
	top = t.levels;
	AC_EXPECT((int)w.n_refs == e.n_refs, "n_refs %u expected %d", w.n_refs, e.n_refs);
	for (int i = 0; i < e.n_refs; i++) {
		int l = top - i;
		AC_EXPECT(w.refs[i].level == l, "ref %d level %u expected %d", i,
			  w.refs[i].level, l);
		AC_EXPECT(w.refs[i].pa == t.pa[l], "ref %d pa %#llx expected %#llx", i,
			  (unsigned long long)w.refs[i].pa, (unsigned long long)t.pa[l]);
		AC_EXPECT(w.refs[i].entry == t.val[l], "ref %d entry %#llx expected %#llx",
			  i, (unsigned long long)w.refs[i].entry,
			  (unsigned long long)t.val[l]);
		AC_EXPECT(w.refs[i].dim == NW_DIM_GUEST, "ref %d dim '%c'", i, w.refs[i].dim);
	}
	/* ... and it is exactly the reads the accessor saw. */
	AC_EXPECT(env->acc.n_reads == w.n_refs, "accessor saw %u reads, log has %u",
		  env->acc.n_reads, w.n_refs);
	for (unsigned i = 0; i < w.n_refs && i < AC_MAX_READS; i++)
		AC_EXPECT(env->acc.reads[i] == w.refs[i].pa, "read %u at %#llx, logged %#llx",
			  i, (unsigned long long)env->acc.reads[i],
			  (unsigned long long)w.refs[i].pa);

	if (e.fault) {
		AC_EXPECT(w.fault == NW_FAULT_PF, "no fault (fault %d), expected #PF %#x",
			  (int)w.fault, e.error);
		AC_EXPECT(w.pf_error == e.error, "error code %#x expected %#x", w.pf_error,
			  e.error);
		AC_EXPECT(w.fault_addr == AC_VA, "fault_addr %#llx",
			  (unsigned long long)w.fault_addr);
		AC_EXPECT(w.fault_level == e.fault_level, "fault_level %d expected %d",
			  w.fault_level, e.fault_level);
		/* "A faulting walk writes nothing." */
		AC_EXPECT(w.n_ad == 0, "faulting walk logged %u A/D updates", w.n_ad);
		AC_EXPECT(env->acc.n_writes == 0, "faulting walk wrote %u entries",
			  env->acc.n_writes);
		for (int l = top; l > top - e.n_refs; l--)
			AC_EXPECT(*ac_slot(env, t.pa[l] & ~0xfffull & ~AC_ALIAS_MASK, l) ==
					  t.val[l],
				  "level %d entry changed by a faulting walk", l);
		return true;
	}

	AC_EXPECT(w.fault == NW_FAULT_NONE, "unexpected fault %d, error %#x", (int)w.fault,
		  w.pf_error);
	AC_EXPECT(w.pa == e.pa, "pa %#llx expected %#llx", (unsigned long long)w.pa,
		  (unsigned long long)e.pa);
	AC_EXPECT(w.level == e.level, "level %d expected %d", w.level, e.level);
	AC_EXPECT(w.page_size == e.page_size, "page_size %#llx expected %#llx",
		  (unsigned long long)w.page_size, (unsigned long long)e.page_size);
	AC_EXPECT(w.prot == e.prot, "prot %#x expected %#x", w.prot, e.prot);
	AC_EXPECT(w.pkey == e.pkey, "pkey %u expected %u", w.pkey, e.pkey);

	/* A/D: in memory, and in the log as exactly the bits newly set. */
	unsigned n_new = 0;
	for (int l = top; l >= e.level; l--) {
		uint64_t now = *ac_slot(env, t.pa[l] & ~0xfffull & ~AC_ALIAS_MASK, l);
		uint64_t fresh = e.set[l] & ~t.val[l];
		AC_EXPECT(now == (t.val[l] | e.set[l]), "level %d entry %#llx expected %#llx",
			  l, (unsigned long long)now, (unsigned long long)(t.val[l] | e.set[l]));
		if (!fresh)
			continue;
		n_new++;
		bool found = false;
		for (unsigned i = 0; i < w.n_ad && i < NW_WALK_MAX_REFS; i++)
			if (w.ad[i].pa == t.pa[l]) {
				AC_EXPECT(w.ad[i].bits == fresh,
					  "level %d A/D log bits %#llx expected %#llx", l,
					  (unsigned long long)w.ad[i].bits,
					  (unsigned long long)fresh);
				found = true;
			}
		AC_EXPECT(found, "level %d A/D update missing from the log", l);
	}
	AC_EXPECT(w.n_ad == n_new, "A/D log has %u updates, expected %u", w.n_ad, n_new);
	return true;
}

/* Every subset of `vary`, on top of `base`, that is legal: the block's count. */
static unsigned long ac_run_block(struct ac_env *env, const char *name, uint64_t base,
				  uint64_t vary, enum ac_variant v)
{
	unsigned long n = 0, bad = env->mismatches;
	uint64_t sub = 0;

	assert_int_equal(base & vary, 0);
	do {
		uint64_t flags = base | sub;
		if (ac_legal(flags)) {
			if (!ac_run_one(env, flags, v))
				env->mismatches++;
			n++;
		}
		sub = (sub - vary) & vary;
	} while (sub != 0);
	env->checked += n;
	if (!env->quiet) {
		env->varied |= vary;
		printf("walk_access: %-12s %7lu combinations, %lu mismatches\n", name, n,
		       env->mismatches - bad);
		ac_total += n;
	}
	return n;
}

/* ---- the blocks ---------------------------------------------------------------------- */

#define AC_ACCESS (M(ACC_USER) | M(ACC_WRITE) | M(ACC_FETCH) | M(ACC_IMPLICIT))
#define AC_PRESENT_RW_US (M(PTE_P) | M(PTE_RW) | M(PTE_US) | M(PDE_P) | M(PDE_RW) | M(PDE_US))

/*
 * Rights of every level against every access kind and CR0.WP, SMEP, SMAP
 * with EFLAGS.AC, and NXE (with NXE off, XD is a reserved bit).
 */
static const uint64_t ac_perm_free =
	M(PTE_P) | M(PTE_RW) | M(PTE_US) | M(PTE_XD) | M(PTE_A) |
	M(PDE_P) | M(PDE_RW) | M(PDE_US) | M(PDE_XD) | M(PDE_PS) | M(PDE_A) | M(PDPTE_RO) |
	AC_ACCESS | M(CR0_WP) | M(CR4_SMEP) | M(CR4_SMAP) | M(EFLAGS_AC) | M(EFER_NXE);

static void test_access_permissions(void **state)
{
	struct ac_env *env = *state;
	ac_run_block(env, "permissions", 0, ac_perm_free, AC_ORACLE);
	assert_int_equal(env->mismatches, 0);
}

/*
 * Reserved bits 51, 36 (PTE and PDE) and 13 (PDE, reserved only in a 2 MiB
 * leaf) under MAXPHYADDR 36 and 52, alone and together, against presence,
 * XD/NXE (a reserved bit too) and the access kinds, with SMEP for I/D, and
 * PKRU.AD to show that PK never comes with a not-present or reserved fault.
 */
static void test_access_reserved(void **state)
{
	struct ac_env *env = *state;
	uint64_t base = M(PTE_RW) | M(PTE_US) | M(PDE_RW) | M(PDE_A) | M(PTE_A);
	uint64_t vary = M(PTE_B51) | M(PTE_B36) | M(PDE_B51) | M(PDE_B36) | M(PDE_B13) |
			M(MAXPHY52) | M(PDE_PS) | M(PTE_P) | M(PDE_P) | M(PTE_XD) |
			M(PDE_XD) | M(EFER_NXE) | M(CR4_SMEP) | M(PDE_US) |
			M(ACC_USER) | M(ACC_WRITE) | M(ACC_FETCH) | M(CR4_PKE) | M(PKRU_AD);
	ac_run_block(env, "reserved", base, vary, AC_ORACLE);
	assert_int_equal(env->mismatches, 0);
}

/* Protection keys: PKE, AD/WD of the page's key, against the rest. */
static void test_access_pku(void **state)
{
	struct ac_env *env = *state;
	uint64_t base = M(PDE_P) | M(PDE_RW) | M(EFER_NXE);
	uint64_t vary = M(CR4_PKE) | M(PKRU_AD) | M(PKRU_WD) | M(PKEY) | AC_ACCESS |
			M(CR0_WP) | M(CR4_SMAP) | M(EFLAGS_AC) | M(PTE_US) | M(PDE_US) |
			M(PTE_RW) | M(PDPTE_RO) | M(PDE_PS) | M(PTE_XD) | M(PTE_P);
	ac_run_block(env, "pku", base, vary, AC_ORACLE);
	assert_int_equal(env->mismatches, 0);
}

/* A and D: already set or not, at each leaf size, 4- and 5-level. */
static void test_access_ad_la57(void **state)
{
	struct ac_env *env = *state;
	uint64_t vary = M(PTE_A) | M(PTE_D) | M(PDE_A) | M(PDE_D) | M(PDE_PS) | M(LA57) |
			M(ACC_WRITE) | M(ACC_USER) | M(ACC_FETCH) | M(PTE_RW) | M(PDE_RW) |
			M(PTE_P) | M(CR0_WP) | M(MAXPHY52) | M(PTE_B51) | M(PDE_B13) |
			M(EFER_NXE) | M(PTE_XD);
	ac_run_block(env, "a/d+la57", M(PDE_P) | M(PTE_US) | M(PDE_US), vary, AC_ORACLE);
	assert_int_equal(env->mismatches, 0);
}

static void test_access_total(void **state)
{
	struct ac_env *env = *state;
	printf("walk_access: %lu combinations checked in all, %lu mismatches\n", ac_total,
	       env->mismatches);
	assert_true(ac_total >= 4096);
	/* Every dimension is free in at least one block. */
	assert_int_equal(env->varied, (1ull << AC_NR_FLAGS) - 1);
	assert_int_equal(env->mismatches, 0);
}

/*
 * Negative control: the same permissions enumeration against an oracle that
 * ignores CR0.WP must disagree with the walker, or the comparison could not
 * fail at all.
 */
static void test_access_negative_control(void **state)
{
	struct ac_env *env = *state;
	unsigned long before = env->mismatches;

	env->quiet = 1;
	ac_run_block(env, "broken-wp", 0, ac_perm_free, AC_BROKEN_IGNORES_WP);
	env->quiet = 0;
	unsigned long caught = env->mismatches - before;
	env->mismatches = before;
	printf("walk_access: negative control (oracle ignores CR0.WP): %lu disagreements\n",
	       caught);
	assert_true(caught > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_access_permissions),
		cmocka_unit_test(test_access_reserved),
		cmocka_unit_test(test_access_pku),
		cmocka_unit_test(test_access_ad_la57),
		cmocka_unit_test(test_access_total),
		cmocka_unit_test(test_access_negative_control),
	};
	return cmocka_run_group_tests(tests, ac_setup, ac_teardown);
}
