/* SPDX-License-Identifier: MIT */
/*
 * nestwalk run: one workload in one VM configuration. Checks the options
 * (mode, vendor and preset combine under ARCHITECTURE.md's rule), runs it
 * through nw_run, prints a summary, and writes every figure as JSON.
 */

#define _GNU_SOURCE /* getopt_long */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "nwt.h"

#define CMD "run"

enum {
	OPT_GUEST_LEVELS = 256,
	OPT_HOST_LEVELS,
	OPT_NO_CACHES,
	OPT_NO_VPID,
	OPT_PCID,
	OPT_DATA,
	OPT_QUANTUM,
	OPT_VERSION,
};

static const struct option options[] = {
	{ "mode", required_argument, NULL, 'm' },
	{ "workload", required_argument, NULL, 'w' },
	{ "vcpus", required_argument, NULL, 'n' },
	{ "cpu", required_argument, NULL, 'c' },
	{ "host-pages", required_argument, NULL, 'H' },
	{ "guest-pages", required_argument, NULL, 'G' },
	{ "guest-levels", required_argument, NULL, OPT_GUEST_LEVELS },
	{ "host-levels", required_argument, NULL, OPT_HOST_LEVELS },
	{ "seed", required_argument, NULL, 's' },
	{ "no-caches", no_argument, NULL, OPT_NO_CACHES },
	{ "no-vpid", no_argument, NULL, OPT_NO_VPID },
	{ "pcid", no_argument, NULL, OPT_PCID },
	{ "data", required_argument, NULL, OPT_DATA },
	{ "quantum", required_argument, NULL, OPT_QUANTUM },
	{ "json", required_argument, NULL, 'j' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	CLI_SHADOW_LONGOPTS,
	{ NULL, 0, NULL, 0 },
};

/* What the command line asked for, before it is checked. */
struct run_args {
	const char *mode, *workload, *cpu, *host_pages, *guest_pages, *data, *json;
	const char *vcpus, *seed, *guest_levels, *host_levels, *quantum;
	bool no_caches, no_vpid, pcid, quiet;
	const char *shadow[CLI_SHADOW_NOPTS];
};

static void help_line(void *arg, const char *text)
{
	fprintf(arg, "%s\n", text);
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: nestwalk run --workload NAME[:key=value,...] [OPTIONS]\n"
		"\n"
		"Boot a guest in a software VM, run one workload on it, and print its\n"
		"figures: accesses, TLB misses, references per walk, VM exits per 1,000\n"
		"accesses, modelled cycles per access, and the checksum of every value\n"
		"the workload loaded (the same in every mode when the translations are right).\n"
		"\n"
		"Options:\n"
		"  -w, --workload SPEC     the workload (below)\n"
		"  -m, --mode MODE         native, ept, npt or shadow (default ept)\n"
		"  -c, --cpu PRESET        skylake, zen3, zen4, generic or host (default:\n"
		"                          skylake for ept, zen4 for npt, generic otherwise);\n"
		"                          ept needs an Intel preset, npt an AMD one\n"
		"      --vcpus N           vCPUs, 1..%d (default 1)\n"
		"      --host-pages SIZE   pages backing guest RAM: 4k, 2m, 1g or mixed (default 4k)\n"
		"      --guest-pages SIZE  the guest's pages for workload memory: 4k or 2m (default 4k)\n"
		"      --guest-levels N    guest paging levels, 4 or 5 (default 4)\n"
		"      --host-levels N     EPT/NPT levels, 4 or 5 (default 4)\n"
		"  -s, --seed N            seed of the workload and of host frame order (default 1)\n"
		"      --no-caches         no TLBs or paging-structure caches: every access walks\n"
		"      --no-vpid           no VPID tagging (flushes at VM entry and exit)\n"
		"      --pcid              give guest processes PCIDs\n"
		"      --data MODE         real, translation-only, or auto (default): real data\n"
		"                          proves translations; translation-only backs all data\n"
		"                          with one frame, for working sets beyond memory\n"
		"      --quantum N         operations per vCPU turn (default 64)\n"
		"  -j, --json FILE         write the configuration and every figure as JSON\n"
		"                          (\"-\": to stdout, instead of the summary)\n"
		"  -q, --quiet             no summary and no progress bar\n"
		"  -h, --help              show this help\n"
		"\n"
		CLI_SHADOW_HELP
		"\n"
		"Workloads (sizes take k/m/g, binary; counts k/m/g, decimal):\n",
		NW_VM_MAX_VCPUS);
	nw_workload_help(help_line, f);
	fprintf(f,
		"\n"
		"Example:\n"
		"  nestwalk run --mode npt --cpu zen4 --workload random:ws=64m,ops=200000,huge=1\n"
		"\n"
		"Exit status: 0 ok, 1 runtime failure, 2 usage or bad input.\n");
}

