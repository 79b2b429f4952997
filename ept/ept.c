/* SPDX-License-Identifier: MIT */
/*
 * EPT tables as a hypervisor keeps them: ACRN's ept_add_mr, ept_modify_mr
 * and ept_del_mr over the radix engine. The engine makes every change
 * all-or-nothing; this layer turns (prot, memtype, flags) into an EPT leaf
 * and refuses what EPT cannot express before the engine runs.
 */

#include <errno.h>

#include "ept_internal.h"

#define EPT_ATTR_FLAGS (NW_EPT_MAP_IGNORE_PAT | NW_EPT_MAP_SUPPRESS_VE)

/* Build the leaf attributes, or -EINVAL when EPT cannot express them. */
static int ept_make_attr(const struct nw_ept *ept, uint32_t prot, unsigned memtype,
			 unsigned flags, struct nw_attr *attr)
{
	*attr = (struct nw_attr){
		.prot = prot,
		.memtype = (uint8_t)memtype,
		.ignore_pat = (flags & NW_EPT_MAP_IGNORE_PAT) != 0,
		.suppress_ve = (flags & NW_EPT_MAP_SUPPRESS_VE) != 0,
	};
	if (memtype > 7 || !ept->fmt.attr_ok(&ept->fmt, attr, NW_PAGE_4K))
		return -EINVAL;
	return 0;
}

int nw_ept_init(struct nw_ept *ept, struct nw_mem *mem, const struct nw_ept_caps *caps,
		int levels)
{
	int rc;

	if (!ept || !mem)
		return -EINVAL;
	if (caps)
		ept->caps = *caps;
	else
		nw_ept_caps_default(&ept->caps);
	if (!((levels == 4 && ept->caps.walk4) || (levels == 5 && ept->caps.walk5)))
		return -EINVAL;
	rc = nw_fmt_ept_init(&ept->fmt, mem->maxphyaddr, &ept->caps);
	if (rc < 0)
		return rc;
	struct nw_pt_cfg cfg = { .fmt = &ept->fmt, .mem = mem, .levels = levels, .linear = false };
	return nw_pt_init(&ept->pt, &cfg);
}

void nw_ept_destroy(struct nw_ept *ept)
{
	if (ept)
		nw_pt_destroy(&ept->pt);
}

int nw_ept_map(struct nw_ept *ept, uint64_t gpa, uint64_t hpa, uint64_t len, uint32_t prot,
	       unsigned memtype, unsigned flags, struct nw_inval *inv)
{
	struct nw_attr attr;
	int rc;

	if (inv)
		*inv = (struct nw_inval){ .kind = NW_INVAL_NONE };
	rc = ept_make_attr(ept, prot, memtype, flags, &attr);
	if (rc < 0)
		return rc;
	return nw_pt_map(&ept->pt, gpa, hpa, len, &attr, flags & ~EPT_ATTR_FLAGS, inv);
}

int nw_ept_unmap(struct nw_ept *ept, uint64_t gpa, uint64_t len, struct nw_inval *inv)
{
	return nw_pt_unmap(&ept->pt, gpa, len, inv);
}

int nw_ept_protect(struct nw_ept *ept, uint64_t gpa, uint64_t len, uint32_t prot,
		   unsigned memtype, unsigned flags, struct nw_inval *inv)
{
	struct nw_attr attr;
	int rc;

	if (inv)
		*inv = (struct nw_inval){ .kind = NW_INVAL_NONE };
	if (flags & ~EPT_ATTR_FLAGS)
		return -EINVAL;
	rc = ept_make_attr(ept, prot, memtype, flags, &attr);
	if (rc < 0)
		return rc;
	return nw_pt_protect(&ept->pt, gpa, len, &attr, inv);
}

int nw_ept_lookup(const struct nw_ept *ept, uint64_t gpa, struct nw_pt_entry *out)
{
	return nw_pt_lookup(&ept->pt, gpa, out);
}

int nw_ept_eptp(const struct nw_ept *ept, bool ad, uint64_t *eptp)
{
	unsigned mt = ept->caps.eptp_wb ? NW_EPT_MT_WB : NW_EPT_MT_UC;
	uint64_t v = nw_ept_make_eptp(ept->pt.root, ept->pt.levels, mt, ad);
	int rc = nw_ept_eptp_check(v, &ept->caps, ept->fmt.maxphyaddr);

	if (rc < 0)
		return rc;
	*eptp = v;
	return 0;
}
