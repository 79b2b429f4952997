/*
 * calib.c - the memory latencies the model needs, measured with the chase
 * itself where no page walk takes part.
 *
 * Every chain here lives in one 4 MiB buffer of 4 KiB pages: 1024 pages,
 * half the L2 DTLB's 4 KiB reach on the CPUs this project targets (at the
 * full reach, 8 MiB, set conflicts already make some loads walk: see the
 * 4K curve in docs/BENCHMARKS.md), so after the warm-up every load is an
 * L1 DTLB miss that hits the L2 DTLB and never walks. Three chains:
 *
 *   warm   one random line in each of the 1024 pages, in random page order
 *          (64 KiB of lines: L2-resident), timed warm (its pointers are
 *          the lines' second quadwords, so it lives beside `all`);
 *   flush  the same chain, each timed pass after clflush of all its lines:
 *          every load goes to DRAM;
 *   all    every line of the 4 MiB once, in one random order over lines
 *          (not grouped by page, so no stride for a prefetcher): its
 *          latency says how much of 4 MiB the LLC keeps for this core now.
 *
 * warm and flush pay the same L2 DTLB hit, so flush - warm + (the L2's
 * hit latency) is the DRAM latency alone.
 */
#define _GNU_SOURCE
#include "hw_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define CAL_BYTES ((size_t)4 << 20)
#define CAL_PAGES (CAL_BYTES / NW_CHASE_GROUP)
#define CAL_LINES (CAL_BYTES / NW_CHASE_LINE)
#define CAL_SEED 0x63616c6962726174ull /* "calibrat" */

/* ---- private prototypes ---- */
static uint64_t mix(uint64_t *s);
static void shuffle(uint32_t *v, size_t n, uint64_t *s);
static void link_lines(char *base, const uint32_t *line, size_t n, size_t at);
static double time_pass(void **start, size_t n);
static void flush_chain(void **start, size_t n);
static double median(double *v, unsigned n);

int nw_hw_calib_open(struct nw_hw_calib_probe *cp, char *why, size_t n)
{
	uint32_t *line;
	uint64_t s = CAL_SEED;
	char *base;
	int err;

	memset(cp, 0, sizeof(*cp));
#if !defined(__x86_64__)
	nw_why(why, n, "calibration needs clflush (x86-64 only)");
	return -ENOTSUP;
#endif
	if ((err = nw_hw_buf_map(&cp->buf, NW_HW_4K, CAL_BYTES, false, why, n)))
		return err;
	line = malloc(CAL_LINES * sizeof(*line));
	if (!line) {
		nw_hw_buf_unmap(&cp->buf);
		nw_why(why, n, "calibration: out of memory");
		return -ENOMEM;
	}
	base = cp->buf.base;
	memset(base, 0, CAL_BYTES);

	/* all: every line, one random order, the pointer at the line's start. */
	for (size_t i = 0; i < CAL_LINES; i++)
		line[i] = (uint32_t)i;
	shuffle(line, CAL_LINES, &s);
	link_lines(base, line, CAL_LINES, 0);
	cp->all = (void **)(base + (size_t)line[0] * NW_CHASE_LINE);

	/* warm and flush: a random page order, a random line in each page,
	 * the pointer in the line's second quadword (the same lines as
	 * `all`, which leaves them alone). */
	for (size_t i = 0; i < CAL_PAGES; i++)
		line[i] = (uint32_t)i;
	shuffle(line, CAL_PAGES, &s);
	for (size_t i = 0; i < CAL_PAGES; i++)
		line[i] = line[i] * (NW_CHASE_GROUP / NW_CHASE_LINE) + (uint32_t)(mix(&s) % 64);
	link_lines(base, line, CAL_PAGES, sizeof(void *));
	cp->warm = (void **)(base + (size_t)line[0] * NW_CHASE_LINE + sizeof(void *));
	free(line);
	return 0;
}

