/* SPDX-License-Identifier: MIT */
/*
 * Workload specs: the registry of built-in workloads, and NAME[:k=v,...]
 * parsed against each one's key table, with a one-line message for every
 * way a spec can be wrong.
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "workload_internal.h"

static const struct wl_def *const defs[] = {
	&wl_def_seq, &wl_def_random, &wl_def_chase, &wl_def_zipf, &wl_def_churn, &wl_def_fork, &wl_def_ctxsw, &wl_def_mix,
	&wl_def_trace,
};
#define NDEFS (sizeof(defs) / sizeof(defs[0]))

/* The built-in ones: trace is not, since it needs files. */
const char *const nw_workload_names[] = {
	"seq", "random", "chase", "zipf", "churn", "fork", "ctxsw", "mix", NULL,
};

/* ---- private prototypes ---- */
static int parse_value(const struct wl_key *k, const char *s, size_t n, uint64_t *out,
		       char *err, size_t errlen);
static size_t format_value(const struct wl_key *k, uint64_t v, char *buf, size_t len);

const struct wl_def *wl_find(const char *name)
{
	for (size_t i = 0; i < NDEFS; i++)
		if (!strcmp(defs[i]->name, name))
			return defs[i];
	return NULL;
}

const char *nw_data_mode_name(enum nw_data_mode d)
{
	return d == NW_DATA_TRANSLATION_ONLY ? "translation-only" : "real";
}

/* Decimal digits into *v; false on no digits or overflow. */
static bool digits(const char **p, const char *end, uint64_t *v, unsigned *ndig)
{
	uint64_t x = 0;
	unsigned n = 0;

	while (*p < end && **p >= '0' && **p <= '9') {
		unsigned d = (unsigned)(**p - '0');
		if (x > (UINT64_MAX - d) / 10)
			return false;
		x = x * 10 + d;
		(*p)++;
		n++;
	}
	*v = x;
	*ndig = n;
	return n > 0;
}

static bool scale(uint64_t *v, char suffix, bool binary)
{
	static const char sfx[] = "kmgt";
	const char *at = strchr(sfx, suffix >= 'A' && suffix <= 'Z' ? suffix + 32 : suffix);
	uint64_t mul = 1;

	if (!at || !suffix)
		return false;
	for (long i = 0; i <= at - sfx; i++)
		mul *= binary ? 1024 : 1000;
	if (*v > UINT64_MAX / mul)
		return false;
	*v *= mul;
	return true;
}

static int parse_value(const struct wl_key *k, const char *s, size_t n, uint64_t *out,
		       char *err, size_t errlen)
{
	const char *p = s, *end = s + n;
	uint64_t v = 0;
	unsigned nd;

	switch (k->type) {
	case WL_BOOL:
		if ((n == 1 && *s == '1') || (n == 4 && !strncasecmp(s, "true", 4)) ||
		    (n == 3 && !strncasecmp(s, "yes", 3)) || (n == 2 && !strncasecmp(s, "on", 2)))
			v = 1;
		else if (!((n == 1 && *s == '0') || (n == 5 && !strncasecmp(s, "false", 5)) ||
			   (n == 2 && !strncasecmp(s, "no", 2)) || (n == 3 && !strncasecmp(s, "off", 3))))
			return wl_errf(err, errlen, -EINVAL, "%s=%.*s: expected 0 or 1", k->key, (int)n, s);
		break;
	case WL_MILLI: {
		uint64_t frac = 0;
		if (!digits(&p, end, &v, &nd) || v > UINT64_MAX / 1000)
			goto bad;
		if (p < end && *p == '.') {
			p++;
			if (!digits(&p, end, &frac, &nd) || nd > 3)
				return wl_errf(err, errlen, -EINVAL, "%s=%.*s: expected a decimal with at most 3 decimals",
						  k->key, (int)n, s);
			while (nd++ < 3)
				frac *= 10;
		}
		v = v * 1000 + frac;
		break;
	}
	default:
		if (!digits(&p, end, &v, &nd))
			goto bad;
		if (p < end && k->type != WL_PERCENT) {
			if (!scale(&v, *p, k->type == WL_SIZE))
				goto bad;
			p++;
		}
		break;
	}
	if (p != end && k->type != WL_BOOL)
		goto bad;
	if (v < k->min || v > k->max) {
		char lo[32], hi[32];
		format_value(k, k->min, lo, sizeof(lo));
		format_value(k, k->max, hi, sizeof(hi));
		return wl_errf(err, errlen, -EINVAL, "%s=%.*s is out of range (%s..%s)", k->key, (int)n, s,
				  lo, hi);
	}
	*out = v;
	return 0;
bad:
	switch (k->type) {
	case WL_SIZE:
		return wl_errf(err, errlen, -EINVAL, "%s=%.*s: expected a size such as 4096, 64k, 16m or 1g",
				  k->key, (int)n, s);
	case WL_MILLI:
		return wl_errf(err, errlen, -EINVAL, "%s=%.*s: expected a decimal such as 0.99", k->key,
				  (int)n, s);
	case WL_PERCENT:
		return wl_errf(err, errlen, -EINVAL, "%s=%.*s: expected a percentage 0..100", k->key,
				  (int)n, s);
	default:
		return wl_errf(err, errlen, -EINVAL, "%s=%.*s: expected a count such as 1000 or 200k",
				  k->key, (int)n, s);
	}
}

