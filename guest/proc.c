/* SPDX-License-Identifier: MIT */
/*
 * Processes: a pid, page tables whose root shares the kernel half, VMAs,
 * a PCID, and the vCPUs that may cache its translations; and the context
 * switch.
 *
 * `cpus` is the shootdown mask. Without PCIDs, a MOV to CR3 drops a
 * process's translations, so a vCPU leaves the mask when it switches away.
 * With PCIDs the switch keeps them (CR3 bit 63), so a vCPU stays in the
 * mask until a flush of the whole PCID; a switch to a process keeps the
 * TLB only when the vCPU is still in its mask. That also covers PCID
 * reuse: a new owner of a PCID is in no vCPU's mask yet, so its first run
 * on each vCPU flushes whatever the previous owner left.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "guest_internal.h"

#define CR3_NOFLUSH (1ull << 63)

/* ---- private prototypes ---- */
static uint16_t pcid_alloc(struct nw_guest *g);
static void pcid_free(struct nw_guest *g, uint16_t pcid);
static int procs_add(struct nw_guest *g, struct gproc *p);

uint32_t gpte_prot(uint32_t vma_prot, bool writable)
{
	if (!(vma_prot & NW_PROT_RWX))
		return NW_PROT_R;
	uint32_t prot = NW_PROT_R | NW_PROT_U | (vma_prot & NW_PROT_X);
	if (writable && (vma_prot & NW_PROT_W))
		prot |= NW_PROT_W;
	return prot;
}

int galloc_user(struct nw_guest *g, int level, uint64_t *gpa)
{
	if (gframes_alloc(&g->frames, GPOOL_USER, level, gpa) == 0)
		return 0;
	/* A 2 MiB page that cannot be had falls back to 4 KiB: not OOM. */
	if (level == NW_PAGE_4K)
		g->st.oom++;
	return -ENOMEM;
}

static uint16_t pcid_alloc(struct nw_guest *g)
{
	if (!g->cfg.pcid)
		return 0;
	for (unsigned n = 0; n < NW_GUEST_MAX_PCID; n++) {
		unsigned pcid = 1 + (g->pcid_next + n) % NW_GUEST_MAX_PCID;
		if (!(g->pcid_used[pcid / 64] & (1ull << (pcid % 64)))) {
			g->pcid_used[pcid / 64] |= 1ull << (pcid % 64);
			g->pcid_next = pcid % NW_GUEST_MAX_PCID;
			return (uint16_t)pcid;
		}
	}
	return 0; /* all in use: run untagged, flushing at every switch */
}

static void pcid_free(struct nw_guest *g, uint16_t pcid)
{
	if (pcid)
		g->pcid_used[pcid / 64] &= ~(1ull << (pcid % 64));
}

struct gproc *gproc_get(const struct nw_guest *g, int pid)
{
	return pid > 0 && (size_t)pid < g->nprocs ? g->procs[pid] : NULL;
}

