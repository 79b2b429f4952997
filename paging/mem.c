/* SPDX-License-Identifier: MIT */
/* Accounting and fault injection common to every memory backend. */

#include <errno.h>

#include <nestwalk/mem.h>

int nw_mem_init(struct nw_mem *mem, const struct nw_mem_ops *ops, unsigned maxphyaddr)
{
	if (!mem || !ops || !ops->alloc || !ops->free || !ops->map)
		return -EINVAL;
	if (maxphyaddr < NW_MAXPHYADDR_MIN || maxphyaddr > NW_MAXPHYADDR_MAX)
		return -EINVAL;
	*mem = (struct nw_mem){ .ops = ops, .maxphyaddr = maxphyaddr };
	return 0;
}

static int mem_alloc(struct nw_mem *mem, uint64_t *hpa,
		     int (*alloc)(struct nw_mem *mem, uint64_t *hpa))
{
	mem->alloc_calls++;
	if (mem->fail_at && mem->alloc_calls == mem->fail_at) {
		mem->fail_at = 0;
		return -ENOMEM;
	}
	int rc = alloc(mem, hpa);
	if (rc < 0)
		return rc;
	if (++mem->frames_in_use > mem->frames_peak)
		mem->frames_peak = mem->frames_in_use;
	return 0;
}

int nw_mem_alloc(struct nw_mem *mem, uint64_t *hpa)
{
	return mem_alloc(mem, hpa, mem->ops->alloc);
}

int nw_mem_alloc_uninit(struct nw_mem *mem, uint64_t *hpa)
{
	return mem_alloc(mem, hpa, mem->ops->alloc_uninit ? mem->ops->alloc_uninit
							 : mem->ops->alloc);
}

void nw_mem_free(struct nw_mem *mem, uint64_t hpa)
{
	mem->ops->free(mem, hpa);
	mem->frames_in_use--;
}

void nw_mem_fail_nth(struct nw_mem *mem, uint64_t n)
{
	mem->fail_at = n ? mem->alloc_calls + n : 0;
}

void nw_mem_destroy(struct nw_mem *mem)
{
	if (mem && mem->ops->destroy)
		mem->ops->destroy(mem);
}