static int parse_args(int argc, char **argv, struct run_args *a, bool *help)
{
	int c;

	optind = 0; /* glibc: start over, whatever ran before */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":m:w:c:s:j:qh", options, NULL)) != -1) {
		switch (c) {
		case 'm': a->mode = optarg; break;
		case 'w': a->workload = optarg; break;
		case 'n': a->vcpus = optarg; break;
		case 'c': a->cpu = optarg; break;
		case 'H': a->host_pages = optarg; break;
		case 'G': a->guest_pages = optarg; break;
		case OPT_GUEST_LEVELS: a->guest_levels = optarg; break;
		case OPT_HOST_LEVELS: a->host_levels = optarg; break;
		case 's': a->seed = optarg; break;
		case OPT_NO_CACHES: a->no_caches = true; break;
		case OPT_NO_VPID: a->no_vpid = true; break;
		case OPT_PCID: a->pcid = true; break;
		case OPT_DATA: a->data = optarg; break;
		case OPT_QUANTUM: a->quantum = optarg; break;
		case 'j': a->json = optarg; break;
		case 'q': a->quiet = true; break;
		case 'h': *help = true; break;
		case OPT_VERSION:
			printf("nestwalk %s\n", NW_VERSION);
			exit(CLI_OK);
		default:
			if (cli_shadow_opt(c, a->shadow))
				break;
			return cli_bad_option(CMD, c, argv);
		}
	}
	if (optind < argc)
		return cli_usage(CMD, "unexpected argument '%s'", argv[optind]);
	return 0;
}

static const char *default_cpu(enum nw_vm_mode m)
{
	return m == NW_VM_EPT ? "skylake" : m == NW_VM_NPT ? "zen4" : "generic";
}

