/* Jacobians through time: against finite differences, PyTorch autograd and
 * the closed forms of the theory; Lyapunov exponents against known results. */
#include "nets.h"

#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "io/safetensors.h"

static double max_abs(const double *x, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs(x[i]));
    return m;
}

/* s_T of a B = 1 run of x (T, I) from state s0 (S; [h; c] per layer for LSTM). */
static void run_state(const rl_model *m, const double *x, int T, const double *s0, double *sT)
{
    rl_config c = rl_model_config(m);
    int H = rl_model_units(m), L = c.num_layers, lstm = rl_cell_states(c.cell) == 2;
    double *h0 = malloc((size_t)L * H * 8), *c0 = malloc((size_t)L * H * 8);
    for (int l = 0; l < L; l++) {
        memcpy(h0 + (size_t)l * H, s0 + (size_t)(lstm ? 2 : 1) * l * H, (size_t)H * 8);
        if (lstm) memcpy(c0 + (size_t)l * H, s0 + (size_t)2 * l * H + H, (size_t)H * 8);
    }
    rl_batch b = {RL_F64, 1, T, c.input_size, x, NULL, NULL, NULL, h0, lstm ? c0 : NULL};
    rl_jac *j = NULL;
    CHECK_OK(rl_jac_new(&j, m, &b, 0));
    if (j) CHECK_OK(rl_jac_state(j, T, sT));
    rl_jac_free(j);
    free(h0), free(c0);
}

/* d s_T / d s_0 over x (T, I) by central differences, column by column. */
static void fd_product(const rl_model *m, const double *x, int T, const double *s0, int S, double *P)
{
    double *sp = malloc(S * 8), *sm = malloc(S * 8), *s = malloc(S * 8), h = 1e-6;
    for (int j = 0; j < S; j++) {
        memcpy(s, s0, S * 8);
        s[j] = s0[j] + h;
        run_state(m, x, T, s, sp);
        s[j] = s0[j] - h;
        run_state(m, x, T, s, sm);
        for (int i = 0; i < S; i++) P[(size_t)i * S + j] = (sp[i] - sm[i]) / (2 * h);
    }
    free(sp), free(sm), free(s);
}

/* Every cell of the table, and each that can have one with an orthogonal
 * W_hh = B map(A) (exp on 1 and 3 layers, cayley on 2; X's strict lower
 * triangle nonzero, so that A != 0). */
TEST(jacobian_steps_and_products_match_finite_differences)
{
    for (int ci = 0; ci < RL_CELL_COUNT; ci++)
        for (int k = 0; k < 6; k++) {
            const int orth = k >= 3, L = k % 3 + 1;
            rl_config c = {.cell = (rl_cell)ci, .input_size = 3, .hidden_size = 5, .num_layers = L, .output_size = 2, .loss = RL_LOSS_MSE};
            rl_init init = {.kind = RL_INIT_UNIFORM, .gain = 1};
            rl_orth map = !orth ? RL_ORTH_NONE : L == 2 ? RL_ORTH_CAYLEY : RL_ORTH_EXP;
            rl_model *m = NULL;
            rl_data *d = NULL;
            rl_jac *j = NULL;
            if (orth && rl_model_new_orth(&m, &c, RL_F64, map) == RL_ERR_ARG) continue; /* not for this cell */
            if (!orth) CHECK_OK(rl_model_new(&m, &c, RL_F64));
            if (!m) continue;
            CHECK_OK(rl_model_init(m, &init, 10 + L));
            for (int l = 0; orth && l < L; l++) {
                double *x = test_view_l(m, "rnn.parametrizations.weight_hh_l%d.original", l, 5, 5);
                for (int i = 0; x && i < 5; i++)
                    for (int q = 0; q < i; q++) x[i * 5 + q] = 0.3 * (i - 2 * q) + 0.1 * l;
            }
            const int T = 6, S = rl_state_size(m);
            CHECK_OK(rl_data_random(&d, m, 2, T, RL_F64, 1, 1, 20 + L));
            if (d) CHECK_OK(rl_jac_new(&j, m, rl_data_batch(d), 1));
            if (!j) goto next;
            CHECK(rl_jac_state_size(j) == S && rl_jac_steps(j) == T);
            const rl_batch *b = rl_data_batch(d);
            const double *x1 = (const double *)b->x + (size_t)T * 3; /* sequence 1 */
            double *J = malloc((size_t)S * S * 8), *F = malloc((size_t)S * S * 8), *s = malloc(S * 8), scale;
            char what[64];
            /* J_t against a one-step difference from s_{t-1} */
            for (int t = 1; t <= T; t++) {
                CHECK_OK(rl_jac_step(j, t, J));
                CHECK_OK(rl_jac_state(j, t - 1, s));
                fd_product(m, x1 + (size_t)(t - 1) * 3, 1, s, S, F);
                snprintf(what, sizeof what, "%s%s L=%d J_%d", rl_cell_name((rl_cell)ci), orth ? " orthogonal" : "", L, t);
                CHECK_CLOSE(what, J, RL_F64, F, (size_t)S * S, 1e-7, 1e-8 * max_abs(F, (size_t)S * S));
            }
            /* P(T, 0) against a difference of the whole run; the difference
             * itself is good to about 1e-16 / 1e-6 (roundoff of states of order
             * 1 over the step), which matters where P is small (IndRNN: products
             * of u over the steps) */
            CHECK_OK(rl_jac_product(j, T, 0, J, &scale));
            for (int i = 0; i < S * S; i++) J[i] *= exp(scale);
            CHECK_OK(rl_jac_state(j, 0, s));
            fd_product(m, x1, T, s, S, F);
            snprintf(what, sizeof what, "%s%s L=%d P(T,0)", rl_cell_name((rl_cell)ci), orth ? " orthogonal" : "", L);
            CHECK_CLOSE(what, J, RL_F64, F, (size_t)S * S, 1e-6, fmax(1e-8 * max_abs(F, (size_t)S * S), 1e-9));
            free(J), free(F), free(s);
        next:
            rl_jac_free(j);
            rl_data_free(d);
            rl_model_free(m);
        }
}

