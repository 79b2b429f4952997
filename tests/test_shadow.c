/* SPDX-License-Identifier: MIT */
/*
 * The shadow MMU against the guest's own tables.
 *
 * A small guest kernel lives in a host arena: guest RAM behind a permuted
 * p2m, a direct map of all RAM in 2 MiB pages shared by every address
 * space, and user tables it changes only with supervisor stores through
 * its direct map, which go through a mini vCPU: a hardware walk of the
 * shadow tables (nw_walk_x86 on sCR3 under nw_shadow_hw_mode), and on a
 * fault nw_shadow_page_fault, then retry, inject, or emulate the write.
 * Every access is also walked in the guest's tables (a pure nw_walk_x86
 * composed with the p2m), and the two must agree: the same #PF error code,
 * or the same host page.
 *
 * The random run maps, unmaps, mprotects, ages, writes garbage into guest
 * tables, switches CR3 among more address spaces than the root cache
 * holds, flushes, changes CR0.WP/SMEP/SMAP/NXE/PKE, and reuses freed table
 * frames as data, with nw_shadow_check after every step. Feature tests
 * switch unsync, the root cache and flood detection on and off and show
 * their effect in the figures; NW_SHADOW_BUG_SKIP_WP must be caught.
 */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nw_test.h"
#include <nestwalk/shadow.h>
#include <nestwalk/workload.h>

/* White box: the map unit test, and switching the checker on inside a VM. */
#include "../shadow/shadow_internal.h"
#include "../vmm/vmm_internal.h"

#define RAM_SIZE (32ull << 20)
#define RAM_FRAMES (RAM_SIZE >> NW_PAGE_SHIFT)
#define POOL_FRAMES 4096u             /* gfn [0, 4096): tables and data */
#define LARGE_GPA (16ull << 20)        /* 2 MiB chunks for guest large pages */
#define LARGE_CHUNKS 4
#define P2M_XOR 0x5a5ull              /* frame permutation: gpa and hpa differ */

#define DMAP 0xffff888000000000ull
#define USER_VA 0x0000000010000000ull
#define USER_PAGES 1024u
#define LARGE_VA 0x0000000040000000ull
#define LARGE_SLOTS 8
#define NAS 6
#define MAX_GARBAGE 64

/* The slow run is the acceptance run: at least 50,000 checked steps in all. */
#ifdef NW_SHADOW_SLOW
#define RANDOM_SEEDS 6
#define RANDOM_STEPS 10000
#else
#define RANDOM_SEEDS 4
#define RANDOM_STEPS 2000
#endif

enum { F_FREE = 0, F_DATA, F_PT, F_KERNEL };
enum { R_OK = 0, R_PF, R_MMIO, R_BAD };

struct garbage {
	int as;
	uint64_t slot, va;
};

struct world {
	struct nw_mem *mem;
	struct nw_acc ref_acc;        /* guest-physical, pure: the reference walk writes nothing */
	struct nw_acc hacc;
	struct nw_fmt fmt;
	uint64_t ram_hpa;
	struct nw_shadow *sh;
	struct nw_x86_mode gmode;
	uint64_t scr3;
	int cur;
	uint64_t root[NAS];
	uint8_t fstate[RAM_FRAMES];
	uint32_t freelist[POOL_FRAMES];
	unsigned nfree;
	struct garbage garbage[MAX_GARBAGE];
	unsigned ngarbage;
	struct nw_rng rng;
	uint64_t recent[16];          /* recently mapped addresses, for accesses that hit */
	unsigned nrecent;
	uint64_t last_hpa;
	uint64_t flushes;
	char fail[512];
	bool failed;
};

/* ---- the p2m and guest memory ---- */

/*
 * Host backing of the next worlds: 0, 4 KiB frames permuted one by one; 1,
 * 2 MiB host pages (chunks permuted, frames in order within); 2, mixed: the
 * even chunks in 2 MiB host pages, the odd ones in 4 KiB frames.
 */
static int host_huge;

#define CHUNK_XOR 0x5ull

static uint64_t p2m(const struct world *w, uint64_t gpa)
{
	uint64_t chunk = gpa >> NW_LEVEL_SHIFT(2);

	if (host_huge == 1 || (host_huge == 2 && !(chunk & 1)))
		return w->ram_hpa + ((chunk ^ CHUNK_XOR) << NW_LEVEL_SHIFT(2)) +
		       (gpa & (NW_LEVEL_SIZE(2) - 1));
	if (host_huge == 2) /* 4 KiB frames of an odd chunk, reversed within it */
		return w->ram_hpa + ((chunk ^ CHUNK_XOR) << NW_LEVEL_SHIFT(2)) +
		       ((NW_LEVEL_SIZE(2) - NW_PAGE_SIZE) - (gpa & (NW_LEVEL_SIZE(2) - 1) & NW_PAGE_MASK)) +
		       (gpa & ~NW_PAGE_MASK);
	return w->ram_hpa + ((((gpa >> NW_PAGE_SHIFT) ^ P2M_XOR)) << NW_PAGE_SHIFT) +
	       (gpa & ~NW_PAGE_MASK);
}

static int host_level_cb(void *ctx, uint64_t gpa)
{
	(void)ctx;
	return host_huge == 1 || (host_huge == 2 && !((gpa >> NW_LEVEL_SHIFT(2)) & 1)) ? NW_PAGE_2M
										     : NW_PAGE_4K;
}

static int p2m_cb(void *ctx, uint64_t gpa, uint64_t *hpa)
{
	struct world *w = ctx;

	if (gpa >= RAM_SIZE)
		return -EFAULT;
	*hpa = p2m(w, gpa);
	return 0;
}

static void flush_cb(void *ctx)
{
	((struct world *)ctx)->flushes++;
}

static uint64_t *gptr(struct world *w, uint64_t gpa)
{
	return nw_mem_map(w->mem, p2m(w, gpa));
}

static uint64_t gread(struct world *w, uint64_t gpa)
{
	return *gptr(w, gpa);
}

static uint64_t ref_read(void *ctx, uint64_t gpa)
{
	struct world *w = ctx;
	return gpa < RAM_SIZE ? gread(w, gpa) : ~0ull;
}

static void ref_write(void *ctx, uint64_t gpa, uint64_t val)
{
}

static bool ref_cmpxchg(void *ctx, uint64_t gpa, uint64_t *old, uint64_t val)
{
	return true; /* pretend: the reference walk must not change the guest */
}

static const struct nw_acc_ops ref_ops = { ref_read, ref_write, ref_cmpxchg };

static void failf(struct world *w, const char *fmt, ...)
{
	va_list ap;

	if (w->failed)
		return;
	w->failed = true;
	va_start(ap, fmt);
	vsnprintf(w->fail, sizeof(w->fail), fmt, ap);
	va_end(ap);
}

/* ---- the mini vCPU ---- */

/*
 * One 8-byte access at gva: the hardware walk of the shadow, and on a fault
 * the shadow MMU, until it completes. R_OK (last_hpa is where it went),
 * R_PF (*pf the guest's error code), R_MMIO, or R_BAD.
 */
static int vcpu_access(struct world *w, uint64_t gva, unsigned access, uint64_t *val,
		       uint32_t *pf)
{
	struct nw_x86_mode hw;

	nw_shadow_hw_mode(&w->gmode, &hw);
	for (int tries = 0; tries < 8; tries++) {
		struct nw_walk sw;
		struct nw_shadow_outcome o;
		int rc = nw_walk_x86(&w->fmt, &w->hacc, w->scr3, gva, access, &hw, &sw);
		if (rc < 0) {
			failf(w, "shadow walk of %#llx: %d", (unsigned long long)gva, rc);
			return R_BAD;
		}
		if (!sw.fault) {
			uint64_t *p = nw_mem_map(w->mem, sw.pa);
			w->last_hpa = sw.pa;
			if (access & NW_ACC_WRITE)
				*p = *val;
			else
				*val = *p;
			return R_OK;
		}
		uint64_t err = sw.pf_error | ((access & NW_ACC_IMPLICIT) ? NW_SHADOW_PFEC_IMPLICIT : 0);
		rc = nw_shadow_page_fault(w->sh, 0, &w->gmode, gva, err, &o);
		if (rc < 0) {
			failf(w, "page fault at %#llx error %#llx: %d %s", (unsigned long long)gva,
			      (unsigned long long)err, rc, nw_shadow_check_msg(w->sh));
			return R_BAD;
		}
		switch (o.result) {
		case NW_SHADOW_FIXED:
			continue;
		case NW_SHADOW_INJECT:
			*pf = o.pf_error;
			return R_PF;
		case NW_SHADOW_MMIO:
			return R_MMIO;
		case NW_SHADOW_EMULATE:
			if (!(access & NW_ACC_WRITE)) {
				failf(w, "EMULATE for a non-write at %#llx", (unsigned long long)gva);
				return R_BAD;
			}
			rc = nw_shadow_emulate_write(w->sh, o.gpa, *val);
			if (rc < 0) {
				failf(w, "emulate_write %#llx: %d", (unsigned long long)o.gpa, rc);
				return R_BAD;
			}
			w->last_hpa = p2m(w, o.gpa);
			return R_OK;
		}
	}
	failf(w, "no progress at %#llx", (unsigned long long)gva);
	return R_BAD;
}

