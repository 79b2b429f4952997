/* SPDX-License-Identifier: MIT */
/*
 * The arena backend: one sparse MAP_NORESERVE mapping. Frames come first from
 * a free list threaded through the freed frames themselves, then from a bump
 * pointer, so memory is only touched as tables grow.
 */

#define _DEFAULT_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <nestwalk/mem.h>

struct nw_arena {
	struct nw_mem mem;  /* first, so a struct nw_mem * converts back */
	uint8_t *base;      /* the mapping */
	uint64_t size;      /* its length */
	uint64_t base_hpa;  /* HPA of base[0] */
	uint64_t bump;      /* offset of the first never-used frame */
	uint64_t free_head; /* offset of the first free frame, 0 = none */
};

static struct nw_arena *arena_of(struct nw_mem *mem)
{
	return (struct nw_arena *)mem;
}

static int arena_take(struct nw_mem *mem, uint64_t *hpa, bool zero)
{
	struct nw_arena *a = arena_of(mem);
	uint64_t off;

	if (a->free_head) {
		off = a->free_head;
		memcpy(&a->free_head, a->base + off, sizeof(a->free_head));
		if (zero)
			memset(a->base + off, 0, NW_PAGE_SIZE);
	} else if (a->bump + NW_PAGE_SIZE <= a->size) {
		/* Never-used frames of a fresh anonymous mapping are already zero. */
		off = a->bump;
		a->bump += NW_PAGE_SIZE;
	} else {
		return -ENOMEM;
	}
	*hpa = a->base_hpa + off;
	return 0;
}

static int arena_alloc(struct nw_mem *mem, uint64_t *hpa)
{
	return arena_take(mem, hpa, true);
}

/* A recycled frame keeps what it held: its next user overwrites it whole. */
static int arena_alloc_uninit(struct nw_mem *mem, uint64_t *hpa)
{
	return arena_take(mem, hpa, false);
}

static void arena_free(struct nw_mem *mem, uint64_t hpa)
{
	struct nw_arena *a = arena_of(mem);
	uint64_t off = hpa - a->base_hpa;

	/* A frame the arena never handed out (a corrupted table): ignore it. */
	if (hpa < a->base_hpa || off >= a->bump || !off || (off & ~NW_PAGE_MASK))
		return;
	memcpy(a->base + off, &a->free_head, sizeof(a->free_head));
	a->free_head = off;
}

static void *arena_map(struct nw_mem *mem, uint64_t hpa)
{
	struct nw_arena *a = arena_of(mem);

	if (hpa < a->base_hpa || hpa - a->base_hpa >= a->size)
		return NULL;
	return a->base + (hpa - a->base_hpa);
}

static void arena_destroy(struct nw_mem *mem)
{
	struct nw_arena *a = arena_of(mem);

	munmap(a->base, a->size);
	free(a);
}

static const struct nw_mem_ops arena_ops = {
	.alloc = arena_alloc,
	.alloc_uninit = arena_alloc_uninit,
	.free = arena_free,
	.map = arena_map,
	.destroy = arena_destroy,
};

int nw_arena_create(const struct nw_arena_cfg *cfg, struct nw_mem **out)
{
	if (!cfg || !out || cfg->size < 2 * NW_PAGE_SIZE || (cfg->size & ~NW_PAGE_MASK) ||
	    (cfg->base_hpa & ~NW_PAGE_MASK))
		return -EINVAL;
	if (cfg->maxphyaddr < NW_MAXPHYADDR_MIN || cfg->maxphyaddr > NW_MAXPHYADDR_MAX)
		return -EINVAL;
	if (cfg->base_hpa + cfg->size < cfg->base_hpa ||
	    cfg->base_hpa + cfg->size > (1ull << cfg->maxphyaddr))
		return -ERANGE;

	struct nw_arena *a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	void *p = mmap(NULL, cfg->size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		free(a);
		return -ENOMEM;
	}
	nw_mem_init(&a->mem, &arena_ops, cfg->maxphyaddr);
	a->base = p;
	a->size = cfg->size;
	a->base_hpa = cfg->base_hpa;
	a->bump = NW_PAGE_SIZE; /* frame 0 is never handed out */
	nw_mem_set_direct(&a->mem, a->base, a->base_hpa, a->size); /* = arena_map */
	*out = &a->mem;
	return 0;
}
