/* SPDX-License-Identifier: MIT */
#ifndef NW_TRACE_LACKEY_H
#define NW_TRACE_LACKEY_H

/*
 * valgrind lackey's --trace-mem=yes output, parsed as it streams: feed the
 * text in chunks of any size and records come out through a callback.
 * Errors are -EBADMSG with "line N: ..." in err.
 *
 *	struct nw_lackey p;
 *	nw_lackey_init(&p);
 *	while ((n = read(fd, buf, sizeof(buf))) > 0)
 *		if (nw_lackey_feed(&p, buf, n, emit, arg, err, sizeof(err)) < 0)
 *			...;
 *	nw_lackey_finish(&p, emit, arg, err, sizeof(err));
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nestwalk/trace.h>

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

#endif
