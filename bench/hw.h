/*
 * hw.h - page walks on the real CPU: the library behind the nestwalk-bench
 * `hw` suite and `nestwalk hw` (docs/BENCHMARKS.md states the layout).
 *
 *	struct nw_hw_probe p;
 *	char why[256];
 *	if (nw_hw_probe_open(&p, NW_HW_4K, 1ul << 30, NULL, why, sizeof(why)))
 *		printf("skipped: %s\n", why);
 *	for (int i = 0; i < 5; i++)
 *		nw_hw_probe_sample(&p);
 *	printf("%.2f ns per load\n", p.best_ns);
 *	nw_hw_probe_close(&p);
 *
 * Every function returns 0 or a negative errno; where one can fail for a
 * reason worth telling, it writes the reason to why[n].
 */
#ifndef NW_BENCH_HW_H
#define NW_BENCH_HW_H

#include <linux/perf_event.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- page kinds and buffers (hw/buf.c) ------------------------------------ */

enum nw_hw_kind {
	NW_HW_4K,  /* anonymous memory with MADV_NOHUGEPAGE */
	NW_HW_THP, /* anonymous memory with MADV_HUGEPAGE, checked in smaps */
	NW_HW_2M,  /* hugetlb, MAP_HUGE_2MB */
	NW_HW_1G,  /* hugetlb, MAP_HUGE_1GB */
	NW_HW_NKINDS
};

struct nw_hw_buf {
	void *base;         /* first byte of the working set */
	size_t size;        /* working-set bytes */
	void *map;          /* the whole mapping, for munmap */
	size_t map_len;
	enum nw_hw_kind kind;
	size_t page_size;   /* the size this kind asks for */
	bool reserved;      /* hugetlb pages were reserved for it */
};

const char *nw_hw_kind_name(enum nw_hw_kind kind); /* "4k", "thp", "2m", "1g" */
size_t nw_hw_kind_page_size(enum nw_hw_kind kind);
/* Maps size bytes of kind. A hugetlb kind uses free pages, or reserves the
 * missing ones when may_reserve (restored by nw_hw_buf_unmap). */
int nw_hw_buf_map(struct nw_hw_buf *b, enum nw_hw_kind kind, size_t size,
		  bool may_reserve, char *why, size_t n);
void nw_hw_buf_unmap(struct nw_hw_buf *b);
/* Share of the buffer backed by transparent huge pages (AnonHugePages in
 * /proc/self/smaps), in [0, 1]; negative errno if smaps cannot be read. */
double nw_hw_thp_fraction(const struct nw_hw_buf *b);
/* MemAvailable from /proc/meminfo, in bytes, or a negative errno. */
int64_t nw_hw_mem_available(void);

/* ---- hugetlb reservations (hw/hugetlb.c) --------------------------------- */

/* Directory holding hugepages-<kB>kB/{nr,free}_hugepages. The default is
 * /sys/kernel/mm/hugepages; tests point it at a fake tree. NULL resets. */
void nw_hugetlb_set_dir(const char *dir);
/* Makes npages pages of page_size free, raising nr_hugepages if needed (root
 * only). The old value is written back by nw_hugetlb_restore, at exit, and
 * on SIGINT, SIGTERM and SIGHUP (the signal is then delivered as before).
 * Returns 1 if it raised nr_hugepages, 0 if enough were free. */
int nw_hugetlb_reserve(size_t page_size, size_t npages, char *why, size_t n);
void nw_hugetlb_restore(size_t page_size);
/* free_hugepages of page_size, or a negative errno. */
int64_t nw_hugetlb_free(size_t page_size);
/* Async-signal-safe. */
void nw_hugetlb_restore_all(void);

/* ---- the pointer chase (hw/chase.c) --------------------------------------- */

#define NW_CHASE_GROUP 4096u /* bytes per group: one 4 KiB page */
#define NW_CHASE_LINE 64u
#define NW_CHASE_UNROLL 16u

struct nw_chase {
	void *start;          /* a node of the cycle */
	size_t nodes;         /* nodes in the cycle */
	unsigned lines;       /* nodes per 4 KiB group */
	uint64_t seed;
};

/* Builds one cyclic chain through buf: the 4 KiB groups in one random order,
 * in each group `lines` distinct random 64-byte lines in random order, one
 * pointer at the start of each line. The same seed gives the same layout
 * over any page kind. */