static size_t format_value(const struct wl_key *k, uint64_t v, char *buf, size_t len)
{
	static const char sfx[] = "kmgt";

	if (k->type == WL_MILLI) {
		if (v % 1000 == 0)
			return (size_t)snprintf(buf, len, "%llu", (unsigned long long)(v / 1000));
		int frac = (int)(v % 1000), nd = 3;
		while (frac % 10 == 0) {
			frac /= 10;
			nd--;
		}
		return (size_t)snprintf(buf, len, "%llu.%0*d", (unsigned long long)(v / 1000), nd, frac);
	}
	if (k->type == WL_SIZE && v) {
		int i = -1;
		while (i < 3 && v % 1024 == 0) {
			v /= 1024;
			i++;
		}
		if (i >= 0)
			return (size_t)snprintf(buf, len, "%llu%c", (unsigned long long)v, sfx[i]);
	}
	return (size_t)snprintf(buf, len, "%llu", (unsigned long long)v);
}

static void key_list(const struct wl_def *d, char *buf, size_t len)
{
	size_t at = 0;

	buf[0] = 0;
	for (const struct wl_key *k = d->keys; k->key && at < len; k++)
		at += (size_t)snprintf(buf + at, len - at, "%s%s", at ? ", " : "", k->key);
}

/*
 * trace:FILE[,FILE...][:k=v,...]: the files run up to the last ':' whose
 * remainder holds an '=' (file names with '=' after a ':' are not
 * supported). *params: that ':', or NULL when no parameters follow.
 */
static int trace_files(const char *colon, struct nw_workload *w,
		       const char **params, char *err, size_t errlen)
{
	const char *files = colon ? colon + 1 : NULL, *last;
	size_t len;

	if (!files || !*files)
		return wl_errf(err, errlen, -EINVAL,
				  "workload trace needs a file: trace:FILE[,FILE...][:loops=N]");
	last = strrchr(files, ':');
	if (last && !strchr(last, '='))
		last = NULL;
	len = last ? (size_t)(last - files) : strlen(files);
	if (!len)
		return wl_errf(err, errlen, -EINVAL, "workload trace: no file before '%s'", last);
	if (len >= sizeof(w->files))
		return wl_errf(err, errlen, -EINVAL, "workload trace: file list longer than %zu bytes",
				  sizeof(w->files) - 1);
	memcpy(w->files, files, len);
	w->files[len] = 0;
	for (const char *p = w->files;; p++) {
		const char *c = strchr(p, ',');
		if (c == p || !*p)
			return wl_errf(err, errlen, -EINVAL, "workload trace: empty file name in '%s'",
					  w->files);
		if (!c)
			break;
		p = c;
	}
	*params = last;
	return 0;
}

