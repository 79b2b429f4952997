/* SPDX-License-Identifier: MIT */
/*
 * The C shim over Google Benchmark (bench/gbench.h): every call reaches
 * Google Benchmark and shows in its JSON as Google Benchmark documents it.
 * The benchmarks run in this process with a tiny min_time; their output goes
 * to a temporary JSON file that the checks then read.
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nw_test.h"
#include "nw_bench_json.h"
#include "gbench.h"

static int user_token = 42;
static int paused_calls;

static void bm_args(struct nw_gb_state *st, void *user)
{
	int64_t a = nw_gb_state_range(st, 0), b = nw_gb_state_range(st, 1);
	uint64_t x = 0;

	if (user != &user_token) {
		nw_gb_skip_with_error(st, "user data lost");
		return;
	}
	while (nw_gb_keep_running(st)) {
		x += (uint64_t)(a + b);
		NW_GB_DO_NOT_OPTIMIZE(x);
	}
	nw_gb_counter(st, "a", (double)a, NW_GB_DEFAULT, 0);
	nw_gb_counter(st, "b", (double)b, NW_GB_DEFAULT, 0);
}

static void bm_one_arg(struct nw_gb_state *st, void *user)
{
	while (nw_gb_keep_running(st)) {
	}
	nw_gb_counter(st, "a", (double)nw_gb_state_range(st, 0), NW_GB_DEFAULT, 0);
}

static void bm_counters(struct nw_gb_state *st, void *user)
{
	char buf[256];

	while (nw_gb_keep_running_batch(st, 8)) {
		memset(buf, (int)nw_gb_state_iterations(st), sizeof(buf));
		nw_gb_do_not_optimize(buf);
		nw_gb_clobber_memory();
		nw_gb_pause_timing(st);
		paused_calls++;
		nw_gb_resume_timing(st);
	}
	/* 10 per iteration on average, and the same as a rate. */
	nw_gb_counter(st, "per_iter", 10.0 * (double)nw_gb_state_iterations(st),
		      NW_GB_AVG_ITERATIONS, 0);
	nw_gb_counter(st, "constant", 3.0, NW_GB_DEFAULT, 0);
	nw_gb_counter(st, "invariant", 2.0, NW_GB_ITERATION_INVARIANT, 0);
	nw_gb_counter(st, "inverted", 4.0, NW_GB_INVERT, 0);
	nw_gb_counter(st, "rate", 1.0, NW_GB_RATE, 1024);
	nw_gb_set_items_processed(st, nw_gb_state_iterations(st) * 4);
	nw_gb_set_bytes_processed(st, nw_gb_state_iterations(st) * (int64_t)sizeof(buf));
	nw_gb_set_label(st, "a label");
}

static void bm_skip(struct nw_gb_state *st, void *user)
{
	nw_gb_skip_with_error(st, "skipped on purpose");
	assert_true(nw_gb_error_occurred(st));
	while (nw_gb_keep_running(st))
		fail_msg("the loop must not run after a skip");
}

static void bm_manual(struct nw_gb_state *st, void *user)
{
	while (nw_gb_keep_running(st))
		nw_gb_set_iteration_time(st, 0.001);
}

static double num(json_t *b, const char *key)
{
	json_t *v = json_object_get(b, key);

	assert_true(json_is_number(v));
	return json_number_value(v);
}

static void test_shim_through_json(void **state)
{
	char out[] = "/tmp/nw_gbench_XXXXXX", flag[64];
	int fd = mkstemp(out);
	char *argv[] = {"test_gbench", flag, "--benchmark_out_format=json",
			"--benchmark_min_time=0.001", "--benchmark_filter=^shim/",
			"--no_such_flag", NULL};
	int argc = 6;
	const int64_t lohi[] = {1, 2, 10, 20};
	json_error_t jerr;
	json_t *root, *b;
	size_t n;

	assert_true(fd >= 0);
	close(fd);
	snprintf(flag, sizeof(flag), "--benchmark_out=%s", out);

	nw_gb_ranges(nw_gb_range_multiplier(nw_gb_register("shim/args", bm_args, &user_token),
					    2),
		     lohi, 2);
	nw_gb_unit(nw_gb_register("shim/counters", bm_counters, NULL), NW_GB_US);
	nw_gb_register("shim/skip", bm_skip, NULL);
	nw_gb_iterations(nw_gb_use_manual_time(nw_gb_register("shim/manual", bm_manual, NULL)),
			 5);
	nw_gb_arg(nw_gb_arg_name(nw_gb_register("shim/named", bm_one_arg, NULL), "x"), 7);
	assert_null(nw_gb_arg(NULL, 1)); /* a failed registration chains to NULL */
	nw_gb_add_custom_context("shim.key", "shim value");

	nw_gb_initialize(&argc, argv, NULL);
	/* Google Benchmark took its flags and left the unknown one. */
	assert_int_equal(argc, 2);
	assert_string_equal(argv[1], "--no_such_flag");
	assert_true(nw_gb_report_unrecognized_arguments(argc, argv));
	n = nw_gb_run();
	nw_gb_shutdown();
	assert_true(n >= 5);

	root = json_load_file(out, 0, &jerr);
	unlink(out);
	assert_non_null(root);
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(root, "context"), "shim.key")),
			    "shim value");

	/* Ranges with multiplier 2: {1, 2} x {10, 16, 20}. */
	b = bench_named(root, "shim/args/2/16");
	assert_non_null(b);
	assert_true(num(b, "a") == 2 && num(b, "b") == 16);
	assert_non_null(bench_named(root, "shim/args/1/10"));
	assert_non_null(bench_named(root, "shim/args/2/20"));
	b = bench_named(root, "shim/named/x:7");
	assert_non_null(b);
	assert_true(num(b, "a") == 7);

	b = bench_named(root, "shim/counters");
	assert_non_null(b);
	assert_string_equal(json_string_value(json_object_get(b, "time_unit")), "us");
	assert_string_equal(json_string_value(json_object_get(b, "label")), "a label");
	assert_true((int64_t)num(b, "iterations") % 8 == 0);
	assert_true(fabs(num(b, "per_iter") - 10.0) < 1e-9);
	assert_true(num(b, "constant") == 3.0);
	assert_true(num(b, "invariant") == 2.0 * num(b, "iterations"));
	assert_true(fabs(num(b, "inverted") - 0.25) < 1e-12);
	/* A rate is divided by the run's seconds: more than the value itself. */
	assert_true(num(b, "rate") > 1.0);
	assert_true(num(b, "items_per_second") > 0);
	assert_true(num(b, "bytes_per_second") > num(b, "items_per_second"));
	assert_true(paused_calls > 0);

	b = bench_named(root, "shim/skip");
	assert_non_null(b);
	assert_true(json_is_true(json_object_get(b, "error_occurred")));
	assert_string_equal(json_string_value(json_object_get(b, "error_message")),
			    "skipped on purpose");

	b = bench_named(root, "shim/manual/iterations:5/manual_time");
	assert_non_null(b);
	assert_true(num(b, "iterations") == 5);
	assert_true(fabs(num(b, "real_time") - 1e6) < 1); /* 1 ms in ns */
	json_decref(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shim_through_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
