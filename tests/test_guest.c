/* SPDX-License-Identifier: MIT */
/*
 * The guest OS model on native, EPT (skylake) and NPT (zen4) VMs, with 1
 * and 4 vCPUs, checked through the data it reads back:
 *  - demand-zero pages read 0, stores round-trip, 2 MiB pages included;
 *  - fork/COW: a random program of forks, stores, loads and exits over
 *    many processes and vCPUs, against a host-side model of every
 *    process's memory; a child's writes never reach its parent or siblings;
 *  - munmap and mprotect take effect (SEGV), also on other vCPUs (shootdown);
 *  - context switches, with and without PCIDs, keep processes apart;
 *  - negative controls: a skipped INVLPG or shootdown shows stale data;
 *  - guest OOM takes the guest's own path; host OOM stops the VM;
 *  - no frame leaks: once every process exited, the frames in use are
 *    those of the booted kernel.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nw_test.h"
#include <nestwalk/guest.h>

/* The slow build runs the random fork/COW program longer, over more seeds. */
#ifdef NW_GUEST_SLOW
#define MODEL_OPS 3000
#define MODEL_SEEDS 2
#define MODEL_VARIANTS 0x1ffu /* all of variants[] */
#else
#define MODEL_OPS 800
#define MODEL_SEEDS 1
#define MODEL_VARIANTS 0xb1u /* native 1; EPT 4 with PCIDs, 4- and 5-level; NPT 4 without */
#endif

/* Exhausting memory is slow under ASan: native 1, EPT 4 with PCIDs, NPT 1. */
#ifdef NW_GUEST_SLOW
#define OOM_VARIANTS 0x1ffu
#else
#define OOM_VARIANTS 0x51u
#endif

#define PAGE 4096ull
#define MB (1ull << 20)

struct env {
	struct nw_vm *vm;
	struct nw_guest *g;
	uint64_t boot_frames;
};

struct variant {
	enum nw_vm_mode mode;
	const char *preset;
	unsigned vcpus;
	bool pcid;
	bool huge;
	int levels;
};

static const struct variant variants[] = {
	{ NW_VM_NATIVE, "generic", 1, false, false, 4 },
	{ NW_VM_NATIVE, "generic", 4, true, true, 4 },
	{ NW_VM_EPT, "skylake", 1, false, true, 4 },
	{ NW_VM_EPT, "skylake", 4, false, false, 4 },
	{ NW_VM_EPT, "skylake", 4, true, true, 4 },
	{ NW_VM_EPT, "skylake", 4, true, false, 5 },
	{ NW_VM_NPT, "zen4", 1, true, false, 4 },
	{ NW_VM_NPT, "zen4", 4, false, true, 4 },
	{ NW_VM_NPT, "zen4", 4, true, true, 4 },
};
#define NVARIANTS (sizeof(variants) / sizeof(variants[0]))

static void env_up_cfg(struct env *e, const struct variant *va, uint64_t ram,
		       uint64_t host_frames, uint64_t kernel_pool, unsigned bugs)
{
	struct nw_vm_cfg vc;
	struct nw_guest_cfg gc;
	char err[200] = "";

	nw_vm_cfg_default(&vc);
	vc.mode = va->mode;
	assert_int_equal(nw_cpu_preset(va->preset, &vc.cpu, err, sizeof(err)), 0);
	vc.ram = ram;
	vc.vcpus = va->vcpus;
	vc.host_frames = host_frames;
	vc.host_levels = va->levels;
	int rc = nw_vm_create(&vc, &e->vm, err, sizeof(err));
	if (rc)
		fail_msg("nw_vm_create: %d %s", rc, err);
	nw_guest_cfg_default(&gc);
	gc.levels = va->levels;
	gc.pcid = va->pcid;
	gc.huge = va->huge;
	gc.kernel_pool = kernel_pool;
	gc.bugs = bugs;
	assert_int_equal(nw_guest_boot(e->vm, &gc, &e->g), 0);
	e->boot_frames = nw_guest_stats(e->g)->frames_used;
	assert_true(e->boot_frames > 0);
}

static void env_up(struct env *e, const struct variant *va, unsigned bugs)
{
	env_up_cfg(e, va, 64 * MB, 0, 0, bugs);
}

static void env_down(struct env *e)
{
	nw_guest_destroy(e->g);
	nw_vm_destroy(e->vm);
}

static struct nw_vcpu *vcpu(struct env *e, unsigned i)
{
	return nw_vm_vcpu(e->vm, i % nw_vm_vcpus(e->vm));
}

static int spawn_on(struct env *e, unsigned cpu)
{
	int pid = 0;
	assert_int_equal(nw_guest_spawn(e->g, vcpu(e, cpu), &pid), 0);
	assert_int_equal(nw_guest_switch(e->g, vcpu(e, cpu), pid), 0);
	assert_int_equal(nw_guest_current(e->g, vcpu(e, cpu)), pid);
	return pid;
}

/* The process runs on every vCPU, as threads would. */
static void run_everywhere(struct env *e, int pid)
{
	for (unsigned i = 0; i < nw_vm_vcpus(e->vm); i++)
		assert_int_equal(nw_guest_switch(e->g, vcpu(e, i), pid), 0);
}

static void store_ok(struct env *e, unsigned cpu, uint64_t va, uint64_t val)
{
	int rc = nw_guest_store(e->g, vcpu(e, cpu), va, val);
	if (rc)
		fail_msg("store %#llx on vCPU %u: %d", (unsigned long long)va, cpu, rc);
}

