/* SPDX-License-Identifier: MIT */
/*
 * The plain accessor. Loads and stores are 8-byte atomics so that an entry
 * is never seen half-written, as on hardware, where the CPU's walker may read
 * an entry while software updates it.
 */

#include <nestwalk/acc.h>
#include <nestwalk/mem.h>

static uint64_t *plain_slot(void *ctx, uint64_t pa)
{
	return nw_mem_map(ctx, pa);
}

static uint64_t plain_read(void *ctx, uint64_t pa)
{
	return __atomic_load_n(plain_slot(ctx, pa), __ATOMIC_RELAXED);
}

static void plain_write(void *ctx, uint64_t pa, uint64_t val)
{
	__atomic_store_n(plain_slot(ctx, pa), val, __ATOMIC_RELEASE);
}

static bool plain_cmpxchg(void *ctx, uint64_t pa, uint64_t *old, uint64_t val)
{
	return __atomic_compare_exchange_n(plain_slot(ctx, pa), old, val, false,
					   __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
}

static const struct nw_acc_ops plain_ops = {
	.read = plain_read,
	.write = plain_write,
	.cmpxchg = plain_cmpxchg,
};

void nw_acc_plain(struct nw_acc *acc, struct nw_mem *mem)
{
	acc->ops = &plain_ops;
	acc->ctx = mem;
}
