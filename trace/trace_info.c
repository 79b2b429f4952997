/* SPDX-License-Identifier: MIT */
/*
 * The figures of `nestwalk trace info`: counts by kind, footprint in 4 KiB
 * and 2 MiB pages, regions, and the exact reuse distance at page
 * granularity.
 *
 * Reuse distance (the LRU stack distance): a Fenwick tree over logical
 * times holds a 1 at each page's most recent access, so the distinct pages
 * since page p was last seen at time s are the ones set in (s, now). Time
 * advances only when the page changes, and when the tree fills up the
 * live times are renumbered 1..pages, so memory follows the footprint,
 * never the trace's length (Bennett and Kruskal's method).
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "trace_info.h"
#include "pagemap.h"

#define PAGE_SHIFT 12
#define PAGE_2M_SHIFT 21
#define MIN_SLOTS (1u << 16)

struct nw_trace_info_acc {
	struct nw_trace_info info;
	struct nw_pagemap last;     /* 4 KiB page -> its latest time */
	struct nw_pagemap huge;     /* 2 MiB pages seen (values unused) */
	uint32_t *bit;              /* Fenwick tree, 1-based, over times 1..nslots */
	uint64_t nslots;
	uint64_t now;               /* the latest time handed out */
	uint64_t cur_page;          /* the page at time `now` */
	uint64_t exact[NW_REUSE_EXACT]; /* warm accesses by distance, for the median */
};

/* ---- private prototypes ---- */
static int renumber(struct nw_trace_info_acc *a);
static int touch(struct nw_trace_info_acc *a, uint64_t page);

static void bit_add(struct nw_trace_info_acc *a, uint64_t i, int d)
{
	for (; i <= a->nslots; i += i & -i)
		a->bit[i] += (uint32_t)d;
}

static uint64_t bit_sum(const struct nw_trace_info_acc *a, uint64_t i)
{
	uint64_t s = 0;

	for (; i; i -= i & -i)
		s += a->bit[i];
	return s;
}

static unsigned bucket_of(uint64_t d)
{
	unsigned b = 0;

	while (d) {
		b++;
		d >>= 1;
	}
	return b < NW_REUSE_COLD ? b : NW_REUSE_COLD - 1;
}

uint64_t nw_reuse_bucket_low(unsigned b)
{
	return b == 0 ? 0 : b < NW_REUSE_COLD ? 1ull << (b - 1) : UINT64_MAX;
}

int nw_trace_info_begin(struct nw_trace_info_acc **out)
{
	struct nw_trace_info_acc *a = calloc(1, sizeof(*a));

	if (!a)
		return -ENOMEM;
	a->info.lo = UINT64_MAX;
	a->nslots = MIN_SLOTS;
	a->bit = calloc(a->nslots + 1, sizeof(*a->bit));
	if (!a->bit) {
		free(a);
		return -ENOMEM;
	}
	a->cur_page = UINT64_MAX;
	*out = a;
	return 0;
}

struct stamp {
	uint64_t time;
	uint64_t *slot;
};

static int cmp_stamp(const void *x, const void *y)
{
	uint64_t a = ((const struct stamp *)x)->time, b = ((const struct stamp *)y)->time;

	return a < b ? -1 : a > b;
}

/* Times 1..pages for the live pages, in order; the tree at least twice as
 * large as the pages, so that renumbering stays rare. */
static int renumber(struct nw_trace_info_acc *a)
{
	size_t n = a->last.n, k = 0;
	uint64_t slots = a->nslots;
	struct stamp *st = malloc((n ? n : 1) * sizeof(*st));
	uint32_t *bit;

	while (slots < 2 * (uint64_t)n + MIN_SLOTS)
		slots *= 2;
	bit = calloc(slots + 1, sizeof(*bit));
	if (!st || !bit) {
		free(st);
		free(bit);
		return -ENOMEM;
	}
	for (size_t i = 0; i < a->last.cap; i++)
		if (a->last.key[i])
			st[k++] = (struct stamp){ a->last.val[i], &a->last.val[i] };
	qsort(st, k, sizeof(*st), cmp_stamp);
	free(a->bit);
	a->bit = bit;
	a->nslots = slots;
	for (size_t i = 0; i < k; i++) {
		*st[i].slot = i + 1;
		bit_add(a, i + 1, 1);
	}
	a->now = k;
	free(st);
	return 0;
}

