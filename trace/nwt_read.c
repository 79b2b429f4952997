/* SPDX-License-Identifier: MIT */
/*
 * The .nwt reader: the header, then one block at a time (at most
 * NWT_BLOCK_RAW_MAX decoded bytes in memory). Nothing in the file is
 * trusted: every length is checked against its bound before it is used,
 * and every error names the file offset where the damage is. The end block
 * must come, and its count must match the records read and the header's.
 */

#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "nwt.h"

struct nwt_reader {
	FILE *f;
	bool own;
	char name[256];
	uint64_t count;         /* the header's */
	uint32_t header_len;
	char *program, *cmdline;
	uint64_t off;           /* file offset of the next unread byte */
	/* the current block */
	uint64_t block_off;     /* its file offset */
	uint8_t *raw;           /* grown to the largest block seen, at most NWT_BLOCK_RAW_MAX */
	size_t rawcap, rawlen, pos;
	uint32_t left;          /* its records not yet returned */
	uint64_t prev[2];
	uint8_t *z;
	size_t zcap;
	ZSTD_DCtx *dctx;
	uint64_t read;          /* records returned */
	bool done;
	int error;              /* sticky */
	char msg[256];
};

/* ---- private prototypes ---- */
static int rerr(struct nwt_reader *r, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int read_header(struct nwt_reader *r);
static int next_block(struct nwt_reader *r);
static int decode(struct nwt_reader *r, struct nw_trace_rec *rec);

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

/* A message "NAME: ..." kept in the reader (errors are sticky). */
static int rerr(struct nwt_reader *r, int rc, const char *fmt, ...)
{
	int n = snprintf(r->msg, sizeof(r->msg), "%s: ", r->name);
	va_list ap;

	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < sizeof(r->msg))
		vsnprintf(r->msg + n, sizeof(r->msg) - (size_t)n, fmt, ap);
	va_end(ap);
	r->error = rc;
	return rc;
}

static int give(const struct nwt_reader *r, int rc, char *err, size_t errlen)
{
	if (rc < 0 && err && errlen)
		snprintf(err, errlen, "%s", r->msg);
	return rc;
}

/* Exactly n bytes at r->off, or an error saying what was being read. */
static int read_exact(struct nwt_reader *r, void *p, size_t n, const char *what)
{
	size_t got = fread(p, 1, n, r->f);

	if (got != n) {
		if (ferror(r->f))
			return rerr(r, -EIO, "read error at offset %llu: %s",
				    (unsigned long long)(r->off + got), strerror(errno ? errno : EIO));
		return rerr(r, -EBADMSG, "truncated at offset %llu: %s needs %zu bytes, %zu left",
			    (unsigned long long)r->off, what, n, got);
	}
	r->off += n;
	return 0;
}

static int read_header(struct nwt_reader *r)
{
	uint8_t h[NWT_HEADER_FIXED];
	uint32_t plen, clen;
	unsigned version, flags;
	int rc;

	if ((rc = read_exact(r, h, sizeof(h), "the header")) < 0)
		return rc;
	if (memcmp(h, NWT_MAGIC, NWT_MAGIC_LEN))
		return rerr(r, -EBADMSG, "bad magic at offset 0: not a .nwt trace");
	version = h[8] | h[9] << 8;
	flags = h[10] | h[11] << 8;
	if (version != NWT_VERSION)
		return rerr(r, -EPROTONOSUPPORT,
			    "version %u at offset 8 is not supported (this reader reads version %u)",
			    version, NWT_VERSION);
	if (flags)
		return rerr(r, -EBADMSG, "unknown flags 0x%x at offset 10", flags);
	r->header_len = get32(h + 12);
	r->count = get64(h + 16);
	plen = get32(h + 24);
	clen = get32(h + 28);
	if (plen > NWT_META_MAX || clen > NWT_META_MAX)
		return rerr(r, -EBADMSG, "absurd metadata length %u at offset %d (at most %u)",
			    plen > NWT_META_MAX ? plen : clen, plen > NWT_META_MAX ? 24 : 28,
			    NWT_META_MAX);
	if (r->header_len != NWT_HEADER_FIXED + plen + clen)
		return rerr(r, -EBADMSG, "header length %u at offset 12 is not %u + %u + %u",
			    r->header_len, NWT_HEADER_FIXED, plen, clen);
	r->program = calloc(1, plen + 1);
	r->cmdline = calloc(1, clen + 1);
	if (!r->program || !r->cmdline)
		return rerr(r, -ENOMEM, "out of memory");
	if ((rc = read_exact(r, r->program, plen, "the program name")) < 0 ||
	    (rc = read_exact(r, r->cmdline, clen, "the command line")) < 0)
		return rc;
	return 0;
}

