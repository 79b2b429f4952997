/*
 * perf.c - perf_event counter groups, with the walk events named per CPU
 * through libpfm4 (shared FACTS §7).
 *
 * A counter that cannot be opened stays in the group as a record of why:
 * fd -1, a reason, and never a value. Reporting it as 0 would claim the CPU
 * did no walks; on a machine without a PMU (most VMs) it simply could not
 * count them.
 */
#define _GNU_SOURCE
#include "hw_internal.h"

#include <errno.h>
#include <perfmon/pfmlib_perf_event.h>
#include <stdbool.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The events for each walk counter, tried in order: Intel (Skylake and
 * later, then Haswell and Broadwell names), then AMD Zen. */
static const char *const walk_events[NW_PERF_NWALK][3] = {
	[NW_PERF_DTLB_WALKS] = {
		"DTLB_LOAD_MISSES:WALK_COMPLETED",
		"L1_DTLB_MISS:TLB_RELOAD_4K_L2_MISS:TLB_RELOAD_2M_L2_MISS:"
		"TLB_RELOAD_1G_L2_MISS:TLB_RELOAD_COALESCED_PAGE_MISS",
	},
	[NW_PERF_WALK_CYCLES] = {
		"DTLB_LOAD_MISSES:WALK_PENDING",
		"DTLB_LOAD_MISSES:WALK_DURATION",
	},
	[NW_PERF_EPT_WALK_CYCLES] = {
		"EPT:WALK_PENDING",
		"EPT:WALK_CYCLES",
	},
};

static const char *const walk_names[NW_PERF_NWALK] = {
	"dtlb_walks", "walk_cycles", "ept_walk_cycles",
};

#define GENERIC_DTLB_DESC "generic dTLB-load-misses (PERF_TYPE_HW_CACHE)"

/* ---- private prototypes ---- */
static int pfm_ready(char *why, size_t n);
static const char *core_pmu_name(void);
static void add_unavailable(struct nw_perf_group *g, const char *name,
			    const char *event, const char *reason);
static const char *open_hint(int err);
static void append(char *dst, size_t n, const char *src);

void nw_perf_group_init(struct nw_perf_group *g)
{
	memset(g, 0, sizeof(*g));
	g->leader_fd = -1;
}

int nw_perf_group_add(struct nw_perf_group *g, const char *name,
		      const struct perf_event_attr *attr, const char *event)
{
	struct perf_event_attr a = *attr;
	struct nw_perf_counter *c;
	int fd;

	if (g->n == NW_PERF_MAX)
		return -ENOSPC;
	c = &g->c[g->n++];
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	snprintf(c->name, sizeof(c->name), "%s", name);
	snprintf(c->event, sizeof(c->event), "%s", event);

	a.size = sizeof(a);
	/* Only the leader starts disabled: the others follow it. */
	a.disabled = g->leader_fd < 0;
	a.read_format = PERF_FORMAT_GROUP | PERF_FORMAT_ID |
			PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING;
	fd = (int)syscall(SYS_perf_event_open, &a, 0, -1, g->leader_fd, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0) {
		int err = errno;

		snprintf(c->reason, sizeof(c->reason), "perf_event_open(%s): %s%s", event,
			 strerror(err), open_hint(err));
		return -err;
	}
	if (ioctl(fd, PERF_EVENT_IOC_ID, &c->id) < 0) {
		int err = errno;

		close(fd);
		snprintf(c->reason, sizeof(c->reason), "PERF_EVENT_IOC_ID(%s): %s", event,
			 strerror(err));
		return -err;
	}
	c->fd = fd;
	if (g->leader_fd < 0)
		g->leader_fd = fd;
	return 0;
}

int nw_perf_encode(const char *event, struct perf_event_attr *attr, char *desc,
		   size_t n, char *why, size_t whylen)
{
	pfm_perf_encode_arg_t arg;
	pfm_event_info_t ei;
	pfm_pmu_info_t pi;
	int rc;

	if ((rc = pfm_ready(why, whylen)))
		return rc;
	memset(attr, 0, sizeof(*attr));
	memset(&arg, 0, sizeof(arg));
	arg.attr = attr;
	arg.size = sizeof(arg);
	rc = pfm_get_os_event_encoding(event, PFM_PLM3, PFM_OS_PERF_EVENT, &arg);
	if (rc != PFM_SUCCESS) {
		nw_why(why, whylen, "libpfm4 cannot encode %s: %s", event, pfm_strerror(rc));
		return rc == PFM_ERR_NOTFOUND ? -ENOENT : -EINVAL;
	}
	attr->size = sizeof(*attr);
	memset(&ei, 0, sizeof(ei));
	memset(&pi, 0, sizeof(pi));
	ei.size = sizeof(ei);
	pi.size = sizeof(pi);
	if (strstr(event, "::") || pfm_get_event_info(arg.idx, PFM_OS_NONE, &ei) ||
	    pfm_get_pmu_info(ei.pmu, &pi))
		nw_why(desc, n, "%s", event);
	else
		nw_why(desc, n, "%s::%s", pi.name, event);
	return 0;
}

