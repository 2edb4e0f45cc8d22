/* The GRU cell, exactly as torch.nn.GRU (gate rows r, z, n):
 *   r = sigma(W_ir x + b_ir + W_hr h + b_hr),  z = sigma(W_iz x + b_iz + W_hz h + b_hz),
 *   n = tanh(W_in x + b_in + r * (W_hn h + b_hn)),  h_t = (1 - z) * n + z * h_{t-1}.
 * The reset gate multiplies W_hn h + b_hn after the product (char-rnn and
 * KANN put it before, and flip z), so the hidden side W_hh h + b_hh is kept
 * apart from the input side. Caches: the gates' activations (T, B, 3H) and
 * W_hn h_{t-1} + b_hn (T, B, H). Compiled once per real type (see real.h). */
#include "cells/cell_real.h"

#include <string.h>

static inline real sigm(real v) { return 1 / (1 + RL_EXP(-v)); }

/* sequence b's step t, units [j0, j1): g (3H) holds the input side and gets
 * r, z, n; w (3H) is the hidden side W_hh h_{t-1} + b_hh, reset to b_hh
 * for the next step */
RL_CLONES_EW static void fwd(const rl_layer *ly, int t, int b, int j0, int j1)
{
    const int H = ly->H, G = 3 * H;
    const size_t k = (size_t)b * H, BH = (size_t)ly->B * H;
    real *g = ly->z + ((size_t)t * ly->B + (size_t)b) * G, *w = ly->hw + (size_t)b * G;
    real *hnt = ly->aux + (size_t)t * BH + k, *ht = ly->h + (size_t)(t + 1) * BH + k;
    const real *hp = ly->h + (size_t)t * BH + k;
    RL_SIMD
    for (int j = j0; j < j1; j++) {
        real r = sigm(g[j] + w[j]), z = sigm(g[H + j] + w[H + j]);
        real n = RL_TANH(g[2 * H + j] + r * w[2 * H + j]);
        g[j] = r, g[H + j] = z, g[2 * H + j] = n; /* the cache keeps activations */
        hnt[j] = w[2 * H + j];                    /* and W_hn h_{t-1} + b_hn */
        ht[j] = (1 - z) * n + z * hp[j];
    }
    for (int q = 0; q < 3; q++) memcpy(w + q * H + j0, ly->b_hh + q * H + j0, (size_t)(j1 - j0) * sizeof *w);
}

/* d (3H): dL/d(input side W_ih x + b_ih), e (3H): dL/d(hidden side W_hh h + b_hh) */
RL_CLONES_EW static void bwd(const rl_layer *ly, int t, int b, int j0, int j1, const real *dh, real *dc, real *d, real *e,
                          real *dprev)
{
    (void)dc;
    const int H = ly->H;
    const size_t k = (size_t)b * H, BH = (size_t)ly->B * H;
    const real *g = ly->z + ((size_t)t * ly->B + (size_t)b) * 3 * H, *hnt = ly->aux + (size_t)t * BH + k;
    const real *hp = ly->h + (size_t)t * BH + k;
    RL_SIMD
    for (int j = j0; j < j1; j++) {
        real r = g[j], z = g[H + j], n = g[2 * H + j], dv = dh[j];
        /* h_t = (1 - z) n + z h_{t-1} */
        real dn = dv * (1 - z) * (1 - n * n);     /* dL/d(pre-activation of n) */
        real dz = dv * (hp[j] - n) * z * (1 - z); /* dL/d(pre-activation of z) */
        real dr = dn * hnt[j] * r * (1 - r);      /* through r * (W_hn h + b_hn) */
        d[j] = dr, d[H + j] = dz, d[2 * H + j] = dn;     /* input side: W_ih x + b_ih */
        e[j] = dr, e[H + j] = dz, e[2 * H + j] = dn * r; /* hidden side: W_hh h + b_hh */
        dprev[j] += dv * z;                              /* the direct path z h_{t-1} */
    }
}

