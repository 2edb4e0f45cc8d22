/* The BLAS kernel check (src/blas.c): the choice of kernel from cpuid's
 * features as a pure function, what rnnlab info reports, a user's weak
 * OPENBLAS_CORETYPE (kept, with one warning line), and a switch from a weak
 * kernel (simulated with RNNLAB_TEST_BLAS_START) that gives the same float64
 * gradients as the run without it. */
#include "base/blas.h"
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
    CHECK((si.warning[0] != 0) == (si.blas_action == RL_BLAS_FAILED || si.kernel_check != RL_KCHECK_PASSED) ||
          si.blas_action == RL_BLAS_USER);
    CHECK(si.check_ms > 0);
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
 * info says so (in its table and its JSON), and nothing else does but bench
 * and train's start: --help, --version, usage errors and quick commands
 * print no BLAS line. */
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
    CHECK(same(jstr(j, "blas", "kernel_check"), "passed"));
    CHECK(strstr(jstr(j, "blas", "config"), "Prescott") != NULL);
    int weaker = rl_blas_choose("Prescott", cv.features) != NULL;
    CHECK_MSG(lines == 0, "info --json with OPENBLAS_CORETYPE=Prescott: %d lines on stderr (%s)", lines, err);
    if (weaker) {
        CHECK(strncmp(jstr(j, "blas", "warning"), "OPENBLAS_CORETYPE=Prescott", 26) == 0);
        CHECK(strstr(jstr(j, "blas", "warning"), cv.best) != NULL);
    }
    cJSON_Delete(j);
    /* the table shows the warning on stdout */
    char *old = env_set("OPENBLAS_CORETYPE", "Prescott");
    static char out[4096];
    const char *info[] = {"rnnlab", "info", NULL};
    CHECK(run_cli(info, NULL, out, sizeof out, err, sizeof err) == 0 && run_cli_err_lines() == 0);
    char *whole = (char *)read_file(tmp_path("cli.stdout"), &(size_t){0});
    if (weaker) CHECK_MSG(whole && strstr(whole, "warning          OPENBLAS_CORETYPE=Prescott"), "rnnlab info: %s", whole);
    free(whole);
    /* under every setting of the variable, the quick paths print nothing about BLAS */
    static const char *const settings[] = {NULL, "Haswell", "Prescott"};
    for (size_t k = 0; k < sizeof settings / sizeof settings[0]; k++) {
        char *prev = env_set("OPENBLAS_CORETYPE", settings[k]);
        static const struct {
            const char *argv[8];
            int status, lines;
        } quick[] = {
            {{"rnnlab", "--help", NULL}, 0, 0},
            {{"rnnlab", "--version", NULL}, 0, 0},
            {{"rnnlab", "train", "--help", NULL}, 0, 0},
            {{"rnnlab", "init", "--cell", "tanh", NULL}, 2, 1},
            {{"rnnlab", "nosuch", NULL}, 2, 1},
            {{"rnnlab", "gradcheck", "--cell", "tanh", "--steps", "3", NULL}, 0, 0},
        };
        for (size_t i = 0; i < sizeof quick / sizeof quick[0]; i++) {
            int st = run_cli(quick[i].argv, NULL, NULL, 0, err, sizeof err);
            CHECK_MSG(st == quick[i].status && run_cli_err_lines() == quick[i].lines,
                      "OPENBLAS_CORETYPE=%s rnnlab %s: exit %d, %d lines on stderr (%s)", settings[k] ? settings[k] : "(unset)",
                      quick[i].argv[1], st, run_cli_err_lines(), err);
            CHECK_MSG(!strstr(err, "BLAS") && !strstr(err, "OPENBLAS"), "rnnlab %s: %s", quick[i].argv[1], err);
        }
        env_restore("OPENBLAS_CORETYPE", prev);
    }
    /* bench and train's start say it once */
    const char *bench[] = {"rnnlab", "bench", "--cell", "tanh", "--hidden", "8", "--batch", "2", "--seq", "4",
                           "--seconds", "0.01", "--no-sgemm", NULL};
    CHECK(run_cli(bench, NULL, NULL, 0, err, sizeof err) == 0);
    if (weaker) CHECK_MSG(run_cli_err_lines() == 1 && strstr(err, "rnnlab bench: warning: OPENBLAS_CORETYPE=Prescott"),
                          "bench: %s", err);
    const char *train[] = {"rnnlab", "train", "--task", "adding", "--seq-len", "5", "--cell", "tanh", "--hidden", "4",
                           "--steps", "2", "--out", tmp_path("blas-run"), "--quiet", NULL};
    CHECK(run_cli(train, NULL, NULL, 0, err, sizeof err) == 0);
    whole = (char *)read_file(tmp_path("cli.stderr"), &(size_t){0});
    int said = 0;
    for (const char *p = whole; p && (p = strstr(p, "warning: OPENBLAS_CORETYPE")); p++) said++;
    CHECK_MSG(said == weaker, "train said the warning %d times: %s", said, whole ? whole : "");
    free(whole);
    env_restore("OPENBLAS_CORETYPE", old);
}

