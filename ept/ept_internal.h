/* SPDX-License-Identifier: MIT */
#ifndef NW_EPT_INTERNAL_H
#define NW_EPT_INTERNAL_H

/* Shared by ept/'s files. Not part of the public API. */

#include <nestwalk/ept.h>

/* struct ept_fmt_priv, ept_priv() and the inline entry decoders. */
#include "../paging/fmt_fast.h"

/* The nested hooks of the EPT format (qual.c). */
bool ept_nested_permit(const struct nw_fmt *f, const struct nw_walk1d *hw,
		       const struct nw_nested_req *rq, unsigned mode);
void ept_nested_fault(const struct nw_fmt *f, const struct nw_walk1d *hw,
		      const struct nw_nested_req *rq, unsigned mode, struct nw_walk *w);

#endif
