/* Pascanu, Mikolov & Bengio (2013)'s regulariser on the step Jacobians,
 * eq. (9), one layer at a time:
 *
 *   Omega = mean over (b, k) of (||J_{k+1}^T delta_{k+1}|| / ||delta_{k+1}|| - 1)^2,
 *   delta_{k+1} = dL/dh_{k+1} (the complete BPTT gradient, kept by rl_backward),
 *
 * and its "immediate" gradient (their eq. 10: the activations and the deltas
 * held). Nothing here knows a cell: J^T delta is the cell's backward step
 * applied to delta alone (linear in delta, the caches fixed), which gives
 *
 *   u = J^T delta = W_hh^T e + r,   e = dzh(delta) (Gh*H),  r = direct(delta) (H),
 *
 * for all (b, k) at once: one GEMM for u. With g = dOmega/du (a multiple of
 * u per row), dOmega/dW_hh = sum e g^T (one GEMM); and where the cell's own
 * parameter sits in the coefficients (the leaky unit's theta), the
 * coefficients' cotangents (delta times W_hh g on the W_hh side, delta
 * times g on the direct side) go through the cell's jac_vjp, whose
 * dextra output is exactly that parameter's share (its other outputs, the
 * activations', are dropped: they are held). Compiled once per real type
 * (see real.h): training runs it in float32 on the trainer's workspace. */
#include "net/layer.h"
#include "train/regular.h"

#include <string.h>

#define P(m, i) ((const real *)(m)->params + (m)->tensors[(i)].offset)
#define DP(ws, m, i) ((real *)(ws)->grad + (m)->tensors[(i)].offset)
#define DPL(ws, m, l, r) (rl_t(m, l, r) < 0 ? NULL : DP(ws, m, rl_t(m, l, r)))

/* the bound of Pascanu's code on ||delta||^2 (form squared) */
#define OMEGA_BOUND 1e-20

typedef struct {
    real *E, *U, *G, *Eb; /* (TB, Gh*H), (TB, H), (TB, H), (TB, Gh*H) */
    real *dz, *dc;        /* (G*H) the input side of a cell that keeps the sides apart; (H) LSTM's dc */
    real *kbar, *zb, *zhb, *sb;
    double *nd2, *nu2;    /* (TB) ||delta||^2, ||u||^2 */
} omega_bufs;

static void free_bufs(omega_bufs *o)
{
    void *p[] = {o->E, o->U, o->G, o->Eb, o->dz, o->dc, o->kbar, o->zb, o->zhb, o->sb, o->nd2, o->nu2};
    for (size_t i = 0; i < sizeof p / sizeof p[0]; i++) rl_free(p[i]);
}

static int counted(rl_omega_form form, double nd2) { return form == RL_OMEGA_NORM ? nd2 > 0 : nd2 >= OMEGA_BOUND; }

