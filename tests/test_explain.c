/* The worked example of the study notes (rl_jac_worked, rnnlab explain):
 * the identity holds for a linear RNN with a symmetric W_hh, to rounding,
 * and breaks for a tanh RNN driven off 0; the limits of a printed example. */
#include "test.h"

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
    /* the limits: a state of 9, too many steps, a rotation's complex eigenvalues */
    rl_model *big = small_model(RL_CELL_TANH, 9, RL_INIT_SYMMETRIC, 1);
    if (big) CHECK(worked(big, 4, 0, w) == RL_ERR_ARG && strstr(rl_errmsg(), "at most 8"));
    if (lin) CHECK(worked(lin, 16, 0, w) == RL_OK && worked(lin, 16, 16, w) == RL_ERR_ARG);
    rl_model *rot = small_model(RL_CELL_LINEAR, 2, RL_INIT_ORTHOGONAL, 1);
    if (rot) {
        double *whh = test_view(rot, "rnn.weight_hh_l0", 2, 2);
        if (whh) whh[0] = 0, whh[1] = -1, whh[2] = 1, whh[3] = 0;
        CHECK(worked(rot, 3, 0, w) == RL_ERR_ARG && strstr(rl_errmsg(), "complex"));
    }
    rl_model_free(lin), rl_model_free(th), rl_model_free(big), rl_model_free(rot);
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
    const char *bad[] = {"rnnlab", "explain", "--model", m, "--tau", "4", NULL};
    CHECK(run_cli(bad, NULL, out, sizeof out, err, sizeof err) == 2);
}
