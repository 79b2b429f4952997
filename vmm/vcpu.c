/* SPDX-License-Identifier: MIT */
/*
 * The vCPU: the guest's instructions that touch memory or the MMU.
 *
 * An access runs the real loop: enter, translate through the TLBs (walking
 * on a miss), and on a nested fault exit to the VMM, which handles it and
 * resumes, retrying the access. A guest #PF is delivered to the guest's
 * own handler, and the access is retried once the guest has fixed its
 * tables.
 */

#include <errno.h>
#include <string.h>

#include "vmm_internal.h"

/* More nested #PF handling than this is a guest bug, not a deep fault. */
#define MAX_PF_DEPTH 4
/* A correct VMM resolves any access in a few exits; past this, stop. */
#define MAX_RETRIES 64

void nw_vcpu_refresh(struct nw_vcpu *v)
{
	struct nw_vm *vm = v->vm;
	struct nw_tlb_ctx ctx = {
		.vpid = nw_vm_nested(vm) ? v->vpid : 0,
		.pcid = v->pcide ? (uint16_t)(v->cr3 & 0xfff) : 0,
	};
	struct nw_tlb_walker *wk = &v->wk;

	memset(wk, 0, sizeof(*wk));
	wk->flags = vm->cfg.caches ? 0 : NW_TLB_WALK_UNCACHED;
	if (vm->cfg.mode == NW_VM_EPT || vm->cfg.mode == NW_VM_NPT) {
		bool ept = vm->cfg.mode == NW_VM_EPT;
		ctx.nest = ept ? NW_NEST_EPT : NW_NEST_NPT;
		ctx.eptp = ept ? vm->eptp : 0;
		wk->w2d = (struct nw_walk2d_cfg){
			.acc = &vm->hacc,
			.gfmt = &vm->x86,
			.gcr3 = v->cr3 & NW_PTE_ADDR_MASK,
			.gmode = v->mode,
			.hfmt = ept ? &vm->ept.fmt : &vm->npt.fmt,
			.hroot = ept ? vm->ept.pt.root : vm->npt.pt.root,
			.hlevels = vm->cfg.host_levels,
			.hmode = ept ? 0 : NW_FMT_NXE,
		};
	} else {
		ctx.nest = NW_NEST_NONE;
		wk->fmt = &vm->x86;
		wk->acc = &vm->hacc;
		wk->root = v->cr3 & NW_PTE_ADDR_MASK;
		wk->mode = v->mode;
		if (vm->cfg.mode == NW_VM_SHADOW) {
			/* The hardware walks the shadow tables; its mappings carry the VPID. */
			ctx.vpid = v->vpid;
			wk->root = v->scr3;
			nw_shadow_hw_mode(&v->mode, &wk->mode);
		}
	}
	nw_tlb_set_ctx(v->tlb, &ctx);
}

void nw_vcpu_set_guest(struct nw_vcpu *v, const struct nw_guest_ops *ops, void *guest)
{
	v->gops = ops;
	v->guest = guest;
}

unsigned nw_vcpu_id(const struct nw_vcpu *v)
{
	return v->id;
}

struct nw_vm *nw_vcpu_vm(struct nw_vcpu *v)
{
	return v->vm;
}

const struct nw_vcpu_stats *nw_vcpu_stats(const struct nw_vcpu *v)
{
	return &v->st;
}

struct nw_tlb *nw_vcpu_tlb(struct nw_vcpu *v)
{
	return v->tlb;
}

int nw_vcpu_vmread(const struct nw_vcpu *v, uint32_t enc, uint64_t *val)
{
	return nw_vmcs_read(&v->vmcs, enc, val);
}

uint64_t nw_vcpu_vmcb(const struct nw_vcpu *v, unsigned off, unsigned size)
{
	return nw_vmcb_read(&v->vmcb, off, size);
}

uint64_t nw_vcpu_cr3(const struct nw_vcpu *v)
{
	return v->cr3;
}

void nw_vcpu_set_paging(struct nw_vcpu *v, const struct nw_x86_mode *mode, bool pcide)
{
	v->mode = *mode;
	v->pcide = pcide;
	v->paging = true;
	nw_vmcs_write(&v->vmcs, NW_VMCS_GUEST_CR4, pcide ? 1u << 17 : 0);
	nw_vmcb_write(&v->vmcb, NW_VMCB_CR4, 8, pcide ? 1u << 17 : 0);
	/* New paging bits change what shadow entries mean: another root. */
	if (v->vm->cfg.mode == NW_VM_SHADOW && v->scr3)
		nw_vmm_shadow_load(v, v->cr3);
	nw_vcpu_refresh(v);
}

