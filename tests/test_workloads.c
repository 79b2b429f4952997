/* SPDX-License-Identifier: MIT */
/*
 * The built-in workloads through the runner.
 *
 * The central check: a workload, seed and vCPU count read the same data in
 * native, ept and npt modes (ept on skylake, npt on zen4, native on both),
 * with 1 and 4 vCPUs and with 4 KiB and 2 MiB guest and host pages, and
 * every load matches what the workload stored (no mismatches).
 *
 * Negative controls, each of which must break that comparison: a corrupted
 * EPT/NPT leaf, a VMM that skips one INVEPT (TLB_CONTROL flush) after
 * migrating a page, a guest that skips one INVLPG, and one that skips one
 * shootdown. With the caches off, references per walk equal FACTS.md §1.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nw_test.h"
#include <nestwalk/tlb_preset.h>
#include <nestwalk/workload.h>

#include "vmm_internal.h" /* the corrupted-leaf control reaches into the nested tables */

/* Small enough for ASan, big enough to overflow the L1 TLBs. */
static const char *const specs[] = {
	"seq:ws=512k,passes=2",
	"random:ws=512k,ops=3000",
	"chase:ws=512k,ops=3000",
	"zipf:ws=512k,ops=3000",
	"churn:size=32k,rounds=4",
	"fork:ws=32k,forks=2,children=2,writes=4",
	"ctxsw:ws=32k,ops=3000,procs=3,slice=50",
	"mix:ws=128k,ops=500",
};
#define NSPECS (sizeof(specs) / sizeof(specs[0]))

struct setup {
	enum nw_vm_mode mode;
	const char *cpu;
};

/* native and shadow follow either vendor: skylake with 1 vCPU, zen4 with more. */
static const struct setup setups[] = {
	{ NW_VM_NATIVE, "skylake" },
	{ NW_VM_EPT, "skylake" },
	{ NW_VM_NPT, "zen4" },
	{ NW_VM_SHADOW, "skylake" },
};
#define NSETUPS (sizeof(setups) / sizeof(setups[0]))

static const char *setup_cpu(const struct setup *s, unsigned vcpus)
{
	return (s->mode == NW_VM_NATIVE || s->mode == NW_VM_SHADOW) && vcpus > 1 ? "zen4" : s->cpu;
}

/* Shadow paging joins every comparison as soon as the VM accepts it. */
static bool mode_available(enum nw_vm_mode mode)
{
	struct nw_vm_cfg c;
	struct nw_vm *vm;
	char err[160];

	nw_vm_cfg_default(&c);
	c.mode = mode;
	nw_cpu_preset("generic", &c.cpu, err, sizeof(err));
	c.ram = 4u << 20;
	if (nw_vm_create(&c, &vm, err, sizeof(err)) < 0)
		return false;
	nw_vm_destroy(vm);
	return true;
}

static void cfg_for(struct nw_run_cfg *c, const char *spec, enum nw_vm_mode mode,
		    const char *cpu, unsigned vcpus, int host_page, int guest_page)
{
	char err[256];

	nw_run_cfg_default(c);
	c->vm.mode = mode;
	assert_int_equal(nw_cpu_preset(cpu, &c->vm.cpu, err, sizeof(err)), 0);
	assert_int_equal(nw_workload_parse(spec, &c->wl, err, sizeof(err)), 0);
	c->vm.vcpus = vcpus;
	c->vm.host_page = host_page;
	c->guest_page = guest_page;
	c->seed = 7;
}

/* Run c; the result is heap-allocated (it is large). */
static struct nw_run_result *run_ok(const struct nw_run_cfg *c)
{
	struct nw_run_result *res = malloc(sizeof(*res));
	char err[256] = "";

	assert_non_null(res);
	int rc = nw_run(c, res, err, sizeof(err));
	if (rc != 0)
		fail_msg("%s in %s: %d: %s", c->wl.name, nw_vm_mode_name(c->vm.mode), rc, err);
	return res;
}

static uint64_t stat_of(const struct nw_run_result *res, const char *name)
{
	uint64_t v = 0;

	if (nw_run_stat(res, name, &v) < 0)
		fail_msg("no figure %s", name);
	return v;
}

static uint64_t total_of(const struct nw_run_result *res, const char *name)
{
	for (size_t i = 0; i < res->ntotal; i++)
		if (!strcmp(res->total[i].name, name))
			return res->total[i].value;
	fail_msg("no figure %s", name);
	return 0;
}

