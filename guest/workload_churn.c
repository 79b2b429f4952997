/* SPDX-License-Identifier: MIT */
/*
 * churn: the threads of one process share a region that vCPU 0 maps afresh
 * every round; every vCPU touches every page (its own word: the first load
 * must read zero, then a store), then reads its neighbour's words; vCPU 0
 * unmaps it. A stale translation left on any vCPU by a missed INVLPG or
 * shootdown reads or writes a frame that now belongs to another page, and
 * the data says so.
 *
 * reads=R adds R loads per page of the region, of random pages, while it
 * stays mapped: the page-table update rate falls from about 2 entry writes
 * per 3 accesses (R = 0) towards none, over tables that stay put; the knob
 * of the shadow-versus-nested crossover sweep (docs/BENCHMARKS.md).
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "workload_internal.h"

#define WORD 8u

struct churn {
	int pid;
	uint64_t base, len, page, pages; /* pages of the guest page size */
	uint64_t *mirror;        /* pages x threads words: what each slot holds */
	uint64_t **order;        /* per thread: its page order this round */
};

static uint64_t churn_len(const struct wl_run *r)
{
	return wl_page_round(r, wl_param(r, "size"));
}

static uint64_t churn_footprint(const struct wl_run *r)
{
	return churn_len(r);
}

static uint64_t churn_page(const struct wl_run *r)
{
	return wl_page_round(r, 1);
}

static uint64_t churn_total_ops(const struct wl_run *r)
{
	return wl_param(r, "rounds") *
	       (2 + churn_len(r) / churn_page(r) * (3 + wl_param(r, "reads")) * r->nthreads);
}

static int churn_init(struct wl_run *r)
{
	struct churn *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	r->priv = c;
	c->len = churn_len(r);
	c->page = churn_page(r);
	c->pages = c->len / c->page;
	c->mirror = calloc(c->pages * r->nthreads, sizeof(*c->mirror));
	c->order = calloc(r->nthreads, sizeof(*c->order));
	if (!c->mirror || !c->order)
		return -ENOMEM;
	for (unsigned i = 0; i < r->nthreads; i++) {
		c->order[i] = calloc(c->pages, sizeof(**c->order));
		if (!c->order[i])
			return -ENOMEM;
	}
	return 0;
}

static void churn_fini(struct wl_run *r)
{
	struct churn *c = r->priv;

	if (!c)
		return;
	for (unsigned i = 0; c->order && i < r->nthreads; i++)
		free(c->order[i]);
	free(c->order);
	free(c->mirror);
	free(c);
	r->priv = NULL;
}

/* A fresh seeded order of the pages for this thread and round. */
static void churn_shuffle(struct wl_thread *t, struct churn *c)
{
	uint64_t *o = c->order[t->id];

	for (uint64_t p = 0; p < c->pages; p++)
		o[p] = p;
	for (uint64_t p = c->pages - 1; p > 0; p--) {
		uint64_t q = wl_below(&t->rng, p + 1), x = o[p];
		o[p] = o[q];
		o[q] = x;
	}
}

/* Word w of page p: each thread owns one word of each guest page. */
static int churn_access(struct wl_thread *t, uint64_t p, unsigned w, bool store)
{
	struct wl_run *r = t->run;
	struct churn *c = r->priv;
	uint64_t *m = &c->mirror[p * r->nthreads + w], x;
	uint64_t gva = c->base + p * c->page + (uint64_t)w * WORD;

	if (store) {
		x = wl_value(r->seed, t->j, p * r->nthreads + w);
		WL_TRY(wl_store(t, gva, x));
		*m = x;
		return 0;
	}
	WL_TRY(wl_load(t, gva, &x));
	wl_expect(t, x, *m);
	return 0;
}

static int churn_step(struct wl_thread *t)
{
	struct wl_run *r = t->run;
	struct churn *c = r->priv;

	WL_BEGIN(t);
	if (t->id == 0) {
		WL_TRY(wl_spawn(t, &c->pid));
		WL_YIELD(t);
	}
	WL_BARRIER(t, WL_EV_NONE);
	WL_TRY(wl_switch(t, c->pid));
	WL_YIELD(t);
	WL_BARRIER(t, WL_EV_START);
	for (t->j = 0; t->j < wl_param(r, "rounds"); t->j++) {
		if (t->id == 0) {
			WL_TRY(wl_mmap(t, c->len, &c->base));
			memset(c->mirror, 0, c->pages * r->nthreads * sizeof(*c->mirror));
			WL_YIELD(t);
		}
		WL_BARRIER(t, WL_EV_NONE);
		churn_shuffle(t, c);
		/* Touch: the first load of a fresh page reads zero. */
		for (t->i = 0; t->i < c->pages; t->i++) {
			WL_TRY(churn_access(t, c->order[t->id][t->i], t->id, false));
			WL_YIELD(t);
			WL_TRY(churn_access(t, c->order[t->id][t->i], t->id, true));
			WL_YIELD(t);
		}
		/* Read the neighbour's words, once every vCPU has written its own. */
		WL_BARRIER(t, WL_EV_NONE);
		for (t->i = 0; t->i < c->pages; t->i++) {
			WL_TRY(churn_access(t, c->order[t->id][t->i], (t->id + 1) % r->nthreads, false));
			WL_YIELD(t);
		}
		/* Loads of random pages over tables that do not change. */
		for (t->i = 0; t->i < c->pages * wl_param(r, "reads"); t->i++) {
			WL_TRY(churn_access(t, wl_below(&t->rng, c->pages), t->id, false));
			WL_YIELD(t);
		}
		WL_BARRIER(t, WL_EV_NONE);
		if (t->id == 0) {
			WL_TRY(wl_munmap(t, c->base, c->len));
			WL_YIELD(t);
		}
	}
	WL_BARRIER(t, WL_EV_STOP);
	if (t->id == 0) {
		WL_TRY(wl_exit(t));
		WL_YIELD(t);
	}
	WL_END(t);
}

static const struct wl_key churn_keys[] = {
	{ "size", WL_SIZE, 256ull << 10, 4096, 1ull << 34, "bytes mapped each round" },
	{ "rounds", WL_COUNT, 64, 1, 1ull << 32, "mmap, touch, munmap rounds" },
	{ "reads", WL_COUNT, 0, 0, 1ull << 20, "random loads per page while mapped (0: none)" },
	{ "huge", WL_BOOL, 0, 0, 1, "2 MiB guest pages (default: --guest-pages)" },
	{ NULL },
};

const struct wl_def wl_def_churn = {
	.name = "churn",
	.help = "mmap a region, every vCPU touches every page, munmap; repeat",
	.keys = churn_keys,
	.footprint = churn_footprint,
	.total_ops = churn_total_ops,
	.init = churn_init,
	.step = churn_step,
	.fini = churn_fini,
};
