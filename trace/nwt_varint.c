/* SPDX-License-Identifier: MIT */
/* LEB128 varints: 7 bits a byte, low bits first, the top bit says more follow. */

#include "nwt.h"

#define VARINT_MAX_BYTES 10

size_t nwt_varint_put(uint8_t *p, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

int nwt_varint_get(const uint8_t *p, const uint8_t *end, uint64_t *v)
{
	uint64_t x = 0;

	for (int i = 0; i < VARINT_MAX_BYTES; i++) {
		if (p + i >= end)
			return 0;
		uint8_t b = p[i];
		/* The 10th byte holds bit 63 only: anything above 1 overflows. */
		if (i == VARINT_MAX_BYTES - 1 && b > 1)
			return -1;
		x |= (uint64_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80)) {
			*v = x;
			return i + 1;
		}
	}
	return -1;
}
