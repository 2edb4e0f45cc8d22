/* The BLAS kernel check: which BLAS rnnlab runs on, which kernel OpenBLAS
 * chose for this CPU, and a switch to a better one when OpenBLAS chose badly.
 *
 * Why: OpenBLAS built with DYNAMIC_ARCH picks its kernels from cpuid when it
 * loads. Debian 12's 0.3.21 sends every Intel family-6 model past its list
 * (Emerald Rapids, model 207, among them) to the SSE3 "Prescott" kernels: on
 * such a 16-core Xeon sgemm 2048^3 ran 15.6 GFLOP/s on one thread, and 151
 * with the AVX-512 "SkylakeX" kernels (../shared/device/README.md). Fixed
 * upstream in 0.3.25.
 *
 * How: 0.3.21 exports gotoblas_dynamic_quit and gotoblas_dynamic_init (not a
 * documented API); quit forgets the chosen kernel table and init chooses
 * again, reading OPENBLAS_CORETYPE. Both are looked up with dlsym, so that
 * rnnlab linked against another BLAS still links and reports "other".
 * OpenBLAS accepts a kernel name the CPU cannot run (it would die of SIGILL
 * later), so the target comes from cpuid's features, never from the model
 * number; and 0.3.21 cannot select "Cooperlake" by name, so AVX-512 CPUs get
 * "SkylakeX" (Cooperlake is SkylakeX plus the bfloat16 GEMMs rnnlab does not
 * call).
 *
 * When: once, from a constructor in src/status.c (see there), before main
 * and so before any BLAS call and before the program starts threads; the
 * switch must not run while another thread is inside OpenBLAS. Switching
 * keeps OpenBLAS's thread count and its thread pool (the pool does not depend
 * on the kernel; the buffers are sized at build time).
 *
 * Loaded later: librnnlab.so may be loaded into a running process (Python's
 * ctypes after numpy and torch, which on Debian share this one OpenBLAS
 * through libblas.so.3: docs/python.md). Its constructor then runs inside
 * dlopen, on the loading thread, while the process's other threads may be
 * in OpenBLAS. So the switch is made only when the process has no thread
 * but this one and OpenBLAS's own workers (which run only inside a call
 * some program thread made): counted in /proc/self/task against OpenBLAS's
 * pool. With any other thread alive the check switches nothing and says
 * so (RL_BLAS_FAILED, with the OPENBLAS_CORETYPE to set). Nothing else can
 * start a thread meanwhile: only a program thread could, and there is none
 * but this one. A program loaded with rnnlab, statically or not, passes
 * this test before main.
 *
 * The environment: the switch sets OPENBLAS_CORETYPE only for the moment
 * gotoblas_dynamic_init reads it, and unsets it again (it was unset, or
 * there would be no switch). So the variable always says what the user chose:
 * a child process (another rnnlab, or a Python with a newer OpenBLAS that
 * knows the CPU) makes its own choice rather than inheriting rnnlab's, and
 * the check in a child rnnlab does not mistake it for the user's.
 *
 * For tests: RNNLAB_TEST_BLAS_START=NAME first switches OpenBLAS to NAME as
 * if it had chosen it (only a kernel this CPU runs, and only when
 * OPENBLAS_CORETYPE is unset), then the check runs as usual. */
#define _GNU_SOURCE
#include "blas.h"

#include "internal.h"

#include <cblas.h>
#include <ctype.h>
#include <dirent.h>
#include <dlfcn.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define RL_X86 1
#endif

/* OpenBLAS kernel names (as openblas_get_corename spells them) by the vector
 * class they need: 0 SSE, 1 AVX, 2 AVX2 and FMA, 3 AVX-512. `tuned` marks the
 * kernels OpenBLAS picks only for a CPU it recognised (AMD's, by family):
 * they are kept whatever their class (Zen's kernels run as fast as SkylakeX's
 * on a Zen 4, whose AVX-512 units are no wider than its AVX2 ones). A name
 * not here (a kernel newer than this table, or "Unknown") is never replaced. */