/* The differential check: the shadow and the guest tables agree on this access. */
static int check_access(struct world *w, uint64_t gva, unsigned access)
{
	struct nw_walk ref;
	uint64_t val = nw_rng_next(&w->rng);
	uint32_t pf = 0;
	int rc = nw_walk_x86(&w->fmt, &w->ref_acc, w->root[w->cur], gva, access, &w->gmode, &ref);

	if (rc < 0) {
		failf(w, "reference walk %d", rc);
		return R_BAD;
	}
	/* Keep the model's tables its own: writes go only to data. */
	if ((access & NW_ACC_WRITE) && !ref.fault && ref.pa < RAM_SIZE &&
	    w->fstate[ref.pa >> NW_PAGE_SHIFT] != F_DATA &&
	    w->fstate[ref.pa >> NW_PAGE_SHIFT] != F_FREE) {
		access &= ~NW_ACC_WRITE;
		nw_walk_x86(&w->fmt, &w->ref_acc, w->root[w->cur], gva, access, &w->gmode, &ref);
	}
	int r = vcpu_access(w, gva, access, &val, &pf);
	if (r == R_BAD)
		return r;
	if (ref.fault) {
		if (r != R_PF || pf != ref.pf_error)
			failf(w, "gva %#llx access %#x: guest #PF %#x, shadow gave %d (pf %#x)",
			      (unsigned long long)gva, access, ref.pf_error, r, pf);
	} else if (ref.pa >= RAM_SIZE) {
		if (r != R_MMIO)
			failf(w, "gva %#llx: guest maps non-RAM %#llx, shadow gave %d",
			      (unsigned long long)gva, (unsigned long long)ref.pa, r);
	} else if (r != R_OK || w->last_hpa != p2m(w, ref.pa)) {
		failf(w, "gva %#llx access %#x: guest gives hpa %#llx, shadow gave %d at %#llx (pf %#x)",
		      (unsigned long long)gva, access, (unsigned long long)p2m(w, ref.pa), r,
		      (unsigned long long)w->last_hpa, pf);
	}
	return r;
}

/* A supervisor store through the direct map: how the kernel writes its tables. */
static void kwrite(struct world *w, uint64_t gpa, uint64_t val)
{
	uint32_t pf;

	if (vcpu_access(w, DMAP + gpa, NW_ACC_WRITE, &val, &pf) != R_OK)
		failf(w, "kernel store to gpa %#llx failed", (unsigned long long)gpa);
}

static void invlpg(struct world *w, uint64_t va)
{
	int rc = nw_shadow_invlpg(w->sh, 0, va);
	if (rc < 0)
		failf(w, "invlpg: %d %s", rc, nw_shadow_check_msg(w->sh));
}

static void flush(struct world *w)
{
	int rc = nw_shadow_flush(w->sh);
	if (rc < 0)
		failf(w, "flush: %d", rc);
}

static void load_cr3(struct world *w, int as, bool noflush)
{
	w->cur = as;
	int rc = nw_shadow_load_cr3(w->sh, 0, w->root[as] | (noflush ? 1ull << 63 : 0), &w->gmode,
				    &w->scr3);
	if (rc < 0)
		failf(w, "load_cr3: %d", rc);
}

/* ---- the guest kernel ---- */

static uint64_t frame_alloc(struct world *w, int state)
{
	if (!w->nfree)
		return ~0ull;
	unsigned i = (unsigned)nw_rng_below(&w->rng, w->nfree);
	uint64_t gfn = w->freelist[i];
	w->freelist[i] = w->freelist[--w->nfree];
	w->fstate[gfn] = (uint8_t)state;
	return gfn << NW_PAGE_SHIFT;
}

static void frame_free(struct world *w, uint64_t gpa)
{
	uint64_t gfn = gpa >> NW_PAGE_SHIFT;

	if (gfn >= POOL_FRAMES || w->fstate[gfn] == F_FREE || w->fstate[gfn] == F_KERNEL)
		return;
	w->fstate[gfn] = F_FREE;
	w->freelist[w->nfree++] = (uint32_t)gfn;
}

/* A fresh table: clear what the frame's last user left, with kernel stores. */
static uint64_t table_alloc(struct world *w)
{
	uint64_t t = frame_alloc(w, F_PT);

	if (t == ~0ull)
		return t;
	for (unsigned i = 0; i < NW_ENTRIES_PER_TABLE; i++)
		if (gread(w, t + 8 * i))
			kwrite(w, t + 8 * i, 0);
	return t;
}

static bool is_garbage(const struct world *w, uint64_t slot)
{
	for (unsigned i = 0; i < w->ngarbage; i++)
		if (w->garbage[i].slot == slot)
			return true;
	return false;
}

/* The slot of va's entry at `level` in the current space; 0 when blocked. */
static uint64_t slot_for(struct world *w, uint64_t va, int level, bool create)
{
	uint64_t table = w->root[w->cur];

	for (int l = 4; l > level; l--) {
		uint64_t slot = table + NW_LEVEL_INDEX(va, l) * 8, e;
		if (is_garbage(w, slot))
			return 0;
		e = gread(w, slot);
		if (!(e & NW_PTE_P)) {
			if (!create)
				return 0;
			uint64_t t = table_alloc(w);
			if (t == ~0ull)
				return 0;
			e = t | NW_PTE_P | NW_PTE_RW | NW_PTE_US;
			kwrite(w, slot, e);
		} else if (l <= 3 && (e & NW_PTE_PS)) {
			return 0;
		}
		table = e & NW_PTE_ADDR_MASK;
	}
	return table + NW_LEVEL_INDEX(va, level) * 8;
}

static uint64_t random_flags(struct world *w)
{
	uint64_t f = NW_PTE_P, r = nw_rng_next(&w->rng);

	if (r & 1)
		f |= NW_PTE_RW;
	if ((r >> 1) % 5)
		f |= NW_PTE_US;
	if ((r >> 4) % 3 == 0)
		f |= NW_PTE_XD;
	if (r & (1 << 6))
		f |= NW_PTE_A;
	if ((r >> 7) % 3 == 0)
		f |= NW_PTE_D;
	if ((r >> 9) % 10 == 0)
		f |= NW_PTE_G;
	if ((r >> 13) % 10 == 0)
		f |= NW_PTE_PWT | NW_PTE_PCD;
	if ((r >> 17) % 8 == 0)
		f |= ((r >> 20) & 0xfull) << NW_PTE_PKEY_SHIFT;
	return f;
}

static uint64_t random_user_va(struct world *w)
{
	return USER_VA + nw_rng_below(&w->rng, USER_PAGES) * NW_PAGE_SIZE;
}

/* A valid 4 KiB mapping the model made (not garbage, not a large page). */
static bool mapped_4k(struct world *w, uint64_t va, uint64_t *slot, uint64_t *pte)
{
	*slot = slot_for(w, va, 1, false);
	if (!*slot || is_garbage(w, *slot))
		return false;
	*pte = gread(w, *slot);
	return *pte & NW_PTE_P;
}

static void op_map(struct world *w)
{
	uint64_t va = random_user_va(w), slot = slot_for(w, va, 1, true), old, data;

	if (!slot || is_garbage(w, slot))
		return;
	old = gread(w, slot);
	if (nw_rng_below(&w->rng, 10) == 0)
		data = RAM_SIZE + nw_rng_below(&w->rng, 16) * NW_PAGE_SIZE; /* a device, not RAM */
	else
		data = frame_alloc(w, F_DATA);
	if (data == ~0ull)
		return;
	kwrite(w, slot, data | random_flags(w));
	w->recent[w->nrecent++ % 16] = va;
	if (old & NW_PTE_P) {
		invlpg(w, va);
		frame_free(w, old & NW_PTE_ADDR_MASK);
	}
}

static void op_unmap(struct world *w)
{
	uint64_t va = random_user_va(w), slot, pte;

	if (!mapped_4k(w, va, &slot, &pte))
		return;
	kwrite(w, slot, 0);
	invlpg(w, va);
	frame_free(w, pte & NW_PTE_ADDR_MASK);
	/* An empty table goes back to the pool, where it may become data. */
	uint64_t pt = slot & NW_PAGE_MASK;
	for (unsigned i = 0; i < NW_ENTRIES_PER_TABLE; i++)
		if (gread(w, pt + 8 * i))
			return;
	if (nw_rng_below(&w->rng, 2))
		return;
	uint64_t pde = slot_for(w, va, 2, false);
	kwrite(w, pde, 0);
	invlpg(w, va);
	frame_free(w, pt);
}

/* munmap of a run of pages: PTE stores into one table, an INVLPG each. */
static void op_unmap_range(struct world *w)
{
	uint64_t va = random_user_va(w), slot, pte;

	for (int i = 0; i < 8; i++, va += NW_PAGE_SIZE) {
		if (va >= USER_VA + USER_PAGES * NW_PAGE_SIZE)
			return;
		if (!mapped_4k(w, va, &slot, &pte))
			continue;
		kwrite(w, slot, 0);
		frame_free(w, pte & NW_PTE_ADDR_MASK);
	}
	for (int i = 0; i < 8; i++)
		invlpg(w, va - (uint64_t)(i + 1) * NW_PAGE_SIZE);
}

static void op_mprotect(struct world *w)
{
	uint64_t va = random_user_va(w), slot, pte;

	if (!mapped_4k(w, va, &slot, &pte))
		return;
	kwrite(w, slot, (pte & NW_PTE_ADDR_MASK) | random_flags(w));
	invlpg(w, va);
}

static void op_age(struct world *w)
{
	uint64_t va = random_user_va(w), slot, pte;

	if (!mapped_4k(w, va, &slot, &pte))
		return;
	kwrite(w, slot, pte & ~(NW_PTE_A | (nw_rng_below(&w->rng, 2) ? NW_PTE_D : 0)));
	invlpg(w, va);
}

/* Change the rights of an upper-level user entry; the OS flushes the TLB. */
static void op_upper(struct world *w)
{
	uint64_t va = random_user_va(w);
	int level = 2 + (int)nw_rng_below(&w->rng, 2);
	uint64_t slot = slot_for(w, va, level, false), e;
	const uint64_t bits[] = { NW_PTE_RW, NW_PTE_US, NW_PTE_XD, NW_PTE_A };

	if (!slot || is_garbage(w, slot))
		return;
	e = gread(w, slot);
	if (!(e & NW_PTE_P) || (e & NW_PTE_PS))
		return;
	kwrite(w, slot, e ^ bits[nw_rng_below(&w->rng, 4)]);
	flush(w);
}

