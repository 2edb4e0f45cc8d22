/* The regularisers on the Jacobians (issue 15): Pascanu's Omega and
 * gradient flossing, against central finite differences in float64 (Omega
 * with the activations and the deltas frozen, as its gradient holds them),
 * against PyTorch float64 autograd (tools/make_reg_fixtures.py), the linear
 * cell's exact cases, the bad inputs, and training with each. */
#include "net/layer.h" /* rl_gemm_f32 */
#include "nets.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int cell_is_relu(rl_cell c) { return c == RL_CELL_RELU || c == RL_CELL_INDRNN; }

static rl_model *reg_model_orth(rl_cell cell, int NI, int H, int L, int O, rl_loss loss, uint64_t seed, rl_orth orth)
{
    rl_config c = {.cell = cell, .input_size = NI, .hidden_size = H, .num_layers = L, .output_size = O, .loss = loss};
    rl_model *m = NULL;
    rl_init init = {.kind = RL_INIT_UNIFORM, .gain = 1};
    CHECK_OK(rl_model_new_orth(&m, &c, RL_F64, orth));
    if (m) CHECK_OK(rl_model_init(m, &init, seed));
    /* X's strict lower triangle away from 0, so that A = tril(X) - tril(X)^T is not */
    for (int l = 0; m && orth != RL_ORTH_NONE && l < L; l++) {
        double *x = test_view_l(m, "rnn.parametrizations.weight_hh_l%d.original", l, c.hidden_size, c.hidden_size);
        rl_rng r;
        rl_rng_seed(&r, seed + (uint64_t)l);
        for (int i = 0; x && i < c.hidden_size * c.hidden_size; i++) x[i] = 0.5 * rl_rng_normal(&r);
    }
    return m;
}

static rl_model *reg_model(rl_cell cell, int NI, int H, int L, int O, rl_loss loss, uint64_t seed)
{
    return reg_model_orth(cell, NI, H, L, O, loss, seed, RL_ORTH_NONE);
}

/* The 4-point central difference of f at x with step h, then one
 * Richardson step (as src/gradcheck.c). */
typedef double (*scalar_fn)(void *ctx);
static double fd(scalar_fn f, void *ctx, double *x, double h)
{
    double x0 = *x, d[2];
    for (int k = 0; k < 2; k++) {
        double s = h / (k + 1), v[4];
        const double off[4] = {2 * s, s, -s, -2 * s};
        for (int i = 0; i < 4; i++) {
            *x = x0 + off[i];
            v[i] = f(ctx);
        }
        d[k] = (8 * (v[1] - v[2]) - (v[0] - v[3])) / (12 * s);
    }
    *x = x0;
    return d[1] + (d[1] - d[0]) / 15;
}

/* |a - n| relative to the larger, or to 1e-4 (rl_gradcheck's floor: a
 * difference quotient carries rounding of about 1e-11 in absolute terms) */
static double rel_err(double a, double n) { return fabs(a - n) / fmax(fmax(fabs(a), fabs(n)), 1e-4); }

/* ------------------------------------------------------------------ flossing */

typedef struct {
    rl_model *m;
    rl_batch b;
    rl_floss_config cfg;
} floss_ctx;

static double floss_value(void *p)
{
    floss_ctx *c = p;
    double F = NAN;
    rl_status s = rl_floss(c->m, &c->b, &c->cfg, &F, NULL, NULL, NULL, NULL);
    return s ? NAN : F;
}

/* dF/dtheta and dF/ds_0 of one model against finite differences; the worst error */
static double floss_fd(rl_cell cell, rl_orth orth, int L, int H, int T, int B, int K, uint64_t seed, char *where,
                       size_t wn)
{
    rl_model *m = reg_model_orth(cell, 2, H, L, 2, RL_LOSS_MSE, seed, orth);
    rl_data *d = NULL;
    double worst = 0;
    /* ReLU units on (a positive input bias): a unit that is off is a zero row
     * of J_t, and with Q_0 = I[:, :k] a direction can vanish at once */
    for (int l = 0; m && cell_is_relu(cell) && l < L; l++) {
        const int GH = rl_cell_gates(cell) * rl_model_config(m).hidden_size;
        double *b = test_view_l(m, "rnn.bias_ih_l%d", l, GH, 0);
        for (int i = 0; b && i < GH; i++) b[i] += 1;
    }
    if (m) CHECK_OK(rl_data_random(&d, m, B, T, RL_F64, 0, 1, seed + 7));
    if (!m || !d) goto out;
    floss_ctx c = {m, *rl_data_batch(d), {K, 0.1, 1}};
    size_t n = rl_model_num_params(m), LBH = (size_t)L * B * rl_model_units(m);
    double *g = calloc(n, 8), *gh = calloc(LBH, 8), *gc = calloc(LBH, 8), F = 0;
    double *h0 = (double *)c.b.h0, *c0 = (double *)c.b.c0;
    rl_status st = rl_floss(m, &c.b, &c.cfg, &F, NULL, g, gh, gc);
    if (st == RL_ERR_ARG && strstr(rl_errmsg(), "not implemented")) { /* lru between layers: its own test */
        free(g), free(gh), free(gc);
        goto out;
    }
    CHECK_MSG(st == RL_OK, "%s: %s", rl_cell_name(cell), rl_errmsg());
    CHECK(isfinite(F));
    double *p = rl_model_params(m);
    for (int ti = 0; ti < rl_model_num_tensors(m); ti++) {
        const rl_tensor_info *t = rl_model_tensor(m, ti);
        if (strncmp(t->name, "head.", 5) == 0 || t->fixed) continue; /* F does not read the readout */
        for (size_t i = 0; i < t->numel; i++) {
            double num = fd(floss_value, &c, p + t->offset + i, 1e-4), e = rel_err(g[t->offset + i], num);
            if (e > worst) worst = e, snprintf(where, wn, "%s[%zu] %g vs %g", t->name, i, g[t->offset + i], num);
        }
    }
    for (int which = 0; which < (c0 ? 2 : 1); which++)
        for (size_t i = 0; i < LBH; i++) {
            double num = fd(floss_value, &c, (which ? c0 : h0) + i, 1e-4), a = (which ? gc : gh)[i], e = rel_err(a, num);
            if (e > worst) worst = e, snprintf(where, wn, "%s[%zu] %g vs %g", which ? "c0" : "h0", i, a, num);
        }
    free(g), free(gh), free(gc);
out:
    rl_data_free(d);
    rl_model_free(m);
    return worst;
}

