/* SPDX-License-Identifier: MIT */
/*
 * The per-vCPU structure set: configuration checks, one-block allocation,
 * the current context, and raw access to entries for tests and tools.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlb_internal.h"

static const char *const sid_names[NW_SID_COUNT] = {
	"l1d.0", "l1d.1", "l1d.2", "l1i.0", "l1i.1", "l1i.2", "l2.0", "l2.1",
	"psc.pde", "psc.pdpte", "psc.pml4e", "psc.pml5e",
	"gpsc.pde", "gpsc.pdpte", "gpsc.pml4e", "gpsc.pml5e",
	"ntlb", "pwc",
};

const char *nw_tlb_sid_name(enum nw_tlb_sid sid)
{
	return (unsigned)sid < NW_SID_COUNT ? sid_names[sid] : "?";
}

enum nw_tlb_class nw_tlb_sid_class(enum nw_tlb_sid sid)
{
	if (sid <= NW_SID_L2_1)
		return NW_TLBC_TLB;
	if (sid <= NW_SID_PSC5)
		return NW_TLBC_PSC;
	if (sid <= NW_SID_GPSC5)
		return NW_TLBC_GPSC;
	return sid == NW_SID_NTLB ? NW_TLBC_NTLB : NW_TLBC_PWC;
}

/* The geometry of each structure in a configuration. */
static const struct nw_tlb_geom *cfg_geom(const struct nw_tlb_cfg *c, enum nw_tlb_sid sid)
{
	if (sid <= NW_SID_L1D2)
		return &c->l1d[sid - NW_SID_L1D0];
	if (sid <= NW_SID_L1I2)
		return &c->l1i[sid - NW_SID_L1I0];
	if (sid <= NW_SID_L2_1)
		return &c->l2[sid - NW_SID_L2_0];
	if (sid <= NW_SID_PSC5)
		return &c->psc[sid - NW_SID_PSC2];
	if (sid <= NW_SID_GPSC5)
		return &c->gpsc[sid - NW_SID_GPSC2];
	return sid == NW_SID_NTLB ? &c->ntlb : &c->pwc;
}

static bool holds_sizes(enum nw_tlb_sid sid)
{
	enum nw_tlb_class cls = nw_tlb_sid_class(sid);
	return cls == NW_TLBC_TLB || cls == NW_TLBC_NTLB;
}

static const char *const size_names[4] = { "?", "4K", "2M", "1G" };
static const char *const level_names[NW_TLBL_COUNT] = { "l1d", "l1i", "l2" };

/* A TLB level: no size held twice, and 4K held (larger pages splinter). */
static int check_level(const struct nw_tlb_cfg *c, enum nw_tlb_lvl lvl, char *err, size_t n)
{
	enum nw_tlb_sid first = tlb_level_first(lvl);
	unsigned seen = 0;

	for (int b = 0; b < tlb_level_banks(lvl); b++) {
		const struct nw_tlb_geom *g = cfg_geom(c, first + b);
		if (!g->entries)
			continue;
		unsigned both = seen & g->sizes;
		if (both) {
			int s = both & NW_TLB_SZ_4K ? 1 : both & NW_TLB_SZ_2M ? 2 : 3;
			snprintf(err, n, "%s: two banks hold %s pages", level_names[lvl], size_names[s]);
			return -EINVAL;
		}
		seen |= g->sizes;
	}
	if (!(seen & NW_TLB_SZ_4K)) {
		snprintf(err, n, "%s: no bank holds 4K pages (a missing page size)", level_names[lvl]);
		return -EINVAL;
	}
	return 0;
}

