/* SPDX-License-Identifier: MIT */
/*
 * VM exits: the views get the real exit number and information, a handler
 * table keyed by exit kind does the work, and the run loop resumes.
 *
 * The nested-fault handler is demand paging: a guest frame's first touch
 * allocates one backing page of the configured host size and maps it RWX.
 * A fault on the console's page is MMIO and is emulated. Every
 * `migrate_every` nested faults the VMM moves one backing page elsewhere
 * (as compaction or NUMA balancing would), which changes a present nested
 * mapping and so needs an INVEPT (or TLB_CONTROL flush) on every vCPU.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm_internal.h"

static const struct {
	const char *name;
	uint32_t vmx, svm;
} exit_kinds[NW_EXIT_KINDS] = {
	[NW_EXIT_NESTED_FAULT] = { "nested_fault", NW_VMX_EXIT_EPT_VIOLATION, NW_SVM_EXIT_NPF },
	[NW_EXIT_EPT_MISCONFIG] = { "ept_misconfig", NW_VMX_EXIT_EPT_MISCONFIG, NW_SVM_EXIT_NPF },
	[NW_EXIT_CR3_WRITE] = { "cr3_write", NW_VMX_EXIT_CR_ACCESS, NW_SVM_EXIT_CR3_WRITE },
	[NW_EXIT_INVLPG] = { "invlpg", NW_VMX_EXIT_INVLPG, NW_SVM_EXIT_INVLPG },
	[NW_EXIT_PF] = { "pf", NW_VMX_EXIT_EXCEPTION, NW_SVM_EXIT_EXCP_PF },
	[NW_EXIT_IPI] = { "ipi", NW_VMX_EXIT_WRMSR, NW_SVM_EXIT_MSR },
};

const char *nw_exit_name(enum nw_exit_kind k)
{
	return (unsigned)k < NW_EXIT_KINDS ? exit_kinds[k].name : "?";
}

static bool amd(const struct nw_vm *vm)
{
	return nw_vm_svm(vm);
}

/* Fill the exit-information fields of the current vendor's view. */
void nw_vmm_record_exit(struct nw_vcpu *v, enum nw_exit_kind k, uint64_t qual_or_info1,
			uint64_t gla_or_info2, uint64_t gpa)
{
	struct nw_vm *vm = v->vm;

	v->st.exits[k]++;
	nw_tlb_charge_vmexit(v->tlb);
	if (amd(vm)) {
		nw_vmcb_write(&v->vmcb, NW_VMCB_EXITCODE, 8, exit_kinds[k].svm);
		nw_vmcb_write(&v->vmcb, NW_VMCB_EXITINFO1, 8, qual_or_info1);
		nw_vmcb_write(&v->vmcb, NW_VMCB_EXITINFO2, 8, gla_or_info2);
	} else {
		nw_vmcs_write(&v->vmcs, NW_VMCS_EXIT_REASON, exit_kinds[k].vmx);
		nw_vmcs_write(&v->vmcs, NW_VMCS_EXIT_QUALIFICATION, qual_or_info1);
		nw_vmcs_write(&v->vmcs, NW_VMCS_GUEST_LINEAR_ADDRESS, gla_or_info2);
		nw_vmcs_write(&v->vmcs, NW_VMCS_GUEST_PHYSICAL_ADDRESS, gpa);
	}
	/* Without VPID every VM exit and entry flushes VPID 0's mappings. */
	if (!vm->cfg.vpid && !amd(vm)) {
		nw_tlb_vmx_transition(v->tlb, false);
		nw_tlb_vmx_transition(v->tlb, false);
	}
}

void nw_vmm_exit_simple(struct nw_vcpu *v, enum nw_exit_kind k, uint64_t qual)
{
	nw_vmm_record_exit(v, k, qual, 0, 0);
}

static void stop(struct nw_vm *vm, int err)
{
	if (!vm->stopped)
		vm->stopped = err;
}

struct tlb_probe {
	uint64_t hpa;
	bool found;
};

static void probe_entry(void *arg, const struct nw_tlb_entry *e)
{
	struct tlb_probe *p = arg;
	uint64_t size = NW_LEVEL_SIZE(e->size);
	bool hit = p->hpa >= (e->pa & ~(size - 1)) && p->hpa < (e->pa & ~(size - 1)) + size;
	p->found |= hit;
}

/* Does any vCPU's TLB hold a translation to the host page at hpa? */
static bool cached_anywhere(struct nw_vm *vm, uint64_t hpa)
{
	struct tlb_probe p = { .hpa = hpa };
	static const enum nw_tlb_sid tlbs[] = { NW_SID_L1D0, NW_SID_L1D1, NW_SID_L1D2,
						NW_SID_L2_0, NW_SID_L2_1 };
	for (unsigned i = 0; i < vm->nvcpus && !p.found; i++)
		for (unsigned k = 0; k < sizeof(tlbs) / sizeof(tlbs[0]); k++)
			nw_tlb_for_each(vm->vcpus[i].tlb, tlbs[k], probe_entry, &p);
	return p.found;
}