/* The next block into r->raw, or the end block (r->done). */
static int next_block(struct nwt_reader *r)
{
	uint8_t bh[NWT_BLOCK_HEADER], tail[8];
	uint32_t nrec, rawlen, zlen;
	size_t got;
	int rc;

	r->block_off = r->off;
	if ((rc = read_exact(r, bh, sizeof(bh), "a block header")) < 0)
		return rc;
	nrec = get32(bh);
	rawlen = get32(bh + 4);
	zlen = get32(bh + 8);
	if (!nrec && !rawlen && !zlen) {
		uint64_t total;
		int c;
		if ((rc = read_exact(r, tail, sizeof(tail), "the end block's count")) < 0)
			return rc;
		total = get64(tail);
		if (total != r->read)
			return rerr(r, -EBADMSG, "end block at offset %llu counts %llu records, the blocks hold %llu",
				    (unsigned long long)r->block_off, (unsigned long long)total,
				    (unsigned long long)r->read);
		if (r->count != NWT_COUNT_UNKNOWN && r->count != total)
			return rerr(r, -EBADMSG, "header at offset 16 counts %llu records, the file holds %llu",
				    (unsigned long long)r->count, (unsigned long long)total);
		if ((c = fgetc(r->f)) != EOF)
			return rerr(r, -EBADMSG, "trailing bytes at offset %llu after the end block",
				    (unsigned long long)r->off);
		r->done = true;
		return 0;
	}
	if (!nrec || !rawlen || !zlen || rawlen > NWT_BLOCK_RAW_MAX ||
	    nrec > rawlen / NWT_REC_MIN_BYTES || (uint64_t)nrec * NWT_REC_MAX_BYTES < rawlen ||
	    zlen > ZSTD_compressBound(rawlen))
		return rerr(r, -EBADMSG,
			    "block at offset %llu: absurd counts (%u records, %u bytes, %u compressed)",
			    (unsigned long long)r->block_off, nrec, rawlen, zlen);
	if (r->count != NWT_COUNT_UNKNOWN && r->read + nrec > r->count)
		return rerr(r, -EBADMSG, "block at offset %llu passes the header's count of %llu records",
			    (unsigned long long)r->block_off, (unsigned long long)r->count);
	if (zlen > r->zcap) {
		uint8_t *z = realloc(r->z, zlen);
		if (!z)
			return rerr(r, -ENOMEM, "out of memory");
		r->z = z;
		r->zcap = zlen;
	}
	if (rawlen > r->rawcap) {
		uint8_t *raw = realloc(r->raw, rawlen);
		if (!raw)
			return rerr(r, -ENOMEM, "out of memory");
		r->raw = raw;
		r->rawcap = rawlen;
	}
	if ((rc = read_exact(r, r->z, zlen, "a block's compressed data")) < 0)
		return rc;
	/* A frame that decodes to more than its header says overflows rawlen:
	 * zstd reports it, and so it is corrupt data too. */
	got = ZSTD_decompressDCtx(r->dctx, r->raw, rawlen, r->z, zlen);
	if (ZSTD_isError(got))
		return rerr(r, -EBADMSG, "block at offset %llu: corrupt zstd data (%s)",
			    (unsigned long long)r->block_off, ZSTD_getErrorName(got));
	if (got != rawlen)
		return rerr(r, -EBADMSG, "block at offset %llu: decodes to %zu bytes, its header says %u",
			    (unsigned long long)r->block_off, got, rawlen);
	r->rawlen = rawlen;
	r->pos = 0;
	r->left = nrec;
	r->prev[0] = r->prev[1] = 0;
	return 0;
}

