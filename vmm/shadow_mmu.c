/* SPDX-License-Identifier: MIT */
/*
 * The MMU front in shadow mode.
 *
 *  - The p2m: guest frames backed on demand by host pages of the
 *    configured size, from the same seeded allocator as under EPT/NPT, but
 *    kept in a plain table per 2 MiB of RAM: no nested tables, nothing the
 *    hardware walks.
 *  - The shadow MMU (shadow/) over it, whose tables the vCPU's hardware
 *    walk uses (1D from sCR3, linear mappings tagged with the VPID/ASID).
 *  - The exits shadow paging takes, with the real numbers: the #PF
 *    intercept (VMX exit 0, vector 14 / SVM 0x4E), MOV to CR3 (28 / 0x13)
 *    and INVLPG (14 / 0x79). A guest store to a write-protected guest table
 *    arrives as a #PF exit and is emulated.
 */

#include <errno.h>
#include <stdlib.h>

#include "vmm_internal.h"

/* VM-exit interruption information of a #PF: vector 14, hardware
 * exception (type 3), error code valid (bit 11), valid (bit 31). */
#define PF_INTR_INFO (14u | (3u << 8) | (1u << 11) | (1u << 31))

/* ---- the p2m ---- */

static uint64_t *p2m_slot(struct nw_vm *vm, uint64_t gpa, bool make, bool *big)
{
	struct nw_p2m_chunk *c = &vm->p2m[gpa >> NW_LEVEL_SHIFT(2)];

	*big = c->hpa != 0;
	if (*big)
		return &c->hpa;
	if (!c->pages && make)
		c->pages = calloc(NW_ENTRIES_PER_TABLE, sizeof(uint64_t));
	return c->pages ? &c->pages[NW_LEVEL_INDEX(gpa, 1)] : NULL;
}

int nw_vmm_p2m_set(struct nw_vm *vm, uint64_t gpa, uint64_t hpa, int level, bool *replaced)
{
	bool big;

	*replaced = false;
	if (level == NW_PAGE_4K) {
		uint64_t *slot = p2m_slot(vm, gpa, true, &big);
		if (!slot || big)
			return slot ? -EEXIST : -ENOMEM;
		*replaced = *slot != 0;
		*slot = (hpa & NW_PAGE_MASK) | 1; /* bit 0: backed (HPA 0 is a frame too) */
		return 0;
	}
	/* 2 MiB and 1 GiB backing: every 2 MiB part of it. */
	for (uint64_t off = 0; off < NW_LEVEL_SIZE(level); off += NW_LEVEL_SIZE(2)) {
		struct nw_p2m_chunk *c = &vm->p2m[(gpa + off) >> NW_LEVEL_SHIFT(2)];
		*replaced |= c->hpa != 0;
		c->hpa = (hpa + off) | 1;
	}
	return 0;
}

/* The p2m's answer, backing the frame first if needed (demand paging). */
static int p2m_lookup(struct nw_vcpu *v, uint64_t gpa, uint64_t *hpa)
{
	struct nw_vm *vm = v->vm;
	bool big;
	uint64_t *slot;
	int rc;

	if (gpa >= vm->cfg.ram)
		return -EFAULT; /* the console page, or nothing */
	slot = p2m_slot(vm, gpa, false, &big);
	if (!slot || !*slot) {
		rc = nw_vmm_populate(v, gpa);
		if (rc < 0)
			return rc;
		/* The shadow MMU is mid-operation: a migration waits for its end. */
		if (vm->cfg.migrate_every && ++vm->nested_faults % vm->cfg.migrate_every == 0)
			vm->migrate_due = true;
		slot = p2m_slot(vm, gpa, false, &big);
	}
	uint64_t mask = big ? NW_LEVEL_SIZE(2) - 1 : NW_PAGE_SIZE - 1;
	*hpa = (*slot & ~1ull) + (gpa & mask);
	return 0;
}

int nw_vmm_shadow_gpa(struct nw_vcpu *v, uint64_t gpa, uint64_t *hpa)
{
	return p2m_lookup(v, gpa, hpa);
}

