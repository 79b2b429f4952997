/* SPDX-License-Identifier: MIT */
/*
 * nestwalk hw: page walks on this CPU. The pointer chase of the nw_hw
 * library (bench/hw.h; the layout is in docs/BENCHMARKS.md) over a sweep of
 * working sets and page kinds, pinned with hwloc, counted with perf_event
 * where the CPU lets us, and written as JSON that `nestwalk report` renders.
 *
 *	{ "nestwalk": "0.1.0", "command": "hw",
 *	  "hw": { "context": { "hw.cpu": ..., "hw.perf.dtlb_walks": "unavailable: ..." },
 *	          "core_ghz": 3.22, "samples": 20, "loads_per_sample": 16384,
 *	          "points": [ { "kind": "4k", "ws": 16384, "status": "ok",
 *	                        "ns_per_access": 1.23, "cycles_per_access": 3.97, ... },
 *	                      { "kind": "2m", "ws": 16384, "status": "skipped",
 *	                        "reason": "..." } ],
 *	          "penalty": [ { "ws": ..., "huge": "2m", "walk_penalty_ns": ... } ] } }
 *
 * A perf counter that cannot count is absent from every point and its
 * context entry says why ("unavailable: ..."); it is never reported as 0.
 */

#define _GNU_SOURCE /* getopt_long */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <nestwalk/tlb_preset.h>

#include "cli.h"
#include "hw.h"

#define CMD "hw"
#define HW_MIN_WS ((uint64_t)4096)
#define HW_MAX_WS ((uint64_t)64 << 30)
#define HW_HEADROOM ((uint64_t)512 << 20) /* left to everyone else */
#define HW_MAX_ROUNDS 101
#define HW_BOOT 2000          /* bootstrap resamples of a paired median */
#define HW_CALIB_MAX 1000

int cli_hw(int argc, char **argv); /* the subcommand, dispatched by main.c */

struct hw_opts {
	uint64_t min, max;
	bool kind[NW_HW_NKINDS];
	unsigned samples;
	unsigned rounds;
	bool paired;          /* rounds time whole passes; penalties are paired */
	unsigned calibrate;   /* repetitions of the latency calibration, 0: none */
	unsigned lines;       /* nodes per 4 KiB page */
	int core;
	bool may_reserve;
	bool json_stdout;
	const char *out;
	const char *gpa_out;  /* PREFIX: each 4k point's frame numbers to PREFIX-<ws>.gpa */
	bool quiet;
	const char *event[NW_PERF_NWALK];
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: nestwalk hw [OPTIONS]\n"
		"\n"
		"Measure page walks on this CPU: a dependent pointer chase through a random\n"
		"4 KiB-page order, one random 64-byte line per page, for working sets from\n"
		"--min to --max (doubling) and each page kind. Prints ns per access and the\n"
		"walk penalty (4k minus the largest kind) per working set.\n"
		"\n"
		"Options:\n"
		"  --min SIZE            smallest working set (default 16K; K, M, G suffixes)\n"
		"  --max SIZE            largest working set (default 256M; bounded by\n"
		"                        MemAvailable less 512M)\n"
		"  --pages LIST          page kinds: 4k, thp, 2m, 1g (default 4k,thp; 2m and 1g\n"
		"                        are hugetlb)\n"
		"  --samples N           timed samples per point, the best is kept (default 20)\n"
		"  --rounds N            map every kind of a working set at once and sample\n"
		"                        them in turn, N rounds; a point is the median of its\n"
		"                        rounds' bests (default 1: one kind mapped at a time)\n"
		"  --paired              with --rounds N (N >= 3): each round times one whole\n"
		"                        pass of the cycle for every kind (the same nodes in\n"
		"                        the same order, after a warm-up of one sample's\n"
		"                        loads; the kinds' order rotates from round to\n"
		"                        round); a point is the median of its rounds, and the\n"
		"                        walk penalty the median of the rounds' paired\n"
		"                        differences, with a bootstrap 95%% interval\n"
		"  --calibrate N         before and after the sweep, measure the DRAM latency\n"
		"                        and the LLC share this core gets (chains that never\n"
		"                        walk, N passes each) for the model\n"
		"  --cpu N               pin to core N with hwloc (default: the last core)\n"
		"  --lines N             random lines visited per 4 KiB page before the chain\n"
		"                        leaves it (default 1: every load a new page; 64\n"
		"                        spreads one walk over 64 loads)\n"
		"  --no-reserve          never raise nr_hugepages (by default, as root, a\n"
		"                        short hugetlb pool is raised for the point and its old\n"
		"                        value written back after it, at exit and on SIGINT,\n"
		"                        SIGTERM or SIGHUP)\n"
		"  --event COUNTER=EVENT count COUNTER (dtlb_walks, walk_cycles,\n"
		"                        ept_walk_cycles) with this libpfm4 event\n"
		"  --gpa-out PREFIX      write each 4k point's page frame numbers (root only),\n"
		"                        one little-endian 64-bit number per 4 KiB page in\n"
		"                        address order, to PREFIX-<ws>.gpa (the model replays\n"
		"                        them: nestwalk-bench --model_gpa_file)\n"
		"  -j, --json            print the JSON on stdout instead of the table\n"
		"  -o, --out FILE        also write the JSON to FILE (for 'nestwalk report')\n"
		"  -q, --quiet           no progress bar\n"
		"  -h, --help            show this help\n"
		"\n"
		"Exit status: 0 ok, 1 runtime failure, 2 usage or bad input.\n");
}

