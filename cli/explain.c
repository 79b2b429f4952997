/* SPDX-License-Identifier: MIT */
/*
 * nestwalk explain: one two-dimensional walk, reference by reference.
 *
 * It builds a small world: guest x86-64 tables mapping the GVA to a data
 * page, and EPT (intel) or NPT (amd) tables mapping all of guest memory,
 * then runs nw_walk2d with no translation caches, so every reference the
 * hardware would make appears: n*m + n + m of them for an n-level guest
 * over an m-level host, fewer where a large page ends a walk early.
 *
 * Guest memory is GUEST_SIZE bytes at GPA 0, backed by the host window at
 * HPA GUEST_HPA, so a guest table's GPA is its HPA minus GUEST_HPA.
 */

#define _GNU_SOURCE /* getopt_long */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nestwalk/ept.h>
#include <nestwalk/npt.h>
#include <nestwalk/walk.h>

#include "cli.h"

#define CMD "explain"

int cli_explain(int argc, char **argv); /* declared for main.c too */

#define GiB (1ull << 30)
#define GUEST_SIZE (2 * GiB)       /* room for a 1 GiB-aligned data page */
#define GUEST_HPA (1 * GiB)        /* aligned for 1 GiB host pages */
#define DATA_GPA (1 * GiB)         /* the data page: aligned for any page size */
#define FIRST_TABLE_GPA (1ull << 20) /* guest tables start at 1 MiB */
#define MAXPHYADDR 46
#define ENTRY_PS (1ull << 7)       /* x86 PS and EPT bit 7: the entry maps a page */

enum { OPT_GUEST_LEVELS = 256, OPT_HOST_LEVELS, OPT_GUEST_PAGE, OPT_HOST_PAGE, OPT_VENDOR,
       OPT_ACCESS, OPT_JSON, OPT_FAULT };

static const struct option options[] = {
	{ "gva", required_argument, NULL, 'g' },
	{ "guest-levels", required_argument, NULL, OPT_GUEST_LEVELS },
	{ "host-levels", required_argument, NULL, OPT_HOST_LEVELS },
	{ "guest-page", required_argument, NULL, OPT_GUEST_PAGE },
	{ "host-page", required_argument, NULL, OPT_HOST_PAGE },
	{ "vendor", required_argument, NULL, OPT_VENDOR },
	{ "access", required_argument, NULL, OPT_ACCESS },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "fault", required_argument, NULL, OPT_FAULT },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: nestwalk explain --gva ADDR [OPTIONS]\n"
		"\n"
		"Print one two-dimensional (nested paging) walk, reference by reference:\n"
		"the step, the dimension (guest table or host EPT/NPT table), the level, the\n"
		"GPA and HPA of the entry read, its value, and the outcome with its exit\n"
		"information. Translation caches are off, so every reference is shown.\n"
		"\n"
		"Options:\n"
		"  -g, --gva ADDR          the guest-virtual address (canonical; 0x hex ok)\n"
		"  --guest-levels 4|5      guest paging levels (default 4)\n"
		"  --host-levels 4|5       EPT/NPT levels (default 4)\n"
		"  --guest-page 4k|2m|1g   guest page mapping ADDR (default 4k)\n"
		"  --host-page 4k|2m|1g    largest host page for guest memory (default 4k)\n"
		"  --vendor intel|amd      EPT (intel, default) or NPT (amd)\n"
		"  --access read|write|fetch  the access (default read)\n"
		"  --json                  print the walk as JSON (a \"references\" array)\n"
		"  --fault KIND            break the world to see a fault and its exit information:\n"
		"                          guest-not-present (#PF), guest-read-only (#PF on a write),\n"
		"                          host-not-present (the final GPA unmapped: EPT violation\n"
		"                          or NPF), host-read-only (the final GPA read-only; use\n"
		"                          --access write), host-table (the guest root table's GPA\n"
		"                          unmapped: the fault hits a guest paging-structure entry)\n"
		"  -h, --help              show this help\n"
		"\n"
		"Example: nestwalk explain --gva 0x7f0012345678 --host-page 2m\n"
		"\n"
		"Exit status: 0 ok, 1 runtime failure, 2 usage or bad input.\n");
}

