/* SPDX-License-Identifier: MIT */
#ifndef NESTWALK_VMM_H
#define NESTWALK_VMM_H

/*
 * The hypervisor: a VM with guest RAM in memslots, host memory that backs it
 * on demand, and vCPUs that run a guest in software. Every guest memory
 * access goes through the vCPU's MMU (TLBs, walks, latency model). What
 * needs the VMM leaves through a VM exit with the real exit number and
 * information, is dispatched through a handler table, emulated, and the
 * access is retried, as a real run loop does.
 *
 *	struct nw_vm_cfg cfg;
 *	nw_vm_cfg_default(&cfg);
 *	cfg.mode = NW_VM_EPT;
 *	struct nw_vm *vm;
 *	if (nw_vm_create(&cfg, &vm, err, sizeof(err)) < 0) ...
 *	struct nw_vcpu *v = nw_vm_vcpu(vm, 0);
 *	nw_vcpu_set_guest(v, &my_guest_ops, my_guest);
 *	nw_vcpu_set_paging(v, &mode, pcide);
 *	nw_vcpu_mov_cr3(v, root_gpa);
 *	uint64_t x;
 *	nw_vcpu_access(v, gva, NW_ACC_USER, &x);      // a user-mode load
 *	nw_vm_destroy(vm);
 *
 * Modes:
 *  - native: no VMM in the path. Guest-physical addresses are host-physical
 *    (RAM sits at HPA 0 of the host arena) and the guest's tables are walked
 *    directly: the baseline.
 *  - ept / npt: guest tables in guest-physical memory, nested tables built
 *    by the VMM on demand; the first touch of a guest frame exits (EPT
 *    violation, reason 48; NPF, 0x400) and the handler backs it.
 *  - shadow: shadow tables that the VMM builds from the guest's (shadow/).
 */

#include <nestwalk/tlb.h>
#include <nestwalk/tlb_preset.h>
#include <nestwalk/walk.h>

enum nw_vm_mode {
	NW_VM_NATIVE = 0,
	NW_VM_EPT,
	NW_VM_NPT,
	NW_VM_SHADOW,
	NW_VM_MODES
};

const char *nw_vm_mode_name(enum nw_vm_mode m);
/* 0, or -EINVAL for an unknown name. */
int nw_vm_mode_parse(const char *s, enum nw_vm_mode *out);

#define NW_VM_MAX_VCPUS 64

/* Deliberate bugs, for negative controls: each must make a test fail. */
#define NW_VM_BUG_SKIP_INVEPT 0x1u   /* the VMM forgets one required INVEPT / TLB_CONTROL flush */

struct nw_vm_cfg {
	enum nw_vm_mode mode;
	struct nw_cpu_preset cpu;  /* TLB geometry, latencies, vendor */
	uint64_t ram;              /* guest RAM bytes, a multiple of 2 MiB */
	int host_page;             /* backing pages: NW_PAGE_4K/2M/1G, or 0 for the largest that fits */
	int host_levels;           /* EPT/NPT levels: 4 or 5 */
	unsigned vcpus;            /* 1..NW_VM_MAX_VCPUS */
	uint64_t seed;             /* order in which host frames are handed out */
	uint64_t host_frames;      /* host memory budget in 4 KiB frames; 0: enough */
	bool caches;               /* false: every walk makes every reference */
	bool vpid;                 /* VPID/ASID tagging; off: flushes at every VM entry and exit */
	/*
	 * Translation-only data: every guest frame at or above data_gpa is
	 * backed by one shared host frame, so working sets may exceed the
	 * machine. The tables stay real; data checksums mean nothing.
	 */
	bool translation_only;
	uint64_t data_gpa;
	uint64_t migrate_every;    /* every N nested faults, move one backing page (0: never) */
	unsigned bugs;             /* NW_VM_BUG_* */
	/* NW_VM_SHADOW: the shadow MMU's switches (nw_shadow_cfg has their meaning). */
	struct nw_vm_shadow_cfg {
		bool unsync;               /* unsync leaf tables (default on) */
		bool large_pages;          /* 2 MiB shadow leaves (default on) */
		unsigned root_cache;       /* previous roots kept per vCPU, 0..16 (default 4) */
		unsigned flood_threshold;  /* emulated writes that unshadow a table; 0: never (default 3) */
		bool checker;              /* check every shadow entry after every shadow operation
					      (slow; a failure stops the VM with -EUCLEAN) */
	} shadow;
};

/* A sane default: ept, the generic preset, 256 MiB, 4K host pages, 1 vCPU;
 * the shadow MMU's defaults. */
void nw_vm_cfg_default(struct nw_vm_cfg *cfg);

struct nw_vm;
struct nw_vcpu;

/* 0; -EINVAL (bad configuration, with a message in err); -ENOMEM. */
int nw_vm_create(const struct nw_vm_cfg *cfg, struct nw_vm **out, char *err, size_t errlen);
void nw_vm_destroy(struct nw_vm *vm);
const struct nw_vm_cfg *nw_vm_config(const struct nw_vm *vm);
struct nw_vcpu *nw_vm_vcpu(struct nw_vm *vm, unsigned i);
unsigned nw_vm_vcpus(const struct nw_vm *vm);
/* Nonzero once the VM has stopped (host memory exhausted: -ENOMEM). */
int nw_vm_stopped(const struct nw_vm *vm);
/* Why it stopped beyond the errno: the shadow checker's finding when it
 * stopped the VM (-EUCLEAN, shadow.checker on); "" otherwise. */
const char *nw_vm_stop_detail(const struct nw_vm *vm);

/* ---- what the guest OS model provides ---- */

