/* SPDX-License-Identifier: MIT */
/*
 * Seeded structure for the workloads: a keyed bijection of [0, n) (the
 * chase's cycle, the key-value store's key scrambling) and a Zipf sampler.
 *
 * The sampler needs exp and log. It uses its own, built from +, -, *, /
 * only, so that a seed gives the same keys on every IEEE-754 machine
 * whatever its libm, and the library needs nothing beyond libc.
 */

#include <math.h> /* INFINITY only: no libm functions */
#include <string.h>

#include "workload_internal.h"

#define LN2 0.69314718055994530942

/* ---- private prototypes ---- */
static uint64_t feistel(const struct wl_perm *p, uint64_t x, bool inverse);
static double wl_log(double x);
static double wl_exp(double x);

void wl_perm_init(struct wl_perm *p, uint64_t n, uint64_t seed)
{
	unsigned bits = 2;

	while (bits < 64 && (1ull << bits) < n)
		bits++;
	bits += bits & 1;
	p->n = n;
	p->half = bits / 2;
	for (int i = 0; i < 4; i++)
		p->key[i] = wl_mix(seed + (uint64_t)(i + 1) * 0x9e3779b97f4a7c15ull);
}

static uint64_t feistel(const struct wl_perm *p, uint64_t x, bool inverse)
{
	uint64_t mask = (1ull << p->half) - 1;
	uint64_t l = x >> p->half, r = x & mask;

	for (int i = 0; i < 4; i++) {
		if (!inverse) {
			uint64_t nl = r;
			r = l ^ (wl_mix(r ^ p->key[i]) & mask);
			l = nl;
		} else {
			uint64_t pr = l;
			l = r ^ (wl_mix(l ^ p->key[3 - i]) & mask);
			r = pr;
		}
	}
	return (l << p->half) | r;
}

/* Cycle-walking: the network permutes [0, 2^bits); following it until the
 * value falls below n again permutes [0, n). */
uint64_t wl_perm_fwd(const struct wl_perm *p, uint64_t x)
{
	do
		x = feistel(p, x, false);
	while (x >= p->n);
	return x;
}

uint64_t wl_perm_inv(const struct wl_perm *p, uint64_t y)
{
	do
		y = feistel(p, y, true);
	while (y >= p->n);
	return y;
}

/* ---- portable exp and log ---- */

static double wl_log(double x)
{
	uint64_t b;
	double m, t, t2, term, sum = 0;
	int e;

	if (!(x > 0))
		return x == 0 ? -INFINITY : x - x;
	if (x == INFINITY)
		return x;
	memcpy(&b, &x, sizeof(b));
	if (!(b >> 52)) { /* subnormal: scale into the normal range */
		x *= 18014398509481984.0; /* 2^54 */
		memcpy(&b, &x, sizeof(b));
		e = -54;
	} else {
		e = 0;
	}
	e += (int)((b >> 52) & 0x7ff) - 1022; /* x = m * 2^e, m in [0.5, 1) */
	b = (b & ~(0x7ffull << 52)) | (1022ull << 52);
	memcpy(&m, &b, sizeof(m));
	if (m < 0.70710678118654752) {
		m *= 2;
		e--;
	}
	/* ln m = 2 atanh((m - 1) / (m + 1)), |t| < 0.172 */
	t = (m - 1) / (m + 1);
	t2 = t * t;
	term = t;
	for (int k = 1; k < 40; k += 2) {
		sum += term / k;
		term *= t2;
	}
	return 2 * sum + e * LN2;
}

static double wl_exp(double x)
{
	double kf, r, sum = 1, term = 1, scale = 1;
	int k;

	if (x != x)
		return x;
	if (x < -745)
		return 0;
	if (x > 709)
		return INFINITY;
	kf = x / LN2;
	k = (int)(kf + (kf >= 0 ? 0.5 : -0.5));
	r = x - k * LN2; /* |r| <= ln2 / 2 */
	for (int i = 1; i < 25; i++) {
		term *= r / i;
		sum += term;
	}
	/* times 2^k, in steps that stay normal */
	while (k > 0) {
		int s = k > 1000 ? 1000 : k;
		uint64_t b = (uint64_t)(1023 + s) << 52;
		memcpy(&scale, &b, sizeof(scale));
		sum *= scale;
		k -= s;
	}
	while (k < 0) {
		int s = k < -1000 ? -1000 : k;
		uint64_t b = (uint64_t)(1023 + s) << 52;
		memcpy(&scale, &b, sizeof(scale));
		sum *= scale;
		k -= s;
	}
	return sum;
}

/* ---- Zipf by rejection-inversion (as Apache Commons RNG's sampler) ---- */

static double helper1(double x) /* log1p(x) / x */
{
	return (x > 1e-8 || x < -1e-8) ? wl_log(1 + x) / x
				       : 1 - x * (0.5 - x * (1.0 / 3 - 0.25 * x));
}

static double helper2(double x) /* expm1(x) / x */
{
	return (x > 1e-8 || x < -1e-8) ? (wl_exp(x) - 1) / x
				       : 1 + x * 0.5 * (1 + x * (1.0 / 3) * (1 + 0.25 * x));
}

static double zh(const struct wl_zipf *z, double x)
{
	return wl_exp(-z->s * wl_log(x));
}

static double zhint(const struct wl_zipf *z, double x)
{
	double lx = wl_log(x);

	return helper2((1 - z->s) * lx) * lx;
}

static double zhinv(const struct wl_zipf *z, double x)
{
	double t = x * (1 - z->s);

	if (t < -1)
		t = -1;
	return wl_exp(helper1(t) * x);
}

void wl_zipf_init(struct wl_zipf *z, uint64_t n, double theta)
{
	z->n = (double)n;
	z->s = theta;
	z->hx1 = zhint(z, 1.5) - 1;
	z->hn = zhint(z, z->n + 0.5);
	z->sv = 2 - zhinv(z, zhint(z, 2.5) - zh(z, 2));
}

uint64_t wl_zipf_next(const struct wl_zipf *z, struct wl_rng *r)
{
	for (;;) {
		double u01 = (double)(wl_rand(r) >> 11) * (1.0 / 9007199254740992.0);
		double u = z->hn + u01 * (z->hx1 - z->hn);
		double x = zhinv(z, u);
		double kd = x + 0.5;
		uint64_t k = kd < 1 ? 1 : kd > z->n ? (uint64_t)z->n : (uint64_t)kd;
		if ((double)k - x <= z->sv || u >= zhint(z, (double)k + 0.5) - zh(z, (double)k))
			return k;
	}
}