static double *read_grads(const char *path, const rl_model *m, size_t *n);

/* bench --task smnist: sequential MNIST's shape (784 steps by default, one
 * input, 10 classes), its FLOP count from the model's matrices (an LSTM:
 * 2 (4H + 4H^2 + 10H) a token forward, 3 times that a training step) and
 * the epoch of 60,000 sequences; charlm's count leaves out the one-hot
 * input side. */
TEST(bench_smnist_workload)
{
    char out[4096];
    const char *argv[] = {"rnnlab", "bench", "--task", "smnist", "--cell", "lstm", "--hidden", "8", "--batch", "2",
                          "--seconds", "0.01", "--no-sgemm", "--json", NULL};
    CHECK(run_cli(argv, NULL, out, sizeof out, NULL, 0) == 0);
    cJSON *j = cJSON_Parse(out);
    CHECK(j != NULL);
    const double H = 8, fwd = 2 * (4 * H + 4 * H * H + 10 * H) * 784 * 2;
    CHECK(strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(j, "task")), "smnist") == 0);
    CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(j, "seq")) == 784);
    CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(j, "classes")) == 10);
    CHECK_MSG(fabs(cJSON_GetNumberValue(cJSON_GetObjectItem(j, "train_flop_per_step")) - 3 * fwd) < 1,
              "flops %g, want %g", cJSON_GetNumberValue(cJSON_GetObjectItem(j, "train_flop_per_step")), 3 * fwd);
    const double step = cJSON_GetNumberValue(cJSON_GetObjectItem(j, "train_step_s")),
                 epoch = cJSON_GetNumberValue(cJSON_GetObjectItem(j, "epoch_s"));
    CHECK_MSG(step > 0 && fabs(epoch - 30000 * step) < 1e-9 * epoch, "epoch %g s, step %g s", epoch, step);
    cJSON_Delete(j);
    const char *lm[] = {"rnnlab", "bench", "--cell", "tanh", "--hidden", "8", "--batch", "2", "--seq", "4",
                        "--seconds", "0.01", "--no-sgemm", "--json", NULL};
    CHECK(run_cli(lm, NULL, out, sizeof out, NULL, 0) == 0);
    j = cJSON_Parse(out);
    CHECK(j != NULL);
    CHECK_MSG(fabs(cJSON_GetNumberValue(cJSON_GetObjectItem(j, "train_flop_per_step")) - 3 * 2 * (H * H + 65 * H) * 8) < 1,
              "charlm flops %g", cJSON_GetNumberValue(cJSON_GetObjectItem(j, "train_flop_per_step")));
    CHECK(!cJSON_GetObjectItem(j, "epoch_s"));
    cJSON_Delete(j);
}

/* The kernel check: the running kernel computes sgemm and dgemm right (here,
 * where nothing is wrong); a kernel that does not (simulated: the test hook
 * changes one element of its result) is replaced by the next safer one the
 * CPU and OpenBLAS have, in one warning, and the gradients stay right;
 * when every kernel fails, the warning says not to trust the numbers. */
