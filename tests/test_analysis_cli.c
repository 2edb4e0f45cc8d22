/* rnnlab jacobian, spectrum and lyapunov: their files hold what the docs say. */
#include "io/safetensors.h"
#include "test.h"

#include <cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define JM fixture("tanh_l3_mse_long.model.safetensors")
#define JD fixture("tanh_l3_mse_long.data.safetensors")

static int shape_is(const st_file *f, const char *name, int ndim, int64_t a, int64_t b, int64_t c)
{
    const st_tensor *t = st_find(f, name);
    int64_t want[3] = {a, b, c};
    if (!t || t->ndim != ndim || t->dtype != ST_F64) return 0;
    for (int i = 0; i < ndim; i++)
        if (t->shape[i] != want[i]) return 0;
    return 1;
}

TEST(cli_jacobian_file)
{
    const char *out = tmp_path("j.safetensors");
    const char *argv[] = {"rnnlab", "jacobian", "--model", JM, "--data", JD, "--out", out, NULL};
    char line[256];
    CHECK(run_cli(argv, NULL, line, sizeof line, NULL, 0) == 0);
    CHECK(strstr(line, "S = 18, T = 40") != NULL);
    st_file f, ref;
    CHECK_OK(st_read(&f, out));
    CHECK_OK(st_read(&ref, fixture("tanh_l3_mse_long.jac.safetensors")));
    CHECK(shape_is(&f, "J", 3, 40, 18, 18) && shape_is(&f, "P", 2, 18, 18, 0) && shape_is(&f, "P_scaled", 2, 18, 18, 0));
    CHECK(shape_is(&f, "P_log_scale", 0, 0, 0, 0));
    const char *lagged[] = {"lag_log_norm", "lag_log_fro", "lag_log_radius", "log_grad_bptt", "log_grad_state",
                            "log_grad_last"};
    for (int i = 0; i < 6; i++) CHECK_MSG(shape_is(&f, lagged[i], 1, 41, 0, 0), "%s", lagged[i]);
    /* J and P are torch's */
    const char *names[] = {"J", "P"};
    for (int i = 0; i < 2 && f.n && ref.n; i++) {
        const st_tensor *a = st_find(&f, names[i]), *b = st_find(&ref, names[i]);
        if (!a || !b || a->numel != b->numel) {
            CHECK_MSG(0, "%s missing or of another size", names[i]);
            continue;
        }
        double *x = malloc(a->numel * 8), *y = malloc(b->numel * 8), mx = 0;
        CHECK_OK(st_get_real(&f, a, RL_F64, x));
        CHECK_OK(st_get_real(&ref, b, RL_F64, y));
        for (size_t k = 0; k < b->numel; k++) mx = fmax(mx, fabs(y[k]));
        CHECK_CLOSE(names[i], x, RL_F64, y, a->numel, 1e-9, 1e-13 * mx);
        free(x), free(y);
    }
    /* lag 0 is the identity: ln||I||_2 = 0, ln||I||_F = ln(S)/2 */
    double n[41], fr[41];
    if (f.n) {
        CHECK_OK(st_get_real(&f, st_find(&f, "lag_log_norm"), RL_F64, n));
        CHECK_OK(st_get_real(&f, st_find(&f, "lag_log_fro"), RL_F64, fr));
        CHECK(fabs(n[40]) < 1e-12 && fabs(fr[40] - 0.5 * log(18.0)) < 1e-12);
    }
    st_close(&f);
    st_close(&ref);
    /* --no-steps and --no-radius leave those out */
    const char *argv2[] = {"rnnlab", "jacobian", "--model", JM, "--data", JD, "--out", out, "--no-steps", "--no-radius", NULL};
    CHECK(run_cli(argv2, NULL, NULL, 0, NULL, 0) == 0);
    CHECK_OK(st_read(&f, out));
    CHECK(f.n && !st_find(&f, "J") && !st_find(&f, "lag_log_radius") && st_find(&f, "lag_log_norm"));
    st_close(&f);
}

static cJSON *read_json(const char *path)
{
    size_t n = 0;
    unsigned char *b = read_file(path, &n);
    cJSON *j = b ? cJSON_ParseWithLength((const char *)b, n) : NULL;
    free(b);
    CHECK_MSG(j != NULL, "%s is not JSON", path);
    return j;
}

