/* The GRU cell, exactly as torch.nn.GRU (gate rows r, z, n):
 *   r = sigma(W_ir x + b_ir + W_hr h + b_hr),  z = sigma(W_iz x + b_iz + W_hz h + b_hz),
 *   n = tanh(W_in x + b_in + r * (W_hn h + b_hn)),  h_t = (1 - z) * n + z * h_{t-1}.
 * The reset gate multiplies W_hn h + b_hn after the product (char-rnn and
 * KANN put it before, and flip z), so the hidden side W_hh h + b_hh is kept
 * apart from the input side. Caches: the gates' activations (T, B, 3H) and
 * W_hn h_{t-1} + b_hn (T, B, H). Compiled once per real type (see real.h). */
#include "cells/cell_real.h"

#include <string.h>

/* One unit's step over a scalar type N (cells/cell_real.h), written once:
 * forward, from the pre-activations ar, az (both sides summed), the input
 * side xn of n and the hidden side hn = W_hn h_{t-1} + b_hn, and h_{t-1}
 * (cr, cz, cn: the cached activations, for the complex step);
 *   r = sigma(ar), z = sigma(az), n = tanh(xn + r hn), h = (1 - z) n + z h_{t-1};
 * backward, from dv = dL/dh_t: dL/d(pre-activations) on the input side (dr,
 * dz, dn) and the hidden side (dr, dz, dn r), and the direct dL/dh_{t-1} = dv z. */
#define GRU_FWD(N, SIGM, TANH)                                                                                  \
    static inline void step_fwd_##N(N ar, N az, N xn, N hn, N hp, real cr, real cz, real cn, N *r, N *z, N *n, \
                                    N *h)                                                                       \
    {                                                                                                           \
        *r = SIGM(ar, cr), *z = SIGM(az, cz);                                                                   \
        *n = TANH(xn + *r * hn, cn);                                                                            \
        *h = (1 - *z) * *n + *z * hp;                                                                           \
    }
#define GRU_BWD(N)                                                                                              \
    static inline void step_bwd_##N(N r, N z, N n, N hp, N hn, N dv, N *dr, N *dz, N *dn, N *dnh, N *ddir)    \
    {                                                                                                           \
        N dn_ = dv * (1 - z) * (1 - n * n);   /* dL/d(pre-activation of n) */                                    \
        N dz_ = dv * (hp - n) * z * (1 - z); /* dL/d(pre-activation of z) */                                    \
        *dr = dn_ * hn * r * (1 - r);         /* through r * (W_hn h + b_hn) */                                   \
        *dz = dz_, *dn = dn_, *dnh = dn_ * r;                                                                   \
        *ddir = dv * z; /* the direct path z h_{t-1} */                                                          \
    }
GRU_FWD(real, rl_act_sigm, rl_act_tanh)
GRU_BWD(real)
GRU_FWD(cnum, rl_cact_sigm, rl_cact_tanh)
GRU_BWD(cnum)

/* sequence b's step t, units [j0, j1): g (3H) holds the input side and gets
 * r, z, n; w (3H) is the hidden side W_hh h_{t-1} + b_hh, reset to b_hh
 * for the next step */
RL_CLONES_EW static void fwd(const rl_layer *ly, int t, int b, int j0, int j1)
{
    const int H = ly->H, G = 3 * H;
    const size_t row = rl_row(ly, t, b);
    real *g = ly->z + 3 * row, *w = ly->hw + (size_t)b * G, *hnt = ly->aux + row, *ht = ly->h + rl_row(ly, t + 1, b);
    const real *hp = ly->h + row;
    RL_SIMD
    for (int j = j0; j < j1; j++) {
        real r, z, n, h;
        step_fwd_real(g[j] + w[j], g[H + j] + w[H + j], g[2 * H + j], w[2 * H + j], hp[j], 0, 0, 0, &r, &z, &n, &h);
        g[j] = r, g[H + j] = z, g[2 * H + j] = n; /* the cache keeps activations */
        hnt[j] = w[2 * H + j];                    /* and W_hn h_{t-1} + b_hn */
        ht[j] = h;
    }
    for (int q = 0; q < 3; q++) memcpy(w + q * H + j0, ly->b_hh + q * H + j0, (size_t)(j1 - j0) * sizeof *w);
}

