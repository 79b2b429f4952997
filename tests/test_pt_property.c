/* SPDX-License-Identifier: MIT */
/*
 * Property test of the radix engine (pt.h) against a flat reference model.
 *
 * Seeded random map / unmap / protect / split / collapse operations, and
 * operations that must fail, run over 4- and 5-level x86-64 tables: linear
 * ones (canonical high halves, and above 2^47 with 5 levels) and
 * guest-physical ones as NPT uses them. The model holds one entry per 4 KiB
 * page of a few 1-2 GiB windows, so operations collide and 2 MiB and 1 GiB
 * pages come and go. It predicts every return code. After each operation:
 *  - a failed one left the tables byte for byte as they were (a digest of
 *    every table it could reach) and every counter unchanged;
 *  - lookups over the touched range agree with the model leaf by leaf (and
 *    the map, split and collapse just made leaves of exactly the predicted
 *    size), and so do random pages elsewhere;
 *  - nw_pt_check_range passes over the range; frames_in_use == table_pages;
 *  - the reported struct nw_inval covers every present translation that
 *    changed, and is NONLEAF when a present non-leaf entry changed or
 *    vanished. inval_check() decides that, here and in the negative control.
 * Every CHECK_EVERY operations the whole tree is compared with the model
 * through nw_pt_for_each in both directions, and nw_pt_check runs.
 *
 * test_pt_property (unit) runs a few thousand operations;
 * test_pt_property_slow (NW_PROP_SLOW) runs the bulk.
 */

#define _POSIX_C_SOURCE 200809L /* clock_gettime */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nw_test.h"

#define GIB (1ull << 30)
#define MIB2 (1ull << 21)
#define PG NW_PAGE_SIZE
#define PA_NONE UINT64_MAX
#define MAXPHY 46
#define MAX_WIN 6
#define MAX_BAD 5
#define RING 64
#define SAMPLES 6

#ifdef NW_PROP_SLOW
#define OPS_PER_RUN 13500
#define CHECK_EVERY 1000
static const uint64_t run_seeds[] = { 0x5eed0001u, 0xc0ffee02u };
#else
#define OPS_PER_RUN 1500
#define CHECK_EVERY 100
static const uint64_t run_seeds[] = { 0x0badcafeu };
#endif
#define N_SEEDS (sizeof(run_seeds) / sizeof(run_seeds[0]))

/* ---- layouts: which tables, and which windows of their address space ---- */

struct window {
	uint64_t base, size; /* a canonical, 1 GiB aligned start; a multiple of 1 GiB */
};

struct bad_range {
	uint64_t va, len;    /* a range every operation must refuse with -ERANGE */
};

struct layout {
	const char *name;
	int levels;
	bool linear;
	unsigned fmt_options;
	int nwin, nbad;
	struct window win[MAX_WIN];
	struct bad_range bad[MAX_BAD];
};

static const struct layout layouts[] = {
	{
		.name = "x86-64 4-level linear", .levels = 4, .linear = true,
		.nwin = 5, .win = {
			{ 0, GIB },                           /* address 0 itself */
			{ 0x0000007fc0000000ull, 2 * GIB },   /* across PML4E 0 -> 1 */
			{ 0x00007fffc0000000ull, GIB },       /* top of the low half */
			{ 0xffff800000000000ull, GIB },       /* bottom of the high half */
			{ 0xffffffffc0000000ull, GIB },       /* top of the address space */
		},
		.nbad = 5, .bad = {
			{ 0x0000800000000000ull, PG },        /* not canonical */
			{ 0x00007ffffffff000ull, 2 * PG },    /* runs into the hole */
			{ 0xffff7ffffffff000ull, PG },        /* just below the high half */
			{ 0xfffffffffffff000ull, 2 * PG },    /* wraps past 2^64 */
			{ 0x0100000000000000ull, MIB2 },      /* canonical only with 5 levels */
		},
	},
	{
		.name = "x86-64 5-level linear", .levels = 5, .linear = true,
		.nwin = 6, .win = {
			{ 0, GIB },
			{ 0x0000ffffc0000000ull, 2 * GIB },   /* across 2^48: PML5E 0 -> 1 */
			{ 0x0000800000000000ull, GIB },       /* 2^47: a hole with 4 levels */
			{ 0x00ffffffc0000000ull, GIB },       /* top of the 57-bit low half */
			{ 0xff00000000000000ull, GIB },       /* bottom of the high half */
			{ 0xffffffffc0000000ull, GIB },       /* top of the address space */
		},
		.nbad = 5, .bad = {
			{ 0x0100000000000000ull, PG },
			{ 0x00fffffffffff000ull, 2 * PG },
			{ 0xfeffffffffe00000ull, MIB2 },
			{ 0xfffffffffffff000ull, 2 * PG },
			{ 0x8000000000000000ull, PG },
		},
	},
	{
		.name = "npt 4-level guest-physical", .levels = 4, .linear = false,
		.fmt_options = NW_X86_NPT,
		.nwin = 3, .win = {
			{ 0, GIB },
			{ 0x0000007fc0000000ull, 2 * GIB },
			{ 0x0000ffffc0000000ull, GIB },       /* top of the 48-bit space */
		},
		.nbad = 4, .bad = {
			{ 1ull << 48, PG },
			{ 0x0000fffffffff000ull, 2 * PG },
			{ 0xffff800000000000ull, PG },        /* only linear tables sign-extend */
			{ 0xfffffffffffff000ull, PG },
		},
	},
	{
		.name = "npt 5-level guest-physical", .levels = 5, .linear = false,
		.fmt_options = NW_X86_NPT,
		.nwin = 3, .win = {
			{ 0, GIB },
			{ 0x0000ffffc0000000ull, 2 * GIB },
			{ 0x01ffffffc0000000ull, GIB },       /* top of the 57-bit space */
		},
		.nbad = 3, .bad = {
			{ 1ull << 57, PG },
			{ 0x01fffffffffff000ull, 2 * PG },
			{ 0xfffffffffffff000ull, PG },
		},
	},
};
#define N_LAYOUTS (sizeof(layouts) / sizeof(layouts[0]))

/* ---- the model ---- */

struct mpage {
	uint64_t pa;       /* PA_NONE: not mapped */
	uint16_t attr;     /* packed struct nw_attr */
	uint8_t max_level; /* the leaf holding it is at most this large */
};

struct region {
	uint64_t base, size;
	struct mpage *pg;
	uint32_t *chunk;   /* mapped pages per 2 MiB chunk */
	uint8_t *seen;     /* full comparison: a leaf covered the page */
	uint64_t mapped;
};

enum op_kind { OP_MAP, OP_UNMAP, OP_PROTECT, OP_SPLIT, OP_COLLAPSE, OP_LOOKUP, OP_KINDS };
static const char *const op_names[OP_KINDS] = {
	"map", "unmap", "protect", "split", "collapse", "lookup",
};

struct op {
	enum op_kind kind;
	uint64_t va, len, pa;
	struct nw_attr attr;
	unsigned flags;
	int level;         /* collapse: the level asked; split: the leaf's level */
	int reg;           /* window, or -1 when the op lies outside them all */
	int expect;        /* predicted return code */
};

/* What an operation changed, as the model and a walk of the tables see it. */
struct change {
	bool leaf;         /* a present translation changed or vanished */
	uint64_t lo, last; /* first and last address of such a change */
	bool nonleaf;      /* a present non-leaf entry changed or vanished */
};

struct outcome {
	int rc;
	struct nw_inval inv;
	struct change ch;
};

/* A present non-leaf entry, as a walk of the tables finds it. */
struct tw_ent {
	uint64_t ia;
	uint64_t e;
	int level;
};

struct tw_vec {
	struct tw_ent *v;
	size_t n, cap;
};

struct ring_ent {
	int reg;
	uint64_t off;
	int level;
};

/* Recent places worth another look: a bag that forgets at random when full. */
struct ring {
	struct ring_ent e[RING];
	unsigned n;
};

