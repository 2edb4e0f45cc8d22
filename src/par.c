/* Threads. rnnlab splits its work itself and keeps OpenBLAS on one thread
 * while it does: on 2 cores, OpenBLAS's own pool handing every small
 * per-step GEMM to a second thread and waiting for it cost about a fifth of
 * a training step (docs/performance.md). The split is along rows that do not
 * depend on each other (the sequences of a batch through the whole time
 * loop, or the rows or columns of one large GEMM), so the threads never wait
 * for each other inside the loop and every element is computed exactly as
 * one thread would compute it. */
#include "internal.h"

#include <cblas.h>
#include <pthread.h>
#include <sched.h>

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

typedef struct {
    rl_part_fn fn;
    void *ctx;
    int part, parts;
} job;

static void *run_job(void *p)
{
    job *j = p;
    j->fn(j->ctx, j->part, j->parts);
    return NULL;
}

void rl_parallel(int parts, rl_part_fn fn, void *ctx)
{
    if (parts > RL_MAX_THREADS) parts = RL_MAX_THREADS;
    pthread_t th[RL_MAX_THREADS];
    job jobs[RL_MAX_THREADS];
    int started[RL_MAX_THREADS] = {0};
    for (int i = 1; i < parts; i++) {
        jobs[i] = (job){fn, ctx, i, parts};
        started[i] = pthread_create(&th[i], NULL, run_job, &jobs[i]) == 0;
    }
    fn(ctx, 0, parts);
    /* a part whose thread could not start runs here: same result, more time */
    for (int i = 1; i < parts; i++) {
        if (started[i]) pthread_join(th[i], NULL);
        else fn(ctx, i, parts);
    }
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
 * moving. */
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
}