static int touch(struct nw_trace_info_acc *a, uint64_t page)
{
	struct nw_trace_info *in = &a->info;
	uint64_t *t, d;
	bool added;

	if (page == a->cur_page) { /* the same page again: distance 0 */
		in->reuse[0]++;
		a->exact[0]++;
		return 0;
	}
	if (a->now == a->nslots && renumber(a) < 0)
		return -ENOMEM;
	t = nw_pagemap_get(&a->last, page, &added);
	if (!t)
		return -ENOMEM;
	if (added) {
		in->reuse[NW_REUSE_COLD]++;
	} else {
		d = bit_sum(a, a->now) - bit_sum(a, *t);
		in->reuse[bucket_of(d)]++;
		if (d < NW_REUSE_EXACT)
			a->exact[d]++;
		bit_add(a, *t, -1);
	}
	*t = ++a->now;
	bit_add(a, *t, 1);
	a->cur_page = page;
	return 0;
}

int nw_trace_info_add(struct nw_trace_info_acc *a, const struct nw_trace_rec *recs, size_t n)
{
	struct nw_trace_info *in = &a->info;

	for (size_t i = 0; i < n; i++) {
		const struct nw_trace_rec *r = &recs[i];
		uint64_t last = r->addr + r->size - 1;
		int rc;

		if (r->kind >= NW_TRACE_KINDS)
			return -EINVAL;
		in->records++;
		in->by_kind[r->kind]++;
		in->bytes += r->size;
		in->lo = r->addr < in->lo ? r->addr : in->lo;
		in->hi = last > in->hi && last >= r->addr ? last : in->hi;
		if ((rc = touch(a, r->addr >> PAGE_SHIFT)) < 0)
			return rc;
		if (!nw_pagemap_get(&a->huge, r->addr >> PAGE_2M_SHIFT, NULL))
			return -ENOMEM;
	}
	return 0;
}

int nw_trace_info_end(struct nw_trace_info_acc *a, struct nw_trace_info *info)
{
	struct nw_trace_info *in = &a->info;
	uint64_t *pages = nw_pagemap_sorted(&a->last);
	uint64_t warm = 0, seen = 0;
	int rc = 0;

	if (a->last.n && !pages) {
		rc = -ENOMEM;
		goto out;
	}
	in->pages_4k = a->last.n;
	in->pages_2m = a->huge.n;
	if (!in->records)
		in->lo = 0;
	in->nregions = nw_trace_regions(pages, a->last.n, NULL, 0);
	in->regions = calloc(in->nregions ? in->nregions : 1, sizeof(*in->regions));
	if (!in->regions) {
		rc = -ENOMEM;
		goto out;
	}
	nw_trace_regions(pages, a->last.n, in->regions, in->nregions);
	for (unsigned b = 0; b < NW_REUSE_COLD; b++)
		warm += in->reuse[b];
	/* The median's rank among the warm accesses: exact while it falls
	 * below NW_REUSE_EXACT, else the bucket it falls in. */
	for (unsigned d = 0; d < NW_REUSE_EXACT && warm; d++) {
		seen += a->exact[d];
		if (seen * 2 >= warm) {
			in->reuse_median = d;
			break;
		}
	}
	if (warm && seen * 2 < warm) {
		seen = 0;
		for (unsigned b = 0; b < NW_REUSE_COLD; b++) {
			seen += in->reuse[b];
			if (seen * 2 >= warm) {
				in->reuse_median = nw_reuse_bucket_low(b);
				break;
			}
		}
	}
	*info = *in;
	in->regions = NULL;
out:
	free(pages);
	nw_pagemap_fini(&a->last);
	nw_pagemap_fini(&a->huge);
	free(a->bit);
	free(in->regions);
	free(a);
	return rc;
}

void nw_trace_info_fini(struct nw_trace_info *info)
{
	free(info->regions);
	info->regions = NULL;
	info->nregions = 0;
}
