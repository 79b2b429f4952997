/*
 * suite_table.c - the `table` suite: nw_pt_map, nw_pt_unmap and
 * nw_pt_protect throughput on x86-64 4-level tables, against a memset of the
 * same bytes (8 per entry) measured in the same benchmark.
 *
 *	table/<map|unmap|protect>/<4k|2m|1g>/<entries>
 *
 * Each iteration changes <entries> leaves of one size with one call; the
 * undo (unmap after map, map before unmap) runs with the timer paused.
 * items_per_second is entries per second; memset_ratio is this operation's
 * bandwidth (8 bytes per entry) over memset's, 1.0 meaning as fast as
 * memset.
 */
#define _POSIX_C_SOURCE 200809L
#include "suites.h"

#include "gbench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum table_op { TABLE_MAP, TABLE_UNMAP, TABLE_PROTECT };

struct table_case {
	enum table_op op;
	unsigned level;  /* NW_MAP_MAX_4K, _2M, _1G: also the leaf level */
};

static struct table_case table_cases[9];

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void bm_table(struct nw_gb_state *st, void *user)
{
	const struct table_case *c = user;
	uint64_t n = (uint64_t)nw_gb_state_range(st, 0);
	uint64_t len = n << (12 + 9 * (c->level - 1));
	struct nw_arena_cfg ac = {.size = 256ull << 20, .maxphyaddr = 46};
	struct nw_attr rw = {.prot = NW_PROT_RWX}, ro = {.prot = NW_PROT_R};
	struct nw_mem *mem;
	struct nw_fmt fmt;
	struct nw_pt pt;
	double op_s = 0, t;
	int64_t iters = 0;
	int rc = 0;

	if (nw_arena_create(&ac, &mem) < 0) {
		nw_gb_skip_with_error(st, "no arena");
		return;
	}
	nw_fmt_x86_init(&fmt, 46, 0);
	struct nw_pt_cfg pc = {.fmt = &fmt, .mem = mem, .levels = 4, .linear = true};
	nw_pt_init(&pt, &pc);
	if (c->op != TABLE_MAP)
		rc = nw_pt_map(&pt, 0, 0, len, &rw, c->level, NULL);
	while (rc == 0 && nw_gb_keep_running(st)) {
		t = now_s();
		switch (c->op) {
		case TABLE_MAP:
			rc = nw_pt_map(&pt, 0, 0, len, &rw, c->level, NULL);
			break;
		case TABLE_UNMAP:
			rc = nw_pt_unmap(&pt, 0, len, NULL);
			break;
		case TABLE_PROTECT:
			rc = nw_pt_protect(&pt, 0, len, (iters & 1) ? &rw : &ro, NULL);
			break;
		}
		op_s += now_s() - t;
		iters++;
		if (c->op == TABLE_PROTECT || rc)
			continue;
		nw_gb_pause_timing(st);
		rc = c->op == TABLE_MAP ? nw_pt_unmap(&pt, 0, len, NULL)
					: nw_pt_map(&pt, 0, 0, len, &rw, c->level, NULL);
		nw_gb_resume_timing(st);
	}
	nw_pt_destroy(&pt);
	nw_mem_destroy(mem);
	if (rc) {
		nw_gb_skip_with_error(st, "the table operation failed");
		return;
	}

	/* The same bytes with memset, as many times. */
	size_t bytes = (size_t)n * 8;
	char *buf = malloc(bytes);

	if (!buf)
		return;
	memset(buf, 1, bytes);
	t = now_s();
	for (int64_t i = 0; i < iters; i++) {
		memset(buf, (int)i, bytes);
		nw_gb_do_not_optimize(buf);
	}
	double ms = now_s() - t;

	free(buf);
	nw_gb_set_items_processed(st, iters * (int64_t)n);
	nw_gb_set_bytes_processed(st, iters * (int64_t)bytes);
	nw_gb_counter(st, "memset_bytes_per_second", (double)bytes * (double)iters / ms, 0, 1024);
	nw_gb_counter(st, "memset_ratio", op_s > 0 ? ms / op_s : 0, 0, 0);
}

void nw_bench_table_register(void)
{
	static const char *const op[] = {"map", "unmap", "protect"};
	static const char *const sz[] = {"", "4k", "2m", "1g"};
	char name[64];
	int k = 0;

	for (int o = 0; o < 3; o++)
		for (unsigned l = NW_MAP_MAX_4K; l <= NW_MAP_MAX_1G; l++) {
			struct table_case *c = &table_cases[k++];
			struct nw_gb_bench *b;

			*c = (struct table_case){(enum table_op)o, l};
			snprintf(name, sizeof(name), "table/%s/%s", op[o], sz[l]);
			b = nw_gb_register(name, bm_table, c);
			/* 512 entries fill one table; 1G leaves stop at 512 GiB. */
			nw_gb_range_multiplier(b, 8);
			nw_gb_range(b, 512, l == NW_MAP_MAX_1G ? 512 : 32768);
		}
}
