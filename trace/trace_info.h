/* SPDX-License-Identifier: MIT */
#ifndef NW_TRACE_INFO_H
#define NW_TRACE_INFO_H

/*
 * The figures of `nestwalk trace info`, accumulated over records as they
 * stream: memory follows the pages a trace touches, not its length.
 *
 *	struct nw_trace_info_acc *a;
 *	struct nw_trace_info in;
 *	nw_trace_info_begin(&a);
 *	nw_trace_info_add(a, recs, n);          // as often as needed
 *	nw_trace_info_end(a, &in);              // frees a
 *	...;
 *	nw_trace_info_fini(&in);
 */

#include <stddef.h>
#include <stdint.h>

#include <nestwalk/trace.h>

#define NW_REUSE_BUCKETS 34     /* 0, 1, 2-3, 4-7, ..., 2^32 and more, cold */
#define NW_REUSE_COLD (NW_REUSE_BUCKETS - 1)
#define NW_REUSE_EXACT 4096     /* distances counted one by one below this */

struct nw_trace_info {
	uint64_t records;
	uint64_t by_kind[NW_TRACE_KINDS];
	uint64_t bytes;                 /* sum of the access sizes */
	uint64_t pages_4k, pages_2m;    /* distinct pages touched */
	uint64_t lo, hi;                /* lowest and highest address touched */
	struct nw_trace_region *regions;
	size_t nregions;
	/*
	 * Reuse distance at 4 KiB granularity: for each access, the number of
	 * distinct other pages touched since the last access to its page.
	 * Bucket 0 counts 0, bucket b (1..32) counts [2^(b-1), 2^b), bucket
	 * NW_REUSE_COLD first touches.
	 */
	uint64_t reuse[NW_REUSE_BUCKETS];
	uint64_t reuse_median;          /* over the warm accesses: exact below
					   NW_REUSE_EXACT, else its bucket's lower bound */
};

struct nw_trace_info_acc;

/* Accumulate records, then finish into info (regions allocated). */
int nw_trace_info_begin(struct nw_trace_info_acc **out);
int nw_trace_info_add(struct nw_trace_info_acc *a, const struct nw_trace_rec *recs, size_t n);
int nw_trace_info_end(struct nw_trace_info_acc *a, struct nw_trace_info *info);
void nw_trace_info_fini(struct nw_trace_info *info);
/* The lower bound of a reuse bucket ("cold" has none: UINT64_MAX). */
uint64_t nw_reuse_bucket_low(unsigned b);

#endif
