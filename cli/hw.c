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
#include "hw_sweep.h"

#define CMD "hw"
#define HW_MIN_WS ((uint64_t)4096)
#define HW_MAX_WS ((uint64_t)64 << 30)
#define HW_CALIB_MAX 1000

int cli_hw(int argc, char **argv); /* the subcommand, dispatched by main.c */

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

void cli_hw_size_name(char *buf, size_t n, uint64_t bytes)
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
		default:
			return cli_bad_option(CMD, opt, argv);
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

static void put_context(void *arg, const char *key, const char *value)
{
	struct hw_run *r = arg;

	json_object_set_new(r->context, key, json_string(value));
	if (!strcmp(key, "hw.core_ghz"))
		r->ghz = atof(value);
}

json_t *cli_hw_marks(json_t *context)
{
	json_t *marks = json_array(), *v;
	const char *key;

	json_object_foreach(context, key, v) {
		unsigned long long ws;
		int at = 0;

		if (!strncmp(key, "hw.mark.", 8) && json_is_string(v) &&
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
		cal_before = cli_hw_calibrate(&r);
		r.l2_cycles = json_number_value(json_object_get(cal_before, "l2_cycles"));
		r.llc_cycles = json_number_value(json_object_get(cal_before, "llc_cycles"));
		r.calib_rounds = json_array();
	}
	for (uint64_t ws = o.min; ws <= o.max; ws *= 2)
		cli_hw_measure_ws(&r, ws, points);
	cli_progress_done(&r.prog);
	if (o.calibrate)
		cal_after = cli_hw_calibrate(&r);
	nw_perf_group_close(&r.perf);
	nw_hugetlb_restore_all();

	json_t *hw = json_pack("{s:o, s:f, s:I, s:I, s:I, s:I, s:o}", "context", r.context, "core_ghz", r.ghz,
			       "samples", (json_int_t)o.samples, "rounds", (json_int_t)o.rounds, "lines_per_page", (json_int_t)o.lines, "loads_per_sample", (json_int_t)r.loads,
			       "points", points);
	json_object_set_new(hw, "penalty", cli_hw_penalties(points, &o));
	json_object_set_new(hw, "marks", cli_hw_marks(r.context));
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
		cli_hw_print_table(hw, &o);
		cli_hw_print_calib("before", cal_before);
		cli_hw_print_calib("after", cal_after);
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