/* Check every option and build the run's configuration: 0 or CLI_USAGE. */
static int configure(const struct run_args *a, struct nw_run_cfg *c)
{
	char err[256];
	uint64_t v;
	int rc;

	nw_run_cfg_default(c);
	c->trace = &nw_nwt_source;
	if (!a->workload)
		return cli_usage(CMD, "--workload is required (try 'nestwalk run --help')");
	if (nw_workload_parse(a->workload, &c->wl, err, sizeof(err)) < 0)
		return cli_usage(CMD, "%s", err);
	if (a->mode && nw_vm_mode_parse(a->mode, &c->vm.mode) < 0)
		return cli_usage(CMD, "unknown mode '%s' (native, ept, npt, shadow)", a->mode);
	const char *cpu = a->cpu ? a->cpu : default_cpu(c->vm.mode);
	rc = cli_preset(cpu, &c->vm.cpu, err, sizeof(err));
	if (rc == -ENOENT)
		return cli_usage(CMD, "unknown CPU preset '%s' (skylake, zen3, zen4, generic, host)", cpu);
	if (rc < 0)
		return cli_usage(CMD, "CPU preset %s: %s", cpu, err);
	if ((c->vm.mode == NW_VM_EPT && c->vm.cpu.vendor == NW_VENDOR_AMD) ||
	    (c->vm.mode == NW_VM_NPT && c->vm.cpu.vendor == NW_VENDOR_INTEL))
		return cli_usage(CMD, "mode %s needs %s CPU preset (or generic); %s is %s",
				 nw_vm_mode_name(c->vm.mode),
				 c->vm.mode == NW_VM_EPT ? "an Intel" : "an AMD", cpu,
				 c->vm.cpu.vendor == NW_VENDOR_AMD ? "AMD" : "Intel");
	if (a->vcpus) {
		if (cli_u64(a->vcpus, 1, NW_VM_MAX_VCPUS, &v) < 0)
			return cli_usage(CMD, "--vcpus '%s': expected a number from 1 to %d", a->vcpus,
					 NW_VM_MAX_VCPUS);
		c->vm.vcpus = (unsigned)v;
	}
	if (a->host_pages && cli_host_pages(a->host_pages, &c->vm.host_page) < 0)
		return cli_usage(CMD, "--host-pages '%s': expected 4k, 2m, 1g or mixed", a->host_pages);
	if (a->guest_pages && cli_guest_pages(a->guest_pages, &c->guest_page) < 0)
		return cli_usage(CMD, "--guest-pages '%s': expected 4k or 2m", a->guest_pages);
	if (a->guest_levels) {
		if (cli_u64(a->guest_levels, 4, 5, &v) < 0)
			return cli_usage(CMD, "--guest-levels '%s': expected 4 or 5", a->guest_levels);
		c->guest.levels = (int)v;
	}
	if (a->host_levels) {
		if (cli_u64(a->host_levels, 4, 5, &v) < 0)
			return cli_usage(CMD, "--host-levels '%s': expected 4 or 5", a->host_levels);
		c->vm.host_levels = (int)v;
	}
	if (a->seed && cli_u64(a->seed, 0, UINT64_MAX, &c->seed) < 0)
		return cli_usage(CMD, "--seed '%s': expected a non-negative integer", a->seed);
	if (a->quantum) {
		if (cli_u64(a->quantum, 1, 1u << 30, &v) < 0)
			return cli_usage(CMD, "--quantum '%s': expected a positive number", a->quantum);
		c->quantum = (unsigned)v;
	}
	c->vm.caches = !a->no_caches;
	c->vm.vpid = !a->no_vpid;
	rc = cli_shadow_cfg(CMD, a->shadow, &c->vm.shadow);
	if (rc)
		return rc;
	c->guest.pcid = a->pcid;
	if (!a->data || !strcmp(a->data, "auto")) {
		/* Real data unless the working set would not fit in half of this machine. */
		long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
		uint64_t mem = pages > 0 && size > 0 ? (uint64_t)pages * (uint64_t)size : 0;
		c->data = mem && nw_run_footprint(c) > mem / 2 ? NW_DATA_TRANSLATION_ONLY : NW_DATA_REAL;
	} else if (!strcmp(a->data, "real")) {
		c->data = NW_DATA_REAL;
	} else if (!strcmp(a->data, "translation-only")) {
		c->data = NW_DATA_TRANSLATION_ONLY;
	} else {
		return cli_usage(CMD, "--data '%s': expected real, translation-only or auto", a->data);
	}
	return 0;
}

static double fig(const struct nw_run_result *r, const char *name)
{
	double v = 0;

	nw_run_figure(r, name, &v);
	return v;
}

static uint64_t st(const struct nw_stat *s, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(s[i].name, name))
			return s[i].value;
	return 0;
}

