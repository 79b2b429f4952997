/* SPDX-License-Identifier: MIT */
/*
 * A guest that writes garbage into its own page tables: random values in
 * entries at every level (reserved bits, large-page bits, addresses past
 * guest RAM and past MAXPHYADDR, entries pointing at the tables themselves),
 * written by the guest's own supervisor stores through a mapping of its
 * tables, then random accesses of every kind at every address it could
 * reach. The hypervisor must turn all of it into guest #PFs (or device
 * accesses) and keep running: no negative return, no stopped VM, no
 * sanitizer report.
 *
 * The oracle is native paging: every guest write is followed by a full TLB
 * flush (a MOV CR3 without PCIDs), so each access has one architectural
 * outcome (the #PF error code and CR2, or the value loaded), and ept, npt
 * and shadow must give exactly native's sequence of outcomes. The negative
 * control: a shadow MMU that performs the guest's table writes but leaves
 * its shadow entries as they were (NW_SHADOW_BUG_SKIP_TRACK) must not.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nw_test.h"
#include <nestwalk/vmm.h>

/* White box: the negative control's bug is planted in the VM's shadow MMU. */
#include "../shadow/shadow_internal.h"
#include "../vmm/vmm_internal.h"

#define RAM (16ull << 20)
#define ROOT 0x1000ull
#define PDPT 0x2000ull
#define PD 0x3000ull
#define PT0 0x4000ull                /* NPT page tables from here */
#define NPT 4
#define DATA_GPA 0x100000ull          /* data frames: 1 MiB .. 5 MiB */
#define DATA_FRAMES 1024
#define WINDOW_VA 0x200000ull         /* the tables, mapped for the kernel's stores */
#define DATA_VA 0x400000ull           /* NPT x 2 MiB of data */
#define NTABLES (3 + NPT)
#define STEPS 4000

struct guest {
	uint64_t cr2;
	uint32_t error;
	unsigned console;
};

static int guest_pf(void *g, struct nw_vcpu *v, uint64_t cr2, uint32_t error)
{
	struct guest *gs = g;

	gs->cr2 = cr2;
	gs->error = error;
	return 1; /* this guest never fixes a fault: the access fails */
}

static void guest_console(void *g, struct nw_vcpu *v, uint8_t byte)
{
	((struct guest *)g)->console++;
}

static const struct nw_guest_ops ops = { .page_fault = guest_pf, .console = guest_console };

static uint64_t table_gpa(unsigned i)
{
	return i == 0 ? ROOT : i == 1 ? PDPT : i == 2 ? PD : PT0 + (uint64_t)(i - 3) * 0x1000;
}

static uint64_t fold(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
	return h;
}

/* A value for a page-table entry, from plausible to absurd; the console
 * page only as a 4 KiB leaf (a device is no page table). */
static uint64_t garbage(struct nw_rng *r, bool pt)
{
	uint64_t v = nw_rng_next(r);
	const uint64_t flags = NW_PTE_P | NW_PTE_RW | NW_PTE_US;

	switch (nw_rng_below(r, 8)) {
	case 0: return v;                                                  /* anything */
	case 1: return v | NW_PTE_P;                                       /* present, any bits */
	case 2: return (v & 0x000ffffffffff000ull) | flags;                /* an address below 2^52 */
	case 3: return (v & 0x0000003ffffff000ull) | flags;                /* past guest RAM */
	case 4: return ((v % (RAM >> 12)) << 12) | flags | (v & NW_PTE_PS); /* somewhere in RAM */
	case 5: return table_gpa((unsigned)nw_rng_below(r, NTABLES)) | flags | (v & NW_PTE_XD);
	case 6: return ((v % (RAM >> 12)) << 12) | flags | NW_PTE_PS | (v & 0xe000ull);
	default: return pt ? (RAM & ~0xfffull) | flags : v | NW_PTE_P;      /* the console page */
	}
}

/* A guest address to access. */
static uint64_t target(struct nw_rng *r)
{
	uint64_t off = nw_rng_below(r, 512) * 8;

	switch (nw_rng_below(r, 5)) {
	case 0:
	case 1: return DATA_VA + nw_rng_below(r, NPT * 512) * 0x1000 + off;
	case 2: return WINDOW_VA + nw_rng_below(r, NTABLES + 2) * 0x1000 + off;
	case 3: return nw_rng_below(r, 1ull << 30) & ~7ull; /* the first GiB */
	default: return (nw_rng_next(r) & 0x00007ffffffffff8ull); /* any canonical user address */
	}
}

