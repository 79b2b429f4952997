/* SPDX-License-Identifier: MIT */
/*
 * The runner: size guest RAM from the workload, create the VM, boot the
 * guest, and interleave the vCPUs' programs deterministically (round-robin,
 * `quantum` operations a turn), then collect the figures.
 *
 * Nothing here depends on the mode but the VM itself, so a workload, seed
 * and vCPU count perform the same guest operations in the same order in
 * every mode, and read the same data when the translations are right.
 */

#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "run_internal.h"

#define MB (1ull << 20)
#define ROUND_2M(x) (((x) + (2 * MB - 1)) & ~(2 * MB - 1))
#define DEFAULT_QUANTUM 64

/* ---- private prototypes ---- */
static int schedule(struct runner *R, uint64_t total);
static void on_event(void *arg, enum wl_event ev);

void nw_run_cfg_default(struct nw_run_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	nw_vm_cfg_default(&cfg->vm);
	nw_guest_cfg_default(&cfg->guest);
	nw_workload_parse("seq", &cfg->wl, NULL, 0);
	cfg->guest_page = NW_PAGE_4K;
	cfg->seed = 1;
	cfg->data = NW_DATA_REAL;
	cfg->quantum = DEFAULT_QUANTUM;
	cfg->vm.ram = 0;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void on_event(void *arg, enum wl_event ev)
{
	struct runner *R = arg;

	if (ev == WL_EV_START) {
		R->ops_at_start = R->ops;
		R->nstart = run_collect(R, R->start, NW_RUN_STATS_MAX);
	} else {
		R->nstop = run_collect(R, R->stop, NW_RUN_STATS_MAX);
	}
}

static void maybe_hook(struct runner *R)
{
	const struct nw_run_cfg *c = R->cfg;

	if (c->hook && !R->hooked && R->sync.phase >= 1 && R->ops - R->ops_at_start >= c->hook_at) {
		R->hooked = true;
		c->hook(c->hook_arg, R->vm, R->g);
	}
}

/*
 * Round-robin over the vCPUs that have not finished, `quantum` steps a
 * turn; a thread waiting at a barrier gives up the rest of its turn.
 */
static int schedule(struct runner *R, uint64_t total)
{
	const struct nw_run_cfg *c = R->cfg;
	unsigned quantum = c->quantum ? c->quantum : DEFAULT_QUANTUM;
	uint64_t every = total / 256 ? total / 256 : 1, next = every;

	while (R->sync.live) {
		unsigned gen = R->sync.gen;
		bool progress = false;
		for (unsigned i = 0; i < R->r.nthreads; i++) {
			struct wl_thread *t = &R->t[i];
			for (unsigned q = 0; q < quantum && t->pc >= 0; q++) {
				maybe_hook(R);
				int rc = R->r.def->step(t);
				if (rc < 0)
					return rc;
				if (rc == WL_BLOCK)
					break;
				if (rc == WL_DONE) {
					/*
					 * Finished for good: a workload may return DONE
					 * with its pc still set (mix does, between phases).
					 */
					t->pc = -1;
					wl_thread_finished(&R->sync);
					progress = true;
					break;
				}
				R->ops++;
				progress = true;
				if (c->progress && R->ops >= next) {
					c->progress(c->progress_arg, R->ops < total ? R->ops : total, total);
					next = R->ops + every;
				}
			}
		}
		if (!progress && gen == R->sync.gen)
			return wl_bad(&R->r, -EDEADLK, "every vCPU waits at a barrier");
	}
	if (c->progress)
		c->progress(c->progress_arg, total, total);
	return 0;
}

/* Guest RAM and the kernel's share of it, from the workload's footprint. */
static void size_ram(const struct nw_run_cfg *c, uint64_t footprint, uint64_t *ram,
		     uint64_t *kpool)
{
	*kpool = ROUND_2M(footprint / 32 + 16 * MB);
	*ram = c->vm.ram ? c->vm.ram : *kpool + ROUND_2M(footprint + footprint / 4 + 16 * MB);
	if (c->vm.ram && *kpool >= c->vm.ram / 2)
		*kpool = 0; /* the guest's own choice */
}

static void cleanup(struct runner *R)
{
	if (R->r.def && R->r.def->fini)
		R->r.def->fini(&R->r);
	free(R->t);
	nw_guest_destroy(R->g);
	nw_vm_destroy(R->vm);
}

/* The workload's run as the configuration describes it (nothing created). */
static void plan(struct wl_run *r, const struct nw_run_cfg *c)
{
	bool huge = c->guest_page == NW_PAGE_2M;

	r->def = c->wl.name ? wl_find(c->wl.name) : NULL;
	r->spec = &c->wl;
	r->nthreads = c->vm.vcpus ? c->vm.vcpus : 1;
	r->seed = c->seed;
	r->real = c->data == NW_DATA_REAL;
	r->trace = c->trace;
	for (unsigned i = 0; i < c->wl.nparams; i++)
		if (!strcmp(c->wl.params[i].key, "huge") && c->wl.params[i].set)
			huge = c->wl.params[i].value;
	r->map_flags = huge ? NW_MAP_HUGE : 0;
}

uint64_t nw_run_footprint(const struct nw_run_cfg *cfg)
{
	struct wl_run r = { 0 };

	plan(&r, cfg);
	return r.def ? r.def->footprint(&r) : 0;
}

static int setup(struct runner *R, const struct nw_run_cfg *c, struct nw_run_result *res,
		 char *err, size_t errlen)
{
	struct nw_vm_cfg vc = c->vm;
	struct nw_guest_cfg gc = c->guest;
	uint64_t footprint, kpool;
	int rc;

	plan(&R->r, c);
	if (!R->r.def)
		return wl_errf(err, errlen, -EINVAL, "no workload given");
	if (c->guest_page != NW_PAGE_4K && c->guest_page != NW_PAGE_2M)
		return wl_errf(err, errlen, -EINVAL, "guest pages must be 4k or 2m");
	if (!c->vm.vcpus || c->vm.vcpus > NW_VM_MAX_VCPUS)
		return wl_errf(err, errlen, -EINVAL, "vcpus must be 1..%d", NW_VM_MAX_VCPUS);
	R->r.sync = &R->sync;
	R->r.err = err;
	R->r.errlen = errlen;

	footprint = R->r.def->footprint(&R->r);
	size_ram(c, footprint, &vc.ram, &kpool);
	res->ram = vc.ram;
	vc.seed = c->seed;
	vc.translation_only = !R->r.real;
	vc.data_gpa = vc.translation_only ? kpool : 0;
	if (vc.translation_only && !kpool)
		return wl_errf(err, errlen, -EINVAL, "guest RAM too small for translation-only data");
	if (vc.ram > (1ull << 40))
		return wl_errf(err, errlen, -EINVAL,
				 "the workload needs %llu GiB of guest RAM, above the 1 TiB limit",
				 (unsigned long long)(vc.ram >> 30));
	rc = nw_vm_create(&vc, &R->vm, err, errlen);
	if (rc == -EINVAL)
		return rc;
	if (rc < 0)
		return wl_errf(err, errlen, rc, "cannot create the VM: %s", strerror(-rc));
	gc.huge = true; /* 2 MiB pages where a mapping asks for them */
	gc.kernel_pool = kpool;
	rc = nw_guest_boot(R->vm, &gc, &R->g);
	if (rc == -EINVAL)
		return wl_errf(err, errlen, rc, "bad guest configuration (levels %d)", gc.levels);
	if (rc < 0)
		return wl_errf(err, errlen, rc, "guest boot failed: %s", strerror(-rc));

	R->t = calloc(R->r.nthreads, sizeof(*R->t));
	if (!R->t)
		return wl_errf(err, errlen, -ENOMEM, "out of memory");
	R->r.t = R->t;
	R->r.g = R->g;
	R->r.vm = R->vm;
	for (unsigned i = 0; i < R->r.nthreads; i++) {
		R->t[i] = (struct wl_thread){
			.run = &R->r,
			.v = nw_vm_vcpu(R->vm, i),
			.id = i,
			.rng = { wl_mix(c->seed * 0x9e3779b97f4a7c15ull + i + 1) },
		};
	}
	R->sync.live = R->r.nthreads;
	R->sync.on_event = on_event;
	R->sync.on_event_arg = R;
	R->r.measures = true;
	if (err && errlen)
		err[0] = 0;
	rc = R->r.def->init(&R->r);
	if (rc == -EINVAL)
		return err && errlen && err[0] ? rc : wl_bad(&R->r, rc, "bad parameters");
	if (rc < 0)
		return wl_errf(err, errlen, rc, "workload %s: %s", R->r.def->name, strerror(-rc));
	return 0;
}

int nw_run(const struct nw_run_cfg *cfg, struct nw_run_result *res, char *err, size_t errlen)
{
	struct runner *R = calloc(1, sizeof(*R));
	double t0;
	int rc;

	memset(res, 0, sizeof(*res));
	if (!R)
		return wl_errf(err, errlen, -ENOMEM, "out of memory");
	R->cfg = cfg;
	res->data = cfg->data;
	rc = setup(R, cfg, res, err, errlen);
	if (rc < 0)
		goto out;
	t0 = now();
	rc = schedule(R, R->r.def->total_ops(&R->r));
	res->wall_seconds = now() - t0;
	if (rc < 0) {
		if (rc == -EINVAL)
			rc = -EIO; /* -EINVAL means a bad configuration, and this one ran */
		goto out;
	}
	res->ntotal = run_collect(R, res->total, NW_RUN_STATS_MAX);
	if (R->sync.phase < 2) { /* no stop event: measured to the end */
		memcpy(R->stop, res->total, res->ntotal * sizeof(*R->stop));
		R->nstop = res->ntotal;
	}
	res->nstats = run_measured(R->start, R->nstart, R->stop, R->nstop, res->stats);
	for (size_t i = 0; i < res->ntotal; i++)
		if (!strcmp(res->total[i].name, "workload.checksum"))
			res->checksum = res->total[i].value;
	res->mismatches = R->sync.mismatches;
	res->ops = R->ops;
	run_derive(cfg, res);
out:
	cleanup(R);
	free(R);
	return rc;
}
