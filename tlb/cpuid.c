/* SPDX-License-Identifier: MIT */
/*
 * The `host` preset: TLB geometry from CPUID.
 *  - AMD (and Hygon): leaves 0x80000005 (L1), 0x80000006 (L2) and
 *    0x80000019 (1G), AMD APM Vol. 3, appendix E.
 *  - Intel: leaf 0x18, the deterministic address translation parameters,
 *    else the one-byte descriptors of leaf 2 (SDM Vol. 2A, CPUID, Table
 *    3-12), from the common subset below.
 * Latencies and PSC style come from the vendor's reference preset; cache
 * sizes from the caller (the tools ask hwloc), else from that preset.
 * Whatever CPUID cannot say, or the model cannot hold exactly, is recorded
 * in p->note; when CPUID says nothing usable, the call fails with a message.
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "preset_internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define HAVE_CPUID 1
#endif

struct src {
	bool (*cpuid)(void *arg, uint32_t leaf, uint32_t subleaf, uint32_t r[4]);
	void *arg;
};

static bool q(const struct src *s, uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	memset(r, 0, 4 * sizeof(*r));
	return s->cpuid(s->arg, leaf, sub, r);
}

static void note(struct nw_cpu_preset *p, const char *what)
{
	size_t len = strlen(p->note);
	snprintf(p->note + len, sizeof(p->note) - len, "%s%s", len ? "; " : "", what);
}

/* ---- building a TLB level from (page size, entries, ways) triples ---- */

struct level_build {
	struct nw_tlb_geom *banks;
	int max;
	int n;
	const char *name;
};

static bool pow2(uint64_t x)
{
	return x && !(x & (x - 1));
}

/* Add a page size; sizes with the same geometry share a bank (a unified
 * structure reports the same count for every size). */
static void add_size(struct nw_cpu_preset *p, struct level_build *b, int level, uint32_t entries,
		     uint32_t ways)
{
	char msg[96];

	if (!entries)
		return;
	if (!ways || ways > entries)
		ways = entries; /* fully associative */
	if (entries % ways || !pow2(entries / ways)) {
		snprintf(msg, sizeof(msg), "%s: %u entries %u-way held fully associative",
			 b->name, entries, ways);
		note(p, msg);
		ways = entries;
	}
	for (int i = 0; i < b->n; i++)
		if (b->banks[i].entries == entries && b->banks[i].ways == ways) {
			b->banks[i].sizes |= (uint8_t)NW_TLB_SZ(level);
			return;
		}
	if (b->n == b->max) {
		snprintf(msg, sizeof(msg), "%s: no bank left for %s pages (splintered)", b->name,
			 level == 3 ? "1G" : "2M");
		note(p, msg);
		return;
	}
	b->banks[b->n++] = (struct nw_tlb_geom){ entries, ways, (uint8_t)NW_TLB_SZ(level) };
}

static void clear_tlbs(struct nw_tlb_cfg *c)
{
	memset(c->l1d, 0, sizeof(c->l1d));
	memset(c->l1i, 0, sizeof(c->l1i));
	memset(c->l2, 0, sizeof(c->l2));
}

/* ---- AMD ---- */

/* L2 associativity codes of 0x80000006 (0: disabled; 0xF: fully). */
static uint32_t amd_l2_ways(unsigned code, uint32_t entries)
{
	static const uint32_t ways[16] = { 0, 1, 2, 3, 4, 6, 8, 0, 16, 0, 32, 48, 64, 96, 128, 0 };
	return code == 0xf || code == 9 ? entries : ways[code];
}

