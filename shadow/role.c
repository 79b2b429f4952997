/* SPDX-License-Identifier: MIT */
/*
 * Roles: what a shadow page's entries mean besides the guest frame they
 * come from (KVM's union kvm_mmu_page_role). Two walks that reach one guest
 * table with different rights above it, or under a different CR0.WP,
 * SMEP, SMAP or NXE, need different shadow entries, so they get different
 * shadow pages.
 */

#include "shadow_internal.h"

uint64_t sh_role_mode(const struct nw_x86_mode *mode)
{
	return (mode->wp ? SH_ROLE_WP : 0) | (mode->smep ? SH_ROLE_SMEP : 0) |
	       (mode->smap ? SH_ROLE_SMAP : 0) | (mode->nxe ? SH_ROLE_NXE : 0);
}

uint64_t sh_role(uint64_t mode_bits, int level, uint32_t access)
{
	return (mode_bits & SH_ROLE_MODE_MASK) | (uint64_t)level |
	       ((uint64_t)(access & SH_ALL_RIGHTS) << SH_ROLE_ACCESS_SHIFT);
}

uint64_t sh_role_direct(uint64_t mode_bits, int level, uint32_t access,
			const struct nw_attr *attr)
{
	return sh_role(mode_bits, level, access) | SH_ROLE_DIRECT |
	       ((uint64_t)(attr->pkey & 0xfu) << SH_ROLE_PKEY_SHIFT) |
	       ((uint64_t)(attr->memtype & 7u) << SH_ROLE_MEMTYPE_SHIFT) |
	       (attr->global ? SH_ROLE_GLOBAL : 0);
}

void sh_role_guest_mode(uint64_t role, const struct nw_x86_mode *extra,
			struct nw_x86_mode *out)
{
	*out = *extra;
	out->wp = role & SH_ROLE_WP;
	out->smep = role & SH_ROLE_SMEP;
	out->smap = role & SH_ROLE_SMAP;
	out->nxe = role & SH_ROLE_NXE;
}

void sh_role_attr(uint64_t role, struct nw_attr *out)
{
	*out = (struct nw_attr){
		.prot = SH_ROLE_ACCESS(role),
		.pkey = (uint8_t)((role >> SH_ROLE_PKEY_SHIFT) & 0xfu),
		.memtype = (uint8_t)((role >> SH_ROLE_MEMTYPE_SHIFT) & 7u),
		.global = role & SH_ROLE_GLOBAL,
	};
}