static const struct {
    const char *name;
    int cls, tuned;
} kernels[] = {
    {"Katmai", 0, 0},      {"Coppermine", 0, 0},   {"Northwood", 0, 0},  {"Prescott", 0, 0},
    {"Banias", 0, 0},      {"Atom", 0, 0},         {"Core2", 0, 0},      {"Penryn", 0, 0},
    {"Dunnington", 0, 0},  {"Nehalem", 0, 0},      {"Athlon", 0, 0},     {"Opteron", 0, 0},
    {"Opteron_SSE3", 0, 0}, {"Barcelona", 0, 0},   {"Nano", 0, 0},       {"Bobcat", 0, 1},
    {"Sandybridge", 1, 0}, {"Bulldozer", 1, 1},    {"Piledriver", 1, 1}, {"Steamroller", 1, 1},
    {"Haswell", 2, 0},     {"Excavator", 2, 1},    {"Zen", 2, 1},        {"SkylakeX", 3, 0},
    {"Cooperlake", 3, 0},  {"SapphireRapids", 3, 0},
};

/* The kernel each class switches to, and the features it needs. */
static const struct {
    const char *name;
    unsigned needs;
} targets[] = {
    {"SkylakeX", RL_CPU_AVX | RL_CPU_AVX2 | RL_CPU_FMA | RL_CPU_AVX512F | RL_CPU_AVX512BW | RL_CPU_AVX512DQ |
                     RL_CPU_AVX512VL},
    {"Haswell", RL_CPU_AVX | RL_CPU_AVX2 | RL_CPU_FMA},
    {"Sandybridge", RL_CPU_AVX},
};

static const char *const action_names[RL_BLAS_ACTION_COUNT] = {"other", "fixed", "kept", "switched", "user", "failed"};
static const char *const feature_names[RL_CPU_FEATURE_COUNT] = {
    "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512_bf16", "amx"};

const char *rl_blas_action_name(rl_blas_action a)
{
    return (unsigned)a < RL_BLAS_ACTION_COUNT ? action_names[a] : NULL;
}

const char *rl_cpu_feature_name(rl_cpu_feature f)
{
    for (int i = 0; i < RL_CPU_FEATURE_COUNT; i++)
        if ((unsigned)f == 1u << i) return feature_names[i];
    return NULL;
}

/* the entry of a kernel name, -1 if unknown */
static int kernel_index(const char *name)
{
    for (size_t i = 0; name && i < sizeof kernels / sizeof kernels[0]; i++)
        if (strcasecmp(name, kernels[i].name) == 0) return (int)i;
    return -1;
}

/* the class of a kernel name, -1 if unknown */
static int kernel_class(const char *name)
{
    int i = kernel_index(name);
    return i < 0 ? -1 : kernels[i].cls;
}

/* the class a kernel counts as when deciding to replace it: tuned kernels
 * and unknown names count as the highest, so they stay */
static int replace_class(const char *name)
{
    int i = kernel_index(name);
    return i < 0 || kernels[i].tuned ? 3 : kernels[i].cls;
}

const char *rl_blas_best(unsigned features)
{
    for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++)
        if ((features & targets[i].needs) == targets[i].needs) return targets[i].name;
    return NULL;
}

const char *rl_blas_choose(const char *current, unsigned features)
{
    const char *best = rl_blas_best(features);
    return best && replace_class(current) < kernel_class(best) ? best : NULL;
}

/* ---------------------------------------------------------------- the CPU */

static void copy(char *dst, size_t n, const char *src)
{
    snprintf(dst, n, "%s", src ? src : "");
}

/* "model name : X" from /proc/cpuinfo, for CPUs without cpuid's brand string */
static void proc_model_name(char *dst, size_t n)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "model name", 10) == 0) {
            const char *v = strchr(line, ':');
            if (v) {
                v++;
                while (*v == ' ' || *v == '\t') v++;
                copy(dst, n, v);
                dst[strcspn(dst, "\n")] = '\0';
            }
            break;
        }
    fclose(f);
}

