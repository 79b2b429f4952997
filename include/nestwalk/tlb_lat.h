/* SPDX-License-Identifier: MIT */
#ifndef NESTWALK_TLB_LAT_H
#define NESTWALK_TLB_LAT_H

/*
 * The latency model: a simulated, set-associative L1d / L2 / LLC with
 * 64-byte lines and deterministic LRU, through which page-table lines and
 * data lines both pass, and the cycle costs of a preset.
 *
 * A reference costs the latency of the level where its line was found; the
 * line is then brought into every level above (a simple inclusive fill,
 * with no back-invalidation when a lower level evicts).
 *
 *	struct nw_lat *lat;
 *	char err[128];
 *	if (nw_lat_create(&preset.lat, &lat, err, sizeof(err)) < 0) ...
 *	enum nw_mem_level where = nw_lat_touch(lat, hpa);
 *	uint32_t cycles = nw_lat_cycles(lat, where);
 *	nw_lat_destroy(lat);
 */

#include <stddef.h>
#include <stdint.h>

#include <nestwalk/tlb_stats.h>

#define NW_LINE_SIZE 64u

struct nw_cache_geom {
	uint64_t size;       /* bytes; size / 64 / ways sets, a power of two */
	uint32_t ways;
};

struct nw_lat_cfg {
	struct nw_cache_geom l1d, l2, llc;
	/* Load-to-use cycles of a line found in each level. */
	uint32_t l1_cycles, l2_cycles, llc_cycles, dram_cycles;
	uint32_t tlb_l1_cycles;  /* an L1 TLB lookup */
	uint32_t tlb_l2_cycles;  /* an L2 TLB lookup (after an L1 miss) */
	uint32_t psc_cycles;     /* a hit in a PSC, the PWC or the nested TLB */
	uint32_t vmexit_cycles;  /* one VM exit and entry round trip */
	/* Allocation hook (NULL: calloc and free), for fault injection. */
	void *(*calloc)(size_t n, size_t size);
	void (*free)(void *p);
};

struct nw_lat;

/*
 * Build the hierarchy: 0, -EINVAL (with a message in err) for a geometry
 * that is not a power of two or has no ways, or -ENOMEM with nothing built.
 */
int nw_lat_create(const struct nw_lat_cfg *cfg, struct nw_lat **out, char *err, size_t errlen);
void nw_lat_destroy(struct nw_lat *lat);

/* Where the line holding pa was found; afterwards it is in every level. */
enum nw_mem_level nw_lat_touch(struct nw_lat *lat, uint64_t pa);

/* The cycles of a line found at `where`. */
uint32_t nw_lat_cycles(const struct nw_lat *lat, enum nw_mem_level where);

const struct nw_lat_cfg *nw_lat_config(const struct nw_lat *lat);

/* Empty every level (a cold start). */
void nw_lat_flush(struct nw_lat *lat);

#endif
