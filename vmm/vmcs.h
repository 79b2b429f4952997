/* SPDX-License-Identifier: MIT */
#ifndef NW_VMCS_H
#define NW_VMCS_H

/*
 * The VMCS and VMCB as the VMM sees them. The VMCS is read and written by
 * field encoding (VMREAD/VMWRITE, FACTS.md §0); the VMCB is the 4 KiB page
 * with the control area and state-save area at the APM's offsets.
 */

#include <stdint.h>

#include <nestwalk/npt.h>

/* VMCS field encodings (SDM Vol. 3D Appendix B). */
#define NW_VMCS_VPID 0x0000u
#define NW_VMCS_PML_ADDRESS 0x200Eu
#define NW_VMCS_EPT_POINTER 0x201Au
#define NW_VMCS_GUEST_PHYSICAL_ADDRESS 0x2400u
#define NW_VMCS_PIN_BASED_CTLS 0x4000u
#define NW_VMCS_PROC_BASED_CTLS 0x4002u
#define NW_VMCS_EXCEPTION_BITMAP 0x4004u
#define NW_VMCS_PF_ERROR_CODE_MASK 0x4006u
#define NW_VMCS_PF_ERROR_CODE_MATCH 0x4008u
#define NW_VMCS_EXIT_CTLS 0x400Cu
#define NW_VMCS_ENTRY_CTLS 0x4012u
#define NW_VMCS_ENTRY_INTR_INFO 0x4016u
#define NW_VMCS_ENTRY_EXCEPTION_ERROR_CODE 0x4018u
#define NW_VMCS_PROC_BASED_CTLS2 0x401Eu
#define NW_VMCS_VM_INSTRUCTION_ERROR 0x4400u
#define NW_VMCS_EXIT_REASON 0x4402u
#define NW_VMCS_EXIT_INTR_INFO 0x4404u
#define NW_VMCS_EXIT_INTR_ERROR_CODE 0x4406u
#define NW_VMCS_CR0_GUEST_HOST_MASK 0x6000u
#define NW_VMCS_CR4_GUEST_HOST_MASK 0x6002u
#define NW_VMCS_EXIT_QUALIFICATION 0x6400u
#define NW_VMCS_GUEST_LINEAR_ADDRESS 0x640Au
#define NW_VMCS_GUEST_CR0 0x6800u
#define NW_VMCS_GUEST_CR3 0x6802u
#define NW_VMCS_GUEST_CR4 0x6804u
#define NW_VMCS_HOST_CR0 0x6C00u
#define NW_VMCS_HOST_CR3 0x6C02u
#define NW_VMCS_HOST_CR4 0x6C04u

/* Control bits that matter for paging (FACTS.md §0). */
#define NW_PROC_INVLPG_EXITING (1u << 9)
#define NW_PROC_CR3_LOAD_EXITING (1u << 15)
#define NW_PROC_CR3_STORE_EXITING (1u << 16)
#define NW_PROC_SECONDARY (1u << 31)
#define NW_PROC2_ENABLE_EPT (1u << 1)
#define NW_PROC2_ENABLE_VPID (1u << 5)
#define NW_PROC2_UNRESTRICTED (1u << 7)

/* Basic exit reasons (SDM Vol. 3D Appendix C). */
#define NW_VMX_EXIT_EXCEPTION 0u
#define NW_VMX_EXIT_INVLPG 14u
#define NW_VMX_EXIT_CR_ACCESS 28u
#define NW_VMX_EXIT_WRMSR 32u

/* SVM exit codes and the VMCB control area are in npt.h; here the rest. */
#define NW_SVM_EXIT_MSR 0x7Cu

/* VMCB state-save area, at 0x400 (APM Vol. 2 Table B-2). */
#define NW_VMCB_EFER 0x4D0u
#define NW_VMCB_CR4 0x548u
#define NW_VMCB_CR3 0x550u
#define NW_VMCB_CR0 0x558u

/* Intercept bits. */
#define NW_VMCB_INTERCEPT_CR3_WRITE (1u << 19)
#define NW_VMCB_INTERCEPT_PF (1u << 14)
#define NW_VMCB_INTERCEPT_INVLPG (1u << 25)
#define NW_VMCB_INTERCEPT_INVLPGA (1u << 26)

#define NW_VMCS_FIELDS 28

struct nw_vmcs {
	uint64_t val[NW_VMCS_FIELDS];
};

struct nw_vmcb {
	uint8_t page[4096];
};

/* VMREAD / VMWRITE: 0, or -EINVAL for an encoding the view does not hold. */
int nw_vmcs_read(const struct nw_vmcs *vmcs, uint32_t enc, uint64_t *val);
int nw_vmcs_write(struct nw_vmcs *vmcs, uint32_t enc, uint64_t val);

uint64_t nw_vmcb_read(const struct nw_vmcb *vmcb, unsigned off, unsigned size);
void nw_vmcb_write(struct nw_vmcb *vmcb, unsigned off, unsigned size, uint64_t val);

#endif