static int amd_tlbs(const struct src *s, struct nw_cpu_preset *p, char *err, size_t n)
{
	uint32_t l1[4], l2[4], g1[4];
	struct nw_tlb_cfg *c = &p->tlb;

	if (!q(s, 0x80000005, 0, l1) || !q(s, 0x80000006, 0, l2)) {
		snprintf(err, n, "host: CPUID leaves 0x80000005/6 (TLB geometry) are unavailable");
		return -ENOTSUP;
	}
	if (!q(s, 0x80000019, 0, g1))
		note(p, "no CPUID leaf 0x80000019: 1G pages splintered");
	clear_tlbs(c);
	note(p, "TLBs from CPUID leaves 0x80000005/6");
	struct level_build d = { c->l1d, 3, 0, "l1d" }, i = { c->l1i, 3, 0, "l1i" },
			   u = { c->l2, 2, 0, "l2" };
	/* L1: bits 31:24 dTLB ways (0xFF fully), 23:16 entries, 15:8 / 7:0 iTLB. */
	add_size(p, &d, 1, (l1[1] >> 16) & 0xff, l1[1] >> 24);
	add_size(p, &d, 2, (l1[0] >> 16) & 0xff, l1[0] >> 24);
	add_size(p, &d, 3, (g1[0] >> 16) & 0xfff, amd_l2_ways(g1[0] >> 28, (g1[0] >> 16) & 0xfff));
	add_size(p, &i, 1, l1[1] & 0xff, (l1[1] >> 8) & 0xff);
	add_size(p, &i, 2, l1[0] & 0xff, (l1[0] >> 8) & 0xff);
	add_size(p, &i, 3, g1[0] & 0xfff, amd_l2_ways((g1[0] >> 12) & 0xf, g1[0] & 0xfff));
	/* L2: bits 31:28 dTLB ways (coded), 27:16 entries; the model's L2 is the dTLB. */
	uint32_t e4 = (l2[1] >> 16) & 0xfff, e2 = (l2[0] >> 16) & 0xfff, e1 = (g1[1] >> 16) & 0xfff;
	add_size(p, &u, 1, e4, amd_l2_ways(l2[1] >> 28, e4));
	add_size(p, &u, 2, e2, amd_l2_ways(l2[0] >> 28, e2));
	add_size(p, &u, 3, e1, amd_l2_ways(g1[1] >> 28, e1));
	return 0;
}

/* ---- Intel ---- */

/* Leaf 0x18: one structure per subleaf. */
static bool intel_leaf18(const struct src *s, struct nw_cpu_preset *p)
{
	uint32_t r[4];
	struct nw_tlb_cfg *c = &p->tlb;
	struct level_build d = { c->l1d, 3, 0, "l1d" }, i = { c->l1i, 3, 0, "l1i" },
			   u = { c->l2, 2, 0, "l2" };
	bool any = false;

	if (!q(s, 0, 0, r) || r[0] < 0x18 || !q(s, 0x18, 0, r))
		return false;
	uint32_t last = r[0];
	clear_tlbs(c);
	for (uint32_t sub = 0; sub <= last && sub < 64; sub++) {
		if (!q(s, 0x18, sub, r))
			break;
		unsigned type = r[3] & 0x1f, level = (r[3] >> 5) & 7;
		uint32_t ways = r[1] >> 16, sets = r[2];
		uint32_t entries = ways * sets;
		struct level_build *b;

		if (type == 0 || type == 5) /* null, store-only */
			continue;
		if (level == 1)
			b = type == 2 ? &i : &d;
		else if (level == 2)
			b = &u;
		else
			continue;
		if (r[3] & (1u << 8))
			ways = entries;
		if (r[1] & 1)
			add_size(p, b, 1, entries, ways);
		if (r[1] & 6)           /* 2M or 4M */
			add_size(p, b, 2, entries, ways);
		if (r[1] & 8)
			add_size(p, b, 3, entries, ways);
		if (level == 1 && type == 3) /* unified L1 serves fetches too */
			memcpy(c->l1i, c->l1d, sizeof(c->l1i));
		any = true;
	}
	if (any)
		note(p, "TLBs from CPUID leaf 0x18");
	return any;
}

/* The common TLB descriptors of leaf 2: where, page sizes, entries, ways. */
struct desc {
	uint8_t code;
	char where;      /* 'd' L1 data, 'i' L1 instruction, 'u' L2 */
	uint8_t sizes;   /* NW_TLB_SZ_* */
	uint16_t entries;
	uint8_t ways;    /* 0: fully associative */
};

