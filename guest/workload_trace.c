/* SPDX-License-Identifier: MIT */
/*
 * trace: replay recorded programs, one guest process per trace file.
 *
 * A first pass over each trace finds the pages it touches and their
 * regions (nw_trace_regions); the process maps one anonymous VMA per
 * region, and each trace address lands at the same offset in its region's
 * VMA. Nothing is touched beforehand, so first touches demand-fault pages
 * in as the program's own did, in the measured phase. With huge=1 the
 * regions are widened to 2 MiB boundaries, so a trace page keeps its place
 * in a 2 MiB page.
 *
 * Loads and instruction fetches are guest loads (the guest model runs no
 * user code, so a fetch is a read of the code bytes), stores are stores,
 * and a modify is a load and then a store of the same word, as two
 * operations. Accesses are aligned down to the 8-byte word: a trace access
 * never leaves its page that way. Several traces on one vCPU take turns
 * every `slice` records, switching CR3; with several vCPUs the traces are
 * dealt out round-robin.
 *
 * Real data: a store writes a value fixed by the process and the word, so
 * a load must read either that value (the word was stored before) or zero
 * (it never was): the runner's mismatch count catches a translation to the
 * wrong frame. A bitmap per touched page remembers which words were stored.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../trace/pagemap.h"
#include "workload_internal.h"

#define PAGE_SHIFT 12
#define WORDS_PER_PAGE 512
#define BUF_RECORDS 4096
#define MAX_TRACES 64
#define HUGE_SIZE (2ull << 20)

struct tproc {
	char path[NW_WL_FILES_MAX];
	void *h;                        /* the source's handle */
	uint64_t count;                 /* records of one pass */
	struct nw_trace_region *reg;
	size_t nreg;
	uint64_t *base;                 /* each region's guest address */
	int pid;
	struct nw_trace_rec buf[BUF_RECORDS];
	size_t nbuf, at;
	struct nw_trace_rec cur;        /* the record being replayed */
	uint64_t gva;                   /* its word in the guest */
	uint64_t loops_left;            /* passes after this one */
	bool finished;
	/* real data: which words were stored, by page */
	struct nw_pagemap stored;       /* page -> index into bits */
	uint64_t (*bits)[WORDS_PER_PAGE / 64];
	size_t nbits, capbits;
};

struct trace_wl {
	struct tproc *p;
	unsigned np;
	uint64_t slice;
};

/* ---- private prototypes ---- */
static int scan(struct wl_run *r, struct tproc *p);
static int next_record(struct wl_thread *t, struct tproc *p, bool *end);
static int replay_access(struct wl_thread *t, struct tproc *p, bool store);
static unsigned file_count(const char *files);
static struct tproc *current(const struct wl_thread *t);

static unsigned file_count(const char *files)
{
	unsigned n = 1;

	for (const char *c = files; *c; c++)
		n += *c == ',';
	return n;
}

/* The i-th file of the spec's list into out. */
static void file_at(const char *files, unsigned i, char *out, size_t len)
{
	const char *p = files;

	while (i--)
		p = strchr(p, ',') + 1;
	size_t n = strcspn(p, ",");
	snprintf(out, len, "%.*s", (int)(n < len ? n : len - 1), p);
}

/* Widen each region to 2 MiB boundaries and merge the ones that meet. */
static size_t widen_huge(struct nw_trace_region *reg, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		uint64_t s = reg[i].start & ~(HUGE_SIZE - 1);
		uint64_t e = (reg[i].end + HUGE_SIZE - 1) & ~(HUGE_SIZE - 1);
		if (k && s <= reg[k - 1].end) {
			reg[k - 1].end = e > reg[k - 1].end ? e : reg[k - 1].end;
			reg[k - 1].pages += reg[i].pages;
		} else {
			reg[k++] = (struct nw_trace_region){ s, e, reg[i].pages };
		}
	}
	return k;
}

/* Open p->path, read it through for its regions and count, and rewind. */
static int scan(struct wl_run *r, struct tproc *p)
{
	const struct nw_trace_source *src = r->trace;
	struct nw_pagemap pages = { 0 };
	uint64_t *sorted = NULL, n = 0;
	char msg[256] = "";
	long got;
	int rc;

	if (!src)
		return wl_bad(r, -EINVAL, "no trace reader (nw_run_cfg.trace is NULL)");
	rc = src->open(p->path, &p->h, &p->count, msg, sizeof(msg));
	if (rc < 0) {
		p->h = NULL;
		return wl_bad(r, -EINVAL, "%s", msg);
	}
	while ((got = src->read(p->h, p->buf, BUF_RECORDS, msg, sizeof(msg))) > 0) {
		for (long i = 0; i < got; i++)
			if (!nw_pagemap_get(&pages, p->buf[i].addr >> PAGE_SHIFT, NULL)) {
				rc = -ENOMEM;
				goto out;
			}
		n += (uint64_t)got;
	}
	if (got < 0) {
		rc = wl_bad(r, -EINVAL, "%s", msg);
		goto out;
	}
	if (n == 0) {
		rc = wl_bad(r, -EINVAL, "%s holds no records", p->path);
		goto out;
	}
	p->count = n;
	sorted = nw_pagemap_sorted(&pages);
	p->nreg = nw_trace_regions(sorted, pages.n, NULL, 0);
	p->reg = calloc(p->nreg, sizeof(*p->reg));
	p->base = calloc(p->nreg, sizeof(*p->base));
	if (!sorted || !p->reg || !p->base) {
		rc = -ENOMEM;
		goto out;
	}
	nw_trace_regions(sorted, pages.n, p->reg, p->nreg);
	if (r->map_flags & NW_MAP_HUGE)
		p->nreg = widen_huge(p->reg, p->nreg);
	rc = src->rewind(p->h, msg, sizeof(msg));
	if (rc < 0)
		rc = wl_bad(r, -EINVAL, "%s", msg);
out:
	free(sorted);
	nw_pagemap_fini(&pages);
	return rc;
}

