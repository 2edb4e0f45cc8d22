/* minLSTM (Feng et al. 2024, "Were RNNs all we needed?"), the gates from the
 * input alone, normalised:
 *   f_t = sigma(W_f u_t + b_f),  i_t = sigma(W_i u_t + b_i),  h~_t = W_h u_t + b_h,
 *   f'_t = f_t / (f_t + i_t),  i'_t = i_t / (f_t + i_t),
 *   h_t = f'_t h_{t-1} + i'_t h~_t,
 * W = rnn.weight_ih_l{k} (3H, I_k) with rows [f; i; h~], b =
 * rnn.bias_ih_l{k} (3H), PyTorch's Linear init. No matrix acts on the state
 * (the recurrence table's "none"): J_t = diag(f'_t). Feng et al.'s code
 * orders the rows [h~; f; i] and passes h~ through g() for its log-space
 * scan (docs/jacobians.md). The gates' cache keeps the pre-activations, and
 * f' = 1 / (1 + r) with r = i / f = (1 + e^{-a_f}) / (1 + e^{-a_i}), or,
 * where that overflows (both pre-activations below about -88 in float32,
 * where f / (f + i) is 0 / 0), r = e^{a_i - a_f} (1 + e^{a_f}) / (1 + e^{a_i}).
 * Compiled once per real type (base/real.h). */
#include "cells/cell_real.h"

/* One unit's step over a scalar type N (cells/cell_real.h), written once:
 * f' and i' from a_f and a_i; forward h_t from them, a_h and h_{t-1};
 * backward, from dv = dL/dh_t: dL/da_f, dL/da_i, dL/da_h and the direct
 * dL/dh_{t-1} = dv f'. With d(f')/da_f = f' i' (1 - f) and
 * d(f')/da_i = -f' i' (1 - i) (i' = 1 - f'). */
#define MINLSTM_STEP(N, EXP, NUMBER_OR)                                                                         \
    static inline void norm_##N(N af, N ai, N *fn, N *in)                                                       \
    {                                                                                                           \
        N r = NUMBER_OR((1 + EXP(-af)) / (1 + EXP(-ai)), EXP(ai - af) * (1 + EXP(af)) / (1 + EXP(ai)));        \
        *fn = 1 / (1 + r), *in = r / (1 + r);                                                                   \
    }                                                                                                           \
    static inline void step_fwd_##N(N af, N ai, N ah, N hp, N *h)                                               \
    {                                                                                                           \
        N fn, in;                                                                                               \
        norm_##N(af, ai, &fn, &in);                                                                             \
        *h = fn * hp + in * ah;                                                                                 \
    }                                                                                                           \
    static inline void step_bwd_##N(N af, N ai, N ah, N hp, N dv, N *daf, N *dai, N *dah, N *ddir)             \
    {                                                                                                           \
        N fn, in;                                                                                               \
        norm_##N(af, ai, &fn, &in);                                                                             \
        N s = dv * (hp - ah) * fn * in; /* dL/df' through f' and i' = 1 - f' */                                  \
        *daf = s / (1 + EXP(af));       /* 1 - f = sigma(-a_f) */                                               \
        *dai = -s / (1 + EXP(ai));                                                                              \
        *dah = dv * in;                                                                                         \
        *ddir = dv * fn;                                                                                        \
    }
MINLSTM_STEP(real, rl_fn_exp, rl_fn_number_or)
MINLSTM_STEP(cnum, rl_cfn_exp, rl_cfn_number_or)

RL_CLONES_EW static void fwd(const rl_layer *ly, int t, int b, int j0, int j1)
{
    const int H = ly->H;
    const real *a = ly->z + ((size_t)t * ly->B + (size_t)b) * 3 * H, *hp = ly->h + rl_row(ly, t, b);
    real *ht = ly->h + rl_row(ly, t + 1, b);
    RL_SIMD
    for (int j = j0; j < j1; j++) step_fwd_real(a[j], a[H + j], a[2 * H + j], hp[j], &ht[j]);
}

RL_CLONES_EW static void bwd(const rl_layer *ly, int t, int b, int j0, int j1, const real *dh, real *dc, real *dz,
                          real *dzh, real *dprev)
{
    (void)dc, (void)dzh;
    const int H = ly->H;
    const real *a = ly->z + ((size_t)t * ly->B + (size_t)b) * 3 * H, *hp = ly->h + rl_row(ly, t, b);
    RL_SIMD
    for (int j = j0; j < j1; j++) {
        real ddir;
        step_bwd_real(a[j], a[H + j], a[2 * H + j], hp[j], dh[j], &dz[j], &dz[H + j], &dz[2 * H + j], &ddir);
        dprev[j] += ddir;
    }
}

/* the coefficients (seeded with dv = 1) from u = (a_f, a_i, a_h, h_{t-1}) */
static void coefs(const void *ctx, const cnum *u, cnum *k)
{
    (void)ctx;
    step_bwd_cnum(u[0], u[1], u[2], u[3], 1, &k[0], &k[1], &k[2], &k[3]);
}

/* The derivative of the coefficients (src/cells/cell.h) by the complex
 * step through the step above; a block of kbar: dz (3H), direct h (H). */
static void jac_vjp(const rl_layer *ly, int t, int b, int j0, int j1, const real *kbar, real *zbar, real *zhbar,
                    real *sbar, real *dextra)
{
    (void)zhbar, (void)dextra;
    const int H = ly->H;
    const real *a = ly->z + ((size_t)t * ly->B + (size_t)b) * 3 * H, *hp = ly->h + rl_row(ly, t, b);
    for (int j = j0; j < j1; j++) {
        const real u[4] = {a[j], a[H + j], a[2 * H + j], hp[j]};
        const real kq[4] = {kbar[j], kbar[H + j], kbar[2 * H + j], kbar[3 * H + j]};
        real ub[4] = {0};
        rl_cstep_vjp(4, 4, u, coefs, NULL, kq, ub);
        zbar[j] += ub[0], zbar[H + j] += ub[1], zbar[2 * H + j] += ub[2], sbar[j] += ub[3];
    }
}

RL_OPS_DEFINE(rl_cell_ops, rl_minlstm_ops, .fwd = fwd, .bwd = bwd, .jac_vjp = jac_vjp);

RL_CELL_ROW(minlstm, RL_CELL_MINLSTM, minlstm,
            .equation = "h_t = f' h_{t-1} + i' h~, f' = f/(f+i), i' = i/(f+i), f, i = sigmoid(W u + b), h~ = W_h u + b_h "
                        "(Feng et al. 2024)",
            .gates = 3, .hh_gates = 3, .recur = RL_RECUR_NONE, RL_PARAMS(RL_INPUT_PARAMS(3)),
            .states = 1, .cache_gates = 1,
            RL_GATES(0, 0, 1)); /* forget and keep: f, write: i */
