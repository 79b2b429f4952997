/*
 * suite_hw.c - the `hw` suite: the pointer chase on the real CPU, one
 * benchmark per page kind and working set.
 *
 *	hw/<kind>/<ws>   kind 4k, thp, 2m or 1g; ws 16K .. 8G in powers of two
 *	hw/penalty/<ws>  4k minus the largest kind measured at ws in this run
 *
 * Each iteration is one sample of the chase; ns_per_access is the best
 * sample. Google Benchmark calls a benchmark several times while it sizes
 * the iteration count, so the buffer of the last case is kept until a case
 * with another kind or size needs the memory.
 */
#include "suites.h"

#include "gbench.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NW_HW_MIN_WS ((size_t)16 << 10)
#define NW_HW_MAX_WS ((size_t)8 << 30)
#define NW_HW_NWS 20 /* 16K .. 8G */
#define NW_HW_HEADROOM ((size_t)512 << 20)

struct hw_case {
	enum nw_hw_kind kind;  /* NW_HW_NKINDS: the penalty entry */
	size_t ws;
	int ws_idx;
};

static struct nw_bench_hw_opts opts;
static struct nw_perf_group perf;
static double core_ghz;
static struct hw_case cases[NW_HW_NWS * (NW_HW_NKINDS + 1)];
static int ncases;
/* The buffer kept between calls of one case. */
static struct nw_hw_probe probe;
static const struct hw_case *probe_case;
/* Best ns per access per kind and working set, NAN until measured. */
static double best_ns[NW_HW_NKINDS][NW_HW_NWS];

/* ---- private prototypes ---- */
static void put_context(void *arg, const char *key, const char *value);
static void size_name(char *buf, size_t n, size_t bytes);
static int probe_for(const struct hw_case *hc, char *why, size_t n);
static void bm_chase(struct nw_gb_state *st, void *user);
static void bm_penalty(struct nw_gb_state *st, void *user);

int nw_bench_hw_setup(const struct nw_bench_hw_opts *o)
{
	char v[600];

	opts = *o;
	if (!opts.max_ws || opts.max_ws > NW_HW_MAX_WS)
		opts.max_ws = NW_HW_MAX_WS;
	for (int k = 0; k < NW_HW_NKINDS; k++)
		for (int i = 0; i < NW_HW_NWS; i++)
			best_ns[k][i] = NAN;

	if (nw_hw_pin(opts.core, v, sizeof(v)))
		fprintf(stderr, "nestwalk-bench: not pinned: %s\n", v);
	nw_hw_describe(put_context, NULL);

	nw_gb_add_custom_context("hw.chase",
		"one 8-byte pointer per 64-byte node; nodes = 1 per 4 KiB group (page) at a "
		"random line 0..63 drawn per group; groups in one uniformly random cyclic "
		"order (Fisher-Yates, splitmix64, fixed seed); the same chain for every page "
		"kind; 16x unrolled p = *(void **)p; one warm-up pass over the whole cycle, "
		"then samples of 16384 loads; ns_per_access is the best sample");
	nw_gb_add_custom_context("hw.hugetlb_reserve",
				 opts.may_reserve ? "on: nr_hugepages is raised when short "
						    "and restored after each case"
						  : "off: hugetlb cases use free pages only");

	nw_perf_group_init(&perf);
	nw_perf_group_add_walk(&perf, opts.event);
	for (int i = 0; i < perf.n; i++) {
		char key[64];

		snprintf(key, sizeof(key), "hw.perf.%s", perf.c[i].name);
		if (perf.c[i].fd >= 0)
			snprintf(v, sizeof(v), "%s", perf.c[i].event);
		else
			snprintf(v, sizeof(v), "unavailable: %s", perf.c[i].reason);
		nw_gb_add_custom_context(key, v);
	}
	return 0;
}

void nw_bench_hw_register(void)
{
	int64_t avail = nw_hw_mem_available();
	char name[64], ws_name[16];

	ncases = 0;
	for (int i = 0; i < NW_HW_NWS; i++) {
		size_t ws = NW_HW_MIN_WS << i;

		/* Bounded by free memory now; each case checks again when run. */
		if (ws > opts.max_ws || (avail >= 0 && ws + NW_HW_HEADROOM > (size_t)avail))
			break;
		size_name(ws_name, sizeof(ws_name), ws);
		for (int k = 0; k <= NW_HW_NKINDS; k++) {
			struct hw_case *hc = &cases[ncases++];

			hc->kind = (enum nw_hw_kind)k;
			hc->ws = ws;
			hc->ws_idx = i;
			if (k == NW_HW_NKINDS) {
				snprintf(name, sizeof(name), "hw/penalty/%s", ws_name);
				nw_gb_register(name, bm_penalty, hc);
			} else {
				snprintf(name, sizeof(name), "hw/%s/%s", nw_hw_kind_name(hc->kind),
					 ws_name);
				nw_gb_unit(nw_gb_register(name, bm_chase, hc), NW_GB_US);
			}
		}
	}
}

void nw_bench_hw_teardown(void)
{
	if (probe_case)
		nw_hw_probe_close(&probe);
	probe_case = NULL;
	nw_hugetlb_restore_all();
	nw_perf_group_close(&perf);
}

/* ---- private ---- */

