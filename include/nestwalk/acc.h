/* SPDX-License-Identifier: MIT */
#ifndef NESTWALK_ACC_H
#define NESTWALK_ACC_H

/*
 * Entry accessors: every read and write of a page-table entry goes through
 * one of these. The table engine and the walkers never touch entries
 * directly, which lets
 *  - the guest OS model store through a vCPU (so shadow paging can trap),
 *  - an embedding hypervisor make single-store atomic updates and order its
 *    own flushes,
 *  - walkers log the reads they really made.
 */

#include <stdbool.h>
#include <stdint.h>

#include <nestwalk/mem.h>

struct nw_acc_ops {
	uint64_t (*read)(void *ctx, uint64_t pa);
	void (*write)(void *ctx, uint64_t pa, uint64_t val);
	/*
	 * Store val if the entry still holds *old and return true. Otherwise
	 * refresh *old with the current value and return false (callers retry).
	 */
	bool (*cmpxchg)(void *ctx, uint64_t pa, uint64_t *old, uint64_t val);
};

struct nw_acc {
	const struct nw_acc_ops *ops;
	void *ctx;
};

/* The default accessor: plain, single-copy-atomic 8-byte loads and stores in mem. */
void nw_acc_plain(struct nw_acc *acc, struct nw_mem *mem);

/*
 * The plain accessor's hooks. With them, ctx is a struct nw_mem, and the
 * inline helpers below make the same atomic loads and stores themselves
 * inside the memory's direct window (nw_mem_set_direct), with no call.
 */
extern const struct nw_acc_ops nw_acc_plain_ops;

/* The entry at pa, when acc is plain and pa lies in the direct window. */
static inline uint64_t *nw_acc_direct(const struct nw_acc *acc, uint64_t pa)
{
	return acc->ops == &nw_acc_plain_ops ? (uint64_t *)nw_mem_direct(acc->ctx, pa) : NULL;
}

static inline uint64_t nw_acc_read(const struct nw_acc *acc, uint64_t pa)
{
	uint64_t *p = nw_acc_direct(acc, pa);

	return p ? __atomic_load_n(p, __ATOMIC_RELAXED) : acc->ops->read(acc->ctx, pa);
}

static inline void nw_acc_write(const struct nw_acc *acc, uint64_t pa, uint64_t val)
{
	uint64_t *p = nw_acc_direct(acc, pa);

	if (p)
		__atomic_store_n(p, val, __ATOMIC_RELEASE);
	else
		acc->ops->write(acc->ctx, pa, val);
}

static inline bool nw_acc_cmpxchg(const struct nw_acc *acc, uint64_t pa, uint64_t *old,
				  uint64_t val)
{
	uint64_t *p = nw_acc_direct(acc, pa);

	if (p)
		return __atomic_compare_exchange_n(p, old, val, false, __ATOMIC_ACQ_REL,
						   __ATOMIC_RELAXED);
	return acc->ops->cmpxchg(acc->ctx, pa, old, val);
}

#endif
