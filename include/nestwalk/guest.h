/* SPDX-License-Identifier: MIT */
#ifndef NESTWALK_GUEST_H
#define NESTWALK_GUEST_H

/*
 * The guest OS model: a small kernel written in C that runs on nestwalk's
 * vCPUs. It owns guest-physical memory (a frame allocator and a direct
 * map), builds per-process x86-64 page tables and changes them only with
 * stores through the vCPU at direct-map addresses, never behind the MMU's
 * back, so under shadow paging those stores trap as they would on
 * hardware. It handles its own page faults (demand-zero and copy-on-write),
 * and provides mmap, munmap, mprotect, brk, fork, exit and context
 * switches (MOV CR3, with PCIDs when enabled), with INVLPG after
 * downgrades and unmaps and shootdown IPIs to the other vCPUs.
 *
 *	struct nw_guest *g;
 *	struct nw_guest_cfg gc;
 *	nw_guest_cfg_default(&gc);
 *	nw_guest_boot(vm, &gc, &g);
 *	struct nw_vcpu *v = nw_vm_vcpu(vm, 0);
 *	int pid;
 *	nw_guest_spawn(g, v, &pid);
 *	nw_guest_switch(g, v, pid);
 *	uint64_t a;
 *	nw_guest_mmap(g, v, 1 << 20, NW_PROT_RW, 0, &a);
 *	nw_guest_store(g, v, a, 42);       // faults in a zeroed page
 *	nw_guest_destroy(g);
 */

#include <nestwalk/vmm.h>

/* Deliberate bugs, for negative controls: each must make a test fail. */
#define NW_GUEST_BUG_SKIP_INVLPG 0x1u    /* forget one INVLPG after an unmap or downgrade */
#define NW_GUEST_BUG_SKIP_SHOOTDOWN 0x2u /* forget one shootdown IPI */

struct nw_guest_cfg {
	int levels;          /* 4, or 5 with LA57 */
	bool pcid;           /* give processes PCIDs and switch CR3 without a flush */
	bool huge;           /* 2 MiB pages for 2 MiB-aligned anonymous regions */
	uint64_t kernel_pool;/* bytes of guest RAM from GPA 0 for the kernel (tables);
				user pages come from above (cf. nw_vm_cfg.data_gpa).
				0: RAM/16 (4 MiB .. RAM/2), or data_gpa with
				translation-only data. Rounded up to 2 MiB. */
	unsigned bugs;       /* NW_GUEST_BUG_* */
};

void nw_guest_cfg_default(struct nw_guest_cfg *cfg);

struct nw_guest;

/* mmap flags */
#define NW_MAP_HUGE 0x1u    /* ask for 2 MiB pages (needs cfg.huge) */

/*
 * Boot on vCPU 0 of vm: build the kernel's direct map with physical stores
 * (paging off), then turn paging on for every vCPU, on the kernel's tables
 * and with no current process. Registers the #PF handler on every vCPU.
 * 0; -EINVAL (bad cfg, or a kernel pool that leaves no user memory or,
 * with translation-only data, passes data_gpa); -ENOMEM; or the VM's error
 * when it stopped. nw_guest_destroy frees the kernel's host-side records
 * (guest memory goes with the VM) and unregisters the handler.
 */
int nw_guest_boot(struct nw_vm *vm, const struct nw_guest_cfg *cfg, struct nw_guest **out);
void nw_guest_destroy(struct nw_guest *g);

/*
 * Processes. Table changes are made by v's stores. The current process of
 * a vCPU is the last one switched to; one process may be current on
 * several vCPUs at once (its threads).
 *  - spawn: a new process with an empty address space (not switched to);
 *  - fork: a copy-on-write child of v's current process (not switched to);
 *  - exit: ends v's current process; every vCPU running it goes idle on
 *    the kernel's tables and has no current process;
 *  - switch: MOV CR3 to pid's tables (PCID, and bit 63 when the vCPU may
 *    still hold its translations);
 *  - current: the pid, or -ESRCH.
 * -ESRCH when v has no current process or pid does not exist; -ENOMEM when
 * table frames run out (kernel pool: guest.oom counts it).
 */
