/* SPDX-License-Identifier: MIT */
#ifndef NW_TRACE_PAGEMAP_H
#define NW_TRACE_PAGEMAP_H

/*
 * A map from page numbers to one 64-bit value each: open addressing with
 * linear probing, grown at 1/2 load. The trace workload finds its pages
 * with it, `trace info` its footprint and reuse distances. Memory is in
 * proportion to the pages a trace touches, never to its length.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nw_pagemap {
	uint64_t *key;          /* page number + 1; 0 marks a free slot */
	uint64_t *val;
	size_t cap;             /* a power of two, or 0 before the first insert */
	size_t n;               /* pages held */
};

void nw_pagemap_fini(struct nw_pagemap *m);
/* The value of page, or NULL when absent. */
uint64_t *nw_pagemap_find(const struct nw_pagemap *m, uint64_t page);
/* The value slot of page, inserted as 0 when new (*added says which):
 * NULL only when memory runs out, with the map unchanged. */
uint64_t *nw_pagemap_get(struct nw_pagemap *m, uint64_t page, bool *added);
/* Every page number, sorted, in a new array of m->n (NULL: no memory or empty). */
uint64_t *nw_pagemap_sorted(const struct nw_pagemap *m);

#endif
