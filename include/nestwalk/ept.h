/* SPDX-License-Identifier: MIT */
#ifndef NESTWALK_EPT_H
#define NESTWALK_EPT_H

/*
 * Intel EPT (SDM Vol. 3C, "EPT" in the VMX address-translation chapter):
 * the entry format as an nw_fmt, the processor's EPT capabilities, the EPTP,
 * the EPT-violation exit qualification, and a table handle in the style of
 * ACRN's ept_add_mr / ept_modify_mr / ept_del_mr.
 *
 *	struct nw_ept ept;
 *	uint64_t eptp;
 *	if (nw_ept_init(&ept, mem, NULL, 4) < 0) ...         // NULL: default caps
 *	nw_ept_map(&ept, gpa, hpa, 2 << 20, NW_PROT_RWX, NW_EPT_MT_WB,
 *		   NW_MAP_MAX_2M, NULL);
 *	nw_ept_eptp(&ept, true, &eptp);                      // A/D on
 *	... walk with ept.fmt from ept.pt.root ...
 *	nw_ept_destroy(&ept);
 */

#include <nestwalk/fmt.h>
#include <nestwalk/pt.h>
#include <nestwalk/walk.h>

/* ---- EPT entry bits ---- */
#define NW_EPT_R (1ull << 0)
#define NW_EPT_W (1ull << 1)
#define NW_EPT_X (1ull << 2)       /* supervisor-execute when MBEC is on */
#define NW_EPT_RWX (NW_EPT_R | NW_EPT_W | NW_EPT_X)
#define NW_EPT_MT_SHIFT 3          /* memory type, bits 5:3, leaves only */
#define NW_EPT_MT_MASK (7ull << NW_EPT_MT_SHIFT)
#define NW_EPT_IPAT (1ull << 6)    /* ignore PAT, leaves only */
#define NW_EPT_PS (1ull << 7)      /* PDPTE (1 GiB) and PDE (2 MiB); reserved above */
#define NW_EPT_A (1ull << 8)       /* written only when EPTP bit 6 is set */
#define NW_EPT_D (1ull << 9)       /* leaves only */
#define NW_EPT_UX (1ull << 10)     /* user-execute under MBEC, otherwise ignored */
#define NW_EPT_SVE (1ull << 63)    /* suppress #VE, leaves only */
#define NW_EPT_ADDR_MASK 0x000ffffffffff000ull /* bits 51:12 */

/* Memory types: leaf bits 5:3 (all five) and EPTP bits 2:0 (UC and WB only). */
#define NW_EPT_MT_UC 0u
#define NW_EPT_MT_WC 1u
#define NW_EPT_MT_WT 4u
#define NW_EPT_MT_WP 5u
#define NW_EPT_MT_WB 6u

/* Flags of nw_ept_map and nw_ept_protect, beside pt.h's NW_MAP_*. */
#define NW_EPT_MAP_IGNORE_PAT 0x1000u   /* set bit 6 in the leaves */
#define NW_EPT_MAP_SUPPRESS_VE 0x2000u  /* set bit 63 in the leaves */

/* ---- EPTP ---- */
#define NW_EPTP_MT_MASK 0x7ull          /* bits 2:0: UC or WB */
#define NW_EPTP_PWL_SHIFT 3             /* bits 5:3: page-walk length - 1 */
#define NW_EPTP_PWL_MASK (7ull << NW_EPTP_PWL_SHIFT)
#define NW_EPTP_AD (1ull << 6)          /* enable EPT accessed and dirty flags */
#define NW_EPTP_SSS (1ull << 7)         /* supervisor shadow stack: not modelled, reserved */
#define NW_EPTP_RSVD_11_8 (0xfull << 8)
#define NW_EPTP_ADDR_MASK NW_EPT_ADDR_MASK

