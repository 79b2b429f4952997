/* SPDX-License-Identifier: MIT */
/*
 * Host-physical memory of a VM: the frames behind nested tables, and the
 * backing pages behind guest RAM, handed out in a seeded order so that a
 * mode that translated wrongly cannot find the right data by accident.
 */

#define _DEFAULT_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "vmm_internal.h"

static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static struct nw_hostmem *hm(struct nw_mem *m)
{
	return (struct nw_hostmem *)m;
}

static bool over_budget(const struct nw_hostmem *h, uint64_t frames)
{
	return h->budget && h->mem.frames_in_use + h->backing_frames + frames > h->budget;
}

static int table_alloc(struct nw_mem *m, uint64_t *hpa)
{
	struct nw_hostmem *h = hm(m);

	if (over_budget(h, 1))
		return -ENOMEM;
	if (h->table_free) {
		*hpa = h->table_free;
		memcpy(&h->table_free, h->base + *hpa, sizeof(uint64_t));
		memset(h->base + *hpa, 0, NW_PAGE_SIZE);
		return 0;
	}
	if (h->table_bump + NW_PAGE_SIZE > h->size)
		return -ENOMEM;
	*hpa = h->table_bump;
	h->table_bump += NW_PAGE_SIZE;
	return 0;
}

static void table_free(struct nw_mem *m, uint64_t hpa)
{
	struct nw_hostmem *h = hm(m);

	if (hpa < h->tables_lo || hpa >= h->table_bump)
		return;
	memcpy(h->base + hpa, &h->table_free, sizeof(uint64_t));
	h->table_free = hpa;
}

static void *host_map(struct nw_mem *m, uint64_t hpa)
{
	return nw_hostmem_ptr(hm(m), hpa);
}

static const struct nw_mem_ops hostmem_ops = {
	.alloc = table_alloc, .free = table_free, .map = host_map,
};

int nw_hostmem_init(struct nw_hostmem *h, uint64_t zone, uint64_t table_bytes,
		    uint64_t budget, uint64_t seed)
{
	memset(h, 0, sizeof(*h));
	/* The zone is whole 1 GiB chunks; the MMIO page and tables follow it. */
	h->zone_end = (zone + NW_LEVEL_SIZE(3) - 1) & ~(NW_LEVEL_SIZE(3) - 1);
	h->tables_lo = h->zone_end + NW_LEVEL_SIZE(2); /* a 2 MiB hole holds the MMIO page */
	h->size = h->tables_lo + table_bytes;
	h->table_bump = h->tables_lo;
	h->budget = budget;
	h->rng = seed;
	nw_mem_init(&h->mem, &hostmem_ops, 46);
	void *p = mmap(NULL, h->size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -ENOMEM;
	h->base = p;
	nw_mem_set_direct(&h->mem, p, 0, h->size); /* = nw_hostmem_ptr */
	return 0;
}

void nw_hostmem_fini(struct nw_hostmem *h)
{
	if (h->base)
		munmap(h->base, h->size);
	for (int l = 1; l <= 3; l++)
		free(h->free[l]);
	memset(h, 0, sizeof(*h));
}

static int push(struct nw_hostmem *h, int level, uint64_t hpa)
{
	if (h->nfree[level] == h->capfree[level]) {
		uint64_t cap = h->capfree[level] ? 2 * h->capfree[level] : 1024;
		uint64_t *p = realloc(h->free[level], cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		h->free[level] = p;
		h->capfree[level] = cap;
	}
	h->free[level][h->nfree[level]++] = hpa;
	return 0;
}

/* Split one page of level + 1 into 512 of `level`, in a shuffled order. */
static int refill(struct nw_hostmem *h, int level)
{
	uint64_t big;

	if (level == 3) {
		if (h->zone_next + NW_LEVEL_SIZE(3) > h->zone_end)
			return -ENOMEM;
		big = h->zone_next;
		h->zone_next += NW_LEVEL_SIZE(3);
		return push(h, 3, big);
	}
	if (!h->nfree[level + 1]) {
		int rc = refill(h, level + 1);
		if (rc < 0)
			return rc;
	}
	big = h->free[level + 1][--h->nfree[level + 1]];
	uint64_t first = h->nfree[level];
	for (unsigned i = 0; i < NW_ENTRIES_PER_TABLE; i++)
		if (push(h, level, big + i * NW_LEVEL_SIZE(level)) < 0)
			return -ENOMEM;
	/* Fisher-Yates over the new pieces: the order depends on the seed. */
	for (uint64_t i = h->nfree[level] - 1; i > first; i--) {
		uint64_t j = first + rng_next(&h->rng) % (i - first + 1);
		uint64_t t = h->free[level][i];
		h->free[level][i] = h->free[level][j];
		h->free[level][j] = t;
	}
	return 0;
}

int nw_hostmem_backing_alloc(struct nw_hostmem *h, int level, uint64_t *hpa)
{
	uint64_t frames = NW_LEVEL_SIZE(level) / NW_PAGE_SIZE;

	if (over_budget(h, frames))
		return -ENOMEM;
	if (!h->nfree[level]) {
		int rc = refill(h, level);
		if (rc < 0)
			return rc;
	}
	*hpa = h->free[level][--h->nfree[level]];
	h->backing_frames += frames;
	return 0;
}

void nw_hostmem_backing_free(struct nw_hostmem *h, int level, uint64_t hpa)
{
	/* Hand the memory back to the kernel: the page reads as zero again, as
	 * a fresh backing page must (no guest sees another's data). */
	madvise(h->base + hpa, NW_LEVEL_SIZE(level), MADV_DONTNEED);
	if (push(h, level, hpa) == 0)
		h->backing_frames -= NW_LEVEL_SIZE(level) / NW_PAGE_SIZE;
}