static int decode(struct nwt_reader *r, struct nw_trace_rec *rec)
{
	const uint8_t *p = r->raw + r->pos, *end = r->raw + r->rawlen;
	uint64_t u, size;
	unsigned kind, code;
	int n;

	if (p >= end)
		goto short_block;
	kind = *p & 3;
	code = *p >> 2;
	if (!code)
		return rerr(r, -EBADMSG, "block at offset %llu, byte %zu: record with size 0",
			    (unsigned long long)r->block_off, r->pos);
	p++;
	n = nwt_varint_get(p, end, &u);
	if (n < 0)
		return rerr(r, -EBADMSG, "block at offset %llu, byte %zu: varint overflow",
			    (unsigned long long)r->block_off, (size_t)(p - r->raw));
	if (n == 0)
		goto short_block;
	p += n;
	size = code;
	if (code == NWT_SIZE_ESCAPE) {
		n = nwt_varint_get(p, end, &size);
		if (n < 0 || (n > 0 && (size == 0 || size > UINT32_MAX)))
			return rerr(r, -EBADMSG, "block at offset %llu, byte %zu: bad size varint",
				    (unsigned long long)r->block_off, (size_t)(p - r->raw));
		if (n == 0)
			goto short_block;
		p += n;
	}
	int cls = kind == NW_TRACE_IFETCH;
	r->prev[cls] += (uint64_t)nwt_unzigzag(u);
	*rec = (struct nw_trace_rec){ .addr = r->prev[cls], .size = (uint32_t)size, .kind = (uint8_t)kind };
	r->pos = (size_t)(p - r->raw);
	if (--r->left == 0 && r->pos != r->rawlen)
		return rerr(r, -EBADMSG, "block at offset %llu: %zu bytes left after its last record",
			    (unsigned long long)r->block_off, r->rawlen - r->pos);
	return 0;
short_block:
	return rerr(r, -EBADMSG, "block at offset %llu: its data ends inside record %u from the end",
		    (unsigned long long)r->block_off, r->left);
}

long nwt_read(struct nwt_reader *r, struct nw_trace_rec *out, size_t max, char *err, size_t errlen)
{
	size_t n = 0;
	int rc;

	if (r->error)
		return give(r, r->error, err, errlen);
	while (n < max && !r->done) {
		if (!r->left) {
			if ((rc = next_block(r)) < 0)
				return give(r, rc, err, errlen);
			continue;
		}
		if ((rc = decode(r, &out[n])) < 0)
			return give(r, rc, err, errlen);
		n++;
		r->read++;
	}
	return (long)n;
}

int nwt_reader_open_file(FILE *f, const char *name, struct nwt_reader **out, char *err,
			 size_t errlen)
{
	struct nwt_reader *r = calloc(1, sizeof(*r));
	int rc;

	if (!r)
		return -ENOMEM;
	r->f = f;
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->dctx = ZSTD_createDCtx();
	if (!r->dctx)
		rc = rerr(r, -ENOMEM, "out of memory");
	else
		rc = read_header(r);
	if (rc < 0) {
		give(r, rc, err, errlen);
		r->own = false;
		nwt_reader_close(r);
		return rc;
	}
	*out = r;
	return 0;
}

int nwt_reader_open(const char *path, struct nwt_reader **out, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	int rc;

	if (!f) {
		int e = errno;
		if (err && errlen)
			snprintf(err, errlen, "%s: %s", path, strerror(e));
		return -e;
	}
	rc = nwt_reader_open_file(f, path, out, err, errlen);
	if (rc < 0) {
		fclose(f);
		return rc;
	}
	(*out)->own = true;
	return 0;
}

int nwt_rewind(struct nwt_reader *r, char *err, size_t errlen)
{
	if (fseeko(r->f, r->header_len, SEEK_SET) != 0)
		return give(r, rerr(r, -errno, "cannot rewind: %s", strerror(errno)), err, errlen);
	r->off = r->header_len;
	r->left = 0;
	r->read = 0;
	r->done = false;
	r->error = 0;
	return 0;
}

uint64_t nwt_reader_count(const struct nwt_reader *r)
{
	return r->count;
}

const char *nwt_reader_program(const struct nwt_reader *r)
{
	return r->program;
}

const char *nwt_reader_cmdline(const struct nwt_reader *r)
{
	return r->cmdline;
}

void nwt_reader_close(struct nwt_reader *r)
{
	if (!r)
		return;
	if (r->own)
		fclose(r->f);
	ZSTD_freeDCtx(r->dctx);
	free(r->raw);
	free(r->z);
	free(r->program);
	free(r->cmdline);
	free(r);
}

/* ---- the runner's source of records ---- */

static int src_open(const char *path, void **h, uint64_t *count, char *err, size_t errlen)
{
	struct nwt_reader *r = NULL;
	int rc = nwt_reader_open(path, &r, err, errlen);

	if (rc < 0)
		return rc;
	*h = r;
	*count = r->count;
	return 0;
}

static long src_read(void *h, struct nw_trace_rec *out, size_t max, char *err, size_t errlen)
{
	return nwt_read(h, out, max, err, errlen);
}

static int src_rewind(void *h, char *err, size_t errlen)
{
	return nwt_rewind(h, err, errlen);
}

static void src_close(void *h)
{
	nwt_reader_close(h);
}

const struct nw_trace_source nw_nwt_source = {
	.open = src_open,
	.read = src_read,
	.rewind = src_rewind,
	.close = src_close,
};