void nw_vmm_flush_nested(struct nw_vm *vm, uint64_t stale_hpa)
{
	/*
	 * The negative control forgets one flush: the first one that matters,
	 * where a TLB still holds a translation to the page that moved.
	 */
	if ((vm->bugs_left & NW_VM_BUG_SKIP_INVEPT) && cached_anywhere(vm, stale_hpa)) {
		vm->bugs_left &= ~NW_VM_BUG_SKIP_INVEPT;
		return;
	}
	if (vm->cfg.mode == NW_VM_SHADOW) {
		nw_vmm_shadow_flush_tlbs(vm); /* linear mappings: there is no EPT */
		return;
	}
	for (unsigned i = 0; i < vm->nvcpus; i++) {
		struct nw_vcpu *v = &vm->vcpus[i];
		if (amd(vm))
			nw_tlb_tlb_control(v->tlb, v->vpid, 3); /* this ASID, at the next VMRUN */
		else
			nw_tlb_invept(v->tlb, 1, vm->eptp);
	}
}

static int p2m_map(struct nw_vm *vm, uint64_t gpa, uint64_t hpa, int level, unsigned flags,
		   struct nw_inval *inv)
{
	unsigned max = (unsigned)level | flags;
	if (vm->cfg.mode == NW_VM_SHADOW) {
		bool replaced;
		int rc = nw_vmm_p2m_set(vm, gpa, hpa, level, &replaced);
		*inv = (struct nw_inval){ .kind = replaced ? NW_INVAL_LEAF : NW_INVAL_NONE };
		/* A moved page: the shadow leaves that map it go (only outside shadow operations). */
		if (rc == 0 && replaced)
			rc = nw_shadow_zap_gpa_range(vm->shadow, gpa, NW_LEVEL_SIZE(level));
		return rc;
	}
	if (amd(vm))
		return nw_npt_map(&vm->npt, gpa, hpa, NW_LEVEL_SIZE(level),
				  NW_PROT_RWX | NW_PROT_U, 0, max, inv);
	return nw_ept_map(&vm->ept, gpa, hpa, NW_LEVEL_SIZE(level), NW_PROT_RWX, NW_EPT_MT_WB,
			  max, inv);
}

/* The largest backing page that the policy, alignment and RAM allow at gpa. */
static int backing_level(const struct nw_vm *vm, uint64_t gpa)
{
	int want = vm->cfg.host_page ? vm->cfg.host_page : NW_PAGE_1G;
	for (int l = want; l > 1; l--) {
		uint64_t base = gpa & ~(NW_LEVEL_SIZE(l) - 1);
		if (base + NW_LEVEL_SIZE(l) <= vm->cfg.ram)
			return l;
	}
	return 1;
}

