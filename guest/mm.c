/* SPDX-License-Identifier: MIT */
/*
 * The memory system calls of the current process: mmap, munmap, mprotect
 * and brk, and its user-mode loads and stores.
 *
 * Mappings are anonymous and private and are populated lazily by the fault
 * handler. Each call that changes present translations invalidates them
 * (gflush) before the frames they named go back to the allocator, as
 * Linux's mmu_gather frees pages only after the TLB flush, so a stale
 * translation can never reach a frame that has a new owner.
 */

#include <errno.h>
#include <stdlib.h>

#include "guest_internal.h"

/* ---- private prototypes ---- */
struct frame_list {
	uint64_t *v;
	size_t n, cap;
};
static int frames_collect(struct nw_guest *g, struct gproc *p, uint64_t s, uint64_t e,
			  struct frame_list *out);
static bool user_range(const struct nw_guest *g, uint64_t addr, uint64_t len, uint64_t *end);
static int enter(struct nw_guest *g, struct nw_vcpu *v, struct gproc **p,
		 struct nw_vcpu **prev);
static int leave(struct nw_guest *g, struct nw_vcpu *prev, int rc);

static int frame_push(struct frame_list *l, uint64_t gpa)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		uint64_t *v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = gpa;
	return 0;
}

/* The user frames mapped in [s, e): parts of large pages count frame by frame. */
static int frames_collect(struct nw_guest *g, struct gproc *p, uint64_t s, uint64_t e,
			  struct frame_list *out)
{
	struct nw_pt_iter it;

	*out = (struct frame_list){ 0 };
	nw_pt_for_each(&it, &p->pt, s, e) {
		if (!it.leaf)
			continue;
		uint64_t size = NW_LEVEL_SIZE(it.level);
		uint64_t lo = it.va > s ? it.va : s;
		uint64_t hi = it.va + size < e ? it.va + size : e;
		uint64_t pa = g->fmt.addr(&g->fmt, it.entry, it.level);
		for (uint64_t va = lo; va < hi; va += NW_PAGE_SIZE)
			if (frame_push(out, pa + (va - it.va)) < 0) {
				free(out->v);
				return -ENOMEM;
			}
	}
	return 0;
}

void gmm_put_all(struct nw_guest *g, struct gproc *p)
{
	struct nw_pt_iter it;

	nw_pt_for_each(&it, &p->pt, 0, g->user_top) {
		if (!it.leaf)
			continue;
		uint64_t pa = g->fmt.addr(&g->fmt, it.entry, it.level);
		for (uint64_t off = 0; off < NW_LEVEL_SIZE(it.level); off += NW_PAGE_SIZE)
			gframes_put(&g->frames, pa + off);
	}
}

int gmm_unmap(struct nw_guest *g, struct nw_vcpu *v, struct gproc *p, uint64_t s, uint64_t e,
	      bool bug_site)
{
	struct frame_list fl;
	struct nw_inval inv;
	int rc;

	if (gvma_reserve(&p->vmas, 1) < 0)
		return -ENOMEM;
	rc = frames_collect(g, p, s, e, &fl);
	if (rc < 0)
		return rc;
	rc = nw_pt_unmap(&p->pt, s, e - s, &inv);
	if (rc == 0) {
		gflush(g, v, p, &inv, bug_site);
		for (size_t i = 0; i < fl.n; i++)
			gframes_put(&g->frames, fl.v[i]);
		gvma_remove(&p->vmas, s, e);
	}
	free(fl.v);
	return rc;
}

static bool user_range(const struct nw_guest *g, uint64_t addr, uint64_t len, uint64_t *end)
{
	if (!len || (addr & ~NW_PAGE_MASK) || len > g->user_top)
		return false;
	uint64_t e = addr + ((len + NW_PAGE_SIZE - 1) & NW_PAGE_MASK);
	if (e > g->user_top || e <= addr)
		return false;
	*end = e;
	return true;
}

