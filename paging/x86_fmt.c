/* SPDX-License-Identifier: MIT */
/*
 * The x86-64 long-mode entry format (SDM Vol. 3A §4.5), 4- and 5-level, with
 * 4 KiB, 2 MiB and 1 GiB leaves. AMD's NPT uses the same format, with PML4E
 * bit 8 reserved.
 */

#include <errno.h>

#include "fmt_fast.h"

static const struct x86_fmt_priv x86_plain = { 0 };
static const struct x86_fmt_priv x86_npt = { NW_X86_NPT };

/* The hooks: the inline decoders of fmt_fast.h, which walkers call directly. */
static bool x86_present(const struct nw_fmt *f, uint64_t e)
{
	return fx86_present(e);
}

static bool x86_leaf(const struct nw_fmt *f, uint64_t e, int level)
{
	return fx86_leaf(e, level);
}

static uint64_t x86_addr(const struct nw_fmt *f, uint64_t e, int level)
{
	return fx86_addr(e, level);
}

static uint32_t x86_prot(const struct nw_fmt *f, uint64_t e, int level)
{
	return fx86_prot(e);
}

static uint64_t x86_pat_bit(int level)
{
	return level == 1 ? NW_PTE_PAT_4K : NW_PTE_PAT_LARGE;
}

static void x86_attr(const struct nw_fmt *f, uint64_t e, int level, struct nw_attr *out)
{
	*out = (struct nw_attr){
		.prot = x86_prot(f, e, level),
		.memtype = (uint8_t)(((e & NW_PTE_PWT) ? 1 : 0) | ((e & NW_PTE_PCD) ? 2 : 0) |
				     ((e & x86_pat_bit(level)) ? 4 : 0)),
		.global = (e & NW_PTE_G) != 0,
		.pkey = (uint8_t)((e & NW_PTE_PKEY_MASK) >> NW_PTE_PKEY_SHIFT),
	};
}

static uint64_t x86_make_table(const struct nw_fmt *f, uint64_t table, int level)
{
	/* Upper levels grant everything, so that the leaf alone decides rights. */
	return (table & NW_PTE_ADDR_MASK) | NW_PTE_P | NW_PTE_RW | NW_PTE_US;
}

static uint64_t x86_make_leaf(const struct nw_fmt *f, uint64_t pa, int level,
			      const struct nw_attr *attr)
{
	uint64_t e = (pa & NW_PTE_ADDR_MASK) | NW_PTE_P;

	if (attr->prot & NW_PROT_W)
		e |= NW_PTE_RW;
	if (attr->prot & NW_PROT_U)
		e |= NW_PTE_US;
	if (!(attr->prot & NW_PROT_X))
		e |= NW_PTE_XD;
	if (attr->memtype & 1)
		e |= NW_PTE_PWT;
	if (attr->memtype & 2)
		e |= NW_PTE_PCD;
	if (attr->memtype & 4)
		e |= x86_pat_bit(level);
	if (attr->global)
		e |= NW_PTE_G;
	e |= (uint64_t)(attr->pkey & 0xf) << NW_PTE_PKEY_SHIFT;
	if (level > 1)
		e |= NW_PTE_PS;
	return e;
}

static bool x86_rsvd(const struct nw_fmt *f, uint64_t e, int level, unsigned mode)
{
	return fx86_rsvd(f, e, level, mode);
}

static bool x86_attr_ok(const struct nw_fmt *f, const struct nw_attr *attr, int level)
{
	/* A present x86 entry is always readable; rights beyond RWXU do not exist. */
	return (attr->prot & NW_PROT_R) && !(attr->prot & ~(NW_PROT_RWX | NW_PROT_U)) &&
	       attr->memtype < 8 && attr->pkey < 16 && level >= 1 && level <= 3;
}

int nw_fmt_x86_init(struct nw_fmt *f, unsigned maxphyaddr, unsigned options)
{
	if (!f || maxphyaddr < NW_MAXPHYADDR_MIN || maxphyaddr > NW_MAXPHYADDR_MAX ||
	    (options & ~NW_X86_NPT))
		return -EINVAL;
	*f = (struct nw_fmt){
		.name = (options & NW_X86_NPT) ? "npt" : "x86-64",
		.kind = NW_FMT_KIND_X86,
		.maxphyaddr = maxphyaddr,
		.leaf_levels = (1u << 1) | (1u << 2) | (1u << 3),
		.accessed = NW_PTE_A,
		.dirty = NW_PTE_D,
		.present = x86_present,
		.leaf = x86_leaf,
		.addr = x86_addr,
		.prot = x86_prot,
		.attr = x86_attr,
		.make_table = x86_make_table,
		.make_leaf = x86_make_leaf,
		.rsvd = x86_rsvd,
		.attr_ok = x86_attr_ok,
		.priv = (options & NW_X86_NPT) ? &x86_npt : &x86_plain,
	};
	return 0;
}
