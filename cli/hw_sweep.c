/* SPDX-License-Identifier: MIT */
/*
 * nestwalk hw's sweep: every kind at one working set, mapped, sampled and
 * closed, round after round; and the --calibrate latencies.
 */

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nestwalk/tlb_preset.h>

#include "cli.h"
#include "hw_sweep.h"

#define HW_HEADROOM ((uint64_t)512 << 20) /* left to everyone else */

/* One kind at one working set while it is measured. */
struct point {
	enum nw_hw_kind kind;
	struct nw_hw_probe probe;
	bool open;
	char why[512];          /* why it was skipped */
	double round_best[HW_MAX_ROUNDS]; /* --paired: each round's whole-pass mean */
	unsigned replaced;      /* --paired: chunks taken as their pass's median */
	struct nw_hw_gpa gpa;   /* the pages' guest-physical layout, in chain order */
	char gpa_why[200];      /* why it is unknown; "" when gpa holds it */
	uint64_t count[NW_PERF_MAX];
	bool counted[NW_PERF_MAX];
};

/* --gpa-out: the point's frame numbers, for the model to replay. A failure
 * only costs the file, and says so. */
static void write_gpa(const char *prefix, struct point *p, uint64_t ws)
{
	size_t pages = (size_t)(ws / 4096);
	uint64_t *pfn = malloc(pages * sizeof(*pfn));
	char path[4096], why[200] = "";
	FILE *f = NULL;

	snprintf(path, sizeof(path), "%s-%llu.gpa", prefix, (unsigned long long)ws);
	if (!pfn || nw_hw_gpa_frames(&p->probe, pfn, why, sizeof(why)) < 0 || !(f = fopen(path, "wb")) ||
	    fwrite(pfn, sizeof(*pfn), pages, f) != pages)
		fprintf(stderr, "nestwalk hw: --gpa-out: %s: %s\n", path, why[0] ? why : strerror(errno));
	if (f && fclose(f))
		fprintf(stderr, "nestwalk hw: --gpa-out: %s: %s\n", path, strerror(errno));
	free(pfn);
}

static int open_point(struct hw_run *r, struct point *p, uint64_t ws, uint64_t need)
{
	struct nw_hw_probe_opts po = { .may_reserve = r->o->may_reserve, .lines = r->o->lines };
	int64_t avail = nw_hw_mem_available();

	if (avail >= 0 && need + HW_HEADROOM > (uint64_t)avail) {
		snprintf(p->why, sizeof(p->why), "%llu MiB needed%s, %lld MiB available (512 MiB kept free)",
			 (unsigned long long)(need >> 20),
			 need > ws ? " (every kind mapped at once for --rounds)" : "", (long long)(avail >> 20));
		return -ENOMEM;
	}
	int err = nw_hw_probe_open(&p->probe, p->kind, (size_t)ws, &po, p->why, sizeof(p->why));
	if (err && !p->why[0])
		snprintf(p->why, sizeof(p->why), "%s", strerror(-err));
	p->open = err == 0;
	if (p->open && nw_hw_gpa_chain(&p->probe, &p->gpa, p->gpa_why, sizeof(p->gpa_why)) < 0 && !p->gpa_why[0])
		snprintf(p->gpa_why, sizeof(p->gpa_why), "unknown");
	if (p->open && p->kind == NW_HW_4K && r->o->gpa_out && !p->gpa_why[0])
		write_gpa(r->o->gpa_out, p, ws);
	for (int i = 0; i < NW_PERF_MAX; i++)
		p->counted[i] = true;
	return err;
}