static const char *const jac_cases[] = {"tanh_l1_ce",  "relu_l2_mse",     "linear_l3_ce", "tanh_l2_mse",
                                        "relu_l3_ce",  "tanh_l3_mse_long", "lstm_l1_ce",   "lstm_l2_mse",
                                        "lstm_l3_ce_long", "gru_l1_mse",   "gru_l2_ce",    "gru_l3_mse_long",
                                        "leaky_l1_ce",     "leaky_l2_mse_h1", "leaky_l3_ce", "leaky_l2_mse_long",
                                        "indrnn_l1_mse",   "indrnn_l2_ce_h1", "indrnn_l3_mse_long",
                                        "orth_exp_tanh_l1_ce", "orth_cayley_tanh_l2_mse", "orth_exp_relu_l2_ce",
                                        "orth_cayley_relu_l1_mse", "orth_exp_linear_l1_mse_long",
                                        "orth_cayley_linear_l3_ce", "orth_exp_tanh_l2_mse_h1",
                                        "orth_cayley_tanh_l1_ce_registered", "orth_exp_tanh_l3_ce_long",
                                        "rnnlab_made_orth_exp_tanh_l2", "rnnlab_made_orth_cayley_linear_l1",
                                        "rnnlab_made_orth_exp_relu_l1", "orth_exp_leaky_l2_mse", "orth_cayley_leaky_l1_ce",
                                        "rnnlab_made_orth_cayley_leaky_l2",
                                        "modrelu_l1_ce", "modrelu_l2_mse_h1", "modrelu_l3_mse_long", "modrelu_l1_mse_edges",
                                        "orth_exp_modrelu_l2_ce", "orth_cayley_modrelu_l1_mse",
                                        "rnnlab_made_orth_exp_modrelu_l2",
                                        "mingru_l1_mse", "mingru_l2_ce", "mingru_l3_mse_long", "minlstm_l1_ce",
                                        "minlstm_l2_mse_h1", "minlstm_l3_ce_long", "lru_l1_ce", "lru_l1_mse_h1",
                                        "lru_l2_mse_linear", "lru_l2_ce_relu", "lru_l3_mse_tanh_long", "lru_l2_ce_gelu_long"};

/* The fixtures hold torch.autograd.functional.jacobian of the step map and
 * of the whole run (tools/make_fixtures.py). */
TEST(jacobian_matches_torch_autograd)
{
    for (size_t ci = 0; ci < sizeof jac_cases / sizeof jac_cases[0]; ci++) {
        test_net net = TEST_CASE(jac_cases[ci], "jac", .dtype = RL_F64, .jac = 1);
        rl_jac *j = net.j;
        const st_tensor *tj = st_find(&net.ref, "J"), *tp = st_find(&net.ref, "P");
        if (j && tj && tp) {
            int T = rl_jac_steps(j), S = rl_jac_state_size(j);
            size_t SS = (size_t)S * S;
            CHECK(tj->numel == (size_t)T * SS && tp->numel == SS);
            double *want = malloc(tj->numel * 8), *got = malloc(SS * 8), *p = malloc(SS * 8), scale = 0;
            CHECK_OK(st_get_real(&net.ref, tj, RL_F64, want));
            for (int t = 1; t <= T; t++) {
                CHECK_OK(rl_jac_step(j, t, got));
                CHECK_CLOSE(jac_cases[ci], got, RL_F64, want + (size_t)(t - 1) * SS, SS, 1e-9,
                            1e-13 * max_abs(want + (size_t)(t - 1) * SS, SS));
            }
            CHECK_OK(st_get_real(&net.ref, tp, RL_F64, p));
            CHECK_OK(rl_jac_product(j, T, 0, got, &scale));
            for (size_t i = 0; i < SS; i++) got[i] *= exp(scale);
            CHECK_CLOSE(jac_cases[ci], got, RL_F64, p, SS, 1e-9, 1e-12 * max_abs(p, SS));
            /* the lag sweep gives the same P(T, 0) */
            rl_lag_stats st = {0};
            double *P2 = malloc(SS * 8), s2 = 0;
            st.P = P2, st.P_log_scale = &s2;
            CHECK_OK(rl_jac_lags(j, &st));
            for (size_t i = 0; i < SS; i++) P2[i] *= exp(s2);
            CHECK_CLOSE(jac_cases[ci], P2, RL_F64, p, SS, 1e-9, 1e-12 * max_abs(p, SS));
            free(want), free(got), free(p), free(P2);
        }
        test_net_free(&net);
    }
}

/* A linear RNN with zero input, zero biases and W_hh = Q diag(lambda) Q^T. */
static rl_model *linear_model(int H, const double *lambda, int normal, uint64_t seed)
{
    rl_config c = {.cell = RL_CELL_LINEAR, .input_size = 1, .hidden_size = H, .num_layers = 1, .output_size = 1, .loss = RL_LOSS_MSE};
    rl_init init = {.kind = RL_INIT_ORTHOGONAL, .gain = 1, .zero_bias = 1};
    rl_model *m = NULL;
    CHECK_OK(rl_model_new(&m, &c, RL_F64));
    if (!m) return NULL;
    CHECK_OK(rl_model_init(m, &init, seed)); /* W_hh = Q, orthogonal */
    double *w = test_view(m, "rnn.weight_hh_l0", H, H), *q = malloc((size_t)H * H * 8);
    if (!w || !q) {
        free(q);
        rl_model_free(m);
        return NULL;
    }
    memcpy(q, w, (size_t)H * H * 8);
    /* normal: Q diag(lambda) Q^T; otherwise Q (diag(lambda) + N) Q^T with N
     * strictly upper triangular: the same eigenvalues, a non-normal matrix */
    for (int i = 0; i < H; i++)
        for (int k = 0; k < H; k++) {
            double v = 0;
            for (int a = 0; a < H; a++)
                for (int b = 0; b < H; b++) {
                    double mid = a == b ? lambda[a] : (!normal && b > a ? 0.8 : 0);
                    v += q[i * H + a] * mid * q[k * H + b];
                }
            w[i * H + k] = v;
        }
    free(q);
    return m;
}