/* What boot put in entry idx of table tab (0: nothing). */
static uint64_t boot_value(unsigned tab, unsigned idx)
{
	const uint64_t t = NW_PTE_P | NW_PTE_RW | NW_PTE_US;

	if (tab == 0)
		return idx == 0 ? PDPT | t : 0;
	if (tab == 1)
		return idx == 0 ? PD | t : 0;
	if (tab == 2) {
		if (idx == NW_LEVEL_INDEX(WINDOW_VA, 2))
			return PT0 | t;
		if (idx >= NW_LEVEL_INDEX(DATA_VA, 2) && idx < NW_LEVEL_INDEX(DATA_VA, 2) + NPT)
			return table_gpa(3 + idx - (unsigned)NW_LEVEL_INDEX(DATA_VA, 2)) | t;
		return 0;
	}
	unsigned k = tab - 3;
	if (k == 0 && idx < NTABLES)
		return table_gpa(idx) | NW_PTE_P | NW_PTE_RW;
	return (DATA_GPA + (uint64_t)((idx * 7 + k * 131) % DATA_FRAMES) * 0x1000) | t |
	       (idx % 5 == 0 ? NW_PTE_XD : 0);
}

struct outcome {
	uint64_t hash;
	uint64_t faults, ok, writes;
};

/* One run of the seeded garbage guest in one mode: 0, or a message in err. */
static int run_mode(enum nw_vm_mode mode, const char *preset, uint64_t seed, unsigned bugs,
		    struct outcome *out, char *err, size_t len)
{
	struct nw_vm_cfg c;
	struct nw_vm *vm;
	struct guest g = { 0 };
	struct nw_rng rng = { .s = seed };
	uint64_t val;
	int rc;

	memset(out, 0, sizeof(*out));
	nw_vm_cfg_default(&c);
	c.mode = mode;
	c.ram = RAM;
	assert_int_equal(nw_cpu_preset(preset, &c.cpu, err, len), 0);
	assert_int_equal(nw_vm_create(&c, &vm, err, len), 0);
	struct nw_vcpu *v = nw_vm_vcpu(vm, 0);
	nw_vcpu_set_guest(v, &ops, &g);
	if (bugs)
		vm->shadow->cfg.bugs |= bugs;

	/* Boot, paging off: the data pages, and the tables at WINDOW_VA for the kernel. */
#define PSTORE(gpa, x)                                                                  \
	do {                                                                           \
		val = (x);                                                             \
		assert_int_equal(nw_vcpu_phys_access(v, (gpa), NW_ACC_WRITE, &val), 0); \
	} while (0)
	/* WINDOW_VA and DATA_VA share PT0: its first entries map the tables. */
	_Static_assert(NW_LEVEL_INDEX(WINDOW_VA, 1) == 0 && NW_LEVEL_INDEX(DATA_VA, 1) == 0,
		      "the window is PT0's first entries");
	for (unsigned tab = 0; tab < NTABLES; tab++)
		for (unsigned i = 0; i < 512; i++)
			if (boot_value(tab, i))
				PSTORE(table_gpa(tab) + 8 * i, boot_value(tab, i));
	for (uint64_t f = 0; f < DATA_FRAMES; f++)
		PSTORE(DATA_GPA + f * 0x1000 + 8 * (f % 512), f * 0x10001);
#undef PSTORE
	struct nw_x86_mode m = { .levels = 4, .wp = true, .nxe = true, .smep = true };
	nw_vcpu_set_paging(v, &m, false);
	assert_int_equal(nw_vcpu_mov_cr3(v, ROOT), 0);