int nw_chase_build(struct nw_chase *c, void *buf, size_t size, unsigned lines,
		   uint64_t seed);
/* The same layout without a buffer: calls visit(arg, offset) for each node
 * in chain order (the last links back to the first). The model replays the
 * chase through it (suite_model.c). */
int nw_chase_layout(size_t size, unsigned lines, uint64_t seed,
		    void (*visit)(void *arg, size_t off), void *arg);
/* Follows n pointers from p (n a multiple of NW_CHASE_UNROLL). */
void *nw_chase_follow(void *p, uint64_t n);

/* ---- perf_event counter groups (hw/perf.c) -------------------------------- */

#define NW_PERF_MAX 8

struct nw_perf_counter {
	char name[32];     /* figure name, e.g. "dtlb_walks" */
	char event[160];   /* what it counts, e.g. "skl::DTLB_LOAD_MISSES:WALK_COMPLETED" */
	char reason[512];  /* why it is unavailable; "" when it is open */
	int fd;            /* -1 when unavailable */
	uint64_t id;       /* PERF_FORMAT_ID */
	uint64_t value;    /* after nw_perf_group_read, scaled for multiplexing */
	bool valid;        /* value is a count (open and scheduled) */
};

struct nw_perf_group {
	struct nw_perf_counter c[NW_PERF_MAX];
	int n;
	int leader_fd;     /* first counter opened; -1 while none is */
	uint64_t enabled0; /* the leader's times at the last reset */
	uint64_t running0;
};

/* The walk counters, named per CPU through libpfm4. */
enum nw_perf_walk { NW_PERF_DTLB_WALKS, NW_PERF_WALK_CYCLES, NW_PERF_EPT_WALK_CYCLES,
		    NW_PERF_NWALK };

void nw_perf_group_init(struct nw_perf_group *g);
/* Opens attr as counter name in the group (disabled, this thread, any CPU).
 * The counter is recorded even when it fails: then fd is -1, reason says
 * why, and it never gets a value. */
int nw_perf_group_add(struct nw_perf_group *g, const char *name,
		      const struct perf_event_attr *attr, const char *event);
/* Encodes a libpfm4 event string for perf_event (user-level counting). */
int nw_perf_encode(const char *event, struct perf_event_attr *attr, char *desc,
		   size_t n, char *why, size_t whylen);
/* The first per-CPU libpfm4 event for w that encodes; -ENOENT and why
 * when libpfm4 names none for this CPU (LIBPFM_FORCE_PMU picks the CPU). */
int nw_perf_walk_encode(enum nw_perf_walk w, struct perf_event_attr *attr, char *desc,
			size_t n, char *why, size_t whylen);
/* Adds the three walk counters: event[k] if given, else the first of the
 * per-CPU libpfm4 names that encodes, else for dtlb_walks the generic
 * PERF_TYPE_HW_CACHE dTLB-load-misses. */
void nw_perf_group_add_walk(struct nw_perf_group *g,
			    const char *const event[NW_PERF_NWALK]);
const char *nw_perf_walk_name(enum nw_perf_walk w);
int nw_perf_group_reset(struct nw_perf_group *g);
int nw_perf_group_enable(struct nw_perf_group *g);
int nw_perf_group_disable(struct nw_perf_group *g);
/* Reads every open counter; sets valid only where the count means something. */
int nw_perf_group_read(struct nw_perf_group *g);
void nw_perf_group_close(struct nw_perf_group *g);

/* ---- the machine (hw/topo.c, hw/clock.c) ---------------------------------- */

typedef void (*nw_hw_put_fn)(void *arg, const char *key, const char *value);

/* Pins this thread to one PU of core (-1: the last core) with hwloc. */
int nw_hw_pin(int core, char *desc, size_t n);
/* Calls put for each fact about the machine: CPU, hypervisor, topology and
 * caches from hwloc, THP settings, MemAvailable. Keys start with "hw.". */
int nw_hw_describe(nw_hw_put_fn put, void *arg);
/*
 * The cache sizes the `host` CPU preset needs (nw_cpu_preset_host), as
 * hwloc reports them for PU 0's caches: 0, or -EIO when hwloc knows none
 * (the preset then falls back to generic's sizes and says so).
 */