static uint64_t load_ok(struct env *e, unsigned cpu, uint64_t va)
{
	uint64_t x = 0xdeadbeef;
	int rc = nw_guest_load(e->g, vcpu(e, cpu), va, &x);
	if (rc)
		fail_msg("load %#llx on vCPU %u: %d", (unsigned long long)va, cpu, rc);
	return x;
}

/* Exit pid on cpu and check no frame leaked once the last process is gone. */
static void exit_pid(struct env *e, unsigned cpu, int pid)
{
	assert_int_equal(nw_guest_switch(e->g, vcpu(e, cpu), pid), 0);
	assert_int_equal(nw_guest_exit(e->g, vcpu(e, cpu)), 0);
	assert_int_equal(nw_guest_current(e->g, vcpu(e, cpu)), -ESRCH);
}

static void assert_no_leak(struct env *e)
{
	assert_int_equal(nw_guest_stats(e->g)->frames_used, e->boot_frames);
	assert_int_equal(nw_vm_stopped(e->vm), 0);
}

/* ---- demand-zero and round trips ---- */

static void test_demand_zero(void **state)
{
	for (size_t vi = 0; vi < NVARIANTS; vi++) {
		const struct variant *va = &variants[vi];
		struct env e;
		uint64_t a, h = 0;

		env_up(&e, va, 0);
		int pid = spawn_on(&e, 0);
		run_everywhere(&e, pid);
		assert_int_equal(nw_guest_mmap(e.g, vcpu(&e, 0), 64 * PAGE, NW_PROT_RW, 0, &a), 0);
		for (uint64_t i = 0; i < 64; i++)
			assert_int_equal(load_ok(&e, 0, a + i * PAGE + 8 * (i % 512)), 0);
		for (uint64_t i = 0; i < 64; i++)
			store_ok(&e, (unsigned)i, a + i * PAGE + 16, 0x1000 + i);
		for (uint64_t i = 0; i < 64; i++)
			assert_int_equal(load_ok(&e, (unsigned)i + 1, a + i * PAGE + 16), 0x1000 + i);
		assert_int_equal(nw_guest_stats(e.g)->faults_demand, 64);

		/* A 2 MiB-aligned huge area: two 2 MiB pages when cfg.huge. */
		uint64_t before = nw_guest_stats(e.g)->faults_demand;
		assert_int_equal(nw_guest_mmap(e.g, vcpu(&e, 0), 4 * MB, NW_PROT_RW, NW_MAP_HUGE, &h), 0);
		if (va->huge)
			assert_int_equal(h & (2 * MB - 1), 0);
		for (uint64_t off = 0; off < 4 * MB; off += 64 * 1024) {
			assert_int_equal(load_ok(&e, 0, h + off), 0);
			store_ok(&e, 0, h + off + 8, off ^ 0x5555);
		}
		for (uint64_t off = 0; off < 4 * MB; off += 64 * 1024)
			assert_int_equal(load_ok(&e, 1, h + off + 8), off ^ 0x5555);
		assert_int_equal(nw_guest_stats(e.g)->faults_demand - before, va->huge ? 2 : 64);

		exit_pid(&e, 0, pid);
		assert_no_leak(&e);
		env_down(&e);
	}
}

/* ---- fork / COW against a model of every process's memory ---- */

#define NADDR 96
#define MAXP 24

struct model_proc {
	int pid;
	uint64_t val[NADDR];
};

/* What a run of the model program leaves behind, to compare across modes. */
struct summary {
	struct nw_guest_stats st;
	uint64_t checksum[4], guest_pf[4], loads[4], stores[4];
};

/*
 * A random program of stores, loads, forks and exits over up to MAXP
 * processes on random vCPUs (one process may be current on several),
 * every load checked against the model.
 */