TEST(floss_gradient_matches_finite_differences)
{
    for (int cell = 0; cell < RL_CELL_COUNT; cell++)
        for (int L = 1; L <= 3; L++) {
            char where[200] = "";
            /* three layers: Jbar passed down twice, for one cell of each kind of step */
            if (L == 3 && cell != RL_CELL_TANH && cell != RL_CELL_LSTM && cell != RL_CELL_GRU) continue;
            int H = 3, K = rl_cell_states((rl_cell)cell) == 2 ? 4 : 2;
            double e = floss_fd((rl_cell)cell, RL_ORTH_NONE, L, H, 6, 2, K, 10 + (uint64_t)cell, where, sizeof where);
            CHECK_MSG(e < 1e-6, "%s, %d layer(s): dF/dtheta off by %.3g at %s", rl_cell_name((rl_cell)cell), L, e, where);
        }
    /* an orthogonal W_hh: dF/dX through the map */
    const rl_cell oc[2] = {RL_CELL_TANH, RL_CELL_LEAKY};
    for (int k = 0; k < 2; k++)
        for (int map = RL_ORTH_EXP; map <= RL_ORTH_CAYLEY; map++) {
            char where[200] = "";
            double e = floss_fd(oc[k], (rl_orth)map, 2, 3, 6, 2, 2, 30 + (uint64_t)map, where, sizeof where);
            CHECK_MSG(e < 1e-6, "%s, orthogonal %s: dF/dtheta off by %.3g at %s", rl_cell_name(oc[k]),
                      rl_orth_name((rl_orth)map), e, where);
        }
}

/* ------------------------------------------------------------------ Omega */

typedef struct {
    rl_model *m;
    rl_ws *ws;
    rl_omega_form form;
} omega_ctx;

static double omega_value(void *p)
{
    omega_ctx *c = p;
    double om = NAN;
    rl_status s = rl_omega(c->ws, c->m, c->form, 0, &om, NULL);
    return s ? NAN : om;
}

/* dOmega/dtheta with the activations and the deltas frozen: the workspace
 * keeps its forward and backward pass while the weights move */
static double omega_fd(rl_cell cell, rl_orth orth, int L, rl_omega_form form, uint64_t seed, char *where, size_t wn)
{
    rl_model *m = reg_model_orth(cell, 3, 4, L, 2, RL_LOSS_CE, seed, orth);
    rl_data *d = NULL;
    rl_ws *ws = NULL;
    double worst = 0, loss, om = 0;
    if (m) CHECK_OK(rl_data_random(&d, m, 3, 7, RL_F64, 1, 1, seed + 3));
    if (d) CHECK_OK(rl_ws_new(&ws, m, 3, 7));
    if (!ws) goto out;
    const rl_batch *b = rl_data_batch(d);
    CHECK_OK(rl_ws_keep_grad_hidden(ws));
    CHECK_OK(rl_forward(ws, m, b, &loss));
    CHECK_OK(rl_backward(ws, m, b));
    rl_ws_zero_grad(ws);
    CHECK_OK(rl_omega(ws, m, form, 1, &om, NULL));
    CHECK(om > 0);
    size_t n = rl_model_num_params(m);
    double *g = malloc(n * 8);
    memcpy(g, rl_ws_grad(ws), n * 8);
    omega_ctx c = {m, ws, form};
    double *p = rl_model_params(m);
    for (int ti = 0; ti < rl_model_num_tensors(m); ti++) {
        const rl_tensor_info *t = rl_model_tensor(m, ti);
        for (size_t i = 0; !t->fixed && i < t->numel; i++) {
            double num = fd(omega_value, &c, p + t->offset + i, 1e-4), e = rel_err(g[t->offset + i], num);
            if (e > worst) worst = e, snprintf(where, wn, "%s[%zu] %g vs %g", t->name, i, g[t->offset + i], num);
        }
    }
    free(g);
out:
    rl_ws_free(ws);
    rl_data_free(d);
    rl_model_free(m);
    return worst;
}

