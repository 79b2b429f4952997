/* SPDX-License-Identifier: MIT */
/*
 * The trace workload: a .nwt file replayed as a guest process.
 *
 * A synthetic program-like trace (code, a heap, a stack far away) runs in
 * native, ept, npt and shadow mode. Every mode must replay the same
 * operations (records + modifies), make the same guest loads and stores,
 * demand-fault exactly the 4 KiB pages
 * the trace touches (2 MiB pages with huge=1), load the same checksum and
 * no value that differs from what was stored. Two traces run as two
 * processes with context switches; loops=N replays N times with no new
 * faults after the first pass. Negative control: the same trace with one
 * access moved to a page it never touched must change the faults and the
 * checksum. Bad specs and files fail with a message naming the problem.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nw_test.h"
#include <nestwalk/tlb_preset.h>
#include <nestwalk/workload.h>

#include "nwt.h"
#include "trace_info.h"

#define NREC 6000

static char dir[64];
static char path_a[128], path_b[128], path_moved[128], path_bad[128];
static uint64_t pages_a, modifies_a;

/* Code at 4 MiB in small steps, a heap of 40 pages, a stack at 0x7ffd...:
 * the shape of a real program's trace. */
static void make_trace(const char *path, uint64_t seed, bool moved)
{
	struct nw_trace_rec r[NREC];
	struct nw_rng rng = { seed };
	uint64_t pc = 0x400000;
	struct nwt_writer *w;
	char err[256];

	for (size_t i = 0; i < NREC; i++) {
		unsigned k = (unsigned)nw_rng_below(&rng, 4);
		uint64_t a;
		if (k == NW_TRACE_IFETCH)
			a = pc = 0x400000 + (pc - 0x400000 + 1 + nw_rng_below(&rng, 6)) % (12 << 12);
		else if (nw_rng_below(&rng, 2))
			a = 0x2000000 + nw_rng_below(&rng, 40 << 12);
		else
			a = 0x7ffd00000000 - 8 - nw_rng_below(&rng, 3 << 12);
		r[i] = (struct nw_trace_rec){ a, k == NW_TRACE_IFETCH ? 4 : 8, (uint8_t)k };
	}
	if (moved)
		r[NREC / 2] = (struct nw_trace_rec){ 0x2000000 + (41 << 12), 8, NW_TRACE_LOAD };
	assert_int_equal(nwt_writer_open(path, NULL, NULL, &w, err, sizeof(err)), 0);
	assert_int_equal(nwt_write(w, r, NREC, err, sizeof(err)), 0);
	assert_int_equal(nwt_writer_close(w, err, sizeof(err)), 0);
}

static int setup_files(void **state)
{
	struct nw_trace_info_acc *a;
	struct nw_trace_info in;
	struct nwt_reader *r;
	struct nw_trace_rec buf[512];
	char err[256];
	long n;
	FILE *f;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/nw_replay_XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path_a, sizeof(path_a), "%s/a.nwt", dir);
	snprintf(path_b, sizeof(path_b), "%s/b.nwt", dir);
	snprintf(path_moved, sizeof(path_moved), "%s/moved.nwt", dir);
	snprintf(path_bad, sizeof(path_bad), "%s/bad.nwt", dir);
	make_trace(path_a, 1, false);
	make_trace(path_b, 2, false);
	make_trace(path_moved, 1, true);
	f = fopen(path_bad, "wb");
	fputs("not a trace at all, just some text that is long enough for a header", f);
	fclose(f);
	/* the oracle's figures, from trace info */
	assert_int_equal(nwt_reader_open(path_a, &r, err, sizeof(err)), 0);
	assert_int_equal(nw_trace_info_begin(&a), 0);
	while ((n = nwt_read(r, buf, 512, err, sizeof(err))) > 0)
		assert_int_equal(nw_trace_info_add(a, buf, (size_t)n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(nw_trace_info_end(a, &in), 0);
	nwt_reader_close(r);
	pages_a = in.pages_4k;
	modifies_a = in.by_kind[NW_TRACE_MODIFY];
	nw_trace_info_fini(&in);
	return 0;
}

static int remove_files(void **state)
{
	(void)state;
	unlink(path_a);
	unlink(path_b);
	unlink(path_moved);
	unlink(path_bad);
	rmdir(dir);
	return 0;
}

struct outcome {
	uint64_t ops, demand, checksum, mismatches, switches;
	uint64_t measured_switches;     /* switches are operations too */
	uint64_t accesses;              /* the guest's loads and stores, measured */
};

static uint64_t stat_of(const struct nw_stat *s, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(s[i].name, name))
			return s[i].value;
	fail_msg("no figure %s", name);
	return 0;
}

