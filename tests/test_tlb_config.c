/* SPDX-License-Identifier: MIT */
/*
 * Configurations: invalid ones fail with -EINVAL and a message naming the
 * structure and the reason; allocation failure gives -ENOMEM with nothing
 * built; every preset builds; `host` reads CPUID (recorded register values
 * for Intel and AMD, and this machine's own) or says why it cannot; the
 * stats names are stable and unique.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nestwalk/tlb_preset.h>

#include "nw_test.h"

static struct nw_tlb_cfg base_cfg(void)
{
	return (struct nw_tlb_cfg){
		.l1d = { { 64, 4, NW_TLB_SZ_4K }, { 32, 4, NW_TLB_SZ_2M }, { 4, 4, NW_TLB_SZ_1G } },
		.l1i = { { 64, 64, NW_TLB_SZ_ALL } },
		.l2 = { { 1536, 12, NW_TLB_SZ_4K | NW_TLB_SZ_2M } },
		.psc = { { 32, 4, 0 }, { 16, 4, 0 }, { 16, 4, 0 } },
		.ntlb = { 64, 4, NW_TLB_SZ_ALL },
		.pwc = { 64, 4, 0 },
	};
}

static void expect_einval(const struct nw_tlb_cfg *c, const char *needle)
{
	struct nw_tlb *t = (struct nw_tlb *)0x1;
	char err[160] = "";

	assert_int_equal(nw_tlb_create(c, &t, err, sizeof(err)), -EINVAL);
	assert_null(t);
	if (!strstr(err, needle))
		fail_msg("message '%s' lacks '%s'", err, needle);
	assert_int_equal(nw_tlb_cfg_check(c, err, sizeof(err)), -EINVAL);
	print_message("  -EINVAL: %s\n", err);
}

static void test_invalid_tlb_configs(void **state)
{
	struct nw_tlb_cfg c;
	struct nw_tlb *t;

	c = base_cfg();
	assert_int_equal(nw_tlb_create(&c, &t, NULL, 0), 0);
	nw_tlb_destroy(t);

	c = base_cfg(); c.l1d[1].ways = 0;                 /* zero ways */
	expect_einval(&c, "l1d.1: 32 entries with 0 ways");
	c = base_cfg(); c.l2[0].ways = 16;                 /* 1536 / 16 = 96 sets */
	expect_einval(&c, "l2.0: 1536 entries / 16 ways = 96 sets, not a power of two");
	c = base_cfg(); c.psc[1].entries = 18;             /* 18 / 4: not whole sets */
	expect_einval(&c, "psc.pdpte: 18 entries is not a multiple of 4 ways");
	c = base_cfg(); c.pwc.ways = 0;
	expect_einval(&c, "pwc: 64 entries with 0 ways");
	c = base_cfg(); c.l1d[0].entries = 0;              /* a missing page size */
	expect_einval(&c, "l1d: no bank holds 4K pages");
	c = base_cfg(); c.l2[0].sizes = NW_TLB_SZ_2M;
	expect_einval(&c, "l2: no bank holds 4K pages");
	c = base_cfg(); c.l1d[2].sizes = 0;                /* a bank with no page size */
	expect_einval(&c, "l1d.2: 4 entries but no valid page size");
	c = base_cfg(); c.l1d[2].sizes = NW_TLB_SZ_2M;     /* 2M in two banks */
	expect_einval(&c, "l1d: two banks hold 2M pages");
	c = base_cfg(); c.ntlb.sizes = NW_TLB_SZ_2M;
	expect_einval(&c, "ntlb: does not hold 4K pages");
	c = base_cfg(); c.va_bits = 52;
	expect_einval(&c, "va_bits 52");
	c = base_cfg(); c.maxphyaddr = 30;
	expect_einval(&c, "maxphyaddr 30");
	c = base_cfg(); c.calloc = calloc;
	expect_einval(&c, "give both or neither");
	expect_einval(NULL, "no configuration");
}

static void expect_lat_einval(const struct nw_lat_cfg *c, const char *needle)
{
	struct nw_lat *lat = (struct nw_lat *)0x1;
	char err[160] = "";

	assert_int_equal(nw_lat_create(c, &lat, err, sizeof(err)), -EINVAL);
	assert_null(lat);
	if (!strstr(err, needle))
		fail_msg("message '%s' lacks '%s'", err, needle);
	print_message("  -EINVAL: %s\n", err);
}

