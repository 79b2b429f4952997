/* SPDX-License-Identifier: MIT */
/*
 * fork with copy-on-write, and exit.
 *
 * fork copies the parent's VMAs and, leaf by leaf, its translations: every
 * writable leaf of the parent is write-protected, the child maps the same
 * frames read-only, and each frame gains a reference. The first write on
 * either side then takes a copy-on-write fault (fault.c). The parent's
 * downgraded translations are flushed everywhere it may be cached before
 * fork returns, since until then another vCPU could still write the
 * now-shared frame through a stale writable entry.
 */

#include <errno.h>
#include <stdlib.h>

#include "guest_internal.h"

/* One run of parent leaves: contiguous in VA and PA, one level, one right set. */
struct leaf_run {
	uint64_t va, pa, len;
	int level;
	uint32_t prot;
};

struct leaf_list {
	struct leaf_run *v;
	size_t n, cap;
};

/* ---- private prototypes ---- */
static int collect(struct nw_guest *g, struct gproc *p, struct leaf_list *l);
static int copy_tables(struct nw_guest *g, struct gproc *p, struct gproc *c,
		       const struct leaf_list *l, struct nw_inval *inv);

static int collect(struct nw_guest *g, struct gproc *p, struct leaf_list *l)
{
	struct nw_pt_iter it;

	*l = (struct leaf_list){ 0 };
	nw_pt_for_each(&it, &p->pt, 0, g->user_top) {
		if (!it.leaf)
			continue;
		uint64_t size = NW_LEVEL_SIZE(it.level);
		uint64_t pa = g->fmt.addr(&g->fmt, it.entry, it.level);
		uint32_t prot = g->fmt.prot(&g->fmt, it.entry, it.level);
		struct leaf_run *last = l->n ? &l->v[l->n - 1] : NULL;
		if (last && last->level == it.level && last->prot == prot &&
		    last->va + last->len == it.va && last->pa + last->len == pa) {
			last->len += size;
			continue;
		}
		if (l->n == l->cap) {
			size_t cap = l->cap ? l->cap * 2 : 64;
			struct leaf_run *v = realloc(l->v, cap * sizeof(*v));
			if (!v) {
				free(l->v);
				return -ENOMEM;
			}
			l->v = v;
			l->cap = cap;
		}
		l->v[l->n++] = (struct leaf_run){ it.va, pa, size, it.level, prot };
	}
	return 0;
}

/* Write-protect the parent and map the child; inv gathers the parent's changes. */
static int copy_tables(struct nw_guest *g, struct gproc *p, struct gproc *c,
		       const struct leaf_list *l, struct nw_inval *inv)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct leaf_run *r = &l->v[i];
		struct nw_attr ro = { .prot = r->prot & ~NW_PROT_W };
		struct nw_inval one;
		int rc;

		if (r->prot & NW_PROT_W) {
			/* Whole leaves of one level: no split, so this cannot fail. */
			rc = nw_pt_protect(&p->pt, r->va, r->len, &ro, &one);
			if (rc < 0)
				return rc;
			ginval_merge(inv, &one);
		}
		rc = nw_pt_map(&c->pt, r->va, r->pa, r->len, &ro, (unsigned)r->level, NULL);
		if (rc < 0)
			return rc;
		for (uint64_t off = 0; off < r->len; off += NW_PAGE_SIZE)
			gframes_get(&g->frames, r->pa + off);
	}
	return 0;
}

int nw_guest_fork(struct nw_guest *g, struct nw_vcpu *v, int *child)
{
	struct gproc *p = gproc_current(g, v), *c;
	struct nw_inval inv = { 0 };
	struct leaf_list l;
	struct nw_vcpu *prev;
	int rc = nw_vm_stopped(g->vm);

	if (rc)
		return rc;
	if (!p)
		return -ESRCH;
	rc = gproc_new(g, v, &c);
	if (rc < 0)
		return rc;
	c->brk = p->brk;
	if (gvma_copy(&c->vmas, &p->vmas) < 0) {
		gproc_free(g, v, c);
		return -ENOMEM;
	}
	prev = gptacc_use(g, v);
	rc = collect(g, p, &l);
	if (rc == 0) {
		rc = copy_tables(g, p, c, &l, &inv);
		free(l.v);
	}
	/* The parent is write-protected even if the child failed: that is
	 * only copy-on-write of pages nobody shares, which the fault undoes. */
	gflush(g, v, p, &inv, false);
	int err = gptacc_take_err(g);
	gptacc_use(g, prev);
	if (err)
		rc = err;
	if (rc < 0) {
		gproc_free(g, v, c);
		return nw_vm_stopped(g->vm) ? nw_vm_stopped(g->vm) : rc;
	}
	g->st.forks++;
	*child = c->pid;
	return 0;
}

static void to_kernel_ipi(struct nw_vcpu *dst, void *arg)
{
	gproc_switch_kernel(arg, dst);
}

int nw_guest_exit(struct nw_guest *g, struct nw_vcpu *v)
{
	struct gproc *p = gproc_current(g, v);

	if (!p)
		return -ESRCH;
	/* Every vCPU that runs it (its threads) goes idle on the kernel's tables. */
	gproc_switch_kernel(g, v);
	for (unsigned i = 0; i < g->nvcpus; i++)
		if (p->running & (1ull << i))
			nw_vcpu_ipi(v, i, to_kernel_ipi, g);
	/*
	 * With PCIDs, translations tagged with its PCID may stay cached; they
	 * are unreachable until the PCID has a new owner, whose first switch
	 * on each vCPU flushes it (proc.c).
	 */
	gproc_free(g, v, p);
	g->st.exits++;
	return nw_vm_stopped(g->vm);
}
