/* The BLAS kernel check (src/blas.c): the choice of kernel from cpuid's
 * features as a pure function, what rnnlab info reports, a user's weak
 * OPENBLAS_CORETYPE (kept, with one warning line), and a switch from a weak
 * kernel (simulated with RNNLAB_TEST_BLAS_START) that gives the same float64
 * gradients as the run without it. */
#include "blas.h"
#include "test.h"

#include <cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SSE 0u
#define AVX (unsigned)RL_CPU_AVX
#define AVX2 (AVX | RL_CPU_AVX2 | RL_CPU_FMA)
#define AVX512 (AVX2 | RL_CPU_AVX512F | RL_CPU_AVX512BW | RL_CPU_AVX512DQ | RL_CPU_AVX512VL)

static int same(const char *a, const char *b) { return (!a && !b) || (a && b && strcmp(a, b) == 0); }

TEST(blas_kernel_from_features)
{
    static const struct {
        const char *current;
        unsigned features;
        const char *want;
    } cases[] = {
        /* nothing beyond SSE: nothing to switch to */
        {"Prescott", SSE, NULL},
        {"Prescott", RL_CPU_AVX2 | RL_CPU_FMA, NULL}, /* AVX2 without AVX (the OS does not save ymm) */
        /* AVX only: Sandybridge */
        {"Prescott", AVX, "Sandybridge"},
        {"Nehalem", AVX | RL_CPU_AVX2, "Sandybridge"}, /* AVX2 without FMA */
        {"Sandybridge", AVX, NULL},
        /* AVX2 and FMA: Haswell */
        {"Prescott", AVX2, "Haswell"},
        {"Northwood", AVX2, "Haswell"},
        {"Core2", AVX2, "Haswell"},
        {"Sandybridge", AVX2, "Haswell"},
        {"Haswell", AVX2, NULL},
        {"prescott", AVX2, "Haswell"}, /* any case */
        /* the full AVX-512 set: SkylakeX */
        {"Prescott", AVX512, "SkylakeX"},
        {"Sandybridge", AVX512, "SkylakeX"},
        {"Haswell", AVX512, "SkylakeX"},
        {"Prescott", AVX512 | RL_CPU_AVX512BF16 | RL_CPU_AMX, "SkylakeX"},
        /* part of it (Knights Landing has F but not BW, DQ, VL): Haswell */
        {"Prescott", AVX2 | RL_CPU_AVX512F, "Haswell"},
        {"Prescott", AVX2 | RL_CPU_AVX512F | RL_CPU_AVX512BW | RL_CPU_AVX512DQ, "Haswell"},
        {"Prescott", AVX512 & ~(unsigned)RL_CPU_FMA, "Sandybridge"},
        {"Haswell", AVX2 | RL_CPU_AVX512F, NULL},
        /* never a downgrade, never an AMD-tuned or unknown kernel */
        {"SkylakeX", AVX512, NULL},
        {"Cooperlake", AVX512, NULL},
        {"SapphireRapids", AVX512, NULL},
        {"SkylakeX", AVX2, NULL},
        {"Cooperlake", AVX2 | RL_CPU_AVX512F, NULL},
        {"Zen", AVX512, NULL},
        {"Zen", AVX2, NULL},
        {"Excavator", AVX2, NULL},
        {"Bulldozer", AVX2, NULL},
        {"Unknown", AVX512, NULL},
        {"NEOVERSEN1", AVX512, NULL},
        {"", AVX512, NULL},
        {NULL, AVX512, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *got = rl_blas_choose(cases[i].current, cases[i].features);
        CHECK_MSG(same(got, cases[i].want), "case %zu: %s with features 0x%x: got %s, want %s", i,
                  cases[i].current ? cases[i].current : "NULL", cases[i].features, got ? got : "NULL",
                  cases[i].want ? cases[i].want : "NULL");
    }
    CHECK(rl_blas_best(SSE) == NULL);
    CHECK(same(rl_blas_best(AVX), "Sandybridge"));
    CHECK(same(rl_blas_best(AVX2), "Haswell"));
    CHECK(same(rl_blas_best(AVX512), "SkylakeX"));
    CHECK(same(rl_blas_best(AVX2 | RL_CPU_AVX512F | RL_CPU_AVX512VL), "Haswell"));
}

TEST(blas_name_tables)
{
    CHECK(same(rl_blas_action_name(RL_BLAS_SWITCHED), "switched"));
    CHECK(same(rl_blas_action_name(RL_BLAS_USER), "user"));
    CHECK(rl_blas_action_name(RL_BLAS_ACTION_COUNT) == NULL);
    CHECK(same(rl_cpu_feature_name(RL_CPU_AVX512VL), "avx512vl"));
    CHECK(same(rl_cpu_feature_name(RL_CPU_AMX), "amx"));
    CHECK(rl_cpu_feature_name((rl_cpu_feature)(RL_CPU_AVX | RL_CPU_AVX2)) == NULL);
    CHECK(rl_cpu_feature_name((rl_cpu_feature)(1 << RL_CPU_FEATURE_COUNT)) == NULL);
    for (int i = 0; i < RL_CPU_FEATURE_COUNT; i++) CHECK(rl_cpu_feature_name((rl_cpu_feature)(1 << i)) != NULL);
}

/* The check as it ran in this test program. */
TEST(blas_system_info)
{
    rl_sysinfo si = rl_system_info();
    CHECK(rl_blas_action_name(si.blas_action) != NULL);
    CHECK(same(si.kernel_target, rl_blas_best(si.cpu_features) ? rl_blas_best(si.cpu_features) : ""));
    CHECK(si.cores_online >= 1 && si.cores_allowed >= 1);
    CHECK(si.threads == rl_get_num_threads());
    if (si.blas_action == RL_BLAS_OTHER) return;
    CHECK(same(si.blas_name, "OpenBLAS") && si.blas_version[0] && si.kernel_before[0] && si.kernel_after[0]);
    CHECK(si.blas_threads >= 1);
    /* what the check leaves running is never of a lower class than the CPU's
     * best unless the user chose it or the switch failed with a warning */
    if (si.blas_action == RL_BLAS_KEPT || si.blas_action == RL_BLAS_SWITCHED)
        CHECK_MSG(rl_blas_choose(si.kernel_after, si.cpu_features) == NULL, "%s left running on a CPU for %s",
                  si.kernel_after, si.kernel_target);
    if (si.blas_action == RL_BLAS_SWITCHED) CHECK(same(si.kernel_after, si.kernel_target));
    CHECK(strstr(si.blas_config, si.kernel_after) != NULL);
    CHECK((si.warning[0] != 0) == (si.blas_action == RL_BLAS_FAILED) || si.blas_action == RL_BLAS_USER);
}

/* Set (or, with NULL, unset) an environment variable for the programs the
 * test starts; returns the old value to hand back to env_restore. */
static char *env_set(const char *name, const char *value)
{
    const char *old = getenv(name);
    char *saved = old ? strdup(old) : NULL;
    if (value) setenv(name, value, 1);
    else unsetenv(name);
    return saved;
}

static void env_restore(const char *name, char *saved)
{
    if (saved) setenv(name, saved, 1);
    else unsetenv(name);
    free(saved);
}

/* rnnlab info --json with OPENBLAS_CORETYPE and RNNLAB_TEST_BLAS_START as
 * given (NULL: unset); the parsed object (NULL on failure), *lines the lines
 * on stderr. */
static cJSON *info_json(const char *coretype, const char *start, int *lines, char *err, size_t errn)
{
    char *a = env_set("OPENBLAS_CORETYPE", coretype), *b = env_set("RNNLAB_TEST_BLAS_START", start);
    static char out[8192];
    const char *argv[] = {"rnnlab", "info", "--json", NULL};
    int st = run_cli(argv, NULL, out, sizeof out, err, errn);
    *lines = run_cli_err_lines();
    env_restore("OPENBLAS_CORETYPE", a);
    env_restore("RNNLAB_TEST_BLAS_START", b);
    CHECK_MSG(st == 0, "rnnlab info --json: exit %d (%s)", st, err);
    return st == 0 ? cJSON_Parse(out) : NULL;
}

static const char *jstr(const cJSON *j, const char *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, obj), key);
    return cJSON_IsString(v) ? v->valuestring : "";
}

