/* SPDX-License-Identifier: MIT */
#ifndef NW_WORKLOAD_INTERNAL_H
#define NW_WORKLOAD_INTERNAL_H

/*
 * The workloads' machinery, private to guest/workload*.c and guest/run*.c.
 *
 * A workload is one program per vCPU, written as a protothread: step()
 * performs at most one operation (a load, a store, or a system call of the
 * guest OS model) and returns, and the runner interleaves the vCPUs
 * round-robin, `quantum` steps each. Loop state lives in the thread, never
 * in locals, since step() returns after every operation:
 *
 *	static int seq_step(struct wl_thread *t)
 *	{
 *		WL_BEGIN(t);
 *		for (t->i = 0; t->i < n; t->i++) {
 *			WL_TRY(wl_store(t, addr(t->i), 1));
 *			WL_YIELD(t);
 *		}
 *		WL_BARRIER(t, WL_EV_NONE);
 *		WL_END(t);
 *	}
 */

#include <nestwalk/mem.h>
#include <nestwalk/workload.h>

/* ---- the protothread ---- */

enum wl_status {
	WL_RUN = 0,   /* one operation done */
	WL_BLOCK = 1, /* waiting at a barrier: nothing done */
	WL_DONE = 2,  /* the program has finished */
};

#define WL_BEGIN(t)       \
	switch ((t)->pc) { \
	case 0:
#define WL_YIELD(t)                 \
	do {                        \
		(t)->pc = __LINE__; \
		return WL_RUN;      \
	case __LINE__:;             \
	} while (0)
/* What else happens when a barrier opens. */
enum wl_event {
	WL_EV_NONE = 0,
	WL_EV_START,  /* the measured phase starts (warm-up is over) */
	WL_EV_STOP,   /* the measured phase ends (teardown follows) */
};

#if defined(__clang__) || (defined(__GNUC__) && __GNUC__ >= 7)
#define WL_FALLTHROUGH __attribute__((fallthrough))
#else
#define WL_FALLTHROUGH ((void)0)
#endif

/* Wait until every live thread has arrived; then ev happens. */
#define WL_BARRIER(t, ev)                   \
	do {                                \
		(t)->pc = __LINE__;         \
		WL_FALLTHROUGH;             \
	case __LINE__:                      \
		if (!wl_barrier((t), (ev))) \
			return WL_BLOCK;    \
	} while (0)
#define WL_END(t)   \
	}           \
	(t)->pc = -1; \
	return WL_DONE
/* Fail the step with an operation's error. */
#define WL_TRY(expr)                  \
	do {                          \
		int wl_rc_ = (expr);  \
		if (wl_rc_ < 0)       \
			return wl_rc_; \
	} while (0)

/* ---- deterministic randomness (the same sequence on every machine) ---- */

struct wl_rng {
	uint64_t s;
};

