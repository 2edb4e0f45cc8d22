/* The worked example of the study notes (rl_jac_worked, rnnlab explain):
 * the identity holds for a linear RNN with a symmetric W_hh, to rounding,
 * and breaks for a tanh RNN driven off 0; complex eigenvalues (most W_hh)
 * in complex form; the limits of a printed example. */
#include "test.h"

#include <cJSON.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

static rl_model *small_model(rl_cell cell, int H, rl_init_kind kind, double gain)
{
    rl_config c = {.cell = cell, .input_size = 1, .hidden_size = H, .num_layers = 1, .output_size = 1, .loss = RL_LOSS_MSE};
    rl_init init = {.kind = kind, .gain = gain};
    rl_model *m = NULL;
    CHECK_OK(rl_model_new(&m, &c, RL_F64));
    if (m) CHECK_OK(rl_model_init(m, &init, 4));
    return m;
}

static rl_status worked(rl_model *m, int T, int tau, rl_worked *w)
{
    double x[16];
    rl_rng r;
    rl_rng_seed(&r, 1);
    for (int t = 0; t < T; t++) x[t] = rl_rng_normal(&r);
    rl_batch b = {RL_F64, 1, T, 1, x, NULL, NULL, NULL, NULL, NULL};
    rl_jac *j = NULL;
    rl_status s = rl_jac_new(&j, m, &b, 0);
    if (!s) s = rl_jac_worked(j, T, tau, w);
    rl_jac_free(j);
    return s;
}

TEST(worked_example_holds_for_linear_and_breaks_for_tanh)
{
    rl_worked *w = malloc(sizeof *w);
    if (!w) return;
    rl_model *lin = small_model(RL_CELL_LINEAR, 3, RL_INIT_SYMMETRIC, 0.9);
    rl_model *th = small_model(RL_CELL_TANH, 3, RL_INIT_SYMMETRIC, 1.5);
    if (lin && th) {
        CHECK_OK(worked(lin, 6, 1, w));
        CHECK_MSG(w->deviation < 1e-12, "linear, symmetric W: deviation %g", w->deviation);
        for (int k = 0; k < 5; k++) CHECK(w->off_share[k] < 1e-12);
        /* the product of the diagonals is the eigenvalues to the 5th power */
        double prod = 1;
        for (int i = 0; i < 3; i++) prod *= w->prod_lambda[i] / pow(w->lambda[0][i], 5);
        CHECK(fabs(prod - 1) < 1e-12);
        CHECK_OK(worked(th, 6, 0, w));
        CHECK_MSG(w->deviation > 0.01 && w->off_share[0] < 1e-12 && w->off_share[3] > 0.01,
                  "tanh: deviation %g, off-diagonal shares %g, %g", w->deviation, w->off_share[0], w->off_share[3]);
    }
    /* the limits: a state of 9, too many steps */
    rl_model *big = small_model(RL_CELL_TANH, 9, RL_INIT_SYMMETRIC, 1);
    if (big) CHECK(worked(big, 4, 0, w) == RL_ERR_ARG && strstr(rl_errmsg(), "at most 8"));
    if (lin) CHECK(worked(lin, 16, 0, w) == RL_OK && worked(lin, 16, 16, w) == RL_ERR_ARG);
    rl_model_free(lin), rl_model_free(th), rl_model_free(big);
    free(w);
}

/* max |(V diag(p) V^-1)_ab - R_ab| / max |R| from w's parts, complex: the
 * product rebuilt here, and V^-1 V = I, to check the library's complex arithmetic */