static void op_large(struct world *w)
{
	uint64_t va = LARGE_VA + nw_rng_below(&w->rng, LARGE_SLOTS) * NW_LEVEL_SIZE(2);
	uint64_t slot = slot_for(w, va, 2, true), e;

	if (!slot || is_garbage(w, slot))
		return;
	e = gread(w, slot);
	if ((e & NW_PTE_P) && !(e & NW_PTE_PS))
		return; /* a 4 KiB table there */
	if ((e & NW_PTE_P) && nw_rng_below(&w->rng, 2)) {
		kwrite(w, slot, 0);
	} else {
		uint64_t chunk = LARGE_GPA + nw_rng_below(&w->rng, LARGE_CHUNKS) * NW_LEVEL_SIZE(2);
		uint64_t f = random_flags(w) & ~(NW_PTE_PCD | NW_PTE_PWT);
		kwrite(w, slot, chunk | f | NW_PTE_PS);
	}
	if (e & NW_PTE_P)
		invlpg(w, va);
}

/* Garbage into an empty guest entry (or taking it out again). */
static void op_garbage(struct world *w)
{
	if (w->ngarbage && nw_rng_below(&w->rng, 2)) {
		unsigned i = (unsigned)nw_rng_below(&w->rng, w->ngarbage);
		struct garbage g = w->garbage[i];
		if (g.as != w->cur)
			return;
		w->garbage[i] = w->garbage[--w->ngarbage];
		kwrite(w, g.slot, 0);
		invlpg(w, g.va);
		return;
	}
	if (w->ngarbage == MAX_GARBAGE)
		return;
	uint64_t va = random_user_va(w);
	int level = 1 + (int)nw_rng_below(&w->rng, 2);
	uint64_t slot = slot_for(w, va, level, level == 1), val = nw_rng_next(&w->rng);
	if (!slot || gread(w, slot) || is_garbage(w, slot))
		return;
	/* Mostly plausible garbage: reserved bits clear half the time. */
	if (nw_rng_below(&w->rng, 2))
		val &= 0x80003fffffffffffull;
	w->garbage[w->ngarbage++] = (struct garbage){ w->cur, slot, va };
	kwrite(w, slot, val | NW_PTE_P);
	invlpg(w, va);
}

/* Kernel data stores to free or data frames: former tables become data. */
static void op_kdata(struct world *w)
{
	uint64_t gfn = nw_rng_below(&w->rng, POOL_FRAMES);

	if (w->fstate[gfn] != F_FREE && w->fstate[gfn] != F_DATA)
		return;
	for (int i = 0, n = 1 + (int)nw_rng_below(&w->rng, 6); i < n; i++)
		kwrite(w, (gfn << NW_PAGE_SHIFT) + 8 * nw_rng_below(&w->rng, 512), nw_rng_next(&w->rng));
}

static void op_mode(struct world *w)
{
	switch (nw_rng_below(&w->rng, 6)) {
	case 0: w->gmode.wp = !w->gmode.wp; break;
	case 1: w->gmode.smep = !w->gmode.smep; break;
	case 2: w->gmode.smap = !w->gmode.smap; break;
	case 3: w->gmode.nxe = !w->gmode.nxe; break;
	case 4: w->gmode.pke = !w->gmode.pke; w->gmode.pkru = (uint32_t)nw_rng_next(&w->rng); break;
	default: w->gmode.ac = !w->gmode.ac; break;
	}
	load_cr3(w, w->cur, false);
}

static void op_access(struct world *w)
{
	uint64_t r = nw_rng_next(&w->rng);
	unsigned access = (r & 1) ? NW_ACC_WRITE : ((r >> 1) % 5 == 0 ? NW_ACC_FETCH : NW_ACC_READ);
	uint64_t va;

	switch ((r >> 4) % 8) {
	case 0:
		va = DMAP + nw_rng_below(&w->rng, RAM_SIZE / 8) * 8;
		break;
	case 1:
		va = LARGE_VA + nw_rng_below(&w->rng, LARGE_SLOTS * NW_LEVEL_SIZE(2) / 8) * 8;
		access |= NW_ACC_USER;
		break;
	case 2:
		va = random_user_va(w) + 8 * nw_rng_below(&w->rng, 512);
		if ((r >> 8) & 1)
			access |= NW_ACC_IMPLICIT;
		break;
	case 3:
	case 4:
	case 5:
		va = w->recent[nw_rng_below(&w->rng, 16)] + 8 * nw_rng_below(&w->rng, 512);
		access |= NW_ACC_USER;
		break;
	default:
		va = random_user_va(w) + 8 * nw_rng_below(&w->rng, 512);
		access |= NW_ACC_USER;
	}
	check_access(w, va, access);
}

/* ---- the world ---- */

static void world_init(struct world *w, uint64_t seed, const struct nw_shadow_cfg *tweak)
{
	struct nw_shadow_cfg cfg;

	memset(w, 0, sizeof(*w));
	w->rng.s = seed;
	w->mem = nw_test_arena(256ull << 20, 46);
	nw_acc_plain(&w->hacc, w->mem);
	w->ref_acc = (struct nw_acc){ .ops = &ref_ops, .ctx = w };
	assert_int_equal(nw_fmt_x86_init(&w->fmt, 46, 0), 0);
	/* Guest RAM: the arena's first frames (from a 2 MiB boundary for 2 MiB
	 * host pages), which a fresh arena hands out in order. */
	for (uint64_t i = 0; i < RAM_FRAMES; i++) {
		uint64_t hpa;
		assert_int_equal(nw_mem_alloc(w->mem, &hpa), 0);
		if (!i && host_huge && (hpa & (NW_LEVEL_SIZE(2) - 1))) {
			i--; /* padding below the boundary */
			continue;
		}
		if (!i)
			w->ram_hpa = hpa;
		assert_true(hpa == w->ram_hpa + i * NW_PAGE_SIZE);
	}
	for (uint64_t gfn = 0; gfn < RAM_FRAMES; gfn++)
		w->fstate[gfn] = gfn < POOL_FRAMES ? F_FREE : F_KERNEL;
	for (uint32_t gfn = 0; gfn < POOL_FRAMES; gfn++)
		w->freelist[w->nfree++] = gfn;

	/* Boot, paging off: the direct map (2 MiB, global) and the address spaces. */
	uint64_t pdpt = frame_alloc(w, F_KERNEL), pd = frame_alloc(w, F_KERNEL);
	for (uint64_t i = 0; i < RAM_SIZE / NW_LEVEL_SIZE(2); i++)
		*gptr(w, pd + 8 * i) = (i << 21) | NW_PTE_P | NW_PTE_RW | NW_PTE_PS | NW_PTE_G;
	*gptr(w, pdpt) = pd | NW_PTE_P | NW_PTE_RW;
	for (int as = 0; as < NAS; as++) {
		w->root[as] = frame_alloc(w, F_PT);
		*gptr(w, w->root[as] + 8 * NW_LEVEL_INDEX(DMAP, 4)) = pdpt | NW_PTE_P | NW_PTE_RW;
	}
	w->gmode = (struct nw_x86_mode){ .levels = 4, .wp = true, .nxe = true };

	if (tweak)
		cfg = *tweak;
	else
		nw_shadow_cfg_default(&cfg);
	cfg.mem = w->mem;
	cfg.ops.gpa_to_hpa = p2m_cb;
	cfg.ops.flush_tlb = flush_cb;
	if (host_huge) {
		/* 2 MiB host pages must be aligned, so guest RAM must be. */
		assert_int_equal(w->ram_hpa & (NW_LEVEL_SIZE(2) - 1), 0);
		cfg.ops.host_level = host_level_cb;
	}
	cfg.ctx = w;
	cfg.maxphyaddr = 46;
	assert_int_equal(nw_shadow_create(&cfg, &w->sh), 0);
	load_cr3(w, 0, false);
}

static void world_fini(struct world *w)
{
	nw_shadow_destroy(w->sh);
	nw_mem_destroy(w->mem);
}

static bool checked(struct world *w, const char *what)
{
	char msg[256];

	if (w->failed)
		return false;
	if (nw_shadow_check(w->sh, &w->gmode, msg, sizeof(msg)) < 0) {
		failf(w, "checker after %s: %s", what, msg);
		return false;
	}
	return true;
}

static const char *random_op(struct world *w)
{
	uint64_t r = nw_rng_below(&w->rng, 100);

	if (r < 30) { op_access(w); return "access"; }
	if (r < 46) { op_map(w); return "map"; }
	if (r < 53) { op_unmap(w); return "unmap"; }
	if (r < 56) { op_unmap_range(w); return "unmap_range"; }
	if (r < 62) { op_mprotect(w); return "mprotect"; }
	if (r < 65) { op_age(w); return "age"; }
	if (r < 67) { op_upper(w); return "upper"; }
	if (r < 72) { op_large(w); return "large"; }
	if (r < 74) { op_garbage(w); return "garbage"; }
	if (r < 80) { op_kdata(w); return "kdata"; }
	if (r < 87) { load_cr3(w, (int)nw_rng_below(&w->rng, NAS), nw_rng_below(&w->rng, 3) == 0); return "cr3"; }
	if (r < 89) { flush(w); return "flush"; }
	if (r < 91) { op_mode(w); return "mode"; }
	invlpg(w, nw_rng_below(&w->rng, 2) ? random_user_va(w) : DMAP + nw_rng_below(&w->rng, RAM_SIZE));
	return "invlpg";
}

/* Run `steps` random steps with the checker after each: the step that failed, or -1. */
static long run_random(struct world *w, unsigned steps)
{
	for (unsigned s = 0; s < steps; s++) {
		const char *op = random_op(w);
		if (!checked(w, op))
			return (long)s;
	}
	return -1;
}

/* ---- tests ---- */