TEST(blas_kernel_check_falls_back)
{
    child_view cv;
    char err[512];
    int lines;
    if (child_info(&cv)) return;
    cJSON *j = info_json(NULL, NULL, &lines, err, sizeof err);
    if (!j) return;
    const char *was = jstr(j, "blas", "kernel_after");
    char first[32];
    snprintf(first, sizeof first, "%s", was);
    CHECK(same(jstr(j, "blas", "kernel_check"), "passed") && same(jstr(j, "blas", "kernel_failed"), ""));
    const cJSON *ms = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "blas"), "kernel_check_ms");
    CHECK(cJSON_IsNumber(ms) && ms->valuedouble > 0);
    cJSON_Delete(j);
    if (same(cv.action, "other") || same(cv.action, "fixed")) {
        printf("     (no kernel to fall back to here: check %s)\n", cv.action);
        return;
    }
    /* the running kernel made wrong: the next safer one, said once in the JSON's warning */
    char *a = env_set("RNNLAB_TEST_BLAS_CORRUPT", first);
    j = info_json(NULL, NULL, &lines, err, sizeof err);
    env_restore("RNNLAB_TEST_BLAS_CORRUPT", a);
    if (!j) return;
    const char *now = jstr(j, "blas", "kernel_after");
    CHECK_MSG(same(jstr(j, "blas", "kernel_check"), "fell back"), "check: %s", jstr(j, "blas", "kernel_check"));
    CHECK(same(jstr(j, "blas", "kernel_failed"), first));
    CHECK_MSG(!same(now, first) && now[0], "still on %s", now);
    /* safer: a lower vector class, which the CPU runs */
    CHECK_MSG(rl_blas_choose(now, cv.features) != NULL || same(now, "Prescott"), "%s after %s", now, first);
    CHECK(strstr(jstr(j, "blas", "kernel_check_detail"), "sgemm 67x45x129 NN: C[33,22]") != NULL);
    CHECK_MSG(strstr(jstr(j, "blas", "warning"), "computed wrong results") && strstr(jstr(j, "blas", "warning"), now),
              "warning: %s", jstr(j, "blas", "warning"));
    CHECK(lines == 0);
    char second[32];
    snprintf(second, sizeof second, "%s", now);
    cJSON_Delete(j);
    /* the fall-back's numbers: float64 gradients as without it */
    const char *m = tmp_path("kc.model.st"), *d = tmp_path("kc.data.st");
    const char *init[] = {"rnnlab", "init", "--cell", "gru", "--input", "6", "--hidden", "40", "--output", "3",
                          "--seed", "5", "--out", m, NULL};
    const char *data[] = {"rnnlab", "data", "--model", m, "--steps", "20", "--batch", "4", "--seed", "6", "--out", d, NULL};
    CHECK(run_cli(init, NULL, NULL, 0, NULL, 0) == 0 && run_cli(data, NULL, NULL, 0, NULL, 0) == 0);
    const char *g0 = tmp_path("kc.g0.st"), *g1 = tmp_path("kc.g1.st");
    const char *grad0[] = {"rnnlab", "grad", "--model", m, "--data", d, "--out", g0, "--precision", "f64", NULL};
    const char *grad1[] = {"rnnlab", "grad", "--model", m, "--data", d, "--out", g1, "--precision", "f64", NULL};
    CHECK(run_cli(grad0, NULL, NULL, 0, NULL, 0) == 0);
    a = env_set("RNNLAB_TEST_BLAS_CORRUPT", first);
    CHECK(run_cli(grad1, NULL, NULL, 0, err, sizeof err) == 0);
    env_restore("RNNLAB_TEST_BLAS_CORRUPT", a);
    rl_model *model = NULL;
    CHECK_OK(rl_model_load(&model, m, RL_F64));
    size_t n0 = 0, n1 = 0;
    double *r0 = model ? read_grads(g0, model, &n0) : NULL, *r1 = model ? read_grads(g1, model, &n1) : NULL;
    double scale = 0;
    for (size_t i = 0; r0 && i < n0; i++) scale = fmax(scale, fabs(r0[i]));
    if (r0 && r1 && n0 == n1) CHECK_CLOSE("after the fall-back", r1, RL_F64, r0, n0, 1e-12, 1e-12 * scale);
    free(r0), free(r1);
    rl_model_free(model);
    /* two kernels wrong: the one after the second */
    char both[80];
    snprintf(both, sizeof both, "%s,%s", first, second);
    a = env_set("RNNLAB_TEST_BLAS_CORRUPT", both);
    j = info_json(NULL, NULL, &lines, err, sizeof err);
    env_restore("RNNLAB_TEST_BLAS_CORRUPT", a);
    if (j) {
        CHECK(same(jstr(j, "blas", "kernel_failed"), both));
        if (!same(second, "Prescott")) {
            CHECK(same(jstr(j, "blas", "kernel_check"), "fell back"));
            CHECK(!same(jstr(j, "blas", "kernel_after"), first) && !same(jstr(j, "blas", "kernel_after"), second));
        }
        cJSON_Delete(j);
    }
    /* every kernel wrong: failed, and the warning says not to trust the numbers */
    a = env_set("RNNLAB_TEST_BLAS_CORRUPT", "all");
    j = info_json(NULL, NULL, &lines, err, sizeof err);
    env_restore("RNNLAB_TEST_BLAS_CORRUPT", a);
    if (j) {
        CHECK(same(jstr(j, "blas", "kernel_check"), "failed"));
        CHECK(same(jstr(j, "blas", "kernel_after"), "Prescott"));
        CHECK(strstr(jstr(j, "blas", "warning"), "do not trust") != NULL);
        cJSON_Delete(j);
    }
    /* a user's kernel is checked too */
    a = env_set("RNNLAB_TEST_BLAS_CORRUPT", "Prescott");
    j = info_json("Prescott", NULL, &lines, err, sizeof err);
    env_restore("RNNLAB_TEST_BLAS_CORRUPT", a);
    if (j) {
        CHECK(same(jstr(j, "blas", "kernel_check"), "failed") && same(jstr(j, "blas", "kernel_failed"), "Prescott"));
        CHECK(same(jstr(j, "blas", "openblas_coretype"), "Prescott"));
        cJSON_Delete(j);
    }
}