TEST(omega_gradient_matches_finite_differences)
{
    for (int cell = 0; cell < RL_CELL_COUNT; cell++)
        for (int L = 1; L <= 2; L++)
            for (int form = 0; form < RL_OMEGA_FORM_COUNT; form++) {
                char where[200] = "";
                double e = omega_fd((rl_cell)cell, RL_ORTH_NONE, L, (rl_omega_form)form, 20 + (uint64_t)cell, where, sizeof where);
                CHECK_MSG(e < 3e-7, "%s, %d layer(s), %s: dOmega/dtheta off by %.3g at %s", rl_cell_name((rl_cell)cell), L,
                          rl_omega_form_name((rl_omega_form)form), e, where);
            }
    /* an orthogonal W_hh: dOmega/dX through the map, W_hh remade from X */
    const rl_cell oc[2] = {RL_CELL_TANH, RL_CELL_LEAKY};
    for (int k = 0; k < 2; k++)
        for (int map = RL_ORTH_EXP; map <= RL_ORTH_CAYLEY; map++) {
            char where[200] = "";
            double e = omega_fd(oc[k], (rl_orth)map, 2, RL_OMEGA_NORM, 40 + (uint64_t)map, where, sizeof where);
            CHECK_MSG(e < 3e-7, "%s, orthogonal %s: dOmega/dtheta off by %.3g at %s", rl_cell_name(oc[k]),
                      rl_orth_name((rl_orth)map), e, where);
        }
}

/* ------------------------------------------------------------------ PyTorch */

static const char *const reg_cases[] = {"tanh_l1", "tanh_l2",  "relu_l1",  "linear_l2", "lstm_l1",   "lstm_l2",
                                        "gru_l1",  "gru_l2",   "leaky_l1", "leaky_l2",  "indrnn_l1", "indrnn_l2"};

/* Reference tensor name (n elements) from f, float64; NULL (a failure) if it is missing. */
static double *ref_get(const st_file *f, const char *name, size_t n)
{
    const st_tensor *t = st_find(f, name);
    CHECK_MSG(t != NULL && t->numel == n, "reference %s missing or of %zu elements", name, t ? t->numel : 0);
    if (!t || t->numel != n) return NULL;
    double *v = malloc(n * 8);
    CHECK_OK(st_get_real(f, t, RL_F64, v));
    return v;
}

static void compare_ref(const st_file *f, const char *name, const void *got, rl_dtype dt, size_t n, double rtol,
                        const char *what)
{
    double *want = ref_get(f, name, n);
    if (!want) return;
    double mx = 0;
    for (size_t i = 0; i < n; i++) mx = fmax(mx, fabs(want[i]));
    char label[200];
    snprintf(label, sizeof label, "%s: %s", what, name);
    CHECK_CLOSE(label, got, dt, want, n, rtol, rtol * 1e-2 * mx);
    free(want);
}

/* The loss, and Omega in both forms (and the ratios) and their gradients, of
 * a case against torch. */
static void reg_omega(test_net *net, rl_dtype dt, double rtol, const char *what)
{
    const rl_model *m = net->m;
    const rl_batch *b = net->b;
    rl_ws *ws = net->ws;
    const rl_config c = rl_model_config(m);
    const size_t es = dt == RL_F64 ? 8 : 4;
    double loss = 0;
    CHECK_OK(rl_ws_keep_grad_hidden(ws));
    CHECK_OK(rl_forward(ws, m, b, &loss));
    CHECK_OK(rl_backward(ws, m, b));
    compare_ref(&net->ref, "loss", &loss, RL_F64, 1, rtol, what);
    for (int form = 0; form < RL_OMEGA_FORM_COUNT; form++) {
        const char *fn = rl_omega_form_name((rl_omega_form)form);
        double om = NAN, *ratio = malloc((size_t)c.num_layers * b->batch * b->steps * 8);
        char key[160];
        rl_ws_zero_grad(ws);
        CHECK_OK(rl_omega(ws, m, (rl_omega_form)form, 1, &om, ratio));
        snprintf(key, sizeof key, "omega.%s", fn);
        compare_ref(&net->ref, key, &om, RL_F64, 1, rtol, what);
        for (int i = 0; i < rl_model_num_tensors(m); i++) {
            const rl_tensor_info *ti = rl_model_tensor(m, i);
            snprintf(key, sizeof key, "grad.omega.%s.%s", fn, ti->name);
            compare_ref(&net->ref, key, (const char *)rl_ws_grad(ws) + ti->offset * es, dt, ti->numel, rtol, what);
        }
        if (form == RL_OMEGA_NORM) { /* the ratios; not counted: NaN here, -1 in the file */
            size_t nr = (size_t)c.num_layers * b->batch * b->steps;
            double *want = ref_get(&net->ref, "omega.ratio", nr);
            for (size_t i = 0; want && i < nr; i++) {
                CHECK_MSG((want[i] == -1) == isnan(ratio[i]), "%s: ratio[%zu] %g, want %g", what, i, ratio[i], want[i]);
                if (isnan(ratio[i])) ratio[i] = -1;
            }
            if (want) CHECK_CLOSE(what, ratio, RL_F64, want, nr, rtol, 0);
            free(want);
        }
        free(ratio);
    }
}

/* Flossing of a case against torch: k and the target from the file's
 * metadata; F, the exponents and dF/dtheta, dF/dh0 (and dF/dc0). */
