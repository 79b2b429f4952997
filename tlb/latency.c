/* SPDX-License-Identifier: MIT */
/*
 * The latency model's cache hierarchy: L1d, L2 and LLC as set-associative
 * arrays of 64-byte lines with deterministic LRU, in one allocation.
 * A line found at a level is filled into every level above it; a level
 * evicting a line does not evict it from the others.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nestwalk/tlb_lat.h>

#include "sacache.h"

#define LAT_LEVELS 3

/* A slot's recency stamp (0: empty) and line address side by side, so a
 * set's scan reads one run of memory rather than two arrays: the LLC's
 * metadata is megabytes, and most of a miss's cost is the host's misses. */
struct lat_slot {
	uint64_t stamp;
	uint64_t line;
};

struct lat_level {
	struct nw_sa sa;      /* the geometry and the clock; its stamp array is unused */
	struct lat_slot *slot;
};

struct nw_lat {
	struct nw_lat_cfg cfg;
	struct lat_level lv[LAT_LEVELS];
	uint32_t cycles[NW_MEM_LEVELS];
	size_t mru;           /* the L1 slot of the line touched last */
};

static const char *const level_names[LAT_LEVELS] = { "l1d", "l2", "llc" };

static const struct nw_cache_geom *geom(const struct nw_lat_cfg *c, int i)
{
	return i == 0 ? &c->l1d : i == 1 ? &c->l2 : &c->llc;
}

static int check(const struct nw_lat_cfg *c, char *err, size_t n)
{
	for (int i = 0; i < LAT_LEVELS; i++) {
		const struct nw_cache_geom *g = geom(c, i);
		int rc;
		if (!g->size || g->size % NW_LINE_SIZE) {
			snprintf(err, n, "%s: size %llu is not a positive multiple of %u bytes",
				 level_names[i], (unsigned long long)g->size, NW_LINE_SIZE);
			return -EINVAL;
		}
		if ((rc = nw_sa_geom_check(level_names[i], g->size / NW_LINE_SIZE, g->ways, err, n)) < 0)
			return rc;
	}
	if (!c->calloc != !c->free) {
		snprintf(err, n, "calloc and free hooks: give both or neither");
		return -EINVAL;
	}
	return 0;
}

int nw_lat_create(const struct nw_lat_cfg *cfg, struct nw_lat **out, char *err, size_t errlen)
{
	char dummy[8];
	uint64_t lines = 0;
	int rc;

	if (!err) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	if (out)
		*out = NULL;
	if (!cfg || !out) {
		snprintf(err, errlen, "no configuration");
		return -EINVAL;
	}
	if ((rc = check(cfg, err, errlen)) < 0)
		return rc;
	for (int i = 0; i < LAT_LEVELS; i++)
		lines += geom(cfg, i)->size / NW_LINE_SIZE;

	void *(*alloc)(size_t, size_t) = cfg->calloc ? cfg->calloc : calloc;
	struct nw_lat *lat = alloc(1, sizeof(*lat) + lines * 2 * sizeof(uint64_t));
	if (!lat) {
		snprintf(err, errlen, "out of memory for %llu simulated cache lines",
			 (unsigned long long)lines);
		return -ENOMEM;
	}
	struct lat_slot *p = (struct lat_slot *)(lat + 1);
	lat->cfg = *cfg;
	for (int i = 0; i < LAT_LEVELS; i++) {
		uint64_t n = geom(cfg, i)->size / NW_LINE_SIZE;
		nw_sa_init(&lat->lv[i].sa, n, geom(cfg, i)->ways, NULL);
		lat->lv[i].slot = p;
		p += n;
	}
	lat->cycles[NW_MEM_L1] = cfg->l1_cycles;
	lat->cycles[NW_MEM_L2] = cfg->l2_cycles;
	lat->cycles[NW_MEM_LLC] = cfg->llc_cycles;
	lat->cycles[NW_MEM_DRAM] = cfg->dram_cycles;
	*out = lat;
	return 0;
}

void nw_lat_destroy(struct nw_lat *lat)
{
	if (!lat)
		return;
	if (lat->cfg.free)
		lat->cfg.free(lat);
	else
		free(lat);
}

/*
 * Look line up in one level: on a hit, *slot is where it is; on a miss,
 * the slot a fill would take, found in the same pass over the set: the
 * first empty way, else the least recently used one. Empty slots stamp 0
 * and live stamps are unique, so that is the first way with the lowest
 * stamp (what nw_sa_victim picks).
 */
static void lat_touch(struct lat_level *l, size_t s)
{
	l->slot[s].stamp = ++l->sa.clock;
}

static bool level_lookup(struct lat_level *l, uint64_t line, size_t *slot)
{
	size_t base = nw_sa_base(&l->sa, line), v = base;
	const struct lat_slot *sl = l->slot;
	uint64_t low = UINT64_MAX;

	for (size_t s = base; s < base + l->sa.ways; s++) {
		uint64_t st = sl[s].stamp;
		if (st && sl[s].line == line) {
			lat_touch(l, s);
			*slot = s;
			return true;
		}
		if (st < low) {
			low = st;
			v = s;
		}
	}
	*slot = v;
	return false;
}

enum nw_mem_level nw_lat_touch(struct nw_lat *lat, uint64_t pa)
{
	uint64_t line = pa / NW_LINE_SIZE;
	struct lat_level *l1 = &lat->lv[0];
	size_t slot[LAT_LEVELS];
	int found = LAT_LEVELS;

	/*
	 * The line touched last, again (a store after its load, the entries of
	 * one table line): a level holds a line at most once, so the lookup
	 * would find this very slot.
	 */
	if (l1->slot[lat->mru].stamp && l1->slot[lat->mru].line == line) {
		lat_touch(l1, lat->mru);
		return NW_MEM_L1;
	}
	for (int i = 0; i < LAT_LEVELS; i++)
		if (level_lookup(&lat->lv[i], line, &slot[i])) {
			found = i;
			break;
		}
	/* Levels are separate arrays: a victim found above is still the victim. */
	for (int i = 0; i < found; i++) {
		lat->lv[i].slot[slot[i]].line = line;
		lat_touch(&lat->lv[i], slot[i]);
	}
	lat->mru = slot[0];
	return (enum nw_mem_level)found;
}

uint32_t nw_lat_cycles(const struct nw_lat *lat, enum nw_mem_level where)
{
	return lat->cycles[where];
}

const struct nw_lat_cfg *nw_lat_config(const struct nw_lat *lat)
{
	return &lat->cfg;
}

void nw_lat_flush(struct nw_lat *lat)
{
	for (int i = 0; i < LAT_LEVELS; i++)
		for (size_t s = 0; s < nw_sa_slots(&lat->lv[i].sa); s++)
			lat->lv[i].slot[s].stamp = 0;
}