/* "64K", "1G", "4096": a size in bytes, or -EINVAL. */
static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	unsigned shift = 0;

	if (errno || end == s || *s == '-')
		return -EINVAL;
	switch (*end) {
	case 'K': case 'k': shift = 10; end++; break;
	case 'M': case 'm': shift = 20; end++; break;
	case 'G': case 'g': shift = 30; end++; break;
	}
	if (shift && *end == 'i' && *(end + 1) == 'B')
		end += 2;
	else if (*end == 'B' && shift)
		end++;
	if (*end || v > (HW_MAX_WS >> shift))
		return -EINVAL;
	*out = (uint64_t)v << shift;
	return 0;
}

static void size_name(char *buf, size_t n, uint64_t bytes)
{
	if (bytes >= (1ull << 30) && !(bytes & ((1ull << 30) - 1)))
		snprintf(buf, n, "%lluG", (unsigned long long)(bytes >> 30));
	else if (bytes >= (1ull << 20) && !(bytes & ((1ull << 20) - 1)))
		snprintf(buf, n, "%lluM", (unsigned long long)(bytes >> 20));
	else
		snprintf(buf, n, "%lluK", (unsigned long long)(bytes >> 10));
}

static int parse_kinds(const char *list, bool kind[NW_HW_NKINDS])
{
	char buf[128];
	int any = 0;

	if (strlen(list) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, list);
	memset(kind, 0, NW_HW_NKINDS * sizeof(bool));
	for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		int k;
		for (k = 0; k < NW_HW_NKINDS; k++)
			if (!strcasecmp(t, nw_hw_kind_name((enum nw_hw_kind)k)))
				break;
		if (k == NW_HW_NKINDS)
			return -EINVAL;
		kind[k] = true;
		any = 1;
	}
	return any ? 0 : -EINVAL;
}

static int parse_event(const char *s, const char *event[NW_PERF_NWALK])
{
	const char *eq = strchr(s, '=');

	for (int w = 0; eq && eq[1] && w < NW_PERF_NWALK; w++) {
		const char *name = nw_perf_walk_name((enum nw_perf_walk)w);
		if (strlen(name) == (size_t)(eq - s) && !strncmp(s, name, strlen(name))) {
			event[w] = eq + 1;
			return 0;
		}
	}
	return -EINVAL;
}

