/* SPDX-License-Identifier: MIT */
/*
 * Roots and the previous-roots cache (KVM's kvm_mmu_new_pgd and
 * prev_roots): each vCPU has a current root and keeps the last few, so a
 * guest that switches among a few address spaces finds their shadow trees
 * whole when it comes back.
 *
 * A root that leaves the cache is freed when nothing else links it, and
 * its tree below stays cached as orphans. (KVM keeps a valid root page in
 * its hash after eviction; here the cache alone keeps roots, which is what
 * makes its effect measurable.)
 */

#include <errno.h>

#include "shadow_internal.h"

void sh_root_put(struct nw_shadow *sh, struct sh_page *sp)
{
	if (--sp->root_count == 0 && !sp->nparents)
		sh_page_zap(sh, sp);
}

/* The current root steps back into the cache, which may push its oldest out. */
static void push_prev(struct nw_shadow *sh, struct sh_vcpu *v, struct sh_page *old)
{
	unsigned keep = sh->cfg.root_cache;

	if (!old)
		return;
	if (!keep) {
		sh_root_put(sh, old);
		return;
	}
	if (v->nprev == keep)
		sh_root_put(sh, v->prev[--v->nprev]);
	for (unsigned i = v->nprev; i > 0; i--)
		v->prev[i] = v->prev[i - 1];
	v->prev[0] = old;
	v->nprev++;
}

static struct sh_page *take_prev(struct sh_vcpu *v, uint64_t gfn, uint64_t role)
{
	for (unsigned i = 0; i < v->nprev; i++) {
		struct sh_page *sp = v->prev[i];
		if (sp->gfn != gfn || sp->role != role)
			continue;
		for (unsigned j = i; j + 1 < v->nprev; j++)
			v->prev[j] = v->prev[j + 1];
		v->nprev--;
		return sp;
	}
	return NULL;
}

int nw_shadow_load_cr3(struct nw_shadow *sh, unsigned vcpu, uint64_t cr3,
		       const struct nw_x86_mode *mode, uint64_t *scr3)
{
	struct sh_vcpu *v;
	struct sh_page *sp;
	uint64_t gfn = (cr3 & NW_PTE_ADDR_MASK) >> NW_PAGE_SHIFT;
	uint64_t role;
	int rc;

	if (vcpu >= sh->cfg.vcpus || !mode || !scr3 || (mode->levels != 4 && mode->levels != 5))
		return -EINVAL;
	v = &sh->vcpus[vcpu];
	role = sh_role(sh_role_mode(mode), mode->levels, SH_ALL_RIGHTS);
	rc = sh_topup(sh, 1);
	if (rc < 0)
		return sh_finish(sh, rc);
	/* A flushing CR3 load is an invalidation: unsync tables catch up. */
	if (!(cr3 & (1ull << 63)))
		sh_sync_all(sh);
	if (v->root && v->root->gfn == gfn && v->root->role == role) {
		sh->st.root_hits++;
	} else if ((sp = take_prev(v, gfn, role))) {
		sh->st.root_hits++;
		push_prev(sh, v, v->root);
		v->root = sp;
	} else {
		rc = sh_page_get(sh, gfn, role, &sp);
		if (rc < 0)
			return sh_finish(sh, rc);
		sh->st.root_misses++;
		sp->root_count++;
		push_prev(sh, v, v->root);
		v->root = sp;
	}
	v->mode = *mode;
	v->gcr3 = gfn << NW_PAGE_SHIFT;
	*scr3 = v->root->hpa;
	return sh_finish(sh, 0);
}
