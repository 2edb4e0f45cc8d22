/* Orthogonal recurrent weights (issue 14): the matrix exponential and the
 * Cayley map with their adjoints against PyTorch (tests/fixtures/
 * expm_cayley.safetensors, written by tools/make_cure_fixtures.py), the
 * orth_* models' losses and gradients, finite differences through the map,
 * W^T W = I after training, and the linear cell's Lyapunov spectrum. */
#include "net/orth_ws.h"
#include "nets.h"

#include <lapacke.h>
#include <math.h>
#include <string.h>

static double max_abs(const double *x, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs(x[i]));
    return m;
}

/* tensor name of an open file into a new float64 array of n elements (NULL if not so) */
static double *get(const st_file *f, const char *name, size_t n)
{
    const st_tensor *t = st_find(f, name);
    CHECK_MSG(t && t->numel == n, "%s: no tensor %s of %zu elements", f->path, name, n);
    if (!t || t->numel != n) return NULL;
    double *x = malloc(n * sizeof *x + 8);
    if (x && st_get_real(f, t, RL_F64, x)) {
        free(x);
        return NULL;
    }
    return x;
}

/* expm(A), cayley(A) and the adjoints d sum(G * f(A)) / dA against torch:
 * |a - b| <= tol max|b| for every element */
TEST(orth_expm_cayley_torch)
{
    st_file f;
    CHECK_OK(st_read(&f, fixture("expm_cayley.safetensors")));
    if (!f.n) return;
    const char *cs = st_meta(&f, "count");
    int count = cs ? atoi(cs) : 0;
    CHECK(count >= 10);
    double worst[4] = {0};
    for (int c = 0; c < count; c++) {
        char name[64];
        snprintf(name, sizeof name, "c%d.A", c);
        const st_tensor *ta = st_find(&f, name);
        CHECK(ta && ta->ndim == 2 && ta->shape[0] == ta->shape[1]);
        if (!ta) continue;
        const int n = (int)ta->shape[0];
        const size_t nn = (size_t)n * n;
        const char *what[4] = {"expm", "cayley", "expm_adj", "cayley_adj"};
        double *A = get(&f, name, nn), *want[4], *G, *got[4];
        snprintf(name, sizeof name, "c%d.G", c);
        G = get(&f, name, nn);
        for (int k = 0; k < 4; k++) {
            snprintf(name, sizeof name, "c%d.%s", c, what[k]);
            want[k] = get(&f, name, nn);
            got[k] = calloc(nn, sizeof(double));
        }
        double *scratch = calloc(rl_orth_scratch_size(n), sizeof(double)), *E2 = calloc(nn, 8), *At = calloc(nn, 8);
        int *ipiv = calloc((size_t)n, sizeof *ipiv);
        if (A && G && want[0] && want[1] && want[2] && want[3] && scratch && E2 && At && ipiv) {
            CHECK_OK(rl_expm(n, A, NULL, got[0], NULL, scratch));
            CHECK_OK(rl_cayley(n, A, got[1], scratch, ipiv));
            /* the adjoint of the Frechet derivative: L(A^T, G) */
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++) At[(size_t)i * n + j] = A[(size_t)j * n + i];
            CHECK_OK(rl_expm(n, At, G, E2, got[2], scratch));
            CHECK_OK(rl_cayley_adjoint(n, A, G, got[3], scratch, ipiv));
            /* linear in G to the bit: a large cotangent costs no accuracy */
            double *G30 = calloc(nn, 8), *L30 = calloc(nn, 8);
            for (size_t i = 0; G30 && i < nn; i++) G30[i] = ldexp(G[i], 30);
            if (G30 && L30) CHECK_OK(rl_expm(n, At, G30, E2, L30, scratch));
            for (size_t i = 0; G30 && L30 && i < nn; i++) CHECK(L30[i] == ldexp(got[2][i], 30));
            free(G30), free(L30);
            const double tol[4] = {1e-13, 1e-13, 1e-13, 1e-13};
            for (int k = 0; k < 4; k++) {
                double mx = max_abs(want[k], nn), err = 0;
                for (size_t i = 0; i < nn; i++) err = fmax(err, fabs(got[k][i] - want[k][i]));
                err /= mx > 0 ? mx : 1;
                worst[k] = fmax(worst[k], err);
                CHECK_MSG(err <= tol[k], "case %d (n %d): %s differs from torch by %.3g of its largest element", c, n,
                          what[k], err);
            }
        }
        free(A), free(G), free(scratch), free(E2), free(At), free(ipiv);
        for (int k = 0; k < 4; k++) free(want[k]), free(got[k]);
    }
    if (getenv("RNNLAB_TEST_VERBOSE"))
        fprintf(stderr, "  worst relative errors: expm %.2g cayley %.2g expm_adj %.2g cayley_adj %.2g\n", worst[0],
                worst[1], worst[2], worst[3]);
    st_close(&f);
}

static const char *const orth_cases[] = {"orth_exp_tanh_l1_ce",       "orth_cayley_tanh_l2_mse",
                                         "orth_exp_relu_l2_ce",       "orth_cayley_relu_l1_mse",
                                         "orth_exp_linear_l1_mse_long", "orth_cayley_linear_l3_ce",
                                         "orth_exp_tanh_l2_mse_h1",   "orth_cayley_tanh_l1_ce_registered",
                                         "orth_exp_tanh_l3_ce_long",   "orth_exp_leaky_l2_mse",
                                         "orth_cayley_leaky_l1_ce",   "orth_exp_modrelu_l2_ce",
                                         "orth_cayley_modrelu_l1_mse"};

/* The map and the chain separately from the cell: each layer's W_hh = B
 * map(A) and dL/dW_hh against the .orth fixture (torch's materialised
 * weight and its gradient), in float64. */