static rl_status omega_of_layers(rl_ws *ws, const rl_model *m, rl_omega_form form, double weight, double *omega, double *ratio)
{
    const rl_cell_desc *d = m->cell;
    /* H: the units of a layer's state (U), Z its input side's rows */
    const int B = ws->B, T = ws->T, H = rl_model_units(m), L = m->cfg.num_layers, Z = rl_cell_proj(d, &m->cfg);
    const size_t TB = (size_t)T * B, GhH = (size_t)d->hh_gates * H, CL = (size_t)rl_coef_len(d, H, Z);
    const rl_recur_ops *r = RL_OPS(rl_cell_recur(d)); /* R's products (src/cells/recur.h) */
    const int apart = d->hh_apart;
    const int theta = weight > 0 && rl_t(m, 0, RL_EXTRA) >= 0; /* a parameter of the cell's own in J_t */
    omega_bufs o = {0};
    int ok = (o.E = rl_alloc(TB * GhH, sizeof(real))) && (o.U = rl_alloc(TB * H, sizeof(real))) &&
             (o.G = rl_alloc(TB * H, sizeof(real))) && (o.nd2 = rl_alloc(TB, 8)) && (o.nu2 = rl_alloc(TB, 8)) &&
             (!apart || (o.dz = rl_alloc((size_t)Z, sizeof(real)))) &&
             (d->states < 2 || (o.dc = rl_alloc((size_t)H, sizeof(real))));
    if (ok && theta)
        ok = (o.Eb = rl_alloc(TB * GhH, sizeof(real))) && (o.kbar = rl_alloc((size_t)d->states * CL, sizeof(real))) &&
             (o.zb = rl_alloc((size_t)Z, sizeof(real))) && (o.zhb = rl_alloc(GhH, sizeof(real))) &&
             (o.sb = rl_alloc((size_t)d->states * H, sizeof(real)));
    if (!ok) {
        free_bufs(&o);
        return RL_ERR_NOMEM;
    }
    *omega = 0;
    for (int l = 0; l < L; l++) {
        rl_layer ly = RL_T(rl_layer_of)(ws, m, l);
        const real *delta = (const real *)ws->dh_all + (size_t)l * TB * H, *w = ly.w_hh;
        /* e = dzh(delta) and r = direct(delta): the backward step on delta
         * alone, nothing carried from the step after (LSTM: dL/dc = 0, so
         * u is the h block's J^T delta); r goes straight into U */
        memset(o.U, 0, TB * H * sizeof *o.U);
        for (int t = 0; t < T; t++)
            for (int b = 0; b < B; b++) {
                size_t row = (size_t)t * B + b;
                real *e = o.E + row * GhH;
                if (o.dc) memset(o.dc, 0, (size_t)H * sizeof *o.dc);
                RL_OPS(d)->bwd(&ly, t, b, 0, H, delta + row * H, o.dc, apart ? o.dz : e, e, o.U + row * H);
            }
        /* u = R^T e + r, every (b, k) at once */
        r->mul_t(d->hh_gates, H, (int)TB, 1, o.E, w, 1, o.U);
        /* the ratios, and Omega_l as their mean */
        double sum = 0;
        size_t n = 0;
        for (size_t row = 0; row < TB; row++) {
            double a = 0, c = 0;
            for (int j = 0; j < H; j++) {
                a += (double)delta[row * H + j] * delta[row * H + j];
                c += (double)o.U[row * H + j] * o.U[row * H + j];
            }
            o.nd2[row] = a, o.nu2[row] = c;
            double rho = counted(form, a) ? sqrt(c / a) : NAN;
            if (ratio) ratio[((size_t)l * B + row % B) * T + row / B] = rho;
            if (isnan(rho)) continue;
            n++;
            sum += form == RL_OMEGA_NORM ? (rho - 1) * (rho - 1) : (rho * rho - 1) * (rho * rho - 1);
        }
        if (n) *omega += sum / (double)n;
        if (!(weight > 0) || n == 0) continue;
        /* g = weight/n dOmega/du, a multiple of u on each counted row:
         *   norm:    2 (rho - 1) u / (||delta|| ||u||)   (0 where u = 0)
         *   squared: 4 (rho^2 - 1) u / ||delta||^2
         * Omega does not see delta's scale, so g grows as 1/||delta|| while e
         * shrinks with it: a vanishing delta would overflow g and underflow e
         * in float32 (inf times 0). Each row's scale goes to the other factor,
         * e g^T = (e / ||delta||) (||delta|| g)^T, both bounded: G holds
         * ||delta|| g and E becomes e / ||delta||. */
        const double wn = weight / (double)n;
        for (size_t row = 0; row < TB; row++) {
            double a = o.nd2[row], c = o.nu2[row], f = 0, nd = sqrt(a);
            if (counted(form, a)) {
                double rho = sqrt(c / a);
                if (form == RL_OMEGA_SQUARED) f = wn * 4 * (c / a - 1) / nd;
                else if (c > 0) f = wn * 2 * (rho - 1) / sqrt(c);
            }
            for (int j = 0; j < H; j++) o.G[row * H + j] = (real)(f * o.U[row * H + j]);
            for (size_t k = 0; k < GhH; k++) o.E[row * GhH + k] = f != 0 ? (real)(o.E[row * GhH + k] / nd) : 0;
        }
        /* dOmega/dR = sum over (b, k) of e g^T */
        real *dw = (real *)rl_layer_dwhh(ws, m, l); /* orthogonal: the workspace's, mapped to dL/dX after */
        r->grad(d->hh_gates, H, (int)TB, o.E, o.G, dw);
        if (!theta) continue;
        /* the cotangent of e is W_hh g; of the coefficients, delta times it
         * (here (W_hh ||delta|| g) times delta / ||delta||) */
        r->mul(d->hh_gates, H, (int)TB, 1, o.G, w, 0, o.Eb);
        real *dtheta = DPL(ws, m, l, RL_EXTRA);
        const size_t hid = apart ? (size_t)Z : 0, dir = hid + GhH;
        for (int t = 0; t < T; t++)
            for (int b = 0; b < B; b++) {
                size_t row = (size_t)t * B + b;
                if (!counted(form, o.nd2[row])) continue;
                const real *dl = delta + row * H;
                const double nd = sqrt(o.nd2[row]);
                memset(o.kbar, 0, (size_t)d->states * CL * sizeof *o.kbar);
                memset(o.zb, 0, (size_t)Z * sizeof *o.zb);
                memset(o.zhb, 0, GhH * sizeof *o.zhb);
                memset(o.sb, 0, (size_t)d->states * H * sizeof *o.sb);
                for (size_t k = 0; k < GhH; k++) o.kbar[hid + k] = (real)(o.Eb[row * GhH + k] * (dl[k % (size_t)H] / nd));
                for (int j = 0; j < H; j++) o.kbar[dir + (size_t)j] = (real)(o.G[row * H + j] * (dl[j] / nd));
                RL_OPS(d)->jac_vjp(&ly, t, b, 0, H, o.kbar, o.zb, apart ? o.zhb : NULL, o.sb, dtheta);
            }
    }
    free_bufs(&o);
    return RL_OK;
}