TEST(theorem_linear_symmetric_is_exact)
{
    const int H = 6, T = 30;
    const double lambda[6] = {1.05, -0.98, 0.95, 0.9, -0.85, 0.8};
    rl_model *m = linear_model(H, lambda, 1, 3);
    if (!m) return;
    double x[30] = {0}, y[30] = {0}, h0[6] = {1, 0, 0, 0, 0, 0};
    rl_batch b = {RL_F64, 1, T, 1, x, NULL, y, NULL, h0, NULL};
    rl_jac *j = NULL;
    CHECK_OK(rl_jac_new(&j, m, &b, 0));
    double buf[5 * 6];
    rl_theorem th = {buf, buf + 6, buf + 12, buf + 18, buf + 24, 0, 0, 0, 0};
    if (j) CHECK_OK(rl_jac_theorem(j, 0, &th));
    /* eig(dh_T/dh_0) = lambda^T, sorted by modulus */
    for (int i = 0; i < H; i++) {
        double want_log = T * log(fabs(lambda[i])), want_arg = lambda[i] < 0 && T % 2 ? M_PI : 0;
        CHECK_MSG(fabs(exp(th.eig_log_abs[i] - want_log) - 1) < 1e-10, "|eig %d| = e^%.15g, want e^%.15g", i,
                  th.eig_log_abs[i], want_log);
        CHECK(fabs(remainder(th.eig_arg[i] - want_arg, 2 * M_PI)) < 1e-10);
    }
    CHECK(th.resolved == H);
    CHECK_MSG(th.eig_dev < 1e-10, "eig_dev %g", th.eig_dev);
    CHECK_MSG(th.sv_dev < 1e-10, "sv_dev %g", th.sv_dev);
    /* orthonormal eigenvectors: kappa_1(V) = ||V||_1 ||V^T||_1 <= H */
    CHECK_MSG(th.v_cond >= 1 - 1e-12 && th.v_cond <= H + 1e-9, "v_cond %g", th.v_cond);
    rl_jac_free(j);
    rl_model_free(m);
}

TEST(theorem_reports_the_deviation)
{
    const int H = 6, T = 30;
    const double lambda[6] = {1.05, -0.98, 0.95, 0.9, -0.85, 0.8};
    double x[30] = {0}, y[30] = {0}, h0[6] = {1, 0, 0, 0, 0, 0}, buf[5 * 6];
    rl_batch b = {RL_F64, 1, T, 1, x, NULL, y, NULL, h0, NULL};
    /* non-normal W_hh: the J_t still commute (all equal), so eig(P) is the
     * matched product, but the singular values no longer follow |lambda|^T */
    rl_model *m = linear_model(H, lambda, 0, 3);
    rl_jac *j = NULL;
    rl_theorem th = {buf, buf + 6, buf + 12, buf + 18, buf + 24, 0, 0, 0, 0};
    if (m) CHECK_OK(rl_jac_new(&j, m, &b, 0));
    if (j) CHECK_OK(rl_jac_theorem(j, 0, &th));
    CHECK_MSG(th.eig_dev < 1e-6, "non-normal: eig_dev %g", th.eig_dev);
    CHECK_MSG(th.sv_dev > 0.5, "non-normal: sv_dev %g", th.sv_dev);
    CHECK_MSG(th.v_cond > H && isfinite(th.v_cond), "non-normal: v_cond %g", th.v_cond);
    rl_jac_free(j);
    rl_model_free(m);
    /* tanh with inputs: diag(1 - h_t^2) changes with t, the J_t do not commute */
    rl_config c = {.cell = RL_CELL_TANH, .input_size = 2, .hidden_size = 8, .num_layers = 1, .output_size = 1, .loss = RL_LOSS_MSE};
    double buf2[5 * 8];
    rl_theorem th2 = {buf2, buf2 + 8, buf2 + 16, buf2 + 24, buf2 + 32, 0, 0, 0, 0};
    test_net net = TEST_NET(.cfg = c, .dtype = RL_F64, .init = &(const rl_init){.kind = RL_INIT_GAUSSIAN, .gain = 1.5},
                            .seed = 5, .batch = 1, .steps = 20, .h0 = 1, .data_seed = 6, .jac = 1);
    if (net.j) CHECK_OK(rl_jac_theorem(net.j, 0, &th2));
    CHECK_MSG(th2.eig_dev > 0.1, "tanh: eig_dev %g", th2.eig_dev);
    /* over one step the check is exact by construction */
    if (net.j) CHECK_OK(rl_jac_theorem(net.j, 19, &th2));
    CHECK_MSG(th2.eig_dev < 1e-8, "one step: eig_dev %g", th2.eig_dev);
    test_net_free(&net);
}

/* The BPTT view: for one layer the state is h, and the J^T recursion gives
 * the backward pass's dL/dh_tau. */
