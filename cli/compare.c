/* SPDX-License-Identifier: MIT */
/*
 * nestwalk compare: the matrix modes x workloads x pages x CPU presets,
 * each cell one nw_run. Cells the vendor rule forbids (ept on an AMD
 * preset, npt on an Intel one) and cells the VM refuses (nw_run's -EINVAL,
 * e.g. a mode not available) are recorded as skipped, with the reason.
 * --shard I/N runs the cells whose index is I-1 modulo N, so that N shards
 * together run each cell once and `nestwalk report` can merge them.
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
#include "report.h"

#define CMD "compare"
#define MAX_ITEMS 16

#define DEFAULT_MODES "native,ept,npt,shadow"
#define DEFAULT_WORKLOADS \
	"seq:ws=8m,passes=2,random:ws=16m,ops=100000,chase:ws=8m,ops=50000," \
	"churn:size=256k,rounds=16,fork,ctxsw"
#define DEFAULT_PAGES "4k,2m"
#define DEFAULT_CPUS "generic"

static const struct option options[] = {
	{ "modes", required_argument, NULL, 'm' },
	{ "workloads", required_argument, NULL, 'w' },
	{ "pages", required_argument, NULL, 'p' },
	{ "cpus", required_argument, NULL, 'c' },
	{ "shard", required_argument, NULL, 's' },
	{ "out", required_argument, NULL, 'o' },
	{ "help", no_argument, NULL, 'h' },
	CLI_SHADOW_LONGOPTS,
	{ NULL, 0, NULL, 0 },
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: nestwalk compare --out DIR [OPTIONS]\n"
		"\n"
		"Run every combination of modes, workloads, page sizes and CPU presets, and\n"
		"write DIR/results.json, DIR/report.md, DIR/report.html (charts drawn by\n"
		"gnuplot, inline SVG) and DIR/*.csv. Cells the vendor rule forbids (ept on\n"
		"an AMD preset, npt on an Intel one) or the VM refuses are reported as\n"
		"skipped, with the reason.\n"
		"\n"
		"Options:\n"
		"  -o, --out DIR           where the results and report go (required)\n"
		"  -m, --modes LIST        native, ept, npt, shadow (default %s)\n"
		"  -w, --workloads LIST    workload specs, comma separated; a key=value after\n"
		"                          a spec belongs to it, and so does a file after\n"
		"                          trace:FILE (default %s)\n"
		"  -p, --pages LIST        4k (guest and host 4 KiB), 2m (both 2 MiB),\n"
		"                          guest2m (guest 2 MiB on host 4 KiB), host2m\n"
		"                          (guest 4 KiB on host 2 MiB) (default %s)\n"
		"  -c, --cpus LIST         CPU presets: skylake, zen3, zen4, generic, host\n"
		"                          (default %s)\n"
		"  -s, --shard I/N         run only slice I of N (1-based); merge the slices\n"
		"                          with 'nestwalk report'\n"
		"  -h, --help              show this help\n"
		"\n"
		CLI_SHADOW_HELP
		"\n"
		"Exit status: 0 ok, 1 runtime failure, 2 usage or bad input.\n",
		DEFAULT_MODES, DEFAULT_WORKLOADS, DEFAULT_PAGES, DEFAULT_CPUS);
}

struct list {
	char *item[MAX_ITEMS];
	int n;
};

/*
 * Whether the piece t of a workload list continues the item before it: a
 * key=value of its spec, or, after a trace item (trace:a.nwt,b.nwt), a
 * further file, which is anything that is not a workload spec itself.
 */
static bool continues(const char *prev, const char *t)
{
	struct nw_workload w;
	char err[160];

	if (strchr(t, '=') && !strchr(t, ':'))
		return true;
	return !strncmp(prev, "trace:", 6) && nw_workload_parse(t, &w, err, sizeof(err)) < 0;
}

