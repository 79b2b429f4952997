/* SPDX-License-Identifier: MIT */
#ifndef NW_GUEST_INTERNAL_H
#define NW_GUEST_INTERNAL_H

/*
 * The guest kernel's private state. Everything the model keeps host-side
 * (frame refcounts, VMA lists, process records) stands for the kernel's own
 * data structures; every page-table entry and every data byte lives in
 * guest memory and is reached only through the vCPU.
 */

#include <nestwalk/guest.h>
#include <nestwalk/pt.h>

/* Where the kernel maps all of guest RAM (Linux's page_offset_base). */
#define NW_GUEST_DMAP_4L 0xffff888000000000ull
#define NW_GUEST_DMAP_5L 0xff11000000000000ull

/* User address space layout. */
#define NW_GUEST_BRK_BASE 0x0000000010000000ull  /* heap start (256 MiB) */
#define NW_GUEST_MMAP_BASE 0x0000001000000000ull /* first mmap address (64 GiB) */

#define NW_GUEST_2M (1ull << 21)
#define NW_GUEST_MAX_PCID 4095u

/* ---- frames.c: guest-physical frames, refcounted, in two pools ---- */

enum gpool_kind { GPOOL_KERNEL = 0, GPOOL_USER = 1 };

/* One pool of frames managed in 2 MiB blocks: whole-free blocks serve 2 MiB
 * allocations, partly used ones serve 4 KiB allocations first. */
struct gpool {
	uint64_t first_pfn;      /* first frame of the pool (2 MiB aligned) */
	uint32_t nblocks;
	uint16_t *nfree;         /* free frames per block */
	uint64_t (*bits)[8];     /* free-frame bitmap per block */
	int32_t *next, *prev;    /* block list links */
	uint8_t *state;          /* which list a block is on */
	int32_t head[3];         /* list heads by state: used (unlinked), partial, free */
	uint64_t free_frames;
};

struct gframes {
	uint64_t nframes;        /* frames of guest RAM */
	uint32_t *ref;           /* per frame; 0 = free */
	struct gpool pool[2];
	uint64_t *used;          /* frames with ref > 0 (the stats figure) */
};

int gframes_init(struct gframes *f, uint64_t ram, uint64_t kernel_pool, uint64_t *used);
void gframes_fini(struct gframes *f);
/* level 1: a 4 KiB frame; level 2: a 2 MiB aligned block (user pool only).
 * 0 and the GPA with every frame's ref at 1, or -ENOMEM. */
int gframes_alloc(struct gframes *f, enum gpool_kind k, int level, uint64_t *gpa);
void gframes_get(struct gframes *f, uint64_t gpa);
/* Drop one reference; the frame goes back to its pool at zero. */
void gframes_put(struct gframes *f, uint64_t gpa);
uint32_t gframes_ref(const struct gframes *f, uint64_t gpa);
bool gframes_in_pool(const struct gframes *f, enum gpool_kind k, uint64_t gpa);
uint64_t gframes_pool_frames(const struct gframes *f, enum gpool_kind k);

/* ---- vma.c: a process's virtual memory areas, sorted and disjoint ---- */

struct gvma {
	uint64_t start, end;     /* [start, end), page aligned */
	uint32_t prot;           /* NW_PROT_R/W/X; 0 is PROT_NONE */
	unsigned flags;          /* NW_MAP_* */
};

struct gvmas {
	struct gvma *v;
	size_t n, cap;
};

void gvma_fini(struct gvmas *m);
/* Room for `extra` more areas, so that a later split cannot fail. */
int gvma_reserve(struct gvmas *m, size_t extra);
struct gvma *gvma_find(const struct gvmas *m, uint64_t va);
/* Whether any area overlaps [s, e). */
bool gvma_overlaps(const struct gvmas *m, uint64_t s, uint64_t e);
/* Whether areas cover every page of [s, e); *prot_or gets the OR of their rights. */
bool gvma_covers(const struct gvmas *m, uint64_t s, uint64_t e, uint32_t *prot_or);
/* Insert a free range (capacity reserved). Merges with equal neighbours. */
void gvma_insert(struct gvmas *m, uint64_t s, uint64_t e, uint32_t prot, unsigned flags);
/* Punch [s, e) out of every area (capacity for one split reserved). */
void gvma_remove(struct gvmas *m, uint64_t s, uint64_t e);
/* Give [s, e) new rights (covered, capacity for two splits reserved). */
void gvma_set_prot(struct gvmas *m, uint64_t s, uint64_t e, uint32_t prot);
/* Lowest free range of len bytes, aligned, within [lo, hi): 0 or -ENOMEM. */
int gvma_find_free(const struct gvmas *m, uint64_t len, uint64_t align, uint64_t lo,
		   uint64_t hi, uint64_t *out);
/* Replace dst's areas with a copy of src's. */
int gvma_copy(struct gvmas *dst, const struct gvmas *src);