/*
 * Translate gva for `access`, running exits and the guest's #PF handler as
 * needed. 0 with *pa, NW_VCPU_SEGV, NW_EXIT_DONE (MMIO emulated, *val set),
 * or a negative errno.
 */
static int translate(struct nw_vcpu *v, uint64_t gva, unsigned access, uint64_t *pa,
		     uint64_t *val)
{
	struct nw_vm *vm = v->vm;
	struct nw_tlb_xlat x;

	for (int tries = 0; tries < MAX_RETRIES; tries++) {
		if (vm->stopped)
			return vm->stopped;
		int rc = nw_tlb_access(v->tlb, &v->wk, gva, access, &x);
		if (rc == -ERANGE)
			return NW_VCPU_SEGV; /* non-canonical: #GP, which kills the process */
		if (rc < 0)
			return rc;
		switch (x.w.fault) {
		case NW_FAULT_NONE:
			*pa = x.w.pa;
			return 0;
		case NW_FAULT_PF: {
			uint32_t error = x.w.pf_error;
			/* Shadow: a #PF exit first; the shadow MMU fixes it or reflects it. */
			if (vm->cfg.mode == NW_VM_SHADOW) {
				rc = nw_vmm_shadow_pf(v, gva, access, &x.w, val, &error);
				if (rc == NW_EXIT_RESUME)
					break;
				if (rc != NW_EXIT_INJECT)
					return rc;
			}
			v->st.guest_pf++;
			if (!v->gops || !v->gops->page_fault || v->depth >= MAX_PF_DEPTH)
				return NW_VCPU_SEGV;
			v->depth++;
			rc = v->gops->page_fault(v->guest, v, x.w.fault_addr, error);
			v->depth--;
			if (vm->stopped)
				return vm->stopped;
			if (rc)
				return NW_VCPU_SEGV;
			break;
		}
		default:
			rc = nw_vmm_handle_nested(v, &x.w, access, val);
			if (rc != NW_EXIT_RESUME)
				return rc;
		}
	}
	vm->stopped = -ELOOP;
	return -ELOOP;
}

/* Where the data at pa lives: the MMIO page, no memory, or a pointer. */
static uint64_t *data_ptr(struct nw_vcpu *v, uint64_t pa, bool *mmio)
{
	struct nw_vm *vm = v->vm;

	*mmio = false;
	if (vm->cfg.mode == NW_VM_NATIVE) {
		if (pa >= vm->mmio_gpa && pa < vm->mmio_gpa + NW_PAGE_SIZE) {
			*mmio = true;
			return NULL;
		}
		if (pa >= vm->cfg.ram)
			return NULL;
		if (vm->cfg.translation_only && pa >= vm->cfg.data_gpa)
			return nw_hostmem_ptr(&vm->host, vm->shared_hpa + (pa & (NW_PAGE_SIZE - 1)));
	}
	return nw_hostmem_ptr(&vm->host, pa);
}

static void count(struct nw_vcpu *v, unsigned access)
{
	if (access & NW_ACC_WRITE)
		v->st.stores++;
	else if (access & NW_ACC_FETCH)
		v->st.fetches++;
	else
		v->st.loads++;
}

/*
 * One quadword access, not counted: the caller counts the instruction once
 * it succeeds (a faulting one is retried, and counted then).
 */
static int access_quadword(struct nw_vcpu *v, uint64_t gva, unsigned access, uint64_t *val)
{
	uint64_t pa, *p;
	bool mmio;
	int rc;

	if (gva & 7)
		return -EINVAL;
	rc = translate(v, gva, access, &pa, val);
	if (rc == NW_EXIT_DONE)
		return 0;
	if (rc)
		return rc;
	p = data_ptr(v, pa, &mmio);
	if (mmio) {
		v->st.mmio++;
		if ((access & NW_ACC_WRITE) && v->gops && v->gops->console)
			v->gops->console(v->guest, v, (uint8_t)*val);
		else if (!(access & NW_ACC_WRITE))
			*val = 0;
		return 0;
	}
	if (access & NW_ACC_WRITE) {
		if (p)
			*p = *val;
	} else {
		*val = p ? *p : ~0ull; /* no memory: a master abort reads all ones */
		if (!(access & NW_ACC_FETCH))
			v->st.checksum = ((v->st.checksum << 7) | (v->st.checksum >> 57)) ^ *val;
	}
	return 0;
}

