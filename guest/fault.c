/* SPDX-License-Identifier: MIT */
/*
 * The guest's #PF handler, as registered with nw_vcpu_set_guest.
 *
 * A user fault inside a VMA that allows the access is one of:
 *  - not present: demand-zero. A fresh frame is cleared through the direct
 *    map and mapped (a 2 MiB page when the VMA asked for one and covers
 *    the whole aligned block);
 *  - a write to a read-only leaf of a writable VMA: copy-on-write. A frame
 *    that only this mapping references is made writable in place; a
 *    shared one is copied, the copy mapped over it (NW_MAP_REPLACE), the
 *    old translation shot down, and the old frame's reference dropped. A
 *    shared 2 MiB page is split first and only the 4 KiB page copied, as
 *    Linux does for THP;
 *  - already allowed by the tables: a spurious fault on a stale entry,
 *    which the #PF itself has dropped.
 * Everything else is SIGSEGV. The handler's own accesses are supervisor
 * accesses to the direct map, which is always mapped, so it never faults
 * itself; a supervisor fault is refused, never retried.
 */

#include <errno.h>

#include "guest_internal.h"

/* What the fault path returns besides 0 and a negative errno. */
#define SEGV 1

/* ---- private prototypes ---- */
static int demand_zero(struct nw_guest *g, struct nw_vcpu *v, struct gproc *p,
		       const struct gvma *vma, uint64_t va, int level_hint);
static int cow(struct nw_guest *g, struct nw_vcpu *v, struct gproc *p, const struct gvma *vma,
	       uint64_t va, const struct nw_pt_entry *e);
static int do_fault(struct nw_guest *g, struct nw_vcpu *v, uint64_t cr2, uint32_t error);

/* Map one page; -ENOMEM (tables) becomes the OOM path. */
static int map_page(struct nw_guest *g, struct gproc *p, uint64_t va, uint64_t pa, int level,
		    uint32_t prot, unsigned flags, struct nw_inval *inv)
{
	struct nw_attr attr = { .prot = prot };
	int rc = nw_pt_map(&p->pt, va, pa, NW_LEVEL_SIZE(level), &attr,
			   (unsigned)level | flags, inv);

	if (rc == -ENOMEM && !g->actx.err)
		return SEGV; /* the kernel pool is exhausted: counted in gmem_alloc */
	return rc;
}

static bool huge_ok(const struct nw_guest *g, const struct gvma *vma, uint64_t va)
{
	uint64_t base = va & ~(NW_GUEST_2M - 1);

	return g->cfg.huge && (vma->flags & NW_MAP_HUGE) && base >= vma->start &&
	       base + NW_GUEST_2M <= vma->end;
}

static int demand_zero(struct nw_guest *g, struct nw_vcpu *v, struct gproc *p,
		       const struct gvma *vma, uint64_t va, int level_hint)
{
	uint32_t prot = gpte_prot(vma->prot, true);
	uint64_t pa;
	int rc;

	/* level_hint: the lookup stopped above the PTEs, so no table is in the way. */
	if (level_hint >= NW_PAGE_2M && huge_ok(g, vma, va) &&
	    galloc_user(g, NW_PAGE_2M, &pa) == 0) {
		uint64_t base = va & ~(NW_GUEST_2M - 1);
		for (uint64_t off = 0; off < NW_GUEST_2M; off += NW_PAGE_SIZE) {
			rc = nw_vcpu_zero_page(v, g->dmap + pa + off, NW_ACC_READ);
			if (rc)
				goto fail_huge;
		}
		rc = map_page(g, p, base, pa, NW_PAGE_2M, prot, 0, NULL);
		if (rc == 0) {
			g->st.faults_demand++;
			return 0;
		}
fail_huge:
		for (uint64_t off = 0; off < NW_GUEST_2M; off += NW_PAGE_SIZE)
			gframes_put(&g->frames, pa + off);
		return rc < 0 ? rc : SEGV;
	}
	if (galloc_user(g, NW_PAGE_4K, &pa) < 0)
		return SEGV;
	rc = nw_vcpu_zero_page(v, g->dmap + pa, NW_ACC_READ);
	if (rc == 0)
		rc = map_page(g, p, va & NW_PAGE_MASK, pa, NW_PAGE_4K, prot, 0, NULL);
	if (rc) {
		gframes_put(&g->frames, pa);
		return rc < 0 ? rc : SEGV;
	}
	g->st.faults_demand++;
	return 0;
}

/*
 * Give the leaf at e the rights of its VMA in place. Linux leaves the stale
 * entries of such an upgrade to spurious faults; the model flushes them, so
 * that what the kernel does never depends on what a TLB happened to keep
 * (a CPU preset's geometry), and every mode runs the same guest.
 */
