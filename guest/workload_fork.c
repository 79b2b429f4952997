/* SPDX-License-Identifier: MIT */
/*
 * fork: each vCPU runs a family. The parent fills its memory and, every
 * round, forks children that are all alive at once; each child writes
 * copy-on-write and reads back; the parent writes too and reads all of its
 * memory, which must show none of its children's writes; then the exit
 * storm, in which each child checks it saw none of its siblings' writes.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "workload_internal.h"


#define FORK_STRIDE 512u /* eight words a page */

struct family {
	int parent;
	int *kids;
	uint64_t base;
	uint64_t **mirror;       /* [0] the parent's view, [1 + c] child c's */
};

struct forkwl {
	uint64_t len, nslots, children, writes;
	struct family *fam;      /* per thread */
};

static uint64_t fork_footprint(const struct wl_run *r)
{
	uint64_t len = wl_page_round(r, wl_param(r, "ws"));
	uint64_t copies = wl_param(r, "children") * wl_param(r, "writes") * 2 + wl_param(r, "writes");

	/* Each copy-on-write copies a 4 KiB page (a 2 MiB one is split first). */
	return (len + copies * NW_PAGE_SIZE) * r->nthreads;
}

static uint64_t fork_total_ops(const struct wl_run *r)
{
	uint64_t slots = wl_param(r, "ws") / FORK_STRIDE, kids = wl_param(r, "children");
	uint64_t writes = wl_param(r, "writes");

	return r->nthreads * (3 + slots + wl_param(r, "forks") *
				      (kids * (4 + 3 * writes) + 2 + writes + slots));
}

static int fork_init(struct wl_run *r)
{
	struct forkwl *f = calloc(1, sizeof(*f));

	if (!f)
		return -ENOMEM;
	r->priv = f;
	f->len = wl_page_round(r, wl_param(r, "ws"));
	f->nslots = wl_param(r, "ws") / FORK_STRIDE;
	f->children = wl_param(r, "children");
	f->writes = wl_param(r, "writes");
	if (!f->nslots)
		return wl_bad(r, -EINVAL, "ws must be at least %u bytes", FORK_STRIDE);
	f->fam = calloc(r->nthreads, sizeof(*f->fam));
	if (!f->fam)
		return -ENOMEM;
	for (unsigned i = 0; i < r->nthreads; i++) {
		struct family *fa = &f->fam[i];
		fa->kids = calloc(f->children, sizeof(*fa->kids));
		fa->mirror = calloc(f->children + 1, sizeof(*fa->mirror));
		if (!fa->kids || !fa->mirror)
			return -ENOMEM;
		for (uint64_t c = 0; c <= f->children; c++)
			if (!(fa->mirror[c] = calloc(f->nslots, sizeof(uint64_t))))
				return -ENOMEM;
	}
	return 0;
}

static void fork_fini(struct wl_run *r)
{
	struct forkwl *f = r->priv;

	if (!f)
		return;
	for (unsigned i = 0; f->fam && i < r->nthreads; i++) {
		for (uint64_t c = 0; f->fam[i].mirror && c <= f->children; c++)
			free(f->fam[i].mirror[c]);
		free(f->fam[i].mirror);
		free(f->fam[i].kids);
	}
	free(f->fam);
	free(f);
	r->priv = NULL;
}

/* Slot s in the view of process `who` (0: parent, 1 + c: child c). */
static int fork_load(struct wl_thread *t, unsigned who, uint64_t s)
{
	struct forkwl *f = t->run->priv;
	struct family *fa = &f->fam[t->id];
	uint64_t x;

	WL_TRY(wl_load(t, fa->base + s * FORK_STRIDE, &x));
	wl_expect(t, x, fa->mirror[who][s]);
	return 0;
}

static int fork_store(struct wl_thread *t, unsigned who, uint64_t s, uint64_t x)
{
	struct forkwl *f = t->run->priv;
	struct family *fa = &f->fam[t->id];

	WL_TRY(wl_store(t, fa->base + s * FORK_STRIDE, x));
	fa->mirror[who][s] = x;
	return 0;
}

/* A random slot, drawn from the thread's stream. */
static uint64_t fork_slot(struct wl_thread *t)
{
	return wl_below(&t->rng, ((struct forkwl *)t->run->priv)->nslots);
}

