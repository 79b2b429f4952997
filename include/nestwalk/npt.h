/* SPDX-License-Identifier: MIT */
#ifndef NESTWALK_NPT_H
#define NESTWALK_NPT_H

/*
 * AMD nested paging (APM Vol. 2, "Nested Paging"): the x86-64 format with
 * the nested rules, the nested-page-fault exit information, SVM exit codes
 * and VMCB offsets, and a table handle.
 *
 * The nested rules: every nested access is a user access (U/S must be 1 at
 * every level); the processor's accesses to guest page tables are writes;
 * and the nested walk follows the host's EFER.NXE and CR4.SMEP, given as
 * NW_FMT_NXE / NW_FMT_SMEP in the walk mode, never the guest's.
 *
 *	struct nw_npt npt;
 *	if (nw_npt_init(&npt, mem, 4, true) < 0) ...         // host NXE on
 *	nw_npt_map(&npt, gpa, hpa, 1 << 30, NW_PROT_RWX, 0, NW_MAP_MAX_1G, NULL);
 *	vmcb_write(NW_VMCB_NCR3, nw_npt_ncr3(&npt));
 *	nw_npt_destroy(&npt);
 */

#include <nestwalk/fmt.h>
#include <nestwalk/pt.h>
#include <nestwalk/walk.h>
#include <nestwalk/x86.h>

/* ---- EXITINFO1 of a nested page fault ---- */
#define NW_NPF_P (1ull << 0)    /* 0: not present; 1: protection or reserved bit */
#define NW_NPF_RW (1ull << 1)   /* the access was a write */
#define NW_NPF_US (1ull << 2)   /* always set: nested accesses are user accesses */
#define NW_NPF_RSV (1ull << 3)  /* a reserved bit was set */
#define NW_NPF_ID (1ull << 4)   /* a fetch, when host NXE or host SMEP */
#define NW_NPF_FINAL (1ull << 32)   /* on the final guest-physical address */
#define NW_NPF_PT_WALK (1ull << 33) /* during the guest page-table walk */

/* ---- SVM exit codes (EXITCODE) ---- */
#define NW_SVM_EXIT_CR3_WRITE 0x13u
#define NW_SVM_EXIT_EXCP_PF 0x4eu
#define NW_SVM_EXIT_CPUID 0x72u
#define NW_SVM_EXIT_HLT 0x78u
#define NW_SVM_EXIT_INVLPG 0x79u
#define NW_SVM_EXIT_INVLPGA 0x7au
#define NW_SVM_EXIT_VMRUN 0x80u
#define NW_SVM_EXIT_VMMCALL 0x81u
#define NW_SVM_EXIT_NPF 0x400u

/* ---- VMCB control-area offsets ---- */
#define NW_VMCB_INTERCEPT_CR 0x000u   /* bits 0-15 CR reads, 16-31 CR writes */
#define NW_VMCB_INTERCEPT_EXC 0x008u  /* bit n: exception vector n */
#define NW_VMCB_INTERCEPT_MISC 0x00cu /* bit 18 CPUID, 24 HLT, 25 INVLPG, 26 INVLPGA */
#define NW_VMCB_ASID 0x058u           /* 0 is the host's: VMRUN fails with it */
#define NW_VMCB_TLB_CONTROL 0x05cu
#define NW_VMCB_EXITCODE 0x070u
#define NW_VMCB_EXITINFO1 0x078u
#define NW_VMCB_EXITINFO2 0x080u
#define NW_VMCB_NP_ENABLE 0x090u      /* bit 0 */
#define NW_VMCB_NCR3 0x0b0u

/* TLB_CONTROL values, acted on at VMRUN. */
#define NW_SVM_TLB_NOTHING 0u
#define NW_SVM_TLB_FLUSH_ALL 1u       /* every ASID */
#define NW_SVM_TLB_FLUSH_ASID 3u      /* this ASID */
#define NW_SVM_TLB_FLUSH_ASID_NG 7u   /* this ASID's non-global entries */

/* The NPT format: x86-64 with PML4E bit 8 reserved, plus the nested hooks. */
int nw_fmt_npt_init(struct nw_fmt *f, unsigned maxphyaddr);

/*
 * EXITINFO1 of the nested page fault that nested walk hw causes for request
 * rq under host mode `mode` (NW_FMT_NXE, NW_FMT_SMEP). EXITINFO2 is rq->gpa.
 */
uint64_t nw_npt_exitinfo1(const struct nw_walk1d *hw, const struct nw_nested_req *rq,
			  unsigned mode);

/*
 * NPT tables. The handle holds its own format, so it must not be copied or
 * moved once initialised. prot is NW_PROT_R (required), W and X; every
 * leaf is U/S=1, since every nested access is a user access. Without host
 * NXE a page cannot be made non-executable (XD would be reserved), so prot
 * without X is -EINVAL then. pat is the leaf's PAT index (bit 0 PWT, 1 PCD,
 * 2 PAT). Errors as in nw_ept_map; nothing changes on failure.
 */
struct nw_npt {
	struct nw_fmt fmt;
	struct nw_pt pt;   /* the tables: pt.root is nCR3 */
	bool nxe;          /* host EFER.NXE, saved at VMRUN */
};

int nw_npt_init(struct nw_npt *npt, struct nw_mem *mem, int levels, bool nxe);
void nw_npt_destroy(struct nw_npt *npt);
/* flags: NW_MAP_MAX_4K/2M/1G (required) and NW_MAP_REPLACE. */
int nw_npt_map(struct nw_npt *npt, uint64_t gpa, uint64_t hpa, uint64_t len, uint32_t prot,
	       unsigned pat, unsigned flags, struct nw_inval *inv);
int nw_npt_unmap(struct nw_npt *npt, uint64_t gpa, uint64_t len, struct nw_inval *inv);
int nw_npt_protect(struct nw_npt *npt, uint64_t gpa, uint64_t len, uint32_t prot,
		   unsigned pat, struct nw_inval *inv);
int nw_npt_lookup(const struct nw_npt *npt, uint64_t gpa, struct nw_pt_entry *out);

/* The value for the VMCB's nCR3 field. */
static inline uint64_t nw_npt_ncr3(const struct nw_npt *npt)
{
	return npt->pt.root;
}

/* The host mode a nested walk of these tables uses (NW_FMT_NXE). */
static inline unsigned nw_npt_mode(const struct nw_npt *npt)
{
	return npt->nxe ? NW_FMT_NXE : 0;
}

#endif