static void run_model(const struct variant *va, uint64_t seed, int ops, struct summary *sum)
{
	struct nw_rng rng = { seed };
	struct model_proc *mp = calloc(MAXP, sizeof(*mp));
	uint64_t addr[NADDR], a, h;
	unsigned np = 1;
	struct env e;

	env_up(&e, va, 0);
	mp[0].pid = spawn_on(&e, 0);
	/* 64 addresses in a 4 KiB area (some share a page), 32 in a huge one. */
	assert_int_equal(nw_guest_mmap(e.g, vcpu(&e, 0), 48 * PAGE, NW_PROT_RW, 0, &a), 0);
	assert_int_equal(nw_guest_mmap(e.g, vcpu(&e, 0), 4 * MB, NW_PROT_RW, NW_MAP_HUGE, &h), 0);
	for (unsigned i = 0; i < 64; i++)
		addr[i] = a + (i % 48) * PAGE + 8 * (i / 48);
	for (unsigned i = 64; i < NADDR; i++)
		addr[i] = h + (i - 64) * (128 * 1024) + 8 * (i % 7);
	/* Touch half in the first process. */
	for (unsigned i = 0; i < NADDR; i += 2) {
		mp[0].val[i] = nw_rng_next(&rng);
		store_ok(&e, 0, addr[i], mp[0].val[i]);
	}

	for (int op = 0; op < ops; op++) {
		unsigned k = (unsigned)nw_rng_below(&rng, np);
		unsigned cpu = (unsigned)nw_rng_below(&rng, va->vcpus);
		unsigned i = (unsigned)nw_rng_below(&rng, NADDR);
		uint64_t r = nw_rng_below(&rng, 100);
		struct nw_vcpu *v = vcpu(&e, cpu);

		assert_int_equal(nw_guest_switch(e.g, v, mp[k].pid), 0);
		if (r < 40) {
			mp[k].val[i] = nw_rng_next(&rng);
			store_ok(&e, cpu, addr[i], mp[k].val[i]);
		} else if (r < 85) {
			uint64_t got = load_ok(&e, cpu, addr[i]);
			if (got != mp[k].val[i])
				fail_msg("%s/%u vCPUs op %d: pid %d vCPU %u addr %#llx: %#llx, want %#llx",
					 nw_vm_mode_name(va->mode), va->vcpus, op, mp[k].pid, cpu,
					 (unsigned long long)addr[i], (unsigned long long)got,
					 (unsigned long long)mp[k].val[i]);
		} else if (r < 93 && np < MAXP) {
			int child;
			assert_int_equal(nw_guest_fork(e.g, v, &child), 0);
			mp[np] = mp[k];
			mp[np].pid = child;
			np++;
		} else if (np > 1) {
			assert_int_equal(nw_guest_exit(e.g, v), 0);
			mp[k] = mp[--np];
		}
	}
	/* Everything, everywhere, one last time. */
	for (unsigned k = 0; k < np; k++)
		for (unsigned i = 0; i < NADDR; i++) {
			assert_int_equal(nw_guest_switch(e.g, vcpu(&e, k), mp[k].pid), 0);
			assert_int_equal(load_ok(&e, k, addr[i]), mp[k].val[i]);
		}
	for (unsigned k = 0; k < np; k++)
		exit_pid(&e, k, mp[k].pid);
	assert_no_leak(&e);
	memset(sum, 0, sizeof(*sum));
	sum->st = *nw_guest_stats(e.g);
	for (unsigned c = 0; c < va->vcpus && c < 4; c++) {
		const struct nw_vcpu_stats *vs = nw_vcpu_stats(vcpu(&e, c));
		sum->checksum[c] = vs->checksum;
		sum->guest_pf[c] = vs->guest_pf;
		sum->loads[c] = vs->loads;
		sum->stores[c] = vs->stores;
	}
	env_down(&e);
	free(mp);
}

static void test_fork_cow_model(void **state)
{
	for (size_t vi = 0; vi < NVARIANTS; vi++) {
		const struct variant *va = &variants[vi];
		struct summary sum;

		if (!(MODEL_VARIANTS & (1u << vi)))
			continue;
		for (uint64_t seed = 0; seed < MODEL_SEEDS; seed++) {
			run_model(va, 0x5eed + vi + 100 * seed, MODEL_OPS, &sum);
			assert_true(sum.st.forks > 10);
			assert_true(sum.st.faults_cow > 10);
			if (va->vcpus > 1)
				assert_true(sum.st.shootdowns > 0);
		}
	}
}

/*
 * The guest does the same thing in every mode: same faults, same kernel
 * loads and stores on each vCPU, same checksum of everything each vCPU
 * loaded, page-table entries included (so their A/D bits agree too), even
 * though each mode has its own CPU preset and TLB geometry.
 */
static void test_modes_agree(void **state)
{
	static const struct variant modes[][3] = {
		{ { NW_VM_NATIVE, "generic", 1, false, true, 4 },
		  { NW_VM_EPT, "skylake", 1, false, true, 4 },
		  { NW_VM_NPT, "zen4", 1, false, true, 4 } },
		{ { NW_VM_NATIVE, "generic", 4, true, true, 4 },
		  { NW_VM_EPT, "skylake", 4, true, true, 4 },
		  { NW_VM_NPT, "zen4", 4, true, true, 4 } },
	};

	for (size_t set = 0; set < 2; set++) {
		struct summary ref, sum;
		run_model(&modes[set][0], 77, MODEL_OPS / 3, &ref);
		for (size_t m = 1; m < 3; m++) {
			run_model(&modes[set][m], 77, MODEL_OPS / 3, &sum);
			assert_memory_equal(&sum.st, &ref.st, sizeof(ref.st));
			for (unsigned c = 0; c < 4; c++) {
				assert_int_equal(sum.guest_pf[c], ref.guest_pf[c]);
				assert_int_equal(sum.loads[c], ref.loads[c]);
				assert_int_equal(sum.stores[c], ref.stores[c]);
				assert_int_equal(sum.checksum[c], ref.checksum[c]);
			}
		}
	}
}

