/* SPDX-License-Identifier: MIT */
#ifndef NW_FMT_FAST_H
#define NW_FMT_FAST_H

/*
 * The entry decoders of the two stock formats, x86-64 (and NPT) and EPT, as
 * inline functions. The formats' hooks (x86_fmt.c, ept/fmt.c) are thin
 * wrappers around them, and the walkers call them directly when a format's
 * kind says its hooks are the stock ones: a walk then decodes an entry
 * without the five indirect calls (present, rsvd, prot, leaf, addr) that a
 * custom format costs. Not part of the public API.
 */

#include <nestwalk/ept.h>
#include <nestwalk/fmt.h>
#include <nestwalk/mem.h>
#include <nestwalk/x86.h>

/* ---- x86-64 ---- */

/* Bits 20:13 of a 2 MiB leaf and 29:13 of a 1 GiB leaf: the alignment rule. */
#define X86_LARGE_ALIGN_RSVD(level) ((NW_LEVEL_SIZE(level) - 1) & ~((1ull << 13) - 1))
#define X86_PML4E_BIT8 (1ull << 8)

struct x86_fmt_priv {
	unsigned options;
};

static inline bool fx86_present(uint64_t e)
{
	return e & NW_PTE_P;
}

static inline bool fx86_leaf(uint64_t e, int level)
{
	return level == 1 || ((level == 2 || level == 3) && (e & NW_PTE_PS));
}

static inline uint64_t fx86_addr(uint64_t e, int level)
{
	if (level > 1 && fx86_leaf(e, level))
		return e & NW_PTE_ADDR_MASK & ~(NW_LEVEL_SIZE(level) - 1);
	return e & NW_PTE_ADDR_MASK;
}

static inline uint32_t fx86_prot(uint64_t e)
{
	uint32_t prot = NW_PROT_R;

	if (e & NW_PTE_RW)
		prot |= NW_PROT_W;
	if (e & NW_PTE_US)
		prot |= NW_PROT_U;
	if (!(e & NW_PTE_XD))
		prot |= NW_PROT_X;
	return prot;
}

static inline bool fx86_rsvd(const struct nw_fmt *f, uint64_t e, int level, unsigned mode)
{
	const struct x86_fmt_priv *priv = f->priv;

	if (e & nw_fmt_rsvd_addr_mask(f->maxphyaddr))
		return true;
	if ((e & NW_PTE_XD) && !(mode & NW_FMT_NXE))
		return true;
	if (level >= 4 && (e & NW_PTE_PS))
		return true;
	/* AMD reserves bit 8 in the top-level entries; KVM checks it at 4 and 5. */
	if ((priv->options & NW_X86_NPT) && level >= 4 && (e & X86_PML4E_BIT8))
		return true;
	if ((level == 2 || level == 3) && (e & NW_PTE_PS) && (e & X86_LARGE_ALIGN_RSVD(level)))
		return true;
	return false;
}

/* ---- EPT ---- */

/* Bits 7:3 of a PML4E or PML5E, bits 6:3 of a PDPTE or PDE naming a table. */
#define EPT_TOP_RSVD (0x1full << 3)
#define EPT_TABLE_RSVD (0xfull << 3)
/* Memory types that do not exist: 2, 3 and 7. */
#define EPT_MT_BAD(mt) ((mt) == 2 || (mt) == 3 || (mt) == 7)

/* The capabilities an EPT format instance depends on, beyond leaf_levels. */
struct ept_fmt_priv {
	bool exec_only;
	bool mbec;
	bool adv_exit_info;
};

static inline const struct ept_fmt_priv *ept_priv(const struct nw_fmt *f)
{
	return f->priv;
}

/* The bits that grant an execute right: X, and UX under MBEC. */
static inline uint64_t fept_exec_bits(const struct nw_fmt *f)
{
	return NW_EPT_X | (ept_priv(f)->mbec ? NW_EPT_UX : 0);
}

static inline bool fept_present(const struct nw_fmt *f, uint64_t e)
{
	return e & (NW_EPT_R | NW_EPT_W | fept_exec_bits(f));
}

static inline bool fept_leaf(uint64_t e, int level)
{
	return level == 1 || ((level == 2 || level == 3) && (e & NW_EPT_PS));
}

static inline uint64_t fept_addr(uint64_t e, int level)
{
	if (level > 1 && fept_leaf(e, level))
		return e & NW_EPT_ADDR_MASK & ~(NW_LEVEL_SIZE(level) - 1);
	return e & NW_EPT_ADDR_MASK;
}

static inline uint32_t fept_prot(const struct nw_fmt *f, uint64_t e)
{
	uint32_t prot = 0;

	if (e & NW_EPT_R)
		prot |= NW_PROT_R;
	if (e & NW_EPT_W)
		prot |= NW_PROT_W;
	if (e & NW_EPT_X)
		prot |= NW_PROT_X;
	/* Without MBEC bit 10 is ignored, and X covers user code too. */
	if (ept_priv(f)->mbec && (e & NW_EPT_UX))
		prot |= NW_PROT_U;
	return prot;
}

