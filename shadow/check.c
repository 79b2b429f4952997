/* SPDX-License-Identifier: MIT */
/*
 * The checker (in the spirit of KVM's old mmu_audit.c).
 *
 * Every shadow page is checked against the guest entries it comes from, one
 * entry at a time: a link against the guest entry that names the next
 * table (or large page), a leaf against the guest PTE and the p2m. Since a
 * root shadows the guest table at the vCPU's CR3 under its mode, induction
 * along any path from a root gives the whole property: each live shadow
 * leaf translates its address as (guest tables ∘ p2m) does, with no right
 * the guest walk would refuse, writable only where the guest's D is set and
 * the target is no protected guest table, and only where every guest entry
 * used has A set. A 2 MiB shadow leaf must stand for a guest 2 MiB leaf,
 * over one 2 MiB host page, in a region with no shadowed guest table. Unsync pages may differ from the guest until it
 * invalidates, so their leaves are held only to the rules that keep
 * protection sound. Orphan pages are checked too: they can be linked again.
 *
 * The bookkeeping is checked as well: the frame map, the gfn chains,
 * parents, reverse maps (a bijection with the present leaves), root
 * references and the counts.
 */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "shadow_internal.h"

struct ck {
	struct nw_shadow *sh;
	struct nw_x86_mode extra;  /* PKE, PKRU; AC is tried both ways */
	char *buf;
	size_t len;
	uint64_t leaves;           /* present level-1 entries seen */
	/* no_more_rights is pure and asked the same few questions thousands of times. */
	uint64_t memo_key[64];
	bool memo_val[64];
};

static int fail(struct ck *c, const char *fmt, ...)
{
	if (c->buf && c->len) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(c->buf, c->len, fmt, ap);
		va_end(ap);
	}
	return -EUCLEAN;
}

static unsigned idx_of(uint64_t slot)
{
	return (unsigned)((slot & ~NW_PAGE_MASK) / sizeof(uint64_t));
}

/*
 * No access the shadow rights allow under the hardware's mode may be one
 * the guest rights refuse under the guest's mode.
 */
