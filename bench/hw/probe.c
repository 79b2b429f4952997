/*
 * probe.c - one page kind at one working set: map, build, warm, sample.
 */
#include "hw_internal.h"

#include <errno.h>
#include <string.h>

#define NW_DEFAULT_MIN_LOADS 16384u

/* Leaves the chase where it stopped, so the loads cannot be optimised out
 * and the next sample goes on from there. */
static void *follow(struct nw_hw_probe *p, uint64_t n)
{
	void *q = nw_chase_follow(p->p, n);

	__asm__ __volatile__("" : "+r"(q));
	return q;
}

int nw_hw_probe_open(struct nw_hw_probe *p, enum nw_hw_kind kind, size_t ws,
		     const struct nw_hw_probe_opts *o, char *why, size_t n)
{
	struct nw_hw_probe_opts def = {0};
	uint64_t min_loads;
	int err;

	memset(p, 0, sizeof(*p));
	if (!o)
		o = &def;
	if ((err = nw_hw_buf_map(&p->buf, kind, ws, o->may_reserve, why, n)))
		return err;
	err = nw_chase_build(&p->chase, p->buf.base, ws, o->lines, o->seed);
	if (err) {
		nw_why(why, n, "building the chain: %s", strerror(-err));
		nw_hw_buf_unmap(&p->buf);
		return err;
	}
	p->thp_fraction = nw_hw_thp_fraction(&p->buf);
	if (p->thp_fraction < 0)
		p->thp_fraction = -1;
	/* Short samples: after the warm-up pass below, any stretch of the
	 * random cycle misses as often as the whole, and on a shared machine
	 * (or a VM's) the best of many short samples is the one nothing
	 * preempted. */
	min_loads = o->min_loads ? o->min_loads : NW_DEFAULT_MIN_LOADS;
	p->loads = (min_loads + NW_CHASE_UNROLL - 1) / NW_CHASE_UNROLL * NW_CHASE_UNROLL;
	p->p = p->chase.start;
	p->best_ns = 0;
	p->p = follow(p, (p->chase.nodes + NW_CHASE_UNROLL - 1) / NW_CHASE_UNROLL *
				 NW_CHASE_UNROLL);
	return 0;
}

double nw_hw_probe_sample(struct nw_hw_probe *p)
{
	uint64_t t0 = nw_hw_now_ns(), t1;
	double ns;

	p->p = follow(p, p->loads);
	t1 = nw_hw_now_ns();
	ns = (double)(t1 - t0) / (double)p->loads;
	if (p->samples++ == 0 || ns < p->best_ns)
		p->best_ns = ns;
	return ns;
}

void nw_hw_probe_close(struct nw_hw_probe *p)
{
	nw_hw_buf_unmap(&p->buf);
	memset(p, 0, sizeof(*p));
}