static void free_procs(const struct wl_run *r, struct trace_wl *tw)
{
	for (unsigned i = 0; i < tw->np; i++) {
		struct tproc *p = &tw->p[i];
		if (p->h)
			r->trace->close(p->h);
		free(p->reg);
		free(p->base);
		free(p->bits);
		nw_pagemap_fini(&p->stored);
	}
	free(tw->p);
	free(tw);
}

/* The traces of r, scanned (footprint and init both need their regions). */
static int load_procs(struct wl_run *r, struct trace_wl **out)
{
	struct trace_wl *tw = calloc(1, sizeof(*tw));
	unsigned n = file_count(r->spec->files);
	int rc = 0;

	if (!tw)
		return -ENOMEM;
	if (n > MAX_TRACES) {
		free(tw);
		return wl_bad(r, -EINVAL, "%u traces, at most %d", n, MAX_TRACES);
	}
	tw->p = calloc(n, sizeof(*tw->p));
	if (!tw->p) {
		free(tw);
		return -ENOMEM;
	}
	tw->np = n;
	tw->slice = wl_param(r, "slice");
	for (unsigned i = 0; i < n && rc == 0; i++) {
		file_at(r->spec->files, i, tw->p[i].path, sizeof(tw->p[i].path));
		tw->p[i].loops_left = wl_param(r, "loops") - 1;
		rc = scan(r, &tw->p[i]);
	}
	if (rc < 0) {
		free_procs(r, tw);
		return rc;
	}
	*out = tw;
	return 0;
}

static uint64_t trace_footprint(const struct wl_run *r)
{
	struct wl_run probe = *r;
	char msg[256];
	struct trace_wl *tw;
	uint64_t sum = 0;

	/* A failing trace gives 0 here; init reports why. */
	probe.err = msg;
	probe.errlen = sizeof(msg);
	if (load_procs(&probe, &tw) < 0)
		return 0;
	for (unsigned i = 0; i < tw->np; i++)
		for (size_t k = 0; k < tw->p[i].nreg; k++)
			sum += wl_page_round(r, tw->p[i].reg[k].end - tw->p[i].reg[k].start);
	free_procs(r, tw);
	return sum;
}

static uint64_t trace_total_ops(const struct wl_run *r)
{
	const struct trace_wl *tw = r->priv;
	uint64_t sum = 0;

	/* Before init there are no counts yet: progress starts at init. */
	for (unsigned i = 0; tw && i < tw->np; i++)
		sum += tw->p[i].count * wl_param(r, "loops") + 2 + tw->p[i].nreg;
	return sum;
}

static int trace_init(struct wl_run *r)
{
	struct trace_wl *tw;
	int rc = load_procs(r, &tw);

	if (rc < 0)
		return rc;
	r->priv = tw;
	return 0;
}

static void trace_fini(struct wl_run *r)
{
	if (r->priv)
		free_procs(r, r->priv);
	r->priv = NULL;
}

/* The next record of p into p->cur, rewinding for the next loop; *end
 * when every loop is done. */
static int next_record(struct wl_thread *t, struct tproc *p, bool *end)
{
	const struct nw_trace_source *src = t->run->trace;
	char msg[256];
	long got;

	*end = false;
	if (p->at == p->nbuf) {
		got = src->read(p->h, p->buf, BUF_RECORDS, msg, sizeof(msg));
		if (got == 0 && p->loops_left) {
			p->loops_left--;
			if (src->rewind(p->h, msg, sizeof(msg)) < 0)
				return wl_fail(t, -EIO, "%s", msg);
			got = src->read(p->h, p->buf, BUF_RECORDS, msg, sizeof(msg));
		}
		if (got < 0)
			return wl_fail(t, -EIO, "%s", msg);
		if (got == 0) {
			*end = true;
			return 0;
		}
		p->nbuf = (size_t)got;
		p->at = 0;
	}
	p->cur = p->buf[p->at++];
	/* Regions are sorted: the last one starting at or below the address. */
	size_t lo = 0, hi = p->nreg;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (p->reg[mid].start <= p->cur.addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo || p->cur.addr - p->reg[lo - 1].start >= p->reg[lo - 1].end - p->reg[lo - 1].start)
		return wl_fail(t, -EIO, "%s: address 0x%llx is in none of the first pass's regions "
			       "(the file changed?)", p->path, (unsigned long long)p->cur.addr);
	p->gva = (p->base[lo - 1] + (p->cur.addr - p->reg[lo - 1].start)) & ~7ull;
	return 0;
}