/* ---- every workload, every mode: one checksum ---- */

/* Workloads by index in specs[]: all, or a set of bits. */
#define ALL ((1u << NSPECS) - 1)
#define ONLY(i) (1u << (i))
enum { SEQ, RANDOM, CHASE, ZIPF, CHURN, FORK, CTXSW, MIX };

static void check_matrix_pcid(unsigned which, unsigned vcpus, int host_page, int guest_page,
			      bool pcid)
{
	for (size_t w = 0; w < NSPECS; w++) {
		uint64_t want = 0, want_acc = 0;
		if (!(which & ONLY(w)))
			continue;
		for (size_t s = 0; s < NSETUPS; s++) {
			struct nw_run_cfg c;
			const char *cpu = setup_cpu(&setups[s], vcpus);
			if (!mode_available(setups[s].mode))
				continue;
			cfg_for(&c, specs[w], setups[s].mode, cpu, vcpus, host_page, guest_page);
			c.guest.pcid = pcid;
			struct nw_run_result *res = run_ok(&c);
			if (res->mismatches)
				fail_msg("%s %s/%s %u vCPUs host %d guest %d: %llu loads read the wrong data",
					 specs[w], nw_vm_mode_name(setups[s].mode), cpu, vcpus,
					 host_page, guest_page, (unsigned long long)res->mismatches);
			assert_true(stat_of(res, "access.loads") > 0);
			/*
			 * Every mode counts the guest's accesses alike, and divides its
			 * cycles by that count: shadow paging's emulated quadword stores
			 * are the VMM's work, not more accesses.
			 */
			uint64_t acc = stat_of(res, "access.loads") + stat_of(res, "access.stores");
			double total = 0;
			assert_int_equal(nw_run_figure(res, "access.total", &total), 0);
			assert_int_equal((uint64_t)total, acc + stat_of(res, "access.fetches"));
			if (s == 0)
				want_acc = acc;
			else if (acc != want_acc)
				fail_msg("%s %s %u vCPUs: %llu accesses, native %llu", specs[w],
					 nw_vm_mode_name(setups[s].mode), vcpus, (unsigned long long)acc,
					 (unsigned long long)want_acc);
			if (s == 0)
				want = res->checksum;
			else if (res->checksum != want)
				fail_msg("%s %s/%s %u vCPUs host %d guest %d: checksum %016llx, native %016llx",
					 specs[w], nw_vm_mode_name(setups[s].mode), cpu, vcpus,
					 host_page, guest_page, (unsigned long long)res->checksum,
					 (unsigned long long)want);
			free(res);
		}
	}
}

static void check_matrix(unsigned which, unsigned vcpus, int host_page, int guest_page)
{
	check_matrix_pcid(which, vcpus, host_page, guest_page, false);
}

static void test_same_data_4k_1(void **state)
{
	check_matrix(ALL, 1, NW_PAGE_4K, NW_PAGE_4K);
}

static void test_same_data_4k_4(void **state)
{
	check_matrix(ALL, 4, NW_PAGE_4K, NW_PAGE_4K);
}

/* mix is made of the others; at 2 MiB it only costs time (every huge
 * demand-zero sweeps 512 pages through the latency model). */
static void test_same_data_2m_1(void **state)
{
	check_matrix(ALL & ~ONLY(MIX), 1, NW_PAGE_2M, NW_PAGE_2M);
}

static void test_same_data_2m_4(void **state)
{
	check_matrix(ALL & ~ONLY(MIX), 4, NW_PAGE_2M, NW_PAGE_2M);
}

/*
 * mix ends each phase with DONE while its threads live on. With 2 and 4
 * vCPUs the runner once counted finished threads over and over and hung;
 * they must finish, and agree with the other modes.
 */
static void test_mix_many_vcpus(void **state)
{
	for (unsigned vcpus = 2; vcpus <= 4; vcpus += 2) {
		struct nw_run_cfg c;
		cfg_for(&c, "mix:ws=64k,ops=100", NW_VM_NATIVE, "zen4", vcpus, NW_PAGE_4K,
			NW_PAGE_4K);
		struct nw_run_result *native = run_ok(&c);
		cfg_for(&c, "mix:ws=64k,ops=100", NW_VM_NPT, "zen4", vcpus, NW_PAGE_4K, NW_PAGE_4K);
		struct nw_run_result *npt = run_ok(&c);
		assert_int_equal(stat_of(native, "data.checksum"), stat_of(npt, "data.checksum"));
		assert_int_equal(stat_of(native, "access.loads"), stat_of(npt, "access.loads"));
		free(native);
		free(npt);
	}
}

