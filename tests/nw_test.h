/* SPDX-License-Identifier: MIT */
#ifndef NW_TEST_H
#define NW_TEST_H

/* Shared scaffolding for the cmocka suites: set-up helpers and a seeded PRNG. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <nestwalk/nestwalk.h>

/* splitmix64: small, fast, and the same sequence on every machine. */
struct nw_rng {
	uint64_t s;
};

static inline uint64_t nw_rng_next(struct nw_rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in [0, n). */
static inline uint64_t nw_rng_below(struct nw_rng *r, uint64_t n)
{
	return n ? nw_rng_next(r) % n : 0;
}

/* An arena of `size` bytes at HPA 0 with the given MAXPHYADDR. */
static inline struct nw_mem *nw_test_arena(uint64_t size, unsigned maxphyaddr)
{
	struct nw_arena_cfg cfg = { .size = size, .base_hpa = 0, .maxphyaddr = maxphyaddr };
	struct nw_mem *mem = NULL;
	assert_int_equal(nw_arena_create(&cfg, &mem), 0);
	assert_non_null(mem);
	return mem;
}

/* The end of a test's arena: every frame must have come back. */
static inline void nw_test_arena_done(struct nw_mem *mem)
{
	assert_int_equal(mem->frames_in_use, 0);
	nw_mem_destroy(mem);
}

/* Fail, with nw_pt_check's reason, unless the tables are consistent. */
static inline void nw_test_pt_ok(const struct nw_pt *pt)
{
	char msg[256];

	if (nw_pt_check(pt, msg, sizeof(msg)))
		fail_msg("nw_pt_check: %s", msg);
}

#endif