static void test_map_unit(void **state)
{
	struct sh_map m = { 0 };
	static uint64_t model[4096];
	struct nw_rng rng = { 7 };
	uint64_t v;

	for (int i = 0; i < 200000; i++) {
		uint64_t k = nw_rng_below(&rng, 4096);
		if (nw_rng_below(&rng, 3)) {
			assert_int_equal(sh_map_put(&m, k * 4096, i + 1ull), 0);
			model[k] = i + 1ull;
		} else {
			sh_map_del(&m, k * 4096);
			model[k] = 0;
		}
	}
	uint64_t n = 0;
	for (uint64_t k = 0; k < 4096; k++) {
		bool found = sh_map_get(&m, k * 4096, &v);
		assert_int_equal(found, model[k] != 0);
		if (found)
			assert_int_equal(v, model[k]);
		n += found;
	}
	assert_int_equal(n, m.n);
	sh_map_free(&m);
}

static void test_random(void **state)
{
	struct nw_shadow_stats sum = { 0 };
	unsigned long total = 0;

	for (uint64_t seed = 1; seed <= RANDOM_SEEDS; seed++) {
		struct world w;
		world_init(&w, seed, NULL);
		long bad = run_random(&w, RANDOM_STEPS);
		if (bad >= 0)
			fail_msg("seed %llu step %ld: %s", (unsigned long long)seed, bad, w.fail);
		const struct nw_shadow_stats *s = nw_shadow_stats(w.sh);
		print_message("seed %llu: pages %llu created %llu zaps %llu emulated %llu unsyncs %llu "
			      "syncs %llu invlpg_syncs %llu unshadowed %llu fixed %llu injected %llu "
			      "mmio %llu\n",
			      (unsigned long long)seed, (unsigned long long)s->pages,
			      (unsigned long long)s->pages_created, (unsigned long long)s->zaps,
			      (unsigned long long)s->emulated_writes, (unsigned long long)s->unsyncs,
			      (unsigned long long)s->syncs, (unsigned long long)s->invlpg_syncs,
			      (unsigned long long)s->unshadowed, (unsigned long long)s->faults_fixed,
			      (unsigned long long)s->faults_injected, (unsigned long long)s->faults_mmio);
		const uint64_t *a = (const uint64_t *)s;
		uint64_t *b = (uint64_t *)&sum;
		for (size_t i = 0; i < sizeof(sum) / sizeof(uint64_t); i++)
			b[i] += a[i];
		total += RANDOM_STEPS;
		world_fini(&w);
	}
	/* Every mechanism must have run, or the test proves little. */
	assert_true(sum.faults_fixed && sum.faults_injected);
	assert_true(sum.faults_emulate && sum.faults_mmio);
	assert_true(sum.unsyncs && sum.syncs && sum.invlpg_syncs);
	assert_true(sum.zaps && sum.unshadowed);
	assert_true(sum.root_hits && sum.root_misses && sum.write_protects);
	assert_int_equal(sum.large_leaves, 0); /* 4 KiB host frames: never a 2 MiB leaf */
#ifdef NW_SHADOW_SLOW
	assert_true(total >= 50000);
#endif
}

/*
 * The random run over 2 MiB host pages (every chunk, then every other):
 * guest 2 MiB pages (the direct map, the user large pages) get 2 MiB
 * shadow leaves where no guest table lies inside, and lose them when one
 * appears; the checker holds every 2 MiB leaf to a guest 2 MiB leaf over
 * one 2 MiB host page with no shadowed table in it.
 */
static void test_random_host_huge(void **state)
{
	for (host_huge = 1; host_huge <= 2; host_huge++) {
		struct nw_shadow_stats sum = { 0 };
		for (uint64_t seed = 1; seed <= (RANDOM_SEEDS + 1) / 2; seed++) {
			struct world w;
			world_init(&w, 100 + seed, NULL);
			long bad = run_random(&w, RANDOM_STEPS);
			if (bad >= 0)
				fail_msg("host %d seed %llu step %ld: %s", host_huge,
					 (unsigned long long)seed, bad, w.fail);
			const struct nw_shadow_stats *s = nw_shadow_stats(w.sh);
			print_message("host %s seed %llu: 2 MiB leaves %llu, zapped %llu, pages %llu\n",
				      host_huge == 1 ? "2m" : "mixed", (unsigned long long)seed,
				      (unsigned long long)s->large_leaves, (unsigned long long)s->large_zaps,
				      (unsigned long long)s->pages_created);
			sum.large_leaves += s->large_leaves;
			sum.large_zaps += s->large_zaps;
			sum.faults_fixed += s->faults_fixed;
			world_fini(&w);
		}
		assert_true(sum.large_leaves > 0);
		assert_true(sum.large_zaps > 0);
		assert_true(sum.faults_fixed > 0);
	}
	host_huge = 0;
}

/* The negative control: 2 MiB leaves over shadowed guest tables are caught. */
static void test_large_over_table_caught(void **state)
{
	struct nw_shadow_cfg cfg;
	bool caught = false;

	nw_shadow_cfg_default(&cfg);
	cfg.bugs = NW_SHADOW_BUG_LARGE_OVER_TABLE;
	host_huge = 1;
	for (uint64_t seed = 1; seed <= 4 && !caught; seed++) {
		struct world w;
		world_init(&w, 200 + seed, &cfg);
		long bad = run_random(&w, RANDOM_STEPS);
		if (bad >= 0) {
			print_message("LARGE_OVER_TABLE caught at step %ld: %s\n", bad, w.fail);
			caught = true;
		}
		world_fini(&w);
	}
	host_huge = 0;
	assert_true(caught);
}

/* The negative control: forgetting one write protection is caught. */
static void test_skip_wp_caught(void **state)
{
	int caught = 0;

	for (uint64_t seed = 1; seed <= 3; seed++) {
		struct world w;
		struct nw_shadow_cfg cfg;
		nw_shadow_cfg_default(&cfg);
		cfg.bugs = NW_SHADOW_BUG_SKIP_WP;
		world_init(&w, seed, &cfg);
		long bad = run_random(&w, RANDOM_STEPS);
		if (bad >= 0) {
			caught++;
			print_message("seed %llu: caught at step %ld: %s\n", (unsigned long long)seed,
				      bad, w.fail);
		}
		world_fini(&w);
	}
	assert_int_equal(caught, 3);
}

/* The same control, staged: a data frame the kernel wrote becomes a table. */
static void staged_reuse(bool bug, int *rc_out, char *msg, size_t len)
{
	struct world w;
	struct nw_shadow_cfg cfg;
	uint64_t pf_va = USER_VA;

	nw_shadow_cfg_default(&cfg);
	cfg.bugs = bug ? NW_SHADOW_BUG_SKIP_WP : 0;
	world_init(&w, 99, &cfg);
	/* The kernel writes a frame as data: its direct-map leaf becomes writable. */
	uint64_t pt = frame_alloc(&w, F_DATA);
	kwrite(&w, pt + 8, 1234);
	frame_free(&w, pt);
	/* Now it is the table for USER_VA. */
	uint64_t pde = slot_for(&w, pf_va, 2, true);
	assert_true(pde != 0);
	for (unsigned i = 0; i < NW_ENTRIES_PER_TABLE; i++)
		if (gread(&w, pt + 8 * i))
			kwrite(&w, pt + 8 * i, 0);
	w.fstate[pt >> NW_PAGE_SHIFT] = F_PT;
	kwrite(&w, pde, pt | NW_PTE_P | NW_PTE_RW | NW_PTE_US);
	uint64_t data = frame_alloc(&w, F_DATA);
	kwrite(&w, pt, data | NW_PTE_P | NW_PTE_RW | NW_PTE_US);
	check_access(&w, pf_va, NW_ACC_USER); /* shadows the new table */
	assert_false(w.failed);
	*rc_out = nw_shadow_check(w.sh, &w.gmode, msg, len);
	world_fini(&w);
}

static void test_skip_wp_staged(void **state)
{
	char msg[256];
	int rc;

	staged_reuse(false, &rc, msg, sizeof(msg));
	assert_int_equal(rc, 0);
	staged_reuse(true, &rc, msg, sizeof(msg));
	assert_int_equal(rc, -EUCLEAN);
	print_message("caught: %s\n", msg);
	assert_non_null(strstr(msg, "protected guest table"));
}

/* Map `n` pages of one region, touching each: every PTE store hits a shadowed table. */
static void populate(struct world *w, uint64_t base, unsigned n)
{
	for (unsigned i = 0; i < n && !w->failed; i++) {
		uint64_t va = base + i * NW_PAGE_SIZE, slot = slot_for(w, va, 1, true);
		uint64_t data = frame_alloc(w, F_DATA);
		assert_true(slot && data != ~0ull);
		kwrite(w, slot, data | NW_PTE_P | NW_PTE_RW | NW_PTE_US);
		check_access(w, va, NW_ACC_USER | NW_ACC_WRITE);
	}
}

static void test_unsync_feature(void **state)
{
	uint64_t emulated[2], unsyncs[2];

	for (int on = 0; on < 2; on++) {
		struct world w;
		struct nw_shadow_cfg cfg;
		nw_shadow_cfg_default(&cfg);
		cfg.unsync = on;
		cfg.flood_threshold = 0; /* the unmap loop would otherwise unshadow the tables */
		world_init(&w, 5, &cfg);
		populate(&w, USER_VA, 1024);
		/* An munmap of it all, with INVLPGs; then a context switch resyncs. */
		for (unsigned i = 0; i < 1024 && !w.failed; i++) {
			uint64_t va = USER_VA + i * NW_PAGE_SIZE, slot, pte;
			assert_true(mapped_4k(&w, va, &slot, &pte));
			kwrite(&w, slot, 0);
			invlpg(&w, va);
		}
		load_cr3(&w, 1, false);
		assert_true(checked(&w, "unsync run"));
		emulated[on] = nw_shadow_stats(w.sh)->emulated_writes;
		unsyncs[on] = nw_shadow_stats(w.sh)->unsyncs;
		world_fini(&w);
	}
	print_message("emulated writes: unsync off %llu, on %llu (unsyncs %llu)\n",
		      (unsigned long long)emulated[0], (unsigned long long)emulated[1],
		      (unsigned long long)unsyncs[1]);
	assert_int_equal(unsyncs[0], 0);
	assert_true(unsyncs[1] > 0);
	assert_true(emulated[0] >= 2000);
	assert_true(emulated[1] * 10 < emulated[0]);
}

