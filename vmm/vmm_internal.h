/* SPDX-License-Identifier: MIT */
#ifndef NW_VMM_INTERNAL_H
#define NW_VMM_INTERNAL_H

/* The hypervisor's private state. Not part of the public API. */

#include <nestwalk/ept.h>
#include <nestwalk/npt.h>
#include <nestwalk/shadow.h>
#include <nestwalk/vmm.h>

#include "vmcs.h"

/*
 * Host-physical memory: one sparse region.
 *
 *   [0, ram)            native: guest RAM itself (GPA == HPA);
 *                       ept/npt: the zone backing pages come from
 *   [ram, ram + 4K)     the console's MMIO page: no memory behind it
 *   [tables, end)       nested tables and the shared data frame
 *
 * Backing pages are handed out in a seeded order: free lists per page size,
 * refilled by splitting a larger page into its pieces, shuffled.
 */
struct nw_hostmem {
	struct nw_mem mem;          /* the table frames' backend (first member) */
	uint8_t *base;
	uint64_t size;
	uint64_t zone_end;          /* end of the backing zone */
	uint64_t tables_lo;         /* first table frame */
	uint64_t table_bump;        /* next never-used table frame */
	uint64_t table_free;        /* free list of table frames (HPA, 0 = none) */
	uint64_t *free[4];          /* free backing pages by level 1..3 */
	uint64_t nfree[4], capfree[4];
	uint64_t zone_next;         /* next never-split 1 GiB chunk of the zone */
	uint64_t budget;            /* host frames allowed in use, 0 = no limit */
	uint64_t backing_frames;    /* 4 KiB frames in backing pages handed out */
	uint64_t rng;               /* splitmix state for the shuffle */
};

int nw_hostmem_init(struct nw_hostmem *h, uint64_t zone, uint64_t table_bytes,
		    uint64_t budget, uint64_t seed);
void nw_hostmem_fini(struct nw_hostmem *h);
/* A backing page of `level` (1..3): 0 and its HPA, or -ENOMEM. */
int nw_hostmem_backing_alloc(struct nw_hostmem *h, int level, uint64_t *hpa);
void nw_hostmem_backing_free(struct nw_hostmem *h, int level, uint64_t hpa);
static inline void *nw_hostmem_ptr(struct nw_hostmem *h, uint64_t hpa)
{
	return hpa < h->size ? h->base + hpa : NULL;
}

struct nw_vcpu {
	struct nw_vm *vm;
	unsigned id;
	struct nw_tlb *tlb;
	struct nw_lat *lat;
	const struct nw_guest_ops *gops;
	void *guest;
	struct nw_x86_mode mode;
	bool pcide;
	bool paging;                /* CR0.PG */
	uint64_t cr3;
	uint16_t vpid;              /* VPID (Intel) or ASID (AMD) */
	struct nw_vmcs vmcs;        /* the VMCS view (Intel modes) */
	struct nw_vmcb vmcb;        /* the VMCB view (AMD modes) */
	struct nw_tlb_walker wk;    /* what a TLB miss walks, for the current state */
	uint64_t scr3;              /* NW_VM_SHADOW: the shadow root the hardware walks */
	bool string_op;             /* NW_VM_SHADOW: a rep stos/movs is translating */
	struct nw_vcpu_stats st;
	unsigned depth;             /* nested guest #PF handling, against runaway recursion */
};

/* NW_VM_SHADOW's p2m, per 2 MiB of guest RAM: (HPA | 1), 0 while unbacked. */
struct nw_p2m_chunk {
	uint64_t hpa;               /* backed by a 2 MiB or 1 GiB page: this part of it */
	uint64_t *pages;            /* backed by 4 KiB pages: 512 of them, or NULL */
};

/* What a populated guest page is backed by. */
struct nw_backing {
	uint64_t gpa;
	uint64_t hpa;
	int level;
};

struct nw_vm {
	struct nw_vm_cfg cfg;
	struct nw_hostmem host;
	struct nw_acc hacc;         /* host-physical entry accessor */
	struct nw_fmt x86;          /* the guest's (and native) table format */
	struct nw_ept ept;          /* NW_VM_EPT */
	struct nw_npt npt;          /* NW_VM_NPT */
	struct nw_shadow *shadow;   /* NW_VM_SHADOW: the shadow MMU */
	struct nw_p2m_chunk *p2m;   /* NW_VM_SHADOW: guest RAM by 2 MiB */
	struct nw_vcpu *shadow_vcpu;/* NW_VM_SHADOW: the vCPU the shadow MMU works for */
	bool migrate_due;           /* NW_VM_SHADOW: migrate once the shadow operation ends */
	uint64_t eptp;
	uint64_t mmio_gpa;          /* the console page */
	uint64_t shared_hpa;        /* translation-only data frame */
	uint64_t ones_hpa;          /* ept/npt: a frame of all ones, mapped read-only where
				       the guest touches guest-physical memory that is not
				       there (0: not made yet) */
	struct nw_backing *backing; /* populated pages, for migration and accounting */
	uint64_t nbacking, capbacking;
	uint64_t backing_pages[4];  /* by level */
	uint64_t nested_faults;     /* for migrate_every */
	unsigned bugs_left;         /* NW_VM_BUG_* not yet spent */
	int stopped;                /* 0, or the negative errno that stopped the VM */
	unsigned nvcpus;
	struct nw_vcpu vcpus[];
};