/* ---- the world ---- */

/* Guest-physical frames, handed out in order, backed at GUEST_HPA + gpa. */
struct gmem {
	struct nw_mem mem;
	struct nw_mem *host;
	uint64_t next;
};

static int gmem_alloc(struct nw_mem *m, uint64_t *gpa)
{
	struct gmem *g = (struct gmem *)m;
	if (g->next + NW_PAGE_SIZE > DATA_GPA)
		return -ENOMEM;
	*gpa = g->next;
	g->next += NW_PAGE_SIZE;
	memset(nw_mem_map(g->host, GUEST_HPA + *gpa), 0, NW_PAGE_SIZE);
	return 0;
}

static void gmem_free(struct nw_mem *m, uint64_t gpa) { (void)m; (void)gpa; }

static void *gmem_map(struct nw_mem *m, uint64_t gpa)
{
	struct gmem *g = (struct gmem *)m;
	return gpa < GUEST_SIZE ? nw_mem_map(g->host, GUEST_HPA + gpa) : NULL;
}

struct world {
	struct nw_mem *host;
	struct gmem gmem;
	struct nw_fmt gfmt;
	struct nw_pt guest;
	bool amd, guest_ok, nested_ok;
	struct nw_ept ept;
	struct nw_npt npt;
	struct nw_acc hacc;
	struct nw_walk2d_cfg cfg;
};

enum fault_kind { FAULT_NONE, FAULT_GUEST_NP, FAULT_GUEST_RO, FAULT_HOST_NP, FAULT_HOST_RO,
		  FAULT_HOST_TABLE };

static const char *const fault_kinds[] = {
	"none", "guest-not-present", "guest-read-only", "host-not-present", "host-read-only",
	"host-table", NULL,
};

struct explain_cfg {
	enum fault_kind fault;
	uint64_t gva;
	int glevels, hlevels, gpage, hpage; /* pages: NW_PAGE_* levels */
	bool amd, json;
	unsigned access;
};

static const uint64_t page_bytes[] = { 0, 1ull << 12, 1ull << 21, 1ull << 30 };

/* The nested half of --fault: unmap or write-protect one 4 KiB GPA page. */
static int world_break(struct world *w, const struct explain_cfg *c)
{
	uint64_t gpa = c->fault == FAULT_HOST_TABLE ? w->guest.root : DATA_GPA;

	if (c->fault == FAULT_HOST_NP || c->fault == FAULT_HOST_TABLE)
		return w->amd ? nw_npt_unmap(&w->npt, gpa, NW_PAGE_SIZE, NULL)
			      : nw_ept_unmap(&w->ept, gpa, NW_PAGE_SIZE, NULL);
	if (c->fault == FAULT_HOST_RO)
		return w->amd ? nw_npt_protect(&w->npt, gpa, NW_PAGE_SIZE, NW_PROT_R | NW_PROT_X | NW_PROT_U,
					       0, NULL)
			      : nw_ept_protect(&w->ept, gpa, NW_PAGE_SIZE, NW_PROT_R | NW_PROT_X,
					       NW_EPT_MT_WB, 0, NULL);
	return 0;
}

