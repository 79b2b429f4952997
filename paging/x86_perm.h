/* SPDX-License-Identifier: MIT */
#ifndef NW_X86_PERM_H
#define NW_X86_PERM_H

/*
 * x86 access rights (SDM Vol. 3A §4.6) and the #PF error code (§4.7), as
 * an inline function: nw_x86_access_fault is this, and the walkers and the
 * TLB's hit check call it inline. Not part of the public API.
 *
 * x86_perm_fault(0, ...) on a translation with no rights at all faults on
 * every access, which the walker uses to get the access-kind bits of the
 * error code for not-present and reserved-bit faults from the same code.
 */

#include <nestwalk/x86.h>

/* The error code bits that describe the access itself. */
static inline uint32_t x86_access_bits(unsigned access, const struct nw_x86_mode *mode)
{
	uint32_t e = NW_PFEC_P;

	if (access & NW_ACC_WRITE)
		e |= NW_PFEC_W;
	if (access & NW_ACC_USER)
		e |= NW_PFEC_U;
	/* I/D exists only when execute protection does: EFER.NXE or CR4.SMEP. */
	if ((access & NW_ACC_FETCH) && (mode->nxe || mode->smep))
		e |= NW_PFEC_ID;
	return e;
}

/* Protection keys: only data accesses to user pages, with CR4.PKE. */
static inline bool x86_pkru_denies(uint32_t prot, unsigned pkey, unsigned access,
				   const struct nw_x86_mode *mode)
{
	bool user = access & NW_ACC_USER;
	bool write = access & NW_ACC_WRITE;

	if (!mode->pke || !(prot & NW_PROT_U) || (access & NW_ACC_FETCH))
		return false;
	bool ad = (mode->pkru >> (2 * pkey)) & 1;
	bool wd = (mode->pkru >> (2 * pkey + 1)) & 1;
	/* WD binds supervisor writes only when CR0.WP is set. */
	return ad || (wd && write && (user || mode->wp));
}

static inline uint32_t x86_perm_fault(uint32_t prot, unsigned pkey, unsigned access,
				      const struct nw_x86_mode *mode)
{
	bool user = access & NW_ACC_USER;
	bool write = access & NW_ACC_WRITE;
	bool fetch = access & NW_ACC_FETCH;
	bool upage = prot & NW_PROT_U;
	bool fault = false;
	uint32_t err = x86_access_bits(access, mode);

	if (!(prot & NW_PROT_R))
		return err; /* nothing is allowed: not present or reserved */
	if (user && !upage)
		fault = true;
	/* CR0.WP = 0 lets supervisor writes through read-only pages. */
	if (write && !(prot & NW_PROT_W) && (user || mode->wp))
		fault = true;
	if (fetch && !(prot & NW_PROT_X) && mode->nxe)
		fault = true;
	if (!user && upage) {
		if (fetch && mode->smep)
			fault = true;
		/* SMAP: EFLAGS.AC opens explicit accesses only, never implicit ones. */
		if (!fetch && mode->smap && (!mode->ac || (access & NW_ACC_IMPLICIT)))
			fault = true;
	}
	if (x86_pkru_denies(prot, pkey, access, mode)) {
		fault = true;
		err |= NW_PFEC_PK;
	}
	return fault ? err : 0;
}

#endif
