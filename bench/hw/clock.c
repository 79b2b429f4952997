/*
 * clock.c - time, and the core clock measured rather than read.
 *
 * /proc/cpuinfo and CPUID give a nominal frequency (in a VM, the TSC's); the
 * core may boost past it. A chain of dependent ADDs retires one per cycle on
 * every x86 core this project targets, so timing one gives the clock the
 * chase actually ran at, and turns ns per load into cycles per load.
 */
#define _GNU_SOURCE
#include "hw_internal.h"

#include <time.h>

#define ADD "add $1, %0\n\t"
#define ADD8 ADD ADD ADD ADD ADD ADD ADD ADD
#define ADDS_PER_ROUND 32

uint64_t nw_hw_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

double nw_hw_core_ghz(void)
{
	const uint64_t rounds = 1u << 18; /* 8M cycles: ~3 ms at 3 GHz */
	double best = 0;

	/* Best of 20 short runs: a preemption or a clock ramp only makes a
	 * run slower, and a short run is likelier to escape both. */
	for (int run = 0; run < 20; run++) {
		uint64_t x = 0, t0 = nw_hw_now_ns(), t1;

		for (uint64_t i = 0; i < rounds; i++)
			__asm__ __volatile__(ADD8 ADD8 ADD8 ADD8 : "+r"(x));
		t1 = nw_hw_now_ns();
		if (t1 > t0 && (double)(rounds * ADDS_PER_ROUND) / (double)(t1 - t0) > best)
			best = (double)(rounds * ADDS_PER_ROUND) / (double)(t1 - t0);
	}
	return best;
}
