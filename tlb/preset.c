/* SPDX-License-Identifier: MIT */
/*
 * The CPU presets. Every number is either from FACTS.md §6 (marked F) or
 * an assumption (marked A) that docs/TLB.md states and justifies; none is
 * tuned to make a comparison come out.
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "preset_internal.h"

#define KiB(x) ((uint64_t)(x) << 10)
#define MiB(x) ((uint64_t)(x) << 20)
#define G(e, w, s) { .entries = (e), .ways = (w), .sizes = (s) }
#define FULL(e, s) G(e, e, s)

const char *const nw_cpu_preset_names[] = { "skylake", "zen3", "zen4", "generic", "host", NULL };

/* Intel Skylake client (i7-6700K class, 4.0 GHz). */
static void skylake(struct nw_cpu_preset *p)
{
	*p = (struct nw_cpu_preset){
		.name = "skylake", .vendor = NW_VENDOR_INTEL,
		.walkers = 2,                                        /* F */
		.tlb = {
			.vendor = NW_VENDOR_INTEL,
			.l1d = { G(64, 4, NW_TLB_SZ_4K), G(32, 4, NW_TLB_SZ_2M),  /* F */
				 FULL(4, NW_TLB_SZ_1G) },                           /* F: 4 */
			.l1i = { G(128, 8, NW_TLB_SZ_4K), FULL(8, NW_TLB_SZ_2M) }, /* A */
			.l2 = { G(1536, 12, NW_TLB_SZ_4K | NW_TLB_SZ_2M),           /* F */
				G(16, 4, NW_TLB_SZ_1G) },                           /* F */
			/* PDE 32x4, PDPTE 16x4, PML4E 16x4 (F: simulator default) */
			.psc = { G(32, 4, 0), G(16, 4, 0), G(16, 4, 0) },
			.gpsc = { G(32, 4, 0), G(16, 4, 0), G(16, 4, 0) },  /* A: as psc */
			.ntlb = G(64, 4, NW_TLB_SZ_ALL),                    /* F */
			.va_bits = 48, .maxphyaddr = 46,                    /* A */
		},
		.lat = {
			.l1d = { KiB(32), 8 }, .l2 = { KiB(256), 4 }, .llc = { MiB(8), 16 }, /* A */
			.l1_cycles = 4, .l2_cycles = 12, .llc_cycles = 42,   /* A */
			.dram_cycles = 180,                                  /* F: 45 ns at 4.0 GHz */
			.tlb_l1_cycles = 0,                                  /* A */
			.tlb_l2_cycles = 12,                                 /* F */
			.psc_cycles = 3,                                     /* F */
			.vmexit_cycles = 1200,                               /* A */
		},
	};
}

/* AMD Zen 3 (Ryzen 5000 / EPYC 7003 class, 4.5 GHz). */
static void zen3(struct nw_cpu_preset *p)
{
	*p = (struct nw_cpu_preset){
		.name = "zen3", .vendor = NW_VENDOR_AMD,
		.walkers = 6,                                        /* F */
		.tlb = {
			.vendor = NW_VENDOR_AMD,
			.l1d = { FULL(64, NW_TLB_SZ_ALL) },                 /* F */
			.l1i = { FULL(64, NW_TLB_SZ_ALL) },                 /* A */
			/* F: 2048 entries; A: 16 ways, 1G kept as 2M entries */
			.l2 = { G(2048, 16, NW_TLB_SZ_4K | NW_TLB_SZ_2M) },
			.ntlb = G(64, 4, NW_TLB_SZ_ALL),                    /* F */
			.pwc = G(64, 4, 0),                                 /* A */
			.va_bits = 48, .maxphyaddr = 48,                    /* A */
		},
		.lat = {
			.l1d = { KiB(32), 8 }, .l2 = { KiB(512), 8 }, .llc = { MiB(32), 16 }, /* A */
			.l1_cycles = 4, .l2_cycles = 12, .llc_cycles = 46,   /* A */
			.dram_cycles = 202,                                  /* F: 45 ns at 4.5 GHz */
			.tlb_l1_cycles = 0,                                  /* A */
			.tlb_l2_cycles = 12,                                 /* F (simulator default) */
			.psc_cycles = 3,                                     /* F */
			.vmexit_cycles = 1360,                               /* A: measured on SVM, docs */
		},
	};
}

