/* SPDX-License-Identifier: MIT */
/*
 * The generic set-associative array: geometry checks and deterministic LRU.
 * Recency is a global stamp per array, so replacement depends only on the
 * order of operations, never on time or addresses of host memory.
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sacache.h"

static bool is_pow2(uint64_t x)
{
	return x && !(x & (x - 1));
}

int nw_sa_geom_check(const char *name, uint64_t entries, uint32_t ways, char *err, size_t errlen)
{
	if (entries == 0)
		return 0;
	if (ways == 0) {
		snprintf(err, errlen, "%s: %llu entries with 0 ways", name, (unsigned long long)entries);
		return -EINVAL;
	}
	if (entries % ways) {
		snprintf(err, errlen, "%s: %llu entries is not a multiple of %u ways", name,
			 (unsigned long long)entries, ways);
		return -EINVAL;
	}
	if (!is_pow2(entries / ways)) {
		snprintf(err, errlen, "%s: %llu entries / %u ways = %llu sets, not a power of two",
			 name, (unsigned long long)entries, ways,
			 (unsigned long long)(entries / ways));
		return -EINVAL;
	}
	return 0;
}

void nw_sa_init(struct nw_sa *sa, uint64_t entries, uint32_t ways, uint64_t *stamp)
{
	sa->ways = entries ? ways : 0;
	sa->sets = entries ? (uint32_t)(entries / ways) : 0;
	sa->clock = 0;
	sa->stamp = stamp;
}

size_t nw_sa_victim(const struct nw_sa *sa, uint64_t index)
{
	size_t base = nw_sa_base(sa, index);
	size_t victim = base;
	uint64_t low = UINT64_MAX;

	/* Empty slots stamp 0 and live stamps are unique: the first way with the
	 * lowest stamp is the first empty one, else the LRU one. One branch-free
	 * pass, with no early exit to mispredict. */
	for (size_t s = base; s < base + sa->ways; s++) {
		uint64_t st = sa->stamp[s];
		bool lower = st < low;
		low = lower ? st : low;
		victim = lower ? s : victim;
	}
	return victim;
}

void nw_sa_clear(struct nw_sa *sa)
{
	if (sa->stamp)
		memset(sa->stamp, 0, nw_sa_slots(sa) * sizeof(*sa->stamp));
}
