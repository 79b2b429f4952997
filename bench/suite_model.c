/*
 * suite_model.c - the `model` suite: the hw chase replayed through the
 * model, to check the model against the machine.
 *
 *	model/chase/g<4k|2m>/h<4k|2m>/<ws>   ws 16M .. 4G
 *	model/penalty/h<4k|2m>/<ws>          g4k minus g2m, at the same host size
 *
 * The access pattern is the hw suite's exactly: nw_chase_layout gives the
 * node offsets in chain order (random 4 KiB-page order, one random line per
 * page, the same seed), and each node is one read of guest-virtual
 * address = offset. It runs on the `host` preset (TLB geometry from CPUID,
 * cache sizes from hwloc, latencies from the vendor's reference preset) in
 * a 2D world: guest 4-level tables mapping the working set with 4K or 2M
 * pages, over 4-level nested tables of 4K or 2M pages. Unlike the tlb
 * suite, the data line of every access is charged through the modelled
 * caches too, so data and page-table lines compete for them as they do on
 * the machine.
 *
 * One warm-up pass over the whole cycle (as the hw probe does), then one
 * measured pass. Modelled cycles become ns at the clock measured on this
 * machine (nw_hw_core_ghz), since a dependent chase overlaps nothing.
 * --model_llc=SIZE and --model_dram_ns=NS replace the preset's LLC size
 * and DRAM latency (calibration, recorded as model.calibration), and
 * --model_gpa_seq=F lays a 4 KiB guest's pages out as Linux did on the
 * machine (scatter_gpa; nestwalk hw measures F as gpa.adjacent), and
 * --model_gpa_file=FILE puts them on the very frames they had there
 * (gpa_replay; nestwalk hw --gpa-out writes FILE).
 * Counters: cycles_per_access, ns_per_access, the cycles.* parts per
 * access, walks, walk.refs.*, mem.pt.<level> (where the walks' table lines
 * were found) and ntlb.hits per access; on penalty entries,
 * walk_penalty_cycles and walk_penalty_ns.
 */
#include "suites.h"

#include "gbench.h"

#include <nestwalk/tlb_preset.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MODEL_NWS 9 /* 16M .. 4G */
#define MODEL_MIN_WS ((uint64_t)16 << 20)

struct model_case {
	unsigned gmax, hmax;   /* NW_MAP_MAX_4K or _2M; gmax 0: the penalty entry */
	int ws_idx;
};

static struct model_case model_cases[MODEL_NWS * 6];
static double model_ghz;
/* Calibration (0: the preset's): LLC bytes and DRAM latency in ns. */
static uint64_t model_llc;
static double model_dram_ns;
/* The share of hops whose 4 KiB guest page is next, guest-physically, to
 * the previous hop's (0: the world's own layout, gPA = VA + base). */
static double model_gpa_seq;
/* Or the frame numbers nestwalk hw --gpa-out wrote for a 4 KiB buffer. */
static const char *model_gpa_file;
/* Modelled cycles per access, [gmax][hmax][ws], NAN until measured. */
static double model_cycles[3][3][MODEL_NWS];

/* ---- private prototypes ---- */
static int host_model(struct nw_bench_model *m, const struct nw_bench_world *w, char *err,
		      size_t n);
static void record(void *arg, size_t off);
static void bm_chase_model(struct nw_gb_state *st, void *user);
static void bm_penalty_model(struct nw_gb_state *st, void *user);

static const char *pg_name(unsigned max)
{
	return max == NW_MAP_MAX_2M ? "2m" : "4k";
}

static void ws_name(char *buf, size_t n, uint64_t ws)
{
	if (ws >= (1ull << 30))
		snprintf(buf, n, "%lluG", (unsigned long long)(ws >> 30));
	else
		snprintf(buf, n, "%lluM", (unsigned long long)(ws >> 20));
}