static void detect_cpu(rl_sysinfo *si)
{
    si->cpu_family = si->cpu_model = si->cpu_stepping = -1;
#ifdef RL_X86
    unsigned a = 0, b = 0, c = 0, d = 0;
    /* needed when this runs from a constructor, before libgcc's own */
    __builtin_cpu_init();
    if (__get_cpuid(0, &a, &b, &c, &d)) {
        memcpy(si->cpu_vendor, &b, 4), memcpy(si->cpu_vendor + 4, &d, 4), memcpy(si->cpu_vendor + 8, &c, 4);
        si->cpu_vendor[12] = '\0';
    }
    unsigned max_leaf = a, osxsave = 0;
    if (__get_cpuid(1, &a, &b, &c, &d)) {
        /* the display family and model (Intel SDM vol. 2A, CPUID leaf 01H) */
        int fam = (a >> 8) & 0xf, mod = (a >> 4) & 0xf;
        if (fam == 0xf) fam += (a >> 20) & 0xff;
        if (fam == 0x6 || fam >= 0xf) mod += ((a >> 16) & 0xf) << 4;
        si->cpu_family = fam, si->cpu_model = mod, si->cpu_stepping = (int)(a & 0xf);
        osxsave = (c >> 27) & 1;
    }
    unsigned f = 0;
    /* __builtin_cpu_supports checks that the OS saves the registers (XCR0) */
    if (__builtin_cpu_supports("avx")) f |= RL_CPU_AVX;
    if (__builtin_cpu_supports("avx2")) f |= RL_CPU_AVX2;
    if (__builtin_cpu_supports("fma")) f |= RL_CPU_FMA;
    if (__builtin_cpu_supports("avx512f")) f |= RL_CPU_AVX512F;
    if (__builtin_cpu_supports("avx512bw")) f |= RL_CPU_AVX512BW;
    if (__builtin_cpu_supports("avx512dq")) f |= RL_CPU_AVX512DQ;
    if (__builtin_cpu_supports("avx512vl")) f |= RL_CPU_AVX512VL;
    /* the rest straight from cpuid: leaf 7 subleaf 1 EAX bit 5 (AVX512_BF16),
     * subleaf 0 EDX bits 22 and 24 (AMX-BF16, AMX-TILE), and XCR0 bits 17-18
     * (the OS saves the tile state) */
    if (max_leaf >= 7 && __get_cpuid_count(7, 1, &a, &b, &c, &d) && (a >> 5 & 1) && (f & RL_CPU_AVX512F))
        f |= RL_CPU_AVX512BF16;
    if (max_leaf >= 7 && osxsave && __get_cpuid_count(7, 0, &a, &b, &c, &d) && (d >> 22 & 1) && (d >> 24 & 1)) {
        unsigned lo, hi;
        __asm__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
        if ((lo & 0x60000u) == 0x60000u) f |= RL_CPU_AMX;
    }
    si->cpu_features = f;
    if (__get_cpuid(0x80000000, &a, &b, &c, &d) && a >= 0x80000004) {
        unsigned r[12];
        for (unsigned i = 0; i < 3; i++) __get_cpuid(0x80000002 + i, &r[4 * i], &r[4 * i + 1], &r[4 * i + 2], &r[4 * i + 3]);
        char brand[49];
        memcpy(brand, r, 48);
        brand[48] = '\0';
        const char *p = brand;
        while (*p == ' ') p++;
        copy(si->cpu_model_name, sizeof si->cpu_model_name, p);
        for (size_t n = strlen(si->cpu_model_name); n && si->cpu_model_name[n - 1] == ' ';) si->cpu_model_name[--n] = '\0';
    }
#endif
    if (!si->cpu_model_name[0]) proc_model_name(si->cpu_model_name, sizeof si->cpu_model_name);
}

/* ---------------------------------------------------------------- the BLAS */

typedef char *(*str_fn)(void);
typedef int (*int_fn)(void);
typedef void (*void_fn)(void);
typedef void (*set_fn)(int);

static void *blas_lib; /* the library of cblas_sgemm, for symbols not in the global scope */

static void *sym(const char *name)
{
    void *p = dlsym(RTLD_DEFAULT, name);
    return p || !blas_lib ? p : dlsym(blas_lib, name);
}

/* Whether this OpenBLAS has kernel `name`: its table gotoblas_NAME is
 * exported. Libraries that export no tables at all get the benefit of the
 * doubt (OpenBLAS falls back by itself to a kernel it has). */
static int has_kernel(const char *name)
{
    char s[48] = "gotoblas_";
    for (size_t i = 0, k = strlen(s); name[i] && k + 1 < sizeof s; i++, k++) s[k] = (char)toupper((unsigned char)name[i]), s[k + 1] = '\0';
    return sym(s) || !sym("gotoblas_PRESCOTT");
}

static rl_sysinfo info;  /* written once, by check() */
static str_fn get_corename;
static void_fn dyn_quit, dyn_init;

