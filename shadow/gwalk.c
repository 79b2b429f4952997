/* SPDX-License-Identifier: MIT */
/*
 * The guest's side (KVM's paging_tmpl.h walker): guest memory through the
 * p2m, and the guest walk, which is nw_walk_x86 itself over a
 * guest-physical accessor, so the permission rules and the A/D policy are
 * the paging library's and exist once.
 */

#include <errno.h>
#include <string.h>

#include "shadow_internal.h"

int sh_gpa_to_hpa(struct nw_shadow *sh, uint64_t gpa, uint64_t *hpa)
{
	int rc = sh->cfg.ops.gpa_to_hpa(sh->cfg.ctx, gpa, hpa);

	if (rc < 0 && rc != -EFAULT && !sh->p2m_err)
		sh->p2m_err = rc;
	return rc;
}

/* No RAM behind a guest table: the read returns all ones, as a master abort
 * does, and the entry faults as reserved. */
static uint64_t g_read(void *ctx, uint64_t gpa)
{
	struct nw_shadow *sh = ctx;
	uint64_t hpa;

	if (sh_gpa_to_hpa(sh, gpa, &hpa) < 0)
		return ~0ull;
	return nw_acc_read(&sh->acc, hpa);
}

static void g_write(void *ctx, uint64_t gpa, uint64_t val)
{
	struct nw_shadow *sh = ctx;
	uint64_t hpa;

	if (sh_gpa_to_hpa(sh, gpa, &hpa) == 0)
		nw_acc_write(&sh->acc, hpa, val);
}

static bool g_cmpxchg(void *ctx, uint64_t gpa, uint64_t *old, uint64_t val)
{
	struct nw_shadow *sh = ctx;
	uint64_t hpa;

	if (sh_gpa_to_hpa(sh, gpa, &hpa) < 0) {
		*old = 0; /* gone: not present, so the A/D loop stops */
		return false;
	}
	return nw_acc_cmpxchg(&sh->acc, hpa, old, val);
}

static const struct nw_acc_ops g_ops = {
	.read = g_read,
	.write = g_write,
	.cmpxchg = g_cmpxchg,
};

void sh_gacc(struct nw_shadow *sh, struct nw_acc *out)
{
	*out = (struct nw_acc){ .ops = &g_ops, .ctx = sh };
}

uint64_t sh_guest_read(struct nw_shadow *sh, uint64_t gpa)
{
	return g_read(sh, gpa);
}

unsigned sh_error_to_access(uint64_t error)
{
	unsigned access = NW_ACC_READ;

	if (error & NW_PFEC_W)
		access |= NW_ACC_WRITE;
	if (error & NW_PFEC_U)
		access |= NW_ACC_USER;
	/* The hardware walk runs with NXE on (nw_shadow_hw_mode), so I/D is reported. */
	if (error & NW_PFEC_ID)
		access |= NW_ACC_FETCH;
	if (error & NW_SHADOW_PFEC_IMPLICIT)
		access |= NW_ACC_IMPLICIT;
	return access;
}

int sh_guest_walk(struct nw_shadow *sh, uint64_t gcr3, const struct nw_x86_mode *mode,
		  uint64_t gva, unsigned access, struct sh_gwalk *gw)
{
	const struct nw_fmt *g = &sh->gfmt;
	struct nw_acc gacc;
	uint32_t prot = SH_ALL_RIGHTS;
	int rc;

	sh_gacc(sh, &gacc);
	sh->p2m_err = 0;
	memset(gw, 0, sizeof(*gw));
	rc = nw_walk_x86(g, &gacc, gcr3, gva, access, mode, &gw->w);
	if (rc < 0)
		return rc;
	if (sh->p2m_err)
		return sh->p2m_err;
	if (gw->w.fault)
		return 0;
	/* The walk logs every entry it read, root first; fold in the A/D it set. */
	for (unsigned i = 0; i < gw->w.n_refs && gw->n < NW_MAX_LEVELS; i++) {
		uint64_t e = gw->w.refs[i].entry;
		for (unsigned j = 0; j < gw->w.n_ad; j++)
			if (gw->w.ad[j].pa == gw->w.refs[i].pa)
				e |= gw->w.ad[j].bits;
		gw->level[gw->n] = gw->w.refs[i].level;
		gw->gpte[gw->n] = e;
		gw->above[gw->n] = prot;
		prot &= g->prot(g, e, gw->level[gw->n]);
		gw->n++;
	}
	return 0;
}
