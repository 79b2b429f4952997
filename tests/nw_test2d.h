/* SPDX-License-Identifier: MIT */
#ifndef NW_TEST2D_H
#define NW_TEST2D_H

/*
 * A two-dimensional test world: host memory (an arena), guest memory (a
 * window of it at HPA `off`, handed out by a guest frame allocator), guest
 * x86-64 tables in guest memory, and EPT or NPT tables mapping the guest
 * window.
 */

#include <string.h>

#include <nestwalk/ept.h>
#include <nestwalk/npt.h>

#include "nw_test.h"

#define T2_GiB (1ull << 30)
#define T2_MiB (1ull << 20)

/* Guest-physical frames: sequential from `next`, backed at host `off + gpa`. */
struct t2_gmem {
	struct nw_mem mem;
	struct nw_mem *host;
	uint64_t off, size, next;
};

static inline int t2_gmem_alloc(struct nw_mem *m, uint64_t *gpa)
{
	struct t2_gmem *g = (struct t2_gmem *)m;
	if (g->next + NW_PAGE_SIZE > g->size)
		return -12;
	*gpa = g->next;
	g->next += NW_PAGE_SIZE;
	memset(nw_mem_map(g->host, g->off + *gpa), 0, NW_PAGE_SIZE);
	return 0;
}

static inline void t2_gmem_free(struct nw_mem *m, uint64_t gpa) { (void)m; (void)gpa; }

static inline void *t2_gmem_map(struct nw_mem *m, uint64_t gpa)
{
	struct t2_gmem *g = (struct t2_gmem *)m;
	return gpa < g->size ? nw_mem_map(g->host, g->off + gpa) : NULL;
}

struct t2_world {
	struct nw_mem *host;
	struct t2_gmem gmem;
	struct nw_fmt gfmt;
	struct nw_pt guest;        /* guest tables, at GPAs */
	bool amd;
	struct nw_ept ept;
	struct nw_npt npt;
	struct nw_acc hacc;        /* host-physical accessor */
	struct nw_walk2d_cfg cfg;
};

/* Map guest-physical [gpa, gpa + len) to the host window, all rights. */
static inline void t2_nested_map(struct t2_world *w, uint64_t gpa, uint64_t len, unsigned max)
{
	if (w->amd)
		assert_int_equal(nw_npt_map(&w->npt, gpa, w->gmem.off + gpa, len,
					    NW_PROT_RWX | NW_PROT_U, 0, max, NULL), 0);
	else
		assert_int_equal(nw_ept_map(&w->ept, gpa, w->gmem.off + gpa, len, NW_PROT_RWX,
					    NW_EPT_MT_WB, max, NULL), 0);
}

/*
 * glevels/hlevels: 4 or 5. Guest memory is `gsize` bytes at GPA 0, host
 * window at HPA 64 GiB, mapped whole by the nested tables with pages of at
 * most host_max (NW_MAP_MAX_*), all rights; host_max 0 maps nothing, and the
 * test maps what it needs with t2_nested_map.
 */
static inline void t2_init(struct t2_world *w, bool amd, int glevels, int hlevels,
			   uint64_t gsize, unsigned host_max, uint64_t guest_first_frame)
{
	static const struct nw_mem_ops gops = {
		.alloc = t2_gmem_alloc, .free = t2_gmem_free, .map = t2_gmem_map,
	};
	memset(w, 0, sizeof(*w));
	w->amd = amd;
	w->host = nw_test_arena(64 * T2_GiB + gsize, 46);
	assert_int_equal(nw_mem_init(&w->gmem.mem, &gops, 46), 0);
	w->gmem.host = w->host;
	w->gmem.off = 64 * T2_GiB;
	w->gmem.size = gsize;
	w->gmem.next = guest_first_frame;
	assert_int_equal(nw_fmt_x86_init(&w->gfmt, 46, 0), 0);
	struct nw_pt_cfg gc = { .fmt = &w->gfmt, .mem = &w->gmem.mem, .levels = glevels, .linear = true };
	assert_int_equal(nw_pt_init(&w->guest, &gc), 0);
	nw_acc_plain(&w->hacc, w->host);

	w->cfg.acc = &w->hacc;
	w->cfg.gfmt = &w->gfmt;
	w->cfg.gcr3 = w->guest.root;
	w->cfg.gmode = (struct nw_x86_mode){ .levels = glevels, .wp = true, .nxe = true };
	w->cfg.hlevels = hlevels;
	if (amd) {
		assert_int_equal(nw_npt_init(&w->npt, w->host, hlevels, true), 0);
		w->cfg.hfmt = &w->npt.fmt;
		w->cfg.hroot = w->npt.pt.root;
		w->cfg.hmode = NW_FMT_NXE;
	} else {
		assert_int_equal(nw_ept_init(&w->ept, w->host, NULL, hlevels), 0);
		w->cfg.hfmt = &w->ept.fmt;
		w->cfg.hroot = w->ept.pt.root;
	}
	if (host_max)
		t2_nested_map(w, 0, gsize, host_max);
}

static inline struct nw_pt *t2_nested(struct t2_world *w)
{
	return w->amd ? &w->npt.pt : &w->ept.pt;
}

/* After tests corrupt tables on purpose: drop all memory without walking them. */
static inline void t2_abandon(struct t2_world *w)
{
	nw_mem_destroy(w->host);
}

static inline void t2_destroy(struct t2_world *w)
{
	if (w->amd)
		nw_npt_destroy(&w->npt);
	else
		nw_ept_destroy(&w->ept);
	nw_pt_destroy(&w->guest);
	nw_mem_destroy(w->host);
}

#endif
