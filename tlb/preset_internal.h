/* SPDX-License-Identifier: MIT */
#ifndef NW_TLB_PRESET_INTERNAL_H
#define NW_TLB_PRESET_INTERNAL_H

/* Shared by preset.c and cpuid.c. Not part of the public API. */

#include <nestwalk/tlb_preset.h>

/* The reference preset of a vendor (skylake, zen3; generic for any). */
void nw_cpu_preset_for_vendor(enum nw_vendor v, struct nw_cpu_preset *p);

#endif
