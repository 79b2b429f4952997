/*
 * hugetlb.c - reserve hugetlb pages for a run and always give them back.
 *
 * Raising nr_hugepages takes memory from everyone else on the machine until
 * it is lowered again, so a reservation is written back at nw_hugetlb_restore,
 * at exit and on SIGINT, SIGTERM and SIGHUP. The record of what to write is
 * made before the value is raised, and restoring uses only open/write/close,
 * so a signal at any point leaves the old value in place.
 */
#define _GNU_SOURCE
#include "hw_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NW_HUGETLB_SIZES 2 /* 2 MiB and 1 GiB */

/* One reservation per page size, readable from a signal handler. */
struct resv {
	volatile sig_atomic_t active;
	size_t page_size;
	char path[256];   /* .../nr_hugepages */
	char old[32];     /* its value before, with the newline */
	size_t old_len;
};

static struct resv resv[NW_HUGETLB_SIZES];
static char hugetlb_dir[200] = "/sys/kernel/mm/hugepages";
static bool handlers_installed;
static const int restore_signals[] = {SIGINT, SIGTERM, SIGHUP};
static struct sigaction old_action[sizeof(restore_signals) / sizeof(int)];

/* ---- private prototypes ---- */
static struct resv *resv_for(size_t page_size);
static void size_path(char *buf, size_t n, size_t page_size, const char *file);
static int read_u64(const char *path, uint64_t *v);
static int write_u64(const char *path, uint64_t v);
static void install_handlers(void);
static void on_signal(int sig);

void nw_hugetlb_set_dir(const char *dir)
{
	snprintf(hugetlb_dir, sizeof(hugetlb_dir), "%s",
		 dir ? dir : "/sys/kernel/mm/hugepages");
}

int nw_hugetlb_reserve(size_t page_size, size_t npages, char *why, size_t n)
{
	struct resv *r = resv_for(page_size);
	char nr_path[256], free_path[256];
	uint64_t nr = 0, nfree = 0, now = 0;
	int err;

	if (!r) {
		nw_why(why, n, "no hugetlb page size of %zu bytes", page_size);
		return -EINVAL;
	}
	size_path(nr_path, sizeof(nr_path), page_size, "nr_hugepages");
	size_path(free_path, sizeof(free_path), page_size, "free_hugepages");
	if ((err = read_u64(nr_path, &nr)) || (err = read_u64(free_path, &nfree))) {
		nw_why(why, n, "cannot read %s: %s", err == -ENOENT ? nr_path : free_path,
		       strerror(-err));
		return err;
	}
	if (nfree >= npages)
		return 0;

	/* Record first: from here on, any exit or signal writes the old value
	 * back. A second reservation of the same size keeps the first's. */
	if (!r->active) {
		snprintf(r->path, sizeof(r->path), "%s", nr_path);
		r->old_len = (size_t)snprintf(r->old, sizeof(r->old), "%llu\n",
					      (unsigned long long)nr);
		install_handlers();
		r->active = 1;
	}
	err = write_u64(nr_path, nr + (npages - nfree));
	if (err) {
		nw_hugetlb_restore(page_size);
		nw_why(why, n, "%llu free %zu KiB pages, %zu needed, and writing %s failed: %s%s",
		       (unsigned long long)nfree, page_size >> 10, npages, nr_path,
		       strerror(-err), geteuid() ? " (reserving needs root)" : "");
		return err;
	}
	/* The kernel may grant fewer pages than asked (fragmented memory). */
	if ((err = read_u64(nr_path, &now))) {
		nw_hugetlb_restore(page_size);
		nw_why(why, n, "cannot read back %s: %s", nr_path, strerror(-err));
		return err;
	}
	if (now < nr || nfree + (now - nr) < npages) {
		nw_hugetlb_restore(page_size);
		nw_why(why, n, "asked for %zu free %zu KiB pages, the kernel gave %llu",
		       npages, page_size >> 10,
		       (unsigned long long)(now < nr ? nfree : nfree + now - nr));
		return -ENOMEM;
	}
	return 1;
}

void nw_hugetlb_restore(size_t page_size)
{
	struct resv *r = resv_for(page_size);
	int fd;

	if (!r || !r->active)
		return;
	fd = open(r->path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd >= 0) {
		if (write(fd, r->old, r->old_len) < 0) {
			/* Nothing more to do from a signal handler. */
		}
		close(fd);
	}
	r->active = 0;
}

int64_t nw_hugetlb_free(size_t page_size)
{
	char path[256];
	uint64_t v = 0;
	int err;

	size_path(path, sizeof(path), page_size, "free_hugepages");
	err = read_u64(path, &v);
	return err ? err : (int64_t)v;
}

void nw_hugetlb_restore_all(void)
{
	for (int i = 0; i < NW_HUGETLB_SIZES; i++)
		nw_hugetlb_restore(resv[i].page_size);
}

/* ---- private ---- */

static struct resv *resv_for(size_t page_size)
{
	resv[0].page_size = NW_2M;
	resv[1].page_size = NW_1G;
	for (int i = 0; i < NW_HUGETLB_SIZES; i++)
		if (resv[i].page_size == page_size)
			return &resv[i];
	return NULL;
}

static void size_path(char *buf, size_t n, size_t page_size, const char *file)
{
	snprintf(buf, n, "%s/hugepages-%zukB/%s", hugetlb_dir, page_size >> 10, file);
}

static int read_u64(const char *path, uint64_t *v)
{
	unsigned long long x;
	FILE *f = fopen(path, "re");
	int ok;

	if (!f)
		return -errno;
	ok = fscanf(f, "%llu", &x) == 1;
	fclose(f);
	if (!ok)
		return -EINVAL;
	*v = x;
	return 0;
}

static int write_u64(const char *path, uint64_t v)
{
	char s[32];
	int len = snprintf(s, sizeof(s), "%llu\n", (unsigned long long)v);
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	int err = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, s, (size_t)len) != len)
		err = errno ? -errno : -EIO;
	close(fd);
	return err;
}

static void install_handlers(void)
{
	struct sigaction sa;

	if (handlers_installed)
		return;
	handlers_installed = true;
	atexit(nw_hugetlb_restore_all);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	/* NODEFER: re-raising from the handler takes effect at once. */
	sa.sa_flags = SA_NODEFER;
	for (size_t i = 0; i < sizeof(restore_signals) / sizeof(int); i++) {
		/* A signal the process ignores (SIGINT in a background job)
		 * ends nothing, so it has nothing to restore. */
		sigaction(restore_signals[i], NULL, &old_action[i]);
		if (old_action[i].sa_handler != SIG_IGN)
			sigaction(restore_signals[i], &sa, NULL);
	}
}

/* Restores, then delivers the signal as it would have been without us. */
static void on_signal(int sig)
{
	nw_hugetlb_restore_all();
	for (size_t i = 0; i < sizeof(restore_signals) / sizeof(int); i++)
		if (restore_signals[i] == sig)
			sigaction(sig, &old_action[i], NULL);
	raise(sig);
}
