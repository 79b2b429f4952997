/* SPDX-License-Identifier: MIT */
/* The VM: configuration, host memory, nested tables and vCPUs. */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm_internal.h"

static const char *const mode_names[NW_VM_MODES] = { "native", "ept", "npt", "shadow" };

const char *nw_vm_mode_name(enum nw_vm_mode m)
{
	return (unsigned)m < NW_VM_MODES ? mode_names[m] : "?";
}

int nw_vm_mode_parse(const char *s, enum nw_vm_mode *out)
{
	for (int i = 0; i < NW_VM_MODES; i++)
		if (s && !strcmp(s, mode_names[i])) {
			*out = (enum nw_vm_mode)i;
			return 0;
		}
	return -EINVAL;
}

void nw_vm_cfg_default(struct nw_vm_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->mode = NW_VM_EPT;
	nw_cpu_preset("generic", &cfg->cpu, NULL, 0);
	cfg->ram = 256ull << 20;
	cfg->host_page = NW_PAGE_4K;
	cfg->host_levels = 4;
	cfg->vcpus = 1;
	cfg->seed = 1;
	cfg->caches = true;
	cfg->vpid = true;
	cfg->shadow.unsync = true;
	cfg->shadow.large_pages = true;
	cfg->shadow.root_cache = 4;
	cfg->shadow.flood_threshold = 3;
}

