/* SPDX-License-Identifier: MIT */
/*
 * The EPT pointer (SDM Vol. 3C, "Extended-Page-Table Pointer"): what VM
 * entry checks in it, and how to build one.
 */

#include <errno.h>

#include <nestwalk/mem.h>

#include "ept_internal.h"

uint64_t nw_ept_make_eptp(uint64_t root, int levels, unsigned memtype, bool ad)
{
	return (root & NW_EPTP_ADDR_MASK) | (memtype & NW_EPTP_MT_MASK) |
	       (((uint64_t)(levels - 1) << NW_EPTP_PWL_SHIFT) & NW_EPTP_PWL_MASK) |
	       (ad ? NW_EPTP_AD : 0);
}

int nw_ept_eptp_check(uint64_t eptp, const struct nw_ept_caps *caps, unsigned maxphyaddr)
{
	struct nw_ept_caps def;
	unsigned mt = nw_ept_eptp_memtype(eptp);
	int levels = nw_ept_eptp_levels(eptp);

	if (!caps) {
		nw_ept_caps_default(&def);
		caps = &def;
	}
	if (maxphyaddr < NW_MAXPHYADDR_MIN || maxphyaddr > NW_MAXPHYADDR_MAX)
		return -EINVAL;
	if (!((mt == NW_EPT_MT_UC && caps->eptp_uc) || (mt == NW_EPT_MT_WB && caps->eptp_wb)))
		return -EINVAL;
	if (!((levels == 4 && caps->walk4) || (levels == 5 && caps->walk5)))
		return -EINVAL;
	if ((eptp & NW_EPTP_AD) && !caps->ad)
		return -EINVAL;
	if (eptp & (NW_EPTP_SSS | NW_EPTP_RSVD_11_8))
		return -EINVAL;
	if (eptp >> maxphyaddr)
		return -EINVAL; /* bits 63:MAXPHYADDR */
	return 0;
}