/* Many children of one parent: each writes its own value; nobody sees another's. */
static void test_fork_siblings(void **state)
{
	for (size_t vi = 0; vi < NVARIANTS; vi++) {
		const struct variant *va = &variants[vi];
		struct env e;
		int kids[16];
		uint64_t a;

		env_up(&e, va, 0);
		int parent = spawn_on(&e, 0);
		assert_int_equal(nw_guest_mmap(e.g, vcpu(&e, 0), 8 * PAGE, NW_PROT_RW, 0, &a), 0);
		for (unsigned p = 0; p < 8; p++)
			store_ok(&e, 0, a + p * PAGE, 1000 + p);
		for (int c = 0; c < 16; c++)
			assert_int_equal(nw_guest_fork(e.g, vcpu(&e, 0), &kids[c]), 0);
		for (int c = 0; c < 16; c++) {
			unsigned cpu = (unsigned)c;
			assert_int_equal(nw_guest_switch(e.g, vcpu(&e, cpu), kids[c]), 0);
			for (unsigned p = 0; p < 8; p++) {
				assert_int_equal(load_ok(&e, cpu, a + p * PAGE), 1000 + p);
				store_ok(&e, cpu, a + p * PAGE, (uint64_t)c << 32 | p);
			}
		}
		/* The parent still has its data, on every vCPU. */
		for (unsigned cpu = 0; cpu < va->vcpus; cpu++) {
			assert_int_equal(nw_guest_switch(e.g, vcpu(&e, cpu), parent), 0);
			for (unsigned p = 0; p < 8; p++)
				assert_int_equal(load_ok(&e, cpu, a + p * PAGE), 1000 + p);
		}
		store_ok(&e, 0, a, 7);
		for (int c = 0; c < 16; c++) {
			unsigned cpu = (unsigned)(c + 1);
			assert_int_equal(nw_guest_switch(e.g, vcpu(&e, cpu), kids[c]), 0);
			for (unsigned p = 0; p < 8; p++)
				assert_int_equal(load_ok(&e, cpu, a + p * PAGE), (uint64_t)c << 32 | p);
		}
		for (int c = 0; c < 16; c++)
			exit_pid(&e, (unsigned)c, kids[c]);
		assert_int_equal(nw_guest_switch(e.g, vcpu(&e, 0), parent), 0);
		assert_int_equal(load_ok(&e, 0, a), 7);
		exit_pid(&e, 0, parent);
		assert_no_leak(&e);
		env_down(&e);
	}
}

/* ---- munmap, mprotect, brk ---- */

static void test_munmap_mprotect(void **state)
{
	for (size_t vi = 0; vi < NVARIANTS; vi++) {
		const struct variant *va = &variants[vi];
		struct env e;
		uint64_t a, x, end;

		env_up(&e, va, 0);
		int pid = spawn_on(&e, 0);
		assert_int_equal(nw_guest_mmap(e.g, vcpu(&e, 0), 4 * PAGE, NW_PROT_RW, 0, &a), 0);
		for (unsigned p = 0; p < 4; p++)
			store_ok(&e, 0, a + p * PAGE, 11 + p);

		/* munmap one page (its table stays: a LEAF flush by INVLPG). */
		assert_int_equal(nw_guest_munmap(e.g, vcpu(&e, 0), a + PAGE, PAGE), 0);
		assert_int_equal(nw_guest_load(e.g, vcpu(&e, 0), a + PAGE, &x), NW_VCPU_SEGV);
		assert_int_equal(nw_guest_store(e.g, vcpu(&e, 0), a + PAGE, 1), NW_VCPU_SEGV);
		assert_int_equal(load_ok(&e, 0, a), 11);
		assert_int_equal(load_ok(&e, 0, a + 2 * PAGE), 13);

		/* mprotect read-only: stores fail, loads keep the data. */
		assert_int_equal(nw_guest_mprotect(e.g, vcpu(&e, 0), a + 2 * PAGE, 2 * PAGE, NW_PROT_R), 0);
		assert_int_equal(nw_guest_store(e.g, vcpu(&e, 0), a + 2 * PAGE, 1), NW_VCPU_SEGV);
		assert_int_equal(nw_guest_store(e.g, vcpu(&e, 0), a + 3 * PAGE, 1), NW_VCPU_SEGV);
		assert_int_equal(load_ok(&e, 0, a + 3 * PAGE), 14);
		/* PROT_NONE keeps the data but refuses reads; RW gives it all back. */
		assert_int_equal(nw_guest_mprotect(e.g, vcpu(&e, 0), a + 3 * PAGE, PAGE, 0), 0);
		assert_int_equal(nw_guest_load(e.g, vcpu(&e, 0), a + 3 * PAGE, &x), NW_VCPU_SEGV);
		assert_int_equal(nw_guest_mprotect(e.g, vcpu(&e, 0), a + 2 * PAGE, 2 * PAGE, NW_PROT_RW), 0);
		assert_int_equal(load_ok(&e, 0, a + 3 * PAGE), 14);
		store_ok(&e, 0, a + 3 * PAGE, 15);
		assert_int_equal(load_ok(&e, 0, a + 3 * PAGE), 15);
		/* mprotect over a hole is -ENOMEM, as on Linux. */
		assert_int_equal(nw_guest_mprotect(e.g, vcpu(&e, 0), a, 4 * PAGE, NW_PROT_R), -ENOMEM);
		assert_int_equal(nw_guest_munmap(e.g, vcpu(&e, 0), a + 3, PAGE), -EINVAL);

		/* A huge area, partly unmapped and protected: the 2 MiB page splits. */
		uint64_t h;
		assert_int_equal(nw_guest_mmap(e.g, vcpu(&e, 0), 2 * MB, NW_PROT_RW, NW_MAP_HUGE, &h), 0);
		for (uint64_t off = 0; off < 2 * MB; off += 256 * 1024)
			store_ok(&e, 0, h + off, off + 1);
		assert_int_equal(nw_guest_munmap(e.g, vcpu(&e, 0), h + 256 * 1024, PAGE), 0);
		assert_int_equal(nw_guest_load(e.g, vcpu(&e, 0), h + 256 * 1024, &x), NW_VCPU_SEGV);
		assert_int_equal(nw_guest_mprotect(e.g, vcpu(&e, 0), h + 512 * 1024, PAGE, NW_PROT_R), 0);
		assert_int_equal(nw_guest_store(e.g, vcpu(&e, 0), h + 512 * 1024, 1), NW_VCPU_SEGV);
		for (uint64_t off = 512 * 1024; off < 2 * MB; off += 256 * 1024)
			assert_int_equal(load_ok(&e, 0, h + off), off + 1);
		store_ok(&e, 0, h + 768 * 1024, 99);
		assert_int_equal(load_ok(&e, 0, h + 768 * 1024), 99);

		/* brk: grow, use, shrink. */
		uint64_t b0;
		assert_int_equal(nw_guest_brk(e.g, vcpu(&e, 0), 0, &b0), 0);
		assert_int_equal(nw_guest_brk(e.g, vcpu(&e, 0), b0 + 3 * PAGE + 100, &end), 0);
		assert_int_equal(end, b0 + 3 * PAGE + 100);
		store_ok(&e, 0, b0 + 3 * PAGE, 77);
		assert_int_equal(load_ok(&e, 0, b0 + 3 * PAGE), 77);
		assert_int_equal(nw_guest_brk(e.g, vcpu(&e, 0), b0 + PAGE, &end), 0);
		assert_int_equal(nw_guest_load(e.g, vcpu(&e, 0), b0 + 3 * PAGE, &x), NW_VCPU_SEGV);
		store_ok(&e, 0, b0, 5);
		assert_int_equal(nw_guest_brk(e.g, vcpu(&e, 0), b0 - PAGE * 1000000, &end), -EINVAL);

		/* Outside any VMA, and kernel addresses: SEGV, never a retry loop. */
		assert_int_equal(nw_guest_load(e.g, vcpu(&e, 0), 0x1000, &x), NW_VCPU_SEGV);
		assert_int_equal(nw_guest_load(e.g, vcpu(&e, 0), 0xffff888000001000ull, &x), NW_VCPU_SEGV);
		assert_true(nw_guest_stats(e.g)->faults_segv >= 8);

		exit_pid(&e, 0, pid);
		assert_no_leak(&e);
		env_down(&e);
	}
}