static int run_spec(const char *spec, enum nw_vm_mode mode, unsigned vcpus, int guest_page,
		    struct outcome *o, char *err, size_t errlen)
{
	struct nw_run_cfg c;
	struct nw_run_result *res = malloc(sizeof(*res));
	int rc;

	nw_run_cfg_default(&c);
	c.trace = &nw_nwt_source;
	c.vm.mode = mode;
	c.vm.vcpus = vcpus;
	c.guest_page = guest_page;
	assert_int_equal(nw_cpu_preset(mode == NW_VM_NPT || vcpus > 1 ? "zen4" : "skylake", &c.vm.cpu, err,
				       errlen), 0);
	rc = nw_workload_parse(spec, &c.wl, err, errlen);
	if (rc == 0)
		rc = nw_run(&c, res, err, errlen);
	if (rc == 0) {
		o->ops = stat_of(res->stats, res->nstats, "workload.ops");
		o->demand = stat_of(res->total, res->ntotal, "guest.faults.demand");
		o->checksum = res->checksum;
		o->mismatches = res->mismatches;
		o->switches = stat_of(res->total, res->ntotal, "guest.switches");
		o->measured_switches = stat_of(res->stats, res->nstats, "guest.switches");
		o->accesses = stat_of(res->stats, res->nstats, "access.loads") +
			      stat_of(res->stats, res->nstats, "access.stores");
	}
	free(res);
	return rc;
}

static const enum nw_vm_mode modes[] = { NW_VM_NATIVE, NW_VM_EPT, NW_VM_NPT, NW_VM_SHADOW };

static void test_modes_agree(void **state)
{
	char spec[256], err[256];
	struct outcome o[4];

	(void)state;
	snprintf(spec, sizeof(spec), "trace:%s", path_a);
	for (int m = 0; m < 4; m++) {
		memset(&o[m], 0, sizeof(o[m]));
		if (run_spec(spec, modes[m], 1, NW_PAGE_4K, &o[m], err, sizeof(err)) < 0)
			fail_msg("mode %s: %s", nw_vm_mode_name(modes[m]), err);
		assert_int_equal(o[m].ops, NREC + modifies_a);
		assert_int_equal(o[m].demand, pages_a);
		assert_int_equal(o[m].mismatches, 0);
		assert_true(o[m].checksum == o[0].checksum);
		assert_int_equal(o[m].accesses, o[0].accesses);
		assert_true(o[m].accesses >= o[m].ops);
	}
}

static void test_huge_pages(void **state)
{
	char spec[256], err[256];
	struct outcome o[2];

	(void)state;
	snprintf(spec, sizeof(spec), "trace:%s:huge=1", path_a);
	for (int m = 0; m < 2; m++) {
		if (run_spec(spec, modes[m + 1], 1, NW_PAGE_4K, &o[m], err, sizeof(err)) < 0)
			fail_msg("%s", err);
		/* the code (at 4 MiB), the heap (32 MiB) and the stack: one 2 MiB page each */
		assert_int_equal(o[m].demand, 3);
		assert_int_equal(o[m].mismatches, 0);
		assert_true(o[m].checksum == o[0].checksum);
	}
}