/* Exits (exits.c): dispatch one nested fault. 0 resume, 1 emulated (done), <0 stop. */
#define NW_EXIT_RESUME 0
#define NW_EXIT_DONE 2 /* distinct from NW_VCPU_SEGV: translate() returns both */
#define NW_EXIT_INJECT 3 /* shadow: a guest #PF to deliver */
#define NW_EXIT_STRING 4 /* shadow: a string store into a protected guest table */
int nw_vmm_handle_nested(struct nw_vcpu *v, const struct nw_walk *w, unsigned access,
			 uint64_t *val);
/* Record a non-fault exit (CR3 write, INVLPG, IPI) in the views and stats. */
void nw_vmm_exit_simple(struct nw_vcpu *v, enum nw_exit_kind k, uint64_t qual);
/* Record any exit: the qualification and linear address (VMX), or EXITINFO1/2 (SVM). */
void nw_vmm_record_exit(struct nw_vcpu *v, enum nw_exit_kind k, uint64_t qual_or_info1,
			uint64_t gla_or_info2, uint64_t gpa);
/* Back the guest frame at gpa (demand paging), emulate the console, move a page. */
int nw_vmm_populate(struct nw_vcpu *v, uint64_t gpa);
int nw_vmm_mmio(struct nw_vcpu *v, unsigned access, uint64_t *val);
int nw_vmm_migrate(struct nw_vcpu *v);
/* Make every vCPU drop what a nested change made stale (stale_hpa: the
 * host page that lost its mapping, or ~0). */
void nw_vmm_flush_nested(struct nw_vm *vm, uint64_t stale_hpa);
/* Rebuild v->wk and the TLB context after a mode or CR3 change. */
void nw_vcpu_refresh(struct nw_vcpu *v);

static inline bool nw_vm_nested(const struct nw_vm *vm)
{
	return vm->cfg.mode == NW_VM_EPT || vm->cfg.mode == NW_VM_NPT;
}

/* SVM exits and ASIDs: npt, and shadow on an AMD preset (shadow follows the preset). */
static inline bool nw_vm_svm(const struct nw_vm *vm)
{
	return vm->cfg.mode == NW_VM_NPT ||
	       (vm->cfg.mode == NW_VM_SHADOW && vm->cfg.cpu.vendor == NW_VENDOR_AMD);
}

/* Shadow mode (shadow_mmu.c). Each returns 0 (or an NW_EXIT_* code) or a
 * negative errno, which has stopped the VM. */
int nw_vmm_shadow_init(struct nw_vm *vm);
void nw_vmm_shadow_fini(struct nw_vm *vm);
int nw_vmm_p2m_set(struct nw_vm *vm, uint64_t gpa, uint64_t hpa, int level, bool *replaced);
int nw_vmm_shadow_gpa(struct nw_vcpu *v, uint64_t gpa, uint64_t *hpa);
void nw_vmm_shadow_flush_tlbs(struct nw_vm *vm);
/* A #PF of the walk of the shadow: NW_EXIT_RESUME, _DONE (emulated), _INJECT
 * (*error for the guest), _STRING, NW_VCPU_SEGV, or a negative errno. */
int nw_vmm_shadow_pf(struct nw_vcpu *v, uint64_t gva, unsigned access, const struct nw_walk *w,
		     uint64_t *val, uint32_t *error);
int nw_vmm_shadow_cr3(struct nw_vcpu *v, uint64_t cr3);  /* the exit, and the load */
int nw_vmm_shadow_load(struct nw_vcpu *v, uint64_t cr3); /* a load without exit (mode change) */
int nw_vmm_shadow_invlpg(struct nw_vcpu *v, uint64_t gva);
int nw_vmm_shadow_flush(struct nw_vcpu *v);
int nw_vmm_shadow_phys_write(struct nw_vcpu *v, uint64_t gpa, uint64_t val);

#endif
