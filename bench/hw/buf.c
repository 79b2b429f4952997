/*
 * buf.c - working-set buffers of one page kind.
 *
 * 4K and THP buffers are anonymous mappings told what to do with madvise,
 * and THP is only asked for: the share actually backed by huge pages is read
 * back from /proc/self/smaps. hugetlb buffers come from the pool, which is
 * raised for the run when it is short and restored when the buffer goes.
 */
#define _GNU_SOURCE
#include "hw_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <linux/mman.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static const char *const kind_names[NW_HW_NKINDS] = {"4k", "thp", "2m", "1g"};
static const size_t kind_pages[NW_HW_NKINDS] = {NW_4K, NW_2M, NW_2M, NW_1G};

/* ---- private prototypes ---- */
static size_t round_up(size_t x, size_t a);
static int map_anon(struct nw_hw_buf *b, int advice, char *why, size_t n);
static int map_hugetlb(struct nw_hw_buf *b, bool may_reserve, char *why, size_t n);

const char *nw_hw_kind_name(enum nw_hw_kind kind)
{
	return (unsigned)kind < NW_HW_NKINDS ? kind_names[kind] : "?";
}

size_t nw_hw_kind_page_size(enum nw_hw_kind kind)
{
	return (unsigned)kind < NW_HW_NKINDS ? kind_pages[kind] : 0;
}

int nw_hw_buf_map(struct nw_hw_buf *b, enum nw_hw_kind kind, size_t size,
		  bool may_reserve, char *why, size_t n)
{
	memset(b, 0, sizeof(*b));
	if ((unsigned)kind >= NW_HW_NKINDS || size == 0 || size % NW_4K) {
		nw_why(why, n, "bad kind or size (%zu bytes)", size);
		return -EINVAL;
	}
	b->kind = kind;
	b->size = size;
	b->page_size = kind_pages[kind];
	switch (kind) {
	case NW_HW_4K:
		return map_anon(b, MADV_NOHUGEPAGE, why, n);
	case NW_HW_THP:
		return map_anon(b, MADV_HUGEPAGE, why, n);
	default:
		return map_hugetlb(b, may_reserve, why, n);
	}
}

void nw_hw_buf_unmap(struct nw_hw_buf *b)
{
	if (b->map)
		munmap(b->map, b->map_len);
	if (b->reserved)
		nw_hugetlb_restore(b->page_size);
	memset(b, 0, sizeof(*b));
}

double nw_hw_thp_fraction(const struct nw_hw_buf *b)
{
	uintptr_t lo = (uintptr_t)b->base, hi = lo + round_up(b->size, NW_2M);
	uintptr_t vlo = 0, vhi = 0, a, z;
	unsigned long long kb, huge = 0;
	char line[512];
	FILE *f = fopen("/proc/self/smaps", "re");

	if (!f)
		return -errno;
	/* Sum AnonHugePages over the VMAs that overlap the buffer; a VMA may
	 * reach past it, so the result is clamped to 1. */
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " ", &a, &z) == 2) {
			vlo = a;
			vhi = z;
			continue;
		}
		if (vlo < hi && vhi > lo &&
		    sscanf(line, "AnonHugePages: %llu kB", &kb) == 1)
			huge += kb << 10;
	}
	fclose(f);
	return huge >= hi - lo ? 1.0 : (double)huge / (double)(hi - lo);
}

int64_t nw_hw_mem_available(void)
{
	unsigned long long kb;
	char line[256];
	FILE *f = fopen("/proc/meminfo", "re");

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1) {
			fclose(f);
			return (int64_t)(kb << 10);
		}
	}
	fclose(f);
	return -ENOENT;
}

/* ---- private ---- */

static size_t round_up(size_t x, size_t a)
{
	return (x + a - 1) / a * a;
}

/* Maps a 2 MiB-aligned anonymous region (so THP can back it from the first
 * byte) and advises it. */
static int map_anon(struct nw_hw_buf *b, int advice, char *why, size_t n)
{
	size_t len = round_up(b->size, NW_2M);
	uintptr_t p;

	b->map_len = len + NW_2M;
	b->map = mmap(NULL, b->map_len, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (b->map == MAP_FAILED) {
		int err = -errno;

		b->map = NULL;
		nw_why(why, n, "mmap of %zu bytes: %s", b->map_len, strerror(-err));
		return err;
	}
	p = round_up((uintptr_t)b->map, NW_2M);
	b->base = (void *)p;
	if (madvise(b->base, len, advice)) {
		int err = -errno;

		nw_why(why, n, "madvise(%s): %s",
		       advice == MADV_HUGEPAGE ? "MADV_HUGEPAGE" : "MADV_NOHUGEPAGE",
		       strerror(-err));
		nw_hw_buf_unmap(b);
		return err;
	}
	return 0;
}

static int map_hugetlb(struct nw_hw_buf *b, bool may_reserve, char *why, size_t n)
{
	size_t len = round_up(b->size, b->page_size);
	int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB |
		    (b->page_size == NW_1G ? MAP_HUGE_1GB : MAP_HUGE_2MB);
	size_t need = len / b->page_size;
	char reason[256] = "";
	int r;

	if (!may_reserve) {
		int64_t nfree = nw_hugetlb_free(b->page_size);

		if (nfree < 0) {
			nw_why(why, n, "hugetlb %s: cannot read free_hugepages: %s",
			       kind_names[b->kind], strerror((int)-nfree));
			return (int)nfree;
		}
		if (nfree < (int64_t)need) {
			nw_why(why, n, "hugetlb %s: %lld free pages, %zu needed, and reserving "
			       "is off", kind_names[b->kind], (long long)nfree, need);
			return -ENOMEM;
		}
	}
	r = nw_hugetlb_reserve(b->page_size, need, reason, sizeof(reason));
	if (r < 0) {
		nw_why(why, n, "hugetlb %s: %s", kind_names[b->kind], reason);
		return r;
	}
	b->reserved = r == 1;
	b->map_len = len;
	/* Private hugetlb mappings take their pages from the pool at mmap
	 * time, so a short pool fails here and not with SIGBUS later. */
	b->map = mmap(NULL, len, PROT_READ | PROT_WRITE, flags, -1, 0);
	if (b->map == MAP_FAILED) {
		int err = -errno;

		b->map = NULL;
		nw_why(why, n, "mmap(MAP_HUGETLB) of %zu bytes: %s", len, strerror(-err));
		nw_hw_buf_unmap(b);
		return err;
	}
	b->base = b->map;
	return 0;
}