/* ---- EPT-violation exit qualification ---- */
#define NW_EPT_QUAL_READ (1ull << 0)        /* the access was a data read */
#define NW_EPT_QUAL_WRITE (1ull << 1)       /* a data write */
#define NW_EPT_QUAL_FETCH (1ull << 2)       /* an instruction fetch */
#define NW_EPT_QUAL_READABLE (1ull << 3)    /* AND of R over the entries walked */
#define NW_EPT_QUAL_WRITABLE (1ull << 4)    /* AND of W */
#define NW_EPT_QUAL_EXECUTABLE (1ull << 5)  /* AND of X (supervisor-execute under MBEC) */
#define NW_EPT_QUAL_USER_EXEC (1ull << 6)   /* AND of UX, MBEC only */
#define NW_EPT_QUAL_GLA_VALID (1ull << 7)   /* guest-linear-address field is valid */
#define NW_EPT_QUAL_FINAL (1ull << 8)       /* final translation (not a guest PT entry) */
#define NW_EPT_QUAL_GUEST_USER (1ull << 9)  /* advanced info: guest page is user */
#define NW_EPT_QUAL_GUEST_WRITE (1ull << 10) /* advanced info: guest page is writable */
#define NW_EPT_QUAL_GUEST_NX (1ull << 11)   /* advanced info: guest page is execute-disable */
#define NW_EPT_QUAL_NMI_UNBLOCK (1ull << 12) /* NMI unblocking due to IRET (not modelled) */

/* ---- basic exit reasons ---- */
#define NW_VMX_EXIT_EPT_VIOLATION 48u
#define NW_VMX_EXIT_EPT_MISCONFIG 49u

/* ---- IA32_VMX_EPT_VPID_CAP ---- */
#define NW_MSR_IA32_VMX_EPT_VPID_CAP 0x48cu
#define NW_EPT_CAP_EXEC_ONLY (1ull << 0)
#define NW_EPT_CAP_PWL4 (1ull << 6)
#define NW_EPT_CAP_PWL5 (1ull << 7)
#define NW_EPT_CAP_UC (1ull << 8)
#define NW_EPT_CAP_WB (1ull << 14)
#define NW_EPT_CAP_2M (1ull << 16)
#define NW_EPT_CAP_1G (1ull << 17)
#define NW_EPT_CAP_INVEPT (1ull << 20)
#define NW_EPT_CAP_AD (1ull << 21)
#define NW_EPT_CAP_ADV_EXIT_INFO (1ull << 22)
#define NW_EPT_CAP_INVEPT_SINGLE (1ull << 25)
#define NW_EPT_CAP_INVEPT_ALL (1ull << 26)
#define NW_EPT_CAP_INVVPID (1ull << 32)
#define NW_EPT_CAP_INVVPID_ADDR (1ull << 40)       /* type 0 */
#define NW_EPT_CAP_INVVPID_SINGLE (1ull << 41)     /* type 1 */
#define NW_EPT_CAP_INVVPID_ALL (1ull << 42)        /* type 2 */
#define NW_EPT_CAP_INVVPID_SINGLE_NG (1ull << 43)  /* type 3 */

/* What the processor's EPT can do. Each can be switched off for a model. */
struct nw_ept_caps {
	bool exec_only;      /* XWR = 100 is allowed */
	bool walk4, walk5;   /* 4- and 5-level EPT */
	bool eptp_uc, eptp_wb; /* EPTP memory types */
	bool page_2m, page_1g; /* large leaves in PDEs and PDPTEs */
	bool ad;             /* EPT accessed and dirty flags (EPTP bit 6) */
	bool adv_exit_info;  /* qualification bits 9..11 */
	bool invept_single, invept_all;
	/* Not in the MSR (secondary controls bit 22); off unless asked for. */
	bool mbec;
};

/* A modern CPU: everything on, MBEC off. */
void nw_ept_caps_default(struct nw_ept_caps *caps);
/* From and to an IA32_VMX_EPT_VPID_CAP value (EPT bits only; mbec is cleared). */
void nw_ept_caps_from_msr(struct nw_ept_caps *caps, uint64_t msr);
uint64_t nw_ept_caps_to_msr(const struct nw_ept_caps *caps);

/*
 * The EPT entry format. caps NULL means nw_ept_caps_default(). The format
 * depends on exec_only, page_2m, page_1g, mbec and adv_exit_info; it needs
 * no storage beyond f. -EINVAL for a bad MAXPHYADDR (36..52).
 */