/* Split on commas, joining the pieces that continue an item (above). */
static int split(const char *s, bool specs, struct list *l)
{
	char *copy = strdup(s), *save = NULL;
	l->n = 0;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (specs && l->n && continues(l->item[l->n - 1], t)) {
			char *prev = l->item[l->n - 1], *joined;
			if (asprintf(&joined, "%s,%s", prev, t) < 0)
				abort();
			free(prev);
			l->item[l->n - 1] = joined;
			continue;
		}
		if (l->n == MAX_ITEMS) {
			free(copy);
			return -E2BIG;
		}
		l->item[l->n++] = strdup(t);
	}
	free(copy);
	return l->n ? 0 : -EINVAL;
}

static void list_free(struct list *l)
{
	for (int i = 0; i < l->n; i++)
		free(l->item[i]);
}

static json_t *list_json(const struct list *l)
{
	json_t *a = json_array();
	for (int i = 0; i < l->n; i++)
		json_array_append_new(a, json_string(l->item[i]));
	return a;
}

/* The figures of one ok cell (its "stats" hold every counter): the derived ones (wall time aside: it is not
 * reproducible), the cycle components per access, and the headline counts. */
static json_t *cell_figures(const struct nw_run_result *r)
{
	json_t *o = json_object();
	uint64_t acc, v;
	double total = 0;

	for (size_t i = 0; i < r->nfigures; i++)
		if (strncmp(r->figures[i].name, "run.", 4))
			json_object_set_new(o, r->figures[i].name, json_real(r->figures[i].value));
	nw_run_figure(r, "access.total", &total);
	acc = (uint64_t)total;
	json_object_set_new(o, "accesses", json_integer((json_int_t)acc));
	for (int i = 0; cli_cycle_parts[i]; i++) {
		char name[64];
		v = 0;
		nw_run_stat(r, cli_cycle_parts[i], &v);
		snprintf(name, sizeof(name), "%s.per_access", cli_cycle_parts[i]);
		json_object_set_new(o, name, json_real(acc ? (double)v / (double)acc : 0));
	}
	nw_run_stat(r, "walks", &v);
	json_object_set_new(o, "walks", json_integer((json_int_t)v));
	return o;
}

/* A counter as JSON: an integer, or "0x..." past JSON's signed 64 bits (checksums). */
static json_t *stat_json(uint64_t v)
{
	char buf[24];
	if (v <= INT64_MAX)
		return json_integer((json_int_t)v);
	snprintf(buf, sizeof(buf), "0x%016llx", (unsigned long long)v);
	return json_string(buf);
}

struct matrix {
	struct list modes, workloads, pages, cpus;
	struct nw_workload wl[MAX_ITEMS];
	enum nw_vm_mode mode[MAX_ITEMS];
	struct nw_cpu_preset cpu[MAX_ITEMS];
	int page[MAX_ITEMS];        /* the guest's */
	int host_page[MAX_ITEMS];
};

/* A --pages item: "4k" or "2m" for guest and host alike, or "guest2m" / "host2m". */
static int parse_pages(const char *s, int *guest, int *host)
{
	if (!strcmp(s, "guest2m")) {
		*guest = NW_PAGE_2M;
		*host = NW_PAGE_4K;
		return 0;
	}
	if (!strcmp(s, "host2m")) {
		*guest = NW_PAGE_4K;
		*host = NW_PAGE_2M;
		return 0;
	}
	if (cli_guest_pages(s, guest) < 0)
		return -EINVAL;
	*host = *guest;
	return 0;
}

static int check_matrix(struct matrix *m)
{
	char err[256];
	for (int i = 0; i < m->modes.n; i++)
		if (nw_vm_mode_parse(m->modes.item[i], &m->mode[i]) < 0)
			return cli_usage(CMD, "unknown mode '%s' (native, ept, npt, shadow)", m->modes.item[i]);
	for (int i = 0; i < m->workloads.n; i++)
		if (nw_workload_parse(m->workloads.item[i], &m->wl[i], err, sizeof(err)) < 0)
			return cli_usage(CMD, "%s", err);
	for (int i = 0; i < m->pages.n; i++)
		if (parse_pages(m->pages.item[i], &m->page[i], &m->host_page[i]) < 0)
			return cli_usage(CMD, "--pages '%s': expected 4k, 2m, guest2m or host2m",
					 m->pages.item[i]);
	for (int i = 0; i < m->cpus.n; i++) {
		int rc = cli_preset(m->cpus.item[i], &m->cpu[i], err, sizeof(err));
		if (rc == -ENOENT)
			return cli_usage(CMD, "unknown CPU preset '%s' (skylake, zen3, zen4, generic, host)",
					 m->cpus.item[i]);
		if (rc < 0)
			return cli_usage(CMD, "CPU preset %s: %s", m->cpus.item[i], err);
	}
	return CLI_OK;
}

