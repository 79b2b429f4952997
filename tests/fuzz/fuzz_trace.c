/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the two parsers of untrusted input: the .nwt reader
 * and the lackey text parser. The first byte picks one; the rest is the
 * file (read through fmemopen, records pulled in odd-sized batches) or the
 * text (fed in chunks whose sizes come from the input, so lines split at
 * every place). Any crash, sanitizer report or broken promise (a record of
 * size 0 or an unknown kind, a count that runs past the header's, an error
 * without a message) is a finding.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if (data[0] & 1)
		fuzz_lackey(data + 1, size - 1);
	else
		fuzz_reader(data + 1, size - 1);
	return 0;
}