static int note_backing(struct nw_vm *vm, uint64_t gpa, uint64_t hpa, int level)
{
	if (vm->nbacking == vm->capbacking) {
		uint64_t cap = vm->capbacking ? 2 * vm->capbacking : 256;
		struct nw_backing *p = realloc(vm->backing, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		vm->backing = p;
		vm->capbacking = cap;
	}
	vm->backing[vm->nbacking++] = (struct nw_backing){ gpa, hpa, level };
	vm->backing_pages[level]++;
	return 0;
}

/* Move one backing page: copy, remap, and make every vCPU forget the old one. */
int nw_vmm_migrate(struct nw_vcpu *v)
{
	struct nw_vm *vm = v->vm;
	struct nw_backing *b;
	struct nw_inval inv;
	uint64_t hpa;

	if (!vm->nbacking)
		return 0;
	b = &vm->backing[(vm->nested_faults * 0x9e3779b97f4a7c15ull >> 17) % vm->nbacking];
	if (b->level != NW_PAGE_4K || vm->cfg.translation_only)
		return 0; /* only small pages move, and only real data */
	if (nw_hostmem_backing_alloc(&vm->host, b->level, &hpa) < 0)
		return 0; /* no room to move: not an error */
	memcpy(nw_hostmem_ptr(&vm->host, hpa), nw_hostmem_ptr(&vm->host, b->hpa), NW_PAGE_SIZE);
	int rc = p2m_map(vm, b->gpa, hpa, b->level, NW_MAP_REPLACE, &inv);
	if (rc < 0) {
		nw_hostmem_backing_free(&vm->host, b->level, hpa);
		return rc;
	}
	uint64_t old = b->hpa;
	b->hpa = hpa;
	v->st.migrated++;
	if (inv.kind != NW_INVAL_NONE)
		nw_vmm_flush_nested(vm, old);
	nw_hostmem_backing_free(&vm->host, b->level, old);
	return 0;
}

int nw_vmm_populate(struct nw_vcpu *v, uint64_t gpa)
{
	struct nw_vm *vm = v->vm;
	int level = backing_level(vm, gpa);
	uint64_t base = gpa & ~(NW_LEVEL_SIZE(level) - 1), hpa;
	struct nw_inval inv;
	int rc;

	if (vm->cfg.translation_only && base >= vm->cfg.data_gpa) {
		/* Translation-only data: real tables, one shared frame behind them. */
		level = 1;
		base = gpa & NW_PAGE_MASK;
		hpa = vm->shared_hpa;
	} else {
		rc = nw_hostmem_backing_alloc(&vm->host, level, &hpa);
		if (rc < 0)
			return rc;
	}
	rc = p2m_map(vm, base, hpa, level, 0, &inv);
	if (rc == 0 && hpa != vm->shared_hpa)
		rc = note_backing(vm, base, hpa, level);
	if (rc < 0) {
		if (hpa != vm->shared_hpa)
			nw_hostmem_backing_free(&vm->host, level, hpa);
		return rc;
	}
	v->st.populated++;
	/* Filling a non-present entry makes nothing stale: no flush is due. */
	if (inv.kind != NW_INVAL_NONE)
		nw_vmm_flush_nested(vm, ~0ull);
	return 0;
}

/* The console: a byte written to its page goes to the guest's console. */
int nw_vmm_mmio(struct nw_vcpu *v, unsigned access, uint64_t *val)
{
	v->st.mmio++;
	if (access & NW_ACC_WRITE) {
		if (v->gops && v->gops->console)
			v->gops->console(v->guest, v, (uint8_t)*val);
	} else {
		*val = 0;
	}
	return NW_EXIT_DONE;
}

/*
 * The guest touched guest-physical memory that is neither RAM nor a device
 * (a garbage entry in its own tables, say). Real hardware reads all ones
 * there and drops writes (a master abort), and native mode models exactly
 * that; here the page is mapped read-only to a frame of all ones, so that
 * the guest's table walks through it read all ones too (and fault on the
 * reserved bits), and a data write to it is dropped.
 */
static int unassigned(struct nw_vcpu *v, const struct nw_exit *x)
{
	struct nw_vm *vm = v->vm;
	struct nw_inval inv;
	int rc;

	if (x->cause == NW_NESTED_DENIED && x->final)
		return NW_EXIT_DONE; /* a store: dropped */
	if (x->cause != NW_NESTED_NOT_PRESENT)
		return -EFAULT;
	if (!vm->ones_hpa) {
		uint64_t *p;
		rc = nw_mem_alloc(&vm->host.mem, &vm->ones_hpa);
		if (rc < 0)
			return rc;
		p = nw_hostmem_ptr(&vm->host, vm->ones_hpa);
		for (unsigned i = 0; p && i < NW_PAGE_SIZE / 8; i++)
			p[i] = ~0ull;
	}
	uint64_t gpa = x->gpa & NW_PAGE_MASK;
	if (amd(vm))
		rc = nw_npt_map(&vm->npt, gpa, vm->ones_hpa, NW_PAGE_SIZE,
				NW_PROT_R | NW_PROT_X | NW_PROT_U, 0, NW_PAGE_4K, &inv);
	else
		rc = nw_ept_map(&vm->ept, gpa, vm->ones_hpa, NW_PAGE_SIZE, NW_PROT_R | NW_PROT_X,
				NW_EPT_MT_WB, NW_PAGE_4K, &inv);
	return rc < 0 ? rc : NW_EXIT_RESUME;
}

int nw_vmm_handle_nested(struct nw_vcpu *v, const struct nw_walk *w, unsigned access,
			 uint64_t *val)
{
	struct nw_vm *vm = v->vm;
	const struct nw_exit *x = &w->exit;
	enum nw_exit_kind k = w->fault == NW_FAULT_EPT_MISCONFIG ? NW_EXIT_EPT_MISCONFIG
								  : NW_EXIT_NESTED_FAULT;
	int rc;

	if (amd(vm))
		nw_vmm_record_exit(v, k, x->info1, x->info2, x->gpa);
	else
		nw_vmm_record_exit(v, k, x->qual, x->gla, x->gpa);

	if (x->gpa >= vm->mmio_gpa && x->gpa < vm->mmio_gpa + NW_PAGE_SIZE && x->final)
		return nw_vmm_mmio(v, access, val);
	if (x->gpa >= vm->cfg.ram && (x->gpa & NW_PAGE_MASK) != vm->mmio_gpa) {
		rc = unassigned(v, x);
		if (rc < 0)
			stop(vm, rc);
		return rc;
	}
	if (x->gpa >= vm->cfg.ram || x->cause != NW_NESTED_NOT_PRESENT) {
		/* No memory there, or a fault on memory the VMM mapped RWX: a bug. */
		stop(vm, -EFAULT);
		return -EFAULT;
	}
	rc = nw_vmm_populate(v, x->gpa);
	if (rc == 0 && vm->cfg.migrate_every && ++vm->nested_faults % vm->cfg.migrate_every == 0)
		rc = nw_vmm_migrate(v);
	if (rc < 0) {
		stop(vm, rc);
		return rc;
	}
	return NW_EXIT_RESUME;
}
