/* SPDX-License-Identifier: MIT */
/*
 * TLB invalidation after the kernel changes a process's tables, per the
 * struct nw_inval the engine reports, as Linux's flush_tlb_mm_range:
 *
 *  - up to FLUSH_CEILING pages of leaf changes: one INVLPG per page (which
 *    also drops all of the PCID's paging-structure caches);
 *  - more, or a non-leaf change (a table freed, a large page split): the
 *    whole address space, by reloading CR3, or INVPCID single-context when
 *    PCIDs are on;
 *  - every other vCPU in the process's mask gets a shootdown IPI and does
 *    the same there. Where the process is not the current one (it is only
 *    cached under its PCID), INVLPG would hit the wrong PCID, so the
 *    handler uses INVPCID: individual-address per page, or single-context,
 *    after which that vCPU caches nothing of the process and leaves the mask.
 *
 * Negative controls: NW_GUEST_BUG_SKIP_INVLPG skips the first local
 * invalidation instruction after an munmap or mprotect downgrade (an
 * INVLPG, or the one full flush when the range called for that);
 * NW_GUEST_BUG_SKIP_SHOOTDOWN skips the first shootdown IPI.
 */

#include "guest_internal.h"

/* Linux's tlb_single_page_flush_ceiling. */
#define FLUSH_CEILING 33

#define INVPCID_ADDR 0
#define INVPCID_SINGLE 1

struct shootdown {
	struct nw_guest *g;
	struct gproc *p;
	const struct nw_inval *inv;
};

/* ---- private prototypes ---- */
static void flush_on(struct nw_guest *g, struct nw_vcpu *d, struct gproc *p,
		     const struct nw_inval *inv, bool skip_one);
static void shootdown_ipi(struct nw_vcpu *dst, void *arg);

void ginval_merge(struct nw_inval *acc, const struct nw_inval *inv)
{
	if (inv->kind == NW_INVAL_NONE)
		return;
	if (acc->kind == NW_INVAL_NONE) {
		*acc = *inv;
		return;
	}
	if (inv->start < acc->start)
		acc->start = inv->start;
	if (inv->end - 1 > acc->end - 1) /* end 0 is the top of the address space */
		acc->end = inv->end;
	if (inv->kind > acc->kind)
		acc->kind = inv->kind;
}

static bool full_flush(const struct nw_inval *inv)
{
	return inv->kind == NW_INVAL_NONLEAF ||
	       (inv->end - inv->start) > FLUSH_CEILING * NW_PAGE_SIZE;
}

/* Invalidate p's translations in inv on vCPU d. skip_one: the bug. */
static void flush_on(struct nw_guest *g, struct nw_vcpu *d, struct gproc *p,
		     const struct nw_inval *inv, bool skip_one)
{
	bool current = gproc_current(g, d) == p;
	uint64_t va = inv->start & NW_PAGE_MASK;

	if (full_flush(inv)) {
		if (skip_one)
			return;
		if (!current) {
			nw_vcpu_invpcid(d, INVPCID_SINGLE, p->pcid, 0);
			p->cpus &= ~gvcpu_bit(d);
		} else if (g->cfg.pcid) {
			nw_vcpu_invpcid(d, INVPCID_SINGLE, p->pcid, 0);
		} else {
			nw_vcpu_mov_cr3(d, nw_vcpu_cr3(d));
		}
		return;
	}
	for (; va - inv->start < inv->end - inv->start; va += NW_PAGE_SIZE) {
		if (skip_one) {
			skip_one = false;
			continue;
		}
		if (current)
			nw_vcpu_invlpg(d, va);
		else
			nw_vcpu_invpcid(d, INVPCID_ADDR, p->pcid, va);
	}
}

static void shootdown_ipi(struct nw_vcpu *dst, void *arg)
{
	struct shootdown *sd = arg;

	flush_on(sd->g, dst, sd->p, sd->inv, false);
}

void gflush(struct nw_guest *g, struct nw_vcpu *v, struct gproc *p, const struct nw_inval *inv,
	    bool bug_site)
{
	struct shootdown sd = { g, p, inv };
	uint64_t self = gvcpu_bit(v);

	if (inv->kind == NW_INVAL_NONE)
		return;
	if (p->cpus & self) {
		bool skip = bug_site && (g->bugs_left & NW_GUEST_BUG_SKIP_INVLPG);
		if (skip)
			g->bugs_left &= ~NW_GUEST_BUG_SKIP_INVLPG;
		flush_on(g, v, p, inv, skip);
	}
	for (unsigned i = 0; i < g->nvcpus; i++) {
		if (!(p->cpus & ~self & (1ull << i)))
			continue;
		if (g->bugs_left & NW_GUEST_BUG_SKIP_SHOOTDOWN) {
			g->bugs_left &= ~NW_GUEST_BUG_SKIP_SHOOTDOWN;
			continue;
		}
		g->st.shootdowns++;
		nw_vcpu_ipi(v, i, shootdown_ipi, &sd);
	}
}