/* ---- context switches ---- */

static void test_context_switch(void **state)
{
	for (size_t vi = 0; vi < NVARIANTS; vi++) {
		const struct variant *va = &variants[vi];
		struct env e;
		int pid[6];
		uint64_t a[6];

		env_up(&e, va, 0);
		for (int i = 0; i < 6; i++) {
			pid[i] = spawn_on(&e, 0);
			assert_int_equal(nw_guest_mmap(e.g, vcpu(&e, 0), 16 * PAGE, NW_PROT_RW, 0, &a[i]), 0);
			assert_int_equal(a[i], a[0]); /* same layout: the same VAs, apart by CR3 only */
			for (unsigned p = 0; p < 16; p++)
				store_ok(&e, 0, a[i] + p * PAGE, (uint64_t)i * 100 + p);
		}
		for (int round = 0; round < 20; round++)
			for (int i = 0; i < 6; i++) {
				unsigned cpu = (unsigned)(round + i);
				assert_int_equal(nw_guest_switch(e.g, vcpu(&e, cpu), pid[i]), 0);
				for (unsigned p = 0; p < 16; p++)
					assert_int_equal(load_ok(&e, cpu, a[0] + p * PAGE), (uint64_t)i * 100 + p);
			}
		assert_true(nw_guest_stats(e.g)->switches >= 100);
		for (int i = 0; i < 6; i++)
			exit_pid(&e, 0, pid[i]);
		assert_no_leak(&e);
		env_down(&e);
	}
}

/*
 * PCID reuse: with every other PCID held by a live process, a new process
 * inherits the PCID of one that just exited. Its first run on the vCPU must
 * flush that PCID, or it would read the dead process's data through
 * translations that were cached under it.
 */
static void test_pcid_reuse(void **state)
{
	const struct variant va = { NW_VM_EPT, "skylake", 1, true, false, 4 };
	struct env e;
	int *live = calloc(4094, sizeof(int));
	uint64_t a, b;

	env_up_cfg(&e, &va, 64 * MB, 0, 24 * MB, 0);
	for (int i = 0; i < 4094; i++)
		assert_int_equal(nw_guest_spawn(e.g, vcpu(&e, 0), &live[i]), 0);
	int dead = spawn_on(&e, 0); /* the 4095th PCID */
	assert_int_equal(nw_guest_mmap(e.g, vcpu(&e, 0), PAGE, NW_PROT_RW, 0, &a), 0);
	store_ok(&e, 0, a, 0xdead);
	assert_int_equal(nw_guest_exit(e.g, vcpu(&e, 0)), 0);
	int fresh = spawn_on(&e, 0);
	assert_int_equal(nw_guest_mmap(e.g, vcpu(&e, 0), PAGE, NW_PROT_RW, 0, &b), 0);
	assert_int_equal(b, a);
	assert_int_equal(load_ok(&e, 0, b), 0);
	(void)dead;
	/* No PCID left: the next process runs untagged, flushed at each switch. */
	int untagged = spawn_on(&e, 0);
	assert_int_equal(nw_guest_mmap(e.g, vcpu(&e, 0), PAGE, NW_PROT_RW, 0, &b), 0);
	store_ok(&e, 0, b, 5);
	assert_int_equal(nw_guest_switch(e.g, vcpu(&e, 0), fresh), 0);
	assert_int_equal(load_ok(&e, 0, b), 0);
	assert_int_equal(nw_guest_switch(e.g, vcpu(&e, 0), untagged), 0);
	assert_int_equal(load_ok(&e, 0, b), 5);
	/* Tearing down 4094 processes one by one is left to other tests. */
	env_down(&e);
	free(live);
}