static void test_invalid_lat_configs(void **state)
{
	struct nw_cpu_preset p;
	struct nw_lat_cfg c;

	assert_int_equal(nw_cpu_preset("skylake", &p, NULL, 0), 0);
	c = p.lat; c.l1d.ways = 0;
	expect_lat_einval(&c, "l1d: 512 entries with 0 ways");
	c = p.lat; c.l2.size = 3 * 128 * 1024;            /* 384 KiB 4-way: 1536 sets */
	expect_lat_einval(&c, "l2: 6144 entries / 4 ways = 1536 sets, not a power of two");
	c = p.lat; c.llc.size = 1000;
	expect_lat_einval(&c, "llc: size 1000 is not a positive multiple of 64 bytes");
	c = p.lat; c.llc.size = 0;
	expect_lat_einval(&c, "llc: size 0");
}

/* ---- allocation failure ---- */

static int allocs, live, fail_next;

static void *counting_calloc(size_t n, size_t size)
{
	allocs++;
	if (fail_next) {
		fail_next = 0;
		return NULL;
	}
	live++;
	return calloc(n, size);
}

static void counting_free(void *p)
{
	live--;
	free(p);
}

static void test_enomem(void **state)
{
	struct nw_cpu_preset p;
	struct nw_tlb *t = (struct nw_tlb *)0x1;
	struct nw_lat *lat = (struct nw_lat *)0x1;
	char err[160];

	assert_int_equal(nw_cpu_preset("zen4", &p, NULL, 0), 0);
	p.tlb.calloc = p.lat.calloc = counting_calloc;
	p.tlb.free = p.lat.free = counting_free;

	/* Each object is one allocation: fail it, and nothing exists. */
	fail_next = 1;
	assert_int_equal(nw_tlb_create(&p.tlb, &t, err, sizeof(err)), -ENOMEM);
	assert_null(t);
	assert_non_null(strstr(err, "out of memory"));
	print_message("  -ENOMEM: %s\n", err);
	fail_next = 1;
	assert_int_equal(nw_lat_create(&p.lat, &lat, err, sizeof(err)), -ENOMEM);
	assert_null(lat);
	print_message("  -ENOMEM: %s\n", err);
	assert_int_equal(live, 0);
	assert_int_equal(allocs, 2);

	/* And then the same calls succeed, and give everything back. */
	assert_int_equal(nw_tlb_create(&p.tlb, &t, err, sizeof(err)), 0);
	assert_int_equal(nw_lat_create(&p.lat, &lat, err, sizeof(err)), 0);
	assert_int_equal(live, 2);
	nw_lat_destroy(lat);
	nw_tlb_destroy(t);
	assert_int_equal(live, 0);
}

/* ---- presets ---- */

