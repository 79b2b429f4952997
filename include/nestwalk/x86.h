/* SPDX-License-Identifier: MIT */
#ifndef NESTWALK_X86_H
#define NESTWALK_X86_H

/*
 * The x86-64 long-mode paging format (4- and 5-level), which is also the AMD
 * NPT format, and the CPU state that governs an x86 walk.
 */

#include <nestwalk/fmt.h>

/* Entry bits (SDM Vol. 3A §4.5, Tables 4-15..4-20). */
#define NW_PTE_P (1ull << 0)
#define NW_PTE_RW (1ull << 1)
#define NW_PTE_US (1ull << 2)
#define NW_PTE_PWT (1ull << 3)
#define NW_PTE_PCD (1ull << 4)
#define NW_PTE_A (1ull << 5)
#define NW_PTE_D (1ull << 6)
#define NW_PTE_PS (1ull << 7)        /* PDPTE and PDE; reserved in PML4E and PML5E */
#define NW_PTE_PAT_4K (1ull << 7)    /* PAT in a 4 KiB PTE */
#define NW_PTE_G (1ull << 8)
#define NW_PTE_PAT_LARGE (1ull << 12) /* PAT in a 2 MiB or 1 GiB leaf */
#define NW_PTE_PKEY_SHIFT 59
#define NW_PTE_PKEY_MASK (0xfull << NW_PTE_PKEY_SHIFT)
#define NW_PTE_XD (1ull << 63)
#define NW_PTE_ADDR_MASK 0x000ffffffffff000ull /* bits 51:12 */

/* #PF error code (SDM Vol. 3A §4.7). */
#define NW_PFEC_P (1u << 0)
#define NW_PFEC_W (1u << 1)
#define NW_PFEC_U (1u << 2)
#define NW_PFEC_RSVD (1u << 3)
#define NW_PFEC_ID (1u << 4)
#define NW_PFEC_PK (1u << 5)
#define NW_PFEC_SS (1u << 6)
#define NW_PFEC_SGX (1u << 15)

/* Options of an x86-64 format instance. */
#define NW_X86_NPT 0x1u /* NPT tables: PML4E bit 8 is reserved (AMD APM §15.25.5) */

/* Fill f with the x86-64 format; maxphyaddr 36..52. Returns 0 or -EINVAL. */
int nw_fmt_x86_init(struct nw_fmt *f, unsigned maxphyaddr, unsigned options);

/* The CPU state that decides an x86 walk's outcome. */
struct nw_x86_mode {
	int levels;    /* 4, or 5 with CR4.LA57 */
	bool wp;       /* CR0.WP */
	bool smep;     /* CR4.SMEP */
	bool smap;     /* CR4.SMAP */
	bool pke;      /* CR4.PKE */
	bool nxe;      /* EFER.NXE */
	bool ac;       /* EFLAGS.AC */
	uint32_t pkru; /* PKRU: AD of key i at bit 2i, WD at bit 2i+1 */
};

/* Access kinds, for walks. */
#define NW_ACC_READ 0x0u
#define NW_ACC_WRITE 0x1u
#define NW_ACC_USER 0x2u     /* CPL 3 */
#define NW_ACC_FETCH 0x4u
#define NW_ACC_IMPLICIT 0x8u /* implicit supervisor access: SMAP ignores EFLAGS.AC */

/*
 * The permission half of an x86 walk: given the rights and protection key of
 * a translation that walked without a not-present or reserved-bit fault, the
 * #PF error code, or 0 when the access is allowed.
 */
uint32_t nw_x86_access_fault(uint32_t prot, unsigned pkey, unsigned access,
			     const struct nw_x86_mode *mode);

/* Canonical in a 48-bit (levels 4) or 57-bit (levels 5) linear address space. */
static inline bool nw_x86_canonical(uint64_t va, int levels)
{
	unsigned width = 12u + 9u * (unsigned)levels;
	int64_t s = (int64_t)(va << (64 - width)) >> (64 - width);
	return (uint64_t)s == va;
}

#endif
