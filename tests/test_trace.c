/* SPDX-License-Identifier: MIT */
/*
 * The .nwt format, the lackey parser and trace info.
 *
 * Round trips: lackey text -> records -> .nwt -> records gives back the
 * identical sequence, for random address sequences (fixed seeds), the
 * extreme deltas (+-2^63), every size class, an empty trace, and blocks of
 * one record up to many. Every kind of bad input has its own test, and
 * each checks that the message names the offset (or the line). Negative
 * controls: a file with one record's delta changed (still valid) must fail
 * the round-trip comparison, and a reuse distance computed by a naive LRU
 * stack must disagree with a deliberately wrong one.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "nw_test.h"
#include "lackey.h"
#include "nwt.h"
#include "trace_info.h"

/* ---- helpers ---- */

struct blob {
	uint8_t *p;
	size_t n;
};

/* recs written with the given block size, as the bytes of the file. */
static struct blob write_blob(const struct nw_trace_rec *recs, size_t n, uint32_t block)
{
	struct nwt_writer_cfg cfg = { .block_records = block, .level = 3 };
	struct nwt_meta meta = { .program = "prog", .cmdline = "prog --arg" };
	struct nwt_writer *w;
	struct blob b;
	char err[256];
	FILE *f = tmpfile();

	assert_non_null(f);
	assert_int_equal(nwt_writer_open_file(f, "mem", &meta, &cfg, &w, err, sizeof(err)), 0);
	/* in pieces, so that writes cross blocks */
	for (size_t at = 0; at < n;) {
		size_t k = n - at < 1000 ? n - at : 1000;
		assert_int_equal(nwt_write(w, recs + at, k, err, sizeof(err)), 0);
		at += k;
	}
	assert_int_equal(nwt_writer_close(w, err, sizeof(err)), 0);
	b.n = (size_t)ftello(f);
	b.p = malloc(b.n ? b.n : 1);
	assert_non_null(b.p);
	rewind(f);
	assert_int_equal(fread(b.p, 1, b.n, f), b.n);
	fclose(f);
	return b;
}

/*
 * Read a blob back: the records (count in *n), or NULL with the negative
 * errno in *rc and the message in err.
 */
static struct nw_trace_rec *read_blob(const struct blob *b, size_t *n, int *rc, char *err,
				      size_t errlen)
{
	FILE *f = fmemopen(b->p, b->n, "rb");
	struct nwt_reader *r;
	size_t cap = 1024, got = 0;
	struct nw_trace_rec *out = malloc(cap * sizeof(*out));
	long k;

	assert_non_null(f);
	err[0] = 0;
	*rc = nwt_reader_open_file(f, "mem", &r, err, errlen);
	if (*rc < 0) {
		fclose(f);
		free(out);
		return NULL;
	}
	for (;;) {
		if (got == cap) {
			cap *= 2;
			out = realloc(out, cap * sizeof(*out));
			assert_non_null(out);
		}
		k = nwt_read(r, out + got, cap - got, err, errlen);
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	nwt_reader_close(r);
	fclose(f);
	*rc = (int)(k < 0 ? k : 0);
	if (k < 0) {
		free(out);
		return NULL;
	}
	*n = got;
	return out;
}

static bool same(const struct nw_trace_rec *a, const struct nw_trace_rec *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i].addr != b[i].addr || a[i].size != b[i].size || a[i].kind != b[i].kind)
			return false;
	return true;
}

static void round_trip(const struct nw_trace_rec *recs, size_t n, uint32_t block)
{
	struct blob b = write_blob(recs, n, block);
	char err[256];
	size_t got = 0;
	int rc;
	struct nw_trace_rec *back = read_blob(&b, &got, &rc, err, sizeof(err));

	if (!back)
		fail_msg("read back failed: %s", err);
	assert_int_equal(got, n);
	assert_true(same(recs, back, n));
	free(back);
	free(b.p);
}