static int world_build(struct world *w, const struct explain_cfg *c, char *err, size_t n)
{
	static const struct nw_mem_ops gops = { .alloc = gmem_alloc, .free = gmem_free, .map = gmem_map };
	struct nw_arena_cfg ac = { .size = GUEST_HPA + GUEST_SIZE, .maxphyaddr = MAXPHYADDR };
	int rc;

	memset(w, 0, sizeof(*w));
	w->amd = c->amd;
	if ((rc = nw_arena_create(&ac, &w->host)) < 0)
		return snprintf(err, n, "cannot create host memory: %s", strerror(-rc)), rc;
	if ((rc = nw_mem_init(&w->gmem.mem, &gops, MAXPHYADDR)) < 0 ||
	    (rc = nw_fmt_x86_init(&w->gfmt, MAXPHYADDR, 0)) < 0)
		return snprintf(err, n, "cannot set up guest memory: %s", strerror(-rc)), rc;
	w->gmem.host = w->host;
	w->gmem.next = FIRST_TABLE_GPA;
	struct nw_pt_cfg gc = { .fmt = &w->gfmt, .mem = &w->gmem.mem, .levels = c->glevels, .linear = true };
	if ((rc = nw_pt_init(&w->guest, &gc)) < 0)
		return snprintf(err, n, "cannot create guest tables: %s", strerror(-rc)), rc;
	w->guest_ok = true;

	uint64_t gsz = page_bytes[c->gpage];
	struct nw_attr rwx = { .prot = NW_PROT_RWX | NW_PROT_U };
	if (c->fault == FAULT_GUEST_RO)
		rwx.prot = NW_PROT_R | NW_PROT_X | NW_PROT_U;
	if (c->fault == FAULT_GUEST_NP)
		rc = 0;
	else if ((rc = nw_pt_map(&w->guest, c->gva & ~(gsz - 1), DATA_GPA, gsz, &rwx,
				 (unsigned)c->gpage, NULL)) == -ERANGE)
		return snprintf(err, n, "GVA 0x%" PRIx64 " is not canonical for %d-level paging",
				c->gva, c->glevels), rc;
	if (rc < 0)
		return snprintf(err, n, "cannot map the GVA in the guest tables: %s", strerror(-rc)), rc;

	nw_acc_plain(&w->hacc, w->host);
	w->cfg.acc = &w->hacc;
	w->cfg.gfmt = &w->gfmt;
	w->cfg.gcr3 = w->guest.root;
	w->cfg.gmode = (struct nw_x86_mode){ .levels = c->glevels, .wp = true, .nxe = true };
	w->cfg.hlevels = c->hlevels;
	if (c->amd) {
		if ((rc = nw_npt_init(&w->npt, w->host, c->hlevels, true)) < 0)
			return snprintf(err, n, "cannot create NPT tables: %s", strerror(-rc)), rc;
		w->nested_ok = true;
		w->cfg.hfmt = &w->npt.fmt;
		w->cfg.hroot = w->npt.pt.root;
		w->cfg.hmode = NW_FMT_NXE;
		rc = nw_npt_map(&w->npt, 0, GUEST_HPA, GUEST_SIZE, NW_PROT_RWX | NW_PROT_U, 0,
				(unsigned)c->hpage, NULL);
	} else {
		if ((rc = nw_ept_init(&w->ept, w->host, NULL, c->hlevels)) < 0)
			return snprintf(err, n, "cannot create EPT tables: %s", strerror(-rc)), rc;
		w->nested_ok = true;
		w->cfg.hfmt = &w->ept.fmt;
		w->cfg.hroot = w->ept.pt.root;
		rc = nw_ept_map(&w->ept, 0, GUEST_HPA, GUEST_SIZE, NW_PROT_RWX, NW_EPT_MT_WB,
				(unsigned)c->hpage, NULL);
	}
	if (rc < 0)
		return snprintf(err, n, "cannot map guest memory in the nested tables: %s", strerror(-rc)), rc;
	if ((rc = world_break(w, c)) < 0)
		return snprintf(err, n, "cannot set up --fault %s: %s", fault_kinds[c->fault], strerror(-rc)), rc;
	return 0;
}

static void world_destroy(struct world *w)
{
	if (w->nested_ok) {
		if (w->amd)
			nw_npt_destroy(&w->npt);
		else
			nw_ept_destroy(&w->ept);
	}
	if (w->guest_ok)
		nw_pt_destroy(&w->guest);
	if (w->host)
		nw_mem_destroy(w->host);
}

/* ---- naming ---- */

static const char *entry_name(int level)
{
	static const char *names[] = { "?", "PTE", "PDE", "PDPTE", "PML4E", "PML5E" };
	return level >= 1 && level <= 5 ? names[level] : "?";
}

