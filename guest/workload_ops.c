/* SPDX-License-Identifier: MIT */
/*
 * What a workload step may do: loads and stores of its current process
 * (checksummed, and checked against what it wrote), the guest's system
 * calls, and the barrier that lines the vCPUs up between phases.
 */

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "workload_internal.h"

/* ---- private prototypes ---- */
static int op_error(struct wl_thread *t, int rc, const char *what, uint64_t arg);
static void release(struct wl_sync *s);

static int vfail(char *err, size_t errlen, int rc, const char *prefix, const char *fmt, va_list ap)
{
	if (err && errlen) {
		int n = snprintf(err, errlen, "%s", prefix);
		if (n >= 0 && (size_t)n < errlen)
			vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
	}
	return rc;
}

int wl_errf(char *err, size_t len, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	rc = vfail(err, len, rc, "", fmt, ap);
	va_end(ap);
	return rc;
}

int wl_fail(struct wl_thread *t, int err, const char *fmt, ...)
{
	struct wl_run *r = t->run;
	char prefix[64];
	va_list ap;

	snprintf(prefix, sizeof(prefix), "workload %s, vCPU %u: ", r->def->name, t->id);
	va_start(ap, fmt);
	err = vfail(r->err, r->errlen, err, prefix, fmt, ap);
	va_end(ap);
	return err;
}

int wl_bad(struct wl_run *r, int err, const char *fmt, ...)
{
	char prefix[64];
	va_list ap;

	snprintf(prefix, sizeof(prefix), "workload %s: ", r->def->name);
	va_start(ap, fmt);
	err = vfail(r->err, r->errlen, err, prefix, fmt, ap);
	va_end(ap);
	return err;
}

/*
 * NW_VCPU_SEGV is the workload's own fault: its accesses stay inside what
 * it mapped, so it only happens when a translation went wrong. A negative
 * errno means the VM stopped (host memory exhausted) or the guest ran out.
 */
static int op_error(struct wl_thread *t, int rc, const char *what, uint64_t arg)
{
	int stopped = nw_vm_stopped(t->run->vm);

	if (rc == NW_VCPU_SEGV)
		return wl_fail(t, -EFAULT, "SIGSEGV on a %s at 0x%llx", what, (unsigned long long)arg);
	if (stopped) {
		const char *why = nw_vm_stop_detail(t->run->vm);
		return wl_fail(t, stopped, "%s 0x%llx: the VM stopped (%s%s%s)", what,
			       (unsigned long long)arg, strerror(-stopped), *why ? ": " : "", why);
	}
	if (rc >= 0)
		rc = -EIO;
	return wl_fail(t, rc, "%s 0x%llx failed: %s", what, (unsigned long long)arg, strerror(-rc));
}

int wl_load(struct wl_thread *t, uint64_t gva, uint64_t *val)
{
	int rc = nw_guest_load(t->run->g, t->v, gva, val);

	if (rc)
		return op_error(t, rc, "load", gva);
	t->hash = (t->hash ^ *val) * 0x9e3779b97f4a7c15ull;
	t->hash ^= t->hash >> 32;
	return 0;
}

int wl_store(struct wl_thread *t, uint64_t gva, uint64_t val)
{
	int rc = nw_guest_store(t->run->g, t->v, gva, val);

	return rc ? op_error(t, rc, "store", gva) : 0;
}

void wl_expect(struct wl_thread *t, uint64_t got, uint64_t want)
{
	if (t->run->real && got != want)
		t->run->sync->mismatches++;
}

int wl_spawn(struct wl_thread *t, int *pid)
{
	int rc = nw_guest_spawn(t->run->g, t->v, pid);

	return rc ? op_error(t, rc, "spawn", 0) : 0;
}

int wl_switch(struct wl_thread *t, int pid)
{
	int rc = nw_guest_switch(t->run->g, t->v, pid);

	return rc ? op_error(t, rc, "switch to pid", (uint64_t)pid) : 0;
}

int wl_mmap(struct wl_thread *t, uint64_t len, uint64_t *addr)
{
	int rc = nw_guest_mmap(t->run->g, t->v, len, NW_PROT_RW, t->run->map_flags, addr);

	return rc ? op_error(t, rc, "mmap of length", len) : 0;
}

int wl_munmap(struct wl_thread *t, uint64_t addr, uint64_t len)
{
	int rc = nw_guest_munmap(t->run->g, t->v, addr, len);

	return rc ? op_error(t, rc, "munmap", addr) : 0;
}

int wl_fork(struct wl_thread *t, int *child)
{
	int rc = nw_guest_fork(t->run->g, t->v, child);

	return rc ? op_error(t, rc, "fork of pid", (uint64_t)nw_guest_current(t->run->g, t->v)) : 0;
}

int wl_exit(struct wl_thread *t)
{
	int pid = nw_guest_current(t->run->g, t->v);
	int rc = nw_guest_exit(t->run->g, t->v);

	return rc ? op_error(t, rc, "exit of pid", (uint64_t)pid) : 0;
}

static void release(struct wl_sync *s)
{
	enum wl_event ev = s->pending;

	s->arrived = 0;
	s->pending = WL_EV_NONE;
	s->gen++;
	/* Each event happens once: start from warm-up, stop from measured. */
	if (ev == WL_EV_NONE || s->phase != (ev == WL_EV_START ? 0 : 1))
		return;
	s->phase++;
	if (s->on_event)
		s->on_event(s->on_event_arg, ev);
}

bool wl_barrier(struct wl_thread *t, enum wl_event ev)
{
	struct wl_sync *s = t->run->sync;

	if (!t->waiting) {
		t->waiting = true;
		t->bar_gen = s->gen;
		if (ev != WL_EV_NONE && t->run->measures)
			s->pending = ev;
		if (++s->arrived == s->live)
			release(s);
	}
	if (t->bar_gen == s->gen)
		return false;
	t->waiting = false;
	return true;
}

void wl_thread_finished(struct wl_sync *s)
{
	assert(s->live > 0); /* each thread finishes once */
	s->live--;
	if (s->live && s->arrived == s->live)
		release(s);
}

int wl_mirror_init(struct wl_mirror *m, uint64_t n)
{
	m->n = n;
	m->w = n ? calloc(n, sizeof(*m->w)) : NULL;
	return n && !m->w ? -ENOMEM : 0;
}

void wl_mirror_fini(struct wl_mirror *m)
{
	free(m->w);
	m->w = NULL;
	m->n = 0;
}