/* A random program-like sequence: code runs forward, data jumps around. */
static struct nw_trace_rec *random_recs(uint64_t seed, size_t n)
{
	struct nw_rng rng = { seed };
	struct nw_trace_rec *r = malloc(n * sizeof(*r));
	uint64_t pc = 0x400000, sp = 0x7ffd0000;
	static const uint32_t sizes[] = { 1, 2, 4, 8, 16, 32, 62, 63, 64, 4096 };

	assert_non_null(r);
	for (size_t i = 0; i < n; i++) {
		unsigned kind = (unsigned)nw_rng_below(&rng, 4);
		uint64_t addr;
		if (kind == NW_TRACE_IFETCH)
			addr = pc += 1 + nw_rng_below(&rng, 8);
		else if (nw_rng_below(&rng, 8) == 0)
			addr = nw_rng_next(&rng); /* anywhere at all */
		else
			addr = sp + nw_rng_below(&rng, 1 << 16);
		r[i] = (struct nw_trace_rec){ addr, sizes[nw_rng_below(&rng, 10)], (uint8_t)kind };
	}
	return r;
}

/* ---- varints ---- */

static void test_varint(void **state)
{
	static const uint64_t vals[] = { 0, 1, 127, 128, 16383, 16384, UINT32_MAX, 1ull << 63,
					 UINT64_MAX };
	uint8_t buf[16];
	uint64_t v;

	(void)state;
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		size_t n = nwt_varint_put(buf, vals[i]);
		assert_int_equal(nwt_varint_get(buf, buf + n, &v), (int)n);
		assert_true(v == vals[i]);
		assert_int_equal(nwt_varint_get(buf, buf + n - 1, &v), 0); /* cut short */
	}
	assert_int_equal(nwt_varint_put(buf, UINT64_MAX), 10);
	assert_true(nwt_zigzag(INT64_MIN) == UINT64_MAX);
	assert_true(nwt_unzigzag(nwt_zigzag(INT64_MIN)) == INT64_MIN);
	assert_true(nwt_unzigzag(nwt_zigzag(INT64_MAX)) == INT64_MAX);
	assert_true(nwt_unzigzag(nwt_zigzag(-1)) == -1);
	/* 10th byte above 1, and 11 bytes: both overflow */
	memset(buf, 0xff, 9);
	buf[9] = 0x02;
	assert_int_equal(nwt_varint_get(buf, buf + 10, &v), -1);
	memset(buf, 0x80, 11);
	assert_int_equal(nwt_varint_get(buf, buf + 11, &v), -1);
}

/* ---- round trips ---- */

static void test_round_trip_random(void **state)
{
	static const uint64_t seeds[] = { 1, 2, 42, 0xdeadbeef };
	static const uint32_t blocks[] = { 1, 7, 1000, 0 };
	const size_t n = 20000;

	(void)state;
	for (size_t s = 0; s < sizeof(seeds) / sizeof(seeds[0]); s++) {
		struct nw_trace_rec *r = random_recs(seeds[s], n);
		round_trip(r, n, blocks[s]);
		free(r);
	}
}

static void test_round_trip_edges(void **state)
{
	/* deltas of +2^63 and -2^63, wrap-arounds, and sizes at each code boundary */
	static const struct nw_trace_rec e[] = {
		{ 0, 1, NW_TRACE_LOAD },
		{ 1ull << 63, 62, NW_TRACE_STORE },          /* +2^63 */
		{ 0, 63, NW_TRACE_MODIFY },                  /* -2^63 */
		{ UINT64_MAX, UINT32_MAX, NW_TRACE_LOAD },   /* -1 */
		{ 0, 64, NW_TRACE_LOAD },                    /* +1 past the top */
		{ (1ull << 63) - 1, 8, NW_TRACE_STORE },
		{ UINT64_MAX, 1, NW_TRACE_IFETCH },
		{ 0, 15, NW_TRACE_IFETCH },
		{ 1ull << 63, 3, NW_TRACE_IFETCH },
	};
	const size_t n = sizeof(e) / sizeof(e[0]);

	(void)state;
	for (uint32_t block = 1; block <= n + 1; block++)
		round_trip(e, n, block);
	round_trip(e, 0, 0); /* empty */
}