/* The stored-words bitmap of the page holding gva (NULL: out of memory). */
static uint64_t *stored_bits(struct tproc *p, uint64_t gva)
{
	bool added;
	uint64_t *idx = nw_pagemap_get(&p->stored, gva >> PAGE_SHIFT, &added);

	if (!idx)
		return NULL;
	if (added) {
		if (p->nbits == p->capbits) {
			size_t cap = p->capbits ? p->capbits * 2 : 256;
			void *b = realloc(p->bits, cap * sizeof(*p->bits));
			if (!b)
				return NULL;
			p->bits = b;
			p->capbits = cap;
		}
		memset(p->bits[p->nbits], 0, sizeof(p->bits[0]));
		*idx = p->nbits++;
	}
	return p->bits[*idx];
}

static int replay_access(struct wl_thread *t, struct tproc *p, bool store)
{
	struct wl_run *r = t->run;
	uint64_t want = wl_value(r->seed, (uint64_t)p->pid, p->gva), got;
	unsigned w = (unsigned)(p->gva >> 3) % WORDS_PER_PAGE;
	uint64_t *bits = r->real ? stored_bits(p, p->gva) : NULL;

	if (r->real && !bits)
		return wl_fail(t, -ENOMEM, "out of memory for the stored-words map");
	if (store) {
		WL_TRY(wl_store(t, p->gva, want));
		if (bits)
			bits[w / 64] |= 1ull << (w % 64);
		return 0;
	}
	WL_TRY(wl_load(t, p->gva, &got));
	if (bits)
		wl_expect(t, got, bits[w / 64] >> (w % 64) & 1 ? want : 0);
	return 0;
}

/* The trace whose turn it is on thread t: its k-th (k in t->k). */
static struct tproc *current(const struct wl_thread *t)
{
	const struct trace_wl *tw = t->run->priv;

	return &tw->p[t->id + (unsigned)t->k * t->run->nthreads];
}

static int trace_step(struct wl_thread *t)
{
	struct wl_run *r = t->run;
	struct trace_wl *tw = r->priv;
	/* This thread's traces are id, id + nthreads, ... */
	unsigned mine = tw->np > t->id ? (tw->np - t->id + r->nthreads - 1) / r->nthreads : 0;
	bool end;

	WL_BEGIN(t);
	for (t->k = 0; t->k < mine; t->k++) {
		WL_TRY(wl_spawn(t, &current(t)->pid));
		WL_YIELD(t);
		WL_TRY(wl_switch(t, current(t)->pid));
		WL_YIELD(t);
		for (t->i = 0; t->i < current(t)->nreg; t->i++) {
			const struct nw_trace_region *g = &current(t)->reg[t->i];
			WL_TRY(wl_mmap(t, g->end - g->start, &current(t)->base[t->i]));
			WL_YIELD(t);
		}
	}
	WL_BARRIER(t, WL_EV_START);
	/* t->n: traces still running; t->k: the one whose turn it is. */
	for (t->n = mine, t->k = 0; t->n; t->k = (t->k + 1) % mine) {
		if (current(t)->finished)
			continue;
		if (nw_guest_current(r->g, t->v) != current(t)->pid) {
			WL_TRY(wl_switch(t, current(t)->pid));
			WL_YIELD(t);
		}
		for (t->i = 0; t->i < tw->slice; t->i++) {
			WL_TRY(next_record(t, current(t), &end));
			if (end) {
				current(t)->finished = true;
				t->n--;
				break;
			}
			WL_TRY(replay_access(t, current(t), current(t)->cur.kind == NW_TRACE_STORE));
			if (current(t)->cur.kind == NW_TRACE_MODIFY) {
				WL_YIELD(t);
				WL_TRY(replay_access(t, current(t), true));
			}
			WL_YIELD(t);
		}
	}
	WL_BARRIER(t, WL_EV_STOP);
	for (t->k = 0; t->k < mine; t->k++) {
		WL_TRY(wl_switch(t, current(t)->pid));
		WL_YIELD(t);
		WL_TRY(wl_exit(t));
		WL_YIELD(t);
	}
	WL_END(t);
}

static const struct wl_key trace_keys[] = {
	{ "loops", WL_COUNT, 1, 1, 1000000, "passes over each trace" },
	{ "slice", WL_COUNT, 10000, 1, 1ull << 32, "records per time slice when traces share a vCPU" },
	{ "huge", WL_BOOL, 0, 0, 1, "2 MiB guest pages (default: --guest-pages)" },
	{ NULL },
};

const struct wl_def wl_def_trace = {
	.name = "trace",
	.help = "replay recorded traces (trace:FILE[,FILE...][:...]), a process each",
	.keys = trace_keys,
	.footprint = trace_footprint,
	.total_ops = trace_total_ops,
	.init = trace_init,
	.step = trace_step,
	.fini = trace_fini,
};