void nw_bench_model_calibrate(uint64_t llc_bytes, double dram_ns)
{
	char v[160];

	model_llc = llc_bytes;
	model_dram_ns = dram_ns;
	if (!llc_bytes && !(dram_ns > 0))
		snprintf(v, sizeof(v), "none: the host preset as it is");
	else
		snprintf(v, sizeof(v), "LLC %llu KiB%s, DRAM %.1f ns%s", (unsigned long long)(llc_bytes >> 10),
			 llc_bytes ? "" : " (preset)", dram_ns, dram_ns > 0 ? "" : " (preset)");
	nw_gb_add_custom_context("model.calibration", v);
}

void nw_bench_model_gpa_seq(double seq)
{
	char v[160];

	model_gpa_seq = seq;
	snprintf(v, sizeof(v), "%.3f of the hops of a 4 KiB guest chase land on the frame next to the "
		 "previous hop's", seq);
	nw_gb_add_custom_context("model.gpa_seq", v);
}

void nw_bench_model_gpa_file(const char *path)
{
	model_gpa_file = path;
	nw_gb_add_custom_context("model.gpa_file", path);
}

void nw_bench_model_register(void)
{
	char name[64], wsn[16];
	int k = 0;

	for (int i = 0; i < MODEL_NWS; i++)
		for (unsigned g = 0; g <= NW_MAP_MAX_2M; g++)
			for (unsigned h = 0; h <= NW_MAP_MAX_2M; h++)
				model_cycles[g][h][i] = NAN;
	for (int i = 0; i < MODEL_NWS; i++) {
		ws_name(wsn, sizeof(wsn), MODEL_MIN_WS << i);
		for (unsigned h = NW_MAP_MAX_4K; h <= NW_MAP_MAX_2M; h++) {
			for (unsigned g = NW_MAP_MAX_4K; g <= NW_MAP_MAX_2M; g++) {
				struct model_case *c = &model_cases[k++];

				*c = (struct model_case){g, h, i};
				snprintf(name, sizeof(name), "model/chase/g%s/h%s/%s", pg_name(g),
					 pg_name(h), wsn);
				/* One iteration: a warm-up and a measured pass of
				 * the whole cycle are already millions of accesses. */
				nw_gb_unit(nw_gb_iterations(nw_gb_register(name, bm_chase_model, c), 1),
					   NW_GB_MS);
			}
			struct model_case *c = &model_cases[k++];

			*c = (struct model_case){0, h, i};
			snprintf(name, sizeof(name), "model/penalty/h%s/%s", pg_name(h), wsn);
			nw_gb_iterations(nw_gb_register(name, bm_penalty_model, c), 1);
		}
	}
}

/* ---- private ---- */

/* The host preset with hwloc's cache sizes and the calibration, in the
 * world's EPT context. */
static int host_model(struct nw_bench_model *m, const struct nw_bench_world *w, char *err,
		      size_t n)
{
	struct nw_host_caches hc;
	struct nw_cpu_preset p;
	int rc;

	memset(m, 0, sizeof(*m));
	nw_hw_host_caches(&hc);
	if ((rc = nw_cpu_preset_host(&hc, &p, err, n)) < 0)
		return rc;
	if (model_llc) {
		/* Any size: 16 to 31 ways over a power of two of sets (the
		 * model's arrays need one), as near to it as that allows. */
		uint64_t lines = model_llc / NW_LINE_SIZE, sets = 1;

		while (sets * 2 * 16 <= lines)
			sets *= 2;
		p.lat.llc.ways = (uint32_t)((lines + sets / 2) / sets);
		if (p.lat.llc.ways < 1)
			p.lat.llc.ways = 1;
		p.lat.llc.size = (uint64_t)p.lat.llc.ways * sets * NW_LINE_SIZE;
	}
	if (model_dram_ns > 0)
		p.lat.dram_cycles = (uint32_t)lround(model_dram_ns * model_ghz);
	return nw_bench_model_init_preset(m, &p, w, err, n);
}

struct offsets {
	uint64_t *off;
	size_t n;
};

static void record(void *arg, size_t off)
{
	struct offsets *o = arg;

	o->off[o->n++] = off;
}

