/* SPDX-License-Identifier: MIT */
/*
 * The NPT format (APM Vol. 2, "Nested Paging"): the x86-64 long-mode format
 * with PML4E bit 8 reserved, and the rules of the nested dimension.
 */

#include "npt_internal.h"

static bool npt_nested_permit(const struct nw_fmt *f, const struct nw_walk1d *hw,
			      const struct nw_nested_req *rq, unsigned mode)
{
	return hw->status == NW_W1D_OK && npt_access_error(hw->prot, rq, mode) == 0;
}

int nw_fmt_npt_init(struct nw_fmt *f, unsigned maxphyaddr)
{
	int rc = nw_fmt_x86_init(f, maxphyaddr, NW_X86_NPT);

	if (rc < 0)
		return rc;
	/* Guest table accesses are writes, and nested A/D flags are always kept. */
	f->nested_flags = NW_NESTED_PT_WRITES | NW_NESTED_AD;
	f->nested_permit = npt_nested_permit;
	f->nested_fault = npt_nested_fault;
	return 0;
}