TEST(lag_gradients_agree_with_bptt)
{
    rl_config c = {.cell = RL_CELL_TANH, .input_size = 3, .hidden_size = 7, .num_layers = 1, .output_size = 4, .loss = RL_LOSS_CE};
    test_net net = TEST_NET(.cfg = c, .dtype = RL_F64, .init = &(const rl_init){.kind = RL_INIT_GAUSSIAN, .gain = 1.2},
                            .seed = 8, .batch = 3, .steps = 25, .mask = 1, .h0 = 1, .data_seed = 9, .jac = 1, .jac_seq = 2);
    if (!net.j) return;
    double a[26] = {0}, b[26] = {0}, l[26] = {0}, n[26] = {0}, f[26] = {0};
    rl_lag_stats st = {.log_norm = n, .log_fro = f, .log_grad_state = a, .log_grad_bptt = b, .log_grad_last = l};
    CHECK_OK(rl_jac_lags(net.j, &st));
    for (int tau = 0; tau <= 25; tau++) CHECK_MSG(fabs(a[tau] - b[tau]) < 1e-12, "tau %d: %.15g vs %.15g", tau, a[tau], b[tau]);
    CHECK(fabs(n[25]) < 1e-14 && fabs(f[25] - 0.5 * log(7)) < 1e-14); /* P(T, T) = I */
    for (int tau = 0; tau <= 25; tau++) CHECK(n[tau] <= f[tau] + 1e-12 && f[tau] <= n[tau] + 0.5 * log(7) + 1e-12);
    /* the last step's part is the full gradient at tau = T, and never larger
     * than ||P(T, tau)|| ||g_T|| */
    CHECK(fabs(l[25] - a[25]) < 1e-15);
    for (int tau = 0; tau < 25; tau++) CHECK(l[tau] <= n[tau] + l[25] + 1e-12);
    test_net_free(&net);
}

static rl_model *random_tanh(int H, double gain, uint64_t seed)
{
    rl_config c = {.cell = RL_CELL_TANH, .input_size = 1, .hidden_size = H, .num_layers = 1, .output_size = 1, .loss = RL_LOSS_MSE};
    rl_init init = {.kind = RL_INIT_GAUSSIAN, .gain = gain, .zero_bias = 1};
    rl_model *m = NULL;
    CHECK_OK(rl_model_new(&m, &c, RL_F64));
    if (m) CHECK_OK(rl_model_init(m, &init, seed));
    return m;
}

static int cmp_desc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* At the fixed point h = 0 (zero input and biases, h0 = 0) J_t = W_hh for
 * every t: the exponents are ln|eig(W_hh)|. */
TEST(lyapunov_fixed_point_is_log_eig)
{
    const int H = 20;
    rl_model *m = random_tanh(H, 0.9, 4);
    if (!m) return;
    double ex[20], wr[20], wi[20], w[400], want[20];
    rl_lyap_config cfg = {.steps = 3000, .transient = 100, .k = H, .input = RL_INPUT_ZEROS, .state = RL_STATE_ZEROS};
    CHECK_OK(rl_lyapunov(m, NULL, 0, &cfg, ex, NULL));
    const double *whh = test_view(m, "rnn.weight_hh_l0", H, H);
    if (whh) memcpy(w, whh, sizeof w);
    CHECK(LAPACKE_dgeev(LAPACK_ROW_MAJOR, 'N', 'N', H, w, H, wr, wi, NULL, 1, NULL, 1) == 0);
    for (int i = 0; i < H; i++) want[i] = log(hypot(wr[i], wi[i]));
    qsort(want, H, sizeof *want, cmp_desc);
    for (int i = 0; i < H; i++)
        CHECK_MSG(fabs(ex[i] - want[i]) < 0.02, "exponent %d: %.6g, ln|eig| %.6g", i, ex[i], want[i]);
    rl_model_free(m);
}

/* Random tanh networks W ~ N(0, g^2/H): a stable origin for g < 1, chaos for
 * g large (Sompolinsky, Crisanti, Sommers 1988). */
TEST(lyapunov_order_and_chaos)
{
    const int H = 200;
    double ex[4];
    rl_lyap_config cfg = {.steps = 2000, .transient = 200, .k = 4, .input = RL_INPUT_ZEROS, .state = RL_STATE_RANDOM,
                          .seed = 1};
    rl_model *m = random_tanh(H, 0.5, 11);
    if (m) CHECK_OK(rl_lyapunov(m, NULL, 0, &cfg, ex, NULL));
    CHECK_MSG(ex[0] < -0.3, "g = 0.5: largest exponent %.4g", ex[0]);
    rl_model_free(m);
    m = random_tanh(H, 3, 12);
    if (m) CHECK_OK(rl_lyapunov(m, NULL, 0, &cfg, ex, NULL));
    CHECK_MSG(ex[0] > 0.1, "g = 3: largest exponent %.4g", ex[0]);
    for (int i = 1; i < 4; i++) CHECK(ex[i] <= ex[i - 1]);
    rl_model_free(m);
}

/* T = 10,000 steps: the per-lag log-norms stay finite at gain 3 (growth
 * e^{0.3 T}) and 0.3 (decay), and the slope of ln||P(T, T-k)|| against k is
 * the largest Lyapunov exponent. */
TEST(long_products_stay_finite)
{
    const int H = 32, T = 10000;
    double *x = calloc(T, sizeof *x), *h0 = calloc(H, sizeof *h0), *n = calloc(T + 1, sizeof *n);
    rl_rng r;
    rl_rng_seed(&r, 3);
    for (int i = 0; i < H; i++) h0[i] = 2 * rl_rng_uniform(&r) - 1;
    const double gains[2] = {3, 0.3};
    for (int gi = 0; gi < 2; gi++) {
        rl_model *m = random_tanh(H, gains[gi], 21);
        rl_jac *j = NULL;
        rl_batch b = {RL_F64, 1, T, 1, x, NULL, NULL, NULL, h0, NULL};
        if (m) CHECK_OK(rl_jac_new(&j, m, &b, 0));
        rl_lag_stats st = {.log_norm = n};
        if (j) CHECK_OK(rl_jac_lags(j, &st));
        int finite = 1;
        for (int t = 0; t <= T; t++) finite &= isfinite(n[t]);
        CHECK_MSG(finite, "gain %g: a lag log-norm is not finite", gains[gi]);
        /* least-squares slope of ln||P(T, T-k)|| over k in [1000, T] */
        double sk = 0, sy = 0, skk = 0, sky = 0, cnt = 0;
        for (int k = 1000; k <= T; k++) {
            double y = n[T - k];
            sk += k, sy += y, skk += (double)k * k, sky += k * y, cnt++;
        }
        double slope = (cnt * sky - sk * sy) / (cnt * skk - sk * sk), ex[1];
        rl_lyap_config cfg = {.steps = 9000, .transient = 1000, .k = 1, .input = RL_INPUT_ZEROS, .state = RL_STATE_DATA};
        if (m) CHECK_OK(rl_lyapunov(m, &b, 0, &cfg, ex, NULL));
        CHECK_MSG(fabs(slope - ex[0]) < 0.03, "gain %g: slope %.4g, largest exponent %.4g", gains[gi], slope, ex[0]);
        CHECK_MSG(gi == 0 ? n[0] > 1000 : n[0] < -1000, "gain %g: ln||P(T, 0)|| = %g", gains[gi], n[0]);
        rl_jac_free(j);
        rl_model_free(m);
    }
    free(x), free(h0), free(n);
}

