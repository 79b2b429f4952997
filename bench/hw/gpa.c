/*
 * gpa.c - where a buffer's pages sit in (guest-)physical memory, in the
 * order the chase visits them.
 *
 * In a VM the page walk of a 4 KiB guest page ends with a nested walk of
 * the data's guest-physical address, whose last level is a host PTE. Eight
 * host PTEs share a line, so when consecutive hops of the chase land on
 * neighbouring guest-physical pages, that line is reused hop after hop.
 * Linux hands out 4 KiB pages in first-touch order, and nw_chase_build
 * touches the pages in chain order, so how many hops do land on a
 * neighbour depends on how fragmented the guest's free memory was: it
 * varies from run to run, and the model needs it (docs/BENCHMARKS.md).
 * /proc/self/pagemap gives the frame numbers to root only.
 */
#define _GNU_SOURCE
#include "hw_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PM_PFN_MASK ((1ull << 55) - 1)
#define PM_PRESENT (1ull << 63)

/* Chain-order pass over the page frames (nw_chase_layout's visitor). */
struct gpa_walk {
	const uint64_t *pfn;
	uint64_t prev;
	bool first;
	size_t adjacent, same_line, same_2m, hops;
};

static void visit(void *arg, size_t off)
{
	struct gpa_walk *g = arg;
	uint64_t f = g->pfn[off / NW_4K];

	if (!g->first) {
		g->hops++;
		g->adjacent += f == g->prev + 1 || f + 1 == g->prev;
		g->same_line += f >> 3 == g->prev >> 3;
		g->same_2m += f >> 9 == g->prev >> 9;
	}
	g->first = false;
	g->prev = f;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

int nw_hw_gpa_frames(const struct nw_hw_probe *p, uint64_t *pfn, char *why, size_t n)
{
	size_t pages = p->buf.size / NW_4K;
	int fd, err = 0;

	if (!pages) {
		nw_why(why, n, "no buffer");
		return -EINVAL;
	}
	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0 ||
	    pread(fd, pfn, pages * sizeof(*pfn), (off_t)((uintptr_t)p->buf.base / NW_4K * sizeof(*pfn))) !=
		    (ssize_t)(pages * sizeof(*pfn))) {
		err = -errno;
		nw_why(why, n, "reading /proc/self/pagemap: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return err ? err : -EIO;
	}
	close(fd);
	for (size_t i = 0; i < pages; i++) {
		if (!(pfn[i] & PM_PRESENT) || !(pfn[i] & PM_PFN_MASK)) {
			nw_why(why, n, "pagemap shows no frame numbers (they are for root only)");
			return -EPERM;
		}
		pfn[i] &= PM_PFN_MASK;
	}
	return 0;
}

int nw_hw_gpa_chain(const struct nw_hw_probe *p, struct nw_hw_gpa *out, char *why, size_t n)
{
	size_t pages = p->buf.size / NW_4K;
	uint64_t *pfn;
	struct gpa_walk g = {.first = true};
	int err;

	memset(out, 0, sizeof(*out));
	if (!pages || !p->chase.nodes) {
		nw_why(why, n, "no buffer");
		return -EINVAL;
	}
	pfn = malloc(pages * sizeof(*pfn));
	if (!pfn) {
		nw_why(why, n, "out of memory for %zu frame numbers", pages);
		return -ENOMEM;
	}
	if ((err = nw_hw_gpa_frames(p, pfn, why, n)) < 0)
		goto out;
	g.pfn = pfn;
	if ((err = nw_chase_layout(p->buf.size, p->chase.lines, p->chase.seed, visit, &g)) < 0) {
		nw_why(why, n, "laying out the chain: %s", strerror(-err));
		goto out;
	}
	out->adjacent = g.hops ? (double)g.adjacent / (double)g.hops : 0;
	out->same_line = g.hops ? (double)g.same_line / (double)g.hops : 0;
	out->same_2m = g.hops ? (double)g.same_2m / (double)g.hops : 0;
	qsort(pfn, pages, sizeof(*pfn), cmp_u64);
	out->frames_2m = out->pte_lines = 1;
	for (size_t i = 1; i < pages; i++) {
		out->frames_2m += pfn[i] >> 9 != pfn[i - 1] >> 9;
		out->pte_lines += pfn[i] >> 3 != pfn[i - 1] >> 3;
	}
out:
	free(pfn);
	return err;
}