static void test_root_cache_feature(void **state)
{
	uint64_t misses[2], created[2], faults[2];

	for (int on = 0; on < 2; on++) {
		struct world w;
		struct nw_shadow_cfg cfg;
		nw_shadow_cfg_default(&cfg);
		cfg.root_cache = on ? 8 : 0;
		world_init(&w, 6, &cfg);
		for (int as = 0; as < NAS; as++) {
			load_cr3(&w, as, false);
			populate(&w, USER_VA, 8);
		}
		uint64_t base_created = nw_shadow_stats(w.sh)->pages_created;
		uint64_t base_faults = nw_shadow_stats(w.sh)->faults_fixed;
		for (int round = 0; round < 100; round++)
			for (int as = 0; as < NAS; as++) {
				load_cr3(&w, as, false);
				for (unsigned i = 0; i < 8; i++)
					check_access(&w, USER_VA + i * NW_PAGE_SIZE, NW_ACC_USER);
			}
		assert_true(checked(&w, "root cache run"));
		misses[on] = nw_shadow_stats(w.sh)->root_misses;
		created[on] = nw_shadow_stats(w.sh)->pages_created - base_created;
		faults[on] = nw_shadow_stats(w.sh)->faults_fixed - base_faults;
		world_fini(&w);
	}
	print_message("root cache off/on: misses %llu/%llu, pages rebuilt %llu/%llu, faults %llu/%llu\n",
		      (unsigned long long)misses[0], (unsigned long long)misses[1],
		      (unsigned long long)created[0], (unsigned long long)created[1],
		      (unsigned long long)faults[0], (unsigned long long)faults[1]);
	assert_true(misses[1] <= NAS && misses[0] >= 600);
	assert_int_equal(created[1], 0);
	assert_true(created[0] >= 600);
	assert_true(faults[0] > faults[1]);
}

static void test_flood_feature(void **state)
{
	uint64_t unshadowed[2], emulated[2];

	for (int on = 0; on < 2; on++) {
		struct world w;
		struct nw_shadow_cfg cfg;
		nw_shadow_cfg_default(&cfg);
		cfg.flood_threshold = on ? 3 : 0;
		world_init(&w, 7, &cfg);
		populate(&w, USER_VA, 4);
		/* The page directory of USER_VA is shadowed; rewrite one of its free slots in a loop. */
		uint64_t pde = slot_for(&w, USER_VA, 2, false);
		uint64_t slot = (pde & NW_PAGE_MASK) + 8 * 300;
		for (int i = 0; i < 100; i++)
			kwrite(&w, slot, (uint64_t)i << 12);
		kwrite(&w, slot, 0);
		check_access(&w, USER_VA, NW_ACC_USER);
		assert_true(checked(&w, "flood run"));
		unshadowed[on] = nw_shadow_stats(w.sh)->unshadowed;
		emulated[on] = nw_shadow_stats(w.sh)->emulated_writes;
		world_fini(&w);
	}
	print_message("flood detection off/on: unshadowed %llu/%llu, emulated writes %llu/%llu\n",
		      (unsigned long long)unshadowed[0], (unsigned long long)unshadowed[1],
		      (unsigned long long)emulated[0], (unsigned long long)emulated[1]);
	assert_int_equal(unshadowed[0], 0);
	assert_true(unshadowed[1] >= 1);
	assert_true(emulated[0] >= 101);
	assert_true(emulated[1] < 10);
}

/* Garbage everywhere in a table: only guest faults, never a failure. */
static void test_garbage_tables(void **state)
{
	struct world w;

	world_init(&w, 11, NULL);
	populate(&w, USER_VA, 16);
	uint64_t pt = slot_for(&w, USER_VA, 1, false) & NW_PAGE_MASK;
	uint64_t pd = slot_for(&w, USER_VA, 2, false) & NW_PAGE_MASK;
	for (int round = 0; round < 40 && !w.failed; round++) {
		for (unsigned i = 0; i < 64; i++) {
			uint64_t g = nw_rng_next(&w.rng);
			if (round & 1)
				g &= 0x80003fffffffffffull; /* plausible: no reserved address bits */
			kwrite(&w, (round % 3 ? pt : pd) + 8 * nw_rng_below(&w.rng, 512), g);
		}
		flush(&w);
		for (unsigned i = 0; i < 400 && !w.failed; i++) {
			uint64_t va = USER_VA + nw_rng_below(&w.rng, 1 << 30);
			static const unsigned kinds[] = { NW_ACC_USER, NW_ACC_USER | NW_ACC_FETCH, NW_ACC_READ };
			check_access(&w, va & ~7ull, kinds[i % 3]);
		}
		assert_true(checked(&w, "garbage"));
	}
	if (w.failed)
		fail_msg("%s", w.fail);
	assert_true(nw_shadow_stats(w.sh)->faults_injected > 0);
	world_fini(&w);
}

/* CR0.WP = 0: a supervisor store to a read-only user page goes through a
 * writable supervisor-only leaf; under SMAP it is emulated instead. */
static void test_wp0(void **state)
{
	struct world w;
	uint64_t val = 5;
	uint32_t pf;

	world_init(&w, 12, NULL);
	uint64_t slot = slot_for(&w, USER_VA, 1, true), data = frame_alloc(&w, F_DATA);
	kwrite(&w, slot, data | NW_PTE_P | NW_PTE_US);
	w.gmode.wp = false;
	load_cr3(&w, 0, false);
	assert_int_equal(vcpu_access(&w, USER_VA, NW_ACC_WRITE, &val, &pf), R_OK);
	assert_int_equal(*gptr(&w, data), 5);
	assert_true(gread(&w, slot) & NW_PTE_D);
	assert_true(checked(&w, "wp0 store"));
	/* A user read turns the leaf back into a read-only user one. */
	check_access(&w, USER_VA, NW_ACC_USER);
	check_access(&w, USER_VA, NW_ACC_USER | NW_ACC_WRITE); /* guest #PF */
	assert_true(checked(&w, "wp0 user"));
	w.gmode.smap = true;
	w.gmode.ac = true;
	load_cr3(&w, 0, false);
	uint64_t before = nw_shadow_stats(w.sh)->faults_emulate;
	val = 6;
	assert_int_equal(vcpu_access(&w, USER_VA, NW_ACC_WRITE, &val, &pf), R_OK);
	assert_int_equal(*gptr(&w, data), 6);
	assert_int_equal(nw_shadow_stats(w.sh)->faults_emulate, before + 1);
	assert_true(checked(&w, "wp0 smap"));
	if (w.failed)
		fail_msg("%s", w.fail);
	world_fini(&w);
}

/* A 5-level guest: the shadow root is a level-5 page. */
static void test_five_levels(void **state)
{
	struct world w;
	uint64_t hi = 0x00ff800000000000ull; /* above the 48-bit space */
	uint64_t val = 77;
	uint32_t pf;

	world_init(&w, 13, NULL);
	uint64_t pml5 = frame_alloc(&w, F_PT), pml4 = frame_alloc(&w, F_PT);
	uint64_t pdpt = frame_alloc(&w, F_PT), pd = frame_alloc(&w, F_PT);
	uint64_t pt = frame_alloc(&w, F_PT), data = frame_alloc(&w, F_DATA);
	for (unsigned i = 0; i < 512; i++)
		*gptr(&w, pml5 + 8 * i) = *gptr(&w, pml4 + 8 * i) = *gptr(&w, pdpt + 8 * i) =
			*gptr(&w, pd + 8 * i) = *gptr(&w, pt + 8 * i) = 0;
	const uint64_t t = NW_PTE_P | NW_PTE_RW | NW_PTE_US;
	*gptr(&w, pml5 + 8 * NW_LEVEL_INDEX(hi, 5)) = pml4 | t;
	*gptr(&w, pml4 + 8 * NW_LEVEL_INDEX(hi, 4)) = pdpt | t;
	*gptr(&w, pdpt + 8 * NW_LEVEL_INDEX(hi, 3)) = pd | t;
	*gptr(&w, pd + 8 * NW_LEVEL_INDEX(hi, 2)) = pt | t;
	*gptr(&w, pt + 8 * NW_LEVEL_INDEX(hi, 1)) = data | t | NW_PTE_D;
	w.root[1] = pml5;
	w.gmode.levels = 5;
	load_cr3(&w, 1, false);
	assert_int_equal(sh_level(w.sh->vcpus[0].root), 5);
	assert_int_equal(vcpu_access(&w, hi, NW_ACC_USER | NW_ACC_WRITE, &val, &pf), R_OK);
	assert_int_equal(*gptr(&w, data), 77);
	check_access(&w, hi + NW_PAGE_SIZE, NW_ACC_USER);
	assert_true(checked(&w, "la57"));
	/* A mode that differs from the root's is refused until CR3 is loaded again. */
	struct nw_shadow_outcome o;
	w.gmode.levels = 4;
	assert_int_equal(nw_shadow_page_fault(w.sh, 0, &w.gmode, hi, 0, &o), -EINVAL);
	if (w.failed)
		fail_msg("%s", w.fail);
	world_fini(&w);
}

