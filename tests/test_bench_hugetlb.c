/* SPDX-License-Identifier: MIT */
/*
 * hugetlb reservations are given back: explicitly, at exit and when the
 * process is interrupted. Every case runs against a fake
 * hugepages-<kB>kB/{nr,free}_hugepages tree in a temporary directory, so
 * nothing here touches the machine's real pool (docs/ARCHITECTURE.md: nothing
 * in CTest reserves hugetlb pages).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nw_test.h"
#include "hw.h"

#define MB2 ((size_t)2 << 20)
#define GB1 ((size_t)1 << 30)

static char root[64];

static void put_file(size_t page_size, const char *file, unsigned long v)
{
	char p[160];
	FILE *f;

	snprintf(p, sizeof(p), "%s/hugepages-%zukB", root, page_size >> 10);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/hugepages-%zukB/%s", root, page_size >> 10, file);
	f = fopen(p, "w");
	assert_non_null(f);
	fprintf(f, "%lu\n", v);
	fclose(f);
}

static unsigned long get_file(size_t page_size, const char *file)
{
	char p[160];
	unsigned long v = 0;
	FILE *f;

	snprintf(p, sizeof(p), "%s/hugepages-%zukB/%s", root, page_size >> 10, file);
	f = fopen(p, "r");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%lu", &v), 1);
	fclose(f);
	return v;
}

static int setup(void **state)
{
	snprintf(root, sizeof(root), "/tmp/nw_hugetlb_XXXXXX");
	if (!mkdtemp(root))
		return -1;
	put_file(MB2, "nr_hugepages", 3);
	put_file(MB2, "free_hugepages", 1);
	put_file(GB1, "nr_hugepages", 0);
	put_file(GB1, "free_hugepages", 0);
	nw_hugetlb_set_dir(root);
	return 0;
}

static int teardown(void **state)
{
	char cmd[96];

	nw_hugetlb_restore_all();
	nw_hugetlb_set_dir(NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_reserve_and_restore(void **state)
{
	char why[256] = "";

	/* 1 free, 5 wanted: nr goes from 3 to 3 + 4. */
	assert_int_equal(nw_hugetlb_reserve(MB2, 5, why, sizeof(why)), 1);
	assert_int_equal(get_file(MB2, "nr_hugepages"), 7);
	/* A second reservation of the same size keeps the first's old value. */
	put_file(MB2, "free_hugepages", 0);
	assert_int_equal(nw_hugetlb_reserve(MB2, 9, why, sizeof(why)), 1);
	assert_int_equal(get_file(MB2, "nr_hugepages"), 16);
	nw_hugetlb_restore(MB2);
	assert_int_equal(get_file(MB2, "nr_hugepages"), 3);
	/* Restoring twice writes nothing more. */
	put_file(MB2, "nr_hugepages", 42);
	nw_hugetlb_restore(MB2);
	assert_int_equal(get_file(MB2, "nr_hugepages"), 42);
}

static void test_enough_free_changes_nothing(void **state)
{
	char why[256] = "";

	put_file(MB2, "free_hugepages", 8);
	assert_int_equal(nw_hugetlb_reserve(MB2, 8, why, sizeof(why)), 0);
	assert_int_equal(get_file(MB2, "nr_hugepages"), 3);
	assert_int_equal(nw_hugetlb_free(MB2), 8);
}