/* One round: samples timed samples; the round's best is kept. */
static void run_round(struct hw_run *r, struct point *p, unsigned round)
{
	double best = INFINITY;

	nw_perf_group_reset(&r->perf);
	nw_perf_group_enable(&r->perf);
	for (unsigned s = 0; s < r->o->samples; s++) {
		best = fmin(best, nw_hw_probe_sample(&p->probe));
		cli_progress_update(&r->prog, ++r->done, r->total);
	}
	nw_perf_group_disable(&r->perf);
	nw_perf_group_read(&r->perf);
	for (int i = 0; i < r->perf.n; i++) {
		p->counted[i] &= r->perf.c[i].valid;
		p->count[i] += r->perf.c[i].value;
	}
	p->round_best[round] = best;
}

int cli_hw_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

double cli_hw_median(const double *v, unsigned n)
{
	double sorted[HW_MAX_ROUNDS];

	memcpy(sorted, v, n * sizeof(double));
	qsort(sorted, n, sizeof(double), cli_hw_cmp_double);
	return n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
}

/*
 * One round of --paired: a warm-up of one sample's loads, then the whole
 * cycle timed in chunks of that many loads. Every kind starts each round
 * at the same node (they share the layout and advance alike), so their
 * passes are the same loads. A chunk over twice its pass's median was
 * preempted or throttled (SCHED_FIFO still yields 5%): it counts as the
 * median, and is counted in `replaced`.
 */
static void run_pass(struct hw_run *r, struct point *p, unsigned round)
{
	uint64_t loads = p->probe.loads, nodes = p->probe.chase.nodes;
	uint64_t chunk = nodes < loads ? nodes / NW_CHASE_UNROLL * NW_CHASE_UNROLL : loads;
	unsigned nchunks = chunk ? (unsigned)(nodes / chunk) : 0, k;
	/* The chunks' times, then a sorted copy. */
	double *t = calloc(nchunks ? 2 * (size_t)nchunks : 1, sizeof(double)), sum = 0, med;

	if (!t || !nchunks) {
		free(t);
		p->round_best[round] = NAN;
		return;
	}
	p->probe.p = nw_chase_follow(p->probe.p, chunk);
	for (k = 0; k < nchunks; k++) {
		uint64_t t0 = nw_hw_now_ns();

		p->probe.p = nw_chase_follow(p->probe.p, chunk);
		__asm__ __volatile__("" : "+r"(p->probe.p));
		t[k] = (double)(nw_hw_now_ns() - t0);
	}
	/* Each kind moves on by one pass and one chunk per round: the same
	 * start for every kind in the next round too. */
	p->probe.p = nw_chase_follow(p->probe.p, nodes - (uint64_t)nchunks * chunk);
	p->probe.samples += nchunks;
	double *sorted = t + nchunks;
	memcpy(sorted, t, nchunks * sizeof(double));
	qsort(sorted, nchunks, sizeof(double), cli_hw_cmp_double);
	med = nchunks % 2 ? sorted[nchunks / 2] : (sorted[nchunks / 2 - 1] + sorted[nchunks / 2]) / 2;
	for (k = 0; k < nchunks; k++) {
		if (t[k] > 2 * med) {
			p->replaced++;
			sum += med;
		} else {
			sum += t[k];
		}
	}
	p->round_best[round] = sum / ((double)nchunks * (double)chunk);
	r->done += r->o->samples;
	cli_progress_update(&r->prog, r->done, r->total);
	free(t);
}

