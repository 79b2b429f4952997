/* SPDX-License-Identifier: MIT */
/*
 * A map from 64-bit keys to 64-bit values: open addressing, linear probing,
 * backward-shift deletion (no tombstones), doubling at 1/2 load. The shadow
 * MMU keys its page cache, frame lookup and reverse maps with it.
 */

#include <errno.h>
#include <stdlib.h>

#include "shadow_internal.h"

static uint64_t slot_of(const struct sh_map *m, uint64_t key)
{
	uint64_t z = key * 0x9e3779b97f4a7c15ull;
	return (z ^ (z >> 29)) & (m->cap - 1);
}

bool sh_map_get(const struct sh_map *m, uint64_t key, uint64_t *val)
{
	if (!m->cap)
		return false;
	for (uint64_t i = slot_of(m, key);; i = (i + 1) & (m->cap - 1)) {
		if (m->keys[i] == SH_MAP_EMPTY)
			return false;
		if (m->keys[i] == key) {
			*val = m->vals[i];
			return true;
		}
	}
}

static void put_fresh(struct sh_map *m, uint64_t key, uint64_t val)
{
	uint64_t i = slot_of(m, key);

	while (m->keys[i] != SH_MAP_EMPTY)
		i = (i + 1) & (m->cap - 1);
	m->keys[i] = key;
	m->vals[i] = val;
	m->n++;
}

static int grow(struct sh_map *m)
{
	uint64_t cap = m->cap ? 2 * m->cap : 64;
	struct sh_map bigger = { .cap = cap };

	bigger.keys = malloc(cap * sizeof(uint64_t));
	bigger.vals = malloc(cap * sizeof(uint64_t));
	if (!bigger.keys || !bigger.vals) {
		free(bigger.keys);
		free(bigger.vals);
		return -ENOMEM;
	}
	for (uint64_t i = 0; i < cap; i++)
		bigger.keys[i] = SH_MAP_EMPTY;
	for (uint64_t i = 0; i < m->cap; i++)
		if (m->keys[i] != SH_MAP_EMPTY)
			put_fresh(&bigger, m->keys[i], m->vals[i]);
	free(m->keys);
	free(m->vals);
	*m = bigger;
	return 0;
}

int sh_map_put(struct sh_map *m, uint64_t key, uint64_t val)
{
	if (m->cap) {
		for (uint64_t i = slot_of(m, key); m->keys[i] != SH_MAP_EMPTY;
		     i = (i + 1) & (m->cap - 1))
			if (m->keys[i] == key) {
				m->vals[i] = val;
				return 0;
			}
	}
	if (2 * (m->n + 1) > m->cap) {
		int rc = grow(m);
		if (rc < 0)
			return rc;
	}
	put_fresh(m, key, val);
	return 0;
}

void sh_map_del(struct sh_map *m, uint64_t key)
{
	uint64_t i, j, mask = m->cap - 1;

	if (!m->cap)
		return;
	for (i = slot_of(m, key); m->keys[i] != key; i = (i + 1) & mask)
		if (m->keys[i] == SH_MAP_EMPTY)
			return;
	/*
	 * Backward shift: move later members of the probe run into the hole
	 * when their home slot does not lie cyclically in (hole, j].
	 */
	for (j = (i + 1) & mask; m->keys[j] != SH_MAP_EMPTY; j = (j + 1) & mask) {
		uint64_t home = slot_of(m, m->keys[j]);
		bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
		if (stays)
			continue;
		m->keys[i] = m->keys[j];
		m->vals[i] = m->vals[j];
		i = j;
	}
	m->keys[i] = SH_MAP_EMPTY;
	m->n--;
}

void sh_map_free(struct sh_map *m)
{
	free(m->keys);
	free(m->vals);
	*m = (struct sh_map){ 0 };
}