int nw_fmt_ept_init(struct nw_fmt *f, unsigned maxphyaddr, const struct nw_ept_caps *caps);

/* ---- EPTP (eptp.c) ---- */
uint64_t nw_ept_make_eptp(uint64_t root, int levels, unsigned memtype, bool ad);
/* 0 when VM entry would accept eptp on this CPU, else -EINVAL. caps NULL: default. */
int nw_ept_eptp_check(uint64_t eptp, const struct nw_ept_caps *caps, unsigned maxphyaddr);

static inline uint64_t nw_ept_eptp_root(uint64_t eptp)
{
	return eptp & NW_EPTP_ADDR_MASK;
}

static inline int nw_ept_eptp_levels(uint64_t eptp)
{
	return (int)((eptp & NW_EPTP_PWL_MASK) >> NW_EPTP_PWL_SHIFT) + 1;
}

static inline bool nw_ept_eptp_ad(uint64_t eptp)
{
	return eptp & NW_EPTP_AD;
}

static inline unsigned nw_ept_eptp_memtype(uint64_t eptp)
{
	return (unsigned)(eptp & NW_EPTP_MT_MASK);
}

/* The tag of guest-physical and combined mappings (EP4TA: bits 51:12). */
static inline uint64_t nw_ept_eptp_ep4ta(uint64_t eptp)
{
	return eptp & NW_EPTP_ADDR_MASK;
}

/* ---- violations (qual.c) ---- */
/*
 * The exit qualification of the EPT violation that nested walk hw causes
 * for request rq, under EPT format f (which says whether MBEC and the
 * advanced exit information are on). The format's nested_fault hook uses it.
 */
uint64_t nw_ept_qual(const struct nw_fmt *f, const struct nw_walk1d *hw,
		     const struct nw_nested_req *rq);

/* ---- the table handle (ept.c) ---- */
/*
 * EPT tables over the radix engine. The handle holds its own format, so it
 * must not be copied or moved once initialised. Every function returns 0 or
 * a negative errno and changes nothing on failure:
 * -EINVAL misaligned, zero length, bad prot, memtype or flags;
 * -ERANGE beyond the GPA width of the walk or hpa beyond MAXPHYADDR;
 * -EEXIST something is mapped there (map without NW_MAP_REPLACE);
 * -ENOMEM a table frame could not be had.
 * prot is NW_PROT_R/W/X, plus NW_PROT_U (user-execute) under MBEC; inv, when
 * not NULL, tells what the caller must INVEPT.
 */
struct nw_ept {
	struct nw_fmt fmt;        /* the entry format for these caps */
	struct nw_ept_caps caps;
	struct nw_pt pt;          /* the tables: pt.root is the EPTP's address */
};

int nw_ept_init(struct nw_ept *ept, struct nw_mem *mem, const struct nw_ept_caps *caps,
		int levels);
void nw_ept_destroy(struct nw_ept *ept);
/* flags: NW_MAP_MAX_4K/2M/1G (required), NW_MAP_REPLACE, NW_EPT_MAP_*. */
int nw_ept_map(struct nw_ept *ept, uint64_t gpa, uint64_t hpa, uint64_t len, uint32_t prot,
	       unsigned memtype, unsigned flags, struct nw_inval *inv);
int nw_ept_unmap(struct nw_ept *ept, uint64_t gpa, uint64_t len, struct nw_inval *inv);
/* New rights and memory type for every mapped page in the range; flags: NW_EPT_MAP_*. */
int nw_ept_protect(struct nw_ept *ept, uint64_t gpa, uint64_t len, uint32_t prot,
		   unsigned memtype, unsigned flags, struct nw_inval *inv);
int nw_ept_lookup(const struct nw_ept *ept, uint64_t gpa, struct nw_pt_entry *out);
/* The EPTP that loads these tables: WB if the CPU allows, else UC. -EINVAL when
 * ad is asked for without the A/D capability, or no EPTP memory type exists. */
int nw_ept_eptp(const struct nw_ept *ept, bool ad, uint64_t *eptp);

#endif
