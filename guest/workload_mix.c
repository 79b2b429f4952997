/* SPDX-License-Identifier: MIT */
/*
 * mix: every other workload in turn, scaled from one working set and one
 * operation count, as phases over the same vCPUs. Each phase is a run of
 * its own (its spec, seed and state) sharing the mix's barrier, so a
 * phase's processes exit before the next one starts. The measured phase
 * is the whole mix, each phase's set-up and teardown included: its point
 * is the blend, page faults and exits and all.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "workload_internal.h"

#define MIX_PHASES 7

struct mix {
	struct nw_workload spec[MIX_PHASES];
	struct wl_run sub[MIX_PHASES];
	unsigned ready;          /* phases initialised */
	unsigned *phase;         /* per thread: 0 before the start, then 1 + the phase */
};

/* ---- private prototypes ---- */
static int mix_phases(const struct wl_run *r, struct nw_workload *spec, struct wl_run *sub);

/* The phases' specs and runs (not initialised) for the mix run r. */
static int mix_phases(const struct wl_run *r, struct nw_workload *spec, struct wl_run *sub)
{
	uint64_t ws = wl_param(r, "ws"), ops = wl_param(r, "ops");
	uint64_t small = ws / 8 < (16u << 10) ? 16u << 10 : (ws / 8) & NW_PAGE_MASK;
	unsigned long long W = ws, S = small, O = ops;
	char buf[MIX_PHASES][128];

	snprintf(buf[0], sizeof(buf[0]), "seq:ws=%llu,passes=1", W);
	snprintf(buf[1], sizeof(buf[1]), "random:ws=%llu,ops=%llu", W, O);
	snprintf(buf[2], sizeof(buf[2]), "chase:ws=%llu,ops=%llu", W, O);
	snprintf(buf[3], sizeof(buf[3]), "zipf:ws=%llu,ops=%llu", W, O);
	snprintf(buf[4], sizeof(buf[4]), "churn:size=%llu,rounds=16", S);
	snprintf(buf[5], sizeof(buf[5]), "fork:ws=%llu,forks=2,children=4,writes=16", S);
	snprintf(buf[6], sizeof(buf[6]), "ctxsw:ws=%llu,ops=%llu,procs=4", S, O);
	for (unsigned i = 0; i < MIX_PHASES; i++) {
		char err[160];
		if (nw_workload_parse(buf[i], &spec[i], err, sizeof(err)) < 0)
			return wl_bad((struct wl_run *)r, -EINVAL, "phase %s", err);
		sub[i] = *r;
		sub[i].def = wl_find(spec[i].name);
		sub[i].spec = &spec[i];
		sub[i].priv = NULL;
		sub[i].measures = false; /* the mix's own barriers start and stop it */
		sub[i].seed = wl_mix(r->seed + i + 1);
	}
	return 0;
}

static uint64_t mix_footprint(const struct wl_run *r)
{
	struct nw_workload spec[MIX_PHASES];
	struct wl_run sub[MIX_PHASES];
	uint64_t most = 0;

	if (mix_phases(r, spec, sub) < 0)
		return 0;
	for (unsigned i = 0; i < MIX_PHASES; i++) {
		uint64_t f = sub[i].def->footprint(&sub[i]);
		most = f > most ? f : most;
	}
	return most;
}

static uint64_t mix_total_ops(const struct wl_run *r)
{
	struct nw_workload spec[MIX_PHASES];
	struct wl_run sub[MIX_PHASES];
	uint64_t sum = 0;

	if (mix_phases(r, spec, sub) < 0)
		return 0;
	for (unsigned i = 0; i < MIX_PHASES; i++)
		sum += sub[i].def->total_ops(&sub[i]);
	return sum;
}

static int mix_init(struct wl_run *r)
{
	struct mix *m = calloc(1, sizeof(*m));
	int rc;

	if (!m)
		return -ENOMEM;
	r->priv = m;
	m->phase = calloc(r->nthreads, sizeof(*m->phase));
	if (!m->phase)
		return -ENOMEM;
	rc = mix_phases(r, m->spec, m->sub);
	while (rc == 0 && m->ready < MIX_PHASES) {
		struct wl_run *s = &m->sub[m->ready];
		rc = s->def->init(s);
		if (rc < 0) {
			s->def->fini(s);
			break;
		}
		m->ready++;
	}
	return rc;
}

static void mix_fini(struct wl_run *r)
{
	struct mix *m = r->priv;

	if (!m)
		return;
	for (unsigned i = 0; i < m->ready; i++)
		m->sub[i].def->fini(&m->sub[i]);
	free(m->phase);
	free(m);
	r->priv = NULL;
}

static int mix_step(struct wl_thread *t)
{
	struct wl_run *r = t->run;
	struct mix *m = r->priv;
	unsigned *ph = &m->phase[t->id];

	if (*ph == 0) {
		if (!wl_barrier(t, WL_EV_START))
			return WL_BLOCK;
		*ph = 1;
		t->pc = 0;
	}
	while (*ph <= MIX_PHASES) {
		t->run = &m->sub[*ph - 1];
		int rc = t->run->def->step(t);
		t->run = r;
		if (rc != WL_DONE)
			return rc;
		(*ph)++;
		t->pc = 0;
		t->i = t->j = t->k = t->n = t->addr = 0;
	}
	if (*ph == MIX_PHASES + 1) {
		if (!wl_barrier(t, WL_EV_STOP))
			return WL_BLOCK;
		(*ph)++;
	}
	return WL_DONE;
}

static const struct wl_key mix_keys[] = {
	{ "ws", WL_SIZE, 4ull << 20, 64u << 10, 1ull << 36, "working set of seq/random/chase/zipf (the others: ws/8, at least 16k)" },
	{ "ops", WL_COUNT, 50000, 1, 1ull << 36, "operations of each random/chase/zipf/ctxsw phase" },
	{ "huge", WL_BOOL, 0, 0, 1, "2 MiB guest pages (default: --guest-pages)" },
	{ NULL },
};

const struct wl_def wl_def_mix = {
	.name = "mix",
	.help = "seq, random, chase, zipf, churn, fork and ctxsw in turn",
	.keys = mix_keys,
	.footprint = mix_footprint,
	.total_ops = mix_total_ops,
	.init = mix_init,
	.step = mix_step,
	.fini = mix_fini,
};