/* Every call runs on v's current process, with v making the table accesses. */
static int enter(struct nw_guest *g, struct nw_vcpu *v, struct gproc **p,
		 struct nw_vcpu **prev)
{
	int stopped = nw_vm_stopped(g->vm);

	if (stopped)
		return stopped;
	*p = gproc_current(g, v);
	if (!*p)
		return -ESRCH;
	*prev = gptacc_use(g, v);
	return 0;
}

static int leave(struct nw_guest *g, struct nw_vcpu *prev, int rc)
{
	int err = gptacc_take_err(g);

	gptacc_use(g, prev);
	if (nw_vm_stopped(g->vm))
		return nw_vm_stopped(g->vm);
	return err ? err : rc;
}

int nw_guest_mmap(struct nw_guest *g, struct nw_vcpu *v, uint64_t len, uint32_t prot,
		  unsigned flags, uint64_t *addr)
{
	struct gproc *p;
	struct nw_vcpu *prev;
	uint64_t align = NW_PAGE_SIZE, at;
	int rc;

	if (!len || (prot & ~NW_PROT_RWX) || (flags & ~NW_MAP_HUGE) || len > g->user_top)
		return -EINVAL;
	len = (len + NW_PAGE_SIZE - 1) & NW_PAGE_MASK;
	/* The heuristic overcommit check: no more than all of user memory at once. */
	if ((len >> NW_PAGE_SHIFT) > gframes_pool_frames(&g->frames, GPOOL_USER)) {
		g->st.oom++;
		return -ENOMEM;
	}
	if (!g->cfg.huge)
		flags &= ~NW_MAP_HUGE;
	if (flags & NW_MAP_HUGE)
		align = NW_GUEST_2M;
	rc = enter(g, v, &p, &prev);
	if (rc)
		return rc;
	rc = gvma_reserve(&p->vmas, 1);
	if (rc == 0)
		rc = gvma_find_free(&p->vmas, len, align, NW_GUEST_MMAP_BASE, g->user_top, &at);
	if (rc == 0) {
		gvma_insert(&p->vmas, at, at + len, prot, flags);
		*addr = at;
	}
	return leave(g, prev, rc);
}

int nw_guest_munmap(struct nw_guest *g, struct nw_vcpu *v, uint64_t addr, uint64_t len)
{
	struct gproc *p;
	struct nw_vcpu *prev;
	uint64_t end;
	int rc;

	if (!user_range(g, addr, len, &end))
		return -EINVAL;
	rc = enter(g, v, &p, &prev);
	if (rc)
		return rc;
	rc = gmm_unmap(g, v, p, addr, end, true);
	return leave(g, prev, rc);
}

/* Split any large leaf that straddles va, so that a protect of a range
 * starting or ending there changes whole leaves only. */
static int split_at(struct gproc *p, uint64_t va, struct nw_inval *acc)
{
	struct nw_pt_entry e;
	struct nw_inval inv;

	while (nw_pt_lookup(&p->pt, va, &e) == 0 && e.present && e.level > 1 &&
	       (va & (NW_LEVEL_SIZE(e.level) - 1))) {
		int rc = nw_pt_split(&p->pt, va, &inv);
		if (rc < 0)
			return rc;
		ginval_merge(acc, &inv);
	}
	return 0;
}

struct prot_run {
	uint64_t start, end;
	bool writable;
};

