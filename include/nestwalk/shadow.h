/* SPDX-License-Identifier: MIT */
#ifndef NESTWALK_SHADOW_H
#define NESTWALK_SHADOW_H

/*
 * The shadow MMU: x86-64 shadow tables that map guest-virtual addresses
 * straight to host-physical ones, built lazily from the guest's own tables,
 * as KVM's shadow MMU does (arch/x86/kvm/mmu/mmu.c, paging_tmpl.h).
 *
 * The vCPU's hardware walk uses the shadow tables (1D, from sCR3) under
 * nw_shadow_hw_mode(). When it faults, the VMM asks the shadow MMU:
 *
 *	struct nw_shadow_cfg cfg;
 *	nw_shadow_cfg_default(&cfg);
 *	cfg.mem = mem;                         // frames for shadow pages
 *	cfg.ops.gpa_to_hpa = my_p2m;           // guest RAM; -EFAULT outside it
 *	cfg.ctx = vm;
 *	struct nw_shadow *sh;
 *	nw_shadow_create(&cfg, &sh);
 *	nw_shadow_load_cr3(sh, 0, gcr3, &mode, &scr3);   // MOV CR3 exit
 *	... hardware walk of scr3 faults with error code e at gva ...
 *	struct nw_shadow_outcome o;
 *	nw_shadow_page_fault(sh, 0, &mode, gva, e, &o);
 *	switch (o.result) {
 *	case NW_SHADOW_FIXED:    retry the access;
 *	case NW_SHADOW_INJECT:   deliver #PF(o.pf_error) at o.cr2 to the guest;
 *	case NW_SHADOW_EMULATE:  nw_shadow_emulate_write(sh, o.gpa, value); done;
 *	case NW_SHADOW_MMIO:     emulate the device access at o.gpa;
 *	}
 *	nw_shadow_invlpg(sh, 0, gva);                    // INVLPG exit
 *	nw_shadow_destroy(sh);
 *
 * What it models:
 *  - a shadow-page cache keyed by guest table frame, level and role; the
 *    role holds what changes an entry's meaning: CR0.WP, CR4.SMEP/SMAP,
 *    EFER.NXE and the rights gathered above the table;
 *  - a guest 2 MiB page shadowed by one 2 MiB shadow leaf where one 2 MiB
 *    host page backs it and no frame inside it is a shadowed guest table
 *    (KVM's huge-page rules); otherwise, and for guest 1 GiB pages, by
 *    "direct" pages of 4 KiB entries;
 *  - reverse maps from a guest frame to the shadow leaves that map it;
 *    every shadowed guest table frame is write-protected through them;
 *  - emulated A/D: the guest's A bits are set when a shadow entry is made,
 *    and a shadow leaf is writable only once the guest's D bit is set;
 *  - unsync leaf tables: a level-1 guest table may be left unprotected
 *    until the guest's next INVLPG (that address), CR3 load or flush;
 *  - write-flood detection: a table written too often between uses is
 *    unshadowed;
 *  - previous-root caching across CR3 loads, per vCPU.
 *
 * Any garbage in the guest's tables makes guest page faults, never a
 * failure of the shadow MMU. Functions return 0 or a negative errno. One
 * caller at a time: the VMM runs its vCPUs in turn.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nestwalk/acc.h>
#include <nestwalk/mem.h>
#include <nestwalk/tlb_stats.h>
#include <nestwalk/x86.h>

#define NW_SHADOW_MAX_VCPUS 64
#define NW_SHADOW_MAX_ROOT_CACHE 16

/* Deliberate bugs, for negative controls: each must make a check fail. */
#define NW_SHADOW_BUG_SKIP_WP 0x1u /* forget to write-protect one guest table frame */
#define NW_SHADOW_BUG_LARGE_OVER_TABLE 0x2u /* 2 MiB leaves over shadowed guest tables */
#define NW_SHADOW_BUG_SKIP_TRACK 0x4u /* emulated writes leave the shadow entries as they were */

/*
 * A software-only error-code bit: the access was an implicit supervisor
 * access, which SMAP denies whatever EFLAGS.AC says (KVM's
 * PFERR_IMPLICIT_ACCESS). Hardware never reports it.
 */
#define NW_SHADOW_PFEC_IMPLICIT (1ull << 48)

