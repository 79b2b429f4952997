/* SPDX-License-Identifier: MIT */
/*
 * A fault of the hardware walk of the shadow tables (KVM's
 * FNAME(page_fault) and FNAME(fetch)):
 *
 *  1. Walk the guest's tables for the access. A guest fault is the guest's
 *     #PF: inject it, shadow nothing.
 *  2. Otherwise the walk has set the guest's A bits (and D for a write):
 *     that is the emulation of A/D. Decide the leaf's rights: the guest's,
 *     without W until the guest's D is set, and, for a supervisor write
 *     under CR0.WP = 0, writable but supervisor-only (the hardware walk
 *     runs with WP = 1).
 *  3. Walk the shadow from the root, making and linking a shadow page for
 *     each guest table on the way (each one write-protects its frame), or
 *     "direct" pages of 4 KiB entries below a guest large page. A guest
 *     2 MiB page gets one 2 MiB shadow leaf instead when a 2 MiB host page
 *     backs it and no guest table lies inside (sh_large_ok).
 *  4. Set the leaf. A write to a protected guest table makes its level-1
 *     pages unsync when allowed; otherwise the write is the VMM's to
 *     emulate.
 */

#include <errno.h>
#include <string.h>

#include "shadow_internal.h"

void nw_shadow_hw_mode(const struct nw_x86_mode *guest, struct nw_x86_mode *hw)
{
	*hw = *guest;
	hw->wp = true;
	hw->nxe = true;
}

/* The rights of the shadow leaf for the access, or false to emulate the write. */
static bool leaf_rights(const struct sh_gwalk *gw, const struct nw_x86_mode *mode,
			unsigned access, uint32_t *prot)
{
	uint32_t guest = gw->w.prot;
	bool write = access & NW_ACC_WRITE, user = access & NW_ACC_USER;

	*prot = sh_leaf_prot(guest, gw->gpte[gw->n - 1]);
	if (!write || user || (guest & NW_PROT_W) || mode->wp)
		return true;
	/*
	 * A supervisor write to a read-only page the guest allows (CR0.WP = 0).
	 * Make the leaf writable and supervisor-only, as KVM does; with SMEP
	 * it must not become executable for the supervisor either. Under SMAP
	 * a guest user page cannot lose U (supervisor reads must still fault),
	 * so that write is emulated instead.
	 */
	if (mode->smap && (guest & NW_PROT_U))
		return false;
	*prot |= NW_PROT_W;
	*prot &= ~NW_PROT_U;
	if (mode->smep)
		*prot &= ~NW_PROT_X;
	return true;
}

/* The child page an entry at `level` must link for this walk. */
static void child_key(const struct nw_shadow *sh, const struct sh_gwalk *gw, int i, int level,
		      uint64_t mode_bits, uint32_t prot, const struct nw_attr *attr,
		      uint64_t *gfn, uint64_t *role)
{
	const struct nw_fmt *g = &sh->gfmt;

	if (level > gw->w.level) {
		/* A guest table: rights gathered down to and including this entry. */
		*gfn = g->addr(g, gw->gpte[i], level) >> NW_PAGE_SHIFT;
		*role = sh_role(mode_bits, level - 1, gw->above[i] & g->prot(g, gw->gpte[i], level));
	} else {
		/* Below a guest large page: direct pages over the range the entry spans. */
		*gfn = (gw->w.pa & ~(NW_LEVEL_SIZE(level) - 1)) >> NW_PAGE_SHIFT;
		*role = sh_role_direct(mode_bits, level - 1, prot, attr);
	}
}

static int fetch(struct nw_shadow *sh, struct sh_vcpu *v, const struct nw_x86_mode *mode,
		 uint64_t gva, unsigned access, const struct sh_gwalk *gw,
		 struct nw_shadow_outcome *out)
{
	const struct nw_fmt *g = &sh->gfmt;
	uint64_t mode_bits = v->root->role & SH_ROLE_MODE_MASK;
	uint64_t gfn = gw->w.pa >> NW_PAGE_SHIFT, hpa;
	struct sh_page *sp = v->root;
	struct nw_x86_mode hw;
	struct nw_attr attr;
	uint32_t prot;
	int i, level, rc, leaf_level = 1;

