/* SPDX-License-Identifier: MIT */
/* The memory backend: the arena, accounting and fault injection. */

#include <errno.h>
#include <string.h>

#include "nw_test.h"

static void test_arena_rejects_bad_config(void **state)
{
	struct nw_mem *mem = NULL;
	struct nw_arena_cfg cfg = { .size = 1 << 20, .maxphyaddr = 46 };

	cfg.size = 4096 + 1;
	assert_int_equal(nw_arena_create(&cfg, &mem), -EINVAL);
	cfg.size = 4096; /* only frame 0, which is never handed out */
	assert_int_equal(nw_arena_create(&cfg, &mem), -EINVAL);
	cfg.size = 1 << 20;
	cfg.maxphyaddr = 35;
	assert_int_equal(nw_arena_create(&cfg, &mem), -EINVAL);
	cfg.maxphyaddr = 53;
	assert_int_equal(nw_arena_create(&cfg, &mem), -EINVAL);
	cfg.maxphyaddr = 36;
	cfg.base_hpa = (1ull << 36) - 4096; /* the region would end beyond MAXPHYADDR */
	assert_int_equal(nw_arena_create(&cfg, &mem), -ERANGE);
	cfg.base_hpa = 0x800; /* misaligned */
	assert_int_equal(nw_arena_create(&cfg, &mem), -EINVAL);
	assert_null(mem);
}

static void test_arena_frames(void **state)
{
	struct nw_arena_cfg cfg = { .size = 16 * 4096, .base_hpa = 1ull << 32, .maxphyaddr = 40 };
	struct nw_mem *mem = NULL;
	uint64_t hpa[16];

	assert_int_equal(nw_arena_create(&cfg, &mem), 0);
	/* Frame 0 of the region is never handed out: 15 frames, then -ENOMEM. */
	for (int i = 0; i < 15; i++) {
		assert_int_equal(nw_mem_alloc(mem, &hpa[i]), 0);
		assert_true(hpa[i] > cfg.base_hpa);
		assert_true(hpa[i] < cfg.base_hpa + cfg.size);
		assert_int_equal(hpa[i] & 4095, 0);
		uint8_t *p = nw_mem_map(mem, hpa[i]);
		assert_non_null(p);
		for (int b = 0; b < 4096; b++)
			assert_int_equal(p[b], 0);
		memset(p, 0xa5, 4096);
	}
	assert_int_equal(nw_mem_alloc(mem, &hpa[15]), -ENOMEM);
	assert_int_equal(mem->frames_in_use, 15);
	assert_int_equal(mem->frames_peak, 15);

	/* Freed frames come back, zeroed, before anything else. */
	nw_mem_free(mem, hpa[3]);
	nw_mem_free(mem, hpa[7]);
	assert_int_equal(mem->frames_in_use, 13);
	uint64_t a, b;
	assert_int_equal(nw_mem_alloc(mem, &a), 0);
	assert_int_equal(nw_mem_alloc(mem, &b), 0);
	assert_true((a == hpa[3] && b == hpa[7]) || (a == hpa[7] && b == hpa[3]));
	uint8_t *p = nw_mem_map(mem, a);
	for (int i = 0; i < 4096; i++)
		assert_int_equal(p[i], 0);
	assert_int_equal(mem->frames_peak, 15);

	/* HPAs outside the region are not backed. */
	assert_null(nw_mem_map(mem, cfg.base_hpa - 4096));
	assert_null(nw_mem_map(mem, cfg.base_hpa + cfg.size));
	nw_mem_destroy(mem);
}

static void test_fail_nth(void **state)
{
	struct nw_mem *mem = nw_test_arena(1 << 20, 46);
	uint64_t h[4];

	nw_mem_fail_nth(mem, 3);
	assert_int_equal(nw_mem_alloc(mem, &h[0]), 0);
	assert_int_equal(nw_mem_alloc(mem, &h[1]), 0);
	assert_int_equal(nw_mem_alloc(mem, &h[2]), -ENOMEM);
	/* Only once: the next attempt succeeds. */
	assert_int_equal(nw_mem_alloc(mem, &h[3]), 0);
	assert_int_equal(mem->frames_in_use, 3);
	assert_int_equal(mem->alloc_calls, 4);

	nw_mem_fail_nth(mem, 1);
	nw_mem_fail_nth(mem, 0); /* off again */
	assert_int_equal(nw_mem_alloc(mem, &h[2]), 0);
	nw_mem_destroy(mem);
}