static int fork_step(struct wl_thread *t)
{
	struct wl_run *r = t->run;
	struct forkwl *f = r->priv;
	struct family *fa = &f->fam[t->id];

	WL_BEGIN(t);
	WL_TRY(wl_spawn(t, &fa->parent));
	WL_YIELD(t);
	WL_TRY(wl_switch(t, fa->parent));
	WL_YIELD(t);
	WL_TRY(wl_mmap(t, f->len, &fa->base));
	WL_YIELD(t);
	for (t->i = 0; t->i < f->nslots; t->i++) {
		WL_TRY(fork_store(t, 0, t->i, wl_value(r->seed, t->id, t->i)));
		WL_YIELD(t);
	}
	WL_BARRIER(t, WL_EV_START);
	for (t->j = 0; t->j < wl_param(r, "forks"); t->j++) {
		/* The children, all alive at once. */
		for (t->k = 0; t->k < f->children; t->k++) {
			WL_TRY(wl_fork(t, &fa->kids[t->k]));
			memcpy(fa->mirror[1 + t->k], fa->mirror[0], f->nslots * sizeof(uint64_t));
			WL_YIELD(t);
		}
		/* Each child writes (copy-on-write) and reads back. */
		for (t->k = 0; t->k < f->children; t->k++) {
			WL_TRY(wl_switch(t, fa->kids[t->k]));
			WL_YIELD(t);
			for (t->i = 0; t->i < f->writes; t->i++) {
				WL_TRY(fork_store(t, 1 + (unsigned)t->k, fork_slot(t),
						  wl_value(r->seed, (t->id << 24) + t->j, (t->k << 32) + t->i + 1)));
				WL_YIELD(t);
			}
			for (t->i = 0; t->i < 2 * f->writes; t->i++) {
				WL_TRY(fork_load(t, 1 + (unsigned)t->k, fork_slot(t)));
				WL_YIELD(t);
			}
		}
		/* The parent writes too, then sees none of its children's writes. */
		WL_TRY(wl_switch(t, fa->parent));
		WL_YIELD(t);
		for (t->i = 0; t->i < f->writes; t->i++) {
			WL_TRY(fork_store(t, 0, fork_slot(t), wl_value(r->seed, t->j, ~t->i)));
			WL_YIELD(t);
		}
		for (t->i = 0; t->i < f->nslots; t->i++) {
			WL_TRY(fork_load(t, 0, t->i));
			WL_YIELD(t);
		}
		/* The exit storm: each child sees none of its siblings' or the
		 * parent's later writes, and exits. */
		for (t->k = 0; t->k < f->children; t->k++) {
			WL_TRY(wl_switch(t, fa->kids[t->k]));
			WL_YIELD(t);
			for (t->i = 0; t->i < f->writes; t->i++) {
				WL_TRY(fork_load(t, 1 + (unsigned)t->k, fork_slot(t)));
				WL_YIELD(t);
			}
			WL_TRY(wl_exit(t));
			WL_YIELD(t);
		}
		WL_TRY(wl_switch(t, fa->parent));
		WL_YIELD(t);
	}
	WL_BARRIER(t, WL_EV_STOP);
	WL_TRY(wl_exit(t));
	WL_YIELD(t);
	WL_END(t);
}

static const struct wl_key fork_keys[] = {
	{ "ws", WL_SIZE, 1ull << 20, FORK_STRIDE, 1ull << 32, "the parent's memory, per vCPU" },
	{ "forks", WL_COUNT, 8, 1, 1ull << 24, "rounds of fork, write, exit" },
	{ "children", WL_COUNT, 4, 1, 64, "children alive at once" },
	{ "writes", WL_COUNT, 16, 0, 1ull << 20, "words each process writes per round" },
	{ "huge", WL_BOOL, 0, 0, 1, "2 MiB guest pages (default: --guest-pages)" },
	{ NULL },
};

const struct wl_def wl_def_fork = {
	.name = "fork",
	.help = "each vCPU: a parent forks children that write copy-on-write, then all exit",
	.keys = fork_keys,
	.footprint = fork_footprint,
	.total_ops = fork_total_ops,
	.init = fork_init,
	.step = fork_step,
	.fini = fork_fini,
};