struct nw_host_caches;
int nw_hw_host_caches(struct nw_host_caches *out);
/* The core clock in GHz, timed over a chain of dependent ADDs (1 cycle each). */
double nw_hw_core_ghz(void);
/* Monotonic time in ns. */
uint64_t nw_hw_now_ns(void);

/* ---- a probe: one kind and working set, sampled (hw/probe.c) -------------- */

struct nw_hw_probe {
	struct nw_hw_buf buf;
	struct nw_chase chase;
	uint64_t loads;       /* per sample */
	uint64_t samples;
	double best_ns;       /* lowest ns per load seen */
	double thp_fraction;  /* after the chain was built; -1 if unknown */
	void *p;              /* where the chase stands */
};

struct nw_hw_probe_opts {
	unsigned lines;        /* nodes per 4 KiB group; 0 means 1 */
	uint64_t seed;         /* 0 means the default */
	bool may_reserve;      /* reserve hugetlb pages when needed */
	uint64_t min_loads;    /* loads per sample; 0 means 16384 */
};

/* Maps the buffer, builds the chain and walks the whole cycle once to warm
 * the caches and TLBs. */
int nw_hw_probe_open(struct nw_hw_probe *p, enum nw_hw_kind kind, size_t ws,
		     const struct nw_hw_probe_opts *o, char *why, size_t n);
/* Times one sample of p->loads loads; returns ns per load. */
double nw_hw_probe_sample(struct nw_hw_probe *p);
void nw_hw_probe_close(struct nw_hw_probe *p);

/* ---- guest-physical layout (hw/gpa.c) ------------------------------------ */

/* Over the hops of the chain (chain order), the share whose page frame is
 * next to the previous hop's (+-1), in the same host-PTE line (8 frames),
 * in the same 2 MiB frame; and how many 2 MiB frames the buffer touches. */
struct nw_hw_gpa {
	double adjacent, same_line, same_2m;
	uint64_t frames_2m;
	uint64_t pte_lines;   /* distinct host-PTE lines (8 frames each) */
};
/* From /proc/self/pagemap (root only: -EPERM and why otherwise). */
int nw_hw_gpa_chain(const struct nw_hw_probe *p, struct nw_hw_gpa *out, char *why, size_t n);
/* The frame number of each 4 KiB page of the buffer, in address order,
 * into pfn[size / 4 KiB]. */
int nw_hw_gpa_frames(const struct nw_hw_probe *p, uint64_t *pfn, char *why, size_t n);

/* ---- memory latencies for the model (hw/calib.c) ------------------------- */

/* Chains in a 4 MiB buffer of 4 KiB pages (half the L2 DTLB's reach: after
 * the warm-up no load walks), medians of reps timed passes, ns per load. */
struct nw_hw_calib {
	unsigned reps;
	double warm_ns;   /* 1024 lines, one per page: L2 cache + L2 DTLB hit */
	double flush_ns;  /* the same after clflush of its lines: DRAM + L2 DTLB hit */
	double all_ns;    /* every line of the 4 MiB in one random order */
};
/* What the model takes from it, given the L2 and LLC hit latencies in
 * cycles (the preset's; this cannot separate them from the TLB hit). */
struct nw_hw_calib_model {
	double dram_ns;      /* flush - warm + the L2 hit */
	double llc_hit;      /* share of the 4 MiB chain's loads the LLC served */
	uint64_t llc_bytes;  /* that share of 4 MiB: the LLC this core gets now */
};
/* The buffer and its chains, kept to measure again and again (between the
 * rounds of another measurement). */
struct nw_hw_calib_probe {
	struct nw_hw_buf buf;
	void **warm;   /* the warm/flush chain */
	void **all;    /* the every-line chain */
};
int nw_hw_calib_open(struct nw_hw_calib_probe *cp, char *why, size_t n);
/* reps passes of each chain; medians into c. */
int nw_hw_calib_measure(struct nw_hw_calib_probe *cp, unsigned reps, struct nw_hw_calib *c);
void nw_hw_calib_close(struct nw_hw_calib_probe *cp);
/* Open, measure, close. */
int nw_hw_calibrate(struct nw_hw_calib *c, unsigned reps, char *why, size_t n);
/* -EINVAL when the figures or the latencies make no sense. */
int nw_hw_calib_derive(const struct nw_hw_calib *c, double ghz, double l2_cycles,
		       double llc_cycles, struct nw_hw_calib_model *m);

#endif