static int check_cfg(const struct nw_tlb_cfg *c, char *err, size_t n)
{
	int rc;

	for (int sid = 0; sid < NW_SID_COUNT; sid++) {
		const struct nw_tlb_geom *g = cfg_geom(c, sid);
		if ((rc = nw_sa_geom_check(sid_names[sid], g->entries, g->ways, err, n)) < 0)
			return rc;
		if (!g->entries || !holds_sizes(sid))
			continue;
		if (!g->sizes || (g->sizes & ~NW_TLB_SZ_ALL)) {
			snprintf(err, n, "%s: %u entries but no valid page size (sizes 0x%x)",
				 sid_names[sid], g->entries, g->sizes);
			return -EINVAL;
		}
		if (sid == NW_SID_NTLB && !(g->sizes & NW_TLB_SZ_4K)) {
			snprintf(err, n, "ntlb: does not hold 4K pages (a missing page size)");
			return -EINVAL;
		}
	}
	for (int lvl = 0; lvl < NW_TLBL_COUNT; lvl++)
		if ((rc = check_level(c, lvl, err, n)) < 0)
			return rc;
	if (c->va_bits && c->va_bits != 48 && c->va_bits != 57) {
		snprintf(err, n, "va_bits %u: must be 48 or 57", c->va_bits);
		return -EINVAL;
	}
	if (c->maxphyaddr && (c->maxphyaddr < NW_MAXPHYADDR_MIN || c->maxphyaddr > NW_MAXPHYADDR_MAX)) {
		snprintf(err, n, "maxphyaddr %u: must be 36..52", c->maxphyaddr);
		return -EINVAL;
	}
	if (!c->calloc != !c->free) {
		snprintf(err, n, "calloc and free hooks: give both or neither");
		return -EINVAL;
	}
	return 0;
}

int nw_tlb_cfg_check(const struct nw_tlb_cfg *cfg, char *err, size_t errlen)
{
	char dummy[8];

	if (!err) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	if (!cfg) {
		snprintf(err, errlen, "no configuration");
		return -EINVAL;
	}
	return check_cfg(cfg, err, errlen);
}

int nw_tlb_create(const struct nw_tlb_cfg *cfg, struct nw_tlb **out, char *err, size_t errlen)
{
	char dummy[8];
	uint64_t slots = 0;
	int rc;

	if (!err) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	if (out)
		*out = NULL;
	if (!cfg || !out) {
		snprintf(err, errlen, "no configuration");
		return -EINVAL;
	}
	if ((rc = check_cfg(cfg, err, errlen)) < 0)
		return rc;
	for (int sid = 0; sid < NW_SID_COUNT; sid++)
		slots += cfg_geom(cfg, sid)->entries;

	/* One block: the set, then every entry, then every stamp. */
	size_t bytes = sizeof(struct nw_tlb) +
		       slots * (sizeof(struct nw_tlb_entry) + 2 * sizeof(uint64_t));
	void *(*alloc)(size_t, size_t) = cfg->calloc ? cfg->calloc : calloc;
	char *block = alloc(1, bytes);
	if (!block) {
		snprintf(err, errlen, "out of memory for %llu cache entries", (unsigned long long)slots);
		return -ENOMEM;
	}
	struct nw_tlb *t = (struct nw_tlb *)block;
	struct nw_tlb_entry *ent = (struct nw_tlb_entry *)(t + 1);
	uint64_t *stamp = (uint64_t *)(ent + slots);

	t->ent0 = ent;
	t->ok = stamp + slots;
	t->perm_gen = 1; /* ok[] starts at generation 0: nothing cached */
	t->cfg = *cfg;
	if (!t->cfg.va_bits)
		t->cfg.va_bits = 48;
	if (!t->cfg.maxphyaddr)
		t->cfg.maxphyaddr = NW_MAXPHYADDR_MAX;
	for (int sid = 0; sid < NW_SID_COUNT; sid++) {
		const struct nw_tlb_geom *g = cfg_geom(cfg, sid);
		struct tlb_struct *s = &t->s[sid];

		nw_sa_init(&s->sa, g->entries, g->ways, stamp);
		s->ent = ent;
		s->cls = nw_tlb_sid_class(sid);
		s->sizes = holds_sizes(sid) ? g->sizes : 0;
		if (s->cls == NW_TLBC_PSC)
			s->level = (uint8_t)(2 + sid - NW_SID_PSC2);
		else if (s->cls == NW_TLBC_GPSC)
			s->level = (uint8_t)(2 + sid - NW_SID_GPSC2);
		ent += g->entries;
		stamp += g->entries;
	}
	tlb_walk_cache_init(t);
	*out = t;
	return 0;
}

void nw_tlb_destroy(struct nw_tlb *t)
{
	if (!t)
		return;
	if (t->cfg.free)
		t->cfg.free(t);
	else
		free(t);
}

const struct nw_tlb_cfg *nw_tlb_config(const struct nw_tlb *t)
{
	return &t->cfg;
}

void nw_tlb_set_ctx(struct nw_tlb *t, const struct nw_tlb_ctx *ctx)
{
	t->ctx = *ctx;
	t->ctx.pcid &= 0xfff;
	t->ep4ta = ctx->nest == NW_NEST_EPT ? ctx->eptp & NW_PTE_ADDR_MASK : 0;
}

