/*
 * nestwalk-bench - the Google Benchmark binary: every --benchmark_* flag
 * works as usual (filter, min_time, repetitions, format=json, out=FILE), and
 * a few --hw_* flags steer the hardware suite. docs/BENCHMARKS.md shows use.
 */
#define _GNU_SOURCE
#include "gbench.h"
#include "suites.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void help(void)
{
	printf("nestwalk-bench [--benchmark_* ...] [--hw_* ...]\n"
	       "\n"
	       "hardware suite (hw/<kind>/<ws>, hw/penalty/<ws>):\n"
	       "  --hw_event=COUNTER=EVENT  count COUNTER (dtlb_walks, walk_cycles,\n"
	       "                            ept_walk_cycles) with this libpfm4 event\n"
	       "  --hw_hugetlb_reserve=0|1  raise nr_hugepages when short (default 1;\n"
	       "                            root only; always restored, even on SIGINT)\n"
	       "  --hw_core=N               pin to core N (default: the last core)\n"
	       "  --hw_max_ws=SIZE          largest working set, e.g. 256M (default 8G;\n"
	       "                            also bounded by MemAvailable)\n"
	       "\n"
	       "model suite (model/chase/..., the hw chase replayed on the host preset):\n"
	       "  --model_llc=SIZE          LLC size to model instead of hwloc's, e.g. 4M\n"
	       "  --model_dram_ns=NS        DRAM latency to model instead of the preset's\n"
	       "  --model_gpa_seq=F         share of a 4K guest chase's hops that land on the\n"
	       "                            frame next to the previous one (nestwalk hw: gpa.adjacent)\n"
	       "  --model_gpa_file=FILE     a 4K guest chase on the frames nestwalk hw --gpa-out\n"
	       "                            measured (for the working set of FILE's size)\n"
	       "\n");
	nw_gb_print_default_help();
}

static size_t parse_size(const char *s)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 0);

	switch (*end) {
	case 'G': case 'g': return (size_t)v << 30;
	case 'M': case 'm': return (size_t)v << 20;
	case 'K': case 'k': return (size_t)v << 10;
	case 0: return (size_t)v;
	default: return 0;
	}
}

static uint64_t model_llc;
static double model_dram_ns;
static double model_gpa_seq;
static const char *model_gpa_file;

/* Takes the --hw_* and --model_* flags out of argv; returns -1 on a bad one. */
static int parse_hw_flags(int *argc, char **argv, struct nw_bench_hw_opts *o)
{
	int out = 1;

	for (int i = 1; i < *argc; i++) {
		const char *a = argv[i], *v;

		if (strncmp(a, "--hw_event=", 11) == 0) {
			const char *eq = strchr(a + 11, '=');
			int w;

			for (w = 0; eq && w < NW_PERF_NWALK; w++) {
				const char *name = nw_perf_walk_name(w);

				if (strlen(name) == (size_t)(eq - (a + 11)) &&
				    strncmp(a + 11, name, strlen(name)) == 0)
					break;
			}
			if (!eq || w == NW_PERF_NWALK) {
				fprintf(stderr, "nestwalk-bench: %s: want --hw_event=COUNTER=EVENT\n", a);
				return -1;
			}
			o->event[w] = eq + 1;
		} else if (strncmp(a, "--hw_hugetlb_reserve=", 21) == 0) {
			o->may_reserve = atoi(a + 21) != 0;
		} else if (strncmp(a, "--hw_core=", 10) == 0) {
			o->core = atoi(a + 10);
		} else if (strncmp(a, "--hw_max_ws=", 12) == 0) {
			v = a + 12;
			if (!(o->max_ws = parse_size(v))) {
				fprintf(stderr, "nestwalk-bench: %s: bad size\n", a);
				return -1;
			}
		} else if (strncmp(a, "--model_llc=", 12) == 0) {
			if (!(model_llc = parse_size(a + 12))) {
				fprintf(stderr, "nestwalk-bench: %s: bad size\n", a);
				return -1;
			}
		} else if (strncmp(a, "--model_dram_ns=", 16) == 0) {
			char *end;

			model_dram_ns = strtod(a + 16, &end);
			if (*end || !(model_dram_ns > 0)) {
				fprintf(stderr, "nestwalk-bench: %s: bad latency\n", a);
				return -1;
			}
		} else if (strncmp(a, "--model_gpa_file=", 17) == 0) {
			model_gpa_file = a + 17;
			if (!*model_gpa_file) {
				fprintf(stderr, "nestwalk-bench: %s: want a file\n", a);
				return -1;
			}
		} else if (strncmp(a, "--model_gpa_seq=", 16) == 0) {
			char *end;

			model_gpa_seq = strtod(a + 16, &end);
			if (*end || !(model_gpa_seq >= 0 && model_gpa_seq < 1)) {
				fprintf(stderr, "nestwalk-bench: %s: want a share in [0, 1)\n", a);
				return -1;
			}
		} else {
			argv[out++] = argv[i];
		}
	}
	*argc = out;
	argv[out] = NULL;
	return 0;
}

int main(int argc, char **argv)
{
	struct nw_bench_hw_opts hw = {.may_reserve = true, .core = -1};

	nw_gb_initialize(&argc, argv, help);
	if (parse_hw_flags(&argc, argv, &hw) || nw_gb_report_unrecognized_arguments(argc, argv))
		return 2;
	nw_bench_hw_setup(&hw);
	nw_bench_hw_register();
	nw_bench_walk_register();
	nw_bench_tlb_register();
	nw_bench_invept_register();
	nw_bench_table_register();
	nw_bench_model_calibrate(model_llc, model_dram_ns);
	if (model_gpa_seq > 0)
		nw_bench_model_gpa_seq(model_gpa_seq);
	if (model_gpa_file)
		nw_bench_model_gpa_file(model_gpa_file);
	nw_bench_model_register();
	nw_gb_run();
	nw_bench_hw_teardown();
	nw_gb_shutdown();
	return 0;
}