/* ---- shootdowns and the negative controls ---- */

struct stale_result {
	int munmap_store;    /* store from vCPU 1 after munmap on vCPU 0 */
	int away_store;      /* the same, after vCPU 1 switched away and back (PCID) */
	int local_load;      /* load on vCPU 0 after munmap on vCPU 0 */
	uint64_t local_val;
	int local_mprotect;  /* store on vCPU 0 after mprotect R on vCPU 0 */
};

static struct stale_result stale_scenario(const struct variant *va, unsigned bugs)
{
	struct stale_result r;
	struct env e;
	uint64_t a, b, x = 0;

	env_up(&e, va, bugs);
	int pid = spawn_on(&e, 1);
	int other = spawn_on(&e, 3);
	assert_int_equal(nw_guest_switch(e.g, vcpu(&e, 3), pid), 0);
	assert_int_equal(nw_guest_mmap(e.g, vcpu(&e, 1), 4 * PAGE, NW_PROT_RW, 0, &a), 0);
	assert_int_equal(nw_guest_mmap(e.g, vcpu(&e, 1), 4 * PAGE, NW_PROT_RW, 0, &b), 0);
	for (unsigned p = 0; p < 4; p++) {
		store_ok(&e, 1, a + p * PAGE, 0xa0 + p);
		store_ok(&e, 3, a + p * PAGE, 0xa0 + p);
	}
	/* vCPU 3 goes on to another process: with PCIDs its entries stay cached. */
	assert_int_equal(nw_guest_switch(e.g, vcpu(&e, 3), other), 0);

	/* Shootdown: the process runs on vCPU 1 and is unmapped from vCPU 0. */
	assert_int_equal(nw_guest_switch(e.g, vcpu(&e, 0), pid), 0);
	assert_int_equal(nw_guest_munmap(e.g, vcpu(&e, 0), a, PAGE), 0);
	r.munmap_store = nw_guest_store(e.g, vcpu(&e, 1), a, 1);
	assert_int_equal(nw_guest_switch(e.g, vcpu(&e, 3), pid), 0);
	r.away_store = nw_guest_store(e.g, vcpu(&e, 3), a, 1);

	/* Local INVLPG: vCPU 0 caches a + 2 pages, then unmaps one of them. */
	assert_int_equal(load_ok(&e, 0, a + 2 * PAGE), 0xa2);
	store_ok(&e, 0, b, 0xb0);
	assert_int_equal(load_ok(&e, 0, b), 0xb0);
	assert_int_equal(nw_guest_munmap(e.g, vcpu(&e, 0), a + 2 * PAGE, PAGE), 0);
	r.local_load = nw_guest_load(e.g, vcpu(&e, 0), a + 2 * PAGE, &x);
	r.local_val = x;
	assert_int_equal(nw_guest_mprotect(e.g, vcpu(&e, 0), b, PAGE, NW_PROT_R), 0);
	r.local_mprotect = nw_guest_store(e.g, vcpu(&e, 0), b, 2);

	exit_pid(&e, 0, pid);
	exit_pid(&e, 3, other);
	assert_no_leak(&e);
	env_down(&e);
	return r;
}

static void test_shootdown(void **state)
{
	for (size_t vi = 0; vi < NVARIANTS; vi++) {
		const struct variant *va = &variants[vi];
		if (va->vcpus < 4)
			continue;
		struct stale_result r = stale_scenario(va, 0);
		assert_int_equal(r.munmap_store, NW_VCPU_SEGV);
		assert_int_equal(r.away_store, NW_VCPU_SEGV);
		assert_int_equal(r.local_load, NW_VCPU_SEGV);
		assert_int_equal(r.local_mprotect, NW_VCPU_SEGV);
	}
}