int nw_hw_calib_measure(struct nw_hw_calib_probe *cp, unsigned reps, struct nw_hw_calib *c)
{
	double *warm, *flush, *all;

	memset(c, 0, sizeof(*c));
	if (reps == 0 || reps > 1000 || !cp->warm)
		return -EINVAL;
	warm = calloc(3 * (size_t)reps, sizeof(double));
	if (!warm)
		return -ENOMEM;
	flush = warm + reps;
	all = flush + reps;
	for (int i = 0; i < 2; i++)
		time_pass(cp->warm, CAL_PAGES);
	for (unsigned r = 0; r < reps; r++) {
		warm[r] = time_pass(cp->warm, CAL_PAGES);
		flush_chain(cp->warm, CAL_PAGES);
		flush[r] = time_pass(cp->warm, CAL_PAGES);
	}
	/* One pass to fill what the LLC will keep, then the timed ones. */
	time_pass(cp->all, CAL_LINES);
	for (unsigned r = 0; r < reps; r++)
		all[r] = time_pass(cp->all, CAL_LINES);
	c->reps = reps;
	c->warm_ns = median(warm, reps);
	c->flush_ns = median(flush, reps);
	c->all_ns = median(all, reps);
	free(warm);
	return 0;
}

void nw_hw_calib_close(struct nw_hw_calib_probe *cp)
{
	nw_hw_buf_unmap(&cp->buf);
	memset(cp, 0, sizeof(*cp));
}

int nw_hw_calibrate(struct nw_hw_calib *c, unsigned reps, char *why, size_t n)
{
	struct nw_hw_calib_probe cp;
	int err;

	memset(c, 0, sizeof(*c));
	if (reps == 0 || reps > 1000) {
		nw_why(why, n, "calibration: %u repetitions (want 1..1000)", reps);
		return -EINVAL;
	}
	if ((err = nw_hw_calib_open(&cp, why, n)))
		return err;
	err = nw_hw_calib_measure(&cp, reps, c);
	nw_hw_calib_close(&cp);
	if (err)
		nw_why(why, n, "calibration: %s", strerror(-err));
	return err;
}

int nw_hw_calib_derive(const struct nw_hw_calib *c, double ghz, double l2_cycles,
		       double llc_cycles, struct nw_hw_calib_model *m)
{
	if (!(ghz > 0) || !(l2_cycles > 0) || !(llc_cycles > l2_cycles) || !(c->flush_ns > c->warm_ns))
		return -EINVAL;
	/* Both chains pay the same L1 DTLB miss (an L2 DTLB hit). */
	double tlb_ns = c->warm_ns - l2_cycles / ghz;
	double llc_ns = llc_cycles / ghz + tlb_ns;
	double h = (c->flush_ns - c->all_ns) / (c->flush_ns - llc_ns);

	m->dram_ns = c->flush_ns - c->warm_ns + l2_cycles / ghz;
	m->llc_hit = h < 0 ? 0 : h > 1 ? 1 : h;
	m->llc_bytes = (uint64_t)(m->llc_hit * (double)CAL_BYTES);
	return 0;
}

/* ---- private ---- */

static uint64_t mix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Fisher-Yates. */
static void shuffle(uint32_t *v, size_t n, uint64_t *s)
{
	for (size_t i = n - 1; i > 0; i--) {
		size_t j = mix(s) % (i + 1);
		uint32_t t = v[i];

		v[i] = v[j];
		v[j] = t;
	}
}

/* One cyclic chain through the lines in the order given, each pointer at
 * byte `at` of its line and pointing at the next one's. */
static void link_lines(char *base, const uint32_t *line, size_t n, size_t at)
{
	for (size_t i = 0; i < n; i++)
		*(void **)(base + (size_t)line[i] * NW_CHASE_LINE + at) =
			base + (size_t)line[(i + 1) % n] * NW_CHASE_LINE + at;
}

/* ns per load over one whole pass of an n-node cycle (n a multiple of 16). */
static double time_pass(void **start, size_t n)
{
	uint64_t t0 = nw_hw_now_ns();
	void *p = nw_chase_follow(start, n);

	__asm__ __volatile__("" : "+r"(p));
	return (double)(nw_hw_now_ns() - t0) / (double)n;
}

static void flush_chain(void **start, size_t n)
{
#if defined(__x86_64__)
	void **p = start;

	for (size_t i = 0; i < n; i++) {
		void **next = *p;

		__builtin_ia32_clflush(p);
		p = next;
	}
	__builtin_ia32_mfence();
#else
	(void)start;
	(void)n;
#endif
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, unsigned n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}
