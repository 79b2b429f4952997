/* SPDX-License-Identifier: MIT */
#ifndef NESTWALK_TRACE_H
#define NESTWALK_TRACE_H

/*
 * Memory traces of real programs, as the guest replays them: the record,
 * the regions a trace touches (its replay's VMAs), and the interface
 * through which the runner reads records. The .nwt file format itself, the
 * valgrind lackey parser and `trace info` live in trace/nwt.h, a library of
 * the tools (it needs libzstd; this one needs libc only).
 *
 *	struct nw_run_cfg cfg;
 *	nw_run_cfg_default(&cfg);
 *	cfg.trace = &nw_nwt_source;            // trace/nwt.h
 *	nw_workload_parse("trace:sort.nwt:loops=2", &cfg.wl, err, sizeof(err));
 */

#include <stddef.h>
#include <stdint.h>

/* What an access does, as lackey names it (I, L, S, M). */
enum nw_trace_kind {
	NW_TRACE_LOAD = 0,
	NW_TRACE_STORE = 1,
	NW_TRACE_MODIFY = 2,    /* a load and a store of the same bytes */
	NW_TRACE_IFETCH = 3,
};
#define NW_TRACE_KINDS 4

struct nw_trace_rec {
	uint64_t addr;          /* virtual address of the first byte */
	uint32_t size;          /* bytes, 1.. */
	uint8_t kind;           /* enum nw_trace_kind */
};

/* "load", "store", "modify", "ifetch"; "?" for anything else. */
const char *nw_trace_kind_name(unsigned kind);

/*
 * The regions of a trace: runs of touched 4 KiB pages in which no two
 * neighbours are more than NW_TRACE_REGION_GAP apart, so the text, heap,
 * stack and each library come out as regions of their own, as a program's
 * VMAs would. pages: sorted, distinct 4 KiB page numbers (addr >> 12).
 * Writes at most max regions to out and returns how many there are.
 */
#define NW_TRACE_REGION_GAP (64u << 10)

struct nw_trace_region {
	uint64_t start, end;    /* [start, end), 4 KiB aligned */
	uint64_t pages;         /* 4 KiB pages touched in it */
};

size_t nw_trace_regions(const uint64_t *pages, size_t n, struct nw_trace_region *out, size_t max);

/*
 * Where the runner's trace workload gets its records (nw_run_cfg.trace).
 * open: a handle and the record count (UINT64_MAX when unknown), or a
 * negative errno with a one-line message naming the file; read: up to max
 * records, 0 at the end, or a negative errno with a message; rewind: back
 * to the first record; close: always succeeds.
 */
struct nw_trace_source {
	int (*open)(const char *path, void **h, uint64_t *count, char *err, size_t errlen);
	long (*read)(void *h, struct nw_trace_rec *out, size_t max, char *err, size_t errlen);
	int (*rewind)(void *h, char *err, size_t errlen);
	void (*close)(void *h);
};

#endif
