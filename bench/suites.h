/* suites.h - the suites nestwalk-bench registers, each in its own file. */
#ifndef NW_BENCH_SUITES_H
#define NW_BENCH_SUITES_H

#include "hw.h"

#include <nestwalk/ept.h>
#include <nestwalk/pt.h>
#include <nestwalk/tlb.h>

#include <stdbool.h>
#include <stddef.h>

/* ---- hw: the pointer chase on the real CPU (suite_hw.c) ----------------- */

struct nw_bench_hw_opts {
	const char *event[NW_PERF_NWALK]; /* libpfm4 event per walk counter; NULL: per CPU */
	bool may_reserve;                 /* raise nr_hugepages when short (root) */
	int core;                         /* core to pin to; -1: the last */
	size_t max_ws;                    /* largest working set; 0: 8 GiB */
};

/* Pins, opens the counters and adds the hw.* context. Call before nw_gb_run. */
int nw_bench_hw_setup(const struct nw_bench_hw_opts *o);
/* Registers hw/<kind>/<ws> for 4k, thp, 2m, 1g and 16K..max_ws (bounded by
 * MemAvailable), and hw/penalty/<ws> after each working set. */
void nw_bench_hw_register(void);
/* Frees the last buffer, restores hugetlb pages and closes the counters. */
void nw_bench_hw_teardown(void);

/* ---- the model suites (suite_walk.c, suite_tlb.c, suite_invept.c,
 * suite_table.c) ---------------------------------------------------------- */

void nw_bench_walk_register(void);
void nw_bench_tlb_register(void);
void nw_bench_invept_register(void);
void nw_bench_table_register(void);
/* The hw chase replayed through the host preset (suite_model.c). */
void nw_bench_model_register(void);
/* Replace the host preset's LLC size and DRAM latency (0: keep). */
void nw_bench_model_calibrate(uint64_t llc_bytes, double dram_ns);
/* The model suite lays a 4 KiB guest chase out with this share of hops on
 * the next frame (suite_model.c: scatter_gpa). */
void nw_bench_model_gpa_seq(double seq);
/* Or on the frames of FILE (nestwalk hw --gpa-out; suite_model.c: gpa_replay). */
void nw_bench_model_gpa_file(const char *path);

/* A 2D world: guest x86-64 tables in guest memory (GPA [0, DATA_GPA)) over
 * an EPT, with guest-virtual [0, ws) mapped to GPA DATA_GPA + [0, ws). Data
 * pages are never touched (NW_TLB_WALK_NO_DATA), so only tables cost
 * memory. Guest memory lives at HPA GPA_OFF + gpa in a sparse arena. */
#define NW_BENCH_GPA_OFF (1ull << 30)
#define NW_BENCH_DATA_GPA (1ull << 30)

struct nw_bench_world {
	struct nw_mem gmem;       /* first: the guest frame allocator's nw_mem */
	struct nw_mem *host;
	uint64_t next, ws;
	struct nw_fmt gfmt;
	struct nw_pt guest;
	struct nw_ept ept;
	struct nw_acc hacc;
	uint64_t eptp;
	struct nw_walk2d_cfg cfg;
	struct nw_tlb_walker wk;  /* cfg, with NW_TLB_WALK_NO_DATA */
};

/* gmax, hmax: NW_MAP_MAX_*. 0 or a negative errno. */
int nw_bench_world_init(struct nw_bench_world *w, int glevels, int hlevels,
			uint64_t ws, unsigned gmax, unsigned hmax);
void nw_bench_world_destroy(struct nw_bench_world *w);

/* A preset's TLB set and latency model, in the world's EPT context. */
struct nw_bench_model {
	struct nw_tlb *tlb;
	struct nw_lat *lat;
};

int nw_bench_model_init(struct nw_bench_model *m, const char *preset,
			const struct nw_bench_world *w, char *err, size_t errlen);
struct nw_cpu_preset;
/* The same from a preset the caller built (the model suite's host preset). */
int nw_bench_model_init_preset(struct nw_bench_model *m, const struct nw_cpu_preset *p,
			       const struct nw_bench_world *w, char *err, size_t errlen);
void nw_bench_model_destroy(struct nw_bench_model *m);
/* Every cycle the stats charged. */
uint64_t nw_bench_cycles(const struct nw_tlb_stats *s);
/* splitmix64; inline, since the tlb suite draws one number per access. */
static inline uint64_t nw_bench_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

#endif
