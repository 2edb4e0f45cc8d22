/* The rough edges a new user met (issue 13, items 1-13), each as the user
 * met it: the command as typed, then what it must say and leave behind. */
#include "test.h"

#include <cJSON.h>
#include <stdlib.h>
#include <string.h>

#define M fixture("tanh_l1_ce.model.safetensors")
#define D fixture("tanh_l1_ce.data.safetensors")

/* ------------------------------------------------------------------ 13: versions */

/* `rnnlab --version` and `rnnlab version` print the one version of
 * include/rnnlab.h, which the library reports too; info shows it. */
TEST(ux_version)
{
    char o[256], want[64];
    snprintf(want, sizeof want, "rnnlab %s", RL_VERSION_STRING);
    CHECK(strcmp(rl_version(), RL_VERSION_STRING) == 0);
    const char *a[] = {"rnnlab", "--version", NULL}, *b[] = {"rnnlab", "version", NULL},
               *h[] = {"rnnlab", "version", "--help", NULL}, *x[] = {"rnnlab", "version", "extra", NULL},
               *info[] = {"rnnlab", "info", "--json", NULL}, *top[] = {"rnnlab", "--help", NULL};
    CHECK(run_cli(a, NULL, o, sizeof o, NULL, 0) == 0 && strcmp(o, want) == 0);
    CHECK(run_cli(b, NULL, o, sizeof o, NULL, 0) == 0 && strcmp(o, want) == 0);
    CHECK(run_cli(h, NULL, o, sizeof o, NULL, 0) == 0 && strstr(o, "usage: rnnlab version"));
    CHECK(run_cli(x, NULL, NULL, 0, NULL, 0) == 2);
    CHECK(run_cli(info, NULL, NULL, 0, NULL, 0) == 0);
    size_t n = 0;
    char *txt = (char *)read_file(tmp_path("cli.stdout"), &n);
    cJSON *j = txt ? cJSON_Parse(txt) : NULL;
    const cJSON *v = cJSON_GetObjectItem(j, "version");
    CHECK(cJSON_IsString(v) && strcmp(v->valuestring, RL_VERSION_STRING) == 0);
    cJSON_Delete(j);
    free(txt);
    CHECK(run_cli(top, NULL, NULL, 0, NULL, 0) == 0);
    txt = (char *)read_file(tmp_path("cli.stdout"), &n);
    CHECK(txt && strstr(txt, "--version"));
    free(txt);
}

/* ------------------------------------------------------------------ 3: outputs checked first */

/* Every command that writes a file checks that it can before it works: one
 * line, exit 1, at once (the lyapunov run asked for here takes minutes). */
TEST(ux_outputs_are_checked_before_the_work)
{
    const char *bad = tmp_path("no/such/dir/out"), *dir = test_tmpdir;
    const char *cases[][20] = {
        {"rnnlab", "init", "--cell", "tanh", "--input", "1", "--hidden", "2", "--output", "1", "--out", bad, NULL},
        {"rnnlab", "data", "--model", M, "--steps", "5", "--out", bad, NULL},
        {"rnnlab", "grad", "--model", M, "--data", D, "--out", bad, NULL},
        {"rnnlab", "jacobian", "--model", M, "--data", D, "--out", bad, NULL},
        {"rnnlab", "spectrum", "--model", M, "--data", D, "--out", bad, NULL},
        {"rnnlab", "spectrum", "--model", M, "--data", D, "--out", dir, NULL},
        {"rnnlab", "lyapunov", "--model", M, "--steps", "50000000", "--out", bad, NULL},
        {"rnnlab", "plot", "lyapunov", tmp_path("none.json"), "--out", bad, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char e[512];
        int st = run_cli(cases[i], NULL, NULL, 0, e, sizeof e);
        CHECK_MSG(st == 1 && strstr(e, "cannot write") && run_cli_err_lines() == 1, "rnnlab %s: exit %d, %d lines: %s",
                  cases[i][1], st, run_cli_err_lines(), e);
        char want[64];
        snprintf(want, sizeof want, "rnnlab %s: ", cases[i][1]);
        CHECK_MSG(strncmp(e, want, strlen(want)) == 0, "%s", e);
    }
}

/* ------------------------------------------------------------------ 10: --out - */

static char *cli_stdout(size_t *n) { return (char *)read_file(tmp_path("cli.stdout"), n); }

/* With --out -, stdout holds the output and nothing else: tables and notes
 * go to stderr. Every command that takes --out. */
TEST(ux_out_dash_keeps_stdout_clean)
{
    size_t n = 0;
    const char *json_cmds[][16] = {
        {"rnnlab", "spectrum", "--model", M, "--data", D, "--lags", "1,2", "--out", "-", NULL},
        {"rnnlab", "lyapunov", "--model", M, "--steps", "50", "--out", "-", NULL},
    };
    for (size_t i = 0; i < 2; i++) {
        CHECK(run_cli(json_cmds[i], NULL, NULL, 0, NULL, 0) == 0);
        char *txt = cli_stdout(&n);
        cJSON *j = txt ? cJSON_Parse(txt) : NULL;
        CHECK_MSG(cJSON_IsObject(j), "rnnlab %s --out -: stdout is not one JSON object", json_cmds[i][1]);
        cJSON_Delete(j);
        free(txt);
    }
    /* safetensors on stdout: the whole of it reads back */
    const char *st_cmds[][16] = {
        {"rnnlab", "jacobian", "--model", M, "--data", D, "--out", "-", NULL},
        {"rnnlab", "grad", "--model", M, "--data", D, "--out", "-", NULL},
        {"rnnlab", "data", "--model", M, "--steps", "4", "--out", "-", NULL},
        {"rnnlab", "init", "--cell", "gru", "--input", "2", "--hidden", "3", "--output", "2", "--out", "-", NULL},
    };
    for (size_t i = 0; i < 4; i++) {
        CHECK(run_cli(st_cmds[i], NULL, NULL, 0, NULL, 0) == 0);
        rl_st *f = NULL;
        CHECK_MSG(rl_st_open(&f, tmp_path("cli.stdout")) == RL_OK, "rnnlab %s --out -: %s", st_cmds[i][1], rl_errmsg());
        rl_st_close(f);
    }
    /* a figure on stdout is a PNG from its first byte */
    const char *ly[] = {"rnnlab", "lyapunov", "--model", M, "--steps", "50", "--out", tmp_path("l.json"), NULL};
    const char *pl[] = {"rnnlab", "plot", "lyapunov", tmp_path("l.json"), "--out", "-", NULL};
    CHECK(run_cli(ly, NULL, NULL, 0, NULL, 0) == 0);
    CHECK(run_cli(pl, NULL, NULL, 0, NULL, 0) == 0);
    unsigned char *png = (unsigned char *)cli_stdout(&n);
    CHECK(png && n > 8 && memcmp(png, "\x89PNG\r\n\x1a\n", 8) == 0);
    free(png);
    /* a run and the demo are folders: --out - is a usage error, and makes no folder '-' */
    const char *tr[] = {"rnnlab", "train", "--task", "adding", "--out", "-", NULL};
    const char *de[] = {"rnnlab", "demo", "--out", "-", NULL};
    char e[512];
    CHECK(run_cli(tr, NULL, NULL, 0, e, sizeof e) == 2 && strstr(e, "stdout"));
    CHECK(run_cli(de, NULL, NULL, 0, e, sizeof e) == 2 && strstr(e, "stdout"));
}