static void test_bad_size_and_unwritable(void **state)
{
	char why[256] = "", p[160];
	int status;
	pid_t pid;

	assert_int_equal(nw_hugetlb_reserve(4096, 1, why, sizeof(why)), -EINVAL);

	/* Without the right to write nr_hugepages (not root): an error that
	 * says why, and nothing left behind to "restore" later. The child drops
	 * root, since root writes a 0444 file regardless. */
	snprintf(p, sizeof(p), "%s/hugepages-%zukB/nr_hugepages", root, MB2 >> 10);
	assert_int_equal(chmod(p, 0444), 0);
	assert_int_equal(chmod(root, 0755), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (geteuid() == 0 && (setgid(65534) || setuid(65534)))
			_exit(2);
		if (nw_hugetlb_reserve(MB2, 5, why, sizeof(why)) != -EACCES)
			_exit(3);
		if (!strstr(why, "nr_hugepages") || !strstr(why, "needs root"))
			_exit(4);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(get_file(MB2, "nr_hugepages"), 3);
	assert_int_equal(chmod(p, 0644), 0);
}

/*
 * A child reserves 2M and 1G pages, tells the parent, and then waits to be
 * told how to end: by signal, or by exit without restoring.
 */
static pid_t reserving_child(int how, bool ignore_sigint)
{
	int ready[2], go[2];
	pid_t pid;
	char c;

	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(go), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char why[256];

		close(ready[0]);
		close(go[1]);
		if (ignore_sigint)
			signal(SIGINT, SIG_IGN);
		if (nw_hugetlb_reserve(MB2, 10, why, sizeof(why)) != 1 ||
		    nw_hugetlb_reserve(GB1, 2, why, sizeof(why)) != 1)
			_exit(3);
		if (write(ready[1], "r", 1) != 1)
			_exit(4);
		/* Wait for the signal, or for the parent to close go. */
		while (read(go[0], &c, 1) < 0)
			;
		exit(0); /* atexit restores */
	}
	close(ready[1]);
	close(go[0]);
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);
	assert_int_equal(get_file(MB2, "nr_hugepages"), 3 + 9);
	assert_int_equal(get_file(GB1, "nr_hugepages"), 2);
	if (how)
		kill(pid, how);
	close(go[1]);
	return pid;
}

static void check_interrupted(int sig)
{
	int status;
	pid_t pid = reserving_child(sig, false);

	assert_int_equal(waitpid(pid, &status, 0), pid);
	/* The handler restores, then lets the signal kill the process as it
	 * would have: the parent sees death by that signal. */
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), sig);
	assert_int_equal(get_file(MB2, "nr_hugepages"), 3);
	assert_int_equal(get_file(GB1, "nr_hugepages"), 0);
}

static void test_restored_on_sigterm(void **state)
{
	check_interrupted(SIGTERM);
}

static void test_restored_on_sigint(void **state)
{
	check_interrupted(SIGINT);
}

static void test_restored_at_exit(void **state)
{
	int status;
	pid_t pid = reserving_child(0, false);

	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(get_file(MB2, "nr_hugepages"), 3);
	assert_int_equal(get_file(GB1, "nr_hugepages"), 0);
}

/* A process that ignores SIGINT (a background job) is not ended by it, so
 * the reservation stays until it exits, and is restored then. */
static void test_ignored_sigint_keeps_running(void **state)
{
	int status;
	pid_t pid = reserving_child(SIGINT, true);

	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(get_file(MB2, "nr_hugepages"), 3);
	assert_int_equal(get_file(GB1, "nr_hugepages"), 0);
}

/* Negative control: SIGKILL cannot be caught, so the raised values stay. If
 * this ever saw them restored, the checks above would prove nothing. */
static void test_control_sigkill_leaves_reservation(void **state)
{
	int status;
	pid_t pid = reserving_child(SIGKILL, false);

	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(get_file(MB2, "nr_hugepages"), 12);
	assert_int_equal(get_file(GB1, "nr_hugepages"), 2);
}

/* The buffer layer: no reservation when it is off, and a failed hugetlb
 * mapping (the fake pool gives the kernel nothing) restores what it raised. */
static void test_buf_reserves_through_the_fake_tree(void **state)
{
	struct nw_hw_buf b;
	char why[512] = "";
	int err;

	put_file(MB2, "free_hugepages", 0);
	err = nw_hw_buf_map(&b, NW_HW_2M, 4 * MB2, false, why, sizeof(why));
	assert_int_equal(err, -ENOMEM);
	assert_non_null(strstr(why, "reserving is off"));
	assert_int_equal(get_file(MB2, "nr_hugepages"), 3);

	err = nw_hw_buf_map(&b, NW_HW_2M, 4 * MB2, true, why, sizeof(why));
	if (err == 0) {
		/* The real pool had 4 free pages of its own: fine, but the fake
		 * value was raised for it and goes back with the buffer. */
		assert_int_equal(get_file(MB2, "nr_hugepages"), 7);
		nw_hw_buf_unmap(&b);
	}
	assert_int_equal(get_file(MB2, "nr_hugepages"), 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reserve_and_restore, setup, teardown),
		cmocka_unit_test_setup_teardown(test_enough_free_changes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_size_and_unwritable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restored_on_sigterm, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restored_on_sigint, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restored_at_exit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ignored_sigint_keeps_running, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_control_sigkill_leaves_reservation, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_buf_reserves_through_the_fake_tree, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