static void summary(const struct nw_run_cfg *c, const struct nw_run_result *r)
{
	char spec[256];
	uint64_t acc = (uint64_t)fig(r, "access.total");

	nw_workload_format(&c->wl, spec, sizeof(spec));
	printf("workload           %s\n", spec);
	printf("vm                 %s on %s (%s), %u vCPU%s, host pages %s, guest pages %s,\n"
	       "                   levels %dx%d, caches %s, seed %llu\n",
	       nw_vm_mode_name(c->vm.mode), c->vm.cpu.name, cli_vendor_name(c->vm.cpu.vendor),
	       c->vm.vcpus, c->vm.vcpus == 1 ? "" : "s", cli_pages_name(c->vm.host_page),
	       cli_pages_name(c->guest_page), c->guest.levels, c->vm.host_levels,
	       c->vm.caches ? "on" : "off", (unsigned long long)c->seed);
	printf("data               %s, guest RAM %llu MiB\n", nw_data_mode_name(r->data),
	       (unsigned long long)(r->ram >> 20));
	printf("measured phase     %llu operations (warm-up and teardown excluded)\n",
	       (unsigned long long)st(r->stats, r->nstats, "workload.ops"));
	printf("  accesses         %llu\n", (unsigned long long)acc);
	printf("  TLB miss rate    %.2f%% (%.0f last-level misses)\n",
	       100 * fig(r, "tlb.miss_rate"), fig(r, "tlb.misses"));
	printf("  refs per walk    %.2f (guest %.2f, host %.2f; %llu walks)\n",
	       fig(r, "walk.refs_per_walk"), fig(r, "walk.refs_per_walk.guest"),
	       fig(r, "walk.refs_per_walk.host"),
	       (unsigned long long)st(r->stats, r->nstats, "walks"));
	printf("  exits per 1k     %.3f", fig(r, "exits.per_1k"));
	for (size_t i = 0; i < r->nfigures; i++) {
		const char *n = r->figures[i].name;
		if (!strncmp(n, "exits.", 6) && strcmp(n, "exits.per_1k") && r->figures[i].value > 0)
			printf(" %s %.3f", n + 6, r->figures[i].value);
	}
	printf("\n  cycles/access    %.2f\n", fig(r, "cycles.per_access"));
	if (c->vm.mode == NW_VM_SHADOW) {
#define S(nm) (unsigned long long)st(r->stats, r->nstats, nm)
		const struct nw_vm_shadow_cfg *sc = &c->vm.shadow;
		printf("  shadow MMU       unsync %s, 2 MiB leaves %s, %u previous roots, flood at %u%s\n",
		       sc->unsync ? "on" : "off", sc->large_pages ? "on" : "off", sc->root_cache,
		       sc->flood_threshold, sc->checker ? ", checker on" : "");
		printf("  shadow #PF       %llu fixed, %llu injected, %llu writes to emulate, %llu MMIO\n",
		       S("shadow.faults.fixed"), S("shadow.faults.injected"), S("shadow.faults.emulate"),
		       S("shadow.faults.mmio"));
		printf("  shadow pages     %llu at the end, %llu made, %llu zapped (%llu write-flooded)\n",
		       S("shadow.pages"), S("shadow.pages.created"), S("shadow.zaps"),
		       S("shadow.unshadowed"));
		printf("  2 MiB leaves     %llu set, %llu zapped\n", S("shadow.large_leaves"),
		       S("shadow.large_zaps"));
		printf("  shadow sync      %llu emulated writes, %llu unsyncs, %llu syncs, root cache %llu of %llu\n",
		       S("shadow.emulated_writes"), S("shadow.unsyncs"), S("shadow.syncs"),
		       S("shadow.root_hits"), S("shadow.root_hits") + S("shadow.root_misses"));
#undef S
	}
	printf("checksum           %016llx (%llu loads differed from what was stored)\n",
	       (unsigned long long)r->checksum, (unsigned long long)r->mismatches);
	printf("guest faults       %llu demand-zero, %llu copy-on-write (whole run)\n",
	       (unsigned long long)st(r->total, r->ntotal, "guest.faults.demand"),
	       (unsigned long long)st(r->total, r->ntotal, "guest.faults.cow"));
	printf("host frames        %llu at the end\n",
	       (unsigned long long)st(r->total, r->ntotal, "vm.host_frames"));
	printf("wall time          %.2f s\n", r->wall_seconds);
}

int cli_run(int argc, char **argv)
{
	struct run_args a = { 0 };
	struct nw_run_cfg cfg;
	struct nw_run_result *res;
	struct cli_progress prog;
	bool help = false, to_stdout;
	char err[256] = "";
	int rc = parse_args(argc, argv, &a, &help);

	if (rc)
		return rc;
	if (help) {
		usage(stdout);
		return CLI_OK;
	}
	rc = configure(&a, &cfg);
	if (rc)
		return rc;
	to_stdout = a.json && !strcmp(a.json, "-");
	cli_progress_init(&prog, !a.quiet);
	cfg.progress = cli_progress_update;
	cfg.progress_arg = &prog;
	res = malloc(sizeof(*res));
	if (!res)
		return cli_fail(CMD, "out of memory");
	rc = nw_run(&cfg, res, err, sizeof(err));
	cli_progress_done(&prog);
	if (rc == -EINVAL) {
		free(res);
		return cli_usage(CMD, "%s", err);
	}
	if (rc < 0) {
		free(res);
		return cli_fail(CMD, "%s", err[0] ? err : strerror(-rc));
	}
	if (!a.quiet && !to_stdout)
		summary(&cfg, res);
	rc = CLI_OK;
	if (a.json) {
		json_t *root = cli_run_json(&cfg, res);
		if (!root || cli_write_json(root, a.json, err, sizeof(err)) < 0)
			rc = cli_fail(CMD, "%s", root ? err : "cannot build the JSON");
		json_decref(root);
	}
	if (rc == CLI_OK && res->mismatches && res->data == NW_DATA_REAL)
		rc = cli_fail(CMD, "%llu loads read data the workload never stored: a translation went wrong",
			      (unsigned long long)res->mismatches);
	free(res);
	return rc;
}