static void reg_floss(const test_net *net, rl_dtype dt, double rtol, const char *what)
{
    const rl_model *m = net->m;
    const rl_batch *b = net->b;
    const size_t n = rl_model_num_params(m), es = dt == RL_F64 ? 8 : 4,
                 LBH = (size_t)rl_model_config(m).num_layers * b->batch * rl_model_units(m);
    const char *ks = st_meta(&net->ref, "k"), *ts = st_meta(&net->ref, "target");
    CHECK(ks && ts);
    if (!ks || !ts) return;
    rl_floss_config fc = {atoi(ks), strtod(ts, NULL), 1};
    double F = NAN, *lam = malloc((size_t)b->batch * fc.k * 8);
    void *g = calloc(n, es), *gh = calloc(LBH, es), *gc = calloc(LBH, es);
    CHECK_OK(rl_floss(m, b, &fc, &F, lam, g, gh, gc));
    compare_ref(&net->ref, "floss", &F, RL_F64, 1, rtol, what);
    compare_ref(&net->ref, "floss.lambda", lam, RL_F64, (size_t)b->batch * fc.k, rtol, what);
    for (int i = 0; i < rl_model_num_tensors(m); i++) {
        const rl_tensor_info *ti = rl_model_tensor(m, i);
        char key[160];
        snprintf(key, sizeof key, "grad.floss.%s", ti->name);
        compare_ref(&net->ref, key, (const char *)g + ti->offset * es, dt, ti->numel, rtol, what);
    }
    compare_ref(&net->ref, "grad.floss.h0", gh, dt, LBH, rtol, what);
    if (b->c0) compare_ref(&net->ref, "grad.floss.c0", gc, dt, LBH, rtol, what);
    free(lam), free(g), free(gh), free(gc);
}

/* Omega in both forms (and the ratios), and flossing, against torch. */
static void reg_case(const char *name, rl_dtype dt, double rtol)
{
    char full[128], what[160];
    snprintf(full, sizeof full, "reg_%s", name);
    snprintf(what, sizeof what, "%s %s", name, rl_dtype_name(dt));
    test_net net = TEST_CASE(full, "reg", .dtype = dt, .ws = 1);
    if (net.m && net.ref.n) {
        reg_omega(&net, dt, rtol, what);
        reg_floss(&net, dt, rtol, what);
    }
    test_net_free(&net);
}

/* reg_fixtures_match_torch_f64 and reg_fixtures_match_torch_f32 (Omega in
 * float32 as training runs it; flossing always in float64, from the rounded
 * weights) */
TEST_EACH_CASE(reg_fixtures_match_torch, reg_case, reg_cases, 1e-10, 1e-3)

/* ------------------------------------------------------------------ exact cases */

/* The linear cell, J_t = W_hh at every step: an orthogonal W_hh keeps every
 * length (all lambda_i = 0, F = 0 with target 0, and dF/dtheta = 0); W_hh =
 * cI gives R_t = cI up to signs, lambda_i = ln|c|. */
TEST(floss_linear_cell_exact_exponents)
{
    const double cs[] = {0.5, -1.3, 2.0};
    for (int kind = 0; kind < 4; kind++) {
        rl_config cfg = {.cell = RL_CELL_LINEAR, .input_size = 2, .hidden_size = 6, .num_layers = 1, .output_size = 2, .loss = RL_LOSS_MSE};
        rl_init init = {.kind = kind == 0 ? RL_INIT_ORTHOGONAL : RL_INIT_IDENTITY, .gain = kind ? cs[kind - 1] : 1};
        rl_model *m = NULL;
        rl_data *d = NULL;
        CHECK_OK(rl_model_new(&m, &cfg, RL_F64));
        if (m) CHECK_OK(rl_model_init(m, &init, 5));
        if (m) CHECK_OK(rl_data_random(&d, m, 3, 40, RL_F64, 0, 1, 6));
        if (!d) {
            rl_model_free(m);
            continue;
        }
        size_t n = rl_model_num_params(m);
        double F = NAN, lam[3 * 6], *g = calloc(n, 8), want = kind ? log(fabs(cs[kind - 1])) : 0;
        rl_floss_config fc = {6, 0, 1};
        CHECK_OK(rl_floss(m, rl_data_batch(d), &fc, &F, lam, g, NULL, NULL));
        for (int i = 0; i < 3 * 6; i++) CHECK_MSG(fabs(lam[i] - want) < 1e-13, "lambda[%d] = %.17g, want %.17g", i, lam[i], want);
        CHECK_MSG(fabs(F - want * want) < 1e-12, "F = %.17g, want %.17g", F, want * want);
        if (kind == 0) {
            double mx = 0;
            for (size_t i = 0; i < n; i++) mx = fmax(mx, fabs(g[i]));
            CHECK_MSG(mx < 1e-12, "orthogonal W_hh: |dF/dtheta| = %g, want 0", mx);
        }
        free(g);
        rl_data_free(d);
        rl_model_free(m);
    }
}

/* ------------------------------------------------------------------ bad input */

TEST(reg_bad_input_is_refused)
{
    rl_model *m = reg_model(RL_CELL_TANH, 2, 4, 1, 2, RL_LOSS_MSE, 1);
    rl_data *d = NULL;
    rl_ws *ws = NULL;
    double v = 0, loss;
    if (m) CHECK_OK(rl_data_random(&d, m, 2, 5, RL_F64, 0, 0, 2));
    if (!d) goto out;
    const rl_batch *b = rl_data_batch(d);
    /* k larger than the state, k < 1, a negative weight */
    rl_floss_config bad[] = {{5, 0, 1}, {0, 0, 1}, {2, 0, -1}, {2, NAN, 1}};
    for (int i = 0; i < 4; i++) {
        CHECK(rl_floss(m, b, &bad[i], &v, NULL, NULL, NULL, NULL) == RL_ERR_ARG);
        CHECK(strlen(rl_errmsg()) > 10);
    }
    CHECK(strstr((rl_floss(m, b, &bad[0], &v, NULL, NULL, NULL, NULL), rl_errmsg()), "S = 4") != NULL);
    /* Omega: a negative weight; the per-layer dL/dh not kept */
    CHECK_OK(rl_ws_new(&ws, m, 2, 5));
    if (!ws) goto out;
    CHECK_OK(rl_forward(ws, m, b, &loss));
    CHECK_OK(rl_backward(ws, m, b));
    CHECK(rl_omega(ws, m, RL_OMEGA_NORM, 1, &v, NULL) == RL_ERR_ARG);
    CHECK(strstr(rl_errmsg(), "rl_ws_keep_grad_hidden") != NULL);
    CHECK_OK(rl_ws_keep_grad_hidden(ws));
    CHECK(rl_omega(ws, m, RL_OMEGA_NORM, -1, &v, NULL) == RL_ERR_ARG);
    CHECK(rl_omega(ws, m, RL_OMEGA_NORM, NAN, &v, NULL) == RL_ERR_ARG);
    rl_omega_form f;
    CHECK(rl_omega_form_parse("cubed", &f) == RL_ERR_ARG);
    CHECK(rl_omega_form_parse("squared", &f) == RL_OK && f == RL_OMEGA_SQUARED);
out:
    rl_ws_free(ws);
    rl_data_free(d);
    rl_model_free(m);
}

