/* SPDX-License-Identifier: MIT */
/*
 * nestwalk trace: record a program's memory trace under valgrind's lackey,
 * import a saved lackey log, and describe a .nwt file. Recording converts
 * lackey's text as it streams through a pipe, so no text file is ever
 * written; only the compressed trace grows.
 */

#define _GNU_SOURCE /* getopt_long */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "lackey.h"
#include "nwt.h"
#include "trace_info.h"

#define CMD "trace"
#define CHUNK (64u << 10)
#define BATCH 4096
#define VALGRIND_EXEC_FAILED 127

int cli_trace(int argc, char **argv); /* main.c's table */

/* Records from the lackey parser, batched into the writer. */
struct sink {
	struct nwt_writer *w;
	struct nw_trace_rec buf[BATCH];
	size_t n;
	uint64_t limit;         /* stop after this many (0: no limit) */
	uint64_t total;
	char err[256];
	struct cli_progress *prog;
};

/* ---- private prototypes ---- */
static int sink_emit(void *arg, const struct nw_trace_rec *rec);
static int sink_flush(struct sink *s);
static int convert_fd(int fd, const char *name, struct sink *s, char *err, size_t errlen);

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: nestwalk trace record [--limit N] [--level N] [-o FILE] [-q] -- CMD [ARGS...]\n"
		"       nestwalk trace import LACKEY.txt -o FILE [--level N]\n"
		"       nestwalk trace info FILE [--json FILE]\n"
		"\n"
		"Memory traces of real programs in the .nwt format (docs/TRACE_FORMAT.md):\n"
		"every load, store, modify and instruction fetch, delta- and varint-encoded\n"
		"in zstd-compressed blocks. Replay one with\n"
		"  nestwalk run --workload trace:FILE[,FILE...][:loops=N] --mode ept\n"
		"\n"
		"  record   run CMD under valgrind --tool=lackey --trace-mem=yes and convert\n"
		"           its output as it streams; CMD keeps stdin, stdout and stderr, and\n"
		"           the progress and summary go to stderr\n"
		"  import   convert a saved lackey log (\"-\": standard input)\n"
		"  info     counts by kind, footprint in 4 KiB and 2 MiB pages, address\n"
		"           regions, and the reuse distance at page granularity\n"
		"\n"
		"Options:\n"
		"  -o, --output FILE   the .nwt file (record: default CMD.nwt)\n"
		"  -n, --limit N       record: stop after N accesses (and stop the program)\n"
		"  -l, --level N       zstd level, 1..19 (default 9)\n"
		"  -j, --json FILE     info: the figures as JSON (\"-\": to stdout)\n"
		"  -q, --quiet         no summary and no progress\n"
		"  -h, --help          show this help\n"
		"\n"
		"Exit status: 0 ok, 1 runtime failure, 2 usage or bad input.\n");
}

static int sink_flush(struct sink *s)
{
	int rc = s->n ? nwt_write(s->w, s->buf, s->n, s->err, sizeof(s->err)) : 0;

	s->n = 0;
	return rc;
}

static int sink_emit(void *arg, const struct nw_trace_rec *rec)
{
	struct sink *s = arg;
	int rc;

	if (s->limit && s->total >= s->limit)
		return -ECANCELED;
	s->buf[s->n++] = *rec;
	s->total++;
	if (s->n == BATCH && (rc = sink_flush(s)) < 0)
		return rc;
	if (s->prog && s->prog->on && s->total % (1u << 16) == 0) {
		if (s->limit)
			cli_progress_update(s->prog, s->total, s->limit);
		else
			fprintf(stderr, "\rrecorded %llu accesses", (unsigned long long)s->total);
	}
	return 0;
}

/*
 * Lackey text from fd into s until the end, an error, or the limit
 * (-ECANCELED). Bad text is -EBADMSG with "NAME: line N: ..." in err.
 */
