/* SPDX-License-Identifier: MIT */
/*
 * Virtual memory areas: a sorted array of disjoint [start, end) ranges
 * with their rights, as the kernel's VMA tree. Changes that split areas
 * need room reserved first (gvma_reserve), so that an operation whose
 * page-table part succeeded cannot fail half-way on its VMA part.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "guest_internal.h"

/* ---- private prototypes ---- */
static size_t first_ending_after(const struct gvmas *m, uint64_t va);
static void insert_at(struct gvmas *m, size_t i, struct gvma a);
static void merge(struct gvmas *m);

void gvma_fini(struct gvmas *m)
{
	free(m->v);
	*m = (struct gvmas){ 0 };
}

int gvma_reserve(struct gvmas *m, size_t extra)
{
	if (m->n + extra <= m->cap)
		return 0;
	size_t cap = m->cap ? m->cap * 2 : 8;
	while (cap < m->n + extra)
		cap *= 2;
	struct gvma *v = realloc(m->v, cap * sizeof(*v));
	if (!v)
		return -ENOMEM;
	m->v = v;
	m->cap = cap;
	return 0;
}

/* Index of the first area with end > va (m->n when none). */
static size_t first_ending_after(const struct gvmas *m, uint64_t va)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->v[mid].end > va)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

struct gvma *gvma_find(const struct gvmas *m, uint64_t va)
{
	size_t i = first_ending_after(m, va);

	return i < m->n && m->v[i].start <= va ? &m->v[i] : NULL;
}

bool gvma_overlaps(const struct gvmas *m, uint64_t s, uint64_t e)
{
	size_t i = first_ending_after(m, s);

	return i < m->n && m->v[i].start < e;
}

bool gvma_covers(const struct gvmas *m, uint64_t s, uint64_t e, uint32_t *prot_or)
{
	uint64_t at = s;

	*prot_or = 0;
	for (size_t i = first_ending_after(m, s); i < m->n && at < e; i++) {
		if (m->v[i].start > at)
			return false;
		*prot_or |= m->v[i].prot;
		at = m->v[i].end;
	}
	return at >= e;
}

static void insert_at(struct gvmas *m, size_t i, struct gvma a)
{
	memmove(&m->v[i + 1], &m->v[i], (m->n - i) * sizeof(*m->v));
	m->v[i] = a;
	m->n++;
}

/* Join neighbours that touch and agree, so areas do not pile up. */
static void merge(struct gvmas *m)
{
	size_t out = 0;

	for (size_t i = 0; i < m->n; i++) {
		if (out && m->v[out - 1].end == m->v[i].start && m->v[out - 1].prot == m->v[i].prot &&
		    m->v[out - 1].flags == m->v[i].flags)
			m->v[out - 1].end = m->v[i].end;
		else
			m->v[out++] = m->v[i];
	}
	m->n = out;
}

void gvma_insert(struct gvmas *m, uint64_t s, uint64_t e, uint32_t prot, unsigned flags)
{
	insert_at(m, first_ending_after(m, s), (struct gvma){ s, e, prot, flags });
	merge(m);
}

void gvma_remove(struct gvmas *m, uint64_t s, uint64_t e)
{
	size_t i = first_ending_after(m, s);

	while (i < m->n && m->v[i].start < e) {
		struct gvma *a = &m->v[i];
		if (a->start < s && a->end > e) {
			/* The hole is inside one area: split it in two. */
			struct gvma tail = *a;
			tail.start = e;
			a->end = s;
			insert_at(m, i + 1, tail);
			return;
		}
		if (a->start < s) {
			a->end = s;
			i++;
		} else if (a->end > e) {
			a->start = e;
			i++;
		} else {
			memmove(a, a + 1, (m->n - i - 1) * sizeof(*a));
			m->n--;
		}
	}
}

void gvma_set_prot(struct gvmas *m, uint64_t s, uint64_t e, uint32_t prot)
{
	size_t i = first_ending_after(m, s);

	for (; i < m->n && m->v[i].start < e; i++) {
		struct gvma *a = &m->v[i];
		if (a->start < s) {
			struct gvma tail = *a;
			tail.start = s;
			a->end = s;
			insert_at(m, i + 1, tail);
			continue; /* the tail is next */
		}
		if (a->end > e) {
			struct gvma tail = *a;
			tail.start = e;
			a->end = e;
			insert_at(m, i + 1, tail);
		}
		a->prot = prot;
	}
	merge(m);
}

int gvma_find_free(const struct gvmas *m, uint64_t len, uint64_t align, uint64_t lo,
		   uint64_t hi, uint64_t *out)
{
	uint64_t at = (lo + align - 1) & ~(align - 1);

	for (size_t i = first_ending_after(m, lo); i <= m->n; i++) {
		uint64_t limit = i < m->n ? m->v[i].start : hi;
		if (limit > hi)
			limit = hi;
		if (at <= limit && limit - at >= len) {
			*out = at;
			return 0;
		}
		if (i == m->n || m->v[i].end >= hi)
			break;
		at = (m->v[i].end + align - 1) & ~(align - 1);
	}
	return -ENOMEM;
}

int gvma_copy(struct gvmas *dst, const struct gvmas *src)
{
	dst->n = 0;
	if (gvma_reserve(dst, src->n) < 0)
		return -ENOMEM;
	memcpy(dst->v, src->v, src->n * sizeof(*src->v));
	dst->n = src->n;
	return 0;
}
