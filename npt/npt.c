/* SPDX-License-Identifier: MIT */
/*
 * NPT tables as a hypervisor keeps them: GPA ranges over the radix engine,
 * which makes every change all-or-nothing. This layer makes every leaf a
 * user page and refuses what NPT cannot express before the engine runs.
 */

#include <errno.h>

#include "npt_internal.h"

static int npt_make_attr(const struct nw_npt *npt, uint32_t prot, unsigned pat,
			 struct nw_attr *attr)
{
	/* U is implied: a supervisor-only nested page can never be used. */
	prot |= NW_PROT_U;
	if (!(prot & NW_PROT_R) || (prot & ~(NW_PROT_RWX | NW_PROT_U)) || pat > 7)
		return -EINVAL;
	if (!(prot & NW_PROT_X) && !npt->nxe)
		return -EINVAL; /* XD would be a reserved bit under the host's EFER */
	*attr = (struct nw_attr){ .prot = prot, .memtype = (uint8_t)pat };
	return 0;
}

int nw_npt_init(struct nw_npt *npt, struct nw_mem *mem, int levels, bool nxe)
{
	int rc;

	if (!npt || !mem)
		return -EINVAL;
	rc = nw_fmt_npt_init(&npt->fmt, mem->maxphyaddr);
	if (rc < 0)
		return rc;
	npt->nxe = nxe;
	struct nw_pt_cfg cfg = { .fmt = &npt->fmt, .mem = mem, .levels = levels, .linear = false };
	return nw_pt_init(&npt->pt, &cfg);
}

void nw_npt_destroy(struct nw_npt *npt)
{
	if (npt)
		nw_pt_destroy(&npt->pt);
}

int nw_npt_map(struct nw_npt *npt, uint64_t gpa, uint64_t hpa, uint64_t len, uint32_t prot,
	       unsigned pat, unsigned flags, struct nw_inval *inv)
{
	struct nw_attr attr;
	int rc;

	if (inv)
		*inv = (struct nw_inval){ .kind = NW_INVAL_NONE };
	rc = npt_make_attr(npt, prot, pat, &attr);
	if (rc < 0)
		return rc;
	return nw_pt_map(&npt->pt, gpa, hpa, len, &attr, flags, inv);
}

int nw_npt_unmap(struct nw_npt *npt, uint64_t gpa, uint64_t len, struct nw_inval *inv)
{
	return nw_pt_unmap(&npt->pt, gpa, len, inv);
}

int nw_npt_protect(struct nw_npt *npt, uint64_t gpa, uint64_t len, uint32_t prot,
		   unsigned pat, struct nw_inval *inv)
{
	struct nw_attr attr;
	int rc;

	if (inv)
		*inv = (struct nw_inval){ .kind = NW_INVAL_NONE };
	rc = npt_make_attr(npt, prot, pat, &attr);
	if (rc < 0)
		return rc;
	return nw_pt_protect(&npt->pt, gpa, len, &attr, inv);
}

int nw_npt_lookup(const struct nw_npt *npt, uint64_t gpa, struct nw_pt_entry *out)
{
	return nw_pt_lookup(&npt->pt, gpa, out);
}