struct nw_shadow_ops {
	/*
	 * The p2m: the host-physical address of guest-physical gpa (any byte).
	 * The VMM may back RAM on demand here. -EFAULT when gpa is not RAM
	 * (MMIO or nothing); other errors (-ENOMEM) are passed to the caller.
	 */
	int (*gpa_to_hpa)(void *ctx, uint64_t gpa, uint64_t *hpa);
	/*
	 * Every vCPU must drop the linear translations and paging-structure
	 * entries it cached (INVVPID single-context, or TLB_CONTROL 3), once
	 * per operation that needs it. Asked for where the shadow MMU's own
	 * invariants need it: write protection, freed shadow pages, p2m
	 * changes, rights it narrows on its own. Not for entries that merely
	 * follow the guest's page-table stores: the guest invalidates those
	 * itself (INVLPG, CR3 loads), as on hardware, so a guest that forgets
	 * sees stale translations as it would there. (KVM flushes for those
	 * too.) Optional.
	 */
	void (*flush_tlb)(void *ctx);
	/*
	 * The size of the host page backing gpa (asked after gpa_to_hpa
	 * succeeded for it): NW_PAGE_2M or more when one aligned host page
	 * backs the whole 2 MiB-aligned range around gpa, NW_PAGE_4K
	 * otherwise. Optional: without it, shadow leaves are 4 KiB.
	 */
	int (*host_level)(void *ctx, uint64_t gpa);
};

struct nw_shadow_cfg {
	struct nw_mem *mem;         /* frames for shadow pages (host-physical) */
	const struct nw_acc *acc;   /* host-physical entry accessor; NULL: plain in mem */
	struct nw_shadow_ops ops;
	void *ctx;                  /* for ops */
	unsigned maxphyaddr;        /* the guest's MAXPHYADDR; 0: mem's */
	unsigned vcpus;             /* 1..NW_SHADOW_MAX_VCPUS */
	bool unsync;                /* allow unsync leaf tables (default on) */
	unsigned root_cache;        /* previous roots kept per vCPU (default 4) */
	bool large_pages;           /* 2 MiB shadow leaves where guest and host pages
				       are both 2 MiB (default on; needs ops.host_level) */
	unsigned flood_threshold;   /* emulated writes between uses that unshadow a
				       table (default 3, as KVM); 0: never */
	uint64_t max_pages;         /* shadow pages allowed; 0: as many as mem gives */
	bool checker;               /* run nw_shadow_check after every operation */
	unsigned bugs;              /* NW_SHADOW_BUG_* */
};

/* Defaults: unsync on, large pages on, 4 previous roots, flood threshold 3, 1 vCPU. */
void nw_shadow_cfg_default(struct nw_shadow_cfg *cfg);

struct nw_shadow;

/* 0; -EINVAL for a bad configuration; -ENOMEM. */
int nw_shadow_create(const struct nw_shadow_cfg *cfg, struct nw_shadow **out);
/* Free every shadow page. */
void nw_shadow_destroy(struct nw_shadow *sh);

/*
 * The mode the vCPU's hardware walk of the shadow tables runs in: the
 * guest's, with CR0.WP = 1 (so supervisor writes to write-protected guest
 * tables trap) and EFER.NXE = 1 (so shadow entries can deny execution), as
 * KVM runs shadow paging.
 */
void nw_shadow_hw_mode(const struct nw_x86_mode *guest, struct nw_x86_mode *hw);

/*
 * MOV to CR3 (and any change of the paging mode) on vCPU `vcpu`: make the
 * shadow root for the guest table at cr3 under `mode` current, from the
 * previous-roots cache when it holds one, and give its address in *scr3.
 * Bit 63 of cr3 set (CR4.PCIDE's "keep the TLB") skips the resync of unsync
 * tables that a flushing load makes. -ENOMEM; -EINVAL for a bad argument.
 */
int nw_shadow_load_cr3(struct nw_shadow *sh, unsigned vcpu, uint64_t cr3,
		       const struct nw_x86_mode *mode, uint64_t *scr3);

enum nw_shadow_result {
	NW_SHADOW_FIXED = 0, /* the shadow now allows the access: retry it */
	NW_SHADOW_INJECT,    /* a guest #PF: pf_error at cr2 */
	NW_SHADOW_EMULATE,   /* a write the guest allows but the shadow must not:
				the VMM performs it with nw_shadow_emulate_write(gpa) */
	NW_SHADOW_MMIO,      /* the guest maps gpa, which is not RAM: emulate the device */
};

struct nw_shadow_outcome {
	enum nw_shadow_result result;
	uint32_t pf_error;   /* INJECT: the guest's #PF error code */
	uint64_t cr2;        /* INJECT: the faulting address */
	uint64_t gpa;        /* EMULATE, MMIO: guest-physical address of the access */
	int level;           /* FIXED, EMULATE, MMIO: level of the guest's leaf */
};

/*
 * A fault of the hardware walk of vCPU `vcpu`'s shadow tables at gva, with
 * the hardware's #PF error code (P, W, U, I/D; NW_SHADOW_PFEC_IMPLICIT may
 * be added). Walks the guest's tables under `mode`: a guest fault is
 * injected and nothing is shadowed; otherwise the shadow path is built,
 * guest A (and D for a write) set, and every guest table on the path
 * write-protected. 0 with *out filled; -ENOMEM; -EINVAL when no root is
 * loaded or mode differs from the root's; errors of gpa_to_hpa.
 */