/* The vendor rule: NULL, or why the cell cannot run. */
static const char *vendor_rule(enum nw_vm_mode mode, const struct nw_cpu_preset *p)
{
	if (mode == NW_VM_EPT && p->vendor == NW_VENDOR_AMD)
		return "ept needs an Intel (or generic) CPU preset";
	if (mode == NW_VM_NPT && p->vendor == NW_VENDOR_INTEL)
		return "npt needs an AMD (or generic) CPU preset";
	return NULL;
}

int cli_compare(int argc, char **argv)
{
	const char *modes = DEFAULT_MODES, *workloads = DEFAULT_WORKLOADS, *pages = DEFAULT_PAGES;
	const char *cpus = DEFAULT_CPUS, *out = NULL, *shard = NULL;
	const char *shadow_opt[CLI_SHADOW_NOPTS] = { NULL };
	struct nw_vm_cfg vm_defaults;
	uint64_t si = 1, sn = 1;
	int opt;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":m:w:p:c:s:o:h", options, NULL)) != -1) {
		switch (opt) {
		case 'm': modes = optarg; break;
		case 'w': workloads = optarg; break;
		case 'p': pages = optarg; break;
		case 'c': cpus = optarg; break;
		case 's': shard = optarg; break;
		case 'o': out = optarg; break;
		case 'h':
			usage(stdout);
			return CLI_OK;
		default:
			if (cli_shadow_opt(opt, shadow_opt))
				break;
			return cli_bad_option(CMD, opt, argv);
		}
	}
	if (optind < argc)
		return cli_usage(CMD, "unexpected argument '%s'", argv[optind]);
	if (!out)
		return cli_usage(CMD, "--out DIR is required (try 'nestwalk compare --help')");
	nw_vm_cfg_default(&vm_defaults);
	int src = cli_shadow_cfg(CMD, shadow_opt, &vm_defaults.shadow);
	if (src)
		return src;
	if (shard) {
		char a[32], b[32];
		const char *slash = strchr(shard, '/');
		if (!slash || (size_t)(slash - shard) >= sizeof(a) || strlen(slash + 1) >= sizeof(b))
			return cli_usage(CMD, "--shard '%s': expected I/N", shard);
		memcpy(a, shard, (size_t)(slash - shard));
		a[slash - shard] = 0;
		strcpy(b, slash + 1);
		if (cli_u64(b, 1, 1000000, &sn) < 0 || cli_u64(a, 1, sn, &si) < 0)
			return cli_usage(CMD, "--shard '%s': expected I/N with 1 <= I <= N", shard);
	}

	struct matrix *m = calloc(1, sizeof(*m));
	if (!m)
		return cli_fail(CMD, "out of memory");
	int rc = CLI_OK;
	if (split(modes, false, &m->modes) < 0 || split(workloads, true, &m->workloads) < 0 ||
	    split(pages, false, &m->pages) < 0 || split(cpus, false, &m->cpus) < 0)
		rc = cli_usage(CMD, "empty or too long list (at most %d items each)", MAX_ITEMS);
	if (rc == CLI_OK)
		rc = check_matrix(m);
	if (rc == CLI_OK && !cli_runnable("gnuplot"))
		rc = cli_fail(CMD, "gnuplot is not installed (scripts/setup.sh installs gnuplot-nox)");
	if (rc != CLI_OK)
		goto out;

	json_t *results = json_object(), *cells = json_array();
	json_t *config = json_pack("{s:o, s:o, s:o, s:o}", "modes", list_json(&m->modes),
				   "workloads", list_json(&m->workloads), "pages", list_json(&m->pages),
				   "cpus", list_json(&m->cpus));
	json_object_set_new(results, "nestwalk", json_string(NW_VERSION));
	json_object_set_new(config, "shadow",
			    json_pack("{s:b, s:b, s:i, s:i, s:b}", "unsync", vm_defaults.shadow.unsync,
				      "large_pages", vm_defaults.shadow.large_pages, "root_cache",
				      (int)vm_defaults.shadow.root_cache, "flood_threshold",
				      (int)vm_defaults.shadow.flood_threshold, "checker",
				      vm_defaults.shadow.checker));
	json_object_set_new(results, "config", config);
	if (shard)
		json_object_set_new(results, "shard", json_pack("{s:I, s:I}", "index", (json_int_t)si,
								  "count", (json_int_t)sn));

	int total = m->cpus.n * m->pages.n * m->workloads.n * m->modes.n, mine = 0, done = 0;
	for (int i = 0; i < total; i++)
		mine += (uint64_t)i % sn == si - 1;
	bool tty = isatty(STDERR_FILENO);
	double start = 0;
	struct cli_progress prog;
	cli_progress_init(&prog, tty);
	start = prog.start;
	struct nw_run_result *res = malloc(sizeof(*res));
	for (int idx = 0; idx < total && rc == CLI_OK; idx++) {
		if ((uint64_t)idx % sn != si - 1)
			continue;
		int mi = idx % m->modes.n, wi = idx / m->modes.n % m->workloads.n;
		int pi = idx / m->modes.n / m->workloads.n % m->pages.n;
		int ci = idx / m->modes.n / m->workloads.n / m->pages.n;
		json_t *cell = json_pack("{s:i, s:s, s:s, s:s, s:s}", "index", idx, "mode",
					 m->modes.item[mi], "workload", m->workloads.item[wi], "pages",
					 m->pages.item[pi], "cpu", m->cpus.item[ci]);
		const char *why = vendor_rule(m->mode[mi], &m->cpu[ci]);
		char err[256];
		if (!why) {
			struct nw_run_cfg cfg;
			nw_run_cfg_default(&cfg);
			cfg.vm.mode = m->mode[mi];
			cfg.vm.cpu = m->cpu[ci];
			cfg.vm.shadow = vm_defaults.shadow;
			cfg.vm.host_page = m->host_page[pi];
			cfg.guest_page = m->page[pi];
			cfg.wl = m->wl[wi];
			cfg.trace = &nw_nwt_source; /* trace:FILE items */
			int r = nw_run(&cfg, res, err, sizeof(err));
			if (r == -EINVAL) {
				why = err;
			} else if (r < 0) {
				cli_progress_done(&prog);
				rc = cli_fail(CMD, "%s %s %s %s: %s", m->modes.item[mi], m->workloads.item[wi],
					      m->pages.item[pi], m->cpus.item[ci], err);
				json_decref(cell);
				break;
			} else {
				json_object_set_new(cell, "status", json_string("ok"));
				json_object_set_new(cell, "figures", cell_figures(res));
				json_t *stats = json_object();
				for (size_t k = 0; k < res->nstats; k++)
					json_object_set_new(stats, res->stats[k].name, stat_json(res->stats[k].value));
				json_object_set_new(cell, "stats", stats);
			}
		}
		if (why) {
			json_object_set_new(cell, "status", json_string("skipped"));
			json_object_set_new(cell, "reason", json_string(why));
		}
		json_array_append_new(cells, cell);
		done++;
		if (tty) {
			cli_progress_update(&prog, (uint64_t)done, (uint64_t)mine);
		} else {
			fprintf(stdout, "[%d/%d] %s %s %s %s: %s\n", done, mine, m->modes.item[mi],
				m->workloads.item[wi], m->pages.item[pi], m->cpus.item[ci],
				why ? "skipped" : "ok");
			fflush(stdout);
		}
	}
	(void)start;
	free(res);
	if (tty)
		cli_progress_done(&prog);
	json_object_set_new(results, "cells", cells);
	if (rc == CLI_OK)
		rc = cli_report_publish(results, out, CMD);
	json_decref(results);
out:
	list_free(&m->modes);
	list_free(&m->workloads);
	list_free(&m->pages);
	list_free(&m->cpus);
	free(m);
	return rc;
}