/* Guest and host page sizes that differ: splintered TLB entries. */
static void test_same_data_mixed_pages(void **state)
{
	unsigned some = ONLY(RANDOM) | ONLY(CHASE) | ONLY(CHURN) | ONLY(FORK);

	check_matrix(some, 1, NW_PAGE_2M, NW_PAGE_4K);
	check_matrix(some, 4, NW_PAGE_4K, NW_PAGE_2M);
}

/* Processes with PCIDs: switches keep translations, so flushes must be exact. */
static void test_same_data_pcid(void **state)
{
	check_matrix_pcid(ONLY(CHURN) | ONLY(FORK) | ONLY(CTXSW), 4, NW_PAGE_4K, NW_PAGE_4K, true);
}

/* The same run twice is the same run; another seed is another one. */
static void test_deterministic(void **state)
{
	struct nw_run_cfg c;

	cfg_for(&c, "zipf:ws=512k,ops=4000", NW_VM_EPT, "skylake", 4, NW_PAGE_4K, NW_PAGE_4K);
	struct nw_run_result *a = run_ok(&c), *b = run_ok(&c);
	assert_int_equal(a->checksum, b->checksum);
	for (size_t i = 0; i < a->nstats; i++) {
		assert_string_equal(a->stats[i].name, b->stats[i].name);
		assert_int_equal(a->stats[i].value, b->stats[i].value);
	}
	c.seed = 8;
	struct nw_run_result *d = run_ok(&c);
	assert_int_not_equal(a->checksum, d->checksum);
	free(a);
	free(b);
	free(d);
}

/* ---- negative controls ---- */

/* The checksum of spec on (mode, cpu) with the bugs set by tweak, and without. */
static void expect_detected(const char *what, const char *spec, enum nw_vm_mode mode,
			    const char *cpu, unsigned vcpus,
			    void (*tweak)(struct nw_run_cfg *c, void *arg), void *arg)
{
	struct nw_run_cfg c;

	cfg_for(&c, spec, mode, cpu, vcpus, NW_PAGE_4K, NW_PAGE_4K);
	struct nw_run_result *good = run_ok(&c);
	assert_int_equal(good->mismatches, 0);
	tweak(&c, arg);
	/*
	 * Detected means the guest saw wrong memory: either its data differ, or
	 * a stale translation broke the guest itself (a process killed by a
	 * fault its kernel could not resolve). Both are what silicon would show.
	 */
	struct nw_run_result *bad = malloc(sizeof(*bad));
	char err[256] = "";
	assert_non_null(bad);
	int rc = nw_run(&c, bad, err, sizeof(err));
	if (rc == 0) {
		if (bad->checksum == good->checksum)
			fail_msg("%s in %s: not detected (checksum %016llx both ways)", what,
				 nw_vm_mode_name(mode), (unsigned long long)good->checksum);
		assert_true(bad->mismatches > 0);
	} else {
		assert_true(rc != -EINVAL); /* a failed run, not a refused configuration */
		printf("%s in %s: the guest failed: %s\n", what, nw_vm_mode_name(mode), err);
	}
	free(good);
	free(bad);
}

/*
 * Point one present nested leaf that backs a user page at another user
 * page's frame, then drop every cached translation so the next accesses
 * walk the corrupted table.
 */
static void corrupt_leaf(void *arg, struct nw_vm *vm, struct nw_guest *g)
{
	const struct nw_pt *pt = vm->cfg.mode == NW_VM_EPT ? &vm->ept.pt : &vm->npt.pt;
	uint64_t a_pa = 0, a_entry = 0, b_hpa = 0, a_hpa = 0;
	struct nw_pt_iter it;

	/* The two highest-addressed 4 KiB leaves: user pages (the kernel's
	 * frames sit at the bottom of guest RAM). */
	nw_pt_for_each(&it, pt, 0, vm->cfg.ram) {
		if (!it.leaf || it.level != NW_PAGE_4K)
			continue;
		b_hpa = a_hpa;
		a_pa = it.entry_pa;
		a_entry = it.entry;
		a_hpa = it.entry & NW_PTE_ADDR_MASK;
	}
	assert_true(b_hpa && a_hpa != b_hpa);
	nw_acc_write(&vm->hacc, a_pa, (a_entry & ~NW_PTE_ADDR_MASK) | b_hpa);
	for (unsigned i = 0; i < nw_vm_vcpus(vm); i++)
		nw_tlb_reset(nw_vcpu_tlb(nw_vm_vcpu(vm, i)));
	*(int *)arg = 1;
}