int nw_guest_mprotect(struct nw_guest *g, struct nw_vcpu *v, uint64_t addr, uint64_t len,
		      uint32_t prot)
{
	struct gproc *p;
	struct nw_vcpu *prev;
	struct nw_inval inv = { 0 };
	struct prot_run *runs = NULL;
	struct nw_pt_iter it;
	size_t nruns = 0, cap = 0;
	uint32_t old_or;
	uint64_t end;
	int rc;

	if (!user_range(g, addr, len, &end) || (prot & ~NW_PROT_RWX))
		return -EINVAL;
	rc = enter(g, v, &p, &prev);
	if (rc)
		return rc;
	if (!gvma_covers(&p->vmas, addr, end, &old_or)) {
		rc = -ENOMEM; /* as Linux: part of the range is not mapped */
		goto out;
	}
	rc = gvma_reserve(&p->vmas, 2);
	if (rc == 0)
		rc = split_at(p, addr, &inv);
	if (rc == 0)
		rc = split_at(p, end, &inv);
	if (rc < 0)
		goto flush;

	/*
	 * Write permission is never granted here: a page that is read-only in
	 * the tables may be shared copy-on-write, so it gets W from the fault
	 * handler, which knows. Leaves that are writable stay so if allowed.
	 */
	nw_pt_for_each(&it, &p->pt, addr, end) {
		if (!it.leaf)
			continue;
		bool w = (g->fmt.prot(&g->fmt, it.entry, it.level) & NW_PROT_W) != 0;
		uint64_t s = it.va < addr ? addr : it.va;
		uint64_t e = it.va + NW_LEVEL_SIZE(it.level);
		if (e > end)
			e = end;
		if (nruns && runs[nruns - 1].writable == w) {
			runs[nruns - 1].end = e;
			continue;
		}
		if (nruns == cap) {
			cap = cap ? cap * 2 : 16;
			struct prot_run *r = realloc(runs, cap * sizeof(*r));
			if (!r) {
				rc = -ENOMEM;
				goto flush;
			}
			runs = r;
		}
		runs[nruns++] = (struct prot_run){ s, e, w };
	}
	for (size_t i = 0; i < nruns && rc == 0; i++) {
		struct nw_attr attr = { .prot = gpte_prot(prot, runs[i].writable) };
		struct nw_inval one;
		rc = nw_pt_protect(&p->pt, runs[i].start, runs[i].end - runs[i].start, &attr, &one);
		if (rc == 0)
			ginval_merge(&inv, &one);
	}
	if (rc == 0)
		gvma_set_prot(&p->vmas, addr, end, prot);
flush:
	/* Upgrades are flushed too (fault.c says why); downgrades are where
	 * NW_GUEST_BUG_SKIP_INVLPG strikes. */
	gflush(g, v, p, &inv, (old_or & ~prot) != 0);
out:
	free(runs);
	return leave(g, prev, rc);
}

int nw_guest_brk(struct nw_guest *g, struct nw_vcpu *v, uint64_t new_end, uint64_t *end)
{
	struct gproc *p;
	struct nw_vcpu *prev;
	int rc = enter(g, v, &p, &prev);

	if (rc)
		return rc;
	if (new_end == 0) {
		*end = p->brk;
		return leave(g, prev, 0);
	}
	uint64_t old_top = (p->brk + NW_PAGE_SIZE - 1) & NW_PAGE_MASK;
	uint64_t new_top = (new_end + NW_PAGE_SIZE - 1) & NW_PAGE_MASK;
	if (new_end < NW_GUEST_BRK_BASE || new_top > NW_GUEST_MMAP_BASE) {
		rc = -EINVAL;
	} else if (new_top > old_top) {
		if (gvma_overlaps(&p->vmas, old_top, new_top))
			rc = -ENOMEM;
		else if ((rc = gvma_reserve(&p->vmas, 1)) == 0)
			gvma_insert(&p->vmas, old_top, new_top, NW_PROT_RW, 0);
	} else if (new_top < old_top) {
		rc = gmm_unmap(g, v, p, new_top, old_top, false);
	}
	if (rc == 0)
		p->brk = new_end;
	*end = p->brk;
	return leave(g, prev, rc);
}

int nw_guest_load(struct nw_guest *g, struct nw_vcpu *v, uint64_t gva, uint64_t *val)
{
	return nw_vcpu_access(v, gva, NW_ACC_USER, val);
}

int nw_guest_store(struct nw_guest *g, struct nw_vcpu *v, uint64_t gva, uint64_t val)
{
	return nw_vcpu_access(v, gva, NW_ACC_USER | NW_ACC_WRITE, &val);
}