const struct nw_tlb_ctx *nw_tlb_get_ctx(const struct nw_tlb *t)
{
	return &t->ctx;
}

void nw_tlb_set_lat(struct nw_tlb *t, struct nw_lat *lat)
{
	t->lat = lat;
}

struct nw_tlb_stats *nw_tlb_stats(struct nw_tlb *t)
{
	return &t->stats;
}

/* ---- raw entries ---- */

/* The set an entry of structure s lives in. */
static uint64_t entry_index(const struct tlb_struct *s, const struct nw_tlb_entry *e)
{
	if (s->cls == NW_TLBC_PWC)
		return e->pa >> 3;
	return e->addr >> NW_LEVEL_SHIFT(e->size);
}

static bool kind_ok(const struct tlb_struct *s, const struct nw_tlb_entry *e)
{
	bool gphys = e->tag.kind == NW_MAP_GPHYS;

	if (e->tag.kind < NW_MAP_LINEAR || e->tag.kind > NW_MAP_COMBINED)
		return false;
	switch (s->cls) {
	case NW_TLBC_TLB:
	case NW_TLBC_PSC:
		return !gphys;
	case NW_TLBC_GPSC:
	case NW_TLBC_NTLB:
		return gphys;
	case NW_TLBC_PWC:
		return (e->dim == NW_DIM_HOST) == gphys && (e->dim == NW_DIM_HOST || e->dim == NW_DIM_GUEST);
	}
	return false;
}

static bool same_tag(const struct nw_tlb_tag *a, const struct nw_tlb_tag *b)
{
	return a->kind == b->kind && a->global == b->global && a->vpid == b->vpid &&
	       a->pcid == b->pcid && a->ep4ta == b->ep4ta;
}

int nw_tlb_insert(struct nw_tlb *t, enum nw_tlb_sid sid, const struct nw_tlb_entry *e)
{
	if ((unsigned)sid >= NW_SID_COUNT || !tlb_present(t, sid))
		return -EINVAL;
	struct tlb_struct *s = &t->s[sid];
	if (!kind_ok(s, e) || e->size < 1 || e->size > NW_MAX_LEVELS)
		return -EINVAL;
	if ((s->sizes && !(s->sizes & NW_TLB_SZ(e->size))) || (s->level && e->size != s->level))
		return -EINVAL;
	if (e->addr & (NW_LEVEL_SIZE(e->size) - 1))
		return -EINVAL;

	uint64_t index = entry_index(s, e);
	size_t base = nw_sa_base(&s->sa, index);
	size_t slot = SIZE_MAX;
	for (size_t i = base; i < base + s->sa.ways; i++) {
		const struct nw_tlb_entry *o = &s->ent[i];
		if (nw_sa_valid(&s->sa, i) && same_tag(&o->tag, &e->tag) && o->addr == e->addr &&
		    o->size == e->size && o->dim == e->dim && (s->cls != NW_TLBC_PWC || o->pa == e->pa)) {
			slot = i;
			break;
		}
	}
	if (slot == SIZE_MAX)
		slot = nw_sa_victim(&s->sa, index);
	s->ent[slot] = *e;
	t->ok[&s->ent[slot] - t->ent0] = 0;
	nw_sa_touch(&s->sa, slot);
	return 0;
}

void nw_tlb_for_each(const struct nw_tlb *t, enum nw_tlb_sid sid,
		     void (*fn)(void *arg, const struct nw_tlb_entry *e), void *arg)
{
	const struct tlb_struct *s = &t->s[sid];

	for (size_t i = 0; i < nw_sa_slots(&s->sa); i++)
		if (nw_sa_valid(&s->sa, i))
			fn(arg, &s->ent[i]);
}

size_t nw_tlb_count(const struct nw_tlb *t, enum nw_tlb_sid sid)
{
	const struct tlb_struct *s = &t->s[sid];
	size_t n = 0;

	for (size_t i = 0; i < nw_sa_slots(&s->sa); i++)
		n += nw_sa_valid(&s->sa, i);
	return n;
}

void nw_tlb_reset(struct nw_tlb *t)
{
	for (int sid = 0; sid < NW_SID_COUNT; sid++)
		nw_sa_clear(&t->s[sid].sa);
}