static int parse_args(int argc, char **argv, struct hw_opts *o)
{
	enum { OPT_MIN = 256, OPT_MAX, OPT_PAGES, OPT_SAMPLES, OPT_CPU, OPT_NORES, OPT_EVENT, OPT_LINES, OPT_ROUNDS,
	       OPT_PAIRED, OPT_CALIB, OPT_GPA_OUT };
	static const struct option opts[] = {
		{ "min", required_argument, NULL, OPT_MIN },
		{ "max", required_argument, NULL, OPT_MAX },
		{ "pages", required_argument, NULL, OPT_PAGES },
		{ "samples", required_argument, NULL, OPT_SAMPLES },
		{ "cpu", required_argument, NULL, OPT_CPU },
		{ "no-reserve", no_argument, NULL, OPT_NORES },
		{ "lines", required_argument, NULL, OPT_LINES },
		{ "rounds", required_argument, NULL, OPT_ROUNDS },
		{ "paired", no_argument, NULL, OPT_PAIRED },
		{ "calibrate", required_argument, NULL, OPT_CALIB },
		{ "gpa-out", required_argument, NULL, OPT_GPA_OUT },
		{ "event", required_argument, NULL, OPT_EVENT },
		{ "json", no_argument, NULL, 'j' },
		{ "out", required_argument, NULL, 'o' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t v;
	int opt;

	*o = (struct hw_opts){ .min = 16 << 10, .max = 256 << 20, .samples = 20, .rounds = 1, .lines = 1, .core = -1,
			       .may_reserve = true };
	o->kind[NW_HW_4K] = o->kind[NW_HW_THP] = true;
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":jo:qh", opts, NULL)) != -1) {
		switch (opt) {
		case OPT_MIN:
		case OPT_MAX:
			if (parse_size(optarg, &v) || v < HW_MIN_WS || v % HW_MIN_WS)
				return cli_usage(CMD, "--%s: '%s' is not a size of whole 4 KiB pages "
						 "(e.g. 16K, 64M, 1G)", opt == OPT_MIN ? "min" : "max", optarg);
			*(opt == OPT_MIN ? &o->min : &o->max) = v;
			break;
		case OPT_PAGES:
			if (parse_kinds(optarg, o->kind))
				return cli_usage(CMD, "--pages: '%s' is not a list of 4k, thp, 2m, 1g", optarg);
			break;
		case OPT_SAMPLES:
			if (cli_u64(optarg, 1, 1000000, &v))
				return cli_usage(CMD, "--samples: '%s' is not a count in 1..1000000", optarg);
			o->samples = (unsigned)v;
			break;
		case OPT_CPU:
			if (cli_u64(optarg, 0, 4095, &v))
				return cli_usage(CMD, "--cpu: '%s' is not a core number", optarg);
			o->core = (int)v;
			break;
		case OPT_NORES: o->may_reserve = false; break;
		case OPT_ROUNDS:
			if (cli_u64(optarg, 1, HW_MAX_ROUNDS, &v))
				return cli_usage(CMD, "--rounds: '%s' is not a count in 1..%d", optarg, HW_MAX_ROUNDS);
			o->rounds = (unsigned)v;
			break;
		case OPT_PAIRED: o->paired = true; break;
		case OPT_GPA_OUT: o->gpa_out = optarg; break;
		case OPT_CALIB:
			if (cli_u64(optarg, 1, HW_CALIB_MAX, &v))
				return cli_usage(CMD, "--calibrate: '%s' is not a count in 1..%d", optarg, HW_CALIB_MAX);
			o->calibrate = (unsigned)v;
			break;
		case OPT_LINES:
			if (cli_u64(optarg, 1, 64, &v))
				return cli_usage(CMD, "--lines: '%s' is not a count in 1..64", optarg);
			o->lines = (unsigned)v;
			break;
		case OPT_EVENT:
			if (parse_event(optarg, o->event))
				return cli_usage(CMD, "--event: want COUNTER=EVENT with COUNTER one of "
						 "dtlb_walks, walk_cycles, ept_walk_cycles, not '%s'", optarg);
			break;
		case 'j': o->json_stdout = true; break;
		case 'o': o->out = optarg; break;
		case 'q': o->quiet = true; break;
		case 'h':
			usage(stdout);
			return -1;
		case ':':
			return cli_usage(CMD, "option '%s' needs a value", argv[optind - 1]);
		default:
			if (optopt)
				return cli_usage(CMD, "unknown option '-%c' (try 'nestwalk hw --help')", optopt);
			return cli_usage(CMD, "unknown option '%s' (try 'nestwalk hw --help')",
					 argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage(CMD, "unexpected argument '%s'", argv[optind]);
	if (o->min > o->max)
		return cli_usage(CMD, "--min is larger than --max");
	if (o->paired && o->rounds < 3)
		return cli_usage(CMD, "--paired needs --rounds N with N >= 3");
	return 0;
}

/* ---- measuring ---- */

struct hw_run {
	const struct hw_opts *o;
	json_t *context;
	json_t *calib_rounds;   /* --paired --calibrate: one entry per working set */
	double l2_cycles, llc_cycles; /* the host preset's, for nw_hw_calib_derive */
	struct nw_perf_group perf;
	double ghz;
	struct cli_progress prog;
	uint64_t done, total; /* samples */
	uint64_t loads;       /* loads per sample */
};

static void put_context(void *arg, const char *key, const char *value)
{
	struct hw_run *r = arg;

	json_object_set_new(r->context, key, json_string(value));
	if (!strcmp(key, "hw.core_ghz"))
		r->ghz = atof(value);
}

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

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median_of(const double *v, unsigned n)
{
	double sorted[HW_MAX_ROUNDS];

	memcpy(sorted, v, n * sizeof(double));
	qsort(sorted, n, sizeof(double), cmp_double);
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
	qsort(sorted, nchunks, sizeof(double), cmp_double);
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
	double ns = median_of(p->round_best, rounds);

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
static void measure_ws(struct hw_run *r, uint64_t ws, json_t *points)
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
			double llc = median_of(cllc, ncal);

			for (unsigned k = 0; k < ncal; k++) {
				json_array_append_new(d, json_real(cdram[k]));
				json_array_append_new(h, json_real(cllc[k]));
			}
			json_object_set_new(e, "dram_ns", d);
			json_object_set_new(e, "llc_hit_4m", h);
			json_object_set_new(e, "dram_ns_median", json_real(median_of(cdram, ncal)));
			json_object_set_new(e, "llc_hit_4m_median", json_real(llc));
			json_object_set_new(e, "llc_bytes_median", json_integer((json_int_t)(llc * (4 << 20))));
		} else {
			json_object_set_new(e, "error", json_string(why[0] ? why : "no round measured"));
		}
		json_array_append_new(r->calib_rounds, e);
	}
	free(pt);
}