/* Pascanu et al. 2013, section 2.1: with |tanh'| <= 1, a largest singular
 * value of W_hh below 1 is sufficient for vanishing gradients:
 * ||P(T, tau)||_2 <= sigma_max(W_hh)^(T - tau). */
TEST(pascanu_sufficient_condition)
{
    rl_config c = {.cell = RL_CELL_TANH, .input_size = 2, .hidden_size = 16, .num_layers = 1, .output_size = 1, .loss = RL_LOSS_MSE};
    test_net net = TEST_NET(.cfg = c, .dtype = RL_F64, .init = &(const rl_init){.kind = RL_INIT_ORTHOGONAL, .gain = 0.9},
                            .seed = 2, .batch = 1, .steps = 60, .h0 = 1, .data_seed = 3, .jac = 1);
    rl_jac *j = net.j;
    double n[61];
    rl_lag_stats st = {.log_norm = n};
    if (j) CHECK_OK(rl_jac_lags(j, &st));
    for (int tau = 0; j && tau <= 60; tau++)
        CHECK_MSG(n[tau] <= (60 - tau) * log(0.9) + 1e-12, "lag %d: ln||P|| = %g > %g", 60 - tau, n[tau], (60 - tau) * log(0.9));
    /* and strictly below it once the units saturate: tanh' < 1 */
    CHECK(j && n[0] < 60 * log(0.9) - 0.1);
    test_net_free(&net);
}

/* The gated cells at their fixed point: zero input, zero biases, zero state
 * give sigma = 1/2 for every gate and tanh = 0, so J is constant:
 *   GRU:  J = I/2 + W_hn/4
 *   LSTM: J = [[W_hg/4, I/4], [W_hg/2, I/2]]  (state [h; c])
 * and the Lyapunov exponents are ln|eig(J)|. */
TEST(lyapunov_gated_fixed_points)
{
    const int H = 10;
    rl_cell cells[2] = {RL_CELL_GRU, RL_CELL_LSTM};
    for (int ci = 0; ci < 2; ci++) {
        rl_config c = {.cell = cells[ci], .input_size = 1, .hidden_size = H, .num_layers = 1, .output_size = 1, .loss = RL_LOSS_MSE};
        rl_init init = {.kind = RL_INIT_GAUSSIAN, .gain = 2.5, .zero_bias = 1};
        rl_model *m = NULL;
        CHECK_OK(rl_model_new(&m, &c, RL_F64));
        if (!m) continue;
        CHECK_OK(rl_model_init(m, &init, 31));
        const double *w = test_view(m, "rnn.weight_hh_l0", rl_cell_gates(cells[ci]) * H, H);
        if (!w) {
            rl_model_free(m);
            continue;
        }
        int S = rl_state_size(m);
        double *J = calloc((size_t)S * S, 8), *wr = malloc(S * 8), *wi = malloc(S * 8), *want = malloc(S * 8), *ex = malloc(S * 8);
        for (int i = 0; i < H; i++)
            for (int k = 0; k < H; k++) {
                if (cells[ci] == RL_CELL_GRU) {
                    J[i * S + k] = w[(size_t)(2 * H + i) * H + k] / 4 + (i == k) / 2.0;
                } else {
                    double wg = w[(size_t)(2 * H + i) * H + k];
                    J[i * S + k] = wg / 4, J[i * S + H + k] = (i == k) / 4.0;
                    J[(H + i) * S + k] = wg / 2, J[(H + i) * S + H + k] = (i == k) / 2.0;
                }
            }
        CHECK(LAPACKE_dgeev(LAPACK_ROW_MAJOR, 'N', 'N', S, J, S, wr, wi, NULL, 1, NULL, 1) == 0);
        for (int i = 0; i < S; i++) want[i] = log(hypot(wr[i], wi[i]));
        qsort(want, S, sizeof *want, cmp_desc);
        /* LSTM's J = [1/4; 1/2] [W_hg, I] has rank H: the other H exponents are
         * -inf (what a solver returns there is rounding); compare the top H */
        int k = H;
        rl_lyap_config cfg = {.steps = 3000, .transient = 100, .k = k, .input = RL_INPUT_ZEROS, .state = RL_STATE_ZEROS};
        CHECK_OK(rl_lyapunov(m, NULL, 0, &cfg, ex, NULL));
        for (int i = 0; i < k; i++)
            CHECK_MSG(fabs(ex[i] - want[i]) < 0.02, "%s exponent %d: %.6g, ln|eig J| %.6g", rl_cell_name(cells[ci]), i,
                      ex[i], want[i]);
        free(J), free(wr), free(wi), free(want), free(ex);
        rl_model_free(m);
    }
}