static void test_presets_build(void **state)
{
	static const struct { const char *name; enum nw_vendor v; } named[] = {
		{ "skylake", NW_VENDOR_INTEL }, { "zen3", NW_VENDOR_AMD }, { "zen4", NW_VENDOR_AMD },
		{ "generic", NW_VENDOR_ANY },
	};
	char err[160];
	struct nw_cpu_preset p;

	for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++) {
		struct nw_tlb *t;
		struct nw_lat *lat;
		assert_int_equal(nw_cpu_preset(named[i].name, &p, err, sizeof(err)), 0);
		assert_string_equal(p.name, named[i].name);
		assert_int_equal(p.vendor, named[i].v);
		assert_int_equal(p.tlb.vendor, named[i].v);
		assert_true(p.lat.dram_cycles > p.lat.llc_cycles);
		assert_true(p.lat.vmexit_cycles >= 100);
		assert_int_equal(nw_tlb_create(&p.tlb, &t, err, sizeof(err)), 0);
		assert_int_equal(nw_lat_create(&p.lat, &lat, err, sizeof(err)), 0);
		nw_lat_destroy(lat);
		nw_tlb_destroy(t);
	}
	/* FACTS §6 numbers, literally. */
	assert_int_equal(nw_cpu_preset("skylake", &p, NULL, 0), 0);
	assert_int_equal(p.tlb.l1d[0].entries, 64);
	assert_int_equal(p.tlb.l1d[0].ways, 4);
	assert_int_equal(p.tlb.l1d[1].entries, 32);
	assert_int_equal(p.tlb.l1d[2].entries, 4);
	assert_int_equal(p.tlb.l2[0].entries, 1536);
	assert_int_equal(p.tlb.l2[0].ways, 12);
	assert_int_equal(p.tlb.l2[1].entries, 16);
	assert_int_equal(p.lat.tlb_l2_cycles, 12);
	assert_int_equal(p.lat.psc_cycles, 3);
	assert_int_equal(p.tlb.ntlb.entries, 64);
	assert_int_equal(nw_cpu_preset("zen3", &p, NULL, 0), 0);
	assert_int_equal(p.tlb.l1d[0].entries, 64);
	assert_int_equal(p.tlb.l1d[0].ways, 64);
	assert_int_equal(p.tlb.l2[0].entries, 2048);
	assert_int_equal(p.walkers, 6);
	assert_int_equal(nw_cpu_preset("zen4", &p, NULL, 0), 0);
	assert_int_equal(p.tlb.l1d[0].entries, 72);
	assert_int_equal(p.tlb.l2[0].entries, 3072);

	assert_int_equal(nw_cpu_preset("pentium", &p, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "unknown CPU preset 'pentium'"));
	for (int i = 0; nw_cpu_preset_names[i]; i++)
		assert_non_null(nw_cpu_preset_names[i]);
}

/* ---- host: recorded CPUID ---- */

struct fake_leaf {
	uint32_t leaf, sub;
	uint32_t r[4];
};

struct fake {
	const struct fake_leaf *leaves;
	size_t n;
};

static bool fake_cpuid(void *arg, uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	const struct fake *f = arg;
	for (size_t i = 0; i < f->n; i++)
		if (f->leaves[i].leaf == leaf && f->leaves[i].sub == sub) {
			memcpy(r, f->leaves[i].r, 4 * sizeof(uint32_t));
			return true;
		}
	return false;
}

#define VENDOR(a, b, c) { 0x1f, a, c, b } /* EAX max leaf, EBX, ECX, EDX */
#define GENU 0x756e6547u
#define INEI 0x49656e69u
#define NTEL 0x6c65746eu
#define AUTH 0x68747541u
#define ENTI 0x69746e65u
#define CAMD 0x444d4163u

/*
 * AMD: L1 4K and 2M/4M and (leaf 0x80000019) 1G, each 64 entries fully
 * associative (0xFF): one unified bank. L2 4K, 2M and 1G each 2048 entries,
 * code 6 = 8-way: one bank.
 */
static const struct fake_leaf amd_leaves[] = {
	{ 0, 0, VENDOR(AUTH, ENTI, CAMD) },
	{ 0x80000005, 0, { 0xff40ff40u, 0xff40ff40u, 0, 0 } },
	{ 0x80000006, 0, { (6u << 28) | (2048u << 16) | (6u << 12) | 512, (6u << 28) | (2048u << 16) | (6u << 12) | 512, 0, 0 } },
	{ 0x80000019, 0, { (0xfu << 28) | (64u << 16) | (0xfu << 12) | 64, (6u << 28) | (2048u << 16) | (6u << 12) | 512, 0, 0 } },
};

/* Intel leaf 0x18: iTLB 4K 8-way x 16; dTLB loads 4K 4-way x 16, 2M/4M
 * 4-way x 8, 1G fully 4; STLB 4K/2M/4M 12-way x 128. */
static const struct fake_leaf intel_leaves[] = {
	{ 0, 0, VENDOR(GENU, INEI, NTEL) },
	{ 0x18, 0, { 4, (8u << 16) | 0x1, 16, 0x22 } },
	{ 0x18, 1, { 0, (4u << 16) | 0x1, 16, 0x24 } },
	{ 0x18, 2, { 0, (4u << 16) | 0x6, 8, 0x24 } },
	{ 0x18, 3, { 0, (4u << 16) | 0x8, 1, 0x124 } },
	{ 0x18, 4, { 0, (12u << 16) | 0x7, 128, 0x43 } },
};

