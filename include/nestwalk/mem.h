/* SPDX-License-Identifier: MIT */
#ifndef NESTWALK_MEM_H
#define NESTWALK_MEM_H

/*
 * Physical memory backends.
 *
 * Every page table nestwalk builds lives in 4 KiB frames handed out by a
 * backend, addressed by host-physical address (HPA). The backend maps an HPA
 * to a pointer, so a hypervisor that plugs in its own backend gets tables its
 * CPU could load as they are.
 *
 * Accounting and fault injection live here, above the backend, so every
 * backend gets them for free:
 *
 *	struct nw_mem *mem;
 *	struct nw_arena_cfg cfg = { .size = 1ull << 30, .maxphyaddr = 46 };
 *	if (nw_arena_create(&cfg, &mem) < 0) ...
 *	uint64_t hpa;
 *	if (nw_mem_alloc(mem, &hpa) == 0) {
 *		uint64_t *e = nw_mem_map(mem, hpa);
 *		...
 *		nw_mem_free(mem, hpa);
 *	}
 *	nw_mem_destroy(mem);
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NW_PAGE_SHIFT 12
#define NW_PAGE_SIZE (1ull << NW_PAGE_SHIFT)
#define NW_PAGE_MASK (~(NW_PAGE_SIZE - 1))

/* Architectural bounds of MAXPHYADDR (CPUID.80000008H:EAX[7:0]). */
#define NW_MAXPHYADDR_MIN 36
#define NW_MAXPHYADDR_MAX 52

struct nw_mem;

/* What a backend implements. Frames are 4 KiB and 4 KiB aligned. */
struct nw_mem_ops {
	/* Hand out one zeroed frame: 0 and its HPA, or -ENOMEM. */
	int (*alloc)(struct nw_mem *mem, uint64_t *hpa);
	/* Take back a frame that alloc handed out. */
	void (*free)(struct nw_mem *mem, uint64_t hpa);
	/* Pointer to the byte at hpa, or NULL when hpa is not backed. */
	void *(*map)(struct nw_mem *mem, uint64_t hpa);
	/* Release the backend itself (optional). */
	void (*destroy)(struct nw_mem *mem);
	/*
	 * Hand out one frame whose contents are unspecified (optional): for a
	 * caller that writes every byte before anything reads it, and so need
	 * not pay for zeroing. Without it nw_mem_alloc_uninit calls alloc.
	 */
	int (*alloc_uninit)(struct nw_mem *mem, uint64_t *hpa);
};

struct nw_mem {
	const struct nw_mem_ops *ops; /* the backend */
	unsigned maxphyaddr;          /* physical address width, 36..52 */
	uint64_t frames_in_use;       /* frames handed out and not yet freed */
	uint64_t frames_peak;         /* high-water mark of frames_in_use */
	uint64_t alloc_calls;         /* allocation attempts, failed ones included */
	uint64_t fail_at;             /* fault injection: fail attempt number fail_at; 0 = off */
	/*
	 * The direct window (optional, see nw_mem_set_direct): HPAs
	 * [direct_hpa, direct_hpa + direct_size) live at direct_base, so map()
	 * and the plain accessor need no call through ops there.
	 */
	uint8_t *direct_base;
	uint64_t direct_hpa;
	uint64_t direct_size;         /* 0: no window, every map() calls the backend */
};

/* For backend authors: fill in the common part. */
int nw_mem_init(struct nw_mem *mem, const struct nw_mem_ops *ops, unsigned maxphyaddr);

/* Allocate one zeroed frame, with accounting and fault injection. */
int nw_mem_alloc(struct nw_mem *mem, uint64_t *hpa);
/* The same, with the same accounting and fault injection, for a frame the
 * caller will overwrite whole: its contents are unspecified when the
 * backend has alloc_uninit, zero otherwise. */
int nw_mem_alloc_uninit(struct nw_mem *mem, uint64_t *hpa);
void nw_mem_free(struct nw_mem *mem, uint64_t hpa);

/*
 * For backends whose memory is one contiguous mapping: declare that HPAs
 * [hpa, hpa + size) live at base, with map() returning exactly base + (x -
 * hpa) for them. Walks and table operations then reach entries with a
 * subtraction instead of two indirect calls. Call after nw_mem_init.
 */
static inline void nw_mem_set_direct(struct nw_mem *mem, void *base, uint64_t hpa, uint64_t size)
{
	mem->direct_base = base;
	mem->direct_hpa = hpa;
	mem->direct_size = size;
}

/* The direct window's pointer for hpa, or NULL when hpa is outside it. */
static inline void *nw_mem_direct(const struct nw_mem *mem, uint64_t hpa)
{
	uint64_t off = hpa - mem->direct_hpa;

	return off < mem->direct_size ? mem->direct_base + off : NULL;
}

static inline void *nw_mem_map(struct nw_mem *mem, uint64_t hpa)
{
	void *p = nw_mem_direct(mem, hpa);

	return p ? p : mem->ops->map(mem, hpa);
}

/*
 * Make the n-th allocation attempt from now fail with -ENOMEM (n >= 1), once.
 * n = 0 switches fault injection off. Tests sweep n = 1, 2, ... to fail each
 * allocation of an operation in turn.
 */
void nw_mem_fail_nth(struct nw_mem *mem, uint64_t n);

void nw_mem_destroy(struct nw_mem *mem);

/*
 * The default backend: one sparse mmap(MAP_NORESERVE) region, a frame
 * allocator with a free list, and HPA = base_hpa + offset. Only frames that
 * are touched cost memory. Frame 0 of the region is never handed out, so a
 * zero HPA can never name a table.
 */
struct nw_arena_cfg {
	uint64_t size;       /* bytes of HPA space; a multiple of 4 KiB */
	uint64_t base_hpa;   /* HPA of the first byte; 4 KiB aligned, often 0 */
	unsigned maxphyaddr; /* 36..52; base_hpa + size must fit below it */
};

int nw_arena_create(const struct nw_arena_cfg *cfg, struct nw_mem **out);

#endif
