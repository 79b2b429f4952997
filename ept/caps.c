/* SPDX-License-Identifier: MIT */
/*
 * EPT capabilities and IA32_VMX_EPT_VPID_CAP (SDM Vol. 3D, Appendix A.10).
 * MBEC is a secondary processor-based control (bit 22), not a bit of this
 * MSR, so it never travels through it.
 */

#include "ept_internal.h"

void nw_ept_caps_default(struct nw_ept_caps *caps)
{
	*caps = (struct nw_ept_caps){
		.exec_only = true,
		.walk4 = true,
		.walk5 = true,
		.eptp_uc = true,
		.eptp_wb = true,
		.page_2m = true,
		.page_1g = true,
		.ad = true,
		.adv_exit_info = true,
		.invept_single = true,
		.invept_all = true,
		.mbec = false,
	};
}

void nw_ept_caps_from_msr(struct nw_ept_caps *caps, uint64_t msr)
{
	bool invept = msr & NW_EPT_CAP_INVEPT;

	*caps = (struct nw_ept_caps){
		.exec_only = msr & NW_EPT_CAP_EXEC_ONLY,
		.walk4 = msr & NW_EPT_CAP_PWL4,
		.walk5 = msr & NW_EPT_CAP_PWL5,
		.eptp_uc = msr & NW_EPT_CAP_UC,
		.eptp_wb = msr & NW_EPT_CAP_WB,
		.page_2m = msr & NW_EPT_CAP_2M,
		.page_1g = msr & NW_EPT_CAP_1G,
		.ad = msr & NW_EPT_CAP_AD,
		.adv_exit_info = msr & NW_EPT_CAP_ADV_EXIT_INFO,
		/* The type bits mean nothing when INVEPT itself is missing. */
		.invept_single = invept && (msr & NW_EPT_CAP_INVEPT_SINGLE),
		.invept_all = invept && (msr & NW_EPT_CAP_INVEPT_ALL),
	};
}

uint64_t nw_ept_caps_to_msr(const struct nw_ept_caps *caps)
{
	uint64_t msr = 0;

	if (caps->exec_only)
		msr |= NW_EPT_CAP_EXEC_ONLY;
	if (caps->walk4)
		msr |= NW_EPT_CAP_PWL4;
	if (caps->walk5)
		msr |= NW_EPT_CAP_PWL5;
	if (caps->eptp_uc)
		msr |= NW_EPT_CAP_UC;
	if (caps->eptp_wb)
		msr |= NW_EPT_CAP_WB;
	if (caps->page_2m)
		msr |= NW_EPT_CAP_2M;
	if (caps->page_1g)
		msr |= NW_EPT_CAP_1G;
	if (caps->ad)
		msr |= NW_EPT_CAP_AD;
	if (caps->adv_exit_info)
		msr |= NW_EPT_CAP_ADV_EXIT_INFO;
	if (caps->invept_single)
		msr |= NW_EPT_CAP_INVEPT | NW_EPT_CAP_INVEPT_SINGLE;
	if (caps->invept_all)
		msr |= NW_EPT_CAP_INVEPT | NW_EPT_CAP_INVEPT_ALL;
	return msr;
}
