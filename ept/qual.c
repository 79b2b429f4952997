/* SPDX-License-Identifier: MIT */
/*
 * EPT violations and misconfigurations (SDM Vol. 3C, "EPT-Induced VM
 * Exits" and the exit-qualification table for EPT violations): whether the
 * EPT allows a nested access, and how a refusal is reported.
 *
 * Every request the 2D walker makes comes from a guest linear access, so
 * bit 7 (guest-linear address valid) is always set, and bit 8 says whether
 * the access was to the final translation or to a guest paging-structure
 * entry. The advanced information (bits 9..11) describes the guest page of
 * the final translation; the SDM leaves it undefined for guest
 * paging-structure accesses, and nestwalk reports 0 there.
 */

#include "ept_internal.h"

/* The right an access needs: R to read, W to write, X (or UX) to fetch. */
static uint32_t ept_needed(const struct nw_fmt *f, const struct nw_nested_req *rq)
{
	if (rq->access & NW_ACC_WRITE)
		return NW_PROT_W;
	if (!(rq->access & NW_ACC_FETCH))
		return NW_PROT_R;
	/* MBEC: user pages of the guest execute under UX, supervisor ones under X. */
	if (ept_priv(f)->mbec && (rq->guest_prot & NW_PROT_U))
		return NW_PROT_U;
	return NW_PROT_X;
}

bool ept_nested_permit(const struct nw_fmt *f, const struct nw_walk1d *hw,
		       const struct nw_nested_req *rq, unsigned mode)
{
	uint32_t need = ept_needed(f, rq);

	return hw->status == NW_W1D_OK && (hw->prot & need) == need;
}

/* Bits 0..2: what the access was. */
static uint64_t qual_access(const struct nw_nested_req *rq)
{
	/* A guest paging-structure "write" is reported as a read and a write. */
	if (rq->pt_read_write)
		return NW_EPT_QUAL_READ | NW_EPT_QUAL_WRITE;
	if (rq->access & NW_ACC_WRITE)
		return NW_EPT_QUAL_WRITE;
	if (rq->access & NW_ACC_FETCH)
		return NW_EPT_QUAL_FETCH;
	return NW_EPT_QUAL_READ;
}

/* Bits 3..6: the rights the walked entries grant together. */
static uint64_t qual_rights(const struct nw_fmt *f, const struct nw_walk1d *hw)
{
	uint64_t q = 0;

	/* A walk that met a non-present entry reports no rights at all. */
	if (hw->status == NW_W1D_NOT_PRESENT)
		return 0;
	if (hw->prot & NW_PROT_R)
		q |= NW_EPT_QUAL_READABLE;
	if (hw->prot & NW_PROT_W)
		q |= NW_EPT_QUAL_WRITABLE;
	if (hw->prot & NW_PROT_X)
		q |= NW_EPT_QUAL_EXECUTABLE;
	if (ept_priv(f)->mbec && (hw->prot & NW_PROT_U))
		q |= NW_EPT_QUAL_USER_EXEC;
	return q;
}

/* Bits 9..11: the guest page of the final translation. */
static uint64_t qual_guest_page(const struct nw_nested_req *rq)
{
	uint64_t q = 0;

	if (rq->guest_prot & NW_PROT_U)
		q |= NW_EPT_QUAL_GUEST_USER;
	if (rq->guest_prot & NW_PROT_W)
		q |= NW_EPT_QUAL_GUEST_WRITE;
	if (!(rq->guest_prot & NW_PROT_X))
		q |= NW_EPT_QUAL_GUEST_NX;
	return q;
}

uint64_t nw_ept_qual(const struct nw_fmt *f, const struct nw_walk1d *hw,
		     const struct nw_nested_req *rq)
{
	uint64_t q = qual_access(rq) | qual_rights(f, hw) | NW_EPT_QUAL_GLA_VALID;

	if (rq->final) {
		q |= NW_EPT_QUAL_FINAL;
		if (ept_priv(f)->adv_exit_info)
			q |= qual_guest_page(rq);
	}
	return q;
}

void ept_nested_fault(const struct nw_fmt *f, const struct nw_walk1d *hw,
		      const struct nw_nested_req *rq, unsigned mode, struct nw_walk *w)
{
	w->exit = (struct nw_exit){
		.final = rq->final,
		.access = rq->access,
		.level = hw->level,
		.gpa = rq->gpa,
		.gla = rq->gla,
	};
	if (hw->status == NW_W1D_RSVD) {
		/* Exit reason 49: qualification 0, no guest-linear address. */
		w->fault = NW_FAULT_EPT_MISCONFIG;
		w->exit.cause = NW_NESTED_RSVD;
		return;
	}
	w->fault = NW_FAULT_EPT_VIOLATION;
	w->exit.cause = hw->status == NW_W1D_NOT_PRESENT ? NW_NESTED_NOT_PRESENT
							 : NW_NESTED_DENIED;
	w->exit.gla_valid = true;
	w->exit.qual = nw_ept_qual(f, hw, rq);
}