static double point_ns(json_t *points, enum nw_hw_kind kind, uint64_t ws)
{
	size_t i;
	json_t *p;

	json_array_foreach(points, i, p)
		if (!strcmp(json_string_value(json_object_get(p, "kind")), nw_hw_kind_name(kind)) &&
		    (uint64_t)json_integer_value(json_object_get(p, "ws")) == ws &&
		    json_is_number(json_object_get(p, "ns_per_access")))
			return json_number_value(json_object_get(p, "ns_per_access"));
	return NAN;
}

static json_t *point_rounds(json_t *points, enum nw_hw_kind kind, uint64_t ws)
{
	size_t i;
	json_t *p;

	json_array_foreach(points, i, p)
		if (!strcmp(json_string_value(json_object_get(p, "kind")), nw_hw_kind_name(kind)) &&
		    (uint64_t)json_integer_value(json_object_get(p, "ws")) == ws)
			return json_object_get(p, "round_ns");
	return NULL;
}

static uint64_t boot_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/*
 * The paired walk penalty of --paired: d[k] = 4k - huge in round k (the
 * same loads, moments apart), its median, its range and a percentile
 * bootstrap 95% interval of the median (HW_BOOT resamples, fixed seed).
 */
static void paired_penalty(json_t *e, json_t *a4k, json_t *ah)
{
	double d[HW_MAX_ROUNDS], m[HW_BOOT], x[HW_MAX_ROUNDS];
	unsigned n = (unsigned)json_array_size(a4k), k;
	uint64_t seed = 0x626f6f7473747261ull; /* "bootstra" */
	json_t *rd = json_array();

	if (n == 0 || n != json_array_size(ah) || n > HW_MAX_ROUNDS) {
		json_decref(rd);
		return;
	}
	for (k = 0; k < n; k++) {
		d[k] = json_number_value(json_array_get(a4k, k)) - json_number_value(json_array_get(ah, k));
		json_array_append_new(rd, json_real(d[k]));
	}
	for (int b = 0; b < HW_BOOT; b++) {
		for (k = 0; k < n; k++)
			x[k] = d[boot_next(&seed) % n];
		m[b] = median_of(x, n);
	}
	qsort(m, HW_BOOT, sizeof(double), cmp_double);
	memcpy(x, d, n * sizeof(double));
	qsort(x, n, sizeof(double), cmp_double);
	json_object_set_new(e, "walk_penalty_ns", json_real(median_of(d, n)));
	json_object_set_new(e, "paired_rounds", json_integer(n));
	json_object_set_new(e, "walk_penalty_ci95",
			    json_pack("[f, f]", m[HW_BOOT / 40], m[HW_BOOT - 1 - HW_BOOT / 40]));
	json_object_set_new(e, "walk_penalty_range", json_pack("[f, f]", x[0], x[n - 1]));
	json_object_set_new(e, "round_penalty_ns", rd);
}