/* ReLU units all off: J_t = 0, R_1 = 0: refused, naming the step */
TEST(floss_rank_deficient_is_refused)
{
    rl_model *m = reg_model(RL_CELL_RELU, 2, 4, 1, 2, RL_LOSS_MSE, 1);
    rl_data *d = NULL;
    if (m) CHECK_OK(rl_data_random(&d, m, 2, 5, RL_F64, 0, 0, 2));
    if (!d) goto out;
    double v = 0, *bias = test_view(m, "rnn.bias_ih_l0", 4, 0);
    for (int i = 0; bias && i < 4; i++) bias[i] = -100;
    rl_floss_config fc = {2, 0, 1};
    CHECK(rl_floss(m, rl_data_batch(d), &fc, &v, NULL, NULL, NULL, NULL) == RL_ERR_NONFINITE);
    CHECK(strstr(rl_errmsg(), "rank-deficient at step 1 of sequence 0") != NULL);
out:
    rl_data_free(d);
    rl_model_free(m);
}

/* rnnlab grad: the new tensors in the file, exit 2 on bad flags */
TEST(reg_grad_cli)
{
    const char *model = tmp_path("reg_cli.model.safetensors"), *data = tmp_path("reg_cli.data.safetensors");
    const char *out = tmp_path("reg_cli.grad.safetensors");
    char so[512], se[512];
    const char *init[] = {"rnnlab", "init", "--cell", "lstm", "--input", "2", "--hidden", "3", "--output", "2",
                          "--out", model, NULL};
    CHECK(run_cli(init, NULL, so, sizeof so, se, sizeof se) == 0);
    const char *dat[] = {"rnnlab", "data", "--model", model, "--steps", "8", "--batch", "2", "--h0", "random", "--out", data, NULL};
    CHECK(run_cli(dat, NULL, so, sizeof so, se, sizeof se) == 0);
    const char *ok[] = {"rnnlab", "grad", "--model", model, "--data", data, "--out", out, "--omega", "0.5",
                        "--omega-form", "squared", "--floss", "6", "--floss-weight", "0.1", "--precision", "f64", NULL};
    CHECK_MSG(run_cli(ok, NULL, so, sizeof so, se, sizeof se) == 0, "%s", se);
    CHECK(strncmp(so, "loss ", 5) == 0);
    rl_st *f = NULL;
    CHECK_OK(rl_st_open(&f, out));
    if (f) {
        int64_t shape[8];
        CHECK(rl_st_shape(f, "omega", shape) == 0);
        CHECK(rl_st_shape(f, "floss", shape) == 0);
        CHECK(rl_st_shape(f, "omega.ratio", shape) == 3 && shape[0] == 1 && shape[1] == 2 && shape[2] == 8);
        CHECK(rl_st_shape(f, "floss.lambda", shape) == 2 && shape[0] == 2 && shape[1] == 6);
        CHECK(rl_st_shape(f, "grad.rnn.weight_hh_l0", shape) == 2);
        rl_st_close(f);
    }
    const char *bad[][14] = {
        {"rnnlab", "grad", "--model", model, "--data", data, "--out", out, "--omega", "-1", NULL},
        {"rnnlab", "grad", "--model", model, "--data", data, "--out", out, "--floss", "7", NULL}, /* S = 6 */
        {"rnnlab", "grad", "--model", model, "--data", data, "--out", out, "--floss", "2", "--floss-weight", "-0.5", NULL},
        {"rnnlab", "grad", "--model", model, "--data", data, "--out", out, "--omega-form", "norm", NULL},
        {"rnnlab", "grad", "--model", model, "--data", data, "--out", out, "--omega", "1", "--omega-form", "cube", NULL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_MSG(run_cli(bad[i], NULL, so, sizeof so, se, sizeof se) == 2, "bad case %zu: %s", i, se);
        CHECK(run_cli_err_lines() == 1);
    }
}

/* ------------------------------------------------------------------ training */

static rl_train_config reg_train_config(rl_cell cell)
{
    rl_train_config c = rl_train_defaults();
    c.task = RL_TASK_ADDING, c.seq_len = 12, c.cell = cell, c.hidden = 6, c.batch = 4, c.steps = 30;
    c.log_every = 5, c.eval_every = 0, c.eval_batches = 1, c.flow_every = 0, c.ckpt_every = 0, c.seed = 3;
    c.omega = 0.5, c.floss = 3, c.floss_steps = 4, c.floss_every = 10, c.floss_episodes = 2, c.floss_batch = 2;
    return c;
}

static unsigned char *run_file(const char *dir, const char *name, size_t *n)
{
    char p[1200];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return read_file(p, n);
}

/* Omega through the step hook and flossing episodes: the records are
 * there, the episodes are where the schedule puts them, and a run stopped
 * half way and resumed ends with the bytes of one that never stopped
 * (model and floss.jsonl). */
TEST(reg_training_records_and_resumes_exactly)
{
    const rl_cell cells[2] = {RL_CELL_TANH, RL_CELL_LSTM};
    for (int k = 0; k < 2; k++) {
        rl_train_config c = reg_train_config(cells[k]);
        char a[1100], b[1100];
        snprintf(a, sizeof a, "%s/reg-full%d", test_tmpdir, k);
        snprintf(b, sizeof b, "%s/reg-split%d", test_tmpdir, k);
        rl_trainer *t = TEST_TRAIN(&c, a);
        rl_trainer_free(t);
        c.steps = 15, t = NULL;
        t = TEST_TRAIN(&c, b);
        rl_trainer_free(t);
        t = NULL;
        CHECK_OK(rl_trainer_resume(&t, b, 30));
        TEST_RUN(t);
        rl_trainer_free(t);
        size_t na = 0, nb = 0, fa = 0, fb = 0, ma_n = 0;
        unsigned char *ma = run_file(a, "model.safetensors", &na), *mb = run_file(b, "model.safetensors", &nb);
        CHECK_MSG(ma && mb && na == nb && memcmp(ma, mb, na) == 0, "%s: the resumed model differs", rl_cell_name(cells[k]));
        unsigned char *la = run_file(a, "floss.jsonl", &fa), *lb = run_file(b, "floss.jsonl", &fb);
        CHECK_MSG(la && lb && fa == fb && memcmp(la, lb, fa) == 0, "%s: floss.jsonl differs after resuming", rl_cell_name(cells[k]));
        /* episodes before training and after steps 10 and 20 (at most 2 during training) */
        int lines = 0;
        for (size_t i = 0; la && i < fa; i++) lines += la[i] == '\n';
        CHECK_MSG(lines == 3, "%d flossing episodes, want 3", lines);
        CHECK(la && strstr((char *)la, "\"step\":0,") && strstr((char *)la, "\"step\":10,") && strstr((char *)la, "\"step\":20,"));
        CHECK(la && strstr((char *)la, "\"lambda_after\":["));
        unsigned char *met = run_file(a, "metrics.jsonl", &ma_n);
        CHECK(met && strstr((char *)met, "\"omega\":"));
        free(ma), free(mb), free(la), free(lb), free(met);
    }
}

/* the options of rnnlab train: a negative weight, K larger than the state,
 * a flossing option without --floss: one line, exit 2 */
TEST(reg_train_cli_refuses_bad_options)
{
    const char *dir = tmp_path("reg-cli-run");
    const char *bad[][16] = {
        {"rnnlab", "train", "--task", "adding", "--seq-len", "10", "--hidden", "4", "--omega", "-1", "--out", dir, NULL},
        {"rnnlab", "train", "--task", "adding", "--seq-len", "10", "--hidden", "4", "--floss", "5", "--out", dir, NULL},
        {"rnnlab", "train", "--task", "adding", "--seq-len", "10", "--hidden", "4", "--floss-every", "5", "--out", dir, NULL},
        {"rnnlab", "train", "--task", "adding", "--seq-len", "10", "--hidden", "4", "--omega-form", "squared", "--out", dir, NULL},
    };
    char so[512] = "", se[512] = "";
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_MSG(run_cli(bad[i], NULL, so, sizeof so, se, sizeof se) == 2, "case %zu: %s", i, se);
        CHECK(run_cli_err_lines() == 1);
    }
    CHECK(strstr(se, "--omega-form") != NULL);
}