static bool entry_is_leaf(const struct nw_walk_ref *r)
{
	return r->level == 1 || ((r->level == 2 || r->level == 3) && (r->entry & ENTRY_PS));
}

static const char *access_name(unsigned a)
{
	return a == NW_ACC_WRITE ? "write" : a == NW_ACC_FETCH ? "fetch" : "read";
}

static const char *fault_name(enum nw_fault f)
{
	switch (f) {
	case NW_FAULT_NONE: return "none";
	case NW_FAULT_PF: return "#PF";
	case NW_FAULT_EPT_VIOLATION: return "EPT violation (exit reason 48)";
	case NW_FAULT_EPT_MISCONFIG: return "EPT misconfiguration (exit reason 49)";
	case NW_FAULT_NPF: return "nested page fault (VMEXIT_NPF 0x400)";
	}
	return "?";
}

static const char *fault_key(enum nw_fault f)
{
	switch (f) {
	case NW_FAULT_NONE: return "none";
	case NW_FAULT_PF: return "pf";
	case NW_FAULT_EPT_VIOLATION: return "ept_violation";
	case NW_FAULT_EPT_MISCONFIG: return "ept_misconfig";
	case NW_FAULT_NPF: return "npf";
	}
	return "?";
}

/*
 * The GPA a nested reference is translating. Uncached, the hardware walks the
 * nested tables for a guest table's GPA just before it reads that table's
 * entry, and for the final GPA last: so it is the GPA of the next guest
 * reference's page, or the final GPA when none follows.
 */
static uint64_t translating_gpa(const struct nw_walk *w, unsigned i, uint64_t final_gpa)
{
	for (unsigned j = i + 1; j < w->n_refs; j++)
		if (w->refs[j].dim == NW_DIM_GUEST)
			return (w->refs[j].pa - GUEST_HPA) & NW_PAGE_MASK;
	return final_gpa;
}

/* ---- output ---- */

struct bit_name {
	int bit;
	const char *name;
};

/* #PF error code (SDM Vol. 3 §4.7). */
static const struct bit_name pf_bits[] = {
	{ 0, "P: protection" }, { 1, "W/R: write" }, { 2, "U/S: user" }, { 3, "RSVD" },
	{ 4, "I/D: fetch" }, { 5, "PK" }, { -1, NULL },
};
/* EPT violation exit qualification (SDM Vol. 3 Table 28-7). */
static const struct bit_name ept_qual_bits[] = {
	{ 0, "read" }, { 1, "write" }, { 2, "fetch" }, { 3, "was readable" }, { 4, "was writable" },
	{ 5, "was executable" }, { 7, "GLA valid" }, { 8, "final translation" }, { -1, NULL },
};
/* VMEXIT_NPF EXITINFO1 (APM Vol. 2 §15.25.6). */
static const struct bit_name npf_bits[] = {
	{ 0, "P: present" }, { 1, "RW: write" }, { 2, "US: user" }, { 3, "RSV" }, { 4, "ID: fetch" },
	{ 32, "final GPA" }, { 33, "guest page table" }, { -1, NULL },
};

/* The names of the set bits, comma separated (a static buffer). */
static const char *bits_text(uint64_t v, const struct bit_name *names)
{
	static char buf[256];
	buf[0] = 0;
	for (const struct bit_name *b = names; b->name; b++)
		if (v & (1ull << b->bit)) {
			if (buf[0])
				strncat(buf, ", ", sizeof(buf) - strlen(buf) - 1);
			strncat(buf, b->name, sizeof(buf) - strlen(buf) - 1);
		}
	return buf[0] ? buf : "no bits";
}

