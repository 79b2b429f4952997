/*
 * suite_walk.c - the `walk` suite: the software cost of a 2D walk, and the
 * 2D world (guest tables over EPT) the model suites share.
 *
 *	walk/<g4|g5>/<h4|h5>/<gpage>/<hpage>/<nocache|cache>
 *
 * nocache times nw_walk2d itself (no TLB, no PSC). cache times nw_tlb_walk
 * with the skylake preset's PSCs, nested TLB and latency model (no TLB
 * lookup), over 64 pages visited in a fixed random order. Counters:
 * cycles_per_walk (modelled; cache only), walk.refs.guest and
 * walk.refs.host per walk.
 */
#include "suites.h"

#include "gbench.h"

#include <nestwalk/tlb_preset.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WALK_PAGES 64

/* ---- the shared world ---- */

static int world_gmem_alloc(struct nw_mem *m, uint64_t *gpa)
{
	struct nw_bench_world *w = (struct nw_bench_world *)m;

	if (w->next + NW_PAGE_SIZE > NW_BENCH_DATA_GPA)
		return -12;
	*gpa = w->next;
	w->next += NW_PAGE_SIZE;
	memset(nw_mem_map(w->host, NW_BENCH_GPA_OFF + *gpa), 0, NW_PAGE_SIZE);
	return 0;
}

static void world_gmem_free(struct nw_mem *m, uint64_t gpa) { (void)m; (void)gpa; }

static void *world_gmem_map(struct nw_mem *m, uint64_t gpa)
{
	struct nw_bench_world *w = (struct nw_bench_world *)m;

	return nw_mem_map(w->host, NW_BENCH_GPA_OFF + gpa);
}

int nw_bench_world_init(struct nw_bench_world *w, int glevels, int hlevels,
			uint64_t ws, unsigned gmax, unsigned hmax)
{
	static const struct nw_mem_ops gops = {
		.alloc = world_gmem_alloc, .free = world_gmem_free, .map = world_gmem_map,
	};
	struct nw_arena_cfg ac = {
		.size = NW_BENCH_GPA_OFF + NW_BENCH_DATA_GPA + ws, .maxphyaddr = 46,
	};
	struct nw_attr grw = {.prot = NW_PROT_RWX | NW_PROT_U};
	int rc;

	memset(w, 0, sizeof(*w));
	w->ws = ws;
	w->next = NW_PAGE_SIZE;
	if ((rc = nw_arena_create(&ac, &w->host)) < 0)
		return rc;
	if ((rc = nw_mem_init(&w->gmem, &gops, 46)) < 0 ||
	    (rc = nw_fmt_x86_init(&w->gfmt, 46, 0)) < 0)
		goto fail_host;
	struct nw_pt_cfg gc = {.fmt = &w->gfmt, .mem = &w->gmem, .levels = glevels,
			       .linear = true};
	if ((rc = nw_pt_init(&w->guest, &gc)) < 0)
		goto fail_host;
	if ((rc = nw_ept_init(&w->ept, w->host, NULL, hlevels)) < 0)
		goto fail_guest;
	nw_acc_plain(&w->hacc, w->host);
	/* Tables in [0, DATA_GPA), data after it; the EPT maps both. */
	if ((rc = nw_ept_map(&w->ept, 0, NW_BENCH_GPA_OFF, NW_BENCH_DATA_GPA, NW_PROT_RWX,
			     NW_EPT_MT_WB, hmax, NULL)) < 0 ||
	    (rc = nw_ept_map(&w->ept, NW_BENCH_DATA_GPA, NW_BENCH_GPA_OFF + NW_BENCH_DATA_GPA,
			     ws, NW_PROT_RWX, NW_EPT_MT_WB, hmax, NULL)) < 0 ||
	    (rc = nw_pt_map(&w->guest, 0, NW_BENCH_DATA_GPA, ws, &grw, gmax, NULL)) < 0)
		goto fail_ept;
	w->cfg.acc = &w->hacc;
	w->cfg.gfmt = &w->gfmt;
	w->cfg.gcr3 = w->guest.root;
	w->cfg.gmode = (struct nw_x86_mode){.levels = glevels, .wp = true, .nxe = true};
	w->cfg.hfmt = &w->ept.fmt;
	w->cfg.hroot = w->ept.pt.root;
	w->cfg.hlevels = hlevels;
	w->wk.w2d = w->cfg;
	w->wk.flags = NW_TLB_WALK_NO_DATA;
	nw_ept_eptp(&w->ept, false, &w->eptp);
	return 0;
fail_ept:
	nw_ept_destroy(&w->ept);
fail_guest:
	nw_pt_destroy(&w->guest);
fail_host:
	nw_mem_destroy(w->host);
	w->host = NULL;
	return rc;
}