static int shadow_p2m(void *ctx, uint64_t gpa, uint64_t *hpa)
{
	struct nw_vm *vm = ctx;
	int rc = p2m_lookup(vm->shadow_vcpu, gpa, hpa);

	if (rc < 0 && rc != -EFAULT && !vm->stopped)
		vm->stopped = rc;
	return rc;
}

/* Shadow entries lost something: every vCPU drops its linear mappings
 * (INVVPID single-context, TLB_CONTROL 3; without VPID, as an entry would). */
void nw_vmm_shadow_flush_tlbs(struct nw_vm *vm)
{
	for (unsigned i = 0; i < vm->nvcpus; i++) {
		struct nw_vcpu *v = &vm->vcpus[i];
		if (nw_vm_svm(vm))
			nw_tlb_tlb_control(v->tlb, v->vpid, 3);
		else if (v->vpid)
			nw_tlb_invvpid(v->tlb, 1, v->vpid, 0);
		else
			nw_tlb_vmx_transition(v->tlb, false);
	}
}

/* 2 MiB when a large host page backs the chunk of gpa: the shadow may map it with one leaf. */
static int shadow_host_level(void *ctx, uint64_t gpa)
{
	struct nw_vm *vm = ctx;
	bool big;

	if (gpa >= vm->cfg.ram)
		return NW_PAGE_4K;
	p2m_slot(vm, gpa, false, &big);
	return big ? NW_PAGE_2M : NW_PAGE_4K;
}

static void shadow_flush(void *ctx)
{
	nw_vmm_shadow_flush_tlbs(ctx);
}

const char *nw_vm_stop_detail(const struct nw_vm *vm)
{
	if (vm->stopped == -EUCLEAN && vm->shadow)
		return nw_shadow_check_msg(vm->shadow);
	return "";
}

int nw_vmm_shadow_init(struct nw_vm *vm)
{
	struct nw_shadow_cfg cfg;

	vm->p2m = calloc(vm->cfg.ram >> NW_LEVEL_SHIFT(2), sizeof(*vm->p2m));
	if (!vm->p2m)
		return -ENOMEM;
	vm->shadow_vcpu = &vm->vcpus[0];
	nw_shadow_cfg_default(&cfg);
	cfg.mem = &vm->host.mem;
	cfg.acc = &vm->hacc;
	cfg.ops.gpa_to_hpa = shadow_p2m;
	cfg.ops.flush_tlb = shadow_flush;
	cfg.ops.host_level = shadow_host_level;
	cfg.ctx = vm;
	cfg.maxphyaddr = vm->x86.maxphyaddr;
	cfg.vcpus = vm->cfg.vcpus;
	cfg.unsync = vm->cfg.shadow.unsync;
	cfg.large_pages = vm->cfg.shadow.large_pages;
	cfg.root_cache = vm->cfg.shadow.root_cache;
	cfg.flood_threshold = vm->cfg.shadow.flood_threshold;
	cfg.checker = vm->cfg.shadow.checker;
	return nw_shadow_create(&cfg, &vm->shadow);
}

void nw_vmm_shadow_fini(struct nw_vm *vm)
{
	nw_shadow_destroy(vm->shadow);
	if (vm->p2m)
		for (uint64_t i = 0; i < vm->cfg.ram >> NW_LEVEL_SHIFT(2); i++)
			free(vm->p2m[i].pages);
	free(vm->p2m);
}

/* ---- exits ---- */

/* The end of every shadow operation: a VM stopped, or a migration now due. */
static int after(struct nw_vcpu *v, int rc)
{
	struct nw_vm *vm = v->vm;

	if (rc < 0) {
		if (!vm->stopped)
			vm->stopped = rc;
		return rc;
	}
	if (vm->migrate_due) {
		vm->migrate_due = false;
		rc = nw_vmm_migrate(v);
		if (rc < 0 && !vm->stopped)
			vm->stopped = rc;
	}
	return rc;
}