static double rebuilt(const rl_worked *w, double *inv_err)
{
    const int S = w->S;
    double dev = 0, mr = 0;
    *inv_err = 0;
    for (int a = 0; a < S; a++)
        for (int b = 0; b < S; b++) {
            double re = 0, im = 0, ire = 0, iim = 0;
            for (int k = 0; k < S; k++) {
                const double vr = w->V[a * S + k], vi = w->V_im[a * S + k];
                const double pr = vr * w->prod_lambda[k] - vi * w->prod_lambda_im[k],
                             pi = vr * w->prod_lambda_im[k] + vi * w->prod_lambda[k];
                re += pr * w->Vinv[k * S + b] - pi * w->Vinv_im[k * S + b];
                im += pr * w->Vinv_im[k * S + b] + pi * w->Vinv[k * S + b];
                /* (V^-1 V)_ab */
                ire += w->Vinv[a * S + k] * w->V[k * S + b] - w->Vinv_im[a * S + k] * w->V_im[k * S + b];
                iim += w->Vinv[a * S + k] * w->V_im[k * S + b] + w->Vinv_im[a * S + k] * w->V[k * S + b];
            }
            dev = fmax(dev, hypot(re - w->R[a * S + b], im - w->R_im[a * S + b]));
            mr = fmax(mr, fabs(w->R[a * S + b]));
            *inv_err = fmax(*inv_err, hypot(ire - (a == b), iim));
        }
    return mr > 0 ? dev / mr : dev;
}

/* issue 28, item 7: complex eigenvalues are shown, not refused: a rotation
 * (eigenvalues +-i, V unitary), a non-normal W with complex eigenvalues
 * (V^-1 is not V^H), and every default 4-unit tanh RNN and LSTM(4) of 8 seeds */
TEST(worked_example_complex_eigenvalues)
{
    rl_worked *w = malloc(sizeof *w);
    if (!w) return;
    double inv_err;
    rl_model *rot = small_model(RL_CELL_LINEAR, 2, RL_INIT_ORTHOGONAL, 1);
    double *whh = rot ? test_view(rot, "rnn.weight_hh_l0", 2, 2) : NULL;
    if (whh) {
        whh[0] = 0, whh[1] = -1, whh[2] = 1, whh[3] = 0;
        CHECK_OK(worked(rot, 3, 0, w));
        CHECK(w->complex_eig && w->unitary && w->deviation < 1e-12);
        /* lambda = +-i, and over 3 steps i^3 = -i, (-i)^3 = i */
        CHECK(fabs(w->lambda[0][0]) < 1e-12 && fabs(fabs(w->lambda_im[0][0]) - 1) < 1e-12);
        CHECK(w->lambda_im[0][1] == -w->lambda_im[0][0] && w->lambda[0][1] == w->lambda[0][0]);
        CHECK(fabs(w->prod_lambda[0]) < 1e-12 && fabs(w->prod_lambda_im[0] + w->lambda_im[0][0]) < 1e-12);
        CHECK(rebuilt(w, &inv_err) < 1e-12 && inv_err < 1e-12);
        /* non-normal: W = [0 -2; 1/2 0], eigenvalues +-i, V not unitary */
        whh[1] = -2, whh[2] = 0.5;
        CHECK_OK(worked(rot, 4, 0, w));
        CHECK(w->complex_eig && !w->unitary && w->deviation < 1e-12 && w->v_cond > 1);
        CHECK(rebuilt(w, &inv_err) < 1e-12 && inv_err < 1e-12);
        /* V^H is not the inverse here: (V^H V)_01 is far from 0 */
        double hr = 0, hi = 0;
        for (int k = 0; k < 2; k++) {
            hr += w->V[k * 2] * w->V[k * 2 + 1] + w->V_im[k * 2] * w->V_im[k * 2 + 1];
            hi += w->V[k * 2] * w->V_im[k * 2 + 1] - w->V_im[k * 2] * w->V[k * 2 + 1];
        }
        CHECK_MSG(hypot(hr, hi) > 0.1, "(V^H V)_01 = %g%+gi", hr, hi);
    }
    int complex_seen[2] = {0, 0};
    const rl_cell cells[2] = {RL_CELL_TANH, RL_CELL_LSTM};
    for (int ci = 0; ci < 2; ci++)
        for (uint64_t seed = 1; seed <= 8; seed++) {
            rl_config c = {.cell = cells[ci], .input_size = 1, .hidden_size = 4, .num_layers = 1, .output_size = 1, .loss = RL_LOSS_MSE};
            rl_init init = {.kind = RL_INIT_UNIFORM, .gain = 1};
            rl_model *m = NULL;
            CHECK_OK(rl_model_new(&m, &c, RL_F64));
            if (!m) continue;
            CHECK_OK(rl_model_init(m, &init, seed));
            rl_status s = worked(m, 4, 0, w);
            CHECK_MSG(s == RL_OK, "%s seed %d: %s", rl_cell_name(cells[ci]), (int)seed, rl_errmsg());
            if (s == RL_OK) {
                complex_seen[ci] += w->complex_eig;
                /* the product is real: its imaginary parts cancel; V^-1 is V's inverse */
                double im = 0, mp = 0;
                for (int i = 0; i < w->S * w->S; i++) im = fmax(im, fabs(w->R_im[i])), mp = fmax(mp, fabs(w->P[i]));
                CHECK_MSG(im <= 1e-12 * mp && rebuilt(w, &inv_err) < 1e-10 && inv_err < 1e-10,
                          "%s seed %d: Im R %g, |P| %g, V^-1 V - I %g", rl_cell_name(cells[ci]), (int)seed, im, mp, inv_err);
                /* a real eigenvalue's Lambda_k is real; a pair's are conjugate */
                for (int i = 0; i < w->S; i++)
                    if (w->lambda_im[0][i] == 0) CHECK(w->lambda_im[3][i] == 0);
            }
            rl_model_free(m);
        }
    CHECK_MSG(complex_seen[0] >= 4 && complex_seen[1] >= 4, "complex J_1 in %d tanh, %d LSTM seeds", complex_seen[0], complex_seen[1]);
    rl_model_free(rot);
    free(w);
}