static int convert_fd(int fd, const char *name, struct sink *s, char *err, size_t errlen)
{
	static char chunk[CHUNK];
	struct nw_lackey p;
	char msg[200] = "";
	ssize_t got;
	int rc = 0;

	nw_lackey_init(&p);
	while ((got = read(fd, chunk, sizeof(chunk))) != 0) {
		if (got < 0) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "%s: read failed: %s", name, strerror(errno));
			return -EIO;
		}
		rc = nw_lackey_feed(&p, chunk, (size_t)got, sink_emit, s, msg, sizeof(msg));
		if (rc < 0)
			break;
	}
	if (rc == 0)
		rc = nw_lackey_finish(&p, sink_emit, s, msg, sizeof(msg));
	if (rc == -EBADMSG)
		snprintf(err, errlen, "%s: %s", name, msg);
	else if (rc < 0 && rc != -ECANCELED)
		snprintf(err, errlen, "%s", s->err[0] ? s->err : strerror(-rc));
	return rc;
}

/* The command line as one string, arguments separated by spaces. */
static void join(char **argv, int argc, char *out, size_t len)
{
	size_t at = 0;

	out[0] = 0;
	for (int i = 0; i < argc && at < len; i++)
		at += (size_t)snprintf(out + at, len - at, "%s%s", i ? " " : "", argv[i]);
}

