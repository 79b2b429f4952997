/* SPDX-License-Identifier: MIT */
/*
 * How the guest kernel reaches its page tables: the nw_mem and nw_acc that
 * the radix engine uses for every guest table.
 *
 * Entries are read and written by the vCPU that makes the change, as
 * supervisor accesses at direct-map addresses, so every entry access goes
 * through that vCPU's MMU (and, under shadow paging, traps on a
 * write-protected table page). A new table frame comes from the kernel pool
 * and is cleared with the kernel's clear_page (rep stosq) through the direct
 * map. During boot, before paging is on, the same accesses are physical.
 *
 * Accessor calls cannot fail in the engine's interface. When one does (the
 * VM stopped), the error is kept, reads return a not-present entry so the
 * engine stops descending, writes are dropped, and the caller takes the
 * error with gptacc_take_err and gives up: the VM is dead anyway.
 */

#include <errno.h>

#include "guest_internal.h"

/* ---- private prototypes ---- */
static int acc_load(struct gacc *a, uint64_t pa, uint64_t *val);
static int acc_store(struct gacc *a, uint64_t pa, uint64_t val);

static void acc_fail(struct gacc *a, int rc)
{
	if (!a->err)
		a->err = rc < 0 ? rc : -EFAULT;
}

static int acc_load(struct gacc *a, uint64_t pa, uint64_t *val)
{
	if (a->phys)
		return nw_vcpu_phys_access(a->v, pa, NW_ACC_READ, val);
	return nw_vcpu_access(a->v, a->g->dmap + pa, NW_ACC_READ, val);
}

static int acc_store(struct gacc *a, uint64_t pa, uint64_t val)
{
	if (a->phys)
		return nw_vcpu_phys_access(a->v, pa, NW_ACC_WRITE, &val);
	return nw_vcpu_access(a->v, a->g->dmap + pa, NW_ACC_WRITE, &val);
}

static uint64_t vacc_read(void *ctx, uint64_t pa)
{
	struct gacc *a = ctx;
	uint64_t val = 0;

	if (a->err)
		return 0;
	int rc = acc_load(a, pa, &val);
	if (rc) {
		acc_fail(a, rc);
		return 0;
	}
	return val;
}

static void vacc_write(void *ctx, uint64_t pa, uint64_t val)
{
	struct gacc *a = ctx;

	if (a->err)
		return;
	if (!a->phys)
		a->g->st.pt_stores++;
	int rc = acc_store(a, pa, val);
	if (rc)
		acc_fail(a, rc);
}

/* One vCPU runs at a time in the model, so a load and a store are atomic. */
static bool vacc_cmpxchg(void *ctx, uint64_t pa, uint64_t *old, uint64_t val)
{
	uint64_t cur = vacc_read(ctx, pa);

	if (cur != *old) {
		*old = cur;
		return false;
	}
	vacc_write(ctx, pa, val);
	return true;
}

static const struct nw_acc_ops vacc_ops = {
	.read = vacc_read,
	.write = vacc_write,
	.cmpxchg = vacc_cmpxchg,
};

/* clear_page of a new table frame: rep stosq through the direct map, or 512
 * physical stores while paging is still off. */
static int clear_table(struct gacc *a, uint64_t gpa)
{
	if (!a->phys)
		return nw_vcpu_zero_page(a->v, a->g->dmap + gpa, NW_ACC_READ);
	for (uint64_t off = 0; off < NW_PAGE_SIZE; off += 8) {
		int rc = acc_store(a, gpa + off, 0);
		if (rc)
			return rc;
	}
	return 0;
}

static int gmem_alloc(struct nw_mem *mem, uint64_t *hpa)
{
	struct nw_guest *g = ((struct gmem *)mem)->g;
	uint64_t gpa;
	int rc;

	if (g->actx.err)
		return g->actx.err;
	if (gframes_alloc(&g->frames, GPOOL_KERNEL, NW_PAGE_4K, &gpa) < 0) {
		g->st.oom++;
		return -ENOMEM;
	}
	rc = clear_table(&g->actx, gpa);
	if (rc) {
		gframes_put(&g->frames, gpa);
		acc_fail(&g->actx, rc);
		return g->actx.err;
	}
	*hpa = gpa;
	return 0;
}

static void gmem_free(struct nw_mem *mem, uint64_t hpa)
{
	struct nw_guest *g = ((struct gmem *)mem)->g;

	if (gframes_in_pool(&g->frames, GPOOL_KERNEL, hpa))
		gframes_put(&g->frames, hpa);
}

/* Guest tables are not host-addressable: only the vCPU reaches them. */
static void *gmem_map(struct nw_mem *mem, uint64_t hpa)
{
	return NULL;
}

static const struct nw_mem_ops gmem_ops = {
	.alloc = gmem_alloc,
	.free = gmem_free,
	.map = gmem_map,
};

void gptacc_init(struct nw_guest *g)
{
	nw_mem_init(&g->mem.mem, &gmem_ops, g->fmt.maxphyaddr);
	g->mem.g = g;
	g->actx = (struct gacc){ .g = g };
	g->acc = (struct nw_acc){ .ops = &vacc_ops, .ctx = &g->actx };
}

struct nw_vcpu *gptacc_use(struct nw_guest *g, struct nw_vcpu *v)
{
	struct nw_vcpu *prev = g->actx.v;

	g->actx.v = v;
	return prev;
}

int gptacc_take_err(struct nw_guest *g)
{
	int rc = g->actx.err;

	g->actx.err = 0;
	return rc;
}