TEST(cli_explain)
{
    const char *m = tmp_path("explain-lin.safetensors"), *big = tmp_path("explain-big.safetensors");
    const char *init[] = {"rnnlab", "init", "--cell", "linear", "--input", "1", "--hidden", "3", "--output", "1",
                          "--init", "symmetric", "--gain", "0.9", "--out", m, NULL};
    CHECK(run_cli(init, NULL, NULL, 0, NULL, 0) == 0);
    char out[256] = "", err[256] = "";
    const char *ex[] = {"rnnlab", "explain", "--model", m, NULL};
    CHECK(run_cli(ex, NULL, out, sizeof out, err, sizeof err) == 0 && strstr(out, "linear RNN, state of 3"));
    const char *js[] = {"rnnlab", "explain", "--model", m, "--json", "--steps", "5", "--tau", "2", NULL};
    CHECK(run_cli(js, NULL, out, sizeof out, err, sizeof err) == 0 && out[0] == '{');
    const char *init9[] = {"rnnlab", "init", "--cell", "tanh", "--input", "1", "--hidden", "9", "--output", "1", "--out", big, NULL};
    CHECK(run_cli(init9, NULL, NULL, 0, NULL, 0) == 0);
    const char *ex9[] = {"rnnlab", "explain", "--model", big, NULL};
    CHECK(run_cli(ex9, NULL, out, sizeof out, err, sizeof err) == 2 && strstr(err, "rnnlab explain:") && strstr(err, "at most 8"));
    /* a default 4-unit tanh RNN whose J_1 has complex eigenvalues (seed 2): shown, V^-1 beside V */
    const char *tanh4 = tmp_path("explain-tanh4.safetensors");
    const char *init4[] = {"rnnlab", "init", "--cell", "tanh", "--input", "1", "--hidden", "4", "--output", "1", "--seed", "2",
                           "--out", tanh4, NULL};
    CHECK(run_cli(init4, NULL, NULL, 0, NULL, 0) == 0);
    const char *ex4[] = {"rnnlab", "explain", "--model", tanh4, NULL};
    size_t n = 0;
    char *all = NULL;
    CHECK(run_cli(ex4, NULL, NULL, 0, err, sizeof err) == 0 && (all = (char *)read_file(tmp_path("cli.stdout"), &n)));
    CHECK_MSG(all && strstr(all, "conjugate pairs") && strstr(all, "V^-1 = ") && strstr(all, "not unitary, so V^-1 is not V^H") &&
                  strstr(all, "+0.38181i") && strstr(all, "i ]"),
              "%s", all ? all : err);
    free(all), all = NULL;
    const char *ex4j[] = {"rnnlab", "explain", "--model", tanh4, "--json", NULL};
    CHECK(run_cli(ex4j, NULL, NULL, 0, err, sizeof err) == 0 && (all = (char *)read_file(tmp_path("cli.stdout"), &n)));
    CHECK(all && strstr(all, "\"complex\":\ttrue") && strstr(all, "\"Vinv_im\"") && strstr(all, "\"lambda_im\""));
    free(all);
    const char *bad[] = {"rnnlab", "explain", "--model", m, "--tau", "4", NULL};
    CHECK(run_cli(bad, NULL, out, sizeof out, err, sizeof err) == 2);
}