/* Every cell, two layers: the J^T recursion's dL/ds_0 (log_grad_state at
 * tau = 0, every direct term on the way, through an output map where the
 * cell has one) has the norm of the loss's gradient with respect to the
 * initial state, by central differences of the loss. */
TEST(lag_gradients_reach_the_initial_state_for_every_cell)
{
    for (int k = 0; k < RL_CELL_COUNT; k++) {
        rl_config c = {.cell = (rl_cell)k, .input_size = 2, .hidden_size = 4, .num_layers = 2, .output_size = 3,
                       .loss = RL_LOSS_MSE, .state_size = k == RL_CELL_LRU ? 3 : 0};
        rl_init init = {.kind = RL_INIT_GAUSSIAN, .gain = 1.1}, plain = {.kind = RL_INIT_UNIFORM, .gain = 1};
        rl_model *m = NULL;
        rl_data *d = NULL;
        rl_jac *j = NULL;
        CHECK_OK(rl_model_new(&m, &c, RL_F64));
        if (m && rl_model_init(m, &init, 21 + k)) CHECK_OK(rl_model_init(m, &plain, 21 + k)); /* no matrix to draw */
        if (m) CHECK_OK(rl_data_random(&d, m, 1, 9, RL_F64, 0, 1, 5 + k));
        if (!d) goto next;
        rl_batch b = *rl_data_batch(d);
        const int U = rl_model_units(m), H = c.hidden_size, two = rl_cell_states(c.cell) == 2;
        const int nh = c.num_layers * U, nc = two ? c.num_layers * H : 0;
        double h0[64] = {0}, c0[64] = {0}, g2 = 0;
        CHECK(nh <= 64 && nc <= 64);
        if (nh > 64 || nc > 64) goto next;
        memcpy(h0, b.h0, (size_t)nh * sizeof *h0);
        if (two && b.c0) memcpy(c0, b.c0, (size_t)nc * sizeof *c0);
        b.h0 = h0, b.c0 = two ? c0 : NULL;
        for (int i = 0; i < nh + nc; i++) {
            double *v = i < nh ? &h0[i] : &c0[i - nh], keep = *v, lp = 0, lm = 0;
            const double e = 1e-6;
            for (int sgn = 0; sgn < 2; sgn++) {
                *v = keep + (sgn ? -e : e);
                CHECK_OK(rl_jac_new(&j, m, &b, 0));
                if (j) *(sgn ? &lm : &lp) = rl_jac_loss(j);
                rl_jac_free(j), j = NULL;
            }
            *v = keep;
            g2 += ((lp - lm) / (2 * e)) * ((lp - lm) / (2 * e));
        }
        CHECK_OK(rl_jac_new(&j, m, &b, 0));
        double a[10] = {0};
        rl_lag_stats st = {.log_grad_state = a};
        if (j) CHECK_OK(rl_jac_lags(j, &st));
        CHECK_MSG(j && fabs(a[0] - 0.5 * log(g2)) < 1e-6, "%s: ln||dL/ds_0|| %.10g, by differences %.10g", rl_cell_name(c.cell),
                  a[0], 0.5 * log(g2));
    next:
        rl_jac_free(j);
        rl_data_free(d);
        rl_model_free(m);
    }
}

/* A model of cell c (L layers, H units; an lru with N = 3), its parameters
 * uniform, biases included. */
static rl_model *diag_model(rl_cell cell, int L, int H, uint64_t seed)
{
    rl_config c = {.cell = cell, .input_size = 2, .hidden_size = H, .num_layers = L, .output_size = 1, .loss = RL_LOSS_MSE,
                   .state_size = cell == RL_CELL_LRU ? 3 : 0};
    rl_init init = {.kind = RL_INIT_UNIFORM, .gain = 1, .r_min = 0.5, .r_max = 0.99};
    if (cell != RL_CELL_LRU) init.r_min = init.r_max = 0;
    rl_model *m = NULL;
    CHECK_OK(rl_model_new(&m, &c, RL_F64));
    if (m && rl_model_init(m, &init, seed)) {
        rl_model_free(m);
        return NULL;
    }
    return m;
}

/* Orvieto et al.'s lambda = exp(-exp(nu) + i exp(theta)): the lru's
 * exponents are ln|lambda_j| = -exp(nu_j), each twice (the real and the
 * imaginary row of a unit), layer after layer, whatever the input, and
 * rnnlab says it found them from the structure. */
TEST(lyapunov_of_an_lru_is_ln_abs_lambda)
{
    rl_model *m = diag_model(RL_CELL_LRU, 2, 4, 3);
    if (!m) return;
    const int S = rl_state_size(m);
    CHECK(S == 12);
    double ex[12], want[12] = {0};
    for (int l = 0; l < 2; l++) {
        char name[32];
        snprintf(name, sizeof name, "rnn.nu_log_l%d", l);
        const double *nu = rl_model_view_const(m, name, 1, (const int64_t[]){3});
        for (int j = 0; nu && j < 3; j++) want[6 * l + 2 * j] = want[6 * l + 2 * j + 1] = -exp(nu[j]);
    }
    qsort(want, 12, sizeof *want, cmp_desc);
    for (int input = 0; input < 2; input++) {
        rl_lyap_config cfg = {.steps = 500, .transient = 50, .k = S, .input = input ? RL_INPUT_NOISE : RL_INPUT_ZEROS,
                              .noise_std = 1, .state = RL_STATE_RANDOM, .seed = 7};
        rl_lyap_info info = {0};
        CHECK_OK(rl_lyapunov_ex(m, NULL, 0, &cfg, ex, NULL, &info));
        CHECK(info.structured == 1);
        for (int i = 0; i < S; i++)
            CHECK_MSG(fabs(ex[i] - want[i]) < 1e-12, "input %d, exponent %d: %.15g, -exp(nu) %.15g", input, i, ex[i], want[i]);
    }
    rl_model_free(m);
}