/*
 * The guest-physical layout of a 4 KiB guest chase as Linux makes it: pages
 * are handed out in first-touch order, which is chain order, so a hop lands
 * on the frame after the previous hop's with probability seq (measured by
 * nestwalk hw: gpa.adjacent). The chain is cut into runs (a new one at
 * each hop with probability 1 - seq), each run takes consecutive frames,
 * and the runs lie in a random order over the same frames the world's
 * nested tables map. Only the guest's leaves change.
 */
static int scatter_gpa(struct nw_bench_world *w, const struct offsets *o, double seq)
{
	struct nw_attr grw = {.prot = NW_PROT_RWX | NW_PROT_U};
	uint64_t s = 0x7363617474657221ull, slot = 0; /* "scatter!" */
	size_t nruns = 0;
	size_t *start = malloc((o->n + 1) * sizeof(*start));
	int rc = 0;

	if (!start)
		return -12;
	for (size_t k = 0; k < o->n; k++)
		if (k == 0 || (double)(nw_bench_rand(&s) >> 11) * 0x1p-53 >= seq)
			start[nruns++] = k;
	start[nruns] = o->n;
	/* Shuffle the runs' order in frames (not their pages'). */
	size_t *order = malloc(nruns * sizeof(*order));
	if (!order) {
		free(start);
		return -12;
	}
	for (size_t i = 0; i < nruns; i++)
		order[i] = i;
	for (size_t i = nruns - 1; i > 0; i--) {
		size_t j = nw_bench_rand(&s) % (i + 1), t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
	for (size_t i = 0; i < nruns && rc == 0; i++)
		for (size_t k = start[order[i]]; k < start[order[i] + 1] && rc == 0; k++, slot++)
			rc = nw_pt_map(&w->guest, o->off[k] & ~(uint64_t)(NW_PAGE_SIZE - 1),
				       NW_BENCH_DATA_GPA + slot * NW_PAGE_SIZE, NW_PAGE_SIZE, &grw,
				       NW_MAP_MAX_4K | NW_MAP_REPLACE, NULL);
	free(order);
	free(start);
	return rc;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* The measured layout (--model_gpa_file): the pages' frame numbers, in
 * address order, and the distinct 2 MiB frames they use, sorted. */
struct gpa_replay {
	uint64_t *pfn, *frame;
	size_t pages, frames;
};

/* Loads the file if it describes a buffer of ws: 1; 0 if it is for another
 * size; a negative errno on error. */
static int gpa_load(const char *path, uint64_t ws, struct gpa_replay *g)
{
	FILE *f = fopen(path, "rb");
	long len;

	memset(g, 0, sizeof(*g));
	if (!f)
		return -2;
	if (fseek(f, 0, SEEK_END) || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
		fclose(f);
		return -5;
	}
	g->pages = (size_t)len / sizeof(uint64_t);
	if (g->pages != ws / NW_PAGE_SIZE) {
		fclose(f);
		return 0;
	}
	g->pfn = malloc(g->pages * sizeof(uint64_t));
	g->frame = malloc(g->pages * sizeof(uint64_t));
	if (!g->pfn || !g->frame || fread(g->pfn, sizeof(uint64_t), g->pages, f) != g->pages) {
		fclose(f);
		free(g->pfn);
		free(g->frame);
		return -12;
	}
	fclose(f);
	for (size_t i = 0; i < g->pages; i++)
		g->frame[i] = g->pfn[i] >> 9;
	qsort(g->frame, g->pages, sizeof(uint64_t), cmp_u64);
	for (size_t i = 0; i < g->pages; i++)
		if (g->frames == 0 || g->frame[g->frames - 1] != g->frame[i])
			g->frame[g->frames++] = g->frame[i];
	return 1;
}

/*
 * Puts each guest page where the machine had it: the measured 2 MiB frames,
 * renumbered densely from the world's data base, and the page's place in
 * its frame as measured. So the model's host tables see the same host-PTE
 * lines and host page tables shared as the machine's did (only the gaps
 * between the frames are gone). The world maps frames x 2 MiB.
 */
static int gpa_replay(struct nw_bench_world *w, const struct gpa_replay *g)
{
	struct nw_attr grw = {.prot = NW_PROT_RWX | NW_PROT_U};
	int rc = 0;

	for (size_t i = 0; i < g->pages && rc == 0; i++) {
		uint64_t key = g->pfn[i] >> 9;
		const uint64_t *f = bsearch(&key, g->frame, g->frames, sizeof(uint64_t), cmp_u64);
		uint64_t gpa = NW_BENCH_DATA_GPA + (uint64_t)(f - g->frame) * (2u << 20) +
			       (g->pfn[i] & 511) * NW_PAGE_SIZE;

		rc = nw_pt_map(&w->guest, i * NW_PAGE_SIZE, gpa, NW_PAGE_SIZE, &grw,
			       NW_MAP_MAX_4K | NW_MAP_REPLACE, NULL);
	}
	return rc;
}

static void bm_chase_model(struct nw_gb_state *st, void *user)
{
	const struct model_case *c = user;
	uint64_t ws = MODEL_MIN_WS << c->ws_idx;
	struct offsets o = {.n = 0};
	struct nw_bench_world w;
	struct nw_bench_model m;
	struct nw_tlb_stats s0, s1;
	struct nw_tlb_xlat x = {0};
	char err[200], label[200];
	int64_t avail = nw_hw_mem_available();
	double acc, cyc;

	if (avail >= 0 && ws / NW_CHASE_GROUP * 8 + (ws >> 8) > (uint64_t)avail) {
		nw_gb_skip_with_error(st, "not enough memory for the chain and the tables");
		return;
	}
	if (model_ghz == 0)
		model_ghz = nw_hw_core_ghz();
	o.off = malloc(ws / NW_CHASE_GROUP * sizeof(*o.off));
	if (!o.off || nw_chase_layout(ws, 1, 0, record, &o)) {
		free(o.off);
		nw_gb_skip_with_error(st, "cannot lay out the chain (memory?)");
		return;
	}
	struct gpa_replay g = {0};
	uint64_t world_ws = ws;
	size_t replayed = 0;
	int gl = 0;

	if (c->gmax == NW_MAP_MAX_4K && model_gpa_file &&
	    (gl = gpa_load(model_gpa_file, ws, &g)) < 0) {
		free(o.off);
		nw_gb_skip_with_error(st, "cannot read --model_gpa_file");
		return;
	}
	if (gl == 1 && (uint64_t)g.frames * (2u << 20) > world_ws)
		world_ws = (uint64_t)g.frames * (2u << 20);
	if (nw_bench_world_init(&w, 4, 4, world_ws, c->gmax, c->hmax) < 0) {
		free(g.pfn);
		free(g.frame);
		free(o.off);
		nw_gb_skip_with_error(st, "cannot build the 2D world (memory?)");
		return;
	}
	w.wk.flags &= ~NW_TLB_WALK_NO_DATA; /* charge the data line too */
	if (gl == 1) {
		int rc = gpa_replay(&w, &g);

		free(g.pfn);
		free(g.frame);
		replayed = g.frames;
		if (rc < 0) {
			nw_bench_world_destroy(&w);
			free(o.off);
			nw_gb_skip_with_error(st, "cannot replay the measured layout (memory?)");
			return;
		}
	} else if (c->gmax == NW_MAP_MAX_4K && model_gpa_seq > 0 && scatter_gpa(&w, &o, model_gpa_seq) < 0) {
		nw_bench_world_destroy(&w);
		free(o.off);
		nw_gb_skip_with_error(st, "cannot lay the guest pages out (memory?)");
		return;
	}
	if (host_model(&m, &w, err, sizeof(err)) < 0) {
		nw_bench_world_destroy(&w);
		free(o.off);
		nw_gb_skip_with_error(st, err);
		return;
	}
	snprintf(label, sizeof(label), "host preset, guest %s over host %s, %.2f GHz",
		 pg_name(c->gmax), pg_name(c->hmax), model_ghz);

	while (nw_gb_keep_running(st)) {
		for (size_t i = 0; i < o.n; i++) /* warm-up pass */
			nw_tlb_access(m.tlb, &w.wk, o.off[i], NW_ACC_READ, &x);
		s0 = *nw_tlb_stats(m.tlb);
		for (size_t i = 0; i < o.n; i++)
			nw_tlb_access(m.tlb, &w.wk, o.off[i], NW_ACC_READ, &x);
		s1 = *nw_tlb_stats(m.tlb);
		NW_GB_DO_NOT_OPTIMIZE(x.w.pa);
	}
	if (x.w.fault != NW_FAULT_NONE) {
		nw_gb_skip_with_error(st, "an access faulted");
	} else {
		static const char *const part[NW_CYC_COUNT] = {
			"cycles.tlb", "cycles.psc", "cycles.walk.guest", "cycles.walk.host",
			"cycles.data", "cycles.vmexit",
		};

		acc = (double)(s1.accesses - s0.accesses);
		cyc = (double)(nw_bench_cycles(&s1) - nw_bench_cycles(&s0)) / acc;
		nw_gb_counter(st, "cycles_per_access", cyc, 0, 0);
		nw_gb_counter(st, "ns_per_access", cyc / model_ghz, 0, 0);
		for (int p = 0; p < NW_CYC_COUNT; p++)
			nw_gb_counter(st, part[p], (double)(s1.cycles[p] - s0.cycles[p]) / acc, 0, 0);
		nw_gb_counter(st, "walks", (double)(s1.walks - s0.walks) / acc, 0, 0);
		nw_gb_counter(st, "walk.refs.guest", (double)(s1.refs_guest - s0.refs_guest) / acc,
			      0, 0);
		nw_gb_counter(st, "walk.refs.host", (double)(s1.refs_host - s0.refs_host) / acc, 0,
			      0);
		/* Where the walks' table lines were found, per access. */
		static const char *const where[NW_MEM_LEVELS] = {
			"mem.pt.l1", "mem.pt.l2", "mem.pt.llc", "mem.pt.dram",
		};
		for (int l = 0; l < NW_MEM_LEVELS; l++)
			nw_gb_counter(st, where[l], (double)(s1.mem_pt[l] - s0.mem_pt[l]) / acc, 0, 0);
		nw_gb_counter(st, "ntlb.hits", (double)(s1.ntlb_hits - s0.ntlb_hits) / acc, 0, 0);
		if (replayed)
			nw_gb_counter(st, "gpa.frames_2m", (double)replayed, 0, 0);
		nw_gb_set_items_processed(st, (int64_t)(2 * o.n));
		nw_gb_set_label(st, label);
		model_cycles[c->gmax][c->hmax][c->ws_idx] = cyc;
	}
	nw_bench_model_destroy(&m);
	nw_bench_world_destroy(&w);
	free(o.off);
}

static void bm_penalty_model(struct nw_gb_state *st, void *user)
{
	const struct model_case *c = user;
	double c4k = model_cycles[NW_MAP_MAX_4K][c->hmax][c->ws_idx];
	double c2m = model_cycles[NW_MAP_MAX_2M][c->hmax][c->ws_idx];

	while (nw_gb_keep_running(st)) {
	}
	if (isnan(c4k) || isnan(c2m)) {
		nw_gb_skip_with_error(st, "needs model/chase/g4k and g2m at this host page size "
					  "and working set, earlier in the same run");
		return;
	}
	nw_gb_counter(st, "walk_penalty_cycles", c4k - c2m, 0, 0);
	nw_gb_counter(st, "walk_penalty_ns", (c4k - c2m) / model_ghz, 0, 0);
	nw_gb_counter(st, "ns_per_access_4k", c4k / model_ghz, 0, 0);
	nw_gb_counter(st, "ns_per_access_2m", c2m / model_ghz, 0, 0);
	nw_gb_set_label(st, "guest 4k - guest 2m, modelled");
}