void nw_bench_world_destroy(struct nw_bench_world *w)
{
	if (!w->host)
		return;
	nw_ept_destroy(&w->ept);
	nw_pt_destroy(&w->guest);
	nw_mem_destroy(w->host);
	w->host = NULL;
}

int nw_bench_model_init(struct nw_bench_model *m, const char *preset,
			const struct nw_bench_world *w, char *err, size_t errlen)
{
	struct nw_cpu_preset p;
	int rc;

	memset(m, 0, sizeof(*m));
	if ((rc = nw_cpu_preset(preset, &p, err, errlen)) < 0)
		return rc;
	return nw_bench_model_init_preset(m, &p, w, err, errlen);
}

int nw_bench_model_init_preset(struct nw_bench_model *m, const struct nw_cpu_preset *p,
			       const struct nw_bench_world *w, char *err, size_t errlen)
{
	int rc;

	memset(m, 0, sizeof(*m));
	if ((rc = nw_tlb_create(&p->tlb, &m->tlb, err, errlen)) < 0)
		return rc;
	if ((rc = nw_lat_create(&p->lat, &m->lat, err, errlen)) < 0) {
		nw_tlb_destroy(m->tlb);
		return rc;
	}
	nw_tlb_set_lat(m->tlb, m->lat);
	nw_tlb_set_ctx(m->tlb, &(struct nw_tlb_ctx){.nest = NW_NEST_EPT, .vpid = 1,
						    .eptp = w->eptp});
	return 0;
}

void nw_bench_model_destroy(struct nw_bench_model *m)
{
	if (m->tlb)
		nw_tlb_destroy(m->tlb);
	if (m->lat)
		nw_lat_destroy(m->lat);
	memset(m, 0, sizeof(*m));
}

uint64_t nw_bench_cycles(const struct nw_tlb_stats *s)
{
	uint64_t c = 0;

	for (int i = 0; i < NW_CYC_COUNT; i++)
		c += s->cycles[i];
	return c;
}

/* ---- the walk suite ---- */

struct walk_case {
	int glevels, hlevels;
	unsigned gmax, hmax;   /* NW_MAP_MAX_4K or _2M */
	bool cached;
};

static struct walk_case walk_cases[32];

/*
 * The modelled figures, untimed: walk the pages 8 times more through the
 * skylake latency model (every reference a cache-line touch; every
 * reference a translation cache saved a PSC hit), and count the last round.
 */
static void put_model(struct nw_gb_state *st, const struct walk_case *c,
		      struct nw_bench_world *w, struct nw_bench_model *m, const uint64_t *va)
{
	struct nw_bench_model lm = {0};
	struct nw_walk wr;
	uint64_t cyc = 0, g = 0, h = 0, skipped = 0;
	char err[160];

	if (!m->tlb && nw_bench_model_init(&lm, "skylake", w, err, sizeof(err)) < 0)
		return;
	struct nw_lat *lat = m->lat ? m->lat : lm.lat;
	uint32_t psc = nw_lat_config(lat)->psc_cycles;