/* The point's JSON object (ok or skipped); closes its probe. */
static json_t *finish_point(struct hw_run *r, struct point *p, uint64_t ws)
{
	json_t *pt = json_pack("{s:s, s:I}", "kind", nw_hw_kind_name(p->kind), "ws", (json_int_t)ws);
	unsigned rounds = r->o->rounds;

	if (!p->open) {
		json_object_set_new(pt, "status", json_string("skipped"));
		json_object_set_new(pt, "reason", json_string(p->why));
		return pt;
	}
	double ns = cli_hw_median(p->round_best, rounds);

	double loads = (double)p->probe.samples * (double)p->probe.loads;
	r->loads = p->probe.loads;
	json_object_set_new(pt, "status", json_string("ok"));
	json_object_set_new(pt, "ns_per_access", json_real(ns));
	if (r->ghz > 0)
		json_object_set_new(pt, "cycles_per_access", json_real(ns * r->ghz));
	json_object_set_new(pt, "samples", json_integer((json_int_t)p->probe.samples));
	if (rounds > 1) {
		json_t *rb = json_array();
		for (unsigned k = 0; k < rounds; k++)
			json_array_append_new(rb, json_real(p->round_best[k]));
		json_object_set_new(pt, r->o->paired ? "round_ns" : "round_best_ns", rb);
	}
	if (r->o->paired)
		json_object_set_new(pt, "chunks_replaced", json_integer(p->replaced));
	/* Where the chain's hops land in (guest-)physical memory: the model
	 * takes gpa.adjacent (--model_gpa_seq). */
	if (p->gpa_why[0])
		json_object_set_new(pt, "gpa_unavailable", json_string(p->gpa_why));
	else
		json_object_set_new(pt, "gpa", json_pack("{s:f, s:f, s:f, s:I, s:I}", "adjacent", p->gpa.adjacent,
							 "same_pte_line", p->gpa.same_line, "same_2m",
							 p->gpa.same_2m, "frames_2m", (json_int_t)p->gpa.frames_2m,
							 "pte_lines", (json_int_t)p->gpa.pte_lines));
	if (p->kind == NW_HW_THP && p->probe.thp_fraction >= 0)
		json_object_set_new(pt, "thp_fraction", json_real(p->probe.thp_fraction));
	if (p->kind == NW_HW_2M || p->kind == NW_HW_1G)
		json_object_set_new(pt, "hugetlb_reserved", json_boolean(p->probe.buf.reserved));
	/* Only counters that counted: an unavailable one is absent, never 0. */
	for (int i = 0; i < r->perf.n; i++) {
		char name[64];

		if (!p->counted[i] || loads == 0)
			continue;
		snprintf(name, sizeof(name), "%s_per_access", r->perf.c[i].name);
		json_object_set_new(pt, name, json_real((double)p->count[i] / loads));
	}
	/* Gives hugetlb pages back, and restores nr_hugepages if it was raised. */
	nw_hw_probe_close(&p->probe);
	p->open = false;
	return pt;
}

/*
 * Every kind at ws. One round: each kind is mapped, sampled and unmapped in
 * turn. Several (--rounds): all are mapped at once and sampled in turn, round
 * after round, so that each sees the same moments of a shared machine; a
 * point's figure is the median of its rounds' bests.
 */
