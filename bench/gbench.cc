// gbench.cc - the C shim over Google Benchmark 1.7 (see gbench.h).
//
// The opaque C handles are the C++ objects themselves: nw_gb_state is a
// benchmark::State and nw_gb_bench a benchmark::internal::Benchmark. No C++
// exception may cross into C, so registration, which allocates, catches.

#include "gbench.h"

#include <benchmark/benchmark.h>

#include <cstdio>
#include <new>
#include <string>
#include <vector>

using benchmark::Counter;
using benchmark::State;
using benchmark::internal::Benchmark;

#define NW_GB_SAME(ours, theirs) \
	static_assert((ours) == static_cast<unsigned>(Counter::theirs), "flag values differ")
NW_GB_SAME(NW_GB_RATE, kIsRate);
NW_GB_SAME(NW_GB_AVG_THREADS, kAvgThreads);
NW_GB_SAME(NW_GB_ITERATION_INVARIANT, kIsIterationInvariant);
NW_GB_SAME(NW_GB_AVG_ITERATIONS, kAvgIterations);
NW_GB_SAME(NW_GB_INVERT, kInvert);

static State *S(struct nw_gb_state *st) { return reinterpret_cast<State *>(st); }
static const State *S(const struct nw_gb_state *st)
{
	return reinterpret_cast<const State *>(st);
}
static Benchmark *B(struct nw_gb_bench *b) { return reinterpret_cast<Benchmark *>(b); }

