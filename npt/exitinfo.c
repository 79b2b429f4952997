/* SPDX-License-Identifier: MIT */
/*
 * Nested page faults (APM Vol. 2, "Nested versus Guest Page Faults"): the
 * access rules of the nested walk and EXITINFO1/2 of VMEXIT_NPF.
 *
 * A nested access is checked as a user access under the host's paging
 * mode: U/S must be 1 at every level, R/W=1 for writes (the walker passes
 * guest page-table accesses as writes), and XD applies only under host
 * EFER.NXE. So the x86 rules of x86_perm.c decide it, with the user bit
 * forced on and the host's NXE and SMEP; EXITINFO1 is the #PF error code
 * they give, plus bit 32 or 33 for where in the 2D walk the fault came.
 */

#include "npt_internal.h"

uint32_t npt_access_error(uint32_t prot, const struct nw_nested_req *rq, unsigned mode)
{
	struct nw_x86_mode host = {
		.wp = true, /* user writes honour R/W whatever CR0.WP says */
		.nxe = (mode & NW_FMT_NXE) != 0,
		.smep = (mode & NW_FMT_SMEP) != 0,
	};
	unsigned access = (rq->access & (NW_ACC_WRITE | NW_ACC_FETCH)) | NW_ACC_USER;

	return nw_x86_access_fault(prot, 0, access, &host);
}

uint64_t nw_npt_exitinfo1(const struct nw_walk1d *hw, const struct nw_nested_req *rq,
			  unsigned mode)
{
	uint64_t info1;

	switch (hw->status) {
	case NW_W1D_NOT_PRESENT:
		info1 = npt_access_error(0, rq, mode) & ~(uint64_t)NW_NPF_P;
		break;
	case NW_W1D_RSVD:
		info1 = npt_access_error(0, rq, mode) | NW_NPF_RSV;
		break;
	default:
		info1 = npt_access_error(hw->prot, rq, mode);
		break;
	}
	return info1 | (rq->final ? NW_NPF_FINAL : NW_NPF_PT_WALK);
}

void npt_nested_fault(const struct nw_fmt *f, const struct nw_walk1d *hw,
		      const struct nw_nested_req *rq, unsigned mode, struct nw_walk *w)
{
	static const enum nw_nested_cause cause[] = {
		[NW_W1D_OK] = NW_NESTED_DENIED,
		[NW_W1D_NOT_PRESENT] = NW_NESTED_NOT_PRESENT,
		[NW_W1D_RSVD] = NW_NESTED_RSVD,
	};

	w->fault = NW_FAULT_NPF;
	/* SVM reports no guest-linear address for a nested page fault. */
	w->exit = (struct nw_exit){
		.cause = cause[hw->status],
		.final = rq->final,
		.access = rq->access,
		.level = hw->level,
		.gpa = rq->gpa,
		.gla = rq->gla,
		.info1 = nw_npt_exitinfo1(hw, rq, mode),
		.info2 = rq->gpa,
	};
}
