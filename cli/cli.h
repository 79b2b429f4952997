/* SPDX-License-Identifier: MIT */
#ifndef NW_CLI_H
#define NW_CLI_H

/*
 * The nestwalk command. Each subcommand is one function taking its own
 * argv (argv[0] is the subcommand's name) and returning the exit code:
 * 0 ok, 1 runtime failure, 2 usage or bad input (one line on stderr).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <nestwalk/tlb_preset.h>
#include <nestwalk/workload.h>

#define CLI_OK 0
#define CLI_FAIL 1
#define CLI_USAGE 2

int cli_run(int argc, char **argv);

/* ---- args.c: option values ---- */

/* Print "nestwalk CMD: message" on stderr and return CLI_USAGE. */
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Print "nestwalk CMD: message" on stderr and return CLI_FAIL. */
int cli_fail(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A decimal (or 0x hex) integer in [min, max]: 0, or -EINVAL. */
int cli_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* "4k" "2m" "1g" "mixed" -> NW_PAGE_* (0: mixed); -EINVAL otherwise. */
int cli_host_pages(const char *s, int *out);
int cli_guest_pages(const char *s, int *out);
const char *cli_pages_name(int level); /* "4k", "2m", "1g", "mixed" */
/* A CPU preset; "host" gets this machine's cache sizes too. */
int cli_preset(const char *name, struct nw_cpu_preset *p, char *err, size_t errlen);
const char *cli_vendor_name(enum nw_vendor v);

/* ---- json.c: results as JSON, every figure by its stable name ---- */

json_t *cli_run_json(const struct nw_run_cfg *cfg, const struct nw_run_result *res);
/* Write to path ("-": stdout): 0, or -errno with a message in err. */
int cli_write_json(json_t *root, const char *path, char *err, size_t errlen);

/* ---- progress.c: a progress bar on stderr, when it is a terminal ---- */

struct cli_progress {
	bool on;
	double start, last;
	int width;
};

void cli_progress_init(struct cli_progress *p, bool wanted);
/* The nw_run_cfg.progress callback. */
void cli_progress_update(void *arg, uint64_t done, uint64_t total);
void cli_progress_done(struct cli_progress *p);

#endif
