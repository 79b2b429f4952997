/*
 * gbench.h - a C API over Google Benchmark 1.7.
 *
 * Every nestwalk suite is C written against this header; bench/gbench.cc is
 * the only C++ in the tree. The names follow benchmark::State and
 * benchmark::internal::Benchmark one for one, so the Google Benchmark docs
 * apply as they are, and nestwalk-bench takes the standard --benchmark_*
 * flags.
 *
 *	static void bm_memset(struct nw_gb_state *st, void *buf)
 *	{
 *		int64_t n = nw_gb_range(st, 0);
 *		while (nw_gb_keep_running(st)) {
 *			memset(buf, 0, (size_t)n);
 *			nw_gb_clobber_memory();
 *		}
 *		nw_gb_set_bytes_processed(st, nw_gb_iterations(st) * n);
 *	}
 *	...
 *	nw_gb_range_multiplier(nw_gb_register("memset", bm_memset, buf), 4);
 *	nw_gb_initialize(&argc, argv, NULL);
 *	nw_gb_run();
 *	nw_gb_shutdown();
 */
#ifndef NW_BENCH_GBENCH_H
#define NW_BENCH_GBENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct nw_gb_state; /* a running benchmark: benchmark::State */
struct nw_gb_bench; /* a registered benchmark: benchmark::internal::Benchmark */

typedef void (*nw_gb_fn)(struct nw_gb_state *st, void *user);

/* Counter flags: the values of benchmark::Counter::Flags. */
#define NW_GB_DEFAULT 0u
#define NW_GB_RATE (1u << 0)            /* divided by the run's duration */
#define NW_GB_AVG_THREADS (1u << 1)     /* divided by the thread count */
#define NW_GB_AVG_THREADS_RATE (NW_GB_RATE | NW_GB_AVG_THREADS)
#define NW_GB_ITERATION_INVARIANT (1u << 2) /* multiplied by the iterations */
#define NW_GB_ITERATION_INVARIANT_RATE (NW_GB_RATE | NW_GB_ITERATION_INVARIANT)
#define NW_GB_AVG_ITERATIONS (1u << 3)  /* divided by the iterations */
#define NW_GB_AVG_ITERATIONS_RATE (NW_GB_RATE | NW_GB_AVG_ITERATIONS)
#define NW_GB_INVERT (1u << 31)         /* 1/x, applied last */

enum nw_gb_unit { NW_GB_NS, NW_GB_US, NW_GB_MS, NW_GB_S };

/* ---- process ------------------------------------------------------------ */

/* Parses and removes the --benchmark_* flags from argv. --help calls help
 * (NULL: nw_gb_print_default_help) and exits. */
void nw_gb_initialize(int *argc, char **argv, void (*help)(void));
/* Prints Google Benchmark's own flags. */
void nw_gb_print_default_help(void);
/* Prints an error for each argument left and returns true if there was one. */
bool nw_gb_report_unrecognized_arguments(int argc, char **argv);
/* Runs the benchmarks selected by --benchmark_filter; returns how many. */
size_t nw_gb_run(void);
void nw_gb_shutdown(void);
/* Adds key: value to the "context" of the console and JSON output. Call it
 * before nw_gb_run(). */
void nw_gb_add_custom_context(const char *key, const char *value);

/* ---- registration (each returns its argument, for chaining) -------------- */

/* Registers fn(st, user) under name; NULL on failure. The name is copied. */
struct nw_gb_bench *nw_gb_register(const char *name, nw_gb_fn fn, void *user);
struct nw_gb_bench *nw_gb_arg(struct nw_gb_bench *b, int64_t x);
struct nw_gb_bench *nw_gb_args(struct nw_gb_bench *b, const int64_t *xs, size_t n);
struct nw_gb_bench *nw_gb_arg_name(struct nw_gb_bench *b, const char *name);
struct nw_gb_bench *nw_gb_range(struct nw_gb_bench *b, int64_t lo, int64_t hi);
/* One [lo, hi] range per argument: n ranges given as lo0, hi0, lo1, hi1, ... */
struct nw_gb_bench *nw_gb_ranges(struct nw_gb_bench *b, const int64_t *lohi, size_t n);
struct nw_gb_bench *nw_gb_dense_range(struct nw_gb_bench *b, int64_t lo, int64_t hi,
				      int step);
struct nw_gb_bench *nw_gb_range_multiplier(struct nw_gb_bench *b, int mult);
struct nw_gb_bench *nw_gb_unit(struct nw_gb_bench *b, enum nw_gb_unit u);
struct nw_gb_bench *nw_gb_min_time(struct nw_gb_bench *b, double seconds);
struct nw_gb_bench *nw_gb_iterations(struct nw_gb_bench *b, int64_t n);
struct nw_gb_bench *nw_gb_repetitions(struct nw_gb_bench *b, int n);
struct nw_gb_bench *nw_gb_use_real_time(struct nw_gb_bench *b);
struct nw_gb_bench *nw_gb_use_manual_time(struct nw_gb_bench *b);
struct nw_gb_bench *nw_gb_threads(struct nw_gb_bench *b, int n);

/* ---- inside a benchmark ---------------------------------------------------- */

bool nw_gb_keep_running(struct nw_gb_state *st);
/* Runs n iterations per check; may overshoot the count by up to n. */
bool nw_gb_keep_running_batch(struct nw_gb_state *st, int64_t n);
int64_t nw_gb_state_range(const struct nw_gb_state *st, size_t i);
int64_t nw_gb_state_iterations(const struct nw_gb_state *st);
int nw_gb_state_threads(const struct nw_gb_state *st);
int nw_gb_state_thread_index(const struct nw_gb_state *st);
void nw_gb_pause_timing(struct nw_gb_state *st);
void nw_gb_resume_timing(struct nw_gb_state *st);
/* With nw_gb_use_manual_time(): the time of the iteration just run. */
void nw_gb_set_iteration_time(struct nw_gb_state *st, double seconds);
/* Sets counter name to value; one_k is 1000 or 1024 (0 means 1000). */
void nw_gb_counter(struct nw_gb_state *st, const char *name, double value,
		   unsigned flags, int one_k);
void nw_gb_set_items_processed(struct nw_gb_state *st, int64_t items);
void nw_gb_set_bytes_processed(struct nw_gb_state *st, int64_t bytes);
void nw_gb_set_label(struct nw_gb_state *st, const char *label);
/* Marks the run failed with msg. Call it before the loop, or leave the loop
 * right after: nw_gb_keep_running() returns false from then on. */
void nw_gb_skip_with_error(struct nw_gb_state *st, const char *msg);
bool nw_gb_error_occurred(const struct nw_gb_state *st);

/* Keeps the value in x alive and assumes it was read and written: the C form
 * of benchmark::DoNotOptimize for an lvalue. */
#define NW_GB_DO_NOT_OPTIMIZE(x) __asm__ __volatile__("" : "+m,r"(x) : : "memory")

/* Makes the compiler assume all memory reachable through p is read. */
static inline void nw_gb_do_not_optimize(const void *p)
{
	__asm__ __volatile__("" : : "g"(p) : "memory");
}

/* Forces pending stores to memory: benchmark::ClobberMemory. */
static inline void nw_gb_clobber_memory(void)
{
	__asm__ __volatile__("" : : : "memory");
}

#ifdef __cplusplus
}
#endif

#endif
