/* SPDX-License-Identifier: MIT */
#ifndef NESTWALK_WORKLOAD_H
#define NESTWALK_WORKLOAD_H

/*
 * Built-in workloads and the runner that drives them through a VM.
 *
 * A workload runs as guest processes through guest.h only: every data
 * access is nw_guest_load / nw_guest_store, so it reads and writes real
 * data in guest memory, and the checksum of every value it loaded proves
 * the translations. For one workload, seed and vCPU count the checksum is
 * the same in every mode (native, ept, npt, shadow).
 *
 *	struct nw_run_cfg cfg;
 *	struct nw_run_result res;
 *	char err[256];
 *	nw_run_cfg_default(&cfg);
 *	cfg.vm.mode = NW_VM_NPT;
 *	nw_cpu_preset("zen4", &cfg.vm.cpu, err, sizeof(err));
 *	if (nw_workload_parse("random:ws=64m,ops=200000,huge=1", &cfg.wl, err, sizeof(err)) < 0 ||
 *	    nw_run(&cfg, &res, err, sizeof(err)) < 0)
 *		fprintf(stderr, "%s\n", err);
 *	printf("%016llx\n", (unsigned long long)res.checksum);
 *
 * Workloads, as NAME[:key=value,...]:
 *   seq     stream over the working set          ws passes stride write huge
 *   random  GUPS: random read-xor-write          ws ops stride update huge
 *   chase   pointer chase round a random cycle   ws ops stride huge
 *   zipf    key-value store, Zipf-skewed keys    ws ops stride theta writes huge
 *   churn   mmap, touch, munmap rounds           size rounds huge
 *   fork    fork, copy-on-write writes, exits    ws forks children writes huge
 *   ctxsw   processes round-robin per vCPU       procs ws ops slice huge
 *   mix     every one of the above in turn       ws ops huge
 *   trace   a recorded program, one process per file: trace:FILE[,FILE...][:loops=N,...]
 *           (needs nw_run_cfg.trace)                  loops slice huge
 * Sizes take k, m, g (binary); counts take k, m, g (decimal); theta is a
 * decimal ("0.99"); booleans are 0/1. `ops` counts over all vCPUs.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nestwalk/guest.h>
#include <nestwalk/tlb_stats.h>
#include <nestwalk/trace.h>
#include <nestwalk/vmm.h>

/* ---- workload specs ---- */

#define NW_WL_MAX_PARAMS 8
#define NW_WL_FILES_MAX 1024

struct nw_wl_param {
	const char *key;      /* static, from the workload's key table */
	uint64_t value;       /* sizes in bytes, theta in thousandths */
	bool set;             /* given in the spec (not the default) */
};

struct nw_workload {
	const char *name;     /* static: "seq", "random", ... */
	unsigned nparams;
	struct nw_wl_param params[NW_WL_MAX_PARAMS]; /* every key of the workload */
	char files[NW_WL_FILES_MAX]; /* trace: its files, comma-separated; "" otherwise */
};

/* NULL-terminated list of the built-in workload names. */
extern const char *const nw_workload_names[];

/*
 * Parse NAME[:k=v,...] into w, defaults filled: 0, or -EINVAL with a
 * one-line message in err (unknown workload or key, bad or out-of-range
 * value, a key given twice).
 */
int nw_workload_parse(const char *spec, struct nw_workload *w, char *err, size_t errlen);

/* The canonical spec, every parameter spelt out ("random:ws=16m,ops=200000,...").
 * Returns the length it needed, as snprintf. */
size_t nw_workload_format(const struct nw_workload *w, char *buf, size_t len);

/* A parameter's value: 0, or -ENOENT for a key the workload does not have. */
int nw_workload_get(const struct nw_workload *w, const char *key, uint64_t *value);

/* One line per workload and key, for --help. */
void nw_workload_help(void (*line)(void *arg, const char *text), void *arg);

/* ---- the runner ---- */

enum nw_data_mode {
	NW_DATA_REAL = 0,           /* real data: checksums prove translations */
	NW_DATA_TRANSLATION_ONLY,   /* every data page on one shared host frame */
};

const char *nw_data_mode_name(enum nw_data_mode d); /* "real", "translation-only" */

struct nw_vm;
struct nw_guest;