int nw_shadow_page_fault(struct nw_shadow *sh, unsigned vcpu, const struct nw_x86_mode *mode,
			 uint64_t gva, uint64_t error, struct nw_shadow_outcome *out);

/*
 * Perform a guest store of the 8-byte val at gpa (8-byte aligned) for the
 * VMM, then update or zap every shadow entry derived from the guest entry
 * it overwrote. Counts towards write-flood detection of that table.
 * -EFAULT when gpa is not RAM; -EINVAL when misaligned.
 */
int nw_shadow_emulate_write(struct nw_shadow *sh, uint64_t gpa, uint64_t val);

/*
 * A guest-physical store that did not go through the shadow (the VMM's own,
 * or the guest's with paging off): performed as nw_shadow_emulate_write
 * does, and counted as an emulated write only where the frame is a
 * protected guest table, where the store would have trapped.
 */
int nw_shadow_write_gpa(struct nw_shadow *sh, uint64_t gpa, uint64_t val);

/* INVLPG gva on vCPU `vcpu`: resynchronise the shadow leaf of gva in the
 * unsync table on its path, if there is one. */
int nw_shadow_invlpg(struct nw_shadow *sh, unsigned vcpu, uint64_t gva);

/* A guest TLB flush (INVPCID, CR4 toggles): resynchronise every unsync table. */
int nw_shadow_flush(struct nw_shadow *sh);

/* The p2m changed for [gpa, gpa + len): zap every shadow leaf that maps it. */
int nw_shadow_zap_gpa_range(struct nw_shadow *sh, uint64_t gpa, uint64_t len);

/*
 * The checker: every live shadow entry equals (guest tables ∘ p2m) for the
 * addresses it maps, with rights no greater than the guest's, a writable
 * leaf only where the guest's D is set and the target is no protected guest
 * table, and every guest entry used with A set; unsync tables are exempt
 * from the comparison with the guest. Also the bookkeeping: reverse maps,
 * parent links, roots and counts. mode supplies CR4.PKE, PKRU and
 * EFLAGS.AC (the rest comes from each page's role); NULL: vCPU 0's.
 * 0, or -EUCLEAN with a message in buf.
 */
int nw_shadow_check(struct nw_shadow *sh, const struct nw_x86_mode *mode, char *buf,
		    size_t buflen);
/* With cfg.checker, the message of the failure an operation returned -EUCLEAN for. */
const char *nw_shadow_check_msg(const struct nw_shadow *sh);

struct nw_shadow_stats {
	uint64_t pages;            /* "shadow.pages": shadow pages now */
	uint64_t pages_created;    /* "shadow.pages.created" */
	uint64_t zaps;             /* "shadow.zaps": shadow pages zapped */
	uint64_t syncs;            /* "shadow.syncs": unsync tables resynchronised */
	uint64_t invlpg_syncs;     /* "shadow.invlpg_syncs": entries resynchronised by INVLPG */
	uint64_t unsyncs;          /* "shadow.unsyncs": tables made unsync */
	uint64_t emulated_writes;  /* "shadow.emulated_writes" */
	uint64_t write_protects;   /* "shadow.write_protects": writable leaves made read-only */
	uint64_t root_hits;        /* "shadow.root_hits": CR3 loads served by the root cache */
	uint64_t root_misses;      /* "shadow.root_misses" */
	uint64_t unshadowed;       /* "shadow.unshadowed": tables zapped for write flooding */
	uint64_t reclaimed;        /* "shadow.reclaimed": pages zapped for room */
	uint64_t faults_fixed;     /* "shadow.faults.fixed" */
	uint64_t faults_injected;  /* "shadow.faults.injected" */
	uint64_t faults_emulate;   /* "shadow.faults.emulate" */
	uint64_t faults_mmio;      /* "shadow.faults.mmio" */
	uint64_t tlb_flushes;      /* "shadow.tlb_flushes": flush_tlb requests */
	uint64_t large_leaves;     /* "shadow.large_leaves": 2 MiB shadow leaves set */
	uint64_t large_zaps;       /* "shadow.large_zaps": 2 MiB leaves zapped because a
				      guest table appeared inside them or the p2m changed */
};

const struct nw_shadow_stats *nw_shadow_stats(const struct nw_shadow *sh);

#define NW_SHADOW_STATS_MAX 20
/* Every figure by stable name, always in the same order; returns how many
 * there are (more than max: the list was cut short). */
size_t nw_shadow_stats_list(const struct nw_shadow *sh, struct nw_stat *out, size_t max);

#endif