/* "Command: ..." from the commentary at the top of a lackey log, if any. */
static void lackey_command(int fd, char *out, size_t len)
{
	char head[4096];
	ssize_t n = pread(fd, head, sizeof(head) - 1, 0);
	const char *c, *e;

	out[0] = 0;
	if (n <= 0)
		return;
	head[n] = 0;
	c = strstr(head, "== Command: ");
	if (!c)
		return;
	c += strlen("== Command: ");
	e = strchr(c, '\n');
	snprintf(out, len, "%.*s", (int)(e ? e - c : (ptrdiff_t)strlen(c)), c);
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

/* What was written, on f: stdout for import, stderr for record (whose
 * stdout is the program's own, as time(1) leaves it). */
static void print_written(FILE *f, const char *out, uint64_t n)
{
	struct stat st;

	if (stat(out, &st) == 0 && n)
		fprintf(f, "%s: %llu accesses, %lld bytes (%.3f bytes per access)\n", out,
			(unsigned long long)n, (long long)st.st_size, (double)st.st_size / (double)n);
	else
		fprintf(f, "%s: %llu accesses\n", out, (unsigned long long)n);
}

static int cmd_import(const char *in, const char *out, const struct nwt_writer_cfg *wc, bool quiet)
{
	int fd = strcmp(in, "-") ? open(in, O_RDONLY) : STDIN_FILENO;
	char cmdline[1024], err[320] = "";
	struct sink *s;
	struct nwt_meta meta;
	int rc;

	if (fd < 0)
		return cli_usage(CMD, "%s: %s", in, strerror(errno));
	s = calloc(1, sizeof(*s));
	if (!s)
		return cli_fail(CMD, "out of memory");
	lackey_command(fd, cmdline, sizeof(cmdline));
	meta.cmdline = cmdline;
	meta.program = cmdline[0] ? strndup(cmdline, strcspn(cmdline, " ")) : NULL;
	rc = nwt_writer_open(out, &meta, wc, &s->w, err, sizeof(err));
	free((char *)meta.program);
	if (rc < 0) {
		free(s);
		if (fd != STDIN_FILENO)
			close(fd);
		return cli_fail(CMD, "%s", err);
	}
	rc = convert_fd(fd, in, s, err, sizeof(err));
	if (fd != STDIN_FILENO)
		close(fd);
	if (rc == 0)
		rc = sink_flush(s);
	if (rc < 0) {
		nwt_writer_close(s->w, NULL, 0);
		if (strcmp(out, "-"))
			unlink(out);
		free(s);
		return rc == -EBADMSG ? cli_usage(CMD, "%s", err) : cli_fail(CMD, "%s", err);
	}
	rc = nwt_writer_close(s->w, err, sizeof(err));
	if (rc < 0) {
		free(s);
		return cli_fail(CMD, "%s", err);
	}
	if (!quiet && strcmp(out, "-"))
		print_written(stdout, out, s->total);
	free(s);
	return CLI_OK;
}

/* Run valgrind on argv with lackey's log on a pipe; its read end in *rfd. */
static pid_t spawn_valgrind(char **argv, int argc, int *rfd)
{
	int pfd[2];
	pid_t pid;

	if (pipe(pfd) < 0)
		return -1;
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	if (pid == 0) {
		char logfd[32];
		char **av = calloc((size_t)argc + 5, sizeof(*av));
		if (!av)
			_exit(VALGRIND_EXEC_FAILED);
		close(pfd[0]);
		snprintf(logfd, sizeof(logfd), "--log-fd=%d", pfd[1]);
		av[0] = "valgrind";
		av[1] = "--tool=lackey";
		av[2] = "--trace-mem=yes";
		av[3] = logfd;
		for (int i = 0; i < argc; i++)
			av[4 + i] = argv[i];
		execvp("valgrind", av);
		_exit(VALGRIND_EXEC_FAILED);
	}
	close(pfd[1]);
	*rfd = pfd[0];
	return pid;
}

static int cmd_record(char **argv, int argc, const char *out_opt, uint64_t limit,
		      const struct nwt_writer_cfg *wc, bool quiet)
{
	char out[1024], cmdline[4096], err[320] = "";
	struct nwt_meta meta = { .program = argv[0], .cmdline = cmdline };
	struct cli_progress prog;
	struct sink *s;
	int rfd, status = 0, rc;
	pid_t pid;

	/* Said apart, before anything is written: which of the two is missing. */
	if (!cli_runnable("valgrind"))
		return cli_fail(CMD, "valgrind is not installed (scripts/setup.sh installs it)");
	if (!cli_runnable(argv[0]))
		return cli_usage(CMD, "no program %s to record", argv[0]);
	if (out_opt)
		snprintf(out, sizeof(out), "%s", out_opt);
	else
		snprintf(out, sizeof(out), "%s.nwt", base_name(argv[0]));
	join(argv, argc, cmdline, sizeof(cmdline));
	s = calloc(1, sizeof(*s));
	if (!s)
		return cli_fail(CMD, "out of memory");
	s->limit = limit;
	cli_progress_init(&prog, !quiet);
	s->prog = &prog;
	rc = nwt_writer_open(out, &meta, wc, &s->w, err, sizeof(err));
	if (rc < 0) {
		free(s);
		return cli_fail(CMD, "%s", err);
	}
	pid = spawn_valgrind(argv, argc, &rfd);
	if (pid < 0) {
		nwt_writer_close(s->w, NULL, 0);
		unlink(out);
		free(s);
		return cli_fail(CMD, "cannot start valgrind: %s", strerror(errno));
	}
	rc = convert_fd(rfd, "valgrind's lackey output", s, err, sizeof(err));
	if (rc < 0) /* the limit, or bad text: the program need not go on */
		kill(pid, SIGKILL);
	close(rfd);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (prog.on)
		fputs("\r\033[K", stderr);
	if (rc == -ECANCELED)
		rc = 0;
	if (rc == 0)
		rc = sink_flush(s);
	if (rc == 0 && WIFEXITED(status) && WEXITSTATUS(status) == VALGRIND_EXEC_FAILED && !s->total) {
		nwt_writer_close(s->w, NULL, 0);
		unlink(out);
		free(s);
		return cli_fail(CMD, "cannot run valgrind (is it installed?) or %s", argv[0]);
	}
	if (rc < 0) {
		nwt_writer_close(s->w, NULL, 0);
		unlink(out);
		rc = cli_fail(CMD, "%s", err[0] ? err : s->err);
		free(s);
		return rc;
	}
	rc = nwt_writer_close(s->w, err, sizeof(err));
	if (rc < 0) {
		free(s);
		return cli_fail(CMD, "%s", err);
	}
	if (!quiet) {
		print_written(stderr, out, s->total);
		if (WIFEXITED(status) && WEXITSTATUS(status))
			fprintf(stderr, "%s exited with status %d under valgrind\n", argv[0],
				WEXITSTATUS(status));
	}
	free(s);
	return CLI_OK;
}

/* ---- info ---- */

static json_t *info_json(const char *path, const struct nwt_reader *r, const struct nw_trace_info *in,
			 long long file_bytes)
{
	json_t *o = json_object(), *kinds = json_object(), *regs = json_array();
	json_t *reuse = json_object(), *hist = json_array();
	char hex[24];

	json_object_set_new(o, "nestwalk", json_string(NW_VERSION));
	json_object_set_new(o, "command", json_string("trace info"));
	json_object_set_new(o, "file", json_string(path));
	json_object_set_new(o, "file_bytes", json_integer(file_bytes));
	json_object_set_new(o, "program", json_string(nwt_reader_program(r)));
	json_object_set_new(o, "cmdline", json_string(nwt_reader_cmdline(r)));
	json_object_set_new(o, "records", json_integer((json_int_t)in->records));
	json_object_set_new(o, "bytes_per_record",
			    json_real(in->records ? (double)file_bytes / (double)in->records : 0));
	for (unsigned k = 0; k < NW_TRACE_KINDS; k++)
		json_object_set_new(kinds, nw_trace_kind_name(k), json_integer((json_int_t)in->by_kind[k]));
	json_object_set_new(o, "kinds", kinds);
	json_object_set_new(o, "bytes_accessed", json_integer((json_int_t)in->bytes));
	json_object_set_new(o, "pages_4k", json_integer((json_int_t)in->pages_4k));
	json_object_set_new(o, "pages_2m", json_integer((json_int_t)in->pages_2m));
	snprintf(hex, sizeof(hex), "0x%llx", (unsigned long long)in->lo);
	json_object_set_new(o, "lowest", json_string(hex));
	snprintf(hex, sizeof(hex), "0x%llx", (unsigned long long)in->hi);
	json_object_set_new(o, "highest", json_string(hex));
	for (size_t i = 0; i < in->nregions; i++) {
		json_t *g = json_object();
		snprintf(hex, sizeof(hex), "0x%llx", (unsigned long long)in->regions[i].start);
		json_object_set_new(g, "start", json_string(hex));
		snprintf(hex, sizeof(hex), "0x%llx", (unsigned long long)in->regions[i].end);
		json_object_set_new(g, "end", json_string(hex));
		json_object_set_new(g, "bytes",
				    json_integer((json_int_t)(in->regions[i].end - in->regions[i].start)));
		json_object_set_new(g, "pages_touched", json_integer((json_int_t)in->regions[i].pages));
		json_array_append_new(regs, g);
	}
	json_object_set_new(o, "regions", regs);
	for (unsigned b = 0; b < NW_REUSE_COLD; b++) {
		json_t *h = json_object();
		json_object_set_new(h, "min", json_integer((json_int_t)nw_reuse_bucket_low(b)));
		json_object_set_new(h, "count", json_integer((json_int_t)in->reuse[b]));
		json_array_append_new(hist, h);
	}
	json_object_set_new(reuse, "unit", json_string("distinct 4 KiB pages"));
	json_object_set_new(reuse, "median", json_integer((json_int_t)in->reuse_median));
	json_object_set_new(reuse, "cold", json_integer((json_int_t)in->reuse[NW_REUSE_COLD]));
	json_object_set_new(reuse, "histogram", hist);
	json_object_set_new(o, "reuse_distance", reuse);
	return o;
}

static void info_text(const char *path, const struct nwt_reader *r, const struct nw_trace_info *in,
		      long long file_bytes)
{
	uint64_t warm = 0;

	printf("trace            %s (%lld bytes, %.3f bytes per access)\n", path, file_bytes,
	       in->records ? (double)file_bytes / (double)in->records : 0.0);
	printf("program          %s\n", nwt_reader_program(r)[0] ? nwt_reader_program(r) : "-");
	printf("command line     %s\n", nwt_reader_cmdline(r)[0] ? nwt_reader_cmdline(r) : "-");
	printf("accesses         %llu\n", (unsigned long long)in->records);
	for (unsigned k = 0; k < NW_TRACE_KINDS; k++)
		printf("  %-14s %llu (%.1f%%)\n", nw_trace_kind_name(k), (unsigned long long)in->by_kind[k],
		       in->records ? 100.0 * (double)in->by_kind[k] / (double)in->records : 0.0);
	printf("footprint        %llu pages of 4 KiB (%.1f MiB), %llu pages of 2 MiB\n",
	       (unsigned long long)in->pages_4k, (double)in->pages_4k / 256.0,
	       (unsigned long long)in->pages_2m);
	printf("addresses        0x%llx .. 0x%llx\n", (unsigned long long)in->lo,
	       (unsigned long long)in->hi);
	printf("regions          %zu\n", in->nregions);
	for (size_t i = 0; i < in->nregions; i++)
		printf("  0x%012llx-0x%012llx %10llu KiB, %llu pages touched\n",
		       (unsigned long long)in->regions[i].start, (unsigned long long)in->regions[i].end,
		       (unsigned long long)((in->regions[i].end - in->regions[i].start) >> 10),
		       (unsigned long long)in->regions[i].pages);
	for (unsigned b = 0; b < NW_REUSE_COLD; b++)
		warm += in->reuse[b];
	printf("reuse distance   median %llu distinct 4 KiB pages (%llu warm accesses, %llu cold)\n",
	       (unsigned long long)in->reuse_median, (unsigned long long)warm,
	       (unsigned long long)in->reuse[NW_REUSE_COLD]);
	for (unsigned b = 0; b < NW_REUSE_COLD; b++) {
		uint64_t lo = nw_reuse_bucket_low(b), hi = b ? 2 * lo - 1 : 0;
		char range[48];
		if (!in->reuse[b])
			continue;
		if (lo == hi)
			snprintf(range, sizeof(range), "%llu", (unsigned long long)lo);
		else
			snprintf(range, sizeof(range), "%llu-%llu", (unsigned long long)lo,
				 (unsigned long long)hi);
		printf("  %-22s %12llu (%.1f%%)\n", range, (unsigned long long)in->reuse[b],
		       warm ? 100.0 * (double)in->reuse[b] / (double)warm : 0.0);
	}
}

static int cmd_info(const char *path, const char *json, bool quiet)
{
	static struct nw_trace_rec buf[BATCH];
	struct nw_trace_info_acc *acc;
	struct nw_trace_info in;
	struct nwt_reader *r;
	char err[320];
	struct stat st;
	long n;
	int rc;

	rc = nwt_reader_open(path, &r, err, sizeof(err));
	if (rc < 0)
		return rc == -ENOMEM ? cli_fail(CMD, "%s", err) : cli_usage(CMD, "%s", err);
	if (nw_trace_info_begin(&acc) < 0) {
		nwt_reader_close(r);
		return cli_fail(CMD, "out of memory");
	}
	while ((n = nwt_read(r, buf, BATCH, err, sizeof(err))) > 0)
		if (nw_trace_info_add(acc, buf, (size_t)n) < 0) {
			n = -ENOMEM;
			snprintf(err, sizeof(err), "out of memory");
			break;
		}
	rc = nw_trace_info_end(acc, &in);
	if (n < 0 || rc < 0) {
		nwt_reader_close(r);
		if (rc == 0)
			nw_trace_info_fini(&in);
		return n == -EBADMSG || n == -EPROTONOSUPPORT ? cli_usage(CMD, "%s", err)
							      : cli_fail(CMD, "%s", n < 0 ? err : "out of memory");
	}
	rc = CLI_OK;
	long long bytes = stat(path, &st) == 0 ? (long long)st.st_size : 0;
	if (json) {
		json_t *o = info_json(path, r, &in, bytes);
		if (cli_write_json(o, json, err, sizeof(err)) < 0)
			rc = cli_fail(CMD, "%s", err);
		json_decref(o);
	}
	if (!quiet && !(json && !strcmp(json, "-")))
		info_text(path, r, &in, bytes);
	nw_trace_info_fini(&in);
	nwt_reader_close(r);
	return rc;
}

static const struct option options[] = {
	{ "output", required_argument, NULL, 'o' },
	{ "limit", required_argument, NULL, 'n' },
	{ "level", required_argument, NULL, 'l' },
	{ "json", required_argument, NULL, 'j' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

int cli_trace(int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : NULL, *out = NULL, *json = NULL, *limit_s = NULL;
	const char *level_s = NULL;
	struct nwt_writer_cfg wc = { 0 };
	bool quiet = false, help = false;
	uint64_t limit = 0;
	int c;

	if (!sub)
		return cli_usage(CMD, "no subcommand given (record, import or info; try 'nestwalk trace --help')");
	if (!strcmp(sub, "--help") || !strcmp(sub, "-h")) {
		usage(stdout);
		return CLI_OK;
	}
	if (strcmp(sub, "record") && strcmp(sub, "import") && strcmp(sub, "info"))
		return cli_usage(CMD, "unknown subcommand '%s' (record, import or info)", sub);
	argc--;
	argv++;
	optind = 0;
	opterr = 0;
	/* record: '+' stops at the first non-option, so that the command keeps its own options. */
	while ((c = getopt_long(argc, argv, strcmp(sub, "record") ? ":o:n:l:j:qh" : "+:o:n:l:j:qh", options,
				NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'n': limit_s = optarg; break;
		case 'l': level_s = optarg; break;
		case 'j': json = optarg; break;
		case 'q': quiet = true; break;
		case 'h': help = true; break;
		case ':':
			return cli_usage(CMD, "option '%s' needs a value", argv[optind - 1]);
		default:
			if (optopt)
				return cli_usage(CMD, "unknown option '-%c' (try 'nestwalk trace --help')", optopt);
			return cli_usage(CMD, "unknown option '%s' (try 'nestwalk trace --help')",
					 argv[optind - 1]);
		}
	}
	if (help) {
		usage(stdout);
		return CLI_OK;
	}
	if (limit_s && cli_u64(limit_s, 1, UINT64_MAX, &limit) < 0)
		return cli_usage(CMD, "--limit '%s': expected a positive number", limit_s);
	if (level_s) {
		uint64_t v;
		if (cli_u64(level_s, 1, 19, &v) < 0)
			return cli_usage(CMD, "--level '%s': expected a zstd level from 1 to 19", level_s);
		if (!strcmp(sub, "info"))
			return cli_usage(CMD, "--level is for record and import");
		wc.level = (int)v;
	}
	if (!strcmp(sub, "record")) {
		if (json)
			return cli_usage(CMD, "record takes no --json");
		if (optind >= argc)
			return cli_usage(CMD, "record needs a command: nestwalk trace record -- CMD [ARGS...]");
		if (out && !strcmp(out, "-"))
			return cli_usage(CMD, "record cannot write the trace to stdout: the program's output goes there");
		return cmd_record(argv + optind, argc - optind, out, limit, &wc, quiet);
	}
	if (limit_s)
		return cli_usage(CMD, "--limit is for record");
	if (optind >= argc)
		return cli_usage(CMD, "%s needs a file", sub);
	if (optind + 1 < argc)
		return cli_usage(CMD, "unexpected argument '%s'", argv[optind + 1]);
	if (!strcmp(sub, "import")) {
		if (!out)
			return cli_usage(CMD, "import needs -o FILE");
		if (json)
			return cli_usage(CMD, "import takes no --json");
		return cmd_import(argv[optind], out, &wc, quiet);
	}
	if (out)
		return cli_usage(CMD, "info takes no -o (use --json FILE)");
	return cmd_info(argv[optind], json, quiet);
}
