/* SPDX-License-Identifier: MIT */
/*
 * The EPT entry format (SDM Vol. 3C, EPT paging-structure entries), 4- and
 * 5-level, with 2 MiB and 1 GiB leaves when the CPU has them.
 *
 * rsvd() is the complete list of EPT misconfigurations: a walk that meets
 * one exits with reason 49 instead of reading further. It judges present
 * entries only, since the CPU ignores every other bit of a non-present one.
 */

#include <errno.h>

#include <nestwalk/mem.h>

#include "ept_internal.h"

/*
 * One private configuration per combination of the capabilities the format
 * reads, so that a format instance needs no storage of its own.
 */
#define EPT_PRIV_EXEC_ONLY 0x1u
#define EPT_PRIV_MBEC 0x2u
#define EPT_PRIV_ADV 0x4u
static const struct ept_fmt_priv ept_privs[8] = {
#define P(i) { .exec_only = (i) & EPT_PRIV_EXEC_ONLY, .mbec = (i) & EPT_PRIV_MBEC, \
	       .adv_exit_info = (i) & EPT_PRIV_ADV }
	P(0), P(1), P(2), P(3), P(4), P(5), P(6), P(7),
#undef P
};

/* The hooks: the inline decoders of fmt_fast.h, which walkers call directly. */
static bool ept_present(const struct nw_fmt *f, uint64_t e)
{
	return fept_present(f, e);
}

static bool ept_leaf(const struct nw_fmt *f, uint64_t e, int level)
{
	return fept_leaf(e, level);
}

static uint64_t ept_addr(const struct nw_fmt *f, uint64_t e, int level)
{
	return fept_addr(e, level);
}

static uint32_t ept_prot(const struct nw_fmt *f, uint64_t e, int level)
{
	return fept_prot(f, e);
}

static void ept_attr(const struct nw_fmt *f, uint64_t e, int level, struct nw_attr *out)
{
	*out = (struct nw_attr){
		.prot = ept_prot(f, e, level),
		.memtype = (uint8_t)((e & NW_EPT_MT_MASK) >> NW_EPT_MT_SHIFT),
		.ignore_pat = (e & NW_EPT_IPAT) != 0,
		.suppress_ve = (e & NW_EPT_SVE) != 0,
	};
}

static uint64_t ept_make_table(const struct nw_fmt *f, uint64_t table, int level)
{
	/* Upper levels grant everything, so that the leaf alone decides rights. */
	return (table & NW_EPT_ADDR_MASK) | NW_EPT_RWX | (ept_priv(f)->mbec ? NW_EPT_UX : 0);
}

static uint64_t ept_make_leaf(const struct nw_fmt *f, uint64_t pa, int level,
			      const struct nw_attr *attr)
{
	uint64_t e = (pa & NW_EPT_ADDR_MASK) | ((uint64_t)(attr->memtype & 7) << NW_EPT_MT_SHIFT);

	if (attr->prot & NW_PROT_R)
		e |= NW_EPT_R;
	if (attr->prot & NW_PROT_W)
		e |= NW_EPT_W;
	if (attr->prot & NW_PROT_X)
		e |= NW_EPT_X;
	if ((attr->prot & NW_PROT_U) && ept_priv(f)->mbec)
		e |= NW_EPT_UX;
	if (attr->ignore_pat)
		e |= NW_EPT_IPAT;
	if (attr->suppress_ve)
		e |= NW_EPT_SVE;
	if (level > 1)
		e |= NW_EPT_PS;
	return e;
}

static bool ept_rsvd(const struct nw_fmt *f, uint64_t e, int level, unsigned mode)
{
	return fept_rsvd(f, e, level);
}

static bool ept_attr_ok(const struct nw_fmt *f, const struct nw_attr *attr, int level)
{
	const struct ept_fmt_priv *p = ept_priv(f);
	uint32_t known = NW_PROT_RWX | (p->mbec ? NW_PROT_U : 0);
	uint32_t exec = NW_PROT_X | (p->mbec ? NW_PROT_U : 0);
	uint32_t prot = attr->prot;

	if (!(prot & known) || (prot & ~known))
		return false; /* nothing (not present), or a right EPT cannot express */
	if ((prot & NW_PROT_W) && !(prot & NW_PROT_R))
		return false;
	if (!(prot & NW_PROT_RW) && (prot & exec) && !p->exec_only)
		return false;
	return attr->memtype < 8 && !EPT_MT_BAD(attr->memtype) && level >= 1 && level <= 3;
}

int nw_fmt_ept_init(struct nw_fmt *f, unsigned maxphyaddr, const struct nw_ept_caps *caps)
{
	struct nw_ept_caps def;
	unsigned idx = 0;

	if (!caps) {
		nw_ept_caps_default(&def);
		caps = &def;
	}
	if (!f || maxphyaddr < NW_MAXPHYADDR_MIN || maxphyaddr > NW_MAXPHYADDR_MAX)
		return -EINVAL;
	if (caps->exec_only)
		idx |= EPT_PRIV_EXEC_ONLY;
	if (caps->mbec)
		idx |= EPT_PRIV_MBEC;
	if (caps->adv_exit_info)
		idx |= EPT_PRIV_ADV;
	*f = (struct nw_fmt){
		.name = "ept",
		.kind = NW_FMT_KIND_EPT,
		.maxphyaddr = maxphyaddr,
		.leaf_levels = (1u << 1) | (caps->page_2m ? 1u << 2 : 0) |
			       (caps->page_1g ? 1u << 3 : 0),
		.accessed = NW_EPT_A,
		.dirty = NW_EPT_D,
		.present = ept_present,
		.leaf = ept_leaf,
		.addr = ept_addr,
		.prot = ept_prot,
		.attr = ept_attr,
		.make_table = ept_make_table,
		.make_leaf = ept_make_leaf,
		.rsvd = ept_rsvd,
		.attr_ok = ept_attr_ok,
		.nested_permit = ept_nested_permit,
		.nested_fault = ept_nested_fault,
		.priv = &ept_privs[idx],
	};
	return 0;
}