/* Intel without leaf 0x18: leaf 2 descriptors 0xb6 (iTLB 4K 8-way 128),
 * 0x5a (dTLB 2M 4-way 32), 0x03 (dTLB 4K 4-way 64), 0xc3 (STLB 4K/2M 6-way
 * 1536 and 1G 4-way 16); AL = 1. */
static const struct fake_leaf intel_leaf2[] = {
	{ 0, 0, { 2, GENU, NTEL, INEI } },
	{ 2, 0, { 0x035ab601u, 0x000000c3u, 0, 0 } },
};

static int host_from(const struct fake_leaf *l, size_t n, struct nw_cpu_preset *p, char *err)
{
	struct fake f = { l, n };
	return nw_cpu_preset_cpuid(fake_cpuid, &f, NULL, p, err, 160);
}

static void test_host_recorded(void **state)
{
	struct nw_cpu_preset p;
	char err[160];

	assert_int_equal(host_from(amd_leaves, 4, &p, err), 0);
	assert_int_equal(p.vendor, NW_VENDOR_AMD);
	assert_string_equal(p.name, "host");
	assert_int_equal(p.tlb.l1d[0].entries, 64);
	assert_int_equal(p.tlb.l1d[0].ways, 64);
	assert_int_equal(p.tlb.l1d[0].sizes, NW_TLB_SZ_ALL);
	assert_int_equal(p.tlb.l1d[1].entries, 0);
	assert_int_equal(p.tlb.l2[0].entries, 2048);
	assert_int_equal(p.tlb.l2[0].ways, 8);
	assert_int_equal(p.tlb.l2[0].sizes, NW_TLB_SZ_ALL);
	assert_int_equal(p.tlb.pwc.entries, 64); /* from zen3, the AMD reference */
	print_message("  amd recorded: %s\n", p.note);

	assert_int_equal(host_from(intel_leaves, 6, &p, err), 0);
	assert_int_equal(p.vendor, NW_VENDOR_INTEL);
	assert_int_equal(p.tlb.l1i[0].entries, 128);
	assert_int_equal(p.tlb.l1i[0].ways, 8);
	assert_int_equal(p.tlb.l1d[0].entries, 64);
	assert_int_equal(p.tlb.l1d[0].sizes, NW_TLB_SZ_4K);
	assert_int_equal(p.tlb.l1d[1].entries, 32);
	assert_int_equal(p.tlb.l1d[1].sizes, NW_TLB_SZ_2M);
	assert_int_equal(p.tlb.l1d[2].entries, 4);
	assert_int_equal(p.tlb.l1d[2].ways, 4);
	assert_int_equal(p.tlb.l2[0].entries, 1536);
	assert_int_equal(p.tlb.l2[0].ways, 12);
	assert_int_equal(p.tlb.l2[0].sizes, NW_TLB_SZ_4K | NW_TLB_SZ_2M);
	print_message("  intel leaf 0x18 recorded: %s\n", p.note);

	assert_int_equal(host_from(intel_leaf2, 2, &p, err), 0);
	assert_int_equal(p.tlb.l1i[0].entries, 128);
	assert_int_equal(p.tlb.l1d[0].entries, 32);   /* 0x5a first: 2M */
	assert_int_equal(p.tlb.l1d[0].sizes, NW_TLB_SZ_2M);
	assert_int_equal(p.tlb.l1d[1].entries, 64);
	assert_int_equal(p.tlb.l2[0].entries, 1536);
	assert_int_equal(p.tlb.l2[0].ways, 6);
	assert_int_equal(p.tlb.l2[1].entries, 16);
	assert_int_equal(p.tlb.l2[1].sizes, NW_TLB_SZ_1G);
	print_message("  intel leaf 2 recorded: %s\n", p.note);

	/* Failures say why. */
	static const struct fake_leaf other[] = { { 0, 0, { 1, 0x746e6543u, 0x736c7561u, 0x48727561u } } };
	assert_int_equal(host_from(other, 1, &p, err), -ENOTSUP);
	assert_non_null(strstr(err, "is not Intel or AMD"));
	assert_int_equal(host_from(amd_leaves, 1, &p, err), -ENOTSUP);
	assert_non_null(strstr(err, "0x80000005/6"));
	assert_int_equal(host_from(intel_leaves, 1, &p, err), -ENOTSUP);
	assert_non_null(strstr(err, "no TLB geometry"));
	assert_int_equal(host_from(NULL, 0, &p, err), -ENOTSUP);
	assert_non_null(strstr(err, "CPUID is unavailable"));
	print_message("  -ENOTSUP: %s\n", err);
}

