/*
 * topo.c - where the chase runs: pinning and the machine's description,
 * from hwloc, CPUID and sysfs.
 */
#define _GNU_SOURCE
#include "hw_internal.h"

#include <cpuid.h>
#include <errno.h>
#include <hwloc.h>
#include <string.h>

#include <nestwalk/tlb_preset.h>

static hwloc_topology_t topo;
static int pinned_pu = -1;  /* OS index of the PU we are bound to */
static char pinned_desc[96];

/* ---- private prototypes ---- */
static int topo_load(void);
static void put_caches(nw_hw_put_fn put, void *arg);
static void put_marks(nw_hw_put_fn put, void *arg);
static void put_hypervisor(nw_hw_put_fn put, void *arg);
static void put_sysfs_line(nw_hw_put_fn put, void *arg, const char *key,
			   const char *path);

int nw_hw_pin(int core, char *desc, size_t n)
{
	int type = HWLOC_OBJ_CORE, nobj, err;
	hwloc_bitmap_t set;
	hwloc_obj_t obj;

	if ((err = topo_load())) {
		nw_why(desc, n, "hwloc could not load the topology");
		return err;
	}
	nobj = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE);
	if (nobj <= 0) {
		type = HWLOC_OBJ_PU;
		nobj = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU);
	}
	if (core < 0)
		core = nobj - 1;
	obj = core < nobj ? hwloc_get_obj_by_type(topo, type, (unsigned)core) : NULL;
	if (!obj) {
		nw_why(desc, n, "no core %d (the machine has %d)", core, nobj);
		return -EINVAL;
	}
	set = hwloc_bitmap_dup(obj->cpuset);
	if (!set)
		return -ENOMEM;
	/* One PU: the chase must not share or hop between hyperthreads. */
	hwloc_bitmap_singlify(set);
	if (hwloc_set_cpubind(topo, set, HWLOC_CPUBIND_THREAD)) {
		err = -errno;
		hwloc_bitmap_free(set);
		nw_why(desc, n, "hwloc_set_cpubind: %s", strerror(-err));
		return err;
	}
	pinned_pu = hwloc_bitmap_first(set);
	hwloc_bitmap_free(set);
	snprintf(pinned_desc, sizeof(pinned_desc), "core L#%d, PU P#%d", core, pinned_pu);
	nw_why(desc, n, "%s", pinned_desc);
	return 0;
}

int nw_hw_describe(nw_hw_put_fn put, void *arg)
{
	char v[256];
	const char *model = NULL;
	hwloc_obj_t pkg;
	int64_t avail;
	int err;

	if ((err = topo_load()))
		return err;
	pkg = hwloc_get_obj_by_type(topo, HWLOC_OBJ_PACKAGE, 0);
	if (pkg)
		model = hwloc_obj_get_info_by_name(pkg, "CPUModel");
	put(arg, "hw.cpu", model ? model : "unknown");
	put_hypervisor(put, arg);
	snprintf(v, sizeof(v), "%d packages, %d NUMA nodes, %d cores, %d PUs",
		 hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PACKAGE),
		 hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_NUMANODE),
		 hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE),
		 hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU));
	put(arg, "hw.topology", v);
	put(arg, "hw.pinned", pinned_pu >= 0 ? pinned_desc : "no");
	put_caches(put, arg);
	put_marks(put, arg);
	put_sysfs_line(put, arg, "hw.thp_enabled",
		       "/sys/kernel/mm/transparent_hugepage/enabled");
	put_sysfs_line(put, arg, "hw.thp_defrag", "/sys/kernel/mm/transparent_hugepage/defrag");
	avail = nw_hw_mem_available();
	if (avail >= 0) {
		snprintf(v, sizeof(v), "%lld MiB", (long long)(avail >> 20));
		put(arg, "hw.mem_available", v);
	}
	snprintf(v, sizeof(v), "%.3f", nw_hw_core_ghz());
	put(arg, "hw.core_ghz", v);
	return 0;
}

/* ---- private ---- */

static int topo_load(void)
{
	if (topo)
		return 0;
	if (hwloc_topology_init(&topo))
		return -ENOMEM;
	if (hwloc_topology_load(topo)) {
		hwloc_topology_destroy(topo);
		topo = NULL;
		return -EIO;
	}
	return 0;
}

/* 4 KiB entries in a TLB level's banks (0 when none holds 4K pages). */
static uint64_t entries_4k(const struct nw_tlb_geom *g, int n)
{
	uint64_t e = 0;

	for (int i = 0; i < n; i++)
		if (g[i].sizes & NW_TLB_SZ_4K)
			e += g[i].entries;
	return e;
}

static void put_mark(nw_hw_put_fn put, void *arg, const char *key, uint64_t ws, const char *label)
{
	char v[128];

	if (!ws)
		return;
	snprintf(v, sizeof(v), "%llu %s", (unsigned long long)ws, label);
	put(arg, key, v);
}