/* The CPU as info names it: the microarchitecture comes from the vendor,
 * family and model for the reader (family 26 is AMD's Zen 5), the kernel
 * from the features alone (tested above). */
TEST(blas_cpu_named)
{
    rl_sysinfo si = rl_system_info();
    if (strcmp(si.cpu_vendor, "AuthenticAMD") == 0 && si.cpu_family == 26) CHECK(same(si.cpu_arch, "Zen 5"));
    if (strcmp(si.cpu_vendor, "GenuineIntel") == 0 && si.cpu_family == 6 && si.cpu_model == 207)
        CHECK(same(si.cpu_arch, "Emerald Rapids"));
    CHECK(same(rl_kernel_check_name(RL_KCHECK_PASSED), "passed"));
    CHECK(same(rl_kernel_check_name(RL_KCHECK_FELL_BACK), "fell back"));
    CHECK(rl_kernel_check_name(RL_KCHECK_COUNT) == NULL);
    char *txt = rl_system_info_json();
    cJSON *j = txt ? cJSON_Parse(txt) : NULL;
    CHECK(j != NULL);
    CHECK(same(jstr(j, "cpu", "arch"), si.cpu_arch));
    CHECK(same(jstr(j, "blas", "kernel_check"), rl_kernel_check_name(si.kernel_check)));
    cJSON_Delete(j);
    rl_free(txt);
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
        {{"rnnlab", "bench", "--task", "smnist", "--jacobian", NULL}, 2, "--task is for the training workloads"},
        {{"rnnlab", "bench", "--task", "mnist", NULL}, 2, "--task must be charlm or smnist"},
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