static void tweak_corrupt(struct nw_run_cfg *c, void *arg)
{
	c->hook = corrupt_leaf;
	c->hook_arg = arg;
	c->hook_at = 100;
}

static void test_control_corrupted_leaf(void **state)
{
	int hooked = 0;

	expect_detected("a corrupted EPT leaf", "random:ws=512k,ops=4000", NW_VM_EPT, "skylake", 1,
			tweak_corrupt, &hooked);
	assert_int_equal(hooked, 1);
	hooked = 0;
	expect_detected("a corrupted NPT leaf", "random:ws=512k,ops=4000", NW_VM_NPT, "zen4", 4,
			tweak_corrupt, &hooked);
	assert_int_equal(hooked, 1);
}

static void tweak_skip_invept(struct nw_run_cfg *c, void *arg)
{
	c->vm.migrate_every = 16;
	c->vm.bugs = NW_VM_BUG_SKIP_INVEPT;
}

static void tweak_migrate(struct nw_run_cfg *c, void *arg)
{
	c->vm.migrate_every = 16;
}

static void test_control_skip_invept(void **state)
{
	struct nw_run_cfg c;

	/* Migration alone, with its flushes, changes no data. */
	cfg_for(&c, "random:ws=512k,ops=4000", NW_VM_EPT, "skylake", 1, NW_PAGE_4K, NW_PAGE_4K);
	struct nw_run_result *plain = run_ok(&c);
	tweak_migrate(&c, NULL);
	struct nw_run_result *moved = run_ok(&c);
	assert_true(total_of(moved, "vmm.migrated") > 0);
	assert_int_equal(plain->checksum, moved->checksum);
	assert_int_equal(moved->mismatches, 0);
	free(plain);
	free(moved);

	expect_detected("a skipped INVEPT", "random:ws=512k,ops=4000", NW_VM_EPT, "skylake", 1,
			tweak_skip_invept, NULL);
	expect_detected("a skipped TLB_CONTROL flush", "random:ws=512k,ops=4000", NW_VM_NPT, "zen4", 1,
			tweak_skip_invept, NULL);
}

static void tweak_guest_bug(struct nw_run_cfg *c, void *arg)
{
	c->guest.bugs = *(unsigned *)arg;
}

static void test_control_skip_invlpg(void **state)
{
	unsigned bug = NW_GUEST_BUG_SKIP_INVLPG;

	for (size_t s = 0; s < NSETUPS; s++)
		if (mode_available(setups[s].mode))
			expect_detected("a skipped INVLPG", "churn:size=32k,rounds=4", setups[s].mode,
					setup_cpu(&setups[s], 1), 1, tweak_guest_bug, &bug);
}

static void test_control_skip_shootdown(void **state)
{
	unsigned bug = NW_GUEST_BUG_SKIP_SHOOTDOWN;

	/*
	 * Not under shadow paging: there the VMM's own flushes (re-protecting
	 * resynced tables, zapping flooded pages) also reach the vCPU that missed
	 * the shootdown, and hide the guest's bug, as KVM's would.
	 */
	for (size_t s = 0; s < NSETUPS; s++)
		if (mode_available(setups[s].mode) && setups[s].mode != NW_VM_SHADOW)
			expect_detected("a skipped shootdown", "churn:size=32k,rounds=4", setups[s].mode,
					setup_cpu(&setups[s], 4), 4, tweak_guest_bug, &bug);
}

/* ---- FACTS.md §1 with the caches off ---- */

static double refs_per_walk(enum nw_vm_mode mode, const char *cpu, int host_page, int guest_page)
{
	struct nw_run_cfg c;
	double v = 0;

	/* One word a page: a short warm-up that still faults every page in. */
	cfg_for(&c, "random:ws=4m,stride=4096,ops=2000", mode, cpu, 1, host_page, guest_page);
	c.vm.caches = false;
	struct nw_run_result *res = run_ok(&c);
	assert_int_equal(nw_run_figure(res, "walk.refs_per_walk", &v), 0);
	/* Every access of the measured phase missed and walked. */
	assert_int_equal(stat_of(res, "walks"), stat_of(res, "accesses"));
	free(res);
	return v;
}