#define K NW_TLB_SZ_4K
#define M NW_TLB_SZ_2M
#define GB NW_TLB_SZ_1G
static const struct desc descs[] = {
	{ 0x01, 'i', K, 32, 4 }, { 0x02, 'i', M, 2, 0 }, { 0x03, 'd', K, 64, 4 },
	{ 0x04, 'd', M, 8, 4 }, { 0x05, 'd', M, 32, 4 }, { 0x0b, 'i', M, 4, 4 },
	{ 0x4f, 'i', K, 32, 0 }, { 0x50, 'i', K | M, 64, 0 }, { 0x51, 'i', K | M, 128, 0 },
	{ 0x52, 'i', K | M, 256, 0 }, { 0x55, 'i', M, 7, 0 }, { 0x56, 'd', M, 16, 4 },
	{ 0x57, 'd', K, 16, 4 }, { 0x59, 'd', K, 16, 0 }, { 0x5a, 'd', M, 32, 4 },
	{ 0x5b, 'd', K | M, 64, 0 }, { 0x5c, 'd', K | M, 128, 0 }, { 0x5d, 'd', K | M, 256, 0 },
	{ 0x61, 'i', K, 48, 0 }, { 0x63, 'd', M, 32, 4 }, { 0x63, 'd', GB, 4, 4 },
	{ 0x64, 'd', K, 512, 4 }, { 0x6a, 'd', K, 64, 8 }, { 0x6b, 'd', K, 256, 8 },
	{ 0x6c, 'd', M, 128, 8 }, { 0x6d, 'd', GB, 16, 0 }, { 0x76, 'i', M, 8, 0 },
	{ 0xa0, 'd', K, 32, 0 }, { 0xb0, 'i', K, 128, 4 }, { 0xb1, 'i', M, 8, 4 },
	{ 0xb2, 'i', K, 64, 4 }, { 0xb3, 'd', K, 128, 4 }, { 0xb4, 'd', K, 256, 4 },
	{ 0xb5, 'i', K, 64, 8 }, { 0xb6, 'i', K, 128, 8 }, { 0xba, 'd', K, 64, 4 },
	{ 0xc0, 'd', K | M, 8, 4 }, { 0xc1, 'u', K | M, 1024, 8 }, { 0xc2, 'd', K | M, 16, 4 },
	{ 0xc3, 'u', K | M, 1536, 6 }, { 0xc3, 'u', GB, 16, 4 }, { 0xc4, 'd', M, 32, 4 },
	{ 0xca, 'u', K, 512, 4 },
};
#undef K
#undef M
#undef GB

static bool intel_leaf2(const struct src *s, struct nw_cpu_preset *p)
{
	uint32_t r[4];
	struct nw_tlb_cfg *c = &p->tlb;
	struct level_build d = { c->l1d, 3, 0, "l1d" }, i = { c->l1i, 3, 0, "l1i" },
			   u = { c->l2, 2, 0, "l2" };
	bool any = false;

	if (!q(s, 2, 0, r))
		return false;
	clear_tlbs(c);
	for (int reg = 0; reg < 4; reg++) {
		if (r[reg] & 0x80000000u)
			continue; /* this register holds no descriptors */
		for (int byte = reg == 0 ? 1 : 0; byte < 4; byte++) {
			uint8_t code = (uint8_t)(r[reg] >> (8 * byte));
			for (size_t k = 0; k < sizeof(descs) / sizeof(descs[0]); k++) {
				const struct desc *x = &descs[k];
				if (x->code != code)
					continue;
				struct level_build *b = x->where == 'd' ? &d : x->where == 'i' ? &i : &u;
				for (int lv = 1; lv <= 3; lv++)
					if (x->sizes & NW_TLB_SZ(lv))
						add_size(p, b, lv, x->entries, x->ways ? x->ways : x->entries);
				any = true;
			}
		}
	}
	if (any)
		note(p, "TLBs from CPUID leaf 2 descriptors");
	return any;
}

