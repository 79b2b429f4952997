/* SPDX-License-Identifier: MIT */
/*
 * The memory workloads: seq, random, chase and zipf. Each is one process
 * whose threads run on every vCPU over one shared region of `ws` bytes,
 * seen as slots of one 8-byte word every `stride` bytes:
 *
 *   1. vCPU 0 spawns the process and maps the region; the others join it;
 *   2. warm-up: each thread writes its slice of the slots (real data only);
 *   3. the measured phase: the workload's operations, ops / vCPUs each;
 *   4. vCPU 0 exits the process.
 *
 * With real data, every load is checked against a host-side mirror of what
 * was stored (workload.mismatches) as well as checksummed. With
 * translation-only data the slots hold nothing meaningful, so warm-up is
 * skipped and the chase follows its cycle host-side.
 */

#include <errno.h>
#include <stdlib.h>

#include "workload_internal.h"

struct memkind {
	/* The word slot i holds after warm-up. */
	uint64_t (*init_value)(const struct wl_run *r, uint64_t i);
	/* Operations of this thread's measured phase. */
	uint64_t (*nops)(const struct wl_thread *t);
	/* One operation of the measured phase. */
	int (*op)(struct wl_thread *t, uint64_t i);
	/* The parameter op reads on every call (NULL: none), looked up once. */
	const char *op_key;
};

struct memwl {
	const struct memkind *kind;
	int pid;
	uint64_t base, len;      /* the mapping */
	uint64_t stride, nslots;
	struct wl_mirror mirror; /* real data: every slot's word */
	struct wl_perm perm;     /* chase: the cycle's order; zipf: key scrambling */
	struct wl_zipf zipf;
	uint64_t op_param;       /* the value of kind->op_key */
};

/* ---- private prototypes ---- */
static int mem_init(struct wl_run *r, const struct memkind *kind);
static int mem_step(struct wl_thread *t);
static void mem_fini(struct wl_run *r);
static uint64_t mem_footprint(const struct wl_run *r);

static struct memwl *M(const struct wl_run *r)
{
	return r->priv;
}

static uint64_t slot_addr(const struct memwl *m, uint64_t i)
{
	return m->base + i * m->stride;
}

static uint64_t slice_lo(const struct wl_thread *t)
{
	return M(t->run)->nslots * t->id / t->run->nthreads;
}

static uint64_t slice_hi(const struct wl_thread *t)
{
	return M(t->run)->nslots * (t->id + 1) / t->run->nthreads;
}

/* Load slot i and check it against the mirror. */
static int load_slot(struct wl_thread *t, uint64_t i, uint64_t *val)
{
	struct memwl *m = M(t->run);
	int rc = wl_load(t, slot_addr(m, i), val);

	if (rc == 0 && m->mirror.w)
		wl_expect(t, *val, m->mirror.w[i]);
	return rc;
}

static int store_slot(struct wl_thread *t, uint64_t i, uint64_t val)
{
	struct memwl *m = M(t->run);
	int rc = wl_store(t, slot_addr(m, i), val);

	if (rc == 0 && m->mirror.w)
		m->mirror.w[i] = val;
	return rc;
}

static int mem_init(struct wl_run *r, const struct memkind *kind)
{
	struct memwl *m = calloc(1, sizeof(*m));
	uint64_t ws = wl_param(r, "ws");

	if (!m)
		return -ENOMEM;
	m->kind = kind;
	m->op_param = kind->op_key ? wl_param(r, kind->op_key) : 0;
	m->stride = wl_param(r, "stride");
	m->len = wl_page_round(r, ws);
	m->nslots = ws / m->stride;
	r->priv = m;
	if (m->stride % 8)
		return wl_bad(r, -EINVAL, "stride=%llu is not a multiple of 8",
			      (unsigned long long)m->stride);
	if (m->nslots < r->nthreads)
		return wl_bad(r, -EINVAL, "ws=%llu holds fewer than one word of stride %llu per vCPU",
			      (unsigned long long)ws, (unsigned long long)m->stride);
	wl_perm_init(&m->perm, m->nslots, r->seed ^ 0x6368617365ull);
	if (r->real && wl_mirror_init(&m->mirror, m->nslots) < 0)
		return -ENOMEM;
	return 0;
}

static void mem_fini(struct wl_run *r)
{
	struct memwl *m = r->priv;

	if (m)
		wl_mirror_fini(&m->mirror);
	free(m);
	r->priv = NULL;
}

static uint64_t mem_footprint(const struct wl_run *r)
{
	return wl_page_round(r, wl_param(r, "ws"));
}

static uint64_t mem_total_ops(const struct wl_run *r)
{
	uint64_t ws = wl_param(r, "ws"), stride = wl_param(r, "stride");
	uint64_t ops = r->real ? ws / stride : 0;

	if (r->def == &wl_def_seq)
		return ops * (1 + wl_param(r, "passes"));
	return ops + wl_param(r, "ops");
}

