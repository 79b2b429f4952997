/* SPDX-License-Identifier: MIT */
/* x86 access rights and the #PF error code: the rules are in x86_perm.h. */

#include "x86_perm.h"

uint32_t nw_x86_access_fault(uint32_t prot, unsigned pkey, unsigned access,
			     const struct nw_x86_mode *mode)
{
	return x86_perm_fault(prot, pkey, access, mode);
}