TEST(orth_fixture_w_and_dw)
{
    for (size_t ci = 0; ci < sizeof orth_cases / sizeof orth_cases[0]; ci++) {
        double loss;
        test_net net = TEST_CASE(orth_cases[ci], "orth", .dtype = RL_F64, .ws = 1);
        const rl_model *m = net.m;
        rl_ws *ws = net.ws;
        CHECK(m && rl_model_orthogonal(m) == (strstr(orth_cases[ci], "_exp_") ? RL_ORTH_EXP : RL_ORTH_CAYLEY));
        if (ws && net.ref.n) {
            TEST_PASS(ws, m, net.b, &loss);
            const int L = rl_model_config(m).num_layers, H = rl_model_config(m).hidden_size;
            const size_t HH = (size_t)H * H;
            for (int l = 0; l < L; l++) {
                char name[80], what[200];
                snprintf(name, sizeof name, "rnn.weight_hh_l%d", l);
                double *w = get(&net.ref, name, HH);
                snprintf(name, sizeof name, "grad.rnn.weight_hh_l%d", l);
                double *dw = get(&net.ref, name, HH);
                snprintf(what, sizeof what, "%s W_hh layer %d", orth_cases[ci], l);
                if (w) CHECK_CLOSE(what, (const double *)ws->whh + l * HH, RL_F64, w, HH, 0, 1e-13);
                snprintf(what, sizeof what, "%s dL/dW_hh layer %d", orth_cases[ci], l);
                if (dw) CHECK_CLOSE(what, (const double *)ws->dwhh + l * HH, RL_F64, dw, HH, 1e-10, 1e-13 * max_abs(dw, HH));
                free(w), free(dw);
            }
        }
        test_net_free(&net);
    }
}

/* An orthogonal model of cell c, float64: rl_model_init (B from the init,
 * X = -I), then X's strict lower triangle random, so that A != 0. */
static rl_model *orth_model(rl_cell cell, rl_orth map, int layers, int H, rl_init_kind kind, double xscale,
                            uint64_t seed)
{
    rl_config cfg = {.cell = cell, .input_size = 3, .hidden_size = H, .num_layers = layers, .output_size = 4, .loss = RL_LOSS_MSE};
    rl_init init = {.kind = kind, .gain = 1, .modrelu_init = 0.3};
    rl_model *m = NULL;
    CHECK_OK(rl_model_new_orth(&m, &cfg, RL_F64, map));
    if (!m) return NULL;
    CHECK_OK(rl_model_init(m, &init, seed));
    rl_rng r;
    rl_rng_seed(&r, seed + 1);
    for (int l = 0; l < layers; l++) {
        double *x = test_view_l(m, "rnn.parametrizations.weight_hh_l%d.original", l, H, H);
        for (int a = 0; x && a < H; a++) {
            CHECK(x[a * H + a] == -1); /* as torch's registration leaves it */
            for (int b = 0; b < a; b++) x[a * H + b] = xscale * (2 * rl_rng_uniform(&r) - 1);
        }
    }
    return m;
}

/* Finite differences of the whole thing in float64: X's gradient through
 * the map (every element of X is perturbed; the diagonal and the upper
 * triangle have derivative 0), with the cells, layers and both maps; the
 * leaky cell's W_hh = B map(A) inside its update, its rates' gradient
 * beside X's; modReLU's thresholds (b ~ U(-0.3, 0.3)) beside X's, as
 * expRNN and scoRNN train them. */
TEST(orth_gradcheck)
{
    const rl_cell cells[5] = {RL_CELL_TANH, RL_CELL_RELU, RL_CELL_LINEAR, RL_CELL_LEAKY, RL_CELL_MODRELU};
    int k = 0;
    for (int ci = 0; ci < 5; ci++)
        for (int map = RL_ORTH_EXP; map <= RL_ORTH_CAYLEY; map++)
            for (int layers = 1; layers <= 2; layers++, k++) {
                /* |A| up to 2 (exp: the degree-13 branch with squaring at H = 6) */
                rl_model *m = orth_model(cells[ci], (rl_orth)map, layers, 6, k % 2 ? RL_INIT_ORTHOGONAL : RL_INIT_UNIFORM,
                                         k % 3 == 0 ? 2.0 : 0.7, 40 + (uint64_t)k);
                rl_data *d = NULL;
                double worst = 1;
                char where[64] = "";
                if (m) CHECK_OK(rl_data_random(&d, m, 2, 9, RL_F64, 1, 1, 90 + (uint64_t)k));
                if (d) CHECK_OK(rl_gradcheck(m, rl_data_batch(d), &worst, where, sizeof where));
                CHECK_MSG(worst <= 1e-7, "%s %s L=%d: worst relative error %.3g in %s", rl_cell_name(cells[ci]),
                          rl_orth_name((rl_orth)map), layers, worst, where);
                rl_data_free(d);
                rl_model_free(m);
            }
}

/* The workspace remakes W_hh whenever X or B change, however they were
 * written (here through the pointer rl_model_params gave out before), and
 * not otherwise; a cast model gives the same W_hh rounded. */
TEST(orth_remade_when_x_changes)
{
    rl_model *m = orth_model(RL_CELL_TANH, RL_ORTH_EXP, 2, 5, RL_INIT_ORTHOGONAL, 1.0, 7);
    rl_data *d = NULL;
    rl_ws *ws = NULL;
    if (m) CHECK_OK(rl_data_random(&d, m, 3, 6, RL_F64, 0, 1, 8));
    if (d) CHECK_OK(rl_ws_new(&ws, m, 3, 6));
    if (!ws) goto out;
    double l0, l1, l2, l3;
    double *x1 = test_view(m, "rnn.parametrizations.weight_hh_l1.original", 5, 5),
           *b0 = test_view(m, "rnn.parametrizations.weight_hh_l0.0.base", 5, 5),
           *b1 = test_view(m, "rnn.parametrizations.weight_hh_l1.0.base", 5, 5);
    if (!x1 || !b0 || !b1) goto out;
    CHECK(rl_model_tensor(m, rl_model_find_tensor(m, "rnn.parametrizations.weight_hh_l0.0.base"))->fixed &&
          !rl_model_tensor(m, rl_model_find_tensor(m, "rnn.parametrizations.weight_hh_l1.original"))->fixed);
    CHECK_OK(rl_forward(ws, m, rl_data_batch(d), &l0));
    x1[2 * 5 + 1] += 0.25; /* strictly below the diagonal: A changes */
    CHECK_OK(rl_forward(ws, m, rl_data_batch(d), &l1));
    CHECK(l1 != l0);
    x1[1 * 5 + 2] += 0.25; /* above it: A does not change */
    CHECK_OK(rl_forward(ws, m, rl_data_batch(d), &l2));
    CHECK(l2 == l1);
    b0[0] *= -1; /* the base counts too */
    CHECK_OK(rl_forward(ws, m, rl_data_batch(d), &l3));
    CHECK(l3 != l2);
    /* W_hh of layer 1 against the map computed here */
    {
        const size_t HH = 25;
        double X[25], Bm[25], W[25], *scratch = calloc(rl_orth_scratch_size(5), 8);
        int ipiv[5];
        memcpy(X, x1, sizeof X);
        memcpy(Bm, b1, sizeof Bm);
        if (scratch) CHECK_OK(rl_orth_layer_forward(RL_ORTH_EXP, 5, X, Bm, W, scratch, ipiv));
        CHECK(scratch && memcmp(W, (const double *)ws->whh + HH, sizeof W) == 0);
        /* W^T W = I */
        double dev = 0;
        for (int i = 0; i < 5; i++)
            for (int j = 0; j < 5; j++) {
                double s = 0;
                for (int k = 0; k < 5; k++) s += W[k * 5 + i] * W[k * 5 + j];
                dev = fmax(dev, fabs(s - (i == j)));
            }
        CHECK_MSG(dev < 1e-14, "W^T W - I: %g", dev);
        free(scratch);
    }
    /* a float32 copy: W_hh is the float64 map rounded */
    rl_model *m32 = NULL;
    rl_ws *w32 = NULL;
    rl_data *d32 = NULL;
    CHECK_OK(rl_model_cast(&m32, m, RL_F32));
    if (m32) CHECK_OK(rl_data_random(&d32, m32, 3, 6, RL_F32, 0, 1, 8));
    if (d32) CHECK_OK(rl_ws_new(&w32, m32, 3, 6));
    if (w32) {
        double l32;
        CHECK(rl_model_orthogonal(m32) == RL_ORTH_EXP);
        CHECK_OK(rl_forward(w32, m32, rl_data_batch(d32), &l32));
        /* the map of the rounded X and B, rounded (the rounding of X and B moves W by ~1e-7) */
        for (size_t i = 0; i < 2 * 25; i++)
            CHECK(fabs(((const float *)w32->whh)[i] - ((const double *)ws->whh)[i]) < 1e-6);
    }
    rl_ws_free(w32);
    rl_data_free(d32);
    rl_model_free(m32);
out:
    rl_ws_free(ws);
    rl_data_free(d);
    rl_model_free(m);
}

