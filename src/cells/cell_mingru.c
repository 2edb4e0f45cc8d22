/* minGRU (Feng et al. 2024, "Were RNNs all we needed?"), the gate from the
 * input alone:
 *   z_t = sigma(W_z u_t + b_z),  h~_t = W_h u_t + b_h,
 *   h_t = (1 - z_t) h_{t-1} + z_t h~_t,
 * W = rnn.weight_ih_l{k} (2H, I_k) with rows [z; h~], b = rnn.bias_ih_l{k}
 * (2H), PyTorch's Linear init (U(+-1/sqrt(I_k))). The state evolves by no
 * matrix (the recurrence table's "none"): the step Jacobian is the direct
 * term alone, J_t = diag(1 - z_t), real, diagonal and input-dependent, so
 * the eigenvalues of a product over lags are the products of the 1 - z_t.
 * Feng et al.'s code differs: rows [h~; z], and h~ through g(x) = x + 0.5
 * (x >= 0) or sigma(x) to keep it positive for its log-space scan;
 * docs/jacobians.md says more. The gate's cache keeps the pre-activations;
 * 1 - z = sigma(-a_z) is computed as such, since 1 - sigma(a) rounds to 0
 * in float32 from a = 17 (the decay of a unit that forgets). Compiled once
 * per real type (base/real.h). */
#include "cells/cell_real.h"

/* One unit's step over a scalar type N (cells/cell_real.h), written once:
 * forward, from a_z, a_h (= h~) and h_{t-1}; backward, from dv = dL/dh_t:
 * dL/da_z, dL/da_h and the direct dL/dh_{t-1} = dv (1 - z). */
#define MINGRU_STEP(N, EXP)                                                                                     \
    static inline void step_fwd_##N(N az, N ah, N hp, N *h)                                                     \
    {                                                                                                           \
        N z = 1 / (1 + EXP(-az)), k = 1 / (1 + EXP(az)); /* z and 1 - z */                                      \
        *h = k * hp + z * ah;                                                                                   \
    }                                                                                                           \
    static inline void step_bwd_##N(N az, N ah, N hp, N dv, N *daz, N *dah, N *ddir)                            \
    {                                                                                                           \
        N z = 1 / (1 + EXP(-az)), k = 1 / (1 + EXP(az));                                                        \
        *daz = dv * (ah - hp) * z * k; /* sigma' = z (1 - z) */                                                 \
        *dah = dv * z;                                                                                          \
        *ddir = dv * k;                                                                                         \
    }
MINGRU_STEP(real, rl_fn_exp)
MINGRU_STEP(cnum, rl_cfn_exp)

RL_CLONES_EW static void fwd(const rl_layer *ly, int t, int b, int j0, int j1)
{
    const int H = ly->H;
    const real *a = ly->z + ((size_t)t * ly->B + (size_t)b) * 2 * H, *hp = ly->h + rl_row(ly, t, b);
    real *ht = ly->h + rl_row(ly, t + 1, b);
    RL_SIMD
    for (int j = j0; j < j1; j++) step_fwd_real(a[j], a[H + j], hp[j], &ht[j]);
}

RL_CLONES_EW static void bwd(const rl_layer *ly, int t, int b, int j0, int j1, const real *dh, real *dc, real *dz,
                          real *dzh, real *dprev)
{
    (void)dc, (void)dzh;
    const int H = ly->H;
    const real *a = ly->z + ((size_t)t * ly->B + (size_t)b) * 2 * H, *hp = ly->h + rl_row(ly, t, b);
    RL_SIMD
    for (int j = j0; j < j1; j++) {
        real ddir;
        step_bwd_real(a[j], a[H + j], hp[j], dh[j], &dz[j], &dz[H + j], &ddir);
        dprev[j] += ddir;
    }
}

/* the coefficients (seeded with dv = 1) from u = (a_z, a_h, h_{t-1}) */
static void coefs(const void *ctx, const cnum *u, cnum *k)
{
    (void)ctx;
    step_bwd_cnum(u[0], u[1], u[2], 1, &k[0], &k[1], &k[2]);
}

/* The derivative of the coefficients (src/cells/cell.h) by the complex
 * step through the step above; a block of kbar: dz (2H), direct h (H). */
static void jac_vjp(const rl_layer *ly, int t, int b, int j0, int j1, const real *kbar, real *zbar, real *zhbar,
                    real *sbar, real *dextra)
{
    (void)zhbar, (void)dextra;
    const int H = ly->H;
    const real *a = ly->z + ((size_t)t * ly->B + (size_t)b) * 2 * H, *hp = ly->h + rl_row(ly, t, b);
    for (int j = j0; j < j1; j++) {
        const real u[3] = {a[j], a[H + j], hp[j]}, kq[3] = {kbar[j], kbar[H + j], kbar[2 * H + j]};
        real ub[3] = {0};
        rl_cstep_vjp(3, 3, u, coefs, NULL, kq, ub);
        zbar[j] += ub[0], zbar[H + j] += ub[1], sbar[j] += ub[2];
    }
}

RL_OPS_DEFINE(rl_cell_ops, rl_mingru_ops, .fwd = fwd, .bwd = bwd, .jac_vjp = jac_vjp);

RL_CELL_ROW(mingru, RL_CELL_MINGRU, mingru,
            .equation = "h_t = (1 - z) h_{t-1} + z h~, z = sigmoid(W_z u + b_z), h~ = W_h u + b_h (Feng et al. 2024)",
            .gates = 2, .hh_gates = 2, .recur = RL_RECUR_NONE, RL_PARAMS(RL_INPUT_PARAMS(2)),
            .states = 1, .cache_gates = 1,
            RL_GATES(-1, -1, -1));
