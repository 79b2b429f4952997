/* SPDX-License-Identifier: MIT */
/*
 * The shadow-page cache (KVM's mmu_page_hash and active list): pages keyed
 * by (guest frame, role), found again by their frame, linked to their
 * parents, and zapped.
 *
 * As in KVM, a page that loses its last parent stays cached: it still
 * shadows (and write-protects) its guest table, and is linked again for
 * free if the guest uses the table again. Such orphans go when the guest
 * floods their frame with writes (the frame was reused for data) or when
 * room is needed.
 */

#include <errno.h>
#include <stdlib.h>

#include "shadow_internal.h"

static struct sh_page *as_page(uint64_t v)
{
	return (struct sh_page *)(uintptr_t)v;
}

struct sh_page *sh_page_by_hpa(const struct nw_shadow *sh, uint64_t hpa)
{
	uint64_t v;

	return sh_map_get(&sh->by_hpa, hpa & NW_PAGE_MASK, &v) ? as_page(v) : NULL;
}

struct sh_page *sh_page_first(const struct nw_shadow *sh, uint64_t gfn)
{
	uint64_t v;

	return sh_map_get(&sh->by_gfn, gfn, &v) ? as_page(v) : NULL;
}

bool sh_gfn_protected(const struct nw_shadow *sh, uint64_t gfn)
{
	for (const struct sh_page *sp = sh_page_first(sh, gfn); sp; sp = sp->hash_next)
		if (!sh_direct(sp) && !sp->unsync)
			return true;
	return false;
}

/* ---- lists ---- */

static void lru_add(struct nw_shadow *sh, struct sh_page *sp)
{
	sp->lru_prev = sh->lru_tail;
	sp->lru_next = NULL;
	if (sh->lru_tail)
		sh->lru_tail->lru_next = sp;
	else
		sh->lru_head = sp;
	sh->lru_tail = sp;
}

static void lru_del(struct nw_shadow *sh, struct sh_page *sp)
{
	if (sp->lru_prev)
		sp->lru_prev->lru_next = sp->lru_next;
	else
		sh->lru_head = sp->lru_next;
	if (sp->lru_next)
		sp->lru_next->lru_prev = sp->lru_prev;
	else
		sh->lru_tail = sp->lru_prev;
}

static void chain_del(struct nw_shadow *sh, struct sh_page *sp)
{
	struct sh_page *head = sh_page_first(sh, sp->gfn);

	if (head == sp) {
		if (sp->hash_next)
			sh_map_put(&sh->by_gfn, sp->gfn, (uint64_t)(uintptr_t)sp->hash_next);
		else
			sh_map_del(&sh->by_gfn, sp->gfn);
		return;
	}
	for (struct sh_page *p = head; p; p = p->hash_next)
		if (p->hash_next == sp) {
			p->hash_next = sp->hash_next;
			return;
		}
}

static int parent_add(struct sh_page *child, uint64_t slot)
{
	if (child->nparents == child->capparents) {
		uint32_t cap = child->capparents ? 2 * child->capparents : 2;
		uint64_t *p = realloc(child->parents, cap * sizeof(uint64_t));
		if (!p)
			return -ENOMEM;
		child->parents = p;
		child->capparents = cap;
	}
	child->parents[child->nparents++] = slot;
	return 0;
}

static void parent_del(struct sh_page *child, uint64_t slot)
{
	for (uint32_t i = 0; i < child->nparents; i++)
		if (child->parents[i] == slot) {
			child->parents[i] = child->parents[--child->nparents];
			return;
		}
}

/* Count an indirect page in (or out of) its 2 MiB region: 0 or -ENOMEM. */
static int lpage_account(struct nw_shadow *sh, uint64_t gfn, int delta)
{
	uint64_t key = gfn >> (NW_LEVEL_SHIFT(2) - NW_PAGE_SHIFT), n = 0;

	sh_map_get(&sh->lpage_disallow, key, &n);
	n += (uint64_t)(int64_t)delta;
	if (!n) {
		sh_map_del(&sh->lpage_disallow, key);
		return 0;
	}
	return sh_map_put(&sh->lpage_disallow, key, n);
}

/* ---- entries ---- */

