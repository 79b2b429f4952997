/* SPDX-License-Identifier: MIT */
/*
 * An embedding hypervisor's view of nestwalk: EPT and NPT tables for a 4 GiB
 * guest, built in frames from the hypervisor's own allocator rather than
 * nestwalk's arena, then walked.
 *
 * The "hypervisor" here owns a pool of frames it got from calloc and names
 * them by host-physical address HPA = POOL_HPA + index * 4 KiB.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <nestwalk/nestwalk.h>

#define POOL_FRAMES 64
#define POOL_HPA 0x100000000ull /* where our pool sits in host-physical space */
#define GUEST_RAM (4ull << 30)
#define GUEST_HPA (8ull << 30)  /* where guest RAM sits in host-physical space */

struct pool {
	struct nw_mem mem; /* first: nestwalk hands this pointer back to us */
	unsigned char *frames;
	unsigned char used[POOL_FRAMES];
};

static int pool_alloc(struct nw_mem *m, uint64_t *hpa)
{
	struct pool *p = (struct pool *)m;
	for (unsigned i = 0; i < POOL_FRAMES; i++)
		if (!p->used[i]) {
			p->used[i] = 1;
			for (unsigned b = 0; b < 4096; b++)
				p->frames[i * 4096ull + b] = 0;
			*hpa = POOL_HPA + i * 4096ull;
			return 0;
		}
	return -ENOMEM;
}

static void pool_free(struct nw_mem *m, uint64_t hpa)
{
	((struct pool *)m)->used[(hpa - POOL_HPA) / 4096] = 0;
}

static void *pool_map(struct nw_mem *m, uint64_t hpa)
{
	struct pool *p = (struct pool *)m;
	if (hpa < POOL_HPA || hpa >= POOL_HPA + POOL_FRAMES * 4096ull)
		return NULL;
	return p->frames + (hpa - POOL_HPA);
}

static const struct nw_mem_ops pool_ops = { .alloc = pool_alloc, .free = pool_free, .map = pool_map };

static int walk_one(const char *what, const struct nw_fmt *f, const struct nw_acc *acc,
		    uint64_t root, uint64_t gpa, unsigned mode)
{
	struct nw_walk1d hw;
	nw_walk_tables(f, acc, root, 4, gpa, mode, NW_DIM_HOST, NULL, &hw);
	if (hw.status != NW_W1D_OK || hw.pa != GUEST_HPA + gpa) {
		fprintf(stderr, "%s: GPA %#llx did not translate to %#llx\n", what,
			(unsigned long long)gpa, (unsigned long long)(GUEST_HPA + gpa));
		return 1;
	}
	printf("%s: GPA %#011llx -> HPA %#011llx in %d references (leaf level %d)\n", what,
	       (unsigned long long)gpa, (unsigned long long)hw.pa, hw.n, hw.level);
	return 0;
}

int main(void)
{
	static struct pool pool;
	struct nw_ept ept;
	struct nw_npt npt;
	struct nw_acc acc;
	uint64_t eptp;
	int bad = 0;

	pool.frames = calloc(POOL_FRAMES, 4096);
	if (!pool.frames || nw_mem_init(&pool.mem, &pool_ops, 46) < 0)
		return 1;
	nw_acc_plain(&acc, &pool.mem);

	/* EPT: the first 2 MiB in 4 KiB pages, the rest as large as alignment allows. */
	if (nw_ept_init(&ept, &pool.mem, NULL, 4) < 0 ||
	    nw_ept_map(&ept, 0, GUEST_HPA, 2 << 20, NW_PROT_RWX, NW_EPT_MT_WB, NW_MAP_MAX_4K, NULL) < 0 ||
	    nw_ept_map(&ept, 2 << 20, GUEST_HPA + (2 << 20), GUEST_RAM - (2 << 20), NW_PROT_RWX,
		       NW_EPT_MT_WB, NW_MAP_MAX_1G, NULL) < 0 ||
	    nw_ept_eptp(&ept, true, &eptp) < 0 || nw_ept_eptp_check(eptp, NULL, 46) < 0) {
		fprintf(stderr, "ept: could not build the tables\n");
		return 1;
	}
	printf("ept: EPTP %#llx, %llu table frames from our own pool\n", (unsigned long long)eptp,
	       (unsigned long long)ept.pt.table_pages);
	bad |= walk_one("ept", &ept.fmt, &acc, ept.pt.root, 0x1234, 0);
	bad |= walk_one("ept", &ept.fmt, &acc, ept.pt.root, 0x345678, 0);
	bad |= walk_one("ept", &ept.fmt, &acc, ept.pt.root, 0xdeadbeef, 0);

	/* NPT: the whole 4 GiB in 2 MiB pages, host EFER.NXE set. */
	if (nw_npt_init(&npt, &pool.mem, 4, true) < 0 ||
	    nw_npt_map(&npt, 0, GUEST_HPA, GUEST_RAM, NW_PROT_RWX | NW_PROT_U, 0, NW_MAP_MAX_2M,
		       NULL) < 0) {
		fprintf(stderr, "npt: could not build the tables\n");
		return 1;
	}
	printf("npt: nCR3 %#llx, %llu table frames\n", (unsigned long long)nw_npt_ncr3(&npt),
	       (unsigned long long)npt.pt.table_pages);
	bad |= walk_one("npt", &npt.fmt, &acc, npt.pt.root, 0x1234, NW_FMT_NXE);
	bad |= walk_one("npt", &npt.fmt, &acc, npt.pt.root, 0xfffff000, NW_FMT_NXE);

	nw_ept_destroy(&ept);
	nw_npt_destroy(&npt);
	if (pool.mem.frames_in_use != 0) {
		fprintf(stderr, "leaked %llu frames\n", (unsigned long long)pool.mem.frames_in_use);
		bad = 1;
	}
	free(pool.frames);
	return bad;
}