TEST(cli_spectrum_json)
{
    const char *out = tmp_path("s.json");
    const char *argv[] = {"rnnlab", "spectrum", "--model", JM, "--data", JD, "--lags", "1,7,40", "--out", out, NULL};
    CHECK(run_cli(argv, NULL, NULL, 0, NULL, 0) == 0);
    cJSON *j = read_json(out);
    if (!j) return;
    CHECK(cJSON_GetObjectItem(j, "state_size")->valueint == 18 && cJSON_GetObjectItem(j, "steps")->valueint == 40);
    cJSON *steps = cJSON_GetObjectItem(j, "step_spectra"), *lags = cJSON_GetObjectItem(j, "lags");
    CHECK(cJSON_GetArraySize(steps) == 40 && cJSON_GetArraySize(lags) == 3);
    cJSON *s0 = cJSON_GetArrayItem(steps, 0);
    CHECK(cJSON_GetObjectItem(s0, "t")->valueint == 1 && cJSON_GetArraySize(cJSON_GetObjectItem(s0, "eig_re")) == 18 &&
          cJSON_GetArraySize(cJSON_GetObjectItem(s0, "sv")) == 18);
    /* singular values descending, eigenvalues by modulus descending */
    cJSON *sv = cJSON_GetObjectItem(s0, "sv"), *re = cJSON_GetObjectItem(s0, "eig_re"), *im = cJSON_GetObjectItem(s0, "eig_im");
    for (int i = 1; i < 18; i++) {
        CHECK(cJSON_GetArrayItem(sv, i)->valuedouble <= cJSON_GetArrayItem(sv, i - 1)->valuedouble);
        CHECK(hypot(cJSON_GetArrayItem(re, i)->valuedouble, cJSON_GetArrayItem(im, i)->valuedouble) <=
              hypot(cJSON_GetArrayItem(re, i - 1)->valuedouble, cJSON_GetArrayItem(im, i - 1)->valuedouble) + 1e-15);
    }
    cJSON *l1 = cJSON_GetArrayItem(lags, 0);
    CHECK(cJSON_GetObjectItem(l1, "lag")->valueint == 1 && cJSON_GetObjectItem(l1, "tau")->valueint == 39);
    CHECK(cJSON_GetObjectItem(l1, "eig_dev")->valuedouble < 1e-8); /* one step: exact */
    const char *keys[] = {"eig_log_abs", "eig_arg", "matched_log_abs", "matched_arg", "sv_log"};
    for (int i = 0; i < 5; i++) CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(l1, keys[i])) == 18);
    cJSON_Delete(j);
}

TEST(cli_lyapunov_json)
{
    /* a data file holding only h0 gives the initial state */
    float h0[1 * 1 * 8] = {0.5f, -0.5f, 0.25f, 0, 0.1f, -0.2f, 0.3f, 0.9f};
    rl_config c = {.cell = RL_CELL_TANH, .input_size = 2, .hidden_size = 8, .num_layers = 1, .output_size = 1, .loss = RL_LOSS_MSE};
    rl_model *m = NULL;
    rl_init init = {.kind = RL_INIT_GAUSSIAN, .gain = 2.0, .zero_bias = 1};
    CHECK_OK(rl_model_new(&m, &c, RL_F32));
    if (!m) return;
    CHECK_OK(rl_model_init(m, &init, 3));
    const char *mp = tmp_path("lm.st"), *hp = tmp_path("h0.st"), *out = tmp_path("l.json");
    CHECK_OK(rl_model_save(m, mp));
    rl_st_tensor t = {"h0", "F32", 3, {1, 1, 8}, h0};
    CHECK_OK(rl_st_write(hp, &t, 1, NULL, 0));
    const char *argv[] = {"rnnlab", "lyapunov", "--model", mp, "--data", hp, "--steps", "500", "--k", "3",
                          "--trace-every", "100", "--out", out, NULL};
    char line[256];
    CHECK(run_cli(argv, NULL, line, sizeof line, NULL, 0) == 0);
    CHECK(strstr(line, "largest exponent") != NULL);
    cJSON *j = read_json(out);
    if (j) {
        cJSON *ex = cJSON_GetObjectItem(j, "exponents");
        CHECK(cJSON_GetArraySize(ex) == 3);
        for (int i = 1; i < 3; i++) CHECK(cJSON_GetArrayItem(ex, i)->valuedouble <= cJSON_GetArrayItem(ex, i - 1)->valuedouble);
        CHECK(strcmp(cJSON_GetObjectItem(j, "state")->valuestring, "data") == 0);
        CHECK(strcmp(cJSON_GetObjectItem(j, "input")->valuestring, "zeros") == 0);
        cJSON *tr = cJSON_GetObjectItem(j, "trace");
        CHECK(tr && cJSON_GetArraySize(cJSON_GetObjectItem(tr, "estimates")) == 5);
        /* the last running estimate is the result */
        cJSON *last = cJSON_GetArrayItem(cJSON_GetObjectItem(tr, "estimates"), 4);
        CHECK(fabs(cJSON_GetArrayItem(last, 0)->valuedouble - cJSON_GetArrayItem(ex, 0)->valuedouble) < 1e-12);
        cJSON_Delete(j);
    }
    rl_model_free(m);
}

