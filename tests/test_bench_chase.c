/* SPDX-License-Identifier: MIT */
/*
 * The chase layout is what docs/BENCHMARKS.md says it is: one cycle through
 * every 4 KiB group, `lines` distinct random lines per group visited before
 * the chain leaves it, offsets spread over all 64 lines, and the same seed
 * giving the same chain.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "nw_test.h"
#include "hw.h"

#define GROUP 4096u
#define LINE 64u

/* Follows the chain from c->start and checks the layout; returns 0 or the
 * number of the first rule broken. */
static int check_chain(const struct nw_chase *c, char *buf, size_t size, unsigned lines)
{
	size_t groups = size / GROUP;
	unsigned char *seen = calloc(groups, 1);
	uint64_t *lineset = calloc(groups, sizeof(uint64_t));
	void **p = c->start;
	int rule = 0;

	if (!seen || !lineset)
		return 99;
	if (c->nodes != groups * lines)
		rule = 1;
	for (size_t i = 0; !rule && i < c->nodes; i++) {
		size_t off = (size_t)((char *)p - buf), g = off / GROUP;
		unsigned line = (unsigned)(off % GROUP / LINE);

		if ((char *)p < buf || off >= size || off % LINE)
			rule = 2; /* a node outside the buffer or not at a line start */
		else if (i % lines == 0 ? seen[g] != 0 : seen[g] != i / lines % 255 + 1)
			rule = 3; /* a group entered twice, or left before its lines end */
		else if (lineset[g] & (1ull << line))
			rule = 4; /* a line visited twice */
		seen[g] = (unsigned char)(i / lines % 255 + 1);
		lineset[g] |= 1ull << line;
		p = *p;
	}
	if (!rule && p != c->start)
		rule = 5; /* not one cycle of c->nodes */
	free(seen);
	free(lineset);
	return rule;
}

/* Whether two chains over equal-sized buffers have the same layout. */
static bool same_layout(const char *a, const char *b, size_t size)
{
	for (size_t i = 0; i < size; i += LINE) {
		char *na = *(char *const *)(a + i), *nb = *(char *const *)(b + i);

		if ((na == NULL) != (nb == NULL) || (na && na - a != nb - b))
			return false;
	}
	return true;
}

static char *alloc_buf(size_t size)
{
	char *b = aligned_alloc(GROUP, size);

	assert_non_null(b);
	memset(b, 0, size);
	return b;
}

static void test_one_line_per_page(void **state)
{
	size_t size = 1u << 20, groups = size / GROUP;
	char *buf = alloc_buf(size);
	struct nw_chase c;
	uint64_t offsets = 0;
	size_t same_next = 0;
	void **p;

	assert_int_equal(nw_chase_build(&c, buf, size, 1, 0), 0);
	assert_int_equal(check_chain(&c, buf, size, 1), 0);
	/* The offsets spread: of 256 pages at random lines, far more than half
	 * of the 64 lines are used (1 - (63/64)^256 = 98% expected). */
	p = c.start;
	for (size_t i = 0; i < groups; i++) {
		offsets |= 1ull << ((uintptr_t)p % GROUP / LINE);
		/* The order is random: few hops go to the next page up. */
		if ((uintptr_t)*p / GROUP == (uintptr_t)p / GROUP + 1)
			same_next++;
		p = *p;
	}
	assert_true(__builtin_popcountll(offsets) >= 56);
	assert_true(same_next < groups / 16);
	/* Following the chain for a whole cycle comes back to the start. */
	assert_ptr_equal(nw_chase_follow(c.start, c.nodes), c.start);
	free(buf);
}

static void test_lines_grouped(void **state)
{
	size_t size = 256u << 10;
	char *buf = alloc_buf(size);
	struct nw_chase c;

	for (unsigned lines = 2; lines <= 64; lines *= 2) {
		memset(buf, 0, size);
		assert_int_equal(nw_chase_build(&c, buf, size, lines, 7), 0);
		assert_int_equal(c.lines, lines);
		assert_int_equal(check_chain(&c, buf, size, lines), 0);
	}
	assert_int_equal(nw_chase_build(&c, buf, size, 65, 7), -EINVAL);
	assert_int_equal(nw_chase_build(&c, buf, GROUP - 1, 1, 7), -EINVAL);
	free(buf);
}

static void test_seed_fixes_layout(void **state)
{
	size_t size = 512u << 10;
	char *a = alloc_buf(size), *b = alloc_buf(size);
	struct nw_chase ca, cb;

	assert_int_equal(nw_chase_build(&ca, a, size, 1, 0), 0);
	assert_int_equal(nw_chase_build(&cb, b, size, 1, 0), 0);
	/* Same offsets in both buffers: the layout does not depend on where
	 * (or on which page kind) the buffer lives. */
	assert_int_equal((char *)ca.start - a, (char *)cb.start - b);
	assert_true(same_layout(a, b, size));
	memset(b, 0, size);
	assert_int_equal(nw_chase_build(&cb, b, size, 1, 12345), 0);
	assert_false(same_layout(a, b, size));
	free(a);
	free(b);
}

struct offsets {
	size_t *off;
	size_t n, cap;
};