void cli_hw_measure_ws(struct hw_run *r, uint64_t ws, json_t *points)
{
	struct point *pt = calloc(NW_HW_NKINDS, sizeof(*pt));
	unsigned rounds = r->o->rounds;
	int n = 0;

	if (!pt)
		return;
	for (int k = 0; k < NW_HW_NKINDS; k++)
		if (r->o->kind[k])
			pt[n++].kind = (enum nw_hw_kind)k;
	for (int k = 0; k < n; k++) {
		if (open_point(r, &pt[k], ws, rounds > 1 ? ws * (uint64_t)(k + 1) : ws)) {
			r->done += (uint64_t)r->o->samples * rounds;
			cli_progress_update(&r->prog, r->done, r->total);
		}
		if (rounds == 1) {
			if (pt[k].open)
				run_round(r, &pt[k], 0);
			json_array_append_new(points, finish_point(r, &pt[k], ws));
		}
	}
	struct nw_hw_calib_probe cp;
	double cdram[HW_MAX_ROUNDS], cllc[HW_MAX_ROUNDS];
	unsigned ncal = 0;
	char why[300] = "";
	bool cal = rounds > 1 && r->o->paired && r->o->calibrate && r->l2_cycles > 0 &&
		   nw_hw_calib_open(&cp, why, sizeof(why)) == 0;

	if (rounds > 1) {
		for (unsigned round = 0; round < rounds; round++) {
			struct nw_hw_calib c;
			struct nw_hw_calib_model m;

			/* The latencies of this moment, between the kinds' passes. */
			if (cal && nw_hw_calib_measure(&cp, r->o->calibrate, &c) == 0 &&
			    nw_hw_calib_derive(&c, r->ghz, r->l2_cycles, r->llc_cycles, &m) == 0) {
				cdram[ncal] = m.dram_ns;
				cllc[ncal++] = m.llc_hit;
			}
			for (int q = 0; q < n; q++) {
				/* --paired rotates the order: no kind always follows another. */
				int k = r->o->paired ? (int)((round + (unsigned)q) % (unsigned)n) : q;

				if (!pt[k].open)
					continue;
				if (r->o->paired)
					run_pass(r, &pt[k], round);
				else
					run_round(r, &pt[k], round);
			}
		}
		for (int k = 0; k < n; k++)
			json_array_append_new(points, finish_point(r, &pt[k], ws));
	}
	if (cal)
		nw_hw_calib_close(&cp);
	if (r->calib_rounds && rounds > 1 && r->o->paired && r->o->calibrate) {
		json_t *e = json_pack("{s:I}", "ws", (json_int_t)ws);

		if (ncal) {
			json_t *d = json_array(), *h = json_array();
			double llc = cli_hw_median(cllc, ncal);

			for (unsigned k = 0; k < ncal; k++) {
				json_array_append_new(d, json_real(cdram[k]));
				json_array_append_new(h, json_real(cllc[k]));
			}
			json_object_set_new(e, "dram_ns", d);
			json_object_set_new(e, "llc_hit_4m", h);
			json_object_set_new(e, "dram_ns_median", json_real(cli_hw_median(cdram, ncal)));
			json_object_set_new(e, "llc_hit_4m_median", json_real(llc));
			json_object_set_new(e, "llc_bytes_median", json_integer((json_int_t)(llc * (4 << 20))));
		} else {
			json_object_set_new(e, "error", json_string(why[0] ? why : "no round measured"));
		}
		json_array_append_new(r->calib_rounds, e);
	}
	free(pt);
}

/*
 * --calibrate: the latencies the model takes, measured where no walk takes
 * part (bench/hw/calib.c), converted with the host preset's L2 and LLC hit
 * latencies in cycles at the measured clock. Returns the JSON object, or a
 * {"error": ...} one.
 */
json_t *cli_hw_calibrate(const struct hw_run *r)
{
	struct nw_hw_calib c;
	struct nw_hw_calib_model m;
	struct nw_host_caches hc;
	struct nw_cpu_preset pre;
	char why[300] = "";
	int rc;

	nw_hw_host_caches(&hc);
	if (nw_cpu_preset_host(&hc, &pre, why, sizeof(why)) < 0)
		return json_pack("{s:s}", "error", why);
	if ((rc = nw_hw_calibrate(&c, r->o->calibrate, why, sizeof(why))) < 0)
		return json_pack("{s:s}", "error", why[0] ? why : strerror(-rc));
	json_t *o = json_pack("{s:i, s:f, s:f, s:f, s:i, s:i}", "passes", (int)c.reps, "warm_ns", c.warm_ns,
			      "flush_ns", c.flush_ns, "all4m_ns", c.all_ns, "l2_cycles",
			      (int)pre.lat.l2_cycles, "llc_cycles", (int)pre.lat.llc_cycles);
	if (nw_hw_calib_derive(&c, r->ghz, pre.lat.l2_cycles, pre.lat.llc_cycles, &m) == 0) {
		json_object_set_new(o, "dram_ns", json_real(m.dram_ns));
		json_object_set_new(o, "llc_hit_4m", json_real(m.llc_hit));
		json_object_set_new(o, "llc_bytes", json_integer((json_int_t)m.llc_bytes));
	} else {
		json_object_set_new(o, "error", json_string("the figures make no latencies (flush not slower than warm?)"));
	}
	return o;
}
