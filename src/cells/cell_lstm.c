/* The LSTM cell, exactly as torch.nn.LSTM (gate rows i, f, g, o):
 *   i = sigma(z_i), f = sigma(z_f), g = tanh(z_g), o = sigma(z_o),
 *   z = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh,
 *   c_t = f * c_{t-1} + i * g,   h_t = o * tanh(c_t).
 * The state is [h; c]; the gates' activations are cached (T, B, 4H).
 * Compiled once per real type (see real.h). */
#include "cells/cell_real.h"

/* One unit's step over a scalar type N (cells/cell_real.h), written once:
 * forward, from the pre-activations zi, zf, zg, zo and c_{t-1} (ci, cf,
 * cg, co: the cached activations, for the complex step);
 *   c_t = f c_{t-1} + i g,   h_t = o tanh(c_t);
 * backward, from dh = dL/dh_t and dc = the dL/dc_t carried from t+1: the
 * gates' dL/dz and dL/dc_{t-1} (the cell path). */
#define LSTM_FWD(N, SIGM, TANH, FN_TANH)                                                                        \
    static inline void step_fwd_##N(N zi, N zf, N zg, N zo, N cp, real ci, real cf, real cg, real co, N *i, N *f, \
                                    N *g, N *o, N *c, N *h)                                                     \
    {                                                                                                           \
        *i = SIGM(zi, ci), *f = SIGM(zf, cf), *g = TANH(zg, cg), *o = SIGM(zo, co);                             \
        *c = *f * cp + *i * *g;                                                                                 \
        *h = *o * FN_TANH(*c);                                                                                  \
    }
#define LSTM_BWD(N, FN_TANH)                                                                                    \
    static inline void step_bwd_##N(N i, N f, N g, N o, N cp, N ct, N dh, N dc, N *di, N *df, N *dg, N *do_,    \
                                    N *dcp)                                                                     \
    {                                                                                                           \
        N tc = FN_TANH(ct);                                                                                     \
        /* dL/dc_t = dL/dc_t (from t+1) + dL/dh_t o (1 - tanh^2 c_t) */                                          \
        N dcv = dc + dh * o * (1 - tc * tc);                                                                    \
        /* through the gates' nonlinearities: sigma' = s (1 - s), tanh' = 1 - g^2 */                             \
        *di = dcv * g * i * (1 - i);                                                                            \
        *df = dcv * cp * f * (1 - f);                                                                           \
        *dg = dcv * i * (1 - g * g);                                                                            \
        *do_ = dh * tc * o * (1 - o);                                                                           \
        *dcp = dcv * f; /* dL/dc_{t-1}, the cell path */                                                         \
    }
LSTM_FWD(real, rl_act_sigm, rl_act_tanh, rl_fn_tanh)
LSTM_BWD(real, rl_fn_tanh)
LSTM_FWD(cnum, rl_cact_sigm, rl_cact_tanh, rl_cfn_tanh)
LSTM_BWD(cnum, rl_cfn_tanh)

/* sequence b's step t, units [j0, j1): z holds z_t and gets the activations */
RL_CLONES_EW static void fwd(const rl_layer *ly, int t, int b, int j0, int j1)
{
    const int H = ly->H;
    const size_t k = (size_t)b * H, BH = (size_t)ly->B * H;
    real *z = ly->z + ((size_t)t * ly->B + (size_t)b) * 4 * H;
    const real *cp = ly->c + (size_t)t * BH + k;
    real *ct = ly->c + (size_t)(t + 1) * BH + k, *ht = ly->h + (size_t)(t + 1) * BH + k;
    RL_SIMD
    for (int j = j0; j < j1; j++) {
        real i, f, g, o, c, h;
        step_fwd_real(z[j], z[H + j], z[2 * H + j], z[3 * H + j], cp[j], 0, 0, 0, 0, &i, &f, &g, &o, &c, &h);
        z[j] = i, z[H + j] = f, z[2 * H + j] = g, z[3 * H + j] = o; /* the cache keeps activations */
        ct[j] = c, ht[j] = h;
    }
}

