/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the two parsers of untrusted input: the .nwt reader
 * and the lackey text parser. The first byte picks one of three modes; the
 * rest is the file (read through fmemopen, records pulled in odd-sized
 * batches), the text (fed in chunks whose sizes come from the input, so
 * lines split at every place), or the decoded bytes of one block, which
 * the target compresses and wraps in a valid header and end block itself:
 * random bytes seldom make a zstd frame, and this way the record decoder
 * sees every kind of damage. Any crash, sanitizer report or broken promise (a record of
 * size 0 or an unknown kind, a count that runs past the header's, an error
 * without a message) is a finding.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "lackey.h"
#include "nwt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_rec(const struct nw_trace_rec *r)
{
	if (r->size == 0 || r->kind >= NW_TRACE_KINDS)
		abort();
}

static void fuzz_reader(const uint8_t *data, size_t size)
{
	static struct nw_trace_rec buf[257];
	struct nwt_reader *r;
	char err[256] = "";
	uint64_t total = 0;
	size_t batch = 1;
	long n;
	FILE *f = fmemopen((void *)data, size, "rb");

	if (!f)
		return;
	if (nwt_reader_open_file(f, "fuzz", &r, err, sizeof(err)) < 0) {
		if (!err[0])
			abort();
		fclose(f);
		return;
	}
	while ((n = nwt_read(r, buf, batch, err, sizeof(err))) > 0) {
		for (long i = 0; i < n; i++)
			check_rec(&buf[i]);
		total += (uint64_t)n;
		batch = batch * 3 % 257 + 1;
	}
	if (n < 0 && !err[0])
		abort();
	if (n == 0 && nwt_reader_count(r) != NWT_COUNT_UNKNOWN && nwt_reader_count(r) != total)
		abort(); /* a complete file holds exactly its header's count */
	nwt_reader_close(r);
	fclose(f);
}

static int emit(void *arg, const struct nw_trace_rec *rec)
{
	check_rec(rec);
	++*(uint64_t *)arg;
	return 0;
}

static void fuzz_lackey(const uint8_t *data, size_t size)
{
	struct nw_lackey p;
	char err[256] = "";
	uint64_t n = 0;
	size_t at = 0, chunk = size ? data[0] % 61 + 1 : 1;
	int rc = 0;

	nw_lackey_init(&p);
	while (at < size && rc == 0) {
		size_t k = size - at < chunk ? size - at : chunk;
		rc = nw_lackey_feed(&p, (const char *)data + at, k, emit, &n, err, sizeof(err));
		at += k;
		chunk = chunk * 7 % 61 + 1;
	}
	if (rc == 0)
		rc = nw_lackey_finish(&p, emit, &n, err, sizeof(err));
	if (rc < 0 && (rc != -EBADMSG || strncmp(err, "line ", 5)))
		abort(); /* bad text is -EBADMSG naming its line */
	if (n != p.records)
		abort();
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* data[0]: the block's record count (1..256); the rest: its decoded bytes. */
static void fuzz_block(const uint8_t *data, size_t size)
{
	static uint8_t file[NWT_HEADER_FIXED + NWT_BLOCK_HEADER + 8 + 4096 + 1024];
	uint32_t nrec, raw;
	size_t z, at = 0;

	if (size < 2 || size - 1 > 4096)
		return;
	nrec = (uint32_t)data[0] + 1;
	raw = (uint32_t)(size - 1);
	memcpy(file, NWT_MAGIC, NWT_MAGIC_LEN);
	file[8] = NWT_VERSION;
	file[9] = file[10] = file[11] = 0;
	put32(file + 12, NWT_HEADER_FIXED);
	memset(file + 16, 0xff, 8); /* count unknown */
	memset(file + 24, 0, 8);    /* no metadata */
	at = NWT_HEADER_FIXED;
	z = ZSTD_compress(file + at + NWT_BLOCK_HEADER, sizeof(file) - at - NWT_BLOCK_HEADER - 20,
			  data + 1, raw, 1);
	if (ZSTD_isError(z))
		abort();
	put32(file + at, nrec);
	put32(file + at + 4, raw);
	put32(file + at + 8, (uint32_t)z);
	at += NWT_BLOCK_HEADER + z;
	memset(file + at, 0, NWT_BLOCK_HEADER);
	put32(file + at + NWT_BLOCK_HEADER, nrec);
	memset(file + at + NWT_BLOCK_HEADER + 4, 0, 4);
	at += NWT_BLOCK_HEADER + 8;
	fuzz_reader(file, at);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	switch (data[0] % 3) {
	case 0: fuzz_reader(data + 1, size - 1); break;
	case 1: fuzz_lackey(data + 1, size - 1); break;
	default: fuzz_block(data + 1, size - 1); break;
	}
	return 0;
}