/* Let OpenBLAS choose again with OPENBLAS_CORETYPE=name, and unset the
 * variable afterwards (callers make sure the user had not set it). */
static void switch_to(const char *name)
{
    setenv("OPENBLAS_CORETYPE", name, 1);
    dyn_quit();
    dyn_init();
    unsetenv("OPENBLAS_CORETYPE");
}

static void corename(char *dst, size_t n)
{
    copy(dst, n, get_corename());
}

/* Threads of this process (entries of /proc/self/task), 0 if unknown. */
static int process_threads(void)
{
    DIR *d = opendir("/proc/self/task");
    if (!d) return 0;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* Whether a thread other than the caller and OpenBLAS's idle workers could
 * be inside OpenBLAS: more threads than 1 + the pool's workers (OpenBLAS
 * 0.3.21 starts blas_num_threads - 1 of them when it loads, and exports the
 * count; without the symbols, its thread count stands in). Unknown (no
 * /proc) counts as alone, as before this test existed. *n gets the count. */
static int others_running(int *n)
{
    const int *num = (const int *)sym("blas_num_threads"), *avail = (const int *)sym("blas_server_avail");
    int_fn get_threads = (int_fn)sym("openblas_get_num_threads");
    int pool = num && avail ? (*avail ? *num : 1) : get_threads ? get_threads() : 1;
    *n = process_threads();
    return *n > (pool < 1 ? 1 : pool);
}