struct nw_guest_ops {
	/*
	 * A #PF delivered to the guest (CR2 and the error code). Return 0 when
	 * the guest fixed it (the access is retried), or nonzero to fail the
	 * access (the process would get SIGSEGV).
	 */
	int (*page_fault)(void *guest, struct nw_vcpu *v, uint64_t cr2, uint32_t error);
	/* A write to the debug console port (MMIO): one byte. */
	void (*console)(void *guest, struct nw_vcpu *v, uint8_t byte);
};

void nw_vcpu_set_guest(struct nw_vcpu *v, const struct nw_guest_ops *ops, void *guest);
unsigned nw_vcpu_id(const struct nw_vcpu *v);
struct nw_vm *nw_vcpu_vm(struct nw_vcpu *v);

/* ---- the guest's instructions ---- */

/* Results of nw_vcpu_access beyond 0 and a negative errno. */
#define NW_VCPU_SEGV 1 /* the guest's #PF handler refused the fault */

/*
 * One 8-byte access at gva (8-byte aligned), with NW_ACC_WRITE / FETCH and
 * NW_ACC_USER for CPL 3. *val is stored for a write and loaded otherwise.
 * Returns 0; NW_VCPU_SEGV; or a negative errno once the VM has stopped.
 */
int nw_vcpu_access(struct nw_vcpu *v, uint64_t gva, unsigned access, uint64_t *val);

/* rep stosq / rep movsq of one 4 KiB page, as the guest kernel's clear_page
 * and copy_page: one translation each, charged as 64 line accesses. */
int nw_vcpu_zero_page(struct nw_vcpu *v, uint64_t gva, unsigned access);
int nw_vcpu_copy_page(struct nw_vcpu *v, uint64_t dst, uint64_t src, unsigned access);

/* Paging state: CR0.WP, CR4.SMEP/SMAP/PKE/LA57, EFER.NXE, PKRU; pcide is CR4.PCIDE. */
void nw_vcpu_set_paging(struct nw_vcpu *v, const struct nw_x86_mode *mode, bool pcide);
/* MOV to CR3: address, PCID in bits 11:0 and bit 63 "keep" when PCIDE. */
int nw_vcpu_mov_cr3(struct nw_vcpu *v, uint64_t cr3);
uint64_t nw_vcpu_cr3(const struct nw_vcpu *v);
int nw_vcpu_invlpg(struct nw_vcpu *v, uint64_t gva);
/* INVPCID (types 0-3). */
int nw_vcpu_invpcid(struct nw_vcpu *v, unsigned type, uint16_t pcid, uint64_t gva);

/*
 * An IPI: run fn on vCPU `target` now (the model interleaves
 * deterministically, so delivery is immediate). Charged as an exit on the
 * sender when the mode has the VMM in the path.
 */
int nw_vcpu_ipi(struct nw_vcpu *v, unsigned target,
		void (*fn)(struct nw_vcpu *dst, void *arg), void *arg);

/*
 * Guest-physical access with paging off (the guest kernel's boot): 8 bytes
 * at gpa, through the nested dimension only.
 */
int nw_vcpu_phys_access(struct nw_vcpu *v, uint64_t gpa, unsigned access, uint64_t *val);

/* ---- the VMCS and VMCB views (vmm/vmcs.h has the encodings) ---- */

/* VMREAD of a field by its encoding: 0, or -EINVAL for one not modelled. */
int nw_vcpu_vmread(const struct nw_vcpu *v, uint32_t enc, uint64_t *val);
/* A field of the VMCB by offset and size in bytes (1, 2, 4 or 8). */
uint64_t nw_vcpu_vmcb(const struct nw_vcpu *v, unsigned off, unsigned size);

/* ---- figures ---- */

/* Vendor-neutral exit kinds; each has the vendor's real number too. */
enum nw_exit_kind {
	NW_EXIT_NESTED_FAULT = 0, /* EPT violation (48) / NPF (0x400) */
	NW_EXIT_EPT_MISCONFIG,    /* 49 (MMIO on EPT) */
	NW_EXIT_CR3_WRITE,        /* 28 / 0x13 */
	NW_EXIT_INVLPG,           /* 14 / 0x79 */
	NW_EXIT_PF,               /* exception 14 (0) / 0x4E */
	NW_EXIT_IPI,              /* APIC write; counted as one exit */
	NW_EXIT_KINDS
};

const char *nw_exit_name(enum nw_exit_kind k);

struct nw_vcpu_stats {
	uint64_t loads, stores, fetches;      /* "access.loads" ... */
	uint64_t guest_pf;                    /* "guest.pf": #PFs delivered to the guest */
	uint64_t exits[NW_EXIT_KINDS];        /* "exits.<kind>" */
	uint64_t populated;                   /* "vmm.populated": backing pages allocated */
	uint64_t migrated;                    /* "vmm.migrated": backing pages moved */
	uint64_t mmio;                        /* "vmm.mmio": emulated device accesses */
	uint64_t cr3_writes, invlpg, ipis;    /* "guest.cr3_writes", "guest.invlpg", "guest.ipis" */
	uint64_t checksum;                    /* "data.checksum": XOR-rotate of every load */
};

const struct nw_vcpu_stats *nw_vcpu_stats(const struct nw_vcpu *v);
struct nw_tlb *nw_vcpu_tlb(struct nw_vcpu *v);

/* Every figure of a vCPU (its own and its TLB's), by stable name. */
size_t nw_vcpu_stats_list(struct nw_vcpu *v, struct nw_stat *out, size_t max);

/* Host memory in use: backing pages, nested tables, everything (4 KiB frames). */
uint64_t nw_vm_host_frames(const struct nw_vm *vm);
uint64_t nw_vm_backing_pages(const struct nw_vm *vm, int level); /* by size */
uint64_t nw_vm_nested_table_pages(const struct nw_vm *vm);

#endif