void sh_zap_entry(struct nw_shadow *sh, struct sh_page *sp, unsigned idx)
{
	uint64_t slot = sh_spte_addr(sp, idx);
	uint64_t e = sh_spte_read(sh, slot);

	if (!(e & NW_PTE_P))
		return;
	if (sh_level(sp) == 1) {
		sh_rmap_del(sh, sp->gfns[idx], slot);
	} else if (sh_is_large(sp, e)) {
		sh_rmap_del(sh, sh_large_key(sp->gfns[idx]), slot);
		/* A TLB may hold the whole 2 MiB writable: no per-frame record, flush. */
		if (e & NW_PTE_RW)
			sh->need_flush = true;
	} else {
		struct sh_page *child = sh_page_by_hpa(sh, e & NW_PTE_ADDR_MASK);
		if (child)
			parent_del(child, slot);
	}
	sh_spte_write(sh, slot, 0);
}

int sh_link(struct nw_shadow *sh, struct sh_page *sp, unsigned idx, struct sh_page *child)
{
	uint64_t slot = sh_spte_addr(sp, idx);
	uint64_t e = sh_spte_read(sh, slot);

	if ((e & NW_PTE_P) && (e & NW_PTE_ADDR_MASK) == child->hpa)
		return 0;
	if (parent_add(child, slot) < 0)
		return -ENOMEM;
	if (e & NW_PTE_P) {
		/* Drop the old link (its child keeps our new parent entry apart). */
		struct sh_page *old = sh_page_by_hpa(sh, e & NW_PTE_ADDR_MASK);
		if (old)
			parent_del(old, slot);
	}
	sh_spte_write(sh, slot, sh_make_link(sh, child));
	return 0;
}

/* ---- zapping and room ---- */

void sh_page_zap(struct nw_shadow *sh, struct sh_page *sp)
{
	while (sp->nparents) {
		uint64_t slot = sp->parents[--sp->nparents];
		struct sh_page *parent = sh_page_by_hpa(sh, slot);
		if (parent)
			sh_zap_entry(sh, parent, (unsigned)((slot & ~NW_PAGE_MASK) / sizeof(uint64_t)));
	}
	for (unsigned i = 0; i < NW_ENTRIES_PER_TABLE; i++)
		if (sh_entry(sh, sp, i) & NW_PTE_P)
			sh_zap_entry(sh, sp, i);
	if (sp->unsync)
		sh_unsync_list_del(sh, sp);
	if (!sh_direct(sp))
		lpage_account(sh, sp->gfn, -1); /* only shrinks or deletes: cannot fail */
	/* Paging-structure caches may still name the frame: it must not be reused unflushed. */
	sh->need_flush = true;
	chain_del(sh, sp);
	sh_map_del(&sh->by_hpa, sp->hpa);
	lru_del(sh, sp);
	nw_mem_free(sh->cfg.mem, sp->hpa);
	free(sp->gfns);
	free(sp->parents);
	free(sp);
	sh->st.pages--;
	sh->st.zaps++;
}

/*
 * Zap the oldest page no vCPU uses as a root, preferring orphans (pages no
 * entry links), as KVM zaps its oldest pages when it needs room.
 */
static int reclaim_one(struct nw_shadow *sh)
{
	struct sh_page *victim = NULL;

	for (struct sh_page *sp = sh->lru_head; sp; sp = sp->lru_next) {
		if (sp->root_count)
			continue;
		if (!sp->nparents) {
			victim = sp;
			break;
		}
		if (!victim)
			victim = sp;
	}
	if (!victim)
		return -ENOMEM;
	sh_page_zap(sh, victim);
	sh->st.reclaimed++;
	return 0;
}

int sh_topup(struct nw_shadow *sh, unsigned need)
{
	while (sh->nframes < need) {
		uint64_t hpa;
		if (sh->cfg.max_pages && sh->st.pages + sh->nframes >= sh->cfg.max_pages) {
			if (reclaim_one(sh) < 0)
				return -ENOMEM;
			continue;
		}
		if (nw_mem_alloc(sh->cfg.mem, &hpa) < 0) {
			if (reclaim_one(sh) < 0)
				return -ENOMEM;
			continue;
		}
		sh->frames[sh->nframes++] = hpa;
	}
	return 0;
}

