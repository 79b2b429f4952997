/* SPDX-License-Identifier: MIT */
/*
 * valgrind lackey's --trace-mem=yes output: one access a line,
 *
 *	I  04222cfc,3          instruction fetch: address (hex), size (decimal)
 *	 L 1ffefffb28,8        load
 *	 S 1ffefffb20,8        store
 *	 M 0421c7f0,4          modify (load and store)
 *
 * mixed with valgrind's own commentary ("==PID== ..."), which is skipped.
 * The parser takes the text in chunks of any size (as it arrives on a
 * pipe) and keeps at most one access line, so its memory is bounded.
 */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lackey.h"

#define ADDR_MAX_DIGITS 16

/* ---- private prototypes ---- */
static int line_error(const struct nw_lackey *p, char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int end_line(struct nw_lackey *p, nw_lackey_emit emit, void *arg, char *err, size_t errlen);

void nw_lackey_init(struct nw_lackey *p)
{
	memset(p, 0, sizeof(*p));
	p->lineno = 1;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int nw_lackey_parse_line(const char *s, size_t n, struct nw_trace_rec *rec)
{
	size_t i = 0, nd = 0;
	uint64_t addr = 0, size = 0;
	int kind;

	if (n && s[n - 1] == '\r')
		n--;
	if (n == 0 || (n >= 2 && s[0] == '=' && s[1] == '='))
		return 0;
	/* "I  addr,size" or " K addr,size" */
	if (n >= 3 && s[0] == 'I' && s[1] == ' ' && s[2] == ' ') {
		kind = NW_TRACE_IFETCH;
	} else if (n >= 3 && s[0] == ' ' && s[2] == ' ') {
		kind = s[1] == 'L' ? NW_TRACE_LOAD : s[1] == 'S' ? NW_TRACE_STORE :
		       s[1] == 'M' ? NW_TRACE_MODIFY : -1;
		if (kind < 0)
			return -EBADMSG;
	} else {
		return -EBADMSG;
	}
	for (i = 3; i < n && hexval(s[i]) >= 0; i++, nd++)
		addr = addr << 4 | (uint64_t)hexval(s[i]);
	if (nd == 0 || nd > ADDR_MAX_DIGITS || i >= n || s[i] != ',')
		return -EBADMSG;
	for (i++, nd = 0; i < n && s[i] >= '0' && s[i] <= '9'; i++, nd++) {
		size = size * 10 + (uint64_t)(s[i] - '0');
		if (size > UINT32_MAX)
			return -EBADMSG;
	}
	if (nd == 0 || size == 0 || i != n)
		return -EBADMSG;
	*rec = (struct nw_trace_rec){ .addr = addr, .size = (uint32_t)size, .kind = (uint8_t)kind };
	return 1;
}

static int line_error(const struct nw_lackey *p, char *err, size_t errlen, const char *fmt, ...)
{
	if (err && errlen) {
		int n = snprintf(err, errlen, "line %llu: ", (unsigned long long)p->lineno);
		va_list ap;
		va_start(ap, fmt);
		if (n >= 0 && (size_t)n < errlen)
			vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -EBADMSG;
}

/* The current line is complete: parse it and start the next. */
static int end_line(struct nw_lackey *p, nw_lackey_emit emit, void *arg, char *err, size_t errlen)
{
	struct nw_trace_rec rec;
	int rc = 0;

	if (p->overlong && !p->commentary)
		return line_error(p, err, errlen, "longer than %d bytes: not a lackey access line",
				  NW_LACKEY_LINE_MAX);
	if (!p->commentary) {
		rc = nw_lackey_parse_line(p->line, p->len, &rec);
		if (rc < 0) {
			size_t show = p->len < 40 ? p->len : 40;
			return line_error(p, err, errlen,
					  "malformed lackey line '%.*s' (expected 'I  ADDR,SIZE' or ' L|S|M ADDR,SIZE')",
					  (int)show, p->line);
		}
		if (rc == 1) {
			rc = emit(arg, &rec);
			if (rc < 0)
				return rc;
			p->records++;
		}
	}
	p->len = 0;
	p->commentary = p->overlong = false;
	p->lineno++;
	return 0;
}

int nw_lackey_feed(struct nw_lackey *p, const char *buf, size_t n, nw_lackey_emit emit, void *arg,
		   char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		char c = buf[i];
		int rc;

		if (c == '\n') {
			if ((rc = end_line(p, emit, arg, err, errlen)) < 0)
				return rc;
			continue;
		}
		if (p->len == 2 && p->line[0] == '=' && p->line[1] == '=')
			p->commentary = true;
		if (p->len < NW_LACKEY_LINE_MAX)
			p->line[p->len++] = c;
		else
			p->overlong = true;
		if (c == '\0' && !p->commentary)
			return line_error(p, err, errlen, "NUL byte: not lackey text");
	}
	return 0;
}

int nw_lackey_finish(struct nw_lackey *p, nw_lackey_emit emit, void *arg, char *err, size_t errlen)
{
	if (p->len == 0 && !p->overlong)
		return 0;
	return end_line(p, emit, arg, err, errlen);
}
