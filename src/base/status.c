/* Status codes, the per-thread error message, checked allocation, enum names. */
#include "base/internal.h"

#include "base/blas.h"

#include <stdarg.h>
#include <string.h>

/* room for a message with two paths of PATH_MAX (4096) bytes */
static _Thread_local char errbuf[8192 + 512];

/* The BLAS kernel check (src/blas.c) runs here, when the program loads:
 * - before main, so before any BLAS call and before the program starts
 *   threads that could be inside OpenBLAS while it switches kernels;
 * - after OpenBLAS's own initialisation, which has chosen its kernel (a
 *   shared library's initialisers run before those of what depends on it);
 * - in every program that uses rnnlab: every function that can fail reports
 *   through rl_fail, so this file is always linked, and it pulls in blas.o.
 * The public functions that start BLAS work do not call the check: run
 * later, a switch could meet the program's own threads inside OpenBLAS.
 * rl_system_info() calls the same once, and so never sees a half-done check. */
__attribute__((constructor)) static void blas_check_at_load(void) { rl_blas_check_once(); }

const char *rl_strerror(rl_status s)
{
    switch (s) {
    case RL_OK: return "success";
    case RL_ERR_ARG: return "invalid argument";
    case RL_ERR_IO: return "input/output error";
    case RL_ERR_FORMAT: return "invalid file format";
    case RL_ERR_NOMEM: return "out of memory";
    case RL_ERR_NONFINITE: return "non-finite value";
    case RL_ERR_LAPACK: return "LAPACK failure";
    case RL_ERR_INTERRUPTED: return "interrupted";
    }
    return "unknown status";
}

const char *rl_errmsg(void) { return errbuf; }

const char *rl_version(void) { return RL_VERSION_STRING; }

static rl_progress_fn progress_fn;
static void *progress_ctx;
static int progress_muted;

void rl_set_progress(rl_progress_fn fn, void *ctx)
{
    progress_fn = fn;
    progress_ctx = fn ? ctx : NULL;
}

rl_status rl_progress_report(const char *what, double done, double total)
{
    if (!progress_fn || progress_muted || !progress_fn(progress_ctx, what, done, total)) return RL_OK;
    return rl_fail(RL_ERR_INTERRUPTED, "interrupted");
}

int rl_progress_mute(int mute)
{
    int was = progress_muted;
    progress_muted = mute;
    return was;
}

rl_status rl_fail(rl_status s, const char *fmt, ...)
{
    /* the arguments may include rl_errmsg() itself: format into a copy */
    char tmp[sizeof errbuf];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    memcpy(errbuf, tmp, sizeof errbuf);
    return s;
}

/* Tests only: allocations above alloc_limit bytes fail as on a machine
 * without the memory (0: no limit); the fail_at-th allocation from the
 * moment it was set fails once (0: none). */
static size_t alloc_limit;
static _Atomic long fail_at;
static _Atomic int fail_fired;

void rl_debug_alloc_limit(size_t bytes) { alloc_limit = bytes; }

int rl_debug_fail_alloc(long n)
{
    int fired = atomic_exchange(&fail_fired, 0);
    atomic_store(&fail_at, n > 0 ? n : 0);
    return fired;
}

/* Whether this allocation is to fail. */
static int refused(size_t bytes)
{
    if (alloc_limit && bytes > alloc_limit) return 1;
    if (atomic_load_explicit(&fail_at, memory_order_relaxed) > 0 && atomic_fetch_sub(&fail_at, 1) == 1) {
        atomic_store(&fail_fired, 1);
        return 1;
    }
    return 0;
}

void *rl_malloc(size_t bytes) { return refused(bytes) ? NULL : malloc(bytes ? bytes : 1); }

void *rl_realloc(void *p, size_t bytes) { return refused(bytes) ? NULL : realloc(p, bytes ? bytes : 1); }

void *rl_alloc(size_t n, size_t size)
{
    if (n == 0) n = 1;
    if (size != 0 && n > ((size_t)-1 - 64) / size) {
        rl_fail(RL_ERR_NOMEM, "allocation of %zu x %zu bytes overflows", n, size);
        return NULL;
    }
    size_t bytes = (n * size + 63) & ~(size_t)63;
    void *p = refused(bytes) ? NULL : aligned_alloc(64, bytes);
    if (!p) {
        rl_fail(RL_ERR_NOMEM, "cannot allocate %zu bytes", bytes);
        return NULL;
    }
    memset(p, 0, bytes);
    rl_mem_count(p, 1);
    return p;
}

void rl_free(void *p)
{
    rl_mem_count(p, -1);
    free(p);
}

void rl_free_n(void *const *p, size_t n)
{
    for (size_t i = 0; i < n; i++) rl_free(p[i]);
}

void rl_zero_but(void *obj, size_t n, const void *keep, size_t size)
{
    unsigned char *o = obj;
    size_t at = (size_t)((const unsigned char *)keep - o);
    RL_ASSERT(at <= n && size <= n - at);
    memset(o, 0, at);
    memset(o + at + size, 0, n - at - size);
}