	for (int round = 0; round < 8; round++)
		for (int i = 0; i < WALK_PAGES; i++) {
			if (c->cached)
				nw_tlb_walk(m->tlb, &w->wk, va[i], NW_ACC_READ, &wr);
			else
				nw_walk2d(&w->cfg, va[i], NW_ACC_READ, &wr);
			if (round < 7)
				for (unsigned r = 0; r < wr.n_refs; r++)
					nw_lat_touch(lat, wr.refs[r].pa);
			if (round < 7)
				continue;
			for (unsigned r = 0; r < wr.n_refs; r++) {
				cyc += nw_lat_cycles(lat, nw_lat_touch(lat, wr.refs[r].pa));
				g += wr.refs[r].dim == NW_DIM_GUEST;
				h += wr.refs[r].dim == NW_DIM_HOST;
			}
			cyc += (uint64_t)psc * wr.cache_hits;
			skipped += wr.cache_hits;
		}
	nw_gb_counter(st, "cycles_per_walk", (double)cyc / WALK_PAGES, 0, 0);
	nw_gb_counter(st, "walk.refs.guest", (double)g / WALK_PAGES, 0, 0);
	nw_gb_counter(st, "walk.refs.host", (double)h / WALK_PAGES, 0, 0);
	nw_gb_counter(st, "walk.refs.skipped", (double)skipped / WALK_PAGES, 0, 0);
	nw_bench_model_destroy(&lm);
}

static void bm_walk(struct nw_gb_state *st, void *user)
{
	const struct walk_case *c = user;
	uint64_t ws = (uint64_t)WALK_PAGES << 21; /* 64 pages, 2 MiB apart */
	uint64_t va[WALK_PAGES], seed = 1;
	struct nw_bench_world w;
	struct nw_bench_model m = {0};
	struct nw_walk wr;
	char err[160];

	if (nw_bench_world_init(&w, c->glevels, c->hlevels, ws, c->gmax, c->hmax) < 0) {
		nw_gb_skip_with_error(st, "cannot build the 2D world");
		return;
	}
	for (int i = 0; i < WALK_PAGES; i++)
		va[i] = ((uint64_t)i << 21) + ((nw_bench_rand(&seed) % 512) << 12);
	for (int i = WALK_PAGES - 1; i > 0; i--) {
		int j = (int)(nw_bench_rand(&seed) % (uint64_t)(i + 1));
		uint64_t t = va[i];
		va[i] = va[j];
		va[j] = t;
	}
	if (c->cached && nw_bench_model_init(&m, "skylake", &w, err, sizeof(err)) < 0) {
		nw_gb_skip_with_error(st, err);
		nw_bench_world_destroy(&w);
		return;
	}
	while (nw_gb_keep_running_batch(st, WALK_PAGES)) {
		for (int i = 0; i < WALK_PAGES; i++) {
			if (c->cached)
				nw_tlb_walk(m.tlb, &w.wk, va[i], NW_ACC_READ, &wr);
			else
				nw_walk2d(&w.cfg, va[i], NW_ACC_READ, &wr);
			NW_GB_DO_NOT_OPTIMIZE(wr.pa);
		}
	}
	if (wr.fault != NW_FAULT_NONE)
		nw_gb_skip_with_error(st, "the walk faulted");
	else
		put_model(st, c, &w, &m, va);
	nw_bench_model_destroy(&m);
	nw_gb_set_items_processed(st, nw_gb_state_iterations(st));
	nw_bench_world_destroy(&w);
}

void nw_bench_walk_register(void)
{
	static const char *const pg[] = {"", "4k", "2m"};
	int n = 0;
	char name[80];

	for (int gl = 4; gl <= 5; gl++)
		for (int hl = 4; hl <= 5; hl++)
			for (unsigned gm = NW_MAP_MAX_4K; gm <= NW_MAP_MAX_2M; gm++)
				for (unsigned hm = NW_MAP_MAX_4K; hm <= NW_MAP_MAX_2M; hm++)
					for (int cached = 0; cached < 2; cached++) {
						struct walk_case *c = &walk_cases[n++];

						*c = (struct walk_case){gl, hl, gm, hm, cached};
						snprintf(name, sizeof(name), "walk/g%d/h%d/%s/%s/%s",
							 gl, hl, pg[gm], pg[hm],
							 cached ? "cache" : "nocache");
						nw_gb_register(name, bm_walk, c);
					}
}