int nw_workload_parse(const char *spec, struct nw_workload *w, char *err, size_t errlen)
{
	const struct wl_def *d = NULL;
	const char *colon, *p;
	size_t nlen;

	if (!spec || !*spec)
		return wl_errf(err, errlen, -EINVAL, "empty workload spec");
	colon = strchr(spec, ':');
	nlen = colon ? (size_t)(colon - spec) : strlen(spec);
	for (size_t i = 0; i < NDEFS; i++)
		if (strlen(defs[i]->name) == nlen && !strncmp(defs[i]->name, spec, nlen))
			d = defs[i];
	if (!d)
		return wl_errf(err, errlen, -EINVAL,
				  "unknown workload '%.*s' (seq, random, chase, zipf, churn, fork, ctxsw, mix, trace)",
				  (int)nlen, spec);
	memset(w, 0, sizeof(*w));
	w->name = d->name;
	for (const struct wl_key *k = d->keys; k->key; k++)
		w->params[w->nparams++] = (struct nw_wl_param){ .key = k->key, .value = k->def };
	if (d == &wl_def_trace) {
		int rc = trace_files(colon, w, &colon, err, errlen);
		if (rc < 0)
			return rc;
	}
	if (!colon)
		return 0;
	for (p = colon + 1;;) {
		const char *comma = strchr(p, ','), *eq;
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		const struct wl_key *k;
		unsigned idx = 0;

		eq = memchr(p, '=', len);
		if (!len)
			return wl_errf(err, errlen, -EINVAL, "workload %s: empty parameter in '%s'", d->name, spec);
		if (!eq)
			return wl_errf(err, errlen, -EINVAL, "workload %s: '%.*s' is not key=value", d->name,
					  (int)len, p);
		for (k = d->keys; k->key; k++, idx++)
			if (strlen(k->key) == (size_t)(eq - p) && !strncmp(k->key, p, (size_t)(eq - p)))
				break;
		if (!k->key) {
			char keys[128];
			key_list(d, keys, sizeof(keys));
			return wl_errf(err, errlen, -EINVAL, "workload %s has no key '%.*s' (keys: %s)", d->name,
					  (int)(eq - p), p, keys);
		}
		if (w->params[idx].set)
			return wl_errf(err, errlen, -EINVAL, "workload %s: %s given twice", d->name, k->key);
		int rc = parse_value(k, eq + 1, len - (size_t)(eq + 1 - p), &w->params[idx].value,
				     err, errlen);
		if (rc < 0)
			return rc;
		w->params[idx].set = true;
		if (!comma)
			break;
		p = comma + 1;
	}
	return 0;
}

size_t nw_workload_format(const struct nw_workload *w, char *buf, size_t len)
{
	const struct wl_def *d = w->name ? wl_find(w->name) : NULL;
	size_t at;

	if (!d)
		return (size_t)snprintf(buf, len, "?");
	at = (size_t)snprintf(buf, len, "%s", d->name);
	if (w->files[0])
		at += (size_t)snprintf(buf + (at < len ? at : len), at < len ? len - at : 0, ":%s",
				       w->files);
	for (unsigned i = 0; i < w->nparams; i++) {
		char v[32];
		format_value(&d->keys[i], w->params[i].value, v, sizeof(v));
		at += (size_t)snprintf(buf + (at < len ? at : len), at < len ? len - at : 0, "%c%s=%s",
				       i ? ',' : ':', w->params[i].key, v);
	}
	return at;
}

int nw_workload_get(const struct nw_workload *w, const char *key, uint64_t *value)
{
	for (unsigned i = 0; i < w->nparams; i++)
		if (!strcmp(w->params[i].key, key)) {
			*value = w->params[i].value;
			return 0;
		}
	return -ENOENT;
}

void nw_workload_help(void (*line)(void *arg, const char *text), void *arg)
{
	char buf[160];

	for (size_t i = 0; i < NDEFS; i++) {
		snprintf(buf, sizeof(buf), "  %-8s %s", defs[i]->name, defs[i]->help);
		line(arg, buf);
		for (const struct wl_key *k = defs[i]->keys; k->key; k++) {
			char v[32];
			format_value(k, k->def, v, sizeof(v));
			snprintf(buf, sizeof(buf), "             %s=%-8s %s", k->key, v, k->help);
			line(arg, buf);
		}
	}
}

uint64_t wl_param(const struct wl_run *r, const char *key)
{
	uint64_t v = 0;

	nw_workload_get(r->spec, key, &v);
	return v;
}

uint64_t wl_page_round(const struct wl_run *r, uint64_t bytes)
{
	uint64_t page = (r->map_flags & NW_MAP_HUGE) ? NW_LEVEL_SIZE(NW_PAGE_2M) : NW_PAGE_SIZE;

	return (bytes + page - 1) & ~(page - 1);
}

uint64_t wl_share(const struct wl_thread *t, uint64_t total)
{
	unsigned n = t->run->nthreads;

	return total / n + (t->id < total % n ? 1 : 0);
}
