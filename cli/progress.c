/* SPDX-License-Identifier: MIT */
/* A progress bar with ETA on stderr, drawn only when stderr is a terminal. */

#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void cli_progress_init(struct cli_progress *p, bool wanted)
{
	p->on = wanted && isatty(STDERR_FILENO);
	p->start = p->last = now();
	p->width = 40;
}

void cli_progress_update(void *arg, uint64_t done, uint64_t total)
{
	struct cli_progress *p = arg;
	double t = now(), frac = total ? (double)done / (double)total : 1;
	int fill;

	if (!p->on || (t - p->last < 0.1 && done < total))
		return;
	p->last = t;
	if (frac > 1)
		frac = 1;
	fill = (int)(frac * p->width);
	fputc('\r', stderr);
	fputc('[', stderr);
	for (int i = 0; i < p->width; i++)
		fputc(i < fill ? '#' : ' ', stderr);
	fprintf(stderr, "] %3d%%", (int)(frac * 100));
	if (frac > 0.01 && frac < 1)
		fprintf(stderr, "  ETA %.0f s ", (t - p->start) * (1 - frac) / frac);
	else
		fputs("          ", stderr);
	fflush(stderr);
}

void cli_progress_done(struct cli_progress *p)
{
	if (!p->on)
		return;
	/* Clear the line so that the summary starts clean. */
	fprintf(stderr, "\r%*s\r", p->width + 24, "");
	fflush(stderr);
}