static void test_two_processes(void **state)
{
	char spec[512], err[256];
	struct outcome one, two, again;

	(void)state;
	snprintf(spec, sizeof(spec), "trace:%s,%s:slice=500", path_a, path_b);
	if (run_spec(spec, NW_VM_EPT, 1, NW_PAGE_4K, &two, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	snprintf(spec, sizeof(spec), "trace:%s", path_a);
	assert_int_equal(run_spec(spec, NW_VM_EPT, 1, NW_PAGE_4K, &one, err, sizeof(err)), 0);
	assert_true(two.demand > one.demand);
	assert_true(two.switches >= 2 * NREC / 500); /* a switch at least every slice */
	assert_int_equal(two.mismatches, 0);
	/* two vCPUs, a trace each: the same operations, no switches needed */
	snprintf(spec, sizeof(spec), "trace:%s,%s:slice=500", path_a, path_b);
	if (run_spec(spec, NW_VM_NPT, 2, NW_PAGE_4K, &again, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_int_equal(again.ops - again.measured_switches, two.ops - two.measured_switches);
	assert_int_equal(again.demand, two.demand);
	assert_int_equal(again.mismatches, 0);
}

static void test_loops(void **state)
{
	char spec[256], err[256];
	struct outcome one, three;

	(void)state;
	snprintf(spec, sizeof(spec), "trace:%s", path_a);
	assert_int_equal(run_spec(spec, NW_VM_SHADOW, 1, NW_PAGE_4K, &one, err, sizeof(err)), 0);
	snprintf(spec, sizeof(spec), "trace:%s:loops=3", path_a);
	assert_int_equal(run_spec(spec, NW_VM_SHADOW, 1, NW_PAGE_4K, &three, err, sizeof(err)), 0);
	assert_int_equal(three.ops, 3 * one.ops);
	assert_int_equal(three.demand, one.demand); /* faulted in once */
	assert_int_equal(three.mismatches, 0);
}

/* Negative control: one access moved to an untouched page. */
static void test_moved_access_control(void **state)
{
	char spec[256], err[256];
	struct outcome a, m;

	(void)state;
	snprintf(spec, sizeof(spec), "trace:%s", path_a);
	assert_int_equal(run_spec(spec, NW_VM_EPT, 1, NW_PAGE_4K, &a, err, sizeof(err)), 0);
	snprintf(spec, sizeof(spec), "trace:%s", path_moved);
	assert_int_equal(run_spec(spec, NW_VM_EPT, 1, NW_PAGE_4K, &m, err, sizeof(err)), 0);
	assert_true(m.demand != a.demand || m.checksum != a.checksum);
	assert_true(m.checksum != a.checksum);
}

static void expect_fail(const char *spec, const char *want)
{
	struct outcome o;
	char err[256] = "";

	assert_int_equal(run_spec(spec, NW_VM_EPT, 1, NW_PAGE_4K, &o, err, sizeof(err)), -EINVAL);
	if (!strstr(err, want))
		fail_msg("'%s': message '%s' lacks '%s'", spec, err, want);
}

static void test_bad_specs(void **state)
{
	char spec[256];

	(void)state;
	expect_fail("trace", "needs a file");
	expect_fail("trace:", "needs a file");
	expect_fail("trace:a.nwt,,b.nwt", "empty file name");
	expect_fail("trace:a.nwt:loops=0", "out of range");
	expect_fail("trace:a.nwt:nope=1", "no key 'nope'");
	expect_fail("trace:/nonexistent/x.nwt", "/nonexistent/x.nwt");
	snprintf(spec, sizeof(spec), "trace:%s", path_bad);
	expect_fail(spec, "bad magic at offset 0");
}

static void test_spec_format(void **state)
{
	struct nw_workload w;
	char buf[256], err[256];

	(void)state;
	assert_int_equal(nw_workload_parse("trace:x/a.nwt,b.nwt:loops=2", &w, err, sizeof(err)), 0);
	assert_string_equal(w.files, "x/a.nwt,b.nwt");
	nw_workload_format(&w, buf, sizeof(buf));
	assert_string_equal(buf, "trace:x/a.nwt,b.nwt:loops=2,slice=10000,huge=0");
	assert_int_equal(nw_workload_parse(buf, &w, err, sizeof(err)), 0);
	assert_string_equal(w.files, "x/a.nwt,b.nwt");
	/* a ':' in a file name without '=' after it stays in the name */
	assert_int_equal(nw_workload_parse("trace:c:d.nwt", &w, err, sizeof(err)), 0);
	assert_string_equal(w.files, "c:d.nwt");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec_format),
		cmocka_unit_test(test_modes_agree),
		cmocka_unit_test(test_huge_pages),
		cmocka_unit_test(test_two_processes),
		cmocka_unit_test(test_loops),
		cmocka_unit_test(test_moved_access_control),
		cmocka_unit_test(test_bad_specs),
	};
	return cmocka_run_group_tests(tests, setup_files, remove_files);
}