struct stats {
	uint64_t ops, ok[OP_KINDS], fail[OP_KINDS];
	uint64_t eexist, enoent, einval, erange;
	uint64_t lookups, samples, full_checks, iter_steps;
	uint64_t max_leaves[NW_MAX_LEVELS + 1];
	uint64_t collapse_ok[NW_MAX_LEVELS + 1], split_ok[NW_MAX_LEVELS + 1];
	uint64_t max_tables, inval_nonleaf, inval_leaf;
};

struct prop {
	const struct layout *lay;
	uint64_t seed, opno;
	struct nw_fmt fmt;
	struct nw_mem *mem;
	struct nw_pt pt;
	struct region reg[MAX_WIN];
	int nreg;
	struct nw_rng rng;
	struct ring hist, big, coll;
	struct tw_vec before, after;
	struct stats st;
	const struct op *cur;
	bool soft;         /* negative controls: count failures instead of failing */
	uint64_t soft_fails;
	char msg[512];
};

static uint64_t rnd(struct prop *p, uint64_t n)
{
	return nw_rng_below(&p->rng, n);
}

static uint64_t align_down(uint64_t x, uint64_t a)
{
	return x & ~(a - 1);
}

static uint64_t span_of(const struct prop *p)
{
	return nw_pt_span(p->lay->levels);
}

/* The engine's index space: linear addresses lose their sign extension. */
static uint64_t to_index(const struct prop *p, uint64_t va)
{
	return p->lay->linear ? va & (span_of(p) - 1) : va;
}

static uint16_t attr_pack(const struct nw_attr *a)
{
	return (uint16_t)((a->prot & 0xfu) | (unsigned)(a->memtype & 7u) << 4 |
			  (unsigned)a->global << 7 | (unsigned)(a->pkey & 15u) << 8 |
			  (unsigned)a->ignore_pat << 12 | (unsigned)a->suppress_ve << 13);
}

static void op_describe(const struct op *op, char *buf, size_t n)
{
	snprintf(buf, n, "%s va=%#" PRIx64 " len=%#" PRIx64 " pa=%#" PRIx64
		 " flags=%#x level=%d attr=%#x expect=%d",
		 op_names[op->kind], op->va, op->len, op->pa, op->flags, op->level,
		 attr_pack(&op->attr), op->expect);
}

#define PFAIL(p, ...) prop_fail((p), __FILE__, __LINE__, __VA_ARGS__)