	out->gpa = gw->w.pa;
	out->level = gw->w.level;
	bool can_map = leaf_rights(gw, mode, access, &prot);
	rc = sh_gpa_to_hpa(sh, gfn << NW_PAGE_SHIFT, &hpa);
	if (rc == -EFAULT) {
		out->result = NW_SHADOW_MMIO; /* nothing to map: the device is emulated */
		sh->st.faults_mmio++;
		return 0;
	}
	if (rc < 0)
		return rc;
	g->attr(g, gw->gpte[gw->n - 1], gw->w.level, &attr);

	for (i = 0, level = sh_level(sp); level > 1; i++, level--) {
		unsigned idx = NW_LEVEL_INDEX(gva, level);
		uint64_t e = sh_spte_read(sh, sh_spte_addr(sp, idx)), cgfn, crole;
		struct sh_page *child = NULL;

		sh_page_touch(sp);
		if (level == 2 && gw->w.level == 2 && !sh_direct(sp) && sh_large_ok(sh, gw->w.pa)) {
			leaf_level = 2;
			break;
		}
		if (sh_is_large(sp, e)) {
			sh_zap_entry(sh, sp, idx); /* 4 KiB leaves from now on */
			e = 0;
		}
		child_key(sh, gw, i, level, mode_bits, prot, &attr, &cgfn, &crole);
		if (e & NW_PTE_P) {
			child = sh_page_by_hpa(sh, e & NW_PTE_ADDR_MASK);
			if (child && (child->gfn != cgfn || child->role != crole))
				child = NULL; /* a direct page of other rights: relink */
		}
		if (!child) {
			rc = sh_page_get(sh, cgfn, crole, &child);
			if (rc == 0)
				rc = sh_link(sh, sp, idx, child);
			if (rc < 0)
				return rc;
		}
		sp = child;
	}
	sh_page_touch(sp);

	unsigned idx = NW_LEVEL_INDEX(gva, leaf_level);
	if (leaf_level == 2) {
		/* No protected table inside (sh_large_ok): the write needs no unsync. */
		rc = sh_set_large(sh, sp, idx, gfn & ~(uint64_t)(NW_ENTRIES_PER_TABLE - 1), prot, &attr);
	} else {
		if ((access & NW_ACC_WRITE) && (prot & NW_PROT_W) && sh_gfn_protected(sh, gfn))
			sh_try_unsync(sh, gfn);
		rc = sh_set_leaf(sh, sp, idx, gfn, prot, &attr);
	}
	if (rc < 0)
		return rc;

	/* Does the hardware walk now allow the access? If not, it is a write to emulate. */
	uint64_t e = sh_spte_read(sh, sh_spte_addr(sp, idx));
	nw_shadow_hw_mode(mode, &hw);
	if (!can_map ||
	    nw_x86_access_fault(sh->sfmt.prot(&sh->sfmt, e, leaf_level), attr.pkey, access, &hw)) {
		if (!(access & NW_ACC_WRITE))
			return -EIO; /* cannot happen: only writes are ever withheld */
		out->result = NW_SHADOW_EMULATE;
		sh->st.faults_emulate++;
		return 0;
	}
	out->result = NW_SHADOW_FIXED;
	sh->st.faults_fixed++;
	return 0;
}

int nw_shadow_page_fault(struct nw_shadow *sh, unsigned vcpu, const struct nw_x86_mode *mode,
			 uint64_t gva, uint64_t error, struct nw_shadow_outcome *out)
{
	struct sh_vcpu *v;
	struct sh_gwalk gw;
	unsigned access = sh_error_to_access(error);
	int rc;

	if (vcpu >= sh->cfg.vcpus || !mode || !out)
		return -EINVAL;
	v = &sh->vcpus[vcpu];
	if (!v->root || mode->levels != sh_level(v->root) ||
	    sh_role_mode(mode) != (v->root->role & SH_ROLE_MODE_MASK))
		return -EINVAL; /* the VMM must load CR3 after a mode change */
	memset(out, 0, sizeof(*out));
	/* Frames first (KVM's topup): the shadow path cannot fail for want of them. */
	rc = sh_topup(sh, SH_TOPUP);
	if (rc < 0)
		return sh_finish(sh, rc);
	rc = sh_guest_walk(sh, v->gcr3, mode, gva, access, &gw);
	if (rc < 0)
		return sh_finish(sh, rc);
	if (gw.w.fault) {
		out->result = NW_SHADOW_INJECT;
		out->pf_error = gw.w.pf_error;
		out->cr2 = gva;
		sh->st.faults_injected++;
		return sh_finish(sh, 0);
	}
	return sh_finish(sh, fetch(sh, v, mode, gva, access, &gw, out));
}