/* Omega and flossing train on one process, and are refused with
 * --block-sum (on by itself under mpirun; tests/test_mpi.c): one line naming
 * both options and why, status 2, no run folder; the library's check alike. */
TEST(reg_with_block_sum_refused)
{
    static const struct {
        const char *opt, *val, *why;
    } regs[] = {{"--omega", "0.1", "activations"}, {"--floss", "2", "one process"}};
    char so[512] = "", se[1024] = "", dir[1100];
    struct stat sb;
    for (int k = 0; k < 2; k++) {
        snprintf(dir, sizeof dir, "%s/reg-bs-alone%d", test_tmpdir, k);
        const char *alone[] = {"rnnlab", "train", "--task", "adding", "--seq-len", "10", "--hidden", "4", "--batch", "4",
                               "--steps", "2", "--floss-steps", "2", "--eval-batches", "1", "--quiet", regs[k].opt,
                               regs[k].val, "--out", dir, NULL};
        CHECK_MSG(run_cli(alone, NULL, so, sizeof so, se, sizeof se) == 0, "%s alone: %s", regs[k].opt, se);
        CHECK_MSG(stat(dir, &sb) == 0, "%s alone made no run", regs[k].opt);
        snprintf(dir, sizeof dir, "%s/reg-bs-both%d", test_tmpdir, k);
        const char *both[] = {"rnnlab", "train", "--task", "adding", "--seq-len", "10", "--hidden", "4", "--batch", "4",
                              "--steps", "2", "--floss-steps", "2", "--eval-batches", "1", "--quiet", regs[k].opt,
                              regs[k].val, "--block-sum", "--out", dir, NULL};
        CHECK_MSG(run_cli(both, NULL, so, sizeof so, se, sizeof se) == 2, "%s --block-sum: %s", regs[k].opt, se);
        CHECK(run_cli_err_lines() == 1);
        char want[64];
        snprintf(want, sizeof want, "%s does not combine with --block-sum", regs[k].opt);
        CHECK_MSG(strstr(se, want) && strstr(se, "mpirun") && strstr(se, regs[k].why), "%s --block-sum said: %s",
                  regs[k].opt, se);
        CHECK_MSG(stat(dir, &sb) != 0, "%s --block-sum made %s", regs[k].opt, dir);
    }
    rl_train_config c = rl_train_defaults();
    c.block_sum = 1;
    CHECK_OK(rl_train_config_check(&c));
    c.omega = 0.1;
    CHECK(rl_train_config_check(&c) == RL_ERR_ARG);
    c.omega = 0, c.floss = 2;
    CHECK(rl_train_config_check(&c) == RL_ERR_ARG);
    c.block_sum = 0;
    CHECK_OK(rl_train_config_check(&c));
}