int nw_vcpu_access(struct nw_vcpu *v, uint64_t gva, unsigned access, uint64_t *val)
{
	int rc = access_quadword(v, gva, access, val);

	if (rc == 0)
		count(v, access);
	return rc;
}

/* The other 63 lines of a page a string instruction sweeps. */
static void charge_lines(struct nw_vcpu *v, uint64_t pa)
{
	struct nw_tlb_stats *s = nw_tlb_stats(v->tlb);

	for (uint64_t off = NW_LINE_SIZE; off < NW_PAGE_SIZE; off += NW_LINE_SIZE) {
		enum nw_mem_level where = nw_lat_touch(v->lat, (pa & NW_PAGE_MASK) + off);
		s->mem_data[where]++;
		s->cycles[NW_CYC_DATA] += nw_lat_cycles(v->lat, where);
	}
}

static int page_ptr(struct nw_vcpu *v, uint64_t gva, unsigned access, uint8_t **out)
{
	uint64_t pa, dummy = 0;
	bool mmio;

	v->string_op = true;
	int rc = translate(v, gva & NW_PAGE_MASK, access, &pa, &dummy);
	v->string_op = false;

	if (rc == NW_EXIT_DONE)
		return NW_VCPU_SEGV; /* string instructions on the console: not modelled */
	if (rc)
		return rc;
	charge_lines(v, pa);
	uint64_t *p = data_ptr(v, pa & NW_PAGE_MASK, &mmio);
	if (mmio)
		return NW_VCPU_SEGV;
	*out = (uint8_t *)p;
	return 0;
}

/*
 * Shadow: a string store into a write-protected guest table is emulated as
 * the instruction's quadword stores, each its own trapped write (KVM
 * emulates rep stos/movs per iteration; flood detection soon unshadows a
 * table overwritten whole). It stays one access in the figures, as the
 * same page operation is in every other mode: per-access costs divide by
 * what the guest did, not by how the VMM had to carry it out.
 */
static int store_by_quadwords(struct nw_vcpu *v, uint64_t gva, unsigned access,
			      const uint64_t *src)
{
	int rc = 0;

	for (unsigned i = 0; i < NW_PAGE_SIZE / 8 && !rc; i++) {
		uint64_t val = src ? src[i] : 0;
		rc = access_quadword(v, (gva & NW_PAGE_MASK) + 8 * i, access | NW_ACC_WRITE, &val);
	}
	if (rc == 0)
		v->st.stores++;
	return rc;
}

int nw_vcpu_zero_page(struct nw_vcpu *v, uint64_t gva, unsigned access)
{
	uint8_t *p;
	int rc = page_ptr(v, gva, access | NW_ACC_WRITE, &p);

	if (rc == NW_EXIT_STRING)
		return store_by_quadwords(v, gva, access, NULL);
	if (rc)
		return rc;
	v->st.stores++;
	if (p)
		memset(p, 0, NW_PAGE_SIZE);
	return 0;
}

int nw_vcpu_copy_page(struct nw_vcpu *v, uint64_t dst, uint64_t src, unsigned access)
{
	uint8_t *s, *d;
	int rc = page_ptr(v, src, access & ~NW_ACC_WRITE, &s);

	if (rc)
		return rc;
	rc = page_ptr(v, dst, access | NW_ACC_WRITE, &d);
	if (rc == NW_EXIT_STRING) {
		uint64_t buf[NW_PAGE_SIZE / 8];
		if (s)
			memcpy(buf, s, NW_PAGE_SIZE);
		else
			memset(buf, 0xff, NW_PAGE_SIZE);
		rc = store_by_quadwords(v, dst, access, buf);
		if (rc == 0)
			v->st.loads++; /* the source read, as below */
		return rc;
	}
	if (rc)
		return rc;
	v->st.loads++;
	v->st.stores++;
	if (d && s && d != s)
		memmove(d, s, NW_PAGE_SIZE);
	else if (d && !s)
		memset(d, 0xff, NW_PAGE_SIZE);
	return 0;
}

int nw_vcpu_mov_cr3(struct nw_vcpu *v, uint64_t cr3)
{
	int rc = nw_tlb_mov_cr3(v->tlb, cr3, v->pcide);

	if (rc < 0)
		return rc;
	v->st.cr3_writes++;
	v->cr3 = cr3 & ~(1ull << 63);
	nw_vmcs_write(&v->vmcs, NW_VMCS_GUEST_CR3, v->cr3);
	nw_vmcb_write(&v->vmcb, NW_VMCB_CR3, 8, v->cr3);
	if (v->vm->cfg.mode == NW_VM_SHADOW) {
		/* Intercepted; bit 63 (keep the TLB) means something only with PCIDE. */
		rc = nw_vmm_shadow_cr3(v, v->pcide ? cr3 : v->cr3);
		if (rc < 0)
			return rc;
	}
	nw_vcpu_refresh(v);
	return 0;
}

