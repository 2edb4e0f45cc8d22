/* Initialisations: each one's defining property, measured. */
#include "test.h"

#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static rl_model *make(rl_cell cell, int H, rl_init_kind kind, double gain, double radius, uint64_t seed)
{
    rl_config c = {.cell = cell, .input_size = 3, .hidden_size = H, .num_layers = 2, .output_size = 2, .loss = RL_LOSS_MSE};
    rl_init init = {.kind = kind, .gain = gain, .radius = radius};
    rl_model *m = NULL;
    CHECK_OK(rl_model_new(&m, &c, RL_F64));
    if (m) CHECK_OK(rl_model_init(m, &init, seed));
    return m;
}

/* Tensor name of m, of rows (G*H) by H (a matrix) or rows long (cols 0). */
static const double *tensor(rl_model *m, const char *name, int64_t rows, int64_t cols)
{
    return test_view(m, name, rows, cols);
}

static double spectral_radius(const double *w, int H)
{
    double *a = malloc(sizeof *a * H * H), *wr = malloc(sizeof *wr * H), *wi = malloc(sizeof *wi * H), r = 0;
    memcpy(a, w, sizeof *a * H * H);
    CHECK(LAPACKE_dgeev(LAPACK_ROW_MAJOR, 'N', 'N', H, a, H, wr, wi, NULL, 1, NULL, 1) == 0);
    for (int i = 0; i < H; i++) r = fmax(r, hypot(wr[i], wi[i]));
    free(a), free(wr), free(wi);
    return r;
}

TEST(init_orthogonal_is_orthogonal_per_gate)
{
    const int H = 16;
    rl_cell cells[] = {RL_CELL_TANH, RL_CELL_LSTM, RL_CELL_GRU};
    for (int ci = 0; ci < 3; ci++) {
        rl_model *m = make(cells[ci], H, RL_INIT_ORTHOGONAL, 1.5, 0, 3);
        if (!m) continue;
        const double *w = tensor(m, "rnn.weight_hh_l1", rl_cell_gates(cells[ci]) * H, H);
        for (int g = 0; w && g < rl_cell_gates(cells[ci]); g++) {
            const double *q = w + (size_t)g * H * H;
            double worst = 0;
            for (int i = 0; i < H; i++)
                for (int j = 0; j < H; j++) {
                    double s = 0;
                    for (int k = 0; k < H; k++) s += q[k * H + i] * q[k * H + j];
                    worst = fmax(worst, fabs(s - (i == j ? 2.25 : 0)));
                }
            CHECK_MSG(worst < 1e-12, "%s gate %d: |Q^T Q - g^2 I| = %g", rl_cell_name(cells[ci]), g, worst);
        }
        rl_model_free(m);
    }
}

TEST(init_identity_is_irnn)
{
    rl_model *m = make(RL_CELL_RELU, 8, RL_INIT_IDENTITY, 1, 0, 1);
    if (!m) return;
    for (int l = 0; l < 2; l++) {
        char n[4][32];
        snprintf(n[0], 32, "rnn.weight_hh_l%d", l);
        snprintf(n[1], 32, "rnn.bias_ih_l%d", l);
        snprintf(n[2], 32, "rnn.bias_hh_l%d", l);
        const double *w = tensor(m, n[0], 8, 8), *bi = tensor(m, n[1], 8, 0), *bh = tensor(m, n[2], 8, 0);
        for (int i = 0; w && i < 64; i++) CHECK(w[i] == (i % 9 == 0 ? 1.0 : 0.0));
        for (int i = 0; bi && bh && i < 8; i++) CHECK(bi[i] == 0 && bh[i] == 0);
    }
    rl_model_free(m);
}

TEST(init_gaussian_variance)
{
    const int H = 200;
    rl_model *m = make(RL_CELL_TANH, H, RL_INIT_GAUSSIAN, 3, 0, 9);
    if (!m) return;
    const double *w = tensor(m, "rnn.weight_hh_l0", H, H);
    if (!w) {
        rl_model_free(m);
        return;
    }
    double s = 0, s2 = 0, n = (double)H * H;
    for (int i = 0; i < H * H; i++) s += w[i], s2 += w[i] * w[i];
    double mean = s / n, var = s2 / n - mean * mean, want = 9.0 / H;
    /* 40,000 draws: the sample variance is within 3% of sigma^2 with overwhelming odds */
    CHECK_MSG(fabs(var / want - 1) < 0.03, "variance %g, want %g", var, want);
    CHECK_MSG(fabs(mean) < 4 * sqrt(want / n), "mean %g", mean);
    /* circular law: the spectral radius of N(0, g^2/H) is close to g */
    double r = spectral_radius(w, H);
    CHECK_MSG(fabs(r - 3) < 0.3, "spectral radius %g, want about 3", r);
    rl_model_free(m);
}

