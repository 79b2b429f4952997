/* SPDX-License-Identifier: MIT */
/*
 * Guest-physical frames: a refcount per 4 KiB frame (shared pages of
 * copy-on-write hold one reference per mapping) and two pools.
 *
 *   [0, kernel_pool)     page-table frames (frame 0 is never handed out)
 *   [kernel_pool, ram)   user pages, 4 KiB or 2 MiB
 *
 * A pool is managed in 2 MiB blocks, each with a bitmap of its free
 * frames. 4 KiB allocations come from partly used blocks before whole free
 * ones, so whole blocks stay available for 2 MiB pages, as the buddy
 * allocator keeps high orders whole. A 2 MiB page is 512 frames of one
 * block, each with its own reference, so splitting its mapping needs no
 * bookkeeping.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "guest_internal.h"

#define FRAMES_PER_BLOCK 512u

enum { B_USED = 0, B_PARTIAL = 1, B_FREE = 2 };

/* ---- private prototypes ---- */
static int pool_init(struct gpool *p, uint64_t first_pfn, uint64_t nframes);
static void pool_fini(struct gpool *p);
static void block_link(struct gpool *p, int32_t b, uint8_t state);
static void block_unlink(struct gpool *p, int32_t b);
static void block_restate(struct gpool *p, int32_t b);

static void block_link(struct gpool *p, int32_t b, uint8_t state)
{
	p->state[b] = state;
	p->prev[b] = -1;
	p->next[b] = p->head[state];
	if (p->head[state] >= 0)
		p->prev[p->head[state]] = b;
	p->head[state] = b;
}

static void block_unlink(struct gpool *p, int32_t b)
{
	uint8_t s = p->state[b];

	if (p->prev[b] >= 0)
		p->next[p->prev[b]] = p->next[b];
	else
		p->head[s] = p->next[b];
	if (p->next[b] >= 0)
		p->prev[p->next[b]] = p->prev[b];
}

/* Move a block to the list its free count calls for. */
static void block_restate(struct gpool *p, int32_t b)
{
	uint8_t want = p->nfree[b] == 0 ? B_USED
		       : p->nfree[b] == FRAMES_PER_BLOCK ? B_FREE : B_PARTIAL;

	if (p->state[b] == want)
		return;
	block_unlink(p, b);
	block_link(p, b, want);
}

static int pool_init(struct gpool *p, uint64_t first_pfn, uint64_t nframes)
{
	memset(p, 0, sizeof(*p));
	p->first_pfn = first_pfn;
	p->nblocks = (uint32_t)(nframes / FRAMES_PER_BLOCK);
	p->head[B_USED] = p->head[B_PARTIAL] = p->head[B_FREE] = -1;
	if (!p->nblocks)
		return 0;
	p->nfree = calloc(p->nblocks, sizeof(*p->nfree));
	p->bits = calloc(p->nblocks, sizeof(*p->bits));
	p->next = calloc(p->nblocks, sizeof(*p->next));
	p->prev = calloc(p->nblocks, sizeof(*p->prev));
	p->state = calloc(p->nblocks, sizeof(*p->state));
	if (!p->nfree || !p->bits || !p->next || !p->prev || !p->state) {
		pool_fini(p);
		return -ENOMEM;
	}
	/* Link in reverse so the lowest block is handed out first. */
	for (int32_t b = (int32_t)p->nblocks - 1; b >= 0; b--) {
		p->nfree[b] = FRAMES_PER_BLOCK;
		memset(p->bits[b], 0xff, sizeof(p->bits[b]));
		block_link(p, b, B_FREE);
	}
	p->free_frames = (uint64_t)p->nblocks * FRAMES_PER_BLOCK;
	return 0;
}

static void pool_fini(struct gpool *p)
{
	free(p->nfree);
	free(p->bits);
	free(p->next);
	free(p->prev);
	free(p->state);
	memset(p, 0, sizeof(*p));
}

int gframes_init(struct gframes *f, uint64_t ram, uint64_t kernel_pool, uint64_t *used)
{
	uint64_t kframes = kernel_pool >> NW_PAGE_SHIFT;
	int rc;

	memset(f, 0, sizeof(*f));
	f->nframes = ram >> NW_PAGE_SHIFT;
	f->used = used;
	f->ref = calloc(f->nframes, sizeof(*f->ref));
	if (!f->ref)
		return -ENOMEM;
	rc = pool_init(&f->pool[GPOOL_KERNEL], 0, kframes);
	if (rc == 0)
		rc = pool_init(&f->pool[GPOOL_USER], kframes, f->nframes - kframes);
	if (rc < 0) {
		gframes_fini(f);
		return rc;
	}
	return 0;
}