/* With zero input a minGRU's gate is z = sigma(b_z), so J_t = diag(1 - z)
 * and the exponents are ln(1 - sigma(b_z)); a minLSTM's J_t = diag(f / (f +
 * i)), f = sigma(b_f), i = sigma(b_i): ln(sigma(b_f) / (sigma(b_f) + sigma(b_i))). */
TEST(lyapunov_of_min_cells_under_zero_input)
{
    for (int k = 0; k < 2; k++) {
        const int H = 6;
        rl_model *m = diag_model(k ? RL_CELL_MINLSTM : RL_CELL_MINGRU, 1, H, 11);
        if (!m) continue;
        const double *b = rl_model_view_const(m, "rnn.bias_ih_l0", 1, (const int64_t[]){(k ? 3 : 2) * H});
        double ex[6], want[6] = {0};
        for (int j = 0; b && j < H; j++) {
            const double s0 = 1 / (1 + exp(-b[j])), s1 = 1 / (1 + exp(-b[H + j]));
            want[j] = k ? log(s0 / (s0 + s1)) : log(1 - s0);
        }
        qsort(want, H, sizeof *want, cmp_desc);
        rl_lyap_config cfg = {.steps = 300, .transient = 10, .k = H, .input = RL_INPUT_ZEROS, .state = RL_STATE_RANDOM, .seed = 2};
        rl_lyap_info info = {0};
        CHECK_OK(rl_lyapunov_ex(m, NULL, 0, &cfg, ex, NULL, &info));
        CHECK(info.structured == 1);
        for (int i = 0; i < H; i++)
            CHECK_MSG(fabs(ex[i] - want[i]) < 1e-12, "%s exponent %d: %.15g, closed form %.15g", k ? "minlstm" : "mingru", i,
                      ex[i], want[i]);
        rl_model_free(m);
    }
}

/* The structured exponents are those of the product itself: over a data
 * sequence of T steps (no transient), for every cell with an elementwise
 * recurrence and two layers, (1/T) ln|P(T,0)[i,i]| (a complex unit: half
 * the log of its 2 x 2 block's determinant) from the Jacobian tools, sorted.
 * A dense recurrence (tanh) is not structured. */
TEST(lyapunov_structured_equals_the_products_diagonal)
{
    const rl_cell cells[] = {RL_CELL_INDRNN, RL_CELL_MINGRU, RL_CELL_MINLSTM, RL_CELL_LRU, RL_CELL_TANH};
    for (size_t k = 0; k < sizeof cells / sizeof cells[0]; k++) {
        rl_model *m = diag_model(cells[k], 2, 3, 5 + k);
        rl_data *d = NULL;
        rl_jac *j = NULL;
        if (m) CHECK_OK(rl_data_random(&d, m, 1, 40, RL_F64, 0, 1, 9));
        if (d) CHECK_OK(rl_jac_new(&j, m, rl_data_batch(d), 0));
        if (!j) goto next;
        const int S = rl_state_size(m), T = 40, U = rl_model_units(m);
        double P[144], scale = 0, ex[12], want[12] = {0};
        rl_lag_stats st = {.P = P, .P_log_scale = &scale};
        CHECK(S <= 12);
        CHECK_OK(rl_jac_lags(j, &st));
        for (int i = 0; i < S; i++) {
            if (cells[k] != RL_CELL_LRU) {
                want[i] = (log(fabs(P[(size_t)i * S + i])) + scale) / T;
                continue;
            }
            const int l0 = i / U * U, p = l0 + (i - l0) % (U / 2), q = p + U / 2;
            const double det = P[(size_t)p * S + p] * P[(size_t)q * S + q] - P[(size_t)p * S + q] * P[(size_t)q * S + p];
            want[i] = (0.5 * log(fabs(det)) + scale) / T;
        }
        qsort(want, (size_t)S, sizeof *want, cmp_desc);
        rl_lyap_config cfg = {.steps = T, .transient = 0, .k = S, .input = RL_INPUT_DATA, .state = RL_STATE_DATA};
        rl_lyap_info info = {0};
        CHECK_OK(rl_lyapunov_ex(m, rl_data_batch(d), 0, &cfg, ex, NULL, &info));
        CHECK_MSG(info.structured == (cells[k] != RL_CELL_TANH), "%s", rl_cell_name(cells[k]));
        for (int i = 0; cells[k] != RL_CELL_TANH && i < S; i++)
            CHECK_MSG(fabs(ex[i] - want[i]) < 1e-10 || (ex[i] == -INFINITY && want[i] == -INFINITY), /* a ReLU unit at 0 */
                      "%s exponent %d: %.15g, from the product %.15g", rl_cell_name(cells[k]), i, ex[i], want[i]);
    next:
        rl_jac_free(j);
        rl_data_free(d);
        rl_model_free(m);
    }
}

/* An lru's per-lag gradient (the flow record's lag_log_grad) is its state's
 * dL/dx_tau: with one layer exactly the J^T recursion's ln||dL/ds_tau||, and
 * finite at every lag for a loss on the last step alone (its output y_tau
 * reaches the loss only through step tau's head: the output's gradient was
 * an exact 0 at every earlier step, -inf in the record). */
TEST(lru_lag_gradient_is_its_states)
{
    rl_config c = {.cell = RL_CELL_LRU, .input_size = 2, .hidden_size = 4, .num_layers = 1, .output_size = 1,
                   .loss = RL_LOSS_MSE, .state_size = 3};
    const int T = 12;
    test_net net = TEST_NET(.cfg = c, .dtype = RL_F64, .init = &test_uniform, .seed = 7, .batch = 1, .steps = T, .data_seed = 3);
    rl_jac *j = NULL;
    if (!net.m) return;
    rl_batch b = *net.b;
    double mask[12] = {0}, bp[13], gs[13];
    mask[T - 1] = 1; /* the loss on the last step */
    b.mask = mask;
    CHECK_OK(rl_jac_new(&j, net.m, &b, 0));
    rl_lag_stats st = {.log_grad_bptt = bp, .log_grad_state = gs};
    if (j) CHECK_OK(rl_jac_lags(j, &st));
    for (int tau = 0; j && tau <= T; tau++) {
        CHECK_MSG(isfinite(bp[tau]), "lag_log_grad[%d] = %g", tau, bp[tau]);
        CHECK_MSG(fabs(bp[tau] - gs[tau]) < 1e-12, "tau %d: %.15g against the recursion's %.15g", tau, bp[tau], gs[tau]);
    }
    rl_jac_free(j);
    test_net_free(&net);
}