	for (unsigned s = 0; s < STEPS; s++) {
		uint64_t r = nw_rng_below(&rng, 100), gva, h = s;
		unsigned access;
		if (r < 25) {
			/* The kernel writes garbage into one of its tables, then flushes. */
			unsigned tab = (unsigned)nw_rng_below(&rng, NTABLES);
			unsigned idx = nw_rng_below(&rng, 2) ? (unsigned)nw_rng_below(&rng, 512)
							     : (tab < 3 ? (unsigned)nw_rng_below(&rng, 4) : 0);
			if (tab == 0)
				idx = (unsigned)nw_rng_below(&rng, 2) ? 0 : idx;
			gva = WINDOW_VA + tab * 0x1000ull + idx * 8ull;
			access = NW_ACC_WRITE;
			/* Some garbage is taken back, so that the run keeps translating. */
			val = nw_rng_below(&rng, 3) ? garbage(&rng, tab >= 3) : boot_value(tab, idx);
			out->writes++;
		} else {
			static const unsigned kinds[] = {
				NW_ACC_READ, NW_ACC_WRITE, NW_ACC_FETCH, NW_ACC_USER,
				NW_ACC_USER | NW_ACC_WRITE, NW_ACC_USER | NW_ACC_FETCH,
			};
			gva = target(&rng);
			access = kinds[nw_rng_below(&rng, 6)];
			val = nw_rng_next(&rng);
		}
		g.cr2 = g.error = 0;
		rc = nw_vcpu_access(v, gva, access, &val);
		if (rc < 0 || nw_vm_stopped(vm)) {
			snprintf(err, len, "%s step %u: access %#llx (%#x) returned %d, VM stopped %d",
				 nw_vm_mode_name(mode), s, (unsigned long long)gva, access, rc,
				 nw_vm_stopped(vm));
			nw_vm_destroy(vm);
			return -1;
		}
		if (rc == NW_VCPU_SEGV) {
			h = fold(fold(h, g.cr2), g.error);
			out->faults++;
		} else {
			h = fold(h, (access & (NW_ACC_WRITE | NW_ACC_FETCH)) ? 1 : val);
			out->ok++;
		}
		out->hash = fold(out->hash, h);
		/* A full flush after each table write: one architectural outcome per access. */
		if (r < 25 && nw_vcpu_mov_cr3(v, ROOT) < 0) {
			snprintf(err, len, "%s step %u: MOV CR3 failed", nw_vm_mode_name(mode), s);
			nw_vm_destroy(vm);
			return -1;
		}
	}
	out->hash = fold(out->hash, g.console);
	nw_vm_destroy(vm);
	return 0;
}

static void test_garbage_tables(void **state)
{
	static const struct {
		enum nw_vm_mode mode;
		const char *preset;
	} modes[] = {
		{ NW_VM_NATIVE, "generic" }, { NW_VM_EPT, "skylake" }, { NW_VM_NPT, "zen4" },
		{ NW_VM_SHADOW, "skylake" }, { NW_VM_SHADOW, "zen4" },
	};
	char err[256];

	(void)state;
	for (uint64_t seed = 1; seed <= 3; seed++) {
		struct outcome ref, o;
		for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
			if (run_mode(modes[i].mode, modes[i].preset, seed, 0, i ? &o : &ref, err,
				     sizeof(err)) < 0)
				fail_msg("seed %llu: %s", (unsigned long long)seed, err);
			if (!i) {
				print_message("seed %llu: %llu garbage writes, %llu accesses faulted, "
					      "%llu succeeded\n", (unsigned long long)seed,
					      (unsigned long long)ref.writes,
					      (unsigned long long)ref.faults,
					      (unsigned long long)ref.ok);
				/* The run must both fault and translate, or it shows little. */
				assert_true(ref.faults > STEPS / 10 && ref.ok > STEPS / 10);
				continue;
			}
			if (o.hash != ref.hash || o.faults != ref.faults)
				fail_msg("seed %llu: %s on %s: %llu faults, %llu ok; native %llu, %llu",
					 (unsigned long long)seed, nw_vm_mode_name(modes[i].mode),
					 modes[i].preset, (unsigned long long)o.faults,
					 (unsigned long long)o.ok, (unsigned long long)ref.faults,
					 (unsigned long long)ref.ok);
		}
	}
}

static void test_skip_track_differs(void **state)
{
	struct outcome ref, o;
	char err[256];
	bool differs = false;

	(void)state;
	for (uint64_t seed = 1; seed <= 3 && !differs; seed++) {
		assert_int_equal(run_mode(NW_VM_NATIVE, "generic", seed, 0, &ref, err, sizeof(err)), 0);
		int rc = run_mode(NW_VM_SHADOW, "skylake", seed, NW_SHADOW_BUG_SKIP_TRACK, &o, err,
				  sizeof(err));
		differs = rc < 0 || o.hash != ref.hash;
		print_message("seed %llu: SKIP_TRACK %s\n", (unsigned long long)seed,
			      differs ? "caught" : "not seen");
	}
	assert_true(differs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_garbage_tables),
		cmocka_unit_test(test_skip_track_differs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