static int cfg_error(char *err, size_t len, const char *fmt, ...)
{
	if (err && len) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, len, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static int check_cfg(const struct nw_vm_cfg *c, char *err, size_t len)
{
	if ((unsigned)c->mode >= NW_VM_MODES)
		return cfg_error(err, len, "unknown mode %d", c->mode);
	if (c->mode == NW_VM_EPT && c->cpu.vendor == NW_VENDOR_AMD)
		return cfg_error(err, len, "mode ept needs an Intel CPU preset, %s is AMD", c->cpu.name);
	if (c->mode == NW_VM_NPT && c->cpu.vendor == NW_VENDOR_INTEL)
		return cfg_error(err, len, "mode npt needs an AMD CPU preset, %s is Intel", c->cpu.name);
	if (!c->ram || (c->ram & (NW_LEVEL_SIZE(2) - 1)))
		return cfg_error(err, len, "guest RAM must be a non-zero multiple of 2 MiB");
	if (c->ram > (1ull << 40))
		return cfg_error(err, len, "guest RAM above 1 TiB is not supported");
	if (c->host_page < 0 || c->host_page > NW_PAGE_1G)
		return cfg_error(err, len, "host page size must be 4k, 2m, 1g or mixed");
	if (c->host_levels != 4 && c->host_levels != 5)
		return cfg_error(err, len, "host levels must be 4 or 5");
	if (!c->vcpus || c->vcpus > NW_VM_MAX_VCPUS)
		return cfg_error(err, len, "vcpus must be 1..%d", NW_VM_MAX_VCPUS);
	if (c->shadow.root_cache > NW_SHADOW_MAX_ROOT_CACHE)
		return cfg_error(err, len, "the shadow root cache holds at most %d roots",
				 NW_SHADOW_MAX_ROOT_CACHE);
	if (c->translation_only && (c->data_gpa >= c->ram || (c->data_gpa & (NW_LEVEL_SIZE(2) - 1))))
		return cfg_error(err, len, "translation-only data needs a 2 MiB aligned data_gpa inside RAM");
	return 0;
}

/* INVEPT accepts only an EPTP that VM entry would: the EPT capabilities say which. */
static int eptp_check(void *arg, uint64_t eptp)
{
	return nw_ept_eptp_check(eptp, NULL, 46);
}

static void vm_free(struct nw_vm *vm)
{
	for (unsigned i = 0; i < vm->nvcpus; i++) {
		nw_tlb_destroy(vm->vcpus[i].tlb);
		nw_lat_destroy(vm->vcpus[i].lat);
	}
	if (vm->cfg.mode == NW_VM_EPT && vm->ept.pt.root)
		nw_ept_destroy(&vm->ept);
	if (vm->cfg.mode == NW_VM_NPT && vm->npt.pt.root)
		nw_npt_destroy(&vm->npt);
	if (vm->cfg.mode == NW_VM_SHADOW)
		nw_vmm_shadow_fini(vm);
	free(vm->backing);
	nw_hostmem_fini(&vm->host);
	free(vm);
}

static int vcpu_init(struct nw_vm *vm, unsigned i, char *err, size_t len)
{
	struct nw_vcpu *v = &vm->vcpus[i];
	int rc;

	v->vm = vm;
	v->id = i;
	/* VPID 0 belongs to the host; ASID 0 too (VMRUN refuses it). */
	v->vpid = vm->cfg.vpid || nw_vm_svm(vm) ? (uint16_t)(i + 1) : 0;
	rc = nw_tlb_create(&vm->cfg.cpu.tlb, &v->tlb, err, len);
	if (rc < 0)
		return rc;
	rc = nw_lat_create(&vm->cfg.cpu.lat, &v->lat, err, len);
	if (rc < 0)
		return rc;
	nw_tlb_set_lat(v->tlb, v->lat);
	v->mode = (struct nw_x86_mode){ .levels = 4, .wp = true, .nxe = true };
	nw_vmcs_write(&v->vmcs, NW_VMCS_VPID, v->vpid);
	nw_vmcs_write(&v->vmcs, NW_VMCS_PROC_BASED_CTLS, NW_PROC_SECONDARY);
	nw_vmcs_write(&v->vmcs, NW_VMCS_PROC_BASED_CTLS2,
		      NW_PROC2_ENABLE_EPT | NW_PROC2_UNRESTRICTED |
			      (vm->cfg.vpid ? NW_PROC2_ENABLE_VPID : 0));
	nw_vmcs_write(&v->vmcs, NW_VMCS_EPT_POINTER, vm->eptp);
	nw_vmcb_write(&v->vmcb, NW_VMCB_ASID, 4, v->vpid);
	nw_vmcb_write(&v->vmcb, NW_VMCB_NP_ENABLE, 8, vm->cfg.mode == NW_VM_NPT);
	nw_vmcb_write(&v->vmcb, NW_VMCB_NCR3, 8, vm->npt.pt.root);
	if (vm->cfg.mode == NW_VM_SHADOW) {
		/* Shadow paging intercepts #PF, CR3 loads and stores, and INVLPG; no EPT. */
		nw_vmcs_write(&v->vmcs, NW_VMCS_PROC_BASED_CTLS,
			      NW_PROC_SECONDARY | NW_PROC_INVLPG_EXITING | NW_PROC_CR3_LOAD_EXITING |
				      NW_PROC_CR3_STORE_EXITING);
		nw_vmcs_write(&v->vmcs, NW_VMCS_PROC_BASED_CTLS2,
			      vm->cfg.vpid ? NW_PROC2_ENABLE_VPID : 0);
		nw_vmcs_write(&v->vmcs, NW_VMCS_EXCEPTION_BITMAP, 1u << 14);
		nw_vmcb_write(&v->vmcb, NW_VMCB_INTERCEPT_CR, 4, NW_VMCB_INTERCEPT_CR3_WRITE);
		nw_vmcb_write(&v->vmcb, NW_VMCB_INTERCEPT_EXC, 4, NW_VMCB_INTERCEPT_PF);
		nw_vmcb_write(&v->vmcb, NW_VMCB_INTERCEPT_MISC, 4, NW_VMCB_INTERCEPT_INVLPG);
	}
	nw_vcpu_refresh(v);
	return 0;
}

int nw_vm_create(const struct nw_vm_cfg *cfg, struct nw_vm **out, char *err, size_t len)
{
	struct nw_vm *vm;
	int rc = check_cfg(cfg, err, len);

	if (rc < 0)
		return rc;
	vm = calloc(1, sizeof(*vm) + cfg->vcpus * sizeof(struct nw_vcpu));
	if (!vm)
		return -ENOMEM;
	vm->cfg = *cfg;
	vm->cfg.cpu.tlb.maxphyaddr = 46;
	vm->cfg.cpu.tlb.eptp_check = eptp_check;
	vm->bugs_left = cfg->bugs;
	vm->mmio_gpa = cfg->ram;

	/* Tables: generous room for 4 KiB nested tables over all of RAM. */
	uint64_t table_bytes = (cfg->ram / 512) * 2 + (64ull << 20);
	rc = nw_hostmem_init(&vm->host, cfg->ram, table_bytes, cfg->host_frames,
			     cfg->seed * 0x9e3779b97f4a7c15ull + (uint64_t)cfg->mode);
	if (rc < 0)
		goto fail;
	nw_acc_plain(&vm->hacc, &vm->host.mem);
	nw_fmt_x86_init(&vm->x86, 46, 0);
	if (cfg->translation_only) {
		rc = nw_mem_alloc(&vm->host.mem, &vm->shared_hpa);
		if (rc < 0)
			goto fail;
	}

	if (cfg->mode == NW_VM_EPT) {
		rc = nw_ept_init(&vm->ept, &vm->host.mem, NULL, cfg->host_levels);
		if (rc == 0)
			rc = nw_ept_eptp(&vm->ept, false, &vm->eptp);
	} else if (cfg->mode == NW_VM_NPT) {
		rc = nw_npt_init(&vm->npt, &vm->host.mem, cfg->host_levels, true);
	} else if (cfg->mode == NW_VM_SHADOW) {
		rc = nw_vmm_shadow_init(vm);
	}
	if (rc < 0)
		goto fail;
	for (unsigned i = 0; i < cfg->vcpus; i++, vm->nvcpus++) {
		rc = vcpu_init(vm, i, err, len);
		if (rc < 0) {
			vm->nvcpus++;
			goto fail;
		}
	}
	*out = vm;
	return 0;
fail:
	vm_free(vm);
	return rc;
}

void nw_vm_destroy(struct nw_vm *vm)
{
	if (vm)
		vm_free(vm);
}

const struct nw_vm_cfg *nw_vm_config(const struct nw_vm *vm)
{
	return &vm->cfg;
}

struct nw_vcpu *nw_vm_vcpu(struct nw_vm *vm, unsigned i)
{
	return i < vm->nvcpus ? &vm->vcpus[i] : NULL;
}

unsigned nw_vm_vcpus(const struct nw_vm *vm)
{
	return vm->nvcpus;
}

int nw_vm_stopped(const struct nw_vm *vm)
{
	return vm->stopped;
}

uint64_t nw_vm_host_frames(const struct nw_vm *vm)
{
	return vm->host.mem.frames_in_use + vm->host.backing_frames;
}

uint64_t nw_vm_backing_pages(const struct nw_vm *vm, int level)
{
	return level >= 1 && level <= 3 ? vm->backing_pages[level] : 0;
}

uint64_t nw_vm_nested_table_pages(const struct nw_vm *vm)
{
	if (vm->cfg.mode == NW_VM_EPT)
		return vm->ept.pt.table_pages;
	if (vm->cfg.mode == NW_VM_NPT)
		return vm->npt.pt.table_pages;
	if (vm->cfg.mode == NW_VM_SHADOW)
		return nw_shadow_stats(vm->shadow)->pages; /* the shadow tables */
	return 0;
}
