/* SPDX-License-Identifier: MIT */
#ifndef NW_TLB_SACACHE_H
#define NW_TLB_SACACHE_H

/*
 * A set-associative array of slots with deterministic LRU. It keeps only
 * the geometry and one recency stamp per slot (0: the slot is empty); the
 * user keeps what a slot holds in an array of its own, indexed the same
 * way. Every TLB, PSC and simulated cache level is one of these.
 *
 *	size_t base = nw_sa_base(sa, index);          // first slot of the set
 *	for (size_t s = base; s < base + sa->ways; s++)
 *		if (nw_sa_valid(sa, s) && matches(payload[s])) { nw_sa_touch(sa, s); ... }
 *	size_t v = nw_sa_victim(sa, index);           // an empty slot, else the LRU one
 *
 * Private to tlb/.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nw_sa {
	uint32_t sets;      /* a power of two */
	uint32_t ways;
	uint64_t clock;     /* the last stamp handed out */
	uint64_t *stamp;    /* sets * ways recency stamps; 0 = empty */
};

/*
 * Check a geometry of `entries` slots in `ways` ways. 0, or -EINVAL with
 * "<name>: <why>" in err. entries == 0 (absent) is valid.
 */
int nw_sa_geom_check(const char *name, uint64_t entries, uint32_t ways, char *err, size_t errlen);

/* Set up over caller-provided, zeroed stamp storage of `entries` slots. */
void nw_sa_init(struct nw_sa *sa, uint64_t entries, uint32_t ways, uint64_t *stamp);

static inline size_t nw_sa_slots(const struct nw_sa *sa)
{
	return (size_t)sa->sets * sa->ways;
}

/* First slot of the set that `index` selects (its low bits). */
static inline size_t nw_sa_base(const struct nw_sa *sa, uint64_t index)
{
	return (size_t)(index & (sa->sets - 1u)) * sa->ways;
}

static inline bool nw_sa_valid(const struct nw_sa *sa, size_t slot)
{
	return sa->stamp[slot] != 0;
}

/* Make slot the most recently used of its set (and valid). */
static inline void nw_sa_touch(struct nw_sa *sa, size_t slot)
{
	sa->stamp[slot] = ++sa->clock;
}

static inline void nw_sa_drop(struct nw_sa *sa, size_t slot)
{
	sa->stamp[slot] = 0;
}

/* The slot a fill of `index` takes: the first empty way, else the least
 * recently used one (the lowest stamp; stamps are unique). */
size_t nw_sa_victim(const struct nw_sa *sa, uint64_t index);

/* Empty every slot. */
void nw_sa_clear(struct nw_sa *sa);

#endif
