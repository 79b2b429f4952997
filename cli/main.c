/* SPDX-License-Identifier: MIT */
/*
 * nestwalk: one command, a subcommand per job. This file dispatches;
 * each subcommand lives in a file of its own and parses its own options.
 */

#include <stdio.h>
#include <string.h>

#include "cli.h"

int cli_explain(int argc, char **argv); /* explain.c */
int cli_hw(int argc, char **argv);      /* hw.c */
int cli_trace(int argc, char **argv);   /* trace.c */
#include "report.h"

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{ "run", cli_run, "run one workload in one VM configuration and print its figures" },
	{ "compare", cli_compare, "run a matrix of modes, workloads, pages and CPUs; write the report" },
	{ "report", cli_report, "render the report from saved results.json files (merging shards)" },
	{ "explain", cli_explain, "print one 2D (nested paging) walk, reference by reference" },
	{ "hw", cli_hw, "measure page walks on this CPU (pointer chase, page kinds, perf)" },
	{ "trace", cli_trace, "record, import and describe memory traces of real programs (.nwt)" },
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: nestwalk COMMAND [OPTIONS]\n"
		"       nestwalk COMMAND --help\n"
		"\n"
		"Nested paging (Intel EPT, AMD NPT), shadow paging and native, modelled in\n"
		"a small software hypervisor running a guest OS model.\n"
		"\n"
		"Commands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(f,
		"\n"
		"Options:\n"
		"  -h, --help     show this help\n"
		"  --version      show the version\n"
		"\n"
		"Exit status: 0 ok, 1 runtime failure, 2 usage or bad input.\n");
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	if (!cmd)
		return cli_usage("", "no command given (try 'nestwalk --help')");
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		if (argc > 2 && strcmp(cmd, "help") == 0) {
			for (size_t i = 0; i < NCOMMANDS; i++)
				if (!strcmp(argv[2], commands[i].name)) {
					char *args[] = { argv[2], "--help", NULL };
					return commands[i].fn(2, args);
				}
			return cli_usage("", "unknown command '%s' (try 'nestwalk --help')", argv[2]);
		}
		usage(stdout);
		return CLI_OK;
	}
	if (!strcmp(cmd, "--version")) {
		printf("nestwalk %s\n", NW_VERSION);
		return CLI_OK;
	}
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (!strcmp(cmd, commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	if (cmd[0] == '-')
		return cli_usage("", "unknown option '%s' (try 'nestwalk --help')", cmd);
	return cli_usage("", "unknown command '%s' (try 'nestwalk --help')", cmd);
}