/* 4k minus each huge kind measured at the same working set. */
static json_t *penalties(json_t *points, const struct hw_opts *o)
{
	json_t *out = json_array();

	for (uint64_t ws = o->min; ws <= o->max; ws *= 2) {
		double ns4k = point_ns(points, NW_HW_4K, ws);

		if (isnan(ns4k))
			continue;
		for (int k = NW_HW_NKINDS - 1; k > NW_HW_4K; k--) {
			double ns = point_ns(points, (enum nw_hw_kind)k, ws);

			if (isnan(ns))
				continue;
			json_t *e = json_pack("{s:I, s:s, s:f}", "ws", (json_int_t)ws, "huge",
					      nw_hw_kind_name((enum nw_hw_kind)k), "walk_penalty_ns", ns4k - ns);
			json_t *a4k = point_rounds(points, NW_HW_4K, ws),
			       *ah = point_rounds(points, (enum nw_hw_kind)k, ws);
			if (o->paired && a4k && ah)
				paired_penalty(e, a4k, ah);
			json_array_append_new(out, e);
		}
	}
	return out;
}

static void print_table(json_t *hw, const struct hw_opts *o)
{
	json_t *ctx = json_object_get(hw, "context"), *points = json_object_get(hw, "points");
	const char *keys[] = { "hw.cpu", "hw.hypervisor", "hw.pinned", "hw.core_ghz", "hw.cache.l1d",
			       "hw.cache.l2", "hw.cache.l3" };
	size_t i;
	json_t *p;
	const char *k;
	json_t *v;

	for (size_t j = 0; j < sizeof(keys) / sizeof(keys[0]); j++)
		if (json_string_value(json_object_get(ctx, keys[j])))
			printf("%-16s %s\n", keys[j] + 3, json_string_value(json_object_get(ctx, keys[j])));
	json_object_foreach(ctx, k, v)
		if (!strncmp(k, "hw.perf.", 8))
			printf("%-16s %s\n", k + 3, json_string_value(v));
	printf("\n%10s", "ws");
	for (int kd = 0; kd < NW_HW_NKINDS; kd++)
		if (o->kind[kd])
			printf(" %9s", nw_hw_kind_name((enum nw_hw_kind)kd));
	if (o->paired)
		printf("   ns per access (median over %u rounds of whole-pass means)\n", o->rounds);
	else if (o->rounds > 1)
		printf("   ns per access (median over %u rounds of the best of %u samples)\n", o->rounds,
		       o->samples);
	else
		printf("   ns per access (best of %u samples)\n", o->samples);
	for (uint64_t ws = o->min; ws <= o->max; ws *= 2) {
		char name[24];

		size_name(name, sizeof(name), ws);
		printf("%10s", name);
		for (int kd = 0; kd < NW_HW_NKINDS; kd++) {
			if (!o->kind[kd])
				continue;
			double ns = point_ns(points, (enum nw_hw_kind)kd, ws);
			if (isnan(ns))
				printf(" %9s", "-");
			else
				printf(" %9.3f", ns);
		}
		json_array_foreach(json_object_get(hw, "penalty"), i, p)
			if ((uint64_t)json_integer_value(json_object_get(p, "ws")) == ws) {
				json_t *ci = json_object_get(p, "walk_penalty_ci95"),
				       *rg = json_object_get(p, "walk_penalty_range");

				printf("   walk penalty 4k-%s %.2f ns",
				       json_string_value(json_object_get(p, "huge")),
				       json_number_value(json_object_get(p, "walk_penalty_ns")));
				if (ci && rg)
					printf(" (paired: 95%% CI %.1f..%.1f, rounds %.1f..%.1f)",
					       json_number_value(json_array_get(ci, 0)),
					       json_number_value(json_array_get(ci, 1)),
					       json_number_value(json_array_get(rg, 0)),
					       json_number_value(json_array_get(rg, 1)));
				break;
			}
		putchar('\n');
	}
	json_array_foreach(points, i, p)
		if (strcmp(json_string_value(json_object_get(p, "status")), "ok")) {
			char name[24];

			size_name(name, sizeof(name), (uint64_t)json_integer_value(json_object_get(p, "ws")));
			printf("skipped %s/%s: %s\n", json_string_value(json_object_get(p, "kind")), name,
			       json_string_value(json_object_get(p, "reason")));
		}
}