static void test_empty_trace(void **state)
{
	struct blob b = write_blob(NULL, 0, 0);
	char err[256];
	size_t n = 99;
	int rc;
	struct nw_trace_rec *r = read_blob(&b, &n, &rc, err, sizeof(err));

	(void)state;
	assert_non_null(r);
	assert_int_equal(n, 0);
	/* a header, the end block and its count, nothing else */
	assert_int_equal(b.n, NWT_HEADER_FIXED + strlen("prog") + strlen("prog --arg") + NWT_BLOCK_HEADER + 8);
	free(r);
	free(b.p);
}

/* Negative control: change one record's delta inside a block, re-encoded
 * validly, and the comparison must see it. */
static void test_round_trip_control(void **state)
{
	const size_t n = 300;
	struct nw_trace_rec *r = random_recs(7, n), *back;
	struct blob b = write_blob(r, n, 0);
	size_t hdr = NWT_HEADER_FIXED + strlen("prog") + strlen("prog --arg"), got;
	uint32_t rawlen, zlen;
	uint8_t *raw, *z;
	char err[256];
	int rc;

	(void)state;
	memcpy(&rawlen, b.p + hdr + 4, 4);
	memcpy(&zlen, b.p + hdr + 8, 4);
	raw = malloc(rawlen);
	assert_int_equal(ZSTD_decompress(raw, rawlen, b.p + hdr + NWT_BLOCK_HEADER, zlen), rawlen);
	raw[1] ^= 0x02; /* the first delta's second-lowest bit: a different address */
	z = malloc(ZSTD_compressBound(rawlen));
	size_t z2 = ZSTD_compress(z, ZSTD_compressBound(rawlen), raw, rawlen, 3);
	assert_false(ZSTD_isError(z2));
	struct blob c = { malloc(b.n + z2), 0 };
	memcpy(c.p, b.p, hdr + NWT_BLOCK_HEADER);
	uint32_t z32 = (uint32_t)z2;
	memcpy(c.p + hdr + 8, &z32, 4);
	memcpy(c.p + hdr + NWT_BLOCK_HEADER, z, z2);
	size_t rest = b.n - (hdr + NWT_BLOCK_HEADER + zlen);
	memcpy(c.p + hdr + NWT_BLOCK_HEADER + z2, b.p + hdr + NWT_BLOCK_HEADER + zlen, rest);
	c.n = hdr + NWT_BLOCK_HEADER + z2 + rest;
	back = read_blob(&c, &got, &rc, err, sizeof(err));
	assert_non_null(back);          /* still a valid file ... */
	assert_int_equal(got, n);
	assert_false(same(r, back, n)); /* ... but not the same trace */
	free(back);
	free(raw);
	free(z);
	free(c.p);
	free(b.p);
	free(r);
}

/* ---- lackey ---- */

static int collect(void *arg, const struct nw_trace_rec *rec)
{
	struct nw_trace_rec **at = arg;

	*(*at)++ = *rec;
	return 0;
}

/* Text from records, fed in chunks of `chunk` bytes, parsed back. */
static void test_lackey_round_trip(void **state)
{
	const size_t n = 5000;
	struct nw_trace_rec *r = random_recs(3, n), *back = malloc(n * sizeof(*back)), *at;
	char *text = malloc(n * 48 + 200);
	size_t len = 0;
	struct nw_lackey p;
	char err[256];

	(void)state;
	len += (size_t)sprintf(text + len, "==123== Lackey, an example Valgrind tool\n==123== Command: prog --arg\n");
	for (size_t i = 0; i < n; i++) {
		static const char *const k[] = { " L ", " S ", " M ", "I  " };
		len += (size_t)sprintf(text + len, "%s%08llx,%u\n", k[r[i].kind],
				       (unsigned long long)r[i].addr, r[i].size);
		if (i == n / 2)
			len += (size_t)sprintf(text + len, "==123== a commentary line in the middle\n\n");
	}
	len += (size_t)sprintf(text + len, "==123== Counted 1 call to main()");
	for (size_t chunk = 1; chunk <= 4096; chunk *= 8) {
		at = back;
		nw_lackey_init(&p);
		for (size_t o = 0; o < len; o += chunk)
			assert_int_equal(nw_lackey_feed(&p, text + o, o + chunk < len ? chunk : len - o,
							collect, &at, err, sizeof(err)), 0);
		assert_int_equal(nw_lackey_finish(&p, collect, &at, err, sizeof(err)), 0);
		assert_int_equal(at - back, n);
		assert_true(same(r, back, n));
	}
	/* and on through the file format */
	round_trip(back, n, 512);
	free(text);
	free(back);
	free(r);
}