static int procs_add(struct nw_guest *g, struct gproc *p)
{
	if (g->nprocs == g->capprocs) {
		size_t cap = g->capprocs ? g->capprocs * 2 : 64;
		struct gproc **v = realloc(g->procs, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		memset(v + g->capprocs, 0, (cap - g->capprocs) * sizeof(*v));
		g->procs = v;
		g->capprocs = cap;
	}
	if (g->nprocs == 0)
		g->nprocs = 1; /* pid 0 is nobody */
	p->pid = (int)g->nprocs;
	g->procs[g->nprocs++] = p;
	return 0;
}

int gproc_new(struct nw_guest *g, struct nw_vcpu *v, struct gproc **out)
{
	struct gproc *p = calloc(1, sizeof(*p));
	struct nw_pt_cfg cfg = {
		.fmt = &g->fmt, .mem = &g->mem.mem, .acc = &g->acc, .levels = g->cfg.levels,
		.linear = true,
	};
	int rc;

	if (!p)
		return -ENOMEM;
	if (gvma_reserve(&p->vmas, 4) < 0 || procs_add(g, p) < 0) {
		gvma_fini(&p->vmas);
		free(p);
		return -ENOMEM;
	}
	struct nw_vcpu *prev = gptacc_use(g, v);
	rc = nw_pt_init(&p->pt, &cfg);
	/* pgd_alloc: the kernel half is the kernel's own, shared by all. */
	for (unsigned i = NW_ENTRIES_PER_TABLE / 2; rc == 0 && i < NW_ENTRIES_PER_TABLE; i++)
		if (g->kentry[i])
			nw_acc_write(&g->acc, p->pt.root + 8ull * i, g->kentry[i]);
	int err = gptacc_take_err(g);
	gptacc_use(g, prev);
	if (rc == 0 && err)
		rc = err;
	if (rc < 0) {
		g->procs[p->pid] = NULL;
		gvma_fini(&p->vmas);
		free(p);
		return rc;
	}
	p->pcid = pcid_alloc(g);
	p->brk = NW_GUEST_BRK_BASE;
	*out = p;
	return 0;
}

void gproc_free(struct nw_guest *g, struct nw_vcpu *v, struct gproc *p)
{
	if (!nw_vm_stopped(g->vm)) {
		struct nw_vcpu *prev = gptacc_use(g, v);
		gmm_put_all(g, p);
		/* The kernel half is not the process's to free. */
		for (unsigned i = NW_ENTRIES_PER_TABLE / 2; i < NW_ENTRIES_PER_TABLE; i++)
			if (g->kentry[i])
				nw_acc_write(&g->acc, p->pt.root + 8ull * i, 0);
		nw_pt_destroy(&p->pt);
		gptacc_take_err(g);
		gptacc_use(g, prev);
	}
	pcid_free(g, p->pcid);
	g->procs[p->pid] = NULL;
	gvma_fini(&p->vmas);
	free(p);
}

int gproc_switch_kernel(struct nw_guest *g, struct nw_vcpu *v)
{
	struct gproc *old = gproc_current(g, v);
	int rc = nw_vcpu_mov_cr3(v, g->kpt.root);

	if (rc < 0)
		return rc;
	if (old) {
		old->running &= ~gvcpu_bit(v);
		if (!old->pcid)
			old->cpus &= ~gvcpu_bit(v);
	}
	g->cur[nw_vcpu_id(v)] = NULL;
	return 0;
}

int nw_guest_switch(struct nw_guest *g, struct nw_vcpu *v, int pid)
{
	struct gproc *p = gproc_get(g, pid), *old = gproc_current(g, v);
	uint64_t bit = gvcpu_bit(v), cr3;
	int rc;

	if (!p)
		return -ESRCH;
	if (old == p)
		return 0;
	cr3 = p->pt.root;
	if (g->cfg.pcid) {
		cr3 |= p->pcid;
		if (p->pcid && (p->cpus & bit))
			cr3 |= CR3_NOFLUSH;
	}
	rc = nw_vcpu_mov_cr3(v, cr3);
	if (rc < 0)
		return rc;
	if (old) {
		old->running &= ~bit;
		if (!old->pcid)
			old->cpus &= ~bit;
	}
	p->running |= bit;
	p->cpus |= bit;
	g->cur[nw_vcpu_id(v)] = p;
	g->st.switches++;
	return 0;
}

int nw_guest_current(const struct nw_guest *g, const struct nw_vcpu *v)
{
	const struct gproc *p = gproc_current(g, v);

	return p ? p->pid : -ESRCH;
}

int nw_guest_spawn(struct nw_guest *g, struct nw_vcpu *v, int *pid)
{
	struct gproc *p;
	int rc = gproc_new(g, v, &p);

	if (rc < 0)
		return rc;
	*pid = p->pid;
	return 0;
}