/* dz (3H): dL/d(input side W_ih x + b_ih), dzh (3H): dL/d(hidden side W_hh h + b_hh) */
RL_CLONES_EW static void bwd(const rl_layer *ly, int t, int b, int j0, int j1, const real *dh, real *dc, real *dz,
                          real *dzh, real *dprev)
{
    (void)dc;
    const int H = ly->H;
    const size_t row = rl_row(ly, t, b);
    const real *g = ly->z + 3 * row, *hnt = ly->aux + row, *hp = ly->h + row;
    RL_SIMD
    for (int j = j0; j < j1; j++) {
        real dr, dzz, dn, dnh, ddir;
        step_bwd_real(g[j], g[H + j], g[2 * H + j], hp[j], hnt[j], dh[j], &dr, &dzz, &dn, &dnh, &ddir);
        dz[j] = dr, dz[H + j] = dzz, dz[2 * H + j] = dn;    /* input side: W_ih x + b_ih */
        dzh[j] = dr, dzh[H + j] = dzz, dzh[2 * H + j] = dnh; /* hidden side: W_hh h + b_hh */
        dprev[j] += ddir;
    }
}

/* the unit's cached activations, for the complex step */
typedef struct {
    real r, z, n;
} unit_cache;

/* the coefficients (the backward step seeded with dv = 1) from the unit's
 * inputs u = (ar, az, xn, hn, h_{t-1}): input side r, z, n; hidden side r,
 * z, n; direct h */
static void coefs(const void *ctx, const cnum *u, cnum *k)
{
    const unit_cache *c = ctx;
    cnum r, z, n, h;
    step_fwd_cnum(u[0], u[1], u[2], u[3], u[4], c->r, c->z, c->n, &r, &z, &n, &h);
    step_bwd_cnum(r, z, n, u[4], u[3], 1, &k[0], &k[1], &k[2], &k[5], &k[6]);
    k[3] = k[0], k[4] = k[1];
}

/* The derivative of the coefficients (src/cells/cell.h), by the complex
 * step through the step above: ar and az reach both sides, xn the input
 * side's n row, hn the hidden side's, h_{t-1} the state. */
static void jac_vjp(const rl_layer *ly, int t, int b, int j0, int j1, const real *kbar, real *zbar, real *zhbar,
                    real *sbar, real *dextra)
{
    (void)dextra;
    const int H = ly->H;
    const size_t row = rl_row(ly, t, b);
    const real *g = ly->z + 3 * row, *hnt = ly->aux + row, *hp = ly->h + row;
    const real *kd = kbar, *ke = kbar + 3 * H, *kdir = kbar + 6 * H;
    for (int j = j0; j < j1; j++) {
        unit_cache c = {g[j], g[H + j], g[2 * H + j]};
        const real u[5] = {0, 0, 0, hnt[j], hp[j]};
        const real kq[7] = {kd[j], kd[H + j], kd[2 * H + j], ke[j], ke[H + j], ke[2 * H + j], kdir[j]};
        real ub[5] = {0};
        rl_cstep_vjp(5, 7, u, coefs, &c, kq, ub);
        zbar[j] += ub[0], zbar[H + j] += ub[1], zbar[2 * H + j] += ub[2];
        zhbar[j] += ub[0], zhbar[H + j] += ub[1], zhbar[2 * H + j] += ub[3];
        sbar[j] += ub[4];
    }
}

RL_OPS_DEFINE(rl_cell_ops, rl_gru_ops, .fwd = fwd, .bwd = bwd, .jac_vjp = jac_vjp);

RL_CELL_ROW(gru, RL_CELL_GRU, gru,
            .equation = "h_t = (1 - z) n + z h_{t-1}, n = tanh(W_in x + b_in + r (W_hn h + b_hn)) (torch.nn.GRU, gates r, "
                        "z, n)",
            RL_TORCH_GATES(3), RL_PARAMS(RL_TORCH_PARAMS(3)),
            .states = 1, .cache_gates = 1, .hh_apart = 1, .aux = 1,
            RL_GATES(-1, 1, -1)); /* keep: z */