TEST(init_radius_rescales)
{
    rl_init_kind kinds[] = {RL_INIT_UNIFORM, RL_INIT_GAUSSIAN, RL_INIT_ORTHOGONAL};
    for (int k = 0; k < 3; k++) {
        rl_model *m = make(RL_CELL_TANH, 12, kinds[k], 1, 0.9, 4);
        if (!m) continue;
        const double *w = tensor(m, "rnn.weight_hh_l0", 12, 12);
        double r = w ? spectral_radius(w, 12) : NAN;
        CHECK_MSG(fabs(r - 0.9) < 1e-12, "%s: radius %.15g", rl_init_name(kinds[k]), r);
        rl_model_free(m);
    }
}

TEST(init_uniform_is_pytorch_default)
{
    const int H = 50;
    rl_model *m = make(RL_CELL_GRU, H, RL_INIT_UNIFORM, 1, 0, 2);
    if (!m) return;
    const double *p = rl_model_params(m);
    size_t n = rl_model_num_params(m);
    double k = 1 / sqrt((double)H), s2 = 0, mx = 0;
    for (size_t i = 0; i < n; i++) s2 += p[i] * p[i], mx = fmax(mx, fabs(p[i]));
    CHECK(mx <= k);
    CHECK(mx > 0.99 * k);
    CHECK_MSG(fabs(s2 / n / (k * k / 3) - 1) < 0.03, "variance %g, want %g", s2 / n, k * k / 3);
    rl_model_free(m);
}

TEST(init_is_deterministic)
{
    rl_model *a = make(RL_CELL_TANH, 10, RL_INIT_ORTHOGONAL, 1, 0, 42), *b = make(RL_CELL_TANH, 10, RL_INIT_ORTHOGONAL, 1, 0, 42),
             *c = make(RL_CELL_TANH, 10, RL_INIT_ORTHOGONAL, 1, 0, 43);
    if (a && b && c) {
        size_t n = rl_model_num_params(a) * sizeof(double);
        CHECK(memcmp(rl_model_params(a), rl_model_params(b), n) == 0);
        CHECK(memcmp(rl_model_params(a), rl_model_params(c), n) != 0);
    }
    rl_model_free(a), rl_model_free(b), rl_model_free(c);
}

TEST(init_forget_bias)
{
    rl_config c = {.cell = RL_CELL_LSTM, .input_size = 3, .hidden_size = 4, .num_layers = 1, .output_size = 2, .loss = RL_LOSS_MSE};
    rl_init init = {.kind = RL_INIT_UNIFORM, .gain = 1, .forget_bias = 1.0};
    rl_model *m = NULL;
    CHECK_OK(rl_model_new(&m, &c, RL_F64));
    if (!m) return;
    CHECK_OK(rl_model_init(m, &init, 1));
    const double *bi = tensor(m, "rnn.bias_ih_l0", 16, 0), *bh = tensor(m, "rnn.bias_hh_l0", 16, 0);
    for (int i = 0; bi && bh && i < 4; i++) CHECK(bi[4 + i] == 1.0 && bh[4 + i] == 0.0);
    CHECK(bi && bi[0] != 1.0); /* the input gate keeps its uniform init */
    rl_model_free(m);
}

TEST(config_limits)
{
    rl_model *m = NULL;
    rl_config bad[] = {{.cell = RL_CELL_TANH, .input_size = 0, .hidden_size = 4, .num_layers = 1, .output_size = 2, .loss = RL_LOSS_MSE},     {.cell = RL_CELL_TANH, .input_size = 3, .hidden_size = 0, .num_layers = 1, .output_size = 2, .loss = RL_LOSS_MSE},
                       {.cell = RL_CELL_TANH, .input_size = 3, .hidden_size = 4, .num_layers = 0, .output_size = 2, .loss = RL_LOSS_MSE},     {.cell = RL_CELL_TANH, .input_size = 3, .hidden_size = 4, .num_layers = 1, .output_size = 0, .loss = RL_LOSS_MSE},
                       {.cell = RL_CELL_TANH, .input_size = 3, .hidden_size = 4, .num_layers = 1, .output_size = 1, .loss = RL_LOSS_CE},      {.cell = RL_CELL_COUNT, .input_size = 3, .hidden_size = 4, .num_layers = 1, .output_size = 2, .loss = RL_LOSS_MSE},
                       {.cell = RL_CELL_TANH, .input_size = 3, .hidden_size = 4, .num_layers = 65, .output_size = 2, .loss = RL_LOSS_MSE},    {.cell = RL_CELL_LSTM, .input_size = 65536, .hidden_size = 65536, .num_layers = 64, .output_size = 2, .loss = RL_LOSS_MSE}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_MSG(rl_model_new(&m, &bad[i], RL_F32) == RL_ERR_ARG, "config %zu accepted", i);
        CHECK(m == NULL);
    }
    rl_config ok = {.cell = RL_CELL_LSTM, .input_size = 3, .hidden_size = 4, .num_layers = 2, .output_size = 5, .loss = RL_LOSS_MSE};
    CHECK_OK(rl_model_new(&m, &ok, RL_F32));
    /* 4H(I + H + 2) + 4H(H + H + 2) + O(H + 1) */
    CHECK(m && rl_model_num_params(m) == (size_t)(16 * 9 + 16 * 10 + 5 * 5));
    rl_model_free(m);
}