struct nw_run_cfg {
	/*
	 * The VM: mode, cpu preset, vcpus, host_page, host_levels, caches,
	 * vpid, host_frames, migrate_every and bugs are used as given. seed
	 * is replaced by .seed; ram 0 (the default) is sized from the
	 * workload; translation_only and data_gpa follow .data.
	 */
	struct nw_vm_cfg vm;
	/* The guest: levels, pcid and bugs as given; huge and kernel_pool are
	 * the runner's. */
	struct nw_guest_cfg guest;
	struct nw_workload wl;
	int guest_page;             /* NW_PAGE_4K or NW_PAGE_2M: the default of huge= */
	uint64_t seed;              /* the workload's and the host frame order's */
	enum nw_data_mode data;
	unsigned quantum;           /* operations per vCPU turn (0: 64) */
	/* Where the trace workload reads its files (trace/nwt.h has .nwt's);
	 * NULL: trace workloads fail with a message. */
	const struct nw_trace_source *trace;
	/* Called about every 1/256 of the run, and at its end (may be NULL). */
	void (*progress)(void *arg, uint64_t done, uint64_t total);
	void *progress_arg;
	/*
	 * A test hook, called once when `hook_at` operations of the measured
	 * phase have run (0: as it starts), with the VM and guest.
	 */
	void (*hook)(void *arg, struct nw_vm *vm, struct nw_guest *g);
	void *hook_arg;
	uint64_t hook_at;
};

/* Defaults: ept on generic, 1 vCPU, 4K host and guest pages, 4 levels,
 * caches on, seed 1, real data, workload "seq". */
void nw_run_cfg_default(struct nw_run_cfg *cfg);

#define NW_RUN_STATS_MAX 256
#define NW_RUN_FIGURES_MAX 32

/* A derived figure (a rate or a mean), by stable name. */
struct nw_figure {
	const char *name;
	double value;
};

struct nw_run_result {
	/*
	 * Every figure of the VM by stable name: each vCPU's (its own and its
	 * TLB's, nw_vcpu_stats_list) summed over the vCPUs ("data.checksum"
	 * XORed), then the guest's ("guest.*"), the VM's ("vm.*") and the
	 * workload's ("workload.*"). `stats` covers the measured phase: after
	 * the workload's warm-up (set-up, initialising stores and first
	 * touches, which translation-only runs skip) and before its teardown
	 * (exits). Levels (checksums, frames in use) are as it ended. `total`
	 * covers the whole run.
	 */
	struct nw_stat stats[NW_RUN_STATS_MAX];
	size_t nstats;
	struct nw_stat total[NW_RUN_STATS_MAX];
	size_t ntotal;
	/* Rates of the measured phase (names in nw_run.c's table): accesses,
	 * TLB misses, refs per walk by dimension, exits per 1,000 accesses by
	 * kind, cycles per access, wall time. */
	struct nw_figure figures[NW_RUN_FIGURES_MAX];
	size_t nfigures;
	/* The headline numbers, also among the above. */
	uint64_t checksum;          /* "workload.checksum": every value the workload loaded */
	uint64_t mismatches;        /* "workload.mismatches": loads that differed from what it wrote */
	uint64_t ops;               /* "workload.ops": operations over the whole run */
	uint64_t ram;               /* guest RAM the runner chose (bytes) */
	enum nw_data_mode data;
	double wall_seconds;
};

/*
 * Create the VM, boot the guest, run the workload with the vCPUs
 * interleaved round-robin (`quantum` operations each), and collect the
 * figures. 0; -EINVAL with a message for a bad configuration (nothing
 * ran); another negative errno with a message for a failure during the run
 * (the guest or VM ran out of memory, a workload access faulted).
 */
int nw_run(const struct nw_run_cfg *cfg, struct nw_run_result *res, char *err, size_t errlen);

/*
 * Guest memory the workload of cfg touches, in bytes (an upper bound; its
 * page tables and the guest kernel come on top): what real data needs of
 * the host, where translation-only data needs next to nothing. 0 for an
 * unknown workload.
 */
uint64_t nw_run_footprint(const struct nw_run_cfg *cfg);

/* A figure of res by name, integer or derived: 0, or -ENOENT. */
int nw_run_stat(const struct nw_run_result *res, const char *name, uint64_t *value);
int nw_run_figure(const struct nw_run_result *res, const char *name, double *value);

#endif