/* ------------------------------------------------------------------ rl_gemm */

/* rl_gemm lowers its panel count for small products (4 MFLOP a panel); the
 * fewer panels must still cover every row. Layer 1's input projection and
 * dL/dx of a 2-layer net with T B = 10000 rows and H = 50 is such a product
 * (found through Omega's ratios, exactly 0 past row 7040 = 11 x 640): the
 * batch's loss and gradient are the means of its sequences' alone. */
TEST(gemm_with_fewer_panels_covers_every_row)
{
    rl_model *m = reg_model(RL_CELL_TANH, 3, 50, 2, 2, RL_LOSS_MSE, 4);
    rl_data *d = NULL;
    rl_ws *ws = NULL, *w1 = NULL;
    const int B = 200, T = 50;
    if (m) CHECK_OK(rl_data_random(&d, m, B, T, RL_F64, 0, 1, 5));
    if (d) CHECK_OK(rl_ws_new(&ws, m, B, T));
    if (ws) CHECK_OK(rl_ws_new(&w1, m, 1, T));
    if (!w1) goto out;
    const rl_batch *b = rl_data_batch(d);
    const size_t n = rl_model_num_params(m), NI = 3, LH = 2 * 50;
    double loss = 0, mean = 0, l1, *g = calloc(n, 8), *x = malloc((size_t)T * NI * 8), *h0 = malloc(LH * 8);
    const double *y = b->y;
    rl_ws_zero_grad(ws);
    CHECK_OK(rl_forward(ws, m, b, &loss));
    CHECK_OK(rl_backward(ws, m, b));
    for (int q = 0; q < B; q++) {
        memcpy(x, (const double *)b->x + (size_t)q * T * NI, (size_t)T * NI * 8);
        for (int l = 0; l < 2; l++) memcpy(h0 + l * 50, (const double *)b->h0 + ((size_t)l * B + q) * 50, 50 * 8);
        rl_batch one = {RL_F64, 1, T, 3, x, NULL, y + (size_t)q * T * 2, NULL, h0, NULL};
        rl_ws_zero_grad(w1);
        CHECK_OK(rl_forward(w1, m, &one, &l1));
        CHECK_OK(rl_backward(w1, m, &one));
        mean += l1 / B;
        for (size_t i = 0; i < n; i++) g[i] += ((const double *)rl_ws_grad(w1))[i] / B;
    }
    CHECK_MSG(fabs(loss - mean) < 1e-12 * fabs(mean), "loss %.17g, the sequences' mean %.17g", loss, mean);
    CHECK_CLOSE("batch gradient against the sequences' mean", rl_ws_grad(ws), RL_F64, g, n, 1e-10, 1e-13);
    free(g), free(x), free(h0);
out:
    rl_ws_free(w1);
    rl_ws_free(ws);
    rl_data_free(d);
    rl_model_free(m);
}

/* An orthogonal W_hh keeps lengths: for tanh, relu and linear
 * ||J^T delta|| = ||W_hh^T D delta|| = ||D delta|| whatever X, so Omega and
 * its gradient do not reach X at all; the leaky unit's direct term
 * (1 - alpha) delta breaks that, and its X moves. */
TEST(omega_orthogonal_reaches_x_only_past_the_rotation)
{
    const rl_cell cells[2] = {RL_CELL_TANH, RL_CELL_LEAKY};
    for (int k = 0; k < 2; k++) {
        rl_model *m = reg_model_orth(cells[k], 2, 6, 1, 2, RL_LOSS_MSE, 3, RL_ORTH_CAYLEY);
        rl_data *d = NULL;
        rl_ws *ws = NULL;
        double loss, om = 0;
        if (m) CHECK_OK(rl_data_random(&d, m, 3, 20, RL_F64, 0, 1, 4));
        if (d) CHECK_OK(rl_ws_new(&ws, m, 3, 20));
        if (ws) {
            const rl_batch *b = rl_data_batch(d);
            CHECK_OK(rl_ws_keep_grad_hidden(ws));
            CHECK_OK(rl_forward(ws, m, b, &loss));
            CHECK_OK(rl_backward(ws, m, b));
            rl_ws_zero_grad(ws);
            CHECK_OK(rl_omega(ws, m, RL_OMEGA_NORM, 1, &om, NULL));
            const rl_tensor_info *t =
                rl_model_tensor(m, rl_model_find_tensor(m, "rnn.parametrizations.weight_hh_l0.original"));
            double mx = 0;
            for (size_t i = 0; i < t->numel; i++) mx = fmax(mx, fabs(((const double *)rl_ws_grad(ws))[t->offset + i]));
            if (k == 0) CHECK_MSG(mx < 1e-12 && om > 0, "tanh: |dOmega/dX| = %g, want 0 (Omega %g)", mx, om);
            else CHECK_MSG(mx > 1e-3, "leaky: |dOmega/dX| = %g, want it to move", mx);
        }
        rl_ws_free(ws);
        rl_data_free(d);
        rl_model_free(m);
    }
}