/* explain on the diagonal cells (issue 25): an lru (N = 2: a state of 4)
 * has J_k = the same rotation-scaling blocks at every k, its eigenvalues
 * lambda and conj lambda, V unitary, nothing off the diagonal of V^-1 J_k V
 * and the identity to rounding; a minGRU's J_k = diag(1 - z_k) is diagonal
 * in V = I. */
TEST(cli_explain_diagonal_cells)
{
    const char *cells[2] = {"lru", "mingru"};
    for (int k = 0; k < 2; k++) {
        char path[64];
        snprintf(path, sizeof path, "explain-%s.safetensors", cells[k]);
        const char *m = tmp_path(path);
        const char *init[] = {"rnnlab", "init", "--cell", cells[k], "--input", "1", "--hidden", "2", "--output", "1",
                              "--seed", "3", "--out", m, NULL};
        CHECK(run_cli(init, NULL, NULL, 0, NULL, 0) == 0);
        const char *ex[] = {"rnnlab", "explain", "--model", m, "--json", NULL};
        size_t n = 0;
        char err[512];
        char *all = NULL;
        CHECK(run_cli(ex, NULL, NULL, 0, err, sizeof err) == 0 && (all = (char *)read_file(tmp_path("cli.stdout"), &n)));
        cJSON *j = cJSON_Parse(all ? all : "");
        CHECK_MSG(j != NULL, "%s: %s", cells[k], err);
        const double dev = cJSON_GetNumberValue(cJSON_GetObjectItem(j, "deviation"));
        CHECK_MSG(dev < 1e-14, "%s: deviation %g", cells[k], dev);
        CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(j, "state_size")) == (k ? 2 : 4));
        CHECK(cJSON_IsTrue(cJSON_GetObjectItem(j, "complex")) == (k == 0));
        const cJSON *off, *lam = cJSON_GetObjectItem(j, "lambda");
        cJSON_ArrayForEach(off, cJSON_GetObjectItem(j, "off_share")) CHECK_MSG(cJSON_GetNumberValue(off) < 1e-14,
                                                                              "%s: off the diagonal %g", cells[k],
                                                                              cJSON_GetNumberValue(off));
        /* lru: the same Lambda at every step; minGRU: real in (0, 1) */
        CHECK(cJSON_GetArraySize(lam) == 4 && cJSON_GetArraySize(cJSON_GetArrayItem(lam, 0)) == (k ? 2 : 4));
        const cJSON *first = cJSON_GetArrayItem(lam, 0), *row;
        cJSON_ArrayForEach(row, lam) for (int i = 0; i < cJSON_GetArraySize(row); i++) {
            double v = cJSON_GetNumberValue(cJSON_GetArrayItem(row, i));
            if (k == 0) CHECK(fabs(v - cJSON_GetNumberValue(cJSON_GetArrayItem(first, i))) < 1e-15);
            else CHECK(v > 0 && v < 1);
        }
        cJSON_Delete(j);
        free(all);
    }
}