static void print_text(const struct explain_cfg *c, const struct world *wd, const struct nw_walk *w,
		       uint64_t final_gpa)
{
	const char *host = c->amd ? "NPT" : "EPT";

	printf("GVA 0x%" PRIx64 ", %s access\n", c->gva, access_name(c->access));
	printf("guest: %d-level x86-64 tables, %s page (CR3 = GPA 0x%" PRIx64 ")\n", c->glevels,
	       cli_pages_name(c->gpage), wd->cfg.gcr3);
	printf("host:  %d-level %s (%s), pages up to %s (root = HPA 0x%" PRIx64 ")\n", c->hlevels, host,
	       c->amd ? "amd" : "intel", cli_pages_name(c->hpage), wd->cfg.hroot);
	printf("guest memory: GPA 0x0.. is backed at HPA 0x%llx..; translation caches off\n\n",
	       (unsigned long long)GUEST_HPA);
	printf("%4s  %-5s  %-10s  %-18s  %-18s  %-18s  %s\n", "step", "dim", "entry", "GPA of entry",
	       "HPA of entry", "value", "note");
	for (unsigned i = 0; i < w->n_refs; i++) {
		const struct nw_walk_ref *r = &w->refs[i];
		char name[16], gpa[24], note[64];
		bool guest = r->dim == NW_DIM_GUEST;
		snprintf(name, sizeof(name), "%s%s", guest ? "" : (c->amd ? "n" : "E"), entry_name(r->level));
		if (guest) {
			snprintf(gpa, sizeof(gpa), "0x%" PRIx64, (uint64_t)(r->pa - GUEST_HPA));
			snprintf(note, sizeof(note), "guest L%d%s", r->level,
				 entry_is_leaf(r) ? ": leaf, gives the final GPA" : "");
		} else {
			snprintf(gpa, sizeof(gpa), "-");
			snprintf(note, sizeof(note), "%s L%d for GPA 0x%" PRIx64 "%s", host, r->level,
				 translating_gpa(w, i, final_gpa), entry_is_leaf(r) ? ": leaf" : "");
		}
		printf("%4u  %-5s  %-10s  %-18s  0x%-16" PRIx64 "  0x%016" PRIx64 "  %s\n", i + 1,
		       guest ? "guest" : "host", name, gpa, r->pa, r->entry, note);
	}
	unsigned ng = 0;
	for (unsigned i = 0; i < w->n_refs; i++)
		ng += w->refs[i].dim == NW_DIM_GUEST;
	printf("\n%u references: %u guest, %u host\n", w->n_refs, ng, w->n_refs - ng);
	if (w->fault == NW_FAULT_NONE) {
		printf("outcome: ok, GVA 0x%" PRIx64 " -> GPA 0x%" PRIx64 " -> HPA 0x%" PRIx64
		       " (guest page %s, host page %s, TLB entry %" PRIu64 " KiB)\n",
		       c->gva, final_gpa, w->pa, cli_pages_name(w->level), cli_pages_name(w->host_level),
		       w->page_size >> 10);
		return;
	}
	if (w->fault == NW_FAULT_PF) {
		printf("outcome: %s at guest level %d\n", fault_name(w->fault), w->fault_level);
		printf("  error code 0x%" PRIx32 " (%s), CR2 0x%" PRIx64 "\n", w->pf_error,
		       bits_text(w->pf_error, pf_bits), w->fault_addr);
		return;
	}
	printf("outcome: %s at %s level %d\n", fault_name(w->fault), host, w->exit.level);
	printf("  GPA 0x%" PRIx64 " (%s)", w->exit.gpa,
	       w->exit.final ? "the final GPA" : "a guest paging-structure entry");
	if (w->fault == NW_FAULT_NPF) {
		printf("\n  EXITINFO1 0x%" PRIx64 " (%s), EXITINFO2 0x%" PRIx64 " (the GPA)\n",
		       w->exit.info1, bits_text(w->exit.info1, npf_bits), w->exit.info2);
	} else {
		printf(", GLA 0x%" PRIx64 "%s\n", w->exit.gla, w->exit.gla_valid ? "" : " (not valid)");
		printf("  exit qualification 0x%" PRIx64 " (%s)\n", w->exit.qual,
		       bits_text(w->exit.qual, ept_qual_bits));
	}
}

static json_t *hex(uint64_t v)
{
	char buf[24];
	snprintf(buf, sizeof(buf), "0x%" PRIx64, v);
	return json_string(buf);
}

