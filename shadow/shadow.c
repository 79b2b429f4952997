/* SPDX-License-Identifier: MIT */
/* The shadow MMU object: configuration, life cycle, figures. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "shadow_internal.h"

void nw_shadow_cfg_default(struct nw_shadow_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->vcpus = 1;
	cfg->unsync = true;
	cfg->large_pages = true;
	cfg->root_cache = 4;
	cfg->flood_threshold = 3;
}

int nw_shadow_create(const struct nw_shadow_cfg *cfg, struct nw_shadow **out)
{
	struct nw_shadow *sh;
	unsigned gmax;

	if (!cfg || !out || !cfg->mem || !cfg->ops.gpa_to_hpa || !cfg->vcpus ||
	    cfg->vcpus > NW_SHADOW_MAX_VCPUS || cfg->root_cache > NW_SHADOW_MAX_ROOT_CACHE ||
	    (cfg->max_pages && cfg->max_pages < 2 * SH_TOPUP))
		return -EINVAL;
	gmax = cfg->maxphyaddr ? cfg->maxphyaddr : cfg->mem->maxphyaddr;
	sh = calloc(1, sizeof(*sh));
	if (!sh)
		return -ENOMEM;
	sh->cfg = *cfg;
	if (nw_fmt_x86_init(&sh->sfmt, cfg->mem->maxphyaddr, 0) < 0 ||
	    nw_fmt_x86_init(&sh->gfmt, gmax, 0) < 0) {
		free(sh);
		return -EINVAL;
	}
	if (cfg->acc)
		sh->acc = *cfg->acc;
	else
		nw_acc_plain(&sh->acc, cfg->mem);
	sh->bugs_left = cfg->bugs;
	*out = sh;
	return 0;
}

void nw_shadow_destroy(struct nw_shadow *sh)
{
	if (!sh)
		return;
	sh_page_free_all(sh);
	sh_rmap_free_all(sh);
	sh_map_free(&sh->stale_w);
	sh_map_free(&sh->lpage_disallow);
	free(sh);
}

int sh_finish(struct nw_shadow *sh, int rc)
{
	/* One flush for every entry the operation took something from (KVM batches likewise). */
	if (sh->need_flush) {
		sh->need_flush = false;
		sh_map_free(&sh->stale_w); /* every TLB is clean now */
		sh->st.tlb_flushes++;
		if (sh->cfg.ops.flush_tlb)
			sh->cfg.ops.flush_tlb(sh->cfg.ctx);
	}
	if (rc == 0 && sh->cfg.checker &&
	    nw_shadow_check(sh, NULL, sh->msg, sizeof(sh->msg)) < 0)
		return -EUCLEAN;
	return rc;
}

const char *nw_shadow_check_msg(const struct nw_shadow *sh)
{
	return sh->msg;
}

const struct nw_shadow_stats *nw_shadow_stats(const struct nw_shadow *sh)
{
	return &sh->st;
}

size_t nw_shadow_stats_list(const struct nw_shadow *sh, struct nw_stat *out, size_t max)
{
	const struct nw_shadow_stats *s = &sh->st;
	const struct nw_stat all[] = {
		{ "shadow.pages", s->pages },
		{ "shadow.pages.created", s->pages_created },
		{ "shadow.zaps", s->zaps },
		{ "shadow.syncs", s->syncs },
		{ "shadow.invlpg_syncs", s->invlpg_syncs },
		{ "shadow.unsyncs", s->unsyncs },
		{ "shadow.emulated_writes", s->emulated_writes },
		{ "shadow.write_protects", s->write_protects },
		{ "shadow.root_hits", s->root_hits },
		{ "shadow.root_misses", s->root_misses },
		{ "shadow.unshadowed", s->unshadowed },
		{ "shadow.reclaimed", s->reclaimed },
		{ "shadow.faults.fixed", s->faults_fixed },
		{ "shadow.faults.injected", s->faults_injected },
		{ "shadow.faults.emulate", s->faults_emulate },
		{ "shadow.faults.mmio", s->faults_mmio },
		{ "shadow.tlb_flushes", s->tlb_flushes },
		{ "shadow.large_leaves", s->large_leaves },
		{ "shadow.large_zaps", s->large_zaps },
	};
	size_t n = sizeof(all) / sizeof(all[0]);

	for (size_t i = 0; i < n && i < max; i++)
		out[i] = all[i];
	return n;
}
