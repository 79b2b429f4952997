/* SPDX-License-Identifier: MIT */
#ifndef NW_NPT_INTERNAL_H
#define NW_NPT_INTERNAL_H

/* Shared by npt/'s files. Not part of the public API. */

#include <nestwalk/npt.h>

/*
 * The #PF-style error code of a nested access with rights prot: 0 when the
 * access is allowed. prot 0 (nothing allowed) gives the access bits alone.
 */
uint32_t npt_access_error(uint32_t prot, const struct nw_nested_req *rq, unsigned mode);

/* The nested_fault hook of the NPT format (exitinfo.c). */
void npt_nested_fault(const struct nw_fmt *f, const struct nw_walk1d *hw,
		      const struct nw_nested_req *rq, unsigned mode, struct nw_walk *w);

#endif