/*
 * nw_mem_alloc_uninit counts and fails like nw_mem_alloc; the arena hands
 * back a recycled frame as it was (its user overwrites it), nw_mem_alloc
 * always zeroed, and a backend without alloc_uninit zeroed too.
 */
static void test_alloc_uninit(void **state)
{
	struct nw_mem *mem = nw_test_arena(1 << 20, 46);
	uint64_t h, h2;

	assert_int_equal(nw_mem_alloc_uninit(mem, &h), 0);
	memset(nw_mem_map(mem, h), 0xa5, 4096);
	nw_mem_free(mem, h);
	assert_int_equal(nw_mem_alloc_uninit(mem, &h2), 0);
	assert_int_equal(h2, h);
	/* Not zeroed: the byte after the free list's link is still there. */
	assert_int_equal(((uint8_t *)nw_mem_map(mem, h2))[4095], 0xa5);
	nw_mem_free(mem, h2);
	assert_int_equal(nw_mem_alloc(mem, &h2), 0);
	assert_int_equal(h2, h);
	for (int i = 0; i < 4096; i++)
		assert_int_equal(((uint8_t *)nw_mem_map(mem, h2))[i], 0);
	nw_mem_fail_nth(mem, 2);
	assert_int_equal(nw_mem_alloc_uninit(mem, &h), 0);
	assert_int_equal(nw_mem_alloc_uninit(mem, &h), -ENOMEM);
	assert_int_equal(mem->alloc_calls, 5);
	assert_int_equal(mem->frames_in_use, 2);
	nw_mem_destroy(mem);
}

/* A backend of the caller's own: nw_mem_init gives it accounting too. */
struct tiny {
	struct nw_mem mem;
	uint8_t frames[4][4096] __attribute__((aligned(4096)));
	bool used[4];
};

static int tiny_alloc(struct nw_mem *m, uint64_t *hpa)
{
	struct tiny *t = (struct tiny *)m;
	for (int i = 1; i < 4; i++)
		if (!t->used[i]) {
			t->used[i] = true;
			memset(t->frames[i], 0, 4096);
			*hpa = (uint64_t)i << 12;
			return 0;
		}
	return -ENOMEM;
}

static void tiny_free(struct nw_mem *m, uint64_t hpa)
{
	((struct tiny *)m)->used[hpa >> 12] = false;
}

static void *tiny_map(struct nw_mem *m, uint64_t hpa)
{
	return hpa < 4 * 4096 ? &((struct tiny *)m)->frames[0][0] + hpa : NULL;
}

static void test_custom_backend(void **state)
{
	static const struct nw_mem_ops ops = { .alloc = tiny_alloc, .free = tiny_free, .map = tiny_map };
	static struct tiny t;
	uint64_t h;

	assert_int_equal(nw_mem_init(&t.mem, &ops, 20), -EINVAL);
	assert_int_equal(nw_mem_init(&t.mem, &ops, 39), 0);
	assert_int_equal(nw_mem_alloc(&t.mem, &h), 0);
	assert_int_equal(h, 4096);
	assert_int_equal(t.mem.frames_in_use, 1);
	nw_mem_free(&t.mem, h);
	assert_int_equal(t.mem.frames_in_use, 0);
	/* No alloc_uninit: nw_mem_alloc_uninit takes a zeroed frame from alloc. */
	t.frames[1][7] = 1;
	assert_int_equal(nw_mem_alloc_uninit(&t.mem, &h), 0);
	assert_int_equal(h, 4096);
	assert_int_equal(t.frames[1][7], 0);
	assert_int_equal(t.mem.frames_in_use, 1);
	nw_mem_free(&t.mem, h);
	nw_mem_destroy(&t.mem); /* no destroy op: a no-op */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_arena_rejects_bad_config),
		cmocka_unit_test(test_arena_frames),
		cmocka_unit_test(test_fail_nth),
		cmocka_unit_test(test_alloc_uninit),
		cmocka_unit_test(test_custom_backend),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