/* The checks above must catch a guest that forgets one invalidation. */
static void test_negative_controls(void **state)
{
	for (size_t vi = 0; vi < NVARIANTS; vi++) {
		const struct variant *va = &variants[vi];
		if (va->vcpus < 4)
			continue;
		/* A skipped shootdown: vCPU 1 still writes the unmapped page. */
		struct stale_result r = stale_scenario(va, NW_GUEST_BUG_SKIP_SHOOTDOWN);
		assert_int_equal(r.munmap_store, 0);
		assert_int_equal(r.local_load, NW_VCPU_SEGV);

		/* A skipped INVLPG: vCPU 0 still reads the unmapped page's data. */
		r = stale_scenario(va, NW_GUEST_BUG_SKIP_INVLPG);
		assert_int_equal(r.munmap_store, NW_VCPU_SEGV);
		/* The bug strikes at the first munmap, on vCPU 0 (nothing cached
		 * there yet); run the local scenario alone to see it. */
	}
	for (size_t vi = 0; vi < NVARIANTS; vi++) {
		const struct variant *va = &variants[vi];
		struct env e;
		uint64_t a, x = 0;

		/* Local: the first munmap skips its INVLPG, and the load succeeds. */
		env_up(&e, va, NW_GUEST_BUG_SKIP_INVLPG);
		int pid = spawn_on(&e, 0);
		assert_int_equal(nw_guest_mmap(e.g, vcpu(&e, 0), 2 * PAGE, NW_PROT_RW, 0, &a), 0);
		store_ok(&e, 0, a, 0x57a1e);
		store_ok(&e, 0, a + PAGE, 2);
		assert_int_equal(nw_guest_munmap(e.g, vcpu(&e, 0), a, PAGE), 0);
		assert_int_equal(nw_guest_load(e.g, vcpu(&e, 0), a, &x), 0);
		assert_int_equal(x, 0x57a1e); /* stale data from a freed frame */
		/* Only one: the next munmap flushes. */
		assert_int_equal(nw_guest_munmap(e.g, vcpu(&e, 0), a + PAGE, PAGE), 0);
		assert_int_equal(nw_guest_load(e.g, vcpu(&e, 0), a + PAGE, &x), NW_VCPU_SEGV);
		exit_pid(&e, 0, pid);
		env_down(&e);

		/* Local: an mprotect downgrade that skips its INVLPG lets a store through. */
		env_up(&e, va, NW_GUEST_BUG_SKIP_INVLPG);
		pid = spawn_on(&e, 0);
		assert_int_equal(nw_guest_mmap(e.g, vcpu(&e, 0), PAGE, NW_PROT_RW, 0, &a), 0);
		store_ok(&e, 0, a, 1);
		assert_int_equal(nw_guest_mprotect(e.g, vcpu(&e, 0), a, PAGE, NW_PROT_R), 0);
		assert_int_equal(nw_guest_store(e.g, vcpu(&e, 0), a, 2), 0);
		exit_pid(&e, 0, pid);
		env_down(&e);
	}
}

/* ---- out of memory ---- */

static void test_guest_oom(void **state)
{
	for (size_t vi = 0; vi < NVARIANTS; vi++) {
		const struct variant *va = &variants[vi];
		struct env e;
		uint64_t a, b, x;
		int rc = 0;

		if (!(OOM_VARIANTS & (1u << vi)))
			continue;

		/* 16 MiB: 4 MiB of kernel pool, 12 MiB (3072 frames) for users. */
		env_up_cfg(&e, va, 16 * MB, 0, 4 * MB, 0);
		int pid = spawn_on(&e, 0);
		assert_int_equal(nw_guest_mmap(e.g, vcpu(&e, 0), 64 * MB, NW_PROT_RW, 0, &a), -ENOMEM);
		assert_int_equal(nw_guest_stats(e.g)->oom, 1);
		assert_int_equal(nw_guest_mmap(e.g, vcpu(&e, 0), 8 * MB, NW_PROT_RW, 0, &a), 0);
		assert_int_equal(nw_guest_mmap(e.g, vcpu(&e, 0), 8 * MB, NW_PROT_RW, 0, &b), 0);
		uint64_t touched = 0;
		for (uint64_t off = 0; off < 16 * MB; off += PAGE) {
			uint64_t va_ = off < 8 * MB ? a + off : b + off - 8 * MB;
			rc = nw_guest_store(e.g, vcpu(&e, 0), va_, off);
			if (rc)
				break;
			touched++;
		}
		assert_int_equal(rc, NW_VCPU_SEGV);
		assert_int_equal(touched, 3072); /* every user frame, and tables from the kernel pool */
		assert_true(nw_guest_stats(e.g)->oom >= 2);
		assert_int_equal(nw_vm_stopped(e.vm), 0);
		/* Freeing memory lets the process go on; its data is intact. */
		assert_int_equal(nw_guest_munmap(e.g, vcpu(&e, 0), a, MB), 0);
		store_ok(&e, 0, b + 8 * MB - PAGE, 3);
		assert_int_equal(load_ok(&e, 0, b + 8 * MB - PAGE), 3);
		assert_int_equal(load_ok(&e, 0, b), 8 * MB);
		/* A fork whose COW copies cannot be had: the child's writes fail cleanly. */
		int child;
		assert_int_equal(nw_guest_fork(e.g, vcpu(&e, 0), &child), 0);
		assert_int_equal(nw_guest_switch(e.g, vcpu(&e, 0), child), 0);
		rc = 0;
		for (uint64_t off = 0; off < 8 * MB && rc == 0; off += PAGE)
			rc = nw_guest_store(e.g, vcpu(&e, 0), b + off, 1);
		assert_int_equal(rc, NW_VCPU_SEGV);
		assert_int_equal(nw_guest_load(e.g, vcpu(&e, 0), b + 4 * MB - PAGE, &x), 0);
		assert_int_equal(x, 12 * MB - PAGE); /* the parent's data, still shared */
		exit_pid(&e, 0, child);
		exit_pid(&e, 0, pid);
		assert_no_leak(&e);
		env_down(&e);

		/* The kernel pool (tables) runs out: spawn and fork fail with -ENOMEM. */
		env_up_cfg(&e, va, 16 * MB, 0, 2 * MB, 0);
		int pids[600], n = 0;
		pids[n++] = spawn_on(&e, 0);
		assert_int_equal(nw_guest_mmap(e.g, vcpu(&e, 0), PAGE, NW_PROT_RW, 0, &a), 0);
		store_ok(&e, 0, a, 42);
		for (rc = 0; n < 600;) {
			rc = nw_guest_fork(e.g, vcpu(&e, 0), &pids[n]);
			if (rc)
				break;
			n++;
		}
		assert_int_equal(rc, -ENOMEM);
		assert_true(n > 50);
		assert_true(nw_guest_stats(e.g)->oom > 0);
		assert_int_equal(load_ok(&e, 0, a), 42);
		for (int i = n - 1; i >= 0; i--)
			exit_pid(&e, 0, pids[i]);
		assert_no_leak(&e);
		env_down(&e);
	}
}

