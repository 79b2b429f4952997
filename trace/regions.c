/* SPDX-License-Identifier: MIT */
/*
 * A trace's regions, and the names of its access kinds. A gap of more than
 * NW_TRACE_REGION_GAP between touched pages starts a new region: programs
 * leave far larger holes between text, heap, stack and libraries, and a
 * small one inside a region costs the replay nothing, as untouched pages
 * of a VMA are never faulted in.
 */

#include <nestwalk/trace.h>

#define PAGE_SHIFT 12

const char *nw_trace_kind_name(unsigned kind)
{
	static const char *const names[NW_TRACE_KINDS] = { "load", "store", "modify", "ifetch" };

	return kind < NW_TRACE_KINDS ? names[kind] : "?";
}

size_t nw_trace_regions(const uint64_t *pages, size_t n, struct nw_trace_region *out, size_t max)
{
	const uint64_t gap_pages = NW_TRACE_REGION_GAP >> PAGE_SHIFT;
	size_t nr = 0;

	for (size_t i = 0; i < n;) {
		size_t j = i + 1;
		while (j < n && pages[j] - pages[j - 1] <= gap_pages)
			j++;
		if (nr < max)
			out[nr] = (struct nw_trace_region){
				.start = pages[i] << PAGE_SHIFT,
				.end = (pages[j - 1] + 1) << PAGE_SHIFT,
				.pages = j - i,
			};
		nr++;
		i = j;
	}
	return nr;
}
