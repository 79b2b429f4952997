/* SPDX-License-Identifier: MIT */
/*
 * The plain accessor. Loads and stores are 8-byte atomics so that an entry
 * is never seen half-written, as on hardware, where the CPU's walker may read
 * an entry while software updates it.
 *
 * A malformed entry can send a walk to an address no frame backs. Such reads
 * return all ones, as a read that ends in a master abort does on a PC, and
 * such writes are dropped: a garbage table never crashes the walker.
 */

#include <nestwalk/acc.h>
#include <nestwalk/mem.h>

static uint64_t *plain_slot(void *ctx, uint64_t pa)
{
	return nw_mem_map(ctx, pa);
}

#define UNBACKED_READ (~0ull)

static uint64_t plain_read(void *ctx, uint64_t pa)
{
	uint64_t *p = plain_slot(ctx, pa);
	return p ? __atomic_load_n(p, __ATOMIC_RELAXED) : UNBACKED_READ;
}

static void plain_write(void *ctx, uint64_t pa, uint64_t val)
{
	uint64_t *p = plain_slot(ctx, pa);
	if (p)
		__atomic_store_n(p, val, __ATOMIC_RELEASE);
}

static bool plain_cmpxchg(void *ctx, uint64_t pa, uint64_t *old, uint64_t val)
{
	uint64_t *p = plain_slot(ctx, pa);
	if (!p) {
		*old = 0; /* nothing there: callers see a non-present entry and stop */
		return false;
	}
	return __atomic_compare_exchange_n(p, old, val, false, __ATOMIC_ACQ_REL,
					   __ATOMIC_RELAXED);
}

/* acc.h's inline helpers repeat these loads and stores in the direct window. */
const struct nw_acc_ops nw_acc_plain_ops = {
	.read = plain_read,
	.write = plain_write,
	.cmpxchg = plain_cmpxchg,
};

void nw_acc_plain(struct nw_acc *acc, struct nw_mem *mem)
{
	acc->ops = &nw_acc_plain_ops;
	acc->ctx = mem;
}