static json_t *walk_json(const struct explain_cfg *c, const struct world *wd, const struct nw_walk *w,
			 uint64_t final_gpa)
{
	json_t *root = json_object(), *refs = json_array();
	json_t *cfg = json_pack("{s:o, s:s, s:i, s:i, s:s, s:s, s:s, s:s}", "gva", hex(c->gva),
				"access", access_name(c->access), "guest_levels", c->glevels,
				"host_levels", c->hlevels, "guest_page", cli_pages_name(c->gpage),
				"host_page", cli_pages_name(c->hpage), "vendor", c->amd ? "amd" : "intel",
				"nested", c->amd ? "npt" : "ept");
	json_object_set_new(cfg, "guest_cr3_gpa", hex(wd->cfg.gcr3));
	json_object_set_new(cfg, "host_root_hpa", hex(wd->cfg.hroot));
	json_object_set_new(root, "config", cfg);
	for (unsigned i = 0; i < w->n_refs; i++) {
		const struct nw_walk_ref *r = &w->refs[i];
		bool guest = r->dim == NW_DIM_GUEST;
		json_t *o = json_pack("{s:i, s:s, s:i, s:s, s:b}", "step", (int)i + 1, "dim",
				      guest ? "guest" : "host", "level", r->level, "entry_name",
				      entry_name(r->level), "leaf", entry_is_leaf(r));
		json_object_set_new(o, "gpa", guest ? hex(r->pa - GUEST_HPA) : json_null());
		json_object_set_new(o, "hpa", hex(r->pa));
		json_object_set_new(o, "value", hex(r->entry));
		if (!guest)
			json_object_set_new(o, "translating_gpa", hex(translating_gpa(w, i, final_gpa)));
		json_array_append_new(refs, o);
	}
	json_object_set_new(root, "references", refs);
	json_t *out = json_pack("{s:s}", "fault", fault_key(w->fault));
	if (w->fault == NW_FAULT_NONE) {
		json_object_set_new(out, "gpa", hex(final_gpa));
		json_object_set_new(out, "hpa", hex(w->pa));
		json_object_set_new(out, "guest_page", json_string(cli_pages_name(w->level)));
		json_object_set_new(out, "host_page", json_string(cli_pages_name(w->host_level)));
		json_object_set_new(out, "page_size", json_integer((json_int_t)w->page_size));
	} else {
		if (w->fault == NW_FAULT_PF) {
			json_object_set_new(out, "fault_level", json_integer(w->fault_level));
			json_object_set_new(out, "error_code", hex(w->pf_error));
			json_object_set_new(out, "cr2", hex(w->fault_addr));
		} else {
			json_object_set_new(out, "host_level", json_integer(w->exit.level));
			json_object_set_new(out, "exit_gpa", hex(w->exit.gpa));
			json_object_set_new(out, "exit_final", json_boolean(w->exit.final));
			json_object_set_new(out, "gla", hex(w->exit.gla));
			json_object_set_new(out, "gla_valid", json_boolean(w->exit.gla_valid));
			if (w->fault == NW_FAULT_NPF) {
				json_object_set_new(out, "exitinfo1", hex(w->exit.info1));
				json_object_set_new(out, "exitinfo2", hex(w->exit.info2));
			} else {
				json_object_set_new(out, "qualification", hex(w->exit.qual));
			}
		}
	}
	json_object_set_new(root, "outcome", out);
	return root;
}

/* ---- options ---- */

static int parse_page(const char *s, int *out)
{
	int level;
	if (cli_host_pages(s, &level) < 0 || level == 0)
		return -EINVAL;
	*out = level;
	return 0;
}

