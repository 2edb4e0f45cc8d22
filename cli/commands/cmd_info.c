/* rnnlab info: the BLAS library and the kernel it runs (before and after
 * rnnlab's check), the CPU and its vector features, cores and threads. */
#include "cli.h"

#include <cJSON.h>
#include <stdio.h>
#include <string.h>

static const char usage[] =
    "usage: rnnlab info [--json]\n"
    "\n"
    "What rnnlab runs on: the BLAS library (name, version, build configuration,\n"
    "file), the OpenBLAS kernel before and after rnnlab's check when it loaded\n"
    "and what the check did (kept, switched, user: OPENBLAS_CORETYPE is set;\n"
    "failed; fixed: OpenBLAS built for one CPU; other: not OpenBLAS), the best\n"
    "kernel for this CPU, the CPU's model and vector features, the cores online\n"
    "and in this process's affinity mask, and the threads rnnlab uses.\n"
    "\n";

const cli_command cli_info_command = {"info", usage, NULL, NULL, 0, NULL};

cJSON *cli_system_json(void)
{
    char *txt = rl_system_info_json();
    cJSON *j = txt ? cJSON_Parse(txt) : NULL;
    rl_free(txt);
    return j ? j : cJSON_CreateObject();
}

void cli_blas_warning(const cli_ctx *c)
{
    rl_sysinfo si = rl_system_info();
    if (si.warning[0]) fprintf(stderr, "rnnlab %s: warning: %s\n", c->cmd, si.warning);
}

static void print_table(const rl_sysinfo *si)
{
    char feats[160] = "";
    for (int i = 0; i < RL_CPU_FEATURE_COUNT; i++)
        if ((si->cpu_features >> i) & 1) {
            if (feats[0]) strncat(feats, " ", sizeof feats - strlen(feats) - 1);
            strncat(feats, rl_cpu_feature_name((rl_cpu_feature)(1 << i)), sizeof feats - strlen(feats) - 1);
        }
    printf("%-16s %s%s%s\n", "BLAS", si->blas_name, si->blas_version[0] ? " " : "", si->blas_version);
    if (si->blas_path[0]) printf("%-16s %s\n", "file", si->blas_path);
    if (si->blas_config[0]) printf("%-16s %s\n", "configuration", si->blas_config);
    if (si->blas_action != RL_BLAS_OTHER) {
        printf("%-16s %s", "kernel", si->kernel_after);
        if (strcmp(si->kernel_before, si->kernel_after) != 0) printf(" (was %s)", si->kernel_before);
        printf("; check: %s", rl_blas_action_name(si->blas_action));
        if (si->coretype_env[0]) printf(" (OPENBLAS_CORETYPE=%s)", si->coretype_env);
        printf("\n%-16s %s\n", "best for CPU", si->kernel_target[0] ? si->kernel_target : "(nothing beyond SSE)");
        printf("%-16s %d\n", "BLAS threads", si->blas_threads);
    }
    printf("%-16s %s", "kernel check", rl_kernel_check_name(si->kernel_check));
    if (si->kernel_failed[0]) printf(" (failed: %s; first: %s)", si->kernel_failed, si->kernel_detail);
    printf(", sgemm and dgemm against plain loops in %.2f ms\n", si->check_ms);
    if (si->warning[0]) printf("%-16s %s\n", "warning", si->warning);
    printf("%-16s %s", "CPU", si->cpu_model_name[0] ? si->cpu_model_name : "(unknown)");
    if (si->cpu_arch[0]) printf(", %s", si->cpu_arch);
    if (si->cpu_family >= 0) printf(" (%s family %d model %d stepping %d)", si->cpu_vendor, si->cpu_family, si->cpu_model,
                                    si->cpu_stepping);
    printf("\n%-16s %s\n", "features", feats[0] ? feats : "(none of those rnnlab checks)");
    printf("%-16s %d online, %d in this process's affinity mask\n", "cores", si->cores_online, si->cores_allowed);
    printf("%-16s %d\n", "rnnlab threads", si->threads);
    printf("%-16s %s\n", "step kernel", si->step_kernel);
    printf("%-16s %s\n", "rnnlab", rl_version());
}

int cmd_info(cli_ctx *c, cli_args *a, int noperands, char **operand)
{
    if (!a->json) {
        rl_sysinfo si = rl_system_info();
        print_table(&si);
        return 0;
    }
    cJSON *j = cli_system_json();
    char *txt = cJSON_PrintUnformatted(j);
    if (txt) puts(txt);
    cJSON_free(txt);
    cJSON_Delete(j);
    return 0;
}