/* A new page for a guest table is about to shadow it: protect its frame. */
static void protect_new(struct nw_shadow *sh, uint64_t gfn)
{
	if (sh->bugs_left & NW_SHADOW_BUG_SKIP_WP) {
		/* The negative control: forget the first protection that matters. */
		const struct sh_rmap *r = sh_rmap_get(sh, gfn);
		for (uint32_t i = 0; r && i < r->n; i++)
			if (sh_spte_read(sh, r->spte[i]) & NW_PTE_RW) {
				sh->bugs_left &= ~NW_SHADOW_BUG_SKIP_WP;
				return;
			}
	}
	sh_write_protect(sh, gfn);
}

static int page_new(struct nw_shadow *sh, uint64_t gfn, uint64_t role, struct sh_page **out)
{
	struct sh_page *sp, *head = sh_page_first(sh, gfn);

	if (!sh->nframes)
		return -ENOMEM; /* the caller did not top up */
	sp = calloc(1, sizeof(*sp));
	if (!sp)
		return -ENOMEM;
	if (SH_ROLE_LEVEL(role) <= 2) {
		sp->gfns = calloc(NW_ENTRIES_PER_TABLE, sizeof(uint64_t));
		if (!sp->gfns) {
			free(sp);
			return -ENOMEM;
		}
	}
	sp->hpa = sh->frames[sh->nframes - 1];
	sp->spt = nw_mem_map(sh->cfg.mem, sp->hpa);
	sp->gfn = gfn;
	sp->role = role;
	sp->hash_next = head;
	if (sh_map_put(&sh->by_hpa, sp->hpa, (uint64_t)(uintptr_t)sp) < 0)
		goto fail;
	if (sh_map_put(&sh->by_gfn, gfn, (uint64_t)(uintptr_t)sp) < 0) {
		sh_map_del(&sh->by_hpa, sp->hpa);
		goto fail;
	}
	if (!sh_direct(sp) && lpage_account(sh, gfn, +1) < 0) {
		chain_del(sh, sp);
		sh_map_del(&sh->by_hpa, sp->hpa);
		goto fail;
	}
	sh->nframes--;
	lru_add(sh, sp);
	sh->st.pages++;
	sh->st.pages_created++;
	if (!sh_direct(sp))
		protect_new(sh, gfn);
	*out = sp;
	return 0;
fail:
	free(sp->gfns);
	free(sp);
	return -ENOMEM;
}

int sh_page_get(struct nw_shadow *sh, uint64_t gfn, uint64_t role, struct sh_page **out)
{
	struct sh_page *sp, *next;

	for (sp = sh_page_first(sh, gfn); sp; sp = sp->hash_next)
		if (sp->role == role) {
			/* A stale unsync page is brought up to date before it is linked again. */
			if (sp->unsync)
				sh_sync_page(sh, sp);
			*out = sp;
			return 0;
		}
	/*
	 * The guest now uses the frame as an upper-level table; the unsync
	 * leaf pages of it are most likely dead, and could not stay unsync
	 * under a protected frame anyway (KVM zaps them too).
	 */
	if (!(role & SH_ROLE_DIRECT) && SH_ROLE_LEVEL(role) > 1)
		for (sp = sh_page_first(sh, gfn); sp; sp = next) {
			next = sp->hash_next;
			if (sp->unsync)
				sh_page_zap(sh, sp);
		}
	return page_new(sh, gfn, role, out);
}

void sh_page_free_all(struct nw_shadow *sh)
{
	struct sh_page *sp, *next;

	for (sp = sh->lru_head; sp; sp = next) {
		next = sp->lru_next;
		nw_mem_free(sh->cfg.mem, sp->hpa);
		free(sp->gfns);
		free(sp->parents);
		free(sp);
	}
	sh->lru_head = sh->lru_tail = NULL;
	sh->unsync_head = NULL;
	while (sh->nframes)
		nw_mem_free(sh->cfg.mem, sh->frames[--sh->nframes]);
	sh_map_free(&sh->by_gfn);
	sh_map_free(&sh->by_hpa);
	sh_map_free(&sh->lpage_disallow);
}
