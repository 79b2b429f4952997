/* SPDX-License-Identifier: MIT */
/*
 * Unsync leaf tables (KVM's mmu_try_to_unsync_pages, kvm_sync_page).
 *
 * Write-protecting every guest table makes each guest PTE update an exit.
 * A level-1 table may instead go unsync on the first write: its frame is
 * left writable, the guest changes its entries freely, and the shadow
 * catches up when the guest must invalidate anyway. INVLPG resynchronises
 * the one entry of that address; a CR3 load or a TLB flush resynchronises
 * every unsync table and protects it again. Stale entries in between are
 * what a real TLB could hold, since the guest has not yet invalidated.
 */

#include <errno.h>

#include "shadow_internal.h"

static void unsync_list_add(struct nw_shadow *sh, struct sh_page *sp)
{
	sp->unsync_prev = NULL;
	sp->unsync_next = sh->unsync_head;
	if (sh->unsync_head)
		sh->unsync_head->unsync_prev = sp;
	sh->unsync_head = sp;
}

void sh_unsync_list_del(struct nw_shadow *sh, struct sh_page *sp)
{
	if (sp->unsync_prev)
		sp->unsync_prev->unsync_next = sp->unsync_next;
	else
		sh->unsync_head = sp->unsync_next;
	if (sp->unsync_next)
		sp->unsync_next->unsync_prev = sp->unsync_prev;
	sp->unsync = false;
	sp->unsync_prev = sp->unsync_next = NULL;
}

bool sh_try_unsync(struct nw_shadow *sh, uint64_t gfn)
{
	struct sh_page *sp;

	if (!sh->cfg.unsync)
		return false;
	/* An upper-level table must stay protected: its entries are links. */
	for (sp = sh_page_first(sh, gfn); sp; sp = sp->hash_next)
		if (!sh_direct(sp) && sh_level(sp) != 1)
			return false;
	for (sp = sh_page_first(sh, gfn); sp; sp = sp->hash_next)
		if (!sh_direct(sp) && !sp->unsync) {
			sp->unsync = true;
			unsync_list_add(sh, sp);
			sh->st.unsyncs++;
		}
	return true;
}

void sh_sync_page(struct nw_shadow *sh, struct sh_page *sp)
{
	sh_unsync_list_del(sh, sp);
	sh->st.syncs++;
	/* Protect first, so the entries recomputed below see the frame protected. */
	sh_write_protect(sh, sp->gfn);
	for (unsigned i = 0; i < NW_ENTRIES_PER_TABLE; i++)
		if (sh_entry(sh, sp, i) & NW_PTE_P)
			sh_sync_leaf(sh, sp, i);
}

void sh_sync_all(struct nw_shadow *sh)
{
	while (sh->unsync_head)
		sh_sync_page(sh, sh->unsync_head);
}

int nw_shadow_flush(struct nw_shadow *sh)
{
	sh_sync_all(sh);
	return sh_finish(sh, 0);
}

int nw_shadow_invlpg(struct nw_shadow *sh, unsigned vcpu, uint64_t gva)
{
	struct sh_vcpu *v;
	struct sh_page *sp;

	if (vcpu >= sh->cfg.vcpus)
		return -EINVAL;
	v = &sh->vcpus[vcpu];
	if (!v->root || !nw_x86_canonical(gva, sh_level(v->root)))
		return sh_finish(sh, 0); /* nothing shadowed, or a no-op INVLPG */
	/*
	 * Only the entry of gva in an unsync table can be stale: synced
	 * tables were updated when the guest wrote them (as KVM's
	 * kvm_mmu_invalidate_addr).
	 */
	for (sp = v->root; sp;) {
		unsigned idx = NW_LEVEL_INDEX(gva, sh_level(sp));
		uint64_t e = sh_spte_read(sh, sh_spte_addr(sp, idx));
		if (sh_level(sp) == 1) {
			if (sp->unsync) {
				sh_sync_leaf(sh, sp, idx);
				sh->st.invlpg_syncs++;
			}
			break;
		}
		if (!(e & NW_PTE_P))
			break;
		sp = sh_page_by_hpa(sh, e & NW_PTE_ADDR_MASK);
	}
	return sh_finish(sh, 0);
}