TEST(init_symmetric_is_symmetric_with_radius_gain)
{
    const int H = 200;
    rl_model *m = make(RL_CELL_TANH, H, RL_INIT_SYMMETRIC, 1.3, 0, 5);
    if (!m) return;
    const double *w = tensor(m, "rnn.weight_hh_l0", H, H);
    if (!w) {
        rl_model_free(m);
        return;
    }
    for (int i = 0; i < H; i++)
        for (int j = 0; j < i; j++) CHECK(w[i * H + j] == w[j * H + i]);
    /* the semicircle's edge: within a few percent at H = 200 */
    double r = spectral_radius(w, H);
    CHECK_MSG(fabs(r - 1.3) < 0.08, "spectral radius %g, want about 1.3", r);
    rl_model_free(m);
}

/* A tensor by name: the view of the parameter buffer when the shape is the
 * one asked for, NULL and a message naming what differs when not. */
TEST(model_view_checks_name_and_shape)
{
    rl_config c = {.cell = RL_CELL_GRU, .input_size = 3, .hidden_size = 4, .num_layers = 2, .output_size = 5, .loss = RL_LOSS_MSE};
    rl_model *m = NULL;
    CHECK_OK(rl_model_new(&m, &c, RL_F32));
    if (!m) return;
    const int64_t whh[2] = {12, 4}, bias[1] = {12}, wrong[2] = {4, 12};
    float *w = rl_model_view(m, "rnn.weight_hh_l1", 2, whh);
    const float *p = rl_model_params_const(m);
    int i = rl_model_find_tensor(m, "rnn.weight_hh_l1");
    CHECK(w && i >= 0 && w == p + rl_model_tensor(m, i)->offset);
    CHECK(rl_model_view_const(m, "rnn.bias_hh_l0", 1, bias) == (const void *)(p + rl_model_tensor(m, 3)->offset));
    if (w) w[5] = 2.5f; /* writes the model */
    CHECK(i >= 0 && p[rl_model_tensor(m, i)->offset + 5] == 2.5f);
    CHECK(rl_model_view(m, "rnn.weight_hh_l1", 2, wrong) == NULL);
    CHECK_MSG(strcmp(rl_errmsg(), "tensor 'rnn.weight_hh_l1' has shape (12, 4), not (4, 12)") == 0, "'%s'", rl_errmsg());
    CHECK(rl_model_view(m, "rnn.bias_hh_l0", 2, whh) == NULL && strstr(rl_errmsg(), "shape (12), not (12, 4)"));
    CHECK(rl_model_view(m, "rnn.weight_hh_l2", 2, whh) == NULL);
    CHECK_MSG(strstr(rl_errmsg(), "has no tensor 'rnn.weight_hh_l2'"), "'%s'", rl_errmsg());
    CHECK(rl_model_view(m, NULL, 2, whh) == NULL && rl_model_view(m, "head.bias", 1, NULL) == NULL);
    rl_model_free(m);
}

/* The init's defaults that depend on the sequences' length, in one place
 * for rnnlab train, gradcheck and the demo. */
TEST(init_for_steps_fills_the_length_defaults)
{
    rl_init a = {.kind = RL_INIT_CHRONO, .gain = 1};
    rl_init_for_steps(&a, RL_CELL_LSTM, 50);
    CHECK(a.t_max == 50 && a.recurrent_max == 0);
    rl_init_for_steps(&a, RL_CELL_LSTM, 80); /* set: kept */
    CHECK(a.t_max == 50);
    rl_init b = {.kind = RL_INIT_CHRONO, .gain = 1};
    rl_init_for_steps(&b, RL_CELL_GRU, 1); /* forgetting times in [2, T]: T at least 2 */
    CHECK(b.t_max == 2);
    rl_init c = {.kind = RL_INIT_UNIFORM, .gain = 1};
    rl_init_for_steps(&c, RL_CELL_INDRNN, 30);
    CHECK(c.t_max == 0 && c.recurrent_max == pow(2.0, 1.0 / 30));
    rl_init d = {.kind = RL_INIT_UNIFORM, .gain = 1}, d0 = d;
    rl_init_for_steps(&d, RL_CELL_TANH, 30); /* nothing a tanh cell with this init takes */
    CHECK(memcmp(&d, &d0, sizeof d) == 0);
    /* what it fills is accepted by the model's init */
    rl_config cfg = {.cell = RL_CELL_INDRNN, .input_size = 2, .hidden_size = 6, .num_layers = 1, .output_size = 1, .loss = RL_LOSS_MSE};
    rl_model *m = NULL;
    CHECK_OK(rl_model_new(&m, &cfg, RL_F64));
    if (m) CHECK_OK(rl_model_init(m, &c, 1));
    rl_model_free(m);
}