/* A linear cell with an orthogonal W_hh: J_t = W_hh, every Lyapunov
 * exponent 0 (to rounding) whatever the input; tanh's are <= 0. */
TEST(orth_linear_lyapunov_zero)
{
    for (int map = RL_ORTH_EXP; map <= RL_ORTH_CAYLEY; map++) {
        rl_model *m = orth_model(RL_CELL_LINEAR, (rl_orth)map, 1, 16, RL_INIT_UNIFORM, 1.0, 3 + (uint64_t)map);
        if (!m) continue;
        rl_lyap_config lc = {.steps = 400, .transient = 20, .k = 16, .input = RL_INPUT_NOISE, .noise_std = 1,
                             .state = RL_STATE_RANDOM, .seed = 5};
        double ex[16];
        CHECK_OK(rl_lyapunov(m, NULL, 0, &lc, ex, NULL));
        for (int i = 0; i < 16; i++)
            CHECK_MSG(fabs(ex[i]) < 1e-12, "%s: lambda_%d = %g", rl_orth_name((rl_orth)map), i, ex[i]);
        rl_model_free(m);
        m = orth_model(RL_CELL_TANH, (rl_orth)map, 1, 16, RL_INIT_UNIFORM, 1.0, 3 + (uint64_t)map);
        if (m) CHECK_OK(rl_lyapunov(m, NULL, 0, &lc, ex, NULL));
        for (int i = 0; m && i < 16; i++) CHECK_MSG(ex[i] < 1e-12, "tanh %s: lambda_%d = %g", rl_orth_name((rl_orth)map), i, ex[i]);
        rl_model_free(m);
    }
}

/* W^T W - I, largest element */
static double orth_dev(const double *W, int H)
{
    double dev = 0;
    for (int i = 0; i < H; i++)
        for (int j = 0; j < H; j++) {
            double s = 0;
            for (int k = 0; k < H; k++) s += W[k * H + i] * W[k * H + j];
            dev = fmax(dev, fabs(s - (i == j)));
        }
    return dev;
}

static int cmp_desc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x < y) - (x > y);
}

/* A leaky net with an orthogonal W_hh and one rate a, at its fixed point
 * h = 0 (zero biases, zero input, zero state, so tanh' = 1):
 *   J = (1 - a) I + a W_hh,
 * normal, with eigenvalues 1 - a + a e^{i theta_k} on the disc of radius a
 * about 1 - a (docs/jacobians.md, sections 7 and 8): no exponent above 0;
 * each is ln |1 - a + a lambda_k| (to the estimate's convergence, 0.02 as
 * in lyapunov_fixed_point_is_log_eig), and their sum, ln |det J| per step
 * exactly, to 1e-9. */
TEST(orth_leaky_fixed_point)
{
    enum { H = 8 };
    for (int map = RL_ORTH_EXP; map <= RL_ORTH_CAYLEY; map++) {
        rl_config cfg = {.cell = RL_CELL_LEAKY, .input_size = 2, .hidden_size = H, .num_layers = 1, .output_size = 2, .loss = RL_LOSS_MSE};
        rl_init init = {.kind = RL_INIT_UNIFORM, .gain = 1, .zero_bias = 1, .leak = 0.3};
        rl_model *m = NULL;
        CHECK_OK(rl_model_new_orth(&m, &cfg, RL_F64, (rl_orth)map));
        if (m) CHECK_OK(rl_model_init(m, &init, 17 + (uint64_t)map));
        if (!m) continue;
        double *x = test_view(m, "rnn.parametrizations.weight_hh_l0.original", H, H),
               *b = test_view(m, "rnn.parametrizations.weight_hh_l0.0.base", H, H), *th = test_view(m, "rnn.leak_l0", H, 0);
        if (!x || !b || !th) {
            rl_model_free(m);
            continue;
        }
        rl_rng r;
        rl_rng_seed(&r, 5 + (uint64_t)map);
        for (int i = 0; i < H; i++) /* A != 0: W_hh is not the base */
            for (int j = 0; j < i; j++) x[(size_t)i * H + j] = 2 * rl_rng_uniform(&r) - 1;
        const double a = 1 / (1 + exp(-th[0])); /* every unit's rate, from the file's theta */
        CHECK(fabs(a - 0.3) < 1e-15);
        double W[H * H], ex[H], wr[H], wi[H], want[H], *scratch = calloc(rl_orth_scratch_size(H), 8);
        int ipiv[H];
        if (scratch) CHECK_OK(rl_orth_layer_forward((rl_orth)map, H, x, b, W, scratch, ipiv));
        free(scratch);
        CHECK(orth_dev(W, H) < 1e-14);
        for (int i = 0; i < H * H; i++) W[i] = a * W[i] + (i % (H + 1) == 0 ? 1 - a : 0);
        CHECK(LAPACKE_dgeev(LAPACK_ROW_MAJOR, 'N', 'N', H, W, H, wr, wi, NULL, 1, NULL, 1) == 0);
        double sum_want = 0, sum = 0;
        for (int i = 0; i < H; i++) want[i] = log(hypot(wr[i], wi[i])), sum_want += want[i];
        qsort(want, H, sizeof *want, cmp_desc);
        rl_lyap_config lc = {.steps = 3000, .transient = 100, .k = H, .input = RL_INPUT_ZEROS, .state = RL_STATE_ZEROS};
        CHECK_OK(rl_lyapunov(m, NULL, 0, &lc, ex, NULL));
        for (int i = 0; i < H; i++) {
            sum += ex[i];
            CHECK_MSG(ex[i] <= 1e-12 && fabs(ex[i] - want[i]) < 0.02, "%s: exponent %d %.6g, ln|1 - a + a lambda| %.6g",
                      rl_orth_name((rl_orth)map), i, ex[i], want[i]);
        }
        CHECK_MSG(fabs(sum - sum_want) < 1e-9, "%s: sum of the exponents %.12g, ln|det J| %.12g", rl_orth_name((rl_orth)map),
                  sum, sum_want);
        rl_model_free(m);
    }
}

