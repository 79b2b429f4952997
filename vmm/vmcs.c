/* SPDX-License-Identifier: MIT */
/* The VMCS view, by field encoding, and the VMCB page, by offset. */

#include <errno.h>
#include <string.h>

#include "vmcs.h"

static const uint32_t vmcs_fields[NW_VMCS_FIELDS] = {
	NW_VMCS_VPID, NW_VMCS_PML_ADDRESS, NW_VMCS_EPT_POINTER,
	NW_VMCS_GUEST_PHYSICAL_ADDRESS, NW_VMCS_PIN_BASED_CTLS, NW_VMCS_PROC_BASED_CTLS,
	NW_VMCS_EXCEPTION_BITMAP, NW_VMCS_PF_ERROR_CODE_MASK, NW_VMCS_PF_ERROR_CODE_MATCH,
	NW_VMCS_EXIT_CTLS, NW_VMCS_ENTRY_CTLS, NW_VMCS_ENTRY_INTR_INFO,
	NW_VMCS_ENTRY_EXCEPTION_ERROR_CODE, NW_VMCS_PROC_BASED_CTLS2,
	NW_VMCS_VM_INSTRUCTION_ERROR, NW_VMCS_EXIT_REASON, NW_VMCS_EXIT_INTR_INFO,
	NW_VMCS_EXIT_INTR_ERROR_CODE, NW_VMCS_CR0_GUEST_HOST_MASK, NW_VMCS_CR4_GUEST_HOST_MASK,
	NW_VMCS_EXIT_QUALIFICATION, NW_VMCS_GUEST_LINEAR_ADDRESS, NW_VMCS_GUEST_CR0,
	NW_VMCS_GUEST_CR3, NW_VMCS_GUEST_CR4, NW_VMCS_HOST_CR0, NW_VMCS_HOST_CR3,
	NW_VMCS_HOST_CR4,
};

static int vmcs_slot(uint32_t enc)
{
	for (int i = 0; i < NW_VMCS_FIELDS; i++)
		if (vmcs_fields[i] == enc)
			return i;
	return -1;
}

/* Field width from encoding bits 14:13: 16-bit, 64-bit, 32-bit, natural. */
static uint64_t vmcs_width_mask(uint32_t enc)
{
	switch ((enc >> 13) & 3) {
	case 0:
		return 0xffffull;
	case 2:
		return 0xffffffffull;
	default:
		return ~0ull;
	}
}

int nw_vmcs_read(const struct nw_vmcs *vmcs, uint32_t enc, uint64_t *val)
{
	int i = vmcs_slot(enc);
	if (i < 0)
		return -EINVAL;
	*val = vmcs->val[i];
	return 0;
}

int nw_vmcs_write(struct nw_vmcs *vmcs, uint32_t enc, uint64_t val)
{
	int i = vmcs_slot(enc);
	if (i < 0)
		return -EINVAL;
	vmcs->val[i] = val & vmcs_width_mask(enc);
	return 0;
}

uint64_t nw_vmcb_read(const struct nw_vmcb *vmcb, unsigned off, unsigned size)
{
	uint64_t v = 0;
	if (off + size <= sizeof(vmcb->page))
		memcpy(&v, vmcb->page + off, size); /* x86 is little-endian, like the VMCB */
	return v;
}

void nw_vmcb_write(struct nw_vmcb *vmcb, unsigned off, unsigned size, uint64_t val)
{
	if (off + size <= sizeof(vmcb->page))
		memcpy(vmcb->page + off, &val, size);
}