/*
 * --calibrate: the latencies the model takes, measured where no walk takes
 * part (bench/hw/calib.c), converted with the host preset's L2 and LLC hit
 * latencies in cycles at the measured clock. Returns the JSON object, or a
 * {"error": ...} one.
 */
static json_t *calibrate(const struct hw_run *r)
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

static void print_calib(const char *when, json_t *c)
{
	if (!c)
		return;
	if (json_object_get(c, "error")) {
		printf("calibration %s: %s\n", when, json_string_value(json_object_get(c, "error")));
		return;
	}
	printf("calibration %s: L2 chain %.2f ns, flushed %.2f ns, 4 MiB chain %.2f ns -> DRAM %.1f ns, "
	       "LLC share of 4 MiB %.2f (%.1f MiB)\n", when,
	       json_number_value(json_object_get(c, "warm_ns")), json_number_value(json_object_get(c, "flush_ns")),
	       json_number_value(json_object_get(c, "all4m_ns")), json_number_value(json_object_get(c, "dram_ns")),
	       json_number_value(json_object_get(c, "llc_hit_4m")),
	       (double)json_integer_value(json_object_get(c, "llc_bytes")) / (1 << 20));
}

/* The knee marks nw_hw_describe put in the context ("hw.mark.*": "<bytes>
 * <label>"), as an array of {label, ws}. */
static json_t *knee_marks(json_t *context)
{
	json_t *marks = json_array(), *v;
	const char *key;

	json_object_foreach(context, key, v) {
		unsigned long long ws;
		int at = 0;

		if (!strncmp(key, "hw.mark.", 8) &&
		    sscanf(json_string_value(v), "%llu %n", &ws, &at) == 1 && at > 0)
			json_array_append_new(marks, json_pack("{s:s, s:I}", "label", json_string_value(v) + at,
							      "ws", (json_int_t)ws));
	}
	return marks;
}