static int upgrade(struct nw_guest *g, struct nw_vcpu *v, struct gproc *p,
		   const struct gvma *vma, uint64_t va, const struct nw_pt_entry *e, bool writable)
{
	struct nw_attr attr = { .prot = gpte_prot(vma->prot, writable) };
	uint64_t size = NW_LEVEL_SIZE(e->level);
	struct nw_inval inv;
	int rc = nw_pt_protect(&p->pt, va & ~(size - 1), size, &attr, &inv);

	if (rc == 0)
		gflush(g, v, p, &inv, false);
	return rc;
}

static int cow(struct nw_guest *g, struct nw_vcpu *v, struct gproc *p, const struct gvma *vma,
	       uint64_t va, const struct nw_pt_entry *e)
{
	struct nw_pt_entry e4k = *e;
	struct nw_inval inv;
	uint64_t old, pa;
	int rc;

	if (e->level > NW_PAGE_4K) {
		uint64_t base = e->pa & ~(NW_LEVEL_SIZE(e->level) - 1);
		bool shared = false;
		for (uint64_t off = 0; off < NW_LEVEL_SIZE(e->level) && !shared; off += NW_PAGE_SIZE)
			shared = gframes_ref(&g->frames, base + off) > 1;
		if (!shared)
			return upgrade(g, v, p, vma, va, e, true);
		rc = nw_pt_split(&p->pt, va, &inv);
		if (rc == -ENOMEM && !g->actx.err)
			return SEGV;
		if (rc < 0)
			return rc;
		gflush(g, v, p, &inv, false);
		rc = nw_pt_lookup(&p->pt, va, &e4k);
		if (rc < 0)
			return rc;
		if (!e4k.present || e4k.level != NW_PAGE_4K)
			return SEGV;
	}
	old = e4k.pa & NW_PAGE_MASK;
	if (gframes_ref(&g->frames, old) <= 1)
		return upgrade(g, v, p, vma, va, &e4k, true);
	if (galloc_user(g, NW_PAGE_4K, &pa) < 0)
		return SEGV;
	rc = nw_vcpu_copy_page(v, g->dmap + pa, g->dmap + old, NW_ACC_READ);
	if (rc == 0)
		rc = map_page(g, p, va & NW_PAGE_MASK, pa, NW_PAGE_4K, gpte_prot(vma->prot, true),
			      NW_MAP_REPLACE, &inv);
	if (rc) {
		gframes_put(&g->frames, pa);
		return rc < 0 ? rc : SEGV;
	}
	/* Other vCPUs may still read the shared frame through the old entry. */
	gflush(g, v, p, &inv, false);
	gframes_put(&g->frames, old);
	g->st.faults_cow++;
	return 0;
}

static uint32_t needed_rights(uint32_t error)
{
	if (error & NW_PFEC_W)
		return NW_PROT_W;
	if (error & NW_PFEC_ID)
		return NW_PROT_X;
	return NW_PROT_RWX; /* a read is allowed by any right, as on Linux/x86 */
}

static int do_fault(struct nw_guest *g, struct nw_vcpu *v, uint64_t cr2, uint32_t error)
{
	struct gproc *p = gproc_current(g, v);
	struct nw_pt_entry e;
	const struct gvma *vma;
	int rc;

	/* The kernel never faults on its own accesses: that would be an oops. */
	if (!p || !(error & NW_PFEC_U) || (error & (NW_PFEC_RSVD | NW_PFEC_PK)))
		return SEGV;
	vma = gvma_find(&p->vmas, cr2);
	if (!vma || !(vma->prot & needed_rights(error)))
		return SEGV;
	rc = nw_pt_lookup(&p->pt, cr2 & NW_PAGE_MASK, &e);
	if (rc < 0)
		return SEGV;
	if (!e.present)
		return demand_zero(g, v, p, vma, cr2, e.level);
	if ((error & NW_PFEC_W) && !(e.attr.prot & NW_PROT_W))
		return cow(g, v, p, vma, cr2, &e);
	bool writable = (e.attr.prot & NW_PROT_W) != 0;
	uint32_t want = gpte_prot(vma->prot, writable);
	if ((e.attr.prot & want) == want)
		return 0; /* spurious: the #PF dropped the stale entry */
	/* Fewer rights than the VMA grants (mprotect never leaves it so). */
	return upgrade(g, v, p, vma, cr2, &e, writable);
}

int gfault_handler(void *guest, struct nw_vcpu *v, uint64_t cr2, uint32_t error)
{
	struct nw_guest *g = guest;
	struct nw_vcpu *prev = gptacc_use(g, v);
	int rc = do_fault(g, v, cr2, error);
	int err = gptacc_take_err(g);

	gptacc_use(g, prev);
	if (rc == 0 && !err)
		return 0;
	/* A stopped VM is reported by the vCPU itself; everything else is SIGSEGV. */
	if (!nw_vm_stopped(g->vm))
		g->st.faults_segv++;
	return 1;
}