/* Training in float32 keeps W_hh orthogonal (W^T W = I to 1e-5), leaves B
 * and X on and above the diagonal as they were (no gradient reaches them),
 * moves X below it, and --orthogonal-lr scales X's steps: with SGD and a
 * tenth of the rate, X moves a tenth as far on the first step. */
TEST(orth_training_keeps_w_orthogonal)
{
    /* tanh with either map, and a leaky net (its rates trained beside X) */
    const rl_cell cells[3] = {RL_CELL_TANH, RL_CELL_TANH, RL_CELL_LEAKY};
    const rl_orth maps[3] = {RL_ORTH_EXP, RL_ORTH_CAYLEY, RL_ORTH_CAYLEY};
    for (int run = 0; run < 3; run++) {
        const rl_orth map = maps[run];
        rl_train_config c = rl_train_defaults();
        c.task = RL_TASK_COPY, c.seq_len = 5, c.cell = cells[run], c.hidden = 12, c.layers = 2, c.batch = 8;
        c.steps = 25, c.log_every = 5, c.eval_every = 0, c.eval_batches = 1, c.flow_every = 0, c.ckpt_every = 0;
        c.orthogonal = map, c.init.kind = RL_INIT_ORTHOGONAL, c.sched.lr = 0.02, c.seed = 3;
        char dir[1100], start[1100];
        snprintf(dir, sizeof dir, "%s/orth-train-%d", test_tmpdir, run);
        snprintf(start, sizeof start, "%s/orth-train-start-%d", test_tmpdir, run);
        rl_trainer *t0 = NULL;
        CHECK_OK(rl_trainer_new(&t0, &c, start));
        rl_trainer *t = TEST_TRAIN(&c, dir);
        if (!t || !t0) goto next;
        const rl_model *m = rl_trainer_model(t), *m0 = rl_trainer_model(t0);
        const int H = 12;
        for (int l = 0; l < 2; l++) {
            char xn[80], bn[80];
            snprintf(xn, sizeof xn, "rnn.parametrizations.weight_hh_l%d.original", l);
            snprintf(bn, sizeof bn, "rnn.parametrizations.weight_hh_l%d.0.base", l);
            const int64_t HH[2] = {H, H};
            const float *x = rl_model_view_const(m, xn, 2, HH), *x0 = rl_model_view_const(m0, xn, 2, HH),
                        *bb = rl_model_view_const(m, bn, 2, HH), *bb0 = rl_model_view_const(m0, bn, 2, HH);
            CHECK_MSG(x && x0 && bb && bb0, "%s", rl_errmsg());
            if (!x || !x0 || !bb || !bb0) continue;
            CHECK(memcmp(bb, bb0, (size_t)H * H * 4) == 0);
            int moved = 0, kept = 1;
            for (int i = 0; i < H; i++)
                for (int j = 0; j < H; j++) {
                    float a = x[i * H + j], b = x0[i * H + j];
                    if (j >= i) kept &= a == b && b == (i == j ? -1.f : 0.f);
                    else moved += a != b;
                }
            CHECK(kept && moved > H * (H - 1) / 4);
            if (cells[run] == RL_CELL_LEAKY) { /* the rates learn beside X */
                char ln[40];
                snprintf(ln, sizeof ln, "rnn.leak_l%d", l);
                const float *th = rl_model_view_const(m, ln, 1, HH), *th0 = rl_model_view_const(m0, ln, 1, HH);
                CHECK(th && th0 && memcmp(th, th0, (size_t)H * 4) != 0);
            }
            /* the W_hh the steps run with */
            double X[144], Bm[144], W[144], *scratch = calloc(rl_orth_scratch_size(H), 8);
            int ipiv[12];
            for (int i = 0; i < H * H; i++) X[i] = x[i], Bm[i] = bb[i];
            if (scratch) CHECK_OK(rl_orth_layer_forward(map, H, X, Bm, W, scratch, ipiv));
            float W32[144];
            for (int i = 0; i < H * H; i++) W32[i] = (float)W[i], W[i] = W32[i];
            double dev = orth_dev(W, H);
            CHECK_MSG(dev < 1e-5, "%s %s layer %d: max |W^T W - I| = %g after training", rl_cell_name(cells[run]),
                      rl_orth_name(map), l, dev);
            free(scratch);
        }
    next:
        rl_trainer_free(t);
        rl_trainer_free(t0);
    }
}

/* rl_optim_set_lr_scale: SGD moves a range by scale * lr * g, a fixed
 * tensor not at all (moments included), the one set last wins, bad
 * arguments are refused. */