int nw_perf_walk_encode(enum nw_perf_walk w, struct perf_event_attr *attr, char *desc,
			size_t n, char *why, size_t whylen)
{
	const char *pmu;

	if ((unsigned)w >= NW_PERF_NWALK)
		return -EINVAL;
	for (int i = 0; i < 3 && walk_events[w][i]; i++)
		if (nw_perf_encode(walk_events[w][i], attr, desc, n, NULL, 0) == 0)
			return 0;
	pmu = core_pmu_name();
	nw_why(why, whylen, "libpfm4 names no %s event for %s", walk_names[w],
	       pmu ? pmu : "this CPU (no core PMU model detected)");
	return -ENOENT;
}

void nw_perf_group_add_walk(struct nw_perf_group *g, const char *const event[NW_PERF_NWALK])
{
	for (int w = 0; w < NW_PERF_NWALK; w++) {
		struct perf_event_attr attr;
		char desc[160], why[512] = "";
		int err;

		if (g->n == NW_PERF_MAX)
			return;
		if (event && event[w])
			err = nw_perf_encode(event[w], &attr, desc, sizeof(desc), why,
					     sizeof(why));
		else
			err = nw_perf_walk_encode(w, &attr, desc, sizeof(desc), why,
						  sizeof(why));
		if (err == 0) {
			if (nw_perf_group_add(g, walk_names[w], &attr, desc) == 0)
				continue;
			/* Keep the reason; a fallback may still open. */
			snprintf(why, sizeof(why), "%s", g->c[--g->n].reason);
		}
		if (w == NW_PERF_DTLB_WALKS && !(event && event[w])) {
			struct perf_event_attr gen;

			memset(&gen, 0, sizeof(gen));
			gen.type = PERF_TYPE_HW_CACHE;
			gen.config = PERF_COUNT_HW_CACHE_DTLB |
				     (PERF_COUNT_HW_CACHE_OP_READ << 8) |
				     (PERF_COUNT_HW_CACHE_RESULT_MISS << 16);
			gen.exclude_kernel = 1;
			gen.exclude_hv = 1;
			if (nw_perf_group_add(g, walk_names[w], &gen, GENERIC_DTLB_DESC) == 0)
				continue;
			struct nw_perf_counter *c = &g->c[g->n - 1];
			char fallback[sizeof(c->reason)];

			memcpy(fallback, c->reason, sizeof(fallback));
			c->reason[0] = 0;
			append(c->reason, sizeof(c->reason), why);
			append(c->reason, sizeof(c->reason), "; fallback ");
			append(c->reason, sizeof(c->reason), fallback);
			continue;
		}
		add_unavailable(g, walk_names[w], err ? "" : desc, why);
	}
}

const char *nw_perf_walk_name(enum nw_perf_walk w)
{
	return (unsigned)w < NW_PERF_NWALK ? walk_names[w] : "?";
}

int nw_perf_group_reset(struct nw_perf_group *g)
{
	int err = g->leader_fd < 0 ? 0
		  : ioctl(g->leader_fd, PERF_EVENT_IOC_RESET, PERF_IOC_FLAG_GROUP) < 0 ? -errno
											: 0;

	/* Times run on through a reset: remember where this interval starts. */
	if (!err && g->leader_fd >= 0) {
		uint64_t buf[3 + 2 * NW_PERF_MAX];

		if (read(g->leader_fd, buf, sizeof(buf)) >= (ssize_t)(3 * sizeof(uint64_t))) {
			g->enabled0 = buf[1];
			g->running0 = buf[2];
		}
	}
	return err;
}

/*
 * Enabling and disabling toggle the leader alone: the members, opened
 * enabled, are scheduled with it. Toggling them too (PERF_IOC_FLAG_GROUP)
 * left them stopped after the first disable on Linux 6.18 (test_bench_perf
 * caught task-clock reading 0 in every later interval).
 */
