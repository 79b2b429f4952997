/* SPDX-License-Identifier: MIT */
/*
 * Boot: the kernel's own tables, a direct map of all guest RAM at a fixed
 * kernel base in the largest pages alignment allows (global, supervisor,
 * no-execute), built with physical stores on vCPU 0 while paging is off.
 * Then every vCPU turns paging on (CR0.WP, EFER.NXE, LA57 with 5 levels,
 * CR4.PCIDE per cfg) on the kernel's tables. From here on every table
 * access is a vCPU access through the direct map (ptacc.c).
 *
 * Guest-physical layout:
 *   [0, kernel_pool)   kernel: page tables (frame 0 is never handed out)
 *   [kernel_pool, ram) user pages
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "guest_internal.h"

static const struct nw_guest_ops guest_ops = {
	.page_fault = gfault_handler,
};

void nw_guest_cfg_default(struct nw_guest_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->levels = 4;
	cfg->kernel_pool = 0; /* chosen at boot from the RAM size */
}

/* 1/16 of RAM for tables, at least 4 MiB and at most half, 2 MiB aligned;
 * with translation-only data, everything below data_gpa. */
static int kernel_pool_size(const struct nw_vm_cfg *vc, uint64_t want, uint64_t *out)
{
	uint64_t kp = want;

	if (!kp && vc->translation_only)
		kp = vc->data_gpa;
	if (!kp) {
		kp = vc->ram / 16;
		if (kp < (4ull << 20))
			kp = 4ull << 20;
		if (kp > vc->ram / 2)
			kp = vc->ram / 2;
	}
	kp = (kp + NW_GUEST_2M - 1) & ~(NW_GUEST_2M - 1);
	if (kp < NW_GUEST_2M || kp >= vc->ram)
		return -EINVAL;
	/* Tables in the shared data frame would alias each other. */
	if (vc->translation_only && kp > vc->data_gpa)
		return -EINVAL;
	*out = kp;
	return 0;
}

static int build_kernel(struct nw_guest *g, struct nw_vcpu *v0)
{
	struct nw_pt_cfg cfg = {
		.fmt = &g->fmt, .mem = &g->mem.mem, .acc = &g->acc, .levels = g->cfg.levels,
		.linear = true,
	};
	struct nw_attr dm = { .prot = NW_PROT_RW, .global = true };
	uint64_t zero;
	int rc;

	gptacc_use(g, v0);
	g->actx.phys = true;
	/* Frame 0 is never a table or a user page. */
	rc = gframes_alloc(&g->frames, GPOOL_KERNEL, NW_PAGE_4K, &zero);
	if (rc == 0)
		rc = nw_pt_init(&g->kpt, &cfg);
	if (rc == 0)
		rc = nw_pt_map(&g->kpt, g->dmap, 0, g->ram, &dm, NW_MAP_MAX_1G, NULL);
	int err = gptacc_take_err(g);
	if (err)
		rc = err;
	if (rc < 0)
		return rc;
	for (unsigned i = NW_ENTRIES_PER_TABLE / 2; i < NW_ENTRIES_PER_TABLE; i++)
		g->kentry[i] = nw_acc_read(&g->acc, g->kpt.root + 8ull * i);
	g->actx.phys = false;
	return gptacc_take_err(g);
}

int nw_guest_boot(struct nw_vm *vm, const struct nw_guest_cfg *cfg, struct nw_guest **out)
{
	const struct nw_vm_cfg *vc = nw_vm_config(vm);
	struct nw_vcpu *v0 = nw_vm_vcpu(vm, 0);
	unsigned maxphy = vc->cpu.tlb.maxphyaddr ? vc->cpu.tlb.maxphyaddr : 46;
	uint64_t kpool;
	struct nw_guest *g;
	int rc;

	if (!cfg || (cfg->levels != 4 && cfg->levels != 5) ||
	    (cfg->bugs & ~(NW_GUEST_BUG_SKIP_INVLPG | NW_GUEST_BUG_SKIP_SHOOTDOWN)))
		return -EINVAL;
	rc = kernel_pool_size(vc, cfg->kernel_pool, &kpool);
	if (rc < 0)
		return rc;
	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->vm = vm;
	g->cfg = *cfg;
	g->cfg.kernel_pool = kpool;
	g->nvcpus = nw_vm_vcpus(vm);
	g->ram = vc->ram;
	g->dmap = cfg->levels == 5 ? NW_GUEST_DMAP_5L : NW_GUEST_DMAP_4L;
	g->user_top = nw_pt_span(cfg->levels) / 2;
	g->bugs_left = cfg->bugs;
	g->mode = (struct nw_x86_mode){ .levels = cfg->levels, .wp = true, .nxe = true };
	rc = nw_fmt_x86_init(&g->fmt, maxphy, 0);
	if (rc == 0)
		rc = gframes_init(&g->frames, g->ram, kpool, &g->st.frames_used);
	if (rc < 0) {
		free(g);
		return rc;
	}
	gptacc_init(g);
	rc = build_kernel(g, v0);
	if (rc < 0)
		goto fail;
	for (unsigned i = 0; i < g->nvcpus; i++) {
		struct nw_vcpu *v = nw_vm_vcpu(vm, i);
		nw_vcpu_set_guest(v, &guest_ops, g);
		nw_vcpu_set_paging(v, &g->mode, cfg->pcid);
		rc = nw_vcpu_mov_cr3(v, g->kpt.root);
		if (rc < 0)
			goto fail;
	}
	*out = g;
	return 0;
fail:
	nw_guest_destroy(g);
	return nw_vm_stopped(vm) ? nw_vm_stopped(vm) : rc;
}

void nw_guest_destroy(struct nw_guest *g)
{
	if (!g)
		return;
	for (unsigned i = 0; i < g->nvcpus; i++) {
		struct nw_vcpu *v = nw_vm_vcpu(g->vm, i);
		if (v)
			nw_vcpu_set_guest(v, NULL, NULL);
	}
	/* Guest memory goes with the VM; only the kernel's host-side records go here. */
	for (size_t pid = 0; pid < g->nprocs; pid++)
		if (g->procs[pid]) {
			gvma_fini(&g->procs[pid]->vmas);
			free(g->procs[pid]);
		}
	free(g->procs);
	gframes_fini(&g->frames);
	free(g);
}