int nw_vcpu_invlpg(struct nw_vcpu *v, uint64_t gva)
{
	v->st.invlpg++;
	if (v->vm->cfg.mode == NW_VM_SHADOW) {
		int rc = nw_vmm_shadow_invlpg(v, gva);
		if (rc < 0)
			return rc;
	}
	return nw_tlb_invlpg(v->tlb, gva);
}

int nw_vcpu_invpcid(struct nw_vcpu *v, unsigned type, uint16_t pcid, uint64_t gva)
{
	/* Shadow: an address in the current PCID is an INVLPG; anything else resyncs all. */
	if (v->vm->cfg.mode == NW_VM_SHADOW && type <= 3) {
		bool current = !v->pcide || pcid == (v->cr3 & 0xfff);
		v->vm->shadow_vcpu = v;
		int rc = type == 0 && current ? nw_shadow_invlpg(v->vm->shadow, v->id, gva)
					      : nw_vmm_shadow_flush(v);
		if (rc < 0)
			return rc;
	}
	return nw_tlb_invpcid(v->tlb, type, pcid, gva);
}

int nw_vcpu_ipi(struct nw_vcpu *v, unsigned target, void (*fn)(struct nw_vcpu *dst, void *arg),
		void *arg)
{
	struct nw_vm *vm = v->vm;

	if (target >= vm->nvcpus)
		return -EINVAL;
	v->st.ipis++;
	/* Sending an IPI is an ICR write: an exit wherever a VMM is in the path. */
	if (vm->cfg.mode != NW_VM_NATIVE)
		nw_vmm_exit_simple(v, NW_EXIT_IPI, 0);
	fn(&vm->vcpus[target], arg);
	return 0;
}

int nw_vcpu_phys_access(struct nw_vcpu *v, uint64_t gpa, unsigned access, uint64_t *val)
{
	struct nw_vm *vm = v->vm;
	uint64_t *p;

	if (gpa & 7)
		return -EINVAL;
	if (gpa >= vm->cfg.ram)
		return -ERANGE;
	for (int tries = 0; nw_vm_nested(vm); tries++) {
		struct nw_walk w;
		struct nw_walk1d hw;
		const struct nw_fmt *f = vm->cfg.mode == NW_VM_EPT ? &vm->ept.fmt : &vm->npt.fmt;
		uint64_t root = vm->cfg.mode == NW_VM_EPT ? vm->ept.pt.root : vm->npt.pt.root;
		unsigned hmode = vm->cfg.mode == NW_VM_EPT ? 0 : NW_FMT_NXE;
		struct nw_nested_req rq = { .gpa = gpa, .access = access & NW_ACC_WRITE, .final = true };

		if (vm->stopped)
			return vm->stopped;
		if (tries >= MAX_RETRIES)
			return -ELOOP;
		memset(&w, 0, sizeof(w));
		nw_walk_tables(f, &vm->hacc, root, vm->cfg.host_levels, gpa, hmode, NW_DIM_HOST, NULL, &hw);
		if (hw.status == NW_W1D_OK && f->nested_permit(f, &hw, &rq, hmode)) {
			gpa = hw.pa;
			break;
		}
		f->nested_fault(f, &hw, &rq, hmode, &w);
		int rc = nw_vmm_handle_nested(v, &w, access, val);
		if (rc < 0)
			return rc;
	}
	if (vm->cfg.mode == NW_VM_SHADOW) {
		/* Through the p2m; a store keeps the shadow of a guest table in step. */
		uint64_t hpa;
		int rc = nw_vmm_shadow_gpa(v, gpa, &hpa);
		if (rc == 0 && (access & NW_ACC_WRITE))
			rc = nw_vmm_shadow_phys_write(v, gpa, *val);
		if (rc < 0)
			return vm->stopped ? vm->stopped : rc;
		count(v, access);
		if (!(access & NW_ACC_WRITE))
			*val = *(uint64_t *)nw_hostmem_ptr(&vm->host, hpa);
		return 0;
	}
	count(v, access);
	p = nw_hostmem_ptr(&vm->host, gpa);
	if (access & NW_ACC_WRITE)
		*p = *val;
	else
		*val = *p;
	return 0;
}