/* Emulated A/D: A when a shadow entry is made, W only once D is set. */
static void test_emulated_ad(void **state)
{
	struct world w;
	uint64_t val = 1;
	uint32_t pf;

	world_init(&w, 14, NULL);
	uint64_t slot = slot_for(&w, USER_VA, 1, true), data = frame_alloc(&w, F_DATA);
	kwrite(&w, slot, data | NW_PTE_P | NW_PTE_RW | NW_PTE_US);
	check_access(&w, USER_VA, NW_ACC_USER);
	assert_true(gread(&w, slot) & NW_PTE_A);
	assert_false(gread(&w, slot) & NW_PTE_D);
	uint64_t fixed = nw_shadow_stats(w.sh)->faults_fixed;
	assert_int_equal(vcpu_access(&w, USER_VA, NW_ACC_USER | NW_ACC_WRITE, &val, &pf), R_OK);
	assert_true(gread(&w, slot) & NW_PTE_D);
	assert_int_equal(nw_shadow_stats(w.sh)->faults_fixed, fixed + 1); /* the D fault */
	assert_int_equal(vcpu_access(&w, USER_VA, NW_ACC_USER | NW_ACC_WRITE, &val, &pf), R_OK);
	assert_int_equal(nw_shadow_stats(w.sh)->faults_fixed, fixed + 1);
	assert_true(checked(&w, "a/d"));
	/* A p2m change: the leaf goes, the next access rebuilds it. */
	assert_int_equal(nw_shadow_zap_gpa_range(w.sh, data, NW_PAGE_SIZE), 0);
	check_access(&w, USER_VA, NW_ACC_USER);
	assert_true(checked(&w, "zap range"));
	if (w.failed)
		fail_msg("%s", w.fail);
	world_fini(&w);
}

static void test_stats_names(void **state)
{
	struct world w;
	struct nw_stat list[NW_SHADOW_STATS_MAX];
	static const char *const want[] = {
		"shadow.pages", "shadow.zaps", "shadow.syncs", "shadow.unsyncs",
		"shadow.emulated_writes", "shadow.root_hits", "shadow.root_misses",
		"shadow.unshadowed", "shadow.faults.fixed", "shadow.faults.injected",
	};

	world_init(&w, 15, NULL);
	size_t n = nw_shadow_stats_list(w.sh, list, NW_SHADOW_STATS_MAX);
	assert_true(n <= NW_SHADOW_STATS_MAX);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		bool found = false;
		for (size_t j = 0; j < n; j++)
			found |= !strcmp(list[j].name, want[i]);
		assert_true(found);
	}
	world_fini(&w);
}

/* Room: with few pages allowed, old ones are reclaimed and all stays sound. */
static void test_reclaim(void **state)
{
	struct world w;
	struct nw_shadow_cfg cfg;

	nw_shadow_cfg_default(&cfg);
	cfg.max_pages = 40;
	world_init(&w, 16, &cfg);
	long bad = run_random(&w, 3000);
	if (bad >= 0)
		fail_msg("step %ld: %s", bad, w.fail);
	assert_true(nw_shadow_stats(w.sh)->reclaimed > 0);
	assert_true(nw_shadow_stats(w.sh)->pages <= 40);
	world_fini(&w);
}


/* ---- the shadow MMU inside the hypervisor ---- */

struct tiny_pf {
	uint64_t cr2;
	uint32_t error;
	int calls;
};

static int tiny_page_fault(void *guest, struct nw_vcpu *v, uint64_t cr2, uint32_t error)
{
	struct tiny_pf *t = guest;

	t->cr2 = cr2;
	t->error = error;
	t->calls++;
	return 1; /* SEGV: this guest maps nothing on demand */
}

static const struct nw_guest_ops tiny_ops = { .page_fault = tiny_page_fault };

static void phys_store(struct nw_vcpu *v, uint64_t gpa, uint64_t val)
{
	assert_int_equal(nw_vcpu_phys_access(v, gpa, NW_ACC_WRITE, &val), 0);
}

static uint64_t phys_load(struct nw_vcpu *v, uint64_t gpa)
{
	uint64_t val;
	assert_int_equal(nw_vcpu_phys_access(v, gpa, NW_ACC_READ, &val), 0);
	return val;
}

static uint64_t vmread(struct nw_vcpu *v, uint32_t enc)
{
	uint64_t val;
	assert_int_equal(nw_vcpu_vmread(v, enc, &val), 0);
	return val;
}

/* The last exit: (reason, qualification) on VMX, (EXITCODE, EXITINFO1, EXITINFO2) on SVM. */
static void expect_exit(struct nw_vcpu *v, bool svm, uint32_t vmx_reason, uint64_t qual,
			uint32_t svm_code, uint64_t info1, uint64_t info2)
{
	if (svm) {
		assert_int_equal(nw_vcpu_vmcb(v, NW_VMCB_EXITCODE, 8), svm_code);
		assert_int_equal(nw_vcpu_vmcb(v, NW_VMCB_EXITINFO1, 8), info1);
		assert_int_equal(nw_vcpu_vmcb(v, NW_VMCB_EXITINFO2, 8), info2);
	} else {
		assert_int_equal(vmread(v, NW_VMCS_EXIT_REASON), vmx_reason);
		assert_int_equal(vmread(v, NW_VMCS_EXIT_QUALIFICATION), qual);
	}
}

/*
 * A hand-built guest under shadow paging, on an Intel and an AMD preset:
 * every exit shadow paging takes, with its real number and information
 * (FACTS.md §0 and §5), and each outcome of a shadow fault.
 */
static void vm_exits(const char *preset, bool svm)
{
	const uint64_t root = 0x1000, pdpt = 0x2000, pd = 0x3000, pt = 0x4000, data = 0x10000;
	const uint64_t va = 0x400000, t = NW_PTE_P | NW_PTE_RW | NW_PTE_US;
	struct nw_vm_cfg c;
	struct nw_vm *vm;
	struct tiny_pf tp = { 0 };
	char err[160];
	uint64_t val;

	nw_vm_cfg_default(&c);
	c.mode = NW_VM_SHADOW;
	assert_int_equal(nw_cpu_preset(preset, &c.cpu, err, sizeof(err)), 0);
	c.ram = 16ull << 20;
	assert_int_equal(nw_vm_create(&c, &vm, err, sizeof(err)), 0);
	struct nw_vcpu *v = nw_vm_vcpu(vm, 0);
	nw_vcpu_set_guest(v, &tiny_ops, &tp);
	/* The controls shadow paging needs. */
	if (svm) {
		assert_true(nw_vcpu_vmcb(v, NW_VMCB_INTERCEPT_CR, 4) & (1u << 19));
		assert_true(nw_vcpu_vmcb(v, NW_VMCB_INTERCEPT_EXC, 4) & (1u << 14));
		assert_true(nw_vcpu_vmcb(v, NW_VMCB_INTERCEPT_MISC, 4) & (1u << 25));
		assert_int_equal(nw_vcpu_vmcb(v, NW_VMCB_NP_ENABLE, 8), 0);
		assert_int_not_equal(nw_vcpu_vmcb(v, NW_VMCB_ASID, 4), 0);
	} else {
		assert_true(vmread(v, NW_VMCS_PROC_BASED_CTLS) & ((1u << 9) | (1u << 15)));
		assert_true(vmread(v, NW_VMCS_EXCEPTION_BITMAP) & (1u << 14));
		assert_false(vmread(v, NW_VMCS_PROC_BASED_CTLS2) & NW_PROC2_ENABLE_EPT);
	}

	/* Boot, paging off: va -> data, va+1 page -> the PT itself, va+2 -> the PD. */
	phys_store(v, root, pdpt | t);
	phys_store(v, pdpt, pd | t);
	phys_store(v, pd + 8 * NW_LEVEL_INDEX(va, 2), pt | t);
	phys_store(v, pt + 8 * NW_LEVEL_INDEX(va, 1), data | t);
	phys_store(v, pt + 8 * NW_LEVEL_INDEX(va + 0x1000, 1), pt | NW_PTE_P | NW_PTE_RW);
	phys_store(v, pt + 8 * NW_LEVEL_INDEX(va + 0x2000, 1), pd | NW_PTE_P | NW_PTE_RW);
	struct nw_x86_mode mode = { .levels = 4, .wp = true, .nxe = true };
	nw_vcpu_set_paging(v, &mode, false);
	assert_int_equal(nw_vcpu_mov_cr3(v, root), 0);
	/* MOV to CR3: VMX 28, CR 3 from RAX; SVM 0x13 with decode assists. */
	expect_exit(v, svm, 28, 3, 0x13, 1ull << 63, 0);
	assert_int_equal(nw_vcpu_stats(v)->exits[NW_EXIT_CR3_WRITE], 1);

	/* The first touch: a #PF exit (not present: U|W), fixed by the shadow MMU. */
	val = 42;
	assert_int_equal(nw_vcpu_access(v, va, NW_ACC_USER | NW_ACC_WRITE, &val), 0);
	expect_exit(v, svm, 0, va, 0x4e, 0x6, va);
	if (!svm) {
		assert_int_equal(vmread(v, NW_VMCS_EXIT_INTR_INFO), 0x80000b0e);
		assert_int_equal(vmread(v, NW_VMCS_EXIT_INTR_ERROR_CODE), 0x6);
	}
	assert_int_equal(phys_load(v, data), 42);
	assert_true(phys_load(v, pt + 8 * NW_LEVEL_INDEX(va, 1)) & NW_PTE_D); /* emulated D */
	uint64_t pf_exits = nw_vcpu_stats(v)->exits[NW_EXIT_PF];
	assert_true(pf_exits >= 1);
	val = 0;
	assert_int_equal(nw_vcpu_access(v, va, NW_ACC_USER, &val), 0);
	assert_int_equal(val, 42);
	assert_int_equal(nw_vcpu_stats(v)->exits[NW_EXIT_PF], pf_exits); /* no exit: shadow hit */

	/* Unmapped: the guest's own #PF, reflected (VM-entry injection on VMX). */
	assert_int_equal(nw_vcpu_access(v, va + 0x3000, NW_ACC_USER, &val), NW_VCPU_SEGV);
	assert_int_equal(tp.calls, 1);
	assert_int_equal(tp.cr2, va + 0x3000);
	assert_int_equal(tp.error, NW_PFEC_U);
	if (!svm) {
		assert_int_equal(vmread(v, NW_VMCS_ENTRY_INTR_INFO), 0x80000b0e);
		assert_int_equal(vmread(v, NW_VMCS_ENTRY_EXCEPTION_ERROR_CODE), NW_PFEC_U);
	}

	/* A store into the shadowed PD: write-protected, emulated. */
	const struct nw_shadow_stats *st = nw_shadow_stats(vm->shadow);
	uint64_t emulated = st->emulated_writes;
	val = 0x1234000;
	assert_int_equal(nw_vcpu_access(v, va + 0x2000 + 8 * 77, NW_ACC_WRITE, &val), 0);
	assert_int_equal(phys_load(v, pd + 8 * 77), 0x1234000);
	assert_int_equal(st->emulated_writes, emulated + 1);
	/* A store into the shadowed PT: it goes unsync, no emulation. */
	val = 0;
	assert_int_equal(nw_vcpu_access(v, va + 0x1000 + 8 * 300, NW_ACC_WRITE, &val), 0);
	assert_int_equal(st->emulated_writes, emulated + 1);
	assert_true(st->unsyncs >= 1);

	/* INVLPG: VMX 14 / SVM 0x79, the address as qualification / EXITINFO1. */
	assert_int_equal(nw_vcpu_invlpg(v, va), 0);
	expect_exit(v, svm, 14, va, 0x79, va, 0);
	assert_int_equal(nw_vcpu_stats(v)->exits[NW_EXIT_INVLPG], 1);
	assert_int_equal(nw_shadow_check(vm->shadow, NULL, err, sizeof(err)), 0);
	assert_true(nw_vm_nested_table_pages(vm) >= 4); /* the shadow tables */
	nw_vm_destroy(vm);
}