static int parse_args(int argc, char **argv, struct explain_cfg *c, bool *help)
{
	const char *gva = NULL;
	uint64_t v;
	int opt;

	*c = (struct explain_cfg){ .glevels = 4, .hlevels = 4, .gpage = NW_PAGE_4K,
				   .hpage = NW_PAGE_4K, .access = NW_ACC_READ };
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":g:h", options, NULL)) != -1) {
		switch (opt) {
		case 'g':
			gva = optarg;
			break;
		case OPT_GUEST_LEVELS:
		case OPT_HOST_LEVELS:
			if (cli_u64(optarg, 4, 5, &v) < 0)
				return cli_usage(CMD, "%s must be 4 or 5, not '%s'",
						 opt == OPT_GUEST_LEVELS ? "--guest-levels" : "--host-levels", optarg);
			*(opt == OPT_GUEST_LEVELS ? &c->glevels : &c->hlevels) = (int)v;
			break;
		case OPT_GUEST_PAGE:
		case OPT_HOST_PAGE:
			if (parse_page(optarg, opt == OPT_GUEST_PAGE ? &c->gpage : &c->hpage) < 0)
				return cli_usage(CMD, "%s must be 4k, 2m or 1g, not '%s'",
						 opt == OPT_GUEST_PAGE ? "--guest-page" : "--host-page", optarg);
			break;
		case OPT_VENDOR:
			if (!strcmp(optarg, "intel"))
				c->amd = false;
			else if (!strcmp(optarg, "amd"))
				c->amd = true;
			else
				return cli_usage(CMD, "--vendor must be intel or amd, not '%s'", optarg);
			break;
		case OPT_ACCESS:
			if (!strcmp(optarg, "read"))
				c->access = NW_ACC_READ;
			else if (!strcmp(optarg, "write"))
				c->access = NW_ACC_WRITE;
			else if (!strcmp(optarg, "fetch"))
				c->access = NW_ACC_FETCH;
			else
				return cli_usage(CMD, "--access must be read, write or fetch, not '%s'", optarg);
			break;
		case OPT_JSON:
			c->json = true;
			break;
		case OPT_FAULT: {
			int k = 0;
			while (fault_kinds[k] && strcmp(fault_kinds[k], optarg))
				k++;
			if (!fault_kinds[k])
				return cli_usage(CMD, "--fault must be guest-not-present, guest-read-only, "
						 "host-not-present, host-read-only or host-table, not '%s'", optarg);
			c->fault = (enum fault_kind)k;
			break;
		}
		case 'h':
			*help = true;
			return CLI_OK;
		default:
			return cli_bad_option(CMD, opt, argv);
		}
	}
	if (optind < argc)
		return cli_usage(CMD, "unexpected argument '%s'", argv[optind]);
	if (!gva)
		return cli_usage(CMD, "--gva is required (try 'nestwalk explain --help')");
	if (cli_u64(gva, 0, UINT64_MAX, &c->gva) < 0)
		return cli_usage(CMD, "--gva must be an address, not '%s'", gva);
	return CLI_OK;
}

int cli_explain(int argc, char **argv)
{
	struct explain_cfg c;
	bool help = false;
	int rc = parse_args(argc, argv, &c, &help);

	if (rc != CLI_OK)
		return rc;
	if (help) {
		usage(stdout);
		return CLI_OK;
	}

	struct world wd;
	struct nw_walk w;
	char err[160];
	if (world_build(&wd, &c, err, sizeof(err)) < 0) {
		world_destroy(&wd);
		/* The GVA is checked by the walker; a map refusal here is bad input. */
		return cli_usage(CMD, "%s", err);
	}
	rc = nw_walk2d(&wd.cfg, c.gva, c.access, &w);
	if (rc == -ERANGE) {
		world_destroy(&wd);
		return cli_usage(CMD, "GVA 0x%" PRIx64 " is not canonical for %d-level paging", c.gva,
				 c.glevels);
	}
	if (rc < 0) {
		world_destroy(&wd);
		return cli_fail(CMD, "the walk failed: %s", strerror(-rc));
	}
	uint64_t final_gpa = DATA_GPA + (c.gva & (page_bytes[c.gpage] - 1));
	if (c.json) {
		json_t *root = walk_json(&c, &wd, &w, final_gpa);
		rc = cli_write_json(root, "-", err, sizeof(err)) < 0 ? cli_fail(CMD, "%s", err) : CLI_OK;
		json_decref(root);
	} else {
		print_text(&c, &wd, &w, final_gpa);
	}
	world_destroy(&wd);
	return rc;
}