static bool rights_within(const struct ck *c, uint64_t role, uint32_t sprot, unsigned spkey,
			  uint32_t gprot, unsigned gpkey)
{
	static const unsigned kinds[] = {
		NW_ACC_READ, NW_ACC_WRITE, NW_ACC_FETCH, NW_ACC_IMPLICIT,
		NW_ACC_IMPLICIT | NW_ACC_WRITE, NW_ACC_USER, NW_ACC_USER | NW_ACC_WRITE,
		NW_ACC_USER | NW_ACC_FETCH,
	};
	struct nw_x86_mode gm, hw;

	sh_role_guest_mode(role, &c->extra, &gm);
	for (int ac = 0; ac < 2; ac++) {
		gm.ac = ac;
		nw_shadow_hw_mode(&gm, &hw);
		for (unsigned k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
			if (!nw_x86_access_fault(sprot, spkey, kinds[k], &hw) &&
			    nw_x86_access_fault(gprot, gpkey, kinds[k], &gm))
				return false;
	}
	return true;
}

static bool no_more_rights(struct ck *c, uint64_t role, uint32_t sprot, unsigned spkey,
			   uint32_t gprot, unsigned gpkey)
{
	/* Everything but the role's mode bits fits in 16 bits; +1 keeps key 0 unused. */
	uint64_t key = ((role & SH_ROLE_MODE_MASK) << 16 | (uint64_t)(sprot & 0xf) << 12 |
			(uint64_t)(spkey & 0xf) << 8 | (uint64_t)(gprot & 0xf) << 4 | (gpkey & 0xf)) + 1;
	unsigned slot = (unsigned)((key * 0x9e3779b97f4a7c15ull) >> 58);

	if (c->memo_key[slot] != key) {
		c->memo_key[slot] = key;
		c->memo_val[slot] = rights_within(c, role, sprot, spkey, gprot, gpkey);
	}
	return c->memo_val[slot];
}

static bool same_attr(const struct nw_attr *a, const struct nw_attr *b)
{
	return a->pkey == b->pkey && a->memtype == b->memtype && a->global == b->global;
}

/* A guest entry the walk could have used at `level`: present, valid, accessed. */
static int usable_gpte(struct ck *c, const struct sh_page *sp, unsigned idx, uint64_t *gpte)
{
	const struct nw_fmt *g = &c->sh->gfmt;
	uint64_t gpa = (sp->gfn << NW_PAGE_SHIFT) + idx * sizeof(uint64_t);
	unsigned fmode = (sp->role & SH_ROLE_NXE) ? NW_FMT_NXE : 0;

	*gpte = sh_guest_read(c->sh, gpa);
	if (!g->present(g, *gpte) || g->rsvd(g, *gpte, sh_level(sp), fmode))
		return fail(c, "shadow entry %u of page %#llx (gfn %#llx level %d) for a guest entry "
			    "that is not present or has reserved bits (%#llx)", idx,
			    (unsigned long long)sp->hpa, (unsigned long long)sp->gfn, sh_level(sp),
			    (unsigned long long)*gpte);
	if (!(*gpte & NW_PTE_A))
		return fail(c, "shadow entry %u of page %#llx (gfn %#llx level %d): guest entry %#llx "
			    "has A clear", idx, (unsigned long long)sp->hpa,
			    (unsigned long long)sp->gfn, sh_level(sp), (unsigned long long)*gpte);
	return 0;
}

static bool in_rmap(const struct sh_rmap *r, uint64_t slot)
{
	for (uint32_t i = 0; r && i < r->n; i++)
		if (r->spte[i] == slot)
			return true;
	return false;
}

/*
 * A leaf of an in-sync indirect page against the guest entry it comes
 * from, a leaf at `level` too: the same frame (gfn) and attributes, no more
 * rights, writable only once the guest's D is set.
 */
static int leaf_fits_guest(struct ck *c, const struct sh_page *sp, unsigned idx, uint64_t e,
			   int level, uint64_t gfn)
{
	const struct nw_fmt *g = &c->sh->gfmt, *s = &c->sh->sfmt;
	uint64_t slot = sh_spte_addr(sp, idx), gpte;
	struct nw_attr sa, ga;
	int rc = usable_gpte(c, sp, idx, &gpte);

	if (rc < 0)
		return rc;
	s->attr(s, e, level, &sa);
	g->attr(g, gpte, level, &ga);
	uint32_t gprot = SH_ROLE_ACCESS(sp->role) & g->prot(g, gpte, level);
	if (!g->leaf(g, gpte, level) || gfn != g->addr(g, gpte, level) >> NW_PAGE_SHIFT ||
	    !same_attr(&sa, &ga))
		return fail(c, "leaf %#llx = %#llx (gfn %#llx, level %d) differs from guest entry %#llx",
			    (unsigned long long)slot, (unsigned long long)e, (unsigned long long)gfn,
			    level, (unsigned long long)gpte);
	if (!no_more_rights(c, sp->role, sa.prot, sa.pkey, gprot, ga.pkey))
		return fail(c, "leaf %#llx = %#llx gives more than guest entry %#llx under role %#llx",
			    (unsigned long long)slot, (unsigned long long)e, (unsigned long long)gpte,
			    (unsigned long long)sp->role);
	if ((e & NW_PTE_RW) && !(gpte & NW_PTE_D))
		return fail(c, "leaf %#llx = %#llx is writable, but guest entry %#llx is clean",
			    (unsigned long long)slot, (unsigned long long)e, (unsigned long long)gpte);
	return 0;
}

static int check_link(struct ck *c, const struct sh_page *sp, unsigned idx, uint64_t e)
{
	struct nw_shadow *sh = c->sh;
	const struct nw_fmt *g = &sh->gfmt;
	uint64_t slot = sh_spte_addr(sp, idx), gpte;
	int level = sh_level(sp), rc;
	struct sh_page *child = sh_page_by_hpa(sh, e & NW_PTE_ADDR_MASK);
	bool linked = false;

	if (!child || child->hpa != (e & NW_PTE_ADDR_MASK) || sh_level(child) != level - 1)
		return fail(c, "link %#llx -> %#llx names no shadow page of level %d",
			    (unsigned long long)slot, (unsigned long long)e, level - 1);
	if ((e & ~(NW_PTE_A | NW_PTE_D)) != (sh_make_link(sh, child) & ~(NW_PTE_A | NW_PTE_D)))
		return fail(c, "link %#llx is %#llx, not a plain full-rights link",
			    (unsigned long long)slot, (unsigned long long)e);
	for (uint32_t i = 0; i < child->nparents; i++)
		linked |= child->parents[i] == slot;
	if (!linked)
		return fail(c, "link %#llx is missing from its child's parents",
			    (unsigned long long)slot);

	if (sh_direct(sp)) {
		uint64_t gfn = sp->gfn + idx * (NW_LEVEL_SIZE(level) >> NW_PAGE_SHIFT);
		uint64_t role = (sp->role & ~7ull) | (uint64_t)(level - 1);
		if (!sh_direct(child) || child->gfn != gfn || child->role != role)
			return fail(c, "direct link %#llx names gfn %#llx role %#llx, wants %#llx %#llx",
				    (unsigned long long)slot, (unsigned long long)child->gfn,
				    (unsigned long long)child->role, (unsigned long long)gfn,
				    (unsigned long long)role);
		return 0;
	}
	rc = usable_gpte(c, sp, idx, &gpte);
	if (rc < 0)
		return rc;
	uint32_t gprot = SH_ROLE_ACCESS(sp->role) & g->prot(g, gpte, level);
	uint64_t gfn = g->addr(g, gpte, level) >> NW_PAGE_SHIFT;
	if (!g->leaf(g, gpte, level)) {
		uint64_t role = sh_role(sp->role, level - 1, gprot);
		if (sh_direct(child) || child->gfn != gfn || child->role != role)
			return fail(c, "link %#llx names gfn %#llx role %#llx; guest entry %#llx wants "
				    "%#llx %#llx", (unsigned long long)slot,
				    (unsigned long long)child->gfn, (unsigned long long)child->role,
				    (unsigned long long)gpte, (unsigned long long)gfn,
				    (unsigned long long)role);
		return 0;
	}
	/* A guest large page: the direct page below must give no more than it. */
	struct nw_attr ga, ca;
	g->attr(g, gpte, level, &ga);
	sh_role_attr(child->role, &ca);
	if (!sh_direct(child) || child->gfn != gfn || SH_ROLE_LEVEL(child->role) != level - 1 ||
	    (child->role & SH_ROLE_MODE_MASK) != (sp->role & SH_ROLE_MODE_MASK) ||
	    !same_attr(&ga, &ca) || !no_more_rights(c, sp->role, ca.prot, ca.pkey, gprot, ga.pkey) ||
	    ((ca.prot & NW_PROT_W) && !(gpte & NW_PTE_D)))
		return fail(c, "link %#llx to direct page gfn %#llx role %#llx does not fit the guest "
			    "large page %#llx", (unsigned long long)slot,
			    (unsigned long long)child->gfn, (unsigned long long)child->role,
			    (unsigned long long)gpte);
	return 0;
}

static int check_leaf(struct ck *c, const struct sh_page *sp, unsigned idx, uint64_t e)
{
	struct nw_shadow *sh = c->sh;
	const struct nw_fmt *s = &sh->sfmt;
	uint64_t slot = sh_spte_addr(sp, idx), gfn = sp->gfns[idx], hpa;
	struct nw_attr sa, ga;

	c->leaves++;
	if (!in_rmap(sh_rmap_get(sh, gfn), slot))
		return fail(c, "leaf %#llx (gfn %#llx) is missing from the reverse map",
			    (unsigned long long)slot, (unsigned long long)gfn);
	if (sh_gpa_to_hpa(sh, gfn << NW_PAGE_SHIFT, &hpa) < 0 ||
	    (hpa & NW_PAGE_MASK) != s->addr(s, e, 1))
		return fail(c, "leaf %#llx maps %#llx, but the p2m puts gfn %#llx elsewhere",
			    (unsigned long long)slot, (unsigned long long)e, (unsigned long long)gfn);
	if ((e & NW_PTE_RW) && sh_gfn_protected(sh, gfn))
		return fail(c, "leaf %#llx = %#llx is writable, but gfn %#llx is a protected guest table",
			    (unsigned long long)slot, (unsigned long long)e, (unsigned long long)gfn);
	s->attr(s, e, 1, &sa);

	if (sh_direct(sp)) {
		sh_role_attr(sp->role, &ga);
		if (gfn != sp->gfn + idx || !same_attr(&sa, &ga) ||
		    !no_more_rights(c, sp->role, sa.prot, sa.pkey, ga.prot, ga.pkey))
			return fail(c, "direct leaf %#llx = %#llx does not fit its page (gfn %#llx role %#llx)",
				    (unsigned long long)slot, (unsigned long long)e,
				    (unsigned long long)sp->gfn, (unsigned long long)sp->role);
		return 0;
	}
	if (sp->unsync)
		return 0; /* may be stale until the guest invalidates */
	return leaf_fits_guest(c, sp, idx, e, 1, gfn);
}

static int check_large(struct ck *c, const struct sh_page *sp, unsigned idx, uint64_t e)
{
	struct nw_shadow *sh = c->sh;
	const struct nw_fmt *s = &sh->sfmt;
	uint64_t slot = sh_spte_addr(sp, idx), gfn = sp->gfns[idx], hpa, n;

	c->leaves++;
	if (sh_direct(sp) || !in_rmap(sh_rmap_get(sh, sh_large_key(gfn)), slot) ||
	    (gfn & (NW_ENTRIES_PER_TABLE - 1)))
		return fail(c, "2 MiB leaf %#llx (gfn %#llx) is not an indirect, reverse-mapped "
			    "leaf of an aligned page", (unsigned long long)slot,
			    (unsigned long long)gfn);
	if (sh_map_get(&sh->lpage_disallow, gfn >> (NW_LEVEL_SHIFT(2) - NW_PAGE_SHIFT), &n))
		return fail(c, "2 MiB leaf %#llx maps gfn %#llx, whose region holds %llu shadowed "
			    "guest tables", (unsigned long long)slot, (unsigned long long)gfn,
			    (unsigned long long)n);
	if (!sh->cfg.ops.host_level || sh_gpa_to_hpa(sh, gfn << NW_PAGE_SHIFT, &hpa) < 0 ||
	    hpa != s->addr(s, e, 2) ||
	    sh->cfg.ops.host_level(sh->cfg.ctx, gfn << NW_PAGE_SHIFT) < NW_PAGE_2M)
		return fail(c, "2 MiB leaf %#llx = %#llx, but the p2m puts gfn %#llx elsewhere or "
			    "in 4 KiB host pages", (unsigned long long)slot, (unsigned long long)e,
			    (unsigned long long)gfn);
	return leaf_fits_guest(c, sp, idx, e, 2, gfn);
}

static int check_page(struct ck *c, const struct sh_page *sp, unsigned *roots)
{
	struct nw_shadow *sh = c->sh;
	bool in_chain = false;
	int rc;

	if (sh_page_by_hpa(sh, sp->hpa) != sp)
		return fail(c, "page %#llx is not found by its frame", (unsigned long long)sp->hpa);
	for (const struct sh_page *p = sh_page_first(sh, sp->gfn); p; p = p->hash_next)
		in_chain |= p == sp;
	if (!in_chain)
		return fail(c, "page %#llx is missing from the chain of gfn %#llx",
			    (unsigned long long)sp->hpa, (unsigned long long)sp->gfn);
	if (sh_level(sp) < 1 || sh_level(sp) > NW_MAX_LEVELS || (sh_level(sp) <= 2) != !!sp->gfns)
		return fail(c, "page %#llx has a bad level in role %#llx", (unsigned long long)sp->hpa,
			    (unsigned long long)sp->role);
	if (sp->unsync && (sh_direct(sp) || sh_level(sp) != 1))
		return fail(c, "page %#llx is unsync but not an indirect leaf table",
			    (unsigned long long)sp->hpa);
	if (sp->root_count != roots[0])
		return fail(c, "page %#llx has root count %u, vCPUs hold %u",
			    (unsigned long long)sp->hpa, sp->root_count, roots[0]);
	for (uint32_t i = 0; i < sp->nparents; i++) {
		const struct sh_page *parent = sh_page_by_hpa(sh, sp->parents[i]);
		uint64_t e = sh_spte_read(sh, sp->parents[i]);
		if (!parent || sh_level(parent) != sh_level(sp) + 1 || !(e & NW_PTE_P) ||
		    (e & NW_PTE_ADDR_MASK) != sp->hpa)
			return fail(c, "page %#llx: parent entry %#llx does not link it",
				    (unsigned long long)sp->hpa, (unsigned long long)sp->parents[i]);
	}
	for (unsigned i = 0; i < NW_ENTRIES_PER_TABLE; i++) {
		/* Most entries are empty: skip them without a call. */
		uint64_t e = sp->spt ? sp->spt[i] : sh_entry(sh, sp, i);
		if (!(e & NW_PTE_P))
			continue;
		bool large = sh_is_large(sp, e);
		if (sh->sfmt.rsvd(&sh->sfmt, e, sh_level(sp), NW_FMT_NXE) ||
		    (sh_level(sp) > 1 && !large && sh->sfmt.leaf(&sh->sfmt, e, sh_level(sp))))
			return fail(c, "shadow entry %#llx = %#llx is malformed",
				    (unsigned long long)sh_spte_addr(sp, i), (unsigned long long)e);
		rc = sh_level(sp) == 1 ? check_leaf(c, sp, i, e)
		     : large         ? check_large(c, sp, i, e)
				     : check_link(c, sp, i, e);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static unsigned root_refs(const struct nw_shadow *sh, const struct sh_page *sp)
{
	unsigned n = 0;

	for (unsigned i = 0; i < sh->cfg.vcpus; i++) {
		const struct sh_vcpu *v = &sh->vcpus[i];
		n += v->root == sp;
		for (unsigned j = 0; j < v->nprev; j++)
			n += v->prev[j] == sp;
	}
	return n;
}

static int check_vcpus(struct ck *c)
{
	struct nw_shadow *sh = c->sh;

	for (unsigned i = 0; i < sh->cfg.vcpus; i++) {
		const struct sh_vcpu *v = &sh->vcpus[i];
		if (!v->root)
			continue;
		uint64_t role = sh_role(sh_role_mode(&v->mode), v->mode.levels, SH_ALL_RIGHTS);
		if (v->root->gfn != v->gcr3 >> NW_PAGE_SHIFT || v->root->role != role)
			return fail(c, "vCPU %u: root %#llx shadows gfn %#llx role %#llx, CR3 is %#llx",
				    i, (unsigned long long)v->root->hpa,
				    (unsigned long long)v->root->gfn, (unsigned long long)v->root->role,
				    (unsigned long long)v->gcr3);
		if (v->nprev > sh->cfg.root_cache)
			return fail(c, "vCPU %u keeps %u previous roots", i, v->nprev);
	}
	return 0;
}

static int check_rmaps(struct ck *c)
{
	struct nw_shadow *sh = c->sh;
	uint64_t total = 0;

	for (uint64_t i = 0; i < sh->rmaps.cap; i++) {
		if (sh->rmaps.keys[i] == SH_MAP_EMPTY)
			continue;
		uint64_t gfn = sh->rmaps.keys[i];
		const struct sh_rmap *r = (const struct sh_rmap *)(uintptr_t)sh->rmaps.vals[i];
		if (!r->n)
			return fail(c, "empty reverse map for gfn %#llx", (unsigned long long)gfn);
		bool large = gfn & SH_RMAP_LARGE;
		for (uint32_t j = 0; j < r->n; j++) {
			const struct sh_page *sp = sh_page_by_hpa(sh, r->spte[j]);
			uint64_t e = sh_spte_read(sh, r->spte[j]);
			if (!sp || sh_level(sp) != (large ? 2 : 1) || !(e & NW_PTE_P) ||
			    sh_is_large(sp, e) != large ||
			    sp->gfns[idx_of(r->spte[j])] != (gfn & ~SH_RMAP_LARGE))
				return fail(c, "reverse map of gfn %#llx names %#llx, no leaf mapping it",
					    (unsigned long long)gfn, (unsigned long long)r->spte[j]);
		}
		total += r->n;
	}
	if (total != c->leaves)
		return fail(c, "reverse maps hold %llu entries for %llu leaves",
			    (unsigned long long)total, (unsigned long long)c->leaves);
	return 0;
}

int nw_shadow_check(struct nw_shadow *sh, const struct nw_x86_mode *mode, char *buf,
		    size_t buflen)
{
	struct ck c = { .sh = sh, .buf = buf, .len = buflen };
	uint64_t pages = 0, unsync = 0, indirect = 0, counted = 0, n;
	int rc;

	c.extra = mode ? *mode : sh->vcpus[0].mode;
	if (buf && buflen)
		buf[0] = 0;
	rc = check_vcpus(&c);
	for (const struct sh_page *sp = sh->lru_head; rc == 0 && sp; sp = sp->lru_next) {
		unsigned roots = root_refs(sh, sp);
		rc = check_page(&c, sp, &roots);
		pages++;
		unsync += sp->unsync;
		if (rc == 0 && !sh_direct(sp)) {
			indirect++;
			if (!sh_map_get(&sh->lpage_disallow, sp->gfn >> (NW_LEVEL_SHIFT(2) - NW_PAGE_SHIFT), &n))
				rc = fail(&c, "page %#llx shadows gfn %#llx, but its 2 MiB region allows "
					  "2 MiB leaves", (unsigned long long)sp->hpa,
					  (unsigned long long)sp->gfn);
		}
	}
	if (rc < 0)
		return rc;
	for (uint64_t i = 0; i < sh->lpage_disallow.cap; i++)
		if (sh->lpage_disallow.keys[i] != SH_MAP_EMPTY)
			counted += sh->lpage_disallow.vals[i];
	if (counted != indirect)
		return fail(&c, "the 2 MiB regions count %llu shadowed tables, there are %llu",
			    (unsigned long long)counted, (unsigned long long)indirect);
	for (const struct sh_page *sp = sh->unsync_head; sp; sp = sp->unsync_next)
		if (!sp->unsync || !unsync--)
			return fail(&c, "the unsync list disagrees with the pages");
	if (unsync)
		return fail(&c, "%llu unsync pages are missing from the unsync list",
			    (unsigned long long)unsync);
	if (pages != sh->st.pages || pages != sh->by_hpa.n)
		return fail(&c, "%llu pages listed, %llu counted, %llu by frame",
			    (unsigned long long)pages, (unsigned long long)sh->st.pages,
			    (unsigned long long)sh->by_hpa.n);
	return check_rmaps(&c);
}
