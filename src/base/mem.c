/* What this process may still allocate, and the check of an estimate of
 * peak memory against it, made before the large allocations (a workspace,
 * a trainer, the Jacobians) so that a size that cannot fit is one line and
 * an error rather than the kernel's out-of-memory kill (issue 28).
 *
 * Linux overcommits: a calloc of 90 GiB on a 16 GiB machine succeeds, and the
 * process is killed when it touches the pages. So the limit is read, not
 * probed: the least of
 *   - the memory available (MemAvailable of /proc/meminfo: free memory plus
 *     what the kernel can reclaim without swapping),
 *   - the address-space limit (RLIMIT_AS, `ulimit -v`) less what the process
 *     maps already (VmSize of /proc/self/status),
 *   - the cgroup's limit less its use (v2: memory.max and memory.current of
 *     the process's cgroup and its parents; v1: memory.limit_in_bytes and
 *     memory.usage_in_bytes),
 *   - RNNLAB_MEMORY_LIMIT (bytes, or with a K, M, G or T suffix: powers of
 *     1024) less what rnnlab has allocated, a limit of the user's own. */
#include "base/internal.h"

#include <errno.h>
#include <malloc.h>
#include <math.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/resource.h>

/* ---------------------------------------------------------------- accounting */

/* Bytes rl_alloc holds now, and the most it has held since the last reset:
 * what the tests compare the estimates with. */
static _Atomic size_t held, held_peak;

void rl_mem_count(void *p, int sign)
{
    if (!p) return;
    size_t n = malloc_usable_size(p);
    if (sign > 0) {
        size_t now = atomic_fetch_add(&held, n) + n, peak = atomic_load(&held_peak);
        while (now > peak && !atomic_compare_exchange_weak(&held_peak, &peak, now)) {
        }
    } else {
        size_t h = atomic_load(&held);
        /* rl_free also frees the library's malloc'ed strings, which were never counted */
        while (!atomic_compare_exchange_weak(&held, &h, h >= n ? h - n : 0)) {
        }
    }
}

void rl_debug_alloc_stats(size_t *now, size_t *peak)
{
    if (now) *now = atomic_load(&held);
    if (peak) *peak = atomic_load(&held_peak);
}

void rl_debug_alloc_peak_reset(void) { atomic_store(&held_peak, atomic_load(&held)); }

/* ---------------------------------------------------------------- the limit */

/* The number after `key` in a "key: N kB" file, in bytes; -1 if absent. */
static double kb_field(const char *path, const char *key)
{
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char line[256];
    double v = -1;
    size_t k = strlen(key);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, key, k) == 0 && line[k] == ':') {
            v = strtod(line + k + 1, NULL) * 1024;
            break;
        }
    fclose(f);
    return v;
}

/* A file holding one number ("max": unlimited, -1; absent: -2). */
static double number_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return -2;
    char b[64] = "";
    double v = -2;
    if (fgets(b, sizeof b, f)) v = strncmp(b, "max", 3) == 0 ? -1 : strtod(b, NULL);
    fclose(f);
    return v;
}

/* The room left under the cgroup's limits (internal.h). */
double rl_cgroup_room(const char *proc_cgroup, const char *sysfs)
{
    FILE *f = fopen(proc_cgroup, "r");
    if (!f) return INFINITY;
    char line[1024], path[1024] = "", base[1100] = "";
    const char *lim = NULL, *use = NULL;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2) continue;
        if (strncmp(c1, "::", 2) == 0 && !lim) { /* v2, unless v1's memory controller is there too */
            snprintf(path, sizeof path, "%s", c2 + 1);
            snprintf(base, sizeof base, "%s", sysfs);
            lim = "memory.max", use = "memory.current";
        } else if (strncmp(c1 + 1, "memory:", 7) == 0) {
            snprintf(path, sizeof path, "%s", c2 + 1);
            snprintf(base, sizeof base, "%s/memory", sysfs);
            lim = "memory.limit_in_bytes", use = "memory.usage_in_bytes";
        }
    }
    fclose(f);
    double room = INFINITY;
    for (int depth = 0; lim && depth < 64; depth++) {
        char p[2300];
        snprintf(p, sizeof p, "%s%s/%s", base, path, lim);
        double l = number_file(p);
        snprintf(p, sizeof p, "%s%s/%s", base, path, use);
        double u = number_file(p);
        /* v1 says "no limit" with a number near 2^63 */
        if (l > 0 && l < 4e18 && u >= 0) room = fmin(room, fmax(l - u, 0));
        char *slash = strrchr(path, '/');
        if (!slash || path[0] == '\0') break;
        *slash = '\0';
        if (path[0] == '\0' && depth > 0) break;
    }
    return room;
}

/* RNNLAB_MEMORY_LIMIT in bytes; -1 unset or unreadable. */
static double env_limit(void)
{
    const char *e = getenv("RNNLAB_MEMORY_LIMIT");
    if (!e || !*e) return -1;
    char *end = NULL;
    errno = 0;
    double v = strtod(e, &end);
    if (errno || end == e || !(v >= 0)) return -1;
    static const char units[] = "KMGT";
    const char *u = *end ? strchr(units, *end == 'k' ? 'K' : *end) : NULL;
    if (*end && (!u || end[1] != '\0')) return -1;
    if (u) v *= pow(1024, (double)(u - units + 1));
    return v;
}

rl_mem_limit rl_memory_limit(void)
{
    rl_mem_limit r = {INFINITY, ""};
    double avail = kb_field("/proc/meminfo", "MemAvailable");
    if (avail >= 0) r.bytes = avail, snprintf(r.what, sizeof r.what, "the memory available (MemAvailable)");
    struct rlimit rl;
    if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        double mapped = kb_field("/proc/self/status", "VmSize"), room = fmax((double)rl.rlim_cur - fmax(mapped, 0), 0);
        if (room < r.bytes) r.bytes = room, snprintf(r.what, sizeof r.what, "the address-space limit (ulimit -v)");
    }
    double cg = rl_cgroup_room("/proc/self/cgroup", "/sys/fs/cgroup");
    if (cg < r.bytes) r.bytes = cg, snprintf(r.what, sizeof r.what, "the cgroup's memory limit");
    double env = env_limit();
    if (env >= 0) {
        size_t now;
        rl_debug_alloc_stats(&now, NULL);
        double room = fmax(env - (double)now, 0);
        if (room < r.bytes) r.bytes = room, snprintf(r.what, sizeof r.what, "RNNLAB_MEMORY_LIMIT");
    }
    return r;
}

void rl_format_bytes(double bytes, char *buf, size_t n)
{
    static const char *const unit[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB"};
    int u = 0;
    while (bytes >= 1024 && u < 5) bytes /= 1024, u++;
    if (u == 0) snprintf(buf, n, "%.0f bytes", bytes);
    else snprintf(buf, n, bytes < 10 ? "%.2f %s" : bytes < 100 ? "%.1f %s" : "%.0f %s", bytes, unit[u]);
}

rl_status rl_memory_check(double bytes, const char *what)
{
    /* small requests are not worth reading /proc for, unless the user set a limit of their own */
    if (bytes < RL_MEM_CHECK_FROM && !getenv("RNNLAB_MEMORY_LIMIT")) return RL_OK;
    rl_mem_limit l = rl_memory_limit();
    if (!(bytes > l.bytes)) return RL_OK;
    char need[32], have[32];
    rl_format_bytes(bytes, need, sizeof need);
    rl_format_bytes(l.bytes, have, sizeof have);
    return rl_fail(RL_ERR_NOMEM, "%s needs about %s of memory; %s leaves %s", what, need, l.what, have);
}
