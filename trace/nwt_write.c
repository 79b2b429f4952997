/* SPDX-License-Identifier: MIT */
/*
 * The .nwt writer. Records are encoded into one block's buffer (a kind
 * byte, the zigzag delta from the previous address of the same class, and
 * a size varint only for unusual sizes); a full block is compressed as one
 * zstd frame and written with its 12-byte header. Close writes the end
 * block, which always holds the record count, and patches the header's
 * count when the file can seek back (not on a pipe).
 *
 * Instruction fetches and data accesses keep separate previous addresses:
 * code runs in small forward steps while data jumps between stack and
 * heap, and interleaving them would turn both into large deltas.
 */

#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "nwt.h"

#define DEFAULT_BLOCK_RECORDS (1u << 18)
#define DEFAULT_LEVEL 9
#define COUNT_OFFSET 16

struct nwt_writer {
	FILE *f;
	bool own;               /* we opened f */
	char name[256];
	uint8_t *raw;           /* the block being filled */
	size_t rawlen;
	uint32_t block_records, limit;
	uint64_t prev[2];       /* previous address: data, instructions */
	uint64_t count;
	ZSTD_CCtx *cctx;
	uint8_t *z;
	size_t zcap;
};

/* ---- private prototypes ---- */
static int werr(char *err, size_t len, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int flush_block(struct nwt_writer *w, char *err, size_t errlen);
static void free_writer(struct nwt_writer *w);

static int werr(char *err, size_t len, int rc, const char *fmt, ...)
{
	if (err && len) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, len, fmt, ap);
		va_end(ap);
	}
	return rc;
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static int write_all(struct nwt_writer *w, const void *p, size_t n, char *err, size_t errlen)
{
	if (n && fwrite(p, 1, n, w->f) != n)
		return werr(err, errlen, errno ? -errno : -EIO, "%s: write failed: %s", w->name,
			    strerror(errno ? errno : EIO));
	return 0;
}

static void free_writer(struct nwt_writer *w)
{
	if (w->own && w->f)
		fclose(w->f);
	ZSTD_freeCCtx(w->cctx);
	free(w->raw);
	free(w->z);
	free(w);
}

int nwt_writer_open_file(FILE *f, const char *name, const struct nwt_meta *meta,
			 const struct nwt_writer_cfg *cfg, struct nwt_writer **out, char *err,
			 size_t errlen)
{
	const char *prog = meta && meta->program ? meta->program : "";
	const char *cmd = meta && meta->cmdline ? meta->cmdline : "";
	size_t plen = strlen(prog), clen = strlen(cmd);
	uint8_t hdr[NWT_HEADER_FIXED];
	struct nwt_writer *w;
	int rc;

	if (plen > NWT_META_MAX || clen > NWT_META_MAX)
		return werr(err, errlen, -EINVAL, "%s: program or command line longer than %u bytes",
			    name, NWT_META_MAX);
	w = calloc(1, sizeof(*w));
	if (!w)
		return werr(err, errlen, -ENOMEM, "out of memory");
	w->f = f;
	snprintf(w->name, sizeof(w->name), "%s", name);
	w->limit = cfg && cfg->block_records ? cfg->block_records : DEFAULT_BLOCK_RECORDS;
	w->raw = malloc(NWT_BLOCK_RAW_MAX);
	w->zcap = ZSTD_compressBound(NWT_BLOCK_RAW_MAX);
	w->z = malloc(w->zcap);
	w->cctx = ZSTD_createCCtx();
	if (!w->raw || !w->z || !w->cctx) {
		free_writer(w);
		return werr(err, errlen, -ENOMEM, "out of memory");
	}
	ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_compressionLevel,
			       cfg && cfg->level ? cfg->level : DEFAULT_LEVEL);
	/* A checksum in every frame: damage that still decodes is caught too. */
	ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_checksumFlag, 1);

	memcpy(hdr, NWT_MAGIC, NWT_MAGIC_LEN);
	hdr[8] = NWT_VERSION & 0xff;
	hdr[9] = NWT_VERSION >> 8;
	hdr[10] = hdr[11] = 0; /* flags: none defined in version 1 */
	put32(hdr + 12, (uint32_t)(NWT_HEADER_FIXED + plen + clen));
	put64(hdr + COUNT_OFFSET, NWT_COUNT_UNKNOWN);
	put32(hdr + 24, (uint32_t)plen);
	put32(hdr + 28, (uint32_t)clen);
	if ((rc = write_all(w, hdr, sizeof(hdr), err, errlen)) < 0 ||
	    (rc = write_all(w, prog, plen, err, errlen)) < 0 ||
	    (rc = write_all(w, cmd, clen, err, errlen)) < 0) {
		free_writer(w);
		return rc;
	}
	*out = w;
	return 0;
}