/* One bad line after good ones: -EBADMSG naming its line number. */
static void expect_bad_lackey(const char *text, const char *want)
{
	struct nw_trace_rec buf[16], *at = buf;
	struct nw_lackey p;
	char err[256] = "";
	int rc;

	nw_lackey_init(&p);
	rc = nw_lackey_feed(&p, text, strlen(text), collect, &at, err, sizeof(err));
	if (rc == 0)
		rc = nw_lackey_finish(&p, collect, &at, err, sizeof(err));
	assert_int_equal(rc, -EBADMSG);
	if (!strstr(err, want))
		fail_msg("message '%s' lacks '%s'", err, want);
}

static void test_lackey_bad_kind(void **state)
{
	(void)state;
	expect_bad_lackey("I  0400000,4\n X 1000,8\n", "line 2:");
}

static void test_lackey_bad_address(void **state)
{
	(void)state;
	expect_bad_lackey(" L 1000,8\n L 10g0,8\n", "line 2:");
	expect_bad_lackey(" L 1000,8\n S 00000000000000001,8\n", "line 2:"); /* 17 digits */
	expect_bad_lackey(" L ,8\n", "line 1:");
}

static void test_lackey_bad_size(void **state)
{
	(void)state;
	expect_bad_lackey(" L 1000,8\n\n M 1000,0\n", "line 3:");
	expect_bad_lackey(" L 1000,\n", "line 1:");
	expect_bad_lackey(" L 1000,99999999999\n", "line 1:");
	expect_bad_lackey(" L 1000,8 junk\n", "line 1:");
	expect_bad_lackey(" L 1000\n", "line 1:"); /* no size at all, last line without newline too */
	expect_bad_lackey(" L 1000,8\n L 2000", "line 2:");
}