/* ---- caches and the whole preset ---- */

static void caches_from(struct nw_cpu_preset *p, const struct nw_host_caches *h)
{
	struct nw_lat_cfg *l = &p->lat;

	if (!h || !h->l1d || !h->l2 || !h->llc) {
		note(p, "cache sizes not given: the vendor preset's");
		return;
	}
	l->l1d = (struct nw_cache_geom){ h->l1d, h->l1d_ways ? h->l1d_ways : 8 };
	l->l2 = (struct nw_cache_geom){ h->l2, h->l2_ways ? h->l2_ways : 8 };
	l->llc = (struct nw_cache_geom){ h->llc, h->llc_ways ? h->llc_ways : 16 };
}

int nw_cpu_preset_cpuid(bool (*cpuid)(void *arg, uint32_t leaf, uint32_t subleaf, uint32_t r[4]),
			void *arg, const struct nw_host_caches *caches, struct nw_cpu_preset *p,
			char *err, size_t errlen)
{
	struct src s = { cpuid, arg };
	uint32_t r[4];
	char vendor[13];
	char dummy[8];
	int rc;

	if (!err) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	if (!cpuid || !q(&s, 0, 0, r)) {
		snprintf(err, errlen, "host: CPUID is unavailable; use a named preset");
		return -ENOTSUP;
	}
	memcpy(vendor, &r[1], 4);
	memcpy(vendor + 4, &r[3], 4);
	memcpy(vendor + 8, &r[2], 4);
	vendor[12] = 0;
	bool amd = !strcmp(vendor, "AuthenticAMD") || !strcmp(vendor, "HygonGenuine");
	bool intel = !strcmp(vendor, "GenuineIntel");
	if (!amd && !intel) {
		snprintf(err, errlen, "host: CPU vendor '%s' is not Intel or AMD; use a named preset",
			 vendor);
		return -ENOTSUP;
	}
	nw_cpu_preset_for_vendor(amd ? NW_VENDOR_AMD : NW_VENDOR_INTEL, p);
	p->name = "host";
	p->note[0] = 0;
	if (amd) {
		if ((rc = amd_tlbs(&s, p, err, errlen)) < 0)
			return rc;
	} else if (!intel_leaf18(&s, p) && !intel_leaf2(&s, p)) {
		snprintf(err, errlen,
			 "host: CPUID reports no TLB geometry (no leaf 0x18, no known leaf 2 descriptor)");
		return -ENOTSUP;
	}
	if (!p->tlb.l1i[0].entries && p->tlb.l1d[0].entries) {
		memcpy(p->tlb.l1i, p->tlb.l1d, sizeof(p->tlb.l1i));
		note(p, "no L1 iTLB reported: l1d's geometry");
	}
	caches_from(p, caches);
	if ((rc = nw_tlb_cfg_check(&p->tlb, err, errlen)) < 0) {
		char why[128];
		snprintf(why, sizeof(why), "%s", err);
		snprintf(err, errlen, "host: CPUID's TLB geometry is unusable: %s", why);
		return -ENOTSUP;
	}
	return 0;
}

#ifdef HAVE_CPUID
static bool real_cpuid(void *arg, uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	unsigned max = __get_cpuid_max(leaf & 0x80000000u, NULL);

	if (max == 0 || leaf > max)
		return false;
	__cpuid_count(leaf, sub, r[0], r[1], r[2], r[3]);
	return true;
}
#endif

int nw_cpu_preset_host(const struct nw_host_caches *caches, struct nw_cpu_preset *p,
		       char *err, size_t errlen)
{
#ifdef HAVE_CPUID
	return nw_cpu_preset_cpuid(real_cpuid, NULL, caches, p, err, errlen);
#else
	if (err)
		snprintf(err, errlen, "host: CPUID is not available on this architecture; "
			 "use a named preset");
	return -ENOTSUP;
#endif
}