/* This machine: either a usable preset, or a clear reason. */
static void test_host_this_machine(void **state)
{
	struct nw_cpu_preset p;
	struct nw_host_caches caches = { 32 << 10, 512 << 10, 16 << 20, 8, 8, 16 };
	char err[160] = "";
	int rc = nw_cpu_preset_host(&caches, &p, err, sizeof(err));

	if (rc == 0) {
		struct nw_tlb *t;
		struct nw_lat *lat;
		assert_int_equal(nw_tlb_create(&p.tlb, &t, err, sizeof(err)), 0);
		assert_int_equal(nw_lat_create(&p.lat, &lat, err, sizeof(err)), 0);
		print_message("  host: %s, l1d %u/%u-way, l2 %u/%u-way; %s\n",
			      p.vendor == NW_VENDOR_AMD ? "amd" : "intel", p.tlb.l1d[0].entries,
			      p.tlb.l1d[0].ways, p.tlb.l2[0].entries, p.tlb.l2[0].ways, p.note);
		nw_lat_destroy(lat);
		nw_tlb_destroy(t);
	} else {
		assert_int_equal(rc, -ENOTSUP);
		assert_true(strlen(err) > 10);
		print_message("  host unavailable: %s\n", err);
	}
	rc = nw_cpu_preset("host", &p, err, sizeof(err));
	assert_true(rc == 0 || rc == -ENOTSUP);
}

/* ---- stats names ---- */

static void test_stats_names(void **state)
{
	struct nw_tlb_stats s;
	struct nw_stat list[NW_TLB_STATS_MAX];
	size_t n;
	uint64_t v;

	memset(&s, 0, sizeof(s));
	s.tlb_hits[NW_TLBL_L1D][NW_PAGE_2M] = 7;
	s.refs_host = 11;
	s.inval[NW_INV_INVEPT1] = 3;
	n = nw_tlb_stats_list(&s, list, NW_TLB_STATS_MAX);
	assert_true(n > 80 && n <= NW_TLB_STATS_MAX);
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			if (!strcmp(list[i].name, list[j].name))
				fail_msg("duplicate stat name %s", list[i].name);
	assert_string_equal(list[0].name, "accesses");
	assert_int_equal(nw_tlb_stats_get(&s, "tlb.l1d.2m.hits", &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(nw_tlb_stats_get(&s, "walk.refs.host", &v), 0);
	assert_int_equal(v, 11);
	assert_int_equal(nw_tlb_stats_get(&s, "inval.invept1", &v), 0);
	assert_int_equal(v, 3);
	static const char *const must[] = {
		"tlb.l2.4k.misses", "tlb.l1i.none.misses", "psc.pde.hits", "gpsc.pml4e.misses",
		"ntlb.hits", "pwc.host.hits", "walks", "walk.refs.guest", "walk.refs.skipped",
		"mem.pt.dram", "mem.data.l1", "cycles.tlb", "cycles.psc", "cycles.walk.guest",
		"cycles.walk.host", "cycles.data", "cycles.vmexit", "inval.invlpg",
		"inval.tlb_control7", "inval.vmfail", "inval.dropped",
	};
	for (size_t i = 0; i < sizeof(must) / sizeof(must[0]); i++)
		if (nw_tlb_stats_get(&s, must[i], &v) != 0)
			fail_msg("no stat named %s", must[i]);
	assert_int_equal(nw_tlb_stats_get(&s, "tlb.l3.hits", &v), -ENOENT);
	/* A short buffer still reports the full count. */
	assert_int_equal(nw_tlb_stats_list(&s, list, 3), n);
	for (int i = 0; i < NW_INV_COUNT; i++)
		assert_string_not_equal(nw_inv_name(i), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_invalid_tlb_configs),
		cmocka_unit_test(test_invalid_lat_configs),
		cmocka_unit_test(test_enomem),
		cmocka_unit_test(test_presets_build),
		cmocka_unit_test(test_host_recorded),
		cmocka_unit_test(test_host_this_machine),
		cmocka_unit_test(test_stats_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