static void test_vm_exits(void **state)
{
	vm_exits("skylake", false);
	vm_exits("zen4", true);
}

/* Switch the shadow checker on inside the runner's VM (and maybe a bug). */
static void checker_on(void *arg, struct nw_vm *vm, struct nw_guest *g)
{
	vm->shadow->cfg.checker = true;
	vm->shadow->bugs_left |= *(unsigned *)arg;
}

/* test_workloads.c's specs (a smaller working set where it is large). */
static const char *const vm_specs[] = {
	"seq:ws=256k,passes=2", "random:ws=256k,ops=2000", "chase:ws=256k,ops=2000",
	"zipf:ws=256k,ops=2000", "churn:size=32k,rounds=4",
	"fork:ws=32k,forks=2,children=2,writes=4", "ctxsw:ws=32k,ops=3000,procs=3,slice=50",
	"mix:ws=128k,ops=500", "churn:size=64k,rounds=2,reads=3",
};

/* 2 MiB host and guest pages for the next run_checked and its native reference. */
static bool vm_huge;

static int run_checked(const char *spec, const char *preset, unsigned vcpus, unsigned bugs,
		       struct nw_run_result *res, char *err, size_t len)
{
	struct nw_run_cfg c;

	nw_run_cfg_default(&c);
	if (vm_huge) {
		c.vm.host_page = NW_PAGE_2M;
		c.guest_page = NW_PAGE_2M;
	}
	c.vm.mode = NW_VM_SHADOW;
	assert_int_equal(nw_cpu_preset(preset, &c.vm.cpu, err, len), 0);
	assert_int_equal(nw_workload_parse(spec, &c.wl, err, len), 0);
	c.vm.vcpus = vcpus;
	c.seed = 3;
	c.hook = checker_on;
	c.hook_arg = &bugs;
	c.hook_at = 0;
	return nw_run(&c, res, err, len);
}

/*
 * Every built-in workload, 1 and (slow build) 4 vCPUs, with the checker
 * after every shadow operation of the measured phase, and the same data as
 * native; then again on 2 MiB guest and host pages (2 MiB shadow leaves).
 */
static void test_vm_workloads_checked(void **state)
{
	struct nw_run_result *res = malloc(sizeof(*res)), *ref = malloc(sizeof(*ref));
	char err[256];

	assert_non_null(res);
	assert_non_null(ref);
#ifdef NW_SHADOW_SLOW
	const unsigned max_vcpus = 4;
#else
	const unsigned max_vcpus = 1; /* the 4-vCPU runs are the slow build's (ASan budget) */
#endif
	for (int huge = 0; huge < 2; huge++)
	for (size_t i = 0; i < sizeof(vm_specs) / sizeof(vm_specs[0]); i++)
		for (unsigned vcpus = 1; vcpus <= max_vcpus; vcpus += 3) {
			vm_huge = huge;
			const char *preset = vcpus == 1 ? "skylake" : "zen4";
			int rc = run_checked(vm_specs[i], preset, vcpus, 0, res, err, sizeof(err));
			if (rc)
				fail_msg("%s, %u vCPUs: %d: %s", vm_specs[i], vcpus, rc, err);
			assert_int_equal(res->mismatches, 0);
			struct nw_run_cfg c;
			nw_run_cfg_default(&c);
			c.vm.mode = NW_VM_NATIVE;
			if (huge) {
				c.vm.host_page = NW_PAGE_2M;
				c.guest_page = NW_PAGE_2M;
			}
			assert_int_equal(nw_cpu_preset(preset, &c.vm.cpu, err, sizeof(err)), 0);
			assert_int_equal(nw_workload_parse(vm_specs[i], &c.wl, err, sizeof(err)), 0);
			c.vm.vcpus = vcpus;
			c.seed = 3;
			assert_int_equal(nw_run(&c, ref, err, sizeof(err)), 0);
			assert_int_equal(res->checksum, ref->checksum);
		}
	vm_huge = false;
	free(res);
	free(ref);
}

/*
 * Shadow large pages in the VM: a 2 MiB shadow leaf only where the guest
 * page and the host page are both 2 MiB, checked after every shadow
 * operation, with native's data. Guest huge pages over 4 KiB host pages
 * give 4 KiB shadow leaves only; 2 MiB host pages under the workload's 4 KiB
 * pages give 2 MiB leaves only for the kernel's direct map (2 MiB pages),
 * fewer than when the workload's data is in guest 2 MiB pages too.
 */
static void test_vm_large_pages(void **state)
{
	static const struct { int host, guest; } combos[] = {
		{ NW_PAGE_4K, NW_PAGE_2M }, { NW_PAGE_2M, NW_PAGE_4K },
		{ NW_PAGE_2M, NW_PAGE_2M }, { NW_PAGE_1G, NW_PAGE_2M },
	};
	uint64_t count[4];
	static const char *const specs[] = { "random:ws=4m,ops=3000", "churn:size=2m,rounds=2" };
	struct nw_run_result *res = malloc(sizeof(*res)), *ref = malloc(sizeof(*ref));
	unsigned bugs = 0;
	char err[256];

	assert_non_null(res);
	assert_non_null(ref);
	for (size_t s = 0; s < sizeof(specs) / sizeof(specs[0]); s++)
		for (size_t k = 0; k < sizeof(combos) / sizeof(combos[0]); k++) {
			struct nw_run_cfg c;
			nw_run_cfg_default(&c);
			c.vm.mode = NW_VM_SHADOW;
			c.vm.host_page = combos[k].host;
			c.guest_page = combos[k].guest;
			assert_int_equal(nw_workload_parse(specs[s], &c.wl, err, sizeof(err)), 0);
			c.seed = 5;
			c.hook = checker_on;
			c.hook_arg = &bugs;
			int rc = nw_run(&c, res, err, sizeof(err));
			if (rc)
				fail_msg("%s host %d guest %d: %d: %s", specs[s], combos[k].host,
					 combos[k].guest, rc, err);
			uint64_t large = 0;
			/* The whole run: the data's leaves are made as it is first touched. */
			for (size_t i = 0; i < res->ntotal; i++)
				if (!strcmp(res->total[i].name, "shadow.large_leaves"))
					large = res->total[i].value;
			print_message("%s host %d guest %d: %llu 2 MiB shadow leaves\n", specs[s],
				      combos[k].host, combos[k].guest, (unsigned long long)large);
			count[k] = large;
			assert_int_equal(res->mismatches, 0);
			c.vm.mode = NW_VM_NATIVE;
			c.hook = NULL;
			assert_int_equal(nw_run(&c, ref, err, sizeof(err)), 0);
			assert_int_equal(res->checksum, ref->checksum);
			if (k == 3) {
				assert_int_equal(count[0], 0);
				assert_true(count[2] > count[1]);
				assert_true(count[3] > count[1]);
			}
		}
	free(res);
	free(ref);
}

/*
 * With no caches every walk of the shadow is a 1D walk from sCR3: exactly 4
 * references, 3 where a 2 MiB shadow leaf ends it (guest and host 2 MiB),
 * and never a host-dimension reference.
 */
static void test_vm_walk_refs(void **state)
{
	static const struct { int host, guest; double refs; } cases[] = {
		{ NW_PAGE_4K, NW_PAGE_4K, 4 }, { NW_PAGE_2M, NW_PAGE_2M, 3 },
		{ NW_PAGE_2M, NW_PAGE_4K, 4 }, { NW_PAGE_4K, NW_PAGE_2M, 4 },
	};
	struct nw_run_result *res = malloc(sizeof(*res));
	char err[256];
	double refs, host;

	assert_non_null(res);
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct nw_run_cfg c;
		nw_run_cfg_default(&c);
		c.vm.mode = NW_VM_SHADOW;
		c.vm.caches = false;
		c.vm.host_page = cases[k].host;
		c.guest_page = cases[k].guest;
		assert_int_equal(nw_workload_parse("random:ws=4m,ops=5000", &c.wl, err, sizeof(err)), 0);
		assert_int_equal(nw_run(&c, res, err, sizeof(err)), 0);
		assert_int_equal(nw_run_figure(res, "walk.refs_per_walk", &refs), 0);
		assert_int_equal(nw_run_figure(res, "walk.refs_per_walk.host", &host), 0);
		print_message("host %d guest %d: %.3f references per walk\n", cases[k].host,
			      cases[k].guest, refs);
		assert_true(refs == cases[k].refs && host == 0);
	}
	free(res);
}