static inline uint64_t wl_mix(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* splitmix64 */
static inline uint64_t wl_rand(struct wl_rng *r)
{
	return wl_mix(r->s += 0x9e3779b97f4a7c15ull);
}

/* Uniform in [0, n), n > 0 (Lemire's multiply-shift; bias below 2^-32). */
static inline uint64_t wl_below(struct wl_rng *r, uint64_t n)
{
	return (uint64_t)(((unsigned __int128)wl_rand(r) * n) >> 64);
}

/* A nonzero data value, a function of its arguments only. */
static inline uint64_t wl_value(uint64_t seed, uint64_t a, uint64_t b)
{
	return wl_mix(seed ^ wl_mix(a * 0x9e3779b97f4a7c15ull + b)) | 1;
}

/*
 * A random bijection of [0, n), keyed: a 4-round Feistel network on the
 * smallest even bit width that covers n, cycle-walked into range.
 */
struct wl_perm {
	uint64_t n;
	unsigned half;          /* bits per Feistel half */
	uint64_t key[4];
};

void wl_perm_init(struct wl_perm *p, uint64_t n, uint64_t seed);
uint64_t wl_perm_fwd(const struct wl_perm *p, uint64_t x);
uint64_t wl_perm_inv(const struct wl_perm *p, uint64_t y);

/* Zipf(theta) ranks 1..n by rejection-inversion (Hörmann and Derflinger),
 * in portable double arithmetic: O(1) set-up, exact for any n. */
struct wl_zipf {
	double n, s;            /* elements, exponent */
	double hx1, hn, sv;     /* H(1.5) - 1, H(n + 0.5), the squeeze */
};

void wl_zipf_init(struct wl_zipf *z, uint64_t n, double theta);
uint64_t wl_zipf_next(const struct wl_zipf *z, struct wl_rng *r);

/* ---- workloads ---- */

struct wl_run;

/* One vCPU's program and its state. */
struct wl_thread {
	struct wl_run *run;
	struct nw_vcpu *v;
	unsigned id;            /* the vCPU's index */
	int pc;                 /* where the protothread resumes; -1 when done */
	uint64_t i, j, k, n;    /* loop state */
	uint64_t addr;          /* a region the thread works in */
	uint64_t hash;          /* checksum of what this thread loaded */
	struct wl_rng rng;
	unsigned bar_gen;       /* the barrier generation it waits on */
	bool waiting;
};

/* Types of parameter values. */
enum wl_type {
	WL_SIZE,                /* bytes, k/m/g binary suffixes */
	WL_COUNT,               /* k/m/g decimal suffixes */
	WL_BOOL,
	WL_MILLI,               /* a decimal, stored in thousandths */
	WL_PERCENT,             /* 0..100 */
};

struct wl_key {
	const char *key;
	enum wl_type type;
	uint64_t def, min, max;
	const char *help;
};

struct wl_def {
	const char *name;
	const char *help;
	const struct wl_key *keys;      /* terminated by a NULL key */
	/* Upper bound of guest user memory (bytes), to size guest RAM. */
	uint64_t (*footprint)(const struct wl_run *r);
	/* Operations the run will make (for progress), roughly. */
	uint64_t (*total_ops)(const struct wl_run *r);
	/* Host-side state; the guest is booted, nothing has run. */
	int (*init)(struct wl_run *r);
	int (*step)(struct wl_thread *t);
	void (*fini)(struct wl_run *r);
};

/* A mirror of the words a workload wrote, to check every load (real data). */
struct wl_mirror {
	uint64_t *w;
	uint64_t n;
};

/* What the threads share across every phase of a run: the barrier, the
 * measured phase's events, and the count of wrong loads. */
struct wl_sync {
	unsigned live, arrived, gen;
	enum wl_event pending;  /* what the barrier being filled will do */
	int phase;              /* 0 warm-up, 1 measured, 2 teardown */
	void (*on_event)(void *arg, enum wl_event ev);
	void *on_event_arg;
	uint64_t mismatches;
};

/* One workload over the threads (mix runs several, one after another). */
struct wl_run {
	const struct wl_def *def;
	const struct nw_workload *spec;
	struct nw_guest *g;
	struct nw_vm *vm;
	unsigned nthreads;
	struct wl_thread *t;
	struct wl_sync *sync;
	uint64_t seed;
	bool real;              /* real data: loads are checked against what was stored */
	bool measures;          /* its barriers' events count (not a phase of mix) */
	unsigned map_flags;     /* NW_MAP_HUGE when huge=1 */
	const struct nw_trace_source *trace; /* the trace workload's reader */
	void *priv;             /* the workload's state, per-thread parts indexed by id */
	char *err;              /* a one-line message for a failure */
	size_t errlen;
};

extern const struct wl_def wl_def_seq, wl_def_random, wl_def_chase, wl_def_zipf, wl_def_churn, wl_def_fork,
	wl_def_ctxsw, wl_def_mix, wl_def_trace;

const struct wl_def *wl_find(const char *name);
/* A parameter of the run's workload; the key must be the workload's. */
uint64_t wl_param(const struct wl_run *r, const char *key);
/* Round up to the guest page size the run uses. */
uint64_t wl_page_round(const struct wl_run *r, uint64_t bytes);
/* This thread's share of a total count. */
uint64_t wl_share(const struct wl_thread *t, uint64_t total);

/* ---- operations (workload_ops.c) ---- */

/* A load of the current process, folded into the thread's checksum. */
int wl_load(struct wl_thread *t, uint64_t gva, uint64_t *val);
int wl_store(struct wl_thread *t, uint64_t gva, uint64_t val);
/* Count a loaded value that is not the expected one (real data only). */
void wl_expect(struct wl_thread *t, uint64_t got, uint64_t want);
/* System calls: fail with a message naming the workload on any error. */
int wl_spawn(struct wl_thread *t, int *pid);
int wl_switch(struct wl_thread *t, int pid);
int wl_mmap(struct wl_thread *t, uint64_t len, uint64_t *addr);
int wl_munmap(struct wl_thread *t, uint64_t addr, uint64_t len);
int wl_fork(struct wl_thread *t, int *child);
int wl_exit(struct wl_thread *t);
/* Fail with a message: returns err (negative). */
int wl_fail(struct wl_thread *t, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Barrier: true once every live thread has arrived, else false. */
bool wl_barrier(struct wl_thread *t, enum wl_event ev);
/* A thread has finished: the others no longer wait for it. */
void wl_thread_finished(struct wl_sync *s);
/* A one-line message in r->err; returns err. */
int wl_bad(struct wl_run *r, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A one-line message in err[len] (when err is given); returns rc. */
int wl_errf(char *err, size_t len, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

int wl_mirror_init(struct wl_mirror *m, uint64_t n);
void wl_mirror_fini(struct wl_mirror *m);

#endif