#ifdef RL_REAL_F64
#include "net/orth_ws.h"

rl_status rl_omega(rl_ws *ws, const rl_model *m, rl_omega_form form, double weight, double *omega, double *ratio)
{
    if (!(weight >= 0) || !isfinite(weight)) return rl_fail(RL_ERR_ARG, "the weight of Omega is %g: it must be >= 0", weight);
    if ((unsigned)form >= RL_OMEGA_FORM_COUNT) return rl_fail(RL_ERR_ARG, "no Omega form %d", (int)form);
    if (ws->dtype != m->dtype || ws->cfg.cell != m->cfg.cell || ws->cfg.hidden_size != m->cfg.hidden_size ||
        ws->cfg.num_layers != m->cfg.num_layers)
        return rl_fail(RL_ERR_ARG, "the workspace was made for a different model");
    if (!ws->dh_all)
        return rl_fail(RL_ERR_ARG, "Omega needs every layer's dL/dh: rl_ws_keep_grad_hidden before rl_backward");
    /* an orthogonal W_hh = B map(A(X)): the one of the model's X now (moving X
     * moves Omega through W_hh; the activations stay those of the last pass),
     * and dOmega/dW_hh alone in the workspace's dL/dW_hh, then mapped to dL/dX */
    rl_derive_sync(ws, m); /* a derived R (lru's lambda), whose dOmega/dR goes to the cell's own parameters */
    rl_status s = rl_orth_sync(ws, m);
    if (s) return s;
    if (ws->drder && weight > 0) memset(ws->drder, 0, (size_t)m->cfg.num_layers * rl_model_units(m) * rl_dtype_size(m->dtype));
    if (ws->dwhh && weight > 0)
        memset(ws->dwhh, 0, (size_t)m->cfg.num_layers * m->cfg.hidden_size * m->cfg.hidden_size * rl_dtype_size(m->dtype));
    int blas = rl_blas_single();
    s = m->dtype == RL_F64 ? rl_omega_f64(ws, m, form, weight, omega, ratio)
                           : rl_omega_f32(ws, m, form, weight, omega, ratio);
    rl_blas_restore(blas);
    if (!s && ws->dwhh && weight > 0) s = rl_orth_backward(ws, m);
    if (!s && ws->drder && weight > 0) rl_derive_backward(ws, m);
    return s;
}
#endif

/* This file's functions by their names in each precision (real.h). */
#ifdef RL_REAL_F64
rl_status rl_omega_f64(rl_ws *ws, const rl_model *m, rl_omega_form form, double weight, double *omega, double *ratio)
{
    return omega_of_layers(ws, m, form, weight, omega, ratio);
}
#else
rl_status rl_omega_f32(rl_ws *ws, const rl_model *m, rl_omega_form form, double weight, double *omega, double *ratio)
{
    return omega_of_layers(ws, m, form, weight, omega, ratio);
}
#endif
