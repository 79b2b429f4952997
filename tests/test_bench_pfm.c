/* SPDX-License-Identifier: MIT */
/*
 * The walk counters are named per CPU through libpfm4 (shared FACTS §7).
 * LIBPFM_FORCE_PMU makes libpfm4 act as if it ran on the named CPU, so the
 * Intel and AMD encodings are checked here on any machine. libpfm4 reads the
 * variable once, at initialisation, so each CPU model runs in a fresh child
 * and this process never initialises libpfm4 itself.
 *
 * Expected raw encodings (event | umask << 8), from the vendors' manuals:
 *   Skylake  DTLB_LOAD_MISSES.WALK_COMPLETED  event 08H umask 0EH
 *            DTLB_LOAD_MISSES.WALK_PENDING    event 08H umask 10H
 *            EPT.WALK_PENDING                 event 4FH umask 10H
 *   Haswell  DTLB_LOAD_MISSES.WALK_DURATION   event 08H umask 10H
 *            EPT.WALK_CYCLES                  event 4FH umask 10H
 *   Zen 2/3/4 PMCx045 LsL1DTlbMiss, umask F0H: the L2 DTLB misses (walks)
 *            for 4K, coalesced, 2M and 1G pages
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nw_test.h"
#include "hw.h"

struct expect {
	enum nw_perf_walk w;
	const char *desc;   /* NULL: libpfm4 must name no event */
	uint64_t config;
};

/* Runs in the child; returns a nonzero line number on the first mismatch. */
static int check_pmu(const char *pmu, const struct expect *e, size_t n)
{
	setenv("LIBPFM_FORCE_PMU", pmu, 1);
	for (size_t i = 0; i < n; i++) {
		struct perf_event_attr a;
		char desc[160] = "", why[512] = "";
		int err = nw_perf_walk_encode(e[i].w, &a, desc, sizeof(desc), why, sizeof(why));

		if (!e[i].desc) {
			/* Unavailable, and the reason names the CPU model. */
			if (err != -ENOENT || !strstr(why, pmu))
				return __LINE__;
			continue;
		}
		if (err || strcmp(desc, e[i].desc) || a.type != PERF_TYPE_RAW ||
		    a.config != e[i].config)
			return __LINE__;
		/* User-level only: the chase runs in user mode. */
		if (!a.exclude_kernel || a.exclude_user)
			return __LINE__;
	}
	return 0;
}

static void run_forced(const char *pmu, const struct expect *e, size_t n)
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(check_pmu(pmu, e, n) & 0xff);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status))
		fail_msg("%s: check failed (line %% 256 = %d)", pmu, WEXITSTATUS(status));
}

static void test_skylake(void **state)
{
	static const struct expect e[] = {
		{NW_PERF_DTLB_WALKS, "skl::DTLB_LOAD_MISSES:WALK_COMPLETED", 0x0e08},
		{NW_PERF_WALK_CYCLES, "skl::DTLB_LOAD_MISSES:WALK_PENDING", 0x1008},
		{NW_PERF_EPT_WALK_CYCLES, "skl::EPT:WALK_PENDING", 0x104f},
	};

	run_forced("skl", e, 3);
}

static void test_haswell(void **state)
{
	static const struct expect e[] = {
		{NW_PERF_DTLB_WALKS, "hsw::DTLB_LOAD_MISSES:WALK_COMPLETED", 0x0e08},
		{NW_PERF_WALK_CYCLES, "hsw::DTLB_LOAD_MISSES:WALK_DURATION", 0x1008},
		{NW_PERF_EPT_WALK_CYCLES, "hsw::EPT:WALK_CYCLES", 0x104f},
	};

	run_forced("hsw", e, 3);
}

#define ZEN_WALKS                                                                     \
	"L1_DTLB_MISS:TLB_RELOAD_4K_L2_MISS:TLB_RELOAD_2M_L2_MISS:TLB_RELOAD_1G_L2_MISS:" \
	"TLB_RELOAD_COALESCED_PAGE_MISS"

static void test_zen3(void **state)
{
	static const struct expect e[] = {
		{NW_PERF_DTLB_WALKS, "amd64_fam19h_zen3::" ZEN_WALKS, 0xf045},
		{NW_PERF_WALK_CYCLES, NULL, 0},
		{NW_PERF_EPT_WALK_CYCLES, NULL, 0},
	};

	run_forced("amd64_fam19h_zen3", e, 3);
}

static void test_zen4(void **state)
{
	static const struct expect e[] = {
		{NW_PERF_DTLB_WALKS, "amd64_fam19h_zen4::" ZEN_WALKS, 0xf045},
		{NW_PERF_EPT_WALK_CYCLES, NULL, 0},
	};

	run_forced("amd64_fam19h_zen4", e, 2);
}

/* Negative control: the checker must reject a wrong encoding. */
static void test_control_wrong_encoding_fails(void **state)
{
	static const struct expect e[] = {
		{NW_PERF_DTLB_WALKS, "skl::DTLB_LOAD_MISSES:WALK_COMPLETED", 0x1008},
	};
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(check_pmu("skl", e, 1) ? 1 : 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_skylake),
		cmocka_unit_test(test_haswell),
		cmocka_unit_test(test_zen3),
		cmocka_unit_test(test_zen4),
		cmocka_unit_test(test_control_wrong_encoding_fails),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