/* AMD Zen 4 (Ryzen 7000 / EPYC 9004 class, 4.5 GHz). */
static void zen4(struct nw_cpu_preset *p)
{
	zen3(p);
	p->name = "zen4";
	p->tlb.l1d[0] = (struct nw_tlb_geom)FULL(72, NW_TLB_SZ_ALL);           /* F */
	/* F: 3072 entries; A: 24 ways, 1G kept as 2M entries */
	p->tlb.l2[0] = (struct nw_tlb_geom)G(3072, 24, NW_TLB_SZ_4K | NW_TLB_SZ_2M);
	p->tlb.va_bits = 57;                                                   /* A */
	p->tlb.maxphyaddr = 52;                                                /* A */
	p->lat.l2 = (struct nw_cache_geom){ MiB(1), 8 };                       /* A */
	p->lat.l2_cycles = 14;                                                 /* A */
	p->lat.llc_cycles = 50;                                                /* A */
}

/* The simulator defaults of FACTS §6 (Sniper/Virtuoso), at 3 GHz. */
static void generic(struct nw_cpu_preset *p)
{
	*p = (struct nw_cpu_preset){
		.name = "generic", .vendor = NW_VENDOR_ANY,
		.walkers = 2,                                        /* A */
		.tlb = {
			.vendor = NW_VENDOR_ANY,
			.l1d = { G(64, 4, NW_TLB_SZ_4K), G(32, 4, NW_TLB_SZ_2M),
				 FULL(4, NW_TLB_SZ_1G) },                   /* A */
			.l1i = { G(64, 4, NW_TLB_SZ_4K), G(32, 4, NW_TLB_SZ_2M) }, /* A */
			.l2 = { G(1536, 12, NW_TLB_SZ_4K | NW_TLB_SZ_2M) },        /* A */
			.psc = { G(32, 4, 0), G(16, 4, 0), G(16, 4, 0) },           /* F */
			.gpsc = { G(32, 4, 0), G(16, 4, 0), G(16, 4, 0) },          /* A */
			.ntlb = G(64, 4, NW_TLB_SZ_ALL),                            /* F */
			.va_bits = 48, .maxphyaddr = 46,                            /* A */
		},
		.lat = {
			.l1d = { KiB(32), 8 }, .l2 = { KiB(256), 8 }, .llc = { MiB(8), 16 }, /* A */
			.l1_cycles = 4, .l2_cycles = 12, .llc_cycles = 40,   /* A */
			.dram_cycles = 135,                                  /* F: 45 ns at 3 GHz */
			.tlb_l1_cycles = 0,                                  /* A */
			.tlb_l2_cycles = 12,                                 /* F */
			.psc_cycles = 3,                                     /* F */
			.vmexit_cycles = 1000,                               /* A */
		},
	};
}

/* The reference preset of a vendor, for what CPUID cannot tell. */
void nw_cpu_preset_for_vendor(enum nw_vendor v, struct nw_cpu_preset *p)
{
	if (v == NW_VENDOR_INTEL)
		skylake(p);
	else if (v == NW_VENDOR_AMD)
		zen3(p);
	else
		generic(p);
}

int nw_cpu_preset(const char *name, struct nw_cpu_preset *p, char *err, size_t errlen)
{
	char dummy[8];

	if (!err) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	if (!name || !p) {
		snprintf(err, errlen, "no preset name");
		return -EINVAL;
	}
	if (!strcmp(name, "skylake"))
		skylake(p);
	else if (!strcmp(name, "zen3"))
		zen3(p);
	else if (!strcmp(name, "zen4"))
		zen4(p);
	else if (!strcmp(name, "generic"))
		generic(p);
	else if (!strcmp(name, "host"))
		return nw_cpu_preset_host(NULL, p, err, errlen);
	else {
		snprintf(err, errlen, "unknown CPU preset '%s' (skylake, zen3, zen4, generic, host)",
			 name);
		return -ENOENT;
	}
	return 0;
}