extern "C" {

void nw_gb_initialize(int *argc, char **argv, void (*help)(void))
{
	benchmark::Initialize(argc, argv, help ? help : benchmark::PrintDefaultHelp);
}

void nw_gb_print_default_help(void) { benchmark::PrintDefaultHelp(); }

bool nw_gb_report_unrecognized_arguments(int argc, char **argv)
{
	return benchmark::ReportUnrecognizedArguments(argc, argv);
}

size_t nw_gb_run(void) { return benchmark::RunSpecifiedBenchmarks(); }

void nw_gb_shutdown(void) { benchmark::Shutdown(); }

void nw_gb_add_custom_context(const char *key, const char *value)
{
	try {
		benchmark::AddCustomContext(key, value);
	} catch (...) {
		std::fprintf(stderr, "nestwalk-bench: cannot add context %s\n", key);
	}
}

struct nw_gb_bench *nw_gb_register(const char *name, nw_gb_fn fn, void *user)
{
	try {
		Benchmark *b = benchmark::RegisterBenchmark(
			name, [fn, user](State &st) {
				fn(reinterpret_cast<struct nw_gb_state *>(&st), user);
			});
		return reinterpret_cast<struct nw_gb_bench *>(b);
	} catch (...) {
		return nullptr;
	}
}

// Each setter hands its argument back so that C can chain the calls.
#define NW_GB_SET(call)                                                      \
	do {                                                                 \
		if (b) {                                                     \
			try {                                                \
				B(b)->call;                                  \
			} catch (...) {                                      \
				return nullptr;                              \
			}                                                    \
		}                                                            \
		return b;                                                    \
	} while (0)

struct nw_gb_bench *nw_gb_arg(struct nw_gb_bench *b, int64_t x) { NW_GB_SET(Arg(x)); }

struct nw_gb_bench *nw_gb_args(struct nw_gb_bench *b, const int64_t *xs, size_t n)
{
	NW_GB_SET(Args(std::vector<int64_t>(xs, xs + n)));
}

struct nw_gb_bench *nw_gb_arg_name(struct nw_gb_bench *b, const char *name)
{
	NW_GB_SET(ArgName(name));
}

struct nw_gb_bench *nw_gb_range(struct nw_gb_bench *b, int64_t lo, int64_t hi)
{
	NW_GB_SET(Range(lo, hi));
}

struct nw_gb_bench *nw_gb_ranges(struct nw_gb_bench *b, const int64_t *lohi, size_t n)
{
	std::vector<std::pair<int64_t, int64_t>> r;
	try {
		for (size_t i = 0; i < n; i++)
			r.emplace_back(lohi[2 * i], lohi[2 * i + 1]);
	} catch (...) {
		return nullptr;
	}
	NW_GB_SET(Ranges(r));
}

struct nw_gb_bench *nw_gb_dense_range(struct nw_gb_bench *b, int64_t lo, int64_t hi,
				      int step)
{
	NW_GB_SET(DenseRange(lo, hi, step));
}

struct nw_gb_bench *nw_gb_range_multiplier(struct nw_gb_bench *b, int mult)
{
	NW_GB_SET(RangeMultiplier(mult));
}

struct nw_gb_bench *nw_gb_unit(struct nw_gb_bench *b, enum nw_gb_unit u)
{
	static const benchmark::TimeUnit units[] = {
		benchmark::kNanosecond, benchmark::kMicrosecond,
		benchmark::kMillisecond, benchmark::kSecond};
	NW_GB_SET(Unit(units[u]));
}

struct nw_gb_bench *nw_gb_min_time(struct nw_gb_bench *b, double seconds)
{
	NW_GB_SET(MinTime(seconds));
}

struct nw_gb_bench *nw_gb_iterations(struct nw_gb_bench *b, int64_t n)
{
	NW_GB_SET(Iterations(n));
}

struct nw_gb_bench *nw_gb_repetitions(struct nw_gb_bench *b, int n)
{
	NW_GB_SET(Repetitions(n));
}

struct nw_gb_bench *nw_gb_use_real_time(struct nw_gb_bench *b) { NW_GB_SET(UseRealTime()); }

struct nw_gb_bench *nw_gb_use_manual_time(struct nw_gb_bench *b)
{
	NW_GB_SET(UseManualTime());
}

struct nw_gb_bench *nw_gb_threads(struct nw_gb_bench *b, int n) { NW_GB_SET(Threads(n)); }

bool nw_gb_keep_running(struct nw_gb_state *st) { return S(st)->KeepRunning(); }

bool nw_gb_keep_running_batch(struct nw_gb_state *st, int64_t n)
{
	return S(st)->KeepRunningBatch(n);
}

int64_t nw_gb_state_range(const struct nw_gb_state *st, size_t i) { return S(st)->range(i); }

int64_t nw_gb_state_iterations(const struct nw_gb_state *st) { return S(st)->iterations(); }

int nw_gb_state_threads(const struct nw_gb_state *st) { return S(st)->threads(); }

int nw_gb_state_thread_index(const struct nw_gb_state *st) { return S(st)->thread_index(); }

void nw_gb_pause_timing(struct nw_gb_state *st) { S(st)->PauseTiming(); }

void nw_gb_resume_timing(struct nw_gb_state *st) { S(st)->ResumeTiming(); }

void nw_gb_set_iteration_time(struct nw_gb_state *st, double seconds)
{
	S(st)->SetIterationTime(seconds);
}

void nw_gb_counter(struct nw_gb_state *st, const char *name, double value, unsigned flags,
		   int one_k)
{
	Counter::OneK k = one_k == 1024 ? Counter::kIs1024 : Counter::kIs1000;
	try {
		S(st)->counters[name] = Counter(value, static_cast<Counter::Flags>(flags), k);
	} catch (...) {
		S(st)->SkipWithError("out of memory setting a counter");
	}
}

void nw_gb_set_items_processed(struct nw_gb_state *st, int64_t items)
{
	S(st)->SetItemsProcessed(items);
}

void nw_gb_set_bytes_processed(struct nw_gb_state *st, int64_t bytes)
{
	S(st)->SetBytesProcessed(bytes);
}

void nw_gb_set_label(struct nw_gb_state *st, const char *label) { S(st)->SetLabel(label); }

void nw_gb_skip_with_error(struct nw_gb_state *st, const char *msg)
{
	S(st)->SkipWithError(msg);
}

bool nw_gb_error_occurred(const struct nw_gb_state *st) { return S(st)->error_occurred(); }

} // extern "C"