TEST(cli_analysis_errors)
{
    const char *out = tmp_path("x.out");
    struct { const char *argv[16]; int status; const char *frag; } cases[] = {
        {{"rnnlab", "jacobian", "--model", JM, "--data", JD, NULL}, 2, "--out is required"},
        {{"rnnlab", "jacobian", "--model", JM, "--data", JD, "--seq", "9", "--out", out, NULL}, 2, "outside the batch"},
        {{"rnnlab", "jacobian", "--model", JM, "--data", JD, "--seq", "-1", "--out", out, NULL}, 2, "out of range"},
        {{"rnnlab", "spectrum", "--model", JM, "--data", JD, "--lags", "0", "--out", out, NULL}, 2, "outside [1, T = 40]"},
        {{"rnnlab", "spectrum", "--model", JM, "--data", JD, "--lags", "1,x", "--out", out, NULL}, 2, "expects a list"},
        {{"rnnlab", "spectrum", "--model", JM, "--data", JD, "--lags", "41", "--out", out, NULL}, 2, "outside"},
        {{"rnnlab", "lyapunov", "--model", JM, "--out", out, NULL}, 2, "--steps is required"},
        {{"rnnlab", "lyapunov", "--model", JM, "--steps", "0", "--out", out, NULL}, 2, "out of range"},
        {{"rnnlab", "lyapunov", "--model", JM, "--steps", "10", "--k", "19", "--out", out, NULL}, 2, "exceeds the state size 18"},
        {{"rnnlab", "lyapunov", "--model", JM, "--steps", "10", "--input", "sine", "--out", out, NULL}, 2, "unknown input 'sine'"},
        {{"rnnlab", "lyapunov", "--model", JM, "--steps", "10", "--input", "data", "--out", out, NULL}, 2, "need --data"},
        {{"rnnlab", "lyapunov", "--model", JM, "--steps", "10", "--noise-std", "2", "--out", out, NULL}, 2, "needs --input noise"},
        {{"rnnlab", "lyapunov", "--model", JM, "--steps", "10", "--state", "warm", "--out", out, NULL}, 2, "unknown initial state 'warm'"},
        {{"rnnlab", "lyapunov", "--model", JM, "--steps", "10", "--out", tmp_path("no/dir/l.json"), NULL}, 1, "no/dir"},
        {{"rnnlab", "jacobian", "--help", NULL}, 0, "usage: rnnlab jacobian"},
        {{"rnnlab", "spectrum", "--help", NULL}, 0, "usage: rnnlab spectrum"},
        {{"rnnlab", "lyapunov", "--help", NULL}, 0, "usage: rnnlab lyapunov"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char o[512], e[512];
        int st = run_cli(cases[i].argv, NULL, o, sizeof o, e, sizeof e);
        const char *where = cases[i].status ? e : o;
        CHECK_MSG(st == cases[i].status, "%s %s: exit %d, want %d (%s)", cases[i].argv[1], cases[i].argv[4] ? cases[i].argv[4] : "", st, cases[i].status, e);
        CHECK_MSG(strstr(where, cases[i].frag) != NULL, "%s: '%s' lacks '%s'", cases[i].argv[1], where, cases[i].frag);
        if (cases[i].status) CHECK_MSG(run_cli_err_lines() == 1, "%s: %d lines on stderr", cases[i].argv[1], run_cli_err_lines());
    }
}
