/* The regularisers on the Jacobians (issue 15): Pascanu's Omega and
 * gradient flossing, against central finite differences in float64 (Omega
 * with the activations and the deltas frozen, as its gradient holds them),
 * against PyTorch float64 autograd (tools/make_reg_fixtures.py), the linear
 * cell's exact cases, the bad inputs, and training with each. */
#include "test.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cell_is_relu(rl_cell c) { return c == RL_CELL_RELU || c == RL_CELL_INDRNN; }

static rl_model *reg_model(rl_cell cell, int I, int H, int L, int O, rl_loss loss, uint64_t seed)
{
    rl_config c = {cell, I, H, L, O, loss};
    rl_model *m = NULL;
    rl_init init = {.kind = RL_INIT_UNIFORM, .gain = 1};
    CHECK_OK(rl_model_new(&m, &c, RL_F64));
    if (m) CHECK_OK(rl_model_init(m, &init, seed));
    return m;
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
static double floss_fd(rl_cell cell, int L, int H, int T, int B, int K, uint64_t seed, char *where, size_t wn)
{
    rl_model *m = reg_model(cell, 2, H, L, 2, RL_LOSS_MSE, seed);
    rl_data *d = NULL;
    double worst = 0;
    /* ReLU units on (a positive input bias): a unit that is off is a zero row
     * of J_t, and with Q_0 = I[:, :k] a direction can vanish at once */
    for (int l = 0; m && cell_is_relu(cell) && l < L; l++) {
        char name[32];
        snprintf(name, sizeof name, "rnn.bias_ih_l%d", l);
        const rl_tensor_info *t = rl_model_tensor(m, rl_model_find_tensor(m, name));
        for (size_t i = 0; i < t->numel; i++) ((double *)rl_model_params(m))[t->offset + i] += 1;
    }
    if (m) CHECK_OK(rl_data_random(&d, m, B, T, RL_F64, 0, 1, seed + 7));
    if (!m || !d) goto out;
    floss_ctx c = {m, *rl_data_batch(d), {K, 0.1, 1}};
    size_t n = rl_model_num_params(m), LBH = (size_t)L * B * H;
    double *g = calloc(n, 8), *gh = calloc(LBH, 8), *gc = calloc(LBH, 8), F = 0;
    double *h0 = (double *)c.b.h0, *c0 = (double *)c.b.c0;
    CHECK_OK(rl_floss(m, &c.b, &c.cfg, &F, NULL, g, gh, gc));
    CHECK(isfinite(F));
    double *p = rl_model_params(m);
    for (int ti = 0; ti < rl_model_num_tensors(m); ti++) {
        const rl_tensor_info *t = rl_model_tensor(m, ti);
        if (strncmp(t->name, "head.", 5) == 0) continue; /* F does not read the readout */
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
            double e = floss_fd((rl_cell)cell, L, H, 6, 2, K, 10 + (uint64_t)cell, where, sizeof where);
            CHECK_MSG(e < 1e-6, "%s, %d layer(s): dF/dtheta off by %.3g at %s", rl_cell_name((rl_cell)cell), L, e, where);
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
static double omega_fd(rl_cell cell, int L, rl_omega_form form, uint64_t seed, char *where, size_t wn)
{
    rl_model *m = reg_model(cell, 3, 4, L, 2, RL_LOSS_CE, seed);
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
        for (size_t i = 0; i < t->numel; i++) {
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
                double e = omega_fd((rl_cell)cell, L, (rl_omega_form)form, 20 + (uint64_t)cell, where, sizeof where);
                CHECK_MSG(e < 3e-7, "%s, %d layer(s), %s: dOmega/dtheta off by %.3g at %s", rl_cell_name((rl_cell)cell), L,
                          rl_omega_form_name((rl_omega_form)form), e, where);
            }
}