static void test_refs_per_walk_uncached(void **state)
{
	static const struct {
		int host, guest;
		double refs; /* FACTS.md §1 */
	} rows[] = {
		{ NW_PAGE_4K, NW_PAGE_4K, 24 }, /* 4 x 4 */
		{ NW_PAGE_2M, NW_PAGE_4K, 19 }, /* guest 4 KiB (4) x host 2 MiB (3) */
		{ NW_PAGE_4K, NW_PAGE_2M, 19 }, /* guest 2 MiB (3) x host 4 KiB (4) */
		{ NW_PAGE_2M, NW_PAGE_2M, 15 }, /* 3 x 3 */
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		assert_float_equal(refs_per_walk(NW_VM_EPT, "skylake", rows[i].host, rows[i].guest),
				   rows[i].refs, 0);
		assert_float_equal(refs_per_walk(NW_VM_NPT, "zen4", rows[i].host, rows[i].guest),
				   rows[i].refs, 0);
	}
	/* native 4-level: 4 */
	assert_float_equal(refs_per_walk(NW_VM_NATIVE, "generic", NW_PAGE_4K, NW_PAGE_4K), 4, 0);
}

/* ---- translation-only data ---- */

static void test_translation_only(void **state)
{
	struct nw_run_cfg c;

	cfg_for(&c, "chase:ws=64m,ops=4000", NW_VM_EPT, "skylake", 2, NW_PAGE_4K, NW_PAGE_4K);
	c.data = NW_DATA_TRANSLATION_ONLY;
	struct nw_run_result *res = run_ok(&c);
	assert_int_equal(res->data, NW_DATA_TRANSLATION_ONLY);
	assert_int_equal(stat_of(res, "workload.ops"), 4000);
	/* Every data page shares one frame: far fewer frames than pages touched. */
	assert_true(stat_of(res, "guest.faults.demand") > 1000);
	assert_true(stat_of(res, "vm.host_frames") < 1000);
	free(res);
}

/* ---- specs ---- */

static void expect_bad(const char *spec, const char *needle)
{
	struct nw_workload w;
	char err[256] = "";

	assert_int_equal(nw_workload_parse(spec, &w, err, sizeof(err)), -EINVAL);
	if (!strstr(err, needle))
		fail_msg("'%s': message '%s' lacks '%s'", spec, err, needle);
	assert_null(strchr(err, '\n'));
}

static void test_spec_parse(void **state)
{
	struct nw_workload w;
	char buf[256], err[256];
	uint64_t v;

	assert_int_equal(nw_workload_parse("random:ws=64m,ops=200k,huge=1", &w, err, sizeof(err)), 0);
	assert_string_equal(w.name, "random");
	assert_int_equal(nw_workload_get(&w, "ws", &v), 0);
	assert_int_equal(v, 64ull << 20);
	assert_int_equal(nw_workload_get(&w, "ops", &v), 0);
	assert_int_equal(v, 200000);
	assert_int_equal(nw_workload_get(&w, "stride", &v), 0);
	assert_int_equal(v, 64);
	assert_int_equal(nw_workload_get(&w, "theta", &v), -ENOENT);
	nw_workload_format(&w, buf, sizeof(buf));
	assert_string_equal(buf, "random:ws=64m,ops=200000,stride=64,update=1,huge=1");

	assert_int_equal(nw_workload_parse("zipf:theta=0.5", &w, err, sizeof(err)), 0);
	assert_int_equal(nw_workload_get(&w, "theta", &v), 0);
	assert_int_equal(v, 500);
	nw_workload_format(&w, buf, sizeof(buf));
	assert_non_null(strstr(buf, "theta=0.5,"));

	/* Every built-in name parses bare, and its canonical form parses back. */
	for (const char *const *n = nw_workload_names; *n; n++) {
		struct nw_workload again;
		assert_int_equal(nw_workload_parse(*n, &w, err, sizeof(err)), 0);
		nw_workload_format(&w, buf, sizeof(buf));
		assert_int_equal(nw_workload_parse(buf, &again, err, sizeof(err)), 0);
		for (unsigned i = 0; i < w.nparams; i++)
			assert_int_equal(w.params[i].value, again.params[i].value);
	}

	expect_bad("", "empty");
	expect_bad("nope", "unknown workload 'nope'");
	expect_bad("random:wss=1m", "no key 'wss'");
	expect_bad("random:ws=12q", "expected a size");
	expect_bad("random:ws=1m,ws=2m", "given twice");
	expect_bad("random:ws=1", "out of range");
	expect_bad("random:ops=-3", "expected a count");
	expect_bad("random:ops", "not key=value");
	expect_bad("random:ws=1m,", "empty parameter");
	expect_bad("random:huge=2", "expected 0 or 1");
	expect_bad("zipf:theta=0.1234", "at most 3 decimals");
	expect_bad("zipf:writes=101", "out of range (0..100)");
	expect_bad("zipf:writes=5%", "expected a percentage");
	expect_bad("random:ops=99999999999999999999999", "expected a count");
}