/*
 * Where the chase's 4k curve should bend, as "hw.mark.<name>" = "<working
 * set in bytes> <label>": at each TLB level's reach (its 4 KiB entries from
 * CPUID, times 4 KiB: the chase's TLB footprint is one page per load) and at
 * 64 times each cache size hwloc reports (its cache footprint is one 64-byte
 * line per 4 KiB page).
 */
static void put_marks(nw_hw_put_fn put, void *arg)
{
	struct nw_host_caches hc;
	struct nw_cpu_preset p;
	char err[160], label[96];

	nw_hw_host_caches(&hc);
	if (nw_cpu_preset_host(&hc, &p, err, sizeof(err)) == 0) {
		uint64_t l1 = entries_4k(p.tlb.l1d, 3), l2 = entries_4k(p.tlb.l2, 2);

		snprintf(label, sizeof(label), "L1 DTLB reach (%llu x 4 KiB)", (unsigned long long)l1);
		put_mark(put, arg, "hw.mark.l1_tlb", l1 * 4096, label);
		snprintf(label, sizeof(label), "L2 TLB reach (%llu x 4 KiB)", (unsigned long long)l2);
		put_mark(put, arg, "hw.mark.l2_tlb", l2 * 4096, label);
	}
	const struct { const char *key, *name; uint64_t size; } c[] = {
		{ "hw.mark.l1d", "L1d", hc.l1d }, { "hw.mark.l2", "L2", hc.l2 },
		{ "hw.mark.l3", "L3", hc.llc },
	};
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		snprintf(label, sizeof(label), "%s %llu KiB x 64", c[i].name,
			 (unsigned long long)(c[i].size >> 10));
		put_mark(put, arg, c[i].key, c[i].size * 64, label);
	}
}

/* The data and unified caches above the pinned PU (PU 0 if not pinned). */
static void put_caches(nw_hw_put_fn put, void *arg)
{
	hwloc_obj_t pu = pinned_pu >= 0 ? hwloc_get_pu_obj_by_os_index(topo, (unsigned)pinned_pu)
					: hwloc_get_obj_by_type(topo, HWLOC_OBJ_PU, 0);

	for (hwloc_obj_t o = pu ? pu->parent : NULL; o; o = o->parent) {
		char key[32], v[128], ways[24];

		if (!hwloc_obj_type_is_dcache(o->type))
			continue;
		snprintf(key, sizeof(key), "hw.cache.l%u%s", o->attr->cache.depth,
			 o->attr->cache.type == HWLOC_OBJ_CACHE_DATA ? "d" : "");
		if (o->attr->cache.associativity > 0)
			snprintf(ways, sizeof(ways), "%d-way", o->attr->cache.associativity);
		else
			snprintf(ways, sizeof(ways), "%s",
				 o->attr->cache.associativity < 0 ? "fully associative"
								   : "ways unknown");
		snprintf(v, sizeof(v), "%llu KiB, %s, %u B lines, shared by %d PUs",
			 (unsigned long long)(o->attr->cache.size >> 10), ways,
			 o->attr->cache.linesize, hwloc_bitmap_weight(o->cpuset));
		put(arg, key, v);
	}
}

int nw_hw_host_caches(struct nw_host_caches *out)
{
	hwloc_obj_t pu;
	bool any = false;

	memset(out, 0, sizeof(*out));
	if (topo_load())
		return -EIO;
	pu = hwloc_get_obj_by_type(topo, HWLOC_OBJ_PU, 0);
	for (hwloc_obj_t o = pu ? pu->parent : NULL; o; o = o->parent) {
		if (!hwloc_obj_type_is_dcache(o->type))
			continue;
		uint32_t ways = o->attr->cache.associativity > 0 ? (uint32_t)o->attr->cache.associativity : 0;
		switch (o->attr->cache.depth) {
		case 1:
			out->l1d = o->attr->cache.size, out->l1d_ways = ways;
			break;
		case 2:
			out->l2 = o->attr->cache.size, out->l2_ways = ways;
			break;
		default: /* the last level hwloc knows */
			out->llc = o->attr->cache.size, out->llc_ways = ways;
		}
		any = true;
	}
	return any ? 0 : -EIO;
}

/* CPUID.1:ECX[31] says a hypervisor is present; leaf 0x40000000 names it. */
static void put_hypervisor(nw_hw_put_fn put, void *arg)
{
	unsigned a, b, c, d;
	char name[13], v[96];

	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 31))) {
		put(arg, "hw.hypervisor", "none (bare metal)");
		return;
	}
	__cpuid(0x40000000, a, b, c, d);
	memcpy(name, &b, 4);
	memcpy(name + 4, &c, 4);
	memcpy(name + 8, &d, 4);
	name[12] = 0;
	snprintf(v, sizeof(v), "%s: a VM, so every walk here is two-dimensional", name);
	put(arg, "hw.hypervisor", v);
}

static void put_sysfs_line(nw_hw_put_fn put, void *arg, const char *key, const char *path)
{
	char line[128];
	FILE *f = fopen(path, "re");

	if (!f)
		return;
	if (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		put(arg, key, line);
	}
	fclose(f);
}