int nwt_writer_open(const char *path, const struct nwt_meta *meta, const struct nwt_writer_cfg *cfg,
		    struct nwt_writer **out, char *err, size_t errlen)
{
	bool std = !strcmp(path, "-");
	FILE *f = std ? stdout : fopen(path, "wb");
	int rc;

	if (!f)
		return werr(err, errlen, -errno, "%s: %s", path, strerror(errno));
	rc = nwt_writer_open_file(f, std ? "stdout" : path, meta, cfg, out, err, errlen);
	if (rc < 0) {
		if (!std)
			fclose(f);
		return rc;
	}
	(*out)->own = !std;
	return 0;
}

static int flush_block(struct nwt_writer *w, char *err, size_t errlen)
{
	uint8_t bh[NWT_BLOCK_HEADER];
	size_t zlen;
	int rc;

	if (!w->block_records)
		return 0;
	zlen = ZSTD_compress2(w->cctx, w->z, w->zcap, w->raw, w->rawlen);
	if (ZSTD_isError(zlen))
		return werr(err, errlen, -EIO, "%s: zstd: %s", w->name, ZSTD_getErrorName(zlen));
	put32(bh, w->block_records);
	put32(bh + 4, (uint32_t)w->rawlen);
	put32(bh + 8, (uint32_t)zlen);
	if ((rc = write_all(w, bh, sizeof(bh), err, errlen)) < 0 ||
	    (rc = write_all(w, w->z, zlen, err, errlen)) < 0)
		return rc;
	w->rawlen = 0;
	w->block_records = 0;
	w->prev[0] = w->prev[1] = 0; /* each block decodes on its own */
	return 0;
}

int nwt_write(struct nwt_writer *w, const struct nw_trace_rec *recs, size_t n, char *err,
	      size_t errlen)
{
	for (size_t i = 0; i < n; i++)
		if (recs[i].size == 0 || recs[i].kind >= NW_TRACE_KINDS)
			return werr(err, errlen, -EINVAL, "%s: record %llu has size %u, kind %u",
				    w->name, (unsigned long long)(w->count + i), recs[i].size,
				    recs[i].kind);
	for (size_t i = 0; i < n; i++) {
		const struct nw_trace_rec *r = &recs[i];
		int cls = r->kind == NW_TRACE_IFETCH;
		unsigned code = r->size < NWT_SIZE_ESCAPE ? r->size : NWT_SIZE_ESCAPE;
		int rc;

		if ((w->block_records == w->limit ||
		     w->rawlen + NWT_REC_MAX_BYTES > NWT_BLOCK_RAW_MAX) &&
		    (rc = flush_block(w, err, errlen)) < 0)
			return rc;
		w->raw[w->rawlen++] = (uint8_t)(r->kind | code << 2);
		w->rawlen += nwt_varint_put(w->raw + w->rawlen,
					    nwt_zigzag((int64_t)(r->addr - w->prev[cls])));
		if (code == NWT_SIZE_ESCAPE)
			w->rawlen += nwt_varint_put(w->raw + w->rawlen, r->size);
		w->prev[cls] = r->addr;
		w->block_records++;
		w->count++;
	}
	return 0;
}

uint64_t nwt_writer_count(const struct nwt_writer *w)
{
	return w->count;
}

int nwt_writer_close(struct nwt_writer *w, char *err, size_t errlen)
{
	uint8_t end[NWT_BLOCK_HEADER + 8] = { 0 }, cnt[8];
	int rc = flush_block(w, err, errlen);

	put64(end + NWT_BLOCK_HEADER, w->count);
	if (rc == 0)
		rc = write_all(w, end, sizeof(end), err, errlen);
	/* Patch the header's count where the file allows it; on a pipe the
	 * end block's count is the only one. */
	if (rc == 0 && fseeko(w->f, COUNT_OFFSET, SEEK_SET) == 0) {
		put64(cnt, w->count);
		rc = write_all(w, cnt, sizeof(cnt), err, errlen);
		if (rc == 0 && fseeko(w->f, 0, SEEK_END) != 0)
			rc = werr(err, errlen, -errno, "%s: seek: %s", w->name, strerror(errno));
	}
	if (rc == 0 && fflush(w->f) != 0)
		rc = werr(err, errlen, -errno, "%s: write failed: %s", w->name, strerror(errno));
	if (w->own && w->f) {
		if (fclose(w->f) != 0 && rc == 0)
			rc = werr(err, errlen, -errno, "%s: close failed: %s", w->name, strerror(errno));
		w->f = NULL;
	}
	free_writer(w);
	return rc;
}