static void put_context(void *arg, const char *key, const char *value)
{
	if (strcmp(key, "hw.core_ghz") == 0)
		core_ghz = atof(value);
	nw_gb_add_custom_context(key, value);
}

static void size_name(char *buf, size_t n, size_t bytes)
{
	if (bytes >= ((size_t)1 << 30))
		snprintf(buf, n, "%zuG", bytes >> 30);
	else if (bytes >= ((size_t)1 << 20))
		snprintf(buf, n, "%zuM", bytes >> 20);
	else
		snprintf(buf, n, "%zuK", bytes >> 10);
}

static int probe_for(const struct hw_case *hc, char *why, size_t n)
{
	struct nw_hw_probe_opts po = {.may_reserve = opts.may_reserve};
	int64_t avail;
	int err;

	if (probe_case == hc)
		return 0;
	if (probe_case)
		nw_hw_probe_close(&probe);
	probe_case = NULL;
	avail = nw_hw_mem_available();
	if (avail >= 0 && hc->ws + NW_HW_HEADROOM > (size_t)avail) {
		snprintf(why, n, "%zu MiB working set, %lld MiB available", hc->ws >> 20,
			 (long long)(avail >> 20));
		return -ENOMEM;
	}
	err = nw_hw_probe_open(&probe, hc->kind, hc->ws, &po, why, n);
	if (err == 0)
		probe_case = hc;
	return err;
}

static void bm_chase(struct nw_gb_state *st, void *user)
{
	const struct hw_case *hc = user;
	char why[512], label[96];
	uint64_t samples = 0;
	double loads;

	if (probe_for(hc, why, sizeof(why))) {
		nw_gb_skip_with_error(st, why);
		return;
	}
	nw_perf_group_reset(&perf);
	nw_perf_group_enable(&perf);
	while (nw_gb_keep_running(st)) {
		nw_hw_probe_sample(&probe);
		samples++;
	}
	nw_perf_group_disable(&perf);
	nw_perf_group_read(&perf);

	loads = (double)samples * (double)probe.loads;
	nw_gb_set_items_processed(st, (int64_t)loads);
	nw_gb_counter(st, "ns_per_access", probe.best_ns, NW_GB_DEFAULT, 0);
	if (core_ghz > 0)
		nw_gb_counter(st, "cycles_per_access", probe.best_ns * core_ghz,
			      NW_GB_DEFAULT, 0);
	/* Only counters that counted: an unavailable one is absent, never 0. */
	for (int i = 0; i < perf.n; i++) {
		char name[64];

		if (!perf.c[i].valid || loads == 0)
			continue;
		snprintf(name, sizeof(name), "%s_per_access", perf.c[i].name);
		nw_gb_counter(st, name, (double)perf.c[i].value / loads, NW_GB_DEFAULT, 0);
	}
	if (hc->kind == NW_HW_THP && probe.thp_fraction >= 0)
		nw_gb_counter(st, "thp_fraction", probe.thp_fraction, NW_GB_DEFAULT, 0);
	best_ns[hc->kind][hc->ws_idx] = probe.best_ns;
	if (hc->kind != NW_HW_4K && !isnan(best_ns[NW_HW_4K][hc->ws_idx]))
		nw_gb_counter(st, "walk_penalty_ns",
			      best_ns[NW_HW_4K][hc->ws_idx] - probe.best_ns, NW_GB_DEFAULT, 0);

	switch (hc->kind) {
	case NW_HW_4K:
		snprintf(label, sizeof(label), "4K pages");
		break;
	case NW_HW_THP:
		snprintf(label, sizeof(label), "THP, %.0f%% huge", 100 * probe.thp_fraction);
		break;
	default:
		snprintf(label, sizeof(label), "hugetlb %s%s", nw_hw_kind_name(hc->kind),
			 probe.buf.reserved ? ", reserved for the run" : "");
	}
	nw_gb_set_label(st, label);
}

static void bm_penalty(struct nw_gb_state *st, void *user)
{
	const struct hw_case *hc = user;
	static const enum nw_hw_kind largest_first[] = {NW_HW_1G, NW_HW_2M, NW_HW_THP};
	double ns4k = best_ns[NW_HW_4K][hc->ws_idx];
	char label[96];

	/* Its buffer is no longer needed: give the memory back now. */
	if (probe_case)
		nw_hw_probe_close(&probe);
	probe_case = NULL;
	for (size_t i = 0; i < sizeof(largest_first) / sizeof(largest_first[0]); i++) {
		enum nw_hw_kind k = largest_first[i];
		double ns = best_ns[k][hc->ws_idx];

		if (isnan(ns) || isnan(ns4k))
			continue;
		/* Nothing to time: one batch of Google Benchmark's maximum
		 * iteration count ends the run at once. */
		while (nw_gb_keep_running_batch(st, 1000000000)) {
		}
		nw_gb_counter(st, "walk_penalty_ns", ns4k - ns, NW_GB_DEFAULT, 0);
		nw_gb_counter(st, "ns_per_access_4k", ns4k, NW_GB_DEFAULT, 0);
		nw_gb_counter(st, "ns_per_access_huge", ns, NW_GB_DEFAULT, 0);
		snprintf(label, sizeof(label), "4k - %s", nw_hw_kind_name(k));
		nw_gb_set_label(st, label);
		return;
	}
	nw_gb_skip_with_error(st, "needs hw/4k and a huge-page kind at this working set "
				  "measured earlier in the same run");
}
