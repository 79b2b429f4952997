/* SPDX-License-Identifier: MIT */
#ifndef NW_TRACE_NWT_H
#define NW_TRACE_NWT_H

/*
 * The .nwt trace format (docs/TRACE_FORMAT.md). With lackey.h (valgrind's
 * text) and trace_info.h (`nestwalk trace info`) this is the nw_trace
 * library of the tools: it links libzstd, which the embeddable libnestwalk
 * does not. Everything streams in bounded memory (one block of records), so
 * a trace may be far larger than the machine's memory.
 *
 *	struct nwt_writer *w;
 *	struct nwt_meta meta = { .program = "sort", .cmdline = "sort in.txt" };
 *	nwt_writer_open("out.nwt", &meta, &w, err, sizeof(err));
 *	nwt_write(w, recs, n, err, sizeof(err));
 *	nwt_writer_close(w, err, sizeof(err));   // flushes and finishes the file
 *
 *	struct nwt_reader *r;
 *	nwt_reader_open("out.nwt", &r, err, sizeof(err));
 *	while ((n = nwt_read(r, buf, 4096, err, sizeof(err))) > 0)
 *		...;                             // n < 0: err names the offset
 *	nwt_reader_close(r);
 *
 * Every function returns 0 (or a count) or a negative errno with a
 * one-line message in err: -EBADMSG for a damaged or malformed file (the
 * message names the file offset), -EPROTONOSUPPORT for another version,
 * -EINVAL for a bad argument, -ENOMEM, or the I/O error.
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <nestwalk/trace.h>

#define NWT_MAGIC "\x89NWT\r\n\x1a\n"   /* 8 bytes: binary, and catches text-mode mangling */
#define NWT_MAGIC_LEN 8
#define NWT_VERSION 1
#define NWT_HEADER_FIXED 32             /* bytes before the metadata strings */
#define NWT_META_MAX (64u << 10)        /* longest program or command line */
#define NWT_COUNT_UNKNOWN UINT64_MAX    /* header count of a file written to a pipe */
#define NWT_BLOCK_HEADER 12             /* records, raw length, compressed length */
#define NWT_BLOCK_RAW_MAX (4u << 20)    /* decoded bytes of one block, at most */
#define NWT_REC_MIN_BYTES 2             /* a record's smallest encoding */
#define NWT_REC_MAX_BYTES 16            /* and its largest: kind, 10-byte delta, 5-byte size */
#define NWT_SIZE_ESCAPE 63              /* size code: the size follows as a varint */

/* ---- writing ---- */

struct nwt_meta {
	const char *program;    /* may be NULL */
	const char *cmdline;    /* may be NULL */
};

struct nwt_writer_cfg {
	uint32_t block_records; /* records per block (0: 262144) */
	int level;              /* zstd level, 1..19 (0: 9) */
};

struct nwt_writer;

/* path "-" writes to stdout. cfg may be NULL. */
int nwt_writer_open(const char *path, const struct nwt_meta *meta, const struct nwt_writer_cfg *cfg,
		    struct nwt_writer **out, char *err, size_t errlen);
/* Write to f (not closed by nwt_writer_close); name is for messages. */
int nwt_writer_open_file(FILE *f, const char *name, const struct nwt_meta *meta,
			 const struct nwt_writer_cfg *cfg, struct nwt_writer **out, char *err,
			 size_t errlen);
/* Append n records: 0, or -EINVAL (size 0 or kind > 3: nothing written). */
int nwt_write(struct nwt_writer *w, const struct nw_trace_rec *recs, size_t n, char *err,
	      size_t errlen);
uint64_t nwt_writer_count(const struct nwt_writer *w);
/* Flush, write the end block, patch the header count when the file can
 * seek, and free w (also on error). */
int nwt_writer_close(struct nwt_writer *w, char *err, size_t errlen);

/* ---- reading ---- */

struct nwt_reader;

int nwt_reader_open(const char *path, struct nwt_reader **out, char *err, size_t errlen);
/* Read from f (not closed by nwt_reader_close); name is for messages. */
int nwt_reader_open_file(FILE *f, const char *name, struct nwt_reader **out, char *err,
			 size_t errlen);
/* Up to max records: how many, 0 at the end (after the end block has been
 * checked), or a negative errno; errors are sticky. */
long nwt_read(struct nwt_reader *r, struct nw_trace_rec *out, size_t max, char *err, size_t errlen);
/* Back to the first record (the file must seek). */
int nwt_rewind(struct nwt_reader *r, char *err, size_t errlen);
/* The header's count (NWT_COUNT_UNKNOWN when it was not patched). */
uint64_t nwt_reader_count(const struct nwt_reader *r);
const char *nwt_reader_program(const struct nwt_reader *r);
const char *nwt_reader_cmdline(const struct nwt_reader *r);
void nwt_reader_close(struct nwt_reader *r);

/* The nw_trace_source of .nwt files, for nw_run_cfg.trace. */
extern const struct nw_trace_source nw_nwt_source;

/* ---- varints (nwt_varint.c) ---- */

static inline uint64_t nwt_zigzag(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static inline int64_t nwt_unzigzag(uint64_t u)
{
	return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

/* LEB128 into p (at most 10 bytes): the bytes written. */
size_t nwt_varint_put(uint8_t *p, uint64_t v);
/* LEB128 from [p, end): bytes read; 0 when it runs past end; -1 when it
 * overflows 64 bits (more than 10 bytes, or a 10th byte above 1). */
int nwt_varint_get(const uint8_t *p, const uint8_t *end, uint64_t *v);

#endif