/* ln ||P(T, tau)||_2 of every lag by dgesdd on rl_jac_product's P: the
 * reference for rl_jac_lags's Lanczos norms. */
static void svd_lag_norms(rl_jac *j, double *ref)
{
    const int S = rl_jac_state_size(j), T = rl_jac_steps(j);
    double *P = malloc((size_t)S * S * 8), *sv = malloc((size_t)S * 8), sc = 0;
    for (int tau = 0; P && sv && tau <= T; tau++) {
        CHECK_OK(rl_jac_product(j, T, tau, P, &sc));
        ref[tau] = -INFINITY;
        if (isfinite(sc) && LAPACKE_dgesdd(LAPACK_COL_MAJOR, 'N', S, S, P, S, sv, NULL, S, NULL, S) == 0)
            ref[tau] = log(sv[0]) + sc;
    }
    free(P), free(sv);
}

/* issue 28, item 10: the lags' spectral norms without an SVD each (Lanczos
 * on P P^T from the last lag's vector, rl_jac_lags), equal to dgesdd's to
 * 1e-12 in the log, on a tanh RNN, a 2-layer LSTM, an IndRNN (diagonal J_t,
 * whose top singular vector jumps between coordinates from lag to lag), a
 * diagonal linear W (coordinate singular vectors) and W = I (every singular
 * value equal: the Krylov space is invariant at once); W = 0 gives -inf past
 * lag 0. And none of them needed the SVD fallback, in a few steps a lag. */
TEST(lag_norms_without_an_svd_each)
{
    const struct {
        rl_cell cell;
        int H, L;
        double diag; /* linear: W_hh = diag(diag * (1 - i / H)) with alternating signs; 1: I; 0: zero */
    } cases[] = {{RL_CELL_TANH, 40, 1, -1}, {RL_CELL_LSTM, 8, 2, -1}, {RL_CELL_INDRNN, 16, 1, -1},
                 {RL_CELL_LINEAR, 12, 1, 0.95}, {RL_CELL_LINEAR, 10, 1, 1}, {RL_CELL_LINEAR, 6, 1, 0}};
    const int T = 50;
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        const int H = cases[ci].H;
        rl_config c = {.cell = cases[ci].cell, .input_size = 2, .hidden_size = H, .num_layers = cases[ci].L,
                       .output_size = 1, .loss = RL_LOSS_MSE};
        rl_init init = {.kind = RL_INIT_UNIFORM, .gain = 1};
        rl_model *m = NULL;
        rl_data *d = NULL;
        rl_jac *j = NULL;
        CHECK_OK(rl_model_new(&m, &c, RL_F64));
        if (!m) continue;
        CHECK_OK(rl_model_init(m, &init, 30 + ci));
        if (cases[ci].cell == RL_CELL_INDRNN) { /* recurrent weights about 1: the coordinates take turns on top */
            double *u = test_view(m, "rnn.weight_hh_l0", H, 0);
            for (int i = 0; u && i < H; i++) u[i] = (i % 2 ? -1 : 1) * (0.97 + 0.002 * i);
        }
        if (cases[ci].diag >= 0) {
            double *w = test_view(m, "rnn.weight_hh_l0", H, H);
            for (int i = 0; w && i < H * H; i++) w[i] = 0;
            for (int i = 0; w && i < H; i++)
                w[i * H + i] = cases[ci].diag == 1 ? 1 : (i % 2 ? -1 : 1) * cases[ci].diag * (1 - (double)i / H);
        }
        const int S = rl_state_size(m);
        CHECK_OK(rl_data_random(&d, m, 1, T, RL_F64, 1, 1, 40 + ci));
        if (d) CHECK_OK(rl_jac_new(&j, m, rl_data_batch(d), 0));
        double *n = malloc((T + 1) * 8), *ref = malloc((T + 1) * 8), worst = 0;
        rl_lag_stats st = {.log_norm = n};
        if (j && n && ref) {
            CHECK_OK(rl_jac_lags(j, &st));
            svd_lag_norms(j, ref);
            for (int tau = 0; tau <= T; tau++) {
                if (isinf(ref[tau]) || isinf(n[tau])) {
                    CHECK_MSG(ref[tau] == n[tau], "%s: tau %d: %g, dgesdd %g", rl_cell_name(c.cell), tau, n[tau], ref[tau]);
                    continue;
                }
                worst = fmax(worst, fabs(n[tau] - ref[tau]));
            }
            CHECK_MSG(worst < 1e-12, "%s H %d: max |ln||P||_2 - dgesdd's| = %g", rl_cell_name(c.cell), H, worst);
            CHECK_MSG(st.norm_svds == 0 && (st.norm_steps > 0 || cases[ci].diag == 0) && st.norm_steps <= (T + 1) * (S < 16 ? S : S / 2),
                      "%s: %d SVDs, %d Lanczos steps over %d lags (S = %d)", rl_cell_name(c.cell), st.norm_svds,
                      st.norm_steps, T + 1, S);
            if (cases[ci].diag == 0) CHECK(isinf(n[0]) && n[0] < 0 && n[T] == 0);
        }
        free(n), free(ref);
        rl_jac_free(j);
        rl_data_free(d);
        rl_model_free(m);
    }
}