TEST(orth_optim_lr_scale)
{
    rl_model *m = orth_model(RL_CELL_LINEAR, RL_ORTH_CAYLEY, 1, 3, RL_INIT_UNIFORM, 0.5, 11);
    if (!m) return;
    const size_t n = rl_model_num_params(m);
    double *p0 = malloc(n * 8), *g = malloc(n * 8);
    memcpy(p0, rl_model_params(m), n * 8);
    for (size_t i = 0; i < n; i++) g[i] = 1.0 + (double)i / 8;
    const rl_tensor_info *x = rl_model_tensor(m, rl_model_find_tensor(m, "rnn.parametrizations.weight_hh_l0.original"));
    const rl_tensor_info *b = rl_model_tensor(m, rl_model_find_tensor(m, "rnn.parametrizations.weight_hh_l0.0.base"));
    for (int kind = 0; kind < 2; kind++) {
        rl_optim_config oc = rl_optim_defaults(kind ? RL_OPT_ADAM : RL_OPT_SGD);
        oc.weight_decay = 0.1; /* even decay leaves a fixed tensor */
        rl_optim *o = NULL;
        memcpy(rl_model_params(m), p0, n * 8);
        CHECK_OK(rl_optim_new(&o, m, &oc));
        if (!o) continue;
        CHECK_OK(rl_optim_set_lr_scale(o, x->offset, x->numel, 0.5));
        CHECK_OK(rl_optim_set_lr_scale(o, x->offset, x->numel, 0.1)); /* the same range again: replaced */
        CHECK(rl_optim_set_lr_scale(o, n - 1, 2, 1) == RL_ERR_ARG);
        CHECK(rl_optim_set_lr_scale(o, 0, 1, -1) == RL_ERR_ARG);
        CHECK(rl_optim_set_lr_scale(o, 0, 1, NAN) == RL_ERR_ARG);
        CHECK_OK(rl_optim_step(o, m, g, 0.01));
        const double *p = rl_model_params(m);
        for (size_t i = 0; i < n; i++) {
            double step = p0[i] - p[i], want = kind ? 0.01 : 0.01 * (g[i] + 0.1 * p0[i]);
            if (i >= b->offset && i < b->offset + b->numel) want = 0;
            else if (i >= x->offset && i < x->offset + x->numel) want *= 0.1;
            /* Adam's first step is lr g / (|g| + eps) */
            CHECK_MSG(fabs(step - want) <= (kind ? 1e-7 : 1e-9) * fabs(want) + 1e-15, "%s element %zu: step %g, want %g",
                      kind ? "adam" : "sgd", i, step, want);
        }
        for (size_t i = 0; kind && i < b->numel; i++)
            CHECK(((const double *)rl_optim_buffer(o, 0))[b->offset + i] == 0);
        rl_optim_free(o);
    }
    free(p0), free(g);
    rl_model_free(m);
}

/* The update runs over the buffer in threads (rl_parallel_for, cut at
 * blocks of 16 elements) and each thread's part in pieces of one rate:
 * ranges that start and end anywhere, cross tensors and threads' cuts,
 * overlap and are set again give every element the rate of the range set
 * last that holds it: SGD's step is exactly p - (scale lr) g on 1, 2 and 3
 * threads, and Adam's bits are the same on each. */
TEST(orth_optim_lr_scale_threads)
{
    rl_model *m = orth_model(RL_CELL_TANH, RL_ORTH_EXP, 2, 12, RL_INIT_UNIFORM, 0.5, 13);
    if (!m) return;
    const size_t n = rl_model_num_params(m);
    const rl_tensor_info *x0 = rl_model_tensor(m, rl_model_find_tensor(m, "rnn.parametrizations.weight_hh_l0.original"));
    const rl_tensor_info *x1 = rl_model_tensor(m, rl_model_find_tensor(m, "rnn.parametrizations.weight_hh_l1.original"));
    const rl_tensor_info *w1 = rl_model_tensor(m, rl_model_find_tensor(m, "rnn.weight_ih_l1"));
    const rl_tensor_info *hw = rl_model_tensor(m, rl_model_find_tensor(m, "head.weight"));
    /* in the order they are set; none touches a base */
    const struct { size_t lo, count; double scale; } ranges[] = {
        {x0->offset, x0->numel, 0.1},      {3, 50, 0.5},
        {x1->offset, x1->numel, 0.1},      {x1->offset + 7, 37, 3},
        {w1->offset + 1, 1, 0},            {hw->offset + 1, 30, 0.25}, /* into head.bias */
        {40, 30, 2},                       /* over the end of {3, 50} and into X0 */
        {3, 50, 0.75},                     /* set again: replaced, and last, so over {40, 30} too */
    };
    const int nr = (int)(sizeof ranges / sizeof ranges[0]);
    double *p0 = malloc(n * 8), *g = malloc(n * 8), *sc = malloc(n * 8), *got[2][3] = {{NULL}};
    if (!p0 || !g || !sc) goto out;
    memcpy(p0, rl_model_params(m), n * 8);
    for (size_t i = 0; i < n; i++) {
        g[i] = 0.5 + (double)((i * 7919) % 1000) / 997;
        sc[i] = 1; /* then the fixed bases 0, then the ranges in order */
    }
    for (int i = 0; i < rl_model_num_tensors(m); i++)
        if (rl_model_tensor(m, i)->fixed)
            for (size_t k = 0; k < rl_model_tensor(m, i)->numel; k++) sc[rl_model_tensor(m, i)->offset + k] = 0;
    for (int r = 0; r < nr; r++)
        for (size_t k = 0; k < ranges[r].count; k++) sc[ranges[r].lo + k] = ranges[r].scale;
    const size_t grain = rl_grain;
    rl_grain = 16; /* cut a buffer this small into parts too */
    for (int kind = 0; kind < 2; kind++)
        for (int th = 1; th <= 3; th++) {
            rl_optim_config oc = rl_optim_defaults(kind ? RL_OPT_ADAM : RL_OPT_SGD);
            rl_optim *o = NULL;
            memcpy(rl_model_params(m), p0, n * 8);
            CHECK_OK(rl_optim_new(&o, m, &oc));
            if (!o) continue;
            for (int r = 0; r < nr; r++) CHECK_OK(rl_optim_set_lr_scale(o, ranges[r].lo, ranges[r].count, ranges[r].scale));
            rl_set_num_threads(th);
            CHECK_OK(rl_optim_step(o, m, g, 0.01));
            rl_set_num_threads(0);
            got[kind][th - 1] = malloc(n * 8);
            if (got[kind][th - 1]) memcpy(got[kind][th - 1], rl_model_params(m), n * 8);
            const double *p = rl_model_params(m);
            size_t bad = n;
            for (size_t i = 0; !kind && i < n && bad == n; i++)
                if (p[i] != p0[i] - (0.01 * sc[i]) * g[i]) bad = i;
            CHECK_MSG(bad == n, "sgd, %d threads: element %zu stepped %g, want %g (scale %g)", th, bad,
                      bad < n ? p0[bad] - p[bad] : 0, bad < n ? 0.01 * sc[bad] * g[bad] : 0, bad < n ? sc[bad] : 0);
            for (size_t i = 0; kind && i < n; i++) /* Adam: a frozen element keeps its moments at 0 */
                if (sc[i] == 0) CHECK(p[i] == p0[i] && ((const double *)rl_optim_buffer(o, 1))[i] == 0);
            rl_optim_free(o);
        }
    rl_grain = grain;
    for (int kind = 0; kind < 2; kind++)
        for (int th = 1; th < 3; th++)
            CHECK_MSG(got[kind][0] && got[kind][th] && memcmp(got[kind][0], got[kind][th], n * 8) == 0,
                      "%s: %d threads give other bits than 1", kind ? "adam" : "sgd", th + 1);
out:
    for (int k = 0; k < 2; k++)
        for (int t = 0; t < 3; t++) free(got[k][t]);
    free(p0), free(g), free(sc);
    rl_model_free(m);
}