/* ---- proc.c: processes ---- */

struct gproc {
	int pid;
	struct nw_pt pt;         /* its tables; the root shares the kernel half */
	struct gvmas vmas;
	uint16_t pcid;           /* 0: none (PCIDs off, or all 4095 in use) */
	uint64_t cpus;           /* vCPUs that may cache its translations */
	uint64_t running;        /* vCPUs where it is the current process */
	uint64_t brk;            /* the program break */
};

/* ---- ptacc.c: the kernel's page-table memory and entry accessor ---- */

/* Entries are read and written by the vCPU that makes the change: through
 * the direct map once paging is on, with physical stores during boot. */
struct gacc {
	struct nw_guest *g;
	struct nw_vcpu *v;
	bool phys;
	int err;                 /* first failed access (a stopped VM), sticky per operation */
};

struct gmem {
	struct nw_mem mem;       /* first member: the engine sees a struct nw_mem */
	struct nw_guest *g;
};

void gptacc_init(struct nw_guest *g);
/* Make v the vCPU that performs table accesses; returns the previous one. */
struct nw_vcpu *gptacc_use(struct nw_guest *g, struct nw_vcpu *v);
/* Take the first access error since the last call: 0 or a negative errno. */
int gptacc_take_err(struct nw_guest *g);

/* ---- the guest ---- */

struct nw_guest {
	struct nw_vm *vm;
	struct nw_guest_cfg cfg;
	unsigned nvcpus;
	uint64_t ram;
	uint64_t dmap;           /* direct map base */
	uint64_t user_top;       /* end of the user half */
	struct nw_fmt fmt;       /* x86-64 entries */
	struct nw_x86_mode mode;
	struct gframes frames;
	struct gmem mem;
	struct gacc actx;
	struct nw_acc acc;       /* the vCPU-store accessor */
	struct nw_pt kpt;        /* the kernel's tables: the direct map */
	uint64_t kentry[NW_ENTRIES_PER_TABLE]; /* its root's kernel-half entries */
	struct gproc **procs;    /* by pid; NULL once exited */
	size_t nprocs;           /* pids handed out + 1 */
	size_t capprocs;
	struct gproc *cur[NW_VM_MAX_VCPUS];
	uint64_t pcid_used[(NW_GUEST_MAX_PCID + 64) / 64];
	unsigned pcid_next;
	unsigned bugs_left;      /* NW_GUEST_BUG_* not yet spent */
	struct nw_guest_stats st;
};

struct gproc *gproc_get(const struct nw_guest *g, int pid);
/* A new process with an empty user half, tables built on v. */
int gproc_new(struct nw_guest *g, struct nw_vcpu *v, struct gproc **out);
/* Free its user frames and tables (on v), its PCID and its record. */
void gproc_free(struct nw_guest *g, struct nw_vcpu *v, struct gproc *p);
/* Point v at the kernel's own tables (no process). */
int gproc_switch_kernel(struct nw_guest *g, struct nw_vcpu *v);

static inline uint64_t gvcpu_bit(const struct nw_vcpu *v)
{
	return 1ull << nw_vcpu_id(v);
}

static inline struct gproc *gproc_current(const struct nw_guest *g, const struct nw_vcpu *v)
{
	return g->cur[nw_vcpu_id(v)];
}

/* The leaf rights for a VMA's rights: always readable, user only when some
 * right is granted (a PROT_NONE page stays mapped, supervisor-only, so its
 * data survives), writable only when `writable` (copy-on-write decides). */
uint32_t gpte_prot(uint32_t vma_prot, bool writable);

/* Allocate user frames or table frames, counting refusals as guest OOM. */
int galloc_user(struct nw_guest *g, int level, uint64_t *gpa);

/* ---- tlbflush.c ---- */

/* Invalidate what inv reports for p, on v and by shootdown on every other
 * vCPU that may cache p's translations. bug_site: an munmap or mprotect
 * downgrade, where NW_GUEST_BUG_SKIP_INVLPG may strike. */
void gflush(struct nw_guest *g, struct nw_vcpu *v, struct gproc *p, const struct nw_inval *inv,
	    bool bug_site);
/* Widen acc by inv. */
void ginval_merge(struct nw_inval *acc, const struct nw_inval *inv);

/* ---- fault.c ---- */

int gfault_handler(void *guest, struct nw_vcpu *v, uint64_t cr2, uint32_t error);

/* ---- mm.c ---- */

/* Unmap [s, e) of p (on v): tables, flush, frames, areas. */
int gmm_unmap(struct nw_guest *g, struct nw_vcpu *v, struct gproc *p, uint64_t s, uint64_t e,
	      bool bug_site);
/* Put every user frame mapped in p's user half. */
void gmm_put_all(struct nw_guest *g, struct gproc *p);

#endif
