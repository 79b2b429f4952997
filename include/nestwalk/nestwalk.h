/* SPDX-License-Identifier: MIT */
#ifndef NESTWALK_NESTWALK_H
#define NESTWALK_NESTWALK_H

/* The whole public API. Each module also has a header of its own. */

#include <nestwalk/acc.h>
#include <nestwalk/ept.h>
#include <nestwalk/fmt.h>
#include <nestwalk/mem.h>
#include <nestwalk/npt.h>
#include <nestwalk/pt.h>
#include <nestwalk/shadow.h>
#include <nestwalk/tlb.h>
#include <nestwalk/tlb_lat.h>
#include <nestwalk/tlb_preset.h>
#include <nestwalk/tlb_stats.h>
#include <nestwalk/trace.h>
#include <nestwalk/vmm.h>
#include <nestwalk/walk.h>
#include <nestwalk/x86.h>

#endif