int cli_hw(int argc, char **argv)
{
	struct hw_opts o;
	struct hw_run r = { .o = &o };
	char why[600];
	int rc = parse_args(argc, argv, &o);

	if (rc)
		return rc < 0 ? CLI_OK : rc;

	r.context = json_object();
	if (nw_hw_pin(o.core, why, sizeof(why)))
		snprintf(why + strlen(why), sizeof(why) - strlen(why), " (not pinned)");
	json_object_set_new(r.context, "hw.pinned", json_string(why));
	nw_hw_describe(put_context, &r);
	json_object_set_new(r.context, "hw.hugetlb_reserve",
			    json_string(o.may_reserve ? "on: nr_hugepages is raised when short and "
							"restored after each point"
						      : "off: hugetlb points use free pages only"));
	nw_perf_group_init(&r.perf);
	nw_perf_group_add_walk(&r.perf, o.event);
	for (int i = 0; i < r.perf.n; i++) {
		char key[64];

		snprintf(key, sizeof(key), "hw.perf.%s", r.perf.c[i].name);
		if (r.perf.c[i].fd >= 0)
			snprintf(why, sizeof(why), "%s", r.perf.c[i].event);
		else
			snprintf(why, sizeof(why), "unavailable: %s", r.perf.c[i].reason);
		json_object_set_new(r.context, key, json_string(why));
	}

	int nkinds = 0;
	for (int k = 0; k < NW_HW_NKINDS; k++)
		nkinds += o.kind[k];
	for (uint64_t ws = o.min; ws <= o.max; ws *= 2)
		r.total += (uint64_t)nkinds * o.samples * o.rounds;
	cli_progress_init(&r.prog, !o.quiet);

	json_t *points = json_array(), *cal_before = NULL, *cal_after = NULL;
	if (o.calibrate) {
		cal_before = calibrate(&r);
		r.l2_cycles = json_number_value(json_object_get(cal_before, "l2_cycles"));
		r.llc_cycles = json_number_value(json_object_get(cal_before, "llc_cycles"));
		r.calib_rounds = json_array();
	}
	for (uint64_t ws = o.min; ws <= o.max; ws *= 2)
		measure_ws(&r, ws, points);
	cli_progress_done(&r.prog);
	if (o.calibrate)
		cal_after = calibrate(&r);
	nw_perf_group_close(&r.perf);
	nw_hugetlb_restore_all();

	json_t *hw = json_pack("{s:o, s:f, s:I, s:I, s:I, s:I, s:o}", "context", r.context, "core_ghz", r.ghz,
			       "samples", (json_int_t)o.samples, "rounds", (json_int_t)o.rounds, "lines_per_page", (json_int_t)o.lines, "loads_per_sample", (json_int_t)r.loads,
			       "points", points);
	json_object_set_new(hw, "penalty", penalties(points, &o));
	json_object_set_new(hw, "marks", knee_marks(r.context));
	json_object_set_new(hw, "paired", json_boolean(o.paired));
	if (o.calibrate)
		json_object_set_new(hw, "calibration", json_pack("{s:O, s:O, s:o}", "before", cal_before, "after",
								 cal_after, "rounds", r.calib_rounds));
	json_t *root = json_pack("{s:s, s:s, s:o}", "nestwalk", NW_VERSION, "command", "hw", "hw", hw);

	size_t i;
	json_t *p;

	rc = CLI_OK;
	if (o.out && cli_write_json(root, o.out, why, sizeof(why)) < 0)
		rc = cli_fail(CMD, "%s", why);
	if (o.json_stdout) {
		if (cli_write_json(root, "-", why, sizeof(why)) < 0)
			rc = cli_fail(CMD, "%s", why);
	} else {
		print_table(hw, &o);
		print_calib("before", cal_before);
		print_calib("after", cal_after);
		json_array_foreach(r.calib_rounds, i, p)
			if (json_object_get(p, "dram_ns_median"))
				printf("calibration in the rounds at %llu MiB: DRAM %.1f ns, LLC share of 4 MiB %.2f "
				       "(%.1f MiB) (medians)\n",
				       (unsigned long long)json_integer_value(json_object_get(p, "ws")) >> 20,
				       json_number_value(json_object_get(p, "dram_ns_median")),
				       json_number_value(json_object_get(p, "llc_hit_4m_median")),
				       (double)json_integer_value(json_object_get(p, "llc_bytes_median")) / (1 << 20));
	}
	json_decref(cal_before);
	json_decref(cal_after);
	bool any = false;
	json_array_foreach(points, i, p)
		any |= !strcmp(json_string_value(json_object_get(p, "status")), "ok");
	if (!any && rc == CLI_OK)
		rc = cli_fail(CMD, "no point could be measured (every one was skipped)");
	json_decref(root);
	return rc;
}
