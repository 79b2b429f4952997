/* SPDX-License-Identifier: MIT */
/* Option values shared by the subcommands, the one-line error rule, and
 * whether a program they run is there. */

#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <nestwalk/shadow.h>

#include "cli.h"
#include "hw.h"

static int vmessage(int code, const char *cmd, const char *fmt, va_list ap)
{
	fprintf(stderr, "nestwalk%s%s: ", cmd[0] ? " " : "", cmd);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	return code;
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = vmessage(CLI_USAGE, cmd, fmt, ap);
	va_end(ap);
	return rc;
}

int cli_bad_option(const char *cmd, int opt, char **argv)
{
	if (opt == ':')
		return cli_usage(cmd, "option '%s' needs a value", argv[optind - 1]);
	/* An unknown short option sets optopt; an unknown long one clears it. */
	if (optopt)
		return cli_usage(cmd, "unknown option '-%c' (try 'nestwalk %s --help')", optopt, cmd);
	return cli_usage(cmd, "unknown option '%s' (try 'nestwalk %s --help')", argv[optind - 1], cmd);
}

int cli_fail(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = vmessage(CLI_FAIL, cmd, fmt, ap);
	va_end(ap);
	return rc;
}

int cli_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static const struct {
	const char *name;
	int level;
} pages[] = {
	{ "4k", NW_PAGE_4K }, { "2m", NW_PAGE_2M }, { "1g", NW_PAGE_1G }, { "mixed", 0 },
};

int cli_host_pages(const char *s, int *out)
{
	for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++)
		if (!strcasecmp(s, pages[i].name)) {
			*out = pages[i].level;
			return 0;
		}
	return -EINVAL;
}

int cli_guest_pages(const char *s, int *out)
{
	int level;

	if (cli_host_pages(s, &level) < 0 || (level != NW_PAGE_4K && level != NW_PAGE_2M))
		return -EINVAL;
	*out = level;
	return 0;
}

const char *cli_pages_name(int level)
{
	for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++)
		if (pages[i].level == level)
			return pages[i].name;
	return "?";
}

static int on_off(const char *s, bool *out)
{
	if (!strcasecmp(s, "on") || !strcmp(s, "1")) {
		*out = true;
		return 0;
	}
	if (!strcasecmp(s, "off") || !strcmp(s, "0")) {
		*out = false;
		return 0;
	}
	return -EINVAL;
}

int cli_shadow_cfg(const char *cmd, const char *const val[CLI_SHADOW_NOPTS],
		   struct nw_vm_shadow_cfg *s)
{
	uint64_t v;

	if (val[CLI_SHADOW_UNSYNC] && on_off(val[CLI_SHADOW_UNSYNC], &s->unsync) < 0)
		return cli_usage(cmd, "--shadow-unsync '%s': expected on or off", val[CLI_SHADOW_UNSYNC]);
	if (val[CLI_SHADOW_LARGE] && on_off(val[CLI_SHADOW_LARGE], &s->large_pages) < 0)
		return cli_usage(cmd, "--shadow-large '%s': expected on or off", val[CLI_SHADOW_LARGE]);
	if (val[CLI_SHADOW_ROOTS]) {
		if (cli_u64(val[CLI_SHADOW_ROOTS], 0, NW_SHADOW_MAX_ROOT_CACHE, &v) < 0)
			return cli_usage(cmd, "--shadow-roots '%s': expected a number from 0 to %d",
					 val[CLI_SHADOW_ROOTS], NW_SHADOW_MAX_ROOT_CACHE);
		s->root_cache = (unsigned)v;
	}
	if (val[CLI_SHADOW_FLOOD]) {
		if (cli_u64(val[CLI_SHADOW_FLOOD], 0, 1u << 20, &v) < 0)
			return cli_usage(cmd, "--shadow-flood '%s': expected a number from 0 to %u",
					 val[CLI_SHADOW_FLOOD], 1u << 20);
		s->flood_threshold = (unsigned)v;
	}
	if (val[CLI_SHADOW_CHECK])
		s->checker = true;
	return 0;
}

bool cli_shadow_opt(int opt, const char *val[CLI_SHADOW_NOPTS])
{
	if (opt < CLI_OPT_SHADOW || opt >= CLI_OPT_SHADOW + CLI_SHADOW_NOPTS)
		return false;
	val[opt - CLI_OPT_SHADOW] = optarg ? optarg : "on";
	return true;
}

const char *cli_vendor_name(enum nw_vendor v)
{
	return v == NW_VENDOR_INTEL ? "intel" : v == NW_VENDOR_AMD ? "amd" : "any";
}

int cli_preset(const char *name, struct nw_cpu_preset *p, char *err, size_t errlen)
{
	if (strcmp(name, "host"))
		return nw_cpu_preset(name, p, err, errlen);
	/* TLB geometry from CPUID (in the core), cache sizes from hwloc; when
	 * hwloc knows none, the preset falls back and says so in p->note. */
	struct nw_host_caches c = { 0 };
	nw_hw_host_caches(&c);
	return nw_cpu_preset_host(&c, p, err, errlen);
}

/* Whether execvp would find an executable `name`: as a path when it has a
 * slash, else in $PATH. */
bool cli_runnable(const char *name)
{
	if (strchr(name, '/'))
		return access(name, X_OK) == 0;
	const char *path = getenv("PATH");
	if (!path)
		path = "/usr/bin:/bin";
	while (*path) {
		size_t len = strcspn(path, ":");
		char full[4096];
		snprintf(full, sizeof(full), "%.*s/%s", (int)(len ? len : 1), len ? path : ".", name);
		if (access(full, X_OK) == 0)
			return true;
		path += len + (path[len] == ':');
	}
	return false;
}
