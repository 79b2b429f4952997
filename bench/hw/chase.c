/*
 * chase.c - the multichase-style pointer chase (shared FACTS §8).
 *
 * Layout, for a buffer of G = size / 4 KiB groups (one group per 4 KiB page,
 * whatever the page kind, so every kind runs the same chain):
 *   1. the groups are visited in one uniformly random cyclic order
 *      (Fisher-Yates over all G groups);
 *   2. in each group, `lines` distinct 64-byte lines are drawn at random from
 *      the 64 (a partial Fisher-Yates, fresh for each group), and the chain
 *      visits them in the order drawn before it leaves the group;
 *   3. each node is one pointer at the start of its line, pointing to the
 *      next node; the last node points back to the first.
 * With lines = 1 every hop lands on another 4 KiB page at a random line, so
 * every hop needs a translation that was not the previous one, the nodes
 * spread over all 64 line offsets and so over all cache sets (the same offset
 * in every page would crowd 1/64 of the sets of a VIPT L1 and alias in the
 * others), and there is no stride for a prefetcher to follow.
 */
#include "hw_internal.h"

#include <errno.h>
#include <stdlib.h>

#define NW_CHASE_SEED 0x6e65737477616c6bull /* "nestwalk" */
#define NW_LINES_PER_GROUP (NW_CHASE_GROUP / NW_CHASE_LINE)

/* ---- private prototypes ---- */
static uint64_t splitmix64(uint64_t *s);
static uint64_t below(uint64_t *s, uint64_t n);

/* Links each visited node to the one before it (nw_chase_build's visitor). */
struct link {
	char *base;
	void **first, **prev;
};

static void link_node(void *arg, size_t off)
{
	struct link *l = arg;
	void **node = (void **)(l->base + off);

	if (l->prev)
		*l->prev = node;
	else
		l->first = node;
	l->prev = node;
}

int nw_chase_layout(size_t size, unsigned lines, uint64_t seed,
		    void (*visit)(void *arg, size_t off), void *arg)
{
	size_t groups = size / NW_CHASE_GROUP;
	uint64_t s = seed ? seed : NW_CHASE_SEED;
	uint32_t *order;

	if (lines == 0)
		lines = 1;
	if (groups == 0 || groups > UINT32_MAX || lines > NW_LINES_PER_GROUP)
		return -EINVAL;
	order = malloc(groups * sizeof(*order));
	if (!order)
		return -ENOMEM;
	for (size_t i = 0; i < groups; i++)
		order[i] = (uint32_t)i;
	for (size_t i = groups - 1; i > 0; i--) {
		size_t j = below(&s, i + 1);
		uint32_t t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
	for (size_t i = 0; i < groups; i++) {
		size_t g = (size_t)order[i] * NW_CHASE_GROUP;
		uint8_t line[NW_LINES_PER_GROUP];

		for (unsigned k = 0; k < NW_LINES_PER_GROUP; k++)
			line[k] = (uint8_t)k;
		for (unsigned k = 0; k < lines; k++) {
			unsigned j = k + (unsigned)below(&s, NW_LINES_PER_GROUP - k);
			uint8_t t = line[k];

			line[k] = line[j];
			line[j] = t;
			visit(arg, g + (size_t)line[k] * NW_CHASE_LINE);
		}
	}
	free(order);
	return 0;
}

int nw_chase_build(struct nw_chase *c, void *buf, size_t size, unsigned lines,
		   uint64_t seed)
{
	struct link l = {.base = buf};
	int err;

	if (lines == 0)
		lines = 1;
	if ((err = nw_chase_layout(size, lines, seed, link_node, &l)))
		return err;
	*l.prev = l.first;
	c->start = l.first;
	c->nodes = size / NW_CHASE_GROUP * lines;
	c->lines = lines;
	c->seed = seed ? seed : NW_CHASE_SEED;
	return 0;
}

#define HOP p = *(void **)p;
#define HOP4 HOP HOP HOP HOP
_Static_assert(NW_CHASE_UNROLL == 16, "nw_chase_follow unrolls 16 hops");

/* The loop is the measurement: nothing but dependent loads and a counter
 * that runs beside them. */
void *nw_chase_follow(void *p, uint64_t n)
{
	for (uint64_t i = 0; i < n; i += NW_CHASE_UNROLL) {
		HOP4 HOP4 HOP4 HOP4
	}
	return p;
}

/* ---- private ---- */

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in [0, n) by Lemire's multiply-shift (bias below 2^-32 here). */
static uint64_t below(uint64_t *s, uint64_t n)
{
	return (uint64_t)(((unsigned __int128)splitmix64(s) * n) >> 64);
}
