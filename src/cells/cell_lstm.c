/* The LSTM cell, exactly as torch.nn.LSTM (gate rows i, f, g, o):
 *   i = sigma(z_i), f = sigma(z_f), g = tanh(z_g), o = sigma(z_o),
 *   z = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh,
 *   c_t = f * c_{t-1} + i * g,   h_t = o * tanh(c_t).
 * The state is [h; c]; the gates' activations are cached (T, B, 4H).
 * Compiled once per real type (see real.h). */
#include "cells/cell_real.h"

static inline real sigm(real v) { return 1 / (1 + RL_EXP(-v)); }

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
        real i = sigm(z[j]), f = sigm(z[H + j]), g = RL_TANH(z[2 * H + j]), o = sigm(z[3 * H + j]);
        z[j] = i, z[H + j] = f, z[2 * H + j] = g, z[3 * H + j] = o; /* the cache keeps activations */
        /* c_t = f * c_{t-1} + i * g;  h_t = o * tanh(c_t) */
        real cv = f * cp[j] + i * g;
        ct[j] = cv;
        ht[j] = o * RL_TANH(cv);
    }
}

/* dL/dz_t from dL/dh_t and the dL/dc_t carried from t+1; dc carries dL/dc_{t-1} back */
RL_CLONES_EW static void bwd(const rl_layer *ly, int t, int b, int j0, int j1, const real *dh, real *dc, real *d,
                          real *dzh, real *dprev)
{
    (void)dzh, (void)dprev;
    const int H = ly->H;
    const size_t k = (size_t)b * H, BH = (size_t)ly->B * H;
    const real *z = ly->z + ((size_t)t * ly->B + (size_t)b) * 4 * H;
    const real *cp = ly->c + (size_t)t * BH + k, *ct = ly->c + (size_t)(t + 1) * BH + k;
    RL_SIMD
    for (int j = j0; j < j1; j++) {
        real i = z[j], f = z[H + j], g = z[2 * H + j], o = z[3 * H + j], tc = RL_TANH(ct[j]);
        /* dL/dc_t = dL/dc_t (from t+1) + dL/dh_t * o * (1 - tanh^2 c_t) */
        real dcv = dc[j] + dh[j] * o * (1 - tc * tc);
        /* through the gates' nonlinearities: sigma' = s (1 - s), tanh' = 1 - g^2 */
        d[j] = dcv * g * i * (1 - i);            /* dL/dz_i */
        d[H + j] = dcv * cp[j] * f * (1 - f);    /* dL/dz_f */
        d[2 * H + j] = dcv * i * (1 - g * g);    /* dL/dz_g */
        d[3 * H + j] = dh[j] * tc * o * (1 - o); /* dL/dz_o */
        dc[j] = dcv * f;                         /* dL/dc_{t-1}, the cell path */
    }
}

/* The coefficients of step t, from bwd seeded with ones on h (block 0) and
 * on c (block 1), s_x = x (1 - x) for a sigmoid gate, s_g = 1 - g^2,
 * tc = tanh(c_t), u = o (1 - tc^2):
 *   block 0: z_i u g s_i, z_f u c_{t-1} s_f, z_g u i s_g, z_o tc s_o;  direct c: u f
 *   block 1: z_i g s_i,   z_f c_{t-1} s_f,   z_g i s_g,   z_o 0;       direct c: f
 * (no direct h). They are functions of the gates i, f, g, o, of c_{t-1},
 * and of c_t = f c_{t-1} + i g, itself made of them; the cotangents go back
 * through each, then through c_t, then through the gates' nonlinearities
 * to the pre-activations. */
static void jac_vjp(const rl_layer *ly, int t, int b, int j0, int j1, const real *kbar, real *zbar, real *zhbar,
                    real *sbar, real *dextra)
{
    (void)zhbar, (void)dextra;
    const int H = ly->H, CL = 6 * H; /* a block: dz (4H), direct h, direct c */
    const size_t k = (size_t)b * H, BH = (size_t)ly->B * H;
    const real *z = ly->z + ((size_t)t * ly->B + (size_t)b) * 4 * H;
    const real *cp = ly->c + (size_t)t * BH + k, *ct = ly->c + (size_t)(t + 1) * BH + k;
    const real *k0 = kbar, *k1 = kbar + CL;
    for (int j = j0; j < j1; j++) {
        real i = z[j], f = z[H + j], g = z[2 * H + j], o = z[3 * H + j], tc = RL_TANH(ct[j]);
        real si = i * (1 - i), sf = f * (1 - f), sg = 1 - g * g, so = o * (1 - o), u = o * (1 - tc * tc);
        real a0i = k0[j], a0f = k0[H + j], a0g = k0[2 * H + j], a0o = k0[3 * H + j], d0c = k0[5 * H + j];
        real a1i = k1[j], a1f = k1[H + j], a1g = k1[2 * H + j], d1c = k1[5 * H + j];
        /* through u (block 0's factor) */
        real ub = a0i * g * si + a0f * cp[j] * sf + a0g * i * sg + d0c * f;
        real ci = a0i * u + a1i, cf = a0f * u + a1f, cg = a0g * u + a1g; /* the two blocks' common factors */
        real gb = ci * si + cg * i * -2 * g;
        real ib = ci * g * (1 - 2 * i) + cg * sg;
        real fb = cf * cp[j] * (1 - 2 * f) + d0c * u + d1c;
        real ob = a0o * tc * (1 - 2 * o) + ub * (1 - tc * tc);
        real tcb = a0o * so + ub * o * -2 * tc;
        real cpb = cf * sf;
        /* through c_t = f c_{t-1} + i g */
        real ctb = tcb * (1 - tc * tc);
        ib += ctb * g, gb += ctb * i, fb += ctb * cp[j], cpb += ctb * f;
        zbar[j] += ib * si, zbar[H + j] += fb * sf, zbar[2 * H + j] += gb * sg, zbar[3 * H + j] += ob * so;
        sbar[H + j] += cpb;
    }
}

#ifdef RL_REAL_F64
extern const rl_cell_ops_f64 rl_lstm_ops_f64;
const rl_cell_ops_f64 rl_lstm_ops_f64 = {fwd, bwd, NULL, jac_vjp};
#else
extern const rl_cell_ops_f32 rl_lstm_ops_f32;
const rl_cell_ops_f32 rl_lstm_ops_f32 = {fwd, bwd, NULL, jac_vjp};
#endif

#ifdef RL_REAL_F64
extern const rl_cell_ops_f32 rl_lstm_ops_f32;
const rl_cell_desc rl_cell_lstm = {
    .id = RL_CELL_LSTM,
    .name = "lstm",
    .equation = "c_t = f c_{t-1} + i g, h_t = o tanh(c_t) (torch.nn.LSTM, gates i, f, g, o)",
    .gates = 4,
    .hh_gates = 4,
    .recur = RL_RECUR_DENSE,
    .nparams = 4,
    .params = {RL_TORCH_PARAMS(4, 4)},
    .states = 2,
    .cache_gates = 1,
    .forget_gate = 1,
    .keep_gate = 1,  /* f */
    .write_gate = 0, /* i */
    .f32 = &rl_lstm_ops_f32,
    .f64 = &rl_lstm_ops_f64,
};
#endif