/* What the program under test found without either variable: its check's
 * action, best kernel and CPU features (not this process's: under valgrind
 * the two see different CPUs). */
typedef struct {
    char action[16], best[32];
    unsigned features;
} child_view;

static int child_info(child_view *v)
{
    char err[512];
    int lines;
    memset(v, 0, sizeof *v);
    cJSON *j = info_json(NULL, NULL, &lines, err, sizeof err);
    CHECK(j != NULL);
    if (!j) return -1;
    CHECK_MSG(lines == (jstr(j, "blas", "warning")[0] != 0), "%d lines on stderr: %s", lines, err);
    snprintf(v->action, sizeof v->action, "%s", jstr(j, "blas", "action"));
    snprintf(v->best, sizeof v->best, "%s", jstr(j, "blas", "kernel_best"));
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "cpu"), "features");
    for (int i = 0; i < RL_CPU_FEATURE_COUNT; i++)
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f, rl_cpu_feature_name((rl_cpu_feature)(1 << i)))))
            v->features |= 1u << i;
    CHECK(same(v->best, rl_blas_best(v->features) ? rl_blas_best(v->features) : ""));
    cJSON_Delete(j);
    return 0;
}

/* A user's OPENBLAS_CORETYPE is respected; when it is weaker than the CPU,
 * every command prints exactly one warning line. */