/* Host memory runs out under EPT/NPT: the VM stops and the guest reports it. */
static void test_host_oom(void **state)
{
	for (size_t vi = 0; vi < NVARIANTS; vi++) {
		const struct variant *va = &variants[vi];
		struct env e;
		uint64_t a;
		int rc = 0;

		if (va->mode == NW_VM_NATIVE || va->vcpus > 1)
			continue;
		env_up_cfg(&e, va, 64 * MB, 1500, 0, 0);
		int pid = spawn_on(&e, 0);
		assert_int_equal(nw_guest_mmap(e.g, vcpu(&e, 0), 32 * MB, NW_PROT_RW, 0, &a), 0);
		for (uint64_t off = 0; off < 32 * MB && rc == 0; off += PAGE)
			rc = nw_guest_store(e.g, vcpu(&e, 0), a + off, 1);
		assert_true(rc < 0);
		assert_int_equal(rc, nw_vm_stopped(e.vm));
		assert_int_equal(nw_guest_mmap(e.g, vcpu(&e, 0), PAGE, NW_PROT_RW, 0, &a), rc);
		int child;
		assert_int_equal(nw_guest_fork(e.g, vcpu(&e, 0), &child), rc);
		(void)pid;
		env_down(&e);
	}
}

static void test_bad_args(void **state)
{
	struct env e;
	uint64_t a;
	int pid;

	env_up(&e, &variants[0], 0);
	assert_int_equal(nw_guest_mmap(e.g, vcpu(&e, 0), PAGE, NW_PROT_RW, 0, &a), -ESRCH);
	assert_int_equal(nw_guest_switch(e.g, vcpu(&e, 0), 12345), -ESRCH);
	assert_int_equal(nw_guest_exit(e.g, vcpu(&e, 0)), -ESRCH);
	pid = spawn_on(&e, 0);
	assert_int_equal(nw_guest_mmap(e.g, vcpu(&e, 0), 0, NW_PROT_RW, 0, &a), -EINVAL);
	assert_int_equal(nw_guest_mmap(e.g, vcpu(&e, 0), PAGE, 0x80, 0, &a), -EINVAL);
	assert_int_equal(nw_guest_mmap(e.g, vcpu(&e, 0), PAGE, NW_PROT_RW, 0x40, &a), -EINVAL);
	assert_int_equal(nw_guest_munmap(e.g, vcpu(&e, 0), 0xffff800000000000ull, PAGE), -EINVAL);
	exit_pid(&e, 0, pid);
	assert_no_leak(&e);
	env_down(&e);

	struct nw_vm_cfg vc;
	struct nw_vm *vm;
	struct nw_guest_cfg gc;
	struct nw_guest *g;
	char err[128];
	nw_vm_cfg_default(&vc);
	assert_int_equal(nw_vm_create(&vc, &vm, err, sizeof(err)), 0);
	nw_guest_cfg_default(&gc);
	gc.levels = 3;
	assert_int_equal(nw_guest_boot(vm, &gc, &g), -EINVAL);
	gc.levels = 4;
	gc.kernel_pool = vc.ram;
	assert_int_equal(nw_guest_boot(vm, &gc, &g), -EINVAL);
	nw_vm_destroy(vm);

	/* Translation-only data: the tables stay below data_gpa. */
	vc.translation_only = true;
	vc.data_gpa = 16 * MB;
	assert_int_equal(nw_vm_create(&vc, &vm, err, sizeof(err)), 0);
	gc.kernel_pool = 32 * MB;
	assert_int_equal(nw_guest_boot(vm, &gc, &g), -EINVAL);
	gc.kernel_pool = 0;
	assert_int_equal(nw_guest_boot(vm, &gc, &g), 0);
	struct nw_vcpu *v = nw_vm_vcpu(vm, 0);
	assert_int_equal(nw_guest_spawn(g, v, &pid), 0);
	assert_int_equal(nw_guest_switch(g, v, pid), 0);
	assert_int_equal(nw_guest_mmap(g, v, 64 * PAGE, NW_PROT_RW, 0, &a), 0);
	for (uint64_t p = 0; p < 64; p++)
		assert_int_equal(nw_guest_store(g, v, a + p * PAGE, p), 0);
	uint64_t used = nw_guest_stats(g)->frames_used;
	assert_int_equal(nw_guest_exit(g, v), 0);
	assert_int_equal(used - nw_guest_stats(g)->frames_used, 64 + 4); /* pages, PT/PD/PDPT, root */
	nw_guest_destroy(g);
	nw_vm_destroy(vm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_demand_zero),
		cmocka_unit_test(test_fork_cow_model),
		cmocka_unit_test(test_modes_agree),
		cmocka_unit_test(test_fork_siblings),
		cmocka_unit_test(test_munmap_mprotect),
		cmocka_unit_test(test_context_switch),
		cmocka_unit_test(test_pcid_reuse),
		cmocka_unit_test(test_shootdown),
		cmocka_unit_test(test_negative_controls),
		cmocka_unit_test(test_guest_oom),
		cmocka_unit_test(test_host_oom),
		cmocka_unit_test(test_bad_args),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