void gframes_fini(struct gframes *f)
{
	pool_fini(&f->pool[GPOOL_KERNEL]);
	pool_fini(&f->pool[GPOOL_USER]);
	free(f->ref);
	f->ref = NULL;
}

static int alloc_frame(struct gframes *f, struct gpool *p, uint64_t *gpa)
{
	int32_t b = p->head[B_PARTIAL] >= 0 ? p->head[B_PARTIAL] : p->head[B_FREE];

	if (b < 0)
		return -ENOMEM;
	for (unsigned w = 0; w < 8; w++) {
		if (!p->bits[b][w])
			continue;
		unsigned bit = (unsigned)__builtin_ctzll(p->bits[b][w]);
		uint64_t pfn = p->first_pfn + (uint64_t)b * FRAMES_PER_BLOCK + w * 64 + bit;
		p->bits[b][w] &= ~(1ull << bit);
		p->nfree[b]--;
		p->free_frames--;
		block_restate(p, b);
		f->ref[pfn] = 1;
		(*f->used)++;
		*gpa = pfn << NW_PAGE_SHIFT;
		return 0;
	}
	return -ENOMEM; /* unreachable: listed blocks have free frames */
}

static int alloc_block(struct gframes *f, struct gpool *p, uint64_t *gpa)
{
	int32_t b = p->head[B_FREE];

	if (b < 0)
		return -ENOMEM;
	uint64_t pfn = p->first_pfn + (uint64_t)b * FRAMES_PER_BLOCK;
	memset(p->bits[b], 0, sizeof(p->bits[b]));
	p->nfree[b] = 0;
	p->free_frames -= FRAMES_PER_BLOCK;
	block_restate(p, b);
	for (unsigned i = 0; i < FRAMES_PER_BLOCK; i++)
		f->ref[pfn + i] = 1;
	*f->used += FRAMES_PER_BLOCK;
	*gpa = pfn << NW_PAGE_SHIFT;
	return 0;
}

int gframes_alloc(struct gframes *f, enum gpool_kind k, int level, uint64_t *gpa)
{
	struct gpool *p = &f->pool[k];

	if (level == NW_PAGE_4K)
		return alloc_frame(f, p, gpa);
	if (level == NW_PAGE_2M && k == GPOOL_USER)
		return alloc_block(f, p, gpa);
	return -EINVAL;
}

bool gframes_in_pool(const struct gframes *f, enum gpool_kind k, uint64_t gpa)
{
	const struct gpool *p = &f->pool[k];
	uint64_t pfn = gpa >> NW_PAGE_SHIFT;

	return pfn >= p->first_pfn && pfn - p->first_pfn < (uint64_t)p->nblocks * FRAMES_PER_BLOCK;
}

uint64_t gframes_pool_frames(const struct gframes *f, enum gpool_kind k)
{
	return (uint64_t)f->pool[k].nblocks * FRAMES_PER_BLOCK;
}

uint32_t gframes_ref(const struct gframes *f, uint64_t gpa)
{
	uint64_t pfn = gpa >> NW_PAGE_SHIFT;

	return pfn < f->nframes ? f->ref[pfn] : 0;
}

void gframes_get(struct gframes *f, uint64_t gpa)
{
	uint64_t pfn = gpa >> NW_PAGE_SHIFT;

	if (pfn < f->nframes && f->ref[pfn])
		f->ref[pfn]++;
}

void gframes_put(struct gframes *f, uint64_t gpa)
{
	uint64_t pfn = gpa >> NW_PAGE_SHIFT;
	enum gpool_kind k = gframes_in_pool(f, GPOOL_USER, gpa) ? GPOOL_USER : GPOOL_KERNEL;
	struct gpool *p = &f->pool[k];

	/* Refuse what was never handed out, as the arena does. */
	if (pfn >= f->nframes || !f->ref[pfn] || !gframes_in_pool(f, k, gpa))
		return;
	if (--f->ref[pfn])
		return;
	uint64_t idx = pfn - p->first_pfn;
	int32_t b = (int32_t)(idx / FRAMES_PER_BLOCK);
	unsigned i = (unsigned)(idx % FRAMES_PER_BLOCK);
	p->bits[b][i / 64] |= 1ull << (i % 64);
	p->nfree[b]++;
	p->free_frames++;
	block_restate(p, b);
	(*f->used)--;
}
