/* Orthogonal recurrent weights (issue 14): the matrix exponential and the
 * Cayley map with their adjoints against PyTorch (tests/fixtures/
 * expm_cayley.safetensors, written by tools/make_cure_fixtures.py), the
 * orth_* models' losses and gradients, finite differences through the map,
 * W^T W = I after training, and the linear cell's Lyapunov spectrum. */
#include "orth.h"
#include "safetensors.h"
#include "test.h"

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
                                         "orth_exp_tanh_l3_ce_long"};

/* The map and the chain separately from the cell: each layer's W_hh = B
 * map(A) and dL/dW_hh against the .orth fixture (torch's materialised
 * weight and its gradient), in float64. */
TEST(orth_fixture_w_and_dw)
{
    for (size_t ci = 0; ci < sizeof orth_cases / sizeof orth_cases[0]; ci++) {
        char mp[128], dp[128], op[128];
        snprintf(mp, sizeof mp, "%s.model.safetensors", orth_cases[ci]);
        snprintf(dp, sizeof dp, "%s.data.safetensors", orth_cases[ci]);
        snprintf(op, sizeof op, "%s.orth.safetensors", orth_cases[ci]);
        rl_model *m = NULL;
        rl_data *d = NULL;
        rl_ws *ws = NULL;
        st_file ref;
        double loss;
        CHECK_OK(rl_model_load(&m, fixture(mp), RL_F64));
        if (m) CHECK_OK(rl_data_load(&d, fixture(dp), m, RL_F64));
        CHECK_OK(st_read(&ref, fixture(op)));
        CHECK(m && rl_model_orthogonal(m) == (strstr(orth_cases[ci], "_exp_") ? RL_ORTH_EXP : RL_ORTH_CAYLEY));
        if (d) CHECK_OK(rl_ws_new(&ws, m, rl_data_batch(d)->batch, rl_data_batch(d)->steps));
        if (ws && ref.n) {
            rl_ws_zero_grad(ws);
            CHECK_OK(rl_forward(ws, m, rl_data_batch(d), &loss));
            CHECK_OK(rl_backward(ws, m, rl_data_batch(d)));
            const int L = rl_model_config(m).num_layers, H = rl_model_config(m).hidden_size;
            const size_t HH = (size_t)H * H;
            for (int l = 0; l < L; l++) {
                char name[80], what[200];
                snprintf(name, sizeof name, "rnn.weight_hh_l%d", l);
                double *w = get(&ref, name, HH);
                snprintf(name, sizeof name, "grad.rnn.weight_hh_l%d", l);
                double *dw = get(&ref, name, HH);
                snprintf(what, sizeof what, "%s W_hh layer %d", orth_cases[ci], l);
                if (w) CHECK_CLOSE(what, (const double *)ws->whh + l * HH, RL_F64, w, HH, 0, 1e-13);
                snprintf(what, sizeof what, "%s dL/dW_hh layer %d", orth_cases[ci], l);
                if (dw) CHECK_CLOSE(what, (const double *)ws->dwhh + l * HH, RL_F64, dw, HH, 1e-10, 1e-13 * max_abs(dw, HH));
                free(w), free(dw);
            }
        }
        st_close(&ref);
        rl_ws_free(ws);
        rl_data_free(d);
        rl_model_free(m);
    }
}

/* An orthogonal model of cell c, float64: rl_model_init (B from the init,
 * X = -I), then X's strict lower triangle random, so that A != 0. */
static rl_model *orth_model(rl_cell cell, rl_orth map, int layers, int H, rl_init_kind kind, double xscale,
                            uint64_t seed)
{
    rl_config cfg = {cell, 3, H, layers, 4, RL_LOSS_MSE};
    rl_init init = {.kind = kind, .gain = 1};
    rl_model *m = NULL;
    CHECK_OK(rl_model_new_orth(&m, &cfg, RL_F64, map));
    if (!m) return NULL;
    CHECK_OK(rl_model_init(m, &init, seed));
    rl_rng r;
    rl_rng_seed(&r, seed + 1);
    for (int l = 0; l < layers; l++) {
        char name[80];
        snprintf(name, sizeof name, "rnn.parametrizations.weight_hh_l%d.original", l);
        int i = rl_model_find_tensor(m, name);
        CHECK(i >= 0);
        if (i < 0) continue;
        double *x = (double *)rl_model_params(m) + rl_model_tensor(m, i)->offset;
        for (int a = 0; a < H; a++) {
            CHECK(x[a * H + a] == -1); /* as torch's registration leaves it */
            for (int b = 0; b < a; b++) x[a * H + b] = xscale * (2 * rl_rng_uniform(&r) - 1);
        }
    }
    return m;
}

/* Finite differences of the whole thing in float64: X's gradient through
 * the map (every element of X is perturbed; the diagonal and the upper
 * triangle have derivative 0), with the cells, layers and both maps. */
TEST(orth_gradcheck)
{
    const rl_cell cells[3] = {RL_CELL_TANH, RL_CELL_RELU, RL_CELL_LINEAR};
    int k = 0;
    for (int ci = 0; ci < 3; ci++)
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
    double *p = rl_model_params(m);
    const rl_tensor_info *x1 = rl_model_tensor(m, rl_model_find_tensor(m, "rnn.parametrizations.weight_hh_l1.original"));
    const rl_tensor_info *b0 = rl_model_tensor(m, rl_model_find_tensor(m, "rnn.parametrizations.weight_hh_l0.0.base"));
    CHECK(b0->fixed && !x1->fixed);
    CHECK_OK(rl_forward(ws, m, rl_data_batch(d), &l0));
    p[x1->offset + 2 * 5 + 1] += 0.25; /* strictly below the diagonal: A changes */
    CHECK_OK(rl_forward(ws, m, rl_data_batch(d), &l1));
    CHECK(l1 != l0);
    p[x1->offset + 1 * 5 + 2] += 0.25; /* above it: A does not change */
    CHECK_OK(rl_forward(ws, m, rl_data_batch(d), &l2));
    CHECK(l2 == l1);
    p[b0->offset] *= -1; /* the base counts too */
    CHECK_OK(rl_forward(ws, m, rl_data_batch(d), &l3));
    CHECK(l3 != l2);
    /* W_hh of layer 1 against the map computed here */
    {
        const size_t HH = 25;
        double X[25], Bm[25], W[25], *scratch = calloc(rl_orth_scratch_size(5), 8);
        int ipiv[5];
        const rl_tensor_info *b1 = rl_model_tensor(m, rl_model_find_tensor(m, "rnn.parametrizations.weight_hh_l1.0.base"));
        memcpy(X, p + x1->offset, sizeof X);
        memcpy(Bm, p + b1->offset, sizeof Bm);
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