TEST(blas_user_coretype_is_kept)
{
    child_view cv;
    char err[512];
    int lines;
    if (child_info(&cv) || same(cv.action, "other") || same(cv.action, "fixed")) return;
    cJSON *j;
    j = info_json("Prescott", NULL, &lines, err, sizeof err);
    CHECK(j != NULL);
    CHECK(same(jstr(j, "blas", "action"), "user"));
    CHECK(same(jstr(j, "blas", "openblas_coretype"), "Prescott"));
    CHECK(same(jstr(j, "blas", "kernel_before"), "Prescott"));
    CHECK(same(jstr(j, "blas", "kernel_after"), "Prescott"));
    CHECK(strstr(jstr(j, "blas", "config"), "Prescott") != NULL);
    int weaker = rl_blas_choose("Prescott", cv.features) != NULL;
    CHECK_MSG(lines == weaker, "OPENBLAS_CORETYPE=Prescott: %d lines on stderr, want %d", lines, weaker);
    if (weaker) {
        CHECK(strncmp(err, "rnnlab: warning: OPENBLAS_CORETYPE=Prescott", 43) == 0);
        CHECK(strstr(err, cv.best) != NULL);
        CHECK(same(jstr(j, "blas", "warning"), err + strlen("rnnlab: warning: ")));
    }
    cJSON_Delete(j);
    /* the warning comes with every command, once */
    char *old = env_set("OPENBLAS_CORETYPE", "Prescott");
    const char *argv[] = {"rnnlab", "init", "--cell", "tanh", NULL};
    CHECK(run_cli(argv, NULL, NULL, 0, err, sizeof err) == 2);
    env_restore("OPENBLAS_CORETYPE", old);
    CHECK_MSG(run_cli_err_lines() == 1 + weaker, "rnnlab init with OPENBLAS_CORETYPE=Prescott: %d lines on stderr",
              run_cli_err_lines());
}

/* loss and every gradient of a grad file, in the model's tensor order */
static double *read_grads(const char *path, const rl_model *m, size_t *n)
{
    rl_st *f = NULL;
    CHECK_OK(rl_st_open(&f, path));
    if (!f) return NULL;
    size_t total = 1;
    for (int i = 0; i < rl_model_num_tensors(m); i++) total += rl_model_tensor(m, i)->numel;
    double *g = malloc(total * sizeof *g);
    size_t k = 1;
    CHECK(g != NULL);
    if (g) CHECK_OK(rl_st_read_f64(f, "loss", g, 1));
    for (int i = 0; g && i < rl_model_num_tensors(m); i++) {
        const rl_tensor_info *ti = rl_model_tensor(m, i);
        char name[80];
        snprintf(name, sizeof name, "grad.%s", ti->name);
        CHECK_OK(rl_st_read_f64(f, name, g + k, ti->numel));
        k += ti->numel;
    }
    rl_st_close(f);
    *n = total;
    return g;
}

/* rnnlab grad --precision f64 into out, with the two variables as given */
static int grad_run(const char *model, const char *data, const char *out, const char *coretype, const char *start)
{
    char *a = env_set("OPENBLAS_CORETYPE", coretype), *b = env_set("RNNLAB_TEST_BLAS_START", start);
    const char *argv[] = {"rnnlab", "grad", "--model", model, "--data", data, "--out", out, "--precision", "f64", NULL};
    char err[512];
    int st = run_cli(argv, NULL, NULL, 0, err, sizeof err);
    env_restore("OPENBLAS_CORETYPE", a);
    env_restore("RNNLAB_TEST_BLAS_START", b);
    CHECK_MSG(st == 0, "rnnlab grad: exit %d (%s)", st, err);
    return st;
}

/* A weak kernel, as if OpenBLAS had chosen Prescott, is switched to the best
 * one the CPU runs; the float64 gradients (LSTM, 2 layers, H = 96: the GEMMs
 * go through OpenBLAS) agree with those of the unswitched run and of the
 * Prescott kernel to 1e-12. */