static void check(void)
{
    rl_sysinfo *si = &info;
    detect_cpu(si);
    const char *best = rl_blas_best(si->cpu_features);
    copy(si->kernel_target, sizeof si->kernel_target, best);
    /* The library that holds cblas_sgemm (dlsym finds the definition, not a
     * PLT stub in the program); OpenBLAS when openblas_get_config is there. */
    void *sgemm = dlsym(RTLD_DEFAULT, "cblas_sgemm");
    if (!sgemm) sgemm = (void *)cblas_sgemm;
    Dl_info where = {0}, cfg_where = {0};
    if (dladdr(sgemm, &where) && where.dli_fname) {
        blas_lib = dlopen(where.dli_fname, RTLD_LAZY | RTLD_NOLOAD);
        copy(si->blas_path, sizeof si->blas_path, where.dli_fname);
    }
    str_fn get_config = (str_fn)sym("openblas_get_config");
    get_corename = (str_fn)sym("openblas_get_corename");
    int_fn get_threads = (int_fn)sym("openblas_get_num_threads");
    set_fn set_threads = (set_fn)sym("openblas_set_num_threads");
    int same_lib = get_config && dladdr((void *)get_config, &cfg_where) && cfg_where.dli_fbase == where.dli_fbase;
    if (!get_config || !get_corename || !get_threads || !set_threads || !same_lib) {
        si->blas_action = RL_BLAS_OTHER;
        copy(si->blas_name, sizeof si->blas_name, "other");
        return;
    }
    copy(si->blas_name, sizeof si->blas_name, "OpenBLAS");
    const char *cfg = get_config();
    if (strncmp(cfg, "OpenBLAS ", 9) == 0) {
        copy(si->blas_version, sizeof si->blas_version, cfg + 9);
        si->blas_version[strcspn(si->blas_version, " ")] = '\0';
    }
    corename(si->kernel_before, sizeof si->kernel_before);
    const char *env = getenv("OPENBLAS_CORETYPE");
    copy(si->coretype_env, sizeof si->coretype_env, env);
    int threads = get_threads();
    if (!strstr(cfg, "DYNAMIC_ARCH")) {
        si->blas_action = RL_BLAS_FIXED;
    } else {
        dyn_quit = (void_fn)sym("gotoblas_dynamic_quit");
        dyn_init = (void_fn)sym("gotoblas_dynamic_init");
        int nthreads = 0, busy = others_running(&nthreads);
        const char *start = getenv("RNNLAB_TEST_BLAS_START");
        /* made even in a busy process: the tests that set it keep their other threads idle */
        if (start && !env) {
            int cls = kernel_class(start);
            if (dyn_quit && dyn_init && cls >= 0 && best && cls <= kernel_class(best)) {
                switch_to(start);
                corename(si->kernel_before, sizeof si->kernel_before);
            } else {
                snprintf(si->warning, sizeof si->warning,
                         "RNNLAB_TEST_BLAS_START=%.32s ignored: not a kernel this CPU runs, or no switch here", start);
            }
        }
        /* the best kernel this OpenBLAS has, when its own is of a lower class */
        const char *target = NULL;
        for (size_t i = 0; !env && rl_blas_choose(si->kernel_before, si->cpu_features) && i < sizeof targets / sizeof targets[0]; i++)
            if ((si->cpu_features & targets[i].needs) == targets[i].needs &&
                kernel_class(targets[i].name) > kernel_class(si->kernel_before) && has_kernel(targets[i].name)) {
                target = targets[i].name;
                break;
            }
        if (env) {
            si->blas_action = RL_BLAS_USER;
        } else if (!target) {
            si->blas_action = RL_BLAS_KEPT;
        } else if (busy) {
            si->blas_action = RL_BLAS_FAILED;
            snprintf(si->warning, sizeof si->warning,
                     "OpenBLAS runs its %.31s kernel, weaker than %.31s; rnnlab, loaded into a process with %d threads "
                     "(one may be inside OpenBLAS), switched nothing: set OPENBLAS_CORETYPE=%.31s at its start",
                     si->kernel_before, target, nthreads, target);
        } else if (!dyn_quit || !dyn_init) {
            si->blas_action = RL_BLAS_FAILED;
            snprintf(si->warning, sizeof si->warning,
                     "OpenBLAS runs its %.31s kernel, weaker than the %.31s kernel this CPU runs, and rnnlab cannot switch "
                     "it (gotoblas_dynamic_init not found): set OPENBLAS_CORETYPE=%.31s",
                     si->kernel_before, target, target);
        } else {
            switch_to(target);
            char now[32];
            corename(now, sizeof now);
            if (strcasecmp(now, target) == 0) {
                si->blas_action = RL_BLAS_SWITCHED;
            } else {
                si->blas_action = RL_BLAS_FAILED;
                snprintf(si->warning, sizeof si->warning,
                         "OpenBLAS runs its %.31s kernel, weaker than the %.31s kernel this CPU runs; rnnlab asked it for "
                         "%.31s and got %.31s: set OPENBLAS_CORETYPE=%.31s",
                         si->kernel_before, target, target, now, target);
                if (kernel_class(now) < kernel_class(si->kernel_before)) switch_to(si->kernel_before);
            }
        }
    }
    if (get_threads() != threads) set_threads(threads);
    corename(si->kernel_after, sizeof si->kernel_after);
    copy(si->blas_config, sizeof si->blas_config, get_config());
    if (si->blas_action == RL_BLAS_USER && !si->warning[0]) {
        int have = kernel_class(si->kernel_after), can = best ? kernel_class(best) : 0;
        if (replace_class(si->kernel_after) < can)
            snprintf(si->warning, sizeof si->warning,
                     "OPENBLAS_CORETYPE=%.31s keeps OpenBLAS on its %.31s kernel, weaker than the %.31s kernel this CPU runs "
                     "(unset it to let rnnlab choose)",
                     si->coretype_env, si->kernel_after, best);
        else if (have > can)
            snprintf(si->warning, sizeof si->warning,
                     "OPENBLAS_CORETYPE=%.31s puts OpenBLAS on its %.31s kernel, which needs vector instructions this CPU "
                     "lacks (its best is %.31s): expect a crash (illegal instruction)",
                     si->coretype_env, si->kernel_after, best ? best : "SSE3");
    }
}

static pthread_once_t once = PTHREAD_ONCE_INIT;

void rl_blas_check_once(void)
{
    pthread_once(&once, check);
}

rl_sysinfo rl_system_info(void)
{
    rl_blas_check_once();
    rl_sysinfo si = info;
    int_fn get_threads = si.blas_action != RL_BLAS_OTHER ? (int_fn)sym("openblas_get_num_threads") : NULL;
    si.blas_threads = get_threads ? get_threads() : 0;
    si.cores_online = (int)sysconf(_SC_NPROCESSORS_ONLN);
    cpu_set_t set;
    CPU_ZERO(&set);
    si.cores_allowed = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : si.cores_online;
    si.threads = rl_get_num_threads();
    snprintf(si.step_kernel, sizeof si.step_kernel, "%s", rl_packed_kernel_name());
    return si;
}
