/* hw_internal.h - shared by the files of bench/hw only. */
#ifndef NW_BENCH_HW_INTERNAL_H
#define NW_BENCH_HW_INTERNAL_H

#include "hw.h"

#include <stdarg.h>
#include <stdio.h>

#define NW_4K ((size_t)4096)
#define NW_2M ((size_t)2 << 20)
#define NW_1G ((size_t)1 << 30)

/* Writes a reason into why[n], which may be NULL. */
__attribute__((format(printf, 3, 4)))
static inline void nw_why(char *why, size_t n, const char *fmt, ...)
{
	va_list ap;

	if (!why || !n)
		return;
	va_start(ap, fmt);
	vsnprintf(why, n, fmt, ap);
	va_end(ap);
}

#endif
