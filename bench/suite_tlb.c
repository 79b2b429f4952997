/*
 * suite_tlb.c - the `tlb` suite: working-set sweeps through one vCPU's
 * modelled TLBs, PSCs, PWC and nested TLB (nw_tlb_access, EPT, VPID 1).
 *
 *	tlb/<skylake|zen4>/<4k|2m>/<ws>   ws 16K .. 64G of guest-virtual memory
 *	tlb/rate/<seq|random>             the simulator's speed (skylake, 4k, 16M)
 *
 * Guest pages are 4K or 2M over 2M EPT pages. Each access reads a uniformly
 * random 4K page of the working set (tlb/rate/seq: the next 64-byte line).
 * The data pages are never touched (NW_TLB_WALK_NO_DATA), so 64 GiB of
 * guest memory costs only its tables. Counters, per access and named after
 * the stats: tlb.<l1d|l2>.hits and .misses, psc.<pde|pdpte|pml4e>.hits,
 * gpsc.*.hits, ntlb.hits, pwc.<guest|host>.hits, walk.refs.guest and
 * walk.refs.host; cycles_per_access is modelled; items_per_second is the
 * simulator's accesses per second.
 */
#include "suites.h"

#include "gbench.h"

#include <nestwalk/tlb_preset.h>

#include <stdio.h>
#include <string.h>

#define TLB_BATCH 1024

struct tlb_case {
	const char *preset;
	unsigned gmax;
	int rate;  /* 0: sweep; 1: seq; 2: random */
};

static struct tlb_case tlb_cases[64];
/* The world of the last case, kept while the next call wants the same. */
static struct nw_bench_world world;
static uint64_t world_ws;
static unsigned world_gmax;

static int world_for(uint64_t ws, unsigned gmax)
{
	if (world.host && world_ws == ws && world_gmax == gmax)
		return 0;
	nw_bench_world_destroy(&world);
	world_ws = ws;
	world_gmax = gmax;
	return nw_bench_world_init(&world, 4, 4, ws, gmax, NW_MAP_MAX_2M);
}

static double sum4(const uint64_t *v)
{
	return (double)(v[0] + v[1] + v[2] + v[3]);
}

/* The figures worth a counter, under their stats names, per access. */
static void put_counters(struct nw_gb_state *st, const struct nw_tlb_stats *s)
{
	double acc = s->accesses ? (double)s->accesses : 1;
	const struct {
		const char *name;
		double v;
	} c[] = {
		{"tlb.l1d.hits", sum4(s->tlb_hits[NW_TLBL_L1D])},
		{"tlb.l1d.misses", sum4(s->tlb_misses[NW_TLBL_L1D])},
		{"tlb.l2.hits", sum4(s->tlb_hits[NW_TLBL_L2])},
		{"tlb.l2.misses", sum4(s->tlb_misses[NW_TLBL_L2])},
		{"psc.pde.hits", (double)s->psc_hits[2]},
		{"psc.pdpte.hits", (double)s->psc_hits[3]},
		{"psc.pml4e.hits", (double)s->psc_hits[4]},
		{"gpsc.pde.hits", (double)s->gpsc_hits[2]},
		{"gpsc.pdpte.hits", (double)s->gpsc_hits[3]},
		{"ntlb.hits", (double)s->ntlb_hits},
		{"ntlb.misses", (double)s->ntlb_misses},
		{"pwc.guest.hits", (double)s->pwc_hits[0]},
		{"pwc.host.hits", (double)s->pwc_hits[1]},
		{"walks", (double)s->walks},
		{"walk.refs.guest", (double)s->refs_guest},
		{"walk.refs.host", (double)s->refs_host},
		{"cycles_per_access", (double)nw_bench_cycles(s)},
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		nw_gb_counter(st, c[i].name, c[i].v / acc, 0, 0);
}

static void bm_tlb(struct nw_gb_state *st, void *user)
{
	const struct tlb_case *c = user;
	uint64_t ws = (uint64_t)nw_gb_state_range(st, 0), seed = 7, line = 0;
	uint64_t pages = ws >> 12;
	/* pages is a power of two in every case: a mask draws the same pages as
	 * %, without a 64-bit division (~25% of a TLB hit's time) in the loop. */
	uint64_t mask = (pages & (pages - 1)) ? 0 : pages - 1;
	struct nw_bench_model m;
	struct nw_tlb_xlat x;
	char err[160];

	if (ws < NW_PAGE_SIZE || (c->gmax == NW_MAP_MAX_2M && ws < (2u << 20))) {
		nw_gb_skip_with_error(st, "working set below one page");
		return;
	}
	if (world_for(ws, c->gmax) < 0) {
		nw_gb_skip_with_error(st, "cannot build the 2D world (memory?)");
		return;
	}
	if (nw_bench_model_init(&m, c->preset, &world, err, sizeof(err)) < 0) {
		nw_gb_skip_with_error(st, err);
		return;
	}
	while (nw_gb_keep_running_batch(st, TLB_BATCH)) {
		for (int i = 0; i < TLB_BATCH; i++) {
			uint64_t va;

			if (c->rate == 1) {
				va = line;
				line = mask ? (line + 64) & (ws - 1) : (line + 64) % ws;
			} else {
				uint64_t r = nw_bench_rand(&seed);
				va = (mask ? r & mask : r % pages) << 12;
			}
			nw_tlb_access(m.tlb, &world.wk, va, NW_ACC_READ, &x);
			NW_GB_DO_NOT_OPTIMIZE(x.w.pa);
		}
	}
	if (x.w.fault != NW_FAULT_NONE)
		nw_gb_skip_with_error(st, "an access faulted");
	put_counters(st, nw_tlb_stats(m.tlb));
	nw_gb_set_items_processed(st, nw_gb_state_iterations(st));
	nw_bench_model_destroy(&m);
}

void nw_bench_tlb_register(void)
{
	static const char *const presets[] = {"skylake", "zen4"};
	static const char *const pg[] = {"", "4k", "2m"};
	char name[64];
	int k = 0;

	for (int p = 0; p < 2; p++)
		for (unsigned g = NW_MAP_MAX_4K; g <= NW_MAP_MAX_2M; g++) {
			struct tlb_case *c = &tlb_cases[k++];
			struct nw_gb_bench *b;

			*c = (struct tlb_case){presets[p], g, 0};
			snprintf(name, sizeof(name), "tlb/%s/%s", presets[p], pg[g]);
			b = nw_gb_register(name, bm_tlb, c);
			nw_gb_range_multiplier(b, 16);
			nw_gb_range(b, g == NW_MAP_MAX_2M ? 2 << 20 : 16 << 10, 64ll << 30);
		}
	for (int r = 1; r <= 2; r++) {
		struct tlb_case *c = &tlb_cases[k++];

		*c = (struct tlb_case){"skylake", NW_MAP_MAX_4K, r};
		nw_gb_arg(nw_gb_register(r == 1 ? "tlb/rate/seq" : "tlb/rate/random", bm_tlb, c),
			  16 << 20);
	}
}