/* The coefficients of step t, from bwd seeded with ones, s_x = x (1 - x),
 * a = (1 - z) (1 - n^2), hn = W_hn h_{t-1} + b_hn:
 *   input side  r: a hn s_r,  z: (h_{t-1} - n) s_z,  n: a
 *   hidden side r: a hn s_r,  z: (h_{t-1} - n) s_z,  n: a r
 *   direct h: z.
 * They are functions of r, z, n, h_{t-1} and hn (the hidden side's n row,
 * a pre-activation); r, z and n of the pre-activations, with
 * n = tanh(x_n + r hn), so hn reaches them twice. */
static void jac_vjp(const rl_layer *ly, int t, int b, int j0, int j1, const real *kbar, real *zbar, real *zhbar,
                    real *sbar, real *dextra)
{
    (void)dextra;
    const int H = ly->H;
    const size_t k = (size_t)b * H, BH = (size_t)ly->B * H;
    const real *g = ly->z + ((size_t)t * ly->B + (size_t)b) * 3 * H, *hnt = ly->aux + (size_t)t * BH + k;
    const real *hp = ly->h + (size_t)t * BH + k;
    const real *kd = kbar, *ke = kbar + 3 * H, *kdir = kbar + 6 * H;
    for (int j = j0; j < j1; j++) {
        real r = g[j], z = g[H + j], n = g[2 * H + j], hn = hnt[j];
        real sr = r * (1 - r), sz = z * (1 - z), sn = 1 - n * n, a = (1 - z) * sn;
        real R = kd[j] + ke[j], Z = kd[H + j] + ke[H + j]; /* r and z have one coefficient on both sides */
        real ab = R * hn * sr + kd[2 * H + j] + ke[2 * H + j] * r;
        real rb = R * a * hn * (1 - 2 * r) + ke[2 * H + j] * a;
        real hnb = R * a * sr;
        real zb = ab * -sn + Z * (hp[j] - n) * (1 - 2 * z) + kdir[j];
        real nb = ab * (1 - z) * -2 * n - Z * sz;
        /* n = tanh(x_n + r hn) */
        real pnb = nb * sn;
        rb += pnb * hn, hnb += pnb * r;
        zbar[j] += rb * sr, zbar[H + j] += zb * sz, zbar[2 * H + j] += pnb;
        zhbar[j] += rb * sr, zhbar[H + j] += zb * sz, zhbar[2 * H + j] += hnb;
        sbar[j] += Z * sz;
    }
}

#ifdef RL_REAL_F64
extern const rl_cell_ops_f64 rl_gru_ops_f64;
const rl_cell_ops_f64 rl_gru_ops_f64 = {fwd, bwd, NULL, jac_vjp};
#else
extern const rl_cell_ops_f32 rl_gru_ops_f32;
const rl_cell_ops_f32 rl_gru_ops_f32 = {fwd, bwd, NULL, jac_vjp};
#endif

#ifdef RL_REAL_F64
extern const rl_cell_ops_f32 rl_gru_ops_f32;
const rl_cell_desc rl_cell_gru = {
    .id = RL_CELL_GRU,
    .name = "gru",
    .equation = "h_t = (1 - z) n + z h_{t-1}, n = tanh(W_in x + b_in + r (W_hn h + b_hn)) (torch.nn.GRU, gates r, z, n)",
    .gates = 3,
    .hh_gates = 3,
    .recur = RL_RECUR_DENSE,
    .nparams = 4,
    .params = {RL_TORCH_PARAMS(3, 3)},
    .states = 1,
    .cache_gates = 1,
    .hh_apart = 1,
    .aux = 1,
    .forget_gate = -1,
    .keep_gate = 1, /* z */
    .write_gate = -1,
    .f32 = &rl_gru_ops_f32,
    .f64 = &rl_gru_ops_f64,
};
#endif