/* Each switch of nw_vm_cfg.shadow reaches the shadow MMU and shows in the figures. */
static void test_vm_switches(void **state)
{
	struct nw_run_result *res = malloc(sizeof(*res));
	struct nw_run_cfg c;
	char err[256];
	uint64_t on, off;

	assert_non_null(res);
#define RUN(spec, field, setting, stat, out)                                                   \
	do {                                                                                \
		nw_run_cfg_default(&c);                                                     \
		c.vm.mode = NW_VM_SHADOW;                                                   \
		if (!strncmp(spec, "random", 6)) /* the 2 MiB leaves' run */               \
			c.vm.host_page = c.guest_page = NW_PAGE_2M;                         \
		assert_int_equal(nw_workload_parse(spec, &c.wl, err, sizeof(err)), 0);      \
		c.vm.shadow.field = setting;                                                \
		assert_int_equal(nw_run(&c, res, err, sizeof(err)), 0);                     \
		out = 0;                                                                    \
		for (size_t i = 0; i < res->ntotal; i++)                                    \
			if (!strcmp(res->total[i].name, stat))                              \
				out = res->total[i].value;                                  \
	} while (0)
	RUN("churn:size=32k,rounds=4", unsync, true, "shadow.unsyncs", on);
	RUN("churn:size=32k,rounds=4", unsync, false, "shadow.unsyncs", off);
	assert_true(on > 0 && off == 0);
	RUN("ctxsw:ws=32k,ops=3000,procs=3,slice=50", root_cache, 4, "shadow.root_hits", on);
	RUN("ctxsw:ws=32k,ops=3000,procs=3,slice=50", root_cache, 0, "shadow.root_hits", off);
	assert_true(on > off);
	RUN("churn:size=32k,rounds=4", flood_threshold, 3, "shadow.unshadowed", on);
	RUN("churn:size=32k,rounds=4", flood_threshold, 0, "shadow.unshadowed", off);
	assert_true(on > 0 && off == 0);
	RUN("random:ws=4m,ops=2000", large_pages, true, "shadow.large_leaves", on);
	RUN("random:ws=4m,ops=2000", large_pages, false, "shadow.large_leaves", off);
	assert_true(on > 0 && off == 0);
	RUN("churn:size=32k,rounds=4", checker, true, "shadow.pages.created", on);
	assert_true(on > 0);
#undef RUN
	/* Out of range: refused with a message. */
	nw_run_cfg_default(&c);
	c.vm.mode = NW_VM_SHADOW;
	c.vm.shadow.root_cache = NW_SHADOW_MAX_ROOT_CACHE + 1;
	assert_int_equal(nw_run(&c, res, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "root cache"));
	free(res);
}

/*
 * churn's reads= knob (the crossover sweep's): more loads over tables that
 * stay put mean fewer shadow exits per access; the data stay native's.
 */
static void test_churn_reads(void **state)
{
	struct nw_run_result *res = malloc(sizeof(*res));
	double rate[2];
	char err[256];

	assert_non_null(res);
	for (int k = 0; k < 2; k++) {
		struct nw_run_cfg c;
		nw_run_cfg_default(&c);
		c.vm.mode = NW_VM_SHADOW;
		assert_int_equal(nw_workload_parse(k ? "churn:size=64k,rounds=4,reads=512"
						     : "churn:size=64k,rounds=4",
						   &c.wl, err, sizeof(err)),
				 0);
		assert_int_equal(nw_run(&c, res, err, sizeof(err)), 0);
		assert_int_equal(res->mismatches, 0);
		assert_int_equal(nw_run_figure(res, "exits.per_1k", &rate[k]), 0);
	}
	print_message("churn exits per 1k: reads=0 %.2f, reads=512 %.2f\n", rate[0], rate[1]);
	assert_true(rate[1] < rate[0] / 2);
	/* The guest's own count of its table stores is the same in every mode. */
	uint64_t stores[2];
	for (int k = 0; k < 2; k++) {
		struct nw_run_cfg c;
		nw_run_cfg_default(&c);
		c.vm.mode = k ? NW_VM_SHADOW : NW_VM_NATIVE;
		assert_int_equal(nw_workload_parse("churn:size=64k,rounds=4", &c.wl, err, sizeof(err)), 0);
		assert_int_equal(nw_run(&c, res, err, sizeof(err)), 0);
		assert_int_equal(nw_run_stat(res, "guest.pt_stores", &stores[k]), 0);
	}
	assert_true(stores[0] >= 2 * 16 * 4); /* each page mapped and unmapped, every round */
	assert_int_equal(stores[0], stores[1]);
	free(res);
}

/* The negative control inside the VM: the checker stops it. */
static void test_vm_skip_wp_caught(void **state)
{
	struct nw_run_result *res = malloc(sizeof(*res));
	char err[256];

	assert_non_null(res);
	int rc = run_checked("churn:size=32k,rounds=4", "skylake", 1, NW_SHADOW_BUG_SKIP_WP, res,
			     err, sizeof(err));
	print_message("SKIP_WP in a VM: %d: %s\n", rc, err);
	assert_int_equal(rc, -EUCLEAN);
	/* The runner's message carries the checker's finding. */
	assert_non_null(strstr(err, "writable"));
	free(res);
}

/* Compare, inside the VM, each vCPU's list against the shadow MMU's own figures. */
static void stats_probe(void *arg, struct nw_vm *vm, struct nw_guest *g)
{
	struct nw_stat *list = malloc(NW_RUN_STATS_MAX * sizeof(*list));
	const struct nw_shadow_stats *st = nw_shadow_stats(vm->shadow);
	int *seen = arg;

	(void)g;
	assert_non_null(list);
	for (unsigned i = 0; i < nw_vm_vcpus(vm); i++) {
		size_t n = nw_vcpu_stats_list(nw_vm_vcpu(vm, i), list, NW_RUN_STATS_MAX);
		for (size_t j = 0; j < n && j < NW_RUN_STATS_MAX; j++) {
			if (!strcmp(list[j].name, "shadow.pages.created"))
				assert_int_equal(list[j].value, i == 0 ? st->pages_created : 0);
			if (!strcmp(list[j].name, "shadow.emulated_writes")) {
				assert_int_equal(list[j].value, i == 0 ? st->emulated_writes : 0);
				seen[i]++;
			}
		}
	}
	free(list);
}

static uint64_t run_stat(const struct nw_run_result *r, const char *name)
{
	uint64_t v = 0;

	if (nw_run_stat(r, name, &v) < 0)
		fail_msg("no figure %s", name);
	return v;
}

/*
 * The shadow MMU's figures reach the run's: vCPU 0 carries the VM's,
 * the others zeros, so the sum over vCPUs counts each once. Oracle: every
 * #PF exit is one shadow fault with one outcome, so the outcomes add up to
 * exits.pf (counted per vCPU, summed) in the measured phase; counting the
 * shadow figures once per vCPU would double them.
 */
static void test_vm_stats(void **state)
{
	struct nw_run_result *res = malloc(sizeof(*res));
	struct nw_run_cfg c;
	char err[256];
	int seen[2] = { 0, 0 };
	double v;

	(void)state;
	assert_non_null(res);
	nw_run_cfg_default(&c);
	c.vm.mode = NW_VM_SHADOW;
	c.vm.vcpus = 2;
	assert_int_equal(nw_workload_parse("churn:size=32k,rounds=8", &c.wl, err, sizeof(err)), 0);
	c.hook = stats_probe;
	c.hook_arg = seen;
	c.hook_at = 100;
	assert_int_equal(nw_run(&c, res, err, sizeof(err)), 0);
	assert_int_equal(seen[0], 1);
	assert_int_equal(seen[1], 1);
	uint64_t outcomes = run_stat(res, "shadow.faults.fixed") + run_stat(res, "shadow.faults.injected") +
			    run_stat(res, "shadow.faults.emulate") + run_stat(res, "shadow.faults.mmio");
	assert_true(outcomes > 0);
	assert_int_equal(outcomes, run_stat(res, "exits.pf"));
	assert_true(run_stat(res, "shadow.emulated_writes") > 0);
	assert_true(run_stat(res, "shadow.pages") > 0);
	assert_true(run_stat(res, "shadow.root_hits") + run_stat(res, "shadow.root_misses") > 0);
	assert_int_equal(nw_run_figure(res, "shadow.emulated_writes.per_1k", &v), 0);
	assert_true(v > 0);
	assert_int_equal(nw_run_figure(res, "shadow.root_hit_rate", &v), 0);
	assert_true(v >= 0 && v <= 1);
	assert_int_equal(nw_run_figure(res, "shadow.pages", &v), 0);
	assert_true(v > 0);
	/* Not in other modes. */
	c.vm.mode = NW_VM_EPT;
	c.hook = NULL;
	assert_int_equal(nw_run(&c, res, err, sizeof(err)), 0);
	assert_int_equal(nw_run_stat(res, "shadow.pages", &outcomes), -ENOENT);
	free(res);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_map_unit),
		cmocka_unit_test(test_stats_names),
		cmocka_unit_test(test_emulated_ad),
		cmocka_unit_test(test_wp0),
		cmocka_unit_test(test_five_levels),
		cmocka_unit_test(test_garbage_tables),
		cmocka_unit_test(test_unsync_feature),
		cmocka_unit_test(test_root_cache_feature),
		cmocka_unit_test(test_flood_feature),
		cmocka_unit_test(test_skip_wp_staged),
		cmocka_unit_test(test_skip_wp_caught),
		cmocka_unit_test(test_reclaim),
		cmocka_unit_test(test_vm_exits),
		cmocka_unit_test(test_vm_workloads_checked),
		cmocka_unit_test(test_vm_skip_wp_caught),
		cmocka_unit_test(test_vm_stats),
		cmocka_unit_test(test_vm_large_pages),
		cmocka_unit_test(test_vm_switches),
		cmocka_unit_test(test_vm_walk_refs),
		cmocka_unit_test(test_churn_reads),
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_random_host_huge),
		cmocka_unit_test(test_large_over_table_caught),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
