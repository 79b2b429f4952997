/* SPDX-License-Identifier: MIT */
#ifndef NW_CLI_HW_SWEEP_H
#define NW_CLI_HW_SWEEP_H

/*
 * nestwalk hw's pieces: hw.c parses the options and writes the JSON,
 * hw_sweep.c measures every kind at each working set, hw_penalty.c derives
 * the walk penalties, hw_print.c prints the table.
 */

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "cli.h"
#include "hw.h"

#define HW_MAX_ROUNDS 101

struct hw_opts {
	uint64_t min, max;
	bool kind[NW_HW_NKINDS];
	unsigned samples;
	unsigned rounds;
	bool paired;          /* rounds time whole passes; penalties are paired */
	unsigned calibrate;   /* repetitions of the latency calibration, 0: none */
	unsigned lines;       /* nodes per 4 KiB page */
	int core;
	bool may_reserve;
	bool json_stdout;
	const char *out;
	const char *gpa_out;  /* PREFIX: each 4k point's frame numbers to PREFIX-<ws>.gpa */
	bool quiet;
	const char *event[NW_PERF_NWALK];
};

struct hw_run {
	const struct hw_opts *o;
	json_t *context;
	json_t *calib_rounds;   /* --paired --calibrate: one entry per working set */
	double l2_cycles, llc_cycles; /* the host preset's, for nw_hw_calib_derive */
	struct nw_perf_group perf;
	double ghz;
	struct cli_progress prog;
	uint64_t done, total; /* samples */
	uint64_t loads;       /* loads per sample */
};

/* hw_sweep.c: every kind at ws, appended to points; --calibrate's JSON
 * object (or an {"error": ...} one); the median of v[0..n) and the qsort
 * order of doubles. */
void cli_hw_measure_ws(struct hw_run *r, uint64_t ws, json_t *points);
json_t *cli_hw_calibrate(const struct hw_run *r);
double cli_hw_median(const double *v, unsigned n);
int cli_hw_cmp_double(const void *a, const void *b);

/* hw_penalty.c: a point's ns per access (NAN: none), and the walk
 * penalties of every working set. */
double cli_hw_point_ns(json_t *points, enum nw_hw_kind kind, uint64_t ws);
json_t *cli_hw_penalties(json_t *points, const struct hw_opts *o);

/* hw_print.c: the sweep as a table on stdout; one calibration's line. */
void cli_hw_print_table(json_t *hw, const struct hw_opts *o);
void cli_hw_print_calib(const char *when, json_t *c);

/* hw.c: bytes as "64K", "2M", "1G". */
void cli_hw_size_name(char *buf, size_t n, uint64_t bytes);

#endif
