/* SPDX-License-Identifier: MIT */
/*
 * ctxsw: each vCPU runs `procs` processes of its own round-robin, switching
 * (MOV CR3, with PCIDs when the guest has them on) every `slice` accesses
 * to the process's own memory.
 */

#include <errno.h>
#include <stdlib.h>

#include "workload_internal.h"


#define CTX_STRIDE 64u

struct ctxproc {
	int pid;
	uint64_t base;
	uint64_t *mirror;
};

struct ctxsw {
	uint64_t len, nslots, procs, slice;
	struct ctxproc *p;       /* [thread * procs + k] */
};

static uint64_t ctxsw_footprint(const struct wl_run *r)
{
	return wl_page_round(r, wl_param(r, "ws")) * wl_param(r, "procs") * r->nthreads;
}

static uint64_t ctxsw_total_ops(const struct wl_run *r)
{
	uint64_t ops = wl_param(r, "ops");
	uint64_t init = r->real ? wl_param(r, "ws") / CTX_STRIDE : 0;

	return ops + ops / wl_param(r, "slice") +
	       r->nthreads * wl_param(r, "procs") * (4 + init);
}

static int ctxsw_init(struct wl_run *r)
{
	struct ctxsw *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	r->priv = c;
	c->len = wl_page_round(r, wl_param(r, "ws"));
	c->nslots = wl_param(r, "ws") / CTX_STRIDE;
	c->procs = wl_param(r, "procs");
	c->slice = wl_param(r, "slice");
	c->p = calloc(r->nthreads * c->procs, sizeof(*c->p));
	if (!c->p)
		return -ENOMEM;
	for (uint64_t i = 0; r->real && i < r->nthreads * c->procs; i++)
		if (!(c->p[i].mirror = calloc(c->nslots, sizeof(uint64_t))))
			return -ENOMEM;
	return 0;
}

static void ctxsw_fini(struct wl_run *r)
{
	struct ctxsw *c = r->priv;

	if (!c)
		return;
	for (uint64_t i = 0; c->p && i < r->nthreads * c->procs; i++)
		free(c->p[i].mirror);
	free(c->p);
	free(c);
	r->priv = NULL;
}

static int ctxsw_access(struct wl_thread *t, struct ctxproc *p)
{
	struct ctxsw *c = t->run->priv;
	uint64_t s = wl_below(&t->rng, c->nslots), x;

	if (t->i % 4 == 3) {
		x = wl_value(t->run->seed, ((uint64_t)t->id << 32) + t->i, s);
		WL_TRY(wl_store(t, p->base + s * CTX_STRIDE, x));
		if (p->mirror)
			p->mirror[s] = x;
		return 0;
	}
	WL_TRY(wl_load(t, p->base + s * CTX_STRIDE, &x));
	if (p->mirror)
		wl_expect(t, x, p->mirror[s]);
	return 0;
}

static int ctxsw_step(struct wl_thread *t)
{
	struct wl_run *r = t->run;
	struct ctxsw *c = r->priv;
	struct ctxproc *mine = &c->p[t->id * c->procs];

	WL_BEGIN(t);
	for (t->k = 0; t->k < c->procs; t->k++) {
		WL_TRY(wl_spawn(t, &mine[t->k].pid));
		WL_YIELD(t);
		WL_TRY(wl_switch(t, mine[t->k].pid));
		WL_YIELD(t);
		WL_TRY(wl_mmap(t, c->len, &mine[t->k].base));
		WL_YIELD(t);
		for (t->i = 0; r->real && t->i < c->nslots; t->i++) {
			uint64_t x = wl_value(r->seed, t->id * c->procs + t->k, t->i);
			WL_TRY(wl_store(t, mine[t->k].base + t->i * CTX_STRIDE, x));
			mine[t->k].mirror[t->i] = x;
			WL_YIELD(t);
		}
	}
	WL_BARRIER(t, WL_EV_START);
	t->n = wl_share(t, wl_param(r, "ops"));
	for (t->i = 0; t->i < t->n; t->i++) {
		if (t->i % c->slice == 0) {
			t->k = (t->i / c->slice) % c->procs;
			WL_TRY(wl_switch(t, mine[t->k].pid));
			WL_YIELD(t);
		}
		WL_TRY(ctxsw_access(t, &mine[t->k]));
		WL_YIELD(t);
	}
	WL_BARRIER(t, WL_EV_STOP);
	for (t->k = 0; t->k < c->procs; t->k++) {
		WL_TRY(wl_switch(t, mine[t->k].pid));
		WL_YIELD(t);
		WL_TRY(wl_exit(t));
		WL_YIELD(t);
	}
	WL_END(t);
}

static const struct wl_key ctxsw_keys[] = {
	{ "procs", WL_COUNT, 4, 1, 4096, "processes per vCPU" },
	{ "ws", WL_SIZE, 256ull << 10, CTX_STRIDE, 1ull << 34, "memory of each process" },
	{ "ops", WL_COUNT, 100000, 1, 1ull << 40, "accesses, over all vCPUs" },
	{ "slice", WL_COUNT, 100, 1, 1ull << 32, "accesses per time slice" },
	{ "huge", WL_BOOL, 0, 0, 1, "2 MiB guest pages (default: --guest-pages)" },
	{ NULL },
};

const struct wl_def wl_def_ctxsw = {
	.name = "ctxsw",
	.help = "each vCPU runs N processes round-robin, switching CR3 every slice",
	.keys = ctxsw_keys,
	.footprint = ctxsw_footprint,
	.total_ops = ctxsw_total_ops,
	.init = ctxsw_init,
	.step = ctxsw_step,
	.fini = ctxsw_fini,
};
