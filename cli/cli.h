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
/* getopt_long's ':' (a value missing) or anything else it returned that the
 * subcommand does not know (an unknown option): the one-line message naming
 * the option, and CLI_USAGE. */
int cli_bad_option(const char *cmd, int opt, char **argv);
/* A decimal (or 0x hex) integer in [min, max]: 0, or -EINVAL. */
int cli_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* "4k" "2m" "1g" "mixed" -> NW_PAGE_* (0: mixed); -EINVAL otherwise. */
int cli_host_pages(const char *s, int *out);
int cli_guest_pages(const char *s, int *out);
const char *cli_pages_name(int level); /* "4k", "2m", "1g", "mixed" */
/* A CPU preset; "host" gets this machine's cache sizes too. */
int cli_preset(const char *name, struct nw_cpu_preset *p, char *err, size_t errlen);
const char *cli_vendor_name(enum nw_vendor v);
/* Whether execvp would find an executable name: a path, or on $PATH. */
bool cli_runnable(const char *name);

/* The shadow MMU's switches, shared by run and compare: getopt codes from
 * CLI_OPT_SHADOW, their long options, help lines, and how they apply. */
enum { CLI_SHADOW_UNSYNC, CLI_SHADOW_LARGE, CLI_SHADOW_ROOTS, CLI_SHADOW_FLOOD, CLI_SHADOW_CHECK,
       CLI_SHADOW_NOPTS };
#define CLI_OPT_SHADOW 0x300
#define CLI_SHADOW_LONGOPTS                                                                  \
	{ "shadow-unsync", required_argument, NULL, CLI_OPT_SHADOW + CLI_SHADOW_UNSYNC },    \
	{ "shadow-large", required_argument, NULL, CLI_OPT_SHADOW + CLI_SHADOW_LARGE },      \
	{ "shadow-roots", required_argument, NULL, CLI_OPT_SHADOW + CLI_SHADOW_ROOTS },      \
	{ "shadow-flood", required_argument, NULL, CLI_OPT_SHADOW + CLI_SHADOW_FLOOD },      \
	{ "shadow-check", no_argument, NULL, CLI_OPT_SHADOW + CLI_SHADOW_CHECK }
#define CLI_SHADOW_HELP                                                                      \
	"Shadow paging (mode shadow; defaults as KVM's shadow MMU):\n"                       \
	"      --shadow-unsync on|off   leave written leaf tables unprotected until the\n"   \
	"                               guest's INVLPG, CR3 load or flush (default on)\n"    \
	"      --shadow-large on|off    2 MiB shadow leaves where guest and host pages\n"    \
	"                               are both 2 MiB (default on)\n"                       \
	"      --shadow-roots N         previous roots kept per vCPU, 0..16 (default 4)\n"   \
	"      --shadow-flood N         emulated writes between uses that unshadow a\n"      \
	"                               table; 0: never (default 3)\n"                       \
	"      --shadow-check           check every shadow entry against the guest tables\n" \
	"                               after every shadow operation (slow)\n"
/* Apply the switches given (val[i] NULL: not given) to s: 0, or CLI_USAGE
 * with a message naming the option. */
int cli_shadow_cfg(const char *cmd, const char *const val[CLI_SHADOW_NOPTS],
		   struct nw_vm_shadow_cfg *s);
/* When opt (from getopt_long) is a shadow switch, keep its value in val
 * ("on" for --shadow-check) and return true. */
bool cli_shadow_opt(int opt, const char *val[CLI_SHADOW_NOPTS]);

/* ---- json.c: results as JSON, every figure by its stable name ---- */

json_t *cli_run_json(const struct nw_run_cfg *cfg, const struct nw_run_result *res);
/* Write to path ("-": stdout): 0, or -errno with a message in err. */
int cli_write_json(json_t *root, const char *path, char *err, size_t errlen);

/* ---- hw.c ---- */

/* The knee marks nw_hw_describe puts in a context ("hw.mark.*": "<bytes>
 * <label>"), as an array of {label, ws}; empty when there are none. */
json_t *cli_hw_marks(json_t *context);

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