static void record(void *arg, size_t off)
{
	struct offsets *o = arg;

	if (o->n < o->cap)
		o->off[o->n] = off;
	o->n++;
}

/* Whether following the chain from its start visits offs in order, back to the start. */
static bool chain_is(const struct nw_chase *c, const char *buf, const struct offsets *o)
{
	void **p = c->start;

	if (o->n != c->nodes)
		return false;
	for (size_t i = 0; i < o->n; i++, p = *p)
		if ((size_t)((char *)p - buf) != o->off[i])
			return false;
	return p == c->start;
}

/* nw_chase_layout (what the model suite replays) is the chain nw_chase_build
 * links, node for node; another seed is not (the control). */
static void test_layout_is_the_chain(void **state)
{
	size_t size = 1u << 20;
	char *buf = alloc_buf(size);
	struct nw_chase c;
	struct offsets o = { .cap = size / LINE };

	o.off = calloc(o.cap, sizeof(*o.off));
	assert_non_null(o.off);
	for (unsigned lines = 1; lines <= 4; lines++) {
		memset(buf, 0, size);
		assert_int_equal(nw_chase_build(&c, buf, size, lines, 0), 0);
		o.n = 0;
		assert_int_equal(nw_chase_layout(size, lines, 0, record, &o), 0);
		assert_true(chain_is(&c, buf, &o));
		o.n = 0;
		assert_int_equal(nw_chase_layout(size, lines, 99, record, &o), 0);
		assert_false(chain_is(&c, buf, &o));
	}
	assert_int_equal(nw_chase_layout(size, 65, 0, record, &o), -EINVAL);
	free(o.off);
	free(buf);
}

/* Negative control: a chain with one pointer redirected must fail the check. */
static void test_control_corrupt_chain_detected(void **state)
{
	size_t size = 256u << 10;
	char *buf = alloc_buf(size);
	struct nw_chase c;
	void **p;

	assert_int_equal(nw_chase_build(&c, buf, size, 1, 0), 0);
	p = c.start;
	for (int i = 0; i < 10; i++)
		p = *p;
	*p = c.start; /* a short cycle of 11 nodes */
	assert_int_not_equal(check_chain(&c, buf, size, 1), 0);
	free(buf);
}

/*
 * The calibration's arithmetic: DRAM = flush - warm + the L2 hit, and the
 * LLC's share of the every-line chain by linear interpolation between the
 * LLC hit (plus the TLB cost warm carries) and DRAM. Controls: figures
 * where flushing made nothing slower, and a share outside [0, 1] clamped.
 */
static void test_calib_derive(void **state)
{
	(void)state;
	/* 2 GHz: L2 12 cycles = 6 ns, LLC 46 cycles = 23 ns; warm 8 ns means a
	 * 2 ns TLB cost, so an LLC hit reads 25 ns and DRAM 106 ns. */
	struct nw_hw_calib c = {.reps = 3, .warm_ns = 8, .flush_ns = 108, .all_ns = 66.5};
	struct nw_hw_calib_model m;

	assert_int_equal(nw_hw_calib_derive(&c, 2.0, 12, 46, &m), 0);
	assert_true(fabs(m.dram_ns - 106) < 1e-9);
	assert_true(fabs(m.llc_hit - 0.5) < 1e-9); /* (108 - 66.5) / (108 - 25) */
	assert_int_equal(m.llc_bytes, 2u << 20);
	c.all_ns = 10; /* faster than an LLC hit: clamped to all of it */
	assert_int_equal(nw_hw_calib_derive(&c, 2.0, 12, 46, &m), 0);
	assert_true(m.llc_hit == 1.0);
	c.all_ns = 200; /* slower than DRAM: none of it */
	assert_int_equal(nw_hw_calib_derive(&c, 2.0, 12, 46, &m), 0);
	assert_true(m.llc_hit == 0.0);
	/* Controls: nonsense is refused. */
	c.flush_ns = 8;
	assert_int_equal(nw_hw_calib_derive(&c, 2.0, 12, 46, &m), -EINVAL);
	c.flush_ns = 108;
	assert_int_equal(nw_hw_calib_derive(&c, 0, 12, 46, &m), -EINVAL);
	assert_int_equal(nw_hw_calib_derive(&c, 2.0, 46, 12, &m), -EINVAL);
}

/* Physics, not a timing target: a chain whose lines were just flushed from
 * every cache level is slower than the same chain warm in L2, by far. */
static void test_calib_measure(void **state)
{
	struct nw_hw_calib c;
	char why[256] = "";

	(void)state;
	assert_int_equal(nw_hw_calibrate(&c, 0, why, sizeof(why)), -EINVAL);
	assert_int_equal(nw_hw_calibrate(&c, 3, why, sizeof(why)), 0);
	assert_int_equal(c.reps, 3);
	assert_true(c.warm_ns > 0 && c.all_ns > 0);
	assert_true(c.flush_ns > 2 * c.warm_ns);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_line_per_page),
		cmocka_unit_test(test_lines_grouped),
		cmocka_unit_test(test_seed_fixes_layout),
		cmocka_unit_test(test_layout_is_the_chain),
		cmocka_unit_test(test_control_corrupt_chain_detected),
		cmocka_unit_test(test_calib_derive),
		cmocka_unit_test(test_calib_measure),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
