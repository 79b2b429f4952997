/* SPDX-License-Identifier: MIT */
/*
 * A run as JSON: the configuration, the data mode, and every figure by its
 * stable name. Integers stay integers; checksums, which use all 64 bits,
 * are hex strings ("0x...") since JSON readers hold 53 or 63.
 *
 *	{ "nestwalk": "0.1.0", "command": "run",
 *	  "config": { "mode": "ept", "cpu": "skylake", ... },
 *	  "data_mode": "real",
 *	  "figures": { "tlb.miss_rate": 0.29, ... },     derived, measured phase
 *	  "stats": { "accesses": 211009, ... },          measured phase
 *	  "stats_total": { ... } }                       the whole run
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static json_t *stat_value(const struct nw_stat *s)
{
	size_t l = strlen(s->name);
	char hex[24];

	if (l >= 9 && !strcmp(s->name + l - 9, ".checksum")) {
		snprintf(hex, sizeof(hex), "0x%016llx", (unsigned long long)s->value);
		return json_string(hex);
	}
	return json_integer((json_int_t)s->value);
}

static json_t *stats_object(const struct nw_stat *s, size_t n)
{
	json_t *o = json_object();

	for (size_t i = 0; i < n; i++)
		json_object_set_new(o, s[i].name, stat_value(&s[i]));
	return o;
}

static json_t *config_object(const struct nw_run_cfg *c, const struct nw_run_result *res)
{
	json_t *o = json_object(), *params = json_object();
	char spec[256];

	nw_workload_format(&c->wl, spec, sizeof(spec));
	for (unsigned i = 0; i < c->wl.nparams; i++)
		json_object_set_new(params, c->wl.params[i].key, json_integer((json_int_t)c->wl.params[i].value));
	json_object_set_new(o, "mode", json_string(nw_vm_mode_name(c->vm.mode)));
	json_object_set_new(o, "cpu", json_string(c->vm.cpu.name ? c->vm.cpu.name : "?"));
	json_object_set_new(o, "vendor", json_string(cli_vendor_name(c->vm.cpu.vendor)));
	json_object_set_new(o, "vcpus", json_integer(c->vm.vcpus));
	json_object_set_new(o, "host_pages", json_string(cli_pages_name(c->vm.host_page)));
	json_object_set_new(o, "guest_pages", json_string(cli_pages_name(c->guest_page)));
	json_object_set_new(o, "guest_levels", json_integer(c->guest.levels));
	json_object_set_new(o, "host_levels", json_integer(c->vm.host_levels));
	json_object_set_new(o, "seed", json_integer((json_int_t)c->seed));
	json_object_set_new(o, "caches", json_boolean(c->vm.caches));
	json_object_set_new(o, "vpid", json_boolean(c->vm.vpid));
	json_object_set_new(o, "pcid", json_boolean(c->guest.pcid));
	json_object_set_new(o, "quantum", json_integer(c->quantum));
	if (c->vm.mode == NW_VM_SHADOW)
		json_object_set_new(o, "shadow",
				    json_pack("{s:b, s:b, s:i, s:i, s:b}", "unsync", c->vm.shadow.unsync,
					      "large_pages", c->vm.shadow.large_pages, "root_cache",
					      (int)c->vm.shadow.root_cache, "flood_threshold",
					      (int)c->vm.shadow.flood_threshold, "checker",
					      c->vm.shadow.checker));
	json_object_set_new(o, "guest_ram", json_integer((json_int_t)res->ram));
	json_object_set_new(o, "workload", json_string(spec));
	json_object_set_new(o, "workload_name", json_string(c->wl.name));
	json_object_set_new(o, "workload_params", params);
	if (c->wl.files[0]) /* trace: the files in full, whatever the spec's length */
		json_object_set_new(o, "workload_files", json_string(c->wl.files));
	return o;
}

json_t *cli_run_json(const struct nw_run_cfg *cfg, const struct nw_run_result *res)
{
	json_t *root = json_object(), *figures = json_object();

	for (size_t i = 0; i < res->nfigures; i++)
		json_object_set_new(figures, res->figures[i].name, json_real(res->figures[i].value));
	json_object_set_new(root, "nestwalk", json_string(NW_VERSION));
	json_object_set_new(root, "command", json_string("run"));
	json_object_set_new(root, "config", config_object(cfg, res));
	json_object_set_new(root, "data_mode", json_string(nw_data_mode_name(res->data)));
	json_object_set_new(root, "figures", figures);
	json_object_set_new(root, "stats", stats_object(res->stats, res->nstats));
	json_object_set_new(root, "stats_total", stats_object(res->total, res->ntotal));
	return root;
}

int cli_write_json(json_t *root, const char *path, char *err, size_t errlen)
{
	const size_t flags = JSON_INDENT(2) | JSON_REAL_PRECISION(10);

	if (!strcmp(path, "-")) {
		if (json_dumpf(root, stdout, flags) < 0 || fputc('\n', stdout) == EOF) {
			snprintf(err, errlen, "cannot write JSON to stdout");
			return -EIO;
		}
		return 0;
	}
	FILE *f = fopen(path, "w");
	if (!f) {
		int e = errno;
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(e));
		return -e;
	}
	int bad = json_dumpf(root, f, flags) < 0 || fputc('\n', f) == EOF;
	if (fclose(f) || bad) {
		snprintf(err, errlen, "cannot write %s", path);
		return -EIO;
	}
	return 0;
}