static int mem_step(struct wl_thread *t)
{
	struct wl_run *r = t->run;
	struct memwl *m = r->priv;

	WL_BEGIN(t);
	if (t->id == 0) {
		WL_TRY(wl_spawn(t, &m->pid));
		WL_YIELD(t);
		WL_TRY(wl_switch(t, m->pid));
		WL_YIELD(t);
		WL_TRY(wl_mmap(t, m->len, &m->base));
		WL_YIELD(t);
	}
	WL_BARRIER(t, WL_EV_NONE);
	if (t->id != 0) {
		WL_TRY(wl_switch(t, m->pid));
		WL_YIELD(t);
	}
	if (r->real) {
		for (t->i = slice_lo(t); t->i < slice_hi(t); t->i++) {
			WL_TRY(store_slot(t, t->i, m->kind->init_value(r, t->i)));
			WL_YIELD(t);
		}
	}
	WL_BARRIER(t, WL_EV_START);
	t->n = m->kind->nops(t);
	for (t->i = 0; t->i < t->n; t->i++) {
		WL_TRY(m->kind->op(t, t->i));
		WL_YIELD(t);
	}
	WL_BARRIER(t, WL_EV_STOP);
	if (t->id == 0) {
		WL_TRY(wl_exit(t));
		WL_YIELD(t);
	}
	WL_END(t);
}

static uint64_t plain_value(const struct wl_run *r, uint64_t i)
{
	return wl_value(r->seed, i, 0);
}

static uint64_t ops_share(const struct wl_thread *t)
{
	return wl_share(t, wl_param(t->run, "ops"));
}

/* ---- seq: passes over this thread's slice, read-modify-write ---- */

static uint64_t seq_nops(const struct wl_thread *t)
{
	return (slice_hi(t) - slice_lo(t)) * wl_param(t->run, "passes");
}

static int seq_op(struct wl_thread *t, uint64_t i)
{
	uint64_t len = slice_hi(t) - slice_lo(t), slot = slice_lo(t) + i % len, x;

	WL_TRY(load_slot(t, slot, &x));
	if (M(t->run)->op_param) /* write */
		WL_TRY(store_slot(t, slot, wl_mix(x + i / len) | 1));
	return 0;
}

static const struct memkind seq_kind = { plain_value, seq_nops, seq_op, "write" };

static int seq_init(struct wl_run *r)
{
	return mem_init(r, &seq_kind);
}

static const struct wl_key seq_keys[] = {
	{ "ws", WL_SIZE, 16ull << 20, 4096, 1ull << 40, "working set" },
	{ "passes", WL_COUNT, 4, 1, 1ull << 20, "sweeps over the working set" },
	{ "stride", WL_SIZE, 64, 8, 1ull << 30, "bytes between the words touched (a multiple of 8)" },
	{ "write", WL_BOOL, 1, 0, 1, "write each word back (read-modify-write)" },
	{ "huge", WL_BOOL, 0, 0, 1, "2 MiB guest pages (default: --guest-pages)" },
	{ NULL },
};

const struct wl_def wl_def_seq = {
	.name = "seq",
	.help = "stream: sweep the working set in order, each vCPU its slice",
	.keys = seq_keys,
	.footprint = mem_footprint,
	.total_ops = mem_total_ops,
	.init = seq_init,
	.step = mem_step,
	.fini = mem_fini,
};

/* ---- random: GUPS, read-xor-write of random words ---- */

static int random_op(struct wl_thread *t, uint64_t i)
{
	struct memwl *m = M(t->run);
	uint64_t slot = wl_below(&t->rng, m->nslots), x, key = wl_rand(&t->rng);

	WL_TRY(load_slot(t, slot, &x));
	if (m->op_param) /* update */
		WL_TRY(store_slot(t, slot, x ^ key));
	return 0;
}

static const struct memkind random_kind = { plain_value, ops_share, random_op, "update" };

static int random_init(struct wl_run *r)
{
	return mem_init(r, &random_kind);
}

static const struct wl_key random_keys[] = {
	{ "ws", WL_SIZE, 16ull << 20, 4096, 1ull << 40, "working set (the table)" },
	{ "ops", WL_COUNT, 200000, 1, 1ull << 40, "updates, over all vCPUs" },
	{ "stride", WL_SIZE, 64, 8, 1ull << 30, "bytes between table words (a multiple of 8)" },
	{ "update", WL_BOOL, 1, 0, 1, "write each word back (GUPS); 0: loads only" },
	{ "huge", WL_BOOL, 0, 0, 1, "2 MiB guest pages (default: --guest-pages)" },
	{ NULL },
};

