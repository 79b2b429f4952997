/*
 * suite_invept.c - the `invept` suite: what an invalidation costs in the
 * model, while mappings change every <period> accesses.
 *
 *	invept/<op>/<period>   period 1000, 10000, 100000 accesses
 *
 * op: none (the mapping changes, no invalidation: the baseline), invept1
 * (single context), invept2 (all contexts), invvpid0 (individual address),
 * invvpid1 (single context), invlpg, shadow_cr3 (skipped until the shadow
 * mode exists in vmm/). Skylake preset, EPT, VPID 1, a 4-level guest of 4K
 * pages over 4-level EPT of 4K pages, 4 MiB of guest memory read at random
 * 4K pages, warmed up by one period before the first invalidation. Every period accesses one page's mapping changes (the guest PTE
 * for invlpg and invvpid0, the EPT entry otherwise; the rights toggle
 * between RWX and RW, so reads never fault), then op runs.
 *
 * Counters: inval_ns (real ns per invalidation call), inval.dropped (entries
 * dropped per invalidation), refill_cycles (modelled walk cycles over the
 * period after each invalidation: cycles.walk.* plus cycles.psc), and
 * cycles_per_access over the whole run.
 */
#define _POSIX_C_SOURCE 200809L
#include "suites.h"

#include "gbench.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define INV_WS (4ull << 20) /* 1024 pages: fits the L2 TLB, so drops show */

enum inv_op { INV_NONE, INV_EPT1, INV_EPT2, INV_VPID0, INV_VPID1, INV_INVLPG, INV_SHADOW,
	      INV_OPS };

static const char *const inv_names[INV_OPS] = {
	"none", "invept1", "invept2", "invvpid0", "invvpid1", "invlpg", "shadow_cr3",
};
static const enum inv_op inv_ops[INV_OPS] = {
	INV_NONE, INV_EPT1, INV_EPT2, INV_VPID0, INV_VPID1, INV_INVLPG, INV_SHADOW,
};

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static uint64_t walk_cycles(const struct nw_tlb_stats *s)
{
	return s->cycles[NW_CYC_WALK_GUEST] + s->cycles[NW_CYC_WALK_HOST] + s->cycles[NW_CYC_PSC];
}

/* Change the mapping of page va, then invalidate it with op. */
static int change_and_invalidate(struct nw_bench_world *w, struct nw_tlb *t, enum inv_op op,
				 uint64_t va, bool toggle, double *ns)
{
	uint32_t prot = toggle ? NW_PROT_R | NW_PROT_W : NW_PROT_RWX;
	double t0;
	int rc;

	if (op == INV_VPID0 || op == INV_INVLPG) {
		struct nw_attr a = {.prot = prot | NW_PROT_U};
		rc = nw_pt_protect(&w->guest, va, NW_PAGE_SIZE, &a, NULL);
	} else {
		rc = nw_ept_protect(&w->ept, NW_BENCH_DATA_GPA + va, NW_PAGE_SIZE, prot,
				    NW_EPT_MT_WB, 0, NULL);
	}
	if (rc)
		return rc;
	t0 = now_ns();
	switch (op) {
	case INV_EPT1: rc = nw_tlb_invept(t, 1, w->eptp); break;
	case INV_EPT2: rc = nw_tlb_invept(t, 2, 0); break;
	case INV_VPID0: rc = nw_tlb_invvpid(t, 0, 1, va); break;
	case INV_VPID1: rc = nw_tlb_invvpid(t, 1, 1, 0); break;
	case INV_INVLPG: rc = nw_tlb_invlpg(t, va); break;
	default: break;
	}
	*ns += now_ns() - t0;
	return rc;
}

static void bm_invept(struct nw_gb_state *st, void *user)
{
	enum inv_op op = *(const enum inv_op *)user;
	int64_t period = nw_gb_state_range(st, 0);
	uint64_t seed = 11, pages = INV_WS >> 12, invals = 0, refill = 0, dropped0;
	struct nw_bench_world w;
	struct nw_bench_model m;
	struct nw_tlb_xlat x = {0};
	double ns = 0;
	char err[160];
	int rc = 0;

	if (op == INV_SHADOW) {
		nw_gb_skip_with_error(st, "shadow mode is not in vmm/ yet (nw_vm_create refuses "
					  "NW_VM_SHADOW): no CR3-switch flush to measure");
		return;
	}
	if (nw_bench_world_init(&w, 4, 4, INV_WS, NW_MAP_MAX_4K, NW_MAP_MAX_4K) < 0) {
		nw_gb_skip_with_error(st, "cannot build the 2D world");
		return;
	}
	if (nw_bench_model_init(&m, "skylake", &w, err, sizeof(err)) < 0) {
		nw_gb_skip_with_error(st, err);
		nw_bench_world_destroy(&w);
		return;
	}
	const struct nw_tlb_stats *s = nw_tlb_stats(m.tlb);

	for (int64_t i = 0; i < period; i++)
		nw_tlb_access(m.tlb, &w.wk, (nw_bench_rand(&seed) % pages) << 12, NW_ACC_READ, &x);
	dropped0 = s->inval_dropped;
	while (rc == 0 && nw_gb_keep_running_batch(st, period)) {
		uint64_t target = (nw_bench_rand(&seed) % pages) << 12, c0;

		rc = change_and_invalidate(&w, m.tlb, op, target, invals & 1, &ns);
		invals++;
		c0 = walk_cycles(s);
		for (int64_t i = 0; i < period; i++) {
			uint64_t va = (nw_bench_rand(&seed) % pages) << 12;

			nw_tlb_access(m.tlb, &w.wk, va, NW_ACC_READ, &x);
			NW_GB_DO_NOT_OPTIMIZE(x.w.pa);
		}
		refill += walk_cycles(s) - c0;
	}
	if (rc || x.w.fault != NW_FAULT_NONE)
		nw_gb_skip_with_error(st, rc ? "the change or the invalidation failed"
					     : "an access faulted");
	double n = invals ? (double)invals : 1;

	nw_gb_counter(st, "inval_ns", ns / n, 0, 0);
	nw_gb_counter(st, "inval.dropped", (double)(s->inval_dropped - dropped0) / n, 0, 0);
	nw_gb_counter(st, "refill_cycles", (double)refill / n, 0, 0);
	nw_gb_counter(st, "cycles_per_access",
		      (double)nw_bench_cycles(s) / (double)(s->accesses ? s->accesses : 1), 0, 0);
	nw_gb_set_items_processed(st, nw_gb_state_iterations(st));
	nw_bench_model_destroy(&m);
	nw_bench_world_destroy(&w);
}

void nw_bench_invept_register(void)
{
	char name[64];

	for (int o = 0; o < INV_OPS; o++) {
		snprintf(name, sizeof(name), "invept/%s", inv_names[o]);
		struct nw_gb_bench *b = nw_gb_register(name, bm_invept, (void *)&inv_ops[o]);

		nw_gb_arg(nw_gb_arg(nw_gb_arg(b, 1000), 10000), 100000);
	}
}