/* Omega does not see delta's scale, so its gradient in u grows as 1/||delta||;
 * with vanishing deltas (T = 100, loss at the last step) it overflowed
 * float32 while dzh(delta) underflowed, and e g^T was inf times 0: this run
 * stopped with a NaN gradient at step 30. */
TEST(reg_omega_float32_with_vanishing_deltas_stays_finite)
{
    rl_train_config c = rl_train_defaults();
    c.task = RL_TASK_TEMPORAL_ORDER, c.seq_len = 100, c.hidden = 50, c.batch = 20, c.steps = 40, c.seed = 3;
    c.eval_every = 0, c.eval_batches = 1, c.flow_every = 0, c.ckpt_every = 0, c.omega = 2;
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/omega-vanishing", test_tmpdir);
    rl_trainer *t = TEST_TRAIN(&c, dir);
    CHECK(t && rl_trainer_step(t) == 40);
    rl_trainer_free(t);
}

/* rl_gemm against a plain triple loop on shapes around the panel rule:
 * rows or columns from 100 to 10,000 with products of 0.1 to 40 MFLOP, so
 * that the panel count is left, lowered, or lowered to one, both ways of
 * cutting (by rows, M >= N, and by columns) and every transposition. */
TEST(gemm_panels_cover_every_shape)
{
    /* and 1950 x 50 x 330: 15 panels of 144 after the cap, the 15th would start past the end */
    const int ns[] = {100, 300, 1000, 1950, 2000, 4100, 10000}, ks[] = {3, 8, 50, 330}, ws[] = {2, 50};
    for (size_t a = 0; a < sizeof ns / sizeof ns[0]; a++)
        for (size_t b = 0; b < sizeof ks / sizeof ks[0]; b++)
            for (size_t c = 0; c < sizeof ws / sizeof ws[0]; c++)
                for (int cut = 0; cut < 2; cut++)
                    for (int tr = 0; tr < 4; tr++) {
                        if (ks[b] == 330 && (ns[a] != 1950 || ws[c] != 50)) continue;
                        const int M = cut ? ws[c] : ns[a], N = cut ? ns[a] : ws[c], K = ks[b];
                        const CBLAS_TRANSPOSE ta = tr & 1 ? CblasTrans : CblasNoTrans, tb = tr & 2 ? CblasTrans : CblasNoTrans;
                        const int lda = ta == CblasNoTrans ? K : M, ldb = tb == CblasNoTrans ? N : K;
                        float *A = malloc((size_t)M * K * 4), *B = malloc((size_t)K * N * 4), *C = malloc((size_t)M * N * 4);
                        double *want = malloc((size_t)M * N * 8);
                        rl_rng r;
                        rl_rng_seed(&r, (uint64_t)(M * 31 + N * 7 + K));
                        for (size_t i = 0; i < (size_t)M * K; i++) A[i] = (float)rl_rng_normal(&r);
                        for (size_t i = 0; i < (size_t)K * N; i++) B[i] = (float)rl_rng_normal(&r);
                        for (size_t i = 0; i < (size_t)M * N; i++) C[i] = 1;
                        for (int i = 0; i < M; i++)
                            for (int j = 0; j < N; j++) {
                                double s = 0;
                                for (int k = 0; k < K; k++)
                                    s += (double)(ta == CblasNoTrans ? A[(size_t)i * lda + k] : A[(size_t)k * lda + i]) *
                                         (tb == CblasNoTrans ? B[(size_t)k * ldb + j] : B[(size_t)j * ldb + k]);
                                want[(size_t)i * N + j] = 2 * s + 0.5; /* alpha 2, beta 0.5 on C = 1 */
                            }
                        int blas = rl_blas_single();
                        rl_gemm_f32(ta, tb, M, N, K, 2, A, lda, B, ldb, 0.5f, C, N);
                        rl_blas_restore(blas);
                        char what[96];
                        snprintf(what, sizeof what, "rl_gemm M %d N %d K %d trans %d", M, N, K, tr);
                        CHECK_CLOSE(what, C, RL_F32, want, (size_t)M * N, 1e-4, 1e-4 * K);
                        free(A), free(B), free(C), free(want);
                    }
}

/* Gradient flossing of an lru with more than one layer (through the output
 * map between layers) is refused in one message, and one layer works (the
 * finite-difference test above takes it). */
TEST(floss_lru_layers_refused)
{
    rl_model *m = reg_model(RL_CELL_LRU, 2, 3, 2, 2, RL_LOSS_MSE, 5);
    rl_data *d = NULL;
    if (m) CHECK_OK(rl_data_random(&d, m, 2, 5, RL_F64, 0, 1, 6));
    if (d) {
        rl_floss_config fc = {2, 0.1, 1};
        double F = 0;
        CHECK(rl_floss(m, rl_data_batch(d), &fc, &F, NULL, NULL, NULL, NULL) == RL_ERR_ARG);
        CHECK_MSG(strstr(rl_errmsg(), "2-layer lru") && strstr(rl_errmsg(), "not implemented"), "%s", rl_errmsg());
    }
    rl_data_free(d);
    rl_model_free(m);
}