const struct wl_def wl_def_random = {
	.name = "random",
	.help = "GUPS-like: read-xor-write of uniformly random words",
	.keys = random_keys,
	.footprint = mem_footprint,
	.total_ops = mem_total_ops,
	.init = random_init,
	.step = mem_step,
	.fini = mem_fini,
};

/* ---- chase: follow pointers round one random cycle through every slot ---- */

/* The cycle visits slots perm(0), perm(1), ..., perm(n-1), perm(0). */
static uint64_t chase_next(const struct memwl *m, uint64_t slot)
{
	uint64_t j = wl_perm_inv(&m->perm, slot) + 1;

	return wl_perm_fwd(&m->perm, j == m->nslots ? 0 : j);
}

static uint64_t chase_value(const struct wl_run *r, uint64_t i)
{
	const struct memwl *m = M(r);

	return slot_addr(m, chase_next(m, i));
}

static int chase_op(struct wl_thread *t, uint64_t i)
{
	struct memwl *m = M(t->run);
	uint64_t p;

	if (i == 0) /* thread t starts a t/n of the way round the cycle */
		t->addr = wl_perm_fwd(&m->perm, m->nslots * t->id / t->run->nthreads);
	WL_TRY(load_slot(t, t->addr, &p));
	if (!t->run->real)
		t->addr = chase_next(m, t->addr);
	else if (p >= m->base && p - m->base < m->nslots * m->stride && !((p - m->base) % m->stride))
		t->addr = (p - m->base) / m->stride;
	else /* a wrong translation read garbage: keep going, inside the region */
		t->addr = wl_mix(p) % m->nslots;
	return 0;
}

static const struct memkind chase_kind = { chase_value, ops_share, chase_op, NULL };

static int chase_init(struct wl_run *r)
{
	return mem_init(r, &chase_kind);
}

static const struct wl_key chase_keys[] = {
	{ "ws", WL_SIZE, 16ull << 20, 4096, 1ull << 40, "working set" },
	{ "ops", WL_COUNT, 200000, 1, 1ull << 40, "pointers followed, over all vCPUs" },
	{ "stride", WL_SIZE, 64, 8, 1ull << 30, "bytes per node (a multiple of 8)" },
	{ "huge", WL_BOOL, 0, 0, 1, "2 MiB guest pages (default: --guest-pages)" },
	{ NULL },
};

const struct wl_def wl_def_chase = {
	.name = "chase",
	.help = "pointer chase round a random cyclic permutation written into guest memory",
	.keys = chase_keys,
	.footprint = mem_footprint,
	.total_ops = mem_total_ops,
	.init = chase_init,
	.step = mem_step,
	.fini = mem_fini,
};

/* ---- zipf: a key-value store with Zipf-skewed keys ---- */

static int zipf_op(struct wl_thread *t, uint64_t i)
{
	struct memwl *m = M(t->run);
	uint64_t key = wl_zipf_next(&m->zipf, &t->rng) - 1;
	uint64_t slot = wl_perm_fwd(&m->perm, key), x;
	bool put = wl_below(&t->rng, 100) < m->op_param; /* writes */

	WL_TRY(load_slot(t, slot, &x));
	if (put)
		WL_TRY(store_slot(t, slot, wl_value(t->run->seed, slot, ((uint64_t)t->id << 48) + i + 1)));
	return 0;
}

static const struct memkind zipf_kind = { plain_value, ops_share, zipf_op, "writes" };

static int zipf_init(struct wl_run *r)
{
	int rc = mem_init(r, &zipf_kind);

	if (rc == 0)
		wl_zipf_init(&M(r)->zipf, M(r)->nslots, (double)wl_param(r, "theta") / 1000);
	return rc;
}

static const struct wl_key zipf_keys[] = {
	{ "ws", WL_SIZE, 16ull << 20, 4096, 1ull << 40, "working set (the store)" },
	{ "ops", WL_COUNT, 200000, 1, 1ull << 40, "gets and puts, over all vCPUs" },
	{ "stride", WL_SIZE, 64, 8, 1ull << 30, "bytes per item (a multiple of 8)" },
	{ "theta", WL_MILLI, 990, 0, 5000, "Zipf exponent (0: uniform)" },
	{ "writes", WL_PERCENT, 5, 0, 100, "percentage of puts" },
	{ "huge", WL_BOOL, 0, 0, 1, "2 MiB guest pages (default: --guest-pages)" },
	{ NULL },
};

const struct wl_def wl_def_zipf = {
	.name = "zipf",
	.help = "key-value store: gets and puts of Zipf-skewed keys, scrambled over the store",
	.keys = zipf_keys,
	.footprint = mem_footprint,
	.total_ops = mem_total_ops,
	.init = zipf_init,
	.step = mem_step,
	.fini = mem_fini,
};
