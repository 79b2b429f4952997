/* SPDX-License-Identifier: MIT */
/*
 * nestwalk-bench end to end: the standard --benchmark_* flags, its JSON,
 * and the rule that a counter the machine cannot count is absent from every
 * benchmark and explained in the context ("unavailable: <reason>"), never
 * reported as 0. hugetlb reservation is off here: nothing in CTest reserves
 * hugetlb pages.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nw_test.h"
#include "nw_bench_json.h"

#ifndef NW_BENCH_BIN
#error "NW_BENCH_BIN must name the nestwalk-bench binary"
#endif

static const char *const walk[] = {"dtlb_walks", "walk_cycles", "ept_walk_cycles"};

/* Runs nestwalk-bench with args plus JSON output to a temporary file;
 * returns the parsed JSON (NULL if it failed) and its exit status. */
static json_t *run_bench(const char *const *args, int *status)
{
	char out[] = "/tmp/nw_bench_json_XXXXXX", flag[64];
	const char *argv[32];
	int n = 0, fd = mkstemp(out);
	json_error_t jerr;
	json_t *root;
	pid_t pid;

	assert_true(fd >= 0);
	close(fd);
	snprintf(flag, sizeof(flag), "--benchmark_out=%s", out);
	argv[n++] = NW_BENCH_BIN;
	argv[n++] = flag;
	argv[n++] = "--benchmark_out_format=json";
	argv[n++] = "--benchmark_min_time=0.01";
	argv[n++] = "--hw_hugetlb_reserve=0";
	while (*args && n < 31)
		argv[n++] = *args++;
	argv[n] = NULL;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, STDOUT_FILENO);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, status, 0), pid);
	root = json_load_file(out, 0, &jerr);
	unlink(out);
	return root;
}

static const char *context(json_t *root, const char *key)
{
	return json_string_value(json_object_get(json_object_get(root, "context"), key));
}

/* The rule for each walk counter; returns 0 or the number of the rule broken.
 *   1: the context does not account for the counter
 *   2: unavailable, but a benchmark reports it anyway (a 0 or anything else)
 *   3: available, but a benchmark that ran lacks it or it is not a number */
static int check_counters(json_t *root)
{
	for (size_t w = 0; w < sizeof(walk) / sizeof(walk[0]); w++) {
		char key[64], counter[64];
		const char *v;
		json_t *b;
		size_t i;

		snprintf(key, sizeof(key), "hw.perf.%s", walk[w]);
		snprintf(counter, sizeof(counter), "%s_per_access", walk[w]);
		v = context(root, key);
		if (!v || !*v)
			return 1;
		json_array_foreach(json_object_get(root, "benchmarks"), i, b) {
			const char *name = json_string_value(json_object_get(b, "name"));
			json_t *c = json_object_get(b, counter);

			if (strncmp(name, "hw/", 3) || strncmp(name, "hw/penalty/", 11) == 0 ||
			    json_is_true(json_object_get(b, "error_occurred")))
				continue;
			if (strncmp(v, "unavailable: ", 13) == 0 ? c != NULL : !json_is_number(c))
				return strncmp(v, "unavailable: ", 13) == 0 ? 2 : 3;
		}
	}
	return 0;
}

/* Run nestwalk-bench with args: it must exit 0 with JSON whose counters
 * pass check_counters. */
static json_t *run_bench_ok(const char *const args[])
{
	int status;
	json_t *root = run_bench(args, &status);

	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_non_null(root);
	assert_int_equal(check_counters(root), 0);
	return root;
}

static void test_hw_suite_json(void **state)
{
	const char *const args[] = {"--benchmark_filter=^hw/(4k|thp|2m|penalty)/(16K|1M)$",
				    NULL};
	const char *v;
	json_t *root = run_bench_ok(args), *b;

	/* The context describes the machine and the layout. */
	assert_non_null(context(root, "hw.chase"));
	assert_non_null(context(root, "hw.cache.l1d"));
	assert_true(atof(context(root, "hw.core_ghz")) > 0.1);
	assert_non_null(context(root, "hw.hypervisor"));

	for (int k = 0; k < 2; k++) {
		b = bench_named(root, k ? "hw/thp/16K" : "hw/4k/16K");
		assert_non_null(b);
		assert_false(json_is_true(json_object_get(b, "error_occurred")));
		assert_true(json_real_value(json_object_get(b, "ns_per_access")) > 0);
		assert_true(json_real_value(json_object_get(b, "cycles_per_access")) > 0);
	}
	assert_true(json_is_number(json_object_get(bench_named(root, "hw/thp/1M"),
						   "thp_fraction")));
	assert_true(json_is_number(json_object_get(bench_named(root, "hw/penalty/1M"),
						   "walk_penalty_ns")));
	/* hugetlb without free pages and without reserving: skipped with why. */
	b = bench_named(root, "hw/2m/16K");
	assert_non_null(b);
	if (json_is_true(json_object_get(b, "error_occurred"))) {
		v = json_string_value(json_object_get(b, "error_message"));
		assert_non_null(v);
		assert_non_null(strstr(v, "reserving is off"));
	}
	json_decref(root);
}

/* Counters named on the command line: one that opens (a software event, so
 * it opens without a PMU) is a number in every benchmark; one that libpfm4
 * cannot encode is unavailable, explained, and absent. */
static void test_named_events(void **state)
{
	const char *const args[] = {"--benchmark_filter=^hw/4k/16K$",
				    "--hw_event=dtlb_walks=perf::page-faults",
				    "--hw_event=walk_cycles=NO_SUCH_EVENT", NULL};
	json_t *root = run_bench_ok(args), *b;
	assert_string_equal(context(root, "hw.perf.dtlb_walks"), "perf::page-faults");
	assert_non_null(strstr(context(root, "hw.perf.walk_cycles"),
			       "unavailable: libpfm4 cannot encode NO_SUCH_EVENT"));
	b = bench_named(root, "hw/4k/16K");
	assert_non_null(b);
	assert_true(json_is_number(json_object_get(b, "dtlb_walks_per_access")));
	assert_null(json_object_get(b, "walk_cycles_per_access"));

	/* Negative control: the same run with a 0 slipped in for the
	 * unavailable counter must break the rule. */
	json_object_set_new(b, "walk_cycles_per_access", json_real(0));
	assert_int_equal(check_counters(root), 2);
	json_object_del(b, "walk_cycles_per_access");
	json_object_del(b, "dtlb_walks_per_access");
	assert_int_equal(check_counters(root), 3);
	json_decref(root);
}

static void test_bad_flag_is_usage_error(void **state)
{
	const char *const args[] = {"--hw_event=no_such_counter=X", NULL};
	int status;
	json_t *root = run_bench(args, &status);

	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 2);
	json_decref(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hw_suite_json),
		cmocka_unit_test(test_named_events),
		cmocka_unit_test(test_bad_flag_is_usage_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