int nw_vmm_shadow_pf(struct nw_vcpu *v, uint64_t gva, unsigned access, const struct nw_walk *w,
		     uint64_t *val, uint32_t *error)
{
	struct nw_vm *vm = v->vm;
	struct nw_shadow_outcome o;
	uint64_t err = w->pf_error | ((access & NW_ACC_IMPLICIT) ? NW_SHADOW_PFEC_IMPLICIT : 0);
	int rc;

	if (nw_vm_svm(vm)) {
		nw_vmm_record_exit(v, NW_EXIT_PF, w->pf_error, gva, 0);
	} else {
		nw_vmm_record_exit(v, NW_EXIT_PF, gva, 0, 0);
		nw_vmcs_write(&v->vmcs, NW_VMCS_EXIT_INTR_INFO, PF_INTR_INFO);
		nw_vmcs_write(&v->vmcs, NW_VMCS_EXIT_INTR_ERROR_CODE, w->pf_error);
	}
	vm->shadow_vcpu = v;
	rc = after(v, nw_shadow_page_fault(vm->shadow, v->id, &v->mode, gva, err, &o));
	if (rc < 0)
		return rc;
	switch (o.result) {
	case NW_SHADOW_FIXED:
		return NW_EXIT_RESUME;
	case NW_SHADOW_INJECT:
		/* Reflect the #PF: the VM-entry event injection of the next entry. */
		*error = o.pf_error;
		if (!nw_vm_svm(vm)) {
			nw_vmcs_write(&v->vmcs, NW_VMCS_ENTRY_INTR_INFO, PF_INTR_INFO);
			nw_vmcs_write(&v->vmcs, NW_VMCS_ENTRY_EXCEPTION_ERROR_CODE, o.pf_error);
		}
		return NW_EXIT_INJECT;
	case NW_SHADOW_EMULATE:
		if (v->string_op)
			return NW_EXIT_STRING; /* the caller emulates it quadword by quadword */
		rc = after(v, nw_shadow_emulate_write(vm->shadow, o.gpa, *val));
		return rc < 0 ? rc : NW_EXIT_DONE;
	case NW_SHADOW_MMIO:
		if (v->string_op)
			return NW_VCPU_SEGV;
		if (o.gpa >= vm->mmio_gpa && o.gpa < vm->mmio_gpa + NW_PAGE_SIZE)
			return nw_vmm_mmio(v, access, val);
		/* No memory and no device: a master abort reads all ones and drops
		 * writes, as in native mode (the guest's own garbage, say). */
		if (!(access & NW_ACC_WRITE))
			*val = ~0ull;
		return NW_EXIT_DONE;
	}
	if (!vm->stopped)
		vm->stopped = -EIO;
	return -EIO;
}

int nw_vmm_shadow_load(struct nw_vcpu *v, uint64_t cr3)
{
	v->vm->shadow_vcpu = v;
	return after(v, nw_shadow_load_cr3(v->vm->shadow, v->id, cr3, &v->mode, &v->scr3));
}

int nw_vmm_shadow_cr3(struct nw_vcpu *v, uint64_t cr3)
{
	/* MOV to CR3 from RAX: qualification CR 3, type 0, GPR 0; SVM decode assists set bit 63. */
	if (nw_vm_svm(v->vm))
		nw_vmm_record_exit(v, NW_EXIT_CR3_WRITE, 1ull << 63, 0, 0);
	else
		nw_vmm_record_exit(v, NW_EXIT_CR3_WRITE, 3, 0, 0);
	return nw_vmm_shadow_load(v, cr3);
}

int nw_vmm_shadow_invlpg(struct nw_vcpu *v, uint64_t gva)
{
	/* INVLPG: the qualification (VMX) or EXITINFO1 (SVM decode assists) is the address. */
	nw_vmm_record_exit(v, NW_EXIT_INVLPG, gva, 0, 0);
	v->vm->shadow_vcpu = v;
	return after(v, nw_shadow_invlpg(v->vm->shadow, v->id, gva));
}

int nw_vmm_shadow_flush(struct nw_vcpu *v)
{
	v->vm->shadow_vcpu = v;
	return after(v, nw_shadow_flush(v->vm->shadow));
}

int nw_vmm_shadow_phys_write(struct nw_vcpu *v, uint64_t gpa, uint64_t val)
{
	v->vm->shadow_vcpu = v;
	return after(v, nw_shadow_write_gpa(v->vm->shadow, gpa, val));
}