/* dL/dz_t from dL/dh_t and the dL/dc_t carried from t+1; dc carries dL/dc_{t-1} back */
RL_CLONES_EW static void bwd(const rl_layer *ly, int t, int b, int j0, int j1, const real *dh, real *dc, real *dz,
                          real *dzh, real *dprev)
{
    (void)dzh, (void)dprev;
    const int H = ly->H;
    const size_t k = (size_t)b * H, BH = (size_t)ly->B * H;
    const real *z = ly->z + ((size_t)t * ly->B + (size_t)b) * 4 * H;
    const real *cp = ly->c + (size_t)t * BH + k, *ct = ly->c + (size_t)(t + 1) * BH + k;
    RL_SIMD
    for (int j = j0; j < j1; j++) {
        real di, df, dg, dz_o, dcp;
        step_bwd_real(z[j], z[H + j], z[2 * H + j], z[3 * H + j], cp[j], ct[j], dh[j], dc[j], &di, &df, &dg, &dz_o, &dcp);
        dz[j] = di, dz[H + j] = df, dz[2 * H + j] = dg, dz[3 * H + j] = dz_o;
        dc[j] = dcp;
    }
}

typedef struct {
    real i, f, g, o;
} unit_cache;

/* the coefficients from the unit's inputs u = (zi, zf, zg, zo, c_{t-1}):
 * the backward step seeded on h (the gates' four, then the cell path) and
 * on c (the same five) */
static void coefs(const void *ctx, const cnum *u, cnum *k)
{
    const unit_cache *c = ctx;
    cnum i, f, g, o, ct, h;
    step_fwd_cnum(u[0], u[1], u[2], u[3], u[4], c->i, c->f, c->g, c->o, &i, &f, &g, &o, &ct, &h);
    step_bwd_cnum(i, f, g, o, u[4], ct, 1, 0, &k[0], &k[1], &k[2], &k[3], &k[4]);
    step_bwd_cnum(i, f, g, o, u[4], ct, 0, 1, &k[5], &k[6], &k[7], &k[8], &k[9]);
}

/* The derivative of the coefficients (src/cells/cell.h), by the complex
 * step through the step above. A block of kbar: dz (4H), direct h (none
 * for the LSTM), direct c. */
static void jac_vjp(const rl_layer *ly, int t, int b, int j0, int j1, const real *kbar, real *zbar, real *zhbar,
                    real *sbar, real *dextra)
{
    (void)zhbar, (void)dextra;
    const int H = ly->H, CL = 6 * H;
    const size_t k = (size_t)b * H, BH = (size_t)ly->B * H;
    const real *z = ly->z + ((size_t)t * ly->B + (size_t)b) * 4 * H;
    const real *cp = ly->c + (size_t)t * BH + k;
    const real *k0 = kbar, *k1 = kbar + CL;
    for (int j = j0; j < j1; j++) {
        unit_cache c = {z[j], z[H + j], z[2 * H + j], z[3 * H + j]};
        const real u[5] = {0, 0, 0, 0, cp[j]};
        const real kq[10] = {k0[j], k0[H + j], k0[2 * H + j], k0[3 * H + j], k0[5 * H + j],
                             k1[j], k1[H + j], k1[2 * H + j], k1[3 * H + j], k1[5 * H + j]};
        real ub[5] = {0};
        rl_cstep_vjp(5, 10, u, coefs, &c, kq, ub);
        for (int q = 0; q < 4; q++) zbar[q * H + j] += ub[q];
        sbar[H + j] += ub[4];
    }
}

RL_OPS_DEFINE(rl_cell_ops, rl_lstm_ops, .fwd = fwd, .bwd = bwd, .jac_vjp = jac_vjp);

RL_CELL_ROW(lstm, RL_CELL_LSTM, lstm,
            .equation = "c_t = f c_{t-1} + i g, h_t = o tanh(c_t) (torch.nn.LSTM, gates i, f, g, o)",
            RL_TORCH_GATES(4), RL_PARAMS(RL_TORCH_PARAMS(4)),
            .states = 2, .cache_gates = 1,
            RL_GATES(1, 1, 0)); /* forget and keep: f, write: i */