int nw_perf_group_enable(struct nw_perf_group *g)
{
	if (g->leader_fd < 0)
		return 0;
	return ioctl(g->leader_fd, PERF_EVENT_IOC_ENABLE, 0) < 0 ? -errno : 0;
}

int nw_perf_group_disable(struct nw_perf_group *g)
{
	if (g->leader_fd < 0)
		return 0;
	return ioctl(g->leader_fd, PERF_EVENT_IOC_DISABLE, 0) < 0 ? -errno : 0;
}

int nw_perf_group_read(struct nw_perf_group *g)
{
	/* PERF_FORMAT_GROUP: nr, time_enabled, time_running, {value, id}[nr] */
	uint64_t buf[3 + 2 * NW_PERF_MAX];
	uint64_t enabled, running;
	ssize_t got;

	for (int i = 0; i < g->n; i++)
		g->c[i].valid = false;
	if (g->leader_fd < 0)
		return 0;
	got = read(g->leader_fd, buf, sizeof(buf));
	if (got < (ssize_t)(3 * sizeof(uint64_t)))
		return got < 0 ? -errno : -EIO;
	enabled = buf[1] - g->enabled0;
	running = buf[2] - g->running0;
	/* A group never scheduled (all of it multiplexed out) counted nothing
	 * that can be told from zero. */
	if (running == 0)
		return 0;
	for (uint64_t k = 0; k < buf[0] && 3 + 2 * k + 1 < sizeof(buf) / sizeof(buf[0]); k++) {
		uint64_t v = buf[3 + 2 * k], id = buf[4 + 2 * k];

		for (int i = 0; i < g->n; i++) {
			struct nw_perf_counter *c = &g->c[i];

			if (c->fd < 0 || c->id != id)
				continue;
			c->value = running < enabled
					   ? (uint64_t)((double)v * (double)enabled / (double)running)
					   : v;
			c->valid = true;
		}
	}
	return 0;
}

void nw_perf_group_close(struct nw_perf_group *g)
{
	/* Members first: closing the leader first would orphan them. */
	for (int i = g->n - 1; i >= 0; i--)
		if (g->c[i].fd >= 0)
			close(g->c[i].fd);
	nw_perf_group_init(g);
}

/* ---- private ---- */

static int pfm_ready(char *why, size_t n)
{
	static int rc = -1;

	if (rc == -1)
		rc = pfm_initialize();
	if (rc != PFM_SUCCESS) {
		nw_why(why, n, "libpfm4 did not initialise: %s", pfm_strerror(rc));
		return -ENODEV;
	}
	return 0;
}

/* The core PMU model libpfm4 detected (or was forced to), if any. */
static const char *core_pmu_name(void)
{
	static char name[64];
	pfm_pmu_info_t pi;
	int i;

	if (pfm_ready(NULL, 0))
		return NULL;
	pfm_for_all_pmus(i) {
		memset(&pi, 0, sizeof(pi));
		pi.size = sizeof(pi);
		if (pfm_get_pmu_info(i, &pi) == PFM_SUCCESS && pi.is_present &&
		    pi.type == PFM_PMU_TYPE_CORE) {
			snprintf(name, sizeof(name), "%s", pi.name);
			return name;
		}
	}
	return NULL;
}

static void add_unavailable(struct nw_perf_group *g, const char *name,
			    const char *event, const char *reason)
{
	struct nw_perf_counter *c;

	if (g->n == NW_PERF_MAX)
		return;
	c = &g->c[g->n++];
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	snprintf(c->name, sizeof(c->name), "%s", name);
	snprintf(c->event, sizeof(c->event), "%s", event);
	snprintf(c->reason, sizeof(c->reason), "%s", reason);
}

static const char *open_hint(int err)
{
	switch (err) {
	case ENOENT:
	case EOPNOTSUPP:
		return " (no such counter here: no hardware PMU, as in most VMs?)";
	case EACCES:
	case EPERM:
		return " (not allowed: see /proc/sys/kernel/perf_event_paranoid)";
	case ENOSYS:
		return " (kernel without perf_event)";
	default:
		return "";
	}
}

/* strlcat: appends what fits, always terminated. */
static void append(char *dst, size_t n, const char *src)
{
	size_t len = strnlen(dst, n), add = strlen(src);

	if (len + 1 >= n)
		return;
	if (add > n - len - 1)
		add = n - len - 1;
	memcpy(dst + len, src, add);
	dst[len + add] = 0;
}
