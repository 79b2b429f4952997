/* SPDX-License-Identifier: MIT */
#ifndef NW_TRACE_NWT_H
#define NW_TRACE_NWT_H

/*
 * The .nwt trace format (docs/TRACE_FORMAT.md), valgrind lackey's output,
 * and the figures of `nestwalk trace info`. This is the nw_trace library
 * of the tools: it links libzstd, which the embeddable libnestwalk does
 * not. Everything streams in bounded memory (one block of records), so a
 * trace may be far larger than the machine's memory.
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

/* ---- valgrind lackey --trace-mem=yes output (lackey.c) ---- */

#define NW_LACKEY_LINE_MAX 256  /* longest access line; commentary may be longer */

/* A push parser: feed it any chunks of the text, it emits records. */
struct nw_lackey {
	char line[NW_LACKEY_LINE_MAX];
	size_t len;             /* bytes of the current line so far */
	bool commentary;        /* the current line is valgrind's, not an access */
	bool overlong;          /* it passed NW_LACKEY_LINE_MAX */
	uint64_t lineno;        /* the current line's number, from 1 */
	uint64_t records;
};

/* Called for each record: 0 to go on, or a negative errno to stop with. */
typedef int (*nw_lackey_emit)(void *arg, const struct nw_trace_rec *rec);

void nw_lackey_init(struct nw_lackey *p);
/* One line without its newline: 1 with *rec filled, 0 for commentary or a
 * blank line, -EBADMSG for anything else. */
int nw_lackey_parse_line(const char *s, size_t n, struct nw_trace_rec *rec);
/* 0, a negative errno from emit, or -EBADMSG with "line N: ..." in err. */
int nw_lackey_feed(struct nw_lackey *p, const char *buf, size_t n, nw_lackey_emit emit, void *arg,
		   char *err, size_t errlen);
/* The last line, when the text does not end in a newline. */
int nw_lackey_finish(struct nw_lackey *p, nw_lackey_emit emit, void *arg, char *err, size_t errlen);

/* ---- trace info (info.c) ---- */

#define NW_REUSE_BUCKETS 34     /* 0, 1, 2-3, 4-7, ..., 2^32 and more, cold */
#define NW_REUSE_COLD (NW_REUSE_BUCKETS - 1)

struct nw_trace_info {
	uint64_t records;
	uint64_t by_kind[NW_TRACE_KINDS];
	uint64_t bytes;                 /* sum of the access sizes */
	uint64_t pages_4k, pages_2m;    /* distinct pages touched */
	uint64_t lo, hi;                /* lowest and highest address touched */
	struct nw_trace_region *regions;
	size_t nregions;
	/*
	 * Reuse distance at 4 KiB granularity: for each access, the number of
	 * distinct other pages touched since the last access to its page.
	 * Bucket 0 counts 0, bucket b (1..32) counts [2^(b-1), 2^b), bucket
	 * NW_REUSE_COLD first touches.
	 */
	uint64_t reuse[NW_REUSE_BUCKETS];
	uint64_t reuse_median;          /* over the warm accesses: a bucket's lower bound */
};

struct nw_trace_info_acc;

/* Accumulate records, then finish into info (regions allocated). */
int nw_trace_info_begin(struct nw_trace_info_acc **out);
int nw_trace_info_add(struct nw_trace_info_acc *a, const struct nw_trace_rec *recs, size_t n);
int nw_trace_info_end(struct nw_trace_info_acc *a, struct nw_trace_info *info);
void nw_trace_info_fini(struct nw_trace_info *info);
/* The lower bound of a reuse bucket ("cold" has none: UINT64_MAX). */
uint64_t nw_reuse_bucket_low(unsigned b);

#endif
