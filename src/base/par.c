/* Threads. rnnlab splits its work itself and keeps OpenBLAS on one thread
 * while it does: on 2 cores, OpenBLAS's own pool handing every small
 * per-step GEMM to a second thread and waiting for it cost about a fifth of
 * a training step (docs/performance.md). The split is along rows that do not
 * depend on each other (the sequences of a batch through the whole time
 * loop, the units of a layer, or the rows or columns of one large GEMM), and
 * every element is computed exactly as one thread would compute it.
 *
 * The threads are a pool started on first use and kept: a parallel region
 * costs a wake-up, not a thread creation. Workers spin for a while after a
 * region (the next one usually follows within microseconds: the layers and
 * the passes of a training step), then sleep on a condition variable. */
#include "base/internal.h"

#include <cblas.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <time.h>

static int n_threads; /* 0: as many as OpenBLAS was started with */

void rl_set_num_threads(int n)
{
    n_threads = n < 0 ? 0 : n > RL_MAX_THREADS ? RL_MAX_THREADS : n;
}

int rl_get_num_threads(void)
{
    if (n_threads > 0) return n_threads;
    static int blas; /* OpenBLAS's count before rnnlab first changed it */
    if (!blas) blas = openblas_get_num_threads();
    return blas < 1 ? 1 : blas > RL_MAX_THREADS ? RL_MAX_THREADS : blas;
}

int rl_blas_single(void)
{
    int before = openblas_get_num_threads();
    (void)rl_get_num_threads(); /* records OpenBLAS's own count first */
    if (before != 1) openblas_set_num_threads(1);
    return before;
}

void rl_blas_restore(int before)
{
    if (before != 1) openblas_set_num_threads(before);
}

/* ------------------------------------------------------------------ the pool */

/* Spins of a waiting worker before it sleeps (each a relaxed load and a
 * pause, 10 to 140 cycles): tens of microseconds, enough to bridge the
 * gaps between the regions of one training step without taking much from
 * a thread that shares the core (SMT) and has work to do. */
#define WORKER_SPINS 4000

/* A worker's bed: it sleeps on its own condition, so that a region wakes
 * only the workers it needs; the others sleep on. */
typedef struct {
    pthread_mutex_t m;
    pthread_cond_t c;
    int asleep;
} bed;
static bed beds[RL_MAX_THREADS];
static pthread_once_t beds_once = PTHREAD_ONCE_INIT;
static void beds_init(void)
{
    for (int i = 0; i < RL_MAX_THREADS; i++) {
        pthread_mutex_init(&beds[i].m, NULL);
        pthread_cond_init(&beds[i].c, NULL);
    }
}

static struct {
    pthread_mutex_t region; /* held by the thread that runs a region */
    int workers;            /* started; worker i runs part i + 1 */
    rl_part_fn fn;          /* the region being run */
    void *ctx;
    /* the region's number (bits 8..) and its count of parts (bits 0..7), in
     * one word: a worker that reads it knows at once whether it takes part,
     * and fn and ctx cannot change before every part has finished */
    _Atomic uint64_t job;
    _Atomic int pending;    /* parts 1.. of the region not yet finished */
} pool = {PTHREAD_MUTEX_INITIALIZER, 0, NULL, NULL, 0, 0};

/* parts and a worker's index travel in 8 bits (job, the worker's argument) */
_Static_assert(RL_MAX_THREADS <= 0xff, "RL_MAX_THREADS must fit the 8-bit part count of the pool's job word");

/* Tests: make the next pthread_create calls fail, to check that a region
 * still completes on the threads that exist. */
int rl_test_fail_thread_start;

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static void *worker(void *arg)
{
    /* part me + 1 of every region after the one numbered `seen` (the last
     * before this worker was started) */
    const int me = (int)((uintptr_t)arg & 0xff);
    uint64_t seen = (uint64_t)(uintptr_t)arg >> 8;
    bed *b = &beds[me];
    int spin = 1; /* after a region it took part in: the next one is likely near */
    for (;;) {
        uint64_t job;
        for (int spins = 0; spin && spins < WORKER_SPINS; spins++) {
            if ((atomic_load_explicit(&pool.job, memory_order_acquire) >> 8) != seen) break;
            cpu_relax();
        }
        if ((atomic_load_explicit(&pool.job, memory_order_acquire) >> 8) == seen) {
            pthread_mutex_lock(&b->m);
            b->asleep = 1;
            while ((atomic_load_explicit(&pool.job, memory_order_acquire) >> 8) == seen) pthread_cond_wait(&b->c, &b->m);
            b->asleep = 0;
            pthread_mutex_unlock(&b->m);
        }
        job = atomic_load_explicit(&pool.job, memory_order_acquire);
        seen = job >> 8;
        int parts = (int)(job & 0xff);
        spin = me + 1 < parts;
        if (spin) {
            pool.fn(pool.ctx, me + 1, parts);
            atomic_fetch_sub_explicit(&pool.pending, 1, memory_order_acq_rel);
        }
    }
    return NULL;
}

/* Start workers until there are `want`; returns how many there are. */
static int grow(int want)
{
    pthread_once(&beds_once, beds_init);
    while (pool.workers < want) {
        pthread_t th;
        pthread_attr_t at;
        int ok = !rl_test_fail_thread_start && pthread_attr_init(&at) == 0;
        if (ok) {
            pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
            uint64_t seen = atomic_load_explicit(&pool.job, memory_order_relaxed) >> 8;
            ok = pthread_create(&th, &at, worker, (void *)(uintptr_t)(seen << 8 | (uint64_t)pool.workers)) == 0;
            pthread_attr_destroy(&at);
        }
        if (!ok) break; /* the region runs on the threads there are */
        pool.workers++;
    }
    return pool.workers;
}