/*
 * XWR = 100 needs the execute-only capability. Under MBEC an entry whose
 * only right is UX (XWR = 000) is execute-only too; the SDM's list names
 * only 100b, and we treat the two alike.
 */
static inline bool fept_exec_only(const struct nw_fmt *f, uint64_t e)
{
	return !(e & (NW_EPT_R | NW_EPT_W)) && (e & fept_exec_bits(f));
}

static inline bool fept_rsvd(const struct nw_fmt *f, uint64_t e, int level)
{
	if (!fept_present(f, e))
		return false; /* not present: a violation, whatever else is set */
	if ((e & NW_EPT_W) && !(e & NW_EPT_R))
		return true;  /* write without read: XWR = 010 or 110 */
	if (fept_exec_only(f, e) && !ept_priv(f)->exec_only)
		return true;
	if (e & nw_fmt_rsvd_addr_mask(f->maxphyaddr))
		return true;
	if (level >= 4)
		return e & EPT_TOP_RSVD; /* PS included: no leaves up here */
	if (level > 1 && !(e & NW_EPT_PS))
		return e & EPT_TABLE_RSVD;
	/* A leaf. */
	if (!nw_fmt_leaf_ok(f, level))
		return true;  /* PS=1 where the CPU has no such page size */
	if (EPT_MT_BAD((e & NW_EPT_MT_MASK) >> NW_EPT_MT_SHIFT))
		return true;
	/* A large leaf's address is aligned to its size: bit 12 upward. */
	return level > 1 && (e & NW_EPT_ADDR_MASK & (NW_LEVEL_SIZE(level) - 1));
}

/* ---- one entry, as a walker sees it ---- */

enum nw_fmt_step {
	NW_STEP_NOT_PRESENT,
	NW_STEP_RSVD,      /* present, with a reserved bit set */
	NW_STEP_TABLE,     /* *next: the next table */
	NW_STEP_LEAF,      /* *next: the page base */
};

/*
 * Decode entry e at `level` for a walk in `mode`: what it is, the rights
 * it grants (*prot, when present and not reserved) and the address it
 * names (*next). The same answers as the hooks, in the same order of
 * checks. `kind` is f->kind, passed separately so that a caller can make
 * it a compile-time constant.
 */
static inline __attribute__((always_inline)) enum nw_fmt_step
nw_fmt_step(const struct nw_fmt *f, unsigned kind, uint64_t e, int level, unsigned mode,
	    uint32_t *prot, uint64_t *next)
{
	bool leaf;

	switch (kind) {
	case NW_FMT_KIND_X86:
		if (!fx86_present(e))
			return NW_STEP_NOT_PRESENT;
		if (fx86_rsvd(f, e, level, mode))
			return NW_STEP_RSVD;
		*prot = fx86_prot(e);
		leaf = fx86_leaf(e, level);
		*next = fx86_addr(e, level);
		break;
	case NW_FMT_KIND_EPT:
		if (!fept_present(f, e))
			return NW_STEP_NOT_PRESENT;
		if (fept_rsvd(f, e, level))
			return NW_STEP_RSVD;
		*prot = fept_prot(f, e);
		leaf = fept_leaf(e, level);
		*next = fept_addr(e, level);
		break;
	default:
		if (!f->present(f, e))
			return NW_STEP_NOT_PRESENT;
		if (f->rsvd(f, e, level, mode))
			return NW_STEP_RSVD;
		*prot = f->prot(f, e, level);
		leaf = f->leaf(f, e, level);
		*next = f->addr(f, e, level);
		break;
	}
	return leaf ? NW_STEP_LEAF : NW_STEP_TABLE;
}

/* Hooks, through the decoders when the kind allows. */
static inline bool nw_fmt_present_k(const struct nw_fmt *f, unsigned kind, uint64_t e)
{
	return kind == NW_FMT_KIND_X86 ? fx86_present(e)
	       : kind == NW_FMT_KIND_EPT ? fept_present(f, e) : f->present(f, e);
}

static inline bool nw_fmt_leaf_k(const struct nw_fmt *f, unsigned kind, uint64_t e, int level)
{
	return kind == NW_FMT_KIND_X86 ? fx86_leaf(e, level)
	       : kind == NW_FMT_KIND_EPT ? fept_leaf(e, level) : f->leaf(f, e, level);
}

static inline uint64_t nw_fmt_addr_k(const struct nw_fmt *f, unsigned kind, uint64_t e, int level)
{
	return kind == NW_FMT_KIND_X86 ? fx86_addr(e, level)
	       : kind == NW_FMT_KIND_EPT ? fept_addr(e, level) : f->addr(f, e, level);
}

static inline uint32_t nw_fmt_prot_k(const struct nw_fmt *f, unsigned kind, uint64_t e, int level)
{
	return kind == NW_FMT_KIND_X86 ? fx86_prot(e)
	       : kind == NW_FMT_KIND_EPT ? fept_prot(f, e) : f->prot(f, e, level);
}

#endif