static void test_lackey_not_text(void **state)
{
	char big[NW_LACKEY_LINE_MAX + 40];

	(void)state;
	expect_bad_lackey("hello world\n", "line 1:");
	memset(big, ' ', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	expect_bad_lackey(big, "line 1: longer than");
	expect_bad_lackey(" L 1000,8\n L 10\0000,8\n", "line 2:");
}

/* Long commentary (valgrind prints whole command lines) is fine. */
static void test_lackey_long_commentary(void **state)
{
	char *text = malloc(10000);
	struct nw_trace_rec buf[4], *at = buf;
	struct nw_lackey p;
	char err[256];

	(void)state;
	memset(text, 'x', 9000);
	memcpy(text, "==1== ", 6);
	strcpy(text + 9000, "\n S 10,4\n");
	nw_lackey_init(&p);
	assert_int_equal(nw_lackey_feed(&p, text, strlen(text), collect, &at, err, sizeof(err)), 0);
	assert_int_equal(at - buf, 1);
	assert_true(buf[0].addr == 0x10 && buf[0].size == 4 && buf[0].kind == NW_TRACE_STORE);
	free(text);
}

/* ---- bad .nwt files: each names its offset ---- */

static struct blob good_blob(void)
{
	struct nw_trace_rec *r = random_recs(11, 3000);
	struct blob b = write_blob(r, 3000, 1000); /* three blocks */

	free(r);
	return b;
}

#define HDR (NWT_HEADER_FIXED + 4 + 10) /* with "prog" and "prog --arg" */

static void expect_bad(const struct blob *b, int want_rc, const char *want)
{
	char err[256];
	size_t n;
	int rc;
	struct nw_trace_rec *r = read_blob(b, &n, &rc, err, sizeof(err));

	assert_null(r);
	assert_int_equal(rc, want_rc);
	if (!strstr(err, want))
		fail_msg("message '%s' lacks '%s'", err, want);
	if (!strstr(err, "mem: "))
		fail_msg("message '%s' does not name the file", err);
}

static void test_bad_truncated(void **state)
{
	struct blob b = good_blob(), t = b;
	uint32_t zlen;

	(void)state;
	t.n = 20;
	expect_bad(&t, -EBADMSG, "truncated at offset 0: the header");
	t.n = HDR - 3;
	expect_bad(&t, -EBADMSG, "truncated at offset 36");
	t.n = HDR + 5;
	expect_bad(&t, -EBADMSG, "truncated at offset 46: a block header");
	memcpy(&zlen, b.p + HDR + 8, 4);
	t.n = HDR + NWT_BLOCK_HEADER + zlen - 1;
	expect_bad(&t, -EBADMSG, "truncated at offset 58: a block's compressed data");
	t.n = b.n - 20; /* the end block is missing */
	expect_bad(&t, -EBADMSG, "truncated at offset");
	t.n = b.n - 3;
	expect_bad(&t, -EBADMSG, "the end block's count");
	free(b.p);
}

static void test_bad_magic(void **state)
{
	struct blob b = good_blob();

	(void)state;
	b.p[1] = 'X';
	expect_bad(&b, -EBADMSG, "bad magic at offset 0");
	free(b.p);
}

static void test_bad_version(void **state)
{
	struct blob b = good_blob();

	(void)state;
	b.p[8] = 2;
	expect_bad(&b, -EPROTONOSUPPORT, "version 2 at offset 8");
	b.p[8] = 1;
	b.p[10] = 4;
	expect_bad(&b, -EBADMSG, "unknown flags 0x4 at offset 10");
	free(b.p);
}

static void test_bad_zstd(void **state)
{
	struct blob b = good_blob();

	(void)state;
	uint32_t zlen;

	memcpy(&zlen, b.p + HDR + 8, 4);
	b.p[HDR + NWT_BLOCK_HEADER + zlen / 2] ^= 0x55; /* in the middle of the first frame */
	expect_bad(&b, -EBADMSG, "block at offset 46: corrupt zstd data");
	free(b.p);
}

/* A file with one block whose decoded bytes are raw (crafted), n records. */
static struct blob craft(const uint8_t *raw, uint32_t rawlen, uint32_t nrec)
{
	struct blob e = write_blob(NULL, 0, 0), c;
	size_t zcap = ZSTD_compressBound(rawlen), z;
	uint8_t bh[NWT_BLOCK_HEADER];

	c.p = malloc(e.n + NWT_BLOCK_HEADER + zcap);
	memcpy(c.p, e.p, HDR);
	memset(c.p + 16, 0xff, 8); /* count unknown */
	z = ZSTD_compress(c.p + HDR + NWT_BLOCK_HEADER, zcap, raw, rawlen, 1);
	assert_false(ZSTD_isError(z));
	memcpy(bh, &nrec, 4);
	memcpy(bh + 4, &rawlen, 4);
	uint32_t z32 = (uint32_t)z;
	memcpy(bh + 8, &z32, 4);
	memcpy(c.p + HDR, bh, sizeof(bh));
	memcpy(c.p + HDR + NWT_BLOCK_HEADER + z, e.p + HDR, e.n - HDR); /* the end block */
	uint64_t one = nrec;
	memcpy(c.p + HDR + NWT_BLOCK_HEADER + z + NWT_BLOCK_HEADER, &one, 8);
	c.n = HDR + NWT_BLOCK_HEADER + z + (e.n - HDR);
	free(e.p);
	return c;
}

static void test_crafted_valid(void **state)
{
	/* The crafting itself is right: a well-formed block reads back. */
	const uint8_t raw[] = { NW_TRACE_LOAD | 8 << 2, 0x80, 0x01, NW_TRACE_STORE | 4 << 2, 0x01 };
	struct blob c = craft(raw, sizeof(raw), 2);
	char err[256];
	size_t n;
	int rc;
	struct nw_trace_rec *r = read_blob(&c, &n, &rc, err, sizeof(err));

	(void)state;
	if (!r)
		fail_msg("%s", err);
	assert_int_equal(n, 2);
	assert_true(r[0].addr == 64 && r[0].size == 8 && r[1].addr == 63 && r[1].size == 4);
	free(r);
	free(c.p);
}

static void test_bad_varint(void **state)
{
	uint8_t raw[16] = { NW_TRACE_LOAD | 8 << 2 };

	(void)state;
	memset(raw + 1, 0xff, 9);
	raw[10] = 0x7f; /* a 10th byte above 1 */
	struct blob c = craft(raw, 11, 1);
	expect_bad(&c, -EBADMSG, "block at offset 46, byte 1: varint overflow");
	free(c.p);
}

static void test_bad_counts(void **state)
{
	const uint8_t raw[] = { NW_TRACE_LOAD | 8 << 2, 0x02, NW_TRACE_LOAD | 8 << 2, 0x02 };
	struct blob c = craft(raw, sizeof(raw), 1000000); /* far more than 4 bytes can hold */

	(void)state;
	expect_bad(&c, -EBADMSG, "block at offset 46: absurd counts (1000000 records");
	free(c.p);
	c = craft(raw, sizeof(raw), 1); /* fewer: bytes left over */
	expect_bad(&c, -EBADMSG, "block at offset 46: 2 bytes left after its last record");
	free(c.p);
	const uint8_t cut[] = { NW_TRACE_LOAD | 8 << 2, 0x02, NW_TRACE_LOAD | 8 << 2, 0x82 };
	c = craft(cut, sizeof(cut), 2); /* the last varint runs off the end */
	expect_bad(&c, -EBADMSG, "block at offset 46: its data ends inside record 1");
	free(c.p);

	struct blob b = good_blob();
	uint32_t huge = NWT_BLOCK_RAW_MAX + 1;
	memcpy(b.p + HDR + 4, &huge, 4);
	expect_bad(&b, -EBADMSG, "block at offset 46: absurd counts");
	free(b.p);

	b = good_blob();
	b.p[16] = 5; /* the header's count: 5 (was 3000) */
	b.p[17] = 0;
	expect_bad(&b, -EBADMSG, "passes the header's count of 5 records");
	free(b.p);

	b = good_blob();
	b.p[b.n - 8] ^= 1; /* the end block's count */
	expect_bad(&b, -EBADMSG, "end block at offset");
	free(b.p);

	b = good_blob();
	uint32_t meta = NWT_META_MAX + 1;
	memcpy(b.p + 24, &meta, 4);
	expect_bad(&b, -EBADMSG, "absurd metadata length 65537 at offset 24");
	free(b.p);
}

static void test_bad_trailing(void **state)
{
	struct blob b = good_blob();

	(void)state;
	b.p = realloc(b.p, b.n + 1);
	b.p[b.n++] = 0;
	expect_bad(&b, -EBADMSG, "trailing bytes at offset");
	free(b.p);
}

static void test_bad_size_code(void **state)
{
	const uint8_t raw[] = { NW_TRACE_LOAD, 0x02 }; /* size code 0 */
	struct blob c = craft(raw, sizeof(raw), 1);

	(void)state;
	expect_bad(&c, -EBADMSG, "block at offset 46, byte 0: record with size 0");
	free(c.p);
}

/* ---- writer arguments ---- */

static void test_writer_rejects(void **state)
{
	struct nw_trace_rec bad[] = { { 0x1000, 0, NW_TRACE_LOAD } };
	struct nw_trace_rec bad2[] = { { 0x1000, 4, 7 } };
	struct nwt_writer *w;
	char err[256];
	FILE *f = tmpfile();

	(void)state;
	assert_int_equal(nwt_writer_open_file(f, "t", NULL, NULL, &w, err, sizeof(err)), 0);
	assert_int_equal(nwt_write(w, bad, 1, err, sizeof(err)), -EINVAL);
	assert_int_equal(nwt_write(w, bad2, 1, err, sizeof(err)), -EINVAL);
	assert_true(nwt_writer_count(w) == 0);
	assert_int_equal(nwt_writer_close(w, err, sizeof(err)), 0);
	fclose(f);
}

/* ---- info ---- */

/* The LRU stack distance by the book: O(n * pages). */
static uint64_t *naive_reuse(const struct nw_trace_rec *r, size_t n, bool broken)
{
	uint64_t *stack = malloc(n * sizeof(*stack)), *hist = calloc(NW_REUSE_BUCKETS, sizeof(*hist));
	size_t depth = 0;

	for (size_t i = 0; i < n; i++) {
		uint64_t pg = r[i].addr >> 12;
		size_t d = 0;
		while (d < depth && stack[d] != pg)
			d++;
		if (d == depth) {
			hist[NW_REUSE_COLD]++;
			depth++;
		} else {
			uint64_t v = broken ? d + 1 : d; /* the control counts the page itself */
			unsigned b = 0;
			while (v) {
				b++;
				v >>= 1;
			}
			hist[b]++;
		}
		memmove(stack + 1, stack, d * sizeof(*stack));
		stack[0] = pg;
	}
	free(stack);
	return hist;
}

/* The exact median of the warm accesses' distances, by the book. */
static uint64_t naive_median(const struct nw_trace_rec *r, size_t n)
{
	uint64_t *stack = malloc(n * sizeof(*stack)), *d = malloc(n * sizeof(*d)), m;
	size_t depth = 0, nd = 0;

	for (size_t i = 0; i < n; i++) {
		uint64_t pg = r[i].addr >> 12;
		size_t k = 0;
		while (k < depth && stack[k] != pg)
			k++;
		if (k == depth)
			depth++;
		else
			d[nd++] = k;
		memmove(stack + 1, stack, k * sizeof(*stack));
		stack[0] = pg;
	}
	/* the smallest value with at least half the warm accesses at or below it */
	m = 0;
	for (;; m++) {
		size_t at_or_below = 0;
		for (size_t i = 0; i < nd; i++)
			at_or_below += d[i] <= m;
		if (at_or_below * 2 >= nd)
			break;
	}
	free(stack);
	free(d);
	return m;
}

static struct nw_trace_info info_of(const struct nw_trace_rec *r, size_t n)
{
	struct nw_trace_info_acc *a;
	struct nw_trace_info in;

	assert_int_equal(nw_trace_info_begin(&a), 0);
	assert_int_equal(nw_trace_info_add(a, r, n), 0);
	assert_int_equal(nw_trace_info_end(a, &in), 0);
	return in;
}

static void test_info_small(void **state)
{
	/* pages A B C A A B, then a far region */
	static const struct nw_trace_rec r[] = {
		{ 0x10000, 8, NW_TRACE_LOAD },  { 0x11000, 8, NW_TRACE_STORE }, { 0x12008, 4, NW_TRACE_IFETCH },
		{ 0x10010, 8, NW_TRACE_MODIFY }, { 0x10ff8, 8, NW_TRACE_LOAD },  { 0x11000, 8, NW_TRACE_LOAD },
		{ 0x7f0000000000, 8, NW_TRACE_STORE },
	};
	struct nw_trace_info in = info_of(r, 7);

	(void)state;
	assert_int_equal(in.records, 7);
	assert_int_equal(in.by_kind[NW_TRACE_LOAD], 3);
	assert_int_equal(in.by_kind[NW_TRACE_STORE], 2);
	assert_int_equal(in.by_kind[NW_TRACE_MODIFY], 1);
	assert_int_equal(in.by_kind[NW_TRACE_IFETCH], 1);
	assert_int_equal(in.pages_4k, 4);
	assert_int_equal(in.pages_2m, 2);
	assert_int_equal(in.nregions, 2);
	assert_true(in.regions[0].start == 0x10000 && in.regions[0].end == 0x13000);
	assert_int_equal(in.regions[0].pages, 3);
	assert_true(in.regions[1].start == 0x7f0000000000 && in.regions[1].end == 0x7f0000001000);
	assert_int_equal(in.reuse[NW_REUSE_COLD], 4); /* A B C far */
	assert_int_equal(in.reuse[0], 1);             /* A A */
	assert_int_equal(in.reuse[2], 2);             /* A after B C; B after C A */
	assert_int_equal(in.reuse_median, 2);         /* of 0, 2, 2 */
	assert_true(in.lo == 0x10000 && in.hi == 0x7f0000000007);
	nw_trace_info_fini(&in);
}

/* Against the naive stack on random sequences long enough to renumber
 * the Fenwick tree's times several times. */
static void test_info_reuse_vs_naive(void **state)
{
	const size_t n = 150000;
	struct nw_rng rng = { 5 };
	struct nw_trace_rec *r = malloc(n * sizeof(*r));

	(void)state;
	for (size_t i = 0; i < n; i++) {
		uint64_t pg = nw_rng_below(&rng, 8) ? nw_rng_below(&rng, 300) : nw_rng_below(&rng, 3000);
		r[i] = (struct nw_trace_rec){ pg << 12 | nw_rng_below(&rng, 4096), 1, NW_TRACE_LOAD };
	}
	struct nw_trace_info in = info_of(r, n);
	uint64_t *want = naive_reuse(r, n, false), *broken = naive_reuse(r, n, true);
	assert_memory_equal(in.reuse, want, sizeof(in.reuse));
	assert_memory_not_equal(in.reuse, broken, sizeof(in.reuse)); /* the control */
	assert_int_equal(in.reuse_median, naive_median(r, n));
	assert_true(in.reuse_median > 8); /* between buckets, so exactness shows */
	nw_trace_info_fini(&in);
	free(want);
	free(broken);
	free(r);
}

static void test_regions(void **state)
{
	const uint64_t gap = NW_TRACE_REGION_GAP >> 12;
	uint64_t pages[] = { 1, 2, 2 + gap, 3 + 2 * gap + 1, 1000 };
	struct nw_trace_region out[8];

	(void)state;
	assert_int_equal(nw_trace_regions(pages, 5, out, 8), 3);
	assert_true(out[0].start == 1 << 12 && out[0].end == (3 + gap) << 12 && out[0].pages == 3);
	assert_true(out[1].start == (3 + 2 * gap + 1) << 12 && out[1].pages == 1);
	assert_int_equal(nw_trace_regions(pages, 5, out, 1), 3); /* counts beyond max */
	assert_int_equal(nw_trace_regions(pages, 0, out, 8), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_varint),
		cmocka_unit_test(test_round_trip_random),
		cmocka_unit_test(test_round_trip_edges),
		cmocka_unit_test(test_empty_trace),
		cmocka_unit_test(test_round_trip_control),
		cmocka_unit_test(test_lackey_round_trip),
		cmocka_unit_test(test_lackey_bad_kind),
		cmocka_unit_test(test_lackey_bad_address),
		cmocka_unit_test(test_lackey_bad_size),
		cmocka_unit_test(test_lackey_not_text),
		cmocka_unit_test(test_lackey_long_commentary),
		cmocka_unit_test(test_bad_truncated),
		cmocka_unit_test(test_bad_magic),
		cmocka_unit_test(test_bad_version),
		cmocka_unit_test(test_bad_zstd),
		cmocka_unit_test(test_crafted_valid),
		cmocka_unit_test(test_bad_varint),
		cmocka_unit_test(test_bad_counts),
		cmocka_unit_test(test_bad_trailing),
		cmocka_unit_test(test_bad_size_code),
		cmocka_unit_test(test_writer_rejects),
		cmocka_unit_test(test_info_small),
		cmocka_unit_test(test_info_reuse_vs_naive),
		cmocka_unit_test(test_regions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
