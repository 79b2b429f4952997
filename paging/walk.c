/* SPDX-License-Identifier: MIT */
/*
 * The 1D walker. nw_walk_tables() walks one radix tree with no policy beyond
 * the format's present, reserved and leaf rules; the vendor walkers (the x86
 * one below, the EPT/NPT nested walks) add their permission rules and fault
 * encodings on top of it, so the walk loop exists once.
 */

#include <errno.h>
#include <string.h>

#include <nestwalk/walk.h>

#include "fmt_fast.h"
#include "x86_perm.h"

static inline void log_ref(struct nw_walk *log, uint64_t pa, uint64_t e, int level, char dim)
{
	if (!log || log->n_refs >= NW_WALK_MAX_REFS)
		return;
	log->refs[log->n_refs++] = (struct nw_walk_ref){
		.pa = pa, .entry = e, .level = (uint8_t)level, .dim = dim,
	};
}

/*
 * The walk loop, inlined once per format kind so that each copy decodes
 * entries with constants instead of calls (fmt_fast.h).
 */
static inline __attribute__((always_inline)) void
walk_loop(const struct nw_walk_src *src, unsigned kind, uint64_t table, int level,
	  uint32_t prot, uint64_t addr, struct nw_walk *log, struct nw_walk1d *out)
{
	const struct nw_fmt *f = src->fmt;
	const struct nw_walk_cache *cache = src->cache;
	bool lookup = cache && cache->entry_lookup;

	/* The header; entry_pa[] and entry[] are written as the walk reads. */
	out->status = NW_W1D_OK;
	out->level = 0;
	out->pa = 0;
	out->prot = prot;
	out->leaf = 0;
	out->n = 0;
	for (; level >= 1; level--) {
		uint64_t slot = table + NW_LEVEL_INDEX(addr, level) * sizeof(uint64_t);
		uint64_t e, next = 0;
		uint32_t p = 0;

		if (lookup && cache->entry_lookup(cache->ctx, src->dim, level, slot, &e)) {
			if (log)
				log->cache_hits++;
		} else {
			e = nw_acc_read(src->acc, slot);
			log_ref(log, slot, e, level, src->dim);
		}
		out->entry_pa[out->n] = slot;
		out->entry[out->n] = e;
		out->n++;
		out->level = level;
		out->leaf = e;
		switch (nw_fmt_step(f, kind, e, level, src->mode, &p, &next)) {
		case NW_STEP_NOT_PRESENT:
			out->status = NW_W1D_NOT_PRESENT;
			return;
		case NW_STEP_RSVD:
			out->status = NW_W1D_RSVD;
			return;
		case NW_STEP_LEAF:
			out->prot &= p;
			out->status = NW_W1D_OK;
			out->pa = next + (addr & (NW_LEVEL_SIZE(level) - 1));
			return;
		case NW_STEP_TABLE:
			out->prot &= p;
			table = next;
			break;
		}
	}
	/* Unreachable for sane formats: level 1 entries are always leaves. */
	out->status = NW_W1D_RSVD;
}

void nw_walk_tables_from(const struct nw_walk_src *src, uint64_t table, int level,
			 uint32_t prot, uint64_t addr, struct nw_walk *log,
			 struct nw_walk1d *out)
{
	switch (src->fmt->kind) {
	case NW_FMT_KIND_X86:
		walk_loop(src, NW_FMT_KIND_X86, table, level, prot, addr, log, out);
		break;
	case NW_FMT_KIND_EPT:
		walk_loop(src, NW_FMT_KIND_EPT, table, level, prot, addr, log, out);
		break;
	default:
		walk_loop(src, NW_FMT_KIND_CUSTOM, table, level, prot, addr, log, out);
		break;
	}
}

void nw_walk_tables(const struct nw_fmt *f, const struct nw_acc *acc, uint64_t root,
		    int levels, uint64_t addr, unsigned mode, char dim,
		    struct nw_walk *log, struct nw_walk1d *out)
{
	struct nw_walk_src src = { .fmt = f, .acc = acc, .dim = dim, .mode = mode };

	nw_walk_tables_from(&src, root, levels, NW_PROT_RWX | NW_PROT_U, addr, log, out);
}

void nw_walk_set_ad(const struct nw_fmt *f, const struct nw_acc *acc,
		    const struct nw_walk1d *w, bool write, struct nw_walk *log)
{
	if (!f->accessed || w->status != NW_W1D_OK)
		return;
	for (int i = 0; i < w->n; i++) {
		uint64_t bits = f->accessed;
		uint64_t old = w->entry[i];

		if (i == w->n - 1 && write)
			bits |= f->dirty;
		if ((old & bits) == bits)
			continue;
		/*
		 * Like the CPU's locked update: keep whatever changed under us,
		 * and leave an entry that stopped being present alone.
		 */
		bool done;
		while (!(done = nw_acc_cmpxchg(acc, w->entry_pa[i], &old, old | bits)))
			if (!f->present(f, old))
				break;
		if (done && log && log->n_ad < NW_WALK_MAX_REFS)
			log->ad[log->n_ad++] = (struct nw_walk_ad){
				.pa = w->entry_pa[i], .bits = bits & ~old,
			};
	}
}

bool nw_walk_x86_complete(const struct nw_fmt *f, const struct nw_acc *acc,
			  const struct nw_walk1d *r, uint64_t va, unsigned access,
			  const struct nw_x86_mode *mode, struct nw_walk *w)
{
	struct nw_attr leaf;
	uint32_t err;

	/* A not-present fault can have error code 0 (a supervisor read). */
	if (r->status == NW_W1D_NOT_PRESENT) {
		err = x86_perm_fault(0, 0, access, mode) & ~NW_PFEC_P;
	} else if (r->status == NW_W1D_RSVD) {
		err = x86_perm_fault(0, 0, access, mode) | NW_PFEC_RSVD;
	} else {
		f->attr(f, r->leaf, r->level, &leaf);
		err = x86_perm_fault(r->prot, leaf.pkey, access, mode);
		if (!err) {
			nw_walk_set_ad(f, acc, r, access & NW_ACC_WRITE, w);
			w->pa = r->pa;
			w->level = r->level;
			w->page_size = NW_LEVEL_SIZE(r->level);
			w->prot = r->prot;
			w->pkey = leaf.pkey;
			return true;
		}
	}
	w->fault = NW_FAULT_PF;
	w->pf_error = err;
	w->fault_addr = va;
	w->fault_level = r->level;
	return false;
}

int nw_walk_x86(const struct nw_fmt *f, const struct nw_acc *acc, uint64_t root,
		uint64_t va, unsigned access, const struct nw_x86_mode *mode,
		struct nw_walk *w)
{
	struct nw_walk1d r;

	if (!mode || (mode->levels != 4 && mode->levels != 5))
		return -EINVAL;
	if (!nw_x86_canonical(va, mode->levels))
		return -ERANGE;
	nw_walk_clear(w);
	nw_walk_tables(f, acc, root, mode->levels, va, mode->nxe ? NW_FMT_NXE : 0,
		       NW_DIM_GUEST, w, &r);
	nw_walk_x86_complete(f, acc, &r, va, access, mode, w);
	return 0;
}