static void prop_fail(struct prop *p, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void prop_fail(struct prop *p, const char *file, int line, const char *fmt, ...)
{
	char what[512], opd[256] = "(none)";
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (p->soft) {
		if (!p->soft_fails++)
			printf("[pt_property] control: flagged: %s\n", what);
		return;
	}
	if (p->cur)
		op_describe(p->cur, opd, sizeof(opd));
	print_error("%s:%d: layout \"%s\" seed %#" PRIx64 " op #%" PRIu64 ": %s\n  op: %s\n",
		    file, line, p->lay->name, p->seed, p->opno, what, opd);
	fail();
}

/* ---- model access ---- */

static struct region *region_of(struct prop *p, uint64_t va, uint64_t *off)
{
	for (int i = 0; i < p->nreg; i++) {
		struct region *r = &p->reg[i];
		if (va - r->base < r->size) {
			*off = va - r->base;
			return r;
		}
	}
	return NULL;
}

static struct mpage *mpage_at(struct region *r, uint64_t off)
{
	return &r->pg[off / PG];
}

static bool range_any_mapped(const struct region *r, uint64_t off, uint64_t len)
{
	uint64_t end = off + len;

	while (off < end) {
		if (!(off & (MIB2 - 1)) && end - off >= MIB2) {
			if (r->chunk[off / MIB2])
				return true;
			off += MIB2;
		} else {
			if (r->pg[off / PG].pa != PA_NONE)
				return true;
			off += PG;
		}
	}
	return false;
}

static void change_note(struct change *ch, uint64_t va)
{
	if (!ch->leaf || va < ch->lo)
		ch->lo = va;
	if (!ch->leaf || va > ch->last)
		ch->last = va + PG - 1;
	ch->leaf = true;
}

static void model_set(struct region *r, uint64_t off, uint64_t pa, uint16_t attr, int level,
		      struct change *ch)
{
	struct mpage *m = mpage_at(r, off);

	if (m->pa != PA_NONE && (m->pa != pa || m->attr != attr))
		change_note(ch, r->base + off);
	if (m->pa == PA_NONE && pa != PA_NONE) {
		r->mapped++;
		r->chunk[off / MIB2]++;
	} else if (m->pa != PA_NONE && pa == PA_NONE) {
		r->mapped--;
		r->chunk[off / MIB2]--;
	}
	m->pa = pa;
	m->attr = pa == PA_NONE ? 0 : attr;
	m->max_level = pa == PA_NONE ? 0 : (uint8_t)level;
}

static void ring_put(struct prop *p, struct ring *g, int reg, uint64_t off, int level)
{
	unsigned i = g->n < RING ? g->n++ : (unsigned)nw_rng_below(&p->rng, RING);

	g->e[i] = (struct ring_ent){ .reg = reg, .off = off, .level = level };
}

/* Take entry i out: a split or collapse candidate is used up once tried. */
static struct ring_ent ring_take(struct ring *g, unsigned i)
{
	struct ring_ent e = g->e[i];

	g->e[i] = g->e[--g->n];
	return e;
}

/* The leaf level map() must choose at va: the largest that alignment, the
 * length left and the flags allow (pt.h). */
static int map_leaf_level(const struct prop *p, uint64_t va, uint64_t pa, uint64_t left,
			  unsigned maxl)
{
	for (int l = (int)maxl; l > 1; l--) {
		uint64_t sz = NW_LEVEL_SIZE(l);
		if (nw_fmt_leaf_ok(&p->fmt, l) && !(va & (sz - 1)) && !(pa & (sz - 1)) &&
		    left >= sz)
			return l;
	}
	return 1;
}

/* Apply a successful op to the model, noting the translations it changed. */
static void model_apply(struct prop *p, const struct op *op, struct change *ch)
{
	uint64_t off;
	struct region *r = region_of(p, op->va, &off);
	uint16_t a = attr_pack(&op->attr);

	off = align_down(off, PG);
	switch (op->kind) {
	case OP_MAP:
		for (uint64_t pos = 0; pos < op->len;) {
			unsigned maxl = op->flags & NW_MAP_LEVEL_MASK;
			int l = map_leaf_level(p, op->va + pos, op->pa + pos, op->len - pos, maxl);
			uint64_t sz = NW_LEVEL_SIZE(l);
			for (uint64_t q = 0; q < sz; q += PG)
				model_set(r, off + pos + q, op->pa + pos + q, a, l, ch);
			if (l > 1 && (pos == 0 || rnd(p, 64) == 0)) /* do not flood the bag */
				ring_put(p, &p->big, op->reg, off + pos, l);
			pos += sz;
		}
		/* An aligned block the map filled with next-smaller leaves may collapse. */
		for (int l = 2; l <= 3; l++) {
			uint64_t sz = NW_LEVEL_SIZE(l);
			uint64_t b = (off + sz - 1) & ~(sz - 1), d = b - off;
			unsigned maxl = op->flags & NW_MAP_LEVEL_MASK;
			if (b + sz <= off + op->len && !((op->pa + d) & (sz - 1)) &&
			    map_leaf_level(p, op->va + d, op->pa + d, op->len - d, maxl) == l - 1)
				ring_put(p, &p->coll, op->reg, b, l);
		}
		break;
	case OP_UNMAP:
		for (uint64_t q = 0; q < op->len; q += PG)
			if (mpage_at(r, off + q)->pa != PA_NONE)
				model_set(r, off + q, PA_NONE, 0, 0, ch);
		break;
	case OP_PROTECT:
		for (uint64_t q = 0; q < op->len; q += PG) {
			struct mpage *m = mpage_at(r, off + q);
			if (m->pa != PA_NONE)
				model_set(r, off + q, m->pa, a, m->max_level, ch);
		}
		break;
	case OP_SPLIT:
	case OP_COLLAPSE: {
		int l = op->kind == OP_SPLIT ? op->level - 1 : op->level;
		uint64_t sz = NW_LEVEL_SIZE(op->level);
		uint64_t b = align_down(off, sz);
		for (uint64_t q = 0; q < sz; q += PG)
			mpage_at(r, b + q)->max_level = (uint8_t)l;
		if (op->kind == OP_SPLIT) /* and back again, later */
			ring_put(p, &p->coll, op->reg, b, op->level);
		else
			ring_put(p, &p->big, op->reg, b, op->level);
		break;
	}
	default:
		break;
	}
}

/* ---- an independent walk of the tables: non-leaf entries and digests ---- */

static void tw_push(struct tw_vec *v, uint64_t ia, int level, uint64_t e)
{
	if (v->n == v->cap) {
		v->cap = v->cap ? 2 * v->cap : 256;
		v->v = realloc(v->v, v->cap * sizeof(*v->v));
		assert_non_null(v->v);
	}
	v->v[v->n++] = (struct tw_ent){ .ia = ia, .e = e, .level = level };
}

static uint64_t mix(uint64_t h, uint64_t x)
{
	h ^= x + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
	return h * 0xff51afd7ed558ccdull;
}

/*
 * Walk the tables over index range [s, e) by reading memory directly (not
 * through the engine): collect the present non-leaf entries, in pre-order,
 * into v (when given), and fold every table reached, address and all 512
 * entries, into the digest *h (when given).
 */
static void tw_walk(const struct prop *p, uint64_t table, int level, uint64_t base, uint64_t s,
		    uint64_t e, struct tw_vec *v, uint64_t *h)
{
	const struct nw_fmt *f = &p->fmt;
	const uint64_t *t = nw_mem_map(p->mem, table);
	uint64_t size = NW_LEVEL_SIZE(level);

	assert_non_null(t);
	if (h) {
		*h = mix(*h, table ^ ((uint64_t)level << 60));
		for (unsigned i = 0; i < NW_ENTRIES_PER_TABLE; i++)
			*h = mix(*h, t[i]);
	}
	if (level == 1)
		return;
	for (unsigned i = 0; i < NW_ENTRIES_PER_TABLE; i++) {
		uint64_t slot = base + i * size;
		if (slot + size <= s || slot >= e || !f->present(f, t[i]) || f->leaf(f, t[i], level))
			continue;
		if (v)
			tw_push(v, slot, level, t[i]);
		tw_walk(p, f->addr(f, t[i], level), level - 1, slot, s, e, v, h);
	}
}

static uint64_t tw_digest(const struct prop *p, uint64_t s, uint64_t e)
{
	uint64_t h = 0x1234;

	tw_walk(p, p->pt.root, p->lay->levels, 0, s, e, NULL, &h);
	return h;
}

/* Did a present non-leaf entry of `before` change or vanish in `after`? Both
 * are in pre-order, that is sorted by (address, level descending). */
static bool nonleaf_changed(const struct tw_vec *before, const struct tw_vec *after)
{
	size_t j = 0;

	for (size_t i = 0; i < before->n; i++) {
		const struct tw_ent *b = &before->v[i];
		while (j < after->n && (after->v[j].ia < b->ia ||
					(after->v[j].ia == b->ia && after->v[j].level > b->level)))
			j++;
		if (j == after->n || after->v[j].ia != b->ia || after->v[j].level != b->level ||
		    after->v[j].e != b->e)
			return true;
	}
	return false;
}

/* ---- the invalidation contract ---- */

/*
 * Does inv cover what ch says changed? Every present translation that
 * changed or vanished must lie in [start, end) (end 0: the top of the address
 * space) under kind LEAF or more; a present non-leaf entry that changed or
 * vanished (a table freed, a table turned into a leaf) needs NONLEAF; kind
 * NONE has end 0 (pt.h). Returns NULL, or what is wrong in buf.
 */
static const char *inval_check(const struct nw_inval *inv, const struct change *ch, char *buf,
			       size_t n)
{
	if (inv->kind != NW_INVAL_NONE && inv->kind != NW_INVAL_LEAF &&
	    inv->kind != NW_INVAL_NONLEAF) {
		snprintf(buf, n, "inval kind %d is not a kind", (int)inv->kind);
		return buf;
	}
	if (inv->kind == NW_INVAL_NONE && inv->end != 0) {
		snprintf(buf, n, "inval kind NONE with end %#" PRIx64 " (pt.h: 0)", inv->end);
		return buf;
	}
	if (inv->kind != NW_INVAL_NONE && inv->end != 0 && inv->start >= inv->end) {
		snprintf(buf, n, "inval range [%#" PRIx64 ", %#" PRIx64 ") is empty", inv->start,
			 inv->end);
		return buf;
	}
	if (ch->leaf && inv->kind < NW_INVAL_LEAF) {
		snprintf(buf, n, "translations in [%#" PRIx64 ", %#" PRIx64 "] changed, inval kind %d",
			 ch->lo, ch->last, (int)inv->kind);
		return buf;
	}
	if (ch->leaf && (ch->lo < inv->start || ch->last > inv->end - 1)) {
		snprintf(buf, n, "translations in [%#" PRIx64 ", %#" PRIx64 "] changed, inval covers"
			 " only [%#" PRIx64 ", %#" PRIx64 ")", ch->lo, ch->last, inv->start, inv->end);
		return buf;
	}
	if (ch->nonleaf && inv->kind != NW_INVAL_NONLEAF) {
		snprintf(buf, n, "a present non-leaf entry changed, inval kind %d", (int)inv->kind);
		return buf;
	}
	return NULL;
}

/* ---- checks against the model ---- */

static void check_entry_mem(struct prop *p, const struct nw_pt_entry *e)
{
	const uint64_t *slot = nw_mem_map(p->mem, e->entry_pa);

	if (!slot || *slot != e->entry)
		PFAIL(p, "lookup entry %#" PRIx64 " is not what memory holds at %#" PRIx64, e->entry,
		      e->entry_pa);
}

/* One model page against a leaf that maps it at `pa` with attributes a. */
static void check_page(struct prop *p, struct region *r, uint64_t off, uint64_t pa, uint16_t a,
		       int level, bool exact)
{
	const struct mpage *m = mpage_at(r, off);
	uint64_t va = r->base + off;

	if (m->pa == PA_NONE)
		PFAIL(p, "va %#" PRIx64 ": tables map it (level %d, pa %#" PRIx64 "), model does not",
		      va, level, pa);
	if (m->pa != pa || m->attr != a)
		PFAIL(p, "va %#" PRIx64 ": tables say pa %#" PRIx64 " attr %#x, model pa %#" PRIx64
		      " attr %#x", va, pa, a, m->pa, m->attr);
	if (level > m->max_level || (exact && level != m->max_level))
		PFAIL(p, "va %#" PRIx64 ": leaf at level %d, model expects %s%d", va, level,
		      exact ? "" : "at most ", m->max_level);
}

/* Mapped model pages in [off, off + len) of window r. */
static uint64_t range_count(const struct region *r, uint64_t off, uint64_t len)
{
	uint64_t end = off + len, n = 0;

	while (off < end) {
		if (!(off & (MIB2 - 1)) && end - off >= MIB2) {
			n += r->chunk[off / MIB2];
			off += MIB2;
		} else {
			n += r->pg[off / PG].pa != PA_NONE;
			off += PG;
		}
	}
	return n;
}

/*
 * Look up one page of window r and compare with the model: the translation,
 * and the whole block of the leaf or the hole that the lookup ended on.
 */
static void lookup_point(struct prop *p, struct region *r, uint64_t off)
{
	uint64_t va = r->base + off;
	struct nw_pt_entry e;
	int rc = nw_pt_lookup(&p->pt, va, &e);

	p->st.lookups++;
	if (rc)
		PFAIL(p, "lookup %#" PRIx64 " returned %d", va, rc);
	if (e.level < 1 || e.level > p->lay->levels)
		PFAIL(p, "lookup %#" PRIx64 ": level %d", va, e.level);
	check_entry_mem(p, &e);
	uint64_t sz = NW_LEVEL_SIZE(e.level);
	uint64_t into = to_index(p, va) & (sz - 1);
	if (!e.present) {
		uint64_t bstart = into > off ? 0 : off - into;
		uint64_t bend = off + (sz - into) > r->size ? r->size : off + (sz - into);
		if (range_any_mapped(r, bstart, bend - bstart))
			PFAIL(p, "lookup %#" PRIx64 ": not present at level %d, but the model maps"
			      " part of its %#" PRIx64 " bytes", va, e.level, sz);
		return;
	}
	if (!nw_fmt_leaf_ok(&p->fmt, e.level) || into > off || off - into + sz > r->size)
		PFAIL(p, "lookup %#" PRIx64 ": leaf at level %d sticks out of the window", va,
		      e.level);
	if (e.pa - into != p->fmt.addr(&p->fmt, e.entry, e.level))
		PFAIL(p, "lookup %#" PRIx64 ": pa %#" PRIx64 " disagrees with its entry %#" PRIx64,
		      va, e.pa, e.entry);
	check_page(p, r, off, e.pa, attr_pack(&e.attr), e.level, false);
}

/*
 * Compare [lo, hi) of window r (offsets) with the model through the ranged
 * iterator: every leaf it yields matches the model (each page of 4 KiB
 * leaves, a stride of larger ones, their ends), and the leaves cover exactly
 * as many pages as the model maps there, so both directions hold. In
 * [xlo, xhi) leaf levels must be exactly the model's.
 */
static void verify_window(struct prop *p, struct region *r, uint64_t lo, uint64_t hi,
			  uint64_t xlo, uint64_t xhi)
{
	const struct nw_fmt *f = &p->fmt;
	uint64_t vs = r->base + lo, ve = r->base + hi; /* ve wraps to 0 at the top */
	uint64_t s = to_index(p, vs), e = s + (hi - lo), rb = to_index(p, r->base);
	uint64_t covered = 0, prev_end = 0;
	struct nw_pt_iter it;

	nw_pt_for_each(&it, &p->pt, vs, ve) {
		const uint64_t *slot = nw_mem_map(p->mem, it.entry_pa);
		uint64_t sz = NW_LEVEL_SIZE(it.level), ia = to_index(p, it.va);

		p->st.iter_steps++;
		if (!slot || *slot != it.entry)
			PFAIL(p, "iterator entry %#" PRIx64 " differs from memory", it.entry);
		if ((ia & (sz - 1)) || ia + sz <= s || ia >= e)
			PFAIL(p, "iteration over [%#" PRIx64 ", %#" PRIx64 ") visited %#" PRIx64
			      " at level %d", vs, ve, it.va, it.level);
		if (!it.leaf)
			continue;
		if (ia < prev_end)
			PFAIL(p, "iterator leaves overlap at %#" PRIx64, it.va);
		prev_end = ia + sz;
		if (ia < rb || ia - rb + sz > r->size || !nw_fmt_leaf_ok(f, it.level)) {
			PFAIL(p, "leaf %#" PRIx64 " at level %d sticks out of the window", it.va,
			      it.level);
			continue;
		}
		uint64_t loff = ia - rb, lpa = f->addr(f, it.entry, it.level);
		struct nw_attr at;
		f->attr(f, it.entry, it.level, &at);
		uint16_t a = attr_pack(&at);
		uint64_t from = loff > lo ? loff : lo, to = loff + sz < hi ? loff + sz : hi;
		uint64_t step = it.level == 1 ? PG : 61 * PG;
		covered += (to - from) / PG;
		for (uint64_t q = from; q < to; q += step)
			check_page(p, r, q, lpa + (q - loff), a, it.level, q >= xlo && q < xhi);
		check_page(p, r, to - PG, lpa + (to - PG - loff), a, it.level,
			   to - PG >= xlo && to - PG < xhi);
		check_page(p, r, loff, lpa, a, it.level, false);
		check_page(p, r, loff + sz - PG, lpa + sz - PG, a, it.level, false);
	}
	uint64_t want = range_count(r, lo, hi - lo);
	if (covered != want)
		PFAIL(p, "leaves over [%#" PRIx64 ", %#" PRIx64 ") cover %" PRIu64 " pages, the model"
		      " maps %" PRIu64, vs, ve, covered, want);
	/* And lookups at a spread of points. */
	for (int i = 0; i < 8; i++)
		lookup_point(p, r, lo + rnd(p, (hi - lo) / PG) * PG);
}

static void sample_pages(struct prop *p, int n)
{
	for (int i = 0; i < n; i++) {
		struct region *r = &p->reg[rnd(p, (uint64_t)p->nreg)];
		p->st.samples++;
		lookup_point(p, r, rnd(p, r->size / PG) * PG);
	}
}

/* The whole tree against the model, through the iterator, both ways. */
static void full_compare(struct prop *p)
{
	const struct nw_fmt *f = &p->fmt;
	uint64_t leaves[NW_MAX_LEVELS + 1] = { 0 };
	uint64_t prev_end = 0;
	struct nw_pt_iter it;

	p->st.full_checks++;
	for (int i = 0; i < p->nreg; i++)
		memset(p->reg[i].seen, 0, p->reg[i].size / PG);

	/* Tables to model: every leaf is in a window and matches page by page. */
	nw_pt_for_each(&it, &p->pt, 0, 0) {
		const uint64_t *slot = nw_mem_map(p->mem, it.entry_pa);
		if (!slot || *slot != it.entry)
			PFAIL(p, "iterator entry %#" PRIx64 " differs from memory", it.entry);
		if (it.level < 1 || it.level > p->lay->levels)
			PFAIL(p, "iterator level %d", it.level);
		uint64_t sz = NW_LEVEL_SIZE(it.level), ia = to_index(p, it.va);
		if (ia & (sz - 1))
			PFAIL(p, "iterator va %#" PRIx64 " not aligned to level %d", it.va, it.level);
		if (ia < prev_end)
			PFAIL(p, "iterator went back to %#" PRIx64 " at level %d", it.va, it.level);
		if (!it.leaf)
			continue;
		prev_end = ia + sz;
		leaves[it.level]++;
		uint64_t off;
		struct region *r = region_of(p, it.va, &off);
		if (!r || off + sz > r->size) {
			PFAIL(p, "leaf at %#" PRIx64 " (level %d) lies outside every window", it.va,
			      it.level);
			continue;
		}
		struct nw_attr at;
		f->attr(f, it.entry, it.level, &at);
		uint16_t a = attr_pack(&at);
		uint64_t lpa = f->addr(f, it.entry, it.level);
		for (uint64_t q = 0; q < sz; q += PG) {
			check_page(p, r, off + q, lpa + q, a, it.level, false);
			r->seen[(off + q) / PG] = 1;
		}
	}
	for (int l = 1; l <= NW_MAX_LEVELS; l++)
		if (leaves[l] != p->pt.leaves[l])
			PFAIL(p, "iterator found %" PRIu64 " leaves at level %d, pt.leaves says %" PRIu64,
			      leaves[l], l, p->pt.leaves[l]);

	/* Model to tables: every mapped page was covered by a leaf. */
	for (int i = 0; i < p->nreg; i++) {
		struct region *r = &p->reg[i];
		for (uint64_t q = 0; q < r->size / PG; q++)
			if (r->pg[q].pa != PA_NONE && !r->seen[q])
				PFAIL(p, "model maps %#" PRIx64 ", no leaf from the iterator covers it",
				      r->base + q * (uint64_t)PG);
	}

	/* Ranged iteration: a window, and a random part of one. */
	for (int k = 0; k < 2; k++) {
		struct region *r = &p->reg[rnd(p, (uint64_t)p->nreg)];
		uint64_t s = 0, e = r->size;
		if (k) {
			s = rnd(p, r->size / PG) * PG;
			e = s + PG + rnd(p, (r->size - s) / PG) * PG;
			if (e > r->size)
				e = r->size;
		}
		uint64_t vs = r->base + s, ve = r->base + e; /* ve may wrap to 0: the top */
		uint64_t pages = 0, want = 0;
		nw_pt_for_each(&it, &p->pt, vs, ve) {
			uint64_t sz = NW_LEVEL_SIZE(it.level), ia = to_index(p, it.va);
			if (ia + sz <= to_index(p, vs) || ia >= to_index(p, vs) + (e - s))
				PFAIL(p, "iteration over [%#" PRIx64 ", %#" PRIx64 ") visited %#" PRIx64
				      " level %d", vs, ve, it.va, it.level);
			if (!it.leaf)
				continue;
			uint64_t lo = ia > to_index(p, vs) ? ia : to_index(p, vs);
			uint64_t hi = ia + sz < to_index(p, vs) + (e - s) ? ia + sz
									  : to_index(p, vs) + (e - s);
			pages += (hi - lo) / PG;
		}
		for (uint64_t q = s; q < e; q += PG)
			want += r->pg[q / PG].pa != PA_NONE;
		if (pages != want)
			PFAIL(p, "iteration over [%#" PRIx64 ", %#" PRIx64 ") covered %" PRIu64
			      " pages, the model maps %" PRIu64, vs, ve, pages, want);
	}

	if (nw_pt_check(&p->pt, p->msg, sizeof(p->msg)))
		PFAIL(p, "nw_pt_check: %s", p->msg);
}

/* ---- set-up ---- */

static void prop_init(struct prop *p, const struct layout *lay, uint64_t seed)
{
	memset(p, 0, sizeof(*p));
	p->lay = lay;
	p->seed = seed;
	p->rng.s = seed;
	assert_int_equal(nw_fmt_x86_init(&p->fmt, MAXPHY, lay->fmt_options), 0);
	p->mem = nw_test_arena(512ull << 20, MAXPHY);
	struct nw_pt_cfg cfg = { .fmt = &p->fmt, .mem = p->mem, .levels = lay->levels,
				 .linear = lay->linear };
	assert_int_equal(nw_pt_init(&p->pt, &cfg), 0);
	p->nreg = lay->nwin;
	for (int i = 0; i < lay->nwin; i++) {
		struct region *r = &p->reg[i];
		r->base = lay->win[i].base;
		r->size = lay->win[i].size;
		r->pg = malloc(r->size / PG * sizeof(*r->pg));
		r->chunk = calloc(r->size / MIB2, sizeof(*r->chunk));
		r->seen = malloc(r->size / PG);
		assert_true(r->pg && r->chunk && r->seen);
		for (uint64_t q = 0; q < r->size / PG; q++)
			r->pg[q] = (struct mpage){ .pa = PA_NONE };
	}
}

static void prop_fini(struct prop *p)
{
	nw_pt_destroy(&p->pt);
	assert_int_equal(p->mem->frames_in_use, 0);
	nw_mem_destroy(p->mem);
	for (int i = 0; i < p->nreg; i++) {
		free(p->reg[i].pg);
		free(p->reg[i].chunk);
		free(p->reg[i].seen);
	}
	free(p->before.v);
	free(p->after.v);
}

/* ---- generating operations ---- */

static struct nw_attr gen_attr(struct prop *p)
{
	static const struct nw_attr palette[] = {
		{ .prot = NW_PROT_RW },
		{ .prot = NW_PROT_R | NW_PROT_X },
		{ .prot = NW_PROT_RW | NW_PROT_U, .memtype = 6, .pkey = 3 },
		{ .prot = NW_PROT_RWX | NW_PROT_U, .memtype = 5, .global = true, .pkey = 15 },
	};

	if (rnd(p, 4))
		return palette[rnd(p, 4)];
	return (struct nw_attr){
		.prot = NW_PROT_R | (uint32_t)rnd(p, 8) << 1,
		.memtype = (uint8_t)rnd(p, 8),
		.global = rnd(p, 2),
		.pkey = (uint8_t)rnd(p, 16),
	};
}

/* 1..max, log-uniform. */
static uint64_t logu(struct prop *p, uint64_t max)
{
	unsigned bits = 0;
	while ((2ull << bits) <= max)
		bits++;
	uint64_t n = 1ull << rnd(p, bits + 1);
	n += rnd(p, n);
	return n > max ? max : n;
}

/* A page-aligned range inside one window, often near recent operations. */
static void gen_range(struct prop *p, struct op *op)
{
	int ri = (int)rnd(p, (uint64_t)p->nreg);
	uint64_t anchor = UINT64_MAX;

	if (p->hist.n && rnd(p, 100) < 60) {
		const struct ring_ent *h = &p->hist.e[rnd(p, p->hist.n)];
		ri = h->reg;
		anchor = h->off;
	}
	struct region *r = &p->reg[ri];
	if (anchor == UINT64_MAX)
		anchor = rnd(p, r->size / PG) * PG;

	uint64_t g = rnd(p, 100), off, len;
	if (g < 52) {           /* 4 KiB granules, up to 8 MiB */
		len = logu(p, 2048) * PG;
		off = anchor + (rnd(p, 129) - 64) * PG;
	} else if (g < 94) {    /* 2 MiB granules, up to 64 MiB, ends often ragged */
		len = logu(p, 32) * MIB2;
		off = align_down(anchor, MIB2) + (rnd(p, 9) - 4) * MIB2;
		if (rnd(p, 3) == 0)
			off += (rnd(p, 17) - 8) * PG;
		if (rnd(p, 3) == 0)
			len += rnd(p, 16) * PG;
	} else {                /* 1 GiB granules */
		len = (1 + rnd(p, r->size / GIB)) * GIB;
		off = align_down(anchor, GIB);
		if (rnd(p, 3) == 0)
			len -= (1 + rnd(p, 4)) * MIB2;
	}
	if (len > r->size)
		len = r->size;
	if (off > UINT64_MAX / 2) /* the jitter went below the window */
		off = 0;
	if (off >= r->size || r->size - off < len)
		off = r->size - len;
	op->reg = ri;
	op->va = r->base + off;
	op->len = len;
	ring_put(p, &p->hist, ri, off, 0);
}

static uint64_t gen_pa(struct prop *p, const struct op *op)
{
	uint64_t r = rnd(p, 10);

	if (r < 4) /* the same for every map of va: neighbours line up, so they collapse */
		return (to_index(p, op->va) & ((1ull << 44) - 1)) + (1ull << 44);
	if (r < 8 || op->len > MIB2) /* congruent to va modulo 1 GiB: large pages fit */
		return rnd(p, 1ull << 14) * GIB + (op->va & (GIB - 1));
	return rnd(p, 1ull << 32) * PG;
}

/* An address in a window, page-aligned or (for split) anywhere in a page. */
static void gen_point(struct prop *p, struct op *op, struct ring *g)
{
	if (g->n && rnd(p, 100) < 75) {
		unsigned i = (unsigned)rnd(p, g->n);
		/* Entries of 1 GiB are rarer; look for one half the time. */
		for (unsigned t = 0; t < g->n && g->e[i].level < 3 && rnd(p, 2); t++)
			i = (unsigned)rnd(p, g->n);
		struct ring_ent h = ring_take(g, i);
		uint64_t sz = NW_LEVEL_SIZE(h.level);
		op->reg = h.reg;
		op->va = p->reg[h.reg].base + h.off + rnd(p, sz / PG) * PG;
		if (g == &p->coll)
			op->level = h.level;
	} else {
		gen_range(p, op);
		op->len = 0;
	}
	if (op->kind == OP_SPLIT && rnd(p, 4) == 0)
		op->va += rnd(p, PG);
}

/* The return code a valid op in a window must get, from the model and lookups. */
static void predict(struct prop *p, struct op *op)
{
	uint64_t off;
	struct region *r = region_of(p, op->va, &off);
	struct nw_pt_entry e;

	op->expect = 0;
	switch (op->kind) {
	case OP_MAP:
		if (!(op->flags & NW_MAP_REPLACE) && range_any_mapped(r, off, op->len))
			op->expect = -EEXIST;
		break;
	case OP_SPLIT:
		assert_int_equal(nw_pt_lookup(&p->pt, op->va, &e), 0);
		op->level = e.level;
		if (!e.present || e.level == 1)
			op->expect = -ENOENT;
		break;
	case OP_COLLAPSE: {
		/* A table hangs under the entry at `level` iff the lookup went deeper. */
		assert_int_equal(nw_pt_lookup(&p->pt, op->va, &e), 0);
		if (e.level >= op->level) {
			op->expect = -ENOENT;
			break;
		}
		uint64_t sz = NW_LEVEL_SIZE(op->level), csz = NW_LEVEL_SIZE(op->level - 1);
		uint64_t b = align_down(off, sz);
		const struct mpage *first = mpage_at(r, b);
		if (first->pa == PA_NONE || (first->pa & (sz - 1)))
			op->expect = -EINVAL;
		for (uint64_t i = 0; i < 512 && !op->expect; i++) {
			struct nw_pt_entry c;
			assert_int_equal(nw_pt_lookup(&p->pt, r->base + b + i * csz, &c), 0);
			if (!c.present || c.level != op->level - 1)
				op->expect = -EINVAL;
		}
		for (uint64_t q = 0; q < sz && !op->expect; q += PG) {
			const struct mpage *m = mpage_at(r, b + q);
			if (m->pa != first->pa + q || m->attr != first->attr)
				op->expect = -EINVAL;
		}
		break;
	}
	default:
		break;
	}
}

/* Keep a range that gets a misalignment added inside its window. */
static void shrink_for_misalign(struct prop *p, struct op *op)
{
	uint64_t off;
	struct region *r = region_of(p, op->va, &off);

	if (op->len < 2 * PG)
		op->len = 2 * PG;
	if (op->len > r->size - 2 * PG)
		op->len = r->size - 2 * PG;
	if (r->size - off < op->len + PG)
		op->va = r->base + r->size - op->len - PG;
}

static const struct bad_range *gen_bad(struct prop *p)
{
	return &p->lay->bad[rnd(p, (uint64_t)p->lay->nbad)];
}

/* A bad range whose first address is itself out of the table's reach. */
static const struct bad_range *gen_bad_point(struct prop *p)
{
	for (;;) {
		const struct bad_range *b = gen_bad(p);
		if (p->lay->linear ? !nw_x86_canonical(b->va, p->lay->levels)
				   : b->va >= span_of(p))
			return b;
	}
}

/* An operation that must fail for its arguments alone, whatever the state. */
static void gen_error(struct prop *p, struct op *op)
{
	const struct bad_range *bad;

	gen_range(p, op);
	op->kind = OP_MAP;
	op->pa = gen_pa(p, op);
	op->attr = gen_attr(p);
	op->flags = NW_MAP_MAX_1G | (rnd(p, 2) ? NW_MAP_REPLACE : 0);
	op->expect = -EINVAL;
	switch (rnd(p, 16)) {
	case 0:
		shrink_for_misalign(p, op);
		op->va += 1 + rnd(p, PG - 1);
		break;
	case 1:
		op->pa += 1 + rnd(p, PG - 1);
		break;
	case 2:
		shrink_for_misalign(p, op);
		op->len += 1 + rnd(p, PG - 1);
		break;
	case 3:
		op->len = 0;
		break;
	case 4:
		op->flags &= ~NW_MAP_LEVEL_MASK; /* no page size at all */
		break;
	case 5:
		op->flags |= 0x200u << rnd(p, 8);
		break;
	case 6:
	case 12:
		switch (rnd(p, 4)) {
		case 0: op->attr.prot &= ~NW_PROT_R; break;   /* x86 cannot map a page unreadable */
		case 1: op->attr.prot |= 0x10u << rnd(p, 4); break;
		case 2: op->attr.memtype = (uint8_t)(8 + rnd(p, 248)); break;
		default: op->attr.pkey = (uint8_t)(16 + rnd(p, 240)); break;
		}
		if (rnd(p, 2) == 0 || op->attr.prot == 0)
			op->kind = OP_PROTECT;
		break;
	case 7:
		bad = gen_bad(p);
		op->va = bad->va;
		op->len = bad->len;
		op->reg = -1;
		op->pa = 0x40000000;
		op->expect = -ERANGE;
		break;
	case 8:
		op->pa = rnd(p, 2) ? (1ull << MAXPHY) + rnd(p, 1024) * GIB
				   : (1ull << MAXPHY) - op->len + (1 + rnd(p, op->len / PG)) * PG;
		op->expect = -ERANGE;
		break;
	case 9:
	case 11:
		op->kind = rnd(p, 2) ? OP_UNMAP : OP_PROTECT;
		shrink_for_misalign(p, op);
		if (rnd(p, 3) == 0)
			op->len = 0;
		else if (rnd(p, 2))
			op->va += 1 + rnd(p, PG - 1);
		else
			op->len += 1 + rnd(p, PG - 1);
		break;
	case 10:
	case 13:
		bad = gen_bad(p);
		op->kind = rnd(p, 2) ? OP_UNMAP : OP_PROTECT;
		op->va = bad->va;
		op->len = bad->len;
		op->reg = -1;
		op->expect = -ERANGE;
		break;
	case 14:
		bad = gen_bad_point(p);
		op->kind = (enum op_kind)(OP_SPLIT + rnd(p, 3)); /* split, collapse, lookup */
		op->va = bad->va + rnd(p, PG);
		op->len = 0;
		op->level = 2 + (int)rnd(p, 2);
		op->reg = -1;
		op->expect = -ERANGE;
		break;
	default: {
		static const int bad_levels[] = { -1, 0, 1, 4, 5, 6 };
		op->kind = OP_COLLAPSE;
		op->len = 0;
		op->level = bad_levels[rnd(p, 6)];
		break;
	}
	}
	if (op->kind == OP_MAP && op->expect == -EINVAL && op->attr.prot == 0)
		op->attr.prot = NW_PROT_W; /* still bad: no R */
}

static void gen_op(struct prop *p, struct op *op)
{
	uint64_t k = rnd(p, 100);

	memset(op, 0, sizeof(*op));
	if (k < 14) {
		gen_error(p, op);
		return;
	}
	if (k < 50) {
		op->kind = OP_MAP;
		gen_range(p, op);
		op->pa = gen_pa(p, op);
		op->attr = gen_attr(p);
		/* Large ranges mostly in large pages, so 4 KiB leaves stay countable. */
		uint64_t m = rnd(p, 100);
		unsigned maxl = op->len <= MIB2 ? (unsigned)(1 + m % 3)
			      : m < (op->len <= (16ull << 20) ? 15u : 4u) ? NW_MAP_MAX_4K
			      : m < 45 ? NW_MAP_MAX_2M : NW_MAP_MAX_1G;
		op->flags = maxl | (rnd(p, 2) ? NW_MAP_REPLACE : 0);
	} else if (k < 66) {
		op->kind = OP_UNMAP;
		gen_range(p, op);
	} else if (k < 80) {
		op->kind = OP_PROTECT;
		gen_range(p, op);
		op->attr = gen_attr(p);
	} else if (k < 88) {
		op->kind = OP_SPLIT;
		gen_point(p, op, &p->big);
	} else {
		op->kind = OP_COLLAPSE;
		op->level = 2 + (int)rnd(p, 2);
		gen_point(p, op, &p->coll);
	}
	predict(p, op);
}

/* ---- running one operation ---- */

static int op_call(struct prop *p, const struct op *op, struct nw_inval *inv)
{
	struct nw_pt_entry e;

	switch (op->kind) {
	case OP_MAP:
		return nw_pt_map(&p->pt, op->va, op->pa, op->len, &op->attr, op->flags, inv);
	case OP_UNMAP:
		return nw_pt_unmap(&p->pt, op->va, op->len, inv);
	case OP_PROTECT:
		return nw_pt_protect(&p->pt, op->va, op->len, &op->attr, inv);
	case OP_SPLIT:
		return nw_pt_split(&p->pt, op->va, inv);
	case OP_COLLAPSE:
		return nw_pt_collapse(&p->pt, op->va, op->level, inv);
	default:
		return nw_pt_lookup(&p->pt, op->va, &e);
	}
}

/* The window-relative range an op can touch: [*lo, *hi), and the index range. */
static void op_span(struct prop *p, const struct op *op, uint64_t *lo, uint64_t *hi)
{
	uint64_t off;
	struct region *r = region_of(p, op->va, &off);
	uint64_t len = op->len;

	if (op->kind == OP_SPLIT || op->kind == OP_COLLAPSE || op->kind == OP_LOOKUP) {
		uint64_t sz = op->kind == OP_COLLAPSE && op->level >= 2 && op->level <= 3
				      ? NW_LEVEL_SIZE(op->level) : GIB;
		off = align_down(off, sz);
		len = sz;
	}
	off = align_down(off, PG);
	len = (len + PG - 1) & ~(PG - 1);
	if (!len)
		len = PG;
	if (off + len > r->size)
		len = r->size - off;
	*lo = off;
	*hi = off + len;
}

struct counters {
	uint64_t frames, tables, leaves[NW_MAX_LEVELS + 1];
};

static void counters_get(const struct prop *p, struct counters *c)
{
	c->frames = p->mem->frames_in_use;
	c->tables = p->pt.table_pages;
	memcpy(c->leaves, p->pt.leaves, sizeof(c->leaves));
}

/* Run op; on success apply it to the model and find what it changed. */
static void op_exec(struct prop *p, const struct op *op, struct outcome *o)
{
	uint64_t lo = 0, hi = 0, s = 0, e = span_of(p), dig = 0;
	bool in_win = op->reg >= 0;
	bool digest = in_win || p->pt.table_pages <= 256 || p->opno % 4 == 0;
	struct counters c0, c1;

	memset(o, 0, sizeof(*o));
	if (in_win) {
		op_span(p, op, &lo, &hi);
		s = to_index(p, p->reg[op->reg].base + lo);
		e = s + (hi - lo);
		p->before.n = 0;
		tw_walk(p, p->pt.root, p->lay->levels, 0, s, e, &p->before, NULL);
	}
	counters_get(p, &c0);
	if (op->expect && digest)
		dig = tw_digest(p, s, e);

	o->rc = op_call(p, op, &o->inv);
	if (o->rc != op->expect)
		PFAIL(p, "returned %d, the model predicts %d", o->rc, op->expect);
	if (o->rc) {
		counters_get(p, &c1);
		if (memcmp(&c0, &c1, sizeof(c0)))
			PFAIL(p, "failed with %d but changed frames %" PRIu64 "->%" PRIu64 ", tables %"
			      PRIu64 "->%" PRIu64 " or leaf counts", o->rc, c0.frames, c1.frames,
			      c0.tables, c1.tables);
		if (digest && tw_digest(p, s, e) != dig)
			PFAIL(p, "failed with %d but the tables changed", o->rc);
		return;
	}
	model_apply(p, op, &o->ch);
	if (in_win) {
		p->after.n = 0;
		tw_walk(p, p->pt.root, p->lay->levels, 0, s, e, &p->after, NULL);
		o->ch.nonleaf = nonleaf_changed(&p->before, &p->after);
	}
}

static void op_verify(struct prop *p, const struct op *op, const struct outcome *o)
{
	const char *bad;

	if (p->mem->frames_in_use != p->pt.table_pages)
		PFAIL(p, "frames_in_use %" PRIu64 " != table_pages %" PRIu64,
		      p->mem->frames_in_use, p->pt.table_pages);
	if (o->rc == 0 && (bad = inval_check(&o->inv, &o->ch, p->msg, sizeof(p->msg))))
		PFAIL(p, "inval {kind %d, %#" PRIx64 ", %#" PRIx64 "}: %s", (int)o->inv.kind,
		      o->inv.start, o->inv.end, bad);
	if (op->reg >= 0) {
		struct region *r = &p->reg[op->reg];
		uint64_t lo, hi, xlo = 0, xhi = 0;
		op_span(p, op, &lo, &hi);
		if (o->rc == 0 && op->kind != OP_UNMAP && op->kind != OP_PROTECT) {
			xlo = lo;
			xhi = hi;
			if (op->kind == OP_SPLIT) { /* the old leaf's block */
				uint64_t sz = NW_LEVEL_SIZE(op->level);
				xlo = align_down((op->va & ~(PG - 1)) - r->base, sz);
				xhi = xlo + sz;
			}
		}
		if (nw_pt_check_range(&p->pt, r->base + lo, hi - lo, p->msg, sizeof(p->msg)))
			PFAIL(p, "nw_pt_check_range: %s", p->msg);
		uint64_t wlo = align_down(lo, MIB2), whi = (hi + MIB2 - 1) & ~(MIB2 - 1);
		if (whi > r->size)
			whi = r->size;
		if (op->kind == OP_SPLIT && xhi) {
			wlo = xlo < wlo ? xlo : wlo;
			whi = xhi > whi ? xhi : whi;
		}
		verify_window(p, r, wlo, whi, xlo, xhi);
		/* The pages on either side of each end of the op. */
		uint64_t ends[2] = { lo, hi };
		for (int i = 0; i < 2; i++) {
			if (ends[i] >= PG)
				lookup_point(p, r, ends[i] - PG);
			if (ends[i] < r->size)
				lookup_point(p, r, ends[i]);
		}
	}
	sample_pages(p, SAMPLES);
}

static void stats_note(struct prop *p, const struct op *op, const struct outcome *o)
{
	struct stats *st = &p->st;

	st->ops++;
	if (o->rc == 0) {
		st->ok[op->kind]++;
		if (op->kind == OP_COLLAPSE)
			st->collapse_ok[op->level]++;
		if (op->kind == OP_SPLIT)
			st->split_ok[op->level]++;
		st->inval_leaf += o->inv.kind == NW_INVAL_LEAF;
		st->inval_nonleaf += o->inv.kind == NW_INVAL_NONLEAF;
	} else {
		st->fail[op->kind]++;
	}
	st->eexist += o->rc == -EEXIST;
	st->enoent += o->rc == -ENOENT;
	st->einval += o->rc == -EINVAL;
	st->erange += o->rc == -ERANGE;
	for (int l = 1; l <= NW_MAX_LEVELS; l++)
		if (p->pt.leaves[l] > st->max_leaves[l])
			st->max_leaves[l] = p->pt.leaves[l];
	if (p->pt.table_pages > st->max_tables)
		st->max_tables = p->pt.table_pages;
}

static void run_one(struct prop *p)
{
	struct op op;
	struct outcome o;

	gen_op(p, &op);
	p->cur = &op;
	op_exec(p, &op, &o);
	op_verify(p, &op, &o);
	stats_note(p, &op, &o);
	p->cur = NULL;
	if (++p->opno % CHECK_EVERY == 0)
		full_compare(p);
}

static void stats_add(struct stats *t, const struct stats *s)
{
	t->ops += s->ops;
	for (int k = 0; k < OP_KINDS; k++) {
		t->ok[k] += s->ok[k];
		t->fail[k] += s->fail[k];
	}
	t->eexist += s->eexist;
	t->enoent += s->enoent;
	t->einval += s->einval;
	t->erange += s->erange;
	t->lookups += s->lookups;
	t->samples += s->samples;
	t->full_checks += s->full_checks;
	t->iter_steps += s->iter_steps;
	for (int l = 0; l <= NW_MAX_LEVELS; l++) {
		if (s->max_leaves[l] > t->max_leaves[l])
			t->max_leaves[l] = s->max_leaves[l];
		t->collapse_ok[l] += s->collapse_ok[l];
		t->split_ok[l] += s->split_ok[l];
	}
	if (s->max_tables > t->max_tables)
		t->max_tables = s->max_tables;
	t->inval_leaf += s->inval_leaf;
	t->inval_nonleaf += s->inval_nonleaf;
}

static void stats_print(const char *name, const struct stats *s)
{
	printf("[pt_property] %s: %" PRIu64 " ops checked", name, s->ops);
	for (int k = 0; k < OP_KINDS; k++)
		printf(", %s %" PRIu64 "/%" PRIu64, op_names[k], s->ok[k], s->ok[k] + s->fail[k]);
	printf("\n[pt_property]   errors: EEXIST %" PRIu64 " ENOENT %" PRIu64 " EINVAL %" PRIu64
	       " ERANGE %" PRIu64 "; split ok 2M/1G %" PRIu64 "/%" PRIu64 ", collapse ok 2M/1G %"
	       PRIu64 "/%" PRIu64 "\n", s->eexist, s->enoent, s->einval, s->erange,
	       s->split_ok[2], s->split_ok[3], s->collapse_ok[2], s->collapse_ok[3]);
	printf("[pt_property]   peak leaves 4K/2M/1G %" PRIu64 "/%" PRIu64 "/%" PRIu64
	       ", peak tables %" PRIu64 ", inval LEAF %" PRIu64 " NONLEAF %" PRIu64
	       ",\n[pt_property]   %" PRIu64 " lookups (%" PRIu64 " random), %" PRIu64
	       " iterator steps in op ranges, %" PRIu64 " full comparisons\n",
	       s->max_leaves[1], s->max_leaves[2], s->max_leaves[3], s->max_tables, s->inval_leaf,
	       s->inval_nonleaf, s->lookups, s->samples, s->iter_steps, s->full_checks);
	fflush(stdout);
}

/* ---- tests ---- */

static void test_property(void **state)
{
	struct stats total = { 0 };
	struct timespec t0, t1;
	struct prop *p = calloc(1, sizeof(*p));

	(void)state;
	assert_non_null(p);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (size_t l = 0; l < N_LAYOUTS; l++) {
		for (size_t s = 0; s < N_SEEDS; s++) {
			uint64_t seed = run_seeds[s] ^ (l * 0x9e3779b97f4a7c15ull);
			prop_init(p, &layouts[l], seed);
			for (int i = 0; i < OPS_PER_RUN; i++)
				run_one(p);
			full_compare(p);
			char name[128];
			snprintf(name, sizeof(name), "%s, seed %#" PRIx64, layouts[l].name, seed);
			stats_print(name, &p->st);
			stats_add(&total, &p->st);
			prop_fini(p);
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	stats_print("TOTAL", &total);
	printf("[pt_property] %" PRIu64 " operations checked in %.1f s\n", total.ops,
	       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);

	/* The run must have exercised what it claims to. */
	assert_true(total.ops >= (uint64_t)OPS_PER_RUN * N_LAYOUTS * N_SEEDS);
	assert_true(total.max_leaves[2] > 0 && total.max_leaves[3] > 0);
	assert_true(total.eexist > 0 && total.enoent > 0 && total.einval > 0 && total.erange > 0);
	assert_true(total.split_ok[2] > 0 && total.split_ok[3] > 0);
	assert_true(total.collapse_ok[2] > 0 && total.collapse_ok[3] > 0);
	assert_true(total.inval_leaf > 0 && total.inval_nonleaf > 0);
#ifdef NW_PROP_SLOW
	assert_true(total.ops >= 100000);
#endif
	free(p);
}

/*
 * Negative control: inval_check must flag an engine that under-reports. Take
 * real unmaps' reports and weaken them the ways a buggy engine could.
 */
static void test_inval_check_control(void **state)
{
	struct prop *p = calloc(1, sizeof(*p));
	struct outcome o;
	const char *why;

	(void)state;
	assert_non_null(p);
	prop_init(p, &layouts[0], 1);
	struct region *r = &p->reg[0];
	struct op map = { .kind = OP_MAP, .reg = 0, .va = r->base + 4 * MIB2, .len = MIB2,
			  .pa = 0x40000000 + 4 * MIB2, .attr = { .prot = NW_PROT_RW },
			  .flags = NW_MAP_MAX_4K };
	p->cur = &map;
	op_exec(p, &map, &o);
	op_verify(p, &map, &o);

	/* Unmap two pages: translations vanish, the PT stays. */
	struct op un = { .kind = OP_UNMAP, .reg = 0, .va = map.va + 8 * PG, .len = 2 * PG };
	p->cur = &un;
	op_exec(p, &un, &o);
	assert_int_equal(o.rc, 0);
	assert_true(o.ch.leaf);
	assert_null(inval_check(&o.inv, &o.ch, p->msg, sizeof(p->msg)));
	struct nw_inval bad = o.inv;
	bad.kind = NW_INVAL_NONE; /* "nothing to flush" */
	why = inval_check(&bad, &o.ch, p->msg, sizeof(p->msg));
	assert_non_null(why);
	printf("[pt_property] control: kind NONE flagged: %s\n", why);
	bad.start = bad.end = 0; /* a well-formed "none" */
	why = inval_check(&bad, &o.ch, p->msg, sizeof(p->msg));
	assert_non_null(why);
	printf("[pt_property] control: kind NONE, end 0 flagged: %s\n", why);
	bad = o.inv;
	bad.end = un.va + PG; /* a range one page short */
	assert_non_null(inval_check(&bad, &o.ch, p->msg, sizeof(p->msg)));
	bad = o.inv;
	bad.start = un.va + PG;
	assert_non_null(inval_check(&bad, &o.ch, p->msg, sizeof(p->msg)));
	op_verify(p, &un, &o);

	/* Unmap the rest: the PT (and the tables above it) are freed. */
	struct op all = { .kind = OP_UNMAP, .reg = 0, .va = map.va, .len = MIB2 };
	p->cur = &all;
	op_exec(p, &all, &o);
	assert_true(o.ch.leaf && o.ch.nonleaf);
	assert_null(inval_check(&o.inv, &o.ch, p->msg, sizeof(p->msg)));
	bad = o.inv;
	bad.kind = NW_INVAL_LEAF; /* a freed table reported as a leaf change */
	why = inval_check(&bad, &o.ch, p->msg, sizeof(p->msg));
	assert_non_null(why);
	printf("[pt_property] control: LEAF for a freed table flagged: %s\n", why);
	bad.kind = NW_INVAL_NONE;
	assert_non_null(inval_check(&bad, &o.ch, p->msg, sizeof(p->msg)));
	op_verify(p, &all, &o);
	assert_int_equal(p->pt.table_pages, 1);
	p->cur = NULL;
	prop_fini(p);
	free(p);
}

/*
 * Negative control for the model comparison: corrupt one 2 MiB leaf in
 * memory (its address, as a wrong split would) and the window check and the
 * full comparison must both object.
 */
static void test_model_control(void **state)
{
	struct prop *p = calloc(1, sizeof(*p));
	struct outcome o;
	struct nw_pt_entry e;

	(void)state;
	assert_non_null(p);
	prop_init(p, &layouts[1], 2);
	struct region *r = &p->reg[1];
	struct op map = { .kind = OP_MAP, .reg = 1, .va = r->base + GIB - 2 * MIB2,
			  .len = 4 * MIB2, .pa = 0x80000000 + GIB - 2 * MIB2,
			  .attr = { .prot = NW_PROT_RW }, .flags = NW_MAP_MAX_2M };
	p->cur = &map;
	op_exec(p, &map, &o);
	op_verify(p, &map, &o);
	full_compare(p);
	p->cur = NULL;

	uint64_t off = GIB; /* 2^48 */
	assert_int_equal(nw_pt_lookup(&p->pt, r->base + off, &e), 0);
	assert_true(e.present);
	assert_int_equal(e.level, 2);
	uint64_t *slot = nw_mem_map(p->mem, e.entry_pa);
	uint64_t good = *slot;
	*slot = good + 2 * MIB2; /* the leaf now maps the wrong 2 MiB */
	p->soft = true;
	verify_window(p, r, off, off + MIB2, 0, 0);
	assert_true(p->soft_fails > 0);
	p->soft_fails = 0;
	full_compare(p);
	assert_true(p->soft_fails > 0);
	p->soft_fails = 0;
	p->soft = false;
	*slot = good;
	full_compare(p);
	prop_fini(p);
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inval_check_control),
		cmocka_unit_test(test_model_control),
		cmocka_unit_test(test_property),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