static void test_bad_run_config(void **state)
{
	struct nw_run_cfg c;
	struct nw_run_result *res = malloc(sizeof(*res));
	char err[256] = "";

	/* Vendor rule: ept needs an Intel (or generic) preset. */
	cfg_for(&c, "seq:ws=64k", NW_VM_EPT, "zen4", 1, NW_PAGE_4K, NW_PAGE_4K);
	assert_int_equal(nw_run(&c, res, err, sizeof(err)), -EINVAL);
	assert_true(err[0]);
	cfg_for(&c, "seq:ws=64k,stride=12", NW_VM_NATIVE, "generic", 1, NW_PAGE_4K, NW_PAGE_4K);
	assert_int_equal(nw_run(&c, res, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "multiple of 8"));
	cfg_for(&c, "seq:ws=64k", NW_VM_NATIVE, "generic", 1, NW_PAGE_4K, 3);
	assert_int_equal(nw_run(&c, res, err, sizeof(err)), -EINVAL);
	free(res);
}

/* The measured phase excludes warm-up: a seq run measures its passes only. */
static void test_measured_phase(void **state)
{
	struct nw_run_cfg c;

	cfg_for(&c, "seq:ws=256k,passes=3,write=0", NW_VM_EPT, "skylake", 2, NW_PAGE_4K, NW_PAGE_4K);
	struct nw_run_result *res = run_ok(&c);
	uint64_t slots = (256 << 10) / 64;
	assert_int_equal(stat_of(res, "access.loads"), 3 * slots);
	assert_int_equal(stat_of(res, "access.stores"), 0);
	assert_int_equal(stat_of(res, "workload.ops"), 3 * slots);
	/* spawn, switch and mmap on vCPU 0, a switch on vCPU 1, and exit */
	assert_int_equal(res->ops, 4 * slots + 5);
	free(res);
}

int main(void)
{
	/* The unit build runs the first part; the multi-vCPU and mixed-page
	 * matrices are the slow build's (the ASan budget of a unit test). */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec_parse),
		cmocka_unit_test(test_bad_run_config),
		cmocka_unit_test(test_measured_phase),
		cmocka_unit_test(test_same_data_4k_1),
		cmocka_unit_test(test_same_data_2m_1),
		cmocka_unit_test(test_mix_many_vcpus),
		cmocka_unit_test(test_same_data_pcid),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_control_corrupted_leaf),
		cmocka_unit_test(test_control_skip_invept),
		cmocka_unit_test(test_control_skip_invlpg),
		cmocka_unit_test(test_control_skip_shootdown),
		cmocka_unit_test(test_refs_per_walk_uncached),
		cmocka_unit_test(test_translation_only),
		/* slow from here */
		cmocka_unit_test(test_same_data_4k_4),
		cmocka_unit_test(test_same_data_2m_4),
		cmocka_unit_test(test_same_data_mixed_pages),
	};
	const size_t all = sizeof(tests) / sizeof(tests[0]), nslow = 3;

	if (getenv("NW_TEST_FILTER")) /* e.g. NW_TEST_FILTER='test_control_*' */
		cmocka_set_test_filter(getenv("NW_TEST_FILTER"));
#ifdef NW_WORKLOADS_SLOW
	return _cmocka_run_group_tests("workloads_slow", tests + all - nslow, nslow, NULL, NULL);
#else
	return _cmocka_run_group_tests("workloads", tests, all - nslow, NULL, NULL);
#endif
}