TEST(blas_switch_from_a_weak_kernel)
{
    child_view cv;
    char err[512];
    int lines;
    if (child_info(&cv)) return;
    int can_switch = (same(cv.action, "kept") || same(cv.action, "switched")) && rl_blas_choose("Prescott", cv.features);
    if (can_switch) {
        cJSON *j = info_json(NULL, "Prescott", &lines, err, sizeof err);
        CHECK(j != NULL);
        CHECK(same(jstr(j, "blas", "kernel_before"), "Prescott"));
        CHECK_MSG(same(jstr(j, "blas", "kernel_after"), cv.best), "after the switch: %s, want %s",
                  jstr(j, "blas", "kernel_after"), cv.best);
        CHECK(same(jstr(j, "blas", "action"), "switched"));
        CHECK(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "blas"), "switched")));
        CHECK(same(jstr(j, "blas", "openblas_coretype"), "")); /* the variable is not left set */
        CHECK_MSG(lines == 0, "%d lines on stderr: %s", lines, err);
        cJSON_Delete(j);
    } else {
        printf("     (no switch to test here: check %s, best kernel '%s')\n", cv.action, cv.best);
    }
    const char *m = tmp_path("blas.model.st"), *d = tmp_path("blas.data.st");
    const char *init[] = {"rnnlab", "init", "--cell", "lstm", "--input", "8", "--hidden", "96", "--output", "5",
                          "--layers", "2", "--seed", "3", "--out", m, NULL};
    const char *data[] = {"rnnlab", "data", "--model", m, "--steps", "40", "--batch", "8", "--h0", "random",
                          "--seed", "4", "--out", d, NULL};
    CHECK(run_cli(init, NULL, NULL, 0, NULL, 0) == 0);
    CHECK(run_cli(data, NULL, NULL, 0, NULL, 0) == 0);
    const char *out[3] = {tmp_path("blas.g0.st"), tmp_path("blas.g1.st"), tmp_path("blas.g2.st")};
    if (grad_run(m, d, out[0], NULL, NULL) || grad_run(m, d, out[1], NULL, "Prescott") ||
        grad_run(m, d, out[2], "Prescott", NULL))
        return;
    rl_model *model = NULL;
    CHECK_OK(rl_model_load(&model, m, RL_F64));
    if (!model) return;
    size_t n0 = 0, n = 0;
    double *ref = read_grads(out[0], model, &n0);
    double scale = 0;
    for (size_t i = 0; ref && i < n0; i++) scale = fmax(scale, fabs(ref[i]));
    CHECK(scale > 0);
    static const char *const what[3] = {"", "switched from Prescott", "OPENBLAS_CORETYPE=Prescott"};
    for (int k = 1; ref && k < 3; k++) {
        double *g = read_grads(out[k], model, &n);
        if (g && n == n0) CHECK_CLOSE(what[k], g, RL_F64, ref, n, 1e-12, 1e-12 * scale);
        free(g);
    }
    free(ref);
    rl_model_free(model);
}

/* rnnlab info and the new bench options take their arguments strictly. */
TEST(blas_info_arguments)
{
    static const struct {
        const char *argv[8];
        int status;
        const char *frag;
    } cases[] = {
        {{"rnnlab", "info", "--help", NULL}, 0, "usage: rnnlab info"},
        {{"rnnlab", "info", "--verbose", NULL}, 2, "unknown option '--verbose'"},
        {{"rnnlab", "info", "--json", "--json", NULL}, 2, "given twice"},
        {{"rnnlab", "info", "stray", NULL}, 2, "unexpected argument 'stray'"},
        {{"rnnlab", "info", NULL}, 0, "BLAS "},
        {{"rnnlab", "bench", "--sgemm", "--jacobian", NULL}, 2, "separate benchmarks"},
        {{"rnnlab", "bench", "--sgemm", "--no-sgemm", NULL}, 2, "exclude each other"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char o[512], e[512];
        int st = run_cli(cases[i].argv, NULL, o, sizeof o, e, sizeof e);
        const char *where = cases[i].status ? e : o;
        CHECK_MSG(st == cases[i].status, "case %zu: exit %d, want %d (%s)", i, st, cases[i].status, e);
        CHECK_MSG(strstr(where, cases[i].frag) != NULL, "case %zu: '%s' lacks '%s'", i, where, cases[i].frag);
        if (cases[i].status) CHECK_MSG(run_cli_err_lines() == 1, "case %zu: %d lines on stderr", i, run_cli_err_lines());
    }
}
