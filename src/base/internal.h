/* Private to the library: struct layouts, the assert macro, error helpers. */
#ifndef RL_INTERNAL_H
#define RL_INTERNAL_H

#include "rnnlab.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

/* A broken contract inside the library: print file:line and stop. */
#define RL_ASSERT(cond)                                                             \
    do {                                                                            \
        if (!(cond)) {                                                              \
            fprintf(stderr, "rnnlab: internal error at %s:%d: %s\n", __FILE__,      \
                    __LINE__, #cond);                                               \
            abort();                                                                \
        }                                                                           \
    } while (0)

/* A case that cannot happen: print file:line and what it was, and stop. */
#define RL_UNREACHABLE(what)                                                        \
    do {                                                                            \
        fprintf(stderr, "rnnlab: internal error at %s:%d: %s\n", __FILE__, __LINE__, what); \
        abort();                                                                    \
    } while (0)

#if defined(__GNUC__)
#define RL_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define RL_PRINTF(a, b)
#endif

/* Record the detailed message for rl_errmsg() and return s. */
rl_status rl_fail(rl_status s, const char *fmt, ...) RL_PRINTF(2, 3);

/* Report progress to the hook of rl_set_progress; RL_ERR_INTERRUPTED (with
 * its message) when the hook asks to stop. */
rl_status rl_progress_report(const char *what, double done, double total);
/* Mute reports (nonzero) around work that reports its own way (the
 * trainer); returns the previous setting. */
int rl_progress_mute(int mute);


/* Checked allocation: NULL and an RL_ERR_NOMEM message on failure or when
 * n * size overflows. Memory is zeroed and 64-byte aligned. */
void *rl_alloc(size_t n, size_t size);
void rl_free(void *p);
/* rl_free of each of the n pointers p, in order; RL_FREE_ALL(a, b, ...) of its arguments */
void rl_free_n(void *const *p, size_t n);
#define RL_FREE_ALL(...) rl_free_n((void *const[]){__VA_ARGS__}, sizeof((void *[]){__VA_ARGS__}) / sizeof(void *))
/* Zero the n bytes at obj but the size bytes at keep within them (a reader's
 * path, which its messages name after it is closed). */
void rl_zero_but(void *obj, size_t n, const void *keep, size_t size);
/* malloc and realloc for buffers sized by input (a file, a text), under the
 * same test limit; freed with free(). */
void *rl_malloc(size_t bytes);
void *rl_realloc(void *p, size_t bytes);
/* Tests only: make rl_alloc, rl_malloc and rl_realloc fail above this many
 * bytes, as on a machine without the memory (0: off); or make the n-th of
 * them from now fail, once (0: off), returning whether the failure armed
 * before had happened. */
void rl_debug_alloc_limit(size_t bytes);
int rl_debug_fail_alloc(long n);
/* The bytes rl_alloc's buffers hold now and the most they have held since
 * rl_debug_alloc_peak_reset (malloc_usable_size of each): what the tests
 * compare the memory estimates with (src/base/mem.c). rl_mem_count adds
 * (sign > 0) or removes a buffer. */
void rl_debug_alloc_stats(size_t *now, size_t *peak);
void rl_debug_alloc_peak_reset(void);
void rl_mem_count(void *p, int sign);
/* Estimates below this many bytes are not checked against the limit (unless
 * RNNLAB_MEMORY_LIMIT is set): reading /proc costs more than they risk. */
#define RL_MEM_CHECK_FROM ((double)(64 << 20))
/* The room left under the cgroup's memory limits: for the process's cgroup
 * (its path from proc_cgroup, /proc/self/cgroup's format) and each parent
 * up to the root under sysfs (/sys/fs/cgroup: v2 memory.max less
 * memory.current, or v1 under memory/ memory.limit_in_bytes less
 * memory.usage_in_bytes), the least where a limit is set; INFINITY when none
 * is. Tests give it files of their own. */
double rl_cgroup_room(const char *proc_cgroup, const char *sysfs);

/* Kernels over a row are compiled for AVX2+FMA as well as for the
 * baseline, and picked when the program starts (GCC's target_clones), so
 * one binary runs everywhere and vectorises where it can. Purely
 * elementwise ones (RL_CLONES_EW: the cells' steps, the optimizer's update)
 * also get an AVX-512 copy: each element is the same sequence of IEEE
 * operations on any vector width (no contraction into FMA under -std=c11),
 * so the copies give the same bits. Reductions (sums, maxima) stay at
 * AVX2's width, whose lanes fix their order of summation. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(RL_NO_CLONES)
#define RL_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#define RL_CLONES_EW __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define RL_CLONES
#define RL_CLONES_EW
#endif

/* Threads (src/par.c). rl_parallel runs fn(ctx, part, n) for part =
 * 0..n-1, part 0 on the calling thread and the others on a persistent pool,
 * all at the same time, and returns n when all are done. n is `parts`, or
 * fewer when the threads are not there (a thread that could not be started,
 * a region inside a region): so a part must take its share from (part, n)
 * alone, and the result must not depend on n. bar, if not NULL, is set up
 * for the n parts before any runs, for parts that meet at a barrier.
 * rnnlab keeps OpenBLAS on one thread inside its calls: rl_blas_single sets
 * it and returns the count to hand back to rl_blas_restore. */
#define RL_MAX_THREADS 64
typedef void (*rl_part_fn)(void *ctx, int part, int parts);
/* A barrier for the n parts of one rl_parallel call, spinning briefly. */
typedef struct {
    _Atomic int count, phase;
    int n;
} rl_barrier;
int rl_parallel(int parts, rl_part_fn fn, void *ctx, rl_barrier *bar);
/* fn(ctx, lo, hi) over [0, n) cut into ranges of at least `grain` elements
 * (starting at multiples of 16), one per thread: for loops whose elements
 * do not depend on each other, so that the cut changes no number. */
void rl_parallel_for(size_t n, size_t grain, void (*fn)(void *ctx, size_t lo, size_t hi), void *ctx);
/* the elementwise work (in element operations) a thread must get for a
 * region to pay: tens of microseconds (2^17; tests lower it to cover the
 * cuts on small problems) */
extern size_t rl_grain;
#define RL_GRAIN rl_grain
void rl_barrier_init(rl_barrier *b, int n);
void rl_barrier_wait(rl_barrier *b);
int rl_blas_single(void);
void rl_blas_restore(int before);
/* tests: nonzero makes starting a pool thread fail */
extern int rl_test_fail_thread_start;

/* Where the time of rl_forward and rl_backward goes (RNNLAB_PROFILE=1;
 * src/par.c): the phases, and RL_PROF(phase, statement), which times the
 * statement when profiling is on. */
enum { RL_PROF_INPUT, RL_PROF_FWD_LOOP, RL_PROF_READOUT, RL_PROF_HEAD_BWD, RL_PROF_BWD_LOOP, RL_PROF_WEIGHT_GRAD,
       RL_PROF_OUT_MAP, RL_PROF_COUNT };
extern int rl_prof_on;
extern double rl_prof_s[RL_PROF_COUNT];
#define RL_PROF(phase, stmt)                                                                                   \
    do {                                                                                                       \
        double t0_ = rl_prof_on ? rl_now() : 0;                                                                \
        stmt;                                                                                                  \
        if (rl_prof_on) rl_prof_s[phase] += rl_now() - t0_;                                                    \
    } while (0)
/* rows [lo, hi) of n that part `part` of `parts` takes */
static inline void rl_part_range(int n, int part, int parts, int *lo, int *hi)
{
    *lo = (int)((long long)n * part / parts);
    *hi = (int)((long long)n * (part + 1) / parts);
}

/* The float32 step GEMM on W packed once per pass (src/kernel.c):
 * rl_packed_kernel() says which kernel this CPU runs (RL_KERNEL_NONE: none,
 * the caller keeps to OpenBLAS; RNNLAB_KERNEL=none|avx2 asks for less);
 * rl_pack_nt packs W (N, K) for C += A W^T, rl_pack_nn W (K, N) for C += A W,
 * each into rl_pack_size(N, K) floats (64-byte aligned); rl_gemm_packed then
 * adds A (M, K) times the packed W into C (M, N). Every kernel gives the same
 * bits. rl_set_packed_kernel (tests, bench) picks one (no better than the
 * CPU runs; -1: the default again) and returns the one in use; a packed W
 * must be used with the kernel it was packed for. */
enum { RL_KERNEL_NONE = 0, RL_KERNEL_AVX2, RL_KERNEL_AVX512 };
int rl_set_packed_kernel(int k);
const char *rl_packed_kernel_name(void);
int rl_packed_kernel(void);
size_t rl_pack_size(int N, int K);
void rl_pack_nt(float *wp, const float *W, int N, int K);
void rl_pack_nn(float *wp, const float *W, int K, int N);
/* the same for the panels [p0, p1) only (threads pack their share) */
void rl_pack_nt_panels(float *wp, const float *W, int N, int K, int p0, int p1);
void rl_pack_nn_panels(float *wp, const float *W, int K, int N, int p0, int p1);
void rl_gemm_packed(int M, int N, int K, const float *A, int lda, const float *wp, float *C, int ldc);
/* The same for the columns of panels [p0, p1) only (rl_pack_panels(N) in all):
 * threads that share the columns of one step read only their part of W. */
int rl_pack_panels(int N);
/* columns per panel, and the columns a thread may own: a range of whole
 * chunks (a vector's width with AVX-512, a panel with AVX2) */
int rl_pack_panel_width(void);
int rl_pack_chunk(void);
/* the columns [n0, n1) of C only (n0 a multiple of rl_pack_chunk()) */
void rl_gemm_packed_range(int M, int N, int K, const float *A, int lda, const float *wp, float *C, int ldc, int n0,
                          int n1);
/* floats of scratch for W_hh (Gh*H, H) packed for the forward (per gate)
 * and for the backward step */
size_t rl_step_pack_size(int Gh, int H);
/* From this size of W_hh on, the time loop runs in lockstep (real.h);
 * tests lower it to cover that mode on small models. */
extern size_t rl_lockstep_min_bytes;
/* A thread's share of a step's work (FLOPs) from which lockstep pays, and
 * -1 (the plan of src/loop.c), 0 (never) or 1 (whenever the kernel allows:
 * tests) */
extern double rl_step_min_work;
extern int rl_lockstep_mode;
void rl_gemm_packed_cols(int M, int N, int K, const float *A, int lda, const float *wp, float *C, int ldc, int p0,
                         int p1);

static inline size_t rl_dtype_size(rl_dtype d) { return d == RL_F64 ? 8 : 4; }

/* Element i of an array of dtype d, as a double; store v there. The one way
 * the library reads and writes arrays whose type is known at run time. */
static inline double rl_load(const void *p, rl_dtype d, size_t i)
{
    return d == RL_F64 ? ((const double *)p)[i] : (double)((const float *)p)[i];
}
static inline void rl_store(void *p, rl_dtype d, size_t i, double v)
{
    if (d == RL_F64) ((double *)p)[i] = v;
    else ((float *)p)[i] = (float)v;
}

#endif
