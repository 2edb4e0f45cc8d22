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
#include "base/blas.h"

#include "base/internal.h"

#include <cJSON.h>
#include <cblas.h>
#include <ctype.h>
#include <dirent.h>
#include <dlfcn.h>
#include <float.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
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
static const char *const check_names[RL_KCHECK_COUNT] = {"passed", "fell back", "failed"};
static const char *const feature_names[RL_CPU_FEATURE_COUNT] = {
    "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512_bf16", "amx"};

const char *rl_blas_action_name(rl_blas_action a)
{
    return (unsigned)a < RL_BLAS_ACTION_COUNT ? action_names[a] : NULL;
}

const char *rl_kernel_check_name(rl_kernel_check k)
{
    return (unsigned)k < RL_KCHECK_COUNT ? check_names[k] : NULL;
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

/* Microarchitectures by vendor, display family and model range, for the
 * reader of rnnlab info (AMD's family/model lists in its Processor
 * Programming References; Intel's in the SDM, vol. 4, table 2-1). Nothing
 * is chosen from them: kernels come from the features. */
static const struct {
    const char *vendor;
    int family, lo, hi;
    const char *name;
} arches[] = {
    {"AuthenticAMD", 21, 0, 255, "Bulldozer family"},
    {"AuthenticAMD", 22, 0, 255, "Jaguar"},
    {"AuthenticAMD", 23, 0x00, 0x2f, "Zen / Zen+"},
    {"AuthenticAMD", 23, 0x30, 0xff, "Zen 2"},
    {"AuthenticAMD", 25, 0x00, 0x0f, "Zen 3"},
    {"AuthenticAMD", 25, 0x10, 0x1f, "Zen 4"},
    {"AuthenticAMD", 25, 0x20, 0x5f, "Zen 3"},
    {"AuthenticAMD", 25, 0x60, 0xaf, "Zen 4"},
    {"AuthenticAMD", 26, 0, 255, "Zen 5"},
    {"GenuineIntel", 6, 0x3c, 0x3c, "Haswell"},
    {"GenuineIntel", 6, 0x3f, 0x3f, "Haswell-EP"},
    {"GenuineIntel", 6, 0x4f, 0x4f, "Broadwell-EP"},
    {"GenuineIntel", 6, 0x55, 0x55, "Skylake-SP / Cascade Lake / Cooper Lake"},
    {"GenuineIntel", 6, 0x5e, 0x5e, "Skylake"},
    {"GenuineIntel", 6, 0x6a, 0x6c, "Ice Lake-SP"},
    {"GenuineIntel", 6, 0x7d, 0x7e, "Ice Lake"},
    {"GenuineIntel", 6, 0x8c, 0x8d, "Tiger Lake"},
    {"GenuineIntel", 6, 0x8e, 0x8e, "Kaby Lake / Coffee Lake"},
    {"GenuineIntel", 6, 0x8f, 0x8f, "Sapphire Rapids"},
    {"GenuineIntel", 6, 0x97, 0x9a, "Alder Lake"},
    {"GenuineIntel", 6, 0x9e, 0x9e, "Kaby Lake / Coffee Lake"},
    {"GenuineIntel", 6, 0xad, 0xae, "Granite Rapids"},
    {"GenuineIntel", 6, 0xb7, 0xbf, "Raptor Lake"},
    {"GenuineIntel", 6, 0xcf, 0xcf, "Emerald Rapids"},
};

static void name_arch(rl_sysinfo *si)
{
    for (size_t i = 0; i < sizeof arches / sizeof arches[0]; i++)
        if (strcmp(si->cpu_vendor, arches[i].vendor) == 0 && si->cpu_family == arches[i].family &&
            si->cpu_model >= arches[i].lo && si->cpu_model <= arches[i].hi) {
            copy(si->cpu_arch, sizeof si->cpu_arch, arches[i].name);
            return;
        }
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
    name_arch(si);
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

/* Let OpenBLAS choose again with OPENBLAS_CORETYPE=name, and give the
 * variable back its value afterwards (unset, or the user's). */
static void switch_to(const char *name)
{
    const char *was = getenv("OPENBLAS_CORETYPE");
    char saved[64];
    if (was) copy(saved, sizeof saved, was);
    setenv("OPENBLAS_CORETYPE", name, 1);
    dyn_quit();
    dyn_init();
    if (was) setenv("OPENBLAS_CORETYPE", saved, 1);
    else unsetenv("OPENBLAS_CORETYPE");
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

static void verify(rl_sysinfo *si, int can_switch, int nthreads);

static void check(void)
{
    rl_sysinfo *si = &info;
    int can_switch = 0, nthreads = 0;
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
        get_corename = NULL;
        verify(si, 0, process_threads());
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
        int busy = others_running(&nthreads);
        can_switch = dyn_quit && dyn_init && !busy;
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
    /* a kernel the CPU cannot run would die in the check (SIGILL): only the
     * user can have chosen one, and is warned below */
    char running[32];
    corename(running, sizeof running);
    if (!(si->blas_action == RL_BLAS_USER && kernel_class(running) > (best ? kernel_class(best) : 0))) {
        /* on one thread (the kernel is the same on every thread; waking the
         * pool costs more than the check), unless others may be calling */
        if (nthreads <= 1 || can_switch) set_threads(1);
        verify(si, can_switch, nthreads);
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

/* ---------------------------------------------------------------- the kernel check
 *
 * OpenBLAS 0.3.21 predates some CPUs it runs on (Zen 5, family 26; Emerald
 * Rapids, family 6 model 207) and picks their kernels from features alone;
 * nothing in it verifies that a kernel computes right there. So rnnlab
 * does, once per process: sgemm and dgemm on shapes that reach the kernels'
 * edge cases (sizes that are no multiple of any unrolling, 1x1x1, every
 * transposition, leading dimensions past the rows, alpha and beta other
 * than 1 and 0, and one product above OpenBLAS's small-matrix limit of
 * 100^3 multiply-adds (101 x 103 x 97), so that both of its paths run) against plain loops
 * accumulated in a wider type. A kernel that disagrees beyond rounding is
 * replaced by the next safer one. */

typedef struct {
    int m, n, k, ta, tb, pad;
} gemm_shape;

static const gemm_shape shapes[] = {
    {1, 1, 1, 0, 0, 0},   {5, 3, 7, 1, 0, 1},    {17, 9, 33, 0, 1, 3},
    {33, 31, 65, 1, 1, 0}, {67, 45, 129, 0, 0, 5}, {101, 103, 97, 1, 0, 2},
};
#define GEMM_MAX_A (131 * 136) /* the largest A, B or C of the shapes, with its padding */

/* Deterministic values in [-1, 1] on a grid of 1/128: exact in float, and
 * every product and every sum of up to 2^28 products exact in double. So the
 * reference is exact, dgemm must match it exactly, and sgemm within its own
 * rounding. */
static double value(unsigned i, unsigned salt)
{
    unsigned x = i * 2654435761u ^ salt * 40503u;
    x ^= x >> 15, x *= 2246822519u, x ^= x >> 13;
    return (double)((int)(x % 257) - 128) / 128.0;
}

/* Whether name is in the comma-separated list (any case; "all" matches every name). */
static int listed(const char *list, const char *name)
{
    for (const char *p = list; p && *p;) {
        size_t n = strcspn(p, ",");
        if ((n == 3 && strncasecmp(p, "all", 3) == 0) || (n == strlen(name) && strncasecmp(p, name, n) == 0)) return 1;
        p += n + (p[n] == ',');
    }
    return 0;
}

/* One shape's operands and exact result, for both precisions. */
typedef struct {
    float af[GEMM_MAX_A], bf[GEMM_MAX_A], cf[GEMM_MAX_A];
    double ad[GEMM_MAX_A], bd[GEMM_MAX_A], cd[GEMM_MAX_A], want[GEMM_MAX_A], mag[GEMM_MAX_A];
} gemm_case;

static gemm_case gc; /* 2.3 MB, written by the one thread that runs the check */

static void gemm_dims(const gemm_shape *g, int *lda, int *ldb, int *ldc, int *ar, int *br)
{
    /* row-major: op(A) is m x k, stored k x m when transposed */
    *ar = g->ta ? g->k : g->m, *br = g->tb ? g->n : g->k;
    *lda = (g->ta ? g->m : g->k) + g->pad, *ldb = (g->tb ? g->k : g->n) + g->pad, *ldc = g->n + g->pad;
}

static const double gemm_alpha = 0.75, gemm_beta = -0.5;

/* The operands of shape g and C = alpha op(A) op(B) + beta C by the loop,
 * with the sum of the magnitudes that made each element (for sgemm's bound). */
static void gemm_reference(const gemm_shape *g)
{
    int lda, ldb, ldc, ar, br;
    gemm_dims(g, &lda, &ldb, &ldc, &ar, &br);
    const int m = g->m, n = g->n, k = g->k;
    for (int i = 0; i < ar * lda; i++) gc.ad[i] = value((unsigned)i, 1);
    for (int i = 0; i < br * ldb; i++) gc.bd[i] = value((unsigned)i, 2);
    for (int i = 0; i < m * ldc; i++) gc.cd[i] = value((unsigned)i, 3);
    for (int i = 0; i < m; i++) {
        double *w = gc.want + i * ldc, *a = gc.mag + i * ldc;
        for (int j = 0; j < ldc; j++) w[j] = a[j] = 0;
        for (int l = 0; l < k; l++) {
            const double x = g->ta ? gc.ad[l * lda + i] : gc.ad[i * lda + l];
            if (g->tb) {
                for (int j = 0; j < n; j++) w[j] += x * gc.bd[j * ldb + l], a[j] += fabs(x * gc.bd[j * ldb + l]);
            } else {
                const double *y = gc.bd + l * ldb;
#pragma omp simd
                for (int j = 0; j < n; j++) w[j] += x * y[j], a[j] += fabs(x * y[j]);
            }
        }
        for (int j = 0; j < n; j++) {
            w[j] = gemm_alpha * w[j] + gemm_beta * gc.cd[i * ldc + j];
            a[j] = gemm_alpha * a[j] + fabs(gemm_beta * gc.cd[i * ldc + j]);
        }
        for (int j = n; j < ldc; j++) w[j] = gc.cd[i * ldc + j]; /* past the columns: untouched */
    }
}

/* cblas_sgemm (dbl 0) or cblas_dgemm (dbl 1) of shape g against the
 * reference: dgemm exactly, sgemm within (k + 2) float epsilons of the
 * magnitudes, twice over; the columns past n must be left as they were.
 * 0 and a description in detail at the first element off. corrupt: change
 * one element of the result before the comparison (RNNLAB_TEST_BLAS_CORRUPT). */
static int gemm_agrees(const gemm_shape *g, int dbl, int corrupt, char *detail, size_t dn)
{
    int lda, ldb, ldc, ar, br;
    gemm_dims(g, &lda, &ldb, &ldc, &ar, &br);
    const int m = g->m, n = g->n, k = g->k;
    const CBLAS_TRANSPOSE ta = g->ta ? CblasTrans : CblasNoTrans, tb = g->tb ? CblasTrans : CblasNoTrans;
    double *cd = gc.cd;
    float *cf = gc.cf;
    if (dbl) {
        for (int i = 0; i < m * ldc; i++) cd[i] = value((unsigned)i, 3);
        cblas_dgemm(CblasRowMajor, ta, tb, m, n, k, gemm_alpha, gc.ad, lda, gc.bd, ldb, gemm_beta, cd, ldc);
    } else {
        for (int i = 0; i < ar * lda; i++) gc.af[i] = (float)gc.ad[i];
        for (int i = 0; i < br * ldb; i++) gc.bf[i] = (float)gc.bd[i];
        for (int i = 0; i < m * ldc; i++) cf[i] = (float)value((unsigned)i, 3);
        cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, (float)gemm_alpha, gc.af, lda, gc.bf, ldb, (float)gemm_beta, cf, ldc);
    }
    int at = (m / 2) * ldc + n / 2;
    if (corrupt) {
        if (dbl) cd[at] = cd[at] * 1.5 + 1;
        else cf[at] = cf[at] * 1.5f + 1;
    }
    for (int i = 0; i < m; i++)
        for (int j = 0; j < ldc; j++) {
            double got = dbl ? cd[i * ldc + j] : cf[i * ldc + j], w = gc.want[i * ldc + j];
            double tol = dbl || j >= n ? 0 : 2.0 * (k + 2) * FLT_EPSILON * gc.mag[i * ldc + j];
            if (!(fabs(got - w) <= tol)) {
                if (j >= n)
                    snprintf(detail, dn, "%s %dx%dx%d: wrote C[%d,%d], past its %d columns", dbl ? "dgemm" : "sgemm", m, n,
                             k, i, j, n);
                else
                    snprintf(detail, dn, "%s %dx%dx%d %c%c: C[%d,%d] = %.9g, want %.9g", dbl ? "dgemm" : "sgemm", m, n, k,
                             g->ta ? 'T' : 'N', g->tb ? 'T' : 'N', i, j, got, w);
                return 0;
            }
        }
    return 1;
}

/* Whether the running kernel computes every shape right, in both precisions;
 * the first disagreement goes to detail. */
static int kernel_agrees(const char *kernel, char *detail, size_t n)
{
    const char *corrupt = getenv("RNNLAB_TEST_BLAS_CORRUPT");
    int bad = kernel && listed(corrupt, kernel);
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        gemm_reference(&shapes[i]);
        for (int dbl = 0; dbl < 2; dbl++)
            if (!gemm_agrees(&shapes[i], dbl, bad && dbl == 0 && i == 4, detail, n)) return 0;
    }
    return 1;
}

static void add_failed(rl_sysinfo *si, const char *kernel)
{
    size_t used = strlen(si->kernel_failed);
    snprintf(si->kernel_failed + used, sizeof si->kernel_failed - used, "%s%s", used ? "," : "", kernel);
}

/* Check the running kernel; while it fails, switch (when can_switch) to the
 * next safer kernel: the switch targets of a lower vector class this CPU
 * and this OpenBLAS have, then Prescott (SSE3). */
static void verify(rl_sysinfo *si, int can_switch, int nthreads)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    char now[32], detail[160];
    if (get_corename) corename(now, sizeof now);
    else copy(now, sizeof now, si->blas_name);
    si->kernel_check = RL_KCHECK_PASSED;
    while (!kernel_agrees(now, detail, sizeof detail)) {
        if (!si->kernel_detail[0]) copy(si->kernel_detail, sizeof si->kernel_detail, detail);
        add_failed(si, now);
        const char *next = NULL;
        int cls = replace_class(now);
        for (size_t i = 0; can_switch && !next && i < sizeof targets / sizeof targets[0]; i++)
            if ((si->cpu_features & targets[i].needs) == targets[i].needs && kernel_class(targets[i].name) < cls &&
                has_kernel(targets[i].name))
                next = targets[i].name;
        if (can_switch && !next && cls > 0) next = "Prescott";
        if (!next) {
            si->kernel_check = RL_KCHECK_FAILED;
            if (!can_switch)
                snprintf(si->warning, sizeof si->warning,
                         "the BLAS computes wrong results on this CPU (%.100s) and rnnlab cannot switch its kernel%s: do "
                         "not trust this process's numbers",
                         si->kernel_detail, nthreads > 1 ? " in a process with other threads" : "");
            else
                snprintf(si->warning, sizeof si->warning,
                         "every OpenBLAS kernel rnnlab tried computes wrong results on this CPU (%.60s; first: %.100s): do "
                         "not trust this process's numbers",
                         si->kernel_failed, si->kernel_detail);
            break;
        }
        switch_to(next);
        corename(now, sizeof now);
        si->kernel_check = RL_KCHECK_FELL_BACK;
    }
    if (si->kernel_check == RL_KCHECK_FELL_BACK)
        snprintf(si->warning, sizeof si->warning,
                 "OpenBLAS's %s %.60s computed wrong results on this CPU (first: %.100s): rnnlab fell back to its %.31s "
                 "kernel",
                 strchr(si->kernel_failed, ',') ? "kernels" : "kernel", si->kernel_failed, si->kernel_detail, now);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    si->check_ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-6;
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



/* rl_sysinfo's fields in its JSON, in order: the key, the field and its
 * kind: s a string, i an int, d a double; a blas_action's name, w whether
 * it is RL_BLAS_SWITCHED, k kernel_check's name */
typedef struct {
    const char *key;
    size_t at;
    char kind;
} info_key;
#define KEY(key, field, kind) {key, offsetof(rl_sysinfo, field), kind}
static const info_key blas_keys[] = {
    KEY("library", blas_name, 's'), KEY("version", blas_version, 's'), KEY("config", blas_config, 's'),
    KEY("path", blas_path, 's'), KEY("kernel_before", kernel_before, 's'), KEY("kernel_after", kernel_after, 's'),
    KEY("kernel_best", kernel_target, 's'), KEY("action", blas_action, 'a'), KEY("switched", blas_action, 'w'),
    KEY("openblas_coretype", coretype_env, 's'), KEY("threads", blas_threads, 'i'), KEY("kernel_check", kernel_check, 'k'),
    KEY("kernel_failed", kernel_failed, 's'), KEY("kernel_check_detail", kernel_detail, 's'),
    KEY("kernel_check_ms", check_ms, 'd'), KEY("warning", warning, 's')};
/* the CPU's: before its features, and after */
static const info_key cpu_keys[] = {KEY("vendor", cpu_vendor, 's'), KEY("model_name", cpu_model_name, 's'),
                                    KEY("arch", cpu_arch, 's'),     KEY("family", cpu_family, 'i'),
                                    KEY("model", cpu_model, 'i'),   KEY("stepping", cpu_stepping, 'i')};
static const info_key cores_keys[] = {KEY("cores_online", cores_online, 'i'), KEY("cores_allowed", cores_allowed, 'i')};
static const info_key top_keys[] = {KEY("threads", threads, 'i'), KEY("step_kernel", step_kernel, 's')};
#undef KEY

static void add_keys(cJSON *o, const rl_sysinfo *si, const info_key *k, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const char *p = (const char *)si + k[i].at;
        switch (k[i].kind) {
        case 's': cJSON_AddStringToObject(o, k[i].key, p); break;
        case 'i': cJSON_AddNumberToObject(o, k[i].key, *(const int *)(const void *)p); break;
        case 'd': cJSON_AddNumberToObject(o, k[i].key, *(const double *)(const void *)p); break;
        case 'a': cJSON_AddStringToObject(o, k[i].key, rl_blas_action_name(si->blas_action)); break;
        case 'w': cJSON_AddBoolToObject(o, k[i].key, si->blas_action == RL_BLAS_SWITCHED); break;
        default: cJSON_AddStringToObject(o, k[i].key, rl_kernel_check_name(si->kernel_check)); break;
        }
    }
}
#define ADD_KEYS(o, si, keys) add_keys(o, si, keys, sizeof keys / sizeof keys[0])

char *rl_system_info_json(void)
{
    rl_sysinfo si = rl_system_info();
    cJSON *j = cJSON_CreateObject();
    if (!j) return NULL;
    cJSON_AddStringToObject(j, "version", rl_version());
    cJSON *b = cJSON_AddObjectToObject(j, "blas"), *c = cJSON_AddObjectToObject(j, "cpu");
    ADD_KEYS(b, &si, blas_keys);
    ADD_KEYS(c, &si, cpu_keys);
    cJSON *f = cJSON_AddObjectToObject(c, "features");
    for (int i = 0; i < RL_CPU_FEATURE_COUNT; i++)
        cJSON_AddBoolToObject(f, rl_cpu_feature_name((rl_cpu_feature)(1 << i)), (si.cpu_features >> i) & 1);
    ADD_KEYS(c, &si, cores_keys);
    ADD_KEYS(j, &si, top_keys);
    char *txt = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return txt;
}