/* A model file of a 1-layer tanh net (I 2, H 3, O 2) with the tensors
 * named, each of the shape given (cols 0: a vector), and metadata
 * orthogonal = orth (NULL: none), cell = cell. */
static const char *model_file(const char *name, const char *cell, const char *orth, const char *const *names,
                              const int64_t (*shapes)[2], int n)
{
    static const double v[64] = {0.1, -0.2, 0.3, 0.05, -0.4, 0.25, 0.15, -0.1, 0.2, 0.3, -0.3, 0.1, 0.05, 0.2};
    rl_st_tensor t[16];
    for (int i = 0; i < n; i++) t[i] = (rl_st_tensor){names[i], "F64", shapes[i][1] ? 2 : 1, {shapes[i][0], shapes[i][1]}, v};
    const char *meta[] = {"cell", cell, "input_size", "2", "hidden_size", "3", "num_layers", "1", "output_size", "2",
                          "loss", "mse", "orthogonal", orth};
    const char *path = tmp_path(name);
    CHECK_OK(rl_st_write(path, t, n, meta, orth ? 7 : 6));
    return path;
}

/* What a damaged or inconsistent orthogonal model file gets: one line
 * that names the problem. */
TEST(orth_bad_model_files)
{
    static const char *const base_names[] = {"rnn.weight_ih_l0", "rnn.bias_ih_l0", "rnn.bias_hh_l0", "head.weight",
                                             "head.bias", "rnn.parametrizations.weight_hh_l0.original",
                                             "rnn.parametrizations.weight_hh_l0.0.base", "rnn.weight_hh_l0"};
    const int64_t good[8][2] = {{3, 2}, {3, 0}, {3, 0}, {2, 3}, {2, 0}, {3, 3}, {3, 3}, {3, 3}};
    int64_t wrong[8][2];
    memcpy(wrong, good, sizeof wrong);
    wrong[6][1] = 2; /* the base (3, 2) */
    const int64_t (*gs)[2] = (const int64_t (*)[2])good;
    struct { const char *file; const char *frag; } cases[] = {
        {model_file("o1.st", "tanh", "exp", base_names, gs, 5), "metadata orthogonal = exp, but tensor "
                                                                 "'rnn.parametrizations.weight_hh_l0.original' is missing"},
        {model_file("o2.st", "tanh", "cayley", base_names, gs, 6), "'rnn.parametrizations.weight_hh_l0.0.base' is missing"},
        {model_file("o3.st", "tanh", "exp", base_names, (const int64_t (*)[2])wrong, 7), "has shape"},
        {model_file("o4.st", "lstm", "exp", base_names, gs, 7), "not lstm"},
        {model_file("o4i.st", "indrnn", "cayley", base_names, gs, 7), "not indrnn (its recurrent weight is a vector"},
        {model_file("o5.st", "tanh", "expm", base_names, gs, 7), "unknown orthogonal map 'expm'"},
        {model_file("o6.st", "tanh", NULL, base_names, gs, 8), "(metadata 'orthogonal' is missing)"},
        {model_file("o7.st", "tanh", "exp", base_names, gs, 8), "unexpected tensor 'rnn.weight_hh_l0'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rl_model *m = NULL;
        rl_status s = rl_model_load(&m, cases[i].file, RL_F32);
        CHECK_MSG(s == RL_ERR_FORMAT && !m && strstr(rl_errmsg(), cases[i].frag), "case %zu: %d '%s'", i, (int)s,
                  rl_errmsg());
        const char *argv[] = {"rnnlab", "lyapunov", "--model", cases[i].file, "--steps", "5", "--out", tmp_path("l.json"),
                              NULL};
        char e[512];
        CHECK(run_cli(argv, NULL, NULL, 0, e, sizeof e) == 1 && strstr(e, cases[i].frag) && run_cli_err_lines() == 1);
        rl_model_free(m);
    }
    /* the good one loads, and the file's tensors are what it saves */
    rl_model *m = NULL, *back = NULL;
    const char *ok = model_file("o8.st", "relu", "cayley", base_names, gs, 7), *again = tmp_path("o9.st");
    CHECK_OK(rl_model_load(&m, ok, RL_F32));
    if (m) CHECK_OK(rl_model_save(m, again));
    CHECK_OK(rl_model_load(&back, again, RL_F32));
    CHECK(m && back && rl_model_orthogonal(back) == RL_ORTH_CAYLEY &&
          memcmp(rl_model_params(m), rl_model_params(back), rl_model_num_params(m) * 4) == 0);
    rl_model_free(m);
    rl_model_free(back);
}

/* rnnlab init, gradcheck, grad, train and eval with --orthogonal, and their
 * refusals. */
TEST(orth_cli)
{
    const char *mp = tmp_path("orth.model"), *dp = tmp_path("orth.data"), *gp = tmp_path("orth.grad");
    const char *init[] = {"rnnlab", "init", "--cell", "linear", "--input", "2", "--hidden", "6", "--output", "1",
                          "--layers", "2", "--init", "orthogonal", "--orthogonal", "cayley", "--out", mp, NULL};
    char o[512], e[512];
    CHECK(run_cli(init, NULL, NULL, 0, e, sizeof e) == 0 && strstr(e, "orthogonal W_hh by cayley"));
    rl_model *m = NULL;
    CHECK_OK(rl_model_load(&m, mp, RL_F64));
    if (m) {
        /* as torch's registration leaves it: X = -I, B = the init's W_hh (orthogonal: itself) */
        const double *x = test_view(m, "rnn.parametrizations.weight_hh_l1.original", 6, 6),
                     *b = test_view(m, "rnn.parametrizations.weight_hh_l1.0.base", 6, 6);
        for (int i = 0; x && i < 36; i++) CHECK(x[i] == (i % 7 == 0 ? -1 : 0));
        CHECK(b && orth_dev(b, 6) < 1e-6); /* float32 in the file */
        CHECK(rl_model_find_tensor(m, "rnn.weight_hh_l0") < 0);
    }
    rl_model_free(m);
    const char *data[] = {"rnnlab", "data", "--model", mp, "--steps", "7", "--batch", "2", "--out", dp, NULL};
    const char *grad[] = {"rnnlab", "grad", "--model", mp, "--data", dp, "--out", gp, "--precision", "f64", NULL};
    CHECK(run_cli(data, NULL, NULL, 0, NULL, 0) == 0);
    CHECK(run_cli(grad, NULL, o, sizeof o, NULL, 0) == 0 && strncmp(o, "loss ", 5) == 0);
    st_file g;
    CHECK_OK(st_read(&g, gp));
    CHECK(st_find(&g, "grad.rnn.parametrizations.weight_hh_l1.original") && !st_find(&g, "grad.rnn.parametrizations.weight_hh_l1.0.base"));
    st_close(&g);
    const char *gc[] = {"rnnlab", "gradcheck", "--orthogonal", "exp", "--layers", "2", "--hidden", "5", NULL};
    CHECK(run_cli(gc, NULL, o, sizeof o, NULL, 0) == 0 && strstr(o, "orthogonal exp"));
    /* the leaky cell: its own rates, and W_hh = B map(A) in its update */
    const char *lp = tmp_path("orth-leaky.model");
    const char *linit[] = {"rnnlab", "init", "--cell", "leaky", "--input", "2", "--hidden", "5", "--output", "1",
                           "--leak", "0.2", "--orthogonal", "exp", "--out", lp, NULL};
    CHECK(run_cli(linit, NULL, NULL, 0, e, sizeof e) == 0 && strstr(e, "leaky, orthogonal W_hh by exp"));
    CHECK_OK(rl_model_load(&m, lp, RL_F64));
    CHECK(m && rl_model_orthogonal(m) == RL_ORTH_EXP && rl_model_find_tensor(m, "rnn.leak_l0") >= 0 &&
          rl_model_find_tensor(m, "rnn.weight_hh_l0") < 0 &&
          rl_model_find_tensor(m, "rnn.parametrizations.weight_hh_l0.0.base") >= 0);
    rl_model_free(m);
    m = NULL;
    const char *lgc[] = {"rnnlab", "gradcheck", "--cell", "leaky", "--orthogonal", "cayley", "--layers", "2", "--hidden",
                         "4", "--steps", "6", NULL};
    CHECK(run_cli(lgc, NULL, o, sizeof o, NULL, 0) == 0 && strstr(o, "gradcheck leaky orthogonal cayley"));
    const char *run = tmp_path("orth-run");
    const char *train[] = {"rnnlab", "train", "--task", "copy", "--seq-len", "5", "--hidden", "8", "--orthogonal", "exp",
                           "--optim", "rmsprop", "--lr", "1e-3", "--orthogonal-lr", "1e-4", "--steps", "6",
                           "--eval-every", "0", "--flow-every", "3", "--out", run, NULL};
    CHECK(run_cli(train, NULL, NULL, 0, e, sizeof e) == 0);
    char model[1200];
    snprintf(model, sizeof model, "%s/model.safetensors", run);
    const char *eval[] = {"rnnlab", "eval", "--model", model, "--task", "copy", "--seq-len", "5", "--batches", "2", NULL};
    CHECK(run_cli(eval, NULL, NULL, 0, e, sizeof e) == 0);
    struct { const char *argv[16]; const char *frag; } bad[] = {
        {{"rnnlab", "init", "--cell", "gru", "--input", "2", "--hidden", "6", "--output", "1", "--orthogonal", "exp",
          "--out", mp, NULL}, "not gru"},
        {{"rnnlab", "init", "--cell", "tanh", "--input", "2", "--hidden", "6", "--output", "1", "--orthogonal", "yes",
          "--out", mp, NULL}, "unknown orthogonal map 'yes'"},
        {{"rnnlab", "train", "--cell", "lstm", "--orthogonal", "cayley", "--out", tmp_path("r2"), NULL}, "not lstm"},
        {{"rnnlab", "train", "--orthogonal-lr", "1e-4", "--out", tmp_path("r3"), NULL}, "--orthogonal-lr is for"},
        {{"rnnlab", "train", "--orthogonal", "exp", "--orthogonal-lr", "-1", "--out", tmp_path("r4"), NULL}, "out of range"},
        {{"rnnlab", "gradcheck", "--orthogonal", "exp", "--cell", "lstm", NULL}, "not lstm"},
        /* IndRNN's recurrent weight is a vector: nothing to make orthogonal */
        {{"rnnlab", "init", "--cell", "indrnn", "--input", "2", "--hidden", "6", "--output", "1", "--orthogonal", "exp",
          "--out", mp, NULL}, "not indrnn (its recurrent weight is a vector u of shape (H)"},
        {{"rnnlab", "train", "--cell", "indrnn", "--orthogonal", "exp", "--out", tmp_path("r5"), NULL}, "not indrnn"},
        {{"rnnlab", "gradcheck", "--orthogonal", "cayley", "--cell", "indrnn", NULL}, "not indrnn"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int st = run_cli(bad[i].argv, NULL, NULL, 0, e, sizeof e);
        CHECK_MSG(st == 2 && strstr(e, bad[i].frag) && run_cli_err_lines() == 1, "%s case %zu: exit %d: %s",
                  bad[i].argv[1], i, st, e);
    }
}

/* The PyTorch round trip (tools/make_cure_fixtures.py, RNNLAB_MADE): a
 * model rnnlab made (init, or trained) loaded into torch by registering
 * the parametrisation and load_state_dict (strict), and torch's state_dict
 * written back (F64) reads into the same parameters, which rnnlab saves to
 * the same bytes as its own file. Their losses and gradients are in
 * torch_fixtures_f64. */
TEST(orth_pytorch_round_trip)
{
    const char *names[] = {"rnnlab_made_orth_exp_tanh_l2", "rnnlab_made_orth_cayley_linear_l1",
                           "rnnlab_made_orth_exp_relu_l1", "rnnlab_made_orth_cayley_leaky_l2",
                           "rnnlab_made_orth_exp_modrelu_l2"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char mp[128], tp[128];
        snprintf(mp, sizeof mp, "%s.model.safetensors", names[i]);
        snprintf(tp, sizeof tp, "%s.torch.safetensors", names[i]);
        rl_model *a = NULL, *b = NULL;
        CHECK_OK(rl_model_load(&a, fixture(mp), RL_F64));
        CHECK_OK(rl_model_load(&b, fixture(tp), RL_F64));
        if (!a || !b) goto next;
        rl_config ca = rl_model_config(a), cb = rl_model_config(b);
        CHECK(memcmp(&ca, &cb, sizeof ca) == 0 && rl_model_orthogonal(a) == rl_model_orthogonal(b) &&
              rl_model_orthogonal(a) != RL_ORTH_NONE);
        CHECK(rl_model_num_params(a) == rl_model_num_params(b) &&
              memcmp(rl_model_params(a), rl_model_params(b), rl_model_num_params(a) * 8) == 0);
        /* the same file as rnnlab's own saved again (which now records
         * checksums the fixture predates), and the fixture's tensor bytes */
        const char *again = tmp_path("round-trip.safetensors"), *own = tmp_path("round-trip-own.safetensors");
        CHECK_OK(rl_model_save(b, again));
        CHECK_OK(rl_model_save(a, own));
        size_t n0 = 0, n1 = 0, n2 = 0;
        unsigned char *f0 = read_file(fixture(mp), &n0), *f1 = read_file(own, &n1), *f2 = read_file(again, &n2);
        CHECK_MSG(f1 && f2 && n1 == n2 && memcmp(f1, f2, n1) == 0, "%s: saved back, the file differs", names[i]);
        uint64_t h0 = 0, h2 = 0;
        if (f0 && f2 && n0 >= 8 && n2 >= 8) memcpy(&h0, f0, 8), memcpy(&h2, f2, 8);
        CHECK_MSG(f0 && f2 && h0 + 8 <= n0 && h2 + 8 <= n2 && n0 - h0 == n2 - h2 && memcmp(f0 + 8 + h0, f2 + 8 + h2, n0 - 8 - h0) == 0,
                  "%s: saved back, the tensor data differ", names[i]);
        free(f0), free(f1), free(f2);
    next:
        rl_model_free(a);
        rl_model_free(b);
    }
}

/* Every allocation of an orthogonal model's way (the model, its init's
 * base, the workspace's map buffers, forward, backward, the optimizer, a
 * cast) fails in turn: RL_ERR_NOMEM with a message, and nothing leaks
 * (make asan, make valgrind). */
TEST(orth_out_of_memory)
{
    rl_config cfg = {.cell = RL_CELL_TANH, .input_size = 2, .hidden_size = 5, .num_layers = 2, .output_size = 3, .loss = RL_LOSS_CE};
    rl_init init = {.kind = RL_INIT_GAUSSIAN, .gain = 1};
    long n = 1;
    for (; n < 1000; n++) {
        rl_model *m = NULL, *m32 = NULL;
        rl_data *d = NULL;
        rl_ws *ws = NULL;
        rl_optim *o = NULL;
        rl_optim_config oc = rl_optim_defaults(RL_OPT_ADAM);
        double loss;
        rl_debug_fail_alloc(n);
        rl_status s = rl_model_new_orth(&m, &cfg, RL_F64, RL_ORTH_EXP);
        if (!s) s = rl_model_init(m, &init, 1);
        if (!s) s = rl_data_random(&d, m, 2, 4, RL_F64, 1, 1, 2);
        if (!s) s = rl_ws_new(&ws, m, 2, 4);
        if (!s) s = rl_forward(ws, m, rl_data_batch(d), &loss);
        if (!s) s = rl_backward(ws, m, rl_data_batch(d));
        if (!s) s = rl_optim_new(&o, m, &oc);
        if (!s) s = rl_optim_step(o, m, rl_ws_grad(ws), 1e-3);
        if (!s) s = rl_model_cast(&m32, m, RL_F32);
        int fired = rl_debug_fail_alloc(0);
        CHECK_MSG(s == RL_OK || (s == RL_ERR_NOMEM && *rl_errmsg()), "allocation %ld failing: %d (%s)", n, (int)s,
                  rl_errmsg());
        rl_model_free(m32);
        rl_optim_free(o);
        rl_ws_free(ws);
        rl_data_free(d);
        rl_model_free(m);
        if (!fired) break;
    }
    CHECK(n > 10 && n < 1000);
}

/* A run with an orthogonal W_hh and its own learning rate for X, stopped
 * and resumed from its checkpoint, ends with the bytes of one never
 * stopped. */
TEST(orth_resume_is_exact)
{
    rl_train_config c = rl_train_defaults();
    c.task = RL_TASK_ADDING, c.seq_len = 8, c.cell = RL_CELL_RELU, c.hidden = 6, c.layers = 2, c.batch = 4;
    c.steps = 12, c.log_every = 3, c.eval_every = 6, c.eval_batches = 1, c.flow_every = 6, c.ckpt_every = 6;
    c.orthogonal = RL_ORTH_CAYLEY, c.orthogonal_lr = 3e-4, c.seed = 21;
    char a[1100], b[1100], pa[1200], pb[1200];
    snprintf(a, sizeof a, "%s/orth-whole", test_tmpdir);
    snprintf(b, sizeof b, "%s/orth-parts", test_tmpdir);
    rl_trainer_free(TEST_TRAIN(&c, a));
    c.steps = 6;
    rl_trainer_free(TEST_TRAIN(&c, b));
    rl_trainer *t = NULL;
    CHECK_OK(rl_trainer_resume(&t, b, 12));
    if (t) {
        rl_train_config rc = rl_trainer_config(t);
        CHECK(rc.orthogonal == RL_ORTH_CAYLEY && rc.orthogonal_lr == 3e-4);
        TEST_RUN(t);
    }
    rl_trainer_free(t);
    snprintf(pa, sizeof pa, "%s/model.safetensors", a);
    snprintf(pb, sizeof pb, "%s/model.safetensors", b);
    size_t na = 0, nb = 0;
    unsigned char *fa = read_file(pa, &na), *fb = read_file(pb, &nb);
    CHECK(fa && fb && na == nb && memcmp(fa, fb, na) == 0);
    free(fa), free(fb);
}
