/* SPDX-License-Identifier: MIT */
/*
 * perf_event groups tested for real on a machine without a PMU: software
 * events open and count through the same group code as the walk counters,
 * and a counter that cannot open is kept with its reason and never a value.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "nw_test.h"
#include "hw.h"

#define PAGES 256

static void sw_attr(struct perf_event_attr *a, uint64_t config)
{
	memset(a, 0, sizeof(*a));
	a->type = PERF_TYPE_SOFTWARE;
	a->config = config;
}

/* Touches PAGES fresh pages: at least PAGES page faults. */
static void fault_pages(void)
{
	long psz = sysconf(_SC_PAGESIZE);
	char *p = mmap(NULL, PAGES * (size_t)psz, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	assert_true(p != MAP_FAILED);
	madvise(p, PAGES * (size_t)psz, MADV_NOHUGEPAGE);
	for (int i = 0; i < PAGES; i++)
		((volatile char *)p)[(size_t)i * (size_t)psz] = 1;
	munmap(p, PAGES * (size_t)psz);
}

static struct nw_perf_counter *find(struct nw_perf_group *g, const char *name)
{
	for (int i = 0; i < g->n; i++)
		if (strcmp(g->c[i].name, name) == 0)
			return &g->c[i];
	return NULL;
}

static void test_software_events_count(void **state)
{
	struct nw_perf_group g;
	struct perf_event_attr a;
	struct nw_perf_counter *pf, *clk;

	nw_perf_group_init(&g);
	sw_attr(&a, PERF_COUNT_SW_PAGE_FAULTS);
	assert_int_equal(nw_perf_group_add(&g, "page_faults", &a, "page-faults"), 0);
	sw_attr(&a, PERF_COUNT_SW_TASK_CLOCK);
	assert_int_equal(nw_perf_group_add(&g, "task_clock", &a, "task-clock"), 0);
	pf = find(&g, "page_faults");
	clk = find(&g, "task_clock");
	assert_true(pf->fd >= 0 && clk->fd >= 0);
	assert_int_equal(g.leader_fd, pf->fd);

	/* Two intervals: the reset between them starts the counts again. */
	for (int round = 0; round < 2; round++) {
		assert_int_equal(nw_perf_group_reset(&g), 0);
		assert_int_equal(nw_perf_group_enable(&g), 0);
		fault_pages();
		assert_int_equal(nw_perf_group_disable(&g), 0);
		assert_int_equal(nw_perf_group_read(&g), 0);
		assert_true(pf->valid && clk->valid);
		assert_true(pf->value >= PAGES);
		assert_true(pf->value < 50 * PAGES);
		assert_true(clk->value > 0);
	}
	/* Disabled: faults now are not counted. */
	uint64_t before = pf->value;

	fault_pages();
	assert_int_equal(nw_perf_group_read(&g), 0);
	assert_int_equal(pf->value, before);
	nw_perf_group_close(&g);
	assert_int_equal(g.n, 0);
	assert_int_equal(g.leader_fd, -1);
}

/* A counter that cannot open stays in the group, unavailable, with a reason;
 * the others still count, and it never gets a value. */
static void test_unavailable_counter_has_no_value(void **state)
{
	struct nw_perf_group g;
	struct perf_event_attr a;
	struct nw_perf_counter *bad, *pf;

	nw_perf_group_init(&g);
	sw_attr(&a, 0xdeadu); /* no such software event anywhere */
	assert_true(nw_perf_group_add(&g, "bogus", &a, "software 0xdead") < 0);
	sw_attr(&a, PERF_COUNT_SW_PAGE_FAULTS);
	assert_int_equal(nw_perf_group_add(&g, "page_faults", &a, "page-faults"), 0);
	bad = find(&g, "bogus");
	pf = find(&g, "page_faults");
	assert_int_equal(bad->fd, -1);
	assert_non_null(strstr(bad->reason, "perf_event_open(software 0xdead)"));
	assert_int_equal(g.leader_fd, pf->fd);

	nw_perf_group_reset(&g);
	nw_perf_group_enable(&g);
	fault_pages();
	nw_perf_group_disable(&g);
	assert_int_equal(nw_perf_group_read(&g), 0);
	assert_false(bad->valid);
	assert_true(pf->valid && pf->value >= PAGES);
	nw_perf_group_close(&g);
}

/* The walk counters with events named on the command line: a libpfm4 name
 * that opens counts, one that does not encode is unavailable, and the
 * counter left to the per-CPU table is either open or says why. */
static void test_walk_counters_named(void **state)
{
	const char *ev[NW_PERF_NWALK] = {"perf::page-faults", "NO_SUCH_EVENT", NULL};
	struct nw_perf_group g;
	struct nw_perf_counter *walks, *cycles, *ept;

	nw_perf_group_init(&g);
	nw_perf_group_add_walk(&g, ev);
	assert_int_equal(g.n, NW_PERF_NWALK);
	walks = find(&g, "dtlb_walks");
	cycles = find(&g, "walk_cycles");
	ept = find(&g, "ept_walk_cycles");
	assert_non_null(walks);
	assert_non_null(cycles);
	assert_non_null(ept);
	assert_true(walks->fd >= 0);
	assert_non_null(strstr(walks->event, "page-faults"));
	assert_int_equal(cycles->fd, -1);
	assert_non_null(strstr(cycles->reason, "cannot encode NO_SUCH_EVENT"));
	assert_true(ept->fd >= 0 || ept->reason[0]);

	nw_perf_group_reset(&g);
	nw_perf_group_enable(&g);
	fault_pages();
	nw_perf_group_disable(&g);
	assert_int_equal(nw_perf_group_read(&g), 0);
	assert_true(walks->valid && walks->value >= PAGES);
	assert_false(cycles->valid);
	nw_perf_group_close(&g);
}

/* With no PMU, every walk counter is recorded unavailable with a reason,
 * and the group has no leader to read: nothing can report a 0. */
static void test_walk_counters_default(void **state)
{
	struct nw_perf_group g;

	nw_perf_group_init(&g);
	nw_perf_group_add_walk(&g, NULL);
	assert_int_equal(g.n, NW_PERF_NWALK);
	for (int i = 0; i < g.n; i++) {
		assert_true(g.c[i].fd >= 0 || strlen(g.c[i].reason) > 10);
		if (g.c[i].fd < 0)
			assert_false(g.c[i].valid);
	}
	assert_int_equal(nw_perf_group_read(&g), 0);
	for (int i = 0; i < g.n; i++)
		if (g.c[i].fd < 0)
			assert_false(g.c[i].valid);
	nw_perf_group_close(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_software_events_count),
		cmocka_unit_test(test_unavailable_counter_has_no_value),
		cmocka_unit_test(test_walk_counters_named),
		cmocka_unit_test(test_walk_counters_default),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
