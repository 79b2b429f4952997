/* SPDX-License-Identifier: MIT */
/*
 * The page map: open addressing keyed by page number + 1, so that 0 can
 * mark a free slot and page 0 still fits. Pages never leave, so there are
 * no tombstones.
 */

#include <stdlib.h>
#include <string.h>

#include "pagemap.h"

#define MIN_CAP 1024u

/* ---- private prototypes ---- */
static int grow(struct nw_pagemap *m);
static size_t slot_of(const struct nw_pagemap *m, uint64_t key);

static size_t slot_of(const struct nw_pagemap *m, uint64_t key)
{
	uint64_t h = key * 0x9e3779b97f4a7c15ull;

	return (size_t)(h ^ (h >> 29)) & (m->cap - 1);
}

void nw_pagemap_fini(struct nw_pagemap *m)
{
	free(m->key);
	free(m->val);
	memset(m, 0, sizeof(*m));
}

uint64_t *nw_pagemap_find(const struct nw_pagemap *m, uint64_t page)
{
	uint64_t key = page + 1;

	if (!m->cap)
		return NULL;
	for (size_t i = slot_of(m, key);; i = (i + 1) & (m->cap - 1)) {
		if (m->key[i] == key)
			return &m->val[i];
		if (!m->key[i])
			return NULL;
	}
}

static int grow(struct nw_pagemap *m)
{
	struct nw_pagemap bigger = { .cap = m->cap ? m->cap * 2 : MIN_CAP, .n = m->n };

	bigger.key = calloc(bigger.cap, sizeof(uint64_t));
	bigger.val = malloc(bigger.cap * sizeof(uint64_t));
	if (!bigger.key || !bigger.val) {
		free(bigger.key);
		free(bigger.val);
		return -1;
	}
	for (size_t i = 0; i < m->cap; i++) {
		if (!m->key[i])
			continue;
		size_t j = slot_of(&bigger, m->key[i]);
		while (bigger.key[j])
			j = (j + 1) & (bigger.cap - 1);
		bigger.key[j] = m->key[i];
		bigger.val[j] = m->val[i];
	}
	nw_pagemap_fini(m);
	*m = bigger;
	return 0;
}

uint64_t *nw_pagemap_get(struct nw_pagemap *m, uint64_t page, bool *added)
{
	uint64_t key = page + 1;
	size_t i;

	if ((m->n + 1) * 2 > m->cap && grow(m) < 0)
		return NULL;
	for (i = slot_of(m, key); m->key[i]; i = (i + 1) & (m->cap - 1))
		if (m->key[i] == key) {
			if (added)
				*added = false;
			return &m->val[i];
		}
	m->key[i] = key;
	m->val[i] = 0;
	m->n++;
	if (added)
		*added = true;
	return &m->val[i];
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

uint64_t *nw_pagemap_sorted(const struct nw_pagemap *m)
{
	uint64_t *out = m->n ? malloc(m->n * sizeof(*out)) : NULL;
	size_t k = 0;

	if (!out)
		return NULL;
	for (size_t i = 0; i < m->cap; i++)
		if (m->key[i])
			out[k++] = m->key[i] - 1;
	qsort(out, k, sizeof(*out), cmp_u64);
	return out;
}