int nw_guest_spawn(struct nw_guest *g, struct nw_vcpu *v, int *pid);
int nw_guest_fork(struct nw_guest *g, struct nw_vcpu *v, int *child);
int nw_guest_exit(struct nw_guest *g, struct nw_vcpu *v);
int nw_guest_switch(struct nw_guest *g, struct nw_vcpu *v, int pid);
int nw_guest_current(const struct nw_guest *g, const struct nw_vcpu *v);

/*
 * Memory of the current process of v: anonymous, private, populated on
 * first touch. prot: NW_PROT_R/W/X (0 is PROT_NONE; W or X imply R on x86).
 *  - mmap: lowest free range (2 MiB aligned with NW_MAP_HUGE and cfg.huge);
 *    -ENOMEM when len exceeds all user memory (heuristic overcommit,
 *    counted in guest.oom) or no range is free;
 *  - munmap: holes are fine; -EINVAL for a misaligned or non-user range;
 *  - mprotect: -ENOMEM when part of the range is not mapped (as Linux);
 *  - brk: new_end 0 queries; growing into a mapping is -ENOMEM.
 * Any of them returns the VM's negative errno once it has stopped.
 */
int nw_guest_mmap(struct nw_guest *g, struct nw_vcpu *v, uint64_t len, uint32_t prot,
		  unsigned flags, uint64_t *addr);
int nw_guest_munmap(struct nw_guest *g, struct nw_vcpu *v, uint64_t addr, uint64_t len);
int nw_guest_mprotect(struct nw_guest *g, struct nw_vcpu *v, uint64_t addr, uint64_t len,
		      uint32_t prot);
int nw_guest_brk(struct nw_guest *g, struct nw_vcpu *v, uint64_t new_end, uint64_t *end);

/*
 * User-mode accesses by the current process of v: 0; NW_VCPU_SEGV (outside
 * a VMA, against its rights, or guest RAM exhausted: guest.oom); or the
 * VM's negative errno once it has stopped.
 */
int nw_guest_load(struct nw_guest *g, struct nw_vcpu *v, uint64_t gva, uint64_t *val);
int nw_guest_store(struct nw_guest *g, struct nw_vcpu *v, uint64_t gva, uint64_t val);

struct nw_guest_stats {
	uint64_t faults_demand;   /* "guest.faults.demand": zero-filled pages (a 2 MiB page is one) */
	uint64_t faults_cow;      /* "guest.faults.cow": copied pages */
	uint64_t faults_segv;     /* "guest.faults.segv": faults refused (SIGSEGV) */
	uint64_t frames_used;     /* "guest.frames.used": guest frames in use, kernel's included */
	uint64_t oom;             /* "guest.oom": allocations refused: guest RAM exhausted */
	uint64_t forks;           /* "guest.forks" */
	uint64_t exits;           /* "guest.exits" */
	uint64_t switches;        /* "guest.switches": context switches to another process */
	uint64_t shootdowns;      /* "guest.shootdowns": shootdown IPIs sent */
	uint64_t pt_stores;       /* "guest.pt_stores": entry stores to its own page tables
				     (paging on: the page-table update rate) */
};

const struct nw_guest_stats *nw_guest_stats(const struct nw_guest *g);

/* Every figure above by its stable name, in that order: the count, as
 * nw_vcpu_stats_list (at most NW_GUEST_STATS_MAX). */
#define NW_GUEST_STATS_MAX 10
size_t nw_guest_stats_list(const struct nw_guest *g, struct nw_stat *out, size_t max);

/* The configuration in effect: kernel_pool as chosen at boot. */
const struct nw_guest_cfg *nw_guest_config(const struct nw_guest *g);

#endif
