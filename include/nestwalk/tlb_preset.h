/* SPDX-License-Identifier: MIT */
#ifndef NESTWALK_TLB_PRESET_H
#define NESTWALK_TLB_PRESET_H

/*
 * CPU presets: TLB geometry and latencies of reference CPUs (FACTS.md §6;
 * docs/TLB.md gives each number's source, or says it is an assumption),
 * and `host`, which reads this machine's TLB geometry with CPUID.
 *
 *	struct nw_cpu_preset p;
 *	char err[160];
 *	if (nw_cpu_preset("zen4", &p, err, sizeof(err)) < 0)
 *		fprintf(stderr, "%s\n", err);
 */

#include <nestwalk/tlb.h>

struct nw_cpu_preset {
	const char *name;
	enum nw_vendor vendor;
	unsigned walkers;          /* hardware page walkers (informational) */
	struct nw_tlb_cfg tlb;
	struct nw_lat_cfg lat;
	char note[160];            /* host: what was read, and what fell back */
};

/* NULL-terminated: "skylake", "zen3", "zen4", "generic", "host". */
extern const char *const nw_cpu_preset_names[];

/*
 * Fill p with the named preset: 0, or -ENOENT (unknown name) or, for
 * "host", -ENOTSUP when CPUID cannot describe the TLBs; err says why.
 * "host" here uses generic's cache sizes; tools that know better call
 * nw_cpu_preset_host().
 */
int nw_cpu_preset(const char *name, struct nw_cpu_preset *p, char *err, size_t errlen);

/* Cache sizes found by the tools (hwloc); 0 means unknown. */
struct nw_host_caches {
	uint64_t l1d, l2, llc;          /* bytes */
	uint32_t l1d_ways, l2_ways, llc_ways;
};

/*
 * The host preset: vendor and TLB geometry from CPUID (Intel leaf 0x18,
 * else leaf 2's descriptors; AMD leaves 0x80000005 and 0x80000006), cache
 * geometry from caches (NULL or zero fields: generic's), latencies from
 * the vendor's reference preset. p->note records every fallback. -ENOTSUP
 * with a message when CPUID is absent or reports no TLB.
 */
int nw_cpu_preset_host(const struct nw_host_caches *caches, struct nw_cpu_preset *p,
		       char *err, size_t errlen);

/*
 * The same from any CPUID source: cpuid(arg, leaf, subleaf, r) fills r with
 * EAX, EBX, ECX, EDX and returns false for a leaf the CPU lacks. Tests feed
 * recorded register values through it.
 */
int nw_cpu_preset_cpuid(bool (*cpuid)(void *arg, uint32_t leaf, uint32_t subleaf, uint32_t r[4]),
			void *arg, const struct nw_host_caches *caches, struct nw_cpu_preset *p,
			char *err, size_t errlen);

#endif