int rl_parallel(int parts, rl_part_fn fn, void *ctx, rl_barrier *bar)
{
    if (parts > RL_MAX_THREADS) parts = RL_MAX_THREADS;
    if (parts < 1) parts = 1;
    /* one region at a time: a nested call, or a second application thread
     * while a region runs, takes its parts on its own thread */
    int locked = parts > 1 && pthread_mutex_trylock(&pool.region) == 0;
    if (!locked) parts = 1;
    if (parts > 1) {
        int have = grow(parts - 1);
        if (have + 1 < parts) parts = have + 1;
    }
    if (bar) rl_barrier_init(bar, parts);
    if (parts == 1) {
        fn(ctx, 0, 1);
    } else {
        pool.fn = fn, pool.ctx = ctx;
        atomic_store_explicit(&pool.pending, parts - 1, memory_order_relaxed);
        uint64_t next = ((atomic_load_explicit(&pool.job, memory_order_relaxed) >> 8) + 1) << 8;
        atomic_store_explicit(&pool.job, next | (uint64_t)parts, memory_order_release);
        /* wake the sleepers among this region's workers; a worker that is
         * not asleep (spinning, or on its way to bed) sees the new job */
        for (int i = 0; i + 1 < parts; i++) {
            bed *b = &beds[i];
            pthread_mutex_lock(&b->m);
            if (b->asleep) pthread_cond_signal(&b->c);
            pthread_mutex_unlock(&b->m);
        }
        fn(ctx, 0, parts);
        for (int spins = 0; atomic_load_explicit(&pool.pending, memory_order_acquire) > 0; spins++)
            if (spins > 2000) sched_yield();
            else cpu_relax();
    }
    if (locked) pthread_mutex_unlock(&pool.region);
    return parts;
}

size_t rl_grain = (size_t)1 << 17;

typedef struct {
    void (*fn)(void *ctx, size_t lo, size_t hi);
    void *ctx;
    size_t n;
} for_job;

static void for_part(void *p, int part, int parts)
{
    const for_job *j = p;
    /* blocks of 16 elements, so that no two threads write one cache line of floats */
    size_t blocks = (j->n + 15) / 16, b0 = blocks * (size_t)part / (size_t)parts, b1 = blocks * (size_t)(part + 1) / (size_t)parts;
    size_t lo = b0 * 16, hi = b1 * 16 < j->n ? b1 * 16 : j->n;
    if (lo < hi) j->fn(j->ctx, lo, hi);
}

void rl_parallel_for(size_t n, size_t grain, void (*fn)(void *ctx, size_t lo, size_t hi), void *ctx)
{
    size_t want = grain ? n / grain : 1;
    int parts = rl_get_num_threads();
    if (want < (size_t)parts) parts = want < 1 ? 1 : (int)want;
    if (parts < 2) {
        if (n) fn(ctx, 0, n);
        return;
    }
    for_job j = {fn, ctx, n};
    rl_parallel(parts, for_part, &j, NULL);
}

void rl_barrier_init(rl_barrier *b, int n)
{
    atomic_init(&b->count, 0);
    atomic_init(&b->phase, 0);
    b->n = n;
}

/* Spin, then yield: the threads are never more than the cores (rnnlab keeps
 * OpenBLAS on one thread meanwhile), so the wait is short; yielding keeps
 * an oversubscribed machine (or valgrind, which runs one thread at a time)
 * moving. Every part of the region is running (rl_parallel starts them all
 * or runs fewer parts), so a barrier cannot wait for a part that never comes. */
void rl_barrier_wait(rl_barrier *b)
{
    if (b->n < 2) return;
    int phase = atomic_load_explicit(&b->phase, memory_order_acquire);
    if (atomic_fetch_add_explicit(&b->count, 1, memory_order_acq_rel) == b->n - 1) {
        atomic_store_explicit(&b->count, 0, memory_order_relaxed);
        atomic_fetch_add_explicit(&b->phase, 1, memory_order_acq_rel);
        return;
    }
    for (int spins = 0; atomic_load_explicit(&b->phase, memory_order_acquire) == phase; spins++)
        if (spins > 2000) sched_yield();
        else cpu_relax();
}

/* ------------------------------------------------------------------ profile */

int rl_prof_on;
double rl_prof_s[RL_PROF_COUNT];
static const char *const prof_names[RL_PROF_COUNT] = {"input projection", "forward time loop", "readout and loss",
                                                      "readout backward", "backward time loop", "weight gradients",
                                                      "output map (lru)"};

__attribute__((constructor)) static void prof_init(void)
{
    const char *e = getenv("RNNLAB_PROFILE");
    rl_prof_on = e && strcmp(e, "1") == 0;
}

double rl_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int rl_profile_get(rl_phase_time *out, int max)
{
    int n = 0;
    for (int i = 0; i < RL_PROF_COUNT && n < max; i++) out[n++] = (rl_phase_time){prof_names[i], rl_prof_s[i]};
    return rl_prof_on ? n : 0;
}

void rl_profile_reset(void) { memset(rl_prof_s, 0, sizeof rl_prof_s); }
